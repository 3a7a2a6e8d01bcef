/* Single-threaded sgemm over OpenBLAS, and a version split across cinfer's pool. OpenBLAS is
 * pinned to one thread: cinfer owns the threads, so the total never exceeds its pool. */
#include <cblas.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/gemm.h"

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_init(void) { openblas_set_num_threads(1); }

int cinfer__cpu_threads(cinfer__pool *pool) {
    int n = pool ? cinfer__pool_size(pool) : 1;
    return n < 1 ? 1 : n;
}

/* C = beta * C for the k == 0 case, which BLAS implementations treat unevenly. */
static void scale_c(int64_t m, int64_t n, float beta, float *c, int64_t ldc) {
    for (int64_t i = 0; i < m; i++) {
        float *row = c + i * ldc;
        if (beta == 0.0f) memset(row, 0, (size_t)n * sizeof *row);
        else
            for (int64_t j = 0; j < n; j++) row[j] *= beta;
    }
}

/* m == 1 or n == 1 as sgemv: sgemm would first pack (copy) the whole other operand, a full
 * extra pass over weights that dominates batch-1 inference of MLP/Linear layers. */
static bool try_gemv(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                     const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                     float *c, int64_t ldc) {
    if (m != 1 && n != 1) return false;
    int64_t len = m == 1 ? n : m, inc_c = m == 1 ? 1 : ldc;
    if (beta == 0.0f) /* BLAS may scale C by 0, which keeps NaNs from uninitialized memory */
        for (int64_t i = 0; i < len; i++) c[i * inc_c] = 0.0f;
    if (m == 1) {
        /* c[1,n] = a[1,k] op(B): B stored [k,n] (gemv with B^T) or [n,k]. */
        int inc_a = trans_a ? (int)lda : 1;
        if (trans_b)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)k, alpha, b, (int)ldb, a,
                        inc_a, beta, c, 1);
        else
            cblas_sgemv(CblasRowMajor, CblasTrans, (int)k, (int)n, alpha, b, (int)ldb, a, inc_a,
                        beta, c, 1);
    } else {
        /* c[m,1] = op(A) b[k,1]: b is a column (stride ldb) or, transposed, a row. */
        int inc_b = trans_b ? 1 : (int)ldb;
        cblas_sgemv(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_a ? (int)k : (int)m,
                    trans_a ? (int)m : (int)k, alpha, a, (int)lda, b, inc_b, beta, c, (int)ldc);
    }
    return true;
}

void cinfer__sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                   const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                   int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        scale_c(m, n, beta, c, ldc);
        return;
    }
    pthread_once(&blas_once, blas_init);
    /* OpenBLAS takes int (LP64) sizes; every tensor we plan is far below that. */
    CINFER_ASSERT(m <= INT_MAX && n <= INT_MAX && k <= INT_MAX && lda <= INT_MAX &&
                  ldb <= INT_MAX && ldc <= INT_MAX);
    if (try_gemv(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha, a, (int)lda,
                b, (int)ldb, beta, c, (int)ldc);
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
