// The channels-last (NHWC) kernels and calls (docs/cuda-backend.md, "Channels last"):
//   relayout   cinfer_k_relayout between NCHW and NHWC (and within one layout) for every pair of
//              F32 / F16 / BF16, against a host transpose: bitwise, each 16-bit result the
//              round-to-nearest-even of the host value (computed on the host, independently of
//              the device's conversions); an f16 (and bf16) round trip is the identity.
//   pool       cinfer_k_pool2d_nhwc, max and average (pads, stride 2, count_include_pad both
//              ways), bitwise equal to the NCHW kernels on the host-transposed input (same
//              arithmetic in the same order) and within tolerance of a float64 reference.
//   conv       2-D Conv with CINFER_CONV_NHWC at fp16 and bf16 through cinfer_cuda_conv_prepare
//              and cinfer_cuda_conv_run_fused (bias, Z residual, ReLU), weights reordered to KRSC
//              by cinfer_cuda_to_16bit_krsc, against a float64 convolution of the same rounded
//              values. A dense case cuDNN has no NHWC algorithm for fails; a depthwise one only
//              prints "no NHWC algorithm".
//   bn, gap    BatchNormalization (n = N*H*W, channels = C, spatial = 1) and GlobalAveragePool
//              (a mean reduction of [N][HW][C] over HW) on NHWC data, against float64.
// Inputs are random and never zero; fp16/bf16 results are held to DESIGN.md's "CUDA fp16/bf16
// op vs CPU fp32" tolerance (|d| <= 1e-3 + 1e-2 * max|ref|). Without a device: "skipped: no
// CUDA device", exit 77. Seed: CINFER_TEST_SEED (printed with every failure).
// Before any device is needed (so CI runs it as cuda.layout_rules): the module's layout_io on
// nodes as the core plans them, against the rules of docs/cuda-backend.md, "Channels last".
#include <stdbool.h>

#include "cuda/conv.h"
#include "cuda/weights.h"
#include "kernel_harness.h"

/* ---- values of a type on the host (the harness's independent fp16 / bf16 rounding) ---------- */

// v rounded to dt, stored at element i of dst.
static void encode(cinfer_k_dtype dt, void *dst, size_t i, double v) {
    if (dt == CINFER_K_F32) ((float *)dst)[i] = (float)v;
    else ((uint16_t *)dst)[i] = half_bits(dt, v);
}

static double decode(cinfer_k_dtype dt, const void *src, size_t i) {
    if (dt == CINFER_K_F32) return ((const float *)src)[i];
    return half_value(dt, ((const uint16_t *)src)[i]);
}

// The bits (or float bits) of a value read from element type `from` and stored as `to`: what
// the kernel's load-to-float, store-rounded-to-nearest-even must give. Values stay within range
// (no saturation involved).
static void convert_elem(cinfer_k_dtype to, void *dst, size_t di, cinfer_k_dtype from,
                         const void *src, size_t si) {
    if (to == from) {
        memcpy((char *)dst + di * esize(to), (const char *)src + si * esize(from), esize(to));
        return;
    }
    double v = decode(from, src, si);  // exact: every 16-bit value is a float
    encode(to, dst, di, v);
}

// Random nonzero values of magnitude 2^-20 .. 2^12 (log-uniform, so fp16 subnormals and the
// rounding of every exponent show up), random sign, held as double.
static double rand_wide(void) {
    double v = ldexp(urand(1.0, 2.0), (int)irand(-20, 11));
    return (rng_next() & 1) ? -v : v;
}

// n random nonzero values already of type dt (encoded), for the relayout tests.
static void *rand_typed(cinfer_k_dtype dt, size_t n) {
    void *h = hmalloc(n * esize(dt) + 1);
    for (size_t i = 0; i < n; i++) {
        do encode(dt, h, i, rand_wide());
        while (decode(dt, h, i) == 0.0);
    }
    return h;
}

// Rounds v (n floats) to dt in place and returns a device copy of them in dt.
static void *d_vals(cinfer_k_dtype dt, float *v, size_t n) {
    void *h = hmalloc(n * esize(dt) + 1);
    for (size_t i = 0; i < n; i++) {
        encode(dt, h, i, v[i]);
        v[i] = (float)decode(dt, h, i);
    }
    return d_in(h, n * esize(dt));
}

static float *fetch_vals(cinfer_k_dtype dt, const void *dev, size_t n, const char *what) {
    const void *h = fetch(dev, n * esize(dt), what);
    float *v = hmalloc(n * sizeof *v + 1);
    for (size_t i = 0; i < n; i++) v[i] = (float)decode(dt, h, i);
    return v;
}

// Bitwise comparison of n elements of es bytes; the first mismatch is reported with the
// element's (b, c, s) coordinates in the layout `nhwc` of a [n][c][hw] tensor.
static void check_bits(const char *what, const void *got, const void *want, size_t count,
                       size_t es, int64_t c, int64_t hw, int nhwc) {
    for (size_t i = 0; i < count; i++) {
        const unsigned char *g = (const unsigned char *)got + i * es;
        const unsigned char *w = (const unsigned char *)want + i * es;
        if (memcmp(g, w, es) == 0) continue;
        uint32_t gv = 0, wv = 0;
        memcpy(&gv, g, es);
        memcpy(&wv, w, es);
        int64_t b = (int64_t)i / (c * hw), rest = (int64_t)i % (c * hw);
        int64_t ch = nhwc ? rest % c : rest / hw, s = nhwc ? rest / c : rest % hw;
        failf("%s: element %zu (b %lld, c %lld, s %lld) is 0x%0*x, expected 0x%0*x", what, i,
              (long long)b, (long long)ch, (long long)s, (int)(2 * es), (unsigned)gv,
              (int)(2 * es), (unsigned)wv);
        return;
    }
}

/* ---- relayout -------------------------------------------------------------------------------- */

typedef struct nch_case {
    int64_t n, c, hw;
} nch_case;

static const nch_case k_relayouts[] = {{2, 3, 49}, {1, 64, 33 * 31}, {3, 130, 7}};
#define N_RELAYOUTS (sizeof k_relayouts / sizeof k_relayouts[0])

// Offset of logical element (b, ch, s) of a [n][c][hw] tensor stored NCHW or NHWC.
static size_t offset_of(int nhwc, int64_t c, int64_t hw, int64_t b, int64_t ch, int64_t s) {
    return (size_t)(nhwc ? (b * hw + s) * c + ch : (b * c + ch) * hw + s);
}

static void relayout_case(const nch_case *k, const ftype *from, const ftype *to, int x_nhwc,
                          int y_nhwc) {
    size_t n = (size_t)(k->n * k->c * k->hw);
    char what[128];
    snprintf(what, sizeof what, "relayout %s %s -> %s %s, n %lld c %lld hw %lld", from->name,
             x_nhwc ? "NHWC" : "NCHW", to->name, y_nhwc ? "NHWC" : "NCHW", (long long)k->n,
             (long long)k->c, (long long)k->hw);
    void *x = rand_typed(from->dt, n);
    void *want = hmalloc(n * esize(to->dt) + 1);
    for (int64_t b = 0; b < k->n; b++)
        for (int64_t ch = 0; ch < k->c; ch++)
            for (int64_t s = 0; s < k->hw; s++)
                convert_elem(to->dt, want, offset_of(y_nhwc, k->c, k->hw, b, ch, s), from->dt, x,
                             offset_of(x_nhwc, k->c, k->hw, b, ch, s));
    void *dx = d_in(x, n * esize(from->dt)), *dy = d_out(n * esize(to->dt));
    if (!dx || !dy) return;
    launched(cinfer_k_relayout(to->dt, dy, y_nhwc, from->dt, dx, x_nhwc, k->n, k->c, k->hw,
                               g_stream),
             what);
    const void *got = fetch(dy, n * esize(to->dt), what);
    check_bits(what, got, want, n, esize(to->dt), k->c, k->hw, y_nhwc);
}

static void test_relayout(void) {
    static const int dirs[4][2] = {{0, 1}, {1, 0}, {0, 0}, {1, 1}};  // {x_nhwc, y_nhwc}
    for (size_t k = 0; k < N_RELAYOUTS && !g_fail; k++)
        for (size_t f = 0; f < N_TYPES; f++)
            for (size_t t = 0; t < N_TYPES; t++)
                for (int d = 0; d < 4; d++)
                    relayout_case(&k_relayouts[k], &k_types[f], &k_types[t], dirs[d][0],
                                  dirs[d][1]);
}

// An image of more than 65535 tiles of 32 pixels (1500 x 1500, 8 channels: the tiled kernel;
// fewer take the gather, as 2 x 3 x 49 above does): the tiles of one matrix are counted on
// the grid's x axis, whose limit is 2^31 - 1, so large images relayout too; and more matrices
// than the grid's y axis holds (a batch of 70000), which blocks loop over.
static void test_relayout_large(void) {
    static const nch_case big = {1, 8, 1500 * 1500}, many = {70000, 8, 3};
    relayout_case(&big, &k_types[1], &k_types[1], 1, 0);
    relayout_case(&big, &k_types[0], &k_types[1], 0, 1);
    relayout_case(&many, &k_types[2], &k_types[2], 0, 1);
    relayout_case(&many, &k_types[1], &k_types[0], 1, 0);
}

// NCHW -> NHWC -> NCHW in one 16-bit type gives back every finite value's bits (the tile holds
// them as float, which represents each exactly, subnormals included).
static void test_relayout_round_trip(void) {
    static const cinfer_k_dtype types[2] = {CINFER_K_F16, CINFER_K_BF16};
    for (size_t k = 0; k < N_RELAYOUTS; k++)
        for (int t = 0; t < 2; t++) {
            const nch_case *c = &k_relayouts[k];
            size_t n = (size_t)(c->n * c->c * c->hw);
            char what[96];
            snprintf(what, sizeof what, "round trip %s n %lld c %lld hw %lld",
                     t ? "bf16" : "f16", (long long)c->n, (long long)c->c, (long long)c->hw);
            uint16_t *x = hmalloc(n * 2 + 1);
            for (size_t i = 0; i < n; i++) {
                uint16_t h;
                do h = (uint16_t)(rng_next() >> 48);  // any finite, nonzero bit pattern
                while ((h & 0x7fffu) == 0 ||
                       (t == 0 ? (h & 0x7c00u) == 0x7c00u : (h & 0x7f80u) == 0x7f80u));
                x[i] = h;
            }
            void *dx = d_in(x, n * 2), *dm = d_out(n * 2), *dy = d_out(n * 2);
            if (!dx || !dm || !dy) return;
            launched(cinfer_k_relayout(types[t], dm, 1, types[t], dx, 0, c->n, c->c, c->hw,
                                       g_stream),
                     what);
            launched(cinfer_k_relayout(types[t], dy, 0, types[t], dm, 1, c->n, c->c, c->hw,
                                       g_stream),
                     what);
            (void)fetch(dm, n * 2, what);  // the intermediate's guard bytes
            const void *got = fetch(dy, n * 2, what);
            check_bits(what, got, x, n, 2, c->c, c->hw, 0);
        }
}

// Arguments the wrapper refuses without launching.
static void test_relayout_bad_args(void) {
    float dummy[4] = {1, 2, 3, 4};
    if (cinfer_k_relayout(CINFER_K_I64, dummy, 1, CINFER_K_F32, dummy, 0, 1, 2, 2, g_stream) !=
        cudaErrorInvalidValue)
        failf("relayout accepted int64 elements");
    if (cinfer_k_relayout(CINFER_K_F32, dummy, 1, CINFER_K_F32, dummy, 0, -1, 2, 2, g_stream) !=
        cudaErrorInvalidValue)
        failf("relayout accepted a negative count");
    if (cinfer_k_relayout(CINFER_K_F32, NULL, 1, CINFER_K_F32, dummy, 0, 1, 2, 2, g_stream) !=
        cudaErrorInvalidValue)
        failf("relayout accepted a NULL output");
    (void)cudaGetLastError();
}

/* ---- pool2d_nhwc ----------------------------------------------------------------------------- */

typedef struct pool_case {
    int64_t batch, c, h, w;
    cinfer_k_pool2d p;  // kernel, stride, pads (t, l, b, r), dilation, count_include_pad
} pool_case;

static const pool_case k_pools[] = {
    {2, 3, 11, 13, {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0}},
    {2, 3, 11, 13, {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1}},
    {1, 37, 9, 7, {2, 3, 2, 2, 0, 1, 1, 1, 1, 1, 0}},
    {3, 64, 8, 8, {3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1}},
    {2, 5, 10, 9, {2, 2, 2, 2, 0, 0, 1, 1, 2, 1, 1}},
};
#define N_POOLS (sizeof k_pools / sizeof k_pools[0])

static void pool_case_run(const ftype *ty, const pool_case *c, size_t k, bool is_max) {
    const cinfer_k_pool2d *p = &c->p;
    int64_t oh = (c->h + p->pad_top + p->pad_bottom - (p->kernel_h - 1) * p->dil_h - 1) /
                     p->stride_h + 1;
    int64_t ow = (c->w + p->pad_left + p->pad_right - (p->kernel_w - 1) * p->dil_w - 1) /
                     p->stride_w + 1;
    int64_t hw = c->h * c->w, ohw = oh * ow;
    size_t n = (size_t)(c->batch * c->c * hw), m = (size_t)(c->batch * c->c * ohw);
    char what[96];
    snprintf(what, sizeof what, "%s NHWC %s case %zu", is_max ? "MaxPool" : "AveragePool",
             ty->name, k);
    float *x = rand_f32_signed(n, 0.05, 4.0);  // NHWC
    void *dx = d_vals(ty->dt, x, n);           // x now holds the rounded values
    float *xc = hmalloc(n * sizeof *xc);       // the same, NCHW
    for (int64_t b = 0; b < c->batch; b++)
        for (int64_t ch = 0; ch < c->c; ch++)
            for (int64_t s = 0; s < hw; s++)
                xc[offset_of(0, c->c, hw, b, ch, s)] = x[offset_of(1, c->c, hw, b, ch, s)];
    void *dxc = d_vals(ty->dt, xc, n);  // exact: already of the type
    void *dy = d_out(m * esize(ty->dt)), *dyc = d_out(m * esize(ty->dt));
    if (!dx || !dxc || !dy || !dyc) return;
    launched(cinfer_k_pool2d_nhwc(ty->dt, is_max, dy, dx, c->batch, c->c, c->h, c->w, oh, ow,
                                  c->p, g_stream),
             what);
    launched((is_max ? cinfer_k_max_pool2d : cinfer_k_avg_pool2d)(
                 ty->dt, dyc, dxc, c->batch * c->c, c->h, c->w, oh, ow, c->p, g_stream),
             what);
    const unsigned char *got = fetch(dy, m * esize(ty->dt), what);
    const unsigned char *nchw = fetch(dyc, m * esize(ty->dt), what);
    // The NCHW kernel's result moved to NHWC: the NHWC kernel must match it bit for bit.
    unsigned char *want = hmalloc(m * esize(ty->dt) + 1);
    for (int64_t b = 0; b < c->batch; b++)
        for (int64_t ch = 0; ch < c->c; ch++)
            for (int64_t s = 0; s < ohw; s++)
                memcpy(want + offset_of(1, c->c, ohw, b, ch, s) * esize(ty->dt),
                       nchw + offset_of(0, c->c, ohw, b, ch, s) * esize(ty->dt), esize(ty->dt));
    char what2[128];
    snprintf(what2, sizeof what2, "%s vs the NCHW kernel", what);
    check_bits(what2, got, want, m, esize(ty->dt), c->c, ohw, 1);
    float *y = fetch_vals(ty->dt, dy, m, what);
    double *ref = ref_f64(m);
    for (int64_t b = 0; b < c->batch; b++)
        for (int64_t ch = 0; ch < c->c; ch++)
            for (int64_t s = 0; s < ohw; s++)
                ref[offset_of(1, c->c, ohw, b, ch, s)] =
                    pool2d_ref(xc + (b * c->c + ch) * hw, c->h, c->w, &c->p, s / ow, s % ow,
                               is_max);
    check_f32(what, y, ref, m, ty->rtol, ty->atol);
}

static void test_pool2d_nhwc(void) {
    for (size_t t = 0; t < N_TYPES; t++)
        for (int is_max = 0; is_max <= 1; is_max++)
            for (size_t k = 0; k < N_POOLS; k++)
                pool_case_run(&k_types[t], &k_pools[k], k, is_max != 0);
}

/* ---- convolution ----------------------------------------------------------------------------- */

typedef struct conv_case {
    const char *label;
    int64_t n, c_in, h, w, c_out, groups, kh, kw, stride, pad;
    bool with_z, relu;
    int64_t extra_h, extra_w; // end pads beyond `pad` (asymmetric: through the padded copy)
} conv_case;

static const conv_case k_convs[] = {
    {"3x3 pad 1, C_in 3", 2, 3, 15, 13, 8, 1, 3, 3, 1, 1, true, true, 0, 0},
    {"3x3 pad 1, C_in 3, bias only", 2, 3, 15, 13, 8, 1, 3, 3, 1, 1, false, false, 0, 0},
    {"1x1 stride 2", 2, 16, 8, 8, 32, 1, 1, 1, 2, 0, true, true, 0, 0},
    {"depthwise 3x3 pad 1", 2, 8, 9, 7, 8, 8, 3, 3, 1, 1, true, true, 0, 0},
    // TensorFlow's SAME with stride 2 on an even extent: nothing before, one after
    {"3x3 stride 2 pads 0/1", 2, 16, 14, 12, 24, 1, 3, 3, 2, 0, true, true, 1, 1},
    {"3x3 pads 1/0 (H), 1/2 (W), C_in 3", 1, 3, 9, 10, 8, 1, 3, 3, 1, 1, false, true, -1, 1},
    {"depthwise 3x3 stride 2 pads 0/1", 2, 8, 10, 9, 8, 8, 3, 3, 2, 0, true, false, 1, 0},
    // SAME_LOWER with an even kernel: the odd pad before (H 1/0, W 1/0)
    {"2x2 pads 1/0", 2, 16, 7, 8, 16, 1, 2, 2, 1, 1, true, true, -1, -1},
};
#define N_CONVS (sizeof k_convs / sizeof k_convs[0])

// y (NHWC [n][oh][ow][c_out]) = relu?(conv(x NHWC, w KCRS) + bias + z) in float64.
static void conv_ref(const conv_case *k, int64_t oh, int64_t ow, const float *x, const float *w,
                     const float *bias, const float *z, double *y) {
    int64_t ci_g = k->c_in / k->groups, co_g = k->c_out / k->groups;
    for (int64_t b = 0; b < k->n; b++)
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++)
                for (int64_t co = 0; co < k->c_out; co++) {
                    int64_t g = co / co_g;
                    double s = 0.0;
                    for (int64_t ci = 0; ci < ci_g; ci++)
                        for (int64_t ky = 0; ky < k->kh; ky++)
                            for (int64_t kx = 0; kx < k->kw; kx++) {
                                int64_t iy = oy * k->stride - k->pad + ky;
                                int64_t ix = ox * k->stride - k->pad + kx;
                                if (iy < 0 || iy >= k->h || ix < 0 || ix >= k->w) continue;
                                s += (double)x[((b * k->h + iy) * k->w + ix) * k->c_in +
                                               g * ci_g + ci] *
                                     w[((co * ci_g + ci) * k->kh + ky) * k->kw + kx];
                            }
                    size_t o = (size_t)(((b * oh + oy) * ow + ox) * k->c_out + co);
                    s += bias[co];
                    if (z) s += z[o];
                    if (k->relu && s < 0) s = 0;
                    y[o] = s;
                }
}

static int g_cudnn_fused_runs; // cases cuDNN's fused call ran (reported: the experiment's yield)

// cudnn_fused: prepared with CINFER_CONV_FUSE_CUDNN and run through cuDNN's fused call
// (cinfer_cuda_conv_run_cudnn, the bias in 16 bits); where cuDNN refuses it the line says so
// and the epilogue path runs instead, checked the same way.
static void conv_case_run(cinfer_cuda_ctx *ctx, const conv_case *k, cinfer_k_dtype dt,
                          bool cudnn_fused) {
    bool depthwise = k->groups > 1 && k->groups == k->c_in && k->groups == k->c_out;
    const char *tname = dt == CINFER_K_F16 ? "fp16" : "bf16";
    char what[128];
    snprintf(what, sizeof what, "Conv NHWC %s %s%s", tname, k->label,
             cudnn_fused ? " [cudnn fused]" : "");
    int64_t oh = (k->h + 2 * k->pad + k->extra_h - k->kh) / k->stride + 1;
    int64_t ow = (k->w + 2 * k->pad + k->extra_w - k->kw) / k->stride + 1;
    int64_t ci_g = k->c_in / k->groups;
    size_t nx = (size_t)(k->n * k->h * k->w * k->c_in), ny = (size_t)(k->n * oh * ow * k->c_out);
    size_t nw = (size_t)(k->c_out * ci_g * k->kh * k->kw);

    cinfer_cuda_conv_params p;
    memset(&p, 0, sizeof p);
    p.nspatial = 2;
    p.n = k->n;
    p.c_in = k->c_in;
    p.c_out = k->c_out;
    p.groups = k->groups;
    p.in[0] = k->h;
    p.in[1] = k->w;
    p.kernel[0] = k->kh;
    p.kernel[1] = k->kw;
    p.stride[0] = p.stride[1] = k->stride;
    p.dilation[0] = p.dilation[1] = 1;
    p.pad_begin[0] = p.pad_begin[1] = k->pad;
    p.pad_end[0] = k->pad + k->extra_h;
    p.pad_end[1] = k->pad + k->extra_w;
    p.flags = CINFER_CONV_BIAS | CINFER_CONV_NHWC |
              (dt == CINFER_K_F16 ? CINFER_CONV_FP16 : CINFER_CONV_BF16) |
              (cudnn_fused ? CINFER_CONV_FUSE_CUDNN : 0);
    cinfer_cuda_conv conv;
    memset(&conv, 0, sizeof conv);
    cinfer_cuda_err err;
    memset(&err, 0, sizeof err);
    cinfer_status st = cinfer_cuda_conv_prepare(ctx, &p, &conv, &err);
    if (st == CINFER_UNSUPPORTED && depthwise) {
        printf("  %s: no NHWC algorithm (%s)\n", what, err.msg);
        cinfer_cuda_conv_release(&conv);
        return;
    }
    if (st != CINFER_OK) {
        failf("%s: prepare: %s%s", what, err.msg,
              st == CINFER_UNSUPPORTED ? " (cuDNN has no NHWC algorithm for this case)" : "");
        cinfer_cuda_conv_release(&conv);
        return;
    }
    if (conv.out[0] != oh || conv.out[1] != ow) {
        failf("%s: prepared output %lldx%lld, expected %lldx%lld", what, (long long)conv.out[0],
              (long long)conv.out[1], (long long)oh, (long long)ow);
        cinfer_cuda_conv_release(&conv);
        return;
    }

    // Inputs rounded to the type (the weights and the bias as float values already
    // representable in it, so the device's KRSC conversion and the fused call's 16-bit bias are
    // exact); the epilogue path reads the bias as float.
    float *x = rand_f32_signed(nx, 0.05, 2.0), *w = rand_f32_signed(nw, 0.05, 1.0);
    float *bias = rand_f32_signed((size_t)k->c_out, 0.1, 1.0);
    for (int64_t i = 0; i < k->c_out; i++) bias[i] = (float)half_value(dt, half_bits(dt, bias[i]));
    void *db16 = cudnn_fused ? d_vals(dt, bias, (size_t)k->c_out) : NULL;
    if (cudnn_fused && !db16) {
        cinfer_cuda_conv_release(&conv);
        return;
    }
    float *z = k->with_z ? rand_f32_signed(ny, 0.05, 2.0) : NULL;
    void *dx = d_vals(dt, x, nx), *dz = z ? d_vals(dt, z, ny) : NULL;
    for (size_t i = 0; i < nw; i++) w[i] = (float)half_value(dt, half_bits(dt, w[i]));
    void *dw32 = d_in(w, nw * sizeof(float)), *db = d_in(bias, (size_t)k->c_out * sizeof(float));
    void *dw = d_out(nw * 2), *dy = d_out(ny * 2);
    if (!dx || (z && !dz) || !dw32 || !db || !dw || !dy) {
        cinfer_cuda_conv_release(&conv);
        return;
    }
    cinfer_cuda_weights_order order = {ci_g, k->kh * k->kw};
    cinfer_precision prec = dt == CINFER_K_F16 ? CINFER_PRECISION_FP16 : CINFER_PRECISION_BF16;
    st = cinfer_cuda_to_16bit_krsc(ctx->compute, prec, dw, dw32, nw, order, &err);
    if (st != CINFER_OK) failf("%s: to_16bit_krsc: %s", what, err.msg);
    bool epilogue = st == CINFER_OK && !cudnn_fused;
    if (st == CINFER_OK && cudnn_fused) {
        if (!conv.fused) failf("%s: prepare did not allow cuDNN's fused call", what);
        st = cinfer_cuda_conv_run_cudnn(ctx, &conv, dx, dw, db16, dz, k->relu, dy, &err);
        if (st == CINFER_OK) g_cudnn_fused_runs++;
        if (st == CINFER_UNSUPPORTED) {
            printf("  %s: %s; checking the epilogue path\n", what, err.msg);
            epilogue = true;
            st = CINFER_OK;
        } else if (st != CINFER_OK) {
            failf("%s: run: %s", what, err.msg);
        }
    }
    if (epilogue) {
        st = cinfer_cuda_conv_run_fused(ctx, &conv, dx, dw, db, dz, k->relu, dy, &err);
        if (st != CINFER_OK) failf("%s: run: %s", what, err.msg);
    }
    cudaError_t ce = cudaStreamSynchronize(ctx->compute);
    if (ce != cudaSuccess) failf("%s: sync: %s", what, cudaGetErrorString(ce));
    cinfer_cuda_conv_release(&conv);
    if (st != CINFER_OK || ce != cudaSuccess) return;

    // The KRSC weights: [c_out][kh][kw][ci_g], each the float's 16-bit bits.
    uint16_t *want_w = hmalloc(nw * 2 + 1);
    int64_t rs = k->kh * k->kw;
    for (int64_t co = 0; co < k->c_out; co++)
        for (int64_t ci = 0; ci < ci_g; ci++)
            for (int64_t r = 0; r < rs; r++)
                want_w[(co * rs + r) * ci_g + ci] = half_bits(dt, w[(co * ci_g + ci) * rs + r]);
    char what_w[160];
    snprintf(what_w, sizeof what_w, "%s: KRSC weights", what);
    const void *got_w = fetch(dw, nw * 2, what_w);
    check_bits(what_w, got_w, want_w, nw, 2, ci_g, rs, 1);

    float *y = fetch_vals(dt, dy, ny, what);
    double *ref = ref_f64(ny);
    conv_ref(k, oh, ow, x, w, bias, z, ref);
    check_f32(what, y, ref, ny, HALF_RTOL, HALF_ATOL);
}

static void test_conv_nhwc(void) {
    cinfer_cuda_ctx *ctx = NULL;
    cinfer_cuda_err err;
    memset(&err, 0, sizeof err);
    cinfer_cuda_ctx_config cfg = {.arena_bytes = 1u << 20, .blas_workspace_bytes = 4u << 20,
                                  .dnn_workspace_bytes = 64u << 20};
    if (cinfer_cuda_ctx_create(0, &cfg, &ctx, &err) != CINFER_OK) {
        failf("ctx_create: %s", err.msg);
        return;
    }
    static const cinfer_k_dtype types[2] = {CINFER_K_F16, CINFER_K_BF16};
    for (size_t k = 0; k < N_CONVS; k++)
        for (int t = 0; t < 2; t++)
            for (int f = 0; f < 2; f++) conv_case_run(ctx, &k_convs[k], types[t], f == 1);
    printf("  cuDNN's fused call ran %d of %d cases (the others checked the epilogue path)\n",
           g_cudnn_fused_runs, (int)(2 * N_CONVS));
    // The NHWC flag is refused where it does not apply: fp32.
    cinfer_cuda_conv_params p;
    memset(&p, 0, sizeof p);
    p.nspatial = 2;
    p.n = p.c_in = p.c_out = p.groups = 1;
    p.in[0] = p.in[1] = 4;
    p.kernel[0] = p.kernel[1] = 1;
    p.flags = CINFER_CONV_NHWC;
    cinfer_cuda_conv conv;
    memset(&conv, 0, sizeof conv);
    if (cinfer_cuda_conv_prepare(ctx, &p, &conv, &err) != CINFER_INVALID_ARGUMENT)
        failf("an fp32 NHWC convolution was not refused");
    cinfer_cuda_conv_release(&conv);
    cinfer_cuda_ctx_destroy(ctx);
}

/* ---- BatchNormalization and GlobalAveragePool on NHWC ---------------------------------------- */

typedef struct nhwc_shape {
    int64_t n, h, w, c;
} nhwc_shape;

static const nhwc_shape k_shapes[] = {{2, 5, 7, 13}, {1, 7, 7, 64}, {3, 3, 1, 130}};
#define N_SHAPES (sizeof k_shapes / sizeof k_shapes[0])

static void bn_case(const ftype *ty, cinfer_k_dtype pdt, const nhwc_shape *s) {
    const float eps = 1e-5f;
    size_t c = (size_t)s->c, n = (size_t)(s->n * s->h * s->w) * c;
    char what[96];
    snprintf(what, sizeof what, "BatchNorm NHWC %s params %s %lldx%lldx%lldx%lld", ty->name,
             pdt == CINFER_K_F32 ? "f32" : ty->name, (long long)s->n, (long long)s->h,
             (long long)s->w, (long long)s->c);
    float *x = rand_f32_signed(n, 0.05, 3.0), *sc = rand_f32_signed(c, 0.5, 1.5);
    float *bi = rand_f32_signed(c, 0.1, 1.0), *mu = rand_f32_signed(c, 0.1, 1.0);
    float *var = rand_f32(c, 0.25, 2.0);
    void *dx = d_vals(ty->dt, x, n), *ds = d_vals(pdt, sc, c), *db = d_vals(pdt, bi, c);
    void *dm = d_vals(pdt, mu, c), *dv = d_vals(pdt, var, c), *dy = d_out(n * esize(ty->dt));
    if (!dx || !ds || !db || !dm || !dv || !dy) return;
    launched(cinfer_k_batch_norm(ty->dt, dy, dx, pdt, ds, db, dm, dv, s->n * s->h * s->w, s->c,
                                 1, eps, g_stream),
             what);
    float *y = fetch_vals(ty->dt, dy, n, what);
    double *ref = ref_f64(n);
    for (size_t i = 0; i < n; i++) {
        size_t ch = i % c;
        ref[i] = (x[i] - mu[ch]) / sqrt((double)var[ch] + eps) * sc[ch] + bi[ch];
    }
    check_f32(what, y, ref, n, ty->rtol, ty->atol);
}

static void test_bn_nhwc(void) {
    for (size_t t = 0; t < N_TYPES; t++)
        for (int p = 0; p < (k_types[t].dt == CINFER_K_F32 ? 1 : 2); p++)
            for (size_t k = 0; k < N_SHAPES; k++)
                bn_case(&k_types[t], p ? k_types[t].dt : CINFER_K_F32, &k_shapes[k]);
}

static void test_gap_nhwc(void) {
    static const nhwc_shape shapes[] = {{2, 7, 7, 64}, {3, 5, 3, 13}, {1, 30, 50, 5},
                                        {2, 1, 1, 130}};
    for (size_t t = 0; t < N_TYPES; t++)
        for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
            const ftype *ty = &k_types[t];
            const nhwc_shape *s = &shapes[k];
            int64_t hw = s->h * s->w;
            size_t n = (size_t)(s->n * hw * s->c), m = (size_t)(s->n * s->c);
            char what[96];
            snprintf(what, sizeof what, "GlobalAveragePool NHWC %s %lldx%lldx%lldx%lld",
                     ty->name, (long long)s->n, (long long)s->h, (long long)s->w,
                     (long long)s->c);
            float *x = rand_f32_signed(n, 0.05, 4.0);
            void *dx = d_vals(ty->dt, x, n), *dy = d_out(m * esize(ty->dt));
            if (!dx || !dy) return;
            launched(cinfer_k_reduce(ty->dt, CINFER_K_REDUCE_MEAN, dy, dx, s->n, hw, s->c,
                                     g_stream),
                     what);
            float *y = fetch_vals(ty->dt, dy, m, what);
            double *ref = ref_f64(m);
            for (int64_t b = 0; b < s->n; b++)
                for (int64_t ch = 0; ch < s->c; ch++) {
                    double acc = 0.0;
                    for (int64_t i = 0; i < hw; i++) acc += x[(b * hw + i) * s->c + ch];
                    ref[b * s->c + ch] = acc / (double)hw;
                }
            check_f32(what, y, ref, m, ty->rtol, ty->atol);
        }
}

/* ---- driver ---------------------------------------------------------------------------------- */

/* ---- the module's layout_io (no device needed) ----------------------------------------------- */

// What layout_io must answer for a node at fp16 (fp32: FIXED always).
static int check_layout(const node_case *c, int want) {
    const cinfer_cuda_api *api = cinfer_cuda_module_api();
    int ok = 1;
    const cinfer_precision ps[2] = {CINFER_PRECISION_FP16, CINFER_PRECISION_FP32};
    for (int k = 0; k < 2; k++) {
        node_view v;
        node_view_of(c, ps[k], &v);
        int got = api->layout_io(&v.n), expect = k ? CINFER_CUDA_LAYOUT_FIXED : want;
        if (got == expect) continue;
        printf("  layout_io %s at %s: %d, expected %d\n", c->op, k ? "fp32" : "fp16", got,
               expect);
        ok = 0;
    }
    return ok;
}

static int check_layouts(void) {
    const cinfer_dtype F = CINFER_DTYPE_FLOAT, H = CINFER_DTYPE_FLOAT16, B = CINFER_DTYPE_BOOL;
    static const float w[8 * 8 * 9];
    static const uint16_t w16[8 * 8 * 9];
    static const uint8_t keep[6];
    static const int64_t k2[2] = {2, 2};
    const int64_t img[4] = {1, 8, 6, 6}, filt[4] = {8, 8, 3, 3}, chw[3] = {8, 6, 6};
    const int64_t gate[4] = {1, 8, 1, 1}, c11[3] = {8, 1, 1}, row[1] = {6}, one[1] = {1};
    const int64_t pooled[4] = {1, 8, 3, 3}, ch[1] = {8}, up[4] = {1, 8, 8, 8};
    const int64_t ones[4] = {1, 1, 1, 1}, pads4[4] = {1, 1, 1, 1}, cat[4] = {1, 16, 6, 6};
    cinfer__attr ks = {.name = "kernel_shape", .type = CINFER_ATTR_INTS, .ints = (int64_t *)k2,
                       .count = 2};
    cinfer__attr pads = {.name = "pads", .type = CINFER_ATTR_INTS, .ints = (int64_t *)pads4,
                         .count = 4};
    cinfer__attr tpads = {.name = "pads", .type = CINFER_ATTR_INTS, .ints = (int64_t *)ones,
                          .count = 4};
    cinfer__attr axis1 = {.name = "axis", .type = CINFER_ATTR_INT, .i = 1};
    cinfer__attr linear = {.name = "mode", .type = CINFER_ATTR_STRING, .s = (char *)"linear",
                           .s_len = 6};
    static const float up2[4] = {1.0f, 1.0f, 2.0f, 2.0f};
    const int64_t four[1] = {4}, big[4] = {1, 8, 12, 12};
    cinfer_tensor x = node_tensor(F, 4, img, NULL), wf = node_tensor(F, 4, filt, w);
    cinfer_tensor wh = node_tensor(H, 4, filt, w16), absent = {0};
    cinfer_tensor z3 = node_tensor(F, 3, chw, NULL), zc = node_tensor(F, 4, img, w);
    cinfer_tensor g = node_tensor(F, 4, gate, NULL), cb = node_tensor(F, 3, c11, w);
    cinfer_tensor s = node_tensor(F, 1, one, w), bias = node_tensor(F, 1, ch, w);
    cinfer_tensor cond = node_tensor(B, 1, row, keep), a3 = node_tensor(F, 3, chw, NULL);
    const int NHWC = CINFER_CUDA_LAYOUT_NHWC, EITHER = CINFER_CUDA_LAYOUT_EITHER,
              FIXED = CINFER_CUDA_LAYOUT_FIXED;
    struct {
        node_case c;
        int want;
    } cases[] = {
        // Convolutions: NHWC with a float constant W (a KRSC copy) or none for a 16-bit one;
        // FusedConv only with a 4-D Z of Y's shape; ConvTranspose too (KRSC of its filter).
        {{"Conv", "", 11, 3, {x, wf, bias}, x, 1, &pads, 0, 0}, NHWC},
        {{"Conv", "", 11, 2, {x, wh}, x, 1, &pads, 0, 0}, FIXED},
        {{"FusedConv", "cinfer", 1, 4, {x, wf, absent, x}, x, 1, &pads, 0, 0}, NHWC},
        {{"FusedConv", "cinfer", 1, 4, {x, wf, absent, z3}, x, 1, &pads, 0, 0}, FIXED},
        {{"FusedConv", "cinfer", 1, 4, {x, wf, absent, zc}, x, 1, &pads, 0, 0}, FIXED},
        {{"ConvTranspose", "", 11, 2, {x, wf}, node_tensor(F, 4, up, NULL), 1, &tpads, 0, 0},
         NHWC},
        // Pools and norms: either layout.
        {{"MaxPool", "", 12, 1, {x}, node_tensor(F, 4, pooled, NULL), 1, &ks, 0, 0}, EITHER},
        {{"GlobalAveragePool", "", 1, 1, {x}, g, 0, NULL, 0, 0}, EITHER},
        {{"GlobalMaxPool", "", 1, 1, {x}, g, 0, NULL, 0, 0}, EITHER},
        {{"BatchNormalization", "", 15, 5, {x, bias, bias, bias, bias}, x, 0, NULL, 0, 0},
         EITHER},
        // Pointwise: same shapes only. Broadcasting: 4-D, scalars and same-bytes broadcasts.
        {{"Relu", "", 14, 1, {x}, x, 0, NULL, 0, 0}, EITHER},
        {{"Add", "", 14, 2, {x, x}, x, 0, NULL, 0, 0}, EITHER},
        {{"Add", "", 14, 2, {x, cb}, x, 0, NULL, 0, 0}, EITHER},
        {{"Mul", "", 14, 2, {g, x}, x, 0, NULL, 0, 0}, EITHER},
        {{"Mul", "", 14, 2, {s, x}, x, 0, NULL, 0, 0}, EITHER},
        {{"Add", "", 14, 2, {x, a3}, x, 0, NULL, 0, 0}, FIXED},
        {{"Add", "", 6, 2, {x, cb}, x, 0, NULL, 0, 0}, FIXED},
        {{"Where", "", 16, 3, {cond, x, s}, x, 0, NULL, 0, 0}, EITHER},
        // Concat of 4-D operands: either layout (NHWC views, remapped axis).
        {{"Concat", "", 13, 2, {x, x}, node_tensor(F, 4, cat, NULL), 1, &axis1, 0, 0}, EITHER},
        // Resize: nearest moves 16-bit values on either layout (scales follow the axes);
        // linear has no 16-bit path, so it runs fp32 and NCHW.
        {{"Resize", "", 13, 3, {x, absent, node_tensor(F, 1, four, up2)},
          node_tensor(F, 4, big, NULL), 0, NULL, 0, 0},
         EITHER},
        {{"Resize", "", 13, 3, {x, absent, node_tensor(F, 1, four, up2)},
          node_tensor(F, 4, big, NULL), 1, &linear, 0, 0},
         FIXED},
        // Not layout-aware at all.
        {{"Softmax", "", 13, 1, {x}, x, 0, NULL, 0, 0}, FIXED},
    };
    int ok = 1;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        ok &= check_layout(&cases[k].c, cases[k].want);
    printf("%-20s %s\n", "layout rules", ok ? "passed" : "failed");
    return ok;
}

// cinfer_cuda_conv_prepare's argument checks on the host: every flag combination the module
// sends passes (the cuDNN fused call's flag was once missing from the known ones), unknown or
// contradictory ones do not.
static int check_conv_flags(void) {
    cinfer_cuda_conv_params p;
    memset(&p, 0, sizeof p);
    p.nspatial = 2;
    p.n = 2, p.c_in = 16, p.c_out = 32, p.groups = 1;
    p.in[0] = p.in[1] = 14;
    p.kernel[0] = p.kernel[1] = 3;
    p.pad_begin[0] = p.pad_begin[1] = p.pad_end[0] = p.pad_end[1] = 1;
    static const struct {
        unsigned flags;
        int ok;
    } cases[] = {
        {CINFER_CONV_BIAS, 1},
        {CINFER_CONV_BIAS | CINFER_CONV_RELU | CINFER_CONV_TF32, 1},
        {CINFER_CONV_BIAS | CINFER_CONV_FP16 | CINFER_CONV_NHWC | CINFER_CONV_FUSE_CUDNN, 1},
        {CINFER_CONV_BIAS | CINFER_CONV_BF16 | CINFER_CONV_FUSE_CUDNN, 1},
        {CINFER_CONV_FUSE_CUDNN, 1},
        {CINFER_CONV_TRANSPOSE | CINFER_CONV_FP16 | CINFER_CONV_NHWC, 1},
        {CINFER_CONV_FP16 | CINFER_CONV_BF16, 0},
        {CINFER_CONV_NHWC, 0},
        {1u << 12, 0},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        p.flags = cases[i].flags;
        cinfer_cuda_err err;
        memset(&err, 0, sizeof err);
        cinfer_status st = cinfer_cuda_conv_check(&p, NULL, &err);
        if ((st == CINFER_OK) != cases[i].ok) {
            printf("  conv flags 0x%x: %s (%s)\n", p.flags,
                   st == CINFER_OK ? "accepted, should be refused" : "refused", err.msg);
            ok = 0;
        }
    }
    printf("%-24s %s\n", "conv flags", ok ? "passed" : "failed");
    return ok;
}

/* One asymmetric-pad geometry: the output extent and the pads cuDNN applies against ONNX's
 * formula, and the padded copy of X, made on the host through cinfer_k_copy_plan's own
 * offsets (what the device kernel computes), against the placement derived here from the
 * coordinates: X's element at (n, c, s - pre) inside, zero everywhere else. */
static int check_pad_case(const char *label, const cinfer_cuda_conv_params *p, size_t es) {
    cinfer_cuda_conv c;
    cinfer_cuda_err err;
    memset(&err, 0, sizeof err);
    if (cinfer_cuda_conv_check(p, &c, &err) != CINFER_OK) {
        printf("  conv padding %s: refused (%s)\n", label, err.msg);
        return 0;
    }
    int ns = p->nspatial;
    bool nhwc = p->flags & CINFER_CONV_NHWC;
    int64_t nx = p->n * p->c_in, np = nx;
    for (int i = 0; i < ns; i++) {
        int64_t b = p->pad_begin[i], e = p->pad_end[i], span = p->kernel[i]; /* dilation 1 */
        int64_t want_out = (p->in[i] + b + e - span) / p->stride[i] + 1;
        int64_t want_sym = b < e ? b : e;
        if (c.out[i] != want_out || c.sym[i] != want_sym || c.pre[i] != b - want_sym ||
            c.padded_in[i] != p->in[i] + b + e - 2 * want_sym ||
            (c.padded_in[i] + 2 * c.sym[i] - span) / p->stride[i] + 1 != want_out) {
            printf("  conv padding %s axis %d: out %lld sym %lld pre %lld padded %lld, want "
                   "out %lld sym %lld\n", label, i, (long long)c.out[i], (long long)c.sym[i],
                   (long long)c.pre[i], (long long)c.padded_in[i], (long long)want_out,
                   (long long)want_sym);
            return 0;
        }
        nx *= p->in[i];
        np *= c.padded_in[i];
    }
    unsigned char *x = hmalloc((size_t)nx * es), *buf = hmalloc((size_t)np * es);
    for (int64_t i = 0; i < nx; i++) { /* element i holds i + 1 in its low bytes */
        uint32_t v = (uint32_t)(i + 1);
        memcpy(x + i * (int64_t)es, &v, es);
    }
    memset(buf, 0, (size_t)np * es);
    cinfer_cuda_conv_pad_copy pc;
    cinfer_cuda_conv_pad_copy_of(&c, &pc);
    unsigned char *dst = buf + pc.dst_offset * (int64_t)es;
    cinfer_k_copy_plan plan;
    if (cinfer_k_copy_plan_make(&plan, dst, pc.dst, x, pc.src, pc.dims, es) != 0) {
        printf("  conv padding %s: the copy plan refused the geometry\n", label);
        return 0;
    }
    if (plan.kind == CINFER_K_COPY_MEMCPY) memcpy(dst, x, (size_t)(plan.n * plan.width));
    for (int64_t i = 0; plan.kind >= CINFER_K_COPY_INDEX32 && i < plan.n; i++) {
        int64_t od, os;
        cinfer_k_copy_plan_offsets(&plan, i, &od, &os);
        memcpy(dst + od * plan.width, x + os * plan.width, (size_t)plan.width);
    }
    /* Walk the buffer by coordinates: n, c, then spatial (3 axes, unused ones of extent 1). */
    int64_t P[3] = {1, 1, 1}, X[3] = {1, 1, 1}, pre[3] = {0, 0, 0};
    for (int i = 0; i < ns; i++) P[3 - ns + i] = c.padded_in[i], X[3 - ns + i] = p->in[i],
                                 pre[3 - ns + i] = c.pre[i];
    int ok = 1;
    for (int64_t n = 0; n < p->n && ok; n++)
        for (int64_t ch = 0; ch < p->c_in && ok; ch++)
            for (int64_t s0 = 0; s0 < P[0]; s0++)
                for (int64_t s1 = 0; s1 < P[1]; s1++)
                    for (int64_t s2 = 0; s2 < P[2]; s2++) {
                        int64_t sp = (s0 * P[1] + s1) * P[2] + s2, psz = P[0] * P[1] * P[2];
                        int64_t at = nhwc ? (n * psz + sp) * p->c_in + ch
                                          : (n * p->c_in + ch) * psz + sp;
                        int64_t x0 = s0 - pre[0], x1 = s1 - pre[1], x2 = s2 - pre[2];
                        uint32_t want = 0, got = 0;
                        if (x0 >= 0 && x0 < X[0] && x1 >= 0 && x1 < X[1] && x2 >= 0 &&
                            x2 < X[2]) {
                            int64_t xs = (x0 * X[1] + x1) * X[2] + x2, xsz = X[0] * X[1] * X[2];
                            want = (uint32_t)((nhwc ? (n * xsz + xs) * p->c_in + ch
                                                    : (n * p->c_in + ch) * xsz + xs) + 1);
                        }
                        memcpy(&got, buf + at * (int64_t)es, es);
                        if (got != want && ok) {
                            printf("  conv padding %s: buffer element %lld holds %u, want %u\n",
                                   label, (long long)at, got, want);
                            ok = 0;
                        }
                    }
    return ok;
}

static int check_conv_padding(void) {
    enum { F16 = CINFER_CONV_FP16, NHWC = CINFER_CONV_NHWC };
    static const struct {
        const char *label;
        int ns;
        int64_t n, c, in[3], k[3], s[3], b[3], e[3];
        unsigned flags;
        size_t es;
    } cases[] = {
        {"2-D NCHW fp32, SAME stride 2", 2, 2, 3, {8, 7}, {3, 3}, {2, 2}, {0, 1}, {1, 1}, 0, 4},
        {"2-D NHWC fp16, pads 1/0 and 0/2", 2, 2, 8, {6, 5}, {3, 2}, {1, 1}, {1, 0}, {0, 2},
         F16 | NHWC, 2},
        {"2-D NHWC fp16, pads 0/1 and 2/0", 2, 2, 8, {6, 5}, {3, 3}, {1, 2}, {0, 2}, {1, 0},
         F16 | NHWC, 2},
        {"2-D NHWC fp16, 3 channels", 2, 1, 3, {5, 6}, {2, 2}, {2, 1}, {0, 0}, {1, 1}, F16 | NHWC,
         2},
        {"1-D fp16, pads 2/0", 1, 3, 4, {9}, {3}, {1}, {2}, {0}, F16, 2},
        {"3-D fp32, pads 0/1, 1/1, 2/0", 3, 1, 2, {4, 3, 5}, {2, 3, 3}, {1, 1, 2}, {0, 1, 2},
         {1, 1, 0}, 0, 4},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cinfer_cuda_conv_params p;
        memset(&p, 0, sizeof p);
        p.nspatial = cases[i].ns;
        p.n = cases[i].n, p.c_in = cases[i].c, p.c_out = 4, p.groups = 1;
        for (int d = 0; d < p.nspatial; d++) {
            p.in[d] = cases[i].in[d], p.kernel[d] = cases[i].k[d], p.stride[d] = cases[i].s[d];
            p.dilation[d] = 1, p.pad_begin[d] = cases[i].b[d], p.pad_end[d] = cases[i].e[d];
        }
        p.flags = cases[i].flags;
        ok &= check_pad_case(cases[i].label, &p, cases[i].es);
    }
    release_all();
    printf("%-24s %s\n", "conv padding", ok ? "passed" : "failed");
    return ok;
}

/* The module reads a float attribute written as an int (alpha=2 from onnx.helper) as the core's
 * cinfer__attr_float does: 2.0, not the default. */
static int check_attr_float(void) {
    cinfer__attr attrs[2] = {{.name = "alpha", .type = CINFER_ATTR_INT, .i = 2},
                             {.name = "gamma", .type = CINFER_ATTR_FLOAT, .f = 0.25f}};
    cinfer__node n = {.name = "celu", .op_type = "Celu", .domain = "", .attrs = attrs,
                      .n_attrs = 2};
    int ok = cuda_attr_float(&n, "alpha", 1.0f) == 2.0f &&
             cuda_attr_float(&n, "gamma", 1.0f) == 0.25f &&
             cuda_attr_float(&n, "lambd", 0.5f) == 0.5f;
    printf("%-24s %s\n", "float attributes", ok ? "passed" : "failed");
    return ok;
}

int main(int argc, char **argv) {
    if (!check_layouts() || !check_conv_flags() || !check_conv_padding() || !check_attr_float())
        return 1;
    if (argc > 1 && !strcmp(argv[1], "--rules")) return 0; /* CI: no device needed */
    static const kernel_test tests[] = {
        {"nhwc_relayout", test_relayout},
        {"nhwc_round_trip", test_relayout_round_trip},
        {"nhwc_relayout_args", test_relayout_bad_args},
        {"nhwc_relayout_large", test_relayout_large},
        {"nhwc_pool2d", test_pool2d_nhwc},
        {"nhwc_conv", test_conv_nhwc},
        {"nhwc_batch_norm", test_bn_nhwc},
        {"nhwc_global_avg", test_gap_nhwc},
    };
    return run_kernel_tests(tests, (int)(sizeof tests / sizeof tests[0]));
}
