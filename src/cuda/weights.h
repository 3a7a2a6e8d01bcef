/* fp16/bf16 copies of a model's weights, made once per device object and shared by every step
 * of every context that reads the same weight in the same type (docs/cuda-backend.md,
 * "Precision"). */
#ifndef CINFER_CUDA_WEIGHTS_H
#define CINFER_CUDA_WEIGHTS_H

#include <stddef.h>

#include "cinfer/cinfer.h"
#include "cuda/check.h"
#include "cuda/context.h"

typedef struct cinfer_cuda_weights cinfer_cuda_weights;

/* The order of a copy's elements: as the weight's (c = 0), or a filter [k][c][rs] reordered
 * channels last, [k][rs][c] (KRSC: the NHWC convolutions' filter layout). */
typedef struct cinfer_cuda_weights_order {
    int64_t c, rs;
} cinfer_cuda_weights_order;

/* How the cache makes and frees a copy. NULL ops at creation mean the CUDA ones: convert
 * allocates n 16-bit elements and runs the cast kernel on ctx->compute, returning once it is
 * complete; free sets the device and cudaFrees. The unit test gives host-only ones. */
typedef struct cinfer_cuda_weights_ops {
    cinfer_status (*convert)(cinfer_cuda_ctx *ctx, const void *src, size_t n,
                             cinfer_precision p, cinfer_cuda_weights_order order, void **out,
                             cinfer_cuda_err *err);
    void (*free)(int device, void *buf);
} cinfer_cuda_weights_ops;

/* Counters for tests: copies made since creation, copies alive now, and the references held
 * on them (all copies together). */
typedef struct cinfer_cuda_weights_stats {
    size_t conversions, entries, refs;
} cinfer_cuda_weights_stats;

/* An empty cache for device `device`; *out is the caller's (cinfer_cuda_weights_destroy). */
cinfer_status cinfer_cuda_weights_create(int device, const cinfer_cuda_weights_ops *ops,
                                         cinfer_cuda_weights **out, cinfer_cuda_err *err);
/* Frees every copy, referenced or not, and the cache. Accepts NULL. No step may still use
 * them (the device object goes after the plans whose steps hold references). */
void cinfer_cuda_weights_destroy(cinfer_cuda_weights *w);

/* The copy of the n floats at device pointer `src` (a weight in the model's weights block) in
 * precision p (FP16 or BF16) and element order `order`, converted on ctx's compute stream on
 * first use; every later call with the same (src, n, p, order), from any context, gets the
 * same buffer and only adds a reference. *half stays valid until released with
 * cinfer_cuda_weights_release. Thread-safe; load time only (it may wait on the host). */
cinfer_status cinfer_cuda_weights_acquire(cinfer_cuda_weights *w, cinfer_cuda_ctx *ctx,
                                          const void *src, size_t n, cinfer_precision p,
                                          cinfer_cuda_weights_order order, void **half,
                                          cinfer_cuda_err *err);
/* Drops one reference to `half` (from acquire); the last one frees the copy. Accepts NULL. */
void cinfer_cuda_weights_release(cinfer_cuda_weights *w, void *half);

/* The counters now (tests: "converted once" is conversions == distinct (weight, type)). */
void cinfer_cuda_weights_stats_get(cinfer_cuda_weights *w, cinfer_cuda_weights_stats *s);

/* Launches the float -> fp16 (FP16) or bf16 (BF16) conversion of n elements on `stream` and
 * checks the launch (shared with the GEMM steps' per-run conversions). */
cinfer_status cinfer_cuda_to_16bit(cudaStream_t stream, cinfer_precision p, void *dst,
                                   const float *src, size_t n, cinfer_cuda_err *err);
/* The same into KRSC order (order.c, order.rs > 0, n a multiple of their product). */
cinfer_status cinfer_cuda_to_16bit_krsc(cudaStream_t stream, cinfer_precision p, void *dst,
                                        const float *src, size_t n,
                                        cinfer_cuda_weights_order order, cinfer_cuda_err *err);

#endif
