/* GPU ElementwiseChain (domain cinfer, written by the fusion pass; src/ops/chain.h) on the
 * kernel of kernels/chain.cu: the chain's attributes become the kernel's parameter at
 * prepare. Takes half activations (half_io): FLOAT16 / BFLOAT16 in and out, math in float. */
#include <stdlib.h>

#include "cuda/module_impl.h"
#include "kernels.h"
#include "ops/chain.h"

/* The kernel header mirrors the IR's numbering; these pin the correspondence. */
_Static_assert(CINFER_K_CHAIN_MAX_OPS == CINFER_CHAIN_MAX_OPS, "chain length");
_Static_assert((int)CINFER_K_CHAIN_ERF == (int)CINFER_CHAIN_ERF &&
                   (int)CINFER_K_CHAIN_ADD == (int)CINFER_CHAIN_ADD &&
                   (int)CINFER_K_CHAIN_MIN == (int)CINFER_CHAIN_MIN, "chain op codes");
_Static_assert((int)CINFER_K_CHAIN_INPUT_LEFT == (int)CINFER_CHAIN_INPUT_LEFT,
               "chain operand codes");

/* Reads the three per-op attributes (the op definition checked that they agree). */
static bool chain_of(const cinfer__node *node, cinfer_k_chain *ch) {
    size_t n_ops = 0, n_operands = 0;
    const int64_t *ops = cuda_attr_ints(node, "ops", &n_ops);
    const int64_t *operands = cuda_attr_ints(node, "operands", &n_operands);
    const cinfer__attr *c = cuda_attr(node, "constants");
    if (!ops || !operands || !c || c->type != CINFER_ATTR_FLOATS || n_ops < 1 ||
        n_ops > CINFER_K_CHAIN_MAX_OPS || n_operands != n_ops || c->count != n_ops)
        return false;
    memset(ch, 0, sizeof *ch);
    ch->n_ops = (int32_t)n_ops;
    for (size_t k = 0; k < n_ops; k++) {
        ch->op[k] = (int32_t)ops[k];
        ch->operand[k] = (int32_t)operands[k];
        ch->c[k] = c->floats[k];
    }
    return true;
}

static cinfer_status chain_supports(const cinfer_cuda_node *n, char *why) {
    cinfer_k_chain ch;
    cinfer_dtype t = n->out[0]->dtype;
    if (n->n_in != 1 || !cuda_all_dtype(n, t) ||
        (t != CINFER_DTYPE_FLOAT && t != CINFER_DTYPE_FLOAT16 && t != CINFER_DTYPE_BFLOAT16))
        return cuda_no(why, "%s: one float32 or 16-bit float input, output alike",
                       "ElementwiseChain");
    if (!chain_of(n->node, &ch))
        return cuda_no(why, "%s: malformed attributes", "ElementwiseChain");
    if (cuda_numel(n->in[0]) != cuda_numel(n->out[0]))
        return cuda_no(why, "%s: input and output sizes differ", "ElementwiseChain");
    return CINFER_OK;
}

static cinfer_status chain_prepare(cinfer_cuda_ctx *ctx, const cinfer_cuda_node *n, cuda_step *s,
                                   cinfer_cuda_err *err) {
    (void)ctx;
    cinfer_k_chain *ch = calloc(1, sizeof *ch);
    if (!ch) return cinfer_cuda_err_set(err, CINFER_OUT_OF_MEMORY, "out of memory");
    if (!chain_of(n->node, ch)) {
        free(ch);
        return cinfer_cuda_err_set(err, CINFER_UNSUPPORTED, "ElementwiseChain: malformed "
                                   "attributes");
    }
    s->priv = ch;
    return CINFER_OK;
}

static cinfer_status chain_run(cinfer_cuda_ctx *ctx, cuda_step *s, const void *const *in,
                               void *const *out, cinfer_cuda_err *err) {
    size_t n = (size_t)cuda_numel(&s->out[0]);
    cinfer_dtype t = s->out[0].dtype;
    cudaError_t e = t == CINFER_DTYPE_FLOAT
                        ? cinfer_k_chain_f32(out[0], in[0], n, s->priv, ctx->compute)
                        : cinfer_k_chain_h(t == CINFER_DTYPE_FLOAT16 ? CINFER_K_F16
                                                                     : CINFER_K_BF16,
                                           out[0], in[0], n, s->priv, ctx->compute);
    return CINFER_CUDA_AFTER_LAUNCH(err, ctx->compute, e, "ElementwiseChain");
}

const cuda_op cinfer_cuda_ops_chain[] = {
    {"ElementwiseChain", "cinfer", chain_supports, chain_prepare, chain_run, free, true,
     CUDA_OP_POINTWISE},
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
