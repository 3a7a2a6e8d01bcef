/* GPU MatMul, Gemm and FusedMatMul (domain cinfer) on prepared cuBLASLt GEMMs. GELU in either
 * form runs as a kernel after the GEMM: cuBLASLt's GELU epilogue is the tanh form of
 * undocumented accuracy, outside the fp32 tolerance.
 *
 * Precision (docs/cuda-backend.md, "Precision"): TF32 is only a compute type. For fp16/bf16
 * each operand has a 16-bit copy: a model weight's comes from the device object's cache
 * (converted once per model, shared by every step and context), a plan-folded constant's is
 * converted at prepare into a copy the step owns, and any other operand is converted into the
 * step's copy by a cast kernel at every run, just before the GEMM. C, bias and the output stay
 * float, so the ops around the GEMM see fp32 as always. */
#include <stdlib.h>

#include "cuda/matmul.h"
#include "cuda/module_impl.h"
#include "cuda/weights.h"
#include "ir/passes.h"
#include "kernels.h"

typedef struct gemm_priv {
    cinfer_cuda_gemm g;
    int gelu;            /* 0 none, 1 erf form, 2 tanh form: a kernel after the GEMM */
    int bias_input;      /* input index of the per-column bias, -1 none */
    int c_input;         /* input index of a full M x N C (Gemm), -1 none */
    size_t out_numel;
    /* fp16/bf16: per operand A, B its 16-bit copy, its element count, whether it was
     * converted at prepare (a constant), and whether the copy is a reference into `cache`
     * (a model weight) rather than device memory owned by the step. */
    void *half[2];
    size_t numel[2];
    bool converted[2];
    bool cached[2];
    cinfer_cuda_weights *cache; /* the device object's: release has no context to ask */
} gemm_priv;

static void gemm_release(void *p) {
    gemm_priv *g = p;
    cinfer_cuda_gemm_release(&g->g);
    for (int i = 0; i < 2; i++) {
        if (g->cached[i]) cinfer_cuda_weights_release(g->cache, g->half[i]);
        else if (g->half[i]) (void)cudaFree(g->half[i]);
    }
    (void)cudaGetLastError(); /* an ignored failure must not be reported by the next launch */
    free(g);
}

static bool is_16bit(cinfer_precision p) {
    return p == CINFER_PRECISION_FP16 || p == CINFER_PRECISION_BF16;
}

/* Prepare time, for a plan-folded constant (no copy in the weights block, so nothing to share
 * it by): uploads the host constant `t` through a temporary float buffer and converts it into
 * dst, waiting for the result (plan time, never per run). */
static cinfer_status convert_constant(cinfer_cuda_ctx *ctx, cinfer_precision p,
                                      const cinfer_tensor *t, void *dst, cinfer_cuda_err *err) {
    size_t n = (size_t)cuda_numel(t);
    void *tmp = NULL;
    cinfer_status rc = CINFER_OK;
    CUDA_CHECK(err, rc, cinfer__cuda_malloc(&tmp, n * sizeof(float)), done);
    CUDA_CHECK(err, rc, cudaMemcpyAsync(tmp, t->data, n * sizeof(float), cudaMemcpyHostToDevice,
                                        ctx->compute), done);
    if ((rc = cinfer_cuda_to_16bit(ctx->compute, p, dst, tmp, n, err)) != CINFER_OK) goto done;
    CUDA_CHECK(err, rc, cudaStreamSynchronize(ctx->compute), done);
done:
    if (tmp) (void)cudaFree(tmp); /* cudaFree waits for the work that still uses it */
    (void)cudaGetLastError();     /* nor may an ignored failure of it reach the next launch */
    return rc;
}

/* The device object's cache when operand i is a model weight it can share: the weight has a
 * copy in the weights block and the context was made from that device object (contexts tests
 * create directly have none, and keep a copy per step). */
static cinfer_cuda_weights *weight_cache(const cinfer_cuda_ctx *ctx, const cinfer_cuda_node *n,
                                         int i) {
    if (!n->in[i]->data || !n->weight || !n->weight[i] || !ctx->owner) return NULL;
    return ctx->owner->converted;
}

/* fp16/bf16: the 16-bit copies of A and B: a model weight's from the cache, a folded
 * constant's converted now, any other operand's allocated for the per-run conversion. */
static cinfer_status prepare_operands(cinfer_cuda_ctx *ctx, const cinfer_cuda_node *n,
                                      gemm_priv *p, cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    for (int i = 0; i < 2; i++) {
        p->numel[i] = (size_t)cuda_numel(n->in[i]);
        cinfer_cuda_weights *cache = weight_cache(ctx, n, i);
        if (cache) {
            rc = cinfer_cuda_weights_acquire(cache, ctx, n->weight[i], p->numel[i],
                                             p->g.shape.precision, &p->half[i], err);
            if (rc != CINFER_OK) return rc;
            p->cache = cache;
            p->cached[i] = p->converted[i] = true;
            continue;
        }
        CUDA_CHECK(err, rc, cinfer__cuda_malloc(&p->half[i], p->numel[i] * 2), fail);
        if (!n->in[i]->data) continue;
        if ((rc = convert_constant(ctx, p->g.shape.precision, n->in[i], p->half[i], err)) !=
            CINFER_OK)
            return rc;
        p->converted[i] = true;
    }
fail:
    return rc;
}

/* numpy MatMul operands as [batch, M, K] x [batch, K, N]: each operand's batch dims must be
 * the output's (packed) or all 1 (broadcast); anything else goes to the CPU. */
static cinfer_status matmul_shape(const cinfer_tensor *a, const cinfer_tensor *b,
                                  const cinfer_tensor *y, cinfer_cuda_gemm_shape *sh, char *why) {
    if (a->rank < 1 || b->rank < 1) return cuda_no(why, "%s: scalar operand", "MatMul");
    int64_t m = a->rank >= 2 ? a->dims[a->rank - 2] : 1, k = a->dims[a->rank - 1];
    int64_t n = b->rank >= 2 ? b->dims[b->rank - 1] : 1;
    int64_t batch = 1, ba = 1, bb = 1;
    for (int d = 0; d < a->rank - 2; d++) ba *= a->dims[d];
    for (int d = 0; d < b->rank - 2; d++) bb *= b->dims[d];
    int out_batch_rank = y->rank - (a->rank >= 2) - (b->rank >= 2);
    for (int d = 0; d < out_batch_rank; d++) batch *= y->dims[d];
    if ((ba != 1 && ba != batch) || (bb != 1 && bb != batch))
        return cuda_no(why, "%s: a batch broadcast other than all-or-one", "MatMul");
    /* Equal products could still be different layouts ([2,3] vs [3,2]): compare dims. */
    for (int pass = 0; pass < 2; pass++) {
        const cinfer_tensor *t = pass ? b : a;
        int64_t tb = pass ? bb : ba;
        if (tb == 1 || batch == 1) continue;
        int tr = t->rank - 2;
        if (tr != out_batch_rank) return cuda_no(why, "%s: batch ranks differ", "MatMul");
        for (int d = 0; d < tr; d++)
            if (t->dims[d] != y->dims[d]) return cuda_no(why, "%s: batch dims differ", "MatMul");
    }
    if (m < 1 || n < 1 || k < 1) return cuda_no(why, "%s: an empty dimension", "MatMul");
    *sh = (cinfer_cuda_gemm_shape){.m = m, .n = n, .k = k, .batch = batch,
                                   .stride_a = ba == 1 ? 0 : m * k,
                                   .stride_b = bb == 1 ? 0 : k * n, .stride_d = m * n,
                                   .alpha = 1.0f, .beta = 0.0f};
    return CINFER_OK;
}

/* The bias of FusedMatMul: N elements, every other dim 1. */
static bool is_row_bias(const cinfer_tensor *t, int64_t n) {
    if (cuda_numel(t) != n) return false;
    return t->rank == 0 || t->dims[t->rank - 1] == n || n == 1;
}

static cinfer_status fused_shape(const cinfer_cuda_node *n, cinfer_cuda_gemm_shape *sh,
                                 int *gelu, char *why) {
    cinfer_status st = cuda_need_f32(n, why);
    if (st != CINFER_OK) return st;
    if ((st = matmul_shape(n->in[0], n->in[1], n->out[0], sh, why)) != CINFER_OK) return st;
    *gelu = 0;
    if (strcmp(n->node->op_type, "FusedMatMul")) return CINFER_OK;
    if (cuda_has_in(n, 2)) {
        if (!is_row_bias(n->in[2], sh->n))
            return cuda_no(why, "%s: bias is not one row of N", "FusedMatMul");
        sh->flags |= CINFER_GEMM_BIAS;
    }
    const char *act = cuda_attr_str(n->node, "activation", "none");
    if (!strcmp(act, "relu")) sh->flags |= CINFER_GEMM_RELU;
    else if (!strcmp(act, "gelu")) *gelu = 1;
    else if (!strcmp(act, "gelu_tanh")) *gelu = 2;
    else if (strcmp(act, "none")) return cuda_no(why, "FusedMatMul: activation '%s'", act);
    return CINFER_OK;
}

static cinfer_status matmul_supports(const cinfer_cuda_node *n, char *why) {
    cinfer_cuda_gemm_shape sh;
    int gelu;
    return fused_shape(n, &sh, &gelu, why);
}

/* Gemm: Y = alpha op(A) op(B) + beta C, C a row of N (cuBLASLt's bias, when beta is 1) or the
 * full M x N (cuBLASLt's C). */
static cinfer_status gemm_shape(const cinfer_cuda_node *n, cinfer_cuda_gemm_shape *sh,
                                int *c_input, int *bias_input, char *why) {
    cinfer_status st = cuda_need_f32(n, why);
    if (st != CINFER_OK) return st;
    const cinfer_tensor *a = n->in[0], *b = n->in[1], *y = n->out[0];
    if (a->rank != 2 || b->rank != 2) return cuda_no(why, "%s: operands are not matrices", "Gemm");
    bool ta = cuda_attr_int(n->node, "transA", 0), tb = cuda_attr_int(n->node, "transB", 0);
    *sh = (cinfer_cuda_gemm_shape){.m = y->dims[0], .n = y->dims[1],
                                   .k = ta ? a->dims[0] : a->dims[1], .batch = 1,
                                   .alpha = cuda_attr_float(n->node, "alpha", 1.0f)};
    if (ta) sh->flags |= CINFER_GEMM_TRANS_A;
    if (tb) sh->flags |= CINFER_GEMM_TRANS_B;
    /* A Relu folded in by the fusion pass: cuBLASLt's RELU epilogue follows the C/bias add. */
    if (cuda_attr_int(n->node, CINFER_FUSED_RELU_ATTR, 0) == 1) sh->flags |= CINFER_GEMM_RELU;
    if (sh->m < 1 || sh->n < 1 || sh->k < 1) return cuda_no(why, "%s: empty dimension", "Gemm");
    float beta = cuda_attr_float(n->node, "beta", 1.0f);
    *c_input = *bias_input = -1;
    if (!cuda_has_in(n, 2) || beta == 0.0f) return CINFER_OK;
    const cinfer_tensor *c = n->in[2];
    if (c->rank == 2 && c->dims[0] == sh->m && c->dims[1] == sh->n) {
        sh->beta = beta;
        *c_input = 2;
    } else if (is_row_bias(c, sh->n) && (c->rank < 2 || c->dims[0] == 1) && beta == 1.0f) {
        sh->flags |= CINFER_GEMM_BIAS;
        *bias_input = 2;
    } else {
        return cuda_no(why, "%s: C broadcast other than a row of N (with beta 1) or M x N",
                       "Gemm");
    }
    return CINFER_OK;
}

static cinfer_status gemm_supports(const cinfer_cuda_node *n, char *why) {
    cinfer_cuda_gemm_shape sh;
    int c, b;
    return gemm_shape(n, &sh, &c, &b, why);
}

static cinfer_status linalg_prepare(cinfer_cuda_ctx *ctx, const cinfer_cuda_node *n, cuda_step *s,
                                    cinfer_cuda_err *err) {
    char why[CINFER_CUDA_MSG_LEN];
    cinfer_cuda_gemm_shape sh;
    gemm_priv *p = calloc(1, sizeof *p);
    if (!p) return cinfer_cuda_err_set(err, CINFER_OUT_OF_MEMORY, "out of memory");
    p->bias_input = p->c_input = -1;
    cinfer_status st;
    if (!strcmp(n->node->op_type, "Gemm")) {
        st = gemm_shape(n, &sh, &p->c_input, &p->bias_input, why);
    } else {
        st = fused_shape(n, &sh, &p->gelu, why);
        if (sh.flags & CINFER_GEMM_BIAS) p->bias_input = 2;
    }
    if (st != CINFER_OK) {
        free(p);
        return cinfer_cuda_err_set(err, st, "%s", why);
    }
    p->out_numel = (size_t)cuda_numel(n->out[0]);
    sh.precision = n->precision;
    if ((st = cinfer_cuda_gemm_prepare(ctx, &sh, &p->g, err)) == CINFER_OK &&
        is_16bit(sh.precision))
        st = prepare_operands(ctx, n, p, err);
    if (st != CINFER_OK) {
        gemm_release(p);
        return st;
    }
    s->priv = p;
    return CINFER_OK;
}

static cinfer_status linalg_run(cinfer_cuda_ctx *ctx, cuda_step *s, const void *const *in,
                                void *const *out, cinfer_cuda_err *err) {
    gemm_priv *p = s->priv;
    const float *c = p->c_input >= 0 ? in[p->c_input] : NULL;
    const float *bias = p->bias_input >= 0 ? in[p->bias_input] : NULL;
    const void *a = in[0], *b = in[1];
    cinfer_status st = CINFER_OK;
    if (is_16bit(p->g.shape.precision)) {
        for (int i = 0; i < 2 && st == CINFER_OK; i++)
            if (!p->converted[i])
                st = cinfer_cuda_to_16bit(ctx->compute, p->g.shape.precision, p->half[i],
                                          in[i], p->numel[i], err);
        if (st != CINFER_OK) return st;
        a = p->half[0];
        b = p->half[1];
    }
    st = cinfer_cuda_gemm_run(ctx, &p->g, a, b, c, out[0], bias, err);
    if (st != CINFER_OK || !p->gelu) return st;
    cudaError_t e = cinfer_k_unary_f32(p->gelu == 1 ? CINFER_K_GELU_ERF : CINFER_K_GELU_TANH,
                                       out[0], out[0], p->out_numel, 0, 0, ctx->compute);
    return CINFER_CUDA_AFTER_LAUNCH(err, ctx->compute, e, "cinfer_k_unary_f32 (GELU)");
}

const cuda_op cinfer_cuda_ops_linalg[] = {
    {"MatMul", "", matmul_supports, linalg_prepare, linalg_run, gemm_release},
    {"Gemm", "", gemm_supports, linalg_prepare, linalg_run, gemm_release},
    {"FusedMatMul", "cinfer", matmul_supports, linalg_prepare, linalg_run, gemm_release},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
