/* CPU kernels: BatchNormalization (inference), LayerNormalization, InstanceNormalization,
 * LpNormalization, MeanVarianceNormalization, Softmax and LogSoftmax. */
#include <math.h>
#include <string.h>

#include "cpu/cpu.h"

/* ---- Shared row helpers ---- */

/* Sum of x[0..n) in blocks of eight float partial sums, the blocks added in double: vector
 * friendly and accurate for long rows. */
static double row_sum(const float *x, int64_t n) {
    double total = 0;
    for (int64_t b = 0; b < n; b += 1024) {
        int64_t e = b + 1024 < n ? b + 1024 : n, i = b;
        float p[8] = {0};
        for (; i + 8 <= e; i += 8)
            for (int j = 0; j < 8; j++) p[j] += x[i + j];
        for (; i < e; i++) p[0] += x[i];
        total += (double)((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
    }
    return total;
}

/* Sum of (x - mean)^2: the variance's second pass (never E[x^2] - E[x]^2, which cancels). */
static double row_dev2(const float *x, int64_t n, float mean) {
    double total = 0;
    for (int64_t b = 0; b < n; b += 1024) {
        int64_t e = b + 1024 < n ? b + 1024 : n, i = b;
        float p[8] = {0};
        for (; i + 8 <= e; i += 8)
            for (int j = 0; j < 8; j++) {
                float d = x[i + j] - mean;
                p[j] += d * d;
            }
        for (; i < e; i++) p[0] += (x[i] - mean) * (x[i] - mean);
        total += (double)((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
    }
    return total;
}

/* Softmax's loops are compiled for AVX-512 and AVX2 as well as the baseline and picked at
 * load time (the vector types below are 16 floats wide: one zmm, two ymm or four xmm). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define SM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SM_CLONES
#endif
#define SM_INLINE static inline __attribute__((always_inline))

/* A vectorized expf through GCC/Clang vector extensions (plain loops would not vectorize: the
 * range clamp is a floating compare, which -ftrapping-math keeps as a branch). 2^k * p(r)
 * with x = k ln2 + r, |r| <= ln2/2 and Cephes' expf polynomial (about 1 ulp). Arguments are
 * clamped to the normal range: below -87.3 the result is ~1e-38 rather than a denormal or 0,
 * which no softmax can tell apart. */
#define VW 16
/* The 64-byte vector helpers are always inlined: no vector crosses a call boundary, so gcc's
 * note that such returns change the ABI without AVX-512 does not apply. */
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
typedef float vf __attribute__((vector_size(4 * VW)));
typedef int32_t vi __attribute__((vector_size(4 * VW)));

SM_INLINE vf v_splat(float f) { return (vf){0} + f; }

SM_INLINE vf v_select(vi mask, vf a, vf b) { /* mask ? a : b, lane by lane */
    return (vf)(((vi)a & mask) | ((vi)b & ~mask));
}

SM_INLINE vf v_exp(vf x) {
    const vf lo = v_splat(-87.3f), hi = v_splat(88.7f);
    x = v_select(x < lo, lo, x);
    x = v_select(x > hi, hi, x);
    vf k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest */
    vf r = x - k * 0.693359375f;
    r = r + k * 2.12194440e-4f;
    vf p = r * 1.9875691500e-4f + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    vi bits = (__builtin_convertvector(k, vi) + 127) << 23;
    return p * (vf)bits;
}

/* Largest of x[0..n), n >= 1, VW lanes at a time. */
SM_INLINE float row_max(const float *x, int64_t n) {
    vf m = v_splat(x[0]), v;
    int64_t i = 0;
    for (; i + VW <= n; i += VW) {
        memcpy(&v, x + i, sizeof v);
        m = v_select(v > m, v, m);
    }
    float r = m[0];
    for (int j = 1; j < VW; j++) r = m[j] > r ? m[j] : r;
    for (; i < n; i++) r = x[i] > r ? x[i] : r;
    return r;
}

/* y[i] = exp(x[i] - m[i]) (m == NULL: exp(x[i] - ms)). The tail goes through a padded
 * vector, so every element gets the same rounding. */
SM_INLINE void exp_sub(const float *x, const float *m, float ms, float *y, int64_t n) {
    int64_t i = 0;
    vf vm = v_splat(ms), v;
    for (; i + VW <= n; i += VW) {
        memcpy(&v, x + i, sizeof v);
        if (m) memcpy(&vm, m + i, sizeof vm);
        v = v_exp(v - vm);
        memcpy(y + i, &v, sizeof v);
    }
    if (i < n) {
        float xt[VW] = {0}, mt[VW];
        for (int j = 0; j < VW; j++) mt[j] = ms;
        memcpy(xt, x + i, (size_t)(n - i) * sizeof *x);
        if (m) memcpy(mt, m + i, (size_t)(n - i) * sizeof *m);
        memcpy(&v, xt, sizeof v);
        memcpy(&vm, mt, sizeof vm);
        v = v_exp(v - vm);
        memcpy(xt, &v, sizeof v);
        memcpy(y + i, xt, (size_t)(n - i) * sizeof *y);
    }
}

/* ---- BatchNormalization (inference) and InstanceNormalization: one (n, c) plane a task ---- */

typedef struct chan_task {
    const float *x, *scale, *bias, *mean, *var;
    float *y;
    int64_t C, S; /* channels, plane size */
    float eps;
} chan_task;

static void affine_row(const float *x, float *y, int64_t n, float m, float a, float b) {
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] - m) * a + b;
}

static void batchnorm_range(void *arg, int64_t begin, int64_t end) {
    const chan_task *t = arg;
    for (int64_t p = begin; p < end; p++) {
        int64_t c = p % t->C;
        float a = (float)(t->scale[c] / sqrt((double)t->var[c] + t->eps));
        affine_row(t->x + p * t->S, t->y + p * t->S, t->S, t->mean[c], a, t->bias[c]);
    }
}

static void instnorm_range(void *arg, int64_t begin, int64_t end) {
    const chan_task *t = arg;
    for (int64_t p = begin; p < end; p++) {
        int64_t c = p % t->C;
        const float *x = t->x + p * t->S;
        float mean = (float)(row_sum(x, t->S) / (double)t->S);
        double var = row_dev2(x, t->S, mean) / (double)t->S;
        float a = (float)(t->scale[c] / sqrt(var + t->eps));
        affine_row(x, t->y + p * t->S, t->S, mean, a, t->bias[c]);
    }
}

static cinfer_status chan_run(cinfer__cpu_ctx *ctx, cinfer__range_fn fn, float dflt_eps) {
    const cinfer_tensor *x = ctx->in[0];
    chan_task t = {x->data, ctx->in[1]->data, ctx->in[2]->data, NULL, NULL, ctx->out[0]->data,
                   x->dims[1], cinfer__numel(x->rank - 2, x->dims + 2),
                   cinfer__attr_float(ctx->node, "epsilon", dflt_eps)};
    if (ctx->n_in > 4) {
        t.mean = ctx->in[3]->data;
        t.var = ctx->in[4]->data;
    }
    int64_t planes = x->dims[0] * x->dims[1];
    if (t.S > 0) cinfer__parallel_for(ctx->pool, planes, 1 + 32768 / t.S, fn, &t);
    return CINFER_OK;
}

static cinfer_status run_batchnorm(cinfer__cpu_ctx *ctx) {
    return chan_run(ctx, batchnorm_range, 1e-5f);
}

static cinfer_status run_instnorm(cinfer__cpu_ctx *ctx) {
    return chan_run(ctx, instnorm_range, 1e-5f);
}

/* ---- LayerNormalization: rows of the normalized size D ---- */

typedef struct ln_task {
    const float *x, *scale, *bias; /* scale, bias: D values each (bias may be NULL) */
    float *y, *mean, *inv;         /* mean, inv: one per row, either may be NULL */
    int64_t D;
    float eps;
} ln_task;

static void layernorm_range(void *arg, int64_t begin, int64_t end) {
    const ln_task *t = arg;
    int64_t D = t->D;
    for (int64_t r = begin; r < end; r++) {
        const float *x = t->x + r * D;
        float *y = t->y + r * D;
        float mean = (float)(row_sum(x, D) / (double)D);
        float inv = (float)(1.0 / sqrt(row_dev2(x, D, mean) / (double)D + t->eps));
        if (t->bias)
            for (int64_t i = 0; i < D; i++) y[i] = (x[i] - mean) * inv * t->scale[i] + t->bias[i];
        else
            for (int64_t i = 0; i < D; i++) y[i] = (x[i] - mean) * inv * t->scale[i];
        if (t->mean) t->mean[r] = mean;
        if (t->inv) t->inv[r] = inv;
    }
}

/* The values of t broadcast to the normalized shape dims[0..rank), D of them: t's own data
 * when it already has D elements, else expanded into dst. */
static const float *norm_values(const cinfer_tensor *t, int rank, const int64_t *dims, int64_t D,
                                float *dst) {
    if (cinfer_tensor_numel(t) == D) return t->data;
    int64_t tstr[CINFER_MAX_RANK];
    cinfer__strides(t->rank, t->dims, tstr);
    for (int64_t i = 0; i < D; i++) {
        int64_t r = i, off = 0;
        for (int k = 0; k < rank && k < t->rank; k++) { /* right-aligned dims */
            int64_t d = dims[rank - 1 - k], c = r % d;
            r /= d;
            if (t->dims[t->rank - 1 - k] != 1) off += c * tstr[t->rank - 1 - k];
        }
        dst[i] = ((const float *)t->data)[off];
    }
    return dst;
}

static int ln_axis(const cinfer__cpu_ctx *ctx) {
    int axis = 0;
    cinfer__norm_axis(cinfer__attr_int(ctx->node, "axis", -1), ctx->in[0]->rank, &axis);
    return axis;
}

static size_t layernorm_scratch(const cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    int axis = ln_axis(ctx);
    return 2 * (size_t)cinfer__numel(x->rank - axis, x->dims + axis) * sizeof(float);
}

static cinfer_status run_layernorm(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    int axis = ln_axis(ctx), nr = x->rank - axis;
    int64_t D = cinfer__numel(nr, x->dims + axis), rows = cinfer__numel(axis, x->dims);
    float *s = ctx->scratch;
    ln_task t = {x->data, NULL, NULL, ctx->out[0]->data, NULL, NULL, D,
                 cinfer__attr_float(ctx->node, "epsilon", 1e-5f)};
    t.scale = norm_values(ctx->in[1], nr, x->dims + axis, D, s);
    if (ctx->n_in > 2 && ctx->in[2]) t.bias = norm_values(ctx->in[2], nr, x->dims + axis, D, s + D);
    if (ctx->n_out > 1 && ctx->out[1]) t.mean = ctx->out[1]->data;
    if (ctx->n_out > 2 && ctx->out[2]) t.inv = ctx->out[2]->data;
    if (D > 0) cinfer__parallel_for(ctx->pool, rows, 1 + 16384 / D, layernorm_range, &t);
    return CINFER_OK;
}

/* ---- SkipLayerNorm (fusion of Add + LayerNormalization): per row, sum then normalize ---- */

/* Where operand t's elements sit in the sum's [rank] shape: stride 0 on broadcast dims. */
typedef struct bcast_view {
    const float *data;
    int64_t st[CINFER_MAX_RANK];
    bool rows; /* not broadcast within a normalized row: each row is contiguous in data */
} bcast_view;

typedef struct skip_task {
    bcast_view a, b;
    int rank;
    const int64_t *dims;
    float *sum;  /* where the sum goes: the sum output, or Y itself */
    ln_task ln;
} skip_task;

static void bcast_view_make(const cinfer_tensor *t, int rank, const int64_t *dims, int axis,
                            bcast_view *v) {
    int64_t st[CINFER_MAX_RANK];
    cinfer__strides(t->rank, t->dims, st);
    v->data = t->data;
    v->rows = true;
    for (int k = 0; k < rank; k++) {
        int tk = k - (rank - t->rank);
        bool real = tk >= 0 && t->dims[tk] != 1;
        v->st[k] = real ? st[tk] : 0;
        if (k >= axis && !real && dims[k] != 1) v->rows = false;
    }
}

/* Offset in t's data of element i (row-major over dims) of the broadcast operand. */
static int64_t bcast_offset(const bcast_view *v, int rank, const int64_t *dims, int64_t i) {
    int64_t off = 0;
    for (int k = rank - 1; k >= 0; k--) {
        off += i % dims[k] * v->st[k];
        i /= dims[k];
    }
    return off;
}

static void skip_range(void *arg, int64_t begin, int64_t end) {
    const skip_task *t = arg;
    int64_t D = t->ln.D;
    for (int64_t r = begin; r < end; r++) {
        float *s = t->sum + r * D;
        if (t->a.rows && t->b.rows) {
            const float *a = t->a.data + bcast_offset(&t->a, t->rank, t->dims, r * D);
            const float *b = t->b.data + bcast_offset(&t->b, t->rank, t->dims, r * D);
            for (int64_t i = 0; i < D; i++) s[i] = a[i] + b[i];
        } else {
            for (int64_t i = 0; i < D; i++)
                s[i] = t->a.data[bcast_offset(&t->a, t->rank, t->dims, r * D + i)] +
                       t->b.data[bcast_offset(&t->b, t->rank, t->dims, r * D + i)];
        }
        ln_task one = t->ln; /* this row only: normalize the sum just written */
        one.x = s;
        one.y = t->ln.y + r * D;
        layernorm_range(&one, 0, 1);
    }
}

static size_t skip_layernorm_scratch(const cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *y = ctx->out[0];
    int axis = 0;
    cinfer__norm_axis(cinfer__attr_int(ctx->node, "axis", -1), y->rank, &axis);
    return 2 * (size_t)cinfer__numel(y->rank - axis, y->dims + axis) * sizeof(float);
}

static cinfer_status run_skip_layernorm(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *y = ctx->out[0];
    int axis = 0;
    cinfer__norm_axis(cinfer__attr_int(ctx->node, "axis", -1), y->rank, &axis);
    int nr = y->rank - axis;
    int64_t D = cinfer__numel(nr, y->dims + axis), rows = cinfer__numel(axis, y->dims);
    float *scr = ctx->scratch;
    skip_task t = {.rank = y->rank, .dims = y->dims,
                   .sum = ctx->n_out > 1 && ctx->out[1] ? ctx->out[1]->data : y->data};
    bcast_view_make(ctx->in[0], y->rank, y->dims, axis, &t.a);
    bcast_view_make(ctx->in[1], y->rank, y->dims, axis, &t.b);
    t.ln = (ln_task){NULL, NULL, NULL, y->data, NULL, NULL, D,
                     cinfer__attr_float(ctx->node, "epsilon", 1e-5f)};
    t.ln.scale = norm_values(ctx->in[2], nr, y->dims + axis, D, scr);
    if (ctx->n_in > 3 && ctx->in[3]) t.ln.bias = norm_values(ctx->in[3], nr, y->dims + axis, D,
                                                             scr + D);
    if (D > 0) cinfer__parallel_for(ctx->pool, rows, 1 + 16384 / D, skip_range, &t);
    return CINFER_OK;
}

/* ---- Softmax / LogSoftmax over (outer, n, inner) ---- */

typedef struct sm_task {
    const float *x;
    float *y;
    int64_t n, inner, chunks;
    bool log;
} sm_task;

/* Stable softmax of one contiguous row: subtract the max before exp. */
SM_CLONES
static void softmax_row(const float *x, float *y, int64_t n, bool log_out) {
    float m = row_max(x, n);
    exp_sub(x, NULL, m, y, n);
    double s = row_sum(y, n);
    if (log_out) {
        float ls = (float)log(s);
        for (int64_t i = 0; i < n; i++) y[i] = (x[i] - m) - ls;
    } else {
        float inv = (float)(1.0 / s);
        for (int64_t i = 0; i < n; i++) y[i] *= inv;
    }
}

void cinfer__softmax_row_f32(const float *x, float *y, int64_t n) { softmax_row(x, y, n, false); }

static void softmax_rows(void *arg, int64_t begin, int64_t end) {
    const sm_task *t = arg;
    for (int64_t r = begin; r < end; r++)
        softmax_row(t->x + r * t->n, t->y + r * t->n, t->n, t->log);
}

/* A strided axis: COLS neighbouring columns at a time, so every pass reads whole rows. */
#define COLS 64
SM_CLONES
static void softmax_cols(void *arg, int64_t begin, int64_t end) {
    const sm_task *t = arg;
    float m[COLS];
    double s[COLS];
    for (int64_t task = begin; task < end; task++) {
        int64_t o = task / t->chunks, j0 = (task % t->chunks) * COLS, inner = t->inner;
        int w = (int)(inner - j0 < COLS ? inner - j0 : COLS);
        const float *x = t->x + o * t->n * inner + j0;
        float *y = t->y + o * t->n * inner + j0;
        for (int j = 0; j < w; j++) m[j] = x[j], s[j] = 0;
        for (int64_t k = 1; k < t->n; k++)
            for (int j = 0; j < w; j++) m[j] = x[k * inner + j] > m[j] ? x[k * inner + j] : m[j];
        for (int64_t k = 0; k < t->n; k++) {
            exp_sub(x + k * inner, m, 0, y + k * inner, w);
            for (int j = 0; j < w; j++) s[j] += y[k * inner + j];
        }
        for (int j = 0; j < w; j++) s[j] = t->log ? log(s[j]) : 1.0 / s[j];
        for (int64_t k = 0; k < t->n; k++)
            for (int j = 0; j < w; j++) {
                float *v = &y[k * inner + j];
                *v = t->log ? (x[k * inner + j] - m[j]) - (float)s[j] : *v * (float)s[j];
            }
    }
}

static cinfer_status softmax_run(cinfer__cpu_ctx *ctx, bool log_out) {
    const cinfer_tensor *x = ctx->in[0];
    bool coerce = ctx->node->opset < 13;
    int rank = x->rank > 0 ? x->rank : 1, axis = 0;
    cinfer__norm_axis(cinfer__attr_int(ctx->node, "axis", coerce ? 1 : -1), rank, &axis);
    if (x->rank == 0) axis = 0;
    sm_task t = {x->data, ctx->out[0]->data, 1, 1, 1, log_out};
    int64_t outer = cinfer__numel(axis, x->dims);
    if (coerce) t.n = cinfer__numel(x->rank - axis, x->dims + axis);
    else {
        t.n = x->rank ? x->dims[axis] : 1;
        t.inner = cinfer__numel(x->rank - axis - 1, x->dims + axis + 1);
    }
    if (t.n == 0 || t.inner == 0 || outer == 0) return CINFER_OK;
    if (t.inner == 1) {
        cinfer__parallel_for(ctx->pool, outer, 1 + 16384 / t.n, softmax_rows, &t);
        return CINFER_OK;
    }
    t.chunks = (t.inner + COLS - 1) / COLS;
    cinfer__parallel_for(ctx->pool, outer * t.chunks, 1 + 16384 / (t.n * COLS), softmax_cols, &t);
    return CINFER_OK;
}

static cinfer_status run_softmax(cinfer__cpu_ctx *ctx) { return softmax_run(ctx, false); }
static cinfer_status run_logsoftmax(cinfer__cpu_ctx *ctx) { return softmax_run(ctx, true); }

/* ---- LpNormalization: x / ||x||_p along one axis (a zero norm gives zeros) ---- */

static cinfer_status run_lpnorm(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    int axis = 0;
    cinfer__norm_axis(cinfer__attr_int(ctx->node, "axis", -1), x->rank, &axis);
    bool p1 = cinfer__attr_int(ctx->node, "p", 2) == 1;
    int64_t outer = cinfer__numel(axis, x->dims), n = x->dims[axis];
    int64_t inner = cinfer__numel(x->rank - axis - 1, x->dims + axis + 1);
    const float *xd = x->data;
    float *yd = ctx->out[0]->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            const float *xs = xd + o * n * inner + j;
            float *ys = yd + o * n * inner + j;
            double s = 0;
            for (int64_t k = 0; k < n; k++)
                s += p1 ? fabs(xs[k * inner]) : (double)xs[k * inner] * xs[k * inner];
            double norm = p1 ? s : sqrt(s), inv = norm > 0 ? 1.0 / norm : 0.0;
            for (int64_t k = 0; k < n; k++) ys[k * inner] = (float)(xs[k * inner] * inv);
        }
    return CINFER_OK;
}

/* ---- MeanVarianceNormalization: (x - mean) / (std + 1e-9) over `axes` ---- */

/* Offsets of the reduced (or kept) dims of x, walked as an odometer. */
typedef struct mvn_walk {
    int n;
    int64_t dim[CINFER_MAX_RANK], str[CINFER_MAX_RANK], idx[CINFER_MAX_RANK];
} mvn_walk;

static bool walk_next(mvn_walk *w, int64_t *off) {
    int g = w->n - 1;
    while (g >= 0 && ++w->idx[g] == w->dim[g]) w->idx[g--] = 0;
    *off = 0;
    for (int k = 0; k < w->n; k++) *off += w->idx[k] * w->str[k];
    return g >= 0;
}

static void mvn_split(const cinfer__cpu_ctx *ctx, mvn_walk *red, mvn_walk *kept) {
    const cinfer_tensor *x = ctx->in[0];
    static const int64_t dflt[] = {0, 2, 3};
    size_t n;
    const int64_t *axes = cinfer__attr_ints(ctx->node, "axes", &n);
    if (!axes) axes = dflt, n = 3;
    bool mask[CINFER_MAX_RANK] = {false};
    for (size_t i = 0; i < n; i++) {
        int ax;
        if (cinfer__norm_axis(axes[i], x->rank, &ax)) mask[ax] = true;
    }
    int64_t str[CINFER_MAX_RANK];
    cinfer__strides(x->rank, x->dims, str);
    memset(red, 0, sizeof *red);
    memset(kept, 0, sizeof *kept);
    for (int i = 0; i < x->rank; i++) {
        mvn_walk *w = mask[i] ? red : kept;
        w->dim[w->n] = x->dims[i];
        w->str[w->n++] = str[i];
    }
}

static cinfer_status run_mvn(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    if (cinfer_tensor_numel(x) == 0) return CINFER_OK;
    mvn_walk red, kept;
    mvn_split(ctx, &red, &kept);
    int64_t count = 1, base = 0, off;
    for (int k = 0; k < red.n; k++) count *= red.dim[k];
    const float *xd = x->data;
    float *yd = ctx->out[0]->data;
    do {
        double s = 0, v = 0;
        memset(red.idx, 0, sizeof red.idx);
        off = 0;
        do s += xd[base + off]; while (walk_next(&red, &off));
        double mean = s / (double)count;
        do v += (xd[base + off] - mean) * (xd[base + off] - mean); while (walk_next(&red, &off));
        double inv = 1.0 / (sqrt(v / (double)count) + 1e-9);
        do yd[base + off] = (float)((xd[base + off] - mean) * inv); while (walk_next(&red, &off));
    } while (walk_next(&kept, &base));
    return CINFER_OK;
}

static cinfer_status float_supports(const cinfer__cpu_ctx *ctx) {
    for (int i = 0; i < ctx->n_in; i++)
        if (ctx->in[i] && ctx->in[i]->dtype != CINFER_DTYPE_FLOAT)
            return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED,
                                  "input %d has unsupported dtype %s", i,
                                  cinfer_dtype_name(ctx->in[i]->dtype));
    return CINFER_OK;
}

const cinfer__cpu_kernel cinfer__cpu_norm[] = {
    {"BatchNormalization", "", float_supports, NULL, run_batchnorm},
    {"InstanceNormalization", "", float_supports, NULL, run_instnorm},
    {"LayerNormalization", "", float_supports, layernorm_scratch, run_layernorm},
    {"SkipLayerNorm", "cinfer", float_supports, skip_layernorm_scratch, run_skip_layernorm},
    {"Softmax", "", float_supports, NULL, run_softmax},
    {"LogSoftmax", "", float_supports, NULL, run_logsoftmax},
    {"LpNormalization", "", float_supports, NULL, run_lpnorm},
    {"MeanVarianceNormalization", "", float_supports, NULL, run_mvn},
    {0},
};
