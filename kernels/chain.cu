// ElementwiseChain (src/ops/chain.h): every thread runs the whole chain on its elements, so
// the chain reads x and writes y once. The ops are uniform across threads (no divergence);
// the math follows the CPU kernel's semantics (Relu keeps a NaN, Max/Min propagate one).
#include "common.cuh"
#include "half_access.cuh"

namespace {

__device__ inline float chain_apply(int op, float a, float b) {
    switch (op) {
    case CINFER_K_CHAIN_ADD: return a + b;
    case CINFER_K_CHAIN_SUB: return a - b;
    case CINFER_K_CHAIN_MUL: return a * b;
    case CINFER_K_CHAIN_DIV: return a / b;
    case CINFER_K_CHAIN_MAX: return (a != a || a > b) ? a : b;
    case CINFER_K_CHAIN_MIN: return (a != a || a < b) ? a : b;
    default: return a;
    }
}

__device__ inline float chain_unary(int op, float v) {
    switch (op) {
    case CINFER_K_CHAIN_RELU: return v < 0.0f ? 0.0f : v;
    case CINFER_K_CHAIN_SIGMOID: return 1.0f / (1.0f + expf(-v));
    case CINFER_K_CHAIN_TANH: return tanhf(v);
    case CINFER_K_CHAIN_EXP: return expf(v);
    case CINFER_K_CHAIN_LOG: return logf(v);
    case CINFER_K_CHAIN_NEG: return -v;
    case CINFER_K_CHAIN_ABS: return fabsf(v);
    case CINFER_K_CHAIN_SQRT: return sqrtf(v);
    case CINFER_K_CHAIN_RECIPROCAL: return 1.0f / v;
    case CINFER_K_CHAIN_ERF: return erff(v);
    default: return v;
    }
}

// The chain's description travels as a kernel parameter (constant bank): ~200 bytes. T is
// float, __half or __nv_bfloat16; the chain runs in float either way (kh_load / kh_store are
// the identity for float), rounding once on store.
template <class T>
__global__ void chain_k(T *y, const T *x, int64_t n, cinfer_k_chain ch) {
    for (int64_t i = k_first(); i < n; i += k_step()) {
        const float xi = kh_load(x[i]);
        float v = xi;
        for (int k = 0; k < ch.n_ops; k++) {
            const int op = ch.op[k];
            switch (ch.operand[k]) {
            case CINFER_K_CHAIN_UNARY: v = chain_unary(op, v); break;
            case CINFER_K_CHAIN_CONST_RIGHT: v = chain_apply(op, v, ch.c[k]); break;
            case CINFER_K_CHAIN_CONST_LEFT: v = chain_apply(op, ch.c[k], v); break;
            case CINFER_K_CHAIN_INPUT_RIGHT: v = chain_apply(op, v, xi); break;
            default: v = chain_apply(op, xi, v); break;
            }
        }
        kh_store(&y[i], v);
    }
}

template <class T>
static cudaError_t launch_chain(T *y, const T *x, size_t n, const cinfer_k_chain *ch,
                                cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    if (!y || !x || !ch || ch->n_ops < 1 || ch->n_ops > CINFER_K_CHAIN_MAX_OPS)
        return cudaErrorInvalidValue;
    chain_k<<<k_blocks_for((int64_t)n), K_BLOCK, 0, stream>>>(y, x, (int64_t)n, *ch);
    return cudaGetLastError();
}

}  // namespace

extern "C" cudaError_t cinfer_k_chain_f32(float *y, const float *x, size_t n,
                                          const cinfer_k_chain *ch, cudaStream_t stream) {
    return launch_chain(y, x, n, ch, stream);
}

extern "C" cudaError_t cinfer_k_chain_h(cinfer_k_dtype h, void *y, const void *x, size_t n,
                                        const cinfer_k_chain *ch, cudaStream_t stream) {
    if (h == CINFER_K_F16) return launch_chain((__half *)y, (const __half *)x, n, ch, stream);
    if (h == CINFER_K_BF16)
        return launch_chain((__nv_bfloat16 *)y, (const __nv_bfloat16 *)x, n, ch, stream);
    return cudaErrorInvalidValue;
}
