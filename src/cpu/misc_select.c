/* CPU kernels of Unique and NonMaxSuppression. The selection itself (src/ops/misc_select.c)
 * is shared with shape inference, which already sized the outputs from the same values. */
#include <string.h>

#include "cpu/misc.h"
#include "ops/misc.h"

static int unique_axis(const cinfer__cpu_ctx *ctx) {
    int axis = -1;
    if (cinfer__node_attr(ctx->node, "axis"))
        cinfer__norm_axis(cinfer__attr_int(ctx->node, "axis", 0), ctx->in[0]->rank, &axis);
    return axis;
}

size_t cinfer__cpu_unique_scratch(const cinfer__cpu_ctx *ctx) {
    int64_t n, outer, inner;
    cinfer__unique_geometry(ctx->in[0], unique_axis(ctx), &n, &outer, &inner);
    return (size_t)(4 * n + 1) * sizeof(int64_t);
}

static cinfer_status size_changed(const cinfer__cpu_ctx *ctx) {
    return cinfer__errorf(ctx->err, CINFER_INTERNAL,
                          "the selection differs from the one shape inference made");
}

cinfer_status cinfer__cpu_unique_run(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    int axis = unique_axis(ctx);
    int64_t n, outer, inner, u;
    cinfer__unique_geometry(x, axis, &n, &outer, &inner);
    int64_t *work = ctx->scratch, *first = work + 3 * n;
    cinfer_tensor *out[4] = {0};
    for (int i = 0; i < ctx->n_out && i < 4; i++) out[i] = ctx->out[i];
    bool sorted = cinfer__attr_int(ctx->node, "sorted", 1) != 0;
    CINFER_TRY(cinfer__unique(x, axis, sorted, work, &u, first, out[3] ? out[3]->data : NULL,
                              out[2] ? out[2]->data : NULL, ctx->err));
    int64_t want = out[0]->dims[axis < 0 ? 0 : axis];
    if (u != want) return size_changed(ctx);
    size_t row = cinfer_dtype_size(x->dtype) * (size_t)inner;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t p = 0; p < u; p++)
            memcpy((char *)out[0]->data + (o * u + p) * row,
                   (const char *)x->data + (o * n + first[p]) * row, row);
    if (out[1]) memcpy(out[1]->data, first, (size_t)u * sizeof(int64_t));
    return CINFER_OK;
}

size_t cinfer__cpu_nms_scratch(const cinfer__cpu_ctx *ctx) {
    return (size_t)(2 * ctx->in[0]->dims[1] + 1) * sizeof(int64_t);
}

cinfer_status cinfer__cpu_nms_run(cinfer__cpu_ctx *ctx) {
    int64_t n = ctx->out[0]->dims[0], cap = n;
    CINFER_TRY(cinfer__nms(ctx->node, ctx->in, ctx->n_in, ctx->scratch, ctx->out[0]->data, &n,
                           ctx->err));
    return n == cap ? CINFER_OK : size_changed(ctx);
}
