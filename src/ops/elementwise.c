/* Op definitions of the elementwise family: arithmetic, comparison, logic, activations, Cast,
 * Where, Identity and Dropout, with their load-time attribute checks and shape inference. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "ops/elementwise_impl.h"

/* ---- Op names, kinds, dtype sets --------------------------------------------------------- */

static const struct {
    const char *name;
    cinfer__ew_kind kind;
} op_info[CINFER__EW_COUNT] = {
#define OP_INFO_(e, name, kind) [CINFER__EW_##e] = {name, CINFER__EW_KIND_##kind},
    CINFER__EW_OPS(OP_INFO_)
#undef OP_INFO_
};

cinfer__ew_kind cinfer__ew_kind_of(cinfer__ew_op op) { return op_info[op].kind; }

#define DT(x) (1u << CINFER_DTYPE_##x)
#define FLOATS (DT(FLOAT) | DT(DOUBLE) | DT(FLOAT16) | DT(BFLOAT16))
#define INTS                                                                                  \
    (DT(INT8) | DT(INT16) | DT(INT32) | DT(INT64) | DT(UINT8) | DT(UINT16) | DT(UINT32) |     \
     DT(UINT64))
#define NUMERIC (FLOATS | INTS)
#define ANY_FIXED (NUMERIC | DT(BOOL))

static bool dt_in(cinfer_dtype dt, unsigned set) {
    return (unsigned)dt < 32 && (set >> (unsigned)dt & 1u);
}

/* The dtypes input 0 may have for each op. */
static unsigned op_dtypes(cinfer__ew_op op) {
    switch (op) {
    case CINFER__EW_BITSHIFT: return INTS;
    case CINFER__EW_EQUAL: case CINFER__EW_LESS: case CINFER__EW_GREATER:
    case CINFER__EW_LESS_EQUAL: case CINFER__EW_GREATER_EQUAL: return NUMERIC | DT(BOOL);
    case CINFER__EW_AND: case CINFER__EW_OR: case CINFER__EW_XOR: case CINFER__EW_NOT:
        return DT(BOOL);
    case CINFER__EW_WHERE: return DT(BOOL);
    case CINFER__EW_ADD: case CINFER__EW_SUB: case CINFER__EW_MUL: case CINFER__EW_DIV:
    case CINFER__EW_POW: case CINFER__EW_MOD: case CINFER__EW_PRELU: case CINFER__EW_SUM:
    case CINFER__EW_MEAN: case CINFER__EW_MAX: case CINFER__EW_MIN: case CINFER__EW_NEG:
    case CINFER__EW_ABS: case CINFER__EW_RELU: case CINFER__EW_SIGN: case CINFER__EW_CLIP:
    case CINFER__EW_SHRINK: return NUMERIC;
    case CINFER__EW_CAST: case CINFER__EW_CAST_LIKE: case CINFER__EW_IDENTITY:
    case CINFER__EW_DROPOUT: return ANY_FIXED;
    default: return FLOATS; /* float math and IsNaN/IsInf */
    }
}

cinfer_status cinfer__ew_check_dtypes(const cinfer__ew_params *p, int n_in,
                                      const cinfer_tensor *const *in, cinfer_dtype out_dt,
                                      cinfer__err *err) {
    cinfer_dtype dt = in[0]->dtype;
    if (!dt_in(dt, op_dtypes(p->op)))
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "input 0 dtype %s is not supported",
                              cinfer_dtype_name(dt));
    if (p->op == CINFER__EW_WHERE && !dt_in(in[1]->dtype, ANY_FIXED))
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "input 1 dtype %s is not supported",
                              cinfer_dtype_name(in[1]->dtype));
    if (p->op == CINFER__EW_POW && n_in > 1 && !dt_in(in[1]->dtype, NUMERIC))
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "exponent dtype %s is not supported",
                              cinfer_dtype_name(in[1]->dtype));
    if (p->kind == CINFER__EW_KIND_CAST && !dt_in(out_dt, ANY_FIXED))
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "cast to dtype %s is not supported",
                              cinfer_dtype_name(out_dt));
    return CINFER_OK;
}

/* ---- Load-time checks ---------------------------------------------------------------------- */

static bool op_lookup(const char *name, cinfer__ew_op *op) {
    for (int i = 0; i < CINFER__EW_COUNT; i++)
        if (!strcmp(op_info[i].name, name)) {
            *op = (cinfer__ew_op)i;
            return true;
        }
    return false;
}

/* Add-1..6 and the other ops of that era: broadcast=1 aligns B at `axis` of A. */
static bool has_legacy_bcast(cinfer__ew_op op) {
    switch (op) {
    case CINFER__EW_ADD: case CINFER__EW_SUB: case CINFER__EW_MUL: case CINFER__EW_DIV:
    case CINFER__EW_POW: case CINFER__EW_EQUAL: case CINFER__EW_LESS: case CINFER__EW_GREATER:
    case CINFER__EW_AND: case CINFER__EW_OR: case CINFER__EW_XOR: return true;
    default: return false;
    }
}

/* Cast-1..5 names the target type as a string. */
static cinfer_dtype dtype_from_name(const char *s) {
    static const struct { const char *name; cinfer_dtype dt; } names[] = {
        {"FLOAT", CINFER_DTYPE_FLOAT},   {"UINT8", CINFER_DTYPE_UINT8},
        {"INT8", CINFER_DTYPE_INT8},     {"UINT16", CINFER_DTYPE_UINT16},
        {"INT16", CINFER_DTYPE_INT16},   {"INT32", CINFER_DTYPE_INT32},
        {"INT64", CINFER_DTYPE_INT64},   {"BOOL", CINFER_DTYPE_BOOL},
        {"FLOAT16", CINFER_DTYPE_FLOAT16}, {"DOUBLE", CINFER_DTYPE_DOUBLE},
        {"UINT32", CINFER_DTYPE_UINT32}, {"UINT64", CINFER_DTYPE_UINT64},
        {"BFLOAT16", CINFER_DTYPE_BFLOAT16},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(names[i].name, s)) return names[i].dt;
    return CINFER_DTYPE_UNDEFINED;
}

static cinfer_status check_cast(const cinfer__node *node, cinfer__ew_params *p,
                                 cinfer__err *err) {
    const cinfer__attr *a = cinfer__node_attr(node, "to");
    if (!a) return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute 'to' is missing");
    if (a->type == CINFER_ATTR_STRING) {
        p->to = dtype_from_name(a->s);
        if (!p->to)
            return cinfer__errorf(err, CINFER_UNSUPPORTED, "attribute to='%s' is not supported",
                                  a->s);
        return CINFER_OK;
    }
    if (a->i < 0 || a->i > 31 || !dt_in((cinfer_dtype)a->i, ANY_FIXED)) {
        const char *what = a->i == CINFER_DTYPE_STRING      ? "string"
                           : a->i >= 17 && a->i <= 20       ? "float8"
                           : a->i == 14 || a->i == 15       ? "complex"
                                                            : "an unknown dtype";
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "attribute to=%lld (%s) is not supported",
                              (long long)a->i, what);
    }
    p->to = (cinfer_dtype)a->i;
    return CINFER_OK; /* Cast-19 `saturate` only affects float8 targets, which are rejected. */
}

static cinfer_status check_strings(const cinfer__node *node, cinfer__ew_params *p,
                                   cinfer__err *err) {
    if (p->op == CINFER__EW_BITSHIFT) {
        const char *d = cinfer__attr_string(node, "direction", "");
        if (strcmp(d, "LEFT") && strcmp(d, "RIGHT"))
            return cinfer__errorf(err, CINFER_INVALID_MODEL,
                                  "attribute direction='%s' must be LEFT or RIGHT", d);
        p->shift_left = !strcmp(d, "LEFT");
    } else if (p->op == CINFER__EW_GELU) {
        const char *ap = cinfer__attr_string(node, "approximate", "none");
        if (strcmp(ap, "none") && strcmp(ap, "tanh"))
            return cinfer__errorf(err, CINFER_UNSUPPORTED,
                                  "attribute approximate='%s' is not supported", ap);
        p->gelu_tanh = !strcmp(ap, "tanh");
    }
    return CINFER_OK;
}

/* Float attributes with their spec defaults. */
static void parse_floats(const cinfer__node *node, cinfer__ew_params *p) {
    switch (p->op) {
    case CINFER__EW_LEAKY_RELU: p->alpha = cinfer__attr_float(node, "alpha", 0.01f); break;
    case CINFER__EW_ELU: case CINFER__EW_CELU: case CINFER__EW_THRESHOLDED_RELU:
        p->alpha = cinfer__attr_float(node, "alpha", 1.0f);
        break;
    case CINFER__EW_HARD_SIGMOID:
        p->alpha = cinfer__attr_float(node, "alpha", 0.2f);
        p->beta = cinfer__attr_float(node, "beta", 0.5f);
        break;
    case CINFER__EW_SELU:
        p->alpha = cinfer__attr_float(node, "alpha", 1.67326319217681884765625f);
        p->gamma = cinfer__attr_float(node, "gamma", 1.05070102214813232421875f);
        break;
    case CINFER__EW_SHRINK:
        p->alpha = cinfer__attr_float(node, "lambd", 0.5f);
        p->beta = cinfer__attr_float(node, "bias", 0.0f);
        break;
    case CINFER__EW_CLIP: {
        /* Clip-1 has no defaults (absent = unbounded); Clip-6 defaults to +-FLT_MAX. */
        float big = p->opset < 6 ? INFINITY : FLT_MAX;
        p->clip_min = cinfer__attr_float(node, "min", -big);
        p->clip_max = cinfer__attr_float(node, "max", big);
        break;
    }
    default: break;
    }
}

static cinfer_status parse_attrs(const cinfer__node *node, cinfer__ew_params *p,
                                 cinfer__err *err) {
    parse_floats(node, p);
    if (has_legacy_bcast(p->op) && p->opset < 7) {
        p->legacy_bcast = cinfer__attr_int(node, "broadcast", 0) != 0;
        p->has_axis = cinfer__node_attr(node, "axis") != NULL;
        p->axis = cinfer__attr_int(node, "axis", 0);
    }
    switch (p->op) {
    case CINFER__EW_MOD: {
        int64_t f = cinfer__attr_int(node, "fmod", 0);
        if (f != 0 && f != 1)
            return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute fmod=%lld must be 0 or 1",
                                  (long long)f);
        p->fmod = f == 1;
        return CINFER_OK;
    }
    case CINFER__EW_ISINF:
        p->detect_neg = cinfer__attr_int(node, "detect_negative", 1) != 0;
        p->detect_pos = cinfer__attr_int(node, "detect_positive", 1) != 0;
        return CINFER_OK;
    case CINFER__EW_DROPOUT: p->mask_is_bool = p->opset >= 10; return CINFER_OK;
    case CINFER__EW_CAST: return check_cast(node, p, err);
    default: return check_strings(node, p, err);
    }
}

static cinfer_status ew_check(cinfer__node *node, cinfer__err *err) {
    cinfer__ew_op op;
    if (!op_lookup(node->op_type, &op))
        return cinfer__errorf(err, CINFER_INTERNAL, "not an elementwise op");
    cinfer__ew_params *p = cinfer__calloc(1, sizeof *p);
    if (!p) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    p->op = op;
    p->kind = op_info[op].kind;
    p->opset = node->opset;
    cinfer_status s = parse_attrs(node, p, err);
    if (s != CINFER_OK) {
        cinfer__free(p);
        return s;
    }
    cinfer__free(node->params);
    node->params = p;
    return CINFER_OK;
}

/* ---- Shape inference ---------------------------------------------------------------------- */

static const cinfer__ew_params *params_of(cinfer__infer_ctx *ctx) {
    return (const cinfer__ew_params *)ctx->node->params;
}

bool cinfer__ew_b_dims(const cinfer__ew_params *p, const cinfer_tensor *a,
                       const cinfer_tensor *b, int *rank, int64_t *dims) {
    int64_t axis = -1;
    if (p->legacy_bcast) {
        axis = p->has_axis ? p->axis : a->rank - b->rank;
        if (axis < 0) axis += a->rank;
        if (axis < 0 || axis + b->rank > a->rank) return false;
    } else if (p->op == CINFER__EW_PRELU && p->opset < 7 && b->rank == 1 && a->rank > 2 &&
               b->dims[0] == a->dims[1] && b->dims[0] != a->dims[a->rank - 1]) {
        axis = 1; /* PRelu-6: a 1-D slope is per channel */
    }
    if (axis < 0) {
        *rank = b->rank;
        for (int i = 0; i < b->rank; i++) dims[i] = b->dims[i];
        return true;
    }
    *rank = a->rank;
    for (int i = 0; i < a->rank; i++) dims[i] = 1;
    for (int i = 0; i < b->rank; i++) dims[axis + i] = b->dims[i];
    return true;
}

static cinfer_status bcast_fail(cinfer__infer_ctx *ctx, int n) {
    char shapes[256] = "", one[96];
    size_t used = 0;
    for (int i = 0; i < n && used < sizeof shapes; i++)
        if (ctx->in[i])
            used += (size_t)snprintf(shapes + used, sizeof shapes - used, "%s%s", used ? " " : "",
                                     cinfer__shape_str(ctx->in[i]->rank, ctx->in[i]->dims, one,
                                                       sizeof one));
    return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                          "input shapes %s do not broadcast together", shapes);
}

static cinfer_status same_dtype(cinfer__infer_ctx *ctx, int first, int n) {
    for (int i = first; i < n; i++)
        if (ctx->in[i] && ctx->in[i]->dtype != ctx->in[first]->dtype)
            return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL,
                                  "input %d has dtype %s but input %d has %s", i,
                                  cinfer_dtype_name(ctx->in[i]->dtype), first,
                                  cinfer_dtype_name(ctx->in[first]->dtype));
    return CINFER_OK;
}

static cinfer_status infer_binary(cinfer__infer_ctx *ctx) {
    const cinfer__ew_params *p = params_of(ctx);
    const cinfer_tensor *a = ctx->in[0], *b = ctx->in[1];
    if (p->op != CINFER__EW_POW) CINFER_TRY(same_dtype(ctx, 0, 2));
    CINFER_TRY(cinfer__ew_check_dtypes(p, 2, ctx->in, a->dtype, ctx->err));
    cinfer_tensor bv = *b;
    if (!cinfer__ew_b_dims(p, a, b, &bv.rank, bv.dims)) return bcast_fail(ctx, 2);
    const cinfer_tensor *ins[2] = {a, &bv};
    int rank;
    int64_t dims[CINFER_MAX_RANK];
    if (!cinfer__broadcast_shapes(2, ins, &rank, dims)) return bcast_fail(ctx, 2);
    bool unidirectional = p->legacy_bcast || p->op == CINFER__EW_PRELU;
    if (unidirectional && (rank != a->rank || memcmp(dims, a->dims, sizeof(int64_t) * rank)))
        return bcast_fail(ctx, 2);
    bool to_bool = p->kind != CINFER__EW_KIND_BINARY;
    cinfer__set_out(ctx->out[0], to_bool ? CINFER_DTYPE_BOOL : a->dtype, rank, dims);
    return CINFER_OK;
}

static cinfer_status infer_variadic(cinfer__infer_ctx *ctx) {
    const cinfer__ew_params *p = params_of(ctx);
    CINFER_TRY(same_dtype(ctx, 0, ctx->n_in));
    CINFER_TRY(cinfer__ew_check_dtypes(p, ctx->n_in, ctx->in, ctx->in[0]->dtype, ctx->err));
    int rank;
    int64_t dims[CINFER_MAX_RANK];
    if (!cinfer__broadcast_shapes(ctx->n_in, ctx->in, &rank, dims))
        return bcast_fail(ctx, ctx->n_in);
    cinfer__set_out(ctx->out[0], ctx->in[0]->dtype, rank, dims);
    return CINFER_OK;
}

static cinfer_status infer_where(cinfer__infer_ctx *ctx) {
    const cinfer__ew_params *p = params_of(ctx);
    CINFER_TRY(same_dtype(ctx, 1, 3));
    CINFER_TRY(cinfer__ew_check_dtypes(p, 3, ctx->in, ctx->in[1]->dtype, ctx->err));
    int rank;
    int64_t dims[CINFER_MAX_RANK];
    if (!cinfer__broadcast_shapes(3, ctx->in, &rank, dims)) return bcast_fail(ctx, 3);
    cinfer__set_out(ctx->out[0], ctx->in[1]->dtype, rank, dims);
    return CINFER_OK;
}

static cinfer_status infer_unary(cinfer__infer_ctx *ctx) {
    const cinfer__ew_params *p = params_of(ctx);
    const cinfer_tensor *x = ctx->in[0];
    CINFER_TRY(cinfer__ew_check_dtypes(p, ctx->n_in, ctx->in, x->dtype, ctx->err));
    for (int i = 1; i < ctx->n_in && p->op == CINFER__EW_CLIP; i++) { /* Clip-11 min, max */
        if (!ctx->in[i]) continue;
        CINFER_TRY(same_dtype(ctx, 0, i + 1));
        if (cinfer_tensor_numel(ctx->in[i]) != 1)
            return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                                  "input %d (%s) must be a scalar", i, i == 1 ? "min" : "max");
    }
    cinfer_dtype dt = x->dtype;
    if (p->kind == CINFER__EW_KIND_PREDICATE) dt = CINFER_DTYPE_BOOL;
    else if (p->op == CINFER__EW_CAST) dt = p->to;
    else if (p->op == CINFER__EW_CAST_LIKE) dt = ctx->in[1]->dtype;
    if (p->kind == CINFER__EW_KIND_CAST)
        CINFER_TRY(cinfer__ew_check_dtypes(p, 1, ctx->in, dt, ctx->err));
    cinfer__set_out(ctx->out[0], dt, x->rank, x->dims);
    return CINFER_OK;
}

bool cinfer__ew_dropout_is_random(const cinfer_tensor *ratio, const cinfer_tensor *train) {
    if (!train || !train->data || !*(const uint8_t *)train->data) return false;
    /* Training with ratio 0 drops nothing: still a copy. The default ratio is 0.5. */
    return !ratio || !ratio->data || cinfer__get_f64(ratio, 0) != 0.0;
}

static cinfer_status infer_copy(cinfer__infer_ctx *ctx) {
    const cinfer__ew_params *p = params_of(ctx);
    const cinfer_tensor *x = ctx->in[0];
    CINFER_TRY(cinfer__ew_check_dtypes(p, 1, ctx->in, x->dtype, ctx->err));
    cinfer__set_out(ctx->out[0], x->dtype, x->rank, x->dims);
    if (p->op != CINFER__EW_DROPOUT) return CINFER_OK;
    const cinfer_tensor *train = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (train && (train->dtype != CINFER_DTYPE_BOOL || cinfer_tensor_numel(train) != 1))
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "input 2 (training_mode) must be a bool scalar");
    if (cinfer__ew_dropout_is_random(ctx->n_in > 1 ? ctx->in[1] : NULL, train))
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED,
                              "training_mode=true (random dropout) is not supported");
    if (ctx->n_out > 1 && ctx->out[1])
        cinfer__set_out(ctx->out[1], p->mask_is_bool ? CINFER_DTYPE_BOOL : x->dtype, x->rank,
                        x->dims);
    return CINFER_OK;
}

static cinfer_status ew_infer(cinfer__infer_ctx *ctx) {
    const cinfer__ew_params *p = params_of(ctx);
    if (!p) return cinfer__errorf(ctx->err, CINFER_INTERNAL, "attributes were not checked");
    switch (p->kind) {
    case CINFER__EW_KIND_BINARY: case CINFER__EW_KIND_COMPARE: case CINFER__EW_KIND_LOGIC:
        return infer_binary(ctx);
    case CINFER__EW_KIND_VARIADIC: return infer_variadic(ctx);
    case CINFER__EW_KIND_WHERE: return infer_where(ctx);
    case CINFER__EW_KIND_COPY: return infer_copy(ctx);
    default: return infer_unary(ctx);
    }
}

/* ---- The table ---------------------------------------------------------------------------- */

#define ENTRY(name, lo, hi, in_lo, in_hi, out_lo, out_hi)                                    \
    {name, "", lo, hi, in_lo, in_hi, out_lo, out_hi, 0, ew_check, ew_infer}
#define UNARY(name, lo) ENTRY(name, lo, 21, 1, 1, 1, 1)
#define BINARY(name, lo) ENTRY(name, lo, 21, 2, 2, 1, 1)
/* Ops whose opset-1..6 versions carry the broadcast/axis attributes get two entries. */
#define BINARY_LEGACY(name) ENTRY(name, 1, 6, 2, 2, 1, 1), ENTRY(name, 7, 21, 2, 2, 1, 1)

const cinfer__op_def cinfer__ops_elementwise[] = {
    BINARY_LEGACY("Add"), BINARY_LEGACY("Sub"), BINARY_LEGACY("Mul"), BINARY_LEGACY("Div"),
    BINARY_LEGACY("Pow"), BINARY("Mod", 10), BINARY("BitShift", 11),
    ENTRY("PRelu", 1, 6, 2, 2, 1, 1), ENTRY("PRelu", 7, 21, 2, 2, 1, 1),
    BINARY_LEGACY("Equal"), BINARY_LEGACY("Less"), BINARY_LEGACY("Greater"),
    BINARY("LessOrEqual", 12), BINARY("GreaterOrEqual", 12),
    BINARY_LEGACY("And"), BINARY_LEGACY("Or"), BINARY_LEGACY("Xor"),
    ENTRY("Sum", 1, 21, 1, CINFER_MAX_IO, 1, 1), ENTRY("Mean", 1, 21, 1, CINFER_MAX_IO, 1, 1),
    ENTRY("Max", 1, 21, 1, CINFER_MAX_IO, 1, 1), ENTRY("Min", 1, 21, 1, CINFER_MAX_IO, 1, 1),
    ENTRY("Where", 9, 21, 3, 3, 1, 1),
    UNARY("Neg", 1), UNARY("Abs", 1), UNARY("Relu", 1), UNARY("Sign", 9),
    ENTRY("Clip", 1, 10, 1, 1, 1, 1), ENTRY("Clip", 11, 21, 1, 3, 1, 1),
    UNARY("Sqrt", 1), UNARY("Exp", 1), UNARY("Log", 1), UNARY("Reciprocal", 1), UNARY("Erf", 9),
    UNARY("Tanh", 1), UNARY("Sigmoid", 1), UNARY("LeakyRelu", 1), UNARY("HardSigmoid", 1),
    UNARY("HardSwish", 14), UNARY("Gelu", 20), UNARY("Floor", 1), UNARY("Ceil", 1),
    UNARY("Round", 11), UNARY("Sin", 7), UNARY("Cos", 7), UNARY("Tan", 7), UNARY("Asin", 7),
    UNARY("Acos", 7), UNARY("Atan", 7), UNARY("Sinh", 9), UNARY("Cosh", 9), UNARY("Asinh", 9),
    UNARY("Acosh", 9), UNARY("Atanh", 9), UNARY("Softplus", 1), UNARY("Softsign", 1),
    UNARY("Elu", 1), UNARY("Selu", 1), UNARY("Celu", 12), UNARY("ThresholdedRelu", 10),
    UNARY("Shrink", 9), UNARY("IsNaN", 9), UNARY("IsInf", 10), UNARY("Not", 1),
    UNARY("Cast", 1), ENTRY("CastLike", 15, 21, 2, 2, 1, 1),
    UNARY("Identity", 1), ENTRY("Dropout", 1, 11, 1, 1, 1, 2),
    /* Dropout-12's ratio and training_mode inputs decide between a copy and random dropout
     * (which cinfer rejects), so the planner must know their values. */
    {"Dropout", "", 12, 21, 1, 3, 1, 2, 3u << 1, ew_check, ew_infer},
    {0},
};
