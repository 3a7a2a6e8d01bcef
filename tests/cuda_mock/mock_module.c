/* A host-memory stand-in for libcinfer-cuda.so, so that the core's CUDA placement, copy planning
 * and run loop are tested on machines without a GPU: "device" memory is malloc'd apart from the
 * host arena and filled with NaN bytes, so a missing copy shows up as a wrong output. It runs
 * Add, Mul (same shape, or a row broadcast), Relu and 2-D float MatMul; every other op is
 * refused, so it lands on the CPU. MOCK_FAIL_CONTEXT=1 fails every context creation.
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
 * shape would), so the core's fp32 fallback on the GPU is tested. */
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

#define MOCK_MAX_IO 4 /* the ops the mock runs take at most 2 inputs and 1 output */

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
    }
    if (!strcmp(op, "MatMul") && n->in[0]->rank == 2 && n->in[1]->rank == 2) return CINFER_OK;
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

/* Like the real module: the GEMMs take any precision, the rest compute in fp32. */
static cinfer_precision runs_in(const cinfer_cuda_node *n) {
    const char *op = n->node->op_type;
    if (half_io(n)) return n->precision;
    return !strcmp(op, "MatMul") || !strcmp(op, "Gemm") ? n->precision : CINFER_PRECISION_FP32;
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
    if (env_on("MOCK_REPORT"))
        fprintf(stderr, "mock: prepare %s (%s) precision %s io %s,%s->%s\n", n->node->name,
                n->node->op_type, precision_name(n->precision), dt_name(n->in[0]),
                n->n_in > 1 ? dt_name(n->in[1]) : "-", dt_name(n->out[0]));
    mock_step *s = calloc(1, sizeof *s);
    s->node = n->node;
    s->a = *n->in[0];
    if (n->n_in > 1) s->b = *n->in[1];
    s->y = *n->out[0];
    *state = s;
    return CINFER_OK;
}

static void release(void *state) { free(state); }

static void execute(const mock_step *s, const void *const *in, void *const *out) {
    const char *op = s->node->op_type;
    const void *a = in[0], *b = in[1];
    cinfer_dtype ta = s->a.dtype, tb = s->b.dtype, ty = s->y.dtype;
    void *y = out[0];
    int64_t n = numel(&s->y);
    if (!strcmp(op, "Relu")) {
        for (int64_t i = 0; i < n; i++) set(ty, y, i, get(ta, a, i) > 0 ? get(ta, a, i) : 0);
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
        for (int64_t i = 0; i < n; i++) {
            double u = get(ta, a, i), v = get(tb, b, i % nb);
            set(ty, y, i, op[0] == 'A' ? u + v : u * v);
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
    .half_io = half_io,
};

__attribute__((visibility("default"))) const cinfer_cuda_api *cinfer_cuda_module_api(void) {
    return &api;
}
