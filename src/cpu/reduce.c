/* CPU kernels: reductions (ReduceSum, ReduceMean, ... ReduceLogSumExp, ArgMax, ArgMin). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "cpu/cpu.h"
#include "ops/geometry.h"

typedef enum red_op {
    RED_SUM, RED_MEAN, RED_MAX, RED_MIN, RED_PROD, RED_L1, RED_L2, RED_LOGSUM, RED_LSE, RED_SUMSQ
} red_op;

/* How elements are folded into an accumulator: a sum of f(x), a product, a max or a min. */
typedef enum acc_kind { ACC_SUM, ACC_ABS, ACC_SQ, ACC_EXP, ACC_PROD, ACC_MAX, ACC_MIN } acc_kind;

static acc_kind acc_of(red_op op) {
    switch (op) {
    case RED_MAX: case RED_LSE: return ACC_MAX; /* LogSumExp starts with a max pass */
    case RED_MIN: return ACC_MIN;
    case RED_PROD: return ACC_PROD;
    case RED_L1: return ACC_ABS;
    case RED_L2: case RED_SUMSQ: return ACC_SQ;
    default: return ACC_SUM;
    }
}

static double acc_identity(acc_kind k) {
    return k == ACC_PROD ? 1.0 : k == ACC_MAX ? -INFINITY : k == ACC_MIN ? INFINITY : 0.0;
}

static double acc_combine(acc_kind k, double a, double b) {
    switch (k) {
    case ACC_PROD: return a * b;
    case ACC_MAX: return b > a ? b : a;
    case ACC_MIN: return b < a ? b : a;
    default: return a + b;
    }
}

/* The output value from the accumulated one; `shift` is the max for LogSumExp. */
static double finish(red_op op, double acc, int64_t count, double shift) {
    switch (op) {
    case RED_MEAN: return acc / (double)count;
    case RED_L2: return sqrt(acc);
    case RED_LOGSUM: return log(acc);
    case RED_LSE: return isinf(shift) ? shift : shift + log(acc);
    default: return acc;
    }
}

/* Dimensions after dropping size-1 dims and merging neighbours of the same kind: the output
 * walks the kept groups in order, each output sums over the reduced groups. */
typedef struct red_plan {
    int nk, nr;
    int64_t kdim[CINFER_MAX_RANK], kstride[CINFER_MAX_RANK];
    int64_t rdim[CINFER_MAX_RANK], rstride[CINFER_MAX_RANK];
    int64_t n_out, n_red;
} red_plan;

static void make_plan(const cinfer_tensor *x, const bool *mask, red_plan *p) {
    int64_t strides[CINFER_MAX_RANK];
    cinfer__strides(x->rank, x->dims, strides);
    memset(p, 0, sizeof *p);
    p->n_out = p->n_red = 1;
    int last = -1; /* kind of the previous non-trivial dim: 0 kept, 1 reduced */
    for (int i = 0; i < x->rank; i++) {
        int64_t d = x->dims[i];
        if (d == 1) continue;
        int kind = mask[i] ? 1 : 0;
        int64_t *dim = kind ? p->rdim : p->kdim, *str = kind ? p->rstride : p->kstride;
        int *cnt = kind ? &p->nr : &p->nk;
        if (kind == last) { /* merge into the previous group (inner dims are contiguous) */
            dim[*cnt - 1] *= d;
            str[*cnt - 1] = strides[i];
        } else {
            dim[*cnt] = d;
            str[*cnt] = strides[i];
            (*cnt)++;
        }
        if (kind) p->n_red *= d;
        else p->n_out *= d;
        last = kind;
    }
    if (p->nr == 0) { /* nothing reduced: each output folds one element */
        p->rdim[0] = 1;
        p->rstride[0] = 1;
        p->nr = 1;
    }
}

/* Contiguous sums in blocks of float partial sums, the blocks added in double: fast (vector
 * friendly) and accurate for long rows. */
#define ROW_SUM(NAME, F)                                                                  \
    static double NAME(const float *x, int64_t n, float m) {                              \
        double total = 0;                                                                 \
        for (int64_t b = 0; b < n; b += 1024) {                                           \
            int64_t e = b + 1024 < n ? b + 1024 : n, i = b;                               \
            float p[8] = {0};                                                             \
            for (; i + 8 <= e; i += 8)                                                    \
                for (int j = 0; j < 8; j++) {                                             \
                    float v = x[i + j];                                                   \
                    p[j] += F;                                                            \
                }                                                                         \
            for (; i < e; i++) {                                                          \
                float v = x[i];                                                           \
                p[0] += F;                                                                \
            }                                                                             \
            total += (double)((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7])); \
        }                                                                                 \
        return total;                                                                     \
    }
ROW_SUM(row_sum, v)
ROW_SUM(row_abs, fabsf(v))
ROW_SUM(row_sq, v * v)
ROW_SUM(row_exp, expf(v - m))

#define ROW_EXTREME(NAME, CMP)                                                            \
    static double NAME(const float *x, int64_t n) {                                       \
        float p[8];                                                                       \
        int64_t i = 0;                                                                    \
        for (int j = 0; j < 8; j++) p[j] = x[0];                                          \
        for (; i + 8 <= n; i += 8)                                                        \
            for (int j = 0; j < 8; j++) p[j] = x[i + j] CMP p[j] ? x[i + j] : p[j];       \
        for (; i < n; i++) p[0] = x[i] CMP p[0] ? x[i] : p[0];                            \
        for (int j = 1; j < 8; j++) p[0] = p[j] CMP p[0] ? p[j] : p[0];                   \
        return p[0];                                                                      \
    }
ROW_EXTREME(row_max, >)
ROW_EXTREME(row_min, <)

/* Folds f(x[i * stride]) for i < n. */
static double acc_line(acc_kind k, const float *x, int64_t n, int64_t stride, float m) {
    if (n == 0) return acc_identity(k);
    if (stride == 1) {
        switch (k) {
        case ACC_SUM: return row_sum(x, n, m);
        case ACC_ABS: return row_abs(x, n, m);
        case ACC_SQ: return row_sq(x, n, m);
        case ACC_EXP: return row_exp(x, n, m);
        case ACC_MAX: return row_max(x, n);
        case ACC_MIN: return row_min(x, n);
        default: break;
        }
    }
    double a = acc_identity(k);
    for (int64_t i = 0; i < n; i++) {
        double v = x[i * stride];
        switch (k) {
        case ACC_ABS: v = fabs(v); break;
        case ACC_SQ: v = v * v; break;
        case ACC_EXP: v = exp(v - m); break;
        default: break;
        }
        a = acc_combine(k, a, v);
    }
    return a;
}

/* Folds the whole reduced set of the output whose first input element is x. */
static double acc_set(acc_kind k, const red_plan *p, const float *x, float m) {
    int nr = p->nr, inner = nr - 1;
    int64_t idx[CINFER_MAX_RANK] = {0};
    double a = acc_identity(k);
    if (p->n_red == 0) return a;
    for (;;) {
        int64_t off = 0;
        for (int g = 0; g < inner; g++) off += idx[g] * p->rstride[g];
        a = acc_combine(k, a, acc_line(k, x + off, p->rdim[inner], p->rstride[inner], m));
        int g = inner - 1;
        while (g >= 0 && ++idx[g] == p->rdim[g]) idx[g--] = 0;
        if (g < 0) return a;
    }
}

typedef struct red_task {
    red_op op;
    const red_plan *p;
    const float *x;
    float *y;
    int64_t inner, chunks; /* column path only */
} red_task;

/* One output: its first input element from the kept-group coordinates of o. */
static void general_range(void *arg, int64_t begin, int64_t end) {
    const red_task *t = arg;
    const red_plan *p = t->p;
    for (int64_t o = begin; o < end; o++) {
        int64_t off = 0, r = o;
        for (int g = p->nk - 1; g >= 0; g--) {
            off += (r % p->kdim[g]) * p->kstride[g];
            r /= p->kdim[g];
        }
        const float *x = t->x + off;
        acc_kind k = acc_of(t->op);
        double a = acc_set(k, p, x, 0), shift = 0;
        if (t->op == RED_LSE) {
            shift = a;
            a = isinf(shift) ? 0 : acc_set(ACC_EXP, p, x, (float)shift);
        }
        t->y[o] = (float)finish(t->op, a, p->n_red, shift);
    }
}

/* Reduction over the middle axis of (outer, n, inner): columns in chunks of COLS so that
 * every pass reads contiguous memory. Task index = outer row * chunks + chunk. */
#define COLS 64
static void column_pass(acc_kind k, const float *x, int64_t n, int64_t inner, int w,
                        const double *m, double *acc) {
    for (int j = 0; j < w; j++) acc[j] = acc_identity(k);
    for (int64_t i = 0; i < n; i++) {
        const float *r = x + i * inner;
        switch (k) {
        case ACC_SUM: for (int j = 0; j < w; j++) acc[j] += r[j]; break;
        case ACC_ABS: for (int j = 0; j < w; j++) acc[j] += fabsf(r[j]); break;
        case ACC_SQ: for (int j = 0; j < w; j++) acc[j] += (double)r[j] * r[j]; break;
        case ACC_EXP: for (int j = 0; j < w; j++) acc[j] += exp(r[j] - m[j]); break;
        case ACC_PROD: for (int j = 0; j < w; j++) acc[j] *= r[j]; break;
        case ACC_MAX: for (int j = 0; j < w; j++) acc[j] = r[j] > acc[j] ? r[j] : acc[j]; break;
        case ACC_MIN: for (int j = 0; j < w; j++) acc[j] = r[j] < acc[j] ? r[j] : acc[j]; break;
        }
    }
}

static void column_range(void *arg, int64_t begin, int64_t end) {
    const red_task *t = arg;
    int64_t n = t->p->n_red, inner = t->inner;
    double acc[COLS], m[COLS] = {0};
    for (int64_t task = begin; task < end; task++) {
        int64_t o = task / t->chunks, j0 = (task % t->chunks) * COLS;
        int w = (int)(inner - j0 < COLS ? inner - j0 : COLS);
        const float *x = t->x + o * n * inner + j0;
        float *y = t->y + o * inner + j0;
        column_pass(acc_of(t->op), x, n, inner, w, m, acc);
        if (t->op == RED_LSE) {
            for (int j = 0; j < w; j++) m[j] = acc[j];
            column_pass(ACC_EXP, x, n, inner, w, m, acc);
            for (int j = 0; j < w; j++)
                if (isinf(m[j])) acc[j] = 0;
        }
        for (int j = 0; j < w; j++) y[j] = (float)finish(t->op, acc[j], n, m[j]);
    }
}

static cinfer_status reduce_float(cinfer__cpu_ctx *ctx, red_op op, const red_plan *p) {
    red_task t = {op, p, ctx->in[0]->data, ctx->out[0]->data, 0, 0};
    int64_t work = p->n_red > 0 ? p->n_red : 1;
    /* (outer, n, inner) with inner contiguous: exactly one reduced group followed by one kept
     * group of stride 1, at most one kept group before. */
    bool columns = p->nr == 1 && p->nk >= 1 && p->nk <= 2 && p->kstride[p->nk - 1] == 1 &&
                   p->rstride[0] == p->kdim[p->nk - 1];
    if (columns && p->n_red > 0) {
        t.inner = p->kdim[p->nk - 1];
        t.chunks = (t.inner + COLS - 1) / COLS;
        int64_t tasks = (p->n_out / t.inner) * t.chunks;
        cinfer__parallel_for(ctx->pool, tasks, 1 + 32768 / (work * COLS), column_range, &t);
        return CINFER_OK;
    }
    cinfer__parallel_for(ctx->pool, p->n_out, 1 + 32768 / work, general_range, &t);
    return CINFER_OK;
}

/* Integer Sum/Max/Min/Prod (shape arithmetic): simple and exact, in int64. */
static int64_t int_set(red_op op, const red_plan *p, const cinfer_tensor *x, int64_t base) {
    int64_t idx[CINFER_MAX_RANK] = {0};
    int64_t a = op == RED_PROD ? 1 : op == RED_MAX ? INT64_MIN : op == RED_MIN ? INT64_MAX : 0;
    if (p->n_red == 0) return a;
    for (;;) {
        int64_t off = base;
        for (int g = 0; g < p->nr; g++) off += idx[g] * p->rstride[g];
        int64_t v = cinfer__get_i64(x, off);
        switch (op) {
        case RED_PROD: a = (int64_t)((uint64_t)a * (uint64_t)v); break;
        case RED_MAX: a = v > a ? v : a; break;
        case RED_MIN: a = v < a ? v : a; break;
        default: a = (int64_t)((uint64_t)a + (uint64_t)v); break;
        }
        int g = p->nr - 1;
        while (g >= 0 && ++idx[g] == p->rdim[g]) idx[g--] = 0;
        if (g < 0) return a;
    }
}

static void reduce_int(red_op op, const red_plan *p, const cinfer_tensor *x, cinfer_tensor *y) {
    for (int64_t o = 0; o < p->n_out; o++) {
        int64_t off = 0, r = o;
        for (int g = p->nk - 1; g >= 0; g--) {
            off += (r % p->kdim[g]) * p->kstride[g];
            r /= p->kdim[g];
        }
        int64_t v = int_set(op, p, x, off);
        if (y->dtype == CINFER_DTYPE_INT64) ((int64_t *)y->data)[o] = v;
        else ((int32_t *)y->data)[o] = (int32_t)v;
    }
}

/* float64: rare (ONNX's own tests), so one simple exact loop per output. */
static double f64_set(acc_kind k, const red_plan *p, const double *x, double m) {
    int64_t idx[CINFER_MAX_RANK] = {0};
    double a = acc_identity(k);
    if (p->n_red == 0) return a;
    for (;;) {
        int64_t off = 0;
        for (int g = 0; g < p->nr; g++) off += idx[g] * p->rstride[g];
        double v = x[off];
        v = k == ACC_ABS ? fabs(v) : k == ACC_SQ ? v * v : k == ACC_EXP ? exp(v - m) : v;
        a = acc_combine(k, a, v);
        int g = p->nr - 1;
        while (g >= 0 && ++idx[g] == p->rdim[g]) idx[g--] = 0;
        if (g < 0) return a;
    }
}

static void reduce_f64(red_op op, const red_plan *p, const double *x, double *y) {
    for (int64_t o = 0; o < p->n_out; o++) {
        int64_t off = 0, r = o;
        for (int g = p->nk - 1; g >= 0; g--) {
            off += (r % p->kdim[g]) * p->kstride[g];
            r /= p->kdim[g];
        }
        double a = f64_set(acc_of(op), p, x + off, 0), shift = 0;
        if (op == RED_LSE) {
            shift = a;
            a = isinf(shift) ? 0 : f64_set(ACC_EXP, p, x + off, shift);
        }
        y[o] = finish(op, a, p->n_red, shift);
    }
}

static cinfer_status reduce_supports(const cinfer__cpu_ctx *ctx) {
    cinfer_dtype dt = ctx->in[0]->dtype;
    const char *op = ctx->node->op_type;
    bool int_op = !strcmp(op, "ReduceSum") || !strcmp(op, "ReduceMax") ||
                  !strcmp(op, "ReduceMin") || !strcmp(op, "ReduceProd");
    if (dt == CINFER_DTYPE_FLOAT || dt == CINFER_DTYPE_DOUBLE ||
        (int_op && (dt == CINFER_DTYPE_INT32 || dt == CINFER_DTYPE_INT64)))
        return CINFER_OK;
    return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "input 0 has unsupported dtype %s",
                          cinfer_dtype_name(dt));
}

static cinfer_status reduce_run(cinfer__cpu_ctx *ctx, red_op op) {
    const cinfer_tensor *x = ctx->in[0];
    bool mask[CINFER_MAX_RANK], noop;
    const cinfer_tensor *axes = ctx->n_in > 1 ? ctx->in[1] : NULL;
    CINFER_TRY(cinfer__reduce_axes(ctx->node, x->rank, axes, mask, &noop, ctx->err));
    if (noop) { /* the input unchanged, even for ops like ReduceL2 or ReduceLogSum */
        memcpy(ctx->out[0]->data, x->data, cinfer__tensor_bytes(x));
        return CINFER_OK;
    }
    red_plan p;
    make_plan(x, mask, &p);
    if (x->dtype == CINFER_DTYPE_FLOAT) return reduce_float(ctx, op, &p);
    if (x->dtype == CINFER_DTYPE_DOUBLE) {
        reduce_f64(op, &p, x->data, ctx->out[0]->data);
        return CINFER_OK;
    }
    reduce_int(op, &p, x, ctx->out[0]);
    return CINFER_OK;
}

#define REDUCE_RUN(name, op)                                                              \
    static cinfer_status name(cinfer__cpu_ctx *ctx) { return reduce_run(ctx, op); }
REDUCE_RUN(run_sum, RED_SUM)
REDUCE_RUN(run_mean, RED_MEAN)
REDUCE_RUN(run_max, RED_MAX)
REDUCE_RUN(run_min, RED_MIN)
REDUCE_RUN(run_prod, RED_PROD)
REDUCE_RUN(run_l1, RED_L1)
REDUCE_RUN(run_l2, RED_L2)
REDUCE_RUN(run_logsum, RED_LOGSUM)
REDUCE_RUN(run_lse, RED_LSE)
REDUCE_RUN(run_sumsq, RED_SUMSQ)

/* ---- ArgMax / ArgMin over one axis of (outer, n, inner) ---- */

typedef struct arg_task {
    const cinfer_tensor *x;
    int64_t *y;
    int64_t n, inner;
    bool is_max, last;
} arg_task;

/* `better` decides whether v replaces the current best b: strictly better keeps the first
 * index, better-or-equal keeps the last one (select_last_index). */
#define ARG_LINE(NAME, T)                                                                 \
    static int64_t NAME(const T *x, int64_t n, int64_t stride, bool is_max, bool last) {  \
        T b = x[0];                                                                       \
        int64_t bi = 0;                                                                   \
        for (int64_t i = 1; i < n; i++) {                                                 \
            T v = x[i * stride];                                                          \
            bool take = is_max ? (last ? v >= b : v > b) : (last ? v <= b : v < b);       \
            if (take) {                                                                   \
                b = v;                                                                    \
                bi = i;                                                                   \
            }                                                                             \
        }                                                                                 \
        return bi;                                                                        \
    }
ARG_LINE(arg_f32, float)
ARG_LINE(arg_i32, int32_t)
ARG_LINE(arg_i64, int64_t)

static void arg_range(void *arg, int64_t begin, int64_t end) {
    const arg_task *t = arg;
    for (int64_t o = begin; o < end; o++) {
        int64_t base = (o / t->inner) * t->n * t->inner + o % t->inner;
        switch (t->x->dtype) {
        case CINFER_DTYPE_INT32:
            t->y[o] = arg_i32((const int32_t *)t->x->data + base, t->n, t->inner, t->is_max,
                              t->last);
            break;
        case CINFER_DTYPE_INT64:
            t->y[o] = arg_i64((const int64_t *)t->x->data + base, t->n, t->inner, t->is_max,
                              t->last);
            break;
        default:
            t->y[o] = arg_f32((const float *)t->x->data + base, t->n, t->inner, t->is_max,
                              t->last);
        }
    }
}

static cinfer_status arg_supports(const cinfer__cpu_ctx *ctx) {
    cinfer_dtype dt = ctx->in[0]->dtype;
    if (dt == CINFER_DTYPE_FLOAT || dt == CINFER_DTYPE_INT32 || dt == CINFER_DTYPE_INT64)
        return CINFER_OK;
    return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "input 0 has unsupported dtype %s",
                          cinfer_dtype_name(dt));
}

static cinfer_status arg_run(cinfer__cpu_ctx *ctx, bool is_max) {
    const cinfer_tensor *x = ctx->in[0];
    int ax;
    if (!cinfer__norm_axis(cinfer__attr_int(ctx->node, "axis", 0), x->rank, &ax))
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT, "axis out of range");
    arg_task t = {x, ctx->out[0]->data, x->dims[ax], 1, is_max,
                  cinfer__attr_int(ctx->node, "select_last_index", 0) != 0};
    for (int i = ax + 1; i < x->rank; i++) t.inner *= x->dims[i];
    int64_t n_out = cinfer_tensor_numel(ctx->out[0]);
    cinfer__parallel_for(ctx->pool, n_out, 1 + 32768 / (t.n ? t.n : 1), arg_range, &t);
    return CINFER_OK;
}

static cinfer_status run_argmax(cinfer__cpu_ctx *ctx) { return arg_run(ctx, true); }
static cinfer_status run_argmin(cinfer__cpu_ctx *ctx) { return arg_run(ctx, false); }

const cinfer__cpu_kernel cinfer__cpu_reduce[] = {
    {"ReduceSum", "", reduce_supports, NULL, run_sum},
    {"ReduceMean", "", reduce_supports, NULL, run_mean},
    {"ReduceMax", "", reduce_supports, NULL, run_max},
    {"ReduceMin", "", reduce_supports, NULL, run_min},
    {"ReduceProd", "", reduce_supports, NULL, run_prod},
    {"ReduceL1", "", reduce_supports, NULL, run_l1},
    {"ReduceL2", "", reduce_supports, NULL, run_l2},
    {"ReduceLogSum", "", reduce_supports, NULL, run_logsum},
    {"ReduceLogSumExp", "", reduce_supports, NULL, run_lse},
    {"ReduceSumSquare", "", reduce_supports, NULL, run_sumsq},
    {"ArgMax", "", arg_supports, NULL, run_argmax},
    {"ArgMin", "", arg_supports, NULL, run_argmin},
    {0},
};
