/* Load-time graph rewrites that need no run-time shapes. */
#ifndef CINFER_IR_PASSES_H
#define CINFER_IR_PASSES_H

#include "ir/graph.h"

/* Folds Conv (constant W, optional constant B) followed by an inference BatchNormalization
 * (constant scale, bias, mean, var) whose input feeds nothing else into one Conv with new
 * constant weights. *n_folded counts the pairs. */
cinfer_status cinfer__pass_fold_conv_bn(cinfer__graph *g, int *n_folded, cinfer__err *err);

/* Models stored in 16-bit floats are computed in float (src/ir/float_compute.c): 16-bit float
 * constants and dtype attributes become float, 16-bit graph inputs and outputs get a Cast at
 * the boundary (callers keep the declared types). *changed says whether the model had any;
 * *stored is the 16-bit type the model is stored in (most of its weights), UNDEFINED for a
 * float model, even one with a few 16-bit values inside. */
cinfer_status cinfer__pass_float_compute(cinfer__graph *g, bool *changed, cinfer_dtype *stored,
                                         cinfer__err *err);

/* Integer attribute the activation fusion sets on a Conv or Gemm (after removing the Relu that
 * read its only output): the kernel clamps its outputs at 0 in its epilogue. */
#define CINFER_FUSED_RELU_ATTR "cinfer.fused_relu"

/* Internal ops the fusion passes write (domain "cinfer", opset 1); docs/fusion.md. */
#define CINFER_FUSED_DOMAIN "cinfer"

/* What the fusion passes rewrote, per pattern; for `cinfer inspect` and the tests. */
typedef enum cinfer__fusion_kind {
    CINFER_FUSION_GELU,          /* x*0.5*(1+erf(x/sqrt2)) chain -> Gelu */
    CINFER_FUSION_MATMUL_BIAS,   /* MatMul + Add(constant row) -> FusedMatMul */
    CINFER_FUSION_CONV_ADD,      /* Conv + Add(residual) -> FusedConv */
    CINFER_FUSION_ACTIVATION,    /* MatMul/Conv/Gemm + Relu or Gelu -> epilogue */
    CINFER_FUSION_ATTENTION,     /* MatMul, scale, mask, Softmax, MatMul -> Attention */
    CINFER_FUSION_LAYERNORM,     /* ReduceMean/Sub/Pow/.../Div/Mul/Add -> LayerNormalization */
    CINFER_FUSION_SKIP_LAYERNORM,/* Add + LayerNormalization -> SkipLayerNorm */
    CINFER_FUSION_CHAIN,         /* runs of elementwise ops -> ElementwiseChain */
    CINFER_FUSION_ATTENTION_HEADS,/* head split/merge Transposes taken into Attention */
    CINFER_FUSION_ATTENTION_ROWS, /* and the Slices that cut Q, K, V from one projection */
    CINFER_FUSION_KINDS
} cinfer__fusion_kind;

typedef struct cinfer__fusions {
    int count[CINFER_FUSION_KINDS];
} cinfer__fusions;

/* Short description of each kind, for reports. */
const char *cinfer__fusion_name(cinfer__fusion_kind kind);

/* Runs every fusion pattern, in an order where each can feed the next (GELU before the
 * MatMul epilogues), and leaves the nodes sorted topologically again. Rewrites only what
 * computes the same function. */
cinfer_status cinfer__pass_fuse(cinfer__graph *g, cinfer__fusions *done, cinfer__err *err);

#endif
