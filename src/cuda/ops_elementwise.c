/* GPU elementwise ops: broadcasting binary arithmetic, comparisons and logic, Where, the unary
 * activations and Cast, all on the kernels of kernels/elementwise.cu, unary.cu, where.cu and
 * cast.cu. Arithmetic, comparisons, Where and the unary ops take half activations
 * (module_impl.h, half_io): FLOAT16 / BFLOAT16 values, float constants beside them. */
#include <stdint.h>
#include <stdlib.h>

#include "cuda/module_impl.h"
#include "kernels.h"

typedef struct ew_kind {
    const char *op;
    int kind; /* 0 binary arithmetic, 1 compare, 2 logic */
    int code; /* the kernel enum */
} ew_kind;

static const ew_kind binaries[] = {
    {"Add", 0, CINFER_K_ADD}, {"Sub", 0, CINFER_K_SUB}, {"Mul", 0, CINFER_K_MUL},
    {"Div", 0, CINFER_K_DIV}, {"Pow", 0, CINFER_K_POW}, {"Max", 0, CINFER_K_MAX},
    {"Min", 0, CINFER_K_MIN}, {"PRelu", 0, CINFER_K_PRELU}, {"Sum", 0, CINFER_K_ADD},
    {"Equal", 1, CINFER_K_EQUAL}, {"Less", 1, CINFER_K_LESS},
    {"LessOrEqual", 1, CINFER_K_LESS_EQUAL}, {"Greater", 1, CINFER_K_GREATER},
    {"GreaterOrEqual", 1, CINFER_K_GREATER_EQUAL}, {"And", 2, CINFER_K_AND},
    {"Or", 2, CINFER_K_OR}, {"Xor", 2, CINFER_K_XOR}, {NULL, 0, 0},
};

static const ew_kind *binary_kind(const char *op) {
    for (const ew_kind *k = binaries; k->op; k++)
        if (!strcmp(k->op, op)) return k;
    return NULL;
}

/* The output's dims and each operand's broadcast strides over them. */
static cinfer_k_dims k_dims(const cinfer_tensor *t) {
    cinfer_k_dims d = {.rank = t->rank};
    for (int i = 0; i < t->rank; i++) d.size[i] = t->dims[i];
    return d;
}
static cinfer_k_strides k_bcast(const cinfer_tensor *in, const cinfer_k_dims *out) {
    return cinfer_k_broadcast_strides(in->dims, in->rank, out);
}

/* The kernel type of a 16-bit float dtype (false for any other). */
static bool k_half(cinfer_dtype dt, cinfer_k_dtype *k) {
    if (dt == CINFER_DTYPE_FLOAT16) *k = CINFER_K_F16;
    else if (dt == CINFER_DTYPE_BFLOAT16) *k = CINFER_K_BF16;
    else return false;
    return true;
}

/* An operand of a half kernel: the activation type h, or F32 for a float constant. */
static cinfer_k_dtype k_operand(cinfer_dtype dt, cinfer_k_dtype h) {
    return dt == CINFER_DTYPE_FLOAT ? CINFER_K_F32 : h;
}

/* Half-kernel operands: each of type h or float (a constant beside half activations). */
static bool half_operands(const cinfer_cuda_node *n, int first, int count, cinfer_dtype h) {
    for (int i = first; i < first + count; i++)
        if (n->in[i]->dtype != h && n->in[i]->dtype != CINFER_DTYPE_FLOAT) return false;
    return true;
}

/* The 16-bit type among a binary op's operands and output (comparisons: among the operands),
 * or 0 when there is none. */
static cinfer_dtype binary_half(const cinfer_cuda_node *n, int kind) {
    cinfer_k_dtype k;
    if (kind == 0) return k_half(n->out[0]->dtype, &k) ? n->out[0]->dtype : 0;
    for (int i = 0; i < 2; i++)
        if (k_half(n->in[i]->dtype, &k)) return n->in[i]->dtype;
    return 0;
}

/* Opset-6 binaries with broadcast=1 and an axis attribute align B at that axis of A, not at
 * A's trailing dims: B is viewed with ones appended so that numpy's trailing alignment puts it
 * there. Without the axis the two rules agree. */
static cinfer_tensor binary_b_view(const cinfer__node *node, const cinfer_tensor *a,
                                   const cinfer_tensor *b) {
    cinfer_tensor v = *b;
    const int64_t none = INT64_MIN;
    int64_t axis = cuda_attr_int(node, "axis", none);
    if (node->opset >= 7 || cuda_attr_int(node, "broadcast", 0) != 1 || axis == none) return v;
    if (axis < 0) axis += a->rank;
    int pad = a->rank - (int)axis - b->rank;
    if (axis < 0 || pad <= 0) return v;
    for (int i = 0; i < pad; i++) v.dims[v.rank++] = 1;
    return v;
}

/* Sum, Max and Min take any number of operands: the run folds them two at a time into the
 * output (the first pair broadcast into it, then output op next, in place). */
static bool variadic(const char *op) {
    return !strcmp(op, "Sum") || !strcmp(op, "Max") || !strcmp(op, "Min");
}

static cinfer_status binary_supports(const cinfer_cuda_node *n, char *why) {
    const char *op = n->node->op_type;
    const ew_kind *k = binary_kind(op);
    if (n->n_in < 2 || (n->n_in > 2 && !variadic(op)))
        return cuda_no(why, "%s: the GPU kernel takes two operands or more (Sum, Max, Min)", op);
    for (int i = 0; i < n->n_in; i++) {
        if (!n->in[i]) return cuda_no(why, "%s: an omitted operand", op);
        if (n->in[i]->rank > n->out[0]->rank)
            return cuda_no(why, "%s: operand rank above the output's", op);
        if (i > 1 && n->in[i]->dtype != n->in[0]->dtype)
            return cuda_no(why, "%s: mixed operand dtypes", op);
    }
    cinfer_dtype a = n->in[0]->dtype, h = k->kind == 2 ? 0 : binary_half(n, k->kind);
    /* A 16-bit running result would round (and could pass 65504) at every fold: more than two
     * operands run on float activations (half_mode then gives the step its float view). */
    if (h && n->n_in > 2)
        return cuda_no(why, "%s: more than two operands only in float32", op);
    /* PRelu-6 aligns a 1-D slope with the channels, not the last dim; integer PRelu wraps
     * differently from the CPU's: both stay there. */
    if (k->code == CINFER_K_PRELU && k->kind == 0 &&
        (n->node->opset < 7 || (n->in[0]->dtype != CINFER_DTYPE_FLOAT && !h)))
        return cuda_no(why, "%s: opset 7 and up, float operands", op);
    if (h)
        return half_operands(n, 0, n->n_in, h)
                   ? CINFER_OK
                   : cuda_no(why, "%s: 16-bit operands mixed with other than float32", op);
    if (n->in[1]->dtype != a) return cuda_no(why, "%s: mixed operand dtypes", op);
    if (k->kind == 2)
        return a == CINFER_DTYPE_BOOL ? CINFER_OK : cuda_no(why, "%s: bool operands only", op);
    if (a == CINFER_DTYPE_FLOAT) return CINFER_OK;
    if (a == CINFER_DTYPE_INT64 && k->code != CINFER_K_POW) return CINFER_OK;
    return cuda_no(why, "%s: the GPU kernel takes float32 (or int64) operands", op);
}

/* The shapes a broadcasting op computes over: its own, or channels last (s->nhwc) every
 * operand's cuda_nhwc_view. */
static cinfer_tensor op_shape(const cuda_step *s, const cinfer_tensor *t) {
    return s->nhwc ? cuda_nhwc_view(t) : *t;
}

static cinfer_status binary_run(cinfer_cuda_ctx *ctx, cuda_step *s, const void *const *in,
                                void *const *out, cinfer_cuda_err *err) {
    const ew_kind *k = binary_kind(s->node->op_type);
    cinfer_tensor y = op_shape(s, &s->out[0]), a = op_shape(s, &s->in[0]);
    /* Sum, Max and Min have no legacy broadcast attributes (the CPU ignores them there too). */
    cinfer_tensor bv = variadic(s->node->op_type) ? s->in[1]
                                                   : binary_b_view(s->node, &s->in[0], &s->in[1]);
    cinfer_tensor b = op_shape(s, &bv);
    cinfer_k_dims d = k_dims(&y);
    cinfer_k_strides as = k_bcast(&a, &d), bs = k_bcast(&b, &d);
    bool f32 = s->in[0].dtype == CINFER_DTYPE_FLOAT;
    cinfer_k_dtype h = CINFER_K_F32;
    bool half = k->kind == 0   ? k_half(s->out[0].dtype, &h)
                : k->kind == 1 ? k_half(s->in[0].dtype, &h) || k_half(s->in[1].dtype, &h)
                               : false;
    cinfer_k_dtype at = k_operand(s->in[0].dtype, h), bt = k_operand(s->in[1].dtype, h);
    cudaError_t e;
    if (half && k->kind == 0)
        e = cinfer_k_binary_h(k->code, h, out[0], in[0], at, as, in[1], bt, bs, d, ctx->compute);
    else if (half)
        e = cinfer_k_compare_h(k->code, h, out[0], in[0], at, as, in[1], bt, bs, d,
                               ctx->compute);
    else if (k->kind == 0 && f32)
        e = cinfer_k_binary_f32(k->code, out[0], in[0], as, in[1], bs, d, ctx->compute);
    else if (k->kind == 0)
        e = cinfer_k_binary_i64(k->code, out[0], in[0], as, in[1], bs, d, ctx->compute);
    else if (k->kind == 1 && f32)
        e = cinfer_k_compare_f32(k->code, out[0], in[0], as, in[1], bs, d, ctx->compute);
    else if (k->kind == 1)
        e = cinfer_k_compare_i64(k->code, out[0], in[0], as, in[1], bs, d, ctx->compute);
    else
        e = cinfer_k_logic_u8(k->code, out[0], in[0], as, in[1], bs, d, ctx->compute);
    /* Sum, Max, Min of more than two: y = y op next, y dense over the output's dims. */
    cinfer_k_strides ys = cinfer_k_dense_strides(&d);
    for (int i = 2; e == cudaSuccess && i < s->n_in; i++) {
        cinfer_tensor c = op_shape(s, &s->in[i]);
        cinfer_k_strides cs = k_bcast(&c, &d);
        if (half)
            e = cinfer_k_binary_h(k->code, h, out[0], out[0], h, ys, in[i],
                                  k_operand(s->in[i].dtype, h), cs, d, ctx->compute);
        else if (f32)
            e = cinfer_k_binary_f32(k->code, out[0], out[0], ys, in[i], cs, d, ctx->compute);
        else
            e = cinfer_k_binary_i64(k->code, out[0], out[0], ys, in[i], cs, d, ctx->compute);
    }
    return CINFER_CUDA_AFTER_LAUNCH(err, ctx->compute, e, s->node->op_type);
}

static cinfer_status not_supports(const cinfer_cuda_node *n, char *why) {
    return cuda_all_dtype(n, CINFER_DTYPE_BOOL) ? CINFER_OK : cuda_no(why, "%s: bool only", "Not");
}

static cinfer_status not_run(cinfer_cuda_ctx *ctx, cuda_step *s, const void *const *in,
                             void *const *out, cinfer_cuda_err *err) {
    cudaError_t e = cinfer_k_not_u8(out[0], in[0], (size_t)cuda_numel(&s->out[0]), ctx->compute);
    return CINFER_CUDA_AFTER_LAUNCH(err, ctx->compute, e, "Not");
}

static cinfer_status where_supports(const cinfer_cuda_node *n, char *why) {
    cinfer_dtype t = n->out[0]->dtype;
    cinfer_k_dtype h;
    bool values = k_half(t, &h) ? half_operands(n, 1, 2, t)
                                : n->in[1]->dtype == t && n->in[2]->dtype == t &&
                                      (t == CINFER_DTYPE_FLOAT || t == CINFER_DTYPE_INT64);
    if (n->in[0]->dtype != CINFER_DTYPE_BOOL || !values)
        return cuda_no(why, "%s: bool condition and float32, 16-bit float or int64 values only",
                       "Where");
    for (int i = 0; i < 3; i++)
        if (n->in[i]->rank > n->out[0]->rank) return cuda_no(why, "%s: operand rank", "Where");
    return CINFER_OK;
}

static cinfer_status where_run(cinfer_cuda_ctx *ctx, cuda_step *s, const void *const *in,
                               void *const *out, cinfer_cuda_err *err) {
    cinfer_tensor y = op_shape(s, &s->out[0]), c = op_shape(s, &s->in[0]),
                  a = op_shape(s, &s->in[1]), b = op_shape(s, &s->in[2]);
    cinfer_k_dims d = k_dims(&y);
    cinfer_k_strides cs = k_bcast(&c, &d), as = k_bcast(&a, &d), bs = k_bcast(&b, &d);
    cinfer_k_dtype h;
    cudaError_t e;
    if (k_half(s->out[0].dtype, &h))
        e = cinfer_k_where_h(h, out[0], in[0], cs, in[1], k_operand(s->in[1].dtype, h), as,
                             in[2], k_operand(s->in[2].dtype, h), bs, d, ctx->compute);
    else if (s->out[0].dtype == CINFER_DTYPE_FLOAT)
        e = cinfer_k_where_f32(out[0], in[0], cs, in[1], as, in[2], bs, d, ctx->compute);
    else
        e = cinfer_k_where_i64(out[0], in[0], cs, in[1], as, in[2], bs, d, ctx->compute);
    return CINFER_CUDA_AFTER_LAUNCH(err, ctx->compute, e, "Where");
}

/* ---- Unary ---- */

typedef struct unary_priv {
    cinfer_k_unary_op op;
    float alpha, beta;
} unary_priv;

static const struct {
    const char *op;
    cinfer_k_unary_op code;
} unaries[] = {
    {"Sqrt", CINFER_K_SQRT}, {"Exp", CINFER_K_EXP}, {"Log", CINFER_K_LOG},
    {"Neg", CINFER_K_NEG}, {"Abs", CINFER_K_ABS}, {"Reciprocal", CINFER_K_RECIPROCAL},
    {"Erf", CINFER_K_ERF}, {"Tanh", CINFER_K_TANH}, {"Sigmoid", CINFER_K_SIGMOID},
    {"Relu", CINFER_K_RELU}, {"LeakyRelu", CINFER_K_LEAKY_RELU}, {"Clip", CINFER_K_CLIP},
    {"HardSigmoid", CINFER_K_HARD_SIGMOID}, {"HardSwish", CINFER_K_HARD_SWISH},
    {"Gelu", CINFER_K_GELU_ERF}, {"Floor", CINFER_K_FLOOR}, {"Ceil", CINFER_K_CEIL},
    {"Elu", CINFER_K_ELU}, {"Sin", CINFER_K_SIN}, {"Cos", CINFER_K_COS},
    {"Tan", CINFER_K_TAN}, {"Asin", CINFER_K_ASIN}, {"Acos", CINFER_K_ACOS},
    {"Atan", CINFER_K_ATAN}, {"Sinh", CINFER_K_SINH}, {"Cosh", CINFER_K_COSH},
    {"Asinh", CINFER_K_ASINH}, {"Acosh", CINFER_K_ACOSH}, {"Atanh", CINFER_K_ATANH},
    {"Round", CINFER_K_ROUND}, {"Sign", CINFER_K_SIGN}, {"Softplus", CINFER_K_SOFTPLUS},
    {"Softsign", CINFER_K_SOFTSIGN}, {"Mish", CINFER_K_MISH}, {"Selu", CINFER_K_SELU},
    {"Celu", CINFER_K_CELU}, {"ThresholdedRelu", CINFER_K_THRESHOLDED_RELU},
    {"Shrink", CINFER_K_SHRINK}, {NULL, 0},
};

/* Clip's bound from input i (a constant float scalar) or the opset-6 attribute; *ok false
 * when the bound is only known at run time (or is not a float32). */
static float clip_bound(const cinfer_cuda_node *n, int i, const char *attr, float dflt,
                        bool *ok) {
    if (n->node->opset < 11) return cuda_attr_float(n->node, attr, dflt);
    if (!cuda_has_in(n, i)) return dflt;
    const cinfer_tensor *t = n->in[i];
    if (!t->data || cuda_numel(t) != 1 || t->dtype != CINFER_DTYPE_FLOAT) {
        *ok = false;
        return dflt;
    }
    return *(const float *)n->in[i]->data;
}

static cinfer_status unary_params(const cinfer_cuda_node *n, unary_priv *p, char *why) {
    const char *op = n->node->op_type;
    int i = 0;
    while (unaries[i].op && strcmp(unaries[i].op, op)) i++;
    p->op = unaries[i].code;
    p->alpha = p->beta = 0;
    cinfer_k_dtype h;
    cinfer_dtype t = n->out[0]->dtype;
    if (!cuda_has_in(n, 0) || n->in[0]->dtype != t ||
        (t != CINFER_DTYPE_FLOAT && !k_half(t, &h)))
        return cuda_no(why, "%s: the GPU kernel takes float32 or 16-bit floats (one type)", op);
    bool ok = true;
    switch (p->op) {
    case CINFER_K_LEAKY_RELU: p->alpha = cuda_attr_float(n->node, "alpha", 0.01f); break;
    case CINFER_K_ELU: p->alpha = cuda_attr_float(n->node, "alpha", 1.0f); break;
    case CINFER_K_CELU: p->alpha = cuda_attr_float(n->node, "alpha", 1.0f); break;
    case CINFER_K_THRESHOLDED_RELU: p->alpha = cuda_attr_float(n->node, "alpha", 1.0f); break;
    case CINFER_K_SELU: /* ONNX's defaults, as float32 values */
        p->alpha = cuda_attr_float(n->node, "alpha", 1.67326319217681884765625f);
        p->beta = cuda_attr_float(n->node, "gamma", 1.05070102214813232421875f);
        break;
    case CINFER_K_SHRINK:
        p->alpha = cuda_attr_float(n->node, "lambd", 0.5f);
        p->beta = cuda_attr_float(n->node, "bias", 0.0f);
        break;
    case CINFER_K_HARD_SIGMOID:
        p->alpha = cuda_attr_float(n->node, "alpha", 0.2f);
        p->beta = cuda_attr_float(n->node, "beta", 0.5f);
        break;
    case CINFER_K_CLIP:
        p->alpha = clip_bound(n, 1, "min", -3.402823466e38f, &ok);
        p->beta = clip_bound(n, 2, "max", 3.402823466e38f, &ok);
        if (!ok) return cuda_no(why, "%s: min/max known only at run time", op);
        break;
    case CINFER_K_GELU_ERF:
        if (!strcmp(cuda_attr_str(n->node, "approximate", "none"), "tanh"))
            p->op = CINFER_K_GELU_TANH;
        break;
    default: break;
    }
    return CINFER_OK;
}

static cinfer_status unary_supports(const cinfer_cuda_node *n, char *why) {
    unary_priv p;
    return unary_params(n, &p, why);
}

static cinfer_status unary_prepare(cinfer_cuda_ctx *ctx, const cinfer_cuda_node *n, cuda_step *s,
                                   cinfer_cuda_err *err) {
    (void)ctx;
    char why[CINFER_CUDA_MSG_LEN];
    unary_priv *p = calloc(1, sizeof *p);
    if (!p) return cinfer_cuda_err_set(err, CINFER_OUT_OF_MEMORY, "out of memory");
    cinfer_status st = unary_params(n, p, why);
    if (st != CINFER_OK) {
        free(p);
        return cinfer_cuda_err_set(err, st, "%s", why);
    }
    s->priv = p;
    return CINFER_OK;
}

static cinfer_status unary_run(cinfer_cuda_ctx *ctx, cuda_step *s, const void *const *in,
                               void *const *out, cinfer_cuda_err *err) {
    const unary_priv *p = s->priv;
    size_t n = (size_t)cuda_numel(&s->out[0]);
    cinfer_k_dtype h;
    cudaError_t e = k_half(s->out[0].dtype, &h)
                        ? cinfer_k_unary_h(p->op, h, out[0], in[0], n, p->alpha, p->beta,
                                           ctx->compute)
                        : cinfer_k_unary_f32(p->op, out[0], in[0], n, p->alpha, p->beta,
                                             ctx->compute);
    return CINFER_CUDA_AFTER_LAUNCH(err, ctx->compute, e, s->node->op_type);
}

/* ---- Cast ---- */

static bool k_dtype(cinfer_dtype dt, cinfer_k_dtype *k) {
    switch (dt) {
    case CINFER_DTYPE_FLOAT: *k = CINFER_K_F32; return true;
    case CINFER_DTYPE_INT64: *k = CINFER_K_I64; return true;
    case CINFER_DTYPE_INT32: *k = CINFER_K_I32; return true;
    case CINFER_DTYPE_BOOL: *k = CINFER_K_BOOL; return true;
    default: return false;
    }
}

/* Cast's types: those of k_dtype among themselves, and float to and from fp16 / bf16 (the
 * boundary casts of models stored in 16 bits, src/ir/float_compute.c). In half mode a Cast
 * between a 16-bit type and float sees its float side in that same type (half_io): a copy,
 * where the float step would widen and the next step narrow again. Other half views (an
 * integer to a 16-bit float, bf16 stored at fp16) are refused, and the Cast runs on float
 * activations as in fp32. */
static bool cast_dtype(cinfer_dtype dt, cinfer_k_dtype *k) {
    if (dt == CINFER_DTYPE_FLOAT16) *k = CINFER_K_F16;
    else if (dt == CINFER_DTYPE_BFLOAT16) *k = CINFER_K_BF16;
    else return k_dtype(dt, k);
    return true;
}

static cinfer_status cast_supports(const cinfer_cuda_node *n, char *why) {
    cinfer_k_dtype a, b;
    if (!cast_dtype(n->in[0]->dtype, &a) || !cast_dtype(n->out[0]->dtype, &b))
        return cuda_no(why, "%s: float32, float16, bfloat16, int64, int32 and bool only", "Cast");
    bool ha = a == CINFER_K_F16 || a == CINFER_K_BF16, hb = b == CINFER_K_F16 || b == CINFER_K_BF16;
    if ((ha || hb) && !((ha && b == CINFER_K_F32) || (hb && a == CINFER_K_F32) || a == b))
        return cuda_no(why, "%s: float16 and bfloat16 only to and from float32", "Cast");
    return CINFER_OK;
}

static cinfer_status cast_run(cinfer_cuda_ctx *ctx, cuda_step *s, const void *const *in,
                              void *const *out, cinfer_cuda_err *err) {
    cinfer_k_dtype from = CINFER_K_F32, to = CINFER_K_F32;
    cast_dtype(s->in[0].dtype, &from);
    cast_dtype(s->out[0].dtype, &to);
    cudaError_t e = cinfer_k_cast(out[0], to, in[0], from, (size_t)cuda_numel(&s->out[0]),
                                  ctx->compute);
    return CINFER_CUDA_AFTER_LAUNCH(err, ctx->compute, e, "Cast");
}

/* Arithmetic, Where, the unary ops and Cast (between a 16-bit type and float) take half
 * activations; logic, Not and comparisons do not. */
#define BINARY(name) {name, "", binary_supports, NULL, binary_run, NULL, true, CUDA_OP_BROADCAST}
#define LOGIC(name) {name, "", binary_supports, NULL, binary_run, NULL, false}
/* Comparisons stay out of half mode: their output is bool, so narrowing a float-stored operand
 * to 16 bits first could only flip results (Greater(0.501, 0.5) is false in bf16). */
#define COMPARE(name) LOGIC(name)
#define UNARY(name) \
    {name, "", unary_supports, unary_prepare, unary_run, free, true, CUDA_OP_POINTWISE}

const cuda_op cinfer_cuda_ops_elementwise[] = {
    BINARY("Add"), BINARY("Sub"), BINARY("Mul"), BINARY("Div"), BINARY("Pow"), BINARY("Max"),
    BINARY("Min"), BINARY("PRelu"), BINARY("Sum"), COMPARE("Equal"), COMPARE("Less"),
    COMPARE("LessOrEqual"),
    COMPARE("Greater"), COMPARE("GreaterOrEqual"), LOGIC("And"), LOGIC("Or"), LOGIC("Xor"),
    {"Not", "", not_supports, NULL, not_run, NULL, false},
    {"Where", "", where_supports, NULL, where_run, NULL, true, CUDA_OP_BROADCAST},
    UNARY("Sqrt"), UNARY("Exp"), UNARY("Log"), UNARY("Neg"), UNARY("Abs"), UNARY("Reciprocal"),
    UNARY("Erf"), UNARY("Tanh"), UNARY("Sigmoid"), UNARY("Relu"), UNARY("LeakyRelu"),
    UNARY("Clip"), UNARY("HardSigmoid"), UNARY("HardSwish"), UNARY("Gelu"), UNARY("Floor"),
    UNARY("Ceil"), UNARY("Elu"), UNARY("Sin"), UNARY("Cos"), UNARY("Tan"), UNARY("Asin"),
    UNARY("Acos"), UNARY("Atan"), UNARY("Sinh"), UNARY("Cosh"), UNARY("Asinh"), UNARY("Acosh"),
    UNARY("Atanh"), UNARY("Round"), UNARY("Sign"), UNARY("Softplus"), UNARY("Softsign"),
    UNARY("Mish"), UNARY("Selu"), UNARY("Celu"), UNARY("ThresholdedRelu"), UNARY("Shrink"),
    {"Cast", "", cast_supports, NULL, cast_run, NULL, true},
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
