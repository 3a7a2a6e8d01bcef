/* Op definitions of Pad (opset 1: `paddings` attribute; 2-10: `pads`; 11+: pads and
 * constant_value inputs; 18+: axes input; 19+: wrap mode). Negative pads crop. */
#include <string.h>

#include "ops/geometry.h"

static bool mode_known(const char *mode, int opset) {
    return !strcmp(mode, "constant") || !strcmp(mode, "reflect") || !strcmp(mode, "edge") ||
           (opset >= 19 && !strcmp(mode, "wrap"));
}

static cinfer_status check_pad(cinfer__node *node, cinfer__err *err) {
    const char *mode = cinfer__attr_string(node, "mode", "constant");
    if (!mode_known(mode, node->opset))
        return cinfer__errorf(err, CINFER_UNSUPPORTED,
                              "attribute mode='%s' is not supported at opset %d", mode,
                              node->opset);
    if (node->opset < 11) {
        const char *name = node->opset == 1 ? "paddings" : "pads";
        size_t n;
        if (!cinfer__attr_ints(node, name, &n))
            return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute %s is missing", name);
    }
    return CINFER_OK;
}

/* Scatters the flat pads list (begin values of each listed axis, then end values) over the
 * axes; axes == NULL means all axes in order. */
static cinfer_status spread_pads(const int64_t *pads, size_t n_pads, const cinfer_tensor *axes,
                                 int rank, int64_t *begin, int64_t *end, cinfer__err *err) {
    int64_t n_axes = axes ? cinfer_tensor_numel(axes) : rank;
    if ((int64_t)n_pads != 2 * n_axes)
        return cinfer__errorf(err, CINFER_INVALID_INPUT,
                              "pads has %zu values; expected %lld (2 per padded axis)", n_pads,
                              (long long)(2 * n_axes));
    for (int i = 0; i < rank; i++) begin[i] = end[i] = 0;
    for (int64_t i = 0; i < n_axes; i++) {
        int a = (int)i;
        if (axes && !cinfer__norm_axis(cinfer__get_i64(axes, i), rank, &a))
            return cinfer__errorf(err, CINFER_INVALID_INPUT,
                                  "input 3 (axes) value %lld is out of range for rank %d",
                                  (long long)cinfer__get_i64(axes, i), rank);
        begin[a] = pads[i];
        end[a] = pads[i + n_axes];
    }
    return CINFER_OK;
}

cinfer_status cinfer__pad_amounts(const cinfer__node *node, const cinfer_tensor *const *in,
                                  int n_in, int rank, int64_t *begin, int64_t *end,
                                  cinfer__err *err) {
    size_t n;
    if (node->opset < 11) {
        const int64_t *p = cinfer__attr_ints(node, node->opset == 1 ? "paddings" : "pads", &n);
        return spread_pads(p, n, NULL, rank, begin, end, err);
    }
    const cinfer_tensor *pads = in[1], *axes = n_in > 3 ? in[3] : NULL;
    if (!pads->data || (axes && !axes->data))
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "pads and axes inputs must be known");
    if (pads->rank != 1 || !cinfer__dtype_is_int(pads->dtype))
        return cinfer__errorf(err, CINFER_INVALID_INPUT, "input 1 (pads) must be a 1-D int64 "
                              "tensor");
    int64_t vals[4 * CINFER_MAX_RANK];
    n = (size_t)pads->dims[0];
    if (n > 4 * CINFER_MAX_RANK)
        return cinfer__errorf(err, CINFER_INVALID_INPUT, "input 1 (pads) has %zu values", n);
    for (size_t i = 0; i < n; i++) vals[i] = cinfer__get_i64(pads, (int64_t)i);
    return spread_pads(vals, n, axes, rank, begin, end, err);
}

static cinfer_status infer_pad(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    const char *mode = cinfer__attr_string(ctx->node, "mode", "constant");
    int64_t begin[CINFER_MAX_RANK], end[CINFER_MAX_RANK], dims[CINFER_MAX_RANK];
    if (cinfer_dtype_size(x->dtype) == 0)
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "input 0 has unsupported dtype %s",
                              cinfer_dtype_name(x->dtype));
    const cinfer_tensor *cv = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (ctx->node->opset >= 11 && cv && (cv->dtype != x->dtype || cinfer_tensor_numel(cv) != 1))
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "input 2 (constant_value) must be one %s element",
                              cinfer_dtype_name(x->dtype));
    CINFER_TRY(cinfer__pad_amounts(ctx->node, ctx->in, ctx->n_in, x->rank, begin, end, ctx->err));
    for (int i = 0; i < x->rank; i++) {
        dims[i] = x->dims[i] + begin[i] + end[i];
        /* What is left of the input after negative pads crop it. */
        int64_t kept = x->dims[i] + (begin[i] < 0 ? begin[i] : 0) + (end[i] < 0 ? end[i] : 0);
        bool pads_axis = begin[i] > 0 || end[i] > 0;
        if (dims[i] < 0 || kept < 0 || (pads_axis && kept == 0 && strcmp(mode, "constant")))
            return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                                  "pads %lld, %lld on axis %d of size %lld are invalid in mode "
                                  "'%s'", (long long)begin[i], (long long)end[i], i,
                                  (long long)x->dims[i], mode);
    }
    cinfer__set_out(ctx->out[0], x->dtype, x->rank, dims);
    return CINFER_OK;
}

const cinfer__op_def cinfer__ops_pad[] = {
    {"Pad", "", 1, 10, 1, 1, 1, 1, 0, check_pad, infer_pad},
    {"Pad", "", 11, 17, 2, 3, 1, 1, 1u << 1, check_pad, infer_pad},
    {"Pad", "", 18, 21, 2, 4, 1, 1, (1u << 1) | (1u << 3), check_pad, infer_pad},
    {0},
};
