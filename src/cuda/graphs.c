/* CUDA graphs of a context's compute stream (one per segment of GPU steps, captured once and
 * replayed every run) and the caller's device memory (cinfer_device_alloc & co.). */
#include "cuda/graphs.h"

/* What captures: our kernels, cudaMemsetAsync/cudaMemcpyAsync between device buffers, and
 * cuBLASLt matmuls given the context's preallocated workspace (cuBLAS documents stream
 * capture support when the workspace is the caller's). The legacy cuDNN calls
 * (cudnnConvolutionForward, cudnnConvolutionBackwardData) are not documented as capture-safe in cuDNN
 * 9: only the graph API has a documented CUDA graph path. If one of them breaks a capture,
 * graph_end reports it and the runtime runs that context eagerly (src/runtime/exec_cuda.c). */

#include <stdatomic.h>

static atomic_int fail_next_capture;

void cinfer_cuda_test_fail_next_capture(void) { atomic_store(&fail_next_capture, 1); }

cinfer_status cinfer_cuda_graph_begin(cinfer_cuda_ctx *ctx, cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    if (cinfer_cuda_sync_enabled())
        return cinfer_cuda_err_set(err, CINFER_UNSUPPORTED, "CINFER_CUDA_SYNC=1 synchronizes "
                                   "after every launch, which a stream capture forbids");
    /* Thread-local: a capture-unsafe call (cudaMalloc, a synchronous copy) made by this thread
     * fails the capture instead of running, while other threads' contexts go on unaffected. */
    CUDA_CHECK(err, rc, cudaStreamBeginCapture(ctx->compute, cudaStreamCaptureModeThreadLocal),
               fail);
    return CINFER_OK;
fail:
    (void)cudaGetLastError(); /* the eager launches that follow must not report it */
    return rc;
}

cinfer_status cinfer_cuda_graph_end(cinfer_cuda_ctx *ctx, void **graph, cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    cudaGraph_t g = NULL;
    cudaGraphExec_t exec = NULL;
    *graph = NULL;
    /* Always end the capture, even one a failed launch invalidated: it returns the stream to
     * normal operation (and reports the invalidation). */
    cudaError_t e = cudaStreamEndCapture(ctx->compute, &g);
    if (e == cudaSuccess && !g) e = cudaErrorStreamCaptureInvalidated;
    if (e == cudaSuccess && atomic_exchange(&fail_next_capture, 0))
        e = cudaErrorStreamCaptureInvalidated;
    if (e != cudaSuccess) {
        rc = cinfer__cuda_fail_rt(err, (int)e, "cudaStreamEndCapture(ctx->compute, &g)",
                                  __FILE__, __LINE__);
        goto fail;
    }
    CUDA_CHECK(err, rc, cudaGraphInstantiate(&exec, g, 0), fail);
    *graph = exec;
fail:
    if (g) (void)cudaGraphDestroy(g); /* the executable graph keeps what it needs */
    /* A failed capture leaves its error pending in cudart; the eager launches that follow
     * read cudaGetLastError and must not see it. */
    if (rc != CINFER_OK) (void)cudaGetLastError();
    return rc;
}

cinfer_status cinfer_cuda_graph_launch(cinfer_cuda_ctx *ctx, void *graph, cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    CUDA_CHECK(err, rc, cudaGraphLaunch((cudaGraphExec_t)graph, ctx->compute), fail);
fail:
    return rc;
}

void cinfer_cuda_graph_release(void *graph) {
    if (graph) (void)cudaGraphExecDestroy((cudaGraphExec_t)graph);
}

cinfer_status cinfer_cuda_mem_alloc(int index, size_t bytes, void **ptr, cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    *ptr = NULL;
    CUDA_CHECK(err, rc, cudaSetDevice(index), fail);
    CUDA_CHECK(err, rc, cinfer__cuda_malloc(ptr, bytes), fail);
fail:
    return rc;
}

void cinfer_cuda_mem_free(int index, void *ptr) {
    if (!ptr) return;
    (void)cudaSetDevice(index);
    (void)cudaFree(ptr);
}

cinfer_status cinfer_cuda_mem_copy(int index, void *dst, const void *src, size_t bytes,
                                   int to_device, cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    enum cudaMemcpyKind kind = to_device ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost;
    CUDA_CHECK(err, rc, cudaSetDevice(index), fail);
    /* The legacy stream, synchronous for the host: contexts' streams are non-blocking, so it
     * never waits for (or holds up) a run in progress on another thread. */
    CUDA_CHECK(err, rc, cudaMemcpy(dst, src, bytes, kind), fail);
    /* From pageable memory cudaMemcpy may return before the DMA has landed; the caller's next
     * run reads `dst` on a non-blocking stream, which does not wait for the legacy one. */
    if (to_device) CUDA_CHECK(err, rc, cudaStreamSynchronize(cudaStreamLegacy), fail);
fail:
    return rc;
}

cinfer_status cinfer_cuda_d2d(cinfer_cuda_ctx *ctx, const cinfer_cuda_copy *cp, int n,
                              cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    for (int i = 0; i < n; i++)
        if (cp[i].bytes)
            CUDA_CHECK(err, rc, cudaMemcpyAsync(cp[i].dst, cp[i].src, cp[i].bytes,
                                               cudaMemcpyDeviceToDevice, ctx->compute), fail);
fail:
    return rc;
}
