// Internal definitions shared by the scalar, x86 and NEON kernels: the ggml block layouts
// (each written once, with its size checked by a formula), exact FP16 conversion, and the
// per-ISA kernel table used by the run-time dispatcher.
#ifndef MAGI_INTERNAL_H
#define MAGI_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "MagiKernels.h"

// Dequantization must be bit-exact with ggml/gguf, which computes e.g. `d * q - m` as a rounded
// product followed by a rounded difference; never let the compiler fuse these into an FMA.
#pragma STDC FP_CONTRACT OFF

typedef uint16_t magi_half; // IEEE binary16 bits

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK_K 256
#define K_SCALE_SIZE 12

typedef struct {
    magi_half d;           // scale
    uint8_t qs[QK4_0 / 2]; // nibbles: low nibble of qs[j] is element j, high nibble element j+16
} block_q4_0;
_Static_assert(sizeof(block_q4_0) == sizeof(magi_half) + QK4_0 / 2, "wrong q4_0 block size");

typedef struct {
    magi_half d; // scale
    magi_half m; // minimum
    uint8_t qs[QK4_1 / 2];
} block_q4_1;
_Static_assert(sizeof(block_q4_1) == 2 * sizeof(magi_half) + QK4_1 / 2, "wrong q4_1 block size");

typedef struct {
    magi_half d;
    uint8_t qh[4]; // bit j = 5th bit of element j
    uint8_t qs[QK5_0 / 2];
} block_q5_0;
_Static_assert(sizeof(block_q5_0) == sizeof(magi_half) + sizeof(uint32_t) + QK5_0 / 2, "wrong q5_0 block size");

typedef struct {
    magi_half d;
    magi_half m;
    uint8_t qh[4];
    uint8_t qs[QK5_1 / 2];
} block_q5_1;
_Static_assert(sizeof(block_q5_1) == 2 * sizeof(magi_half) + sizeof(uint32_t) + QK5_1 / 2, "wrong q5_1 block size");

typedef struct {
    magi_half d;
    int8_t qs[QK8_0];
} block_q8_0;
_Static_assert(sizeof(block_q8_0) == sizeof(magi_half) + QK8_0, "wrong q8_0 block size");

typedef struct {
    magi_half d; // scale
    magi_half s; // d * sum(qs)
    int8_t qs[QK8_1];
} block_q8_1;
_Static_assert(sizeof(block_q8_1) == 2 * sizeof(magi_half) + QK8_1, "wrong q8_1 block size");

// K-quants: super-blocks of QK_K = 256 values.
typedef struct {
    uint8_t scales[QK_K / 16]; // low nibble: scale, high nibble: min, per 16 values
    uint8_t qs[QK_K / 4];      // 2-bit quants
    magi_half d;
    magi_half dmin;
} block_q2_K;
_Static_assert(sizeof(block_q2_K) == 2 * sizeof(magi_half) + QK_K / 16 + QK_K / 4, "wrong q2_K block size");

typedef struct {
    uint8_t hmask[QK_K / 8]; // high bit (inverted sign of 4)
    uint8_t qs[QK_K / 4];    // low 2 bits
    uint8_t scales[12];      // 16 6-bit scales
    magi_half d;
} block_q3_K;
_Static_assert(sizeof(block_q3_K) == sizeof(magi_half) + QK_K / 4 + QK_K / 8 + 12, "wrong q3_K block size");

typedef struct {
    magi_half d;
    magi_half dmin;
    uint8_t scales[K_SCALE_SIZE]; // 8 6-bit scales and 8 6-bit mins
    uint8_t qs[QK_K / 2];
} block_q4_K;
_Static_assert(sizeof(block_q4_K) == 2 * sizeof(magi_half) + K_SCALE_SIZE + QK_K / 2, "wrong q4_K block size");

typedef struct {
    magi_half d;
    magi_half dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
} block_q5_K;
_Static_assert(sizeof(block_q5_K) == 2 * sizeof(magi_half) + K_SCALE_SIZE + QK_K / 2 + QK_K / 8, "wrong q5_K block size");

typedef struct {
    uint8_t ql[QK_K / 2];      // low 4 bits
    uint8_t qh[QK_K / 4];      // high 2 bits
    int8_t scales[QK_K / 16];  // 8-bit scales per 16 values
    magi_half d;
} block_q6_K;
_Static_assert(sizeof(block_q6_K) == sizeof(magi_half) + QK_K / 16 + 3 * QK_K / 4, "wrong q6_K block size");

typedef struct {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16]; // sum of each group of 16 quants
} block_q8_K;
_Static_assert(sizeof(block_q8_K) == sizeof(float) + QK_K + QK_K / 16 * sizeof(int16_t), "wrong q8_K block size");

// ---- exact scalar FP16 / BF16 conversion ----

static inline uint32_t magi_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float magi_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/// Exact binary16 -> binary32 (subnormals, infinities, NaN payloads preserved; NaNs made quiet
/// the way x86 F16C and ARM do).
static inline float magi_fp16_to_fp32_ref(magi_half h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    const uint32_t man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13) | (man ? 0x00400000u : 0u);
    } else if (exp != 0) {
        bits = sign | ((exp + 112u) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else {
        // subnormal: man * 2^-24, exactly representable in binary32
        const float v = (float)man * 5.9604644775390625e-08f;
        bits = sign | magi_f32_bits(v);
    }
    return magi_bits_f32(bits);
}

/// binary32 -> binary16, round to nearest even (as F16C with imm 0 and numpy's astype).
static inline magi_half magi_fp32_to_fp16_ref(float f) {
    const uint32_t x = magi_f32_bits(f);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (magi_half)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu)); // NaN (quiet)
    if (ax >= 0x477ff000u) return (magi_half)(sign | 0x7c00u); // rounds to >= 65520 -> inf
    if (ax < 0x38800000u) {
        // result is subnormal or zero: value / 2^-24 rounded to nearest even integer
        if (ax < 0x33000000u) return (magi_half)sign; // < 2^-25: rounds to zero (ties to even 0)
        const uint32_t e = ax >> 23;            // 102..112
        const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126 - e;         // 14..24
        uint32_t q = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1);
        const uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return (magi_half)(sign | q);
    }
    // normal: rebias exponent and round the 13 dropped mantissa bits
    uint32_t r = ax - 0x38000000u; // exponent - 112
    const uint32_t lsb = (r >> 13) & 1u;
    r += 0xfffu + lsb;
    return (magi_half)(sign | (r >> 13));
}

static inline float magi_bf16_to_fp32(uint16_t b) { return magi_bits_f32((uint32_t)b << 16); }

static inline int magi_nearest_int(float fval) {
    // round to nearest, ties to even (valid for |fval| <= 2^22), as ggml's nearest_int
    float val = fval + 12582912.f;
    int i;
    memcpy(&i, &val, sizeof(int));
    return (i & 0x007fffff) - 0x00400000;
}

/// Unpacks the 8 6-bit scales and 8 6-bit mins of a Q4_K/Q5_K block.
static inline void magi_unpack_k4_scales(const uint8_t *s, uint8_t sc[8], uint8_t mn[8]) {
    for (int k = 0; k < 4; ++k) {
        sc[k] = s[k] & 63;
        mn[k] = s[k + 4] & 63;
        sc[k + 4] = (uint8_t)((s[k + 8] & 0xF) | ((s[k] >> 6) << 4));
        mn[k + 4] = (uint8_t)((s[k + 8] >> 4) | ((s[k + 4] >> 6) << 4));
    }
}

/// Same as magi_unpack_k4_scales on 32-bit words: out[0..1] = scales, out[2..3] = mins (bytes).
static inline void magi_unpack_k4_scales_u32(const uint8_t *s, uint32_t out[4]) {
    uint32_t u[3];
    memcpy(u, s, 12);
    out[0] = u[0] & 0x3f3f3f3fu;
    out[1] = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
    out[2] = u[1] & 0x3f3f3f3fu;
    out[3] = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
}

/// Unpacks the 16 6-bit Q3_K scales (still offset by 32).
static inline void magi_unpack_q3_scales(const uint8_t *s, uint8_t out[16]) {
    for (int k = 0; k < 16; ++k) {
        const uint8_t lo = (k < 8) ? (s[k] & 0xF) : (s[k - 8] >> 4);
        const uint8_t hi = (s[8 + (k & 3)] >> (2 * (k >> 2))) & 3;
        out[k] = (uint8_t)(lo | (hi << 4));
    }
}

// ---- kernel table ----

/// Computes out[r] = dot(row r, activation) for r in [0, nrows); rows are `row_bytes` apart.
typedef void (*magi_rows_fn)(int64_t n, const void *w, size_t row_bytes, int64_t nrows,
                             const void *act, float *out);

/// out[j * ldo + r] (+)= dot(row r, activation j) for r < nrows, j < nact: activations `act_stride` bytes
/// apart in magi_vec_dot_type format. Reads each weight block once for a tile of activations and
/// gives, per (row, activation), exactly the result of the same ISA's magi_rows_fn.
typedef void (*magi_rows_batch_fn)(int64_t n, const void *w, size_t row_bytes, int64_t nrows, const void *act,
                                   size_t act_stride, int64_t nact, float *out, int64_t ldo, int accumulate);

/// Rows of one gemm panel, and bytes of one packed group of G values in it: int32 corr[16],
/// float d[16], float m[16], int8 q[G/4][16][4].
#define MAGI_GEMM_ROWS 16
#define MAGI_GEMM_GROUP_BYTES(G) (192 + 16 * (size_t)(G))

/// y[j * ldy + r] (+)= for r < rows, j < n: one packed panel times `n` quantized activation rows,
/// added to y when `accumulate` is set.
typedef void (*magi_gemm_panel_fn)(const uint8_t *panel, int64_t k, int group, int has_min, const uint8_t *act,
                                   size_t act_stride, int64_t n, float *y, int64_t ldy, int rows, int accumulate);
/// One activation row in the gemm format: float d[k/G], float s[k/G] (d·Σq), uint8 q + 128.
typedef void (*magi_gemm_quantize_fn)(const float *x, int64_t k, int group, uint8_t *dst);

typedef struct {
    const char *name;
    magi_rows_fn rows[31]; // indexed by weight type; NULL = use scalar
    magi_rows_batch_fn rows_batch[31]; // indexed by weight type; NULL = one `rows` call per activation
    float (*dot_f32)(int64_t n, const float *a, const float *b);
    void (*axpy_f32)(int64_t n, float alpha, const float *x, float *y);
    void (*axpy_f16)(int64_t n, float alpha, const magi_half *x, float *y);
    void (*f32_to_f16)(int64_t n, const float *x, magi_half *y);
    void (*dequant_f16)(const magi_half *src, float *dst, int64_t n); // NULL = scalar
    void (*softmax)(int64_t n, float *x);
    void (*swiglu)(int64_t n, float *gate, const float *up);
    void (*weighted_sum_f16)(const void *rows, size_t row_bytes, int64_t n, int64_t width, const float *w, float *out);
    void (*weighted_sum_f32)(const void *rows, size_t row_bytes, int64_t n, int64_t width, const float *w, float *out);
    void (*weighted_sum_q8_0)(const void *rows, size_t row_bytes, int64_t n, int64_t width, const float *w, float *out);
    magi_gemm_panel_fn gemm_panel;
    magi_gemm_quantize_fn gemm_quantize;
    int gemm_fast; // gemm_panel beats dequantize + float GEMM
} magi_kernel_table;

/// The kernel table in use (initialising the dispatcher on first use).
const magi_kernel_table *magi_active_table(void);
size_t magi_gemm_act_row_bytes(int group, int64_t k);
void magi_gemm_panel_scalar(const uint8_t *panel, int64_t k, int group, int has_min, const uint8_t *act,
                            size_t act_stride, int64_t n, float *y, int64_t ldy, int rows, int accumulate);
void magi_gemm_quantize_scalar(const float *x, int64_t k, int group, uint8_t *dst);

void magi_init_scalar_table(magi_kernel_table *t);
float magi_vec_dot_scalar(int type, int64_t n, const void *w, const void *act);
void magi_dequantize_scalar(int type, const void *src, float *dst, int64_t n);

#if defined(__x86_64__) || defined(__i386__)
void magi_init_avx2_table(magi_kernel_table *t);
void magi_init_avx512_table(magi_kernel_table *t);
void magi_init_avx512vnni_table(magi_kernel_table *t);
void magi_init_gemm_avx512vnni(magi_kernel_table *t);
void magi_init_gemm_avx2(magi_kernel_table *t);
void magi_init_matvec_batch_avx2(magi_kernel_table *t);
#endif
#if defined(__aarch64__)
void magi_init_neon_table(magi_kernel_table *t);
#endif

#endif
