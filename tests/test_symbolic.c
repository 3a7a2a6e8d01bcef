/* Tests of symbolic shape inference (src/runtime/symbolic.c) on tiny models built here with
 * protobuf-c: each inferred dim is checked against the expression worked out by hand from
 * the ONNX operator definitions. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cinfer/cinfer.h"
#include "core/alloc.h"
#include "ir/static_dims.h"
#include "model_builder.h"
#include "onnx.pb-c.h"
#include "runtime/inspect.h"
#include "runtime/runtime.h"

enum {
    F32 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    I64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64
};

/* ---- building ModelProtos (everything malloc'd: free_unpacked frees it) ----------------- */

static Onnx__ValueInfoProto *vinfo(const char *name, int elem, const char *spec) {
    return vinfo_spec(name, elem, spec);
}

static void add_input(Onnx__ModelProto *m, const char *name, int elem, const char *spec) {
    APPEND(m->graph->input, m->graph->n_input, vinfo(name, elem, spec));
}

static void add_output(Onnx__ModelProto *m, const char *name) {
    APPEND(m->graph->output, m->graph->n_output, vinfo(name, F32, NULL));
}

/* An initializer of `n` values (float or int64 by dtype), shape dims[rank]. */
static void add_init(Onnx__ModelProto *m, const char *name, int dtype, int rank,
                     const int64_t *dims, const void *vals, size_t n) {
    Onnx__TensorProto *t = xcalloc(1, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = xstr(name);
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = (size_t)rank;
    t->dims = xcalloc((size_t)rank, sizeof(int64_t));
    if (rank) memcpy(t->dims, dims, (size_t)rank * sizeof(int64_t));
    size_t len = n * (dtype == I64 ? 8 : 4);
    t->has_raw_data = 1;
    t->raw_data.len = len;
    t->raw_data.data = xcalloc(len, 1);
    memcpy(t->raw_data.data, vals, len);
    APPEND(m->graph->initializer, m->graph->n_initializer, t);
}

static void add_i64(Onnx__ModelProto *m, const char *name, int rank, const int64_t *vals,
                    size_t n) {
    int64_t dims[1] = {(int64_t)n};
    add_init(m, name, I64, rank, dims, vals, n);
}

/* A float weight of the given shape with seeded random values (never all zeros). */
static void add_weight(Onnx__ModelProto *m, const char *name, int rank, const int64_t *dims) {
    size_t n = 1;
    for (int d = 0; d < rank; d++) n *= (size_t)dims[d];
    float *w = xcalloc(n, sizeof *w);
    unsigned s = 12345;
    for (size_t i = 0; i < n; i++) w[i] = (float)((s = s * 1103515245u + 12345u) >> 16) / 65536.f;
    add_init(m, name, F32, rank, dims, w, n);
    free(w);
}

/* ins/outs: comma-separated value names ("x,w"). */
static Onnx__NodeProto *node(Onnx__ModelProto *m, const char *op, const char *ins,
                             const char *outs) {
    Onnx__NodeProto *n = xcalloc(1, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = xstr(op);
    char *copy = xstr(ins), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        APPEND(n->input, n->n_input, xstr(tok));
    free(copy);
    copy = xstr(outs);
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        APPEND(n->output, n->n_output, xstr(tok));
    free(copy);
    APPEND(m->graph->node, m->graph->n_node, n);
    return n;
}

static void attr_int(Onnx__NodeProto *n, const char *name, int64_t v) {
    Onnx__AttributeProto *a = xcalloc(1, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = xstr(name);
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = v;
    APPEND(n->attribute, n->n_attribute, a);
}

static void attr_ints(Onnx__NodeProto *n, const char *name, const int64_t *v, size_t count) {
    Onnx__AttributeProto *a = xcalloc(1, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = xstr(name);
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    a->n_ints = count;
    a->ints = xcalloc(count, sizeof *v);
    memcpy(a->ints, v, count * sizeof *v);
    APPEND(n->attribute, n->n_attribute, a);
}

/* ---- loading and checking ------------------------------------------------------------ */

static cinfer_runtime *rt;

static void setup(void) {
    cinfer_runtime_options o;
    cinfer_runtime_options_init(&o);
    o.device = CINFER_DEVICE_CPU;
    o.num_threads = 1;
    ck_assert_int_eq(cinfer_runtime_create(&o, &rt), CINFER_OK);
}

static void teardown(void) { cinfer_runtime_destroy(rt); }

/* Packs m (freed) and loads it. */
static cinfer_model *load(Onnx__ModelProto *m) {
    size_t len = onnx__model_proto__get_packed_size(m);
    uint8_t *buf = xcalloc(len, 1);
    ck_assert_uint_eq(onnx__model_proto__pack(m, buf), len);
    protobuf_c_message_free_unpacked(&m->base, NULL);
    cinfer_model *model = NULL;
    cinfer_status st = cinfer_model_load_memory(rt, buf, len, NULL, &model);
    free(buf);
    ck_assert_msg(st == CINFER_OK, "load: %s", cinfer_last_error());
    return model;
}

typedef struct shapes {
    cinfer__value_shape *v;
    int n;
} shapes;

static shapes infer(cinfer_model *model) {
    shapes s = {0};
    cinfer_status st = cinfer__model_symbolic_shapes(model, &s.v, &s.n);
    ck_assert_msg(st == CINFER_OK, "symbolic shapes: %s", cinfer_last_error());
    return s;
}

static const cinfer__value_shape *find(const shapes *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].name, name)) return &s->v[i];
    ck_abort_msg("no inferred shape for value '%s'", name);
    return NULL;
}

/* Checks value `name`: dtype and "[a x b x ...]" as cinfer__value_shape_str prints it, and
 * that dims[] hold -1 exactly where the text is not a number. */
static void expect(const shapes *s, const char *name, cinfer_dtype dtype, const char *want) {
    const cinfer__value_shape *v = find(s, name);
    char got[512];
    cinfer__value_shape_str(v, got, sizeof got);
    ck_assert_msg(!strcmp(got, want), "%s: inferred %s, expected %s", name, got, want);
    ck_assert_int_eq(v->dtype, dtype);
    for (int d = 0; d < v->rank; d++) {
        bool number = strspn(v->sym[d], "0123456789") == strlen(v->sym[d]);
        ck_assert_msg(number ? v->dims[d] == atoll(v->sym[d]) : v->dims[d] == -1,
                      "%s dim %d: %lld for '%s'", name, d, (long long)v->dims[d], v->sym[d]);
    }
}

/* ---- tests ---------------------------------------------------------------------------- */

START_TEST(matmul_keeps_the_batch_symbol) {
    Onnx__ModelProto *m = model_new(13);
    add_input(m, "x", F32, "batch,64");
    add_weight(m, "w", 2, (int64_t[]){64, 10});
    node(m, "MatMul", "x,w", "logits");
    add_output(m, "logits");
    cinfer_model *model = load(m);
    int plans = model->n_plans;
    shapes s = infer(model);
    expect(&s, "x", CINFER_DTYPE_FLOAT, "[batch x 64]");
    expect(&s, "logits", CINFER_DTYPE_FLOAT, "[batch x 10]");
    ck_assert(find(&s, "logits")->is_output && find(&s, "x")->is_input);
    ck_assert(find(&s, "w")->is_constant);
    ck_assert_int_eq(model->n_plans, plans); /* sample plans are not cached */
    cinfer__value_shapes_free(s.v, s.n);
    cinfer_model_destroy(model);
}
END_TEST

/* The exporter's idiom: Reshape to (batch*seq, 8) through Shape/Gather/Mul/Concat. */
START_TEST(shape_soup_reshape_gives_a_product) {
    Onnx__ModelProto *m = model_new(13);
    add_input(m, "x", F32, "batch,seq,8");
    add_i64(m, "i0", 0, (int64_t[]){0}, 1);
    add_i64(m, "i1", 0, (int64_t[]){1}, 1);
    add_i64(m, "axes0", 1, (int64_t[]){0}, 1);
    add_i64(m, "eight", 1, (int64_t[]){8}, 1);
    node(m, "Shape", "x", "s");
    attr_int(node(m, "Gather", "s,i0", "b"), "axis", 0);
    attr_int(node(m, "Gather", "s,i1", "q"), "axis", 0);
    node(m, "Mul", "b,q", "bq");
    node(m, "Unsqueeze", "bq,axes0", "bq1");
    attr_int(node(m, "Concat", "bq1,eight", "target"), "axis", 0);
    node(m, "Reshape", "x,target", "flat");
    node(m, "Relu", "flat", "y");
    add_output(m, "y");
    cinfer_model *model = load(m);
    shapes s = infer(model);
    expect(&s, "flat", CINFER_DTYPE_FLOAT, "[batch*seq x 8]");
    expect(&s, "y", CINFER_DTYPE_FLOAT, "[batch*seq x 8]");
    expect(&s, "target", CINFER_DTYPE_INT64, "[2]");
    const cinfer__value_shape *t = find(&s, "target"), *b = find(&s, "b");
    ck_assert(t->folded && b->folded && !find(&s, "y")->folded);
    ck_assert_str_eq(t->contents, "[batch*seq, 8]");
    ck_assert_str_eq(b->contents, "batch");
    ck_assert_str_eq(find(&s, "s")->contents, "[batch, seq, 8]");
    ck_assert_ptr_null(find(&s, "y")->contents);
    cinfer__value_shapes_free(s.v, s.n);
    cinfer_model_destroy(model);
}
END_TEST

/* Concat along a symbolic axis (2*seq, seq+len), Split back (seq), Transpose, and an
 * unnamed input dim (unk_y_1). */
START_TEST(concat_split_and_unnamed_dims) {
    Onnx__ModelProto *m = model_new(13);
    add_input(m, "x", F32, "batch,seq,4");
    add_input(m, "y", F32, "batch,?,4");
    attr_int(node(m, "Concat", "x,x", "xx"), "axis", 1);
    attr_int(node(m, "Concat", "x,y", "xy"), "axis", -2);
    attr_int(node(m, "Split", "xx", "h0,h1"), "axis", 1);
    attr_ints(node(m, "Transpose", "xy", "t"), "perm", (int64_t[]){2, 1, 0}, 3);
    add_output(m, "xx");
    add_output(m, "t");
    add_output(m, "h1");
    cinfer_model *model = load(m);
    shapes s = infer(model);
    expect(&s, "y", CINFER_DTYPE_FLOAT, "[batch x unk_y_1 x 4]");
    expect(&s, "xx", CINFER_DTYPE_FLOAT, "[batch x 2*seq x 4]");
    expect(&s, "xy", CINFER_DTYPE_FLOAT, "[batch x seq+unk_y_1 x 4]");
    expect(&s, "t", CINFER_DTYPE_FLOAT, "[4 x seq+unk_y_1 x batch]");
    expect(&s, "h0", CINFER_DTYPE_FLOAT, "[batch x seq x 4]");
    expect(&s, "h1", CINFER_DTYPE_FLOAT, "[batch x seq x 4]");
    cinfer__value_shapes_free(s.v, s.n);
    cinfer_model_destroy(model);
}
END_TEST

/* Strided and unpadded convolutions over symbolic H and W (h/2, then h/2-2), and a Flatten
 * of 8 x h/2 x w/2 (2*h*w). */
START_TEST(conv_divides_and_offsets_spatial_dims) {
    Onnx__ModelProto *m = model_new(13);
    add_input(m, "x", F32, "n,3,h,w");
    add_weight(m, "w1", 4, (int64_t[]){8, 3, 3, 3});
    add_weight(m, "w2", 4, (int64_t[]){4, 8, 3, 3});
    Onnx__NodeProto *c1 = node(m, "Conv", "x,w1", "c1");
    attr_ints(c1, "strides", (int64_t[]){2, 2}, 2);
    attr_ints(c1, "pads", (int64_t[]){1, 1, 1, 1}, 4);
    node(m, "Conv", "c1,w2", "c2");
    attr_int(node(m, "Flatten", "c1", "f"), "axis", 1);
    add_output(m, "c2");
    add_output(m, "f");
    cinfer_model *model = load(m);
    shapes s = infer(model);
    expect(&s, "c1", CINFER_DTYPE_FLOAT, "[n x 8 x h/2 x w/2]");
    expect(&s, "c2", CINFER_DTYPE_FLOAT, "[n x 4 x h/2-2 x w/2-2]");
    expect(&s, "f", CINFER_DTYPE_FLOAT, "[n x 2*h*w]");
    cinfer__value_shapes_free(s.v, s.n);
    cinfer_model_destroy(model);
}
END_TEST

START_TEST(fixed_model_has_only_fixed_dims) {
    Onnx__ModelProto *m = model_new(13);
    add_input(m, "x", F32, "2,3");
    add_i64(m, "shape", 1, (int64_t[]){3, 2}, 2);
    node(m, "Reshape", "x,shape", "r");
    node(m, "Relu", "r", "y");
    add_output(m, "y");
    cinfer_model *model = load(m);
    shapes s = infer(model);
    expect(&s, "x", CINFER_DTYPE_FLOAT, "[2 x 3]");
    expect(&s, "r", CINFER_DTYPE_FLOAT, "[3 x 2]");
    expect(&s, "y", CINFER_DTYPE_FLOAT, "[3 x 2]");
    for (int i = 0; i < s.n; i++)
        for (int d = 0; d < s.v[i].rank; d++) ck_assert_int_ge(s.v[i].dims[d], 0);
    cinfer__value_shapes_free(s.v, s.n);
    cinfer_model_destroy(model);
}
END_TEST

/* Inputs that must agree but carry different names: the sample plans with distinct values
 * fail, the fallback gives every dim at one axis the first input's symbol. */
START_TEST(inputs_that_must_agree_are_unified_by_axis) {
    Onnx__ModelProto *m = model_new(13);
    add_input(m, "a", F32, "a_rows,4");
    add_input(m, "b", F32, "b_rows,4");
    node(m, "Add", "a,b", "y");
    add_output(m, "y");
    cinfer_model *model = load(m);
    shapes s = infer(model);
    expect(&s, "b", CINFER_DTYPE_FLOAT, "[a_rows x 4]");
    expect(&s, "y", CINFER_DTYPE_FLOAT, "[a_rows x 4]");
    cinfer__value_shapes_free(s.v, s.n);
    cinfer_model_destroy(model);
}
END_TEST

/* A dimension capped by a table (rows sliced to the input's length, as position embeddings
 * are) fails with large sample values; the small-value tier still explains it. */
START_TEST(capped_dims_fall_back_to_small_values) {
    Onnx__ModelProto *m = model_new(13);
    add_input(m, "x", F32, "len,4");
    add_weight(m, "table", 2, (int64_t[]){40, 4});
    add_i64(m, "zero", 1, (int64_t[]){0}, 1);
    add_i64(m, "one", 1, (int64_t[]){1}, 1);
    node(m, "Shape", "x", "s");
    node(m, "Slice", "s,zero,one", "end");
    node(m, "Slice", "table,zero,end", "pos");
    node(m, "Add", "x,pos", "y");
    add_output(m, "y");
    cinfer_model *model = load(m);
    shapes s = infer(model);
    expect(&s, "pos", CINFER_DTYPE_FLOAT, "[len x 4]");
    expect(&s, "y", CINFER_DTYPE_FLOAT, "[len x 4]");
    cinfer__value_shapes_free(s.v, s.n);
    cinfer_model_destroy(model);
}
END_TEST

START_TEST(data_dependent_shapes_are_unsupported) {
    Onnx__ModelProto *m = model_new(13);
    add_input(m, "x", F32, "n,6");
    add_input(m, "shape", I64, "2");
    node(m, "Reshape", "x,shape", "y");
    add_output(m, "y");
    cinfer_model *model = load(m);
    cinfer__value_shape *v = (void *)1;
    int n = -1;
    ck_assert_int_eq(cinfer__model_symbolic_shapes(model, &v, &n), CINFER_UNSUPPORTED);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(n, 0);
    ck_assert_msg(strstr(cinfer_last_error(), "'shape'"), "%s", cinfer_last_error());
    cinfer__value_shapes_free(NULL, 0);
    cinfer_model_destroy(model);
}
END_TEST

/* A model no sample can plan (rows must be exactly 5): the planner's error, with the values
 * tried. */
START_TEST(unplannable_samples_report_the_planner_error) {
    Onnx__ModelProto *m = model_new(13);
    add_input(m, "x", F32, "rows,4");
    add_weight(m, "c", 2, (int64_t[]){5, 4});
    node(m, "Add", "x,c", "y");
    add_output(m, "y");
    cinfer_model *model = load(m);
    cinfer__value_shape *v = NULL;
    int n = 0;
    cinfer_status st = cinfer__model_symbolic_shapes(model, &v, &n);
    ck_assert_int_ne(st, CINFER_OK);
    ck_assert_ptr_null(v);
    ck_assert_msg(strstr(cinfer_last_error(), "rows=96"), "%s", cinfer_last_error());
    cinfer_model_destroy(model);
}
END_TEST

/* Allocation failures before the sample plans (the symbol table: the input array, names,
 * dim map, two symbol names and three value rows = 8 allocations) are reported as
 * OUT_OF_MEMORY, and leak nothing under ASan. Failures inside cinfer__plan_build are not
 * injected here: plan_build's cleanup reads p->vals even when allocating it failed. */
START_TEST(allocation_failures_are_reported) {
    Onnx__ModelProto *m = model_new(13);
    add_input(m, "x", F32, "batch,seq,4");
    attr_int(node(m, "Concat", "x,x", "xx"), "axis", 1);
    node(m, "Shape", "xx", "s");
    add_output(m, "xx");
    add_output(m, "s");
    cinfer_model *model = load(m);
    for (long k = 1; k <= 8; k++) {
        cinfer__value_shape *v = NULL;
        int n = 0;
        cinfer__alloc_fail_after(k);
        cinfer_status st = cinfer__model_symbolic_shapes(model, &v, &n);
        cinfer__alloc_fail_after(0);
        ck_assert_msg(st == CINFER_OUT_OF_MEMORY, "k=%ld: %s", k, cinfer_last_error());
        ck_assert_ptr_null(v);
    }
    shapes s = infer(model);
    expect(&s, "s", CINFER_DTYPE_INT64, "[3]");
    ck_assert_str_eq(find(&s, "s")->contents, "[batch, 2*seq, 4]");
    cinfer__value_shapes_free(s.v, s.n);
    cinfer_model_destroy(model);
}
END_TEST

/* ---- load-time shape inference (src/ir/static_dims.c) ---------------------------------- */

/* The graph value named `name` after loading. */
static int value_of(const cinfer_model *model, const char *name) {
    int v = cinfer__graph_find(model->g, name);
    ck_assert_msg(v >= 0, "no value '%s'", name);
    return v;
}

/* The one-element int64 constant value `name` became at load, or abort. */
static int64_t folded_int(const cinfer_model *model, const char *name) {
    const cinfer_tensor *t = model->g->values[value_of(model, name)].constant;
    ck_assert_msg(t && t->dtype == CINFER_DTYPE_INT64 && cinfer_tensor_numel(t) == 1,
                  "'%s' was not folded into an int64 constant", name);
    return ((const int64_t *)t->data)[0];
}

/* torch's chunk(3) on the last axis of a projection: the bounds come from Shape(y)[-1], which
 * is the weight's 12 whatever batch and seq are, so they fold (12 + 2) / 3 = 4 and 8, the
 * Slices get constant bounds; Shape(y)[0] is the batch and must not fold. */
START_TEST(static_dims_fold_a_weight_dim) {
    Onnx__ModelProto *m = model_new(13);
    add_input(m, "x", F32, "batch,seq,8");
    add_weight(m, "w", 2, (int64_t[]){8, 12});
    node(m, "MatMul", "x,w", "y");
    node(m, "Shape", "y", "ys");
    add_i64(m, "last", 0, (int64_t[]){-1}, 1);
    add_i64(m, "first", 0, (int64_t[]){0}, 1);
    attr_int(node(m, "Gather", "ys,last", "e"), "axis", 0);
    attr_int(node(m, "Gather", "ys,first", "b"), "axis", 0);
    add_i64(m, "two", 1, (int64_t[]){2}, 1);
    add_i64(m, "three", 1, (int64_t[]){3}, 1);
    add_i64(m, "zero", 1, (int64_t[]){0}, 1);
    add_i64(m, "axes", 1, (int64_t[]){-1}, 1);
    node(m, "Add", "e,two", "e2");
    node(m, "Div", "e2,three", "third");
    node(m, "Mul", "third,two", "two_thirds");
    node(m, "Slice", "y,third,two_thirds,axes", "k");
    attr_int(node(m, "Cast", "b", "bf"), "to", F32);
    add_output(m, "k");
    add_output(m, "bf");
    cinfer_model *model = load(m);
    ck_assert_int_eq(folded_int(model, "third"), 4);
    ck_assert_int_eq(folded_int(model, "two_thirds"), 8);
    ck_assert_ptr_null(model->g->values[value_of(model, "b")].constant);
    const cinfer__graph *g = model->g;
    int x = value_of(model, "x"), y = value_of(model, "y"), k = value_of(model, "k");
    ck_assert(cinfer__sdims_same(g, x, 0, y, 0) && cinfer__sdims_same(g, x, 1, k, 1));
    ck_assert_int_eq(cinfer__sdims_known(g, y, 2), 12);
    ck_assert_int_eq(cinfer__sdims_known(g, k, -1), 4);
    ck_assert_int_eq(cinfer__sdims_known(g, k, 0), -1); /* the batch: unknown */
    ck_assert(!cinfer__sdims_same(g, x, 0, x, 1));       /* batch and seq differ */
    ck_assert_int_gt(model->n_folded_static, 0);
    cinfer_model_destroy(model);
}
END_TEST

/* The head split a BERT export writes: Reshape(x, [Shape(x)[0], Shape(x)[1], 2, 4]) keeps
 * batch and seq (the same unknowns as x's), and a target element that is another value's dim
 * (x's seq at position 0) leaves that dim unknown, not equal to batch. Broadcasting two
 * different unknowns proves nothing either (one of them may be 1). */
START_TEST(static_dims_follow_unknown_dims) {
    Onnx__ModelProto *m = model_new(13);
    add_input(m, "x", F32, "batch,seq,8");
    add_input(m, "z", F32, "n,seq,8");
    node(m, "Shape", "x", "xs");
    add_i64(m, "i0", 0, (int64_t[]){0}, 1);
    add_i64(m, "i1", 0, (int64_t[]){1}, 1);
    add_i64(m, "ax0", 1, (int64_t[]){0}, 1);
    add_i64(m, "hd", 1, (int64_t[]){2, 4}, 2);
    attr_int(node(m, "Gather", "xs,i0", "b"), "axis", 0);
    attr_int(node(m, "Gather", "xs,i1", "s"), "axis", 0);
    node(m, "Unsqueeze", "b,ax0", "bu");
    node(m, "Unsqueeze", "s,ax0", "su");
    attr_int(node(m, "Concat", "bu,su,hd", "target"), "axis", 0);
    attr_int(node(m, "Concat", "su,bu,hd", "swapped"), "axis", 0);
    node(m, "Reshape", "x,target", "x4");
    node(m, "Reshape", "x,swapped", "x4s");
    node(m, "Add", "x,z", "xz");
    add_output(m, "x4");
    add_output(m, "x4s");
    add_output(m, "xz");
    cinfer_model *model = load(m);
    const cinfer__graph *g = model->g;
    int x = value_of(model, "x"), x4 = value_of(model, "x4"), x4s = value_of(model, "x4s");
    int xz = value_of(model, "xz"), z = value_of(model, "z");
    ck_assert(cinfer__sdims_same(g, x, 0, x4, 0) && cinfer__sdims_same(g, x, 1, x4, 1));
    ck_assert_int_eq(cinfer__sdims_known(g, x4, 2), 2);
    ck_assert_int_eq(cinfer__sdims_known(g, x4, 3), 4);
    ck_assert(!cinfer__sdims_same(g, x, 1, x4s, 0) && !cinfer__sdims_same(g, x, 0, x4s, 0));
    ck_assert(cinfer__sdims_same(g, x, 1, xz, 1) && cinfer__sdims_same(g, z, 1, xz, 1));
    ck_assert(!cinfer__sdims_same(g, x, 0, xz, 0) && !cinfer__sdims_same(g, z, 0, xz, 0));
    ck_assert_int_eq(cinfer__sdims_known(g, xz, 2), 8);
    cinfer_model_destroy(model);
}
END_TEST

/* Inputs that share a dim_param share the unknown, also after many unnamed dims (each its own
 * unknown) have been numbered: a name's table grows past them. */
START_TEST(static_dims_names_after_unnamed_dims) {
    Onnx__ModelProto *m = model_new(13);
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof name, "u%d", i);
        add_input(m, name, F32, "?,?,?,?,?,?,?,?");
        add_output(m, name);
    }
    add_input(m, "x", F32, "batch,seq");
    add_input(m, "y", F32, "batch,seq");
    node(m, "Add", "x,y", "xy");
    add_output(m, "xy");
    cinfer_model *model = load(m);
    const cinfer__graph *g = model->g;
    int x = value_of(model, "x"), y = value_of(model, "y"), xy = value_of(model, "xy");
    int u0 = value_of(model, "u0"), u1 = value_of(model, "u1");
    ck_assert(cinfer__sdims_same(g, x, 0, y, 0) && cinfer__sdims_same(g, x, 1, xy, 1));
    ck_assert(!cinfer__sdims_same(g, x, 0, x, 1) && !cinfer__sdims_same(g, u0, 3, u1, 3));
    ck_assert(cinfer__sdims_same(g, u0, 3, u0, 3));
    cinfer_model_destroy(model);
}
END_TEST

int main(void) {
    Suite *s = suite_create("symbolic");
    TCase *tc = tcase_create("symbolic");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, matmul_keeps_the_batch_symbol);
    tcase_add_test(tc, shape_soup_reshape_gives_a_product);
    tcase_add_test(tc, concat_split_and_unnamed_dims);
    tcase_add_test(tc, conv_divides_and_offsets_spatial_dims);
    tcase_add_test(tc, fixed_model_has_only_fixed_dims);
    tcase_add_test(tc, inputs_that_must_agree_are_unified_by_axis);
    tcase_add_test(tc, capped_dims_fall_back_to_small_values);
    tcase_add_test(tc, data_dependent_shapes_are_unsupported);
    tcase_add_test(tc, unplannable_samples_report_the_planner_error);
    tcase_add_test(tc, allocation_failures_are_reported);
    tcase_add_test(tc, static_dims_fold_a_weight_dim);
    tcase_add_test(tc, static_dims_follow_unknown_dims);
    tcase_add_test(tc, static_dims_names_after_unnamed_dims);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
