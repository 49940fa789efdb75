// The int8 multiply-add rate of one thread, for `magi bench`'s "share of the peak" that prefill
// reaches: the instructions the active kernels multiply quantized blocks with (AVX-512 VNNI
// `vpdpbusd`; AVX-512BW and AVX2 `vpmaddubsw` + `vpmaddwd` + `vpaddd`, as llama.cpp's kernels
// use them), on registers only, in eight independent chains so no result waits for another.
#include "MagiKernels.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define CHAINS 8
/// Makes the compiler forget what `v` holds (it costs no instruction), so the product of the same
/// operands is computed for every chain in every iteration rather than once.
#define OPAQUE(v) __asm__ volatile("" : "+v"(v))

__attribute__((target("avx512f,avx512bw,avx512vnni")))
static int32_t peak_avx512vnni(int64_t iterations, int8_t seed) {
    const __m512i a = _mm512_set1_epi8((char)(seed | 1)), b = _mm512_set1_epi8((char)(seed + 3));
    __m512i acc[CHAINS];
    for (int c = 0; c < CHAINS; ++c) acc[c] = _mm512_set1_epi32(c);
    for (int64_t i = 0; i < iterations; ++i)
        for (int c = 0; c < CHAINS; ++c) acc[c] = _mm512_dpbusd_epi32(acc[c], a, b);
    __m512i sum = acc[0];
    for (int c = 1; c < CHAINS; ++c) sum = _mm512_add_epi32(sum, acc[c]);
    return _mm512_reduce_add_epi32(sum);
}

__attribute__((target("avx512f,avx512bw")))
static int32_t peak_avx512(int64_t iterations, int8_t seed) {
    __m512i a = _mm512_set1_epi8((char)(seed | 1));
    const __m512i b = _mm512_set1_epi8((char)(seed + 3)), ones = _mm512_set1_epi16(1);
    __m512i acc[CHAINS];
    for (int c = 0; c < CHAINS; ++c) acc[c] = _mm512_set1_epi32(c);
    for (int64_t i = 0; i < iterations; ++i)
        for (int c = 0; c < CHAINS; ++c) {
            OPAQUE(a);
            acc[c] = _mm512_add_epi32(acc[c], _mm512_madd_epi16(_mm512_maddubs_epi16(a, b), ones));
        }
    __m512i sum = acc[0];
    for (int c = 1; c < CHAINS; ++c) sum = _mm512_add_epi32(sum, acc[c]);
    return _mm512_reduce_add_epi32(sum);
}

__attribute__((target("avx2")))
static int32_t peak_avx2(int64_t iterations, int8_t seed) {
    __m256i a = _mm256_set1_epi8((char)(seed | 1));
    const __m256i b = _mm256_set1_epi8((char)(seed + 3)), ones = _mm256_set1_epi16(1);
    __m256i acc[CHAINS];
    for (int c = 0; c < CHAINS; ++c) acc[c] = _mm256_set1_epi32(c);
    for (int64_t i = 0; i < iterations; ++i)
        for (int c = 0; c < CHAINS; ++c) {
            OPAQUE(a);
            acc[c] = _mm256_add_epi32(acc[c], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones));
        }
    __m256i sum = acc[0];
    for (int c = 1; c < CHAINS; ++c) sum = _mm256_add_epi32(sum, acc[c]);
    int32_t lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, sum);
    int32_t total = 0;
    for (int l = 0; l < 8; ++l) total += lanes[l];
    return total;
}
#endif

int64_t magi_int8_peak_run(int64_t iterations, int8_t seed, int32_t *checksum) {
    const char *isa = magi_kernel_isa();
#if defined(__x86_64__) || defined(__i386__)
    if (strcmp(isa, "avx512vnni") == 0) {
        *checksum = peak_avx512vnni(iterations, seed);
        return iterations * CHAINS * 64;
    }
    if (strcmp(isa, "avx512") == 0) {
        *checksum = peak_avx512(iterations, seed);
        return iterations * CHAINS * 64;
    }
    if (strcmp(isa, "avx2") == 0) {
        *checksum = peak_avx2(iterations, seed);
        return iterations * CHAINS * 32;
    }
#endif
    (void)isa;
    (void)seed;
    *checksum = 0;
    return 0;
}
