// The softmax, normalization, pooling and reduction kernels in fp16 and bf16 (and float through
// the same dtype-generic wrappers): inputs rounded to the 16-bit type first, references in
// float64 from the rounded inputs, DESIGN.md's "CUDA fp16/bf16 op vs CPU fp32" tolerance.
// Before any device is needed it checks the module's supports / half_io for these ops on nodes
// at fp32, fp16 and bf16; without a device it then prints "skipped: no CUDA device" (exit 77).
#include <stdbool.h>

#include "core/tensor.h"
#include "cuda/module.h"
#include "cuda/module_impl.h"
#include "kernel_harness.h"

static void encode(cinfer_k_dtype dt, void *dst, size_t i, float v) {
    if (dt == CINFER_K_F32) ((float *)dst)[i] = v;
    else if (dt == CINFER_K_F16) ((uint16_t *)dst)[i] = cinfer__float_to_half(v);
    else ((uint16_t *)dst)[i] = cinfer__float_to_bf16(v);
}

static float decode(cinfer_k_dtype dt, const void *src, size_t i) {
    if (dt == CINFER_K_F32) return ((const float *)src)[i];
    if (dt == CINFER_K_F16) return cinfer__half_to_float(((const uint16_t *)src)[i]);
    return cinfer__bf16_to_float(((const uint16_t *)src)[i]);
}

// A device copy of v in dt; v is rounded to dt in place first, so references read exactly the
// values the kernel reads.
static void *d_vals(cinfer_k_dtype dt, float *v, size_t n) {
    void *h = hmalloc(n * esize(dt));
    for (size_t i = 0; i < n; i++) {
        encode(dt, h, i, v[i]);
        v[i] = decode(dt, h, i);
    }
    return d_in(h, n * esize(dt));
}

static void *d_outs(cinfer_k_dtype dt, size_t n) { return d_out(n * esize(dt)); }

// An output of n values of dt fetched (guard bytes checked) and widened to float.
static float *fetch_vals(cinfer_k_dtype dt, const void *dev, size_t n, const char *what) {
    const void *h = fetch(dev, n * esize(dt), what);
    float *v = hmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = decode(dt, h, i);
    return v;
}

// The parameter dtypes a norm takes with activations of type t: float, and t itself.
static int n_param_types(const ftype *t) { return t->dt == CINFER_K_F32 ? 1 : 2; }
static cinfer_k_dtype param_type(const ftype *t, int k) { return k ? t->dt : CINFER_K_F32; }

/* ---- softmax ------------------------------------------------------------------------------ */

typedef struct {
    int64_t rows, cols;
} rc_case;

// Odd sizes on both sides of the warp-per-row / block-per-row switch at 1024 columns.
static const rc_case k_rc[] = {{7, 33}, {1, 1}, {5, 1025}, {3, 3001}, {257, 5}, {2, 17}};
#define N_RC (sizeof k_rc / sizeof k_rc[0])

static void test_softmax(void) {
    for (size_t t = 0; t < N_TYPES; t++)
        for (int is_log = 0; is_log <= 1; is_log++)
            for (size_t k = 0; k < N_RC; k++) {
                const ftype *ty = &k_types[t];
                int64_t rows = k_rc[k].rows, cols = k_rc[k].cols;
                size_t n = (size_t)(rows * cols);
                char what[80];
                snprintf(what, sizeof what, "%s %s %lldx%lld", is_log ? "LogSoftmax" : "Softmax",
                         ty->name, (long long)rows, (long long)cols);
                float *x = rand_f32_signed(n, 0.01, 6.0);
                void *dx = d_vals(ty->dt, x, n), *dy = d_outs(ty->dt, n);
                launched(cinfer_k_softmax(ty->dt, dy, dx, rows, cols, is_log, g_stream), what);
                float *y = fetch_vals(ty->dt, dy, n, what);
                double *ref = ref_f64(n);
                softmax_ref(x, rows, cols, is_log, ref);
                check_f32(what, y, ref, n, ty->rtol, ty->atol);
            }
}

// Softmax-13 along a middle axis of [outer, n, inner]: the reference transposes each slab to
// [inner, n] rows, takes softmax_ref and transposes back.
static void test_softmax_middle(void) {
    static const int64_t shapes[][3] = {{2, 21, 37}, {1, 3, 1000}, {3, 1, 5}, {2, 150, 9}};
    for (size_t t = 0; t < N_TYPES; t++)
        for (int is_log = 0; is_log <= 1; is_log++)
            for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
                const ftype *ty = &k_types[t];
                int64_t outer = shapes[k][0], nn = shapes[k][1], inner = shapes[k][2];
                size_t n = (size_t)(outer * nn * inner);
                char what[96];
                snprintf(what, sizeof what, "%s middle %s %lldx%lldx%lld",
                         is_log ? "LogSoftmax" : "Softmax", ty->name, (long long)outer,
                         (long long)nn, (long long)inner);
                float *x = rand_f32_signed(n, 0.01, 6.0), *xt = hmalloc(n * sizeof *xt);
                void *dx = d_vals(ty->dt, x, n), *dy = d_outs(ty->dt, n); // rounds x first
                for (int64_t o = 0; o < outer; o++)
                    for (int64_t r = 0; r < nn; r++)
                        for (int64_t i = 0; i < inner; i++)
                            xt[(o * inner + i) * nn + r] = x[(o * nn + r) * inner + i];
                launched(cinfer_k_softmax_middle(ty->dt, dy, dx, outer, nn, inner, is_log,
                                                 g_stream), what);
                float *y = fetch_vals(ty->dt, dy, n, what);
                double *rt = ref_f64(n), *ref = ref_f64(n);
                softmax_ref(xt, outer * inner, nn, is_log, rt);
                for (int64_t o = 0; o < outer; o++)
                    for (int64_t r = 0; r < nn; r++)
                        for (int64_t i = 0; i < inner; i++)
                            ref[(o * nn + r) * inner + i] = rt[(o * inner + i) * nn + r];
                check_f32(what, y, ref, n, ty->rtol, ty->atol);
            }
}

/* ---- layer, instance and batch normalization ------------------------------------------------ */

static void layer_norm_case(const ftype *ty, cinfer_k_dtype pdt, int64_t rows, int64_t cols,
                            bool with_beta) {
    const float eps = 1e-5f;
    size_t n = (size_t)(rows * cols);
    char what[96];
    snprintf(what, sizeof what, "LayerNorm %s params %s %lldx%lld beta %d", ty->name,
             pdt == CINFER_K_F32 ? "f32" : ty->name, (long long)rows, (long long)cols, with_beta);
    float *x = rand_f32(n, -2.0, 4.0);  // a nonzero mean
    float *g = rand_f32((size_t)cols, 0.5, 1.5), *b = rand_f32_signed((size_t)cols, 0.1, 1.0);
    void *dx = d_vals(ty->dt, x, n), *dg = d_vals(pdt, g, (size_t)cols);
    void *db = d_vals(pdt, b, (size_t)cols);
    void *dy = d_outs(ty->dt, n), *dm = d_outs(ty->dt, (size_t)rows);
    void *di = d_outs(ty->dt, (size_t)rows);
    launched(cinfer_k_layer_norm(ty->dt, dy, dm, di, dx, pdt, dg, with_beta ? db : NULL, rows,
                                 cols, eps, g_stream), what);
    float *y = fetch_vals(ty->dt, dy, n, what), *ym = fetch_vals(ty->dt, dm, (size_t)rows, what);
    float *yi = fetch_vals(ty->dt, di, (size_t)rows, what);
    double *ref = ref_f64(n), *rm = ref_f64((size_t)rows), *ri = ref_f64((size_t)rows);
    for (int64_t r = 0; r < rows; r++) {
        row_stats(x + r * cols, cols, eps, &rm[r], &ri[r]);
        for (int64_t c = 0; c < cols; c++)
            ref[r * cols + c] =
                (x[r * cols + c] - rm[r]) * ri[r] * g[c] + (with_beta ? b[c] : 0.0);
    }
    check_norm_rows(what, y, ref, x, rows, cols, ri, max_abs(g, cols), ty->rtol, ty->atol);
    check_f32(what, ym, rm, (size_t)rows, ty->rtol, ty->atol);
    check_f32(what, yi, ri, (size_t)rows, ty->rtol, ty->atol);
}

static void test_layer_norm(void) {
    for (size_t t = 0; t < N_TYPES; t++)
        for (int p = 0; p < n_param_types(&k_types[t]); p++)
            for (size_t k = 0; k < N_RC; k++)
                for (int with_beta = 0; with_beta <= 1; with_beta++)
                    layer_norm_case(&k_types[t], param_type(&k_types[t], p), k_rc[k].rows,
                                    k_rc[k].cols, with_beta);
}

typedef struct {
    int64_t n, c, s;
} ncs_case;

static const ncs_case k_ncs[] = {{2, 3, 1031}, {1, 5, 4099}, {3, 7, 1}, {2, 33, 7}, {1, 1, 1}};
#define N_NCS (sizeof k_ncs / sizeof k_ncs[0])

static void instance_norm_case(const ftype *ty, cinfer_k_dtype pdt, const ncs_case *cs) {
    const float eps = 1e-5f;
    int64_t rows = cs->n * cs->c, cols = cs->s;
    size_t n = (size_t)(rows * cols);
    char what[96];
    snprintf(what, sizeof what, "InstanceNorm %s params %s %lldx%lldx%lld", ty->name,
             pdt == CINFER_K_F32 ? "f32" : ty->name, (long long)cs->n, (long long)cs->c,
             (long long)cs->s);
    float *x = rand_f32(n, -1.0, 3.0);
    float *sc = rand_f32_signed((size_t)cs->c, 0.5, 1.5);
    float *bi = rand_f32_signed((size_t)cs->c, 0.1, 1.0);
    void *dx = d_vals(ty->dt, x, n), *ds = d_vals(pdt, sc, (size_t)cs->c);
    void *db = d_vals(pdt, bi, (size_t)cs->c), *dy = d_outs(ty->dt, n);
    launched(cinfer_k_instance_norm(ty->dt, dy, dx, pdt, ds, db, cs->n, cs->c, cs->s, eps,
                                    g_stream), what);
    float *y = fetch_vals(ty->dt, dy, n, what);
    double *ref = ref_f64(n), *inv = ref_f64((size_t)rows);
    for (int64_t r = 0; r < rows; r++) {
        double mean;
        row_stats(x + r * cols, cols, eps, &mean, &inv[r]);
        int64_t ch = r % cs->c;
        for (int64_t c = 0; c < cols; c++)
            ref[r * cols + c] = (x[r * cols + c] - mean) * inv[r] * sc[ch] + bi[ch];
    }
    check_norm_rows(what, y, ref, x, rows, cols, inv, max_abs(sc, cs->c), ty->rtol, ty->atol);
}

static void test_instance_norm(void) {
    for (size_t t = 0; t < N_TYPES; t++)
        for (int p = 0; p < n_param_types(&k_types[t]); p++)
            for (size_t k = 0; k < N_NCS; k++)
                instance_norm_case(&k_types[t], param_type(&k_types[t], p), &k_ncs[k]);
}

static void batch_norm_case(const ftype *ty, cinfer_k_dtype pdt, const ncs_case *cs) {
    const float eps = 1e-5f;
    size_t n = (size_t)(cs->n * cs->c * cs->s), c = (size_t)cs->c;
    char what[96];
    snprintf(what, sizeof what, "BatchNorm %s params %s %lldx%lldx%lld", ty->name,
             pdt == CINFER_K_F32 ? "f32" : ty->name, (long long)cs->n, (long long)cs->c,
             (long long)cs->s);
    float *x = rand_f32_signed(n, 0.05, 3.0), *sc = rand_f32_signed(c, 0.5, 1.5);
    float *bi = rand_f32_signed(c, 0.1, 1.0), *mu = rand_f32_signed(c, 0.1, 1.0);
    float *var = rand_f32(c, 0.25, 2.0);
    void *dx = d_vals(ty->dt, x, n), *ds = d_vals(pdt, sc, c), *db = d_vals(pdt, bi, c);
    void *dm = d_vals(pdt, mu, c), *dv = d_vals(pdt, var, c), *dy = d_outs(ty->dt, n);
    launched(cinfer_k_batch_norm(ty->dt, dy, dx, pdt, ds, db, dm, dv, cs->n, cs->c, cs->s, eps,
                                 g_stream), what);
    float *y = fetch_vals(ty->dt, dy, n, what);
    double *ref = ref_f64(n);
    for (size_t i = 0; i < n; i++) {
        size_t ch = (i / (size_t)cs->s) % c;
        ref[i] = (x[i] - mu[ch]) / sqrt((double)var[ch] + eps) * sc[ch] + bi[ch];
    }
    check_f32(what, y, ref, n, ty->rtol, ty->atol);
}

static void test_batch_norm(void) {
    for (size_t t = 0; t < N_TYPES; t++)
        for (int p = 0; p < n_param_types(&k_types[t]); p++)
            for (size_t k = 0; k < N_NCS; k++)
                batch_norm_case(&k_types[t], param_type(&k_types[t], p), &k_ncs[k]);
}

/* ---- SkipLayerNorm -------------------------------------------------------------------------- */

// y = LayerNorm(a + b) over the last axis of a dense [2, rows2, cols] output; b is either
// dense like a or a [cols] bias broadcast over the rows, of a's type or (b_f32) float as a
// constant summand in a half region; sum (a + b) written when asked.
// n parameters of dt on the device one element past an aligned start (v rounded in place as
// d_vals does): gamma and beta that the register-row kernel must read one at a time.
static void *d_vals_shifted(cinfer_k_dtype dt, float *v, size_t n) {
    float *w = hmalloc((n + 1) * sizeof *w);
    w[0] = 1.0f;
    memcpy(w + 1, v, n * sizeof *v);
    unsigned char *d = d_vals(dt, w, n + 1);
    memcpy(v, w + 1, n * sizeof *v);
    return d ? d + esize(dt) : NULL;
}

static void skip_norm_case_params(const ftype *ty, cinfer_k_dtype pdt, int64_t rows2,
                                  int64_t cols, bool b_bias, bool with_sum, bool with_beta,
                                  bool b_f32, bool shifted);

static void skip_norm_case(const ftype *ty, cinfer_k_dtype pdt, int64_t rows2, int64_t cols,
                           bool b_bias, bool with_sum, bool with_beta, bool b_f32) {
    skip_norm_case_params(ty, pdt, rows2, cols, b_bias, with_sum, with_beta, b_f32, false);
}

static void skip_norm_case_params(const ftype *ty, cinfer_k_dtype pdt, int64_t rows2,
                                  int64_t cols, bool b_bias, bool with_sum, bool with_beta,
                                  bool b_f32, bool shifted) {
    const float eps = 1e-5f;
    int64_t rows = 2 * rows2;
    size_t n = (size_t)(rows * cols), nb = b_bias ? (size_t)cols : n;
    char what[128];
    cinfer_k_dtype bdt = b_f32 ? CINFER_K_F32 : ty->dt;
    snprintf(what, sizeof what, "SkipLayerNorm %s params %s%s 2x%lldx%lld b %s%s sum %d beta %d",
             ty->name, pdt == CINFER_K_F32 ? "f32" : ty->name, shifted ? " (unaligned)" : "",
             (long long)rows2, (long long)cols, b_bias ? "[cols]" : "dense",
             b_f32 ? " f32" : "", with_sum, with_beta);
    float *a = rand_f32(n, -2.0, 4.0), *b = rand_f32_signed(nb, 0.05, 1.0);
    float *g = rand_f32((size_t)cols, 0.5, 1.5), *be = rand_f32_signed((size_t)cols, 0.1, 1.0);
    void *da = d_vals(ty->dt, a, n), *db = d_vals(bdt, b, nb);
    void *dg = shifted ? d_vals_shifted(pdt, g, (size_t)cols) : d_vals(pdt, g, (size_t)cols);
    void *dbe = shifted ? d_vals_shifted(pdt, be, (size_t)cols) : d_vals(pdt, be, (size_t)cols);
    void *dy = d_outs(ty->dt, n), *ds = d_outs(ty->dt, n);
    cinfer_k_skip_ln p;
    memset(&p, 0, sizeof p);
    int64_t row_size[2] = {2, rows2}, col_size[1] = {cols};
    p.rows = dims_of(2, row_size);
    p.cols = dims_of(1, col_size);
    p.a_row.s[0] = rows2 * cols, p.a_row.s[1] = cols;
    p.b_row.s[0] = b_bias ? 0 : rows2 * cols, p.b_row.s[1] = b_bias ? 0 : cols;
    p.a_col.s[0] = p.b_col.s[0] = p.gamma_col.s[0] = p.beta_col.s[0] = 1;
    p.epsilon = eps;
    launched(cinfer_k_skip_layer_norm(ty->dt, dy, with_sum ? ds : NULL, da, db, bdt, pdt, dg,
                                      with_beta ? dbe : NULL, p, g_stream), what);
    float *y = fetch_vals(ty->dt, dy, n, what);
    float *s = hmalloc(n * sizeof *s);  // a + b of the rounded inputs, float as the kernel adds
    double *ref = ref_f64(n), *rsum = ref_f64(n), *inv = ref_f64((size_t)rows);
    for (size_t i = 0; i < n; i++) {
        rsum[i] = (double)a[i] + b[b_bias ? i % (size_t)cols : i];
        s[i] = (float)rsum[i];
    }
    for (int64_t r = 0; r < rows; r++) {
        double mean = 0.0, q = 0.0;
        for (int64_t c = 0; c < cols; c++) mean += rsum[r * cols + c];
        mean /= cols;
        for (int64_t c = 0; c < cols; c++)
            q += (rsum[r * cols + c] - mean) * (rsum[r * cols + c] - mean);
        inv[r] = 1.0 / sqrt(q / cols + eps);
        for (int64_t c = 0; c < cols; c++)
            ref[r * cols + c] =
                (rsum[r * cols + c] - mean) * inv[r] * g[c] + (with_beta ? be[c] : 0.0);
    }
    check_norm_rows(what, y, ref, s, rows, cols, inv, max_abs(g, cols), ty->rtol, ty->atol);
    if (with_sum) check_f32(what, fetch_vals(ty->dt, ds, n, what), rsum, n, ty->rtol, ty->atol);
    release_all(); /* ~20 allocations a case, ~600 cases: more than the harness's slots */
}

static void test_skip_layer_norm(void) {
    // rows2 x cols; 768, 1024 and 64 columns (dense 16-bit a and b) take the register-row
    // kernel, 1024 its largest row, 9 x 64 (18 rows) across three blocks; the others the
    // general one.
    static const rc_case sizes[] = {{3, 37}, {1, 1031}, {5, 1},  {4, 768},
                                    {1, 1024}, {3, 64}, {9, 64}};
    for (size_t t = 0; t < N_TYPES; t++)
        for (int p = 0; p < n_param_types(&k_types[t]); p++)
            for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
                for (int v = 0; v < (k_types[t].dt == CINFER_K_F32 ? 8 : 16); v++)
                    skip_norm_case(&k_types[t], param_type(&k_types[t], p), sizes[k].rows,
                                   sizes[k].cols, v & 1, (v >> 1) & 1, (v >> 2) & 1, v >> 3);
    // gamma and beta off 16-byte alignment: the register-row kernel's element-wise parameters
    for (size_t t = 0; t < N_TYPES; t++)
        for (int p = 0; p < n_param_types(&k_types[t]); p++)
            skip_norm_case_params(&k_types[t], param_type(&k_types[t], p), 4, 768, false, true,
                                  true, false, true);
}

/* ---- pooling -------------------------------------------------------------------------------- */

typedef struct {
    int64_t nc, h, w;
    cinfer_k_pool2d p;
} pool_case;

static const pool_case k_pools[] = {
    {3, 11, 13, {3, 2, 2, 2, 1, 1, 1, 0, 1, 1, 0}},
    {3, 11, 13, {3, 2, 2, 2, 1, 1, 1, 0, 1, 1, 1}},
    {2, 9, 7, {2, 3, 1, 2, 0, 1, 0, 1, 2, 1, 0}},
    {5, 1, 17, {1, 4, 1, 3, 0, 2, 0, 2, 1, 1, 1}},
};
#define N_POOLS (sizeof k_pools / sizeof k_pools[0])

static void test_pool2d(void) {
    for (size_t t = 0; t < N_TYPES; t++)
        for (int is_max = 0; is_max <= 1; is_max++)
            for (size_t k = 0; k < N_POOLS; k++) {
                const ftype *ty = &k_types[t];
                const pool_case *c = &k_pools[k];
                const cinfer_k_pool2d *p = &c->p;
                int64_t oh = (c->h + p->pad_top + p->pad_bottom - (p->kernel_h - 1) * p->dil_h -
                              1) / p->stride_h + 1;
                int64_t ow = (c->w + p->pad_left + p->pad_right - (p->kernel_w - 1) * p->dil_w -
                              1) / p->stride_w + 1;
                size_t n = (size_t)(c->nc * c->h * c->w), m = (size_t)(c->nc * oh * ow);
                char what[80];
                snprintf(what, sizeof what, "%s %s case %zu", is_max ? "MaxPool" : "AveragePool",
                         ty->name, k);
                float *x = rand_f32_signed(n, 0.05, 4.0);
                void *dx = d_vals(ty->dt, x, n), *dy = d_outs(ty->dt, m);
                launched((is_max ? cinfer_k_max_pool2d : cinfer_k_avg_pool2d)(
                             ty->dt, dy, dx, c->nc, c->h, c->w, oh, ow, c->p, g_stream),
                         what);
                float *y = fetch_vals(ty->dt, dy, m, what);
                double *ref = ref_f64(m);
                for (int64_t i = 0; i < (int64_t)m; i++)
                    ref[i] = pool2d_ref(x + (i / (oh * ow)) * c->h * c->w, c->h, c->w, &c->p,
                                        (i / ow) % oh, i % ow, is_max);
                check_f32(what, y, ref, m, ty->rtol, ty->atol);
            }
}

static void test_global_pool(void) {
    static const rc_case sizes[] = {{6, 49}, {3, 1500}, {5, 1}};  // nc x spatial
    for (size_t t = 0; t < N_TYPES; t++)
        for (int is_max = 0; is_max <= 1; is_max++)
            for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
                const ftype *ty = &k_types[t];
                int64_t nc = sizes[k].rows, sp = sizes[k].cols;
                size_t n = (size_t)(nc * sp);
                char what[80];
                snprintf(what, sizeof what, "%s %s %lldx%lld",
                         is_max ? "GlobalMaxPool" : "GlobalAveragePool", ty->name, (long long)nc,
                         (long long)sp);
                float *x = rand_f32_signed(n, 0.05, 4.0);
                void *dx = d_vals(ty->dt, x, n), *dy = d_outs(ty->dt, (size_t)nc);
                launched(cinfer_k_global_pool(ty->dt, dy, dx, nc, sp, is_max, g_stream), what);
                float *y = fetch_vals(ty->dt, dy, (size_t)nc, what);
                double *ref = ref_f64((size_t)nc);
                for (int64_t r = 0; r < nc; r++) {
                    double acc = is_max ? -INFINITY : 0.0;
                    for (int64_t i = 0; i < sp; i++)
                        acc = is_max ? fmax(acc, x[r * sp + i]) : acc + x[r * sp + i];
                    ref[r] = is_max ? acc : acc / (double)sp;
                }
                check_f32(what, y, ref, (size_t)nc, ty->rtol, ty->atol);
            }
}

/* ---- reductions ----------------------------------------------------------------------------- */

static void test_reduce(void) {
    static const int64_t shapes[][3] = {{3, 37, 1}, {2, 19, 7}, {1, 2003, 1}, {5, 1, 3}};
    static const char *const names[] = {"ReduceSum", "ReduceMean",      "ReduceMax",
                                        "ReduceMin", "ReduceSumSquare", "ReduceL1",
                                        "ReduceL2",  "ReduceLogSum"};
    for (size_t t = 0; t < N_TYPES; t++)
        for (int op = CINFER_K_REDUCE_SUM; op <= CINFER_K_REDUCE_LOG_SUM; op++)
            for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
                const ftype *ty = &k_types[t];
                int64_t outer = shapes[k][0], red = shapes[k][1], inner = shapes[k][2];
                size_t n = (size_t)(outer * red * inner), m = (size_t)(outer * inner);
                char what[80];
                snprintf(what, sizeof what, "%s %s %lldx%lldx%lld", names[op], ty->name,
                         (long long)outer, (long long)red, (long long)inner);
                float *x = op == CINFER_K_REDUCE_LOG_SUM ? rand_f32(n, 0.05, 2.0)
                                                         : rand_f32_signed(n, 0.05, 2.0);
                void *dx = d_vals(ty->dt, x, n), *dy = d_outs(ty->dt, m);
                launched(cinfer_k_reduce(ty->dt, (cinfer_k_reduce_op)op, dy, dx, outer, red,
                                         inner, g_stream), what);
                float *y = fetch_vals(ty->dt, dy, m, what);
                double *ref = ref_f64(m);
                reduce_ref((cinfer_k_reduce_op)op, x, outer, red, inner, ref);
                check_f32(what, y, ref, m, ty->rtol, ty->atol);
            }
}

/* ---- the module's supports and half_io (no device needed) ----------------------------------- */

static int check_supports(void) {
    const cinfer_dtype F = CINFER_DTYPE_FLOAT, I64 = CINFER_DTYPE_INT64;
    static const float w[64] = {1.0f, 0.5f, 2.0f, 1.5f, 0.25f, 3.0f};
    static const int64_t axes[1] = {1}, k2[2] = {2, 2};
    const int64_t x[2] = {4, 6}, row[1] = {6}, ch[1] = {3}, x3[3] = {2, 3, 5}, one[1] = {1};
    const int64_t img[4] = {1, 2, 5, 5}, pooled[4] = {1, 2, 4, 4}, gp[4] = {1, 2, 1, 1};
    const int64_t red[2] = {4, 1};
    cinfer__attr ks = {.name = "kernel_shape", .type = CINFER_ATTR_INTS, .ints = (int64_t *)k2,
                       .count = 2};
    cinfer_tensor act = node_tensor(F, 2, x, NULL), cst = node_tensor(F, 2, x, w);
    cinfer_tensor vec = node_tensor(F, 1, row, w), vec_act = node_tensor(F, 1, row, NULL);
    cinfer_tensor chw = node_tensor(F, 1, ch, w), a3 = node_tensor(F, 3, x3, NULL);
    cinfer_tensor im = node_tensor(F, 4, img, NULL);
    node_case cases[] = {
        {"Softmax", "", 13, 1, {act}, act, 0, NULL, 1, 1},
        {"LogSoftmax", "", 13, 1, {act}, act, 0, NULL, 1, 1},
        {"Softmax", "", 13, 1, {node_tensor(I64, 2, x, NULL)}, node_tensor(I64, 2, x, NULL), 0,
         NULL, 0, 0},
        {"LayerNormalization", "", 17, 3, {act, vec, vec}, act, 0, NULL, 1, 1},
        // gamma an activation (16-bit in half mode), beta a float constant: mixed there.
        {"LayerNormalization", "", 17, 3, {act, vec_act, vec}, act, 0, NULL, 1, 0},
        {"LayerNormalization", "", 17, 3, {act, vec_act, vec_act}, act, 0, NULL, 1, 1},
        {"BatchNormalization", "", 15, 5, {a3, chw, chw, chw, chw}, a3, 0, NULL, 1, 1},
        {"InstanceNormalization", "", 6, 3, {a3, chw, chw}, a3, 0, NULL, 1, 1},
        {"MaxPool", "", 12, 1, {im}, node_tensor(F, 4, pooled, NULL), 1, &ks, 1, 1},
        {"AveragePool", "", 11, 1, {im}, node_tensor(F, 4, pooled, NULL), 1, &ks, 1, 1},
        {"GlobalAveragePool", "", 1, 1, {im}, node_tensor(F, 4, gp, NULL), 0, NULL, 1, 1},
        {"GlobalMaxPool", "", 1, 1, {im}, node_tensor(F, 4, gp, NULL), 0, NULL, 1, 1},
        {"ReduceSum", "", 13, 2, {act, node_tensor(I64, 1, one, axes)},
         node_tensor(F, 2, red, NULL), 0, NULL, 1, 1},
        {"ReduceMean", "", 18, 2, {act, node_tensor(I64, 1, one, axes)},
         node_tensor(F, 2, red, NULL), 0, NULL, 1, 1},
        {"ReduceMax", "", 18, 2, {act, node_tensor(I64, 1, one, axes)},
         node_tensor(F, 2, red, NULL), 0, NULL, 1, 1},
        {"ReduceMin", "", 18, 2, {act, node_tensor(I64, 1, one, axes)},
         node_tensor(F, 2, red, NULL), 0, NULL, 1, 1},
        {"SkipLayerNorm", "cinfer", 1, 4, {act, act, vec, vec}, act, 0, NULL, 1, 1},
        // A float constant summand (either side) beside a 16-bit one; two constants are not.
        {"SkipLayerNorm", "cinfer", 1, 4, {act, cst, vec, vec}, act, 0, NULL, 1, 1},
        {"SkipLayerNorm", "cinfer", 1, 3, {cst, act, vec}, act, 0, NULL, 1, 1},
        {"SkipLayerNorm", "cinfer", 1, 3, {cst, cst, vec}, act, 0, NULL, 1, 0},
        {"SkipLayerNorm", "cinfer", 1, 4, {act, act, vec_act, vec}, act, 0, NULL, 1, 0},
    };
    int ok = check_nodes(cases, sizeof cases / sizeof cases[0]);
    printf("%-20s %s\n", "half supports", ok ? "passed" : "failed");
    return ok;
}

/* ---- driver --------------------------------------------------------------------------------- */

// Arguments the dtype-generic wrappers refuse before launching (no device work).
static void test_bad_types(void) {
    float dummy = 1.0f;
    if (cinfer_k_softmax(CINFER_K_I64, &dummy, &dummy, 1, 1, 0, g_stream) !=
        cudaErrorInvalidValue)
        failf("softmax accepted int64 elements");
    if (cinfer_k_layer_norm(CINFER_K_F16, &dummy, NULL, NULL, &dummy, CINFER_K_BF16, &dummy,
                            NULL, 1, 1, 1e-5f, g_stream) != cudaErrorInvalidValue)
        failf("layer norm accepted bf16 parameters with fp16 activations");
    cinfer_k_skip_ln p;
    memset(&p, 0, sizeof p);
    p.rows.rank = p.cols.rank = 1;
    p.rows.size[0] = p.cols.size[0] = 1;
    if (cinfer_k_skip_layer_norm(CINFER_K_F16, &dummy, NULL, &dummy, &dummy, CINFER_K_BF16,
                                 CINFER_K_F32, &dummy, NULL, p, g_stream) != cudaErrorInvalidValue)
        failf("skip layer norm accepted a bf16 b with fp16 activations");
}

int main(void) {
    if (!check_supports()) return 1;
    static const kernel_test tests[] = {
        {"half_softmax", test_softmax},
        {"half_softmax_middle", test_softmax_middle},
        {"half_layer_norm", test_layer_norm},
        {"half_instance_norm", test_instance_norm},
        {"half_batch_norm", test_batch_norm},
        {"half_skip_norm", test_skip_layer_norm},
        {"half_pool2d", test_pool2d},
        {"half_global_pool", test_global_pool},
        {"half_reduce", test_reduce},
        {"half_bad_types", test_bad_types},
    };
    return run_kernel_tests(tests, (int)(sizeof tests / sizeof tests[0]));
}
