/* Execution instances of a CUDA model (docs/scheduler.md, "On a GPU"). Each holds one of the
 * model's execution contexts for its life: its own streams, device and pinned host arenas
 * grown once to the largest bucket's plan, and the plans' bindings with their CUDA graphs, so
 * two instances never wait on each other's streams and one's copies overlap the other's
 * compute. Its staging buffers are pinned, so the copy streams read and write them directly.
 * The context's event timeline splits each batch into input copy, compute and output copy
 * (the statistics) and is kept for the overlap test. */
#include <string.h>

#include "sched/sched.h"

static void *cuda_staging_alloc(cinfer__instance *inst, size_t bytes) {
    const cinfer_model *m = inst->s->m;
    char why[CINFER_CUDA_MSG_LEN] = "";
    void *p = NULL;
    if (m->rt->cuda->host_alloc(m->rt->device_index, bytes, &p, why) != CINFER_OK) {
        cinfer__log(m->rt, CINFER_LOG_WARN, "%s: pinned staging of %zu bytes: %s", m->path,
                    bytes, why);
        return NULL;
    }
    return p;
}

static void cuda_staging_free(cinfer__instance *inst, void *p) {
    inst->s->m->rt->cuda->host_free(p);
}

static cinfer_status cuda_init(cinfer__instance *inst, cinfer__err *err) {
    cinfer_scheduler *s = inst->s;
    cinfer_model *m = s->m;
    cinfer__gpu_ctx *g = NULL;
    CINFER_TRY(cinfer__gpu_ctx_take(m, &g, err));
    inst->dev = g;
    char why[CINFER_CUDA_MSG_LEN] = "";
    cinfer_status st = m->rt->cuda->ctx_timing(g->gpu, 1, why);
    if (st != CINFER_OK)
        return cinfer__errorf(err, st, "instance %d: timing its CUDA context: %s", inst->index,
                              why);
    /* One allocation per arena, for the largest bucket (fixed shapes: all planned by now);
     * otherwise they grow with the shapes seen. */
    size_t dev = 0, host = 0;
    for (int k = 0; k < s->n_buckets; k++) {
        const cinfer__plan *p = s->buckets[k].plan;
        if (!p) continue;
        if (p->dev_bytes > dev) dev = p->dev_bytes;
        if (cinfer__plan_host_bytes(p) > host) host = cinfer__plan_host_bytes(p);
    }
    if (dev || host) CINFER_TRY(cinfer__gpu_ctx_reserve(m, g, dev, host, err));
    return CINFER_OK;
}

/* Plans made on this thread (new shapes) are prepared on the instance's context. */
static void cuda_thread_start(cinfer__instance *inst) { cinfer__gpu_ctx_hold_here(inst->dev); }

static void cuda_fini(cinfer__instance *inst) {
    cinfer__gpu_ctx *g = inst->dev;
    if (!g) return;
    char why[CINFER_CUDA_MSG_LEN] = "";
    (void)inst->s->m->rt->cuda->ctx_timing(g->gpu, 0, why);
    cinfer__gpu_ctx_give(inst->s->m, g);
    inst->dev = NULL;
}

static uint64_t span_ns(double begin_us, double end_us) {
    return begin_us >= 0 && end_us >= begin_us ? (uint64_t)((end_us - begin_us) * 1e3) : 0;
}

static cinfer_status cuda_run(cinfer__instance *inst, cinfer__plan *p, const cinfer_tensor *in,
                              cinfer_tensor *out, cinfer__batch_times *t, cinfer__err *err) {
    cinfer_scheduler *s = inst->s;
    cinfer__gpu_ctx *g = inst->dev;
    uint64_t t0 = cinfer__now_ns();
    cinfer_status st = cinfer__plan_run_on(s->m, p, g, in, (size_t)s->n_out, inst->all_out, out,
                                           err);
    uint64_t wall = cinfer__now_ns() - t0;
    cinfer_cuda_times tm;
    char why[CINFER_CUDA_MSG_LEN] = "";
    if (st != CINFER_OK || s->m->rt->cuda->ctx_times(g->gpu, &tm, why) != CINFER_OK ||
        tm.compute_begin < 0) {
        t->infer_ns += wall;
        return st;
    }
    t->input_ns += span_ns(tm.h2d_begin, tm.h2d_end);
    t->infer_ns += span_ns(tm.compute_begin, tm.compute_end);
    t->output_ns += span_ns(tm.d2h_begin, tm.d2h_end);
    cinfer__batch_timeline bt = {inst->index, s->n_in ? in[0].dims[0] : 0,
                                 tm.h2d_begin, tm.h2d_end, tm.compute_begin, tm.compute_end,
                                 tm.d2h_begin, tm.d2h_end};
    if (!inst->warming) cinfer__sched_timeline_add(s, &bt);
    return st;
}

const cinfer__instance_ops cinfer__cuda_instance_ops = {
    .name = "cuda",
    .exact_rows = false, /* graphs are captured per bucket */
    .init = cuda_init,
    .thread_start = cuda_thread_start,
    .fini = cuda_fini,
    .staging_alloc = cuda_staging_alloc,
    .staging_free = cuda_staging_free,
    .run = cuda_run,
};

void cinfer__sched_timeline_add(cinfer_scheduler *s, const cinfer__batch_timeline *t) {
    pthread_mutex_lock(&s->stats_mu);
    if (s->timeline) s->timeline[s->timeline_n++ % CINFER__SCHED_TIMELINE] = *t;
    pthread_mutex_unlock(&s->stats_mu);
}

size_t cinfer__sched_timeline(cinfer_scheduler *s, cinfer__batch_timeline *out, size_t max) {
    pthread_mutex_lock(&s->stats_mu);
    uint64_t n = s->timeline_n, kept = n < CINFER__SCHED_TIMELINE ? n : CINFER__SCHED_TIMELINE;
    if (kept > max) kept = max;
    for (uint64_t i = 0; s->timeline && i < kept; i++)
        out[i] = s->timeline[(n - kept + i) % CINFER__SCHED_TIMELINE];
    pthread_mutex_unlock(&s->stats_mu);
    return (size_t)kept;
}
