/* The per-device-object cache of fp16/bf16 weight copies: a small array searched linearly
 * (prepare time only, a few hundred weights at most), one mutex, a reference count per copy. */
#include "cuda/weights.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "kernels.h"

/* Key: the weight's copy in the weights block, its element count, the target type and order. */
typedef struct entry {
    const void *src;
    size_t n;
    cinfer_precision p;
    cinfer_cuda_weights_order order;
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

cinfer_status cinfer_cuda_to_16bit_krsc(cudaStream_t stream, cinfer_precision p, void *dst,
                                        const float *src, size_t n,
                                        cinfer_cuda_weights_order order, cinfer_cuda_err *err) {
    int64_t per = order.c * order.rs;
    if (order.c < 1 || order.rs < 1 || (int64_t)n % per)
        return cinfer_cuda_err_set(err, CINFER_INVALID_ARGUMENT,
                                   "KRSC reorder of %zu elements as [k][%lld][%lld]", n,
                                   (long long)order.c, (long long)order.rs);
    cinfer_k_dtype to = p == CINFER_PRECISION_FP16 ? CINFER_K_F16 : CINFER_K_BF16;
    cudaError_t e = cinfer_k_relayout(to, dst, 1, CINFER_K_F32, src, 0, (int64_t)n / per,
                                      order.c, order.rs, stream);
    return CINFER_CUDA_AFTER_LAUNCH(err, stream, e, "cinfer_k_relayout (filter to KRSC)");
}

/* From the weights block, on the device: no host copy is read again. The host waits for the
 * result so that the copy is complete before any other context's stream can see it. */
static cinfer_status cuda_convert(cinfer_cuda_ctx *ctx, const void *src, size_t n,
                                  cinfer_precision p, cinfer_cuda_weights_order order,
                                  void **out, cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    void *buf = NULL;
    *out = NULL;
    CUDA_CHECK(err, rc, cinfer__cuda_malloc(&buf, n * 2), fail);
    rc = order.c ? cinfer_cuda_to_16bit_krsc(ctx->compute, p, buf, src, n, order, err)
                 : cinfer_cuda_to_16bit(ctx->compute, p, buf, src, n, err);
    if (rc != CINFER_OK) goto fail;
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

static entry *find_key(cinfer_cuda_weights *w, const void *src, size_t n, cinfer_precision p,
                       cinfer_cuda_weights_order o) {
    for (size_t i = 0; i < w->n; i++)
        if (w->e[i].src == src && w->e[i].n == n && w->e[i].p == p && w->e[i].order.c == o.c &&
            w->e[i].order.rs == o.rs)
            return &w->e[i];
    return NULL;
}

/* Converts and appends a new entry with no reference yet. Called with the mutex held, so
 * that a key is converted once even when two contexts ask for it at the same time. */
static cinfer_status add(cinfer_cuda_weights *w, cinfer_cuda_ctx *ctx, const void *src, size_t n,
                         cinfer_precision p, cinfer_cuda_weights_order o, entry **out,
                         cinfer_cuda_err *err) {
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        entry *e = realloc(w->e, cap * sizeof *e);
        if (!e) return cinfer_cuda_err_set(err, CINFER_OUT_OF_MEMORY, "out of host memory");
        w->e = e;
        w->cap = cap;
    }
    void *half = NULL;
    cinfer_status rc = w->ops.convert(ctx, src, n, p, o, &half, err);
    if (rc != CINFER_OK) return rc;
    w->e[w->n] = (entry){.src = src, .n = n, .p = p, .order = o, .half = half};
    *out = &w->e[w->n++];
    w->conversions++;
    return CINFER_OK;
}

cinfer_status cinfer_cuda_weights_acquire(cinfer_cuda_weights *w, cinfer_cuda_ctx *ctx,
                                          const void *src, size_t n, cinfer_precision p,
                                          cinfer_cuda_weights_order order, void **half,
                                          cinfer_cuda_err *err) {
    *half = NULL;
    if (!src || n == 0 || (p != CINFER_PRECISION_FP16 && p != CINFER_PRECISION_BF16))
        return cinfer_cuda_err_set(err, CINFER_INVALID_ARGUMENT,
                                   "weights cache: no source, no elements or precision %d",
                                   (int)p);
    pthread_mutex_lock(&w->mu);
    entry *e = find_key(w, src, n, p, order);
    cinfer_status rc = e ? CINFER_OK : add(w, ctx, src, n, p, order, &e, err);
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
