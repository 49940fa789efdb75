"""Checks texts against Lark grammars with Lark's Earley parser, an oracle independent of magi's GBNF
engine.

Reads JSON lines on stdin, each {"id": ..., "grammar": "path/to/NAME.lark", "text": "..."}, and writes
one JSON line per input, in order: {"id": ..., "accepted": bool, "error": "..."}. The whole text must
be a sentence of the grammar's `start` rule: nothing is ignored, whitespace included.
"""
import json
import sys

from lark import Lark
from lark.exceptions import LarkError

parsers = {}


def parser(path):
    if path not in parsers:
        with open(path, encoding="utf-8") as f:
            # dynamic_complete tries every length of every terminal, so a terminal never swallows
            # text the rest of the sentence needs.
            parsers[path] = Lark(f.read(), start="start", parser="earley", lexer="dynamic_complete")
    return parsers[path]


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            parser(request["grammar"]).parse(request["text"])
            result = {"accepted": True, "error": ""}
        except LarkError as error:
            result = {"accepted": False, "error": str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__}
        result["id"] = request.get("id")
        sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
