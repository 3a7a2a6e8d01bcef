/* CPU elementwise internals shared by src/cpu/elementwise*.c: the broadcast walker, scalar
 * element access for the dtype-generic paths, and the per-kind kernel entry points. */
#ifndef CINFER_CPU_ELEMENTWISE_IMPL_H
#define CINFER_CPU_ELEMENTWISE_IMPL_H

#include <string.h>

#include "cpu/cpu.h"
#include "ops/elementwise_impl.h"

/* Elements per parallel chunk: large enough that scheduling costs nothing next to the loop. */
#define CINFER__EW_GRAIN 16384
#define CINFER__EW_MAX_IN 3

/* A broadcast of up to three inputs to the output shape, with adjacent dimensions merged so
 * the innermost one is as long as possible. Strides are in elements; 0 = broadcast. */
typedef struct cinfer__ew_walk {
    int n_in, rank;
    int64_t total;
    int64_t dims[CINFER_MAX_RANK];
    int64_t st[CINFER__EW_MAX_IN][CINFER_MAX_RANK];
} cinfer__ew_walk;

/* One contiguous run of n output elements starting at out offset o. Input k starts at element
 * off[k] and advances by inc[k] (0 or 1) per element. */
typedef void (*cinfer__ew_row_fn)(void *arg, int64_t o, const int64_t *off, const int64_t *inc,
                                  int64_t n);

/* in_dims[k] holds rank in_rank[k] (right-aligned against the output, numpy style). */
void cinfer__ew_walk_init(cinfer__ew_walk *w, int out_rank, const int64_t *out_dims, int n_in,
                          const int *in_rank, const int64_t (*in_dims)[CINFER_MAX_RANK]);
/* Calls fn over every row of the output, in parallel chunks on pool. */
void cinfer__ew_walk_run(cinfer__pool *pool, const cinfer__ew_walk *w, cinfer__ew_row_fn fn,
                         void *arg);

/* Flat parallel loop over [0, n) for kernels without broadcasting. */
void cinfer__ew_flat_run(cinfer__pool *pool, int64_t n, cinfer__range_fn fn, void *arg);

/* ---- Scalar element access for the dtype-generic paths (any numeric dtype or bool) ---- */

static inline double cinfer__ew_ld_f(const void *p, int64_t i, cinfer_dtype dt) {
    switch (dt) {
    case CINFER_DTYPE_FLOAT: return ((const float *)p)[i];
    case CINFER_DTYPE_DOUBLE: return ((const double *)p)[i];
    case CINFER_DTYPE_FLOAT16: return cinfer__half_to_float(((const uint16_t *)p)[i]);
    case CINFER_DTYPE_BFLOAT16: return cinfer__bf16_to_float(((const uint16_t *)p)[i]);
    case CINFER_DTYPE_INT8: return ((const int8_t *)p)[i];
    case CINFER_DTYPE_INT16: return ((const int16_t *)p)[i];
    case CINFER_DTYPE_INT32: return ((const int32_t *)p)[i];
    case CINFER_DTYPE_INT64: return (double)((const int64_t *)p)[i];
    case CINFER_DTYPE_UINT8: return ((const uint8_t *)p)[i];
    case CINFER_DTYPE_BOOL: return ((const uint8_t *)p)[i] != 0;
    case CINFER_DTYPE_UINT16: return ((const uint16_t *)p)[i];
    case CINFER_DTYPE_UINT32: return ((const uint32_t *)p)[i];
    case CINFER_DTYPE_UINT64: return (double)((const uint64_t *)p)[i];
    default: return 0;
    }
}

/* Integers as int64 (uint64 keeps its bit pattern); floats truncated (see cinfer__ew_f2i). */
int64_t cinfer__ew_f2i(double v);
static inline int64_t cinfer__ew_ld_i(const void *p, int64_t i, cinfer_dtype dt) {
    switch (dt) {
    case CINFER_DTYPE_INT8: return ((const int8_t *)p)[i];
    case CINFER_DTYPE_INT16: return ((const int16_t *)p)[i];
    case CINFER_DTYPE_INT32: return ((const int32_t *)p)[i];
    case CINFER_DTYPE_INT64: return ((const int64_t *)p)[i];
    case CINFER_DTYPE_UINT8: return ((const uint8_t *)p)[i];
    case CINFER_DTYPE_BOOL: return ((const uint8_t *)p)[i] != 0;
    case CINFER_DTYPE_UINT16: return ((const uint16_t *)p)[i];
    case CINFER_DTYPE_UINT32: return ((const uint32_t *)p)[i];
    case CINFER_DTYPE_UINT64: return (int64_t)((const uint64_t *)p)[i];
    default: return cinfer__ew_f2i(cinfer__ew_ld_f(p, i, dt));
    }
}

/* Stores an integer, wrapping to the dtype's width (as numpy's astype does). */
static inline void cinfer__ew_st_i(void *p, int64_t i, cinfer_dtype dt, int64_t v) {
    switch (dt) {
    case CINFER_DTYPE_INT8: ((int8_t *)p)[i] = (int8_t)v; break;
    case CINFER_DTYPE_INT16: ((int16_t *)p)[i] = (int16_t)v; break;
    case CINFER_DTYPE_INT32: ((int32_t *)p)[i] = (int32_t)v; break;
    case CINFER_DTYPE_INT64: ((int64_t *)p)[i] = v; break;
    case CINFER_DTYPE_UINT8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case CINFER_DTYPE_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    case CINFER_DTYPE_UINT16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    case CINFER_DTYPE_UINT32: ((uint32_t *)p)[i] = (uint32_t)v; break;
    case CINFER_DTYPE_UINT64: ((uint64_t *)p)[i] = (uint64_t)v; break;
    case CINFER_DTYPE_FLOAT: ((float *)p)[i] = (float)v; break;
    case CINFER_DTYPE_DOUBLE: ((double *)p)[i] = (double)v; break;
    case CINFER_DTYPE_FLOAT16: ((uint16_t *)p)[i] = cinfer__float_to_half((float)v); break;
    case CINFER_DTYPE_BFLOAT16: ((uint16_t *)p)[i] = cinfer__float_to_bf16((float)v); break;
    default: break;
    }
}

/* Stores a float value; integer dtypes get it truncated toward zero, bool gets v != 0. */
static inline void cinfer__ew_st_f(void *p, int64_t i, cinfer_dtype dt, double v) {
    switch (dt) {
    case CINFER_DTYPE_FLOAT: ((float *)p)[i] = (float)v; break;
    case CINFER_DTYPE_DOUBLE: ((double *)p)[i] = v; break;
    case CINFER_DTYPE_FLOAT16: ((uint16_t *)p)[i] = cinfer__float_to_half((float)v); break;
    case CINFER_DTYPE_BFLOAT16: ((uint16_t *)p)[i] = cinfer__float_to_bf16((float)v); break;
    case CINFER_DTYPE_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    case CINFER_DTYPE_UINT64:
        /* Values past INT64_MAX exist only for uint64; convert them directly. */
        if (v >= 9223372036854775808.0 && v < 18446744073709551616.0)
            ((uint64_t *)p)[i] = (uint64_t)v;
        else cinfer__ew_st_i(p, i, dt, cinfer__ew_f2i(v));
        break;
    default: cinfer__ew_st_i(p, i, dt, cinfer__ew_f2i(v)); break;
    }
}

static inline bool cinfer__ew_is_unsigned(cinfer_dtype dt) {
    return dt == CINFER_DTYPE_UINT8 || dt == CINFER_DTYPE_UINT16 || dt == CINFER_DTYPE_UINT32 ||
           dt == CINFER_DTYPE_UINT64 || dt == CINFER_DTYPE_BOOL;
}

/* ---- Kernel entry points, by kind (ctx->node->params is a cinfer__ew_params) ---- */

cinfer_status cinfer__ew_run_binary(cinfer__cpu_ctx *ctx);   /* BINARY, COMPARE, LOGIC */
cinfer_status cinfer__ew_run_variadic(cinfer__cpu_ctx *ctx);
cinfer_status cinfer__ew_run_unary(cinfer__cpu_ctx *ctx);    /* UNARY, PREDICATE */
cinfer_status cinfer__ew_run_cast(cinfer__cpu_ctx *ctx);

#endif
