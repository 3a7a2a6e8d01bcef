/* Shape family internals shared by its op definitions (src/ops/shape*.c) and its CPU kernels
 * (src/cpu/shape*.c): the parsed-attribute struct and the plan computations that both the
 * plan-time infer and the run-time kernel need (so they can never disagree). */
#ifndef CINFER_OPS_SHAPE_IMPL_H
#define CINFER_OPS_SHAPE_IMPL_H

#include "ops/op.h"

/* Parsed attributes of every shape-family op (node->params). One flat struct for the family
 * keeps check() simple; each op reads only its own fields. */
typedef struct cinfer__shape_params {
    int64_t axis;        /* Concat, Split, Flatten */
    int64_t allowzero;   /* Reshape */
    int64_t start, end;  /* Shape (has_end: end given) */
    bool has_end;
    int64_t blocksize;   /* DepthToSpace, SpaceToDepth */
    bool crd;            /* DepthToSpace mode CRD (default DCR) */
    int64_t upper;       /* Trilu */
    int64_t k;           /* EyeLike */
    int64_t dtype;       /* EyeLike output dtype, 0 = input's */
    int64_t num_outputs; /* Split-18, 0 when absent */
    /* Integer-list attributes: perm / axes / split / shape (Reshape-1) / starts (Slice-1) in a,
     * ends (Slice-1) in b, axes (Slice-1) in c. has_*: the attribute was present. */
    bool has_a, has_b, has_c;
    int n_a, n_b, n_c;
    int64_t a[CINFER_MAX_IO];
    int64_t b[CINFER_MAX_IO];
    int64_t c[CINFER_MAX_IO];
} cinfer__shape_params;

/* A resolved Slice: for every data axis, the first index, the step and the output count. */
typedef struct cinfer__slice_plan {
    int64_t start[CINFER_MAX_RANK];
    int64_t step[CINFER_MAX_RANK];
    int64_t count[CINFER_MAX_RANK];
} cinfer__slice_plan;

/* Resolves Slice's starts/ends/axes/steps (attributes before opset 10, inputs 1..4 from 10)
 * against data's shape, clamping as the spec says. Inputs must have data. */
cinfer_status cinfer__slice_resolve(const cinfer__node *node, const cinfer_tensor *const *in,
                                    int n_in, cinfer__slice_plan *plan, cinfer__err *err);

/* Transpose's permutation for a tensor of this rank (the attribute, or reversed axes). */
cinfer_status cinfer__transpose_perm(const cinfer__node *node, int rank, int *perm,
                                     cinfer__err *err);

/* Split's part sizes along an axis of extent dim: the split input (may be NULL) or attribute,
 * else n parts of ceil(dim / n) with a smaller last one. */
cinfer_status cinfer__split_sizes(const cinfer__node *node, const cinfer_tensor *split, int n,
                                 int64_t dim, int64_t *sizes, cinfer__err *err);

/* Shape's [start, end) after clamping to [0, rank]. */
void cinfer__shape_range(const cinfer__node *node, int rank, int64_t *start, int64_t *end);

/* Range's element count, from start/limit/delta scalars (which must have data). */
cinfer_status cinfer__range_count(const cinfer_tensor *start, const cinfer_tensor *limit,
                                  const cinfer_tensor *delta, int64_t *count, cinfer__err *err);

/* Whether element i of t is not zero (floats: -0.0 is zero, NaN is not). */
bool cinfer__shape_nonzero_at(const cinfer_tensor *t, int64_t i);

/* The parts of the shape family's op table that live in src/ops/shape_gen.c. */
cinfer_status cinfer__shape_check_slice(cinfer__node *node, cinfer__err *err);
cinfer_status cinfer__shape_infer_slice(cinfer__infer_ctx *ctx);
cinfer_status cinfer__shape_infer_expand(cinfer__infer_ctx *ctx);
cinfer_status cinfer__shape_infer_tile(cinfer__infer_ctx *ctx);
cinfer_status cinfer__shape_infer_range(cinfer__infer_ctx *ctx);
cinfer_status cinfer__shape_check_cos(cinfer__node *node, cinfer__err *err);
cinfer_status cinfer__shape_infer_cos(cinfer__infer_ctx *ctx);
cinfer_status cinfer__shape_check_constant(cinfer__node *node, cinfer__err *err);
cinfer_status cinfer__shape_infer_constant(cinfer__infer_ctx *ctx);
cinfer_status cinfer__shape_check_d2s(cinfer__node *node, cinfer__err *err);
cinfer_status cinfer__shape_infer_d2s(cinfer__infer_ctx *ctx);
cinfer_status cinfer__shape_infer_s2d(cinfer__infer_ctx *ctx);
cinfer_status cinfer__shape_check_eyelike(cinfer__node *node, cinfer__err *err);
cinfer_status cinfer__shape_infer_eyelike(cinfer__infer_ctx *ctx);
cinfer_status cinfer__shape_check_trilu(cinfer__node *node, cinfer__err *err);
cinfer_status cinfer__shape_infer_trilu(cinfer__infer_ctx *ctx);
cinfer_status cinfer__shape_infer_nonzero(cinfer__infer_ctx *ctx);

/* Shared helpers of the family's op files. */
/* Allocates node->params (zeroed) and returns it, or NULL after writing an OOM error. */
cinfer__shape_params *cinfer__shape_params_new(cinfer__node *node, cinfer__err *err);
/* The error for a node whose check() never ran (node->params is NULL). */
cinfer_status cinfer__shape_unchecked(const cinfer__infer_ctx *ctx);
/* Reads a 0-D or 1-D integer tensor into v (at most max values); `what` names it in errors. */
cinfer_status cinfer__shape_read_ints(const cinfer_tensor *t, int64_t *v, int max, int *n,
                                      const char *what, cinfer__err *err);
/* Copies an INTS attribute into v (at most max); *present says whether it was there. */
cinfer_status cinfer__shape_attr_ints(const cinfer__node *node, const char *name, int64_t *v,
                                      int max, int *n, bool *present, cinfer__err *err);
/* OK when dt is a fixed-size dtype the byte-copy kernels can move. */
cinfer_status cinfer__shape_check_dtype(cinfer_dtype dt, const char *what, cinfer__err *err);

#endif
