/* Running a CUDA plan on an execution context (gpu_ctx.c): the per-run loop of copies, graph
 * launches and CPU steps. Nothing here allocates device or pinned memory or synchronizes the
 * device per run once the context has run this plan (the second run also captures the graphs):
 * the only host waits are the module's d2h (before a CPU step reads) and the stream sync at the
 * end. */
#include <string.h>

#include "core/alloc.h"
#include "runtime/runtime.h"

#define COPY_BATCH 16

/* Whether plan value v is a caller input given in device memory (CINFER_TENSOR_DEVICE). */
static bool device_input(const cinfer__plan *p, const cinfer_tensor *inputs, int v) {
    const cinfer__plan_value *pv = &p->vals[v];
    return pv->store == CINFER__STORE_INPUT && pv->alias_of < 0 &&
           (inputs[pv->input_index].flags & CINFER_TENSOR_DEVICE);
}

/* The CPU step that reads value v (through any view of it) on the host, or NULL. */
static const cinfer__node *host_reader(const cinfer__plan *p, int v) {
    for (int s = 0; s < p->n_steps; s++) {
        const cinfer__node *n = p->steps[s].node;
        for (int k = 0; !p->steps[s].gpu && k < n->n_in; k++)
            if (n->in[k] >= 0 && cinfer__alias_root(p->vals, n->in[k]) == v) return n;
    }
    return NULL;
}

/* Inputs in device memory go device to device into their slots past the arena, on the compute
 * stream before any step; the planned host-to-device copies skip them. */
static cinfer_status device_inputs(cinfer_model *m, const cinfer__plan *p, cinfer__context *c,
                                   const cinfer_tensor *inputs, cinfer__err *err) {
    char why[CINFER_CUDA_MSG_LEN] = "";
    for (int v = 0; v < p->n_values; v++) {
        if (!device_input(p, inputs, v)) continue;
        const cinfer__node *n = host_reader(p, v);
        if (n)
            return cinfer__errorf(err, CINFER_INVALID_INPUT, "input '%s' is in device memory, "
                                  "but node '%s' (%s) runs on the CPU and reads it: pass it in "
                                  "host memory", m->g->values[v].name, n->name, n->op_type);
        if (p->dev_off[v] < 0) continue; /* no step reads it */
        cinfer_cuda_copy cp = {c->dptr[v], inputs[p->vals[v].input_index].data,
                               cinfer__tensor_bytes(&p->vals[v].t)};
        cinfer_status st = p->cuda->d2d(c->gpu, &cp, 1, why);
        if (st != CINFER_OK)
            return cinfer__errorf(err, st, "copying input '%s' on the device: %s",
                                  m->g->values[v].name, why);
    }
    return CINFER_OK;
}

/* The copies planned before step s, in batches. Before a CPU step the host also waits for
 * host-to-device copies still in flight (*h2d_pending): the step may overwrite pinned bytes
 * they read. */
static cinfer_status step_copies(const cinfer__plan *p, cinfer__context *c,
                                 const cinfer_tensor *inputs, const cinfer__plan_step *st,
                                 bool *h2d_pending, cinfer__err *err) {
    cinfer_cuda_copy cp[COPY_BATCH];
    char why[CINFER_CUDA_MSG_LEN] = "";
    if (st->gpu) *h2d_pending |= st->n_xfer > 0;
    if (!st->gpu && *h2d_pending) {
        cinfer_status rc = p->cuda->d2h(c->gpu, cp, 0, why); /* d2h below waits as well */
        if (rc != CINFER_OK)
            return cinfer__errorf(err, rc, "node '%s' (%s): waiting for copies to the device: "
                                  "%s", st->node->name, st->node->op_type, why);
        *h2d_pending = false;
    }
    for (int i = 0; i < st->n_xfer;) {
        int k = 0;
        for (; k < COPY_BATCH && i < st->n_xfer; i++) {
            const cinfer__xfer *x = &p->xfers[st->xfer_first + i];
            if (device_input(p, inputs, x->value)) continue; /* copied at the run's start */
            size_t bytes = cinfer__tensor_bytes(&p->vals[x->value].t);
            void *host = c->views[x->value].data, *dev = c->dptr[x->value];
            cp[k++] = x->to_device ? (cinfer_cuda_copy){dev, host, bytes}
                                   : (cinfer_cuda_copy){host, dev, bytes};
        }
        if (!k) continue;
        cinfer_status rc = st->gpu ? p->cuda->h2d(c->gpu, cp, k, why)
                                   : p->cuda->d2h(c->gpu, cp, k, why);
        if (rc != CINFER_OK)
            return cinfer__errorf(err, rc, "node '%s' (%s): copying its inputs %s: %s",
                                  st->node->name, st->node->op_type,
                                  st->gpu ? "to the device" : "to the host", why);
    }
    return CINFER_OK;
}

static cinfer_status gpu_step(const cinfer__plan *p, cinfer__context *c, int s,
                              cinfer__err *err) {
    const cinfer__node *n = p->steps[s].node;
    const void *in[CINFER_MAX_IO];
    void *out[CINFER_MAX_IO];
    for (int k = 0; k < n->n_in; k++) in[k] = n->in[k] >= 0 ? c->dptr[n->in[k]] : NULL;
    for (int k = 0; k < n->n_out; k++) out[k] = n->out[k] >= 0 ? c->dptr[n->out[k]] : NULL;
    char why[CINFER_CUDA_MSG_LEN] = "";
    cinfer_status st = p->cuda->run(c->gpu, c->gpu_state[s], in, out, why);
    if (st != CINFER_OK)
        return cinfer__errorf(err, st, "node '%s' (%s) on CUDA: %s", n->name, n->op_type, why);
    return CINFER_OK;
}

/* ---- CUDA graphs ---- */

/* One past the last step of the segment that starts at GPU step s: the GPU steps that follow
 * it with no copies of their own (a copy is a host-side call between launches). */
static int segment_end(const cinfer__plan *p, int s) {
    int e = s + 1;
    while (e < p->n_steps && p->steps[e].gpu && p->steps[e].n_xfer == 0) e++;
    return e;
}

int cinfer__plan_graph_segments(const cinfer__plan *p) {
    int n = 0;
    for (int s = 0; s < p->n_steps; s++)
        if (p->steps[s].gpu) {
            n++;
            s = segment_end(p, s) - 1;
        }
    return n;
}

static cinfer_status eager_steps(const cinfer__plan *p, cinfer__context *c, int s, int e,
                                 cinfer__err *err) {
    cinfer_status st = CINFER_OK;
    for (int k = s; k < e && st == CINFER_OK; k++) st = gpu_step(p, c, k, err);
    return st;
}

/* Gives up on graphs for this context: frees what was captured (a launch still in flight
 * finishes first) and says why, once. */
static void give_up_graphs(cinfer_model *m, const cinfer__plan *p, cinfer__context *c, int s,
                           const char *why) {
    for (int k = 0; k < p->n_steps; k++) {
        p->cuda->graph_release(c->graphs[k]);
        c->graphs[k] = NULL;
    }
    c->graphs_off = true;
    const cinfer__node *n = p->steps[s].node;
    cinfer__log(m->rt, CINFER_LOG_WARN, "%s: CUDA graph capture of the segment starting at node "
                "'%s' (%s) failed, this execution context launches step by step from now on: "
                "%s", m->path, n->name, n->op_type, why);
}

/* Records steps [s, e) into c->graphs[s]. Capture launches nothing, so on failure the steps
 * have not run yet and the caller runs them eagerly. */
static void capture_segment(cinfer_model *m, const cinfer__plan *p, cinfer__context *c, int s,
                            int e) {
    char why[CINFER_CUDA_MSG_LEN] = "";
    cinfer__err err = {{0}};
    cinfer_status st = p->cuda->graph_begin(c->gpu, why);
    if (st != CINFER_OK) {
        give_up_graphs(m, p, c, s, why);
        return;
    }
    st = eager_steps(p, c, s, e, &err);
    void *graph = NULL;
    cinfer_status est = p->cuda->graph_end(c->gpu, &graph, why); /* ends even a failed one */
    if (st == CINFER_OK && est == CINFER_OK) {
        c->graphs[s] = graph;
        return;
    }
    p->cuda->graph_release(graph);
    give_up_graphs(m, p, c, s, st != CINFER_OK ? err.msg : why);
}

/* GPU steps [s, e), one segment: one launch per step at the context's first run (the warm-up)
 * and once it has gone eager; otherwise its graph, captured at the second run. */
static cinfer_status run_segment(cinfer_model *m, const cinfer__plan *p, cinfer__context *c,
                                 int s, int e, cinfer__err *err) {
    if (!c->graphs_off && c->warmed && !c->graphs[s]) capture_segment(m, p, c, s, e);
    if (c->graphs_off || !c->graphs[s]) return eager_steps(p, c, s, e, err);
    char why[CINFER_CUDA_MSG_LEN] = "";
    cinfer_status st = p->cuda->graph_launch(c->gpu, c->graphs[s], why);
    if (st != CINFER_OK)
        return cinfer__errorf(err, st, "launching the CUDA graph of the segment starting at "
                              "node '%s' (%s): %s", p->steps[s].node->name,
                              p->steps[s].node->op_type, why);
    return CINFER_OK;
}

/* ---- Outputs ---- */

/* One output copy, from wherever the bytes are to wherever the caller wants them. */
static cinfer_status output_copy(const cinfer__plan *p, cinfer__context *c, void *dst,
                                 bool dst_dev, const void *src, bool src_dev, size_t bytes,
                                 char *why) {
    cinfer_cuda_copy cp = {dst, src, bytes};
    if (!dst_dev && !src_dev) {
        memcpy(dst, src, bytes);
        return CINFER_OK;
    }
    if (dst_dev && src_dev) return p->cuda->d2d(c->gpu, &cp, 1, why);
    return dst_dev ? p->cuda->h2d(c->gpu, &cp, 1, why) : p->cuda->d2h(c->gpu, &cp, 1, why);
}

/* Outputs current on the host are memcpy'd (or uploaded, into device buffers); the others
 * come straight from the device into the caller's (or a runtime-allocated) buffer, or device
 * to device. An output that is a caller input is where the caller put it. */
static cinfer_status cuda_outputs(cinfer_model *m, const cinfer__plan *p, cinfer__context *c,
                                  const cinfer_tensor *inputs, size_t n_outputs, const int *idx,
                                  cinfer_tensor *outputs, cinfer__err *err) {
    char why[CINFER_CUDA_MSG_LEN] = "";
    size_t i = 0;
    cinfer_status st = CINFER_OK;
    for (; i < n_outputs && st == CINFER_OK; i++) {
        int v = m->g->outputs[idx[i]], r = cinfer__alias_root(p->vals, v);
        const cinfer_tensor *src = &c->views[v];
        size_t bytes = cinfer__tensor_bytes(src);
        cinfer_tensor *dst = &outputs[i];
        if (!dst->data) {
            void *data = cinfer__aligned_alloc(bytes);
            if (!data) {
                st = cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory for output '%s'",
                                    m->g->values[v].name);
                break;
            }
            *dst = *src;
            dst->data = data;
            dst->flags = CINFER_TENSOR_RUNTIME_OWNED;
        }
        if (!bytes) continue;
        bool src_dev = p->vals[r].store == CINFER__STORE_INPUT ? device_input(p, inputs, r)
                                                               : !(p->loc[r] & CINFER__ON_HOST);
        const void *from = src_dev && p->vals[r].store != CINFER__STORE_INPUT ? c->dptr[v]
                                                                              : src->data;
        st = output_copy(p, c, dst->data, dst->flags & CINFER_TENSOR_DEVICE, from, src_dev,
                         bytes, why);
        if (st != CINFER_OK)
            cinfer__errorf(err, st, "copying output '%s' to the caller's %s memory: %s",
                           m->g->values[v].name,
                           dst->flags & CINFER_TENSOR_DEVICE ? "device" : "host", why);
    }
    if (st != CINFER_OK)
        for (size_t j = 0; j < i; j++)
            if (outputs[j].flags & CINFER_TENSOR_RUNTIME_OWNED) cinfer_tensor_release(&outputs[j]);
    return st;
}

/* One run: inputs in device memory first, then for each step its planned copies and either a
 * CPU step or a whole GPU segment, then the outputs. */
static cinfer_status run_bound(cinfer_model *m, cinfer__plan *p, cinfer__context *c,
                               const cinfer_tensor *inputs, size_t n_outputs,
                               const int *output_index, cinfer_tensor *outputs,
                               cinfer__err *err) {
    char why[CINFER_CUDA_MSG_LEN] = "";
    cinfer_status st = p->cuda->ctx_bind(c->gpu, why);
    if (st != CINFER_OK) return cinfer__errorf(err, st, "binding the CUDA context: %s", why);
    st = device_inputs(m, p, c, inputs, err);
    bool h2d_pending = false;
    for (int s = 0; s < p->n_steps && st == CINFER_OK; s++) {
        const cinfer__plan_step *ps = &p->steps[s];
        st = step_copies(p, c, inputs, ps, &h2d_pending, err);
        if (st != CINFER_OK) break;
        if (!ps->gpu) {
            st = cinfer__run_cpu_step(m, p, c, ps, err);
            continue;
        }
        int e = segment_end(p, s);
        st = run_segment(m, p, c, s, e, err);
        s = e - 1;
    }
    if (st == CINFER_OK)
        st = cuda_outputs(m, p, c, inputs, n_outputs, output_index, outputs, err);
    /* Always drain the streams: a failed run must not leave work behind on a context that the
     * next run reuses. */
    cinfer_status sst = p->cuda->sync(c->gpu, why);
    if (st == CINFER_OK && sst != CINFER_OK) {
        st = cinfer__errorf(err, sst, "finishing the run on CUDA: %s", why);
        for (size_t i = 0; i < n_outputs; i++) /* a failed run leaves no output runtime-owned */
            if (outputs[i].flags & CINFER_TENSOR_RUNTIME_OWNED) cinfer_tensor_release(&outputs[i]);
    }
    c->warmed |= st == CINFER_OK;
    return st;
}

cinfer_status cinfer__plan_run_cuda(cinfer_model *m, cinfer__plan *p, cinfer__gpu_ctx *g,
                                    const cinfer_tensor *inputs, size_t n_outputs,
                                    const int *output_index, cinfer_tensor *outputs,
                                    cinfer__err *err) {
    cinfer__gpu_ctx *mine = NULL;
    if (!g) CINFER_TRY(cinfer__gpu_ctx_take(m, &mine, err));
    cinfer__context *c = NULL;
    cinfer_status st = cinfer__gpu_bind(m, p, g ? g : mine, &c, NULL, err);
    if (st == CINFER_OK) {
        cinfer__bind_inputs(p, c, inputs);
        st = run_bound(m, p, c, inputs, n_outputs, output_index, outputs, err);
    }
    cinfer__gpu_ctx_give(m, mine);
    return st;
}
