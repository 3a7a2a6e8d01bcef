/* GEMM on cuBLASLt: fp32 in and out, TF32 or fp16/bf16 operands on request (precision), and
 * C, D and bias in 16 bits too for half activations; prepared once per shape (descriptors,
 * layouts, algorithm), then run. */
#ifndef CINFER_CUDA_MATMUL_H
#define CINFER_CUDA_MATMUL_H

#include <stdbool.h>
#include <stdint.h>

#include <cublasLt.h>

#include "cinfer/cinfer.h"

#include "cuda/check.h"
#include "cuda/context.h"

/* Flags of cinfer_cuda_gemm_shape.flags. */
enum {
    CINFER_GEMM_TRANS_A = 1 << 0, /* op(A) = A^T: A is stored K x M */
    CINFER_GEMM_TRANS_B = 1 << 1, /* op(B) = B^T: B is stored N x K */
    CINFER_GEMM_BIAS = 1 << 2,    /* add bias[n] to every row of D (per-column bias) */
    CINFER_GEMM_RELU = 1 << 3,    /* max(x, 0) after the bias */
    /* GELU after the bias, cuBLASLt's tanh form: 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))).
     * Not ONNX's default erf Gelu; the planner fuses it only for the tanh variant. */
    CINFER_GEMM_GELU = 1 << 4,
};

/* One GEMM, row-major like every cinfer tensor, for each batch index b:
 *   D[b] = act(alpha * op(A[b]) op(B[b]) + beta * C[b] + bias[b])
 * with op(A) M x K, op(B) K x N, C and D M x N. Strides are in elements. */
typedef struct cinfer_cuda_gemm_shape {
    int64_t m, n, k; /* all >= 1 */
    int64_t batch;   /* >= 1 */
    /* Row strides (distance between rows as stored); 0 means packed: K or M for A (as stored,
     * i.e. M when TRANS_A), N or K for B, N for C and D. */
    int64_t lda, ldb, ldd;
    /* Batch strides. 0 for A or B broadcasts one matrix to every batch; D must have its own
     * (>= M * ldd when batch > 1). C uses D's layout. */
    int64_t stride_a, stride_b, stride_d;
    int64_t stride_bias; /* 0: one bias vector of N for all batches */
    unsigned flags;      /* CINFER_GEMM_* */
    float alpha, beta;
    /* Smallest alignment, in bytes, that the A, B, C, D and bias pointers given to run will
     * have; the algorithm is chosen to work with it. 0 means 16. Must be a power of two >= 4. */
    unsigned align_bytes;
    /* FP32 (0, the default): CUBLAS_COMPUTE_32F, true fp32. TF32: fp32 operands, compute
     * CUBLAS_COMPUTE_32F_FAST_TF32. FP16 / BF16: A and B as given to run are stored in that
     * type (the caller converts them); compute CUBLAS_COMPUTE_32F, float scale, and C, D and
     * bias stay float. */
    cinfer_precision precision;
    /* FP16 / BF16 only (docs/cuda-backend.md, "Half activations"): C, D and the bias are
     * stored in that 16-bit type too. cuBLASLt still accumulates in fp32 and rounds D once;
     * the bias has D's type, as cublasLt.h documents CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE's
     * default for non-IMMA, non-fp8 kernels. */
    bool half_io;
} cinfer_cuda_gemm_shape;

/* A prepared GEMM. Belongs to the context it was prepared on (its algorithm fits that
 * context's workspace) and is run by one thread at a time: run writes the bias pointer into
 * the operation descriptor. */
typedef struct cinfer_cuda_gemm {
    cinfer_cuda_gemm_shape shape;
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t a_layout, b_layout, d_layout; /* in cuBLASLt's (column-major) terms */
    cublasLtMatmulAlgo_t algo;
    size_t workspace_bytes; /* what the chosen algorithm needs, <= the context's */
} cinfer_cuda_gemm;

/* Validates `shape`, builds the descriptors and asks cublasLtMatmulAlgoGetHeuristic once for
 * an algorithm that fits ctx's workspace. On failure `g` holds nothing to release (releasing it
 * anyway is harmless). Compute type per shape->precision: CUBLAS_COMPUTE_32F (true fp32, never
 * TF32) unless TF32 is asked for. */
cinfer_status cinfer_cuda_gemm_prepare(cinfer_cuda_ctx *ctx, const cinfer_cuda_gemm_shape *shape,
                                       cinfer_cuda_gemm *g, cinfer_cuda_err *err);

/* Launches the prepared GEMM on ctx->compute with ctx's cuBLASLt workspace; no allocation, no
 * synchronization. `a` and `b` are float, or fp16 / bfloat16 for those precisions; `c`, `d`
 * and `bias` are float, or that 16-bit type with half_io. `c` may be
 * NULL (then beta must be 0) or equal `d` (in place). `bias` is required exactly when the BIAS
 * flag was set. Pointers are device memory. */
cinfer_status cinfer_cuda_gemm_run(cinfer_cuda_ctx *ctx, cinfer_cuda_gemm *g, const void *a,
                                   const void *b, const void *c, void *d, const void *bias,
                                   cinfer_cuda_err *err);

/* Destroys the descriptors and zeroes `g`. Accepts a zeroed or failed-prepare struct. */
void cinfer_cuda_gemm_release(cinfer_cuda_gemm *g);

#endif
