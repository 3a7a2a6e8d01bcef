/* What `cinfer inspect` reports about a loaded model: op histogram, parameters, FLOPs and the
 * memory plan for one set of input shapes. Internal (the CLI links cinfer_core). */
#ifndef CINFER_RUNTIME_INSPECT_H
#define CINFER_RUNTIME_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "cinfer/cinfer.h"

typedef struct cinfer__op_count {
    const char *op_type; /* lives as long as the model */
    int count;
} cinfer__op_count;

typedef struct cinfer__model_report {
    int n_nodes_imported;      /* nodes in the file (Constant nodes included) */
    int n_nodes;               /* nodes after load-time passes */
    int n_ops;                 /* entries in ops[] (histogram of the file's op types) */
    cinfer__op_count *ops;     /* heap array: free with cinfer__model_report_free */
    int64_t n_params;          /* elements of float initializers */
    size_t param_bytes;        /* bytes of all initializers */
    int n_folded_conv_bn;      /* Conv+BatchNormalization pairs folded at load */
    /* For the plan of the shapes given to cinfer__model_report: */
    int n_steps;               /* kernel calls per run after plan-time constant folding */
    double flops;              /* 2 per multiply-add, 1 per elementwise op */
    size_t arena_bytes;        /* the planned arena */
    size_t naive_bytes;        /* sum of every intermediate's size */
    size_t peak_live_bytes;    /* most bytes live at once: the lower bound for the arena */
    size_t folded_bytes;       /* constants created by plan-time folding */
    int n_dynamic;             /* ops whose output shape depends on input values */
} cinfer__model_report;

/* Plans the model for the given input shapes (n_inputs tensors in declared order, only dtype,
 * rank and dims read; data may be NULL unless an input's value decides shapes) and fills
 * *out. */
cinfer_status cinfer__model_report_make(cinfer_model *model, size_t n_inputs,
                                        const cinfer_tensor *inputs, cinfer__model_report *out);
void cinfer__model_report_free(cinfer__model_report *r);

/* The path the model was loaded from ("<memory>" otherwise). */
const char *cinfer__model_path(const cinfer_model *model);

#endif
