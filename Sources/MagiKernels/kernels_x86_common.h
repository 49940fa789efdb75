// Shared x86 helpers. Everything here is static and carries a target attribute, so this file
// can be included by translation units compiled for the baseline x86-64 ISA.
#ifndef MAGI_X86_COMMON_H
#define MAGI_X86_COMMON_H

#include "magi_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define MAGI_AVX2 __attribute__((target("avx2,fma,f16c")))
#define MAGI_INLINE static inline __attribute__((always_inline))

MAGI_INLINE MAGI_AVX2 float magi_hsum128_ps(__m128 s) {
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

MAGI_INLINE MAGI_AVX2 float magi_hsum256_ps(__m256 v) {
    return magi_hsum128_ps(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
}

/// Q5_K's fifth bits: bit `s` of every byte of `qh` moved to bit 4.
MAGI_INLINE MAGI_AVX2 __m256i magi_q5_hbit256(__m256i qh, int s) {
    const __m256i m16 = _mm256_set1_epi8(0x10);
    switch (s) {
    case 0: return _mm256_and_si256(_mm256_slli_epi16(qh, 4), m16);
    case 1: return _mm256_and_si256(_mm256_slli_epi16(qh, 3), m16);
    case 2: return _mm256_and_si256(_mm256_slli_epi16(qh, 2), m16);
    case 3: return _mm256_and_si256(_mm256_slli_epi16(qh, 1), m16);
    case 4: return _mm256_and_si256(qh, m16);
    case 5: return _mm256_and_si256(_mm256_srli_epi16(qh, 1), m16);
    case 6: return _mm256_and_si256(_mm256_srli_epi16(qh, 2), m16);
    default: return _mm256_and_si256(_mm256_srli_epi16(qh, 3), m16);
    }
}

/// Prefetches `bytes` from `p` into L1. Matrix-vector kernels prefetch the rows after the ones
/// they multiply: the hardware prefetcher alone leaves decode waiting on memory (+50% tg).
MAGI_INLINE void magi_prefetch(const uint8_t *p, size_t bytes) {
    for (size_t o = 0; o < bytes; o += 64) _mm_prefetch((const char *)(p + o), _MM_HINT_T0);
}

MAGI_INLINE MAGI_AVX2 float magi_h2f(magi_half h) { return _cvtsh_ss(h); }

/// 16 bytes of nibbles -> 32 bytes: low nibbles in the low lane, high nibbles in the high lane.
MAGI_INLINE MAGI_AVX2 __m256i magi_nibbles256(const uint8_t *p) {
    const __m128i q = _mm_loadu_si128((const __m128i *)p);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0F));
}

/// i16 shuffle masks broadcasting element k (0..7) of a 128-bit lane to every i16 of the lane.
static const uint8_t magi_bcast16_masks[8][32] __attribute__((aligned(32))) = {
#define M(k) {2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1, \
              2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1}
    M(0), M(1), M(2), M(3), M(4), M(5), M(6), M(7)
#undef M
};

/// Masks that put i16 element `lo` in the low 128-bit lane and `lo+1` in the high lane.
static const uint8_t magi_pair16_masks[4][32] __attribute__((aligned(32))) = {
#define P(a, b) {2*a, 2*a+1, 2*a, 2*a+1, 2*a, 2*a+1, 2*a, 2*a+1, 2*a, 2*a+1, 2*a, 2*a+1, 2*a, 2*a+1, 2*a, 2*a+1, \
                 2*b, 2*b+1, 2*b, 2*b+1, 2*b, 2*b+1, 2*b, 2*b+1, 2*b, 2*b+1, 2*b, 2*b+1, 2*b, 2*b+1, 2*b, 2*b+1}
    P(0, 1), P(2, 3), P(4, 5), P(6, 7)
#undef P
};

#endif
#endif
