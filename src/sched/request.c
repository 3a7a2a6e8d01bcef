/* Requests: submit (checks, copies or borrows inputs, queues), the completion thread that
 * delivers results, and the handle calls (wait, cancel, outputs, release). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/tensor.h"
#include "sched/sched.h"

void cinfer_request_options_init(cinfer_request_options *o) {
    *o = (cinfer_request_options){.struct_size = sizeof *o};
}

static cinfer_status fail(cinfer_status st, const cinfer__err *err) {
    cinfer__set_last_error(err->msg);
    return st;
}

/* ---- Checking and ordering the inputs ------------------------------------------------ */

static cinfer_status check_input(const cinfer_scheduler *s, int k, const cinfer_tensor *t,
                                 cinfer__err *err) {
    const cinfer_value_info *v = &s->m->in_info[k];
    if (t->dtype != v->dtype)
        return cinfer__errorf(err, CINFER_INVALID_INPUT, "input '%s': dtype %s given, the model "
                              "declares %s", v->name, cinfer_dtype_name(t->dtype),
                              cinfer_dtype_name(v->dtype));
    if (t->rank < 0 || t->rank > CINFER_MAX_RANK || t->rank != v->rank)
        return cinfer__errorf(err, CINFER_INVALID_INPUT, "input '%s': rank %d given, the model "
                              "declares rank %d", v->name, t->rank, v->rank);
    for (int d = 0; d < t->rank; d++)
        if (t->dims[d] < 0 || (v->dims[d] >= 0 && t->dims[d] != v->dims[d])) {
            char got[128], want[128];
            return cinfer__errorf(err, CINFER_INVALID_INPUT, "input '%s': shape %s given, the "
                                  "model declares %s (-1 = any) and dimension %d differs",
                                  v->name, cinfer__shape_str(t->rank, t->dims, got, sizeof got),
                                  cinfer__shape_str(v->rank, v->dims, want, sizeof want), d);
        }
    if (!t->data && cinfer_tensor_numel(t) > 0)
        return cinfer__errorf(err, CINFER_INVALID_INPUT, "input '%s': data is NULL", v->name);
    if (t->flags & CINFER_TENSOR_DEVICE) /* requests are batched by host memcpy */
        return cinfer__errorf(err, CINFER_INVALID_INPUT, "input '%s' is in device memory: the "
                              "scheduler takes host tensors only", v->name);
    return CINFER_OK;
}

/* Every input shares the first dimension: the request's rows, 1 .. max_batch_size. */
static cinfer_status count_rows(const cinfer_scheduler *s, cinfer_request *r, cinfer__err *err) {
    const cinfer_value_info *info = s->m->in_info;
    r->rows = 1;
    if (!s->batching) return CINFER_OK;
    r->rows = r->in[0].dims[0];
    uint64_t h = 1469598103934665603ull; /* FNV-1a over the non-batch dims */
    for (int i = 0; i < s->n_in; i++) {
        const cinfer_tensor *t = &r->in[i];
        if (t->dims[0] != r->rows)
            return cinfer__errorf(err, CINFER_INVALID_INPUT, "input '%s' has %lld rows and input "
                                  "'%s' %lld: the inputs of a request share their first (batch) "
                                  "dimension", info[i].name, (long long)t->dims[0],
                                  info[0].name, (long long)r->rows);
        for (int d = 1; d < t->rank; d++) h = (h ^ (uint64_t)t->dims[d]) * 1099511628211ull;
    }
    r->sig = h;
    if (r->rows < 1 || r->rows > s->o.max_batch_size)
        return cinfer__errorf(err, CINFER_INVALID_INPUT, "input '%s': %lld rows, a request has "
                              "1 to max_batch_size (%d)", info[0].name, (long long)r->rows,
                              s->o.max_batch_size);
    return CINFER_OK;
}

static int find_name(const cinfer_value_info *info, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(info[i].name, name)) return i;
    return -1;
}

static cinfer_status order_inputs(const cinfer_scheduler *s, size_t n, const char *const *names,
                                  const cinfer_tensor *inputs, cinfer_request *r,
                                  cinfer__err *err) {
    if (n != (size_t)s->n_in)
        return cinfer__errorf(err, CINFER_INVALID_INPUT, "%zu inputs given, the model has %d", n,
                              s->n_in);
    for (int k = 0; k < s->n_in; k++) r->in[k].rank = -1; /* not given yet */
    for (size_t i = 0; i < n; i++) {
        int k = names ? find_name(s->m->in_info, s->n_in, names[i]) : (int)i;
        if (k < 0)
            return cinfer__errorf(err, CINFER_INVALID_INPUT, "the model has no input named '%s'",
                                  names[i]);
        if (r->in[k].rank >= 0)
            return cinfer__errorf(err, CINFER_INVALID_INPUT, "input '%s' given twice",
                                  s->m->in_info[k].name);
        CINFER_TRY(check_input(s, k, &inputs[i], err));
        r->in[k] = inputs[i];
        r->in[k].flags = 0;
    }
    return count_rows(s, r, err);
}

static cinfer_status select_outputs(const cinfer_scheduler *s, const cinfer_request_options *o,
                                    cinfer_request *r, cinfer__err *err) {
    for (int j = 0; j < r->n_out; j++) {
        r->out_idx[j] = o->n_outputs && o->output_names
                            ? find_name(s->m->out_info, s->n_out, o->output_names[j])
                            : j;
        if (r->out_idx[j] < 0)
            return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "the model has no output '%s'",
                                  o->output_names[j]);
    }
    return CINFER_OK;
}

/* ---- Building the request ----------------------------------------------------------- */

static cinfer_status copy_inputs(cinfer_request *r, cinfer__err *err) {
    size_t total = 0;
    for (int i = 0; i < r->n_in; i++) total += (cinfer__tensor_bytes(&r->in[i]) + 63) & ~63ul;
    r->in_copy = cinfer__aligned_alloc(total ? total : 1);
    if (!r->in_copy)
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory copying %zu input bytes",
                              total);
    unsigned char *p = r->in_copy;
    for (int i = 0; i < r->n_in; i++) {
        size_t b = cinfer__tensor_bytes(&r->in[i]);
        if (b) memcpy(p, r->in[i].data, b);
        r->in[i].data = p;
        p += (b + 63) & ~63ul;
    }
    return CINFER_OK;
}

/* With fixed row shapes the outputs are allocated here, on the client's thread, so that the
 * instances never allocate. */
static cinfer_status alloc_outputs(const cinfer_scheduler *s, cinfer_request *r,
                                   cinfer__err *err) {
    if (!s->batching || !s->fixed) return CINFER_OK;
    for (int j = 0; j < r->n_out; j++) {
        cinfer_tensor *t = &r->out[j];
        *t = s->out_proto[r->out_idx[j]];
        t->dims[0] = r->rows;
        size_t bytes = cinfer__tensor_bytes(t);
        t->data = cinfer__aligned_alloc(bytes ? bytes : 1);
        if (!t->data)
            return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory for output '%s' "
                                  "(%zu bytes)", s->m->out_info[r->out_idx[j]].name, bytes);
        t->flags = CINFER_TENSOR_RUNTIME_OWNED;
    }
    return CINFER_OK;
}

static cinfer_request *request_new(const cinfer_scheduler *s, int n_out) {
    size_t size = sizeof(cinfer_request) + (size_t)s->n_in * sizeof(cinfer_tensor) +
                  (size_t)n_out * (sizeof(cinfer_tensor) + sizeof(int));
    cinfer_request *r = cinfer__calloc(1, size);
    if (!r) return NULL;
    r->in = (cinfer_tensor *)(r + 1);
    r->out = r->in + s->n_in;
    r->out_idx = (int *)(r->out + n_out);
    r->n_in = s->n_in;
    r->n_out = n_out;
    r->heap_idx = SIZE_MAX;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    return r;
}

void cinfer__request_free(cinfer_request *r) {
    for (int j = 0; j < r->n_out; j++) cinfer_tensor_release(&r->out[j]);
    cinfer__aligned_free(r->in_copy);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    cinfer__free(r);
}

static void request_unref(cinfer_request *r) {
    if (atomic_fetch_sub(&r->refs, 1) == 1) cinfer__request_free(r);
}

static cinfer_status check_request_options(const cinfer_scheduler *s,
                                           const cinfer_request_options *o, cinfer__err *err) {
    if (o->struct_size < sizeof *o)
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "request options: struct_size %u "
                              "too small (call cinfer_request_options_init)", o->struct_size);
    if (o->priority < 0 || o->priority > s->o.priority_levels)
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "priority %d: the scheduler has "
                              "levels 1 (highest) to %d, or 0 for the default", o->priority,
                              s->o.priority_levels);
    if (o->n_outputs > (size_t)s->n_out)
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "%zu outputs asked for, the model "
                              "has %d", o->n_outputs, s->n_out);
    return CINFER_OK;
}

/* Queues r under s->mu: the full-queue and shutdown checks and the enqueue are one step. */
static cinfer_status enqueue(cinfer_scheduler *s, cinfer_request *r, uint64_t timeout_us,
                             cinfer__err *err) {
    cinfer_status st = CINFER_OK;
    pthread_mutex_lock(&s->mu);
    uint64_t now = cinfer__now_ns();
    r->t_enqueue = now;
    r->deadline = timeout_us && timeout_us < (UINT64_MAX - now) / 1000u
                      ? now + timeout_us * 1000u : UINT64_MAX;
    if (s->stopping) {
        st = cinfer__errorf(err, CINFER_SHUTDOWN, "the scheduler is shutting down");
    } else if (s->o.max_queue_size && s->q.count >= s->o.max_queue_size) {
        st = cinfer__errorf(err, CINFER_QUEUE_FULL, "the queue is full (max_queue_size %llu)",
                            (unsigned long long)s->o.max_queue_size);
    } else if (r->deadline != UINT64_MAX && !cinfer__queue_reserve(&s->q)) {
        st = cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory growing the queue");
    } else {
        r->seq = s->next_seq++;
        cinfer__queue_push(&s->q, r);
        if (s->n_idle > 0 && !s->wake_sent) {
            s->wake_sent = true;
            pthread_cond_signal(&s->cv);
        }
        if (r->deadline < s->timer_wake) pthread_cond_signal(&s->timer_cv);
    }
    if (st == CINFER_OK) s->n_accepted++;
    if (st == CINFER_QUEUE_FULL) s->n_rejected++;
    pthread_mutex_unlock(&s->mu);
    return st;
}

/* Submit while the model is known to be alive (s->life held for reading). */
static cinfer_status submit_attached(cinfer_scheduler *s, size_t n_inputs,
                                     const char *const *input_names, const cinfer_tensor *inputs,
                                     const cinfer_request_options *opts, cinfer_request **out) {
    cinfer__err err = {{0}};
    cinfer_request_options o;
    cinfer_request_options_init(&o);
    cinfer_status st = opts ? check_request_options(s, opts, &err) : CINFER_OK;
    if (st == CINFER_OK && opts) o = *opts;
    int n_out = o.n_outputs ? (int)o.n_outputs : s->n_out;
    cinfer_request *r = st == CINFER_OK ? request_new(s, n_out) : NULL;
    if (st == CINFER_OK && !r) st = cinfer__errorf(&err, CINFER_OUT_OF_MEMORY, "out of memory");
    if (st == CINFER_OK) st = order_inputs(s, n_inputs, input_names, inputs, r, &err);
    if (st == CINFER_OK) st = select_outputs(s, &o, r, &err);
    if (st == CINFER_OK && o.copy_inputs) st = copy_inputs(r, &err);
    if (st == CINFER_OK) st = alloc_outputs(s, r, &err);
    if (st == CINFER_OK) {
        r->s = s;
        r->level = (o.priority ? o.priority : s->o.default_priority_level) - 1;
        r->cb = o.callback;
        r->user = o.user;
        atomic_init(&r->refs, out ? 2 : 1);
        atomic_init(&r->state, CINFER__REQ_QUEUED);
        st = enqueue(s, r, o.timeout_us ? o.timeout_us : s->o.default_timeout_us, &err);
    }
    if (st != CINFER_OK) {
        if (r) cinfer__request_free(r);
        cinfer__err_prefix(&err, "model '%s'", s->m->path);
        return fail(st, &err);
    }
    if (out) *out = r;
    return CINFER_OK;
}

cinfer_status cinfer_scheduler_submit(cinfer_scheduler *s, size_t n_inputs,
                                      const char *const *input_names,
                                      const cinfer_tensor *inputs,
                                      const cinfer_request_options *opts, cinfer_request **out) {
    cinfer__err err = {{0}};
    if (out) *out = NULL;
    if (!s || (n_inputs && !inputs))
        return fail(cinfer__errorf(&err, CINFER_INVALID_ARGUMENT,
                                   "cinfer_scheduler_submit: NULL scheduler or inputs"), &err);
    /* Detached: the model is gone, so nothing of it may be read; the message is ours. */
    pthread_rwlock_rdlock(&s->life);
    bool detached = s->detached;
    cinfer_status st = detached ? CINFER_SHUTDOWN
                                : submit_attached(s, n_inputs, input_names, inputs, opts, out);
    pthread_rwlock_unlock(&s->life);
    if (detached)
        return fail(cinfer__errorf(&err, CINFER_SHUTDOWN, "cinfer_scheduler_submit: the "
                                   "scheduler's model was destroyed (only "
                                   "cinfer_scheduler_destroy and the statistics remain)"), &err);
    return st;
}

/* ---- Completion ------------------------------------------------------------------------ */

void cinfer__complete_chain(cinfer_scheduler *s, cinfer_request *head, cinfer_request *tail) {
    tail->done_next = NULL;
    pthread_mutex_lock(&s->done_mu);
    if (s->done_tail) s->done_tail->done_next = head;
    else s->done_head = head;
    s->done_tail = tail;
    pthread_cond_signal(&s->done_cv);
    pthread_mutex_unlock(&s->done_mu);
}

void cinfer__request_reject(cinfer_scheduler *s, cinfer_request *r, cinfer_status st,
                            const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    r->status = st;
    atomic_store(&r->state, CINFER__REQ_COMPLETING);
    cinfer__complete_chain(s, r, r);
}

/* Adds r to the completer's running sums (flushed once per chain). */
static void account(cinfer_scheduler_stats *st, const cinfer_request *r) {
    if (r->status == CINFER_OK) {
        st->success_count++;
        st->queue_ns += r->t_dispatch - r->t_enqueue;
        st->compute_input_ns += r->in_ns;
        st->compute_infer_ns += r->infer_ns;
        st->compute_output_ns += r->out_ns;
    } else {
        st->fail_count++;
        st->timeout_count += r->status == CINFER_TIMEOUT;
        st->cancel_count += r->status == CINFER_CANCELLED;
        st->shutdown_count += r->status == CINFER_SHUTDOWN;
    }
}

static void flush_stats(cinfer_scheduler *s, cinfer_scheduler_stats *d) {
    pthread_mutex_lock(&s->stats_mu);
    cinfer_scheduler_stats *st = &s->st;
    st->success_count += d->success_count;
    st->queue_ns += d->queue_ns;
    st->compute_input_ns += d->compute_input_ns;
    st->compute_infer_ns += d->compute_infer_ns;
    st->compute_output_ns += d->compute_output_ns;
    st->fail_count += d->fail_count;
    st->timeout_count += d->timeout_count;
    st->cancel_count += d->cancel_count;
    st->shutdown_count += d->shutdown_count;
    pthread_mutex_unlock(&s->stats_mu);
    memset(d, 0, sizeof *d);
}

/* Callback first, then waiters wake, then the runtime's reference goes. */
static void deliver(cinfer_request *r) {
    bool ok = r->status == CINFER_OK;
    if (!ok)
        for (int j = 0; j < r->n_out; j++) cinfer_tensor_release(&r->out[j]);
    if (r->cb) r->cb(r, r->status, r->msg, ok ? (size_t)r->n_out : 0, ok ? r->out : NULL, r->user);
    pthread_mutex_lock(&r->mu);
    r->done = true;
    atomic_store(&r->state, CINFER__REQ_DONE);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    request_unref(r);
}

void *cinfer__completer_main(void *arg) {
    cinfer_scheduler *s = arg;
    pthread_mutex_lock(&s->done_mu);
    for (;;) {
        while (!s->done_head && !s->done_stop) pthread_cond_wait(&s->done_cv, &s->done_mu);
        cinfer_request *r = s->done_head;
        if (!r) break; /* stopping and drained */
        s->done_head = s->done_tail = NULL;
        pthread_mutex_unlock(&s->done_mu);
        /* Statistics first, so a client that reads them after its callback sees itself. */
        cinfer_scheduler_stats sums = {0};
        for (cinfer_request *q = r; q; q = q->done_next) account(&sums, q);
        flush_stats(s, &sums);
        while (r) {
            cinfer_request *next = r->done_next;
            deliver(r);
            r = next;
        }
        pthread_mutex_lock(&s->done_mu);
    }
    pthread_mutex_unlock(&s->done_mu);
    return NULL;
}

/* ---- The handle ------------------------------------------------------------------------- */

cinfer_status cinfer_request_wait(cinfer_request *r) {
    if (!r) return CINFER_INVALID_ARGUMENT;
    pthread_mutex_lock(&r->mu);
    while (!r->done) pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
    return r->status;
}

cinfer_status cinfer_request_cancel(cinfer_request *r) {
    cinfer__err err;
    if (!r)
        return fail(cinfer__errorf(&err, CINFER_INVALID_ARGUMENT, "cinfer_request_cancel: NULL"),
                    &err);
    if (atomic_load(&r->state) == CINFER__REQ_QUEUED) {
        cinfer_scheduler *s = r->s;
        pthread_mutex_lock(&s->mu);
        bool queued = atomic_load(&r->state) == CINFER__REQ_QUEUED;
        if (queued) {
            cinfer__queue_remove(&s->q, r);
            cinfer__request_reject(s, r, CINFER_CANCELLED,
                                   "model '%s': the request was cancelled before it ran",
                                   s->m->path);
        }
        pthread_mutex_unlock(&s->mu);
        if (queued) return CINFER_OK;
    }
    int expect = CINFER__REQ_RUNNING;
    if (atomic_compare_exchange_strong(&r->state, &expect, CINFER__REQ_CANCELLING))
        return CINFER_OK;
    return fail(cinfer__errorf(&err, CINFER_NOT_FOUND, "cinfer_request_cancel: the request has "
                               "already finished"), &err);
}

const char *cinfer_request_message(const cinfer_request *r) {
    return r && atomic_load(&r->state) == CINFER__REQ_DONE ? r->msg : "";
}

cinfer_status cinfer_request_outputs(cinfer_request *r, size_t *n, cinfer_tensor **outputs) {
    if (!r || !n || !outputs) return CINFER_INVALID_ARGUMENT;
    *n = 0;
    *outputs = NULL;
    if (atomic_load(&r->state) != CINFER__REQ_DONE) return CINFER_NOT_FOUND;
    if (r->status != CINFER_OK) return r->status;
    *n = (size_t)r->n_out;
    *outputs = r->out;
    return CINFER_OK;
}

void cinfer_request_release(cinfer_request *r) {
    if (r) request_unref(r);
}
