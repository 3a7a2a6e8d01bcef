/* Graph IR construction, lookup, topological sort and op resolution. */
#include "ir/graph.h"

#include <string.h>

#include "core/alloc.h"
#include "ir/static_dims.h"
#include "ops/op.h"

/* Open-addressing hash map from value name to index. */
typedef struct cinfer__name_map {
    char **keys; /* borrowed from values[].name */
    int *idx;
    size_t cap, count;
} cinfer__name_map;

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static bool map_grow(cinfer__name_map *m, const cinfer__graph *g) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    char **keys = cinfer__calloc(cap, sizeof *keys);
    int *idx = cinfer__calloc(cap, sizeof *idx);
    if (!keys || !idx) {
        cinfer__free(keys);
        cinfer__free(idx);
        return false;
    }
    for (int v = 0; v < g->n_values; v++) {
        size_t h = hash_str(g->values[v].name) & (cap - 1);
        while (keys[h]) h = (h + 1) & (cap - 1);
        keys[h] = g->values[v].name;
        idx[h] = v;
    }
    cinfer__free(m->keys);
    cinfer__free(m->idx);
    m->keys = keys;
    m->idx = idx;
    m->cap = cap;
    return true;
}

cinfer_status cinfer__graph_create(cinfer__graph **out, cinfer__err *err) {
    cinfer__graph *g = cinfer__calloc(1, sizeof *g);
    if (g) g->names = cinfer__calloc(1, sizeof *g->names);
    if (!g || !g->names) {
        cinfer__free(g);
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory creating a graph");
    }
    *out = g;
    return CINFER_OK;
}

void cinfer__tensor_destroy(cinfer_tensor *t) {
    if (!t) return;
    cinfer__aligned_free(t->data);
    cinfer__free(t);
}

void cinfer__attr_free(cinfer__attr *a) {
    cinfer__free(a->name);
    cinfer__free(a->s);
    cinfer__free(a->ints);
    cinfer__free(a->floats);
    if (a->strings)
        for (size_t i = 0; i < a->count; i++) cinfer__free(a->strings[i]);
    cinfer__free(a->strings);
    if (a->t) {
        size_t n = a->type == CINFER_ATTR_TENSORS ? a->count : 1;
        for (size_t i = 0; i < n; i++) cinfer__aligned_free(a->t[i].data);
        cinfer__free(a->t);
    }
    memset(a, 0, sizeof *a);
}

void cinfer__graph_destroy(cinfer__graph *g) {
    if (!g) return;
    for (int i = 0; i < g->n_nodes; i++) {
        cinfer__node *n = &g->nodes[i];
        cinfer__free(n->name);
        cinfer__free(n->op_type);
        cinfer__free(n->domain);
        cinfer__free(n->in);
        cinfer__free(n->out);
        for (int a = 0; a < n->n_attrs; a++) cinfer__attr_free(&n->attrs[a]);
        cinfer__free(n->attrs);
        cinfer__free(n->params);
    }
    for (int i = 0; i < g->n_values; i++) {
        cinfer__value *v = &g->values[i];
        cinfer__free(v->name);
        for (int d = 0; d < CINFER_MAX_RANK; d++) cinfer__free(v->dim_names[d]);
        cinfer__tensor_destroy(v->constant);
    }
    if (g->names) {
        cinfer__free(g->names->keys);
        cinfer__free(g->names->idx);
        cinfer__free(g->names);
    }
    cinfer__static_dims_free(g->sdims);
    cinfer__free(g->values);
    cinfer__free(g->nodes);
    cinfer__free(g->inputs);
    cinfer__free(g->outputs);
    cinfer__free(g->name);
    cinfer__free(g);
}

int cinfer__graph_find(const cinfer__graph *g, const char *name) {
    const cinfer__name_map *m = g->names;
    if (!m->cap) return -1;
    size_t h = hash_str(name) & (m->cap - 1);
    while (m->keys[h]) {
        if (!strcmp(m->keys[h], name)) return m->idx[h];
        h = (h + 1) & (m->cap - 1);
    }
    return -1;
}

int cinfer__graph_value(cinfer__graph *g, const char *name) {
    int found = cinfer__graph_find(g, name);
    if (found >= 0) return found;
    if (g->n_values == g->cap_values) {
        int cap = g->cap_values ? g->cap_values * 2 : 64;
        cinfer__value *vals = cinfer__realloc(g->values, (size_t)cap * sizeof *vals);
        if (!vals) return -1;
        g->values = vals;
        g->cap_values = cap;
    }
    cinfer__name_map *m = g->names;
    if ((m->count + 1) * 2 > m->cap && !map_grow(m, g)) return -1;
    cinfer__value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = cinfer__strdup(name);
    if (!v->name) return -1;
    v->rank = -1;
    v->producer = -1;
    size_t h = hash_str(name) & (m->cap - 1);
    while (m->keys[h]) h = (h + 1) & (m->cap - 1);
    m->keys[h] = v->name;
    m->idx[h] = g->n_values;
    m->count++;
    return g->n_values++;
}

int cinfer__graph_add_node(cinfer__graph *g, const char *name, const char *op_type,
                           const char *domain, int n_in, const int *in, int n_out,
                           const int *out) {
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        cinfer__node *nodes = cinfer__realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) return -1;
        g->nodes = nodes;
        g->cap_nodes = cap;
    }
    cinfer__node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    char fallback[128];
    if (!name || !*name) {
        snprintf(fallback, sizeof fallback, "%s_%d", op_type, g->n_nodes);
        name = fallback;
    }
    n->name = cinfer__strdup(name);
    n->op_type = cinfer__strdup(op_type);
    n->domain = cinfer__strdup(domain ? domain : "");
    n->in = cinfer__malloc((size_t)(n_in ? n_in : 1) * sizeof(int));
    n->out = cinfer__malloc((size_t)(n_out ? n_out : 1) * sizeof(int));
    if (!n->name || !n->op_type || !n->domain || !n->in || !n->out) {
        cinfer__free(n->name);
        cinfer__free(n->op_type);
        cinfer__free(n->domain);
        cinfer__free(n->in);
        cinfer__free(n->out);
        return -1;
    }
    n->n_in = n_in;
    n->n_out = n_out;
    if (n_in) memcpy(n->in, in, (size_t)n_in * sizeof(int));
    if (n_out) memcpy(n->out, out, (size_t)n_out * sizeof(int));
    n->opset = g->opset;
    return g->n_nodes++;
}

cinfer_status cinfer__node_add_attr(cinfer__node *node, cinfer__attr *attr, cinfer__err *err) {
    cinfer__attr *attrs = cinfer__realloc(node->attrs, (size_t)(node->n_attrs + 1) * sizeof *attrs);
    if (!attrs) {
        cinfer__attr_free(attr);
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory adding an attribute");
    }
    node->attrs = attrs;
    node->attrs[node->n_attrs++] = *attr;
    return CINFER_OK;
}

void cinfer__value_set_constant(cinfer__value *v, cinfer_tensor *t) {
    cinfer__tensor_destroy(v->constant);
    v->constant = t;
    v->dtype = t->dtype;
    v->rank = t->rank;
    for (int i = 0; i < t->rank; i++) v->dims[i] = t->dims[i];
}

/* Kahn's algorithm over live nodes; values without a producer must be inputs or constants. */
cinfer_status cinfer__graph_sort(cinfer__graph *g, cinfer__err *err) {
    cinfer_status st = CINFER_OK;
    int n = g->n_nodes;
    int *pending = cinfer__calloc((size_t)n + 1, sizeof(int));
    int *order = cinfer__calloc((size_t)n + 1, sizeof(int));
    int *ready = cinfer__calloc((size_t)n + 1, sizeof(int));
    bool *avail = cinfer__calloc((size_t)g->n_values + 1, sizeof(bool));
    if (!pending || !order || !ready || !avail) {
        st = cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory sorting the graph");
        goto done;
    }
    for (int v = 0; v < g->n_values; v++) {
        g->values[v].producer = -1;
        avail[v] = g->values[v].is_input || g->values[v].constant;
    }
    for (int i = 0; i < n; i++) {
        cinfer__node *nd = &g->nodes[i];
        if (nd->dead) continue;
        for (int o = 0; o < nd->n_out; o++) {
            int v = nd->out[o];
            if (v < 0) continue;
            if (g->values[v].producer >= 0 || g->values[v].is_input || g->values[v].constant) {
                st = cinfer__errorf(err, CINFER_INVALID_MODEL,
                                    "node '%s' (%s): output '%s' is already defined elsewhere "
                                    "(every tensor must be assigned once)",
                                    nd->name, nd->op_type, g->values[v].name);
                goto done;
            }
            g->values[v].producer = i;
        }
    }
    /* pending[i] = inputs of node i not yet available. */
    int n_ready = 0, n_order = 0, live = 0;
    for (int i = 0; i < n; i++) {
        cinfer__node *nd = &g->nodes[i];
        if (nd->dead) continue;
        live++;
        for (int k = 0; k < nd->n_in; k++) {
            int v = nd->in[k];
            if (v < 0 || avail[v]) continue;
            if (g->values[v].producer < 0) {
                st = cinfer__errorf(err, CINFER_INVALID_MODEL,
                                    "node '%s' (%s): input '%s' is not a graph input, an "
                                    "initializer or the output of any node",
                                    nd->name, nd->op_type, g->values[v].name);
                goto done;
            }
            pending[i]++;
        }
        if (!pending[i]) ready[n_ready++] = i;
    }
    /* Process in file order where possible: a simple queue keeps the original order stable. */
    for (int head = 0; head < n_ready; head++) {
        int i = ready[head];
        order[n_order++] = i;
        cinfer__node *nd = &g->nodes[i];
        for (int o = 0; o < nd->n_out; o++) {
            int v = nd->out[o];
            if (v < 0 || avail[v]) continue;
            avail[v] = true;
            for (int j = 0; j < n; j++) {
                cinfer__node *c = &g->nodes[j];
                if (c->dead) continue;
                for (int k = 0; k < c->n_in; k++)
                    if (c->in[k] == v && --pending[j] == 0) ready[n_ready++] = j;
            }
        }
    }
    if (n_order != live) {
        for (int i = 0; i < n; i++)
            if (!g->nodes[i].dead && pending[i]) {
                st = cinfer__errorf(err, CINFER_INVALID_MODEL,
                                    "node '%s' (%s) is part of a cycle", g->nodes[i].name,
                                    g->nodes[i].op_type);
                goto done;
            }
    }
    for (int o = 0; o < g->n_outputs; o++) {
        cinfer__value *v = &g->values[g->outputs[o]];
        if (!avail[g->outputs[o]]) {
            st = cinfer__errorf(err, CINFER_INVALID_MODEL,
                                "graph output '%s' is not produced by any node", v->name);
            goto done;
        }
    }
    /* Permute nodes into topological order (dead nodes go to the end). */
    cinfer__node *sorted = cinfer__malloc((size_t)(n ? n : 1) * sizeof *sorted);
    if (!sorted) {
        st = cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory sorting the graph");
        goto done;
    }
    int k = 0;
    for (int i = 0; i < n_order; i++) sorted[k++] = g->nodes[order[i]];
    for (int i = 0; i < n; i++)
        if (g->nodes[i].dead) sorted[k++] = g->nodes[i];
    cinfer__free(g->nodes);
    g->nodes = sorted;
    g->cap_nodes = n;
    for (int v = 0; v < g->n_values; v++) g->values[v].producer = -1;
    for (int i = 0; i < n_order; i++)
        for (int o = 0; o < g->nodes[i].n_out; o++)
            if (g->nodes[i].out[o] >= 0) g->values[g->nodes[i].out[o]].producer = i;
done:
    cinfer__free(pending);
    cinfer__free(order);
    cinfer__free(ready);
    cinfer__free(avail);
    return st;
}

cinfer_status cinfer__node_resolve(cinfer__node *n, cinfer__err *err) {
    bool known = false;
    const cinfer__op_def *d = cinfer__op_find(n->domain, n->op_type, n->opset, &known);
    const char *dom = n->domain[0] ? n->domain : "ai.onnx";
    if (!d && known)
        return cinfer__errorf(err, CINFER_UNSUPPORTED,
                              "node '%s': op %s (domain %s) is not supported at opset %d",
                              n->name, n->op_type, dom, n->opset);
    if (!d)
        return cinfer__errorf(err, CINFER_UNSUPPORTED,
                              "node '%s': op %s (domain %s, opset %d) is not supported", n->name,
                              n->op_type, dom, n->opset);
    int n_in = n->n_in, n_out = n->n_out;
    while (n_in > 0 && n->in[n_in - 1] < 0) n_in--;
    if (n_in < d->min_in || n_in > d->max_in)
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "node '%s' (%s): %d inputs given, the op takes %d to %d", n->name,
                              n->op_type, n_in, d->min_in, d->max_in);
    if (n_out < d->min_out || n_out > d->max_out)
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "node '%s' (%s): %d outputs given, the op has %d to %d", n->name,
                              n->op_type, n_out, d->min_out, d->max_out);
    for (int k = 0; k < d->min_in; k++)
        if (n->in[k] < 0)
            return cinfer__errorf(err, CINFER_INVALID_MODEL,
                                  "node '%s' (%s): required input %d is missing", n->name,
                                  n->op_type, k);
    n->def = d;
    cinfer__free(n->params); /* a node a pass rewrote is checked again */
    n->params = NULL;
    if (d->check) {
        cinfer_status st = d->check(n, err);
        if (st != CINFER_OK) {
            cinfer__err_prefix(err, "node '%s' (%s)", n->name, n->op_type);
            return st;
        }
    }
    return CINFER_OK;
}

cinfer_status cinfer__graph_resolve_ops(cinfer__graph *g, cinfer__err *err) {
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead) CINFER_TRY(cinfer__node_resolve(&g->nodes[i], err));
    return CINFER_OK;
}

const cinfer__attr *cinfer__node_attr(const cinfer__node *n, const char *name) {
    for (int i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
    return NULL;
}

int64_t cinfer__attr_int(const cinfer__node *n, const char *name, int64_t dflt) {
    const cinfer__attr *a = cinfer__node_attr(n, name);
    return a && a->type == CINFER_ATTR_INT ? a->i : dflt;
}

float cinfer__attr_float(const cinfer__node *n, const char *name, float dflt) {
    const cinfer__attr *a = cinfer__node_attr(n, name);
    if (a && a->type == CINFER_ATTR_FLOAT) return a->f;
    if (a && a->type == CINFER_ATTR_INT) return (float)a->i;
    return dflt;
}

const char *cinfer__attr_string(const cinfer__node *n, const char *name, const char *dflt) {
    const cinfer__attr *a = cinfer__node_attr(n, name);
    return a && a->type == CINFER_ATTR_STRING ? a->s : dflt;
}

const int64_t *cinfer__attr_ints(const cinfer__node *n, const char *name, size_t *count) {
    const cinfer__attr *a = cinfer__node_attr(n, name);
    if (!a || a->type != CINFER_ATTR_INTS) {
        *count = 0;
        return NULL;
    }
    *count = a->count;
    return a->ints;
}

const float *cinfer__attr_floats(const cinfer__node *n, const char *name, size_t *count) {
    const cinfer__attr *a = cinfer__node_attr(n, name);
    if (!a || a->type != CINFER_ATTR_FLOATS) {
        *count = 0;
        return NULL;
    }
    *count = a->count;
    return a->floats;
}

int cinfer__graph_live_nodes(const cinfer__graph *g) {
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += !g->nodes[i].dead;
    return n;
}
