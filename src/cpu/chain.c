/* CPU kernel of the internal ElementwiseChain op (src/ops/chain.h): the output is computed in
 * blocks that stay in L1, each op one vectorizable loop over the block, so the chain reads x
 * and writes y once instead of once per op. The math is the unfused kernels' (the same
 * expressions from elementwise_math.h), so fused and unfused runs agree bit for bit. */
#if defined(__GNUC__) && !defined(__clang__)
/* As in elementwise_unary.c: no errno or traps read here, so selects and sqrtf vectorize. */
#pragma GCC optimize("no-math-errno", "no-trapping-math")
#endif
#include <math.h>

#include "core/alloc.h"
#include "cpu/cpu.h"
#include "cpu/elementwise_impl.h"
#include "cpu/elementwise_math.h"
#include "ops/chain.h"

#define BLOCK 512

typedef struct chain_job {
    const float *x;
    float *y;
    int n_ops;
    int op[CINFER_CHAIN_MAX_OPS], operand[CINFER_CHAIN_MAX_OPS];
    float c[CINFER_CHAIN_MAX_OPS];
} chain_job;

#define LOOP(EXPR)                                                                            \
    do {                                                                                      \
        for (int64_t i = 0; i < n; i++) {                                                     \
            const float v = y[i];                                                             \
            y[i] = (EXPR);                                                                    \
        }                                                                                     \
    } while (0)

static void unary(int op, float *y, int64_t n) {
    switch (op) {
    case CINFER_CHAIN_RELU: LOOP(v < 0 ? 0.0f : v); break;
    case CINFER_CHAIN_SIGMOID: LOOP(1.0f / (1.0f + cinfer__expf(-v))); break;
    case CINFER_CHAIN_TANH: LOOP(cinfer__tanhf(v)); break;
    case CINFER_CHAIN_EXP: LOOP(cinfer__expf(v)); break;
    case CINFER_CHAIN_LOG: LOOP(logf(v)); break;
    case CINFER_CHAIN_NEG: LOOP(-v); break;
    case CINFER_CHAIN_ABS: LOOP(fabsf(v)); break;
    case CINFER_CHAIN_SQRT: LOOP(sqrtf(v)); break;
    case CINFER_CHAIN_RECIPROCAL: LOOP(1.0f / v); break;
    case CINFER_CHAIN_ERF: LOOP(cinfer__erff(v)); break;
    default: break;
    }
}

/* a op b for the binary codes; Max/Min propagate a NaN as the unfused kernels do. */
#define F_ADD(a, b) ((a) + (b))
#define F_SUB(a, b) ((a) - (b))
#define F_MUL(a, b) ((a) * (b))
#define F_DIV(a, b) ((a) / (b))
#define F_MAX(a, b) ((a) != (a) || (a) > (b) ? (a) : (b))
#define F_MIN(a, b) ((a) != (a) || (a) < (b) ? (a) : (b))

/* One loop per (op, operand source) pair, so that each is a plain vectorizable loop. */
#define BINARY_LOOPS(F)                                                                       \
    switch (operand) {                                                                        \
    case CINFER_CHAIN_CONST_RIGHT: LOOP(F(v, c)); break;                                      \
    case CINFER_CHAIN_CONST_LEFT: LOOP(F(c, v)); break;                                       \
    case CINFER_CHAIN_INPUT_RIGHT:                                                            \
        for (int64_t i = 0; i < n; i++) y[i] = F(y[i], x[i]);                                 \
        break;                                                                                \
    case CINFER_CHAIN_INPUT_LEFT:                                                             \
        for (int64_t i = 0; i < n; i++) y[i] = F(x[i], y[i]);                                 \
        break;                                                                                \
    default: break;                                                                           \
    }

static void binary(int op, int operand, float c, const float *x, float *y, int64_t n) {
    switch (op) {
    case CINFER_CHAIN_ADD: BINARY_LOOPS(F_ADD); break;
    case CINFER_CHAIN_SUB: BINARY_LOOPS(F_SUB); break;
    case CINFER_CHAIN_MUL: BINARY_LOOPS(F_MUL); break;
    case CINFER_CHAIN_DIV: BINARY_LOOPS(F_DIV); break;
    case CINFER_CHAIN_MAX: BINARY_LOOPS(F_MAX); break;
    case CINFER_CHAIN_MIN: BINARY_LOOPS(F_MIN); break;
    default: break;
    }
}

static void chain_chunk(void *arg, int64_t begin, int64_t end) {
    const chain_job *j = arg;
    for (int64_t b = begin; b < end; b += BLOCK) {
        int64_t n = end - b < BLOCK ? end - b : BLOCK;
        const float *x = j->x + b;
        float *y = j->y + b;
        if (y != x)
            for (int64_t i = 0; i < n; i++) y[i] = x[i];
        for (int k = 0; k < j->n_ops; k++) {
            if (CINFER_CHAIN_IS_UNARY(j->op[k])) unary(j->op[k], y, n);
            else binary(j->op[k], j->operand[k], j->c[k], x, y, n);
        }
    }
}

/* Plan time: the chain's ops from the node's attributes (checked to agree by the op
 * definition), so a run only fills in its buffers. */
static cinfer_status chain_prepare(const cinfer__cpu_ctx *ctx, void **state) {
    size_t n_ops = 0, n_operands = 0, n_c = 0;
    const int64_t *ops = cinfer__attr_ints(ctx->node, "ops", &n_ops);
    const int64_t *operands = cinfer__attr_ints(ctx->node, "operands", &n_operands);
    const float *c = cinfer__attr_floats(ctx->node, "constants", &n_c);
    chain_job *j = cinfer__calloc(1, sizeof *j);
    if (!j) return cinfer__errorf(ctx->err, CINFER_OUT_OF_MEMORY, "out of memory");
    j->n_ops = (int)n_ops;
    for (size_t k = 0; k < n_ops; k++) {
        j->op[k] = (int)ops[k];
        j->operand[k] = (int)operands[k];
        j->c[k] = c[k];
    }
    *state = j;
    return CINFER_OK;
}

static cinfer_status chain_run(cinfer__cpu_ctx *ctx) {
    chain_job j = *(const chain_job *)ctx->state;
    j.x = ctx->in[0]->data;
    j.y = ctx->out[0]->data;
    /* y never overlaps x (the memory plan keeps x live through this step), which the input
     * operands rely on: they read x[i] after y[i] has changed. */
    cinfer__ew_flat_run(ctx->pool, cinfer_tensor_numel(ctx->out[0]), chain_chunk, &j);
    return CINFER_OK;
}

const cinfer__cpu_kernel cinfer__cpu_chain[] = {
    {"ElementwiseChain", "cinfer", NULL, NULL, chain_run, chain_prepare, cinfer__free},
    {0},
};
