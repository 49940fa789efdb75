// Public API and run-time dispatch: the CPU is probed once, the best kernel table is chosen,
// and every entry point goes through it (falling back to the scalar reference per kernel).
#include "magi_internal.h"

#include <stdatomic.h>
#include <stdlib.h>

static magi_kernel_table g_scalar;
static magi_kernel_table g_best;
#if defined(__x86_64__) || defined(__i386__)
static magi_kernel_table g_avx2, g_avx512, g_avx512vnni;
static int g_has_avx2, g_has_avx512, g_has_avx512vnni;
#endif
static atomic_int g_state;                         // 0 = not initialised, 1 = initialising, 2 = ready
static _Atomic(const magi_kernel_table *) g_active; // table in use (g_best unless forced)

static void magi_init_tables(void) {
    magi_init_scalar_table(&g_scalar);
    g_best = g_scalar;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    g_has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                 __builtin_cpu_supports("f16c");
    g_has_avx512 = g_has_avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                   __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    g_has_avx512vnni = g_has_avx512 && __builtin_cpu_supports("avx512vnni");
    g_avx2 = g_avx512 = g_avx512vnni = g_scalar;
    if (g_has_avx2) magi_init_avx2_table(&g_avx2);
    if (g_has_avx512) magi_init_avx512_table(&g_avx512);
    if (g_has_avx512vnni) magi_init_avx512vnni_table(&g_avx512vnni);
    g_best = g_has_avx512vnni ? g_avx512vnni : g_has_avx512 ? g_avx512 : g_has_avx2 ? g_avx2 : g_scalar;
#elif defined(__aarch64__)
    magi_init_neon_table(&g_best);
#endif
    atomic_store(&g_active, &g_best);
}

static inline const magi_kernel_table *magi_table(void) {
    if (atomic_load_explicit(&g_state, memory_order_acquire) != 2) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&g_state, &expected, 1)) {
            magi_init_tables();
            atomic_store_explicit(&g_state, 2, memory_order_release);
            const char *forced = getenv("MAGI_ISA"); // e.g. MAGI_ISA=avx2 to measure that path
            if (forced && *forced) magi_force_isa(forced);
        } else {
            while (atomic_load_explicit(&g_state, memory_order_acquire) != 2) { }
        }
    }
    return atomic_load_explicit(&g_active, memory_order_relaxed);
}

const magi_kernel_table *magi_active_table(void) { return magi_table(); }

const char *magi_kernel_isa(void) { return magi_table()->name; }

void magi_force_scalar(int on) {
    (void)magi_table();
    atomic_store(&g_active, on ? &g_scalar : &g_best);
}

int magi_force_isa(const char *name) {
    (void)magi_table();
    if (name == NULL || strcmp(name, g_best.name) == 0) {
        atomic_store(&g_active, &g_best);
        return 1;
    }
    if (strcmp(name, "scalar") == 0) {
        atomic_store(&g_active, &g_scalar);
        return 1;
    }
#if defined(__x86_64__) || defined(__i386__)
    if (strcmp(name, "avx2") == 0 && g_has_avx2) { atomic_store(&g_active, &g_avx2); return 1; }
    if (strcmp(name, "avx512") == 0 && g_has_avx512) { atomic_store(&g_active, &g_avx512); return 1; }
    if (strcmp(name, "avx512vnni") == 0 && g_has_avx512vnni) { atomic_store(&g_active, &g_avx512vnni); return 1; }
#endif
    return 0;
}

int magi_type_supported(int type) {
    switch (type) {
    case MAGI_TYPE_F32: case MAGI_TYPE_F16: case MAGI_TYPE_BF16:
    case MAGI_TYPE_Q4_0: case MAGI_TYPE_Q4_1: case MAGI_TYPE_Q5_0: case MAGI_TYPE_Q5_1:
    case MAGI_TYPE_Q8_0: case MAGI_TYPE_Q2_K: case MAGI_TYPE_Q3_K: case MAGI_TYPE_Q4_K:
    case MAGI_TYPE_Q5_K: case MAGI_TYPE_Q6_K:
        return 1;
    default:
        return 0;
    }
}

int64_t magi_block_elems(int type) {
    switch (type) {
    case MAGI_TYPE_F32: case MAGI_TYPE_F16: case MAGI_TYPE_BF16: return 1;
    case MAGI_TYPE_Q4_0: return QK4_0;
    case MAGI_TYPE_Q4_1: return QK4_1;
    case MAGI_TYPE_Q5_0: return QK5_0;
    case MAGI_TYPE_Q5_1: return QK5_1;
    case MAGI_TYPE_Q8_0: return QK8_0;
    case MAGI_TYPE_Q8_1: return QK8_1;
    case MAGI_TYPE_Q2_K: case MAGI_TYPE_Q3_K: case MAGI_TYPE_Q4_K: case MAGI_TYPE_Q5_K:
    case MAGI_TYPE_Q6_K: case MAGI_TYPE_Q8_K: return QK_K;
    default: return 0;
    }
}

size_t magi_block_bytes(int type) {
    switch (type) {
    case MAGI_TYPE_F32: return sizeof(float);
    case MAGI_TYPE_F16: case MAGI_TYPE_BF16: return sizeof(uint16_t);
    case MAGI_TYPE_Q4_0: return sizeof(block_q4_0);
    case MAGI_TYPE_Q4_1: return sizeof(block_q4_1);
    case MAGI_TYPE_Q5_0: return sizeof(block_q5_0);
    case MAGI_TYPE_Q5_1: return sizeof(block_q5_1);
    case MAGI_TYPE_Q8_0: return sizeof(block_q8_0);
    case MAGI_TYPE_Q8_1: return sizeof(block_q8_1);
    case MAGI_TYPE_Q2_K: return sizeof(block_q2_K);
    case MAGI_TYPE_Q3_K: return sizeof(block_q3_K);
    case MAGI_TYPE_Q4_K: return sizeof(block_q4_K);
    case MAGI_TYPE_Q5_K: return sizeof(block_q5_K);
    case MAGI_TYPE_Q6_K: return sizeof(block_q6_K);
    case MAGI_TYPE_Q8_K: return sizeof(block_q8_K);
    default: return 0;
    }
}

size_t magi_row_bytes(int type, int64_t n) {
    const int64_t be = magi_block_elems(type);
    if (be == 0) return 0;
    return (size_t)(n / be) * magi_block_bytes(type);
}

int magi_vec_dot_type(int weight_type) {
    switch (weight_type) {
    case MAGI_TYPE_Q4_0: case MAGI_TYPE_Q5_0: case MAGI_TYPE_Q8_0: return MAGI_TYPE_Q8_0;
    case MAGI_TYPE_Q4_1: case MAGI_TYPE_Q5_1: return MAGI_TYPE_Q8_1;
    case MAGI_TYPE_Q2_K: case MAGI_TYPE_Q3_K: case MAGI_TYPE_Q4_K: case MAGI_TYPE_Q5_K:
    case MAGI_TYPE_Q6_K: return MAGI_TYPE_Q8_K;
    default: return MAGI_TYPE_F32;
    }
}

void magi_dequantize(int type, const void *src, float *dst, int64_t n) {
    const magi_kernel_table *t = magi_table();
    if (type == MAGI_TYPE_F16 && t->dequant_f16) {
        t->dequant_f16(src, dst, n);
        return;
    }
    magi_dequantize_scalar(type, src, dst, n);
}

void magi_matvec(int weight_type, const void *weights, size_t row_bytes, int64_t cols,
                 const void *activation, float *out, int64_t row_begin, int64_t row_end) {
    if (row_end <= row_begin) return;
    const magi_kernel_table *t = magi_table();
    const uint8_t *w = (const uint8_t *)weights + (size_t)row_begin * row_bytes;
    const int64_t nrows = row_end - row_begin;
    if (weight_type >= 0 && weight_type < 31 && t->rows[weight_type]) {
        t->rows[weight_type](cols, w, row_bytes, nrows, activation, out);
        return;
    }
    for (int64_t r = 0; r < nrows; ++r)
        out[r] = magi_vec_dot_scalar(weight_type, cols, w + (size_t)r * row_bytes, activation);
}

float magi_vec_dot(int weight_type, int64_t n, const void *weight_row, const void *activation) {
    float out = 0.0f;
    magi_matvec(weight_type, weight_row, magi_row_bytes(weight_type, n), n, activation, &out, 0, 1);
    return out;
}

float magi_dot_f32(int64_t n, const float *a, const float *b) { return magi_table()->dot_f32(n, a, b); }

void magi_axpy_f32(int64_t n, float alpha, const float *x, float *y) {
    magi_table()->axpy_f32(n, alpha, x, y);
}

void magi_axpy_f16(int64_t n, float alpha, const uint16_t *x, float *y) {
    const magi_kernel_table *t = magi_table();
    (t->axpy_f16 ? t->axpy_f16 : g_scalar.axpy_f16)(n, alpha, x, y);
}

void magi_f32_to_f16(int64_t n, const float *x, uint16_t *y) {
    const magi_kernel_table *t = magi_table();
    (t->f32_to_f16 ? t->f32_to_f16 : g_scalar.f32_to_f16)(n, x, y);
}

void magi_softmax_f32(int64_t n, float *x) { magi_table()->softmax(n, x); }

void magi_swiglu_f32(int64_t n, float *gate, const float *up) { magi_table()->swiglu(n, gate, up); }

void magi_weighted_sum(int type, const void *rows, size_t row_bytes, int64_t n, int64_t width, const float *w,
                       float *out) {
    const magi_kernel_table *t = magi_table();
    switch (type) {
    case MAGI_TYPE_F16: t->weighted_sum_f16(rows, row_bytes, n, width, w, out); break;
    case MAGI_TYPE_Q8_0: (t->weighted_sum_q8_0 ? t->weighted_sum_q8_0 : g_scalar.weighted_sum_q8_0)(rows, row_bytes, n, width, w, out); break;
    default: t->weighted_sum_f32(rows, row_bytes, n, width, w, out); break;
    }
}
