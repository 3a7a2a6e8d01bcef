/* Load-time rewrite: Conv followed by an inference BatchNormalization becomes one Conv with
 * folded constant weights (W' = W * s, B' = (B - mean) * s + bias, s = scale / sqrt(var + eps),
 * computed in double). The BN node is marked dead and the Conv writes the BN's output. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/tensor.h"
#include "ir/passes.h"

/* Per-value producer node and number of consuming live nodes (graph outputs count too). */
typedef struct fold_index {
    int *producer;
    int *uses;
} fold_index;

static cinfer_status index_build(const cinfer__graph *g, fold_index *ix, cinfer__err *err) {
    ix->producer = cinfer__malloc((size_t)(g->n_values + 1) * sizeof(int));
    ix->uses = cinfer__calloc((size_t)g->n_values + 1, sizeof(int));
    if (!ix->producer || !ix->uses)
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory folding Conv+BN");
    for (int v = 0; v < g->n_values; v++) ix->producer[v] = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const cinfer__node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0) ix->uses[n->in[k]]++;
        for (int o = 0; o < n->n_out; o++)
            if (n->out[o] >= 0) ix->producer[n->out[o]] = i;
    }
    for (int o = 0; o < g->n_outputs; o++) ix->uses[g->outputs[o]]++;
    return CINFER_OK;
}

static bool default_domain(const char *d) { return !d[0] || !strcmp(d, "ai.onnx"); }

/* A float constant the caller cannot override at run time, or NULL. */
static const cinfer_tensor *const_f32(const cinfer__graph *g, int v) {
    if (v < 0 || g->values[v].is_input) return NULL;
    const cinfer_tensor *t = g->values[v].constant;
    return t && t->dtype == CINFER_DTYPE_FLOAT && t->data ? t : NULL;
}

/* Can BN node `bi` (with its producer Conv `ci`) be folded? */
static bool foldable(const cinfer__graph *g, const fold_index *ix, int ci, int bi) {
    const cinfer__node *c = &g->nodes[ci], *b = &g->nodes[bi];
    if (strcmp(c->op_type, "Conv") || !default_domain(c->domain) || c->n_out != 1 || c->n_in < 2)
        return false;
    int y = c->out[0];
    if (y < 0 || b->in[0] != y || ix->uses[y] != 1 || g->values[y].is_output) return false;
    for (int o = 1; o < b->n_out; o++)
        if (b->out[o] >= 0) return false; /* training-mode statistics outputs */
    if (b->n_in != 5 || b->out[0] < 0) return false;
    if (cinfer__attr_int(b, "training_mode", 0) || !cinfer__attr_int(b, "spatial", 1))
        return false;
    const cinfer_tensor *w = const_f32(g, c->in[1]);
    if (!w || w->rank < 3) return false;
    int64_t m = w->dims[0];
    if (c->n_in > 2 && c->in[2] >= 0) {
        const cinfer_tensor *cb = const_f32(g, c->in[2]);
        if (!cb || cinfer_tensor_numel(cb) != m) return false;
    }
    for (int k = 1; k < 5; k++) {
        const cinfer_tensor *t = const_f32(g, b->in[k]);
        if (!t || cinfer_tensor_numel(t) != m) return false;
    }
    return true;
}

static cinfer_tensor *tensor_new(int rank, const int64_t *dims) {
    cinfer_tensor *t = cinfer__calloc(1, sizeof *t);
    if (!t) return NULL;
    t->dtype = CINFER_DTYPE_FLOAT;
    t->rank = rank;
    for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
    t->data = cinfer__aligned_alloc(cinfer__tensor_bytes(t) + 1);
    if (!t->data) {
        cinfer__free(t);
        return NULL;
    }
    return t;
}

/* Adds a constant value named "<base><suffix>" (made unique); returns its index or -1. */
static int add_constant(cinfer__graph *g, const char *base, const char *suffix, cinfer_tensor *t) {
    char name[512];
    snprintf(name, sizeof name, "%s%s", base, suffix);
    for (int i = 1; cinfer__graph_find(g, name) >= 0; i++)
        snprintf(name, sizeof name, "%s%s_%d", base, suffix, i);
    int v = cinfer__graph_value(g, name);
    if (v < 0) return -1;
    cinfer__value_set_constant(&g->values[v], t);
    return v;
}

/* W' and B' for the pair, computed in double. */
static void fold_weights(const cinfer__graph *g, const cinfer__node *c, const cinfer__node *b,
                         cinfer_tensor *w2, cinfer_tensor *b2) {
    const cinfer_tensor *w = g->values[c->in[1]].constant;
    const float *cb = c->n_in > 2 && c->in[2] >= 0 ? g->values[c->in[2]].constant->data : NULL;
    const float *scale = g->values[b->in[1]].constant->data;
    const float *bias = g->values[b->in[2]].constant->data;
    const float *mean = g->values[b->in[3]].constant->data;
    const float *var = g->values[b->in[4]].constant->data;
    double eps = cinfer__attr_float(b, "epsilon", 1e-5f);
    int64_t m = w->dims[0], per = cinfer_tensor_numel(w) / (m ? m : 1);
    const float *src = w->data;
    float *dw = w2->data, *db = b2->data;
    for (int64_t i = 0; i < m; i++) {
        double s = (double)scale[i] / sqrt((double)var[i] + eps);
        for (int64_t j = 0; j < per; j++) dw[i * per + j] = (float)((double)src[i * per + j] * s);
        double b0 = cb ? (double)cb[i] : 0.0;
        db[i] = (float)((b0 - (double)mean[i]) * s + (double)bias[i]);
    }
}

static cinfer_status fold_pair(cinfer__graph *g, fold_index *ix, int ci, int bi,
                               cinfer__err *err) {
    const cinfer_tensor *w = g->values[g->nodes[ci].in[1]].constant;
    cinfer_tensor *w2 = tensor_new(w->rank, w->dims), *b2 = tensor_new(1, w->dims);
    int *in = NULL;
    if (w2 && b2) in = cinfer__malloc(3 * sizeof(int));
    if (!in) {
        cinfer__tensor_destroy(w2);
        cinfer__tensor_destroy(b2);
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory folding Conv+BN");
    }
    fold_weights(g, &g->nodes[ci], &g->nodes[bi], w2, b2);
    const char *cname = g->nodes[ci].name;
    int vw = add_constant(g, cname, "_W_bnfold", w2);
    int vb = vw < 0 ? -1 : add_constant(g, cname, "_B_bnfold", b2);
    if (vw < 0 || vb < 0) {
        if (vw < 0) cinfer__tensor_destroy(w2);
        cinfer__tensor_destroy(b2);
        cinfer__free(in);
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory folding Conv+BN");
    }
    cinfer__node *c = &g->nodes[ci], *b = &g->nodes[bi];
    in[0] = c->in[0];
    in[1] = vw;
    in[2] = vb;
    cinfer__free(c->in);
    c->in = in;
    c->n_in = 3;
    c->out[0] = b->out[0];
    ix->producer[b->out[0]] = ci;
    b->dead = true;
    return CINFER_OK;
}

cinfer_status cinfer__pass_fold_conv_bn(cinfer__graph *g, int *n_folded, cinfer__err *err) {
    *n_folded = 0;
    fold_index ix = {NULL, NULL};
    cinfer_status st = index_build(g, &ix, err);
    int n_values0 = g->n_values; /* values added by folds are constants, never BN inputs */
    for (int bi = 0; st == CINFER_OK && bi < g->n_nodes; bi++) {
        const cinfer__node *b = &g->nodes[bi];
        if (b->dead || strcmp(b->op_type, "BatchNormalization") || !default_domain(b->domain))
            continue;
        if (b->n_in < 1 || b->in[0] < 0 || b->in[0] >= n_values0) continue;
        int ci = ix.producer[b->in[0]];
        if (ci < 0 || g->nodes[ci].dead || !foldable(g, &ix, ci, bi)) continue;
        st = fold_pair(g, &ix, ci, bi, err);
        if (st == CINFER_OK) (*n_folded)++;
    }
    cinfer__free(ix.producer);
    cinfer__free(ix.uses);
    return st;
}
