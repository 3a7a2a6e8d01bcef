/* Conv / ConvTranspose parsed attributes and output geometry, shared by the op definitions
 * (shape inference) and the backends' kernels (which recompute the same geometry at run). */
#ifndef CINFER_OPS_CONV_H
#define CINFER_OPS_CONV_H

#include <stdbool.h>
#include <stdint.h>

#include "cinfer/cinfer.h"
#include "core/error.h"
#include "ir/graph.h"

#define CINFER_CONV_MAX_SPATIAL 3 /* 1-D, 2-D and 3-D convolutions */

typedef enum cinfer__auto_pad {
    CINFER_PAD_NOTSET = 0,
    CINFER_PAD_SAME_UPPER,
    CINFER_PAD_SAME_LOWER,
    CINFER_PAD_VALID
} cinfer__auto_pad;

/* node->params of Conv and ConvTranspose (flat: freed with cinfer__free). Counts are 0 for
 * absent attributes. */
typedef struct cinfer__conv_params {
    bool transpose;
    cinfer__auto_pad auto_pad;
    int64_t group;
    int n_kernel, n_strides, n_pads, n_dil, n_out_pad, n_out_shape;
    int64_t kernel[CINFER_CONV_MAX_SPATIAL];
    int64_t strides[CINFER_CONV_MAX_SPATIAL];
    int64_t pads[2 * CINFER_CONV_MAX_SPATIAL];
    int64_t dil[CINFER_CONV_MAX_SPATIAL];
    int64_t out_pad[CINFER_CONV_MAX_SPATIAL];
    int64_t out_shape[CINFER_CONV_MAX_SPATIAL + 2]; /* spatial, or (rarely) the full shape */
} cinfer__conv_params;

/* Resolved geometry of one Conv/ConvTranspose call. Spatial arrays are padded at the front
 * to 3 dims (size 1, kernel 1, stride 1, dilation 1, no padding) so kernels need one code
 * path. For ConvTranspose `in` is X's spatial size and `out` Y's; pad_begin/pad_end are the
 * pads cropped from the full transposed output. */
typedef struct cinfer__conv_geom {
    int nd;        /* real spatial dims, 1..3 */
    int64_t n;     /* batch */
    int64_t c, m;  /* input and output channels */
    int64_t group;
    int64_t in[3], out[3], k[3], stride[3], dil[3], pad_begin[3], pad_end[3];
} cinfer__conv_geom;

/* Computes the geometry from the node's params and the X and W shapes; validates them
 * (INVALID_INPUT / INVALID_MODEL / UNSUPPORTED with a message naming the input). */
cinfer_status cinfer__conv_geometry(const cinfer__conv_params *p, const cinfer_tensor *x,
                                    const cinfer_tensor *w, cinfer__conv_geom *g,
                                    cinfer__err *err);

#endif
