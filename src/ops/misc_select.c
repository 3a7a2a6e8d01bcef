/* Unique and NonMaxSuppression: their output sizes depend on input values, so shape inference
 * (here) and the CPU kernels (src/cpu/misc_select.c) run the same selection code. */
#include <string.h>

#include "core/alloc.h"
#include "ops/misc.h"

typedef int (*cmp_fn)(const void *ctx, int64_t a, int64_t b);

/* Stable bottom-up merge sort of v[0..n) with tmp[0..n) as the second buffer. */
static void merge_sort(int64_t *v, int64_t *tmp, int64_t n, cmp_fn cmp, const void *ctx) {
    int64_t *src = v, *dst = tmp;
    for (int64_t w = 1; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int64_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi) dst[k++] = cmp(ctx, src[b], src[a]) < 0 ? src[b++] : src[a++];
            while (a < mid) dst[k++] = src[a++];
            while (b < hi) dst[k++] = src[b++];
        }
        int64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != v) memcpy(v, src, (size_t)n * sizeof *v);
}

/* ---- Unique ---- */

typedef struct slice_view {
    const cinfer_tensor *x;
    int64_t n, outer, inner;
} slice_view;

#define CMP3(a, b) ((a) > (b)) - ((a) < (b))

static int cmp_elem(const cinfer_tensor *x, int64_t i, int64_t j) {
    switch (x->dtype) {
    case CINFER_DTYPE_FLOAT: return CMP3(((const float *)x->data)[i], ((const float *)x->data)[j]);
    case CINFER_DTYPE_DOUBLE:
        return CMP3(((const double *)x->data)[i], ((const double *)x->data)[j]);
    case CINFER_DTYPE_INT64:
        return CMP3(((const int64_t *)x->data)[i], ((const int64_t *)x->data)[j]);
    case CINFER_DTYPE_INT32:
        return CMP3(((const int32_t *)x->data)[i], ((const int32_t *)x->data)[j]);
    case CINFER_DTYPE_INT8:
        return CMP3(((const int8_t *)x->data)[i], ((const int8_t *)x->data)[j]);
    default: return CMP3(((const uint8_t *)x->data)[i], ((const uint8_t *)x->data)[j]);
    }
}

/* Slices compare lexicographically over (outer, inner), as NumPy's unique(axis=...) does. */
static int cmp_slices(const void *ctx, int64_t a, int64_t b) {
    const slice_view *s = ctx;
    for (int64_t o = 0; o < s->outer; o++) {
        int64_t base = o * s->n * s->inner;
        for (int64_t j = 0; j < s->inner; j++) {
            int c = cmp_elem(s->x, base + a * s->inner + j, base + b * s->inner + j);
            if (c) return c;
        }
    }
    return 0;
}

void cinfer__unique_geometry(const cinfer_tensor *x, int axis, int64_t *n_slices,
                             int64_t *outer, int64_t *inner) {
    if (axis < 0) {
        *n_slices = cinfer_tensor_numel(x);
        *outer = *inner = 1;
        return;
    }
    *outer = cinfer__numel(axis, x->dims);
    *n_slices = x->dims[axis];
    *inner = cinfer__numel(x->rank - axis - 1, x->dims + axis + 1);
}

cinfer_status cinfer__unique(const cinfer_tensor *x, int axis, bool sorted, int64_t *work,
                             int64_t *n_unique, int64_t *first, int64_t *counts,
                             int64_t *inverse, cinfer__err *err) {
    slice_view v = {x, 0, 0, 0};
    cinfer__unique_geometry(x, axis, &v.n, &v.outer, &v.inner);
    int64_t n = v.n, *order = work, *gfirst = work + n, *group = work + 2 * n, u = 0;
    for (int64_t k = 0; k < n; k++) order[k] = k;
    merge_sort(order, gfirst, n, cmp_slices, &v);
    for (int64_t k = 0; k < n; k++) {
        if (k == 0 || cmp_slices(&v, order[k - 1], order[k]) != 0) gfirst[u++] = order[k];
        group[order[k]] = u - 1;
    }
    /* pos[g]: output position of group g (sorted: g itself; else by first occurrence). */
    int64_t *pos = order, next = 0;
    for (int64_t g = 0; g < u; g++) pos[g] = sorted ? g : -1;
    for (int64_t s = 0; s < n && !sorted; s++)
        if (pos[group[s]] < 0) pos[group[s]] = next++;
    if (first)
        for (int64_t g = 0; g < u; g++) first[pos[g]] = gfirst[g];
    if (counts) memset(counts, 0, (size_t)u * sizeof *counts);
    for (int64_t s = 0; s < n; s++) {
        if (inverse) inverse[s] = pos[group[s]];
        if (counts) counts[pos[group[s]]]++;
    }
    *n_unique = u;
    (void)err;
    return CINFER_OK;
}

static bool unique_dtype_ok(cinfer_dtype dt) {
    return dt == CINFER_DTYPE_FLOAT || dt == CINFER_DTYPE_DOUBLE || dt == CINFER_DTYPE_INT64 ||
           dt == CINFER_DTYPE_INT32 || dt == CINFER_DTYPE_INT8 || dt == CINFER_DTYPE_UINT8;
}

cinfer_status cinfer__unique_infer(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    if (!unique_dtype_ok(x->dtype))
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED,
                              "dtype %s is not supported (float, double, int64, int32, int8, "
                              "uint8)", cinfer_dtype_name(x->dtype));
    int axis = -1;
    if (cinfer__node_attr(ctx->node, "axis")) {
        int64_t a = cinfer__attr_int(ctx->node, "axis", 0);
        if (!cinfer__norm_axis(a, x->rank, &axis))
            return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL,
                                  "attribute axis=%lld is out of range for rank %d",
                                  (long long)a, x->rank);
    }
    int64_t n, outer, inner, u = 0;
    cinfer__unique_geometry(x, axis, &n, &outer, &inner);
    int64_t *work = cinfer__malloc((size_t)(3 * n + 1) * sizeof *work);
    if (!work) return cinfer__errorf(ctx->err, CINFER_OUT_OF_MEMORY, "out of memory");
    bool sorted = cinfer__attr_int(ctx->node, "sorted", 1) != 0;
    cinfer_status st = cinfer__unique(x, axis, sorted, work, &u, NULL, NULL, NULL, ctx->err);
    cinfer__free(work);
    CINFER_TRY(st);
    int64_t dims[CINFER_MAX_RANK];
    if (axis < 0) {
        cinfer__set_out(ctx->out[0], x->dtype, 1, &u);
    } else {
        memcpy(dims, x->dims, sizeof dims);
        dims[axis] = u;
        cinfer__set_out(ctx->out[0], x->dtype, x->rank, dims);
    }
    if (ctx->n_out > 1 && ctx->out[1]) cinfer__set_out(ctx->out[1], CINFER_DTYPE_INT64, 1, &u);
    if (ctx->n_out > 2 && ctx->out[2]) cinfer__set_out(ctx->out[2], CINFER_DTYPE_INT64, 1, &n);
    if (ctx->n_out > 3 && ctx->out[3]) cinfer__set_out(ctx->out[3], CINFER_DTYPE_INT64, 1, &u);
    return CINFER_OK;
}

/* ---- NonMaxSuppression ---- */

typedef struct nms_box {
    float x0, y0, x1, y1;
} nms_box;

/* Corners with x0 <= x1, y0 <= y1 from [y1, x1, y2, x2] (any diagonal) or [xc, yc, w, h]. */
static nms_box load_box(const float *b, bool center) {
    nms_box r;
    if (center) {
        r.x0 = b[0] - b[2] / 2, r.x1 = b[0] + b[2] / 2;
        r.y0 = b[1] - b[3] / 2, r.y1 = b[1] + b[3] / 2;
    } else {
        r.y0 = b[0] < b[2] ? b[0] : b[2], r.y1 = b[0] < b[2] ? b[2] : b[0];
        r.x0 = b[1] < b[3] ? b[1] : b[3], r.x1 = b[1] < b[3] ? b[3] : b[1];
    }
    return r;
}

/* True when IoU(a, b) > thr; empty boxes and empty intersections never suppress. */
static bool suppresses(nms_box a, nms_box b, float thr) {
    float ix0 = a.x0 > b.x0 ? a.x0 : b.x0, ix1 = a.x1 < b.x1 ? a.x1 : b.x1;
    float iy0 = a.y0 > b.y0 ? a.y0 : b.y0, iy1 = a.y1 < b.y1 ? a.y1 : b.y1;
    if (ix1 <= ix0 || iy1 <= iy0) return false;
    float inter = (ix1 - ix0) * (iy1 - iy0);
    float area_a = (a.x1 - a.x0) * (a.y1 - a.y0), area_b = (b.x1 - b.x0) * (b.y1 - b.y0);
    float uni = area_a + area_b - inter;
    if (area_a <= 0 || area_b <= 0 || uni <= 0) return false;
    return inter / uni > thr;
}

/* Higher score first; equal scores keep the lower box index first. */
static int cmp_score(const void *ctx, int64_t a, int64_t b) {
    const float *s = ctx;
    if (s[a] != s[b]) return s[a] > s[b] ? -1 : 1;
    return CMP3(a, b);
}

typedef struct nms_args {
    const float *boxes, *scores;
    int64_t batches, classes, n_boxes, max_out;
    float iou, score_thr;
    bool has_score_thr, center;
} nms_args;

static cinfer_status nms_args_make(const cinfer__node *node, const cinfer_tensor *const *in,
                                   int n_in, nms_args *a, cinfer__err *err) {
    a->boxes = in[0]->data;
    a->scores = in[1]->data;
    a->batches = in[1]->dims[0], a->classes = in[1]->dims[1], a->n_boxes = in[1]->dims[2];
    const cinfer_tensor *mo = n_in > 2 ? in[2] : NULL, *iou = n_in > 3 ? in[3] : NULL;
    const cinfer_tensor *st = n_in > 4 ? in[4] : NULL;
    a->max_out = mo && cinfer_tensor_numel(mo) ? cinfer__get_i64(mo, 0) : 0;
    if (a->max_out < 0) a->max_out = 0;
    a->iou = iou && cinfer_tensor_numel(iou) ? (float)cinfer__get_f64(iou, 0) : 0.0f;
    a->has_score_thr = st && cinfer_tensor_numel(st);
    a->score_thr = a->has_score_thr ? (float)cinfer__get_f64(st, 0) : 0.0f;
    a->center = cinfer__attr_int(node, "center_point_box", 0) != 0;
    if (!(a->iou >= 0.0f && a->iou <= 1.0f))
        return cinfer__errorf(err, CINFER_INVALID_INPUT,
                              "input 3 (iou_threshold) is %g; it must lie in [0, 1]", a->iou);
    return CINFER_OK;
}

/* Greedy selection for one (batch, class); returns how many boxes it kept. */
static int64_t nms_class(const nms_args *a, int64_t b, int64_t c, int64_t *cand, int64_t *keep,
                         int64_t *sel, int64_t cap, int64_t base) {
    const float *sc = a->scores + (b * a->classes + c) * a->n_boxes;
    const float *bx = a->boxes + b * a->n_boxes * 4;
    int64_t nc = 0, nk = 0;
    for (int64_t i = 0; i < a->n_boxes; i++)
        if (!a->has_score_thr || sc[i] > a->score_thr) cand[nc++] = i;
    merge_sort(cand, keep, nc, cmp_score, sc);
    for (int64_t k = 0; k < nc && nk < a->max_out; k++) {
        nms_box box = load_box(bx + cand[k] * 4, a->center);
        bool drop = false;
        for (int64_t j = 0; j < nk && !drop; j++)
            drop = suppresses(load_box(bx + keep[j] * 4, a->center), box, a->iou);
        if (drop) continue;
        if (sel && base + nk < cap) {
            int64_t *t = sel + (base + nk) * 3;
            t[0] = b, t[1] = c, t[2] = cand[k];
        }
        keep[nk++] = cand[k];
    }
    return nk;
}

cinfer_status cinfer__nms(const cinfer__node *node, const cinfer_tensor *const *in, int n_in,
                          int64_t *work, int64_t *sel, int64_t *n, cinfer__err *err) {
    nms_args a;
    CINFER_TRY(nms_args_make(node, in, n_in, &a, err));
    int64_t cap = sel ? *n : 0, total = 0;
    for (int64_t b = 0; b < a.batches; b++)
        for (int64_t c = 0; c < a.classes; c++)
            total += nms_class(&a, b, c, work, work + a.n_boxes, sel, cap, total);
    *n = total;
    return CINFER_OK;
}

static cinfer_status nms_shapes(const cinfer__infer_ctx *ctx) {
    const cinfer_tensor *b = ctx->in[0], *s = ctx->in[1];
    char x[96], y[96];
    if (b->dtype != CINFER_DTYPE_FLOAT || s->dtype != CINFER_DTYPE_FLOAT)
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED,
                              "boxes and scores must be float (got %s, %s)",
                              cinfer_dtype_name(b->dtype), cinfer_dtype_name(s->dtype));
    if (b->rank != 3 || b->dims[2] != 4 || s->rank != 3 || s->dims[0] != b->dims[0] ||
        s->dims[2] != b->dims[1])
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "input 0 (boxes) %s and input 1 (scores) %s must be [B, N, 4] "
                              "and [B, C, N]", cinfer__shape_str(b->rank, b->dims, x, sizeof x),
                              cinfer__shape_str(s->rank, s->dims, y, sizeof y));
    return CINFER_OK;
}

cinfer_status cinfer__nms_infer(cinfer__infer_ctx *ctx) {
    CINFER_TRY(nms_shapes(ctx));
    int64_t *work = cinfer__malloc((size_t)(2 * ctx->in[0]->dims[1] + 1) * sizeof *work);
    if (!work) return cinfer__errorf(ctx->err, CINFER_OUT_OF_MEMORY, "out of memory");
    int64_t n = 0;
    cinfer_status st = cinfer__nms(ctx->node, ctx->in, ctx->n_in, work, NULL, &n, ctx->err);
    cinfer__free(work);
    CINFER_TRY(st);
    int64_t dims[2] = {n, 3};
    cinfer__set_out(ctx->out[0], CINFER_DTYPE_INT64, 2, dims);
    return CINFER_OK;
}
