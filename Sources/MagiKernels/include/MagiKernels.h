// MagiKernels: quantized tensor kernels for GGUF tensor types.
//
// Block layouts are those of ggml (llama.cpp); type ids are ggml's `ggml_type` values, so a
// GGUF tensor's type field can be passed straight through. Every kernel has a scalar reference
// and SIMD variants chosen once at run time from the CPU's features (AVX-512 / AVX2 / NEON).
#ifndef MAGI_KERNELS_H
#define MAGI_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Tensor types, numbered as ggml numbers them in GGUF files.
typedef enum {
    MAGI_TYPE_F32 = 0,
    MAGI_TYPE_F16 = 1,
    MAGI_TYPE_Q4_0 = 2,
    MAGI_TYPE_Q4_1 = 3,
    MAGI_TYPE_Q5_0 = 6,
    MAGI_TYPE_Q5_1 = 7,
    MAGI_TYPE_Q8_0 = 8,
    MAGI_TYPE_Q8_1 = 9,
    MAGI_TYPE_Q2_K = 10,
    MAGI_TYPE_Q3_K = 11,
    MAGI_TYPE_Q4_K = 12,
    MAGI_TYPE_Q5_K = 13,
    MAGI_TYPE_Q6_K = 14,
    MAGI_TYPE_Q8_K = 15,
    MAGI_TYPE_BF16 = 30,
} magi_type;

/// 1 if `type` can be dequantized and used as a weight type by these kernels, else 0.
int magi_type_supported(int type);
/// Number of values in one block (1 for F32/F16/BF16, 32 for Q*_0/_1, 256 for K-quants); 0 if unknown.
int64_t magi_block_elems(int type);
/// Bytes in one block; 0 if unknown.
size_t magi_block_bytes(int type);
/// Bytes in a row of `n` values (`n` a multiple of the block size).
size_t magi_row_bytes(int type, int64_t n);

/// Dequantizes `n` values (a multiple of the block size) from `src` into `dst`.
void magi_dequantize(int type, const void *src, float *dst, int64_t n);

/// The activation format that weight `type` is multiplied with in `magi_vec_dot`/`magi_matvec`
/// (for example Q8_1 for Q4_1, Q8_K for the K-quants, F32 for F32).
int magi_vec_dot_type(int weight_type);
/// Quantizes `n` floats into `act_type` (a value returned by `magi_vec_dot_type`) at `dst`,
/// which holds `magi_row_bytes(act_type, n)` bytes. For F32 this is a copy.
void magi_quantize_activation(int act_type, const float *x, void *dst, int64_t n);

/// Dot product of one weight row of `n` values with an activation row already in
/// `magi_vec_dot_type(weight_type)` format.
float magi_vec_dot(int weight_type, int64_t n, const void *weight_row, const void *activation);

/// out[r - row_begin] = dot(row r of `weights`, activation) for r in [row_begin, row_end).
/// Rows are `row_bytes` apart and hold `cols` values each.
void magi_matvec(int weight_type, const void *weights, size_t row_bytes, int64_t cols,
                 const void *activation, float *out, int64_t row_begin, int64_t row_end);

/// Batched matrix-vector products for small batches: for r in [row_begin, row_end) and j in [0, n),
/// out[j * ldo + r - row_begin] = dot(row r of `weights`, activation j), or += that when `accumulate`
/// is 1. Activations are already in `magi_vec_dot_type(weight_type)` format, `act_stride` bytes apart.
/// Each weight block is read once for a tile of activations; every result equals what magi_matvec
/// gives for that activation alone (bit for bit with the scalar and AVX2 kernels; AVX-512 CPUs use
/// the AVX2 batch kernels, which agree with their 512-bit matvec up to float summation order).
void magi_matvec_batch(int weight_type, const void *weights, size_t row_bytes, int64_t cols, const void *act,
                       size_t act_stride, int64_t n, float *out, int64_t ldo, int64_t row_begin, int64_t row_end,
                       int accumulate);
/// 1 if the active instruction set has a kernel for magi_matvec_batch that reads the weights once per
/// tile of activations; 0 means magi_matvec_batch is a loop of magi_matvec calls (correct, not faster).
int magi_matvec_batch_fast(int weight_type);

/// Batched products Y = X · Wᵀ (prompt processing) with integer kernels. The weights are
/// unpacked 16 rows at a time into per-thread scratch, never copied as a whole.
///
/// Values per scale group of `weight_type` in the gemm formats (32, or 16 for Q2_K, Q3_K,
/// Q6_K); 0 if magi_gemm does not take this type. Weights with the same group share one
/// quantized activation.
int magi_gemm_group(int weight_type);
/// 1 if the active instruction set has a fast integer gemm for `weight_type`; 0 means
/// dequantizing into floats and using a float GEMM is faster (magi_gemm still works).
int magi_gemm_fast(int weight_type);
/// Bytes of `n` activation rows of `k` values quantized for `weight_type` by magi_gemm_quantize.
size_t magi_gemm_activation_bytes(int weight_type, int64_t k, int64_t n);
/// Bytes of scratch one thread passes to magi_gemm for rows of `k` values.
size_t magi_gemm_scratch_bytes(int weight_type, int64_t k);
/// Quantizes `n` rows of `k` floats (`ldx` floats apart) into `dst` for magi_gemm.
void magi_gemm_quantize(int weight_type, const float *x, int64_t ldx, int64_t k, int64_t n, void *dst);
/// y[j * ldy + r] = dot(weight row r, activation row j) for r in [row_begin, row_end) and j in
/// [0, n), or y[j * ldy + r] += that when `accumulate` is 1. Weight rows are `row_bytes` apart and
/// hold `k` values; `act` comes from magi_gemm_quantize; `scratch` holds magi_gemm_scratch_bytes
/// bytes (one per thread).
void magi_gemm(int weight_type, const void *weights, size_t row_bytes, int64_t k, const void *act, int64_t n,
               float *y, int64_t ldy, int64_t row_begin, int64_t row_end, void *scratch, int accumulate);

/// Plain float kernels used by attention and normalisation.
float magi_dot_f32(int64_t n, const float *a, const float *b);
/// y += alpha * x
void magi_axpy_f32(int64_t n, float alpha, const float *x, float *y);
/// y += alpha * x, with x in IEEE half precision (a float16 KV cache's values).
void magi_axpy_f16(int64_t n, float alpha, const uint16_t *x, float *y);
/// out[0..width) = Σ_{t<n} w[t] · row t, with `n` rows of `type` (MAGI_TYPE_F32, MAGI_TYPE_F16 or MAGI_TYPE_Q8_0)
/// `row_bytes` apart: attention's weighted sum of cached values.
void magi_weighted_sum(int type, const void *rows, size_t row_bytes, int64_t n, int64_t width, const float *w,
                       float *out);
/// In-place softmax of `n` floats (exp to about 1 ulp in the SIMD paths).
void magi_softmax_f32(int64_t n, float *x);
/// gate[i] = silu(gate[i]) * up[i] (SwiGLU), for `n` values.
void magi_swiglu_f32(int64_t n, float *gate, const float *up);
/// Rounds `n` floats to IEEE half precision (nearest, ties to even), as ggml does.
void magi_f32_to_f16(int64_t n, const float *x, uint16_t *y);

/// A combination of every 64-bit word of `bytes` bytes at `data`: reads the memory once, for
/// measuring the machine's read bandwidth (the bound of decode).
uint64_t magi_read_sum(const void *data, int64_t bytes);

/// Runs `iterations` rounds of the active instruction set's int8 multiply-adds on registers and
/// returns how many multiply-adds that was (0 where magi has no int8 kernels: NEON, scalar);
/// `checksum` keeps the compiler from dropping the work. For measuring the machine's int8 peak.
int64_t magi_int8_peak_run(int64_t iterations, int8_t seed, int32_t *checksum);

/// Instruction set the dispatcher chose: "avx512vnni", "avx512", "avx2", "neon" or "scalar". The
/// environment variable MAGI_ISA names one to use instead, if this CPU supports it.
const char *magi_kernel_isa(void);
/// Forces the scalar reference kernels (1) or restores run-time dispatch (0). For tests and benchmarks.
void magi_force_scalar(int on);
/// Selects the kernels of one instruction set ("scalar", "avx2", "avx512", "avx512vnni", "neon")
/// if this CPU supports it, returning 1; returns 0 and changes nothing otherwise. NULL restores
/// run-time dispatch. For tests and benchmarks; not thread-safe with respect to running kernels'
/// choice of results (each call uses whichever table is active when it starts).
int magi_force_isa(const char *name);

/// XXH64 of `length` bytes at `data` with `seed` (xxHash's 64-bit hash, little-endian reads on any
/// host): the checksum of session cache chunks.
uint64_t magi_xxh64(const void *data, size_t length, uint64_t seed);

#ifdef __cplusplus
}
#endif

#endif
