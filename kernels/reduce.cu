// ReduceSum/Mean/Max/Min (and the sums of a transformed x: SumSquare, L1, L2, LogSum) over the
// middle axis of an [outer, reduce, inner] view, and the global pools built on it, templated
// over the element type (half_access.cuh). Sums are Kahan-compensated in fp32 for every type:
// long fp32 sums otherwise drift.
#include "common.cuh"
#include "half_access.cuh"

namespace {

// Running state of one thread's share of a reduction.
struct Acc {
    float v, comp;  // value (sum, max or min) and the sum's lost low-order part
};

static __device__ Acc acc_init(k_reduce_kind kind) {
    Acc a = {kind == K_SUM ? 0.0f : kind == K_MAX ? -INFINITY : INFINITY, 0.0f};
    return a;
}

static __device__ void acc_add(Acc &a, float x, k_reduce_kind kind) {
    if (kind == K_MAX) {
        a.v = fmaxf(a.v, x);
    } else if (kind == K_MIN) {
        a.v = fminf(a.v, x);
    } else {
        float t = x - a.comp;
        float s = a.v + t;
        // Past an infinity the correction would be inf - inf: keep the sum infinite, not NaN.
        a.comp = isfinite(s) ? (s - a.v) - t : 0.0f;
        a.v = s;
    }
}

// What is accumulated of each element, and what becomes of the total.
enum Pre { PRE_NONE, PRE_SQUARE, PRE_ABS };
enum Post { POST_NONE, POST_MEAN, POST_SQRT, POST_LOG };

static __device__ float pre_of(float x, int pre) {
    return pre == PRE_SQUARE ? x * x : pre == PRE_ABS ? fabsf(x) : x;
}

static __device__ float post_of(float v, int post, int64_t count) {
    return post == POST_MEAN ? v / (float)count
           : post == POST_SQRT ? sqrtf(v)
           : post == POST_LOG  ? logf(v)
                               : v;
}

// inner == 1: each row of [outer, reduce] reduced by a warp or a block.
template <class T>
__global__ void reduce_rows(T *y, const T *x, int64_t rows, int64_t cols, k_reduce_kind kind,
                            int pre, int post, bool whole_block) {
    __shared__ float scratch[K_WARP];
    k_row_group g = k_row_group_of(whole_block);
    for (int64_t r = g.first_row; r < rows; r += g.row_step) {
        const T *xr = x + r * cols;
        Acc a = acc_init(kind);
        for (int64_t c = g.lane; c < cols; c += g.lanes)
            acc_add(a, pre_of(kh_load(xr[c]), pre), kind);
        float v = k_group_reduce(a.v, kind, g, scratch);
        if (g.lane == 0) kh_store(&y[r], post_of(v, post, cols));
    }
}

// inner > 1: a thread per output; neighbouring threads read neighbouring inner elements.
template <class T>
__global__ void reduce_middle(T *y, const T *x, int64_t outer, int64_t reduce, int64_t inner,
                              k_reduce_kind kind, int pre, int post) {
    int64_t n = outer * inner;
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t o = i / inner, in = i % inner;
        const T *xp = x + o * reduce * inner + in;
        Acc a = acc_init(kind);
        for (int64_t r = 0; r < reduce; r++) acc_add(a, pre_of(kh_load(xp[r * inner]), pre), kind);
        kh_store(&y[i], post_of(a.v, post, reduce));
    }
}

template <class T>
static cudaError_t launch_reduce(void *y, const void *x, int64_t outer, int64_t reduce,
                                 int64_t inner, k_reduce_kind kind, int pre, int post,
                                 cudaStream_t stream) {
    if (outer < 0 || reduce < 1 || inner < 0) return cudaErrorInvalidValue;
    if (outer == 0 || inner == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    if (inner == 1) {
        bool whole_block = reduce > K_WARP_ROW_MAX_COLS;
        reduce_rows<T><<<k_row_blocks(outer, whole_block), K_BLOCK, 0, stream>>>(
            (T *)y, (const T *)x, outer, reduce, kind, pre, post, whole_block);
    } else {
        reduce_middle<T><<<k_blocks_for(outer * inner), K_BLOCK, 0, stream>>>(
            (T *)y, (const T *)x, outer, reduce, inner, kind, pre, post);
    }
    return cudaGetLastError();
}

template <class T>
static cudaError_t reduce_op(cinfer_k_reduce_op op, void *y, const void *x, int64_t outer,
                             int64_t reduce, int64_t inner, cudaStream_t stream) {
    auto run = [&](k_reduce_kind kind, int pre, int post) {
        return launch_reduce<T>(y, x, outer, reduce, inner, kind, pre, post, stream);
    };
    switch (op) {
    case CINFER_K_REDUCE_SUM: return run(K_SUM, PRE_NONE, POST_NONE);
    case CINFER_K_REDUCE_MEAN: return run(K_SUM, PRE_NONE, POST_MEAN);
    case CINFER_K_REDUCE_MAX: return run(K_MAX, PRE_NONE, POST_NONE);
    case CINFER_K_REDUCE_MIN: return run(K_MIN, PRE_NONE, POST_NONE);
    case CINFER_K_REDUCE_SUM_SQUARE: return run(K_SUM, PRE_SQUARE, POST_NONE);
    case CINFER_K_REDUCE_L1: return run(K_SUM, PRE_ABS, POST_NONE);
    case CINFER_K_REDUCE_L2: return run(K_SUM, PRE_SQUARE, POST_SQRT);
    case CINFER_K_REDUCE_LOG_SUM: return run(K_SUM, PRE_NONE, POST_LOG);
    }
    return cudaErrorInvalidValue;
}

// ArgMax / ArgMin: a thread per output walks its line in order, the CPU's loop exactly
// (neighbouring threads read neighbouring inner elements).
template <class T>
__global__ void arg_k(int64_t *y, const T *x, int64_t outer, int64_t n, int64_t inner,
                      bool is_max, bool last) {
    int64_t total = outer * inner;
    for (int64_t i = k_first(); i < total; i += k_step()) {
        const T *xp = x + (i / inner) * n * inner + i % inner;
        T b = xp[0];
        int64_t bi = 0;
        for (int64_t r = 1; r < n; r++) {
            T v = xp[r * inner];
            bool take = is_max ? (last ? v >= b : v > b) : (last ? v <= b : v < b);
            if (take) {
                b = v;
                bi = r;
            }
        }
        y[i] = bi;
    }
}

template <class T>
static cudaError_t launch_arg(int64_t *y, const T *x, int64_t outer, int64_t n, int64_t inner,
                              int is_max, int last, cudaStream_t stream) {
    if (outer < 0 || n < 1 || inner < 0) return cudaErrorInvalidValue;
    if (outer == 0 || inner == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    arg_k<T><<<k_blocks_for(outer * inner), K_BLOCK, 0, stream>>>(y, x, outer, n, inner,
                                                                   is_max != 0, last != 0);
    return cudaGetLastError();
}

// CumSum: one thread per line, the CPU's accumulation (type Acc) and order.
template <class T, class Acc>
__global__ void cumsum_k(T *y, const T *x, int64_t outer, int64_t n, int64_t inner,
                         bool exclusive, bool reverse) {
    int64_t total = outer * inner;
    for (int64_t s = k_first(); s < total; s += k_step()) {
        int64_t base = (s / inner) * n * inner + s % inner;
        Acc acc = 0;
        for (int64_t t = 0; t < n; t++) {
            int64_t i = base + (reverse ? n - 1 - t : t) * inner;
            if (exclusive) {
                y[i] = (T)acc;
                acc += (Acc)x[i];
            } else {
                acc += (Acc)x[i];
                y[i] = (T)acc;
            }
        }
    }
}

template <class T, class Acc>
static cudaError_t launch_cumsum(void *y, const void *x, int64_t outer, int64_t n, int64_t inner,
                                 int exclusive, int reverse, cudaStream_t stream) {
    if (outer < 0 || n < 0 || inner < 0) return cudaErrorInvalidValue;
    if (outer == 0 || n == 0 || inner == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    cumsum_k<T, Acc><<<k_blocks_for(outer * inner), K_BLOCK, 0, stream>>>(
        (T *)y, (const T *)x, outer, n, inner, exclusive != 0, reverse != 0);
    return cudaGetLastError();
}

}  // namespace

extern "C" cudaError_t cinfer_k_cumsum(cinfer_k_dtype dt, void *y, const void *x, int64_t outer,
                                       int64_t n, int64_t inner, int exclusive, int reverse,
                                       cudaStream_t stream) {
    switch (dt) {
    case CINFER_K_F32:
        return launch_cumsum<float, double>(y, x, outer, n, inner, exclusive, reverse, stream);
    case CINFER_K_I32:  // unsigned accumulation: two's complement wrap, as the CPU
        return launch_cumsum<int32_t, uint32_t>(y, x, outer, n, inner, exclusive, reverse,
                                                stream);
    case CINFER_K_I64:
        return launch_cumsum<int64_t, uint64_t>(y, x, outer, n, inner, exclusive, reverse,
                                                stream);
    default: return cudaErrorInvalidValue;
    }
}

extern "C" cudaError_t cinfer_k_arg_f32(int64_t *y, const float *x, int64_t outer, int64_t n,
                                        int64_t inner, int is_max, int last,
                                        cudaStream_t stream) {
    return launch_arg(y, x, outer, n, inner, is_max, last, stream);
}

extern "C" cudaError_t cinfer_k_arg_i64(int64_t *y, const int64_t *x, int64_t outer, int64_t n,
                                        int64_t inner, int is_max, int last,
                                        cudaStream_t stream) {
    return launch_arg(y, x, outer, n, inner, is_max, last, stream);
}

extern "C" cudaError_t cinfer_k_reduce(cinfer_k_dtype dt, cinfer_k_reduce_op op, void *y,
                                       const void *x, int64_t outer, int64_t reduce,
                                       int64_t inner, cudaStream_t stream) {
    return kh_act_types(dt, [&](auto t) {
        return reduce_op<decltype(t)>(op, y, x, outer, reduce, inner, stream);
    });
}

extern "C" cudaError_t cinfer_k_global_pool(cinfer_k_dtype dt, void *y, const void *x,
                                            int64_t nc, int64_t spatial, int is_max,
                                            cudaStream_t stream) {
    return kh_act_types(dt, [&](auto t) {
        return launch_reduce<decltype(t)>(y, x, nc, spatial, 1, is_max ? K_MAX : K_SUM,
                                          PRE_NONE, is_max ? POST_NONE : POST_MEAN, stream);
    });
}

extern "C" cudaError_t cinfer_k_reduce_f32(cinfer_k_reduce_op op, float *y, const float *x,
                                           int64_t outer, int64_t reduce, int64_t inner,
                                           cudaStream_t stream) {
    return reduce_op<float>(op, y, x, outer, reduce, inner, stream);
}

extern "C" cudaError_t cinfer_k_global_pool_f32(float *y, const float *x, int64_t nc,
                                                int64_t spatial, int is_max,
                                                cudaStream_t stream) {
    return launch_reduce<float>(y, x, nc, spatial, 1, is_max ? K_MAX : K_SUM, PRE_NONE,
                                is_max ? POST_NONE : POST_MEAN, stream);
}
