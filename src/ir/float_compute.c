/* Models stored in 16-bit floats (fp16 or bf16 weights and activations, as converters for GPU
 * deployment write them) are computed in float: every 16-bit float constant becomes float,
 * dtype attributes that name a 16-bit float name float, a Cast to a 16-bit float is followed by
 * a Cast back to float (the rounding it asked for stays), and the graph's 16-bit inputs and
 * outputs get a Cast at the boundary, so callers still feed and receive the dtypes the model
 * declares. Every op then has its float kernels (the CPU backend has no 16-bit
 * arithmetic), and the result is at least as accurate as computing in 16 bits; on CUDA,
 * `--precision fp16` (or bf16) stores the activations in 16 bits again and runs the tensor-core
 * paths, NHWC included. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/tensor.h"
#include "ir/passes.h"

static bool half_float(cinfer_dtype t) {
    return t == CINFER_DTYPE_FLOAT16 || t == CINFER_DTYPE_BFLOAT16;
}

/* A float copy of 16-bit float tensor t (heap tensor, aligned data), or NULL. */
static cinfer_tensor *to_float(const cinfer_tensor *t) {
    int64_t n = cinfer_tensor_numel(t);
    cinfer_tensor *f = cinfer__calloc(1, sizeof *f);
    float *d = f ? cinfer__aligned_alloc(sizeof(float) * (size_t)(n ? n : 1)) : NULL;
    if (!d) {
        cinfer__free(f);
        return NULL;
    }
    const uint16_t *h = t->data;
    for (int64_t i = 0; i < n; i++)
        d[i] = t->dtype == CINFER_DTYPE_FLOAT16 ? cinfer__half_to_float(h[i])
                                               : cinfer__bf16_to_float(h[i]);
    *f = *t;
    f->dtype = CINFER_DTYPE_FLOAT;
    f->data = d;
    return f;
}

/* Integer attributes that name an element type, per op. */
static const char *dtype_attr(const cinfer__node *n) {
    static const char *const ops[][2] = {
        {"Cast", "to"}, {"EyeLike", "dtype"}, {"RandomNormal", "dtype"},
        {"RandomUniform", "dtype"}, {"RandomNormalLike", "dtype"},
        {"RandomUniformLike", "dtype"}};
    if (n->domain[0]) return NULL;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(n->op_type, ops[i][0])) return ops[i][1];
    return NULL;
}

/* Whether attribute at of node n names a 16-bit float type (a dtype attribute) or holds a
 * 16-bit float tensor (ConstantOfShape's value). */
static bool half_attr(const cinfer__node *n, const cinfer__attr *at) {
    const char *name = dtype_attr(n);
    if (name && at->type == CINFER_ATTR_INT && !strcmp(at->name, name))
        return half_float((cinfer_dtype)at->i);
    return !n->domain[0] && !strcmp(n->op_type, "ConstantOfShape") &&
           at->type == CINFER_ATTR_TENSOR && at->t && half_float(at->t->dtype);
}

/* The 16-bit type a Cast narrows to, or UNDEFINED. */
static cinfer_dtype cast_to_half(const cinfer__node *n) {
    if (n->domain[0] || strcmp(n->op_type, "Cast")) return CINFER_DTYPE_UNDEFINED;
    for (int a = 0; a < n->n_attrs; a++)
        if (half_attr(n, &n->attrs[a])) return (cinfer_dtype)n->attrs[a].i;
    return CINFER_DTYPE_UNDEFINED;
}

/* Rewrites node n's 16-bit float attributes to float. */
static cinfer_status retype_attrs(cinfer__node *n, bool *changed, cinfer__err *err) {
    for (int a = 0; a < n->n_attrs; a++) {
        cinfer__attr *at = &n->attrs[a];
        if (!half_attr(n, at)) continue;
        *changed = true;
        if (at->type == CINFER_ATTR_INT) {
            at->i = CINFER_DTYPE_FLOAT;
            continue;
        }
        cinfer_tensor *f = to_float(at->t);
        if (!f) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
        cinfer__tensor_destroy(at->t);
        at->t = f;
    }
    return CINFER_OK;
}

/* A new value named after v's with `suffix`, made unique. */
static int new_value(cinfer__graph *g, int v, const char *suffix) {
    char name[512];
    for (int k = 0; k < 1000; k++) {
        if (k) snprintf(name, sizeof name, "%s/%s%d", g->values[v].name, suffix, k);
        else snprintf(name, sizeof name, "%s/%s", g->values[v].name, suffix);
        if (cinfer__graph_find(g, name) < 0) return cinfer__graph_value(g, name);
    }
    return -1;
}

/* Appends Cast(from) -> to with attribute to = dtype, resolved. */
static cinfer_status add_cast(cinfer__graph *g, int from, int to, cinfer_dtype dtype,
                              cinfer__err *err) {
    char name[512];
    snprintf(name, sizeof name, "%s/cast", g->values[to].name);
    int i = cinfer__graph_add_node(g, name, "Cast", "", 1, &from, 1, &to);
    if (i < 0) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory adding a Cast");
    cinfer__attr a = {.name = cinfer__strdup("to"), .type = CINFER_ATTR_INT, .i = dtype};
    if (!a.name) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    CINFER_TRY(cinfer__node_add_attr(&g->nodes[i], &a, err));
    return cinfer__node_resolve(&g->nodes[i], err);
}

/* Node i, a Cast to 16-bit type t whose output is not a graph output, keeps its type but writes
 * a new value, and a Cast back to float makes its output: the rounding the model asked for stays
 * (a float model that rounds through fp16 on purpose gives ONNX Runtime's result) while the
 * readers compute in float. *done says whether it applied. (A Cast that makes a graph output
 * becomes a Cast to float; the output's boundary Cast rounds.) */
static cinfer_status round_trip(cinfer__graph *g, int i, bool *done, cinfer__err *err) {
    cinfer_dtype t = cast_to_half(&g->nodes[i]);
    *done = false;
    if (t == CINFER_DTYPE_UNDEFINED || g->nodes[i].n_out != 1 ||
        g->values[g->nodes[i].out[0]].is_output)
        return CINFER_OK;
    int out = g->nodes[i].out[0];
    int h = new_value(g, out, "16bit");
    if (h < 0) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    g->values[h].dtype = t;
    g->values[h].rank = -1;
    g->nodes[i].out[0] = h;
    *done = true;
    return add_cast(g, h, out, CINFER_DTYPE_FLOAT, err);
}

/* Every node input reading `from` reads `to` instead (nodes [0, end)). */
static void rewire_inputs(cinfer__graph *g, int end, int from, int to) {
    for (int i = 0; i < end; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == from) g->nodes[i].in[k] = to;
}

static bool uses_half(const cinfer__graph *g) {
    for (int v = 0; v < g->n_values; v++) {
        const cinfer__value *x = &g->values[v];
        if ((x->constant && half_float(x->constant->dtype)) ||
            ((x->is_input || x->is_output) && half_float(x->dtype)))
            return true;
    }
    for (int i = 0; i < g->n_nodes; i++)
        for (int a = 0; a < g->nodes[i].n_attrs; a++)
            if (half_attr(&g->nodes[i], &g->nodes[i].attrs[a])) return true;
    return false;
}

/* The 16-bit float type the model is stored in, or UNDEFINED: the type of most of its
 * constant elements (the weights say which arithmetic the author meant), or, in a model with
 * no float constants at all, of most of its float inputs and outputs. A float model that
 * casts to fp16 somewhere inside, or takes 16-bit inputs into float weights, is not one. */
static cinfer_dtype stored_type(const cinfer__graph *g) {
    int64_t elements[3] = {0, 0, 0}; /* float, fp16, bf16 */
    int64_t io[3] = {0, 0, 0};
    for (int v = 0; v < g->n_values; v++) {
        const cinfer__value *x = &g->values[v];
        cinfer_dtype t = x->constant ? x->constant->dtype : x->dtype;
        int k = t == CINFER_DTYPE_FLOAT ? 0 : t == CINFER_DTYPE_FLOAT16 ? 1
              : t == CINFER_DTYPE_BFLOAT16 ? 2 : -1;
        if (k < 0) continue;
        if (x->constant) elements[k] += cinfer_tensor_numel(x->constant) + 1;
        else if (x->is_input || x->is_output) io[k]++;
    }
    const int64_t *n = elements[0] || elements[1] || elements[2] ? elements : io;
    if (n[1] > n[0] && n[1] >= n[2]) return CINFER_DTYPE_FLOAT16;
    if (n[2] > n[0] && n[2] > n[1]) return CINFER_DTYPE_BFLOAT16;
    return CINFER_DTYPE_UNDEFINED;
}

cinfer_status cinfer__pass_float_compute(cinfer__graph *g, bool *changed, cinfer_dtype *stored,
                                         cinfer__err *err) {
    *changed = uses_half(g);
    *stored = *changed ? stored_type(g) : CINFER_DTYPE_UNDEFINED;
    if (!*changed) return CINFER_OK;
    /* Constants (a 16-bit constant that is itself a graph output keeps its type). */
    for (int v = 0; v < g->n_values; v++) {
        cinfer__value *x = &g->values[v];
        if (!x->constant || !half_float(x->constant->dtype) || x->is_output) continue;
        cinfer_tensor *f = to_float(x->constant);
        if (!f) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory converting '%s'",
                                      x->name);
        cinfer__value_set_constant(x, f); /* (its dtype too) */
    }
    int n_nodes = g->n_nodes;
    for (int i = 0; i < n_nodes; i++) {
        bool retyped = false, rounds = false;
        CINFER_TRY(round_trip(g, i, &rounds, err));
        if (rounds) continue;
        CINFER_TRY(retype_attrs(&g->nodes[i], &retyped, err));
        if (retyped) CINFER_TRY(cinfer__node_resolve(&g->nodes[i], err));
    }
    /* Inputs: the caller's 16-bit tensor, cast to float for the nodes that read it. */
    for (int k = 0; k < g->n_inputs; k++) {
        int in = g->inputs[k];
        if (!half_float(g->values[in].dtype)) continue;
        int f = new_value(g, in, "float");
        if (f < 0) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
        rewire_inputs(g, n_nodes, in, f);
        g->values[f].dtype = CINFER_DTYPE_FLOAT;
        g->values[f].rank = -1;
        CINFER_TRY(add_cast(g, in, f, CINFER_DTYPE_FLOAT, err));
    }
    /* Outputs: computed in float under a new name, cast back to the declared type. */
    for (int k = 0; k < g->n_outputs; k++) {
        int out = g->outputs[k];
        cinfer__value *o = &g->values[out];
        if (!half_float(o->dtype) || o->is_input || o->constant) continue;
        cinfer_dtype declared = o->dtype;
        int f = new_value(g, out, "float");
        if (f < 0) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
        for (int i = 0; i < n_nodes; i++)
            for (int j = 0; j < g->nodes[i].n_out; j++)
                if (g->nodes[i].out[j] == out) g->nodes[i].out[j] = f;
        rewire_inputs(g, n_nodes, out, f);
        g->values[f].dtype = CINFER_DTYPE_FLOAT;
        g->values[f].rank = -1;
        CINFER_TRY(add_cast(g, f, out, declared, err));
    }
    /* Declared types of everything in between, but for what the kept Casts round to. */
    for (int v = 0; v < g->n_values; v++) {
        cinfer__value *x = &g->values[v];
        if (!x->is_input && !x->is_output && half_float(x->dtype)) x->dtype = CINFER_DTYPE_FLOAT;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        cinfer_dtype t = cast_to_half(&g->nodes[i]);
        if (t != CINFER_DTYPE_UNDEFINED) g->values[g->nodes[i].out[0]].dtype = t;
    }
    return cinfer__graph_sort(g, err);
}
