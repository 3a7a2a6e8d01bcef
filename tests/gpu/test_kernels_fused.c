// Tests of the fused ops' CUDA kernels (SkipLayerNorm, Attention) against float64 host
// references, with guard bytes after every output; and, before any device is needed, that the
// CUDA module accepts the shapes the fusion tests and the BERT zoo models give these ops.
// Without a usable device the kernel part prints "skipped: no CUDA device" and exits 77.
#include "kernel_harness.h"

#include "cuda/module_impl.h"

/* ---- SkipLayerNorm ------------------------------------------------------------------------ */

typedef struct {
    int ra;
    int64_t a[4];
    int rb;
    int64_t b[4];
    int axis;
    int rs;
    int64_t s[4];
    int rbias;  // -1: no bias input
    int64_t bias[4];
    int sum;    // the sum output is wanted
} skip_case;

// Rows on both sides of the warp/block switch (1024 columns), row counts not multiples of 32,
// every broadcast of A, B, scale and bias the CPU op takes, one or more normalized dims.
static const skip_case k_skip[] = {
    {3, {2, 3, 48}, 3, {2, 3, 48}, -1, 1, {48}, 1, {48}, 1},       // fusion test "same"
    {3, {2, 3, 48}, 1, {48}, -1, 1, {48}, 1, {48}, 0},             // "row"
    {3, {2, 3, 48}, 2, {3, 1}, -1, 1, {48}, 1, {48}, 1},           // "col"
    {3, {2, 3, 48}, 3, {2, 3, 48}, -1, 1, {48}, -1, {0}, 0},       // "no_bias"
    {3, {2, 37, 256}, 3, {1, 37, 256}, -1, 1, {256}, 1, {256}, 1}, // embeddings + positions
    {1, {768}, 3, {3, 7, 768}, -1, 1, {768}, 1, {768}, 1},         // A broadcast, not B
    {2, {37, 1}, 2, {1, 100}, -1, 1, {100}, 1, {100}, 1},          // both broadcast
    {2, {5, 1500}, 1, {1500}, -1, 1, {1500}, 1, {1500}, 1},        // block per row
    {2, {3, 4099}, 2, {3, 4099}, 1, 1, {1}, 1, {4099}, 0},         // scalar scale
    {3, {3, 5, 7}, 2, {5, 1}, 1, 2, {5, 7}, 2, {1, 7}, 1},         // two normalized dims
    {4, {2, 3, 5, 7}, 3, {3, 1, 7}, -3, 2, {5, 1}, 3, {1, 1, 7}, 1},
    {2, {33, 1}, 2, {33, 1}, -1, 1, {1}, 1, {1}, 1},               // one column
};

// The reference in float64: s = a + b, then LayerNormalization of s over the dims from axis.
static void skip_reference(cinfer_k_dims od, int axis, cinfer_k_dims ad, const float *a,
                           cinfer_k_dims bd, const float *b, cinfer_k_dims sd, const float *g,
                           cinfer_k_dims bsd, const float *beta, double eps, double *y,
                           double *sum) {
    int64_t n = count_of(od), cols = 1;
    for (int d = axis; d < od.rank; d++) cols *= od.size[d];
    cinfer_k_dims nd = dims_of(od.rank - axis, od.size + axis);
    for (int64_t i = 0; i < n; i++)
        sum[i] = (double)a[bcast_src(i, od, ad)] + b[bcast_src(i, od, bd)];
    for (int64_t r = 0; r < n / cols; r++) {
        const double *s = sum + r * cols;
        double mean = 0, var = 0;
        for (int64_t c = 0; c < cols; c++) mean += s[c];
        mean /= (double)cols;
        for (int64_t c = 0; c < cols; c++) var += (s[c] - mean) * (s[c] - mean);
        double inv = 1.0 / sqrt(var / (double)cols + eps);
        for (int64_t c = 0; c < cols; c++) {
            double v = (s[c] - mean) * inv * g[bcast_src(c, nd, sd)];
            y[r * cols + c] = beta ? v + beta[bcast_src(c, nd, bsd)] : v;
        }
    }
}

// The caller's mapping (as src/cuda/ops_fused.c does it): strides over the output, split at
// axis into row and column parts; scale and bias against the normalized dims alone.
static void split_at(cinfer_k_strides all, int axis, cinfer_k_strides *row,
                     cinfer_k_strides *col) {
    memset(row, 0, sizeof *row);
    memset(col, 0, sizeof *col);
    for (int d = 0; d < CINFER_K_MAX_RANK; d++) {
        if (d < axis) row->s[d] = all.s[d];
        else col->s[d - axis] = all.s[d];
    }
}

static void run_skip_case(size_t c, const skip_case *k) {
    cinfer_k_dims ad = dims_of(k->ra, k->a), bd = dims_of(k->rb, k->b);
    cinfer_k_dims od = bcast_dims(ad, bd), sd = dims_of(k->rs, k->s);
    cinfer_k_dims bsd = dims_of(k->rbias < 0 ? 0 : k->rbias, k->bias);
    int axis = norm_axis(k->axis, od.rank);
    int64_t n = count_of(od), na = count_of(ad), nb = count_of(bd), ns = count_of(sd);
    int64_t nbias = count_of(bsd);
    float *a = rand_f32_signed(na, 0.1, 2.0), *b = rand_f32_signed(nb, 0.1, 2.0);
    float *g = rand_f32(ns, 0.5, 1.5), *beta = k->rbias < 0 ? NULL : rand_f32_signed(nbias, 0.1, 1);
    float *da = d_in(a, na * 4), *db = d_in(b, nb * 4), *dg = d_in(g, ns * 4);
    float *dbeta = beta ? d_in(beta, nbias * 4) : NULL;
    float *dy = d_out(n * 4), *dsum = k->sum ? d_out(n * 4) : NULL;
    cinfer_k_skip_ln p;
    memset(&p, 0, sizeof p);
    p.rows = dims_of(axis, od.size);
    p.cols = dims_of(od.rank - axis, od.size + axis);
    split_at(strides_for(ad, od), axis, &p.a_row, &p.a_col);
    split_at(strides_for(bd, od), axis, &p.b_row, &p.b_col);
    p.gamma_col = strides_for(sd, p.cols);
    if (beta) p.beta_col = strides_for(bsd, p.cols);
    p.epsilon = 1e-5f;
    char what[64];
    snprintf(what, sizeof what, "SkipLayerNorm case %zu", c);
    launched(cinfer_k_skip_layer_norm_f32(dy, dsum, da, db, dg, dbeta, p, g_stream), what);
    float *y = fetch(dy, n * 4, what);
    double *ref = ref_f64(n), *sref = ref_f64(n);
    skip_reference(od, axis, ad, a, bd, b, sd, g, bsd, beta, 1e-5, ref, sref);
    check_f32(what, y, ref, n, RTOL, ATOL);
    if (dsum) {
        snprintf(what, sizeof what, "SkipLayerNorm case %zu sum", c);
        check_f32(what, fetch(dsum, n * 4, what), sref, n, RTOL, ATOL);
    }
}

static void test_skip_layer_norm(void) {
    for (size_t c = 0; c < sizeof k_skip / sizeof k_skip[0]; c++) run_skip_case(c, &k_skip[c]);
}

/* ---- Attention ------------------------------------------------------------------------------ */

typedef enum { MASK_NONE, MASK_RANDOM, MASK_PAD, MASK_INF } mask_kind;

typedef struct {
    int rq;
    int64_t q[4];  // [.., sq, d]
    int rk;
    int64_t k[4];  // [.., d, skv]
    int rv;
    int64_t v[4];  // [.., skv, dv]
    int rm;        // -1: no mask
    int64_t m[4];
    mask_kind kind;
} att_case;

// Sequence lengths 1, 7, 77, 130, 513 (none a multiple of the 16-query or 32-key tiles but
// 1), head sizes 32, 64, 80, 128 and a dv unlike d, Q broadcast over a batch dim K and V
// have, masks of rank 0-4 broadcasting each way. MASK_PAD masks keys with -10000 (BERT's
// padding); MASK_INF masks with -inf, including whole rows and a whole first key tile.
static const att_case k_att[] = {
    {4, {2, 3, 7, 32}, 4, {2, 3, 32, 7}, 4, {2, 3, 7, 32}, 4, {2, 1, 1, 7}, MASK_RANDOM},
    {4, {2, 3, 17, 8}, 4, {2, 3, 8, 19}, 4, {2, 3, 19, 8}, -1, {0}, MASK_NONE},
    {3, {3, 17, 8}, 4, {2, 3, 8, 19}, 4, {2, 3, 19, 8}, 2, {17, 19}, MASK_RANDOM},
    {2, {5, 8}, 2, {8, 33}, 2, {33, 8}, 1, {33}, MASK_RANDOM},
    {4, {1, 2, 77, 64}, 4, {1, 2, 64, 77}, 4, {1, 2, 77, 64}, 2, {77, 77}, MASK_INF},
    {3, {3, 130, 80}, 4, {2, 3, 80, 130}, 4, {2, 3, 130, 80}, 1, {130}, MASK_PAD},
    {3, {4, 1, 64}, 3, {4, 64, 513}, 3, {4, 513, 128}, 3, {4, 1, 513}, MASK_PAD},
    {3, {2, 513, 128}, 3, {2, 128, 513}, 3, {2, 513, 128}, -1, {0}, MASK_NONE},
    {2, {1, 1}, 2, {1, 1}, 2, {1, 1}, 0, {0}, MASK_RANDOM},
    {3, {2, 7, 128}, 3, {2, 128, 77}, 3, {2, 77, 32}, 2, {7, 1}, MASK_RANDOM},
    {4, {2, 4, 130, 64}, 4, {2, 4, 64, 130}, 4, {2, 4, 130, 64}, 4, {2, 1, 130, 130}, MASK_INF},
};

static float *att_mask(int64_t nm, int64_t mcols, mask_kind kind) {
    float *m = rand_f32_signed(nm, 0.1, 5.0);
    for (int64_t i = 0; i < nm; i++) {
        int64_t row = i / mcols, col = i % mcols;
        if (kind == MASK_PAD && col % 5 == 3) m[i] = -10000.0f;
        if (kind == MASK_INF && (row % 7 == 2 || col % 3 == 1 || (row % 7 == 4 && col < 40)))
            m[i] = -INFINITY;  // row % 7 == 2: every key masked
    }
    return m;
}

// Softmax over one query's scores in float64; all -inf gives NaN, as the CPU's softmax does.
static void att_row(const double *s, int64_t skv, const float *v, int64_t dv, double *y) {
    double mx = -INFINITY, sum = 0;
    for (int64_t j = 0; j < skv; j++) mx = s[j] > mx ? s[j] : mx;
    for (int64_t c = 0; c < dv; c++) y[c] = 0;
    if (mx == -INFINITY) {
        for (int64_t c = 0; c < dv; c++) y[c] = NAN;
        return;
    }
    for (int64_t j = 0; j < skv; j++) {
        double e = exp(s[j] - mx);
        sum += e;
        for (int64_t c = 0; c < dv; c++) y[c] += e * v[j * dv + c];
    }
    for (int64_t c = 0; c < dv; c++) y[c] /= sum;
}

static int64_t mat_of(cinfer_k_dims bd, int64_t bi, int r, const int64_t *dims, int64_t mat) {
    cinfer_k_dims td = dims_of(r > 2 ? r - 2 : 0, dims);
    return bcast_src(bi, bd, td) * mat;
}

// The reference, batch entry by batch entry; y is dense [batch..., sq, dv].
static void att_reference(const att_case *k, cinfer_k_dims bd, const float *q, const float *kk,
                          const float *v, const float *m, double scale, double *y) {
    int64_t sq = k->q[k->rq - 2], d = k->q[k->rq - 1], skv = k->k[k->rk - 1];
    int64_t dv = k->v[k->rv - 1];
    int64_t mr = k->rm >= 2 ? k->m[k->rm - 2] : 1, mc = k->rm >= 1 ? k->m[k->rm - 1] : 1;
    double *s = hmalloc((size_t)skv * sizeof *s);
    for (int64_t bi = 0; bi < count_of(bd); bi++) {
        const float *qb = q + mat_of(bd, bi, k->rq, k->q, sq * d);
        const float *kb = kk + mat_of(bd, bi, k->rk, k->k, d * skv);
        const float *vb = v + mat_of(bd, bi, k->rv, k->v, skv * dv);
        const float *mb = m ? m + mat_of(bd, bi, k->rm, k->m, mr * mc) : NULL;
        for (int64_t i = 0; i < sq; i++) {
            for (int64_t j = 0; j < skv; j++) {
                double acc = 0;
                for (int64_t c = 0; c < d; c++) acc += (double)qb[i * d + c] * kb[c * skv + j];
                s[j] = acc * scale + (mb ? mb[(mr == 1 ? 0 : i) * mc + (mc == 1 ? 0 : j)] : 0);
            }
            att_row(s, skv, vb, dv, y + (bi * sq + i) * dv);
        }
    }
}

// NaN where the reference is NaN (every key masked), the usual tolerance everywhere else.
static void check_att(const char *what, const float *got, double *ref, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        if (!isnan(ref[i])) continue;
        if (!isnan(got[i])) {
            failf("%s: [%lld] got %.9g, expected NaN (every key masked)", what, (long long)i,
                  (double)got[i]);
            return;
        }
        ref[i] = 0;  // a NaN got here passed: compare zeros below
    }
    float *g = hmalloc((size_t)n * sizeof *g);
    for (int64_t i = 0; i < n; i++) g[i] = isnan(got[i]) && ref[i] == 0 ? 0.0f : got[i];
    check_f32(what, g, ref, (size_t)n, RTOL, ATOL);
}

static cinfer_k_strides att_batch_strides(int r, const int64_t *dims, cinfer_k_dims bd,
                                          int64_t mat) {
    cinfer_k_strides st;
    memset(&st, 0, sizeof st);
    int lead = r > 2 ? r - 2 : 0;
    int64_t s = mat;
    for (int i = bd.rank - 1; i >= 0; i--) {
        int ti = i - (bd.rank - lead);
        int64_t dd = ti >= 0 ? dims[ti] : 1;
        st.s[i] = dd == 1 ? 0 : s;
        s *= dd;
    }
    return st;
}

static void run_att_case(size_t c, const att_case *k) {
    cinfer_k_attention p;
    memset(&p, 0, sizeof p);
    p.sq = k->q[k->rq - 2], p.d = k->q[k->rq - 1], p.skv = k->k[k->rk - 1];
    p.dv = k->v[k->rv - 1];
    cinfer_k_dims bd = bcast_dims(bcast_dims(dims_of(k->rq - 2, k->q), dims_of(k->rk - 2, k->k)),
                                  dims_of(k->rv - 2, k->v));
    int64_t mr = k->rm >= 2 ? k->m[k->rm - 2] : 1, mc = k->rm >= 1 ? k->m[k->rm - 1] : 1;
    if (k->rm > 2) bd = bcast_dims(bd, dims_of(k->rm - 2, k->m));
    p.batch = bd;
    p.q_batch = att_batch_strides(k->rq, k->q, bd, p.sq * p.d);
    p.k_batch = att_batch_strides(k->rk, k->k, bd, p.d * p.skv);
    p.v_batch = att_batch_strides(k->rv, k->v, bd, p.skv * p.dv);
    p.scale = (float)(1.0 / sqrt((double)p.d));
    int64_t nq = count_of(dims_of(k->rq, k->q)), nk = count_of(dims_of(k->rk, k->k));
    int64_t nv = count_of(dims_of(k->rv, k->v)), ny = count_of(bd) * p.sq * p.dv;
    float *q = rand_f32_signed(nq, 0.05, 1), *kk = rand_f32_signed(nk, 0.05, 1);
    float *v = rand_f32_signed(nv, 0.05, 1), *m = NULL, *dm = NULL;
    if (k->rm >= 0) {
        int64_t nm = count_of(dims_of(k->rm, k->m));
        m = att_mask(nm, mc, k->kind);
        dm = d_in(m, nm * 4);
        p.mask_row = mr == 1 ? 0 : mc;
        p.mask_col = mc == 1 ? 0 : 1;
        p.mask_batch = att_batch_strides(k->rm, k->m, bd, mr * mc);
    }
    float *dq = d_in(q, nq * 4), *dk = d_in(kk, nk * 4), *dv = d_in(v, nv * 4);
    float *dy = d_out(ny * 4);
    char what[64];
    snprintf(what, sizeof what, "Attention case %zu", c);
    launched(cinfer_k_attention_f32(dy, dq, dk, dv, dm, p, g_stream), what);
    float *y = fetch(dy, ny * 4, what);
    double *ref = ref_f64(ny);
    att_reference(k, bd, q, kk, v, m, p.scale, ref);
    check_att(what, y, ref, ny);
}

static void test_attention(void) {
    for (size_t c = 0; c < sizeof k_att / sizeof k_att[0]; c++) run_att_case(c, &k_att[c]);
}

// Head sizes the kernel refuses, and sizes it runs as no-ops.
static void test_attention_limits(void) {
    cinfer_k_attention p;
    memset(&p, 0, sizeof p);
    p.sq = 4, p.d = 129, p.skv = 4, p.dv = 8;
    if (cinfer_k_attention_f32(NULL, NULL, NULL, NULL, NULL, p, g_stream) != cudaErrorInvalidValue)
        failf("head size 129 was not refused");
    p.d = 8, p.sq = 0;
    if (cinfer_k_attention_f32(NULL, NULL, NULL, NULL, NULL, p, g_stream) != cudaSuccess)
        failf("sq == 0 was not a no-op");
}

/* ---- the module's supports, on the fused nodes' shapes (no device needed) ------------------ */

static cinfer_tensor tensor_of(int rank, const int64_t *dims) {
    cinfer_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = CINFER_DTYPE_FLOAT;
    t.rank = rank;
    for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
    return t;
}

static const cuda_op *fused_op(const char *type) {
    for (const cuda_op *op = cinfer_cuda_ops_fused; op->op_type; op++)
        if (!strcmp(op->op_type, type)) return op;
    return NULL;
}

// 1 when the op's supports accepts the node; prints the refusal otherwise.
static int accepts(const char *type, const cinfer_tensor *in, int n_in, const cinfer_tensor *out,
                   int n_out, cinfer__attr *attr) {
    cinfer__node node = {.name = "n", .op_type = (char *)type, .domain = "cinfer", .opset = 1,
                         .n_attrs = attr ? 1 : 0, .attrs = attr};
    const cinfer_tensor *ins[4] = {0}, *outs[2] = {0};
    for (int i = 0; i < n_in; i++) ins[i] = in[i].rank >= 0 ? &in[i] : NULL;
    for (int i = 0; i < n_out; i++) outs[i] = &out[i];
    cinfer_cuda_node n = {&node, n_in, n_out, ins, outs};
    const cuda_op *op = fused_op(type);
    char why[CINFER_CUDA_MSG_LEN] = "";
    if (op && op->supports(&n, why) == CINFER_OK) return 1;
    printf("  %s refused: %s\n", type, op ? why : "no entry in cinfer_cuda_ops_fused");
    return 0;
}

// Shapes of tests/fusion/test_fusion.py's cases and of bert_small/bert_base (batch 2, seq 128,
// as `cinfer inspect --shapes` shows them); each must be accepted, and head size 256 refused.
static int check_supports(void) {
    int ok = 1;
    int64_t x[3] = {2, 3, 48}, row[1] = {48}, col[2] = {3, 1}, e[3] = {2, 128, 256};
    int64_t pos[3] = {1, 128, 256}, w[1] = {256};
    cinfer_tensor skip[][4] = {
        {tensor_of(3, x), tensor_of(3, x), tensor_of(1, row), tensor_of(1, row)},
        {tensor_of(3, x), tensor_of(1, row), tensor_of(1, row), tensor_of(1, row)},
        {tensor_of(3, x), tensor_of(2, col), tensor_of(1, row), tensor_of(1, row)},
        {tensor_of(3, e), tensor_of(3, pos), tensor_of(1, w), tensor_of(1, w)},
    };
    for (int c = 0; c < 4; c++) {
        cinfer_tensor out[2] = {tensor_of(3, c == 3 ? e : x), tensor_of(3, c == 3 ? e : x)};
        ok &= accepts("SkipLayerNorm", skip[c], 4, out, 2, NULL);
        ok &= accepts("SkipLayerNorm", skip[c], 3, out, 1, NULL);
    }
    int64_t q4[4] = {2, 3, 17, 8}, k4[4] = {2, 3, 8, 19}, v4[4] = {2, 3, 19, 8};
    int64_t m4[4] = {2, 1, 1, 19}, q3[3] = {3, 17, 8}, m2[2] = {17, 19}, y4[4] = {2, 3, 17, 8};
    int64_t q2[2] = {5, 8}, k2[2] = {8, 33}, v2[2] = {33, 8}, m1[1] = {33}, y2[2] = {5, 8};
    int64_t bq[4] = {2, 4, 128, 64}, bk[4] = {2, 4, 64, 128}, bm[4] = {2, 1, 1, 128};
    int64_t hq[4] = {2, 12, 128, 64}, hk[4] = {2, 12, 64, 128};
    cinfer__attr scale = {.name = "scale", .type = CINFER_ATTR_FLOAT, .f = 0.125f};
    struct { cinfer_tensor in[4]; cinfer_tensor y; int n_in; } att[] = {
        {{tensor_of(4, q4), tensor_of(4, k4), tensor_of(4, v4), tensor_of(4, m4)},
         tensor_of(4, y4), 4},
        {{tensor_of(4, q4), tensor_of(4, k4), tensor_of(4, v4)},
         tensor_of(4, y4), 3},
        {{tensor_of(3, q3), tensor_of(4, k4), tensor_of(4, v4), tensor_of(2, m2)},
         tensor_of(4, y4), 4},
        {{tensor_of(2, q2), tensor_of(2, k2), tensor_of(2, v2), tensor_of(1, m1)},
         tensor_of(2, y2), 4},
        {{tensor_of(4, bq), tensor_of(4, bk), tensor_of(4, bq), tensor_of(4, bm)},
         tensor_of(4, bq), 4},
        {{tensor_of(4, hq), tensor_of(4, hk), tensor_of(4, hq), tensor_of(4, bm)},
         tensor_of(4, hq), 4},
    };
    for (size_t c = 0; c < sizeof att / sizeof att[0]; c++)
        ok &= accepts("Attention", att[c].in, att[c].n_in, &att[c].y, 1, &scale);
    int64_t wq[2] = {5, 256}, wk[2] = {256, 33};
    cinfer_tensor wide[3] = {tensor_of(2, wq), tensor_of(2, wk), tensor_of(2, v2)};
    char why[CINFER_CUDA_MSG_LEN];
    const cinfer_tensor *ins[3] = {&wide[0], &wide[1], &wide[2]}, *outs[1] = {&wide[0]};
    cinfer__node node = {.name = "n", .op_type = "Attention", .domain = "cinfer"};
    cinfer_cuda_node n = {&node, 3, 1, ins, outs};
    if (fused_op("Attention")->supports(&n, why) != CINFER_UNSUPPORTED) {
        printf("  Attention with head size 256 was not refused\n");
        ok = 0;
    }
    printf("%-20s %s\n", "fused supports", ok ? "passed" : "failed");
    return ok;
}

int main(void) {
    if (!check_supports()) return 1;
    static const kernel_test tests[] = {
        {"skip_layer_norm", test_skip_layer_norm},
        {"attention", test_attention},
        {"attention_limits", test_attention_limits},
    };
    return run_kernel_tests(tests, (int)(sizeof tests / sizeof tests[0]));
}
