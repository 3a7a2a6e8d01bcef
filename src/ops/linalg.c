/* Op definitions of the linalg family: MatMul (numpy matmul semantics), MatMulInteger and Gemm (opsets 1..21,
 * including the old `broadcast` attribute and the optional C of opset 11+). */
#include <string.h>

#include "ops/op.h"

static cinfer_status same_dtype(const cinfer__infer_ctx *ctx) {
    for (int i = 1; i < ctx->n_in; i++)
        if (ctx->in[i] && ctx->in[i]->dtype != ctx->in[0]->dtype)
            return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL,
                                  "input %d has dtype %s, input 0 has %s", i,
                                  cinfer_dtype_name(ctx->in[i]->dtype),
                                  cinfer_dtype_name(ctx->in[0]->dtype));
    return CINFER_OK;
}

/* MatMul: 1-D operands are promoted (A to [1,K], B to [K,1]) and the promoted dim dropped
 * from the result; leading (batch) dims broadcast as in numpy. */
static cinfer_status matmul_shape(cinfer__infer_ctx *ctx, cinfer_dtype out_dtype) {
    const cinfer_tensor *a = ctx->in[0], *b = ctx->in[1];
    char as[96], bs[96];
    cinfer__shape_str(a->rank, a->dims, as, sizeof as);
    cinfer__shape_str(b->rank, b->dims, bs, sizeof bs);
    if (a->rank < 1 || b->rank < 1)
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "inputs A %s and B %s must have rank >= 1", as, bs);
    int64_t k_a = a->dims[a->rank - 1], k_b = b->rank > 1 ? b->dims[b->rank - 2] : b->dims[0];
    if (k_a != k_b)
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "inputs A %s and B %s: inner dimensions differ", as, bs);
    int ba = a->rank > 2 ? a->rank - 2 : 0, bb = b->rank > 2 ? b->rank - 2 : 0;
    int br = ba > bb ? ba : bb;
    int64_t dims[CINFER_MAX_RANK];
    for (int i = 0; i < br; i++) {
        int ia = i - (br - ba), ib = i - (br - bb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                                  "inputs A %s and B %s: batch dimensions do not broadcast",
                                  as, bs);
        dims[i] = da == 1 ? db : da;
    }
    int r = br;
    if (a->rank > 1) dims[r++] = a->dims[a->rank - 2];
    if (b->rank > 1) dims[r++] = b->dims[b->rank - 1];
    cinfer__set_out(ctx->out[0], out_dtype, r, dims);
    return CINFER_OK;
}

static cinfer_status matmul_infer(cinfer__infer_ctx *ctx) {
    CINFER_TRY(same_dtype(ctx));
    return matmul_shape(ctx, ctx->in[0]->dtype);
}

static bool is_8bit(cinfer_dtype dt) { return dt == CINFER_DTYPE_UINT8 || dt == CINFER_DTYPE_INT8; }

/* MatMulInteger: (A - a_zero_point) x (B - b_zero_point) in int32. a_zero_point is a scalar
 * or one per row of A (M values); b_zero_point a scalar or one per column of B (N values). */
static cinfer_status matmul_int_infer(cinfer__infer_ctx *ctx) {
    for (int i = 0; i < ctx->n_in; i++) {
        const cinfer_tensor *t = ctx->in[i];
        if (!t) continue;
        if (!is_8bit(t->dtype))
            return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED,
                                  "input %d has dtype %s; uint8 or int8 expected", i,
                                  cinfer_dtype_name(t->dtype));
        if (i >= 2 && t->dtype != ctx->in[i - 2]->dtype)
            return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL,
                                  "input %d (zero point) must have input %d's dtype", i, i - 2);
    }
    CINFER_TRY(matmul_shape(ctx, CINFER_DTYPE_INT32));
    const cinfer_tensor *a = ctx->in[0], *b = ctx->in[1];
    int64_t m = a->rank > 1 ? a->dims[a->rank - 2] : 1, n = b->rank > 1 ? b->dims[b->rank - 1] : 1;
    int64_t want[2] = {m, n};
    for (int i = 2; i < ctx->n_in; i++) {
        const cinfer_tensor *z = ctx->in[i];
        int64_t cnt = z ? cinfer_tensor_numel(z) : 1;
        if (cnt != 1 && (z->rank != 1 || cnt != want[i - 2]))
            return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED,
                                  "input %d (zero point) must be a scalar or have %lld values",
                                  i, (long long)want[i - 2]);
    }
    return CINFER_OK;
}

/* Gemm: Y[M,N] = alpha * op(A) op(B) + beta * C, C broadcast unidirectionally to [M,N]. */
static cinfer_status gemm_infer(cinfer__infer_ctx *ctx) {
    const cinfer__node *n = ctx->node;
    const cinfer_tensor *a = ctx->in[0], *b = ctx->in[1], *c = ctx->n_in > 2 ? ctx->in[2] : NULL;
    char as[96], bs[96];
    cinfer__shape_str(a->rank, a->dims, as, sizeof as);
    cinfer__shape_str(b->rank, b->dims, bs, sizeof bs);
    CINFER_TRY(same_dtype(ctx));
    if (a->rank != 2 || b->rank != 2)
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "inputs A %s and B %s must be 2-D", as, bs);
    bool ta = cinfer__attr_int(n, "transA", 0) != 0, tb = cinfer__attr_int(n, "transB", 0) != 0;
    int64_t m = a->dims[ta ? 1 : 0], k = a->dims[ta ? 0 : 1];
    int64_t kb = b->dims[tb ? 1 : 0], nn = b->dims[tb ? 0 : 1];
    if (k != kb)
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "inputs A %s (transA=%d) and B %s (transB=%d): inner dimensions "
                              "differ", as, ta, bs, tb);
    if (c) {
        int64_t want[2] = {m, nn};
        bool ok = c->rank <= 2;
        for (int i = 0; ok && i < c->rank; i++) {
            int64_t d = c->dims[i], w = want[2 - c->rank + i];
            ok = d == 1 || d == w;
        }
        if (!ok) {
            char cs[96];
            cinfer__shape_str(c->rank, c->dims, cs, sizeof cs);
            return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                                  "input 2 (C) %s does not broadcast to [%lldx%lld]", cs,
                                  (long long)m, (long long)nn);
        }
    }
    int64_t dims[2] = {m, nn};
    cinfer__set_out(ctx->out[0], a->dtype, 2, dims);
    return CINFER_OK;
}

/* FusedMatMul (internal, written by the fusion passes): MatMul(A, B) + bias, then an
 * activation. bias is N values broadcast as one row (all its other dims 1). */
static cinfer_status fused_matmul_check(cinfer__node *node, cinfer__err *err) {
    const char *act = cinfer__attr_string(node, "activation", "none");
    static const char *const known[] = {"none", "relu", "gelu", "gelu_tanh"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(act, known[i])) return CINFER_OK;
    return cinfer__errorf(err, CINFER_UNSUPPORTED,
                          "attribute activation='%s' is not one of none, relu, gelu, gelu_tanh",
                          act);
}

static cinfer_status fused_matmul_infer(cinfer__infer_ctx *ctx) {
    if (ctx->in[0]->dtype != CINFER_DTYPE_FLOAT)
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "input 0 has dtype %s (float only)",
                              cinfer_dtype_name(ctx->in[0]->dtype));
    CINFER_TRY(same_dtype(ctx));
    CINFER_TRY(matmul_shape(ctx, CINFER_DTYPE_FLOAT));
    const cinfer_tensor *bias = ctx->n_in > 2 ? ctx->in[2] : NULL, *y = ctx->out[0];
    if (!bias) return CINFER_OK;
    bool ok = bias->rank >= 1 && bias->rank <= y->rank &&
              bias->dims[bias->rank - 1] == y->dims[y->rank - 1];
    for (int i = 0; ok && i + 1 < bias->rank; i++) ok = bias->dims[i] == 1;
    if (ok) return CINFER_OK;
    char bs[96], ys[96];
    return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                          "bias %s is not one row of the output %s",
                          cinfer__shape_str(bias->rank, bias->dims, bs, sizeof bs),
                          cinfer__shape_str(y->rank, y->dims, ys, sizeof ys));
}

const cinfer__op_def cinfer__ops_linalg[] = {
    {"MatMul", "", 1, 21, 2, 2, 1, 1, 0, NULL, matmul_infer},
    /* Opsets 1-6 carry a `broadcast` attribute; broadcasting C is always accepted here. */
    {"MatMulInteger", "", 10, 21, 2, 4, 1, 1, 0, NULL, matmul_int_infer},
    {"Gemm", "", 1, 10, 3, 3, 1, 1, 0, NULL, gemm_infer},
    {"Gemm", "", 11, 21, 2, 3, 1, 1, 0, NULL, gemm_infer},
    {"FusedMatMul", "cinfer", 1, 1, 2, 3, 1, 1, 0, fused_matmul_check, fused_matmul_infer},
    {0},
};
