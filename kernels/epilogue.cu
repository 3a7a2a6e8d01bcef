// The convolution epilogue in one pass over Y (NC<spatial>): y = act(y + bias[c] + z), each
// part optional. It replaces cuDNN's cudnnAddTensor and cudnnActivationForward after
// cudnnConvolutionForward (two passes over Y and two more library calls, each with host cost)
// and, for FusedConv, the separate add and ReLU kernels. The order of the additions is the CPU
// backend's: (conv + bias) + z, then the clamp.
#include "common.cuh"

namespace {

__global__ void conv_epilogue_f32(float *y, const float *bias, const float *z, int64_t n,
                                  int64_t channels, int64_t spatial, int relu) {
    for (int64_t i = k_first(); i < n; i += k_step()) {
        float v = y[i];
        if (bias) v += bias[(i / spatial) % channels];
        if (z) v += z[i];
        if (relu) v = v < 0.0f ? 0.0f : v; // keeps a NaN, as the CPU's clamp does
        y[i] = v;
    }
}

}  // namespace

extern "C" cudaError_t cinfer_k_conv_epilogue_f32(float *y, const float *bias, const float *z,
                                                  int64_t batch, int64_t channels,
                                                  int64_t spatial, int relu,
                                                  cudaStream_t stream) {
    if (batch < 0 || channels < 0 || spatial < 0) return cudaErrorInvalidValue;
    int64_t n = batch * channels * spatial;
    if (n == 0 || (!bias && !z && !relu)) return cudaSuccess;
    if (!y) return cudaErrorInvalidValue;
    conv_epilogue_f32<<<k_blocks_for(n), K_BLOCK, 0, stream>>>(y, bias, z, n, channels, spatial,
                                                               relu);
    return cudaGetLastError();
}
