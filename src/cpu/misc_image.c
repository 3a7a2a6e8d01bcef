/* CPU kernels of RoiAlign (Mask R-CNN's bilinear RoI pooling, as ONNX Runtime computes it)
 * and GridSample (PyTorch's grid_sample on 4-D input: bilinear, nearest, bicubic; zeros,
 * border or reflection padding). Coordinates are computed in double. */
#include <math.h>
#include <string.h>

#include "cpu/misc.h"

/* ---- RoiAlign ---- */

typedef struct roi_job {
    const float *x, *rois;
    const cinfer_tensor *bi;
    float *y;
    int64_t c, h, w, oh, ow, sampling;
    double scale;
    bool half_pixel, max_mode;
} roi_job;

/* One bilinear sample at (y, x) of plane p (H x W); 0 outside [-1, H] x [-1, W]. Returns the
 * four weighted taps' sum, or (max mode) their maximum, as ONNX Runtime does. */
static double roi_sample(const float *p, int64_t h, int64_t w, double y, double x, bool max_mode) {
    if (y < -1.0 || y > (double)h || x < -1.0 || x > (double)w) return 0;
    if (y <= 0) y = 0;
    if (x <= 0) x = 0;
    int64_t y0 = (int64_t)y, x0 = (int64_t)x, y1, x1;
    if (y0 >= h - 1) y1 = y0 = h - 1, y = (double)y0;
    else y1 = y0 + 1;
    if (x0 >= w - 1) x1 = x0 = w - 1, x = (double)x0;
    else x1 = x0 + 1;
    double ly = y - (double)y0, lx = x - (double)x0, hy = 1 - ly, hx = 1 - lx;
    double t[4] = {hy * hx * p[y0 * w + x0], hy * lx * p[y0 * w + x1], ly * hx * p[y1 * w + x0],
                   ly * lx * p[y1 * w + x1]};
    if (!max_mode) return t[0] + t[1] + t[2] + t[3];
    double m = t[0];
    for (int i = 1; i < 4; i++) m = t[i] > m ? t[i] : m;
    return m;
}

static void roi_range(void *arg, int64_t begin, int64_t end) {
    const roi_job *j = arg;
    for (int64_t item = begin; item < end; item++) {
        int64_t r = item / j->c, ch = item % j->c, b = cinfer__get_i64(j->bi, r);
        const float *plane = j->x + (b * j->c + ch) * j->h * j->w, *roi = j->rois + r * 4;
        double off = j->half_pixel ? 0.5 : 0.0;
        double x0 = roi[0] * j->scale - off, y0 = roi[1] * j->scale - off;
        double rw = roi[2] * j->scale - off - x0, rh = roi[3] * j->scale - off - y0;
        if (!j->half_pixel) rw = rw > 1 ? rw : 1, rh = rh > 1 ? rh : 1;
        double bh = rh / (double)j->oh, bw = rw / (double)j->ow;
        int64_t gh = j->sampling > 0 ? j->sampling : (int64_t)ceil(rh / (double)j->oh);
        int64_t gw = j->sampling > 0 ? j->sampling : (int64_t)ceil(rw / (double)j->ow);
        double count = gh * gw > 1 ? (double)(gh * gw) : 1.0;
        float *out = j->y + item * j->oh * j->ow;
        for (int64_t ph = 0; ph < j->oh; ph++)
            for (int64_t pw = 0; pw < j->ow; pw++) {
                double acc = 0;
                bool first = true;
                for (int64_t iy = 0; iy < gh; iy++) {
                    double yy = y0 + ph * bh + (iy + 0.5) * bh / (double)gh;
                    for (int64_t ix = 0; ix < gw; ix++) {
                        double xx = x0 + pw * bw + (ix + 0.5) * bw / (double)gw;
                        double v = roi_sample(plane, j->h, j->w, yy, xx, j->max_mode);
                        if (!j->max_mode) acc += v;
                        else if (first || v > acc) acc = v;
                        first = false;
                    }
                }
                out[ph * j->ow + pw] = (float)(j->max_mode ? acc : acc / count);
            }
    }
}

cinfer_status cinfer__cpu_roialign_run(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0], *bi = ctx->in[2];
    const cinfer__node *nd = ctx->node;
    const char *ct = cinfer__attr_string(nd, "coordinate_transformation_mode", "half_pixel");
    roi_job j = {x->data, ctx->in[1]->data, bi, ctx->out[0]->data, x->dims[1], x->dims[2],
                 x->dims[3], ctx->out[0]->dims[2], ctx->out[0]->dims[3],
                 cinfer__attr_int(nd, "sampling_ratio", 0),
                 cinfer__attr_float(nd, "spatial_scale", 1.0f),
                 nd->opset >= 16 && !strcmp(ct, "half_pixel"),
                 !strcmp(cinfer__attr_string(nd, "mode", "avg"), "max")};
    int64_t rois = bi->dims[0];
    for (int64_t r = 0; r < rois; r++) {
        int64_t b = cinfer__get_i64(bi, r);
        if (b < 0 || b >= x->dims[0])
            return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                                  "batch_indices[%lld] = %lld is out of range [0, %lld)",
                                  (long long)r, (long long)b, (long long)x->dims[0]);
    }
    if (rois > 0 && j.c > 0)
        cinfer__parallel_for(ctx->pool, rois * j.c, 1, roi_range, &j);
    return CINFER_OK;
}

/* ---- GridSample ---- */

enum { GS_LINEAR, GS_NEAREST, GS_CUBIC };
enum { PAD_ZEROS, PAD_BORDER, PAD_REFLECTION };

typedef struct gs_job {
    const float *x, *grid;
    float *y;
    int64_t c, h, w, oh, ow;
    int mode, pad;
    bool align;
} gs_job;

/* Grid coordinate in [-1, 1] to pixel space. */
static double unnormalize(double g, int64_t size, bool align) {
    return align ? (g + 1) / 2 * (double)(size - 1) : ((g + 1) * (double)size - 1) / 2;
}

/* Reflects v into [lo2 / 2, hi2 / 2] (bounds given doubled, as PyTorch does). */
static double reflect(double v, double lo2, double hi2) {
    if (lo2 == hi2) return 0;
    double mn = lo2 / 2, span = (hi2 - lo2) / 2;
    v = fabs(v - mn);
    double extra = fmod(v, span);
    int64_t flips = (int64_t)floor(v / span);
    return flips % 2 == 0 ? extra + mn : span - extra + mn;
}

static double clip(double v, int64_t size) {
    return v < 0 ? 0 : v > (double)(size - 1) ? (double)(size - 1) : v;
}

/* Applies border or reflection padding to a source coordinate. */
static double pad_coord(const gs_job *j, double v, int64_t size) {
    if (j->pad == PAD_BORDER) return clip(v, size);
    if (j->pad == PAD_REFLECTION) {
        double s = (double)size;
        v = j->align ? reflect(v, 0, 2 * (s - 1)) : reflect(v, -1, 2 * s - 1);
        return clip(v, size);
    }
    return v;
}

static double pixel(const float *p, const gs_job *j, int64_t yy, int64_t xx) {
    if (yy < 0 || yy >= j->h || xx < 0 || xx >= j->w) return 0;
    return p[yy * j->w + xx];
}

static double cubic_w(double t, int i) {
    const double a = -0.75;
    double x = i == 0 ? t + 1 : i == 1 ? t : i == 2 ? 1 - t : 2 - t;
    if (i == 1 || i == 2) return ((a + 2) * x - (a + 3)) * x * x + 1;
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
}

static double sample_cubic(const float *p, const gs_job *j, double y, double x) {
    double fy = floor(y), fx = floor(x), ty = y - fy, tx = x - fx, acc = 0;
    for (int r = 0; r < 4; r++) {
        double row = 0;
        int64_t yy = (int64_t)pad_coord(j, fy - 1 + r, j->h);
        for (int c = 0; c < 4; c++) {
            int64_t xx = (int64_t)pad_coord(j, fx - 1 + c, j->w);
            row += cubic_w(tx, c) * pixel(p, j, yy, xx);
        }
        acc += cubic_w(ty, r) * row;
    }
    return acc;
}

static double sample(const float *p, const gs_job *j, double y, double x) {
    if (j->mode == GS_CUBIC) return sample_cubic(p, j, y, x);
    y = pad_coord(j, y, j->h), x = pad_coord(j, x, j->w);
    if (j->mode == GS_NEAREST) return pixel(p, j, (int64_t)nearbyint(y), (int64_t)nearbyint(x));
    double fy = floor(y), fx = floor(x), ly = y - fy, lx = x - fx;
    int64_t y0 = (int64_t)fy, x0 = (int64_t)fx;
    return (1 - ly) * ((1 - lx) * pixel(p, j, y0, x0) + lx * pixel(p, j, y0, x0 + 1)) +
           ly * ((1 - lx) * pixel(p, j, y0 + 1, x0) + lx * pixel(p, j, y0 + 1, x0 + 1));
}

static void gs_range(void *arg, int64_t begin, int64_t end) {
    const gs_job *j = arg;
    int64_t plane = j->oh * j->ow;
    for (int64_t pt = begin; pt < end; pt++) {
        int64_t n = pt / plane, q = pt % plane;
        const float *g = j->grid + pt * 2;
        double x = unnormalize(g[0], j->w, j->align), y = unnormalize(g[1], j->h, j->align);
        for (int64_t ch = 0; ch < j->c; ch++) {
            const float *p = j->x + (n * j->c + ch) * j->h * j->w;
            j->y[(n * j->c + ch) * plane + q] = (float)sample(p, j, y, x);
        }
    }
}

cinfer_status cinfer__cpu_gridsample_run(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0], *y = ctx->out[0];
    const char *mode = cinfer__attr_string(ctx->node, "mode", "bilinear");
    const char *pad = cinfer__attr_string(ctx->node, "padding_mode", "zeros");
    gs_job j = {x->data, ctx->in[1]->data, y->data, x->dims[1], x->dims[2], x->dims[3],
                y->dims[2], y->dims[3], GS_LINEAR, PAD_ZEROS,
                cinfer__attr_int(ctx->node, "align_corners", 0) != 0};
    if (!strcmp(mode, "nearest")) j.mode = GS_NEAREST;
    if (!strcmp(mode, "bicubic") || !strcmp(mode, "cubic")) j.mode = GS_CUBIC;
    if (!strcmp(pad, "border")) j.pad = PAD_BORDER;
    if (!strcmp(pad, "reflection")) j.pad = PAD_REFLECTION;
    int64_t pts = y->dims[0] * j.oh * j.ow;
    if (pts && j.c) cinfer__parallel_for(ctx->pool, pts, 64, gs_range, &j);
    return CINFER_OK;
}
