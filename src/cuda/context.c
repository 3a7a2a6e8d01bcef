/* CUDA device objects (weights block) and execution contexts (streams, handles, arena, staging). */
#include "cuda/context.h"
#include "cuda/weights.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

cinfer_status cinfer_cuda_device_create(int index, size_t weights_bytes, cinfer_cuda_device **out,
                                        cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    int count = 0;
    *out = NULL;
    cinfer_cuda_device *dev = calloc(1, sizeof *dev);
    if (!dev) return cinfer_cuda_err_set(err, CINFER_OUT_OF_MEMORY, "out of host memory");
    dev->index = index;
    CUDA_CHECK(err, rc, cudaGetDeviceCount(&count), fail);
    if (index < 0 || index >= count) {
        rc = cinfer_cuda_err_set(err, CINFER_NOT_FOUND, "CUDA device %d requested, %d present",
                                 index, count);
        goto fail;
    }
    CUDA_CHECK(err, rc, cudaSetDevice(index), fail);
    struct cudaDeviceProp prop;
    CUDA_CHECK(err, rc, cudaGetDeviceProperties(&prop, index), fail);
    snprintf(dev->name, sizeof dev->name, "%s", prop.name);
    dev->cc_major = prop.major;
    dev->cc_minor = prop.minor;
    dev->sm_count = prop.multiProcessorCount;
    if (weights_bytes) {
        CUDA_CHECK(err, rc, cinfer__cuda_malloc(&dev->weights, weights_bytes), fail);
        dev->weights_size = weights_bytes;
    }
    if ((rc = cinfer_cuda_weights_create(index, NULL, &dev->converted, err)) != CINFER_OK)
        goto fail;
    *out = dev;
    return CINFER_OK;
fail:
    cinfer_cuda_device_destroy(dev);
    return rc;
}

void cinfer_cuda_device_destroy(cinfer_cuda_device *dev) {
    if (!dev) return;
    cinfer_cuda_weights_destroy(dev->converted); /* copies made from the weights block */
    if (dev->weights) {
        (void)cudaSetDevice(dev->index);
        (void)cudaFree(dev->weights);
    }
    free(dev);
}

cinfer_status cinfer_cuda_device_weights_alloc(cinfer_cuda_device *dev, size_t bytes, void **ptr,
                                               cinfer_cuda_err *err) {
    size_t start = align_up(dev->weights_used, CINFER_CUDA_ALIGN);
    *ptr = NULL;
    if (start > dev->weights_size || bytes > dev->weights_size - start)
        return cinfer_cuda_err_set(err, CINFER_OUT_OF_MEMORY,
                                   "weights block of CUDA device %d full: %zu bytes requested, "
                                   "%zu of %zu in use",
                                   dev->index, bytes, dev->weights_used, dev->weights_size);
    *ptr = (char *)dev->weights + start;
    dev->weights_used = start + bytes;
    return CINFER_OK;
}

/* Streams and events: non-blocking streams so no work is ever ordered after the legacy default
 * stream; events without timing because they only order work. */
static cinfer_status create_streams(cinfer_cuda_ctx *ctx, cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    CUDA_CHECK(err, rc, cudaStreamCreateWithFlags(&ctx->compute, cudaStreamNonBlocking), fail);
    CUDA_CHECK(err, rc, cudaStreamCreateWithFlags(&ctx->h2d, cudaStreamNonBlocking), fail);
    CUDA_CHECK(err, rc, cudaStreamCreateWithFlags(&ctx->d2h, cudaStreamNonBlocking), fail);
    CUDA_CHECK(err, rc, cudaEventCreateWithFlags(&ctx->h2d_done, cudaEventDisableTiming), fail);
    CUDA_CHECK(err, rc, cudaEventCreateWithFlags(&ctx->compute_done, cudaEventDisableTiming), fail);
    CUDA_CHECK(err, rc, cudaEventCreateWithFlags(&ctx->d2h_done, cudaEventDisableTiming), fail);
fail:
    return rc;
}

static cinfer_status create_libraries(cinfer_cuda_ctx *ctx, const cinfer_cuda_ctx_config *cfg,
                                      cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    CUBLAS_CHECK(err, rc, cublasLtCreate(&ctx->lt), fail);
    if (cfg->blas_workspace_bytes) {
        CUDA_CHECK(err, rc, cinfer__cuda_malloc(&ctx->lt_workspace, cfg->blas_workspace_bytes),
                   fail);
        ctx->lt_workspace_bytes = cfg->blas_workspace_bytes;
    }
    CUDNN_CHECK(err, rc, cudnnCreate(&ctx->dnn), fail);
    CUDNN_CHECK(err, rc, cudnnSetStream(ctx->dnn, ctx->compute), fail);
    if (cfg->dnn_workspace_bytes) {
        CUDA_CHECK(err, rc, cinfer__cuda_malloc(&ctx->dnn_workspace, cfg->dnn_workspace_bytes),
                   fail);
        ctx->dnn_workspace_bytes = cfg->dnn_workspace_bytes;
    }
fail:
    return rc;
}

static cinfer_status create_buffers(cinfer_cuda_ctx *ctx, const cinfer_cuda_ctx_config *cfg,
                                    cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    if (cfg->arena_bytes) {
        CUDA_CHECK(err, rc, cinfer__cuda_malloc(&ctx->arena, cfg->arena_bytes), fail);
        ctx->arena_bytes = cfg->arena_bytes;
    }
    if (cfg->staging_bytes) {
        CUDA_CHECK(err, rc, cinfer__cuda_host_alloc(&ctx->staging, cfg->staging_bytes), fail);
        ctx->staging_bytes = cfg->staging_bytes;
    }
fail:
    return rc;
}

cinfer_status cinfer_cuda_ctx_create(int device, const cinfer_cuda_ctx_config *cfg,
                                     cinfer_cuda_ctx **out, cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    *out = NULL;
    cinfer_cuda_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return cinfer_cuda_err_set(err, CINFER_OUT_OF_MEMORY, "out of host memory");
    ctx->device = device;
    CUDA_CHECK(err, rc, cudaSetDevice(device), fail);
    if ((rc = create_streams(ctx, err)) != CINFER_OK) goto fail;
    if ((rc = create_libraries(ctx, cfg, err)) != CINFER_OK) goto fail;
    if ((rc = create_buffers(ctx, cfg, err)) != CINFER_OK) goto fail;
    *out = ctx;
    return CINFER_OK;
fail:
    cinfer_cuda_ctx_destroy(ctx);
    return rc;
}

/* Tears down whatever part of the context exists, so it also unwinds a failed creation. */
void cinfer_cuda_ctx_destroy(cinfer_cuda_ctx *ctx) {
    if (!ctx) return;
    (void)cudaSetDevice(ctx->device);
    cudaStream_t streams[3] = {ctx->compute, ctx->h2d, ctx->d2h};
    for (int i = 0; i < 3; i++)
        if (streams[i]) (void)cudaStreamSynchronize(streams[i]);
    if (ctx->dnn) (void)cudnnDestroy(ctx->dnn);
    if (ctx->lt) (void)cublasLtDestroy(ctx->lt);
    if (ctx->staging) (void)cudaFreeHost(ctx->staging);
    if (ctx->arena) (void)cudaFree(ctx->arena);
    if (ctx->dnn_workspace) (void)cudaFree(ctx->dnn_workspace);
    if (ctx->lt_workspace) (void)cudaFree(ctx->lt_workspace);
    cudaEvent_t events[3] = {ctx->h2d_done, ctx->compute_done, ctx->d2h_done};
    for (int i = 0; i < 3; i++)
        if (events[i]) (void)cudaEventDestroy(events[i]);
    for (int i = 0; i < 3; i++)
        if (streams[i]) (void)cudaStreamDestroy(streams[i]);
    free(ctx);
}

cinfer_status cinfer_cuda_ctx_bind(cinfer_cuda_ctx *ctx, cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    CUDA_CHECK(err, rc, cudaSetDevice(ctx->device), fail);
fail:
    return rc;
}

void *cinfer_cuda_ctx_arena_at(const cinfer_cuda_ctx *ctx, size_t offset, size_t bytes) {
    if (offset > ctx->arena_bytes || bytes > ctx->arena_bytes - offset) return NULL;
    return (char *)ctx->arena + offset;
}

cinfer_status cinfer_cuda_ctx_staging_alloc(cinfer_cuda_ctx *ctx, size_t bytes, void **ptr,
                                            cinfer_cuda_err *err) {
    size_t start = align_up(ctx->staging_used, 64);
    *ptr = NULL;
    if (start > ctx->staging_bytes || bytes > ctx->staging_bytes - start)
        return cinfer_cuda_err_set(err, CINFER_OUT_OF_MEMORY,
                                   "pinned staging pool of CUDA device %d full: %zu bytes "
                                   "requested, %zu of %zu in use",
                                   ctx->device, bytes, ctx->staging_used, ctx->staging_bytes);
    *ptr = (char *)ctx->staging + start;
    ctx->staging_used = start + bytes;
    return CINFER_OK;
}

void cinfer_cuda_ctx_staging_reset(cinfer_cuda_ctx *ctx) { ctx->staging_used = 0; }

cinfer_status cinfer_cuda_ctx_resize(cinfer_cuda_ctx *ctx, size_t arena_bytes,
                                     size_t staging_bytes, cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    CUDA_CHECK(err, rc, cudaSetDevice(ctx->device), fail);
    /* Work still in flight may read or write the old blocks. */
    CUDA_CHECK(err, rc, cudaStreamSynchronize(ctx->compute), fail);
    CUDA_CHECK(err, rc, cudaStreamSynchronize(ctx->h2d), fail);
    CUDA_CHECK(err, rc, cudaStreamSynchronize(ctx->d2h), fail);
    if (ctx->arena) (void)cudaFree(ctx->arena);
    if (ctx->staging) (void)cudaFreeHost(ctx->staging);
    ctx->arena = ctx->staging = NULL;
    ctx->arena_bytes = ctx->staging_bytes = ctx->staging_used = 0;
    cinfer_cuda_ctx_config cfg = {.arena_bytes = arena_bytes, .staging_bytes = staging_bytes};
    rc = create_buffers(ctx, &cfg, err);
    if (rc == CINFER_OK) return rc;
    if (ctx->arena) (void)cudaFree(ctx->arena);
    ctx->arena = NULL;
    ctx->arena_bytes = 0;
fail:
    return rc;
}
