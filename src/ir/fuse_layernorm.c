/* Fusion: Add(a, b) feeding a LayerNormalization (the residual connection of a transformer
 * block) becomes one SkipLayerNorm that adds and normalizes in one pass over each row. When
 * other nodes read the sum too (pre-LN blocks), the fused node writes it as a second output. */
#include "ir/fuse.h"

/* LayerNormalization node ln, whose Mean / InvStdDev outputs nobody reads, with constant
 * scale and bias (so the fused node may sit where the Add was). */
static bool fusable_ln(const cinfer__graph *g, const cinfer__use_index *ix,
                       const cinfer__node *ln) {
    if (!cinfer__fuse_is(ln, "LayerNormalization") || ln->n_in < 2 || ln->out[0] < 0)
        return false;
    for (int o = 1; o < ln->n_out; o++)
        if (ln->out[o] >= 0 && (ix->uses[ln->out[o]] || g->values[ln->out[o]].is_output))
            return false;
    for (int k = 1; k < ln->n_in; k++)
        if (ln->in[k] >= 0 && !cinfer__fuse_const_f32(g, ln->in[k])) return false;
    return true;
}

static cinfer_status fuse_pair(cinfer__graph *g, const cinfer__use_index *ix, int add, int ln,
                               cinfer__err *err) {
    cinfer__node *a = &g->nodes[add], *l = &g->nodes[ln];
    int sum = a->out[0];
    int in[4] = {a->in[0], a->in[1], l->in[1], l->n_in > 2 ? l->in[2] : -1};
    int out[2] = {l->out[0], sum};
    int n_out = ix->uses[sum] > 1 || g->values[sum].is_output ? 2 : 1;
    int64_t axis = cinfer__attr_int(l, "axis", -1);
    float eps = cinfer__attr_float(l, "epsilon", 1e-5f);
    l->dead = true;
    CINFER_TRY(cinfer__fuse_rewrite(a, "SkipLayerNorm", CINFER_FUSED_DOMAIN, 1, in[3] >= 0 ? 4 : 3,
                                    in, n_out, out, err));
    CINFER_TRY(cinfer__fuse_attr_int(a, "axis", axis, err));
    return cinfer__fuse_attr_float(a, "epsilon", eps, err);
}

cinfer_status cinfer__fuse_skip_layernorm(cinfer__graph *g, int *count, cinfer__err *err) {
    *count = 0;
    cinfer__use_index ix;
    CINFER_TRY(cinfer__use_index_build(g, &ix, err));
    cinfer_status st = CINFER_OK;
    for (int i = 0; st == CINFER_OK && i < g->n_nodes; i++) {
        const cinfer__node *ln = &g->nodes[i];
        if (!fusable_ln(g, &ix, ln)) continue;
        int add = ix.producer[ln->in[0]];
        if (add < 0 || !cinfer__fuse_is(&g->nodes[add], "Add") || g->nodes[add].n_out != 1 ||
            g->nodes[add].n_in != 2 || cinfer__node_attr(&g->nodes[add], "broadcast"))
            continue;
        st = fuse_pair(g, &ix, add, i, err);
        if (st == CINFER_OK) (*count)++;
    }
    cinfer__use_index_free(&ix);
    return st;
}
