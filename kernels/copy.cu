// Strided copies: Slice, Concat, Split and Expand as one kernel over two stride sets, plus
// Tile (coordinates modulo the input) and Pad (constant, reflect, edge).
#include <string.h>

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
#pragma unroll  // constant indices: the by-value parameters stay out of local memory
        for (int32_t k = 0; k < CINFER_K_MAX_RANK; k++) {
            const int32_t d = CINFER_K_MAX_RANK - 1 - k;
            if (d >= out.rank) continue;
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
#pragma unroll  // constant indices: the by-value parameters stay out of local memory
        for (int32_t k = 0; k < CINFER_K_MAX_RANK; k++) {
            const int32_t d = CINFER_K_MAX_RANK - 1 - k;
            if (d >= out.rank) continue;
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

// i / size[d] as a multiply-high, an add and a shift (valid for i < 2^31; the plan's dividers).
static inline __host__ __device__ uint32_t k_mulhi(uint32_t a, uint32_t b) {
#ifdef __CUDA_ARCH__
    return __umulhi(a, b);
#else
    return (uint32_t)(((uint64_t)a * b) >> 32);
#endif
}

// Offsets of moved element i (< 2^31) of an INDEX32 plan. The outermost coordinate is what is
// left of i, so it needs no division.
static inline __host__ __device__ void plan_offsets32(const cinfer_k_copy_plan &p, uint32_t i,
                                                      int64_t *od, int64_t *os) {
    int64_t a = 0, b = 0;
    for (int32_t d = p.dims.rank - 1; d > 0; d--) {
        uint32_t q = (k_mulhi(i, p.mul[d]) + i) >> p.shift[d];
        uint32_t c = i - q * (uint32_t)p.dims.size[d];
        i = q;
        a += (int64_t)c * p.dst.s[d];
        b += (int64_t)c * p.src.s[d];
    }
    if (p.dims.rank > 0) {
        a += (int64_t)i * p.dst.s[0];
        b += (int64_t)i * p.src.s[0];
    }
    *od = a;
    *os = b;
}

// T: the plan's moved element (1 to 16 bytes; uint4 for 16).
template <class T>
__global__ void copy_index32(T *dst, const T *src, cinfer_k_copy_plan p) {
    uint32_t n = (uint32_t)p.n, step = gridDim.x * blockDim.x;
    for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {
        int64_t od, os;
        plan_offsets32(p, i, &od, &os);
        dst[od] = src[os];
    }
}

template <class T>
static cudaError_t launch_plan(void *dst, const void *src, const cinfer_k_copy_plan &p,
                               cudaStream_t stream) {
    if (p.kind == CINFER_K_COPY_INDEX32)
        copy_index32<<<k_blocks_for(p.n), K_BLOCK, 0, stream>>>((T *)dst, (const T *)src, p);
    else
        copy_strided<<<k_blocks_for(p.n), K_BLOCK, 0, stream>>>((T *)dst, p.dst, (const T *)src,
                                                                p.src, p.dims, p.n);
    return cudaGetLastError();
}

// The divider of d (1 <= d < 2^31): s = ceil(log2 d), mul = floor(2^32 (2^s - d) / d) + 1;
// then (mulhi(i, mul) + i) >> s == i / d for every i < 2^31 (the sum stays below 2^32).
static void divider_of(uint32_t d, uint32_t *mul, uint32_t *shift) {
    uint32_t s = 0;
    while (s < 32 && (1ull << s) < d) s++;
    *mul = (uint32_t)((((1ull << 32) * ((1ull << s) - d)) / d) + 1);
    *shift = s;
}

// Whether every stride of both operands but the innermost (which must be 1 in both) is a
// multiple of k elements, the innermost size too, and both pointers are k * elem bytes aligned.
static bool widens(const cinfer_k_dims &dims, const cinfer_k_strides st[2], const void *dst,
                   const void *src, int64_t k, size_t elem) {
    int32_t r = dims.rank - 1;
    if (r < 0 || st[0].s[r] != 1 || st[1].s[r] != 1 || dims.size[r] % k) return false;
    if ((uintptr_t)dst % (k * elem) || (uintptr_t)src % (k * elem)) return false;
    for (int32_t d = 0; d < r; d++)
        if (st[0].s[d] % k || st[1].s[d] % k) return false;
    return true;
}

template <class T>
static cudaError_t launch_tile(void *y, const void *x, cinfer_k_dims in, cinfer_k_dims out,
                               int64_t n, cudaStream_t stream) {
    tile<<<k_blocks_for(n), K_BLOCK, 0, stream>>>((T *)y, (const T *)x, in, out, n);
    return cudaGetLastError();
}

}  // namespace

extern "C" int cinfer_k_copy_plan_make(cinfer_k_copy_plan *p, const void *dst,
                                      cinfer_k_strides dst_strides, const void *src,
                                      cinfer_k_strides src_strides, cinfer_k_dims dims,
                                      size_t elem_size) {
    memset(p, 0, sizeof *p);
    if (!k_dims_valid(dims)) return -1;
    if (elem_size != 1 && elem_size != 2 && elem_size != 4 && elem_size != 8) return -1;
    p->n = cinfer_k_dims_count(&dims);
    p->width = (int32_t)elem_size;
    if (p->n == 0) return 0;
    if (!dst || !src) return -1;
    cinfer_k_strides st[2] = {dst_strides, src_strides};
    k_collapse(&dims, st, 2);
    if (k_is_dense(dims, st[0]) && k_is_dense(dims, st[1])) {
        p->kind = CINFER_K_COPY_MEMCPY;
        p->dims = dims, p->dst = st[0], p->src = st[1];
        return 0;
    }
    // Wider elements where the innermost dim is contiguous in both: 16 bytes if possible.
    for (int64_t width = 16; width > (int64_t)elem_size; width /= 2) {
        int64_t k = width / (int64_t)elem_size;
        if (!widens(dims, st, dst, src, k, elem_size)) continue;
        dims.size[dims.rank - 1] /= k;
        for (int32_t d = 0; d < dims.rank - 1; d++) st[0].s[d] /= k, st[1].s[d] /= k;
        p->width = (int32_t)width;
        p->n /= k;
        break;
    }
    p->dims = dims, p->dst = st[0], p->src = st[1];
    p->kind = CINFER_K_COPY_INDEX32;
    if (p->n > INT32_MAX) p->kind = CINFER_K_COPY_INDEX64;
    for (int32_t d = 0; d < dims.rank; d++) {
        if (dims.size[d] > INT32_MAX) p->kind = CINFER_K_COPY_INDEX64;
        if (p->kind == CINFER_K_COPY_INDEX32) divider_of((uint32_t)dims.size[d], &p->mul[d], &p->shift[d]);
    }
    return 0;
}

extern "C" void cinfer_k_copy_plan_offsets(const cinfer_k_copy_plan *p, int64_t i,
                                           int64_t *dst_off, int64_t *src_off) {
    if (p->kind == CINFER_K_COPY_INDEX32) {
        plan_offsets32(*p, (uint32_t)i, dst_off, src_off);
        return;
    }
    // MEMCPY and INDEX64: the 64-bit decode (dense strides for MEMCPY).
    int64_t a = 0, b = 0;
    for (int32_t d = p->dims.rank - 1; d >= 0; d--) {
        int64_t c = i % p->dims.size[d];
        i /= p->dims.size[d];
        a += c * p->dst.s[d];
        b += c * p->src.s[d];
    }
    *dst_off = a;
    *src_off = b;
}

extern "C" cudaError_t cinfer_k_copy_strided(void *dst, cinfer_k_strides dst_strides,
                                             const void *src, cinfer_k_strides src_strides,
                                             cinfer_k_dims dims, size_t elem_size,
                                             cudaStream_t stream) {
    cinfer_k_copy_plan p;
    if (cinfer_k_copy_plan_make(&p, dst, dst_strides, src, src_strides, dims, elem_size))
        return cudaErrorInvalidValue;
    switch (p.kind) {
    case CINFER_K_COPY_NONE: return cudaSuccess;
    case CINFER_K_COPY_MEMCPY:
        return cudaMemcpyAsync(dst, src, (size_t)p.n * (size_t)p.width, cudaMemcpyDeviceToDevice,
                               stream);
    }
    switch (p.width) {
    case 1: return launch_plan<uint8_t>(dst, src, p, stream);
    case 2: return launch_plan<uint16_t>(dst, src, p, stream);
    case 4: return launch_plan<uint32_t>(dst, src, p, stream);
    case 8: return launch_plan<uint64_t>(dst, src, p, stream);
    case 16: return launch_plan<uint4>(dst, src, p, stream);
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
