/* The graph IR: values (named tensors), nodes (op calls) and attributes, independent of ONNX's
 * protobuf types. The importer builds it; passes rewrite it; the planner specializes it. */
#ifndef CINFER_IR_GRAPH_H
#define CINFER_IR_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "cinfer/cinfer.h"
#include "core/error.h"

struct cinfer__op_def;

/* Attribute types, numbered as ONNX's AttributeProto.AttributeType. */
typedef enum cinfer__attr_type {
    CINFER_ATTR_UNDEFINED = 0,
    CINFER_ATTR_FLOAT = 1,
    CINFER_ATTR_INT = 2,
    CINFER_ATTR_STRING = 3,
    CINFER_ATTR_TENSOR = 4,
    CINFER_ATTR_GRAPH = 5,
    CINFER_ATTR_FLOATS = 6,
    CINFER_ATTR_INTS = 7,
    CINFER_ATTR_STRINGS = 8,
    CINFER_ATTR_TENSORS = 9,
    CINFER_ATTR_GRAPHS = 10,
    CINFER_ATTR_SPARSE_TENSOR = 11,
    CINFER_ATTR_SPARSE_TENSORS = 12,
    CINFER_ATTR_TYPE_PROTO = 13,
    CINFER_ATTR_TYPE_PROTOS = 14
} cinfer__attr_type;

typedef struct cinfer__attr {
    char *name;
    cinfer__attr_type type;
    int64_t i;
    float f;
    char *s;              /* STRING: NUL-terminated copy (s_len bytes before the NUL) */
    size_t s_len;
    int64_t *ints;
    float *floats;
    char **strings;
    size_t count;         /* number of entries of ints / floats / strings / tensors */
    cinfer_tensor *t;     /* TENSOR: one; TENSORS: `count`. Data owned (aligned alloc). */
} cinfer__attr;

/* One named tensor of the graph. Index into graph->values. */
typedef struct cinfer__value {
    char *name;
    /* Declared type (graph inputs/outputs/value_info); dtype 0 and rank -1 when unknown. */
    cinfer_dtype dtype;
    int rank;
    int64_t dims[CINFER_MAX_RANK];   /* -1 where symbolic or unknown */
    char *dim_names[CINFER_MAX_RANK]; /* the symbol (dim_param), or NULL */
    /* A known value (initializer, Constant node, or a load-time fold). Owned; data aligned. */
    cinfer_tensor *constant;
    int producer;   /* node index that writes it, -1 for graph inputs and constants */
    bool is_input;  /* a graph input the caller feeds */
    bool is_output; /* a graph output */
} cinfer__value;

typedef struct cinfer__node {
    char *name;     /* never NULL: the importer names anonymous nodes "<op_type>_<index>" */
    char *op_type;
    char *domain;   /* "" for the default ONNX domain */
    int opset;      /* the opset version imported for this node's domain */
    int n_in, n_out;
    int *in;        /* value indices; -1 for an omitted optional input */
    int *out;       /* value indices; -1 for an omitted optional output */
    int n_attrs;
    cinfer__attr *attrs;
    const struct cinfer__op_def *def; /* resolved by cinfer__graph_resolve_ops */
    void *params;   /* parsed attributes, owned (freed with cinfer__free), op specific */
    bool dead;      /* removed by a pass; skipped everywhere, freed with the graph */
} cinfer__node;

typedef struct cinfer__graph {
    char *name;
    cinfer__value *values;
    int n_values, cap_values;
    cinfer__node *nodes;
    int n_nodes, cap_nodes;
    int *inputs, n_inputs;   /* graph inputs the caller feeds (initializers excluded) */
    int *outputs, n_outputs;
    int opset;               /* default-domain opset version */
    struct cinfer__name_map *names; /* value name -> index */
    struct cinfer__static_dims *sdims; /* load-time shape knowledge (static_dims.h) or NULL */
} cinfer__graph;

cinfer_status cinfer__graph_create(cinfer__graph **out, cinfer__err *err);
void cinfer__graph_destroy(cinfer__graph *g);

/* Finds a value by name; -1 if absent. */
int cinfer__graph_find(const cinfer__graph *g, const char *name);
/* Finds or adds a value with this name; returns its index or -1 on allocation failure. */
int cinfer__graph_value(cinfer__graph *g, const char *name);
/* Adds a node (copying op_type/domain/name; inputs/outputs by value index). Returns its index
 * or -1 on allocation failure. Attributes are appended with cinfer__node_add_attr. */
int cinfer__graph_add_node(cinfer__graph *g, const char *name, const char *op_type,
                           const char *domain, int n_in, const int *in, int n_out,
                           const int *out);
/* Takes ownership of the attribute's heap members. */
cinfer_status cinfer__node_add_attr(cinfer__node *node, cinfer__attr *attr, cinfer__err *err);
void cinfer__attr_free(cinfer__attr *a);
/* Takes ownership of t (a heap-allocated tensor with aligned data). */
void cinfer__value_set_constant(cinfer__value *v, cinfer_tensor *t);
/* Frees a heap tensor and its data. Accepts NULL. */
void cinfer__tensor_destroy(cinfer_tensor *t);

/* Sorts nodes topologically (the ONNX file may list them in any order), sets producers,
 * and checks that every consumed value is produced, fed or constant, exactly once. */
cinfer_status cinfer__graph_sort(cinfer__graph *g, cinfer__err *err);
/* Looks up every node's op definition for its domain and opset and runs its attribute check.
 * Unsupported op, opset or attribute = CINFER_UNSUPPORTED naming the node. */
cinfer_status cinfer__graph_resolve_ops(cinfer__graph *g, cinfer__err *err);
/* The same for one node (again after a pass rewrote it: its params are parsed anew). */
cinfer_status cinfer__node_resolve(cinfer__node *n, cinfer__err *err);

/* Attribute accessors (NULL / default when absent). */
const cinfer__attr *cinfer__node_attr(const cinfer__node *n, const char *name);
int64_t cinfer__attr_int(const cinfer__node *n, const char *name, int64_t dflt);
float cinfer__attr_float(const cinfer__node *n, const char *name, float dflt);
const char *cinfer__attr_string(const cinfer__node *n, const char *name, const char *dflt);
/* Returns the ints and sets *count, or NULL (count 0) when absent. */
const int64_t *cinfer__attr_ints(const cinfer__node *n, const char *name, size_t *count);
const float *cinfer__attr_floats(const cinfer__node *n, const char *name, size_t *count);

/* Number of live (not dead) nodes. */
int cinfer__graph_live_nodes(const cinfer__graph *g);

#endif
