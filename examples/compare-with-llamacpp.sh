#!/usr/bin/env bash
# Measures magi and llama.cpp against the exact model on the GPL-3 text, as KL divergence.
# Builds llama.cpp from the llama-cpp-python source package on first use (about 5 minutes).
#   examples/compare-with-llamacpp.sh [MODEL]
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-${MAGI_HOME:-$HOME/.cache/magi}/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
python="${MAGI_PYTHON:-${MAGI_HOME:-$HOME/.cache/magi}/venv/bin/python}"
text=/usr/share/common-licenses/GPL-3
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
bin="$(scripts/build-llamacpp)"
.build/release/magi tokenize -m "$model" --json --no-parse-special - < "$text" > "$work/tokens.json"
"$python" scripts/exact-logits.py -m "$model" --tokens "$work/tokens.json" -c 512 -o "$work/exact.kld"
echo "== magi"
.build/release/magi perplexity -m "$model" --kl-divergence-base "$work/exact.kld" --kl-divergence
echo "== llama.cpp"
"$bin/llama-perplexity" -m "$model" -t "$(nproc)" --kl-divergence-base "$work/exact.kld" --kl-divergence 2>&1 \
  | grep -E "Mean PPL|Mean +KLD|Maximum KLD|99.0%   KLD|Same top"
