/* cinfer's own thread pool: a fixed set of workers shared by every run of a runtime. The
 * calling thread always works too, so a pool of N threads starts N-1 workers. */
#ifndef CINFER_CORE_THREADPOOL_H
#define CINFER_CORE_THREADPOOL_H

#include <stdint.h>

#include "core/error.h"

typedef struct cinfer__pool cinfer__pool;

/* A body over the index range [begin, end). */
typedef void (*cinfer__range_fn)(void *ctx, int64_t begin, int64_t end);

cinfer_status cinfer__pool_create(int n_threads, cinfer__pool **out, cinfer__err *err);
void cinfer__pool_destroy(cinfer__pool *pool);
int cinfer__pool_size(const cinfer__pool *pool);

/* Runs fn over [0, n) in chunks of at least `grain` indices, on the pool's workers and the
 * calling thread, and returns when all chunks are done. Safe to call from several threads at
 * once; a call from inside a pool task runs inline on the calling thread. pool may be NULL
 * (runs inline). */
void cinfer__parallel_for(cinfer__pool *pool, int64_t n, int64_t grain, cinfer__range_fn fn,
                          void *ctx);

#endif
