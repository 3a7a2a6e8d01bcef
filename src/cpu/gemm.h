/* Helpers of the CPU GEMM-based kernels (linalg, conv): a pool-parallel sgemm, the
 * im2col / col2im transforms and Winograd convolution. Private to src/cpu. */
#ifndef CINFER_CPU_GEMM_H
#define CINFER_CPU_GEMM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/threadpool.h"

/* Hand-written loops that vectorize are compiled for AVX-512 and AVX2 as well as the
 * baseline, picked at load time (the build targets plain x86-64). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define CINFER_SIMD_CLONES \
    __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CINFER_SIMD_CLONES
#endif

/* Threads a kernel may use: the pool's size (1 without a pool). */
int cinfer__cpu_threads(cinfer__pool *pool);

/* Fills C[m0:m1, n0:n1] before a chunk's sgemm (bias, beta*C), in the chunk's thread. */
typedef void (*cinfer__gemm_init_fn)(void *ctx, int64_t m0, int64_t m1, int64_t n0, int64_t n1);

/* cinfer__sgemm split over the pool along M or N (the larger of the two, so that the
 * operand every chunk repacks is the smaller one). Same arguments as cinfer__sgemm, plus an
 * optional init called on each chunk's block of C before its sgemm (NULL: none). */
void cinfer__sgemm_par(cinfer__pool *pool, bool trans_a, bool trans_b, int64_t m, int64_t n,
                       int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                       int64_t ldb, float beta, float *c, int64_t ldc, cinfer__gemm_init_fn init,
                       void *init_ctx);

/* Geometry of an image <-> column transform over 3 spatial dims (1-D and 2-D front-padded
 * with size-1 dims). `in` is the padded-image side, `out` the column side: for Conv, in = X's
 * spatial size and out = Y's; for ConvTranspose the roles swap (in = Y, out = X). */
typedef struct cinfer__im2col_geom {
    int64_t channels;
    int64_t in[3], out[3], k[3], stride[3], dil[3], pad[3];
} cinfer__im2col_geom;

/* Rows r of col are (channel, kd, kh, kw), columns the out positions (od, oh, ow).
 * im2col writes rows [r0, r1) of col[rows, out_size] from image x[channels, in...]. */
void cinfer__im2col(const cinfer__im2col_geom *g, const float *x, float *col, int64_t r0,
                    int64_t r1);
/* The adjoint: adds rows [r0, r1) of col into y[channels, in...]. Rows of one channel touch
 * only that channel's plane, so callers split work by whole channels. */
void cinfer__col2im(const cinfer__im2col_geom *g, const float *col, float *y, int64_t r0,
                    int64_t r1);

/* Winograd F(2x2, 3x3) for a 3x3, stride-1, undilated, ungrouped 2-D Conv (winograd.c).
 * x[n, c, h, w], w[m, c, 3, 3], optional bias b[m], y[n, m, oh, ow]; pad_t/pad_l are the
 * top/left pads (the bottom/right ones follow from oh, ow). */
#define WINO_MAX_TW 256 /* widest row of 2x2 tiles (output width <= 512): stack buffers */

typedef struct cinfer__wino_geom {
    int64_t n, c, m, h, w, oh, ow, pad_t, pad_l;
} cinfer__wino_geom;

/* Scratch (floats) one call needs: transformed weights, one image's transformed input and
 * the 16 GEMM outputs. */
size_t cinfer__wino_scratch_floats(const cinfer__wino_geom *g);
void cinfer__wino_conv(cinfer__pool *pool, const cinfer__wino_geom *g, const float *x,
                       const float *w, const float *b, float *y, float *scratch);

#endif
