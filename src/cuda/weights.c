/* The per-device-object cache of fp16/bf16 weight copies: a small array searched linearly
 * (prepare time only, a few hundred weights at most), one mutex, a reference count per copy. */
#include "cuda/weights.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "kernels.h"

/* Key: the weight's copy in the weights block, its element count and the target type. */
typedef struct entry {
    const void *src;
    size_t n;
    cinfer_precision p;
    void *half; /* the converted copy, owned */
    size_t refs;
} entry;

struct cinfer_cuda_weights {
    int device;
    cinfer_cuda_weights_ops ops;
    pthread_mutex_t mu; /* contexts prepare on their own threads */
    entry *e;
    size_t n, cap;
    size_t conversions;
};

cinfer_status cinfer_cuda_to_16bit(cudaStream_t stream, cinfer_precision p, void *dst,
                                   const float *src, size_t n, cinfer_cuda_err *err) {
    bool fp16 = p == CINFER_PRECISION_FP16;
    cudaError_t e = fp16 ? cinfer_k_f32_to_f16(dst, src, n, stream)
                         : cinfer_k_f32_to_bf16(dst, src, n, stream);
    return CINFER_CUDA_AFTER_LAUNCH(err, stream, e,
                                    fp16 ? "cinfer_k_f32_to_f16" : "cinfer_k_f32_to_bf16");
}

/* From the weights block, on the device: no host copy is read again. The host waits for the
 * result so that the copy is complete before any other context's stream can see it. */
static cinfer_status cuda_convert(cinfer_cuda_ctx *ctx, const void *src, size_t n,
                                  cinfer_precision p, void **out, cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    void *buf = NULL;
    *out = NULL;
    CUDA_CHECK(err, rc, cinfer__cuda_malloc(&buf, n * 2), fail);
    if ((rc = cinfer_cuda_to_16bit(ctx->compute, p, buf, src, n, err)) != CINFER_OK) goto fail;
    CUDA_CHECK(err, rc, cudaStreamSynchronize(ctx->compute), fail);
    *out = buf;
    return CINFER_OK;
fail:
    if (buf) (void)cudaFree(buf);
    (void)cudaGetLastError(); /* an ignored failure must not be reported by the next launch */
    return rc;
}

/* Steps release on whatever thread destroys the plan: make the copy's device current. */
static void cuda_free(int device, void *buf) {
    (void)cudaSetDevice(device);
    (void)cudaFree(buf);
    (void)cudaGetLastError();
}

cinfer_status cinfer_cuda_weights_create(int device, const cinfer_cuda_weights_ops *ops,
                                         cinfer_cuda_weights **out, cinfer_cuda_err *err) {
    *out = NULL;
    cinfer_cuda_weights *w = calloc(1, sizeof *w);
    if (!w) return cinfer_cuda_err_set(err, CINFER_OUT_OF_MEMORY, "out of host memory");
    if (pthread_mutex_init(&w->mu, NULL) != 0) {
        free(w);
        return cinfer_cuda_err_set(err, CINFER_INTERNAL,
                                   "could not create the weights cache's mutex");
    }
    w->device = device;
    w->ops = ops ? *ops : (cinfer_cuda_weights_ops){cuda_convert, cuda_free};
    *out = w;
    return CINFER_OK;
}

void cinfer_cuda_weights_destroy(cinfer_cuda_weights *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) w->ops.free(w->device, w->e[i].half);
    free(w->e);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

static entry *find_key(cinfer_cuda_weights *w, const void *src, size_t n, cinfer_precision p) {
    for (size_t i = 0; i < w->n; i++)
        if (w->e[i].src == src && w->e[i].n == n && w->e[i].p == p) return &w->e[i];
    return NULL;
}

/* Converts and appends a new entry with no reference yet. Called with the mutex held, so
 * that a key is converted once even when two contexts ask for it at the same time. */
static cinfer_status add(cinfer_cuda_weights *w, cinfer_cuda_ctx *ctx, const void *src, size_t n,
                         cinfer_precision p, entry **out, cinfer_cuda_err *err) {
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        entry *e = realloc(w->e, cap * sizeof *e);
        if (!e) return cinfer_cuda_err_set(err, CINFER_OUT_OF_MEMORY, "out of host memory");
        w->e = e;
        w->cap = cap;
    }
    void *half = NULL;
    cinfer_status rc = w->ops.convert(ctx, src, n, p, &half, err);
    if (rc != CINFER_OK) return rc;
    w->e[w->n] = (entry){.src = src, .n = n, .p = p, .half = half};
    *out = &w->e[w->n++];
    w->conversions++;
    return CINFER_OK;
}

cinfer_status cinfer_cuda_weights_acquire(cinfer_cuda_weights *w, cinfer_cuda_ctx *ctx,
                                          const void *src, size_t n, cinfer_precision p,
                                          void **half, cinfer_cuda_err *err) {
    *half = NULL;
    if (!src || n == 0 || (p != CINFER_PRECISION_FP16 && p != CINFER_PRECISION_BF16))
        return cinfer_cuda_err_set(err, CINFER_INVALID_ARGUMENT,
                                   "weights cache: no source, no elements or precision %d",
                                   (int)p);
    pthread_mutex_lock(&w->mu);
    entry *e = find_key(w, src, n, p);
    cinfer_status rc = e ? CINFER_OK : add(w, ctx, src, n, p, &e, err);
    if (rc == CINFER_OK) {
        e->refs++;
        *half = e->half;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void cinfer_cuda_weights_release(cinfer_cuda_weights *w, void *half) {
    if (!w || !half) return;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->n; i++) {
        if (w->e[i].half != half) continue;
        if (--w->e[i].refs == 0) {
            w->ops.free(w->device, half);
            w->e[i] = w->e[--w->n]; /* order does not matter */
        }
        break;
    }
    pthread_mutex_unlock(&w->mu);
}

void cinfer_cuda_weights_stats_get(cinfer_cuda_weights *w, cinfer_cuda_weights_stats *s) {
    pthread_mutex_lock(&w->mu);
    *s = (cinfer_cuda_weights_stats){.conversions = w->conversions, .entries = w->n};
    for (size_t i = 0; i < w->n; i++) s->refs += w->e[i].refs;
    pthread_mutex_unlock(&w->mu);
}
