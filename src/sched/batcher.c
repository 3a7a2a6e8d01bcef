/* The dynamic batcher. An instance that is free forms its next batch itself, under s->mu,
 * with Triton's rules (so no thread hand-off sits between two batches), and waits on s->cv
 * while the batch may still grow. A timer thread completes queued requests whose timeout
 * passes while every instance is busy. Batches run without s->mu. */
#include <string.h>

#include "sched/sched.h"

/* Queued requests whose deadline has passed complete with CINFER_TIMEOUT and never run. */
static void expire(cinfer_scheduler *s, uint64_t now) {
    while (cinfer__queue_next_deadline(&s->q) <= now) {
        cinfer_request *r = s->q.heap[0];
        cinfer__queue_remove(&s->q, r);
        cinfer__request_reject(s, r, CINFER_TIMEOUT,
                               "model '%s': the request timed out after %.3f ms in the queue "
                               "(timeout %.3f ms)", s->m->path,
                               (double)(now - r->t_enqueue) * 1e-6,
                               (double)(r->deadline - r->t_enqueue) * 1e-6);
    }
}

/* Requests batch together only when every non-batch dimension matches (dtypes and ranks are
 * the model's, checked at submit). */
static bool compatible(const cinfer_scheduler *s, const cinfer_request *a,
                       const cinfer_request *b) {
    if (s->fixed) return true;
    if (a->sig != b->sig) return false;
    for (int i = 0; i < s->n_in; i++)
        if (memcmp(a->in[i].dims + 1, b->in[i].dims + 1,
                   sizeof(int64_t) * (size_t)(a->in[i].rank - 1)))
            return false;
    return true;
}

static bool is_preferred(const cinfer_scheduler *s, int64_t rows) {
    for (int i = 0; i < s->n_preferred; i++)
        if (s->preferred[i] == rows) return true;
    return false;
}

/* Forms the batch for an idle instance from the queue in dispatch order (priority, then
 * arrival), stopping at the first request that does not fit or does not match. Dispatch now
 * (true) if the batch is full, has reached a preferred size (the largest one formable), cannot
 * grow, or its oldest request has waited max_queue_delay; otherwise false with *wait_until set
 * to when the delay runs out. */
static bool form_batch(cinfer_scheduler *s, uint64_t now, cinfer__batch *b,
                       uint64_t *wait_until) {
    int64_t max = s->batching ? s->o.max_batch_size : 1;
    const cinfer_request *first = cinfer__queue_first(&s->q);
    int n = 0, pref_n = 0;
    int64_t rows = 0, pref_rows = 0;
    uint64_t oldest = UINT64_MAX;
    bool can_grow = true;
    for (cinfer_request *r = (cinfer_request *)first; r; r = cinfer__queue_next(&s->q, r)) {
        if (rows + r->rows > max || !compatible(s, first, r)) {
            can_grow = false;
            break;
        }
        b->reqs[n++] = r;
        rows += r->rows;
        if (r->t_enqueue < oldest) oldest = r->t_enqueue;
        if (is_preferred(s, rows)) {
            pref_n = n;
            pref_rows = rows;
        }
        if (rows == max) {
            can_grow = false;
            break;
        }
    }
    uint64_t delay = s->o.max_queue_delay_us * 1000u;
    if (rows != max && pref_n) {
        n = pref_n;
        rows = pref_rows;
    } else if (can_grow && now - oldest < delay) {
        *wait_until = oldest + delay;
        return false;
    }
    b->n = n;
    b->rows = rows;
    return true;
}

static void dispatch(cinfer_scheduler *s, cinfer__instance *inst, uint64_t now) {
    cinfer__batch *b = &inst->batch;
    for (int i = 0; i < b->n; i++) {
        cinfer_request *r = b->reqs[i];
        cinfer__queue_remove(&s->q, r);
        r->t_dispatch = now;
        atomic_store(&r->state, CINFER__REQ_RUNNING);
    }
    b->seq = s->next_batch_seq++;
}

bool cinfer__batcher_next(cinfer_scheduler *s, cinfer__instance *inst, uint64_t *wait_until) {
    uint64_t now = cinfer__now_ns();
    expire(s, now);
    *wait_until = UINT64_MAX;
    if (!s->q.count || !form_batch(s, now, &inst->batch, wait_until)) return false;
    dispatch(s, inst, now);
    return true;
}

void *cinfer__timer_main(void *arg) {
    cinfer_scheduler *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        expire(s, cinfer__now_ns());
        uint64_t wake = cinfer__queue_next_deadline(&s->q);
        /* Submit reads timer_wake (under s->mu) to decide whether to wake us early. */
        s->timer_wake = wake;
        cinfer__cond_wait_until(&s->timer_cv, &s->mu, wake);
    }
    /* Shutdown: instances take nothing more once stopping is set, so nothing queued runs. */
    for (cinfer_request *r; (r = cinfer__queue_first(&s->q));) {
        cinfer__queue_remove(&s->q, r);
        cinfer__request_reject(s, r, CINFER_SHUTDOWN,
                               "model '%s': %s before the request ran", s->m->path,
                               s->stop_why);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}
