"""An MCP server that never answers `initialize`: it starts a grandchild (`python -c sleep MARKER`)
in its process group, optionally writes a line of garbage (`--garbage`), then reads its input
forever; or, with `--crash`, exits with status 3 at once, leaving the grandchild behind. magi must
stop it, grandchild and all, when it gives up on it.
"""

import subprocess
import sys

marker = sys.argv[1]
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)", marker],
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if "--garbage" in sys.argv:
    print("\x1b]0;garbage-title\x07 this is not JSON-RPC", flush=True)
if "--crash" in sys.argv:
    sys.exit(3)
while sys.stdin.buffer.read(65536):
    pass
# Input closed: go on ignoring it, as a badly written server would.
import time
time.sleep(1000)
