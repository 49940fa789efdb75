// AVX2 gemm panel kernel (see gemm.c for the packed formats), also used by AVX-512 CPUs without
// VNNI. vpmaddubsw needs an unsigned operand, so it multiplies |w| with the activation carrying
// w's sign (no 16-bit saturation: |w| ≤ 128, |a| ≤ 127); the panel's -128·Σw term is not needed.
#include "kernels_x86_common.h"

#include <math.h>

#if defined(__x86_64__) || defined(__i386__)

/// C activation rows (C ≤ 2) against one panel: rows 0-7 and 8-15 in two registers each.
MAGI_INLINE MAGI_AVX2 void panel_cols_avx2(const int C, const int G, const int HM, const uint8_t *panel, int64_t ng,
                                           const uint8_t *act, size_t stride, float *y, int64_t ldy, int rows,
                                           int accumulate) {
    const size_t gb = MAGI_GEMM_GROUP_BYTES(G);
    const __m256i ones = _mm256_set1_epi16(1), flip = _mm256_set1_epi8((char)0x80);
    __m256 acc[2][2];
    const float *da[2];
    const uint8_t *qa[2];
    for (int c = 0; c < C; ++c) {
        acc[c][0] = acc[c][1] = _mm256_setzero_ps();
        da[c] = (const float *)(act + (size_t)c * stride);
        qa[c] = act + (size_t)c * stride + 2 * sizeof(float) * (size_t)ng;
    }
    for (int64_t g = 0; g < ng; ++g) {
        const uint8_t *p = panel + (size_t)g * gb;
        __m256i ia[2][2];
        for (int c = 0; c < C; ++c) ia[c][0] = ia[c][1] = _mm256_setzero_si256();
        for (int kq = 0; kq < G / 4; ++kq) {
            const __m256i w0 = _mm256_load_si256((const __m256i *)(p + 192 + 64 * kq));
            const __m256i w1 = _mm256_load_si256((const __m256i *)(p + 224 + 64 * kq));
            const __m256i u0 = _mm256_abs_epi8(w0), u1 = _mm256_abs_epi8(w1);
            for (int c = 0; c < C; ++c) {
                int32_t a4;
                memcpy(&a4, qa[c] + g * G + 4 * kq, 4);
                const __m256i a = _mm256_xor_si256(_mm256_set1_epi32(a4), flip); // q + 128 -> q
                ia[c][0] = _mm256_add_epi32(ia[c][0], _mm256_madd_epi16(_mm256_maddubs_epi16(u0, _mm256_sign_epi8(a, w0)), ones));
                ia[c][1] = _mm256_add_epi32(ia[c][1], _mm256_madd_epi16(_mm256_maddubs_epi16(u1, _mm256_sign_epi8(a, w1)), ones));
            }
        }
        for (int h = 0; h < 2; ++h) {
            const __m256 dw = _mm256_load_ps((const float *)(p + 64) + 8 * h);
            const __m256 mw = _mm256_load_ps((const float *)(p + 128) + 8 * h);
            for (int c = 0; c < C; ++c) {
                acc[c][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ia[c][h]), _mm256_mul_ps(dw, _mm256_set1_ps(da[c][g])), acc[c][h]);
                if (HM) acc[c][h] = _mm256_fmadd_ps(mw, _mm256_set1_ps(da[c][ng + g]), acc[c][h]);
            }
        }
    }
    for (int c = 0; c < C; ++c) {
        float out[16];
        _mm256_storeu_ps(out, acc[c][0]);
        _mm256_storeu_ps(out + 8, acc[c][1]);
        float *yc = y + (int64_t)c * ldy;
        for (int r = 0; r < rows; ++r) yc[r] = accumulate ? yc[r] + out[r] : out[r];
    }
}

#define PANEL_FN_AVX2(NAME, G, HM)                                                                    \
    static MAGI_AVX2 void NAME(const uint8_t *panel, int64_t ng, const uint8_t *act, size_t stride,     \
                               int64_t n, float *y, int64_t ldy, int rows, int acc) {                  \
        int64_t j = 0;                                                                                 \
        for (; j + 2 <= n; j += 2)                                                                     \
            panel_cols_avx2(2, G, HM, panel, ng, act + (size_t)j * stride, stride, y + j * ldy, ldy, rows, acc); \
        if (j < n) panel_cols_avx2(1, G, HM, panel, ng, act + (size_t)j * stride, stride, y + j * ldy, ldy, rows, acc); \
    }
PANEL_FN_AVX2(panel_g32_avx2, 32, 0)
PANEL_FN_AVX2(panel_g32_min_avx2, 32, 1)
PANEL_FN_AVX2(panel_g16_avx2, 16, 0)
PANEL_FN_AVX2(panel_g16_min_avx2, 16, 1)

static MAGI_AVX2 void gemm_panel_avx2(const uint8_t *panel, int64_t k, int group, int has_min, const uint8_t *act,
                                      size_t act_stride, int64_t n, float *y, int64_t ldy, int rows, int accumulate) {
    const int64_t ng = k / group;
    if (group == 32) (has_min ? panel_g32_min_avx2 : panel_g32_avx2)(panel, ng, act, act_stride, n, y, ldy, rows, accumulate);
    else (has_min ? panel_g16_min_avx2 : panel_g16_avx2)(panel, ng, act, act_stride, n, y, ldy, rows, accumulate);
}

/// The scalar quantizer's arithmetic (nearest-even rounding of x / d), 8 values at a time.
static MAGI_AVX2 void gemm_quantize_avx2(const float *x, int64_t k, int group, uint8_t *dst) {
    const int64_t ng = k / group;
    float *d = (float *)dst, *s = d + ng;
    uint8_t *q = dst + 2 * sizeof(float) * (size_t)ng;
    const __m256 signless = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t g = 0; g < ng; ++g) {
        const float *xg = x + g * group;
        __m256 m = _mm256_setzero_ps();
        for (int i = 0; i < group; i += 8) m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(xg + i), signless));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        const float dg = amax / 127.f, id = dg ? 1.0f / dg : 0.0f;
        const __m256 vid = _mm256_set1_ps(id);
        __m256i sum = _mm256_setzero_si256();
        for (int i = 0; i < group; i += 8) {
            const __m256i v = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xg + i), vid));
            sum = _mm256_add_epi32(sum, v);
            int32_t lanes[8];
            _mm256_storeu_si256((__m256i *)lanes, v);
            for (int l = 0; l < 8; ++l) q[g * group + i + l] = (uint8_t)(lanes[l] + 128);
        }
        int32_t lanes[8];
        _mm256_storeu_si256((__m256i *)lanes, sum);
        int total = 0;
        for (int l = 0; l < 8; ++l) total += lanes[l];
        d[g] = dg;
        s[g] = dg * (float)total;
    }
}

void magi_init_gemm_avx2(magi_kernel_table *t) {
    t->gemm_panel = gemm_panel_avx2;
    t->gemm_quantize = gemm_quantize_avx2;
    t->gemm_fast = 1;
}

#endif
