/* The module's one export: the cinfer_cuda_api table over device objects, contexts, copies
 * and the per-op supports / prepare / run dispatch. */
#include <stdlib.h>

#include "cuda/graphs.h"
#include "cuda/half_io.h"
#include "cuda/module_impl.h"
#include "cuda/timeline.h"

/* Preallocated per context; cuBLASLt asks for 32 MiB on Hopper, and cuDNN's direct and
 * implicit-GEMM algorithms for fp32 need far less. */
#define BLAS_WORKSPACE (32u << 20)
#define DNN_WORKSPACE (32u << 20)

struct cinfer_cuda_mdev {
    cinfer_cuda_device *dev;
    cudaEvent_t epoch; /* time zero of its contexts' timelines */
};

struct cinfer_cuda_mctx {
    cinfer_cuda_ctx *ctx;
    cinfer_cuda_timeline tl;
};

/* Timeline calls (timeline.h), no-ops unless timing is on: `call` is evaluated only then. */
#define TIMELINE(m, call, rc, label)                                                         \
    do {                                                                                   \
        if ((m)->tl.on && ((rc) = (call)) != CINFER_OK) goto label;                        \
    } while (0)
/* Records timeline event `what` on stream s. */
#define MARK(m, what, s, e, rc, label)                                                       \
    TIMELINE(m, cinfer_cuda_timeline_mark(&(m)->tl, (what), (s), (e)), rc, label)
/* Compute is about to be enqueued on s / its end, when any was enqueued since the last. */
#define COMPUTE(m, s, e, rc, label)                                                          \
    TIMELINE(m, cinfer_cuda_timeline_compute(&(m)->tl, (s), (e)), rc, label)
#define COMPUTE_END(m, s, e, rc, label)                                                      \
    TIMELINE(m, cinfer_cuda_timeline_compute_end(&(m)->tl, (s), (e)), rc, label)

static cinfer_status give(const cinfer_cuda_err *e, cinfer_status rc, char *why) {
    if (why) snprintf(why, CINFER_CUDA_MSG_LEN, "%s", e->msg);
    return rc;
}

static cinfer_status device_open(int index, size_t weights_bytes, cinfer_cuda_mdev **out,
                                 char *why) {
    cinfer_cuda_err e = {0};
    *out = calloc(1, sizeof **out);
    if (!*out) return give(&e, cinfer_cuda_err_set(&e, CINFER_OUT_OF_MEMORY, "out of memory"),
                           why);
    cinfer_status rc = cinfer_cuda_device_create(index, weights_bytes, &(*out)->dev, &e);
    if (rc == CINFER_OK) rc = cinfer_cuda_epoch_create(index, &(*out)->epoch, &e);
    if (rc != CINFER_OK) {
        cinfer_cuda_device_destroy((*out)->dev);
        free(*out);
        *out = NULL;
        return give(&e, rc, why);
    }
    return CINFER_OK;
}

static void device_close(cinfer_cuda_mdev *d) {
    if (!d) return;
    if (d->epoch) (void)cudaEventDestroy(d->epoch);
    cinfer_cuda_device_destroy(d->dev);
    free(d);
}

static cinfer_status weights_upload(cinfer_cuda_mdev *d, const void *host, size_t bytes,
                                    void **dptr, char *why) {
    cinfer_cuda_err e = {0};
    cinfer_status rc = cinfer_cuda_device_weights_alloc(d->dev, bytes, dptr, &e);
    if (rc != CINFER_OK) return give(&e, rc, why);
    /* Load time, once per constant: a synchronous cudaMemcpy. It is the one use of the legacy
     * stream; contexts' streams are non-blocking, so it never serializes their work. */
    CUDA_CHECK(&e, rc, cudaSetDevice(d->dev->index), fail);
    CUDA_CHECK(&e, rc, cudaMemcpy(*dptr, host, bytes, cudaMemcpyHostToDevice), fail);
    /* From pageable memory cudaMemcpy may return once the bytes are staged, before the DMA
     * lands; the contexts' non-blocking streams do not wait for the legacy stream. */
    CUDA_CHECK(&e, rc, cudaStreamSynchronize(cudaStreamLegacy), fail);
    return CINFER_OK;
fail:
    return give(&e, rc, why);
}

static cinfer_status ctx_create(cinfer_cuda_mdev *d, size_t arena_bytes, size_t staging_bytes,
                                cinfer_cuda_mctx **out, void **arena, void **staging,
                                char *why) {
    cinfer_cuda_err e = {0};
    cinfer_cuda_ctx_config cfg = {.arena_bytes = arena_bytes ? arena_bytes : CINFER_CUDA_ALIGN,
                                  .staging_bytes = staging_bytes,
                                  .blas_workspace_bytes = BLAS_WORKSPACE,
                                  .dnn_workspace_bytes = DNN_WORKSPACE};
    *out = calloc(1, sizeof **out);
    if (!*out) return give(&e, cinfer_cuda_err_set(&e, CINFER_OUT_OF_MEMORY, "out of memory"),
                           why);
    cinfer_status rc = cinfer_cuda_ctx_create(d->dev->index, &cfg, &(*out)->ctx, &e);
    if (rc != CINFER_OK) {
        free(*out);
        *out = NULL;
        return give(&e, rc, why);
    }
    (*out)->ctx->owner = d->dev;
    (*out)->tl.epoch = d->epoch;
    *arena = (*out)->ctx->arena;
    *staging = (*out)->ctx->staging;
    return CINFER_OK;
}

static void ctx_destroy(cinfer_cuda_mctx *c) {
    if (!c) return;
    cinfer_cuda_ctx_destroy(c->ctx); /* waits for the streams, so the events are done */
    cinfer_cuda_timeline_free(&c->tl);
    free(c);
}

static cinfer_status ctx_bind(cinfer_cuda_mctx *c, char *why) {
    cinfer_cuda_err e = {0};
    cinfer_cuda_timeline_reset(&c->tl); /* a run starts */
    cinfer_status rc = cinfer_cuda_ctx_bind(c->ctx, &e);
    return rc == CINFER_OK ? rc : give(&e, rc, why);
}

static cinfer_status h2d(cinfer_cuda_mctx *m, const cinfer_cuda_copy *cp, int n, char *why) {
    cinfer_cuda_err e = {0};
    cinfer_status rc = CINFER_OK;
    cinfer_cuda_ctx *c = m->ctx;
    /* The destinations are arena bytes that kernels launched earlier may still read. */
    CUDA_CHECK(&e, rc, cudaEventRecord(c->compute_done, c->compute), fail);
    CUDA_CHECK(&e, rc, cudaStreamWaitEvent(c->h2d, c->compute_done, 0), fail);
    MARK(m, CINFER_TL_H2D_BEGIN, c->h2d, &e, rc, fail);
    for (int i = 0; i < n; i++)
        if (cp[i].bytes)
            CUDA_CHECK(&e, rc, cudaMemcpyAsync(cp[i].dst, cp[i].src, cp[i].bytes,
                                               cudaMemcpyHostToDevice, c->h2d), fail);
    MARK(m, CINFER_TL_H2D_END, c->h2d, &e, rc, fail);
    CUDA_CHECK(&e, rc, cudaEventRecord(c->h2d_done, c->h2d), fail);
    CUDA_CHECK(&e, rc, cudaStreamWaitEvent(c->compute, c->h2d_done, 0), fail);
    return CINFER_OK;
fail:
    return give(&e, rc, why);
}

static cinfer_status d2h(cinfer_cuda_mctx *m, const cinfer_cuda_copy *cp, int n, char *why) {
    cinfer_cuda_err e = {0};
    cinfer_status rc = CINFER_OK;
    cinfer_cuda_ctx *c = m->ctx;
    if (n == 0) { /* only the wait for earlier host-to-device copies */
        CUDA_CHECK(&e, rc, cudaStreamSynchronize(c->h2d), fail);
        return CINFER_OK;
    }
    /* The end of compute is marked before compute_done is recorded: the copy stream starts
     * when compute_done fires, and an event recorded after it may carry a later timestamp
     * than the copies' start (seen on an H100: 2 us). */
    COMPUTE_END(m, c->compute, &e, rc, fail);
    CUDA_CHECK(&e, rc, cudaEventRecord(c->compute_done, c->compute), fail);
    CUDA_CHECK(&e, rc, cudaStreamWaitEvent(c->d2h, c->compute_done, 0), fail);
    MARK(m, CINFER_TL_D2H_BEGIN, c->d2h, &e, rc, fail);
    for (int i = 0; i < n; i++)
        if (cp[i].bytes)
            CUDA_CHECK(&e, rc, cudaMemcpyAsync(cp[i].dst, cp[i].src, cp[i].bytes,
                                               cudaMemcpyDeviceToHost, c->d2h), fail);
    MARK(m, CINFER_TL_D2H_END, c->d2h, &e, rc, fail);
    /* The host reads these next (a CPU step or the caller), and may overwrite the pinned
     * sources of earlier host-to-device copies: both copy streams must be idle. */
    CUDA_CHECK(&e, rc, cudaStreamSynchronize(c->d2h), fail);
    CUDA_CHECK(&e, rc, cudaStreamSynchronize(c->h2d), fail);
    return CINFER_OK;
fail:
    return give(&e, rc, why);
}

static cinfer_status sync_all(cinfer_cuda_mctx *m, char *why) {
    cinfer_cuda_err e = {0};
    cinfer_status rc = CINFER_OK;
    COMPUTE_END(m, m->ctx->compute, &e, rc, fail);
    CUDA_CHECK(&e, rc, cudaStreamSynchronize(m->ctx->compute), fail);
    CUDA_CHECK(&e, rc, cudaStreamSynchronize(m->ctx->h2d), fail);
    CUDA_CHECK(&e, rc, cudaStreamSynchronize(m->ctx->d2h), fail);
    return CINFER_OK;
fail:
    return give(&e, rc, why);
}

/* ---- Op dispatch ---- */

static const cuda_op *find_op(const cinfer__node *n) {
    static const cuda_op *const tables[] = {cinfer_cuda_ops_linalg, cinfer_cuda_ops_conv,
                                            cinfer_cuda_ops_elementwise, cinfer_cuda_ops_misc,
                                            cinfer_cuda_ops_fused, cinfer_cuda_ops_resize,
                                            cinfer_cuda_ops_chain, NULL};
    for (int t = 0; tables[t]; t++)
        for (const cuda_op *op = tables[t]; op->op_type; op++)
            if (!strcmp(op->op_type, n->op_type) && !strcmp(op->domain, n->domain)) return op;
    return NULL;
}

/* The 16-bit type a node runs its activations in: the op has half_io, the precision is FP16 or
 * BF16 and the op accepts its 16-bit view (the storage planned does not matter: half_io.c
 * converts the float-stored slots). Otherwise 0, and the step runs on float activations as in
 * fp32, its library calls still in the asked precision (a node refused in 16 bits, e.g. a
 * Transpose of a float constant, so stays on the GPU). */
static cinfer_dtype half_mode(const cuda_op *op, const cinfer_cuda_node *n) {
    cinfer_dtype half = cinfer_cuda_half_type(op, n);
    if (half && (cinfer_cuda_half_mismatch(n, half) || !cinfer_cuda_half_has_act(n, half)))
        return 0;
    if (!half || !op->supports) return half;
    cinfer_cuda_node view;
    const cinfer_tensor *in[CUDA_OP_MAX_IO], *out[CUDA_OP_MAX_IO];
    cinfer_tensor tin[CUDA_OP_MAX_IO], tout[CUDA_OP_MAX_IO];
    cinfer_cuda_half_view(n, half, &view, in, out, tin, tout);
    char why[CINFER_CUDA_MSG_LEN];
    return op->supports(&view, why) == CINFER_OK ? half : 0;
}

static cinfer_status supports(const cinfer_cuda_node *n, char *why) {
    const cuda_op *op = find_op(n->node);
    if (!op) return cuda_no(why, "no CUDA kernel yet for %s", n->node->op_type);
    if (n->n_in > CUDA_OP_MAX_IO || n->n_out > CUDA_OP_MAX_IO)
        return cuda_no(why, "%s: more inputs or outputs than the GPU ops take", n->node->op_type);
    if (half_mode(op, n)) return CINFER_OK;
    return op->supports ? op->supports(n, why) : CINFER_OK;
}

/* ABI 5: whether the node's step takes and produces its float activations in 16 bits. */
static int half_io(const cinfer_cuda_node *n) {
    const cuda_op *op = find_op(n->node);
    return op && n->n_in <= CUDA_OP_MAX_IO && n->n_out <= CUDA_OP_MAX_IO && half_mode(op, n);
}

/* The NHWC ops are the convolutions. A float constant W gets a KRSC copy at prepare and a
 * 16-bit activation W is converted like X, but a 16-bit constant W (a model's own fp16 weights)
 * has no reordered copy yet. FusedConv's Z must be a 4-D activation of Y's shape to be
 * converted like Y: fusion also accepts a Z of Y's element count in another shape ([C, H, W]
 * for N = 1), whose NCHW bytes an NHWC epilogue would add to the wrong elements. */
static int conv_layout(const cinfer_cuda_node *n) {
    if (cuda_has_in(n, 1) && n->in[1]->data && n->in[1]->dtype != CINFER_DTYPE_FLOAT)
        return CINFER_CUDA_LAYOUT_FIXED;
    if (cuda_has_in(n, 3)) {
        const cinfer_tensor *z = n->in[3], *y = n->out[0];
        if (z->data || z->rank != 4 || memcmp(z->dims, y->dims, 4 * sizeof *z->dims))
            return CINFER_CUDA_LAYOUT_FIXED;
    }
    return CINFER_CUDA_LAYOUT_NHWC;
}

/* An input a broadcasting op can take channels last beside a 4-D output: a 4-D one (the core
 * stores it as it stores the output, or it is [N, C, 1, 1] and the same bytes either way), or
 * one of lower rank whose bytes are the same in both orders once padded to 4-D (C or H*W is
 * 1: [C, 1, 1], [H, W], [W]). A [C, H, W] one would need its own transpose. */
static bool nhwc_broadcast_ok(const cinfer_tensor *x) {
    if (x->rank == 4) return true;
    if (x->rank > 4) return false;
    int64_t d[4] = {1, 1, 1, 1};
    for (int i = 0; i < x->rank; i++) d[4 - x->rank + i] = x->dims[i];
    return d[1] == 1 || d[2] * d[3] == 1;
}

/* ABI 6 (docs/cuda-backend.md, "Channels last"): what the node's step can do with NHWC storage.
 * Only in half mode and on 4-D values (the output's shape for pointwise and broadcasting ops,
 * the first input's for the others); a pointwise op only when nothing broadcasts but single
 * elements, a broadcasting one only with inputs nhwc_broadcast_ok accepts. */
static int layout_io(const cinfer_cuda_node *n) {
    const cuda_op *op = find_op(n->node);
    if (!op || !op->layout || !half_io(n) || !cuda_has_in(n, 0) || n->n_out < 1 || !n->out[0])
        return CINFER_CUDA_LAYOUT_FIXED;
    /* A pointwise or broadcasting op's shape is its output's (Mul(0.5, x) has a scalar first
     * input); the others' is their first input's. */
    bool by_output = op->layout == CUDA_OP_POINTWISE || op->layout == CUDA_OP_BROADCAST ||
                     op->layout == CUDA_OP_AXIS;
    const cinfer_tensor *shape = by_output ? n->out[0] : n->in[0];
    if (shape->rank != 4) return CINFER_CUDA_LAYOUT_FIXED;
    if (op->layout == CUDA_OP_NHWC) return conv_layout(n);
    if (op->layout == CUDA_OP_EITHER) return CINFER_CUDA_LAYOUT_EITHER;
    if (op->layout == CUDA_OP_AXIS) {
        for (int k = 0; k < n->n_in; k++)
            if (!n->in[k] || n->in[k]->rank != 4) return CINFER_CUDA_LAYOUT_FIXED;
        return CINFER_CUDA_LAYOUT_EITHER;
    }
    const cinfer_tensor *y = n->out[0];
    for (int k = 0; k < n->n_in; k++) {
        const cinfer_tensor *x = n->in[k];
        if (!x || cuda_numel(x) == 1) continue;
        bool same = x->rank == y->rank &&
                    !memcmp(x->dims, y->dims, (size_t)y->rank * sizeof *y->dims);
        /* Opset-6 broadcasts align at an axis attribute, not at the trailing dims. */
        if (!same && (op->layout != CUDA_OP_BROADCAST || n->node->opset < 7 ||
                      !nhwc_broadcast_ok(x)))
            return CINFER_CUDA_LAYOUT_FIXED;
    }
    return CINFER_CUDA_LAYOUT_EITHER;
}

/* How each slot of n is stored (s->lay_*, s->store_*) and the layout the step runs in: NHWC
 * when it has a layout and some 4-D slot is stored NHWC. A slot stored NHWC that the step cannot
 * read so is a planning bug, reported rather than run on the wrong bytes. */
static cinfer_status set_layouts(const cinfer_cuda_node *n, cuda_step *s, cinfer_cuda_err *err) {
    bool any = false;
    for (int k = 0; k < n->n_in; k++) {
        s->lay_in[k] = n->layout_in && cuda_has_layout(n->in[k]) ? n->layout_in[k] : 0;
        s->store_in[k] = n->in[k] ? n->in[k]->dtype : 0;
        any |= s->lay_in[k] == CINFER_CUDA_NHWC;
    }
    for (int k = 0; k < n->n_out; k++) {
        s->lay_out[k] = n->layout_out && cuda_has_layout(n->out[k]) ? n->layout_out[k] : 0;
        s->store_out[k] = n->out[k] ? n->out[k]->dtype : 0;
        any |= s->lay_out[k] == CINFER_CUDA_NHWC;
    }
    if (any && layout_io(n) == CINFER_CUDA_LAYOUT_FIXED)
        return cinfer_cuda_err_set(err, CINFER_INTERNAL, "%s '%s': a value stored channels last "
                                   "(NHWC) reaches a step that reads NCHW only",
                                   n->node->op_type, n->node->name);
    s->nhwc = any;
    return CINFER_OK;
}

/* What a step computes in (docs/cuda-backend.md, "Precision"): a half_io op in half mode in
 * the asked 16-bit type; the GEMMs in every precision (16-bit operands converted per run when
 * their activations are float); the cuDNN convolutions in TF32 when asked, otherwise fp32 on
 * float activations; everything else in fp32. */
static cinfer_precision runs_in(const cinfer_cuda_node *n) {
    static const char *const gemms[] = {"MatMul", "Gemm", "FusedMatMul", NULL};
    static const char *const convs[] = {"Conv", "ConvTranspose", "FusedConv", NULL};
    const char *op = n->node->op_type;
    if (half_io(n)) return n->precision;
    for (int i = 0; gemms[i]; i++)
        if (!strcmp(op, gemms[i])) return n->precision;
    for (int i = 0; convs[i]; i++)
        if (!strcmp(op, convs[i]) && n->precision == CINFER_PRECISION_TF32)
            return CINFER_PRECISION_TF32;
    return CINFER_PRECISION_FP32;
}

static void release(void *state) {
    cuda_step *s = state;
    if (!s) return;
    if (s->priv && s->op->release) s->op->release(s->priv);
    cinfer_cuda_half_release(s);
    free(s);
}

/* Undoes prepare_step: the op's state and the edge buffers. */
static void unprepare(cuda_step *s) {
    if (s->priv && s->op->release) s->op->release(s->priv);
    s->priv = NULL;
    cinfer_cuda_half_release(s);
    memset(s->conv_in, 0, sizeof s->conv_in);
    memset(s->conv_out, 0, sizeof s->conv_out);
}

/* For s (op and layouts set): in half mode the buffers for the edges stored as float or in
 * another layout than s->nhwc, then the op prepares its view of n (16-bit in half mode). */
static cinfer_status prepare_step(cinfer_cuda_mctx *m, const cinfer_cuda_node *n, cuda_step *s,
                                  cinfer_cuda_err *e) {
    cinfer_cuda_node view;
    const cinfer_tensor *vin[CUDA_OP_MAX_IO], *vout[CUDA_OP_MAX_IO];
    cinfer_tensor tin[CUDA_OP_MAX_IO], tout[CUDA_OP_MAX_IO];
    cinfer_dtype half = half_mode(s->op, n);
    if (half) {
        cinfer_status rc = cinfer_cuda_half_buffers(n, half, s, e);
        if (rc != CINFER_OK) return rc;
        cinfer_cuda_half_view(n, half, &view, vin, vout, tin, tout);
        n = &view;
    }
    s->node = n->node;
    s->n_in = n->n_in;
    s->n_out = n->n_out;
    for (int i = 0; i < n->n_in; i++)
        if ((s->has_in[i] = n->in[i] != NULL)) {
            s->in[i] = *n->in[i];
            s->in[i].data = NULL;
        }
    for (int i = 0; i < n->n_out; i++)
        if ((s->has_out[i] = n->out[i] != NULL)) {
            s->out[i] = *n->out[i];
            s->out[i].data = NULL;
        }
    return s->op->prepare ? s->op->prepare(m->ctx, n, s, e) : CINFER_OK;
}

static cinfer_status prepare(cinfer_cuda_mctx *m, const cinfer_cuda_node *n, void **state,
                             char *why) {
    cinfer_cuda_err e = {0};
    *state = NULL;
    cinfer_status rc = supports(n, why);
    if (rc != CINFER_OK) return rc;
    /* Prepare allocates and may launch (conversions) on the context's device, which need not
     * be current on this thread (a pooled context, a scheduler instance's thread). */
    if ((rc = cinfer_cuda_ctx_bind(m->ctx, &e)) != CINFER_OK) return give(&e, rc, why);
    cuda_step *s = calloc(1, sizeof *s);
    if (!s) return give(&e, cinfer_cuda_err_set(&e, CINFER_OUT_OF_MEMORY, "out of memory"), why);
    s->op = find_op(n->node);
    rc = set_layouts(n, s, &e);
    if (rc == CINFER_OK) rc = prepare_step(m, n, s, &e);
    /* A convolution that cuDNN refuses channels last (no NHWC algorithm for its shape, as for
     * some grouped bf16 ones, or an NHWC descriptor it rejects) runs NCHW and converts its
     * channels-last slots, rather than the core demoting it to fp32. */
    if ((rc == CINFER_UNSUPPORTED || rc == CINFER_INVALID_ARGUMENT) && s->nhwc &&
        s->op->layout == CUDA_OP_NHWC) {
        unprepare(s);
        s->nhwc = false;
        e = (cinfer_cuda_err){0};
        rc = prepare_step(m, n, s, &e);
    }
    if (rc != CINFER_OK) {
        release(s);
        return give(&e, rc, why);
    }
    *state = s;
    return CINFER_OK;
}

static cinfer_status run(cinfer_cuda_mctx *m, void *state, const void *const *in,
                         void *const *out, char *why) {
    cinfer_cuda_err e = {0};
    cuda_step *s = state;
    cinfer_status rc = CINFER_OK;
    COMPUTE(m, m->ctx->compute, &e, rc, fail);
    rc = s->half ? cinfer_cuda_half_run(m->ctx, s, in, out, &e)
                 : s->op->run(m->ctx, s, in, out, &e);
fail:
    return rc == CINFER_OK ? rc : give(&e, rc, why);
}

/* ---- CUDA graphs and the caller's device memory (src/cuda/graphs.c) ---- */

static cinfer_status graph_begin(cinfer_cuda_mctx *m, char *why) {
    cinfer_cuda_err e = {0};
    cinfer_status rc = cinfer_cuda_graph_begin(m->ctx, &e);
    return rc == CINFER_OK ? rc : give(&e, rc, why);
}

static cinfer_status graph_end(cinfer_cuda_mctx *m, void **graph, char *why) {
    cinfer_cuda_err e = {0};
    cinfer_status rc = cinfer_cuda_graph_end(m->ctx, graph, &e);
    return rc == CINFER_OK ? rc : give(&e, rc, why);
}

static cinfer_status graph_launch(cinfer_cuda_mctx *m, void *graph, char *why) {
    cinfer_cuda_err e = {0};
    cinfer_status rc = CINFER_OK;
    COMPUTE(m, m->ctx->compute, &e, rc, fail);
    rc = cinfer_cuda_graph_launch(m->ctx, graph, &e);
fail:
    return rc == CINFER_OK ? rc : give(&e, rc, why);
}

static cinfer_status mem_alloc(int index, size_t bytes, void **ptr, char *why) {
    cinfer_cuda_err e = {0};
    cinfer_status rc = cinfer_cuda_mem_alloc(index, bytes, ptr, &e);
    return rc == CINFER_OK ? rc : give(&e, rc, why);
}

static cinfer_status mem_copy(int index, void *dst, const void *src, size_t bytes,
                              int to_device, char *why) {
    cinfer_cuda_err e = {0};
    cinfer_status rc = cinfer_cuda_mem_copy(index, dst, src, bytes, to_device, &e);
    return rc == CINFER_OK ? rc : give(&e, rc, why);
}

static cinfer_status d2d(cinfer_cuda_mctx *m, const cinfer_cuda_copy *cp, int n, char *why) {
    cinfer_cuda_err e = {0};
    cinfer_status rc = CINFER_OK;
    COMPUTE(m, m->ctx->compute, &e, rc, fail);
    rc = cinfer_cuda_d2d(m->ctx, cp, n, &e);
fail:
    return rc == CINFER_OK ? rc : give(&e, rc, why);
}

/* ---- ABI 5: growing arenas, pinned staging, timelines ---- */

static cinfer_status ctx_arena(cinfer_cuda_mctx *m, size_t arena_bytes, size_t staging_bytes,
                               void **arena, void **staging, char *why) {
    cinfer_cuda_err e = {0};
    cinfer_status rc = cinfer_cuda_ctx_resize(m->ctx, arena_bytes ? arena_bytes
                                                                  : CINFER_CUDA_ALIGN,
                                              staging_bytes, &e);
    *arena = m->ctx->arena;
    *staging = m->ctx->staging;
    return rc == CINFER_OK ? rc : give(&e, rc, why);
}

static cinfer_status host_alloc(int index, size_t bytes, void **ptr, char *why) {
    cinfer_cuda_err e = {0};
    cinfer_status rc = CINFER_OK;
    *ptr = NULL;
    CUDA_CHECK(&e, rc, cudaSetDevice(index), fail);
    CUDA_CHECK(&e, rc, cinfer__cuda_host_alloc(ptr, bytes ? bytes : 64), fail);
    return CINFER_OK;
fail:
    return give(&e, rc, why);
}

static void host_free(void *ptr) {
    if (ptr) (void)cudaFreeHost(ptr);
}

static cinfer_status ctx_timing(cinfer_cuda_mctx *m, int on, char *why) {
    cinfer_cuda_err e = {0};
    cinfer_status rc = cinfer_cuda_timeline_enable(&m->tl, on != 0, &e);
    return rc == CINFER_OK ? rc : give(&e, rc, why);
}

static cinfer_status ctx_times(cinfer_cuda_mctx *m, cinfer_cuda_times *t, char *why) {
    cinfer_cuda_err e = {0};
    cinfer_status rc = cinfer_cuda_timeline_read(&m->tl, t, &e);
    return rc == CINFER_OK ? rc : give(&e, rc, why);
}

static const cinfer_cuda_api api = {
    .abi = CINFER_CUDA_MODULE_ABI,
    .struct_size = sizeof(cinfer_cuda_api),
    .probe = cinfer_cuda_probe,
    .device_open = device_open,
    .device_close = device_close,
    .weights_upload = weights_upload,
    .ctx_create = ctx_create,
    .ctx_destroy = ctx_destroy,
    .ctx_bind = ctx_bind,
    .h2d = h2d,
    .d2h = d2h,
    .sync = sync_all,
    .supports = supports,
    .prepare = prepare,
    .release = release,
    .run = run,
    .test_fail_next_alloc = cinfer_cuda_test_fail_next_alloc,
    .graph_begin = graph_begin,
    .graph_end = graph_end,
    .graph_launch = graph_launch,
    .graph_release = cinfer_cuda_graph_release,
    .test_fail_next_capture = cinfer_cuda_test_fail_next_capture,
    .mem_alloc = mem_alloc,
    .mem_free = cinfer_cuda_mem_free,
    .mem_copy = mem_copy,
    .d2d = d2d,
    .runs_in = runs_in,
    .ctx_arena = ctx_arena,
    .host_alloc = host_alloc,
    .host_free = host_free,
    .ctx_timing = ctx_timing,
    .ctx_times = ctx_times,
    .half_io = half_io,
    .layout_io = layout_io,
};

__attribute__((visibility("default"))) const cinfer_cuda_api *cinfer_cuda_module_api(void) {
    return &api;
}
