/* The CUDA backend's error value and its one check macro for cudart, cuBLASLt and cuDNN. */
#ifndef CINFER_CUDA_CHECK_H
#define CINFER_CUDA_CHECK_H

#include <stddef.h>

#include <cuda_runtime_api.h>

#include "cinfer/status.h"

/* Every fallible backend call fills one of these (owned by the caller, usually one per
 * context or per load) and returns the same code. `msg` names the failing statement, the
 * source line, the device and the library's own description, so a log line is enough to
 * find the fault. */
typedef struct cinfer_cuda_err {
    cinfer_status code;
    char msg[512];
} cinfer_cuda_err;

/* Resets `err` to CINFER_OK with an empty message. Accepts NULL. */
void cinfer_cuda_err_clear(cinfer_cuda_err *err);

/* Records a backend error that is not a library status (bad argument, arena exhausted...).
 * Returns `code` so callers can `return cinfer_cuda_err_set(...)`. `err` may be NULL. */
cinfer_status cinfer_cuda_err_set(cinfer_cuda_err *err, cinfer_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Failure recorders behind the check macro, one per library: each maps the library's status
 * to a cinfer_status (allocation failures to CINFER_OUT_OF_MEMORY, "not supported" to
 * CINFER_UNSUPPORTED, the rest to CINFER_DEVICE) and writes the message. */
cinfer_status cinfer__cuda_fail_rt(cinfer_cuda_err *err, int status, const char *stmt,
                                   const char *file, int line);
cinfer_status cinfer__cuda_fail_lt(cinfer_cuda_err *err, int status, const char *stmt,
                                   const char *file, int line);
cinfer_status cinfer__cuda_fail_dnn(cinfer_cuda_err *err, int status, const char *stmt,
                                    const char *file, int line);

/* The one generic check: runs `stmt`; on any status other than 0 (cudaSuccess,
 * CUBLAS_STATUS_SUCCESS and CUDNN_STATUS_SUCCESS are all 0) records the statement text, file,
 * line, current device and the library's error string through cinfer__cuda_fail_<lib> into
 * `err`, stores the cinfer_status in `rc` and jumps to `label`. Never aborts. */
#define CINFER_CUDA_CHECK_GEN(lib, err, rc, stmt, label)                                   \
    do {                                                                                   \
        int st_ = (int)(stmt);                                                             \
        if (st_ != 0) {                                                                    \
            (rc) = cinfer__cuda_fail_##lib((err), st_, #stmt, __FILE__, __LINE__);         \
            goto label;                                                                    \
        }                                                                                  \
    } while (0)

#define CUDA_CHECK(err, rc, stmt, label) CINFER_CUDA_CHECK_GEN(rt, err, rc, stmt, label)
#define CUBLAS_CHECK(err, rc, stmt, label) CINFER_CUDA_CHECK_GEN(lt, err, rc, stmt, label)
#define CUDNN_CHECK(err, rc, stmt, label) CINFER_CUDA_CHECK_GEN(dnn, err, rc, stmt, label)

/* Every device and pinned-host allocation of the backend goes through these two, so a test
 * can make exactly one of them fail (cinfer_cuda_test_fail_next_alloc). They never run on the
 * per-request path: contexts and weights allocate at creation only. */
cudaError_t cinfer__cuda_malloc(void **ptr, size_t bytes);
cudaError_t cinfer__cuda_host_alloc(void **ptr, size_t bytes);

/* Test hook: the next cinfer__cuda_malloc / cinfer__cuda_host_alloc returns
 * cudaErrorMemoryAllocation without allocating; the one after it behaves normally. */
void cinfer_cuda_test_fail_next_alloc(void);

/* 1 when CINFER_CUDA_SYNC=1 is set in the environment (read once per process). */
int cinfer_cuda_sync_enabled(void);

/* CINFER_CUDA_AFTER_LAUNCH: call after every kernel or library launch on `stream`. Records
 * `launch` (the status the launch returned, or cudaGetLastError) and, under CINFER_CUDA_SYNC=1
 * only, synchronizes the stream so an asynchronous fault is reported against the launch `what`
 * that caused it. Without the knob it never synchronizes. */
#define CINFER_CUDA_AFTER_LAUNCH(err, stream, launch, what) \
    cinfer__cuda_after_launch((err), (stream), (launch), (what), __FILE__, __LINE__)
cinfer_status cinfer__cuda_after_launch(cinfer_cuda_err *err, cudaStream_t stream,
                                        cudaError_t launch, const char *what, const char *file,
                                        int line);

#endif
