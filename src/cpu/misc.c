/* CPU kernels of the misc family: TopK, CumSum, Hardmax, LRN, Mish, Det, ReverseSequence and
 * Compress here; Einsum, the quantization ops, Unique/NonMaxSuppression and
 * RoiAlign/GridSample in misc_*.c. The kernel table lists them all. */
#include <math.h>
#include <string.h>

#include "cpu/misc.h"

/* A tensor seen as [outer, n, inner] around one axis. */
typedef struct axis_view {
    int64_t outer, n, inner;
} axis_view;

static axis_view view_at(const cinfer_tensor *t, int axis) {
    axis_view v = {cinfer__numel(axis, t->dims), t->dims[axis],
                   cinfer__numel(t->rank - axis - 1, t->dims + axis + 1)};
    return v;
}

static int attr_axis(const cinfer__cpu_ctx *ctx, int64_t dflt) {
    int axis = 0;
    cinfer__norm_axis(cinfer__attr_int(ctx->node, "axis", dflt), ctx->in[0]->rank, &axis);
    return axis;
}

/* Items per parallel chunk so that each chunk does about 16k element operations. */
static int64_t grain(int64_t work_per_item) {
    return work_per_item >= 16384 ? 1 : 16384 / (work_per_item > 0 ? work_per_item : 1);
}

static cinfer_status unsupported(const cinfer__cpu_ctx *ctx) {
    return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "dtype %s is not supported",
                          cinfer_dtype_name(ctx->in[0]->dtype));
}

/* ---- TopK: a bounded heap per slice (root = the kept element that ranks last), then the
 * heap is emptied from the back; ties rank the lower index first. ---- */

typedef struct topk_job {
    const void *x;
    void *vals;
    int64_t *idx, *heap;
    axis_view v;
    int64_t k;
    bool largest;
} topk_job;

#define TOPK_SLICES(NAME, T)                                                                \
    static inline bool NAME##_before(const T *x, int64_t step, bool lg, int64_t a, int64_t b) { \
        T xa = x[a * step], xb = x[b * step];                                               \
        if (xa != xb) return lg ? xa > xb : xa < xb;                                        \
        return a < b;                                                                       \
    }                                                                                       \
    static void NAME##_sift(const T *x, int64_t st, bool lg, int64_t *h, int64_t n, int64_t i) { \
        for (;;) {                                                                          \
            int64_t c = 2 * i + 1, w = i;                                                   \
            if (c < n && NAME##_before(x, st, lg, h[w], h[c])) w = c;                       \
            if (c + 1 < n && NAME##_before(x, st, lg, h[w], h[c + 1])) w = c + 1;           \
            if (w == i) return;                                                             \
            int64_t t = h[i];                                                               \
            h[i] = h[w], h[w] = t, i = w;                                                   \
        }                                                                                   \
    }                                                                                       \
    static void NAME(void *arg, int64_t begin, int64_t end) {                               \
        const topk_job *j = arg;                                                            \
        int64_t n = j->v.n, in = j->v.inner, k = j->k;                                      \
        for (int64_t s = begin; s < end; s++) {                                             \
            int64_t o = s / in, q = s % in, *h = j->heap + s * k;                           \
            const T *x = (const T *)j->x + o * n * in + q;                                  \
            for (int64_t i = 0; i < n; i++) {                                               \
                if (i < k) {                                                                \
                    h[i] = i;                                                               \
                    if (i == k - 1)                                                         \
                        for (int64_t p = k / 2; p-- > 0;) NAME##_sift(x, in, j->largest, h, k, p); \
                } else if (NAME##_before(x, in, j->largest, i, h[0])) {                     \
                    h[0] = i;                                                               \
                    NAME##_sift(x, in, j->largest, h, k, 0);                                \
                }                                                                           \
            }                                                                               \
            T *vo = (T *)j->vals + o * k * in + q;                                          \
            int64_t *io = j->idx + o * k * in + q;                                          \
            for (int64_t m = k; m-- > 0;) {                                                 \
                if (vo) vo[m * in] = x[h[0] * in];                                          \
                if (io) io[m * in] = h[0];                                                  \
                h[0] = h[m];                                                                \
                NAME##_sift(x, in, j->largest, h, m, 0);                                    \
            }                                                                               \
        }                                                                                   \
    }

TOPK_SLICES(topk_f32, float)
TOPK_SLICES(topk_f64, double)
TOPK_SLICES(topk_i32, int32_t)
TOPK_SLICES(topk_i64, int64_t)

static int64_t topk_k(const cinfer__cpu_ctx *ctx) {
    if (ctx->node->opset < 10) return cinfer__attr_int(ctx->node, "k", 0);
    const cinfer_tensor *t = ctx->out[0] ? ctx->out[0] : ctx->out[1];
    return t->dims[attr_axis(ctx, -1)];
}

static size_t topk_scratch(const cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    axis_view v = view_at(x, attr_axis(ctx, -1));
    return (size_t)(v.outer * v.inner * topk_k(ctx)) * sizeof(int64_t);
}

static cinfer_status topk_run(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    topk_job j = {x->data, ctx->out[0] ? ctx->out[0]->data : NULL,
                  ctx->n_out > 1 && ctx->out[1] ? ctx->out[1]->data : NULL, ctx->scratch,
                  view_at(x, attr_axis(ctx, -1)), topk_k(ctx),
                  ctx->node->opset < 11 || cinfer__attr_int(ctx->node, "largest", 1) != 0};
    if (j.k == 0 || j.v.outer * j.v.inner == 0) return CINFER_OK;
    cinfer__range_fn fn;
    switch (x->dtype) {
    case CINFER_DTYPE_FLOAT: fn = topk_f32; break;
    case CINFER_DTYPE_DOUBLE: fn = topk_f64; break;
    case CINFER_DTYPE_INT32: fn = topk_i32; break;
    case CINFER_DTYPE_INT64: fn = topk_i64; break;
    default: return unsupported(ctx);
    }
    cinfer__parallel_for(ctx->pool, j.v.outer * j.v.inner, grain(j.v.n * 4), fn, &j);
    return CINFER_OK;
}

/* ---- CumSum (float sums accumulate in double) ---- */

typedef struct cumsum_job {
    const void *x;
    void *y;
    axis_view v;
    bool exclusive, reverse;
} cumsum_job;

#define CUMSUM_LINES(NAME, T, ACC)                                                          \
    static void NAME(void *arg, int64_t begin, int64_t end) {                               \
        const cumsum_job *j = arg;                                                          \
        int64_t n = j->v.n, in = j->v.inner;                                                \
        for (int64_t s = begin; s < end; s++) {                                             \
            int64_t base = s / in * n * in + s % in;                                        \
            const T *x = (const T *)j->x + base;                                            \
            T *y = (T *)j->y + base;                                                        \
            ACC acc = 0;                                                                    \
            for (int64_t t = 0; t < n; t++) {                                               \
                int64_t i = (j->reverse ? n - 1 - t : t) * in;                              \
                if (j->exclusive) {                                                         \
                    y[i] = (T)acc;                                                          \
                    acc += (ACC)x[i];                                                       \
                } else {                                                                    \
                    acc += (ACC)x[i];                                                       \
                    y[i] = (T)acc;                                                          \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
    }

CUMSUM_LINES(cumsum_f32, float, double)
CUMSUM_LINES(cumsum_f64, double, double)
/* Integer sums wrap as two's complement (unsigned accumulation avoids UB). */
CUMSUM_LINES(cumsum_i32, int32_t, uint32_t)
CUMSUM_LINES(cumsum_i64, int64_t, uint64_t)

static cinfer_status cumsum_run(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    int64_t a = cinfer__get_i64(ctx->in[1], 0);
    int axis;
    if (!cinfer__norm_axis(a, x->rank, &axis))
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "input 1 (axis) is %lld, out of range for rank %d", (long long)a,
                              x->rank);
    cumsum_job j = {x->data, ctx->out[0]->data, view_at(x, axis),
                    cinfer__attr_int(ctx->node, "exclusive", 0) != 0,
                    cinfer__attr_int(ctx->node, "reverse", 0) != 0};
    cinfer__range_fn fn;
    switch (x->dtype) {
    case CINFER_DTYPE_FLOAT: fn = cumsum_f32; break;
    case CINFER_DTYPE_DOUBLE: fn = cumsum_f64; break;
    case CINFER_DTYPE_INT32: fn = cumsum_i32; break;
    case CINFER_DTYPE_INT64: fn = cumsum_i64; break;
    default: return unsupported(ctx);
    }
    int64_t lines = j.v.outer * j.v.inner;
    if (lines && j.v.n) cinfer__parallel_for(ctx->pool, lines, grain(j.v.n), fn, &j);
    return CINFER_OK;
}

/* ---- Hardmax: 1 at the first maximum of each slice, 0 elsewhere. Opsets 1-12 see the
 * input as 2-D [outer, rest] at axis. ---- */

typedef struct hardmax_job {
    const void *x;
    void *y;
    axis_view v;
} hardmax_job;

#define HARDMAX_LINES(NAME, T)                                                              \
    static void NAME(void *arg, int64_t begin, int64_t end) {                               \
        const hardmax_job *j = arg;                                                         \
        int64_t n = j->v.n, in = j->v.inner;                                                \
        for (int64_t s = begin; s < end; s++) {                                             \
            int64_t base = s / in * n * in + s % in, best = 0;                              \
            const T *x = (const T *)j->x + base;                                            \
            T *y = (T *)j->y + base;                                                        \
            for (int64_t t = 1; t < n; t++)                                                 \
                if (x[t * in] > x[best * in]) best = t;                                     \
            for (int64_t t = 0; t < n; t++) y[t * in] = t == best ? 1 : 0;                  \
        }                                                                                   \
    }

HARDMAX_LINES(hardmax_f32, float)
HARDMAX_LINES(hardmax_f64, double)

static cinfer_status hardmax_run(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    bool legacy = ctx->node->opset < 13;
    int axis = attr_axis(ctx, legacy ? 1 : -1);
    hardmax_job j = {x->data, ctx->out[0]->data, view_at(x, axis)};
    if (legacy) j.v.n *= j.v.inner, j.v.inner = 1;
    cinfer__range_fn fn = x->dtype == CINFER_DTYPE_FLOAT ? hardmax_f32 : hardmax_f64;
    int64_t lines = j.v.outer * j.v.inner;
    if (lines && j.v.n) cinfer__parallel_for(ctx->pool, lines, grain(j.v.n), fn, &j);
    return CINFER_OK;
}

/* ---- LRN over channels: y = x / (bias + alpha / size * sum(x^2 over the window))^beta ---- */

typedef struct lrn_job {
    const void *x;
    void *y;
    bool f64;
    int64_t c, inner, lo, hi; /* window [ch - lo, ch + hi] */
    double alpha, beta, bias;
} lrn_job;

static double ld(const void *p, bool f64, int64_t i) {
    return f64 ? ((const double *)p)[i] : ((const float *)p)[i];
}

static void lrn_planes(void *arg, int64_t begin, int64_t end) {
    const lrn_job *j = arg;
    for (int64_t pl = begin; pl < end; pl++) {
        int64_t ch = pl % j->c, base = pl * j->inner;
        int64_t c0 = ch - j->lo < 0 ? 0 : ch - j->lo;
        int64_t c1 = ch + j->hi >= j->c ? j->c - 1 : ch + j->hi;
        for (int64_t q = 0; q < j->inner; q++) {
            double sum = 0;
            for (int64_t cc = c0; cc <= c1; cc++) {
                double v = ld(j->x, j->f64, base + (cc - ch) * j->inner + q);
                sum += v * v;
            }
            double y = ld(j->x, j->f64, base + q) / pow(j->bias + j->alpha * sum, j->beta);
            if (j->f64) ((double *)j->y)[base + q] = y;
            else ((float *)j->y)[base + q] = (float)y;
        }
    }
}

static cinfer_status lrn_run(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    int64_t size = cinfer__attr_int(ctx->node, "size", 1);
    lrn_job j = {x->data, ctx->out[0]->data, x->dtype == CINFER_DTYPE_DOUBLE, x->dims[1],
                 cinfer__numel(x->rank - 2, x->dims + 2), (size - 1) / 2, size / 2,
                 cinfer__attr_float(ctx->node, "alpha", 1e-4f) / (double)size,
                 cinfer__attr_float(ctx->node, "beta", 0.75f),
                 cinfer__attr_float(ctx->node, "bias", 1.0f)};
    int64_t planes = x->dims[0] * j.c;
    if (planes && j.inner)
        cinfer__parallel_for(ctx->pool, planes, grain(j.inner * size), lrn_planes, &j);
    return CINFER_OK;
}

/* ---- Mish: x * tanh(softplus(x)), in double ---- */

typedef struct unary_job {
    const void *x;
    void *y;
    bool f64;
} unary_job;

static double mish(double x) {
    double sp = x > 30 ? x : log1p(exp(x));
    return x * tanh(sp);
}

static void mish_range(void *arg, int64_t begin, int64_t end) {
    const unary_job *j = arg;
    if (j->f64)
        for (int64_t i = begin; i < end; i++)
            ((double *)j->y)[i] = mish(((const double *)j->x)[i]);
    else
        for (int64_t i = begin; i < end; i++)
            ((float *)j->y)[i] = (float)mish(((const float *)j->x)[i]);
}

static cinfer_status mish_run(cinfer__cpu_ctx *ctx) {
    unary_job j = {ctx->in[0]->data, ctx->out[0]->data, ctx->in[0]->dtype == CINFER_DTYPE_DOUBLE};
    int64_t n = cinfer_tensor_numel(ctx->in[0]);
    if (n) cinfer__parallel_for(ctx->pool, n, 4096, mish_range, &j);
    return CINFER_OK;
}

/* ---- Det: LU with partial pivoting in double, one matrix per scratch slot ---- */

typedef struct det_job {
    const void *x;
    void *y;
    bool f64;
    int64_t m;
    double *work; /* m*m doubles per matrix */
} det_job;

static double det_lu(double *a, int64_t m) {
    double det = 1;
    for (int64_t c = 0; c < m; c++) {
        int64_t p = c;
        for (int64_t r = c + 1; r < m; r++)
            if (fabs(a[r * m + c]) > fabs(a[p * m + c])) p = r;
        if (a[p * m + c] == 0) return 0;
        if (p != c) {
            for (int64_t k = 0; k < m; k++) {
                double t = a[c * m + k];
                a[c * m + k] = a[p * m + k], a[p * m + k] = t;
            }
            det = -det;
        }
        det *= a[c * m + c];
        for (int64_t r = c + 1; r < m; r++) {
            double f = a[r * m + c] / a[c * m + c];
            for (int64_t k = c + 1; k < m; k++) a[r * m + k] -= f * a[c * m + k];
        }
    }
    return det;
}

static void det_range(void *arg, int64_t begin, int64_t end) {
    const det_job *j = arg;
    int64_t mm = j->m * j->m;
    for (int64_t b = begin; b < end; b++) {
        double *a = j->work + b * mm;
        for (int64_t i = 0; i < mm; i++) a[i] = ld(j->x, j->f64, b * mm + i);
        double d = det_lu(a, j->m);
        if (j->f64) ((double *)j->y)[b] = d;
        else ((float *)j->y)[b] = (float)d;
    }
}

static size_t det_scratch(const cinfer__cpu_ctx *ctx) {
    return (size_t)cinfer_tensor_numel(ctx->in[0]) * sizeof(double);
}

static cinfer_status det_run(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    det_job j = {x->data, ctx->out[0]->data, x->dtype == CINFER_DTYPE_DOUBLE,
                 x->dims[x->rank - 1], ctx->scratch};
    int64_t batch = cinfer_tensor_numel(ctx->out[0]);
    if (batch) cinfer__parallel_for(ctx->pool, batch, grain(j.m * j.m * j.m), det_range, &j);
    return CINFER_OK;
}

/* ---- ReverseSequence: rows [inner] addressed by (time, batch) ---- */

static cinfer_status revseq_run(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0], *len = ctx->in[1];
    int ta = (int)cinfer__attr_int(ctx->node, "time_axis", 0);
    int64_t nt = x->dims[ta], nb = x->dims[1 - ta];
    size_t row = cinfer_dtype_size(x->dtype) * (size_t)cinfer__numel(x->rank - 2, x->dims + 2);
    for (int64_t b = 0; b < nb; b++) {
        int64_t l = cinfer__get_i64(len, b);
        if (l < 0 || l > nt)
            return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                                  "sequence_lens[%lld] = %lld is outside [0, %lld]",
                                  (long long)b, (long long)l, (long long)nt);
        for (int64_t t = 0; t < nt; t++) {
            int64_t src = t < l ? l - 1 - t : t;
            int64_t di = ta == 0 ? t * nb + b : b * nt + t;
            int64_t si = ta == 0 ? src * nb + b : b * nt + src;
            memcpy((char *)ctx->out[0]->data + di * row, (const char *)x->data + si * row, row);
        }
    }
    return CINFER_OK;
}

/* ---- Compress: copies the slices (or flattened elements) whose condition is true ---- */

static cinfer_status compress_run(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0], *c = ctx->in[1];
    const uint8_t *cond = c->data;
    axis_view v = {1, cinfer_tensor_numel(x), 1};
    if (cinfer__node_attr(ctx->node, "axis")) v = view_at(x, attr_axis(ctx, 0));
    size_t row = cinfer_dtype_size(x->dtype) * (size_t)v.inner;
    char *dst = ctx->out[0]->data;
    int64_t len = c->dims[0] < v.n ? c->dims[0] : v.n;
    for (int64_t o = 0; o < v.outer; o++)
        for (int64_t i = 0; i < len; i++)
            if (cond[i]) {
                memcpy(dst, (const char *)x->data + (o * v.n + i) * row, row);
                dst += row;
            }
    return CINFER_OK;
}

const cinfer__cpu_kernel cinfer__cpu_misc[] = {
    {"TopK", "", NULL, topk_scratch, topk_run},
    {"CumSum", "", NULL, NULL, cumsum_run},
    {"Hardmax", "", NULL, NULL, hardmax_run},
    {"LRN", "", NULL, NULL, lrn_run},
    {"Einsum", "", NULL, NULL, cinfer__cpu_einsum_run, cinfer__cpu_einsum_prepare,
     cinfer__cpu_einsum_release},
    {"QuantizeLinear", "", NULL, NULL, cinfer__cpu_quantize_run},
    {"DequantizeLinear", "", NULL, NULL, cinfer__cpu_dequantize_run},
    {"DynamicQuantizeLinear", "", NULL, NULL, cinfer__cpu_dynquant_run},
    {"Mish", "", NULL, NULL, mish_run},
    {"ReverseSequence", "", NULL, NULL, revseq_run},
    {"Compress", "", NULL, NULL, compress_run},
    {"Unique", "", NULL, cinfer__cpu_unique_scratch, cinfer__cpu_unique_run},
    {"NonMaxSuppression", "", NULL, cinfer__cpu_nms_scratch, cinfer__cpu_nms_run},
    {"RoiAlign", "", NULL, NULL, cinfer__cpu_roialign_run},
    {"GridSample", "", NULL, NULL, cinfer__cpu_gridsample_run},
    {"Det", "", NULL, det_scratch, det_run},
    {0},
};
