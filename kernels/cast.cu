// Cast between float, int64, int32 and bool (one byte, 0 or 1), between float and the 16-bit
// float types (ONNX Cast: IEEE rounding, inf beyond the range), and float to the 16-bit GEMM
// operand types (fp16, bfloat16) of reduced-precision plans (saturating).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "common.cuh"
#include "half_access.cuh"

namespace {

// to_bool / from_bool: bool semantics (x != 0) instead of a numeric conversion.
template <class S, class D>
__global__ void cast(D *y, const S *x, int64_t n, bool boolish) {
    for (int64_t i = k_first(); i < n; i += k_step())
        y[i] = boolish ? (D)(x[i] != (S)0) : (D)x[i];
}

template <class S, class D>
static cudaError_t launch_cast(void *y, const void *x, int64_t n, bool boolish,
                               cudaStream_t stream) {
    cast<S, D><<<k_blocks_for(n), K_BLOCK, 0, stream>>>((D *)y, (const S *)x, n, boolish);
    return cudaGetLastError();
}

template <class S>
static cudaError_t cast_from(void *y, cinfer_k_dtype to, const void *x, int64_t n, bool boolish,
                             cudaStream_t stream) {
    switch (to) {
    case CINFER_K_F32: return launch_cast<S, float>(y, x, n, boolish, stream);
    case CINFER_K_I64: return launch_cast<S, int64_t>(y, x, n, boolish, stream);
    case CINFER_K_I32: return launch_cast<S, int32_t>(y, x, n, boolish, stream);
    case CINFER_K_BOOL: return launch_cast<S, uint8_t>(y, x, n, true, stream);
    case CINFER_K_F16: case CINFER_K_BF16: break; /* the f32 <-> 16-bit entries below */
    }
    return cudaErrorInvalidValue;
}

// Round to nearest even, as cuBLASLt expects of its operands; finite values beyond the 16-bit
// range saturate (half_access.cuh), infinities and NaN pass through.
__global__ void f32_to_f16(__half *y, const float *x, int64_t n) {
    for (int64_t i = k_first(); i < n; i += k_step()) y[i] = kh_to_f16(x[i]);
}

__global__ void f32_to_bf16(__nv_bfloat16 *y, const float *x, int64_t n) {
    for (int64_t i = k_first(); i < n; i += k_step()) y[i] = kh_to_bf16(x[i]);
}

// ONNX Cast's float -> fp16 / bf16: round to nearest even, overflow to inf (as the CPU's Cast
// and numpy do), unlike the saturating conversions above.
__global__ void f32_to_f16_ieee(__half *y, const float *x, int64_t n) {
    for (int64_t i = k_first(); i < n; i += k_step()) y[i] = __float2half_rn(x[i]);
}

__global__ void f32_to_bf16_ieee(__nv_bfloat16 *y, const float *x, int64_t n) {
    for (int64_t i = k_first(); i < n; i += k_step()) y[i] = __float2bfloat16_rn(x[i]);
}

__global__ void f16_to_f32(float *y, const __half *x, int64_t n) {
    for (int64_t i = k_first(); i < n; i += k_step()) y[i] = __half2float(x[i]);
}

__global__ void bf16_to_f32(float *y, const __nv_bfloat16 *x, int64_t n) {
    for (int64_t i = k_first(); i < n; i += k_step()) y[i] = __bfloat162float(x[i]);
}

}  // namespace

extern "C" cudaError_t cinfer_k_cast(void *y, cinfer_k_dtype to, const void *x,
                                     cinfer_k_dtype from, size_t n, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    int64_t m = (int64_t)n;
    const unsigned blocks = k_blocks_for(m);
    if (from == to && (from == CINFER_K_F16 || from == CINFER_K_BF16))  // a half-mode Cast
        return cudaMemcpyAsync(y, x, n * 2, cudaMemcpyDeviceToDevice, stream);
    if (from == CINFER_K_F32 && to == CINFER_K_F16) {
        f32_to_f16_ieee<<<blocks, K_BLOCK, 0, stream>>>((__half *)y, (const float *)x, m);
        return cudaGetLastError();
    }
    if (from == CINFER_K_F32 && to == CINFER_K_BF16) {
        f32_to_bf16_ieee<<<blocks, K_BLOCK, 0, stream>>>((__nv_bfloat16 *)y, (const float *)x, m);
        return cudaGetLastError();
    }
    if (from == CINFER_K_F16 && to == CINFER_K_F32) {
        f16_to_f32<<<blocks, K_BLOCK, 0, stream>>>((float *)y, (const __half *)x, m);
        return cudaGetLastError();
    }
    if (from == CINFER_K_BF16 && to == CINFER_K_F32) {
        bf16_to_f32<<<blocks, K_BLOCK, 0, stream>>>((float *)y, (const __nv_bfloat16 *)x, m);
        return cudaGetLastError();
    }
    switch (from) {
    case CINFER_K_F32: return cast_from<float>(y, to, x, m, false, stream);
    case CINFER_K_I64: return cast_from<int64_t>(y, to, x, m, false, stream);
    case CINFER_K_I32: return cast_from<int32_t>(y, to, x, m, false, stream);
    case CINFER_K_BOOL: return cast_from<uint8_t>(y, to, x, m, true, stream);
    case CINFER_K_F16: case CINFER_K_BF16: break;
    }
    return cudaErrorInvalidValue;
}

extern "C" cudaError_t cinfer_k_f32_to_f16(void *y, const float *x, size_t n,
                                           cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    int64_t m = (int64_t)n;
    f32_to_f16<<<k_blocks_for(m), K_BLOCK, 0, stream>>>((__half *)y, x, m);
    return cudaGetLastError();
}

extern "C" cudaError_t cinfer_k_f32_to_bf16(void *y, const float *x, size_t n,
                                            cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    int64_t m = (int64_t)n;
    f32_to_bf16<<<k_blocks_for(m), K_BLOCK, 0, stream>>>((__nv_bfloat16 *)y, x, m);
    return cudaGetLastError();
}

extern "C" cudaError_t cinfer_k_f16_to_f32(float *y, const void *x, size_t n,
                                           cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    int64_t m = (int64_t)n;
    f16_to_f32<<<k_blocks_for(m), K_BLOCK, 0, stream>>>(y, (const __half *)x, m);
    return cudaGetLastError();
}

extern "C" cudaError_t cinfer_k_bf16_to_f32(float *y, const void *x, size_t n,
                                            cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    int64_t m = (int64_t)n;
    bf16_to_f32<<<k_blocks_for(m), K_BLOCK, 0, stream>>>(y, (const __nv_bfloat16 *)x, m);
    return cudaGetLastError();
}
