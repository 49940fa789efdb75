// Scalar reference kernels: dequantization, activation quantization, integer dot products
// (the same integer sums as ggml's ggml_vec_dot_*), and plain float kernels.
#include "magi_internal.h"

#include <math.h>

// ---------------------------------------------------------------------------------------------
// Dequantization (bit-exact with ggml / gguf-py: same float operations in the same order)
// ---------------------------------------------------------------------------------------------

static void dequant_q4_0(const block_q4_0 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = magi_fp16_to_fp32_ref(x[i].d);
        for (int j = 0; j < QK4_0 / 2; ++j) {
            y[j] = d * (float)((x[i].qs[j] & 0xF) - 8);
            y[j + QK4_0 / 2] = d * (float)((x[i].qs[j] >> 4) - 8);
        }
        y += QK4_0;
    }
}

static void dequant_q4_1(const block_q4_1 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = magi_fp16_to_fp32_ref(x[i].d);
        const float m = magi_fp16_to_fp32_ref(x[i].m);
        for (int j = 0; j < QK4_1 / 2; ++j) {
            y[j] = d * (float)(x[i].qs[j] & 0xF) + m;
            y[j + QK4_1 / 2] = d * (float)(x[i].qs[j] >> 4) + m;
        }
        y += QK4_1;
    }
}

static void dequant_q5_0(const block_q5_0 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = magi_fp16_to_fp32_ref(x[i].d);
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        for (int j = 0; j < QK5_0 / 2; ++j) {
            const int x0 = (x[i].qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4);
            const int x1 = (x[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            y[j] = d * (float)(x0 - 16);
            y[j + QK5_0 / 2] = d * (float)(x1 - 16);
        }
        y += QK5_0;
    }
}

static void dequant_q5_1(const block_q5_1 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = magi_fp16_to_fp32_ref(x[i].d);
        const float m = magi_fp16_to_fp32_ref(x[i].m);
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        for (int j = 0; j < QK5_1 / 2; ++j) {
            const int x0 = (x[i].qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4);
            const int x1 = (x[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            y[j] = d * (float)x0 + m;
            y[j + QK5_1 / 2] = d * (float)x1 + m;
        }
        y += QK5_1;
    }
}

static void dequant_q8_0(const block_q8_0 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = magi_fp16_to_fp32_ref(x[i].d);
        for (int j = 0; j < QK8_0; ++j) y[j] = (float)x[i].qs[j] * d;
        y += QK8_0;
    }
}

static void dequant_q8_1(const block_q8_1 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = magi_fp16_to_fp32_ref(x[i].d);
        for (int j = 0; j < QK8_1; ++j) y[j] = (float)x[i].qs[j] * d;
        y += QK8_1;
    }
}

static void dequant_q2_K(const block_q2_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = magi_fp16_to_fp32_ref(x[i].d);
        const float dmin = magi_fp16_to_fp32_ref(x[i].dmin);
        for (int e = 0; e < QK_K; ++e) {
            const int g = e / 16;                    // scale group
            const int q = (x[i].qs[32 * (e / 128) + (e % 32)] >> (2 * ((e / 32) % 4))) & 3;
            const float dl = d * (float)(x[i].scales[g] & 0xF);
            const float ml = dmin * (float)(x[i].scales[g] >> 4);
            y[e] = dl * (float)q - ml;
        }
        y += QK_K;
    }
}

static void dequant_q3_K(const block_q3_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = magi_fp16_to_fp32_ref(x[i].d);
        uint8_t sc[16];
        magi_unpack_q3_scales(x[i].scales, sc);
        for (int e = 0; e < QK_K; ++e) {
            const int l = e % 32;
            const int lo = (x[i].qs[32 * (e / 128) + l] >> (2 * ((e / 32) % 4))) & 3;
            const int hi = (x[i].hmask[l] >> (e / 32)) & 1;
            const int q = lo - (hi ? 0 : 4);
            const float dl = d * (float)((int)sc[e / 16] - 32);
            y[e] = dl * (float)q;
        }
        y += QK_K;
    }
}

static void dequant_q4_K(const block_q4_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = magi_fp16_to_fp32_ref(x[i].d);
        const float dmin = magi_fp16_to_fp32_ref(x[i].dmin);
        uint8_t sc[8], mn[8];
        magi_unpack_k4_scales(x[i].scales, sc, mn);
        for (int s = 0; s < 8; ++s) {
            const float d1 = d * (float)sc[s];
            const float m1 = dmin * (float)mn[s];
            const uint8_t *q = x[i].qs + 32 * (s / 2);
            const int shift = 4 * (s & 1);
            for (int l = 0; l < 32; ++l) y[32 * s + l] = d1 * (float)((q[l] >> shift) & 0xF) - m1;
        }
        y += QK_K;
    }
}

static void dequant_q5_K(const block_q5_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = magi_fp16_to_fp32_ref(x[i].d);
        const float dmin = magi_fp16_to_fp32_ref(x[i].dmin);
        uint8_t sc[8], mn[8];
        magi_unpack_k4_scales(x[i].scales, sc, mn);
        for (int s = 0; s < 8; ++s) {
            const float d1 = d * (float)sc[s];
            const float m1 = dmin * (float)mn[s];
            const uint8_t *q = x[i].qs + 32 * (s / 2);
            const int shift = 4 * (s & 1);
            for (int l = 0; l < 32; ++l) {
                const int v = ((q[l] >> shift) & 0xF) | (((x[i].qh[l] >> s) & 1) << 4);
                y[32 * s + l] = d1 * (float)v - m1;
            }
        }
        y += QK_K;
    }
}

// Q6_K element e (0..255): half h = e/128, within the half r = e%128, quarter t = r/32, l = r%32.
// low 4 bits: ql[64h + 32*(t&1) + l] nibble (t>>1); high 2 bits: qh[32h + l] >> 2t; scale e/16.
static inline int q6_value(const block_q6_K *b, int e) {
    const int h = e / 128, r = e % 128, t = r / 32, l = r % 32;
    const int lo = (b->ql[64 * h + 32 * (t & 1) + l] >> (4 * (t >> 1))) & 0xF;
    const int hi = (b->qh[32 * h + l] >> (2 * t)) & 3;
    return (lo | (hi << 4)) - 32;
}

static void dequant_q6_K(const block_q6_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = magi_fp16_to_fp32_ref(x[i].d);
        for (int e = 0; e < QK_K; ++e) {
            const float dl = d * (float)x[i].scales[e / 16];
            y[e] = dl * (float)q6_value(&x[i], e);
        }
        y += QK_K;
    }
}

static void dequant_q8_K(const block_q8_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        for (int j = 0; j < QK_K; ++j) y[j] = x[i].d * (float)x[i].qs[j];
        y += QK_K;
    }
}

void magi_dequantize_scalar(int type, const void *src, float *dst, int64_t n) {
    const int64_t nb = n / magi_block_elems(type);
    switch (type) {
    case MAGI_TYPE_F32: memcpy(dst, src, (size_t)n * sizeof(float)); break;
    case MAGI_TYPE_F16: {
        const magi_half *h = src;
        for (int64_t i = 0; i < n; ++i) dst[i] = magi_fp16_to_fp32_ref(h[i]);
        break;
    }
    case MAGI_TYPE_BF16: {
        const uint16_t *h = src;
        for (int64_t i = 0; i < n; ++i) dst[i] = magi_bf16_to_fp32(h[i]);
        break;
    }
    case MAGI_TYPE_Q4_0: dequant_q4_0(src, dst, nb); break;
    case MAGI_TYPE_Q4_1: dequant_q4_1(src, dst, nb); break;
    case MAGI_TYPE_Q5_0: dequant_q5_0(src, dst, nb); break;
    case MAGI_TYPE_Q5_1: dequant_q5_1(src, dst, nb); break;
    case MAGI_TYPE_Q8_0: dequant_q8_0(src, dst, nb); break;
    case MAGI_TYPE_Q8_1: dequant_q8_1(src, dst, nb); break;
    case MAGI_TYPE_Q2_K: dequant_q2_K(src, dst, nb); break;
    case MAGI_TYPE_Q3_K: dequant_q3_K(src, dst, nb); break;
    case MAGI_TYPE_Q4_K: dequant_q4_K(src, dst, nb); break;
    case MAGI_TYPE_Q5_K: dequant_q5_K(src, dst, nb); break;
    case MAGI_TYPE_Q6_K: dequant_q6_K(src, dst, nb); break;
    case MAGI_TYPE_Q8_K: dequant_q8_K(src, dst, nb); break;
    default: break;
    }
}

/// roundf (half away from zero) without a libm call; exact for |v| < 2^31.
static inline int magi_round_away(float v) {
    const int t = (int)v; // truncation
    const float diff = v - (float)t; // exact
    return t + (diff >= 0.5f) - (diff <= -0.5f);
}

// ---------------------------------------------------------------------------------------------
// Activation quantization (ggml's quantize_row_q8_0_ref / q8_1_ref / q8_K_ref)
// ---------------------------------------------------------------------------------------------

static void quantize_q8_0(const float *x, block_q8_0 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; ++j) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.f;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = magi_fp32_to_fp16_ref(d);
        for (int j = 0; j < QK8_0; ++j) y[i].qs[j] = (int8_t)magi_round_away(x[j] * id);
        x += QK8_0;
    }
}

static void quantize_q8_1(const float *x, block_q8_1 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_1; ++j) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.f;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = magi_fp32_to_fp16_ref(d);
        int sum = 0;
        for (int j = 0; j < QK8_1; ++j) {
            const int q = magi_round_away(x[j] * id);
            y[i].qs[j] = (int8_t)q;
            sum += q;
        }
        y[i].s = magi_fp32_to_fp16_ref((float)sum * d);
        x += QK8_1;
    }
}

static void quantize_q8_K(const float *x, block_q8_K *y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        float max = 0, amax = 0;
        for (int j = 0; j < QK_K; ++j) {
            const float ax = fabsf(x[j]);
            if (ax > amax) { amax = ax; max = x[j]; }
        }
        if (!amax) {
            y[i].d = 0;
            memset(y[i].qs, 0, QK_K);
            memset(y[i].bsums, 0, sizeof(y[i].bsums));
            x += QK_K;
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < QK_K; ++j) {
            const int v = magi_nearest_int(iscale * x[j]);
            y[i].qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < QK_K / 16; ++g) {
            int sum = 0;
            for (int l = 0; l < 16; ++l) sum += y[i].qs[16 * g + l];
            y[i].bsums[g] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
        x += QK_K;
    }
}

void magi_quantize_activation(int act_type, const float *x, void *dst, int64_t n) {
    switch (act_type) {
    case MAGI_TYPE_F32: memcpy(dst, x, (size_t)n * sizeof(float)); break;
    case MAGI_TYPE_Q8_0: quantize_q8_0(x, dst, n / QK8_0); break;
    case MAGI_TYPE_Q8_1: quantize_q8_1(x, dst, n / QK8_1); break;
    case MAGI_TYPE_Q8_K: quantize_q8_K(x, dst, n / QK_K); break;
    case MAGI_TYPE_F16: {
        magi_half *h = dst;
        for (int64_t i = 0; i < n; ++i) h[i] = magi_fp32_to_fp16_ref(x[i]);
        break;
    }
    default: break;
    }
}

// ---------------------------------------------------------------------------------------------
// Scalar integer dot products
// ---------------------------------------------------------------------------------------------

static float dot_q4_0_q8_0(int64_t n, const block_q4_0 *x, const block_q8_0 *y) {
    float sumf = 0;
    for (int64_t i = 0; i < n / QK8_0; ++i) {
        int sumi = 0;
        for (int j = 0; j < QK4_0 / 2; ++j) {
            sumi += ((x[i].qs[j] & 0xF) - 8) * y[i].qs[j];
            sumi += ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + QK4_0 / 2];
        }
        sumf += (float)sumi * (magi_fp16_to_fp32_ref(x[i].d) * magi_fp16_to_fp32_ref(y[i].d));
    }
    return sumf;
}

static float dot_q4_1_q8_1(int64_t n, const block_q4_1 *x, const block_q8_1 *y) {
    float sumf = 0;
    for (int64_t i = 0; i < n / QK8_1; ++i) {
        int sumi = 0;
        for (int j = 0; j < QK4_1 / 2; ++j) {
            sumi += (x[i].qs[j] & 0xF) * y[i].qs[j];
            sumi += (x[i].qs[j] >> 4) * y[i].qs[j + QK4_1 / 2];
        }
        sumf += (magi_fp16_to_fp32_ref(x[i].d) * magi_fp16_to_fp32_ref(y[i].d)) * (float)sumi
              + magi_fp16_to_fp32_ref(x[i].m) * magi_fp16_to_fp32_ref(y[i].s);
    }
    return sumf;
}

static float dot_q5_0_q8_0(int64_t n, const block_q5_0 *x, const block_q8_0 *y) {
    float sumf = 0;
    for (int64_t i = 0; i < n / QK8_0; ++i) {
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        int sumi = 0;
        for (int j = 0; j < QK5_0 / 2; ++j) {
            const int x0 = ((x[i].qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4)) - 16;
            const int x1 = ((x[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4)) - 16;
            sumi += x0 * y[i].qs[j] + x1 * y[i].qs[j + QK5_0 / 2];
        }
        sumf += (float)sumi * (magi_fp16_to_fp32_ref(x[i].d) * magi_fp16_to_fp32_ref(y[i].d));
    }
    return sumf;
}

static float dot_q5_1_q8_1(int64_t n, const block_q5_1 *x, const block_q8_1 *y) {
    float sumf = 0;
    for (int64_t i = 0; i < n / QK8_1; ++i) {
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        int sumi = 0;
        for (int j = 0; j < QK5_1 / 2; ++j) {
            const int x0 = (x[i].qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4);
            const int x1 = (x[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            sumi += x0 * y[i].qs[j] + x1 * y[i].qs[j + QK5_1 / 2];
        }
        sumf += (magi_fp16_to_fp32_ref(x[i].d) * magi_fp16_to_fp32_ref(y[i].d)) * (float)sumi
              + magi_fp16_to_fp32_ref(x[i].m) * magi_fp16_to_fp32_ref(y[i].s);
    }
    return sumf;
}

static float dot_q8_0_q8_0(int64_t n, const block_q8_0 *x, const block_q8_0 *y) {
    float sumf = 0;
    for (int64_t i = 0; i < n / QK8_0; ++i) {
        int sumi = 0;
        for (int j = 0; j < QK8_0; ++j) sumi += x[i].qs[j] * y[i].qs[j];
        sumf += (float)sumi * (magi_fp16_to_fp32_ref(x[i].d) * magi_fp16_to_fp32_ref(y[i].d));
    }
    return sumf;
}

static float dot_q2_K_q8_K(int64_t n, const block_q2_K *x, const block_q8_K *y) {
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        int summs = 0, isum = 0;
        for (int g = 0; g < 16; ++g) summs += y[i].bsums[g] * (x[i].scales[g] >> 4);
        for (int e = 0; e < QK_K; ++e) {
            const int q = (x[i].qs[32 * (e / 128) + (e % 32)] >> (2 * ((e / 32) % 4))) & 3;
            isum += (x[i].scales[e / 16] & 0xF) * q * y[i].qs[e];
        }
        const float dall = y[i].d * magi_fp16_to_fp32_ref(x[i].d);
        const float dmin = y[i].d * magi_fp16_to_fp32_ref(x[i].dmin);
        sumf += dall * (float)isum - dmin * (float)summs;
    }
    return sumf;
}

static float dot_q3_K_q8_K(int64_t n, const block_q3_K *x, const block_q8_K *y) {
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        uint8_t sc[16];
        magi_unpack_q3_scales(x[i].scales, sc);
        int isum = 0;
        for (int g = 0; g < 16; ++g) {
            int s = 0;
            for (int e = 16 * g; e < 16 * g + 16; ++e) {
                const int l = e % 32;
                const int lo = (x[i].qs[32 * (e / 128) + l] >> (2 * ((e / 32) % 4))) & 3;
                const int hi = (x[i].hmask[l] >> (e / 32)) & 1;
                s += (lo - (hi ? 0 : 4)) * y[i].qs[e];
            }
            isum += ((int)sc[g] - 32) * s;
        }
        sumf += (magi_fp16_to_fp32_ref(x[i].d) * y[i].d) * (float)isum;
    }
    return sumf;
}

static float dot_q4_K_q8_K(int64_t n, const block_q4_K *x, const block_q8_K *y) {
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        uint8_t sc[8], mn[8];
        magi_unpack_k4_scales(x[i].scales, sc, mn);
        int isum = 0, summs = 0;
        for (int s = 0; s < 8; ++s) {
            const uint8_t *q = x[i].qs + 32 * (s / 2);
            const int shift = 4 * (s & 1);
            int t = 0;
            for (int l = 0; l < 32; ++l) t += ((q[l] >> shift) & 0xF) * y[i].qs[32 * s + l];
            isum += sc[s] * t;
            summs += mn[s] * (y[i].bsums[2 * s] + y[i].bsums[2 * s + 1]);
        }
        const float d = y[i].d * magi_fp16_to_fp32_ref(x[i].d);
        const float dmin = y[i].d * magi_fp16_to_fp32_ref(x[i].dmin);
        sumf += d * (float)isum - dmin * (float)summs;
    }
    return sumf;
}

static float dot_q5_K_q8_K(int64_t n, const block_q5_K *x, const block_q8_K *y) {
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        uint8_t sc[8], mn[8];
        magi_unpack_k4_scales(x[i].scales, sc, mn);
        int isum = 0, summs = 0;
        for (int s = 0; s < 8; ++s) {
            const uint8_t *q = x[i].qs + 32 * (s / 2);
            const int shift = 4 * (s & 1);
            int t = 0;
            for (int l = 0; l < 32; ++l) {
                const int v = ((q[l] >> shift) & 0xF) | (((x[i].qh[l] >> s) & 1) << 4);
                t += v * y[i].qs[32 * s + l];
            }
            isum += sc[s] * t;
            summs += mn[s] * (y[i].bsums[2 * s] + y[i].bsums[2 * s + 1]);
        }
        const float d = y[i].d * magi_fp16_to_fp32_ref(x[i].d);
        const float dmin = y[i].d * magi_fp16_to_fp32_ref(x[i].dmin);
        sumf += d * (float)isum - dmin * (float)summs;
    }
    return sumf;
}

static float dot_q6_K_q8_K(int64_t n, const block_q6_K *x, const block_q8_K *y) {
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        int isum = 0;
        for (int g = 0; g < 16; ++g) {
            int s = 0;
            for (int e = 16 * g; e < 16 * g + 16; ++e) s += q6_value(&x[i], e) * y[i].qs[e];
            isum += x[i].scales[g] * s;
        }
        sumf += (magi_fp16_to_fp32_ref(x[i].d) * y[i].d) * (float)isum;
    }
    return sumf;
}

// Float weights against f32 activations: 8 partial sums (the same shape as the SIMD kernels,
// error bound ~ (n/8 + 3) ulp of sum |w a|).
#define MAGI_FLOAT_DOT(NAME, T, CONV)                                                          \
    static float NAME(int64_t n, const T *w, const float *a) {                                  \
        float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                                  \
        int64_t i = 0;                                                                          \
        for (; i + 8 <= n; i += 8)                                                              \
            for (int k = 0; k < 8; ++k) s[k] += CONV(w[i + k]) * a[i + k];                      \
        for (; i < n; ++i) s[i & 7] += CONV(w[i]) * a[i];                                       \
        return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));               \
    }
#define MAGI_ID(x) (x)
MAGI_FLOAT_DOT(dot_f32_f32, float, MAGI_ID)
MAGI_FLOAT_DOT(dot_f16_f32, magi_half, magi_fp16_to_fp32_ref)
MAGI_FLOAT_DOT(dot_bf16_f32, uint16_t, magi_bf16_to_fp32)

float magi_vec_dot_scalar(int type, int64_t n, const void *w, const void *act) {
    switch (type) {
    case MAGI_TYPE_F32: return dot_f32_f32(n, w, act);
    case MAGI_TYPE_F16: return dot_f16_f32(n, w, act);
    case MAGI_TYPE_BF16: return dot_bf16_f32(n, w, act);
    case MAGI_TYPE_Q4_0: return dot_q4_0_q8_0(n, w, act);
    case MAGI_TYPE_Q4_1: return dot_q4_1_q8_1(n, w, act);
    case MAGI_TYPE_Q5_0: return dot_q5_0_q8_0(n, w, act);
    case MAGI_TYPE_Q5_1: return dot_q5_1_q8_1(n, w, act);
    case MAGI_TYPE_Q8_0: return dot_q8_0_q8_0(n, w, act);
    case MAGI_TYPE_Q2_K: return dot_q2_K_q8_K(n, w, act);
    case MAGI_TYPE_Q3_K: return dot_q3_K_q8_K(n, w, act);
    case MAGI_TYPE_Q4_K: return dot_q4_K_q8_K(n, w, act);
    case MAGI_TYPE_Q5_K: return dot_q5_K_q8_K(n, w, act);
    case MAGI_TYPE_Q6_K: return dot_q6_K_q8_K(n, w, act);
    default: return 0.0f;
    }
}

static float scalar_dot_f32(int64_t n, const float *a, const float *b) { return dot_f32_f32(n, a, b); }

static void scalar_axpy_f32(int64_t n, float alpha, const float *x, float *y) {
    for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

static void scalar_axpy_f16(int64_t n, float alpha, const magi_half *x, float *y) {
    for (int64_t i = 0; i < n; ++i) y[i] += alpha * magi_fp16_to_fp32_ref(x[i]);
}

static void scalar_f32_to_f16(int64_t n, const float *x, magi_half *y) {
    for (int64_t i = 0; i < n; ++i) y[i] = magi_fp32_to_fp16_ref(x[i]);
}

static void scalar_softmax(int64_t n, float *x) {
    if (n <= 0) return;
    float mx = x[0];
    for (int64_t i = 1; i < n; ++i) mx = fmaxf(mx, x[i]);
    float sum = 0;
    for (int64_t i = 0; i < n; ++i) { x[i] = expf(x[i] - mx); sum += x[i]; }
    const float inv = 1.0f / sum;
    for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

static void scalar_swiglu(int64_t n, float *gate, const float *up) {
    for (int64_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

static void scalar_weighted_sum_f16(const void *rows, size_t rb, int64_t n, int64_t width, const float *w, float *out) {
    for (int64_t c = 0; c < width; ++c) out[c] = 0;
    for (int64_t t = 0; t < n; ++t) scalar_axpy_f16(width, w[t], (const magi_half *)((const uint8_t *)rows + (size_t)t * rb), out);
}

static void scalar_weighted_sum_f32(const void *rows, size_t rb, int64_t n, int64_t width, const float *w, float *out) {
    for (int64_t c = 0; c < width; ++c) out[c] = 0;
    for (int64_t t = 0; t < n; ++t) scalar_axpy_f32(width, w[t], (const float *)((const uint8_t *)rows + (size_t)t * rb), out);
}

/// out = Σ_t w[t] · row_t over Q8_0 rows (the 8-bit KV cache's values): each block's scale folds
/// into the weight, so a block costs 32 multiply-adds.
static void scalar_weighted_sum_q8_0(const void *rows, size_t rb, int64_t n, int64_t width, const float *w, float *out) {
    for (int64_t c = 0; c < width; ++c) out[c] = 0;
    for (int64_t t = 0; t < n; ++t) {
        const block_q8_0 *b = (const block_q8_0 *)((const uint8_t *)rows + (size_t)t * rb);
        for (int64_t i = 0; i < width / QK8_0; ++i) {
            const float s = w[t] * magi_fp16_to_fp32_ref(b[i].d);
            float *o = out + i * QK8_0;
            for (int j = 0; j < QK8_0; ++j) o[j] += s * (float)b[i].qs[j];
        }
    }
}

void magi_init_scalar_table(magi_kernel_table *t) {
    memset(t, 0, sizeof(*t));
    t->name = "scalar";
    t->dot_f32 = scalar_dot_f32;
    t->axpy_f32 = scalar_axpy_f32;
    t->axpy_f16 = scalar_axpy_f16;
    t->f32_to_f16 = scalar_f32_to_f16;
    t->softmax = scalar_softmax;
    t->weighted_sum_f16 = scalar_weighted_sum_f16;
    t->weighted_sum_f32 = scalar_weighted_sum_f32;
    t->weighted_sum_q8_0 = scalar_weighted_sum_q8_0;
    t->swiglu = scalar_swiglu;
    t->gemm_panel = magi_gemm_panel_scalar;
    t->gemm_quantize = magi_gemm_quantize_scalar;
}
