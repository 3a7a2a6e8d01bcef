/* Fusions into GEMM-like nodes: MatMul + Add(constant bias row) becomes FusedMatMul (bias in
 * the GEMM's epilogue); Conv + Add(residual) becomes FusedConv (the addend in the epilogue);
 * and a Relu or Gelu reading only a MatMul / FusedMatMul / Conv / FusedConv / Gemm output moves
 * into that node's epilogue. */
#include <string.h>

#include "ir/fuse.h"

/* A MatMul the fusions handle: float, with a constant B of rank >= 2 (so N is known). */
static const cinfer_tensor *matmul_weights(const cinfer__graph *g, const cinfer__node *n) {
    if (n->n_in != 2 || n->n_out != 1) return NULL;
    const cinfer_tensor *b = cinfer__fuse_const_f32(g, n->in[1]);
    return b && b->rank >= 2 ? b : NULL;
}

/* bias broadcasts as one row of N values onto an output of rank >= rank(B). */
static bool is_bias_row(const cinfer_tensor *bias, const cinfer_tensor *b) {
    int64_t n = b->dims[b->rank - 1];
    if (!bias || bias->rank < 1 || bias->rank > b->rank || bias->dims[bias->rank - 1] != n)
        return false;
    for (int i = 0; i + 1 < bias->rank; i++)
        if (bias->dims[i] != 1) return false;
    return true;
}

cinfer_status cinfer__fuse_matmul_bias(cinfer__graph *g, int *count, cinfer__err *err) {
    *count = 0;
    cinfer__use_index ix;
    CINFER_TRY(cinfer__use_index_build(g, &ix, err));
    cinfer_status st = CINFER_OK;
    for (int i = 0; st == CINFER_OK && i < g->n_nodes; i++) {
        cinfer__node *n = &g->nodes[i];
        const cinfer_tensor *w = cinfer__fuse_is(n, "MatMul") ? matmul_weights(g, n) : NULL;
        if (!w) continue;
        int add = cinfer__fuse_sole_consumer(g, &ix, n->out[0], "Add");
        if (add < 0 || g->nodes[add].n_out != 1) continue;
        int bias = cinfer__fuse_other_input(&g->nodes[add], n->out[0]);
        if (!is_bias_row(cinfer__fuse_const_f32(g, bias), w)) continue;
        int in[3] = {n->in[0], n->in[1], bias}, out = g->nodes[add].out[0];
        g->nodes[add].dead = true;
        st = cinfer__fuse_rewrite(n, "FusedMatMul", CINFER_FUSED_DOMAIN, 1, 3, in, 1, &out, err);
        if (st == CINFER_OK) (*count)++;
    }
    cinfer__use_index_free(&ix);
    return st;
}

/* The activation name FusedMatMul takes for a Relu or Gelu node, or NULL. */
static const char *activation_of(const cinfer__node *act) {
    if (cinfer__fuse_is(act, "Relu")) return "relu";
    if (!cinfer__fuse_is(act, "Gelu")) return NULL;
    const char *approx = cinfer__attr_string(act, "approximate", "none");
    return !strcmp(approx, "tanh") ? "gelu_tanh" : !strcmp(approx, "none") ? "gelu" : NULL;
}

/* Conv, FusedConv and Gemm take a Relu as the attribute cinfer.fused_relu. */
static bool is_conv_like(const cinfer__node *n) {
    if (cinfer__fuse_is(n, "Conv") || cinfer__fuse_is(n, "Gemm")) return true;
    return !n->dead && !strcmp(n->domain, CINFER_FUSED_DOMAIN) && !strcmp(n->op_type, "FusedConv");
}

/* Which node kinds take which activations: 0 none, 1 Relu only, 2 Relu and Gelu. */
static int accepts(const cinfer__graph *g, const cinfer__node *n) {
    if (n->dead || n->n_out != 1) return 0;
    if (!strcmp(n->domain, CINFER_FUSED_DOMAIN) && !strcmp(n->op_type, "FusedMatMul"))
        return cinfer__node_attr(n, "activation") ? 0 : 2;
    if (cinfer__fuse_is(n, "MatMul")) return matmul_weights(g, n) ? 2 : 0;
    if (is_conv_like(n)) {
        if (n->n_in < 2 || !cinfer__fuse_const_f32(g, n->in[1])) return 0;
        return cinfer__node_attr(n, CINFER_FUSED_RELU_ATTR) ? 0 : 1;
    }
    return 0;
}

static cinfer_status fuse_one(cinfer__graph *g, cinfer__node *n, const cinfer__node *act,
                              const char *name, cinfer__err *err) {
    int out = act->out[0];
    if (is_conv_like(n)) {
        n->out[0] = out;
        return cinfer__fuse_attr_int(n, CINFER_FUSED_RELU_ATTR, 1, err);
    }
    if (cinfer__fuse_is(n, "MatMul")) {
        int in[2] = {n->in[0], n->in[1]};
        CINFER_TRY(cinfer__fuse_rewrite(n, "FusedMatMul", CINFER_FUSED_DOMAIN, 1, 2, in, 1, &out,
                                        err));
    } else {
        n->out[0] = out;
    }
    return cinfer__fuse_attr_string(n, "activation", name, err);
}

cinfer_status cinfer__fuse_activation(cinfer__graph *g, int *count, cinfer__err *err) {
    *count = 0;
    cinfer__use_index ix;
    CINFER_TRY(cinfer__use_index_build(g, &ix, err));
    cinfer_status st = CINFER_OK;
    for (int i = 0; st == CINFER_OK && i < g->n_nodes; i++) {
        cinfer__node *n = &g->nodes[i];
        int kinds = accepts(g, n);
        if (!kinds) continue;
        int a = ix.uses[n->out[0]] == 1 && !g->values[n->out[0]].is_output
                    ? ix.consumer[n->out[0]] : -1;
        if (a < 0 || g->nodes[a].n_out != 1 || g->nodes[a].n_in != 1) continue;
        const char *name = activation_of(&g->nodes[a]);
        if (!name || (kinds == 1 && strcmp(name, "relu"))) continue;
        g->nodes[a].dead = true;
        st = fuse_one(g, n, &g->nodes[a], name, err);
        if (st == CINFER_OK) (*count)++;
    }
    cinfer__use_index_free(&ix);
    return st;
}

/* Conv (constant float W, no clamp yet) whose only reader is an Add: the Add's other operand
 * becomes the FusedConv's addend Z. The graph is sorted again after the passes, so Z may be
 * computed after the Conv in the file's order. */
cinfer_status cinfer__fuse_conv_add(cinfer__graph *g, int *count, cinfer__err *err) {
    *count = 0;
    cinfer__use_index ix;
    CINFER_TRY(cinfer__use_index_build(g, &ix, err));
    cinfer_status st = CINFER_OK;
    for (int i = 0; st == CINFER_OK && i < g->n_nodes; i++) {
        cinfer__node *n = &g->nodes[i];
        if (!cinfer__fuse_is(n, "Conv") || n->n_out != 1 || n->n_in < 2 ||
            !cinfer__fuse_const_f32(g, n->in[1]) || cinfer__node_attr(n, CINFER_FUSED_RELU_ATTR))
            continue;
        int add = cinfer__fuse_sole_consumer(g, &ix, n->out[0], "Add");
        if (add < 0 || g->nodes[add].n_out != 1 || cinfer__node_attr(&g->nodes[add], "broadcast"))
            continue;
        int z = cinfer__fuse_other_input(&g->nodes[add], n->out[0]);
        if (z < 0 || z == n->out[0]) continue;
        int in[4] = {n->in[0], n->in[1], n->n_in > 2 ? n->in[2] : -1, z};
        int out = g->nodes[add].out[0];
        g->nodes[add].dead = true;
        st = cinfer__fuse_retype(n, "FusedConv", CINFER_FUSED_DOMAIN, 1, 4, in, 1, &out, err);
        if (st == CINFER_OK) (*count)++;
    }
    cinfer__use_index_free(&ix);
    return st;
}
