/* Op definitions of the gather family: Gather, GatherElements, GatherND, ScatterND,
 * ScatterElements (and its deprecated alias Scatter) and OneHot. */
#include <string.h>

#include "ops/op.h"

/* The attributes are validated here at load time and read again by the CPU kernels (node
 * attributes are cheap to look up), so no params struct has to be shared between files. */

static bool is_index_dtype(cinfer_dtype dt) {
    return dt == CINFER_DTYPE_INT64 || dt == CINFER_DTYPE_INT32;
}

static cinfer_status check_index_input(const cinfer__infer_ctx *ctx, int i) {
    if (is_index_dtype(ctx->in[i]->dtype)) return CINFER_OK;
    return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED,
                          "input %d (indices) has dtype %s; only int32 and int64 are supported",
                          i, cinfer_dtype_name(ctx->in[i]->dtype));
}

static cinfer_status check_elem_size(const cinfer__infer_ctx *ctx, int i) {
    if (cinfer_dtype_size(ctx->in[i]->dtype) > 0) return CINFER_OK;
    return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "input %d has unsupported dtype %s", i,
                          cinfer_dtype_name(ctx->in[i]->dtype));
}

/* ScatterND-16+ and ScatterElements-16+ take `reduction`; max/min arrive with opset 18. */
static cinfer_status check_scatter(cinfer__node *node, cinfer__err *err) {
    const char *r = cinfer__attr_string(node, "reduction", "none");
    if (!strcmp(r, "none")) return CINFER_OK;
    if (node->opset >= 16 && (!strcmp(r, "add") || !strcmp(r, "mul"))) return CINFER_OK;
    if (node->opset >= 18 && (!strcmp(r, "max") || !strcmp(r, "min"))) return CINFER_OK;
    return cinfer__errorf(err, CINFER_UNSUPPORTED,
                          "attribute reduction='%s' is not supported at opset %d", r, node->opset);
}

static cinfer_status check_gather_nd(cinfer__node *node, cinfer__err *err) {
    int64_t b = cinfer__attr_int(node, "batch_dims", 0);
    if (b < 0 || b >= CINFER_MAX_RANK)
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute batch_dims=%lld is invalid",
                              (long long)b);
    return CINFER_OK;
}

static cinfer_status bad_axis(const cinfer__infer_ctx *ctx, int64_t axis, int rank) {
    return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL,
                          "attribute axis=%lld is out of range for input 0 of rank %d",
                          (long long)axis, rank);
}

/* Gather: output = data.shape[:axis] + indices.shape + data.shape[axis+1:]. */
static cinfer_status infer_gather(cinfer__infer_ctx *ctx) {
    int64_t axis_attr = cinfer__attr_int(ctx->node, "axis", 0);
    const cinfer_tensor *data = ctx->in[0], *idx = ctx->in[1];
    CINFER_TRY(check_elem_size(ctx, 0));
    CINFER_TRY(check_index_input(ctx, 1));
    int axis;
    if (data->rank < 1 || !cinfer__norm_axis(axis_attr, data->rank, &axis))
        return bad_axis(ctx, axis_attr, data->rank);
    int rank = data->rank + idx->rank - 1;
    if (rank > CINFER_MAX_RANK)
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "output rank %d exceeds %d", rank,
                              CINFER_MAX_RANK);
    int64_t dims[CINFER_MAX_RANK];
    int r = 0;
    for (int i = 0; i < axis; i++) dims[r++] = data->dims[i];
    for (int i = 0; i < idx->rank; i++) dims[r++] = idx->dims[i];
    for (int i = axis + 1; i < data->rank; i++) dims[r++] = data->dims[i];
    cinfer__set_out(ctx->out[0], data->dtype, rank, dims);
    return CINFER_OK;
}

/* Indices of GatherElements / ScatterElements: same rank as data, no dim larger than data's
 * outside the axis (ONNX Runtime's rule; the spec only asks for the same rank). */
static cinfer_status check_elements_shape(const cinfer__infer_ctx *ctx, int axis) {
    const cinfer_tensor *data = ctx->in[0], *idx = ctx->in[1];
    char a[96], b[96];
    if (idx->rank != data->rank) goto bad;
    for (int i = 0; i < data->rank; i++)
        if (i != axis && idx->dims[i] > data->dims[i])
            goto bad;
    return CINFER_OK;
bad:
    return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                          "input 1 (indices) shape %s does not fit input 0 (data) shape %s",
                          cinfer__shape_str(idx->rank, idx->dims, a, sizeof a),
                          cinfer__shape_str(data->rank, data->dims, b, sizeof b));
}

static cinfer_status infer_gather_elements(cinfer__infer_ctx *ctx) {
    int64_t axis_attr = cinfer__attr_int(ctx->node, "axis", 0);
    const cinfer_tensor *data = ctx->in[0], *idx = ctx->in[1];
    CINFER_TRY(check_elem_size(ctx, 0));
    CINFER_TRY(check_index_input(ctx, 1));
    int axis;
    if (data->rank < 1 || !cinfer__norm_axis(axis_attr, data->rank, &axis))
        return bad_axis(ctx, axis_attr, data->rank);
    CINFER_TRY(check_elements_shape(ctx, axis));
    cinfer__set_out(ctx->out[0], data->dtype, idx->rank, idx->dims);
    return CINFER_OK;
}

/* GatherND: output = indices.shape[:-1] + data.shape[batch_dims + indices.shape[-1]:]. */
static cinfer_status infer_gather_nd(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *data = ctx->in[0], *idx = ctx->in[1];
    CINFER_TRY(check_elem_size(ctx, 0));
    CINFER_TRY(check_index_input(ctx, 1));
    int b = (int)cinfer__attr_int(ctx->node, "batch_dims", 0), q = idx->rank, r = data->rank;
    if (q < 1 || r < 1 || b >= q || b >= r)
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "batch_dims=%d needs data (rank %d) and indices (rank %d) of "
                              "higher rank", b, r, q);
    int64_t k = idx->dims[q - 1];
    if (k < 1 || k > r - b)
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "indices' last dimension %lld must be in [1, %d]", (long long)k,
                              r - b);
    for (int i = 0; i < b; i++)
        if (idx->dims[i] != data->dims[i])
            return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                                  "batch dimension %d differs: data %lld, indices %lld", i,
                                  (long long)data->dims[i], (long long)idx->dims[i]);
    int rank = q - 1 + r - b - (int)k;
    if (rank > CINFER_MAX_RANK)
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "output rank %d exceeds %d", rank,
                              CINFER_MAX_RANK);
    int64_t dims[CINFER_MAX_RANK];
    int n = 0;
    for (int i = 0; i < q - 1; i++) dims[n++] = idx->dims[i];
    for (int i = b + (int)k; i < r; i++) dims[n++] = data->dims[i];
    cinfer__set_out(ctx->out[0], data->dtype, rank, dims);
    return CINFER_OK;
}

static cinfer_status check_updates(const cinfer__infer_ctx *ctx, int rank, const int64_t *dims) {
    const cinfer_tensor *u = ctx->in[2];
    char a[96], b[96];
    bool ok = u->dtype == ctx->in[0]->dtype && u->rank == rank;
    for (int i = 0; ok && i < rank; i++) ok = u->dims[i] == dims[i];
    if (ok) return CINFER_OK;
    return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                          "input 2 (updates) is %s %s; expected %s %s",
                          cinfer_dtype_name(u->dtype), cinfer__shape_str(u->rank, u->dims, a, 96),
                          cinfer_dtype_name(ctx->in[0]->dtype),
                          cinfer__shape_str(rank, dims, b, 96));
}

/* Reductions other than none need arithmetic on the element type. */
static cinfer_status check_reduction_dtype(const cinfer__infer_ctx *ctx) {
    cinfer_dtype dt = ctx->in[0]->dtype;
    const char *red = cinfer__attr_string(ctx->node, "reduction", "none");
    if (!strcmp(red, "none") || dt == CINFER_DTYPE_FLOAT || dt == CINFER_DTYPE_DOUBLE ||
        dt == CINFER_DTYPE_INT32 || dt == CINFER_DTYPE_INT64)
        return CINFER_OK;
    return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED,
                          "reduction on dtype %s is not supported (float, double, int32, int64)",
                          cinfer_dtype_name(dt));
}

/* ScatterND: updates.shape = indices.shape[:-1] + data.shape[indices.shape[-1]:]. */
static cinfer_status infer_scatter_nd(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *data = ctx->in[0], *idx = ctx->in[1];
    CINFER_TRY(check_elem_size(ctx, 0));
    CINFER_TRY(check_index_input(ctx, 1));
    CINFER_TRY(check_reduction_dtype(ctx));
    int q = idx->rank, r = data->rank;
    int64_t k = q >= 1 ? idx->dims[q - 1] : 0;
    if (q < 1 || r < 1 || k < 1 || k > r || q - 1 + r - k > CINFER_MAX_RANK)
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "indices of rank %d with last dimension %lld do not fit data of "
                              "rank %d", q, (long long)k, r);
    int64_t dims[CINFER_MAX_RANK];
    int n = 0;
    for (int i = 0; i < q - 1; i++) dims[n++] = idx->dims[i];
    for (int i = (int)k; i < r; i++) dims[n++] = data->dims[i];
    CINFER_TRY(check_updates(ctx, n, dims));
    cinfer__set_out(ctx->out[0], data->dtype, data->rank, data->dims);
    return CINFER_OK;
}

static cinfer_status infer_scatter_elements(cinfer__infer_ctx *ctx) {
    int64_t axis_attr = cinfer__attr_int(ctx->node, "axis", 0);
    const cinfer_tensor *data = ctx->in[0], *idx = ctx->in[1];
    CINFER_TRY(check_elem_size(ctx, 0));
    CINFER_TRY(check_index_input(ctx, 1));
    CINFER_TRY(check_reduction_dtype(ctx));
    int axis;
    if (data->rank < 1 || !cinfer__norm_axis(axis_attr, data->rank, &axis))
        return bad_axis(ctx, axis_attr, data->rank);
    CINFER_TRY(check_elements_shape(ctx, axis));
    CINFER_TRY(check_updates(ctx, idx->rank, idx->dims));
    cinfer__set_out(ctx->out[0], data->dtype, data->rank, data->dims);
    return CINFER_OK;
}

/* OneHot: indices of rank r give rank r+1, the new axis (of size depth) at `axis`. */
static cinfer_status infer_one_hot(cinfer__infer_ctx *ctx) {
    int64_t axis_attr = cinfer__attr_int(ctx->node, "axis", -1);
    const cinfer_tensor *idx = ctx->in[0], *depth = ctx->in[1], *values = ctx->in[2];
    int rank = idx->rank + 1, axis;
    if (!cinfer__dtype_is_int(idx->dtype) && !cinfer__dtype_is_float(idx->dtype))
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "input 0 (indices) has dtype %s",
                              cinfer_dtype_name(idx->dtype));
    if (rank > CINFER_MAX_RANK || !cinfer__norm_axis(axis_attr, rank, &axis))
        return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL,
                              "attribute axis=%lld is out of range for an output of rank %d",
                              (long long)axis_attr, rank);
    if (cinfer_tensor_numel(depth) != 1 || !depth->data)
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "input 1 (depth) must be a known one-element tensor");
    if (cinfer_tensor_numel(values) != 2 || cinfer_dtype_size(values->dtype) == 0)
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "input 2 (values) must hold two elements [off, on]");
    int64_t d = cinfer__get_i64(depth, 0);
    if (d < 1)
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT, "input 1 (depth) is %lld",
                              (long long)d);
    int64_t dims[CINFER_MAX_RANK];
    for (int i = 0, j = 0; i < rank; i++) dims[i] = i == axis ? d : idx->dims[j++];
    cinfer__set_out(ctx->out[0], values->dtype, rank, dims);
    return CINFER_OK;
}

const cinfer__op_def cinfer__ops_gather[] = {
    {"Gather", "", 1, 21, 2, 2, 1, 1, 0, NULL, infer_gather},
    {"GatherElements", "", 11, 21, 2, 2, 1, 1, 0, NULL, infer_gather_elements},
    {"GatherND", "", 11, 21, 2, 2, 1, 1, 0, check_gather_nd, infer_gather_nd},
    {"ScatterND", "", 11, 21, 3, 3, 1, 1, 0, check_scatter, infer_scatter_nd},
    {"ScatterElements", "", 11, 21, 3, 3, 1, 1, 0, check_scatter, infer_scatter_elements},
    {"Scatter", "", 9, 10, 3, 3, 1, 1, 0, check_scatter, infer_scatter_elements},
    {"OneHot", "", 9, 21, 3, 3, 1, 1, 1u << 1, NULL, infer_one_hot},
    {0},
};
