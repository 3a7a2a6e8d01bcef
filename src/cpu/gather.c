/* CPU kernels of the gather family: Gather, GatherElements, GatherND, ScatterND,
 * ScatterElements/Scatter and OneHot. They move elements by size, so any dtype works. */
#include <string.h>

#include "cpu/cpu.h"

/* Bytes each parallel chunk should at least copy, so small rows are batched together. */
#define CHUNK_BYTES 16384

static inline int64_t index_at(const cinfer_tensor *t, int64_t k) {
    if (t->dtype == CINFER_DTYPE_INT64) return ((const int64_t *)t->data)[k];
    return ((const int32_t *)t->data)[k];
}

/* Copies one element or row; fixed sizes let the compiler emit plain loads and stores. */
static inline void copy_bytes(char *dst, const char *src, size_t n) {
    switch (n) {
    case 1: *dst = *src; break;
    case 2: memcpy(dst, src, 2); break;
    case 4: memcpy(dst, src, 4); break;
    case 8: memcpy(dst, src, 8); break;
    default: memcpy(dst, src, n);
    }
}

static int64_t grain_for(int64_t bytes_per_item) {
    if (bytes_per_item >= CHUNK_BYTES) return 1;
    return CHUNK_BYTES / (bytes_per_item > 0 ? bytes_per_item : 1);
}

/* Every index k of idx must lie in [-dims[k % n_cycle], dims[k % n_cycle]): one axis for
 * Gather/GatherElements, the k coordinates of a tuple for GatherND/ScatterND. */
static cinfer_status check_indices(const cinfer__cpu_ctx *ctx, const cinfer_tensor *idx,
                                   const int64_t *dims, int64_t n_cycle) {
    int64_t n = cinfer_tensor_numel(idx);
    for (int64_t k = 0; k < n; k++) {
        int64_t v = index_at(idx, k), d = dims[k % n_cycle];
        if (v < -d || v >= d)
            return cinfer__errorf(ctx->err, CINFER_INVALID_INPUT,
                                  "index %lld at position %lld of input 1 (indices) is out "
                                  "of range [%lld, %lld)", (long long)v, (long long)k,
                                  (long long)-d, (long long)d);
    }
    return CINFER_OK;
}

static int norm_axis_attr(const cinfer__cpu_ctx *ctx, int rank, int64_t dflt) {
    int axis = 0;
    cinfer__norm_axis(cinfer__attr_int(ctx->node, "axis", dflt), rank, &axis);
    return axis;
}

/* ---- Gather: data viewed as [outer, axis_dim, row], output as [outer, n_idx, row]. ---- */

typedef struct gather_job {
    const char *src;
    char *dst;
    const cinfer_tensor *idx;
    int64_t n_idx, axis_dim;
    size_t row_bytes;
} gather_job;

static void gather_rows(void *arg, int64_t begin, int64_t end) {
    const gather_job *j = arg;
    for (int64_t r = begin; r < end; r++) {
        int64_t o = r / j->n_idx, i = index_at(j->idx, r % j->n_idx);
        if (i < 0) i += j->axis_dim;
        copy_bytes(j->dst + (size_t)r * j->row_bytes,
                   j->src + (size_t)(o * j->axis_dim + i) * j->row_bytes, j->row_bytes);
    }
}

static cinfer_status run_gather(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *data = ctx->in[0], *idx = ctx->in[1];
    int axis = norm_axis_attr(ctx, data->rank, 0);
    CINFER_TRY(check_indices(ctx, idx, &data->dims[axis], 1));
    gather_job j = {data->data, ctx->out[0]->data, idx, cinfer_tensor_numel(idx),
                    data->dims[axis], cinfer_dtype_size(data->dtype)};
    int64_t outer = cinfer__numel(axis, data->dims);
    j.row_bytes *= (size_t)cinfer__numel(data->rank - axis - 1, data->dims + axis + 1);
    int64_t rows = outer * j.n_idx;
    if (rows == 0 || j.row_bytes == 0) return CINFER_OK;
    cinfer__parallel_for(ctx->pool, rows, grain_for((int64_t)j.row_bytes), gather_rows, &j);
    return CINFER_OK;
}

/* ---- GatherElements: out[m] = data[m with m[axis] replaced by indices[m]]. ---- */

typedef struct elements_job {
    const cinfer_tensor *data, *idx;
    char *out;
    int axis;
    size_t es;
} elements_job;

static void unravel(int64_t flat, int rank, const int64_t *dims, int64_t *m) {
    for (int d = rank - 1; d >= 0; d--) {
        m[d] = dims[d] ? flat % dims[d] : 0;
        flat = dims[d] ? flat / dims[d] : 0;
    }
}

static void next_index(int rank, const int64_t *dims, int64_t *m) {
    for (int d = rank - 1; d >= 0; d--) {
        if (++m[d] < dims[d]) return;
        m[d] = 0;
    }
}

/* Offset in data (elements) of the element that index position m with value i refers to. */
static int64_t elements_offset(const cinfer_tensor *data, const int64_t *m, int axis, int64_t i) {
    int64_t off = 0;
    if (i < 0) i += data->dims[axis];
    for (int d = 0; d < data->rank; d++) off = off * data->dims[d] + (d == axis ? i : m[d]);
    return off;
}

static void gather_elements_body(void *arg, int64_t begin, int64_t end) {
    const elements_job *j = arg;
    int64_t m[CINFER_MAX_RANK];
    unravel(begin, j->idx->rank, j->idx->dims, m);
    for (int64_t e = begin; e < end; e++) {
        int64_t off = elements_offset(j->data, m, j->axis, index_at(j->idx, e));
        copy_bytes(j->out + (size_t)e * j->es, (const char *)j->data->data + (size_t)off * j->es,
                   j->es);
        next_index(j->idx->rank, j->idx->dims, m);
    }
}

static cinfer_status run_gather_elements(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *data = ctx->in[0], *idx = ctx->in[1];
    elements_job j = {data, idx, ctx->out[0]->data, norm_axis_attr(ctx, data->rank, 0),
                      cinfer_dtype_size(data->dtype)};
    CINFER_TRY(check_indices(ctx, idx, &data->dims[j.axis], 1));
    int64_t n = cinfer_tensor_numel(idx);
    /* Each element also costs an offset computation over all axes: count it as 8 bytes more. */
    if (n > 0)
        cinfer__parallel_for(ctx->pool, n, grain_for((int64_t)j.es + 8), gather_elements_body,
                             &j);
    return CINFER_OK;
}

/* ---- GatherND: one slice copy per index tuple. ---- */

typedef struct nd_job {
    const cinfer_tensor *data, *idx;
    char *out;
    int b, k;                    /* batch_dims, tuple length */
    int64_t tuples_per_batch;
    int64_t batch_elems;         /* elements of data per batch entry */
    int64_t strides[CINFER_MAX_RANK];
    size_t slice_bytes, es;
} nd_job;

/* Element offset inside one batch entry of data for tuple t (global tuple number). */
static int64_t tuple_offset(const nd_job *j, int64_t t) {
    int64_t off = 0;
    for (int c = 0; c < j->k; c++) {
        int64_t v = index_at(j->idx, t * j->k + c);
        if (v < 0) v += j->data->dims[j->b + c];
        off += v * j->strides[j->b + c];
    }
    return off;
}

static void gather_nd_body(void *arg, int64_t begin, int64_t end) {
    const nd_job *j = arg;
    for (int64_t t = begin; t < end; t++) {
        int64_t off = (t / j->tuples_per_batch) * j->batch_elems + tuple_offset(j, t);
        copy_bytes(j->out + (size_t)t * j->slice_bytes,
                   (const char *)j->data->data + (size_t)off * j->es, j->slice_bytes);
    }
}

static void nd_setup(nd_job *j, const cinfer_tensor *data, const cinfer_tensor *idx, int b) {
    j->data = data;
    j->idx = idx;
    j->b = b;
    j->k = (int)idx->dims[idx->rank - 1];
    j->es = cinfer_dtype_size(data->dtype);
    cinfer__strides(data->rank, data->dims, j->strides);
    j->batch_elems = cinfer__numel(data->rank - b, data->dims + b);
    j->tuples_per_batch = cinfer__numel(idx->rank - 1 - b, idx->dims + b);
    j->slice_bytes = j->es * (size_t)cinfer__numel(data->rank - b - j->k, data->dims + b + j->k);
}

static cinfer_status run_gather_nd(cinfer__cpu_ctx *ctx) {
    nd_job j;
    int b = (int)cinfer__attr_int(ctx->node, "batch_dims", 0);
    nd_setup(&j, ctx->in[0], ctx->in[1], b);
    j.out = ctx->out[0]->data;
    CINFER_TRY(check_indices(ctx, j.idx, &j.data->dims[b], j.k));
    int64_t n = cinfer__numel(b, j.idx->dims) * j.tuples_per_batch;
    if (n > 0 && j.slice_bytes > 0)
        cinfer__parallel_for(ctx->pool, n, grain_for((int64_t)j.slice_bytes), gather_nd_body, &j);
    return CINFER_OK;
}

/* ---- Scatter: copy data, then apply updates in index order (later duplicates win). ---- */

typedef enum reduction { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN } reduction;

static reduction reduction_of(const cinfer__node *node) {
    const char *r = cinfer__attr_string(node, "reduction", "none");
    if (!strcmp(r, "add")) return RED_ADD;
    if (!strcmp(r, "mul")) return RED_MUL;
    if (!strcmp(r, "max")) return RED_MAX;
    if (!strcmp(r, "min")) return RED_MIN;
    return RED_NONE;
}

#define REDUCE_AS(T)                                                                      \
    do {                                                                                  \
        T *d = (T *)dst;                                                                  \
        const T *s = (const T *)src;                                                      \
        for (int64_t i = 0; i < n; i++) {                                                 \
            switch (red) {                                                                \
            case RED_ADD: d[i] += s[i]; break;                                            \
            case RED_MUL: d[i] *= s[i]; break;                                            \
            case RED_MAX: d[i] = d[i] > s[i] ? d[i] : s[i]; break;                        \
            default: d[i] = d[i] < s[i] ? d[i] : s[i]; break;                             \
            }                                                                             \
        }                                                                                 \
    } while (0)

/* dst[0..n) = dst (red) src, elementwise. The op check limits reductions to these types. */
static void apply_update(char *dst, const char *src, int64_t n, cinfer_dtype dt, size_t es,
                         reduction red) {
    if (red == RED_NONE) {
        memcpy(dst, src, (size_t)n * es);
        return;
    }
    switch (dt) {
    case CINFER_DTYPE_FLOAT: REDUCE_AS(float); break;
    case CINFER_DTYPE_DOUBLE: REDUCE_AS(double); break;
    case CINFER_DTYPE_INT32: REDUCE_AS(int32_t); break;
    case CINFER_DTYPE_INT64: REDUCE_AS(int64_t); break;
    default: break;
    }
}

static cinfer_status run_scatter_nd(cinfer__cpu_ctx *ctx) {
    nd_job j;
    nd_setup(&j, ctx->in[0], ctx->in[1], 0);
    CINFER_TRY(check_indices(ctx, j.idx, j.data->dims, j.k));
    char *out = ctx->out[0]->data;
    const char *upd = ctx->in[2]->data;
    if (cinfer__tensor_bytes(j.data) == 0) return CINFER_OK;
    memcpy(out, j.data->data, cinfer__tensor_bytes(j.data));
    reduction red = reduction_of(ctx->node);
    int64_t n = j.tuples_per_batch, slice = (int64_t)(j.slice_bytes / j.es);
    for (int64_t t = 0; t < n; t++)
        apply_update(out + (size_t)tuple_offset(&j, t) * j.es, upd + (size_t)t * j.slice_bytes,
                     slice, j.data->dtype, j.es, red);
    return CINFER_OK;
}

static cinfer_status run_scatter_elements(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *data = ctx->in[0], *idx = ctx->in[1];
    int axis = norm_axis_attr(ctx, data->rank, 0);
    CINFER_TRY(check_indices(ctx, idx, &data->dims[axis], 1));
    char *out = ctx->out[0]->data;
    const char *upd = ctx->in[2]->data;
    size_t es = cinfer_dtype_size(data->dtype);
    if (cinfer__tensor_bytes(data) == 0) return CINFER_OK;
    memcpy(out, data->data, cinfer__tensor_bytes(data));
    reduction red = reduction_of(ctx->node);
    int64_t n = cinfer_tensor_numel(idx), m[CINFER_MAX_RANK] = {0};
    for (int64_t e = 0; e < n; e++) {
        int64_t off = elements_offset(data, m, axis, index_at(idx, e));
        apply_update(out + (size_t)off * es, upd + (size_t)e * es, 1, data->dtype, es, red);
        next_index(idx->rank, idx->dims, m);
    }
    return CINFER_OK;
}

/* ---- OneHot: indices [outer, inner] -> out [outer, depth, inner], off everywhere but at
 * the (wrapped) index, which gets on; indices outside [-depth, depth) give an all-off row. */
static cinfer_status run_one_hot(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *idx = ctx->in[0], *values = ctx->in[2];
    cinfer_tensor *out = ctx->out[0];
    int axis = norm_axis_attr(ctx, out->rank, -1);
    int64_t depth = out->dims[axis], outer = cinfer__numel(axis, out->dims);
    int64_t inner = cinfer__numel(out->rank - axis - 1, out->dims + axis + 1);
    size_t es = cinfer_dtype_size(values->dtype);
    const char *off = values->data, *on = off + es;
    char *o = out->data;
    int64_t total = cinfer_tensor_numel(out);
    for (int64_t e = 0; e < total; e++) copy_bytes(o + (size_t)e * es, off, es);
    for (int64_t a = 0; a < outer; a++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t v = cinfer__get_i64(idx, a * inner + i);
            if (v < 0) v += depth;
            if (v < 0 || v >= depth) continue;
            copy_bytes(o + (size_t)((a * depth + v) * inner + i) * es, on, es);
        }
    return CINFER_OK;
}

const cinfer__cpu_kernel cinfer__cpu_gather[] = {
    {"Gather", "", NULL, NULL, run_gather},
    {"GatherElements", "", NULL, NULL, run_gather_elements},
    {"GatherND", "", NULL, NULL, run_gather_nd},
    {"ScatterND", "", NULL, NULL, run_scatter_nd},
    {"ScatterElements", "", NULL, NULL, run_scatter_elements},
    {"Scatter", "", NULL, NULL, run_scatter_elements},
    {"OneHot", "", NULL, NULL, run_one_hot},
    {0},
};
