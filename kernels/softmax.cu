// Softmax and LogSoftmax over the last axis of a [rows, cols] view: a warp per row for short
// rows, a block per row for long ones; max and sum in fp32.
#include "common.cuh"

namespace {

// Three passes over the row (max, sum of exponentials, write); the re-reads hit L1/L2.
__global__ void softmax_rows(float *y, const float *x, int64_t rows, int64_t cols, bool log,
                             bool whole_block) {
    __shared__ float scratch[K_WARP];
    k_row_group g = k_row_group_of(whole_block);
    for (int64_t r = g.first_row; r < rows; r += g.row_step) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float m = -INFINITY;
        for (int64_t c = g.lane; c < cols; c += g.lanes) m = fmaxf(m, xr[c]);
        m = k_group_reduce(m, K_MAX, g, scratch);
        float s = 0.0f;
        for (int64_t c = g.lane; c < cols; c += g.lanes) s += expf(xr[c] - m);
        s = k_group_reduce(s, K_SUM, g, scratch);
        if (log) {
            float shift = m + logf(s);
            for (int64_t c = g.lane; c < cols; c += g.lanes) yr[c] = xr[c] - shift;
        } else {
            float inv = 1.0f / s;
            for (int64_t c = g.lane; c < cols; c += g.lanes) yr[c] = expf(xr[c] - m) * inv;
        }
    }
}

}  // namespace

extern "C" cudaError_t cinfer_k_softmax_f32(float *y, const float *x, int64_t rows, int64_t cols,
                                            int log, cudaStream_t stream) {
    if (rows < 0 || cols < 0) return cudaErrorInvalidValue;
    if (rows == 0 || cols == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    bool whole_block = cols > K_WARP_ROW_MAX_COLS;
    softmax_rows<<<k_row_blocks(rows, whole_block), K_BLOCK, 0, stream>>>(y, x, rows, cols,
                                                                          log != 0, whole_block);
    return cudaGetLastError();
}
