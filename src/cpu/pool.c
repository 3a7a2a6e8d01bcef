/* CPU kernels: pooling (MaxPool, AveragePool, LpPool and their Global forms), 1-D to 3-D. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "cpu/cpu.h"
#include "ops/geometry.h"

typedef enum pool_kind { POOL_MAX, POOL_AVG, POOL_LP } pool_kind;

/* Every pool runs as 3-D: 1-D and 2-D inputs get leading spatial dims of size 1 (kernel 1,
 * stride 1, no pad), which changes neither values nor row- or column-major indices. Per output
 * coordinate along each dim, the table holds the first and end tap inside the input and the
 * number of taps inside the padded input (AveragePool's count_include_pad divisor). */
typedef struct pool_dim {
    int64_t in, out, k, stride, dil, pad;
    int64_t *tb, *te, *tpad; /* [out] each, in scratch */
} pool_dim;

typedef struct pool_task {
    pool_kind kind;
    pool_dim dim[3];
    const void *x;
    void *y;
    int64_t *idx; /* MaxPool Indices or NULL */
    cinfer_dtype dtype;
    bool include_pad, col_major;
    float p;
} pool_task;

static int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -(-a / b); }

/* Taps j in [0, k) with lo <= start + j*d < hi, as the range [*jb, *je). */
static void tap_range(int64_t start, int64_t k, int64_t d, int64_t lo, int64_t hi, int64_t *jb,
                      int64_t *je) {
    int64_t b = start >= lo ? 0 : ceil_div(lo - start, d);
    int64_t e = start >= hi ? 0 : ceil_div(hi - start, d);
    if (e > k) e = k;
    *jb = b;
    *je = e > b ? e : b;
}

static void fill_dim(pool_dim *pd, int64_t k, int64_t pe) {
    for (int64_t o = 0; o < pd->out; o++) {
        int64_t start = o * pd->stride - pd->pad, jb, je, pb2, pe2;
        tap_range(start, k, pd->dil, 0, pd->in, &jb, &je);
        tap_range(start, k, pd->dil, -pd->pad, pd->in + pe, &pb2, &pe2);
        /* Store input coordinates rather than tap numbers: the loops then step by dil. */
        pd->tb[o] = start + jb * pd->dil;
        pd->te[o] = start + je * pd->dil;
        pd->tpad[o] = pe2 - pb2;
    }
}

/* MaxPool with Indices over one (n, c) plane, window by window. Ties keep the first index. */
#define MAX_PLANE(NAME, T, LOWEST)                                                        \
    static void NAME(const pool_task *t, int64_t plane) {                                \
        const pool_dim *D = &t->dim[0], *H = &t->dim[1], *W = &t->dim[2];                \
        int64_t in_sz = D->in * H->in * W->in, out_sz = D->out * H->out * W->out;        \
        const T *x = (const T *)t->x + plane * in_sz;                                    \
        T *y = (T *)t->y + plane * out_sz;                                               \
        int64_t *ix = t->idx ? t->idx + plane * out_sz : NULL, o = 0;                     \
        for (int64_t od = 0; od < D->out; od++)                                          \
            for (int64_t oh = 0; oh < H->out; oh++)                                      \
                for (int64_t ow = 0; ow < W->out; ow++, o++) {                           \
                    T best = LOWEST;                                                     \
                    int64_t bi = -1;                                                     \
                    for (int64_t d = D->tb[od]; d < D->te[od]; d += D->dil)              \
                        for (int64_t h = H->tb[oh]; h < H->te[oh]; h += H->dil) {        \
                            const T *row = x + (d * H->in + h) * W->in;                  \
                            for (int64_t w = W->tb[ow]; w < W->te[ow]; w += W->dil)      \
                                if (row[w] > best || bi < 0) {                           \
                                    best = row[w];                                       \
                                    bi = (d * H->in + h) * W->in + w;                    \
                                }                                                        \
                        }                                                                \
                    y[o] = best;                                                         \
                    if (ix) ix[o] = max_index(t, plane, bi, in_sz);                      \
                }                                                                        \
    }

/* Indices are flat over the whole input (batch and channel included), row- or column-major
 * over the spatial dims as storage_order says. */
static int64_t max_index(const pool_task *t, int64_t plane, int64_t flat, int64_t in_sz) {
    if (flat < 0) flat = 0; /* a window entirely in padding: nothing to point at */
    if (!t->col_major) return plane * in_sz + flat;
    int64_t H = t->dim[1].in, W = t->dim[2].in, D = t->dim[0].in;
    int64_t w = flat % W, h = (flat / W) % H, d = flat / (W * H);
    return plane * in_sz + d + h * D + w * D * H;
}

MAX_PLANE(max_plane_f32, float, -INFINITY)
MAX_PLANE(max_plane_u8, uint8_t, 0)
MAX_PLANE(max_plane_i8, int8_t, INT8_MIN)

/* The row-at-a-time paths below: for each output row, every (d, h) tap row of the input and
 * every kernel column kw is folded into the whole output row at once. Tap kw of output ow reads
 * input column ow * stride + off, off = kw * dil - pad; [*lo, *hi) are the outputs for which
 * that column is inside the input, so no per-element bounds test is needed and, at stride 1,
 * the inner loop vectorizes. Every output still sees its taps in row-major order. */
static void col_outputs(const pool_dim *W, int64_t kw, int64_t *off, int64_t *lo, int64_t *hi) {
    int64_t o = kw * W->dil - W->pad;
    int64_t l = o >= 0 ? 0 : ceil_div(-o, W->stride);
    int64_t h = W->in - o <= 0 ? 0 : (W->in - 1 - o) / W->stride + 1;
    if (h > W->out) h = W->out;
    *off = o;
    *lo = l;
    *hi = h > l ? h : l;
}

/* MaxPool without Indices, one plane, by output rows. */
#define MAX_ROWS(NAME, T, LOWEST)                                                         \
    static void NAME(const pool_task *t, int64_t plane) {                                 \
        const pool_dim *D = &t->dim[0], *H = &t->dim[1], *W = &t->dim[2];                 \
        const T *x = (const T *)t->x + plane * D->in * H->in * W->in;                     \
        T *y = (T *)t->y + plane * D->out * H->out * W->out;                              \
        for (int64_t od = 0; od < D->out; od++)                                           \
            for (int64_t oh = 0; oh < H->out; oh++) {                                     \
                T *yr = y + (od * H->out + oh) * W->out;                                  \
                for (int64_t ow = 0; ow < W->out; ow++) yr[ow] = LOWEST;                  \
                for (int64_t d = D->tb[od]; d < D->te[od]; d += D->dil)                   \
                    for (int64_t h = H->tb[oh]; h < H->te[oh]; h += H->dil) {             \
                        const T *xr = x + (d * H->in + h) * W->in;                        \
                        for (int64_t kw = 0; kw < W->k; kw++) {                           \
                            int64_t off, lo, hi, s = W->stride;                           \
                            col_outputs(W, kw, &off, &lo, &hi);                           \
                            if (s == 1)                                                   \
                                for (int64_t ow = lo; ow < hi; ow++) {                    \
                                    T v = xr[ow + off];                                   \
                                    yr[ow] = v > yr[ow] ? v : yr[ow];                     \
                                }                                                         \
                            else                                                          \
                                for (int64_t ow = lo; ow < hi; ow++) {                    \
                                    T v = xr[ow * s + off];                               \
                                    yr[ow] = v > yr[ow] ? v : yr[ow];                     \
                                }                                                         \
                        }                                                                 \
                    }                                                                     \
            }                                                                             \
    }
MAX_ROWS(max_rows_f32, float, -INFINITY)
MAX_ROWS(max_rows_u8, uint8_t, 0)
MAX_ROWS(max_rows_i8, int8_t, INT8_MIN)

/* Adds f(xr[ow * s + off]) to yr[ow] for ow in [lo, hi): f is x, |x|, x^2 or |x|^p. */
static void sum_taps(float *yr, const float *xr, int64_t s, int64_t off, int64_t lo, int64_t hi,
                     int f, float p) {
    switch (f) {
    case 0:
        if (s == 1)
            for (int64_t ow = lo; ow < hi; ow++) yr[ow] += xr[ow + off];
        else
            for (int64_t ow = lo; ow < hi; ow++) yr[ow] += xr[ow * s + off];
        break;
    case 1: for (int64_t ow = lo; ow < hi; ow++) yr[ow] += fabsf(xr[ow * s + off]); break;
    case 2:
        for (int64_t ow = lo; ow < hi; ow++) yr[ow] += xr[ow * s + off] * xr[ow * s + off];
        break;
    default:
        for (int64_t ow = lo; ow < hi; ow++) yr[ow] += powf(fabsf(xr[ow * s + off]), p);
    }
}

/* The window's divisor (AveragePool) or root (LpPool) for a row of sums. */
static void finish_row(const pool_task *t, float *yr, int64_t od, int64_t oh) {
    const pool_dim *D = &t->dim[0], *H = &t->dim[1], *W = &t->dim[2];
    if (t->kind == POOL_LP) {
        for (int64_t ow = 0; ow < W->out; ow++)
            yr[ow] = t->p == 2.0f ? sqrtf(yr[ow]) : t->p == 1.0f ? yr[ow]
                                                                  : powf(yr[ow], 1.0f / t->p);
        return;
    }
    int64_t n_dh = t->include_pad ? D->tpad[od] * H->tpad[oh]
                                  : ((D->te[od] - D->tb[od]) / D->dil) *
                                        ((H->te[oh] - H->tb[oh]) / H->dil);
    for (int64_t ow = 0; ow < W->out; ow++) {
        int64_t n = n_dh * (t->include_pad ? W->tpad[ow] : (W->te[ow] - W->tb[ow]) / W->dil);
        yr[ow] = n ? yr[ow] / (float)n : 0.0f;
    }
}

/* AveragePool and LpPool, one plane, by output rows. */
static void sum_rows(const pool_task *t, int64_t plane) {
    const pool_dim *D = &t->dim[0], *H = &t->dim[1], *W = &t->dim[2];
    const float *x = (const float *)t->x + plane * D->in * H->in * W->in;
    float *y = (float *)t->y + plane * D->out * H->out * W->out;
    int f = t->kind != POOL_LP ? 0 : t->p == 1.0f ? 1 : t->p == 2.0f ? 2 : 3;
    for (int64_t od = 0; od < D->out; od++)
        for (int64_t oh = 0; oh < H->out; oh++) {
            float *yr = y + (od * H->out + oh) * W->out;
            for (int64_t ow = 0; ow < W->out; ow++) yr[ow] = 0;
            for (int64_t d = D->tb[od]; d < D->te[od]; d += D->dil)
                for (int64_t h = H->tb[oh]; h < H->te[oh]; h += H->dil)
                    for (int64_t kw = 0; kw < W->k; kw++) {
                        int64_t off, lo, hi;
                        col_outputs(W, kw, &off, &lo, &hi);
                        sum_taps(yr, x + (d * H->in + h) * W->in, W->stride, off, lo, hi, f,
                                 t->p);
                    }
            finish_row(t, yr, od, oh);
        }
}

static void pool_range(void *arg, int64_t begin, int64_t end) {
    const pool_task *t = arg;
    for (int64_t plane = begin; plane < end; plane++) {
        bool u8 = t->dtype == CINFER_DTYPE_UINT8, i8 = t->dtype == CINFER_DTYPE_INT8;
        if (t->kind != POOL_MAX) sum_rows(t, plane);
        else if (t->idx) /* Indices: window by window, tracking the argmax */
            u8 ? max_plane_u8(t, plane) : i8 ? max_plane_i8(t, plane) : max_plane_f32(t, plane);
        else u8 ? max_rows_u8(t, plane) : i8 ? max_rows_i8(t, plane) : max_rows_f32(t, plane);
    }
}

static size_t pool_scratch(const cinfer__cpu_ctx *ctx) {
    int64_t n = 3 - (ctx->out[0]->rank - 2); /* the size-1 dims added to reach 3-D */
    for (int i = 2; i < ctx->out[0]->rank; i++) n += ctx->out[0]->dims[i];
    return (size_t)(3 * n) * sizeof(int64_t);
}

/* Geometry of the node for this input, embedded in 3-D, with the tap tables in scratch. */
static cinfer_status pool_setup(cinfer__cpu_ctx *ctx, pool_task *t) {
    const cinfer_tensor *x = ctx->in[0];
    int n_sp = x->rank - 2, off = 3 - n_sp;
    int64_t k[3], s[3], d[3], pb[3], pe[3], out[3];
    CINFER_TRY(cinfer__pool_window(ctx->node, n_sp, x->dims + 2, k, s, d, pb, pe, out,
                                   ctx->err));
    int64_t *tab = ctx->scratch;
    for (int i = 0; i < 3; i++) {
        pool_dim *pd = &t->dim[i];
        int j = i - off;
        bool real = j >= 0;
        pd->in = real ? x->dims[2 + j] : 1;
        pd->out = real ? out[j] : 1;
        pd->k = real ? k[j] : 1;
        pd->stride = real ? s[j] : 1;
        pd->dil = real ? d[j] : 1;
        pd->pad = real ? pb[j] : 0;
        pd->tb = tab;
        pd->te = tab + pd->out;
        pd->tpad = tab + 2 * pd->out;
        tab += 3 * pd->out;
        fill_dim(pd, real ? k[j] : 1, real ? pe[j] : 0);
    }
    t->x = x->data;
    t->y = ctx->out[0]->data;
    t->dtype = x->dtype;
    t->include_pad = cinfer__attr_int(ctx->node, "count_include_pad", 0) != 0;
    t->col_major = cinfer__attr_int(ctx->node, "storage_order", 0) != 0;
    t->p = cinfer__attr_float(ctx->node, "p", 2.0f);
    t->idx = ctx->n_out > 1 && ctx->out[1] ? ctx->out[1]->data : NULL;
    return CINFER_OK;
}

static cinfer_status pool_run(cinfer__cpu_ctx *ctx, pool_kind kind) {
    pool_task t = {.kind = kind};
    CINFER_TRY(pool_setup(ctx, &t));
    const cinfer_tensor *x = ctx->in[0];
    int64_t planes = x->dims[0] * x->dims[1];
    int64_t plane_work = cinfer__numel(x->rank - 2, x->dims + 2) + 1;
    cinfer__parallel_for(ctx->pool, planes, 1 + 65536 / plane_work, pool_range, &t);
    return CINFER_OK;
}

static cinfer_status run_maxpool(cinfer__cpu_ctx *ctx) { return pool_run(ctx, POOL_MAX); }
static cinfer_status run_avgpool(cinfer__cpu_ctx *ctx) { return pool_run(ctx, POOL_AVG); }
static cinfer_status run_lppool(cinfer__cpu_ctx *ctx) { return pool_run(ctx, POOL_LP); }

static cinfer_status pool_supports(const cinfer__cpu_ctx *ctx) {
    cinfer_dtype dt = ctx->in[0]->dtype;
    bool is_max = !strcmp(ctx->node->op_type, "MaxPool") ||
                  !strcmp(ctx->node->op_type, "GlobalMaxPool");
    if (ctx->in[0]->rank > 5)
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED,
                              "input 0 of rank %d: only 1-D to 3-D pooling is supported",
                              ctx->in[0]->rank);
    if (dt == CINFER_DTYPE_FLOAT ||
        (is_max && (dt == CINFER_DTYPE_UINT8 || dt == CINFER_DTYPE_INT8)))
        return CINFER_OK;
    return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "input 0 has unsupported dtype %s",
                          cinfer_dtype_name(dt));
}

/* ---- Global pools: one contiguous row per (n, c) ---- */

typedef struct global_task {
    pool_kind kind;
    const void *x;
    void *y;
    int64_t n;
    cinfer_dtype dtype;
    float p;
} global_task;

static double row_sum(const float *x, int64_t n, int mode, float p) {
    double total = 0;
    for (int64_t b = 0; b < n; b += 1024) {
        int64_t e = b + 1024 < n ? b + 1024 : n, i = b;
        float acc[8] = {0};
        if (mode == 0) {
            for (; i + 8 <= e; i += 8)
                for (int j = 0; j < 8; j++) acc[j] += x[i + j];
        } else if (mode == 2) {
            for (; i + 8 <= e; i += 8)
                for (int j = 0; j < 8; j++) acc[j] += x[i + j] * x[i + j];
        }
        for (; i < e; i++)
            acc[0] += mode == 0 ? x[i] : mode == 2 ? x[i] * x[i] : powf(fabsf(x[i]), p);
        for (int j = 0; j < 8; j++) total += acc[j];
    }
    return total;
}

#define ROW_MAX(NAME, T)                                                                  \
    static T NAME(const T *x, int64_t n) {                                                \
        T m = x[0];                                                                       \
        for (int64_t i = 1; i < n; i++) m = x[i] > m ? x[i] : m;                          \
        return m;                                                                         \
    }
ROW_MAX(row_max_u8, uint8_t)
ROW_MAX(row_max_i8, int8_t)

static float row_max_f32(const float *x, int64_t n) {
    float m[8];
    int64_t i = 0;
    for (int j = 0; j < 8; j++) m[j] = x[0];
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) m[j] = x[i + j] > m[j] ? x[i + j] : m[j];
    for (; i < n; i++) m[0] = x[i] > m[0] ? x[i] : m[0];
    for (int j = 1; j < 8; j++) m[0] = m[j] > m[0] ? m[j] : m[0];
    return m[0];
}

static void global_range(void *arg, int64_t begin, int64_t end) {
    const global_task *t = arg;
    for (int64_t r = begin; r < end; r++) {
        if (t->dtype == CINFER_DTYPE_UINT8)
            ((uint8_t *)t->y)[r] = row_max_u8((const uint8_t *)t->x + r * t->n, t->n);
        else if (t->dtype == CINFER_DTYPE_INT8)
            ((int8_t *)t->y)[r] = row_max_i8((const int8_t *)t->x + r * t->n, t->n);
        else {
            const float *x = (const float *)t->x + r * t->n;
            float *y = (float *)t->y + r;
            if (t->kind == POOL_MAX) *y = row_max_f32(x, t->n);
            else if (t->kind == POOL_AVG) *y = (float)(row_sum(x, t->n, 0, 0) / (double)t->n);
            else if (t->p == 2.0f) *y = (float)sqrt(row_sum(x, t->n, 2, 0));
            else *y = (float)pow(row_sum(x, t->n, 1, t->p), 1.0 / t->p);
        }
    }
}

static cinfer_status global_run(cinfer__cpu_ctx *ctx, pool_kind kind) {
    const cinfer_tensor *x = ctx->in[0];
    global_task t = {kind, x->data, ctx->out[0]->data, cinfer__numel(x->rank - 2, x->dims + 2),
                     x->dtype, cinfer__attr_float(ctx->node, "p", 2.0f)};
    int64_t rows = x->dims[0] * x->dims[1];
    if (t.n == 0) {
        for (int64_t r = 0; r < rows && x->dtype == CINFER_DTYPE_FLOAT; r++)
            ((float *)t.y)[r] = kind == POOL_MAX ? -INFINITY : kind == POOL_AVG ? NAN : 0.0f;
        return CINFER_OK;
    }
    cinfer__parallel_for(ctx->pool, rows, 1 + 65536 / t.n, global_range, &t);
    return CINFER_OK;
}

static cinfer_status run_gavg(cinfer__cpu_ctx *ctx) { return global_run(ctx, POOL_AVG); }
static cinfer_status run_gmax(cinfer__cpu_ctx *ctx) { return global_run(ctx, POOL_MAX); }
static cinfer_status run_glp(cinfer__cpu_ctx *ctx) { return global_run(ctx, POOL_LP); }

static cinfer_status global_supports(const cinfer__cpu_ctx *ctx) {
    cinfer_dtype dt = ctx->in[0]->dtype;
    bool is_max = !strcmp(ctx->node->op_type, "GlobalMaxPool");
    if (dt == CINFER_DTYPE_FLOAT ||
        (is_max && (dt == CINFER_DTYPE_UINT8 || dt == CINFER_DTYPE_INT8)))
        return CINFER_OK;
    return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "input 0 has unsupported dtype %s",
                          cinfer_dtype_name(dt));
}

/* ---- MaxUnpool ---- */

/* Indices are flat over the whole output (batch and channel included), as MaxPool writes them
 * for its input, which output_shape names. This follows ONNX Runtime and PyTorch; ONNX's
 * test_maxunpool_export_with_output_shape instead re-linearizes indices of the default
 * unpooled shape into a larger output, which a MaxPool/MaxUnpool pair never produces. */
static cinfer_status run_maxunpool(cinfer__cpu_ctx *ctx) {
    const float *x = ctx->in[0]->data;
    const int64_t *ix = ctx->in[1]->data;
    float *y = ctx->out[0]->data;
    int64_t n = cinfer_tensor_numel(ctx->in[0]), n_out = cinfer_tensor_numel(ctx->out[0]);
    memset(y, 0, (size_t)n_out * sizeof *y);
    for (int64_t i = 0; i < n; i++) {
        if (ix[i] < 0 || ix[i] >= n_out)
            return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                                  "input 1 (I) element %lld = %lld is outside the output of %lld "
                                  "elements",
                                  (long long)i, (long long)ix[i], (long long)n_out);
        y[ix[i]] = x[i];
    }
    return CINFER_OK;
}

const cinfer__cpu_kernel cinfer__cpu_pool[] = {
    {"MaxPool", "", pool_supports, pool_scratch, run_maxpool},
    {"AveragePool", "", pool_supports, pool_scratch, run_avgpool},
    {"LpPool", "", pool_supports, pool_scratch, run_lppool},
    {"MaxUnpool", "", NULL, NULL, run_maxunpool},
    {"GlobalAveragePool", "", global_supports, NULL, run_gavg},
    {"GlobalMaxPool", "", global_supports, NULL, run_gmax},
    {"GlobalLpPool", "", global_supports, NULL, run_glp},
    {0},
};
