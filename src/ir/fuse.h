/* Shared by the fusion passes (fuse*.c): which node writes each value, how many nodes read
 * it, and rewriting a node in place. Private to src/ir. */
#ifndef CINFER_IR_FUSE_H
#define CINFER_IR_FUSE_H

#include "ir/passes.h"

/* Per value: the live node that writes it (-1: none) and its readers (a graph output counts
 * as one more). Rebuilt before each pattern, so a pattern may leave it stale behind it. */
typedef struct cinfer__use_index {
    int *producer;
    int *uses;
    int *consumer; /* a reading node (the only one when uses == 1), -1 if none */
} cinfer__use_index;

cinfer_status cinfer__use_index_build(const cinfer__graph *g, cinfer__use_index *ix,
                                      cinfer__err *err);
void cinfer__use_index_free(cinfer__use_index *ix);

/* The live node writing value v when it is op_type in the default domain with one output
 * read only by one node (so the pattern may swallow it), else -1. */
int cinfer__fuse_sole_producer(const cinfer__graph *g, const cinfer__use_index *ix, int v,
                               const char *op_type);
/* The single live node reading value v (v not a graph output) when it is op_type in the
 * default domain, else -1. */
int cinfer__fuse_sole_consumer(const cinfer__graph *g, const cinfer__use_index *ix, int v,
                               const char *op_type);
/* True when n is op_type in the default domain and alive. */
bool cinfer__fuse_is(const cinfer__node *n, const char *op_type);
/* A float constant the caller cannot feed at run time, or NULL. */
const cinfer_tensor *cinfer__fuse_const_f32(const cinfer__graph *g, int v);
/* True when value v is a one-element float constant within 1e-5 (relative) of x. */
bool cinfer__fuse_scalar_is(const cinfer__graph *g, int v, double x);
/* Value index of the input of binary node n that is not `v` (-1 if neither is v). */
int cinfer__fuse_other_input(const cinfer__node *n, int v);

/* Turns node n into op_type/domain/opset with these inputs and outputs, keeping its name and
 * dropping its attributes (callers add what the new op needs), and resolves it again. */
cinfer_status cinfer__fuse_rewrite(cinfer__node *n, const char *op_type, const char *domain,
                                   int opset, int n_in, const int *in, int n_out, const int *out,
                                   cinfer__err *err);
/* The same keeping the node's attributes (a Conv that becomes FusedConv). */
cinfer_status cinfer__fuse_retype(cinfer__node *n, const char *op_type, const char *domain,
                                  int opset, int n_in, const int *in, int n_out, const int *out,
                                  cinfer__err *err);
cinfer_status cinfer__fuse_attr_string(cinfer__node *n, const char *name, const char *value,
                                       cinfer__err *err);
cinfer_status cinfer__fuse_attr_int(cinfer__node *n, const char *name, int64_t value,
                                    cinfer__err *err);
cinfer_status cinfer__fuse_attr_float(cinfer__node *n, const char *name, float value,
                                      cinfer__err *err);

/* The patterns (each counts what it fused into *count). */
cinfer_status cinfer__fuse_gelu(cinfer__graph *g, int *count, cinfer__err *err);
cinfer_status cinfer__fuse_matmul_bias(cinfer__graph *g, int *count, cinfer__err *err);
cinfer_status cinfer__fuse_conv_add(cinfer__graph *g, int *count, cinfer__err *err);
cinfer_status cinfer__fuse_activation(cinfer__graph *g, int *count, cinfer__err *err);
/* Also counts into *heads the ones that took the head transposes in (packed = 1), and into
 * *rows the ones that also took the Slices of a fused QKV projection (row form). */
cinfer_status cinfer__fuse_attention(cinfer__graph *g, int *count, int *heads, int *rows,
                                     cinfer__err *err);
cinfer_status cinfer__fuse_layernorm(cinfer__graph *g, int *count, cinfer__err *err);
cinfer_status cinfer__fuse_skip_layernorm(cinfer__graph *g, int *count, cinfer__err *err);
cinfer_status cinfer__fuse_chain(cinfer__graph *g, int *count, cinfer__err *err);

#endif
