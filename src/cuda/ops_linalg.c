/* GPU MatMul, Gemm and FusedMatMul (domain cinfer) on prepared cuBLASLt GEMMs. GELU in either
 * form runs as a kernel after the GEMM: cuBLASLt's GELU epilogue is the tanh form of
 * undocumented accuracy, outside the fp32 tolerance.
 *
 * Precision (docs/cuda-backend.md, "Precision" and "Half activations"): TF32 is only a compute
 * type. At fp16/bf16 these ops have half_io: the module hands them their activations (A, B, a
 * C or bias that is not constant, and D) in 16 bits, cuBLASLt accumulates in fp32 and writes D
 * in 16 bits, and a float constant operand (weight, bias, C) gets a 16-bit copy once at
 * prepare (half_const.h: a model weight's from the device object's cache). Called with float
 * activations at fp16/bf16 (as tests drive the op directly), the older path runs: A and B
 * converted into the step's 16-bit copies (a constant once at prepare, anything else by a cast
 * kernel at every run), C, bias and D float. */
#include <stdlib.h>

#include "cuda/half_const.h"
#include "cuda/matmul.h"
#include "cuda/module_impl.h"
#include "cuda/weights.h"
#include "ir/passes.h"
#include "kernels.h"

/* The GEMM's operand slots: A, B, and the C or bias input (converted only in half mode). */
enum { SLOT_A, SLOT_B, SLOT_C, N_SLOTS };

typedef struct gemm_priv {
    cinfer_cuda_gemm g;
    int gelu;            /* 0 none, 1 erf form, 2 tanh form: a kernel after the GEMM */
    int bias_input;      /* input index of the per-column bias, -1 none */
    int c_input;         /* input index of a full M x N C (Gemm), -1 none */
    size_t out_numel;
    cinfer_dtype out_dtype; /* FLOAT, or FLOAT16 / BFLOAT16 in half mode */
    /* fp16/bf16, per slot: the 16-bit copy of a float constant (made at prepare), or the
     * buffer a float activation is converted into at every run (not in half mode); neither
     * means the input is used as given (16 bits already, or the float C/bias of the older
     * path). */
    cinfer_cuda_half_const konst[N_SLOTS];
    void *per_run[N_SLOTS];
    size_t numel[N_SLOTS];
} gemm_priv;

static void gemm_release(void *p) {
    gemm_priv *g = p;
    cinfer_cuda_gemm_release(&g->g);
    for (int i = 0; i < N_SLOTS; i++) {
        cinfer_cuda_half_const_free(&g->konst[i]);
        if (g->per_run[i]) (void)cudaFree(g->per_run[i]);
    }
    (void)cudaGetLastError(); /* an ignored failure must not be reported by the next launch */
    free(g);
}

static bool is_16bit(cinfer_precision p) {
    return p == CINFER_PRECISION_FP16 || p == CINFER_PRECISION_BF16;
}

/* The input index slot s reads, or -1. */
static int slot_input(const gemm_priv *p, int s) {
    if (s != SLOT_C) return s;
    return p->c_input >= 0 ? p->c_input : p->bias_input;
}

/* fp16/bf16: each slot's 16-bit operand. A float constant gets its copy now; a float
 * activation (A or B outside half mode) a buffer for the per-run conversion; a 16-bit input is
 * used as given. Outside half mode C and the bias stay float. */
static cinfer_status prepare_operands(cinfer_cuda_ctx *ctx, const cinfer_cuda_node *n,
                                      gemm_priv *p, cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    for (int s = 0; s < N_SLOTS; s++) {
        int i = slot_input(p, s);
        if (i < 0 || (s == SLOT_C && !p->g.shape.half_io)) continue;
        const cinfer_tensor *t = n->in[i];
        p->numel[s] = (size_t)cuda_numel(t);
        if (t->dtype != CINFER_DTYPE_FLOAT) continue;
        if (t->data) {
            rc = cinfer_cuda_half_const_make(ctx, n, i, p->g.shape.precision, false,
                                             &p->konst[s], err);
            if (rc != CINFER_OK) return rc;
            continue;
        }
        CUDA_CHECK(err, rc, cinfer__cuda_malloc(&p->per_run[s], p->numel[s] * 2), fail);
    }
fail:
    return rc;
}

/* All float (any precision), or half mode: the output in the 16-bit type of the node's
 * precision and every input in that type or a float constant. */
static cinfer_status linalg_dtypes(const cinfer_cuda_node *n, char *why) {
    const char *op = n->node->op_type;
    if (n->n_out < 1 || !n->out[0]) return cuda_no(why, "%s: no output", op);
    cinfer_dtype t;
    cinfer_status s = cinfer_cuda_half_out(n, &t, why);
    if (s != CINFER_OK || t == CINFER_DTYPE_FLOAT) return s;
    for (int i = 0; i < n->n_in; i++) {
        const cinfer_tensor *x = n->in[i];
        if (!x || x->dtype == t || (x->dtype == CINFER_DTYPE_FLOAT && x->data)) continue;
        return cuda_no(why, "%s: in half mode an input is neither the output's 16-bit type nor "
                       "a float constant", op);
    }
    return CINFER_OK;
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
    cinfer_status st = linalg_dtypes(n, why);
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
    cinfer_status st = linalg_dtypes(n, why);
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
    p->out_dtype = n->out[0]->dtype;
    sh.precision = n->precision;
    sh.half_io = p->out_dtype != CINFER_DTYPE_FLOAT;
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

/* GELU after the GEMM, in D's type. */
static cinfer_status run_gelu(cinfer_cuda_ctx *ctx, const gemm_priv *p, void *d,
                              cinfer_cuda_err *err) {
    cinfer_k_unary_op op = p->gelu == 1 ? CINFER_K_GELU_ERF : CINFER_K_GELU_TANH;
    cudaError_t e;
    if (p->out_dtype == CINFER_DTYPE_FLOAT)
        e = cinfer_k_unary_f32(op, d, d, p->out_numel, 0, 0, ctx->compute);
    else
        e = cinfer_k_unary_h(op, p->out_dtype == CINFER_DTYPE_FLOAT16 ? CINFER_K_F16
                                                                      : CINFER_K_BF16,
                             d, d, p->out_numel, 0, 0, ctx->compute);
    return CINFER_CUDA_AFTER_LAUNCH(err, ctx->compute, e, "GELU after the GEMM");
}

static cinfer_status linalg_run(cinfer_cuda_ctx *ctx, cuda_step *s, const void *const *in,
                                void *const *out, cinfer_cuda_err *err) {
    gemm_priv *p = s->priv;
    const void *op[N_SLOTS];
    cinfer_status st = CINFER_OK;
    for (int k = 0; k < N_SLOTS && st == CINFER_OK; k++) {
        int i = slot_input(p, k);
        op[k] = i >= 0 ? in[i] : NULL;
        if (p->konst[k].ptr) {
            op[k] = p->konst[k].ptr;
        } else if (p->per_run[k]) {
            st = cinfer_cuda_to_16bit(ctx->compute, p->g.shape.precision, p->per_run[k], in[i],
                                      p->numel[k], err);
            op[k] = p->per_run[k];
        }
    }
    if (st != CINFER_OK) return st;
    const void *c = p->c_input >= 0 ? op[SLOT_C] : NULL;
    const void *bias = p->bias_input >= 0 ? op[SLOT_C] : NULL;
    st = cinfer_cuda_gemm_run(ctx, &p->g, op[SLOT_A], op[SLOT_B], c, out[0], bias, err);
    if (st != CINFER_OK || !p->gelu) return st;
    return run_gelu(ctx, p, out[0], err);
}

const cuda_op cinfer_cuda_ops_linalg[] = {
    {"MatMul", "", matmul_supports, linalg_prepare, linalg_run, gemm_release, true},
    {"Gemm", "", gemm_supports, linalg_prepare, linalg_run, gemm_release, true},
    {"FusedMatMul", "cinfer", matmul_supports, linalg_prepare, linalg_run, gemm_release, true},
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
