/* Op definitions of the conv family: Conv, ConvTranspose (opsets 1..21) and ConvInteger, their attribute
 * parsing and the output geometry shared with the kernels (ops/conv.h). */
#include "ops/conv.h"

#include <string.h>

#include "core/alloc.h"
#include "ops/op.h"

/* Copies an INTS attribute into dst (at most cap entries); *count = 0 when absent. */
static cinfer_status read_ints(const cinfer__node *n, const char *name, int64_t *dst, int cap,
                               int *count, int64_t min_value, cinfer__err *err) {
    size_t cnt = 0;
    const int64_t *v = cinfer__attr_ints(n, name, &cnt);
    if (cnt > (size_t)cap)
        return cinfer__errorf(err, CINFER_UNSUPPORTED,
                              "attribute %s has %zu values; at most %d (1-D to 3-D "
                              "convolutions) are supported", name, cnt, cap);
    for (size_t i = 0; i < cnt; i++) {
        if (v[i] < min_value)
            return cinfer__errorf(err, CINFER_INVALID_MODEL,
                                  "attribute %s[%zu]=%lld must be >= %lld", name, i,
                                  (long long)v[i], (long long)min_value);
        dst[i] = v[i];
    }
    *count = (int)cnt;
    return CINFER_OK;
}

static cinfer_status parse_auto_pad(const cinfer__node *n, cinfer__auto_pad *out,
                                    cinfer__err *err) {
    const char *s = cinfer__attr_string(n, "auto_pad", "NOTSET");
    if (!strcmp(s, "NOTSET") || !*s) *out = CINFER_PAD_NOTSET;
    else if (!strcmp(s, "SAME_UPPER")) *out = CINFER_PAD_SAME_UPPER;
    else if (!strcmp(s, "SAME_LOWER")) *out = CINFER_PAD_SAME_LOWER;
    else if (!strcmp(s, "VALID")) *out = CINFER_PAD_VALID;
    else
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "attribute auto_pad='%s' is not one of NOTSET, SAME_UPPER, "
                              "SAME_LOWER, VALID", s);
    return CINFER_OK;
}

static cinfer_status parse_params(const cinfer__node *n, cinfer__conv_params *p,
                                  cinfer__err *err) {
    const int s = CINFER_CONV_MAX_SPATIAL;
    CINFER_TRY(parse_auto_pad(n, &p->auto_pad, err));
    p->group = cinfer__attr_int(n, "group", 1);
    if (p->group < 1)
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute group=%lld must be >= 1",
                              (long long)p->group);
    CINFER_TRY(read_ints(n, "kernel_shape", p->kernel, s, &p->n_kernel, 1, err));
    CINFER_TRY(read_ints(n, "strides", p->strides, s, &p->n_strides, 1, err));
    CINFER_TRY(read_ints(n, "pads", p->pads, 2 * s, &p->n_pads, 0, err));
    CINFER_TRY(read_ints(n, "dilations", p->dil, s, &p->n_dil, 1, err));
    if (p->transpose) {
        CINFER_TRY(read_ints(n, "output_padding", p->out_pad, s, &p->n_out_pad, 0, err));
        CINFER_TRY(read_ints(n, "output_shape", p->out_shape, s + 2, &p->n_out_shape, 1, err));
    }
    return CINFER_OK;
}

static cinfer_status check_common(cinfer__node *node, bool transpose, cinfer__err *err) {
    cinfer__conv_params *p = cinfer__calloc(1, sizeof *p);
    if (!p) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory parsing attributes");
    p->transpose = transpose;
    cinfer_status st = parse_params(node, p, err);
    if (st != CINFER_OK) {
        cinfer__free(p);
        return st;
    }
    cinfer__free(node->params);
    node->params = p;
    return CINFER_OK;
}

static cinfer_status conv_check(cinfer__node *node, cinfer__err *err) {
    return check_common(node, false, err);
}

static cinfer_status convt_check(cinfer__node *node, cinfer__err *err) {
    return check_common(node, true, err);
}

/* Attribute lists must be absent or have one entry per spatial dim (pads: two). */
static cinfer_status check_counts(const cinfer__conv_params *p, int nd, cinfer__err *err) {
    struct { const char *name; int count, want; } c[] = {
        {"kernel_shape", p->n_kernel, nd}, {"strides", p->n_strides, nd},
        {"pads", p->n_pads, 2 * nd},       {"dilations", p->n_dil, nd},
        {"output_padding", p->n_out_pad, nd},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (c[i].count && c[i].count != c[i].want)
            return cinfer__errorf(err, CINFER_INVALID_MODEL,
                                  "attribute %s has %d values, expected %d for a %d-D "
                                  "convolution", c[i].name, c[i].count, c[i].want, nd);
    if (p->n_out_shape && p->n_out_shape != nd && p->n_out_shape != nd + 2)
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "attribute output_shape has %d values, expected %d",
                              p->n_out_shape, nd);
    return CINFER_OK;
}

/* Fills the per-dim attributes (front-padded to 3 dims) and checks X/W ranks and channels. */
static cinfer_status geom_base(const cinfer__conv_params *p, const cinfer_tensor *x,
                               const cinfer_tensor *w, cinfer__conv_geom *g, cinfer__err *err) {
    char xs[96], ws[96];
    cinfer__shape_str(x->rank, x->dims, xs, sizeof xs);
    cinfer__shape_str(w->rank, w->dims, ws, sizeof ws);
    if (x->rank < 3 || x->rank > 2 + CINFER_CONV_MAX_SPATIAL)
        return cinfer__errorf(err, x->rank < 3 ? CINFER_INVALID_INPUT : CINFER_UNSUPPORTED,
                              "input 0 (X) has shape %s; 1-D to 3-D convolutions (rank 3 to "
                              "5) are supported", xs);
    if (w->rank != x->rank)
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "input 1 (W) has shape %s, its rank must equal X's %s", ws, xs);
    int nd = x->rank - 2;
    CINFER_TRY(check_counts(p, nd, err));
    memset(g, 0, sizeof *g);
    g->nd = nd;
    g->n = x->dims[0];
    g->group = p->group;
    for (int i = 0; i < 3; i++) {
        int a = i - (3 - nd); /* attribute index, < 0 for the padding dims */
        bool real = a >= 0;
        g->in[i] = real ? x->dims[2 + a] : 1;
        g->out[i] = 1; /* real dims are set by the caller */
        g->k[i] = real ? w->dims[2 + a] : 1;
        g->stride[i] = real && p->n_strides ? p->strides[a] : 1;
        g->dil[i] = real && p->n_dil ? p->dil[a] : 1;
        g->pad_begin[i] = real && p->n_pads ? p->pads[a] : 0;
        g->pad_end[i] = real && p->n_pads ? p->pads[a + nd] : 0;
        if (real && p->n_kernel && p->kernel[a] != g->k[i])
            return cinfer__errorf(err, CINFER_INVALID_MODEL,
                                  "attribute kernel_shape[%d]=%lld does not match W's shape %s",
                                  a, (long long)p->kernel[a], ws);
        if (g->k[i] < 1)
            return cinfer__errorf(err, CINFER_INVALID_MODEL, "input 1 (W) has shape %s", ws);
    }
    int64_t wc = p->transpose ? w->dims[0] : w->dims[1] * p->group;
    g->c = x->dims[1];
    g->m = p->transpose ? w->dims[1] * p->group : w->dims[0];
    if (wc != g->c || (!p->transpose && g->m % p->group) || (p->transpose && wc % p->group))
        return cinfer__errorf(err, CINFER_INVALID_INPUT,
                              "input 0 (X) %s and input 1 (W) %s do not agree on channels "
                              "with group=%lld", xs, ws, (long long)p->group);
    return CINFER_OK;
}

static cinfer_status conv_out_dims(const cinfer__conv_params *p, cinfer__conv_geom *g,
                                   cinfer__err *err) {
    for (int i = 3 - g->nd; i < 3; i++) {
        int64_t ext = (g->k[i] - 1) * g->dil[i] + 1;
        if (p->auto_pad == CINFER_PAD_SAME_UPPER || p->auto_pad == CINFER_PAD_SAME_LOWER) {
            g->out[i] = (g->in[i] + g->stride[i] - 1) / g->stride[i];
            int64_t total = (g->out[i] - 1) * g->stride[i] + ext - g->in[i];
            if (total < 0) total = 0;
            g->pad_begin[i] = p->auto_pad == CINFER_PAD_SAME_UPPER ? total / 2 : total - total / 2;
            g->pad_end[i] = total - g->pad_begin[i];
        } else {
            if (p->auto_pad == CINFER_PAD_VALID) g->pad_begin[i] = g->pad_end[i] = 0;
            int64_t span = g->in[i] + g->pad_begin[i] + g->pad_end[i] - ext;
            g->out[i] = span < 0 ? 0 : span / g->stride[i] + 1;
        }
        if (g->out[i] < 1)
            return cinfer__errorf(err, CINFER_INVALID_INPUT,
                                  "spatial dim %d of input 0 (X) is %lld, smaller than the "
                                  "dilated kernel (%lld) plus padding", i - (3 - g->nd),
                                  (long long)g->in[i], (long long)ext);
    }
    return CINFER_OK;
}

/* ConvTranspose: full = stride*(in-1) + output_padding + dilated kernel; pads crop it. */
static cinfer_status convt_out_dims(const cinfer__conv_params *p, cinfer__conv_geom *g,
                                    cinfer__err *err) {
    int off = p->n_out_shape == g->nd + 2 ? 2 : 0;
    for (int i = 3 - g->nd; i < 3; i++) {
        int a = i - (3 - g->nd);
        int64_t op = p->n_out_pad ? p->out_pad[a] : 0;
        int64_t full = g->stride[i] * (g->in[i] - 1) + op + (g->k[i] - 1) * g->dil[i] + 1;
        bool same = p->auto_pad == CINFER_PAD_SAME_UPPER || p->auto_pad == CINFER_PAD_SAME_LOWER;
        if (p->n_out_shape || same) {
            g->out[i] = p->n_out_shape ? p->out_shape[off + a] : g->in[i] * g->stride[i];
            /* A negative total pads the end with zeros (as ONNX's test data expects). */
            int64_t total = full - g->out[i];
            if (total < 0) total = 0;
            g->pad_begin[i] = p->auto_pad == CINFER_PAD_SAME_UPPER ? total / 2 : total - total / 2;
            g->pad_end[i] = total - g->pad_begin[i];
        } else {
            if (p->auto_pad == CINFER_PAD_VALID) g->pad_begin[i] = g->pad_end[i] = 0;
            g->out[i] = full - g->pad_begin[i] - g->pad_end[i];
        }
        if (g->out[i] < 1)
            return cinfer__errorf(err, CINFER_INVALID_INPUT,
                                  "output spatial dim %d would be %lld (pads larger than the "
                                  "output)", a, (long long)g->out[i]);
    }
    return CINFER_OK;
}

cinfer_status cinfer__conv_geometry(const cinfer__conv_params *p, const cinfer_tensor *x,
                                    const cinfer_tensor *w, cinfer__conv_geom *g,
                                    cinfer__err *err) {
    CINFER_TRY(geom_base(p, x, w, g, err));
    return p->transpose ? convt_out_dims(p, g, err) : conv_out_dims(p, g, err);
}

static cinfer_status conv_infer(cinfer__infer_ctx *ctx) {
    const cinfer__conv_params *p = ctx->node->params;
    const cinfer_tensor *x = ctx->in[0], *w = ctx->in[1], *b = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (!p)
        return cinfer__errorf(ctx->err, CINFER_INTERNAL, "attributes were not checked");
    if (x->dtype != w->dtype || (b && b->dtype != x->dtype))
        return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL,
                              "inputs X (%s), W (%s) and B must have the same dtype",
                              cinfer_dtype_name(x->dtype), cinfer_dtype_name(w->dtype));
    cinfer__conv_geom g;
    CINFER_TRY(cinfer__conv_geometry(p, x, w, &g, ctx->err));
    if (b && (b->rank != 1 || b->dims[0] != g.m))
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "input 2 (B) must have shape [%lld]", (long long)g.m);
    int64_t dims[5] = {g.n, g.m};
    for (int a = 0; a < g.nd; a++) dims[2 + a] = g.out[3 - g.nd + a];
    cinfer__set_out(ctx->out[0], x->dtype, 2 + g.nd, dims);
    return CINFER_OK;
}

/* ConvInteger: (X - x_zero_point) conv (W - w_zero_point) in int32; x_zero_point is a
 * scalar, w_zero_point a scalar or one per output channel. */
static cinfer_status conv_int_infer(cinfer__infer_ctx *ctx) {
    const cinfer__conv_params *p = ctx->node->params;
    const cinfer_tensor *x = ctx->in[0], *w = ctx->in[1];
    if (!p)
        return cinfer__errorf(ctx->err, CINFER_INTERNAL, "attributes were not checked");
    for (int i = 0; i < ctx->n_in; i++) {
        const cinfer_tensor *t = ctx->in[i];
        if (t && t->dtype != CINFER_DTYPE_UINT8 && t->dtype != CINFER_DTYPE_INT8)
            return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED,
                                  "input %d has dtype %s; uint8 or int8 expected", i,
                                  cinfer_dtype_name(t->dtype));
    }
    cinfer__conv_geom g;
    CINFER_TRY(cinfer__conv_geometry(p, x, w, &g, ctx->err));
    const cinfer_tensor *zx = ctx->n_in > 2 ? ctx->in[2] : NULL;
    const cinfer_tensor *zw = ctx->n_in > 3 ? ctx->in[3] : NULL;
    int64_t nzw = zw ? cinfer_tensor_numel(zw) : 1;
    if ((zx && cinfer_tensor_numel(zx) != 1) || (nzw != 1 && nzw != g.m))
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED,
                              "x_zero_point must be a scalar and w_zero_point a scalar or one "
                              "value per output channel (%lld)", (long long)g.m);
    int64_t dims[5] = {g.n, g.m};
    for (int a = 0; a < g.nd; a++) dims[2 + a] = g.out[3 - g.nd + a];
    cinfer__set_out(ctx->out[0], CINFER_DTYPE_INT32, 2 + g.nd, dims);
    return CINFER_OK;
}

/* FusedConv (internal, written by the fusion passes): Conv(X, W, B) + Z, then the clamp of
 * attribute cinfer.fused_relu. Z broadcasts onto the Conv's output without changing it. */
static cinfer_status fused_conv_infer(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *z = ctx->n_in > 3 ? ctx->in[3] : NULL;
    cinfer__infer_ctx c = *ctx;
    c.n_in = ctx->n_in > 3 ? 3 : ctx->n_in;
    CINFER_TRY(conv_infer(&c));
    const cinfer_tensor *y = ctx->out[0];
    bool ok = !z || (z->dtype == y->dtype && z->rank <= y->rank);
    for (int k = 0; ok && z && k < z->rank; k++) {
        int64_t d = z->dims[z->rank - 1 - k];
        ok = d == 1 || d == y->dims[y->rank - 1 - k];
    }
    if (ok) return CINFER_OK;
    char zs[96], ys[96];
    return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                          "addend %s does not broadcast onto the convolution's output %s",
                          cinfer__shape_str(z->rank, z->dims, zs, sizeof zs),
                          cinfer__shape_str(y->rank, y->dims, ys, sizeof ys));
}

const cinfer__op_def cinfer__ops_conv[] = {
    {"Conv", "", 1, 21, 2, 3, 1, 1, 0, conv_check, conv_infer},
    {"ConvTranspose", "", 1, 21, 2, 3, 1, 1, 0, convt_check, conv_infer},
    {"ConvInteger", "", 10, 21, 2, 4, 1, 1, 0, conv_check, conv_int_infer},
    {"FusedConv", "cinfer", 1, 1, 2, 4, 1, 1, 0, conv_check, fused_conv_infer},
    {0},
};
