"""Python's tomllib as the reference for magi's TOML parser.

For each TOML file named on the command line, prints one JSON line:
{"file": NAME, "value": TAGGED} when tomllib accepts it, else {"file": NAME, "error": MESSAGE}.
In TAGGED, tables are objects, arrays are arrays, and every other value is
{"type": T, "value": TEXT} with T one of string, integer, float (TEXT is repr()), bool,
datetime, datetime-local, date-local, time-local (TEXT is isoformat()).
"""
import datetime
import json
import sys
import tomllib


def tagged(value):
    if isinstance(value, dict):
        return {key: tagged(item) for key, item in value.items()}
    if isinstance(value, list):
        return [tagged(item) for item in value]
    if isinstance(value, bool):
        return {"type": "bool", "value": "true" if value else "false"}
    if isinstance(value, str):
        return {"type": "string", "value": value}
    if isinstance(value, int):
        return {"type": "integer", "value": str(value)}
    if isinstance(value, float):
        return {"type": "float", "value": repr(value)}
    if isinstance(value, datetime.datetime):
        return {"type": "datetime" if value.tzinfo else "datetime-local", "value": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"type": "date-local", "value": value.isoformat()}
    if isinstance(value, datetime.time):
        return {"type": "time-local", "value": value.isoformat()}
    raise TypeError(type(value))


for path in sys.argv[1:]:
    try:
        with open(path, "rb") as f:
            result = {"file": path, "value": tagged(tomllib.load(f))}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        result = {"file": path, "error": str(error)}
    print(json.dumps(result, ensure_ascii=False))
