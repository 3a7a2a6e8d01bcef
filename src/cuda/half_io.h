/* Half activations (docs/cuda-backend.md, "Half activations"): for an op with half_io at
 * precision FP16/BF16, the node as the op sees it (every float activation in 16 bits) and the
 * conversions at the edges of a half region, where a slot's storage is float. */
#ifndef CINFER_CUDA_HALF_IO_H
#define CINFER_CUDA_HALF_IO_H

#include "cuda/module_impl.h"

/* The 16-bit type op runs its activations in for node n (FLOAT16 or BFLOAT16), or 0. */
cinfer_dtype cinfer_cuda_half_type(const cuda_op *op, const cinfer_cuda_node *n);

/* Whether n has a float (or `half`) activation slot at all: an int64 Concat or Gather has
 * nothing to run in 16 bits and stays out of half mode. */
bool cinfer_cuda_half_has_act(const cinfer_cuda_node *n, cinfer_dtype half);
/* Whether a slot of n holds the other 16-bit type than `half` (a model's own fp16 values at
 * bf16 precision, or the reverse): such a node does not run in half mode. */
bool cinfer_cuda_half_mismatch(const cinfer_cuda_node *n, cinfer_dtype half);

/* *view = n with every float activation slot typed `half`; tin/tout (CUDA_OP_MAX_IO each) and
 * in/out hold the retyped copies. */
void cinfer_cuda_half_view(const cinfer_cuda_node *n, cinfer_dtype half, cinfer_cuda_node *view,
                           const cinfer_tensor **in, const cinfer_tensor **out,
                           cinfer_tensor *tin, cinfer_tensor *tout);

/* Prepare time: s->half = half, and a 16-bit buffer for every activation slot of n (the
 * storage the core planned) that is float. */
cinfer_status cinfer_cuda_half_buffers(const cinfer_cuda_node *n, cinfer_dtype half,
                                       cuda_step *s, cinfer_cuda_err *err);
/* Runs a half-mode step: float inputs converted into their buffers, the op, buffered outputs
 * widened into the float destinations, all on ctx->compute. */
cinfer_status cinfer_cuda_half_run(cinfer_cuda_ctx *ctx, cuda_step *s, const void *const *in,
                                   void *const *out, cinfer_cuda_err *err);
void cinfer_cuda_half_release(cuda_step *s);

#endif
