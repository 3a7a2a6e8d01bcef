/* A host-memory stand-in for libcinfer-cuda.so, so that the core's CUDA placement, copy planning
 * and run loop are tested on machines without a GPU: "device" memory is malloc'd apart from the
 * host arena and filled with NaN bytes, so a missing copy shows up as a wrong output. It runs
 * Add, Mul (same shape, or a row broadcast), Relu and 2-D float MatMul; every other op is
 * refused, so it lands on the CPU. MOCK_FAIL_CONTEXT=1 fails every context creation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/module.h"

struct cinfer_cuda_mdev {
    char *block;
    size_t size, used;
};

struct cinfer_cuda_mctx {
    void *arena, *staging;
};

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
    return CINFER_OK;
}

static void device_close(cinfer_cuda_mdev *d) {
    if (!d) return;
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
    (*out)->arena = malloc(arena_bytes + 1);
    memset((*out)->arena, 0xFF, arena_bytes); /* NaN until written */
    (*out)->staging = staging_bytes ? malloc(staging_bytes) : NULL;
    if (staging_bytes) memset((*out)->staging, 0xFF, staging_bytes);
    *arena = (*out)->arena;
    *staging = (*out)->staging;
    return CINFER_OK;
}

static void ctx_destroy(cinfer_cuda_mctx *c) {
    if (!c) return;
    free(c->arena);
    free(c->staging);
    free(c);
}

static cinfer_status ctx_bind(cinfer_cuda_mctx *c, char *why) {
    (void)c, (void)why;
    return CINFER_OK;
}

static cinfer_status copy(cinfer_cuda_mctx *c, const cinfer_cuda_copy *cp, int n, char *why) {
    (void)c, (void)why;
    for (int i = 0; i < n; i++)
        if (cp[i].bytes) memcpy(cp[i].dst, cp[i].src, cp[i].bytes);
    return CINFER_OK;
}

static cinfer_status sync_ctx(cinfer_cuda_mctx *c, char *why) {
    (void)c, (void)why;
    return CINFER_OK;
}

static cinfer_status supports(const cinfer_cuda_node *n, char *why) {
    const char *op = n->node->op_type;
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] && n->in[i]->dtype != CINFER_DTYPE_FLOAT) goto no;
    if (n->n_out != 1) goto no;
    if (!strcmp(op, "Relu")) return CINFER_OK;
    if ((!strcmp(op, "Add") || !strcmp(op, "Mul")) && n->n_in == 2) {
        const cinfer_tensor *y = n->out[0];
        int64_t a = numel(n->in[0]), b = numel(n->in[1]);
        if (a == numel(y) && y->rank && (b == a || b == y->dims[y->rank - 1])) return CINFER_OK;
    }
    if (!strcmp(op, "MatMul") && n->in[0]->rank == 2 && n->in[1]->rank == 2) return CINFER_OK;
no:
    snprintf(why, CINFER_CUDA_MSG_LEN, "no CUDA kernel yet for %s (mock)", op);
    return CINFER_UNSUPPORTED;
}

static cinfer_status prepare(cinfer_cuda_mctx *c, const cinfer_cuda_node *n, void **state,
                             char *why) {
    (void)c;
    if (supports(n, why) != CINFER_OK) return CINFER_UNSUPPORTED;
    mock_step *s = calloc(1, sizeof *s);
    s->node = n->node;
    s->a = *n->in[0];
    if (n->n_in > 1) s->b = *n->in[1];
    s->y = *n->out[0];
    *state = s;
    return CINFER_OK;
}

static void release(void *state) { free(state); }

static cinfer_status run(cinfer_cuda_mctx *c, void *state, const void *const *in,
                         void *const *out, char *why) {
    (void)c, (void)why;
    const mock_step *s = state;
    const char *op = s->node->op_type;
    const float *a = in[0], *b = in[1];
    float *y = out[0];
    int64_t n = numel(&s->y);
    if (!strcmp(op, "Relu")) {
        for (int64_t i = 0; i < n; i++) y[i] = a[i] > 0 ? a[i] : 0;
    } else if (!strcmp(op, "MatMul")) {
        int64_t m = s->a.dims[0], k = s->a.dims[1], nn = s->b.dims[1];
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < nn; j++) {
                double acc = 0;
                for (int64_t q = 0; q < k; q++) acc += (double)a[i * k + q] * b[q * nn + j];
                y[i * nn + j] = (float)acc;
            }
    } else {
        int64_t nb = numel(&s->b);
        for (int64_t i = 0; i < n; i++) y[i] = op[0] == 'A' ? a[i] + b[i % nb] : a[i] * b[i % nb];
    }
    return CINFER_OK;
}

static void fail_next_alloc(void) { fail_next = 1; }

static const cinfer_cuda_api api = {
    .abi = CINFER_CUDA_MODULE_ABI, .struct_size = sizeof(cinfer_cuda_api), .probe = probe,
    .device_open = device_open, .device_close = device_close,
    .weights_upload = weights_upload, .ctx_create = ctx_create, .ctx_destroy = ctx_destroy,
    .ctx_bind = ctx_bind, .h2d = copy, .d2h = copy, .sync = sync_ctx, .supports = supports,
    .prepare = prepare, .release = release, .run = run, .test_fail_next_alloc = fail_next_alloc,
};

__attribute__((visibility("default"))) const cinfer_cuda_api *cinfer_cuda_module_api(void) {
    return &api;
}
