// Resize (nearest of any element size, linear of float32) over all dims, with ONNX's coordinate
// transformations computed in double exactly as the CPU backend does (src/ops/resize.c).
#include "common.cuh"

namespace {

// x_original of output index o along one axis: src/ops/resize.c's cinfer__resize_coords, same
// double operations in the same order. The _rn intrinsics keep nvcc from contracting a multiply
// and an add into an FMA, whose single rounding could move a coordinate that sits on a .5
// boundary (or an integer) and with it the sample nearest or floor picks.
static __device__ double source_coord(int64_t o, double scale, int64_t in_len, int64_t out_len,
                                      cinfer_k_resize_coord mode) {
    double x = (double)o, half = __ddiv_rn(__dadd_rn(x, 0.5), scale);
    switch (mode) {
    case CINFER_K_COORD_ASYMMETRIC: return __ddiv_rn(x, scale);
    case CINFER_K_COORD_ALIGN_CORNERS: {
        // The unrounded output width, as the CPU (and ONNX's reference) use it.
        double width = __dmul_rn(scale, (double)in_len);
        if (out_len == 1) return 0.0;
        return __ddiv_rn(__dmul_rn(x, (double)(in_len - 1)), __dsub_rn(width, 1.0));
    }
    case CINFER_K_COORD_PYTORCH_HALF_PIXEL: return out_len > 1 ? __dsub_rn(half, 0.5) : 0.0;
    case CINFER_K_COORD_TF_HALF_PIXEL_FOR_NN: return half;
    case CINFER_K_COORD_HALF_PIXEL_SYMMETRIC: {
        double adj = __ddiv_rn((double)out_len, __dmul_rn(scale, (double)in_len));
        double offset = __dmul_rn(__ddiv_rn((double)in_len, 2.0), __dsub_rn(1.0, adj));
        return __dsub_rn(__dadd_rn(offset, half), 0.5);
    }
    default: return __dsub_rn(half, 0.5);
    }
}

static __device__ int64_t clamp_index(double v, int64_t len) {
    if (v < 0.0) return 0;
    if (v > (double)(len - 1)) return len - 1;
    return (int64_t)v;
}

static __device__ int64_t nearest_index(double x, double scale, int64_t len,
                                        cinfer_k_resize_nearest mode) {
    double f = floor(x);
    switch (mode) {
    case CINFER_K_NEAREST_ROUND_PREFER_FLOOR: return clamp_index(x - f > 0.5 ? f + 1.0 : f, len);
    case CINFER_K_NEAREST_ROUND_PREFER_CEIL: return clamp_index(x - f >= 0.5 ? f + 1.0 : f, len);
    case CINFER_K_NEAREST_FLOOR: return clamp_index(f, len);
    case CINFER_K_NEAREST_CEIL: return clamp_index(ceil(x), len);
    default: return clamp_index(scale < 1.0 ? ceil(x) : f, len);
    }
}

// The two neighbours of coordinate x (clamped to the input) and the float weight of i1: zero
// when both clamp to the same sample, as on the CPU.
struct Taps {
    int64_t i0, i1;
    float w;
};

static __device__ Taps linear_taps(double x, int64_t len) {
    double f = floor(x);
    Taps t;
    t.i0 = clamp_index(f, len);
    t.i1 = clamp_index(f + 1.0, len);
    t.w = t.i0 == t.i1 ? 0.0f : (float)(x - f);
    return t;
}

template <class T>
__global__ void resize_nearest(T *y, const T *x, cinfer_k_dims in, cinfer_k_dims out,
                               cinfer_k_resize_params p, int64_t n) {
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t r = i, off = 0, stride = 1;
#pragma unroll  // constant indices: the by-value parameters stay out of local memory
        for (int32_t k = 0; k < CINFER_K_MAX_RANK; k++) {
            const int32_t a = CINFER_K_MAX_RANK - 1 - k;
            if (a >= out.rank) continue;
            int64_t o = r % out.size[a];
            r /= out.size[a];
            double c = source_coord(o, p.scale[a], in.size[a], out.size[a], p.coord);
            off += nearest_index(c, p.scale[a], in.size[a], p.nearest) * stride;
            stride *= in.size[a];
        }
        y[i] = x[off];
    }
}

// One output element blends 2^k source rows, k the axes before the last whose weight is not
// zero; along the last axis each row is interpolated between its two taps. Corner c takes i1
// on the j-th such axis (walking from the second-last axis down) when bit j of c is set, and
// corners are summed in increasing c: the CPU's order (src/cpu/resize.c, linear_corners and
// blend_row), with float products and sums unfused so the results agree bit for bit.
__global__ void resize_linear(float *y, const float *x, cinfer_k_dims in, cinfer_k_dims out,
                              cinfer_k_resize_params p, int64_t n) {
    const int32_t last = out.rank - 1;
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t r = i / out.size[last], stride = in.size[last], base = 0;
        int64_t step[CINFER_K_MAX_RANK];
        float wk[CINFER_K_MAX_RANK];
        int k = 0;
        Taps tl = linear_taps(source_coord(i % out.size[last], p.scale[last], in.size[last],
                                           out.size[last], p.coord),
                              in.size[last]);
        for (int32_t a = last - 1; a >= 0; a--) {
            int64_t o = r % out.size[a];
            r /= out.size[a];
            Taps t = linear_taps(source_coord(o, p.scale[a], in.size[a], out.size[a], p.coord),
                                 in.size[a]);
            base += t.i0 * stride;
            if (t.w != 0.0f) {
                step[k] = (t.i1 - t.i0) * stride;
                wk[k++] = t.w;
            }
            stride *= in.size[a];
        }
        float acc = 0.0f, u = __fsub_rn(1.0f, tl.w);
        for (int c = 0; c < (1 << k); c++) {
            float cw = 1.0f;
            int64_t off = base;
            for (int j = 0; j < k; j++) {
                bool hi = (c >> j) & 1;
                cw = __fmul_rn(cw, hi ? wk[j] : __fsub_rn(1.0f, wk[j]));
                off += hi ? step[j] : 0;
            }
            const float *s = x + off;
            float v = __fadd_rn(__fmul_rn(u, s[tl.i0]), __fmul_rn(tl.w, s[tl.i1]));
            acc = c == 0 ? (k == 0 ? v : __fmul_rn(cw, v)) : __fadd_rn(acc, __fmul_rn(cw, v));
        }
        y[i] = acc;
    }
}

template <class T>
static cudaError_t launch_nearest(void *y, const void *x, const cinfer_k_dims &in,
                                  const cinfer_k_dims &out, const cinfer_k_resize_params &p,
                                  int64_t n, cudaStream_t stream) {
    resize_nearest<T><<<k_blocks_for(n), K_BLOCK, 0, stream>>>((T *)y, (const T *)x, in, out, p,
                                                                n);
    return cudaGetLastError();
}

}  // namespace

extern "C" cudaError_t cinfer_k_resize(void *y, const void *x, cinfer_k_dims in,
                                       cinfer_k_dims out, size_t elem_size,
                                       cinfer_k_resize_params p, cudaStream_t stream) {
    if (!k_dims_valid(in) || !k_dims_valid(out) || in.rank != out.rank || in.rank == 0)
        return cudaErrorInvalidValue;
    for (int32_t a = 0; a < in.rank; a++)
        if (!(p.scale[a] > 0.0) || (in.size[a] == 0 && out.size[a] > 0))
            return cudaErrorInvalidValue;
    if ((unsigned)p.coord > CINFER_K_COORD_HALF_PIXEL_SYMMETRIC ||
        (unsigned)p.nearest > CINFER_K_NEAREST_SIMPLE)
        return cudaErrorInvalidValue;
    int64_t n = cinfer_k_dims_count(&out);
    if (n == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    if (p.mode == CINFER_K_RESIZE_LINEAR) {
        if (elem_size != 4) return cudaErrorInvalidValue;
        resize_linear<<<k_blocks_for(n), K_BLOCK, 0, stream>>>((float *)y, (const float *)x, in,
                                                               out, p, n);
        return cudaGetLastError();
    }
    if (p.mode != CINFER_K_RESIZE_NEAREST) return cudaErrorInvalidValue;
    switch (elem_size) {
    case 1: return launch_nearest<uint8_t>(y, x, in, out, p, n, stream);
    case 2: return launch_nearest<uint16_t>(y, x, in, out, p, n, stream);
    case 4: return launch_nearest<uint32_t>(y, x, in, out, p, n, stream);
    case 8: return launch_nearest<uint64_t>(y, x, in, out, p, n, stream);
    default: return cudaErrorInvalidValue;
    }
}
