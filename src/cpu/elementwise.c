/* CPU kernels of the elementwise family: the kernel table, the broadcast walker every
 * multi-input kernel runs on, and the small kernels (Where, Identity, Dropout). */
#include "cpu/elementwise_impl.h"

/* ---- Broadcast walker ------------------------------------------------------------------- */

/* Per-output-dimension strides of one input (0 where it is broadcast or absent). */
static void input_strides(int out_rank, int rank, const int64_t *dims, int64_t *st) {
    int64_t own[CINFER_MAX_RANK];
    cinfer__strides(rank, dims, own);
    for (int i = 0; i < out_rank; i++) {
        int j = i - (out_rank - rank);
        st[i] = (j < 0 || dims[j] == 1) ? 0 : own[j];
    }
}

void cinfer__ew_walk_init(cinfer__ew_walk *w, int out_rank, const int64_t *out_dims, int n_in,
                          const int *in_rank, const int64_t (*in_dims)[CINFER_MAX_RANK]) {
    int64_t st[CINFER__EW_MAX_IN][CINFER_MAX_RANK];
    for (int k = 0; k < n_in; k++) input_strides(out_rank, in_rank[k], in_dims[k], st[k]);
    w->n_in = n_in;
    w->rank = 0;
    w->total = cinfer__numel(out_rank, out_dims);
    for (int i = 0; i < out_rank; i++) {
        if (out_dims[i] == 1) continue;
        int r = w->rank;
        /* Dimension i folds into the previous one when every input steps through both as
         * one run (equal strides scaled by the size, or broadcast in both). */
        bool merge = r > 0;
        for (int k = 0; k < n_in && merge; k++)
            merge = w->st[k][r - 1] == st[k][i] * out_dims[i];
        if (merge) {
            w->dims[r - 1] *= out_dims[i];
            for (int k = 0; k < n_in; k++) w->st[k][r - 1] = st[k][i];
            continue;
        }
        w->dims[r] = out_dims[i];
        for (int k = 0; k < n_in; k++) w->st[k][r] = st[k][i];
        w->rank++;
    }
    if (w->rank == 0) {
        w->rank = 1;
        w->dims[0] = 1;
        for (int k = 0; k < n_in; k++) w->st[k][0] = 0;
    }
}

typedef struct walk_task {
    const cinfer__ew_walk *w;
    cinfer__ew_row_fn fn;
    void *arg;
} walk_task;

/* Runs the rows that overlap output elements [begin, end). */
static void walk_chunk(void *ctx, int64_t begin, int64_t end) {
    const walk_task *t = ctx;
    const cinfer__ew_walk *w = t->w;
    int r = w->rank, n_in = w->n_in;
    int64_t inner = w->dims[r - 1], row = begin / inner, col = begin % inner;
    int64_t inc[CINFER__EW_MAX_IN] = {0}, off[CINFER__EW_MAX_IN];
    for (int k = 0; k < n_in; k++) inc[k] = w->st[k][r - 1];
    for (int64_t pos = begin; pos < end; row++, col = 0) {
        for (int k = 0; k < n_in; k++) off[k] = col * inc[k];
        int64_t rem = row;
        for (int d = r - 2; d >= 0 && rem; d--) {
            int64_t idx = rem % w->dims[d];
            rem /= w->dims[d];
            for (int k = 0; k < n_in; k++) off[k] += idx * w->st[k][d];
        }
        int64_t n = inner - col < end - pos ? inner - col : end - pos;
        t->fn(t->arg, pos, off, inc, n);
        pos += n;
    }
}

void cinfer__ew_walk_run(cinfer__pool *pool, const cinfer__ew_walk *w, cinfer__ew_row_fn fn,
                         void *arg) {
    if (w->total <= 0) return;
    walk_task t = {w, fn, arg};
    cinfer__parallel_for(pool, w->total, CINFER__EW_GRAIN, walk_chunk, &t);
}

void cinfer__ew_flat_run(cinfer__pool *pool, int64_t n, cinfer__range_fn fn, void *arg) {
    if (n > 0) cinfer__parallel_for(pool, n, CINFER__EW_GRAIN, fn, arg);
}

int64_t cinfer__ew_f2i(double v) {
    /* Out-of-range and NaN give INT64_MIN, as x86's conversion (and so numpy) does, instead of
     * C's undefined behaviour. */
    if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return INT64_MIN;
    return (int64_t)v;
}

/* ---- Where ------------------------------------------------------------------------------ */

typedef struct where_job {
    const uint8_t *c;
    const void *x, *y;
    void *o;
} where_job;

/* Selects by element size only: Where never looks at the values it moves. */
#define WHERE_ROW(NAME, T)                                                                    \
    static void NAME(void *arg, int64_t o, const int64_t *off, const int64_t *inc, int64_t n) { \
        const where_job *j = arg;                                                             \
        const uint8_t *c = j->c + off[0];                                                     \
        const T *x = (const T *)j->x + off[1], *y = (const T *)j->y + off[2];                 \
        T *out = (T *)j->o + o;                                                               \
        if (inc[0] && inc[1] && inc[2])                                                       \
            for (int64_t i = 0; i < n; i++) out[i] = c[i] ? x[i] : y[i];                      \
        else                                                                                  \
            for (int64_t i = 0; i < n; i++)                                                   \
                out[i] = c[i * inc[0]] ? x[i * inc[1]] : y[i * inc[2]];                       \
    }
WHERE_ROW(where_row1, uint8_t)
WHERE_ROW(where_row2, uint16_t)
WHERE_ROW(where_row4, uint32_t)
WHERE_ROW(where_row8, uint64_t)

static cinfer_status run_where(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *c = ctx->in[0], *x = ctx->in[1], *y = ctx->in[2];
    cinfer_tensor *out = ctx->out[0];
    int ranks[3] = {c->rank, x->rank, y->rank};
    int64_t dims[3][CINFER_MAX_RANK];
    memcpy(dims[0], c->dims, sizeof dims[0]);
    memcpy(dims[1], x->dims, sizeof dims[1]);
    memcpy(dims[2], y->dims, sizeof dims[2]);
    cinfer__ew_walk w;
    cinfer__ew_walk_init(&w, out->rank, out->dims, 3, ranks, dims);
    where_job j = {c->data, x->data, y->data, out->data};
    switch (cinfer_dtype_size(x->dtype)) {
    case 1: cinfer__ew_walk_run(ctx->pool, &w, where_row1, &j); break;
    case 2: cinfer__ew_walk_run(ctx->pool, &w, where_row2, &j); break;
    case 4: cinfer__ew_walk_run(ctx->pool, &w, where_row4, &j); break;
    default: cinfer__ew_walk_run(ctx->pool, &w, where_row8, &j); break;
    }
    return CINFER_OK;
}

/* ---- Identity, Dropout (inference: the input passes through) ------------------------------- */

typedef struct copy_job {
    const uint8_t *src;
    uint8_t *dst;
} copy_job;

static void copy_chunk(void *arg, int64_t begin, int64_t end) {
    const copy_job *j = arg;
    memcpy(j->dst + begin, j->src + begin, (size_t)(end - begin));
}

static cinfer_status run_copy(cinfer__cpu_ctx *ctx) {
    const cinfer__ew_params *p = ctx->node->params;
    const cinfer_tensor *x = ctx->in[0];
    copy_job j = {x->data, ctx->out[0]->data};
    /* Copies are bandwidth bound: chunks of grain * 4 bytes keep each piece worth a thread. */
    int64_t bytes = (int64_t)cinfer__tensor_bytes(x);
    if (bytes > 0) cinfer__parallel_for(ctx->pool, bytes, CINFER__EW_GRAIN * 4, copy_chunk, &j);
    if (p->op == CINFER__EW_DROPOUT) {
        const cinfer_tensor *ratio = ctx->n_in > 1 ? ctx->in[1] : NULL;
        if (cinfer__ew_dropout_is_random(ratio, ctx->n_in > 2 ? ctx->in[2] : NULL))
            return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED,
                                  "training_mode=true (random dropout) is not supported");
        cinfer_tensor *mask = ctx->n_out > 1 ? ctx->out[1] : NULL;
        if (mask) { /* nothing is dropped: the mask is all true (1 of T before opset 10) */
            int64_t n = cinfer_tensor_numel(mask);
            for (int64_t i = 0; i < n; i++) cinfer__ew_st_i(mask->data, i, mask->dtype, 1);
        }
    }
    return CINFER_OK;
}

/* ---- The table -------------------------------------------------------------------------- */

static cinfer_status ew_supports(const cinfer__cpu_ctx *ctx) {
    const cinfer__ew_params *p = ctx->node->params;
    if (!p) return cinfer__errorf(ctx->err, CINFER_INTERNAL, "attributes were not checked");
    cinfer_dtype out_dt = ctx->out[0] ? ctx->out[0]->dtype : CINFER_DTYPE_UNDEFINED;
    return cinfer__ew_check_dtypes(p, ctx->n_in, ctx->in, out_dt, ctx->err);
}

static cinfer_status ew_run(cinfer__cpu_ctx *ctx) {
    const cinfer__ew_params *p = ctx->node->params;
    switch (p->kind) {
    case CINFER__EW_KIND_BINARY: case CINFER__EW_KIND_COMPARE: case CINFER__EW_KIND_LOGIC:
        return cinfer__ew_run_binary(ctx);
    case CINFER__EW_KIND_VARIADIC: return cinfer__ew_run_variadic(ctx);
    case CINFER__EW_KIND_WHERE: return run_where(ctx);
    case CINFER__EW_KIND_CAST: return cinfer__ew_run_cast(ctx);
    case CINFER__EW_KIND_COPY: return run_copy(ctx);
    default: return cinfer__ew_run_unary(ctx);
    }
}

const cinfer__cpu_kernel cinfer__cpu_elementwise[] = {
#define KERNEL_(e, name, kind) {name, "", ew_supports, NULL, ew_run},
    CINFER__EW_OPS(KERNEL_)
#undef KERNEL_
    {0},
};
