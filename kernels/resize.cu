// Resize of the last two dims (nearest and bilinear) with ONNX's coordinate transformations.
#include "common.cuh"

namespace {

// The input coordinate that output coordinate o maps to (ONNX coordinate_transformation_mode).
static __device__ float source_coord(int64_t o, float scale, int64_t out_len, int64_t in_len,
                                     cinfer_k_resize_coord mode) {
    switch (mode) {
    case CINFER_K_COORD_HALF_PIXEL: return ((float)o + 0.5f) / scale - 0.5f;
    case CINFER_K_COORD_PYTORCH_HALF_PIXEL:
        return out_len > 1 ? ((float)o + 0.5f) / scale - 0.5f : 0.0f;
    case CINFER_K_COORD_ALIGN_CORNERS:
        // Multiply first: the quotient of two exact integers rounds once.
        return out_len > 1 ? (float)(o * (in_len - 1)) / (float)(out_len - 1) : 0.0f;
    case CINFER_K_COORD_ASYMMETRIC: return (float)o / scale;
    }
    return 0.0f;
}

static __device__ int64_t nearest_index(float c, int64_t len, cinfer_k_resize_nearest mode) {
    float r;
    switch (mode) {
    case CINFER_K_NEAREST_ROUND_PREFER_FLOOR: r = ceilf(c - 0.5f); break;
    case CINFER_K_NEAREST_ROUND_PREFER_CEIL: r = floorf(c + 0.5f); break;
    case CINFER_K_NEAREST_FLOOR: r = floorf(c); break;
    default: r = ceilf(c); break;
    }
    int64_t i = (int64_t)r;
    return i < 0 ? 0 : i >= len ? len - 1 : i;
}

// Linear interpolation taps: the clamped coordinate's floor, its neighbour, and the weight of
// the neighbour.
struct Taps {
    int64_t i0, i1;
    float t;
};

static __device__ Taps linear_taps(float c, int64_t len) {
    c = fminf(fmaxf(c, 0.0f), (float)(len - 1));
    Taps k;
    k.i0 = (int64_t)floorf(c);
    k.i1 = k.i0 + 1 < len ? k.i0 + 1 : len - 1;
    k.t = c - (float)k.i0;
    return k;
}

__global__ void resize2d(float *y, const float *x, int64_t nc, int64_t h, int64_t w, int64_t oh,
                         int64_t ow, cinfer_k_resize2d p) {
    int64_t n = nc * oh * ow;
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t ox = i % ow, oy = (i / ow) % oh, plane = i / (ow * oh);
        const float *xp = x + plane * h * w;
        float cy = source_coord(oy, p.scale_h, oh, h, p.coord);
        float cx = source_coord(ox, p.scale_w, ow, w, p.coord);
        if (p.mode == CINFER_K_RESIZE_NEAREST) {
            y[i] = xp[nearest_index(cy, h, p.nearest) * w + nearest_index(cx, w, p.nearest)];
            continue;
        }
        Taps ty = linear_taps(cy, h), tx = linear_taps(cx, w);
        float top = xp[ty.i0 * w + tx.i0] * (1.0f - tx.t) + xp[ty.i0 * w + tx.i1] * tx.t;
        float bot = xp[ty.i1 * w + tx.i0] * (1.0f - tx.t) + xp[ty.i1 * w + tx.i1] * tx.t;
        y[i] = top * (1.0f - ty.t) + bot * ty.t;
    }
}

}  // namespace

extern "C" cudaError_t cinfer_k_resize2d_f32(float *y, const float *x, int64_t nc, int64_t h,
                                             int64_t w, int64_t oh, int64_t ow,
                                             cinfer_k_resize2d p, cudaStream_t stream) {
    if (nc < 0 || h < 0 || w < 0 || oh < 0 || ow < 0) return cudaErrorInvalidValue;
    if (!(p.scale_h > 0.0f) || !(p.scale_w > 0.0f)) return cudaErrorInvalidValue;
    int64_t n = nc * oh * ow;
    if (n == 0) return cudaSuccess;
    if (h == 0 || w == 0 || !y || !x) return cudaErrorInvalidValue;
    resize2d<<<k_blocks_for(n), K_BLOCK, 0, stream>>>(y, x, nc, h, w, oh, ow, p);
    return cudaGetLastError();
}
