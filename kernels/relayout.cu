// Channels-last conversions (docs/cuda-backend.md, "Channels last"): a 4-D activation [n, c, hw]
// copied between NCHW ([n][c][hw]) and NHWC ([n][hw][c]) storage, changing its element type on
// the way (float <-> fp16/bf16), in one pass. Also the weights' KCRS -> KRSC reorder, which is
// the same transpose with n = K, c = C/groups, hw = R*S.
//
// A transpose reads one layout along rows and writes the other along columns; a 32x32 tile in
// shared memory keeps both the loads and the stores coalesced (the +1 column breaks the bank
// conflicts of reading the tile by columns). Blocks of 32x8 threads, four elements each. Fewer
// than 8 channels (an image input) take a plain gather instead.
#include <type_traits>

#include "common.cuh"
#include "half_access.cuh"

namespace {

#define TILE 32
#define TILE_ROWS 8

// x holds `batch` matrices [rows][cols] of S; y gets each transposed, [cols][rows] of D. One
// block per 32x32 tile: blockIdx.x counts the tiles of a matrix (column tiles fastest), so
// either side may be long (an image's pixels); blockIdx.y steps over the matrices (a
// grid-stride loop past 65535 of them).
template <class S, class D>
__global__ void transpose_tiles(D *y, const S *x, int64_t batch, int64_t rows, int64_t cols,
                                int64_t col_tiles) {
    __shared__ float tile[TILE][TILE + 1];
    int64_t r0 = (int64_t)blockIdx.x / col_tiles * TILE;
    int64_t c0 = (int64_t)blockIdx.x % col_tiles * TILE;
    for (int64_t b = blockIdx.y; b < batch; b += gridDim.y) {
        const S *xb = x + b * rows * cols;
        D *yb = y + b * rows * cols;
        for (int k = threadIdx.y; k < TILE; k += TILE_ROWS) {
            int64_t r = r0 + k, c = c0 + threadIdx.x;
            if (r < rows && c < cols) tile[k][threadIdx.x] = kh_load(xb[r * cols + c]);
        }
        __syncthreads();
        for (int k = threadIdx.y; k < TILE; k += TILE_ROWS) {
            int64_t c = c0 + k, r = r0 + threadIdx.x;  // y's row c, column r
            if (r < rows && c < cols) kh_store(&yb[c * rows + r], tile[threadIdx.x][k]);
        }
        __syncthreads();  // the tile is refilled for the next matrix
    }
}

// Few channels (an image input's 3): a 32x32 tile would hold c rows of 32, most of its threads
// idle and most blocks nearly empty. One thread per output element instead, in y's order, so
// the stores are coalesced and each warp's loads fall in c short runs.
template <class S, class D>
__global__ void relayout_small_c(D *y, int y_nhwc, const S *x, int64_t total, int64_t c,
                                 int64_t hw) {
    for (int64_t i = k_first(); i < total; i += k_step()) {
        int64_t ch, s, b;
        if (y_nhwc) {
            ch = i % c, s = (i / c) % hw, b = i / (c * hw);
        } else {
            s = i % hw, ch = (i / hw) % c, b = i / (c * hw);
        }
        int64_t src = y_nhwc ? (b * c + ch) * hw + s : (b * hw + s) * c + ch;
        kh_store(&y[i], kh_load(x[src]));
    }
}

// Same layout: only the element type changes.
template <class S, class D>
__global__ void convert(D *y, const S *x, int64_t n) {
    for (int64_t i = k_first(); i < n; i += k_step()) kh_store(&y[i], kh_load(x[i]));
}

template <class S, class D>
cudaError_t launch(void *y, int y_nhwc, const void *x, int x_nhwc, int64_t n, int64_t c,
                   int64_t hw, cudaStream_t stream) {
    int64_t total = n * c * hw;
    if (total == 0) return cudaSuccess;
    if (!x || !y) return cudaErrorInvalidValue;
    if (!!x_nhwc == !!y_nhwc) {
        // A copy keeps every bit (a NaN's payload too); else the type changes on the way.
        if (std::is_same<S, D>::value)
            return cudaMemcpyAsync(y, x, (size_t)total * sizeof(S), cudaMemcpyDeviceToDevice,
                                   stream);
        convert<S, D><<<k_blocks_for(total), K_BLOCK, 0, stream>>>((D *)y, (const S *)x, total);
        return cudaGetLastError();
    }
    if (c < 8) {
        relayout_small_c<S, D><<<k_blocks_for(total), K_BLOCK, 0, stream>>>(
            (D *)y, y_nhwc, (const S *)x, total, c, hw);
        return cudaGetLastError();
    }
    // NCHW -> NHWC transposes each [c][hw] matrix; NHWC -> NCHW each [hw][c] one.
    int64_t rows = x_nhwc ? hw : c, cols = x_nhwc ? c : hw;
    int64_t col_tiles = (cols + TILE - 1) / TILE, tiles = col_tiles * ((rows + TILE - 1) / TILE);
    if (tiles > 0x7fffffff) return cudaErrorInvalidValue;
    dim3 grid((unsigned)tiles, (unsigned)(n < 65535 ? n : 65535)), block(TILE, TILE_ROWS);
    transpose_tiles<S, D><<<grid, block, 0, stream>>>((D *)y, (const S *)x, n, rows, cols,
                                                      col_tiles);
    return cudaGetLastError();
}

}  // namespace

extern "C" cudaError_t cinfer_k_relayout(cinfer_k_dtype y_t, void *y, int y_nhwc,
                                         cinfer_k_dtype x_t, const void *x, int x_nhwc,
                                         int64_t n, int64_t c, int64_t hw, cudaStream_t stream) {
    if (n < 0 || c < 0 || hw < 0) return cudaErrorInvalidValue;
    return kh_act_types(x_t, [&](auto s) {
        return kh_act_types(y_t, [&](auto d) {
            return launch<decltype(s), decltype(d)>(y, y_nhwc, x, x_nhwc, n, c, hw, stream);
        });
    });
}
