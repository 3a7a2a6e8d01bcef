// Transpose: swapping the last two axes goes through 32x32 shared-memory tiles so both the
// reads and the writes are coalesced; any other permutation is a strided copy.
#include "common.cuh"

namespace {

#define T_TILE 32   // tile side
#define T_ROWS 8    // threads per tile column: each thread moves T_TILE / T_ROWS elements

// x is [batch, rows, cols] dense, y is [batch, cols, rows] dense. Tile columns come from
// blockIdx.x; tile rows and batches loop over the grid's y and z so any size fits.
template <class T>
__global__ void transpose_tiled(T *y, const T *x, int64_t batch, int64_t rows, int64_t cols) {
    __shared__ T tile[T_TILE][T_TILE + 1];  // +1 column: column reads avoid bank conflicts
    int64_t tile_rows = (rows + T_TILE - 1) / T_TILE;
    int64_t c0 = (int64_t)blockIdx.x * T_TILE;
    for (int64_t b = blockIdx.z; b < batch; b += gridDim.z) {
        const T *xb = x + b * rows * cols;
        T *yb = y + b * rows * cols;
        for (int64_t tr = blockIdx.y; tr < tile_rows; tr += gridDim.y) {
            int64_t r0 = tr * T_TILE;
            for (int k = threadIdx.y; k < T_TILE; k += T_ROWS) {
                int64_t r = r0 + k, c = c0 + threadIdx.x;
                if (r < rows && c < cols) tile[k][threadIdx.x] = xb[r * cols + c];
            }
            __syncthreads();
            for (int k = threadIdx.y; k < T_TILE; k += T_ROWS) {
                int64_t c = c0 + k, r = r0 + threadIdx.x;
                if (c < cols && r < rows) yb[c * rows + r] = tile[threadIdx.x][k];
            }
            __syncthreads();  // the next tile overwrites this one
        }
    }
}

template <class T>
static cudaError_t launch_tiled(void *y, const void *x, int64_t batch, int64_t rows,
                                int64_t cols, cudaStream_t stream) {
    int64_t tiles_c = (cols + T_TILE - 1) / T_TILE, tiles_r = (rows + T_TILE - 1) / T_TILE;
    if (tiles_c > 0x7fffffff) return cudaErrorInvalidValue;
    dim3 grid((unsigned)tiles_c, (unsigned)(tiles_r < 65535 ? tiles_r : 65535),
              (unsigned)(batch < 65535 ? batch : 65535));
    transpose_tiled<<<grid, dim3(T_TILE, T_ROWS), 0, stream>>>((T *)y, (const T *)x, batch, rows,
                                                               cols);
    return cudaGetLastError();
}

// True when perm keeps every axis but the last two, which it swaps.
static bool swaps_last_two(const cinfer_k_perm &perm, int32_t rank) {
    if (rank < 2 || perm.p[rank - 1] != rank - 2 || perm.p[rank - 2] != rank - 1) return false;
    for (int32_t d = 0; d < rank - 2; d++)
        if (perm.p[d] != d) return false;
    return true;
}

}  // namespace

extern "C" cudaError_t cinfer_k_transpose(void *y, const void *x, cinfer_k_dims in,
                                          cinfer_k_perm perm, size_t elem_size,
                                          cudaStream_t stream) {
    if (!k_dims_valid(in)) return cudaErrorInvalidValue;
    unsigned seen = 0;
    for (int32_t d = 0; d < in.rank; d++) {
        if (perm.p[d] < 0 || perm.p[d] >= in.rank || (seen >> perm.p[d]) & 1u)
            return cudaErrorInvalidValue;
        seen |= 1u << perm.p[d];
    }
    int64_t n = cinfer_k_dims_count(&in);
    if (n == 0) return cudaSuccess;
    if (!y || !x) return cudaErrorInvalidValue;
    if (swaps_last_two(perm, in.rank)) {
        int64_t rows = in.size[in.rank - 2], cols = in.size[in.rank - 1];
        int64_t batch = n / (rows * cols);
        switch (elem_size) {
        case 1: return launch_tiled<uint8_t>(y, x, batch, rows, cols, stream);
        case 2: return launch_tiled<uint16_t>(y, x, batch, rows, cols, stream);
        case 4: return launch_tiled<uint32_t>(y, x, batch, rows, cols, stream);
        case 8: return launch_tiled<uint64_t>(y, x, batch, rows, cols, stream);
        }
        return cudaErrorInvalidValue;
    }
    // Iterate over the output's dims; read the input through its strides in output order.
    cinfer_k_strides in_strides = cinfer_k_dense_strides(&in);
    cinfer_k_dims out = in;
    cinfer_k_strides src = in_strides;
    for (int32_t d = 0; d < in.rank; d++) {
        out.size[d] = in.size[perm.p[d]];
        src.s[d] = in_strides.s[perm.p[d]];
    }
    return cinfer_k_copy_strided(y, cinfer_k_dense_strides(&out), x, src, out, elem_size, stream);
}
