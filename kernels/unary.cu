// Unary activations and math functions: one elementwise kernel templated over a functor and
// the element type (float, or __half / __nv_bfloat16 computed in float, rounded once on store).
#include "common.cuh"
#include "half_access.cuh"

namespace {

// alpha and beta carry the op's attributes (see cinfer_k_unary_op).
struct UnaryArgs {
    float alpha, beta;
};

struct FSqrt { __device__ float operator()(float x, UnaryArgs) const { return sqrtf(x); } };
struct FExp { __device__ float operator()(float x, UnaryArgs) const { return expf(x); } };
struct FLog { __device__ float operator()(float x, UnaryArgs) const { return logf(x); } };
struct FNeg { __device__ float operator()(float x, UnaryArgs) const { return -x; } };
struct FAbs { __device__ float operator()(float x, UnaryArgs) const { return fabsf(x); } };
struct FRecip { __device__ float operator()(float x, UnaryArgs) const { return 1.0f / x; } };
struct FErf { __device__ float operator()(float x, UnaryArgs) const { return erff(x); } };
struct FTanh { __device__ float operator()(float x, UnaryArgs) const { return tanhf(x); } };
struct FFloor { __device__ float operator()(float x, UnaryArgs) const { return floorf(x); } };
struct FCeil { __device__ float operator()(float x, UnaryArgs) const { return ceilf(x); } };
struct FSigmoid {
    // expf(-x) overflows to inf for x < -88, which still gives the right limit 0.
    __device__ float operator()(float x, UnaryArgs) const { return 1.0f / (1.0f + expf(-x)); }
};
struct FRelu { // keeps a NaN, as the CPU kernel and NumPy's maximum(x, 0) do
    __device__ float operator()(float x, UnaryArgs) const { return x < 0.0f ? 0.0f : x; }
};
struct FLeakyRelu {
    __device__ float operator()(float x, UnaryArgs p) const { return x >= 0.0f ? x : p.alpha * x; }
};
struct FClip {
    __device__ float operator()(float x, UnaryArgs p) const {
        return fminf(fmaxf(x, p.alpha), p.beta);
    }
};
struct FHardSigmoid {
    __device__ float operator()(float x, UnaryArgs p) const {
        return fminf(fmaxf(p.alpha * x + p.beta, 0.0f), 1.0f);
    }
};
struct FHardSwish {
    __device__ float operator()(float x, UnaryArgs) const {
        return x * fminf(fmaxf(x / 6.0f + 0.5f, 0.0f), 1.0f);
    }
};
struct FGeluErf {
    __device__ float operator()(float x, UnaryArgs) const {
        return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    }
};
struct FGeluTanh {
    __device__ float operator()(float x, UnaryArgs) const {
        float inner = 0.79788456080286536f * (x + 0.044715f * x * x * x);
        return 0.5f * x * (1.0f + tanhf(inner));
    }
};
struct FElu {
    __device__ float operator()(float x, UnaryArgs p) const {
        return x >= 0.0f ? x : p.alpha * expm1f(x);
    }
};

// Math functions and activations as the CPU computes them (src/cpu/elementwise_unary.c), in
// float.
#define SIMPLE(name, expr) \
    struct name { __device__ float operator()(float x, UnaryArgs) const { return expr; } };
SIMPLE(FSin, sinf(x))
SIMPLE(FCos, cosf(x))
SIMPLE(FTan, tanf(x))
SIMPLE(FAsin, asinf(x))
SIMPLE(FAcos, acosf(x))
SIMPLE(FAtan, atanf(x))
SIMPLE(FSinh, sinhf(x))
SIMPLE(FCosh, coshf(x))
SIMPLE(FAsinh, asinhf(x))
SIMPLE(FAcosh, acoshf(x))
SIMPLE(FAtanh, atanhf(x))
SIMPLE(FRound, rintf(x)) // the current rounding mode: to nearest, ties to even
SIMPLE(FSign, x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : x)
SIMPLE(FSoftsign, x / (1.0f + fabsf(x)))
#undef SIMPLE
// sinf, cosf and tanf reduce large arguments through a small local array (Payne-Hanek): eight
// of them unrolled in unary8_k spill it to local memory, so these take the scalar kernel.
template <class F> struct Wide { static constexpr bool ok = true; };
template <> struct Wide<FSin> { static constexpr bool ok = false; };
template <> struct Wide<FCos> { static constexpr bool ok = false; };
template <> struct Wide<FTan> { static constexpr bool ok = false; };
__device__ inline float softplus(float x) {
    return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x));
}
struct FSoftplus { __device__ float operator()(float x, UnaryArgs) const { return softplus(x); } };
struct FMish {
    __device__ float operator()(float x, UnaryArgs) const { return x * tanhf(softplus(x)); }
};
struct FSelu {
    __device__ float operator()(float x, UnaryArgs p) const {
        return x <= 0.0f ? p.beta * p.alpha * expm1f(x) : p.beta * x;
    }
};
struct FCelu {
    __device__ float operator()(float x, UnaryArgs p) const {
        return x < 0.0f ? p.alpha * expm1f(x / p.alpha) : x;
    }
};
struct FThresholdedRelu {
    __device__ float operator()(float x, UnaryArgs p) const { return x > p.alpha ? x : 0.0f; }
};
struct FShrink {
    __device__ float operator()(float x, UnaryArgs p) const {
        return x < -p.alpha ? x + p.beta : x > p.alpha ? x - p.beta : 0.0f;
    }
};

// With T = float, kh_load and kh_store are the identity: the fp32 kernel as it always was.
template <class T, class F>
__global__ void unary_k(T *y, const T *x, int64_t n, UnaryArgs args, F f) {
    for (int64_t i = k_first(); i < n; i += k_step()) kh_store(&y[i], f(kh_load(x[i]), args));
}

// 16-bit elements eight per thread through 16-byte loads and stores (the scalar kernel moves two
// bytes per access, well under DRAM bandwidth): x and y 16-byte aligned, the last n % 8
// elements by a scalar tail. The same arithmetic per element as unary_k.
template <class T, class F>
__global__ void unary8_k(T *y, const T *x, int64_t n, UnaryArgs args, F f) {
    int64_t groups = n / 8;
    for (int64_t g = k_first(); g < groups; g += k_step()) {
        uint4 v = reinterpret_cast<const uint4 *>(x)[g];
        T *e = reinterpret_cast<T *>(&v);
#pragma unroll
        for (int k = 0; k < 8; k++) kh_store(&e[k], f(kh_load(e[k]), args));
        reinterpret_cast<uint4 *>(y)[g] = v;
    }
    for (int64_t i = groups * 8 + k_first(); i < n; i += k_step())
        kh_store(&y[i], f(kh_load(x[i]), args));
}

template <class T, class F>
static cudaError_t launch_unary(T *y, const T *x, int64_t n, UnaryArgs args, F f,
                                cudaStream_t stream) {
    if constexpr (sizeof(T) == 2 && Wide<F>::ok) {  // eight per 16-byte vector: 16-bit types
        if ((uintptr_t)x % 16 == 0 && (uintptr_t)y % 16 == 0) {
            unary8_k<<<k_blocks_for((n + 7) / 8), K_BLOCK, 0, stream>>>(y, x, n, args, f);
            return cudaGetLastError();
        }
    }
    unary_k<<<k_blocks_for(n), K_BLOCK, 0, stream>>>(y, x, n, args, f);
    return cudaGetLastError();
}

template <class T>
static cudaError_t unary_any(cinfer_k_unary_op op, T *y, const T *x, size_t n, float alpha,
                             float beta, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    UnaryArgs p = {alpha, beta};
    int64_t m = (int64_t)n;
    switch (op) {
    case CINFER_K_SQRT: return launch_unary(y, x, m, p, FSqrt(), stream);
    case CINFER_K_EXP: return launch_unary(y, x, m, p, FExp(), stream);
    case CINFER_K_LOG: return launch_unary(y, x, m, p, FLog(), stream);
    case CINFER_K_NEG: return launch_unary(y, x, m, p, FNeg(), stream);
    case CINFER_K_ABS: return launch_unary(y, x, m, p, FAbs(), stream);
    case CINFER_K_RECIPROCAL: return launch_unary(y, x, m, p, FRecip(), stream);
    case CINFER_K_ERF: return launch_unary(y, x, m, p, FErf(), stream);
    case CINFER_K_TANH: return launch_unary(y, x, m, p, FTanh(), stream);
    case CINFER_K_SIGMOID: return launch_unary(y, x, m, p, FSigmoid(), stream);
    case CINFER_K_RELU: return launch_unary(y, x, m, p, FRelu(), stream);
    case CINFER_K_LEAKY_RELU: return launch_unary(y, x, m, p, FLeakyRelu(), stream);
    case CINFER_K_CLIP: return launch_unary(y, x, m, p, FClip(), stream);
    case CINFER_K_HARD_SIGMOID: return launch_unary(y, x, m, p, FHardSigmoid(), stream);
    case CINFER_K_HARD_SWISH: return launch_unary(y, x, m, p, FHardSwish(), stream);
    case CINFER_K_GELU_ERF: return launch_unary(y, x, m, p, FGeluErf(), stream);
    case CINFER_K_GELU_TANH: return launch_unary(y, x, m, p, FGeluTanh(), stream);
    case CINFER_K_FLOOR: return launch_unary(y, x, m, p, FFloor(), stream);
    case CINFER_K_CEIL: return launch_unary(y, x, m, p, FCeil(), stream);
    case CINFER_K_ELU: return launch_unary(y, x, m, p, FElu(), stream);
    case CINFER_K_SIN: return launch_unary(y, x, m, p, FSin(), stream);
    case CINFER_K_COS: return launch_unary(y, x, m, p, FCos(), stream);
    case CINFER_K_TAN: return launch_unary(y, x, m, p, FTan(), stream);
    case CINFER_K_ASIN: return launch_unary(y, x, m, p, FAsin(), stream);
    case CINFER_K_ACOS: return launch_unary(y, x, m, p, FAcos(), stream);
    case CINFER_K_ATAN: return launch_unary(y, x, m, p, FAtan(), stream);
    case CINFER_K_SINH: return launch_unary(y, x, m, p, FSinh(), stream);
    case CINFER_K_COSH: return launch_unary(y, x, m, p, FCosh(), stream);
    case CINFER_K_ASINH: return launch_unary(y, x, m, p, FAsinh(), stream);
    case CINFER_K_ACOSH: return launch_unary(y, x, m, p, FAcosh(), stream);
    case CINFER_K_ATANH: return launch_unary(y, x, m, p, FAtanh(), stream);
    case CINFER_K_ROUND: return launch_unary(y, x, m, p, FRound(), stream);
    case CINFER_K_SIGN: return launch_unary(y, x, m, p, FSign(), stream);
    case CINFER_K_SOFTPLUS: return launch_unary(y, x, m, p, FSoftplus(), stream);
    case CINFER_K_SOFTSIGN: return launch_unary(y, x, m, p, FSoftsign(), stream);
    case CINFER_K_MISH: return launch_unary(y, x, m, p, FMish(), stream);
    case CINFER_K_SELU: return launch_unary(y, x, m, p, FSelu(), stream);
    case CINFER_K_CELU: return launch_unary(y, x, m, p, FCelu(), stream);
    case CINFER_K_THRESHOLDED_RELU: return launch_unary(y, x, m, p, FThresholdedRelu(), stream);
    case CINFER_K_SHRINK: return launch_unary(y, x, m, p, FShrink(), stream);
    case CINFER_K_UNARY_COUNT: break;
    }
    return cudaErrorInvalidValue;
}

}  // namespace

extern "C" cudaError_t cinfer_k_unary_f32(cinfer_k_unary_op op, float *y, const float *x,
                                          size_t n, float alpha, float beta,
                                          cudaStream_t stream) {
    return unary_any(op, y, x, n, alpha, beta, stream);
}

extern "C" cudaError_t cinfer_k_unary_h(cinfer_k_unary_op op, cinfer_k_dtype h, void *y,
                                        const void *x, size_t n, float alpha, float beta,
                                        cudaStream_t stream) {
    if (h == CINFER_K_F16)
        return unary_any(op, (__half *)y, (const __half *)x, n, alpha, beta, stream);
    if (h == CINFER_K_BF16)
        return unary_any(op, (__nv_bfloat16 *)y, (const __nv_bfloat16 *)x, n, alpha, beta,
                         stream);
    return cudaErrorInvalidValue;
}
