/* CPU kernels for Cast and CastLike between every numeric dtype and bool. The conversions
 * models use most (float32 <-> float16/double/int, int32 <-> int64, bool -> float) get typed
 * loops; the rest convert through double or int64 one element at a time. */
#include "cpu/elementwise_impl.h"

typedef struct cast_job {
    const void *x;
    void *y;
    cinfer_dtype xdt, ydt;
} cast_job;

/* Float to a narrower integer: out-of-range and NaN give the type's minimum (what x86's
 * conversion does) instead of C's undefined behaviour. */
static inline int32_t f2i32(float v) {
    return (v >= -2147483648.0f && v < 2147483648.0f) ? (int32_t)v : INT32_MIN;
}

#define CAST_CHUNK(NAME, TS, TD, EXPR)                                                        \
    static void NAME(void *arg, int64_t begin, int64_t end) {                                \
        const cast_job *j = arg;                                                              \
        const TS *x = (const TS *)j->x;                                                       \
        TD *y = (TD *)j->y;                                                                   \
        for (int64_t i = begin; i < end; i++) {                                               \
            const TS v = x[i];                                                                \
            y[i] = (TD)(EXPR);                                                                \
        }                                                                                     \
    }

CAST_CHUNK(f32_to_f16, float, uint16_t, cinfer__float_to_half(v))
CAST_CHUNK(f16_to_f32, uint16_t, float, cinfer__half_to_float(v))
CAST_CHUNK(f32_to_f64, float, double, v)
CAST_CHUNK(f64_to_f32, double, float, v)
CAST_CHUNK(f32_to_i32, float, int32_t, f2i32(v))
CAST_CHUNK(f32_to_i64, float, int64_t, cinfer__ew_f2i(v))
CAST_CHUNK(i32_to_f32, int32_t, float, v)
CAST_CHUNK(i64_to_f32, int64_t, float, v)
CAST_CHUNK(i32_to_i64, int32_t, int64_t, v)
CAST_CHUNK(i64_to_i32, int64_t, int32_t, (uint32_t)v)
CAST_CHUNK(u8_to_f32, uint8_t, float, v)
CAST_CHUNK(b_to_f32, uint8_t, float, v != 0)
CAST_CHUNK(f32_to_b, float, uint8_t, v != 0)
CAST_CHUNK(b_to_i64, uint8_t, int64_t, v != 0)
CAST_CHUNK(i64_to_b, int64_t, uint8_t, v != 0)

static void cast_generic(void *arg, int64_t begin, int64_t end) {
    const cast_job *j = arg;
    /* Floats go through double; so do integers bound for a float (uint64 included). */
    bool via_f = cinfer__dtype_is_float(j->xdt) || cinfer__dtype_is_float(j->ydt);
    for (int64_t i = begin; i < end; i++) {
        if (via_f) cinfer__ew_st_f(j->y, i, j->ydt, cinfer__ew_ld_f(j->x, i, j->xdt));
        else cinfer__ew_st_i(j->y, i, j->ydt, cinfer__ew_ld_i(j->x, i, j->xdt));
    }
}

#define PAIR(a, b) ((unsigned)(a) << 8 | (unsigned)(b))
#define D(x) CINFER_DTYPE_##x

static cinfer__range_fn pick(cinfer_dtype from, cinfer_dtype to) {
    switch (PAIR(from, to)) {
    case PAIR(D(FLOAT), D(FLOAT16)): return f32_to_f16;
    case PAIR(D(FLOAT16), D(FLOAT)): return f16_to_f32;
    case PAIR(D(FLOAT), D(DOUBLE)): return f32_to_f64;
    case PAIR(D(DOUBLE), D(FLOAT)): return f64_to_f32;
    case PAIR(D(FLOAT), D(INT32)): return f32_to_i32;
    case PAIR(D(FLOAT), D(INT64)): return f32_to_i64;
    case PAIR(D(INT32), D(FLOAT)): return i32_to_f32;
    case PAIR(D(INT64), D(FLOAT)): return i64_to_f32;
    case PAIR(D(INT32), D(INT64)): return i32_to_i64;
    case PAIR(D(INT64), D(INT32)): return i64_to_i32;
    case PAIR(D(UINT8), D(FLOAT)): return u8_to_f32;
    case PAIR(D(BOOL), D(FLOAT)): return b_to_f32;
    case PAIR(D(FLOAT), D(BOOL)): return f32_to_b;
    case PAIR(D(BOOL), D(INT64)): return b_to_i64;
    case PAIR(D(INT64), D(BOOL)): return i64_to_b;
    default: return cast_generic;
    }
}

static void copy_chunk(void *arg, int64_t begin, int64_t end) {
    const cast_job *j = arg;
    size_t es = cinfer_dtype_size(j->xdt);
    memcpy((uint8_t *)j->y + begin * es, (const uint8_t *)j->x + begin * es,
           (size_t)(end - begin) * es);
}

cinfer_status cinfer__ew_run_cast(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    cinfer_tensor *y = ctx->out[0];
    cast_job j = {x->data, y->data, x->dtype, y->dtype};
    cinfer__range_fn fn = x->dtype == y->dtype ? copy_chunk : pick(x->dtype, y->dtype);
    cinfer__ew_flat_run(ctx->pool, cinfer_tensor_numel(x), fn, &j);
    return CINFER_OK;
}
