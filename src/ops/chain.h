/* The internal ElementwiseChain op (domain "cinfer") that the fusion pass writes for a run of
 * float elementwise ops: y = op_n(...op_2(op_1(x))...), each op unary or binary with its other
 * operand a scalar constant or the chain's own input x (x * sigmoid(x)). One pass over memory
 * instead of one per op. Attributes (one entry per op, in order):
 *   ops       INTS    cinfer__chain_op codes
 *   operands  INTS    cinfer__chain_operand: where a binary op's other operand comes from
 *   constants FLOATS  the scalar of CHAIN_CONST_* operands (0 otherwise)
 *   min_rank  INT     0 or 1: a [1]-shaped constant makes a scalar x's output [1]
 * Shared by the op definition, the CPU kernel and the CUDA module, which all read these. */
#ifndef CINFER_OPS_CHAIN_H
#define CINFER_OPS_CHAIN_H

#define CINFER_CHAIN_MAX_OPS 16

typedef enum cinfer__chain_op {
    CINFER_CHAIN_RELU, CINFER_CHAIN_SIGMOID, CINFER_CHAIN_TANH, CINFER_CHAIN_EXP,
    CINFER_CHAIN_LOG, CINFER_CHAIN_NEG, CINFER_CHAIN_ABS, CINFER_CHAIN_SQRT,
    CINFER_CHAIN_RECIPROCAL, CINFER_CHAIN_ERF,
    CINFER_CHAIN_ADD, CINFER_CHAIN_SUB, CINFER_CHAIN_MUL, CINFER_CHAIN_DIV, CINFER_CHAIN_MAX,
    CINFER_CHAIN_MIN,
    CINFER_CHAIN_OPS
} cinfer__chain_op;

/* Binary ops only: y is the running value, c the constant, x the chain's input. */
typedef enum cinfer__chain_operand {
    CINFER_CHAIN_UNARY,       /* no other operand */
    CINFER_CHAIN_CONST_RIGHT, /* y op c */
    CINFER_CHAIN_CONST_LEFT,  /* c op y */
    CINFER_CHAIN_INPUT_RIGHT, /* y op x */
    CINFER_CHAIN_INPUT_LEFT,  /* x op y */
    CINFER_CHAIN_OPERANDS
} cinfer__chain_operand;

/* The first CINFER_CHAIN_ADD codes are the unary ops. */
#define CINFER_CHAIN_IS_UNARY(op) ((op) < CINFER_CHAIN_ADD)

#endif
