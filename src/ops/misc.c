/* Op definitions of the misc family: TopK, CumSum, Hardmax, LRN, Einsum, QuantizeLinear,
 * DequantizeLinear, DynamicQuantizeLinear, Mish, ReverseSequence, Compress, Unique,
 * NonMaxSuppression, RoiAlign, GridSample and Det. */
#include <string.h>

#include "ops/misc.h"

/* Attributes are validated here at load time and read again by the CPU kernels (lookups are
 * cheap), so only Einsum keeps parsed params. */

static cinfer_status bad_dtype(const cinfer__infer_ctx *ctx, int i, const char *allowed) {
    return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "input %d has dtype %s; supported: %s",
                          i, cinfer_dtype_name(ctx->in[i]->dtype), allowed);
}

static bool is_float(cinfer_dtype dt) {
    return dt == CINFER_DTYPE_FLOAT || dt == CINFER_DTYPE_DOUBLE;
}

static bool is_index(cinfer_dtype dt) {
    return dt == CINFER_DTYPE_INT64 || dt == CINFER_DTYPE_INT32;
}

static cinfer_status need_float(const cinfer__infer_ctx *ctx, int i) {
    return is_float(ctx->in[i]->dtype) ? CINFER_OK : bad_dtype(ctx, i, "float, double");
}

static cinfer_status need_float32(const cinfer__infer_ctx *ctx, int i) {
    return ctx->in[i]->dtype == CINFER_DTYPE_FLOAT ? CINFER_OK : bad_dtype(ctx, i, "float");
}

static cinfer_status need_numeric(const cinfer__infer_ctx *ctx, int i) {
    cinfer_dtype dt = ctx->in[i]->dtype;
    if (is_float(dt) || is_index(dt)) return CINFER_OK;
    return bad_dtype(ctx, i, "float, double, int32, int64");
}

static cinfer_status same_as_input(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    cinfer__set_out(ctx->out[0], x->dtype, x->rank, x->dims);
    return CINFER_OK;
}

static cinfer_status bad_shape(const cinfer__infer_ctx *ctx, int i, const char *what) {
    char buf[96];
    const cinfer_tensor *t = ctx->in[i];
    return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT, "input %d has shape %s; %s", i,
                          cinfer__shape_str(t->rank, t->dims, buf, sizeof buf), what);
}

/* Normalizes attribute `name` (default dflt) against rank. */
static cinfer_status attr_axis(const cinfer__infer_ctx *ctx, const char *name, int64_t dflt,
                               int rank, int *axis) {
    int64_t a = cinfer__attr_int(ctx->node, name, dflt);
    if (rank >= 1 && cinfer__norm_axis(a, rank, axis)) return CINFER_OK;
    return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL,
                          "attribute %s=%lld is out of range for input 0 of rank %d", name,
                          (long long)a, rank);
}

/* ---- TopK: k is an attribute before opset 10, input 1 from then on. ---- */

static cinfer_status topk_check(cinfer__node *node, cinfer__err *err) {
    if (node->opset < 10 && !cinfer__node_attr(node, "k"))
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute k is missing");
    return CINFER_OK;
}

static cinfer_status topk_infer(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    int axis;
    CINFER_TRY(need_numeric(ctx, 0));
    CINFER_TRY(attr_axis(ctx, "axis", -1, x->rank, &axis));
    int64_t k;
    if (ctx->node->opset < 10) {
        k = cinfer__attr_int(ctx->node, "k", 0);
    } else {
        if (!is_index(ctx->in[1]->dtype) || cinfer_tensor_numel(ctx->in[1]) != 1)
            return bad_shape(ctx, 1, "K must be one int64");
        k = cinfer__get_i64(ctx->in[1], 0);
    }
    if (k < 0 || k > x->dims[axis])
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "k=%lld is out of range for axis %d of size %lld", (long long)k,
                              axis, (long long)x->dims[axis]);
    int64_t dims[CINFER_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[axis] = k;
    if (ctx->out[0]) cinfer__set_out(ctx->out[0], x->dtype, x->rank, dims);
    if (ctx->n_out > 1 && ctx->out[1])
        cinfer__set_out(ctx->out[1], CINFER_DTYPE_INT64, x->rank, dims);
    return CINFER_OK;
}

/* ---- CumSum: the axis is a runtime input (one int32/int64). ---- */

static cinfer_status cumsum_infer(cinfer__infer_ctx *ctx) {
    CINFER_TRY(need_numeric(ctx, 0));
    const cinfer_tensor *a = ctx->in[1];
    if (!is_index(a->dtype)) return bad_dtype(ctx, 1, "int32, int64");
    if (a->rank > 1 || cinfer_tensor_numel(a) != 1)
        return bad_shape(ctx, 1, "axis must be a scalar or a one-element vector");
    if (ctx->in[0]->rank < 1) return bad_shape(ctx, 0, "CumSum needs rank >= 1");
    return same_as_input(ctx);
}

/* ---- Hardmax (opsets 1-12 flatten to 2-D at axis, 13+ work along the axis). ---- */

static cinfer_status hardmax_infer(cinfer__infer_ctx *ctx) {
    int axis;
    CINFER_TRY(need_float(ctx, 0));
    CINFER_TRY(attr_axis(ctx, "axis", ctx->node->opset < 13 ? 1 : -1, ctx->in[0]->rank, &axis));
    return same_as_input(ctx);
}

/* ---- LRN ---- */

static cinfer_status lrn_check(cinfer__node *node, cinfer__err *err) {
    int64_t size = cinfer__attr_int(node, "size", 0);
    if (size < 1)
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute size=%lld must be >= 1",
                              (long long)size);
    return CINFER_OK;
}

static cinfer_status lrn_infer(cinfer__infer_ctx *ctx) {
    CINFER_TRY(need_float(ctx, 0));
    if (ctx->in[0]->rank < 2) return bad_shape(ctx, 0, "LRN needs (N, C, ...)");
    return same_as_input(ctx);
}

/* ---- Mish, Det ---- */

static cinfer_status float_same(cinfer__infer_ctx *ctx) {
    CINFER_TRY(need_float(ctx, 0));
    return same_as_input(ctx);
}

static cinfer_status det_infer(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    CINFER_TRY(need_float(ctx, 0));
    if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2])
        return bad_shape(ctx, 0, "Det needs square matrices [..., M, M]");
    cinfer__set_out(ctx->out[0], x->dtype, x->rank - 2, x->dims);
    return CINFER_OK;
}

/* ---- ReverseSequence ---- */

static cinfer_status revseq_check(cinfer__node *node, cinfer__err *err) {
    int64_t b = cinfer__attr_int(node, "batch_axis", 1), t = cinfer__attr_int(node, "time_axis", 0);
    if ((b != 0 && b != 1) || (t != 0 && t != 1) || b == t)
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "attributes batch_axis=%lld and time_axis=%lld must be 0 and 1",
                              (long long)b, (long long)t);
    return CINFER_OK;
}

static cinfer_status revseq_infer(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0], *len = ctx->in[1];
    int b = (int)cinfer__attr_int(ctx->node, "batch_axis", 1);
    if (cinfer_dtype_size(x->dtype) == 0) return bad_dtype(ctx, 0, "any fixed-size dtype");
    if (!is_index(len->dtype)) return bad_dtype(ctx, 1, "int64, int32");
    if (x->rank < 2) return bad_shape(ctx, 0, "ReverseSequence needs rank >= 2");
    if (len->rank != 1 || len->dims[0] != x->dims[b])
        return bad_shape(ctx, 1, "sequence_lens must be a vector of the batch size");
    return same_as_input(ctx);
}

/* ---- Compress: the output size is the number of true conditions. ---- */

static cinfer_status compress_infer(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0], *c = ctx->in[1];
    if (cinfer_dtype_size(x->dtype) == 0) return bad_dtype(ctx, 0, "any fixed-size dtype");
    if (c->dtype != CINFER_DTYPE_BOOL) return bad_dtype(ctx, 1, "bool");
    if (c->rank != 1) return bad_shape(ctx, 1, "condition must be 1-D");
    bool has_axis = cinfer__node_attr(ctx->node, "axis") != NULL;
    int axis = -1;
    if (has_axis) CINFER_TRY(attr_axis(ctx, "axis", 0, x->rank, &axis));
    int64_t len = has_axis ? x->dims[axis] : cinfer_tensor_numel(x), n = 0;
    if (c->dims[0] > len) return bad_shape(ctx, 1, "condition is longer than the axis");
    for (int64_t i = 0; i < c->dims[0]; i++) n += ((const uint8_t *)c->data)[i] != 0;
    if (!has_axis) {
        cinfer__set_out(ctx->out[0], x->dtype, 1, &n);
        return CINFER_OK;
    }
    int64_t dims[CINFER_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[axis] = n;
    cinfer__set_out(ctx->out[0], x->dtype, x->rank, dims);
    return CINFER_OK;
}

/* ---- QuantizeLinear / DequantizeLinear ---- */

static bool is_quant(cinfer_dtype dt) {
    return dt == CINFER_DTYPE_UINT8 || dt == CINFER_DTYPE_INT8 || dt == CINFER_DTYPE_UINT16 ||
           dt == CINFER_DTYPE_INT16;
}

static cinfer_status quant_check(cinfer__node *node, cinfer__err *err) {
    int64_t bs = cinfer__attr_int(node, "block_size", 0);
    if (bs != 0)
        return cinfer__errorf(err, CINFER_UNSUPPORTED,
                              "attribute block_size=%lld is not supported (per-tensor and "
                              "per-axis only)", (long long)bs);
    int64_t od = cinfer__attr_int(node, "output_dtype", 0);
    if (od != 0 && !is_quant((cinfer_dtype)od))
        return cinfer__errorf(err, CINFER_UNSUPPORTED,
                              "attribute output_dtype=%lld is not supported (uint8, int8, "
                              "uint16, int16)", (long long)od);
    return CINFER_OK;
}

/* Scale (input 1) and zero point (input 2): one element, or (opset 13+) a vector along axis. */
static cinfer_status quant_params(const cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0], *s = ctx->in[1];
    const cinfer_tensor *z = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (s->dtype != CINFER_DTYPE_FLOAT) return bad_dtype(ctx, 1, "float");
    if (z && !is_quant(z->dtype) && z->dtype != CINFER_DTYPE_INT32)
        return bad_dtype(ctx, 2, "uint8, int8, uint16, int16, int32");
    if (s->rank > 1 || (s->rank == 1 && ctx->node->opset < 13 && s->dims[0] != 1))
        return bad_shape(ctx, 1, "the scale must be a scalar (or a vector from opset 13)");
    if (s->rank == 1 && s->dims[0] != 1) {
        int axis;
        CINFER_TRY(attr_axis(ctx, "axis", 1, x->rank, &axis));
        if (s->dims[0] != x->dims[axis])
            return bad_shape(ctx, 1, "a per-axis scale needs the axis' length");
    }
    if (z && (z->rank != s->rank || cinfer_tensor_numel(z) != cinfer_tensor_numel(s)))
        return bad_shape(ctx, 2, "the zero point must have the scale's shape");
    return CINFER_OK;
}

static cinfer_status quantize_infer(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    const cinfer_tensor *z = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (x->dtype != CINFER_DTYPE_FLOAT && x->dtype != CINFER_DTYPE_INT32)
        return bad_dtype(ctx, 0, "float, int32");
    CINFER_TRY(quant_params(ctx));
    int64_t od = cinfer__attr_int(ctx->node, "output_dtype", 0);
    cinfer_dtype y = z ? z->dtype : od ? (cinfer_dtype)od : CINFER_DTYPE_UINT8;
    if (!is_quant(y)) return bad_dtype(ctx, 2, "uint8, int8, uint16, int16");
    if (z && od && od != (int64_t)z->dtype)
        return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL,
                              "attribute output_dtype=%lld differs from input 2's dtype %s",
                              (long long)od, cinfer_dtype_name(z->dtype));
    cinfer__set_out(ctx->out[0], y, x->rank, x->dims);
    return CINFER_OK;
}

static cinfer_status dequantize_infer(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    const cinfer_tensor *z = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (!is_quant(x->dtype) && x->dtype != CINFER_DTYPE_INT32)
        return bad_dtype(ctx, 0, "uint8, int8, uint16, int16, int32");
    if (z && z->dtype != x->dtype) return bad_dtype(ctx, 2, "input 0's dtype");
    CINFER_TRY(quant_params(ctx));
    cinfer__set_out(ctx->out[0], CINFER_DTYPE_FLOAT, x->rank, x->dims);
    return CINFER_OK;
}

static cinfer_status dynquant_infer(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    CINFER_TRY(need_float32(ctx, 0));
    cinfer__set_out(ctx->out[0], CINFER_DTYPE_UINT8, x->rank, x->dims);
    if (ctx->n_out > 1 && ctx->out[1]) cinfer__set_out(ctx->out[1], CINFER_DTYPE_FLOAT, 0, NULL);
    if (ctx->n_out > 2 && ctx->out[2]) cinfer__set_out(ctx->out[2], CINFER_DTYPE_UINT8, 0, NULL);
    return CINFER_OK;
}

/* ---- RoiAlign ---- */

static cinfer_status roialign_check(cinfer__node *node, cinfer__err *err) {
    const char *mode = cinfer__attr_string(node, "mode", "avg");
    if (strcmp(mode, "avg") && strcmp(mode, "max"))
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "attribute mode='%s' is not supported",
                              mode);
    const char *ct = cinfer__attr_string(node, "coordinate_transformation_mode", "half_pixel");
    if (node->opset >= 16 && strcmp(ct, "half_pixel") && strcmp(ct, "output_half_pixel"))
        return cinfer__errorf(err, CINFER_UNSUPPORTED,
                              "attribute coordinate_transformation_mode='%s' is not supported",
                              ct);
    if (cinfer__attr_int(node, "output_height", 1) < 1 ||
        cinfer__attr_int(node, "output_width", 1) < 1 ||
        cinfer__attr_int(node, "sampling_ratio", 0) < 0)
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "attributes output_height/output_width must be >= 1 and "
                              "sampling_ratio >= 0");
    return CINFER_OK;
}

static cinfer_status roialign_infer(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0], *rois = ctx->in[1], *bi = ctx->in[2];
    CINFER_TRY(need_float32(ctx, 0));
    CINFER_TRY(need_float32(ctx, 1));
    if (!is_index(bi->dtype)) return bad_dtype(ctx, 2, "int64, int32");
    if (x->rank != 4) return bad_shape(ctx, 0, "X must be [N, C, H, W]");
    if (rois->rank != 2 || rois->dims[1] != 4) return bad_shape(ctx, 1, "rois must be [R, 4]");
    if (bi->rank != 1 || bi->dims[0] != rois->dims[0])
        return bad_shape(ctx, 2, "batch_indices must be [R]");
    int64_t dims[4] = {rois->dims[0], x->dims[1], cinfer__attr_int(ctx->node, "output_height", 1),
                       cinfer__attr_int(ctx->node, "output_width", 1)};
    cinfer__set_out(ctx->out[0], CINFER_DTYPE_FLOAT, 4, dims);
    return CINFER_OK;
}

/* ---- GridSample (4-D input; opset 20 renamed the modes linear / cubic) ---- */

static cinfer_status gridsample_check(cinfer__node *node, cinfer__err *err) {
    const char *mode = cinfer__attr_string(node, "mode", node->opset >= 20 ? "linear" : "bilinear");
    const char *pad = cinfer__attr_string(node, "padding_mode", "zeros");
    bool ok = node->opset >= 20 ? !strcmp(mode, "linear") || !strcmp(mode, "cubic")
                                : !strcmp(mode, "bilinear") || !strcmp(mode, "bicubic");
    if (!ok && strcmp(mode, "nearest"))
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "attribute mode='%s' is not supported",
                              mode);
    if (strcmp(pad, "zeros") && strcmp(pad, "border") && strcmp(pad, "reflection"))
        return cinfer__errorf(err, CINFER_UNSUPPORTED,
                              "attribute padding_mode='%s' is not supported", pad);
    return CINFER_OK;
}

static cinfer_status gridsample_infer(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0], *g = ctx->in[1];
    CINFER_TRY(need_float32(ctx, 0));
    CINFER_TRY(need_float32(ctx, 1));
    if (x->rank != 4)
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED,
                              "input 0 has rank %d; only 4-D input [N, C, H, W] is supported",
                              x->rank);
    if (g->rank != 4 || g->dims[0] != x->dims[0] || g->dims[3] != 2)
        return bad_shape(ctx, 1, "grid must be [N, H_out, W_out, 2]");
    int64_t dims[4] = {x->dims[0], x->dims[1], g->dims[1], g->dims[2]};
    cinfer__set_out(ctx->out[0], CINFER_DTYPE_FLOAT, 4, dims);
    return CINFER_OK;
}

const cinfer__op_def cinfer__ops_misc[] = {
    {"TopK", "", 1, 9, 1, 1, 2, 2, 0, topk_check, topk_infer},
    {"TopK", "", 10, 21, 2, 2, 2, 2, 1u << 1, topk_check, topk_infer},
    {"CumSum", "", 11, 21, 2, 2, 1, 1, 0, NULL, cumsum_infer},
    {"Hardmax", "", 1, 21, 1, 1, 1, 1, 0, NULL, hardmax_infer},
    {"LRN", "", 1, 21, 1, 1, 1, 1, 0, lrn_check, lrn_infer},
    {"Einsum", "", 12, 21, 1, CINFER__EINSUM_MAX_IN, 1, 1, 0, cinfer__einsum_check,
     cinfer__einsum_infer},
    {"QuantizeLinear", "", 10, 21, 2, 3, 1, 1, 0, quant_check, quantize_infer},
    {"DequantizeLinear", "", 10, 21, 2, 3, 1, 1, 0, quant_check, dequantize_infer},
    {"DynamicQuantizeLinear", "", 11, 21, 1, 1, 3, 3, 0, NULL, dynquant_infer},
    {"Mish", "", 18, 21, 1, 1, 1, 1, 0, NULL, float_same},
    {"ReverseSequence", "", 10, 21, 2, 2, 1, 1, 0, revseq_check, revseq_infer},
    {"Compress", "", 9, 21, 2, 2, 1, 1, 1u << 1, NULL, compress_infer},
    {"Unique", "", 11, 21, 1, 1, 1, 4, 1u << 0, NULL, cinfer__unique_infer},
    {"NonMaxSuppression", "", 10, 21, 2, 5, 1, 1, 0x1f, NULL, cinfer__nms_infer},
    {"RoiAlign", "", 10, 21, 3, 3, 1, 1, 0, roialign_check, roialign_infer},
    {"GridSample", "", 16, 21, 2, 2, 1, 1, 0, gridsample_check, gridsample_infer},
    {"Det", "", 11, 21, 1, 1, 1, 1, 0, NULL, det_infer},
    {0},
};
