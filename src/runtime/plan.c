/* Plans: the model specialized to one set of input shapes. Shapes are inferred node by node,
 * everything computable from constants is folded (the Shape/Gather/Concat soup of exporters
 * disappears here), and the remaining nodes become kernel calls on arena buffers. Plans are
 * cached by input signature. */
#include <string.h>

#include "core/alloc.h"
#include "runtime/runtime.h"

/* The signature: every input's dtype and shape, plus the contents of inputs whose values
 * decide shapes. */
static cinfer_status make_key(const cinfer_model *m, const cinfer_tensor *in, unsigned char **key,
                              size_t *len, cinfer__err *err) {
    const cinfer__graph *g = m->g;
    size_t n = 0;
    for (int i = 0; i < g->n_inputs; i++) {
        n += 8 + 8 * (size_t)in[i].rank;
        if (m->input_value_needed[i]) n += cinfer__tensor_bytes(&in[i]);
    }
    unsigned char *k = cinfer__malloc(n), *p = k;
    if (!k) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < g->n_inputs; i++) {
        int32_t hdr[2] = {(int32_t)in[i].dtype, in[i].rank};
        memcpy(p, hdr, 8);
        memcpy(p + 8, in[i].dims, 8 * (size_t)in[i].rank);
        p += 8 + 8 * (size_t)in[i].rank;
        if (m->input_value_needed[i]) {
            size_t b = cinfer__tensor_bytes(&in[i]);
            if (b) memcpy(p, in[i].data, b);
            p += b;
        }
    }
    *key = k;
    *len = n;
    return CINFER_OK;
}

void cinfer__plan_destroy(cinfer__plan *p) {
    if (!p) return;
    for (int i = 0; i < p->n_ctx; i++) cinfer__context_free(p, p->all_ctx[i]);
    cinfer__free(p->all_ctx);
    for (int s = 0; p->steps && s < p->n_steps; s++) {
        if (p->steps[s].state) p->steps[s].kernel->release(p->steps[s].state);
        cinfer__free(p->steps[s].cpu_reason);
    }
    cinfer__free(p->loc);
    cinfer__free(p->dev_half);
    cinfer__free(p->dev_layout);
    cinfer__free(p->dev_off);
    cinfer__free(p->xfers);
    for (int v = 0; p->vals && v < p->n_values; v++)
        if (p->vals[v].folded) cinfer__aligned_free(p->vals[v].t.data);
    cinfer__free(p->vals);
    cinfer__free(p->steps);
    cinfer__free(p->key);
    pthread_mutex_destroy(&p->mu);
    cinfer__free(p);
}

/* Shape and Size need only their input's shape, so they fold even when the data is unknown. */
static bool fold_shape_only(const cinfer__node *n, cinfer__plan_value *vals, cinfer__err *err,
                            cinfer_status *st) {
    if (n->domain[0] || (strcmp(n->op_type, "Shape") && strcmp(n->op_type, "Size"))) return false;
    const cinfer_tensor *x = &vals[n->in[0]].t;
    cinfer__plan_value *o = &vals[n->out[0]];
    int64_t start = 0, end = x->rank, len;
    if (!strcmp(n->op_type, "Shape")) {
        start = cinfer__attr_int(n, "start", 0);
        end = cinfer__attr_int(n, "end", x->rank);
        if (start < 0) start += x->rank;
        if (end < 0) end += x->rank;
        start = start < 0 ? 0 : start > x->rank ? x->rank : start;
        end = end < 0 ? 0 : end > x->rank ? x->rank : end;
        len = end > start ? end - start : 0;
        o->t = (cinfer_tensor){.dtype = CINFER_DTYPE_INT64, .rank = 1, .dims = {len}};
    } else {
        len = 1;
        o->t = (cinfer_tensor){.dtype = CINFER_DTYPE_INT64, .rank = 0};
    }
    int64_t *d = cinfer__aligned_alloc(8 * (size_t)(len ? len : 1));
    if (!d) {
        *st = cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
        return true;
    }
    if (!strcmp(n->op_type, "Shape")) memcpy(d, x->dims + start, 8 * (size_t)len);
    else d[0] = cinfer_tensor_numel(x);
    o->t.data = d;
    o->store = CINFER__STORE_CONST;
    o->folded = true;
    *st = CINFER_OK;
    return true;
}

/* Reshape-like ops only relabel the shape: their output views the input's bytes. */
static bool is_view_op(const cinfer__node *n) {
    static const char *const ops[] = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity",
                                      "Dropout", NULL};
    if (n->domain[0] || n->n_out < 1 || n->out[0] < 0) return false;
    for (int o = 1; o < n->n_out; o++)
        if (n->out[o] >= 0) return false; /* Dropout's mask output */
    for (int i = 0; ops[i]; i++)
        if (!strcmp(n->op_type, ops[i])) return true;
    return false;
}

int cinfer__alias_root(const cinfer__plan_value *vals, int v) {
    while (vals[v].alias_of >= 0) v = vals[v].alias_of;
    return v;
}

static int alias_root(const cinfer__plan_value *vals, int v) { return cinfer__alias_root(vals, v); }

/* Records that step s reads value v (through any chain of views). */
static void note_read(cinfer__plan_value *vals, int v, int s) {
    int r = alias_root(vals, v);
    if (vals[r].store == CINFER__STORE_ARENA && vals[r].last < s) vals[r].last = s;
}

/* Either folds the node into constants or appends it as a step. */
static cinfer_status plan_node(cinfer_model *m, cinfer__plan *p, const cinfer__node *n,
                               cinfer__err *err) {
    cinfer__plan_value *vals = p->vals;
    cinfer_status st;
    if (fold_shape_only(n, vals, err, &st)) return st;
    const cinfer_tensor *in[CINFER_MAX_IO] = {0};
    cinfer_tensor *out[CINFER_MAX_IO] = {0};
    bool known = true, needed = false;
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0) {
            in[k] = &vals[n->in[k]].t;
            known &= in[k]->data != NULL;
        }
    for (int o = 0; o < n->n_out; o++)
        if (n->out[o] >= 0) {
            out[o] = &vals[n->out[o]].t;
            needed |= m->value_needed[n->out[o]];
        }
    CINFER_TRY(cinfer__infer_node(n, in, n->n_in, out, err));
    size_t out_bytes = 0;
    for (int o = 0; o < n->n_out; o++)
        if (out[o]) out_bytes += cinfer__tensor_bytes(out[o]);
    if (known && (needed || out_bytes <= m->fold_cap)) {
        CINFER_TRY(cinfer__eval_node(n, in, n->n_in, out, m->rt->pool, err));
        for (int o = 0; o < n->n_out; o++)
            if (out[o]) {
                vals[n->out[o]].store = CINFER__STORE_CONST;
                vals[n->out[o]].folded = true;
                p->folded_bytes += cinfer__tensor_bytes(out[o]);
            }
        return CINFER_OK;
    }
    if (is_view_op(n) && vals[n->in[0]].t.dtype == out[0]->dtype) {
        cinfer__plan_value *o = &vals[n->out[0]];
        o->alias_of = n->in[0];
        o->store = vals[alias_root(vals, n->in[0])].store;
        o->t.data = NULL;
        if (o->store == CINFER__STORE_INPUT) p->has_input_views = true;
        return CINFER_OK;
    }
    const cinfer__cpu_kernel *k = cinfer__cpu_find(n->domain, n->op_type);
    if (!k)
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "node '%s': no CPU kernel for op %s",
                              n->name, n->op_type);
    cinfer__cpu_ctx c = {.node = n, .n_in = n->n_in, .n_out = n->n_out, .pool = m->rt->pool,
                         .err = err};
    memcpy(c.in, in, sizeof in);
    memcpy(c.out, out, sizeof out);
    if (k->supports && (st = k->supports(&c)) != CINFER_OK) {
        cinfer__err_prefix(err, "node '%s' (%s)", n->name, n->op_type);
        return st;
    }
    cinfer__plan_step *s = &p->steps[p->n_steps];
    *s = (cinfer__plan_step){.node = n, .kernel = k,
                             .scratch_bytes = k->scratch_bytes ? k->scratch_bytes(&c) : 0};
    if (s->scratch_bytes > p->scratch_bytes) p->scratch_bytes = s->scratch_bytes;
    /* On CUDA the CPU prepares (packed weights...) wait for placement: most steps never run
     * on the CPU (cinfer__place prepares the ones that do). */
    if (k->prepare && !m->rt->cuda && (st = k->prepare(&c, &s->state)) != CINFER_OK) {
        cinfer__err_prefix(err, "node '%s' (%s)", n->name, n->op_type);
        return st;
    }
    for (int kk = 0; kk < n->n_in; kk++)
        if (n->in[kk] >= 0) note_read(vals, n->in[kk], p->n_steps);
    for (int o = 0; o < n->n_out; o++)
        if (n->out[o] >= 0) {
            cinfer__plan_value *v = &vals[n->out[o]];
            v->store = CINFER__STORE_ARENA;
            v->first = v->last = p->n_steps;
            v->t.data = NULL;
        }
    p->flops += cinfer__node_flops(n, in, n->n_in, (const cinfer_tensor *const *)out, n->n_out);
    p->n_steps++;
    return CINFER_OK;
}

static cinfer_status plan_init_values(cinfer_model *m, cinfer__plan *p, const cinfer_tensor *in) {
    const cinfer__graph *g = m->g;
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].constant) {
            p->vals[v].t = *g->values[v].constant;
            p->vals[v].store = CINFER__STORE_CONST;
        }
    for (int i = 0; i < g->n_inputs; i++) {
        cinfer__plan_value *v = &p->vals[g->inputs[i]];
        v->t = in[i];
        v->t.flags = 0;
        /* Only inputs whose values decide shapes are visible to planning. */
        if (!m->input_value_needed[i]) v->t.data = NULL;
        v->store = CINFER__STORE_INPUT;
        v->input_index = i;
    }
    return CINFER_OK;
}

cinfer_status cinfer__plan_build(cinfer_model *m, const cinfer_tensor *in, cinfer__plan **out,
                                 cinfer__err *err) {
    const cinfer__graph *g = m->g;
    cinfer__plan *p = cinfer__calloc(1, sizeof *p);
    if (!p) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory planning");
    pthread_mutex_init(&p->mu, NULL);
    p->n_values = g->n_values;
    p->guard = m->guard;
    p->vals = cinfer__calloc((size_t)g->n_values + 1, sizeof *p->vals);
    p->steps = cinfer__calloc((size_t)g->n_nodes + 1, sizeof *p->steps);
    cinfer_status st = CINFER_OK;
    if (!p->vals || !p->steps) st = cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    for (int v = 0; st == CINFER_OK && v < g->n_values; v++) p->vals[v].alias_of = -1;
    if (st == CINFER_OK) st = make_key(m, in, &p->key, &p->key_len, err);
    if (st == CINFER_OK) st = plan_init_values(m, p, in);
    for (int i = 0; st == CINFER_OK && i < g->n_nodes; i++)
        if (!g->nodes[i].dead) st = plan_node(m, p, &g->nodes[i], err);
    for (int o = 0; st == CINFER_OK && o < g->n_outputs; o++) {
        note_read(p->vals, g->outputs[o], p->n_steps); /* read after the last step */
    }
    for (int i = 0; st == CINFER_OK && i < g->n_inputs; i++) p->vals[g->inputs[i]].t.data = NULL;
    if (st == CINFER_OK) st = cinfer__memplan(p, err);
    if (st == CINFER_OK && m->rt->cuda) st = cinfer__place(m, p, err);
    if (st != CINFER_OK) {
        cinfer__plan_destroy(p);
        return st;
    }
    *out = p;
    return CINFER_OK;
}

cinfer_status cinfer__plan_get(cinfer_model *m, const cinfer_tensor *in, cinfer__plan **out,
                               bool *transient, cinfer__err *err) {
    *transient = false;
    unsigned char *key;
    size_t len;
    CINFER_TRY(make_key(m, in, &key, &len, err));
    pthread_mutex_lock(&m->mu);
    cinfer__plan *p = m->plans;
    while (p && !(p->key_len == len && !memcmp(p->key, key, len))) p = p->next;
    pthread_mutex_unlock(&m->mu);
    cinfer__free(key);
    if (p) {
        *out = p;
        return CINFER_OK;
    }
    /* Planned outside the lock; if two threads race, the loser's plan is dropped. */
    CINFER_TRY(cinfer__plan_build(m, in, &p, err));
    pthread_mutex_lock(&m->mu);
    cinfer__plan *q = m->plans;
    while (q && !(q->key_len == p->key_len && !memcmp(q->key, p->key, p->key_len))) q = q->next;
    if (!q && m->n_plans >= CINFER__MAX_PLANS) {
        bool warn = !m->plans_full_warned;
        m->plans_full_warned = true;
        pthread_mutex_unlock(&m->mu);
        if (warn)
            cinfer__log(m->rt, CINFER_LOG_WARN, "%s: %d plans cached; further input signatures "
                        "are planned on every run", m->path, CINFER__MAX_PLANS);
        *transient = true;
        *out = p;
        return CINFER_OK;
    }
    if (!q) {
        p->next = m->plans;
        m->plans = p;
        m->n_plans++;
        cinfer__log(m->rt, CINFER_LOG_DEBUG, "%s: new plan #%d (%d steps, arena %zu bytes)",
                    m->path, m->n_plans, p->n_steps, p->arena_bytes);
    }
    pthread_mutex_unlock(&m->mu);
    if (q) {
        cinfer__plan_destroy(p);
        p = q;
    }
    *out = p;
    return CINFER_OK;
}
