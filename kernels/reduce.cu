// ReduceSum/Mean/Max/Min over the middle axis of an [outer, reduce, inner] view, and the
// global pools built on it, templated over the element type (half_access.cuh). Sums are
// Kahan-compensated in fp32 for every type: long fp32 sums otherwise drift.
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
        a.comp = (s - a.v) - t;
        a.v = s;
    }
}

// inner == 1: each row of [outer, reduce] reduced by a warp or a block.
template <class T>
__global__ void reduce_rows(T *y, const T *x, int64_t rows, int64_t cols, k_reduce_kind kind,
                            bool mean, bool whole_block) {
    __shared__ float scratch[K_WARP];
    k_row_group g = k_row_group_of(whole_block);
    for (int64_t r = g.first_row; r < rows; r += g.row_step) {
        const T *xr = x + r * cols;
        Acc a = acc_init(kind);
        for (int64_t c = g.lane; c < cols; c += g.lanes) acc_add(a, kh_load(xr[c]), kind);
        float v = k_group_reduce(a.v, kind, g, scratch);
        if (g.lane == 0) kh_store(&y[r], mean ? v / (float)cols : v);
    }
}

// inner > 1: a thread per output; neighbouring threads read neighbouring inner elements.
template <class T>
__global__ void reduce_middle(T *y, const T *x, int64_t outer, int64_t reduce, int64_t inner,
                              k_reduce_kind kind, bool mean) {
    int64_t n = outer * inner;
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t o = i / inner, in = i % inner;
        const T *xp = x + o * reduce * inner + in;
        Acc a = acc_init(kind);
        for (int64_t r = 0; r < reduce; r++) acc_add(a, kh_load(xp[r * inner]), kind);
        kh_store(&y[i], mean ? a.v / (float)reduce : a.v);
    }
}

template <class T>
static cudaError_t launch_reduce(void *y, const void *x, int64_t outer, int64_t reduce,
                                 int64_t inner, k_reduce_kind kind, bool mean,
                                 cudaStream_t stream) {
    if (outer < 0 || reduce < 1 || inner < 0) return cudaErrorInvalidValue;
    if (outer == 0 || inner == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    if (inner == 1) {
        bool whole_block = reduce > K_WARP_ROW_MAX_COLS;
        reduce_rows<T><<<k_row_blocks(outer, whole_block), K_BLOCK, 0, stream>>>(
            (T *)y, (const T *)x, outer, reduce, kind, mean, whole_block);
    } else {
        reduce_middle<T><<<k_blocks_for(outer * inner), K_BLOCK, 0, stream>>>(
            (T *)y, (const T *)x, outer, reduce, inner, kind, mean);
    }
    return cudaGetLastError();
}

template <class T>
static cudaError_t reduce_op(cinfer_k_reduce_op op, void *y, const void *x, int64_t outer,
                             int64_t reduce, int64_t inner, cudaStream_t stream) {
    switch (op) {
    case CINFER_K_REDUCE_SUM: return launch_reduce<T>(y, x, outer, reduce, inner, K_SUM, 0, stream);
    case CINFER_K_REDUCE_MEAN:
        return launch_reduce<T>(y, x, outer, reduce, inner, K_SUM, 1, stream);
    case CINFER_K_REDUCE_MAX: return launch_reduce<T>(y, x, outer, reduce, inner, K_MAX, 0, stream);
    case CINFER_K_REDUCE_MIN: return launch_reduce<T>(y, x, outer, reduce, inner, K_MIN, 0, stream);
    }
    return cudaErrorInvalidValue;
}

}  // namespace

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
                                          !is_max, stream);
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
    return launch_reduce<float>(y, x, nc, spatial, 1, is_max ? K_MAX : K_SUM, !is_max, stream);
}
