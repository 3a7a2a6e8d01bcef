/* Device-neutral op definitions: which ONNX ops and opsets cinfer knows, how their attributes
 * are checked at load time and how output types and shapes follow from the inputs. Backends
 * (src/cpu, src/cuda) supply kernels for these definitions. */
#ifndef CINFER_OPS_OP_H
#define CINFER_OPS_OP_H

#include <stdbool.h>
#include <stdint.h>

#include "cinfer/cinfer.h"
#include "core/error.h"
#include "core/tensor.h"
#include "ir/graph.h"

#define CINFER_MAX_IO 64 /* most inputs or outputs one node may have (Concat, Sum, Split) */

/* Shape inference for one node at plan time, where every input's dtype and concrete shape is
 * known. in[i]->data is non-NULL when that input's value is known (a constant, or folded);
 * ops whose output shape depends on an input's value list that slot in value_inputs, and the
 * planner guarantees those inputs' data is available when infer runs. */
typedef struct cinfer__infer_ctx {
    const cinfer__node *node;
    int n_in, n_out;
    const cinfer_tensor *in[CINFER_MAX_IO]; /* NULL for an omitted optional input */
    cinfer_tensor *out[CINFER_MAX_IO];      /* infer sets dtype, rank, dims; NULL if omitted */
    cinfer__err *err;
} cinfer__infer_ctx;

typedef struct cinfer__op_def {
    const char *op_type;    /* "Conv" */
    const char *domain;     /* "" for ai.onnx */
    int min_opset, max_opset; /* node opset versions this definition accepts */
    int min_in, max_in, min_out, max_out;
    uint64_t value_inputs;  /* bit i: input i's value (not only shape) decides output shapes */
    /* Load-time check of attributes and arity; may store parsed attributes in node->params.
     * NULL = nothing to check beyond arity. Returns UNSUPPORTED/INVALID_MODEL with a message. */
    cinfer_status (*check)(cinfer__node *node, cinfer__err *err);
    /* Plan-time output dtypes and shapes. Required. */
    cinfer_status (*infer)(cinfer__infer_ctx *ctx);
} cinfer__op_def;

/* Looks up the definition for (domain, op_type) whose opset range contains opset. On a miss,
 * *known_type says whether the op type exists at another opset (for the error message). */
const cinfer__op_def *cinfer__op_find(const char *domain, const char *op_type, int opset,
                                      bool *known_type);

/* For docs and inspect: iterate all definitions. Returns NULL past the end. */
const cinfer__op_def *cinfer__op_at(int index);

/* Each op family file defines one table, terminated by an entry with op_type == NULL. */
extern const cinfer__op_def cinfer__ops_elementwise[];
extern const cinfer__op_def cinfer__ops_linalg[];
extern const cinfer__op_def cinfer__ops_conv[];
extern const cinfer__op_def cinfer__ops_pool[];
extern const cinfer__op_def cinfer__ops_norm[];
extern const cinfer__op_def cinfer__ops_reduce[];
extern const cinfer__op_def cinfer__ops_shape[];
extern const cinfer__op_def cinfer__ops_gather[];
extern const cinfer__op_def cinfer__ops_resize[];
extern const cinfer__op_def cinfer__ops_pad[];
extern const cinfer__op_def cinfer__ops_misc[];
extern const cinfer__op_def cinfer__ops_attention[];
extern const cinfer__op_def cinfer__ops_chain[];

/* Helpers for infer functions. */
static inline void cinfer__set_out(cinfer_tensor *t, cinfer_dtype dt, int rank,
                                   const int64_t *dims) {
    t->dtype = dt;
    t->rank = rank;
    for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
}

#endif
