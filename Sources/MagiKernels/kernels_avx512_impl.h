// AVX-512 kernels (F, BW, VL, DQ), instantiated twice: with VNNI (vpdpbusd / vpdpwssd) and
// without (vpmaddubsw + vpmaddwd). The including file defines MAGI_T (the target attribute),
// MAGI_VNNI (0/1), MAGI_SFX (a name suffix token) and MAGI_ISA_NAME.
//
// The 32-value block types process two blocks per 512-bit register; every function handles up
// to four weight rows per pass so activation loads and scales are shared between rows.

#include <math.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, MAGI_SFX)

// acc + sum over groups of 4 of u8 * s8 (no saturation for the ranges used here)
#if MAGI_VNNI
#define DOT_US8_512(acc, u, s) _mm512_dpbusd_epi32((acc), (u), (s))
#define DOT_US8_256(acc, u, s) _mm256_dpbusd_epi32((acc), (u), (s))
#define DOT_S16_512(acc, a, b) _mm512_dpwssd_epi32((acc), (a), (b))
#else
#define DOT_US8_512(acc, u, s) _mm512_add_epi32((acc), _mm512_madd_epi16(_mm512_maddubs_epi16((u), (s)), _mm512_set1_epi16(1)))
#define DOT_US8_256(acc, u, s) _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1)))
#define DOT_S16_512(acc, a, b) _mm512_add_epi32((acc), _mm512_madd_epi16((a), (b)))
#endif

#define ROWS4_FN(NAME, KERNEL)                                                                   \
    static MAGI_T void NAME(int64_t n, const void *w, size_t rb, int64_t nrows, const void *act, \
                            float *out) {                                                       \
        const uint8_t *p = (const uint8_t *)w;                                                  \
        int64_t r = 0;                                                                          \
        for (; r + 4 <= nrows; r += 4) {                                                        \
            if (r + 8 <= nrows) magi_prefetch(p + (size_t)(r + 4) * rb, 4 * rb);                \
            KERNEL(4, n, p + (size_t)r * rb, rb, act, out + r);                                 \
        }                                                                                       \
        for (; r < nrows; ++r) KERNEL(1, n, p + (size_t)r * rb, rb, act, out + r);              \
    }

MAGI_INLINE MAGI_T __m512i FN(load2_32)(const void *p0, const void *p1) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p0)),
                              _mm256_loadu_si256((const __m256i *)p1), 1);
}

/// Two blocks of 16 nibble bytes -> [lo0 | hi0 | lo1 | hi1] as 64 bytes of values 0..15.
MAGI_INLINE MAGI_T __m512i FN(nibbles2)(const uint8_t *q0, const uint8_t *q1) {
    const __m512i v = _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)q0))),
        _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)q1)), 1);
    const __m512i shifts = _mm512_set_epi64(4, 4, 0, 0, 4, 4, 0, 0);
    return _mm512_and_si512(_mm512_srlv_epi64(v, shifts), _mm512_set1_epi8(0x0F));
}

/// Two 32-bit words (each one or two fp16) -> floats [w0.lo, w0.hi, w1.lo, w1.hi].
MAGI_INLINE MAGI_T __m128 FN(h2x2)(const void *p0, const void *p1) {
    uint32_t a, b;
    memcpy(&a, p0, 4);
    memcpy(&b, p1, 4);
    return _mm_cvtph_ps(_mm_insert_epi32(_mm_cvtsi32_si128((int)a), (int)b, 1));
}

/// Two fp16 values -> floats [h0, h1, 0, 0].
MAGI_INLINE MAGI_T __m128 FN(h1x2)(magi_half h0, magi_half h1) {
    return _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)h0 | ((uint32_t)h1 << 16))));
}

MAGI_INLINE MAGI_T float FN(hsum128)(__m128 s) {
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// ---------------------------------------------------------------------------------------------
// Q4_1 x Q8_1
// ---------------------------------------------------------------------------------------------
MAGI_INLINE MAGI_T void FN(q4_1)(const int R, int64_t n, const uint8_t *w, size_t rb,
                                 const void *act, float *out) {
    const block_q8_1 *y = act;
    const int64_t nb = n / QK8_1;
    const __m512i idx = _mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0);
    __m512 acc[4];
    __m128 accm[4];
    for (int r = 0; r < R; ++r) { acc[r] = _mm512_setzero_ps(); accm[r] = _mm_setzero_ps(); }
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        const __m512i a = FN(load2_32)(y[i].qs, y[i + 1].qs);
        const __m128 fa = FN(h2x2)(&y[i], &y[i + 1]); // [d0, s0, d1, s1]
        for (int r = 0; r < R; ++r) {
            const block_q4_1 *x = (const block_q4_1 *)(w + (size_t)r * rb) + i;
            const __m512i q = FN(nibbles2)(x[0].qs, x[1].qs);
            const __m512i p = DOT_US8_512(_mm512_setzero_si512(), q, a);
            const __m128 f = _mm_mul_ps(FN(h2x2)(&x[0], &x[1]), fa); // [D0, M0, D1, M1]
            accm[r] = _mm_add_ps(accm[r], f);
            acc[r] = _mm512_fmadd_ps(_mm512_permutexvar_ps(idx, _mm512_castps128_ps512(f)),
                                     _mm512_cvtepi32_ps(p), acc[r]);
        }
    }
    for (int r = 0; r < R; ++r) {
        float s = _mm512_reduce_add_ps(acc[r]);
        float m[4];
        _mm_storeu_ps(m, accm[r]);
        s += m[1] + m[3]; // lanes 1 and 3 hold the m * s terms (0 and 2 are unused)
        if (i < nb) { // odd tail block
            const block_q4_1 *x = (const block_q4_1 *)(w + (size_t)r * rb) + i;
            const __m256i q = magi_nibbles256(x->qs);
            const __m256i av = _mm256_loadu_si256((const __m256i *)y[i].qs);
            const __m256i p = DOT_US8_256(_mm256_setzero_si256(), q, av);
            s += (_cvtsh_ss(x->d) * _cvtsh_ss(y[i].d)) * magi_hsum256_ps(_mm256_cvtepi32_ps(p)) +
                 _cvtsh_ss(x->m) * _cvtsh_ss(y[i].s);
        }
        out[r] = s;
    }
}
ROWS4_FN(FN(rows_q4_1), FN(q4_1))

// ---------------------------------------------------------------------------------------------
// Q4_0 x Q8_0: sum (q - 8) a = sum q a - 8 sum a; the second term is computed once for all rows
// and used as the initial integer accumulator.
// ---------------------------------------------------------------------------------------------
MAGI_INLINE MAGI_T void FN(q4_0)(const int R, int64_t n, const uint8_t *w, size_t rb,
                                 const void *act, float *out) {
    const block_q8_0 *y = act;
    const int64_t nb = n / QK8_0;
    const __m512i idx = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    __m512 acc[4];
    for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        const __m512i a = FN(load2_32)(y[i].qs, y[i + 1].qs);
        const __m512i neg8a = _mm512_sub_epi32(_mm512_setzero_si512(),
                                               DOT_US8_512(_mm512_setzero_si512(), _mm512_set1_epi8(8), a));
        const __m128 fa = FN(h1x2)(y[i].d, y[i + 1].d);
        for (int r = 0; r < R; ++r) {
            const block_q4_0 *x = (const block_q4_0 *)(w + (size_t)r * rb) + i;
            const __m512i q = FN(nibbles2)(x[0].qs, x[1].qs);
            const __m512i p = DOT_US8_512(neg8a, q, a);
            const __m128 f = _mm_mul_ps(FN(h1x2)(x[0].d, x[1].d), fa);
            acc[r] = _mm512_fmadd_ps(_mm512_permutexvar_ps(idx, _mm512_castps128_ps512(f)),
                                     _mm512_cvtepi32_ps(p), acc[r]);
        }
    }
    for (int r = 0; r < R; ++r) {
        float s = _mm512_reduce_add_ps(acc[r]);
        if (i < nb) {
            const block_q4_0 *x = (const block_q4_0 *)(w + (size_t)r * rb) + i;
            const __m256i q = magi_nibbles256(x->qs);
            const __m256i av = _mm256_loadu_si256((const __m256i *)y[i].qs);
            const __m256i neg8a = _mm256_sub_epi32(_mm256_setzero_si256(),
                                                   DOT_US8_256(_mm256_setzero_si256(), _mm256_set1_epi8(8), av));
            const __m256i p = DOT_US8_256(neg8a, q, av);
            s += (_cvtsh_ss(x->d) * _cvtsh_ss(y[i].d)) * magi_hsum256_ps(_mm256_cvtepi32_ps(p));
        }
        out[r] = s;
    }
}
ROWS4_FN(FN(rows_q4_0), FN(q4_0))

// ---------------------------------------------------------------------------------------------
// Q8_0 x Q8_0. VNNI: (w + 128) as u8 times a, minus 128 sum a (shared between rows).
// Without VNNI: |w| times a with w's sign (vpmaddubsw cannot take w + 128 without saturating).
// ---------------------------------------------------------------------------------------------
MAGI_INLINE MAGI_T __m512i FN(dot_s8_512)(__m512i neg128a, __m512i wq, __m512i a) {
#if MAGI_VNNI
    return _mm512_dpbusd_epi32(neg128a, _mm512_xor_si512(wq, _mm512_set1_epi8((char)0x80)), a);
#else
    (void)neg128a;
    const __mmask64 neg = _mm512_movepi8_mask(wq);
    const __m512i sa = _mm512_mask_sub_epi8(a, neg, _mm512_setzero_si512(), a);
    return _mm512_madd_epi16(_mm512_maddubs_epi16(_mm512_abs_epi8(wq), sa), _mm512_set1_epi16(1));
#endif
}

MAGI_INLINE MAGI_T void FN(q8_0)(const int R, int64_t n, const uint8_t *w, size_t rb,
                                 const void *act, float *out) {
    const block_q8_0 *y = act;
    const int64_t nb = n / QK8_0;
    const __m512i idx = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    __m512 acc[4];
    for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        const __m512i a = FN(load2_32)(y[i].qs, y[i + 1].qs);
#if MAGI_VNNI
        const __m512i neg128a = _mm512_sub_epi32(
            _mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8((char)0x80), a));
#else
        const __m512i neg128a = _mm512_setzero_si512();
#endif
        const __m128 fa = FN(h1x2)(y[i].d, y[i + 1].d);
        for (int r = 0; r < R; ++r) {
            const block_q8_0 *x = (const block_q8_0 *)(w + (size_t)r * rb) + i;
            const __m512i p = FN(dot_s8_512)(neg128a, FN(load2_32)(x[0].qs, x[1].qs), a);
            const __m128 f = _mm_mul_ps(FN(h1x2)(x[0].d, x[1].d), fa);
            acc[r] = _mm512_fmadd_ps(_mm512_permutexvar_ps(idx, _mm512_castps128_ps512(f)),
                                     _mm512_cvtepi32_ps(p), acc[r]);
        }
    }
    for (int r = 0; r < R; ++r) {
        float s = _mm512_reduce_add_ps(acc[r]);
        if (i < nb) {
            const block_q8_0 *x = (const block_q8_0 *)(w + (size_t)r * rb) + i;
            const __m256i q = _mm256_loadu_si256((const __m256i *)x->qs);
            const __m256i av = _mm256_loadu_si256((const __m256i *)y[i].qs);
            const __m256i p = _mm256_madd_epi16(
                _mm256_maddubs_epi16(_mm256_abs_epi8(q), _mm256_sign_epi8(av, q)), _mm256_set1_epi16(1));
            s += (_cvtsh_ss(x->d) * _cvtsh_ss(y[i].d)) * magi_hsum256_ps(_mm256_cvtepi32_ps(p));
        }
        out[r] = s;
    }
}
ROWS4_FN(FN(rows_q8_0), FN(q8_0))

// ---------------------------------------------------------------------------------------------
// K-quants. A 512-bit register holds 64 quant bytes = two 32-byte chunks; the matching
// activation bytes are gathered once per block for all rows.
// ---------------------------------------------------------------------------------------------

/// Per-128-bit-lane i16 broadcast masks for [lane0,lane1 <- k0][lane2,lane3 <- k1].
MAGI_INLINE MAGI_T __m512i FN(bcast_pair_mask)(int k0, int k1) {
    const __m512i lo = _mm512_set1_epi16((short)(2 * k0 | ((2 * k0 + 1) << 8)));
    const __m512i hi = _mm512_set1_epi16((short)(2 * k1 | ((2 * k1 + 1) << 8)));
    return _mm512_mask_blend_epi64(0xF0, lo, hi);
}

typedef struct {
    __m512i alo[2], ahi[2]; // activation for lo/hi nibbles of qs[0..63] and qs[64..127]
    __m128i bsp;            // pairwise bsums (one per 32 values) as i16
} FN(q8k_act);

MAGI_INLINE MAGI_T void FN(load_q8k_act)(const block_q8_K *y, FN(q8k_act) *A) {
    for (int h = 0; h < 2; ++h) {
        const __m512i a0 = _mm512_loadu_si512((const void *)(y->qs + 128 * h));
        const __m512i a1 = _mm512_loadu_si512((const void *)(y->qs + 128 * h + 64));
        A->alo[h] = _mm512_shuffle_i64x2(a0, a1, 0x44); // a[0..31]  | a[64..95]
        A->ahi[h] = _mm512_shuffle_i64x2(a0, a1, 0xEE); // a[32..63] | a[96..127]
    }
    const __m256i bs = _mm256_loadu_si256((const __m256i *)y->bsums);
    A->bsp = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
}

// Q4_K / Q5_K share everything except the fifth bit.
MAGI_INLINE MAGI_T void FN(q45_K)(const int is5, int64_t n, const uint8_t *w, const void *act, float *out) {
    const block_q8_K *y = act;
    const int64_t nb = n / QK_K;
    const size_t bsz = is5 ? sizeof(block_q5_K) : sizeof(block_q4_K);
    const __m512i m4 = _mm512_set1_epi8(0x0F), m16 = _mm512_set1_epi8(0x10);
    const __m512i mk[4] = {FN(bcast_pair_mask)(0, 2), FN(bcast_pair_mask)(1, 3),
                           FN(bcast_pair_mask)(4, 6), FN(bcast_pair_mask)(5, 7)};
    __m512 acc = _mm512_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        const uint8_t *b = w + (size_t)i * bsz;
        const magi_half *dd = (const magi_half *)b; // d, dmin at the start of both layouts
        const uint8_t *scales = b + 4;
        const uint8_t *qs = is5 ? ((const block_q5_K *)b)->qs : ((const block_q4_K *)b)->qs;
        FN(q8k_act) A;
        FN(load_q8k_act)(&y[i], &A);
        uint32_t u[4];
        magi_unpack_k4_scales_u32(scales, u);
        const __m128i sc = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)u[1], (int)u[0]));
        const __m128i mn = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)u[3], (int)u[2]));
        const __m128 fd = _mm_mul_ps(FN(h2x2)(dd, dd), _mm_set1_ps(y[i].d)); // [d*yd, dmin*yd, ..]
        accm = _mm_fmadd_ps(_mm_shuffle_ps(fd, fd, 0x55), _mm_cvtepi32_ps(_mm_madd_epi16(mn, A.bsp)), accm);
        const __m512i sc4 = _mm512_broadcast_i32x4(sc);
        __m512i sumi = _mm512_setzero_si512();
        __m512i H2 = _mm512_setzero_si512();
        if (is5) {
            const __m256i qh = _mm256_loadu_si256((const __m256i *)((const block_q5_K *)b)->qh);
            H2 = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
        }
        for (int h = 0; h < 2; ++h) {
            const __m512i q = _mm512_loadu_si512((const void *)(qs + 64 * h));
            __m512i lo = _mm512_and_si512(q, m4);
            __m512i hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
            if (is5) {
                // sub-blocks (lo: 4h, 4h+2; hi: 4h+1, 4h+3) take qh bits 4h.. of [qh | qh >> 2]
                if (h == 0) {
                    lo = _mm512_or_si512(lo, _mm512_and_si512(_mm512_slli_epi16(H2, 4), m16));
                    hi = _mm512_or_si512(hi, _mm512_and_si512(_mm512_slli_epi16(H2, 3), m16));
                } else {
                    lo = _mm512_or_si512(lo, _mm512_and_si512(H2, m16));
                    hi = _mm512_or_si512(hi, _mm512_and_si512(_mm512_srli_epi16(H2, 1), m16));
                }
            }
            const __m512i plo = _mm512_maddubs_epi16(lo, A.alo[h]);
            const __m512i phi = _mm512_maddubs_epi16(hi, A.ahi[h]);
            sumi = DOT_S16_512(sumi, plo, _mm512_shuffle_epi8(sc4, mk[2 * h]));
            sumi = DOT_S16_512(sumi, phi, _mm512_shuffle_epi8(sc4, mk[2 * h + 1]));
        }
        acc = _mm512_fmadd_ps(_mm512_set1_ps(_mm_cvtss_f32(fd)), _mm512_cvtepi32_ps(sumi), acc);
    }
    *out = _mm512_reduce_add_ps(acc) - FN(hsum128)(accm);
}

static MAGI_T void FN(rows_q4_K)(int64_t n, const void *w, size_t rb, int64_t nrows, const void *act, float *out) {
    for (int64_t r = 0; r < nrows; ++r) {
        if (r + 1 < nrows) magi_prefetch((const uint8_t *)w + (size_t)(r + 1) * rb, rb);
        FN(q45_K)(0, n, (const uint8_t *)w + (size_t)r * rb, act, out + r);
    }
}
static MAGI_T void FN(rows_q5_K)(int64_t n, const void *w, size_t rb, int64_t nrows, const void *act, float *out) {
    for (int64_t r = 0; r < nrows; ++r) {
        if (r + 1 < nrows) magi_prefetch((const uint8_t *)w + (size_t)(r + 1) * rb, rb);
        FN(q45_K)(1, n, (const uint8_t *)w + (size_t)r * rb, act, out + r);
    }
}

// Q6_K: q in [0, 63]; sum_g sc_g * (sum q a - 32 bsum_g).
MAGI_INLINE MAGI_T void FN(q6_K)(int64_t n, const uint8_t *w, const void *act, float *out) {
    const block_q6_K *x = (const block_q6_K *)w;
    const block_q8_K *y = act;
    const int64_t nb = n / QK_K;
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    // 128-bit lane k of the scale register for (half h, part t) holds scale 8h + 4t + k
    __m512i sidx[4];
    for (int j = 0; j < 4; ++j)
        sidx[j] = _mm512_set_epi64(0x0001000100010001LL * (4 * j + 3), 0x0001000100010001LL * (4 * j + 3),
                                   0x0001000100010001LL * (4 * j + 2), 0x0001000100010001LL * (4 * j + 2),
                                   0x0001000100010001LL * (4 * j + 1), 0x0001000100010001LL * (4 * j + 1),
                                   0x0001000100010001LL * (4 * j + 0), 0x0001000100010001LL * (4 * j + 0));
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales));
        const __m512i sc = _mm512_castsi256_si512(sc16);
        const __m256i corr = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y[i].bsums));
        __m512i sumi = _mm512_castsi256_si512(_mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(corr, 5)));
        sumi = _mm512_inserti64x4(sumi, _mm256_setzero_si256(), 1);
        for (int h = 0; h < 2; ++h) {
            const __m512i q = _mm512_loadu_si512((const void *)(x[i].ql + 64 * h));
            const __m256i H = _mm256_loadu_si256((const __m256i *)(x[i].qh + 32 * h));
            const __m512i H2 = _mm512_inserti64x4(_mm512_castsi256_si512(H), _mm256_srli_epi16(H, 2), 1);
            const __m512i lo = _mm512_or_si512(_mm512_and_si512(q, m4), _mm512_and_si512(_mm512_slli_epi16(H2, 4), m30));
            const __m512i hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(q, 4), m4), _mm512_and_si512(H2, m30));
            const __m512i a0 = _mm512_loadu_si512((const void *)(y[i].qs + 128 * h));
            const __m512i a1 = _mm512_loadu_si512((const void *)(y[i].qs + 128 * h + 64));
            sumi = DOT_S16_512(sumi, _mm512_maddubs_epi16(lo, a0), _mm512_permutexvar_epi16(sidx[2 * h], sc));
            sumi = DOT_S16_512(sumi, _mm512_maddubs_epi16(hi, a1), _mm512_permutexvar_epi16(sidx[2 * h + 1], sc));
        }
        acc = _mm512_fmadd_ps(_mm512_set1_ps(y[i].d * _cvtsh_ss(x[i].d)), _mm512_cvtepi32_ps(sumi), acc);
    }
    *out = _mm512_reduce_add_ps(acc);
}

static MAGI_T void FN(rows_q6_K)(int64_t n, const void *w, size_t rb, int64_t nrows, const void *act, float *out) {
    for (int64_t r = 0; r < nrows; ++r) {
        if (r + 1 < nrows) magi_prefetch((const uint8_t *)w + (size_t)(r + 1) * rb, rb);
        FN(q6_K)(n, (const uint8_t *)w + (size_t)r * rb, act, out + r);
    }
}

// ---------------------------------------------------------------------------------------------
// Float kernels
// ---------------------------------------------------------------------------------------------
static MAGI_T float FN(dot_f32)(int64_t n, const float *a, const float *b) {
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static MAGI_T void FN(axpy_f32)(int64_t n, float alpha, const float *x, float *y) {
    const __m512 va = _mm512_set1_ps(alpha);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
        _mm512_storeu_ps(y + i + 16, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16)));
    }
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
    }
}

MAGI_INLINE MAGI_T __m512 FN(load16_f16)(const magi_half *p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}
MAGI_INLINE MAGI_T __m512 FN(load16_bf16)(const uint16_t *p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}

#define FLOAT_ROW_DOT512(NAME, T, LOAD16, CONV1)                                                 \
    static MAGI_T float NAME(int64_t n, const T *w, const float *a) {                           \
        __m512 s0 = _mm512_setzero_ps(), s1 = s0;                                               \
        int64_t i = 0;                                                                          \
        for (; i + 32 <= n; i += 32) {                                                          \
            s0 = _mm512_fmadd_ps(LOAD16(w + i), _mm512_loadu_ps(a + i), s0);                    \
            s1 = _mm512_fmadd_ps(LOAD16(w + i + 16), _mm512_loadu_ps(a + i + 16), s1);          \
        }                                                                                       \
        for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(LOAD16(w + i), _mm512_loadu_ps(a + i), s0); \
        float s = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));                                  \
        for (; i < n; ++i) s += CONV1(w[i]) * a[i];                                             \
        return s;                                                                               \
    }                                                                                           \
    static MAGI_T void CAT(rows_, NAME)(int64_t n, const void *w, size_t rb, int64_t nrows,      \
                                        const void *act, float *out) {                          \
        for (int64_t r = 0; r < nrows; ++r)                                                     \
            out[r] = NAME(n, (const T *)((const uint8_t *)w + (size_t)r * rb), act);            \
    }
FLOAT_ROW_DOT512(FN(dot_f16), magi_half, FN(load16_f16), magi_fp16_to_fp32_ref)
FLOAT_ROW_DOT512(FN(dot_bf16), uint16_t, FN(load16_bf16), magi_bf16_to_fp32)

static MAGI_T void FN(rows_f32)(int64_t n, const void *w, size_t rb, int64_t nrows, const void *act, float *out) {
    for (int64_t r = 0; r < nrows; ++r) out[r] = FN(dot_f32)(n, (const float *)((const uint8_t *)w + (size_t)r * rb), act);
}

static MAGI_T void FN(dequant_f16)(const magi_half *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, FN(load16_f16)(src + i));
    for (; i < n; ++i) dst[i] = magi_fp16_to_fp32_ref(src[i]);
}

static void FN(init_table)(magi_kernel_table *t) {
    t->name = MAGI_ISA_NAME;
    t->rows[MAGI_TYPE_F32] = FN(rows_f32);
    t->rows[MAGI_TYPE_F16] = CAT(rows_, FN(dot_f16));
    t->rows[MAGI_TYPE_BF16] = CAT(rows_, FN(dot_bf16));
    t->rows[MAGI_TYPE_Q4_0] = FN(rows_q4_0);
    t->rows[MAGI_TYPE_Q4_1] = FN(rows_q4_1);
    t->rows[MAGI_TYPE_Q8_0] = FN(rows_q8_0);
    t->rows[MAGI_TYPE_Q4_K] = FN(rows_q4_K);
    t->rows[MAGI_TYPE_Q5_K] = FN(rows_q5_K);
    t->rows[MAGI_TYPE_Q6_K] = FN(rows_q6_K);
    t->dot_f32 = FN(dot_f32);
    t->axpy_f32 = FN(axpy_f32);
    t->dequant_f16 = FN(dequant_f16);
}
