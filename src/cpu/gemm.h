/* Helpers of the CPU GEMM-based kernels (linalg, conv): cinfer's packed sgemm, the
 * OpenBLAS-backed sgemm (ConvTranspose, Einsum), the im2col / col2im transforms and Winograd
 * convolution. Private to src/cpu. */
#ifndef CINFER_CPU_GEMM_H
#define CINFER_CPU_GEMM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/threadpool.h"
#include "ir/passes.h"

/* Hand-written loops that vectorize are compiled for AVX-512 and AVX2 as well as the
 * baseline, picked at load time (the build targets plain x86-64). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define CINFER_SIMD_CLONES \
    __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CINFER_SIMD_CLONES
#endif

/* ---- cinfer's packed sgemm (sgemm.c, micro-kernels in sgemm_<isa>.c) ----
 * C[m, n] = A[m, k] B[k, n] over operands packed once into the micro-kernel's panel layout:
 * weights at plan time (prepare), activations per run into scratch.
 * Packed A: panel p holds rows [p*MR, p*MR + w), w = min(MR, m - p*MR), as [k][w], at offset
 *   p*MR*k (so the whole matrix takes m*k floats).
 * Packed B: panel q holds columns [q*NR, q*NR + nc) as [k][wp], wp = nc rounded up to the
 *   vector length VL (zero padded), at offset q*NR*k. */

/* One micro-kernel call: C[0:mr, 0:nr] (=|+=) a[kc][mr] b[kc][wp]. */
typedef struct cinfer__ukr {
    int64_t kc, ldc;
    const float *a, *b;  /* panels, already offset to the first k */
    float *c;
    int mr, nr;          /* 1..MR rows, 1..NR columns */
    int accumulate;      /* 1: C += AB; 0: C = AB + bias_r[i] + bias_c[j] (either may be NULL) */
    int relu;            /* clamp the stored result at 0 */
    const float *bias_r, *bias_c;
} cinfer__ukr;

typedef struct cinfer__sgemm_isa {
    const char *name;
    int mr, nr, vl;
    void (*kernel)(const cinfer__ukr *u);
} cinfer__sgemm_isa;

/* The micro-kernel for this CPU, picked once (CINFER_SGEMM_ISA=avx512|avx2|generic forces a
 * narrower one, for tests). */
const cinfer__sgemm_isa *cinfer__sgemm_isa_get(void);
void cinfer__ukr_avx512(const cinfer__ukr *u);
void cinfer__ukr_avx2(const cinfer__ukr *u);
/* A full 8-row panel of a row-major A (avx512 isa: MR = 8), through 8x8 transposes. */
void cinfer__pack_a8_avx512(const float *a, int64_t lda, int64_t k, float *dst);

/* Packed sizes in floats (upper bounds, fine for scratch). */
int64_t cinfer__pack_a_floats(int64_t m, int64_t k);
int64_t cinfer__pack_b_floats(int64_t k, int64_t n);
/* Packs A[m, k] whose element (i, j) is a[i*rs + j*cs] (so a transposed A is just strides).
 * Panels [p0, p1) only (p1 is clamped to the last panel); the _par forms split all panels
 * over the pool. */
void cinfer__pack_a(const float *a, int64_t rs, int64_t cs, int64_t m, int64_t k, float *dst,
                    int64_t p0, int64_t p1);
void cinfer__pack_a_par(cinfer__pool *pool, const float *a, int64_t rs, int64_t cs, int64_t m,
                        int64_t k, float *dst);
/* Packs B[k, n] whose element (i, j) is b[i*rs + j*cs]; panels [q0, q1). */
void cinfer__pack_b(const float *b, int64_t rs, int64_t cs, int64_t k, int64_t n, float *dst,
                    int64_t q0, int64_t q1);
void cinfer__pack_b_par(cinfer__pool *pool, const float *b, int64_t rs, int64_t cs, int64_t k,
                        int64_t n, float *dst);
/* Zeroes row `row` of the last panel's padding columns (n up to a multiple of VL). */
void cinfer__pack_b_zero_pad(float *dst, int64_t k, int64_t n, int64_t row);

/* Packs rows [k0, k0 + kc) x columns [n0, n0 + nc) of batch bi's B into dst, laid out as
 * cinfer__pack_b lays out a [kc, nc] matrix. */
typedef void (*cinfer__pack_b_fn)(void *ctx, int64_t bi, int64_t k0, int64_t kc, int64_t n0,
                                  int64_t nc, float *dst);

/* `batch` GEMMs C_i[m, n] = A_i B_i (+ biases, or += C_i) over packed operands; a stride of 0
 * shares that operand across the batch. B is either packed whole (b) or packed block by block
 * by pack_b into b_scratch (cinfer__gemm_b_scratch_floats(threads) floats), which keeps
 * each block in cache (im2col). Parallel over the pool when the work is large enough. */
typedef struct cinfer__gemm_args {
    int64_t m, n, k, batch;
    const float *a, *b;       /* packed */
    int64_t a_stride, b_stride;
    float *c;
    int64_t ldc, c_stride;
    const float *bias_r;      /* [m] per row, or NULL */
    const float *bias_c;      /* [n] per column, or NULL */
    bool accumulate;          /* C += AB (biases ignored) */
    bool relu;
    /* Called on each finished block of C (rows x cols at c, row stride ldc) while it is still
     * in cache, for activations the micro-kernel does not apply itself. NULL: none. */
    void (*epilogue)(const void *ctx, float *c, int64_t ldc, int64_t rows, int64_t cols);
    const void *epilogue_ctx;
    cinfer__pack_b_fn pack_b; /* non-NULL: B packed per block (b unused) */
    void *pack_ctx;
    float *b_scratch;
} cinfer__gemm_args;
int64_t cinfer__gemm_b_scratch_floats(int threads);
void cinfer__gemm_packed(cinfer__pool *pool, const cinfer__gemm_args *g);

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

/* im2col straight into sgemm's packed-B layout: rows [k0, k0 + kc) x columns [n0, n0 + nc)
 * of the [rows, out_size] column matrix, laid out as cinfer__pack_b lays out a [kc, nc]
 * matrix. */
void cinfer__im2col_packed(const cinfer__im2col_geom *g, const float *x, float *dst, int64_t k0,
                           int64_t kc, int64_t n0, int64_t nc);
/* The same for the avx512 isa (NR = 48) and a W stride of 1 or 2 (sgemm_xform_avx512.c). */
void cinfer__im2col_packed_avx512(const cinfer__im2col_geom *g, const float *x, float *dst,
                                  int64_t k0, int64_t kc, int64_t n0, int64_t nc);

/* Winograd F(2x2, 3x3) for a 3x3, stride-1, undilated, ungrouped 2-D Conv (winograd.c).
 * x[n, c, h, w], w[m, c, 3, 3], optional bias b[m], y[n, m, oh, ow]; pad_t/pad_l are the
 * top/left pads (the bottom/right ones follow from oh, ow). */
#define WINO_MAX_TW 256 /* widest row of 2x2 tiles (output width <= 512): stack buffers */

typedef struct cinfer__wino_geom {
    int64_t n, c, m, h, w, oh, ow, pad_t, pad_l;
    bool relu; /* clamp the outputs at 0 (a Relu fused into the Conv) */
} cinfer__wino_geom;

/* What the per-unit transforms of one pass see: V (16 packed-B [C x cols] matrices, vst
 * apart) and O (16 [M x cols] matrices, ost apart), tiles per image, tiles per row. */
typedef struct cinfer__wino_io {
    const cinfer__wino_geom *g;
    float *v;
    int64_t vst, ost, tiles, tw, cols, nr;
} cinfer__wino_io;
/* AVX-512 transforms (sgemm_xform_avx512.c): one channel c of one image into V columns from
 * col0; one output channel from its O row (o: O + m*cols + image*tiles) into out. */
void cinfer__wino_in_avx512(const cinfer__wino_io *io, const float *img, int64_t c,
                            int64_t col0);
void cinfer__wino_out_avx512(const cinfer__wino_io *io, const float *o, float bias_v,
                             float *out);

/* Floats of the transformed filters (16 packed [M x C] matrices). */
size_t cinfer__wino_filter_floats(const cinfer__wino_geom *g);
/* Transforms the filters w[m, c, 3, 3] into u (cinfer__wino_filter_floats). */
void cinfer__wino_filters(cinfer__pool *pool, const cinfer__wino_geom *g, const float *w,
                          float *u);
/* Scratch (floats) one run needs: one pass's transformed inputs and the 16 GEMM outputs. */
size_t cinfer__wino_scratch_floats(const cinfer__wino_geom *g);
void cinfer__wino_conv(cinfer__pool *pool, const cinfer__wino_geom *g, const float *x,
                       const float *u, const float *b, float *y, float *scratch);

#endif
