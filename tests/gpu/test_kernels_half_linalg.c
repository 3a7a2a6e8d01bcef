/* Half activations of the GEMM and convolution ops (docs/cuda-backend.md, "Half activations"):
 * MatMul, Gemm, FusedMatMul, Conv, ConvTranspose and FusedConv driven through their table
 * entries (supports, prepare, run) as the module drives them in half mode, at fp16 and bf16:
 * activations handed over in 16 bits, float constants (weights in a device object's weights
 * block, so the per-model cache converts them, and folded constants without one), the output
 * read back in 16 bits with guard bytes after it. Inputs are random (never zero), rounded to
 * the 16-bit type first; the reference is float64 from those rounded values, held to
 * DESIGN.md's "CUDA fp16/bf16 op vs CPU fp32" tolerance: |d| <= 1e-3 + 1e-2 * max|ref|.
 * Without a device: "skipped: no CUDA device", exit 77. Seed: CINFER_TEST_SEED. */
#include <math.h>

#include "cuda/module_impl.h"
#include "ir/passes.h"
#include "model_test.h"

#define LOW_RTOL 1e-2 /* DESIGN.md: CUDA fp16/bf16 op vs CPU fp32 */
#define LOW_ATOL 1e-3
#define MAX_IN 4
#define MAX_ATTRS 6
#define GUARD 64
#define GUARD_BYTE 0xA5

/* ---- 16-bit values on the host, independent of the device's conversions ---- */

/* Round to nearest even; the tests only round normal fp16 values (|v| in [2^-14, 65504)). */
static uint16_t to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u, m = x & 0x7fffffu;
    int e = (int)((x >> 23) & 0xff) - 127 + 15;
    if (e < 1 || e > 30) {
        CHECK(0, "test value %g is no normal fp16", (double)f);
        return 0x7e00;
    }
    uint32_t h = ((uint32_t)e << 10) | (m >> 13), rest = m & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

static float from_f16(uint16_t h) {
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    float v = e == 0    ? ldexpf((float)m, -24)
              : e == 31 ? (m ? NAN : INFINITY)
                        : ldexpf((float)(m | 0x400), e - 25);
    return (h & 0x8000) ? -v : v;
}

static uint16_t to_bf16(float f) { /* round to nearest even; no NaN here */
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    x += 0x7fffu + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

static float from_bf16(uint16_t h) {
    uint32_t x = (uint32_t)h << 16;
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

static uint16_t to_half(cinfer_dtype t, float f) {
    return t == CINFER_DTYPE_FLOAT16 ? to_f16(f) : to_bf16(f);
}
static float from_half(cinfer_dtype t, uint16_t h) {
    return t == CINFER_DTYPE_FLOAT16 ? from_f16(h) : from_bf16(h);
}

/* ---- Cases ---- */

enum { NONE, ACT, WEIGHT, FOLDED }; /* how an input reaches the op */

typedef struct slot {
    int kind;
    int rank;
    int64_t dims[4];
} slot;

typedef struct attr_spec {
    const char *name;
    int type; /* CINFER_ATTR_INT / FLOAT / STRING / INTS */
    int64_t i;
    float f;
    const char *s;
    int64_t ints[4];
    size_t count;
} attr_spec;

typedef struct op_case {
    const char *label;
    const char *op, *domain;
    int n_in;
    slot in[MAX_IN];
    int out_rank;
    int64_t out[4];
    attr_spec attrs[MAX_ATTRS];
} op_case;

#define INT_ATTR(n, v) {n, CINFER_ATTR_INT, v, 0, NULL, {0}, 0}
#define FLOAT_ATTR(n, v) {n, CINFER_ATTR_FLOAT, 0, v, NULL, {0}, 0}
#define STR_ATTR(n, v) {n, CINFER_ATTR_STRING, 0, 0, v, {0}, 0}
#define INTS2(n, a, b) {n, CINFER_ATTR_INTS, 0, 0, NULL, {a, b}, 2}
#define INTS4(n, a, b, c, d) {n, CINFER_ATTR_INTS, 0, 0, NULL, {a, b, c, d}, 4}

/* GEMM K up to 768; odd M and N; batches broadcast and not; both operands activations. */
static const op_case k_cases[] = {
    {"MatMul batched x weight, K 768", "MatMul", "", 2,
     {{ACT, 3, {3, 37, 768}}, {WEIGHT, 2, {768, 45}}}, 3, {3, 37, 45}, {{0}}},
    {"MatMul activation x activation", "MatMul", "", 2,
     {{ACT, 3, {2, 19, 64}}, {ACT, 3, {2, 64, 33}}}, 3, {2, 19, 33}, {{0}}},
    {"Gemm transB, row bias, fused relu", "Gemm", "", 3,
     {{ACT, 2, {29, 200}}, {WEIGHT, 2, {50, 200}}, {WEIGHT, 1, {50}}}, 2, {29, 50},
     {INT_ATTR("transB", 1), FLOAT_ATTR("alpha", 0.5f), INT_ATTR(CINFER_FUSED_RELU_ATTR, 1)}},
    {"Gemm transA, activation C, beta", "Gemm", "", 3,
     {{ACT, 2, {200, 29}}, {FOLDED, 2, {200, 50}}, {ACT, 2, {29, 50}}}, 2, {29, 50},
     {INT_ATTR("transA", 1), FLOAT_ATTR("beta", 0.75f)}},
    {"Gemm constant C", "Gemm", "", 3,
     {{ACT, 2, {7, 96}}, {WEIGHT, 2, {96, 24}}, {FOLDED, 2, {7, 24}}}, 2, {7, 24},
     {FLOAT_ATTR("beta", 1.5f)}},
    {"FusedMatMul bias gelu (erf)", "FusedMatMul", CINFER_FUSED_DOMAIN, 3,
     {{ACT, 3, {2, 13, 96}}, {FOLDED, 2, {96, 40}}, {WEIGHT, 1, {40}}}, 3, {2, 13, 40},
     {STR_ATTR("activation", "gelu")}},
    {"FusedMatMul bias gelu_tanh", "FusedMatMul", CINFER_FUSED_DOMAIN, 3,
     {{ACT, 2, {31, 768}}, {WEIGHT, 2, {768, 17}}, {WEIGHT, 1, {17}}}, 2, {31, 17},
     {STR_ATTR("activation", "gelu_tanh")}},
    {"FusedMatMul relu, no bias", "FusedMatMul", CINFER_FUSED_DOMAIN, 2,
     {{ACT, 2, {9, 70}}, {WEIGHT, 2, {70, 21}}}, 2, {9, 21}, {STR_ATTR("activation", "relu")}},
    {"Conv 3x3 pad 1, bias, fused relu", "Conv", "", 3,
     {{ACT, 4, {2, 5, 11, 13}}, {WEIGHT, 4, {7, 5, 3, 3}}, {WEIGHT, 1, {7}}}, 4, {2, 7, 11, 13},
     {INTS4("pads", 1, 1, 1, 1), INT_ATTR(CINFER_FUSED_RELU_ATTR, 1)}},
    {"Conv stride 2, dilation 2, folded W", "Conv", "", 2,
     {{ACT, 4, {1, 8, 13, 12}}, {FOLDED, 4, {6, 8, 3, 3}}}, 4, {1, 6, 5, 4},
     {INTS2("strides", 2, 2), INTS2("dilations", 2, 2)}},
    {"Conv depthwise", "Conv", "", 3,
     {{ACT, 4, {2, 4, 9, 7}}, {WEIGHT, 4, {4, 1, 3, 3}}, {FOLDED, 1, {4}}}, 4, {2, 4, 9, 7},
     {INTS4("pads", 1, 1, 1, 1), INT_ATTR("group", 4)}},
    {"FusedConv bias + Z, relu", "FusedConv", CINFER_FUSED_DOMAIN, 4,
     {{ACT, 4, {2, 4, 7, 9}}, {WEIGHT, 4, {6, 4, 3, 3}}, {WEIGHT, 1, {6}}, {ACT, 4, {2, 6, 7, 9}}},
     4, {2, 6, 7, 9}, {INTS4("pads", 1, 1, 1, 1), INT_ATTR(CINFER_FUSED_RELU_ATTR, 1)}},
    {"ConvTranspose stride 2, pad 1", "ConvTranspose", "", 3,
     {{ACT, 4, {1, 6, 5, 7}}, {WEIGHT, 4, {6, 4, 3, 3}}, {WEIGHT, 1, {4}}}, 4, {1, 4, 9, 13},
     {INTS2("strides", 2, 2), INTS4("pads", 1, 1, 1, 1)}},
};

/* ---- Float64 references from the rounded inputs ---- */

static int64_t numel(int rank, const int64_t *dims) {
    int64_t n = 1;
    for (int d = 0; d < rank; d++) n *= dims[d];
    return n;
}

static const attr_spec *find_attr(const op_case *c, const char *name) {
    for (int i = 0; i < MAX_ATTRS && c->attrs[i].name; i++)
        if (!strcmp(c->attrs[i].name, name)) return &c->attrs[i];
    return NULL;
}
static int64_t attr_int(const op_case *c, const char *name, int64_t dflt) {
    const attr_spec *a = find_attr(c, name);
    return a ? a->i : dflt;
}
static float attr_float(const op_case *c, const char *name, float dflt) {
    const attr_spec *a = find_attr(c, name);
    return a ? a->f : dflt;
}
static int64_t attr_at(const op_case *c, const char *name, int k, int64_t dflt) {
    const attr_spec *a = find_attr(c, name);
    return a ? a->ints[k] : dflt;
}

static double gelu(double x, bool tanh_form) {
    if (!tanh_form) return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

/* MatMul / FusedMatMul: [batch or 1, M, K] x [batch or 1, K, N] (+ bias[n], activation). */
static void ref_matmul(const op_case *c, double *const *v, double *y) {
    const slot *a = &c->in[0], *b = &c->in[1];
    int64_t m = a->dims[a->rank - 2], k = a->dims[a->rank - 1], n = b->dims[b->rank - 1];
    int64_t batch = numel(c->out_rank - 2, c->out);
    bool a_b = numel(a->rank - 2, a->dims) > 1, b_b = numel(b->rank - 2, b->dims) > 1;
    const attr_spec *act = find_attr(c, "activation");
    for (int64_t t = 0; t < batch; t++)
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double s = 0;
                for (int64_t p = 0; p < k; p++)
                    s += v[0][(a_b ? t : 0) * m * k + i * k + p] *
                         v[1][(b_b ? t : 0) * k * n + p * n + j];
                if (c->n_in > 2) s += v[2][j];
                if (act && !strcmp(act->s, "relu")) s = s < 0 ? 0 : s;
                if (act && !strncmp(act->s, "gelu", 4)) s = gelu(s, !strcmp(act->s, "gelu_tanh"));
                y[(t * m + i) * n + j] = s;
            }
}

/* Gemm: alpha op(A) op(B) + beta C, C a row of N or M x N; then the fused clamp. */
static void ref_gemm(const op_case *c, double *const *v, double *y) {
    bool ta = attr_int(c, "transA", 0), tb = attr_int(c, "transB", 0);
    int64_t m = c->out[0], n = c->out[1], k = ta ? c->in[0].dims[0] : c->in[0].dims[1];
    double alpha = attr_float(c, "alpha", 1.0f), beta = attr_float(c, "beta", 1.0f);
    bool full_c = c->n_in > 2 && c->in[2].rank == 2;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t p = 0; p < k; p++)
                s += v[0][ta ? p * m + i : i * k + p] * v[1][tb ? j * k + p : p * n + j];
            s *= alpha;
            if (c->n_in > 2) s += beta * v[2][full_c ? i * n + j : j];
            if (attr_int(c, CINFER_FUSED_RELU_ATTR, 0)) s = s < 0 ? 0 : s;
            y[i * n + j] = s;
        }
}

/* Conv / FusedConv / ConvTranspose, 2-D NCHW with groups, pads, strides, dilations; bias, Z
 * and the fused clamp after the sum. */
static void ref_conv(const op_case *c, double *const *v, double *y) {
    bool tr = !strcmp(c->op, "ConvTranspose");
    const int64_t *xd = c->in[0].dims, *wd = c->in[1].dims, *yd = c->out;
    int64_t g = attr_int(c, "group", 1), ci_g = xd[1] / g, co_g = yd[1] / g;
    int64_t sh = attr_at(c, "strides", 0, 1), sw = attr_at(c, "strides", 1, 1);
    int64_t dh = attr_at(c, "dilations", 0, 1), dw = attr_at(c, "dilations", 1, 1);
    int64_t ph = attr_at(c, "pads", 0, 0), pw = attr_at(c, "pads", 1, 0);
    int64_t ny = numel(4, yd);
    for (int64_t i = 0; i < ny; i++) y[i] = 0;
    for (int64_t b = 0; b < xd[0]; b++)
        for (int64_t co = 0; co < yd[1]; co++)
            for (int64_t ci = 0; ci < ci_g; ci++)
                for (int64_t ky = 0; ky < wd[2]; ky++)
                    for (int64_t kx = 0; kx < wd[3]; kx++)
                        for (int64_t oy = 0; oy < yd[2]; oy++)
                            for (int64_t ox = 0; ox < yd[3]; ox++) {
                                int64_t grp = co / co_g, xc = grp * ci_g + ci, iy, ix, w;
                                if (!tr) {
                                    iy = oy * sh - ph + ky * dh;
                                    ix = ox * sw - pw + kx * dw;
                                    w = ((co * ci_g + ci) * wd[2] + ky) * wd[3] + kx;
                                } else { /* oy = iy * s - p + k * d */
                                    int64_t ty = oy + ph - ky * dh, tx = ox + pw - kx * dw;
                                    if (ty % sh || tx % sw) continue;
                                    iy = ty / sh;
                                    ix = tx / sw;
                                    w = ((xc * co_g + co % co_g) * wd[2] + ky) * wd[3] + kx;
                                }
                                if (iy < 0 || iy >= xd[2] || ix < 0 || ix >= xd[3]) continue;
                                y[((b * yd[1] + co) * yd[2] + oy) * yd[3] + ox] +=
                                    v[0][((b * xd[1] + xc) * xd[2] + iy) * xd[3] + ix] * v[1][w];
                            }
    int64_t plane = yd[2] * yd[3];
    for (int64_t i = 0; i < ny; i++) {
        if (c->n_in > 2) y[i] += v[2][(i / plane) % yd[1]];
        if (c->n_in > 3) y[i] += v[3][i];
        if (attr_int(c, CINFER_FUSED_RELU_ATTR, 0)) y[i] = y[i] < 0 ? 0 : y[i];
    }
}

static void reference(const op_case *c, double *const *v, double *y) {
    if (!strcmp(c->op, "Gemm")) ref_gemm(c, v, y);
    else if (strstr(c->op, "MatMul")) ref_matmul(c, v, y);
    else ref_conv(c, v, y);
}

/* ---- Driving one op the way module_api.c does in half mode ---- */

typedef struct env {
    cinfer_cuda_device *dev;
    cinfer_cuda_ctx *ctx;
} env;

typedef struct bufs {
    float *host[MAX_IN];  /* rounded values as float (the constants' host data) */
    double *ref_in[MAX_IN];
    void *dev[MAX_IN];    /* what run gets: 16-bit activations, float constants */
    bool dev_owned[MAX_IN];
    uint16_t *out_host;
    unsigned char *out_dev; /* output plus GUARD bytes */
    double *ref_out;
} bufs;

static const cuda_op *find_op(const op_case *c) {
    const cuda_op *tables[] = {cinfer_cuda_ops_linalg, cinfer_cuda_ops_conv};
    for (int t = 0; t < 2; t++)
        for (const cuda_op *op = tables[t]; op->op_type; op++)
            if (!strcmp(op->op_type, c->op) && !strcmp(op->domain, c->domain)) return op;
    return NULL;
}

/* Random rounded inputs; activations uploaded in 16 bits, constants as float (a WEIGHT one into
 * the device object's weights block, where the cache finds it). */
static bool make_inputs_for(env *e, const op_case *c, cinfer_dtype t, unsigned long long *s,
                            bufs *b) {
    for (int i = 0; i < c->n_in; i++) {
        const slot *sl = &c->in[i];
        if (sl->kind == NONE) continue;
        size_t n = (size_t)numel(sl->rank, sl->dims);
        b->host[i] = malloc(n * sizeof(float));
        b->ref_in[i] = malloc(n * sizeof(double));
        uint16_t *h16 = malloc(n * 2);
        if (!b->host[i] || !b->ref_in[i] || !h16) {
            free(h16);
            return false;
        }
        for (size_t k = 0; k < n; k++) {
            h16[k] = to_half(t, rand_value(s));
            b->host[i][k] = from_half(t, h16[k]);
            b->ref_in[i][k] = b->host[i][k];
        }
        size_t bytes = sl->kind == ACT ? n * 2 : n * sizeof(float);
        cudaError_t ce = cudaSuccess;
        if (sl->kind == WEIGHT) {
            cinfer_cuda_err err = {0};
            if (cinfer_cuda_device_weights_alloc(e->dev, bytes, &b->dev[i], &err) != CINFER_OK) {
                CHECK(0, "%s: weights_alloc: %s", c->label, err.msg);
                free(h16);
                return false;
            }
        } else {
            ce = cudaMalloc(&b->dev[i], bytes);
            b->dev_owned[i] = ce == cudaSuccess;
        }
        if (ce == cudaSuccess)
            ce = cudaMemcpy(b->dev[i], sl->kind == ACT ? (void *)h16 : (void *)b->host[i], bytes,
                            cudaMemcpyHostToDevice);
        if (ce == cudaSuccess) ce = cudaDeviceSynchronize(); /* pageable copies may return early */
        free(h16);
        CHECK(ce == cudaSuccess, "%s: input %d upload: %s", c->label, i, cudaGetErrorString(ce));
        if (ce != cudaSuccess) return false;
    }
    return true;
}

static void free_bufs(bufs *b) {
    for (int i = 0; i < MAX_IN; i++) {
        free(b->host[i]);
        free(b->ref_in[i]);
        if (b->dev_owned[i]) (void)cudaFree(b->dev[i]);
    }
    free(b->out_host);
    free(b->ref_out);
    if (b->out_dev) (void)cudaFree(b->out_dev);
}

/* The node as the op sees it in half mode, and the step module_api.c's prepare would make. */
typedef struct node_view {
    cinfer__node node;
    cinfer__attr attrs[MAX_ATTRS];
    cinfer_tensor tin[MAX_IN], tout;
    const cinfer_tensor *in[MAX_IN], *out[1];
    const void *weight[MAX_IN];
    cinfer_cuda_node mn;
} node_view;

static void make_view(const op_case *c, cinfer_dtype t, const bufs *b, node_view *v) {
    memset(v, 0, sizeof *v);
    int na = 0;
    for (; na < MAX_ATTRS && c->attrs[na].name; na++) {
        const attr_spec *a = &c->attrs[na];
        v->attrs[na] = (cinfer__attr){.name = (char *)a->name, .type = a->type, .i = a->i,
                                      .f = a->f, .s = (char *)a->s,
                                      .ints = (int64_t *)a->ints, .count = a->count};
    }
    v->node = (cinfer__node){.name = (char *)c->label, .op_type = (char *)c->op,
                             .domain = (char *)c->domain, .n_in = c->n_in, .n_out = 1,
                             .n_attrs = na, .attrs = v->attrs};
    for (int i = 0; i < c->n_in; i++) {
        const slot *sl = &c->in[i];
        if (sl->kind == NONE) continue;
        cinfer_tensor *x = &v->tin[i];
        *x = (cinfer_tensor){.dtype = sl->kind == ACT ? t : CINFER_DTYPE_FLOAT, .rank = sl->rank,
                             .data = sl->kind == ACT ? NULL : b->host[i]};
        memcpy(x->dims, sl->dims, sizeof sl->dims);
        v->in[i] = x;
        v->weight[i] = sl->kind == WEIGHT ? b->dev[i] : NULL;
    }
    v->tout = (cinfer_tensor){.dtype = t, .rank = c->out_rank};
    memcpy(v->tout.dims, c->out, sizeof c->out);
    v->out[0] = &v->tout;
    v->mn = (cinfer_cuda_node){.node = &v->node, .n_in = c->n_in, .n_out = 1, .in = v->in,
                               .out = v->out, .weight = v->weight,
                               .precision = t == CINFER_DTYPE_FLOAT16 ? CINFER_PRECISION_FP16
                                                                      : CINFER_PRECISION_BF16};
}

static void make_step(const cuda_op *op, const node_view *v, cuda_step *s) {
    memset(s, 0, sizeof *s);
    s->op = op;
    s->node = &v->node;
    s->n_in = v->mn.n_in;
    s->n_out = 1;
    for (int i = 0; i < v->mn.n_in; i++)
        if ((s->has_in[i] = v->in[i] != NULL)) {
            s->in[i] = *v->in[i];
            s->in[i].data = NULL;
        }
    s->has_out[0] = true;
    s->out[0] = v->tout;
    s->half = v->tout.dtype;
}

/* max|got - ref| against the tolerance; NaN or Inf in got fails. */
static void compare(const op_case *c, cinfer_dtype t, const uint16_t *got, const double *ref,
                    int64_t n) {
    double d = 0, maxref = 0;
    int64_t worst = 0;
    for (int64_t i = 0; i < n; i++) maxref = fmax(maxref, fabs(ref[i]));
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)from_half(t, got[i]) - ref[i]);
        if (!isfinite(e)) e = INFINITY;
        if (e > d) d = e, worst = i;
    }
    CHECK(d <= LOW_ATOL + LOW_RTOL * maxref,
          "%s at %s: max |gpu - ref| %.4g > %.4g (element %lld: %.6g vs %.6g; max|ref| %.4g)",
          c->label, t == CINFER_DTYPE_FLOAT16 ? "fp16" : "bf16", d, LOW_ATOL + LOW_RTOL * maxref,
          (long long)worst, (double)from_half(t, got[worst]), ref[worst], maxref);
}

static void fetch_and_check(const op_case *c, cinfer_dtype t, bufs *b, int64_t n) {
    size_t bytes = (size_t)n * 2;
    unsigned char *host = malloc(bytes + GUARD);
    b->out_host = (uint16_t *)host;
    cudaError_t ce = host ? cudaMemcpy(host, b->out_dev, bytes + GUARD, cudaMemcpyDeviceToHost)
                          : cudaErrorMemoryAllocation;
    CHECK(ce == cudaSuccess, "%s: download: %s", c->label, cudaGetErrorString(ce));
    if (ce != cudaSuccess) return;
    bool guard_ok = true;
    for (size_t i = 0; i < GUARD; i++) guard_ok = guard_ok && host[bytes + i] == GUARD_BYTE;
    CHECK(guard_ok, "%s: bytes after the output were written", c->label);
    compare(c, t, b->out_host, b->ref_out, n);
}

static void run_case(env *e, const op_case *c, cinfer_dtype t, unsigned long long s0) {
    unsigned long long s = s0;
    const cuda_op *op = find_op(c);
    CHECK(op && op->half_io, "%s: no table entry, or it lacks half_io", c->label);
    if (!op || !op->half_io) return;
    bufs b;
    memset(&b, 0, sizeof b);
    node_view v;
    cuda_step step;
    char why[CINFER_CUDA_MSG_LEN] = "";
    cinfer_cuda_err err = {0};
    int64_t n = numel(c->out_rank, c->out);
    if (!make_inputs_for(e, c, t, &s, &b)) goto done;
    b.ref_out = malloc((size_t)n * sizeof(double));
    cudaError_t ce = cudaMalloc((void **)&b.out_dev, (size_t)n * 2 + GUARD);
    if (ce == cudaSuccess) ce = cudaMemset(b.out_dev, GUARD_BYTE, (size_t)n * 2 + GUARD);
    CHECK(ce == cudaSuccess && b.ref_out, "%s: output buffers", c->label);
    if (ce != cudaSuccess || !b.ref_out) goto done;
    make_view(c, t, &b, &v);
    cinfer_status st = op->supports(&v.mn, why);
    CHECK(st == CINFER_OK, "%s: supports refused: %s", c->label, why);
    if (st != CINFER_OK) goto done;
    make_step(op, &v, &step);
    st = op->prepare ? op->prepare(e->ctx, &v.mn, &step, &err) : CINFER_OK;
    CHECK(st == CINFER_OK, "%s: prepare: %s", c->label, err.msg);
    if (st != CINFER_OK) goto done;
    void *out[1] = {b.out_dev};
    st = op->run(e->ctx, &step, (const void *const *)b.dev, out, &err);
    CHECK(st == CINFER_OK, "%s: run: %s", c->label, err.msg);
    ce = cudaStreamSynchronize(e->ctx->compute);
    CHECK(ce == cudaSuccess, "%s: sync: %s", c->label, cudaGetErrorString(ce));
    if (st == CINFER_OK && ce == cudaSuccess) {
        reference(c, b.ref_in, b.ref_out);
        fetch_and_check(c, t, &b, n);
    }
    if (step.priv && op->release) op->release(step.priv);
done:
    free_bufs(&b);
}

/* A float activation in half mode, or a 16-bit output at fp32, is refused with a reason. */
static void check_refusals(void) {
    const op_case *c = &k_cases[0];
    bufs b;
    memset(&b, 0, sizeof b);
    float w[1] = {1.0f};
    b.host[1] = w;
    node_view v;
    char why[CINFER_CUDA_MSG_LEN] = "";
    make_view(c, CINFER_DTYPE_FLOAT16, &b, &v);
    v.tin[0].dtype = CINFER_DTYPE_FLOAT; /* a float activation beside a 16-bit output */
    const cuda_op *op = find_op(c);
    CHECK(op && op->supports(&v.mn, why) == CINFER_UNSUPPORTED && why[0],
          "MatMul with a float activation in half mode was not refused");
    make_view(c, CINFER_DTYPE_FLOAT16, &b, &v);
    v.mn.precision = CINFER_PRECISION_FP32;
    CHECK(op && op->supports(&v.mn, why) == CINFER_UNSUPPORTED,
          "MatMul with fp16 tensors in an fp32 plan was not refused");
}

int main(void) {
    if (getenv("CINFER_TEST_SEED")) seed = strtoull(getenv("CINFER_TEST_SEED"), NULL, 10);
    if (!have_device()) {
        printf("skipped: no CUDA device\n");
        return 77;
    }
    check_refusals();
    env e = {0};
    cinfer_cuda_err err = {0};
    cinfer_status st = cinfer_cuda_device_create(0, 16u << 20, &e.dev, &err);
    CHECK(st == CINFER_OK, "device_create: %s", err.msg);
    cinfer_cuda_ctx_config cfg = {.arena_bytes = 1u << 20, .blas_workspace_bytes = 32u << 20,
                                  .dnn_workspace_bytes = 64u << 20};
    if (st == CINFER_OK) st = cinfer_cuda_ctx_create(0, &cfg, &e.ctx, &err);
    CHECK(st == CINFER_OK, "ctx_create: %s", err.msg);
    if (st == CINFER_OK) {
        e.ctx->owner = e.dev; /* as module_api.c's ctx_create sets it: WEIGHT inputs are cached */
        const cinfer_dtype types[2] = {CINFER_DTYPE_FLOAT16, CINFER_DTYPE_BFLOAT16};
        size_t n_cases = sizeof k_cases / sizeof k_cases[0];
        for (size_t i = 0; i < n_cases; i++)
            for (int t = 0; t < 2; t++) run_case(&e, &k_cases[i], types[t], seed + i * 2 + t);
    }
    cinfer_cuda_ctx_destroy(e.ctx);
    cinfer_cuda_device_destroy(e.dev);
    printf("%s (seed %llu)\n", failures ? "FAILED" : "ok", seed);
    return failures ? 1 : 0;
}
