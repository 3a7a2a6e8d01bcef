/* What `cinfer inspect` reports about a loaded model: op histogram, parameters, FLOPs and the
 * memory plan for one set of input shapes. Internal (the CLI links cinfer_core). */
#ifndef CINFER_RUNTIME_INSPECT_H
#define CINFER_RUNTIME_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cinfer/cinfer.h"
#include "ir/passes.h"

typedef struct cinfer__op_count {
    const char *op_type; /* lives as long as the model */
    int count;
} cinfer__op_count;

typedef struct cinfer__model_report {
    int n_nodes_imported;      /* nodes in the file (Constant nodes included) */
    int n_nodes;               /* nodes after load-time passes */
    int n_ops;                 /* entries in ops[] */
    cinfer__op_count *ops;     /* heap array: free with cinfer__model_report_free; the live
                                  nodes' op types after the load-time passes */
    int64_t n_params;          /* elements of float initializers */
    size_t param_bytes;        /* bytes of all initializers */
    int n_folded_conv_bn;      /* Conv+BatchNormalization pairs folded at load */
    bool stored_half;          /* the file has 16-bit floats: computed in float */
    cinfer_dtype stored_float; /* the 16-bit type the model is stored in, else UNDEFINED */
    bool fusion_on;            /* the fusion passes ran (cinfer_model_options.fuse) */
    cinfer__fusions fusions;   /* what each fusion pattern rewrote */
    /* For the plan of the shapes given to cinfer__model_report: */
    int n_steps;               /* kernel calls per run after plan-time constant folding */
    double flops;              /* 2 per multiply-add, 1 per elementwise op */
    size_t arena_bytes;        /* the planned arena */
    size_t naive_bytes;        /* sum of every intermediate's size */
    size_t peak_live_bytes;    /* most bytes live at once: the lower bound for the arena */
    size_t folded_bytes;       /* constants created by plan-time folding */
    int n_dynamic;             /* ops whose output shape depends on input values */
    /* CUDA runtimes only (cuda true): where each step of that plan runs. */
    bool cuda;
    int n_gpu_steps;           /* steps on the GPU (the rest run on the CPU) */
    int n_copies;              /* host<->device copies between steps per run */
    int n_graph_segments;      /* CUDA graphs per run (one per segment of GPU steps) */
    int n_half_values;         /* activations stored in 16 bits on the device */
    size_t half_bytes;         /* their bytes as stored */
    int n_nhwc_values;         /* of those, 4-D activations stored channels last */
    size_t nhwc_bytes;
    bool cuda_graphs;          /* graphs on for this model (cinfer_model_options.cuda_graphs) */
    cinfer_precision precision; /* the model's precision option (FP32 on a CPU runtime) */
    struct cinfer__step_place *place; /* n_steps entries, heap; freed with the report */
} cinfer__model_report;

/* One step's placement: names live as long as the model; the reason is the report's. */
typedef struct cinfer__step_place {
    const char *name, *op_type;
    bool gpu;
    cinfer_precision precision; /* GPU steps: what the step computes in */
    bool nhwc;                 /* GPU steps: some 4-D value it touches is stored NHWC */
    char reason[256];          /* why the step stays on the CPU ("" on the GPU) */
} cinfer__step_place;

/* Plans the model for the given input shapes (n_inputs tensors in declared order, only dtype,
 * rank and dims read; data may be NULL unless an input's value decides shapes) and fills
 * *out. */
cinfer_status cinfer__model_report_make(cinfer_model *model, size_t n_inputs,
                                        const cinfer_tensor *inputs, cinfer__model_report *out);
void cinfer__model_report_free(cinfer__model_report *r);

/* One value's shape as expressions of the model's symbolic input dimensions. */
typedef struct cinfer__value_shape {
    const char *name;              /* the value's name; lives as long as the model */
    cinfer_dtype dtype;
    int rank;                      /* -1: the rank itself depends on the symbols */
    int64_t dims[CINFER_MAX_RANK]; /* the size, or -1 where it depends on the symbols */
    /* Owned, one per dim: the size in decimal when fixed, else an expression of the symbols
     * ("batch", "2*seq", "seq/2", "seq-2", "batch*seq", "s+t"), or "?" when none fits. */
    char *sym[CINFER_MAX_RANK];
    bool is_input, is_output;
    bool is_constant;              /* a weight or Constant of the graph */
    bool folded;                   /* computed at plan time from shapes alone (Shape soup) */
    /* Owned or NULL: for a folded integer tensor of up to 16 elements, its contents with each
     * element explained like a dim ("[batch*seq, 8]"; no brackets for a scalar). */
    char *contents;
} cinfer__value_shape;

/* Infers every planned value's shape as expressions of the symbolic input dims (dim_param,
 * or "unk_<input>_<d>" for unnamed ones). The model is planned (uncached) for a few sets of
 * made-up symbol values and each dim compared across the plans (docs/ARCHITECTURE.md,
 * "Symbolic shapes"). Order: model inputs, node
 * outputs in execution order, then weights. *out is a heap array freed with
 * cinfer__value_shapes_free. CINFER_UNSUPPORTED when an input's contents decide shapes; the
 * planner's status when no two sample plans could be built. Thread's last error on failure. */
cinfer_status cinfer__model_symbolic_shapes(cinfer_model *model, cinfer__value_shape **out,
                                            int *n_out);
void cinfer__value_shapes_free(cinfer__value_shape *shapes, int n);
/* "[batch x 2*seq x 8]" into buf; returns buf. */
char *cinfer__value_shape_str(const cinfer__value_shape *s, char *buf, size_t len);

/* With CINFER_PROFILE=1 set when the model was loaded, prints the time spent per op type
 * (and the slowest nodes) over every run so far to f. Prints a hint otherwise. */
void cinfer__model_profile_print(const cinfer_model *model, FILE *f);

/* The path the model was loaded from ("<memory>" otherwise). */
const char *cinfer__model_path(const cinfer_model *model);

#endif
