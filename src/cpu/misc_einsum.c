/* CPU kernel of Einsum: two-operand contractions laid out as (batched) matrix products go to
 * sgemm; everything else (diagonals, broadcasting, more operands, other dtypes) runs as
 * explicit loops over the output and summed index spaces. */
#include <string.h>

#include "core/alloc.h"
#include "cpu/gemm.h"
#include "cpu/misc.h"
#include "ops/misc.h"

/* Y[b] (M x N) = op(A[b]) op(B[b]) with every batch contiguous. */
typedef struct gemm_geom {
    int64_t batch, m, n, k;
    bool trans_a, trans_b;
} gemm_geom;

typedef struct einsum_state {
    cinfer__einsum_plan plan;
    bool gemm;
    gemm_geom g;
} einsum_state;

enum { IN_A = 1, IN_B = 2, IN_OUT = 4 };

/* n_want when l[0..n) starts with want[0..n_want), else -1. */
static int take_run(const int *l, int n, const int *want, int n_want) {
    if (n < n_want) return -1;
    for (int i = 0; i < n_want; i++)
        if (l[i] != want[i]) return -1;
    return n_want;
}

/* Checks that an operand's labels are batch ++ (x ++ k or k ++ x); *x_first tells which. */
static bool operand_layout(const int *l, int n, const int *bt, int nb, const int *x, int nx,
                           const int *k, int nk, bool *x_first) {
    if (take_run(l, n, bt, nb) < 0) return false;
    l += nb, n -= nb;
    if (n != nx + nk) return false;
    if (take_run(l, n, x, nx) >= 0 && take_run(l + nx, n - nx, k, nk) >= 0) {
        *x_first = true;
        return true;
    }
    if (take_run(l, n, k, nk) >= 0 && take_run(l + nk, n - nk, x, nx) >= 0) {
        *x_first = false;
        return true;
    }
    return false;
}

/* Role of each label id, and per-axis sizes equal to the label sizes (no broadcasting). */
static bool label_roles(const cinfer__einsum_plan *p, const cinfer_tensor *const *in,
                        uint8_t *role) {
    int64_t size[CINFER__EINSUM_LABELS];
    memset(role, 0, CINFER__EINSUM_LABELS);
    for (int pos = 0; pos < p->n_labels; pos++) size[p->label[pos]] = p->size[pos];
    for (int i = 0; i < 2; i++)
        for (int ax = 0; ax < p->in_rank[i]; ax++) {
            int id = p->in_label[i][ax];
            if (role[id] & (1 << i) || in[i]->dims[ax] != size[id]) return false;
            role[id] |= (uint8_t)(1 << i);
        }
    for (int pos = 0; pos < p->out_rank; pos++) role[p->label[pos]] |= IN_OUT;
    for (int pos = 0; pos < p->n_labels; pos++) {
        uint8_t r = role[p->label[pos]];
        if (r != (IN_A | IN_B | IN_OUT) && r != (IN_A | IN_OUT) && r != (IN_B | IN_OUT) &&
            r != (IN_A | IN_B))
            return false;
    }
    return true;
}

/* The sgemm fast path: float32, two operands, output = batch ++ m ++ n, A = batch ++ (m, k in
 * either order), B = batch ++ (k, n in either order), k in the same order in A and B. */
static bool gemm_layout(const cinfer__einsum_plan *p, const cinfer_tensor *const *in,
                        gemm_geom *g) {
    uint8_t role[CINFER__EINSUM_LABELS];
    if (p->n_in != 2 || in[0]->dtype != CINFER_DTYPE_FLOAT || !label_roles(p, in, role))
        return false;
    int bt[CINFER_MAX_RANK], ms[CINFER_MAX_RANK], ns[CINFER_MAX_RANK], ks[CINFER_MAX_RANK];
    int nb = 0, nm = 0, nn = 0, nk = 0, phase = 0;
    *g = (gemm_geom){1, 1, 1, 1, false, false};
    for (int pos = 0; pos < p->out_rank; pos++) {
        int id = p->label[pos], r = role[id];
        int ph = r == (IN_A | IN_B | IN_OUT) ? 0 : r == (IN_A | IN_OUT) ? 1 : 2;
        if (ph < phase) return false;
        phase = ph;
        if (ph == 0) bt[nb++] = id, g->batch *= p->size[pos];
        else if (ph == 1) ms[nm++] = id, g->m *= p->size[pos];
        else ns[nn++] = id, g->n *= p->size[pos];
    }
    const int *la = p->in_label[0];
    for (int ax = 0; ax < p->in_rank[0]; ax++)
        if (role[la[ax]] == (IN_A | IN_B) && nk < CINFER_MAX_RANK) ks[nk++] = la[ax];
    for (int pos = p->out_rank; pos < p->n_labels; pos++) g->k *= p->size[pos];
    bool m_first = false, n_first = false;
    if (!operand_layout(la, p->in_rank[0], bt, nb, ms, nm, ks, nk, &m_first) ||
        !operand_layout(p->in_label[1], p->in_rank[1], bt, nb, ns, nn, ks, nk, &n_first))
        return false;
    g->trans_a = !m_first; /* A is stored [M, K] unless its k labels come first */
    g->trans_b = n_first;  /* B is stored [K, N] unless its n labels come first */
    return true;
}

cinfer_status cinfer__cpu_einsum_prepare(const cinfer__cpu_ctx *ctx, void **state) {
    einsum_state *s = cinfer__calloc(1, sizeof *s);
    if (!s) return cinfer__errorf(ctx->err, CINFER_OUT_OF_MEMORY, "out of memory");
    cinfer_status st = cinfer__einsum_resolve(ctx->node->params, ctx->n_in, ctx->in, &s->plan,
                                              ctx->err);
    if (st != CINFER_OK) {
        cinfer__free(s);
        return st;
    }
    s->gemm = gemm_layout(&s->plan, ctx->in, &s->g);
    *state = s;
    return CINFER_OK;
}

void cinfer__cpu_einsum_release(void *state) { cinfer__free(state); }

typedef struct gemm_job {
    const gemm_geom *g;
    const float *a, *b;
    float *y;
} gemm_job;

static void gemm_batches(void *arg, int64_t begin, int64_t end) {
    const gemm_job *j = arg;
    const gemm_geom *g = j->g;
    for (int64_t b = begin; b < end; b++)
        cinfer__sgemm(g->trans_a, g->trans_b, g->m, g->n, g->k, 1.0f, j->a + b * g->m * g->k,
                      g->trans_a ? g->m : g->k, j->b + b * g->k * g->n, g->trans_b ? g->k : g->n,
                      0.0f, j->y + b * g->m * g->n, g->n);
}

static void run_gemm(cinfer__cpu_ctx *ctx, const gemm_geom *g) {
    gemm_job j = {g, ctx->in[0]->data, ctx->in[1]->data, ctx->out[0]->data};
    if (g->batch * g->m * g->n == 0) return;
    if (g->k == 0) {
        memset(j.y, 0, (size_t)(g->batch * g->m * g->n) * sizeof(float));
        return;
    }
    if (g->batch >= cinfer__cpu_threads(ctx->pool)) {
        cinfer__parallel_for(ctx->pool, g->batch, 1, gemm_batches, &j);
        return;
    }
    for (int64_t b = 0; b < g->batch; b++)
        cinfer__sgemm_par(ctx->pool, g->trans_a, g->trans_b, g->m, g->n, g->k, 1.0f,
                          j.a + b * g->m * g->k, g->trans_a ? g->m : g->k,
                          j.b + b * g->k * g->n, g->trans_b ? g->k : g->n, 0.0f,
                          j.y + b * g->m * g->n, g->n, NULL, NULL);
}

/* ---- General loops: for each output element, walk the summed labels as an odometer. ---- */

typedef struct loop_job {
    const cinfer__einsum_plan *p;
    const void *in[CINFER__EINSUM_MAX_IN];
    void *y;
    cinfer_dtype dt;
} loop_job;

#define EINSUM_LOOPS(NAME, T, ACC)                                                          \
    static void NAME(void *arg, int64_t begin, int64_t end) {                               \
        const loop_job *j = arg;                                                            \
        const cinfer__einsum_plan *p = j->p;                                                \
        int ni = p->n_in, r = p->out_rank, ns = p->n_sum;                                   \
        int64_t total = 1;                                                                  \
        for (int s = r; s < p->n_labels; s++) total *= p->size[s];                          \
        for (int64_t o = begin; o < end; o++) {                                             \
            int64_t off[CINFER__EINSUM_MAX_IN] = {0}, rem = o, idx[CINFER__EINSUM_LABELS];   \
            for (int d = r - 1; d >= 0; d--) {                                              \
                int64_t c = rem % p->size[d];                                               \
                rem /= p->size[d];                                                          \
                for (int i = 0; i < ni; i++) off[i] += c * p->stride[i][d];                 \
            }                                                                               \
            for (int s = 0; s < ns; s++) idx[s] = 0;                                        \
            ACC acc = 0;                                                                    \
            for (int64_t t = 0; t < total; t++) {                                           \
                ACC prod = (ACC)((const T *)j->in[0])[off[0]];                              \
                for (int i = 1; i < ni; i++) prod *= (ACC)((const T *)j->in[i])[off[i]];    \
                acc += prod;                                                                \
                for (int s = ns - 1; s >= 0; s--) {                                         \
                    int d = r + s;                                                          \
                    for (int i = 0; i < ni; i++) off[i] += p->stride[i][d];                 \
                    if (++idx[s] < p->size[d]) break;                                       \
                    idx[s] = 0;                                                             \
                    for (int i = 0; i < ni; i++) off[i] -= p->stride[i][d] * p->size[d];    \
                }                                                                           \
            }                                                                               \
            ((T *)j->y)[o] = (T)acc;                                                        \
        }                                                                                   \
    }

EINSUM_LOOPS(loops_f32, float, double)
EINSUM_LOOPS(loops_f64, double, double)
/* Integer products wrap as two's complement (unsigned arithmetic avoids UB). */
EINSUM_LOOPS(loops_i32, int32_t, uint32_t)
EINSUM_LOOPS(loops_i64, int64_t, uint64_t)

cinfer_status cinfer__cpu_einsum_run(cinfer__cpu_ctx *ctx) {
    const einsum_state *s = ctx->state;
    if (s->gemm) {
        run_gemm(ctx, &s->g);
        return CINFER_OK;
    }
    loop_job j = {&s->plan, {0}, ctx->out[0]->data, ctx->in[0]->dtype};
    for (int i = 0; i < ctx->n_in; i++) j.in[i] = ctx->in[i]->data;
    int64_t n = cinfer_tensor_numel(ctx->out[0]), total = 1;
    for (int d = s->plan.out_rank; d < s->plan.n_labels; d++) total *= s->plan.size[d];
    if (n == 0) return CINFER_OK;
    cinfer__range_fn fn;
    switch (j.dt) {
    case CINFER_DTYPE_FLOAT: fn = loops_f32; break;
    case CINFER_DTYPE_DOUBLE: fn = loops_f64; break;
    case CINFER_DTYPE_INT32: fn = loops_i32; break;
    case CINFER_DTYPE_INT64: fn = loops_i64; break;
    default:
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "dtype %s is not supported",
                              cinfer_dtype_name(j.dt));
    }
    int64_t work = total * ctx->n_in;
    cinfer__parallel_for(ctx->pool, n, work >= 4096 ? 1 : 4096 / (work ? work : 1), fn, &j);
    return CINFER_OK;
}
