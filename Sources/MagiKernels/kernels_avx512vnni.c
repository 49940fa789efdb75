// AVX-512 kernels with VNNI (vpdpbusd / vpdpwssd); see kernels_avx512_impl.h.
#include "kernels_x86_common.h"

#if defined(__x86_64__) || defined(__i386__)

#define MAGI_T __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
#define MAGI_VNNI 1
#define MAGI_SFX _avx512vnni
#define MAGI_ISA_NAME "avx512vnni"
#include "kernels_avx512_impl.h"

void magi_init_avx512vnni_table(magi_kernel_table *t) {
    // Every AVX-512 CPU has AVX2: its kernels serve the types without a 512-bit version.
    magi_init_avx2_table(t);
    init_table_avx512vnni(t);
    magi_init_gemm_avx512vnni(t);
}

#endif
