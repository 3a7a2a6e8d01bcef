/* Helpers for tests that build small ModelProtos with protobuf-c. Everything is malloc'd so
 * that protobuf_c_message_free_unpacked frees the whole model. Header-only: each test program
 * includes it once. */
#ifndef CINFER_TESTS_MODEL_BUILDER_H
#define CINFER_TESTS_MODEL_BUILDER_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
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

#endif
