/* AVX2+FMA sgemm micro-kernel: up to a 6 x 16 tile of C (12 ymm accumulators) from packed
 * panels. Compiled with -mavx2 -mfma (CMakeLists.txt); only called once the CPU reported both
 * (sgemm.c). */
#include <stdbool.h>

#include "cpu/gemm.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#define MR 6
#define VL 8
#define NVMAX 2

/* Lane mask of the first n (1..8) lanes, for maskload/maskstore. */
static inline __m256i lanes(int n) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

/* Specialized per (mr, nv) by constant propagation, as in sgemm_avx512.c. */
static inline __attribute__((always_inline)) void tile(const int mr, const int nv,
                                                       const cinfer__ukr *u) {
    __m256 acc[MR][NVMAX];
    for (int i = 0; i < mr; i++)
        for (int v = 0; v < nv; v++) acc[i][v] = _mm256_setzero_ps();
    const float *a = u->a, *b = u->b;
#pragma GCC unroll 2
    for (int64_t k = 0; k < u->kc; k++) {
        __m256 bv[NVMAX];
        for (int v = 0; v < nv; v++) bv[v] = _mm256_loadu_ps(b + v * VL);
        for (int i = 0; i < mr; i++) {
            __m256 av = _mm256_broadcast_ss(a + i);
            for (int v = 0; v < nv; v++) acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
        }
        a += mr;
        b += nv * VL;
    }
    int rem = u->nr - (nv - 1) * VL;
    __m256i full = lanes(VL), last = lanes(rem);
    __m256 zero = _mm256_setzero_ps(), bc[NVMAX];
    for (int v = 0; v < nv; v++) {
        __m256i m = v == nv - 1 ? last : full;
        bc[v] = u->bias_c && !u->accumulate ? _mm256_maskload_ps(u->bias_c + v * VL, m) : zero;
    }
    for (int i = 0; i < mr; i++) {
        float *c = u->c + i * u->ldc;
        __m256 br = u->bias_r ? _mm256_set1_ps(u->bias_r[i]) : zero;
        for (int v = 0; v < nv; v++) {
            __m256i m = v == nv - 1 ? last : full;
            __m256 x = acc[i][v];
            if (u->accumulate) x = _mm256_add_ps(x, _mm256_maskload_ps(c + v * VL, m));
            else x = _mm256_add_ps(_mm256_add_ps(x, br), bc[v]);
            if (u->relu) x = _mm256_max_ps(x, zero);
            _mm256_maskstore_ps(c + v * VL, m, x);
        }
    }
}

#define CASE(R, V) \
    case R * 4 + V: tile(R, V, u); break;
#define ROW(R) CASE(R, 1) CASE(R, 2)

void cinfer__ukr_avx2(const cinfer__ukr *u) {
    int nv = (u->nr + VL - 1) / VL;
    switch (u->mr * 4 + nv) {
        ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6)
    default: break;
    }
}
#else
/* Not an x86 build with this ISA: never selected (sgemm.c checks the CPU first). */
void cinfer__ukr_avx2(const cinfer__ukr *u) { (void)u; }
#endif
