/* The one table libcinfer looks up (dlsym) in the CUDA backend module. Plain C types only: the
 * core never sees a CUDA type, and the module never calls a function of libcinfer (it reads
 * the graph's node and attribute structs, nothing more). */
#ifndef CINFER_CUDA_MODULE_H
#define CINFER_CUDA_MODULE_H

#include <stddef.h>

#include "cinfer/cinfer.h"
#include "ir/graph.h"

/* Version of this table; the core refuses a module with another one. */
#define CINFER_CUDA_MODULE_ABI 6

/* The exported function that returns the table (a `const cinfer_cuda_api *(void)`). */
#define CINFER_CUDA_API_SYMBOL "cinfer_cuda_module_api"

/* Every fallible entry writes a message of up to this many bytes (NUL included) into `why`:
 * the failing statement, the device and the library's description, or the reason an op is
 * not supported. */
#define CINFER_CUDA_MSG_LEN 512

/* Opaque handles: a device object (one GPU plus one model's weights block) and an execution
 * context (streams, events, library handles, workspaces, the device arena, pinned staging). */
typedef struct cinfer_cuda_mdev cinfer_cuda_mdev;
typedef struct cinfer_cuda_mctx cinfer_cuda_mctx;

/* One copy of a batch. For h2d, `src` is host memory (pinned or pageable) and `dst` device
 * memory; for d2h the reverse. */
typedef struct cinfer_cuda_copy {
    void *dst;
    const void *src;
    size_t bytes;
} cinfer_cuda_copy;

/* A node as the planner shows it to the module: shapes and dtypes fixed; `in[i]->data` is
 * host memory for inputs known at plan time (weights, folded constants) and NULL otherwise;
 * omitted optional inputs/outputs are NULL. `precision` (ABI 4) is what the step may compute
 * in: the model's precision option, or FP32 for op types in its fp32_ops list. */
typedef struct cinfer_cuda_node {
    const cinfer__node *node;
    int n_in, n_out;
    const cinfer_tensor *const *in;
    const cinfer_tensor *const *out;
    cinfer_precision precision;
    /* ABI 5: per input, its device copy in the model's weights block when it is a model
     * initializer (the same pointer for every plan and context of the model, valid until
     * device_close), else NULL. A module may key per-model work on weights (converted
     * copies) by it; plan-folded constants have none, as their host copies come and go with
     * plans. */
    const void *const *weight;
    /* ABI 6: per input and output, how the value is stored on the device: CINFER_CUDA_NCHW
     * (row-major in the tensor's own dims, always so for all but 4-D 16-bit activations) or
     * CINFER_CUDA_NHWC (a 4-D [N, C, H, W] value stored channels last). NULL (plan time,
     * before layouts are chosen) means all NCHW. docs/cuda-backend.md, "Channels last". */
    const unsigned char *layout_in, *layout_out;
} cinfer_cuda_node;

/* ABI 6: storage layouts of cinfer_cuda_node.layout_in / layout_out. A 4-D value whose C or
 * H*W is 1 has the same bytes either way. */
enum { CINFER_CUDA_NCHW = 0, CINFER_CUDA_NHWC = 1 };

/* ABI 6: what a step can do with channels-last storage (cinfer_cuda_api.layout_io). */
enum {
    CINFER_CUDA_LAYOUT_FIXED = 0,  /* NCHW only: its values stay NCHW */
    CINFER_CUDA_LAYOUT_EITHER = 1, /* runs on either, provided all its 4-D activations (those
                                      with C > 1 and H*W > 1) are stored alike */
    CINFER_CUDA_LAYOUT_NHWC = 2,   /* runs channels last when a slot is stored NHWC,
                                      converting its slots stored NCHW (a convolution cuDNN
                                      refuses in NHWC runs NCHW instead, converting the
                                      others) */
};

/* ABI 5: when a context's last run did each phase, in microseconds since the device object
 * was opened (one clock for all its contexts, from CUDA events); -1 for a phase the run did
 * not have. h2d: first host-to-device copy begins .. last one ends; compute: first launch on
 * the compute stream begins .. the end of the run's compute; d2h likewise. */
typedef struct cinfer_cuda_times {
    double h2d_begin, h2d_end, compute_begin, compute_end, d2h_begin, d2h_end;
} cinfer_cuda_times;

typedef struct cinfer_cuda_api {
    int abi;            /* CINFER_CUDA_MODULE_ABI */
    size_t struct_size; /* sizeof(cinfer_cuda_api) as the module was built */

    /* Checks that device `index` exists and is usable (compute capability 8.0 or newer).
     * Returns 1 if so; otherwise 0 with the reason in `why`. `name` gets the device's name
     * either way (may be empty). Safe on machines without a GPU or a driver. */
    int (*probe)(int index, char *name, size_t name_len, char *why, size_t why_len);

    /* Opens device `index` for one model and reserves `weights_bytes` of device memory in
     * one allocation (may be 0). *dev is the caller's, closed with device_close. */
    cinfer_status (*device_open)(int index, size_t weights_bytes, cinfer_cuda_mdev **dev,
                                 char *why);
    /* Frees the weights block. Accepts NULL. No context may still use the weights. */
    void (*device_close)(cinfer_cuda_mdev *dev);
    /* Copies `bytes` of host memory into the weights block (synchronously: load time only)
     * and sets *dptr to the device copy, valid until device_close. */
    cinfer_status (*weights_upload)(cinfer_cuda_mdev *dev, const void *host, size_t bytes,
                                    void **dptr, char *why);

    /* Creates an execution context on dev's device: streams, events, cuBLASLt/cuDNN handles
     * and workspaces, a device arena of `arena_bytes` (*arena, device memory) and
     * `staging_bytes` of pinned host memory (*staging, NULL when 0). All allocation happens
     * here. *ctx is the caller's, destroyed with ctx_destroy. */
    cinfer_status (*ctx_create)(cinfer_cuda_mdev *dev, size_t arena_bytes, size_t staging_bytes,
                                cinfer_cuda_mctx **ctx, void **arena, void **staging,
                                char *why);
    /* Waits for the context's streams and frees everything it owns. Accepts NULL. */
    void (*ctx_destroy)(cinfer_cuda_mctx *ctx);
    /* Makes the context's device current on the calling thread (call before each run). */
    cinfer_status (*ctx_bind)(cinfer_cuda_mctx *ctx, char *why);

    /* Host to device: the copy stream first waits for everything already launched on the
     * compute stream (the destinations may be bytes that work reads), copies, and the compute
     * stream then waits for the copies. Returns without waiting on the host. */
    cinfer_status (*h2d)(cinfer_cuda_mctx *ctx, const cinfer_cuda_copy *copies, int n, char *why);
    /* Device to host: the copy stream waits for the compute stream, copies, and the call
     * returns once the copies (and every earlier host-to-device copy) are complete, so the
     * host may read the destinations and reuse any source of an earlier h2d. With n == 0 it
     * only waits for the earlier host-to-device copies. */
    cinfer_status (*d2h)(cinfer_cuda_mctx *ctx, const cinfer_cuda_copy *copies, int n, char *why);
    /* Waits on the host for the context's three streams (the end of a run). */
    cinfer_status (*sync)(cinfer_cuda_mctx *ctx, char *why);

    /* Plan time: can the GPU run this node? CINFER_OK, or CINFER_UNSUPPORTED with the reason
     * in `why` (then the planner puts the node on the CPU). No device work. */
    cinfer_status (*supports)(const cinfer_cuda_node *n, char *why);
    /* Plan time, once per step and context: chooses algorithms (cuBLASLt, cuDNN) for these
     * shapes and keeps what run needs in *state (released with release). UNSUPPORTED means
     * the node must run on the CPU after all. */
    cinfer_status (*prepare)(cinfer_cuda_mctx *ctx, const cinfer_cuda_node *n, void **state,
                             char *why);
    void (*release)(void *state);
    /* Launches the node on the context's compute stream. in/out: device pointers (NULL for
     * omitted ones), same order as the node's. Never allocates, never synchronizes. */
    cinfer_status (*run)(cinfer_cuda_mctx *ctx, void *state, const void *const *in,
                         void *const *out, char *why);

    /* Tests only: the module's next device or pinned allocation fails (out of memory). */
    void (*test_fail_next_alloc)(void);

    /* ---- ABI 3: CUDA graphs (docs/cuda-backend.md, "CUDA graphs") ---- */
    /* Starts capturing the context's compute stream (thread-local mode: a capture-unsafe call
     * made by this thread fails instead of running). Until graph_end, `run` records its
     * launches instead of executing them. */
    cinfer_status (*graph_begin)(cinfer_cuda_mctx *ctx, char *why);
    /* Ends the capture and instantiates it: *graph is an executable graph owned by the caller
     * (graph_release), NULL on failure. Always ends the capture, also after a failed `run`
     * inside it, and clears any error the failed capture left pending. */
    cinfer_status (*graph_end)(cinfer_cuda_mctx *ctx, void **graph, char *why);
    /* Launches a graph captured on this context on its compute stream (asynchronously). */
    cinfer_status (*graph_launch)(cinfer_cuda_mctx *ctx, void *graph, char *why);
    /* Frees a graph; nothing may be running it. Accepts NULL. */
    void (*graph_release)(void *graph);
    /* Tests only: the next graph_end fails as if the capture had been invalidated. */
    void (*test_fail_next_capture)(void);

    /* ---- ABI 3: device memory of the caller (cinfer_device_alloc & co.) ---- */
    /* Allocates `bytes` (> 0) of memory on device `index`; *ptr is freed with mem_free. */
    cinfer_status (*mem_alloc)(int index, size_t bytes, void **ptr, char *why);
    /* Frees what mem_alloc returned. Accepts NULL. */
    void (*mem_free)(int index, void *ptr);
    /* Synchronous copy on device `index`: to_device nonzero copies host `src` to device
     * `dst`, else device `src` to host `dst`. Returns once the copy is complete. */
    cinfer_status (*mem_copy)(int index, void *dst, const void *src, size_t bytes, int to_device,
                              char *why);
    /* Device to device, on the context's compute stream, ordered after everything launched on
     * it so far and before everything launched later. Returns without waiting on the host. */
    cinfer_status (*d2d)(cinfer_cuda_mctx *ctx, const cinfer_cuda_copy *copies, int n,
                         char *why);

    /* ---- ABI 4: reduced precision (docs/cuda-backend.md, "Precision") ---- */
    /* Plan time, for a node `supports` accepted: the precision its step actually computes in
     * given n->precision (FP32 for ops that have no reduced-precision path yet). */
    cinfer_precision (*runs_in)(const cinfer_cuda_node *n);

    /* ---- ABI 5: arenas that grow, pinned staging, timelines ---- */
    /* Replaces the context's device arena and pinned host arena with ones of at least these
     * sizes (the old ones are freed after the context's streams are idle; their contents are
     * lost). Contexts may be created with 0 and 0 and sized here once the largest plan they
     * run is known. On failure *arena and *staging are NULL and the context has none. */
    cinfer_status (*ctx_arena)(cinfer_cuda_mctx *ctx, size_t arena_bytes, size_t staging_bytes,
                               void **arena, void **staging, char *why);
    /* Pinned (page-locked) host memory on device `index`'s behalf, for staging buffers that
     * copy streams read and write asynchronously; freed with host_free (accepts NULL). */
    cinfer_status (*host_alloc)(int index, size_t bytes, void **ptr, char *why);
    void (*host_free)(void *ptr);
    /* Timeline of the context's last completed run (after sync), from events recorded when
     * timing is on (ctx_timing; off by default: it adds an event per phase). */
    cinfer_status (*ctx_timing)(cinfer_cuda_mctx *ctx, int on, char *why);
    cinfer_status (*ctx_times)(cinfer_cuda_mctx *ctx, cinfer_cuda_times *t, char *why);
    /* Plan time: nonzero when the node's step, at its precision (FP16 or BF16), takes and
     * produces its float activations in that 16-bit type. The core may then store a value
     * in 16 bits when its producer and every consumer are such steps (docs/cuda-backend.md,
     * "Half activations"): the node's tensors then say FLOAT16 / BFLOAT16 for those slots.
     * The module converts where a half step's slot is stored as float. */
    int (*half_io)(const cinfer_cuda_node *n);

    /* ---- ABI 6: channels-last activations ---- */
    /* Plan time, for a node whose step takes 16-bit activations (half_io): how it can take 4-D
     * activations (CINFER_CUDA_LAYOUT_*). The core stores a 4-D 16-bit activation NHWC when
     * no view reads it, every step that touches it is EITHER or NHWC, and the values EITHER
     * steps tie it to qualify too and together touch an NHWC step (docs/cuda-backend.md,
     * "Channels last"); a step's `layout_in/out` then say so. */
    int (*layout_io)(const cinfer_cuda_node *n);
} cinfer_cuda_api;

typedef const cinfer_cuda_api *(*cinfer_cuda_api_fn)(void);

#endif
