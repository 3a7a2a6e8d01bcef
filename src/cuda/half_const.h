/* A 16-bit device copy of a float constant input (a weight, bias or folded constant) for the
 * fp16/bf16 paths of the GEMM and convolution steps, made once at prepare; and the check of
 * those steps' output type in half mode. */
#ifndef CINFER_CUDA_HALF_CONST_H
#define CINFER_CUDA_HALF_CONST_H

#include "cuda/module_impl.h"
#include "cuda/weights.h"

/* The copy and where it came from: a reference into the device object's cache, or device
 * memory the step owns. Zeroed means none. */
typedef struct cinfer_cuda_half_const {
    void *ptr;
    cinfer_cuda_weights *cache; /* non-NULL: ptr is the cache's (release has no context) */
} cinfer_cuda_half_const;

/* The copy of float constant input i of n (n->in[i]->data != NULL) in precision p (FP16 or
 * BF16). A model weight (n->weight[i] set, ctx made from a device object) comes from the
 * device object's cache, converted once per model and type; any other constant (a folded one,
 * or a context without a device object) is uploaded and converted now into the step's own
 * copy, the host waiting for it (prepare time, never per run). krsc: a 4-D filter [K][C][R][S]
 * reordered channels last, [K][R][S][C] (the NHWC convolutions'). On failure *c stays zeroed. */
cinfer_status cinfer_cuda_half_const_make(cinfer_cuda_ctx *ctx, const cinfer_cuda_node *n, int i,
                                          cinfer_precision p, bool krsc,
                                          cinfer_cuda_half_const *c, cinfer_cuda_err *err);

/* The output check the GEMM and convolution steps share: *t = n's output dtype (n->out[0]
 * present). A float output answers as cuda_need_f32 (all float); any other must be the 16-bit
 * type of n's precision (half mode), else a refusal in why. On CINFER_OK with *t 16-bit the
 * caller checks its inputs against *t. */
cinfer_status cinfer_cuda_half_out(const cinfer_cuda_node *n, cinfer_dtype *t, char *why);

/* Drops the reference or frees the step's copy, and zeroes *c. Accepts a zeroed one. */
void cinfer_cuda_half_const_free(cinfer_cuda_half_const *c);

#endif
