#!/usr/bin/env bash
# Summarises a text file with the default model: the instruction from -p, the text from the pipe.
#   examples/summarise-file.sh notes.md
set -euo pipefail
file="${1:?usage: summarise-file.sh FILE}"
magi="${MAGI:-$(dirname "$0")/../.build/release/magi}"
"$magi" -p "Summarise this text in three sentences." --temp 0.3 -n 200 < "$file"
