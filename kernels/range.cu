// Range: y[i] = start + i * delta, each element computed from i (no drift accumulates) with the
// CPU backend's arithmetic: double for floating outputs, int64 for integer ones.
#include "common.cuh"

namespace {

// __dmul_rn/__dadd_rn keep the multiply and add apart (no FMA): the CPU rounds each, and the
// float32 result must round from the same double.
template <class T>
__global__ void range_float(T *y, double start, double delta, int64_t n) {
    for (int64_t i = k_first(); i < n; i += k_step())
        y[i] = (T)__dadd_rn(start, __dmul_rn((double)i, delta));
}

template <class T>
__global__ void range_int(T *y, int64_t start, int64_t delta, int64_t n) {
    for (int64_t i = k_first(); i < n; i += k_step()) y[i] = (T)(start + i * delta);
}

}  // namespace

extern "C" cudaError_t cinfer_k_range_f32(float *y, float start, float delta, size_t n,
                                          cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    if (!y) return cudaErrorInvalidValue;
    range_float<<<k_blocks_for((int64_t)n), K_BLOCK, 0, stream>>>(y, (double)start,
                                                                   (double)delta, (int64_t)n);
    return cudaGetLastError();
}

extern "C" cudaError_t cinfer_k_range_f64(double *y, double start, double delta, size_t n,
                                          cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    if (!y) return cudaErrorInvalidValue;
    range_float<<<k_blocks_for((int64_t)n), K_BLOCK, 0, stream>>>(y, start, delta, (int64_t)n);
    return cudaGetLastError();
}

extern "C" cudaError_t cinfer_k_range_i32(int32_t *y, int64_t start, int64_t delta, size_t n,
                                          cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    if (!y) return cudaErrorInvalidValue;
    range_int<<<k_blocks_for((int64_t)n), K_BLOCK, 0, stream>>>(y, start, delta, (int64_t)n);
    return cudaGetLastError();
}

extern "C" cudaError_t cinfer_k_range_i64(int64_t *y, int64_t start, int64_t delta, size_t n,
                                          cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    if (!y) return cudaErrorInvalidValue;
    range_int<<<k_blocks_for((int64_t)n), K_BLOCK, 0, stream>>>(y, start, delta, (int64_t)n);
    return cudaGetLastError();
}
