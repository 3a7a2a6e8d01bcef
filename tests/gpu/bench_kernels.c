// Kernel-level timings of the fused and 16-bit kernels at the shapes of issue 4's models, for
// docs/cuda-kernels.md's "reached" figures: each kernel alone on device buffers of random
// values, CUDA events around each launch, the median of many. Not a test: it checks nothing
// but the launches, and prints one line per case (microseconds, GB/s of the compulsory
// traffic, TFLOP/s where there are FLOPs to count). tools/gpu-check runs it.
// Without a usable device it prints "skipped: no CUDA device" and exits 77.
#include "kernel_harness.h"

#define REPS 25

typedef cudaError_t (*launch_fn)(const void *arg);

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

// Median microseconds of one launch over REPS timed runs after 3 untimed ones.
static double time_us(const char *what, launch_fn f, const void *arg) {
    cudaEvent_t t0, t1;
    if (cudaEventCreate(&t0) != cudaSuccess || cudaEventCreate(&t1) != cudaSuccess) {
        failf("%s: cudaEventCreate", what);
        return -1.0;
    }
    float ms[REPS];
    for (int i = 0; i < 3; i++) launched(f(arg), what);
    for (int i = 0; i < REPS; i++) {
        cudaEventRecord(t0, g_stream);
        launched(f(arg), what);
        cudaEventRecord(t1, g_stream);
        cudaEventSynchronize(t1);
        cudaEventElapsedTime(&ms[i], t0, t1);
    }
    cudaEventDestroy(t0);
    cudaEventDestroy(t1);
    qsort(ms, REPS, sizeof ms[0], cmp_float);
    return 1000.0 * ms[REPS / 2];
}

static void report(const char *what, double us, double bytes, double flops) {
    if (us <= 0.0) return;
    printf("%-52s %9.1f us %8.0f GB/s", what, us, bytes / us * 1e-3);
    if (flops > 0.0) printf(" %7.1f TFLOP/s", flops / us * 1e-6);
    printf("\n");
    fflush(stdout);
}

// n random fp16 values in [-2, 2) on the device: a block of 2^16 made on the host, repeated
// (timings do not depend on the values; making hundreds of millions on the host would).
static void *d_half_rand(size_t n) {
    enum { BLOCK = 1 << 16 };
    uint16_t *h = hmalloc(BLOCK * sizeof *h);
    for (size_t i = 0; i < BLOCK; i++) h[i] = host_f16_bits(urand(-2.0, 2.0));
    uint16_t *d = d_out(n * sizeof *d);
    for (size_t at = 0; d && at < n; at += BLOCK) {
        size_t len = n - at < BLOCK ? n - at : BLOCK;
        if (cudaMemcpy(d + at, h, len * sizeof *h, cudaMemcpyHostToDevice) != cudaSuccess) {
            failf("d_half_rand: cudaMemcpy");
            return NULL;
        }
    }
    return d;
}

/* ---- attention ------------------------------------------------------------------------- */

typedef struct att_arg {
    void *y;
    const void *q, *k, *v, *mask;
    cinfer_k_attention p;
} att_arg;

static cudaError_t att_launch(const void *a) {
    const att_arg *t = a;
    return cinfer_k_attention_half(t->y, t->q, t->k, t->v, t->mask, CINFER_K_F16, CINFER_K_F16,
                                   t->p, g_stream);
}

// B sequences of S tokens, H heads of D: Q, K and V read from one [B, S, 3 H D] projection
// (the row form BERT-base runs in), BERT's [B, 1, 1, S] key mask, Y [B, S, H, D].
static void bench_attention(int64_t b, int64_t h, int64_t s, int64_t d) {
    int64_t e = h * d, nqkv = b * s * 3 * e;
    void *qkv = d_half_rand((size_t)nqkv), *y = d_out((size_t)(b * s * e) * 2);
    uint16_t *mh = hmalloc((size_t)(b * s) * 2);
    for (int64_t i = 0; i < b * s; i++) mh[i] = host_f16_bits(i % s < s - 7 ? 0.0 : -10000.0);
    const void *mask = d_in(mh, (size_t)(b * s) * 2);
    if (!qkv || !y || !mask) return;
    att_arg t = {.y = y, .mask = mask};
    const uint16_t *base = qkv;
    t.q = base, t.k = base + e, t.v = base + 2 * e;
    memset(&t.p, 0, sizeof t.p);
    t.p.sq = t.p.skv = s, t.p.d = t.p.dv = d;
    t.p.batch.rank = 2;
    t.p.batch.size[0] = b, t.p.batch.size[1] = h;
    t.p.q_batch.s[0] = t.p.k_batch.s[0] = t.p.v_batch.s[0] = s * 3 * e;
    t.p.q_batch.s[1] = t.p.k_batch.s[1] = t.p.v_batch.s[1] = d;
    t.p.mask_batch.s[0] = s, t.p.mask_row = 0, t.p.mask_col = 1;
    t.p.q_row = t.p.k_j = t.p.v_row = 3 * e, t.p.k_d = 1;
    t.p.y_row = e, t.p.y_batch.s[0] = s * e, t.p.y_batch.s[1] = d;
    t.p.scale = 0.125f;
    double bytes = 2.0 * 4 * (double)(b * s * e) + 2.0 * (double)(b * s);
    double flops = 4.0 * (double)(b * h) * (double)s * (double)s * (double)d;
    static const struct {
        int32_t kernel;
        const char *name;
    } kernels[] = {{CINFER_K_ATTENTION_WMMA, "wmma"}, {CINFER_K_ATTENTION_MMA, "mma"}};
    for (int i = 0; i < 2; i++) {
        char what[96];
        snprintf(what, sizeof what, "attention fp16 %s b%lld h%lld s%lld d%lld (rows)",
                 kernels[i].name, (long long)b, (long long)h, (long long)s, (long long)d);
        t.p.kernel = kernels[i].kernel;
        report(what, time_us(what, att_launch, &t), bytes, flops);
    }
}

/* ---- SkipLayerNorm, GELU, head-merge copy, conv epilogue ------------------------------- */

typedef struct sln_arg {
    void *y;
    const void *a, *b;
    const float *gamma, *beta;
    cinfer_k_skip_ln p;
} sln_arg;

static cudaError_t sln_launch(const void *a) {
    const sln_arg *t = a;
    return cinfer_k_skip_layer_norm(CINFER_K_F16, t->y, NULL, t->a, t->b, CINFER_K_F16,
                                    CINFER_K_F32, t->gamma, t->beta, t->p, g_stream);
}

static void bench_skip_ln(int64_t rows, int64_t cols) {
    size_t n = (size_t)(rows * cols);
    sln_arg t = {.y = d_out(n * 2), .a = d_half_rand(n), .b = d_half_rand(n),
                 .gamma = d_in(rand_f32((size_t)cols, 0.5, 1.5), (size_t)cols * 4),
                 .beta = d_in(rand_f32((size_t)cols, -0.5, 0.5), (size_t)cols * 4)};
    if (!t.y || !t.a || !t.b || !t.gamma || !t.beta) return;
    memset(&t.p, 0, sizeof t.p);
    t.p.rows = dims_of(1, &rows);
    t.p.cols = dims_of(1, &cols);
    t.p.a_row.s[0] = t.p.b_row.s[0] = cols;
    t.p.a_col.s[0] = t.p.b_col.s[0] = t.p.gamma_col.s[0] = t.p.beta_col.s[0] = 1;
    t.p.epsilon = 1e-12f;
    char what[96];
    snprintf(what, sizeof what, "SkipLayerNorm fp16 [%lld, %lld]", (long long)rows,
             (long long)cols);
    report(what, time_us(what, sln_launch, &t), 3.0 * 2.0 * (double)n, 0.0);
}

typedef struct unary_arg {
    void *y;
    const void *x;
    size_t n;
} unary_arg;

static cudaError_t gelu_launch(const void *a) {
    const unary_arg *t = a;
    return cinfer_k_unary_h(CINFER_K_GELU_ERF, CINFER_K_F16, t->y, t->x, t->n, 0.0f, 0.0f,
                            g_stream);
}

static void bench_gelu(size_t n) {
    unary_arg t = {.y = d_out(n * 2), .x = d_half_rand(n), .n = n};
    if (!t.y || !t.x) return;
    char what[96];
    snprintf(what, sizeof what, "erf-GELU fp16 n=%zu", n);
    report(what, time_us(what, gelu_launch, &t), 2.0 * 2.0 * (double)n, 0.0);
}

typedef struct copy_arg {
    void *y;
    const void *x;
    cinfer_k_strides ys, xs;
    cinfer_k_dims dims;
} copy_arg;

static cudaError_t copy_launch(const void *a) {
    const copy_arg *t = a;
    return cinfer_k_copy_strided(t->y, t->ys, t->x, t->xs, t->dims, 2, g_stream);
}

// [b, h, s, d] -> [b, s, h, d] (a head merge Transpose), fp16.
static void bench_transpose(int64_t b, int64_t h, int64_t s, int64_t d) {
    size_t n = (size_t)(b * h * s * d);
    copy_arg t = {.y = d_out(n * 2), .x = d_half_rand(n)};
    if (!t.y || !t.x) return;
    int64_t dims[4] = {b, s, h, d};
    t.dims = dims_of(4, dims);
    t.ys.s[0] = s * h * d, t.ys.s[1] = h * d, t.ys.s[2] = d, t.ys.s[3] = 1;
    t.xs.s[0] = h * s * d, t.xs.s[1] = d, t.xs.s[2] = s * d, t.xs.s[3] = 1;
    char what[96];
    snprintf(what, sizeof what, "head-merge Transpose fp16 [%lld,%lld,%lld,%lld]",
             (long long)b, (long long)h, (long long)s, (long long)d);
    report(what, time_us(what, copy_launch, &t), 2.0 * 2.0 * (double)n, 0.0);
}

typedef struct epi_arg {
    void *y;
    const float *bias;
    const void *z;
    int64_t rows, channels;
} epi_arg;

static cudaError_t epi_launch(const void *a) {
    const epi_arg *t = a;
    return cinfer_k_conv_epilogue(CINFER_K_F16, t->y, t->bias, t->z, t->rows, t->channels, 1, 1,
                                  g_stream);
}

// The convolution epilogue on NHWC fp16 (bias + residual + ReLU, in place on Y).
static void bench_epilogue(int64_t rows, int64_t channels) {
    size_t n = (size_t)(rows * channels);
    epi_arg t = {.y = d_half_rand(n), .z = d_half_rand(n), .rows = rows, .channels = channels,
                 .bias = d_in(rand_f32((size_t)channels, -0.5, 0.5), (size_t)channels * 4)};
    if (!t.y || !t.z || !t.bias) return;
    char what[96];
    snprintf(what, sizeof what, "conv epilogue fp16 NHWC [%lld, %lld] +z relu", (long long)rows,
             (long long)channels);
    report(what, time_us(what, epi_launch, &t), 3.0 * 2.0 * (double)n, 0.0);
}

static void bench_all(void) {
    bench_attention(64, 12, 128, 64);  // BERT-base, batch 64
    bench_attention(8, 12, 512, 64);   // long sequences
    bench_attention(64, 12, 128, 128); // the largest head size
    bench_skip_ln(64 * 128, 768);
    bench_gelu((size_t)64 * 128 * 3072);
    bench_transpose(64, 12, 128, 64);
    bench_epilogue(256 * 56 * 56, 256);  // ResNet-50's layer1 output at batch 256
}

int main(void) {
    static const kernel_test tests[] = {{"bench_kernels", bench_all}};
    return run_kernel_tests(tests, 1);
}
