/* Fusion: scaled dot-product attention as exporters write it,
 *   MatMul(Q, K) [-> Div(., c) | Mul(., c)] [-> Add(., mask)] -> Softmax(last axis) -> MatMul(., V)
 * becomes the internal Attention(Q, K, V[, mask]) with scale = 1/c (or c): the scores
 * [.., Sq, Skv] then live only in a kernel's scratch. The fused node takes the place of the
 * last MatMul, where the mask and V are already computed. */
#include <string.h>

#include "ir/fuse.h"

typedef struct att_match {
    int q, k, v, mask;
    double scale;
    int dead[4], n_dead;
} att_match;

/* Softmax over the last axis: opset 13+ (older ones flatten to 2-D at `axis`). */
static bool softmax_last(const cinfer__node *n) {
    return cinfer__fuse_is(n, "Softmax") && n->opset >= 13 && n->n_out == 1 &&
           cinfer__attr_int(n, "axis", -1) == -1;
}

/* The optional scaling node after the scores: true with *scale set, or false if n is not one. */
static bool scaling(const cinfer__graph *g, const cinfer__node *n, int scores, double *scale) {
    int c = cinfer__fuse_other_input(n, scores);
    const cinfer_tensor *t = cinfer__fuse_const_f32(g, c);
    if (!t || cinfer_tensor_numel(t) != 1 || n->n_out != 1) return false;
    double v = ((const float *)t->data)[0];
    if (cinfer__fuse_is(n, "Div") && n->in[0] == scores && v != 0.0) {
        *scale = 1.0 / v;
        return true;
    }
    if (cinfer__fuse_is(n, "Mul")) {
        *scale = v;
        return true;
    }
    return false;
}

static bool match(const cinfer__graph *g, const cinfer__use_index *ix, int i, att_match *m) {
    const cinfer__node *mm = &g->nodes[i];
    if (!cinfer__fuse_is(mm, "MatMul") || mm->n_in != 2 || mm->n_out != 1) return false;
    m->q = mm->in[0];
    m->k = mm->in[1];
    m->mask = -1;
    m->scale = 1.0;
    m->n_dead = 0;
    m->dead[m->n_dead++] = i;
    int cur = mm->out[0];
    int next = ix->uses[cur] == 1 && !g->values[cur].is_output ? ix->consumer[cur] : -1;
    if (next < 0) return false;
    if (scaling(g, &g->nodes[next], cur, &m->scale)) {
        m->dead[m->n_dead++] = next;
        cur = g->nodes[next].out[0];
        next = ix->uses[cur] == 1 && !g->values[cur].is_output ? ix->consumer[cur] : -1;
        if (next < 0) return false;
    }
    if (cinfer__fuse_is(&g->nodes[next], "Add") && g->nodes[next].n_out == 1) {
        m->mask = cinfer__fuse_other_input(&g->nodes[next], cur);
        if (m->mask < 0 || m->mask == cur) return false;
        m->dead[m->n_dead++] = next;
        cur = g->nodes[next].out[0];
    }
    int sm = cinfer__fuse_sole_consumer(g, ix, cur, "Softmax");
    if (sm < 0 || !softmax_last(&g->nodes[sm])) return false;
    m->dead[m->n_dead++] = sm;
    return true;
}

cinfer_status cinfer__fuse_attention(cinfer__graph *g, int *count, cinfer__err *err) {
    *count = 0;
    cinfer__use_index ix;
    CINFER_TRY(cinfer__use_index_build(g, &ix, err));
    cinfer_status st = CINFER_OK;
    for (int i = 0; st == CINFER_OK && i < g->n_nodes; i++) {
        att_match m;
        if (g->nodes[i].dead || !match(g, &ix, i, &m)) continue;
        int p = g->nodes[m.dead[m.n_dead - 1]].out[0];
        int mm2 = cinfer__fuse_sole_consumer(g, &ix, p, "MatMul");
        if (mm2 < 0 || g->nodes[mm2].in[0] != p || g->nodes[mm2].n_out != 1) continue;
        int in[4] = {m.q, m.k, g->nodes[mm2].in[1], m.mask}, out = g->nodes[mm2].out[0];
        for (int k = 0; k < m.n_dead; k++) g->nodes[m.dead[k]].dead = true;
        st = cinfer__fuse_rewrite(&g->nodes[mm2], "Attention", CINFER_FUSED_DOMAIN, 1,
                                  m.mask >= 0 ? 4 : 3, in, 1, &out, err);
        if (st == CINFER_OK && m.scale != 1.0)
            st = cinfer__fuse_attr_float(&g->nodes[mm2], "scale", (float)m.scale, err);
        if (st == CINFER_OK) (*count)++;
    }
    cinfer__use_index_free(&ix);
    return st;
}
