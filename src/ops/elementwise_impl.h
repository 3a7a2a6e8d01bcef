/* Elementwise family internals shared by its op definitions (src/ops/elementwise.c) and its CPU
 * kernels (src/cpu/elementwise*.c): the op enumeration, the parsed-attribute struct and the
 * broadcast rules both sides must apply identically. */
#ifndef CINFER_OPS_ELEMENTWISE_IMPL_H
#define CINFER_OPS_ELEMENTWISE_IMPL_H

#include "ops/op.h"

/* X(ENUM, "OpType", kind). The kind decides the infer function and the kernel driver. */
#define CINFER__EW_OPS(X)                                                                     \
    X(ADD, "Add", BINARY) X(SUB, "Sub", BINARY) X(MUL, "Mul", BINARY) X(DIV, "Div", BINARY)  \
    X(POW, "Pow", BINARY) X(MOD, "Mod", BINARY) X(PRELU, "PRelu", BINARY)                     \
    X(BITSHIFT, "BitShift", BINARY)                                                           \
    X(EQUAL, "Equal", COMPARE) X(LESS, "Less", COMPARE) X(GREATER, "Greater", COMPARE)        \
    X(LESS_EQUAL, "LessOrEqual", COMPARE) X(GREATER_EQUAL, "GreaterOrEqual", COMPARE)         \
    X(AND, "And", LOGIC) X(OR, "Or", LOGIC) X(XOR, "Xor", LOGIC)                              \
    X(SUM, "Sum", VARIADIC) X(MEAN, "Mean", VARIADIC) X(MAX, "Max", VARIADIC)                 \
    X(MIN, "Min", VARIADIC)                                                                   \
    X(WHERE, "Where", WHERE)                                                                  \
    X(NEG, "Neg", UNARY) X(ABS, "Abs", UNARY) X(RELU, "Relu", UNARY) X(SIGN, "Sign", UNARY)   \
    X(CLIP, "Clip", UNARY)                                                                    \
    X(SQRT, "Sqrt", UNARY) X(EXP, "Exp", UNARY) X(LOG, "Log", UNARY)                          \
    X(RECIPROCAL, "Reciprocal", UNARY) X(ERF, "Erf", UNARY) X(TANH, "Tanh", UNARY)            \
    X(SIGMOID, "Sigmoid", UNARY) X(LEAKY_RELU, "LeakyRelu", UNARY)                            \
    X(HARD_SIGMOID, "HardSigmoid", UNARY) X(HARD_SWISH, "HardSwish", UNARY)                   \
    X(GELU, "Gelu", UNARY) X(FLOOR, "Floor", UNARY) X(CEIL, "Ceil", UNARY)                    \
    X(ROUND, "Round", UNARY) X(SIN, "Sin", UNARY) X(COS, "Cos", UNARY) X(TAN, "Tan", UNARY)   \
    X(ASIN, "Asin", UNARY) X(ACOS, "Acos", UNARY) X(ATAN, "Atan", UNARY)                      \
    X(SINH, "Sinh", UNARY) X(COSH, "Cosh", UNARY) X(ASINH, "Asinh", UNARY)                    \
    X(ACOSH, "Acosh", UNARY) X(ATANH, "Atanh", UNARY) X(SOFTPLUS, "Softplus", UNARY)          \
    X(SOFTSIGN, "Softsign", UNARY) X(ELU, "Elu", UNARY) X(SELU, "Selu", UNARY)                \
    X(CELU, "Celu", UNARY) X(THRESHOLDED_RELU, "ThresholdedRelu", UNARY)                      \
    X(SHRINK, "Shrink", UNARY)                                                                \
    X(ISNAN, "IsNaN", PREDICATE) X(ISINF, "IsInf", PREDICATE) X(NOT, "Not", PREDICATE)        \
    X(CAST, "Cast", CAST) X(CAST_LIKE, "CastLike", CAST)                                      \
    X(IDENTITY, "Identity", COPY) X(DROPOUT, "Dropout", COPY)

typedef enum cinfer__ew_op {
#define CINFER__EW_ENUM_(e, name, kind) CINFER__EW_##e,
    CINFER__EW_OPS(CINFER__EW_ENUM_)
#undef CINFER__EW_ENUM_
    CINFER__EW_COUNT
} cinfer__ew_op;

typedef enum cinfer__ew_kind {
    CINFER__EW_KIND_BINARY,    /* two inputs of one dtype (Pow: any exponent) -> that dtype */
    CINFER__EW_KIND_COMPARE,   /* two inputs of one dtype -> bool */
    CINFER__EW_KIND_LOGIC,     /* two bools -> bool */
    CINFER__EW_KIND_VARIADIC,  /* 1..n inputs of one dtype, folded left to right */
    CINFER__EW_KIND_WHERE,
    CINFER__EW_KIND_UNARY,     /* same dtype and shape out (Clip's bounds are extra inputs) */
    CINFER__EW_KIND_PREDICATE, /* -> bool, same shape */
    CINFER__EW_KIND_CAST,
    CINFER__EW_KIND_COPY
} cinfer__ew_kind;

/* Parsed attributes (node->params) of every elementwise op; each op reads only its fields. */
typedef struct cinfer__ew_params {
    cinfer__ew_op op;
    cinfer__ew_kind kind;
    int opset;
    float alpha, beta, gamma; /* LeakyRelu/Elu/Celu/ThresholdedRelu alpha, HardSigmoid alpha and
                                 beta, Selu alpha and gamma, Shrink lambd (alpha) bias (beta) */
    float clip_min, clip_max; /* Clip before opset 11 (attributes) */
    bool legacy_bcast;        /* opset < 7 with broadcast=1: B aligned at `axis` of A */
    bool has_axis;
    int64_t axis;
    bool fmod;                /* Mod */
    bool shift_left;          /* BitShift */
    bool gelu_tanh;           /* Gelu approximate="tanh" */
    bool detect_neg, detect_pos; /* IsInf */
    bool mask_is_bool;        /* Dropout >= 10: the mask output is bool, else the input dtype */
    cinfer_dtype to;          /* Cast */
} cinfer__ew_params;

cinfer__ew_kind cinfer__ew_kind_of(cinfer__ew_op op);

/* The shape input `b` takes part in the broadcast with: its own dims, or (legacy Add-1..6
 * style broadcast=1, PRelu-6 per-channel slope) its dims placed at the right axis of `a`'s
 * rank. Writes *rank/dims; false when the legacy placement does not fit. */
bool cinfer__ew_b_dims(const cinfer__ew_params *p, const cinfer_tensor *a,
                       const cinfer_tensor *b, int *rank, int64_t *dims);

/* Whether Dropout-12 with these ratio and training_mode inputs (either may be NULL) would
 * drop at random, which cinfer does not support; otherwise it is a copy. */
bool cinfer__ew_dropout_is_random(const cinfer_tensor *ratio, const cinfer_tensor *train);

/* Whether the elementwise kernels implement `op` for inputs of dtype dt (input 0's dtype; for
 * Cast the output dtype is checked too). UNSUPPORTED with a message naming the dtype if not. */
cinfer_status cinfer__ew_check_dtypes(const cinfer__ew_params *p, int n_in,
                                      const cinfer_tensor *const *in, cinfer_dtype out_dt,
                                      cinfer__err *err);

#endif
