/* Op definitions of Resize (opsets 10-21) and Upsample (7-10): modes nearest and linear; the
 * coordinate mapping and output geometry are computed here for every backend. */
#include <math.h>
#include <string.h>

#include "ops/geometry.h"

static bool is_upsample(const cinfer__node *node) { return !strcmp(node->op_type, "Upsample"); }

static cinfer_status unsupported_str(cinfer__err *err, const char *attr, const char *v) {
    return cinfer__errorf(err, CINFER_UNSUPPORTED, "attribute %s='%s' is not supported", attr, v);
}

static cinfer_status unsupported_int(cinfer__err *err, const char *attr, int64_t v) {
    return cinfer__errorf(err, CINFER_UNSUPPORTED, "attribute %s=%lld is not supported", attr,
                          (long long)v);
}

static cinfer_status check_coord_mode(const cinfer__node *node, cinfer__err *err) {
    const char *c = cinfer__attr_string(node, "coordinate_transformation_mode", "half_pixel");
    if (!strcmp(c, "half_pixel") || !strcmp(c, "pytorch_half_pixel") ||
        !strcmp(c, "align_corners") || !strcmp(c, "asymmetric") ||
        !strcmp(c, "tf_half_pixel_for_nn") ||
        (node->opset >= 19 && !strcmp(c, "half_pixel_symmetric")))
        return CINFER_OK;
    return unsupported_str(err, "coordinate_transformation_mode", c);
}

static cinfer_status check_resize(cinfer__node *node, cinfer__err *err) {
    const char *mode = cinfer__attr_string(node, "mode", "nearest");
    bool linear = !strcmp(mode, "linear") || (is_upsample(node) && !strcmp(mode, "bilinear"));
    if (strcmp(mode, "nearest") && !linear) return unsupported_str(err, "mode", mode);
    if (is_upsample(node) && node->opset < 9) {
        size_t n;
        if (!cinfer__attr_floats(node, "scales", &n))
            return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute scales is missing");
    }
    if (is_upsample(node) || node->opset < 11) return CINFER_OK;
    CINFER_TRY(check_coord_mode(node, err));
    const char *nm = cinfer__attr_string(node, "nearest_mode", "round_prefer_floor");
    if (strcmp(nm, "round_prefer_floor") && strcmp(nm, "round_prefer_ceil") &&
        strcmp(nm, "floor") && strcmp(nm, "ceil"))
        return unsupported_str(err, "nearest_mode", nm);
    int64_t v;
    if ((v = cinfer__attr_int(node, "exclude_outside", 0)) != 0)
        return unsupported_int(err, "exclude_outside", v);
    if ((v = cinfer__attr_int(node, "antialias", 0)) != 0)
        return unsupported_int(err, "antialias", v);
    const char *k = cinfer__attr_string(node, "keep_aspect_ratio_policy", "stretch");
    if (strcmp(k, "stretch")) return unsupported_str(err, "keep_aspect_ratio_policy", k);
    return CINFER_OK;
}

/* Resize-18+ may list the axes that scales/sizes refer to; the others keep scale 1. */
static cinfer_status axes_of(const cinfer__node *node, int rank, int64_t n, int *axes,
                             cinfer__err *err) {
    size_t count;
    const int64_t *a = node->opset >= 18 ? cinfer__attr_ints(node, "axes", &count) : NULL;
    if (!a) count = (size_t)rank;
    if ((int64_t)count != n)
        return cinfer__errorf(err, CINFER_INVALID_INPUT,
                              "scales/sizes has %lld values; expected %zu", (long long)n, count);
    for (size_t i = 0; i < count; i++) {
        axes[i] = (int)i;
        if (a && !cinfer__norm_axis(a[i], rank, &axes[i]))
            return cinfer__errorf(err, CINFER_INVALID_MODEL,
                                  "attribute axes value %lld is out of range for rank %d",
                                  (long long)a[i], rank);
    }
    return CINFER_OK;
}

/* The scales of Upsample-7/8 (attribute) or of the scales input, as floats in f. */
static cinfer_status read_scales(const cinfer__node *node, const cinfer_tensor *t, double *f,
                                 int64_t *n, cinfer__err *err) {
    if (is_upsample(node) && node->opset < 9) {
        size_t count;
        const float *s = cinfer__attr_floats(node, "scales", &count);
        *n = (int64_t)count;
        for (size_t i = 0; i < count && i < CINFER_MAX_RANK; i++) f[i] = s[i];
        return CINFER_OK;
    }
    if (!t || !t->data || !cinfer__dtype_is_float(t->dtype) || t->rank != 1)
        return cinfer__errorf(err, CINFER_INVALID_INPUT,
                              "scales must be a known 1-D float tensor");
    *n = t->dims[0];
    for (int64_t i = 0; i < *n && i < CINFER_MAX_RANK; i++) f[i] = cinfer__get_f64(t, i);
    return CINFER_OK;
}

/* Picks the scales or the sizes input (exactly one must be non-empty for opset 11+). */
static cinfer_status pick_inputs(const cinfer__node *node, const cinfer_tensor *const *in,
                                 int n_in, const cinfer_tensor **scales,
                                 const cinfer_tensor **sizes, cinfer__err *err) {
    *scales = *sizes = NULL;
    if (is_upsample(node) || node->opset < 11) {
        *scales = n_in > 1 ? in[1] : NULL;
        return CINFER_OK;
    }
    if (n_in > 2 && in[2] && cinfer_tensor_numel(in[2]) > 0) *scales = in[2];
    if (n_in > 3 && in[3] && cinfer_tensor_numel(in[3]) > 0) *sizes = in[3];
    if (!*scales == !*sizes)
        return cinfer__errorf(err, CINFER_INVALID_INPUT,
                              "exactly one of scales (input 2) and sizes (input 3) must be given");
    const cinfer_tensor *z = *sizes;
    if (z && (!z->data || z->rank != 1 || !cinfer__dtype_is_int(z->dtype)))
        return cinfer__errorf(err, CINFER_INVALID_INPUT, "sizes must be a known 1-D int64 tensor");
    return CINFER_OK;
}

cinfer_status cinfer__resize_geometry(const cinfer__node *node, const cinfer_tensor *const *in,
                                      int n_in, int64_t *out_dims, double *scales,
                                      cinfer__err *err) {
    const cinfer_tensor *x = in[0], *st, *sz;
    int axes[CINFER_MAX_RANK];
    double f[CINFER_MAX_RANK];
    int64_t n = 0;
    CINFER_TRY(pick_inputs(node, in, n_in, &st, &sz, err));
    if (sz) n = sz->dims[0];
    else CINFER_TRY(read_scales(node, st, f, &n, err));
    CINFER_TRY(axes_of(node, x->rank, n, axes, err));
    for (int i = 0; i < x->rank; i++) {
        out_dims[i] = x->dims[i];
        scales[i] = 1.0;
    }
    for (int64_t i = 0; i < n; i++) {
        int a = axes[i];
        if (sz) {
            out_dims[a] = cinfer__get_i64(sz, i);
            scales[a] = x->dims[a] ? (double)out_dims[a] / (double)x->dims[a] : 1.0;
        } else {
            scales[a] = f[i];
            out_dims[a] = (int64_t)floor(f[i] * (double)x->dims[a]);
        }
        if (out_dims[a] < 0 || !(scales[a] > 0) || (x->dims[a] == 0 && out_dims[a] > 0))
            return cinfer__errorf(err, CINFER_INVALID_INPUT,
                                  "axis %d: scale %g / size %lld is not positive", a, scales[a],
                                  (long long)out_dims[a]);
    }
    return CINFER_OK;
}

typedef enum coord_mode {
    COORD_HALF_PIXEL, COORD_PYTORCH_HALF_PIXEL, COORD_ALIGN_CORNERS, COORD_ASYMMETRIC,
    COORD_TF_HALF_PIXEL_FOR_NN, COORD_HALF_PIXEL_SYMMETRIC
} coord_mode;

static coord_mode coord_mode_of(const cinfer__node *node) {
    static const char *const names[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                        "asymmetric", "tf_half_pixel_for_nn",
                                        "half_pixel_symmetric"};
    if (is_upsample(node) || node->opset < 11) return COORD_ASYMMETRIC;
    const char *c = cinfer__attr_string(node, "coordinate_transformation_mode", "half_pixel");
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (!strcmp(c, names[i])) return (coord_mode)i;
    return COORD_HALF_PIXEL;
}

void cinfer__resize_coords(const cinfer__node *node, double scale, int64_t in_len,
                           int64_t out_len, double *x_orig) {
    coord_mode mode = coord_mode_of(node);
    /* The unrounded output width: ONNX's reference (and test data) use it for align_corners,
     * where a fractional scale would otherwise stretch the last sample to the edge. */
    double out_width = scale * (double)in_len;
    /* half_pixel_symmetric keeps the resized image centred where the output size was rounded. */
    double adj = (double)out_len / out_width;
    double sym_offset = (double)in_len / 2.0 * (1.0 - adj);
    for (int64_t i = 0; i < out_len; i++) {
        double x = (double)i, v;
        switch (mode) {
        case COORD_ASYMMETRIC: v = x / scale; break;
        case COORD_ALIGN_CORNERS:
            v = out_len == 1 ? 0.0 : x * (double)(in_len - 1) / (out_width - 1.0);
            break;
        case COORD_PYTORCH_HALF_PIXEL: v = out_len > 1 ? (x + 0.5) / scale - 0.5 : 0.0; break;
        case COORD_TF_HALF_PIXEL_FOR_NN: v = (x + 0.5) / scale; break;
        case COORD_HALF_PIXEL_SYMMETRIC: v = sym_offset + (x + 0.5) / scale - 0.5; break;
        default: v = (x + 0.5) / scale - 0.5; break;
        }
        x_orig[i] = v;
    }
}

static cinfer_status infer_resize(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    int64_t dims[CINFER_MAX_RANK];
    double scales[CINFER_MAX_RANK];
    if (cinfer_dtype_size(x->dtype) == 0)
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "input 0 has unsupported dtype %s",
                              cinfer_dtype_name(x->dtype));
    CINFER_TRY(cinfer__resize_geometry(ctx->node, ctx->in, ctx->n_in, dims, scales, ctx->err));
    cinfer__set_out(ctx->out[0], x->dtype, x->rank, dims);
    return CINFER_OK;
}

#define BIT(i) (1u << (i))

const cinfer__op_def cinfer__ops_resize[] = {
    {"Resize", "", 10, 10, 2, 2, 1, 1, BIT(1), check_resize, infer_resize},
    {"Resize", "", 11, 12, 3, 4, 1, 1, BIT(2) | BIT(3), check_resize, infer_resize},
    {"Resize", "", 13, 21, 1, 4, 1, 1, BIT(2) | BIT(3), check_resize, infer_resize},
    {"Upsample", "", 7, 8, 1, 1, 1, 1, 0, check_resize, infer_resize},
    {"Upsample", "", 9, 10, 2, 2, 1, 1, BIT(1), check_resize, infer_resize},
    {0},
};
