/* The internal Attention op's shapes, shared by its definition and the kernels. */
#ifndef CINFER_OPS_ATTENTION_H
#define CINFER_OPS_ATTENTION_H

#include "ops/op.h"

typedef struct cinfer__attention_dims {
    int64_t sq, d, skv, dv;                /* query rows, head size, key rows, value width */
    int batch_rank;                        /* the broadcast batch shape of Q, K, V, mask */
    int64_t batch[CINFER_MAX_RANK];
    int64_t batches;                       /* its element count */
    bool packed;                           /* attribute packed = 1: the packed-heads layout */
} cinfer__attention_dims;

/* A packed-heads operand t [B', rows, H', cols] (packed = 1): its strides over the batch
 * [B, H] into st[0] and st[1] (0 where B' or H' is 1, broadcast); returns the stride between
 * its rows, H' * cols. The CPU kernel and the CUDA module both read operands so. */
static inline int64_t cinfer__attention_packed_strides(const cinfer_tensor *t, int64_t rows,
                                                       int64_t cols, int64_t *st) {
    int64_t row = t->dims[2] * cols;
    st[0] = t->dims[0] == 1 ? 0 : rows * row;
    st[1] = t->dims[2] == 1 ? 0 : cols;
    return row;
}

/* Checks dtypes and shapes of the node's inputs (ctx->in) and computes the dims. */
cinfer_status cinfer__attention_shapes(const cinfer__infer_ctx *ctx, cinfer__attention_dims *a);

#endif
