/* Event timelines of a context's runs (timeline.h). */
#include "cuda/timeline.h"

cinfer_status cinfer_cuda_epoch_create(int index, cudaEvent_t *epoch, cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    cudaStream_t s = NULL;
    *epoch = NULL;
    /* A stream of its own, not the legacy default stream, which the backend never uses. */
    CUDA_CHECK(err, rc, cudaSetDevice(index), fail);
    CUDA_CHECK(err, rc, cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), fail);
    CUDA_CHECK(err, rc, cudaEventCreate(epoch), fail);
    CUDA_CHECK(err, rc, cudaEventRecord(*epoch, s), fail);
    CUDA_CHECK(err, rc, cudaEventSynchronize(*epoch), fail);
    (void)cudaStreamDestroy(s);
    return CINFER_OK;
fail:
    if (*epoch) (void)cudaEventDestroy(*epoch);
    if (s) (void)cudaStreamDestroy(s);
    *epoch = NULL;
    return rc;
}

cinfer_status cinfer_cuda_timeline_enable(cinfer_cuda_timeline *t, bool on,
                                          cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    if (on && !t->epoch)
        return cinfer_cuda_err_set(err, CINFER_INVALID_ARGUMENT,
                                   "timing asked of a context whose device has no epoch event");
    for (int i = 0; on && i < CINFER_TL_N; i++)
        if (!t->ev[i]) CUDA_CHECK(err, rc, cudaEventCreate(&t->ev[i]), fail);
    t->on = on;
    cinfer_cuda_timeline_reset(t);
    return CINFER_OK;
fail:
    return rc;
}

void cinfer_cuda_timeline_reset(cinfer_cuda_timeline *t) {
    for (int i = 0; i < CINFER_TL_N; i++) t->seen[i] = false;
    t->compute_open = false;
}

cinfer_status cinfer_cuda_timeline_mark(cinfer_cuda_timeline *t, int what, cudaStream_t s,
                                        cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    bool begin = what % 2 == 0;
    if (!t->on || (begin && t->seen[what])) return CINFER_OK;
    enum cudaStreamCaptureStatus cap = cudaStreamCaptureStatusNone;
    CUDA_CHECK(err, rc, cudaStreamIsCapturing(s, &cap), fail);
    if (cap != cudaStreamCaptureStatusNone) return CINFER_OK;
    CUDA_CHECK(err, rc, cudaEventRecord(t->ev[what], s), fail);
    t->seen[what] = true;
fail:
    return rc;
}

cinfer_status cinfer_cuda_timeline_compute(cinfer_cuda_timeline *t, cudaStream_t s,
                                           cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    /* Already begun and still open: nothing to record, and no runtime call per launch. */
    if (!t->on || (t->compute_open && t->seen[CINFER_TL_COMPUTE_BEGIN])) return CINFER_OK;
    enum cudaStreamCaptureStatus cap = cudaStreamCaptureStatusNone;
    CUDA_CHECK(err, rc, cudaStreamIsCapturing(s, &cap), fail);
    if (cap != cudaStreamCaptureStatusNone) return CINFER_OK;
    rc = cinfer_cuda_timeline_mark(t, CINFER_TL_COMPUTE_BEGIN, s, err);
    t->compute_open = rc == CINFER_OK;
fail:
    return rc;
}

cinfer_status cinfer_cuda_timeline_compute_end(cinfer_cuda_timeline *t, cudaStream_t s,
                                               cinfer_cuda_err *err) {
    if (!t->on || !t->compute_open) return CINFER_OK;
    t->compute_open = false;
    return cinfer_cuda_timeline_mark(t, CINFER_TL_COMPUTE_END, s, err);
}

cinfer_status cinfer_cuda_timeline_read(const cinfer_cuda_timeline *t, cinfer_cuda_times *out,
                                        cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    double v[CINFER_TL_N];
    for (int i = 0; i < CINFER_TL_N; i += 2) {
        v[i] = v[i + 1] = -1;
        /* A phase counts only when both of its ends were recorded in this run. Its start is
         * placed on the device's clock (float ms since the epoch: coarse after hours), its
         * length measured between its own events. */
        if (!t->on || !t->seen[i] || !t->seen[i + 1]) continue;
        float at = 0, len = 0;
        CUDA_CHECK(err, rc, cudaEventElapsedTime(&at, t->epoch, t->ev[i]), fail);
        CUDA_CHECK(err, rc, cudaEventElapsedTime(&len, t->ev[i], t->ev[i + 1]), fail);
        v[i] = (double)at * 1e3;
        v[i + 1] = v[i] + (double)len * 1e3;
    }
    *out = (cinfer_cuda_times){v[0], v[1], v[2], v[3], v[4], v[5]};
fail:
    return rc;
}

void cinfer_cuda_timeline_free(cinfer_cuda_timeline *t) {
    for (int i = 0; i < CINFER_TL_N; i++)
        if (t->ev[i]) (void)cudaEventDestroy(t->ev[i]);
    t->on = false;
}
