/* CPU kernels: pad family (placeholder until the family lands). */
#include "cpu/cpu.h"

const cinfer__cpu_kernel cinfer__cpu_pad[] = {
    {0},
};
