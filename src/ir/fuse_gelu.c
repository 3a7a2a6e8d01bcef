/* Fusion: the erf GELU that exporters write as elementwise ops, 0.5 * x * (1 + erf(x / sqrt2))
 * in any of its usual orders, becomes one Gelu (ONNX opset 20, approximate "none"):
 *   Div(x, sqrt2) | Mul(x, 1/sqrt2) -> Erf -> Add(., 1) -> then either
 *   Mul(x, .) -> Mul(., 0.5)   or   Mul(Mul(x, 0.5), .)   or   Mul(., 0.5) -> Mul(x, .). */
#include <math.h>

#include "ir/fuse.h"

/* The scaling node n is x / sqrt2 or x * (1/sqrt2) (either operand order for Mul): x or -1. */
static int scaled_input(const cinfer__graph *g, const cinfer__node *n) {
    if (n->n_in != 2 || n->n_out != 1) return -1;
    if (cinfer__fuse_is(n, "Div"))
        return cinfer__fuse_scalar_is(g, n->in[1], sqrt(2.0)) ? n->in[0] : -1;
    if (!cinfer__fuse_is(n, "Mul")) return -1;
    for (int k = 0; k < 2; k++)
        if (cinfer__fuse_scalar_is(g, n->in[k], sqrt(0.5))) return n->in[1 - k];
    return -1;
}

/* The nodes of one match: the Div/Mul that scales x first, then up to four more to remove. */
typedef struct gelu_match {
    int x, out;
    int dead[4];
} gelu_match;

/* From the node `one` = 1 + erf(...): the rest of the chain back to x. */
static bool match_tail(const cinfer__graph *g, const cinfer__use_index *ix, int one, int x,
                       gelu_match *m) {
    int v = g->nodes[one].out[0];
    int m1 = cinfer__fuse_sole_consumer(g, ix, v, "Mul");
    if (m1 < 0) return false;
    int y = cinfer__fuse_other_input(&g->nodes[m1], v);
    m->dead[2] = m1;
    if (y == x) { /* Mul(x, .) -> Mul(., 0.5) */
        int m2 = cinfer__fuse_sole_consumer(g, ix, g->nodes[m1].out[0], "Mul");
        if (m2 < 0) return false;
        if (!cinfer__fuse_scalar_is(g, cinfer__fuse_other_input(&g->nodes[m2],
                                                                g->nodes[m1].out[0]), 0.5))
            return false;
        m->dead[3] = m2;
        m->out = g->nodes[m2].out[0];
        return true;
    }
    if (cinfer__fuse_scalar_is(g, y, 0.5)) { /* Mul(., 0.5) -> Mul(x, .) */
        int m2 = cinfer__fuse_sole_consumer(g, ix, g->nodes[m1].out[0], "Mul");
        if (m2 < 0 || cinfer__fuse_other_input(&g->nodes[m2], g->nodes[m1].out[0]) != x)
            return false;
        m->dead[3] = m2;
        m->out = g->nodes[m2].out[0];
        return true;
    }
    /* Mul(Mul(x, 0.5), .): the half is its own node, read only here. */
    int h = cinfer__fuse_sole_producer(g, ix, y, "Mul");
    if (h < 0 || cinfer__fuse_other_input(&g->nodes[h], x) < 0 ||
        !cinfer__fuse_scalar_is(g, cinfer__fuse_other_input(&g->nodes[h], x), 0.5))
        return false;
    m->dead[3] = h;
    m->out = g->nodes[m1].out[0];
    return true;
}

static bool match(const cinfer__graph *g, const cinfer__use_index *ix, int i, gelu_match *m) {
    int x = scaled_input(g, &g->nodes[i]);
    if (x < 0) return false;
    int e = cinfer__fuse_sole_consumer(g, ix, g->nodes[i].out[0], "Erf");
    if (e < 0 || g->nodes[e].n_out != 1) return false;
    int a = cinfer__fuse_sole_consumer(g, ix, g->nodes[e].out[0], "Add");
    if (a < 0 || !cinfer__fuse_scalar_is(g, cinfer__fuse_other_input(&g->nodes[a],
                                                                     g->nodes[e].out[0]), 1.0))
        return false;
    m->x = x;
    m->dead[0] = e;
    m->dead[1] = a;
    return match_tail(g, ix, a, x, m);
}

cinfer_status cinfer__fuse_gelu(cinfer__graph *g, int *count, cinfer__err *err) {
    *count = 0;
    cinfer__use_index ix;
    CINFER_TRY(cinfer__use_index_build(g, &ix, err));
    cinfer_status st = CINFER_OK;
    for (int i = 0; st == CINFER_OK && i < g->n_nodes; i++) {
        gelu_match m;
        if (g->nodes[i].dead || !match(g, &ix, i, &m)) continue;
        for (int k = 0; k < 4; k++) g->nodes[m.dead[k]].dead = true;
        st = cinfer__fuse_rewrite(&g->nodes[i], "Gelu", "", 20, 1, &m.x, 1, &m.out, err);
        if (st == CINFER_OK) (*count)++;
    }
    cinfer__use_index_free(&ix);
    return st;
}
