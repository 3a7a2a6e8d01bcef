// Gather along one axis with int64 indices (negative ones count from the end).
#include "common.cuh"
#include "half_access.cuh"

namespace {

// y of type R, data of type T: the same type (bytes moved as they are), or R a 16-bit float and
// T float (a float table, a constant, gathered into a half-activation output, rounded on store).
template <class R, class T>
__global__ void gather(R *y, const T *data, const int64_t *indices, int64_t outer,
                       int64_t axis_dim, int64_t inner, int64_t k_count) {
    int64_t n = outer * k_count * inner;
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t in = i % inner, t = i / inner;
        int64_t k = t % k_count, o = t / k_count;
        int64_t idx = indices[k];
        if (idx < 0) idx += axis_dim;
        // An index still out of range reads nothing: zero bytes rather than a fault.
        bool ok = idx >= 0 && idx < axis_dim;
        kh_put(&y[i], ok ? data[(o * axis_dim + idx) * inner + in] : T(0));
    }
}

template <class R, class T = R>
static cudaError_t launch_gather(void *y, const void *data, const int64_t *indices,
                                 int64_t outer, int64_t axis_dim, int64_t inner, int64_t k_count,
                                 cudaStream_t stream) {
    int64_t n = outer * k_count * inner;
    gather<<<k_blocks_for(n), K_BLOCK, 0, stream>>>((R *)y, (const T *)data, indices, outer,
                                                    axis_dim, inner, k_count);
    return cudaGetLastError();
}

// GatherElements with indices of data's shape but for the axis: y[o, k, in] = data[o,
// idx[o, k, in], in]; an index out of range (after the negative wrap) reads zero bytes.
template <class T, class I>
__global__ void gather_elements(T *y, const T *data, const I *indices, int64_t outer,
                                int64_t axis_dim, int64_t inner, int64_t k_count) {
    int64_t n = outer * k_count * inner;
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t in = i % inner, o = i / inner / k_count;
        int64_t idx = (int64_t)indices[i];
        if (idx < 0) idx += axis_dim;
        bool ok = idx >= 0 && idx < axis_dim;
        y[i] = ok ? data[(o * axis_dim + idx) * inner + in] : T(0);
    }
}

template <class T>
static cudaError_t launch_gather_elements(void *y, const void *data, const void *indices,
                                          int idx64, int64_t outer, int64_t axis_dim,
                                          int64_t inner, int64_t k_count, cudaStream_t stream) {
    int64_t n = outer * k_count * inner;
    if (idx64)
        gather_elements<<<k_blocks_for(n), K_BLOCK, 0, stream>>>(
            (T *)y, (const T *)data, (const int64_t *)indices, outer, axis_dim, inner, k_count);
    else
        gather_elements<<<k_blocks_for(n), K_BLOCK, 0, stream>>>(
            (T *)y, (const T *)data, (const int32_t *)indices, outer, axis_dim, inner, k_count);
    return cudaGetLastError();
}

}  // namespace

extern "C" cudaError_t cinfer_k_gather_elements(void *y, const void *data, const void *indices,
                                                int idx64, int64_t outer, int64_t axis_dim,
                                                int64_t inner, int64_t k_count,
                                                size_t elem_size, cudaStream_t stream) {
    if (outer < 0 || axis_dim < 0 || inner < 0 || k_count < 0) return cudaErrorInvalidValue;
    if (outer == 0 || inner == 0 || k_count == 0) return cudaSuccess;
    if (!y || !indices || (!data && axis_dim > 0)) return cudaErrorInvalidValue;
    switch (elem_size) {
    case 1: return launch_gather_elements<uint8_t>(y, data, indices, idx64, outer, axis_dim,
                                                   inner, k_count, stream);
    case 2: return launch_gather_elements<uint16_t>(y, data, indices, idx64, outer, axis_dim,
                                                    inner, k_count, stream);
    case 4: return launch_gather_elements<uint32_t>(y, data, indices, idx64, outer, axis_dim,
                                                    inner, k_count, stream);
    case 8: return launch_gather_elements<uint64_t>(y, data, indices, idx64, outer, axis_dim,
                                                    inner, k_count, stream);
    }
    return cudaErrorInvalidValue;
}

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
    if (h == CINFER_K_F16)
        return launch_gather<__half, float>(y, data, indices, outer, axis_dim, inner, n_indices,
                                            stream);
    return launch_gather<__nv_bfloat16, float>(y, data, indices, outer, axis_dim, inner,
                                               n_indices, stream);
}
