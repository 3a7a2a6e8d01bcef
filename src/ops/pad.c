/* Op definitions: pad family (placeholder until the family lands). */
#include "ops/op.h"

const cinfer__op_def cinfer__ops_pad[] = {
    {0},
};
