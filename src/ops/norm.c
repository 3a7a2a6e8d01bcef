/* Op definitions: norm family (placeholder until the family lands). */
#include "ops/op.h"

const cinfer__op_def cinfer__ops_norm[] = {
    {0},
};
