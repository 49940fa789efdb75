#!/usr/bin/env python3
"""Generate the tokenizer reference fixture from llama.cpp's llama-tokenize.

Runs `llama-tokenize -m MODEL -f FILE --ids --log-disable --no-escape` on every corpus entry below
and writes Tests/MagiTokenizerTests/Fixtures/smollm2-reference.json:

    [{"text": ..., "ids": [...], "parse_special": true}, ...]

The Swift tests (MagiTokenizerTests) check that MagiTokenizer produces exactly these ids.

It also tokenizes the corpus with SmolLM2's vocabulary relabelled with other pre-tokenizer names
(Fixtures/smollm2-pretokenizers-reference.json), and builds a tiny SentencePiece ("llama" model) GGUF with a hand-made vocabulary, tokenizes a few
strings with it and writes Tests/MagiTokenizerTests/Fixtures/spm-tiny-reference.json
(the vocabulary and the ids), since no real SentencePiece model is available here.

Usage:
    scripts/gen-tokenizer-reference.py [--model PATH] [--llama-tokenize PATH] [--output PATH]

Defaults: the SmolLM2-135M-Instruct GGUF in ~/.cache/magi/models and the llama.cpp build in
.scratch/llama.cpp/build/bin (the llama.cpp vendored by llama-cpp-python 0.3.16).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

VIETNAMESE = "Tiếng Việt có dấu: người, được, những, thương, Nguyễn, Hà Nội."

SWIFT_CODE = '''import Foundation

struct Point: Hashable {
    var x: Double
    var y: Double

    func distance(to other: Point) -> Double {
        let dx = x - other.x, dy = y - other.y
        return (dx * dx + dy * dy).squareRoot()
    }
}

let points = [Point(x: 0, y: 0), Point(x: 3, y: 4)]
print(points[0].distance(to: points[1]))  // 5.0
'''

PYTHON_CODE = '''def fibonacci(n: int) -> list[int]:
    """Return the first n Fibonacci numbers."""
    a, b = 0, 1
    result = []
    for _ in range(n):
        result.append(a)
        a, b = b, a + b
    return result


if __name__ == "__main__":
    print(fibonacci(10))  # [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]
'''

C_CODE = '''#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
\tint n = argc > 1 ? atoi(argv[1]) : 10;
\tfor (int i = 0; i < n; ++i) {
\t\tprintf("%d: 0x%08X\\n", i, (unsigned)i * 2654435761u);
\t}
\treturn EXIT_SUCCESS;
}
'''

JSON_TEXT = '''{
  "name": "magi",
  "version": "0.1.0",
  "models": [{"id": "SmolLM2-135M-Instruct", "quant": "Q4_1", "size_mb": 95.3}],
  "enabled": true,
  "nested": {"empty": {}, "list": [1, 2.5, -3e10, null, "\\u00e9\\n"]}
}'''

CHATML = ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
          "<|im_start|>user\nWhat's the capital of France? Answer in one word.<|im_end|>\n"
          "<|im_start|>assistant\nParis<|im_end|>\n<|im_start|>assistant\n")

# (text, parse_special)
CORPUS = [
    ("The quick brown fox jumps over the lazy dog. It was a bright cold day in April, and the clocks were "
     "striking thirteen.", True),
    ("Hello world", True),
    ("   leading spaces", True),
    ("trailing spaces   ", True),
    ("multiple    spaces   between     words", True),
    (" ", True),
    ("\n", True),
    ("line one\nline two\n\n\tindented with a tab\n\t\ttwo tabs\n    four spaces\n", True),
    ("I'm sure it's what they're saying: we'll see, you've won, he'd go, don't. IT'S LOUD AND YOU'RE HERE, "
     "JOHN'S CAR'S WHEEL", True),
    ("Curly apostrophes: don’t, it’s, ‘quoted’ and “double”.", True),
    ("Numbers: 0 7 42 123 1234 12345 1234567890 3.14159 -273.15 1e-9 6.022e23 $1,000,000.00 0x1F 2024-01-01", True),
    ("a   1   22    333", True),
    ("日本語のテキストを正しくトークン化できますか？東京は晴れです。カタカナとひらがな。", True),
    ("我们今天去公园散步，天气非常好！这是一个中文分词测试。", True),
    ("안녕하세요, 만나서 반갑습니다. 한국어 토큰화 테스트입니다.", True),
    ("Größere Äpfel schmecken süß — übermäßig viele Umlaute: ÄÖÜäöüß. Straße, Fußgänger.", True),
    (VIETNAMESE, True),
    (unicodedata.normalize("NFD", VIETNAMESE), True),
    ("مرحبا بالعالم! هذا اختبار للترميز باللغة العربية.", True),
    ("Привет, мир! Съешь же ещё этих мягких французских булок, да выпей чаю.", True),
    ("नमस्ते दुनिया! यह एक परीक्षण वाक्य है।", True),
    ("Καλημέρα κόσμε, ΑΒΓΔ αβγδ.", True),
    ("שלום עולם", True),
    ("สวัสดีครับ ภาษาไทยไม่มีช่องว่างระหว่างคำ", True),
    ("Emoji: 😀😃😄 I ❤️ it 👍🏽 👨‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 🇯🇵🇺🇸🇩🇪 flags, 🧑🏿‍💻 coder, 🫨 shaking", True),
    ("mixing English日本語and русский and 中文123", True),
    (SWIFT_CODE, True),
    (PYTHON_CODE, True),
    (C_CODE, True),
    (JSON_TEXT, True),
    ("# Title\n\n- item 1\n- item 2\n\n```swift\nlet x = 1\n```\n\n> quote **bold** _italic_ `code`", True),
    ("https://example.com/path/to/page?query=1&b=two#fragment user.name+tag@example.org", True),
    ("Hello!!! What??? ... --- *** ~~~ ((nested)) [brackets] {braces} <angle> a&&b || c != d", True),
    ("∀x ∈ ℝ: x² ≥ 0, ∑ᵢ aᵢ ≈ π ≠ ∞, ½ ⅓ Ⅻ ①", True),
    (CHATML, True),
    (CHATML, False),
    ("<|endoftext|>before and after<|endoftext|> <repo_name>magi<file_sep>x", True),
    ("non\u00a0breaking\u00a0space and\r\nwindows\r\nline endings,\u2003em space,\u3000ideographic", True),
    ("tab\there vertical\u000btab form\u000cfeed next\u0085line sep\u2028para\u2029end", True),
    ("zero\u200bwidth joiner\u200dhere bom\ufeffthere soft\u00adhyphen", True),
    ("Pneumonoultramicroscopicsilicovolcanoconiosis " + "a" * 300 + " "
     + "supercalifragilisticexpialidocious" * 5, True),
    ("!!!!!!!!!!!!!!!!        \n\n\n\n\t\t\t\t", True),
    ("a1b2c3 v2.0.1 x86_64 iPhone15 COVID-19 3D 4K 1080p", True),
    ("new in Unicode 16: \U0001FAE9 \u0897 and private use \ue000", True),
]


def tokenize(binary, model, text, parse_special):
    with tempfile.NamedTemporaryFile("wb", suffix=".txt", delete=False) as f:
        f.write(text.encode("utf-8"))
        path = f.name
    try:
        command = [binary, "-m", model, "-f", path, "--ids", "--log-disable", "--no-escape"]
        if not parse_special:
            command.append("--no-parse-special")
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(path)
    line = [l for l in out.splitlines() if l.startswith("[")][-1]
    return json.loads(line)


# Hand-made SentencePiece vocabulary: <unk> <s> </s>, 256 byte tokens, a user-defined token and a few
# scored pieces (see SentencePieceTests.swift for the hand-computed merges).
SPM_PIECES = [("▁", -10), ("h", -20), ("e", -20), ("l", -20), ("o", -20), ("w", -20), ("r", -20), ("d", -20),
              ("he", -5), ("ll", -4), ("llo", -3), ("hello", -1), ("▁hello", -0.5), ("wor", -6), ("▁w", -7),
              ("or", -2), ("ld", -8), ("a", -20), ("aa", -1), ("▁a", -1.5)]

SPM_CORPUS = [
    ("hello world", True), ("hi😀", True), ("hello</s>world", True), ("hello</s>world", False),
    ("  hello  ", True), ("aaa aaaa", True), ("<|user|>hello", False), ("", True), ("\n tab\t", True),
    ("héllo wörld", True),
]


def spm_vocabulary():
    tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)] + ["<|user|>"]
    types = [2, 3, 3] + [6] * 256 + [4]
    scores = [0.0] * len(tokens)
    for text, score in SPM_PIECES:
        tokens.append(text)
        types.append(1)
        scores.append(float(score))
    return {"model": "llama", "tokens": tokens, "scores": scores, "token_types": types,
            "bos": 1, "eos": 2, "unk": 0, "add_bos": True, "add_eos": False, "add_space_prefix": True}


def write_spm_reference(binary, output):
    import gguf
    vocab = spm_vocabulary()
    with tempfile.TemporaryDirectory() as directory:
        model = os.path.join(directory, "tiny-spm.gguf")
        writer = gguf.GGUFWriter(model, "llama")
        writer.add_tokenizer_model("llama")
        writer.add_token_list(vocab["tokens"])
        writer.add_token_scores(vocab["scores"])
        writer.add_token_types(vocab["token_types"])
        writer.add_bos_token_id(vocab["bos"])
        writer.add_eos_token_id(vocab["eos"])
        writer.add_unk_token_id(vocab["unk"])
        writer.add_add_bos_token(vocab["add_bos"])
        writer.add_add_eos_token(vocab["add_eos"])
        writer.add_add_space_prefix(vocab["add_space_prefix"])
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        entries = [{"text": text, "parse_special": parse_special, "ids": tokenize(binary, model, text, parse_special)}
                   for text, parse_special in SPM_CORPUS]
    with open(output, "w", encoding="utf-8") as f:
        f.write('{"vocabulary":' + json.dumps(vocab, ensure_ascii=False, separators=(",", ":")) + ',\n"entries":[\n')
        f.write(",\n".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in entries))
        f.write("\n]}\n")
    print(f"wrote {len(entries)} SentencePiece entries to {output}", file=sys.stderr)


# Pre-tokenizers checked by re-labelling SmolLM2's vocabulary ("none": no tokenizer.ggml.pre key → default).
OTHER_PRE_TOKENIZERS = ["none", "llama-bpe", "qwen2", "tekken", "deepseek-llm", "deepseek-coder", "falcon"]


def write_pretokenizer_reference(binary, model, output):
    """SmolLM2's vocabulary and merges under other `tokenizer.ggml.pre` names, tokenized by llama.cpp.

    Writes {"ids": {pre: [ids for each corpus entry of smollm2-reference.json]}}.
    """
    from gguf import GGUFReader, GGUFWriter
    reader = GGUFReader(model)

    def strings(key):
        field = reader.fields[key]
        return [bytes(field.parts[i]).decode("utf-8") for i in field.data]

    tokens = strings("tokenizer.ggml.tokens")
    merges = strings("tokenizer.ggml.merges")
    field = reader.fields["tokenizer.ggml.token_type"]
    types = [int(field.parts[i][0]) for i in field.data]
    result = {}
    with tempfile.TemporaryDirectory() as directory:
        for pre in OTHER_PRE_TOKENIZERS:
            path = os.path.join(directory, f"vocab-{pre}.gguf")
            writer = GGUFWriter(path, "llama")
            writer.add_tokenizer_model("gpt2")
            if pre != "none":
                writer.add_tokenizer_pre(pre)
            writer.add_token_list(tokens)
            writer.add_token_types(types)
            writer.add_token_merges(merges)
            writer.add_bos_token_id(1)
            writer.add_eos_token_id(2)
            writer.add_unk_token_id(0)
            writer.add_add_bos_token(False)
            writer.write_header_to_file()
            writer.write_kv_data_to_file()
            writer.write_tensors_to_file()
            writer.close()
            result[pre] = [tokenize(binary, path, text, parse_special) for text, parse_special in CORPUS]
            print(f"pre-tokenizer {pre}: done", file=sys.stderr)
    with open(output, "w", encoding="utf-8") as f:
        f.write('{"ids":{\n')
        f.write(",\n".join(f'"{pre}":' + json.dumps(ids, separators=(",", ":")) for pre, ids in result.items()))
        f.write("\n}}\n")
    print(f"wrote {len(result)} pre-tokenizers to {output}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=os.path.expanduser("~/.cache/magi/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    parser.add_argument("--llama-tokenize", default=os.path.join(ROOT, ".scratch/llama.cpp/build/bin/llama-tokenize"))
    parser.add_argument("--output", default=os.path.join(ROOT, "Tests/MagiTokenizerTests/Fixtures/smollm2-reference.json"))
    args = parser.parse_args()

    for path, what in ((args.model, "model"), (args.llama_tokenize, "llama-tokenize")):
        if not os.path.exists(path):
            sys.exit(f"{what} not found: {path}")

    entries = []
    for text, parse_special in CORPUS:
        ids = tokenize(args.llama_tokenize, args.model, text, parse_special)
        entries.append({"text": text, "parse_special": parse_special, "ids": ids})
        print(f"{len(ids):5d} tokens  {text[:50]!r}", file=sys.stderr)

    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in entries))
        f.write("\n]\n")
    print(f"wrote {len(entries)} entries to {args.output}", file=sys.stderr)

    fixtures = os.path.dirname(args.output)
    write_spm_reference(args.llama_tokenize, os.path.join(fixtures, "spm-tiny-reference.json"))
    write_pretokenizer_reference(args.llama_tokenize, args.model,
                                 os.path.join(fixtures, "smollm2-pretokenizers-reference.json"))


if __name__ == "__main__":
    main()
