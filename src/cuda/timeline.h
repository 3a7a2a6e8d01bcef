/* A context's timeline: CUDA events at the start and end of each phase of a run (host-to-device
 * copies, compute, device-to-host copies), read back after the run as microseconds on the
 * device object's clock, so that runs of different contexts can be laid side by side (the
 * scheduler's statistics and its copy/compute overlap test). Off by default: every phase then
 * costs two event records. */
#ifndef CINFER_CUDA_TIMELINE_H
#define CINFER_CUDA_TIMELINE_H

#include <stdbool.h>

#include <cuda_runtime_api.h>

#include "cuda/check.h"
#include "cuda/module.h"

enum {
    CINFER_TL_H2D_BEGIN,
    CINFER_TL_H2D_END,
    CINFER_TL_COMPUTE_BEGIN,
    CINFER_TL_COMPUTE_END,
    CINFER_TL_D2H_BEGIN,
    CINFER_TL_D2H_END,
    CINFER_TL_N
};

typedef struct cinfer_cuda_timeline {
    bool on;
    cudaEvent_t epoch;          /* the device object's, borrowed: time zero */
    cudaEvent_t ev[CINFER_TL_N];
    bool seen[CINFER_TL_N];     /* recorded during the current run */
    bool compute_open;          /* compute enqueued since the last COMPUTE_END mark */
} cinfer_cuda_timeline;

/* Time zero of a device object: an event recorded and completed now on device `index`. */
cinfer_status cinfer_cuda_epoch_create(int index, cudaEvent_t *epoch, cinfer_cuda_err *err);

/* Turns timing on (creating the events once) or off. */
cinfer_status cinfer_cuda_timeline_enable(cinfer_cuda_timeline *t, bool on,
                                          cinfer_cuda_err *err);
/* A run starts: nothing recorded yet. */
void cinfer_cuda_timeline_reset(cinfer_cuda_timeline *t);
/* Records event `what` on stream s when timing is on; a *_BEGIN only the first time in a run,
 * an *_END every time (the last one counts). Nothing while s is being captured into a graph. */
cinfer_status cinfer_cuda_timeline_mark(cinfer_cuda_timeline *t, int what, cudaStream_t s,
                                        cinfer_cuda_err *err);
/* Compute is about to be enqueued on s (a launch, a graph, a device copy): the first time in a
 * run this marks COMPUTE_BEGIN, and a later cinfer_cuda_timeline_compute_end will mark its end.
 * Nothing while s is being captured. */
cinfer_status cinfer_cuda_timeline_compute(cinfer_cuda_timeline *t, cudaStream_t s,
                                           cinfer_cuda_err *err);
/* Marks COMPUTE_END on s if compute was enqueued since the last end mark: an event recorded
 * on an idle stream would complete only when reached, after the copies that followed. */
cinfer_status cinfer_cuda_timeline_compute_end(cinfer_cuda_timeline *t, cudaStream_t s,
                                               cinfer_cuda_err *err);
/* The last run's phases (its streams must be idle), -1 for phases it did not have. Each
 * phase's length comes from its own two events, so it keeps full precision however long the
 * device object has been open. */
cinfer_status cinfer_cuda_timeline_read(const cinfer_cuda_timeline *t, cinfer_cuda_times *out,
                                        cinfer_cuda_err *err);
void cinfer_cuda_timeline_free(cinfer_cuda_timeline *t);

#endif
