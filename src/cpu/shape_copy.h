/* The shape family's CPU copy engine: every layout op (Transpose, Slice, Expand, Tile,
 * DepthToSpace, ...) is one strided gather into a contiguous output, moved by element size so
 * that every dtype works. */
#ifndef CINFER_CPU_SHAPE_COPY_H
#define CINFER_CPU_SHAPE_COPY_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/cpu.h"

/* Tile views a rank-r tensor as 2r axes, so views go beyond CINFER_MAX_RANK. */
#define CINFER__VIEW_RANK 16

/* out[i0, ..., ir-1] (contiguous, row-major over dims) =
 * in[offset + sum_k ik * strides[k]] (element units; strides may be 0 or negative). */
typedef struct cinfer__view {
    int rank;
    int64_t dims[CINFER__VIEW_RANK];
    int64_t strides[CINFER__VIEW_RANK];
    int64_t offset;
} cinfer__view;

/* Copies the view of src into dst; esize is 1, 2, 4 or 8. Parallel over the pool. */
void cinfer__view_copy(cinfer__pool *pool, void *dst, const void *src, size_t esize,
                       const cinfer__view *view);

/* The view that permutes a contiguous tensor: out axis i is in axis perm[i]. */
void cinfer__view_permute(int rank, const int64_t *in_dims, const int *perm, cinfer__view *view);

/* memcpy, split over the pool when large. */
void cinfer__copy_bytes(cinfer__pool *pool, void *dst, const void *src, size_t n);

/* Fills n elements of esize bytes with *value, split over the pool when large. */
void cinfer__fill_bytes(cinfer__pool *pool, void *dst, const void *value, size_t esize,
                        int64_t n);

/* The family's generator kernels, in src/cpu/shape_gen.c (the table is in src/cpu/shape.c). */
cinfer_status cinfer__cpu_shape_range(cinfer__cpu_ctx *ctx);
cinfer_status cinfer__cpu_shape_cos(cinfer__cpu_ctx *ctx);
cinfer_status cinfer__cpu_shape_constant(cinfer__cpu_ctx *ctx);
cinfer_status cinfer__cpu_shape_eyelike(cinfer__cpu_ctx *ctx);
cinfer_status cinfer__cpu_shape_trilu(cinfer__cpu_ctx *ctx);
cinfer_status cinfer__cpu_shape_nonzero(cinfer__cpu_ctx *ctx);

#endif
