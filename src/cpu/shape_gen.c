/* CPU kernels of the shape family that generate data: Range, ConstantOfShape, Constant,
 * EyeLike, Trilu and NonZero. */
#include <string.h>

#include "cpu/shape_copy.h"
#include "ops/shape_impl.h"

#define ROW_CHUNK (16 * 1024) /* least bytes per parallel chunk */

/* ---- Range -------------------------------------------------------------------------- */

/* start + i * delta, computed in double (floats) or int64 (ints) and stored in the dtype. */
cinfer_status cinfer__cpu_shape_range(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *s = ctx->in[0], *d = ctx->in[2];
    cinfer_tensor *y = ctx->out[0];
    int64_t n = y->dims[0];
    if (cinfer__dtype_is_float(y->dtype)) {
        double s0 = cinfer__get_f64(s, 0), d0 = cinfer__get_f64(d, 0);
        for (int64_t i = 0; i < n; i++) {
            double v = s0 + (double)i * d0;
            if (y->dtype == CINFER_DTYPE_FLOAT) ((float *)y->data)[i] = (float)v;
            else ((double *)y->data)[i] = v;
        }
        return CINFER_OK;
    }
    int64_t s0 = cinfer__get_i64(s, 0), d0 = cinfer__get_i64(d, 0);
    for (int64_t i = 0; i < n; i++) {
        int64_t v = s0 + i * d0;
        switch (y->dtype) {
        case CINFER_DTYPE_INT16: ((int16_t *)y->data)[i] = (int16_t)v; break;
        case CINFER_DTYPE_INT32: ((int32_t *)y->data)[i] = (int32_t)v; break;
        default: ((int64_t *)y->data)[i] = v; break;
        }
    }
    return CINFER_OK;
}

/* ---- ConstantOfShape / Constant ----------------------------------------------------- */

cinfer_status cinfer__cpu_shape_cos(cinfer__cpu_ctx *ctx) {
    const cinfer__attr *a = cinfer__node_attr(ctx->node, "value");
    cinfer_tensor *y = ctx->out[0];
    static const float zero = 0;
    const void *value = a && a->t ? a->t->data : &zero;
    cinfer__fill_bytes(ctx->pool, y->data, value, cinfer_dtype_size(y->dtype),
                       cinfer_tensor_numel(y));
    return CINFER_OK;
}

cinfer_status cinfer__cpu_shape_constant(cinfer__cpu_ctx *ctx) {
    const cinfer__node *node = ctx->node;
    void *dst = ctx->out[0]->data;
    for (int i = 0; i < node->n_attrs; i++) {
        const cinfer__attr *a = &node->attrs[i];
        if (strncmp(a->name, "value", 5)) continue;
        switch (a->type) {
        case CINFER_ATTR_TENSOR:
            cinfer__copy_bytes(ctx->pool, dst, a->t->data, cinfer__tensor_bytes(a->t));
            break;
        case CINFER_ATTR_FLOAT: *(float *)dst = a->f; break;
        case CINFER_ATTR_INT: *(int64_t *)dst = a->i; break;
        case CINFER_ATTR_FLOATS:
            if (a->count) memcpy(dst, a->floats, a->count * sizeof(float));
            break;
        case CINFER_ATTR_INTS:
            if (a->count) memcpy(dst, a->ints, a->count * sizeof(int64_t));
            break;
        default:
            return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED, "attribute %s is not supported",
                                  a->name);
        }
        return CINFER_OK;
    }
    return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL, "no value attribute");
}

/* ---- EyeLike ------------------------------------------------------------------------ */

/* Writes the dtype's 1 into buf (8 bytes). */
static void one_of(cinfer_dtype dt, void *buf) {
    switch (dt) {
    case CINFER_DTYPE_FLOAT: *(float *)buf = 1.0f; return;
    case CINFER_DTYPE_DOUBLE: *(double *)buf = 1.0; return;
    case CINFER_DTYPE_FLOAT16: *(uint16_t *)buf = 0x3c00; return;
    case CINFER_DTYPE_BFLOAT16: *(uint16_t *)buf = 0x3f80; return;
    default: break;
    }
    switch (cinfer_dtype_size(dt)) {
    case 1: *(uint8_t *)buf = 1; return;
    case 2: *(uint16_t *)buf = 1; return;
    case 4: *(uint32_t *)buf = 1; return;
    default: *(uint64_t *)buf = 1; return;
    }
}

cinfer_status cinfer__cpu_shape_eyelike(cinfer__cpu_ctx *ctx) {
    const cinfer__shape_params *p = ctx->node->params;
    cinfer_tensor *y = ctx->out[0];
    size_t es = cinfer_dtype_size(y->dtype);
    int64_t rows = y->dims[0], cols = y->dims[1];
    uint64_t one = 0;
    one_of(y->dtype, &one);
    memset(y->data, 0, cinfer__tensor_bytes(y));
    for (int64_t i = 0; i < rows; i++) {
        int64_t j = i + p->k;
        if (j >= 0 && j < cols) memcpy((char *)y->data + (size_t)(i * cols + j) * es, &one, es);
    }
    return CINFER_OK;
}

/* ---- Trilu -------------------------------------------------------------------------- */

typedef struct trilu_job {
    char *dst;
    const char *src;
    size_t es;
    int64_t rows, cols, k;
    bool upper;
} trilu_job;

/* One item per matrix row: copy the kept columns, zero the others. */
static void trilu_fn(void *arg, int64_t begin, int64_t end) {
    const trilu_job *j = arg;
    size_t rb = (size_t)j->cols * j->es;
    for (int64_t r = begin; r < end; r++) {
        int64_t i = r % j->rows, lo, hi; /* kept columns [lo, hi) */
        if (j->upper) {
            lo = i + j->k < 0 ? 0 : i + j->k > j->cols ? j->cols : i + j->k;
            hi = j->cols;
        } else {
            lo = 0;
            hi = i + j->k + 1 < 0 ? 0 : i + j->k + 1 > j->cols ? j->cols : i + j->k + 1;
        }
        char *d = j->dst + (size_t)r * rb;
        const char *s = j->src + (size_t)r * rb;
        memset(d, 0, (size_t)lo * j->es);
        memcpy(d + (size_t)lo * j->es, s + (size_t)lo * j->es, (size_t)(hi - lo) * j->es);
        memset(d + (size_t)hi * j->es, 0, (size_t)(j->cols - hi) * j->es);
    }
}

cinfer_status cinfer__cpu_shape_trilu(cinfer__cpu_ctx *ctx) {
    const cinfer__shape_params *p = ctx->node->params;
    const cinfer_tensor *x = ctx->in[0];
    trilu_job j = {.dst = ctx->out[0]->data, .src = x->data, .es = cinfer_dtype_size(x->dtype),
                   .rows = x->dims[x->rank - 2], .cols = x->dims[x->rank - 1], .upper = p->upper};
    if (ctx->n_in > 1 && ctx->in[1]) j.k = cinfer__get_i64(ctx->in[1], 0);
    /* Keep k within +-cols so that i + k cannot overflow. */
    if (j.k > j.cols) j.k = j.cols;
    if (j.k < -j.rows - 1) j.k = -j.rows - 1;
    int64_t total_rows = cinfer_tensor_numel(x) / (j.cols ? j.cols : 1);
    if (!j.cols) return CINFER_OK;
    int64_t grain = ROW_CHUNK / (int64_t)((size_t)j.cols * j.es) + 1;
    cinfer__parallel_for(ctx->pool, total_rows, grain, trilu_fn, &j);
    return CINFER_OK;
}

/* ---- NonZero ------------------------------------------------------------------------ */

/* Output [rank, nnz]: row d holds the d-th coordinate of each nonzero, in row-major order. */
cinfer_status cinfer__cpu_shape_nonzero(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    int64_t *y = ctx->out[0]->data, nnz = ctx->out[0]->dims[1], n = cinfer_tensor_numel(x);
    int64_t idx[CINFER_MAX_RANK] = {0}, pos = 0;
    for (int64_t i = 0; i < n; i++) {
        if (cinfer__shape_nonzero_at(x, i)) {
            if (pos >= nnz)
                return cinfer__errorf(ctx->err, CINFER_INTERNAL,
                                      "input 0 changed after NonZero was planned");
            for (int d = 0; d < x->rank; d++) y[d * nnz + pos] = idx[d];
            pos++;
        }
        for (int d = x->rank - 1; d >= 0; d--) {
            if (++idx[d] < x->dims[d]) break;
            idx[d] = 0;
        }
    }
    if (pos != nnz)
        return cinfer__errorf(ctx->err, CINFER_INTERNAL,
                              "input 0 changed after NonZero was planned");
    return CINFER_OK;
}
