/* Load-time graph rewrites that need no run-time shapes. */
#ifndef CINFER_IR_PASSES_H
#define CINFER_IR_PASSES_H

#include "ir/graph.h"

/* Folds Conv (constant W, optional constant B) followed by an inference BatchNormalization
 * (constant scale, bias, mean, var) whose input feeds nothing else into one Conv with new
 * constant weights. *n_folded counts the pairs. */
cinfer_status cinfer__pass_fold_conv_bn(cinfer__graph *g, int *n_folded, cinfer__err *err);

#endif
