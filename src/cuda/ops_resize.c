/* GPU Resize, Upsample and Range on kernels/resize.cu and range.cu: ops whose parameters come
 * from inputs the planner knows (scales, start, delta), read at plan time into a small struct. */
#include <stdlib.h>

#include "cuda/module_impl.h"
#include "kernels.h"

#define LAUNCHED(e, what) CINFER_CUDA_AFTER_LAUNCH(err, ctx->compute, (e), (what))

static cinfer_k_dims k_dims(const cinfer_tensor *t) {
    cinfer_k_dims d = {.rank = t->rank};
    for (int i = 0; i < t->rank; i++) d.size[i] = t->dims[i];
    return d;
}

/* ---- Resize (opsets 10-21), Upsample (7-10) ---- */

typedef struct resize_priv {
    cinfer_k_resize_params p;
    size_t es;
} resize_priv;

static bool is_upsample(const cinfer__node *node) { return !strcmp(node->op_type, "Upsample"); }

/* Upsample and Resize-10 have no coordinate or rounding attributes: asymmetric, and the CPU's
 * floor-or-ceil rule (src/cpu/resize.c). */
static bool is_legacy(const cinfer__node *node) { return is_upsample(node) || node->opset < 11; }

static cinfer_status resize_modes(const cinfer__node *node, cinfer_k_resize_params *p, char *why) {
    static const char *const coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                         "asymmetric", "tf_half_pixel_for_nn",
                                         "half_pixel_symmetric"};
    static const char *const roundings[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                            "ceil"};
    const char *mode = cuda_attr_str(node, "mode", "nearest");
    if (!strcmp(mode, "nearest")) p->mode = CINFER_K_RESIZE_NEAREST;
    else if (!strcmp(mode, "linear") || (is_upsample(node) && !strcmp(mode, "bilinear")))
        p->mode = CINFER_K_RESIZE_LINEAR;
    else return cuda_no(why, "Resize: mode '%s' runs on the CPU", mode);
    p->coord = CINFER_K_COORD_ASYMMETRIC;
    p->nearest = CINFER_K_NEAREST_SIMPLE;
    if (is_legacy(node)) return CINFER_OK;
    /* What the CPU rejects at load never gets here; these keep the GPU honest on its own. */
    if (cuda_attr_int(node, "exclude_outside", 0) || cuda_attr_int(node, "antialias", 0) ||
        strcmp(cuda_attr_str(node, "keep_aspect_ratio_policy", "stretch"), "stretch"))
        return cuda_no(why, "%s: exclude_outside, antialias or keep_aspect_ratio_policy",
                       "Resize");
    const char *c = cuda_attr_str(node, "coordinate_transformation_mode", "half_pixel");
    int k = 0, n_coords = node->opset >= 19 ? 6 : 5;
    while (k < n_coords && strcmp(c, coords[k])) k++;
    if (k == n_coords) return cuda_no(why, "Resize: coordinate_transformation_mode '%s'", c);
    p->coord = (cinfer_k_resize_coord)k;
    const char *r = cuda_attr_str(node, "nearest_mode", "round_prefer_floor");
    k = 0;
    while (k < 4 && strcmp(r, roundings[k])) k++;
    if (k == 4) return cuda_no(why, "Resize: nearest_mode '%s'", r);
    p->nearest = (cinfer_k_resize_nearest)k;
    return CINFER_OK;
}

/* The scales input or Upsample-7's attribute as doubles (the CPU widens the float values the
 * same way); count is how many there are. */
static cinfer_status read_scales(const cinfer_cuda_node *n, const cinfer_tensor *t, double *f,
                                 int64_t *count, char *why) {
    if (is_upsample(n->node) && n->node->opset < 9) {
        const cinfer__attr *a = cuda_attr(n->node, "scales");
        if (!a || a->type != CINFER_ATTR_FLOATS || a->count > CINFER_MAX_RANK)
            return cuda_no(why, "%s: the scales attribute", "Upsample");
        *count = (int64_t)a->count;
        for (size_t i = 0; i < a->count; i++) f[i] = a->floats[i];
        return CINFER_OK;
    }
    if (!t || !t->data || t->rank != 1 || t->dims[0] > CINFER_MAX_RANK ||
        (t->dtype != CINFER_DTYPE_FLOAT && t->dtype != CINFER_DTYPE_DOUBLE))
        return cuda_no(why, "%s: scales not a float or double constant known at plan time",
                       n->node->op_type);
    *count = t->dims[0];
    for (int64_t i = 0; i < *count; i++)
        f[i] = t->dtype == CINFER_DTYPE_FLOAT ? ((const float *)t->data)[i]
                                              : ((const double *)t->data)[i];
    return CINFER_OK;
}

/* Per-axis scales as src/ops/resize.c derives them: from sizes, output / input length (the
 * planned output dims are the sizes); from scales, the given values on the listed axes
 * (Resize-18's axes attribute) and 1 elsewhere. */
static cinfer_status resize_scales(const cinfer_cuda_node *n, double *scale, char *why) {
    const cinfer_tensor *x = n->in[0], *y = n->out[0], *st = NULL;
    bool sizes = false;
    if (is_legacy(n->node)) {
        st = cuda_has_in(n, 1) ? n->in[1] : NULL;
    } else {
        st = cuda_has_in(n, 2) && cuda_numel(n->in[2]) > 0 ? n->in[2] : NULL;
        sizes = !st && cuda_has_in(n, 3) && cuda_numel(n->in[3]) > 0;
    }
    for (int a = 0; a < x->rank; a++) {
        scale[a] = 1.0;
        if (sizes && x->dims[a]) scale[a] = (double)y->dims[a] / (double)x->dims[a];
    }
    if (sizes) return CINFER_OK;
    double f[CINFER_MAX_RANK];
    int64_t count = 0;
    if (read_scales(n, st, f, &count, why) != CINFER_OK) return CINFER_UNSUPPORTED;
    size_t n_axes = 0;
    const int64_t *axes = n->node->opset >= 18 && !is_upsample(n->node)
                              ? cuda_attr_ints(n->node, "axes", &n_axes) : NULL;
    if ((axes ? (int64_t)n_axes : x->rank) != count)
        return cuda_no(why, "%s: scales do not match the axes", n->node->op_type);
    for (int64_t i = 0; i < count; i++) {
        int a = axes ? cuda_axis(axes[i], x->rank) : (int)i;
        if (a < 0 || !(f[i] > 0)) return cuda_no(why, "%s: a scale or axis", n->node->op_type);
        scale[a] = f[i];
    }
    return CINFER_OK;
}

static cinfer_status resize_params(const cinfer_cuda_node *n, resize_priv *r, char *why) {
    const char *op = n->node->op_type;
    const cinfer_tensor *x = n->in[0], *y = n->out[0];
    if (resize_modes(n->node, &r->p, why) != CINFER_OK) return CINFER_UNSUPPORTED;
    if (x->rank < 1 || x->rank > CINFER_K_MAX_RANK || y->rank != x->rank || y->dtype != x->dtype)
        return cuda_no(why, "%s: a scalar, rank over 8, or output rank or dtype differs", op);
    r->es = cuda_dtype_size(x->dtype);
    if (r->p.mode == CINFER_K_RESIZE_LINEAR && x->dtype != CINFER_DTYPE_FLOAT)
        return cuda_no(why, "%s: linear of float32 only", op);
    if (r->es != 1 && r->es != 2 && r->es != 4 && r->es != 8)
        return cuda_no(why, "%s: element size", op);
    return resize_scales(n, r->p.scale, why);
}

static cinfer_status resize_supports(const cinfer_cuda_node *n, char *why) {
    resize_priv r;
    memset(&r, 0, sizeof r);
    return resize_params(n, &r, why);
}

static cinfer_status resize_prepare(cinfer_cuda_ctx *ctx, const cinfer_cuda_node *n,
                                    cuda_step *s, cinfer_cuda_err *err) {
    (void)ctx;
    char why[CINFER_CUDA_MSG_LEN];
    resize_priv *r = calloc(1, sizeof *r);
    if (!r) return cinfer_cuda_err_set(err, CINFER_OUT_OF_MEMORY, "out of memory");
    cinfer_status st = resize_params(n, r, why);
    if (st != CINFER_OK) {
        free(r);
        return cinfer_cuda_err_set(err, st, "%s", why);
    }
    s->priv = r;
    return CINFER_OK;
}

/* Channels last (s->nhwc: half mode, nearest, 4-D; module_impl.h CUDA_OP_EITHER) the kernel
 * resizes the NHWC-ordered views, each axis's scale moved with it; nearest moves 2-byte
 * elements whatever they hold, so 16-bit activations need nothing else. */
static cinfer_status resize_run(cinfer_cuda_ctx *ctx, cuda_step *s, const void *const *in,
                                void *const *out, cinfer_cuda_err *err) {
    const resize_priv *r = s->priv;
    cinfer_k_resize_params p = r->p;
    cinfer_tensor x = s->in[0], y = s->out[0];
    if (s->nhwc) {
        x = cuda_nhwc_view(&s->in[0]);
        y = cuda_nhwc_view(&s->out[0]);
        for (int a = 0; a < 4; a++) p.scale[cuda_nhwc_axis(a)] = r->p.scale[a];
    }
    cudaError_t e = cinfer_k_resize(out[0], in[0], k_dims(&x), k_dims(&y), r->es, p,
                                    ctx->compute);
    return LAUNCHED(e, s->node->op_type);
}

/* ---- Range ---- */

/* start and delta as the CPU reads them: double for floating dtypes, int64 for integers. */
typedef struct range_priv {
    cinfer_dtype dtype;
    double start_f, delta_f;
    int64_t start_i, delta_i;
} range_priv;

static bool scalar_value(const cinfer_tensor *t, cinfer_dtype dt, double *f, int64_t *i) {
    if (!t || !t->data || t->dtype != dt || cuda_numel(t) != 1) return false;
    switch (dt) {
    case CINFER_DTYPE_FLOAT: *f = *(const float *)t->data; break;
    case CINFER_DTYPE_DOUBLE: *f = *(const double *)t->data; break;
    case CINFER_DTYPE_INT32: *i = *(const int32_t *)t->data; break;
    default: *i = *(const int64_t *)t->data; break;
    }
    return true;
}

/* The CPU sizes Range's output from start, limit and delta at plan time and refuses otherwise,
 * so here they are constants too; the output length is the planned one. */
static cinfer_status range_params(const cinfer_cuda_node *n, range_priv *r, char *why) {
    cinfer_dtype dt = n->out[0]->dtype;
    if (dt != CINFER_DTYPE_FLOAT && dt != CINFER_DTYPE_DOUBLE && dt != CINFER_DTYPE_INT32 &&
        dt != CINFER_DTYPE_INT64)
        return cuda_no(why, "%s: dtypes other than float32, float64, int32 and int64",
                       "Range");
    if (n->n_in != 3 || n->out[0]->rank != 1 ||
        !scalar_value(n->in[0], dt, &r->start_f, &r->start_i) ||
        !scalar_value(n->in[2], dt, &r->delta_f, &r->delta_i))
        return cuda_no(why, "%s: start or delta not a scalar constant known at plan time",
                       "Range");
    r->dtype = dt;
    return CINFER_OK;
}

static cinfer_status range_supports(const cinfer_cuda_node *n, char *why) {
    range_priv r;
    return range_params(n, &r, why);
}

static cinfer_status range_prepare(cinfer_cuda_ctx *ctx, const cinfer_cuda_node *n,
                                   cuda_step *s, cinfer_cuda_err *err) {
    (void)ctx;
    char why[CINFER_CUDA_MSG_LEN];
    range_priv *r = calloc(1, sizeof *r);
    if (!r) return cinfer_cuda_err_set(err, CINFER_OUT_OF_MEMORY, "out of memory");
    cinfer_status st = range_params(n, r, why);
    if (st != CINFER_OK) {
        free(r);
        return cinfer_cuda_err_set(err, st, "%s", why);
    }
    s->priv = r;
    return CINFER_OK;
}

static cinfer_status range_run(cinfer_cuda_ctx *ctx, cuda_step *s, const void *const *in,
                               void *const *out, cinfer_cuda_err *err) {
    (void)in;
    const range_priv *r = s->priv;
    size_t n = (size_t)s->out[0].dims[0];
    cudaError_t e;
    switch (r->dtype) {
    case CINFER_DTYPE_FLOAT:
        e = cinfer_k_range_f32(out[0], (float)r->start_f, (float)r->delta_f, n, ctx->compute);
        break;
    case CINFER_DTYPE_DOUBLE:
        e = cinfer_k_range_f64(out[0], r->start_f, r->delta_f, n, ctx->compute);
        break;
    case CINFER_DTYPE_INT32:
        e = cinfer_k_range_i32(out[0], r->start_i, r->delta_i, n, ctx->compute);
        break;
    default: e = cinfer_k_range_i64(out[0], r->start_i, r->delta_i, n, ctx->compute); break;
    }
    return LAUNCHED(e, "Range");
}

const cuda_op cinfer_cuda_ops_resize[] = {
    /* Half mode moves 16-bit activations as they are (nearest only: linear refuses their
     * half views and stays fp32), on either layout. */
    {"Resize", "", resize_supports, resize_prepare, resize_run, free, true, CUDA_OP_EITHER},
    {"Upsample", "", resize_supports, resize_prepare, resize_run, free, true, CUDA_OP_EITHER},
    {"Range", "", range_supports, range_prepare, range_run, free},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
