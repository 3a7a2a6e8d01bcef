/* CPU kernels of Resize and Upsample: per-axis index/weight tables, then one pass over output
 * rows. Nearest moves elements by size (any dtype); linear is N-D and float32. */
#include <math.h>
#include <string.h>

#include "cpu/cpu.h"
#include "ops/geometry.h"

#define ROW_BYTES_PER_CHUNK 16384

typedef enum rounding { ROUND_PREFER_FLOOR, ROUND_PREFER_CEIL, ROUND_FLOOR, ROUND_CEIL,
                        ROUND_SIMPLE } rounding;

typedef struct resize_job {
    int rank;
    size_t es;
    const char *src;
    char *dst;
    int64_t in_strides[CINFER_MAX_RANK], out_dims[CINFER_MAX_RANK];
    const int64_t *i0[CINFER_MAX_RANK], *i1[CINFER_MAX_RANK]; /* per axis, per output index */
    const double *w[CINFER_MAX_RANK];                         /* weight of i1 (linear) */
    const float *last_w;                                      /* w of the last axis, as float */
} resize_job;

static bool is_linear(const cinfer__node *node) {
    const char *m = cinfer__attr_string(node, "mode", "nearest");
    return !strcmp(m, "linear") || !strcmp(m, "bilinear");
}

/* Opsets before 11 have no nearest_mode: like ONNX Runtime, floor when upsampling and ceil
 * when downsampling (ROUND_SIMPLE). */
static rounding rounding_of(const cinfer__node *node) {
    if (!strcmp(node->op_type, "Upsample") || node->opset < 11) return ROUND_SIMPLE;
    const char *m = cinfer__attr_string(node, "nearest_mode", "round_prefer_floor");
    if (!strcmp(m, "round_prefer_ceil")) return ROUND_PREFER_CEIL;
    if (!strcmp(m, "floor")) return ROUND_FLOOR;
    if (!strcmp(m, "ceil")) return ROUND_CEIL;
    return ROUND_PREFER_FLOOR;
}

static int64_t clamp_index(double v, int64_t len) {
    if (v < 0) return 0;
    if (v > (double)(len - 1)) return len - 1;
    return (int64_t)v;
}

static int64_t nearest_index(double x, rounding r, double scale, int64_t len) {
    double f = floor(x);
    switch (r) {
    case ROUND_PREFER_FLOOR: return clamp_index(x - f > 0.5 ? f + 1 : f, len);
    case ROUND_PREFER_CEIL: return clamp_index(x - f >= 0.5 ? f + 1 : f, len);
    case ROUND_FLOOR: return clamp_index(f, len);
    case ROUND_CEIL: return clamp_index(ceil(x), len);
    default: return clamp_index(scale < 1.0 ? ceil(x) : f, len);
    }
}

/* Scratch: per axis and output index, two indices and a double weight (first holding the
 * coordinate); then the last axis's weights again as floats. */
static size_t resize_scratch(const cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *y = ctx->out[0];
    int64_t n = 0;
    for (int i = 0; i < y->rank; i++) n += y->dims[i];
    size_t last = y->rank > 0 ? (size_t)y->dims[y->rank - 1] : 0;
    return (size_t)n * (sizeof(int64_t) * 2 + sizeof(double)) + last * sizeof(float);
}

/* Fills the tables of one axis from the coordinates x_orig (already in w's storage). */
static void build_axis(int64_t *i0, int64_t *i1, double *w, int64_t n, int64_t len,
                       bool linear, rounding r, double scale) {
    for (int64_t o = 0; o < n; o++) {
        double x = w[o];
        if (!linear) {
            i0[o] = i1[o] = nearest_index(x, r, scale, len);
            w[o] = 0.0;
            continue;
        }
        double f = floor(x);
        i0[o] = clamp_index(f, len);
        i1[o] = clamp_index(f + 1, len);
        w[o] = i0[o] == i1[o] ? 0.0 : x - f;
    }
}

/* Offset (elements) into src of output row r along all axes but the last, for nearest. */
static int64_t nearest_row_offset(const resize_job *j, int64_t r) {
    int64_t off = 0;
    for (int a = j->rank - 2; a >= 0; a--) {
        off += j->i0[a][r % j->out_dims[a]] * j->in_strides[a];
        r /= j->out_dims[a];
    }
    return off;
}

static void nearest_rows(void *arg, int64_t begin, int64_t end) {
    const resize_job *j = arg;
    int last = j->rank - 1;
    int64_t w = j->out_dims[last];
    const int64_t *map = j->i0[last];
    int64_t prev = -1;
    for (int64_t r = begin; r < end; r++) {
        int64_t off = nearest_row_offset(j, r);
        char *dst = j->dst + (size_t)(r * w) * j->es;
        /* Upsampling repeats source rows: copy the row just written instead of gathering. */
        if (off == prev) {
            memcpy(dst, dst - (size_t)w * j->es, (size_t)w * j->es);
            continue;
        }
        prev = off;
        const char *src = j->src + (size_t)off * j->es;
        if (j->es == 4) {
            const uint32_t *s = (const uint32_t *)src;
            uint32_t *d = (uint32_t *)dst;
            for (int64_t o = 0; o < w; o++) d[o] = s[map[o]];
        } else {
            for (int64_t o = 0; o < w; o++)
                memcpy(dst + (size_t)o * j->es, src + (size_t)map[o] * j->es, j->es);
        }
    }
}

/* The up to 2^(rank-1) source rows (offsets and weights) that output row r blends. */
static int linear_corners(const resize_job *j, int64_t r, int64_t *off, float *cw) {
    int n = 1;
    off[0] = 0;
    cw[0] = 1.0f;
    for (int a = j->rank - 2; a >= 0; a--) {
        int64_t o = r % j->out_dims[a], s = j->in_strides[a];
        r /= j->out_dims[a];
        int64_t i0 = j->i0[a][o], i1 = j->i1[a][o];
        float w = (float)j->w[a][o];
        if (w == 0.0f) {
            for (int c = 0; c < n; c++) off[c] += i0 * s;
            continue;
        }
        for (int c = 0; c < n; c++) {
            off[c + n] = off[c] + i1 * s;
            cw[c + n] = cw[c] * w;
            off[c] += i0 * s;
            cw[c] *= 1.0f - w;
        }
        n *= 2;
    }
    return n;
}

/* One output row blended from n source rows p[c] with weights cw[c]; along the last axis each
 * source row is interpolated between i0 and i1. The 1- and 2-row cases (linear on the last
 * axis only, bilinear) get their own loops. */
static void blend_row(const resize_job *j, const int64_t *off, const float *cw, int n,
                      float *dst) {
    int last = j->rank - 1;
    int64_t w = j->out_dims[last];
    const int64_t *i0 = j->i0[last], *i1 = j->i1[last];
    const float *t = j->last_w, *src = (const float *)j->src;
    const float *p = src + off[0], *q = src + off[n > 1 ? 1 : 0];
    if (n == 1) {
        for (int64_t o = 0; o < w; o++) dst[o] = (1.0f - t[o]) * p[i0[o]] + t[o] * p[i1[o]];
    } else if (n == 2) {
        for (int64_t o = 0; o < w; o++) {
            float a = (1.0f - t[o]) * p[i0[o]] + t[o] * p[i1[o]];
            float b = (1.0f - t[o]) * q[i0[o]] + t[o] * q[i1[o]];
            dst[o] = cw[0] * a + cw[1] * b;
        }
    } else {
        for (int64_t o = 0; o < w; o++) {
            float acc = 0.0f;
            for (int c = 0; c < n; c++) {
                const float *s = src + off[c];
                acc += cw[c] * ((1.0f - t[o]) * s[i0[o]] + t[o] * s[i1[o]]);
            }
            dst[o] = acc;
        }
    }
}

static void linear_rows(void *arg, int64_t begin, int64_t end) {
    const resize_job *j = arg;
    int64_t w = j->out_dims[j->rank - 1], off[1 << (CINFER_MAX_RANK - 1)];
    float cw[1 << (CINFER_MAX_RANK - 1)];
    for (int64_t r = begin; r < end; r++) {
        int n = linear_corners(j, r, off, cw);
        blend_row(j, off, cw, n, (float *)j->dst + r * w);
    }
}

static cinfer_status resize_supports(const cinfer__cpu_ctx *ctx) {
    cinfer_dtype dt = ctx->in[0]->dtype;
    if (is_linear(ctx->node) && dt != CINFER_DTYPE_FLOAT)
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED,
                              "mode='linear' on dtype %s is not supported (float only)",
                              cinfer_dtype_name(dt));
    return CINFER_OK;
}

/* Builds the per-axis tables in scratch. */
static cinfer_status setup_tables(cinfer__cpu_ctx *ctx, resize_job *j) {
    const cinfer_tensor *x = ctx->in[0];
    int64_t dims[CINFER_MAX_RANK];
    double scales[CINFER_MAX_RANK];
    CINFER_TRY(cinfer__resize_geometry(ctx->node, ctx->in, ctx->n_in, dims, scales, ctx->err));
    bool linear = is_linear(ctx->node);
    rounding r = rounding_of(ctx->node);
    char *p = ctx->scratch;
    cinfer__strides(x->rank, x->dims, j->in_strides);
    for (int a = 0; a < x->rank; a++) {
        int64_t n = ctx->out[0]->dims[a];
        int64_t *i0 = (int64_t *)p, *i1 = i0 + n;
        double *w = (double *)(i1 + n);
        p = (char *)(w + n);
        cinfer__resize_coords(ctx->node, scales[a], x->dims[a], n, w);
        build_axis(i0, i1, w, n, x->dims[a], linear, r, scales[a]);
        j->out_dims[a] = n;
        j->i0[a] = i0;
        j->i1[a] = i1;
        j->w[a] = w;
    }
    float *lw = (float *)p;
    int64_t n_last = ctx->out[0]->dims[x->rank - 1];
    for (int64_t o = 0; o < n_last; o++) lw[o] = (float)j->w[x->rank - 1][o];
    j->last_w = lw;
    return CINFER_OK;
}

static cinfer_status run_resize(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    cinfer_tensor *y = ctx->out[0];
    resize_job j = {.rank = x->rank, .es = cinfer_dtype_size(x->dtype), .src = x->data,
                    .dst = y->data};
    if (x->rank == 0) {
        memcpy(y->data, x->data, j.es);
        return CINFER_OK;
    }
    CINFER_TRY(setup_tables(ctx, &j));
    int last = x->rank - 1;
    int64_t rows = cinfer__numel(last, y->dims), row_bytes = y->dims[last] * (int64_t)j.es;
    if (rows == 0 || row_bytes == 0) return CINFER_OK;
    int64_t grain = row_bytes >= ROW_BYTES_PER_CHUNK ? 1 : ROW_BYTES_PER_CHUNK / row_bytes;
    cinfer__parallel_for(ctx->pool, rows, grain, is_linear(ctx->node) ? linear_rows : nearest_rows,
                         &j);
    return CINFER_OK;
}

const cinfer__cpu_kernel cinfer__cpu_resize[] = {
    {"Resize", "", resize_supports, resize_scratch, run_resize},
    {"Upsample", "", resize_supports, resize_scratch, run_resize},
    {0},
};
