/* The scheduler handle: options, checking that the model batches, planning and warming the
 * batch buckets, starting and stopping the threads, statistics. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "sched/sched.h"

uint64_t cinfer__now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void cinfer__cond_init(pthread_cond_t *cv) {
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

void cinfer__cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t until_ns) {
    if (until_ns == UINT64_MAX) {
        pthread_cond_wait(cv, mu);
        return;
    }
    struct timespec ts = {.tv_sec = (time_t)(until_ns / 1000000000u),
                          .tv_nsec = (long)(until_ns % 1000000000u)};
    pthread_cond_timedwait(cv, mu, &ts);
}

void cinfer_batching_options_init(cinfer_batching_options *o) {
    *o = (cinfer_batching_options){.struct_size = sizeof *o, .max_batch_size = 8,
                                   .priority_levels = 2};
}

/* ---- Options and the model ----------------------------------------------------------- */

static cinfer_status check_options(cinfer_batching_options *o, cinfer__err *err) {
    if (o->max_batch_size < 0 || o->max_batch_size > CINFER__SCHED_MAX_BATCH)
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "max_batch_size %d: expected 0 to %d",
                              o->max_batch_size, CINFER__SCHED_MAX_BATCH);
    if (o->n_preferred_batch_sizes < 0 ||
        o->n_preferred_batch_sizes > CINFER_MAX_PREFERRED_BATCH_SIZES)
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "n_preferred_batch_sizes %d: "
                              "expected 0 to %d", o->n_preferred_batch_sizes,
                              CINFER_MAX_PREFERRED_BATCH_SIZES);
    for (int i = 0; i < o->n_preferred_batch_sizes; i++)
        if (o->preferred_batch_sizes[i] < 1 || o->preferred_batch_sizes[i] > o->max_batch_size)
            return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "preferred batch size %d: "
                                  "expected 1 to max_batch_size (%d)",
                                  o->preferred_batch_sizes[i], o->max_batch_size);
    if (o->priority_levels < 1 || o->priority_levels > CINFER__SCHED_MAX_LEVELS)
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "priority_levels %d: expected 1 to "
                              "%d", o->priority_levels, CINFER__SCHED_MAX_LEVELS);
    if (o->default_priority_level < 0 || o->default_priority_level > o->priority_levels)
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "default_priority_level %d: expected "
                              "1 to priority_levels (%d), or 0 for the lowest",
                              o->default_priority_level, o->priority_levels);
    if (o->instances < 0 || o->instances > 64)
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "instances %d: expected 0 (the "
                              "default) to 64", o->instances);
    if (!o->default_priority_level) o->default_priority_level = o->priority_levels;
    return CINFER_OK;
}

/* Batching needs every input to lead with a symbolic batch dimension and no input whose
 * contents decide shapes. Notes whether the other dimensions are all fixed. */
static cinfer_status check_model(cinfer_scheduler *s, cinfer__err *err) {
    const cinfer_model *m = s->m;
    s->fixed = true;
    if (!s->n_in)
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "a model without inputs cannot batch; "
                              "use max_batch_size 0");
    for (int i = 0; i < s->n_in; i++) {
        const cinfer_value_info *v = &m->in_info[i];
        char shape[128];
        if (m->input_value_needed[i])
            return cinfer__errorf(err, CINFER_UNSUPPORTED, "input '%s': its contents decide "
                                  "shapes, so requests cannot be batched; use max_batch_size 0",
                                  v->name);
        if (v->rank < 1 || v->dims[0] >= 0)
            return cinfer__errorf(err, CINFER_UNSUPPORTED, "input '%s' is %s: batching needs a "
                                  "symbolic first (batch) dimension; use max_batch_size 0 for a "
                                  "model that does not batch", v->name,
                                  cinfer__shape_str(v->rank < 0 ? 0 : v->rank, v->dims, shape,
                                                    sizeof shape));
        for (int d = 1; d < v->rank; d++) s->fixed &= v->dims[d] >= 0;
    }
    return CINFER_OK;
}

static int cmp_int(const void *a, const void *b) {
    return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

/* Buckets 1, 2, 4, ... below max, max itself, and the preferred sizes; sorted, unique. */
static cinfer_status make_buckets(cinfer_scheduler *s, cinfer__err *err) {
    int max = s->o.max_batch_size, sizes[64 + CINFER_MAX_PREFERRED_BATCH_SIZES], n = 0;
    for (int b = 1; b < max; b *= 2) sizes[n++] = b;
    sizes[n++] = max;
    s->n_preferred = s->o.n_preferred_batch_sizes;
    s->preferred = cinfer__calloc((size_t)s->n_preferred + 1, sizeof *s->preferred);
    if (!s->preferred) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < s->n_preferred; i++)
        sizes[n++] = s->preferred[i] = s->o.preferred_batch_sizes[i];
    qsort(sizes, (size_t)n, sizeof *sizes, cmp_int);
    s->buckets = cinfer__calloc((size_t)n, sizeof *s->buckets);
    if (!s->buckets) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < n; i++)
        if (!s->n_buckets || s->buckets[s->n_buckets - 1].size != sizes[i])
            s->buckets[s->n_buckets++].size = sizes[i];
    return CINFER_OK;
}

/* Checks a bucket plan's outputs: batch first, the same row shape as bucket 1's. */
static cinfer_status check_bucket_outputs(cinfer_scheduler *s, const cinfer__plan *p,
                                          int64_t size, cinfer__err *err) {
    for (int o = 0; o < s->n_out; o++) {
        const cinfer_tensor *t = &p->vals[s->m->g->outputs[o]].t;
        cinfer_tensor *proto = &s->out_proto[o];
        char a[128], b[128];
        if (size == s->buckets[0].size) {
            *proto = *t;
            proto->data = NULL;
            proto->flags = 0;
            if (proto->rank >= 1) proto->dims[0] = 1;
        }
        bool same = t->rank == proto->rank && t->rank >= 1 && t->dims[0] == size &&
                    !memcmp(t->dims + 1, proto->dims + 1, sizeof(int64_t) * (size_t)(t->rank - 1));
        if (!same)
            return cinfer__errorf(err, CINFER_UNSUPPORTED, "output '%s' is %s for a batch of 1 "
                                  "and %s for a batch of %lld: its first dimension is not the "
                                  "batch; use max_batch_size 0", s->m->out_info[o].name,
                                  cinfer__shape_str(proto->rank, proto->dims, a, sizeof a),
                                  cinfer__shape_str(t->rank, t->dims, b, sizeof b),
                                  (long long)size);
    }
    return CINFER_OK;
}

/* Fixed shapes: every bucket is planned now (and kept), so the hot path never plans. */
static cinfer_status plan_buckets(cinfer_scheduler *s, cinfer__err *err) {
    s->in_proto = cinfer__calloc((size_t)s->n_in, sizeof *s->in_proto);
    s->out_proto = cinfer__calloc((size_t)s->n_out + 1, sizeof *s->out_proto);
    cinfer_tensor *ins = cinfer__calloc((size_t)s->n_in, sizeof *ins);
    cinfer_status st = CINFER_OK;
    if (!s->in_proto || !s->out_proto || !ins)
        st = cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; st == CINFER_OK && i < s->n_in; i++) {
        const cinfer_value_info *v = &s->m->in_info[i];
        s->in_proto[i] = (cinfer_tensor){.dtype = v->dtype, .rank = v->rank};
        memcpy(s->in_proto[i].dims, v->dims, sizeof(int64_t) * (size_t)v->rank);
        s->in_proto[i].dims[0] = 1;
    }
    for (int k = 0; st == CINFER_OK && k < s->n_buckets; k++) {
        cinfer__bucket *bk = &s->buckets[k];
        memcpy(ins, s->in_proto, sizeof *ins * (size_t)s->n_in);
        for (int i = 0; i < s->n_in; i++) ins[i].dims[0] = bk->size;
        st = cinfer__plan_get(s->m, ins, &bk->plan, &bk->transient, err);
        if (st == CINFER_OK) st = check_bucket_outputs(s, bk->plan, bk->size, err);
        if (st != CINFER_OK) cinfer__err_prefix(err, "planning a batch of %lld",
                                                (long long)bk->size);
    }
    cinfer__free(ins);
    return st;
}

/* Bytes of the model's constants (weights): what each plan's prepared state roughly copies. */
static size_t weight_bytes(const cinfer_model *m) {
    size_t n = 0;
    for (int v = 0; v < m->g->n_values; v++)
        if (m->g->values[v].constant) n += cinfer__tensor_bytes(m->g->values[v].constant);
    return n;
}

/* On a device with exact_rows, batches up to max_exact rows run unpadded: padding a batch of
 * 23 to 32 rows costs the CPU ~40% more compute, a plan per size costs only memory and is made
 * once. max_exact is CINFER__SCHED_MAX_EXACT, less for models whose weights would make the
 * extra plans exceed CINFER__SCHED_EXACT_BUDGET (ResNet-50: 1..4). The buckets' plans serve
 * their sizes; the other sizes are planned on first use (instance.c). */
static cinfer_status setup_exact(cinfer_scheduler *s, cinfer__err *err) {
    if (!s->ops->exact_rows || !s->fixed) return CINFER_OK;
    size_t w = weight_bytes(s->m), extra = w ? CINFER__SCHED_EXACT_BUDGET / w : SIZE_MAX;
    int max = s->o.max_batch_size < CINFER__SCHED_MAX_EXACT ? s->o.max_batch_size
                                                            : CINFER__SCHED_MAX_EXACT;
    if ((size_t)max > extra + 2) max = (int)extra + 2; /* 1 and 2 are buckets */
    if (max <= 2) return CINFER_OK;
    s->exact = cinfer__calloc((size_t)max + 1, sizeof *s->exact);
    if (!s->exact) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i <= max; i++) atomic_init(&s->exact[i], NULL);
    for (int k = 0; k < s->n_buckets; k++)
        if (s->buckets[k].size <= max && !s->buckets[k].transient)
            atomic_store(&s->exact[s->buckets[k].size], s->buckets[k].plan);
    s->max_exact = max;
    return CINFER_OK;
}

/* ---- Threads --------------------------------------------------------------------------- */

static cinfer_status start_threads(cinfer_scheduler *s, cinfer__err *err) {
    if (pthread_create(&s->completer, NULL, cinfer__completer_main, s))
        return cinfer__errorf(err, CINFER_INTERNAL, "could not start the completion thread");
    s->completer_started = true;
    for (int i = 0; i < s->n_inst; i++) {
        if (pthread_create(&s->inst[i].thread, NULL, cinfer__instance_main, &s->inst[i]))
            return cinfer__errorf(err, CINFER_INTERNAL, "could not start instance thread %d", i);
        s->inst[i].started = true;
    }
    if (pthread_create(&s->timer, NULL, cinfer__timer_main, s))
        return cinfer__errorf(err, CINFER_INTERNAL, "could not start the timer thread");
    s->timer_started = true;
    return CINFER_OK;
}

static cinfer_status setup(cinfer_scheduler *s, cinfer__err *err) {
    CINFER_TRY(check_options(&s->o, err));
    s->batching = s->o.max_batch_size > 0;
    s->q.n_levels = s->o.priority_levels;
    s->hist = cinfer__calloc((size_t)s->o.max_batch_size + 2, sizeof *s->hist);
    if (s->ops == &cinfer__cuda_instance_ops)
        s->timeline = cinfer__calloc(CINFER__SCHED_TIMELINE, sizeof *s->timeline);
    if (!s->hist || (s->ops == &cinfer__cuda_instance_ops && !s->timeline))
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    if (s->batching) {
        CINFER_TRY(check_model(s, err));
        CINFER_TRY(make_buckets(s, err));
        if (s->fixed) CINFER_TRY(plan_buckets(s, err));
        CINFER_TRY(setup_exact(s, err));
    }
    if (!s->o.instances) s->o.instances = s->m->rt->device == CINFER_DEVICE_CUDA ? 2 : 1;
    s->inst = cinfer__calloc((size_t)s->o.instances, sizeof *s->inst);
    if (!s->inst) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    while (s->n_inst < s->o.instances) {
        cinfer__instance *inst = &s->inst[s->n_inst++]; /* counted even if partly set up */
        CINFER_TRY(cinfer__instance_init(s, inst, s->n_inst - 1, err));
    }
    /* Warm-up: the first run of each bucket allocates its execution context and touches the
     * weights, so the first requests do not pay for it. CUDA instances each hold their own
     * context, and run every bucket twice: the second run captures its graphs. */
    int n_warm = s->ops == &cinfer__cuda_instance_ops ? s->n_inst : 1;
    int passes = s->ops == &cinfer__cuda_instance_ops ? 2 : 1;
    for (int i = 0; s->batching && s->fixed && i < n_warm; i++)
        for (int k = 0; k < s->n_buckets; k++)
            for (int pass = 0; pass < passes; pass++) {
                cinfer_status st = cinfer__instance_warm(&s->inst[i], k, err);
                if (st != CINFER_OK) {
                    cinfer__err_prefix(err, "instance %d: warming a batch of %lld", i,
                                       (long long)s->buckets[k].size);
                    return st;
                }
            }
    return start_threads(s, err);
}

static void init_sync(cinfer_scheduler *s) {
    /* Writer first: a steady stream of submits must not keep a model's destroy waiting. */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->life, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->order_mu, NULL);
    pthread_mutex_init(&s->done_mu, NULL);
    pthread_mutex_init(&s->stats_mu, NULL);
    cinfer__cond_init(&s->cv);
    cinfer__cond_init(&s->timer_cv);
    pthread_cond_init(&s->order_cv, NULL);
    pthread_cond_init(&s->done_cv, NULL);
    pthread_cond_init(&s->hold_cv, NULL);
}

/* Onto the model's list, so that cinfer_model_destroy shuts the scheduler down first. */
static void attach(cinfer_scheduler *s) {
    pthread_mutex_lock(&s->m->mu);
    s->model_next = s->m->scheds;
    s->m->scheds = s;
    s->attached = true;
    pthread_mutex_unlock(&s->m->mu);
}

cinfer_status cinfer_scheduler_create(cinfer_model *m, const cinfer_batching_options *opts,
                                      cinfer_scheduler **out) {
    cinfer__err err = {{0}};
    if (!m || !out) {
        cinfer__errorf(&err, CINFER_INVALID_ARGUMENT, "cinfer_scheduler_create: NULL argument");
        cinfer__set_last_error(err.msg);
        return CINFER_INVALID_ARGUMENT;
    }
    *out = NULL;
    cinfer_scheduler *s = cinfer__calloc(1, sizeof *s);
    if (!s) {
        cinfer__errorf(&err, CINFER_OUT_OF_MEMORY, "model '%s': out of memory", m->path);
        cinfer__set_last_error(err.msg);
        return CINFER_OUT_OF_MEMORY;
    }
    s->m = m;
    s->n_in = (int)cinfer_model_input_count(m);
    s->n_out = (int)cinfer_model_output_count(m);
    s->ops = m->rt->cuda ? &cinfer__cuda_instance_ops : &cinfer__cpu_instance_ops;
    init_sync(s);
    s->st.struct_size = sizeof s->st;
    cinfer_status st = CINFER_OK;
    if (opts && opts->struct_size < sizeof s->o)
        st = cinfer__errorf(&err, CINFER_INVALID_ARGUMENT, "batching options: struct_size %u too "
                            "small (call cinfer_batching_options_init)", opts->struct_size);
    if (opts) s->o = *opts;
    else cinfer_batching_options_init(&s->o);
    if (st == CINFER_OK) st = setup(s, &err);
    if (st != CINFER_OK) {
        cinfer__err_prefix(&err, "model '%s': scheduler", m->path);
        cinfer__set_last_error(err.msg);
        cinfer_scheduler_destroy(s);
        return st;
    }
    attach(s);
    cinfer__log(m->rt, CINFER_LOG_INFO, "%s: scheduler with max_batch_size %d, %d bucket(s), "
                "%d instance(s)", m->path, s->o.max_batch_size, s->n_buckets, s->n_inst);
    *out = s;
    return CINFER_OK;
}

/* Stop order: once `stopping` is set no instance takes another batch; the timer thread
 * completes what is queued with SHUTDOWN, the instances finish the batches they hold, then the
 * completion thread delivers everything left. After that no callback can run. A second call
 * (destroy after detach) finds the threads joined and does nothing. */
static void stop_threads(cinfer_scheduler *s, const char *why) {
    pthread_mutex_lock(&s->mu);
    if (!s->stopping) s->stop_why = why;
    s->stopping = true;
    pthread_cond_broadcast(&s->cv);
    pthread_cond_broadcast(&s->timer_cv);
    pthread_cond_broadcast(&s->hold_cv);
    pthread_mutex_unlock(&s->mu);
    if (s->timer_started) pthread_join(s->timer, NULL);
    s->timer_started = false;
    for (int i = 0; i < s->n_inst; i++) {
        if (s->inst[i].started) pthread_join(s->inst[i].thread, NULL);
        s->inst[i].started = false;
    }
    pthread_mutex_lock(&s->done_mu);
    s->done_stop = true;
    pthread_cond_signal(&s->done_cv);
    pthread_mutex_unlock(&s->done_mu);
    if (s->completer_started) pthread_join(s->completer, NULL);
    s->completer_started = false;
}

/* Frees what running batches needs (instances, staging, plans not in the model's cache),
 * once, with the threads stopped and the model still alive. */
static void release_execution(cinfer_scheduler *s) {
    if (s->released) return;
    s->released = true;
    for (int i = 0; i < s->n_inst; i++) cinfer__instance_fini(&s->inst[i]);
    for (int k = 0; k < s->n_buckets; k++)
        if (s->buckets[k].transient) cinfer__plan_destroy(s->buckets[k].plan);
    cinfer__free(s->inst);
    cinfer__free(s->buckets);
    cinfer__free((void *)s->exact);
    s->inst = NULL;
    s->n_inst = 0;
    s->buckets = NULL;
    s->n_buckets = 0;
    s->exact = NULL;
    s->max_exact = 0;
}

static void unlink_from_model(cinfer_scheduler *s) {
    if (!s->attached) return;
    pthread_mutex_lock(&s->m->mu);
    cinfer_scheduler **p = &s->m->scheds;
    while (*p && *p != s) p = &(*p)->model_next;
    if (*p) *p = s->model_next;
    s->attached = false;
    pthread_mutex_unlock(&s->m->mu);
}

/* The model is being destroyed: refuse new submits, complete what is queued with SHUTDOWN,
 * finish what runs, deliver everything, free what refers to the model. The handle stays for
 * the caller's cinfer_scheduler_destroy. */
static void detach(cinfer_scheduler *s) {
    pthread_rwlock_wrlock(&s->life);
    s->detached = true;
    pthread_rwlock_unlock(&s->life);
    stop_threads(s, "the model was destroyed");
    release_execution(s);
    s->m = NULL;
}

void cinfer__sched_detach_all(cinfer_model *m) {
    for (;;) {
        pthread_mutex_lock(&m->mu);
        cinfer_scheduler *s = m->scheds;
        if (s) {
            m->scheds = s->model_next;
            s->attached = false;
        }
        pthread_mutex_unlock(&m->mu);
        if (!s) return;
        detach(s);
    }
}

void cinfer_scheduler_destroy(cinfer_scheduler *s) {
    if (!s) return;
    stop_threads(s, "the scheduler shut down");
    release_execution(s);
    if (s->m) unlink_from_model(s);
    cinfer__queue_free(&s->q);
    cinfer__free(s->preferred);
    cinfer__free(s->in_proto);
    cinfer__free(s->out_proto);
    cinfer__free(s->hist);
    cinfer__free(s->timeline);
    pthread_rwlock_destroy(&s->life);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->order_mu);
    pthread_mutex_destroy(&s->done_mu);
    pthread_mutex_destroy(&s->stats_mu);
    pthread_cond_destroy(&s->cv);
    pthread_cond_destroy(&s->timer_cv);
    pthread_cond_destroy(&s->order_cv);
    pthread_cond_destroy(&s->done_cv);
    pthread_cond_destroy(&s->hold_cv);
    cinfer__free(s);
}

/* ---- Statistics ------------------------------------------------------------------------ */

cinfer_status cinfer_scheduler_get_stats(cinfer_scheduler *s, cinfer_scheduler_stats *out) {
    cinfer__err err;
    if (!s || !out || out->struct_size < sizeof *out) {
        cinfer__errorf(&err, CINFER_INVALID_ARGUMENT, "cinfer_scheduler_get_stats: NULL argument "
                       "or struct_size not sizeof(cinfer_scheduler_stats)");
        cinfer__set_last_error(err.msg);
        return CINFER_INVALID_ARGUMENT;
    }
    pthread_mutex_lock(&s->mu);
    uint64_t pending = s->q.count, accepted = s->n_accepted, rejected = s->n_rejected;
    pthread_mutex_unlock(&s->mu);
    uint32_t size = out->struct_size;
    pthread_mutex_lock(&s->stats_mu);
    *out = s->st;
    pthread_mutex_unlock(&s->stats_mu);
    out->struct_size = size;
    out->pending_count = pending;
    out->request_count = accepted;
    out->reject_count = rejected;
    return CINFER_OK;
}

size_t cinfer_scheduler_batch_histogram(cinfer_scheduler *s, uint64_t *counts, size_t len) {
    if (!s) return 0;
    size_t n = (size_t)(s->batching ? s->o.max_batch_size : 1) + 1;
    pthread_mutex_lock(&s->stats_mu);
    for (size_t b = 0; counts && b < len; b++) counts[b] = b < n ? s->hist[b] : 0;
    pthread_mutex_unlock(&s->stats_mu);
    return n;
}
