/* Helpers for tests that build small ModelProtos with protobuf-c. Everything is malloc'd so
 * that protobuf_c_message_free_unpacked frees the whole model. Header-only: each test program
 * includes it once. */
#ifndef CINFER_TESTS_MODEL_BUILDER_H
#define CINFER_TESTS_MODEL_BUILDER_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "onnx.pb-c.h"

#define APPEND(arr, n, x)                                                   \
    do {                                                                    \
        (arr) = realloc((arr), ((n) + 1) * sizeof *(arr));                  \
        ck_assert_ptr_nonnull(arr);                                         \
        (arr)[(n)++] = (x);                                                 \
    } while (0)

static inline void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    ck_assert_ptr_nonnull(p);
    return p;
}

static inline char *xstr(const char *s) {
    char *d = strdup(s);
    ck_assert_ptr_nonnull(d);
    return d;
}

static inline void add_opset(Onnx__ModelProto *m, const char *domain, int64_t version) {
    Onnx__OperatorSetIdProto *os = xcalloc(1, sizeof *os);
    onnx__operator_set_id_proto__init(os);
    os->domain = xstr(domain);
    os->has_version = 1;
    os->version = version;
    APPEND(m->opset_import, m->n_opset_import, os);
}

/* An empty IR-8 model with graph "g" importing the default domain at `opset` (0: none). */
static inline Onnx__ModelProto *model_new(int64_t opset) {
    Onnx__ModelProto *m = xcalloc(1, sizeof *m);
    onnx__model_proto__init(m);
    m->has_ir_version = 1;
    m->ir_version = 8;
    m->graph = xcalloc(1, sizeof *m->graph);
    onnx__graph_proto__init(m->graph);
    m->graph->name = xstr("g");
    if (opset) add_opset(m, "", opset);
    return m;
}

/* A value info of tensor type `elem` with no shape yet; *tt is its tensor type. */
static inline Onnx__ValueInfoProto *vinfo_tensor(const char *name, int elem,
                                                 Onnx__TypeProto__Tensor **tt_out) {
    Onnx__ValueInfoProto *v = xcalloc(1, sizeof *v);
    onnx__value_info_proto__init(v);
    v->name = xstr(name);
    v->type = xcalloc(1, sizeof *v->type);
    onnx__type_proto__init(v->type);
    v->type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    Onnx__TypeProto__Tensor *tt = xcalloc(1, sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = elem;
    v->type->tensor_type = tt;
    *tt_out = tt;
    return v;
}

/* A tensor value info from a spec like "batch,seq,8": a number is a fixed dim, a name a
 * dim_param, "?" a dim with neither. spec NULL: no shape at all (outputs). */
static inline Onnx__ValueInfoProto *vinfo_spec(const char *name, int elem, const char *spec) {
    Onnx__TypeProto__Tensor *tt;
    Onnx__ValueInfoProto *v = vinfo_tensor(name, elem, &tt);
    if (!spec) return v;
    tt->shape = xcalloc(1, sizeof *tt->shape);
    onnx__tensor_shape_proto__init(tt->shape);
    char *copy = xstr(spec), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        Onnx__TensorShapeProto__Dimension *d = xcalloc(1, sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        if (tok[0] >= '0' && tok[0] <= '9') {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = atoll(tok);
        } else if (strcmp(tok, "?")) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = xstr(tok);
        }
        APPEND(tt->shape->dim, tt->shape->n_dim, d);
    }
    free(copy);
    return v;
}

#endif
