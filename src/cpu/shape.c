/* CPU kernels of the shape family: byte-level copies by element size, so every fixed-size dtype
 * works. Layout ops build a view for the copy engine (shape_copy.c); generator ops (Range,
 * ConstantOfShape, ...) live in shape_gen.c. */
#include <string.h>

#include "cpu/shape_copy.h"
#include "ops/shape_impl.h"

#define COPY_CHUNK (16 * 1024) /* least bytes per parallel chunk */

static size_t esize(const cinfer_tensor *t) { return cinfer_dtype_size(t->dtype); }

/* Plan-time check for kernels that move input 0's elements. */
static cinfer_status supports_copy(const cinfer__cpu_ctx *ctx) {
    return cinfer__shape_check_dtype(ctx->in[0]->dtype, "input 0", ctx->err);
}

/* Reshape, Flatten, Squeeze, Unsqueeze: the bytes do not move. */
static cinfer_status run_copy(cinfer__cpu_ctx *ctx) {
    cinfer__copy_bytes(ctx->pool, ctx->out[0]->data, ctx->in[0]->data,
                       cinfer__tensor_bytes(ctx->in[0]));
    return CINFER_OK;
}

static cinfer_status run_transpose(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    int perm[CINFER_MAX_RANK];
    cinfer__view v;
    CINFER_TRY(cinfer__transpose_perm(ctx->node, x->rank, perm, ctx->err));
    cinfer__view_permute(x->rank, x->dims, perm, &v);
    cinfer__view_copy(ctx->pool, ctx->out[0]->data, x->data, esize(x), &v);
    return CINFER_OK;
}

/* ---- Concat / Split: per outer row, one contiguous chunk per part ------------------- */

typedef struct parts_job {
    char *whole;                     /* Concat's output or Split's input */
    char *part[CINFER_MAX_IO];       /* Concat's inputs or Split's outputs (NULL: skip) */
    int64_t chunk[CINFER_MAX_IO];    /* bytes of part k in one outer row */
    int64_t off[CINFER_MAX_IO];      /* where part k starts in a row of the whole */
    int64_t row_bytes;
    int n;
    bool split;
} parts_job;

static void parts_fn(void *arg, int64_t begin, int64_t end) {
    const parts_job *j = arg;
    for (int64_t item = begin; item < end; item++) {
        int64_t row = item / j->n;
        int k = (int)(item % j->n);
        if (!j->part[k] || !j->chunk[k]) continue;
        char *w = j->whole + row * j->row_bytes + j->off[k], *p = j->part[k] + row * j->chunk[k];
        if (j->split) memcpy(p, w, (size_t)j->chunk[k]);
        else memcpy(w, p, (size_t)j->chunk[k]);
    }
}

/* Shared by Concat and Split: `whole` has the full axis; parts[k] has dims[axis] = lens[k]. */
static void run_parts(cinfer__cpu_ctx *ctx, parts_job *j, const cinfer_tensor *whole, int axis,
                      const int64_t *lens) {
    int64_t outer = cinfer__numel(axis, whole->dims);
    int64_t inner = cinfer__numel(whole->rank - axis - 1, whole->dims + axis + 1) *
                    (int64_t)esize(whole);
    j->whole = whole->data;
    j->row_bytes = 0;
    for (int k = 0; k < j->n; k++) {
        j->chunk[k] = lens[k] * inner;
        j->off[k] = j->row_bytes;
        j->row_bytes += j->chunk[k];
    }
    int64_t items = outer * j->n;
    if (items >= 64) {
        int64_t grain = COPY_CHUNK * items / (outer * j->row_bytes + 1) + 1;
        cinfer__parallel_for(ctx->pool, items, grain, parts_fn, j);
        return;
    }
    /* Few large pieces: parallelize inside each copy instead. */
    for (int64_t row = 0; row < outer; row++)
        for (int k = 0; k < j->n; k++) {
            if (!j->part[k]) continue;
            char *w = j->whole + row * j->row_bytes + j->off[k];
            char *p = j->part[k] + row * j->chunk[k];
            if (j->split) cinfer__copy_bytes(ctx->pool, p, w, (size_t)j->chunk[k]);
            else cinfer__copy_bytes(ctx->pool, w, p, (size_t)j->chunk[k]);
        }
}

static cinfer_status run_concat(cinfer__cpu_ctx *ctx) {
    const cinfer__shape_params *p = ctx->node->params;
    const cinfer_tensor *out = ctx->out[0];
    parts_job j = {.n = ctx->n_in, .split = false};
    int64_t lens[CINFER_MAX_IO];
    int axis;
    if (!cinfer__norm_axis(p->axis, out->rank, &axis))
        return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL, "axis out of range");
    for (int k = 0; k < ctx->n_in; k++) {
        j.part[k] = ctx->in[k]->data;
        lens[k] = ctx->in[k]->dims[axis];
    }
    run_parts(ctx, &j, out, axis, lens);
    return CINFER_OK;
}

static cinfer_status run_split(cinfer__cpu_ctx *ctx) {
    const cinfer__shape_params *p = ctx->node->params;
    const cinfer_tensor *x = ctx->in[0];
    parts_job j = {.n = ctx->n_out, .split = true};
    int64_t lens[CINFER_MAX_IO];
    int axis;
    if (!cinfer__norm_axis(p->axis, x->rank, &axis))
        return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL, "axis out of range");
    /* Sizes as infer computed them: an omitted output still occupies its part. */
    const cinfer_tensor *split = ctx->n_in > 1 ? ctx->in[1] : NULL;
    CINFER_TRY(cinfer__split_sizes(ctx->node, split, ctx->n_out, x->dims[axis], lens, ctx->err));
    for (int k = 0; k < ctx->n_out; k++) j.part[k] = ctx->out[k] ? ctx->out[k]->data : NULL;
    run_parts(ctx, &j, x, axis, lens);
    return CINFER_OK;
}

/* ---- Shape / Size ------------------------------------------------------------------- */

static cinfer_status run_shape(cinfer__cpu_ctx *ctx) {
    int64_t s, e;
    cinfer__shape_range(ctx->node, ctx->in[0]->rank, &s, &e);
    int64_t *o = ctx->out[0]->data;
    for (int64_t i = s; i < e; i++) o[i - s] = ctx->in[0]->dims[i];
    return CINFER_OK;
}

static cinfer_status run_size(cinfer__cpu_ctx *ctx) {
    *(int64_t *)ctx->out[0]->data = cinfer_tensor_numel(ctx->in[0]);
    return CINFER_OK;
}

/* ---- Slice / Expand / Tile ---------------------------------------------------------- */

static cinfer_status run_slice(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    cinfer__slice_plan plan;
    cinfer__view v = {.rank = x->rank};
    int64_t st[CINFER_MAX_RANK];
    CINFER_TRY(cinfer__slice_resolve(ctx->node, ctx->in, ctx->n_in, &plan, ctx->err));
    cinfer__strides(x->rank, x->dims, st);
    for (int i = 0; i < x->rank; i++) {
        v.dims[i] = plan.count[i];
        v.strides[i] = st[i] * plan.step[i];
        v.offset += st[i] * plan.start[i];
    }
    cinfer__view_copy(ctx->pool, ctx->out[0]->data, x->data, esize(x), &v);
    return CINFER_OK;
}

static cinfer_status run_expand(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0], *y = ctx->out[0];
    cinfer__view v = {.rank = y->rank};
    int64_t st[CINFER_MAX_RANK];
    int lead = y->rank - x->rank;
    cinfer__strides(x->rank, x->dims, st);
    for (int i = 0; i < y->rank; i++) {
        v.dims[i] = y->dims[i];
        v.strides[i] = i < lead || x->dims[i - lead] == 1 ? 0 : st[i - lead];
    }
    cinfer__view_copy(ctx->pool, y->data, x->data, esize(x), &v);
    return CINFER_OK;
}

/* Each axis of extent d repeated r times is the pair of view axes (r: stride 0, d: stride). */
static cinfer_status run_tile(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0], *y = ctx->out[0];
    cinfer__view v = {.rank = 2 * x->rank};
    int64_t st[CINFER_MAX_RANK];
    if (cinfer_tensor_numel(y) == 0) return CINFER_OK;
    cinfer__strides(x->rank, x->dims, st);
    for (int i = 0; i < x->rank; i++) {
        v.dims[2 * i] = y->dims[i] / x->dims[i];
        v.strides[2 * i] = 0;
        v.dims[2 * i + 1] = x->dims[i];
        v.strides[2 * i + 1] = st[i];
    }
    cinfer__view_copy(ctx->pool, y->data, x->data, esize(x), &v);
    return CINFER_OK;
}

/* ---- DepthToSpace / SpaceToDepth: a 6-D permutation -------------------------------- */

static cinfer_status run_d2s(cinfer__cpu_ctx *ctx) {
    const cinfer__shape_params *p = ctx->node->params;
    const cinfer_tensor *x = ctx->in[0];
    int64_t b = p->blocksize, n = x->dims[0], c = x->dims[1] / (b * b);
    int64_t h = x->dims[2], w = x->dims[3];
    static const int dcr[6] = {0, 3, 4, 1, 5, 2}, crd[6] = {0, 1, 4, 2, 5, 3};
    int64_t dcr_dims[6] = {n, b, b, c, h, w}, crd_dims[6] = {n, c, b, b, h, w};
    cinfer__view v;
    cinfer__view_permute(6, p->crd ? crd_dims : dcr_dims, p->crd ? crd : dcr, &v);
    cinfer__view_copy(ctx->pool, ctx->out[0]->data, x->data, esize(x), &v);
    return CINFER_OK;
}

static cinfer_status run_s2d(cinfer__cpu_ctx *ctx) {
    const cinfer__shape_params *p = ctx->node->params;
    const cinfer_tensor *x = ctx->in[0];
    int64_t b = p->blocksize;
    int64_t dims[6] = {x->dims[0], x->dims[1], x->dims[2] / b, b, x->dims[3] / b, b};
    static const int perm[6] = {0, 3, 5, 1, 2, 4};
    cinfer__view v;
    cinfer__view_permute(6, dims, perm, &v);
    cinfer__view_copy(ctx->pool, ctx->out[0]->data, x->data, esize(x), &v);
    return CINFER_OK;
}

/* ---- The table ---------------------------------------------------------------------- */

const cinfer__cpu_kernel cinfer__cpu_shape[] = {
    {"Reshape", "", supports_copy, NULL, run_copy},
    {"Flatten", "", supports_copy, NULL, run_copy},
    {"Squeeze", "", supports_copy, NULL, run_copy},
    {"Unsqueeze", "", supports_copy, NULL, run_copy},
    {"Transpose", "", supports_copy, NULL, run_transpose},
    {"Concat", "", supports_copy, NULL, run_concat},
    {"Split", "", supports_copy, NULL, run_split},
    {"Shape", "", NULL, NULL, run_shape},
    {"Size", "", NULL, NULL, run_size},
    {"Slice", "", supports_copy, NULL, run_slice},
    {"Expand", "", supports_copy, NULL, run_expand},
    {"Tile", "", supports_copy, NULL, run_tile},
    {"DepthToSpace", "", supports_copy, NULL, run_d2s},
    {"SpaceToDepth", "", supports_copy, NULL, run_s2d},
    {"Range", "", NULL, NULL, cinfer__cpu_shape_range},
    {"ConstantOfShape", "", NULL, NULL, cinfer__cpu_shape_cos},
    {"Constant", "", NULL, NULL, cinfer__cpu_shape_constant},
    {"EyeLike", "", NULL, NULL, cinfer__cpu_shape_eyelike},
    {"Trilu", "", supports_copy, NULL, cinfer__cpu_shape_trilu},
    {"NonZero", "", supports_copy, NULL, cinfer__cpu_shape_nonzero},
    {0},
};
