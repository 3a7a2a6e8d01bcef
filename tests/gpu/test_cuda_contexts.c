/* CUDA execution contexts (src/runtime/gpu_ctx.c): one context serves every shape a thread
 * runs, its arenas grow to the largest plan (the earlier plans' bindings re-point, and their
 * CUDA graphs are recaptured), and concurrent runs each get their own. Every output is checked
 * against the CPU runtime's run of the same inputs within DESIGN.md's "CUDA fp32 model vs CPU"
 * tolerance, so a binding left pointing at a freed arena fails here (the stand-in module
 * fills new arenas with NaN and refuses pointers outside its blocks). The fold model's Mul
 * reads a constant folded per plan (from the input's shape): each binding keeps its own copy,
 * which the other plans' activations in the shared arena must not overwrite.
 * Without a device: "skipped: no CUDA device", exit 77; with CINFER_TEST_MOCK_DEVICE=1 and
 * CINFER_CUDA_MODULE naming tests/cuda_mock's module it runs on the host (ctest
 * cuda.contexts_mock). Seed: CINFER_TEST_SEED. */
#include <math.h>

#include "model_test.h"
#include "runtime/runtime.h"

#define RTOL 1e-4
#define ATOL 1e-5
#define MAX_OUT 4
#define THREADS 3

typedef struct pair {
    cinfer_model *gpu, *cpu;
} pair;

/* One run of `rows` rows on both runtimes; the outputs must agree. */
static void run_and_compare(const pair *mp, int64_t rows, unsigned long long s0, const char *what) {
    inputs in;
    make_inputs(mp->gpu, rows, s0, &in);
    size_t n_out = cinfer_model_output_count(mp->gpu);
    cinfer_tensor got[MAX_OUT], ref[MAX_OUT];
    memset(got, 0, sizeof got);
    memset(ref, 0, sizeof ref);
    cinfer_status a = cinfer_model_run(mp->gpu, in.n, NULL, in.t, n_out, NULL, got);
    CHECK(a == CINFER_OK, "%s, %lld rows: CUDA run: %s", what, (long long)rows,
          cinfer_last_error());
    cinfer_status b = cinfer_model_run(mp->cpu, in.n, NULL, in.t, n_out, NULL, ref);
    CHECK(b == CINFER_OK, "%s, %lld rows: CPU run: %s", what, (long long)rows,
          cinfer_last_error());
    for (size_t o = 0; a == CINFER_OK && b == CINFER_OK && o < n_out; o++) {
        double scale, worst = max_abs_diff(&got[o], &ref[o], &scale);
        CHECK(worst >= 0, "%s, %lld rows, output %zu: %lld elements, expected %lld", what,
              (long long)rows, o, (long long)cinfer_tensor_numel(&got[o]),
              (long long)cinfer_tensor_numel(&ref[o]));
        CHECK(worst <= ATOL + RTOL * scale, "%s, %lld rows, output %zu: max |cuda - cpu| %.3g "
              "(bound %.3g)", what, (long long)rows, o, worst, ATOL + RTOL * scale);
    }
    for (size_t o = 0; o < n_out; o++) {
        cinfer_tensor_release(&got[o]);
        cinfer_tensor_release(&ref[o]);
    }
    free_inputs(&in);
}

typedef struct worker {
    const pair *mp;
    int index;
} worker;

static void *worker_main(void *arg) {
    const worker *w = arg;
    for (int r = 0; r < 20; r++)
        run_and_compare(w->mp, 1 + (r * 7 + w->index) % 16, seed + 1000u * (unsigned)w->index + (unsigned)r,
                        "concurrent");
    return NULL;
}

static void check_model(cinfer_runtime *gpu_rt, cinfer_runtime *cpu_rt, const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.onnx", model_dir, name);
    pair mp = {0};
    if (cinfer_model_load(gpu_rt, path, NULL, &mp.gpu) != CINFER_OK ||
        cinfer_model_load(cpu_rt, path, NULL, &mp.cpu) != CINFER_OK) {
        CHECK(0, "%s: load: %s", name, cinfer_last_error());
        cinfer_model_destroy(mp.gpu);
        return;
    }
    /* One thread, growing and shrinking shapes, each run twice (eager, then graphs). */
    /* The last 64 then 2: plan 2's constants must survive plan 64's activations. */
    static const int64_t sizes[] = {1, 8, 3, 64, 8, 1, 2, 64, 2};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (int rep = 0; rep < 2; rep++)
            run_and_compare(&mp, sizes[i], seed + 17u * i + (unsigned)rep, name);
    CHECK(mp.gpu->n_gpu_ctx == 1, "%s: %d CUDA execution contexts for runs from one thread "
          "(expected 1, whatever the shapes)", name, mp.gpu->n_gpu_ctx);
    /* Load's plan (1 row), then 8 and 64 rows: at most three arena sizes. */
    CHECK(mp.gpu->gpu_arena_grows <= 3, "%s: the arenas were replaced %llu times for 3 "
          "growing sizes", name, (unsigned long long)mp.gpu->gpu_arena_grows);
    printf("%s: one thread: %d context, arenas sized %llu times\n", name, mp.gpu->n_gpu_ctx,
           (unsigned long long)mp.gpu->gpu_arena_grows);

    pthread_t th[THREADS];
    worker w[THREADS];
    for (int t = 0; t < THREADS; t++) {
        w[t] = (worker){&mp, t};
        pthread_create(&th[t], NULL, worker_main, &w[t]);
    }
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    CHECK(mp.gpu->n_gpu_ctx >= 1 && mp.gpu->n_gpu_ctx <= THREADS, "%s: %d contexts for %d "
          "threads", name, mp.gpu->n_gpu_ctx, THREADS);
    printf("%s: %d threads: %d contexts\n", name, THREADS, mp.gpu->n_gpu_ctx);
    cinfer_model_destroy(mp.gpu);
    cinfer_model_destroy(mp.cpu);
}

int main(void) {
    cinfer_runtime *gpu = NULL, *cpu = NULL;
    int rc = model_test_begin("make_models.py", "contexts", &gpu, &cpu);
    if (rc >= 0) return rc;
    check_model(gpu, cpu, "mixed");     /* GPU and CPU steps, copies both ways */
    check_model(gpu, cpu, "mlp_batch"); /* all on the GPU (CPU under the stand-in) */
    check_model(gpu, cpu, "fold");      /* a plan-folded constant read on the GPU */
    cinfer_runtime_destroy(gpu);
    cinfer_runtime_destroy(cpu);
    return model_test_finish();
}
