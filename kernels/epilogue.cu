// The convolution epilogue in one pass over Y (NC<spatial>): y = act(y + bias[c] + z), each
// part optional. It replaces cuDNN's cudnnAddTensor and cudnnActivationForward after
// cudnnConvolutionForward (two passes over Y and two more library calls, each with host cost)
// and, for FusedConv, the separate add and ReLU kernels. The order of the additions is the CPU
// backend's: (conv + bias) + z, then the clamp. Y and Z are float, fp16 or bf16 (half
// activations: computed in float and rounded on store; cuDNN has already rounded the
// convolution into Y, so a 16-bit result is rounded twice); the bias is float always.
#include "common.cuh"
#include "half_access.cuh"

namespace {

template <typename T>
__global__ void conv_epilogue(T *y, const float *bias, const T *z, int64_t n, int64_t channels,
                              int64_t spatial, int relu) {
    for (int64_t i = k_first(); i < n; i += k_step()) {
        float v = kh_load(y[i]);
        if (bias) v += bias[(i / spatial) % channels];
        if (z) v += kh_load(z[i]);
        if (relu) v = v < 0.0f ? 0.0f : v; // keeps a NaN, as the CPU's clamp does
        kh_store(&y[i], v);
    }
}

// Eight 16-bit elements per thread through 16-byte loads and stores (the scalar kernel moves two
// bytes per access): taken when the eight share one channel (spatial % 8 == 0) or are eight
// consecutive channels (spatial 1, as channels-last storage runs it, with channels % 8 == 0)
// and y and z are 16-byte aligned. Same arithmetic per element as conv_epilogue.
template <typename T>
__global__ void conv_epilogue8(T *y, const float *bias, const T *z, int64_t groups,
                               int64_t channels, int64_t spatial, int relu) {
    for (int64_t g = k_first(); g < groups; g += k_step()) {
        int64_t i = g * 8, c0 = (i / spatial) % channels;
        uint4 yv = reinterpret_cast<const uint4 *>(y)[g], zv = {0, 0, 0, 0};
        if (z) zv = reinterpret_cast<const uint4 *>(z)[g];
        T *ye = reinterpret_cast<T *>(&yv);
        const T *ze = reinterpret_cast<const T *>(&zv);
#pragma unroll
        for (int k = 0; k < 8; k++) {
            float v = kh_load(ye[k]);
            if (bias) v += bias[spatial == 1 ? c0 + k : c0];
            if (z) v += kh_load(ze[k]);
            if (relu) v = v < 0.0f ? 0.0f : v;
            kh_store(&ye[k], v);
        }
        reinterpret_cast<uint4 *>(y)[g] = yv;
    }
}

bool vector_ok(const void *y, const void *z, int64_t channels, int64_t spatial) {
    if ((uintptr_t)y % 16 || (uintptr_t)z % 16) return false;
    return spatial % 8 == 0 || (spatial == 1 && channels % 8 == 0);
}

template <typename T>
cudaError_t launch_epilogue(void *y, const float *bias, const void *z, int64_t batch,
                            int64_t channels, int64_t spatial, int relu, cudaStream_t stream) {
    if (batch < 0 || channels < 0 || spatial < 0) return cudaErrorInvalidValue;
    int64_t n = batch * channels * spatial;
    if (n == 0 || (!bias && !z && !relu)) return cudaSuccess;
    if (!y) return cudaErrorInvalidValue;
    if constexpr (sizeof(T) == 2) {  // eight per 16-byte vector: 16-bit types only
        if (vector_ok(y, z, channels, spatial)) {
            conv_epilogue8<T><<<k_blocks_for(n / 8), K_BLOCK, 0, stream>>>(
                (T *)y, bias, (const T *)z, n / 8, channels, spatial, relu);
            return cudaGetLastError();
        }
    }
    conv_epilogue<T><<<k_blocks_for(n), K_BLOCK, 0, stream>>>((T *)y, bias, (const T *)z, n,
                                                              channels, spatial, relu);
    return cudaGetLastError();
}

}  // namespace

extern "C" cudaError_t cinfer_k_conv_epilogue_f32(float *y, const float *bias, const float *z,
                                                  int64_t batch, int64_t channels,
                                                  int64_t spatial, int relu,
                                                  cudaStream_t stream) {
    return launch_epilogue<float>(y, bias, z, batch, channels, spatial, relu, stream);
}

extern "C" cudaError_t cinfer_k_conv_epilogue(cinfer_k_dtype dt, void *y, const float *bias,
                                              const void *z, int64_t batch, int64_t channels,
                                              int64_t spatial, int relu, cudaStream_t stream) {
    switch (dt) {
    case CINFER_K_F32:
        return launch_epilogue<float>(y, bias, z, batch, channels, spatial, relu, stream);
    case CINFER_K_F16:
        return launch_epilogue<__half>(y, bias, z, batch, channels, spatial, relu, stream);
    case CINFER_K_BF16:
        return launch_epilogue<__nv_bfloat16>(y, bias, z, batch, channels, spatial, relu,
                                              stream);
    default: return cudaErrorInvalidValue;
    }
}
