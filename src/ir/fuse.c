/* The fusion driver and what its patterns share: a use index over the graph and in-place node
 * rewrites. Each pattern turns a chain of nodes into one op computing the same function; the
 * first node of the chain is rewritten (so the graph stays in topological order) and the rest
 * are marked dead. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "ir/fuse.h"

cinfer_status cinfer__use_index_build(const cinfer__graph *g, cinfer__use_index *ix,
                                      cinfer__err *err) {
    size_t n = (size_t)g->n_values + 1;
    ix->producer = cinfer__malloc(n * sizeof(int));
    ix->consumer = cinfer__malloc(n * sizeof(int));
    ix->uses = cinfer__calloc(n, sizeof(int));
    if (!ix->producer || !ix->consumer || !ix->uses) {
        cinfer__use_index_free(ix);
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory fusing nodes");
    }
    for (int v = 0; v < g->n_values; v++) ix->producer[v] = ix->consumer[v] = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const cinfer__node *nd = &g->nodes[i];
        if (nd->dead) continue;
        for (int k = 0; k < nd->n_in; k++)
            if (nd->in[k] >= 0) {
                ix->uses[nd->in[k]]++;
                ix->consumer[nd->in[k]] = i;
            }
        for (int o = 0; o < nd->n_out; o++)
            if (nd->out[o] >= 0) ix->producer[nd->out[o]] = i;
    }
    for (int o = 0; o < g->n_outputs; o++) ix->uses[g->outputs[o]]++;
    return CINFER_OK;
}

void cinfer__use_index_free(cinfer__use_index *ix) {
    cinfer__free(ix->producer);
    cinfer__free(ix->consumer);
    cinfer__free(ix->uses);
    ix->producer = ix->consumer = ix->uses = NULL;
}

bool cinfer__fuse_is(const cinfer__node *n, const char *op_type) {
    return !n->dead && !strcmp(n->op_type, op_type) &&
           (!n->domain[0] || !strcmp(n->domain, "ai.onnx"));
}

/* A value the pattern may swallow: written by one node, read by exactly one, not an output. */
static bool internal(const cinfer__graph *g, const cinfer__use_index *ix, int v) {
    return v >= 0 && ix->uses[v] == 1 && !g->values[v].is_output && !g->values[v].is_input;
}

int cinfer__fuse_sole_producer(const cinfer__graph *g, const cinfer__use_index *ix, int v,
                               const char *op_type) {
    if (!internal(g, ix, v) || ix->producer[v] < 0) return -1;
    const cinfer__node *n = &g->nodes[ix->producer[v]];
    return cinfer__fuse_is(n, op_type) && n->n_out == 1 ? ix->producer[v] : -1;
}

int cinfer__fuse_sole_consumer(const cinfer__graph *g, const cinfer__use_index *ix, int v,
                               const char *op_type) {
    if (!internal(g, ix, v) || ix->consumer[v] < 0) return -1;
    return cinfer__fuse_is(&g->nodes[ix->consumer[v]], op_type) ? ix->consumer[v] : -1;
}

const cinfer_tensor *cinfer__fuse_const_f32(const cinfer__graph *g, int v) {
    if (v < 0 || g->values[v].is_input) return NULL;
    const cinfer_tensor *t = g->values[v].constant;
    return t && t->dtype == CINFER_DTYPE_FLOAT && t->data ? t : NULL;
}

bool cinfer__fuse_scalar_is(const cinfer__graph *g, int v, double x) {
    const cinfer_tensor *t = cinfer__fuse_const_f32(g, v);
    if (!t || cinfer_tensor_numel(t) != 1) return false;
    double c = ((const float *)t->data)[0];
    return fabs(c - x) <= 1e-5 * fabs(x);
}

int cinfer__fuse_other_input(const cinfer__node *n, int v) {
    if (n->n_in != 2) return -1;
    if (n->in[0] == v) return n->in[1];
    if (n->in[1] == v) return n->in[0];
    return -1;
}

static cinfer_status retype(cinfer__node *n, const char *op_type, const char *domain, int opset,
                            int n_in, const int *in, int n_out, const int *out, bool keep_attrs,
                            cinfer__err *err) {
    char *ty = cinfer__strdup(op_type), *dom = cinfer__strdup(domain);
    int *ins = cinfer__malloc((size_t)(n_in ? n_in : 1) * sizeof(int));
    int *outs = cinfer__malloc((size_t)(n_out ? n_out : 1) * sizeof(int));
    if (!ty || !dom || !ins || !outs) {
        cinfer__free(ty);
        cinfer__free(dom);
        cinfer__free(ins);
        cinfer__free(outs);
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory fusing node '%s'",
                              n->name);
    }
    memcpy(ins, in, (size_t)n_in * sizeof(int));
    memcpy(outs, out, (size_t)n_out * sizeof(int));
    cinfer__free(n->op_type);
    cinfer__free(n->domain);
    cinfer__free(n->in);
    cinfer__free(n->out);
    if (!keep_attrs) {
        for (int a = 0; a < n->n_attrs; a++) cinfer__attr_free(&n->attrs[a]);
        cinfer__free(n->attrs);
        n->attrs = NULL;
        n->n_attrs = 0;
    }
    n->op_type = ty;
    n->domain = dom;
    n->opset = opset;
    n->in = ins;
    n->n_in = n_in;
    n->out = outs;
    n->n_out = n_out;
    return cinfer__node_resolve(n, err);
}

cinfer_status cinfer__fuse_rewrite(cinfer__node *n, const char *op_type, const char *domain,
                                   int opset, int n_in, const int *in, int n_out, const int *out,
                                   cinfer__err *err) {
    return retype(n, op_type, domain, opset, n_in, in, n_out, out, false, err);
}

cinfer_status cinfer__fuse_retype(cinfer__node *n, const char *op_type, const char *domain,
                                  int opset, int n_in, const int *in, int n_out, const int *out,
                                  cinfer__err *err) {
    return retype(n, op_type, domain, opset, n_in, in, n_out, out, true, err);
}

static cinfer_status add_attr(cinfer__node *n, cinfer__attr *a, cinfer__err *err) {
    if (!a->name) {
        cinfer__attr_free(a);
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory fusing node '%s'",
                              n->name);
    }
    CINFER_TRY(cinfer__node_add_attr(n, a, err));
    return cinfer__node_resolve(n, err);
}

cinfer_status cinfer__fuse_attr_string(cinfer__node *n, const char *name, const char *value,
                                       cinfer__err *err) {
    cinfer__attr a = {.name = cinfer__strdup(name), .type = CINFER_ATTR_STRING,
                      .s = cinfer__strdup(value), .s_len = strlen(value)};
    if (!a.s) {
        cinfer__free(a.name);
        a.name = NULL;
    }
    return add_attr(n, &a, err);
}

cinfer_status cinfer__fuse_attr_int(cinfer__node *n, const char *name, int64_t value,
                                    cinfer__err *err) {
    cinfer__attr a = {.name = cinfer__strdup(name), .type = CINFER_ATTR_INT, .i = value};
    return add_attr(n, &a, err);
}

cinfer_status cinfer__fuse_attr_float(cinfer__node *n, const char *name, float value,
                                      cinfer__err *err) {
    cinfer__attr a = {.name = cinfer__strdup(name), .type = CINFER_ATTR_FLOAT, .f = value};
    return add_attr(n, &a, err);
}

const char *cinfer__fusion_name(cinfer__fusion_kind kind) {
    switch (kind) {
    case CINFER_FUSION_GELU: return "GELU chain -> Gelu";
    case CINFER_FUSION_MATMUL_BIAS: return "MatMul + bias -> FusedMatMul";
    case CINFER_FUSION_CONV_ADD: return "Conv + Add (residual) -> FusedConv";
    case CINFER_FUSION_ACTIVATION: return "MatMul/Conv/Gemm + Relu/Gelu -> epilogue";
    case CINFER_FUSION_ATTENTION: return "Q K^T, scale, mask, Softmax, . V -> Attention";
    case CINFER_FUSION_LAYERNORM: return "LayerNorm in elementwise ops -> LayerNormalization";
    case CINFER_FUSION_SKIP_LAYERNORM: return "Add + LayerNormalization -> SkipLayerNorm";
    case CINFER_FUSION_CHAIN: return "elementwise ops -> ElementwiseChain";
    case CINFER_FUSION_ATTENTION_HEADS: return "head Transposes -> Attention (packed heads)";
    case CINFER_FUSION_ATTENTION_ROWS: return "QKV Slices -> Attention (row form)";
    default: return "?";
    }
}

cinfer_status cinfer__pass_fuse(cinfer__graph *g, cinfer__fusions *done, cinfer__err *err) {
    memset(done, 0, sizeof *done);
    CINFER_TRY(cinfer__fuse_gelu(g, &done->count[CINFER_FUSION_GELU], err));
    CINFER_TRY(cinfer__fuse_attention(g, &done->count[CINFER_FUSION_ATTENTION],
                                      &done->count[CINFER_FUSION_ATTENTION_HEADS],
                                      &done->count[CINFER_FUSION_ATTENTION_ROWS], err));
    CINFER_TRY(cinfer__fuse_matmul_bias(g, &done->count[CINFER_FUSION_MATMUL_BIAS], err));
    CINFER_TRY(cinfer__fuse_conv_add(g, &done->count[CINFER_FUSION_CONV_ADD], err));
    CINFER_TRY(cinfer__fuse_activation(g, &done->count[CINFER_FUSION_ACTIVATION], err));
    CINFER_TRY(cinfer__fuse_layernorm(g, &done->count[CINFER_FUSION_LAYERNORM], err));
    CINFER_TRY(cinfer__fuse_skip_layernorm(g, &done->count[CINFER_FUSION_SKIP_LAYERNORM], err));
    CINFER_TRY(cinfer__fuse_chain(g, &done->count[CINFER_FUSION_CHAIN], err)); /* last */
    /* A rewrite may read values its node's new inputs come from later in the list. */
    return cinfer__graph_sort(g, err);
}
