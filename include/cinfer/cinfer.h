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
    uint32_t flags; /* CINFER_TENSOR_RUNTIME_OWNED: release with cinfer_tensor_release() */
} cinfer_tensor;

#define CINFER_TENSOR_RUNTIME_OWNED 1u

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

typedef struct cinfer_model_options {
    uint32_t struct_size;  /* sizeof(cinfer_model_options), set by _init */
    const char *base_dir;  /* where external data files are looked up; default: the model
                              file's directory (load from memory: none allowed unless set) */
    size_t fold_cap_bytes; /* constant folding never makes a tensor larger; default 1 MiB */
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
/* Waits for no one: the caller makes sure no run is in progress. Accepts NULL. */
CINFER_API void cinfer_model_destroy(cinfer_model *model);

/* The message of the last failure on this model (any thread). When several threads run the
 * same model, prefer cinfer_last_error(). Valid until the next call on the model. */
CINFER_API const char *cinfer_model_last_error(const cinfer_model *model);

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

#ifdef __cplusplus
}
#endif
#endif
