/* Geometry that an op definition computes once for every backend: Pad's per-axis amounts,
 * Resize's output sizes and coordinate mapping, pooling windows and reduced axes. */
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

/* Window geometry of a MaxPool/AveragePool/LpPool node for spatial input dims in_sp[n_sp]:
 * kernel, strides, dilations, begin/end pads and output dims, each n_sp long. */
cinfer_status cinfer__pool_window(const cinfer__node *node, int n_sp, const int64_t *in_sp,
                                  int64_t *kernel, int64_t *stride, int64_t *dil,
                                  int64_t *pad_begin, int64_t *pad_end, int64_t *out_sp,
                                  cinfer__err *err);

/* Marks the reduced dimensions of a rank-`rank` input in mask[]. *noop is set when the node is
 * an identity (empty axes with noop_with_empty_axes=1). `axes` is input 1 (may be NULL). */
cinfer_status cinfer__reduce_axes(const cinfer__node *node, int rank, const cinfer_tensor *axes,
                                  bool *mask, bool *noop, cinfer__err *err);

#endif
