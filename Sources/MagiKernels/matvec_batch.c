// Batched matrix-vector products (prompt processing at small batch sizes): every weight row is
// multiplied with all the batch's activations while its blocks are in cache, so the weights are
// streamed once per batch rather than once per token, and are never unpacked into panels.
#include "magi_internal.h"

/// Weight bytes per cache chunk: the kernels run every activation tile over one chunk of rows
/// before moving on, so the chunk stays in L2 while the activations stream past it.
#define MAGI_BATCH_CHUNK_BYTES (192 * 1024)

/// Rows per call to the single-vector kernel in the fallback.
#define MAGI_BATCH_FALLBACK_ROWS 64

int magi_matvec_batch_fast(int weight_type) {
    return weight_type >= 0 && weight_type < 31 && magi_active_table()->rows_batch[weight_type] != NULL;
}

void magi_matvec_batch(int weight_type, const void *weights, size_t row_bytes, int64_t cols, const void *act,
                       size_t act_stride, int64_t n, float *out, int64_t ldo, int64_t row_begin, int64_t row_end,
                       int accumulate) {
    if (row_end <= row_begin || n <= 0) return;
    const magi_kernel_table *t = magi_active_table();
    const uint8_t *w = (const uint8_t *)weights + (size_t)row_begin * row_bytes;
    const uint8_t *a = (const uint8_t *)act;
    const int64_t nrows = row_end - row_begin;
    if (weight_type >= 0 && weight_type < 31 && t->rows_batch[weight_type]) {
        int64_t chunk = row_bytes ? (int64_t)(MAGI_BATCH_CHUNK_BYTES / row_bytes) : nrows;
        if (chunk < 1) chunk = 1;
        for (int64_t r = 0; r < nrows; r += chunk) {
            const int64_t rows = nrows - r < chunk ? nrows - r : chunk;
            t->rows_batch[weight_type](cols, w + (size_t)r * row_bytes, row_bytes, rows, a, act_stride, n, out + r,
                                       ldo, accumulate);
        }
        return;
    }
    float tmp[MAGI_BATCH_FALLBACK_ROWS];
    for (int64_t j = 0; j < n; ++j) {
        for (int64_t r = 0; r < nrows; r += MAGI_BATCH_FALLBACK_ROWS) {
            const int64_t rows = nrows - r < MAGI_BATCH_FALLBACK_ROWS ? nrows - r : MAGI_BATCH_FALLBACK_ROWS;
            magi_matvec(weight_type, w, row_bytes, cols, a + (size_t)j * act_stride, tmp, r, r + rows);
            float *o = out + j * ldo + r;
            for (int64_t i = 0; i < rows; ++i) o[i] = accumulate ? o[i] + tmp[i] : tmp[i];
        }
    }
}
