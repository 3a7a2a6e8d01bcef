// MaxPool and AveragePool over the last two dims of NCHW, or over H and W of channels-last NHWC
// storage: a thread per output element, templated over the element type (half_access.cuh); the
// average sums in fp32.
#include "common.cuh"
#include "half_access.cuh"

namespace {

// One output position's window over V consecutive channels (V = 1, or 8 of a 16-bit type
// through one 16-byte load per window position): xp points at the position's plane (NCHW) or
// first channel (NHWC), `pitch` is the distance between neighbouring W positions (1 for NCHW,
// C for NHWC). out[k] gets channel k's max or average, summed in fp32 in window order.
template <class T, int V>
__device__ void pool_window(const T *xp, int64_t pitch, int64_t h, int64_t w, int64_t oy,
                            int64_t ox, const cinfer_k_pool2d &p, bool is_max, float *out) {
    float acc[V];
#pragma unroll
    for (int k = 0; k < V; k++) acc[k] = is_max ? -INFINITY : 0.0f;
    int64_t real = 0, padded = 0;  // window positions inside x / inside the padded x
    for (int64_t kh = 0; kh < p.kernel_h; kh++) {
        int64_t iy = oy * p.stride_h - p.pad_top + kh * p.dil_h;
        bool row_padded = iy >= -p.pad_top && iy < h + p.pad_bottom;
        for (int64_t kw = 0; kw < p.kernel_w; kw++) {
            int64_t ix = ox * p.stride_w - p.pad_left + kw * p.dil_w;
            padded += row_padded && ix >= -p.pad_left && ix < w + p.pad_right;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const T *e = xp + (iy * w + ix) * pitch;
            // V elements of T: one 16-byte load for eight 16-bit values, else one element.
            union { uint4 u; T t[V]; } v;
            if constexpr (V == 8) v.u = *reinterpret_cast<const uint4 *>(e);
            else v.t[0] = e[0];
#pragma unroll
            for (int k = 0; k < V; k++) {
                float f = kh_load(v.t[k]);
                acc[k] = is_max ? fmaxf(acc[k], f) : acc[k] + f;
            }
            real++;
        }
    }
    float count = (float)(p.count_include_pad ? padded : real);
#pragma unroll
    // A window with no tap to count (dilated taps all in the padding) averages to 0, as on the
    // CPU, not 0 / 0.
    for (int k = 0; k < V; k++) out[k] = is_max ? acc[k] : count > 0.0f ? acc[k] / count : 0.0f;
}

template <class T>
__global__ void pool2d(T *y, const T *x, int64_t nc, int64_t h, int64_t w, int64_t oh,
                       int64_t ow, cinfer_k_pool2d p, bool is_max) {
    int64_t n = nc * oh * ow;
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t ox = i % ow, oy = (i / ow) % oh, plane = i / (ow * oh);
        float r;
        pool_window<T, 1>(x + plane * h * w, 1, h, w, oy, ox, p, is_max, &r);
        kh_store(&y[i], r);
    }
}

// NHWC: consecutive threads take consecutive channels of one output position, so the loads of
// each window position are coalesced.
template <class T>
__global__ void pool2d_nhwc(T *y, const T *x, int64_t batch, int64_t c, int64_t h, int64_t w,
                            int64_t oh, int64_t ow, cinfer_k_pool2d p, bool is_max) {
    int64_t n = batch * oh * ow * c;
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t ch = i % c, ox = (i / c) % ow, oy = (i / (c * ow)) % oh, b = i / (c * ow * oh);
        float r;
        pool_window<T, 1>(x + b * h * w * c + ch, c, h, w, oy, ox, p, is_max, &r);
        kh_store(&y[i], r);
    }
}

// 16-bit NHWC with channels % 8 == 0 and 16-byte aligned x and y: a thread per eight channels
// of one output position, each window position one 16-byte load.
template <class T>
__global__ void pool2d_nhwc8(T *y, const T *x, int64_t batch, int64_t c, int64_t h, int64_t w,
                             int64_t oh, int64_t ow, cinfer_k_pool2d p, bool is_max) {
    int64_t c8 = c / 8, n = batch * oh * ow * c8;
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t g = i % c8, ox = (i / c8) % ow, oy = (i / (c8 * ow)) % oh,
                b = i / (c8 * ow * oh);
        float r[8];
        pool_window<T, 8>(x + b * h * w * c + g * 8, c, h, w, oy, ox, p, is_max, r);
        uint4 out;
        T *o = reinterpret_cast<T *>(&out);
#pragma unroll
        for (int k = 0; k < 8; k++) kh_store(&o[k], r[k]);
        reinterpret_cast<uint4 *>(y)[i] = out;
    }
}

static bool pool_valid(const cinfer_k_pool2d &p) {
    return p.kernel_h >= 1 && p.kernel_w >= 1 && p.stride_h >= 1 && p.stride_w >= 1 &&
           p.dil_h >= 1 && p.dil_w >= 1 && p.pad_top >= 0 && p.pad_left >= 0 &&
           p.pad_bottom >= 0 && p.pad_right >= 0;
}

template <class T>
static cudaError_t launch_pool(void *y, const void *x, int64_t nc, int64_t h, int64_t w,
                               int64_t oh, int64_t ow, cinfer_k_pool2d p, bool is_max,
                               cudaStream_t stream) {
    if (nc < 0 || h < 0 || w < 0 || oh < 0 || ow < 0 || !pool_valid(p))
        return cudaErrorInvalidValue;
    int64_t n = nc * oh * ow;
    if (n == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    pool2d<T><<<k_blocks_for(n), K_BLOCK, 0, stream>>>((T *)y, (const T *)x, nc, h, w, oh, ow,
                                                       p, is_max);
    return cudaGetLastError();
}

template <class T>
static cudaError_t launch_pool_nhwc(void *y, const void *x, int64_t batch, int64_t c, int64_t h,
                                    int64_t w, int64_t oh, int64_t ow, cinfer_k_pool2d p,
                                    bool is_max, cudaStream_t stream) {
    if (batch < 0 || c < 0 || h < 0 || w < 0 || oh < 0 || ow < 0 || !pool_valid(p))
        return cudaErrorInvalidValue;
    int64_t n = batch * c * oh * ow;
    if (n == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    if constexpr (sizeof(T) == 2) {  // eight channels per 16-byte vector
        if (c % 8 == 0 && (uintptr_t)x % 16 == 0 && (uintptr_t)y % 16 == 0) {
            pool2d_nhwc8<T><<<k_blocks_for(n / 8), K_BLOCK, 0, stream>>>(
                (T *)y, (const T *)x, batch, c, h, w, oh, ow, p, is_max);
            return cudaGetLastError();
        }
    }
    pool2d_nhwc<T><<<k_blocks_for(n), K_BLOCK, 0, stream>>>((T *)y, (const T *)x, batch, c, h, w,
                                                            oh, ow, p, is_max);
    return cudaGetLastError();
}

}  // namespace

extern "C" cudaError_t cinfer_k_max_pool2d(cinfer_k_dtype dt, void *y, const void *x, int64_t nc,
                                           int64_t h, int64_t w, int64_t oh, int64_t ow,
                                           cinfer_k_pool2d p, cudaStream_t stream) {
    return kh_act_types(dt, [&](auto t) {
        return launch_pool<decltype(t)>(y, x, nc, h, w, oh, ow, p, true, stream);
    });
}

extern "C" cudaError_t cinfer_k_avg_pool2d(cinfer_k_dtype dt, void *y, const void *x, int64_t nc,
                                           int64_t h, int64_t w, int64_t oh, int64_t ow,
                                           cinfer_k_pool2d p, cudaStream_t stream) {
    return kh_act_types(dt, [&](auto t) {
        return launch_pool<decltype(t)>(y, x, nc, h, w, oh, ow, p, false, stream);
    });
}

extern "C" cudaError_t cinfer_k_max_pool2d_f32(float *y, const float *x, int64_t nc, int64_t h,
                                               int64_t w, int64_t oh, int64_t ow,
                                               cinfer_k_pool2d p, cudaStream_t stream) {
    return launch_pool<float>(y, x, nc, h, w, oh, ow, p, true, stream);
}

extern "C" cudaError_t cinfer_k_avg_pool2d_f32(float *y, const float *x, int64_t nc, int64_t h,
                                               int64_t w, int64_t oh, int64_t ow,
                                               cinfer_k_pool2d p, cudaStream_t stream) {
    return launch_pool<float>(y, x, nc, h, w, oh, ow, p, false, stream);
}

extern "C" cudaError_t cinfer_k_pool2d_nhwc(cinfer_k_dtype dt, int is_max, void *y, const void *x,
                                            int64_t batch, int64_t c, int64_t h, int64_t w,
                                            int64_t oh, int64_t ow, cinfer_k_pool2d p,
                                            cudaStream_t stream) {
    return kh_act_types(dt, [&](auto t) {
        return launch_pool_nhwc<decltype(t)>(y, x, batch, c, h, w, oh, ow, p, is_max != 0,
                                             stream);
    });
}
