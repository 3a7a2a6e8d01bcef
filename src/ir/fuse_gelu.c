/* Fusion: GELU as exporters write it in elementwise ops becomes one Gelu (ONNX opset 20):
 *   erf form (approximate none): Div(x, sqrt2) | Mul(x, 1/sqrt2) -> Erf -> Add(., 1)
 *   tanh form (approximate tanh): x * x * x | Pow(x, 3) -> Mul(., 0.044715) -> Add(x, .)
 *                                 -> Mul(., sqrt(2/pi)) -> Tanh -> Add(., 1)
 * each followed by one of the usual orders of the two products with x and 0.5:
 *   Mul(x, .) -> Mul(., 0.5)   or   Mul(Mul(x, 0.5), .)   or   Mul(., 0.5) -> Mul(x, .).
 * The earliest node of the chain becomes the Gelu; the others die. */
#include <math.h>

#include "ir/fuse.h"

#define GELU_MAX_NODES 12

typedef struct gelu_match {
    int x, out;
    bool tanh_form;
    int nodes[GELU_MAX_NODES], n;
} gelu_match;

static void take(gelu_match *m, int node) { m->nodes[m->n++] = node; }

/* Operand of binary node n that is a scalar constant close to c: the other operand, or -1. */
static int with_scalar(const cinfer__graph *g, const cinfer__node *n, const char *op, double c) {
    if (!cinfer__fuse_is(n, op) || n->n_in != 2 || n->n_out != 1) return -1;
    for (int k = 0; k < 2; k++)
        if (cinfer__fuse_scalar_is(g, n->in[k], c)) return n->in[1 - k];
    return -1;
}

/* From the node `one` = 1 + erf(...) or 1 + tanh(...): the products with x and 0.5. */
static bool match_tail(const cinfer__graph *g, const cinfer__use_index *ix, int one, int x,
                       gelu_match *m) {
    int v = g->nodes[one].out[0];
    int m1 = cinfer__fuse_sole_consumer(g, ix, v, "Mul");
    if (m1 < 0) return false;
    int y = cinfer__fuse_other_input(&g->nodes[m1], v), w = g->nodes[m1].out[0];
    take(m, m1);
    if (y == x || cinfer__fuse_scalar_is(g, y, 0.5)) {
        /* Mul(x, .) -> Mul(., 0.5), or Mul(., 0.5) -> Mul(x, .) */
        int m2 = cinfer__fuse_sole_consumer(g, ix, w, "Mul");
        if (m2 < 0) return false;
        int z = cinfer__fuse_other_input(&g->nodes[m2], w);
        if (y == x ? !cinfer__fuse_scalar_is(g, z, 0.5) : z != x) return false;
        take(m, m2);
        m->out = g->nodes[m2].out[0];
        return true;
    }
    int h = cinfer__fuse_sole_producer(g, ix, y, "Mul"); /* Mul(Mul(x, 0.5), .) */
    if (h < 0 || cinfer__fuse_other_input(&g->nodes[h], x) < 0 ||
        !cinfer__fuse_scalar_is(g, cinfer__fuse_other_input(&g->nodes[h], x), 0.5))
        return false;
    take(m, h);
    m->out = w;
    return true;
}

/* Erf(x / sqrt2) + 1, starting at the scaling node i. */
static bool match_erf(const cinfer__graph *g, const cinfer__use_index *ix, int i, gelu_match *m) {
    const cinfer__node *n = &g->nodes[i];
    int x = -1;
    if (cinfer__fuse_is(n, "Div") && n->n_in == 2 && n->n_out == 1 &&
        cinfer__fuse_scalar_is(g, n->in[1], sqrt(2.0)))
        x = n->in[0];
    else
        x = with_scalar(g, n, "Mul", sqrt(0.5));
    if (x < 0) return false;
    int e = cinfer__fuse_sole_consumer(g, ix, n->out[0], "Erf");
    if (e < 0 || g->nodes[e].n_out != 1) return false;
    int a = cinfer__fuse_sole_consumer(g, ix, g->nodes[e].out[0], "Add");
    if (a < 0 || !cinfer__fuse_scalar_is(g, cinfer__fuse_other_input(&g->nodes[a],
                                                                     g->nodes[e].out[0]), 1.0))
        return false;
    *m = (gelu_match){.x = x, .tanh_form = false};
    take(m, i);
    take(m, e);
    take(m, a);
    return match_tail(g, ix, a, x, m);
}

/* x^3 as Pow(x, 3), Mul(x, Mul(x, x)) or Mul(Mul(x, x), x), read only by node `user`. */
static bool match_cube(const cinfer__graph *g, const cinfer__use_index *ix, int v, int x,
                       gelu_match *m) {
    int p = ix->producer[v];
    if (p < 0 || ix->uses[v] != 1 || g->values[v].is_output) return false;
    const cinfer__node *n = &g->nodes[p];
    if (cinfer__fuse_is(n, "Pow") && n->n_in == 2 && n->in[0] == x &&
        cinfer__fuse_scalar_is(g, n->in[1], 3.0)) {
        take(m, p);
        return true;
    }
    if (!cinfer__fuse_is(n, "Mul") || n->n_in != 2 || n->n_out != 1) return false;
    int sq = cinfer__fuse_other_input(n, x);
    int q = sq >= 0 ? cinfer__fuse_sole_producer(g, ix, sq, "Mul") : -1;
    if (q < 0 || g->nodes[q].in[0] != x || g->nodes[q].in[1] != x) return false;
    take(m, p);
    take(m, q);
    return true;
}

/* tanh(sqrt(2/pi) (x + 0.044715 x^3)) + 1, starting at the Tanh node i. */
static bool match_tanh(const cinfer__graph *g, const cinfer__use_index *ix, int i,
                       gelu_match *m) {
    const cinfer__node *t = &g->nodes[i];
    if (!cinfer__fuse_is(t, "Tanh") || t->n_out != 1) return false;
    int u = cinfer__fuse_sole_producer(g, ix, t->in[0], "Mul");
    const double k = 0.79788456080286536; /* sqrt(2 / pi) */
    int s = u >= 0 ? with_scalar(g, &g->nodes[u], "Mul", k) : -1;
    int add = s >= 0 ? cinfer__fuse_sole_producer(g, ix, s, "Add") : -1;
    if (add < 0 || g->nodes[add].n_in != 2) return false;
    *m = (gelu_match){.tanh_form = true};
    for (int k = 0; k < 2; k++) { /* Add(x, 0.044715 x^3), either order */
        int x = g->nodes[add].in[k], c = g->nodes[add].in[1 - k];
        int cm = cinfer__fuse_sole_producer(g, ix, c, "Mul");
        int cube = cm >= 0 ? with_scalar(g, &g->nodes[cm], "Mul", 0.044715) : -1;
        m->n = 0;
        if (cube < 0 || !match_cube(g, ix, cube, x, m)) continue;
        m->x = x;
        take(m, cm);
        take(m, add);
        take(m, u);
        take(m, i);
        int one = cinfer__fuse_sole_consumer(g, ix, t->out[0], "Add");
        if (one < 0 || !cinfer__fuse_scalar_is(g, cinfer__fuse_other_input(&g->nodes[one],
                                                                           t->out[0]), 1.0))
            return false;
        take(m, one);
        return match_tail(g, ix, one, x, m);
    }
    return false;
}

cinfer_status cinfer__fuse_gelu(cinfer__graph *g, int *count, cinfer__err *err) {
    *count = 0;
    cinfer__use_index ix;
    CINFER_TRY(cinfer__use_index_build(g, &ix, err));
    cinfer_status st = CINFER_OK;
    for (int i = 0; st == CINFER_OK && i < g->n_nodes; i++) {
        gelu_match m;
        if (g->nodes[i].dead || !(match_erf(g, &ix, i, &m) || match_tanh(g, &ix, i, &m)))
            continue;
        int first = m.nodes[0];
        for (int k = 1; k < m.n; k++) first = m.nodes[k] < first ? m.nodes[k] : first;
        for (int k = 0; k < m.n; k++) g->nodes[m.nodes[k]].dead = true;
        g->nodes[first].dead = false;
        st = cinfer__fuse_rewrite(&g->nodes[first], "Gelu", "", 20, 1, &m.x, 1, &m.out, err);
        if (st == CINFER_OK && m.tanh_form)
            st = cinfer__fuse_attr_string(&g->nodes[first], "approximate", "tanh", err);
        if (st == CINFER_OK) (*count)++;
    }
    cinfer__use_index_free(&ix);
    return st;
}
