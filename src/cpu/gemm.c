/* Single-threaded sgemm on cinfer's packed micro-kernels for operands in any strides (the
 * kernels that multiply activations by activations: ConvTranspose, Einsum), and a version
 * split across cinfer's pool. Packing buffers live on the stack, so a call never allocates. */
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/gemm.h"

int cinfer__cpu_threads(cinfer__pool *pool) {
    int n = pool ? cinfer__pool_size(pool) : 1;
    return n < 1 ? 1 : n;
}

/* C = beta * C (beta 0 writes zeros, so NaNs in uninitialized C do not survive). */
static void scale_c(int64_t m, int64_t n, float beta, float *c, int64_t ldc) {
    if (beta == 1.0f) return;
    for (int64_t i = 0; i < m; i++) {
        float *row = c + i * ldc;
        if (beta == 0.0f) memset(row, 0, (size_t)n * sizeof *row);
        else
            for (int64_t j = 0; j < n; j++) row[j] *= beta;
    }
}

/* m == 1 or n == 1 as plain loops: packing would copy the whole other operand first, a full
 * extra pass over it. C has already been scaled by beta. Element (i, j) of op(X) is
 * x[i * rs + j * cs]. */
CINFER_SIMD_CLONES
static void gemv(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t ars,
                 int64_t acs, const float *b, int64_t brs, int64_t bcs, float *c, int64_t ldc) {
    if (m == 1) {
        if (bcs == 1) { /* rows of op(B) contiguous: c += (alpha a_p) B[p, :] */
            for (int64_t p = 0; p < k; p++) {
                float s = alpha * a[p * acs];
                const float *row = b + p * brs;
                for (int64_t j = 0; j < n; j++) c[j] += s * row[j];
            }
        } else {
            for (int64_t j = 0; j < n; j++) {
                float s = 0.0f;
                for (int64_t p = 0; p < k; p++) s += a[p * acs] * b[p * brs + j * bcs];
                c[j] += alpha * s;
            }
        }
        return;
    }
    for (int64_t i = 0; i < m; i++) { /* n == 1 */
        float s = 0.0f;
        for (int64_t p = 0; p < k; p++) s += a[i * ars + p * acs] * b[p * brs];
        c[i * ldc] += alpha * s;
    }
}

/* Blocking of the strided sgemm: a KC x NB slice of op(B) packed at a time (NB a multiple of
 * every micro-kernel's NR), then one MR-row panel of op(A) at a time against it. The two
 * packing buffers take about 200 KB of the calling thread's stack. (A 64 -> 32 channel, 2x2
 * stride-2 ConvTranspose on 80x80, one thread: NB 96 2.1 ms, 192 2.03 ms, 384 1.91 ms for
 * twice the stack; OpenBLAS, which this replaced, 1.75 ms. bench/RESULTS.md.) */
#define SG_KC 256
#define SG_NB 192
#define SG_MR_MAX 8

void cinfer__sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                   const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                   int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    scale_c(m, n, beta, c, ldc);
    if (k <= 0 || alpha == 0.0f) return;
    int64_t ars = trans_a ? 1 : lda, acs = trans_a ? lda : 1;
    int64_t brs = trans_b ? 1 : ldb, bcs = trans_b ? ldb : 1;
    if (m == 1 || n == 1) {
        gemv(m, n, k, alpha, a, ars, acs, b, brs, bcs, c, ldc);
        return;
    }
    const cinfer__sgemm_isa *isa = cinfer__sgemm_isa_get();
    CINFER_ASSERT(isa->mr <= SG_MR_MAX && SG_NB % isa->nr == 0);
    _Alignas(64) float bbuf[SG_KC * SG_NB];
    _Alignas(64) float abuf[SG_MR_MAX * SG_KC];
    cinfer__ukr u = {.ldc = ldc, .accumulate = 1};
    for (int64_t k0 = 0; k0 < k; k0 += SG_KC) {
        u.kc = k - k0 < SG_KC ? k - k0 : SG_KC;
        for (int64_t n0 = 0; n0 < n; n0 += SG_NB) {
            int64_t nc = n - n0 < SG_NB ? n - n0 : SG_NB;
            cinfer__pack_b(b + k0 * brs + n0 * bcs, brs, bcs, u.kc, nc, bbuf, 0, INT64_MAX / 2);
            for (int64_t i0 = 0; i0 < m; i0 += isa->mr) {
                u.mr = (int)(m - i0 < isa->mr ? m - i0 : isa->mr);
                cinfer__pack_a(a + i0 * ars + k0 * acs, ars, acs, u.mr, u.kc, abuf, 0,
                               INT64_MAX / 2);
                if (alpha != 1.0f)
                    for (int64_t q = 0; q < u.mr * u.kc; q++) abuf[q] *= alpha;
                u.a = abuf;
                for (int64_t c0 = 0; c0 < nc; c0 += isa->nr) {
                    u.nr = (int)(nc - c0 < isa->nr ? nc - c0 : isa->nr);
                    u.b = bbuf + c0 * u.kc;
                    u.c = c + i0 * ldc + n0 + c0;
                    isa->kernel(&u);
                }
            }
        }
    }
}

typedef struct par_gemm {
    bool ta, tb, split_m;
    int64_t m, n, k, lda, ldb, ldc, step;
    float alpha, beta;
    const float *a, *b;
    float *c;
    cinfer__gemm_init_fn init;
    void *init_ctx;
} par_gemm;

static void par_gemm_range(void *arg, int64_t begin, int64_t end) {
    const par_gemm *p = arg;
    int64_t lo = begin * p->step, hi = end * p->step;
    int64_t dim = p->split_m ? p->m : p->n;
    if (hi > dim) hi = dim;
    if (lo >= hi) return;
    if (p->init) {
        if (p->split_m) p->init(p->init_ctx, lo, hi, 0, p->n);
        else p->init(p->init_ctx, 0, p->m, lo, hi);
    }
    if (p->split_m) {
        /* Rows lo..hi of op(A): row i starts at a + i*lda, or column i of a stored A^T. */
        const float *a = p->a + (p->ta ? lo : lo * p->lda);
        cinfer__sgemm(p->ta, p->tb, hi - lo, p->n, p->k, p->alpha, a, p->lda, p->b, p->ldb,
                      p->beta, p->c + lo * p->ldc, p->ldc);
    } else {
        const float *b = p->b + (p->tb ? lo * p->ldb : lo);
        cinfer__sgemm(p->ta, p->tb, p->m, hi - lo, p->k, p->alpha, p->a, p->lda, b, p->ldb,
                      p->beta, p->c + lo, p->ldc);
    }
}

/* Below this many multiply-adds one thread is faster than waking the pool. */
#define PAR_MIN_MACS (1 << 16)

void cinfer__sgemm_par(cinfer__pool *pool, bool trans_a, bool trans_b, int64_t m, int64_t n,
                       int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                       int64_t ldb, float beta, float *c, int64_t ldc, cinfer__gemm_init_fn init,
                       void *init_ctx) {
    int t = cinfer__cpu_threads(pool);
    par_gemm p = {.ta = trans_a, .tb = trans_b, .split_m = m >= n, .m = m, .n = n, .k = k,
                  .lda = lda, .ldb = ldb, .ldc = ldc, .alpha = alpha, .beta = beta, .a = a,
                  .b = b, .c = c, .init = init, .init_ctx = init_ctx};
    /* Column chunks stay multiples of 16 floats (whole cache lines / vector widths). */
    int64_t align = p.split_m ? 4 : 16, dim = p.split_m ? m : n;
    if (t <= 1 || m * n * k < PAR_MIN_MACS || dim < 2 * align) {
        p.step = dim > 0 ? dim : 1;
        par_gemm_range(&p, 0, 1);
        return;
    }
    int64_t step = (dim + t - 1) / t;
    p.step = (step + align - 1) / align * align;
    cinfer__parallel_for(pool, (dim + p.step - 1) / p.step, 1, par_gemm_range, &p);
}
