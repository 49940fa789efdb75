// Integer matrix-matrix products for batches (prompt processing): Y = X · Wᵀ with W quantized.
//
// The weights stay in the mapped file. Each thread unpacks 16 rows at a time (a panel) into
// signed 8-bit values with one float scale (and min) per group of 16 or 32 values, interleaved
// so that one 512-bit register holds 4 consecutive values of each of the 16 rows; the panel is
// then multiplied with every activation row. Unpacking costs one pass over the weights per
// batch, so it is amortised over the batch's rows. Activations are quantized per group to
// unsigned bytes q + 128 with a float scale; the -128·Σw correction is precomputed per panel.
#include "magi_internal.h"

#include <math.h>

/// Group size of the weight type in the packed format (the finest scale granularity), or 0.
int magi_gemm_group(int type) {
    switch (type) {
    case MAGI_TYPE_Q4_0: case MAGI_TYPE_Q4_1: case MAGI_TYPE_Q5_0: case MAGI_TYPE_Q5_1:
    case MAGI_TYPE_Q8_0: case MAGI_TYPE_Q4_K: case MAGI_TYPE_Q5_K:
        return 32;
    case MAGI_TYPE_Q2_K: case MAGI_TYPE_Q3_K: case MAGI_TYPE_Q6_K:
        return 16;
    default:
        return 0;
    }
}

static int gemm_has_min(int type) {
    return type == MAGI_TYPE_Q4_1 || type == MAGI_TYPE_Q5_1 || type == MAGI_TYPE_Q2_K ||
           type == MAGI_TYPE_Q4_K || type == MAGI_TYPE_Q5_K;
}

size_t magi_gemm_act_row_bytes(int group, int64_t k) {
    const size_t raw = (size_t)k + 2 * sizeof(float) * (size_t)(k / group);
    return (raw + 63) & ~(size_t)63;
}

size_t magi_gemm_activation_bytes(int weight_type, int64_t k, int64_t n) {
    const int g = magi_gemm_group(weight_type);
    return g ? (size_t)n * magi_gemm_act_row_bytes(g, k) : 0;
}

size_t magi_gemm_scratch_bytes(int weight_type, int64_t k) {
    const int g = magi_gemm_group(weight_type);
    if (!g) return 0;
    const size_t row = (size_t)((k + 63) & ~(int64_t)63) + 2 * sizeof(float) * (size_t)(k / 16);
    return (size_t)(k / g) * MAGI_GEMM_GROUP_BYTES(g) + row;
}

// ---- unpacking one weight row into int8 values, per-group scales and mins ----
// value_i = d[g] * q_i + m[g] with g = i / group: exactly the dequantized weight up to the
// rounding of d*q + m (the products d*q are exact integers times d; only K-quants round d*sc).

static void unpack_row(int type, const uint8_t *src, int64_t k, int8_t *q, float *d, float *m) {
    switch (type) {
    case MAGI_TYPE_Q4_0:
        for (int64_t b = 0; b < k / 32; ++b) {
            const block_q4_0 *x = (const block_q4_0 *)src + b;
            d[b] = magi_fp16_to_fp32_ref(x->d); m[b] = 0;
            for (int j = 0; j < 16; ++j) {
                q[32 * b + j] = (int8_t)((x->qs[j] & 0xF) - 8);
                q[32 * b + j + 16] = (int8_t)((x->qs[j] >> 4) - 8);
            }
        }
        break;
    case MAGI_TYPE_Q4_1:
        for (int64_t b = 0; b < k / 32; ++b) {
            const block_q4_1 *x = (const block_q4_1 *)src + b;
            d[b] = magi_fp16_to_fp32_ref(x->d); m[b] = magi_fp16_to_fp32_ref(x->m);
            for (int j = 0; j < 16; ++j) {
                q[32 * b + j] = (int8_t)(x->qs[j] & 0xF);
                q[32 * b + j + 16] = (int8_t)(x->qs[j] >> 4);
            }
        }
        break;
    case MAGI_TYPE_Q5_0: case MAGI_TYPE_Q5_1: {
        const int is1 = type == MAGI_TYPE_Q5_1;
        for (int64_t b = 0; b < k / 32; ++b) {
            const uint8_t *x = src + (size_t)b * (is1 ? sizeof(block_q5_1) : sizeof(block_q5_0));
            const block_q5_0 *x0 = (const block_q5_0 *)x;
            const block_q5_1 *x1 = (const block_q5_1 *)x;
            const uint8_t *qs = is1 ? x1->qs : x0->qs;
            uint32_t qh;
            memcpy(&qh, is1 ? x1->qh : x0->qh, 4);
            d[b] = magi_fp16_to_fp32_ref(is1 ? x1->d : x0->d);
            m[b] = is1 ? magi_fp16_to_fp32_ref(x1->m) : 0;
            const int off = is1 ? 0 : 16;
            for (int j = 0; j < 16; ++j) {
                q[32 * b + j] = (int8_t)(((qs[j] & 0xF) | (((qh >> j) & 1) << 4)) - off);
                q[32 * b + j + 16] = (int8_t)(((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - off);
            }
        }
        break;
    }
    case MAGI_TYPE_Q8_0:
        for (int64_t b = 0; b < k / 32; ++b) {
            const block_q8_0 *x = (const block_q8_0 *)src + b;
            d[b] = magi_fp16_to_fp32_ref(x->d); m[b] = 0;
            memcpy(q + 32 * b, x->qs, 32);
        }
        break;
    case MAGI_TYPE_Q2_K:
        for (int64_t b = 0; b < k / QK_K; ++b) {
            const block_q2_K *x = (const block_q2_K *)src + b;
            const float dd = magi_fp16_to_fp32_ref(x->d), dmin = magi_fp16_to_fp32_ref(x->dmin);
            for (int e = 0; e < QK_K; ++e)
                q[QK_K * b + e] = (int8_t)((x->qs[32 * (e / 128) + (e % 32)] >> (2 * ((e / 32) % 4))) & 3);
            for (int g = 0; g < 16; ++g) {
                d[16 * b + g] = dd * (float)(x->scales[g] & 0xF);
                m[16 * b + g] = -(dmin * (float)(x->scales[g] >> 4));
            }
        }
        break;
    case MAGI_TYPE_Q3_K:
        for (int64_t b = 0; b < k / QK_K; ++b) {
            const block_q3_K *x = (const block_q3_K *)src + b;
            const float dd = magi_fp16_to_fp32_ref(x->d);
            uint8_t sc[16];
            magi_unpack_q3_scales(x->scales, sc);
            for (int e = 0; e < QK_K; ++e) {
                const int l = e % 32;
                const int lo = (x->qs[32 * (e / 128) + l] >> (2 * ((e / 32) % 4))) & 3;
                const int hi = (x->hmask[l] >> (e / 32)) & 1;
                q[QK_K * b + e] = (int8_t)(lo - (hi ? 0 : 4));
            }
            for (int g = 0; g < 16; ++g) { d[16 * b + g] = dd * (float)((int)sc[g] - 32); m[16 * b + g] = 0; }
        }
        break;
    case MAGI_TYPE_Q4_K: case MAGI_TYPE_Q5_K: {
        const int is5 = type == MAGI_TYPE_Q5_K;
        for (int64_t b = 0; b < k / QK_K; ++b) {
            const uint8_t *x = src + (size_t)b * (is5 ? sizeof(block_q5_K) : sizeof(block_q4_K));
            const magi_half *hd = (const magi_half *)x;
            const float dd = magi_fp16_to_fp32_ref(hd[0]), dmin = magi_fp16_to_fp32_ref(hd[1]);
            const uint8_t *qs = is5 ? ((const block_q5_K *)x)->qs : ((const block_q4_K *)x)->qs;
            const uint8_t *qh = is5 ? ((const block_q5_K *)x)->qh : NULL;
            uint8_t sc[8], mn[8];
            magi_unpack_k4_scales(x + 4, sc, mn);
            for (int s = 0; s < 8; ++s) {
                d[8 * b + s] = dd * (float)sc[s];
                m[8 * b + s] = -(dmin * (float)mn[s]);
                const int shift = 4 * (s & 1);
                for (int l = 0; l < 32; ++l) {
                    int v = (qs[32 * (s / 2) + l] >> shift) & 0xF;
                    if (qh) v |= ((qh[l] >> s) & 1) << 4;
                    q[QK_K * b + 32 * s + l] = (int8_t)v;
                }
            }
        }
        break;
    }
    case MAGI_TYPE_Q6_K:
        for (int64_t b = 0; b < k / QK_K; ++b) {
            const block_q6_K *x = (const block_q6_K *)src + b;
            const float dd = magi_fp16_to_fp32_ref(x->d);
            for (int e = 0; e < QK_K; ++e) {
                const int h = e / 128, r = e % 128, t = r / 32, l = r % 32;
                const int lo = (x->ql[64 * h + 32 * (t & 1) + l] >> (4 * (t >> 1))) & 0xF;
                const int hi = (x->qh[32 * h + l] >> (2 * t)) & 3;
                q[QK_K * b + e] = (int8_t)((lo | (hi << 4)) - 32);
            }
            for (int g = 0; g < 16; ++g) { d[16 * b + g] = dd * (float)x->scales[g]; m[16 * b + g] = 0; }
        }
        break;
    default:
        break;
    }
}

/// Packs rows [0, rows) (rows ≤ 16; missing rows are zero) of `w` into the panel layout:
/// per group, int32 corr[16] = -128·Σq, float d[16], float m[16], then q as [group/4][16][4].
/// `row` is scratch for one unpacked row: k bytes, then 2·k/16 floats.
static void pack_panel(int type, const uint8_t *w, size_t row_bytes, int64_t k, int rows, uint8_t *panel,
                       uint8_t *row) {
    const int G = magi_gemm_group(type);
    const int64_t ng = k / G;
    const size_t gb = MAGI_GEMM_GROUP_BYTES(G);
    int8_t *q = (int8_t *)row;
    float *d = (float *)(row + ((k + 63) & ~(int64_t)63)), *m = d + ng;
    for (int r = 0; r < MAGI_GEMM_ROWS; ++r) {
        if (r < rows) {
            unpack_row(type, w + (size_t)r * row_bytes, k, q, d, m);
        } else {
            memset(q, 0, (size_t)k);
            for (int64_t g = 0; g < ng; ++g) d[g] = m[g] = 0;
        }
        for (int64_t g = 0; g < ng; ++g) {
            uint8_t *p = panel + (size_t)g * gb;
            const int8_t *qg = q + g * G;
            int32_t sum = 0;
            for (int i = 0; i < G; ++i) sum += qg[i];
            ((int32_t *)p)[r] = -128 * sum;
            ((float *)(p + 64))[r] = d[g];
            ((float *)(p + 128))[r] = m[g];
            for (int i = 0; i < G / 4; ++i) memcpy(p + 192 + 64 * i + 4 * r, qg + 4 * i, 4);
        }
    }
}

// ---- scalar reference kernels ----

void magi_gemm_quantize_scalar(const float *x, int64_t k, int group, uint8_t *dst) {
    const int64_t ng = k / group;
    float *d = (float *)dst, *s = d + ng;
    uint8_t *q = dst + 2 * sizeof(float) * (size_t)ng;
    for (int64_t g = 0; g < ng; ++g) {
        const float *xg = x + g * group;
        float amax = 0;
        for (int i = 0; i < group; ++i) amax = fmaxf(amax, fabsf(xg[i]));
        const float dg = amax / 127.f, id = dg ? 1.0f / dg : 0.0f;
        int sum = 0;
        for (int i = 0; i < group; ++i) {
            const int v = magi_nearest_int(xg[i] * id);
            q[g * group + i] = (uint8_t)(v + 128);
            sum += v;
        }
        d[g] = dg;
        s[g] = dg * (float)sum;
    }
}

void magi_gemm_panel_scalar(const uint8_t *panel, int64_t k, int group, int has_min, const uint8_t *act,
                            size_t act_stride, int64_t n, float *y, int64_t ldy, int rows, int accumulate) {
    const int64_t ng = k / group;
    const size_t gb = MAGI_GEMM_GROUP_BYTES(group);
    for (int64_t j = 0; j < n; ++j) {
        const uint8_t *a = act + (size_t)j * act_stride;
        const float *da = (const float *)a, *sa = da + ng;
        const uint8_t *qa = a + 2 * sizeof(float) * (size_t)ng;
        for (int r = 0; r < rows; ++r) {
            float acc = 0;
            for (int64_t g = 0; g < ng; ++g) {
                const uint8_t *p = panel + (size_t)g * gb;
                const int8_t *qw = (const int8_t *)(p + 192);
                int32_t sum = ((const int32_t *)p)[r];
                for (int i = 0; i < group; ++i) sum += (int32_t)qa[g * group + i] * qw[(i / 4) * 64 + r * 4 + (i % 4)];
                acc += ((const float *)(p + 64))[r] * da[g] * (float)sum;
                if (has_min) acc += ((const float *)(p + 128))[r] * sa[g];
            }
            y[j * ldy + r] = accumulate ? y[j * ldy + r] + acc : acc;
        }
    }
}

// ---- public entry points ----

void magi_gemm_quantize(int weight_type, const float *x, int64_t ldx, int64_t k, int64_t n, void *dst) {
    const int G = magi_gemm_group(weight_type);
    if (!G) return;
    const magi_kernel_table *t = magi_active_table();
    const size_t stride = magi_gemm_act_row_bytes(G, k);
    for (int64_t j = 0; j < n; ++j) t->gemm_quantize(x + j * ldx, k, G, (uint8_t *)dst + (size_t)j * stride);
}

void magi_gemm(int weight_type, const void *weights, size_t row_bytes, int64_t k, const void *act, int64_t n,
               float *y, int64_t ldy, int64_t row_begin, int64_t row_end, void *scratch, int accumulate) {
    const int G = magi_gemm_group(weight_type);
    if (!G || row_end <= row_begin) return;
    const magi_kernel_table *t = magi_active_table();
    const int has_min = gemm_has_min(weight_type);
    const size_t stride = magi_gemm_act_row_bytes(G, k);
    for (int64_t r = row_begin; r < row_end; r += MAGI_GEMM_ROWS) {
        const int rows = (int)(row_end - r < MAGI_GEMM_ROWS ? row_end - r : MAGI_GEMM_ROWS);
        uint8_t *panel = scratch;
        pack_panel(weight_type, (const uint8_t *)weights + (size_t)r * row_bytes, row_bytes, k, rows, panel,
                   panel + (size_t)(k / G) * MAGI_GEMM_GROUP_BYTES(G));
        t->gemm_panel(panel, k, G, has_min, act, stride, n, y + r, ldy, rows, accumulate);
    }
}

int magi_gemm_fast(int weight_type) {
    return magi_gemm_group(weight_type) != 0 && magi_active_table()->gemm_fast;
}
