#!/bin/sh
# An agentic script: the model may search the web, read pages, run Python in a sandbox and do exact
# arithmetic, with every call allowed up front (--yes), as a script needs. Tool calls and a short
# view of each result are written on standard error; the answer on standard output.
#
#   examples/agent.sh "How many days are there between the first Moon landing and today?"
#
# Use a model trained for tools (Magistral Small 1.2: -m path/to/Magistral-Small-2509-Q4_K_M.gguf).
# For SearXNG instead of DuckDuckGo: --search-provider searxng --searxng-url http://localhost:8888
set -eu
question=${1:?usage: examples/agent.sh QUESTION [magi options…]}
shift
exec "${MAGI:-magi}" --tools web_search,fetch_url,python,calculator --yes --max-tool-steps 10 "$@" -p "$question"
