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

// The float <-> 16-bit conversions, one kernel over a conversion functor:
//   Sat*: round to nearest even, finite values beyond the 16-bit range saturate
//         (half_access.cuh), infinities and NaN pass through: the GEMM operands of
//         reduced-precision plans, as cuBLASLt expects them;
//   Ieee*: ONNX Cast's float -> fp16 / bf16: round to nearest even, overflow to inf (as the
//         CPU's Cast and numpy do);
//   Widen: fp16 / bf16 -> float, exact.
struct SatF16 {
    __device__ __half operator()(float v) const { return kh_to_f16(v); }
};
struct SatBf16 {
    __device__ __nv_bfloat16 operator()(float v) const { return kh_to_bf16(v); }
};
struct IeeeF16 {
    __device__ __half operator()(float v) const { return __float2half_rn(v); }
};
struct IeeeBf16 {
    __device__ __nv_bfloat16 operator()(float v) const { return __float2bfloat16_rn(v); }
};
struct Widen {
    template <class H> __device__ float operator()(H v) const { return kh_load(v); }
};

template <class S, class D, class C> __global__ void convert(D *y, const S *x, int64_t n) {
    C c;
    for (int64_t i = k_first(); i < n; i += k_step()) y[i] = c(x[i]);
}

template <class S, class D, class C>
static cudaError_t launch_convert(void *y, const void *x, size_t n, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    int64_t m = (int64_t)n;
    convert<S, D, C><<<k_blocks_for(m), K_BLOCK, 0, stream>>>((D *)y, (const S *)x, m);
    return cudaGetLastError();
}

}  // namespace

extern "C" cudaError_t cinfer_k_cast(void *y, cinfer_k_dtype to, const void *x,
                                     cinfer_k_dtype from, size_t n, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    int64_t m = (int64_t)n;
    if (from == to && (from == CINFER_K_F16 || from == CINFER_K_BF16))  // a half-mode Cast
        return cudaMemcpyAsync(y, x, n * 2, cudaMemcpyDeviceToDevice, stream);
    if (from == CINFER_K_F32 && to == CINFER_K_F16)
        return launch_convert<float, __half, IeeeF16>(y, x, n, stream);
    if (from == CINFER_K_F32 && to == CINFER_K_BF16)
        return launch_convert<float, __nv_bfloat16, IeeeBf16>(y, x, n, stream);
    if (from == CINFER_K_F16 && to == CINFER_K_F32)
        return launch_convert<__half, float, Widen>(y, x, n, stream);
    if (from == CINFER_K_BF16 && to == CINFER_K_F32)
        return launch_convert<__nv_bfloat16, float, Widen>(y, x, n, stream);
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
    return launch_convert<float, __half, SatF16>(y, x, n, stream);
}

extern "C" cudaError_t cinfer_k_f32_to_bf16(void *y, const float *x, size_t n,
                                            cudaStream_t stream) {
    return launch_convert<float, __nv_bfloat16, SatBf16>(y, x, n, stream);
}

extern "C" cudaError_t cinfer_k_f16_to_f32(float *y, const void *x, size_t n,
                                           cudaStream_t stream) {
    return launch_convert<__half, float, Widen>(y, x, n, stream);
}

extern "C" cudaError_t cinfer_k_bf16_to_f32(float *y, const void *x, size_t n,
                                            cudaStream_t stream) {
    return launch_convert<__nv_bfloat16, float, Widen>(y, x, n, stream);
}
