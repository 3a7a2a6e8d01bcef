// An operand of a half-activation kernel (kernels.h, "Half activations"): values of the
// activation type H (__half or __nv_bfloat16), or floats when the operand is a float constant
// (a weight), read widened to float either way.
#ifndef CINFER_KERNELS_HALF_IN_CUH
#define CINFER_KERNELS_HALF_IN_CUH

#include "half_access.cuh"
#include "kernels.h"

// The choice between H and float is the same for every thread, so the branch never diverges.
template <class H>
struct HalfIn {
    const void *p;
    bool f32;
    __device__ float operator[](int64_t i) const {
        return f32 ? ((const float *)p)[i] : kh_load(((const H *)p)[i]);
    }
};

// h must be an activation type (F16 or BF16) and each operand type h or F32 (a constant).
static inline bool k_half_types_ok(cinfer_k_dtype h, cinfer_k_dtype at, cinfer_k_dtype bt) {
    if (h != CINFER_K_F16 && h != CINFER_K_BF16) return false;
    return (at == h || at == CINFER_K_F32) && (bt == h || bt == CINFER_K_F32);
}

// Host side: checks the types (k_half_types_ok), then calls launch(H(), a', b') with H the
// activation type h names and a', b' the operands as HalfIn<H> (float where at / bt is F32).
template <class F>
static cudaError_t k_half_operands(cinfer_k_dtype h, const void *a, cinfer_k_dtype at,
                                   const void *b, cinfer_k_dtype bt, F launch) {
    if (!k_half_types_ok(h, at, bt)) return cudaErrorInvalidValue;
    bool af = at == CINFER_K_F32, bf = bt == CINFER_K_F32;
    if (h == CINFER_K_F16) return launch(__half(), HalfIn<__half>{a, af}, HalfIn<__half>{b, bf});
    return launch(__nv_bfloat16(), HalfIn<__nv_bfloat16>{a, af}, HalfIn<__nv_bfloat16>{b, bf});
}

#endif
