/* A "dry" CUDA backend module for placement tests on machines without a GPU: the plan-time
 * questions (supports, runs_in, half_io, layout_io) go to the real libcinfer-cuda.so, named by
 * CINFER_DRY_REAL_MODULE, which answers them on the host alone; everything that would need a
 * device (contexts, memory, copies) is the host-memory stand-in's (mock_module.c), and prepare
 * accepts every step the real module supports without choosing algorithms. So
 * `cinfer inspect --device cuda` shows the real module's placement, precisions and channels-last
 * choice for any model; `run` fails (a dry step cannot run). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>

/* The stand-in's table under another name: this file exports the entry point. */
#define cinfer_cuda_module_api cinfer_cuda_mock_table
#include "mock_module.c"
#undef cinfer_cuda_module_api

static const cinfer_cuda_api *real;
static cinfer_cuda_api dry;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static cinfer_status dry_prepare(cinfer_cuda_mctx *c, const cinfer_cuda_node *n, void **state,
                                 char *why) {
    (void)c;
    *state = NULL;
    cinfer_status rc = real->supports(n, why);
    if (rc != CINFER_OK) return rc;
    *state = malloc(1);
    if (!*state) {
        snprintf(why, CINFER_CUDA_MSG_LEN, "dry module: out of memory");
        return CINFER_OUT_OF_MEMORY;
    }
    return CINFER_OK;
}

static void dry_release(void *state) { free(state); }

static cinfer_status dry_run(cinfer_cuda_mctx *c, void *state, const void *const *in,
                             void *const *out, char *why) {
    (void)c, (void)state, (void)in, (void)out;
    snprintf(why, CINFER_CUDA_MSG_LEN, "dry module: steps are planned, never run");
    return CINFER_UNSUPPORTED;
}

static void load(void) {
    const char *path = getenv("CINFER_DRY_REAL_MODULE");
    void *h = path ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
    cinfer_cuda_api_fn fn = h ? (cinfer_cuda_api_fn)dlsym(h, CINFER_CUDA_API_SYMBOL) : NULL;
    real = fn ? fn() : NULL;
    if (!real || real->abi != CINFER_CUDA_MODULE_ABI) {
        fprintf(stderr, "dry module: CINFER_DRY_REAL_MODULE (%s) is not a libcinfer-cuda.so of "
                "module ABI %d: %s\n", path ? path : "unset", CINFER_CUDA_MODULE_ABI,
                h ? "no matching table" : dlerror());
        real = NULL;
        return;
    }
    dry = *cinfer_cuda_mock_table();
    dry.supports = real->supports;
    dry.runs_in = real->runs_in;
    dry.half_io = real->half_io;
    dry.layout_io = real->layout_io;
    dry.prepare = dry_prepare;
    dry.release = dry_release;
    dry.run = dry_run;
}

__attribute__((visibility("default"))) const cinfer_cuda_api *cinfer_cuda_module_api(void) {
    pthread_once(&once, load);
    return real ? &dry : NULL;
}
