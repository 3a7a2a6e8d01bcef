/* Load-time shape inference on the graph, without run-time shapes: what is known of each
 * value's dimensions (numbers from constants and declared inputs, and which unknown dimensions
 * are equal to which), and of the contents of small integer tensors (the Shape / Gather /
 * Concat arithmetic exporters write; Split's outputs too). Values whose contents come out fully
 * known are folded into constants, so that, for instance, Slice(x, 0, Shape(x)[-1] / 3) gets
 * constant bounds when x's last dimension is a weight's. Private to src/ir and src/runtime. */
#ifndef CINFER_IR_STATIC_DIMS_H
#define CINFER_IR_STATIC_DIMS_H

#include "ir/graph.h"

/* One dimension, or one element of a small integer tensor: a known number (sym == 0) or an
 * unknown one, equal to every other with the same sym (> 0). */
typedef struct cinfer__sdim {
    int64_t v;
    int32_t sym;
} cinfer__sdim;

#define CINFER_SDIMS_MAX_ELEMS 8 /* contents tracked for integer tensors up to this size */

typedef struct cinfer__svalue {
    int rank;                            /* -1: unknown */
    cinfer__sdim dims[CINFER_MAX_RANK];
    int n_elems;                         /* -1: contents not tracked */
    cinfer__sdim elems[CINFER_SDIMS_MAX_ELEMS];
} cinfer__svalue;

/* Per value of the graph when it was inferred (later values: unknown). */
typedef struct cinfer__static_dims {
    cinfer__svalue *v;
    int n_values;
} cinfer__static_dims;

/* Infers every live node in order (the graph is topologically sorted) into g->sdims (replaced),
 * then turns each value whose integer contents are all known into a constant and marks its
 * producer dead. *n_folded counts those values. Ops it does not know give outputs of unknown
 * rank; nothing it concludes depends on a run-time shape. */
cinfer_status cinfer__pass_static_dims(cinfer__graph *g, int *n_folded, cinfer__err *err);

/* What g->sdims knows of value v (NULL when nothing: no table, or a value added later). */
const cinfer__svalue *cinfer__sdims_of(const cinfer__graph *g, int v);

/* True when dim a of value va and dim b of value vb are known to be equal (the same number, or
 * the same unknown). Negative axes count from the end. */
bool cinfer__sdims_same(const cinfer__graph *g, int va, int a, int vb, int b);

/* Dim a of value v when it is a known number, else -1. */
int64_t cinfer__sdims_known(const cinfer__graph *g, int v, int a);

void cinfer__static_dims_free(cinfer__static_dims *sd);

#endif
