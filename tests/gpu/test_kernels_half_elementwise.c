// CUDA kernel tests for half activations (fp16 and bf16) in the elementwise family: broadcasting
// binary arithmetic and comparisons with float constants beside 16-bit operands, the unary
// activations, Where, ElementwiseChain, and the data movement (Transpose, Concat / Slice copies,
// Gather, Pad) including a float constant rounded into a 16-bit output. Inputs are rounded to
// the 16-bit type first; references are float64 from those rounded values, within DESIGN.md's
// "CUDA fp16/bf16 op vs CPU fp32" tolerance; pure moves and roundings compare bit for bit.
// Before any device is needed it checks the module's supports / half_io on half-mode nodes of
// these ops. Without a device it then prints "skipped: no CUDA device" and exits 77.
#include <stdbool.h>

#include "cuda/module.h"
#include "cuda/module_impl.h"
#include "kernel_harness.h"

// DESIGN.md, "CUDA fp16/bf16 op vs CPU fp32": max|got - ref| <= atol + rtol * max|ref|.
#define RTOL_H 1e-2
#define ATOL_H 1e-3

static const cinfer_k_dtype k_halves[] = {CINFER_K_F16, CINFER_K_BF16};

static const char *half_name(cinfer_k_dtype t) {
    return t == CINFER_K_F16 ? "fp16" : t == CINFER_K_BF16 ? "bf16" : "f32";
}

/* ---- operands: host bits for upload, the exact values for the reference ------------------ */

typedef struct operand {
    cinfer_k_dtype t;  // CINFER_K_F16, CINFER_K_BF16 or CINFER_K_F32 (a float constant)
    size_t n;
    void *host;        // n halves or floats
    double *val;       // the values the device sees
} operand;

static size_t elem_of(cinfer_k_dtype t) { return t == CINFER_K_F32 ? 4 : 2; }

// n values from urand(lo, hi) (a random sign when signed_), rounded to t.
static operand rand_operand(cinfer_k_dtype t, size_t n, double lo, double hi, bool signed_) {
    operand o = {t, n, hmalloc(n * elem_of(t)), ref_f64(n)};
    for (size_t i = 0; i < n; i++) {
        float f = (float)urand(lo, hi);
        if (signed_ && (rng_next() & 1)) f = -f;
        if (t == CINFER_K_F32) {
            ((float *)o.host)[i] = f;
            o.val[i] = f;
        } else {
            uint16_t h = half_bits(t, f);
            ((uint16_t *)o.host)[i] = h;
            o.val[i] = half_value(t, h);
        }
    }
    return o;
}

// Small integers (exact in every type) so that comparisons meet equal values.
static operand int_operand(cinfer_k_dtype t, size_t n) {
    operand o = rand_operand(t, n, 0, 1, false);
    for (size_t i = 0; i < n; i++) {
        float f = (float)irand(-3, 3);
        if (t == CINFER_K_F32) ((float *)o.host)[i] = f;
        else ((uint16_t *)o.host)[i] = half_bits(t, f);
        o.val[i] = f;
    }
    return o;
}

static void *upload(const operand *o) { return d_in(o->host, o->n * elem_of(o->t)); }

// Fetches n halves of type t and compares them with ref within the half tolerance.
static void check_half(const char *what, cinfer_k_dtype t, const void *dy, const double *ref,
                       size_t n) {
    const uint16_t *got = fetch(dy, n * 2, what);
    float *f = hmalloc((n ? n : 1) * sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = (float)half_value(t, got[i]);
    check_f32(what, f, ref, n, RTOL_H, ATOL_H);
}

/* ---- binary arithmetic with broadcasting ---------------------------------------------------- */

typedef struct shape_case {
    int ra, rb;
    int64_t a[4], b[4];
} shape_case;

static const shape_case k_shapes[] = {
    {3, 3, {2, 3, 41}, {2, 3, 41}},  // dense, odd
    {3, 2, {3, 1, 37}, {5, 1}},      // both broadcast
    {2, 0, {7, 13}, {0}},            // a scalar
    {1, 3, {9}, {2, 1, 9}},          // the left one broadcast
};

// One case: a of type at, b of type bt (each h or F32), y of type h.
static void run_binary(cinfer_k_binary_op op, cinfer_k_dtype h, cinfer_k_dtype at,
                       cinfer_k_dtype bt, const shape_case *c) {
    char what[96];
    snprintf(what, sizeof what, "binary op %d %s (a %s, b %s, shape %d/%d)", (int)op,
             half_name(h), half_name(at), half_name(bt), c->ra, c->rb);
    cinfer_k_dims da = dims_of(c->ra, c->a), db = dims_of(c->rb, c->b);
    cinfer_k_dims out = bcast_dims(da, db);
    size_t na = (size_t)count_of(da), nb = (size_t)count_of(db), n = (size_t)count_of(out);
    bool pw = op == CINFER_K_POW;
    operand a = pw ? rand_operand(at, na, 0.5, 2.0, false) : rand_operand(at, na, 0.1, 3, true);
    operand b = pw ? rand_operand(bt, nb, 0.0, 2.0, true) : rand_operand(bt, nb, 0.5, 2, true);
    double *ref = ref_f64(n);
    for (size_t i = 0; i < n; i++)
        ref[i] = binary_ref(op, a.val[bcast_src((int64_t)i, out, da)],
                            b.val[bcast_src((int64_t)i, out, db)]);
    void *dy = d_out(n * 2);
    launched(cinfer_k_binary_h(op, h, dy, upload(&a), at, strides_for(da, out), upload(&b), bt,
                               strides_for(db, out), out, g_stream),
             what);
    check_half(what, h, dy, ref, n);
}

static void test_binary_half(void) {
    for (int t = 0; t < 2; t++) {
        cinfer_k_dtype h = k_halves[t];
        const cinfer_k_dtype types[3][2] = {{h, h}, {h, CINFER_K_F32}, {CINFER_K_F32, h}};
        for (int op = CINFER_K_ADD; op <= CINFER_K_PRELU; op++)
            for (size_t s = 0; s < sizeof k_shapes / sizeof k_shapes[0]; s++)
                for (int k = 0; k < 3; k++)
                    run_binary((cinfer_k_binary_op)op, h, types[k][0], types[k][1],
                               &k_shapes[s]);
    }
}

/* ---- comparisons: half operands, bool results (exact) --------------------------------------- */

static void test_compare_half(void) {
    const shape_case *c = &k_shapes[1];
    cinfer_k_dims da = dims_of(c->ra, c->a), db = dims_of(c->rb, c->b);
    cinfer_k_dims out = bcast_dims(da, db);
    size_t na = (size_t)count_of(da), nb = (size_t)count_of(db), n = (size_t)count_of(out);
    for (int t = 0; t < 2; t++) {
        cinfer_k_dtype h = k_halves[t];
        for (int op = CINFER_K_EQUAL; op <= CINFER_K_GREATER_EQUAL; op++) {
            cinfer_k_dtype bt = op % 2 ? CINFER_K_F32 : h;  // a float constant on some
            char what[64];
            snprintf(what, sizeof what, "compare op %d %s (b %s)", op, half_name(h),
                     half_name(bt));
            operand a = int_operand(h, na), b = int_operand(bt, nb);
            uint8_t *ref = hmalloc(n);
            for (size_t i = 0; i < n; i++)
                ref[i] = compare_ref((cinfer_k_compare_op)op,
                                     a.val[bcast_src((int64_t)i, out, da)],
                                     b.val[bcast_src((int64_t)i, out, db)]);
            uint8_t *dy = d_out(n);
            launched(cinfer_k_compare_h((cinfer_k_compare_op)op, h, dy, upload(&a), h,
                                        strides_for(da, out), upload(&b), bt,
                                        strides_for(db, out), out, g_stream),
                     what);
            check_exact(what, fetch(dy, n, what), ref, n, 1);
        }
    }
}

/* ---- unary activations ---------------------------------------------------------------------- */

typedef struct unary_case {
    cinfer_k_unary_op op;
    double lo, hi;
    bool signed_;
} unary_case;

static const unary_case k_unary[] = {
    {CINFER_K_SQRT, 0.01, 9, false},      {CINFER_K_EXP, 0, 3, true},
    {CINFER_K_LOG, 0.05, 20, false},      {CINFER_K_NEG, 0.01, 5, true},
    {CINFER_K_ABS, 0.01, 5, true},        {CINFER_K_RECIPROCAL, 0.5, 4, true},
    {CINFER_K_ERF, 0, 2.5, true},         {CINFER_K_TANH, 0, 3, true},
    {CINFER_K_SIGMOID, 0, 6, true},       {CINFER_K_RELU, 0.01, 4, true},
    {CINFER_K_LEAKY_RELU, 0.01, 4, true}, {CINFER_K_CLIP, 0.01, 2, true},
    {CINFER_K_HARD_SIGMOID, 0, 4, true},  {CINFER_K_HARD_SWISH, 0, 5, true},
    {CINFER_K_GELU_ERF, 0, 4, true},      {CINFER_K_GELU_TANH, 0, 4, true},
    {CINFER_K_FLOOR, 0.01, 9, true},      {CINFER_K_CEIL, 0.01, 9, true},
    {CINFER_K_ELU, 0.01, 4, true},        {CINFER_K_SIN, 0, 6, true},
    {CINFER_K_COS, 0, 6, true},           {CINFER_K_TAN, 0, 1.2, true},
    {CINFER_K_ASIN, 0, 0.9, true},        {CINFER_K_ACOS, 0, 0.9, true},
    {CINFER_K_ATAN, 0, 5, true},          {CINFER_K_SINH, 0, 4, true},
    {CINFER_K_COSH, 0, 4, true},          {CINFER_K_ASINH, 0, 5, true},
    {CINFER_K_ACOSH, 1.05, 9, false},     {CINFER_K_ATANH, 0, 0.9, true},
    {CINFER_K_ROUND, 0.01, 9, true},      {CINFER_K_SIGN, 0.01, 3, true},
    {CINFER_K_SOFTPLUS, 0, 6, true},      {CINFER_K_SOFTSIGN, 0, 6, true},
    {CINFER_K_MISH, 0, 5, true},          {CINFER_K_SELU, 0.01, 4, true},
    {CINFER_K_CELU, 0.01, 4, true},       {CINFER_K_THRESHOLDED_RELU, 0.01, 2, true},
    {CINFER_K_SHRINK, 0.01, 2, true},
};

// alpha, beta: LeakyRelu 0.1; Clip [-0.5, 0.7]; HardSigmoid 0.2, 0.5; Elu 0.8; the newer
// activations as the fp32 test passes them (unary_test_args).
static void unary_args(cinfer_k_unary_op op, float *alpha, float *beta) {
    if (op >= CINFER_K_SIN) {
        unary_test_args(op, alpha, beta);
        return;
    }
    *alpha = op == CINFER_K_LEAKY_RELU ? 0.1f
             : op == CINFER_K_CLIP     ? -0.5f
             : op == CINFER_K_HARD_SIGMOID ? 0.2f
             : op == CINFER_K_ELU      ? 0.8f
                                       : 0.0f;
    *beta = op == CINFER_K_CLIP ? 0.7f : op == CINFER_K_HARD_SIGMOID ? 0.5f : 0.0f;
}

static void test_unary_half(void) {
    const size_t n = 1001;
    for (int t = 0; t < 2; t++) {
        cinfer_k_dtype h = k_halves[t];
        for (size_t k = 0; k < sizeof k_unary / sizeof k_unary[0]; k++) {
            const unary_case *c = &k_unary[k];
            char what[48];
            snprintf(what, sizeof what, "unary op %d %s", (int)c->op, half_name(h));
            float alpha, beta;
            unary_args(c->op, &alpha, &beta);
            operand x = rand_operand(h, n, c->lo, c->hi, c->signed_);
            double *ref = ref_f64(n);
            for (size_t i = 0; i < n; i++) ref[i] = unary_ref(c->op, x.val[i], alpha, beta);
            void *dy = d_out(n * 2);
            launched(cinfer_k_unary_h(c->op, h, dy, upload(&x), n, alpha, beta, g_stream), what);
            check_half(what, h, dy, ref, n);
        }
    }
}

// The unary kernel takes 16-byte accesses when x and y are 16-byte aligned (test_unary_half:
// cudaMalloc'd buffers, n = 1001 also covering the tail) and two-byte ones otherwise: here x
// and y start one element into their buffers.
static void test_unary_half_misaligned(void) {
    const size_t n = 203;
    for (int t = 0; t < 2; t++) {
        cinfer_k_dtype h = k_halves[t];
        char what[48];
        snprintf(what, sizeof what, "unary gelu misaligned %s", half_name(h));
        operand x = rand_operand(h, n + 1, 0.01, 3.0, true);
        double *ref = ref_f64(n + 1);
        ref[0] = x.val[0]; /* before the slice: untouched */
        for (size_t i = 1; i <= n; i++) ref[i] = unary_ref(CINFER_K_GELU_ERF, x.val[i], 0, 0);
        uint16_t *dy = d_out_from((n + 1) * 2, x.host, 2, what);
        const uint16_t *dx = upload(&x);
        launched(cinfer_k_unary_h(CINFER_K_GELU_ERF, h, dy ? dy + 1 : NULL, dx ? dx + 1 : NULL,
                                  n, 0, 0, g_stream),
                 what);
        check_half(what, h, dy, ref, n + 1);
    }
}

/* ---- Where: bool condition, a half, b a float constant (broadcast) -------------------------- */

static void test_where_half(void) {
    const int64_t sc[] = {4, 1, 9}, sa[] = {3, 9}, sb[] = {1};
    cinfer_k_dims dc = dims_of(3, sc), da = dims_of(2, sa), db = dims_of(1, sb);
    cinfer_k_dims out = bcast_dims(bcast_dims(dc, da), db);
    size_t nc = (size_t)count_of(dc), na = (size_t)count_of(da), n = (size_t)count_of(out);
    for (int t = 0; t < 2; t++) {
        cinfer_k_dtype h = k_halves[t];
        for (int swap = 0; swap < 2; swap++) {  // the constant as b, then as a
            char what[48];
            snprintf(what, sizeof what, "where %s (constant %s)", half_name(h),
                     swap ? "a" : "b");
            uint8_t *cond = hmalloc(nc);
            for (size_t i = 0; i < nc; i++) cond[i] = (uint8_t)(rng_next() & 1);
            operand x = rand_operand(h, na, 0.1, 5, true);
            operand k = rand_operand(CINFER_K_F32, 1, 1, 3, true);
            cinfer_k_dims dx = da, dk = db;
            double *ref = ref_f64(n);
            for (size_t i = 0; i < n; i++) {
                double vx = x.val[bcast_src((int64_t)i, out, dx)], vk = k.val[0];
                bool c = cond[bcast_src((int64_t)i, out, dc)] != 0;
                ref[i] = c == !swap ? vx : vk;
            }
            const operand *a = swap ? &k : &x, *b = swap ? &x : &k;
            cinfer_k_dims adims = swap ? dk : dx, bdims = swap ? dx : dk;
            void *dy = d_out(n * 2);
            launched(cinfer_k_where_h(h, dy, d_in(cond, nc), strides_for(dc, out), upload(a),
                                      a->t, strides_for(adims, out), upload(b), b->t,
                                      strides_for(bdims, out), out, g_stream),
                     what);
            check_half(what, h, dy, ref, n);
        }
    }
}

/* ---- ElementwiseChain ----------------------------------------------------------------------- */

// x * sigmoid(x) (SiLU), then (0.5 - v), Max with 0.1, Div by x, Tanh, Add 1.25.
static void test_chain_half(void) {
    cinfer_k_chain ch;
    memset(&ch, 0, sizeof ch);
    const int32_t ops[] = {CINFER_K_CHAIN_SIGMOID, CINFER_K_CHAIN_MUL, CINFER_K_CHAIN_SUB,
                           CINFER_K_CHAIN_MAX,     CINFER_K_CHAIN_DIV, CINFER_K_CHAIN_TANH,
                           CINFER_K_CHAIN_ADD};
    const int32_t operands[] = {CINFER_K_CHAIN_UNARY,       CINFER_K_CHAIN_INPUT_RIGHT,
                                CINFER_K_CHAIN_CONST_LEFT,  CINFER_K_CHAIN_CONST_RIGHT,
                                CINFER_K_CHAIN_INPUT_RIGHT, CINFER_K_CHAIN_UNARY,
                                CINFER_K_CHAIN_CONST_RIGHT};
    const float consts[] = {0, 0, 0.5f, 0.1f, 0, 0, 1.25f};
    ch.n_ops = 7;
    for (int k = 0; k < ch.n_ops; k++) {
        ch.op[k] = ops[k];
        ch.operand[k] = operands[k];
        ch.c[k] = consts[k];
    }
    const size_t n = 777;
    for (int t = 0; t < 2; t++) {
        cinfer_k_dtype h = k_halves[t];
        const char *what = half_name(h);
        operand x = rand_operand(h, n, 0.25, 4, true);
        double *ref = ref_f64(n);
        for (size_t i = 0; i < n; i++) {
            double xi = x.val[i], v = xi / (1 + exp(-xi));
            v = 0.5 - v;
            v = v > 0.1 ? v : 0.1;
            ref[i] = tanh(v / xi) + 1.25;
        }
        void *dy = d_out(n * 2);
        launched(cinfer_k_chain_h(h, dy, upload(&x), n, &ch, g_stream), what);
        check_half(what, h, dy, ref, n);
    }
}

/* ---- data movement: exact moves of 16-bit values, float constants rounded on the way ------- */

// Transpose of 16-bit values moves them unchanged: [5, 7, 3] -> perm (2, 0, 1).
static void test_transpose_half(void) {
    const int64_t s[] = {5, 7, 3};
    cinfer_k_dims in = dims_of(3, s);
    cinfer_k_perm perm = {{2, 0, 1}};
    size_t n = (size_t)count_of(in);
    for (int t = 0; t < 2; t++) {
        cinfer_k_dtype h = k_halves[t];
        operand x = rand_operand(h, n, 0.1, 9, true);
        const uint16_t *xs = x.host;
        uint16_t *ref = hmalloc(n * 2);
        for (int64_t a = 0; a < 5; a++)
            for (int64_t b = 0; b < 7; b++)
                for (int64_t c = 0; c < 3; c++) ref[(c * 5 + a) * 7 + b] = xs[(a * 7 + b) * 3 + c];
        void *dy = d_out(n * 2);
        launched(cinfer_k_transpose(dy, upload(&x), in, perm, 2, g_stream), half_name(h));
        check_exact(half_name(h), fetch(dy, n * 2, half_name(h)), ref, n, 2);
    }
}

// Concat along axis 1 of a half [2, 3, 5] and a float constant [2, 4, 5] (rounded into the
// output), then a Slice of the result: rows 1.. step 2 of axis 1, reversed along axis 2.
static void test_concat_slice_half(void) {
    const int64_t sa[] = {2, 3, 5}, sb[] = {2, 4, 5}, sy[] = {2, 7, 5};
    cinfer_k_dims da = dims_of(3, sa), db = dims_of(3, sb), dy_ = dims_of(3, sy);
    size_t na = 30, nb = 40, n = 70;
    for (int t = 0; t < 2; t++) {
        cinfer_k_dtype h = k_halves[t];
        const char *what = half_name(h);
        operand a = rand_operand(h, na, 0.1, 9, true);
        operand b = rand_operand(CINFER_K_F32, nb, 0.1, 9, true);
        uint16_t *ref = hmalloc(n * 2);
        for (int64_t i = 0; i < 2; i++)
            for (int64_t j = 0; j < 7; j++)
                for (int64_t k = 0; k < 5; k++)
                    ref[(i * 7 + j) * 5 + k] =
                        j < 3 ? ((const uint16_t *)a.host)[(i * 3 + j) * 5 + k]
                              : half_bits(h, ((const float *)b.host)[(i * 4 + j - 3) * 5 + k]);
        cinfer_k_strides ys = cinfer_k_dense_strides(&dy_);
        unsigned char *dy = d_out(n * 2);
        launched(cinfer_k_copy_strided(dy, ys, upload(&a), cinfer_k_dense_strides(&da), da, 2,
                                       g_stream),
                 what);
        launched(cinfer_k_copy_strided_f32_to_h(h, dy + 3 * 5 * 2, ys, upload(&b),
                                                cinfer_k_dense_strides(&db), db, g_stream),
                 what);
        check_exact(what, fetch(dy, n * 2, what), ref, n, 2);
        // Slice y[:, 1::2, ::-1] -> [2, 3, 5], reading y through steps from (0, 1, 4).
        const int64_t so[] = {2, 3, 5};
        cinfer_k_dims ds = dims_of(3, so);
        cinfer_k_strides ss = {{35, 10, -1}};
        uint16_t *sref = hmalloc(30 * 2);
        for (int64_t i = 0; i < 2; i++)
            for (int64_t j = 0; j < 3; j++)
                for (int64_t k = 0; k < 5; k++)
                    sref[(i * 3 + j) * 5 + k] = ref[(i * 7 + 1 + 2 * j) * 5 + (4 - k)];
        void *dz = d_out(30 * 2);
        launched(cinfer_k_copy_strided(dz, cinfer_k_dense_strides(&ds), dy + (1 * 5 + 4) * 2,
                                       ss, ds, 2, g_stream),
                 what);
        check_exact(what, fetch(dz, 30 * 2, what), sref, 30, 2);
    }
}

// Gather along axis 1 of [3, 6, 4]: from half data (moved as it is) and from a float table
// (rounded into the output), with a negative index.
static void test_gather_half(void) {
    const int64_t outer = 3, dim = 6, inner = 4, nidx = 5;
    const int64_t idx[] = {2, -1, 0, 5, 2};
    size_t nx = (size_t)(outer * dim * inner), n = (size_t)(outer * nidx * inner);
    for (int t = 0; t < 2; t++) {
        cinfer_k_dtype h = k_halves[t];
        const char *what = half_name(h);
        operand x = rand_operand(h, nx, 0.1, 9, true);
        operand xf = rand_operand(CINFER_K_F32, nx, 0.1, 9, true);
        uint16_t *ref = hmalloc(n * 2), *reff = hmalloc(n * 2);
        for (int64_t o = 0; o < outer; o++)
            for (int64_t k = 0; k < nidx; k++)
                for (int64_t i = 0; i < inner; i++) {
                    int64_t j = idx[k] < 0 ? idx[k] + dim : idx[k];
                    size_t src = (size_t)((o * dim + j) * inner + i);
                    size_t dst = (size_t)((o * nidx + k) * inner + i);
                    ref[dst] = ((const uint16_t *)x.host)[src];
                    reff[dst] = half_bits(h, ((const float *)xf.host)[src]);
                }
        int64_t *di = d_in(idx, sizeof idx);
        void *dy = d_out(n * 2), *dyf = d_out(n * 2);
        launched(cinfer_k_gather(dy, upload(&x), di, outer, dim, inner, nidx, 2, g_stream),
                 what);
        launched(cinfer_k_gather_f32_to_h(h, dyf, upload(&xf), di, outer, dim, inner, nidx,
                                          g_stream),
                 what);
        check_exact(what, fetch(dy, n * 2, what), ref, n, 2);
        check_exact(what, fetch(dyf, n * 2, what), reff, n, 2);
    }
}

// Pad [3, 4] by (1, 2) before and (2, 0) after with a constant rounded to the type; then edge.
static void test_pad_half(void) {
    const int64_t si[] = {3, 4}, so[] = {6, 6};
    cinfer_k_dims in = dims_of(2, si), out = dims_of(2, so);
    cinfer_k_strides begin = {{1, 2}};
    const float value = 1.1f;  // not exact in 16 bits: the rounding shows
    for (int t = 0; t < 2; t++) {
        cinfer_k_dtype h = k_halves[t];
        for (int edge = 0; edge < 2; edge++) {
            char what[32];
            snprintf(what, sizeof what, "pad %s %s", half_name(h), edge ? "edge" : "constant");
            operand x = rand_operand(h, 12, 0.1, 9, true);
            uint16_t *ref = hmalloc(36 * 2);
            for (int64_t r = 0; r < 6; r++)
                for (int64_t c = 0; c < 6; c++) {
                    int64_t sr = r - 1, sc = c - 2;
                    bool inside = sr >= 0 && sr < 3 && sc >= 0 && sc < 4;
                    if (edge) {
                        sr = sr < 0 ? 0 : sr > 2 ? 2 : sr;
                        sc = sc < 0 ? 0 : sc > 3 ? 3 : sc;
                    }
                    ref[r * 6 + c] = inside || edge ? ((const uint16_t *)x.host)[sr * 4 + sc]
                                                    : half_bits(h, value);
                }
            void *dy = d_out(36 * 2);
            launched(cinfer_k_pad_h(h, dy, upload(&x), in, out, begin,
                                    edge ? CINFER_K_PAD_EDGE : CINFER_K_PAD_CONSTANT, value,
                                    g_stream),
                     what);
            check_exact(what, fetch(dy, 36 * 2, what), ref, 36, 2);
        }
    }
}

// Finite values beyond the 16-bit range saturate at the largest finite value (half_access.cuh):
// the conversion kernel and a 16-bit store (Pad's constant) on the values of an fp32 attention
// mask (finfo(float32).min), past fp16's 65504, and the infinities, which pass through.
static void test_saturate_half(void) {
    static const float x[6] = {-3.4028235e38f, 3.0e38f, 70000.0f, -70000.0f, -INFINITY, 1.5f};
    static const uint16_t want_f16[6] = {0xFBFF, 0x7BFF, 0x7BFF, 0xFBFF, 0xFC00, 0x3E00};
    static const uint16_t want_bf16[6] = {0xFF7F, 0x7F62, 0x4789, 0xC789, 0xFF80, 0x3FC0};
    for (int t = 0; t < 2; t++) {
        cinfer_k_dtype h = k_halves[t];
        const uint16_t *want = h == CINFER_K_F16 ? want_f16 : want_bf16;
        char what[48];
        snprintf(what, sizeof what, "saturate %s (conversion)", half_name(h));
        void *dy = d_out(6 * 2);
        const float *dx = d_in(x, sizeof x);
        launched(h == CINFER_K_F16 ? cinfer_k_f32_to_f16(dy, dx, 6, g_stream)
                                   : cinfer_k_f32_to_bf16(dy, dx, 6, g_stream),
                 what);
        check_exact(what, fetch(dy, 6 * 2, what), want, 6, 2);
        // Pad a [1] tensor to [2] with the float32 minimum as the constant.
        const int64_t si[] = {1}, so[] = {2};
        cinfer_k_strides begin = {{1}};
        void *dp = d_out(2 * 2), *one = d_in(&want[5], 2);
        snprintf(what, sizeof what, "saturate %s (pad constant)", half_name(h));
        launched(cinfer_k_pad_h(h, dp, one, dims_of(1, si), dims_of(1, so), begin,
                                CINFER_K_PAD_CONSTANT, x[0], g_stream),
                 what);
        const uint16_t want_pad[2] = {want[0], want[5]};
        check_exact(what, fetch(dp, 2 * 2, what), want_pad, 2, 2);
    }
}

/* ---- argument checks ---------------------------------------------------------------------- */

static void test_half_rejects(void) {
    const int64_t s[] = {4};
    cinfer_k_dims d = dims_of(1, s);
    cinfer_k_strides st = cinfer_k_dense_strides(&d);
    void *y = dmalloc(64), *a = dmalloc(64);
    const cinfer_k_dtype F16 = CINFER_K_F16, BF16 = CINFER_K_BF16, F32 = CINFER_K_F32;
    struct {
        const char *what;
        cudaError_t e;
    } cases[] = {
        {"binary h = f32", cinfer_k_binary_h(CINFER_K_ADD, F32, y, a, F32, st, a, F32, st, d,
                                             g_stream)},
        {"binary mixed halves", cinfer_k_binary_h(CINFER_K_ADD, F16, y, a, BF16, st, a, F16, st,
                                                  d, g_stream)},
        {"compare int64 operand", cinfer_k_compare_h(CINFER_K_LESS, BF16, y, a, CINFER_K_I64, st,
                                                     a, BF16, st, d, g_stream)},
        {"where h = bool", cinfer_k_where_h(CINFER_K_BOOL, y, a, st, a, F32, st, a, F32, st, d,
                                            g_stream)},
        {"unary h = f32", cinfer_k_unary_h(CINFER_K_RELU, F32, y, a, 4, 0, 0, g_stream)},
        {"chain h = f32", cinfer_k_chain_h(F32, y, a, 4, NULL, g_stream)},
        {"pad h = i64", cinfer_k_pad_h(CINFER_K_I64, y, a, d, d, st, CINFER_K_PAD_CONSTANT, 0,
                                       g_stream)},
        {"copy to f32", cinfer_k_copy_strided_f32_to_h(F32, y, st, a, st, d, g_stream)},
        {"gather to f32", cinfer_k_gather_f32_to_h(F32, y, a, a, 1, 4, 1, 1, g_stream)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (cases[i].e != cudaErrorInvalidValue)
            failf("%s: returned %s, expected cudaErrorInvalidValue", cases[i].what,
                  cudaGetErrorString(cases[i].e));
}

/* ---- the module's supports in half mode (no device needed) ---------------------------------- */

static int check_supports(void) {
    const cinfer_dtype F = CINFER_DTYPE_FLOAT, I64 = CINFER_DTYPE_INT64, B = CINFER_DTYPE_BOOL;
    static const float w[64] = {1.0f}, lo = -1.0f, hi = 2.0f;
    // Constant inputs' values: Gather indices, Pad pads, Slice starts / ends / axes, Expand.
    static const int64_t idx[2] = {0, 2}, pads[4] = {0, 1, 0, 2}, one[1] = {1}, six[1] = {6};
    static const int64_t shape[2] = {4, 6};
    const int64_t x[2] = {4, 6}, row[1] = {6}, x2[2] = {4, 12}, t[2] = {6, 4}, g[3] = {4, 2, 6};
    const int64_t r1[1] = {2}, r4[1] = {4}, g2[2] = {2, 6}, px[2] = {4, 9}, sl[2] = {4, 5};
    int64_t ops[2] = {CINFER_K_CHAIN_SIGMOID, CINFER_K_CHAIN_MUL};
    int64_t operands[2] = {CINFER_K_CHAIN_UNARY, CINFER_K_CHAIN_INPUT_RIGHT};
    float consts[2] = {0, 0};
    cinfer__attr chain[3] = {
        {.name = "ops", .type = CINFER_ATTR_INTS, .ints = ops, .count = 2},
        {.name = "operands", .type = CINFER_ATTR_INTS, .ints = operands, .count = 2},
        {.name = "constants", .type = CINFER_ATTR_FLOATS, .floats = consts, .count = 2},
    };
    int64_t perm[2] = {1, 0};
    cinfer__attr tperm = {.name = "perm", .type = CINFER_ATTR_INTS, .ints = perm, .count = 2};
    cinfer__attr axis1 = {.name = "axis", .type = CINFER_ATTR_INT, .i = 1};
    cinfer_tensor act = node_tensor(F, 2, x, NULL), bias = node_tensor(F, 1, row, w);
    cinfer_tensor cond = node_tensor(B, 2, x, NULL), cst = node_tensor(F, 2, x, w);
    node_case cases[] = {
        {"Add", "", 14, 2, {act, bias}, act, 0, NULL, 1, 1},
        {"Pow", "", 15, 2, {act, node_tensor(F, 0, x, w)}, act, 0, NULL, 1, 1},
        // Comparisons stay out of half mode (a bool result only loses by narrowing first).
        {"Less", "", 13, 2, {act, bias}, cond, 0, NULL, 1, 0},
        // An int64 Gather has no float activation: not half mode at any precision.
        {"Gather", "", 13, 2, {node_tensor(I64, 2, x, NULL), node_tensor(I64, 1, r1, idx)},
         node_tensor(I64, 2, g2, NULL), 0, NULL, 1, 0},
        {"Add", "", 14, 2, {act, node_tensor(I64, 2, x, NULL)}, act, 0, NULL, 0, 0},
        {"And", "", 7, 2, {cond, cond}, cond, 0, NULL, 1, 0},
        {"Where", "", 16, 3, {cond, act, node_tensor(F, 0, x, w)}, act, 0, NULL, 1, 1},
        {"Relu", "", 14, 1, {act}, act, 0, NULL, 1, 1},
        {"Clip", "", 13, 3, {act, node_tensor(F, 0, x, &lo), node_tensor(F, 0, x, &hi)}, act, 0,
         NULL, 1, 1},
        {"Cast", "", 13, 1, {act}, node_tensor(I64, 2, x, NULL), 0, NULL, 1, 0},
        {"ElementwiseChain", "cinfer", 1, 1, {act}, act, 3, chain, 1, 1},
        {"Transpose", "", 13, 1, {act}, node_tensor(F, 2, t, NULL), 1, &tperm, 1, 1},
        {"Gather", "", 13, 2, {node_tensor(F, 2, x, w), node_tensor(I64, 1, r1, idx)},
         node_tensor(F, 2, g2, NULL), 0, NULL, 1, 1},
        {"Gather", "", 13, 2, {act, node_tensor(I64, 1, r1, idx)}, node_tensor(F, 3, g, NULL), 0,
         NULL, 1, 1},
        {"Concat", "", 13, 2, {act, cst}, node_tensor(F, 2, x2, NULL), 1, &axis1, 1, 1},
        {"Pad", "", 13, 2, {act, node_tensor(I64, 1, r4, pads)}, node_tensor(F, 2, px, NULL), 0,
         NULL, 1, 1},
        {"Slice", "", 13, 4,
         {act, node_tensor(I64, 1, one, one), node_tensor(I64, 1, one, six),
          node_tensor(I64, 1, one, one)},
         node_tensor(F, 2, sl, NULL), 0, NULL, 1, 1},
        {"Expand", "", 13, 2, {bias, node_tensor(I64, 1, r1, shape)}, act, 0, NULL, 1, 1},
    };
    int ok = check_nodes(cases, sizeof cases / sizeof cases[0]);
    // A Transpose of a float constant in half mode would move 4-byte elements into a 2-byte
    // output: its 16-bit view is refused, so at fp16 it is not half_io and runs on float
    // activations, accepted as in fp32.
    node_case tc = {"Transpose", "", 13, 1, {cst}, node_tensor(F, 2, t, NULL), 1, &tperm, 1, 0};
    ok &= check_node(&tc, CINFER_PRECISION_FP16);
    ok &= check_node(&tc, CINFER_PRECISION_FP32);
    // A model's own fp16 activations: at fp16 they are the half view already (half mode); at
    // bf16 retyping them would reinterpret their bits, so the node stays out of half mode
    // (half_io 0) and runs on its fp16 values as at fp32.
    const cinfer_dtype H = CINFER_DTYPE_FLOAT16;
    node_case nf = {"Add", "", 14, 2, {node_tensor(H, 2, x, NULL), node_tensor(H, 2, x, NULL)},
                    node_tensor(H, 2, x, NULL), 0, NULL, 1, 1};
    ok &= check_node(&nf, CINFER_PRECISION_FP16);
    nf.accept_half = 0;
    ok &= check_node(&nf, CINFER_PRECISION_BF16);
    printf("%-20s %s\n", "half supports", ok ? "passed" : "failed");
    return ok;
}

/* ---- driver -------------------------------------------------------------------------------- */

static const kernel_test k_tests[] = {
    {"binary_half", test_binary_half},
    {"compare_half", test_compare_half},
    {"unary_half", test_unary_half},
    {"unary_half_misaligned", test_unary_half_misaligned},
    {"where_half", test_where_half},
    {"chain_half", test_chain_half},
    {"transpose_half", test_transpose_half},
    {"concat_slice_half", test_concat_slice_half},
    {"gather_half", test_gather_half},
    {"pad_half", test_pad_half},
    {"saturate_half", test_saturate_half},
    {"half_rejects", test_half_rejects},
};

int main(void) {
    if (!check_supports()) return 1;
    return run_kernel_tests(k_tests, (int)(sizeof k_tests / sizeof k_tests[0]));
}
