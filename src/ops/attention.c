/* Op definition of the internal Attention op (domain "cinfer") that the fusion passes write for
 * MatMul(Q, K) [* scale] [+ mask] -> Softmax(last axis) -> MatMul(., V):
 *   Y = softmax(scale * (Q @ K) + mask) @ V
 * Q [..., Sq, D], K [..., D, Skv] (the key already transposed, as the first MatMul took it),
 * V [..., Skv, Dv], optional mask broadcasting onto the scores [..., Sq, Skv]. Leading (batch)
 * dims of Q, K, V and the mask broadcast together as in numpy.
 * With attribute packed = 1 (the fusion also absorbed the head transposes around it, as BERT
 * exports write them) the heads sit side by side in each row: Q [B, Sq, H, D], K [B, Skv, H, D]
 * (not transposed), V [B, Skv, H, Dv], Y [B, Sq, H, Dv]; the mask still broadcasts onto the
 * scores [B, H, Sq, Skv]. Y[b, i, h] = softmax_j(scale * Q[b, i, h] . K[b, j, h] +
 * mask[b, h, i, j]) V[b, j, h]. In that layout Q, K and V may each also come in row form,
 * [B, S, E] with attributes heads H, head_size D (Q, K), v_head_size Dv (V) and q_offset,
 * k_offset, v_offset: the operand is then columns [offset, offset + H * D) of each row (the
 * fusion took in the Slice that cut it out of a fused QKV projection). */
#include "ops/attention.h"

static cinfer_status bad_shapes(const cinfer__infer_ctx *ctx, const char *what) {
    char s[4][96];
    for (int i = 0; i < 4; i++) {
        const cinfer_tensor *t = i < ctx->n_in ? ctx->in[i] : NULL;
        cinfer__shape_str(t ? t->rank : 0, t ? t->dims : NULL, s[i], sizeof s[i]);
    }
    return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                          "Q %s, K %s, V %s, mask %s: %s", s[0], s[1], s[2],
                          ctx->n_in > 3 && ctx->in[3] ? s[3] : "none", what);
}

/* Folds the batch dims of t (all but its last two) into the batch shape (right-aligned). */
static bool batch_merge(const cinfer_tensor *t, int *rank, int64_t *dims) {
    int br = t->rank - 2;
    if (br > *rank) {
        int shift = br - *rank;
        for (int i = *rank - 1; i >= 0; i--) dims[i + shift] = dims[i];
        for (int i = 0; i < shift; i++) dims[i] = 1;
        *rank = br;
    }
    for (int i = 0; i < br; i++) {
        int64_t d = t->dims[i], *o = &dims[*rank - br + i];
        if (d != 1 && *o != 1 && d != *o) return false;
        if (*o == 1) *o = d;
    }
    return true;
}

cinfer_status cinfer__attention_shapes(const cinfer__infer_ctx *ctx, cinfer__attention_dims *a) {
    const cinfer_tensor *q = ctx->in[0], *k = ctx->in[1], *v = ctx->in[2];
    const cinfer_tensor *mask = ctx->n_in > 3 ? ctx->in[3] : NULL;
    for (int i = 0; i < ctx->n_in; i++)
        if (ctx->in[i] && ctx->in[i]->dtype != CINFER_DTYPE_FLOAT)
            return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "input %d has dtype %s (float)",
                                  i, cinfer_dtype_name(ctx->in[i]->dtype));
    a->packed = ctx->node && cinfer__attr_int(ctx->node, "packed", 0) != 0;
    bool ok;
    if (a->packed) { /* [B, S, H, D] each; the batch is [B, H], broadcast as the scores were */
        cinfer__attention_operand *op = a->op;
        cinfer__attention_rows rows;
        cinfer__attention_rows_of(ctx->node, &rows);
        for (int i = 0; i < 3; i++)
            if (!cinfer__attention_operand_of(ctx->in[i], i, &rows, &op[i]))
                return bad_shapes(ctx, "packed heads need Q, K and V of rank 4 [B, S, H, D], or "
                                       "rank 3 rows with heads and head sizes that fit them");
        a->sq = op[0].rows, a->d = op[0].cols, a->skv = op[1].rows, a->dv = op[2].cols;
        if (op[1].cols != a->d || op[2].rows != a->skv)
            return bad_shapes(ctx, "packed heads: inner dimensions differ");
        a->batch_rank = 2;
        a->batch[0] = a->batch[1] = 1;
        for (int i = 0; i < 3; i++) { /* B and H of Q, K, V: equal, or 1 to broadcast */
            for (int j = 0; j < 2; j++) {
                int64_t dd = j == 0 ? op[i].b : op[i].h, *o = &a->batch[j];
                if (dd != 1 && *o != 1 && dd != *o)
                    return bad_shapes(ctx, "packed heads: batch or head counts do not broadcast");
                if (*o == 1) *o = dd;
            }
        }
        ok = true;
    } else {
        if (q->rank < 2 || k->rank < 2 || v->rank < 2) return bad_shapes(ctx, "need rank >= 2");
        a->sq = q->dims[q->rank - 2];
        a->d = q->dims[q->rank - 1];
        a->skv = k->dims[k->rank - 1];
        a->dv = v->dims[v->rank - 1];
        if (k->dims[k->rank - 2] != a->d || v->dims[v->rank - 2] != a->skv)
            return bad_shapes(ctx, "inner dimensions differ");
        a->batch_rank = 0;
        ok = batch_merge(q, &a->batch_rank, a->batch) &&
             batch_merge(k, &a->batch_rank, a->batch) && batch_merge(v, &a->batch_rank, a->batch);
    }
    if (ok && mask) {
        cinfer_tensor m2 = *mask; /* the mask's batch part: all but its last two dims */
        if (m2.rank < 2) {
            for (int i = m2.rank - 1; i >= 0; i--) m2.dims[i + 2 - m2.rank] = m2.dims[i];
            for (int i = 0; i < 2 - mask->rank; i++) m2.dims[i] = 1;
            m2.rank = 2;
        }
        int64_t mr = m2.dims[m2.rank - 2], mc = m2.dims[m2.rank - 1];
        /* (packed: the scores were rank 4, so the mask's batch part is at most [B, H]) */
        ok = (mr == 1 || mr == a->sq) && (mc == 1 || mc == a->skv) &&
             (!a->packed || m2.rank <= 4) && batch_merge(&m2, &a->batch_rank, a->batch);
        if (!ok) return bad_shapes(ctx, "the mask does not broadcast onto the scores");
    }
    if (!ok) return bad_shapes(ctx, "batch dimensions do not broadcast");
    a->batches = 1;
    for (int i = 0; i < a->batch_rank; i++) a->batches *= a->batch[i];
    return CINFER_OK;
}

void cinfer__attention_rows_of(const cinfer__node *n, cinfer__attention_rows *r) {
    r->heads = n ? cinfer__attr_int(n, "heads", 0) : 0;
    r->head_size = n ? cinfer__attr_int(n, "head_size", 0) : 0;
    r->v_head_size = n ? cinfer__attr_int(n, "v_head_size", 0) : 0;
    r->offset[0] = n ? cinfer__attr_int(n, "q_offset", 0) : 0;
    r->offset[1] = n ? cinfer__attr_int(n, "k_offset", 0) : 0;
    r->offset[2] = n ? cinfer__attr_int(n, "v_offset", 0) : 0;
}

static cinfer_status attention_infer(cinfer__infer_ctx *ctx) {
    cinfer__attention_dims a;
    CINFER_TRY(cinfer__attention_shapes(ctx, &a));
    int64_t dims[CINFER_MAX_RANK];
    if (a.packed) { /* [B, Sq, H, Dv] */
        int64_t packed[4] = {a.batch[0], a.sq, a.batch[1], a.dv};
        cinfer__set_out(ctx->out[0], CINFER_DTYPE_FLOAT, 4, packed);
        return CINFER_OK;
    }
    for (int i = 0; i < a.batch_rank; i++) dims[i] = a.batch[i];
    dims[a.batch_rank] = a.sq;
    dims[a.batch_rank + 1] = a.dv;
    cinfer__set_out(ctx->out[0], CINFER_DTYPE_FLOAT, a.batch_rank + 2, dims);
    return CINFER_OK;
}

const cinfer__op_def cinfer__ops_attention[] = {
    {"Attention", "cinfer", 1, 1, 3, 4, 1, 1, 0, NULL, attention_infer},
    {0},
};
