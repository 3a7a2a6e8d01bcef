/* Op definition of the internal ElementwiseChain op (src/ops/chain.h): checks that its three
 * per-op attributes agree, and gives the output x's shape and dtype. */
#include "ops/chain.h"

#include "ops/op.h"

static cinfer_status chain_check(cinfer__node *node, cinfer__err *err) {
    size_t n_ops = 0, n_operands = 0, n_constants = 0;
    const int64_t *ops = cinfer__attr_ints(node, "ops", &n_ops);
    const int64_t *operands = cinfer__attr_ints(node, "operands", &n_operands);
    cinfer__attr_floats(node, "constants", &n_constants);
    if (!ops || !operands || n_ops < 1 || n_ops > CINFER_CHAIN_MAX_OPS || n_operands != n_ops ||
        n_constants != n_ops)
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "ElementwiseChain needs 1 to %d ops "
                              "with as many operands and constants (has %zu, %zu, %zu)",
                              CINFER_CHAIN_MAX_OPS, n_ops, n_operands, n_constants);
    for (size_t i = 0; i < n_ops; i++) {
        bool unary = ops[i] >= 0 && CINFER_CHAIN_IS_UNARY(ops[i]);
        if (ops[i] < 0 || ops[i] >= CINFER_CHAIN_OPS || operands[i] < 0 ||
            operands[i] >= CINFER_CHAIN_OPERANDS || unary != (operands[i] == CINFER_CHAIN_UNARY))
            return cinfer__errorf(err, CINFER_INVALID_MODEL, "ElementwiseChain op %zu: code "
                                  "%lld with operand %lld", i, (long long)ops[i],
                                  (long long)operands[i]);
    }
    return CINFER_OK;
}

static cinfer_status chain_infer(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    if (x->dtype != CINFER_DTYPE_FLOAT)
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "input has dtype %s (float)",
                              cinfer_dtype_name(x->dtype));
    int64_t dims[CINFER_MAX_RANK] = {1};
    int rank = x->rank;
    for (int i = 0; i < rank; i++) dims[i] = x->dims[i];
    if (rank == 0 && cinfer__attr_int(ctx->node, "min_rank", 0) == 1) rank = 1;
    cinfer__set_out(ctx->out[0], CINFER_DTYPE_FLOAT, rank, dims);
    return CINFER_OK;
}

const cinfer__op_def cinfer__ops_chain[] = {
    {"ElementwiseChain", "cinfer", 1, 1, 1, 1, 1, 1, 0, chain_check, chain_infer},
    {0},
};
