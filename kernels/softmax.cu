// Softmax and LogSoftmax over the last axis of a [rows, cols] view: a warp per row for short
// rows, a block per row for long ones; or over the middle axis of an [outer, n, inner] view (a
// segmentation head's channels): a thread per (outer, inner) line. Max and sum in fp32 for
// every element type.
#include "common.cuh"
#include "half_access.cuh"

namespace {

// Three passes over the row (max, sum of exponentials, write); the re-reads hit L1/L2.
template <class T>
__global__ void softmax_rows(T *y, const T *x, int64_t rows, int64_t cols, bool log,
                             bool whole_block) {
    __shared__ float scratch[K_WARP];
    k_row_group g = k_row_group_of(whole_block);
    for (int64_t r = g.first_row; r < rows; r += g.row_step) {
        const T *xr = x + r * cols;
        T *yr = y + r * cols;
        float m = -INFINITY;
        for (int64_t c = g.lane; c < cols; c += g.lanes) m = fmaxf(m, kh_load(xr[c]));
        m = k_group_reduce(m, K_MAX, g, scratch);
        float s = 0.0f;
        for (int64_t c = g.lane; c < cols; c += g.lanes) s += expf(kh_load(xr[c]) - m);
        s = k_group_reduce(s, K_SUM, g, scratch);
        if (log) {
            float shift = m + logf(s);
            for (int64_t c = g.lane; c < cols; c += g.lanes)
                kh_store(&yr[c], kh_load(xr[c]) - shift);
        } else {
            float inv = 1.0f / s;
            for (int64_t c = g.lane; c < cols; c += g.lanes)
                kh_store(&yr[c], expf(kh_load(xr[c]) - m) * inv);
        }
    }
}

// Middle axis: neighbouring threads take neighbouring inner positions, so each of the three
// passes reads coalesced rows of the [n, inner] slab.
template <class T>
__global__ void softmax_middle(T *y, const T *x, int64_t outer, int64_t n, int64_t inner,
                               bool log) {
    int64_t lines = outer * inner;
    for (int64_t i = k_first(); i < lines; i += k_step()) {
        int64_t off = (i / inner) * n * inner + i % inner;
        const T *xl = x + off;
        T *yl = y + off;
        float m = -INFINITY, s = 0.0f;
        for (int64_t r = 0; r < n; r++) m = fmaxf(m, kh_load(xl[r * inner]));
        for (int64_t r = 0; r < n; r++) s += expf(kh_load(xl[r * inner]) - m);
        if (log) {
            float shift = m + logf(s);
            for (int64_t r = 0; r < n; r++)
                kh_store(&yl[r * inner], kh_load(xl[r * inner]) - shift);
        } else {
            float inv = 1.0f / s;
            for (int64_t r = 0; r < n; r++)
                kh_store(&yl[r * inner], expf(kh_load(xl[r * inner]) - m) * inv);
        }
    }
}

template <class T>
static cudaError_t launch_softmax_middle(void *y, const void *x, int64_t outer, int64_t n,
                                         int64_t inner, int log, cudaStream_t stream) {
    if (outer < 0 || n < 0 || inner < 0) return cudaErrorInvalidValue;
    if (outer == 0 || n == 0 || inner == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    softmax_middle<T><<<k_blocks_for(outer * inner), K_BLOCK, 0, stream>>>(
        (T *)y, (const T *)x, outer, n, inner, log != 0);
    return cudaGetLastError();
}

template <class T>
static cudaError_t launch_softmax(void *y, const void *x, int64_t rows, int64_t cols, int log,
                                  cudaStream_t stream) {
    if (rows < 0 || cols < 0) return cudaErrorInvalidValue;
    if (rows == 0 || cols == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    bool whole_block = cols > K_WARP_ROW_MAX_COLS;
    softmax_rows<T><<<k_row_blocks(rows, whole_block), K_BLOCK, 0, stream>>>(
        (T *)y, (const T *)x, rows, cols, log != 0, whole_block);
    return cudaGetLastError();
}

}  // namespace

extern "C" cudaError_t cinfer_k_softmax(cinfer_k_dtype dt, void *y, const void *x, int64_t rows,
                                        int64_t cols, int log, cudaStream_t stream) {
    return kh_act_types(dt, [&](auto t) {
        return launch_softmax<decltype(t)>(y, x, rows, cols, log, stream);
    });
}

extern "C" cudaError_t cinfer_k_softmax_middle(cinfer_k_dtype dt, void *y, const void *x,
                                               int64_t outer, int64_t n, int64_t inner, int log,
                                               cudaStream_t stream) {
    return kh_act_types(dt, [&](auto t) {
        return launch_softmax_middle<decltype(t)>(y, x, outer, n, inner, log, stream);
    });
}

extern "C" cudaError_t cinfer_k_softmax_f32(float *y, const float *x, int64_t rows, int64_t cols,
                                            int log, cudaStream_t stream) {
    return launch_softmax<float>(y, x, rows, cols, log, stream);
}
