/* CPU kernels for two-input elementwise ops (arithmetic, comparison, logic) and the variadic
 * Sum/Mean/Max/Min, which fold their inputs pairwise into the output. Float32, int32 and int64
 * get typed loops the compiler vectorizes; every other dtype goes through a scalar path. */
#if defined(__GNUC__) && !defined(__clang__)
/* Lets selects over float arithmetic (PRelu's x < 0 ? x * y : x) be if-converted, so such
 * loops vectorize: nothing in cinfer runs with floating-point traps enabled. */
#pragma GCC optimize("no-trapping-math")
#endif
#include <math.h>

#include "cpu/elementwise_impl.h"

typedef struct bin_job {
    const void *a, *b;
    void *o;
    cinfer_dtype adt, bdt, odt;
    cinfer__ew_op op;
    const cinfer__ew_params *p;
} bin_job;

/* ---- Typed rows -------------------------------------------------------------------------
 * One function per (op, dtype) handles the four stride patterns of a row (both inputs
 * advancing, or either one fixed) with loops free of index math, so they vectorize. The output
 * may be input a itself (variadic folding), so no restrict. */
#define ROW(NAME, T, TO, EXPR)                                                                \
    static void NAME(void *arg, int64_t o, const int64_t *off, const int64_t *inc, int64_t n) { \
        const bin_job *j = arg;                                                               \
        const T *A = (const T *)j->a + off[0], *B = (const T *)j->b + off[1];                 \
        TO *O = (TO *)j->o + o;                                                               \
        if (inc[0] && inc[1]) {                                                               \
            for (int64_t i = 0; i < n; i++) {                                                 \
                T x = A[i], y = B[i];                                                         \
                O[i] = (TO)(EXPR);                                                            \
            }                                                                                 \
        } else if (inc[1]) {                                                                  \
            const T x = A[0];                                                                 \
            for (int64_t i = 0; i < n; i++) {                                                 \
                T y = B[i];                                                                   \
                O[i] = (TO)(EXPR);                                                            \
            }                                                                                 \
        } else if (inc[0]) {                                                                  \
            const T y = B[0];                                                                 \
            for (int64_t i = 0; i < n; i++) {                                                 \
                T x = A[i];                                                                   \
                O[i] = (TO)(EXPR);                                                            \
            }                                                                                 \
        } else {                                                                              \
            const T x = A[0], y = B[0];                                                       \
            const TO v = (TO)(EXPR);                                                          \
            for (int64_t i = 0; i < n; i++) O[i] = v;                                         \
        }                                                                                     \
    }

/* Max/Min propagate NaN from either side, as numpy's maximum/minimum do. */
#define MAXF(x, y) ((x) != (x) || (x) > (y) ? (x) : (y))
#define MINF(x, y) ((x) != (x) || (x) < (y) ? (x) : (y))
/* Integer add/sub/mul wrap (through unsigned arithmetic, where overflow is defined). */
#define WRAP(T, U, x, op, y) ((T)((U)(x) op (U)(y)))

ROW(add_f32, float, float, x + y)
ROW(sub_f32, float, float, x - y)
ROW(mul_f32, float, float, x * y)
ROW(div_f32, float, float, x / y)
ROW(max_f32, float, float, MAXF(x, y))
ROW(min_f32, float, float, MINF(x, y))
ROW(prelu_f32, float, float, x < 0 ? x * y : x)
ROW(pow_f32_any, float, float, powf(x, y))
ROW(eq_f32, float, uint8_t, x == y)
ROW(lt_f32, float, uint8_t, x < y)
ROW(gt_f32, float, uint8_t, x > y)
ROW(le_f32, float, uint8_t, x <= y)
ROW(ge_f32, float, uint8_t, x >= y)

#define INT_ROWS(S, T, U)                                                                     \
    ROW(add_##S, T, T, WRAP(T, U, x, +, y))                                                   \
    ROW(sub_##S, T, T, WRAP(T, U, x, -, y))                                                   \
    ROW(mul_##S, T, T, WRAP(T, U, x, *, y))                                                   \
    ROW(max_##S, T, T, x > y ? x : y)                                                         \
    ROW(min_##S, T, T, x < y ? x : y)                                                         \
    ROW(eq_##S, T, uint8_t, x == y)                                                           \
    ROW(lt_##S, T, uint8_t, x < y)                                                            \
    ROW(gt_##S, T, uint8_t, x > y)                                                            \
    ROW(le_##S, T, uint8_t, x <= y)                                                           \
    ROW(ge_##S, T, uint8_t, x >= y)
INT_ROWS(i32, int32_t, uint32_t)
INT_ROWS(i64, int64_t, uint64_t)

ROW(and_b, uint8_t, uint8_t, (x != 0) & (y != 0))
ROW(or_b, uint8_t, uint8_t, (x != 0) | (y != 0))
ROW(xor_b, uint8_t, uint8_t, (x != 0) ^ (y != 0))
ROW(eq_b, uint8_t, uint8_t, (x != 0) == (y != 0))

/* Pow with one exponent for the whole row: the common squares and roots become plain
 * arithmetic (x*x is exactly what powf(x, 2) rounds to). */
static void pow_f32(void *arg, int64_t o, const int64_t *off, const int64_t *inc, int64_t n) {
    const bin_job *j = arg;
    const float *x = (const float *)j->a + off[0];
    float *out = (float *)j->o + o, y = ((const float *)j->b)[off[1]];
    if (inc[1] || !inc[0]) {
        pow_f32_any(arg, o, off, inc, n);
    } else if (y == 2.0f) {
        for (int64_t i = 0; i < n; i++) out[i] = x[i] * x[i];
    } else if (y == 1.0f) {
        for (int64_t i = 0; i < n; i++) out[i] = x[i];
    } else if (y == 3.0f) {
        for (int64_t i = 0; i < n; i++) out[i] = x[i] * x[i] * x[i];
    } else if (y == 0.5f) {
        for (int64_t i = 0; i < n; i++) out[i] = x[i] < 0 ? NAN : sqrtf(x[i]);
    } else if (y == -1.0f) {
        for (int64_t i = 0; i < n; i++) out[i] = 1.0f / x[i];
    } else {
        pow_f32_any(arg, o, off, inc, n);
    }
}

#define PICK_INT(S)                                                                           \
    switch (op) {                                                                             \
    case CINFER__EW_ADD: return add_##S;                                                      \
    case CINFER__EW_SUB: return sub_##S;                                                      \
    case CINFER__EW_MUL: return mul_##S;                                                      \
    case CINFER__EW_MAX: return max_##S;                                                      \
    case CINFER__EW_MIN: return min_##S;                                                      \
    case CINFER__EW_EQUAL: return eq_##S;                                                     \
    case CINFER__EW_LESS: return lt_##S;                                                      \
    case CINFER__EW_GREATER: return gt_##S;                                                   \
    case CINFER__EW_LESS_EQUAL: return le_##S;                                                \
    case CINFER__EW_GREATER_EQUAL: return ge_##S;                                             \
    default: return NULL;                                                                     \
    }

static cinfer__ew_row_fn pick_f32(cinfer__ew_op op) {
    switch (op) {
    case CINFER__EW_ADD: return add_f32;
    case CINFER__EW_SUB: return sub_f32;
    case CINFER__EW_MUL: return mul_f32;
    case CINFER__EW_DIV: return div_f32;
    case CINFER__EW_MAX: return max_f32;
    case CINFER__EW_MIN: return min_f32;
    case CINFER__EW_PRELU: return prelu_f32;
    case CINFER__EW_POW: return pow_f32;
    case CINFER__EW_EQUAL: return eq_f32;
    case CINFER__EW_LESS: return lt_f32;
    case CINFER__EW_GREATER: return gt_f32;
    case CINFER__EW_LESS_EQUAL: return le_f32;
    case CINFER__EW_GREATER_EQUAL: return ge_f32;
    default: return NULL;
    }
}

static cinfer__ew_row_fn pick_bool(cinfer__ew_op op) {
    switch (op) {
    case CINFER__EW_AND: return and_b;
    case CINFER__EW_OR: return or_b;
    case CINFER__EW_XOR: return xor_b;
    case CINFER__EW_EQUAL: return eq_b;
    default: return NULL;
    }
}

/* A typed row for (op, dtypes), or NULL for the scalar path. */
static cinfer__ew_row_fn pick_typed(cinfer__ew_op op, cinfer_dtype adt, cinfer_dtype bdt) {
    if (adt != bdt) return NULL; /* Pow with a differently typed exponent */
    switch (adt) {
    case CINFER_DTYPE_FLOAT: return pick_f32(op);
    case CINFER_DTYPE_INT32: PICK_INT(i32)
    case CINFER_DTYPE_INT64: PICK_INT(i64)
    case CINFER_DTYPE_BOOL: return pick_bool(op);
    default: return NULL;
    }
}

/* ---- Scalar path: float math in double, integers in int64 / uint64 ------------------------ */

static double mod_f(double x, double y, bool c_fmod) {
    double r = fmod(x, y);
    /* Mod with fmod=0 takes the divisor's sign (Python's %). */
    if (!c_fmod && r != 0 && (r < 0) != (y < 0)) r += y;
    return r;
}

static double bin_f(const bin_job *j, double x, double y) {
    switch (j->op) {
    case CINFER__EW_ADD: return x + y;
    case CINFER__EW_SUB: return x - y;
    case CINFER__EW_MUL: return x * y;
    case CINFER__EW_DIV: return x / y;
    case CINFER__EW_POW: return pow(x, y);
    case CINFER__EW_MOD: return mod_f(x, y, j->p->fmod);
    case CINFER__EW_MAX: return MAXF(x, y);
    case CINFER__EW_MIN: return MINF(x, y);
    case CINFER__EW_PRELU: return x < 0 ? x * y : x;
    case CINFER__EW_EQUAL: return x == y;
    case CINFER__EW_LESS: return x < y;
    case CINFER__EW_GREATER: return x > y;
    case CINFER__EW_LESS_EQUAL: return x <= y;
    case CINFER__EW_GREATER_EQUAL: return x >= y;
    default: return 0;
    }
}

/* Integer power by squaring, wrapping like the other integer ops. A negative exponent leaves
 * only the integer part of 1/x^|y|. */
static uint64_t ipow(int64_t x, int64_t y) {
    if (y < 0) return x == 1 ? 1 : x == -1 ? ((y & 1) ? (uint64_t)-1 : 1) : 0;
    uint64_t r = 1, b = (uint64_t)x;
    for (uint64_t e = (uint64_t)y; e; e >>= 1, b *= b)
        if (e & 1) r *= b;
    return r;
}

static int64_t bin_i(const bin_job *j, int64_t x, int64_t y) {
    uint64_t ux = (uint64_t)x, uy = (uint64_t)y;
    switch (j->op) {
    case CINFER__EW_ADD: return (int64_t)(ux + uy);
    case CINFER__EW_SUB: return (int64_t)(ux - uy);
    case CINFER__EW_MUL: return (int64_t)(ux * uy);
    case CINFER__EW_DIV: /* truncates toward zero, as C and ONNX Runtime do */
        if (y == 0) return 0;
        return (y == -1) ? (int64_t)(0 - ux) : x / y;
    case CINFER__EW_MOD: {
        if (y == 0) return 0;
        int64_t r = (y == -1) ? 0 : x % y;
        if (!j->p->fmod && r != 0 && (r < 0) != (y < 0)) r += y;
        return r;
    }
    case CINFER__EW_POW: return (int64_t)ipow(x, y);
    case CINFER__EW_MAX: return x > y ? x : y;
    case CINFER__EW_MIN: return x < y ? x : y;
    case CINFER__EW_PRELU: return x < 0 ? (int64_t)(ux * uy) : x;
    case CINFER__EW_EQUAL: return x == y;
    case CINFER__EW_LESS: return x < y;
    case CINFER__EW_GREATER: return x > y;
    case CINFER__EW_LESS_EQUAL: return x <= y;
    case CINFER__EW_GREATER_EQUAL: return x >= y;
    case CINFER__EW_AND: return x && y;
    case CINFER__EW_OR: return x || y;
    case CINFER__EW_XOR: return !x != !y;
    default: return 0;
    }
}

static uint64_t bin_u(const bin_job *j, uint64_t x, uint64_t y) {
    switch (j->op) {
    case CINFER__EW_DIV: return y ? x / y : 0;
    case CINFER__EW_MOD: return y ? x % y : 0;
    case CINFER__EW_MAX: return x > y ? x : y;
    case CINFER__EW_MIN: return x < y ? x : y;
    case CINFER__EW_PRELU: return x;
    case CINFER__EW_LESS: return x < y;
    case CINFER__EW_GREATER: return x > y;
    case CINFER__EW_LESS_EQUAL: return x <= y;
    case CINFER__EW_GREATER_EQUAL: return x >= y;
    case CINFER__EW_BITSHIFT:
        if (y >= 64) return 0;
        return j->p->shift_left ? x << y : x >> y;
    default: return (uint64_t)bin_i(j, (int64_t)x, (int64_t)y);
    }
}

static void row_generic(void *arg, int64_t o, const int64_t *off, const int64_t *inc,
                        int64_t n) {
    const bin_job *j = arg;
    bool flt = cinfer__dtype_is_float(j->adt);
    bool uns = cinfer__ew_is_unsigned(j->adt) || j->op == CINFER__EW_BITSHIFT;
    /* An integer base with a float exponent: the power in double, truncated. */
    bool pow_mixed = j->op == CINFER__EW_POW && !flt && cinfer__dtype_is_float(j->bdt);
    for (int64_t i = 0; i < n; i++) {
        int64_t ia = off[0] + i * inc[0], ib = off[1] + i * inc[1];
        if (flt || pow_mixed) {
            double x = cinfer__ew_ld_f(j->a, ia, j->adt), y = cinfer__ew_ld_f(j->b, ib, j->bdt);
            cinfer__ew_st_f(j->o, o + i, j->odt, bin_f(j, x, y));
        } else if (uns) {
            uint64_t x = (uint64_t)cinfer__ew_ld_i(j->a, ia, j->adt);
            uint64_t y = (uint64_t)cinfer__ew_ld_i(j->b, ib, j->bdt);
            cinfer__ew_st_i(j->o, o + i, j->odt, (int64_t)bin_u(j, x, y));
        } else {
            int64_t x = cinfer__ew_ld_i(j->a, ia, j->adt), y = cinfer__ew_ld_i(j->b, ib, j->bdt);
            cinfer__ew_st_i(j->o, o + i, j->odt, bin_i(j, x, y));
        }
    }
}

/* ---- Drivers ------------------------------------------------------------------------------ */

/* out = a op b, b given with the dims it broadcasts with (brank, bdims). */
static void bin_exec(cinfer__pool *pool, const cinfer__ew_params *p, cinfer__ew_op op,
                     const cinfer_tensor *a, const cinfer_tensor *b, int brank,
                     const int64_t *bdims, cinfer_tensor *out) {
    int ranks[2] = {a->rank, brank};
    int64_t dims[2][CINFER_MAX_RANK];
    if (a->rank) memcpy(dims[0], a->dims, sizeof(int64_t) * a->rank);
    if (brank) memcpy(dims[1], bdims, sizeof(int64_t) * brank);
    cinfer__ew_walk w;
    cinfer__ew_walk_init(&w, out->rank, out->dims, 2, ranks, dims);
    bin_job j = {a->data, b->data, out->data, a->dtype, b->dtype, out->dtype, op, p};
    cinfer__ew_row_fn fn = pick_typed(op, a->dtype, b->dtype);
    cinfer__ew_walk_run(pool, &w, fn ? fn : row_generic, &j);
}

cinfer_status cinfer__ew_run_binary(cinfer__cpu_ctx *ctx) {
    const cinfer__ew_params *p = ctx->node->params;
    const cinfer_tensor *a = ctx->in[0], *b = ctx->in[1];
    int brank;
    int64_t bdims[CINFER_MAX_RANK];
    if (!cinfer__ew_b_dims(p, a, b, &brank, bdims))
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT, "input 1 does not broadcast");
    bin_exec(ctx->pool, p, p->op, a, b, brank, bdims, ctx->out[0]);
    return CINFER_OK;
}

/* Mean's final division by the input count, as a Div by a scalar of the output dtype. */
static void divide_by_count(cinfer__cpu_ctx *ctx, const cinfer__ew_params *p, int count) {
    cinfer_tensor *out = ctx->out[0];
    uint64_t storage = 0;
    cinfer_tensor n = {.dtype = out->dtype, .rank = 0, .data = &storage};
    cinfer__ew_st_i(&storage, 0, out->dtype, count);
    bin_exec(ctx->pool, p, CINFER__EW_DIV, out, &n, 0, NULL, out);
}

cinfer_status cinfer__ew_run_variadic(cinfer__cpu_ctx *ctx) {
    const cinfer__ew_params *p = ctx->node->params;
    cinfer_tensor *out = ctx->out[0];
    cinfer__ew_op op = p->op == CINFER__EW_MAX ? CINFER__EW_MAX
                     : p->op == CINFER__EW_MIN ? CINFER__EW_MIN : CINFER__EW_ADD;
    if (ctx->n_in == 1) { /* broadcast of one shape is itself: a copy */
        memcpy(out->data, ctx->in[0]->data, cinfer__tensor_bytes(out));
        return CINFER_OK;
    }
    const cinfer_tensor *a = ctx->in[0];
    for (int k = 1; k < ctx->n_in; k++) {
        const cinfer_tensor *b = ctx->in[k];
        bin_exec(ctx->pool, p, op, a, b, b->rank, b->dims, out);
        a = out; /* fold the rest into the output in place */
    }
    if (p->op == CINFER__EW_MEAN) divide_by_count(ctx, p, ctx->n_in);
    return CINFER_OK;
}
