/* fp16/bf16 weights converted once per model per device (src/cuda/weights.c).
 *   --cache: the cache's bookkeeping on the host alone (no device; ctest cuda.weights_cache):
 *     one conversion per (weight, type) whatever the number of users or threads, references
 *     counted, the last release frees, failed conversions leave nothing, destroy frees all.
 *   no argument (GPU): GEMM steps prepared on two contexts of one device object, in two
 *     shapes, two precisions, and from two threads at once share one conversion per (weight,
 *     type); a folded constant and a context without a device object keep their own copies;
 *     every step's result is within DESIGN.md's "CUDA fp16/bf16 op vs CPU fp32" tolerance
 *     of a float64 reference. Then a model whose GEMMs share weights, loaded at fp16 through
 *     the runtime, runs from two threads at two batch sizes at once (several contexts and
 *     plans) and matches the CPU's fp32 within the same tolerance.
 * Without a device: "skipped: no CUDA device", exit 77. Seed: CINFER_TEST_SEED. */
#include <math.h>

#include "cuda/module_impl.h"
#include "cuda/weights.h"
#include "model_test.h"

#define LOW_RTOL 1e-2 /* DESIGN.md: CUDA fp16/bf16 op vs CPU fp32 */
#define LOW_ATOL 1e-3

/* ---- --cache: host-only conversions ---- */

static size_t host_converts, host_frees;
static bool host_fail_next;
static pthread_mutex_t host_mu = PTHREAD_MUTEX_INITIALIZER;

static cinfer_status host_convert(cinfer_cuda_ctx *ctx, const void *src, size_t n,
                                  cinfer_precision p, cinfer_cuda_weights_order order,
                                  void **out, cinfer_cuda_err *err) {
    (void)order;
    pthread_mutex_lock(&host_mu);
    bool fail = host_fail_next;
    host_fail_next = false;
    if (!fail) host_converts++;
    pthread_mutex_unlock(&host_mu);
    if (fail) return cinfer_cuda_err_set(err, CINFER_OUT_OF_MEMORY, "test: conversion fails");
    usleep(1000); /* long enough for other threads to pile up behind the cache's lock */
    *out = malloc(n * 2);
    return *out ? CINFER_OK : cinfer_cuda_err_set(err, CINFER_OUT_OF_MEMORY, "out of memory");
}

static void host_free(int device, void *buf) {
    pthread_mutex_lock(&host_mu);
    host_frees++;
    pthread_mutex_unlock(&host_mu);
    free(buf);
}

static void expect_stats(cinfer_cuda_weights *w, size_t conversions, size_t entries, size_t refs,
                         const char *when) {
    cinfer_cuda_weights_stats s;
    cinfer_cuda_weights_stats_get(w, &s);
    CHECK(s.conversions == conversions && s.entries == entries && s.refs == refs,
          "%s: %zu conversions, %zu entries, %zu refs; want %zu, %zu, %zu", when,
          s.conversions, s.entries, s.refs, conversions, entries, refs);
}

static void *get_ordered(cinfer_cuda_weights *w, const void *src, size_t n, cinfer_precision p,
                         cinfer_cuda_weights_order order) {
    cinfer_cuda_err err = {0};
    void *half = NULL;
    cinfer_status st = cinfer_cuda_weights_acquire(w, NULL, src, n, p, order, &half, &err);
    CHECK(st == CINFER_OK && half, "acquire: %s", err.msg);
    return half;
}

static void *get(cinfer_cuda_weights *w, const void *src, size_t n, cinfer_precision p) {
    return get_ordered(w, src, n, p, (cinfer_cuda_weights_order){0, 0});
}

typedef struct racer {
    cinfer_cuda_weights *w;
    const void *src;
    void *got[50];
} racer;

static void *race(void *arg) {
    racer *r = arg;
    for (int i = 0; i < 50; i++) r->got[i] = get(r->w, r->src, 100, CINFER_PRECISION_FP16);
    return NULL;
}

/* Eight threads ask for the same weight at once: one conversion, 400 references. */
static void cache_threads(cinfer_cuda_weights *w, const void *src) {
    racer r[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        r[i] = (racer){.w = w, .src = src};
        CHECK(pthread_create(&t[i], NULL, race, &r[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < 8; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 50; k++)
            CHECK(r[i].got[k] == r[0].got[0], "thread %d call %d got another copy", i, k);
    cinfer_cuda_weights_stats s;
    cinfer_cuda_weights_stats_get(w, &s);
    CHECK(s.conversions == 1 && s.refs == 400, "threads: %zu conversions, %zu refs; want 1, 400",
          s.conversions, s.refs);
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 50; k++) cinfer_cuda_weights_release(w, r[i].got[k]);
    CHECK(host_frees == 1, "threads: %zu frees after the last release, want 1", host_frees);
}

static int cache_main(void) {
    static const float a[4], b[4], c[4], many[40]; /* only their addresses are keys */
    const cinfer_cuda_weights_ops ops = {host_convert, host_free};
    cinfer_cuda_err err = {0};
    cinfer_cuda_weights *w = NULL;
    CHECK(cinfer_cuda_weights_create(0, &ops, &w, &err) == CINFER_OK, "create: %s", err.msg);
    if (!w) return 1;
    cache_threads(w, a);
    host_converts = host_frees = 0;
    cinfer_cuda_weights_destroy(w);
    CHECK(cinfer_cuda_weights_create(0, &ops, &w, &err) == CINFER_OK, "create: %s", err.msg);
    if (!w) return 1;

    void *a16 = get(w, a, 4, CINFER_PRECISION_FP16);
    CHECK(get(w, a, 4, CINFER_PRECISION_FP16) == a16 && get(w, a, 4, CINFER_PRECISION_FP16) == a16,
          "a second user of a weight got another copy");
    expect_stats(w, 1, 1, 3, "one weight, three users");
    void *abf = get(w, a, 4, CINFER_PRECISION_BF16), *b16 = get(w, b, 4, CINFER_PRECISION_FP16);
    CHECK(abf != a16 && b16 != a16 && b16 != abf, "distinct keys share a copy");
    expect_stats(w, 3, 3, 5, "two types of a, one of b");

    host_fail_next = true;
    void *half = (void *)1;
    const cinfer_cuda_weights_order as_is = {0, 0};
    cinfer_status st = cinfer_cuda_weights_acquire(w, NULL, c, 4, CINFER_PRECISION_FP16, as_is,
                                                   &half, &err);
    CHECK(st == CINFER_OUT_OF_MEMORY && half == NULL, "failed conversion: status %d", (int)st);
    expect_stats(w, 3, 3, 5, "after a failed conversion");
    void *c16 = get(w, c, 4, CINFER_PRECISION_FP16);
    expect_stats(w, 4, 4, 6, "the failed weight converted on the next try");
    st = cinfer_cuda_weights_acquire(w, NULL, c, 4, CINFER_PRECISION_FP32, as_is, &half, &err);
    CHECK(st == CINFER_INVALID_ARGUMENT, "fp32 is no 16-bit type: status %d", (int)st);

    cinfer_cuda_weights_release(w, a16);
    cinfer_cuda_weights_release(w, a16);
    cinfer_cuda_weights_release(w, NULL);
    cinfer_cuda_weights_release(w, (void *)many); /* not from the cache: ignored */
    CHECK(host_frees == 0, "a copy still referenced was freed");
    expect_stats(w, 4, 4, 4, "two of a's three fp16 users gone");
    cinfer_cuda_weights_release(w, a16);
    CHECK(host_frees == 1, "the last release did not free the copy (%zu frees)", host_frees);
    expect_stats(w, 4, 3, 3, "a's fp16 copy gone");
    CHECK(get(w, b, 4, CINFER_PRECISION_FP16) == b16, "b's copy lost when a's went");
    get(w, a, 4, CINFER_PRECISION_FP16);
    expect_stats(w, 5, 4, 5, "a converted again after its copy was freed");

    for (int i = 0; i < 40; i++) get(w, &many[i], 1, CINFER_PRECISION_BF16); /* the array grows */
    expect_stats(w, 45, 44, 45, "40 more weights");
    CHECK(get(w, c, 4, CINFER_PRECISION_FP16) == c16, "c's copy moved when the array grew");
    /* A channels-last (KRSC) copy of c is another key; asking again shares it. */
    const cinfer_cuda_weights_order krsc = {2, 2};
    void *ck = get_ordered(w, c, 4, CINFER_PRECISION_FP16, krsc);
    CHECK(ck != c16 && get_ordered(w, c, 4, CINFER_PRECISION_FP16, krsc) == ck,
          "the KRSC copy of a weight is not its own shared entry");
    expect_stats(w, 46, 45, 48, "a KRSC copy beside the as-is one");
    cinfer_cuda_weights_destroy(w); /* with every copy still referenced */
    CHECK(host_frees == 1 + 45, "destroy freed %zu copies, want 45", host_frees - 1);
    cinfer_cuda_weights_destroy(NULL);
    printf("%s (seed %llu)\n", failures ? "FAILED" : "ok", seed);
    return failures ? 1 : 0;
}

/* ---- GPU: GEMM steps on two contexts of one device object ---- */

#define K 384
#define N 80

typedef struct gpu_env {
    cinfer_cuda_device *dev;
    cinfer_cuda_ctx *ctx[3]; /* two made from dev, one without a device object */
    float *w1, *w2;          /* host: w1 K x N (MatMul), w2 N x K (Gemm transB) */
    void *dw1, *dw2;         /* their copies in dev's weights block */
    float *x;                /* host input, 16 x K */
} gpu_env;

typedef struct step_case {
    const char *op;      /* MatMul or Gemm (transB) */
    int ctx;             /* index into gpu_env.ctx */
    int64_t m;
    cinfer_precision p;
    bool folded;         /* no weights-block pointer: as a plan-folded constant */
} step_case;

static const cuda_op *linalg_op(const char *name) {
    for (const cuda_op *op = cinfer_cuda_ops_linalg; op->op_type; op++)
        if (!strcmp(op->op_type, name)) return op;
    return NULL;
}

static bool prepare_step(gpu_env *g, const step_case *c, cuda_step *s) {
    bool gemm = !strcmp(c->op, "Gemm");
    static char trans_b[] = "transB";
    cinfer__attr attr = {.name = trans_b, .type = CINFER_ATTR_INT, .i = 1};
    cinfer__node node = {.name = (char *)"w", .op_type = (char *)c->op, .domain = (char *)"",
                         .n_in = 2, .n_out = 1, .n_attrs = gemm, .attrs = &attr};
    cinfer_tensor a = {.dtype = CINFER_DTYPE_FLOAT, .rank = 2, .dims = {c->m, K}};
    cinfer_tensor b = {.dtype = CINFER_DTYPE_FLOAT, .rank = 2,
                       .dims = {gemm ? N : K, gemm ? K : N}, .data = gemm ? g->w2 : g->w1};
    cinfer_tensor y = {.dtype = CINFER_DTYPE_FLOAT, .rank = 2, .dims = {c->m, N}};
    const cinfer_tensor *in[2] = {&a, &b}, *out[1] = {&y};
    const void *weight[2] = {NULL, c->folded ? NULL : gemm ? g->dw2 : g->dw1};
    cinfer_cuda_node mn = {.node = &node, .n_in = 2, .n_out = 1, .in = in, .out = out,
                           .precision = c->p, .weight = weight};
    cinfer_cuda_err err = {0};
    *s = (cuda_step){.op = linalg_op(c->op), .node = &node};
    cinfer_status st = s->op ? s->op->prepare(g->ctx[c->ctx], &mn, s, &err) : CINFER_NOT_FOUND;
    CHECK(st == CINFER_OK, "prepare %s on context %d: %s", c->op, c->ctx, err.msg);
    s->node = NULL; /* the node was this function's */
    return st == CINFER_OK;
}

static void release_step(cuda_step *s) {
    if (s->priv) s->op->release(s->priv);
    s->priv = NULL;
}

/* Runs the step on its context and holds it to the fp16/bf16 tolerance of a float64
 * reference computed from the float inputs. */
static void run_step(gpu_env *g, const step_case *c, cuda_step *s) {
    cinfer_cuda_ctx *ctx = g->ctx[c->ctx];
    size_t xb = (size_t)c->m * K * sizeof(float), yb = (size_t)c->m * N * sizeof(float);
    float *dx = cinfer_cuda_ctx_arena_at(ctx, 0, xb);
    float *dy = cinfer_cuda_ctx_arena_at(ctx, 1u << 20, yb);
    float *y = malloc(yb);
    cinfer_cuda_err err = {0};
    CHECK(dx && dy && y, "arena too small");
    if (!dx || !dy || !y) goto done;
    CHECK(cudaMemcpy(dx, g->x, xb, cudaMemcpyHostToDevice) == cudaSuccess &&
              cudaDeviceSynchronize() == cudaSuccess, "upload x"); /* see upload() */
    const void *in[2] = {dx, NULL};
    void *out[1] = {dy};
    cinfer_status st = s->op->run(ctx, s, in, out, &err);
    CHECK(st == CINFER_OK, "run %s on context %d: %s", c->op, c->ctx, err.msg);
    CHECK(cudaStreamSynchronize(ctx->compute) == cudaSuccess, "sync: %s",
          cudaGetErrorString(cudaGetLastError()));
    CHECK(cudaMemcpy(y, dy, yb, cudaMemcpyDeviceToHost) == cudaSuccess, "download y");
    bool gemm = !strcmp(c->op, "Gemm");
    double d = 0, maxref = 0;
    for (int64_t i = 0; i < c->m; i++)
        for (int64_t j = 0; j < N; j++) {
            double r = 0;
            for (int64_t k = 0; k < K; k++)
                r += (double)g->x[i * K + k] * (gemm ? g->w2[j * K + k] : g->w1[k * N + j]);
            maxref = fmax(maxref, fabs(r));
            double e = fabs(y[i * N + j] - r);
            d = isnan(e) ? INFINITY : fmax(d, e);
        }
    CHECK(d <= LOW_ATOL + LOW_RTOL * maxref, "%s (M %lld, %s, context %d): max |gpu - ref| %.4g",
          c->op, (long long)c->m, cinfer_precision_name(c->p), c->ctx, d);
done:
    free(y);
}

typedef struct prep_job {
    gpu_env *g;
    step_case c;
    cuda_step s;
} prep_job;

static void *prep_thread(void *arg) {
    prep_job *j = arg;
    if (cudaSetDevice(0) == cudaSuccess) prepare_step(j->g, &j->c, &j->s);
    return NULL;
}

static void check_steps(gpu_env *g) {
    static const step_case cases[] = {
        {"MatMul", 0, 16, CINFER_PRECISION_FP16, false}, /* w1 fp16: converted */
        {"MatMul", 1, 5, CINFER_PRECISION_FP16, false},  /* another context and shape: shared */
        {"Gemm", 1, 5, CINFER_PRECISION_FP16, false},    /* w2 fp16: converted */
        {"MatMul", 0, 16, CINFER_PRECISION_BF16, false}, /* w1 bf16: converted */
        {"Gemm", 0, 16, CINFER_PRECISION_FP16, false},   /* shared with case 2 */
        {"MatMul", 0, 16, CINFER_PRECISION_FP16, true},  /* folded: the step's own copy */
        {"MatMul", 2, 16, CINFER_PRECISION_FP16, false}, /* no device object: own copy */
    };
    enum { n = sizeof cases / sizeof cases[0] };
    cuda_step s[n];
    memset(s, 0, sizeof s);
    for (int i = 0; i < n; i++)
        if (prepare_step(g, &cases[i], &s[i])) run_step(g, &cases[i], &s[i]);
    expect_stats(g->dev->converted, 3, 3, 5, "seven steps on three weights-and-types");
    release_step(&s[0]);
    expect_stats(g->dev->converted, 3, 3, 4, "one of w1 fp16's two steps released");
    run_step(g, &cases[1], &s[1]); /* the copy is still there */
    release_step(&s[1]);
    expect_stats(g->dev->converted, 3, 2, 3, "w1 fp16's last step released");
    for (int i = 2; i < n; i++) release_step(&s[i]);
    expect_stats(g->dev->converted, 3, 0, 0, "every step released");

    /* Two contexts prepare the same weight at the same time: one conversion. */
    prep_job j[2] = {{g, {"MatMul", 0, 16, CINFER_PRECISION_BF16, false}, {0}},
                     {g, {"MatMul", 1, 5, CINFER_PRECISION_BF16, false}, {0}}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) CHECK(!pthread_create(&t[i], NULL, prep_thread, &j[i]), "thread");
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    expect_stats(g->dev->converted, 4, 1, 2, "two threads preparing w1 bf16");
    for (int i = 0; i < 2; i++) {
        if (j[i].s.priv) run_step(g, &j[i].c, &j[i].s);
        release_step(&j[i].s);
    }
}

static bool upload(gpu_env *g, const float *host, size_t n, void **dptr) {
    cinfer_cuda_err err = {0};
    cinfer_status st = cinfer_cuda_device_weights_alloc(g->dev, n * sizeof(float), dptr, &err);
    CHECK(st == CINFER_OK, "weights_alloc: %s", err.msg);
    if (st != CINFER_OK) return false;
    /* From pageable memory cudaMemcpy may return before the DMA lands: wait for it. */
    cudaError_t e = cudaMemcpy(*dptr, host, n * sizeof(float), cudaMemcpyHostToDevice);
    if (e == cudaSuccess) e = cudaDeviceSynchronize();
    CHECK(e == cudaSuccess, "weights upload: %s", cudaGetErrorString(e));
    return e == cudaSuccess;
}

static void gpu_steps(void) {
    gpu_env g = {0};
    cinfer_cuda_err err = {0};
    unsigned long long s = seed;
    g.w1 = malloc(sizeof(float) * K * N);
    g.w2 = malloc(sizeof(float) * K * N);
    g.x = malloc(sizeof(float) * 16 * K);
    for (int i = 0; i < K * N; i++) g.w1[i] = rand_value(&s), g.w2[i] = rand_value(&s);
    for (int i = 0; i < 16 * K; i++) g.x[i] = rand_value(&s);
    size_t bytes = 2 * sizeof(float) * K * N + 2 * CINFER_CUDA_ALIGN;
    cinfer_status st = cinfer_cuda_device_create(0, bytes, &g.dev, &err);
    CHECK(st == CINFER_OK, "device_create: %s", err.msg);
    if (st != CINFER_OK) goto done;
    if (!upload(&g, g.w1, K * N, &g.dw1) || !upload(&g, g.w2, K * N, &g.dw2)) goto done;
    cinfer_cuda_ctx_config cfg = {.arena_bytes = 4u << 20, .blas_workspace_bytes = 32u << 20};
    for (int i = 0; i < 3; i++) {
        st = cinfer_cuda_ctx_create(0, &cfg, &g.ctx[i], &err);
        CHECK(st == CINFER_OK, "ctx_create %d: %s", i, err.msg);
        if (st != CINFER_OK) goto done;
    }
    g.ctx[0]->owner = g.ctx[1]->owner = g.dev; /* as module_api.c's ctx_create sets it */
    check_steps(&g);
done:
    for (int i = 0; i < 3; i++) cinfer_cuda_ctx_destroy(g.ctx[i]);
    cinfer_cuda_device_destroy(g.dev);
    free(g.w1);
    free(g.w2);
    free(g.x);
}

/* ---- GPU: a model through the runtime, two threads, two batch sizes ---- */

#define BATCHES 2
static const int64_t batch_sizes[BATCHES] = {3, 17};

typedef struct shared_run {
    cinfer_model *gpu;
    inputs in[BATCHES];
    cinfer_tensor ref[BATCHES][3]; /* the CPU's fp32 outputs */
    int first;                     /* which batch size this thread starts with */
} shared_run;

static void compare(const cinfer_tensor *got, const cinfer_tensor *ref, int64_t batch, size_t o) {
    int64_t n = cinfer_tensor_numel(ref);
    CHECK(got->dtype == CINFER_DTYPE_FLOAT && cinfer_tensor_numel(got) == n,
          "batch %lld output %zu: dtype or size differs", (long long)batch, o);
    if (got->dtype != CINFER_DTYPE_FLOAT || cinfer_tensor_numel(got) != n) return;
    const float *g = got->data, *r = ref->data;
    double d = 0, maxref = 0;
    for (int64_t i = 0; i < n; i++) {
        maxref = fmax(maxref, fabs(r[i]));
        double e = fabs((double)g[i] - r[i]);
        d = isnan(e) ? INFINITY : fmax(d, e);
    }
    CHECK(d <= LOW_ATOL + LOW_RTOL * maxref, "batch %lld output %zu at fp16: max |cuda - cpu| "
          "%.4g (max|ref| %.4g)", (long long)batch, o, d, maxref);
}

static void *run_thread(void *arg) {
    shared_run *r = arg;
    for (int it = 0; it < 6; it++) {
        int b = (r->first + it) % BATCHES;
        cinfer_tensor out[3];
        memset(out, 0, sizeof out);
        cinfer_status st = cinfer_model_run(r->gpu, r->in[b].n, NULL, r->in[b].t, 3, NULL, out);
        CHECK(st == CINFER_OK, "run at batch %lld: %s", (long long)batch_sizes[b],
              cinfer_model_last_error(r->gpu));
        if (st != CINFER_OK) return NULL;
        for (size_t o = 0; o < 3; o++) compare(&out[o], &r->ref[b][o], batch_sizes[b], o);
        for (size_t o = 0; o < 3; o++) cinfer_tensor_release(&out[o]);
    }
    return NULL;
}

static cinfer_model *load(cinfer_runtime *rt, cinfer_precision p) {
    char path[512];
    snprintf(path, sizeof path, "%s/shared.onnx", model_dir);
    cinfer_model_options o;
    cinfer_model_options_init(&o);
    o.precision = p;
    cinfer_model *m = NULL;
    cinfer_status st = cinfer_model_load(rt, path, &o, &m);
    CHECK(st == CINFER_OK, "loading %s: %s", path, cinfer_last_error());
    return m;
}

static void model_threads(cinfer_runtime *gpu, cinfer_runtime *cpu) {
    cinfer_model *mg = load(gpu, CINFER_PRECISION_FP16), *mc = load(cpu, CINFER_PRECISION_FP32);
    shared_run r[2];
    memset(r, 0, sizeof r);
    if (!mg || !mc) goto done;
    CHECK(cinfer_model_output_count(mc) == 3, "the model has %zu outputs, want 3",
          cinfer_model_output_count(mc));
    for (int b = 0; b < BATCHES; b++) {
        make_inputs(mc, batch_sizes[b], seed + (unsigned long long)b, &r[0].in[b]);
        cinfer_status st = cinfer_model_run(mc, r[0].in[b].n, NULL, r[0].in[b].t, 3, NULL,
                                            r[0].ref[b]);
        CHECK(st == CINFER_OK, "cpu run: %s", cinfer_model_last_error(mc));
        if (st != CINFER_OK) goto done;
    }
    r[1] = r[0];
    r[0].gpu = r[1].gpu = mg;
    r[1].first = 1;
    pthread_t t[2];
    for (int i = 0; i < 2; i++) CHECK(!pthread_create(&t[i], NULL, run_thread, &r[i]), "thread");
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
done:
    for (int b = 0; b < BATCHES; b++) {
        for (int o = 0; o < 3; o++) cinfer_tensor_release(&r[0].ref[b][o]);
        if (r[0].in[b].n) free_inputs(&r[0].in[b]);
    }
    cinfer_model_destroy(mg);
    cinfer_model_destroy(mc);
}

int main(int argc, char **argv) {
    if (getenv("CINFER_TEST_SEED")) seed = strtoull(getenv("CINFER_TEST_SEED"), NULL, 10);
    if (argc > 1 && !strcmp(argv[1], "--cache")) return cache_main();
    if (!have_device()) {
        printf("skipped: no CUDA device\n");
        return 77;
    }
    model_test_setup();
    gpu_steps();
    if (make_models("make_weights_models.py", "cuda-weights") != 0) return 1;
    cinfer_runtime *gpu = runtime(CINFER_DEVICE_CUDA), *cpu = runtime(CINFER_DEVICE_CPU);
    if (!gpu || !cpu) return 1;
    model_threads(gpu, cpu);
    cinfer_runtime_destroy(gpu);
    cinfer_runtime_destroy(cpu);
    return model_test_finish();
}
