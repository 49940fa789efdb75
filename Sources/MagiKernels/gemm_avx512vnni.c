// AVX-512 VNNI gemm panel kernel (see gemm.c for the packed formats): one vpdpbusd multiplies
// 4 values of each of the panel's 16 rows with 4 values of one activation row, so a register of
// packed weights is loaded once and used for up to 8 activation rows.
#include "kernels_x86_common.h"

#if defined(__x86_64__) || defined(__i386__)

#define MAGI_VNNI_T __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

/// C activation rows (C ≤ 8) against one panel; G and HM (has min) are compile-time constants.
MAGI_INLINE MAGI_VNNI_T void panel_cols(const int C, const int G, const int HM, const uint8_t *panel, int64_t ng,
                                        const uint8_t *act, size_t stride, float *y, int64_t ldy, __mmask16 mask,
                                        int accumulate) {
    const size_t gb = MAGI_GEMM_GROUP_BYTES(G);
    __m512 acc[8];
    const float *da[8];
    const uint8_t *qa[8];
    for (int c = 0; c < C; ++c) {
        acc[c] = _mm512_setzero_ps();
        da[c] = (const float *)(act + (size_t)c * stride);
        qa[c] = act + (size_t)c * stride + 2 * sizeof(float) * (size_t)ng;
    }
    for (int64_t g = 0; g < ng; ++g) {
        const uint8_t *p = panel + (size_t)g * gb;
        const __m512i corr = _mm512_load_si512((const void *)p);
        __m512i ia[8];
        for (int c = 0; c < C; ++c) ia[c] = corr;
        for (int kq = 0; kq < G / 4; ++kq) {
            const __m512i w = _mm512_load_si512((const void *)(p + 192 + 64 * kq));
            for (int c = 0; c < C; ++c) {
                int32_t a4;
                memcpy(&a4, qa[c] + g * G + 4 * kq, 4);
                ia[c] = _mm512_dpbusd_epi32(ia[c], _mm512_set1_epi32(a4), w);
            }
        }
        const __m512 dw = _mm512_load_ps((const void *)(p + 64));
        for (int c = 0; c < C; ++c)
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia[c]), _mm512_mul_ps(dw, _mm512_set1_ps(da[c][g])), acc[c]);
        if (HM) {
            const __m512 mw = _mm512_load_ps((const void *)(p + 128));
            for (int c = 0; c < C; ++c) acc[c] = _mm512_fmadd_ps(mw, _mm512_set1_ps(da[c][ng + g]), acc[c]);
        }
    }
    for (int c = 0; c < C; ++c) {
        float *yc = y + (int64_t)c * ldy;
        if (accumulate) acc[c] = _mm512_add_ps(acc[c], _mm512_maskz_loadu_ps(mask, yc));
        _mm512_mask_storeu_ps(yc, mask, acc[c]);
    }
}

#define PANEL_FN(NAME, G, HM)                                                                        \
    static MAGI_VNNI_T void NAME(const uint8_t *panel, int64_t ng, const uint8_t *act, size_t stride, \
                                 int64_t n, float *y, int64_t ldy, __mmask16 mask, int acc) {        \
        int64_t j = 0;                                                                               \
        for (; j + 8 <= n; j += 8)                                                                   \
            panel_cols(8, G, HM, panel, ng, act + (size_t)j * stride, stride, y + j * ldy, ldy, mask, acc); \
        const uint8_t *a = act + (size_t)j * stride;                                                 \
        float *yj = y + j * ldy;                                                                     \
        switch (n - j) {                                                                             \
        case 1: panel_cols(1, G, HM, panel, ng, a, stride, yj, ldy, mask, acc); break;                    \
        case 2: panel_cols(2, G, HM, panel, ng, a, stride, yj, ldy, mask, acc); break;                    \
        case 3: panel_cols(3, G, HM, panel, ng, a, stride, yj, ldy, mask, acc); break;                    \
        case 4: panel_cols(4, G, HM, panel, ng, a, stride, yj, ldy, mask, acc); break;                    \
        case 5: panel_cols(5, G, HM, panel, ng, a, stride, yj, ldy, mask, acc); break;                    \
        case 6: panel_cols(6, G, HM, panel, ng, a, stride, yj, ldy, mask, acc); break;                    \
        case 7: panel_cols(7, G, HM, panel, ng, a, stride, yj, ldy, mask, acc); break;                    \
        default: break;                                                                              \
        }                                                                                            \
    }
PANEL_FN(panel_g32, 32, 0)
PANEL_FN(panel_g32_min, 32, 1)
PANEL_FN(panel_g16, 16, 0)
PANEL_FN(panel_g16_min, 16, 1)

static MAGI_VNNI_T void gemm_panel_avx512vnni(const uint8_t *panel, int64_t k, int group, int has_min,
                                              const uint8_t *act, size_t act_stride, int64_t n, float *y,
                                              int64_t ldy, int rows, int accumulate) {
    const __mmask16 mask = (__mmask16)((1u << rows) - 1);
    const int64_t ng = k / group;
    if (group == 32) (has_min ? panel_g32_min : panel_g32)(panel, ng, act, act_stride, n, y, ldy, mask, accumulate);
    else (has_min ? panel_g16_min : panel_g16)(panel, ng, act, act_stride, n, y, ldy, mask, accumulate);
}

/// The scalar quantizer's arithmetic (nearest-even rounding of x / d), 16 values at a time.
static MAGI_VNNI_T void gemm_quantize_avx512vnni(const float *x, int64_t k, int group, uint8_t *dst) {
    const int64_t ng = k / group;
    float *d = (float *)dst, *s = d + ng;
    uint8_t *q = dst + 2 * sizeof(float) * (size_t)ng;
    const __m512 signless = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    const __m512i bias = _mm512_set1_epi32(128);
    for (int64_t g = 0; g < ng; ++g) {
        const float *xg = x + g * group;
        const __m512 x0 = _mm512_loadu_ps(xg);
        const __m512 x1 = group == 32 ? _mm512_loadu_ps(xg + 16) : _mm512_setzero_ps();
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_and_ps(x0, signless), _mm512_and_ps(x1, signless)));
        const float dg = amax / 127.f, id = dg ? 1.0f / dg : 0.0f;
        const __m512 vid = _mm512_set1_ps(id);
        const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, vid));
        const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, vid));
        _mm_storeu_si128((__m128i *)(q + g * group), _mm512_cvtepi32_epi8(_mm512_add_epi32(q0, bias)));
        if (group == 32) _mm_storeu_si128((__m128i *)(q + g * group + 16), _mm512_cvtepi32_epi8(_mm512_add_epi32(q1, bias)));
        d[g] = dg;
        s[g] = dg * (float)_mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    }
}

void magi_init_gemm_avx512vnni(magi_kernel_table *t) {
    t->gemm_panel = gemm_panel_avx512vnni;
    t->gemm_quantize = gemm_quantize_avx512vnni;
    t->gemm_fast = 1;
}

#endif
