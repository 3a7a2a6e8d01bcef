/* The internal Attention op's shapes, shared by its definition and the kernels. */
#ifndef CINFER_OPS_ATTENTION_H
#define CINFER_OPS_ATTENTION_H

#include "ops/op.h"

/* A packed-heads operand (packed = 1) as the kernels read it: rows of `row` elements, each
 * holding h heads of `cols` side by side from element `offset` on; b batch entries. Either
 * [b, rows, h, cols] itself (rank 4, offset 0), or the row form [b, rows, E] (rank 3): the
 * columns [offset, offset + h * cols) of a wider tensor, as when the fusion took in the Slice
 * that cut Q, K or V out of one fused projection (attributes heads, head_size, v_head_size,
 * q_offset, k_offset, v_offset; docs/fusion.md). */
typedef struct cinfer__attention_operand {
    int64_t b, rows, h, cols, row, offset;
} cinfer__attention_operand;

typedef struct cinfer__attention_dims {
    int64_t sq, d, skv, dv;                /* query rows, head size, key rows, value width */
    int batch_rank;                        /* the broadcast batch shape of Q, K, V, mask */
    int64_t batch[CINFER_MAX_RANK];
    int64_t batches;                       /* its element count */
    bool packed;                           /* attribute packed = 1: the packed-heads layout */
    cinfer__attention_operand op[3];       /* packed: how Q, K and V are read */
} cinfer__attention_dims;

/* The row-form attributes of a packed Attention node (0 where absent). */
typedef struct cinfer__attention_rows {
    int64_t heads, head_size, v_head_size, offset[3];
} cinfer__attention_rows;

/* Operand i (0 Q, 1 K, 2 V) of a packed Attention node with row-form attributes r; false when
 * its rank is neither 4 nor 3, or a row-form operand's attributes are missing or do not fit in
 * its rows. Inline: the CUDA module (which reads the attributes its own way) shares it. */
static inline bool cinfer__attention_operand_of(const cinfer_tensor *t, int i,
                                                const cinfer__attention_rows *r,
                                                cinfer__attention_operand *o) {
    if (t->rank == 4) {
        *o = (cinfer__attention_operand){.b = t->dims[0], .rows = t->dims[1], .h = t->dims[2],
                                         .cols = t->dims[3], .row = t->dims[2] * t->dims[3]};
        return true;
    }
    int64_t h = r->heads, cols = i == 2 ? r->v_head_size : r->head_size, off = r->offset[i];
    if (t->rank != 3 || h < 1 || cols < 1 || off < 0 || h > t->dims[2] / cols ||
        off > t->dims[2] - h * cols)
        return false;
    *o = (cinfer__attention_operand){.b = t->dims[0], .rows = t->dims[1], .h = h, .cols = cols,
                                     .row = t->dims[2], .offset = off};
    return true;
}

/* A packed operand's strides over the batch [B, H] into st[0] and st[1] (0 where its b or h
 * is 1, broadcast); returns the stride between its rows. The CPU kernel and the CUDA module
 * both read operands so. */
static inline int64_t cinfer__attention_packed_strides(const cinfer__attention_operand *o,
                                                       int64_t *st) {
    st[0] = o->b == 1 ? 0 : o->rows * o->row;
    st[1] = o->h == 1 ? 0 : o->cols;
    return o->row;
}

/* The row-form attributes of node n (heads, head_size, v_head_size, q/k/v_offset). */
void cinfer__attention_rows_of(const cinfer__node *n, cinfer__attention_rows *r);

/* Checks dtypes and shapes of the node's inputs (ctx->in) and computes the dims. */
cinfer_status cinfer__attention_shapes(const cinfer__infer_ctx *ctx, cinfer__attention_dims *a);

#endif
