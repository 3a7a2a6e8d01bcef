// Attention in fp16/bf16 on tensor cores through mma.sync (sm_80 and later), the way flash
// attention 2 keeps its tiles: S = Q K, the weights P and the output O never leave registers.
//
// Work split: a block of AM_WARPS warps takes AM_BQ = 16 * AM_WARPS queries of one batch entry,
// each warp 16 of them. The block stages its queries once, then K and V in tiles of AM_BK keys,
// two tiles in flight (cp.async: the next tile loads while this one is multiplied). A warp
// holds its queries as mma A fragments, and per key tile:
//   S [16][AM_BK]   = Q K                 (mma m16n8k16, fp32 accumulators in registers)
//   online softmax over S's rows          (a row lives on the 4 lanes of a quad)
//   O [16][dv]     += P V                 (P rounded to 16 bits straight from S's registers:
//                                          an m16n8 accumulator pair is an m16k16 A fragment)
// O / sum is rounded once into y. Why not WMMA: its fragment layout is unspecified, so the
// WMMA kernel (attention.cu) stores S and O to shared memory to scale them per row, and an H100
// profile put it at 7.8 TFLOP/s on BERT-base.
//
// Fragments (PTX ISA, mma.m16n8k16 with 16-bit inputs; lane = 4 g + t): A's registers hold
// (row g, cols 2t, 2t+1), (row g+8, same), (row g, cols 2t+8, 2t+9), (row g+8, same); B's two
// hold (rows 2t, 2t+1, col g) and (rows 2t+8, 2t+9, col g); the fp32 accumulator holds (row g,
// cols 2t, 2t+1) and (row g+8, same). ldmatrix.x4 loads four 8x8 blocks, lanes 8i..8i+7
// naming block i's rows; each lane receives (row lane/4, cols 2(lane%4), +1) of each block, or
// with .trans the transposed pair (rows 2(lane%4), +1, col lane/4).
//
// Shared memory rows are padded by 16 bytes: with d a multiple of 16 a row is an odd number of
// 16-byte units, so the eight rows an ldmatrix reads fall in eight different bank groups.
// Bound: docs/cuda-kernels.md, "Attention".
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "attention.cuh"
#include "half_access.cuh"

#define AM_WARPS 4
#define AM_ROWS 16                     // queries per warp
#define AM_BQ (AM_WARPS * AM_ROWS)     // queries per block
#define AM_BK 64                       // keys per tile
#define AM_PAD 8                       // elements (16 bytes) of padding per shared row
#define AM_LOG2E 1.4426950408889634f
// The most shared memory a block takes (d = dv = 128: 87 KiB; 64: 45 KiB); opted in above
// 48 KiB. Every sm_80+ part allows at least 99 KiB.
#define AM_SMEM_LIMIT (96 * 1024)
// The register tiles hold at most 128 head elements (the DMAX = 128 instantiation).
static_assert(CINFER_K_ATTENTION_MAX_HEAD <= 128, "attention_mma's tiles hold 128 head elements");

namespace {

// ---- the 16-bit types ------------------------------------------------------------------

static inline __device__ uint32_t am_bits(__half2 h) {
    return (uint32_t)__half_as_ushort(__low2half(h)) |
           ((uint32_t)__half_as_ushort(__high2half(h)) << 16);
}
static inline __device__ uint32_t am_bits(__nv_bfloat162 h) {
    return (uint32_t)__bfloat16_as_ushort(__low2bfloat16(h)) |
           ((uint32_t)__bfloat16_as_ushort(__high2bfloat16(h)) << 16);
}

// Rounds (lo, hi) to two 16-bit values packed as lo | hi << 16 (an mma operand register) and
// adds their rounded values to *sum, so the sum counts the weights P V multiplies.
static inline __device__ uint32_t am_pack(float lo, float hi, float *sum, __half) {
    __half2 h = __floats2half2_rn(lo, hi);
    float2 f = __half22float2(h);
    *sum += f.x + f.y;
    return am_bits(h);
}
static inline __device__ uint32_t am_pack(float lo, float hi, float *sum, __nv_bfloat16) {
    __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    float2 f = __bfloat1622float2(h);
    *sum += f.x + f.y;
    return am_bits(h);
}

template <typename T> static inline __device__ T am_zero();
template <> inline __device__ __half am_zero<__half>() { return __ushort_as_half(0); }
template <> inline __device__ __nv_bfloat16 am_zero<__nv_bfloat16>() {
    return __ushort_as_bfloat16(0);
}

static inline __device__ float am_f32(float x) { return x; }
static inline __device__ float am_f32(__half x) { return __half2float(x); }
static inline __device__ float am_f32(__nv_bfloat16 x) { return __bfloat162float(x); }

// c (16x8 fp32) += a (16x16) b (16x8), for the 16-bit input type AB ("f16" or "bf16").
#define AM_MMA(AB)                                                                          \
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32." AB "." AB                        \
                 ".f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"           \
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])                          \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1))
static inline __device__ void am_mma(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1,
                                     __half) {
    AM_MMA("f16");
}
static inline __device__ void am_mma(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1,
                                     __nv_bfloat16) {
    AM_MMA("bf16");
}

// ---- shared memory -------------------------------------------------------------------------

static inline __device__ uint32_t am_smem_addr(const void *p) {
    return (uint32_t)__cvta_generic_to_shared(p);
}

// Four 8x8 blocks of 16-bit values; this lane names a row of block lane / 8 at p.
static inline __device__ void am_ldsm(uint32_t r[4], const void *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(am_smem_addr(p))
                 : "memory");
}
static inline __device__ void am_ldsm_t(uint32_t r[4], const void *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(am_smem_addr(p))
                 : "memory");
}

// 16 bytes from global src to shared dst without passing through registers; only the first
// `bytes` (0 to 16) are read, the rest of dst is zero-filled. src must be a valid address
// even when bytes is 0.
static inline __device__ void am_cp16(void *dst, const void *src, int bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(am_smem_addr(dst)),
                 "l"(src), "r"(bytes)
                 : "memory");
}
static inline __device__ void am_cp_commit() {
    asm volatile("cp.async.commit_group;\n" ::: "memory");
}
// Waits until at most n of this thread's committed groups are still in flight.
template <int N> static inline __device__ void am_cp_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

static inline __device__ bool am_aligned16(const void *p) { return ((uintptr_t)p & 15u) == 0; }

// Rows [row0, row0 + rows) x cols of src (row stride src_ld; rows at or past src_rows are
// zeros) into dst (row stride ld), by every thread of the block. vec: cols and src_ld are
// multiples of 8 and src is 16-byte aligned, so 16-byte cp.async moves eight values; otherwise
// one value at a time through registers (shared memory is written before the barrier that
// follows the cp.async wait either way).
template <typename T>
static inline __device__ void am_stage(T *dst, int ld, const T *src, int64_t src_ld, int64_t row0,
                                       int64_t src_rows, int rows, int cols, bool vec) {
    if (vec) {
        const int cv = cols / 8;
        for (int i = threadIdx.x; i < rows * cv; i += blockDim.x) {
            int r = i / cv, c = (i - r * cv) * 8;
            bool in = row0 + r < src_rows;
            am_cp16(dst + r * ld + c, in ? src + (row0 + r) * src_ld + c : src, in ? 16 : 0);
        }
        return;
    }
    for (int i = threadIdx.x; i < rows * cols; i += blockDim.x) {
        int r = i / cols, c = i - r * cols;
        dst[r * ld + c] = row0 + r < src_rows ? src[(row0 + r) * src_ld + c] : am_zero<T>();
    }
}

// K (element (c, j) at c * k_d + j * k_j) for keys k0 .. k0 + AM_BK, keys past skv zeros, by
// every thread of the block, in one of two shared layouts:
//   - kt (dense K, keys contiguous: k_j == 1): [d][AM_BK + pad], eight keys per cp.async
//     when k_d % 8 == 0 and k is 16-byte aligned (the last group of a ragged tile partly
//     zero-filled), else one at a time with consecutive threads on consecutive keys;
//   - otherwise [AM_BK][d + pad] (key rows): eight head elements per cp.async when the key rows
//     are contiguous (k_d == 1, k_j % 8 == 0, aligned: the packed layout), else one at a time.
template <typename T>
static inline __device__ void am_stage_keys(T *ks, const T *k, int64_t k0,
                                            const cinfer_k_attention &p, int d, bool kt) {
    if (kt && !(p.k_d % 8 == 0 && am_aligned16(k))) {
        for (int i = threadIdx.x; i < d * AM_BK; i += blockDim.x) {
            int c = i / AM_BK, kk = i - c * AM_BK;
            ks[c * (AM_BK + AM_PAD) + kk] =
                k0 + kk < p.skv ? k[c * p.k_d + k0 + kk] : am_zero<T>();
        }
    } else if (kt) {
        const int gv = AM_BK / 8;
        for (int i = threadIdx.x; i < d * gv; i += blockDim.x) {
            int c = i / gv, kk = (i - c * gv) * 8;
            int64_t left = p.skv - (k0 + kk);
            int bytes = left >= 8 ? 16 : left > 0 ? (int)left * 2 : 0;
            am_cp16(ks + c * (AM_BK + AM_PAD) + kk, bytes ? k + c * p.k_d + k0 + kk : k, bytes);
        }
    } else if (p.k_d == 1) {
        am_stage(ks, d + AM_PAD, k, p.k_j, k0, p.skv, AM_BK, d, p.k_j % 8 == 0 && am_aligned16(k));
    } else {
        for (int i = threadIdx.x; i < AM_BK * d; i += blockDim.x) {
            int kk = i / d, c = i - kk * d;
            ks[kk * (d + AM_PAD) + c] =
                k0 + kk < p.skv ? k[c * p.k_d + (k0 + kk) * p.k_j] : am_zero<T>();
        }
    }
}

// Shared memory of a block: Q [AM_BQ][d + pad], then two stages of K (either layout) and
// V [AM_BK][dv + pad]; 16-bit elements.
static inline __host__ __device__ int64_t am_k_elems(int64_t d) {
    int64_t rows = AM_BK * (d + AM_PAD), cols = d * (AM_BK + AM_PAD);
    return rows > cols ? rows : cols;
}
static inline __host__ __device__ size_t am_smem(int64_t d, int64_t dv) {
    return 2 * (size_t)(AM_BQ * (d + AM_PAD) + 2 * (am_k_elems(d) + AM_BK * (dv + AM_PAD)));
}

// The larger of a and b, NaN when either is (fmaxf would drop it; the CPU's softmax of a row
// with a NaN score is all NaN).
static inline __device__ float am_max(float a, float b) {
    return (a != a || b != b) ? NAN : fmaxf(a, b);
}

// DMAX (64 or 128) bounds d and dv: the register arrays are sized by it and the loops over
// them unrolled, with the parts past d or dv skipped (indices stay compile-time constants, so
// the arrays stay in registers).
template <typename T, typename M, int DMAX>
__global__ void __launch_bounds__(AM_WARPS * K_WARP)
    attention_mma(T *y, const T *q, const T *k, const T *v, const M *mask, cinfer_k_attention p,
                  int64_t q_tiles) {
#if __CUDA_ARCH__ >= 800
    extern __shared__ __align__(128) unsigned char am_mem[];
    const int d = (int)p.d, dv = (int)p.dv;
    const int64_t bi = blockIdx.x / q_tiles, q0 = (blockIdx.x % q_tiles) * AM_BQ;
    const int warp = threadIdx.x / K_WARP, lane = threadIdx.x % K_WARP;
    const int g = lane >> 2, t = lane & 3;    // fragment row group and column pair
    const int lr = lane & 7, lm = lane >> 3;  // the ldmatrix row this lane names, and its block
    const at_offsets o = at_batch_offsets(bi, p);
    const M *mb = mask ? mask + o.mask : NULL;
    const T *kb = k + o.k, *vb = v + o.v;
    const bool kt = p.k_j == 1;  // K's shared layout (am_stage_keys)
    const bool vvec = p.v_row % 8 == 0 && am_aligned16(vb);
    const int lq = d + AM_PAD, lv = dv + AM_PAD, lk = kt ? AM_BK + AM_PAD : d + AM_PAD;
    T *qs = (T *)am_mem;             // [AM_BQ][lq]
    T *const stage0 = qs + AM_BQ * lq;  // two stages, each K (am_k_elems) then V [AM_BK][lv]
    const int64_t stage_elems = am_k_elems(d) + AM_BK * lv;
    const int64_t wq0 = q0 + warp * AM_ROWS;
    const int64_t tiles = (p.skv + AM_BK - 1) / AM_BK;

    // Group 0: the queries and the first key tile.
    am_stage(qs, lq, q + o.q, p.q_row, q0, p.sq, AM_BQ, d,
             p.q_row % 8 == 0 && am_aligned16(q + o.q));
    am_stage_keys(stage0, kb, 0, p, d, kt);
    am_stage(stage0 + am_k_elems(d), lv, vb, p.v_row, 0, p.skv, AM_BK, dv, vvec);
    am_cp_commit();

    uint32_t qa[DMAX / 16][4];       // the warp's queries as A fragments, per 16 head elements
    float oacc[DMAX / 8][4];         // O, per 8 output columns
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};  // rows g and g + 8
#pragma unroll
    for (int j = 0; j < DMAX / 8; j++) oacc[j][0] = oacc[j][1] = oacc[j][2] = oacc[j][3] = 0.0f;

    for (int64_t ti = 0; ti < tiles; ti++) {
        const int64_t k0 = ti * AM_BK;
        T *const ks = stage0 + (ti & 1) * stage_elems, *const vs = ks + am_k_elems(d);
        if (ti + 1 < tiles) {  // the next tile into the other stage, freed by the last barrier
            T *const next = stage0 + ((ti + 1) & 1) * stage_elems;
            am_stage_keys(next, kb, k0 + AM_BK, p, d, kt);
            am_stage(next + am_k_elems(d), lv, vb, p.v_row, k0 + AM_BK, p.skv, AM_BK, dv, vvec);
            am_cp_commit();
            am_cp_wait<1>();
        } else {
            am_cp_wait<0>();
        }
        __syncthreads();
        if (ti == 0) {
#pragma unroll
            for (int kk = 0; kk < DMAX / 16; kk++)
                if (kk < d / 16)
                    am_ldsm(qa[kk], qs + (warp * AM_ROWS + lr + 8 * (lm & 1)) * lq + 16 * kk +
                                        8 * (lm >> 1));
        }

        // S = Q K: n-tile j covers keys 8j .. 8j + 7 of the tile.
        float s[AM_BK / 8][4];
#pragma unroll
        for (int j = 0; j < AM_BK / 8; j++) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < DMAX / 16; kk++) {
            if (kk >= d / 16) break;
#pragma unroll
            for (int j = 0; j < AM_BK / 8; j += 2) {
                uint32_t b[4];  // B fragments of n-tiles j and j + 1 at head elements 16 kk..
                // ks[c][key]: blocks (16kk, 8j), (16kk + 8, 8j), (16kk, 8j + 8), (16kk + 8,
                // 8j + 8) of (head element, key); ks[key][c]: the same blocks stored key-major
                if (kt)
                    am_ldsm_t(b, ks + (16 * kk + 8 * (lm & 1) + lr) * lk + 8 * (j + (lm >> 1)));
                else
                    am_ldsm(b, ks + (8 * (j + (lm >> 1)) + lr) * lk + 16 * kk + 8 * (lm & 1));
                am_mma(s[j], qa[kk], b[0], b[1], T());
                am_mma(s[j + 1], qa[kk], b[2], b[3], T());
            }
        }

        // Online softmax of rows g (h = 0) and g + 8 (h = 1): scale, mask, keys past skv at
        // -inf; the running max moves, O and the sum are rescaled by e^(m - mnew). Scores stay
        // in natural units and log2 e multiplies the differences inside exp2f: pre-scaled, a
        // score near -FLT_MAX (a mask of finfo(float32).min, or bf16's saturated one) would
        // overflow to -inf and turn a fully masked row NaN where it must stay finite (every
        // score absorbed into the mask: uniform weights), as in the WMMA kernel.
        // While every score so far is -inf nothing is added (-inf - -inf would be NaN); such a
        // row ends NaN below, as the CPU's softmax of all -inf gives.
        uint32_t pa[AM_BK / 8][2];  // P as A-fragment halves: n-tile j, row h
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const int64_t qi = wq0 + g + 8 * h;
            float tmax = -INFINITY;
#pragma unroll
            for (int j = 0; j < AM_BK / 8; j++) {
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    const int64_t key = k0 + 8 * j + 2 * t + e;
                    float x = -INFINITY;
                    if (key < p.skv) {
                        float mk = 0.0f;
                        if (mb && qi < p.sq) mk = am_f32(mb[qi * p.mask_row + key * p.mask_col]);
                        x = fmaf(s[j][2 * h + e], p.scale, mk);
                    }
                    s[j][2 * h + e] = x;
                    tmax = am_max(tmax, x);
                }
            }
            tmax = am_max(tmax, __shfl_xor_sync(0xffffffffu, tmax, 1));
            tmax = am_max(tmax, __shfl_xor_sync(0xffffffffu, tmax, 2));
            const float mnew = am_max(m[h], tmax);
            const bool live = mnew != -INFINITY;  // the same on the quad's four lanes
            const float corr = live ? exp2f((m[h] - mnew) * AM_LOG2E) : 1.0f;
            float sum = 0.0f;
#pragma unroll
            for (int j = 0; j < AM_BK / 8; j++)
                pa[j][h] = am_pack(live ? exp2f((s[j][2 * h] - mnew) * AM_LOG2E) : 0.0f,
                                   live ? exp2f((s[j][2 * h + 1] - mnew) * AM_LOG2E) : 0.0f,
                                   &sum, T());
            sum += __shfl_xor_sync(0xffffffffu, sum, 1);
            sum += __shfl_xor_sync(0xffffffffu, sum, 2);
            l[h] = l[h] * corr + sum;
            if (live) m[h] = mnew;
#pragma unroll
            for (int j = 0; j < DMAX / 8; j++) {
                oacc[j][2 * h] *= corr;
                oacc[j][2 * h + 1] *= corr;
            }
        }

        // O += P V over the tile's keys in steps of 16 (P and V are zero past skv).
        const int kn = p.skv - k0 < AM_BK ? (int)(p.skv - k0) : AM_BK;
#pragma unroll
        for (int kp = 0; kp < AM_BK / 16; kp++) {
            if (16 * kp >= kn) break;
            const uint32_t a[4] = {pa[2 * kp][0], pa[2 * kp][1], pa[2 * kp + 1][0],
                                   pa[2 * kp + 1][1]};
#pragma unroll
            for (int j = 0; j < DMAX / 8; j += 2) {
                if (j >= dv / 8) break;
                uint32_t b[4];  // vs[key][col]: blocks (16kp, 8j), (16kp+8, 8j), (16kp, 8j+8), ..
                am_ldsm_t(b, vs + (16 * kp + 8 * (lm & 1) + lr) * lv + 8 * (j + (lm >> 1)));
                am_mma(oacc[j], a, b[0], b[1], T());
                am_mma(oacc[j + 1], a, b[2], b[3], T());
            }
        }
        __syncthreads();  // every warp is done with this stage before it is refilled
    }

    // y = O / sum, rounded once; NaN where every score was -inf.
    T *yb = y + o.y;
#pragma unroll
    for (int h = 0; h < 2; h++) {
        const int64_t qi = wq0 + g + 8 * h;
        if (qi >= p.sq) continue;
        const float inv = m[h] == -INFINITY ? NAN : 1.0f / l[h];
#pragma unroll
        for (int j = 0; j < DMAX / 8; j++) {
            if (j >= dv / 8) break;
            T *row = yb + qi * p.y_row + 8 * j + 2 * t;
            kh_store(row, oacc[j][2 * h] * inv);
            kh_store(row + 1, oacc[j][2 * h + 1] * inv);
        }
    }
#else
    __trap();  // no mma.sync before sm_80 (the builds target sm_80 and later)
#endif
}

template <typename T, typename M, int DMAX>
cudaError_t am_launch(void *y, const void *q, const void *k, const void *v, const void *mask,
                      const cinfer_k_attention &p, cudaStream_t stream) {
    const int64_t q_tiles = (p.sq + AM_BQ - 1) / AM_BQ;
    const int64_t batches = cinfer_k_dims_count(&p.batch);
    if (batches > INT32_MAX / q_tiles) return cudaErrorInvalidValue;  // grid.x limit
    const size_t smem = am_smem(p.d, p.dv);
    static std::atomic<bool> opted_in[AT_MAX_DEVICES];
    cudaError_t e = at_opt_in(attention_mma<T, M, DMAX>, smem, AM_SMEM_LIMIT, opted_in);
    if (e != cudaSuccess) return e;
    attention_mma<T, M, DMAX><<<(unsigned)(batches * q_tiles), AM_WARPS * K_WARP, smem, stream>>>(
        (T *)y, (const T *)q, (const T *)k, (const T *)v, (const M *)mask, p, q_tiles);
    return cudaGetLastError();
}

template <typename T, typename M>
cudaError_t am_launch_d(void *y, const void *q, const void *k, const void *v, const void *mask,
                        const cinfer_k_attention &p, cudaStream_t stream) {
    if (p.d <= 64 && p.dv <= 64) return am_launch<T, M, 64>(y, q, k, v, mask, p, stream);
    return am_launch<T, M, 128>(y, q, k, v, mask, p, stream);
}

}  // namespace

cudaError_t at_launch_mma(void *y, const void *q, const void *k, const void *v, const void *mask,
                          cinfer_k_dtype dt, cinfer_k_dtype mask_dt, const cinfer_k_attention &p,
                          cudaStream_t stream) {
    const bool mf = !mask || mask_dt == CINFER_K_F32;
    if (dt == CINFER_K_F16)
        return mf ? am_launch_d<__half, float>(y, q, k, v, mask, p, stream)
                  : am_launch_d<__half, __half>(y, q, k, v, mask, p, stream);
    return mf ? am_launch_d<__nv_bfloat16, float>(y, q, k, v, mask, p, stream)
              : am_launch_d<__nv_bfloat16, __nv_bfloat16>(y, q, k, v, mask, p, stream);
}
