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

#endif
