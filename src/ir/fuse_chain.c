/* Fusion: a run of float elementwise ops, each unary or binary with its other operand a
 * scalar constant or the run's own input x, becomes one ElementwiseChain (src/ops/chain.h):
 * x * sigmoid(x), (x + 3) / 6 clamped, exp(-x) - 1 and the like cost one pass over memory
 * instead of one per op. It runs last, so the patterns with dedicated ops (GELU, LayerNorm,
 * the epilogues) take their nodes first. */
#include <string.h>

#include "core/alloc.h"
#include "ir/fuse.h"
#include "ops/chain.h"

typedef struct chain {
    int x, out, first;
    int nodes[CINFER_CHAIN_MAX_OPS], n;
    int64_t op[CINFER_CHAIN_MAX_OPS], operand[CINFER_CHAIN_MAX_OPS];
    float c[CINFER_CHAIN_MAX_OPS];
    bool float_const; /* a float constant took part: so every value of the chain is float */
    int min_rank;
} chain;

static const struct {
    const char *op_type;
    int code, min_opset;
} chainable[] = {
    {"Relu", CINFER_CHAIN_RELU, 1},       {"Sigmoid", CINFER_CHAIN_SIGMOID, 1},
    {"Tanh", CINFER_CHAIN_TANH, 1},       {"Exp", CINFER_CHAIN_EXP, 1},
    {"Log", CINFER_CHAIN_LOG, 1},         {"Neg", CINFER_CHAIN_NEG, 1},
    {"Abs", CINFER_CHAIN_ABS, 1},         {"Sqrt", CINFER_CHAIN_SQRT, 1},
    {"Reciprocal", CINFER_CHAIN_RECIPROCAL, 1}, {"Erf", CINFER_CHAIN_ERF, 9},
    /* binaries from the opsets with numpy broadcasting (no `broadcast`/`axis` attributes) */
    {"Add", CINFER_CHAIN_ADD, 7},         {"Sub", CINFER_CHAIN_SUB, 7},
    {"Mul", CINFER_CHAIN_MUL, 7},         {"Div", CINFER_CHAIN_DIV, 7},
    {"Max", CINFER_CHAIN_MAX, 8},         {"Min", CINFER_CHAIN_MIN, 8},
    {NULL, 0, 0},
};

static int code_of(const cinfer__node *n) {
    for (int k = 0; chainable[k].op_type; k++)
        if (cinfer__fuse_is(n, chainable[k].op_type) && n->opset >= chainable[k].min_opset)
            return chainable[k].code;
    return -1;
}

/* A one-element float constant of rank 0 or 1 (which cannot change x's shape beyond [1]). */
static const cinfer_tensor *scalar(const cinfer__graph *g, int v) {
    const cinfer_tensor *t = cinfer__fuse_const_f32(g, v);
    return t && cinfer_tensor_numel(t) == 1 && t->rank <= 1 ? t : NULL;
}

/* Appends node i to the chain if it continues it: it reads the running value y and, when
 * binary, a scalar constant or the chain's input x. */
static bool append(const cinfer__graph *g, int i, int y, chain *ch) {
    const cinfer__node *n = &g->nodes[i];
    int code = code_of(n);
    if (code < 0 || n->n_out != 1 || n->out[0] < 0 || ch->n == CINFER_CHAIN_MAX_OPS) return false;
    int k = ch->n;
    ch->c[k] = 0.0f;
    if (CINFER_CHAIN_IS_UNARY(code)) {
        if (n->n_in != 1 || n->in[0] != y) return false;
        ch->operand[k] = CINFER_CHAIN_UNARY;
    } else {
        if (n->n_in != 2) return false;
        int a = n->in[0], b = n->in[1];
        const cinfer_tensor *ca = scalar(g, a), *cb = scalar(g, b), *c = NULL;
        if (a == y && cb) ch->operand[k] = CINFER_CHAIN_CONST_RIGHT, c = cb;
        else if (b == y && ca) ch->operand[k] = CINFER_CHAIN_CONST_LEFT, c = ca;
        else if (a == y && b == ch->x) ch->operand[k] = CINFER_CHAIN_INPUT_RIGHT;
        else if (b == y && a == ch->x) ch->operand[k] = CINFER_CHAIN_INPUT_LEFT;
        else return false;
        if (c) {
            ch->c[k] = ((const float *)c->data)[0];
            ch->float_const = true;
            if (c->rank == 1) ch->min_rank = 1;
        }
    }
    ch->op[k] = code;
    ch->nodes[k] = i;
    ch->out = n->out[0];
    ch->n++;
    return true;
}

/* The longest chain starting at node i (whose running input is its non-constant operand). */
static bool match(const cinfer__graph *g, const cinfer__use_index *ix, int i, chain *ch) {
    const cinfer__node *n = &g->nodes[i];
    memset(ch, 0, sizeof *ch);
    if (n->dead || code_of(n) < 0 || n->n_in < 1) return false;
    ch->x = n->in[0];
    if (n->n_in == 2 && scalar(g, n->in[0]) && !scalar(g, n->in[1])) ch->x = n->in[1];
    if (ch->x < 0 || !append(g, i, ch->x, ch)) return false;
    for (;;) {
        int v = ch->out;
        if (ix->uses[v] != 1 || g->values[v].is_output || ix->consumer[v] < 0) break;
        int next = ix->consumer[v];
        if (g->nodes[next].dead || !append(g, next, v, ch)) break;
    }
    /* Float: proven by a float constant in the chain (binary ops take equal dtypes), or
     * declared on x; otherwise (Neg -> Abs on integers, say) leave it alone. */
    bool is_float = ch->float_const || g->values[ch->x].dtype == CINFER_DTYPE_FLOAT;
    return ch->n >= 2 && is_float;
}

static cinfer_status add_array(cinfer__node *n, const char *name, const int64_t *ints,
                               const float *floats, int count, cinfer__err *err) {
    cinfer__attr a = {.name = cinfer__strdup(name), .count = (size_t)count,
                      .type = ints ? CINFER_ATTR_INTS : CINFER_ATTR_FLOATS};
    if (ints && (a.ints = cinfer__malloc((size_t)count * sizeof *ints)))
        memcpy(a.ints, ints, (size_t)count * sizeof *ints);
    if (floats && (a.floats = cinfer__malloc((size_t)count * sizeof *floats)))
        memcpy(a.floats, floats, (size_t)count * sizeof *floats);
    if (!a.name || (ints && !a.ints) || (floats && !a.floats)) {
        cinfer__attr_free(&a);
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory fusing node '%s'",
                              n->name);
    }
    return cinfer__node_add_attr(n, &a, err);
}

/* The first node becomes the chain: its own attributes go (consumed_inputs of old opsets),
 * the chain's come in, then it is retyped and resolved once with all of them present. */
static cinfer_status rewrite(cinfer__graph *g, const chain *ch, cinfer__err *err) {
    cinfer__node *n = &g->nodes[ch->nodes[0]];
    for (int k = 1; k < ch->n; k++) g->nodes[ch->nodes[k]].dead = true;
    for (int a = 0; a < n->n_attrs; a++) cinfer__attr_free(&n->attrs[a]);
    cinfer__free(n->attrs);
    n->attrs = NULL;
    n->n_attrs = 0;
    CINFER_TRY(add_array(n, "ops", ch->op, NULL, ch->n, err));
    CINFER_TRY(add_array(n, "operands", ch->operand, NULL, ch->n, err));
    CINFER_TRY(add_array(n, "constants", NULL, ch->c, ch->n, err));
    if (ch->min_rank) {
        cinfer__attr a = {.name = cinfer__strdup("min_rank"), .type = CINFER_ATTR_INT, .i = 1};
        if (!a.name)
            return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory fusing node '%s'",
                                  n->name);
        CINFER_TRY(cinfer__node_add_attr(n, &a, err));
    }
    return cinfer__fuse_retype(n, "ElementwiseChain", "cinfer", 1, 1, &ch->x, 1, &ch->out, err);
}

cinfer_status cinfer__fuse_chain(cinfer__graph *g, int *count, cinfer__err *err) {
    *count = 0;
    cinfer__use_index ix;
    CINFER_TRY(cinfer__use_index_build(g, &ix, err));
    cinfer_status st = CINFER_OK;
    for (int i = 0; st == CINFER_OK && i < g->n_nodes; i++) {
        chain ch;
        if (!match(g, &ix, i, &ch)) continue;
        st = rewrite(g, &ch, err);
        if (st == CINFER_OK) (*count)++;
    }
    cinfer__use_index_free(&ix);
    return st;
}
