#!/usr/bin/env python3
"""Exact-model reference for magi: a float64 forward pass of a llama-architecture
GGUF model, written as a llama.cpp KL-divergence base file.

The weights are dequantized once to float64 and every operation after that runs
in float64, so the result is "the model the GGUF file describes", free of the
float32/float16 rounding of any engine. The output file has the format that
`llama-perplexity --kl-divergence-base F` writes, so any engine can be compared
against it with

    llama-perplexity -m MODEL --kl-divergence-base OUT --kl-divergence

Token windows follow llama-perplexity exactly: the token stream is cut into
non-overlapping windows of n_ctx tokens (n_chunk = len(tokens) // n_ctx, capped
by --chunks; at least 2*n_ctx tokens are needed), the first token of a window is
replaced by BOS only when the vocabulary adds BOS, and the scored positions of a
window are first = n_ctx/2 ... n_ctx-2, each predicting the next token.

File format (llama.cpp tools/perplexity/perplexity.cpp, kl_divergence()):
    char[8]  "_logits_"
    uint32   n_ctx
    int32    n_vocab
    int32    n_chunk
    int32    tokens[n_chunk * n_ctx]          (original tokens, no BOS substitution)
    per chunk, per scored position (n_ctx - 1 - n_ctx/2 of them):
        uint16 rec[nv], nv = 2*((n_vocab+1)/2) + 4
        rec[0:2] = float32 scale, rec[2:4] = float32 min_log_prob,
        rec[4+i] = code_i, log p_i ~= scale*code_i + min_log_prob,
        where min_log_prob = max(min log p, max log p - 16),
              scale = (max log p - min_log_prob) / 65535,
              code_i = round((log p_i - min_log_prob)/scale), 0 below min_log_prob.

Tokens come from --tokens FILE (JSON array of ids; `-` = stdin; an object with a
"tokens" or "ids" array is accepted too, e.g. from `magi tokenize --json`), or
from --text FILE, tokenized with llama.cpp's llama-tokenize the way
llama-perplexity -f does it (one trailing newline dropped, no escape processing,
special tokens not parsed, BOS added only if the vocab says so).

Needs: numpy, gguf (pip install numpy gguf; see scripts/setup-python).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args():
    p = argparse.ArgumentParser(
        description="float64 exact-model log-probs in llama.cpp KL-divergence base format")
    p.add_argument("-m", "--model", required=True, help="GGUF model (llama architecture)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--tokens", metavar="FILE",
                     help="JSON array of token ids (the whole stream, BOS included if the vocab adds it); - = stdin")
    src.add_argument("--text", metavar="FILE",
                     help="text file, tokenized with llama-tokenize like llama-perplexity -f")
    p.add_argument("-c", "--ctx", type=int, default=512, help="window size n_ctx (default 512)")
    p.add_argument("--chunks", type=int, default=-1, help="score only the first N windows (default: all)")
    p.add_argument("-o", "--out", metavar="OUT", help="write the KL-divergence base file here")
    p.add_argument("--llama-tokenize", metavar="PATH",
                   help="llama-tokenize binary (default: $MAGI_LLAMA_BIN, <scratch>/llama.cpp/build/bin, PATH)")
    p.add_argument("--save-tokens", metavar="FILE", help="also write the token ids used as a JSON array")
    p.add_argument("-t", "--threads", type=int, default=None,
                   help="BLAS threads (default: $OPENBLAS_NUM_THREADS or the CPU count)")
    p.add_argument("-q", "--quiet", action="store_true", help="only print the final perplexity line")
    return p.parse_args()


ARGS = parse_args()
# BLAS threads must be set before numpy is imported.
_threads = str(ARGS.threads) if ARGS.threads else os.environ.get("OPENBLAS_NUM_THREADS") or str(os.cpu_count() or 1)
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    if ARGS.threads or _v not in os.environ:
        os.environ[_v] = _threads

import numpy as np  # noqa: E402
import gguf  # noqa: E402


def log(*a):
    if not ARGS.quiet:
        print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- GGUF ----

class Model:
    def __init__(self, path):
        self.r = gguf.GGUFReader(path)
        self.tensors = {t.name: t for t in self.r.tensors}
        arch = self.field("general.architecture")
        if arch != "llama":
            raise SystemExit(f"exact-logits: architecture {arch!r} not supported (llama only)")
        self.arch = arch
        A = arch + "."
        self.n_layer = int(self.field(A + "block_count"))
        self.n_embd = int(self.field(A + "embedding_length"))
        self.n_ff = int(self.field(A + "feed_forward_length"))
        self.n_head = int(self.field(A + "attention.head_count"))
        self.n_head_kv = int(self.field(A + "attention.head_count_kv", self.n_head))
        self.head_dim_k = int(self.field(A + "attention.key_length", self.n_embd // self.n_head))
        self.head_dim_v = int(self.field(A + "attention.value_length", self.n_embd // self.n_head))
        self.eps = float(self.field(A + "attention.layer_norm_rms_epsilon"))
        self.rope_base = float(self.field(A + "rope.freq_base", 10000.0))
        self.n_rot = int(self.field(A + "rope.dimension_count", self.head_dim_k))
        scale = self.field(A + "attention.scale", 0.0)
        self.kq_scale = float(scale) if scale else 1.0 / np.sqrt(self.head_dim_k)
        self.freq_scale = 1.0
        rs_type = self.field(A + "rope.scaling.type", "none")
        rs_factor = float(self.field(A + "rope.scaling.factor", 0.0) or 0.0)
        if rs_type == "linear" and rs_factor:
            self.freq_scale = 1.0 / rs_factor
        elif rs_type not in ("none", "linear") and rs_factor and rs_factor != 1.0:
            raise SystemExit(f"exact-logits: rope scaling {rs_type!r} not supported")
        if self.field(A + "expert_count", 0):
            raise SystemExit("exact-logits: MoE models not supported")
        tokens = self.r.fields["tokenizer.ggml.tokens"]
        self.n_vocab = len(tokens.data)
        tok_model = self.field("tokenizer.ggml.model", "")
        # llama.cpp's default when the key is absent: SPM/WPM/UGM add BOS, BPE does not
        self.add_bos = bool(self.field("tokenizer.ggml.add_bos_token", tok_model in ("llama", "bert", "t5")))
        self.bos_id = self.field("tokenizer.ggml.bos_token_id", None)
        if self.add_bos and self.bos_id is None:
            raise SystemExit("exact-logits: vocab adds BOS but has no bos_token_id")
        if self.field("tokenizer.ggml.add_eos_token", False):
            raise SystemExit("exact-logits: vocab adds EOS (llama-perplexity refuses such models too)")
        self.tied = "output.weight" not in self.tensors

    def field(self, key, default=KeyError):
        f = self.r.fields.get(key)
        if f is None:
            if default is KeyError:
                raise SystemExit(f"exact-logits: GGUF metadata key {key!r} missing")
            return default
        return f.contents()

    def has(self, name):
        return name in self.tensors

    def weight(self, name):
        """Tensor as float64, numpy shape = reversed ggml ne (rows = ne1)."""
        t = self.tensors[name]
        return dequantize64(t)


_F16 = np.dtype("<f2")


def dequantize64(t):
    qt = t.tensor_type
    Q = gguf.GGMLQuantizationType
    shape = tuple(int(x) for x in reversed([int(v) for v in t.shape]))
    data = np.asarray(t.data)
    if qt in (Q.F32, Q.F16, Q.F64):
        return data.astype(np.float64).reshape(shape)
    raw = data.view(np.uint8).reshape(-1)
    # The simple block formats are decoded here in float64 so that d*q + m is
    # exact; gguf.quants computes in float32, which can round the sum.
    if qt == Q.Q8_0:
        b = raw.reshape(-1, 34)
        d = b[:, :2].copy().view(_F16).astype(np.float64)
        q = b[:, 2:].copy().view(np.int8).astype(np.float64)
        return (d * q).reshape(shape)
    if qt in (Q.Q4_0, Q.Q4_1):
        bs = 18 if qt == Q.Q4_0 else 20
        b = raw.reshape(-1, bs)
        d = b[:, :2].copy().view(_F16).astype(np.float64)
        qs = b[:, bs - 16:]
        q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float64)
        if qt == Q.Q4_0:
            return (d * (q - 8.0)).reshape(shape)
        m = b[:, 2:4].copy().view(_F16).astype(np.float64)
        return (d * q + m).reshape(shape)
    # everything else: gguf's reference dequantizer (float32 arithmetic)
    return gguf.quants.dequantize(data, qt).astype(np.float64).reshape(shape)


# ---------------------------------------------------------- forward pass ----

class Forward:
    def __init__(self, m: Model):
        self.m = m
        t0 = time.time()
        W = m.weight
        opt = lambda n: W(n) if m.has(n) else None  # noqa: E731
        self.tok_embd = W("token_embd.weight")                      # [n_vocab, n_embd]
        self.out_norm = W("output_norm.weight")
        self.output = self.tok_embd if m.tied else W("output.weight")
        if self.output.shape != (m.n_vocab, m.n_embd):
            raise SystemExit(f"exact-logits: output shape {self.output.shape} != ({m.n_vocab}, {m.n_embd})")
        self.rope_freqs = opt("rope_freqs.weight")
        self.layers = []
        for i in range(m.n_layer):
            p = f"blk.{i}."
            L = {
                "attn_norm": W(p + "attn_norm.weight"),
                # fused QKV projection, transposed for x @ W
                "wqkv": np.concatenate([W(p + "attn_q.weight"), W(p + "attn_k.weight"),
                                        W(p + "attn_v.weight")], axis=0).T.copy(),
                "bqkv": None,
                "wo": W(p + "attn_output.weight").T.copy(),
                "bo": opt(p + "attn_output.bias"),
                "ffn_norm": W(p + "ffn_norm.weight"),
                "wgu": np.concatenate([W(p + "ffn_gate.weight"), W(p + "ffn_up.weight")], axis=0).T.copy(),
                "wd": W(p + "ffn_down.weight").T.copy(),
            }
            if m.has(p + "attn_q.bias"):
                L["bqkv"] = np.concatenate([opt(p + "attn_q.bias"), opt(p + "attn_k.bias"),
                                            opt(p + "attn_v.bias")])
            self.layers.append(L)
        self.output_T = self.output.T.copy()                         # [n_embd, n_vocab]
        log(f"exact-logits: loaded {m.n_layer} layers, n_embd={m.n_embd}, n_head={m.n_head}/{m.n_head_kv}, "
            f"head_dim={m.head_dim_k}, n_ff={m.n_ff}, n_vocab={m.n_vocab}, rope base={m.rope_base:g} "
            f"n_rot={m.n_rot}, eps={m.eps:g}, tied={m.tied}, add_bos={m.add_bos} "
            f"({time.time() - t0:.1f} s)")

    def rms_norm(self, x, w):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.m.eps) * w

    def rope_tables(self, n):
        """cos/sin [n, n_rot/2] for llama.cpp's normal (adjacent-pair) rope."""
        m = self.m
        i = np.arange(m.n_rot // 2, dtype=np.float64)
        inv = m.rope_base ** (-2.0 * i / m.n_rot)
        if self.rope_freqs is not None:
            inv = inv / self.rope_freqs[: m.n_rot // 2]
        pos = np.arange(n, dtype=np.float64) * m.freq_scale
        ang = pos[:, None] * inv[None, :]
        return np.cos(ang), np.sin(ang)

    def rope(self, x, cos, sin):
        """x: [n_h, n, hd]; rotate pairs (2i, 2i+1) for 2i < n_rot."""
        nr = self.m.n_rot
        y = x.copy()
        x0 = x[..., 0:nr:2]
        x1 = x[..., 1:nr:2]
        y[..., 0:nr:2] = x0 * cos - x1 * sin
        y[..., 1:nr:2] = x0 * sin + x1 * cos
        return y

    def logprobs(self, tokens, first):
        """float64 log-softmax rows for positions first .. n-2 of one window."""
        m = self.m
        n = len(tokens)
        nh, nkv, hd, hv = m.n_head, m.n_head_kv, m.head_dim_k, m.head_dim_v
        grp = nh // nkv
        x = self.tok_embd[np.asarray(tokens, dtype=np.int64)]        # [n, n_embd]
        cos, sin = self.rope_tables(n)
        mask = np.triu(np.full((n, n), -np.inf), k=1)
        nq, nk = nh * hd, nkv * hd
        for L in self.layers:
            h = self.rms_norm(x, L["attn_norm"])
            qkv = h @ L["wqkv"]
            if L["bqkv"] is not None:
                qkv += L["bqkv"]
            q = qkv[:, :nq].reshape(n, nh, hd).transpose(1, 0, 2)
            k = qkv[:, nq:nq + nk].reshape(n, nkv, hd).transpose(1, 0, 2)
            v = qkv[:, nq + nk:].reshape(n, nkv, hv).transpose(1, 0, 2)
            q = self.rope(q, cos, sin)
            k = self.rope(k, cos, sin)
            # GQA: query head j uses kv head j // grp
            qg = q.reshape(nkv, grp * n, hd)
            s = (qg @ k.transpose(0, 2, 1)).reshape(nkv, grp, n, n) * m.kq_scale + mask
            s -= s.max(axis=-1, keepdims=True)
            np.exp(s, out=s)
            s /= s.sum(axis=-1, keepdims=True)
            o = (s.reshape(nkv, grp * n, n) @ v).reshape(nh, n, hv)
            o = o.transpose(1, 0, 2).reshape(n, nh * hv)
            a = o @ L["wo"]
            if L["bo"] is not None:
                a += L["bo"]
            x = x + a
            h = self.rms_norm(x, L["ffn_norm"])
            gu = h @ L["wgu"]
            g, u = gu[:, :m.n_ff], gu[:, m.n_ff:]
            x = x + ((g / (1.0 + np.exp(-g))) * u) @ L["wd"]
        h = self.rms_norm(x[first:n - 1], self.out_norm)
        logits = h @ self.output_T                                   # [n-1-first, n_vocab]
        mx = logits.max(axis=-1, keepdims=True)
        lse = np.log(np.exp(logits - mx).sum(axis=-1, keepdims=True))
        return logits - mx - lse


# ----------------------------------------------------------- file format ----

def encode_logprobs(lp, n_vocab):
    """Rows of float64 log-probs -> uint16 records as llama.cpp's log_softmax() writes them."""
    nv = 2 * ((n_vocab + 1) // 2) + 4
    rows = lp.shape[0]
    rec = np.zeros((rows, nv), dtype=np.uint16)
    mx = lp.max(axis=1)
    mn = np.maximum(lp.min(axis=1), mx - 16.0)
    scale32 = ((mx - mn) / 65535.0).astype(np.float32)
    min32 = mn.astype(np.float32)
    head = np.zeros((rows, 2), dtype=np.float32)
    head[:, 0] = scale32
    head[:, 1] = min32
    rec[:, :4] = head.view(np.uint16)
    sc = scale32.astype(np.float64)[:, None]
    ok = sc[:, 0] > 0
    # codes against the stored (float32) scale/min so that scale*code+min is
    # the closest representable value to the exact log-prob
    with np.errstate(divide="ignore", invalid="ignore"):
        codes = np.rint((lp - min32.astype(np.float64)[:, None]) / np.where(sc > 0, sc, 1.0))
    codes = np.clip(codes, 0, 65535)
    codes[lp <= mn[:, None]] = 0
    codes[~ok] = 0
    rec[:, 4:4 + n_vocab] = codes.astype(np.uint16)
    return rec


# --------------------------------------------------------------- tokens ----

def find_llama_tokenize():
    if ARGS.llama_tokenize:
        return ARGS.llama_tokenize
    cands = []
    if os.environ.get("MAGI_LLAMA_BIN"):
        cands.append(os.path.join(os.environ["MAGI_LLAMA_BIN"], "llama-tokenize"))
    scratch = os.environ.get("MAGI_SCRATCH", os.path.join(REPO, ".scratch"))
    cands.append(os.path.join(scratch, "llama.cpp", "build", "bin", "llama-tokenize"))
    for c in cands:
        if os.access(c, os.X_OK):
            return c
    return shutil.which("llama-tokenize")


def load_tokens():
    if ARGS.tokens:
        raw = sys.stdin.read() if ARGS.tokens == "-" else open(ARGS.tokens).read()
        obj = json.loads(raw)
        if isinstance(obj, dict):
            for k in ("tokens", "ids", "token_ids"):
                if k in obj:
                    obj = obj[k]
                    break
            else:
                raise SystemExit("exact-logits: --tokens JSON object has no tokens/ids array")
        return [int(t) for t in obj]
    exe = find_llama_tokenize()
    if not exe:
        raise SystemExit("exact-logits: llama-tokenize not found (run scripts/build-llamacpp, "
                         "or pass --tokens FILE with ids from another tokenizer)")
    with open(ARGS.text, "rb") as f:
        text = f.read()
    if text.endswith(b"\n"):          # llama-perplexity -f drops one trailing newline
        text = text[:-1]
    cmd = [exe, "-m", ARGS.model, "--stdin", "--ids", "--no-escape", "--no-parse-special", "--log-disable"]
    log("exact-logits: tokenizing with", " ".join(cmd))
    out = subprocess.run(cmd, input=text, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if out.returncode != 0:
        raise SystemExit("exact-logits: llama-tokenize failed:\n" + out.stderr.decode(errors="replace"))
    s = out.stdout.decode()
    return [int(t) for t in json.loads(s[s.index("["): s.rindex("]") + 1])]


# ----------------------------------------------------------------- main ----

def main():
    m = Model(ARGS.model)
    tokens = load_tokens()
    if ARGS.save_tokens:
        with open(ARGS.save_tokens, "w") as f:
            json.dump(tokens, f)
    n_ctx = ARGS.ctx
    if n_ctx < 4:
        raise SystemExit("exact-logits: --ctx too small")
    if len(tokens) < 2 * n_ctx:
        raise SystemExit(f"exact-logits: need at least {2 * n_ctx} tokens for n_ctx={n_ctx} "
                         f"(llama-perplexity's rule); got {len(tokens)}")
    bad = [t for t in tokens if not 0 <= t < m.n_vocab]
    if bad:
        raise SystemExit(f"exact-logits: token id {bad[0]} outside vocab of {m.n_vocab}")
    n_chunk_max = len(tokens) // n_ctx
    n_chunk = n_chunk_max if ARGS.chunks < 0 else min(ARGS.chunks, n_chunk_max)
    first = n_ctx // 2
    n_scored = n_ctx - 1 - first
    log(f"exact-logits: {len(tokens)} tokens, n_ctx={n_ctx}, {n_chunk} of {n_chunk_max} chunks, "
        f"{n_scored} scored positions per chunk, BLAS threads={os.environ.get('OPENBLAS_NUM_THREADS')}")

    fw = Forward(m)
    out = None
    if ARGS.out:
        out = open(ARGS.out, "wb")
        out.write(b"_logits_")
        out.write(np.array([n_ctx], dtype="<u4").tobytes())
        out.write(np.array([m.n_vocab, n_chunk], dtype="<i4").tobytes())
        out.write(np.asarray(tokens[: n_chunk * n_ctx], dtype="<i4").tobytes())

    nll = nll2 = 0.0
    count = 0
    t_all = time.time()
    for c in range(n_chunk):
        t0 = time.time()
        win = list(tokens[c * n_ctx:(c + 1) * n_ctx])
        if m.add_bos:
            win[0] = m.bos_id
        lp = fw.logprobs(win, first)
        targets = np.asarray(win[first + 1:], dtype=np.int64)
        # the targets are the original tokens (BOS substitution only affects position 0)
        v = -lp[np.arange(n_scored), targets]
        nll += float(v.sum())
        nll2 += float((v * v).sum())
        count += n_scored
        if out:
            out.write(encode_logprobs(lp, m.n_vocab).tobytes())
        log(f"[{c + 1}/{n_chunk}] ppl so far {np.exp(nll / count):.4f}  ({time.time() - t0:.1f} s)")
    if out:
        out.close()
    mean = nll / count
    var = nll2 / count - mean * mean
    unc = np.sqrt(var / (count - 1)) * np.exp(mean) if var > 0 and count > 1 else 0.0
    dt = time.time() - t_all
    print(f"exact-logits: PPL = {np.exp(mean):.6f} +/- {unc:.5f}  (chunks={n_chunk}, n_ctx={n_ctx}, "
          f"scored={count}, mean NLL={mean:.8f}, {dt:.1f} s, {dt / n_chunk:.1f} s/window)"
          + (f" -> {ARGS.out}" if ARGS.out else ""))


if __name__ == "__main__":
    main()
