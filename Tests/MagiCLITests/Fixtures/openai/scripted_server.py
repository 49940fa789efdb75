"""An OpenAI-compatible chat server on loopback that answers from a script, for tests that need a
remote model to say or call exactly something (TerminalSafetyTests).

    python scripted_server.py PORT_FILE SCRIPT_JSON

SCRIPT_JSON is a list of replies, used in turn by the chat requests (the last one repeats):
{"content": "...", "reasoning": "...", "tool_call": {"name": "...", "arguments": "{...}"},
"delay": seconds before answering}; "{PORT}" in a call's arguments becomes the server's port.
A reply may instead be an HTTP error, {"status": 400, "body": "...", "content_type": "..."} ("{MODEL}"
in the body becomes the model the request named, escaped for JSON), or a stream that never ends
its first event, {"flood": BYTES}: `data: ` and then BYTES bytes without a newline.
GET /page serves PAGE_HTML from the environment as text/html (for fetch_url). The port it listens
on is written to PORT_FILE.
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port_file, script = sys.argv[1], json.loads(sys.argv[2])
turn = 0
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def send(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.endswith("/models"):
            self.send(200, "application/json", json.dumps({"object": "list", "data": [{"id": "scripted", "object": "model"}]}).encode())
        elif self.path == "/page":
            self.send(200, "text/html; charset=utf-8", os.environ.get("PAGE_HTML", "").encode())
        else:
            self.send(404, "text/plain", b"not found")

    def do_POST(self):
        global turn
        request = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            reply = script[min(turn, len(script) - 1)]
            turn += 1
        time.sleep(reply.get("delay", 0))
        if "status" in reply:
            model = json.loads(request or b"{}").get("model", "")
            body = reply["body"].replace("{MODEL}", json.dumps(model)[1:-1])
            self.send_response(reply["status"])
            self.send_header("Content-Type", reply.get("content_type", "application/json"))
            self.send_header("Content-Length", str(len(body.encode())))
            self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(body.encode())
            return
        if "flood" in reply:
            self.flood(reply["flood"])
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()

        def chunk(delta, finish=None):
            event = {"id": "c", "object": "chat.completion.chunk", "model": "scripted",
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
            self.wfile.flush()

        chunk({"role": "assistant"})
        if "reasoning" in reply:
            chunk({"reasoning_content": reply["reasoning"]})
        if "content" in reply:
            chunk({"content": reply["content"]})
        if "tool_call" in reply:
            call = reply["tool_call"]
            chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                   "function": {"name": call["name"],
                                                "arguments": call["arguments"].replace("{PORT}", str(self.server.server_address[1]))}}]})
        chunk({}, "tool_calls" if "tool_call" in reply else "stop")
        usage = {"id": "c", "object": "chat.completion.chunk", "choices": [],
                 "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}
        self.wfile.write(b"data: " + json.dumps(usage).encode() + b"\n\ndata: [DONE]\n\n")

    def flood(self, size):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        piece = b"x" * (1 << 16)
        try:
            self.wfile.write(b"data: ")
            for _ in range(size // len(piece)):
                self.wfile.write(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading, as it should


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
