/* CPU kernels of the misc family that live in src/cpu/misc_*.c; src/cpu/misc.c lists them
 * all in cinfer__cpu_misc. Private to src/cpu. */
#ifndef CINFER_CPU_MISC_H
#define CINFER_CPU_MISC_H

#include "cpu/cpu.h"

/* misc_quant.c */
cinfer_status cinfer__cpu_quantize_run(cinfer__cpu_ctx *ctx);
cinfer_status cinfer__cpu_dequantize_run(cinfer__cpu_ctx *ctx);
cinfer_status cinfer__cpu_dynquant_run(cinfer__cpu_ctx *ctx);

/* misc_einsum.c */
cinfer_status cinfer__cpu_einsum_prepare(const cinfer__cpu_ctx *ctx, void **state);
void cinfer__cpu_einsum_release(void *state);
cinfer_status cinfer__cpu_einsum_run(cinfer__cpu_ctx *ctx);

/* misc_select.c */
size_t cinfer__cpu_unique_scratch(const cinfer__cpu_ctx *ctx);
cinfer_status cinfer__cpu_unique_run(cinfer__cpu_ctx *ctx);
size_t cinfer__cpu_nms_scratch(const cinfer__cpu_ctx *ctx);
cinfer_status cinfer__cpu_nms_run(cinfer__cpu_ctx *ctx);

/* misc_image.c */
cinfer_status cinfer__cpu_roialign_run(cinfer__cpu_ctx *ctx);
cinfer_status cinfer__cpu_gridsample_run(cinfer__cpu_ctx *ctx);

#endif
