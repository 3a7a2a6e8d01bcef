/* CUDA device and execution context: every allocation the backend makes, done at creation. */
#ifndef CINFER_CUDA_CONTEXT_H
#define CINFER_CUDA_CONTEXT_H

#include <stddef.h>

#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "cuda/check.h"

/* Device allocations are handed out at this alignment (cuBLASLt's and cuDNN's preferred one,
 * and what cudaMalloc itself guarantees). */
#define CINFER_CUDA_ALIGN 256

/* One GPU as a model sees it: its index, its properties and the model's weights, which live
 * in one cudaMalloc sized at load and handed out by a bump allocator (weights are never freed
 * one by one; the whole block goes with the device object). */
typedef struct cinfer_cuda_device {
    int index;
    char name[256];
    int cc_major, cc_minor;
    int sm_count;
    void *weights;        /* device memory, owned */
    size_t weights_size;  /* bytes */
    size_t weights_used;  /* bump offset, bytes */
    struct cinfer_cuda_weights *converted; /* fp16/bf16 copies of weights, shared (weights.h) */
} cinfer_cuda_device;

/* Selects device `index` on the calling thread and reserves `weights_bytes` (may be 0) of
 * device memory. On success *out is owned by the caller (cinfer_cuda_device_destroy). */
cinfer_status cinfer_cuda_device_create(int index, size_t weights_bytes, cinfer_cuda_device **out,
                                        cinfer_cuda_err *err);
/* Frees the weights block and the object. Accepts NULL. No kernel may still be using them. */
void cinfer_cuda_device_destroy(cinfer_cuda_device *dev);
/* Hands out `bytes` of the weights block at CINFER_CUDA_ALIGN; *ptr stays valid until the
 * device object is destroyed. CINFER_OUT_OF_MEMORY (naming the sizes) when the block is full. */
cinfer_status cinfer_cuda_device_weights_alloc(cinfer_cuda_device *dev, size_t bytes, void **ptr,
                                               cinfer_cuda_err *err);

/* Sizes of what a context preallocates, all in bytes. Zero workspaces are allowed (cuBLASLt
 * and cuDNN then pick only workspace-free algorithms). */
typedef struct cinfer_cuda_ctx_config {
    size_t arena_bytes;          /* activations: one block, offsets come from the memory plan */
    size_t staging_bytes;        /* pinned host memory for H2D/D2H copies */
    size_t blas_workspace_bytes; /* cuBLASLt workspace */
    size_t dnn_workspace_bytes;  /* cuDNN workspace */
} cinfer_cuda_ctx_config;

/* An execution context: what one in-flight batch needs. Streams are non-blocking (they never
 * synchronize with the legacy default stream, which the backend never uses); the cuDNN handle
 * is bound to `compute`; cuBLASLt calls are given `compute` at launch. Nothing here is global:
 * two contexts on one device run independently. A context is used by one thread at a time. */
typedef struct cinfer_cuda_ctx {
    int device;
    cinfer_cuda_device *owner; /* the model's device object it was made from (module_api.c) */
    cudaStream_t compute, h2d, d2h;
    /* Ordering between the three streams without host waits: record on one, wait on another. */
    cudaEvent_t h2d_done, compute_done, d2h_done;
    cublasLtHandle_t lt;
    void *lt_workspace;
    size_t lt_workspace_bytes;
    cudnnHandle_t dnn;
    void *dnn_workspace;
    size_t dnn_workspace_bytes;
    void *arena; /* device memory */
    size_t arena_bytes;
    void *staging; /* pinned host memory */
    size_t staging_bytes;
    size_t staging_used; /* bump offset, reset per batch */
} cinfer_cuda_ctx;

/* Creates a context on device `device` with everything in `cfg` allocated up front. On
 * failure nothing leaks, *out is NULL and `err` names the failing call and the device. */
cinfer_status cinfer_cuda_ctx_create(int device, const cinfer_cuda_ctx_config *cfg,
                                     cinfer_cuda_ctx **out, cinfer_cuda_err *err);
/* Waits for the context's streams, then frees everything it owns. Accepts NULL. */
void cinfer_cuda_ctx_destroy(cinfer_cuda_ctx *ctx);
/* Replaces the context's device arena and pinned staging with blocks of these sizes (0: none),
 * after its streams are idle. On failure the context has neither. */
cinfer_status cinfer_cuda_ctx_resize(cinfer_cuda_ctx *ctx, size_t arena_bytes,
                                     size_t staging_bytes, cinfer_cuda_err *err);
/* Makes the context's device current on the calling thread (a worker calls this once before
 * running on the context; it neither allocates nor synchronizes). */
cinfer_status cinfer_cuda_ctx_bind(cinfer_cuda_ctx *ctx, cinfer_cuda_err *err);

/* The arena at byte `offset` for a buffer of `bytes`: NULL when it would not fit. The memory
 * plan checked this at load; the check here is a cheap invariant. */
void *cinfer_cuda_ctx_arena_at(const cinfer_cuda_ctx *ctx, size_t offset, size_t bytes);

/* Hands out `bytes` of pinned staging at 64-byte alignment, valid until the next
 * cinfer_cuda_ctx_staging_reset. CINFER_OUT_OF_MEMORY when the pool is full (never grows). */
cinfer_status cinfer_cuda_ctx_staging_alloc(cinfer_cuda_ctx *ctx, size_t bytes, void **ptr,
                                            cinfer_cuda_err *err);
/* Starts a new batch: all staging handed out so far may be reused. The caller must have
 * waited (event) for copies out of it to finish. */
void cinfer_cuda_ctx_staging_reset(cinfer_cuda_ctx *ctx);

#endif
