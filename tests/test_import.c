/* Unit tests of the ONNX importer: real ONNX test models, tiny models built here with
 * protobuf-c, external data confinement, corrupt input and allocation failures. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/tensor.h"
#include "model_builder.h"
#include "onnx.pb-c.h"
#include "onnx/onnx_import.h"

#ifdef CINFER_TEST_DATA
#define TESTDATA CINFER_TEST_DATA
#else
#define TESTDATA "/usr/share/libonnx-testdata/data"
#endif

/* ---- building ModelProtos with protobuf-c (everything malloc'd: free_unpacked frees it) ---- */

/* A tensor value info; dims < 0 become dim_param "N<i>" when params is set, else unset. */
static Onnx__ValueInfoProto *vinfo(const char *name, int elem, int rank, const int64_t *dims,
                                   bool params) {
    Onnx__TypeProto__Tensor *tt;
    Onnx__ValueInfoProto *v = vinfo_tensor(name, elem, &tt);
    if (rank < 0) return v;
    tt->shape = xcalloc(1, sizeof *tt->shape);
    onnx__tensor_shape_proto__init(tt->shape);
    for (int i = 0; i < rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = xcalloc(1, sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        if (dims[i] >= 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i];
        } else if (params) {
            char buf[16];
            snprintf(buf, sizeof buf, "N%d", i);
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = xstr(buf);
        }
        APPEND(tt->shape->dim, tt->shape->n_dim, d);
    }
    return v;
}

static Onnx__TensorProto *tensor_new(const char *name, int dtype, int rank, const int64_t *dims) {
    Onnx__TensorProto *t = xcalloc(1, sizeof *t);
    onnx__tensor_proto__init(t);
    if (name) t->name = xstr(name);
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = (size_t)rank;
    t->dims = xcalloc((size_t)rank, sizeof(int64_t));
    if (rank) memcpy(t->dims, dims, (size_t)rank * sizeof(int64_t));
    return t;
}

static void tensor_raw(Onnx__TensorProto *t, const void *data, size_t len) {
    t->has_raw_data = 1;
    t->raw_data.len = len;
    t->raw_data.data = xcalloc(len, 1);
    memcpy(t->raw_data.data, data, len);
}

static Onnx__TensorProto *f32_raw(const char *name, int rank, const int64_t *dims,
                                  const float *vals, size_t n) {
    Onnx__TensorProto *t = tensor_new(name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, rank, dims);
    tensor_raw(t, vals, n * sizeof(float));
    return t;
}

static void add_init(Onnx__ModelProto *m, Onnx__TensorProto *t) {
    APPEND(m->graph->initializer, m->graph->n_initializer, t);
}

static void add_input(Onnx__ModelProto *m, Onnx__ValueInfoProto *v) {
    APPEND(m->graph->input, m->graph->n_input, v);
}

static void add_output(Onnx__ModelProto *m, Onnx__ValueInfoProto *v) {
    APPEND(m->graph->output, m->graph->n_output, v);
}

/* ins/outs: NULL-terminated name lists. */
static Onnx__NodeProto *add_node(Onnx__ModelProto *m, const char *name, const char *op,
                                 const char *const *ins, const char *const *outs) {
    Onnx__NodeProto *n = xcalloc(1, sizeof *n);
    onnx__node_proto__init(n);
    if (name) n->name = xstr(name);
    n->op_type = xstr(op);
    for (; ins && *ins; ins++) APPEND(n->input, n->n_input, xstr(*ins));
    for (; outs && *outs; outs++) APPEND(n->output, n->n_output, xstr(*outs));
    APPEND(m->graph->node, m->graph->n_node, n);
    return n;
}

static Onnx__AttributeProto *add_attr(Onnx__NodeProto *n, const char *name, int type) {
    Onnx__AttributeProto *a = xcalloc(1, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = xstr(name);
    a->has_type = 1;
    a->type = (Onnx__AttributeProto__AttributeType)type;
    APPEND(n->attribute, n->n_attribute, a);
    return a;
}

static void attr_ints(Onnx__AttributeProto *a, const int64_t *v, size_t n) {
    a->n_ints = n;
    a->ints = xcalloc(n, sizeof *v);
    memcpy(a->ints, v, n * sizeof *v);
}

static void attr_floats(Onnx__AttributeProto *a, const float *v, size_t n) {
    a->n_floats = n;
    a->floats = xcalloc(n, sizeof *v);
    memcpy(a->floats, v, n * sizeof *v);
}

static uint8_t *pack_free(Onnx__ModelProto *m, size_t *len) {
    *len = onnx__model_proto__get_packed_size(m);
    uint8_t *buf = xcalloc(*len, 1);
    ck_assert_uint_eq(onnx__model_proto__pack(m, buf), *len);
    protobuf_c_message_free_unpacked(&m->base, NULL);
    return buf;
}

/* Packs and imports m (freed); returns the status, *g on success, message in err. */
static cinfer_status import_model(Onnx__ModelProto *m, const char *base_dir, cinfer__graph **g,
                                  cinfer__err *err) {
    size_t len;
    uint8_t *buf = pack_free(m, &len);
    err->msg[0] = '\0';
    cinfer_status st = cinfer__onnx_import(buf, len, base_dir, g, err);
    free(buf);
    if (st != CINFER_OK) ck_assert_ptr_null(*g);
    return st;
}

#define ASSERT_FAILS(m, base, status, ...)                                                  \
    do {                                                                                    \
        cinfer__graph *g_ = NULL;                                                           \
        cinfer__err e_;                                                                     \
        cinfer_status st_ = import_model((m), (base), &g_, &e_);                            \
        ck_assert_msg(st_ == (status), "status %s, expected %s: %s", cinfer_status_name(st_), \
                      cinfer_status_name(status), e_.msg);                                  \
        const char *want_[] = {__VA_ARGS__, NULL};                                          \
        for (int i_ = 0; want_[i_]; i_++)                                                   \
            ck_assert_msg(strstr(e_.msg, want_[i_]), "message '%s' lacks '%s'", e_.msg,     \
                          want_[i_]);                                                       \
    } while (0)

static cinfer__graph *import_ok(Onnx__ModelProto *m, const char *base_dir) {
    cinfer__graph *g = NULL;
    cinfer__err err;
    cinfer_status st = import_model(m, base_dir, &g, &err);
    ck_assert_msg(st == CINFER_OK, "import failed: %s: %s", cinfer_status_name(st), err.msg);
    return g;
}

static const cinfer_tensor *constant_of(const cinfer__graph *g, const char *name) {
    int vi = cinfer__graph_find(g, name);
    ck_assert_msg(vi >= 0, "no value '%s'", name);
    ck_assert_msg(g->values[vi].constant, "'%s' is not a constant", name);
    ck_assert_uint_eq((uintptr_t)g->values[vi].constant->data % 64, 0);
    return g->values[vi].constant;
}

/* A one-node model y = Relu(x) around whatever the test adds. */
static Onnx__ModelProto *relu_model(void) {
    Onnx__ModelProto *m = model_new(17);
    int64_t d[2] = {2, 3};
    add_input(m, vinfo("x", 1, 2, d, false));
    add_output(m, vinfo("y", 1, 2, d, false));
    add_node(m, "r", "Relu", (const char *[]){"x", NULL}, (const char *[]){"y", NULL});
    return m;
}

/* ---- ONNX test models ----------------------------------------------------------------- */

static cinfer_status import_path(const char *path, const char *base, cinfer__graph **g,
                                 cinfer__err *err) {
    void *data;
    size_t size;
    cinfer_status st = cinfer__read_file(path, &data, &size, err);
    if (st != CINFER_OK) return st;
    st = cinfer__onnx_import(data, size, base, g, err);
    cinfer__free(data);
    return st;
}

static bool have_testdata(void) {
    if (access(TESTDATA "/node", R_OK) == 0) return true;
    fprintf(stderr, "skipped: %s not installed\n", TESTDATA);
    return false;
}

static const cinfer__attr *attr_of(const cinfer__node *n, const char *name, int type) {
    const cinfer__attr *a = cinfer__node_attr(n, name);
    ck_assert_msg(a, "node '%s' lacks attribute '%s'", n->name, name);
    ck_assert_int_eq(a->type, type);
    return a;
}

START_TEST(conv_model) {
    if (!have_testdata()) return;
    cinfer__graph *g = NULL;
    cinfer__err err;
    const char *dir = TESTDATA "/node/test_conv_with_strides_padding";
    ck_assert_int_eq(import_path(TESTDATA "/node/test_conv_with_strides_padding/model.onnx",
                                 dir, &g, &err), CINFER_OK);
    ck_assert_int_eq(g->opset, 11);
    ck_assert_int_eq(g->n_inputs, 2);
    ck_assert_int_eq(g->n_outputs, 1);
    const cinfer__value *x = &g->values[g->inputs[0]];
    ck_assert_str_eq(x->name, "x");
    ck_assert(x->is_input);
    ck_assert_int_eq(x->dtype, CINFER_DTYPE_FLOAT);
    ck_assert_int_eq(x->rank, 4);
    ck_assert_int_eq(x->dims[2], 7);
    ck_assert_int_eq(x->dims[3], 5);
    ck_assert_ptr_null(x->dim_names[0]);
    ck_assert(g->values[g->outputs[0]].is_output);
    ck_assert_int_eq(g->n_nodes, 1);
    const cinfer__node *n = &g->nodes[0];
    ck_assert_str_eq(n->op_type, "Conv");
    ck_assert_str_eq(n->name, "Conv_0");
    ck_assert_str_eq(n->domain, "");
    ck_assert_int_eq(n->opset, 11);
    ck_assert_int_eq(n->n_in, 2);
    ck_assert_int_eq(n->in[1], g->inputs[1]);
    const cinfer__attr *pads = attr_of(n, "pads", CINFER_ATTR_INTS);
    ck_assert_uint_eq(pads->count, 4);
    ck_assert_int_eq(pads->ints[0], 1);
    const cinfer__attr *strides = attr_of(n, "strides", CINFER_ATTR_INTS);
    ck_assert_int_eq(strides->ints[1], 2);
    ck_assert_int_eq(g->values[n->out[0]].producer, 0);
    cinfer__graph_destroy(g);
}
END_TEST

START_TEST(reshape_models) {
    if (!have_testdata()) return;
    static const char *const names[] = {"allowzero_reordered", "extended_dims", "negative_dim",
                                        "one_dim", "reduced_dims", "reordered_all_dims",
                                        "zero_and_negative_dim", "zero_dim"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[512];
        snprintf(path, sizeof path, TESTDATA "/node/test_reshape_%s/model.onnx", names[i]);
        cinfer__graph *g = NULL;
        cinfer__err err;
        cinfer_status st = import_path(path, NULL, &g, &err);
        ck_assert_msg(st == CINFER_OK, "%s: %s", path, err.msg);
        ck_assert_int_eq(cinfer__graph_live_nodes(g), 1);
        ck_assert_str_eq(g->nodes[0].op_type, "Reshape");
        ck_assert_int_eq(g->n_inputs, 2);
        ck_assert_int_eq(g->values[g->inputs[1]].dtype, CINFER_DTYPE_INT64);
        cinfer__graph_destroy(g);
    }
}
END_TEST

/* test_constant: the only node is a Constant, folded into the graph output's value. */
START_TEST(constant_model) {
    if (!have_testdata()) return;
    cinfer__graph *g = NULL;
    cinfer__err err;
    ck_assert_int_eq(import_path(TESTDATA "/node/test_constant/model.onnx", NULL, &g, &err),
                     CINFER_OK);
    ck_assert_int_eq(cinfer__graph_live_nodes(g), 0);
    const cinfer_tensor *t = constant_of(g, "values");
    ck_assert_int_eq(t->rank, 2);
    ck_assert_int_eq(t->dims[0], 5);
    ck_assert_float_eq_tol(((float *)t->data)[0], 1.764052391052246f, 1e-7);
    ck_assert(g->values[g->outputs[0]].is_output);
    cinfer__graph_destroy(g);
}
END_TEST

/* IR version 3: initializers are also listed as graph inputs; they must stay constants. */
START_TEST(pytorch_initializer_inputs) {
    if (!have_testdata()) return;
    cinfer__graph *g = NULL;
    cinfer__err err;
    ck_assert_int_eq(import_path(TESTDATA "/pytorch-converted/test_Conv2d/model.onnx", NULL, &g,
                                 &err), CINFER_OK);
    ck_assert_int_eq(g->n_inputs, 1);
    ck_assert_str_eq(g->values[g->inputs[0]].name, "0");
    const cinfer_tensor *w = constant_of(g, "1");
    ck_assert_int_eq(w->rank, 4);
    ck_assert_int_eq(w->dims[0], 4);
    ck_assert(!g->values[cinfer__graph_find(g, "1")].is_input);
    cinfer__graph_destroy(g);
}
END_TEST

/* Every node test model imports or fails with UNSUPPORTED and a message; none is "invalid". */
START_TEST(all_node_models) {
    if (!have_testdata()) return;
    FILE *ls = popen("ls -d " TESTDATA "/node/*/ " TESTDATA "/pytorch-*/*/ " TESTDATA
                     "/simple/*/", "r");
    ck_assert_ptr_nonnull(ls);
    char dir[1024];
    int ok = 0, unsupported = 0;
    while (fgets(dir, sizeof dir, ls)) {
        dir[strcspn(dir, "\n")] = '\0';
        char path[1100];
        snprintf(path, sizeof path, "%smodel.onnx", dir);
        cinfer__graph *g = NULL;
        cinfer__err err = {{0}};
        cinfer_status st = import_path(path, dir, &g, &err);
        ck_assert_msg(st == CINFER_OK || st == CINFER_UNSUPPORTED, "%s: %s: %s", path,
                      cinfer_status_name(st), err.msg);
        if (st == CINFER_OK) ok++;
        else unsupported++;
        if (st != CINFER_OK) ck_assert_msg(strlen(err.msg) > 10, "%s: empty message", path);
        cinfer__graph_destroy(g);
    }
    pclose(ls);
    fprintf(stderr, "all_node_models: %d imported, %d unsupported\n", ok, unsupported);
    ck_assert_int_gt(ok, 10 * unsupported);
}
END_TEST

START_TEST(read_tensor_pb) {
    if (!have_testdata()) return;
    void *data;
    size_t size;
    cinfer__err err;
    ck_assert_int_eq(cinfer__read_file(TESTDATA "/node/test_conv_with_strides_padding/"
                                       "test_data_set_0/input_0.pb", &data, &size, &err),
                     CINFER_OK);
    cinfer_tensor t;
    char *name = NULL;
    ck_assert_int_eq(cinfer__onnx_read_tensor(data, size, &t, &name, &err), CINFER_OK);
    ck_assert_str_eq(name, "x");
    ck_assert_int_eq(t.dtype, CINFER_DTYPE_FLOAT);
    ck_assert_int_eq(t.rank, 4);
    ck_assert_int_eq(t.dims[2], 7);
    for (int i = 0; i < 35; i++) ck_assert_float_eq(((float *)t.data)[i], (float)i);
    cinfer__tensor_free_data(&t);
    cinfer__free(name);
    /* Truncated in the middle of raw_data: either corrupt, or a size mismatch. */
    cinfer_status st = cinfer__onnx_read_tensor(data, size - 7, &t, NULL, &err);
    ck_assert_int_eq(st, CINFER_INVALID_MODEL);
    ck_assert_ptr_null(t.data);
    cinfer__free(data);
}
END_TEST

/* ---- initializers --------------------------------------------------------------------- */

/* One initializer per dtype, in raw_data and in its typed field; both must give these bytes. */
typedef struct dtype_case {
    int dtype;
    size_t esz;
    uint8_t bytes[4 * 8]; /* 4 elements, little endian */
} dtype_case;

static void set_typed(Onnx__TensorProto *t, const dtype_case *c) {
    for (int i = 0; i < 4; i++) {
        const uint8_t *p = c->bytes + i * c->esz;
        uint64_t u = 0;
        memcpy(&u, p, c->esz); /* little-endian host, as CI is */
        switch (c->dtype) {
        case 1: {
            float f;
            memcpy(&f, p, 4);
            APPEND(t->float_data, t->n_float_data, f);
            break;
        }
        case 11: {
            double d;
            memcpy(&d, p, 8);
            APPEND(t->double_data, t->n_double_data, d);
            break;
        }
        case 7: APPEND(t->int64_data, t->n_int64_data, (int64_t)u); break;
        case 12: case 13: APPEND(t->uint64_data, t->n_uint64_data, u); break;
        case 3: APPEND(t->int32_data, t->n_int32_data, (int8_t)u); break;   /* sign-extended */
        case 5: APPEND(t->int32_data, t->n_int32_data, (int16_t)u); break;
        case 6: APPEND(t->int32_data, t->n_int32_data, (int32_t)u); break;
        default: APPEND(t->int32_data, t->n_int32_data, (int32_t)u); break;
        }
    }
}

START_TEST(initializer_dtypes) {
    const float f[4] = {1.5f, -2.25f, 3e-8f, 1e30f};
    const double d[4] = {1.5, -1e300, 3e-300, 0.1};
    dtype_case cases[] = {
        {1, 4, {0}}, {11, 8, {0}},
        {2, 1, {0, 1, 200, 255}}, {3, 1, {0x80, 0xff, 1, 0x7f}},
        {4, 2, {0xff, 0xff, 1, 0, 0, 0x80, 7, 7}}, {5, 2, {0x00, 0x80, 0xff, 0xff, 1, 0, 9, 9}},
        {6, 4, {0, 0, 0, 0x80, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8}},
        {7, 8, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 0x88}},
        {9, 1, {0, 1, 1, 0}},
        {10, 2, {0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00}},
        {12, 4, {0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0, 0, 0, 0x80, 9, 9, 9, 9}},
        {13, 8, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8}},
        {16, 2, {0x80, 0x3f, 0x00, 0xc0, 0x80, 0x7f, 0x01, 0x00}},
    };
    memcpy(cases[0].bytes, f, sizeof f);
    memcpy(cases[1].bytes, d, sizeof d);
    size_t nc = sizeof cases / sizeof *cases;
    Onnx__ModelProto *m = relu_model();
    int64_t dims[2] = {2, 2};
    for (size_t i = 0; i < nc; i++) {
        char name[32];
        snprintf(name, sizeof name, "raw%zu", i);
        Onnx__TensorProto *t = tensor_new(name, cases[i].dtype, 2, dims);
        tensor_raw(t, cases[i].bytes, 4 * cases[i].esz);
        add_init(m, t);
        snprintf(name, sizeof name, "typed%zu", i);
        t = tensor_new(name, cases[i].dtype, 2, dims);
        set_typed(t, &cases[i]);
        add_init(m, t);
    }
    cinfer__graph *g = import_ok(m, NULL);
    for (size_t i = 0; i < nc; i++) {
        for (int typed = 0; typed < 2; typed++) {
            char name[32];
            snprintf(name, sizeof name, typed ? "typed%zu" : "raw%zu", i);
            const cinfer_tensor *t = constant_of(g, name);
            ck_assert_int_eq(t->dtype, cases[i].dtype);
            ck_assert_int_eq(t->rank, 2);
            ck_assert_msg(!memcmp(t->data, cases[i].bytes, 4 * cases[i].esz),
                          "%s (dtype %d) differs", name, cases[i].dtype);
        }
    }
    ck_assert_int_eq(g->n_inputs, 1);
    cinfer__graph_destroy(g);
}
END_TEST

/* Bool in int32_data is normalized to 0/1; a scalar and an empty tensor need no data. */
START_TEST(initializer_edge_shapes) {
    Onnx__ModelProto *m = relu_model();
    Onnx__TensorProto *b = tensor_new("b", 9, 1, (int64_t[]){3});
    APPEND(b->int32_data, b->n_int32_data, 0);
    APPEND(b->int32_data, b->n_int32_data, 5);
    APPEND(b->int32_data, b->n_int32_data, -1);
    add_init(m, b);
    Onnx__TensorProto *s = tensor_new("s", 7, 0, NULL);
    APPEND(s->int64_data, s->n_int64_data, -42);
    add_init(m, s);
    add_init(m, tensor_new("empty", 1, 2, (int64_t[]){0, 3}));
    cinfer__graph *g = import_ok(m, NULL);
    const uint8_t *bv = constant_of(g, "b")->data;
    ck_assert(bv[0] == 0 && bv[1] == 1 && bv[2] == 1);
    const cinfer_tensor *st = constant_of(g, "s");
    ck_assert_int_eq(st->rank, 0);
    ck_assert_int_eq(*(int64_t *)st->data, -42);
    ck_assert_int_eq(constant_of(g, "empty")->dims[0], 0);
    cinfer__graph_destroy(g);
}
END_TEST

START_TEST(initializer_errors) {
    const float v[6] = {1, 2, 3, 4, 5, 6};
    int64_t d23[2] = {2, 3};
    Onnx__ModelProto *m = relu_model();
    add_init(m, f32_raw("W", 2, d23, v, 5));
    ASSERT_FAILS(m, NULL, CINFER_INVALID_MODEL, "initializer 'W'", "raw_data has 20 bytes",
                 "expected 24");

    m = relu_model();
    Onnx__TensorProto *t = tensor_new("W", 1, 2, d23);
    APPEND(t->float_data, t->n_float_data, 1.0f);
    add_init(m, t);
    ASSERT_FAILS(m, NULL, CINFER_INVALID_MODEL, "initializer 'W'", "float_data has 1 values");

    m = relu_model();
    add_init(m, tensor_new("W", 1, 2, d23));
    ASSERT_FAILS(m, NULL, CINFER_INVALID_MODEL, "initializer 'W'", "float_data has 0 values");

    m = relu_model();
    add_init(m, f32_raw("W", 2, (int64_t[]){-2, -3}, v, 6));
    ASSERT_FAILS(m, NULL, CINFER_INVALID_MODEL, "initializer 'W'", "negative");

    m = relu_model();
    add_init(m, f32_raw("W", 3, (int64_t[]){1ll << 40, 1ll << 40, 0}, v, 0));
    ASSERT_FAILS(m, NULL, CINFER_INVALID_MODEL, "initializer 'W'", "overflows");

    m = relu_model();
    add_init(m, f32_raw("W", 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, v, 1));
    ASSERT_FAILS(m, NULL, CINFER_UNSUPPORTED, "initializer 'W'", "rank 9");

    m = relu_model();
    t = tensor_new("S", 8, 1, (int64_t[]){1});
    t->n_string_data = 1;
    t->string_data = xcalloc(1, sizeof *t->string_data);
    add_init(m, t);
    ASSERT_FAILS(m, NULL, CINFER_UNSUPPORTED, "initializer 'S'", "string");

    m = relu_model();
    add_init(m, tensor_new("C", 14, 1, (int64_t[]){0}));
    ASSERT_FAILS(m, NULL, CINFER_UNSUPPORTED, "initializer 'C'", "complex64");

    m = relu_model();
    add_init(m, tensor_new("U", 0, 1, (int64_t[]){0}));
    ASSERT_FAILS(m, NULL, CINFER_INVALID_MODEL, "initializer 'U'", "undefined");

    m = relu_model();
    add_init(m, f32_raw("W", 1, (int64_t[]){1}, v, 1));
    add_init(m, f32_raw("W", 1, (int64_t[]){1}, v, 1));
    ASSERT_FAILS(m, NULL, CINFER_INVALID_MODEL, "initializer 'W'", "twice");

    m = relu_model();
    Onnx__SparseTensorProto *sp = xcalloc(1, sizeof *sp);
    onnx__sparse_tensor_proto__init(sp);
    sp->values = f32_raw("SP", 1, (int64_t[]){1}, v, 1);
    APPEND(m->graph->sparse_initializer, m->graph->n_sparse_initializer, sp);
    ASSERT_FAILS(m, NULL, CINFER_UNSUPPORTED, "sparse initializer 'SP'");
}
END_TEST

/* ---- external data -------------------------------------------------------------------- */

static char tmp_root[256];

static void ext_setup(void) {
    snprintf(tmp_root, sizeof tmp_root, "/tmp/cinfer_import_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_root));
}

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void set_kv(Onnx__TensorProto *t, const char *k, const char *v) {
    Onnx__StringStringEntryProto *e = xcalloc(1, sizeof *e);
    onnx__string_string_entry_proto__init(e);
    e->key = xstr(k);
    e->value = xstr(v);
    APPEND(t->external_data, t->n_external_data, e);
}

/* A relu model with initializer "W" (float [2,3]) stored at location/offset/length. */
static Onnx__ModelProto *ext_model(const char *location, const char *offset, const char *length) {
    Onnx__ModelProto *m = relu_model();
    Onnx__TensorProto *t = tensor_new("W", 1, 2, (int64_t[]){2, 3});
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    set_kv(t, "location", location);
    if (offset) set_kv(t, "offset", offset);
    if (length) set_kv(t, "length", length);
    add_init(m, t);
    return m;
}

START_TEST(external_data) {
    ext_setup();
    char dir[300], path[400], outside[400];
    snprintf(dir, sizeof dir, "%s/model", tmp_root);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/sub", dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    float blob[10];
    for (int i = 0; i < 10; i++) blob[i] = (float)i * 0.5f;
    snprintf(path, sizeof path, "%s/weights.bin", dir);
    write_file(path, blob, sizeof blob);
    snprintf(path, sizeof path, "%s/sub/w.bin", dir);
    write_file(path, blob, 6 * sizeof(float));
    snprintf(outside, sizeof outside, "%s/outside.bin", tmp_root);
    write_file(outside, blob, 6 * sizeof(float));
    snprintf(path, sizeof path, "%s/link.bin", dir);
    ck_assert_int_eq(symlink(outside, path), 0);
    snprintf(path, sizeof path, "%s/inlink.bin", dir);
    ck_assert_int_eq(symlink("sub/w.bin", path), 0);

    cinfer__graph *g = import_ok(ext_model("weights.bin", "8", "24"), dir);
    const float *w = constant_of(g, "W")->data;
    for (int i = 0; i < 6; i++) ck_assert_float_eq(w[i], blob[i + 2]);
    cinfer__graph_destroy(g);
    cinfer__graph_destroy(import_ok(ext_model("sub/w.bin", NULL, NULL), dir));
    cinfer__graph_destroy(import_ok(ext_model("./sub//w.bin", "0", NULL), dir));
    cinfer__graph_destroy(import_ok(ext_model("inlink.bin", NULL, NULL), dir));

    ASSERT_FAILS(ext_model("../outside.bin", NULL, NULL), dir, CINFER_INVALID_MODEL,
                 "initializer 'W'", "'../outside.bin'");
    ASSERT_FAILS(ext_model("sub/../../outside.bin", NULL, NULL), dir, CINFER_INVALID_MODEL,
                 "initializer 'W'", "sub/../../outside.bin");
    ASSERT_FAILS(ext_model(outside, NULL, NULL), dir, CINFER_INVALID_MODEL, "initializer 'W'",
                 outside);
    ASSERT_FAILS(ext_model("link.bin", NULL, NULL), dir, CINFER_INVALID_MODEL,
                 "initializer 'W'", "link.bin", "outside the model directory");
    ASSERT_FAILS(ext_model("weights.bin", NULL, NULL), NULL, CINFER_INVALID_MODEL,
                 "initializer 'W'", "external data needs a base directory");
    ASSERT_FAILS(ext_model("weights.bin", "24", "24"), dir, CINFER_INVALID_MODEL,
                 "initializer 'W'", "exceeds");
    ASSERT_FAILS(ext_model("weights.bin", "48", NULL), dir, CINFER_INVALID_MODEL,
                 "initializer 'W'", "past the end");
    ASSERT_FAILS(ext_model("weights.bin", NULL, NULL), dir, CINFER_INVALID_MODEL,
                 "initializer 'W'", "40 bytes");
    ASSERT_FAILS(ext_model("weights.bin", "-8", NULL), dir, CINFER_INVALID_MODEL,
                 "initializer 'W'", "offset");
    ASSERT_FAILS(ext_model("missing.bin", NULL, NULL), dir, CINFER_NOT_FOUND,
                 "initializer 'W'", "missing.bin");
    ASSERT_FAILS(ext_model("sub", NULL, NULL), dir, CINFER_INVALID_MODEL, "initializer 'W'",
                 "not a regular file");
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* ---- declared types ------------------------------------------------------------------- */

START_TEST(declared_types) {
    Onnx__ModelProto *m = model_new(13);
    add_input(m, vinfo("x", 1, 3, (int64_t[]){-1, 3, -1}, true));
    add_input(m, vinfo("u", 7, -1, NULL, false));
    Onnx__ValueInfoProto *nodims = vinfo("z", 1, 2, (int64_t[]){-1, 4}, false);
    add_input(m, nodims);
    add_output(m, vinfo("y", 1, 3, (int64_t[]){-1, 3, -1}, true));
    add_node(m, NULL, "Relu", (const char *[]){"x", NULL}, (const char *[]){"t", NULL});
    add_node(m, NULL, "Relu", (const char *[]){"t", NULL}, (const char *[]){"y", NULL});
    APPEND(m->graph->value_info, m->graph->n_value_info,
           vinfo("t", 1, 3, (int64_t[]){-1, 3, 5}, true));
    APPEND(m->graph->value_info, m->graph->n_value_info, vinfo("unused", 1, 1, (int64_t[]){1}, 0));
    cinfer__graph *g = import_ok(m, NULL);
    const cinfer__value *x = &g->values[cinfer__graph_find(g, "x")];
    ck_assert_int_eq(x->rank, 3);
    ck_assert_int_eq(x->dims[0], -1);
    ck_assert_str_eq(x->dim_names[0], "N0");
    ck_assert_int_eq(x->dims[1], 3);
    ck_assert_ptr_null(x->dim_names[1]);
    const cinfer__value *u = &g->values[cinfer__graph_find(g, "u")];
    ck_assert_int_eq(u->rank, -1);
    ck_assert_int_eq(u->dtype, CINFER_DTYPE_INT64);
    const cinfer__value *z = &g->values[cinfer__graph_find(g, "z")];
    ck_assert_int_eq(z->dims[0], -1);
    ck_assert_ptr_null(z->dim_names[0]);
    const cinfer__value *t = &g->values[cinfer__graph_find(g, "t")];
    ck_assert_int_eq(t->dims[2], 5);
    ck_assert_int_eq(cinfer__graph_find(g, "unused"), -1);
    ck_assert_str_eq(g->nodes[0].name, "Relu_0");
    ck_assert_str_eq(g->nodes[1].name, "Relu_1");
    cinfer__graph_destroy(g);

    m = relu_model();
    add_input(m, vinfo("big", 1, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, false));
    ASSERT_FAILS(m, NULL, CINFER_UNSUPPORTED, "input 'big'", "rank 9");

    m = relu_model();
    add_input(m, vinfo("s", 8, 1, (int64_t[]){1}, false));
    ASSERT_FAILS(m, NULL, CINFER_UNSUPPORTED, "input 's'", "string");

    m = relu_model();
    Onnx__ValueInfoProto *seq = vinfo("seq", 1, -1, NULL, false);
    protobuf_c_message_free_unpacked(&seq->type->tensor_type->base, NULL);
    seq->type->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
    seq->type->sequence_type = xcalloc(1, sizeof *seq->type->sequence_type);
    onnx__type_proto__sequence__init(seq->type->sequence_type);
    add_output(m, seq);
    ASSERT_FAILS(m, NULL, CINFER_UNSUPPORTED, "output 'seq'", "sequence");

    m = relu_model();
    add_input(m, vinfo("x", 1, -1, NULL, false));
    ASSERT_FAILS(m, NULL, CINFER_INVALID_MODEL, "input 'x'", "twice");

    m = relu_model();
    add_input(m, vinfo("", 1, -1, NULL, false));
    ASSERT_FAILS(m, NULL, CINFER_INVALID_MODEL, "input #1 has no name");
}
END_TEST

/* ---- nodes and attributes ------------------------------------------------------------- */

START_TEST(attributes_all_types) {
    Onnx__ModelProto *m = relu_model();
    Onnx__NodeProto *n = m->graph->node[0];
    Onnx__AttributeProto *a = add_attr(n, "f", 1);
    a->has_f = 1;
    a->f = 0.25f;
    a = add_attr(n, "i", 2);
    a->has_i = 1;
    a->i = -7;
    a = add_attr(n, "s", 3);
    a->has_s = 1;
    a->s.len = 3;
    a->s.data = (uint8_t *)xstr("abc");
    a = add_attr(n, "t", 4);
    a->t = f32_raw(NULL, 1, (int64_t[]){2}, (float[]){1, 2}, 2);
    attr_floats(add_attr(n, "fs", 6), (float[]){1, 2, 3}, 3);
    attr_ints(add_attr(n, "is", 7), (int64_t[]){4, -5}, 2);
    add_attr(n, "empty_ints", 7);
    a = add_attr(n, "ss", 8);
    APPEND(a->strings, a->n_strings, ((ProtobufCBinaryData){2, (uint8_t *)xstr("xy")}));
    APPEND(a->strings, a->n_strings, ((ProtobufCBinaryData){0, NULL}));
    a = add_attr(n, "ts", 9);
    APPEND(a->tensors, a->n_tensors, f32_raw(NULL, 0, NULL, (float[]){3}, 1));
    Onnx__TensorProto *ti = tensor_new(NULL, 7, 1, (int64_t[]){1});
    APPEND(ti->int64_data, ti->n_int64_data, 9);
    APPEND(a->tensors, a->n_tensors, ti);
    a = add_attr(n, "untyped", 0); /* IR v1 style: no type, inferred from the field set */
    a->has_type = 0;
    a->has_i = 1;
    a->i = 3;
    cinfer__graph *g = import_ok(m, NULL);
    const cinfer__node *nd = &g->nodes[0];
    ck_assert_float_eq(attr_of(nd, "f", CINFER_ATTR_FLOAT)->f, 0.25f);
    ck_assert_int_eq(cinfer__attr_int(nd, "i", 0), -7);
    ck_assert_str_eq(cinfer__attr_string(nd, "s", ""), "abc");
    ck_assert_uint_eq(attr_of(nd, "s", CINFER_ATTR_STRING)->s_len, 3);
    const cinfer__attr *t = attr_of(nd, "t", CINFER_ATTR_TENSOR);
    ck_assert_int_eq(t->t[0].dims[0], 2);
    ck_assert_float_eq(((float *)t->t[0].data)[1], 2.0f);
    size_t cnt;
    const float *fs = cinfer__attr_floats(nd, "fs", &cnt);
    ck_assert_uint_eq(cnt, 3);
    ck_assert_float_eq(fs[2], 3.0f);
    const int64_t *is = cinfer__attr_ints(nd, "is", &cnt);
    ck_assert_uint_eq(cnt, 2);
    ck_assert_int_eq(is[1], -5);
    ck_assert_uint_eq(attr_of(nd, "empty_ints", CINFER_ATTR_INTS)->count, 0);
    const cinfer__attr *ss = attr_of(nd, "ss", CINFER_ATTR_STRINGS);
    ck_assert_uint_eq(ss->count, 2);
    ck_assert_str_eq(ss->strings[0], "xy");
    ck_assert_str_eq(ss->strings[1], "");
    const cinfer__attr *ts = attr_of(nd, "ts", CINFER_ATTR_TENSORS);
    ck_assert_uint_eq(ts->count, 2);
    ck_assert_int_eq(ts->t[0].rank, 0);
    ck_assert_int_eq(*(int64_t *)ts->t[1].data, 9);
    ck_assert_int_eq(cinfer__attr_int(nd, "untyped", 0), 3);
    cinfer__graph_destroy(g);
}
END_TEST

START_TEST(attribute_errors) {
    Onnx__ModelProto *m = relu_model();
    Onnx__AttributeProto *a = add_attr(m->graph->node[0], "then_branch", 5);
    a->g = xcalloc(1, sizeof *a->g);
    onnx__graph_proto__init(a->g);
    ASSERT_FAILS(m, NULL, CINFER_UNSUPPORTED, "node 'r' (Relu) attribute 'then_branch'",
                 "subgraph");

    m = relu_model();
    add_attr(m->graph->node[0], "bodies", 10);
    ASSERT_FAILS(m, NULL, CINFER_UNSUPPORTED, "node 'r' (Relu) attribute 'bodies'", "subgraph");

    m = relu_model();
    add_attr(m->graph->node[0], "sp", 11);
    ASSERT_FAILS(m, NULL, CINFER_UNSUPPORTED, "node 'r' (Relu) attribute 'sp'", "SPARSE_TENSOR");

    m = relu_model();
    a = add_attr(m->graph->node[0], "alpha", 1);
    a->ref_attr_name = xstr("outer_alpha");
    ASSERT_FAILS(m, NULL, CINFER_UNSUPPORTED, "node 'r' (Relu) attribute 'alpha'", "outer_alpha");

    m = relu_model();
    a = add_attr(m->graph->node[0], "pads", 7);
    a->has_type = 0;
    ASSERT_FAILS(m, NULL, CINFER_INVALID_MODEL, "node 'r' (Relu) attribute 'pads'", "no type");

    m = relu_model();
    add_attr(m->graph->node[0], "k", 2);
    add_attr(m->graph->node[0], "k", 2);
    ASSERT_FAILS(m, NULL, CINFER_INVALID_MODEL, "node 'r' (Relu)", "'k' is given twice");

    m = relu_model();
    a = add_attr(m->graph->node[0], "w", 4);
    a->t = f32_raw(NULL, 1, (int64_t[]){3}, (float[]){1}, 1);
    ASSERT_FAILS(m, NULL, CINFER_INVALID_MODEL, "node 'r' (Relu) attribute 'w'", "raw_data");
}
END_TEST

START_TEST(nodes_and_opsets) {
    Onnx__ModelProto *m = model_new(0);
    add_opset(m, "ai.onnx", 15);
    add_opset(m, "com.example", 2);
    add_input(m, vinfo("x", 1, -1, NULL, false));
    add_output(m, vinfo("y", 1, -1, NULL, false));
    add_output(m, vinfo("o2", 1, -1, NULL, false));
    /* Out of order on purpose: the import sorts topologically. */
    Onnx__NodeProto *n = add_node(m, "second", "Custom", (const char *[]){"t", NULL},
                                  (const char *[]){"y", NULL});
    n->domain = xstr("com.example");
    n = add_node(m, "first", "Dropout", (const char *[]){"x", "", "", NULL},
                 (const char *[]){"t", "", NULL});
    n->domain = xstr("ai.onnx");
    add_node(m, "third", "Identity", (const char *[]){"x", NULL}, (const char *[]){"o2", NULL});
    cinfer__graph *g = import_ok(m, NULL);
    ck_assert_int_eq(g->opset, 15);
    ck_assert_str_eq(g->nodes[0].name, "first");
    ck_assert_str_eq(g->nodes[0].domain, "");
    ck_assert_int_eq(g->nodes[0].opset, 15);
    ck_assert_int_eq(g->nodes[0].n_in, 3);
    ck_assert_int_eq(g->nodes[0].in[1], -1);
    ck_assert_int_eq(g->nodes[0].in[2], -1);
    ck_assert_int_eq(g->nodes[0].out[1], -1);
    const cinfer__node *c = g->nodes[1].opset == 2 ? &g->nodes[1] : &g->nodes[2];
    ck_assert_str_eq(c->name, "second");
    ck_assert_str_eq(c->domain, "com.example");
    ck_assert_int_eq(c->opset, 2);
    cinfer__graph_destroy(g);

    m = relu_model();
    m->graph->node[0]->domain = xstr("com.other");
    ASSERT_FAILS(m, NULL, CINFER_INVALID_MODEL, "node 'r' (Relu)", "com.other",
                 "no opset import");

    m = relu_model();
    add_opset(m, "", 11);
    ASSERT_FAILS(m, NULL, CINFER_INVALID_MODEL, "imported twice");

    m = relu_model();
    m->opset_import[0]->version = 0;
    ASSERT_FAILS(m, NULL, CINFER_INVALID_MODEL, "invalid version");

    m = relu_model();
    add_node(m, "cyc", "Relu", (const char *[]){"q", NULL}, (const char *[]){"q2", NULL});
    ASSERT_FAILS(m, NULL, CINFER_INVALID_MODEL, "node 'cyc' (Relu)", "'q'");

    m = relu_model();
    free(m->graph->node[0]->op_type);
    m->graph->node[0]->op_type = NULL;
    ASSERT_FAILS(m, NULL, CINFER_INVALID_MODEL, "node #0 ('r') has no op_type");

    /* IR version < 3 without opset_import means opset 1. */
    m = relu_model();
    protobuf_c_message_free_unpacked(&m->opset_import[0]->base, NULL);
    free(m->opset_import);
    m->opset_import = NULL;
    m->n_opset_import = 0;
    m->ir_version = 2;
    g = import_ok(m, NULL);
    ck_assert_int_eq(g->nodes[0].opset, 1);
    cinfer__graph_destroy(g);
}
END_TEST

START_TEST(constant_nodes) {
    Onnx__ModelProto *m = relu_model();
    const char *kinds[] = {"value", "value_float", "value_floats", "value_int", "value_ints"};
    for (int k = 0; k < 5; k++) {
        char out[32];
        snprintf(out, sizeof out, "c_%s", kinds[k]);
        Onnx__NodeProto *n = add_node(m, NULL, "Constant", NULL, (const char *[]){out, NULL});
        Onnx__AttributeProto *a = add_attr(n, kinds[k], (int[]){4, 1, 6, 2, 7}[k]);
        if (k == 0) a->t = f32_raw("ct", 2, (int64_t[]){1, 2}, (float[]){7, 8}, 2);
        a->has_f = k == 1;
        a->has_i = k == 3;
        if (k == 1) a->f = 1.5f;
        if (k == 2) attr_floats(a, (float[]){1, 2, 3}, 3);
        if (k == 3) a->i = -3;
        if (k == 4) attr_ints(a, (int64_t[]){5, 6}, 2);
    }
    cinfer__graph *g = import_ok(m, NULL);
    ck_assert_int_eq(cinfer__graph_live_nodes(g), 1);
    const cinfer_tensor *t = constant_of(g, "c_value");
    ck_assert_int_eq(t->rank, 2);
    ck_assert_float_eq(((float *)t->data)[1], 8.0f);
    t = constant_of(g, "c_value_float");
    ck_assert_int_eq(t->rank, 0);
    ck_assert_float_eq(*(float *)t->data, 1.5f);
    t = constant_of(g, "c_value_floats");
    ck_assert_int_eq(t->dims[0], 3);
    t = constant_of(g, "c_value_int");
    ck_assert_int_eq(t->dtype, CINFER_DTYPE_INT64);
    ck_assert_int_eq(*(int64_t *)t->data, -3);
    t = constant_of(g, "c_value_ints");
    ck_assert_int_eq(((int64_t *)t->data)[1], 6);
    cinfer__graph_destroy(g);

    m = relu_model();
    Onnx__NodeProto *n = add_node(m, "cs", "Constant", NULL, (const char *[]){"c", NULL});
    add_attr(n, "value_string", 3);
    ASSERT_FAILS(m, NULL, CINFER_UNSUPPORTED, "node 'cs' (Constant) attribute 'value_string'");

    m = relu_model();
    n = add_node(m, "cs", "Constant", NULL, (const char *[]){"c", NULL});
    add_attr(n, "sparse_value", 11);
    ASSERT_FAILS(m, NULL, CINFER_UNSUPPORTED, "node 'cs' (Constant) attribute 'sparse_value'");

    m = relu_model();
    n = add_node(m, "c2", "Constant", NULL, (const char *[]){"c", NULL});
    add_attr(n, "value_int", 2);
    add_attr(n, "value_float", 1);
    ASSERT_FAILS(m, NULL, CINFER_INVALID_MODEL, "node 'c2' (Constant)", "both");

    m = relu_model();
    n = add_node(m, "c3", "Constant", NULL, (const char *[]){"x", NULL});
    add_attr(n, "value_int", 2);
    ASSERT_FAILS(m, NULL, CINFER_INVALID_MODEL, "node 'c3' (Constant)", "'x'", "already defined");

    m = relu_model();
    n = add_node(m, "c4", "Constant", NULL, (const char *[]){"c", NULL});
    add_attr(n, "value_ints", 2);
    ASSERT_FAILS(m, NULL, CINFER_INVALID_MODEL, "node 'c4' (Constant) attribute 'value_ints'",
                 "INTS");
}
END_TEST

START_TEST(local_functions) {
    Onnx__ModelProto *m = relu_model();
    add_opset(m, "local", 1);
    Onnx__FunctionProto *f = xcalloc(1, sizeof *f);
    onnx__function_proto__init(f);
    f->name = xstr("MyFn");
    f->domain = xstr("local");
    APPEND(m->functions, m->n_functions, f);
    Onnx__NodeProto *n = add_node(m, "call", "MyFn", (const char *[]){"x", NULL},
                                  (const char *[]){"z", NULL});
    n->domain = xstr("local");
    ASSERT_FAILS(m, NULL, CINFER_UNSUPPORTED, "node 'call' (MyFn)", "function 'local.MyFn'");

    /* Functions nobody calls are harmless. */
    m = relu_model();
    f = xcalloc(1, sizeof *f);
    onnx__function_proto__init(f);
    f->name = xstr("Unused");
    APPEND(m->functions, m->n_functions, f);
    cinfer__graph_destroy(import_ok(m, NULL));
}
END_TEST

/* ---- corrupt input and files ---------------------------------------------------------- */

START_TEST(garbage_input) {
    cinfer__graph *g = (cinfer__graph *)1;
    cinfer__err err;
    const char junk[] = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";
    ck_assert_int_eq(cinfer__onnx_import(junk, sizeof junk, NULL, &g, &err),
                     CINFER_INVALID_MODEL);
    ck_assert_ptr_null(g);
    ck_assert_str_eq(err.msg, "model is not a valid ONNX ModelProto (corrupt or truncated)");
    ck_assert_int_eq(cinfer__onnx_import("", 0, NULL, &g, &err), CINFER_INVALID_MODEL);
    ck_assert_ptr_nonnull(strstr(err.msg, "no graph"));
}
END_TEST

/* Imports `data`; any outcome but a crash, a leak or an error without message is fine.
 * Returns whether it imported. */
static bool import_mutant(const uint8_t *data, size_t size, const char *what) {
    cinfer__graph *g = NULL;
    cinfer__err err = {{0}};
    cinfer_status st = cinfer__onnx_import(data, size, NULL, &g, &err);
    if (st == CINFER_OK) {
        ck_assert_ptr_nonnull(g);
        cinfer__graph_destroy(g);
        return true;
    }
    ck_assert_ptr_null(g);
    ck_assert_msg(st == CINFER_INVALID_MODEL || st == CINFER_UNSUPPORTED, "%s: status %s: %s",
                  what, cinfer_status_name(st), err.msg);
    ck_assert_msg(strlen(err.msg) > 10, "%s: no message", what);
    return false;
}

static const char *const fuzz_models[] = {
    TESTDATA "/pytorch-converted/test_Conv3d/model.onnx",
    TESTDATA "/node/test_conv_with_strides_padding/model.onnx",
};

START_TEST(truncations) {
    if (!have_testdata()) return;
    void *data;
    size_t size;
    cinfer__err err;
    ck_assert_int_eq(cinfer__read_file(fuzz_models[_i], &data, &size, &err), CINFER_OK);
    ck_assert_uint_lt(size, 100000);
    int imported = 0;
    for (int k = 0; k < 300; k++) {
        size_t cut = (size_t)k * size / 300;
        uint8_t *copy = malloc(cut ? cut : 1); /* exact size, so ASan sees over-reads */
        memcpy(copy, data, cut);
        char what[64];
        snprintf(what, sizeof what, "cut at %zu", cut);
        imported += import_mutant(copy, cut, what);
        free(copy);
    }
    fprintf(stderr, "truncations[%d]: %d of 300 prefixes imported\n", _i, imported);
    cinfer__free(data);
}
END_TEST

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

START_TEST(byte_flips) {
    if (!have_testdata()) return;
    const char *env = getenv("CINFER_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
    fprintf(stderr, "byte_flips[%d]: seed %llu (rerun with CINFER_TEST_SEED=%llu)\n", _i,
            (unsigned long long)seed, (unsigned long long)seed);
    uint64_t s = seed * 2654435761u + 1 + (uint64_t)_i;
    void *data;
    size_t size;
    cinfer__err err;
    ck_assert_int_eq(cinfer__read_file(fuzz_models[_i], &data, &size, &err), CINFER_OK);
    uint8_t *copy = malloc(size);
    int imported = 0;
    for (int k = 0; k < 300; k++) {
        memcpy(copy, data, size);
        size_t pos = rng_next(&s) % size;
        uint8_t val = (uint8_t)(rng_next(&s) & 0xff);
        if (val == copy[pos]) val ^= 0x5a;
        copy[pos] = val;
        char what[96];
        snprintf(what, sizeof what, "seed %llu: byte %zu := 0x%02x", (unsigned long long)seed,
                 pos, val);
        imported += import_mutant(copy, size, what);
    }
    fprintf(stderr, "byte_flips[%d]: %d of 300 mutants imported\n", _i, imported);
    free(copy);
    cinfer__free(data);
}
END_TEST

START_TEST(read_file_errors) {
    void *data = (void *)1;
    size_t size = 7;
    cinfer__err err;
    ck_assert_int_eq(cinfer__read_file("/nonexistent/dir/model.onnx", &data, &size, &err),
                     CINFER_NOT_FOUND);
    ck_assert_ptr_null(data);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/dir/model.onnx"));
    ck_assert_ptr_nonnull(strstr(err.msg, strerror(ENOENT)));
    ck_assert_int_eq(cinfer__read_file("/tmp", &data, &size, &err), CINFER_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "'/tmp'"));
    char path[] = "/tmp/cinfer_import_empty_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(cinfer__read_file(path, &data, &size, &err), CINFER_OK);
    ck_assert_uint_eq(size, 0);
    cinfer__free(data);
    unlink(path);
}
END_TEST

/* Failing the n-th allocation for every n must give OUT_OF_MEMORY (or success) and no leak. */
START_TEST(allocation_failures) {
    Onnx__ModelProto *m = relu_model();
    add_init(m, f32_raw("W", 1, (int64_t[]){2}, (float[]){1, 2}, 2));
    Onnx__NodeProto *n = add_node(m, NULL, "Constant", NULL, (const char *[]){"c", NULL});
    attr_ints(add_attr(n, "value_ints", 7), (int64_t[]){1, 2}, 2);
    attr_ints(add_attr(m->graph->node[0], "k", 7), (int64_t[]){1, 2}, 2);
    Onnx__AttributeProto *a = add_attr(m->graph->node[0], "ss", 8);
    APPEND(a->strings, a->n_strings, ((ProtobufCBinaryData){2, (uint8_t *)xstr("xy")}));
    add_input(m, vinfo("sym", 1, 2, (int64_t[]){-1, -1}, true));
    size_t len;
    uint8_t *buf = pack_free(m, &len);
    int failures = 0;
    for (long k = 1; k < 10000; k++) {
        cinfer__graph *g = NULL;
        cinfer__err err;
        cinfer__alloc_fail_after(k);
        cinfer_status st = cinfer__onnx_import(buf, len, NULL, &g, &err);
        cinfer__alloc_fail_after(0);
        if (st == CINFER_OK) {
            cinfer__graph_destroy(g);
            break;
        }
        ck_assert_msg(st == CINFER_OUT_OF_MEMORY, "allocation %ld: %s: %s", k,
                      cinfer_status_name(st), err.msg);
        failures++;
    }
    ck_assert_int_gt(failures, 20);
    free(buf);
}
END_TEST

static Suite *import_suite(void) {
    Suite *s = suite_create("onnx_import");
    TCase *tc = tcase_create("models");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, conv_model);
    tcase_add_test(tc, reshape_models);
    tcase_add_test(tc, constant_model);
    tcase_add_test(tc, pytorch_initializer_inputs);
    tcase_add_test(tc, all_node_models);
    tcase_add_test(tc, read_tensor_pb);
    suite_add_tcase(s, tc);
    tc = tcase_create("built");
    tcase_add_test(tc, initializer_dtypes);
    tcase_add_test(tc, initializer_edge_shapes);
    tcase_add_test(tc, initializer_errors);
    tcase_add_test(tc, external_data);
    tcase_add_test(tc, declared_types);
    tcase_add_test(tc, attributes_all_types);
    tcase_add_test(tc, attribute_errors);
    tcase_add_test(tc, nodes_and_opsets);
    tcase_add_test(tc, constant_nodes);
    tcase_add_test(tc, local_functions);
    tcase_add_test(tc, read_file_errors);
    tcase_add_test(tc, allocation_failures);
    suite_add_tcase(s, tc);
    tc = tcase_create("corrupt");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, garbage_input);
    tcase_add_loop_test(tc, truncations, 0, 2);
    tcase_add_loop_test(tc, byte_flips, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(import_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
