/* Op definitions: resize family (placeholder until the family lands). */
#include "ops/op.h"

const cinfer__op_def cinfer__ops_resize[] = {
    {0},
};
