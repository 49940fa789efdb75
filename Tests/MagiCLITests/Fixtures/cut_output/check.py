"""Judges constrained answers cut by a token budget, with references independent of magi:
jsonschema for the JSON Schema, lark for the GBNF grammar (the same language, written for lark).

stdin: {"schema": {...}, "runs": [{"kind": "schema"|"grammar", "budget": n, "status": s, "stdout": text}],
        "server": "http://127.0.0.1:PORT" or null, "budgets": [n, ...], "grammar_budgets": [n, ...]}
Runs the server's requests itself (chat completions with response_format, completions with grammar),
then prints one JSON object: {"problems": [...], "valid": count, "cut": count}.
A run is fine when it exits 0 with a valid answer, or exits 3 (the CLI) / says finish_reason
"length" (the server); anything else that claims success with an invalid answer is a problem.
"""
import json, sys, urllib.request
import jsonschema, lark

ARITHMETIC = lark.Lark(r"""
start: TERM ("+" TERM)*
TERM: /[0-9]+/
""", parser="lalr")

def valid(kind, text, schema):
    try:
        if kind == "schema":
            jsonschema.validate(json.loads(text), schema)
        else:
            ARITHMETIC.parse(text)
        return True
    except Exception:
        return False

def post(server, path, body):
    request = urllib.request.Request(server + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)

def main():
    job = json.load(sys.stdin)
    schema, problems, counts = job["schema"], [], {"valid": 0, "cut": 0}
    for run in job["runs"]:
        text = run["stdout"].rstrip("\n")
        ok = valid(run["kind"], text, schema)
        if run["status"] == 0:
            if ok: counts["valid"] += 1
            else: problems.append(f"CLI {run['kind']} -n {run['budget']}: exit 0 with an invalid answer {text!r}")
        elif run["status"] == 3:
            counts["cut"] += 1
        else:
            problems.append(f"CLI {run['kind']} -n {run['budget']}: exit {run['status']}")
    if job.get("server"):
        grammar = 'root ::= term ("+" term)*\nterm ::= [0-9]+\n'
        requests = [("schema", budget, "/v1/chat/completions", {
                        "model": "SmolLM2-135M-Instruct.Q4_1", "max_tokens": budget, "temperature": 0,
                        "messages": [{"role": "user", "content": "List 50 fruits"}],
                        "response_format": {"type": "json_schema", "json_schema": {"name": "fruits", "schema": schema}}})
                    for budget in job["budgets"]]
        requests += [("grammar", budget, "/v1/completions", {
                        "model": "SmolLM2-135M-Instruct.Q4_1", "max_tokens": budget, "temperature": 0,
                        "prompt": "A long sum of numbers:", "grammar": grammar})
                     for budget in job["grammar_budgets"]]
        for kind, budget, path, body in requests:
            answer = post(job["server"], path, body)
            choice = answer["choices"][0]
            text = choice["message"]["content"] if "message" in choice else choice["text"]
            ok = valid(kind, text, schema)
            if choice["finish_reason"] == "length":
                counts["valid" if ok else "cut"] += 1
            elif ok:
                counts["valid"] += 1
            else:
                problems.append(f"server {kind} max_tokens {budget}: finish_reason {choice['finish_reason']} with an invalid answer {text!r}")
    print(json.dumps({"problems": problems, **counts}))

main()
