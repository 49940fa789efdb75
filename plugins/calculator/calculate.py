#!/usr/bin/env python3
"""magi plugin: exact arithmetic. Reads {"expression": "..."} on stdin, writes {"result": "..."}
or {"error": "..."} on stdout. Only numbers and arithmetic operators are evaluated, never names
or calls; numbers are exact fractions, so 0.1 + 0.2 is exactly 3/10."""
import ast, json, sys
from fractions import Fraction

MAX_EXPONENT = 10_000
MAX_DIGITS = 10_000

def evaluate(node):
    if isinstance(node, ast.Expression):
        return evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return Fraction(str(node.value)) if isinstance(node.value, float) else Fraction(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        value = evaluate(node.operand)
        return value if isinstance(node.op, ast.UAdd) else -value
    if isinstance(node, ast.BinOp):
        a, b = evaluate(node.left), evaluate(node.right)
        op = node.op
        if isinstance(op, ast.Add): return a + b
        if isinstance(op, ast.Sub): return a - b
        if isinstance(op, ast.Mult): return a * b
        if isinstance(op, (ast.Div, ast.FloorDiv, ast.Mod)):
            if b == 0: raise ValueError("division by zero")
            if isinstance(op, ast.Div): return a / b
            if isinstance(op, ast.FloorDiv): return Fraction(a // b)
            return a % b
        if isinstance(op, ast.Pow):
            if b.denominator != 1: raise ValueError("only whole exponents are exact")
            if abs(b.numerator) > MAX_EXPONENT: raise ValueError(f"exponents are limited to {MAX_EXPONENT}")
            if a == 0 and b < 0: raise ValueError("division by zero")
            return a ** b.numerator
    raise ValueError(f"unsupported: {ast.unparse(node) if hasattr(ast, 'unparse') else type(node).__name__}")

def decimal(value, digits=15):
    sign = "-" if value < 0 else ""
    value = abs(value)
    whole, rest = divmod(value.numerator, value.denominator)
    out = []
    for _ in range(digits):
        rest *= 10
        d, rest = divmod(rest, value.denominator)
        out.append(str(d))
    fraction = "".join(out).rstrip("0")
    return sign + str(whole) + ("." + fraction + ("…" if rest else "") if fraction else "")

def main():
    try:
        arguments = json.load(sys.stdin)
        expression = arguments["expression"]
        if len(expression) > 1000: raise ValueError("the expression is longer than 1000 characters")
        value = evaluate(ast.parse(expression.replace("^", "**"), mode="eval"))
        if len(str(value.numerator)) + len(str(value.denominator)) > MAX_DIGITS:
            raise ValueError(f"the result has more than {MAX_DIGITS} digits")
        exact = str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
        result = exact if value.denominator == 1 else f"{exact} ≈ {decimal(value)}"
        print(json.dumps({"result": result}, ensure_ascii=False))
    except SyntaxError:
        print(json.dumps({"error": "not an arithmetic expression"}))
    except (ValueError, KeyError, TypeError) as e:
        print(json.dumps({"error": str(e)}))

main()
