// Attention (softmax(scale * Q K + mask) V), flash-style: fp32 on CUDA cores, fp16/bf16 on WMMA.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <mma.h>

#include "attention.cuh"
#include "half_access.cuh"

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

// K (element (c, j) at c * k_d + j * k_j): the tile is its keys k0 .. k0 + AT_BK, stored
// [d][AT_BK] (keys past skv read as zeros). Consecutive threads take consecutive keys when
// the keys are contiguous (k_j == 1), consecutive head elements otherwise (the packed
// layout's key rows).
static inline __device__ void at_stage_keys(float *ks, const float *k, int64_t k0,
                                            const cinfer_k_attention &p, int d) {
    for (int i = threadIdx.x; i < d * AT_BK; i += blockDim.x) {
        int c, kk;
        if (p.k_j == 1) c = i / AT_BK, kk = i % AT_BK;
        else kk = i / d, c = i % d;
        ks[c * AT_BK + kk] = k0 + kk < p.skv ? k[c * p.k_d + (k0 + kk) * p.k_j] : 0.0f;
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

// The warp's rows of y (yb: [sq][dv], row stride y_row): acc / sum, NaN where every score
// was -inf, zeros when there are no keys at all.
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
            if (c < dv) yb[(wq0 + i) * p.y_row + c] = p.skv == 0 ? 0.0f : st.acc[i][j] * inv;
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
    at_stage(qs, q + o.q, q0, p.sq, p.q_row, AT_BQ, d);
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
        at_stage_keys(ks, k + o.k, k0, p, d);
        at_stage(vs, v + o.v, k0, p.skv, p.v_row, AT_BK, dv);
        __syncthreads();
        float s[AT_QPW];
        at_scores(s, qs + warp * AT_QPW * d, ks, d, lane);
        at_softmax_step(st, s, p, mb, wq0, k0 + lane);
        at_accumulate(st, s, vs, p.skv - k0 < AT_BK ? (int)(p.skv - k0) : AT_BK, dv, lane);
    }
    at_write(y + o.y, st, p, wq0, lane);
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
    if (!y || !q || !k || !v || !at_strides(&p)) return cudaErrorInvalidValue;
    int64_t q_tiles = (p.sq + AT_BQ - 1) / AT_BQ;
    if (batches > INT32_MAX / q_tiles) return cudaErrorInvalidValue;  // grid.x limit
    size_t smem = (size_t)(AT_BQ * p.d + p.d * AT_BK + AT_BK * p.dv) * sizeof(float);
    attention_fwd<<<(unsigned)(batches * q_tiles), AT_WARPS * K_WARP, smem, stream>>>(
        y, q, k, v, mask, p, q_tiles);
    return cudaGetLastError();
}

// ---- fp16 / bf16 on tensor cores (half-I/O steps) ----------------------------------------
//
// Work split: a block of AH warps (4, or fewer when the shared memory would pass 96 KiB) takes
// 16 * AH queries of one batch entry, each warp one WMMA tile of 16 rows. Keys go by in tiles of
// AH_BK: the block stages the K tile ([d][AH_BK]) and V tile ([AH_BK][dv]) as 16-bit values
// (keys past skv are zeros), then each warp on its own: S = Q K into fp32 fragments, stored to
// its shared scratch; online softmax there (lane pairs own a row: running max and sum in fp32
// registers), P rounded to 16 bits; its fp32 output rows O (shared memory) rescaled, then
// O += P V on tensor cores. O / sum is rounded once into y; the sq x skv scores never reach
// device memory. WMMA's fragment layout is opaque (which element is which row is unspecified),
// which is why S and O go through shared memory to be scaled per row instead of registers.
// Bound: docs/cuda-kernels.md, "Attention".
#define AH_ROWS 16  // queries per warp: one WMMA tile
#define AH_BK 32    // keys per tile
#define AH_MAX_WARPS 4
// Shared memory a block may take: above 48 KiB a kernel must opt in (cudaFuncSetAttribute,
// done once per instantiation); d = dv = 64 with 4 warps takes ~50 KiB.
#define AH_SMEM_LIMIT (96 * 1024)
// Row padding of the shared tiles, in elements: 16 bytes on every 16-bit row, 16 bytes on
// every fp32 row. Unpadded, the rows of Q, V and O (128 or 256 bytes) all started on bank 0,
// so WMMA's fragment loads and stores and the lane pairs' softmax reads hit the same banks
// 4 to 16 times over (an H100 profile: 7.8 TFLOP/s for BERT-base's attention).
#define AH_PAD16 8
#define AH_PAD32 4
#define AH_LS (AH_BK + AH_PAD32)  // S rows (fp32)
#define AH_LP (AH_BK + AH_PAD16)  // P rows, and the key tile's rows ([d][AH_BK])

namespace {

namespace wmma = nvcuda::wmma;

static inline __device__ float ah_f32(float x) { return x; }
static inline __device__ float ah_f32(__half x) { return __half2float(x); }
static inline __device__ float ah_f32(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T> __device__ T ah_round(float x);
template <> __device__ __half ah_round<__half>(float x) { return kh_to_f16(x); }
template <> __device__ __nv_bfloat16 ah_round<__nv_bfloat16>(float x) { return kh_to_bf16(x); }

// The larger of a and b, NaN when either is (fmaxf would drop it; the CPU's softmax of a row
// with a NaN score is all NaN).
static inline __device__ float ah_max(float a, float b) {
    return (a != a || b != b) ? NAN : fmaxf(a, b);
}

// Shared memory of one block with `warps` warps: Q [bq][d + pad], K tile [d][AH_LP], V tile
// [AH_BK][dv + pad], P [bq][AH_LP] (16-bit), S [bq][AH_LS], O [bq][dv + pad] (fp32). Each part
// is a multiple of 32 bytes when d and dv are multiples of 16, and so is every row offset a
// WMMA pointer below takes, so they all stay 256-bit aligned.
static inline __host__ __device__ size_t ah_smem(int warps, int64_t d, int64_t dv) {
    size_t bq = (size_t)warps * AH_ROWS;
    return 2 * (bq * (d + AH_PAD16) + d * AH_LP + AH_BK * (dv + AH_PAD16) + bq * AH_LP) +
           4 * (bq * AH_LS + bq * (dv + AH_PAD32));
}

// Rows [row0, row0 + rows) x cols of src (row stride src_ld; rows at or past src_rows read as
// zeros) into dst (row stride ld), by every thread of the block. vec: cols and src_ld
// multiples of 8 and src 16-byte aligned, so eight values move per 16-byte access (all-zero
// bits are +0 in both 16-bit formats).
template <typename T>
static inline __device__ void ah_stage(T *dst, int ld, const T *src, int64_t src_ld,
                                       int64_t row0, int64_t src_rows, int rows, int cols,
                                       bool vec) {
    if (vec) {
        const int cv = cols / 8;
        for (int i = threadIdx.x; i < rows * cv; i += blockDim.x) {
            int r = i / cv, c = (i - r * cv) * 8;
            uint4 w = make_uint4(0u, 0u, 0u, 0u);
            if (row0 + r < src_rows) w = *(const uint4 *)(src + (row0 + r) * src_ld + c);
            *(uint4 *)(dst + r * ld + c) = w;
        }
        return;
    }
    for (int i = threadIdx.x; i < rows * cols; i += blockDim.x) {
        int r = i / cols, c = i % cols;
        dst[r * ld + c] =
            row0 + r < src_rows ? src[(row0 + r) * src_ld + c] : ah_round<T>(0.0f);
    }
}

static inline __device__ bool ah_aligned16(const void *p) { return ((uintptr_t)p & 15u) == 0; }

// K (element (c, j) at c * k_d + j * k_j): its keys k0 .. k0 + AH_BK as [d][AH_LP], keys past
// skv zeros, by every thread of the block. Three ways, chosen by the layout and alignment:
//   - keys contiguous (k_j == 1), k_d % 8 == 0, k 16-byte aligned: eight keys of one head
//     element per 16-byte load (each 8-key group is wholly before or past skv when skv % 8 ==
//     0, which the caller also checks);
//   - head elements contiguous (k_d == 1, the packed layout's key rows), k_j % 8 == 0, k
//     aligned: eight head elements of one key per 16-byte load, stored down a column of ks;
//   - otherwise one element at a time.
template <typename T>
static inline __device__ void ah_stage_keys(T *ks, const T *k, int64_t k0,
                                            const cinfer_k_attention &p, int d) {
    const bool keys_vec = p.k_j == 1 && p.k_d % 8 == 0 && p.skv % 8 == 0 && ah_aligned16(k);
    const bool rows_vec = p.k_d == 1 && p.k_j % 8 == 0 && ah_aligned16(k);
    if (keys_vec) {
        for (int i = threadIdx.x; i < d * (AH_BK / 8); i += blockDim.x) {
            int c = i / (AH_BK / 8), kk = (i % (AH_BK / 8)) * 8;
            uint4 w = make_uint4(0u, 0u, 0u, 0u);
            if (k0 + kk < p.skv) w = *(const uint4 *)(k + c * p.k_d + k0 + kk);
            *(uint4 *)(ks + c * AH_LP + kk) = w;
        }
    } else if (rows_vec) {
        // The eight 16-bit values move as bits (element e is half e % 2 of word e / 2, low
        // half first): no array or union, which would put them in local memory on sm_80.
        uint16_t *kb = reinterpret_cast<uint16_t *>(ks);
        const int dv8 = d / 8;
        for (int i = threadIdx.x; i < AH_BK * dv8; i += blockDim.x) {
            int kk = i / dv8, c = (i - kk * dv8) * 8;
            uint4 w = make_uint4(0u, 0u, 0u, 0u);
            if (k0 + kk < p.skv) w = *(const uint4 *)(k + (k0 + kk) * p.k_j + c);
            uint16_t *col = kb + c * AH_LP + kk;
            col[0 * AH_LP] = (uint16_t)(w.x & 0xffffu), col[1 * AH_LP] = (uint16_t)(w.x >> 16);
            col[2 * AH_LP] = (uint16_t)(w.y & 0xffffu), col[3 * AH_LP] = (uint16_t)(w.y >> 16);
            col[4 * AH_LP] = (uint16_t)(w.z & 0xffffu), col[5 * AH_LP] = (uint16_t)(w.z >> 16);
            col[6 * AH_LP] = (uint16_t)(w.w & 0xffffu), col[7 * AH_LP] = (uint16_t)(w.w >> 16);
        }
    } else {
        for (int i = threadIdx.x; i < d * AH_BK; i += blockDim.x) {
            int c = i / AH_BK, kk = i % AH_BK;
            ks[c * AH_LP + kk] =
                k0 + kk < p.skv ? k[c * p.k_d + (k0 + kk) * p.k_j] : ah_round<T>(0.0f);
        }
    }
}

// The warp's tensor-core product, 16 rows at a time: c ([16][n] fp32, row stride ldc) = a
// ([16][kdim], stride lda) times b ([kdim][n], stride ldb), plus c's own values when accumulate
// (else from zero). n and kdim are multiples of 16.
template <typename T>
static inline __device__ void ah_mma(float *c, int ldc, const T *a, int lda, const T *b, int ldb,
                                     int n, int kdim, bool accumulate) {
    for (int n0 = 0; n0 < n; n0 += 16) {
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
        if (accumulate)
            wmma::load_matrix_sync(acc, c + n0, ldc, wmma::mem_row_major);
        else
            wmma::fill_fragment(acc, 0.0f);
        for (int k0 = 0; k0 < kdim; k0 += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa;
            wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> fb;
            wmma::load_matrix_sync(fa, a + k0, lda);
            wmma::load_matrix_sync(fb, b + k0 * ldb + n0, ldb);
            wmma::mma_sync(acc, fa, fb, acc);
        }
        wmma::store_matrix_sync(c + n0, acc, ldc, wmma::mem_row_major);
    }
}

// What a lane keeps between key tiles: its row's running max and sum (both lanes of a pair
// hold the same values).
struct ah_row {
    float m, l;
};

// Online softmax over the tile for row r (this lane covers columns h * AH_BK / 2 .. of it):
// masks and scales sw's raw scores, moves the running max, writes P (16-bit) to pw, adds the
// rounded weights to the sum (so the weights the sum counts are the ones P V multiplies) and
// returns the factor the row of O must be rescaled by (ah_rescale). While every score so far is
// -inf nothing is added (expf(-inf - -inf) would be NaN); such a row ends NaN in ah_write, as
// the CPU's softmax of all -inf gives.
template <typename T, typename M>
static inline __device__ float ah_softmax(ah_row &st, const float *sw, T *pw,
                                          const cinfer_k_attention &p, const M *mb, int64_t qi,
                                          int64_t k0, int r, int h) {
    const int hw = AH_BK / 2;
    float x[AH_BK / 2], tm = -INFINITY;
#pragma unroll
    for (int jj = 0; jj < hw; jj++) {
        int j = h * hw + jj;
        float v = -INFINITY;  // keys past skv weigh nothing
        if (k0 + j < p.skv) {
            v = sw[r * AH_LS + j] * p.scale;
            if (mb && qi < p.sq) v += ah_f32(mb[qi * p.mask_row + (k0 + j) * p.mask_col]);
        }
        x[jj] = v;
        tm = ah_max(tm, v);
    }
    tm = ah_max(tm, __shfl_xor_sync(0xffffffffu, tm, 1));
    float mnew = ah_max(st.m, tm), corr = 1.0f, sum = 0.0f;
    bool live = mnew != -INFINITY;  // the same on both lanes of the pair
    if (live) corr = expf(st.m - mnew);
#pragma unroll
    for (int jj = 0; jj < hw; jj++) {
        T w = ah_round<T>(live ? expf(x[jj] - mnew) : 0.0f);
        pw[r * AH_LP + h * hw + jj] = w;
        sum += ah_f32(w);
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    st.l = st.l * corr + sum;
    if (live) st.m = mnew;
    return corr;
}

// O's rows (stride lo) times their factors (row rr's from lane 2rr), lanes along the columns:
// a lane pair per row would put all 32 lanes on one shared-memory bank when dv is a multiple
// of 32.
static inline __device__ void ah_rescale(float *ow, int lo, float corr, int dv, int lane) {
    for (int rr = 0; rr < AH_ROWS; rr++) {
        float cr = __shfl_sync(0xffffffffu, corr, 2 * rr);
        for (int c = lane; c < dv; c += K_WARP) ow[rr * lo + c] *= cr;
    }
}

// The warp's rows of y (yb: [sq][dv], row stride y_row) = O / sum rounded, a row at a time
// (lanes along the columns); row r's max and sum come from lane 2r. NaN where every score was
// -inf.
template <typename T>
static inline __device__ void ah_write(T *yb, const float *ow, int lo, ah_row st,
                                       const cinfer_k_attention &p, int64_t wq0, int lane) {
    const int dv = (int)p.dv;
    for (int r = 0; r < AH_ROWS; r++) {
        float m = __shfl_sync(0xffffffffu, st.m, 2 * r);
        float l = __shfl_sync(0xffffffffu, st.l, 2 * r);
        if (wq0 + r >= p.sq) break;  // the same on every lane
        float inv = m == -INFINITY ? NAN : 1.0f / l;
        for (int c = lane; c < dv; c += K_WARP)
            yb[(wq0 + r) * p.y_row + c] = ah_round<T>(ow[r * lo + c] * inv);
    }
}

template <typename T, typename M>
__global__ void __launch_bounds__(AH_MAX_WARPS * K_WARP)
    attention_tc(T *y, const T *q, const T *k, const T *v, const M *mask, cinfer_k_attention p,
                 int64_t q_tiles) {
    extern __shared__ __align__(128) unsigned char ah_mem[];
    const int d = (int)p.d, dv = (int)p.dv, warps = blockDim.x / K_WARP;
    const int bq = warps * AH_ROWS;
    const int lq = d + AH_PAD16, lv = dv + AH_PAD16, lo = dv + AH_PAD32;  // padded row strides
    T *qs = (T *)ah_mem;                 // [bq][lq]: the block's queries
    T *ks = qs + bq * lq;                // [d][AH_LP]: the key tile
    T *vs = ks + d * AH_LP;              // [AH_BK][lv]: the value tile
    T *ps = vs + AH_BK * lv;             // [bq][AH_LP]: P, 16 rows per warp
    float *ss = (float *)(ps + bq * AH_LP);  // [bq][AH_LS]: S
    float *os = ss + bq * AH_LS;         // [bq][lo]: O
    const int64_t bi = blockIdx.x / q_tiles, q0 = (blockIdx.x % q_tiles) * bq;
    const int warp = threadIdx.x / K_WARP, lane = threadIdx.x % K_WARP;
    const int r = lane / 2, h = lane % 2;  // this lane's row of the warp and half of it
    const at_offsets o = at_batch_offsets(bi, p);
    const M *mb = mask ? mask + o.mask : NULL;
    const int64_t wq0 = q0 + warp * AH_ROWS;
    float *sw = ss + warp * AH_ROWS * AH_LS, *ow = os + warp * AH_ROWS * lo;
    T *pw = ps + warp * AH_ROWS * AH_LP;
    // 16-byte staging where the block's operands allow it (the same for every thread).
    const bool qvec = ah_aligned16(q + o.q) && p.q_row % 8 == 0;
    const bool vvec = ah_aligned16(v + o.v) && p.v_row % 8 == 0;
    ah_stage(qs, lq, q + o.q, p.q_row, q0, p.sq, bq, d, qvec);
    for (int i = threadIdx.x; i < bq * lo; i += blockDim.x) os[i] = 0.0f;
    ah_row st = {-INFINITY, 0.0f};
    for (int64_t k0 = 0; k0 < p.skv; k0 += AH_BK) {
        __syncthreads();  // the previous tile's readers are done (and Q and O are ready)
        ah_stage_keys(ks, k + o.k, k0, p, d);
        ah_stage(vs, lv, v + o.v, p.v_row, k0, p.skv, AH_BK, dv, vvec);
        __syncthreads();
        int kn = p.skv - k0 < AH_BK ? (int)(p.skv - k0) : AH_BK;
        // sw ([16][AH_BK]) = the warp's queries ([16][d]) against the key tile ks ([d][AH_BK])
        ah_mma(sw, AH_LS, qs + warp * AH_ROWS * lq, lq, ks, AH_LP, AH_BK, d, false);
        __syncwarp();  // S stored by the fragments, read by lanes
        ah_rescale(ow, lo, ah_softmax(st, sw, pw, p, mb, wq0 + r, k0, r, h), dv, lane);
        __syncwarp();  // P and the rescaled O written by lanes, read by the fragments
        // ow ([16][dv]) += pw ([16][AH_BK]) vs ([AH_BK][dv]) over the first kn keys rounded up
        // to 16 (P and V are zero past kn)
        ah_mma(ow, lo, pw, AH_LP, vs, lv, dv, (kn + 15) / 16 * 16, true);
        __syncwarp();  // O stored by the fragments, rescaled by lanes next tile
    }
    ah_write(y + o.y, ow, lo, st, p, wq0, lane);
}

template <typename T, typename M>
cudaError_t ah_launch(void *y, const void *q, const void *k, const void *v, const void *mask,
                      cinfer_k_attention p, cudaStream_t stream) {
    int warps = AH_MAX_WARPS;
    while (warps > 1 && ah_smem(warps, p.d, p.dv) > AH_SMEM_LIMIT) warps /= 2;
    int64_t q_tiles = (p.sq + warps * AH_ROWS - 1) / (warps * AH_ROWS);
    int64_t batches = cinfer_k_dims_count(&p.batch);
    if (batches > INT32_MAX / q_tiles) return cudaErrorInvalidValue;  // grid.x limit
    static std::atomic<bool> opted_in[AT_MAX_DEVICES];
    size_t smem = ah_smem(warps, p.d, p.dv);
    cudaError_t e = at_opt_in(attention_tc<T, M>, smem, AH_SMEM_LIMIT, opted_in);
    if (e != cudaSuccess) return e;
    attention_tc<T, M><<<(unsigned)(batches * q_tiles), warps * K_WARP, smem, stream>>>(
        (T *)y, (const T *)q, (const T *)k, (const T *)v, (const M *)mask, p, q_tiles);
    return cudaGetLastError();
}

}  // namespace

extern "C" cudaError_t cinfer_k_attention_half(void *y, const void *q, const void *k,
                                               const void *v, const void *mask, cinfer_k_dtype dt,
                                               cinfer_k_dtype mask_dt, cinfer_k_attention p,
                                               cudaStream_t stream) {
    bool head_ok = p.d >= CINFER_K_ATTENTION_HALF_MIN_HEAD && p.d % 16 == 0 &&
                   p.dv >= CINFER_K_ATTENTION_HALF_MIN_HEAD && p.dv % 16 == 0 &&
                   p.d <= AT_MAX_D && p.dv <= AT_MAX_D;
    if (!k_dims_valid(p.batch) || p.sq < 0 || p.skv < 1 || !head_ok ||
        (dt != CINFER_K_F16 && dt != CINFER_K_BF16) ||
        (mask && mask_dt != CINFER_K_F32 && mask_dt != dt) ||
        p.kernel < CINFER_K_ATTENTION_AUTO || p.kernel > CINFER_K_ATTENTION_MMA)
        return cudaErrorInvalidValue;
    if (cinfer_k_dims_count(&p.batch) == 0 || p.sq == 0) return cudaSuccess;
    if (!y || !q || !k || !v || !at_strides(&p)) return cudaErrorInvalidValue;
    if (p.kernel == CINFER_K_ATTENTION_MMA) return at_launch_mma(y, q, k, v, mask, dt, mask_dt, p, stream);
    bool mf = !mask || mask_dt == CINFER_K_F32;
    if (dt == CINFER_K_F16)
        return mf ? ah_launch<__half, float>(y, q, k, v, mask, p, stream)
                  : ah_launch<__half, __half>(y, q, k, v, mask, p, stream);
    return mf ? ah_launch<__nv_bfloat16, float>(y, q, k, v, mask, p, stream)
              : ah_launch<__nv_bfloat16, __nv_bfloat16>(y, q, k, v, mask, p, stream);
}
