/* A host-memory stand-in for libcinfer-cuda.so, so that the core's CUDA placement, copy planning
 * and run loop are tested on machines without a GPU: "device" memory is malloc'd apart from the
 * host arena and filled with NaN bytes, so a missing copy shows up as a wrong output. It runs
 * Add, Mul (same shape, or a row broadcast), Relu and 2-D float MatMul (and, since ABI 6, Conv
 * and GlobalAveragePool); every other op is refused, so it lands on the CPU. MOCK_FAIL_CONTEXT=1
 * fails every context creation.
 *
 * ABI 3: every "device" block (weights, context arenas, mem_alloc) is registered, and each copy
 * and run checks that its pointers are on the side it claims (a host pointer handed to run, or
 * an h2d whose source is device memory, fails with a message), so the core's handling of
 * CINFER_TENSOR_DEVICE tensors is checked for real. Graph capture records the steps' run calls
 * and graph_launch replays them. MOCK_FAIL_CAPTURE=1 fails every capture at graph_end (as an
 * invalidated capture would); MOCK_REPORT=1 prints the capture, graph launch and eager run
 * counts on stderr when a context is destroyed.
 *
 * ABI 4: a 2-D Gemm without attributes or C runs like MatMul; MOCK_REPORT=1 also prints each
 * step's precision as prepare receives it ("mock: prepare NAME (OP) precision fp16"), so tests
 * see what the core asks of the module. The mock itself always computes in double.
 *
 * ABI 5: arenas replaced by ctx_arena, pinned host memory (plain malloc here), timelines from
 * the host clock at the same points the real module records its events. The exported
 * cinfer_cuda_mock_counts lets tests see how many contexts, arena replacements and pinned
 * blocks the core asked for. At fp16/bf16 precision every op the mock runs is half_io, and it
 * reads and writes each activation in the dtype the core stored it in (16-bit values rounded
 * to nearest even), so the core's choice of 16-bit storage shows in the outputs' precision;
 * MOCK_REPORT=1 adds each step's slot types ("io f32,f32->f16"). MOCK_FAIL_HALF_PREPARE=OP
 * makes prepare refuse op type OP at fp16/bf16 (as a library without a 16-bit algorithm for a
 * shape would), so the core's fp32 fallback on the GPU is tested.
 *
 * ABI 6: the mock also runs Conv (4-D, group 1, strides, pads, dilations, a constant float bias,
 * the fusion's cinfer.fused_relu; no auto_pad but NOTSET) and GlobalAveragePool (4-D), in
 * double like the rest (runs_in gives Conv any precision, as it does the GEMMs). layout_io says,
 * at fp16/bf16 only (else FIXED): Conv NHWC; Relu, Add and Mul whose slots all have one shape
 * or whose b is per-channel ([N or 1, C, 1, 1], the same bytes in both layouts), and
 * GlobalAveragePool EITHER; every other op FIXED.
 * Each op reads and writes every 4-D slot in the layout its layout_in/layout_out entry names
 * (channels last: element [n, c, h, w] at ((n*H + h)*W + w)*C + c), so a layout the core
 * records wrongly shows as a wrong output. prepare fails with CINFER_INTERNAL on what the core
 * must never hand a module: an EITHER op whose 4-D slots with C, H*W > 1 are stored differently
 * ("mock: mixed layouts in OP"), an NHWC slot given to a FIXED op ("mock: NHWC slot given to
 * FIXED op OP"), and an NHWC slot that is not a 4-D 16-bit value with C, H*W > 1. MOCK_REPORT=1
 * ends the prepare line with the slots' layouts ("layout nchw,nchw,-->nhwc": the inputs, then
 * the output; '-' for an absent or non-4-D slot). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cuda/module.h"

enum { TL_H2D0, TL_H2D1, TL_C0, TL_C1, TL_D2H0, TL_D2H1, TL_N };

struct cinfer_cuda_mdev {
    char *block;
    size_t size, used;
};

#define MOCK_MAX_IO 4 /* the ops the mock runs take at most 3 inputs and 1 output */

/* One recorded run call of a captured segment. */
typedef struct mock_call {
    void *state;
    const void *in[MOCK_MAX_IO];
    void *out[MOCK_MAX_IO];
} mock_call;

typedef struct mock_graph {
    mock_call *calls;
    int n, cap;
} mock_graph;

struct cinfer_cuda_mctx {
    void *arena, *staging;
    mock_graph *capturing; /* non-NULL between graph_begin and graph_end */
    long captures, launches, eager_runs;
    bool timing;
    double tl[TL_N]; /* host-clock microseconds of the current run's phases, -1 unseen */
    bool compute_open; /* compute enqueued since the last compute-end mark */
};

static long n_contexts, n_arena_replaced, n_pinned_live, n_pinned_total;

/* Counts since the module was loaded: contexts created, arenas replaced, pinned blocks live
 * and ever allocated. */
__attribute__((visibility("default"))) void cinfer_cuda_mock_counts(long *contexts,
                                                                    long *arenas_replaced,
                                                                    long *pinned_live,
                                                                    long *pinned_total) {
    *contexts = __atomic_load_n(&n_contexts, __ATOMIC_SEQ_CST);
    *arenas_replaced = __atomic_load_n(&n_arena_replaced, __ATOMIC_SEQ_CST);
    *pinned_live = __atomic_load_n(&n_pinned_live, __ATOMIC_SEQ_CST);
    *pinned_total = __atomic_load_n(&n_pinned_total, __ATOMIC_SEQ_CST);
}

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Like the real module: a begin only the first time in a run, an end every time. */
static void mark(cinfer_cuda_mctx *c, int what) {
    if (!c->timing || c->capturing || (what % 2 == 0 && c->tl[what] >= 0)) return;
    c->tl[what] = now_us();
}

/* Compute enqueued (outside a capture) / its end, only if some was enqueued since the last. */
static void compute(cinfer_cuda_mctx *c) {
    if (!c->timing || c->capturing) return;
    mark(c, TL_C0);
    c->compute_open = true;
}

static void compute_end(cinfer_cuda_mctx *c) {
    if (!c->compute_open) return;
    c->compute_open = false;
    mark(c, TL_C1);
}

/* ---- The "device" address ranges, so copies and runs can check their pointers ---- */

#define MAX_BLOCKS 4096
#define GUARD 64

static struct block {
    const char *base;
    size_t size;
} blocks[MAX_BLOCKS];
static int n_blocks;
static pthread_mutex_t blocks_mu = PTHREAD_MUTEX_INITIALIZER;

static void block_add(const void *p, size_t size) {
    pthread_mutex_lock(&blocks_mu);
    if (n_blocks < MAX_BLOCKS) blocks[n_blocks++] = (struct block){p, size};
    pthread_mutex_unlock(&blocks_mu);
}

static void block_remove(const void *p) {
    pthread_mutex_lock(&blocks_mu);
    for (int i = 0; i < n_blocks; i++)
        if (blocks[i].base == p) {
            blocks[i] = blocks[--n_blocks];
            break;
        }
    pthread_mutex_unlock(&blocks_mu);
}

/* Whether [p, p + bytes) lies inside one registered device block. */
static bool on_device(const void *p, size_t bytes) {
    bool yes = false;
    pthread_mutex_lock(&blocks_mu);
    for (int i = 0; i < n_blocks && !yes; i++)
        yes = (const char *)p >= blocks[i].base &&
              (const char *)p + bytes <= blocks[i].base + blocks[i].size;
    pthread_mutex_unlock(&blocks_mu);
    return yes;
}

static bool env_on(const char *name) {
    const char *s = getenv(name);
    return s && atoi(s) > 0;
}

typedef struct mock_step {
    const cinfer__node *node;
    cinfer_tensor a, b, y;
    unsigned char la, lb, ly; /* storage layouts of a, b and y (CINFER_CUDA_NCHW / NHWC) */
    /* Conv: bias (host copy, NULL if none), strides, dilations, pads (top, left, bottom,
     * right), fused Relu */
    double *bias;
    int64_t stride[2], dilation[2], pad[4];
    bool relu;
    int axis; /* Concat */
} mock_step;

static int fail_next;

static int64_t numel(const cinfer_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->rank; d++) n *= t->dims[d];
    return n;
}

static int probe(int index, char *name, size_t name_len, char *why, size_t why_len) {
    (void)index, (void)why, (void)why_len;
    snprintf(name, name_len, "mock device");
    return 1;
}

static cinfer_status device_open(int index, size_t bytes, cinfer_cuda_mdev **out, char *why) {
    (void)index, (void)why;
    *out = calloc(1, sizeof **out);
    (*out)->block = malloc(bytes + 1);
    (*out)->size = bytes;
    block_add((*out)->block, bytes);
    return CINFER_OK;
}

static void device_close(cinfer_cuda_mdev *d) {
    if (!d) return;
    block_remove(d->block);
    free(d->block);
    free(d);
}

static cinfer_status weights_upload(cinfer_cuda_mdev *d, const void *host, size_t bytes,
                                    void **dptr, char *why) {
    size_t at = (d->used + 255) / 256 * 256;
    if (at + bytes > d->size) {
        snprintf(why, CINFER_CUDA_MSG_LEN, "mock weights block full");
        return CINFER_OUT_OF_MEMORY;
    }
    *dptr = d->block + at;
    memcpy(*dptr, host, bytes);
    d->used = at + bytes;
    return CINFER_OK;
}

static cinfer_status ctx_create(cinfer_cuda_mdev *d, size_t arena_bytes, size_t staging_bytes,
                                cinfer_cuda_mctx **out, void **arena, void **staging,
                                char *why) {
    (void)d;
    const char *env = getenv("MOCK_FAIL_CONTEXT");
    if (fail_next || (env && atoi(env))) {
        fail_next = 0;
        snprintf(why, CINFER_CUDA_MSG_LEN, "mock CUDA device 0: out of memory (injected)");
        return CINFER_OUT_OF_MEMORY;
    }
    *out = calloc(1, sizeof **out);
    __atomic_add_fetch(&n_contexts, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < TL_N; i++) (*out)->tl[i] = -1;
    (*out)->arena = malloc(arena_bytes + 1);
    memset((*out)->arena, 0xFF, arena_bytes); /* NaN until written */
    block_add((*out)->arena, arena_bytes);
    (*out)->staging = staging_bytes ? malloc(staging_bytes) : NULL;
    if (staging_bytes) memset((*out)->staging, 0xFF, staging_bytes);
    *arena = (*out)->arena;
    *staging = (*out)->staging;
    return CINFER_OK;
}

static void ctx_destroy(cinfer_cuda_mctx *c) {
    if (!c) return;
    if (env_on("MOCK_REPORT"))
        fprintf(stderr, "mock: context: %ld captures, %ld graph launches, %ld eager runs\n",
                c->captures, c->launches, c->eager_runs);
    block_remove(c->arena);
    free(c->arena);
    free(c->staging);
    free(c);
}

static cinfer_status ctx_bind(cinfer_cuda_mctx *c, char *why) {
    (void)why;
    for (int i = 0; i < TL_N; i++) c->tl[i] = -1;
    c->compute_open = false;
    return CINFER_OK;
}

static cinfer_status ctx_arena(cinfer_cuda_mctx *c, size_t arena_bytes, size_t staging_bytes,
                               void **arena, void **staging, char *why) {
    (void)why;
    __atomic_add_fetch(&n_arena_replaced, 1, __ATOMIC_SEQ_CST);
    block_remove(c->arena);
    free(c->arena);
    free(c->staging);
    c->arena = malloc(arena_bytes + 1);
    memset(c->arena, 0xFF, arena_bytes); /* NaN until written: stale pointers show */
    block_add(c->arena, arena_bytes);
    c->staging = staging_bytes ? malloc(staging_bytes) : NULL;
    if (staging_bytes) memset(c->staging, 0xFF, staging_bytes);
    *arena = c->arena;
    *staging = c->staging;
    return CINFER_OK;
}

static cinfer_status host_alloc(int index, size_t bytes, void **ptr, char *why) {
    (void)index, (void)why;
    *ptr = malloc(bytes ? bytes : 1);
    __atomic_add_fetch(&n_pinned_live, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&n_pinned_total, 1, __ATOMIC_SEQ_CST);
    return CINFER_OK;
}

static void host_free(void *ptr) {
    if (!ptr) return;
    __atomic_sub_fetch(&n_pinned_live, 1, __ATOMIC_SEQ_CST);
    free(ptr);
}

static cinfer_status ctx_timing(cinfer_cuda_mctx *c, int on, char *why) {
    (void)why;
    c->timing = on != 0;
    return CINFER_OK;
}

static cinfer_status ctx_times(cinfer_cuda_mctx *c, cinfer_cuda_times *t, char *why) {
    (void)why;
    double v[TL_N];
    for (int i = 0; i < TL_N; i++) v[i] = c->tl[i] >= 0 && c->tl[i ^ 1] >= 0 ? c->tl[i] : -1;
    *t = (cinfer_cuda_times){v[0], v[1], v[2], v[3], v[4], v[5]};
    return CINFER_OK;
}

/* Copies after checking that source and destination are on the sides the call names. */
static cinfer_status checked_copy(const cinfer_cuda_copy *cp, int n, bool src_dev,
                                  bool dst_dev, const char *what, char *why) {
    for (int i = 0; i < n; i++) {
        if (!cp[i].bytes) continue;
        if (on_device(cp[i].src, cp[i].bytes) != src_dev ||
            on_device(cp[i].dst, cp[i].bytes) != dst_dev) {
            snprintf(why, CINFER_CUDA_MSG_LEN, "mock %s: %zu bytes from %s memory to %s memory",
                     what, cp[i].bytes, on_device(cp[i].src, cp[i].bytes) ? "device" : "host",
                     on_device(cp[i].dst, cp[i].bytes) ? "device" : "host");
            return CINFER_INTERNAL;
        }
        memcpy(cp[i].dst, cp[i].src, cp[i].bytes);
    }
    return CINFER_OK;
}

static cinfer_status no_capture(cinfer_cuda_mctx *c, const char *what, char *why) {
    if (!c->capturing) return CINFER_OK;
    snprintf(why, CINFER_CUDA_MSG_LEN, "mock: %s during a stream capture", what);
    return CINFER_INTERNAL;
}

static cinfer_status h2d(cinfer_cuda_mctx *c, const cinfer_cuda_copy *cp, int n, char *why) {
    if (no_capture(c, "h2d", why)) return CINFER_INTERNAL;
    mark(c, TL_H2D0);
    cinfer_status st = checked_copy(cp, n, false, true, "h2d", why);
    mark(c, TL_H2D1);
    return st;
}

static cinfer_status d2h(cinfer_cuda_mctx *c, const cinfer_cuda_copy *cp, int n, char *why) {
    if (no_capture(c, "d2h", why)) return CINFER_INTERNAL;
    if (!n) return CINFER_OK;
    compute_end(c);
    mark(c, TL_D2H0);
    cinfer_status st = checked_copy(cp, n, true, false, "d2h", why);
    mark(c, TL_D2H1);
    return st;
}

static cinfer_status d2d(cinfer_cuda_mctx *c, const cinfer_cuda_copy *cp, int n, char *why) {
    if (no_capture(c, "d2d", why)) return CINFER_INTERNAL;
    compute(c);
    return checked_copy(cp, n, true, true, "d2d", why);
}

static cinfer_status sync_ctx(cinfer_cuda_mctx *c, char *why) {
    compute_end(c);
    return no_capture(c, "sync", why);
}

/* Element i of a float, fp16 or bf16 tensor's bytes. */
static double get(cinfer_dtype dt, const void *p, int64_t i) {
    if (dt == CINFER_DTYPE_FLOAT16) return (double)((const _Float16 *)p)[i];
    if (dt == CINFER_DTYPE_BFLOAT16) {
        uint32_t bits = (uint32_t)((const uint16_t *)p)[i] << 16;
        float f;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    return ((const float *)p)[i];
}

static void set(cinfer_dtype dt, void *p, int64_t i, double v) {
    float f = (float)v;
    /* Like the real module's 16-bit stores: finite values beyond the range saturate. */
    double max = dt == CINFER_DTYPE_FLOAT16 ? 65504.0 : 3.38953139e38;
    if ((dt == CINFER_DTYPE_FLOAT16 || dt == CINFER_DTYPE_BFLOAT16) && isfinite(v) &&
        fabs(v) > max)
        f = (float)(v < 0 ? -max : max);
    if (dt == CINFER_DTYPE_FLOAT16) {
        ((_Float16 *)p)[i] = (_Float16)f; /* round to nearest even */
    } else if (dt == CINFER_DTYPE_BFLOAT16) {
        uint32_t bits;
        memcpy(&bits, &f, sizeof bits);
        bits += 0x7FFFu + ((bits >> 16) & 1u); /* round to nearest even (finite values) */
        ((uint16_t *)p)[i] = (uint16_t)(bits >> 16);
    } else {
        ((float *)p)[i] = f;
    }
}

static bool half_precision(cinfer_precision p) {
    return p == CINFER_PRECISION_FP16 || p == CINFER_PRECISION_BF16;
}

/* Every op the mock runs is half_io at fp16/bf16 (it reads any storage type). */
static int half_io(const cinfer_cuda_node *n) { return half_precision(n->precision); }

static const char *dt_name(const cinfer_tensor *t) {
    if (!t) return "-";
    return t->dtype == CINFER_DTYPE_FLOAT16    ? "f16"
           : t->dtype == CINFER_DTYPE_BFLOAT16 ? "bf16"
           : t->dtype == CINFER_DTYPE_FLOAT    ? "f32"
                                               : "other";
}

static const cinfer__attr *find_attr(const cinfer__node *node, const char *name) {
    for (int i = 0; i < node->n_attrs; i++)
        if (!strcmp(node->attrs[i].name, name)) return &node->attrs[i];
    return NULL;
}

/* Concat of two 4-D operands: its axis (0..3), or -1 when the mock does not run it. */
static int concat_axis(const cinfer_cuda_node *n) {
    if (n->n_in != 2 || !n->in[0] || !n->in[1] || n->out[0]->rank != 4 || n->in[0]->rank != 4 ||
        n->in[1]->rank != 4)
        return -1;
    const cinfer__attr *a = find_attr(n->node, "axis");
    if (!a || a->type != CINFER_ATTR_INT) return -1;
    int64_t axis = a->i < 0 ? a->i + 4 : a->i;
    return axis >= 0 && axis < 4 ? (int)axis : -1;
}

/* Reads an INTS attribute of `count` entries into dst (dflt everywhere when absent); false when
 * it has another type or length. */
static bool attr_ints(const cinfer__node *node, const char *name, int count, int64_t *dst,
                      int64_t dflt) {
    const cinfer__attr *a = find_attr(node, name);
    for (int i = 0; i < count; i++) dst[i] = dflt;
    if (!a) return true;
    if (a->type != CINFER_ATTR_INTS || (int)a->count != count) return false;
    for (int i = 0; i < count; i++) dst[i] = a->ints[i];
    return true;
}

/* Whether the mock runs this Conv (4-D, group 1, NOTSET padding, constant float bias, known
 * attributes only); fills s's Conv fields when s is non-NULL. */
static bool conv_params(const cinfer_cuda_node *n, mock_step *s) {
    const cinfer__node *node = n->node;
    if (node->domain[0] && strcmp(node->domain, "ai.onnx")) return false;
    if (n->n_in < 2 || n->n_in > 3 || n->n_out != 1 || !n->in[0] || !n->in[1] || !n->out[0])
        return false;
    const cinfer_tensor *x = n->in[0], *w = n->in[1], *y = n->out[0];
    const cinfer_tensor *b = n->n_in > 2 ? n->in[2] : NULL;
    if (x->rank != 4 || w->rank != 4 || y->rank != 4 || w->dims[1] != x->dims[1] ||
        y->dims[0] != x->dims[0] || y->dims[1] != w->dims[0])
        return false;
    if (b && (b->dtype != CINFER_DTYPE_FLOAT || !b->data || numel(b) != w->dims[0]))
        return false;
    for (int i = 0; i < node->n_attrs; i++) {
        const cinfer__attr *a = &node->attrs[i];
        if (!strcmp(a->name, "group")) {
            if (a->type != CINFER_ATTR_INT || a->i != 1) return false;
        } else if (!strcmp(a->name, "auto_pad")) {
            if (a->type != CINFER_ATTR_STRING || strcmp(a->s, "NOTSET")) return false;
        } else if (!strcmp(a->name, "cinfer.fused_relu")) {
            if (a->type != CINFER_ATTR_INT || (a->i != 0 && a->i != 1)) return false;
        } else if (strcmp(a->name, "strides") && strcmp(a->name, "dilations") &&
                   strcmp(a->name, "pads") && strcmp(a->name, "kernel_shape")) {
            return false;
        }
    }
    int64_t stride[2], dil[2], pad[4], kernel[2];
    if (!attr_ints(node, "strides", 2, stride, 1) || !attr_ints(node, "dilations", 2, dil, 1) ||
        !attr_ints(node, "pads", 4, pad, 0) ||
        !attr_ints(node, "kernel_shape", 2, kernel, 0))
        return false;
    for (int d = 0; d < 2; d++) {
        int64_t k = w->dims[2 + d];
        if ((kernel[d] && kernel[d] != k) || stride[d] < 1 || dil[d] < 1 || pad[d] < 0 ||
            pad[d + 2] < 0)
            return false;
        int64_t span = dil[d] * (k - 1) + 1, padded = x->dims[2 + d] + pad[d] + pad[d + 2];
        if (padded < span || y->dims[2 + d] != (padded - span) / stride[d] + 1) return false;
    }
    if (s) {
        const cinfer__attr *r = find_attr(node, "cinfer.fused_relu");
        s->relu = r && r->i == 1;
        for (int d = 0; d < 2; d++) {
            s->stride[d] = stride[d];
            s->dilation[d] = dil[d];
        }
        memcpy(s->pad, pad, sizeof pad);
        if (b) {
            s->bias = malloc((size_t)numel(b) * sizeof *s->bias);
            if (!s->bias) return false; /* prepare refuses the step */
            for (int64_t i = 0; i < numel(b); i++) s->bias[i] = ((const float *)b->data)[i];
        }
    }
    return true;
}

/* b is [N or 1, C, 1, 1] against a 4-D y: a per-channel operand (a squeeze-and-excitation
 * gate), the same bytes in either layout. */
static bool channel_broadcast(const cinfer_tensor *b, const cinfer_tensor *y) {
    return b->rank == 4 && y->rank == 4 && (b->dims[0] == 1 || b->dims[0] == y->dims[0]) &&
           b->dims[1] == y->dims[1] && b->dims[2] == 1 && b->dims[3] == 1;
}

/* The logical index in a per-channel b of y's logical (NCHW-order) element i. */
static int64_t channel_index(const cinfer_tensor *b, const cinfer_tensor *y, int64_t i) {
    int64_t c = y->dims[1], hw = y->dims[2] * y->dims[3];
    int64_t ch = i / hw % c, nn = b->dims[0] == 1 ? 0 : i / (hw * c);
    return nn * c + ch;
}

static cinfer_status supports(const cinfer_cuda_node *n, char *why) {
    const char *op = n->node->op_type;
    bool half = half_precision(n->precision);
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] && n->in[i]->dtype != CINFER_DTYPE_FLOAT &&
            !(half && (n->in[i]->dtype == CINFER_DTYPE_FLOAT16 ||
                       n->in[i]->dtype == CINFER_DTYPE_BFLOAT16)))
            goto no;
    if (n->n_out != 1) goto no;
    if (!strcmp(op, "Relu")) return CINFER_OK;
    if ((!strcmp(op, "Add") || !strcmp(op, "Mul")) && n->n_in == 2) {
        const cinfer_tensor *y = n->out[0];
        int64_t a = numel(n->in[0]), b = numel(n->in[1]);
        if (a == numel(y) && y->rank && (b == a || b == y->dims[y->rank - 1])) return CINFER_OK;
        if (a == numel(y) && channel_broadcast(n->in[1], y)) return CINFER_OK;
    }
    if (!strcmp(op, "MatMul") && n->in[0]->rank == 2 && n->in[1]->rank == 2) return CINFER_OK;
    if (!strcmp(op, "Concat") && concat_axis(n) >= 0) return CINFER_OK;
    if (!strcmp(op, "Conv") && conv_params(n, NULL)) return CINFER_OK;
    if (!strcmp(op, "GlobalAveragePool") && n->n_in == 1 && n->in[0]->rank == 4 &&
        n->out[0]->rank == 4 && n->out[0]->dims[0] == n->in[0]->dims[0] &&
        n->out[0]->dims[1] == n->in[0]->dims[1] && n->out[0]->dims[2] == 1 &&
        n->out[0]->dims[3] == 1)
        return CINFER_OK;
    if (!strcmp(op, "Gemm") && n->n_in == 2 && n->node->n_attrs == 0 && n->in[0]->rank == 2 &&
        n->in[1]->rank == 2)
        return CINFER_OK;
no:
    snprintf(why, CINFER_CUDA_MSG_LEN, "no CUDA kernel yet for %s (mock)", op);
    return CINFER_UNSUPPORTED;
}

/* The module links nothing of libcinfer, so not cinfer_precision_name either. */
static const char *precision_name(cinfer_precision p) {
    static const char *const names[] = {"fp32", "tf32", "fp16", "bf16"};
    return (unsigned)p < 4 ? names[p] : "unknown";
}

/* Like the real module: the GEMMs and Conv take any precision, the rest compute in fp32. */
static cinfer_precision runs_in(const cinfer_cuda_node *n) {
    const char *op = n->node->op_type;
    if (half_io(n)) return n->precision;
    return !strcmp(op, "MatMul") || !strcmp(op, "Gemm") || !strcmp(op, "Conv")
               ? n->precision
               : CINFER_PRECISION_FP32;
}

static bool same_shape(const cinfer_tensor *a, const cinfer_tensor *b) {
    if (a->rank != b->rank) return false;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return false;
    return true;
}

/* ABI 6: at fp16/bf16, Conv runs channels last; Relu, Add/Mul of same shapes or with a
 * per-channel b, and GlobalAveragePool run on either layout; everything else (and every op
 * at fp32/tf32) is NCHW only. */
static int layout_io(const cinfer_cuda_node *n) {
    const char *op = n->node->op_type;
    if (!half_precision(n->precision)) return CINFER_CUDA_LAYOUT_FIXED;
    if (!strcmp(op, "Conv")) return CINFER_CUDA_LAYOUT_NHWC;
    if (!strcmp(op, "Relu") || !strcmp(op, "GlobalAveragePool") ||
        (!strcmp(op, "Concat") && concat_axis(n) >= 0))
        return CINFER_CUDA_LAYOUT_EITHER;
    if ((!strcmp(op, "Add") || !strcmp(op, "Mul")) && n->n_in == 2 && n->in[0] && n->in[1] &&
        same_shape(n->in[0], n->out[0]) &&
        (same_shape(n->in[1], n->out[0]) || channel_broadcast(n->in[1], n->out[0])))
        return CINFER_CUDA_LAYOUT_EITHER;
    return CINFER_CUDA_LAYOUT_FIXED;
}

/* A 4-D slot whose layout matters (C > 1 and H*W > 1: otherwise both layouts are the same
 * bytes). */
static bool spatial(const cinfer_tensor *t) {
    return t && t->rank == 4 && t->dims[1] > 1 && t->dims[2] * t->dims[3] > 1;
}

static unsigned char slot_layout(const unsigned char *layouts, int i) {
    return layouts ? layouts[i] : CINFER_CUDA_NCHW;
}

static const char *layout_name(const cinfer_tensor *t, unsigned char l) {
    if (!t || t->rank != 4) return "-";
    return l == CINFER_CUDA_NHWC ? "nhwc" : l == CINFER_CUDA_NCHW ? "nchw" : "bad";
}

/* What the core must never hand the module: an NHWC slot that is not a 4-D 16-bit value with
 * C, H*W > 1, an NHWC slot given to a FIXED op, mixed layouts in an EITHER op. */
static cinfer_status check_layouts(const cinfer_cuda_node *n, char *why) {
    const char *op = n->node->op_type, *name = n->node->name;
    int mode = layout_io(n), seen = -1;
    for (int i = 0; i < n->n_in + n->n_out; i++) {
        bool is_in = i < n->n_in;
        const cinfer_tensor *t = is_in ? n->in[i] : n->out[i - n->n_in];
        unsigned char l = is_in ? slot_layout(n->layout_in, i)
                                : slot_layout(n->layout_out, i - n->n_in);
        const char *slot = is_in ? "input" : "output";
        int k = is_in ? i : i - n->n_in;
        if (l != CINFER_CUDA_NCHW && l != CINFER_CUDA_NHWC) {
            snprintf(why, CINFER_CUDA_MSG_LEN, "mock: layout %d for %s %d of %s (%s)", l, slot,
                     k, op, name);
            return CINFER_INTERNAL;
        }
        if (l == CINFER_CUDA_NCHW && !spatial(t)) continue;
        if (l == CINFER_CUDA_NHWC) {
            if (!t || !spatial(t) || (t->dtype != CINFER_DTYPE_FLOAT16 &&
                                      t->dtype != CINFER_DTYPE_BFLOAT16)) {
                snprintf(why, CINFER_CUDA_MSG_LEN,
                         "mock: NHWC %s %d of %s (%s) is not a 4-D 16-bit value with C, H*W > 1",
                         slot, k, op, name);
                return CINFER_INTERNAL;
            }
            if (mode == CINFER_CUDA_LAYOUT_FIXED) {
                snprintf(why, CINFER_CUDA_MSG_LEN, "mock: NHWC slot given to FIXED op %s (%s)",
                         op, name);
                return CINFER_INTERNAL;
            }
        }
        if (mode == CINFER_CUDA_LAYOUT_EITHER) {
            if (seen >= 0 && seen != l) {
                snprintf(why, CINFER_CUDA_MSG_LEN, "mock: mixed layouts in %s (%s)", op, name);
                return CINFER_INTERNAL;
            }
            seen = l;
        }
    }
    return CINFER_OK;
}

static cinfer_status prepare(cinfer_cuda_mctx *c, const cinfer_cuda_node *n, void **state,
                             char *why) {
    (void)c;
    if (supports(n, why) != CINFER_OK) return CINFER_UNSUPPORTED;
    const char *no_half = getenv("MOCK_FAIL_HALF_PREPARE");
    if (no_half && half_precision(n->precision) && !strcmp(no_half, n->node->op_type)) {
        snprintf(why, CINFER_CUDA_MSG_LEN, "mock: no %s algorithm for %s (injected)",
                 precision_name(n->precision), n->node->op_type);
        return CINFER_UNSUPPORTED;
    }
    cinfer_status st = check_layouts(n, why);
    if (st != CINFER_OK) return st;
    if (env_on("MOCK_REPORT")) {
        char lay[64] = "";
        size_t used = 0;
        for (int i = 0; i < n->n_in && used < sizeof lay; i++)
            used += (size_t)snprintf(lay + used, sizeof lay - used, "%s%s", i ? "," : "",
                                     layout_name(n->in[i], slot_layout(n->layout_in, i)));
        fprintf(stderr, "mock: prepare %s (%s) precision %s io %s,%s->%s layout %s->%s\n",
                n->node->name, n->node->op_type, precision_name(n->precision),
                dt_name(n->in[0]), n->n_in > 1 ? dt_name(n->in[1]) : "-", dt_name(n->out[0]),
                lay, layout_name(n->out[0], slot_layout(n->layout_out, 0)));
    }
    mock_step *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(why, CINFER_CUDA_MSG_LEN, "mock: out of memory preparing %s", n->node->name);
        return CINFER_OUT_OF_MEMORY;
    }
    s->node = n->node;
    s->a = *n->in[0];
    s->la = slot_layout(n->layout_in, 0);
    if (n->n_in > 1) {
        s->b = *n->in[1];
        s->lb = slot_layout(n->layout_in, 1);
    }
    s->y = *n->out[0];
    s->ly = slot_layout(n->layout_out, 0);
    if (!strcmp(n->node->op_type, "Concat")) s->axis = concat_axis(n);
    if (!strcmp(n->node->op_type, "Conv") && !conv_params(n, s)) {
        free(s);
        snprintf(why, CINFER_CUDA_MSG_LEN, "mock: out of memory preparing %s", n->node->name);
        return CINFER_OUT_OF_MEMORY;
    }
    *state = s;
    return CINFER_OK;
}

static void release(void *state) {
    mock_step *s = state;
    if (s) free(s->bias);
    free(s);
}

/* Where element i (row-major in t's dims) of t lies in its bytes stored in layout l. */
static int64_t at(const cinfer_tensor *t, unsigned char l, int64_t i) {
    if (l != CINFER_CUDA_NHWC || t->rank != 4) return i;
    int64_t c = t->dims[1], h = t->dims[2], w = t->dims[3];
    int64_t x = i % w, yy = i / w % h, ch = i / (w * h) % c, nn = i / (w * h * c);
    return ((nn * h + yy) * w + x) * c + ch;
}

/* Element [nn, ch, yy, x] of a 4-D tensor stored in layout l. */
static int64_t at4(const cinfer_tensor *t, unsigned char l, int64_t nn, int64_t ch, int64_t yy,
                   int64_t x) {
    int64_t c = t->dims[1], h = t->dims[2], w = t->dims[3];
    return l == CINFER_CUDA_NHWC ? ((nn * h + yy) * w + x) * c + ch
                                 : ((nn * c + ch) * h + yy) * w + x;
}

/* y = Concat(a, b) along s->axis, every operand read and written in its stored layout. */
static void concat(const mock_step *s, const void *a, const void *b, void *y) {
    const cinfer_tensor *ty = &s->y;
    int64_t split = s->a.dims[s->axis];
    for (int64_t i = 0; i < numel(ty); i++) {
        int64_t c[4], rest = i;
        for (int d = 3; d >= 0; d--) {
            c[d] = rest % ty->dims[d];
            rest /= ty->dims[d];
        }
        bool first = c[s->axis] < split;
        if (!first) c[s->axis] -= split;
        const cinfer_tensor *t = first ? &s->a : &s->b;
        double v = get(t->dtype, first ? a : b, at4(t, first ? s->la : s->lb, c[0], c[1], c[2],
                                                    c[3]));
        set(ty->dtype, y, at4(ty, s->ly, i / (ty->dims[1] * ty->dims[2] * ty->dims[3]),
                              i / (ty->dims[2] * ty->dims[3]) % ty->dims[1],
                              i / ty->dims[3] % ty->dims[2], i % ty->dims[3]),
            v);
    }
}

static void conv(const mock_step *s, const void *x, const void *w, void *y) {
    const cinfer_tensor *tx = &s->a, *tw = &s->b, *ty = &s->y;
    int64_t n = ty->dims[0], m = ty->dims[1], oh = ty->dims[2], ow = ty->dims[3];
    int64_t c = tx->dims[1], ih = tx->dims[2], iw = tx->dims[3], kh = tw->dims[2],
            kw = tw->dims[3];
    for (int64_t b = 0; b < n; b++)
        for (int64_t o = 0; o < m; o++)
            for (int64_t r = 0; r < oh; r++)
                for (int64_t q = 0; q < ow; q++) {
                    double acc = s->bias ? s->bias[o] : 0;
                    for (int64_t ch = 0; ch < c; ch++)
                        for (int64_t i = 0; i < kh; i++) {
                            int64_t yy = r * s->stride[0] - s->pad[0] + i * s->dilation[0];
                            if (yy < 0 || yy >= ih) continue;
                            for (int64_t j = 0; j < kw; j++) {
                                int64_t xx = q * s->stride[1] - s->pad[1] + j * s->dilation[1];
                                if (xx < 0 || xx >= iw) continue;
                                acc += get(tx->dtype, x, at4(tx, s->la, b, ch, yy, xx)) *
                                       get(tw->dtype, w, at4(tw, s->lb, o, ch, i, j));
                            }
                        }
                    if (s->relu && acc < 0) acc = 0;
                    set(ty->dtype, y, at4(ty, s->ly, b, o, r, q), acc);
                }
}

static void global_average_pool(const mock_step *s, const void *x, void *y) {
    const cinfer_tensor *tx = &s->a, *ty = &s->y;
    int64_t n = tx->dims[0], c = tx->dims[1], h = tx->dims[2], w = tx->dims[3];
    for (int64_t b = 0; b < n; b++)
        for (int64_t ch = 0; ch < c; ch++) {
            double acc = 0;
            for (int64_t yy = 0; yy < h; yy++)
                for (int64_t xx = 0; xx < w; xx++)
                    acc += get(tx->dtype, x, at4(tx, s->la, b, ch, yy, xx));
            set(ty->dtype, y, at4(ty, s->ly, b, ch, 0, 0), acc / (double)(h * w));
        }
}

static void execute(const mock_step *s, const void *const *in, void *const *out) {
    const char *op = s->node->op_type;
    const void *a = in[0], *b = in[1];
    cinfer_dtype ta = s->a.dtype, tb = s->b.dtype, ty = s->y.dtype;
    void *y = out[0];
    int64_t n = numel(&s->y);
    if (!strcmp(op, "Relu")) {
        for (int64_t i = 0; i < n; i++) {
            double u = get(ta, a, at(&s->a, s->la, i));
            set(ty, y, at(&s->y, s->ly, i), u > 0 ? u : 0);
        }
    } else if (!strcmp(op, "Conv")) {
        conv(s, a, b, y);
    } else if (!strcmp(op, "Concat")) {
        concat(s, a, b, y);
    } else if (!strcmp(op, "GlobalAveragePool")) {
        global_average_pool(s, a, y);
    } else if (!strcmp(op, "MatMul") || !strcmp(op, "Gemm")) {
        int64_t m = s->a.dims[0], k = s->a.dims[1], nn = s->b.dims[1];
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < nn; j++) {
                double acc = 0;
                for (int64_t q = 0; q < k; q++)
                    acc += get(ta, a, i * k + q) * get(tb, b, q * nn + j);
                set(ty, y, i * nn + j, acc);
            }
    } else {
        int64_t nb = numel(&s->b);
        bool per_channel = channel_broadcast(&s->b, &s->y) && nb != n;
        for (int64_t i = 0; i < n; i++) {
            double u = get(ta, a, at(&s->a, s->la, i));
            int64_t jb = per_channel ? channel_index(&s->b, &s->y, i) : i % nb;
            double v = get(tb, b, at(&s->b, s->lb, jb));
            set(ty, y, at(&s->y, s->ly, i), op[0] == 'A' ? u + v : u * v);
        }
    }
}

static cinfer_status record(mock_graph *g, void *state, const void *const *in, void *const *out,
                            int n_in, char *why) {
    if (g->n == g->cap) {
        int cap = g->cap ? 2 * g->cap : 16;
        mock_call *calls = realloc(g->calls, (size_t)cap * sizeof *calls);
        if (!calls) {
            snprintf(why, CINFER_CUDA_MSG_LEN, "mock: out of memory recording a capture");
            return CINFER_OUT_OF_MEMORY;
        }
        g->calls = calls;
        g->cap = cap;
    }
    mock_call *k = &g->calls[g->n++];
    memset(k, 0, sizeof *k);
    k->state = state;
    for (int i = 0; i < n_in && i < MOCK_MAX_IO; i++) k->in[i] = in[i];
    k->out[0] = out[0];
    return CINFER_OK;
}

static cinfer_status run(cinfer_cuda_mctx *c, void *state, const void *const *in,
                         void *const *out, char *why) {
    const mock_step *s = state;
    int n_in = s->node->n_in;
    for (int i = 0; i < n_in; i++)
        if (in[i] && !on_device(in[i], 1)) {
            snprintf(why, CINFER_CUDA_MSG_LEN, "mock run of %s: input %d is host memory",
                     s->node->op_type, i);
            return CINFER_INTERNAL;
        }
    if (!on_device(out[0], 1)) {
        snprintf(why, CINFER_CUDA_MSG_LEN, "mock run of %s: output is host memory",
                 s->node->op_type);
        return CINFER_INTERNAL;
    }
    if (c->capturing) return record(c->capturing, state, in, out, n_in, why);
    compute(c);
    c->eager_runs++;
    execute(s, in, out);
    return CINFER_OK;
}

/* ---- Graphs: a capture is the list of run calls; a launch replays it ---- */

static int fail_capture;

static cinfer_status graph_begin(cinfer_cuda_mctx *c, char *why) {
    if (c->capturing) {
        snprintf(why, CINFER_CUDA_MSG_LEN, "mock: capture already in progress");
        return CINFER_INTERNAL;
    }
    c->capturing = calloc(1, sizeof *c->capturing);
    return CINFER_OK;
}

static void graph_release(void *graph) {
    mock_graph *g = graph;
    if (!g) return;
    free(g->calls);
    free(g);
}

static cinfer_status graph_end(cinfer_cuda_mctx *c, void **graph, char *why) {
    mock_graph *g = c->capturing;
    c->capturing = NULL;
    *graph = NULL;
    if (fail_capture || env_on("MOCK_FAIL_CAPTURE")) {
        fail_capture = 0;
        graph_release(g);
        snprintf(why, CINFER_CUDA_MSG_LEN, "mock cudaStreamEndCapture: operation not permitted "
                 "when stream is capturing (cudaErrorStreamCaptureInvalidated, injected)");
        return CINFER_DEVICE;
    }
    c->captures++;
    *graph = g;
    return CINFER_OK;
}

static cinfer_status graph_launch(cinfer_cuda_mctx *c, void *graph, char *why) {
    const mock_graph *g = graph;
    if (no_capture(c, "graph_launch", why)) return CINFER_INTERNAL;
    compute(c);
    c->launches++;
    for (int i = 0; i < g->n; i++) execute(g->calls[i].state, g->calls[i].in, g->calls[i].out);
    return CINFER_OK;
}

static void fail_next_capture(void) { fail_capture = 1; }

/* ---- The caller's device memory: malloc'd, NaN-filled, with a guard checked at free ---- */

static cinfer_status mem_alloc(int index, size_t bytes, void **ptr, char *why) {
    (void)index;
    unsigned char *p = malloc(bytes + GUARD);
    if (!p) {
        snprintf(why, CINFER_CUDA_MSG_LEN, "mock: out of memory");
        return CINFER_OUT_OF_MEMORY;
    }
    memset(p, 0xFF, bytes + GUARD);
    block_add(p, bytes);
    *ptr = p;
    return CINFER_OK;
}

static void mem_free(int index, void *ptr) {
    (void)index;
    if (!ptr) return;
    size_t bytes = 0;
    pthread_mutex_lock(&blocks_mu);
    for (int i = 0; i < n_blocks; i++)
        if (blocks[i].base == ptr) bytes = blocks[i].size;
    pthread_mutex_unlock(&blocks_mu);
    for (size_t i = 0; i < GUARD; i++)
        if (((unsigned char *)ptr)[bytes + i] != 0xFF) {
            fprintf(stderr, "mock: MOCK GUARD BROKEN after a %zu-byte device block\n", bytes);
            break;
        }
    block_remove(ptr);
    free(ptr);
}

static cinfer_status mem_copy(int index, void *dst, const void *src, size_t bytes, int to_device,
                              char *why) {
    (void)index;
    cinfer_cuda_copy cp = {dst, src, bytes};
    return checked_copy(&cp, 1, !to_device, to_device, "mem_copy", why);
}

static void fail_next_alloc(void) { fail_next = 1; }

static const cinfer_cuda_api api = {
    .abi = CINFER_CUDA_MODULE_ABI, .struct_size = sizeof(cinfer_cuda_api), .probe = probe,
    .device_open = device_open, .device_close = device_close,
    .weights_upload = weights_upload, .ctx_create = ctx_create, .ctx_destroy = ctx_destroy,
    .ctx_bind = ctx_bind, .h2d = h2d, .d2h = d2h, .sync = sync_ctx, .supports = supports,
    .prepare = prepare, .release = release, .run = run, .test_fail_next_alloc = fail_next_alloc,
    .graph_begin = graph_begin, .graph_end = graph_end, .graph_launch = graph_launch,
    .graph_release = graph_release, .test_fail_next_capture = fail_next_capture,
    .mem_alloc = mem_alloc, .mem_free = mem_free, .mem_copy = mem_copy, .d2d = d2d,
    .runs_in = runs_in, .ctx_arena = ctx_arena, .host_alloc = host_alloc,
    .host_free = host_free, .ctx_timing = ctx_timing, .ctx_times = ctx_times,
    .half_io = half_io, .layout_io = layout_io,
};

__attribute__((visibility("default"))) const cinfer_cuda_api *cinfer_cuda_module_api(void) {
    return &api;
}
