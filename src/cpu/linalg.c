/* CPU kernels of the linalg family: MatMul (float32 via sgemm, int32/int64/double naive),
 * MatMulInteger (naive) and Gemm (float32), parallel over cinfer's pool with single-threaded sgemm per chunk. */
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/gemm.h"

/* MatMul as `batch` GEMMs [m,k] x [k,n]; batch dims broadcast with stride 0. */
typedef struct mm_plan {
    int64_t m, n, k, batch;
    int br;
    int64_t dims[CINFER_MAX_RANK];    /* output batch dims */
    int64_t a_st[CINFER_MAX_RANK], b_st[CINFER_MAX_RANK]; /* in matrices; 0 = broadcast */
    bool flat; /* B shared by every batch and A not broadcast: one GEMM of batch*m rows */
} mm_plan;

static void mm_plan_make(const cinfer_tensor *a, const cinfer_tensor *b, mm_plan *p) {
    memset(p, 0, sizeof *p);
    p->m = a->rank > 1 ? a->dims[a->rank - 2] : 1;
    p->k = a->dims[a->rank - 1];
    p->n = b->rank > 1 ? b->dims[b->rank - 1] : 1;
    int ba = a->rank > 2 ? a->rank - 2 : 0, bb = b->rank > 2 ? b->rank - 2 : 0;
    p->br = ba > bb ? ba : bb;
    int64_t sa = 1, sb = 1, na = 1, nb = 1;
    p->batch = 1;
    for (int i = p->br - 1; i >= 0; i--) {
        int ia = i - (p->br - ba), ib = i - (p->br - bb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        p->dims[i] = da == 1 ? db : da;
        p->a_st[i] = da == 1 ? 0 : sa;
        p->b_st[i] = db == 1 ? 0 : sb;
        sa *= da;
        sb *= db;
        na *= da;
        nb *= db;
        p->batch *= p->dims[i];
    }
    p->flat = nb == 1 && na == p->batch;
}

/* Matrix offsets (in elements) of batch bi in A and B. */
static void mm_offsets(const mm_plan *p, int64_t bi, int64_t *oa, int64_t *ob) {
    int64_t ia = 0, ib = 0;
    for (int i = p->br - 1; i >= 0; i--) {
        int64_t idx = bi % p->dims[i];
        bi /= p->dims[i];
        ia += idx * p->a_st[i];
        ib += idx * p->b_st[i];
    }
    *oa = ia * p->m * p->k;
    *ob = ib * p->k * p->n;
}

typedef struct mm_run {
    const mm_plan *p;
    const float *a, *b;
    float *y;
} mm_run;

static void mm_batches(void *arg, int64_t begin, int64_t end) {
    const mm_run *r = arg;
    const mm_plan *p = r->p;
    for (int64_t bi = begin; bi < end; bi++) {
        int64_t oa, ob;
        mm_offsets(p, bi, &oa, &ob);
        cinfer__sgemm(false, false, p->m, p->n, p->k, 1.0f, r->a + oa, p->k, r->b + ob, p->n,
                      0.0f, r->y + bi * p->m * p->n, p->n);
    }
}

static void matmul_f32(const cinfer__cpu_ctx *ctx, const mm_plan *p) {
    mm_run r = {p, ctx->in[0]->data, ctx->in[1]->data, ctx->out[0]->data};
    int t = cinfer__cpu_threads(ctx->pool);
    if (p->flat) {
        cinfer__sgemm_par(ctx->pool, false, false, p->batch * p->m, p->n, p->k, 1.0f, r.a, p->k,
                          r.b, p->n, 0.0f, r.y, p->n, NULL, NULL);
    } else if (t > 1 && p->batch >= t) {
        cinfer__parallel_for(ctx->pool, p->batch, 1, mm_batches, &r);
    } else {
        for (int64_t bi = 0; bi < p->batch; bi++) {
            int64_t oa, ob;
            mm_offsets(p, bi, &oa, &ob);
            cinfer__sgemm_par(ctx->pool, false, false, p->m, p->n, p->k, 1.0f, r.a + oa, p->k,
                              r.b + ob, p->n, 0.0f, r.y + bi * p->m * p->n, p->n, NULL, NULL);
        }
    }
}

/* Naive MatMul for the integer and double dtypes (shape arithmetic, rare small models). */
#define MM_NAIVE(NAME, T, ACC)                                                              \
    static void NAME(const T *a, const T *b, T *y, const mm_plan *p) {                      \
        for (int64_t bi = 0; bi < p->batch; bi++) {                                         \
            int64_t oa, ob;                                                                 \
            mm_offsets(p, bi, &oa, &ob);                                                    \
            for (int64_t i = 0; i < p->m; i++)                                              \
                for (int64_t j = 0; j < p->n; j++) {                                        \
                    ACC s = 0;                                                              \
                    for (int64_t q = 0; q < p->k; q++)                                      \
                        s += (ACC)a[oa + i * p->k + q] * (ACC)b[ob + q * p->n + j];         \
                    y[(bi * p->m + i) * p->n + j] = (T)s;                                   \
                }                                                                           \
        }                                                                                   \
    }

/* Integer products wrap as in two's complement (unsigned accumulation avoids UB). */
MM_NAIVE(matmul_i32, int32_t, uint32_t)
MM_NAIVE(matmul_i64, int64_t, uint64_t)
MM_NAIVE(matmul_f64, double, double)

static cinfer_status matmul_supports(const cinfer__cpu_ctx *ctx) {
    cinfer_dtype dt = ctx->in[0]->dtype;
    if (dt != CINFER_DTYPE_FLOAT && dt != CINFER_DTYPE_DOUBLE && dt != CINFER_DTYPE_INT32 &&
        dt != CINFER_DTYPE_INT64)
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED,
                              "dtype %s is not supported (float, double, int32, int64)",
                              cinfer_dtype_name(dt));
    return CINFER_OK;
}

static cinfer_status matmul_run(cinfer__cpu_ctx *ctx) {
    mm_plan p;
    mm_plan_make(ctx->in[0], ctx->in[1], &p);
    const void *a = ctx->in[0]->data, *b = ctx->in[1]->data;
    void *y = ctx->out[0]->data;
    switch (ctx->in[0]->dtype) {
    case CINFER_DTYPE_FLOAT: matmul_f32(ctx, &p); break;
    case CINFER_DTYPE_DOUBLE: matmul_f64(a, b, y, &p); break;
    case CINFER_DTYPE_INT32: matmul_i32(a, b, y, &p); break;
    case CINFER_DTYPE_INT64: matmul_i64(a, b, y, &p); break;
    default:
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "dtype %s is not supported",
                              cinfer_dtype_name(ctx->in[0]->dtype));
    }
    return CINFER_OK;
}

/* Element i of a uint8/int8 tensor (0 for an omitted zero point). */
static int32_t ld8(const cinfer_tensor *t, int64_t i) {
    if (!t) return 0;
    return t->dtype == CINFER_DTYPE_UINT8 ? ((const uint8_t *)t->data)[i]
                                          : ((const int8_t *)t->data)[i];
}

static size_t matmul_int_scratch(const cinfer__cpu_ctx *ctx) {
    return (size_t)(cinfer_tensor_numel(ctx->in[0]) + cinfer_tensor_numel(ctx->in[1])) *
           sizeof(int32_t);
}

/* MatMulInteger: subtract the zero points into int32 copies (scratch), then multiply. */
static cinfer_status matmul_int_run(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *a = ctx->in[0], *b = ctx->in[1];
    const cinfer_tensor *za = ctx->n_in > 2 ? ctx->in[2] : NULL;
    const cinfer_tensor *zb = ctx->n_in > 3 ? ctx->in[3] : NULL;
    mm_plan p;
    mm_plan_make(a, b, &p);
    int64_t na = cinfer_tensor_numel(a), nb = cinfer_tensor_numel(b);
    int32_t *a32 = ctx->scratch, *b32 = a32 + na;
    bool za_rows = za && cinfer_tensor_numel(za) > 1, zb_cols = zb && cinfer_tensor_numel(zb) > 1;
    for (int64_t i = 0; i < na; i++)
        a32[i] = ld8(a, i) - ld8(za, za_rows ? i / (p.k ? p.k : 1) % p.m : 0);
    for (int64_t i = 0; i < nb; i++) b32[i] = ld8(b, i) - ld8(zb, zb_cols ? i % p.n : 0);
    matmul_i32(a32, b32, ctx->out[0]->data, &p);
    return CINFER_OK;
}

/* Gemm's C term: block [m0:m1, n0:n1] of Y = beta * C (C broadcast from rank 0..2). */
typedef struct gemm_c {
    const cinfer_tensor *c;
    float beta;
    float *y;
    int64_t n;
} gemm_c;

static void gemm_fill_c(void *arg, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    const gemm_c *g = arg;
    const float *c = g->c->data;
    int r = g->c->rank;
    int64_t cm = r == 2 ? g->c->dims[0] : 1, cn = r >= 1 ? g->c->dims[r - 1] : 1;
    for (int64_t i = m0; i < m1; i++) {
        const float *crow = c + (cm == 1 ? 0 : i) * cn;
        float *yrow = g->y + i * g->n;
        if (cn == 1)
            for (int64_t j = n0; j < n1; j++) yrow[j] = g->beta * crow[0];
        else
            for (int64_t j = n0; j < n1; j++) yrow[j] = g->beta * crow[j];
    }
}

static cinfer_status gemm_supports(const cinfer__cpu_ctx *ctx) {
    if (ctx->in[0]->dtype != CINFER_DTYPE_FLOAT)
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED,
                              "dtype %s is not supported (float32 only)",
                              cinfer_dtype_name(ctx->in[0]->dtype));
    return CINFER_OK;
}

static cinfer_status gemm_run(cinfer__cpu_ctx *ctx) {
    const cinfer__node *nd = ctx->node;
    const cinfer_tensor *a = ctx->in[0], *b = ctx->in[1];
    const cinfer_tensor *c = ctx->n_in > 2 ? ctx->in[2] : NULL;
    bool ta = cinfer__attr_int(nd, "transA", 0) != 0, tb = cinfer__attr_int(nd, "transB", 0) != 0;
    float alpha = cinfer__attr_float(nd, "alpha", 1.0f), beta = cinfer__attr_float(nd, "beta", 1.0f);
    int64_t m = a->dims[ta ? 1 : 0], k = a->dims[ta ? 0 : 1], n = b->dims[tb ? 0 : 1];
    gemm_c fill = {c, beta, ctx->out[0]->data, n};
    bool with_c = c && beta != 0.0f;
    cinfer__sgemm_par(ctx->pool, ta, tb, m, n, k, alpha, a->data, a->dims[1], b->data,
                      b->dims[1], with_c ? 1.0f : 0.0f, ctx->out[0]->data, n,
                      with_c ? gemm_fill_c : NULL, &fill);
    return CINFER_OK;
}

const cinfer__cpu_kernel cinfer__cpu_linalg[] = {
    {"MatMul", "", matmul_supports, NULL, matmul_run},
    {"MatMulInteger", "", NULL, matmul_int_scratch, matmul_int_run},
    {"Gemm", "", gemm_supports, NULL, gemm_run},
    {0},
};
