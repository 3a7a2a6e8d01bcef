/* CPU kernels for one-input elementwise ops: activations, float math, Clip, and the bool
 * predicates IsNaN/IsInf/Not. Float32 runs one tight loop per op (vectorizable math from
 * elementwise_math.h); other float dtypes compute in double, integers in int64. */
#if defined(__GNUC__) && !defined(__clang__)
/* Nothing here reads errno or runs with floating-point traps enabled; without them selects
 * over float math are if-converted and sqrtf can be a plain instruction, so loops vectorize.
 * (With -std=c11 gcc ignores the errno part here; -fno-math-errno on the command line works.)
 * fp-contract lets the AVX2 copy below use FMA in the polynomials. */
#pragma GCC optimize("no-math-errno", "no-trapping-math", "fp-contract=fast")
#endif
#include <float.h>
#include <math.h>

#include "cpu/elementwise_impl.h"
#include "cpu/elementwise_math.h"

/* On x86-64 the float32 loops are compiled twice, for the baseline (SSE2) and for AVX2+FMA,
 * and the AVX2 copy runs where the CPU has it: the transcendental activations (Sigmoid, Tanh,
 * Erf, Gelu, Exp) run about 3x faster. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define EW_AVX2_COPY 1
#define EW_INLINE static inline __attribute__((always_inline))
#else
#define EW_AVX2_COPY 0
#define EW_INLINE static inline
#endif

typedef struct un_job {
    const cinfer__ew_params *p;
    const void *x;
    void *y;
    cinfer_dtype xdt, ydt;
    double lo, hi;    /* Clip bounds for float inputs */
    int64_t ilo, ihi; /* and for integer inputs (uint64 ones by bit pattern) */
    bool avx2;        /* run the AVX2+FMA copy of the float32 loops */
    bool avx512;      /* or the AVX-512 one (half the instructions of AVX2 per element) */
} un_job;

/* ---- Float32 ----------------------------------------------------------------------------- */

#define LOOP(EXPR)                                                                            \
    do {                                                                                      \
        for (int64_t i = 0; i < n; i++) {                                                     \
            const float v = x[i];                                                             \
            y[i] = (EXPR);                                                                    \
        }                                                                                     \
    } while (0)

/* min(1, max(0, v)) with selects, which vectorize (fminf/fmaxf do not without fast-math). */
EW_INLINE float unit_clamp(float v) {
    v = v < 0.0f ? 0.0f : v;
    return v > 1.0f ? 1.0f : v;
}

static float softplusf(float v) { return v > 0 ? v + log1pf(expf(-v)) : log1pf(expf(v)); }


/* Activations with attributes or several branches. Returns false if op is not one. */
EW_INLINE bool activation_f32(const un_job *j, const float *x, float *y, int64_t n) {
    const cinfer__ew_params *p = j->p;
    const float al = p->alpha, be = p->beta, ga = p->gamma;
    const float lo = (float)j->lo, hi = (float)j->hi;
    switch (p->op) {
    case CINFER__EW_RELU: LOOP(v < 0 ? 0.0f : v); return true;
    case CINFER__EW_LEAKY_RELU: LOOP(v < 0 ? v * al : v); return true;
    case CINFER__EW_CLIP: LOOP(v < lo ? lo : (v > hi ? hi : v)); return true;
    case CINFER__EW_SIGMOID: LOOP(1.0f / (1.0f + cinfer__expf(-v))); return true;
    case CINFER__EW_TANH: LOOP(cinfer__tanhf(v)); return true;
    case CINFER__EW_HARD_SIGMOID: LOOP(unit_clamp(v * al + be)); return true;
    case CINFER__EW_HARD_SWISH: LOOP(v * unit_clamp(v * (1.0f / 6.0f) + 0.5f)); return true;
    case CINFER__EW_GELU:
        if (p->gelu_tanh) LOOP(cinfer__gelu_tanhf(v));
        else LOOP(cinfer__gelu_erff(v));
        return true;
    case CINFER__EW_ELU: LOOP(v < 0 ? al * cinfer__expm1f(v) : v); return true;
    case CINFER__EW_SELU: LOOP(v <= 0 ? ga * al * cinfer__expm1f(v) : ga * v); return true;
    case CINFER__EW_CELU: LOOP(v < 0 ? al * cinfer__expm1f(v / al) : v); return true;
    case CINFER__EW_THRESHOLDED_RELU: LOOP(v > al ? v : 0.0f); return true;
    case CINFER__EW_SHRINK: LOOP(v < -al ? v + be : (v > al ? v - be : 0.0f)); return true;
    case CINFER__EW_SOFTPLUS: LOOP(softplusf(v)); return true;
    case CINFER__EW_SOFTSIGN: LOOP(v / (1.0f + fabsf(v))); return true;
    default: return false;
    }
}

EW_INLINE void math_f32(const un_job *j, const float *x, float *y, int64_t n) {
    if (activation_f32(j, x, y, n)) return;
    switch (j->p->op) {
    case CINFER__EW_NEG: LOOP(-v); break;
    case CINFER__EW_ABS: LOOP(fabsf(v)); break;
    case CINFER__EW_SIGN: LOOP(v > 0 ? 1.0f : (v < 0 ? -1.0f : v)); break;
    case CINFER__EW_SQRT: LOOP(sqrtf(v)); break;
    case CINFER__EW_EXP: LOOP(cinfer__expf(v)); break;
    case CINFER__EW_LOG: LOOP(logf(v)); break;
    case CINFER__EW_RECIPROCAL: LOOP(1.0f / v); break;
    case CINFER__EW_ERF: LOOP(cinfer__erff(v)); break;
    case CINFER__EW_FLOOR: LOOP(floorf(v)); break;
    case CINFER__EW_CEIL: LOOP(ceilf(v)); break;
    case CINFER__EW_ROUND: LOOP(nearbyintf(v)); break; /* half to even */
    case CINFER__EW_SIN: LOOP(sinf(v)); break;
    case CINFER__EW_COS: LOOP(cosf(v)); break;
    case CINFER__EW_TAN: LOOP(tanf(v)); break;
    case CINFER__EW_ASIN: LOOP(asinf(v)); break;
    case CINFER__EW_ACOS: LOOP(acosf(v)); break;
    case CINFER__EW_ATAN: LOOP(atanf(v)); break;
    case CINFER__EW_SINH: LOOP(sinhf(v)); break;
    case CINFER__EW_COSH: LOOP(coshf(v)); break;
    case CINFER__EW_ASINH: LOOP(asinhf(v)); break;
    case CINFER__EW_ACOSH: LOOP(acoshf(v)); break;
    case CINFER__EW_ATANH: LOOP(atanhf(v)); break;
    default: break;
    }
}

static void math_f32_base(const un_job *j, const float *x, float *y, int64_t n) {
    math_f32(j, x, y, n);
}

#if EW_AVX2_COPY
__attribute__((target("avx2,fma"))) static void math_f32_avx2(const un_job *j, const float *x,
                                                               float *y, int64_t n) {
    math_f32(j, x, y, n);
}
__attribute__((target("avx512f,avx2,fma"))) static void math_f32_avx512(const un_job *j,
                                                                         const float *x, float *y,
                                                                         int64_t n) {
    math_f32(j, x, y, n);
}
#endif

static void chunk_f32(void *arg, int64_t begin, int64_t end) {
    const un_job *j = arg;
    const float *x = (const float *)j->x + begin;
    float *y = (float *)j->y + begin;
#if EW_AVX2_COPY
    if (j->avx512) {
        math_f32_avx512(j, x, y, end - begin);
        return;
    }
    if (j->avx2) {
        math_f32_avx2(j, x, y, end - begin);
        return;
    }
#endif
    math_f32_base(j, x, y, end - begin);
}

static bool cpu_has_avx2(void) {
#if EW_AVX2_COPY
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

static bool cpu_has_avx512(void) {
#if EW_AVX2_COPY
    return cpu_has_avx2() && __builtin_cpu_supports("avx512f");
#else
    return false;
#endif
}

void cinfer__gelu_rows_f32(float *c, int64_t ldc, int64_t rows, int64_t cols, bool tanh_form) {
    cinfer__ew_params p = {.op = CINFER__EW_GELU, .gelu_tanh = tanh_form};
    un_job j = {.p = &p, .avx2 = cpu_has_avx2(), .avx512 = cpu_has_avx512()};
    for (int64_t r = 0; r < rows; r++) {
        float *row = c + r * ldc;
#if EW_AVX2_COPY
        if (j.avx512) {
            math_f32_avx512(&j, row, row, cols);
            continue;
        }
        if (j.avx2) {
            math_f32_avx2(&j, row, row, cols);
            continue;
        }
#endif
        math_f32_base(&j, row, row, cols);
    }
}

/* ---- Other float dtypes, in double --------------------------------------------------------- */

static double softplus_d(double v) { return v > 0 ? v + log1p(exp(-v)) : log1p(exp(v)); }

static double activation_d(const un_job *j, double v) {
    const cinfer__ew_params *p = j->p;
    const double al = p->alpha, be = p->beta, ga = p->gamma;
    switch (p->op) {
    case CINFER__EW_RELU: return v < 0 ? 0 : v;
    case CINFER__EW_LEAKY_RELU: return v < 0 ? v * al : v;
    case CINFER__EW_CLIP: return v < j->lo ? j->lo : (v > j->hi ? j->hi : v);
    case CINFER__EW_SIGMOID: return 1.0 / (1.0 + exp(-v));
    case CINFER__EW_HARD_SIGMOID: return fmin(1.0, fmax(0.0, v * al + be));
    case CINFER__EW_HARD_SWISH: return v * fmin(1.0, fmax(0.0, v / 6.0 + 0.5));
    case CINFER__EW_GELU:
        if (j->p->gelu_tanh)
            return 0.5 * v * (1.0 + tanh(sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
        return 0.5 * v * erfc(-v / sqrt(2.0));
    case CINFER__EW_ELU: return v < 0 ? al * expm1(v) : v;
    case CINFER__EW_SELU: return v <= 0 ? ga * al * expm1(v) : ga * v;
    case CINFER__EW_CELU: return v < 0 ? al * expm1(v / al) : v;
    case CINFER__EW_THRESHOLDED_RELU: return v > al ? v : 0;
    case CINFER__EW_SHRINK: return v < -al ? v + be : (v > al ? v - be : 0);
    case CINFER__EW_SOFTPLUS: return softplus_d(v);
    case CINFER__EW_SOFTSIGN: return v / (1.0 + fabs(v));
    default: return NAN;
    }
}

static double math_d(const un_job *j, double v) {
    switch (j->p->op) {
    case CINFER__EW_NEG: return -v;
    case CINFER__EW_ABS: return fabs(v);
    case CINFER__EW_SIGN: return v > 0 ? 1.0 : (v < 0 ? -1.0 : v);
    case CINFER__EW_SQRT: return sqrt(v);
    case CINFER__EW_EXP: return exp(v);
    case CINFER__EW_LOG: return log(v);
    case CINFER__EW_RECIPROCAL: return 1.0 / v;
    case CINFER__EW_ERF: return erf(v);
    case CINFER__EW_TANH: return tanh(v);
    case CINFER__EW_FLOOR: return floor(v);
    case CINFER__EW_CEIL: return ceil(v);
    case CINFER__EW_ROUND: return nearbyint(v);
    case CINFER__EW_SIN: return sin(v);
    case CINFER__EW_COS: return cos(v);
    case CINFER__EW_TAN: return tan(v);
    case CINFER__EW_ASIN: return asin(v);
    case CINFER__EW_ACOS: return acos(v);
    case CINFER__EW_ATAN: return atan(v);
    case CINFER__EW_SINH: return sinh(v);
    case CINFER__EW_COSH: return cosh(v);
    case CINFER__EW_ASINH: return asinh(v);
    case CINFER__EW_ACOSH: return acosh(v);
    case CINFER__EW_ATANH: return atanh(v);
    default: return activation_d(j, v);
    }
}

/* Integer inputs: Neg, Abs, Relu, Sign and Clip exactly; anything else through double. */
static int64_t math_i(const un_job *j, int64_t v, bool uns) {
    switch (j->p->op) {
    case CINFER__EW_NEG: return (int64_t)(0 - (uint64_t)v);
    case CINFER__EW_ABS: return (v < 0 && !uns) ? (int64_t)(0 - (uint64_t)v) : v;
    case CINFER__EW_RELU: return (v < 0 && !uns) ? 0 : v;
    case CINFER__EW_SIGN: return uns ? v != 0 : (v > 0) - (v < 0);
    case CINFER__EW_CLIP: {
        int64_t lo = j->ilo, hi = j->ihi;
        if (uns) {
            uint64_t u = (uint64_t)v;
            return (int64_t)(u < (uint64_t)lo ? (uint64_t)lo : u > (uint64_t)hi ? (uint64_t)hi : u);
        }
        return v < lo ? lo : (v > hi ? hi : v);
    }
    default: return cinfer__ew_f2i(math_d(j, (double)v));
    }
}

static void chunk_generic(void *arg, int64_t begin, int64_t end) {
    const un_job *j = arg;
    bool flt = cinfer__dtype_is_float(j->xdt), uns = cinfer__ew_is_unsigned(j->xdt);
    for (int64_t i = begin; i < end; i++) {
        if (flt) cinfer__ew_st_f(j->y, i, j->ydt, math_d(j, cinfer__ew_ld_f(j->x, i, j->xdt)));
        else cinfer__ew_st_i(j->y, i, j->ydt, math_i(j, cinfer__ew_ld_i(j->x, i, j->xdt), uns));
    }
}

/* ---- Predicates: IsNaN, IsInf, Not ---------------------------------------------------------- */

static void chunk_predicate(void *arg, int64_t begin, int64_t end) {
    const un_job *j = arg;
    const cinfer__ew_params *p = j->p;
    uint8_t *y = j->y;
    if (p->op == CINFER__EW_NOT) {
        const uint8_t *x = j->x;
        for (int64_t i = begin; i < end; i++) y[i] = !x[i];
        return;
    }
    for (int64_t i = begin; i < end; i++) {
        double v = cinfer__ew_ld_f(j->x, i, j->xdt);
        if (p->op == CINFER__EW_ISNAN) y[i] = v != v;
        else y[i] = (v == INFINITY && p->detect_pos) || (v == -INFINITY && p->detect_neg);
    }
}

/* ---- Driver ---------------------------------------------------------------------------------- */

/* Clip's bounds: attributes before opset 11, else the optional scalar inputs, defaulting to
 * the dtype's whole range. */
static void clip_bounds(const cinfer__cpu_ctx *ctx, un_job *j) {
    const cinfer__ew_params *p = j->p;
    if (p->opset < 11) { /* float-only then */
        j->lo = p->clip_min;
        j->hi = p->clip_max;
        j->ilo = INT64_MIN;
        j->ihi = INT64_MAX;
        return;
    }
    const cinfer_tensor *lo = ctx->n_in > 1 ? ctx->in[1] : NULL;
    const cinfer_tensor *hi = ctx->n_in > 2 ? ctx->in[2] : NULL;
    bool uns = cinfer__ew_is_unsigned(j->xdt);
    j->lo = lo ? cinfer__ew_ld_f(lo->data, 0, lo->dtype) : -INFINITY;
    j->hi = hi ? cinfer__ew_ld_f(hi->data, 0, hi->dtype) : INFINITY;
    j->ilo = lo ? cinfer__ew_ld_i(lo->data, 0, lo->dtype) : uns ? 0 : INT64_MIN;
    j->ihi = hi ? cinfer__ew_ld_i(hi->data, 0, hi->dtype) : uns ? -1 : INT64_MAX;
}

cinfer_status cinfer__ew_run_unary(cinfer__cpu_ctx *ctx) {
    const cinfer__ew_params *p = ctx->node->params;
    const cinfer_tensor *x = ctx->in[0];
    cinfer_tensor *y = ctx->out[0];
    un_job j = {p, x->data, y->data, x->dtype, y->dtype, 0, 0, 0, 0, cpu_has_avx2(),
                cpu_has_avx512()};
    if (p->op == CINFER__EW_CLIP) clip_bounds(ctx, &j);
    int64_t n = cinfer_tensor_numel(x);
    cinfer__range_fn fn = chunk_generic;
    if (p->kind == CINFER__EW_KIND_PREDICATE) fn = chunk_predicate;
    else if (x->dtype == CINFER_DTYPE_FLOAT) fn = chunk_f32;
    cinfer__ew_flat_run(ctx->pool, n, fn, &j);
    return CINFER_OK;
}
