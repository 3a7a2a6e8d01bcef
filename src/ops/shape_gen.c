/* Op definitions of the shape family, part two: Slice, Expand, Tile and the ops that generate
 * data (Range, ConstantOfShape, Constant, EyeLike, Trilu, NonZero, DepthToSpace/SpaceToDepth).
 * The table itself is in src/ops/shape.c. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "ops/shape_impl.h"

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ---- Slice -------------------------------------------------------------------------- */

cinfer_status cinfer__shape_check_slice(cinfer__node *node, cinfer__err *err) {
    cinfer__shape_params *p = cinfer__shape_params_new(node, err);
    if (!p) return CINFER_OUT_OF_MEMORY;
    if (node->opset >= 10) return CINFER_OK; /* starts/ends/axes/steps are inputs */
    CINFER_TRY(cinfer__shape_attr_ints(node, "starts", p->a, CINFER_MAX_RANK, &p->n_a, &p->has_a,
                                       err));
    CINFER_TRY(cinfer__shape_attr_ints(node, "ends", p->b, CINFER_MAX_RANK, &p->n_b, &p->has_b,
                                       err));
    CINFER_TRY(cinfer__shape_attr_ints(node, "axes", p->c, CINFER_MAX_RANK, &p->n_c, &p->has_c,
                                       err));
    if (!p->has_a || !p->has_b)
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "attributes starts and ends are required");
    return CINFER_OK;
}

/* The raw starts/ends/axes/steps lists (axes and steps defaulted). */
typedef struct slice_lists {
    int n;
    int64_t starts[CINFER_MAX_RANK], ends[CINFER_MAX_RANK];
    int64_t axes[CINFER_MAX_RANK], steps[CINFER_MAX_RANK];
} slice_lists;

static cinfer_status slice_lists_read(const cinfer__node *node, const cinfer_tensor *const *in,
                                      int n_in, slice_lists *l, cinfer__err *err) {
    const cinfer__shape_params *p = node->params;
    int ne, na = -1, ns = -1;
    if (node->opset < 10) {
        if (!p) return cinfer__errorf(err, CINFER_INTERNAL, "Slice attributes were not parsed");
        l->n = p->n_a;
        ne = p->n_b;
        memcpy(l->starts, p->a, sizeof l->starts);
        memcpy(l->ends, p->b, sizeof l->ends);
        memcpy(l->axes, p->c, sizeof l->axes);
        if (p->has_c) na = p->n_c;
    } else {
        CINFER_TRY(cinfer__shape_read_ints(in[1], l->starts, CINFER_MAX_RANK, &l->n,
                                           "input 1 (starts)", err));
        CINFER_TRY(cinfer__shape_read_ints(in[2], l->ends, CINFER_MAX_RANK, &ne,
                                           "input 2 (ends)", err));
        if (n_in > 3 && in[3])
            CINFER_TRY(cinfer__shape_read_ints(in[3], l->axes, CINFER_MAX_RANK, &na,
                                               "input 3 (axes)", err));
        if (n_in > 4 && in[4])
            CINFER_TRY(cinfer__shape_read_ints(in[4], l->steps, CINFER_MAX_RANK, &ns,
                                               "input 4 (steps)", err));
    }
    if (ne != l->n || (na >= 0 && na != l->n) || (ns >= 0 && ns != l->n))
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "starts, ends, axes and steps differ in length (%d, %d, %d, %d)",
                              l->n, ne, na, ns);
    for (int i = 0; i < l->n; i++) {
        if (na < 0) l->axes[i] = i;
        if (ns < 0) l->steps[i] = 1;
    }
    return CINFER_OK;
}

/* Clamps one axis as the spec says and counts the elements taken. */
static void slice_axis(int64_t dim, int64_t s, int64_t e, int64_t step, int64_t *start,
                       int64_t *count) {
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (step > 0) {
        s = clamp64(s, 0, dim);
        e = clamp64(e, 0, dim);
        *count = e > s ? (e - s - 1) / step + 1 : 0;
    } else {
        s = clamp64(s, 0, dim - 1);
        e = clamp64(e, -1, dim - 1);
        int64_t neg = step < -INT64_MAX ? INT64_MAX : -step;
        *count = s > e ? (s - e - 1) / neg + 1 : 0;
    }
    if (dim == 0) *count = 0;
    *start = *count ? s : 0;
}

cinfer_status cinfer__slice_resolve(const cinfer__node *node, const cinfer_tensor *const *in,
                                    int n_in, cinfer__slice_plan *plan, cinfer__err *err) {
    const cinfer_tensor *x = in[0];
    slice_lists l;
    bool seen[CINFER_MAX_RANK] = {0};
    CINFER_TRY(slice_lists_read(node, in, n_in, &l, err));
    for (int i = 0; i < x->rank; i++) {
        plan->start[i] = 0;
        plan->step[i] = 1;
        plan->count[i] = x->dims[i];
    }
    for (int i = 0; i < l.n; i++) {
        int ax;
        if (!cinfer__norm_axis(l.axes[i], x->rank, &ax) || seen[ax])
            return cinfer__errorf(err, CINFER_INVALID_MODEL,
                                  "axis %lld is out of range for rank %d or repeated",
                                  (long long)l.axes[i], x->rank);
        seen[ax] = true;
        if (l.steps[i] == 0) return cinfer__errorf(err, CINFER_INVALID_MODEL, "a step is 0");
        plan->step[ax] = l.steps[i];
        slice_axis(x->dims[ax], l.starts[i], l.ends[i], l.steps[i], &plan->start[ax],
                   &plan->count[ax]);
    }
    return CINFER_OK;
}

cinfer_status cinfer__shape_infer_slice(cinfer__infer_ctx *ctx) {
    cinfer__slice_plan plan;
    CINFER_TRY(cinfer__shape_check_dtype(ctx->in[0]->dtype, "input 0", ctx->err));
    CINFER_TRY(cinfer__slice_resolve(ctx->node, ctx->in, ctx->n_in, &plan, ctx->err));
    cinfer__set_out(ctx->out[0], ctx->in[0]->dtype, ctx->in[0]->rank, plan.count);
    return CINFER_OK;
}

/* ---- Expand / Tile ------------------------------------------------------------------ */

cinfer_status cinfer__shape_infer_expand(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    cinfer_tensor shape = {.dtype = x->dtype};
    CINFER_TRY(cinfer__shape_check_dtype(x->dtype, "input 0", ctx->err));
    CINFER_TRY(cinfer__shape_read_ints(ctx->in[1], shape.dims, CINFER_MAX_RANK, &shape.rank,
                                       "input 1 (shape)", ctx->err));
    const cinfer_tensor *both[2] = {x, &shape};
    int rank;
    int64_t dims[CINFER_MAX_RANK];
    if (!cinfer__broadcast_shapes(2, both, &rank, dims)) {
        char a[128], b[128];
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT, "cannot expand %s to %s",
                              cinfer__shape_str(x->rank, x->dims, a, sizeof a),
                              cinfer__shape_str(shape.rank, shape.dims, b, sizeof b));
    }
    cinfer__set_out(ctx->out[0], x->dtype, rank, dims);
    return CINFER_OK;
}

/* Tile-6+: repeats (input 1) per axis. Tile-1: `tiles` copies along `axis` (inputs 1, 2). */
static cinfer_status tile_repeats(const cinfer__infer_ctx *ctx, int64_t *reps) {
    const cinfer_tensor *x = ctx->in[0];
    int n;
    if (ctx->node->opset >= 6) {
        CINFER_TRY(cinfer__shape_read_ints(ctx->in[1], reps, CINFER_MAX_RANK, &n,
                                           "input 1 (repeats)", ctx->err));
        if (n != x->rank)
            return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL,
                                  "input 1 (repeats) has %d entries for rank %d", n, x->rank);
        return CINFER_OK;
    }
    int64_t tiles, axis;
    int ax;
    CINFER_TRY(cinfer__shape_read_ints(ctx->in[1], &tiles, 1, &n, "input 1 (tiles)", ctx->err));
    CINFER_TRY(cinfer__shape_read_ints(ctx->in[2], &axis, 1, &n, "input 2 (axis)", ctx->err));
    if (!cinfer__norm_axis(axis, x->rank, &ax))
        return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL, "input 2 (axis) %lld is out of range",
                              (long long)axis);
    for (int i = 0; i < x->rank; i++) reps[i] = i == ax ? tiles : 1;
    return CINFER_OK;
}

cinfer_status cinfer__shape_infer_tile(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    int64_t reps[CINFER_MAX_RANK], dims[CINFER_MAX_RANK];
    CINFER_TRY(cinfer__shape_check_dtype(x->dtype, "input 0", ctx->err));
    CINFER_TRY(tile_repeats(ctx, reps));
    for (int i = 0; i < x->rank; i++) {
        if (reps[i] < 0)
            return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL, "repeat %d is negative (%lld)",
                                  i, (long long)reps[i]);
        dims[i] = x->dims[i] * reps[i];
    }
    cinfer__set_out(ctx->out[0], x->dtype, x->rank, dims);
    return CINFER_OK;
}

/* ---- Range -------------------------------------------------------------------------- */

cinfer_status cinfer__range_count(const cinfer_tensor *start, const cinfer_tensor *limit,
                                  const cinfer_tensor *delta, int64_t *count, cinfer__err *err) {
    if (!start->data || !limit->data || !delta->data)
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "Range inputs must be known at plan time");
    if (cinfer__dtype_is_float(start->dtype)) {
        double s = cinfer__get_f64(start, 0), l = cinfer__get_f64(limit, 0);
        double d = cinfer__get_f64(delta, 0);
        /* limit - start in the input's precision, as ONNX Runtime does. */
        double diff = start->dtype == CINFER_DTYPE_DOUBLE ? l - s : (double)((float)l - (float)s);
        if (d == 0 || !isfinite(diff / d))
            return cinfer__errorf(err, CINFER_INVALID_INPUT, "Range of %g to %g by %g", s, l, d);
        double n = ceil(diff / d);
        *count = n > 0 ? (int64_t)n : 0;
        return CINFER_OK;
    }
    int64_t s = cinfer__get_i64(start, 0), d = cinfer__get_i64(delta, 0);
    int64_t diff = cinfer__get_i64(limit, 0) - s;
    if (d == 0) return cinfer__errorf(err, CINFER_INVALID_INPUT, "Range delta is 0");
    if (d > 0) *count = diff > 0 ? (diff - 1) / d + 1 : 0;
    else *count = diff < 0 ? (-diff - 1) / -d + 1 : 0;
    return CINFER_OK;
}

cinfer_status cinfer__shape_infer_range(cinfer__infer_ctx *ctx) {
    cinfer_dtype dt = ctx->in[0]->dtype;
    if (dt != CINFER_DTYPE_FLOAT && dt != CINFER_DTYPE_DOUBLE && dt != CINFER_DTYPE_INT16 &&
        dt != CINFER_DTYPE_INT32 && dt != CINFER_DTYPE_INT64)
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "Range of dtype %s",
                              cinfer_dtype_name(dt));
    for (int i = 0; i < 3; i++)
        if (ctx->in[i]->dtype != dt || cinfer_tensor_numel(ctx->in[i]) != 1)
            return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL,
                                  "input %d must be a %s scalar", i, cinfer_dtype_name(dt));
    int64_t n;
    CINFER_TRY(cinfer__range_count(ctx->in[0], ctx->in[1], ctx->in[2], &n, ctx->err));
    cinfer__set_out(ctx->out[0], dt, 1, &n);
    return CINFER_OK;
}

/* ---- ConstantOfShape / Constant ----------------------------------------------------- */

cinfer_status cinfer__shape_check_cos(cinfer__node *node, cinfer__err *err) {
    const cinfer__attr *a = cinfer__node_attr(node, "value");
    if (!a) return CINFER_OK;
    if (a->type != CINFER_ATTR_TENSOR || !a->t)
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute value must be a tensor");
    if (cinfer_tensor_numel(a->t) != 1)
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "attribute value must hold one element, not %lld",
                              (long long)cinfer_tensor_numel(a->t));
    return cinfer__shape_check_dtype(a->t->dtype, "attribute value", err);
}

cinfer_status cinfer__shape_infer_cos(cinfer__infer_ctx *ctx) {
    const cinfer__attr *a = cinfer__node_attr(ctx->node, "value");
    int64_t dims[CINFER_MAX_RANK];
    int n;
    CINFER_TRY(cinfer__shape_read_ints(ctx->in[0], dims, CINFER_MAX_RANK, &n, "input 0 (shape)",
                                       ctx->err));
    for (int i = 0; i < n; i++)
        if (dims[i] < 0)
            return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT, "input 0 (shape) has %lld",
                                  (long long)dims[i]);
    cinfer__set_out(ctx->out[0], a ? a->t->dtype : CINFER_DTYPE_FLOAT, n, dims);
    return CINFER_OK;
}

/* The one value attribute of a Constant, or NULL. */
static const cinfer__attr *constant_attr(const cinfer__node *node) {
    for (int i = 0; i < node->n_attrs; i++)
        if (!strncmp(node->attrs[i].name, "value", 5) || !strcmp(node->attrs[i].name, "sparse_value"))
            return &node->attrs[i];
    return NULL;
}

cinfer_status cinfer__shape_check_constant(cinfer__node *node, cinfer__err *err) {
    int n = 0;
    for (int i = 0; i < node->n_attrs; i++) {
        const cinfer__attr *a = &node->attrs[i];
        if (strncmp(a->name, "value", 5) && strcmp(a->name, "sparse_value")) continue;
        n++;
        bool ok = (!strcmp(a->name, "value") && a->type == CINFER_ATTR_TENSOR && a->t) ||
                  (!strcmp(a->name, "value_float") && a->type == CINFER_ATTR_FLOAT) ||
                  (!strcmp(a->name, "value_floats") && a->type == CINFER_ATTR_FLOATS) ||
                  (!strcmp(a->name, "value_int") && a->type == CINFER_ATTR_INT) ||
                  (!strcmp(a->name, "value_ints") && a->type == CINFER_ATTR_INTS);
        if (!ok)
            return cinfer__errorf(err, CINFER_UNSUPPORTED, "attribute %s is not supported",
                                  a->name);
        if (a->t) CINFER_TRY(cinfer__shape_check_dtype(a->t->dtype, "attribute value", err));
    }
    if (n != 1)
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "exactly one value attribute is required, found %d", n);
    return CINFER_OK;
}

cinfer_status cinfer__shape_infer_constant(cinfer__infer_ctx *ctx) {
    const cinfer__attr *a = constant_attr(ctx->node);
    int64_t n = (int64_t)a->count;
    switch (a->type) {
    case CINFER_ATTR_TENSOR:
        cinfer__set_out(ctx->out[0], a->t->dtype, a->t->rank, a->t->dims);
        break;
    case CINFER_ATTR_FLOAT: cinfer__set_out(ctx->out[0], CINFER_DTYPE_FLOAT, 0, NULL); break;
    case CINFER_ATTR_INT: cinfer__set_out(ctx->out[0], CINFER_DTYPE_INT64, 0, NULL); break;
    case CINFER_ATTR_FLOATS: cinfer__set_out(ctx->out[0], CINFER_DTYPE_FLOAT, 1, &n); break;
    default: cinfer__set_out(ctx->out[0], CINFER_DTYPE_INT64, 1, &n); break;
    }
    return CINFER_OK;
}

/* ---- DepthToSpace / SpaceToDepth ---------------------------------------------------- */

cinfer_status cinfer__shape_check_d2s(cinfer__node *node, cinfer__err *err) {
    cinfer__shape_params *p = cinfer__shape_params_new(node, err);
    if (!p) return CINFER_OUT_OF_MEMORY;
    p->blocksize = cinfer__attr_int(node, "blocksize", 0);
    if (p->blocksize < 1)
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute blocksize=%lld must be >= 1",
                              (long long)p->blocksize);
    const char *mode = cinfer__attr_string(node, "mode", "DCR");
    if (strcmp(node->op_type, "DepthToSpace")) return CINFER_OK;
    if (strcmp(mode, "DCR") && strcmp(mode, "CRD"))
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "attribute mode='%s' is not supported",
                              mode);
    p->crd = !strcmp(mode, "CRD");
    return CINFER_OK;
}

static cinfer_status check_4d(const cinfer__infer_ctx *ctx) {
    char a[128];
    const cinfer_tensor *x = ctx->in[0];
    CINFER_TRY(cinfer__shape_check_dtype(x->dtype, "input 0", ctx->err));
    if (x->rank != 4)
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT, "input 0 %s must be 4-D (NCHW)",
                              cinfer__shape_str(x->rank, x->dims, a, sizeof a));
    return CINFER_OK;
}

cinfer_status cinfer__shape_infer_d2s(cinfer__infer_ctx *ctx) {
    const cinfer__shape_params *p = ctx->node->params;
    if (!p) return cinfer__shape_unchecked(ctx);
    const cinfer_tensor *x = ctx->in[0];
    int64_t b = p->blocksize;
    CINFER_TRY(check_4d(ctx));
    if (x->dims[1] % (b * b))
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "input 0 has %lld channels, not a multiple of blocksize^2=%lld",
                              (long long)x->dims[1], (long long)(b * b));
    int64_t dims[4] = {x->dims[0], x->dims[1] / (b * b), x->dims[2] * b, x->dims[3] * b};
    cinfer__set_out(ctx->out[0], x->dtype, 4, dims);
    return CINFER_OK;
}

cinfer_status cinfer__shape_infer_s2d(cinfer__infer_ctx *ctx) {
    const cinfer__shape_params *p = ctx->node->params;
    if (!p) return cinfer__shape_unchecked(ctx);
    const cinfer_tensor *x = ctx->in[0];
    int64_t b = p->blocksize;
    CINFER_TRY(check_4d(ctx));
    if (x->dims[2] % b || x->dims[3] % b)
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                              "input 0 height %lld and width %lld must be multiples of %lld",
                              (long long)x->dims[2], (long long)x->dims[3], (long long)b);
    int64_t dims[4] = {x->dims[0], x->dims[1] * b * b, x->dims[2] / b, x->dims[3] / b};
    cinfer__set_out(ctx->out[0], x->dtype, 4, dims);
    return CINFER_OK;
}

/* ---- EyeLike / Trilu / NonZero ------------------------------------------------------ */

cinfer_status cinfer__shape_check_eyelike(cinfer__node *node, cinfer__err *err) {
    cinfer__shape_params *p = cinfer__shape_params_new(node, err);
    if (!p) return CINFER_OUT_OF_MEMORY;
    p->k = cinfer__attr_int(node, "k", 0);
    p->dtype = cinfer__attr_int(node, "dtype", 0);
    if (p->dtype) return cinfer__shape_check_dtype((cinfer_dtype)p->dtype, "attribute dtype", err);
    return CINFER_OK;
}

cinfer_status cinfer__shape_infer_eyelike(cinfer__infer_ctx *ctx) {
    const cinfer__shape_params *p = ctx->node->params;
    if (!p) return cinfer__shape_unchecked(ctx);
    const cinfer_tensor *x = ctx->in[0];
    cinfer_dtype dt = p->dtype ? (cinfer_dtype)p->dtype : x->dtype;
    CINFER_TRY(cinfer__shape_check_dtype(dt, "the output", ctx->err));
    if (x->rank != 2)
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT, "input 0 must be 2-D, not rank %d",
                              x->rank);
    cinfer__set_out(ctx->out[0], dt, 2, x->dims);
    return CINFER_OK;
}

cinfer_status cinfer__shape_check_trilu(cinfer__node *node, cinfer__err *err) {
    cinfer__shape_params *p = cinfer__shape_params_new(node, err);
    if (!p) return CINFER_OUT_OF_MEMORY;
    p->upper = cinfer__attr_int(node, "upper", 1);
    return CINFER_OK;
}

cinfer_status cinfer__shape_infer_trilu(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    if (!ctx->node->params) return cinfer__shape_unchecked(ctx);
    CINFER_TRY(cinfer__shape_check_dtype(x->dtype, "input 0", ctx->err));
    if (x->rank < 2)
        return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT, "input 0 must be at least 2-D");
    if (ctx->n_in > 1 && ctx->in[1] &&
        (!cinfer__dtype_is_int(ctx->in[1]->dtype) || cinfer_tensor_numel(ctx->in[1]) != 1))
        return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL, "input 1 (k) must be an int scalar");
    cinfer__set_out(ctx->out[0], x->dtype, x->rank, x->dims);
    return CINFER_OK;
}

bool cinfer__shape_nonzero_at(const cinfer_tensor *t, int64_t i) {
    switch (t->dtype) {
    case CINFER_DTYPE_FLOAT: return ((const float *)t->data)[i] != 0;
    case CINFER_DTYPE_DOUBLE: return ((const double *)t->data)[i] != 0;
    case CINFER_DTYPE_FLOAT16: case CINFER_DTYPE_BFLOAT16:
        return (((const uint16_t *)t->data)[i] & 0x7fff) != 0;
    default: break;
    }
    switch (cinfer_dtype_size(t->dtype)) {
    case 1: return ((const uint8_t *)t->data)[i] != 0;
    case 2: return ((const uint16_t *)t->data)[i] != 0;
    case 4: return ((const uint32_t *)t->data)[i] != 0;
    default: return ((const uint64_t *)t->data)[i] != 0;
    }
}

cinfer_status cinfer__shape_infer_nonzero(cinfer__infer_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    CINFER_TRY(cinfer__shape_check_dtype(x->dtype, "input 0", ctx->err));
    int64_t n = cinfer_tensor_numel(x), nnz = 0;
    if (n && !x->data)
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED,
                              "the value of input 0 must be known at plan time");
    for (int64_t i = 0; i < n; i++) nnz += cinfer__shape_nonzero_at(x, i);
    int64_t dims[2] = {x->rank, nnz};
    cinfer__set_out(ctx->out[0], CINFER_DTYPE_INT64, 2, dims);
    return CINFER_OK;
}
