// What the attention kernels share (attention.cu: the fp32 kernel and the WMMA one;
// attention_mma.cu: the mma.sync one): batch-entry offsets, the default strides, and the
// shared-memory opt-in above 48 KiB.
#ifndef CINFER_KERNELS_ATTENTION_CUH
#define CINFER_KERNELS_ATTENTION_CUH

#include <atomic>

#include "common.cuh"

struct at_offsets {
    int64_t q, k, v, mask, y;
};

// Offsets of batch entry bi's matrices in each operand (one decode for all four).
static inline __device__ at_offsets at_batch_offsets(int64_t bi, const cinfer_k_attention &p) {
    at_offsets o = {0, 0, 0, 0, 0};
#pragma unroll  // constant indices into the by-value parameters (docs/cuda-kernels.md)
    for (int32_t k = 0; k < CINFER_K_MAX_RANK; k++) {
        const int32_t d = CINFER_K_MAX_RANK - 1 - k;
        if (d >= p.batch.rank) continue;
        int64_t c = bi % p.batch.size[d];
        bi /= p.batch.size[d];
        o.q += c * p.q_batch.s[d];
        o.k += c * p.k_batch.s[d];
        o.v += c * p.v_batch.s[d];
        o.mask += c * p.mask_batch.s[d];
        o.y += c * p.y_batch.s[d];
    }
    return o;
}

// The row strides the caller left zero: all zero means the dense layout (kernels.h). False
// when a stride is left that is not positive.
static inline bool at_strides(cinfer_k_attention *p) {
    if (!p->q_row && !p->k_d && !p->k_j && !p->v_row && !p->y_row) {
        p->q_row = p->d, p->k_d = p->skv, p->k_j = 1, p->v_row = p->dv, p->y_row = p->dv;
        int64_t s = p->sq * p->dv;
        for (int32_t i = p->batch.rank - 1; i >= 0; i--) {
            p->y_batch.s[i] = s;
            s *= p->batch.size[i];
        }
    }
    return p->q_row > 0 && p->k_d > 0 && p->k_j > 0 && p->v_row > 0 && p->y_row > 0;
}

#define AT_MAX_DEVICES 64  // devices whose opt-in is remembered (others opt in every launch)

// Lets kernel fn take `limit` bytes of dynamic shared memory on the current device when a
// launch needs more than the 48 KiB every kernel may take unasked: once per kernel and device
// (the attribute is the current device's; two threads doing it at once set the same value).
// Launches are captured into graphs: a function attribute is no stream work, but strict
// capture modes refuse calls they count as unsafe, so this thread is relaxed for the call.
template <typename F>
static cudaError_t at_opt_in(F fn, size_t need, size_t limit, std::atomic<bool> *done) {
    if (need <= 48 * 1024) return cudaSuccess;
    int dev = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || dev < 0 || dev >= AT_MAX_DEVICES) dev = -1;
    if (dev >= 0 && done[dev].load()) return cudaSuccess;
    cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
    cudaError_t e = cudaThreadExchangeStreamCaptureMode(&mode);
    if (e != cudaSuccess) return e;
    e = cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)limit);
    cudaError_t r = cudaThreadExchangeStreamCaptureMode(&mode);
    if (e != cudaSuccess) return e;
    if (r != cudaSuccess) return r;
    if (dev >= 0) done[dev].store(true);
    return cudaSuccess;
}

// The mma.sync kernel (attention_mma.cu), for cinfer_k_attention_half once it has checked
// the arguments and filled in the strides.
cudaError_t at_launch_mma(void *y, const void *q, const void *k, const void *v, const void *mask,
                          cinfer_k_dtype dt, cinfer_k_dtype mask_dt, const cinfer_k_attention &p,
                          cudaStream_t stream);

#endif
