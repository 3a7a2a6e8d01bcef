/* CUDA graphs and device-resident I/O on a real GPU (tests/gpu/make_models.py's models): with
 * graphs on (captured at a context's second run, replayed after) the outputs equal those of a
 * model loaded with cuda_graphs = 0 bitwise (same kernels, same algorithms, same order); inputs
 * and outputs in device memory (cinfer_device_*, CINFER_TENSOR_DEVICE) give bitwise the host
 * I/O results; an injected capture failure logs one warning and the run, and the next, still
 * succeed with the same outputs. Without a device: "skipped: no CUDA device", exit 77. Seed:
 * CINFER_TEST_SEED (printed on failure). */
#define MODEL_TEST_SEED 20261128ull
#include "model_test.h"
#include "runtime/inspect.h"
#include "runtime/runtime.h"

static int capture_warnings; /* log lines about failed captures */
static int device_io_checked; /* models whose device I/O round trip ran */

static void log_line(cinfer_log_level level, const char *msg, void *user) {
    (void)user;
    if (strstr(msg, "CUDA graph capture")) capture_warnings++;
    fprintf(stderr, "log[%d]: %s\n", (int)level, msg);
}

static size_t bytes_of(const cinfer_tensor *t) {
    return (size_t)cinfer_tensor_numel(t) * cinfer_dtype_size(t->dtype);
}

typedef inputs io; /* inputs, and outputs the runs return */

static void free_host(io *x) {
    for (size_t i = 0; i < x->n; i++) {
        if (x->t[i].flags & CINFER_TENSOR_RUNTIME_OWNED) cinfer_tensor_release(&x->t[i]);
        else free(x->t[i].data);
    }
}

static cinfer_model *load(cinfer_runtime *rt, const char *name, int graphs) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.onnx", model_dir, name);
    cinfer_model_options o;
    cinfer_model_options_init(&o);
    o.cuda_graphs = graphs;
    cinfer_model *m = NULL;
    if (cinfer_model_load(rt, path, &o, &m) != CINFER_OK) {
        CHECK(0, "loading %s: %s", path, cinfer_last_error());
        return NULL;
    }
    return m;
}

/* Runs `times` times into runtime-owned outputs; *out keeps the last run's. */
static cinfer_status run_host(cinfer_model *m, const io *in, io *out, int times) {
    out->n = cinfer_model_output_count(m);
    cinfer_status st = CINFER_OK;
    for (int k = 0; k < times && st == CINFER_OK; k++) {
        if (k) free_host(out);
        memset(out->t, 0, sizeof out->t);
        st = cinfer_model_run(m, in->n, NULL, in->t, out->n, NULL, out->t);
    }
    if (st != CINFER_OK) out->n = 0;
    return st;
}

static void same_bits(const char *what, const io *a, const io *b) {
    CHECK(a->n == b->n, "%s: %zu vs %zu outputs", what, a->n, b->n);
    for (size_t i = 0; i < a->n && i < b->n; i++) {
        bool same = bytes_of(&a->t[i]) == bytes_of(&b->t[i]) &&
                    !memcmp(a->t[i].data, b->t[i].data, bytes_of(&a->t[i]));
        CHECK(same, "%s: output %zu differs bitwise", what, i);
    }
}

/* Graphs on (three runs: the eager warm-up, capture and launch, replay) against graphs off. */
static void graphs_vs_eager(cinfer_runtime *gpu, const char *name) {
    cinfer_model *on = load(gpu, name, 1), *off = load(gpu, name, 0);
    if (!on || !off) goto done;
    io in, a = {0}, b = {0};
    make_inputs(on, 3, seed, &in);
    int warned = capture_warnings;
    cinfer_status sa = run_host(on, &in, &a, 3), sb = run_host(off, &in, &b, 3);
    CHECK(sa == CINFER_OK, "%s, graphs on: %s", name, cinfer_model_last_error(on));
    CHECK(sb == CINFER_OK, "%s, graphs off: %s", name, cinfer_model_last_error(off));
    if (sa == CINFER_OK && sb == CINFER_OK) same_bits(name, &a, &b);
    if (capture_warnings != warned)
        printf("note: %s: a capture fell back to eager launches (see the log line)\n", name);
    free_host(&a);
    free_host(&b);
    free_host(&in);
done:
    cinfer_model_destroy(on);
    cinfer_model_destroy(off);
}

/* Inputs uploaded with cinfer_device_copy_to_device, outputs into cinfer_device_alloc'd
 * buffers, downloaded and compared with a host-I/O run, bitwise. */
static bool all_on_gpu(cinfer_model *m, const io *in) {
    cinfer__model_report r;
    memset(&r, 0, sizeof r);
    bool all = cinfer__model_report_make(m, in->n, in->t, &r) == CINFER_OK && r.cuda &&
               r.n_gpu_steps == r.n_steps;
    cinfer__model_report_free(&r);
    return all;
}

static void device_io(cinfer_runtime *gpu, const char *name) {
    cinfer_model *m = load(gpu, name, 1);
    if (!m) return;
    io in, host = {0}, din = {0}, dout = {0};
    make_inputs(m, 3, seed, &in);
    if (!all_on_gpu(m, &in)) { /* a CPU step reading a device input is refused by design */
        printf("note: %s has CPU steps; device I/O checked on the other models\n", name);
        free_host(&in);
        cinfer_model_destroy(m);
        return;
    }
    device_io_checked++;
    cinfer_status st = run_host(m, &in, &host, 1);
    CHECK(st == CINFER_OK, "%s: host run: %s", name, cinfer_model_last_error(m));
    din.n = in.n;
    dout.n = host.n;
    for (size_t i = 0; st == CINFER_OK && i < in.n; i++) {
        din.t[i] = in.t[i];
        din.t[i].flags = CINFER_TENSOR_DEVICE;
        st = cinfer_device_alloc(gpu, bytes_of(&in.t[i]), &din.t[i].data);
        if (st == CINFER_OK)
            st = cinfer_device_copy_to_device(gpu, din.t[i].data, in.t[i].data,
                                              bytes_of(&in.t[i]));
    }
    for (size_t i = 0; st == CINFER_OK && i < host.n; i++) {
        dout.t[i] = host.t[i];
        dout.t[i].flags = CINFER_TENSOR_DEVICE;
        st = cinfer_device_alloc(gpu, bytes_of(&host.t[i]), &dout.t[i].data);
    }
    CHECK(st == CINFER_OK, "%s: device buffers: %s", name, cinfer_last_error());
    for (int k = 0; k < 2 && st == CINFER_OK; k++) /* after the host run: capture, replay */
        st = cinfer_model_run(m, din.n, NULL, din.t, dout.n, NULL, dout.t);
    CHECK(st == CINFER_OK, "%s: device I/O run: %s", name, cinfer_model_last_error(m));
    io back = {.n = host.n};
    for (size_t i = 0; st == CINFER_OK && i < host.n; i++) {
        back.t[i] = host.t[i];
        back.t[i].flags = 0;
        back.t[i].data = malloc(bytes_of(&host.t[i]) + 1);
        memset(back.t[i].data, 0xFF, bytes_of(&host.t[i])); /* NaN until copied */
        st = cinfer_device_copy_to_host(gpu, back.t[i].data, dout.t[i].data,
                                        bytes_of(&host.t[i]));
    }
    if (st == CINFER_OK) same_bits(name, &host, &back);
    else back.n = 0;
    free_host(&back);
    for (size_t i = 0; i < din.n; i++) cinfer_device_free(gpu, din.t[i].data);
    for (size_t i = 0; i < dout.n; i++) cinfer_device_free(gpu, dout.t[i].data);
    free_host(&host);
    free_host(&in);
    cinfer_model_destroy(m);
}

/* A capture that fails (test hook) logs one warning; that run and the next succeed and equal
 * a graphs-off model's outputs bitwise. */
static void injected_capture_failure(cinfer_runtime *gpu, const char *name) {
    cinfer_model *m = load(gpu, name, 1), *off = load(gpu, name, 0);
    if (!m || !off) goto done;
    io in, a = {0}, b = {0};
    make_inputs(m, 3, seed, &in);
    cinfer_status st = run_host(m, &in, &a, 1); /* the warm-up: nothing captured yet */
    CHECK(st == CINFER_OK, "%s: warm-up run: %s", name, cinfer_model_last_error(m));
    free_host(&a);
    int warned = capture_warnings;
    gpu->cuda->test_fail_next_capture();
    st = run_host(m, &in, &a, 1);
    CHECK(st == CINFER_OK, "%s: run with a failed capture: %s", name, cinfer_model_last_error(m));
    CHECK(capture_warnings == warned + 1, "%s: %d capture warnings, want 1", name,
          capture_warnings - warned);
    free_host(&a);
    st = run_host(m, &in, &a, 1);
    CHECK(st == CINFER_OK, "%s: run after the failed capture: %s", name,
          cinfer_model_last_error(m));
    if (st == CINFER_OK && run_host(off, &in, &b, 1) == CINFER_OK)
        same_bits("after an injected capture failure", &a, &b);
    free_host(&a);
    free_host(&b);
    free_host(&in);
done:
    cinfer_model_destroy(m);
    cinfer_model_destroy(off);
}

int main(void) {
    if (!have_device()) {
        printf("skipped: no CUDA device\n");
        return 77;
    }
    model_test_setup();
    unsetenv("CINFER_CUDA_GRAPHS");
    unsetenv("CINFER_CUDA_SYNC");
    if (make_models("make_models.py", "cuda-graphs") != 0) return 1;
    cinfer_runtime_options o;
    cinfer_runtime_options_init(&o);
    o.device = CINFER_DEVICE_CUDA;
    o.num_threads = 2;
    o.log_fn = log_line;
    cinfer_runtime *gpu = NULL;
    if (cinfer_runtime_create(&o, &gpu) != CINFER_OK) {
        fprintf(stderr, "FAIL: CUDA runtime: %s\n", cinfer_last_error());
        return 1;
    }
    static const char *const models[] = {"linalg", "elementwise", "conv", "misc", "mixed"};
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) graphs_vs_eager(gpu, models[i]);
    device_io(gpu, "linalg");      /* all on the GPU: inputs straight in, outputs straight out */
    device_io(gpu, "elementwise");
    device_io(gpu, "misc");
    device_io(gpu, "conv");
    CHECK(device_io_checked > 0, "no model ran entirely on the GPU: device I/O not checked");
    injected_capture_failure(gpu, "linalg");
    cinfer_runtime_destroy(gpu);
    return model_test_finish();
}
