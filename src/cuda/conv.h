/* fp32 (or TF32) convolution and ConvTranspose on cuDNN, or on fp16/bf16 tensors with fp32
 * compute (half activations): prepared once per shape, then only launched. */
#ifndef CINFER_CUDA_CONV_H
#define CINFER_CUDA_CONV_H

#include <stdbool.h>
#include <stdint.h>

#include <cudnn.h>

#include "cuda/check.h"
#include "cuda/context.h"
#include "kernels.h"

/* Flags of cinfer_cuda_conv_params.flags. */
enum {
    CINFER_CONV_BIAS = 1 << 0,      /* add bias[c_out] to every output channel */
    CINFER_CONV_RELU = 1 << 1,      /* max(x, 0) after the bias */
    CINFER_CONV_TRANSPOSE = 1 << 2, /* ONNX ConvTranspose (cuDNN backward data) */
    CINFER_CONV_TF32 = 1 << 3,      /* allow TF32 tensor cores (CUDNN_TENSOR_OP_MATH) */
    /* X, W and Y (and FusedConv's Z) stored as fp16, or as bf16: cuDNN's "pseudo half"
     * configurations (16-bit tensors, fp32 convolution compute type), tensor-op math allowed.
     * The bias stays float. At most one of the two; not with TF32. */
    CINFER_CONV_FP16 = 1 << 4,
    CINFER_CONV_BF16 = 1 << 5,
    /* Channels last (docs/cuda-backend.md): X, Y and Z stored NHWC and W stored KRSC
     * ([c_out][kh][kw][c_in/groups]; ConvTranspose's [c_in][kh][kw][c_out/groups]), the layout
     * cuDNN's 16-bit tensor-core kernels work in. 2-D, with FP16 or BF16 only. */
    CINFER_CONV_NHWC = 1 << 6,
    /* Prepare cuDNN's fused call as well (cinfer_cuda_conv_run_cudnn): bias, Z and ReLU inside
     * the convolution's own kernels instead of a second pass over Y. Forward Conv with a bias
     * only. An experiment (CINFER_CUDA_CONV_FUSE=cudnn) until a GPU run has measured it. */
    CINFER_CONV_FUSE_CUDNN = 1 << 7,
};

/* An ONNX Conv or ConvTranspose on NC<spatial> tensors, row-major (NCHW / NCDHW; NHWC with
 * the CINFER_CONV_NHWC flag): fp32, or fp16 / bf16 with the flags above.
 * Weights: Conv [c_out, c_in/groups, kernel...]; ConvTranspose [c_in, c_out/groups, kernel...].
 * Only the first `nspatial` entries of each array are read. */
typedef struct cinfer_cuda_conv_params {
    int nspatial;                 /* 1 (run as 2-D with H = 1), 2 or 3 */
    int64_t n, c_in, c_out;       /* batch, input and output channels */
    int64_t groups;               /* 1 = dense; c_in = c_out = groups is depthwise */
    int64_t in[3];                /* input spatial extent */
    int64_t kernel[3];            /* kernel spatial extent */
    int64_t stride[3];            /* 0 means 1 */
    int64_t dilation[3];          /* 0 means 1 */
    int64_t pad_begin[3], pad_end[3];
    int64_t out_pad[3];           /* ConvTranspose output_padding (ignored for Conv) */
    unsigned flags;               /* CINFER_CONV_* */
} cinfer_cuda_conv_params;

/* How a run moves X into the padded buffer of a convolution with asymmetric pads, as a
 * cinfer_k_copy_strided: element dims in memory order (N, C, spatial... or, NHWC,
 * N, H, W, C), X's dense strides, the buffer's strides, and the buffer element X's first
 * element lands on. Host only; exposed so that a host test checks the index math. */
typedef struct cinfer_cuda_conv_pad_copy {
    cinfer_k_dims dims;
    cinfer_k_strides src, dst;
    int64_t dst_offset; /* in elements */
} cinfer_cuda_conv_pad_copy;

/* A prepared convolution; belongs to the context it was prepared on (the algorithm's workspace
 * fits that context's). Read-only once prepared, so run does not modify it. */
typedef struct cinfer_cuda_conv {
    cinfer_cuda_conv_params p;
    int64_t out[3];                  /* output spatial extent */
    cudnnTensorDescriptor_t x, y;    /* the ONNX input X and output Y */
    cudnnTensorDescriptor_t bias;    /* [1, c_out, 1, ...] */
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t conv;
    cudnnActivationDescriptor_t relu;
    cudnnConvolutionFwdAlgo_t fwd_algo;      /* Conv */
    cudnnConvolutionBwdDataAlgo_t bwd_algo;  /* ConvTranspose */
    cudnnMathType_t math;                    /* what the chosen algorithm runs with */
    size_t workspace_bytes;
    /* FUSE_CUDNN: the bias in Y's type and layout rules, and the two activations the fused
     * call may take; fused says whether prepare found the call allowed at all. */
    cudnnTensorDescriptor_t bias_y;
    cudnnActivationDescriptor_t act_relu, act_none;
    bool fused;
    /* Conv pads that differ at the two ends of an axis (TensorFlow's SAME with a stride, say):
     * cuDNN pads both ends alike, so each run first copies X into a zero-bordered buffer that
     * carries the difference, allocated and zeroed once at prepare (only X's interior is
     * written after that), and cuDNN convolves it with the pads both ends share. sym, pre and
     * padded_in are filled for every prepared or checked convolution (no difference: pre 0,
     * padded_in = in); padded is NULL without a difference. */
    int64_t sym[3];       /* the pads cuDNN applies at both ends (ConvTranspose: pad_begin) */
    int64_t pre[3];       /* X's offset inside the buffer, per spatial axis */
    int64_t padded_in[3]; /* the spatial extent cuDNN sees as X */
    void *padded;
    cinfer_cuda_conv_pad_copy pad_copy; /* with padded: the copy each run makes, from prepare */
} cinfer_cuda_conv;

/* Validates `p`, builds the descriptors (math type CUDNN_FMA_MATH: no TF32; with the TF32 flag
 * CUDNN_TENSOR_OP_MATH, which lets fp32 convolutions run on TF32 tensor cores; with FP16 or
 * BF16 the math type the chosen heuristic result reports) and picks the algorithm once: the first
 * cudnnGet*Algorithm_v7 result that succeeded, is not backward data's non-deterministic
 * ALGO_0, for fp32 and TF32 is neither Winograd nor FFT and uses tensor-op math only with the
 * TF32 flag, and whose workspace fits ctx's cuDNN workspace.
 * Asymmetric Conv pads allocate the padded copy of X described above (device memory of X's
 * padded size, once). CINFER_UNSUPPORTED (with a message saying why, so the caller can fall
 * back) for ConvTranspose pads that cuDNN cannot express, and when no algorithm qualifies.
 * On failure `c` holds nothing to release (releasing it anyway is harmless). */
cinfer_status cinfer_cuda_conv_prepare(cinfer_cuda_ctx *ctx, const cinfer_cuda_conv_params *p,
                                       cinfer_cuda_conv *c, cinfer_cuda_err *err);

/* cinfer_cuda_conv_prepare's argument checks alone (no device, no cuDNN call): CINFER_OK, or
 * the error prepare returns before building anything (sizes, flags, pads, output extent).
 * With `c` non-NULL (it may be NULL), on success also the geometry prepare would use: c->p,
 * c->out, c->sym, c->pre, c->padded_in; no descriptors. */
cinfer_status cinfer_cuda_conv_check(const cinfer_cuda_conv_params *p, cinfer_cuda_conv *c,
                                     cinfer_cuda_err *err);

/* The padded-input copy (cinfer_cuda_conv_pad_copy) of a checked or prepared convolution;
 * prepare keeps it in c->pad_copy. */
void cinfer_cuda_conv_pad_copy_of(const cinfer_cuda_conv *c, cinfer_cuda_conv_pad_copy *pc);

/* Launches on ctx->compute (the cuDNN handle's stream) with ctx's cuDNN workspace: no
 * allocation, no synchronization. x: input, w: weights, bias: c_out floats or NULL when the
 * BIAS flag is unset, y: output [n, c_out, out...]; x, w and y float, or 16-bit with the FP16
 * or BF16 flag. Device pointers; y must not alias x or w. */
cinfer_status cinfer_cuda_conv_run(cinfer_cuda_ctx *ctx, const cinfer_cuda_conv *c, const void *x,
                                   const void *w, const float *bias, void *y,
                                   cinfer_cuda_err *err);

/* The same with FusedConv's epilogue: y = relu?(conv + bias + z), z (Y's shape and type) may
 * be NULL, relu nonzero for the clamp (the RELU flag is not consulted). One pass over Y after
 * cuDNN. */
cinfer_status cinfer_cuda_conv_run_fused(cinfer_cuda_ctx *ctx, const cinfer_cuda_conv *c,
                                         const void *x, const void *w, const float *bias,
                                         const void *z, int relu, void *y,
                                         cinfer_cuda_err *err);

/* cuDNN's fused form of cinfer_cuda_conv_run_fused (cudnnConvolutionBiasActivationForward):
 * y = relu?(conv(x, w) + bias + z) in one library call, the sum in fp32 and Y rounded once.
 * bias_y holds c_out values in Y's type (float, or the 16-bit type of the FP16 / BF16 flag).
 * Returns CINFER_UNSUPPORTED, with nothing launched, where the call is not allowed (prepared
 * without FUSE_CUDNN, no bias, ConvTranspose; without the ReLU cuDNN fuses only on its
 * IMPLICIT_PRECOMP_GEMM algorithm) or cuDNN refuses it; the caller then runs
 * cinfer_cuda_conv_run_fused. */
cinfer_status cinfer_cuda_conv_run_cudnn(cinfer_cuda_ctx *ctx, const cinfer_cuda_conv *c,
                                         const void *x, const void *w, const void *bias_y,
                                         const void *z, int relu, void *y, cinfer_cuda_err *err);

/* Destroys the descriptors and zeroes `c`. Accepts a zeroed or failed-prepare struct. */
void cinfer_cuda_conv_release(cinfer_cuda_conv *c);

#endif
