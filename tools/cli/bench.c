/* `cinfer bench`: times cinfer_model_run and reports throughput and latency percentiles; with
 * --concurrency or --request-rate, a load generator in the spirit of Triton's perf_analyzer
 * drives a scheduler (dynamic batching) and reports each load level. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
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
    if (s != CINFER_OK) return cli_fail_run(s, in);
    for (size_t k = 0; k < n_out; k++) {
        bufs[k] = owned[k];
        bufs[k].flags = 0;
    }
    return 0;
}

/* `ins`: in->t, or their device copies under --io device (then `bufs` are device memory). */
static int timed_loop(const cli_opts *o, cinfer_model *m, const cli_inputs *in,
                      const cinfer_tensor *ins, cinfer_tensor *bufs, size_t n_out,
                      bench_result *r) {
    for (int w = 0; w < o->warmup; w++) {
        cinfer_status s = cinfer_model_run(m, in->n, in->names, ins, n_out, NULL, bufs);
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
        cinfer_status s = cinfer_model_run(m, in->n, in->names, ins, n_out, NULL, bufs);
        t = now_s();
        if (s != CINFER_OK) return cli_fail_api(s);
        int rc = push_latency(r, (t - t0) * 1e3);
        if (rc) return rc;
    }
    r->wall_s = t - start;
    return 0;
}

/* The precision the GPU steps may use, as the load chose it (--precision stored resolved;
 * fp32 on the CPU). */
static const char *cli_precision(const cinfer_model *m) {
    return cinfer_precision_name(cinfer_model_precision(m));
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

static void print_results(const cli_opts *o, cinfer_runtime *rt, const cinfer_model *m,
                          const cli_inputs *in, bench_result *r) {
    cli_stats st;
    cli_stats_compute(r->lat_ms, r->n, &st);
    double tput = r->wall_s > 0 ? (double)in->batch * (double)r->n / r->wall_s : 0.0;
    const char *dev = cli_device_name(cinfer_runtime_device(rt));
    int threads = cinfer_runtime_num_threads(rt);
    FILE *h = o->json ? stderr : stdout;
    fprintf(h, "model:      %s\ndevice:     %s, %d threads\nbatch:      %lld\n", o->model, dev,
            threads, (long long)in->batch);
    if (o->device_io) fprintf(h, "io:         device (inputs uploaded once, outputs kept)\n");
    fprintf(h, "iterations: %zu in %.3f s (after %d warmup runs)\n", r->n, r->wall_s, o->warmup);
    fprintf(h, "throughput: %.2f samples/s\n", tput);
    fprintf(h, "latency ms: min %.4g  p50 %.4g  p90 %.4g  p99 %.4g  max %.4g  mean %.4g\n",
            st.min, st.p50, st.p90, st.p99, st.max, st.mean);
    if (!o->json) return;
    printf("{\"model\": ");
    json_string(stdout, o->model);
    printf(", \"precision\": \"%s\"", cli_precision(m));
    printf(", \"device\": \"%s\", \"io\": \"%s\", \"batch\": %lld, \"threads\": %d, "
           "\"warmup\": %d, \"iterations\": %zu, \"duration_s\": %.6f, \"throughput_per_s\": %.6g, "
           "\"latency_ms\": {\"min\": %.6g, \"p50\": %.6g, \"p90\": %.6g, \"p99\": %.6g, "
           "\"max\": %.6g, \"mean\": %.6g}}\n",
           dev, o->device_io ? "device" : "host", (long long)in->batch, threads, o->warmup, r->n,
           r->wall_s, tput, st.min, st.p50, st.p90, st.p99, st.max, st.mean);
}

static int bench(const cli_opts *o, cinfer_runtime *rt, cinfer_model *m, const cli_inputs *in) {
    size_t n_out = cinfer_model_output_count(m);
    cinfer_tensor *owned = cinfer__calloc(n_out, sizeof *owned);
    cinfer_tensor *bufs = cinfer__calloc(n_out, sizeof *bufs);
    bench_result r = {0};
    int rc = 0;
    if (!owned || !bufs) rc = cli_fail(CINFER_OUT_OF_MEMORY, "out of memory");
    if (!rc) rc = alloc_outputs(m, in, owned, bufs, n_out);
    /* --io device: inputs uploaded once, before timing; outputs stay on the device. */
    cinfer_tensor *dev_in = NULL, *dev_out = NULL;
    bool dev = !rc && o->device_io;
    if (dev && (!(dev_in = cinfer__calloc(in->n + 1, sizeof *dev_in)) ||
                !(dev_out = cinfer__calloc(n_out + 1, sizeof *dev_out))))
        rc = cli_fail(CINFER_OUT_OF_MEMORY, "out of memory");
    if (dev && !rc) rc = cli_device_tensors(rt, in->t, in->n, true, dev_in);
    if (dev && !rc) rc = cli_device_tensors(rt, bufs, n_out, false, dev_out);
    if (!rc) rc = timed_loop(o, m, in, dev ? dev_in : in->t, dev ? dev_out : bufs, n_out, &r);
    if (dev_in) cli_device_free(rt, dev_in, in->n); /* a no-op on entries never allocated */
    if (dev_out) cli_device_free(rt, dev_out, n_out);
    cinfer__free(dev_in);
    cinfer__free(dev_out);
    if (!rc) print_results(o, rt, m, in, &r);
    if (!rc && getenv("CINFER_PROFILE")) cinfer__model_profile_print(m, stderr);
    for (size_t k = 0; owned && k < n_out; k++) cinfer_tensor_release(&owned[k]);
    cinfer__free(owned);
    cinfer__free(bufs);
    cinfer__free(r.lat_ms);
    return rc;
}

/* ---- Load generator: closed loop (--concurrency) or open loop (--request-rate) ---------- */

/* Requests in flight at most in the open loop; past it a send counts as an error. */
#define MAX_IN_FLIGHT (1 << 16)

/* Shared by the sending thread and the completion callbacks. */
typedef struct load_state {
    cinfer_scheduler *s;
    const cli_inputs *in;
    pthread_mutex_t mu;  /* guards everything below */
    pthread_cond_t cv;   /* in_flight dropped to 0 */
    double *lat;         /* ms, requests that completed in the current window */
    size_t n, cap;
    uint64_t errors;
    int in_flight;
    bool closed, stop;   /* closed loop: each completion sends the next, until stop */
    char first_error[256];
} load_state;

/* One load generator runs at a time; the callbacks find it here. */
static load_state g_load = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_until_ns(uint64_t t) {
    struct timespec ts = {.tv_sec = (time_t)(t / 1000000000u), .tv_nsec = (long)(t % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL)) {
    }
}

/* Under ls->mu. */
static void note_error(load_state *ls, const char *msg) {
    ls->errors++;
    if (!ls->first_error[0]) snprintf(ls->first_error, sizeof ls->first_error, "%s", msg);
}

static void load_done(cinfer_request *req, cinfer_status st, const char *msg, size_t n_out,
                      cinfer_tensor *outs, void *user);

/* The submit time rides in `user`. The inputs are borrowed by every request (read only). */
static cinfer_status load_submit(load_state *ls) {
    cinfer_request_options o;
    cinfer_request_options_init(&o);
    o.callback = load_done;
    o.user = (void *)(uintptr_t)now_ns();
    return cinfer_scheduler_submit(ls->s, ls->in->n, ls->in->names, ls->in->t, &o, NULL);
}

static void send_failed(load_state *ls) {
    pthread_mutex_lock(&ls->mu);
    note_error(ls, cinfer_last_error());
    if (--ls->in_flight == 0) pthread_cond_broadcast(&ls->cv);
    pthread_mutex_unlock(&ls->mu);
}

static void load_done(cinfer_request *req, cinfer_status st, const char *msg, size_t n_out,
                      cinfer_tensor *outs, void *user) {
    load_state *ls = &g_load;
    double ms = (double)(now_ns() - (uint64_t)(uintptr_t)user) * 1e-6;
    pthread_mutex_lock(&ls->mu);
    if (st != CINFER_OK) {
        note_error(ls, msg);
    } else if (ls->n == ls->cap) {
        size_t cap = ls->cap ? ls->cap * 2 : 4096;
        double *p = cinfer__realloc(ls->lat, cap * sizeof *p);
        if (p) {
            ls->lat = p;
            ls->cap = cap;
            ls->lat[ls->n++] = ms;
        } else {
            note_error(ls, "out of memory for latencies");
        }
    } else {
        ls->lat[ls->n++] = ms;
    }
    bool again = ls->closed && !ls->stop;
    if (!again && --ls->in_flight == 0) pthread_cond_broadcast(&ls->cv);
    pthread_mutex_unlock(&ls->mu);
    if (again && load_submit(ls) != CINFER_OK) send_failed(ls);
}

/* One measurement window. */
typedef struct window {
    double *lat;
    size_t n;
    uint64_t errors;
    double secs, tput, p50;
    cinfer_scheduler_stats st0, st1;
} window;

/* Sends at the scheduled times (constant or Poisson arrivals) until `end`. */
static void open_loop_until(load_state *ls, const cli_opts *o, double rate, uint64_t end,
                            uint64_t *next, uint64_t *rng) {
    for (;;) {
        uint64_t now = now_ns();
        if (now >= end) return;
        if (now < *next) {
            sleep_until_ns(*next < end ? *next : end);
            continue;
        }
        pthread_mutex_lock(&ls->mu);
        bool room = ls->in_flight < MAX_IN_FLIGHT;
        if (room) ls->in_flight++;
        else note_error(ls, "the client has too many requests in flight");
        pthread_mutex_unlock(&ls->mu);
        if (room && load_submit(ls) != CINFER_OK) send_failed(ls);
        double gap = 1.0 / rate;
        if (o->arrival == CLI_ARRIVAL_POISSON) {
            uint64_t z = (*rng += 0x9e3779b97f4a7c15ull);
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            double u = (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
            gap = -log1p(-u) / rate;
        }
        *next += (uint64_t)(gap * 1e9);
    }
}

static void take_window(load_state *ls, cinfer_scheduler *s, uint64_t t0, window *w,
                        int64_t rows) {
    pthread_mutex_lock(&ls->mu);
    w->lat = ls->lat;
    w->n = ls->n;
    w->errors = ls->errors;
    ls->lat = NULL;
    ls->n = ls->cap = 0;
    ls->errors = 0;
    pthread_mutex_unlock(&ls->mu);
    w->st1.struct_size = sizeof w->st1;
    cinfer_scheduler_get_stats(s, &w->st1);
    w->secs = (double)(now_ns() - t0) * 1e-9;
    cli_stats st;
    if (w->n) cli_stats_compute(w->lat, w->n, &st);
    w->p50 = w->n ? st.p50 : 0.0;
    w->tput = (double)w->n * (double)rows / w->secs;
}

/* perf_analyzer's rule: the last 3 windows' throughput and p50 within pct of each other. */
static bool is_stable(const window *w, double pct) {
    double tmin = w[0].tput, tmax = tmin, pmin = w[0].p50, pmax = pmin;
    for (int k = 1; k < 3; k++) {
        tmin = fmin(tmin, w[k].tput), tmax = fmax(tmax, w[k].tput);
        pmin = fmin(pmin, w[k].p50), pmax = fmax(pmax, w[k].p50);
    }
    double lim = 1.0 + pct / 100.0;
    return tmin > 0 && pmin > 0 && tmax <= tmin * lim && pmax <= pmin * lim;
}

typedef struct level_result {
    double level;
    int max_batch, instances;
    int64_t delay_us;
    bool stable;
    int windows;
    size_t requests;
    uint64_t errors, executions;
    double secs, tput, p95;
    cli_stats lat;
    double queue_us, input_us, infer_us, output_us, other_us, avg_batch;
} level_result;

/* Sums the server statistics over the windows and the latencies into r. */
static int summarize(const window *w, int n, int64_t rows, level_result *r) {
    size_t total = 0;
    for (int k = 0; k < n; k++) total += w[k].n;
    double *all = cinfer__malloc((total ? total : 1) * sizeof *all);
    if (!all) return cli_fail(CINFER_OUT_OF_MEMORY, "out of memory for %zu latencies", total);
    uint64_t ok = 0, q = 0, in = 0, inf = 0, out = 0, execs = 0, infers = 0;
    size_t at = 0;
    for (int k = 0; k < n; k++) {
        if (w[k].n) memcpy(all + at, w[k].lat, w[k].n * sizeof *all);
        at += w[k].n;
        r->errors += w[k].errors;
        r->secs += w[k].secs;
        const cinfer_scheduler_stats *a = &w[k].st0, *b = &w[k].st1;
        ok += b->success_count - a->success_count;
        q += b->queue_ns - a->queue_ns;
        in += b->compute_input_ns - a->compute_input_ns;
        inf += b->compute_infer_ns - a->compute_infer_ns;
        out += b->compute_output_ns - a->compute_output_ns;
        execs += b->execution_count - a->execution_count;
        infers += b->inference_count - a->inference_count;
    }
    r->requests = total;
    r->tput = r->secs > 0 ? (double)total * (double)rows / r->secs : 0.0;
    if (total) {
        cli_stats_compute(all, total, &r->lat);
        r->p95 = cli_percentile_sorted(all, total, 95.0);
    }
    cinfer__free(all);
    double per = ok ? 1e-3 / (double)ok : 0.0;
    r->queue_us = (double)q * per, r->input_us = (double)in * per;
    r->infer_us = (double)inf * per, r->output_us = (double)out * per;
    r->other_us = fmax(0.0, r->lat.mean * 1e3 - r->queue_us - r->input_us - r->infer_us -
                                r->output_us);
    r->executions = execs;
    r->avg_batch = execs ? (double)infers / (double)execs : 0.0;
    return 0;
}

/* Runs one load level: windows until stable or max_trials, then drains what is in flight. */
static int measure_level(const cli_opts *o, load_state *ls, double level, level_result *r) {
    window w[3];
    memset(w, 0, sizeof w);
    pthread_mutex_lock(&ls->mu);
    ls->stop = false;
    ls->closed = o->closed_loop;
    ls->in_flight = o->closed_loop ? (int)level : 0;
    pthread_mutex_unlock(&ls->mu);
    for (int c = 0; o->closed_loop && c < (int)level; c++)
        if (load_submit(ls) != CINFER_OK) send_failed(ls);
    uint64_t next = now_ns(), rng = (o->seed_given ? o->seed : 1) ^ 0x5bd1e995u;
    int n = 0;
    for (; n < o->max_trials && !r->stable; n++) {
        window *cur = &w[n % 3];
        cinfer__free(cur->lat);
        memset(cur, 0, sizeof *cur);
        cur->st0.struct_size = sizeof cur->st0;
        cinfer_scheduler_get_stats(ls->s, &cur->st0);
        uint64_t t0 = now_ns(), end = t0 + (uint64_t)(o->interval_ms * 1e6);
        if (o->closed_loop) sleep_until_ns(end);
        else open_loop_until(ls, o, level, end, &next, &rng);
        take_window(ls, ls->s, t0, cur, ls->in->batch);
        r->stable = n >= 2 && is_stable(w, o->stability_pct);
    }
    pthread_mutex_lock(&ls->mu);
    ls->stop = true;
    while (ls->in_flight > 0) pthread_cond_wait(&ls->cv, &ls->mu);
    cinfer__free(ls->lat); /* completions while draining are not measured */
    ls->lat = NULL;
    ls->n = ls->cap = 0;
    ls->errors = 0;
    pthread_mutex_unlock(&ls->mu);
    r->level = level;
    r->windows = n;
    int rc = summarize(w, n < 3 ? n : 3, ls->in->batch, r);
    for (int k = 0; k < 3; k++) cinfer__free(w[k].lat);
    return rc;
}

static void print_level_header(FILE *h, const cli_opts *o) {
    fprintf(h, "%12s %12s %9s %9s %9s %9s %7s %9s %9s %9s %9s %9s\n",
            o->closed_loop ? "concurrency" : "request/s", "infer/s", "p50 ms", "p90 ms",
            "p95 ms", "p99 ms", "batch", "queue us", "input us", "infer us", "output us",
            "other us");
}

static void print_level(FILE *h, const level_result *r) {
    fprintf(h, "%12g %12.1f %9.4g %9.4g %9.4g %9.4g %7.2f %9.1f %9.1f %9.1f %9.1f %9.1f%s\n",
            r->level, r->tput, r->lat.p50, r->lat.p90, r->p95, r->lat.p99, r->avg_batch,
            r->queue_us, r->input_us, r->infer_us, r->output_us, r->other_us,
            r->stable ? "" : "  (not stable)");
    if (r->errors) fprintf(h, "%12s %llu failed requests\n", "", (unsigned long long)r->errors);
}

/* One scheduler configuration (one --max-batch-size value) over every level. */
static int run_config(const cli_opts *o, cinfer_model *m, const cli_inputs *in, int max_batch,
                      level_result *res) {
    cinfer_batching_options bo;
    cinfer_batching_options_init(&bo);
    if (max_batch >= 0) bo.max_batch_size = max_batch;
    bo.max_queue_delay_us = (uint64_t)o->max_queue_delay_us;
    bo.instances = o->instances;
    if (bo.max_batch_size > 0 && in->batch > bo.max_batch_size)
        return cli_fail(CINFER_INVALID_ARGUMENT, "--max-batch-size %d is below the %lld rows of "
                        "each request (--batch)", bo.max_batch_size, (long long)in->batch);
    load_state *ls = &g_load;
    ls->in = in;
    ls->first_error[0] = '\0';
    cinfer_status st = cinfer_scheduler_create(m, &bo, &ls->s);
    if (st != CINFER_OK) return cli_fail_api(st);
    FILE *h = o->json ? stderr : stdout;
    fprintf(h, "\nscheduler: max_batch_size %d, max_queue_delay_us %llu, instances %d\n",
            bo.max_batch_size, (unsigned long long)bo.max_queue_delay_us,
            bo.instances ? bo.instances : 1);
    print_level_header(h, o);
    int rc = 0;
    for (int k = 0; k < o->n_levels && !rc; k++) {
        res[k] = (level_result){.max_batch = bo.max_batch_size,
                                .instances = bo.instances ? bo.instances : 1,
                                .delay_us = o->max_queue_delay_us};
        rc = measure_level(o, ls, o->levels[k], &res[k]);
        if (!rc) print_level(h, &res[k]);
        fflush(h);
    }
    if (ls->first_error[0]) fprintf(stderr, "cinfer: first failed request: %s\n", ls->first_error);
    cinfer_scheduler_destroy(ls->s);
    ls->s = NULL;
    return rc;
}

static int write_csv(const cli_opts *o, const level_result *res, int n) {
    FILE *f = fopen(o->csv, "w");
    if (!f) return cli_fail(CINFER_IO, "--csv %s: cannot open for writing", o->csv);
    /* perf_analyzer's columns (times in microseconds), then the scheduler's settings. */
    fprintf(f, "%s,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,"
               "Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,"
               "p50 latency,p90 latency,p95 latency,p99 latency,Max Batch Size,"
               "Max Queue Delay us,Instances,Avg Batch Size,Stable\n",
            o->closed_loop ? "Concurrency" : "Request Rate");
    for (int k = 0; k < n; k++) {
        const level_result *r = &res[k];
        fprintf(f, "%g,%.2f,0,%.0f,%.0f,%.0f,%.0f,%.0f,0,%.0f,%.0f,%.0f,%.0f,%d,%lld,%d,%.2f,%d\n",
                r->level, r->tput, r->other_us, r->queue_us, r->input_us, r->infer_us,
                r->output_us, r->lat.p50 * 1e3, r->lat.p90 * 1e3, r->p95 * 1e3,
                r->lat.p99 * 1e3, r->max_batch, (long long)r->delay_us, r->instances,
                r->avg_batch, r->stable);
    }
    if (fclose(f)) return cli_fail(CINFER_IO, "--csv %s: write failed", o->csv);
    return 0;
}

static void json_level(const cli_opts *o, const level_result *r) {
    printf("{\"%s\": %g, \"max_batch_size\": %d, \"max_queue_delay_us\": %lld, "
           "\"instances\": %d, \"stable\": %s, \"windows\": %d, \"requests\": %zu, "
           "\"failed\": %llu, \"duration_s\": %.6f, \"throughput_per_s\": %.6g, "
           "\"latency_ms\": {\"min\": %.6g, \"p50\": %.6g, \"p90\": %.6g, \"p95\": %.6g, "
           "\"p99\": %.6g, \"max\": %.6g, \"mean\": %.6g}, \"executions\": %llu, "
           "\"avg_batch_rows\": %.4g, \"server_us\": {\"queue\": %.6g, \"compute_input\": %.6g, "
           "\"compute_infer\": %.6g, \"compute_output\": %.6g, \"other\": %.6g}}",
           o->closed_loop ? "concurrency" : "request_rate", r->level, r->max_batch,
           (long long)r->delay_us, r->instances, r->stable ? "true" : "false", r->windows,
           r->requests, (unsigned long long)r->errors, r->secs, r->tput, r->lat.min, r->lat.p50,
           r->lat.p90, r->p95, r->lat.p99, r->lat.max, r->lat.mean,
           (unsigned long long)r->executions, r->avg_batch, r->queue_us, r->input_us,
           r->infer_us, r->output_us, r->other_us);
}

/* The core JSON object (its summary fields from the level with the highest throughput) plus
 * one entry per level. */
static void print_load_json(const cli_opts *o, cinfer_runtime *rt, const cinfer_model *m,
                            const cli_inputs *in, const level_result *res, int n) {
    int best = 0;
    for (int k = 1; k < n; k++)
        if (res[k].tput > res[best].tput) best = k;
    const level_result *b = &res[best];
    printf("{\"model\": ");
    json_string(stdout, o->model);
    printf(", \"precision\": \"%s\"", cli_precision(m));
    printf(", \"device\": \"%s\", \"batch\": %lld, \"threads\": %d, \"warmup\": %d, "
           "\"iterations\": %zu, \"duration_s\": %.6f, \"throughput_per_s\": %.6g, "
           "\"latency_ms\": {\"min\": %.6g, \"p50\": %.6g, \"p90\": %.6g, \"p99\": %.6g, "
           "\"max\": %.6g, \"mean\": %.6g}, \"mode\": \"%s\", \"levels\": [",
           cli_device_name(cinfer_runtime_device(rt)), (long long)in->batch,
           cinfer_runtime_num_threads(rt), o->warmup, b->requests, b->secs, b->tput, b->lat.min,
           b->lat.p50, b->lat.p90, b->lat.p99, b->lat.max, b->lat.mean,
           o->closed_loop ? "concurrency" : "request_rate");
    for (int k = 0; k < n; k++) {
        if (k) printf(", ");
        json_level(o, &res[k]);
    }
    printf("]}\n");
}

static int bench_load(const cli_opts *o, cinfer_runtime *rt, cinfer_model *m,
                      const cli_inputs *in) {
    int n_cfg = o->n_max_batch ? o->n_max_batch : 1;
    level_result *res = cinfer__calloc((size_t)(n_cfg * o->n_levels), sizeof *res);
    if (!res) return cli_fail(CINFER_OUT_OF_MEMORY, "out of memory");
    FILE *h = o->json ? stderr : stdout;
    fprintf(h, "model:      %s\ndevice:     %s, %d threads\nrequest:    %lld row(s)\n", o->model,
            cli_device_name(cinfer_runtime_device(rt)), cinfer_runtime_num_threads(rt),
            (long long)in->batch);
    fprintf(h, "load:       %s loop%s; windows of %g ms until throughput and p50 of the last 3 "
               "are within %g%% (at most %d windows)\n", o->closed_loop ? "closed" : "open",
            o->closed_loop ? "" : o->arrival == CLI_ARRIVAL_POISSON ? ", Poisson arrivals"
                                                                  : ", constant arrivals",
            o->interval_ms, o->stability_pct, o->max_trials);
    int rc = 0;
    for (int c = 0; c < n_cfg && !rc; c++)
        rc = run_config(o, m, in, o->n_max_batch ? o->max_batch[c] : -1, res + c * o->n_levels);
    if (!rc && o->csv) rc = write_csv(o, res, n_cfg * o->n_levels);
    if (!rc && o->json) print_load_json(o, rt, m, in, res, n_cfg * o->n_levels);
    cinfer__free(res);
    return rc;
}

int cli_cmd_bench(int argc, char **argv) {
    cli_opts o;
    cinfer_runtime *rt = NULL;
    cinfer_model *m = NULL;
    cli_inputs in = {0};
    unsigned allowed = OPT_INPUT | OPT_SHAPE | OPT_DEVICE | OPT_SEED | OPT_BENCH | OPT_LOAD;
    int rc = cli_parse(argc, argv, 2, allowed, &o);
    if (rc) goto done;
    if ((rc = cli_load(&o, &rt, &m))) goto done;
    if ((rc = cli_make_inputs(&o, m, false, &in))) goto done;
    rc = o.n_levels ? bench_load(&o, rt, m, &in) : bench(&o, rt, m, &in);
    fflush(stdout);
done:
    cli_inputs_free(&in);
    cinfer_model_destroy(m);
    cinfer_runtime_destroy(rt);
    cli_opts_free(&o);
    return rc < 0 ? 0 : rc;
}
