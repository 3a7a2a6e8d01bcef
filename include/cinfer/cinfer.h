/* cinfer: load an ONNX model and run it on the CPU or a GPU. The whole public C API. */
#ifndef CINFER_H
#define CINFER_H

#include <stddef.h>
#include <stdint.h>

#include "cinfer/status.h"
#include "cinfer/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CINFER_BUILDING) && defined(__GNUC__)
#define CINFER_API __attribute__((visibility("default")))
#else
#define CINFER_API
#endif

/* ---- Basics ------------------------------------------------------------------------- */

/* Run-time library version, e.g. "0.1.0". Static storage. */
CINFER_API const char *cinfer_version(void);

/* Short name of a status ("INVALID_MODEL") and its generic message. Static storage. */
CINFER_API const char *cinfer_status_name(cinfer_status status);
CINFER_API const char *cinfer_status_message(cinfer_status status);

/* The message of the last failed cinfer call made by the calling thread: it names the model,
 * node, tensor or field at fault. Thread-local storage, valid until this thread's next failing
 * call. Never NULL ("" when nothing failed). */
CINFER_API const char *cinfer_last_error(void);

/* Element types, numbered as ONNX's TensorProto.DataType. */
typedef enum cinfer_dtype {
    CINFER_DTYPE_UNDEFINED = 0,
    CINFER_DTYPE_FLOAT = 1,
    CINFER_DTYPE_UINT8 = 2,
    CINFER_DTYPE_INT8 = 3,
    CINFER_DTYPE_UINT16 = 4,
    CINFER_DTYPE_INT16 = 5,
    CINFER_DTYPE_INT32 = 6,
    CINFER_DTYPE_INT64 = 7,
    CINFER_DTYPE_STRING = 8,
    CINFER_DTYPE_BOOL = 9,
    CINFER_DTYPE_FLOAT16 = 10,
    CINFER_DTYPE_DOUBLE = 11,
    CINFER_DTYPE_UINT32 = 12,
    CINFER_DTYPE_UINT64 = 13,
    CINFER_DTYPE_BFLOAT16 = 16
} cinfer_dtype;

/* "float", "int64", ... ("undefined" for unknown values). Static storage. */
CINFER_API const char *cinfer_dtype_name(cinfer_dtype dtype);
/* Bytes per element; 0 for UNDEFINED and STRING. */
CINFER_API size_t cinfer_dtype_size(cinfer_dtype dtype);

#define CINFER_MAX_RANK 8

/* A dense, row-major tensor. The struct is the caller's; `data` is owned as `flags` says. */
typedef struct cinfer_tensor {
    cinfer_dtype dtype;
    int rank;
    int64_t dims[CINFER_MAX_RANK];
    void *data;
    uint32_t flags; /* CINFER_TENSOR_RUNTIME_OWNED: release with cinfer_tensor_release();
                       CINFER_TENSOR_DEVICE: data is device memory (see "Device memory") */
} cinfer_tensor;

#define CINFER_TENSOR_RUNTIME_OWNED 1u
/* `data` is memory on the runtime's CUDA device (from cinfer_device_alloc, or any
 * cudaMalloc'd pointer of that device), never runtime-owned. See "Device memory" below. */
#define CINFER_TENSOR_DEVICE 2u

/* Number of elements (1 for rank 0). */
CINFER_API int64_t cinfer_tensor_numel(const cinfer_tensor *t);
/* Frees `data` if the runtime allocated it, then clears data and flags. Accepts NULL. */
CINFER_API void cinfer_tensor_release(cinfer_tensor *t);

/* ---- Logging ------------------------------------------------------------------------ */

typedef enum cinfer_log_level {
    CINFER_LOG_ERROR = 0,
    CINFER_LOG_WARN = 1,
    CINFER_LOG_INFO = 2,
    CINFER_LOG_DEBUG = 3
} cinfer_log_level;

/* The library never prints by itself; it hands every log line to this callback. `message` is
 * valid only during the call. May be called from any thread the runtime uses. */
typedef void (*cinfer_log_fn)(cinfer_log_level level, const char *message, void *user);

/* ---- Runtime: device choice and threads --------------------------------------------- */

typedef struct cinfer_runtime cinfer_runtime;

typedef enum cinfer_device {
    CINFER_DEVICE_AUTO = 0, /* a usable GPU if there is one, else the CPU (one log line) */
    CINFER_DEVICE_CPU = 1,
    CINFER_DEVICE_CUDA = 2  /* fails with CINFER_DEVICE when no usable GPU is present */
} cinfer_device;

typedef struct cinfer_runtime_options {
    uint32_t struct_size;       /* sizeof(cinfer_runtime_options), set by _init */
    cinfer_device device;       /* default AUTO */
    int device_index;           /* GPU ordinal, default 0 */
    int num_threads;            /* total CPU threads cinfer uses; 0 = number of cores */
    cinfer_log_fn log_fn;       /* NULL: no logging */
    void *log_user;
    cinfer_log_level log_level; /* highest level delivered; default WARN */
} cinfer_runtime_options;

/* Fills `opts` with the defaults. */
CINFER_API void cinfer_runtime_options_init(cinfer_runtime_options *opts);

/* Creates a runtime. `opts` may be NULL for the defaults. On success *out is the caller's and is
 * released with cinfer_runtime_destroy() after every model created from it. */
CINFER_API cinfer_status cinfer_runtime_create(const cinfer_runtime_options *opts,
                                               cinfer_runtime **out);
/* Accepts NULL. */
CINFER_API void cinfer_runtime_destroy(cinfer_runtime *rt);
/* The device the runtime ended up on (CPU or CUDA, never AUTO). */
CINFER_API cinfer_device cinfer_runtime_device(const cinfer_runtime *rt);
CINFER_API int cinfer_runtime_num_threads(const cinfer_runtime *rt);

/* ---- Models ------------------------------------------------------------------------- */

typedef struct cinfer_model cinfer_model;

/* The arithmetic GPU steps may use (cinfer_model_options.precision; docs/cuda-backend.md,
 * "Precision"). Model inputs and outputs keep their dtypes whatever the precision; the CPU
 * backend always computes in fp32. */
typedef enum cinfer_precision {
    CINFER_PRECISION_FP32 = 0,  /* IEEE fp32 throughout */
    CINFER_PRECISION_TF32 = 1,  /* GEMMs and convolutions on TF32 tensor cores, fp32 elsewhere */
    CINFER_PRECISION_FP16 = 2,  /* activations and GEMM/conv operands in fp16, fp32 accumulate;
                                   LayerNorm, Softmax and reductions compute in fp32 */
    CINFER_PRECISION_BF16 = 3,  /* the same in bfloat16 */
    CINFER_PRECISION_STORED = 4 /* (default) what the model file stores its weights in: FP16 or
                                   BF16 for a model stored in 16-bit floats, FP32 otherwise */
} cinfer_precision;

/* "fp32", "tf32", "fp16", "bf16", "stored"; "unknown" for other values. Static storage. */
CINFER_API const char *cinfer_precision_name(cinfer_precision precision);

typedef struct cinfer_model_options {
    uint32_t struct_size;  /* sizeof(cinfer_model_options), set by _init */
    const char *base_dir;  /* where external data files are looked up; default: the model
                              file's directory (load from memory: none allowed unless set) */
    size_t fold_cap_bytes; /* constant folding never makes a tensor larger; default 1 MiB */
    int fuse;              /* 1 (default): rewrite op patterns into fused ops at load, such as
                              MatMul + bias + GELU or Add + LayerNormalization (docs/fusion.md);
                              0: run the graph op by op, as imported (for comparisons) */
    int cuda_graphs;       /* CUDA runtimes: 1 (default) captures each execution context's
                              GPU work into CUDA graphs at its second run (the first is an
                              eager warm-up) and replays them from then on; 0: one launch per
                              step. The environment variable
                              CINFER_CUDA_GRAPHS=0 (or CINFER_CUDA_SYNC=1) also turns them off.
                              docs/cuda-backend.md, "CUDA graphs" */
    cinfer_precision precision; /* CUDA runtimes: what GPU steps may compute in (default
                              STORED: fp32 for a float model, its own 16-bit type for a model
                              stored in fp16 or bf16). A CPU runtime computes in fp32 and logs
                              one warning for TF32, FP16 or BF16. An unknown value fails the
                              load (INVALID_ARGUMENT). cinfer_model_precision says what a
                              loaded model chose. */
    const char *fp32_ops;  /* NULL, or op types kept in fp32 whatever the precision,
                              comma-separated ("MatMul,Softmax"), matched exactly against the
                              op types that run (after fusion: FusedMatMul is its own type).
                              Read during the load only. */
    int channels_last;     /* CUDA runtimes at FP16/BF16: 1 (default) stores the 4-D
                              activations between convolutions channels last (NHWC), the
                              layout cuDNN's tensor-core kernels run in, converting at the
                              region's edges; 0 keeps them NCHW. docs/cuda-backend.md,
                              "Channels last" */
} cinfer_model_options;

CINFER_API void cinfer_model_options_init(cinfer_model_options *opts);

/* Loads, checks and optimizes an ONNX model. Everything the model needs that cinfer does not
 * support is reported here (CINFER_UNSUPPORTED) with the node, op type and the unsupported
 * part. `opts` may be NULL. On success *out is the caller's, released by cinfer_model_destroy. */
CINFER_API cinfer_status cinfer_model_load(cinfer_runtime *rt, const char *path,
                                           const cinfer_model_options *opts, cinfer_model **out);
/* Same, from a serialized ModelProto in memory; the bytes are not kept after the call. */
CINFER_API cinfer_status cinfer_model_load_memory(cinfer_runtime *rt, const void *data,
                                                  size_t size, const cinfer_model_options *opts,
                                                  cinfer_model **out);
/* The caller makes sure no cinfer_model_run is in progress. Schedulers still attached to the
 * model are shut down first, as cinfer_scheduler_destroy documents (queued requests complete
 * with CINFER_SHUTDOWN, running ones with their result, every callback has returned), and
 * their handles stay valid for cinfer_scheduler_destroy. Must not be called from a completion
 * callback. Accepts NULL. */
CINFER_API void cinfer_model_destroy(cinfer_model *model);

/* The message of the last failure on this model (any thread). When several threads run the
 * same model, prefer cinfer_last_error(). Valid until the next call on the model. */
CINFER_API const char *cinfer_model_last_error(const cinfer_model *model);

/* The precision the load chose for the model's GPU steps: never STORED, always FP32 on a CPU
 * runtime. Ops in fp32_ops, and steps without a reduced-precision path, still compute in fp32
 * (`cinfer inspect` lists each step's). */
CINFER_API cinfer_precision cinfer_model_precision(const cinfer_model *model);

/* Describes a model input or output. All pointers live as long as the model. */
typedef struct cinfer_value_info {
    const char *name;
    cinfer_dtype dtype;
    int rank;                          /* -1: unknown rank */
    const int64_t *dims;               /* rank entries; -1 where the dimension is symbolic */
    const char *const *dim_names;      /* rank entries; the symbol's name, or NULL if fixed */
} cinfer_value_info;

CINFER_API size_t cinfer_model_input_count(const cinfer_model *model);
CINFER_API size_t cinfer_model_output_count(const cinfer_model *model);
CINFER_API cinfer_status cinfer_model_input_info(const cinfer_model *model, size_t index,
                                                 cinfer_value_info *out);
CINFER_API cinfer_status cinfer_model_output_info(const cinfer_model *model, size_t index,
                                                  cinfer_value_info *out);

/* Runs the model once, synchronously. Thread-safe: any number of threads may run one model.
 *
 * inputs: n_inputs tensors named by input_names (NULL: the model's inputs in declared order).
 *   The data is read during the call only.
 * outputs: n_outputs tensors named by output_names (NULL: the first n_outputs outputs in
 *   declared order). For each output tensor:
 *   - data != NULL: the caller's buffer; dtype, rank and dims must equal the output's, and
 *     the result is written there.
 *   - data == NULL: the runtime allocates it, fills dtype/rank/dims and sets
 *     CINFER_TENSOR_RUNTIME_OWNED; the caller releases it with cinfer_tensor_release().
 * On failure no output is left runtime-owned. */
CINFER_API cinfer_status cinfer_model_run(cinfer_model *model, size_t n_inputs,
                                          const char *const *input_names,
                                          const cinfer_tensor *inputs, size_t n_outputs,
                                          const char *const *output_names,
                                          cinfer_tensor *outputs);

/* ---- Device memory: inputs and outputs that stay on the GPU ------------------------- */
/* On a CUDA runtime, cinfer_model_run accepts inputs and caller-provided outputs whose `data`
 * is device memory, marked with CINFER_TENSOR_DEVICE: inputs are copied device-to-device into
 * the run's buffers, outputs device-to-device out of them, and nothing crosses the PCIe bus.
 * Restrictions (each an error naming the tensor): the runtime must run on CUDA; an output
 * with the flag must have data != NULL (the runtime allocates only host outputs); an input
 * whose values decide shapes (e.g. a Reshape target) or that a CPU-placed step reads must be
 * host memory. The scheduler (cinfer_scheduler_submit) takes host tensors only. */

/* Allocates `bytes` (> 0) of memory on the runtime's CUDA device. On success *ptr is the
 * caller's, freed with cinfer_device_free before the runtime is destroyed. CINFER_DEVICE on a
 * CPU runtime, CINFER_OUT_OF_MEMORY when the device is full. */
CINFER_API cinfer_status cinfer_device_alloc(cinfer_runtime *rt, size_t bytes, void **ptr);
/* Frees memory from cinfer_device_alloc; no run may still be using it. Accepts NULL. */
CINFER_API void cinfer_device_free(cinfer_runtime *rt, void *ptr);
/* Copies `bytes` from host memory `src` to device memory `dst`, and back. Both return once the
 * copy is complete (the source may be reused, the destination read). Thread-safe. */
CINFER_API cinfer_status cinfer_device_copy_to_device(cinfer_runtime *rt, void *dst,
                                                      const void *src, size_t bytes);
CINFER_API cinfer_status cinfer_device_copy_to_host(cinfer_runtime *rt, void *dst,
                                                    const void *src, size_t bytes);

/* ---- Scheduling: asynchronous requests and dynamic batching -------------------------- */
/* A scheduler queues requests for one model, batches them along the first dimension of every
 * input and output (the batch dimension: symbolic in the model) and runs the batches on
 * execution instances; results arrive through a callback on the scheduler's completion thread.
 * Option names follow Triton's dynamic_batching and instance_group. See docs/scheduler.md. */

typedef struct cinfer_scheduler cinfer_scheduler;
typedef struct cinfer_request cinfer_request;

#define CINFER_MAX_PREFERRED_BATCH_SIZES 16

typedef struct cinfer_batching_options {
    uint32_t struct_size;        /* sizeof(cinfer_batching_options), set by _init */
    int max_batch_size;          /* rows per execution, at most 65536 (default 8). 0: the model
                                    does not batch; every request runs alone with its shapes */
    uint64_t max_queue_delay_us; /* how long a batch may wait to grow; default 0 = never wait */
    int preferred_batch_sizes[CINFER_MAX_PREFERRED_BATCH_SIZES]; /* dispatched at once */
    int n_preferred_batch_sizes; /* default 0 */
    uint64_t max_queue_size;     /* queued requests; a submit past it fails at once with
                                    CINFER_QUEUE_FULL. 0 (default) = unbounded */
    uint64_t default_timeout_us; /* queue timeout of requests that set none; 0 = none */
    int instances;               /* execution instances; 0 = default (1 on the CPU) */
    int priority_levels;         /* >= 1 (default 2); level 1 is the highest */
    int default_priority_level;  /* level of requests with priority 0; default the lowest */
    int preserve_ordering;       /* nonzero: results are delivered in dispatch order */
} cinfer_batching_options;

/* Fills `opts` with the defaults. */
CINFER_API void cinfer_batching_options_init(cinfer_batching_options *opts);

/* Creates a scheduler for `model`: checks that every input and output has the batch as its
 * first dimension (unless max_batch_size is 0), plans the batch buckets 1, 2, 4, ..., max
 * (plus the preferred sizes), warms them, allocates every instance's staging buffers and
 * starts the batcher, instance and completion threads. `opts` may be NULL for the defaults.
 * The scheduler is attached to the model: destroying the model first shuts the scheduler down
 * (cinfer_model_destroy). On success *out is the caller's, released with
 * cinfer_scheduler_destroy whether or not the model still exists. Errors: INVALID_ARGUMENT
 * (options), UNSUPPORTED (a model the batcher cannot batch, named input/output),
 * OUT_OF_MEMORY, INTERNAL (threads). */
CINFER_API cinfer_status cinfer_scheduler_create(cinfer_model *model,
                                                 const cinfer_batching_options *opts,
                                                 cinfer_scheduler **out);

/* Stops accepting requests, completes every queued request with CINFER_SHUTDOWN, lets running
 * batches finish (their requests complete with their result), delivers every completion and
 * joins the threads: no callback runs after it returns. Request handles the caller still
 * holds stay valid until released. After cinfer_model_destroy of its model (which did all
 * this already) it only frees the handle; until then submit fails with CINFER_SHUTDOWN and the
 * statistics stay readable. It must not run at the same time as cinfer_model_destroy of its
 * model, nor be called from a completion callback. Accepts NULL. */
CINFER_API void cinfer_scheduler_destroy(cinfer_scheduler *sched);

/* Called once per request on the scheduler's completion thread, never with a scheduler lock
 * held. `message` is "" on success, else names the model and the cause; valid during the call.
 * On success `outputs` holds the n_outputs requested outputs (runtime-owned, dims[0] = the
 * request's rows); the callback may keep one by copying the struct and setting that entry's
 * data to NULL, after which it releases it with cinfer_tensor_release(). Other outputs live
 * until cinfer_request_release(). On failure n_outputs is 0. The callback may submit new
 * requests; it must not wait on another request or destroy the scheduler. */
typedef void (*cinfer_request_fn)(cinfer_request *req, cinfer_status status, const char *message,
                                  size_t n_outputs, cinfer_tensor *outputs, void *user);

typedef struct cinfer_request_options {
    uint32_t struct_size;            /* sizeof(cinfer_request_options), set by _init */
    int priority;                    /* 1 = highest ... priority_levels; 0 = default level */
    uint64_t timeout_us;             /* queue timeout: a request still queued after it completes
                                        with CINFER_TIMEOUT and never runs. 0 = the scheduler's
                                        default_timeout_us */
    size_t n_outputs;                /* outputs wanted; 0 = all, in declared order */
    const char *const *output_names; /* n_outputs names; NULL = the first n_outputs outputs */
    int copy_inputs;                 /* nonzero: inputs are copied by submit; 0 (default): the
                                        input data is borrowed and must stay valid and unchanged
                                        until the request completes */
    cinfer_request_fn callback;      /* may be NULL */
    void *user;                      /* passed to callback */
} cinfer_request_options;

CINFER_API void cinfer_request_options_init(cinfer_request_options *opts);

/* Queues one request. inputs: n_inputs tensors named by input_names (NULL: every model input
 * in declared order), all with the same first dimension (the request's rows, 1 ..
 * max_batch_size); the other dimensions must match the model. Thread-safe. Fails at once,
 * with no callback, with INVALID_ARGUMENT / INVALID_INPUT (bad request, message names the
 * input), QUEUE_FULL (names the model and the limit), SHUTDOWN (the scheduler is being
 * destroyed, or its model was) or OUT_OF_MEMORY. On success the request completes exactly
 * once (callback, then waiters wake). out may be NULL: the request is then released by the
 * runtime after its callback; otherwise *out is the caller's reference, dropped with
 * cinfer_request_release(). */
CINFER_API cinfer_status cinfer_scheduler_submit(cinfer_scheduler *sched, size_t n_inputs,
                                                 const char *const *input_names,
                                                 const cinfer_tensor *inputs,
                                                 const cinfer_request_options *opts,
                                                 cinfer_request **out);

/* Blocks until the request has completed (its callback has returned) and returns its status.
 * Must not be called from a completion callback. */
CINFER_API cinfer_status cinfer_request_wait(cinfer_request *req);

/* Cancels a request. Queued: it completes with CINFER_CANCELLED and never runs. Running: its
 * result is dropped and it completes with CINFER_CANCELLED. Both return CINFER_OK;
 * CINFER_NOT_FOUND when it has already finished (it completes with its result). */
CINFER_API cinfer_status cinfer_request_cancel(cinfer_request *req);

/* After completion (cinfer_request_wait returned): the status message ("" on success) and the
 * outputs as the callback left them. Both are owned by the request and live until
 * cinfer_request_release(). Before completion: "" and CINFER_NOT_FOUND; after a failure, no
 * outputs and the request's status. */
CINFER_API const char *cinfer_request_message(const cinfer_request *req);
CINFER_API cinfer_status cinfer_request_outputs(cinfer_request *req, size_t *n_outputs,
                                                cinfer_tensor **outputs);

/* Drops the caller's reference; outputs not moved out are freed once the request has
 * completed. A request released before it completes still completes (callback included).
 * Accepts NULL. */
CINFER_API void cinfer_request_release(cinfer_request *req);

/* Per-scheduler statistics, cumulative since creation (Triton's inference statistics). The
 * time sums are over successful requests: each request adds its own queue time and the input
 * copy, compute and output copy times of the batch it ran in. */
typedef struct cinfer_scheduler_stats {
    uint32_t struct_size;      /* set by the caller: sizeof(cinfer_scheduler_stats) */
    uint64_t request_count;    /* requests accepted by submit */
    uint64_t success_count;    /* completed with CINFER_OK */
    uint64_t fail_count;       /* completed with an error (including the three below) */
    uint64_t timeout_count, cancel_count, shutdown_count;
    uint64_t reject_count;     /* submits refused with CINFER_QUEUE_FULL */
    uint64_t inference_count;  /* rows of successfully executed batches */
    uint64_t execution_count;  /* batches run */
    uint64_t padded_rows;      /* rows added to reach a planned batch bucket */
    uint64_t pending_count;    /* requests queued now */
    uint64_t queue_ns, compute_input_ns, compute_infer_ns, compute_output_ns;
} cinfer_scheduler_stats;

CINFER_API cinfer_status cinfer_scheduler_get_stats(cinfer_scheduler *sched,
                                                    cinfer_scheduler_stats *out);

/* The batch-size histogram: counts[b] = executions that ran b rows (before padding), for b <
 * len. Returns the length that holds every batch size (max_batch_size + 1). counts may be
 * NULL. */
CINFER_API size_t cinfer_scheduler_batch_histogram(cinfer_scheduler *sched, uint64_t *counts,
                                                   size_t len);

#ifdef __cplusplus
}
#endif
#endif
