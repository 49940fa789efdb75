"""An MCP server (stdio, the official Python SDK) that shows what a server sees and can send:
`environment` returns its environment as JSON, `escapes` returns text holding terminal control
sequences. With an argument MARKER it first starts a grandchild (`python -c sleep MARKER`) that
stays in its process group, so tests can check that nothing it started outlives magi.
"""

import json
import os
import subprocess
import sys

try:
    from mcp.server.mcpserver import MCPServer as Server
except ImportError:
    from mcp.server.fastmcp import FastMCP as Server

if len(sys.argv) > 1:
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)", sys.argv[1]],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

server = Server("magi-probe")

ESCAPES = "mcp says \x1b]52;c;bWNw\x07 and \x1b]0;mcp-title\x07 then \x1b[2J\x9b31m done"


@server.tool()
def environment() -> str:
    """Returns this server's environment variables as a JSON object."""
    return json.dumps(dict(os.environ))


@server.tool()
def escapes() -> str:
    """Returns text with terminal control sequences in it."""
    return ESCAPES


if __name__ == "__main__":
    server.run()
