/* Tests of the scheduler (src/sched/): concurrent clients against the same inputs run alone,
 * batching, timeouts, a full queue, priorities, cancel, ordering and shutdown, on small MLPs
 * built here with protobuf-c. The "busy instance" cases hold the instance on the batch it took
 * (cinfer__sched_test_hold), so what queues behind it is deterministic. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cinfer/cinfer.h"
#include "model_builder.h"
#include "onnx.pb-c.h"
#include "sched/sched.h"

enum { F32 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT };
/* Wide enough that GEMMs of 8 or more rows split over the thread pool. */
enum { D_IN = 64, D_HID = 256, D_OUT = 16 };

/* ---- Models --------------------------------------------------------------------------- */

/* A float value info from "batch,16": numbers are fixed dims, names dim_params. */
static Onnx__ValueInfoProto *vinfo(const char *name, const char *spec) {
    return vinfo_spec(name, F32, spec);
}

/* A float initializer [rows x cols] (cols 0: [rows]) with seeded values in [-1, 1). */
static void add_weight(Onnx__ModelProto *m, const char *name, int64_t rows, int64_t cols,
                       unsigned seed) {
    Onnx__TensorProto *t = xcalloc(1, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = xstr(name);
    t->has_data_type = 1;
    t->data_type = F32;
    t->n_dims = cols ? 2 : 1;
    t->dims = xcalloc(2, sizeof(int64_t));
    t->dims[0] = rows;
    t->dims[1] = cols;
    size_t n = (size_t)(rows * (cols ? cols : 1));
    float *w = xcalloc(n, sizeof *w);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        w[i] = (float)(seed >> 8) / (float)(1u << 24) * 2.f - 1.f;
    }
    t->has_raw_data = 1;
    t->raw_data.len = n * sizeof *w;
    t->raw_data.data = (uint8_t *)w;
    APPEND(m->graph->initializer, m->graph->n_initializer, t);
}

static void add_node(Onnx__ModelProto *m, const char *op, const char *a, const char *b,
                     const char *out) {
    Onnx__NodeProto *n = xcalloc(1, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = xstr(op);
    APPEND(n->input, n->n_input, xstr(a));
    if (b) APPEND(n->input, n->n_input, xstr(b));
    APPEND(n->output, n->n_output, xstr(out));
    APPEND(m->graph->node, m->graph->n_node, n);
}

static cinfer_runtime *rt;

static cinfer_model *load(Onnx__ModelProto *m) {
    size_t len = onnx__model_proto__get_packed_size(m);
    uint8_t *buf = xcalloc(len, 1);
    ck_assert_uint_eq(onnx__model_proto__pack(m, buf), len);
    protobuf_c_message_free_unpacked(&m->base, NULL);
    cinfer_model *model = NULL;
    cinfer_status st = cinfer_model_load_memory(rt, buf, len, NULL, &model);
    free(buf);
    ck_assert_msg(st == CINFER_OK, "load: %s", cinfer_last_error());
    return model;
}

/* y = Relu(x W1 + b1) W2 + b2 with x [batch x D_IN]; outputs y and the hidden h. */
static cinfer_model *mlp(const char *batch_dim) {
    Onnx__ModelProto *m = model_new(17);
    char spec[64];
    snprintf(spec, sizeof spec, "%s,%d", batch_dim, D_IN);
    APPEND(m->graph->input, m->graph->n_input, vinfo("x", spec));
    add_weight(m, "W1", D_IN, D_HID, 1);
    add_weight(m, "b1", D_HID, 0, 2);
    add_weight(m, "W2", D_HID, D_OUT, 3);
    add_weight(m, "b2", D_OUT, 0, 4);
    add_node(m, "MatMul", "x", "W1", "xw");
    add_node(m, "Add", "xw", "b1", "pre");
    add_node(m, "Relu", "pre", NULL, "h");
    add_node(m, "MatMul", "h", "W2", "hw");
    add_node(m, "Add", "hw", "b2", "y");
    snprintf(spec, sizeof spec, "%s,%d", batch_dim, D_OUT);
    APPEND(m->graph->output, m->graph->n_output, vinfo("y", spec));
    snprintf(spec, sizeof spec, "%s,%d", batch_dim, D_HID);
    APPEND(m->graph->output, m->graph->n_output, vinfo("h", spec));
    return load(m);
}

/* y = Relu(x) with x [batch x seq]: the non-batch dimension varies between requests. */
static cinfer_model *relu_seq(void) {
    Onnx__ModelProto *m = model_new(17);
    APPEND(m->graph->input, m->graph->n_input, vinfo("x", "batch,seq"));
    add_node(m, "Relu", "x", NULL, "y");
    APPEND(m->graph->output, m->graph->n_output, vinfo("y", "batch,seq"));
    return load(m);
}

static void setup(void) {
    cinfer_runtime_options o;
    cinfer_runtime_options_init(&o);
    o.device = CINFER_DEVICE_CPU;
    o.num_threads = 2;
    ck_assert_int_eq(cinfer_runtime_create(&o, &rt), CINFER_OK);
}

static void teardown(void) { cinfer_runtime_destroy(rt); }

/* ---- Helpers -------------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static cinfer_tensor make_input(int64_t rows, int64_t cols, uint64_t *rng) {
    cinfer_tensor t = {.dtype = CINFER_DTYPE_FLOAT, .rank = 2, .dims = {rows, cols}};
    float *d = xcalloc((size_t)(rows * cols), sizeof *d);
    for (int64_t i = 0; i < rows * cols; i++)
        d[i] = (float)((double)(rng_next(rng) >> 11) * 0x1.0p-53 * 2.0 - 1.0);
    t.data = d;
    return t;
}

static cinfer_scheduler *sched_new(cinfer_model *m, int max_batch, uint64_t delay_us,
                                   int instances, void (*tweak)(cinfer_batching_options *)) {
    cinfer_batching_options o;
    cinfer_batching_options_init(&o);
    o.max_batch_size = max_batch;
    o.max_queue_delay_us = delay_us;
    o.instances = instances;
    if (tweak) tweak(&o);
    cinfer_scheduler *s = NULL;
    cinfer_status st = cinfer_scheduler_create(m, &o, &s);
    ck_assert_msg(st == CINFER_OK, "scheduler: %s", cinfer_last_error());
    return s;
}

/* Batched vs alone: max|got - ref| <= rtol * max|ref| with rtol 1e-5, atol 0. */
static void expect_close(const cinfer_tensor *got, const cinfer_tensor *ref, const char *what) {
    ck_assert_int_eq(got->dtype, ref->dtype);
    ck_assert_int_eq(got->rank, ref->rank);
    for (int d = 0; d < ref->rank; d++) ck_assert_int_eq(got->dims[d], ref->dims[d]);
    const float *g = got->data, *r = ref->data;
    double maxd = 0, maxr = 0;
    for (int64_t i = 0; i < cinfer_tensor_numel(ref); i++) {
        double d = (double)g[i] - (double)r[i];
        ck_assert_msg(d == d, "%s: NaN at %lld", what, (long long)i);
        if (d < 0) d = -d;
        if (d > maxd) maxd = d;
        double a = r[i] < 0 ? -(double)r[i] : (double)r[i];
        if (a > maxr) maxr = a;
    }
    ck_assert_msg(maxd <= 1e-5 * maxr, "%s: max|d| %g > 1e-5 * max|ref| %g", what, maxd, maxr);
}

static void wait_dispatched(cinfer_scheduler *s) {
    for (int i = 0; i < 20000; i++) {
        cinfer_scheduler_stats st = {.struct_size = sizeof st};
        ck_assert_int_eq(cinfer_scheduler_get_stats(s, &st), CINFER_OK);
        if (st.pending_count == 0) return;
        usleep(500);
    }
    ck_abort_msg("the first request was never dispatched");
}

static cinfer_scheduler_stats stats(cinfer_scheduler *s) {
    cinfer_scheduler_stats st = {.struct_size = sizeof st};
    ck_assert_int_eq(cinfer_scheduler_get_stats(s, &st), CINFER_OK);
    return st;
}

/* Rows the instances ran (sum of b * hist[b]) and the number of executions. */
static uint64_t rows_run(cinfer_scheduler *s, uint64_t *executions) {
    uint64_t h[65] = {0}, rows = 0, n = 0;
    size_t len = cinfer_scheduler_batch_histogram(s, h, 65);
    ck_assert_uint_le(len, 65);
    for (size_t b = 0; b < len; b++) {
        rows += b * h[b];
        n += h[b];
    }
    if (executions) *executions = n;
    return rows;
}

/* Records the order in which callbacks ran and their statuses. */
typedef struct order_log {
    pthread_mutex_t mu;
    int ids[256];
    cinfer_status status[256];
    int n;
} order_log;

static order_log g_log;

static void log_cb(cinfer_request *req, cinfer_status st, const char *msg, size_t n,
                   cinfer_tensor *outs, void *user) {
    pthread_mutex_lock(&g_log.mu);
    int id = (int)(intptr_t)user;
    g_log.ids[g_log.n] = id;
    g_log.status[id] = st;
    g_log.n++;
    pthread_mutex_unlock(&g_log.mu);
}

static void log_reset(void) {
    pthread_mutex_init(&g_log.mu, NULL);
    g_log.n = 0;
}

static cinfer_request *submit_logged(cinfer_scheduler *s, const cinfer_tensor *x, int id,
                                     int priority, uint64_t timeout_us) {
    cinfer_request_options o;
    cinfer_request_options_init(&o);
    o.priority = priority;
    o.timeout_us = timeout_us;
    o.callback = log_cb;
    o.user = (void *)(intptr_t)id;
    cinfer_request *r = NULL;
    cinfer_status st = cinfer_scheduler_submit(s, 1, NULL, x, &o, &r);
    ck_assert_msg(st == CINFER_OK, "submit %d: %s", id, cinfer_last_error());
    return r;
}

/* ---- N clients x M requests against the same inputs run alone ----------------------- */

enum { N_CLIENTS = 4, M_REQUESTS = 40, K_ROWS = 5, GROUP = 4 };

typedef struct client {
    cinfer_model *m;
    cinfer_scheduler *s;
    int index;
    int64_t rows_total;
} client;

static atomic_int g_seen[256];

static void count_cb(cinfer_request *req, cinfer_status st, const char *msg, size_t n,
                     cinfer_tensor *outs, void *user) {
    atomic_fetch_add(&g_seen[(intptr_t)user], st == CINFER_OK ? 1 : 1000);
}

typedef struct pending {
    cinfer_request *req;
    cinfer_tensor x, ref[2];
    int which; /* 0: both outputs, 1: y only, 2: h only */
} pending;

static void submit_one(client *c, int id, uint64_t *rng, pending *p) {
    int64_t rows = 1 + (int64_t)(rng_next(rng) % K_ROWS);
    c->rows_total += rows;
    p->x = make_input(rows, D_IN, rng);
    memset(p->ref, 0, sizeof p->ref);
    cinfer_status st = cinfer_model_run(c->m, 1, NULL, &p->x, 2, NULL, p->ref);
    ck_assert_msg(st == CINFER_OK, "alone: %s", cinfer_last_error());
    static const char *const only_y[] = {"y"}, *const only_h[] = {"h"};
    cinfer_request_options o;
    cinfer_request_options_init(&o);
    p->which = (int)(rng_next(rng) % 3);
    o.n_outputs = p->which ? 1 : 0;
    o.output_names = p->which == 1 ? only_y : p->which == 2 ? only_h : NULL;
    o.copy_inputs = (int)(rng_next(rng) & 1);
    o.callback = count_cb;
    o.user = (void *)(intptr_t)id;
    st = cinfer_scheduler_submit(c->s, 1, NULL, &p->x, &o, &p->req);
    ck_assert_msg(st == CINFER_OK, "submit: %s", cinfer_last_error());
    if (o.copy_inputs) memset(p->x.data, 0xff, sizeof(float) * (size_t)rows * D_IN);
}

static void check_one(pending *p) {
    ck_assert_int_eq(cinfer_request_wait(p->req), CINFER_OK);
    size_t n;
    cinfer_tensor *outs;
    ck_assert_int_eq(cinfer_request_outputs(p->req, &n, &outs), CINFER_OK);
    ck_assert_uint_eq(n, p->which ? 1 : 2);
    if (p->which != 2) expect_close(&outs[0], &p->ref[0], "y");
    if (p->which == 2) expect_close(&outs[0], &p->ref[1], "h");
    if (p->which == 0) expect_close(&outs[1], &p->ref[1], "h");
    cinfer_request_release(p->req);
    cinfer_tensor_release(&p->ref[0]);
    cinfer_tensor_release(&p->ref[1]);
    free(p->x.data);
}

static void *client_main(void *arg) {
    client *c = arg;
    uint64_t rng = 0x5eed0000u + (uint64_t)c->index;
    pending p[GROUP];
    for (int m = 0; m < M_REQUESTS; m += GROUP) {
        int g = M_REQUESTS - m < GROUP ? M_REQUESTS - m : GROUP;
        for (int k = 0; k < g; k++) submit_one(c, c->index * M_REQUESTS + m + k, &rng, &p[k]);
        for (int k = 0; k < g; k++) check_one(&p[k]);
    }
    return NULL;
}

static void run_clients(int instances, int preserve) {
    cinfer_model *m = mlp("batch");
    cinfer_batching_options o;
    cinfer_batching_options_init(&o);
    o.max_batch_size = 16;
    o.max_queue_delay_us = 2000;
    o.instances = instances;
    o.preserve_ordering = preserve;
    cinfer_scheduler *s = NULL;
    ck_assert_msg(cinfer_scheduler_create(m, &o, &s) == CINFER_OK, "%s", cinfer_last_error());
    for (int i = 0; i < N_CLIENTS * M_REQUESTS; i++) atomic_store(&g_seen[i], 0);
    client c[N_CLIENTS];
    pthread_t th[N_CLIENTS];
    for (int i = 0; i < N_CLIENTS; i++) {
        c[i] = (client){.m = m, .s = s, .index = i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, client_main, &c[i]), 0);
    }
    int64_t rows = 0;
    for (int i = 0; i < N_CLIENTS; i++) {
        pthread_join(th[i], NULL);
        rows += c[i].rows_total;
    }
    for (int i = 0; i < N_CLIENTS * M_REQUESTS; i++)
        ck_assert_msg(atomic_load(&g_seen[i]) == 1, "request %d completed %d times (x1000 = "
                      "failures)", i, atomic_load(&g_seen[i]));
    cinfer_scheduler_stats st = stats(s);
    uint64_t execs;
    ck_assert_uint_eq(st.request_count, N_CLIENTS * M_REQUESTS);
    ck_assert_uint_eq(st.success_count, N_CLIENTS * M_REQUESTS);
    ck_assert_uint_eq(st.fail_count, 0);
    ck_assert_uint_eq(st.inference_count, (uint64_t)rows);
    ck_assert_uint_eq(rows_run(s, &execs), (uint64_t)rows);
    ck_assert_uint_eq(execs, st.execution_count);
    ck_assert_msg(st.execution_count < st.request_count, "%llu executions for %llu requests: "
                  "nothing was batched", (unsigned long long)st.execution_count,
                  (unsigned long long)st.request_count);
    ck_assert(st.queue_ns > 0 && st.compute_infer_ns > 0);
    cinfer_scheduler_destroy(s);
    cinfer_model_destroy(m);
}

START_TEST(clients_match_requests_run_alone) { run_clients(1, 0); }
END_TEST

START_TEST(two_instances_preserving_order_match_too) { run_clients(2, 1); }
END_TEST

/* ---- Batching --------------------------------------------------------------------------- */

typedef struct burst_arg {
    cinfer_scheduler *s;
    int seed;
} burst_arg;

static void *one_row_client(void *arg) {
    burst_arg *a = arg;
    uint64_t rng = (uint64_t)a->seed;
    for (int i = 0; i < 10; i++) {
        cinfer_tensor x = make_input(1, D_IN, &rng);
        cinfer_request *r = NULL;
        ck_assert_int_eq(cinfer_scheduler_submit(a->s, 1, NULL, &x, NULL, &r), CINFER_OK);
        ck_assert_int_eq(cinfer_request_wait(r), CINFER_OK);
        cinfer_request_release(r);
        free(x.data);
    }
    return NULL;
}

START_TEST(concurrent_single_rows_are_batched) {
    cinfer_model *m = mlp("N");
    cinfer_scheduler *s = sched_new(m, 8, 20000, 1, NULL);
    pthread_t th[8];
    burst_arg a[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (burst_arg){s, 100 + i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, one_row_client, &a[i]), 0);
    }
    for (int i = 0; i < 8; i++) pthread_join(th[i], NULL);
    uint64_t h[9] = {0}, big = 0;
    ck_assert_uint_eq(cinfer_scheduler_batch_histogram(s, h, 9), 9);
    for (int b = 2; b <= 8; b++) big += h[b];
    ck_assert_msg(big > 0, "no batch of more than one row (h[1] = %llu)",
                  (unsigned long long)h[1]);
    cinfer_scheduler_stats st = stats(s);
    ck_assert_uint_eq(st.success_count, 80);
    ck_assert_uint_eq(st.inference_count, 80);
    cinfer_scheduler_destroy(s);
    cinfer_model_destroy(m);
}
END_TEST

/* Preferred size 4, max 8: 3 rows wait for the delay, a fourth row dispatches them at once;
 * seven single rows queued behind a busy instance go as 4 (the largest preferred size
 * formable), then 3 when the delay runs out. */
static void prefer_4(cinfer_batching_options *o) {
    o->preferred_batch_sizes[0] = 4;
    o->n_preferred_batch_sizes = 1;
}

START_TEST(preferred_batch_size_is_dispatched) {
    cinfer_model *m = mlp("batch");
    cinfer_scheduler *s = sched_new(m, 8, 1000000, 1, prefer_4);
    uint64_t rng = 7;
    cinfer_tensor x[9];
    cinfer_request *r[9];
    log_reset();
    cinfer__sched_test_hold(s, true);
    x[0] = make_input(3, D_IN, &rng); /* 3 rows: not preferred, the delay is 1 s */
    r[0] = submit_logged(s, &x[0], 0, 0, 0);
    usleep(20000);
    ck_assert_uint_eq(stats(s).pending_count, 1); /* waiting for more rows */
    x[1] = make_input(1, D_IN, &rng);
    r[1] = submit_logged(s, &x[1], 1, 0, 0); /* 4 rows: dispatched at once */
    wait_dispatched(s);
    for (int i = 2; i < 9; i++) {
        x[i] = make_input(1, D_IN, &rng);
        r[i] = submit_logged(s, &x[i], i, 0, 0);
    }
    cinfer__sched_test_hold(s, false);
    for (int i = 0; i < 9; i++) {
        ck_assert_int_eq(cinfer_request_wait(r[i]), CINFER_OK);
        cinfer_request_release(r[i]);
    }
    uint64_t h[9] = {0};
    cinfer_scheduler_batch_histogram(s, h, 9);
    ck_assert_uint_eq(h[4], 2); /* [3 + 1], then four of the seven single rows */
    ck_assert_uint_eq(h[3], 1); /* the last three, once the delay ran out */
    ck_assert_uint_eq(stats(s).execution_count, 3);
    cinfer_scheduler_destroy(s);
    for (int i = 0; i < 9; i++) free(x[i].data);
    cinfer_model_destroy(m);
}
END_TEST

/* ---- Busy instance: timeouts, a full queue, priorities, cancel, shutdown ------------- */

START_TEST(expired_requests_time_out_and_never_run) {
    cinfer_model *m = mlp("batch");
    cinfer_scheduler *s = sched_new(m, 4, 0, 1, NULL);
    uint64_t rng = 11;
    cinfer_tensor x[7];
    cinfer_request *r[7];
    for (int i = 0; i < 7; i++) x[i] = make_input(1 + i % 2, D_IN, &rng);
    log_reset();
    cinfer__sched_test_hold(s, true);
    r[0] = submit_logged(s, &x[0], 0, 0, 0);
    wait_dispatched(s);
    for (int i = 1; i < 5; i++) r[i] = submit_logged(s, &x[i], i, 0, 2000); /* 2 ms */
    for (int i = 5; i < 7; i++) r[i] = submit_logged(s, &x[i], i, 0, 0);
    /* They time out while the instance is still busy: expiry does not wait for it. */
    for (int i = 1; i < 5; i++) {
        ck_assert_int_eq(cinfer_request_wait(r[i]), CINFER_TIMEOUT);
        ck_assert_ptr_nonnull(strstr(cinfer_request_message(r[i]), "timed out"));
        size_t n;
        cinfer_tensor *o;
        ck_assert_int_eq(cinfer_request_outputs(r[i], &n, &o), CINFER_TIMEOUT);
    }
    cinfer__sched_test_hold(s, false);
    uint64_t ok_rows = 0;
    for (int i = 0; i < 7; i++) {
        cinfer_status want = i >= 1 && i < 5 ? CINFER_TIMEOUT : CINFER_OK;
        ck_assert_int_eq(cinfer_request_wait(r[i]), want);
        if (want == CINFER_OK) ok_rows += (uint64_t)x[i].dims[0];
        cinfer_request_release(r[i]);
    }
    cinfer_scheduler_stats st = stats(s);
    ck_assert_uint_eq(st.timeout_count, 4);
    ck_assert_uint_eq(st.success_count, 3);
    ck_assert_uint_eq(rows_run(s, NULL), ok_rows); /* the expired rows never ran */
    cinfer_scheduler_destroy(s);
    for (int i = 0; i < 7; i++) free(x[i].data);
    cinfer_model_destroy(m);
}
END_TEST

static void default_timeout(cinfer_batching_options *o) { o->default_timeout_us = 1000; }

START_TEST(default_timeout_applies) {
    cinfer_model *m = mlp("batch");
    cinfer_scheduler *s = sched_new(m, 4, 0, 1, default_timeout);
    uint64_t rng = 12;
    cinfer_tensor x = make_input(1, D_IN, &rng);
    log_reset();
    cinfer__sched_test_hold(s, true);
    cinfer_request *a = submit_logged(s, &x, 0, 0, 60000000); /* its own timeout: 60 s */
    wait_dispatched(s);
    cinfer_request *b = submit_logged(s, &x, 1, 0, 0); /* the default: 1 ms */
    ck_assert_int_eq(cinfer_request_wait(b), CINFER_TIMEOUT);
    cinfer__sched_test_hold(s, false);
    ck_assert_int_eq(cinfer_request_wait(a), CINFER_OK);
    cinfer_request_release(a);
    cinfer_request_release(b);
    cinfer_scheduler_destroy(s);
    free(x.data);
    cinfer_model_destroy(m);
}
END_TEST

static void queue_of_3(cinfer_batching_options *o) { o->max_queue_size = 3; }

START_TEST(full_queue_rejects_at_once) {
    cinfer_model *m = mlp("batch");
    cinfer_scheduler *s = sched_new(m, 4, 0, 1, queue_of_3);
    uint64_t rng = 13;
    cinfer_tensor x = make_input(2, D_IN, &rng);
    cinfer_request *r[4];
    log_reset();
    cinfer__sched_test_hold(s, true);
    r[0] = submit_logged(s, &x, 0, 0, 0);
    wait_dispatched(s);
    for (int i = 1; i < 4; i++) r[i] = submit_logged(s, &x, i, 0, 0);
    cinfer_request *extra = (cinfer_request *)&rng;
    ck_assert_int_eq(cinfer_scheduler_submit(s, 1, NULL, &x, NULL, &extra), CINFER_QUEUE_FULL);
    ck_assert_ptr_null(extra);
    ck_assert_msg(strstr(cinfer_last_error(), "max_queue_size 3") &&
                  strstr(cinfer_last_error(), "model '"), "%s", cinfer_last_error());
    ck_assert_uint_eq(stats(s).reject_count, 1);
    cinfer__sched_test_hold(s, false);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(cinfer_request_wait(r[i]), CINFER_OK);
        cinfer_request_release(r[i]);
    }
    ck_assert_int_eq(g_log.n, 4); /* the rejected submit has no callback */
    cinfer_scheduler_destroy(s);
    free(x.data);
    cinfer_model_destroy(m);
}
END_TEST

START_TEST(high_priority_runs_first) {
    cinfer_model *m = mlp("batch");
    cinfer_scheduler *s = sched_new(m, 2, 0, 1, NULL);
    uint64_t rng = 14;
    cinfer_tensor x = make_input(1, D_IN, &rng);
    cinfer_request *r[9];
    log_reset();
    cinfer__sched_test_hold(s, true);
    r[0] = submit_logged(s, &x, 0, 0, 0);
    wait_dispatched(s);
    for (int i = 1; i < 5; i++) r[i] = submit_logged(s, &x, i, 2, 0); /* low, first */
    for (int i = 5; i < 9; i++) r[i] = submit_logged(s, &x, i, 1, 0); /* high, behind them */
    cinfer__sched_test_hold(s, false);
    for (int i = 0; i < 9; i++) {
        ck_assert_int_eq(cinfer_request_wait(r[i]), CINFER_OK);
        cinfer_request_release(r[i]);
    }
    ck_assert_int_eq(g_log.n, 9);
    ck_assert_int_eq(g_log.ids[0], 0);
    for (int k = 1; k < 9; k++) /* the four high-priority requests, then the four low */
        ck_assert_msg(k < 5 ? g_log.ids[k] >= 5 : g_log.ids[k] < 5, "completion %d: request %d",
                      k, g_log.ids[k]);
    cinfer_request_options o;
    cinfer_request_options_init(&o);
    o.priority = 3;
    ck_assert_int_eq(cinfer_scheduler_submit(s, 1, NULL, &x, &o, NULL), CINFER_INVALID_ARGUMENT);
    cinfer_scheduler_destroy(s);
    free(x.data);
    cinfer_model_destroy(m);
}
END_TEST

START_TEST(cancel_queued_and_running_requests) {
    cinfer_model *m = mlp("batch");
    cinfer_scheduler *s = sched_new(m, 1, 0, 1, NULL);
    uint64_t rng = 15;
    cinfer_tensor x = make_input(1, D_IN, &rng);
    cinfer_request *r[4];
    log_reset();
    cinfer__sched_test_hold(s, true);
    r[0] = submit_logged(s, &x, 0, 0, 0);
    wait_dispatched(s);
    for (int i = 1; i < 4; i++) r[i] = submit_logged(s, &x, i, 0, 0);
    ck_assert_int_eq(cinfer_request_cancel(r[2]), CINFER_OK); /* queued */
    ck_assert_int_eq(cinfer_request_wait(r[2]), CINFER_CANCELLED);
    ck_assert_int_eq(cinfer_request_cancel(r[0]), CINFER_OK); /* running */
    cinfer__sched_test_hold(s, false);
    ck_assert_int_eq(cinfer_request_wait(r[0]), CINFER_CANCELLED);
    ck_assert_int_eq(cinfer_request_wait(r[1]), CINFER_OK);
    ck_assert_int_eq(cinfer_request_wait(r[3]), CINFER_OK);
    ck_assert_int_eq(cinfer_request_cancel(r[1]), CINFER_NOT_FOUND); /* finished */
    ck_assert_int_eq(cinfer_request_cancel(r[2]), CINFER_NOT_FOUND);
    cinfer_scheduler_stats st = stats(s);
    ck_assert_uint_eq(st.cancel_count, 2);
    ck_assert_uint_eq(st.success_count, 2);
    ck_assert_uint_eq(rows_run(s, NULL), 3); /* r[0] ran (its result dropped), r[2] never */
    for (int i = 0; i < 4; i++) cinfer_request_release(r[i]);
    cinfer_scheduler_destroy(s);
    free(x.data);
    cinfer_model_destroy(m);
}
END_TEST

START_TEST(shutdown_completes_everything) {
    cinfer_model *m = mlp("batch");
    cinfer_scheduler *s = sched_new(m, 4, 0, 1, NULL);
    uint64_t rng = 16;
    cinfer_tensor x = make_input(3, D_IN, &rng);
    cinfer_request *r[6];
    log_reset();
    cinfer__sched_test_hold(s, true);
    r[0] = submit_logged(s, &x, 0, 0, 0);
    wait_dispatched(s);
    for (int i = 1; i < 6; i++) r[i] = submit_logged(s, &x, i, 0, 0);
    cinfer_scheduler_destroy(s); /* r[0] is in flight, the rest queued */
    ck_assert_int_eq(g_log.n, 6); /* every callback ran before destroy returned */
    ck_assert_int_eq(g_log.status[0], CINFER_OK);
    for (int i = 1; i < 6; i++) ck_assert_int_eq(g_log.status[i], CINFER_SHUTDOWN);
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(cinfer_request_wait(r[i]), i ? CINFER_SHUTDOWN : CINFER_OK);
        cinfer_request_release(r[i]);
    }
    free(x.data);
    cinfer_model_destroy(m);
}
END_TEST

/* Under load, destroy completes each request with its result or SHUTDOWN. */
START_TEST(shutdown_under_load) {
    cinfer_model *m = mlp("batch");
    cinfer_scheduler *s = sched_new(m, 8, 100, 2, NULL);
    uint64_t rng = 17;
    enum { N = 200 };
    cinfer_tensor x = make_input(2, D_IN, &rng);
    for (int i = 0; i < N; i++) atomic_store(&g_seen[i], 0);
    for (int i = 0; i < N; i++) {
        cinfer_request_options o;
        cinfer_request_options_init(&o);
        o.callback = count_cb;
        o.user = (void *)(intptr_t)i;
        ck_assert_int_eq(cinfer_scheduler_submit(s, 1, NULL, &x, &o, NULL), CINFER_OK);
    }
    cinfer_scheduler_destroy(s);
    int ok = 0;
    for (int i = 0; i < N; i++) {
        int v = atomic_load(&g_seen[i]);
        ck_assert_msg(v == 1 || v == 1000, "request %d: %d", i, v);
        ok += v == 1;
    }
    ck_assert_int_ge(ok, 0);
    free(x.data);
    cinfer_model_destroy(m);
}
END_TEST

/* Destroying the model with schedulers still attached: before cinfer_model_destroy returns,
 * the running request of each completes with its result and the queued ones with SHUTDOWN
 * (every callback has run). The handles live on: submit fails with SHUTDOWN, statistics still
 * read, and cinfer_scheduler_destroy later runs no callback. A scheduler destroyed before the
 * model must have been forgotten by it. */
START_TEST(model_destroy_shuts_down_its_schedulers) {
    cinfer_model *m = mlp("batch");
    cinfer_scheduler *gone = sched_new(m, 2, 0, 1, NULL);
    cinfer_scheduler *a = sched_new(m, 4, 0, 1, NULL), *b = sched_new(m, 0, 0, 1, NULL);
    cinfer_scheduler_destroy(gone);
    uint64_t rng = 21;
    cinfer_tensor x = make_input(3, D_IN, &rng), ref[2] = {0};
    ck_assert_int_eq(cinfer_model_run(m, 1, NULL, &x, 2, NULL, ref), CINFER_OK);
    cinfer_request *r[8];
    log_reset();
    cinfer__sched_test_hold(a, true);
    cinfer__sched_test_hold(b, true);
    r[0] = submit_logged(a, &x, 0, 0, 0);
    wait_dispatched(a);
    for (int i = 1; i < 5; i++) r[i] = submit_logged(a, &x, i, 0, 0);
    r[5] = submit_logged(b, &x, 5, 0, 0);
    wait_dispatched(b);
    for (int i = 6; i < 8; i++) r[i] = submit_logged(b, &x, i, 0, 0);
    cinfer_model_destroy(m); /* r[0] and r[5] are in flight, the rest queued */
    ck_assert_int_eq(g_log.n, 8);
    for (int i = 0; i < 8; i++) {
        cinfer_status want = i == 0 || i == 5 ? CINFER_OK : CINFER_SHUTDOWN;
        ck_assert_int_eq(g_log.status[i], want);
        ck_assert_int_eq(cinfer_request_wait(r[i]), want);
        if (want == CINFER_SHUTDOWN)
            ck_assert_msg(strstr(cinfer_request_message(r[i]), "the model was destroyed"),
                          "request %d: '%s'", i, cinfer_request_message(r[i]));
    }
    size_t n;
    cinfer_tensor *outs;
    ck_assert_int_eq(cinfer_request_outputs(r[0], &n, &outs), CINFER_OK);
    expect_close(&outs[0], &ref[0], "y of the running batched request");
    ck_assert_int_eq(cinfer_request_outputs(r[5], &n, &outs), CINFER_OK);
    expect_close(&outs[1], &ref[1], "h of the running unbatched request");
    cinfer_scheduler_stats st = stats(a);
    ck_assert_uint_eq(st.success_count, 1);
    ck_assert_uint_eq(st.shutdown_count, 4);
    ck_assert_uint_eq(st.padded_rows, 0); /* 3 rows ran as 3 on the CPU, not as bucket 4 */
    cinfer_scheduler *both[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(cinfer_scheduler_submit(both[k], 1, NULL, &x, NULL, NULL),
                         CINFER_SHUTDOWN);
        ck_assert_ptr_nonnull(strstr(cinfer_last_error(), "model was destroyed"));
        cinfer_scheduler_destroy(both[k]);
    }
    ck_assert_int_eq(g_log.n, 8);
    for (int i = 0; i < 8; i++) cinfer_request_release(r[i]);
    cinfer_tensor_release(&ref[0]);
    cinfer_tensor_release(&ref[1]);
    free(x.data);
}
END_TEST

/* A closed loop (each callback submits the next request) and a client thread submitting as
 * fast as it can, while the model is destroyed: every accepted request is delivered exactly
 * once, with its result or SHUTDOWN, before destroy returns; submits after it fail. */
static struct {
    cinfer_scheduler *s;
    cinfer_tensor x;
    atomic_int accepted, delivered, bad_status;
} g_loop;

static void loop_cb(cinfer_request *req, cinfer_status st, const char *msg, size_t n,
                    cinfer_tensor *outs, void *user) {
    if (st != CINFER_OK && st != CINFER_SHUTDOWN) atomic_fetch_add(&g_loop.bad_status, 1);
    atomic_fetch_add(&g_loop.delivered, 1);
    cinfer_request_options o;
    cinfer_request_options_init(&o);
    o.callback = loop_cb;
    if (cinfer_scheduler_submit(g_loop.s, 1, NULL, &g_loop.x, &o, NULL) == CINFER_OK)
        atomic_fetch_add(&g_loop.accepted, 1);
}

static void *loop_client(void *arg) {
    cinfer_request_options o;
    cinfer_request_options_init(&o);
    o.callback = loop_cb;
    for (;;) {
        cinfer_status st = cinfer_scheduler_submit(g_loop.s, 1, NULL, &g_loop.x, &o, NULL);
        if (st == CINFER_SHUTDOWN) return NULL;
        ck_assert_int_eq(st, CINFER_OK);
        atomic_fetch_add(&g_loop.accepted, 1);
    }
}

START_TEST(model_destroy_under_load_loses_nothing) {
    cinfer_model *m = mlp("batch");
    g_loop.s = sched_new(m, 8, 0, 2, NULL);
    uint64_t rng = 22;
    g_loop.x = make_input(1, D_IN, &rng);
    atomic_store(&g_loop.accepted, 0);
    atomic_store(&g_loop.delivered, 0);
    atomic_store(&g_loop.bad_status, 0);
    for (int i = 0; i < 8; i++) loop_cb(NULL, CINFER_OK, "", 0, NULL, NULL);
    atomic_fetch_sub(&g_loop.delivered, 8); /* those 8 calls only started the loop */
    pthread_t client;
    ck_assert_int_eq(pthread_create(&client, NULL, loop_client, NULL), 0);
    while (atomic_load(&g_loop.delivered) < 200) usleep(100);
    cinfer_model_destroy(m);
    int delivered = atomic_load(&g_loop.delivered);
    pthread_join(client, NULL);
    ck_assert_int_eq(delivered, atomic_load(&g_loop.accepted));
    ck_assert_int_eq(atomic_load(&g_loop.delivered), delivered); /* none after destroy */
    ck_assert_int_eq(atomic_load(&g_loop.bad_status), 0);
    cinfer_scheduler_stats st = stats(g_loop.s);
    ck_assert_uint_eq(st.success_count + st.shutdown_count, (uint64_t)delivered);
    cinfer_scheduler_destroy(g_loop.s);
    free(g_loop.x.data);
}
END_TEST

/* ---- Shapes -------------------------------------------------------------------------------- */

START_TEST(only_matching_shapes_batch) {
    cinfer_model *m = relu_seq();
    cinfer_scheduler *s = sched_new(m, 8, 0, 1, NULL);
    uint64_t rng = 18;
    enum { N = 12 };
    cinfer_tensor x[N];
    cinfer_request *r[N];
    log_reset();
    cinfer__sched_test_hold(s, true);
    x[0] = make_input(1, 3, &rng);
    r[0] = submit_logged(s, &x[0], 0, 0, 0);
    wait_dispatched(s);
    for (int i = 1; i < N; i++) {
        x[i] = make_input(1 + i % 3, i % 2 ? 3 : 5, &rng); /* alternating row lengths */
        r[i] = submit_logged(s, &x[i], i, 0, 0);
    }
    cinfer__sched_test_hold(s, false);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(cinfer_request_wait(r[i]) == CINFER_OK, "%s", cinfer_request_message(r[i]));
        size_t n;
        cinfer_tensor *o;
        ck_assert_int_eq(cinfer_request_outputs(r[i], &n, &o), CINFER_OK);
        ck_assert_int_eq(o[0].dims[0], x[i].dims[0]);
        ck_assert_int_eq(o[0].dims[1], x[i].dims[1]);
        const float *a = x[i].data, *b = o[0].data;
        for (int64_t k = 0; k < cinfer_tensor_numel(&x[i]); k++)
            ck_assert(b[k] == (a[k] > 0 ? a[k] : 0.f));
        cinfer_request_release(r[i]);
        free(x[i].data);
    }
    /* Alternating shapes cannot batch: every execution ran one request. */
    ck_assert_uint_eq(stats(s).execution_count, N);
    cinfer_scheduler_destroy(s);
    cinfer_model_destroy(m);
}
END_TEST

START_TEST(bad_requests_and_models_are_rejected) {
    cinfer_model *fixed = mlp("4");
    cinfer_batching_options o;
    cinfer_batching_options_init(&o);
    cinfer_scheduler *s = NULL;
    ck_assert_int_eq(cinfer_scheduler_create(fixed, &o, &s), CINFER_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(cinfer_last_error(), "input 'x'"));
    o.max_batch_size = 0; /* no batching: the fixed model runs request by request */
    ck_assert_int_eq(cinfer_scheduler_create(fixed, &o, &s), CINFER_OK);
    uint64_t rng = 19;
    cinfer_tensor x = make_input(4, D_IN, &rng), ref[2] = {0};
    ck_assert_int_eq(cinfer_model_run(fixed, 1, NULL, &x, 2, NULL, ref), CINFER_OK);
    cinfer_request *r;
    ck_assert_int_eq(cinfer_scheduler_submit(s, 1, NULL, &x, NULL, &r), CINFER_OK);
    ck_assert_int_eq(cinfer_request_wait(r), CINFER_OK);
    size_t n;
    cinfer_tensor *outs;
    ck_assert_int_eq(cinfer_request_outputs(r, &n, &outs), CINFER_OK);
    ck_assert_uint_eq(n, 2);
    expect_close(&outs[0], &ref[0], "y");
    cinfer_request_release(r);
    cinfer_tensor_release(&ref[0]);
    cinfer_tensor_release(&ref[1]);
    cinfer_scheduler_destroy(s);
    free(x.data);
    cinfer_model_destroy(fixed);

    cinfer_model *m = mlp("batch");
    s = sched_new(m, 4, 0, 1, NULL);
    cinfer_tensor big = make_input(5, D_IN, &rng), narrow = make_input(2, 7, &rng);
    ck_assert_int_eq(cinfer_scheduler_submit(s, 1, NULL, &big, NULL, NULL), CINFER_INVALID_INPUT);
    ck_assert_ptr_nonnull(strstr(cinfer_last_error(), "max_batch_size"));
    ck_assert_int_eq(cinfer_scheduler_submit(s, 1, NULL, &narrow, NULL, NULL),
                     CINFER_INVALID_INPUT);
    const char *bad_name[] = {"nope"};
    ck_assert_int_eq(cinfer_scheduler_submit(s, 1, bad_name, &narrow, NULL, NULL),
                     CINFER_INVALID_INPUT);
    cinfer_scheduler_destroy(s);
    o.max_batch_size = 8;
    o.preferred_batch_sizes[0] = 9;
    o.n_preferred_batch_sizes = 1;
    ck_assert_int_eq(cinfer_scheduler_create(m, &o, &s), CINFER_INVALID_ARGUMENT);
    ck_assert_ptr_null(s);
    free(big.data);
    free(narrow.data);
    cinfer_model_destroy(m);
}
END_TEST

/* preserve_ordering with two instances: one client's requests complete in submit order. */
static void preserve(cinfer_batching_options *o) { o->preserve_ordering = 1; }

START_TEST(preserve_ordering_keeps_submit_order) {
    cinfer_model *m = mlp("batch");
    cinfer_scheduler *s = sched_new(m, 2, 0, 2, preserve);
    uint64_t rng = 20;
    enum { N = 64 };
    cinfer_tensor x[N];
    cinfer_request *r[N];
    log_reset();
    for (int i = 0; i < N; i++) {
        x[i] = make_input(1 + (i * 7) % 2, D_IN, &rng);
        r[i] = submit_logged(s, &x[i], i, 0, 0);
    }
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(cinfer_request_wait(r[i]), CINFER_OK);
        cinfer_request_release(r[i]);
        free(x[i].data);
    }
    for (int k = 0; k < N; k++) ck_assert_int_eq(g_log.ids[k], k);
    cinfer_scheduler_destroy(s);
    cinfer_model_destroy(m);
}
END_TEST

int main(void) {
    Suite *su = suite_create("sched");
    TCase *tc = tcase_create("sched");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, clients_match_requests_run_alone);
    tcase_add_test(tc, two_instances_preserving_order_match_too);
    tcase_add_test(tc, concurrent_single_rows_are_batched);
    tcase_add_test(tc, preferred_batch_size_is_dispatched);
    tcase_add_test(tc, expired_requests_time_out_and_never_run);
    tcase_add_test(tc, default_timeout_applies);
    tcase_add_test(tc, full_queue_rejects_at_once);
    tcase_add_test(tc, high_priority_runs_first);
    tcase_add_test(tc, cancel_queued_and_running_requests);
    tcase_add_test(tc, shutdown_completes_everything);
    tcase_add_test(tc, shutdown_under_load);
    tcase_add_test(tc, model_destroy_shuts_down_its_schedulers);
    tcase_add_test(tc, model_destroy_under_load_loses_nothing);
    tcase_add_test(tc, only_matching_shapes_batch);
    tcase_add_test(tc, bad_requests_and_models_are_rejected);
    tcase_add_test(tc, preserve_ordering_keeps_submit_order);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
