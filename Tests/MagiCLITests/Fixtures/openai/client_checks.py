"""The official `openai` client against a running `magi serve`.

Usage: client_checks.py BASE_URL API_KEY MODEL GROUP
GROUP is `api` (plain, streaming, tools, response_format, completions, errors) or `load`
(8 concurrent streaming clients for a bounded time). Prints one JSON line per check:
{"check": NAME, "ok": bool, "detail": "..."}; the Swift test asserts on them.
"""
import json
import socket
import sys
import threading
import time
import urllib.parse

import jsonschema
import openai

BASE, KEY, MODEL, GROUP = sys.argv[1:5]
client = openai.OpenAI(base_url=BASE, api_key=KEY, max_retries=0, timeout=120)


def report(check, ok, detail=""):
    print(json.dumps({"check": check, "ok": bool(ok), "detail": str(detail)[:2000]}), flush=True)


def check(name):
    def wrap(fn):
        try:
            ok, detail = fn()
        except Exception as e:  # a check that raises fails with the exception's text
            ok, detail = False, f"{type(e).__name__}: {e}"
        report(name, ok, detail)
    return wrap


def ask(prompt, **kw):
    return client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": prompt}], temperature=0, **kw)


def streamed(prompt, **kw):
    """The joined content, the finish reason, the usage chunk and whether [DONE] ended it."""
    stream = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": prompt}], temperature=0,
                                            stream=True, **kw)
    text, finish, usage, calls = "", None, None, {}
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for call in choice.delta.tool_calls or []:
                entry = calls.setdefault(call.index, {"name": "", "arguments": ""})
                entry["name"] += call.function.name or ""
                entry["arguments"] += call.function.arguments or ""
            finish = choice.finish_reason or finish
    return text, finish, usage, calls


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                       "required": ["city", "unit"], "additionalProperties": False},
    },
}
PERSON = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer"},
                                          "pet": {"enum": ["cat", "dog", None]}},
          "required": ["name", "age"], "additionalProperties": False}


def api():
    @check("models")
    def _():
        ids = [m.id for m in client.models.list().data]
        return ids == [MODEL], ids

    @check("plain")
    def _():
        r = ask("What is the capital of France?", max_tokens=24)
        c = r.choices[0]
        ok = (r.object == "chat.completion" and c.message.role == "assistant" and len(c.message.content) > 0
              and c.finish_reason in ("stop", "length") and 0 < r.usage.completion_tokens <= 24
              and r.usage.prompt_tokens > 5 and r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens)
        return ok, r.model_dump_json()

    @check("stream_equals_whole")
    def _():
        # The same cache state for both: a different prompt before each, so each prefills the same tokens.
        ask("Say hi.", max_tokens=2)
        whole = ask("Name three colours.", max_tokens=20)
        ask("Say hi.", max_tokens=2)
        text, finish, usage, _ = streamed("Name three colours.", max_tokens=20, stream_options={"include_usage": True})
        ok = (text == whole.choices[0].message.content and finish == whole.choices[0].finish_reason
              and usage is not None and usage.completion_tokens == whole.usage.completion_tokens)
        return ok, f"stream={text!r} {finish} {usage}; whole={whole.choices[0].message.content!r} {whole.choices[0].finish_reason}"

    @check("max_tokens_length")
    def _():
        r = ask("Write a long story about a dragon.", max_tokens=5)
        return r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 5, r.model_dump_json()

    @check("stop_sequence")
    def _():
        full = ask("Count from 1 to 10, separated by commas.", max_tokens=40).choices[0].message.content
        stop = full[len(full) // 2:len(full) // 2 + 3]  # likely to span a token boundary: tests the hold-back
        cut = ask("Count from 1 to 10, separated by commas.", max_tokens=40, stop=[stop, "never appears"]).choices[0]
        ok = len(full) > 6 and cut.message.content == full[:full.index(stop)] and cut.finish_reason == "stop"
        return ok, f"full={full!r} stop={stop!r} cut={cut.message.content!r} {cut.finish_reason}"

    @check("tools_required")
    def _():
        r = ask("What is the weather in Paris?", tools=[WEATHER], tool_choice="required", max_tokens=80)
        c = r.choices[0]
        calls = c.message.tool_calls or []
        ok = c.finish_reason == "tool_calls" and len(calls) >= 1
        for call in calls:
            ok = ok and call.type == "function" and call.function.name == "get_weather" and len(call.id) > 0
            jsonschema.validate(json.loads(call.function.arguments), WEATHER["function"]["parameters"])
        return ok, r.model_dump_json()

    @check("tools_streamed")
    def _():
        _, finish, _, calls = streamed("What is the weather in Rome?", tools=[WEATHER], tool_choice="required", max_tokens=80)
        ok = finish == "tool_calls" and len(calls) >= 1
        for call in calls.values():
            ok = ok and call["name"] == "get_weather"
            jsonschema.validate(json.loads(call["arguments"]), WEATHER["function"]["parameters"])
        return ok, calls

    @check("tool_result_round_trip")
    def _():
        first = ask("What is the weather in Oslo?", tools=[WEATHER], tool_choice="required", max_tokens=80).choices[0].message
        call = first.tool_calls[0]
        r = client.chat.completions.create(model=MODEL, temperature=0, max_tokens=30, tools=[WEATHER], messages=[
            {"role": "user", "content": "What is the weather in Oslo?"},
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": '{"temperature": -3, "sky": "snow"}'},
        ])
        return r.choices[0].finish_reason in ("stop", "length", "tool_calls"), r.model_dump_json()

    @check("response_format_json_schema")
    def _():
        r = ask("Invent a person.", max_tokens=60,
                response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON, "strict": True}})
        jsonschema.validate(json.loads(r.choices[0].message.content), PERSON)
        return True, r.choices[0].message.content

    @check("response_format_json_object")
    def _():
        r = ask("Describe a cat.", max_tokens=40, response_format={"type": "json_object"})
        text = r.choices[0].message.content
        if r.choices[0].finish_reason == "stop":
            return isinstance(json.loads(text), dict), text
        return text.lstrip().startswith("{"), text  # cut by max_tokens: an object begun

    @check("reasoning_fields")
    def _():
        # llama.cpp's `grammar` extension pins a reasoning model's shape on the small test model.
        grammar = 'root ::= "<think>" [a-z ]{5,30} "</think>" [A-Z] [a-z ]{3,20} "."'
        ask("Say hi.", max_tokens=2)  # the same cache state before both requests
        whole = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Think, then answer."}],
                                               temperature=0, max_tokens=60, extra_body={"grammar": grammar})
        m = whole.choices[0].message
        thought = m.model_extra.get("reasoning_content")
        ok = thought and m.model_extra.get("reasoning") == thought and "<think>" not in m.content and m.content.endswith(".")
        ask("Say hi.", max_tokens=2)
        stream = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Think, then answer."}],
                                                temperature=0, max_tokens=60, extra_body={"grammar": grammar}, stream=True)
        streamed_thought, streamed_text = "", ""
        for chunk in stream:
            for c in chunk.choices:
                streamed_thought += (c.delta.model_extra or {}).get("reasoning_content") or ""
                streamed_text += c.delta.content or ""
        return ok and streamed_thought.strip() == thought.strip() and streamed_text == m.content, f"{m.model_dump_json()} / {streamed_thought!r} {streamed_text!r}"

    @check("completions")
    def _():
        r = client.completions.create(model=MODEL, prompt="The capital of France is", max_tokens=8, temperature=0)
        c = r.choices[0]
        return r.object == "text_completion" and len(c.text) > 0 and r.usage.completion_tokens <= 8, r.model_dump_json()

    @check("completions_stream")
    def _():
        whole = client.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=12, temperature=0).choices[0].text
        text = "".join(c.choices[0].text for c in client.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=12,
                                                                             temperature=0, stream=True) if c.choices)
        return text == whole, f"{text!r} vs {whole!r}"

    @check("error_api_key")
    def _():
        bad = openai.OpenAI(base_url=BASE, api_key="wrong", max_retries=0)
        try:
            bad.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
        except openai.AuthenticationError as e:
            return e.status_code == 401 and e.body.get("code") == "invalid_api_key", e.body
        return False, "no error"

    @check("error_unknown_model")
    def _():
        try:
            client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
        except openai.NotFoundError as e:
            return e.status_code == 404 and e.body.get("code") == "model_not_found", e.body
        return False, "no error"

    @check("error_bad_request")
    def _():
        results = []
        for kwargs, param in [({"messages": []}, "messages"), ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
                              ({"messages": [{"role": "user", "content": "x"}], "n": 2}, "n"),
                              ({"messages": [{"role": "user", "content": "x"}], "temperature": 5}, "temperature"),
                              ({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object", "not": {}}}}}, "response_format")]:
            try:
                client.chat.completions.create(model=MODEL, **kwargs)
                results.append((param, "no error"))
            except openai.BadRequestError as e:
                results.append((param, e.status_code == 400 and e.body.get("param") == param and len(e.body.get("message", "")) > 0))
        return all(r is True for _, r in results), results

    @check("error_context_length")
    def _():
        try:
            ask("word " * 20000, max_tokens=4)
        except openai.BadRequestError as e:
            return e.body.get("code") == "context_length_exceeded", e.body
        return False, "no error"

    @check("error_malformed_json_and_huge_body")
    def _():
        import http.client
        u = urllib.parse.urlparse(BASE)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        conn.request("POST", "/v1/chat/completions", body="{not json", headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
        r = conn.getresponse()
        malformed = (r.status, json.loads(r.read())["error"]["type"])
        conn.close()
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        try:
            conn.request("POST", "/v1/chat/completions", body=b"x" * (33 << 20), headers={"Authorization": f"Bearer {KEY}"})
            r = conn.getresponse()
            huge = r.status
        except (BrokenPipeError, ConnectionResetError):
            huge = "reset"
        conn.close()
        return malformed == (400, "invalid_request_error") and huge in (413, "reset"), f"{malformed} {huge}"

    @check("client_gone_mid_stream")
    def _():
        stream = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Tell me a very long story."}],
                                                temperature=0, stream=True, max_tokens=3000)
        for i, _ in enumerate(stream):
            if i == 3:
                break
        stream.close()
        start = time.time()
        r = ask("Say hi.", max_tokens=4)
        # The abandoned answer (up to 3000 tokens) must not hold the engine.
        return r.choices[0].message.content is not None and time.time() - start < 10, f"{time.time() - start:.1f} s"


def load():
    # Each prompt opens with its own token, so after any other prompt a request reuses exactly the
    # cached system prefix; after itself (one client alone in the queue) the whole prompt is cached,
    # which may round differently. Both answers are expected.
    prompts = [f"{n}) Give one fact about the number {n}." for n in range(1, 9)]
    ask("Warm up.", max_tokens=2)
    expected = []
    for p in prompts:
        after_other = ask(p, max_tokens=16).choices[0].message.content
        after_itself = ask(p, max_tokens=16).choices[0].message.content
        expected.append({after_other, after_itself})
        ask("Warm up.", max_tokens=2)
    deadline = time.time() + 20
    results = [[] for _ in prompts]

    def client_loop(i):
        while time.time() < deadline:
            try:
                text, finish, usage, _ = streamed(prompts[i], max_tokens=16, stream_options={"include_usage": True})
                results[i].append((text in expected[i], finish in ("stop", "length") and usage is not None, text))
            except Exception as e:
                results[i].append((False, False, f"{type(e).__name__}: {e}"))

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = sum(len(r) for r in results)
    bad = [(i, r) for i, rs in enumerate(results) for r in rs if not (r[0] and r[1])]
    report("load_all_complete_and_correct", total >= 8 and all(len(r) >= 1 for r in results) and not bad,
           f"{total} responses from 8 clients; wrong: {bad[:3]}")
    health = json.loads(urllib.request.urlopen(BASE.rsplit("/v1", 1)[0] + "/health", timeout=10).read())
    after = ask("Say hi.", max_tokens=4)
    report("load_server_alive_after", health == {"status": "ok"} and after.choices[0].message.content is not None, health)
    report("load_count", True, total)


import urllib.request  # noqa: E402  (used by load)

{"api": api, "load": load}[GROUP]()
