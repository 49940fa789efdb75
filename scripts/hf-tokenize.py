#!/usr/bin/env python3
"""Tokenizes a text file with Hugging Face `tokenizers`, built from a GGUF's own vocabulary and
merges, and prints the ids as JSON: an oracle for magi's tokenizer that shares no code with it
(nor with llama.cpp).

Only what the test fixtures need: byte-level BPE vocabularies (`tokenizer.ggml.model = gpt2`) with
the pre-tokenizers of SmolLM2 (`smollm`: digits one by one, then GPT-2's byte-level split) and
GPT-2 (`default`/`gpt2`), as their tokenizer.json files declare them. No special tokens are parsed
and none are added, as `magi tokenize --no-parse-special` and llama-perplexity -f read text.

    hf-tokenize.py MODEL.gguf TEXT_FILE > ids.json
"""
import json
import sys

from gguf import GGUFReader
from tokenizers import Tokenizer, decoders, models, pre_tokenizers


def field(reader, key, default=None):
    f = reader.fields.get(key)
    return default if f is None else f.contents()


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    reader = GGUFReader(sys.argv[1])
    if field(reader, "tokenizer.ggml.model") != "gpt2":
        raise SystemExit("hf-tokenize: only byte-level BPE (tokenizer.ggml.model = gpt2) vocabularies")
    pre = field(reader, "tokenizer.ggml.pre", "default")
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if pre == "smollm":
        pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    elif pre in ("default", "gpt2"):
        pre_tokenizer = byte_level
    else:
        raise SystemExit(f"hf-tokenize: pre-tokenizer {pre!r} not supported")
    tokens = field(reader, "tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in field(reader, "tokenizer.ggml.merges")]
    bpe = models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges)
    tokenizer = Tokenizer(bpe)
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.ByteLevel()
    with open(sys.argv[2], encoding="utf-8") as f:
        text = f.read()
    json.dump(tokenizer.encode(text, add_special_tokens=False).ids, sys.stdout)


if __name__ == "__main__":
    main()
