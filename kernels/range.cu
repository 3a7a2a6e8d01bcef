// Range: y[i] = start + i * delta (each element computed from i, so no drift accumulates).
#include "common.cuh"

namespace {

template <class T>
__global__ void range(T *y, T start, T delta, int64_t n) {
    for (int64_t i = k_first(); i < n; i += k_step()) y[i] = start + (T)i * delta;
}

}  // namespace

extern "C" cudaError_t cinfer_k_range_f32(float *y, float start, float delta, size_t n,
                                          cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    if (!y) return cudaErrorInvalidValue;
    range<<<k_blocks_for((int64_t)n), K_BLOCK, 0, stream>>>(y, start, delta, (int64_t)n);
    return cudaGetLastError();
}

extern "C" cudaError_t cinfer_k_range_i64(int64_t *y, int64_t start, int64_t delta, size_t n,
                                          cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    if (!y) return cudaErrorInvalidValue;
    range<<<k_blocks_for((int64_t)n), K_BLOCK, 0, stream>>>(y, start, delta, (int64_t)n);
    return cudaGetLastError();
}
