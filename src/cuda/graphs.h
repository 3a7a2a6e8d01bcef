/* CUDA graphs of a context's compute stream, and device memory handed to the caller. */
#ifndef CINFER_CUDA_GRAPHS_H
#define CINFER_CUDA_GRAPHS_H

#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/module.h"

/* Starts a thread-local capture of ctx->compute. UNSUPPORTED under CINFER_CUDA_SYNC=1, whose
 * per-launch stream synchronize a capture forbids. */
cinfer_status cinfer_cuda_graph_begin(cinfer_cuda_ctx *ctx, cinfer_cuda_err *err);
/* Ends the capture begun by cinfer_cuda_graph_begin and instantiates it into *graph (a
 * cudaGraphExec_t, the caller's, freed with cinfer_cuda_graph_release; NULL on failure). */
cinfer_status cinfer_cuda_graph_end(cinfer_cuda_ctx *ctx, void **graph, cinfer_cuda_err *err);
cinfer_status cinfer_cuda_graph_launch(cinfer_cuda_ctx *ctx, void *graph, cinfer_cuda_err *err);
/* Accepts NULL. A launch still in flight completes first (the driver frees it afterwards). */
void cinfer_cuda_graph_release(void *graph);
/* Test hook: the next cinfer_cuda_graph_end fails as an invalidated capture would. */
void cinfer_cuda_test_fail_next_capture(void);

/* The caller's device memory: cudaMalloc / cudaFree / a synchronous cudaMemcpy on `index`. */
cinfer_status cinfer_cuda_mem_alloc(int index, size_t bytes, void **ptr, cinfer_cuda_err *err);
void cinfer_cuda_mem_free(int index, void *ptr);
cinfer_status cinfer_cuda_mem_copy(int index, void *dst, const void *src, size_t bytes,
                                   int to_device, cinfer_cuda_err *err);
/* Device-to-device copies on ctx->compute (asynchronous, stream-ordered). */
cinfer_status cinfer_cuda_d2d(cinfer_cuda_ctx *ctx, const cinfer_cuda_copy *copies, int n,
                              cinfer_cuda_err *err);

#endif
