"""A real MCP server (stdio) built with the official Python SDK, for MCPClientTests.

Runs with the oracle venv (scripts/setup --oracles installs `mcp`):
    ${MAGI_HOME:-~/.cache/magi}/venv/bin/python Tests/MagiToolsTests/Fixtures/mcp/server.py
"""

import asyncio
import base64

try:  # mcp 2.x (scripts/setup pins it)
    from mcp.server.mcpserver import Image, MCPServer as Server
    from mcp.server.mcpserver.exceptions import ToolError
except ImportError:  # mcp 1.x, where MCPServer was FastMCP
    from mcp.server.fastmcp import FastMCP as Server, Image
    from mcp.server.fastmcp.exceptions import ToolError

server = Server("magi-test")

# A 1×1 transparent PNG.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@server.tool()
def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Returns the text unchanged."""
    return text


@server.tool()
def fail(reason: str) -> str:
    """Always fails with the reason."""
    raise ToolError(reason)


@server.tool()
def pixel() -> Image:
    """Returns a 1×1 PNG image."""
    return Image(data=PIXEL, format="png")


@server.tool()
async def sleep(seconds: float) -> str:
    """Sleeps for the given seconds, then says so."""
    await asyncio.sleep(seconds)
    return f"slept {seconds} s"


if __name__ == "__main__":
    server.run()
