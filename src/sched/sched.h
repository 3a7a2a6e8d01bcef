/* Internal layout of the scheduler: requests, the priority queue, batches, execution instances
 * and the completion queue. docs/scheduler.md has the picture.
 *
 * Threads and locks (a lock listed earlier may be held while taking a later one, never the
 * other way round):
 *   s->life     read-write: submit reads the model under it; detaching (the model's destroy)
 *               writes `detached` under it and takes nothing else while holding it.
 *   s->mu       the queue (levels, deadline heap, count), n_idle, stopping, sequence
 *               numbers. Taken by submit, cancel, the timer thread, and by an instance while
 *               it forms its next batch; never held while a batch runs or a callback is
 *               called.
 *   s->order_mu preserve_ordering: instances hand in completed batches in dispatch order.
 *   s->done_mu  the completion list. The completion thread takes only this lock (and the
 *               leaves below), so delivering results never waits on the batcher.
 *   s->stats_mu statistics; a leaf.
 *   req->mu     a request's `done` flag for cinfer_request_wait; a leaf.
 * Request state moves QUEUED -> RUNNING under s->mu (dispatch), RUNNING -> FINISHING or
 * CANCELLING by compare-and-swap (instance vs. cancel), and to DONE on the completion thread. */
#ifndef CINFER_SCHED_SCHED_H
#define CINFER_SCHED_SCHED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cinfer/cinfer.h"
#include "core/error.h"
#include "runtime/runtime.h"

#define CINFER__SCHED_MAX_BATCH 65536
#define CINFER__SCHED_MAX_LEVELS 16
#define CINFER__SCHED_MSG_LEN 512
/* Largest batch that runs at its exact row count on a device that allows it (the CPU); larger
 * ones are padded to a bucket. Bounds the plans a scheduler adds to the model's cache (64). */
#define CINFER__SCHED_MAX_EXACT 32
/* Each exact-size plan keeps its own prepared (packed) weights: the sizes planned beyond the
 * buckets may hold at most about this many bytes of weights in all. */
#define CINFER__SCHED_EXACT_BUDGET ((size_t)256 << 20)

typedef enum req_state {
    CINFER__REQ_QUEUED = 0,
    CINFER__REQ_RUNNING,    /* taken into a batch */
    CINFER__REQ_FINISHING,  /* the instance owns the result; cancel is too late */
    CINFER__REQ_CANCELLING, /* cancelled while running: the result is dropped */
    CINFER__REQ_COMPLETING, /* on the completion list */
    CINFER__REQ_DONE
} req_state;

struct cinfer_request {
    cinfer_scheduler *s;
    atomic_int refs;  /* the caller's (if it kept a handle) + the runtime's until delivered */
    atomic_int state; /* req_state */
    /* Queue links, under s->mu. */
    cinfer_request *prev, *next;
    int level;          /* 0 = highest priority */
    size_t heap_idx;    /* position in the deadline heap; SIZE_MAX when not in it */
    uint64_t seq;       /* arrival number, for ordering and ties */
    /* Completion list link, under s->done_mu. */
    cinfer_request *done_next;
    /* Timing (ns on CLOCK_MONOTONIC); written by whoever owns the request at the time. */
    uint64_t t_enqueue, deadline, t_dispatch, in_ns, infer_ns, out_ns;
    int64_t rows;
    uint64_t sig;       /* hash of the non-batch dims: requests batch only when equal */
    int n_in;
    cinfer_tensor *in;  /* model input order; data borrowed, or in `in_copy` */
    void *in_copy;
    int n_out;
    int *out_idx;       /* model output index of each requested output */
    cinfer_tensor *out; /* runtime-owned once filled */
    cinfer_status status;
    char msg[CINFER__SCHED_MSG_LEN];
    cinfer_request_fn cb;
    void *user;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
};

/* Requests by priority level, FIFO within a level, plus a min-heap of deadlines so that the
 * next request to time out is found in O(1) and removed in O(log n). */
typedef struct cinfer__req_queue {
    struct {
        cinfer_request *head, *tail;
    } level[CINFER__SCHED_MAX_LEVELS];
    int n_levels;
    size_t count;
    cinfer_request **heap;
    size_t heap_n, heap_cap;
} cinfer__req_queue;

void cinfer__queue_push(cinfer__req_queue *q, cinfer_request *r);
void cinfer__queue_remove(cinfer__req_queue *q, cinfer_request *r);
/* The earliest deadline among queued requests, or UINT64_MAX. */
uint64_t cinfer__queue_next_deadline(const cinfer__req_queue *q);
/* Grows the heap so that one more request fits (called before push, may allocate). */
bool cinfer__queue_reserve(cinfer__req_queue *q);
/* The request after r in dispatch order (higher levels first, FIFO within), or the first. */
cinfer_request *cinfer__queue_first(const cinfer__req_queue *q);
cinfer_request *cinfer__queue_next(const cinfer__req_queue *q, const cinfer_request *r);
void cinfer__queue_free(cinfer__req_queue *q);

/* A batch handed to an instance: requests in dispatch order, their rows at consecutive
 * offsets of the staging buffers. */
typedef struct cinfer__batch {
    cinfer_request **reqs; /* capacity max(max_batch_size, 1) */
    int n;
    int64_t rows;
    int64_t run_rows;      /* rows it ran with: rows, or its bucket when padded */
    uint64_t seq;          /* dispatch number (preserve_ordering) */
} cinfer__batch;

/* Host staging memory for one input or output of an instance. On CUDA this is pinned memory
 * (the instance's ops allocate it), the source and target of the copy streams. */
typedef struct cinfer__staging {
    void *data;
    size_t cap;
} cinfer__staging;

typedef struct cinfer__instance cinfer__instance;

/* Timings of one batch, ns. */
typedef struct cinfer__batch_times {
    uint64_t input_ns, infer_ns, output_ns;
} cinfer__batch_times;

/* What an execution instance needs from its device. The CPU instance keeps staging in host
 * memory and runs the plan on the instance thread; a CUDA instance allocates pinned staging,
 * owns its streams, events, arena and captured graphs per bucket, and in `run` copies the
 * staged inputs host-to-device on its copy stream, computes after an event and copies the
 * outputs back. `run` adds its own copy times to t->input_ns and t->output_ns. */
typedef struct cinfer__instance_ops {
    const char *name;
    /* Plans are cheap and a batch may run at any row count: batches of up to
     * CINFER__SCHED_MAX_EXACT rows run unpadded, each size planned on first use. A device that
     * captures work per shape (CUDA graphs) leaves this false and pads to the buckets. */
    bool exact_rows;
    cinfer_status (*init)(cinfer__instance *inst, cinfer__err *err);
    /* On the instance's own thread, before its first batch (NULL: nothing). */
    void (*thread_start)(cinfer__instance *inst);
    void (*fini)(cinfer__instance *inst);
    void *(*staging_alloc)(cinfer__instance *inst, size_t bytes);
    void (*staging_free)(cinfer__instance *inst, void *p);
    cinfer_status (*run)(cinfer__instance *inst, cinfer__plan *p, const cinfer_tensor *in,
                         cinfer_tensor *out, cinfer__batch_times *t, cinfer__err *err);
} cinfer__instance_ops;

extern const cinfer__instance_ops cinfer__cpu_instance_ops;
/* instance_cuda.c: a CUDA model's instances, each holding one execution context of the model
 * (streams, arenas sized for the largest bucket, graphs per bucket) and pinned staging. */
extern const cinfer__instance_ops cinfer__cuda_instance_ops;

/* When each phase of a batch ran on the device (microseconds on the device's clock, -1 for a
 * phase the batch did not have): the copy/compute overlap of two instances shows here. */
typedef struct cinfer__batch_timeline {
    int instance;
    int64_t rows;
    double h2d_begin, h2d_end, compute_begin, compute_end, d2h_begin, d2h_end;
} cinfer__batch_timeline;

#define CINFER__SCHED_TIMELINE 1024 /* the last this many batches are kept */

struct cinfer__instance {
    cinfer_scheduler *s;
    int index;
    const cinfer__instance_ops *ops;
    void *dev;                /* the device's per-instance state (NULL on the CPU) */
    bool warming;             /* running a warm-up batch (cinfer__instance_warm) */
    pthread_t thread;
    bool started;
    cinfer__batch batch;      /* formed under s->mu, then run without it */
    cinfer__staging *in_stage, *out_stage; /* per model input / output */
    cinfer_tensor *in_t, *out_t;           /* bucket-shaped views of the staging */
    int *all_out;             /* 0 .. n_outputs-1 for cinfer__plan_run */
};

/* A bucket: a batch size that is planned; a batch runs padded up to the smallest bucket that
 * holds its rows. */
typedef struct cinfer__bucket {
    int64_t size;
    cinfer__plan *plan;       /* fixed shapes: planned at creation; NULL otherwise */
    bool transient;           /* the plan is not in the model's cache: destroy it with us */
} cinfer__bucket;

struct cinfer_scheduler {
    cinfer_model *m;          /* NULL once detached */
    /* The model's list of its schedulers (under m->mu), so that cinfer_model_destroy can shut
     * them down first (cinfer__sched_detach_all). */
    cinfer_scheduler *model_next;
    bool attached;
    /* Submit holds it for reading while it reads the model; detaching takes it for writing to
     * set `detached`, after which submit fails with CINFER_SHUTDOWN and never touches m. */
    pthread_rwlock_t life;
    bool detached;
    bool released;            /* instances, staging and plans freed (detach or destroy) */
    const char *stop_why;     /* why queued requests complete with SHUTDOWN; under mu */
    cinfer_batching_options o;
    const cinfer__instance_ops *ops;
    int n_in, n_out;
    bool batching;            /* max_batch_size > 0 */
    bool fixed;               /* every non-batch input dim is fixed: buckets planned ahead */
    cinfer_tensor *in_proto;  /* fixed: each input with dims[0] = 1 (no data) */
    cinfer_tensor *out_proto; /* fixed: each output of a batch of 1 (no data) */
    cinfer__bucket *buckets;
    int n_buckets;
    /* exact_rows: the plan for each row count 1 .. CINFER__SCHED_MAX_EXACT (the buckets' at
     * creation, others on first use; a bucket's plan where the model's cache was full). */
    _Atomic(cinfer__plan *) *exact;
    int max_exact;            /* 0: every batch is padded to a bucket */
    int *preferred;           /* sorted preferred sizes */
    int n_preferred;

    pthread_mutex_t mu;
    pthread_cond_t cv;        /* idle instances wait here: request queued, delay, stopping */
    cinfer__req_queue q;
    uint64_t next_seq, next_batch_seq;
    int n_idle;               /* instances free (forming a batch or waiting on cv) */
    bool wake_sent;           /* cv was signalled and no instance has woken since: a burst
                                 of submits then costs one wake-up, not one each */
    uint64_t n_accepted, n_rejected; /* submits queued / refused with QUEUE_FULL */
    bool stopping;
    pthread_cond_t timer_cv;  /* the timer thread: an earlier deadline, stopping */
    uint64_t timer_wake;      /* when the timer's current wait ends (UINT64_MAX: none) */
    pthread_t timer;
    bool timer_started;

    cinfer__instance *inst;
    int n_inst;

    bool test_hold;           /* tests: instances hold the batch they took (under s->mu) */
    pthread_cond_t hold_cv;

    pthread_mutex_t order_mu;
    pthread_cond_t order_cv;
    uint64_t next_deliver_seq;

    pthread_mutex_t done_mu;
    pthread_cond_t done_cv;
    cinfer_request *done_head, *done_tail;
    bool done_stop;
    pthread_t completer;
    bool completer_started;

    pthread_mutex_t stats_mu;
    cinfer_scheduler_stats st;
    uint64_t *hist;           /* max_batch_size + 1 entries */
    cinfer__batch_timeline *timeline; /* CUDA: a ring of the last batches (under stats_mu) */
    uint64_t timeline_n;      /* batches recorded in all */
};

uint64_t cinfer__now_ns(void);
/* Waits on cv until woken or until the CLOCK_MONOTONIC time `until_ns` (UINT64_MAX: no
 * limit). The condition variable must have been made with cinfer__cond_init. */
void cinfer__cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t until_ns);
void cinfer__cond_init(pthread_cond_t *cv);

/* Batcher (batcher.c). Under s->mu: expires timed-out requests, then forms the next batch
 * for inst from the queue. True: inst->batch is taken from the queue and ready to run. False:
 * nothing to run yet; *wait_until is when a waiting batch's delay runs out (UINT64_MAX:
 * until woken). */
bool cinfer__batcher_next(cinfer_scheduler *s, cinfer__instance *inst, uint64_t *wait_until);
/* The timer thread: completes queued requests as their timeouts pass; at shutdown, completes
 * what is still queued with CINFER_SHUTDOWN. */
void *cinfer__timer_main(void *arg);

/* Instances (instance.c). */
cinfer_status cinfer__instance_init(cinfer_scheduler *s, cinfer__instance *inst, int index,
                                    cinfer__err *err);
void cinfer__instance_fini(cinfer__instance *inst);
void *cinfer__instance_main(void *arg);
/* Runs a batch of zeros through bucket `bucket` (warm-up at creation, fixed shapes). */
cinfer_status cinfer__instance_warm(cinfer__instance *inst, int bucket, cinfer__err *err);
/* The index of the smallest bucket holding `rows`. */
int cinfer__bucket_for(const cinfer_scheduler *s, int64_t rows);

/* Records a batch's device timeline (instance_cuda.c). */
void cinfer__sched_timeline_add(cinfer_scheduler *s, const cinfer__batch_timeline *t);
/* Tests: copies up to max of the last batches' timelines, oldest first; returns the count. */
size_t cinfer__sched_timeline(cinfer_scheduler *s, cinfer__batch_timeline *out, size_t max);

/* Tests: while hold is true, an instance that takes a batch keeps it without running it, so
 * the instance is busy and later requests stay queued. Shutdown ends the hold. */
void cinfer__sched_test_hold(cinfer_scheduler *s, bool hold);

/* Requests (request.c). */
/* Completes a request that never ran (timeout, cancel, shutdown): status and message, onto
 * the completion list. Caller holds s->mu and has removed it from the queue. */
void cinfer__request_reject(cinfer_scheduler *s, cinfer_request *r, cinfer_status st,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Appends a chain of requests (linked by done_next) to the completion list. */
void cinfer__complete_chain(cinfer_scheduler *s, cinfer_request *head, cinfer_request *tail);
void *cinfer__completer_main(void *arg);
/* Frees what a request owns, once nothing refers to it. */
void cinfer__request_free(cinfer_request *r);

#endif
