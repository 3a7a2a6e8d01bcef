// Where(cond, a, b) with numpy broadcasting of all three operands.
#include "common.cuh"
#include "half_in.cuh"

namespace {

template <class T>
__global__ void where_strided(T *y, const uint8_t *c, cinfer_k_strides cs, const T *a,
                              cinfer_k_strides as, const T *b, cinfer_k_strides bs,
                              cinfer_k_dims dims, int64_t n) {
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t oa, ob;
        k_offset2(i, dims, as, bs, &oa, &ob);
        y[i] = c[k_offset(i, dims, cs)] ? a[oa] : b[ob];
    }
}

template <class T>
static cudaError_t launch_where(T *y, const uint8_t *c, cinfer_k_strides cs, const T *a,
                                cinfer_k_strides as, const T *b, cinfer_k_strides bs,
                                cinfer_k_dims dims, cudaStream_t stream) {
    if (!k_dims_valid(dims)) return cudaErrorInvalidValue;
    int64_t n = cinfer_k_dims_count(&dims);
    if (n == 0) return cudaSuccess;
    if (!y || !c || !a || !b) return cudaErrorInvalidValue;
    cinfer_k_strides st[3] = {cs, as, bs};
    k_collapse(&dims, st, 3);
    where_strided<<<k_blocks_for(n), K_BLOCK, 0, stream>>>(y, c, st[0], a, st[1], b, st[2], dims,
                                                           n);
    return cudaGetLastError();
}

// Half activations: the chosen value widened (exact for H) and rounded to H on store.
template <class H>
__global__ void where_h(H *y, const uint8_t *c, cinfer_k_strides cs, HalfIn<H> a,
                        cinfer_k_strides as, HalfIn<H> b, cinfer_k_strides bs, cinfer_k_dims dims,
                        int64_t n) {
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t oa, ob;
        k_offset2(i, dims, as, bs, &oa, &ob);
        kh_store(&y[i], c[k_offset(i, dims, cs)] ? a[oa] : b[ob]);
    }
}

template <class H>
static cudaError_t launch_where_h(H *y, const uint8_t *c, cinfer_k_strides cs, HalfIn<H> a,
                                  cinfer_k_strides as, HalfIn<H> b, cinfer_k_strides bs,
                                  cinfer_k_dims dims, cudaStream_t stream) {
    if (!k_dims_valid(dims)) return cudaErrorInvalidValue;
    int64_t n = cinfer_k_dims_count(&dims);
    if (n == 0) return cudaSuccess;
    if (!y || !c || !a.p || !b.p) return cudaErrorInvalidValue;
    cinfer_k_strides st[3] = {cs, as, bs};
    k_collapse(&dims, st, 3);
    where_h<<<k_blocks_for(n), K_BLOCK, 0, stream>>>(y, c, st[0], a, st[1], b, st[2], dims, n);
    return cudaGetLastError();
}

}  // namespace

extern "C" cudaError_t cinfer_k_where_f32(float *y, const uint8_t *cond, cinfer_k_strides cs,
                                          const float *a, cinfer_k_strides as, const float *b,
                                          cinfer_k_strides bs, cinfer_k_dims dims,
                                          cudaStream_t stream) {
    return launch_where(y, cond, cs, a, as, b, bs, dims, stream);
}

extern "C" cudaError_t cinfer_k_where_i64(int64_t *y, const uint8_t *cond, cinfer_k_strides cs,
                                          const int64_t *a, cinfer_k_strides as, const int64_t *b,
                                          cinfer_k_strides bs, cinfer_k_dims dims,
                                          cudaStream_t stream) {
    return launch_where(y, cond, cs, a, as, b, bs, dims, stream);
}

extern "C" cudaError_t cinfer_k_where_h(cinfer_k_dtype h, void *y, const uint8_t *cond,
                                        cinfer_k_strides cs, const void *a, cinfer_k_dtype at,
                                        cinfer_k_strides as, const void *b, cinfer_k_dtype bt,
                                        cinfer_k_strides bs, cinfer_k_dims dims,
                                        cudaStream_t stream) {
    return k_half_operands(h, a, at, b, bt, [&](auto t, auto ha, auto hb) {
        return launch_where_h((decltype(t) *)y, cond, cs, ha, as, hb, bs, dims, stream);
    });
}
