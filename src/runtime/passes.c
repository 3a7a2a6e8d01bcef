/* Load-time passes that need the op kernels: constant folding of weight-only subgraphs,
 * dead-node elimination, and finding which values decide shapes. */
#include <string.h>

#include "core/alloc.h"
#include "runtime/runtime.h"

static bool is_shape_only(const cinfer__node *n) {
    return !n->domain[0] && (!strcmp(n->op_type, "Shape") || !strcmp(n->op_type, "Size"));
}

/* Folds nodes whose inputs are all constants, unless the result would be larger than both the
 * cap and its inputs together (so an Expand or ConstantOfShape of a huge shape stays an op,
 * while a Transpose or Cast of a weight is done once here). */
cinfer_status cinfer__pass_fold_constants(cinfer_model *m, int *n_folded, cinfer__err *err) {
    cinfer__graph *g = m->g;
    *n_folded = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        cinfer__node *n = &g->nodes[i];
        if (n->dead || n->n_in > CINFER_MAX_IO || n->n_out > CINFER_MAX_IO) continue;
        const cinfer_tensor *in[CINFER_MAX_IO] = {0};
        bool all_const = true;
        size_t in_bytes = 0;
        for (int k = 0; k < n->n_in; k++) {
            if (n->in[k] < 0) continue;
            in[k] = g->values[n->in[k]].constant;
            if (!in[k]) all_const = false;
            else in_bytes += cinfer__tensor_bytes(in[k]);
        }
        if (!all_const) continue;
        cinfer_tensor *outs[CINFER_MAX_IO] = {0};
        bool ok = true;
        for (int o = 0; o < n->n_out && ok; o++)
            if (n->out[o] >= 0 && !(outs[o] = cinfer__calloc(1, sizeof(cinfer_tensor)))) ok = false;
        cinfer__err ferr;
        size_t out_bytes = 0;
        if (ok && cinfer__infer_node(n, in, n->n_in, outs, &ferr) == CINFER_OK) {
            for (int o = 0; o < n->n_out; o++)
                if (outs[o]) out_bytes += cinfer__tensor_bytes(outs[o]);
            size_t limit = m->fold_cap > in_bytes ? m->fold_cap : in_bytes;
            ok = out_bytes <= limit &&
                 cinfer__eval_node(n, in, n->n_in, outs, m->rt->pool, &ferr) == CINFER_OK;
        } else {
            ok = false;
        }
        if (!ok) {
            for (int o = 0; o < n->n_out; o++) cinfer__free(outs[o]);
            continue; /* left as an op: the plan reports it if it cannot run */
        }
        for (int o = 0; o < n->n_out; o++)
            if (outs[o]) {
                cinfer__value *v = &g->values[n->out[o]];
                cinfer__value_set_constant(v, outs[o]);
                v->producer = -1;
            }
        n->dead = true;
        (*n_folded)++;
    }
    return CINFER_OK;
}

/* Marks every node that no graph output depends on as dead, then frees constants that no
 * live node reads. */
void cinfer__pass_dead_nodes(cinfer__graph *g) {
    bool *live = cinfer__calloc((size_t)g->n_values + 1, sizeof(bool));
    if (!live) return; /* only an optimization */
    for (int o = 0; o < g->n_outputs; o++) live[g->outputs[o]] = true;
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        cinfer__node *n = &g->nodes[i];
        if (n->dead) continue;
        bool used = false;
        for (int o = 0; o < n->n_out; o++) used |= n->out[o] >= 0 && live[n->out[o]];
        if (!used) {
            n->dead = true;
            continue;
        }
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0) live[n->in[k]] = true;
    }
    for (int v = 0; v < g->n_values; v++)
        if (!live[v] && g->values[v].constant) {
            cinfer__tensor_destroy(g->values[v].constant);
            g->values[v].constant = NULL;
        }
    cinfer__free(live);
}

static void mark(cinfer__graph *g, bool *needed, int v) {
    if (v < 0 || needed[v]) return;
    needed[v] = true;
    int p = g->values[v].producer;
    if (p < 0 || is_shape_only(&g->nodes[p])) return;
    for (int k = 0; k < g->nodes[p].n_in; k++) mark(g, needed, g->nodes[p].in[k]);
}

cinfer_status cinfer__mark_value_needed(cinfer_model *m, cinfer__err *err) {
    cinfer__graph *g = m->g;
    CINFER_TRY(cinfer__graph_sort(g, err)); /* passes rewired producers */
    m->value_needed = cinfer__calloc((size_t)g->n_values + 1, sizeof(bool));
    m->input_value_needed = cinfer__calloc((size_t)g->n_inputs + 1, sizeof(bool));
    if (!m->value_needed || !m->input_value_needed)
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < g->n_nodes; i++) {
        const cinfer__node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_in && k < 64; k++)
            if (n->def->value_inputs >> k & 1) mark(g, m->value_needed, n->in[k]);
    }
    for (int i = 0; i < g->n_inputs; i++)
        m->input_value_needed[i] = m->value_needed[g->inputs[i]];
    return CINFER_OK;
}
