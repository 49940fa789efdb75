"""A hand-written MCP server (stdio, standard library only) that misbehaves on purpose, for
MCPClientTests. The mode is the first argument:

  crash      lists a tool `boom`; calling it writes a line on stderr and kills the server (SIGKILL)
  tools      lists, over two pages, tools that are malformed, duplicated or oddly named
  chatty     writes a banner that is not JSON, a notification and requests (`ping`, `roots/list`)
             to the client before answering; the tool `replies` returns the client's answers
  huge       the tool `huge` answers with one 2 MB line; the tool `small` answers normally
  rpc-error  every tools/call gets a JSON-RPC error
  version    answers initialize with a protocol version nobody speaks
"""

import json
import os
import signal
import sys

MODE = sys.argv[1]
replies = []


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def tool(name, **extra):
    return {"name": name, "description": "test", "inputSchema": {"type": "object"}, **extra}


def text(id, value):
    send({"jsonrpc": "2.0", "id": id, "result": {"content": [{"type": "text", "text": value}]}})


def tools_list(id, params):
    if MODE == "crash":
        tools = [tool("boom")]
    elif MODE == "chatty":
        tools = [tool("replies")]
    elif MODE == "huge":
        tools = [tool("huge"), tool("small")]
    elif MODE == "tools" and not params.get("cursor"):
        send({"jsonrpc": "2.0", "id": id, "result": {"tools": [
            42,
            {"description": "no name", "inputSchema": {"type": "object"}},
            tool("bad_schema", inputSchema="object"),
            tool("bad_description", description=["not", "text"]),
            tool("good", inputSchema={"type": "object", "properties": {"x": {"type": "integer"}}}),
        ], "nextCursor": "page-2"}})
        return
    elif MODE == "tools":
        tools = [tool("good"), tool("dotted.name/with space"), {"name": "untitled", "inputSchema": {"type": "object"}}]
    else:
        tools = [tool("anything")]
    send({"jsonrpc": "2.0", "id": id, "result": {"tools": tools}})


def tools_call(id, params):
    name = params.get("name")
    if MODE == "rpc-error":
        send({"jsonrpc": "2.0", "id": id, "error": {"code": -32602, "message": "Unknown tool: " + str(name)}})
    elif name == "boom":
        sys.stderr.write("about to crash\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    elif name == "replies":
        text(id, json.dumps(replies, sort_keys=True))
    elif name == "huge":
        text(id, "x" * 2_000_000)
    else:
        text(id, "called " + str(name) + " with " + json.dumps(params.get("arguments"), sort_keys=True))


for line in sys.stdin:
    message = json.loads(line)
    method = message.get("method")
    id = message.get("id")
    if method is None:  # an answer to one of our requests
        replies.append(message)
    elif method == "initialize":
        if MODE == "chatty":
            print("Starting the chatty server...", flush=True)
            send({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "hi"}})
            send({"jsonrpc": "2.0", "id": "s1", "method": "ping"})
            send({"jsonrpc": "2.0", "id": 7, "method": "roots/list"})
        version = "1999-01-01" if MODE == "version" else message["params"]["protocolVersion"]
        send({"jsonrpc": "2.0", "id": id, "result": {
            "protocolVersion": version, "capabilities": {"tools": {}}, "serverInfo": {"name": "fake", "version": "1"}}})
    elif method == "tools/list":
        tools_list(id, message.get("params") or {})
    elif method == "tools/call":
        tools_call(id, message.get("params") or {})
    elif id is not None:
        send({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "Method not found"}})
