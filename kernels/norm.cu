// LayerNormalization, SkipLayerNorm and InstanceNormalization (row statistics in fp32, two
// passes so the variance never cancels), and BatchNormalization inference (per-channel affine).
// Templated over the activation type T and the parameter type P (half_access.cuh).
#include <string.h>

#include "common.cuh"
#include "half_access.cuh"

namespace {

// Normalizes each row of [rows, cols]. channels == 0: gamma/beta indexed by column
// (LayerNorm); otherwise one gamma/beta per row, index row % channels (InstanceNorm over
// [n, channels, spatial]). beta, mean_out and inv_out may be null.
template <class T, class P>
__global__ void norm_rows(T *y, T *mean_out, T *inv_out, const T *x, const P *gamma,
                          const P *beta, int64_t rows, int64_t cols, int64_t channels, float eps,
                          bool whole_block) {
    __shared__ float scratch[K_WARP];
    k_row_group g = k_row_group_of(whole_block);
    for (int64_t r = g.first_row; r < rows; r += g.row_step) {
        const T *xr = x + r * cols;
        T *yr = y + r * cols;
        float s = 0.0f;
        for (int64_t c = g.lane; c < cols; c += g.lanes) s += kh_load(xr[c]);
        float mean = k_group_reduce(s, K_SUM, g, scratch) / (float)cols;
        float q = 0.0f;
        for (int64_t c = g.lane; c < cols; c += g.lanes) {
            float d = kh_load(xr[c]) - mean;
            q += d * d;
        }
        float var = k_group_reduce(q, K_SUM, g, scratch) / (float)cols;
        float inv = 1.0f / sqrtf(var + eps);
        if (g.lane == 0 && mean_out) kh_store(&mean_out[r], mean);
        if (g.lane == 0 && inv_out) kh_store(&inv_out[r], inv);
        if (channels > 0) {
            int64_t ch = r % channels;
            float ga = kh_load(gamma[ch]) * inv, be = beta ? kh_load(beta[ch]) : 0.0f;
            for (int64_t c = g.lane; c < cols; c += g.lanes)
                kh_store(&yr[c], (kh_load(xr[c]) - mean) * ga + be);
        } else {
            for (int64_t c = g.lane; c < cols; c += g.lanes) {
                float v = (kh_load(xr[c]) - mean) * inv * kh_load(gamma[c]);
                kh_store(&yr[c], beta ? v + kh_load(beta[c]) : v);
            }
        }
    }
}

template <class T, class P>
static cudaError_t launch_norm_rows(void *y, void *mean_out, void *inv_out, const void *x,
                                    const void *gamma, const void *beta, int64_t rows,
                                    int64_t cols, int64_t channels, float eps,
                                    cudaStream_t stream) {
    if (rows < 0 || cols < 0 || channels < 0) return cudaErrorInvalidValue;
    if (rows == 0 || cols == 0) return cudaSuccess;
    if (!y || !x || !gamma) return cudaErrorInvalidValue;
    bool whole_block = cols > K_WARP_ROW_MAX_COLS;
    norm_rows<T, P><<<k_row_blocks(rows, whole_block), K_BLOCK, 0, stream>>>(
        (T *)y, (T *)mean_out, (T *)inv_out, (const T *)x, (const P *)gamma, (const P *)beta,
        rows, cols, channels, eps, whole_block);
    return cudaGetLastError();
}

// Offset of column c of a row in an operand read through column strides over the normalized
// dims: one multiply when the dims collapsed to one (dense, or broadcast with stride 0).
static inline __device__ int64_t col_offset(int64_t c, const cinfer_k_dims &cols,
                                            const cinfer_k_strides &st) {
    return cols.rank <= 1 ? c * st.s[0] : k_offset(c, cols, st);
}

// a + b at column c of a row, for the statistics and affine passes. float: reread from where
// the first pass staged it (sr, never null then), so a and b are read once; 16-bit types:
// recomputed in fp32 from a and b (b: T, or a float constant), as a staged sum would come
// back rounded.
template <class T, class TB>
static inline __device__ float skip_sum(const T *ar, const TB *br, const T *sr, int64_t c,
                                        const cinfer_k_skip_ln &p) {
    if (sizeof(T) == sizeof(float)) return kh_load(sr[c]);
    return kh_load(ar[col_offset(c, p.cols, p.a_col)]) +
           kh_load(br[col_offset(c, p.cols, p.b_col)]);
}

// SkipLayerNorm of each row r of the dense [rows, cols] output: the sum a + b is written to
// sum (the sum output, or for float y itself as staging; may be null for 16-bit types) and
// read back by the same thread for the two statistics passes and the affine pass.
template <class T, class TB, class P>
__global__ void skip_norm_rows(T *y, T *sum, const T *a, const TB *b, const P *gamma,
                               const P *beta, cinfer_k_skip_ln p, int64_t rows, int64_t cols,
                               bool whole_block) {
    __shared__ float scratch[K_WARP];
    k_row_group g = k_row_group_of(whole_block);
    for (int64_t r = g.first_row; r < rows; r += g.row_step) {
        int64_t ao, bo;
        k_offset2(r, p.rows, p.a_row, p.b_row, &ao, &bo);
        const T *ar = a + ao;
        const TB *br = b + bo;
        T *sr = sum ? sum + r * cols : nullptr, *yr = y + r * cols;
        float s = 0.0f;
        for (int64_t c = g.lane; c < cols; c += g.lanes) {
            float v = kh_load(ar[col_offset(c, p.cols, p.a_col)]) +
                      kh_load(br[col_offset(c, p.cols, p.b_col)]);
            if (sr) kh_store(&sr[c], v);
            s += v;
        }
        float mean = k_group_reduce(s, K_SUM, g, scratch) / (float)cols;
        float q = 0.0f;
        for (int64_t c = g.lane; c < cols; c += g.lanes) {
            float d = skip_sum(ar, br, sr, c, p) - mean;
            q += d * d;
        }
        float var = k_group_reduce(q, K_SUM, g, scratch) / (float)cols;
        float inv = 1.0f / sqrtf(var + p.epsilon);
        for (int64_t c = g.lane; c < cols; c += g.lanes) {
            float v = (skip_sum(ar, br, sr, c, p) - mean) * inv *
                      kh_load(gamma[col_offset(c, p.cols, p.gamma_col)]);
            kh_store(&yr[c], beta ? v + kh_load(beta[col_offset(c, p.cols, p.beta_col)]) : v);
        }
    }
}

// SkipLayerNorm of a transformer's residual stream: a and b dense 16-bit [rows, cols] of one
// type, cols % 8 == 0 and at most 8 * 32 * SKIP_VEC, every pointer 16-byte aligned, gamma and
// beta dense. A warp per row holds the row's a + b in registers (SKIP_VEC 16-byte vectors per
// lane), so a and b are read once with 16-byte loads (the general kernel rereads them per
// pass, two bytes at a time) and the three passes run from registers. The same fp32
// arithmetic per element; the sums run in another order.
// gamma and beta come eight at a time in 16-byte loads too (pvec: both 16-byte aligned): one
// scalar load per element had each lane 8 elements apart, so every load instruction touched 32
// sectors for 128 useful bytes, and gamma and beta (48 such loads a lane and row at 768
// columns) outweighed the row itself in L1 traffic (an H100 profile: 55% of HBM bandwidth).
#define SKIP_VEC 4

// Eight consecutive parameters p[c..c+7] (c a multiple of 8) widened to float: 16-byte loads
// when vec (p 16-byte aligned), else one at a time.
template <class P>
static inline __device__ void skip_load8(float *o, const P *p, int64_t c, bool vec) {
    if (vec) {
        constexpr int per = 16 / (int)sizeof(P);  // 4 floats or 8 16-bit values per load
#pragma unroll
        for (int h = 0; h < 8 / per; h++) {
            uint4 u = reinterpret_cast<const uint4 *>(p + c)[h];
            const P *e = reinterpret_cast<const P *>(&u);
#pragma unroll
            for (int i = 0; i < per; i++) o[h * per + i] = kh_load(e[i]);
        }
    } else {
#pragma unroll
        for (int i = 0; i < 8; i++) o[i] = kh_load(p[c + i]);
    }
}

template <class T, class P>
__global__ void skip_norm_rows_vec(T *y, T *sum, const T *a, const T *b, const P *gamma,
                                   const P *beta, int64_t rows, int64_t cols, float eps,
                                   bool pvec) {
    int lane = threadIdx.x % K_WARP;
    int64_t warp = k_first() / K_WARP, warps = k_step() / K_WARP;
    int64_t nv = cols / 8;  // vectors per row
    for (int64_t r = warp; r < rows; r += warps) {
        const uint4 *av = reinterpret_cast<const uint4 *>(a + r * cols);
        const uint4 *bv = reinterpret_cast<const uint4 *>(b + r * cols);
        float v[SKIP_VEC][8];
        float s = 0.0f;
#pragma unroll
        for (int k = 0; k < SKIP_VEC; k++) {
            int64_t j = lane + k * K_WARP;
            if (j >= nv) continue;
            uint4 ua = av[j], ub = bv[j];
            const T *ea = reinterpret_cast<const T *>(&ua), *eb = reinterpret_cast<const T *>(&ub);
#pragma unroll
            for (int e = 0; e < 8; e++) {
                v[k][e] = kh_load(ea[e]) + kh_load(eb[e]);
                s += v[k][e];
            }
        }
        float mean = k_warp_sum(s) / (float)cols, q = 0.0f;
#pragma unroll
        for (int k = 0; k < SKIP_VEC; k++) {
            if (lane + k * K_WARP >= nv) continue;
#pragma unroll
            for (int e = 0; e < 8; e++) {
                float d = v[k][e] - mean;
                q += d * d;
            }
        }
        float inv = 1.0f / sqrtf(k_warp_sum(q) / (float)cols + eps);
#pragma unroll
        for (int k = 0; k < SKIP_VEC; k++) {
            int64_t j = lane + k * K_WARP;
            if (j >= nv) continue;
            uint4 uy, us;
            T *ey = reinterpret_cast<T *>(&uy), *es = reinterpret_cast<T *>(&us);
            float gm[8], bt[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            skip_load8(gm, gamma, j * 8, pvec);
            if (beta) skip_load8(bt, beta, j * 8, pvec);
#pragma unroll
            for (int e = 0; e < 8; e++) {
                float o = (v[k][e] - mean) * inv * gm[e];
                kh_store(&ey[e], beta ? o + bt[e] : o);
                kh_store(&es[e], v[k][e]);
            }
            reinterpret_cast<uint4 *>(y + r * cols)[j] = uy;
            if (sum) reinterpret_cast<uint4 *>(sum + r * cols)[j] = us;
        }
    }
}

static bool aligned16(const void *p) { return ((uintptr_t)p & 15u) == 0; }

// Whether skip_norm_rows_vec takes a 16-bit call (after collapsing: one row dim and one column
// dim at most, each dense).
static bool skip_vec_ok(const void *y, const void *sum, const void *a, const void *b,
                        const void *gamma, const void *beta, const cinfer_k_skip_ln &p,
                        int64_t rows, int64_t cols) {
    if (cols % 8 || cols > 8 * K_WARP * SKIP_VEC) return false;
    if (p.rows.rank > 1 || p.cols.rank != 1) return false;
    bool row_dense = rows == 1 || p.rows.rank == 0 ||
                     (p.a_row.s[0] == cols && p.b_row.s[0] == cols);
    bool col_dense = p.a_col.s[0] == 1 && p.b_col.s[0] == 1 && p.gamma_col.s[0] == 1 &&
                     (!beta || p.beta_col.s[0] == 1);
    return row_dense && col_dense && aligned16(y) && aligned16(a) && aligned16(b) &&
           (!sum || aligned16(sum)) && gamma;
}

template <class T, class TB, class P>
static cudaError_t launch_skip_norm(void *y, void *sum, const void *a, const void *b,
                                    const void *gamma, const void *beta, cinfer_k_skip_ln p,
                                    cudaStream_t stream) {
    if (!k_dims_valid(p.rows) || !k_dims_valid(p.cols)) return cudaErrorInvalidValue;
    int64_t rows = cinfer_k_dims_count(&p.rows), cols = cinfer_k_dims_count(&p.cols);
    if (rows == 0 || cols == 0) return cudaSuccess;
    if (!y || !a || !b || !gamma) return cudaErrorInvalidValue;
    // Fewer dims to decode per row and per column; collapsing keeps the row-major order, so
    // the dense outputs indexed by r * cols + c stay right.
    // Without beta its strides are never read: zero them so they cannot stop dims merging.
    if (!beta) memset(&p.beta_col, 0, sizeof p.beta_col);
    cinfer_k_strides rs[2] = {p.a_row, p.b_row}, cs[4] = {p.a_col, p.b_col, p.gamma_col,
                                                          p.beta_col};
    k_collapse(&p.rows, rs, 2);
    k_collapse(&p.cols, cs, 4);
    p.a_row = rs[0], p.b_row = rs[1];
    p.a_col = cs[0], p.b_col = cs[1], p.gamma_col = cs[2], p.beta_col = cs[3];
    if constexpr (sizeof(T) == 2 && sizeof(TB) == 2) {  // the register-row kernel is 16-bit
        if (skip_vec_ok(y, sum, a, b, gamma, beta, p, rows, cols)) {
            int64_t blocks = (rows + K_BLOCK / K_WARP - 1) / (K_BLOCK / K_WARP);
            skip_norm_rows_vec<T, P>
                <<<(unsigned)(blocks < K_MAX_BLOCKS ? blocks : K_MAX_BLOCKS), K_BLOCK, 0,
                   stream>>>((T *)y, (T *)sum, (const T *)a, (const T *)b, (const P *)gamma,
                             (const P *)beta, rows, cols, p.epsilon,
                             aligned16(gamma) && (!beta || aligned16(beta)));
            return cudaGetLastError();
        }
    }
    bool whole_block = cols > K_WARP_ROW_MAX_COLS;
    if (sizeof(T) == sizeof(float) && !sum) sum = y;  // float stages the sum in y
    skip_norm_rows<T, TB, P><<<k_row_blocks(rows, whole_block), K_BLOCK, 0, stream>>>(
        (T *)y, (T *)sum, (const T *)a, (const TB *)b, (const P *)gamma, (const P *)beta, p,
        rows, cols, whole_block);
    return cudaGetLastError();
}

template <class T, class P>
__global__ void batch_norm(T *y, const T *x, const P *scale, const P *bias, const P *mean,
                           const P *var, int64_t n, int64_t channels, int64_t spatial,
                           float eps) {
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t c = (i / spatial) % channels;
        float inv = 1.0f / sqrtf(kh_load(var[c]) + eps);
        kh_store(&y[i], (kh_load(x[i]) - kh_load(mean[c])) * (inv * kh_load(scale[c])) +
                            kh_load(bias[c]));
    }
}

template <class T, class P>
static cudaError_t launch_batch_norm(void *y, const void *x, const void *scale,
                                     const void *bias, const void *mean, const void *var,
                                     int64_t n, int64_t channels, int64_t spatial, float eps,
                                     cudaStream_t stream) {
    if (n < 0 || channels < 1 || spatial < 0) return cudaErrorInvalidValue;
    int64_t total = n * channels * spatial;
    if (total == 0) return cudaSuccess;
    if (!y || !x || !scale || !bias || !mean || !var) return cudaErrorInvalidValue;
    batch_norm<T, P><<<k_blocks_for(total), K_BLOCK, 0, stream>>>(
        (T *)y, (const T *)x, (const P *)scale, (const P *)bias, (const P *)mean,
        (const P *)var, total, channels, spatial, eps);
    return cudaGetLastError();
}

}  // namespace

extern "C" cudaError_t cinfer_k_layer_norm(cinfer_k_dtype dt, void *y, void *mean, void *inv_std,
                                           const void *x, cinfer_k_dtype pdt, const void *gamma,
                                           const void *beta, int64_t rows, int64_t cols,
                                           float epsilon, cudaStream_t stream) {
    return kh_act_param_types(dt, pdt, [&](auto t, auto q) {
        return launch_norm_rows<decltype(t), decltype(q)>(y, mean, inv_std, x, gamma, beta, rows,
                                                          cols, 0, epsilon, stream);
    });
}

extern "C" cudaError_t cinfer_k_skip_layer_norm(cinfer_k_dtype dt, void *y, void *sum,
                                                const void *a, const void *b, cinfer_k_dtype bdt,
                                                cinfer_k_dtype pdt, const void *gamma,
                                                const void *beta, cinfer_k_skip_ln p,
                                                cudaStream_t stream) {
    return kh_act_param_types(dt, pdt, [&](auto t, auto q) {
        using T = decltype(t);
        using P = decltype(q);
        if (bdt == dt) return launch_skip_norm<T, T, P>(y, sum, a, b, gamma, beta, p, stream);
        if (bdt != CINFER_K_F32) return cudaErrorInvalidValue;
        return launch_skip_norm<T, float, P>(y, sum, a, b, gamma, beta, p, stream);
    });
}

extern "C" cudaError_t cinfer_k_instance_norm(cinfer_k_dtype dt, void *y, const void *x,
                                              cinfer_k_dtype pdt, const void *scale,
                                              const void *bias, int64_t n, int64_t channels,
                                              int64_t spatial, float epsilon,
                                              cudaStream_t stream) {
    if (channels < 1) return cudaErrorInvalidValue;
    return kh_act_param_types(dt, pdt, [&](auto t, auto q) {
        return launch_norm_rows<decltype(t), decltype(q)>(y, NULL, NULL, x, scale, bias,
                                                          n * channels, spatial, channels,
                                                          epsilon, stream);
    });
}

extern "C" cudaError_t cinfer_k_batch_norm(cinfer_k_dtype dt, void *y, const void *x,
                                           cinfer_k_dtype pdt, const void *scale,
                                           const void *bias, const void *mean, const void *var,
                                           int64_t n, int64_t channels, int64_t spatial,
                                           float epsilon, cudaStream_t stream) {
    return kh_act_param_types(dt, pdt, [&](auto t, auto q) {
        return launch_batch_norm<decltype(t), decltype(q)>(y, x, scale, bias, mean, var, n,
                                                           channels, spatial, epsilon, stream);
    });
}

// The float-only wrappers of the first API, kept for their callers.

extern "C" cudaError_t cinfer_k_layer_norm_f32(float *y, float *mean, float *inv_std,
                                               const float *x, const float *gamma,
                                               const float *beta, int64_t rows, int64_t cols,
                                               float epsilon, cudaStream_t stream) {
    return launch_norm_rows<float, float>(y, mean, inv_std, x, gamma, beta, rows, cols, 0,
                                          epsilon, stream);
}

extern "C" cudaError_t cinfer_k_skip_layer_norm_f32(float *y, float *sum, const float *a,
                                                    const float *b, const float *gamma,
                                                    const float *beta, cinfer_k_skip_ln p,
                                                    cudaStream_t stream) {
    return launch_skip_norm<float, float, float>(y, sum, a, b, gamma, beta, p, stream);
}

extern "C" cudaError_t cinfer_k_instance_norm_f32(float *y, const float *x, const float *scale,
                                                  const float *bias, int64_t n, int64_t channels,
                                                  int64_t spatial, float epsilon,
                                                  cudaStream_t stream) {
    if (channels < 1) return cudaErrorInvalidValue;
    return launch_norm_rows<float, float>(y, NULL, NULL, x, scale, bias, n * channels, spatial,
                                          channels, epsilon, stream);
}

extern "C" cudaError_t cinfer_k_batch_norm_f32(float *y, const float *x, const float *scale,
                                               const float *bias, const float *mean,
                                               const float *var, int64_t n, int64_t channels,
                                               int64_t spatial, float epsilon,
                                               cudaStream_t stream) {
    return launch_batch_norm<float, float>(y, x, scale, bias, mean, var, n, channels, spatial,
                                           epsilon, stream);
}
