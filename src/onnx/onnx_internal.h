/* Helpers shared by the ONNX importer's files (tensors, attributes, graph); protobuf types stay
 * inside src/onnx/. */
#ifndef CINFER_ONNX_INTERNAL_H
#define CINFER_ONNX_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "ir/graph.h"
#include "onnx.pb-c.h"

/* Room for "node 'x' (Op) attribute 'y'"-style labels used as message prefixes. */
#define CINFER__ONNX_WHAT_LEN 512

/* A protobuf-c allocator over cinfer__malloc, so allocation-failure tests reach unpacking too;
 * `failed` tells an out-of-memory NULL from a corrupt-input NULL. */
typedef struct cinfer__pb_alloc {
    ProtobufCAllocator base;
    bool failed;
} cinfer__pb_alloc;

void cinfer__pb_alloc_init(cinfer__pb_alloc *pa);

/* Maps a TensorProto.DataType number to a cinfer dtype. `what` names the tensor in messages.
 * 0 (undefined) is INVALID_MODEL; string, complex and 8/4-bit types are UNSUPPORTED. */
cinfer_status cinfer__onnx_dtype(int32_t elem_type, const char *what, cinfer_dtype *out,
                                 cinfer__err *err);

/* Fills *t (dtype, rank, dims, 64-byte aligned data, flags 0) from a TensorProto: raw_data,
 * typed fields or external data read relative to base_dir (NULL: external data is an error).
 * `what` ("initializer 'W'") prefixes every message. On failure t->data is NULL. */
cinfer_status cinfer__onnx_tensor(const Onnx__TensorProto *tp, const char *what,
                                  const char *base_dir, cinfer_tensor *t, cinfer__err *err);

/* Converts one AttributeProto of the node labelled `node_what` ("node 'c1' (Conv)") into *out.
 * On failure *out holds nothing to free. */
cinfer_status cinfer__onnx_attr(const Onnx__AttributeProto *ap, const char *node_what,
                                const char *base_dir, cinfer__attr *out, cinfer__err *err);

/* Evaluates a Constant node (value, value_float(s), value_int(s)) into a heap tensor with
 * aligned data (free with cinfer__tensor_destroy). */
cinfer_status cinfer__onnx_constant(const Onnx__NodeProto *np, const char *node_what,
                                    const char *base_dir, cinfer_tensor **out,
                                    cinfer__err *err);

#endif
