/* Internal layout of the runtime, model and plan objects behind the public handles. */
#ifndef CINFER_RUNTIME_RUNTIME_H
#define CINFER_RUNTIME_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cinfer/cinfer.h"
#include "core/threadpool.h"
#include "cpu/cpu.h"
#include "cuda/module.h"
#include "ir/graph.h"
#include "ir/passes.h"

struct cinfer_runtime {
    cinfer_device device;
    int device_index;
    int num_threads;
    cinfer__pool *pool;
    cinfer_log_fn log_fn;
    void *log_user;
    cinfer_log_level log_level;
    void *cuda_dl;               /* CUDA: the module's dlopen handle, closed with the runtime */
    const cinfer_cuda_api *cuda; /* CUDA: the module's table; NULL on the CPU */
};

void cinfer__log(const cinfer_runtime *rt, cinfer_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Where a value of a plan lives at run time. */
typedef enum plan_storage {
    CINFER__STORE_NONE = 0, /* not used by this plan */
    CINFER__STORE_CONST,    /* t.data points at a graph constant or a plan-folded tensor */
    CINFER__STORE_INPUT,    /* the caller's input buffer, bound per run */
    CINFER__STORE_ARENA     /* offset into the context's arena */
} plan_storage;

typedef struct cinfer__plan_value {
    cinfer_tensor t;        /* dtype and shape; data for CONST */
    plan_storage store;
    size_t offset, bytes;   /* ARENA: placement and size */
    int first, last;        /* step that writes it and the last step that reads it */
    int input_index;        /* INPUT: which model input */
    int alias_of;           /* -1, or the value whose bytes this one views (Reshape & co.) */
    bool folded;            /* t.data owned by the plan */
} cinfer__plan_value;

typedef struct cinfer__plan_step {
    const cinfer__node *node;
    const cinfer__cpu_kernel *kernel;
    size_t scratch_bytes;
    void *state; /* from the kernel's prepare(), released with the plan */
    /* CUDA plans (docs/cuda-backend.md, "Placement"): */
    bool gpu;               /* runs on the GPU; otherwise on the CPU with host copies */
    cinfer_precision precision; /* asked of the module: the model's, or FP32 (fp32_ops) */
    cinfer_precision runs_in;   /* GPU steps: what the module computes it in (inspect) */
    char *cpu_reason;       /* owned: why a step of a CUDA plan stays on the CPU */
    bool half_io;           /* GPU step that takes its float activations in 16 bits */
    int layout_io;          /* half_io steps: CINFER_CUDA_LAYOUT_* (module's layout_io) */
    int xfer_first, n_xfer; /* p->xfers before this step: H2D for a GPU step, D2H for a CPU one */
    _Atomic uint64_t prof_ns, prof_calls; /* CINFER_PROFILE=1: time spent in this step */
} cinfer__plan_step;

struct cinfer__context;

/* A CUDA execution context (src/runtime/gpu_ctx.c): the module's context (streams, events,
 * library handles, workspaces) with one device arena and one pinned host arena, both sized for
 * the largest plan it has run, and the bindings of every plan that ran on it. The model keeps
 * a pool of them; a run holds one alone, a scheduler instance holds one for its life. */
typedef struct cinfer__gpu_ctx {
    const cinfer_cuda_api *api;
    cinfer_cuda_mctx *gpu;
    unsigned char *darena, *host;   /* device arena, pinned host arena (NULL when 0 bytes) */
    size_t dev_cap, host_cap;
    uint64_t gen;                   /* bumped when the arenas are replaced */
    pthread_mutex_t *mu;            /* the model's gpu_mu: guards `bound` and the pool */
    struct cinfer__context *bound;  /* plan bindings, linked by next_bound */
    struct cinfer__gpu_ctx *next_free, *next_all;
} cinfer__gpu_ctx;

/* One execution context of a plan: the arena and per-run tensor views. Used by one run at a
 * time. On the CPU, plans keep a free list so concurrent runs each get their own; on CUDA it
 * is the plan's binding to one cinfer__gpu_ctx. */
typedef struct cinfer__context {
    unsigned char *arena;
    unsigned char *scratch;
    cinfer_tensor *views; /* one per graph value, data resolved for this arena */
    /* CUDA plans: the execution context it is bound to (owner, whose module context is gpu
     * and whose pinned host arena is `arena`), per-value device pointers into the owner's
     * arena and each GPU step's prepared state. gen: the owner's arena generation these
     * pointers were made for. */
    cinfer__gpu_ctx *owner;
    const struct cinfer__plan *plan;
    uint64_t gen;
    /* The plan's folded constants that GPU steps read, uploaded once when the binding is made:
     * its own device block, since the context's arena is shared with its other plans. */
    unsigned char *dconst;
    int dconst_device;
    struct cinfer__context *next_bound;
    cinfer_cuda_mctx *gpu;
    void **dptr;
    void **gpu_state;
    /* CUDA graphs (exec_cuda.c): per step, the executable graph of the segment that starts
     * there (NULL until captured, at the second run: warmed says the first has completed);
     * graphs_off: this context launches step by step. */
    void **graphs;
    bool graphs_off, warmed;
    struct cinfer__context *next_free;
} cinfer__context;

typedef struct cinfer__plan {
    unsigned char *key;
    size_t key_len;
    int n_values;
    cinfer__plan_value *vals;
    cinfer__plan_step *steps;
    int n_steps;
    size_t arena_bytes, scratch_bytes, naive_bytes, peak_live_bytes, folded_bytes;
    double flops;
    bool guard;             /* guard bytes after every arena tensor (tests) */
    bool has_input_views;   /* some view's root is a caller input: rebind views per run */
    pthread_mutex_t mu;     /* guards free/all context lists */
    cinfer__context *free_ctx;
    cinfer__context **all_ctx;
    int n_ctx, cap_ctx;
    struct cinfer__plan *next;
    /* CUDA plans: where each value lives after the last step (CINFER__ON_*), the copies
     * between steps, and the device bytes past the arena for inputs and folded constants. */
    const cinfer_cuda_api *cuda; /* non-NULL for a CUDA plan */
    unsigned char *loc;
    /* Per value: the 16-bit type its device bytes hold (docs/cuda-backend.md, "Half
     * activations": produced and read only by half_io GPU steps), or 0 for its own dtype.
     * Set on roots; views read their root's. */
    cinfer_dtype *dev_half;
    /* Per value: CINFER_CUDA_NHWC when its device bytes are channels last (docs/cuda-
     * backend.md, "Channels last": a 4-D 16-bit activation between NHWC-capable steps), else
     * CINFER_CUDA_NCHW. Set on roots; a value stored NHWC has no views. */
    unsigned char *dev_layout;
    int64_t *dev_off;       /* per value: offset of its device copy past the arena, or -1 */
    struct cinfer__xfer *xfers;
    int n_xfers, n_gpu_steps;
    size_t dev_bytes;       /* the device arena: arena_bytes plus the inputs GPU steps read */
    size_t const_bytes;     /* each binding's own block of the folded constants GPU steps read
                               (dev_off gives their offsets in it) */
} cinfer__plan;

/* One copy between steps of a CUDA plan: a root value to the device or to the host. */
typedef struct cinfer__xfer {
    int value;
    bool to_device;
} cinfer__xfer;

enum { CINFER__ON_HOST = 1, CINFER__ON_DEVICE = 2 };

struct cinfer_model {
    cinfer_runtime *rt;
    char *path;
    cinfer__graph *g;
    size_t fold_cap;
    cinfer_value_info *in_info, *out_info;
    bool *input_value_needed; /* per model input: its contents decide shapes */
    bool *value_needed;       /* per graph value: needed at plan time */
    int n_nodes_imported, n_folded_conv_bn, n_folded_load;
    int n_folded_static; /* values load-time shape inference made constant */
    bool stored_half;    /* the file had 16-bit floats: computed in float (float_compute.c) */
    cinfer_dtype stored_float; /* FLOAT16 or BFLOAT16 for a model stored in that type (most
                                  of its weights), else UNDEFINED; picks PRECISION_STORED's */
    bool fuse;                /* run the fusion passes at load (cinfer_model_options.fuse) */
    bool cuda_graphs;         /* CUDA: replay captured graphs (cinfer_model_options.cuda_graphs,
                                 off under CINFER_CUDA_GRAPHS=0 or CINFER_CUDA_SYNC=1) */
    cinfer__fusions fusions;  /* what they rewrote */
    cinfer_precision precision; /* CUDA: what GPU steps may compute in (model options) */
    bool channels_last;       /* CUDA: 4-D 16-bit activations may be stored NHWC (options) */
    char **fp32_ops;          /* owned: op types kept in fp32 whatever the precision */
    int n_fp32_ops;
    pthread_mutex_t mu;       /* guards plans, last_error and scheds */
    cinfer_scheduler *scheds; /* attached schedulers (src/sched), shut down by destroy */
    cinfer__plan *plans;
    int n_plans;
    bool plans_full_warned;
    bool guard;
    bool profile;             /* CINFER_PROFILE=1: time every step */
    cinfer_cuda_mdev *cuda_dev; /* CUDA: the device object holding the weights block */
    void **dev_const;         /* CUDA: per graph value, its constant's device copy or NULL */
    pthread_mutex_t gpu_mu;   /* CUDA: the execution context pool and their bindings */
    cinfer__gpu_ctx *gpu_free, *gpu_all;
    int n_gpu_ctx;            /* execution contexts made (tests, inspect) */
    _Atomic uint64_t gpu_arena_grows; /* times one had to replace its arenas by larger ones */
    char last_error[CINFER__ERR_LEN];
};

/* The precision a node is asked to run in: the model's, or FP32 for an op type in fp32_ops
 * (and always FP32 on a CPU runtime). */
cinfer_precision cinfer__node_precision(const cinfer_model *m, const cinfer__node *n);

/* Shuts down every scheduler still attached to m (src/sched/scheduler.c): queued requests
 * complete with CINFER_SHUTDOWN, running ones finish, every callback is delivered. */
void cinfer__sched_detach_all(cinfer_model *m);

/* Plans a model keeps at most; past this (inputs whose contents decide shapes vary without
 * end), new signatures get a transient plan that the caller destroys after use. */
#define CINFER__MAX_PLANS 64

/* Finds or builds the plan for these inputs (in model input order). *transient: the plan is
 * not cached and the caller destroys it with cinfer__plan_destroy after use. */
cinfer_status cinfer__plan_get(cinfer_model *m, const cinfer_tensor *inputs, cinfer__plan **out,
                               bool *transient, cinfer__err *err);
cinfer_status cinfer__plan_build(cinfer_model *m, const cinfer_tensor *inputs,
                                 cinfer__plan **out, cinfer__err *err);
void cinfer__plan_destroy(cinfer__plan *p);
/* Assigns arena offsets to the plan's ARENA values from their lifetimes. */
cinfer_status cinfer__memplan(cinfer__plan *p, cinfer__err *err);
/* Runs a plan on bound inputs; outputs as cinfer_model_run documents. */
cinfer_status cinfer__plan_run(cinfer_model *m, cinfer__plan *p, const cinfer_tensor *inputs,
                               size_t n_outputs, const int *output_index, cinfer_tensor *outputs,
                               cinfer__err *err);
/* CUDA (src/runtime/placement.c): uploads the model's constants at load, once. */
cinfer_status cinfer__cuda_model_load(cinfer_model *m, cinfer__err *err);
void cinfer__cuda_model_free(cinfer_model *m);
/* Puts each step of a planned, memory-planned plan on the GPU or the CPU, plans the copies
 * and creates the plan's first context (whose prepare may move steps to the CPU). */
cinfer_status cinfer__place(cinfer_model *m, cinfer__plan *p, cinfer__err *err);
/* A step's node as the module sees it (`node`), and the arrays it points into. */
typedef struct cinfer__module_view {
    const cinfer_tensor *in[CINFER_MAX_IO], *out[CINFER_MAX_IO];
    const void *weight[CINFER_MAX_IO];
    cinfer_tensor retyped[2 * CINFER_MAX_IO];
    unsigned char layout_in[CINFER_MAX_IO], layout_out[CINFER_MAX_IO];
    cinfer_cuda_node node;
} cinfer__module_view;
/* Fills v for step st: the plan's tensors (host data for constants only; values stored in 16
 * bits typed so) and the device copies of model initializers. */
void cinfer__module_node(const cinfer_model *m, const cinfer__plan *p,
                         const cinfer__plan_step *st, cinfer__module_view *v);
/* CUDA execution contexts (src/runtime/gpu_ctx.c). take: a free one of the model's pool, or
 * a new one (without arenas until a plan is bound); give puts it back. */
cinfer_status cinfer__gpu_ctx_take(cinfer_model *m, cinfer__gpu_ctx **out, cinfer__err *err);
void cinfer__gpu_ctx_give(cinfer_model *m, cinfer__gpu_ctx *g);
/* A thread that holds a context for its life (a scheduler instance's) says so; placement on
 * that thread then prepares new plans on it, where they will run, instead of on the pool's. */
void cinfer__gpu_ctx_hold_here(cinfer__gpu_ctx *g);
/* This thread's held context if it belongs to m, else NULL. */
cinfer__gpu_ctx *cinfer__gpu_ctx_held(const cinfer_model *m);
/* Grows g's arenas to at least these sizes now (its bindings re-point at their next run). */
cinfer_status cinfer__gpu_ctx_reserve(cinfer_model *m, cinfer__gpu_ctx *g, size_t dev_bytes,
                                      size_t host_bytes, cinfer__err *err);
void cinfer__gpu_ctx_free_all(cinfer_model *m);
/* The pinned host arena a CUDA plan needs (its CPU steps' arena; 0 when all steps are GPU). */
size_t cinfer__plan_host_bytes(const cinfer__plan *p);
/* p's binding on g, made on first use (every GPU step prepared: when one's prepare fails,
 * *bad_step, if not NULL, names it) and pointed at g's current arenas, grown for p if needed. */
cinfer_status cinfer__gpu_bind(cinfer_model *m, cinfer__plan *p, cinfer__gpu_ctx *g,
                               cinfer__context **out, int *bad_step, cinfer__err *err);
/* Only the binding, its steps prepared: no arena is grown until the plan runs on g (placement
 * probes a plan this way, so a context that never runs it holds no memory for it). */
cinfer_status cinfer__gpu_prepare(cinfer_model *m, cinfer__plan *p, cinfer__gpu_ctx *g,
                                  cinfer__context **out, int *bad_step, cinfer__err *err);
/* Unlinks a binding from its execution context (the plan is being destroyed). */
void cinfer__gpu_unbind(cinfer__context *c);
void cinfer__context_free(const cinfer__plan *p, cinfer__context *c);
/* Adds a context to the plan's list of all contexts (the caller holds p->mu or owns p). */
cinfer_status cinfer__plan_add_context(cinfer__plan *p, cinfer__context *c, cinfer__err *err);
/* Runs a CUDA plan on execution context g, or on one taken from the model's pool for the run
 * when g is NULL (CINFER_TENSOR_DEVICE inputs are copied device to device). */
cinfer_status cinfer__plan_run_cuda(cinfer_model *m, cinfer__plan *p, cinfer__gpu_ctx *g,
                                    const cinfer_tensor *inputs, size_t n_outputs,
                                    const int *output_index, cinfer_tensor *outputs,
                                    cinfer__err *err);
/* Points the context's views of caller inputs (and views of them) at the inputs' bytes. */
void cinfer__bind_inputs(const cinfer__plan *p, cinfer__context *c, const cinfer_tensor *inputs);
/* cinfer__plan_run of a CUDA plan on the caller's execution context (a scheduler instance's). */
cinfer_status cinfer__plan_run_on(cinfer_model *m, cinfer__plan *p, cinfer__gpu_ctx *g,
                                  const cinfer_tensor *inputs, size_t n_outputs,
                                  const int *output_index, cinfer_tensor *outputs,
                                  cinfer__err *err);
/* CUDA graph segments of a placed plan: maximal runs of consecutive GPU steps in which only
 * the first step has host<->device copies before it (docs/cuda-backend.md). */
int cinfer__plan_graph_segments(const cinfer__plan *p);
/* Runs one step on the CPU (exec.c). */
cinfer_status cinfer__run_cpu_step(cinfer_model *m, cinfer__plan *p, cinfer__context *c,
                                   const cinfer__plan_step *s, cinfer__err *err);
int cinfer__alias_root(const cinfer__plan_value *vals, int v);
/* Evaluates one node on known inputs into freshly allocated outputs (constant folding). */
cinfer_status cinfer__eval_node(const cinfer__node *n, const cinfer_tensor *const *in, int n_in,
                                cinfer_tensor *const *out, cinfer__pool *pool, cinfer__err *err);
/* Runs the op's infer for a node with these inputs (outputs' shapes set). */
cinfer_status cinfer__infer_node(const cinfer__node *n, const cinfer_tensor *const *in, int n_in,
                                 cinfer_tensor *const *out, cinfer__err *err);
/* Load-time passes: fold constant subgraphs, dead-node elimination. */
cinfer_status cinfer__pass_fold_constants(cinfer_model *m, int *n_folded, cinfer__err *err);
void cinfer__pass_dead_nodes(cinfer__graph *g);
/* Marks values whose contents decide output shapes (value_needed, input_value_needed). */
cinfer_status cinfer__mark_value_needed(cinfer_model *m, cinfer__err *err);
/* FLOPs of one step (2 per multiply-add, 1 per elementwise op). */
double cinfer__node_flops(const cinfer__node *n, const cinfer_tensor *const *in, int n_in,
                          const cinfer_tensor *const *out, int n_out);

#endif
