/* The scheduler on a CUDA model (issue 5's GPU half): client threads submit requests of 1 to 4
 * rows at once to a scheduler with two execution instances, so batches of several requests
 * run on CUDA contexts (each with its own streams, pinned staging and, after the warm-up run,
 * CUDA graphs per batch bucket); every request's rows must equal a CPU runtime's run of that
 * request alone within DESIGN.md's "CUDA fp32 model vs CPU" tolerance. Two models: an all-GPU
 * MLP, and one mixing GPU ops with CPU-only ones (copies both ways inside every batch).
 * Without a device: "skipped: no CUDA device", exit 77; with CINFER_TEST_MOCK_DEVICE=1 and
 * CINFER_CUDA_MODULE naming the stand-in module (tests/cuda_mock) it runs without one, which is
 * how CI checks this path (ctest cuda.sched_mock). Seed: CINFER_TEST_SEED. */
#include <math.h>

#include "model_test.h"

#define RTOL 1e-4
#define ATOL 1e-5
#define CLIENTS 4
#define REQUESTS 40 /* per client */
#define MAX_ROWS 4
#define MAX_IO 4 /* outputs */

typedef struct job {
    const char *name;
    cinfer_model *gpu, *cpu;
    cinfer_scheduler *sched;
    int client;
} job;

/* A request's outputs against the CPU runtime's run of the same inputs. */
static void compare(const job *j, int r, cinfer_request *req, size_t n_in,
                    const cinfer_tensor *in) {
    size_t n_out = 0;
    cinfer_tensor *got = NULL;
    cinfer_status st = cinfer_request_outputs(req, &n_out, &got);
    CHECK(st == CINFER_OK, "%s client %d request %d: outputs: %s", j->name, j->client, r,
          cinfer_request_message(req));
    if (st != CINFER_OK) return;
    cinfer_tensor ref[MAX_IO];
    memset(ref, 0, sizeof ref);
    st = cinfer_model_run(j->cpu, n_in, NULL, in, n_out, NULL, ref);
    CHECK(st == CINFER_OK, "%s: CPU reference run: %s", j->name, cinfer_last_error());
    if (st != CINFER_OK) return;
    for (size_t o = 0; o < n_out; o++) {
        int64_t n = cinfer_tensor_numel(&ref[o]);
        CHECK(cinfer_tensor_numel(&got[o]) == n && got[o].dims[0] == ref[o].dims[0],
              "%s client %d request %d output %zu: %lld elements, expected %lld", j->name,
              j->client, r, o, (long long)cinfer_tensor_numel(&got[o]), (long long)n);
        if (cinfer_tensor_numel(&got[o]) != n) continue;
        const float *g = got[o].data, *c = ref[o].data;
        double worst = 0, scale = 0;
        for (int64_t e = 0; e < n; e++) {
            scale = fmax(scale, fabs(c[e]));
            worst = fmax(worst, isfinite(g[e]) ? fabs((double)g[e] - c[e]) : INFINITY);
        }
        CHECK(worst <= ATOL + RTOL * scale, "%s client %d request %d output %zu: max |cuda - "
              "cpu| %.3g (bound %.3g)", j->name, j->client, r, o, worst, ATOL + RTOL * scale);
        cinfer_tensor_release(&ref[o]);
    }
}

static void *client(void *arg) {
    const job *j = arg;
    unsigned long long s = seed * 31u + (unsigned long long)j->client;
    for (int r = 0; r < REQUESTS; r++) {
        inputs in; /* the batch dim (symbolic) is the request's rows */
        int64_t rows = 1 + (int64_t)(next_u64(&s) % MAX_ROWS);
        make_inputs(j->gpu, rows, next_u64(&s), &in);
        cinfer_request_options ro;
        cinfer_request_options_init(&ro);
        cinfer_request *req = NULL;
        cinfer_status st = cinfer_scheduler_submit(j->sched, in.n, NULL, in.t, &ro, &req);
        CHECK(st == CINFER_OK, "%s client %d request %d: submit: %s", j->name, j->client, r,
              cinfer_last_error());
        if (st == CINFER_OK) {
            st = cinfer_request_wait(req);
            CHECK(st == CINFER_OK, "%s client %d request %d: %s", j->name, j->client, r,
                  cinfer_request_message(req));
            if (st == CINFER_OK) compare(j, r, req, in.n, in.t);
            cinfer_request_release(req);
        }
        free_inputs(&in);
    }
    return NULL;
}

static void run_model(cinfer_runtime *gpu_rt, cinfer_runtime *cpu_rt, const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.onnx", model_dir, name);
    job jobs[CLIENTS] = {{0}};
    cinfer_model *gm = NULL, *cm = NULL;
    if (cinfer_model_load(gpu_rt, path, NULL, &gm) != CINFER_OK ||
        cinfer_model_load(cpu_rt, path, NULL, &cm) != CINFER_OK) {
        CHECK(0, "%s: load: %s", name, cinfer_last_error());
        cinfer_model_destroy(gm);
        return;
    }
    cinfer_batching_options bo;
    cinfer_batching_options_init(&bo);
    bo.max_batch_size = 16;
    bo.max_queue_delay_us = 2000; /* long enough for concurrent requests to share a batch */
    bo.instances = 2;
    cinfer_scheduler *sched = NULL;
    if (cinfer_scheduler_create(gm, &bo, &sched) != CINFER_OK) {
        CHECK(0, "%s: scheduler: %s", name, cinfer_last_error());
    } else {
        pthread_t th[CLIENTS];
        for (int c = 0; c < CLIENTS; c++) {
            jobs[c] = (job){name, gm, cm, sched, c};
            pthread_create(&th[c], NULL, client, &jobs[c]);
        }
        for (int c = 0; c < CLIENTS; c++) pthread_join(th[c], NULL);
        uint64_t counts[17] = {0};
        size_t nb = cinfer_scheduler_batch_histogram(sched, counts, 17);
        printf("%s: batch sizes run:", name);
        for (size_t b = 1; b < nb && b < 17; b++)
            if (counts[b]) printf(" %zu x%llu", b, (unsigned long long)counts[b]);
        printf("\n");
        cinfer_scheduler_destroy(sched);
    }
    cinfer_model_destroy(gm);
    cinfer_model_destroy(cm);
}

int main(void) {
    const char *mock = getenv("CINFER_TEST_MOCK_DEVICE");
    if (!(mock && !strcmp(mock, "1")) && !have_device()) {
        printf("skipped: no CUDA device\n");
        return 77;
    }
    model_test_setup();
    if (make_models("make_models.py", "sched-cuda") != 0) return 1;
    cinfer_runtime *gpu = runtime(CINFER_DEVICE_CUDA), *cpu = runtime(CINFER_DEVICE_CPU);
    if (!gpu || !cpu) {
        fprintf(stderr, "FAIL: could not create the runtimes\n");
        return 1;
    }
    run_model(gpu, cpu, "mlp_batch"); /* all on the GPU: graphs per batch bucket */
    run_model(gpu, cpu, "mixed");     /* CPU-only ops inside: copies both ways per batch */
    cinfer_runtime_destroy(gpu);
    cinfer_runtime_destroy(cpu);
    return model_test_finish();
}
