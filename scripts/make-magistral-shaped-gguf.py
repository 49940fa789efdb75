#!/usr/bin/env python3
"""Writes a small random-weight GGUF shaped like Magistral Small 1.2, for tests.

Magistral Small 1.2's real GGUF (~14 GB at Q4_K_M) cannot be fetched here, so this model carries
everything of its shape that an engine can get wrong, at a size a test can run:
  - llama architecture with Magistral's peculiarities: head size 128 that is NOT hidden / heads,
    grouped-query attention with 4 query heads per key/value head (Magistral: 32 / 8), rope theta
    1e9, RMSNorm epsilon 1e-5, untied output, 131072 positions;
  - the real 131072-entry Tekken vocabulary (from mistral-common's tekken_240911.json) as llama.cpp
    writes it for Mistral Small / Magistral GGUFs: `tokenizer.ggml.model = gpt2`,
    `tokenizer.ggml.pre = tekken`, byte-level token strings, merges recovered from the ranks, the
    first 1000 ids special, named as Magistral Small 1.2 (v13) names them;
  - a Mistral chat template mentioning [SYSTEM_PROMPT], [AVAILABLE_TOOLS] and [THINK];
  - fewer layers and a narrower width; weights in Q4_K (attention, gate, up), Q6_K (down, output),
    Q8_0 (token embedding) and F32 (norms), the mix of a Q4_K_M file. K-quant blocks are random
    bytes with bounded scales (random weights in that format); Q8_0 is quantized by gguf.

With --full-width the widths are Magistral Small 1.2's own (hidden 5120, 32 query and 8 key/value
heads of 128, FFN 32768) for speed and memory measurements; --layers sets the depth (Magistral: 40).

Usage: make-magistral-shaped-gguf.py OUT.gguf [--full-width] [--layers N] [--tekken tekken.json] [--seed 0]
"""
import argparse
import base64
import json
import os
import sys

import numpy as np
import gguf

HIDDEN, HEADS, KV_HEADS, HEAD_SIZE, FFN, LAYERS = 256, 4, 1, 128, 512, 2
FULL_WIDTH = dict(HIDDEN=5120, HEADS=32, KV_HEADS=8, FFN=32768)
VOCAB, SPECIALS = 131072, 1000

# Magistral Small 1.2 (tekken v13) special tokens by id; the rest of 0..999 are <SPECIAL_n>.
V13_SPECIALS = {
    0: "<unk>", 1: "<s>", 2: "</s>", 3: "[INST]", 4: "[/INST]", 5: "[AVAILABLE_TOOLS]",
    6: "[/AVAILABLE_TOOLS]", 7: "[TOOL_RESULTS]", 8: "[/TOOL_RESULTS]", 9: "[TOOL_CALLS]",
    10: "[IMG]", 11: "<pad>", 12: "[IMG_BREAK]", 13: "[IMG_END]", 14: "[PREFIX]", 15: "[MIDDLE]",
    16: "[SUFFIX]", 17: "[SYSTEM_PROMPT]", 18: "[/SYSTEM_PROMPT]", 19: "[TOOL_CONTENT]",
    32: "[ARGS]", 33: "[CALL_ID]", 34: "[THINK]", 35: "[/THINK]",
}

CHAT_TEMPLATE = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}[SYSTEM_PROMPT]{{ messages[0]['content'] }}"
    "[/SYSTEM_PROMPT]{% endif %}{% if tools %}[AVAILABLE_TOOLS]{{ tools | tojson }}[/AVAILABLE_TOOLS]{% endif %}"
    "{% for m in messages %}{% if m['role'] == 'user' %}[INST]{{ m['content'] }}[/INST]"
    "{% elif m['role'] == 'assistant' %}{% if m.get('reasoning') %}[THINK]{{ m['reasoning'] }}[/THINK]{% endif %}"
    "{{ m['content'] }}{{ eos_token }}{% endif %}{% endfor %}"
)


def byte_encoder():
    """GPT-2's reversible byte -> printable character map, as byte-level BPE vocabularies use."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def recover_merge(ranks, token, rank):
    """The pair whose merge made `token`: BPE on its bytes with merges ranked below `rank`."""
    parts = [bytes([b]) for b in token]
    while True:
        best, best_rank = None, None
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and (best_rank is None or r < best_rank):
                best, best_rank = i, r
        if best_rank is None or best_rank >= rank:
            break
        parts = parts[:best] + [parts[best] + parts[best + 1]] + parts[best + 2:]
    return parts


def tekken_vocabulary(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    inner = VOCAB - SPECIALS
    entries = data["vocab"][:inner]
    ranks = {base64.b64decode(e["token_bytes"]): e["rank"] for e in entries}
    enc = byte_encoder()
    tokens, types = [], []
    for i in range(SPECIALS):
        tokens.append(V13_SPECIALS.get(i, f"<SPECIAL_{i}>"))
        types.append(gguf.TokenType.CONTROL)
    merges = []
    for e in entries:
        raw = base64.b64decode(e["token_bytes"])
        tokens.append("".join(enc[b] for b in raw))
        types.append(gguf.TokenType.NORMAL)
        if len(raw) > 1:
            parts = recover_merge(ranks, raw, e["rank"])
            if len(parts) == 2:
                merges.append(" ".join("".join(enc[b] for b in p) for p in parts))
    return tokens, types, merges


def random_k_blocks(rng, rows, cols, qtype, scale):
    """Random blocks of a K-quant type with every f16 scale field set to `scale`-sized values."""
    block_elems, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
    blocks = rows * cols // block_elems
    raw = rng.integers(0, 256, size=(blocks, block_bytes), dtype=np.uint8)
    def set_half(offset, values):
        raw[:, offset:offset + 2] = values.astype(np.float16).view(np.uint8).reshape(blocks, 2)
    if qtype == gguf.GGMLQuantizationType.Q4_K:  # d, dmin, scales[12], qs[128]
        set_half(0, rng.uniform(0.5, 1.5, blocks) * scale)
        set_half(2, rng.uniform(0.0, 0.5, blocks) * scale)
    elif qtype == gguf.GGMLQuantizationType.Q6_K:  # ql[128], qh[64], scales[16] (int8), d
        set_half(208, rng.uniform(0.5, 1.5, blocks) * scale)
    else:
        raise ValueError(qtype)
    return raw.reshape(rows, cols // block_elems * block_bytes)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--tekken", help="tekken.json (default: the one mistral-common ships)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--full-width", action="store_true", help="Magistral Small 1.2's own widths")
    p.add_argument("--layers", type=int, default=LAYERS, help=f"number of layers (default {LAYERS})")
    args = p.parse_args()
    if args.full_width:
        globals().update(FULL_WIDTH)
    if not 1 <= args.layers <= 40:
        raise SystemExit("make-magistral-shaped-gguf: --layers must be from 1 to 40")
    globals()["LAYERS"] = args.layers
    tekken = args.tekken
    if tekken is None:
        import mistral_common
        tekken = os.path.join(os.path.dirname(mistral_common.__file__), "data", "tekken_240911.json")
    rng = np.random.default_rng(args.seed)
    tokens, types, merges = tekken_vocabulary(tekken)

    w = gguf.GGUFWriter(args.out, "llama")
    w.add_name("Magistral-shaped test model (random weights)")
    w.add_block_count(LAYERS)
    w.add_context_length(131072)
    w.add_embedding_length(HIDDEN)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_key_length(HEAD_SIZE)
    w.add_value_length(HEAD_SIZE)
    w.add_rope_dimension_count(HEAD_SIZE)
    w.add_rope_freq_base(1e9)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(VOCAB)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_K_M)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("tekken")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_pad_token_id(11)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)

    Q4_K, Q6_K, Q8_0 = gguf.GGMLQuantizationType.Q4_K, gguf.GGMLQuantizationType.Q6_K, gguf.GGMLQuantizationType.Q8_0
    f32 = lambda n: (1 + 0.1 * rng.standard_normal(n)).astype(np.float32)
    embedding = (0.5 * rng.standard_normal((VOCAB, HIDDEN))).astype(np.float32)
    w.add_tensor("token_embd.weight", gguf.quants.quantize(embedding, Q8_0), raw_dtype=Q8_0)
    for i in range(LAYERS):
        b = f"blk.{i}."
        w.add_tensor(b + "attn_norm.weight", f32(HIDDEN))
        w.add_tensor(b + "attn_q.weight", random_k_blocks(rng, HEADS * HEAD_SIZE, HIDDEN, Q4_K, 6e-5), raw_dtype=Q4_K)
        w.add_tensor(b + "attn_k.weight", random_k_blocks(rng, KV_HEADS * HEAD_SIZE, HIDDEN, Q4_K, 6e-5), raw_dtype=Q4_K)
        w.add_tensor(b + "attn_v.weight", random_k_blocks(rng, KV_HEADS * HEAD_SIZE, HIDDEN, Q4_K, 6e-5), raw_dtype=Q4_K)
        w.add_tensor(b + "attn_output.weight", random_k_blocks(rng, HIDDEN, HEADS * HEAD_SIZE, Q4_K, 6e-5), raw_dtype=Q4_K)
        w.add_tensor(b + "ffn_norm.weight", f32(HIDDEN))
        w.add_tensor(b + "ffn_gate.weight", random_k_blocks(rng, FFN, HIDDEN, Q4_K, 6e-5), raw_dtype=Q4_K)
        w.add_tensor(b + "ffn_up.weight", random_k_blocks(rng, FFN, HIDDEN, Q4_K, 6e-5), raw_dtype=Q4_K)
        w.add_tensor(b + "ffn_down.weight", random_k_blocks(rng, HIDDEN, FFN, Q6_K, 1.5e-5), raw_dtype=Q6_K)
    w.add_tensor("output_norm.weight", f32(HIDDEN))
    w.add_tensor("output.weight", random_k_blocks(rng, VOCAB, HIDDEN, Q6_K, 1.5e-4), raw_dtype=Q6_K)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"{args.out}: {len(tokens)} tokens, {len(merges)} merges", file=sys.stderr)


if __name__ == "__main__":
    main()
