/* Geometry that an op definition computes once for every backend: Pad's per-axis amounts and
 * Resize's output sizes and coordinate mapping. */
#ifndef CINFER_OPS_GEOMETRY_H
#define CINFER_OPS_GEOMETRY_H

#include "ops/op.h"

/* The pad amounts of every axis of a node's data input (rank `rank`), from the attribute
 * (opset < 11) or the pads/axes inputs (opset 11+, whose data must be known). */
cinfer_status cinfer__pad_amounts(const cinfer__node *node, const cinfer_tensor *const *in,
                                  int n_in, int rank, int64_t *begin, int64_t *end,
                                  cinfer__err *err);

/* Output sizes and per-axis scales of a Resize/Upsample node with input x = in[0]; in[] must
 * hold the known scales/sizes. */
cinfer_status cinfer__resize_geometry(const cinfer__node *node, const cinfer_tensor *const *in,
                                      int n_in, int64_t *out_dims, double *scales,
                                      cinfer__err *err);
/* x_original of output indices 0..out_len-1 along one axis (the coordinate transformation). */
void cinfer__resize_coords(const cinfer__node *node, double scale, int64_t in_len,
                           int64_t out_len, double *x_orig);

#endif
