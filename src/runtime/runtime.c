/* Runtime handle: device choice, the shared thread pool and the log callback. */
#include "runtime/runtime.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "cuda/module.h"

const char *cinfer_version(void) { return CINFER_VERSION_STRING; }

void cinfer__log(const cinfer_runtime *rt, cinfer_log_level level, const char *fmt, ...) {
    if (!rt || !rt->log_fn || level > rt->log_level) return;
    char msg[CINFER__ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rt->log_fn(level, msg, rt->log_user);
}

void cinfer_runtime_options_init(cinfer_runtime_options *o) {
    *o = (cinfer_runtime_options){.struct_size = sizeof *o, .device = CINFER_DEVICE_AUTO,
                                  .log_level = CINFER_LOG_WARN};
}

/* Opens the CUDA backend module: $CINFER_CUDA_MODULE, else libcinfer-cuda.so beside the object
 * that holds this code (libcinfer.so or a statically linked program), else the loader's path. */
static void *open_cuda_module(char *why, size_t len) {
    const char *env = getenv("CINFER_CUDA_MODULE");
    if (env && *env) {
        void *h = dlopen(env, RTLD_NOW | RTLD_LOCAL);
        if (!h) snprintf(why, len, "CINFER_CUDA_MODULE=%s could not be loaded (%s)", env, dlerror());
        return h;
    }
    Dl_info info;
    char path[PATH_MAX];
    if (dladdr((void *)open_cuda_module, &info) && info.dli_fname) {
        snprintf(path, sizeof path, "%s", info.dli_fname);
        char *slash = strrchr(path, '/');
        if (slash) {
            snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "libcinfer-cuda.so");
            void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
            if (h) return h;
        }
    }
    void *h = dlopen("libcinfer-cuda.so", RTLD_NOW | RTLD_LOCAL);
    if (!h) snprintf(why, len, "the CUDA backend module libcinfer-cuda.so is not available (%s)",
                     dlerror());
    return h;
}

/* A usable GPU needs the module (of this ABI), a driver and a device of compute capability 8.0
 * or newer. On success the module stays open for the runtime's lifetime. */
static bool cuda_available(cinfer_runtime *rt, char *why, size_t len) {
    void *h = open_cuda_module(why, len);
    if (!h) return false;
    cinfer_cuda_api_fn get;
    *(void **)&get = dlsym(h, CINFER_CUDA_API_SYMBOL);
    const cinfer_cuda_api *api = get ? get() : NULL;
    char name[256] = "";
    if (!api || api->abi != CINFER_CUDA_MODULE_ABI || api->struct_size < sizeof *api)
        snprintf(why, len, "libcinfer-cuda.so does not match this libcinfer (module ABI %d, "
                 "expected %d)", api ? api->abi : -1, CINFER_CUDA_MODULE_ABI);
    else if (api->probe(rt->device_index, name, sizeof name, why, len)) {
        rt->cuda_dl = h;
        rt->cuda = api;
        cinfer__log(rt, CINFER_LOG_INFO, "using CUDA device %d (%s)", rt->device_index, name);
        return true;
    }
    dlclose(h);
    return false;
}

static cinfer_status pick_device(cinfer_runtime *rt, cinfer_device want, cinfer__err *err) {
    char why[512];
    if (want == CINFER_DEVICE_CPU) {
        rt->device = CINFER_DEVICE_CPU;
        return CINFER_OK;
    }
    if (want != CINFER_DEVICE_AUTO && want != CINFER_DEVICE_CUDA)
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                              "runtime options: unknown device %d", (int)want);
    if (cuda_available(rt, why, sizeof why)) {
        rt->device = CINFER_DEVICE_CUDA;
        return CINFER_OK;
    }
    if (want == CINFER_DEVICE_CUDA)
        return cinfer__errorf(err, CINFER_DEVICE, "device cuda requested but no usable GPU: %s",
                              why);
    cinfer__log(rt, CINFER_LOG_INFO, "using the CPU: %s", why);
    rt->device = CINFER_DEVICE_CPU;
    return CINFER_OK;
}

cinfer_status cinfer_runtime_create(const cinfer_runtime_options *opts, cinfer_runtime **out) {
    cinfer__err err = {{0}};
    cinfer_runtime_options o;
    cinfer_runtime_options_init(&o);
    cinfer_status st = CINFER_OK;
    if (!out) {
        st = cinfer__errorf(&err, CINFER_INVALID_ARGUMENT, "cinfer_runtime_create: out is NULL");
        goto fail;
    }
    *out = NULL;
    if (opts) {
        if (opts->struct_size < sizeof o) {
            st = cinfer__errorf(&err, CINFER_INVALID_ARGUMENT,
                                "runtime options: struct_size %u is smaller than %zu (call "
                                "cinfer_runtime_options_init)", opts->struct_size, sizeof o);
            goto fail;
        }
        o = *opts;
    }
    if (o.num_threads < 0) {
        st = cinfer__errorf(&err, CINFER_INVALID_ARGUMENT, "runtime options: num_threads %d < 0",
                            o.num_threads);
        goto fail;
    }
    cinfer_runtime *rt = cinfer__calloc(1, sizeof *rt);
    if (!rt) {
        st = cinfer__errorf(&err, CINFER_OUT_OF_MEMORY, "out of memory creating the runtime");
        goto fail;
    }
    rt->log_fn = o.log_fn;
    rt->log_user = o.log_user;
    rt->log_level = o.log_level;
    rt->device_index = o.device_index;
    rt->num_threads = o.num_threads ? o.num_threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (rt->num_threads < 1) rt->num_threads = 1;
    st = pick_device(rt, o.device, &err);
    if (st == CINFER_OK) st = cinfer__pool_create(rt->num_threads, &rt->pool, &err);
    if (st != CINFER_OK) {
        cinfer_runtime_destroy(rt);
        goto fail;
    }
    *out = rt;
    return CINFER_OK;
fail:
    cinfer__set_last_error(err.msg);
    return st;
}

void cinfer_runtime_destroy(cinfer_runtime *rt) {
    if (!rt) return;
    cinfer__pool_destroy(rt->pool);
    if (rt->cuda_dl) dlclose(rt->cuda_dl);
    cinfer__free(rt);
}

cinfer_device cinfer_runtime_device(const cinfer_runtime *rt) { return rt->device; }
int cinfer_runtime_num_threads(const cinfer_runtime *rt) { return rt->num_threads; }
