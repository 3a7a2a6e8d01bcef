/* The public device-memory calls (cinfer_device_*): the caller's GPU buffers for inputs and
 * outputs that stay on the device, allocated and copied through the CUDA module. */
#include "core/error.h"
#include "runtime/runtime.h"

/* Records a failure for cinfer_last_error() and returns its status. */
static cinfer_status fail(cinfer_status st, const cinfer__err *err) {
    cinfer__set_last_error(err->msg);
    return st;
}

/* The runtime's CUDA module, or an error naming the call that needed it. */
static cinfer_status need_cuda(const cinfer_runtime *rt, const char *fn, cinfer__err *err) {
    if (!rt) return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "%s: runtime is NULL", fn);
    if (!rt->cuda)
        return cinfer__errorf(err, CINFER_DEVICE, "%s: the runtime runs on the CPU, which has "
                              "no device memory", fn);
    return CINFER_OK;
}

cinfer_status cinfer_device_alloc(cinfer_runtime *rt, size_t bytes, void **ptr) {
    cinfer__err err = {{0}};
    char why[CINFER_CUDA_MSG_LEN] = "";
    if (!ptr)
        return fail(cinfer__errorf(&err, CINFER_INVALID_ARGUMENT,
                                   "cinfer_device_alloc: ptr is NULL"), &err);
    *ptr = NULL;
    cinfer_status st = need_cuda(rt, "cinfer_device_alloc", &err);
    if (st == CINFER_OK && !bytes)
        st = cinfer__errorf(&err, CINFER_INVALID_ARGUMENT, "cinfer_device_alloc: 0 bytes");
    if (st == CINFER_OK && (st = rt->cuda->mem_alloc(rt->device_index, bytes, ptr, why)))
        cinfer__errorf(&err, st, "cinfer_device_alloc: %zu bytes on CUDA device %d: %s", bytes,
                       rt->device_index, why);
    return st == CINFER_OK ? st : fail(st, &err);
}

void cinfer_device_free(cinfer_runtime *rt, void *ptr) {
    if (rt && rt->cuda && ptr) rt->cuda->mem_free(rt->device_index, ptr);
}

static cinfer_status copy(cinfer_runtime *rt, void *dst, const void *src, size_t bytes,
                          int to_device, const char *fn) {
    cinfer__err err = {{0}};
    char why[CINFER_CUDA_MSG_LEN] = "";
    cinfer_status st = need_cuda(rt, fn, &err);
    if (st == CINFER_OK && bytes && (!dst || !src))
        st = cinfer__errorf(&err, CINFER_INVALID_ARGUMENT, "%s: NULL %s", fn,
                            dst ? "source" : "destination");
    if (st == CINFER_OK && bytes &&
        (st = rt->cuda->mem_copy(rt->device_index, dst, src, bytes, to_device, why)))
        cinfer__errorf(&err, st, "%s: %zu bytes on CUDA device %d: %s", fn, bytes,
                       rt->device_index, why);
    return st == CINFER_OK ? st : fail(st, &err);
}

cinfer_status cinfer_device_copy_to_device(cinfer_runtime *rt, void *dst, const void *src,
                                           size_t bytes) {
    return copy(rt, dst, src, bytes, 1, "cinfer_device_copy_to_device");
}

cinfer_status cinfer_device_copy_to_host(cinfer_runtime *rt, void *dst, const void *src,
                                         size_t bytes) {
    return copy(rt, dst, src, bytes, 0, "cinfer_device_copy_to_host");
}
