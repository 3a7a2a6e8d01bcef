/* Inside the CUDA module: the per-op dispatch table and small readers of the core's node,
 * attribute and tensor structs (the module links no libcinfer function, so these are inline). */
#ifndef CINFER_CUDA_MODULE_IMPL_H
#define CINFER_CUDA_MODULE_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/module.h"

/* Most inputs or outputs a GPU op takes (Concat with more goes to the CPU). */
#define CUDA_OP_MAX_IO 16

int cinfer_cuda_probe(int index, char *name, size_t name_len, char *why, size_t why_len);

/* A prepared step: the node's shapes (data pointers cleared) and the op's own state. */
typedef struct cuda_step {
    const struct cuda_op *op;
    const cinfer__node *node;
    int n_in, n_out;
    cinfer_tensor in[CUDA_OP_MAX_IO];
    cinfer_tensor out[CUDA_OP_MAX_IO];
    bool has_in[CUDA_OP_MAX_IO], has_out[CUDA_OP_MAX_IO];
    void *priv; /* op->prepare's, released with op->release */
    /* Half mode (the op's half_io, precision FP16/BF16): the op sees every float activation in
     * `half` (FLOAT16 or BFLOAT16). A slot whose storage is float anyway (the value comes from,
     * or goes to, a float consumer) goes through a 16-bit buffer the step owns: converted
     * before the op reads it (conv_in) or after it writes it (conv_out). */
    cinfer_dtype half;  /* 0 = not in half mode */
    void *conv_in[CUDA_OP_MAX_IO], *conv_out[CUDA_OP_MAX_IO];
    /* Channels last (docs/cuda-backend.md): in half mode an op with a layout (cuda_op.layout)
     * runs on NHWC 4-D activations when any of its 4-D slots is stored NHWC (nhwc); the op's
     * tensors keep their NCHW dims either way. Per slot, how its value is stored (lay_*: a
     * CINFER_CUDA_NCHW / NHWC) and in which dtype (store_*): a 4-D slot stored in the other
     * layout also goes through conv_in / conv_out, converted on the way. */
    bool nhwc;
    unsigned char lay_in[CUDA_OP_MAX_IO], lay_out[CUDA_OP_MAX_IO];
    cinfer_dtype store_in[CUDA_OP_MAX_IO], store_out[CUDA_OP_MAX_IO];
} cuda_step;

/* cuda_op.layout: what an op does with channels-last storage in half mode. */
enum {
    CUDA_OP_NCHW = 0,  /* NCHW only */
    CUDA_OP_EITHER,    /* runs on either layout (its 4-D activations all alike) */
    CUDA_OP_NHWC,      /* runs NHWC whenever a slot is stored so, converting the others */
    CUDA_OP_POINTWISE, /* EITHER when every input has the output's shape or one element */
    CUDA_OP_BROADCAST, /* EITHER when the output is 4-D and every input is 4-D (stored like
                          the output) or broadcasts with the same bytes in both layouts
                          ([C, 1, 1], [N, C, 1, 1], [W], a scalar); channels last, the op
                          then works on every operand through cuda_nhwc_view */
    CUDA_OP_AXIS,      /* EITHER when the output and every input are 4-D; channels last, the
                          op works on cuda_nhwc_view's of them with its axis through
                          cuda_nhwc_axis (Concat) */
};

/* Where NCHW axis a of a 4-D tensor lies in its NHWC order (cuda_nhwc_view's dims). */
static inline int cuda_nhwc_axis(int a) {
    static const int at[4] = {0, 3, 1, 2};
    return a >= 0 && a < 4 ? at[a] : a;
}

/* One GPU op. supports: static checks only (shapes, dtypes, attributes; `why` on refusal).
 * prepare (NULL = nothing): library descriptors and algorithms for the step's shapes, and any
 * parameter read from constant inputs (n->in[i]->data is host memory then). run: device
 * pointers, launch on ctx->compute only.
 *
 * half_io (docs/cuda-backend.md, "Half activations"): when the step's precision is FP16 or
 * BF16, the op takes and produces every float ACTIVATION in that 16-bit type: supports,
 * prepare and run see those slots as CINFER_DTYPE_FLOAT16 / BFLOAT16 tensors whose device
 * memory holds 16-bit values, computing inside in fp32 (accumulations, statistics) and
 * rounding once on store. Constant inputs (n->in[i]->data != NULL: weights, biases, scales)
 * stay FLOAT. module_api.c converts at the region's edges, so an op never sees a float
 * activation in half mode; ops without half_io see float as always. */
typedef struct cuda_op {
    const char *op_type;
    const char *domain;
    cinfer_status (*supports)(const cinfer_cuda_node *n, char *why);
    cinfer_status (*prepare)(cinfer_cuda_ctx *ctx, const cinfer_cuda_node *n, cuda_step *s,
                             cinfer_cuda_err *err);
    cinfer_status (*run)(cinfer_cuda_ctx *ctx, cuda_step *s, const void *const *in,
                         void *const *out, cinfer_cuda_err *err);
    void (*release)(void *priv);
    bool half_io;
    unsigned char layout; /* CUDA_OP_* (0: NCHW only) */
} cuda_op;

/* Each family file defines one table, terminated by op_type == NULL. */
extern const cuda_op cinfer_cuda_ops_linalg[];
extern const cuda_op cinfer_cuda_ops_conv[];
extern const cuda_op cinfer_cuda_ops_elementwise[];
extern const cuda_op cinfer_cuda_ops_misc[];
extern const cuda_op cinfer_cuda_ops_resize[];
extern const cuda_op cinfer_cuda_ops_fused[];
extern const cuda_op cinfer_cuda_ops_chain[];

/* A 4-D tensor whose NCHW and NHWC bytes differ (C > 1 and H*W > 1): the slots channels last
 * concerns. */
static inline bool cuda_has_layout(const cinfer_tensor *t) {
    return t && t->rank == 4 && t->dims[1] > 1 && t->dims[2] * t->dims[3] > 1;
}

/* An operand of a broadcasting op that runs channels last (CUDA_OP_BROADCAST), as the op sees
 * it: dims left-padded with ones to rank 4, then in NHWC order. Broadcasting pairs the same
 * elements as over the NCHW dims, and the view's row-major order is the NHWC-stored bytes (or,
 * for an operand whose C or H*W is 1, its own bytes, which are the same in both orders). */
static inline cinfer_tensor cuda_nhwc_view(const cinfer_tensor *t) {
    cinfer_tensor v = *t;
    int64_t d[4] = {1, 1, 1, 1};
    for (int i = 0; i < t->rank && t->rank <= 4; i++) d[4 - t->rank + i] = t->dims[i];
    v.rank = 4;
    v.dims[0] = d[0], v.dims[1] = d[2], v.dims[2] = d[3], v.dims[3] = d[1];
    return v;
}

/* Writes a refusal reason and returns CINFER_UNSUPPORTED. */
static inline cinfer_status cuda_no(char *why, const char *fmt, const char *arg) {
    snprintf(why, CINFER_CUDA_MSG_LEN, fmt, arg);
    return CINFER_UNSUPPORTED;
}

/* ---- Attributes: walked from node->attrs (the core's accessors live in libcinfer) ---- */

static inline const cinfer__attr *cuda_attr(const cinfer__node *n, const char *name) {
    for (int i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
    return NULL;
}
static inline int64_t cuda_attr_int(const cinfer__node *n, const char *name, int64_t dflt) {
    const cinfer__attr *a = cuda_attr(n, name);
    return a && a->type == CINFER_ATTR_INT ? a->i : dflt;
}
/* A FLOAT attribute, or an INT one as a float (onnx.helper writes alpha=2 as an int; the core's
 * cinfer__attr_float reads both, and the GPU must read what the CPU reads). */
static inline float cuda_attr_float(const cinfer__node *n, const char *name, float dflt) {
    const cinfer__attr *a = cuda_attr(n, name);
    return !a ? dflt : a->type == CINFER_ATTR_FLOAT ? a->f
                     : a->type == CINFER_ATTR_INT   ? (float)a->i : dflt;
}
static inline const char *cuda_attr_str(const cinfer__node *n, const char *name,
                                        const char *dflt) {
    const cinfer__attr *a = cuda_attr(n, name);
    return a && a->type == CINFER_ATTR_STRING ? a->s : dflt;
}
/* A Conv or pool node's auto_pad: one of these, or -1 for a value ONNX does not define (an
 * empty string reads as NOTSET, as on the CPU). */
enum { CUDA_PAD_NOTSET, CUDA_PAD_VALID, CUDA_PAD_SAME_UPPER, CUDA_PAD_SAME_LOWER };
static inline int cuda_auto_pad(const cinfer__node *n) {
    const char *ap = cuda_attr_str(n, "auto_pad", "NOTSET");
    return !*ap || !strcmp(ap, "NOTSET") ? CUDA_PAD_NOTSET
           : !strcmp(ap, "VALID")        ? CUDA_PAD_VALID
           : !strcmp(ap, "SAME_UPPER")   ? CUDA_PAD_SAME_UPPER
           : !strcmp(ap, "SAME_LOWER")   ? CUDA_PAD_SAME_LOWER : -1;
}
/* SAME_* pads of one axis as the CPU derives them (src/ops/conv.c, src/ops/pool.c):
 * ceil(in / stride) outputs, the odd pad at the end for SAME_UPPER, at the start for LOWER. */
static inline void cuda_same_pads(int mode, int64_t in, int64_t k, int64_t stride,
                                  int64_t dil, int64_t *pb, int64_t *pe) {
    if (stride < 1) stride = 1;
    int64_t out = (in + stride - 1) / stride, total = (out - 1) * stride + dil * (k - 1) + 1 - in;
    if (total < 0) total = 0;
    *pb = mode == CUDA_PAD_SAME_UPPER ? total / 2 : total - total / 2;
    *pe = total - *pb;
}
/* The ints of an INTS attribute and their count, or NULL (count 0). */
static inline const int64_t *cuda_attr_ints(const cinfer__node *n, const char *name,
                                            size_t *count) {
    const cinfer__attr *a = cuda_attr(n, name);
    *count = a && a->type == CINFER_ATTR_INTS ? a->count : 0;
    return *count ? a->ints : NULL;
}

/* ---- Tensors ---- */

static inline int64_t cuda_numel(const cinfer_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->rank; d++) n *= t->dims[d];
    return n;
}
static inline size_t cuda_dtype_size(cinfer_dtype dt) {
    switch (dt) {
    case CINFER_DTYPE_FLOAT: case CINFER_DTYPE_INT32: case CINFER_DTYPE_UINT32: return 4;
    case CINFER_DTYPE_INT64: case CINFER_DTYPE_UINT64: case CINFER_DTYPE_DOUBLE: return 8;
    case CINFER_DTYPE_BOOL: case CINFER_DTYPE_UINT8: case CINFER_DTYPE_INT8: return 1;
    case CINFER_DTYPE_FLOAT16: case CINFER_DTYPE_BFLOAT16: case CINFER_DTYPE_INT16:
    case CINFER_DTYPE_UINT16: return 2;
    default: return 0;
    }
}
static inline const char *cuda_dtype_name(cinfer_dtype dt) {
    switch (dt) {
    case CINFER_DTYPE_FLOAT: return "float32";
    case CINFER_DTYPE_INT64: return "int64";
    case CINFER_DTYPE_INT32: return "int32";
    case CINFER_DTYPE_BOOL: return "bool";
    case CINFER_DTYPE_FLOAT16: return "float16";
    case CINFER_DTYPE_BFLOAT16: return "bfloat16";
    case CINFER_DTYPE_DOUBLE: return "float64";
    default: return "this dtype";
    }
}
/* Normalizes a possibly negative axis; -1 when out of range. */
static inline int cuda_axis(int64_t axis, int rank) {
    if (axis < 0) axis += rank;
    return axis < 0 || axis >= (rank ? rank : 1) ? -1 : (int)axis;
}
/* The input i of a node is present (not an omitted optional one). */
static inline bool cuda_has_in(const cinfer_cuda_node *n, int i) {
    return i < n->n_in && n->in[i] != NULL;
}
/* Every present input and output has dtype dt. */
static inline bool cuda_all_dtype(const cinfer_cuda_node *n, cinfer_dtype dt) {
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] && n->in[i]->dtype != dt) return false;
    for (int i = 0; i < n->n_out; i++)
        if (n->out[i] && n->out[i]->dtype != dt) return false;
    return true;
}
/* Refuses when any present input or output is not float32. */
static inline cinfer_status cuda_need_f32(const cinfer_cuda_node *n, char *why) {
    if (cuda_all_dtype(n, CINFER_DTYPE_FLOAT)) return CINFER_OK;
    return cuda_no(why, "%s: the GPU kernel takes float32 only", n->node->op_type);
}

#endif
