// Strided copies: Slice, Concat, Split and Expand as one kernel over two stride sets, plus
// Tile (coordinates modulo the input) and Pad (constant, reflect, edge).
#include "common.cuh"
#include "half_access.cuh"

namespace {

template <class T>
__global__ void copy_strided(T *dst, cinfer_k_strides ds, const T *src, cinfer_k_strides ss,
                            cinfer_k_dims dims, int64_t n) {
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t od, os;
        k_offset2(i, dims, ds, ss, &od, &os);
        dst[od] = src[os];
    }
}

// A float constant copied into a half-activation destination, rounded on store.
template <class H>
__global__ void copy_strided_f32_to_h(H *dst, cinfer_k_strides ds, const float *src,
                                      cinfer_k_strides ss, cinfer_k_dims dims, int64_t n) {
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t od, os;
        k_offset2(i, dims, ds, ss, &od, &os);
        kh_store(&dst[od], src[os]);
    }
}

template <class T>
__global__ void tile(T *y, const T *x, cinfer_k_dims in, cinfer_k_dims out, int64_t n) {
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t rest = i, off = 0, stride = 1;
        for (int32_t d = out.rank - 1; d >= 0; d--) {
            int64_t c = rest % out.size[d];
            rest /= out.size[d];
            off += (c % in.size[d]) * stride;
            stride *= in.size[d];
        }
        y[i] = x[off];
    }
}

// Maps a coordinate outside [0, size) into it: edge clamps, reflect mirrors about the end
// elements (period 2 * (size - 1)); returns -1 for constant mode.
static __device__ int64_t pad_source(int64_t c, int64_t size, cinfer_k_pad_mode mode) {
    if (c >= 0 && c < size) return c;
    if (mode == CINFER_K_PAD_EDGE) return c < 0 ? 0 : size - 1;
    if (mode == CINFER_K_PAD_REFLECT) {
        if (size == 1) return 0;
        int64_t period = 2 * (size - 1);
        c %= period;
        if (c < 0) c += period;
        return c < size ? c : period - c;
    }
    return -1;
}

// T float, __half or __nv_bfloat16: elements are moved as they are; the constant value is
// rounded to T (the identity for float).
template <class T>
__global__ void pad_k(T *y, const T *x, cinfer_k_dims in, cinfer_k_dims out,
                      cinfer_k_strides begin, cinfer_k_pad_mode mode, float value, int64_t n) {
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t rest = i, off = 0, stride = 1;
        bool inside = true;
        for (int32_t d = out.rank - 1; d >= 0; d--) {
            int64_t c = rest % out.size[d];
            rest /= out.size[d];
            int64_t s = pad_source(c - begin.s[d], in.size[d], mode);
            if (s < 0) inside = false;
            off += s * stride;
            stride *= in.size[d];
        }
        if (inside)
            y[i] = x[off];
        else
            kh_store(&y[i], value);
    }
}

template <class T>
static cudaError_t launch_pad(T *y, const T *x, cinfer_k_dims in, cinfer_k_dims out,
                              cinfer_k_strides begin, cinfer_k_pad_mode mode, float value,
                              cudaStream_t stream) {
    if (!k_dims_valid(in) || !k_dims_valid(out) || in.rank != out.rank)
        return cudaErrorInvalidValue;
    if (mode != CINFER_K_PAD_CONSTANT && mode != CINFER_K_PAD_REFLECT &&
        mode != CINFER_K_PAD_EDGE)
        return cudaErrorInvalidValue;
    int64_t n = cinfer_k_dims_count(&out);
    if (n == 0) return cudaSuccess;
    // Edge and reflect read from x wherever the output is; an empty input has nothing to read.
    if (mode != CINFER_K_PAD_CONSTANT && cinfer_k_dims_count(&in) == 0)
        return cudaErrorInvalidValue;
    if (!y || (!x && cinfer_k_dims_count(&in) > 0)) return cudaErrorInvalidValue;
    pad_k<<<k_blocks_for(n), K_BLOCK, 0, stream>>>(y, x, in, out, begin, mode, value, n);
    return cudaGetLastError();
}

template <class T>
static cudaError_t launch_copy(void *dst, cinfer_k_strides ds, const void *src,
                               cinfer_k_strides ss, cinfer_k_dims dims, int64_t n,
                               cudaStream_t stream) {
    copy_strided<<<k_blocks_for(n), K_BLOCK, 0, stream>>>((T *)dst, ds, (const T *)src, ss, dims,
                                                          n);
    return cudaGetLastError();
}

template <class T>
static cudaError_t launch_tile(void *y, const void *x, cinfer_k_dims in, cinfer_k_dims out,
                               int64_t n, cudaStream_t stream) {
    tile<<<k_blocks_for(n), K_BLOCK, 0, stream>>>((T *)y, (const T *)x, in, out, n);
    return cudaGetLastError();
}

}  // namespace

extern "C" cudaError_t cinfer_k_copy_strided(void *dst, cinfer_k_strides dst_strides,
                                             const void *src, cinfer_k_strides src_strides,
                                             cinfer_k_dims dims, size_t elem_size,
                                             cudaStream_t stream) {
    if (!k_dims_valid(dims)) return cudaErrorInvalidValue;
    int64_t n = cinfer_k_dims_count(&dims);
    if (n == 0) return cudaSuccess;
    if (!dst || !src) return cudaErrorInvalidValue;
    if (elem_size != 1 && elem_size != 2 && elem_size != 4 && elem_size != 8)
        return cudaErrorInvalidValue;
    cinfer_k_strides st[2] = {dst_strides, src_strides};
    k_collapse(&dims, st, 2);
    if (k_is_dense(dims, st[0]) && k_is_dense(dims, st[1]))
        return cudaMemcpyAsync(dst, src, (size_t)n * elem_size, cudaMemcpyDeviceToDevice, stream);
    switch (elem_size) {
    case 1: return launch_copy<uint8_t>(dst, st[0], src, st[1], dims, n, stream);
    case 2: return launch_copy<uint16_t>(dst, st[0], src, st[1], dims, n, stream);
    case 4: return launch_copy<uint32_t>(dst, st[0], src, st[1], dims, n, stream);
    case 8: return launch_copy<uint64_t>(dst, st[0], src, st[1], dims, n, stream);
    }
    return cudaErrorInvalidValue;
}

extern "C" cudaError_t cinfer_k_tile(void *y, const void *x, cinfer_k_dims in, cinfer_k_dims out,
                                     size_t elem_size, cudaStream_t stream) {
    if (!k_dims_valid(in) || !k_dims_valid(out) || in.rank != out.rank)
        return cudaErrorInvalidValue;
    for (int32_t d = 0; d < in.rank; d++)
        if (out.size[d] > 0 && in.size[d] == 0) return cudaErrorInvalidValue;
    int64_t n = cinfer_k_dims_count(&out);
    if (n == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    switch (elem_size) {
    case 1: return launch_tile<uint8_t>(y, x, in, out, n, stream);
    case 2: return launch_tile<uint16_t>(y, x, in, out, n, stream);
    case 4: return launch_tile<uint32_t>(y, x, in, out, n, stream);
    case 8: return launch_tile<uint64_t>(y, x, in, out, n, stream);
    }
    return cudaErrorInvalidValue;
}

extern "C" cudaError_t cinfer_k_pad_f32(float *y, const float *x, cinfer_k_dims in,
                                        cinfer_k_dims out, cinfer_k_strides begin,
                                        cinfer_k_pad_mode mode, float value,
                                        cudaStream_t stream) {
    return launch_pad(y, x, in, out, begin, mode, value, stream);
}

extern "C" cudaError_t cinfer_k_pad_h(cinfer_k_dtype h, void *y, const void *x,
                                      cinfer_k_dims in, cinfer_k_dims out, cinfer_k_strides begin,
                                      cinfer_k_pad_mode mode, float value, cudaStream_t stream) {
    if (h == CINFER_K_F16)
        return launch_pad((__half *)y, (const __half *)x, in, out, begin, mode, value, stream);
    if (h == CINFER_K_BF16)
        return launch_pad((__nv_bfloat16 *)y, (const __nv_bfloat16 *)x, in, out, begin, mode,
                          value, stream);
    return cudaErrorInvalidValue;
}

extern "C" cudaError_t cinfer_k_copy_strided_f32_to_h(cinfer_k_dtype h, void *dst,
                                                      cinfer_k_strides dst_strides,
                                                      const float *src,
                                                      cinfer_k_strides src_strides,
                                                      cinfer_k_dims dims, cudaStream_t stream) {
    if (!k_dims_valid(dims) || (h != CINFER_K_F16 && h != CINFER_K_BF16))
        return cudaErrorInvalidValue;
    int64_t n = cinfer_k_dims_count(&dims);
    if (n == 0) return cudaSuccess;
    if (!dst || !src) return cudaErrorInvalidValue;
    cinfer_k_strides st[2] = {dst_strides, src_strides};
    k_collapse(&dims, st, 2);
    if (h == CINFER_K_F16)
        copy_strided_f32_to_h<<<k_blocks_for(n), K_BLOCK, 0, stream>>>((__half *)dst, st[0], src,
                                                                        st[1], dims, n);
    else
        copy_strided_f32_to_h<<<k_blocks_for(n), K_BLOCK, 0, stream>>>(
            (__nv_bfloat16 *)dst, st[0], src, st[1], dims, n);
    return cudaGetLastError();
}
