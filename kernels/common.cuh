// Device helpers shared by the kernel files: launch sizing, strided index decoding, and sums and
// maxima across the threads that share one row (a warp, or a whole block for long rows).
#ifndef CINFER_KERNELS_COMMON_CUH
#define CINFER_KERNELS_COMMON_CUH

#include <math.h>

#include "kernels.h"

// Threads per block of the elementwise kernels, and the most blocks they launch: a grid-stride
// loop covers the rest, so sizes past 2^31 elements still work.
#define K_BLOCK 256
#define K_MAX_BLOCKS 65535
// Row kernels: a warp per row up to this many columns, a block of K_BLOCK threads per row above.
#define K_WARP_ROW_MAX_COLS 1024
#define K_WARP 32

static inline unsigned k_blocks_for(int64_t n) {
    int64_t blocks = (n + K_BLOCK - 1) / K_BLOCK;
    if (blocks > K_MAX_BLOCKS) blocks = K_MAX_BLOCKS;
    if (blocks < 1) blocks = 1;
    return (unsigned)blocks;
}

static inline bool k_dims_valid(const cinfer_k_dims &dims) {
    if (dims.rank < 0 || dims.rank > CINFER_K_MAX_RANK) return false;
    for (int32_t d = 0; d < dims.rank; d++)
        if (dims.size[d] < 0) return false;
    return true;
}

// True when strides address a dense row-major tensor of dims (size-1 dims may have any stride).
static inline bool k_is_dense(const cinfer_k_dims &dims, const cinfer_k_strides &st) {
    int64_t expect = 1;
    for (int32_t d = dims.rank - 1; d >= 0; d--) {
        if (dims.size[d] != 1 && st.s[d] != expect) return false;
        expect *= dims.size[d];
    }
    return true;
}

// Rewrites an iteration space and the strides of `count` operands over it into fewer dims:
// size-1 dims go, and a dim merges into the one before it when every operand steps over it
// contiguously (outer stride == inner stride * inner size, zero with zero included). The
// row-major order of the elements is unchanged, so a dense output indexed linearly stays
// right; the decode in the kernels then divides once per remaining dim.
static inline void k_collapse(cinfer_k_dims *dims, cinfer_k_strides *st, int count) {
    int32_t rank = 0;
    for (int32_t d = 0; d < dims->rank; d++) {
        int64_t size = dims->size[d];
        if (size == 1) continue;
        bool merge = rank > 0;
        for (int k = 0; k < count && merge; k++)
            merge = st[k].s[rank - 1] == st[k].s[d] * size;
        if (merge) {
            dims->size[rank - 1] *= size;
            for (int k = 0; k < count; k++) st[k].s[rank - 1] = st[k].s[d];
        } else {
            dims->size[rank] = size;
            for (int k = 0; k < count; k++) st[k].s[rank] = st[k].s[d];
            rank++;
        }
    }
    dims->rank = rank;
}

// First element index and stride of a grid-stride loop.
static inline __device__ int64_t k_first() {
    return (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
}
static inline __device__ int64_t k_step() {
    return (int64_t)gridDim.x * blockDim.x;
}

// Offset of the element at row-major linear index i of dims, read through strides st.
// The dim loop is unrolled over CINFER_K_MAX_RANK so that every index into dims and st is a
// constant: indexed with a variable, the by-value kernel parameters they come from were
// copied to per-thread local memory (~200 bytes a thread; nvcc 13, sm_90), which made
// copy_strided run at 65 GB/s on an H100 (bench/RESULTS.md).
static inline __device__ int64_t k_offset(int64_t i, const cinfer_k_dims &dims,
                                          const cinfer_k_strides &st) {
    int64_t off = 0;
#pragma unroll
    for (int32_t k = 0; k < CINFER_K_MAX_RANK; k++) {
        const int32_t d = CINFER_K_MAX_RANK - 1 - k;
        if (d >= dims.rank) continue;
        int64_t c = i % dims.size[d];
        i /= dims.size[d];
        off += c * st.s[d];
    }
    return off;
}

// Offsets of linear index i in two operands at once (one decode for both); unrolled as
// k_offset.
static inline __device__ void k_offset2(int64_t i, const cinfer_k_dims &dims,
                                        const cinfer_k_strides &s0, const cinfer_k_strides &s1,
                                        int64_t *o0, int64_t *o1) {
    int64_t a = 0, b = 0;
#pragma unroll
    for (int32_t k = 0; k < CINFER_K_MAX_RANK; k++) {
        const int32_t d = CINFER_K_MAX_RANK - 1 - k;
        if (d >= dims.rank) continue;
        int64_t c = i % dims.size[d];
        i /= dims.size[d];
        a += c * s0.s[d];
        b += c * s1.s[d];
    }
    *o0 = a;
    *o1 = b;
}

static inline __device__ float k_warp_sum(float v) {
    for (int m = K_WARP / 2; m > 0; m /= 2) v += __shfl_xor_sync(0xffffffffu, v, m);
    return v;
}

static inline __device__ float k_warp_max(float v) {
    for (int m = K_WARP / 2; m > 0; m /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, m));
    return v;
}

static inline __device__ float k_warp_min(float v) {
    for (int m = K_WARP / 2; m > 0; m /= 2) v = fminf(v, __shfl_xor_sync(0xffffffffu, v, m));
    return v;
}

enum k_reduce_kind { K_SUM, K_MAX, K_MIN };

static inline __device__ float k_warp_reduce(float v, k_reduce_kind kind) {
    if (kind == K_SUM) return k_warp_sum(v);
    if (kind == K_MAX) return k_warp_max(v);
    return k_warp_min(v);
}

// How the threads of a block split into row groups: whole_block, one group of blockDim.x
// threads per row; otherwise one warp per row. Every thread of a group sees the same row.
struct k_row_group {
    bool whole_block;
    int lane, lanes;            // this thread's place in its group, and the group's size
    int64_t first_row, row_step;
};

static inline __device__ k_row_group k_row_group_of(bool whole_block) {
    k_row_group g;
    g.whole_block = whole_block;
    if (whole_block) {
        g.lane = threadIdx.x;
        g.lanes = blockDim.x;
        g.first_row = blockIdx.x;
        g.row_step = gridDim.x;
    } else {
        int64_t warps = blockDim.x / K_WARP;
        g.lane = threadIdx.x % K_WARP;
        g.lanes = K_WARP;
        g.first_row = (int64_t)blockIdx.x * warps + threadIdx.x / K_WARP;
        g.row_step = (int64_t)gridDim.x * warps;
    }
    return g;
}

// Reduces v over the row group; every thread of the group gets the result. In block mode
// every thread of the block must call it (rows advance in lockstep there); scratch holds 32
// floats of shared memory. The leading barrier keeps a previous call's readers ahead of this
// call's writers.
static inline __device__ float k_group_reduce(float v, k_reduce_kind kind, const k_row_group &g,
                                              float *scratch) {
    v = k_warp_reduce(v, kind);
    if (!g.whole_block) return v;
    int warp = threadIdx.x / K_WARP, lane = threadIdx.x % K_WARP;
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float identity = kind == K_SUM ? 0.0f : kind == K_MAX ? -INFINITY : INFINITY;
    v = lane < (int)(blockDim.x / K_WARP) ? scratch[lane] : identity;
    return k_warp_reduce(v, kind);  // each warp totals the partials itself
}

// Rows per launch for a row kernel: a warp per row packs K_BLOCK / 32 rows into a block.
static inline unsigned k_row_blocks(int64_t rows, bool whole_block) {
    int64_t per_block = whole_block ? 1 : K_BLOCK / K_WARP;
    int64_t blocks = (rows + per_block - 1) / per_block;
    if (blocks > K_MAX_BLOCKS) blocks = K_MAX_BLOCKS;
    if (blocks < 1) blocks = 1;
    return (unsigned)blocks;
}

#endif
