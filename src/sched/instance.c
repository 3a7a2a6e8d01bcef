/* Execution instances: a thread each, with its own staging buffers. A batch's rows are
 * gathered into the staging buffers (on the CPU at their exact count, else padded with zero
 * rows up to the batch bucket), run through the plan of that size by the device
 * (cinfer__instance_ops), and the real rows are scattered to each request's outputs. Nothing
 * here holds s->mu while a batch runs. */
#include <string.h>

#include "core/alloc.h"
#include "core/tensor.h"
#include "sched/sched.h"

/* ---- The CPU device: host staging, the plan runs on the instance thread --------------- */

static void *cpu_staging_alloc(cinfer__instance *inst, size_t bytes) {
    (void)inst;
    return cinfer__aligned_alloc(bytes ? bytes : 64);
}

static void cpu_staging_free(cinfer__instance *inst, void *p) {
    (void)inst;
    cinfer__aligned_free(p);
}

static cinfer_status cpu_run(cinfer__instance *inst, cinfer__plan *p, const cinfer_tensor *in,
                             cinfer_tensor *out, cinfer__batch_times *t, cinfer__err *err) {
    cinfer_scheduler *s = inst->s;
    uint64_t t0 = cinfer__now_ns();
    cinfer_status st = cinfer__plan_run(s->m, p, in, (size_t)s->n_out, inst->all_out, out, err);
    t->infer_ns += cinfer__now_ns() - t0;
    return st;
}

const cinfer__instance_ops cinfer__cpu_instance_ops = {
    .name = "cpu",
    .exact_rows = true,
    .staging_alloc = cpu_staging_alloc,
    .staging_free = cpu_staging_free,
    .run = cpu_run,
};

/* ---- Staging ------------------------------------------------------------------------------ */

/* Staging is sized at creation for max_batch_size rows when shapes are fixed; other shapes
 * grow it once, the first time they are seen. */
static bool stage_ensure(cinfer__instance *inst, cinfer__staging *st, size_t bytes) {
    if (st->cap >= bytes && st->data) return true;
    void *p = inst->ops->staging_alloc(inst, bytes);
    if (!p) return false;
    if (st->data) inst->ops->staging_free(inst, st->data);
    st->data = p;
    st->cap = bytes;
    return true;
}

static size_t row_bytes(const cinfer_tensor *t) {
    return cinfer_dtype_size(t->dtype) * (size_t)cinfer__numel(t->rank - 1, t->dims + 1);
}

int cinfer__bucket_for(const cinfer_scheduler *s, int64_t rows) {
    int k = 0;
    while (k + 1 < s->n_buckets && s->buckets[k].size < rows) k++;
    return k;
}

/* Copies each request's rows to consecutive rows of the staging buffers and zeroes the
 * padding, so padded rows are deterministic and never NaN. */
static cinfer_status gather(cinfer__instance *inst, const cinfer__batch *b, int64_t bucket,
                            cinfer__err *err) {
    cinfer_scheduler *s = inst->s;
    for (int i = 0; i < s->n_in; i++) {
        cinfer_tensor *t = &inst->in_t[i];
        *t = b->reqs[0]->in[i];
        t->dims[0] = bucket;
        size_t row = row_bytes(t);
        if (!stage_ensure(inst, &inst->in_stage[i], row * (size_t)bucket))
            return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory for the staging "
                                  "buffer of input '%s'", s->m->in_info[i].name);
        unsigned char *dst = inst->in_stage[i].data;
        t->data = dst;
        for (int k = 0; k < b->n; k++) {
            size_t bytes = row * (size_t)b->reqs[k]->rows;
            if (bytes) memcpy(dst, b->reqs[k]->in[i].data, bytes);
            dst += bytes;
        }
        if (bucket > b->rows) memset(dst, 0, row * (size_t)(bucket - b->rows));
    }
    return CINFER_OK;
}

/* Points the output views at the staging buffers, shaped as the plan's outputs; the first
 * dimension must be the bucket. */
static cinfer_status bind_outputs(cinfer__instance *inst, const cinfer__plan *p, int64_t bucket,
                                  cinfer__err *err) {
    cinfer_scheduler *s = inst->s;
    for (int o = 0; o < s->n_out; o++) {
        cinfer_tensor *t = &inst->out_t[o];
        *t = p->vals[s->m->g->outputs[o]].t;
        t->flags = 0;
        if (t->rank < 1 || t->dims[0] != bucket)
            return cinfer__errorf(err, CINFER_UNSUPPORTED, "output '%s': its first dimension is "
                                  "not the batch (a batch of %lld gives %s)",
                                  s->m->out_info[o].name, (long long)bucket,
                                  t->rank < 1 ? "a scalar" : "another size");
        if (!stage_ensure(inst, &inst->out_stage[o], cinfer__tensor_bytes(t)))
            return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory for the staging "
                                  "buffer of output '%s'", s->m->out_info[o].name);
        t->data = inst->out_stage[o].data;
    }
    return CINFER_OK;
}

/* Copies request r's rows (starting at batch row `off`) out of the output staging. */
static cinfer_status scatter_one(cinfer__instance *inst, cinfer_request *r, int64_t off,
                                 cinfer__err *err) {
    for (int j = 0; j < r->n_out; j++) {
        const cinfer_tensor *src = &inst->out_t[r->out_idx[j]];
        size_t row = row_bytes(src), bytes = row * (size_t)r->rows;
        cinfer_tensor *dst = &r->out[j];
        if (!dst->data) { /* shapes not known at submit */
            *dst = *src;
            dst->dims[0] = r->rows;
            dst->data = cinfer__aligned_alloc(bytes ? bytes : 1);
            if (!dst->data)
                return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory for output '%s'",
                                      inst->s->m->out_info[r->out_idx[j]].name);
            dst->flags = CINFER_TENSOR_RUNTIME_OWNED;
        }
        if (bytes) memcpy(dst->data, (const unsigned char *)src->data + row * (size_t)off, bytes);
    }
    return CINFER_OK;
}

/* ---- Running a batch ------------------------------------------------------------------ */

/* Claims the request's result from a concurrent cancel: false if it was cancelled. */
static bool claim(cinfer_request *r) {
    int expect = CINFER__REQ_RUNNING;
    return atomic_compare_exchange_strong(&r->state, &expect, CINFER__REQ_FINISHING);
}

static void set_result(cinfer_request *r, bool claimed, cinfer_status st, const cinfer__err *err,
                       const char *path) {
    if (!claimed) {
        r->status = CINFER_CANCELLED;
        snprintf(r->msg, sizeof r->msg, "model '%s': the request was cancelled while it ran",
                 path);
    } else if (st != CINFER_OK) {
        r->status = st;
        snprintf(r->msg, sizeof r->msg, "model '%s': %s", path, err->msg);
    }
}

/* The plan of a fixed-shape batch of `rows` and the rows it runs with: its exact size when
 * the device allows it (planned on first use through the model's cache), else its bucket. A
 * size the full cache cannot keep falls back to its bucket for good. */
static cinfer_status fixed_plan(cinfer__instance *inst, int64_t rows, cinfer__plan **p,
                                int64_t *run_rows, cinfer__err *err) {
    cinfer_scheduler *s = inst->s;
    const cinfer__bucket *bk = &s->buckets[cinfer__bucket_for(s, rows)];
    *p = bk->plan;
    *run_rows = bk->size;
    if (rows > s->max_exact) return CINFER_OK;
    cinfer__plan *e = atomic_load(&s->exact[rows]);
    if (!e) {
        for (int i = 0; i < s->n_in; i++) {
            inst->in_t[i] = s->in_proto[i];
            inst->in_t[i].dims[0] = rows;
        }
        bool transient = false;
        CINFER_TRY(cinfer__plan_get(s->m, inst->in_t, &e, &transient, err));
        if (transient) cinfer__plan_destroy(e);
        e = transient ? bk->plan : e;
        atomic_store(&s->exact[rows], e);
    }
    if (e != bk->plan) {
        *p = e;
        *run_rows = rows;
    }
    return CINFER_OK;
}

static cinfer_status run_batched(cinfer__instance *inst, cinfer__batch *b, cinfer__batch_times *t,
                                 cinfer__err *err) {
    cinfer_scheduler *s = inst->s;
    cinfer__plan *p = NULL;
    bool transient = false;
    uint64_t t0 = cinfer__now_ns();
    cinfer_status st = CINFER_OK;
    b->run_rows = s->buckets[cinfer__bucket_for(s, b->rows)].size;
    if (s->fixed) st = fixed_plan(inst, b->rows, &p, &b->run_rows, err);
    if (st == CINFER_OK) st = gather(inst, b, b->run_rows, err);
    t->input_ns += cinfer__now_ns() - t0;
    if (st == CINFER_OK && !p) st = cinfer__plan_get(s->m, inst->in_t, &p, &transient, err);
    if (st == CINFER_OK) st = bind_outputs(inst, p, b->run_rows, err);
    if (st == CINFER_OK) st = inst->ops->run(inst, p, inst->in_t, inst->out_t, t, err);
    if (transient) cinfer__plan_destroy(p);
    uint64_t t1 = cinfer__now_ns();
    int64_t off = 0;
    for (int k = 0; k < b->n; k++) {
        cinfer_request *r = b->reqs[k];
        bool claimed = claim(r);
        cinfer__err rerr = {{0}};
        cinfer_status rst = st;
        if (rst == CINFER_OK && claimed) rst = scatter_one(inst, r, off, &rerr);
        set_result(r, claimed, rst, st != CINFER_OK ? err : &rerr, s->m->path);
        off += r->rows;
    }
    t->output_ns += cinfer__now_ns() - t1;
    return st;
}

/* max_batch_size 0: the request runs alone on its own shapes; outputs are runtime-owned. */
static cinfer_status run_alone(cinfer__instance *inst, cinfer_request *r, cinfer__batch_times *t,
                               cinfer__err *err) {
    cinfer_scheduler *s = inst->s;
    uint64_t t0 = cinfer__now_ns();
    cinfer__plan *p = NULL;
    bool transient = false;
    cinfer_status st = cinfer__plan_get(s->m, r->in, &p, &transient, err);
    uint64_t t1 = cinfer__now_ns();
    t->input_ns += t1 - t0;
    /* On CUDA the instance's own execution context (streams, arenas), not the model's pool. */
    if (st == CINFER_OK)
        st = inst->dev ? cinfer__plan_run_on(s->m, p, inst->dev, r->in, (size_t)r->n_out,
                                             r->out_idx, r->out, err)
                       : cinfer__plan_run(s->m, p, r->in, (size_t)r->n_out, r->out_idx, r->out,
                                          err);
    if (transient) cinfer__plan_destroy(p);
    t->infer_ns += cinfer__now_ns() - t1;
    set_result(r, claim(r), st, err, s->m->path);
    return st;
}

/* Executions and the rows they ran are counted together, here, so that any snapshot of the
 * statistics gives a consistent average batch size. */
static void record_batch(cinfer_scheduler *s, const cinfer__batch *b, cinfer_status st) {
    int64_t ran = s->batching ? b->run_rows : b->rows;
    pthread_mutex_lock(&s->stats_mu);
    s->st.execution_count++;
    if (st == CINFER_OK) s->st.inference_count += (uint64_t)b->rows;
    if (ran > b->rows) s->st.padded_rows += (uint64_t)(ran - b->rows);
    s->hist[b->rows]++;
    pthread_mutex_unlock(&s->stats_mu);
}

/* Hands the batch's requests to the completion thread, in dispatch order if asked. */
static void hand_in(cinfer_scheduler *s, cinfer__batch *b) {
    for (int k = 0; k + 1 < b->n; k++) b->reqs[k]->done_next = b->reqs[k + 1];
    for (int k = 0; k < b->n; k++) atomic_store(&b->reqs[k]->state, CINFER__REQ_COMPLETING);
    if (!s->o.preserve_ordering) {
        cinfer__complete_chain(s, b->reqs[0], b->reqs[b->n - 1]);
        return;
    }
    pthread_mutex_lock(&s->order_mu);
    while (s->next_deliver_seq != b->seq) pthread_cond_wait(&s->order_cv, &s->order_mu);
    cinfer__complete_chain(s, b->reqs[0], b->reqs[b->n - 1]);
    s->next_deliver_seq++;
    pthread_cond_broadcast(&s->order_cv);
    pthread_mutex_unlock(&s->order_mu);
}

static void run_batch(cinfer__instance *inst) {
    cinfer_scheduler *s = inst->s;
    cinfer__batch *b = &inst->batch;
    cinfer__batch_times t = {0};
    cinfer__err err = {{0}};
    cinfer_status st = s->batching ? run_batched(inst, b, &t, &err)
                                   : run_alone(inst, b->reqs[0], &t, &err);
    if (st != CINFER_OK)
        cinfer__log(s->m->rt, CINFER_LOG_WARN, "%s: a batch of %lld rows failed: %s",
                    s->m->path, (long long)b->rows, err.msg);
    for (int k = 0; k < b->n; k++) {
        b->reqs[k]->in_ns = t.input_ns;
        b->reqs[k]->infer_ns = t.infer_ns;
        b->reqs[k]->out_ns = t.output_ns;
    }
    record_batch(s, b, st);
    hand_in(s, b);
}

void *cinfer__instance_main(void *arg) {
    cinfer__instance *inst = arg;
    cinfer_scheduler *s = inst->s;
    if (inst->ops->thread_start) inst->ops->thread_start(inst);
    pthread_mutex_lock(&s->mu);
    s->n_idle++;
    while (!s->stopping) {
        uint64_t until;
        if (!cinfer__batcher_next(s, inst, &until)) {
            /* Woken by a submit, or when the forming batch's delay runs out. */
            cinfer__cond_wait_until(&s->cv, &s->mu, until);
            s->wake_sent = false;
            continue;
        }
        s->n_idle--;
        if (s->q.count && s->n_idle > 0 && !s->wake_sent) { /* more work: wake another */
            s->wake_sent = true;
            pthread_cond_signal(&s->cv);
        }
        while (s->test_hold && !s->stopping) pthread_cond_wait(&s->hold_cv, &s->mu);
        pthread_mutex_unlock(&s->mu);
        run_batch(inst);
        pthread_mutex_lock(&s->mu);
        s->n_idle++;
    }
    s->n_idle--;
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

void cinfer__sched_test_hold(cinfer_scheduler *s, bool hold) {
    pthread_mutex_lock(&s->mu);
    s->test_hold = hold;
    pthread_cond_broadcast(&s->hold_cv);
    pthread_mutex_unlock(&s->mu);
}

/* ---- Setup ------------------------------------------------------------------------------ */

cinfer_status cinfer__instance_init(cinfer_scheduler *s, cinfer__instance *inst, int index,
                                    cinfer__err *err) {
    inst->s = s;
    inst->index = index;
    inst->ops = s->ops;
    int64_t max = s->batching ? s->o.max_batch_size : 1;
    inst->batch.reqs = cinfer__calloc((size_t)max, sizeof *inst->batch.reqs);
    inst->in_stage = cinfer__calloc((size_t)s->n_in + 1, sizeof *inst->in_stage);
    inst->out_stage = cinfer__calloc((size_t)s->n_out + 1, sizeof *inst->out_stage);
    inst->in_t = cinfer__calloc((size_t)s->n_in + 1, sizeof *inst->in_t);
    inst->out_t = cinfer__calloc((size_t)s->n_out + 1, sizeof *inst->out_t);
    inst->all_out = cinfer__calloc((size_t)s->n_out + 1, sizeof *inst->all_out);
    if (!inst->batch.reqs || !inst->in_stage || !inst->out_stage || !inst->in_t ||
        !inst->out_t || !inst->all_out)
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory for instance %d", index);
    for (int o = 0; o < s->n_out; o++) inst->all_out[o] = o;
    if (inst->ops->init) CINFER_TRY(inst->ops->init(inst, err));
    if (!s->batching || !s->fixed) return CINFER_OK;
    for (int i = 0; i < s->n_in; i++)
        if (!stage_ensure(inst, &inst->in_stage[i], row_bytes(&s->in_proto[i]) * (size_t)max))
            return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory for staging");
    for (int o = 0; o < s->n_out; o++)
        if (!stage_ensure(inst, &inst->out_stage[o], row_bytes(&s->out_proto[o]) * (size_t)max))
            return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory for staging");
    return CINFER_OK;
}

cinfer_status cinfer__instance_warm(cinfer__instance *inst, int bucket, cinfer__err *err) {
    cinfer_scheduler *s = inst->s;
    const cinfer__bucket *bk = &s->buckets[bucket];
    for (int i = 0; i < s->n_in; i++) {
        cinfer_tensor *t = &inst->in_t[i];
        *t = s->in_proto[i];
        t->dims[0] = bk->size;
        t->data = inst->in_stage[i].data;
        memset(t->data, 0, cinfer__tensor_bytes(t));
    }
    CINFER_TRY(bind_outputs(inst, bk->plan, bk->size, err));
    cinfer__batch_times t = {0};
    inst->warming = true; /* not a batch: kept out of the timeline */
    cinfer_status st = inst->ops->run(inst, bk->plan, inst->in_t, inst->out_t, &t, err);
    inst->warming = false;
    return st;
}

void cinfer__instance_fini(cinfer__instance *inst) {
    if (!inst->s) return;
    cinfer_scheduler *s = inst->s;
    for (int i = 0; inst->in_stage && i < s->n_in; i++)
        if (inst->in_stage[i].data) inst->ops->staging_free(inst, inst->in_stage[i].data);
    for (int o = 0; inst->out_stage && o < s->n_out; o++)
        if (inst->out_stage[o].data) inst->ops->staging_free(inst, inst->out_stage[o].data);
    if (inst->ops->fini) inst->ops->fini(inst);
    cinfer__free(inst->batch.reqs);
    cinfer__free(inst->in_stage);
    cinfer__free(inst->out_stage);
    cinfer__free(inst->in_t);
    cinfer__free(inst->out_t);
    cinfer__free(inst->all_out);
}
