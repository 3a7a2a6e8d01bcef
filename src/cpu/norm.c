/* CPU kernels: norm family (placeholder until the family lands). */
#include "cpu/cpu.h"

const cinfer__cpu_kernel cinfer__cpu_norm[] = {
    {0},
};
