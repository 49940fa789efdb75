"""A loopback server answering /v1/chat/completions in the shapes real servers use, chosen by the
request's model name, for RemoteChatClient's tests. Prints its port, then serves until killed.

vllm         reasoning in delta.reasoning (vLLM >= 0.10)
llamacpp     reasoning in delta.reasoning_content (llama.cpp's server, older vLLM)
mistral      Mistral's API: content as [{"type": "thinking", ...}, {"type": "text", ...}]
think-tags   [THINK]…[/THINK] in the content, split mid-marker across chunks
tools        two tool calls, each streamed in pieces (id and name first, arguments after)
flaky        429 (Retry-After: 0) twice, then an answer
down         503 every time
auth         401 with an OpenAI error body
midstream    one piece of content, then an error event
slow         waits 5 s before answering
echo         answers with the request it got (body and Authorization header) as the content
endless      content chunks without end
endless-line one data line without end
"""
import itertools
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

attempts = {}


def chunk(delta=None, finish=None, usage=None):
    body = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage:
        body["usage"] = usage
    return "data: " + json.dumps(body) + "\n\n"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def stream(self, pieces):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for piece in pieces:
            self.wfile.write(piece.encode())
            self.wfile.flush()
        self.close_connection = True

    def do_GET(self):
        if self.path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [{"id": "vllm", "object": "model"}, {"id": "tools", "object": "model"}]})
        else:
            self.send_json(404, {"error": {"message": "no such route", "type": "invalid_request_error"}})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        model = body["model"]
        attempts[model] = attempts.get(model, 0) + 1
        usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
        done = "data: [DONE]\n\n"
        if model == "vllm":
            self.stream([chunk({"role": "assistant", "content": ""}), chunk({"reasoning": "Paris is "}), chunk({"reasoning": "the capital."}),
                         chunk({"content": "It is "}), chunk({"content": "Paris."}), chunk({}, "stop"), chunk(usage=usage), done])
        elif model == "llamacpp":
            self.stream([chunk({"role": "assistant", "content": None}), chunk({"reasoning_content": "Think."}),
                         chunk({"content": "Answer."}), chunk({}, "length"), chunk(usage=usage), done])
        elif model == "mistral":
            self.stream([chunk({"role": "assistant", "content": [{"type": "thinking", "thinking": [{"type": "text", "text": "Hmm, "}]}]}),
                         chunk({"content": [{"type": "thinking", "thinking": [{"type": "text", "text": "yes."}]}]}),
                         chunk({"content": [{"type": "text", "text": "Yes."}]}), chunk({}, "stop"), done])
        elif model == "think-tags":
            self.stream([chunk({"content": "[TH"}), chunk({"content": "INK]a b"}), chunk({"content": "[/THI"}),
                         chunk({"content": "NK]The answer"}), chunk({}, "stop"), done])
        elif model == "tools":
            self.stream([chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
                         chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\": "}}]}),
                         chunk({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}),
                         chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]}),
                         chunk({}, "tool_calls"), done])
        elif model == "flaky" and attempts[model] <= 2:
            self.send_json(429, {"error": {"message": "slow down"}}, [("Retry-After", "0")])
        elif model == "flaky":
            self.stream([chunk({"content": "finally"}), chunk({}, "stop"), done])
        elif model == "down":
            self.send_json(503, {"error": {"message": "overloaded"}})
        elif model == "auth":
            self.send_json(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}})
        elif model == "midstream":
            self.stream([chunk({"content": "part"}), 'data: {"error": {"message": "the engine crashed", "code": 500}}\n\n'])
        elif model == "slow":
            time.sleep(5)
            self.stream([chunk({"content": "late"}), done])
        elif model == "echo":
            echo = {"body": body, "authorization": self.headers.get("Authorization")}
            self.stream([chunk({"content": json.dumps(echo)}), chunk({}, "stop"), done])
        elif model in ("endless", "endless-line"):
            piece = chunk({"content": "more "}) if model == "endless" else "x" * 4096
            try:
                self.stream(itertools.chain(["data: " if model == "endless-line" else ""], itertools.repeat(piece)))
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading, as it should
        else:
            self.send_json(404, {"error": {"message": f"The model '{model}' does not exist"}})


def exit_with_parent():
    sys.stdin.read()  # end of file: the test process is gone
    os._exit(0)


threading.Thread(target=exit_with_parent, daemon=True).start()
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
