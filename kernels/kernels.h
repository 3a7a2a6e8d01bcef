/* cinfer's hand-written CUDA kernels: one `extern "C"` launch wrapper per kernel, taking device
 * pointers, sizes and the stream to launch on. Each returns cudaSuccess or the launch error
 * (cudaGetLastError right after the launch); none synchronizes or allocates. Sizes are element
 * counts unless a name says bytes. Included from C (the backend's host code) and CUDA. */
#ifndef CINFER_KERNELS_H
#define CINFER_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* fill.cu: y[i] = value for i < n. */
cudaError_t cinfer_k_fill_f32(float *y, float value, size_t n, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
