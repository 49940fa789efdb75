"""Validates model outputs against JSON Schemas with the `jsonschema` package (Draft 2020-12), an oracle
independent of magi's grammar engine.

Reads JSON lines on stdin, each {"id": ..., "schema": {...}, "output": "text"}, and writes one JSON line
per input, in order: {"id": ..., "parsed": bool, "valid": bool, "error": "..."}. "parsed" means the whole
output (white space around it aside) is one JSON text; "valid" that it is, and its value conforms to the
schema. Every schema is first checked against the Draft 2020-12 meta-schema.
"""
import json
import sys

from jsonschema import Draft202012Validator


def check(request):
    schema = request["schema"]
    Draft202012Validator.check_schema(schema)
    try:
        value = json.loads(request["output"])
    except ValueError as error:
        return {"parsed": False, "valid": False, "error": "not JSON: %s" % error}
    errors = sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path))
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
