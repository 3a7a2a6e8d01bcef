// Broadcasting binary elementwise ops (arithmetic, comparisons, logic) and logical Not.
#include "common.cuh"
#include "half_in.cuh"

namespace {

struct OpAdd {
    template <class T> __device__ T operator()(T a, T b) const { return a + b; }
};
struct OpSub {
    template <class T> __device__ T operator()(T a, T b) const { return a - b; }
};
struct OpMul {
    template <class T> __device__ T operator()(T a, T b) const { return a * b; }
};
struct OpDiv {
    template <class T> __device__ T operator()(T a, T b) const { return a / b; }
};
struct OpPow {
    __device__ float operator()(float a, float b) const { return powf(a, b); }
};
// NaN propagates as in NumPy and the CPU backend (a != a only for a NaN; never for integers).
struct OpMax {
    template <class T> __device__ T operator()(T a, T b) const {
        return (a > b || a != a) ? a : b;
    }
};
struct OpMin {
    template <class T> __device__ T operator()(T a, T b) const {
        return (a < b || a != a) ? a : b;
    }
};
// The comparison keeps a NaN (NaN < 0 is false), as the CPU's PRelu does.
struct OpPRelu {
    template <class T> __device__ T operator()(T a, T b) const { return a < T(0) ? a * b : a; }
};
struct OpEqual {
    template <class T> __device__ uint8_t operator()(T a, T b) const { return a == b; }
};
struct OpLess {
    template <class T> __device__ uint8_t operator()(T a, T b) const { return a < b; }
};
struct OpLessEqual {
    template <class T> __device__ uint8_t operator()(T a, T b) const { return a <= b; }
};
struct OpGreater {
    template <class T> __device__ uint8_t operator()(T a, T b) const { return a > b; }
};
struct OpGreaterEqual {
    template <class T> __device__ uint8_t operator()(T a, T b) const { return a >= b; }
};
struct OpAnd {
    __device__ uint8_t operator()(uint8_t a, uint8_t b) const { return (a != 0) & (b != 0); }
};
struct OpOr {
    __device__ uint8_t operator()(uint8_t a, uint8_t b) const { return (a != 0) | (b != 0); }
};
struct OpXor {
    __device__ uint8_t operator()(uint8_t a, uint8_t b) const { return (a != 0) ^ (b != 0); }
};

// An operand A is a plain device pointer or a HalfIn (read widened to float); k_ptr is its
// address, for the null check.
template <class T>
static const void *k_ptr(const T *p) { return p; }
template <class H>
static const void *k_ptr(HalfIn<H> h) { return h.p; }

// General path: y dense over dims, a and b through their (possibly zero) strides.
template <class A, class R, class Op>
__global__ void binary_strided(R *y, A a, cinfer_k_strides as, A b, cinfer_k_strides bs,
                               cinfer_k_dims dims, int64_t n, Op op) {
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t oa, ob;
        k_offset2(i, dims, as, bs, &oa, &ob);
        kh_put(&y[i], op(a[oa], b[ob]));
    }
}

// Contiguous path: all three dense and the same shape.
template <class A, class R, class Op>
__global__ void binary_dense(R *y, A a, A b, int64_t n, Op op) {
    for (int64_t i = k_first(); i < n; i += k_step()) kh_put(&y[i], op(a[i], b[i]));
}

// Contiguous fp32 path four floats at a time; n4 counts float4s.
template <class Op>
__global__ void binary_dense_f4(float4 *y, const float4 *a, const float4 *b, int64_t n4, Op op) {
    for (int64_t i = k_first(); i < n4; i += k_step()) {
        float4 u = a[i], v = b[i];
        y[i] = make_float4(op(u.x, v.x), op(u.y, v.y), op(u.z, v.z), op(u.w, v.w));
    }
}

static bool aligned16(const void *p) { return ((uintptr_t)p & 15u) == 0; }

// Contiguous 16-bit path: a, b and y of one 16-bit type H, eight elements per thread through
// 16-byte accesses (the scalar paths move two bytes per access), the last n % 8 by a scalar
// tail. Math in float and one rounding on store, as binary_dense.
template <class H, class Op>
__global__ void binary_dense_h8(H *y, const H *a, const H *b, int64_t n, Op op) {
    int64_t groups = n / 8;
    for (int64_t g = k_first(); g < groups; g += k_step()) {
        uint4 ua = reinterpret_cast<const uint4 *>(a)[g];
        uint4 ub = reinterpret_cast<const uint4 *>(b)[g];
        const H *ea = reinterpret_cast<const H *>(&ua), *eb = reinterpret_cast<const H *>(&ub);
        uint4 uy;
        H *ey = reinterpret_cast<H *>(&uy);
#pragma unroll
        for (int k = 0; k < 8; k++) kh_put(&ey[k], op(kh_load(ea[k]), kh_load(eb[k])));
        reinterpret_cast<uint4 *>(y)[g] = uy;
    }
    for (int64_t i = groups * 8 + k_first(); i < n; i += k_step())
        kh_put(&y[i], op(kh_load(a[i]), kh_load(b[i])));
}

template <class A, class R, class Op>
static cudaError_t launch_binary(R *y, A a, cinfer_k_strides as, A b, cinfer_k_strides bs,
                                 cinfer_k_dims dims, Op op, cudaStream_t stream) {
    if (!k_dims_valid(dims)) return cudaErrorInvalidValue;
    int64_t n = cinfer_k_dims_count(&dims);
    if (n == 0) return cudaSuccess;
    if (!y || !k_ptr(a) || !k_ptr(b)) return cudaErrorInvalidValue;
    cinfer_k_strides st[2] = {as, bs};
    k_collapse(&dims, st, 2);
    if (k_is_dense(dims, st[0]) && k_is_dense(dims, st[1]))
        binary_dense<<<k_blocks_for(n), K_BLOCK, 0, stream>>>(y, a, b, n, op);
    else
        binary_strided<<<k_blocks_for(n), K_BLOCK, 0, stream>>>(y, a, st[0], b, st[1], dims, n,
                                                                op);
    return cudaGetLastError();
}

// The fp32 arithmetic ops add the float4 path to launch_binary's choice.
template <class Op>
static cudaError_t launch_binary_f32(float *y, const float *a, cinfer_k_strides as,
                                     const float *b, cinfer_k_strides bs, cinfer_k_dims dims,
                                     Op op, cudaStream_t stream) {
    if (!k_dims_valid(dims)) return cudaErrorInvalidValue;
    int64_t n = cinfer_k_dims_count(&dims);
    bool dense = k_is_dense(dims, as) && k_is_dense(dims, bs);
    if (n > 0 && n % 4 == 0 && dense && aligned16(y) && aligned16(a) && aligned16(b)) {
        int64_t n4 = n / 4;
        binary_dense_f4<<<k_blocks_for(n4), K_BLOCK, 0, stream>>>(
            (float4 *)y, (const float4 *)a, (const float4 *)b, n4, op);
        return cudaGetLastError();
    }
    return launch_binary(y, a, as, b, bs, dims, op, stream);
}

// The one switch from a binary op to its functor: calls launch(functor). Pow exists only for
// floating operands (with_pow); integer Pow is not a shape computation anyone needs.
template <bool with_pow, class Launch>
static cudaError_t dispatch_binary(cinfer_k_binary_op op, Launch launch) {
    switch (op) {
    case CINFER_K_ADD: return launch(OpAdd());
    case CINFER_K_SUB: return launch(OpSub());
    case CINFER_K_MUL: return launch(OpMul());
    case CINFER_K_DIV: return launch(OpDiv());
    case CINFER_K_POW:
        if constexpr (with_pow) return launch(OpPow());
        break;
    case CINFER_K_MAX: return launch(OpMax());
    case CINFER_K_MIN: return launch(OpMin());
    case CINFER_K_PRELU: return launch(OpPRelu());
    }
    return cudaErrorInvalidValue;
}

// Comparisons for every operand kind (plain pointers or HalfIn), uint8 results.
template <class A>
static cudaError_t launch_compare(cinfer_k_compare_op op, uint8_t *y, A a, cinfer_k_strides as,
                                  A b, cinfer_k_strides bs, cinfer_k_dims dims,
                                  cudaStream_t stream) {
    switch (op) {
    case CINFER_K_EQUAL: return launch_binary(y, a, as, b, bs, dims, OpEqual(), stream);
    case CINFER_K_LESS: return launch_binary(y, a, as, b, bs, dims, OpLess(), stream);
    case CINFER_K_LESS_EQUAL: return launch_binary(y, a, as, b, bs, dims, OpLessEqual(), stream);
    case CINFER_K_GREATER: return launch_binary(y, a, as, b, bs, dims, OpGreater(), stream);
    case CINFER_K_GREATER_EQUAL:
        return launch_binary(y, a, as, b, bs, dims, OpGreaterEqual(), stream);
    }
    return cudaErrorInvalidValue;
}

__global__ void not_u8(uint8_t *y, const uint8_t *x, int64_t n) {
    for (int64_t i = k_first(); i < n; i += k_step()) y[i] = x[i] == 0;
}

// Half activations: operands of type H or float (a constant), computed in float.
template <class H>
static cudaError_t binary_h(cinfer_k_binary_op op, H *y, HalfIn<H> a, cinfer_k_strides as,
                            HalfIn<H> b, cinfer_k_strides bs, cinfer_k_dims dims,
                            cudaStream_t st) {
    // Both operands 16-bit, dense and of the output's shape, everything 16-byte aligned: the
    // eight-wide path (a residual Add of two activations, say).
    int64_t n = k_dims_valid(dims) ? cinfer_k_dims_count(&dims) : 0;
    if (n > 0 && y && a.p && b.p && !a.f32 && !b.f32 && k_is_dense(dims, as) &&
        k_is_dense(dims, bs) && aligned16(y) && aligned16(a.p) && aligned16(b.p))
        return dispatch_binary<true>(op, [&](auto f) {
            binary_dense_h8<<<k_blocks_for((n + 7) / 8), K_BLOCK, 0, st>>>(
                y, (const H *)a.p, (const H *)b.p, n, f);
            return cudaGetLastError();
        });
    return dispatch_binary<true>(
        op, [&](auto f) { return launch_binary(y, a, as, b, bs, dims, f, st); });
}

}  // namespace

extern "C" cudaError_t cinfer_k_binary_f32(cinfer_k_binary_op op, float *y, const float *a,
                                           cinfer_k_strides as, const float *b,
                                           cinfer_k_strides bs, cinfer_k_dims dims,
                                           cudaStream_t stream) {
    return dispatch_binary<true>(
        op, [&](auto f) { return launch_binary_f32(y, a, as, b, bs, dims, f, stream); });
}

extern "C" cudaError_t cinfer_k_binary_i64(cinfer_k_binary_op op, int64_t *y, const int64_t *a,
                                           cinfer_k_strides as, const int64_t *b,
                                           cinfer_k_strides bs, cinfer_k_dims dims,
                                           cudaStream_t stream) {
    return dispatch_binary<false>(
        op, [&](auto f) { return launch_binary(y, a, as, b, bs, dims, f, stream); });
}

extern "C" cudaError_t cinfer_k_compare_f32(cinfer_k_compare_op op, uint8_t *y, const float *a,
                                            cinfer_k_strides as, const float *b,
                                            cinfer_k_strides bs, cinfer_k_dims dims,
                                            cudaStream_t stream) {
    return launch_compare(op, y, a, as, b, bs, dims, stream);
}

extern "C" cudaError_t cinfer_k_compare_i64(cinfer_k_compare_op op, uint8_t *y, const int64_t *a,
                                            cinfer_k_strides as, const int64_t *b,
                                            cinfer_k_strides bs, cinfer_k_dims dims,
                                            cudaStream_t stream) {
    return launch_compare(op, y, a, as, b, bs, dims, stream);
}

extern "C" cudaError_t cinfer_k_logic_u8(cinfer_k_logic_op op, uint8_t *y, const uint8_t *a,
                                         cinfer_k_strides as, const uint8_t *b,
                                         cinfer_k_strides bs, cinfer_k_dims dims,
                                         cudaStream_t stream) {
    switch (op) {
    case CINFER_K_AND: return launch_binary(y, a, as, b, bs, dims, OpAnd(), stream);
    case CINFER_K_OR: return launch_binary(y, a, as, b, bs, dims, OpOr(), stream);
    case CINFER_K_XOR: return launch_binary(y, a, as, b, bs, dims, OpXor(), stream);
    }
    return cudaErrorInvalidValue;
}

extern "C" cudaError_t cinfer_k_not_u8(uint8_t *y, const uint8_t *x, size_t n,
                                       cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    not_u8<<<k_blocks_for((int64_t)n), K_BLOCK, 0, stream>>>(y, x, (int64_t)n);
    return cudaGetLastError();
}

extern "C" cudaError_t cinfer_k_binary_h(cinfer_k_binary_op op, cinfer_k_dtype h, void *y,
                                         const void *a, cinfer_k_dtype at, cinfer_k_strides as,
                                         const void *b, cinfer_k_dtype bt, cinfer_k_strides bs,
                                         cinfer_k_dims dims, cudaStream_t stream) {
    return k_half_operands(h, a, at, b, bt, [&](auto t, auto ha, auto hb) {
        return binary_h(op, (decltype(t) *)y, ha, as, hb, bs, dims, stream);
    });
}

extern "C" cudaError_t cinfer_k_compare_h(cinfer_k_compare_op op, cinfer_k_dtype h, uint8_t *y,
                                          const void *a, cinfer_k_dtype at, cinfer_k_strides as,
                                          const void *b, cinfer_k_dtype bt, cinfer_k_strides bs,
                                          cinfer_k_dims dims, cudaStream_t stream) {
    return k_half_operands(h, a, at, b, bt, [&](auto, auto ha, auto hb) {
        return launch_compare(op, y, ha, as, hb, bs, dims, stream);
    });
}
