/* The CPU backend's kernel registry. */
#include <string.h>

#include "cpu/cpu.h"

static const cinfer__cpu_kernel *const families[] = {
    cinfer__cpu_elementwise, cinfer__cpu_linalg, cinfer__cpu_conv,
    cinfer__cpu_pool,        cinfer__cpu_norm,   cinfer__cpu_reduce,
    cinfer__cpu_shape,       cinfer__cpu_gather, cinfer__cpu_resize,
    cinfer__cpu_pad,
    cinfer__cpu_misc,        cinfer__cpu_attention, cinfer__cpu_chain,
};

const cinfer__cpu_kernel *cinfer__cpu_find(const char *domain, const char *op_type) {
    if (!domain || !strcmp(domain, "ai.onnx")) domain = "";
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (const cinfer__cpu_kernel *k = families[f]; k->op_type; k++) {
            const char *kd = k->domain ? k->domain : "";
            if (!strcmp(k->op_type, op_type) && !strcmp(kd, domain)) return k;
        }
    return NULL;
}
