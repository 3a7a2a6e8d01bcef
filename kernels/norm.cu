// LayerNormalization, SkipLayerNorm and InstanceNormalization (row statistics in fp32, two
// passes so the variance never cancels), and BatchNormalization inference (per-channel affine).
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

// Offset of column c of a row in an operand read through column strides over the normalized
// dims: one multiply when the dims collapsed to one (dense, or broadcast with stride 0).
static inline __device__ int64_t col_offset(int64_t c, const cinfer_k_dims &cols,
                                            const cinfer_k_strides &st) {
    return cols.rank <= 1 ? c * st.s[0] : k_offset(c, cols, st);
}

// SkipLayerNorm of each row r of the dense [rows, cols] output: the sum a + b is written to
// sum (the sum output, or y itself as staging), read back by the same thread for the two
// statistics passes and the affine pass, so every element is read once from a and b.
__global__ void skip_norm_rows(float *y, float *sum, const float *a, const float *b,
                               const float *gamma, const float *beta, cinfer_k_skip_ln p,
                               int64_t rows, int64_t cols, bool whole_block) {
    __shared__ float scratch[K_WARP];
    k_row_group g = k_row_group_of(whole_block);
    for (int64_t r = g.first_row; r < rows; r += g.row_step) {
        int64_t ao, bo;
        k_offset2(r, p.rows, p.a_row, p.b_row, &ao, &bo);
        const float *ar = a + ao, *br = b + bo;
        float *sr = sum + r * cols, *yr = y + r * cols;
        float s = 0.0f;
        for (int64_t c = g.lane; c < cols; c += g.lanes) {
            float v = ar[col_offset(c, p.cols, p.a_col)] + br[col_offset(c, p.cols, p.b_col)];
            sr[c] = v;
            s += v;
        }
        float mean = k_group_reduce(s, K_SUM, g, scratch) / (float)cols;
        float q = 0.0f;
        for (int64_t c = g.lane; c < cols; c += g.lanes) {
            float d = sr[c] - mean;
            q += d * d;
        }
        float var = k_group_reduce(q, K_SUM, g, scratch) / (float)cols;
        float inv = 1.0f / sqrtf(var + p.epsilon);
        for (int64_t c = g.lane; c < cols; c += g.lanes) {
            float v = (sr[c] - mean) * inv * gamma[col_offset(c, p.cols, p.gamma_col)];
            yr[c] = beta ? v + beta[col_offset(c, p.cols, p.beta_col)] : v;
        }
    }
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

extern "C" cudaError_t cinfer_k_skip_layer_norm_f32(float *y, float *sum, const float *a,
                                                    const float *b, const float *gamma,
                                                    const float *beta, cinfer_k_skip_ln p,
                                                    cudaStream_t stream) {
    if (!k_dims_valid(p.rows) || !k_dims_valid(p.cols)) return cudaErrorInvalidValue;
    int64_t rows = cinfer_k_dims_count(&p.rows), cols = cinfer_k_dims_count(&p.cols);
    if (rows == 0 || cols == 0) return cudaSuccess;
    if (!y || !a || !b || !gamma) return cudaErrorInvalidValue;
    // Fewer dims to decode per row and per column; collapsing keeps the row-major order, so
    // the dense outputs indexed by r * cols + c stay right.
    cinfer_k_strides rs[2] = {p.a_row, p.b_row}, cs[4] = {p.a_col, p.b_col, p.gamma_col,
                                                          p.beta_col};
    k_collapse(&p.rows, rs, 2);
    k_collapse(&p.cols, cs, 4);
    p.a_row = rs[0], p.b_row = rs[1];
    p.a_col = cs[0], p.b_col = cs[1], p.gamma_col = cs[2], p.beta_col = cs[3];
    bool whole_block = cols > K_WARP_ROW_MAX_COLS;
    skip_norm_rows<<<k_row_blocks(rows, whole_block), K_BLOCK, 0, stream>>>(
        y, sum ? sum : y, a, b, gamma, beta, p, rows, cols, whole_block);
    return cudaGetLastError();
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
