// Element access for kernels templated over the activation type (float, __half,
// __nv_bfloat16): kh_load widens to float, kh_store rounds a float result to nearest even once.
// With T = float both are the identity, so a float instantiation computes exactly what the
// float-only kernel did.
//
// Saturation: a FINITE float beyond the 16-bit type's largest finite value is stored as that
// value (+-65504 in fp16, +-3.3895314e38 in bf16) rather than as an infinity; infinities and
// NaN pass through. Models exported in fp32 build attention masks from finfo(float32).min:
// saturated, masked keys still weigh nothing and a fully masked row stays finite instead of
// becoming NaN (docs/cuda-backend.md, "Half activations").
#ifndef CINFER_KERNELS_HALF_ACCESS_CUH
#define CINFER_KERNELS_HALF_ACCESS_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "kernels.h"

static inline __device__ float kh_load(float v) { return v; }
static inline __device__ float kh_load(__half v) { return __half2float(v); }
static inline __device__ float kh_load(__nv_bfloat16 v) { return __bfloat162float(v); }

#define KH_F16_MAX 65504.0f
#define KH_BF16_MAX 3.38953139e38f

static inline __device__ __half kh_to_f16(float v) {
    if (fabsf(v) > KH_F16_MAX && isfinite(v)) v = copysignf(KH_F16_MAX, v);
    return __float2half_rn(v);
}

static inline __device__ __nv_bfloat16 kh_to_bf16(float v) {
    if (fabsf(v) > KH_BF16_MAX && isfinite(v)) v = copysignf(KH_BF16_MAX, v);
    return __float2bfloat16_rn(v);
}

static inline __device__ void kh_store(float *p, float v) { *p = v; }
static inline __device__ void kh_store(__half *p, float v) { *p = kh_to_f16(v); }
static inline __device__ void kh_store(__nv_bfloat16 *p, float v) { *p = kh_to_bf16(v); }

// Stores v into an element of any type: a 16-bit float takes a float result rounded once
// (kh_store), every other type takes v as it is (integer and uint8 results, moved bytes).
template <class T, class V> static inline __device__ void kh_put(T *p, V v) { *p = v; }
static inline __device__ void kh_put(__half *p, float v) { kh_store(p, v); }
static inline __device__ void kh_put(__nv_bfloat16 *p, float v) { kh_store(p, v); }

// Host side: calls launch(T()) with a value of the element type dt names (f32, f16, bf16), so a
// wrapper instantiates its launcher for the three types; other dtypes are invalid.
template <class F> static cudaError_t kh_act_types(cinfer_k_dtype dt, F launch) {
    switch (dt) {
    case CINFER_K_F32: return launch(float());
    case CINFER_K_F16: return launch(__half());
    case CINFER_K_BF16: return launch(__nv_bfloat16());
    default: return cudaErrorInvalidValue;
    }
}

// As kh_act_types with a second type P for parameters (scale, bias, statistics) that are either
// float (constant weights) or of the activations' own type (activations of a half region):
// calls launch(T(), P()).
template <class F>
static cudaError_t kh_act_param_types(cinfer_k_dtype dt, cinfer_k_dtype pdt, F launch) {
    if (pdt != CINFER_K_F32 && pdt != dt) return cudaErrorInvalidValue;
    bool same = pdt == dt;
    switch (dt) {
    case CINFER_K_F32: return launch(float(), float());
    case CINFER_K_F16: return same ? launch(__half(), __half()) : launch(__half(), float());
    case CINFER_K_BF16:
        return same ? launch(__nv_bfloat16(), __nv_bfloat16()) : launch(__nv_bfloat16(), float());
    default: return cudaErrorInvalidValue;
    }
}

#endif
