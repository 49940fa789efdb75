"""Validates model outputs against JSON Schemas with the `jsonschema` package (Draft 2020-12), an oracle
independent of magi's grammar engine.

Reads JSON lines on stdin, each {"id": ..., "schema": {...}, "output": "text"}, and writes one JSON line
per input, in order: {"id": ..., "parsed": bool, "valid": bool, "error": "..."}. "parsed" means the whole
output (white space around it aside) is one JSON text; "valid" that it is, and its value conforms to the
schema. Every schema is first checked against the Draft 2020-12 meta-schema.

`format` is checked (as an assertion, not only an annotation) with jsonschema's own format checker;
where it lacks the optional package for `time` and `date-time` (rfc3339-validator), those two are
checked by RFC 3339's grammar and Python's `datetime`.
"""
import datetime
import json
import re
import sys

from jsonschema import Draft202012Validator

FORMATS = Draft202012Validator.FORMAT_CHECKER
RFC3339_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$")

if "time" not in FORMATS.checkers:
    @FORMATS.checks("time")
    def is_time(instance):
        return not isinstance(instance, str) or RFC3339_TIME.match(instance) is not None

if "date-time" not in FORMATS.checkers:
    @FORMATS.checks("date-time")
    def is_date_time(instance):
        if not isinstance(instance, str):
            return True
        if len(instance) < 11 or instance[10] not in "Tt" or not re.match(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", instance[:10]):
            return False
        try:
            datetime.date.fromisoformat(instance[:10])
        except ValueError:
            return False
        return RFC3339_TIME.match(instance[11:]) is not None


def check(request):
    schema = request["schema"]
    Draft202012Validator.check_schema(schema)
    try:
        value = json.loads(request["output"])
    except ValueError as error:
        return {"parsed": False, "valid": False, "error": "not JSON: %s" % error}
    errors = sorted(Draft202012Validator(schema, format_checker=FORMATS).iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "/" + "/".join(str(p) for p in e.absolute_path)
        return {"parsed": True, "valid": False, "error": "%s: %s" % (where, e.message)}
    return {"parsed": True, "valid": True, "error": ""}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        result = check(request)
        result["id"] = request.get("id")
        sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
