// CUDA kernel tests for Resize (N-D nearest and linear, every coordinate and rounding mode, ties
// at .5), Range's double-precision arithmetic and the NaN-propagating Max/Min of the binary
// kernels, against float64 references written from the ONNX spec and NumPy's rules. Without a
// device it prints "skipped: no CUDA device" and exits 77.
#include <stdbool.h>

#include "kernel_harness.h"

/* ---- Resize ---------------------------------------------------------------------------------- */

// x_original of output index o (ONNX Resize spec; align_corners and half_pixel_symmetric divide
// by the unrounded output length scale * in_len, as ONNX's reference implementation does).
static double coord_ref(int64_t o, double scale, int64_t in_len, int64_t out_len,
                        cinfer_k_resize_coord mode) {
    double x = (double)o, len = scale * (double)in_len;
    switch (mode) {
    case CINFER_K_COORD_ASYMMETRIC: return x / scale;
    case CINFER_K_COORD_ALIGN_CORNERS: return out_len == 1 ? 0.0 : x * (in_len - 1) / (len - 1);
    case CINFER_K_COORD_PYTORCH_HALF_PIXEL: return out_len > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case CINFER_K_COORD_TF_HALF_PIXEL_FOR_NN: return (x + 0.5) / scale;
    case CINFER_K_COORD_HALF_PIXEL_SYMMETRIC: {
        double offset = in_len / 2.0 * (1.0 - out_len / len);
        return offset + (x + 0.5) / scale - 0.5;
    }
    default: return (x + 0.5) / scale - 0.5;
    }
}

static int64_t clamp_ref(double v, int64_t len) {
    return v < 0 ? 0 : v > (double)(len - 1) ? len - 1 : (int64_t)v;
}

static int64_t nearest_ref(double c, double scale, int64_t len, cinfer_k_resize_nearest mode) {
    double f = floor(c), frac = c - f;
    switch (mode) {
    case CINFER_K_NEAREST_ROUND_PREFER_FLOOR: return clamp_ref(frac > 0.5 ? f + 1 : f, len);
    case CINFER_K_NEAREST_ROUND_PREFER_CEIL: return clamp_ref(frac >= 0.5 ? f + 1 : f, len);
    case CINFER_K_NEAREST_FLOOR: return clamp_ref(f, len);
    case CINFER_K_NEAREST_CEIL: return clamp_ref(ceil(c), len);
    default: return clamp_ref(scale < 1 ? ceil(c) : f, len);  // Resize-10 / Upsample
    }
}

typedef struct resize_case {
    int rank;
    int64_t in[5], out[5];
    double scale[5]; // 0: out / in, as when the model gives sizes
} resize_case;

// Nearest: ties are exact in double here (2x asymmetric gives o / 2; 4 -> 7 align_corners gives
// o / 2; 7/4 half_pixel reaches 1.5), plus odd sizes, downsampling, 3-D, and fp32 scales.
static const resize_case k_nearest_cases[] = {
    {4, {1, 2, 3, 4}, {1, 2, 6, 8}, {1, 1, 2, 2}},
    {4, {2, 1, 4, 3}, {2, 1, 7, 5}, {0}},
    {4, {1, 2, 9, 10}, {1, 2, 4, 7}, {0}},
    {3, {3, 4, 5}, {6, 2, 7}, {2, 0.5, 1.5}},
    {2, {5, 8}, {3, 4}, {0.60000002384185791, 0.60000002384185791}},
    {1, {6}, {11}, {0}},
};

static const resize_case k_linear_cases[] = {
    {4, {2, 3, 4, 5}, {2, 3, 8, 7}, {1, 1, 2, 1.5}},
    {4, {1, 2, 9, 7}, {1, 2, 5, 3}, {1, 1, 0.60000002384185791, 0.5}},
    {4, {1, 3, 6, 7}, {1, 3, 13, 4}, {0}},
    {3, {3, 2, 11}, {3, 2, 17}, {0}},
    {4, {2, 3, 4, 5}, {4, 4, 3, 10}, {2, 1.5, 0.75, 2}},
    {5, {1, 2, 3, 4, 5}, {1, 2, 5, 6, 3}, {0}},
    {4, {1, 1, 5, 6}, {1, 1, 1, 3}, {0}},
    {4, {2, 8, 40, 33}, {2, 8, 60, 66}, {1, 1, 1.5, 2}},
};

static cinfer_k_resize_params resize_params(const resize_case *c, cinfer_k_resize_mode mode,
                                     cinfer_k_resize_coord coord, cinfer_k_resize_nearest nm) {
    cinfer_k_resize_params p;
    memset(&p, 0, sizeof p);
    p.mode = mode;
    p.coord = coord;
    p.nearest = nm;
    for (int a = 0; a < c->rank; a++)
        p.scale[a] = c->scale[a] > 0 ? c->scale[a] : (double)c->out[a] / (double)c->in[a];
    return p;
}

// The value of output element i: each axis's coordinate, then the nearest sample or the
// blend of the 2^rank neighbouring samples with weights multiplied across axes.
static double resize_ref(const float *x, const resize_case *c, const cinfer_k_resize_params *p,
                         int64_t i) {
    int64_t i0[5], i1[5], in_st[5];
    double w[5];
    for (int a = c->rank - 1; a >= 0; a--) {
        int64_t o = i % c->out[a];
        i /= c->out[a];
        double co = coord_ref(o, p->scale[a], c->in[a], c->out[a], p->coord);
        if (p->mode == CINFER_K_RESIZE_NEAREST) {
            i0[a] = i1[a] = nearest_ref(co, p->scale[a], c->in[a], p->nearest);
            w[a] = 0;
        } else {
            i0[a] = clamp_ref(floor(co), c->in[a]);
            i1[a] = clamp_ref(floor(co) + 1, c->in[a]);
            w[a] = co - floor(co);
        }
    }
    in_st[c->rank - 1] = 1;
    for (int a = c->rank - 2; a >= 0; a--) in_st[a] = in_st[a + 1] * c->in[a + 1];
    double v = 0;
    for (int corner = 0; corner < (1 << c->rank); corner++) {
        double wt = 1;
        int64_t off = 0;
        for (int a = 0; a < c->rank; a++) {
            bool hi = (corner >> a) & 1;
            wt *= hi ? w[a] : 1 - w[a];
            off += (hi ? i1[a] : i0[a]) * in_st[a];
        }
        if (wt != 0) v += wt * x[off];
    }
    return v;
}

static void run_resize_case(const resize_case *c, cinfer_k_resize_params p, const char *what) {
    cinfer_k_dims in = dims_of(c->rank, c->in), out = dims_of(c->rank, c->out);
    int64_t n = count_of(in), m = count_of(out);
    float *x = rand_f32_signed((size_t)n, 0.01, 2.0);
    void *dx = d_in(x, (size_t)n * 4), *dy = d_out((size_t)m * 4);
    launched(cinfer_k_resize(dy, dx, in, out, 4, p, g_stream), what);
    float *y = fetch(dy, (size_t)m * 4, what);
    double *ref = ref_f64((size_t)m);
    for (int64_t i = 0; i < m; i++) ref[i] = resize_ref(x, c, &p, i);
    if (p.mode == CINFER_K_RESIZE_LINEAR) {
        check_f32(what, y, ref, (size_t)m, RTOL, ATOL);
        return;
    }
    float *exact = hmalloc((size_t)m * 4);  // nearest copies samples: bitwise equal
    for (int64_t i = 0; i < m; i++) exact[i] = (float)ref[i];
    check_exact(what, y, exact, (size_t)m, 4);
}

static void test_resize_nearest(void) {
    for (size_t k = 0; k < sizeof k_nearest_cases / sizeof k_nearest_cases[0]; k++)
        for (int coord = 0; coord <= CINFER_K_COORD_HALF_PIXEL_SYMMETRIC; coord++)
            for (int nm = 0; nm <= CINFER_K_NEAREST_SIMPLE; nm++) {
                char what[96];
                snprintf(what, sizeof what, "nearest case %zu coord %d rounding %d", k, coord, nm);
                run_resize_case(&k_nearest_cases[k],
                                resize_params(&k_nearest_cases[k], CINFER_K_RESIZE_NEAREST,
                                              (cinfer_k_resize_coord)coord,
                                              (cinfer_k_resize_nearest)nm),
                                what);
            }
}

static void test_resize_linear(void) {
    for (size_t k = 0; k < sizeof k_linear_cases / sizeof k_linear_cases[0]; k++)
        for (int coord = 0; coord <= CINFER_K_COORD_HALF_PIXEL_SYMMETRIC; coord++) {
            char what[96];
            snprintf(what, sizeof what, "linear case %zu coord %d", k, coord);
            run_resize_case(&k_linear_cases[k],
                            resize_params(&k_linear_cases[k], CINFER_K_RESIZE_LINEAR,
                                          (cinfer_k_resize_coord)coord,
                                          CINFER_K_NEAREST_ROUND_PREFER_FLOOR),
                            what);
        }
}

// Nearest moves elements of 1, 2 and 8 bytes too (uint8, float16, int64 models).
static void test_resize_element_sizes(void) {
    static const resize_case c = {3, {2, 5, 7}, {2, 9, 4}, {0}};
    static const size_t sizes[] = {1, 2, 8};
    cinfer_k_resize_params p = resize_params(&c, CINFER_K_RESIZE_NEAREST, CINFER_K_COORD_HALF_PIXEL,
                                      CINFER_K_NEAREST_ROUND_PREFER_CEIL);
    cinfer_k_dims in = dims_of(c.rank, c.in), out = dims_of(c.rank, c.out);
    int64_t n = count_of(in), m = count_of(out);
    float *idx = hmalloc((size_t)n * 4);  // each element's own index, to find what was picked
    for (int64_t i = 0; i < n; i++) idx[i] = (float)i;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t es = sizes[k];
        unsigned char *x = rand_bytes((size_t)n * es), *ref = hmalloc((size_t)m * es);
        for (int64_t i = 0; i < m; i++)
            memcpy(ref + i * es, x + (size_t)resize_ref(idx, &c, &p, i) * es, es);
        void *dx = d_in(x, (size_t)n * es), *dy = d_out((size_t)m * es);
        char what[64];
        snprintf(what, sizeof what, "nearest of %zu-byte elements", es);
        launched(cinfer_k_resize(dy, dx, in, out, es, p, g_stream), what);
        check_exact(what, fetch(dy, (size_t)m * es, what), ref, (size_t)m * es, 1);
    }
}

static void test_resize_rejects(void) {
    static const resize_case c = {2, {3, 4}, {6, 8}, {2, 2}};
    cinfer_k_dims in = dims_of(2, c.in), out = dims_of(2, c.out), bad = out;
    bad.rank = 3;
    void *x = d_out(64), *y = d_out(256);
    cinfer_k_resize_params lin = resize_params(&c, CINFER_K_RESIZE_LINEAR,
                                               CINFER_K_COORD_HALF_PIXEL, CINFER_K_NEAREST_FLOOR);
    cinfer_k_resize_params zero = lin, coord = lin;
    zero.scale[1] = 0;
    coord.coord = (cinfer_k_resize_coord)6;
    struct {
        const char *what;
        cudaError_t got;
    } checks[] = {
        {"linear of 2-byte elements", cinfer_k_resize(y, x, in, out, 2, lin, g_stream)},
        {"ranks differ", cinfer_k_resize(y, x, in, bad, 4, lin, g_stream)},
        {"scale 0", cinfer_k_resize(y, x, in, out, 4, zero, g_stream)},
        {"unknown coordinate mode", cinfer_k_resize(y, x, in, out, 4, coord, g_stream)},
    };
    for (size_t k = 0; k < sizeof checks / sizeof checks[0]; k++)
        if (checks[k].got != cudaErrorInvalidValue)
            failf("%s: returned %s, expected cudaErrorInvalidValue", checks[k].what,
                  cudaGetErrorString(checks[k].got));
}

/* ---- Range: double arithmetic, one rounding to the output type ------------------------------ */

static void test_range_double(void) {
    // 0.1f steps over 300001 elements: float32 accumulation would drift by many ulp; the
    // reference rounds start + i * delta (exact products of two floats fit a double) once.
    const size_t n = 300001;
    const float start = 0.1f, delta = 0.1f;
    void *dy = d_out(n * 4), *dd = d_out(n * 8), *di = d_out(n * 4);
    launched(cinfer_k_range_f32(dy, start, delta, n, g_stream), "Range f32");
    launched(cinfer_k_range_f64(dd, -2.5, 1.0 / 3.0, n, g_stream), "Range f64");
    launched(cinfer_k_range_i32(di, 1000, -7, n, g_stream), "Range i32");
    float *y = fetch(dy, n * 4, "Range f32"), *refy = hmalloc(n * 4);
    double *d = fetch(dd, n * 8, "Range f64"), *refd = hmalloc(n * 8);
    int32_t *yi = fetch(di, n * 4, "Range i32"), *refi = hmalloc(n * 4);
    for (size_t i = 0; i < n; i++) {
        volatile double prod = (double)i * (double)delta;  // rounded before the add
        refy[i] = (float)((double)start + prod);
        volatile double prod_d = (double)i * (1.0 / 3.0);
        refd[i] = -2.5 + prod_d;
        refi[i] = (int32_t)(1000 - 7 * (int64_t)i);
    }
    check_exact("Range f32", y, refy, n, 4);
    check_exact("Range f64", d, refd, n, 8);
    check_exact("Range i32", yi, refi, n, 4);
}

/* ---- Max / Min propagate NaN (NumPy maximum/minimum, the CPU backend) ----------------------- */

static void check_nan_aware(const char *what, const float *got, const float *a, const float *b,
                            size_t n, bool is_max, const int64_t *ai, const int64_t *bi) {
    for (size_t i = 0; i < n; i++) {
        float x = a[ai ? ai[i] : (int64_t)i], z = b[bi ? bi[i] : (int64_t)i];
        bool nan = isnan(x) || isnan(z);
        float ref = nan ? NAN : is_max ? (x > z ? x : z) : (x < z ? x : z);
        if (nan ? !isnan(got[i]) : got[i] != ref) {
            failf("%s: [%zu] %s(%g, %g) gave %g", what, i, is_max ? "max" : "min", x, z, got[i]);
            return;
        }
    }
}

// NaN in a, in b and in both, on the dense scalar path (odd n), the float4 path (n % 4 == 0)
// and a broadcast (strided) one.
static void test_max_min_nan(void) {
    static const int64_t sizes[] = {37, 4100};
    for (size_t s = 0; s < 2; s++) {
        size_t n = (size_t)sizes[s];
        float *a = rand_f32_signed(n, 0.5, 4.0), *b = rand_f32_signed(n, 0.5, 4.0);
        for (size_t i = 0; i < n; i += 3) a[i] = NAN;
        for (size_t i = 0; i < n; i += 5) b[i] = NAN;
        int64_t sz[1] = {(int64_t)n};
        cinfer_k_dims d = dims_of(1, sz);
        cinfer_k_strides st = cinfer_k_dense_strides(&d);
        void *da = d_in(a, n * 4), *db = d_in(b, n * 4);
        for (int is_max = 0; is_max < 2; is_max++) {
            char what[64];
            snprintf(what, sizeof what, "%s dense n %zu", is_max ? "Max" : "Min", n);
            void *dy = d_out(n * 4);
            launched(cinfer_k_binary_f32(is_max ? CINFER_K_MAX : CINFER_K_MIN, dy, da, st, db, st,
                                         d, g_stream), what);
            check_nan_aware(what, fetch(dy, n * 4, what), a, b, n, is_max, NULL, NULL);
        }
    }
    // [5, 7] against a broadcast row [1, 7] holding a NaN in column 2.
    int64_t sa[2] = {5, 7}, sb[2] = {1, 7};
    cinfer_k_dims xa = dims_of(2, sa), xb = dims_of(2, sb), out = bcast_dims(xa, xb);
    float *a = rand_f32_signed(35, 0.5, 4.0), *b = rand_f32_signed(7, 0.5, 4.0);
    a[9] = NAN;
    b[2] = NAN;
    int64_t ai[35], bi[35];
    for (int64_t i = 0; i < 35; i++) {
        ai[i] = bcast_src(i, out, xa);
        bi[i] = bcast_src(i, out, xb);
    }
    void *pa = d_in(a, 35 * 4), *pb = d_in(b, 7 * 4);
    for (int is_max = 0; is_max < 2; is_max++) {
        const char *what = is_max ? "Max broadcast" : "Min broadcast";
        void *dy = d_out(35 * 4);
        launched(cinfer_k_binary_f32(is_max ? CINFER_K_MAX : CINFER_K_MIN, dy, pa,
                                     strides_for(xa, out), pb, strides_for(xb, out), out,
                                     g_stream), what);
        check_nan_aware(what, fetch(dy, 35 * 4, what), a, b, 35, is_max, ai, bi);
    }
}

/* ---- driver -------------------------------------------------------------------------------- */

static const kernel_test k_tests[] = {
    {"resize_nearest", test_resize_nearest},
    {"resize_linear", test_resize_linear},
    {"resize_elem_sizes", test_resize_element_sizes},
    {"resize_rejects", test_resize_rejects},
    {"range_double", test_range_double},
    {"max_min_nan", test_max_min_nan},
};

int main(void) {
    return run_kernel_tests(k_tests, (int)(sizeof k_tests / sizeof k_tests[0]));
}
