// CUDA kernel tests: every cinfer_k_* wrapper against a float64 host reference on odd sizes and
// broadcast shapes, with guard bytes after every device output. Without a usable device it
// prints "skipped: no CUDA device" and exits 77 (ctest: skipped).
#include "kernel_harness.h"

/* ---- broadcasting cases ------------------------------------------------------------------- */

typedef struct {
    int ra;
    int64_t a[5];
    int rb;
    int64_t b[5];
} shape_pair;

// Same shapes first (1, 7, 33, 1023, 4099 elements take the scalar dense path, 4100 and 12
// the float4 path), then broadcasts of ranks 0-5.
static const shape_pair k_pairs[] = {
    {1, {1}, 1, {1}},
    {1, {7}, 1, {7}},
    {1, {33}, 1, {33}},
    {2, {3, 341}, 2, {3, 341}},
    {1, {4099}, 1, {4099}},
    {1, {4100}, 1, {4100}},
    {2, {3, 4}, 2, {3, 4}},
    {1, {7}, 1, {1}},
    {0, {0}, 1, {33}},
    {2, {33, 1}, 2, {1, 31}},
    {3, {3, 1, 5}, 2, {4, 1}},
    {1, {1}, 5, {2, 1, 3, 1, 5}},
    {5, {5, 1, 7, 1, 3}, 3, {7, 6, 1}},
    {4, {2, 3, 4, 5}, 1, {5}},
    {3, {7, 1, 33}, 3, {7, 9, 1}},
};
#define N_PAIRS (sizeof k_pairs / sizeof k_pairs[0])

/* ---- binary, compare, logic, where ----------------------------------------------------- */

static void test_binary_f32(void) {
    static const char *names[] = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "PRelu"};
    for (int op = CINFER_K_ADD; op <= CINFER_K_PRELU; op++) {
        for (size_t c = 0; c < N_PAIRS; c++) {
            cinfer_k_dims ad = dims_of(k_pairs[c].ra, k_pairs[c].a);
            cinfer_k_dims bd = dims_of(k_pairs[c].rb, k_pairs[c].b);
            cinfer_k_dims od = bcast_dims(ad, bd);
            int64_t na = count_of(ad), nb = count_of(bd), n = count_of(od);
            // Pow's base stays positive so every result is real.
            float *a = op == CINFER_K_POW ? rand_f32(na, 0.5, 2.0) : rand_f32_signed(na, 0.5, 2.0);
            float *b = rand_f32_signed(nb, 0.5, 2.0);
            float *da = d_in(a, na * 4), *db = d_in(b, nb * 4), *dy = d_out(n * 4);
            char what[64];
            snprintf(what, sizeof what, "%s case %zu", names[op], c);
            launched(cinfer_k_binary_f32(op, dy, da, strides_for(ad, od), db, strides_for(bd, od),
                                         od, g_stream), what);
            float *y = fetch(dy, n * 4, what);
            double *ref = ref_f64(n);
            for (int64_t i = 0; i < n; i++)
                ref[i] = binary_ref(op, a[bcast_src(i, od, ad)], b[bcast_src(i, od, bd)]);
            check_f32(what, y, ref, n, RTOL, ATOL);
        }
    }
}

// An operand that is neither dense nor broadcast: a [5, 7] view of a [7, 5] buffer (a
// transpose), read through strides {1, 5}.
static void test_binary_strided_view(void) {
    int64_t sz[2] = {5, 7};
    cinfer_k_dims od = dims_of(2, sz);
    float *a = rand_f32_signed(35, 0.5, 2.0), *b = rand_f32_signed(35, 0.5, 2.0);
    float *da = d_in(a, 140), *db = d_in(b, 140), *dy = d_out(140);
    cinfer_k_strides as = {{1, 5}};
    launched(cinfer_k_binary_f32(CINFER_K_SUB, dy, da, as, db, cinfer_k_dense_strides(&od), od,
                                 g_stream), "Sub view");
    float *y = fetch(dy, 140, "Sub view");
    double ref[35];
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 7; j++) ref[i * 7 + j] = (double)a[j * 5 + i] - b[i * 7 + j];
    check_f32("Sub view", y, ref, 35, RTOL, ATOL);
}

static int64_t binary_ref_i64(cinfer_k_binary_op op, int64_t a, int64_t b) {
    switch (op) {
    case CINFER_K_ADD: return a + b;
    case CINFER_K_SUB: return a - b;
    case CINFER_K_MUL: return a * b;
    case CINFER_K_DIV: return a / b;  // C truncates toward zero, as the kernel documents
    case CINFER_K_MAX: return a > b ? a : b;
    case CINFER_K_MIN: return a < b ? a : b;
    default: return 0;
    }
}

static void test_binary_i64(void) {
    for (int op = CINFER_K_ADD; op <= CINFER_K_MIN; op++) {
        if (op == CINFER_K_POW) continue;
        for (size_t c = 0; c < N_PAIRS; c++) {
            cinfer_k_dims ad = dims_of(k_pairs[c].ra, k_pairs[c].a);
            cinfer_k_dims bd = dims_of(k_pairs[c].rb, k_pairs[c].b);
            cinfer_k_dims od = bcast_dims(ad, bd);
            int64_t na = count_of(ad), nb = count_of(bd), n = count_of(od);
            int64_t *a = rand_i64(na, -100000, 100000, 1), *b = rand_i64(nb, -1000, 1000, 1);
            void *da = d_in(a, na * 8), *db = d_in(b, nb * 8), *dy = d_out(n * 8);
            char what[64];
            snprintf(what, sizeof what, "i64 op %d case %zu", op, c);
            launched(cinfer_k_binary_i64(op, dy, da, strides_for(ad, od), db, strides_for(bd, od),
                                         od, g_stream), what);
            int64_t *y = fetch(dy, n * 8, what), *ref = hmalloc(n * 8);
            for (int64_t i = 0; i < n; i++)
                ref[i] = binary_ref_i64(op, a[bcast_src(i, od, ad)], b[bcast_src(i, od, bd)]);
            check_exact(what, y, ref, n, 8);
        }
    }
}

// Values from a small set so that equal pairs occur often.
static void test_compare(void) {
    static const float pool[4] = {-1.0f, 0.5f, 2.0f, 3.25f};
    for (int op = CINFER_K_EQUAL; op <= CINFER_K_GREATER_EQUAL; op++) {
        for (size_t c = 0; c < N_PAIRS; c++) {
            cinfer_k_dims ad = dims_of(k_pairs[c].ra, k_pairs[c].a);
            cinfer_k_dims bd = dims_of(k_pairs[c].rb, k_pairs[c].b);
            cinfer_k_dims od = bcast_dims(ad, bd);
            int64_t na = count_of(ad), nb = count_of(bd), n = count_of(od);
            float *a = hmalloc(na * 4), *b = hmalloc(nb * 4);
            int64_t *ai = hmalloc(na * 8), *bi = hmalloc(nb * 8);
            for (int64_t i = 0; i < na; i++) {
                a[i] = pool[irand(0, 3)];
                ai[i] = (int64_t)(a[i] * 4);
            }
            for (int64_t i = 0; i < nb; i++) {
                b[i] = pool[irand(0, 3)];
                bi[i] = (int64_t)(b[i] * 4);
            }
            void *da = d_in(a, na * 4), *db = d_in(b, nb * 4), *dy = d_out(n);
            void *dai = d_in(ai, na * 8), *dbi = d_in(bi, nb * 8), *dyi = d_out(n);
            char what[64];
            snprintf(what, sizeof what, "compare op %d case %zu", op, c);
            cinfer_k_strides as = strides_for(ad, od), bs = strides_for(bd, od);
            launched(cinfer_k_compare_f32(op, dy, da, as, db, bs, od, g_stream), what);
            launched(cinfer_k_compare_i64(op, dyi, dai, as, dbi, bs, od, g_stream), what);
            uint8_t *y = fetch(dy, n, what), *yi = fetch(dyi, n, what);
            uint8_t *ref = hmalloc(n), *refi = hmalloc(n);
            for (int64_t i = 0; i < n; i++) {
                int64_t ia = bcast_src(i, od, ad), ib = bcast_src(i, od, bd);
                ref[i] = compare_ref(op, a[ia], b[ib]);
                refi[i] = compare_ref(op, (double)ai[ia], (double)bi[ib]);
            }
            check_exact(what, y, ref, n, 1);
            check_exact(what, yi, refi, n, 1);
        }
    }
}

static void test_logic(void) {
    for (int op = CINFER_K_AND; op <= CINFER_K_XOR; op++) {
        for (size_t c = 0; c < N_PAIRS; c++) {
            cinfer_k_dims ad = dims_of(k_pairs[c].ra, k_pairs[c].a);
            cinfer_k_dims bd = dims_of(k_pairs[c].rb, k_pairs[c].b);
            cinfer_k_dims od = bcast_dims(ad, bd);
            int64_t na = count_of(ad), nb = count_of(bd), n = count_of(od);
            uint8_t *a = hmalloc(na), *b = hmalloc(nb);
            for (int64_t i = 0; i < na; i++) a[i] = (uint8_t)irand(0, 1);
            for (int64_t i = 0; i < nb; i++) b[i] = (uint8_t)irand(0, 1);
            void *da = d_in(a, na), *db = d_in(b, nb), *dy = d_out(n);
            char what[64];
            snprintf(what, sizeof what, "logic op %d case %zu", op, c);
            launched(cinfer_k_logic_u8(op, dy, da, strides_for(ad, od), db, strides_for(bd, od),
                                       od, g_stream), what);
            uint8_t *y = fetch(dy, n, what), *ref = hmalloc(n);
            for (int64_t i = 0; i < n; i++) {
                int x = a[bcast_src(i, od, ad)], z = b[bcast_src(i, od, bd)];
                ref[i] = op == CINFER_K_AND ? (x && z) : op == CINFER_K_OR ? (x || z) : (x != z);
            }
            check_exact(what, y, ref, n, 1);
        }
    }
    static const size_t sizes[] = {1, 7, 33, 1023, 4099};
    for (size_t s = 0; s < 5; s++) {
        size_t n = sizes[s];
        uint8_t *x = hmalloc(n), *ref = hmalloc(n);
        for (size_t i = 0; i < n; i++) {
            x[i] = (uint8_t)irand(0, 2);  // 2: any nonzero byte reads as true
            ref[i] = x[i] == 0;
        }
        void *dx = d_in(x, n), *dy = d_out(n);
        launched(cinfer_k_not_u8(dy, dx, n, g_stream), "Not");
        check_exact("Not", fetch(dy, n, "Not"), ref, n, 1);
    }
}

typedef struct {
    int rc, ra, rb;
    int64_t c[5], a[5], b[5];
} where_case;

static void test_where(void) {
    static const where_case cases[] = {
        {1, 1, 1, {7}, {1}, {7}, },
        {1, 1, 1, {4099}, {4099}, {4099}},
        {3, 2, 1, {3, 1, 5}, {4, 1}, {1}},
        {5, 2, 3, {2, 1, 3, 1, 5}, {4, 1}, {3, 1, 5}},
        {0, 2, 2, {0}, {33, 1}, {1, 31}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const where_case *w = &cases[k];
        cinfer_k_dims cd = dims_of(w->rc, w->c), ad = dims_of(w->ra, w->a);
        cinfer_k_dims bd = dims_of(w->rb, w->b), od = bcast_dims(bcast_dims(cd, ad), bd);
        int64_t nc = count_of(cd), na = count_of(ad), nb = count_of(bd), n = count_of(od);
        uint8_t *c = hmalloc(nc);
        for (int64_t i = 0; i < nc; i++) c[i] = (uint8_t)irand(0, 1);
        float *a = rand_f32_signed(na, 0.5, 2.0), *b = rand_f32_signed(nb, 0.5, 2.0);
        int64_t *ai = rand_i64(na, -50, 50, 1), *bi = rand_i64(nb, -50, 50, 1);
        void *dc = d_in(c, nc), *da = d_in(a, na * 4), *db = d_in(b, nb * 4), *dy = d_out(n * 4);
        void *dai = d_in(ai, na * 8), *dbi = d_in(bi, nb * 8), *dyi = d_out(n * 8);
        cinfer_k_strides cs = strides_for(cd, od), as = strides_for(ad, od);
        cinfer_k_strides bs = strides_for(bd, od);
        char what[64];
        snprintf(what, sizeof what, "Where case %zu", k);
        launched(cinfer_k_where_f32(dy, dc, cs, da, as, db, bs, od, g_stream), what);
        launched(cinfer_k_where_i64(dyi, dc, cs, dai, as, dbi, bs, od, g_stream), what);
        float *y = fetch(dy, n * 4, what);
        int64_t *yi = fetch(dyi, n * 8, what), *refi = hmalloc(n * 8);
        double *ref = ref_f64(n);
        for (int64_t i = 0; i < n; i++) {
            int64_t ic = bcast_src(i, od, cd), ia = bcast_src(i, od, ad);
            int64_t ib = bcast_src(i, od, bd);
            ref[i] = c[ic] ? a[ia] : b[ib];
            refi[i] = c[ic] ? ai[ia] : bi[ib];
        }
        check_f32(what, y, ref, n, 0.0, 0.0);  // a selection is exact
        check_exact(what, yi, refi, n, 8);
    }
}

/* ---- unary ------------------------------------------------------------------------------- */

static const size_t k_sizes[] = {1, 7, 33, 1023, 4099};
#define N_SIZES (sizeof k_sizes / sizeof k_sizes[0])

static void test_unary(void) {
    static const char *names[CINFER_K_UNARY_COUNT] = {
        "Sqrt", "Exp", "Log", "Neg", "Abs", "Reciprocal", "Erf", "Tanh", "Sigmoid", "Relu",
        "LeakyRelu", "Clip", "HardSigmoid", "HardSwish", "GeluErf", "GeluTanh", "Floor", "Ceil",
        "Elu", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh",
        "Atanh", "Round", "Sign", "Softplus", "Softsign", "Mish", "Selu", "Celu",
        "ThresholdedRelu", "Shrink"};
    for (int op = 0; op < CINFER_K_UNARY_COUNT; op++) {
        float alpha, beta;
        unary_test_args(op, &alpha, &beta);
        double lo, hi;
        bool signed_;
        unary_domain(op, &lo, &hi, &signed_);
        for (size_t s = 0; s < N_SIZES; s++) {
            size_t n = k_sizes[s];
            float *x = signed_ ? rand_f32_signed(n, lo, hi) : rand_f32(n, lo, hi);
            void *dx = d_in(x, n * 4), *dy = d_out(n * 4);
            char what[64];
            snprintf(what, sizeof what, "%s n=%zu", names[op], n);
            launched(cinfer_k_unary_f32(op, dy, dx, n, alpha, beta, g_stream), what);
            float *y = fetch(dy, n * 4, what);
            double *ref = ref_f64(n);
            for (size_t i = 0; i < n; i++) ref[i] = unary_ref(op, x[i], alpha, beta);
            check_f32(what, y, ref, n, RTOL, ATOL);
        }
    }
}

// Values random inputs almost never hit: Round's ties (to even), Sign at +-0, Shrink's and
// ThresholdedRelu's thresholds and just past them, Softplus and Mish far out where the naive
// formulas overflow.
static void test_unary_special(void) {
    static const struct {
        cinfer_k_unary_op op;
        float x[9];
    } cases[] = {
        {CINFER_K_ROUND, {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 3.5f, 0.49999997f, -0.0f}},
        {CINFER_K_SIGN, {0.0f, -0.0f, 3.0f, -3.0f, 1e-30f, -1e-30f, 7.0f, -7.0f, 0.5f}},
        {CINFER_K_SHRINK, {-0.5f, 0.5f, -0.50001f, 0.50001f, 0.0f, 2.0f, -2.0f, 0.3f, -0.3f}},
        {CINFER_K_THRESHOLDED_RELU,
         {0.4f, 0.40001f, -1.0f, 0.0f, 3.0f, 0.39999f, 1.0f, -0.4f, 2.0f}},
        {CINFER_K_SOFTPLUS, {-30.0f, -20.0f, 20.0f, 30.0f, 80.0f, -80.0f, 0.0f, 1.0f, -1.0f}},
        {CINFER_K_MISH, {-30.0f, -20.0f, 20.0f, 30.0f, 80.0f, -80.0f, 0.0f, 1.0f, -1.0f}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        float alpha, beta;
        unary_test_args(cases[k].op, &alpha, &beta);
        char what[48];
        snprintf(what, sizeof what, "unary special values, op %d", (int)cases[k].op);
        void *dx = d_in(cases[k].x, sizeof cases[k].x), *dy = d_out(sizeof cases[k].x);
        launched(cinfer_k_unary_f32(cases[k].op, dy, dx, 9, alpha, beta, g_stream), what);
        float *y = fetch(dy, sizeof cases[k].x, what);
        double *ref = ref_f64(9);
        for (int i = 0; i < 9; i++) ref[i] = unary_ref(cases[k].op, cases[k].x[i], alpha, beta);
        check_f32(what, y, ref, 9, RTOL, ATOL);
    }
}

/* ---- softmax and normalization ---------------------------------------------------------- */

typedef struct {
    int rank;
    int64_t size[4];
    int axis;  // ONNX attribute, possibly negative
} axis_case;

// Rows and columns of the [rows, cols] view for softmax / norm over the axes from `axis` on.
static void rows_cols(const axis_case *c, int64_t *rows, int64_t *cols) {
    int axis = norm_axis(c->axis, c->rank);
    *rows = 1;
    *cols = 1;
    for (int d = 0; d < c->rank; d++) *(d < axis ? rows : cols) *= c->size[d];
}

// Columns on both sides of 1024 (warp per row below, block per row above).
static const axis_case k_row_cases[] = {
    {1, {1}, -1},          {2, {7, 33}, -1},     {2, {5, 1023}, 1},  {2, {3, 1024}, -1},
    {3, {2, 1, 1025}, -1}, {2, {3, 4099}, -1},   {3, {33, 3, 7}, 2}, {4, {2, 3, 5, 7}, -2},
    {2, {4099, 3}, -1},    {3, {1, 2, 5000}, -1},
};
#define N_ROW_CASES (sizeof k_row_cases / sizeof k_row_cases[0])

static void test_softmax(void) {
    for (int is_log = 0; is_log <= 1; is_log++) {
        for (size_t k = 0; k < N_ROW_CASES; k++) {
            int64_t rows, cols;
            rows_cols(&k_row_cases[k], &rows, &cols);
            size_t n = rows * cols;
            float *x = rand_f32_signed(n, 0.01, 5.0);
            void *dx = d_in(x, n * 4), *dy = d_out(n * 4);
            char what[64];
            snprintf(what, sizeof what, "%s %lldx%lld", is_log ? "LogSoftmax" : "Softmax",
                     (long long)rows, (long long)cols);
            launched(cinfer_k_softmax_f32(dy, dx, rows, cols, is_log, g_stream), what);
            float *y = fetch(dy, n * 4, what);
            double *ref = ref_f64(n);
            softmax_ref(x, rows, cols, is_log, ref);
            check_f32(what, y, ref, n, RTOL, ATOL);
        }
    }
}

static void test_layer_norm(void) {
    const float eps = 1e-5f;
    for (int with_beta = 0; with_beta <= 1; with_beta++) {
        for (size_t k = 0; k < N_ROW_CASES; k++) {
            int64_t rows, cols;
            rows_cols(&k_row_cases[k], &rows, &cols);
            size_t n = rows * cols;
            float *x = rand_f32(n, -2.0, 4.0);  // a nonzero mean
            float *g = rand_f32(cols, 0.5, 1.5), *b = rand_f32_signed(cols, 0.1, 1.0);
            void *dx = d_in(x, n * 4), *dg = d_in(g, cols * 4), *db = d_in(b, cols * 4);
            void *dy = d_out(n * 4), *dm = d_out(rows * 4), *di = d_out(rows * 4);
            char what[64];
            snprintf(what, sizeof what, "LayerNorm %lldx%lld beta %d", (long long)rows,
                     (long long)cols, with_beta);
            launched(cinfer_k_layer_norm_f32(dy, dm, di, dx, dg, with_beta ? db : NULL, rows,
                                             cols, eps, g_stream), what);
            float *y = fetch(dy, n * 4, what), *ym = fetch(dm, rows * 4, what);
            float *yi = fetch(di, rows * 4, what);
            double *ref = ref_f64(n), *rm = ref_f64(rows), *ri = ref_f64(rows);
            for (int64_t r = 0; r < rows; r++) {
                row_stats(x + r * cols, cols, eps, &rm[r], &ri[r]);
                for (int64_t c = 0; c < cols; c++)
                    ref[r * cols + c] = (x[r * cols + c] - rm[r]) * ri[r] * g[c] +
                                        (with_beta ? b[c] : 0.0);
            }
            check_norm_rows(what, y, ref, x, rows, cols, ri, max_abs(g, cols), RTOL, ATOL);
            check_f32(what, ym, rm, rows, RTOL, ATOL);
            check_f32(what, yi, ri, rows, RTOL, ATOL);
        }
    }
}

typedef struct {
    int64_t n, c, s;
} ncs_case;

static const ncs_case k_ncs[] = {{2, 3, 1023}, {1, 5, 4099}, {3, 7, 1}, {2, 33, 7}, {1, 1, 1}};
#define N_NCS (sizeof k_ncs / sizeof k_ncs[0])

static void test_instance_norm(void) {
    const float eps = 1e-5f;
    for (size_t k = 0; k < N_NCS; k++) {
        int64_t nb = k_ncs[k].n, ch = k_ncs[k].c, sp = k_ncs[k].s, n = nb * ch * sp;
        float *x = rand_f32(n, -2.0, 4.0);
        float *g = rand_f32(ch, 0.5, 1.5), *b = rand_f32_signed(ch, 0.1, 1.0);
        void *dx = d_in(x, n * 4), *dg = d_in(g, ch * 4), *db = d_in(b, ch * 4);
        void *dy = d_out(n * 4);
        char what[64];
        snprintf(what, sizeof what, "InstanceNorm %lldx%lldx%lld", (long long)nb, (long long)ch,
                 (long long)sp);
        launched(cinfer_k_instance_norm_f32(dy, dx, dg, db, nb, ch, sp, eps, g_stream), what);
        float *y = fetch(dy, n * 4, what);
        double *ref = ref_f64(n), *inv = ref_f64(nb * ch);
        for (int64_t r = 0; r < nb * ch; r++) {
            double mean;
            row_stats(x + r * sp, sp, eps, &mean, &inv[r]);
            for (int64_t i = 0; i < sp; i++)
                ref[r * sp + i] = (x[r * sp + i] - mean) * inv[r] * g[r % ch] + b[r % ch];
        }
        check_norm_rows(what, y, ref, x, nb * ch, sp, inv, max_abs(g, ch), RTOL, ATOL);
    }
}

static void test_batch_norm(void) {
    const float eps = 1e-5f;
    for (size_t k = 0; k < N_NCS; k++) {
        int64_t nb = k_ncs[k].n, ch = k_ncs[k].c, sp = k_ncs[k].s, n = nb * ch * sp;
        float *x = rand_f32_signed(n, 0.01, 3.0), *g = rand_f32(ch, 0.5, 1.5);
        float *b = rand_f32_signed(ch, 0.1, 1.0), *m = rand_f32_signed(ch, 0.1, 1.0);
        float *v = rand_f32(ch, 0.5, 2.0);
        void *dx = d_in(x, n * 4), *dg = d_in(g, ch * 4), *db = d_in(b, ch * 4);
        void *dm = d_in(m, ch * 4), *dv = d_in(v, ch * 4), *dy = d_out(n * 4);
        char what[64];
        snprintf(what, sizeof what, "BatchNorm %lldx%lldx%lld", (long long)nb, (long long)ch,
                 (long long)sp);
        launched(cinfer_k_batch_norm_f32(dy, dx, dg, db, dm, dv, nb, ch, sp, eps, g_stream),
                 what);
        float *y = fetch(dy, n * 4, what);
        double *ref = ref_f64(n);
        for (int64_t i = 0; i < n; i++) {
            int64_t c = (i / sp) % ch;
            ref[i] = (x[i] - m[c]) / sqrt((double)v[c] + eps) * g[c] + b[c];
        }
        check_f32(what, y, ref, n, RTOL, ATOL);
    }
}

/* ---- reductions and pooling ------------------------------------------------------------- */

// [outer, reduce, inner] of reducing one axis (possibly negative) of a shape.
static void reduce_view(const axis_case *c, int64_t *outer, int64_t *reduce, int64_t *inner) {
    int axis = norm_axis(c->axis, c->rank);
    *outer = *inner = 1;
    *reduce = c->size[axis];
    for (int d = 0; d < c->rank; d++) {
        if (d < axis) *outer *= c->size[d];
        if (d > axis) *inner *= c->size[d];
    }
}

static void test_reduce(void) {
    static const axis_case cases[] = {
        {1, {1}, 0},          {2, {7, 33}, -1},     {2, {3, 1023}, 1},   {2, {2, 4099}, -1},
        {3, {5, 7, 3}, 1},    {3, {2, 33, 1023}, -2}, {2, {1, 1025}, -1}, {2, {4099, 1}, -1},
        {4, {2, 3, 5, 7}, -3}, {3, {3, 4099, 2}, 1},  {2, {33, 7}, 0},
    };
    static const char *names[] = {"ReduceSum", "ReduceMean",      "ReduceMax",
                                  "ReduceMin", "ReduceSumSquare", "ReduceL1",
                                  "ReduceL2",  "ReduceLogSum"};
    for (int op = CINFER_K_REDUCE_SUM; op <= CINFER_K_REDUCE_LOG_SUM; op++) {
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            int64_t outer, red, inner;
            reduce_view(&cases[k], &outer, &red, &inner);
            int64_t n = outer * red * inner, m = outer * inner;
            // LogSum's sums stay positive
            float *x = op == CINFER_K_REDUCE_LOG_SUM ? rand_f32(n, 0.01, 2.0)
                                                     : rand_f32_signed(n, 0.01, 2.0);
            void *dx = d_in(x, n * 4), *dy = d_out(m * 4);
            char what[80];
            snprintf(what, sizeof what, "%s %lldx%lldx%lld", names[op], (long long)outer,
                     (long long)red, (long long)inner);
            launched(cinfer_k_reduce_f32(op, dy, dx, outer, red, inner, g_stream), what);
            float *y = fetch(dy, m * 4, what);
            double *ref = ref_f64(m);
            reduce_ref(op, x, outer, red, inner, ref);
            check_f32(what, y, ref, m, RTOL, ATOL);
        }
    }
}

// ArgMax / ArgMin: values from a few integers so that ties are frequent (the first or, with
// select_last_index, the last best index must win), a NaN at the head of some float lines (the
// CPU keeps it); against the CPU kernel's loop written out here. Exact int64 results.
static void test_arg(void) {
    static const int64_t shapes[][3] = {{3, 17, 1}, {2, 5, 33}, {1, 1000, 1}, {4, 1, 7}, {2, 9, 4}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
        for (int is_i64 = 0; is_i64 < 2; is_i64++)
            for (int is_max = 0; is_max < 2; is_max++)
                for (int last = 0; last < 2; last++) {
                    int64_t outer = shapes[k][0], n = shapes[k][1], inner = shapes[k][2];
                    size_t total = (size_t)(outer * n * inner), m = (size_t)(outer * inner);
                    int64_t *xi = rand_i64(total, -3, 3, 0);
                    float *xf = hmalloc(total * sizeof *xf);
                    for (size_t i = 0; i < total; i++) xf[i] = (float)xi[i] * 0.5f;
                    if (!is_i64 && m > 1) xf[1] = NAN; // line 1's head, or inside line 0
                    int64_t *ref = hmalloc(m * sizeof *ref);
                    for (size_t i = 0; i < m; i++) {
                        size_t base = (i / (size_t)inner) * (size_t)(n * inner) + i % (size_t)inner;
                        double b = is_i64 ? (double)xi[base] : xf[base];
                        int64_t bi = 0;
                        for (int64_t r = 1; r < n; r++) {
                            double v = is_i64 ? (double)xi[base + r * inner] : xf[base + r * inner];
                            bool take = is_max ? (last ? v >= b : v > b) : (last ? v <= b : v < b);
                            if (take) b = v, bi = r;
                        }
                        ref[i] = bi;
                    }
                    char what[96];
                    snprintf(what, sizeof what, "Arg%s %s last=%d %lldx%lldx%lld",
                             is_max ? "Max" : "Min", is_i64 ? "i64" : "f32", last,
                             (long long)outer, (long long)n, (long long)inner);
                    void *dx = is_i64 ? d_in(xi, total * 8) : d_in(xf, total * 4);
                    void *dy = d_out(m * 8);
                    launched(is_i64 ? cinfer_k_arg_i64(dy, dx, outer, n, inner, is_max, last,
                                                       g_stream)
                                    : cinfer_k_arg_f32(dy, dx, outer, n, inner, is_max, last,
                                                       g_stream),
                             what);
                    check_exact(what, fetch(dy, m * 8, what), ref, m, 8);
                }
}

// CumSum: float32 (summed in double, so the result is bitwise the CPU's), int32 with sums that
// wrap, int64; exclusive and reverse both ways; against the CPU kernel's loop written out here.
static void test_cumsum(void) {
    static const int64_t shapes[][3] = {{3, 17, 1}, {2, 5, 33}, {1, 3000, 1}, {4, 1, 7}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
        for (int dt = 0; dt < 3; dt++)
            for (int flags = 0; flags < 4; flags++) {
                int64_t outer = shapes[k][0], n = shapes[k][1], inner = shapes[k][2];
                size_t total = (size_t)(outer * n * inner), es = dt == 2 ? 8 : 4;
                bool exclusive = flags & 1, reverse = flags & 2;
                cinfer_k_dtype kd = dt == 0 ? CINFER_K_F32 : dt == 1 ? CINFER_K_I32 : CINFER_K_I64;
                float *xf = rand_f32_signed(total, 0.01, 3.0);
                int64_t *xl = rand_i64(total, -(INT64_C(1) << 40), INT64_C(1) << 40, 0);
                int32_t *xi = hmalloc(total * 4);
                for (size_t i = 0; i < total; i++) xi[i] = (int32_t)(uint32_t)xl[i]; // wraps
                const void *x = dt == 0 ? (void *)xf : dt == 1 ? (void *)xi : (void *)xl;
                unsigned char *ref = hmalloc(total * es);
                for (size_t l = 0; l < (size_t)(outer * inner); l++) {
                    size_t base = (l / (size_t)inner) * (size_t)(n * inner) + l % (size_t)inner;
                    double af = 0;
                    uint64_t ai = 0;
                    for (int64_t t = 0; t < n; t++) {
                        size_t i = base + (size_t)((reverse ? n - 1 - t : t) * inner);
                        double nf = af + (dt == 0 ? xf[i] : 0);
                        uint64_t ni = ai + (dt == 1 ? (uint64_t)(uint32_t)xi[i] : (uint64_t)xl[i]);
                        double sf = exclusive ? af : nf; // the sum this element stores
                        uint64_t si = exclusive ? ai : ni;
                        float of = (float)sf;
                        int32_t o32 = (int32_t)(uint32_t)si;
                        int64_t o64 = (int64_t)si;
                        memcpy(ref + i * es, dt == 0 ? (void *)&of : dt == 1 ? (void *)&o32
                                                                              : (void *)&o64, es);
                        af = nf, ai = ni;
                    }
                }
                char what[96];
                snprintf(what, sizeof what, "CumSum %s excl=%d rev=%d %lldx%lldx%lld",
                         dt == 0 ? "f32" : dt == 1 ? "i32" : "i64", exclusive, reverse != 0,
                         (long long)outer, (long long)n, (long long)inner);
                void *dx = d_in(x, total * es), *dy = d_out(total * es);
                launched(cinfer_k_cumsum(kd, dy, dx, outer, n, inner, exclusive, reverse != 0,
                                         g_stream), what);
                check_exact(what, fetch(dy, total * es, what), ref, total, es);
            }
}

static void test_global_pool(void) {
    static const int64_t cases[][2] = {{6, 49}, {3, 4099}, {7, 1}, {33, 1025}};
    for (int is_max = 0; is_max <= 1; is_max++) {
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            int64_t nc = cases[k][0], sp = cases[k][1];
            float *x = rand_f32_signed(nc * sp, 0.01, 2.0);
            void *dx = d_in(x, nc * sp * 4), *dy = d_out(nc * 4);
            char what[64];
            snprintf(what, sizeof what, "Global%sPool %lldx%lld", is_max ? "Max" : "Average",
                     (long long)nc, (long long)sp);
            launched(cinfer_k_global_pool_f32(dy, dx, nc, sp, is_max, g_stream), what);
            float *y = fetch(dy, nc * 4, what);
            double *ref = ref_f64(nc);
            for (int64_t r = 0; r < nc; r++) {
                double acc = is_max ? -INFINITY : 0.0;
                for (int64_t i = 0; i < sp; i++)
                    acc = is_max ? fmax(acc, x[r * sp + i]) : acc + x[r * sp + i];
                ref[r] = is_max ? acc : acc / sp;
            }
            check_f32(what, y, ref, nc, RTOL, ATOL);
        }
    }
}

typedef struct {
    int64_t nc, h, w;
    cinfer_k_pool2d p;
} pool_case;

// ONNX's output size without ceil_mode.
static int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t pb, int64_t pe, int64_t d) {
    return (in + pb + pe - ((k - 1) * d + 1)) / s + 1;
}

static void pool_ref(const float *x, double *ref, const pool_case *c, int64_t oh, int64_t ow,
                     int is_max) {
    const cinfer_k_pool2d *p = &c->p;
    for (int64_t pl = 0; pl < c->nc; pl++)
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++) {
                double acc = is_max ? -INFINITY : 0.0;
                int64_t real = 0, padded = 0;
                for (int64_t kh = 0; kh < p->kernel_h; kh++)
                    for (int64_t kw = 0; kw < p->kernel_w; kw++) {
                        int64_t iy = oy * p->stride_h + kh * p->dil_h;  // in padded coordinates
                        int64_t ix = ox * p->stride_w + kw * p->dil_w;
                        if (iy < c->h + p->pad_top + p->pad_bottom &&
                            ix < c->w + p->pad_left + p->pad_right)
                            padded++;
                        iy -= p->pad_top;
                        ix -= p->pad_left;
                        if (iy < 0 || iy >= c->h || ix < 0 || ix >= c->w) continue;
                        double v = x[(pl * c->h + iy) * c->w + ix];
                        acc = is_max ? fmax(acc, v) : acc + v;
                        real++;
                    }
                int64_t count = p->count_include_pad ? padded : real;
                if (!is_max) acc = count ? acc / (double)count : 0.0; // as the CPU: 0, not 0/0
                ref[(pl * oh + oy) * ow + ox] = acc;
            }
}

static void test_pool2d(void) {
    // kernel, stride, pads (top, left, bottom, right), dilation, count_include_pad
    static const pool_case cases[] = {
        {2, 7, 9, {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0}},
        {2, 7, 9, {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1}},
        {3, 33, 17, {2, 3, 1, 2, 0, 1, 1, 0, 2, 1, 0}},
        {1, 5, 5, {5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1}},
        {1, 5, 5, {5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 0}},
        {7, 1, 1, {1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0}},
        {4, 31, 33, {3, 2, 3, 1, 1, 0, 2, 1, 2, 3, 1}},
    };
    for (int is_max = 0; is_max <= 1; is_max++) {
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            const pool_case *c = &cases[k];
            const cinfer_k_pool2d *p = &c->p;
            int64_t oh = pool_out(c->h, p->kernel_h, p->stride_h, p->pad_top, p->pad_bottom,
                                  p->dil_h);
            int64_t ow = pool_out(c->w, p->kernel_w, p->stride_w, p->pad_left, p->pad_right,
                                  p->dil_w);
            int64_t n = c->nc * c->h * c->w, m = c->nc * oh * ow;
            float *x = rand_f32_signed(n, 0.01, 2.0);
            void *dx = d_in(x, n * 4), *dy = d_out(m * 4);
            char what[64];
            snprintf(what, sizeof what, "%sPool case %zu", is_max ? "Max" : "Average", k);
            launched(is_max ? cinfer_k_max_pool2d_f32(dy, dx, c->nc, c->h, c->w, oh, ow, *p,
                                                      g_stream)
                            : cinfer_k_avg_pool2d_f32(dy, dx, c->nc, c->h, c->w, oh, ow, *p,
                                                      g_stream),
                     what);
            float *y = fetch(dy, m * 4, what);
            double *ref = ref_f64(m);
            pool_ref(x, ref, c, oh, ow, is_max);
            check_f32(what, y, ref, m, RTOL, ATOL);
        }
    }
    // AveragePool windows whose dilated taps all fall in the padding (W = 1, taps at -1 and
    // 1): nothing to count without count_include_pad, so 0 (the CPU's answer), not NaN.
    static const pool_case empty = {2, 2, 1, {1, 2, 1, 2, 0, 1, 0, 1, 3, 2, 0}};
    const cinfer_k_pool2d *p = &empty.p;
    int64_t oh = pool_out(empty.h, p->kernel_h, p->stride_h, p->pad_top, p->pad_bottom, p->dil_h);
    int64_t ow = pool_out(empty.w, p->kernel_w, p->stride_w, p->pad_left, p->pad_right, p->dil_w);
    int64_t n = empty.nc * empty.h * empty.w, m = empty.nc * oh * ow;
    float *x = rand_f32_signed(n, 0.01, 2.0);
    void *dx = d_in(x, n * 4), *dy = d_out(m * 4);
    launched(cinfer_k_avg_pool2d_f32(dy, dx, empty.nc, empty.h, empty.w, oh, ow, *p, g_stream),
             "AveragePool empty windows");
    float *y = fetch(dy, m * 4, "AveragePool empty windows");
    double *ref = ref_f64(m);
    pool_ref(x, ref, &empty, oh, ow, 0);
    check_f32("AveragePool empty windows", y, ref, m, RTOL, ATOL);
}

/* ---- data movement ------------------------------------------------------------------------- */

typedef struct {
    int rank;
    int64_t size[5];
    int32_t perm[5];
    size_t es;
} transpose_case;

static void test_transpose(void) {
    static const transpose_case cases[] = {
        {2, {7, 33}, {1, 0}, 4},           {3, {3, 33, 65}, {0, 2, 1}, 4},
        {4, {2, 3, 4, 5}, {0, 1, 3, 2}, 8}, {5, {2, 3, 4, 5, 6}, {4, 0, 2, 1, 3}, 4},
        {1, {7}, {0}, 4},                  {3, {5, 7, 9}, {2, 0, 1}, 1},
        {2, {1023, 1}, {1, 0}, 2},         {2, {67, 4099}, {1, 0}, 4},
        {3, {1, 1, 1}, {2, 1, 0}, 8},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const transpose_case *c = &cases[k];
        cinfer_k_dims in = dims_of(c->rank, c->size);
        cinfer_k_perm perm;
        memset(&perm, 0, sizeof perm);
        memcpy(perm.p, c->perm, c->rank * sizeof(int32_t));
        int64_t n = count_of(in);
        size_t es = c->es;
        unsigned char *x = rand_bytes(n * es);
        void *dx = d_in(x, n * es), *dy = d_out(n * es);
        char what[64];
        snprintf(what, sizeof what, "Transpose case %zu", k);
        launched(cinfer_k_transpose(dy, dx, in, perm, es, g_stream), what);
        unsigned char *y = fetch(dy, n * es, what), *ref = hmalloc(n * es);
        // Output coordinate o (dims in[perm]) reads input coordinate i with i[perm[d]] = o[d].
        int64_t out_size[5], coord[5];
        for (int d = 0; d < c->rank; d++) out_size[d] = c->size[c->perm[d]];
        for (int64_t j = 0; j < n; j++) {
            int64_t rest = j;
            for (int d = c->rank - 1; d >= 0; d--) {
                coord[c->perm[d]] = rest % out_size[d];
                rest /= out_size[d];
            }
            int64_t src = 0;
            for (int d = 0; d < c->rank; d++) src = src * c->size[d] + coord[d];
            memcpy(ref + j * es, x + src * es, es);
        }
        check_exact(what, y, ref, n, es);
    }
}

// ONNX Slice clamping of one axis: the first index taken and how many.
static void slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *first,
                       int64_t *count) {
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    if (step > 0) {
        start = start < 0 ? 0 : start > dim ? dim : start;
        end = end < 0 ? 0 : end > dim ? dim : end;
        *count = end > start ? (end - start + step - 1) / step : 0;
    } else {
        start = start < 0 ? -1 : start > dim - 1 ? dim - 1 : start;
        end = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
        *count = start > end ? (start - end - step - 1) / -step : 0;
    }
    *first = start;
}

static void test_slice(void) {
    // x [5, 7, 9]; per axis start, end, step (negative values as ONNX allows).
    static const int64_t sz[3] = {5, 7, 9};
    static const int64_t sl[][3][3] = {
        {{1, 5, 2}, {0, 7, 1}, {-1, -10, -3}},
        {{-2, 100, 1}, {6, -8, -1}, {2, 3, 1}},
        {{0, 5, 4}, {-100, 100, 3}, {8, 0, -1}},
    };
    int64_t n = 5 * 7 * 9;
    float *x = rand_f32_signed(n, 0.01, 2.0);
    float *dx = d_in(x, n * 4);
    for (size_t k = 0; k < sizeof sl / sizeof sl[0]; k++) {
        int64_t first[3], cnt[3], src_off = 0;
        cinfer_k_dims od = dims_of(3, sz);
        cinfer_k_strides ss, xs = cinfer_k_dense_strides(&od);  // od is x's dims here
        memset(&ss, 0, sizeof ss);
        for (int d = 0; d < 3; d++) {
            slice_axis(sz[d], sl[k][d][0], sl[k][d][1], sl[k][d][2], &first[d], &cnt[d]);
            od.size[d] = cnt[d];
            ss.s[d] = xs.s[d] * sl[k][d][2];
            src_off += first[d] * xs.s[d];
        }
        int64_t m = count_of(od);
        void *dy = d_out(m * 4);
        char what[64];
        snprintf(what, sizeof what, "Slice case %zu", k);
        launched(cinfer_k_copy_strided(dy, cinfer_k_dense_strides(&od), dx + src_off, ss, od, 4,
                                       g_stream), what);
        float *y = fetch(dy, m * 4, what);
        double *ref = ref_f64(m);
        int64_t j = 0;
        for (int64_t a = 0; a < cnt[0]; a++)
            for (int64_t b = 0; b < cnt[1]; b++)
                for (int64_t c = 0; c < cnt[2]; c++) {
                    int64_t i0 = first[0] + a * sl[k][0][2], i1 = first[1] + b * sl[k][1][2];
                    int64_t i2 = first[2] + c * sl[k][2][2];
                    ref[j++] = x[(i0 * 7 + i1) * 9 + i2];
                }
        if (m == 0) failf("%s: empty slice, a bad test case", what);
        check_f32(what, y, ref, m, 0.0, 0.0);
    }
}

// Concat of [2, 3, 5] and [2, 4, 5] on axis -2 (dst strides of the whole output), then Split of
// the result back on the last axis into [.., 2] and [.., 3] (src strides of the whole input).
static void test_concat_split(void) {
    int64_t s0[3] = {2, 3, 5}, s1[3] = {2, 4, 5}, so[3] = {2, 7, 5};
    int axis = norm_axis(-2, 3);
    cinfer_k_dims d0 = dims_of(3, s0), d1 = dims_of(3, s1), od = dims_of(3, so);
    float *a = rand_f32_signed(30, 0.01, 2.0), *b = rand_f32_signed(40, 0.01, 2.0);
    float *da = d_in(a, 120), *db = d_in(b, 160), *dy = d_out(70 * 4);
    cinfer_k_strides os = cinfer_k_dense_strides(&od);
    launched(cinfer_k_copy_strided(dy, os, da, cinfer_k_dense_strides(&d0), d0, 4, g_stream),
             "Concat part 0");
    launched(cinfer_k_copy_strided(dy + s0[axis] * os.s[axis], os, db,
                                   cinfer_k_dense_strides(&d1), d1, 4, g_stream),
             "Concat part 1");
    float *y = fetch(dy, 70 * 4, "Concat");
    double ref[70];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 7; j++)
            for (int k = 0; k < 5; k++)
                ref[(i * 7 + j) * 5 + k] = j < 3 ? a[(i * 3 + j) * 5 + k]
                                                 : b[(i * 4 + j - 3) * 5 + k];
    check_f32("Concat", y, ref, 70, 0.0, 0.0);

    float *full = d_in(y, 70 * 4);
    int64_t sp[3] = {2, 7, 2};
    cinfer_k_dims pd = dims_of(3, sp);
    float *dp0 = d_out(28 * 4), *dp1 = d_out(42 * 4);
    launched(cinfer_k_copy_strided(dp0, cinfer_k_dense_strides(&pd), full, os, pd, 4, g_stream),
             "Split part 0");
    pd.size[2] = 3;
    launched(cinfer_k_copy_strided(dp1, cinfer_k_dense_strides(&pd), full + 2, os, pd, 4,
                                   g_stream), "Split part 1");
    float *p0 = fetch(dp0, 28 * 4, "Split 0"), *p1 = fetch(dp1, 42 * 4, "Split 1");
    double r0[28], r1[42];
    for (int r = 0; r < 14; r++) {
        for (int k = 0; k < 2; k++) r0[r * 2 + k] = ref[r * 5 + k];
        for (int k = 0; k < 3; k++) r1[r * 3 + k] = ref[r * 5 + 2 + k];
    }
    check_f32("Split 0", p0, r0, 28, 0.0, 0.0);
    check_f32("Split 1", p1, r1, 42, 0.0, 0.0);
}

// Expand through broadcast strides, and a dense copy (the cudaMemcpyAsync path).
static void test_expand(void) {
    for (size_t c = 0; c < N_PAIRS; c++) {
        cinfer_k_dims ad = dims_of(k_pairs[c].ra, k_pairs[c].a);
        cinfer_k_dims bd = dims_of(k_pairs[c].rb, k_pairs[c].b);
        cinfer_k_dims od = bcast_dims(ad, bd);
        int64_t na = count_of(ad), n = count_of(od);
        int64_t *a = rand_i64(na, -1000000, 1000000, 1);
        void *da = d_in(a, na * 8), *dy = d_out(n * 8);
        char what[64];
        snprintf(what, sizeof what, "Expand case %zu", c);
        launched(cinfer_k_copy_strided(dy, cinfer_k_dense_strides(&od), da, strides_for(ad, od),
                                       od, 8, g_stream), what);
        int64_t *y = fetch(dy, n * 8, what), *ref = hmalloc(n * 8);
        for (int64_t i = 0; i < n; i++) ref[i] = a[bcast_src(i, od, ad)];
        check_exact(what, y, ref, n, 8);
    }
}

static void test_tile(void) {
    static const struct {
        int rank;
        int64_t in[4], reps[4];
        size_t es;
    } cases[] = {
        {2, {2, 3}, {3, 1}, 4},
        {3, {1, 5, 2}, {2, 1, 3}, 1},
        {4, {2, 1, 3, 7}, {1, 4, 2, 3}, 8},
        {1, {1023}, {5}, 2},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int rank = cases[k].rank;
        size_t es = cases[k].es;
        int64_t out[4];
        for (int d = 0; d < rank; d++) out[d] = cases[k].in[d] * cases[k].reps[d];
        cinfer_k_dims id = dims_of(rank, cases[k].in), od = dims_of(rank, out);
        int64_t ni = count_of(id), n = count_of(od);
        unsigned char *x = rand_bytes(ni * es);
        void *dx = d_in(x, ni * es), *dy = d_out(n * es);
        char what[64];
        snprintf(what, sizeof what, "Tile case %zu", k);
        launched(cinfer_k_tile(dy, dx, id, od, es, g_stream), what);
        unsigned char *y = fetch(dy, n * es, what), *ref = hmalloc(n * es);
        for (int64_t j = 0; j < n; j++) {
            int64_t rest = j, src = 0, stride = 1;
            for (int d = rank - 1; d >= 0; d--) {
                src += (rest % out[d]) % cases[k].in[d] * stride;
                rest /= out[d];
                stride *= cases[k].in[d];
            }
            memcpy(ref + j * es, x + src * es, es);
        }
        check_exact(what, y, ref, n, es);
    }
}

// Reflect's mirror, stepped one bounce at a time (independent of the kernel's modulo form).
static int64_t reflect_ref(int64_t c, int64_t n) {
    while (c < 0 || c >= n) c = c < 0 ? -c : 2 * (n - 1) - c;
    return c;
}

static void test_pad(void) {
    static const struct {
        int rank;
        int64_t in[3], begin[3], end[3];
        cinfer_k_pad_mode mode;
    } cases[] = {
        {2, {3, 5}, {1, 2}, {0, 3}, CINFER_K_PAD_CONSTANT},
        {2, {4, 5}, {2, 3}, {3, 4}, CINFER_K_PAD_REFLECT},
        {3, {2, 3, 4}, {1, 0, 2}, {2, 1, 0}, CINFER_K_PAD_EDGE},
        {2, {3, 7}, {-1, 1}, {0, -2}, CINFER_K_PAD_CONSTANT},
        {3, {2, 33, 31}, {0, 32, 1}, {1, 30, 29}, CINFER_K_PAD_REFLECT},
        {1, {1023}, {7}, {33}, CINFER_K_PAD_EDGE},
    };
    const float value = 1.5f;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int rank = cases[k].rank;
        int64_t out[3];
        cinfer_k_strides begin;
        memset(&begin, 0, sizeof begin);
        for (int d = 0; d < rank; d++) {
            out[d] = cases[k].in[d] + cases[k].begin[d] + cases[k].end[d];
            begin.s[d] = cases[k].begin[d];
        }
        cinfer_k_dims id = dims_of(rank, cases[k].in), od = dims_of(rank, out);
        int64_t ni = count_of(id), n = count_of(od);
        float *x = rand_f32_signed(ni, 0.01, 2.0);
        void *dx = d_in(x, ni * 4), *dy = d_out(n * 4);
        char what[64];
        snprintf(what, sizeof what, "Pad case %zu", k);
        launched(cinfer_k_pad_f32(dy, dx, id, od, begin, cases[k].mode, value, g_stream), what);
        float *y = fetch(dy, n * 4, what);
        double *ref = ref_f64(n);
        for (int64_t j = 0; j < n; j++) {
            int64_t rest = j, src = 0, stride = 1;
            int inside = 1;
            for (int d = rank - 1; d >= 0; d--) {
                int64_t c = rest % out[d] - cases[k].begin[d], len = cases[k].in[d];
                rest /= out[d];
                if (c < 0 || c >= len) {
                    if (cases[k].mode == CINFER_K_PAD_CONSTANT) inside = 0;
                    else if (cases[k].mode == CINFER_K_PAD_EDGE) c = c < 0 ? 0 : len - 1;
                    else c = reflect_ref(c, len);
                }
                src += c * stride;
                stride *= len;
            }
            ref[j] = inside ? x[src] : value;
        }
        check_f32(what, y, ref, n, 0.0, 0.0);
    }
}

static void test_gather(void) {
    static const struct {
        int rank;
        int64_t size[3];
        int axis;
        int nidx;
        int64_t idx[6];
        size_t es;
    } cases[] = {
        {3, {3, 7, 5}, 1, 5, {-1, 0, 6, 3, -7}, 4},
        {3, {4, 2, 3}, -3, 3, {3, -4, 1}, 4},
        {1, {5}, 0, 2, {-2, 4}, 8},
        {2, {33, 7}, -1, 6, {6, 5, -1, 0, 0, 2}, 1},
        {2, {1023, 3}, 0, 1, {-1023}, 8},
        {2, {3, 7}, 1, 3, {7, -8, 2}, 4},  // 7 and -8 are out of range: zeros
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int axis = norm_axis(cases[k].axis, cases[k].rank);
        int64_t outer = 1, inner = 1, dim = cases[k].size[axis], nidx = cases[k].nidx;
        for (int d = 0; d < cases[k].rank; d++) {
            if (d < axis) outer *= cases[k].size[d];
            if (d > axis) inner *= cases[k].size[d];
        }
        size_t es = cases[k].es;
        int64_t n = outer * dim * inner, m = outer * nidx * inner;
        unsigned char *x = rand_bytes(n * es);
        void *dx = d_in(x, n * es), *di = d_in(cases[k].idx, nidx * 8), *dy = d_out(m * es);
        char what[64];
        snprintf(what, sizeof what, "Gather case %zu", k);
        launched(cinfer_k_gather(dy, dx, di, outer, dim, inner, nidx, es, g_stream), what);
        unsigned char *y = fetch(dy, m * es, what), *ref = hmalloc(m * es);
        for (int64_t o = 0; o < outer; o++)
            for (int64_t q = 0; q < nidx; q++) {
                int64_t ix = cases[k].idx[q] < 0 ? cases[k].idx[q] + dim : cases[k].idx[q];
                for (int64_t i = 0; i < inner; i++) {
                    unsigned char *dst = ref + ((o * nidx + q) * inner + i) * es;
                    if (ix < 0 || ix >= dim) memset(dst, 0, es);
                    else memcpy(dst, x + ((o * dim + ix) * inner + i) * es, es);
                }
            }
        check_exact(what, y, ref, m, es);
    }
}

static size_t dtype_size(cinfer_k_dtype t) {
    return t == CINFER_K_F32 || t == CINFER_K_I32 ? 4 : t == CINFER_K_I64 ? 8 : 1;
}

static double get_value(const void *p, cinfer_k_dtype t, size_t i) {
    switch (t) {
    case CINFER_K_F32: return ((const float *)p)[i];
    case CINFER_K_I64: return (double)((const int64_t *)p)[i];
    case CINFER_K_I32: return ((const int32_t *)p)[i];
    case CINFER_K_BOOL: return ((const uint8_t *)p)[i];
    case CINFER_K_F16: case CINFER_K_BF16: break; /* not types of the generic cast */
    }
    return NAN;
}

// The reference conversion: truncation toward zero for float to int (trunc()), x != 0 to bool.
static void put_value(void *p, cinfer_k_dtype t, size_t i, double v) {
    switch (t) {
    case CINFER_K_F32: ((float *)p)[i] = (float)v; break;
    case CINFER_K_I64: ((int64_t *)p)[i] = (int64_t)trunc(v); break;
    case CINFER_K_I32: ((int32_t *)p)[i] = (int32_t)trunc(v); break;
    case CINFER_K_BOOL: ((uint8_t *)p)[i] = v != 0.0; break;
    case CINFER_K_F16: case CINFER_K_BF16: break;
    }
}

// Inputs in (-1000, 1000) with fractions, and some exact zeros and small integers: zeros are
// the point of a cast to bool, and integer values must survive every round trip exactly.
static void test_cast(void) {
    for (int from = CINFER_K_F32; from <= CINFER_K_BOOL; from++) {
        for (int to = CINFER_K_F32; to <= CINFER_K_BOOL; to++) {
            for (size_t s = 0; s < N_SIZES; s++) {
                size_t n = k_sizes[s], fs = dtype_size(from), ts = dtype_size(to);
                void *x = hmalloc(n * fs), *ref = hmalloc(n * ts);
                for (size_t i = 0; i < n; i++) {
                    double v = rng_next() % 4 == 0 ? (double)irand(-3, 3) : urand(-999.9, 999.9);
                    if (from == CINFER_K_BOOL) v = (double)irand(0, 1);
                    put_value(x, from, i, v);
                    put_value(ref, to, i, get_value(x, from, i));
                }
                void *dx = d_in(x, n * fs), *dy = d_out(n * ts);
                char what[64];
                snprintf(what, sizeof what, "Cast %d->%d n=%zu", from, to, n);
                launched(cinfer_k_cast(dy, to, dx, from, n, g_stream), what);
                check_exact(what, fetch(dy, n * ts, what), ref, n, ts);
            }
        }
    }
}

// ONNX Cast between float and fp16 / bf16 (the boundary casts of models stored in 16 bits):
// round to nearest even with inf beyond the range, unlike the saturating GEMM-operand
// conversions; the way back is exact. Values span the types' ranges, with some past them.
static void test_cast_half(void) {
    static const cinfer_k_dtype types[2] = {CINFER_K_F16, CINFER_K_BF16};
    for (int t = 0; t < 2; t++) {
        for (size_t s = 0; s < N_SIZES; s++) {
            size_t n = k_sizes[s];
            cinfer_k_dtype h = types[t];
            float *x = hmalloc(n * 4 + 4), *back = hmalloc(n * 4 + 4);
            uint16_t *ref = hmalloc(n * 2 + 2), *hx = hmalloc(n * 2 + 2);
            for (size_t i = 0; i < n; i++) {
                double mag = h == CINFER_K_F16 ? ldexp(1.0, (int)irand(-26, 17))
                                               : ldexp(1.0, (int)irand(-130, 127));
                x[i] = (float)(urand(1.0, 2.0) * mag * (rng_next() & 1 ? -1.0 : 1.0));
                if (i % 97 == 5) x[i] = h == CINFER_K_F16 ? 70000.0f : -FLT_MAX;
                ref[i] = half_bits(h, x[i]);
                hx[i] = (uint16_t)(rng_next() & 0xffffu);
                if ((hx[i] & 0x7f80u) == 0x7f80u || (h == CINFER_K_F16 && (hx[i] & 0x7c00u) == 0x7c00u))
                    hx[i] &= 0x3fffu; /* no NaN patterns: NaN != NaN in the float check */
                back[i] = (float)half_value(h, hx[i]);
            }
            char what[64];
            snprintf(what, sizeof what, "Cast f32->%s n=%zu", h == CINFER_K_F16 ? "f16" : "bf16",
                     n);
            void *dy = d_out(n * 2);
            launched(cinfer_k_cast(dy, h, d_in(x, n * 4), CINFER_K_F32, n, g_stream), what);
            check_exact(what, fetch(dy, n * 2, what), ref, n, 2);
            snprintf(what, sizeof what, "Cast %s->f32 n=%zu", h == CINFER_K_F16 ? "f16" : "bf16",
                     n);
            void *dz = d_out(n * 4);
            launched(cinfer_k_cast(dz, CINFER_K_F32, d_in(hx, n * 2), h, n, g_stream), what);
            check_exact(what, fetch(dz, n * 4, what), back, n, 4);
            // the same type both sides: a half-mode Cast, a copy
            snprintf(what, sizeof what, "Cast %s->same n=%zu", h == CINFER_K_F16 ? "f16" : "bf16",
                     n);
            void *dc = d_out(n * 2);
            launched(cinfer_k_cast(dc, h, d_in(hx, n * 2), h, n, g_stream), what);
            check_exact(what, fetch(dc, n * 2, what), hx, n, 2);
        }
    }
}

/* ---- range, fill (Resize: tests/gpu/test_kernels_resize.c) ------------------------------ */

static void test_range_fill(void) {
    for (size_t s = 0; s < N_SIZES; s++) {
        size_t n = k_sizes[s];
        float start = (float)urand(-5.0, 5.0), delta = (float)urand(-0.5, 0.5);
        int64_t istart = irand(-100, 100), idelta = irand(1, 7) * (irand(0, 1) ? 1 : -1);
        void *dy = d_out(n * 4), *dyi = d_out(n * 8), *dfill = d_out(n * 4);
        launched(cinfer_k_range_f32(dy, start, delta, n, g_stream), "Range f32");
        launched(cinfer_k_range_i64(dyi, istart, idelta, n, g_stream), "Range i64");
        launched(cinfer_k_fill_f32(dfill, delta, n, g_stream), "Fill");
        float *y = fetch(dy, n * 4, "Range f32"), *yf = fetch(dfill, n * 4, "Fill");
        int64_t *yi = fetch(dyi, n * 8, "Range i64"), *refi = hmalloc(n * 8);
        double *ref = ref_f64(n), *reff = ref_f64(n);
        for (size_t i = 0; i < n; i++) {
            ref[i] = start + (double)i * delta;
            refi[i] = istart + (int64_t)i * idelta;
            reff[i] = delta;
        }
        check_f32("Range f32", y, ref, n, RTOL, ATOL);
        check_exact("Range i64", yi, refi, n, 8);
        check_f32("Fill", yf, reff, n, 0.0, 0.0);
    }
}

// Arguments the wrappers must refuse before launching anything.
static void test_rejects(void) {
    int64_t sz[1] = {7};
    cinfer_k_dims d = dims_of(1, sz), bad = d;
    bad.rank = CINFER_K_MAX_RANK + 1;
    cinfer_k_strides st = cinfer_k_dense_strides(&d);
    void *a = d_out(64), *y = d_out(64);
    cinfer_k_perm dup = {{0, 0}};
    int64_t sz2[2] = {2, 3};
    struct {
        const char *what;
        cudaError_t got;
    } checks[] = {
        {"Pow on int64", cinfer_k_binary_i64(CINFER_K_POW, y, a, st, a, st, d, g_stream)},
        {"rank 9", cinfer_k_binary_f32(CINFER_K_ADD, y, a, st, a, st, bad, g_stream)},
        {"repeated perm axis", cinfer_k_transpose(y, a, dims_of(2, sz2), dup, 4, g_stream)},
        {"element size 3", cinfer_k_gather(y, a, a, 1, 1, 1, 1, 3, g_stream)},
        {"empty reduction", cinfer_k_reduce_f32(CINFER_K_REDUCE_SUM, y, a, 1, 0, 1, g_stream)},
        {"unknown unary op", cinfer_k_unary_f32(CINFER_K_UNARY_COUNT, y, a, 7, 0, 0, g_stream)},
    };
    for (size_t k = 0; k < sizeof checks / sizeof checks[0]; k++)
        if (checks[k].got != cudaErrorInvalidValue)
            failf("%s: returned %s, expected cudaErrorInvalidValue", checks[k].what,
                  cudaGetErrorString(checks[k].got));
}

/* ---- driver -------------------------------------------------------------------------------- */

static const kernel_test k_tests[] = {
    {"binary_f32", test_binary_f32},
    {"binary_strided_view", test_binary_strided_view},
    {"binary_i64", test_binary_i64},
    {"compare", test_compare},
    {"logic", test_logic},
    {"where", test_where},
    {"unary", test_unary},
    {"softmax", test_softmax},
    {"layer_norm", test_layer_norm},
    {"instance_norm", test_instance_norm},
    {"batch_norm", test_batch_norm},
    {"unary_special", test_unary_special},
    {"reduce", test_reduce},
    {"arg", test_arg},
    {"cumsum", test_cumsum},
    {"global_pool", test_global_pool},
    {"pool2d", test_pool2d},
    {"transpose", test_transpose},
    {"slice", test_slice},
    {"concat_split", test_concat_split},
    {"expand", test_expand},
    {"tile", test_tile},
    {"pad", test_pad},
    {"gather", test_gather},
    {"cast", test_cast},
    {"cast_half", test_cast_half},
    {"range_fill", test_range_fill},
    {"rejects", test_rejects},
};

int main(void) {
    return run_kernel_tests(k_tests, (int)(sizeof k_tests / sizeof k_tests[0]));
}
