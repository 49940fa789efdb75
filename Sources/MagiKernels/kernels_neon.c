// NEON kernels for AArch64 (baseline ARMv8.0 NEON: no dotprod requirement). Types without a
// NEON kernel here use the scalar reference through the dispatcher.
#include "magi_internal.h"

#if defined(__aarch64__)
#include <arm_neon.h>

static inline int32x4_t dot_s8x16(int32x4_t acc, int8x16_t a, int8x16_t b) {
    const int16x8_t lo = vmull_s8(vget_low_s8(a), vget_low_s8(b));
    const int16x8_t hi = vmull_high_s8(a, b);
    return vpadalq_s16(vpadalq_s16(acc, lo), hi);
}

static float neon_q8_0(int64_t n, const block_q8_0 *x, const block_q8_0 *y) {
    float32x4_t acc = vdupq_n_f32(0);
    for (int64_t i = 0; i < n / QK8_0; ++i) {
        int32x4_t s = vdupq_n_s32(0);
        s = dot_s8x16(s, vld1q_s8(x[i].qs), vld1q_s8(y[i].qs));
        s = dot_s8x16(s, vld1q_s8(x[i].qs + 16), vld1q_s8(y[i].qs + 16));
        acc = vmlaq_n_f32(acc, vcvtq_f32_s32(s), magi_fp16_to_fp32_ref(x[i].d) * magi_fp16_to_fp32_ref(y[i].d));
    }
    return vaddvq_f32(acc);
}

static float neon_q4_0(int64_t n, const block_q4_0 *x, const block_q8_0 *y) {
    float32x4_t acc = vdupq_n_f32(0);
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    const int8x16_t s8 = vdupq_n_s8(8);
    for (int64_t i = 0; i < n / QK8_0; ++i) {
        const uint8x16_t q = vld1q_u8(x[i].qs);
        const int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, m4)), s8);
        const int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), s8);
        int32x4_t s = dot_s8x16(vdupq_n_s32(0), lo, vld1q_s8(y[i].qs));
        s = dot_s8x16(s, hi, vld1q_s8(y[i].qs + 16));
        acc = vmlaq_n_f32(acc, vcvtq_f32_s32(s), magi_fp16_to_fp32_ref(x[i].d) * magi_fp16_to_fp32_ref(y[i].d));
    }
    return vaddvq_f32(acc);
}

static float neon_q4_1(int64_t n, const block_q4_1 *x, const block_q8_1 *y) {
    float32x4_t acc = vdupq_n_f32(0);
    float summ = 0;
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    for (int64_t i = 0; i < n / QK8_1; ++i) {
        const uint8x16_t q = vld1q_u8(x[i].qs);
        const int8x16_t lo = vreinterpretq_s8_u8(vandq_u8(q, m4));
        const int8x16_t hi = vreinterpretq_s8_u8(vshrq_n_u8(q, 4));
        int32x4_t s = dot_s8x16(vdupq_n_s32(0), lo, vld1q_s8(y[i].qs));
        s = dot_s8x16(s, hi, vld1q_s8(y[i].qs + 16));
        acc = vmlaq_n_f32(acc, vcvtq_f32_s32(s), magi_fp16_to_fp32_ref(x[i].d) * magi_fp16_to_fp32_ref(y[i].d));
        summ += magi_fp16_to_fp32_ref(x[i].m) * magi_fp16_to_fp32_ref(y[i].s);
    }
    return vaddvq_f32(acc) + summ;
}

#define NEON_ROWS(NAME, FN, WT, AT)                                                              \
    static void NAME(int64_t n, const void *w, size_t rb, int64_t nrows, const void *act,       \
                     float *out) {                                                              \
        for (int64_t r = 0; r < nrows; ++r)                                                     \
            out[r] = FN(n, (const WT *)((const uint8_t *)w + (size_t)r * rb), (const AT *)act); \
    }
NEON_ROWS(rows_q8_0_neon, neon_q8_0, block_q8_0, block_q8_0)
NEON_ROWS(rows_q4_0_neon, neon_q4_0, block_q4_0, block_q8_0)
NEON_ROWS(rows_q4_1_neon, neon_q4_1, block_q4_1, block_q8_1)

static float neon_dot_f32(int64_t n, const float *a, const float *b) {
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
    }
    float s = vaddvq_f32(vaddq_f32(s0, s1));
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
}

static void neon_axpy_f32(int64_t n, float alpha, const float *x, float *y) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), alpha));
    for (; i < n; ++i) y[i] += alpha * x[i];
}

static void rows_f32_neon(int64_t n, const void *w, size_t rb, int64_t nrows, const void *act, float *out) {
    for (int64_t r = 0; r < nrows; ++r) out[r] = neon_dot_f32(n, (const float *)((const uint8_t *)w + (size_t)r * rb), act);
}

void magi_init_neon_table(magi_kernel_table *t) {
    t->name = "neon";
    t->rows[MAGI_TYPE_F32] = rows_f32_neon;
    t->rows[MAGI_TYPE_Q8_0] = rows_q8_0_neon;
    t->rows[MAGI_TYPE_Q4_0] = rows_q4_0_neon;
    t->rows[MAGI_TYPE_Q4_1] = rows_q4_1_neon;
    t->dot_f32 = neon_dot_f32;
    t->axpy_f32 = neon_axpy_f32;
}

#else
// Keeps this translation unit non-empty on other architectures.
typedef int magi_kernels_neon_unused;
#endif
