// Harness for the CUDA kernel tests: seeded inputs, device buffers with guard bytes, the
// tolerance checks, broadcast helpers, host fp16 / bf16, float64 references several tests
// share, the half-mode supports checks and the test driver (skips without a device).
#ifndef CINFER_TEST_KERNEL_HARNESS_H
#define CINFER_TEST_KERNEL_HARNESS_H

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "cuda/module.h"
#include "cuda/module_impl.h"
#include "kernels.h"

// DESIGN.md's tolerance for a CUDA fp32 op against its reference. CUDA's single-precision
// functions used here (expf, logf, tanhf, erff, expm1f, powf) are within 4 ulp (CUDA C
// Programming Guide, "Mathematical Functions"), about 5e-7 of each value and so well inside
// rtol * max|ref|: no op needs a looser bound.
#define RTOL 1e-5
#define ATOL 1e-6
// DESIGN.md, "CUDA fp16/bf16 op vs CPU fp32": each output is rounded once to 8 (bf16) or 11
// (fp16) significant bits, within 2^-9 of its value; rtol 1e-2 of max|ref| covers that and
// the fp32 arithmetic inside with room to spare.
#define HALF_RTOL 1e-2
#define HALF_ATOL 1e-3
#define GUARD 64         // bytes after every output that no kernel may touch
#define GUARD_BYTE 0xA5
#define OUT_BYTE 0xFF    // outputs start as NaN / -1 / 255, so an unwritten element shows
#define MAX_ALLOCS 4096

// The activation types of the half paths, each with its tolerance.
typedef struct ftype {
    cinfer_k_dtype dt;
    const char *name;
    double rtol, atol;
} ftype;

static const ftype k_types[] = {
    {CINFER_K_F32, "f32", RTOL, ATOL},
    {CINFER_K_F16, "f16", HALF_RTOL, HALF_ATOL},
    {CINFER_K_BF16, "bf16", HALF_RTOL, HALF_ATOL},
};
#define N_TYPES (sizeof k_types / sizeof k_types[0])

static inline size_t esize(cinfer_k_dtype dt) { return dt == CINFER_K_F32 ? 4 : 2; }

// MaxPool / AveragePool of one [h][w] plane at output (oy, ox), in float64, straight from
// ONNX's definition of the window (count_include_pad counts the padded positions).
static inline double pool2d_ref(const float *xp, int64_t h, int64_t w, const cinfer_k_pool2d *p,
                                int64_t oy, int64_t ox, bool is_max) {
    double acc = is_max ? -INFINITY : 0.0;
    int64_t real = 0, padded = 0;
    for (int64_t kh = 0; kh < p->kernel_h; kh++)
        for (int64_t kw = 0; kw < p->kernel_w; kw++) {
            int64_t iy = oy * p->stride_h - p->pad_top + kh * p->dil_h;
            int64_t ix = ox * p->stride_w - p->pad_left + kw * p->dil_w;
            if (iy >= -p->pad_top && iy < h + p->pad_bottom && ix >= -p->pad_left &&
                ix < w + p->pad_right)
                padded++;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            double v = xp[iy * w + ix];
            acc = is_max ? fmax(acc, v) : acc + v;
            real++;
        }
    return is_max ? acc : acc / (double)(p->count_include_pad ? padded : real);
}

static cudaStream_t g_stream;
static uint64_t g_seed, g_rng;
static int g_fail;
static const char *g_test;
static void *g_host[MAX_ALLOCS], *g_dev[MAX_ALLOCS];
static int g_nhost, g_ndev;

static inline void failf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("  %s: ", g_test);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    g_fail = 1;
}

/* ---- random inputs (splitmix64) ---------------------------------------------------------- */

static inline uint64_t rng_next(void) {
    uint64_t z = (g_rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline double urand(double lo, double hi) {
    return lo + (hi - lo) * (double)(rng_next() >> 11) * 0x1.0p-53;
}

static inline int64_t irand(int64_t lo, int64_t hi) {  // inclusive
    return lo + (int64_t)(rng_next() % (uint64_t)(hi - lo + 1));
}

/* ---- allocations, released after each test ------------------------------------------------ */

static inline void *hmalloc(size_t bytes) {
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p || g_nhost == MAX_ALLOCS) {
        fprintf(stderr, "test_kernels: out of host memory or allocation slots\n");
        exit(1);
    }
    g_host[g_nhost++] = p;
    return p;
}

static inline void release_all(void) {
    while (g_nhost) free(g_host[--g_nhost]);
    while (g_ndev) cudaFree(g_dev[--g_ndev]);
}

static inline void *dmalloc(size_t bytes) {
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes + GUARD);
    if (e != cudaSuccess || g_ndev == MAX_ALLOCS) {
        failf("cudaMalloc(%zu): %s", bytes + GUARD, cudaGetErrorString(e));
        return NULL;
    }
    g_dev[g_ndev++] = p;
    return p;
}

// cudaMemcpy from pageable memory and cudaMemset run on the legacy default stream and may
// return before they finish, and g_stream (non-blocking) does not wait for that stream: wait
// for the device before any kernel may read what they wrote.
static inline void settle(const char *what) {
    cudaError_t e = cudaDeviceSynchronize();
    if (e != cudaSuccess) failf("%s: %s", what, cudaGetErrorString(e));
}

// A device copy of bytes of host data (guard-sized slack after it, never read).
static inline void *d_in(const void *host, size_t bytes) {
    void *p = dmalloc(bytes);
    if (p && bytes) {
        cudaError_t e = cudaMemcpy(p, host, bytes, cudaMemcpyHostToDevice);
        if (e != cudaSuccess) failf("cudaMemcpy to device: %s", cudaGetErrorString(e));
        settle("cudaMemcpy to device");
    }
    return p;
}

// A device output of bytes, prefilled with OUT_BYTE, followed by GUARD bytes of GUARD_BYTE.
static inline void *d_out(size_t bytes) {
    unsigned char *p = dmalloc(bytes);
    if (!p) return NULL;
    if (cudaMemset(p, OUT_BYTE, bytes) != cudaSuccess ||
        cudaMemset(p + bytes, GUARD_BYTE, GUARD) != cudaSuccess)
        failf("cudaMemset failed");
    settle("cudaMemset");
    return p;
}

// d_out whose first copy_bytes hold host's bytes: a buffer a kernel updates in place, or
// whose untouched prefix is checked later.
static inline void *d_out_from(size_t bytes, const void *host, size_t copy_bytes,
                               const char *what) {
    void *p = d_out(bytes);
    if (p && cudaMemcpy(p, host, copy_bytes, cudaMemcpyHostToDevice) != cudaSuccess)
        failf("%s: upload", what);
    settle(what);
    return p;
}

static inline void launched(cudaError_t e, const char *what) {
    if (e != cudaSuccess) failf("%s: launch returned %s", what, cudaGetErrorString(e));
}

// Waits for the stream, copies an output back and checks its guard bytes; returns a host copy
// (OUT_BYTE-filled when anything failed, so comparisons fail too).
static inline void *fetch(const void *dev, size_t bytes, const char *what) {
    unsigned char *h = hmalloc(bytes + GUARD);
    memset(h, OUT_BYTE, bytes + GUARD);
    if (!dev) return h;
    cudaError_t e = cudaStreamSynchronize(g_stream);
    if (e == cudaSuccess) e = cudaMemcpy(h, dev, bytes + GUARD, cudaMemcpyDeviceToHost);
    if (e != cudaSuccess) {
        failf("%s: %s", what, cudaGetErrorString(e));
        memset(h, OUT_BYTE, bytes + GUARD);
        return h;
    }
    for (size_t i = 0; i < GUARD; i++) {
        if (h[bytes + i] != GUARD_BYTE) {
            failf("%s: guard byte %zu after the output was overwritten", what, i);
            break;
        }
    }
    return h;
}

/* ---- comparisons ---------------------------------------------------------------------------- */

// Passes when max|got - ref| <= atol + rtol * max|ref|; NaN or Inf in got never passes.
static inline void check_f32(const char *what, const float *got, const double *ref, size_t n,
                      double rtol, double atol) {
    double max_ref = 0.0, worst = -1.0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) max_ref = fmax(max_ref, fabs(ref[i]));
    double tol = atol + rtol * max_ref;
    for (size_t i = 0; i < n; i++) {
        double d = isfinite(got[i]) ? fabs((double)got[i] - ref[i]) : INFINITY;
        if (d > worst) {
            worst = d;
            at = i;
        }
    }
    if (n && !(worst <= tol))
        failf("%s: [%zu] got %.9g, expected %.9g (|diff| %.3g > tol %.3g, n %zu)", what, at,
              (double)got[at], ref[at], worst, tol, n);
}

// Integer and bool outputs must match exactly.
static inline void check_exact(const char *what, const void *got, const void *ref, size_t n,
                        size_t es) {
    for (size_t i = 0; i < n; i++) {
        if (memcmp((const char *)got + i * es, (const char *)ref + i * es, es) == 0) continue;
        int64_t g = 0, r = 0;
        if (es == 8) {
            memcpy(&g, (const char *)got + i * es, 8);
            memcpy(&r, (const char *)ref + i * es, 8);
        } else if (es == 4) {
            int32_t g4, r4;
            memcpy(&g4, (const char *)got + i * es, 4);
            memcpy(&r4, (const char *)ref + i * es, 4);
            g = g4;
            r = r4;
        } else {
            g = ((const unsigned char *)got)[i * es];
            r = ((const unsigned char *)ref)[i * es];
        }
        failf("%s: [%zu] got %lld, expected %lld (n %zu)", what, i, (long long)g, (long long)r,
              n);
        return;
    }
}

/* ---- shapes ---------------------------------------------------------------------------------- */

static inline cinfer_k_dims dims_of(int rank, const int64_t *size) {
    cinfer_k_dims d;
    memset(&d, 0, sizeof d);
    d.rank = rank;
    for (int i = 0; i < rank; i++) d.size[i] = size[i];
    return d;
}

static inline int64_t count_of(cinfer_k_dims d) {
    int64_t n = 1;
    for (int i = 0; i < d.rank; i++) n *= d.size[i];
    return n;
}

// numpy's broadcast of two shapes; rank -1 when they do not broadcast (a bad test case).
static inline cinfer_k_dims bcast_dims(cinfer_k_dims a, cinfer_k_dims b) {
    cinfer_k_dims o;
    memset(&o, 0, sizeof o);
    o.rank = a.rank > b.rank ? a.rank : b.rank;
    for (int d = 0; d < o.rank; d++) {
        int ka = d - (o.rank - a.rank), kb = d - (o.rank - b.rank);
        int64_t x = ka >= 0 ? a.size[ka] : 1, y = kb >= 0 ? b.size[kb] : 1;
        if (x != y && x != 1 && y != 1) o.rank = -1;
        if (o.rank < 0) break;
        o.size[d] = x == 1 ? y : x;
    }
    if (o.rank < 0) failf("test case shapes do not broadcast");
    return o;
}

// The dense index in `in` that broadcasting reads for output element i (decoded independently
// of the kernels' helpers: coordinate by coordinate, size-1 dims pinned to 0).
static inline int64_t bcast_src(int64_t i, cinfer_k_dims out, cinfer_k_dims in) {
    int64_t off = 0, stride = 1;
    for (int d = out.rank - 1; d >= 0; d--) {
        int64_t c = i % out.size[d];
        i /= out.size[d];
        int k = d - (out.rank - in.rank);
        if (k < 0) continue;
        off += (in.size[k] == 1 ? 0 : c) * stride;
        stride *= in.size[k];
    }
    return off;
}

static inline cinfer_k_strides strides_for(cinfer_k_dims in, cinfer_k_dims out) {
    return cinfer_k_broadcast_strides(in.size, in.rank, &out);
}

// ONNX axis attribute to a dimension index, the mapping callers do before calling a kernel.
static inline int norm_axis(int axis, int rank) {
    return axis < 0 ? axis + rank : axis;
}

static inline float *rand_f32(size_t n, double lo, double hi) {
    float *p = hmalloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = (float)urand(lo, hi);
    return p;
}

// Magnitudes in [lo, hi] with a random sign: never zero, safe to divide by.
static inline float *rand_f32_signed(size_t n, double lo, double hi) {
    float *p = rand_f32(n, lo, hi);
    for (size_t i = 0; i < n; i++)
        if (rng_next() & 1) p[i] = -p[i];
    return p;
}

static inline double *ref_f64(size_t n) {
    return hmalloc(n * sizeof(double));
}

static inline int64_t *rand_i64(size_t n, int64_t lo, int64_t hi, int nonzero) {
    int64_t *p = hmalloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) {
        do p[i] = irand(lo, hi);
        while (nonzero && p[i] == 0);
    }
    return p;
}

// Random bytes for the dtype-agnostic kernels (compared exactly).
static inline void *rand_bytes(size_t bytes) {
    unsigned char *p = hmalloc(bytes);
    for (size_t i = 0; i < bytes; i++) p[i] = (unsigned char)(rng_next() >> 56);
    return p;
}

/* ---- 16-bit floats on the host (independent of the kernels' and the core's conversions) ---- */

// x rounded to nearest even as fp16 bits: NaN stays a (quiet) NaN, magnitudes from 65520 up
// (infinity included) give infinity, below 2^-14 a subnormal (or zero).
static inline uint16_t host_f16_bits(double x) {
    uint16_t sign = signbit(x) ? 0x8000u : 0u;
    double a = fabs(x);
    if (isnan(a)) return sign | 0x7E00u;
    if (a >= 65520.0) return sign | 0x7C00u;
    // subnormals (and zero) are multiples of 2^-24; rounding up to 2^-14 gives its bits too
    if (a < 0x1p-14) return sign | (uint16_t)nearbyint(a * 0x1p24);
    int e;
    frexp(a, &e);                           // a = m * 2^e, m in [0.5, 1)
    double step = ldexp(1.0, e - 11);       // 11 significant bits
    double r = nearbyint(a / step) * step;  // ties to even (the default rounding mode)
    frexp(r, &e);                           // r may have rounded up to 2^e
    int exp = e - 1;                        // r = 1.f * 2^exp
    uint16_t mant = (uint16_t)(ldexp(r, -exp) * 1024.0 - 1024.0);
    return sign | (uint16_t)((exp + 15) << 10) | mant;
}

static inline double host_f16_value(uint16_t h) {
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double s = (h & 0x8000u) ? -1.0 : 1.0;
    if (e == 0) return s * ldexp(m, -24);
    if (e == 31) return m ? NAN : s * INFINITY;
    return s * ldexp(1024 + m, e - 25);
}

// f rounded to nearest even as bfloat16 bits (the upper half of a float); NaN stays quiet.
static inline uint16_t host_bf16_bits(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

static inline double host_bf16_value(uint16_t h) {
    uint32_t x = (uint32_t)h << 16;
    float f;
    memcpy(&f, &x, 4);
    return f;
}

// x as bits of t (CINFER_K_F16 or CINFER_K_BF16): fp16 rounds x itself, bf16 rounds x as a
// float first (exact for a float argument either way).
static inline uint16_t half_bits(cinfer_k_dtype t, double x) {
    return t == CINFER_K_F16 ? host_f16_bits(x) : host_bf16_bits((float)x);
}

static inline double half_value(cinfer_k_dtype t, uint16_t h) {
    return t == CINFER_K_F16 ? host_f16_value(h) : host_bf16_value(h);
}

/* ---- float64 references shared by the fp32 and the half tests ------------------------------- */

static inline double binary_ref(cinfer_k_binary_op op, double a, double b) {
    switch (op) {
    case CINFER_K_ADD: return a + b;
    case CINFER_K_SUB: return a - b;
    case CINFER_K_MUL: return a * b;
    case CINFER_K_DIV: return a / b;
    case CINFER_K_POW: return pow(a, b);
    case CINFER_K_MAX: return a > b ? a : b;
    case CINFER_K_MIN: return a < b ? a : b;
    case CINFER_K_PRELU: return a < 0 ? a * b : a;
    }
    return NAN;
}

static inline uint8_t compare_ref(cinfer_k_compare_op op, double a, double b) {
    switch (op) {
    case CINFER_K_EQUAL: return a == b;
    case CINFER_K_LESS: return a < b;
    case CINFER_K_LESS_EQUAL: return a <= b;
    case CINFER_K_GREATER: return a > b;
    case CINFER_K_GREATER_EQUAL: return a >= b;
    }
    return 2;
}

static inline double softplus_ref(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

// alpha and beta as the op reads them (LeakyRelu, Clip's bounds, HardSigmoid, Elu, Celu,
// ThresholdedRelu; Selu alpha and gamma; Shrink lambd and bias).
static inline double unary_ref(cinfer_k_unary_op op, double x, double alpha, double beta) {
    switch (op) {
    case CINFER_K_SQRT: return sqrt(x);
    case CINFER_K_EXP: return exp(x);
    case CINFER_K_LOG: return log(x);
    case CINFER_K_NEG: return -x;
    case CINFER_K_ABS: return fabs(x);
    case CINFER_K_RECIPROCAL: return 1.0 / x;
    case CINFER_K_ERF: return erf(x);
    case CINFER_K_TANH: return tanh(x);
    case CINFER_K_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case CINFER_K_RELU: return x > 0 ? x : 0.0;
    case CINFER_K_LEAKY_RELU: return x >= 0 ? x : alpha * x;
    case CINFER_K_CLIP: return fmin(fmax(x, alpha), beta);
    case CINFER_K_HARD_SIGMOID: return fmin(fmax(alpha * x + beta, 0.0), 1.0);
    case CINFER_K_HARD_SWISH: return x * fmin(fmax(x / 6.0 + 0.5, 0.0), 1.0);
    case CINFER_K_GELU_ERF: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    case CINFER_K_GELU_TANH:  // 0.797... = sqrt(2 / pi)
        return 0.5 * x * (1.0 + tanh(0.79788456080286535588 * (x + 0.044715 * x * x * x)));
    case CINFER_K_FLOOR: return floor(x);
    case CINFER_K_CEIL: return ceil(x);
    case CINFER_K_ELU: return x >= 0 ? x : alpha * expm1(x);
    case CINFER_K_SIN: return sin(x);
    case CINFER_K_COS: return cos(x);
    case CINFER_K_TAN: return tan(x);
    case CINFER_K_ASIN: return asin(x);
    case CINFER_K_ACOS: return acos(x);
    case CINFER_K_ATAN: return atan(x);
    case CINFER_K_SINH: return sinh(x);
    case CINFER_K_COSH: return cosh(x);
    case CINFER_K_ASINH: return asinh(x);
    case CINFER_K_ACOSH: return acosh(x);
    case CINFER_K_ATANH: return atanh(x);
    case CINFER_K_ROUND: return nearbyint(x);  // ties to even in the default rounding mode
    case CINFER_K_SIGN: return x > 0 ? 1.0 : x < 0 ? -1.0 : x;
    case CINFER_K_SOFTPLUS: return softplus_ref(x);
    case CINFER_K_SOFTSIGN: return x / (1.0 + fabs(x));
    case CINFER_K_MISH: return x * tanh(softplus_ref(x));
    case CINFER_K_SELU: return x <= 0 ? beta * alpha * expm1(x) : beta * x;
    case CINFER_K_CELU: return x < 0 ? alpha * expm1(x / alpha) : x;
    case CINFER_K_THRESHOLDED_RELU: return x > alpha ? x : 0.0;
    case CINFER_K_SHRINK: return x < -alpha ? x + beta : x > alpha ? x - beta : 0.0;
    case CINFER_K_UNARY_COUNT: break;
    }
    return NAN;
}

// Where unary_ref's op is defined and well conditioned, for random inputs: magnitudes in
// [*lo, *hi), signed or not (asin, acos and atanh inside (-1, 1), acosh from 1 up, tan away
// from its poles).
static inline void unary_domain(cinfer_k_unary_op op, double *lo, double *hi, bool *signed_) {
    *lo = 0.01, *hi = 6.0, *signed_ = true;
    switch (op) {
    case CINFER_K_SQRT: case CINFER_K_LOG: *lo = 0.1, *hi = 10.0, *signed_ = false; break;
    case CINFER_K_RECIPROCAL: *lo = 0.1, *hi = 10.0; break;
    case CINFER_K_ASIN: case CINFER_K_ACOS: case CINFER_K_ATANH: *hi = 0.95; break;
    case CINFER_K_ACOSH: *lo = 1.05, *hi = 10.0, *signed_ = false; break;
    case CINFER_K_TAN: *hi = 1.3; break;
    default: break;
    }
}

// Attribute values the kernel tests pass (alpha, beta): not the ONNX defaults where a default
// would hide a swapped argument (Selu's defaults differ enough from each other).
static inline void unary_test_args(cinfer_k_unary_op op, float *alpha, float *beta) {
    *alpha = 0.1f, *beta = 0.5f;
    switch (op) {
    case CINFER_K_CLIP: *alpha = -1.5f, *beta = 2.5f; break;
    case CINFER_K_HARD_SIGMOID: *alpha = 0.2f; break;
    case CINFER_K_SELU: *alpha = 1.6732632f, *beta = 1.0507010f; break;
    case CINFER_K_CELU: *alpha = 0.7f; break;
    case CINFER_K_THRESHOLDED_RELU: *alpha = 0.4f; break;
    case CINFER_K_SHRINK: *alpha = 0.5f, *beta = 0.2f; break;
    default: break;
    }
}

// Every reduction of cinfer_k_reduce_op over the middle axis of a dense [outer, red, inner]
// view of x, in float64.
static inline void reduce_ref(cinfer_k_reduce_op op, const float *x, int64_t outer, int64_t red,
                              int64_t inner, double *ref) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double acc = op == CINFER_K_REDUCE_MAX ? -INFINITY
                         : op == CINFER_K_REDUCE_MIN ? INFINITY : 0.0;
            for (int64_t r = 0; r < red; r++) {
                double v = x[(o * red + r) * inner + i];
                switch (op) {
                case CINFER_K_REDUCE_MAX: acc = fmax(acc, v); break;
                case CINFER_K_REDUCE_MIN: acc = fmin(acc, v); break;
                case CINFER_K_REDUCE_SUM_SQUARE: case CINFER_K_REDUCE_L2: acc += v * v; break;
                case CINFER_K_REDUCE_L1: acc += fabs(v); break;
                default: acc += v; break;
                }
            }
            ref[o * inner + i] = op == CINFER_K_REDUCE_MEAN ? acc / red
                                 : op == CINFER_K_REDUCE_L2 ? sqrt(acc)
                                 : op == CINFER_K_REDUCE_LOG_SUM ? log(acc) : acc;
        }
}

// Softmax (or LogSoftmax) of each of rows rows of cols values of x, max-subtracted, into ref.
static inline void softmax_ref(const float *x, int64_t rows, int64_t cols, int is_log,
                               double *ref) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        double m = -INFINITY, s = 0.0;
        for (int64_t c = 0; c < cols; c++) m = fmax(m, xr[c]);
        for (int64_t c = 0; c < cols; c++) s += exp(xr[c] - m);
        for (int64_t c = 0; c < cols; c++)
            ref[r * cols + c] = is_log ? xr[c] - m - log(s) : exp(xr[c] - m) / s;
    }
}

// Mean and 1/sqrt(var + eps) of n floats at x with stride 1, in double.
static inline void row_stats(const float *x, int64_t n, double eps, double *mean, double *inv) {
    double s = 0.0, q = 0.0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    *mean = s / n;
    for (int64_t i = 0; i < n; i++) q += (x[i] - *mean) * (x[i] - *mean);
    *inv = 1.0 / sqrt(q / n + eps);
}

// Normalized rows checked one at a time. The kernel subtracts an fp32 mean, which carries an
// fp32 rounding error of a few ulp of the row's values; the normalization multiplies that by
// inv_std, so a row of nearly equal values (a small std, common with 3 or 7 columns) shows it
// amplified. Each row's bound therefore adds 8 * FLT_EPSILON * max|x_row| * inv_std *
// max|gamma|, the error of the input's own fp32 precision, to atol; well-conditioned rows keep
// the plain rtol / atol bound.
static inline void check_norm_rows(const char *what, const float *y, const double *ref,
                                   const float *x, int64_t rows, int64_t cols, const double *inv,
                                   double gamma_max, double rtol, double atol) {
    for (int64_t r = 0; r < rows && !g_fail; r++) {
        double xmax = 0.0;
        for (int64_t c = 0; c < cols; c++) xmax = fmax(xmax, fabs(x[r * cols + c]));
        double row_atol = atol + 8.0 * FLT_EPSILON * xmax * inv[r] * gamma_max;
        check_f32(what, y + r * cols, ref + r * cols, (size_t)cols, rtol, row_atol);
    }
}

static inline double max_abs(const float *v, int64_t n) {
    double m = 0.0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(v[i]));
    return m;
}

/* ---- the module's supports in half mode (no device needed) ---------------------------------- */

// A tensor description for supports: dtype, shape, and data (a constant) or NULL (an
// activation).
static inline cinfer_tensor node_tensor(cinfer_dtype dt, int rank, const int64_t *dims,
                                        const void *data) {
    cinfer_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = rank;
    for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
    t.data = (void *)data;
    return t;
}

// One node as the core would plan it (float storage) and what the module must answer.
typedef struct node_case {
    const char *op, *domain;
    int opset, n_in;
    cinfer_tensor in[5], out;
    int n_attrs;
    const cinfer__attr *attrs;
    int accept_fp32, accept_half;  // supports answers CINFER_OK (1) at fp32 / at fp16 and bf16
} node_case;

// The module's entry point (module_api.c; libcinfer finds it with dlsym).
const cinfer_cuda_api *cinfer_cuda_module_api(void);

// The node of case c as the core shows it to the module at precision p (no layouts: NCHW), in
// the caller's storage; an input whose dtype is 0 is an omitted optional one.
typedef struct node_view {
    cinfer__node node;
    const cinfer_tensor *ins[5], *outs[1];
    const void *weights[5];
    cinfer_cuda_node n;
} node_view;

static inline void node_view_of(const node_case *c, cinfer_precision p, node_view *v) {
    memset(v, 0, sizeof *v);
    v->node = (cinfer__node){.name = "n", .op_type = (char *)c->op, .domain = (char *)c->domain,
                             .opset = c->opset, .n_attrs = c->n_attrs,
                             .attrs = (cinfer__attr *)c->attrs};
    for (int i = 0; i < c->n_in; i++) v->ins[i] = c->in[i].dtype ? &c->in[i] : NULL;
    v->outs[0] = &c->out;
    v->n = (cinfer_cuda_node){&v->node, c->n_in, 1, v->ins, v->outs, p, v->weights};
}

// Asks the module as the core would, with the planned (float) storage at precision p; at
// fp16/bf16 a half_io op judges the node's 16-bit view. A refused view leaves the step on float
// activations (module_api.c half_mode): not half_io, and accepted as in fp32. Prints what
// differs; returns 1 when both answers are the expected ones.
static inline int check_node(const node_case *c, cinfer_precision p) {
    const cinfer_cuda_api *api = cinfer_cuda_module_api();
    node_view v;
    node_view_of(c, p, &v);
    char why[CINFER_CUDA_MSG_LEN] = "";
    int ok = api->supports(&v.n, why) == CINFER_OK, half = api->half_io(&v.n) != 0;
    int want_half = p != CINFER_PRECISION_FP32 && c->accept_half;
    int want = want_half ? 1 : c->accept_fp32;
    if (ok == want && half == want_half) return 1;
    printf("  %s (precision %d): supports %d (%s), half_io %d; expected %d, %d\n", c->op, (int)p,
           ok, why, half, want, want_half);
    return 0;
}

// check_node on each of n cases at fp32, fp16 and bf16; returns 1 when every answer was right.
static inline int check_nodes(const node_case *cases, size_t n) {
    const cinfer_precision ps[3] = {CINFER_PRECISION_FP32, CINFER_PRECISION_FP16,
                                    CINFER_PRECISION_BF16};
    int ok = 1;
    for (size_t c = 0; c < n; c++)
        for (int k = 0; k < 3; k++) ok &= check_node(&cases[c], ps[k]);
    return ok;
}

/* ---- driver -------------------------------------------------------------------------------- */

typedef struct kernel_test {
    const char *name;
    void (*fn)(void);
} kernel_test;

// Runs the tests (only CINFER_TEST_ONLY's when set) with the seed CINFER_TEST_SEED or a fixed
// one; returns the exit status: 77 without a device, 1 when any test failed.
static inline int run_kernel_tests(const kernel_test *tests, int count) {
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        printf("skipped: no CUDA device\n");
        return 77;
    }
    cudaError_t e = cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        printf("cudaStreamCreateWithFlags: %s\n", cudaGetErrorString(e));
        return 1;
    }
    const char *env = getenv("CINFER_TEST_SEED");
    g_seed = env ? strtoull(env, NULL, 0) : 20261126u;
    const char *only = getenv("CINFER_TEST_ONLY");  // one test by name, when debugging
    int failed = 0, total = 0;
    for (int t = 0; t < count; t++) {
        if (only && strcmp(only, tests[t].name) != 0) continue;
        total++;
        g_test = tests[t].name;
        g_fail = 0;
        g_rng = g_seed * 1000003u + (uint64_t)t;  // each test reproducible on its own
        tests[t].fn();
        release_all();
        if (g_fail)
            printf("%-20s failed (CINFER_TEST_SEED=%llu)\n", g_test, (unsigned long long)g_seed);
        else
            printf("%-20s passed\n", g_test);
        failed += g_fail;
    }
    cudaStreamDestroy(g_stream);
    printf("%d of %d kernel tests passed\n", total - failed, total);
    return failed ? 1 : 0;
}

#endif
