/* Running a plan: take a free execution context (arena and tensor views), bind the inputs,
 * call each step's kernel, and copy the outputs out. Nothing is allocated once the model has
 * seen as many concurrent runs as it will see, except runtime-owned outputs. */
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "runtime/runtime.h"

#define GUARD_BYTE 0xA5

/* Points every view value at the bytes it views. Values are in graph order, which is not
 * topological, so chains are followed to their root. */
static void bind_views(const cinfer__plan *p, cinfer__context *c) {
    for (int v = 0; v < p->n_values; v++) {
        int r = v;
        while (p->vals[r].alias_of >= 0) r = p->vals[r].alias_of;
        if (r != v) c->views[v].data = c->views[r].data;
    }
}

static cinfer__context *context_new(cinfer__plan *p, cinfer__err *err) {
    cinfer__context *c = cinfer__calloc(1, sizeof *c);
    if (!c) goto oom;
    c->arena = cinfer__aligned_alloc(p->arena_bytes);
    c->scratch = p->scratch_bytes ? cinfer__aligned_alloc(p->scratch_bytes) : NULL;
    c->views = cinfer__calloc((size_t)p->n_values + 1, sizeof *c->views);
    if (!c->arena || (p->scratch_bytes && !c->scratch) || !c->views) goto oom;
    for (int v = 0; v < p->n_values; v++) {
        c->views[v] = p->vals[v].t;
        if (p->vals[v].store == CINFER__STORE_ARENA && p->vals[v].alias_of < 0)
            c->views[v].data = c->arena + p->vals[v].offset;
    }
    bind_views(p, c);
    if (cinfer__plan_add_context(p, c, err) != CINFER_OK) goto oom;
    return c;
oom:
    if (c) {
        cinfer__aligned_free(c->arena);
        cinfer__aligned_free(c->scratch);
        cinfer__free(c->views);
        cinfer__free(c);
    }
    cinfer__errorf(err, CINFER_OUT_OF_MEMORY,
                   "out of memory allocating an execution context (arena %zu bytes)",
                   p->arena_bytes);
    return NULL;
}

cinfer_status cinfer__plan_add_context(cinfer__plan *p, cinfer__context *c, cinfer__err *err) {
    if (p->n_ctx == p->cap_ctx) {
        int cap = p->cap_ctx ? p->cap_ctx * 2 : 4;
        cinfer__context **all = cinfer__realloc(p->all_ctx, (size_t)cap * sizeof *all);
        if (!all) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
        p->all_ctx = all;
        p->cap_ctx = cap;
    }
    p->all_ctx[p->n_ctx++] = c;
    return CINFER_OK;
}

void cinfer__context_free(const cinfer__plan *p, cinfer__context *c) {
    if (!c) return;
    if (p->cuda) {
        /* A binding: its execution context (and arenas) belong to the model's pool. */
        cinfer__gpu_unbind(c);
        for (int s = 0; c->graphs && s < p->n_steps; s++) p->cuda->graph_release(c->graphs[s]);
        cinfer__free(c->graphs);
        for (int s = 0; c->gpu_state && s < p->n_steps; s++)
            if (c->gpu_state[s]) p->cuda->release(c->gpu_state[s]);
        if (c->dconst) p->cuda->mem_free(c->dconst_device, c->dconst);
        cinfer__free(c->gpu_state);
        cinfer__free(c->dptr);
    } else {
        cinfer__aligned_free(c->arena);
    }
    cinfer__aligned_free(c->scratch);
    cinfer__free(c->views);
    cinfer__free(c);
}

static cinfer_status context_acquire(cinfer__plan *p, cinfer__context **out, cinfer__err *err) {
    cinfer_status st = CINFER_OK;
    pthread_mutex_lock(&p->mu);
    cinfer__context *c = p->free_ctx;
    if (c) p->free_ctx = c->next_free;
    else if (!(c = context_new(p, err))) st = CINFER_OUT_OF_MEMORY;
    pthread_mutex_unlock(&p->mu);
    *out = c;
    return st;
}

static void context_release(cinfer__plan *p, cinfer__context *c) {
    pthread_mutex_lock(&p->mu);
    c->next_free = p->free_ctx;
    p->free_ctx = c;
    pthread_mutex_unlock(&p->mu);
}

static bool guard_ok(const cinfer__plan *p, const cinfer__context *c, int v) {
    const cinfer__plan_value *pv = &p->vals[v];
    size_t used = cinfer__tensor_bytes(&pv->t);
    const unsigned char *end = c->arena + pv->offset + pv->bytes;
    for (const unsigned char *q = c->arena + pv->offset + used; q < end; q++)
        if (*q != GUARD_BYTE) return false;
    return true;
}

cinfer_status cinfer__run_cpu_step(cinfer_model *m, cinfer__plan *p, cinfer__context *c,
                                   const cinfer__plan_step *s, cinfer__err *err) {
    const cinfer__node *n = s->node;
    cinfer__cpu_ctx k = {.node = n, .n_in = n->n_in, .n_out = n->n_out, .pool = m->rt->pool,
                         .scratch = c->scratch, .state = s->state, .err = err};
    for (int i = 0; i < n->n_in; i++) k.in[i] = n->in[i] >= 0 ? &c->views[n->in[i]] : NULL;
    for (int i = 0; i < n->n_out; i++) k.out[i] = n->out[i] >= 0 ? &c->views[n->out[i]] : NULL;
    if (p->guard)
        for (int i = 0; i < n->n_out; i++)
            if (n->out[i] >= 0) {
                const cinfer__plan_value *pv = &p->vals[n->out[i]];
                size_t used = cinfer__tensor_bytes(&pv->t);
                memset(c->arena + pv->offset + used, GUARD_BYTE, pv->bytes - used);
            }
    struct timespec t0, t1;
    if (m->profile) clock_gettime(CLOCK_MONOTONIC, &t0);
    cinfer_status st = s->kernel->run(&k);
    if (m->profile) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        cinfer__plan_step *ms = (cinfer__plan_step *)s;
        atomic_fetch_add(&ms->prof_ns, (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL +
                                                  (t1.tv_nsec - t0.tv_nsec)));
        atomic_fetch_add(&ms->prof_calls, 1);
    }
    if (st != CINFER_OK) {
        cinfer__err_prefix(err, "node '%s' (%s)", n->name, n->op_type);
        return st;
    }
    if (p->guard)
        for (int i = 0; i < n->n_out; i++)
            if (n->out[i] >= 0 && !guard_ok(p, c, n->out[i]))
                return cinfer__errorf(err, CINFER_INTERNAL,
                                      "node '%s' (%s) wrote past the end of output %d ('%s')",
                                      n->name, n->op_type, i, m->g->values[n->out[i]].name);
    return CINFER_OK;
}

/* Checks caller-provided output buffers against the plan before any work is done. */
static cinfer_status check_outputs(cinfer_model *m, cinfer__plan *p, size_t n_outputs,
                                   const int *idx, const cinfer_tensor *outputs,
                                   cinfer__err *err) {
    for (size_t i = 0; i < n_outputs; i++) {
        const cinfer_tensor *want = &p->vals[m->g->outputs[idx[i]]].t, *got = &outputs[i];
        if (!got->data) continue;
        if (got->dtype != want->dtype || !cinfer__same_shape(got, want)) {
            char a[128], b[128];
            return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                                  "output '%s': the caller's tensor is %s %s, the result is %s %s",
                                  m->g->values[m->g->outputs[idx[i]]].name,
                                  cinfer_dtype_name(got->dtype),
                                  cinfer__shape_str(got->rank, got->dims, a, sizeof a),
                                  cinfer_dtype_name(want->dtype),
                                  cinfer__shape_str(want->rank, want->dims, b, sizeof b));
        }
    }
    return CINFER_OK;
}

static cinfer_status copy_outputs(cinfer_model *m, cinfer__context *c, size_t n_outputs,
                                  const int *idx, cinfer_tensor *outputs, cinfer__err *err) {
    for (size_t i = 0; i < n_outputs; i++) {
        const cinfer_tensor *src = &c->views[m->g->outputs[idx[i]]];
        size_t bytes = cinfer__tensor_bytes(src);
        cinfer_tensor *dst = &outputs[i];
        if (!dst->data) {
            void *data = cinfer__aligned_alloc(bytes);
            if (!data) {
                for (size_t j = 0; j < i; j++) cinfer_tensor_release(&outputs[j]);
                return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory for output '%s'",
                                      m->g->values[m->g->outputs[idx[i]]].name);
            }
            *dst = *src;
            dst->data = data;
            dst->flags = CINFER_TENSOR_RUNTIME_OWNED;
        }
        if (bytes) memcpy(dst->data, src->data, bytes);
    }
    return CINFER_OK;
}

cinfer_status cinfer__plan_run(cinfer_model *m, cinfer__plan *p, const cinfer_tensor *inputs,
                               size_t n_outputs, const int *output_index, cinfer_tensor *outputs,
                               cinfer__err *err) {
    CINFER_TRY(check_outputs(m, p, n_outputs, output_index, outputs, err));
    if (p->cuda)
        return cinfer__plan_run_cuda(m, p, NULL, inputs, n_outputs, output_index, outputs, err);
    cinfer__context *c = NULL;
    CINFER_TRY(context_acquire(p, &c, err));
    cinfer__bind_inputs(p, c, inputs);
    cinfer_status st = CINFER_OK;
    for (int s = 0; s < p->n_steps && st == CINFER_OK; s++)
        st = cinfer__run_cpu_step(m, p, c, &p->steps[s], err);
    if (st == CINFER_OK) st = copy_outputs(m, c, n_outputs, output_index, outputs, err);
    context_release(p, c);
    return st;
}

cinfer_status cinfer__plan_run_on(cinfer_model *m, cinfer__plan *p, cinfer__gpu_ctx *g,
                                  const cinfer_tensor *inputs, size_t n_outputs,
                                  const int *output_index, cinfer_tensor *outputs,
                                  cinfer__err *err) {
    CINFER_TRY(check_outputs(m, p, n_outputs, output_index, outputs, err));
    return cinfer__plan_run_cuda(m, p, g, inputs, n_outputs, output_index, outputs, err);
}

void cinfer__bind_inputs(const cinfer__plan *p, cinfer__context *c, const cinfer_tensor *inputs) {
    for (int v = 0; v < p->n_values; v++)
        if (p->vals[v].store == CINFER__STORE_INPUT && p->vals[v].alias_of < 0)
            c->views[v].data = inputs[p->vals[v].input_index].data;
    if (p->has_input_views) bind_views(p, c);
}
