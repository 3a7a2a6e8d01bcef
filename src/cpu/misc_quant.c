/* CPU kernels of QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear: per-tensor or
 * per-axis scale and zero point; x / scale is computed in float32 and rounded half to even,
 * as ONNX Runtime does, then saturated to the output type. */
#include <math.h>
#include <string.h>

#include "cpu/misc.h"

/* The quantization parameters as the kernels use them: element i uses channel
 * (i / inner) % channels. */
typedef struct qparams {
    const float *scale;
    const cinfer_tensor *zp; /* NULL: zero */
    int64_t inner, channels;
} qparams;

static qparams qparams_make(const cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0], *s = ctx->in[1];
    qparams q = {s->data, ctx->n_in > 2 ? ctx->in[2] : NULL, 1, 1};
    if (s->rank == 1 && s->dims[0] != 1) {
        int axis = 1;
        cinfer__norm_axis(cinfer__attr_int(ctx->node, "axis", 1), x->rank, &axis);
        q.channels = x->dims[axis];
        q.inner = cinfer__numel(x->rank - axis - 1, x->dims + axis + 1);
    }
    return q;
}

static inline int64_t q_channel(const qparams *q, int64_t i) {
    return q->channels == 1 ? 0 : i / q->inner % q->channels;
}

static inline int32_t zp_at(const cinfer_tensor *z, int64_t c) {
    if (!z) return 0;
    switch (z->dtype) {
    case CINFER_DTYPE_UINT8: return ((const uint8_t *)z->data)[c];
    case CINFER_DTYPE_INT8: return ((const int8_t *)z->data)[c];
    case CINFER_DTYPE_UINT16: return ((const uint16_t *)z->data)[c];
    case CINFER_DTYPE_INT16: return ((const int16_t *)z->data)[c];
    default: return (int32_t)cinfer__get_i64(z, c);
    }
}

static void q_range(cinfer_dtype dt, float *lo, float *hi) {
    switch (dt) {
    case CINFER_DTYPE_INT8: *lo = -128, *hi = 127; break;
    case CINFER_DTYPE_UINT16: *lo = 0, *hi = 65535; break;
    case CINFER_DTYPE_INT16: *lo = -32768, *hi = 32767; break;
    default: *lo = 0, *hi = 255;
    }
}

/* round-half-even(v) + zp, saturated (NaN goes to the low end). */
static inline float q_value(float v, float zp, float lo, float hi) {
    v = nearbyintf(v) + zp;
    if (!(v >= lo)) return lo;
    return v > hi ? hi : v;
}

static void q_store(void *y, cinfer_dtype dt, int64_t i, float v) {
    switch (dt) {
    case CINFER_DTYPE_INT8: ((int8_t *)y)[i] = (int8_t)v; break;
    case CINFER_DTYPE_UINT16: ((uint16_t *)y)[i] = (uint16_t)v; break;
    case CINFER_DTYPE_INT16: ((int16_t *)y)[i] = (int16_t)v; break;
    default: ((uint8_t *)y)[i] = (uint8_t)v;
    }
}

typedef struct quant_job {
    const cinfer_tensor *x;
    void *y;
    cinfer_dtype ydt;
    qparams q;
    float lo, hi;
} quant_job;

static void quantize_range(void *arg, int64_t begin, int64_t end) {
    const quant_job *j = arg;
    const float *xf = j->x->data;
    const int32_t *xi = j->x->data;
    bool is_f = j->x->dtype == CINFER_DTYPE_FLOAT;
    for (int64_t i = begin; i < end; i++) {
        int64_t c = q_channel(&j->q, i);
        float x = is_f ? xf[i] : (float)xi[i];
        float v = q_value(x / j->q.scale[c], (float)zp_at(j->q.zp, c), j->lo, j->hi);
        q_store(j->y, j->ydt, i, v);
    }
}

cinfer_status cinfer__cpu_quantize_run(cinfer__cpu_ctx *ctx) {
    quant_job j = {ctx->in[0], ctx->out[0]->data, ctx->out[0]->dtype, qparams_make(ctx), 0, 0};
    q_range(j.ydt, &j.lo, &j.hi);
    int64_t n = cinfer_tensor_numel(ctx->in[0]);
    if (n) cinfer__parallel_for(ctx->pool, n, 8192, quantize_range, &j);
    return CINFER_OK;
}

static void dequantize_range(void *arg, int64_t begin, int64_t end) {
    const quant_job *j = arg;
    float *y = j->y;
    for (int64_t i = begin; i < end; i++) {
        int64_t c = q_channel(&j->q, i);
        int64_t v = (int64_t)zp_at(j->x, i) - zp_at(j->q.zp, c);
        y[i] = (float)v * j->q.scale[c];
    }
}

cinfer_status cinfer__cpu_dequantize_run(cinfer__cpu_ctx *ctx) {
    quant_job j = {ctx->in[0], ctx->out[0]->data, CINFER_DTYPE_FLOAT, qparams_make(ctx), 0, 0};
    int64_t n = cinfer_tensor_numel(ctx->in[0]);
    if (n) cinfer__parallel_for(ctx->pool, n, 8192, dequantize_range, &j);
    return CINFER_OK;
}

/* DynamicQuantizeLinear: scale = (max(x, 0) - min(x, 0)) / 255, zero point =
 * saturate(round(-min / scale)), then uint8 quantization with them. All-zero x gives scale
 * 0 and zero point 0 (every output 0) instead of dividing by zero. */
cinfer_status cinfer__cpu_dynquant_run(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    const float *xf = x->data;
    int64_t n = cinfer_tensor_numel(x);
    float mn = 0, mx = 0;
    for (int64_t i = 0; i < n; i++) {
        if (xf[i] < mn) mn = xf[i];
        if (xf[i] > mx) mx = xf[i];
    }
    float scale = (mx - mn) / 255.0f;
    float zp = scale > 0 ? q_value(0.0f - mn / scale, 0.0f, 0.0f, 255.0f) : 0.0f;
    uint8_t *y = ctx->out[0]->data;
    for (int64_t i = 0; i < n; i++)
        y[i] = scale > 0 ? (uint8_t)q_value(xf[i] / scale, zp, 0, 255) : 0;
    if (ctx->n_out > 1 && ctx->out[1]) *(float *)ctx->out[1]->data = scale;
    if (ctx->n_out > 2 && ctx->out[2]) *(uint8_t *)ctx->out[2]->data = (uint8_t)zp;
    return CINFER_OK;
}
