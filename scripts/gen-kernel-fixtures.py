#!/usr/bin/env python3
"""Generates Tests/MagiKernelsTests/Fixtures/kernels.bin: deterministic reference data for the
MagiKernels tests, produced with the `gguf` Python package (gguf.quants) and numpy.

For every tensor type the file holds a matrix of `rows` rows of `blocks_per_row` blocks:
  * the raw ggml blocks. The _0/_1 types mix blocks made by gguf.quants.quantize from random
    floats with blocks of random bytes (sane fp16 scales); K-quants are random bytes with sane
    fp16 scale fields (finite, some subnormal), so every bit pattern of the quant bits occurs;
  * gguf.quants.dequantize's float32 output: in full for the first `nfull` checking units, and
    as a 64-bit FNV-1a hash of the float32 bytes for every unit (a block, or 40 values for the
    float types) to keep the file small;
  * the float64 exact dot product (math.fsum of exact products) of every dequantized row with
    an activation vector. The activation is not stored: both this script and the Swift tests
    generate it with splitmix64 (see `activation`), and every value is exact in float32.

Layout (little endian):
  "MAGIFIX1", u32 record count, then per record:
  u32 type, u32 block_elems, u32 block_bytes, u32 rows, u32 blocks_per_row, u32 unit_elems,
  u32 nfull, u64 activation seed,
  raw bytes (rows*blocks_per_row*block_bytes), u64 hashes (one per unit),
  f32 full values (nfull*unit_elems), f64 dots (rows).

Usage: python3 scripts/gen-kernel-fixtures.py [output path]
"""
import math
import os
import struct
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants
from gguf.constants import GGML_QUANT_SIZES

MASK64 = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)


def activation(seed, n):
    """x = ((u >> 40) / 2^23 - 1) * 2^((u & 7) - 4): exact in float32, in [-8, 8)."""
    g = SplitMix64(seed)
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        u = g.next()
        v = (u >> 40) * 2.0**-23 - 1.0
        out[i] = v * 2.0 ** ((u & 7) - 4)
    return out


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & MASK64
    return h


def sane_f16(rng, n, signed=True, lo=-14.0, hi=-3.0, subnormal_frac=0.05):
    """fp16 scales: |d| log-uniform in [2^lo, 2^hi] plus a few subnormals; never NaN/inf."""
    mag = 2.0 ** rng.uniform(lo, hi, size=n)
    sub = rng.random(n) < subnormal_frac
    mag[sub] = rng.integers(1, 1024, size=sub.sum()) * 2.0**-24
    if signed:
        mag *= np.where(rng.random(n) < 0.2, -1.0, 1.0)
    return mag.astype(np.float16).view(np.uint16)


# offsets of fp16 scale fields inside each block
F16_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}


def random_blocks(rng, qtype, nblocks):
    _, bsize = GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(nblocks, bsize), dtype=np.uint8)
    for off in F16_FIELDS[qtype]:
        # minimums (second field of _1 types, dmin of K-quants) may be of either sign
        raw[:, off:off + 2] = sane_f16(rng, nblocks).view(np.uint8).reshape(nblocks, 2)
    return raw


def make_type(qtype, rng):
    block_elems, block_bytes = GGML_QUANT_SIZES[qtype]
    if qtype in (T.F32, T.F16, T.BF16):
        rows, per_row = 15, 520  # 520: not a multiple of 16 or 32 (exercises SIMD tails)
        n = rows * per_row
        if qtype == T.F32:
            vals = (rng.standard_normal(n) * 2.0 ** rng.integers(-8, 8, size=n)).astype(np.float32)
            raw = vals.view(np.uint8).reshape(n, 4)
        elif qtype == T.F16:
            bits = rng.integers(0, 0x7C00, size=n, dtype=np.uint16)  # every finite magnitude
            bits |= (rng.random(n) < 0.5).astype(np.uint16) << 15
            raw = bits.view(np.uint8).reshape(n, 2)
        else:
            vals = (rng.standard_normal(n) * 2.0 ** rng.integers(-30, 30, size=n)).astype(np.float32)
            raw = quants.quantize(vals, T.BF16).view(np.uint8).reshape(n, 2)
        unit = 40  # hashing unit: 13 per row
    else:
        if block_elems == 32:
            rows, per_row = 15, 33  # odd blocks per row: exercises the 2-blocks-per-register tail
        else:
            rows, per_row = 15, 17
        nblocks = rows * per_row
        raw = random_blocks(rng, qtype, nblocks)
        if qtype in (T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0):
            # half of the blocks quantized by gguf from random floats (varied scales/offsets)
            nq = nblocks // 2
            x = rng.standard_normal((nq, block_elems)) * 2.0 ** rng.integers(-6, 3, size=(nq, 1))
            x += rng.standard_normal((nq, 1)) * (rng.random((nq, 1)) < 0.5)
            x[0] = 0.0  # an all-zero block (d = 0)
            x = x.astype(np.float32)
            q = quants.quantize(x, qtype).reshape(nq, block_bytes)
            pick = rng.permutation(nblocks)[:nq]
            raw[pick] = q
        raw = raw.reshape(nblocks, block_bytes)
        unit = block_elems
    raw = np.ascontiguousarray(raw, dtype=np.uint8)
    deq = quants.dequantize(raw.reshape(-1), qtype).astype(np.float32).reshape(-1)
    assert np.all(np.isfinite(deq)), qtype.name
    n_total = deq.size
    cols = n_total // rows
    seed = 0x5EED0000 + int(qtype)
    act = activation(seed, cols).astype(np.float64)
    dots = []
    for r in range(rows):
        w = deq[r * cols:(r + 1) * cols].astype(np.float64)
        dots.append(math.fsum((w * act).tolist()))  # exact products in float64, exact sum
    units = deq.reshape(-1, unit)
    hashes = [fnv1a64(u.tobytes()) for u in units]
    nfull = min(8, units.shape[0])
    blocks_per_row = cols // block_elems
    header = struct.pack("<7IQ", int(qtype), block_elems, block_bytes, rows, blocks_per_row, unit, nfull, seed)
    body = raw.tobytes() + struct.pack(f"<{len(hashes)}Q", *hashes) + units[:nfull].astype("<f4").tobytes()
    body += struct.pack(f"<{rows}d", *dots)
    return header + body


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "Tests", "MagiKernelsTests", "Fixtures", "kernels.bin")
    types = [T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0,
             T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]
    rng = np.random.default_rng(20240601)
    records = [make_type(t, rng) for t in types]
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "wb") as f:
        f.write(b"MAGIFIX1" + struct.pack("<I", len(records)))
        for r in records:
            f.write(r)
    print(f"wrote {out}: {os.path.getsize(out)} bytes, {len(records)} types")


if __name__ == "__main__":
    main()
