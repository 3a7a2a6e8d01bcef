/* CPU kernels of the linalg family: MatMul and Gemm in float32 on cinfer's packed sgemm
 * (constant B packed once at prepare), integer/double MatMul and MatMulInteger naive. */
#include <string.h>

#include "core/alloc.h"
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

/* What prepare packs once: B when it is a constant matrix shared by every batch (weights),
 * and for Gemm a constant C that broadcasts along rows, as beta*C per column. */
typedef struct mm_state {
    float *pb;
    float *bias_c;
} mm_state;

static void mm_release(void *state) {
    mm_state *s = state;
    if (!s) return;
    cinfer__aligned_free(s->pb);
    cinfer__aligned_free(s->bias_c);
    cinfer__free(s);
}

/* B of a MatMul is one shared matrix when every batch dim of it is 1. */
static bool mm_b_shared(const cinfer_tensor *b) {
    for (int i = 0; i + 2 < b->rank; i++)
        if (b->dims[i] != 1) return false;
    return true;
}

/* Where packed B starts in scratch: after packed A, on a cache line. */
static int64_t mm_b_offset(const mm_plan *p) {
    return (p->batch * cinfer__pack_a_floats(p->m, p->k) + 15) / 16 * 16;
}

/* Scratch (floats) of a float MatMul: A and B packed per batch (B's room goes unused when
 * prepare packed it). */
static int64_t mm_scratch_floats(const mm_plan *p) {
    return mm_b_offset(p) + (p->flat ? 1 : p->batch) * cinfer__pack_b_floats(p->k, p->n);
}

typedef struct mm_run {
    const mm_plan *p;
    const float *a, *b;
    float *pa, *pb;      /* packed A per batch; packed B per batch (NULL: B prepacked) */
    int64_t pa_st, pb_st;
} mm_run;

/* Packs A (and B unless prepacked) of batches [begin, end). */
static void mm_pack_batches(void *arg, int64_t begin, int64_t end) {
    const mm_run *r = arg;
    const mm_plan *p = r->p;
    for (int64_t bi = begin; bi < end; bi++) {
        int64_t oa, ob;
        mm_offsets(p, bi, &oa, &ob);
        cinfer__pack_a(r->a + oa, p->k, 1, p->m, p->k, r->pa + bi * r->pa_st, 0, INT64_MAX / 2);
        if (r->pb)
            cinfer__pack_b(r->b + ob, p->n, 1, p->k, p->n, r->pb + bi * r->pb_st, 0,
                           INT64_MAX / 2);
    }
}

/* FusedMatMul's activations that run as a GEMM epilogue over finished blocks of C. */
typedef enum mm_act { MM_ACT_NONE, MM_ACT_RELU, MM_ACT_GELU, MM_ACT_GELU_TANH } mm_act;

static mm_act mm_act_of(const cinfer__node *n) {
    const char *a = cinfer__attr_string(n, "activation", "none");
    return !strcmp(a, "relu") ? MM_ACT_RELU : !strcmp(a, "gelu") ? MM_ACT_GELU
         : !strcmp(a, "gelu_tanh") ? MM_ACT_GELU_TANH : MM_ACT_NONE;
}

static void gelu_block(const void *ctx, float *c, int64_t ldc, int64_t rows, int64_t cols) {
    cinfer__gelu_rows_f32(c, ldc, rows, cols, *(const mm_act *)ctx == MM_ACT_GELU_TANH);
}

/* Float MatMul (+ FusedMatMul's bias row and activation; act must outlive the call). */
static void matmul_f32(const cinfer__cpu_ctx *ctx, const mm_plan *p, const float *bias,
                       const mm_act *act) {
    const mm_state *st = ctx->state;
    const float *a = ctx->in[0]->data, *b = ctx->in[1]->data;
    float *y = ctx->out[0]->data, *pa = ctx->scratch;
    float *pb = st && st->pb ? NULL : pa + mm_b_offset(p);
    cinfer__gemm_args g = {.m = p->m, .n = p->n, .k = p->k, .batch = p->batch, .a = pa,
                           .b = pb ? pb : st->pb, .c = y, .ldc = p->n, .c_stride = p->m * p->n,
                           .bias_c = bias, .relu = *act == MM_ACT_RELU};
    if (*act == MM_ACT_GELU || *act == MM_ACT_GELU_TANH) {
        g.epilogue = gelu_block;
        g.epilogue_ctx = act;
    }
    if (p->flat) {
        /* One GEMM of batch*m rows against the shared B. */
        g.m = p->batch * p->m;
        g.batch = 1;
        cinfer__pack_a_par(ctx->pool, a, p->k, 1, g.m, p->k, pa);
        if (pb) cinfer__pack_b_par(ctx->pool, b, p->n, 1, p->k, p->n, pb);
    } else {
        mm_run r = {p, a, b, pa, pb, cinfer__pack_a_floats(p->m, p->k),
                    cinfer__pack_b_floats(p->k, p->n)};
        int64_t per = p->m * p->k + (pb ? p->k * p->n : 0);
        int64_t grain = per >= (1 << 14) ? 1 : (1 << 14) / (per + 1) + 1;
        cinfer__parallel_for(ctx->pool, p->batch, grain, mm_pack_batches, &r);
        g.a_stride = r.pa_st;
        g.b_stride = pb ? r.pb_st : 0;
    }
    cinfer__gemm_packed(ctx->pool, &g);
}

static size_t matmul_scratch(const cinfer__cpu_ctx *ctx) {
    if (ctx->in[0]->dtype != CINFER_DTYPE_FLOAT) return 0;
    mm_plan p;
    mm_plan_make(ctx->in[0], ctx->in[1], &p);
    return (size_t)mm_scratch_floats(&p) * sizeof(float);
}

static cinfer_status matmul_prepare(const cinfer__cpu_ctx *ctx, void **state) {
    const cinfer_tensor *b = ctx->in[1];
    if (b->dtype != CINFER_DTYPE_FLOAT || !b->data || !mm_b_shared(b)) return CINFER_OK;
    mm_plan p;
    mm_plan_make(ctx->in[0], b, &p);
    mm_state *s = cinfer__calloc(1, sizeof *s);
    if (s) s->pb = cinfer__aligned_alloc((size_t)cinfer__pack_b_floats(p.k, p.n) * 4 + 64);
    if (!s || !s->pb) {
        mm_release(s);
        return cinfer__errorf(ctx->err, CINFER_OUT_OF_MEMORY, "out of memory packing input B");
    }
    cinfer__pack_b_par(ctx->pool, b->data, p.n, 1, p.k, p.n, s->pb);
    *state = s;
    return CINFER_OK;
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
    case CINFER_DTYPE_FLOAT: {
        mm_act none = MM_ACT_NONE;
        matmul_f32(ctx, &p, NULL, &none);
        break;
    }
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

typedef struct gemm_dims {
    bool ta, tb;
    int64_t m, n, k;
    float alpha, beta;
    const cinfer_tensor *c;   /* NULL when absent or beta == 0 */
} gemm_dims;

static gemm_dims gemm_dims_of(const cinfer__cpu_ctx *ctx) {
    const cinfer__node *nd = ctx->node;
    const cinfer_tensor *a = ctx->in[0], *b = ctx->in[1];
    gemm_dims d = {.ta = cinfer__attr_int(nd, "transA", 0) != 0,
                   .tb = cinfer__attr_int(nd, "transB", 0) != 0,
                   .alpha = cinfer__attr_float(nd, "alpha", 1.0f),
                   .beta = cinfer__attr_float(nd, "beta", 1.0f)};
    d.m = a->dims[d.ta ? 1 : 0];
    d.k = a->dims[d.ta ? 0 : 1];
    d.n = b->dims[d.tb ? 0 : 1];
    d.c = ctx->n_in > 2 && ctx->in[2] && d.beta != 0.0f ? ctx->in[2] : NULL;
    return d;
}

/* A C that is the same for every row ([], [1], [n], [1, n]) becomes a per-column bias. */
static bool gemm_c_is_row(const cinfer_tensor *c) {
    return c->rank < 2 || c->dims[0] == 1;
}

static size_t gemm_scratch(const cinfer__cpu_ctx *ctx) {
    gemm_dims d = gemm_dims_of(ctx);
    int64_t f = (d.m * d.k + 15) / 16 * 16 + cinfer__pack_b_floats(d.k, d.n) + d.n;
    return (size_t)f * sizeof(float);
}

static cinfer_status gemm_prepare(const cinfer__cpu_ctx *ctx, void **state) {
    gemm_dims d = gemm_dims_of(ctx);
    bool pack_b = ctx->in[1]->data != NULL, bias = d.c && d.c->data && gemm_c_is_row(d.c);
    if (ctx->in[0]->dtype != CINFER_DTYPE_FLOAT || (!pack_b && !bias)) return CINFER_OK;
    mm_state *s = cinfer__calloc(1, sizeof *s);
    bool ok = s != NULL;
    if (ok && pack_b) {
        s->pb = cinfer__aligned_alloc((size_t)cinfer__pack_b_floats(d.k, d.n) * 4 + 64);
        ok = s->pb != NULL;
    }
    if (ok && bias) {
        s->bias_c = cinfer__aligned_alloc((size_t)d.n * 4 + 64);
        ok = s->bias_c != NULL;
    }
    if (!ok) {
        mm_release(s);
        return cinfer__errorf(ctx->err, CINFER_OUT_OF_MEMORY, "out of memory packing Gemm inputs");
    }
    if (pack_b)
        cinfer__pack_b_par(ctx->pool, ctx->in[1]->data, d.tb ? 1 : d.n, d.tb ? d.k : 1, d.k, d.n,
                           s->pb);
    if (bias) {
        const float *c = d.c->data;
        int64_t cn = d.c->rank >= 1 ? d.c->dims[d.c->rank - 1] : 1;
        for (int64_t j = 0; j < d.n; j++) s->bias_c[j] = d.beta * c[cn == 1 ? 0 : j];
    }
    *state = s;
    return CINFER_OK;
}

static cinfer_status gemm_run(cinfer__cpu_ctx *ctx) {
    gemm_dims d = gemm_dims_of(ctx);
    const mm_state *st = ctx->state;
    const cinfer_tensor *a = ctx->in[0], *b = ctx->in[1];
    float *y = ctx->out[0]->data, *pa = ctx->scratch;
    /* scratch: packed A | packed B (unless prepacked) | beta*C as a column bias */
    float *pb_room = pa + (d.m * d.k + 15) / 16 * 16;
    float *pb = st && st->pb ? st->pb : pb_room;
    /* alpha scales packed A (one rounding per element, as alpha * (a*b) would take). */
    cinfer__pack_a_par(ctx->pool, a->data, d.ta ? 1 : d.k, d.ta ? d.m : 1, d.m, d.k, pa);
    if (d.alpha != 1.0f)
        for (int64_t i = 0; i < d.m * d.k; i++) pa[i] *= d.alpha;
    if (!st || !st->pb)
        cinfer__pack_b_par(ctx->pool, b->data, d.tb ? 1 : d.n, d.tb ? d.k : 1, d.k, d.n, pb);
    cinfer__gemm_args g = {.m = d.m, .n = d.n, .k = d.k, .batch = 1, .a = pa, .b = pb, .c = y,
                           .ldc = d.n,
                           .relu = cinfer__attr_int(ctx->node, CINFER_FUSED_RELU_ATTR, 0) != 0};
    if (st && st->bias_c) {
        g.bias_c = st->bias_c;
    } else if (d.c && gemm_c_is_row(d.c)) {
        float *bc = pb_room + cinfer__pack_b_floats(d.k, d.n);
        const float *c = d.c->data;
        int64_t cn = d.c->rank >= 1 ? d.c->dims[d.c->rank - 1] : 1;
        for (int64_t j = 0; j < d.n; j++) bc[j] = d.beta * c[cn == 1 ? 0 : j];
        g.bias_c = bc;
    } else if (d.c) {
        gemm_c fill = {d.c, d.beta, y, d.n};
        gemm_fill_c(&fill, 0, d.m, 0, d.n);
        g.accumulate = true;
    }
    cinfer__gemm_packed(ctx->pool, &g);
    return CINFER_OK;
}

/* FusedMatMul (the fusion passes' MatMul + bias row + activation): float only. */
static cinfer_status fused_matmul_supports(const cinfer__cpu_ctx *ctx) {
    if (ctx->in[0]->dtype == CINFER_DTYPE_FLOAT) return CINFER_OK;
    return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "dtype %s is not supported (float)",
                          cinfer_dtype_name(ctx->in[0]->dtype));
}

static cinfer_status fused_matmul_run(cinfer__cpu_ctx *ctx) {
    mm_plan p;
    mm_plan_make(ctx->in[0], ctx->in[1], &p);
    const cinfer_tensor *bias = ctx->n_in > 2 ? ctx->in[2] : NULL;
    mm_act act = mm_act_of(ctx->node);
    matmul_f32(ctx, &p, bias ? bias->data : NULL, &act);
    return CINFER_OK;
}

const cinfer__cpu_kernel cinfer__cpu_linalg[] = {
    {"MatMul", "", matmul_supports, matmul_scratch, matmul_run, matmul_prepare, mm_release},
    {"MatMulInteger", "", NULL, matmul_int_scratch, matmul_int_run},
    {"Gemm", "", gemm_supports, gemm_scratch, gemm_run, gemm_prepare, mm_release},
    {"FusedMatMul", "cinfer", fused_matmul_supports, matmul_scratch, fused_matmul_run,
     matmul_prepare, mm_release},
    {0},
};
