// LayerNormalization and InstanceNormalization (row statistics in fp32, two passes so the
// variance never cancels), and BatchNormalization inference (per-channel affine).
#include "common.cuh"

namespace {

// Normalizes each row of [rows, cols]. channels == 0: gamma/beta indexed by column
// (LayerNorm); otherwise one gamma/beta per row, index row % channels (InstanceNorm over
// [n, channels, spatial]). beta, mean_out and inv_out may be null.
__global__ void norm_rows(float *y, float *mean_out, float *inv_out, const float *x,
                          const float *gamma, const float *beta, int64_t rows, int64_t cols,
                          int64_t channels, float eps, bool whole_block) {
    __shared__ float scratch[K_WARP];
    k_row_group g = k_row_group_of(whole_block);
    for (int64_t r = g.first_row; r < rows; r += g.row_step) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float s = 0.0f;
        for (int64_t c = g.lane; c < cols; c += g.lanes) s += xr[c];
        float mean = k_group_reduce(s, K_SUM, g, scratch) / (float)cols;
        float q = 0.0f;
        for (int64_t c = g.lane; c < cols; c += g.lanes) {
            float d = xr[c] - mean;
            q += d * d;
        }
        float var = k_group_reduce(q, K_SUM, g, scratch) / (float)cols;
        float inv = 1.0f / sqrtf(var + eps);
        if (g.lane == 0 && mean_out) mean_out[r] = mean;
        if (g.lane == 0 && inv_out) inv_out[r] = inv;
        if (channels > 0) {
            int64_t ch = r % channels;
            float ga = gamma[ch] * inv, be = beta ? beta[ch] : 0.0f;
            for (int64_t c = g.lane; c < cols; c += g.lanes) yr[c] = (xr[c] - mean) * ga + be;
        } else {
            for (int64_t c = g.lane; c < cols; c += g.lanes) {
                float v = (xr[c] - mean) * inv * gamma[c];
                yr[c] = beta ? v + beta[c] : v;
            }
        }
    }
}

static cudaError_t launch_norm_rows(float *y, float *mean_out, float *inv_out, const float *x,
                                    const float *gamma, const float *beta, int64_t rows,
                                    int64_t cols, int64_t channels, float eps,
                                    cudaStream_t stream) {
    if (rows < 0 || cols < 0 || channels < 0) return cudaErrorInvalidValue;
    if (rows == 0 || cols == 0) return cudaSuccess;
    if (!y || !x || !gamma) return cudaErrorInvalidValue;
    bool whole_block = cols > K_WARP_ROW_MAX_COLS;
    norm_rows<<<k_row_blocks(rows, whole_block), K_BLOCK, 0, stream>>>(
        y, mean_out, inv_out, x, gamma, beta, rows, cols, channels, eps, whole_block);
    return cudaGetLastError();
}

__global__ void batch_norm(float *y, const float *x, const float *scale, const float *bias,
                           const float *mean, const float *var, int64_t n, int64_t channels,
                           int64_t spatial, float eps) {
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t c = (i / spatial) % channels;
        float inv = 1.0f / sqrtf(var[c] + eps);
        y[i] = (x[i] - mean[c]) * (inv * scale[c]) + bias[c];
    }
}

}  // namespace

extern "C" cudaError_t cinfer_k_layer_norm_f32(float *y, float *mean, float *inv_std,
                                               const float *x, const float *gamma,
                                               const float *beta, int64_t rows, int64_t cols,
                                               float epsilon, cudaStream_t stream) {
    return launch_norm_rows(y, mean, inv_std, x, gamma, beta, rows, cols, 0, epsilon, stream);
}

extern "C" cudaError_t cinfer_k_instance_norm_f32(float *y, const float *x, const float *scale,
                                                  const float *bias, int64_t n, int64_t channels,
                                                  int64_t spatial, float epsilon,
                                                  cudaStream_t stream) {
    if (channels < 1) return cudaErrorInvalidValue;
    return launch_norm_rows(y, NULL, NULL, x, scale, bias, n * channels, spatial, channels,
                            epsilon, stream);
}

extern "C" cudaError_t cinfer_k_batch_norm_f32(float *y, const float *x, const float *scale,
                                               const float *bias, const float *mean,
                                               const float *var, int64_t n, int64_t channels,
                                               int64_t spatial, float epsilon,
                                               cudaStream_t stream) {
    if (n < 0 || channels < 1 || spatial < 0) return cudaErrorInvalidValue;
    int64_t total = n * channels * spatial;
    if (total == 0) return cudaSuccess;
    if (!y || !x || !scale || !bias || !mean || !var) return cudaErrorInvalidValue;
    batch_norm<<<k_blocks_for(total), K_BLOCK, 0, stream>>>(y, x, scale, bias, mean, var, total,
                                                            channels, spatial, epsilon);
    return cudaGetLastError();
}
