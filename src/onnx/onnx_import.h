/* ONNX import: ModelProto bytes -> graph IR, TensorProto bytes -> tensor. The only code that
 * knows about protobuf. */
#ifndef CINFER_ONNX_IMPORT_H
#define CINFER_ONNX_IMPORT_H

#include <stddef.h>

#include "ir/graph.h"

/* Parses a serialized ModelProto into a new graph: values with declared types and symbolic
 * dims, initializers (raw_data, typed fields, external data) as constants, Constant nodes
 * folded into constants, nodes with attributes and their domain's opset. External data files
 * are read relative to base_dir and must stay inside it (NULL base_dir: external data is an
 * error). Nodes are topologically sorted. Ops are not yet resolved. `model_name` is used in
 * messages. */
cinfer_status cinfer__onnx_import(const void *data, size_t size, const char *base_dir,
                                  cinfer__graph **out, cinfer__err *err);

/* Parses a serialized TensorProto (the input_0.pb files of ONNX test data) into *out with
 * freshly allocated aligned data (free with cinfer__tensor_free_data). *name (may be NULL) gets
 * a heap copy of the tensor's name or NULL. */
cinfer_status cinfer__onnx_read_tensor(const void *data, size_t size, cinfer_tensor *out,
                                       char **name, cinfer__err *err);

/* Reads a whole file into a heap buffer (cinfer__free). */
cinfer_status cinfer__read_file(const char *path, void **data, size_t *size, cinfer__err *err);

#endif
