/* A fixed-size thread pool with chunked parallel_for. Several threads may submit at once: each
 * call is a job on a shared list, and workers help whichever job still has unclaimed chunks.
 *
 * Locking: `mu` guards the job list, `stop` and every job's `refs`. Chunk claiming and
 * completion counting are atomics, so running a chunk never takes the lock. */
#include "core/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core/alloc.h"

typedef struct job {
    cinfer__range_fn fn;
    void *ctx;
    int64_t n, chunk, n_chunks;
    atomic_llong next;  /* next unclaimed chunk */
    int refs;           /* workers inside this job (under mu) */
    atomic_int busy;    /* workers running its chunks (lets the caller spin, not sleep) */
    struct job *prev, *next_job;
} job;

struct cinfer__pool {
    int n_threads;
    pthread_t *workers;
    int n_workers;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    job *head;
    atomic_int n_jobs; /* lets idle workers spin briefly without the lock */
    atomic_uint gen;   /* bumped by every submitted job: what idle workers spin on */
    bool stop;
};

static _Thread_local bool in_pool_task;

/* Claims and runs chunks until none are left. */
static void run_chunks(job *j) {
    for (;;) {
        int64_t c = atomic_fetch_add(&j->next, 1);
        if (c >= j->n_chunks) return;
        int64_t b = c * j->chunk, e = b + j->chunk;
        if (e > j->n) e = j->n;
        j->fn(j->ctx, b, e);
    }
}

static job *find_job(cinfer__pool *p) {
    for (job *j = p->head; j; j = j->next_job)
        if (atomic_load(&j->next) < j->n_chunks) return j;
    return NULL;
}

static void *worker_main(void *arg) {
    cinfer__pool *p = arg;
    in_pool_task = true;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        job *j = find_job(p);
        if (!j) {
            /* Spin a little before sleeping: ops run back to back, and a condition-variable
             * wake-up costs tens of microseconds per op. */
            unsigned g0 = atomic_load(&p->gen);
            pthread_mutex_unlock(&p->mu);
            for (int spin = 0; spin < 2000 && atomic_load(&p->gen) == g0; spin++) sched_yield();
            pthread_mutex_lock(&p->mu);
            if (!p->stop && !find_job(p)) pthread_cond_wait(&p->work_cv, &p->mu);
            continue;
        }
        j->refs++;
        atomic_fetch_add(&j->busy, 1);
        pthread_mutex_unlock(&p->mu);
        run_chunks(j);
        atomic_fetch_sub(&j->busy, 1);
        pthread_mutex_lock(&p->mu);
        if (--j->refs == 0) pthread_cond_broadcast(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

cinfer_status cinfer__pool_create(int n_threads, cinfer__pool **out, cinfer__err *err) {
    if (n_threads < 1) n_threads = 1;
    cinfer__pool *p = cinfer__calloc(1, sizeof *p);
    if (!p) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory creating threads");
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    atomic_init(&p->n_jobs, 0);
    atomic_init(&p->gen, 0);
    p->workers = cinfer__calloc((size_t)n_threads, sizeof(pthread_t));
    if (!p->workers) {
        cinfer__pool_destroy(p);
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory creating threads");
    }
    for (int i = 0; i < n_threads - 1; i++) {
        if (pthread_create(&p->workers[i], NULL, worker_main, p)) {
            cinfer__pool_destroy(p);
            return cinfer__errorf(err, CINFER_INTERNAL, "could not start worker thread %d", i);
        }
        p->n_workers++;
    }
    *out = p;
    return CINFER_OK;
}

void cinfer__pool_destroy(cinfer__pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_workers; i++) pthread_join(p->workers[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    cinfer__free(p->workers);
    cinfer__free(p);
}

int cinfer__pool_size(const cinfer__pool *p) { return p ? p->n_threads : 1; }

void cinfer__parallel_for(cinfer__pool *p, int64_t n, int64_t grain, cinfer__range_fn fn,
                          void *ctx) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (!p || p->n_workers == 0 || in_pool_task || n <= grain) {
        fn(ctx, 0, n);
        return;
    }
    /* A few chunks per thread balance uneven work without much claiming overhead. */
    int64_t max_chunks = (int64_t)p->n_threads * 4;
    int64_t n_chunks = (n + grain - 1) / grain;
    if (n_chunks > max_chunks) n_chunks = max_chunks;
    job j = {.fn = fn, .ctx = ctx, .n = n, .chunk = (n + n_chunks - 1) / n_chunks};
    j.n_chunks = (n + j.chunk - 1) / j.chunk;
    atomic_init(&j.next, 0);
    atomic_init(&j.busy, 0);

    pthread_mutex_lock(&p->mu);
    j.next_job = p->head;
    if (p->head) p->head->prev = &j;
    p->head = &j;
    atomic_fetch_add(&p->n_jobs, 1);
    atomic_fetch_add(&p->gen, 1);
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);

    in_pool_task = true;
    run_chunks(&j);
    in_pool_task = false;
    /* Workers still running chunks usually finish within microseconds: yield-spin for
     * them rather than sleep (a futex wake-up of this thread costs far more in a VM). */
    for (int spin = 0; spin < 20000 && atomic_load(&j.busy) > 0; spin++) sched_yield();

    pthread_mutex_lock(&p->mu);
    if (j.prev) j.prev->next_job = j.next_job;
    else p->head = j.next_job;
    if (j.next_job) j.next_job->prev = j.prev;
    atomic_fetch_sub(&p->n_jobs, 1);
    while (j.refs > 0) pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
