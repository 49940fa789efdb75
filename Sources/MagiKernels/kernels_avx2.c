// AVX2 + FMA + F16C kernels (256-bit). Compiled for the baseline ISA; every function carries a
// target attribute and is only reached after the dispatcher checked the CPU.
#include "kernels_x86_common.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)

#define ROWS_FN(NAME, KERNEL)                                                                    \
    static MAGI_AVX2 void NAME(int64_t n, const void *w, size_t rb, int64_t nrows, const void *act, \
                     float *out) {                                                              \
        const uint8_t *p = (const uint8_t *)w;                                                  \
        int64_t r = 0;                                                                          \
        for (; r + 4 <= nrows; r += 4) {                                                        \
            if (r + 8 <= nrows) magi_prefetch(p + (size_t)(r + 4) * rb, 4 * rb);                \
            KERNEL(4, n, p + (size_t)r * rb, rb, act, out + r);                                 \
        }                                                                                       \
        for (; r < nrows; ++r) KERNEL(1, n, p + (size_t)r * rb, rb, act, out + r);              \
    }

#define ROWS1_FN(NAME, KERNEL)                                                                   \
    static MAGI_AVX2 void NAME(int64_t n, const void *w, size_t rb, int64_t nrows, const void *act, \
                     float *out) {                                                              \
        const uint8_t *p = (const uint8_t *)w;                                                  \
        for (int64_t r = 0; r < nrows; ++r) {                                                   \
            if (r + 1 < nrows) magi_prefetch(p + (size_t)(r + 1) * rb, rb);                     \
            KERNEL(1, n, p + (size_t)r * rb, rb, act, out + r);                                 \
        }                                                                                       \
    }

// ---- Q4_0 x Q8_0: sum (q-8)*a = maddubs(q, a) - maddubs(8, a), the second term shared ----
MAGI_INLINE MAGI_AVX2 void q4_0_avx2(const int R, int64_t n, const uint8_t *w, size_t rb,
                                     const void *act, float *out) {
    const block_q8_0 *y = act;
    const int64_t nb = n / QK8_0;
    const __m256i ones = _mm256_set1_epi16(1), eights = _mm256_set1_epi8(8);
    __m256 acc[4];
    for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        const __m256i a = _mm256_loadu_si256((const __m256i *)y[i].qs);
        const __m256i a8 = _mm256_maddubs_epi16(eights, a);
        const float da = magi_h2f(y[i].d);
        for (int r = 0; r < R; ++r) {
            const block_q4_0 *x = (const block_q4_0 *)(w + (size_t)r * rb) + i;
            const __m256i q = magi_nibbles256(x->qs);
            const __m256i p = _mm256_madd_epi16(_mm256_sub_epi16(_mm256_maddubs_epi16(q, a), a8), ones);
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(magi_h2f(x->d) * da), _mm256_cvtepi32_ps(p), acc[r]);
        }
    }
    for (int r = 0; r < R; ++r) out[r] = magi_hsum256_ps(acc[r]);
}
ROWS_FN(rows_q4_0_avx2, q4_0_avx2)

// ---- Q4_1 and Q5_1 x Q8_1: d*da*sum(q*a) + m*s, q unsigned (4 or 5 bits) ----
#define Q8_1_KERNEL(NAME, BLOCK, LOAD)                                                          \
    MAGI_INLINE MAGI_AVX2 void NAME(const int R, int64_t n, const uint8_t *w, size_t rb,        \
                                    const void *act, float *out) {                              \
        const block_q8_1 *y = act;                                                              \
        const int64_t nb = n / QK8_1;                                                           \
        const __m256i ones = _mm256_set1_epi16(1);                                              \
        __m256 acc[4];                                                                          \
        float summ[4];                                                                          \
        for (int r = 0; r < R; ++r) { acc[r] = _mm256_setzero_ps(); summ[r] = 0; }             \
        for (int64_t i = 0; i < nb; ++i) {                                                      \
            const __m256i a = _mm256_loadu_si256((const __m256i *)y[i].qs);                     \
            const float da = magi_h2f(y[i].d), sa = magi_h2f(y[i].s);                           \
            for (int r = 0; r < R; ++r) {                                                       \
                const BLOCK *x = (const BLOCK *)(w + (size_t)r * rb) + i;                       \
                const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(LOAD(x), a), ones);    \
                acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(magi_h2f(x->d) * da), _mm256_cvtepi32_ps(p), acc[r]); \
                summ[r] += magi_h2f(x->m) * sa;                                                 \
            }                                                                                   \
        }                                                                                       \
        for (int r = 0; r < R; ++r) out[r] = magi_hsum256_ps(acc[r]) + summ[r];                 \
    }

MAGI_INLINE MAGI_AVX2 __m256i load_q4_1(const block_q4_1 *x) { return magi_nibbles256(x->qs); }
Q8_1_KERNEL(q4_1_avx2, block_q4_1, load_q4_1)
ROWS_FN(rows_q4_1_avx2, q4_1_avx2)

/// 32 bytes, byte k = 0xFF where bit k of the 32-bit word at `p` is set (the fifth bits of Q5 blocks).
MAGI_INLINE MAGI_AVX2 __m256i magi_bit_bytes256(const uint8_t *p) {
    uint32_t bits;
    memcpy(&bits, p, 4);
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits),
        _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0x0000000000000000));
    const __m256i probe = _mm256_or_si256(spread, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_cmpeq_epi8(probe, _mm256_set1_epi64x(-1));
}

// ---- Q5_0 x Q8_0: (nibble | 5th bit) - 16 as signed bytes, signed x signed via the sign trick ----
MAGI_INLINE MAGI_AVX2 void q5_0_avx2(const int R, int64_t n, const uint8_t *w, size_t rb,
                                     const void *act, float *out) {
    const block_q8_0 *y = act;
    const int64_t nb = n / QK8_0;
    const __m256i ones = _mm256_set1_epi16(1), high = _mm256_set1_epi8((char)0xF0);
    __m256 acc[4];
    for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        const __m256i a = _mm256_loadu_si256((const __m256i *)y[i].qs);
        const float da = magi_h2f(y[i].d);
        for (int r = 0; r < R; ++r) {
            const block_q5_0 *x = (const block_q5_0 *)(w + (size_t)r * rb) + i;
            // A clear fifth bit means q - 16 < 0: OR-ing 0xF0 into the nibble gives that byte.
            const __m256i q = _mm256_or_si256(magi_nibbles256(x->qs), _mm256_andnot_si256(magi_bit_bytes256(x->qh), high));
            const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(a, q)), ones);
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(magi_h2f(x->d) * da), _mm256_cvtepi32_ps(p), acc[r]);
        }
    }
    for (int r = 0; r < R; ++r) out[r] = magi_hsum256_ps(acc[r]);
}
ROWS_FN(rows_q5_0_avx2, q5_0_avx2)

// Q5_1: the nibble with its fifth bit from qh.
MAGI_INLINE MAGI_AVX2 __m256i load_q5_1(const block_q5_1 *x) {
    return _mm256_or_si256(magi_nibbles256(x->qs), _mm256_and_si256(magi_bit_bytes256(x->qh), _mm256_set1_epi8(0x10)));
}
Q8_1_KERNEL(q5_1_avx2, block_q5_1, load_q5_1)
ROWS_FN(rows_q5_1_avx2, q5_1_avx2)

// ---- Q8_0 x Q8_0: maddubs(|w|, sign(a, w)) ----
MAGI_INLINE MAGI_AVX2 void q8_0_avx2(const int R, int64_t n, const uint8_t *w, size_t rb,
                                     const void *act, float *out) {
    const block_q8_0 *y = act;
    const int64_t nb = n / QK8_0;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[4];
    for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        const __m256i a = _mm256_loadu_si256((const __m256i *)y[i].qs);
        const float da = magi_h2f(y[i].d);
        for (int r = 0; r < R; ++r) {
            const block_q8_0 *x = (const block_q8_0 *)(w + (size_t)r * rb) + i;
            const __m256i q = _mm256_loadu_si256((const __m256i *)x->qs);
            const __m256i p = _mm256_madd_epi16(
                _mm256_maddubs_epi16(_mm256_abs_epi8(q), _mm256_sign_epi8(a, q)), ones);
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(magi_h2f(x->d) * da), _mm256_cvtepi32_ps(p), acc[r]);
        }
    }
    for (int r = 0; r < R; ++r) out[r] = magi_hsum256_ps(acc[r]);
}
ROWS_FN(rows_q8_0_avx2, q8_0_avx2)

// ---- Q4_K x Q8_K ----
MAGI_INLINE MAGI_AVX2 void q4_K_avx2(const int R, int64_t n, const uint8_t *w, size_t rb,
                                     const void *act, float *out) {
    (void)R; (void)rb;
    const block_q4_K *x = (const block_q4_K *)w;
    const block_q8_K *y = act;
    const int64_t nb = n / QK_K;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc = _mm256_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        uint32_t u[4];
        magi_unpack_k4_scales_u32(x[i].scales, u);
        const __m128i sc = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)u[1], (int)u[0]));
        const __m128i mn = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)u[3], (int)u[2]));
        const __m256i bs = _mm256_loadu_si256((const __m256i *)y[i].bsums);
        const __m128i bsp = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        const __m128i prod = _mm_madd_epi16(mn, bsp);
        const float yd = y[i].d;
        accm = _mm_fmadd_ps(_mm_set1_ps(yd * magi_h2f(x[i].dmin)), _mm_cvtepi32_ps(prod), accm);
        const __m256i sc2 = _mm256_broadcastsi128_si256(sc);
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; ++j) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * j));
            const __m256i lo = _mm256_and_si256(q, m4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            const __m256i a0 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 64 * j));
            const __m256i a1 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 64 * j + 32));
            const __m256i s0 = _mm256_shuffle_epi8(sc2, _mm256_load_si256((const __m256i *)magi_bcast16_masks[2 * j]));
            const __m256i s1 = _mm256_shuffle_epi8(sc2, _mm256_load_si256((const __m256i *)magi_bcast16_masks[2 * j + 1]));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(lo, a0), s0));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(hi, a1), s1));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(yd * magi_h2f(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
    }
    out[0] = magi_hsum256_ps(acc) - magi_hsum128_ps(accm);
}

// ---- Q5_K x Q8_K ----
MAGI_INLINE MAGI_AVX2 void q5_K_avx2(const int R, int64_t n, const uint8_t *w, size_t rb,
                                     const void *act, float *out) {
    (void)R; (void)rb;
    const block_q5_K *x = (const block_q5_K *)w;
    const block_q8_K *y = act;
    const int64_t nb = n / QK_K;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc = _mm256_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        uint32_t u[4];
        magi_unpack_k4_scales_u32(x[i].scales, u);
        const __m128i sc = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)u[1], (int)u[0]));
        const __m128i mn = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)u[3], (int)u[2]));
        const __m256i bs = _mm256_loadu_si256((const __m256i *)y[i].bsums);
        const __m128i bsp = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        const __m128i prod = _mm_madd_epi16(mn, bsp);
        const float yd = y[i].d;
        accm = _mm_fmadd_ps(_mm_set1_ps(yd * magi_h2f(x[i].dmin)), _mm_cvtepi32_ps(prod), accm);
        const __m256i sc2 = _mm256_broadcastsi128_si256(sc);
        const __m256i qh = _mm256_loadu_si256((const __m256i *)x[i].qh);
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; ++j) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * j));
            const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), magi_q5_hbit256(qh, 2 * j));
            const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), magi_q5_hbit256(qh, 2 * j + 1));
            const __m256i a0 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 64 * j));
            const __m256i a1 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 64 * j + 32));
            const __m256i s0 = _mm256_shuffle_epi8(sc2, _mm256_load_si256((const __m256i *)magi_bcast16_masks[2 * j]));
            const __m256i s1 = _mm256_shuffle_epi8(sc2, _mm256_load_si256((const __m256i *)magi_bcast16_masks[2 * j + 1]));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(lo, a0), s0));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(hi, a1), s1));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(yd * magi_h2f(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
    }
    out[0] = magi_hsum256_ps(acc) - magi_hsum128_ps(accm);
}

// ---- Q6_K x Q8_K: sum_g sc_g * (sum q*a - 32 * bsum_g), q in [0, 63] ----
MAGI_INLINE MAGI_AVX2 void q6_K_avx2(const int R, int64_t n, const uint8_t *w, size_t rb,
                                     const void *act, float *out) {
    (void)R; (void)rb;
    const block_q6_K *x = (const block_q6_K *)w;
    const block_q8_K *y = act;
    const int64_t nb = n / QK_K;
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales));
        const __m256i corr = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y[i].bsums));
        __m256i sumi = _mm256_slli_epi32(corr, 5);
        sumi = _mm256_sub_epi32(_mm256_setzero_si256(), sumi);
        for (int h = 0; h < 2; ++h) {
            const __m256i sch = _mm256_broadcastsi128_si256(
                _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(x[i].scales + 8 * h))));
            const __m256i qa = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * h));
            const __m256i qb = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * h + 32));
            const __m256i H = _mm256_loadu_si256((const __m256i *)(x[i].qh + 32 * h));
            const __m256i q0 = _mm256_or_si256(_mm256_and_si256(qa, m4), _mm256_and_si256(_mm256_slli_epi16(H, 4), m30));
            const __m256i q1 = _mm256_or_si256(_mm256_and_si256(qb, m4), _mm256_and_si256(_mm256_slli_epi16(H, 2), m30));
            const __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qa, 4), m4), _mm256_and_si256(H, m30));
            const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qb, 4), m4), _mm256_and_si256(_mm256_srli_epi16(H, 2), m30));
            const int8_t *a = y[i].qs + 128 * h;
            const __m256i qs[4] = {q0, q1, q2, q3};
            for (int t = 0; t < 4; ++t) {
                const __m256i av = _mm256_loadu_si256((const __m256i *)(a + 32 * t));
                const __m256i s = _mm256_shuffle_epi8(sch, _mm256_load_si256((const __m256i *)magi_pair16_masks[t]));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(qs[t], av), s));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * magi_h2f(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
    }
    out[0] = magi_hsum256_ps(acc);
}

ROWS1_FN(rows_q4_K_avx2, q4_K_avx2)
ROWS1_FN(rows_q5_K_avx2, q5_K_avx2)
ROWS1_FN(rows_q6_K_avx2, q6_K_avx2)

// ---- float weights ----
static MAGI_AVX2 float dot_f32_avx2(int64_t n, const float *a, const float *b) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = magi_hsum256_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
}

static MAGI_AVX2 void axpy_f32_avx2(int64_t n, float alpha, const float *x, float *y) {
    const __m256 va = _mm256_set1_ps(alpha);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
        _mm256_storeu_ps(y + i + 8, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8)));
    }
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; ++i) y[i] = fmaf(alpha, x[i], y[i]);
}

MAGI_INLINE MAGI_AVX2 __m256 load8_f16(const magi_half *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}
MAGI_INLINE MAGI_AVX2 __m256 load8_bf16(const uint16_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

#define FLOAT_ROW_DOT(NAME, T, LOAD8, CONV1)                                                    \
    static MAGI_AVX2 float NAME(int64_t n, const T *w, const float *a) {                        \
        __m256 s0 = _mm256_setzero_ps(), s1 = s0;                                               \
        int64_t i = 0;                                                                          \
        for (; i + 16 <= n; i += 16) {                                                          \
            s0 = _mm256_fmadd_ps(LOAD8(w + i), _mm256_loadu_ps(a + i), s0);                     \
            s1 = _mm256_fmadd_ps(LOAD8(w + i + 8), _mm256_loadu_ps(a + i + 8), s1);             \
        }                                                                                       \
        for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(LOAD8(w + i), _mm256_loadu_ps(a + i), s0); \
        float s = magi_hsum256_ps(_mm256_add_ps(s0, s1));                                       \
        for (; i < n; ++i) s += CONV1(w[i]) * a[i];                                             \
        return s;                                                                               \
    }                                                                                           \
    static void rows_##NAME(int64_t n, const void *w, size_t rb, int64_t nrows, const void *act, \
                            float *out) {                                                       \
        for (int64_t r = 0; r < nrows; ++r)                                                     \
            out[r] = NAME(n, (const T *)((const uint8_t *)w + (size_t)r * rb), act);            \
    }
FLOAT_ROW_DOT(dot_f16_avx2, magi_half, load8_f16, magi_fp16_to_fp32_ref)
FLOAT_ROW_DOT(dot_bf16_avx2, uint16_t, load8_bf16, magi_bf16_to_fp32)
static void rows_dot_f32_avx2(int64_t n, const void *w, size_t rb, int64_t nrows, const void *act,
                              float *out) {
    for (int64_t r = 0; r < nrows; ++r)
        out[r] = dot_f32_avx2(n, (const float *)((const uint8_t *)w + (size_t)r * rb), act);
}

static MAGI_AVX2 void dequant_f16_avx2(const magi_half *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load8_f16(src + i));
    for (; i < n; ++i) dst[i] = magi_fp16_to_fp32_ref(src[i]);
}

static MAGI_AVX2 void axpy_f16_avx2(int64_t n, float alpha, const magi_half *x, float *y) {
    const __m256 va = _mm256_set1_ps(alpha);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, load8_f16(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; ++i) y[i] = fmaf(alpha, magi_fp16_to_fp32_ref(x[i]), y[i]);
}

static MAGI_AVX2 void f32_to_f16_avx2(int64_t n, const float *x, magi_half *y) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; ++i) y[i] = magi_fp32_to_fp16_ref(x[i]);
}

// ---- exp-based activation kernels: Cephes expf (range reduction by ln 2, degree-6 polynomial), ~1 ulp ----
MAGI_INLINE MAGI_AVX2 __m256 exp256(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.7f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static MAGI_AVX2 void softmax_avx2(int64_t n, float *x) {
    if (n <= 0) return;
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float mx = _mm_cvtss_f32(m4);
    for (; i < n; ++i) mx = fmaxf(mx, x[i]);
    const __m256 vm = _mm256_set1_ps(mx);
    __m256 vsum = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        _mm256_storeu_ps(x + i, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    float sum = magi_hsum256_ps(vsum);
    for (; i < n; ++i) { x[i] = expf(x[i] - mx); sum += x[i]; }
    const __m256 inv = _mm256_set1_ps(1.0f / sum);
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    for (; i < n; ++i) x[i] *= 1.0f / sum;
}

static MAGI_AVX2 void swiglu_avx2(int64_t n, float *gate, const float *up) {
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 sig = _mm256_div_ps(g, _mm256_add_ps(one, exp256(_mm256_sub_ps(_mm256_setzero_ps(), g))));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(sig, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; ++i) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

/// out = Σ_t w[t] · row_t over n rows (float or half), 64 columns at a time in registers.
#define WEIGHTED_SUM(NAME, T, LOAD8, CONV1)                                                      \
    static MAGI_AVX2 void NAME(const void *rows, size_t rb, int64_t n, int64_t width, const float *w, \
                               float *out) {                                                    \
        int64_t c0 = 0;                                                                         \
        for (; c0 + 64 <= width; c0 += 64) {                                                    \
            __m256 acc[8];                                                                      \
            for (int j = 0; j < 8; ++j) acc[j] = _mm256_setzero_ps();                           \
            for (int64_t t = 0; t < n; ++t) {                                                   \
                const T *row = (const T *)((const uint8_t *)rows + (size_t)t * rb) + c0;        \
                const __m256 wt = _mm256_set1_ps(w[t]);                                         \
                for (int j = 0; j < 8; ++j) acc[j] = _mm256_fmadd_ps(wt, LOAD8(row + 8 * j), acc[j]); \
            }                                                                                   \
            for (int j = 0; j < 8; ++j) _mm256_storeu_ps(out + c0 + 8 * j, acc[j]);             \
        }                                                                                       \
        for (; c0 < width; ++c0) {                                                              \
            float s = 0;                                                                        \
            for (int64_t t = 0; t < n; ++t)                                                     \
                s = fmaf(w[t], CONV1(((const T *)((const uint8_t *)rows + (size_t)t * rb))[c0]), s); \
            out[c0] = s;                                                                        \
        }                                                                                       \
    }
static inline float identity_f32(float x) { return x; }
WEIGHTED_SUM(weighted_sum_f16_avx2, magi_half, load8_f16, magi_fp16_to_fp32_ref)
WEIGHTED_SUM(weighted_sum_f32_avx2, float, _mm256_loadu_ps, identity_f32)

/// out = Σ_t w[t] · row_t over Q8_0 rows of a head (width ≤ 256, a multiple of 32), the sums in registers.
static MAGI_AVX2 void weighted_sum_q8_0_avx2(const void *rows, size_t rb, int64_t n, int64_t width, const float *w,
                                             float *out) {
    if (width > 256 || width % QK8_0) {
        for (int64_t c = 0; c < width; ++c) out[c] = 0;
        for (int64_t t = 0; t < n; ++t) {
            const block_q8_0 *b = (const block_q8_0 *)((const uint8_t *)rows + (size_t)t * rb);
            for (int64_t c = 0; c < width; ++c)
                out[c] += w[t] * magi_fp16_to_fp32_ref(b[c / QK8_0].d) * (float)b[c / QK8_0].qs[c % QK8_0];
        }
        return;
    }
    const int blocks = (int)(width / QK8_0);
    __m256 acc[32];
    for (int j = 0; j < 4 * blocks; ++j) acc[j] = _mm256_setzero_ps();
    for (int64_t t = 0; t < n; ++t) {
        const block_q8_0 *b = (const block_q8_0 *)((const uint8_t *)rows + (size_t)t * rb);
        for (int i = 0; i < blocks; ++i) {
            const __m256 s = _mm256_set1_ps(w[t] * magi_fp16_to_fp32_ref(b[i].d));
            for (int k = 0; k < 4; ++k) {
                const __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(b[i].qs + 8 * k))));
                acc[4 * i + k] = _mm256_fmadd_ps(s, q, acc[4 * i + k]);
            }
        }
    }
    for (int j = 0; j < 4 * blocks; ++j) _mm256_storeu_ps(out + 8 * j, acc[j]);
}

void magi_init_avx2_table(magi_kernel_table *t) {
    t->name = "avx2";
    t->rows[MAGI_TYPE_F32] = rows_dot_f32_avx2;
    t->rows[MAGI_TYPE_F16] = rows_dot_f16_avx2;
    t->rows[MAGI_TYPE_BF16] = rows_dot_bf16_avx2;
    t->rows[MAGI_TYPE_Q4_0] = rows_q4_0_avx2;
    t->rows[MAGI_TYPE_Q4_1] = rows_q4_1_avx2;
    t->rows[MAGI_TYPE_Q5_0] = rows_q5_0_avx2;
    t->rows[MAGI_TYPE_Q5_1] = rows_q5_1_avx2;
    t->rows[MAGI_TYPE_Q8_0] = rows_q8_0_avx2;
    t->rows[MAGI_TYPE_Q4_K] = rows_q4_K_avx2;
    t->rows[MAGI_TYPE_Q5_K] = rows_q5_K_avx2;
    t->rows[MAGI_TYPE_Q6_K] = rows_q6_K_avx2;
    t->dot_f32 = dot_f32_avx2;
    t->axpy_f32 = axpy_f32_avx2;
    t->axpy_f16 = axpy_f16_avx2;
    t->f32_to_f16 = f32_to_f16_avx2;
    t->dequant_f16 = dequant_f16_avx2;
    magi_init_gemm_avx2(t);
    magi_init_matvec_batch_avx2(t);
    t->softmax = softmax_avx2;
    t->weighted_sum_f16 = weighted_sum_f16_avx2;
    t->weighted_sum_f32 = weighted_sum_f32_avx2;
    t->weighted_sum_q8_0 = weighted_sum_q8_0_avx2;
    t->swiglu = swiglu_avx2;
}

#endif
