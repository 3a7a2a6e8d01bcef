/* Fusions around LayerNorm. Add(a, b) feeding a LayerNormalization (the residual connection of
 * a transformer block) becomes one SkipLayerNorm that adds and normalizes in one pass over each
 * row; when other nodes read the sum too (pre-LN blocks), the fused node writes it as a second
 * output. And the LayerNorm that exports for opsets before 17 spell out in nine elementwise and
 * reduction ops becomes one LayerNormalization again. */
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

/* ---- The LayerNorm that opset <= 16 exports write out in elementwise ops ----
 * m = ReduceMean(x, [-1]); d = Sub(x, m); v = ReduceMean(Pow(d, 2), [-1]);
 * y = Div(d, Sqrt(Add(v, eps))) [* scale] [+ bias]  ->  LayerNormalization(x, scale, bias). */

/* ReduceMean over the last axis only, keeping it (axes as attribute or constant input). */
static bool mean_of_last_axis(const cinfer__graph *g, const cinfer__node *n) {
    if (!cinfer__fuse_is(n, "ReduceMean") || n->n_out != 1 || !cinfer__attr_int(n, "keepdims", 1))
        return false;
    size_t count = 0;
    const int64_t *axes = cinfer__attr_ints(n, "axes", &count);
    if (n->n_in > 1 && n->in[1] >= 0) {
        const cinfer_tensor *t = g->values[n->in[1]].constant;
        if (g->values[n->in[1]].is_input || !t || t->dtype != CINFER_DTYPE_INT64 || !t->data)
            return false;
        axes = t->data;
        count = (size_t)cinfer_tensor_numel(t);
    }
    return count == 1 && axes[0] == -1;
}

/* A constant row for scale or bias: rank 1 (so LayerNormalization broadcasts it alike). */
static bool const_row(const cinfer__graph *g, int v) {
    const cinfer_tensor *t = cinfer__fuse_const_f32(g, v);
    return t && t->rank == 1;
}

typedef struct ln_match {
    int x, eps_v, scale, bias, out;
    int dead[9], n_dead;
} ln_match;

/* From d = x - mean: the variance branch and the division; fills m->dead, returns the Div. */
static int match_variance(const cinfer__graph *g, const cinfer__use_index *ix, int sub,
                          ln_match *m) {
    int d = g->nodes[sub].out[0];
    if (ix->uses[d] != 2 || g->values[d].is_output) return -1;
    int pw = -1, dv = -1; /* d's two readers: Pow(d, 2) and Div(d, .) */
    for (int i = sub + 1; i < g->n_nodes; i++) {
        const cinfer__node *n = &g->nodes[i];
        if (n->dead || n->n_in != 2 || n->in[0] != d) continue;
        if (cinfer__fuse_is(n, "Pow") && cinfer__fuse_scalar_is(g, n->in[1], 2.0)) pw = i;
        else if (cinfer__fuse_is(n, "Div")) dv = i;
    }
    if (pw < 0 || dv < 0) return -1;
    int r2 = cinfer__fuse_sole_consumer(g, ix, g->nodes[pw].out[0], "ReduceMean");
    if (r2 < 0 || !mean_of_last_axis(g, &g->nodes[r2])) return -1;
    int add = cinfer__fuse_sole_consumer(g, ix, g->nodes[r2].out[0], "Add");
    if (add < 0) return -1;
    int eps = cinfer__fuse_other_input(&g->nodes[add], g->nodes[r2].out[0]);
    const cinfer_tensor *e = cinfer__fuse_const_f32(g, eps);
    if (!e || cinfer_tensor_numel(e) != 1) return -1;
    int sq = cinfer__fuse_sole_consumer(g, ix, g->nodes[add].out[0], "Sqrt");
    if (sq < 0 || cinfer__fuse_sole_consumer(g, ix, g->nodes[sq].out[0], "Div") != dv ||
        g->nodes[dv].in[1] != g->nodes[sq].out[0])
        return -1;
    m->eps_v = eps;
    int nodes[] = {sub, pw, r2, add, sq, dv};
    for (size_t k = 0; k < sizeof nodes / sizeof nodes[0]; k++) m->dead[m->n_dead++] = nodes[k];
    return dv;
}

static bool match_decomposed(const cinfer__graph *g, const cinfer__use_index *ix, int r1,
                             ln_match *m) {
    const cinfer__node *mean = &g->nodes[r1];
    if (!mean_of_last_axis(g, mean)) return false;
    int sub = cinfer__fuse_sole_consumer(g, ix, mean->out[0], "Sub");
    if (sub < 0 || g->nodes[sub].in[1] != mean->out[0] || g->nodes[sub].in[0] != mean->in[0])
        return false;
    m->x = mean->in[0];
    m->n_dead = 0;
    m->scale = m->bias = -1;
    int last = match_variance(g, ix, sub, m);
    if (last < 0) return false;
    int mul = cinfer__fuse_sole_consumer(g, ix, g->nodes[last].out[0], "Mul");
    if (mul < 0 || !const_row(g, cinfer__fuse_other_input(&g->nodes[mul],
                                                          g->nodes[last].out[0])))
        return false; /* without a scale there is no tensor to give LayerNormalization */
    m->scale = cinfer__fuse_other_input(&g->nodes[mul], g->nodes[last].out[0]);
    m->dead[m->n_dead++] = mul;
    last = mul;
    int add = cinfer__fuse_sole_consumer(g, ix, g->nodes[mul].out[0], "Add");
    if (add >= 0 && const_row(g, cinfer__fuse_other_input(&g->nodes[add],
                                                           g->nodes[mul].out[0]))) {
        m->bias = cinfer__fuse_other_input(&g->nodes[add], g->nodes[mul].out[0]);
        m->dead[m->n_dead++] = add;
        last = add;
    }
    m->out = g->nodes[last].out[0];
    return true;
}

cinfer_status cinfer__fuse_layernorm(cinfer__graph *g, int *count, cinfer__err *err) {
    *count = 0;
    cinfer__use_index ix;
    CINFER_TRY(cinfer__use_index_build(g, &ix, err));
    cinfer_status st = CINFER_OK;
    for (int i = 0; st == CINFER_OK && i < g->n_nodes; i++) {
        ln_match m;
        if (g->nodes[i].dead || !match_decomposed(g, &ix, i, &m)) continue;
        float eps = ((const float *)g->values[m.eps_v].constant->data)[0];
        for (int k = 0; k < m.n_dead; k++) g->nodes[m.dead[k]].dead = true;
        int in[3] = {m.x, m.scale, m.bias};
        st = cinfer__fuse_rewrite(&g->nodes[i], "LayerNormalization", "", 17, m.bias >= 0 ? 3 : 2,
                                  in, 1, &m.out, err);
        if (st == CINFER_OK) st = cinfer__fuse_attr_int(&g->nodes[i], "axis", -1, err);
        if (st == CINFER_OK) st = cinfer__fuse_attr_float(&g->nodes[i], "epsilon", eps, err);
        if (st == CINFER_OK) (*count)++;
    }
    cinfer__use_index_free(&ix);
    return st;
}
