/* The op registry: every family's definitions, looked up by domain, type and opset. */
#include <string.h>

#include "ops/op.h"

static const cinfer__op_def *const families[] = {
    cinfer__ops_elementwise, cinfer__ops_linalg, cinfer__ops_conv,
    cinfer__ops_pool,        cinfer__ops_norm,   cinfer__ops_reduce,
    cinfer__ops_shape,       cinfer__ops_gather, cinfer__ops_resize,
    cinfer__ops_pad,
    cinfer__ops_misc,        cinfer__ops_attention, cinfer__ops_chain,
};

#define N_FAMILIES (sizeof families / sizeof families[0])

static bool domain_eq(const char *a, const char *b) {
    if (!a || !strcmp(a, "ai.onnx")) a = "";
    if (!b || !strcmp(b, "ai.onnx")) b = "";
    return !strcmp(a, b);
}

const cinfer__op_def *cinfer__op_find(const char *domain, const char *op_type, int opset,
                                      bool *known_type) {
    if (known_type) *known_type = false;
    for (size_t f = 0; f < N_FAMILIES; f++)
        for (const cinfer__op_def *d = families[f]; d->op_type; d++) {
            if (strcmp(d->op_type, op_type) || !domain_eq(d->domain, domain)) continue;
            if (known_type) *known_type = true;
            if (opset >= d->min_opset && opset <= d->max_opset) return d;
        }
    return NULL;
}

const cinfer__op_def *cinfer__op_at(int index) {
    for (size_t f = 0; f < N_FAMILIES; f++)
        for (const cinfer__op_def *d = families[f]; d->op_type; d++)
            if (index-- == 0) return d;
    return NULL;
}
