/* Internals of the misc op family shared by its op definitions (src/ops/misc*.c) and its CPU
 * kernels (src/cpu/misc*.c): Einsum's parsed equation, and the value-dependent ops (Unique,
 * NonMaxSuppression) whose output sizes shape inference and the kernel compute alike. */
#ifndef CINFER_OPS_MISC_H
#define CINFER_OPS_MISC_H

#include <stdbool.h>
#include <stdint.h>

#include "ops/op.h"

/* ---- Einsum ---- */

#define CINFER__EINSUM_MAX_IN 8
#define CINFER__EINSUM_LETTERS 52              /* 'A'..'Z' = 0..25, 'a'..'z' = 26..51 */
#define CINFER__EINSUM_LABELS (CINFER__EINSUM_LETTERS + CINFER_MAX_RANK) /* + ellipsis dims */
#define CINFER__EINSUM_ELLIPSIS (-1)           /* marks "..." in a parsed term */

/* The equation as written, parsed at load time (node->params). */
typedef struct cinfer__einsum_eq {
    int n_in;
    int n_terms[CINFER__EINSUM_MAX_IN];       /* entries in term[i] ("..." counts as one) */
    int8_t term[CINFER__EINSUM_MAX_IN][CINFER_MAX_RANK + 1];
    bool explicit_out;                        /* "->" given */
    int n_out_terms;
    int8_t out_term[CINFER_MAX_RANK + 1];
} cinfer__einsum_eq;

/* The equation resolved for concrete input shapes. Labels 0..51 are letters, 52+e the e-th
 * broadcast ellipsis dimension. Labels are ordered output first, then summed ones. */
typedef struct cinfer__einsum_plan {
    int n_in, n_labels, out_rank, n_sum;
    int label[CINFER__EINSUM_LABELS];          /* loop order: out labels, then summed */
    int64_t size[CINFER__EINSUM_LABELS];       /* by loop position */
    int64_t stride[CINFER__EINSUM_MAX_IN][CINFER__EINSUM_LABELS]; /* elements, by loop position */
    int in_rank[CINFER__EINSUM_MAX_IN];
    int in_label[CINFER__EINSUM_MAX_IN][CINFER_MAX_RANK]; /* label of each input axis */
} cinfer__einsum_plan;

cinfer_status cinfer__einsum_check(cinfer__node *node, cinfer__err *err);
cinfer_status cinfer__einsum_infer(cinfer__infer_ctx *ctx);
/* Resolves eq for the given inputs (shapes only); messages name the offending input. */
cinfer_status cinfer__einsum_resolve(const cinfer__einsum_eq *eq, int n_in,
                                     const cinfer_tensor *const *in, cinfer__einsum_plan *p,
                                     cinfer__err *err);

/* ---- Unique ---- */

/* Unique over x's slices along axis (axis < 0: over the flattened elements). The caller's
 * work buffer holds 3 * n_slices int64. *n_unique receives the count; the optional arrays
 * (NULL to skip) receive, in output order, each entry's first slice index (first, n_unique
 * entries) and count (counts), and for every slice its output position (inverse). */
cinfer_status cinfer__unique(const cinfer_tensor *x, int axis, bool sorted, int64_t *work,
                             int64_t *n_unique, int64_t *first, int64_t *counts,
                             int64_t *inverse, cinfer__err *err);
/* Slices along axis (numel for axis < 0) and elements per slice. */
void cinfer__unique_geometry(const cinfer_tensor *x, int axis, int64_t *n_slices,
                             int64_t *outer, int64_t *inner);
cinfer_status cinfer__unique_infer(cinfer__infer_ctx *ctx);

/* ---- NonMaxSuppression ---- */

/* Selects boxes; in[] are the node's inputs (optional ones NULL). Writes up to *n triples
 * (batch, class, box) into sel when sel is not NULL; *n receives the total. The work buffer
 * holds 2 * boxes-per-batch int64. */
cinfer_status cinfer__nms(const cinfer__node *node, const cinfer_tensor *const *in, int n_in,
                          int64_t *work, int64_t *sel, int64_t *n, cinfer__err *err);
cinfer_status cinfer__nms_infer(cinfer__infer_ctx *ctx);

#endif
