// MaxPool and AveragePool over the last two dims of NCHW: a thread per output element,
// templated over the element type (half_access.cuh); the average sums in fp32.
#include "common.cuh"
#include "half_access.cuh"

namespace {

template <class T>
__global__ void pool2d(T *y, const T *x, int64_t nc, int64_t h, int64_t w, int64_t oh,
                       int64_t ow, cinfer_k_pool2d p, bool is_max) {
    int64_t n = nc * oh * ow;
    for (int64_t i = k_first(); i < n; i += k_step()) {
        int64_t ox = i % ow, oy = (i / ow) % oh, plane = i / (ow * oh);
        const T *xp = x + plane * h * w;
        float acc = is_max ? -INFINITY : 0.0f;
        int64_t real = 0, padded = 0;  // window positions inside x / inside the padded x
        for (int64_t kh = 0; kh < p.kernel_h; kh++) {
            int64_t iy = oy * p.stride_h - p.pad_top + kh * p.dil_h;
            bool row_padded = iy >= -p.pad_top && iy < h + p.pad_bottom;
            for (int64_t kw = 0; kw < p.kernel_w; kw++) {
                int64_t ix = ox * p.stride_w - p.pad_left + kw * p.dil_w;
                padded += row_padded && ix >= -p.pad_left && ix < w + p.pad_right;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                float v = kh_load(xp[iy * w + ix]);
                acc = is_max ? fmaxf(acc, v) : acc + v;
                real++;
            }
        }
        if (!is_max) acc /= (float)(p.count_include_pad ? padded : real);
        kh_store(&y[i], acc);
    }
}

template <class T>
static cudaError_t launch_pool(void *y, const void *x, int64_t nc, int64_t h, int64_t w,
                               int64_t oh, int64_t ow, cinfer_k_pool2d p, bool is_max,
                               cudaStream_t stream) {
    if (nc < 0 || h < 0 || w < 0 || oh < 0 || ow < 0) return cudaErrorInvalidValue;
    if (p.kernel_h < 1 || p.kernel_w < 1 || p.stride_h < 1 || p.stride_w < 1 || p.dil_h < 1 ||
        p.dil_w < 1 || p.pad_top < 0 || p.pad_left < 0 || p.pad_bottom < 0 || p.pad_right < 0)
        return cudaErrorInvalidValue;
    int64_t n = nc * oh * ow;
    if (n == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    pool2d<T><<<k_blocks_for(n), K_BLOCK, 0, stream>>>((T *)y, (const T *)x, nc, h, w, oh, ow,
                                                       p, is_max);
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
