// Attention (softmax(scale * Q K + mask) V) in fp32, flash-style: scores stay in registers.
#include "common.cuh"

// Work split: a block takes AT_BQ queries of one batch entry; each of its AT_WARPS warps owns
// AT_QPW of them. Keys go by in tiles of AT_BK (one key per lane while scoring); the K and V
// tiles and the block's queries are staged in shared memory. Each lane keeps, per query, the
// output columns lane, lane + 32, ... (AT_MAX_D / 32 of them).
//
// Bound (per call, B batch entries): FLOPs = 2 * B * sq * skv * (d + dv), plus one expf per
// score. Compulsory bytes = 4 * B * (sq * d + d * skv + skv * dv + sq * dv) plus the mask's
// bytes; K and V are read again by each of the ceil(sq / AT_BQ) query tiles (from L2 mostly).
// For BERT-base (B = 12 heads, sq = skv = 128, d = dv = 64): 50 MFLOP and 1.6 MB, a few
// microseconds at an H100's fp32 (~60 TFLOP/s) and memory (~3 TB/s) rates; the kernel reads
// shared memory about once per FMA while scoring, so shared bandwidth, not either peak, is
// what it reaches first. Not measured yet.
#define AT_WARPS 4
#define AT_QPW 4
#define AT_BQ (AT_WARPS * AT_QPW)
#define AT_BK K_WARP
#define AT_MAX_D CINFER_K_ATTENTION_MAX_HEAD
#define AT_COLS (AT_MAX_D / K_WARP)

namespace {

struct at_offsets {
    int64_t q, k, v, mask;
};

// Offsets of batch entry bi's matrices in each operand (one decode for all four).
static inline __device__ at_offsets at_batch_offsets(int64_t bi, const cinfer_k_attention &p) {
    at_offsets o = {0, 0, 0, 0};
    for (int32_t d = p.batch.rank - 1; d >= 0; d--) {
        int64_t c = bi % p.batch.size[d];
        bi /= p.batch.size[d];
        o.q += c * p.q_batch.s[d];
        o.k += c * p.k_batch.s[d];
        o.v += c * p.v_batch.s[d];
        o.mask += c * p.mask_batch.s[d];
    }
    return o;
}

// Copies rows x cols of src (row stride src_ld, rows from row0 on; rows at or past src_rows
// read as zeros) into dense dst, by every thread of the block.
static inline __device__ void at_stage(float *dst, const float *src, int64_t row0,
                                       int64_t src_rows, int64_t src_ld, int rows, int cols) {
    for (int i = threadIdx.x; i < rows * cols; i += blockDim.x) {
        int r = i / cols, c = i % cols;
        int64_t sr = row0 + r;
        dst[i] = sr < src_rows ? src[sr * src_ld + c] : 0.0f;
    }
}

// K is [d, skv]: the tile is its columns k0 .. k0 + AT_BK, stored [d][AT_BK] (keys past skv
// read as zeros).
static inline __device__ void at_stage_keys(float *ks, const float *k, int64_t k0, int64_t skv,
                                            int d) {
    for (int i = threadIdx.x; i < d * AT_BK; i += blockDim.x) {
        int c = i / AT_BK, kk = i % AT_BK;
        ks[i] = k0 + kk < skv ? k[c * skv + k0 + kk] : 0.0f;
    }
}

// What a lane keeps for its warp's queries from one key tile to the next (registers).
struct at_state {
    float m[AT_QPW], l[AT_QPW];  // running max and running sum of exp, per query
    float acc[AT_QPW][AT_COLS];  // output columns lane, lane + 32, ... per query (unscaled)
};

// s[i] = query i of the warp (qw: [AT_QPW][d]) against key `lane` of the tile (ks).
static inline __device__ void at_scores(float *s, const float *qw, const float *ks, int d,
                                        int lane) {
#pragma unroll
    for (int i = 0; i < AT_QPW; i++) s[i] = 0.0f;
    for (int c = 0; c < d; c++) {
        float kv = ks[c * AT_BK + lane];
#pragma unroll
        for (int i = 0; i < AT_QPW; i++) s[i] += qw[i * d + c] * kv;
    }
}

// Online softmax over one tile: scales and masks the raw scores s, moves each query's running
// max, rescales its sum and accumulator, and leaves in s[i] the weight of key `key`. While
// every score so far is -inf the max stays -inf and nothing is added (expf(-inf - -inf) would
// be NaN); a query that ends that way gets NaN in at_write, as the CPU's softmax of all -inf.
static inline __device__ void at_softmax_step(at_state &st, float *s,
                                              const cinfer_k_attention &p, const float *mb,
                                              int64_t wq0, int64_t key) {
#pragma unroll
    for (int i = 0; i < AT_QPW; i++) {
        float x = -INFINITY;  // keys past skv weigh nothing
        if (key < p.skv) {
            x = s[i] * p.scale;
            if (mb && wq0 + i < p.sq) x += mb[(wq0 + i) * p.mask_row + key * p.mask_col];
        }
        // fmaxf drops a NaN: carry one in the running max instead, so a NaN score makes the
        // row NaN as the CPU's softmax does, even while every other score is -inf
        float wm = __any_sync(0xffffffffu, x != x) ? NAN : k_warp_max(x);
        float mnew = (st.m[i] != st.m[i] || wm != wm) ? NAN : fmaxf(st.m[i], wm);
        float pr = 0.0f, corr = 1.0f;
        if (mnew != -INFINITY) {  // the same on every lane of the warp
            corr = expf(st.m[i] - mnew);
            pr = expf(x - mnew);
            st.m[i] = mnew;
        }
        st.l[i] = st.l[i] * corr + k_warp_sum(pr);
#pragma unroll
        for (int j = 0; j < AT_COLS; j++) st.acc[i][j] *= corr;
        s[i] = pr;
    }
}

// acc += P V over the tile's kn keys (vs: [AT_BK][dv]); key kk's weight comes from lane kk.
static inline __device__ void at_accumulate(at_state &st, const float *s, const float *vs,
                                            int kn, int dv, int lane) {
    for (int kk = 0; kk < kn; kk++) {
        float vv[AT_COLS];
#pragma unroll
        for (int j = 0; j < AT_COLS; j++)
            vv[j] = lane + j * K_WARP < dv ? vs[kk * dv + lane + j * K_WARP] : 0.0f;
#pragma unroll
        for (int i = 0; i < AT_QPW; i++) {
            float pk = __shfl_sync(0xffffffffu, s[i], kk);
#pragma unroll
            for (int j = 0; j < AT_COLS; j++) st.acc[i][j] += pk * vv[j];
        }
    }
}

// The warp's rows of y (yb: [sq][dv]): acc / sum, NaN where every score was -inf, zeros
// when there are no keys at all.
static inline __device__ void at_write(float *yb, const at_state &st,
                                       const cinfer_k_attention &p, int64_t wq0, int lane) {
    const int dv = (int)p.dv;
#pragma unroll
    for (int i = 0; i < AT_QPW; i++) {
        if (wq0 + i >= p.sq) continue;
        float inv = p.skv == 0 ? 0.0f : st.m[i] == -INFINITY ? NAN : 1.0f / st.l[i];
#pragma unroll
        for (int j = 0; j < AT_COLS; j++) {
            int c = lane + j * K_WARP;
            if (c < dv) yb[(wq0 + i) * dv + c] = p.skv == 0 ? 0.0f : st.acc[i][j] * inv;
        }
    }
}

__global__ void __launch_bounds__(AT_WARPS * K_WARP)
    attention_fwd(float *y, const float *q, const float *k, const float *v, const float *mask,
                  cinfer_k_attention p, int64_t q_tiles) {
    extern __shared__ float smem[];
    const int d = (int)p.d, dv = (int)p.dv;
    float *qs = smem;            // [AT_BQ][d]: this block's queries
    float *ks = qs + AT_BQ * d;  // [d][AT_BK]: the key tile
    float *vs = ks + d * AT_BK;  // [AT_BK][dv]: the value tile
    const int64_t bi = blockIdx.x / q_tiles, q0 = (blockIdx.x % q_tiles) * AT_BQ;
    const int warp = threadIdx.x / K_WARP, lane = threadIdx.x % K_WARP;
    const at_offsets o = at_batch_offsets(bi, p);
    const float *mb = mask ? mask + o.mask : NULL;
    const int64_t wq0 = q0 + warp * AT_QPW;  // this warp's first query
    at_stage(qs, q + o.q, q0, p.sq, d, AT_BQ, d);
    at_state st;
#pragma unroll
    for (int i = 0; i < AT_QPW; i++) {
        st.m[i] = -INFINITY;
        st.l[i] = 0.0f;
#pragma unroll
        for (int j = 0; j < AT_COLS; j++) st.acc[i][j] = 0.0f;
    }
    for (int64_t k0 = 0; k0 < p.skv; k0 += AT_BK) {
        __syncthreads();  // the previous tile's readers are done (and Q is staged)
        at_stage_keys(ks, k + o.k, k0, p.skv, d);
        at_stage(vs, v + o.v, k0, p.skv, dv, AT_BK, dv);
        __syncthreads();
        float s[AT_QPW];
        at_scores(s, qs + warp * AT_QPW * d, ks, d, lane);
        at_softmax_step(st, s, p, mb, wq0, k0 + lane);
        at_accumulate(st, s, vs, p.skv - k0 < AT_BK ? (int)(p.skv - k0) : AT_BK, dv, lane);
    }
    at_write(y + bi * p.sq * dv, st, p, wq0, lane);
}

}  // namespace

extern "C" cudaError_t cinfer_k_attention_f32(float *y, const float *q, const float *k,
                                              const float *v, const float *mask,
                                              cinfer_k_attention p, cudaStream_t stream) {
    if (!k_dims_valid(p.batch) || p.sq < 0 || p.skv < 0 || p.d < 0 || p.dv < 0 ||
        p.d > AT_MAX_D || p.dv > AT_MAX_D)
        return cudaErrorInvalidValue;
    int64_t batches = cinfer_k_dims_count(&p.batch);
    if (batches == 0 || p.sq == 0 || p.dv == 0) return cudaSuccess;
    if (!y || !q || !k || !v) return cudaErrorInvalidValue;
    int64_t q_tiles = (p.sq + AT_BQ - 1) / AT_BQ;
    if (batches > INT32_MAX / q_tiles) return cudaErrorInvalidValue;  // grid.x limit
    size_t smem = (size_t)(AT_BQ * p.d + p.d * AT_BK + AT_BK * p.dv) * sizeof(float);
    attention_fwd<<<(unsigned)(batches * q_tiles), AT_WARPS * K_WARP, smem, stream>>>(
        y, q, k, v, mask, p, q_tiles);
    return cudaGetLastError();
}
