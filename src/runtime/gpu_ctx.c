/* CUDA execution contexts (docs/cuda-backend.md, "Execution contexts"): the model's pool of
 * them, their arenas, which grow to the largest plan they run, and the binding of each plan to
 * each context it runs on (prepared steps, device pointers, captured graphs). */
#include <string.h>

#include "core/alloc.h"
#include "runtime/runtime.h"

#define DEV_ALIGN 256

static size_t align_up(size_t n) { return (n + DEV_ALIGN - 1) / DEV_ALIGN * DEV_ALIGN; }

size_t cinfer__plan_host_bytes(const cinfer__plan *p) {
    /* CPU steps work in a pinned host arena laid out like the device one, so the copies
     * between them are asynchronous and need no offsets of their own. */
    return p->n_gpu_steps < p->n_steps ? p->arena_bytes : 0;
}

/* Host views: arena values in the pinned host arena (when the plan has CPU steps), views
 * through their roots. */
static void bind_host_views(const cinfer__plan *p, cinfer__context *c) {
    for (int v = 0; v < p->n_values; v++) {
        c->views[v] = p->vals[v].t;
        if (p->vals[v].store == CINFER__STORE_ARENA && p->vals[v].alias_of < 0)
            c->views[v].data = c->arena ? c->arena + p->vals[v].offset : NULL;
    }
    for (int v = 0; v < p->n_values; v++) {
        int r = cinfer__alias_root(p->vals, v);
        if (r != v) c->views[v].data = c->views[r].data;
    }
}

static void bind_device_ptrs(const cinfer_model *m, const cinfer__plan *p, cinfer__context *c,
                             unsigned char *darena) {
    /* No arena yet (a plan without device bytes): nothing points into it. */
    unsigned char *region = darena ? darena + align_up(p->arena_bytes) : NULL;
    for (int v = 0; v < p->n_values; v++) {
        const cinfer__plan_value *pv = &p->vals[v];
        if (pv->alias_of >= 0) continue;
        bool folded = pv->store == CINFER__STORE_CONST && pv->folded;
        if (pv->store == CINFER__STORE_ARENA) c->dptr[v] = darena ? darena + pv->offset : NULL;
        else if (folded && p->dev_off[v] >= 0) c->dptr[v] = c->dconst + p->dev_off[v];
        else if (p->dev_off[v] >= 0) c->dptr[v] = region ? region + p->dev_off[v] : NULL;
        else if (pv->store == CINFER__STORE_CONST && !folded) c->dptr[v] = m->dev_const[v];
    }
    for (int v = 0; v < p->n_values; v++) {
        int r = cinfer__alias_root(p->vals, v);
        if (r != v) c->dptr[v] = c->dptr[r];
    }
}

/* Copies the plan-folded constants that GPU steps read into the binding's own block, once,
 * when the binding is made (the context's arena is shared with its other plans, whose
 * activations would overwrite them there). */
static cinfer_status upload_folded(const cinfer_model *m, const cinfer__plan *p,
                                   cinfer__context *c, cinfer__err *err) {
    char why[CINFER_CUDA_MSG_LEN] = "";
    if (!p->const_bytes) return CINFER_OK;
    void *block = NULL;
    cinfer_status st = p->cuda->mem_alloc(m->rt->device_index, p->const_bytes, &block, why);
    if (st != CINFER_OK)
        return cinfer__errorf(err, st, "%zu bytes for plan constants: %s", p->const_bytes, why);
    c->dconst = block;
    c->dconst_device = m->rt->device_index;
    for (int v = 0; v < p->n_values; v++) {
        const cinfer__plan_value *pv = &p->vals[v];
        if (pv->store != CINFER__STORE_CONST || !pv->folded || p->dev_off[v] < 0) continue;
        cinfer_cuda_copy cp = {c->dconst + p->dev_off[v], pv->t.data,
                               cinfer__tensor_bytes(&pv->t)};
        if ((st = p->cuda->h2d(c->gpu, &cp, 1, why)) != CINFER_OK)
            return cinfer__errorf(err, st, "uploading plan constants: %s", why);
    }
    st = p->cuda->sync(c->gpu, why);
    return st == CINFER_OK ? st : cinfer__errorf(err, st, "uploading plan constants: %s", why);
}

/* The value's plan tensor, or a copy in *retyped typed as its device bytes are stored. */
static const cinfer_tensor *as_stored(const cinfer__plan *p, int v, cinfer_tensor *retyped) {
    cinfer_dtype half = p->dev_half ? p->dev_half[cinfer__alias_root(p->vals, v)] : 0;
    if (!half) return &p->vals[v].t;
    *retyped = p->vals[v].t;
    retyped->dtype = half;
    return retyped;
}

/* How value v's device bytes are laid out (CINFER_CUDA_NCHW for omitted slots). */
static unsigned char stored_layout(const cinfer__plan *p, int v) {
    if (v < 0 || !p->dev_layout) return CINFER_CUDA_NCHW;
    return p->dev_layout[cinfer__alias_root(p->vals, v)];
}

void cinfer__module_node(const cinfer_model *m, const cinfer__plan *p,
                         const cinfer__plan_step *st, cinfer__module_view *mv) {
    const cinfer__node *n = st->node;
    for (int k = 0; k < n->n_in; k++) {
        int v = n->in[k];
        mv->in[k] = v >= 0 ? as_stored(p, v, &mv->retyped[k]) : NULL;
        /* Model initializers only: a plan-folded constant's device copy is per context. */
        mv->weight[k] = v >= 0 && p->vals[v].store == CINFER__STORE_CONST && !p->vals[v].folded
                            ? (m->dev_const ? m->dev_const[v] : NULL)
                            : NULL;
    }
    for (int k = 0; k < n->n_out; k++)
        mv->out[k] = n->out[k] >= 0 ? as_stored(p, n->out[k], &mv->retyped[CINFER_MAX_IO + k])
                                    : NULL;
    for (int k = 0; k < n->n_in; k++) mv->layout_in[k] = stored_layout(p, n->in[k]);
    for (int k = 0; k < n->n_out; k++) mv->layout_out[k] = stored_layout(p, n->out[k]);
    mv->node = (cinfer_cuda_node){.node = n, .n_in = n->n_in, .n_out = n->n_out, .in = mv->in,
                                  .out = mv->out, .precision = st->precision,
                                  .weight = mv->weight, .layout_in = mv->layout_in,
                                  .layout_out = mv->layout_out};
}

static cinfer_status prepare_steps(const cinfer_model *m, const cinfer__plan *p,
                                   cinfer__context *c, int *bad_step,
                                   cinfer__err *err) {
    for (int s = 0; s < p->n_steps; s++) {
        const cinfer__plan_step *st = &p->steps[s];
        if (!st->gpu) continue;
        cinfer__module_view mv;
        cinfer__module_node(m, p, st, &mv);
        char why[CINFER_CUDA_MSG_LEN] = "";
        cinfer_status rc = p->cuda->prepare(c->gpu, &mv.node, &c->gpu_state[s], why);
        if (rc != CINFER_OK) {
            if (bad_step) *bad_step = s;
            return cinfer__errorf(err, rc, "node '%s' (%s) on CUDA: %s", st->node->name,
                                  st->node->op_type, why);
        }
    }
    return CINFER_OK;
}

/* ---- The pool ---- */

/* The context this thread holds for its life (a scheduler instance's), if any. */
static _Thread_local cinfer__gpu_ctx *held_here;

void cinfer__gpu_ctx_hold_here(cinfer__gpu_ctx *g) { held_here = g; }

cinfer__gpu_ctx *cinfer__gpu_ctx_held(const cinfer_model *m) {
    return held_here && held_here->mu == &m->gpu_mu ? held_here : NULL;
}

cinfer_status cinfer__gpu_ctx_take(cinfer_model *m, cinfer__gpu_ctx **out, cinfer__err *err) {
    pthread_mutex_lock(&m->gpu_mu);
    cinfer__gpu_ctx *g = m->gpu_free;
    if (g) m->gpu_free = g->next_free;
    pthread_mutex_unlock(&m->gpu_mu);
    *out = g;
    if (g) return CINFER_OK;
    g = cinfer__calloc(1, sizeof *g);
    if (!g) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    const cinfer_cuda_api *api = m->rt->cuda;
    char why[CINFER_CUDA_MSG_LEN] = "";
    void *darena = NULL, *host = NULL;
    /* The arenas come with the first plan bound to it (cinfer__gpu_bind). */
    cinfer_status st = api->ctx_create(m->cuda_dev, 0, 0, &g->gpu, &darena, &host, why);
    if (st != CINFER_OK) {
        cinfer__free(g);
        return cinfer__errorf(err, st, "creating a CUDA execution context: %s", why);
    }
    g->api = api;
    g->mu = &m->gpu_mu;
    g->gen = 1;
    pthread_mutex_lock(&m->gpu_mu);
    g->next_all = m->gpu_all;
    m->gpu_all = g;
    m->n_gpu_ctx++;
    pthread_mutex_unlock(&m->gpu_mu);
    *out = g;
    return CINFER_OK;
}

void cinfer__gpu_ctx_give(cinfer_model *m, cinfer__gpu_ctx *g) {
    if (!g) return;
    pthread_mutex_lock(&m->gpu_mu);
    g->next_free = m->gpu_free;
    m->gpu_free = g;
    pthread_mutex_unlock(&m->gpu_mu);
}

/* Model destroy, after its plans (and so every binding) are gone. */
void cinfer__gpu_ctx_free_all(cinfer_model *m) {
    while (m->gpu_all) {
        cinfer__gpu_ctx *g = m->gpu_all;
        m->gpu_all = g->next_all;
        g->api->ctx_destroy(g->gpu); /* frees both arenas */
        cinfer__free(g);
    }
    m->gpu_free = NULL;
    m->n_gpu_ctx = 0;
}

/* An arena's new size for `need` bytes: the same when it fits; else at least half again as
 * large, so shapes that creep up (sequence lengths) cost a few re-points and recaptures, not
 * one per new maximum. A first sizing (from 0: an instance's largest bucket) is exact. */
static size_t grown(size_t need, size_t cap) {
    if (need <= cap) return cap;
    return need > cap + cap / 2 ? need : cap + cap / 2;
}

cinfer_status cinfer__gpu_ctx_reserve(cinfer_model *m, cinfer__gpu_ctx *g, size_t dev_bytes,
                                      size_t host_bytes, cinfer__err *err) {
    if (dev_bytes <= g->dev_cap && host_bytes <= g->host_cap) return CINFER_OK;
    dev_bytes = grown(dev_bytes, g->dev_cap);
    host_bytes = grown(host_bytes, g->host_cap);
    char why[CINFER_CUDA_MSG_LEN] = "";
    void *darena = NULL, *host = NULL;
    /* Every binding of g points into the old arenas: they re-point (and recapture their
     * graphs) at their next run, when they see the new generation. */
    g->gen++;
    cinfer_status st = g->api->ctx_arena(g->gpu, dev_bytes, host_bytes, &darena, &host, why);
    g->darena = darena;
    g->host = host;
    g->dev_cap = st == CINFER_OK ? dev_bytes : 0;
    g->host_cap = st == CINFER_OK ? host_bytes : 0;
    if (st != CINFER_OK)
        return cinfer__errorf(err, st, "model '%s': growing a CUDA execution context's arenas "
                              "to %zu device and %zu pinned host bytes: %s", m->path, dev_bytes,
                              host_bytes, why);
    atomic_fetch_add(&m->gpu_arena_grows, 1);
    return CINFER_OK;
}

/* ---- Plan bindings ---- */

static cinfer__context *find_binding(cinfer__gpu_ctx *g, const cinfer__plan *p) {
    pthread_mutex_lock(g->mu);
    cinfer__context *c = g->bound;
    while (c && c->plan != p) c = c->next_bound;
    pthread_mutex_unlock(g->mu);
    return c;
}

/* A new binding of p on g: every GPU step prepared on g's module context. It points nowhere
 * until cinfer__gpu_bind re-points it (generation 0 is never g's). */
static cinfer_status binding_new(cinfer_model *m, cinfer__plan *p, cinfer__gpu_ctx *g,
                                 cinfer__context **out, int *bad_step, cinfer__err *err) {
    *out = NULL;
    cinfer__context *c = cinfer__calloc(1, sizeof *c);
    if (!c) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    size_t n = (size_t)p->n_values + 1;
    c->owner = g;
    c->plan = p;
    c->gpu = g->gpu;
    c->views = cinfer__calloc(n, sizeof *c->views);
    c->dptr = cinfer__calloc(n, sizeof *c->dptr);
    c->gpu_state = cinfer__calloc((size_t)p->n_steps + 1, sizeof *c->gpu_state);
    /* Graphs are captured at the binding's second run, not here: the first, eager, run is a
     * warm-up that lets the libraries do their one-time work (loading kernels, internal setup)
     * outside a capture, where it may not be allowed; and plans that never run (the load's
     * probe plan, placement retries) pay nothing. */
    c->graphs = cinfer__calloc((size_t)p->n_steps + 1, sizeof *c->graphs);
    c->graphs_off = !m->cuda_graphs;
    c->scratch = p->scratch_bytes ? cinfer__aligned_alloc(p->scratch_bytes) : NULL;
    cinfer_status st = CINFER_OK;
    if (!c->views || !c->dptr || !c->gpu_state || !c->graphs ||
        (p->scratch_bytes && !c->scratch))
        st = cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    if (st == CINFER_OK) st = prepare_steps(m, p, c, bad_step, err);
    if (st == CINFER_OK) st = upload_folded(m, p, c, err); /* after prepare made g current */
    if (st != CINFER_OK) {
        c->owner = NULL; /* never linked */
        cinfer__context_free(p, c);
        return st;
    }
    pthread_mutex_lock(&p->mu);
    st = cinfer__plan_add_context(p, c, err);
    pthread_mutex_unlock(&p->mu);
    if (st != CINFER_OK) {
        c->owner = NULL;
        cinfer__context_free(p, c);
        return st;
    }
    pthread_mutex_lock(g->mu);
    c->next_bound = g->bound;
    g->bound = c;
    pthread_mutex_unlock(g->mu);
    *out = c;
    return CINFER_OK;
}

/* Points the binding at g's current arenas: views and device pointers; graphs captured
 * against the old arenas are dropped (recaptured after a warm-up run). */
static void repoint(cinfer_model *m, const cinfer__plan *p, cinfer__gpu_ctx *g,
                    cinfer__context *c) {
    for (int s = 0; s < p->n_steps; s++) {
        g->api->graph_release(c->graphs[s]);
        c->graphs[s] = NULL;
    }
    c->warmed = false;
    c->arena = cinfer__plan_host_bytes(p) ? g->host : NULL;
    bind_host_views(p, c);
    bind_device_ptrs(m, p, c, g->darena);
    c->gen = g->gen;
}

cinfer_status cinfer__gpu_prepare(cinfer_model *m, cinfer__plan *p, cinfer__gpu_ctx *g,
                                  cinfer__context **out, int *bad_step, cinfer__err *err) {
    *out = find_binding(g, p);
    return *out ? CINFER_OK : binding_new(m, p, g, out, bad_step, err);
}

cinfer_status cinfer__gpu_bind(cinfer_model *m, cinfer__plan *p, cinfer__gpu_ctx *g,
                               cinfer__context **out, int *bad_step, cinfer__err *err) {
    cinfer__context *c = NULL;
    *out = NULL;
    CINFER_TRY(cinfer__gpu_prepare(m, p, g, &c, bad_step, err));
    CINFER_TRY(cinfer__gpu_ctx_reserve(m, g, p->dev_bytes, cinfer__plan_host_bytes(p), err));
    if (c->gen != g->gen) repoint(m, p, g, c);
    *out = c;
    return CINFER_OK;
}

/* Unlinks a binding from its context (plan destroy; nothing runs the plan). */
void cinfer__gpu_unbind(cinfer__context *c) {
    cinfer__gpu_ctx *g = c->owner;
    if (!g) return;
    pthread_mutex_lock(g->mu);
    cinfer__context **pp = &g->bound;
    while (*pp && *pp != c) pp = &(*pp)->next_bound;
    if (*pp) *pp = c->next_bound;
    pthread_mutex_unlock(g->mu);
    c->owner = NULL;
}
