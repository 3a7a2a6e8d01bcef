/* fp32 (or TF32) Conv and ConvTranspose on cuDNN's legacy convolution API, algorithm chosen at
 * prepare; fp16/bf16 tensors with fp32 compute for half activations.
 *
 * 1-D convolutions run as 2-D ones with H = 1 (cuDNN's descriptors start at 4 dimensions),
 * 3-D ones through the Nd descriptors. ConvTranspose is cuDNN's backward-data pass of the
 * convolution that maps Y's shape to X's: ONNX's ConvTranspose weights [c_in, c_out/groups, k]
 * are exactly that forward convolution's filter [K = c_in, C/groups = c_out/groups, k]. */
#include "cuda/conv.h"
#include "kernels.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIMS 5 /* N, C and up to three spatial */

/* cuDNN's legacy descriptors take int; the whole tensor also has to index with int. */
static int fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

/* At most one of the TF32, FP16 and BF16 flags. */
static bool one_type(unsigned flags) {
    unsigned t = flags & (CINFER_CONV_TF32 | CINFER_CONV_FP16 | CINFER_CONV_BF16);
    return (t & (t - 1)) == 0;
}

/* NHWC: a 2-D convolution or transposed convolution on 16-bit tensors. */
static bool nhwc_ok(const cinfer_cuda_conv_params *p) {
    if (!(p->flags & CINFER_CONV_NHWC)) return true;
    return p->nspatial == 2 && (p->flags & (CINFER_CONV_FP16 | CINFER_CONV_BF16));
}

static cinfer_status check_counts(const cinfer_cuda_conv_params *p, cinfer_cuda_err *err) {
    if (p->nspatial < 1 || p->nspatial > 3 || p->n < 1 || p->c_in < 1 || p->c_out < 1 ||
        p->groups < 1 || p->c_in % p->groups || p->c_out % p->groups ||
        p->flags & ~(unsigned)(CINFER_CONV_BIAS | CINFER_CONV_RELU | CINFER_CONV_TRANSPOSE |
                               CINFER_CONV_TF32 | CINFER_CONV_FP16 | CINFER_CONV_BF16 |
                               CINFER_CONV_NHWC | CINFER_CONV_FUSE_CUDNN) ||
        !one_type(p->flags) || !nhwc_ok(p))
        return cinfer_cuda_err_set(err, CINFER_INVALID_ARGUMENT,
                                   "conv: %d spatial axes, N=%lld C_in=%lld C_out=%lld groups=%lld "
                                   "flags=0x%x: need 1-3 axes, positive sizes, channels divisible "
                                   "by groups, known flags, one of TF32/FP16/BF16 at most, NHWC "
                                   "only for 2-D 16-bit tensors",
                                   p->nspatial, (long long)p->n, (long long)p->c_in,
                                   (long long)p->c_out, (long long)p->groups, p->flags);
    return CINFER_OK;
}

/* Output extent along axis i, or -1 when the parameters make no sense. */
static int64_t out_extent(const cinfer_cuda_conv_params *p, int i) {
    int64_t span = p->dilation[i] * (p->kernel[i] - 1) + 1;
    if (p->flags & CINFER_CONV_TRANSPOSE)
        return p->stride[i] * (p->in[i] - 1) + p->out_pad[i] + span - p->pad_begin[i] -
               p->pad_end[i];
    int64_t padded = p->in[i] + p->pad_begin[i] + p->pad_end[i];
    return padded < span ? -1 : (padded - span) / p->stride[i] + 1;
}

/* Checks one spatial axis and fills c->out[i]. */
static cinfer_status check_axis(cinfer_cuda_conv *c, int i, cinfer_cuda_err *err) {
    cinfer_cuda_conv_params *p = &c->p;
    int transpose = !!(p->flags & CINFER_CONV_TRANSPOSE);
    if (!p->stride[i]) p->stride[i] = 1;
    if (!p->dilation[i]) p->dilation[i] = 1;
    if (p->in[i] < 1 || p->kernel[i] < 1 || p->stride[i] < 1 || p->dilation[i] < 1 ||
        p->pad_begin[i] < 0 || p->pad_end[i] < 0 || (transpose && p->out_pad[i] < 0) ||
        (c->out[i] = out_extent(p, i)) < 1 || !fits_int(c->out[i]))
        return cinfer_cuda_err_set(err, CINFER_INVALID_ARGUMENT,
                                   "conv axis %d: input %lld, kernel %lld, stride %lld, dilation "
                                   "%lld, pads %lld/%lld give no valid output",
                                   i, (long long)p->in[i], (long long)p->kernel[i],
                                   (long long)p->stride[i], (long long)p->dilation[i],
                                   (long long)p->pad_begin[i], (long long)p->pad_end[i]);
    /* cuDNN pads both ends of an axis alike. For Conv, what one end pads beyond the other
     * goes into the padded copy of X (pre before, the rest after); for ConvTranspose the end
     * pad only trims Y, which works when the forward convolution of Y (with the begin pad on
     * both ends) lands back on X's extent. */
    int64_t b = p->pad_begin[i], e = p->pad_end[i];
    c->sym[i] = transpose ? b : b < e ? b : e;
    c->pre[i] = transpose ? 0 : b - c->sym[i];
    c->padded_in[i] = transpose ? p->in[i] : p->in[i] + (b - c->sym[i]) + (e - c->sym[i]);
    int64_t span = p->dilation[i] * (p->kernel[i] - 1) + 1;
    int64_t reach = c->out[i] + 2 * b - span; /* floor division needs >= 0 */
    int64_t back = reach < 0 ? 0 : reach / p->stride[i] + 1;
    if (transpose && back != p->in[i])
        return cinfer_cuda_err_set(err, CINFER_UNSUPPORTED,
                                   "ConvTranspose axis %d: pads %lld/%lld with output_padding %lld "
                                   "cannot be expressed with cuDNN's symmetric pads; run on the "
                                   "CPU",
                                   i, (long long)p->pad_begin[i], (long long)p->pad_end[i],
                                   (long long)p->out_pad[i]);
    return CINFER_OK;
}

static cinfer_status check_params(cinfer_cuda_conv *c, cinfer_cuda_err *err) {
    cinfer_status rc = check_counts(&c->p, err);
    for (int i = 0; rc == CINFER_OK && i < c->p.nspatial; i++) rc = check_axis(c, i, err);
    if (rc != CINFER_OK) return rc;
    int64_t in_elems = c->p.n * c->p.c_in, out_elems = c->p.n * c->p.c_out;
    for (int i = 0; i < c->p.nspatial; i++) {
        in_elems *= c->padded_in[i]; /* at least X's own extent */
        out_elems *= c->out[i];
        const cinfer_cuda_conv_params *p = &c->p;
        if (!fits_int(in_elems) || !fits_int(out_elems) || !fits_int(p->kernel[i]) ||
            !fits_int(p->stride[i]) || !fits_int(p->dilation[i]) || !fits_int(c->sym[i]))
            return cinfer_cuda_err_set(err, CINFER_UNSUPPORTED,
                                       "conv: a tensor of more than 2^31-1 elements; cuDNN's "
                                       "legacy API indexes with int");
    }
    return CINFER_OK;
}

cinfer_status cinfer_cuda_conv_check(const cinfer_cuda_conv_params *p, cinfer_cuda_conv *c,
                                     cinfer_cuda_err *err) {
    cinfer_cuda_conv local;
    if (!c) c = &local;
    memset(c, 0, sizeof *c);
    c->p = *p;
    cinfer_status rc = check_params(c, err);
    if (rc != CINFER_OK) memset(c, 0, sizeof *c);
    return rc;
}

/* Whether X goes through the padded copy (asymmetric Conv pads). */
static bool needs_padding(const cinfer_cuda_conv *c) {
    for (int i = 0; i < c->p.nspatial; i++)
        if (c->padded_in[i] != c->p.in[i]) return true;
    return false;
}

static size_t elem_size(const cinfer_cuda_conv_params *p) {
    return (p->flags & (CINFER_CONV_FP16 | CINFER_CONV_BF16)) ? 2 : 4;
}

void cinfer_cuda_conv_pad_copy_of(const cinfer_cuda_conv *c, cinfer_cuda_conv_pad_copy *pc) {
    const cinfer_cuda_conv_params *p = &c->p;
    int ns = p->nspatial;
    bool nhwc = p->flags & CINFER_CONV_NHWC;
    /* Memory order: N, C, spatial...; channels last N, spatial..., C. `axis` maps each
     * position to -2 (N), -1 (C) or a spatial axis. */
    int axis[5], k = 0;
    axis[k++] = -2;
    if (!nhwc) axis[k++] = -1;
    for (int i = 0; i < ns; i++) axis[k++] = i;
    if (nhwc) axis[k++] = -1;
    memset(pc, 0, sizeof *pc);
    pc->dims.rank = k;
    int64_t src = 1, dst = 1;
    for (int d = k - 1; d >= 0; d--) {
        int a = axis[d];
        int64_t in = a == -2 ? p->n : a == -1 ? p->c_in : p->in[a];
        int64_t padded = a >= 0 ? c->padded_in[a] : in;
        pc->dims.size[d] = in;
        pc->src.s[d] = src;
        pc->dst.s[d] = dst;
        if (a >= 0) pc->dst_offset += c->pre[a] * dst;
        src *= in;
        dst *= padded;
    }
}

/* The padded copy of X, zeroed once: runs write only its interior (pad_input). */
static cinfer_status alloc_padded(cinfer_cuda_ctx *ctx, cinfer_cuda_conv *c,
                                  cinfer_cuda_err *err) {
    if (!needs_padding(c)) return CINFER_OK;
    cinfer_cuda_conv_pad_copy_of(c, &c->pad_copy);
    size_t bytes = (size_t)(c->p.n * c->p.c_in) * elem_size(&c->p);
    for (int i = 0; i < c->p.nspatial; i++) bytes *= (size_t)c->padded_in[i];
    cinfer_status rc = CINFER_OK;
    CUDA_CHECK(err, rc, cinfer__cuda_malloc(&c->padded, bytes), fail);
    /* Ordered before every run's copy on the same stream: no wait needed. */
    CUDA_CHECK(err, rc, cudaMemsetAsync(c->padded, 0, bytes, ctx->compute), fail);
fail:
    return rc;
}

/* What cuDNN reads as X: x itself, or (asymmetric pads) the padded buffer with x copied into
 * its interior on ctx->compute. */
static cinfer_status pad_input(cinfer_cuda_ctx *ctx, const cinfer_cuda_conv *c, const void **x,
                               cinfer_cuda_err *err) {
    if (!c->padded) return CINFER_OK;
    const cinfer_cuda_conv_pad_copy *pc = &c->pad_copy;
    size_t es = elem_size(&c->p);
    cudaError_t e = cinfer_k_copy_strided((char *)c->padded + pc->dst_offset * (int64_t)es,
                                          pc->dst, *x, pc->src, pc->dims, es, ctx->compute);
    *x = c->padded;
    return CINFER_CUDA_AFTER_LAUNCH(err, ctx->compute, e, "convolution input padding");
}

/* Dimension arrays in cuDNN's form: 1-D becomes 2-D with a leading spatial extent of 1 (and a
 * kernel of 1, stride 1, no pad). `spatial` gets nd = max(nspatial, 2) entries. */
static int to_cudnn(const cinfer_cuda_conv_params *p, const int64_t *v, int one, int *spatial) {
    int nd = p->nspatial < 2 ? 2 : p->nspatial, shift = nd - p->nspatial;
    for (int i = 0; i < nd; i++) spatial[i] = i < shift ? one : (int)v[i - shift];
    return nd;
}

/* The type X, W and Y are stored in. The 16-bit ones with CUDNN_DATA_FLOAT as the
 * convolution's compute type are cuDNN's PSEUDO_HALF_CONFIG and PSEUDO_BFLOAT16_CONFIG (the
 * latter for compute capability 8.0 and up, cinfer's floor): 16-bit tensors, fp32
 * arithmetic, one rounding on store. */
static cudnnDataType_t data_type(const cinfer_cuda_conv_params *p) {
    return (p->flags & CINFER_CONV_FP16)   ? CUDNN_DATA_HALF
           : (p->flags & CINFER_CONV_BF16) ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
}

static bool is_half(const cinfer_cuda_conv_params *p) {
    return (p->flags & (CINFER_CONV_FP16 | CINFER_CONV_BF16)) != 0;
}

/* NCHW, or NHWC when the plan stores the activations channels last (the core chooses that for
 * whole regions between convolutions, so no transpose sits beside each one). The dims are
 * NCHW's either way; the format says how they lie in memory. */
static cudnnTensorFormat_t format_of(const cinfer_cuda_conv_params *p) {
    return (p->flags & CINFER_CONV_NHWC) ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
}

static cinfer_status set_tensor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t format,
                                cudnnDataType_t type, int64_t n, int64_t ch, const int *spatial,
                                int nd, cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    int dims[MAX_DIMS] = {(int)n, (int)ch};
    memcpy(dims + 2, spatial, (size_t)nd * sizeof(int));
    CUDNN_CHECK(err, rc, cudnnSetTensorNdDescriptorEx(d, format, type, nd + 2, dims), fail);
fail:
    return rc;
}

static cinfer_status create_descriptors(cinfer_cuda_conv *c, cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    CUDNN_CHECK(err, rc, cudnnCreateTensorDescriptor(&c->x), fail);
    CUDNN_CHECK(err, rc, cudnnCreateTensorDescriptor(&c->y), fail);
    CUDNN_CHECK(err, rc, cudnnCreateFilterDescriptor(&c->w), fail);
    CUDNN_CHECK(err, rc, cudnnCreateConvolutionDescriptor(&c->conv), fail);
    if (c->p.flags & CINFER_CONV_BIAS)
        CUDNN_CHECK(err, rc, cudnnCreateTensorDescriptor(&c->bias), fail);
    if (c->p.flags & CINFER_CONV_RELU) {
        CUDNN_CHECK(err, rc, cudnnCreateActivationDescriptor(&c->relu), fail);
        CUDNN_CHECK(err, rc, cudnnSetActivationDescriptor(c->relu, CUDNN_ACTIVATION_RELU,
                                                          CUDNN_PROPAGATE_NAN, 0.0), fail);
    }
fail:
    return rc;
}

/* Tensor-op math for TF32 and for 16-bit tensors (whose tensor-core kernels accumulate in
 * the fp32 compute type); FMA math, no TF32, otherwise. */
static cudnnMathType_t math_of(const cinfer_cuda_conv_params *p) {
    return (p->flags & CINFER_CONV_TF32) || is_half(p) ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH;
}

static cinfer_status set_conv(cinfer_cuda_conv *c, cinfer_cuda_err *err) {
    const cinfer_cuda_conv_params *p = &c->p;
    cinfer_status rc = CINFER_OK;
    int pad[3], stride[3], dil[3];
    int nd = to_cudnn(p, c->sym, 0, pad);
    to_cudnn(p, p->stride, 1, stride);
    to_cudnn(p, p->dilation, 1, dil);
    /* ONNX Conv is a cross-correlation (no kernel flip). */
    CUDNN_CHECK(err, rc, cudnnSetConvolutionNdDescriptor(c->conv, nd, pad, stride, dil,
                                                         CUDNN_CROSS_CORRELATION,
                                                         CUDNN_DATA_FLOAT), fail);
    CUDNN_CHECK(err, rc, cudnnSetConvolutionGroupCount(c->conv, (int)p->groups), fail);
    /* FMA math: plain fp32 kernels only. CUDNN_DEFAULT_MATH would let Ampere and later run
     * fp32 convolutions in TF32 (10-bit mantissa), far outside the fp32 tolerance; TF32 plans
     * ask for exactly that, with tensor-op math. */
    CUDNN_CHECK(err, rc, cudnnSetConvolutionMathType(c->conv, math_of(p)), fail);
fail:
    return rc;
}

/* Shapes of X, Y, W and bias; then cuDNN's own output shape must agree with ours. */
static cinfer_status set_shapes(cinfer_cuda_conv *c, cinfer_cuda_err *err) {
    const cinfer_cuda_conv_params *p = &c->p;
    int transpose = !!(p->flags & CINFER_CONV_TRANSPOSE);
    int in[3], out[3], k[3], ones[3] = {1, 1, 1}, got[MAX_DIMS];
    int nd = to_cudnn(p, c->padded_in, 1, in); /* X as cuDNN sees it: p->in unless padded */
    to_cudnn(p, c->out, 1, out);
    to_cudnn(p, p->kernel, 1, k);
    cudnnDataType_t type = data_type(p);
    cudnnTensorFormat_t format = format_of(p);
    cinfer_status rc = set_tensor(c->x, format, type, p->n, p->c_in, in, nd, err);
    if (rc == CINFER_OK) rc = set_tensor(c->y, format, type, p->n, p->c_out, out, nd, err);
    if (rc == CINFER_OK && c->bias)
        rc = set_tensor(c->bias, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, p->c_out, ones, nd, err);
    if (rc != CINFER_OK) return rc;
    int wdims[MAX_DIMS] = {(int)(transpose ? p->c_in : p->c_out),
                           (int)((transpose ? p->c_out : p->c_in) / p->groups)};
    memcpy(wdims + 2, k, (size_t)nd * sizeof(int));
    CUDNN_CHECK(err, rc, cudnnSetFilterNdDescriptor(c->w, type, format, nd + 2, wdims), fail);
    /* The forward convolution's input is X for Conv and Y for ConvTranspose. */
    CUDNN_CHECK(err, rc, cudnnGetConvolutionNdForwardOutputDim(c->conv, transpose ? c->y : c->x,
                                                               c->w, nd + 2, got), fail);
    const int *want = transpose ? in : out;
    int64_t want_c = transpose ? p->c_in : p->c_out;
    int same = got[0] == p->n && got[1] == want_c;
    for (int i = 0; i < nd; i++) same = same && got[i + 2] == want[i];
    if (!same)
        rc = cinfer_cuda_err_set(err, CINFER_INTERNAL,
                                 "conv: cuDNN's output shape disagrees with ONNX's formula");
fail:
    return rc;
}

/* Winograd trades multiplications for additions of transformed tiles and FFT works in the
 * frequency domain: both round differently from a direct fp32 sum, by more than the fp32 op
 * tolerance on some shapes, so fp32 (and TF32) plans never use them. 16-bit tensors are held
 * to the fp16/bf16 tolerance (1e-2), far above those differences: there they are allowed. */
static int excluded_fwd(const cinfer_cuda_conv *c, cudnnConvolutionFwdAlgo_t a) {
    if (is_half(&c->p)) return 0;
    return a == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD ||
           a == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED ||
           a == CUDNN_CONVOLUTION_FWD_ALGO_FFT || a == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING;
}

static int excluded_bwd(const cinfer_cuda_conv *c, cudnnConvolutionBwdDataAlgo_t a) {
    if (is_half(&c->p)) return 0;
    return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD ||
           a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED ||
           a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT ||
           a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING;
}

/* A result that needs tensor-op math, which fp32 plans refuse (TF32 and 16-bit plans take it;
 * never ALLOW_CONVERSION, which may also convert to fp16). */
static int refused_math(const cinfer_cuda_conv *c, cudnnMathType_t m) {
    if (m == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) return 1;
    return m == CUDNN_TENSOR_OP_MATH && math_of(&c->p) != CUDNN_TENSOR_OP_MATH;
}

static cinfer_status no_algo(const cinfer_cuda_ctx *ctx, const cinfer_cuda_conv *c,
                             cinfer_cuda_err *err) {
    bool tf32 = c->p.flags & CINFER_CONV_TF32;
    const char *type = (c->p.flags & CINFER_CONV_FP16)   ? "fp16"
                       : (c->p.flags & CINFER_CONV_BF16) ? "bf16"
                       : tf32                            ? "tf32" : "fp32";
    const char *excluded = is_half(&c->p) ? "only backward data's ALGO_0 excluded"
                           : tf32         ? "Winograd, FFT excluded"
                                          : "Winograd, FFT and TF32 excluded";
    return cinfer_cuda_err_set(err, CINFER_UNSUPPORTED,
                               "%s: no deterministic %s cuDNN algorithm (%s) fits the %zu-byte "
                               "workspace on CUDA device %d",
                               (c->p.flags & CINFER_CONV_TRANSPOSE) ? "ConvTranspose" : "Conv",
                               type, excluded, ctx->dnn_workspace_bytes, ctx->device);
}

/* Sets the math type a heuristic result runs with (false: cuDNN refused it, skip the result):
 * what it reported for 16-bit tensors (cuDNN vouches for a result only under its own math
 * type; forcing tensor-op math on a bf16 result has given NaNs elsewhere), else ours (FMA for
 * fp32, tensor-op for TF32), which refused_math enforced.
 * Set on the descriptor, so the workspace query and the run see it. */
static bool use_math(cinfer_cuda_conv *c, cudnnMathType_t reported) {
    c->math = is_half(&c->p) ? reported : math_of(&c->p);
    return cudnnSetConvolutionMathType(c->conv, c->math) == CUDNN_STATUS_SUCCESS;
}

/* A forward result cuDNN vouches for, not excluded, under a math type we accept (the
 * heuristic and the timed choice both go by it). */
static bool usable_fwd(const cinfer_cuda_conv *c, const cudnnConvolutionFwdAlgoPerf_t *r) {
    return r->status == CUDNN_STATUS_SUCCESS && !excluded_fwd(c, r->algo) &&
           !refused_math(c, r->mathType);
}

/* CINFER_CUDA_CONV_SEARCH=exhaustive (an experiment, unset by default): time every forward
 * algorithm on scratch buffers at prepare (cudnnFindConvolutionForwardAlgorithmEx, as
 * PyTorch's cudnn.benchmark and ORT's EXHAUSTIVE search do) and take the fastest acceptable
 * one, instead of cuDNN's heuristic order. Load takes longer; whether runs get faster is for
 * a GPU run to show (tools/gpu-check benches ResNet-50 both ways). */
static bool exhaustive_search(void) {
    const char *e = getenv("CINFER_CUDA_CONV_SEARCH");
    return e && !strcmp(e, "exhaustive");
}

/* The exhaustive search; false (nothing chosen, no error) whenever it cannot run: scratch
 * memory short, the compute stream capturing a graph, cuDNN refusing. pick_fwd then falls
 * back to the heuristics. All forward algorithms are deterministic, so replays stay bitwise. */
static bool find_fwd(cinfer_cuda_ctx *ctx, cinfer_cuda_conv *c) {
    enum cudaStreamCaptureStatus cap = cudaStreamCaptureStatusNone;
    if (cudaStreamIsCapturing(ctx->compute, &cap) != cudaSuccess ||
        cap != cudaStreamCaptureStatusNone)
        return false;
    size_t xb = 0, wb = 0, yb = 0;
    if (cudnnGetTensorSizeInBytes(c->x, &xb) != CUDNN_STATUS_SUCCESS ||
        cudnnGetFilterSizeInBytes(c->w, &wb) != CUDNN_STATUS_SUCCESS ||
        cudnnGetTensorSizeInBytes(c->y, &yb) != CUDNN_STATUS_SUCCESS)
        return false;
    void *x = NULL, *w = NULL, *y = NULL;
    bool chosen = false;
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int n = 0;
    if (cudaMalloc(&x, xb) == cudaSuccess && cudaMalloc(&w, wb) == cudaSuccess &&
        cudaMalloc(&y, yb) == cudaSuccess &&
        cudaMemsetAsync(x, 0, xb, ctx->compute) == cudaSuccess && /* ordered before the timing */
        cudaMemsetAsync(w, 0, wb, ctx->compute) == cudaSuccess &&
        cudnnFindConvolutionForwardAlgorithmEx(
            ctx->dnn, c->x, x, c->w, w, c->conv, c->y, y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n,
            perf, ctx->dnn_workspace, ctx->dnn_workspace_bytes) == CUDNN_STATUS_SUCCESS) {
        for (int i = 0; i < n && !chosen; i++) { /* fastest first */
            if (!usable_fwd(c, &perf[i]) || perf[i].memory > ctx->dnn_workspace_bytes ||
                !use_math(c, perf[i].mathType))
                continue;
            c->fwd_algo = perf[i].algo;
            c->workspace_bytes = perf[i].memory;
            chosen = true;
        }
    }
    (void)cudaGetLastError(); /* a failed scratch allocation is not the run's error */
    if (x) (void)cudaFree(x);
    if (w) (void)cudaFree(w);
    if (y) (void)cudaFree(y);
    return chosen;
}

/* Heuristic order, first acceptable result wins. A result whose workspace query fails is
 * skipped, not an error: the next one may well work. */
static cinfer_status pick_fwd(cinfer_cuda_ctx *ctx, cinfer_cuda_conv *c, cinfer_cuda_err *err) {
    if (exhaustive_search() && find_fwd(ctx, c)) return CINFER_OK;
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int n = 0;
    cinfer_status rc = CINFER_OK;
    CUDNN_CHECK(err, rc, cudnnGetConvolutionForwardAlgorithm_v7(
                             ctx->dnn, c->x, c->w, c->conv, c->y,
                             CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf), fail);
    for (int i = 0; i < n; i++) {
        size_t ws = 0;
        if (!usable_fwd(c, &perf[i])) continue;
        if (!use_math(c, perf[i].mathType) ||
            cudnnGetConvolutionForwardWorkspaceSize(ctx->dnn, c->x, c->w, c->conv, c->y,
                                                    perf[i].algo, &ws) != CUDNN_STATUS_SUCCESS ||
            ws > ctx->dnn_workspace_bytes)
            continue;
        c->fwd_algo = perf[i].algo;
        c->workspace_bytes = ws;
        return CINFER_OK;
    }
    return no_algo(ctx, c, err);
fail:
    return rc;
}

/* As pick_fwd, less backward data's ALGO_0: it accumulates with atomics, so its results vary
 * from run to run, and graph replays must match eager runs bit for bit. (Excluded by id, as
 * cudnn_ops.h documents it, rather than by the perf result's determinism field.) All forward
 * algorithms are deterministic. */
static cinfer_status pick_bwd(cinfer_cuda_ctx *ctx, cinfer_cuda_conv *c, cinfer_cuda_err *err) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int n = 0;
    cinfer_status rc = CINFER_OK;
    /* Backward data: w is the filter, dy is X (the forward conv's output), dx is Y. */
    CUDNN_CHECK(err, rc, cudnnGetConvolutionBackwardDataAlgorithm_v7(
                             ctx->dnn, c->w, c->x, c->conv, c->y,
                             CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf), fail);
    for (int i = 0; i < n; i++) {
        size_t ws = 0;
        if (perf[i].status != CUDNN_STATUS_SUCCESS || excluded_bwd(c, perf[i].algo) ||
            refused_math(c, perf[i].mathType) ||
            perf[i].algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0)
            continue;
        if (!use_math(c, perf[i].mathType) ||
            cudnnGetConvolutionBackwardDataWorkspaceSize(ctx->dnn, c->w, c->x, c->conv, c->y,
                                                         perf[i].algo, &ws) !=
                CUDNN_STATUS_SUCCESS ||
            ws > ctx->dnn_workspace_bytes)
            continue;
        c->bwd_algo = perf[i].algo;
        c->workspace_bytes = ws;
        return CINFER_OK;
    }
    return no_algo(ctx, c, err);
fail:
    return rc;
}

/* FUSE_CUDNN: the descriptors cudnnConvolutionBiasActivationForward needs beyond the plain
 * call's (a bias in Y's data type: cuDNN's float configuration takes a float bias, its pseudo
 * half and pseudo bf16 ones a bias of Y's type) and whether it may run at all. */
static cinfer_status prepare_cudnn_fused(cinfer_cuda_conv *c, cinfer_cuda_err *err) {
    const cinfer_cuda_conv_params *p = &c->p;
    if (!(p->flags & CINFER_CONV_FUSE_CUDNN) || !(p->flags & CINFER_CONV_BIAS) ||
        (p->flags & CINFER_CONV_TRANSPOSE))
        return CINFER_OK;
    cinfer_status rc = CINFER_OK;
    int ones[3] = {1, 1, 1};
    CUDNN_CHECK(err, rc, cudnnCreateTensorDescriptor(&c->bias_y), fail);
    rc = set_tensor(c->bias_y, CUDNN_TENSOR_NCHW, data_type(p), 1, p->c_out, ones,
                    p->nspatial == 1 ? 2 : p->nspatial, err);
    if (rc != CINFER_OK) goto fail;
    CUDNN_CHECK(err, rc, cudnnCreateActivationDescriptor(&c->act_relu), fail);
    CUDNN_CHECK(err, rc, cudnnSetActivationDescriptor(c->act_relu, CUDNN_ACTIVATION_RELU,
                                                      CUDNN_PROPAGATE_NAN, 0.0), fail);
    CUDNN_CHECK(err, rc, cudnnCreateActivationDescriptor(&c->act_none), fail);
    CUDNN_CHECK(err, rc, cudnnSetActivationDescriptor(c->act_none, CUDNN_ACTIVATION_IDENTITY,
                                                      CUDNN_PROPAGATE_NAN, 0.0), fail);
    c->fused = true;
fail:
    return rc;
}

cinfer_status cinfer_cuda_conv_prepare(cinfer_cuda_ctx *ctx, const cinfer_cuda_conv_params *p,
                                       cinfer_cuda_conv *c, cinfer_cuda_err *err) {
    memset(c, 0, sizeof *c);
    c->p = *p;
    cinfer_status rc = check_params(c, err);
    if (rc == CINFER_OK) rc = create_descriptors(c, err);
    if (rc == CINFER_OK) rc = set_conv(c, err);
    if (rc == CINFER_OK) rc = set_shapes(c, err);
    if (rc == CINFER_OK)
        rc = (p->flags & CINFER_CONV_TRANSPOSE) ? pick_bwd(ctx, c, err) : pick_fwd(ctx, c, err);
    /* After the algorithm: a configuration cuDNN refuses (NHWC depthwise) allocates nothing. */
    if (rc == CINFER_OK) rc = alloc_padded(ctx, c, err);
    if (rc == CINFER_OK) rc = prepare_cudnn_fused(c, err);
    /* Say explicitly what runs: FMA math for fp32, tensor-op math for TF32 (whatever the
     * chosen result reported), the chosen result's own math type for 16-bit tensors. */
    if (rc == CINFER_OK)
        CUDNN_CHECK(err, rc, cudnnSetConvolutionMathType(c->conv, c->math), fail);
fail:
    if (rc != CINFER_OK) cinfer_cuda_conv_release(c);
    return rc;
}

cinfer_status cinfer_cuda_conv_run_cudnn(cinfer_cuda_ctx *ctx, const cinfer_cuda_conv *c,
                                         const void *x, const void *w, const void *bias_y,
                                         const void *z, int relu, void *y, cinfer_cuda_err *err) {
    if (!c->fused || !x || !w || !bias_y || !y)
        return cinfer_cuda_err_set(err, CINFER_UNSUPPORTED, "conv: cuDNN's fused call was not "
                                   "prepared (FUSE_CUDNN, a bias, forward only)");
    /* The identity activation exists only on this algorithm (cuDNN's rule). */
    if (!relu && c->fwd_algo != CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM)
        return cinfer_cuda_err_set(err, CINFER_UNSUPPORTED, "conv: cuDNN fuses a bias without "
                                   "a ReLU only on IMPLICIT_PRECOMP_GEMM");
    /* Without Z its weight is 0 and cuDNN is handed Y in its place (it reads nothing then). */
    const float one = 1.0f, z_weight = z ? 1.0f : 0.0f;
    cinfer_status rc = pad_input(ctx, c, &x, err);
    if (rc != CINFER_OK) return rc;
    cudnnStatus_t s = cudnnConvolutionBiasActivationForward(
        ctx->dnn, &one, c->x, x, c->w, w, c->conv, c->fwd_algo, ctx->dnn_workspace,
        c->workspace_bytes, &z_weight, c->y, z ? z : y, c->bias_y, bias_y,
        relu ? c->act_relu : c->act_none, c->y, y);
    /* Refusals (cuDNN 9's 2xxx bad-parameter and 3xxx not-supported codes: no fused kernel
     * for this configuration) fall back; a failure (execution, allocation) is an error. */
    if ((int)s / 1000 == 2 || (int)s / 1000 == 3)
        return cinfer_cuda_err_set(err, CINFER_UNSUPPORTED, "conv: cuDNN refused the fused "
                                   "call: %s", cudnnGetErrorString(s));
    if (s != CUDNN_STATUS_SUCCESS)
        return cinfer__cuda_fail_dnn(err, (int)s, "cudnnConvolutionBiasActivationForward",
                                     __FILE__, __LINE__);
    return CINFER_OK;
}

/* The epilogue kernel's element type. */
static cinfer_k_dtype k_type(const cinfer_cuda_conv_params *p) {
    return (p->flags & CINFER_CONV_FP16)   ? CINFER_K_F16
           : (p->flags & CINFER_CONV_BF16) ? CINFER_K_BF16 : CINFER_K_F32;
}

cinfer_status cinfer_cuda_conv_run_fused(cinfer_cuda_ctx *ctx, const cinfer_cuda_conv *c,
                                         const void *x, const void *w, const float *bias,
                                         const void *z, int relu, void *y,
                                         cinfer_cuda_err *err) {
    const float one = 1.0f, zero = 0.0f;
    cinfer_status rc = CINFER_OK;
    if (!c->conv || !x || !w || !y || (!bias) == !!c->bias)
        return cinfer_cuda_err_set(err, CINFER_INVALID_ARGUMENT,
                                   "conv run: unprepared, or a NULL operand (bias is needed "
                                   "exactly when the BIAS flag is set)");
    if ((rc = pad_input(ctx, c, &x, err)) != CINFER_OK) return rc;
    if (c->p.flags & CINFER_CONV_TRANSPOSE)
        CUDNN_CHECK(err, rc, cudnnConvolutionBackwardData(ctx->dnn, &one, c->w, w, c->x, x, c->conv,
                                                          c->bwd_algo, ctx->dnn_workspace,
                                                          c->workspace_bytes, &zero, c->y, y),
                    fail);
    else
        CUDNN_CHECK(err, rc, cudnnConvolutionForward(ctx->dnn, &one, c->x, x, c->w, w, c->conv,
                                                     c->fwd_algo, ctx->dnn_workspace,
                                                     c->workspace_bytes, &zero, c->y, y), fail);
    /* Bias, residual and ReLU in one pass of our own kernel (cuDNN fuses a bias and activation
     * only for IMPLICIT_PRECOMP_GEMM, which would tie the algorithm choice to the epilogue;
     * cudnnAddTensor plus cudnnActivationForward cost two passes and two library calls). */
    int64_t spatial = 1;
    for (int d = 0; d < c->p.nspatial; d++) spatial *= c->out[d];
    /* Channels last: the channel is the fastest index, as in NCHW with N*H*W images of one
     * pixel each. */
    bool nhwc = c->p.flags & CINFER_CONV_NHWC;
    cudaError_t e = cinfer_k_conv_epilogue(k_type(&c->p), y, c->bias ? bias : NULL, z,
                                           nhwc ? c->p.n * spatial : c->p.n, c->p.c_out,
                                           nhwc ? 1 : spatial, relu, ctx->compute);
    return CINFER_CUDA_AFTER_LAUNCH(err, ctx->compute, e, "convolution epilogue");
fail:
    return rc;
}

cinfer_status cinfer_cuda_conv_run(cinfer_cuda_ctx *ctx, const cinfer_cuda_conv *c, const void *x,
                                   const void *w, const float *bias, void *y,
                                   cinfer_cuda_err *err) {
    return cinfer_cuda_conv_run_fused(ctx, c, x, w, bias, NULL, c->relu != NULL, y, err);
}

void cinfer_cuda_conv_release(cinfer_cuda_conv *c) {
    if (c->padded) {
        (void)cudaFree(c->padded);
        (void)cudaGetLastError(); /* an ignored failure must not reach the next launch */
    }
    if (c->act_relu) (void)cudnnDestroyActivationDescriptor(c->act_relu);
    if (c->act_none) (void)cudnnDestroyActivationDescriptor(c->act_none);
    if (c->bias_y) (void)cudnnDestroyTensorDescriptor(c->bias_y);
    if (c->relu) (void)cudnnDestroyActivationDescriptor(c->relu);
    if (c->conv) (void)cudnnDestroyConvolutionDescriptor(c->conv);
    if (c->w) (void)cudnnDestroyFilterDescriptor(c->w);
    if (c->bias) (void)cudnnDestroyTensorDescriptor(c->bias);
    if (c->y) (void)cudnnDestroyTensorDescriptor(c->y);
    if (c->x) (void)cudnnDestroyTensorDescriptor(c->x);
    memset(c, 0, sizeof *c);
}
