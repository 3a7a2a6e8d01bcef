/* Op definitions: pooling (MaxPool, AveragePool, LpPool and their Global forms), 1-D to 3-D. */
#include <string.h>

#include "ops/geometry.h"

#define POOL_MAX_SP 3 /* spatial dims supported: 1-D, 2-D and 3-D pooling */

typedef enum auto_pad { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID } auto_pad;

static bool parse_auto_pad(const cinfer__node *node, auto_pad *out) {
    const char *s = cinfer__attr_string(node, "auto_pad", "NOTSET");
    if (!strcmp(s, "NOTSET") || !*s) *out = PAD_NOTSET;
    else if (!strcmp(s, "SAME_UPPER")) *out = PAD_SAME_UPPER;
    else if (!strcmp(s, "SAME_LOWER")) *out = PAD_SAME_LOWER;
    else if (!strcmp(s, "VALID")) *out = PAD_VALID;
    else return false;
    return true;
}

/* An optional ints attribute of exactly `want` entries, each >= min. */
static cinfer_status check_ints(const cinfer__node *node, const char *name, size_t want,
                                int64_t min, cinfer__err *err) {
    size_t n;
    const int64_t *v = cinfer__attr_ints(node, name, &n);
    if (!v) {
        if (cinfer__node_attr(node, name))
            return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute %s must be ints", name);
        return CINFER_OK;
    }
    if (n != want)
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "attribute %s has %zu values, kernel_shape needs %zu", name, n,
                              want);
    for (size_t i = 0; i < n; i++)
        if (v[i] < min)
            return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute %s[%zu]=%lld is below %lld",
                                  name, i, (long long)v[i], (long long)min);
    return CINFER_OK;
}

static cinfer_status check_flag(const cinfer__node *node, const char *name, cinfer__err *err) {
    int64_t v = cinfer__attr_int(node, name, 0);
    if (v != 0 && v != 1)
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "attribute %s=%lld is not supported",
                              name, (long long)v);
    return CINFER_OK;
}

static cinfer_status check_p(const cinfer__node *node, cinfer__err *err) {
    float p = cinfer__attr_float(node, "p", 2.0f);
    if (!(p > 0))
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute p=%g must be positive",
                              (double)p);
    return CINFER_OK;
}

static cinfer_status pool_check(cinfer__node *node, cinfer__err *err) {
    size_t nk;
    const int64_t *k = cinfer__attr_ints(node, "kernel_shape", &nk);
    if (!k || nk == 0)
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute kernel_shape is required");
    if (nk > POOL_MAX_SP)
        return cinfer__errorf(err, CINFER_UNSUPPORTED,
                              "%zu-D pooling is not supported (1-D to 3-D are)", nk);
    CINFER_TRY(check_ints(node, "kernel_shape", nk, 1, err));
    CINFER_TRY(check_ints(node, "strides", nk, 1, err));
    CINFER_TRY(check_ints(node, "dilations", nk, 1, err));
    CINFER_TRY(check_ints(node, "pads", 2 * nk, 0, err));
    auto_pad ap;
    if (!parse_auto_pad(node, &ap))
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "attribute auto_pad='%s' is not supported",
                              cinfer__attr_string(node, "auto_pad", ""));
    CINFER_TRY(check_flag(node, "ceil_mode", err));
    CINFER_TRY(check_flag(node, "count_include_pad", err));
    CINFER_TRY(check_flag(node, "storage_order", err));
    if (!strcmp(node->op_type, "LpPool")) CINFER_TRY(check_p(node, err));
    return CINFER_OK;
}

static cinfer_status global_check(cinfer__node *node, cinfer__err *err) {
    return strcmp(node->op_type, "GlobalLpPool") ? CINFER_OK : check_p(node, err);
}

static int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -(-a / b); }

/* One spatial dim's output size and pads (explicit or from auto_pad). */
static int64_t window_dim(auto_pad ap, bool ceil_mode, int64_t in, int64_t k, int64_t s,
                          int64_t d, int64_t *pb, int64_t *pe) {
    int64_t ek = (k - 1) * d + 1; /* dilated kernel extent */
    if (ap == PAD_VALID) {
        *pb = *pe = 0;
        return in >= ek ? (in - ek) / s + 1 : 0;
    }
    if (ap == PAD_SAME_UPPER || ap == PAD_SAME_LOWER) {
        int64_t out = ceil_div(in, s), total = (out - 1) * s + ek - in;
        if (total < 0) total = 0;
        *pb = ap == PAD_SAME_UPPER ? total / 2 : total - total / 2;
        *pe = total - *pb;
        return out;
    }
    int64_t span = in + *pb + *pe - ek;
    if (span < 0) return 0;
    int64_t out = (ceil_mode ? ceil_div(span, s) : span / s) + 1;
    /* As PyTorch and ONNX Runtime: the last window must start inside the input or the
     * leading pad, never entirely in the trailing pad. */
    if (ceil_mode && (out - 1) * s >= in + *pb) out--;
    return out;
}

/* Window geometry of a MaxPool/AveragePool/LpPool node for spatial input dims in_sp[n_sp]:
 * kernel, strides, dilations, begin/end pads and output dims, each n_sp long. Shared with the
 * CPU kernel through ops/geometry.h. */
cinfer_status cinfer__pool_window(const cinfer__node *node, int n_sp, const int64_t *in_sp,
                                  int64_t *kernel, int64_t *stride, int64_t *dil,
                                  int64_t *pad_begin, int64_t *pad_end, int64_t *out_sp,
                                  cinfer__err *err) {
    size_t nk, ns, nd, np;
    const int64_t *k = cinfer__attr_ints(node, "kernel_shape", &nk);
    const int64_t *s = cinfer__attr_ints(node, "strides", &ns);
    const int64_t *d = cinfer__attr_ints(node, "dilations", &nd);
    const int64_t *p = cinfer__attr_ints(node, "pads", &np);
    auto_pad ap = PAD_NOTSET;
    parse_auto_pad(node, &ap);
    bool ceil_mode = cinfer__attr_int(node, "ceil_mode", 0) != 0;
    if (!k || (int)nk != n_sp)
        return cinfer__errorf(err, CINFER_INVALID_INPUT,
                              "input 0 has %d spatial dims, kernel_shape has %zu", n_sp, nk);
    for (int i = 0; i < n_sp; i++) {
        kernel[i] = k[i];
        stride[i] = s ? s[i] : 1;
        dil[i] = d ? d[i] : 1;
        pad_begin[i] = p ? p[i] : 0;
        pad_end[i] = p ? p[i + n_sp] : 0;
        out_sp[i] = window_dim(ap, ceil_mode, in_sp[i], kernel[i], stride[i], dil[i],
                               &pad_begin[i], &pad_end[i]);
        if (out_sp[i] < 1 && in_sp[i] > 0)
            return cinfer__errorf(err, CINFER_INVALID_INPUT,
                                  "input 0 spatial dim %d (size %lld) is too small for kernel "
                                  "%lld with dilation %lld and pads %lld+%lld",
                                  i, (long long)in_sp[i], (long long)kernel[i],
                                  (long long)dil[i], (long long)pad_begin[i],
                                  (long long)pad_end[i]);
        if (out_sp[i] < 0) out_sp[i] = 0;
    }
    return CINFER_OK;
}

static cinfer_status check_input(const cinfer__infer_ctx *ctx, int min_rank, bool ints_ok) {
    const cinfer_tensor *x = ctx->in[0];
    if (x->rank < min_rank) {
        char buf[96];
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "input 0 of shape %s needs rank >= %d (N, C, spatial...)",
                              cinfer__shape_str(x->rank, x->dims, buf, sizeof buf), min_rank);
    }
    cinfer_dtype dt = x->dtype;
    if (dt == CINFER_DTYPE_FLOAT ||
        (ints_ok && (dt == CINFER_DTYPE_UINT8 || dt == CINFER_DTYPE_INT8)))
        return CINFER_OK;
    return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "input 0 has unsupported dtype %s",
                          cinfer_dtype_name(dt));
}

static cinfer_status pool_infer(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    bool is_max = !strcmp(ctx->node->op_type, "MaxPool");
    CINFER_TRY(check_input(ctx, 3, is_max));
    int n_sp = x->rank - 2;
    int64_t k[CINFER_MAX_RANK], s[CINFER_MAX_RANK], d[CINFER_MAX_RANK], pb[CINFER_MAX_RANK],
        pe[CINFER_MAX_RANK], dims[CINFER_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    CINFER_TRY(cinfer__pool_window(ctx->node, n_sp, x->dims + 2, k, s, d, pb, pe, dims + 2,
                                   ctx->err));
    cinfer__set_out(ctx->out[0], x->dtype, x->rank, dims);
    if (ctx->n_out > 1 && ctx->out[1])
        cinfer__set_out(ctx->out[1], CINFER_DTYPE_INT64, x->rank, dims);
    return CINFER_OK;
}

static cinfer_status global_infer(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    CINFER_TRY(check_input(ctx, 2, !strcmp(ctx->node->op_type, "GlobalMaxPool")));
    int64_t dims[CINFER_MAX_RANK];
    for (int i = 0; i < x->rank; i++) dims[i] = i < 2 ? x->dims[i] : 1;
    cinfer__set_out(ctx->out[0], x->dtype, x->rank, dims);
    return CINFER_OK;
}

/* ---- MaxUnpool: X scattered into zeros at the flat indices I (from MaxPool) ---- */

static cinfer_status unpool_check(cinfer__node *node, cinfer__err *err) {
    size_t nk;
    const int64_t *k = cinfer__attr_ints(node, "kernel_shape", &nk);
    if (!k || nk == 0 || nk > CINFER_MAX_RANK - 2)
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "attribute kernel_shape is required (1 to %d values)",
                              CINFER_MAX_RANK - 2);
    CINFER_TRY(check_ints(node, "kernel_shape", nk, 1, err));
    CINFER_TRY(check_ints(node, "strides", nk, 1, err));
    return check_ints(node, "pads", 2 * nk, 0, err);
}

/* MaxUnpool's default output dims: (in - 1) * stride + kernel - pads. */
static void unpool_dims(const cinfer__node *node, const cinfer_tensor *x, int64_t *dims) {
    size_t nk, ns, np;
    const int64_t *k = cinfer__attr_ints(node, "kernel_shape", &nk);
    const int64_t *s = cinfer__attr_ints(node, "strides", &ns);
    const int64_t *p = cinfer__attr_ints(node, "pads", &np);
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (size_t i = 0; i < nk && (int)i + 2 < x->rank; i++)
        dims[2 + i] = (x->dims[2 + i] - 1) * (s ? s[i] : 1) + k[i] - (p ? p[i] + p[i + nk] : 0);
}

/* Output dims: input 2 (output_shape) when given, else the unpooled dims. */
static cinfer_status unpool_infer(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0], *ix = ctx->in[1];
    const cinfer_tensor *shape = ctx->n_in > 2 ? ctx->in[2] : NULL;
    size_t nk;
    cinfer__attr_ints(ctx->node, "kernel_shape", &nk);
    char a[96], b[96];
    if (x->dtype != CINFER_DTYPE_FLOAT || ix->dtype != CINFER_DTYPE_INT64)
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED,
                              "inputs of dtype %s and %s: only float X and int64 I are supported",
                              cinfer_dtype_name(x->dtype), cinfer_dtype_name(ix->dtype));
    if (x->rank != (int)nk + 2 || !cinfer__same_shape(x, ix))
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "input 0 %s and input 1 %s must have the same shape, of rank %zu",
                              cinfer__shape_str(x->rank, x->dims, a, sizeof a),
                              cinfer__shape_str(ix->rank, ix->dims, b, sizeof b), nk + 2);
    int64_t dims[CINFER_MAX_RANK];
    if (shape) {
        if (cinfer_tensor_numel(shape) != x->rank || !cinfer__dtype_is_int(shape->dtype))
            return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                                  "input 2 (output_shape) must hold %d integers", x->rank);
        for (int i = 0; i < x->rank; i++) dims[i] = cinfer__get_i64(shape, i);
    } else {
        unpool_dims(ctx->node, x, dims);
    }
    for (int i = 0; i < x->rank; i++)
        if (dims[i] < 0)
            return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                                  "output dim %d would be negative (%lld)", i, (long long)dims[i]);
    cinfer__set_out(ctx->out[0], x->dtype, x->rank, dims);
    return CINFER_OK;
}

/* MaxPool gains the Indices output at opset 8; later versions only add attributes
 * (ceil_mode, dilations at 10) that older models simply do not set. */
const cinfer__op_def cinfer__ops_pool[] = {
    {"MaxPool", "", 1, 7, 1, 1, 1, 1, 0, pool_check, pool_infer},
    {"MaxPool", "", 8, 21, 1, 1, 1, 2, 0, pool_check, pool_infer},
    {"AveragePool", "", 1, 21, 1, 1, 1, 1, 0, pool_check, pool_infer},
    {"LpPool", "", 1, 21, 1, 1, 1, 1, 0, pool_check, pool_infer},
    {"MaxUnpool", "", 9, 21, 2, 3, 1, 1, 1u << 2, unpool_check, unpool_infer},
    {"GlobalAveragePool", "", 1, 21, 1, 1, 1, 1, 0, global_check, global_infer},
    {"GlobalMaxPool", "", 1, 21, 1, 1, 1, 1, 0, global_check, global_infer},
    {"GlobalLpPool", "", 1, 21, 1, 1, 1, 1, 0, global_check, global_infer},
    {0},
};
