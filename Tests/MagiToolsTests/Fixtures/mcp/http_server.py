"""A Streamable HTTP MCP server on loopback (the official Python SDK under uvicorn), for the
tests of magi's HTTP transport. Every request must carry `Authorization: Bearer TOKEN`, else it
gets 401. Tools: `add`, `escapes` (text with terminal control sequences), `headers` (the
request's header names it saw, as JSON).

    python http_server.py PORT_FILE TOKEN [MARKER]

It binds 127.0.0.1 on a free port and writes the port to PORT_FILE.
"""

import asyncio
import json
import socket
import sys

import uvicorn

try:  # mcp 2.x
    from mcp.server.mcpserver import MCPServer as Server
except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import FastMCP as Server

port_file, token = sys.argv[1], sys.argv[2]
server = Server("magi-http")
seen_headers: list[str] = []

ESCAPES = "mcp says \x1b]52;c;bWNw\x07 and \x1b]0;mcp-title\x07 then \x1b[2J\x9b31m done"


@server.tool()
def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


@server.tool()
def escapes() -> str:
    """Returns text with terminal control sequences in it."""
    return ESCAPES


@server.tool()
def headers() -> str:
    """Returns the names of the header fields of the last request, as JSON."""
    return json.dumps(sorted(seen_headers))


app = server.streamable_http_app()


async def guarded(scope, receive, send):
    """Refuses a request without the bearer token with 401, as a protected server does."""
    if scope["type"] == "http":
        fields = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        seen_headers[:] = list(fields)
        if fields.get("authorization") != f"Bearer {token}":
            body = json.dumps({"error": "invalid_token", "error_description": "The token is missing or wrong"}).encode()
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b'Bearer error="invalid_token"')]})
            await send({"type": "http.response.body", "body": body})
            return
    await app(scope, receive, send)


async def main():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    # Listening before the port is told: a client that connects while uvicorn starts waits in the
    # backlog instead of being refused.
    sock.listen(128)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(sock.getsockname()[1]))
    import os
    os.rename(port_file + ".tmp", port_file)
    config = uvicorn.Config(guarded, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve(sockets=[sock])


asyncio.run(main())
