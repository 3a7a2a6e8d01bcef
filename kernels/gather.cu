// Gather along one axis with int64 indices (negative ones count from the end).
#include "common.cuh"
#include "half_access.cuh"

namespace {

template <class T>
__global__ void gather(T *y, const T *data, const int64_t *indices, int64_t outer,
                       int64_t axis_dim, int64_t inner, int64_t k_count) {
    int64_t n = outer * k_count * inner;
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t in = i % inner, t = i / inner;
        int64_t k = t % k_count, o = t / k_count;
        int64_t idx = indices[k];
        if (idx < 0) idx += axis_dim;
        // An index still out of range reads nothing: zero bytes rather than a fault.
        y[i] = idx >= 0 && idx < axis_dim ? data[(o * axis_dim + idx) * inner + in] : T(0);
    }
}

template <class T>
static cudaError_t launch_gather(void *y, const void *data, const int64_t *indices,
                                 int64_t outer, int64_t axis_dim, int64_t inner, int64_t k_count,
                                 cudaStream_t stream) {
    int64_t n = outer * k_count * inner;
    gather<<<k_blocks_for(n), K_BLOCK, 0, stream>>>((T *)y, (const T *)data, indices, outer,
                                                    axis_dim, inner, k_count);
    return cudaGetLastError();
}

// A float table (a constant) gathered into a half-activation output, rounded on store.
template <class H>
__global__ void gather_f32_to_h(H *y, const float *data, const int64_t *indices, int64_t outer,
                                int64_t axis_dim, int64_t inner, int64_t k_count) {
    int64_t n = outer * k_count * inner;
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t in = i % inner, t = i / inner;
        int64_t k = t % k_count, o = t / k_count;
        int64_t idx = indices[k];
        if (idx < 0) idx += axis_dim;
        bool ok = idx >= 0 && idx < axis_dim;
        kh_store(&y[i], ok ? data[(o * axis_dim + idx) * inner + in] : 0.0f);
    }
}

}  // namespace

extern "C" cudaError_t cinfer_k_gather(void *y, const void *data, const int64_t *indices,
                                       int64_t outer, int64_t axis_dim, int64_t inner,
                                       int64_t n_indices, size_t elem_size,
                                       cudaStream_t stream) {
    if (outer < 0 || axis_dim < 0 || inner < 0 || n_indices < 0) return cudaErrorInvalidValue;
    if (outer == 0 || inner == 0 || n_indices == 0) return cudaSuccess;
    if (!y || !indices || (!data && axis_dim > 0)) return cudaErrorInvalidValue;
    switch (elem_size) {
    case 1: return launch_gather<uint8_t>(y, data, indices, outer, axis_dim, inner, n_indices,
                                          stream);
    case 2: return launch_gather<uint16_t>(y, data, indices, outer, axis_dim, inner, n_indices,
                                           stream);
    case 4: return launch_gather<uint32_t>(y, data, indices, outer, axis_dim, inner, n_indices,
                                           stream);
    case 8: return launch_gather<uint64_t>(y, data, indices, outer, axis_dim, inner, n_indices,
                                           stream);
    }
    return cudaErrorInvalidValue;
}

extern "C" cudaError_t cinfer_k_gather_f32_to_h(cinfer_k_dtype h, void *y, const float *data,
                                                const int64_t *indices, int64_t outer,
                                                int64_t axis_dim, int64_t inner,
                                                int64_t n_indices, cudaStream_t stream) {
    if (outer < 0 || axis_dim < 0 || inner < 0 || n_indices < 0) return cudaErrorInvalidValue;
    if (h != CINFER_K_F16 && h != CINFER_K_BF16) return cudaErrorInvalidValue;
    if (outer == 0 || inner == 0 || n_indices == 0) return cudaSuccess;
    if (!y || !indices || (!data && axis_dim > 0)) return cudaErrorInvalidValue;
    int64_t n = outer * n_indices * inner;
    if (h == CINFER_K_F16)
        gather_f32_to_h<<<k_blocks_for(n), K_BLOCK, 0, stream>>>(
            (__half *)y, data, indices, outer, axis_dim, inner, n_indices);
    else
        gather_f32_to_h<<<k_blocks_for(n), K_BLOCK, 0, stream>>>(
            (__nv_bfloat16 *)y, data, indices, outer, axis_dim, inner, n_indices);
    return cudaGetLastError();
}
