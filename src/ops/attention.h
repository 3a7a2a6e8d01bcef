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

/* Checks dtypes and shapes of the node's inputs (ctx->in) and computes the dims. */
cinfer_status cinfer__attention_shapes(const cinfer__infer_ctx *ctx, cinfer__attention_dims *a);

#endif
