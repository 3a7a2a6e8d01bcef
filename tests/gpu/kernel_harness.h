// Harness for the CUDA kernel tests: seeded inputs, device buffers with guard bytes, the
// tolerance checks, broadcast helpers and the test driver (skips without a device).
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

#include "kernels.h"

// DESIGN.md's tolerance for a CUDA fp32 op against its reference. CUDA's single-precision
// functions used here (expf, logf, tanhf, erff, expm1f, powf) are within 4 ulp (CUDA C
// Programming Guide, "Mathematical Functions"), about 5e-7 of each value and so well inside
// rtol * max|ref|: no op needs a looser bound.
#define RTOL 1e-5
#define ATOL 1e-6
#define GUARD 64         // bytes after every output that no kernel may touch
#define GUARD_BYTE 0xA5
#define OUT_BYTE 0xFF    // outputs start as NaN / -1 / 255, so an unwritten element shows
#define MAX_ALLOCS 4096

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
