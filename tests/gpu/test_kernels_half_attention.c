// Tests of the tensor-core Attention kernels (cinfer_k_attention_half: WMMA and mma.sync; fp16
// and bf16) against a float64 reference computed from the same 16-bit inputs, with guard bytes
// after every output; and, before any device is needed, which half-mode nodes the module's
// supports accepts.
// Without a usable device the kernel part prints "skipped: no CUDA device" and exits 77.
#include "kernel_harness.h"

#include "cuda/module_impl.h"

// HALF_RTOL / HALF_ATOL (kernel_harness.h), relative to max|ref|: the kernel rounds P to 16
// bits before P V (a relative error of at most 2^-9 per weight in bf16) and y once on store
// (the same again): both well inside.

// n random 16-bit values of magnitude [1/64, 2) with a random sign (never zero), and their
// exact values as doubles in *val.
static uint16_t *rand_half(cinfer_k_dtype dt, size_t n, double **val) {
    uint16_t *h = hmalloc(n * sizeof *h);
    *val = hmalloc(n * sizeof **val);
    for (size_t i = 0; i < n; i++) {
        double x = urand(1.0 / 64, 2.0);
        h[i] = half_bits(dt, rng_next() & 1 ? -x : x);
        (*val)[i] = half_value(dt, h[i]);
    }
    return h;
}

/* ---- cases ---------------------------------------------------------------------------------- */

typedef enum { MASK_NONE, MASK_KEYS, MASK_FULL, MASK_INF, MASK_MIN } mask_kind;

// Q [b, h, sq, d], K [b, h, d, skv], V [b, h, skv, dv], y [b, h, sq, dv]. The mask: KEYS is
// BERT's [b, 1, 1, skv] (-10000 on masked keys, the whole first key tile among them, small
// values elsewhere), FULL a random [sq, skv] for every batch entry, INF the same with row 0 all
// -inf (y's row 0 must be NaN, as the CPU's softmax gives) and row 1's first 32 keys -inf, MIN
// the same with the mask type's most negative finite value instead of -inf (finfo.min, as
// models exported in fp32 mask with; bf16's saturated one; fp16's -65504): row 0's scores are
// all absorbed into it (float, bf16), so its weights are uniform and y's row 0 finite.
typedef struct {
    cinfer_k_dtype dt;
    int64_t b, h, sq, skv, d, dv;
    mask_kind mask;
    int mask_f32;  // the mask is float (a constant) rather than dt (an activation)
    int packed;    // Q, K, V and y in the packed-heads layout [b, s, h, d] (fused head
                   // transposes), read and written through the row strides
    int misalign;  // Q, K and V start one element past a 16-byte boundary: the kernels' staging
                   // falls back from 16-byte copies to one element at a time
} att_case;

// The kernel every case runs on (cinfer_k_attention_kernel); each test runs once per kernel.
static int32_t g_kernel = CINFER_K_ATTENTION_WMMA;

// mval[i * skv + j] (row broadcast when rows == 1) of batch entry bb for each mask kind; the
// values are written as dt bits into mh or as floats into mf.
static void make_mask(const att_case *c, int64_t rows, int64_t nb, double *mval, uint16_t *mh,
                      float *mf) {
    for (int64_t bb = 0; bb < nb; bb++) {
        for (int64_t i = 0; i < rows; i++) {
            for (int64_t j = 0; j < c->skv; j++) {
                int64_t at = (bb * rows + i) * c->skv + j;
                double x = c->mask == MASK_KEYS ? -urand(1.0 / 64, 1.0) : urand(-2.0, 2.0);
                if (c->mask == MASK_KEYS && j != c->skv - 1 && (j < 32 || (rng_next() & 3) == 0))
                    x = -10000.0;
                if ((c->mask == MASK_INF || c->mask == MASK_MIN) &&
                    (i == 0 || (i == 1 && j < 32 && j < c->skv - 1)))
                    x = c->mask == MASK_INF    ? -INFINITY
                        : c->mask_f32          ? -FLT_MAX
                        : c->dt == CINFER_K_F16 ? -65504.0
                                               : -3.38953139e38;
                if (c->mask_f32) {
                    mf[at] = (float)x;
                    mval[at] = mf[at];
                } else {
                    mh[at] = half_bits(c->dt, x);
                    mval[at] = half_value(c->dt, mh[at]);
                }
            }
        }
    }
}

// y = softmax(scale * Q K + mask) V per batch entry and query, in float64; NaN for a query
// whose every score is -inf.
static void reference(const att_case *c, const double *q, const double *k, const double *v,
                      const double *mval, double scale, double *ref) {
    const int64_t nb = c->b * c->h, sq = c->sq, skv = c->skv, d = c->d, dv = c->dv;
    double *s = hmalloc((size_t)skv * sizeof *s);
    for (int64_t bi = 0; bi < nb; bi++) {
        const double *qb = q + bi * sq * d, *kb = k + bi * d * skv, *vb = v + bi * skv * dv;
        for (int64_t i = 0; i < sq; i++) {
            double mx = -INFINITY, sum = 0.0;
            for (int64_t j = 0; j < skv; j++) {
                double acc = 0.0;
                for (int64_t t = 0; t < d; t++) acc += qb[i * d + t] * kb[t * skv + j];
                s[j] = scale * acc;
                if (c->mask == MASK_KEYS) s[j] += mval[(bi / c->h) * skv + j];
                else if (c->mask != MASK_NONE) s[j] += mval[i * skv + j];
                mx = fmax(mx, s[j]);
            }
            for (int64_t j = 0; j < skv; j++) {
                s[j] = mx == -INFINITY ? NAN : exp(s[j] - mx);
                sum += s[j];
            }
            for (int64_t col = 0; col < dv; col++) {
                double acc = 0.0;
                for (int64_t j = 0; j < skv; j++) acc += s[j] * vb[j * dv + col];
                ref[(bi * sq + i) * dv + col] = acc / sum;
            }
        }
    }
}

// Passes when every NaN of ref is NaN in got and elsewhere max|got - ref| <= atol + rtol *
// max|ref| (NaN or Inf in got never passes there).
static void check_half(const char *what, cinfer_k_dtype dt, const uint16_t *got,
                       const double *ref, size_t n) {
    double max_ref = 0.0, worst = -1.0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(ref[i])) max_ref = fmax(max_ref, fabs(ref[i]));
    double tol = HALF_ATOL + HALF_RTOL * max_ref;
    for (size_t i = 0; i < n; i++) {
        double g = half_value(dt, got[i]);
        if (isnan(ref[i])) {
            if (!isnan(g)) {
                failf("%s: [%zu] got %.6g, expected NaN (a row of -inf scores)", what, i, g);
                return;
            }
            continue;
        }
        double diff = isfinite(g) ? fabs(g - ref[i]) : INFINITY;
        if (diff > worst) {
            worst = diff;
            at = i;
        }
    }
    if (worst > tol)
        failf("%s: [%zu] got %.6g, expected %.9g (|diff| %.3g > tol %.3g, n %zu)", what, at,
              half_value(dt, got[at]), ref[at], worst, tol, n);
}

// The kernel's view of a case: dense batch dims [b, h], the mask's strides by its kind.
static cinfer_k_attention params_of(const att_case *c, double scale) {
    cinfer_k_attention p;
    memset(&p, 0, sizeof p);
    p.sq = c->sq, p.skv = c->skv, p.d = c->d, p.dv = c->dv;
    p.batch.rank = 2;
    p.batch.size[0] = c->b, p.batch.size[1] = c->h;
    p.q_batch.s[0] = c->h * c->sq * c->d, p.q_batch.s[1] = c->sq * c->d;
    p.k_batch.s[0] = c->h * c->d * c->skv, p.k_batch.s[1] = c->d * c->skv;
    p.v_batch.s[0] = c->h * c->skv * c->dv, p.v_batch.s[1] = c->skv * c->dv;
    if (c->mask == MASK_KEYS) {  // [b, 1, 1, skv]
        p.mask_row = 0, p.mask_col = 1;
        p.mask_batch.s[0] = c->skv, p.mask_batch.s[1] = 0;
    } else if (c->mask != MASK_NONE) {  // [sq, skv], the same for every batch entry
        p.mask_row = c->skv, p.mask_col = 1;
    }
    p.scale = (float)scale;
    p.kernel = g_kernel;
    if (c->packed) {  // [b, s, h, d]: heads side by side in each row (kernels.h)
        p.q_batch.s[0] = c->sq * c->h * c->d, p.q_batch.s[1] = c->d;
        p.k_batch.s[0] = c->skv * c->h * c->d, p.k_batch.s[1] = c->d;
        p.v_batch.s[0] = c->skv * c->h * c->dv, p.v_batch.s[1] = c->dv;
        p.y_batch.s[0] = c->sq * c->h * c->dv, p.y_batch.s[1] = c->dv;
        p.q_row = c->h * c->d, p.k_d = 1, p.k_j = c->h * c->d;
        p.v_row = c->h * c->dv, p.y_row = c->h * c->dv;
    }
    return p;
}

// Element (bb, hh, r, t) of a dense [b, h, rows, cols] array sits at this index of the same
// values in the packed [b, rows, h, cols] layout.
static size_t packed_at(const att_case *c, int64_t bb, int64_t hh, int64_t r, int64_t t,
                        int64_t rows, int64_t cols) {
    return (size_t)(((bb * rows + r) * c->h + hh) * cols + t);
}

// The dense 16-bit values x ([b, h, rows, cols], or K's [b, h, d, skv] when k_t) repacked as
// [b, rows, h, cols] (K: [b, skv, h, d]).
static uint16_t *pack_heads(const att_case *c, const uint16_t *x, int64_t rows, int64_t cols,
                            bool k_t) {
    uint16_t *out = hmalloc((size_t)(c->b * c->h * rows * cols) * sizeof *out);
    for (int64_t bb = 0; bb < c->b; bb++)
        for (int64_t hh = 0; hh < c->h; hh++)
            for (int64_t r = 0; r < rows; r++)
                for (int64_t t = 0; t < cols; t++) {
                    int64_t dense = k_t ? ((bb * c->h + hh) * cols + t) * rows + r
                                        : ((bb * c->h + hh) * rows + r) * cols + t;
                    out[packed_at(c, bb, hh, r, t, rows, cols)] = x[dense];
                }
    return out;
}

// n 16-bit values on the device one element past an allocation's (16-byte aligned) start.
static const void *d_in_shifted(const uint16_t *h, size_t n) {
    uint16_t *shifted = hmalloc((n + 1) * sizeof *shifted);
    shifted[0] = 0;
    memcpy(shifted + 1, h, n * sizeof *h);
    const uint16_t *d = d_in(shifted, (n + 1) * sizeof *shifted);
    return d ? d + 1 : NULL;
}

static void run_case(const att_case *c) {
    char what[160];
    snprintf(what, sizeof what, "%s b %lld h %lld sq %lld skv %lld d %lld dv %lld mask %d%s",
             c->dt == CINFER_K_F16 ? "fp16" : "bf16", (long long)c->b, (long long)c->h,
             (long long)c->sq, (long long)c->skv, (long long)c->d, (long long)c->dv, (int)c->mask,
             c->mask == MASK_NONE ? "" : c->mask_f32 ? " (f32)" : " (16-bit)");
    const int64_t nb = c->b * c->h;
    const size_t nq = (size_t)(nb * c->sq * c->d), nk = (size_t)(nb * c->d * c->skv);
    const size_t nv = (size_t)(nb * c->skv * c->dv), ny = (size_t)(nb * c->sq * c->dv);
    double *q, *k, *v, *mval = NULL;
    uint16_t *hq = rand_half(c->dt, nq, &q), *hk = rand_half(c->dt, nk, &k);
    uint16_t *hv = rand_half(c->dt, nv, &v);
    const void *dmask = NULL;
    if (c->mask != MASK_NONE) {
        int64_t rows = c->mask == MASK_KEYS ? 1 : c->sq, mb = c->mask == MASK_KEYS ? c->b : 1;
        size_t nm = (size_t)(rows * mb * c->skv);
        mval = hmalloc(nm * sizeof *mval);
        uint16_t *mh = hmalloc(nm * sizeof *mh);
        float *mf = hmalloc(nm * sizeof *mf);
        make_mask(c, rows, mb, mval, mh, mf);
        dmask = c->mask_f32 ? d_in(mf, nm * sizeof *mf) : d_in(mh, nm * sizeof *mh);
    }
    double scale = (float)(1.0 / sqrt((double)c->d));
    double *ref = ref_f64(ny);
    reference(c, q, k, v, mval, scale, ref);
    void *y = d_out(ny * 2);
    cinfer_k_dtype mdt = c->mask_f32 ? CINFER_K_F32 : c->dt;
    if (c->packed) {
        hq = pack_heads(c, hq, c->sq, c->d, false);
        hk = pack_heads(c, hk, c->skv, c->d, true);
        hv = pack_heads(c, hv, c->skv, c->dv, false);
        strncat(what, " packed", sizeof what - strlen(what) - 1);
    }
    strncat(what, g_kernel == CINFER_K_ATTENTION_MMA ? " [mma]" : " [wmma]",
            sizeof what - strlen(what) - 1);
    const void *dq, *dk, *dv;
    if (c->misalign) {
        strncat(what, " misaligned", sizeof what - strlen(what) - 1);
        dq = d_in_shifted(hq, nq), dk = d_in_shifted(hk, nk), dv = d_in_shifted(hv, nv);
    } else {
        dq = d_in(hq, nq * 2), dk = d_in(hk, nk * 2), dv = d_in(hv, nv * 2);
    }
    launched(cinfer_k_attention_half(y, dq, dk, dv, dmask, c->dt, mdt, params_of(c, scale),
                                     g_stream),
             what);
    uint16_t *got = fetch(y, ny * 2, what);
    if (c->packed) {  // back to the reference's [b, h, sq, dv]
        uint16_t *dense = hmalloc(ny * sizeof *dense);
        for (int64_t bb = 0; bb < c->b; bb++)
            for (int64_t hh = 0; hh < c->h; hh++)
                for (int64_t r = 0; r < c->sq; r++)
                    for (int64_t t = 0; t < c->dv; t++)
                        dense[((bb * c->h + hh) * c->sq + r) * c->dv + t] =
                            got[packed_at(c, bb, hh, r, t, c->sq, c->dv)];
        got = dense;
    }
    check_half(what, c->dt, got, ref, ny);
}

// Sequence lengths 1, 17, 128, 200 and 512 (below, between and on tile edges) with head sizes
// 32, 64, 80 and 128, each without a mask and with one (BERT's key mask or a full one, float
// or 16-bit in turn), fp16 and bf16.
static void test_attention_half(void) {
    static const int64_t seqs[] = {1, 17, 128, 200, 512}, heads[] = {32, 64, 80, 128};
    int n = 0;
    for (int t = 0; t < 2; t++) {
        for (int si = 0; si < 5; si++) {
            for (int hi = 0; hi < 4; hi++, n++) {
                int64_t s = seqs[si], hd = heads[hi], b = s <= 128 ? 2 : 1;
                att_case c = {t ? CINFER_K_BF16 : CINFER_K_F16, b, 2, s, s, hd, hd, MASK_NONE, 0};
                run_case(&c);
                c.mask = n % 2 ? MASK_FULL : MASK_KEYS;
                c.mask_f32 = (n / 2) % 2;
                run_case(&c);
            }
        }
    }
}

// sq unlike skv, dv unlike d, and rows of -inf scores (NaN out), both types; in the dense
// layout and in the packed-heads one.
static void test_attention_half_shapes(void) {
    static const att_case cases[] = {
        {CINFER_K_F16, 2, 3, 17, 200, 64, 32, MASK_KEYS, 0},
        {CINFER_K_BF16, 1, 2, 200, 17, 32, 128, MASK_FULL, 1},
        {CINFER_K_F16, 1, 1, 33, 512, 128, 48, MASK_NONE, 0},
        {CINFER_K_BF16, 3, 1, 65, 1, 96, 112, MASK_KEYS, 1},
        {CINFER_K_F16, 2, 2, 19, 77, 64, 64, MASK_INF, 0},
        {CINFER_K_BF16, 2, 2, 19, 77, 64, 64, MASK_INF, 1},
        {CINFER_K_F16, 2, 2, 40, 77, 64, 64, MASK_MIN, 1},
        {CINFER_K_BF16, 2, 2, 40, 77, 64, 64, MASK_MIN, 0},
        {CINFER_K_F16, 1, 2, 40, 130, 64, 64, MASK_MIN, 0},
        // The packed-heads layout (Attention with its head transposes fused): BERT-base's
        // shape, odd lengths, dv unlike d, -inf rows.
        {CINFER_K_F16, 2, 12, 128, 128, 64, 64, MASK_KEYS, 0, 1},
        {CINFER_K_BF16, 2, 3, 17, 200, 64, 32, MASK_KEYS, 1, 1},
        {CINFER_K_F16, 1, 2, 200, 17, 32, 128, MASK_FULL, 1, 1},
        {CINFER_K_BF16, 2, 2, 19, 77, 64, 64, MASK_INF, 0, 1},
        // Operands off 16-byte alignment, dense and packed: element-wise staging.
        {CINFER_K_F16, 2, 2, 70, 77, 64, 48, MASK_KEYS, 0, 0, 1},
        {CINFER_K_BF16, 2, 3, 33, 130, 80, 64, MASK_FULL, 1, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
}

// Arguments the wrapper refuses before launching, and an empty batch as a no-op.
static void test_attention_half_limits(void) {
    att_case c = {CINFER_K_F16, 1, 1, 4, 4, 64, 64, MASK_NONE, 0};
    cinfer_k_attention p = params_of(&c, 0.125);
    static const int64_t bad_heads[] = {16, 72, 144};
    for (int i = 0; i < 3; i++) {
        cinfer_k_attention b = p;
        b.d = bad_heads[i];
        if (cinfer_k_attention_half(NULL, NULL, NULL, NULL, NULL, CINFER_K_F16, CINFER_K_F32, b,
                                    g_stream) != cudaErrorInvalidValue)
            failf("head size %lld was not refused", (long long)bad_heads[i]);
    }
    if (cinfer_k_attention_half(NULL, NULL, NULL, NULL, NULL, CINFER_K_F32, CINFER_K_F32, p,
                                g_stream) != cudaErrorInvalidValue)
        failf("dtype f32 was not refused");
    int dummy = 0;
    if (cinfer_k_attention_half(NULL, NULL, NULL, NULL, &dummy, CINFER_K_BF16, CINFER_K_F16, p,
                                g_stream) != cudaErrorInvalidValue)
        failf("an fp16 mask with bf16 activations was not refused");
    cinfer_k_attention unknown = p;
    unknown.kernel = CINFER_K_ATTENTION_MMA + 1;
    if (cinfer_k_attention_half(NULL, NULL, NULL, NULL, NULL, CINFER_K_F16, CINFER_K_F32, unknown,
                                g_stream) != cudaErrorInvalidValue)
        failf("an unknown kernel choice was not refused");
    p.batch.size[0] = 0;
    if (cinfer_k_attention_half(NULL, NULL, NULL, NULL, NULL, CINFER_K_F16, CINFER_K_F32, p,
                                g_stream) != cudaSuccess)
        failf("an empty batch was not a no-op");
}

// The same cases on the mma.sync kernel.
static void test_attention_half_mma(void) {
    g_kernel = CINFER_K_ATTENTION_MMA;
    test_attention_half();
    g_kernel = CINFER_K_ATTENTION_WMMA;
}

static void test_attention_half_shapes_mma(void) {
    g_kernel = CINFER_K_ATTENTION_MMA;
    test_attention_half_shapes();
    g_kernel = CINFER_K_ATTENTION_WMMA;
}

/* ---- the module's supports in half mode (no device needed) ------------------------------- */

// Whether supports accepts Attention(q [2, 4, 128, hd], k, v[, mask [2, 1, 1, 128]]) with
// activations of dtype act and a mask of dtype mdt (0: none); prints the reason on refusal.
static int accepts(cinfer_dtype act, cinfer_dtype qdt, int64_t hd, cinfer_dtype mdt) {
    int64_t q[4] = {2, 4, 128, hd}, k[4] = {2, 4, hd, 128}, m[4] = {2, 1, 1, 128};
    cinfer_tensor in[4] = {node_tensor(qdt, 4, q, NULL), node_tensor(act, 4, k, NULL),
                           node_tensor(act, 4, q, NULL), node_tensor(mdt, 4, m, NULL)};
    cinfer_tensor y = node_tensor(act, 4, q, NULL);
    const cinfer_tensor *ins[4] = {&in[0], &in[1], &in[2], mdt ? &in[3] : NULL}, *outs[1] = {&y};
    cinfer__attr scale = {.name = "scale", .type = CINFER_ATTR_FLOAT, .f = 0.125f};
    cinfer__node node = {.name = "n", .op_type = "Attention", .domain = "cinfer", .opset = 1,
                         .n_attrs = 1, .attrs = &scale};
    cinfer_cuda_node n = {&node, mdt ? 4 : 3, 1, ins, outs, CINFER_PRECISION_FP16, NULL};
    const cuda_op *op = cinfer_cuda_ops_fused;
    while (op->op_type && strcmp(op->op_type, "Attention")) op++;
    if (!op->op_type) return 0;
    char why[CINFER_CUDA_MSG_LEN] = "";
    if (op->supports(&n, why) == CINFER_OK) return 1;
    printf("  refused (as it may be): %s\n", why);
    return 0;
}

// Half-mode views (every activation 16-bit, as module_api.c hands them) that must run on the
// tensor-core kernel, and ones that must not.
static int check_supports(void) {
    const cinfer_dtype F = CINFER_DTYPE_FLOAT, H = CINFER_DTYPE_FLOAT16;
    const cinfer_dtype B = CINFER_DTYPE_BFLOAT16;
    int ok = 1;
    ok &= accepts(H, H, 64, F) && accepts(H, H, 64, H) && accepts(B, B, 128, B) &&
          accepts(B, B, 32, 0) && accepts(H, H, 80, F);
    const cuda_op *op = cinfer_cuda_ops_fused;
    while (op->op_type && strcmp(op->op_type, "Attention")) op++;
    if (!op->op_type || !op->half_io) {
        printf("  Attention's table entry does not set half_io\n");
        ok = 0;
    }
    ok &= !accepts(H, H, 72, F) && !accepts(H, H, 16, 0) && !accepts(B, B, 8, 0);
    ok &= !accepts(H, F, 64, F) && !accepts(B, B, 64, H) && !accepts(H, H, 64, CINFER_DTYPE_INT64);
    printf("%-24s %s\n", "half supports", ok ? "passed" : "failed");
    return ok;
}

// The wrapper's refusals that happen before any CUDA call (no device needed): an unknown
// kernel choice, a head size off the 16-element grid, a dtype it does not take.
static int check_refusals(void) {
    att_case c = {CINFER_K_F16, 1, 1, 4, 4, 64, 64, MASK_NONE, 0};
    cinfer_k_attention p = params_of(&c, 0.125), unknown = p, odd = p;
    unknown.kernel = CINFER_K_ATTENTION_MMA + 1;
    odd.d = 72;
    int dummy = 0, ok = 1;
    ok &= cinfer_k_attention_half(&dummy, &dummy, &dummy, &dummy, NULL, CINFER_K_F16,
                                  CINFER_K_F32, unknown, NULL) == cudaErrorInvalidValue;
    ok &= cinfer_k_attention_half(&dummy, &dummy, &dummy, &dummy, NULL, CINFER_K_F16,
                                  CINFER_K_F32, odd, NULL) == cudaErrorInvalidValue;
    ok &= cinfer_k_attention_half(&dummy, &dummy, &dummy, &dummy, NULL, CINFER_K_F32,
                                  CINFER_K_F32, p, NULL) == cudaErrorInvalidValue;
    printf("%-24s %s\n", "half refusals", ok ? "passed" : "failed");
    return ok;
}

int main(int argc, char **argv) {
    if (!check_supports() || !check_refusals()) return 1;
    if (argc > 1 && !strcmp(argv[1], "--host")) return 0; /* CI: no device needed */
    static const kernel_test tests[] = {
        {"attention_half", test_attention_half},
        {"attention_half_shapes", test_attention_half_shapes},
        {"attention_half_limits", test_attention_half_limits},
        {"attention_half_mma", test_attention_half_mma},
        {"attention_half_shapes_mma", test_attention_half_shapes_mma},
    };
    return run_kernel_tests(tests, (int)(sizeof tests / sizeof tests[0]));
}
