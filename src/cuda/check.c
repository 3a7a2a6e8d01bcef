/* The CUDA backend's error recording: one message format for cudart, cuBLASLt and cuDNN. */
#include "cuda/check.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublasLt.h>
#include <cudnn.h>

void cinfer_cuda_err_clear(cinfer_cuda_err *err) {
    if (!err) return;
    err->code = CINFER_OK;
    err->msg[0] = 0;
}

cinfer_status cinfer_cuda_err_set(cinfer_cuda_err *err, cinfer_status code, const char *fmt, ...) {
    if (!err) return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

/* The device is looked up only on the failure path; -1 when even that query fails. */
static int current_device(void) {
    int dev = -1;
    if (cudaGetDevice(&dev) != cudaSuccess) dev = -1;
    return dev;
}

static cinfer_status record(cinfer_cuda_err *err, cinfer_status code, const char *lib,
                            int status, const char *what, const char *stmt, const char *file,
                            int line) {
    /* Keep only the file's base name: the message is for a log line, not a build tree. */
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    return cinfer_cuda_err_set(err, code, "%s failed on CUDA device %d (%s:%d): %s error %d: %s",
                               stmt, current_device(), base, line, lib, status, what);
}

cinfer_status cinfer__cuda_fail_rt(cinfer_cuda_err *err, int status, const char *stmt,
                                   const char *file, int line) {
    cudaError_t e = (cudaError_t)status;
    cinfer_status code = e == cudaErrorMemoryAllocation ? CINFER_OUT_OF_MEMORY : CINFER_DEVICE;
    const char *what = cudaGetErrorString(e);
    /* Clear the non-sticky error so the next, unrelated check does not report it again. */
    (void)cudaGetLastError();
    return record(err, code, "cudart", status, what, stmt, file, line);
}

cinfer_status cinfer__cuda_fail_lt(cinfer_cuda_err *err, int status, const char *stmt,
                                   const char *file, int line) {
    cublasStatus_t s = (cublasStatus_t)status;
    cinfer_status code = CINFER_DEVICE;
    if (s == CUBLAS_STATUS_ALLOC_FAILED) code = CINFER_OUT_OF_MEMORY;
    if (s == CUBLAS_STATUS_NOT_SUPPORTED) code = CINFER_UNSUPPORTED;
    if (s == CUBLAS_STATUS_INVALID_VALUE) code = CINFER_INVALID_ARGUMENT;
    return record(err, code, "cuBLASLt", status, cublasLtGetStatusString(s), stmt, file, line);
}

cinfer_status cinfer__cuda_fail_dnn(cinfer_cuda_err *err, int status, const char *stmt,
                                    const char *file, int line) {
    cudnnStatus_t s = (cudnnStatus_t)status;
    /* cuDNN 9 groups its codes by thousands: 2xxx bad parameter, 3xxx not supported. */
    cinfer_status code = CINFER_DEVICE;
    if (status / 1000 == 2) code = CINFER_INVALID_ARGUMENT;
    if (status / 1000 == 3) code = CINFER_UNSUPPORTED;
    if (s == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED ||
        s == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED)
        code = CINFER_OUT_OF_MEMORY;
    /* cuDNN's last-error string says which parameter it disliked; keep it when present. */
    char detail[256] = "";
    cudnnGetLastErrorString(detail, sizeof detail);
    char what[400];
    snprintf(what, sizeof what, "%s%s%s", cudnnGetErrorString(s), detail[0] ? "; " : "", detail);
    return record(err, code, "cuDNN", status, what, stmt, file, line);
}

/* Test hook state: a process-wide flag because allocation happens inside creation calls the
 * test cannot reach into. Atomic so a test thread may set it while another creates. */
static atomic_int fail_next_alloc;

void cinfer_cuda_test_fail_next_alloc(void) { atomic_store(&fail_next_alloc, 1); }

static int take_injected_failure(void) { return atomic_exchange(&fail_next_alloc, 0) != 0; }

cudaError_t cinfer__cuda_malloc(void **ptr, size_t bytes) {
    *ptr = NULL;
    if (take_injected_failure()) return cudaErrorMemoryAllocation;
    return cudaMalloc(ptr, bytes);
}

cudaError_t cinfer__cuda_host_alloc(void **ptr, size_t bytes) {
    *ptr = NULL;
    if (take_injected_failure()) return cudaErrorMemoryAllocation;
    return cudaHostAlloc(ptr, bytes, cudaHostAllocDefault);
}

/* -1 until first read; reading twice from two threads stores the same value, so a benign race. */
static atomic_int sync_knob = -1;

int cinfer_cuda_sync_enabled(void) {
    int v = atomic_load(&sync_knob);
    if (v < 0) {
        const char *s = getenv("CINFER_CUDA_SYNC");
        v = s && strcmp(s, "1") == 0;
        atomic_store(&sync_knob, v);
    }
    return v;
}

cinfer_status cinfer__cuda_after_launch(cinfer_cuda_err *err, cudaStream_t stream,
                                        cudaError_t launch, const char *what, const char *file,
                                        int line) {
    if (launch != cudaSuccess) return cinfer__cuda_fail_rt(err, (int)launch, what, file, line);
    if (!cinfer_cuda_sync_enabled()) return CINFER_OK;
    cudaError_t e = cudaStreamSynchronize(stream);
    if (e == cudaSuccess) return CINFER_OK;
    cinfer_status rc = cinfer__cuda_fail_rt(err, (int)e, "cudaStreamSynchronize", file, line);
    /* Name the launch, not the synchronize, as the culprit: that is the point of the knob. */
    if (err) {
        char tmp[sizeof err->msg];
        snprintf(tmp, sizeof tmp, "after %s (CINFER_CUDA_SYNC=1): %s", what, err->msg);
        memcpy(err->msg, tmp, sizeof tmp);
    }
    return rc;
}
