/* The CPU backend's kernel interface: one run function per op, bound to a node at plan time. */
#ifndef CINFER_CPU_CPU_H
#define CINFER_CPU_CPU_H

#include <stdbool.h>
#include <stddef.h>

#include "core/threadpool.h"
#include "ops/op.h"

/* What a kernel sees when it runs. Shapes were fixed by the op's infer at plan time. */
typedef struct cinfer__cpu_ctx {
    const cinfer__node *node;
    int n_in, n_out;
    const cinfer_tensor *in[CINFER_MAX_IO]; /* NULL for an omitted optional input */
    cinfer_tensor *out[CINFER_MAX_IO];      /* data points into the arena; NULL if omitted */
    cinfer__pool *pool;                     /* parallelize with cinfer__parallel_for */
    void *scratch;                          /* scratch_bytes() bytes, 64-byte aligned */
    const void *state;                      /* what prepare() made for this step, or NULL */
    cinfer__err *err;
} cinfer__cpu_ctx;

typedef struct cinfer__cpu_kernel {
    const char *op_type;
    const char *domain;
    /* Plan time: can this kernel run the node with these input/output types and shapes?
     * (ctx->in/out data may be NULL here.) NULL = yes. Return UNSUPPORTED with a message
     * naming the dtype or attribute otherwise. */
    cinfer_status (*supports)(const cinfer__cpu_ctx *ctx);
    /* Plan time: scratch bytes needed for these shapes. NULL = none. */
    size_t (*scratch_bytes)(const cinfer__cpu_ctx *ctx);
    cinfer_status (*run)(cinfer__cpu_ctx *ctx);
    /* Plan time, once per step: precompute what depends only on constant inputs (packed
     * weights, transformed filters). ctx->in[i]->data is non-NULL exactly for constant inputs.
     * The plan owns *state, hands it to every run as ctx->state and frees it with release().
     * NULL = nothing to prepare. */
    cinfer_status (*prepare)(const cinfer__cpu_ctx *ctx, void **state);
    void (*release)(void *state);
} cinfer__cpu_kernel;

const cinfer__cpu_kernel *cinfer__cpu_find(const char *domain, const char *op_type);

/* Each op family's CPU file defines one table, terminated by op_type == NULL. */
extern const cinfer__cpu_kernel cinfer__cpu_elementwise[];
extern const cinfer__cpu_kernel cinfer__cpu_linalg[];
extern const cinfer__cpu_kernel cinfer__cpu_conv[];
extern const cinfer__cpu_kernel cinfer__cpu_pool[];
extern const cinfer__cpu_kernel cinfer__cpu_norm[];
extern const cinfer__cpu_kernel cinfer__cpu_reduce[];
extern const cinfer__cpu_kernel cinfer__cpu_shape[];
extern const cinfer__cpu_kernel cinfer__cpu_gather[];
extern const cinfer__cpu_kernel cinfer__cpu_resize[];
extern const cinfer__cpu_kernel cinfer__cpu_pad[];
extern const cinfer__cpu_kernel cinfer__cpu_misc[];
extern const cinfer__cpu_kernel cinfer__cpu_attention[];
extern const cinfer__cpu_kernel cinfer__cpu_chain[];

/* Single-threaded sgemm on row-major data (OpenBLAS underneath; cinfer's pool provides the
 * parallelism): C[M,N] = alpha * op(A) op(B) + beta * C. */
void cinfer__sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                   const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                   int64_t ldc);

/* Softmax of one contiguous row of n floats (x == y allowed): the Attention kernel's. */
void cinfer__softmax_row_f32(const float *x, float *y, int64_t n);

/* GELU in place over `rows` rows of `cols` floats, `ldc` apart (erf form, or the tanh
 * approximation): the FusedMatMul epilogue, on the widest vector copy the CPU runs. */
void cinfer__gelu_rows_f32(float *c, int64_t ldc, int64_t rows, int64_t cols, bool tanh_form);

#endif
