/* Op definitions of the shape family: ops that move, view or describe data without arithmetic
 * (Reshape, Transpose, Concat, Split, Slice, ...). This file holds the table, the helpers and
 * the layout ops; src/ops/shape_gen.c holds Slice, Expand, Tile and the generator ops. */
#include <string.h>

#include "core/alloc.h"
#include "ops/shape_impl.h"

/* ---- Shared helpers ----------------------------------------------------------------- */

cinfer__shape_params *cinfer__shape_params_new(cinfer__node *node, cinfer__err *err) {
    cinfer__free(node->params);
    node->params = cinfer__calloc(1, sizeof(cinfer__shape_params));
    if (!node->params) cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory for attributes");
    return node->params;
}

cinfer_status cinfer__shape_unchecked(const cinfer__infer_ctx *ctx) {
    return cinfer__errorf(ctx->err, CINFER_INTERNAL, "attributes were never checked (no params)");
}

cinfer_status cinfer__shape_read_ints(const cinfer_tensor *t, int64_t *v, int max, int *n,
                                      const char *what, cinfer__err *err) {
    if (!cinfer__dtype_is_int(t->dtype))
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "%s must be an integer tensor, not %s",
                              what, cinfer_dtype_name(t->dtype));
    if (t->rank > 1)
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "%s must be 1-D, not rank %d", what,
                              t->rank);
    int64_t count = cinfer_tensor_numel(t);
    if (count > max)
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "%s has %lld values, at most %d supported",
                              what, (long long)count, max);
    if (count > 0 && !t->data)
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "the value of %s must be known at plan time",
                              what);
    for (int64_t i = 0; i < count; i++) v[i] = cinfer__get_i64(t, i);
    *n = (int)count;
    return CINFER_OK;
}

cinfer_status cinfer__shape_attr_ints(const cinfer__node *node, const char *name, int64_t *v,
                                      int max, int *n, bool *present, cinfer__err *err) {
    const cinfer__attr *a = cinfer__node_attr(node, name);
    *n = 0;
    *present = a != NULL;
    if (!a) return CINFER_OK;
    if (a->type != CINFER_ATTR_INTS)
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute %s must be a list of ints",
                              name);
    if (a->count > (size_t)max)
        return cinfer__errorf(err, CINFER_UNSUPPORTED,
                              "attribute %s has %zu values, at most %d supported", name, a->count,
                              max);
    if (a->count) memcpy(v, a->ints, a->count * sizeof *v);
    *n = (int)a->count;
    return CINFER_OK;
}

cinfer_status cinfer__shape_check_dtype(cinfer_dtype dt, const char *what, cinfer__err *err) {
    size_t es = cinfer_dtype_size(dt);
    if (es == 1 || es == 2 || es == 4 || es == 8) return CINFER_OK;
    return cinfer__errorf(err, CINFER_UNSUPPORTED, "%s has unsupported dtype %s", what,
                          cinfer_dtype_name(dt));
}

/* Normalizes a list of axes against rank, rejecting out-of-range and repeated axes. */
static cinfer_status norm_axes(const int64_t *axes, int n, int rank, int *out, cinfer__err *err) {
    bool seen[CINFER_MAX_RANK] = {0};
    for (int i = 0; i < n; i++) {
        if (!cinfer__norm_axis(axes[i], rank, &out[i]))
            return cinfer__errorf(err, CINFER_INVALID_MODEL, "axis %lld is out of range for rank %d",
                                  (long long)axes[i], rank);
        if (seen[out[i]])
            return cinfer__errorf(err, CINFER_INVALID_MODEL, "axis %lld is repeated",
                                  (long long)axes[i]);
        seen[out[i]] = true;
    }
    return CINFER_OK;
}

static cinfer_status check_in0(const cinfer__infer_ctx *ctx) {
    return cinfer__shape_check_dtype(ctx->in[0]->dtype, "input 0", ctx->err);
}

/* ---- Reshape ------------------------------------------------------------------------ */

static cinfer_status check_reshape(cinfer__node *node, cinfer__err *err) {
    cinfer__shape_params *p = cinfer__shape_params_new(node, err);
    if (!p) return CINFER_OUT_OF_MEMORY;
    p->allowzero = cinfer__attr_int(node, "allowzero", 0);
    if (p->allowzero != 0 && p->allowzero != 1)
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute allowzero=%lld must be 0 or 1",
                              (long long)p->allowzero);
    if (node->opset >= 5) return CINFER_OK;
    CINFER_TRY(cinfer__shape_attr_ints(node, "shape", p->a, CINFER_MAX_RANK, &p->n_a, &p->has_a,
                                       err));
    if (!p->has_a)
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute shape is required");
    return CINFER_OK;
}

/* Resolves 0 (copy the input's dim unless allowzero) and -1 (inferred) entries. */
static cinfer_status reshape_dims(const cinfer_tensor *x, const int64_t *shape, int n,
                                  bool allowzero, int64_t *dims, cinfer__err *err) {
    int infer_at = -1;
    int64_t known = 1;
    for (int i = 0; i < n; i++) {
        dims[i] = shape[i];
        if (shape[i] == 0 && !allowzero) {
            if (i >= x->rank)
                return cinfer__errorf(err, CINFER_INVALID_MODEL,
                                      "shape entry %d is 0 but the input has rank %d", i, x->rank);
            dims[i] = x->dims[i];
        } else if (shape[i] == -1) {
            if (infer_at >= 0)
                return cinfer__errorf(err, CINFER_INVALID_MODEL, "shape has more than one -1");
            infer_at = i;
            continue;
        } else if (shape[i] < -1) {
            return cinfer__errorf(err, CINFER_INVALID_MODEL, "shape entry %d is %lld", i,
                                  (long long)shape[i]);
        }
        known *= dims[i];
    }
    int64_t total = cinfer_tensor_numel(x);
    if (infer_at >= 0) {
        if (known == 0 || total % known)
            return cinfer__errorf(err, CINFER_INVALID_INPUT,
                                  "cannot infer the -1 of the shape: %lld elements over %lld",
                                  (long long)total, (long long)known);
        dims[infer_at] = total / known;
        known *= dims[infer_at];
    }
    if (known != total) {
        char a[128], b[128];
        return cinfer__errorf(err, CINFER_INVALID_INPUT, "cannot reshape %s into %s",
                              cinfer__shape_str(x->rank, x->dims, a, sizeof a),
                              cinfer__shape_str(n, dims, b, sizeof b));
    }
    return CINFER_OK;
}

static cinfer_status infer_reshape(cinfer__infer_ctx *ctx) {
    const cinfer__shape_params *p = ctx->node->params;
    if (!p) return cinfer__shape_unchecked(ctx);
    int64_t shape[CINFER_MAX_RANK], dims[CINFER_MAX_RANK];
    int n = p->n_a;
    CINFER_TRY(check_in0(ctx));
    if (ctx->node->opset >= 5)
        CINFER_TRY(cinfer__shape_read_ints(ctx->in[1], shape, CINFER_MAX_RANK, &n, "input 1 (shape)",
                                           ctx->err));
    else
        memcpy(shape, p->a, sizeof shape);
    CINFER_TRY(reshape_dims(ctx->in[0], shape, n, p->allowzero, dims, ctx->err));
    cinfer__set_out(ctx->out[0], ctx->in[0]->dtype, n, dims);
    return CINFER_OK;
}

/* ---- Transpose ---------------------------------------------------------------------- */

static cinfer_status check_transpose(cinfer__node *node, cinfer__err *err) {
    cinfer__shape_params *p = cinfer__shape_params_new(node, err);
    if (!p) return CINFER_OUT_OF_MEMORY;
    return cinfer__shape_attr_ints(node, "perm", p->a, CINFER_MAX_RANK, &p->n_a, &p->has_a, err);
}

cinfer_status cinfer__transpose_perm(const cinfer__node *node, int rank, int *perm,
                                     cinfer__err *err) {
    const cinfer__shape_params *p = node->params;
    if (!p || !p->has_a) {
        for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
        return CINFER_OK;
    }
    if (p->n_a != rank)
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "attribute perm has %d entries for an input of rank %d", p->n_a, rank);
    cinfer_status st = norm_axes(p->a, rank, rank, perm, err);
    if (st != CINFER_OK) cinfer__err_prefix(err, "attribute perm");
    return st;
}

static cinfer_status infer_transpose(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    int perm[CINFER_MAX_RANK];
    int64_t dims[CINFER_MAX_RANK];
    CINFER_TRY(check_in0(ctx));
    CINFER_TRY(cinfer__transpose_perm(ctx->node, x->rank, perm, ctx->err));
    for (int i = 0; i < x->rank; i++) dims[i] = x->dims[perm[i]];
    cinfer__set_out(ctx->out[0], x->dtype, x->rank, dims);
    return CINFER_OK;
}

/* ---- Flatten ------------------------------------------------------------------------ */

static cinfer_status check_axis(cinfer__node *node, cinfer__err *err) {
    cinfer__shape_params *p = cinfer__shape_params_new(node, err);
    if (!p) return CINFER_OUT_OF_MEMORY;
    p->axis = cinfer__attr_int(node, "axis", 1);
    return CINFER_OK;
}

static cinfer_status infer_flatten(cinfer__infer_ctx *ctx) {
    const cinfer__shape_params *p = ctx->node->params;
    if (!p) return cinfer__shape_unchecked(ctx);
    const cinfer_tensor *x = ctx->in[0];
    int64_t axis = p->axis < 0 ? p->axis + x->rank : p->axis;
    CINFER_TRY(check_in0(ctx));
    if (axis < 0 || axis > x->rank)
        return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL,
                              "attribute axis=%lld is out of range for rank %d",
                              (long long)p->axis, x->rank);
    int64_t dims[2] = {cinfer__numel((int)axis, x->dims),
                       cinfer__numel(x->rank - (int)axis, x->dims + axis)};
    cinfer__set_out(ctx->out[0], x->dtype, 2, dims);
    return CINFER_OK;
}

/* ---- Squeeze / Unsqueeze ------------------------------------------------------------ */

static cinfer_status check_axes(cinfer__node *node, cinfer__err *err) {
    cinfer__shape_params *p = cinfer__shape_params_new(node, err);
    if (!p) return CINFER_OUT_OF_MEMORY;
    if (node->opset >= 13) return CINFER_OK; /* axes is input 1 */
    return cinfer__shape_attr_ints(node, "axes", p->a, CINFER_MAX_RANK, &p->n_a, &p->has_a, err);
}

/* The axes of Squeeze/Unsqueeze: input 1 from opset 13, else the attribute. */
static cinfer_status read_axes(const cinfer__infer_ctx *ctx, int64_t *axes, int *n, bool *has) {
    const cinfer__shape_params *p = ctx->node->params;
    *has = false;
    *n = 0;
    if (!p) return cinfer__shape_unchecked(ctx);
    if (ctx->n_in > 1 && ctx->in[1]) {
        *has = true;
        return cinfer__shape_read_ints(ctx->in[1], axes, CINFER_MAX_RANK, n, "input 1 (axes)",
                                       ctx->err);
    }
    *has = p->has_a;
    *n = p->n_a;
    memcpy(axes, p->a, sizeof(int64_t) * CINFER_MAX_RANK);
    return CINFER_OK;
}

static cinfer_status infer_squeeze(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    int64_t axes[CINFER_MAX_RANK], dims[CINFER_MAX_RANK];
    int n, ax[CINFER_MAX_RANK], rank = 0;
    bool has, drop[CINFER_MAX_RANK] = {0};
    CINFER_TRY(check_in0(ctx));
    /* No axes, or an empty list (as ONNX Runtime reads it): squeeze every 1. */
    CINFER_TRY(read_axes(ctx, axes, &n, &has));
    CINFER_TRY(norm_axes(axes, n, x->rank, ax, ctx->err));
    for (int i = 0; i < n; i++) {
        if (x->dims[ax[i]] != 1)
            return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                                  "cannot squeeze axis %d of size %lld", ax[i],
                                  (long long)x->dims[ax[i]]);
        drop[ax[i]] = true;
    }
    for (int i = 0; i < x->rank; i++)
        if (!(has && n ? drop[i] : x->dims[i] == 1)) dims[rank++] = x->dims[i];
    cinfer__set_out(ctx->out[0], x->dtype, rank, dims);
    return CINFER_OK;
}

static cinfer_status infer_unsqueeze(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    int64_t axes[CINFER_MAX_RANK], dims[CINFER_MAX_RANK];
    int n, ax[CINFER_MAX_RANK];
    bool has, add[CINFER_MAX_RANK] = {0};
    CINFER_TRY(check_in0(ctx));
    CINFER_TRY(read_axes(ctx, axes, &n, &has));
    if (!has) return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL, "axes are required");
    int rank = x->rank + n;
    if (rank > CINFER_MAX_RANK)
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "output rank %d is over %d", rank,
                              CINFER_MAX_RANK);
    CINFER_TRY(norm_axes(axes, n, rank, ax, ctx->err));
    for (int i = 0; i < n; i++) add[ax[i]] = true;
    for (int i = 0, j = 0; i < rank; i++) dims[i] = add[i] ? 1 : x->dims[j++];
    cinfer__set_out(ctx->out[0], x->dtype, rank, dims);
    return CINFER_OK;
}

/* ---- Concat ------------------------------------------------------------------------- */

static cinfer_status check_concat(cinfer__node *node, cinfer__err *err) {
    cinfer__shape_params *p = cinfer__shape_params_new(node, err);
    if (!p) return CINFER_OUT_OF_MEMORY;
    if (node->opset >= 4 && !cinfer__node_attr(node, "axis"))
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute axis is required");
    p->axis = cinfer__attr_int(node, "axis", 1); /* Concat-1's default */
    return CINFER_OK;
}

static cinfer_status infer_concat(cinfer__infer_ctx *ctx) {
    const cinfer__shape_params *p = ctx->node->params;
    if (!p) return cinfer__shape_unchecked(ctx);
    const cinfer_tensor *x = ctx->in[0];
    int axis;
    char a[128], b[128];
    CINFER_TRY(check_in0(ctx));
    if (!cinfer__norm_axis(p->axis, x->rank, &axis))
        return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL,
                              "attribute axis=%lld is out of range for rank %d",
                              (long long)p->axis, x->rank);
    int64_t dims[CINFER_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[axis] = 0;
    for (int k = 0; k < ctx->n_in; k++) {
        const cinfer_tensor *t = ctx->in[k];
        bool ok = t && t->dtype == x->dtype && t->rank == x->rank;
        for (int i = 0; ok && i < x->rank; i++) ok = i == axis || t->dims[i] == x->dims[i];
        if (!ok)
            return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                                  "input %d (%s %s) does not match input 0 (%s %s) off axis %d", k,
                                  t ? cinfer_dtype_name(t->dtype) : "missing",
                                  t ? cinfer__shape_str(t->rank, t->dims, a, sizeof a) : "",
                                  cinfer_dtype_name(x->dtype),
                                  cinfer__shape_str(x->rank, x->dims, b, sizeof b), axis);
        dims[axis] += t->dims[axis];
    }
    cinfer__set_out(ctx->out[0], x->dtype, x->rank, dims);
    return CINFER_OK;
}

/* ---- Split -------------------------------------------------------------------------- */

static cinfer_status check_split(cinfer__node *node, cinfer__err *err) {
    cinfer__shape_params *p = cinfer__shape_params_new(node, err);
    if (!p) return CINFER_OUT_OF_MEMORY;
    p->axis = cinfer__attr_int(node, "axis", 0);
    if (node->opset < 13)
        CINFER_TRY(cinfer__shape_attr_ints(node, "split", p->a, CINFER_MAX_IO, &p->n_a, &p->has_a,
                                           err));
    if (p->has_a && p->n_a != node->n_out)
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "attribute split has %d entries for %d outputs", p->n_a, node->n_out);
    if (node->opset >= 18) {
        p->num_outputs = cinfer__attr_int(node, "num_outputs", 0);
        if (p->num_outputs && p->num_outputs != node->n_out)
            return cinfer__errorf(err, CINFER_INVALID_MODEL,
                                  "attribute num_outputs=%lld but the node has %d outputs",
                                  (long long)p->num_outputs, node->n_out);
    }
    return CINFER_OK;
}

cinfer_status cinfer__split_sizes(const cinfer__node *node, const cinfer_tensor *split, int n,
                                 int64_t dim, int64_t *sizes, cinfer__err *err) {
    const cinfer__shape_params *p = node->params;
    if (split) {
        int got;
        CINFER_TRY(cinfer__shape_read_ints(split, sizes, CINFER_MAX_IO, &got, "input 1 (split)",
                                           err));
        if (got != n)
            return cinfer__errorf(err, CINFER_INVALID_MODEL,
                                  "input 1 (split) has %d entries for %d outputs", got, n);
    } else if (p && p->has_a) {
        memcpy(sizes, p->a, sizeof(int64_t) * (size_t)n);
    } else {
        int64_t chunk = (dim + n - 1) / n;
        for (int i = 0; i < n; i++) sizes[i] = i < n - 1 ? chunk : dim - chunk * (n - 1);
    }
    int64_t sum = 0;
    for (int i = 0; i < n; i++) {
        if (sizes[i] < 0)
            return cinfer__errorf(err, CINFER_INVALID_INPUT,
                                  "cannot split a dimension of %lld into %d parts",
                                  (long long)dim, n);
        sum += sizes[i];
    }
    if (sum != dim)
        return cinfer__errorf(err, CINFER_INVALID_INPUT,
                              "split sizes add up to %lld, the axis has %lld", (long long)sum,
                              (long long)dim);
    return CINFER_OK;
}

static cinfer_status infer_split(cinfer__infer_ctx *ctx) {
    const cinfer__shape_params *p = ctx->node->params;
    if (!p) return cinfer__shape_unchecked(ctx);
    const cinfer_tensor *x = ctx->in[0];
    int axis;
    int64_t sizes[CINFER_MAX_IO];
    CINFER_TRY(check_in0(ctx));
    if (!cinfer__norm_axis(p->axis, x->rank, &axis))
        return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL,
                              "attribute axis=%lld is out of range for rank %d",
                              (long long)p->axis, x->rank);
    const cinfer_tensor *split = ctx->n_in > 1 ? ctx->in[1] : NULL;
    CINFER_TRY(cinfer__split_sizes(ctx->node, split, ctx->n_out, x->dims[axis], sizes, ctx->err));
    for (int i = 0; i < ctx->n_out; i++) {
        if (!ctx->out[i]) continue;
        cinfer__set_out(ctx->out[i], x->dtype, x->rank, x->dims);
        ctx->out[i]->dims[axis] = sizes[i];
    }
    return CINFER_OK;
}

/* ---- Shape / Size ------------------------------------------------------------------- */

static cinfer_status check_shape(cinfer__node *node, cinfer__err *err) {
    cinfer__shape_params *p = cinfer__shape_params_new(node, err);
    if (!p) return CINFER_OUT_OF_MEMORY;
    p->start = cinfer__attr_int(node, "start", 0);
    p->has_end = cinfer__node_attr(node, "end") != NULL;
    p->end = cinfer__attr_int(node, "end", 0);
    return CINFER_OK;
}

void cinfer__shape_range(const cinfer__node *node, int rank, int64_t *start, int64_t *end) {
    const cinfer__shape_params *p = node->params;
    int64_t s = p ? p->start : 0, e = p && p->has_end ? p->end : rank;
    if (s < 0) s += rank;
    if (e < 0) e += rank;
    *start = s < 0 ? 0 : s > rank ? rank : s;
    *end = e < 0 ? 0 : e > rank ? rank : e;
    if (*end < *start) *end = *start;
}

static cinfer_status infer_shape(cinfer__infer_ctx *ctx) {
    int64_t s, e;
    cinfer__shape_range(ctx->node, ctx->in[0]->rank, &s, &e);
    int64_t n = e - s;
    cinfer__set_out(ctx->out[0], CINFER_DTYPE_INT64, 1, &n);
    return CINFER_OK;
}

static cinfer_status infer_size(cinfer__infer_ctx *ctx) {
    cinfer__set_out(ctx->out[0], CINFER_DTYPE_INT64, 0, NULL);
    return CINFER_OK;
}

/* ---- The table ---------------------------------------------------------------------- */

#define B(i) (UINT64_C(1) << (i))

const cinfer__op_def cinfer__ops_shape[] = {
    {"Reshape", "", 1, 4, 1, 1, 1, 1, 0, check_reshape, infer_reshape},
    {"Reshape", "", 5, 21, 2, 2, 1, 1, B(1), check_reshape, infer_reshape},
    {"Transpose", "", 1, 21, 1, 1, 1, 1, 0, check_transpose, infer_transpose},
    {"Flatten", "", 1, 21, 1, 1, 1, 1, 0, check_axis, infer_flatten},
    {"Squeeze", "", 1, 12, 1, 1, 1, 1, 0, check_axes, infer_squeeze},
    {"Squeeze", "", 13, 21, 1, 2, 1, 1, B(1), check_axes, infer_squeeze},
    {"Unsqueeze", "", 1, 12, 1, 1, 1, 1, 0, check_axes, infer_unsqueeze},
    {"Unsqueeze", "", 13, 21, 2, 2, 1, 1, B(1), check_axes, infer_unsqueeze},
    {"Concat", "", 1, 21, 1, CINFER_MAX_IO, 1, 1, 0, check_concat, infer_concat},
    {"Split", "", 1, 1, 1, 2, 1, CINFER_MAX_IO, B(1), check_split, infer_split},
    {"Split", "", 2, 12, 1, 1, 1, CINFER_MAX_IO, 0, check_split, infer_split},
    {"Split", "", 13, 21, 1, 2, 1, CINFER_MAX_IO, B(1), check_split, infer_split},
    {"Shape", "", 1, 21, 1, 1, 1, 1, 0, check_shape, infer_shape},
    {"Size", "", 1, 21, 1, 1, 1, 1, 0, NULL, infer_size},
    {"Slice", "", 1, 9, 1, 1, 1, 1, 0, cinfer__shape_check_slice, cinfer__shape_infer_slice},
    {"Slice", "", 10, 21, 3, 5, 1, 1, B(1) | B(2) | B(3) | B(4), cinfer__shape_check_slice,
     cinfer__shape_infer_slice},
    {"Expand", "", 8, 21, 2, 2, 1, 1, B(1), NULL, cinfer__shape_infer_expand},
    {"Tile", "", 1, 5, 3, 3, 1, 1, B(1) | B(2), NULL, cinfer__shape_infer_tile},
    {"Tile", "", 6, 21, 2, 2, 1, 1, B(1), NULL, cinfer__shape_infer_tile},
    {"Range", "", 11, 21, 3, 3, 1, 1, B(0) | B(1) | B(2), NULL, cinfer__shape_infer_range},
    {"ConstantOfShape", "", 9, 21, 1, 1, 1, 1, B(0), cinfer__shape_check_cos,
     cinfer__shape_infer_cos},
    {"Constant", "", 1, 21, 0, 0, 1, 1, 0, cinfer__shape_check_constant,
     cinfer__shape_infer_constant},
    {"DepthToSpace", "", 1, 21, 1, 1, 1, 1, 0, cinfer__shape_check_d2s, cinfer__shape_infer_d2s},
    {"SpaceToDepth", "", 1, 21, 1, 1, 1, 1, 0, cinfer__shape_check_d2s, cinfer__shape_infer_s2d},
    {"EyeLike", "", 9, 21, 1, 1, 1, 1, 0, cinfer__shape_check_eyelike,
     cinfer__shape_infer_eyelike},
    {"Trilu", "", 14, 21, 1, 2, 1, 1, 0, cinfer__shape_check_trilu, cinfer__shape_infer_trilu},
    {"NonZero", "", 9, 21, 1, 1, 1, 1, B(0), NULL, cinfer__shape_infer_nonzero},
    {0},
};
