/* Op definitions: normalizations (BatchNormalization in inference mode, LayerNormalization,
 * InstanceNormalization, LpNormalization, MeanVarianceNormalization) and Softmax/LogSoftmax. */
#include <string.h>

#include "ops/op.h"

static cinfer_status float_only(const cinfer__infer_ctx *ctx, int i) {
    if (ctx->in[i]->dtype == CINFER_DTYPE_FLOAT) return CINFER_OK;
    return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "input %d has unsupported dtype %s", i,
                          cinfer_dtype_name(ctx->in[i]->dtype));
}

static cinfer_status same_as_input(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    cinfer__set_out(ctx->out[0], x->dtype, x->rank, x->dims);
    return CINFER_OK;
}

/* Inputs first..n_in-1 must be float vectors of x's channel count (dims[1]). */
static cinfer_status channel_params(const cinfer__infer_ctx *ctx, int first) {
    const cinfer_tensor *x = ctx->in[0];
    static const char *const names[] = {"X", "scale", "B", "mean", "var"};
    if (x->rank < 2) {
        char buf[96];
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "input 0 (X) of shape %s needs rank >= 2 (N, C, ...)",
                              cinfer__shape_str(x->rank, x->dims, buf, sizeof buf));
    }
    for (int i = first; i < ctx->n_in; i++) {
        const cinfer_tensor *t = ctx->in[i];
        CINFER_TRY(float_only(ctx, i));
        if (cinfer_tensor_numel(t) != x->dims[1] || t->rank != 1) {
            char a[96], b[96];
            return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                                  "input %d (%s) of shape %s does not match the %lld channels "
                                  "of input 0 %s",
                                  i, names[i], cinfer__shape_str(t->rank, t->dims, a, sizeof a),
                                  (long long)x->dims[1],
                                  cinfer__shape_str(x->rank, x->dims, b, sizeof b));
        }
    }
    return float_only(ctx, 0);
}

/* ---- BatchNormalization ---- */

static cinfer_status batchnorm_check(cinfer__node *node, cinfer__err *err) {
    if (node->opset < 9 && cinfer__attr_int(node, "spatial", 1) != 1)
        return cinfer__errorf(err, CINFER_UNSUPPORTED,
                              "attribute spatial=%lld is not supported (per-activation "
                              "statistics)",
                              (long long)cinfer__attr_int(node, "spatial", 1));
    if (node->opset >= 14 && cinfer__attr_int(node, "training_mode", 0) != 0)
        return cinfer__errorf(err, CINFER_UNSUPPORTED,
                              "attribute training_mode=%lld is not supported (inference only)",
                              (long long)cinfer__attr_int(node, "training_mode", 0));
    for (int i = 1; i < node->n_out; i++)
        if (node->out[i] >= 0)
            return cinfer__errorf(err, CINFER_UNSUPPORTED,
                                  "output %d (running or saved statistics) is not supported: "
                                  "only inference mode, with the single output Y, is",
                                  i);
    return CINFER_OK;
}

static cinfer_status batchnorm_infer(cinfer__infer_ctx *ctx) {
    CINFER_TRY(channel_params(ctx, 1));
    return same_as_input(ctx);
}

static cinfer_status instnorm_infer(cinfer__infer_ctx *ctx) {
    CINFER_TRY(channel_params(ctx, 1));
    return same_as_input(ctx);
}

/* ---- LayerNormalization ---- */

static cinfer_status layernorm_check(cinfer__node *node, cinfer__err *err) {
    int64_t st = cinfer__attr_int(node, "stash_type", 1);
    if (st != 1)
        return cinfer__errorf(err, CINFER_UNSUPPORTED,
                              "attribute stash_type=%lld is not supported (only 1, float)",
                              (long long)st);
    return CINFER_OK;
}

/* t must broadcast to the normalized shape dims[axis..rank), leaving it unchanged (extra
 * leading dims of size 1 are fine: the result keeps X's shape). */
static cinfer_status check_norm_bcast(const cinfer__infer_ctx *ctx, int i, int axis) {
    const cinfer_tensor *x = ctx->in[0], *t = ctx->in[i];
    char a[96], b[96];
    bool ok = t->rank <= x->rank;
    for (int k = 0; ok && k < t->rank; k++) {
        int64_t d = t->dims[t->rank - 1 - k];
        ok = d == 1 || (k < x->rank - axis && d == x->dims[x->rank - 1 - k]);
    }
    if (ok) return float_only(ctx, i);
    return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                          "input %d of shape %s does not broadcast to the normalized dims of "
                          "input 0 %s from axis %d",
                          i, cinfer__shape_str(t->rank, t->dims, a, sizeof a),
                          cinfer__shape_str(x->rank, x->dims, b, sizeof b), axis);
}

static cinfer_status layernorm_infer(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    int64_t a = cinfer__attr_int(ctx->node, "axis", -1);
    int axis;
    CINFER_TRY(float_only(ctx, 0));
    if (!cinfer__norm_axis(a, x->rank, &axis))
        return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL,
                              "attribute axis=%lld is out of range for input 0 of rank %d",
                              (long long)a, x->rank);
    for (int i = 1; i < ctx->n_in; i++)
        if (ctx->in[i]) CINFER_TRY(check_norm_bcast(ctx, i, axis));
    CINFER_TRY(same_as_input(ctx));
    int64_t dims[CINFER_MAX_RANK];
    for (int i = 0; i < x->rank; i++) dims[i] = i < axis ? x->dims[i] : 1;
    for (int o = 1; o < ctx->n_out; o++)
        if (ctx->out[o]) cinfer__set_out(ctx->out[o], CINFER_DTYPE_FLOAT, x->rank, dims);
    return CINFER_OK;
}

/* SkipLayerNorm (internal, written by the fusion passes): Y = LayerNormalization(A + B,
 * scale, bias) over the dims from `axis`; optional output 1 is A + B itself. */
static cinfer_status skip_layernorm_infer(cinfer__infer_ctx *ctx) {
    CINFER_TRY(float_only(ctx, 0));
    CINFER_TRY(float_only(ctx, 1));
    int rank;
    int64_t dims[CINFER_MAX_RANK];
    if (!cinfer__broadcast_shapes(2, ctx->in, &rank, dims)) {
        char a[96], b[96];
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "inputs A %s and B %s do not broadcast together",
                              cinfer__shape_str(ctx->in[0]->rank, ctx->in[0]->dims, a, sizeof a),
                              cinfer__shape_str(ctx->in[1]->rank, ctx->in[1]->dims, b, sizeof b));
    }
    int64_t ax = cinfer__attr_int(ctx->node, "axis", -1);
    int axis;
    if (!cinfer__norm_axis(ax, rank, &axis))
        return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL,
                              "attribute axis=%lld is out of range for rank %d", (long long)ax,
                              rank);
    /* Scale and bias are checked against the sum's shape, as LayerNormalization checks X. */
    cinfer_tensor sum = {.dtype = CINFER_DTYPE_FLOAT, .rank = rank};
    for (int i = 0; i < rank; i++) sum.dims[i] = dims[i];
    cinfer__infer_ctx ln = *ctx;
    ln.in[0] = &sum;
    for (int i = 1; i + 1 < ctx->n_in; i++) ln.in[i] = ctx->in[i + 1];
    ln.n_in = ctx->n_in - 1;
    for (int i = 1; i < ln.n_in; i++)
        if (ln.in[i]) CINFER_TRY(check_norm_bcast(&ln, i, axis));
    for (int o = 0; o < ctx->n_out; o++)
        if (ctx->out[o]) cinfer__set_out(ctx->out[o], CINFER_DTYPE_FLOAT, rank, dims);
    return CINFER_OK;
}

/* ---- Softmax, LogSoftmax, LpNormalization: along one axis ---- */

static cinfer_status axis_infer(cinfer__infer_ctx *ctx, int64_t dflt) {
    const cinfer_tensor *x = ctx->in[0];
    int64_t a = cinfer__attr_int(ctx->node, "axis", dflt);
    int axis;
    CINFER_TRY(float_only(ctx, 0));
    if (!cinfer__norm_axis(a, x->rank > 0 ? x->rank : 1, &axis))
        return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL,
                              "attribute axis=%lld is out of range for input 0 of rank %d",
                              (long long)a, x->rank);
    return same_as_input(ctx);
}

/* Before opset 13 the input is coerced to 2-D at axis (default 1); from 13 on the op runs
 * along one axis (default -1). */
static cinfer_status softmax_infer(cinfer__infer_ctx *ctx) {
    return axis_infer(ctx, ctx->node->opset < 13 ? 1 : -1);
}

static cinfer_status lpnorm_check(cinfer__node *node, cinfer__err *err) {
    int64_t p = cinfer__attr_int(node, "p", 2);
    if (p != 1 && p != 2)
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "attribute p=%lld is not supported "
                              "(1 or 2)", (long long)p);
    return CINFER_OK;
}

static cinfer_status lpnorm_infer(cinfer__infer_ctx *ctx) { return axis_infer(ctx, -1); }

/* ---- MeanVarianceNormalization ---- */

static cinfer_status mvn_infer(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    static const int64_t dflt[] = {0, 2, 3};
    size_t n;
    const int64_t *axes = cinfer__attr_ints(ctx->node, "axes", &n);
    CINFER_TRY(float_only(ctx, 0));
    if (!axes) {
        axes = dflt;
        n = 3;
    }
    bool seen[CINFER_MAX_RANK] = {false};
    for (size_t i = 0; i < n; i++) {
        int ax;
        if (!cinfer__norm_axis(axes[i], x->rank, &ax) || seen[ax])
            return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL,
                                  "attribute axes[%zu]=%lld is out of range or repeated for "
                                  "input 0 of rank %d",
                                  i, (long long)axes[i], x->rank);
        seen[ax] = true;
    }
    return same_as_input(ctx);
}

/* BatchNormalization: consumed_inputs (1-5), is_test (1-6) and momentum are accepted and
 * ignored; the optional training outputs (up to 5 before opset 14, 3 after) are rejected. */
const cinfer__op_def cinfer__ops_norm[] = {
    {"BatchNormalization", "", 1, 13, 5, 5, 1, 5, 0, batchnorm_check, batchnorm_infer},
    {"BatchNormalization", "", 14, 21, 5, 5, 1, 3, 0, batchnorm_check, batchnorm_infer},
    {"InstanceNormalization", "", 1, 21, 3, 3, 1, 1, 0, NULL, instnorm_infer},
    {"LayerNormalization", "", 17, 21, 2, 3, 1, 3, 0, layernorm_check, layernorm_infer},
    {"SkipLayerNorm", "cinfer", 1, 1, 3, 4, 1, 2, 0, NULL, skip_layernorm_infer},
    {"Softmax", "", 1, 21, 1, 1, 1, 1, 0, NULL, softmax_infer},
    {"LogSoftmax", "", 1, 21, 1, 1, 1, 1, 0, NULL, softmax_infer},
    {"LpNormalization", "", 1, 21, 1, 1, 1, 1, 0, lpnorm_check, lpnorm_infer},
    {"MeanVarianceNormalization", "", 9, 21, 1, 1, 1, 1, 0, NULL, mvn_infer},
    {0},
};
