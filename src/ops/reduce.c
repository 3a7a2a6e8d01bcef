/* Op definitions: reductions (ReduceSum, ReduceMean, ReduceMax, ... and ArgMax/ArgMin). */
#include <string.h>

#include "ops/geometry.h"

/* Reduce ops take `axes` as an attribute up to this opset and as input 1 from it on. */
static int axes_input_opset(const char *op_type) {
    return strcmp(op_type, "ReduceSum") ? 18 : 13;
}

/* Ops that also run on int32/int64 (shape arithmetic); all run on float32 and float64. */
static bool int_ok(const char *op_type) {
    return !strcmp(op_type, "ReduceSum") || !strcmp(op_type, "ReduceMax") ||
           !strcmp(op_type, "ReduceMin") || !strcmp(op_type, "ReduceProd");
}

static cinfer_status check_bool_attr(const cinfer__node *node, const char *name,
                                     cinfer__err *err) {
    int64_t v = cinfer__attr_int(node, name, 0);
    if (v != 0 && v != 1)
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute %s=%lld must be 0 or 1", name,
                              (long long)v);
    return CINFER_OK;
}

static cinfer_status reduce_check(cinfer__node *node, cinfer__err *err) {
    CINFER_TRY(check_bool_attr(node, "keepdims", err));
    if (node->opset >= axes_input_opset(node->op_type)) {
        CINFER_TRY(check_bool_attr(node, "noop_with_empty_axes", err));
        if (cinfer__node_attr(node, "axes"))
            return cinfer__errorf(err, CINFER_INVALID_MODEL,
                                  "attribute 'axes' is not allowed at opset %d (axes is input 1)",
                                  node->opset);
    }
    return CINFER_OK;
}

/* Marks the reduced dimensions of a rank-`rank` input in mask[]. *noop is set when the node is
 * an identity (empty axes with noop_with_empty_axes=1). `axes` is input 1 (may be NULL).
 * Shared with the CPU kernel through ops/geometry.h. */
cinfer_status cinfer__reduce_axes(const cinfer__node *node, int rank, const cinfer_tensor *axes,
                                  bool *mask, bool *noop, cinfer__err *err) {
    size_t n = 0;
    const int64_t *attr = NULL;
    bool from_input = node->opset >= axes_input_opset(node->op_type);
    if (from_input && axes) {
        if (axes->rank > 1 || !cinfer__dtype_is_int(axes->dtype))
            return cinfer__errorf(err, CINFER_INVALID_MODEL,
                                  "input 1 (axes) must be a 1-D integer tensor");
        if (!axes->data)
            return cinfer__errorf(err, CINFER_UNSUPPORTED,
                                  "input 1 (axes) must be known when the model is planned");
        n = (size_t)cinfer_tensor_numel(axes);
    } else if (!from_input) {
        attr = cinfer__attr_ints(node, "axes", &n);
    }
    *noop = n == 0 && from_input && cinfer__attr_int(node, "noop_with_empty_axes", 0);
    for (int i = 0; i < rank; i++) mask[i] = n == 0 && !*noop;
    for (size_t k = 0; k < n; k++) {
        int64_t a = attr ? attr[k] : cinfer__get_i64(axes, (int64_t)k);
        int ax;
        if (!cinfer__norm_axis(a, rank, &ax))
            return cinfer__errorf(err, CINFER_INVALID_MODEL,
                                  "axis %lld is out of range for input 0 of rank %d",
                                  (long long)a, rank);
        if (mask[ax])
            return cinfer__errorf(err, CINFER_INVALID_MODEL, "axis %lld is listed twice",
                                  (long long)a);
        mask[ax] = true;
    }
    return CINFER_OK;
}

/* Output shape from the input shape and the reduced-dimension mask. */
static void reduced_shape(const cinfer_tensor *x, const bool *mask, bool keep, cinfer_tensor *y) {
    int64_t dims[CINFER_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        if (!mask[i]) dims[r++] = x->dims[i];
        else if (keep) dims[r++] = 1;
    }
    cinfer__set_out(y, x->dtype, r, dims);
}

static cinfer_status check_dtype(const cinfer__node *node, cinfer_dtype dt, cinfer__err *err) {
    if (dt == CINFER_DTYPE_FLOAT || dt == CINFER_DTYPE_DOUBLE) return CINFER_OK;
    if ((dt == CINFER_DTYPE_INT64 || dt == CINFER_DTYPE_INT32) && int_ok(node->op_type))
        return CINFER_OK;
    return cinfer__errorf(err, CINFER_UNSUPPORTED, "input 0 has unsupported dtype %s",
                          cinfer_dtype_name(dt));
}

static cinfer_status reduce_infer(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    bool mask[CINFER_MAX_RANK], noop;
    CINFER_TRY(check_dtype(ctx->node, x->dtype, ctx->err));
    const cinfer_tensor *axes = ctx->n_in > 1 ? ctx->in[1] : NULL;
    CINFER_TRY(cinfer__reduce_axes(ctx->node, x->rank, axes, mask, &noop, ctx->err));
    reduced_shape(x, mask, cinfer__attr_int(ctx->node, "keepdims", 1) != 0, ctx->out[0]);
    return CINFER_OK;
}

static cinfer_status arg_check(cinfer__node *node, cinfer__err *err) {
    CINFER_TRY(check_bool_attr(node, "keepdims", err));
    return check_bool_attr(node, "select_last_index", err);
}

static cinfer_status arg_infer(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    cinfer_dtype dt = x->dtype;
    if (dt != CINFER_DTYPE_FLOAT && dt != CINFER_DTYPE_INT32 && dt != CINFER_DTYPE_INT64)
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "input 0 has unsupported dtype %s",
                              cinfer_dtype_name(dt));
    int64_t a = cinfer__attr_int(ctx->node, "axis", 0);
    int ax;
    if (!cinfer__norm_axis(a, x->rank, &ax))
        return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL,
                              "attribute axis=%lld is out of range for input 0 of rank %d",
                              (long long)a, x->rank);
    if (x->dims[ax] == 0)
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "input 0 has size 0 along axis %d: no arg max/min", ax);
    bool mask[CINFER_MAX_RANK] = {false};
    mask[ax] = true;
    reduced_shape(x, mask, cinfer__attr_int(ctx->node, "keepdims", 1) != 0, ctx->out[0]);
    ctx->out[0]->dtype = CINFER_DTYPE_INT64;
    return CINFER_OK;
}

/* Two entries per Reduce op: axes as an attribute, then axes as optional input 1. */
#define REDUCE_DEFS(name, split)                                                         \
    {name, "", 1, (split) - 1, 1, 1, 1, 1, 0, reduce_check, reduce_infer},              \
    {name, "", split, 21, 1, 2, 1, 1, 1u << 1, reduce_check, reduce_infer}

const cinfer__op_def cinfer__ops_reduce[] = {
    REDUCE_DEFS("ReduceSum", 13),
    REDUCE_DEFS("ReduceMean", 18),
    REDUCE_DEFS("ReduceMax", 18),
    REDUCE_DEFS("ReduceMin", 18),
    REDUCE_DEFS("ReduceProd", 18),
    REDUCE_DEFS("ReduceL1", 18),
    REDUCE_DEFS("ReduceL2", 18),
    REDUCE_DEFS("ReduceLogSum", 18),
    REDUCE_DEFS("ReduceLogSumExp", 18),
    REDUCE_DEFS("ReduceSumSquare", 18),
    {"ArgMax", "", 1, 21, 1, 1, 1, 1, 0, arg_check, arg_infer},
    {"ArgMin", "", 1, 21, 1, 1, 1, 1, 0, arg_check, arg_infer},
    {0},
};
