/* `cinfer bench`: times cinfer_model_run and reports throughput and latency percentiles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "cli.h"
#include "runtime/inspect.h"
#include "core/alloc.h"

typedef struct bench_result {
    double *lat_ms; /* per timed run */
    size_t n, cap;
    double wall_s;  /* the whole timed loop */
} bench_result;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int push_latency(bench_result *r, double ms) {
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        double *p = cinfer__realloc(r->lat_ms, cap * sizeof *p);
        if (!p) return cli_fail(CINFER_OUT_OF_MEMORY, "out of memory for %zu latencies", cap);
        r->lat_ms = p;
        r->cap = cap;
    }
    r->lat_ms[r->n++] = ms;
    return 0;
}

/* Runs once with runtime-allocated outputs to learn their shapes; later runs write into the
 * same buffers, so the timed loop measures the model and not output allocation. */
static int alloc_outputs(cinfer_model *m, const cli_inputs *in, cinfer_tensor *owned,
                         cinfer_tensor *bufs, size_t n_out) {
    cinfer_status s = cinfer_model_run(m, in->n, in->names, in->t, n_out, NULL, owned);
    if (s != CINFER_OK) return cli_fail_api(s);
    for (size_t k = 0; k < n_out; k++) {
        bufs[k] = owned[k];
        bufs[k].flags = 0;
    }
    return 0;
}

static int timed_loop(const cli_opts *o, cinfer_model *m, const cli_inputs *in,
                      cinfer_tensor *bufs, size_t n_out, bench_result *r) {
    for (int w = 0; w < o->warmup; w++) {
        cinfer_status s = cinfer_model_run(m, in->n, in->names, in->t, n_out, NULL, bufs);
        if (s != CINFER_OK) return cli_fail_api(s);
    }
    if (o->iterations)
        fprintf(stderr, "cinfer: bench: %lld timed runs...\n", (long long)o->iterations);
    else
        fprintf(stderr, "cinfer: bench: timing runs for %.3g s...\n", o->duration);
    double start = now_s(), t = start;
    for (;;) {
        if (o->iterations ? (int64_t)r->n >= o->iterations : r->n > 0 && t - start >= o->duration)
            break;
        double t0 = now_s();
        cinfer_status s = cinfer_model_run(m, in->n, in->names, in->t, n_out, NULL, bufs);
        t = now_s();
        if (s != CINFER_OK) return cli_fail_api(s);
        int rc = push_latency(r, (t - t0) * 1e3);
        if (rc) return rc;
    }
    r->wall_s = t - start;
    return 0;
}

static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void print_results(const cli_opts *o, cinfer_runtime *rt, const cli_inputs *in,
                          bench_result *r) {
    cli_stats st;
    cli_stats_compute(r->lat_ms, r->n, &st);
    double tput = r->wall_s > 0 ? (double)in->batch * (double)r->n / r->wall_s : 0.0;
    const char *dev = cli_device_name(cinfer_runtime_device(rt));
    int threads = cinfer_runtime_num_threads(rt);
    FILE *h = o->json ? stderr : stdout;
    fprintf(h, "model:      %s\ndevice:     %s, %d threads\nbatch:      %lld\n", o->model, dev,
            threads, (long long)in->batch);
    fprintf(h, "iterations: %zu in %.3f s (after %d warmup runs)\n", r->n, r->wall_s, o->warmup);
    fprintf(h, "throughput: %.2f samples/s\n", tput);
    fprintf(h, "latency ms: min %.4g  p50 %.4g  p90 %.4g  p99 %.4g  max %.4g  mean %.4g\n",
            st.min, st.p50, st.p90, st.p99, st.max, st.mean);
    if (!o->json) return;
    printf("{\"model\": ");
    json_string(stdout, o->model);
    printf(", \"device\": \"%s\", \"batch\": %lld, \"threads\": %d, \"warmup\": %d, "
           "\"iterations\": %zu, \"duration_s\": %.6f, \"throughput_per_s\": %.6g, "
           "\"latency_ms\": {\"min\": %.6g, \"p50\": %.6g, \"p90\": %.6g, \"p99\": %.6g, "
           "\"max\": %.6g, \"mean\": %.6g}}\n",
           dev, (long long)in->batch, threads, o->warmup, r->n, r->wall_s, tput, st.min, st.p50,
           st.p90, st.p99, st.max, st.mean);
}

static int bench(const cli_opts *o, cinfer_runtime *rt, cinfer_model *m, const cli_inputs *in) {
    size_t n_out = cinfer_model_output_count(m);
    cinfer_tensor *owned = cinfer__calloc(n_out, sizeof *owned);
    cinfer_tensor *bufs = cinfer__calloc(n_out, sizeof *bufs);
    bench_result r = {0};
    int rc = 0;
    if (!owned || !bufs) rc = cli_fail(CINFER_OUT_OF_MEMORY, "out of memory");
    if (!rc) rc = alloc_outputs(m, in, owned, bufs, n_out);
    if (!rc) rc = timed_loop(o, m, in, bufs, n_out, &r);
    if (!rc) print_results(o, rt, in, &r);
    if (!rc && getenv("CINFER_PROFILE")) cinfer__model_profile_print(m, stderr);
    for (size_t k = 0; owned && k < n_out; k++) cinfer_tensor_release(&owned[k]);
    cinfer__free(owned);
    cinfer__free(bufs);
    cinfer__free(r.lat_ms);
    return rc;
}

int cli_cmd_bench(int argc, char **argv) {
    cli_opts o;
    cinfer_runtime *rt = NULL;
    cinfer_model *m = NULL;
    cli_inputs in = {0};
    unsigned allowed = OPT_INPUT | OPT_SHAPE | OPT_DEVICE | OPT_SEED | OPT_BENCH;
    int rc = cli_parse(argc, argv, 2, allowed, &o);
    if (rc) goto done;
    if ((rc = cli_load(&o, &rt, &m))) goto done;
    if ((rc = cli_make_inputs(&o, m, false, &in))) goto done;
    rc = bench(&o, rt, m, &in);
    fflush(stdout);
done:
    cli_inputs_free(&in);
    cinfer_model_destroy(m);
    cinfer_runtime_destroy(rt);
    cli_opts_free(&o);
    return rc < 0 ? 0 : rc;
}
