/* AVX-512 sgemm micro-kernel: up to an 8 x 48 tile of C (24 zmm accumulators) from packed
 * panels. Compiled with -mavx512f (CMakeLists.txt); only called once the CPU reported
 * AVX-512F (sgemm.c). */
#include <stdbool.h>

#include "cpu/gemm.h"

#if defined(__AVX512F__) && defined(__FMA__)
#include <immintrin.h>

#define MR 8
#define VL 16
#define NVMAX 3

/* Specialized per (mr, nv) by constant propagation (always_inline from a switch): the
 * accumulator array becomes registers and the loops unroll fully. */
static inline __attribute__((always_inline)) void tile(const int mr, const int nv,
                                                       const cinfer__ukr *u) {
    __m512 acc[MR][NVMAX];
    for (int i = 0; i < mr; i++)
        for (int v = 0; v < nv; v++) acc[i][v] = _mm512_setzero_ps();
    const float *a = u->a, *b = u->b;
#pragma GCC unroll 2
    for (int64_t k = 0; k < u->kc; k++) {
        __m512 bv[NVMAX];
        for (int v = 0; v < nv; v++) bv[v] = _mm512_loadu_ps(b + v * VL);
        for (int i = 0; i < mr; i++) {
            __m512 av = _mm512_set1_ps(a[i]);
            for (int v = 0; v < nv; v++) acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
        }
        a += mr;
        b += nv * VL;
    }
    int rem = u->nr - (nv - 1) * VL;
    __mmask16 last = rem >= VL ? (__mmask16)0xFFFF : (__mmask16)((1u << rem) - 1);
    __m512 zero = _mm512_setzero_ps(), bc[NVMAX];
    for (int v = 0; v < nv; v++) {
        __mmask16 m = v == nv - 1 ? last : (__mmask16)0xFFFF;
        bc[v] = u->bias_c && !u->accumulate ? _mm512_maskz_loadu_ps(m, u->bias_c + v * VL)
                                            : zero;
    }
    for (int i = 0; i < mr; i++) {
        float *c = u->c + i * u->ldc;
        __m512 br = u->bias_r ? _mm512_set1_ps(u->bias_r[i]) : zero;
        for (int v = 0; v < nv; v++) {
            __mmask16 m = v == nv - 1 ? last : (__mmask16)0xFFFF;
            __m512 x = acc[i][v];
            if (u->accumulate) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, c + v * VL));
            else x = _mm512_add_ps(_mm512_add_ps(x, br), bc[v]);
            if (u->relu) x = _mm512_max_ps(x, zero);
            _mm512_mask_storeu_ps(c + v * VL, m, x);
        }
    }
}

/* A full 8-row panel against at most 8 columns (the last, narrow panel of a 49- or 196-wide
 * C): a 16-lane tile would waste most of its FMAs there, so the vectors run down the 8 rows
 * instead (the packed A panel holds them contiguously for each k) and each B element is
 * broadcast. For up to 4 columns `ph` interleaved k phases keep about 8 FMA chains in flight
 * (two FMA pipes, four cycles of latency); wider ones are bound by the broadcasts anyway. */
static inline __attribute__((always_inline)) void tile_cols(const int nc, const int ph,
                                                            const cinfer__ukr *u) {
    __m256 acc[8][8];
    for (int p = 0; p < ph; p++)
        for (int j = 0; j < nc; j++) acc[p][j] = _mm256_setzero_ps();
    const float *a = u->a, *b = u->b;
    int64_t k = 0;
    for (; k + ph <= u->kc; k += ph, a += 8 * ph, b += VL * ph)
        for (int p = 0; p < ph; p++) {
            __m256 av = _mm256_loadu_ps(a + 8 * p);
            for (int j = 0; j < nc; j++)
                acc[p][j] = _mm256_fmadd_ps(av, _mm256_set1_ps(b[VL * p + j]), acc[p][j]);
        }
    for (; k < u->kc; k++, a += 8, b += VL) {
        __m256 av = _mm256_loadu_ps(a);
        for (int j = 0; j < nc; j++)
            acc[0][j] = _mm256_fmadd_ps(av, _mm256_set1_ps(b[j]), acc[0][j]);
    }
    for (int j = 0; j < nc; j++) {
        __m256 x = acc[0][j];
        for (int p = 1; p < ph; p++) x = _mm256_add_ps(x, acc[p][j]);
        float t[8];
        _mm256_storeu_ps(t, x);
        float bc = u->bias_c && !u->accumulate ? u->bias_c[j] : 0.0f;
        for (int i = 0; i < 8; i++) {
            float *c = u->c + i * u->ldc + j;
            float y = t[i];
            if (u->accumulate) y += *c;
            else y = y + (u->bias_r ? u->bias_r[i] : 0.0f) + bc;
            *c = u->relu && y < 0.0f ? 0.0f : y;
        }
    }
}

#define CASE(R, V) \
    case R * 4 + V: tile(R, V, u); break;
#define ROW(R) CASE(R, 1) CASE(R, 2) CASE(R, 3)

void cinfer__ukr_avx512(const cinfer__ukr *u) {
    int nv = (u->nr + VL - 1) / VL;
    if (u->mr == MR && u->nr <= 8) {
        switch (u->nr) {
        case 1: tile_cols(1, 8, u); return;
        case 2: tile_cols(2, 4, u); return;
        case 3: tile_cols(3, 3, u); return;
        case 4: tile_cols(4, 2, u); return;
        case 5: tile_cols(5, 1, u); return;
        case 6: tile_cols(6, 1, u); return;
        case 7: tile_cols(7, 1, u); return;
        default: tile_cols(8, 1, u); return;
        }
    }
    switch (u->mr * 4 + nv) {
        ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7) ROW(8)
    default: break;
    }
}

/* Packs one full 8-row panel of a row-major A (row stride lda): dst[j][i] = a[i*lda + j] for
 * j < k, eight k at a time through an 8x8 transpose in ymm registers. */
void cinfer__pack_a8_avx512(const float *a, int64_t lda, int64_t k, float *dst) {
    int64_t j = 0;
    for (; j + 8 <= k; j += 8, dst += 64) {
        __m256 r[8], t[8];
        for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(a + i * lda + j);
        for (int i = 0; i < 8; i += 2) {
            t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
            t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
        }
        for (int i = 0; i < 8; i += 4) {
            r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
            r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
            r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
            r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
        }
        /* r[0..3] hold k = j+{0,1,2,3} of rows 0-3 (low) and j+{4..7} (high), r[4..7] rows 4-7. */
        for (int i = 0; i < 4; i++) {
            _mm256_storeu_ps(dst + 8 * i, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
            _mm256_storeu_ps(dst + 8 * (i + 4), _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
        }
    }
    for (; j < k; j++, dst += 8)
        for (int i = 0; i < 8; i++) dst[i] = a[i * lda + j];
}

#else
/* Not an x86 build with this ISA: never selected (sgemm.c checks the CPU first). */
void cinfer__ukr_avx512(const cinfer__ukr *u) { (void)u; }
void cinfer__pack_a8_avx512(const float *a, int64_t lda, int64_t k, float *dst) {
    (void)a, (void)lda, (void)k, (void)dst;
}
#endif
