// AVX2 batched matrix-vector kernels (see matvec_batch.c): one weight row against a tile of up to
// 8 activations. Each block's weights are unpacked into registers once and multiplied with every
// activation of the tile; per (row, activation) the integer sums and the float operations are those
// of the single-vector kernels in kernels_avx2.c, in the same order, so the results are identical.
#include "kernels_x86_common.h"

#if defined(__x86_64__) || defined(__i386__)

#define TILE_MAX 8

/// Writes or adds one result per activation of the tile.
#define STORE_TILE(T, out, ldo, accumulate, value_of_t)                                           \
    for (int t = 0; t < (T); ++t) {                                                              \
        const float v = (value_of_t);                                                            \
        float *o = (out) + (int64_t)t * (ldo);                                                   \
        *o = (accumulate) ? *o + v : v;                                                          \
    }

/// The row/tile driver: tiles of 8 activations, then 4, 2 and 1, each over every row of the
/// chunk (the chunk's weights stay in cache while the activations stream past).
#define BATCH_FN(NAME, TILE)                                                                      \
    static MAGI_AVX2 void NAME(int64_t n, const void *w, size_t rb, int64_t nrows, const void *act, \
                               size_t as, int64_t nact, float *out, int64_t ldo, int accumulate) { \
        const uint8_t *p = (const uint8_t *)w, *a = (const uint8_t *)act;                       \
        int64_t j = 0;                                                                           \
        for (; j + 8 <= nact; j += 8)                                                            \
            for (int64_t r = 0; r < nrows; ++r)                                                  \
                TILE(8, n, p + (size_t)r * rb, a + (size_t)j * as, as, out + j * ldo + r, ldo, accumulate); \
        if (nact - j >= 4) {                                                                     \
            for (int64_t r = 0; r < nrows; ++r)                                                  \
                TILE(4, n, p + (size_t)r * rb, a + (size_t)j * as, as, out + j * ldo + r, ldo, accumulate); \
            j += 4;                                                                              \
        }                                                                                        \
        if (nact - j >= 2) {                                                                     \
            for (int64_t r = 0; r < nrows; ++r)                                                  \
                TILE(2, n, p + (size_t)r * rb, a + (size_t)j * as, as, out + j * ldo + r, ldo, accumulate); \
            j += 2;                                                                              \
        }                                                                                        \
        if (nact - j >= 1)                                                                       \
            for (int64_t r = 0; r < nrows; ++r)                                                  \
                TILE(1, n, p + (size_t)r * rb, a + (size_t)j * as, as, out + j * ldo + r, ldo, accumulate); \
    }

#define ACT(type, t, i) ((const type *)(act + (size_t)(t) * as) + (i))

// ---- Q8_0 x Q8_0 ----
MAGI_INLINE MAGI_AVX2 void q8_0_tile(const int T, int64_t n, const uint8_t *w, const uint8_t *act, size_t as,
                                     float *out, int64_t ldo, int accumulate) {
    const block_q8_0 *x = (const block_q8_0 *)w;
    const int64_t nb = n / QK8_0;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[TILE_MAX];
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        const __m256i q = _mm256_loadu_si256((const __m256i *)x[i].qs);
        const __m256i u = _mm256_abs_epi8(q);
        const float dx = magi_h2f(x[i].d);
        for (int t = 0; t < T; ++t) {
            const block_q8_0 *y = ACT(block_q8_0, t, i);
            const __m256i a = _mm256_loadu_si256((const __m256i *)y->qs);
            const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(u, _mm256_sign_epi8(a, q)), ones);
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dx * magi_h2f(y->d)), _mm256_cvtepi32_ps(p), acc[t]);
        }
    }
    STORE_TILE(T, out, ldo, accumulate, magi_hsum256_ps(acc[t]))
}
BATCH_FN(batch_q8_0_avx2, q8_0_tile)

// ---- Q4_K / Q5_K x Q8_K ----
MAGI_INLINE MAGI_AVX2 void q45_K_tile(const int is5, const int T, int64_t n, const uint8_t *w, const uint8_t *act,
                                      size_t as, float *out, int64_t ldo, int accumulate) {
    const size_t bsz = is5 ? sizeof(block_q5_K) : sizeof(block_q4_K);
    const int64_t nb = n / QK_K;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc[TILE_MAX];
    __m128 accm[TILE_MAX];
    for (int t = 0; t < T; ++t) { acc[t] = _mm256_setzero_ps(); accm[t] = _mm_setzero_ps(); }
    for (int64_t i = 0; i < nb; ++i) {
        const uint8_t *b = w + (size_t)i * bsz;
        const magi_half *dd = (const magi_half *)b; // d, dmin at the start of both layouts
        const uint8_t *qs = is5 ? ((const block_q5_K *)b)->qs : ((const block_q4_K *)b)->qs;
        uint32_t u[4];
        magi_unpack_k4_scales_u32(b + 4, u);
        const __m128i sc = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)u[1], (int)u[0]));
        const __m128i mn = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)u[3], (int)u[2]));
        const float d = magi_h2f(dd[0]), dmin = magi_h2f(dd[1]);
        for (int t = 0; t < T; ++t) {
            const block_q8_K *y = ACT(block_q8_K, t, i);
            const __m256i bs = _mm256_loadu_si256((const __m256i *)y->bsums);
            const __m128i bsp = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
            accm[t] = _mm_fmadd_ps(_mm_set1_ps(y->d * dmin), _mm_cvtepi32_ps(_mm_madd_epi16(mn, bsp)), accm[t]);
        }
        const __m256i sc2 = _mm256_broadcastsi128_si256(sc);
        const __m256i qh = is5 ? _mm256_loadu_si256((const __m256i *)((const block_q5_K *)b)->qh) : _mm256_setzero_si256();
        __m256i sumi[TILE_MAX];
        for (int t = 0; t < T; ++t) sumi[t] = _mm256_setzero_si256();
        for (int j = 0; j < 4; ++j) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * j));
            __m256i lo = _mm256_and_si256(q, m4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            if (is5) {
                lo = _mm256_or_si256(lo, magi_q5_hbit256(qh, 2 * j));
                hi = _mm256_or_si256(hi, magi_q5_hbit256(qh, 2 * j + 1));
            }
            const __m256i s0 = _mm256_shuffle_epi8(sc2, _mm256_load_si256((const __m256i *)magi_bcast16_masks[2 * j]));
            const __m256i s1 = _mm256_shuffle_epi8(sc2, _mm256_load_si256((const __m256i *)magi_bcast16_masks[2 * j + 1]));
            for (int t = 0; t < T; ++t) {
                const block_q8_K *y = ACT(block_q8_K, t, i);
                const __m256i a0 = _mm256_loadu_si256((const __m256i *)(y->qs + 64 * j));
                const __m256i a1 = _mm256_loadu_si256((const __m256i *)(y->qs + 64 * j + 32));
                sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(_mm256_maddubs_epi16(lo, a0), s0));
                sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(_mm256_maddubs_epi16(hi, a1), s1));
            }
        }
        for (int t = 0; t < T; ++t) {
            const block_q8_K *y = ACT(block_q8_K, t, i);
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(y->d * d), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
        }
    }
    STORE_TILE(T, out, ldo, accumulate, magi_hsum256_ps(acc[t]) - magi_hsum128_ps(accm[t]))
}

MAGI_INLINE MAGI_AVX2 void q4_K_tile(const int T, int64_t n, const uint8_t *w, const uint8_t *act, size_t as,
                                     float *out, int64_t ldo, int accumulate) {
    q45_K_tile(0, T, n, w, act, as, out, ldo, accumulate);
}
MAGI_INLINE MAGI_AVX2 void q5_K_tile(const int T, int64_t n, const uint8_t *w, const uint8_t *act, size_t as,
                                     float *out, int64_t ldo, int accumulate) {
    q45_K_tile(1, T, n, w, act, as, out, ldo, accumulate);
}
BATCH_FN(batch_q4_K_avx2, q4_K_tile)
BATCH_FN(batch_q5_K_avx2, q5_K_tile)

// ---- Q6_K x Q8_K: sum_g sc_g * (sum q*a - 32 * bsum_g), q in [0, 63] ----
MAGI_INLINE MAGI_AVX2 void q6_K_tile(const int T, int64_t n, const uint8_t *w, const uint8_t *act, size_t as,
                                     float *out, int64_t ldo, int accumulate) {
    const block_q6_K *x = (const block_q6_K *)w;
    const int64_t nb = n / QK_K;
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    __m256 acc[TILE_MAX];
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales));
        __m256i sumi[TILE_MAX];
        for (int t = 0; t < T; ++t) {
            const block_q8_K *y = ACT(block_q8_K, t, i);
            const __m256i corr = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y->bsums));
            sumi[t] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(corr, 5));
        }
        for (int h = 0; h < 2; ++h) {
            const __m256i sch = _mm256_broadcastsi128_si256(
                _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(x[i].scales + 8 * h))));
            const __m256i qa = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * h));
            const __m256i qb = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * h + 32));
            const __m256i H = _mm256_loadu_si256((const __m256i *)(x[i].qh + 32 * h));
            for (int k = 0; k < 4; ++k) {
                __m256i q;
                switch (k) {
                case 0: q = _mm256_or_si256(_mm256_and_si256(qa, m4), _mm256_and_si256(_mm256_slli_epi16(H, 4), m30)); break;
                case 1: q = _mm256_or_si256(_mm256_and_si256(qb, m4), _mm256_and_si256(_mm256_slli_epi16(H, 2), m30)); break;
                case 2: q = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qa, 4), m4), _mm256_and_si256(H, m30)); break;
                default: q = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qb, 4), m4), _mm256_and_si256(_mm256_srli_epi16(H, 2), m30)); break;
                }
                const __m256i s = _mm256_shuffle_epi8(sch, _mm256_load_si256((const __m256i *)magi_pair16_masks[k]));
                for (int t = 0; t < T; ++t) {
                    const block_q8_K *y = ACT(block_q8_K, t, i);
                    const __m256i av = _mm256_loadu_si256((const __m256i *)(y->qs + 128 * h + 32 * k));
                    sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(_mm256_maddubs_epi16(q, av), s));
                }
            }
        }
        const float dx = magi_h2f(x[i].d);
        for (int t = 0; t < T; ++t) {
            const block_q8_K *y = ACT(block_q8_K, t, i);
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(y->d * dx), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
        }
    }
    STORE_TILE(T, out, ldo, accumulate, magi_hsum256_ps(acc[t]))
}
BATCH_FN(batch_q6_K_avx2, q6_K_tile)

void magi_init_matvec_batch_avx2(magi_kernel_table *t) {
    t->rows_batch[MAGI_TYPE_Q8_0] = batch_q8_0_avx2;
    t->rows_batch[MAGI_TYPE_Q4_K] = batch_q4_K_avx2;
    t->rows_batch[MAGI_TYPE_Q5_K] = batch_q5_K_avx2;
    t->rows_batch[MAGI_TYPE_Q6_K] = batch_q6_K_avx2;
}

#endif
