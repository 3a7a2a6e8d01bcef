/* Runtime tests: thread pool, public API (load, describe, run, errors), concurrent runs,
 * memory-plan invariants and allocation-failure injection. References are ONNX's own test
 * data (outputs computed by ONNX's NumPy reference implementation). */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cinfer/cinfer.h"
#include "core/alloc.h"
#include "core/threadpool.h"
#include "onnx/onnx_import.h"
#include "runtime/runtime.h"

#define NODE_DIR CINFER_TEST_DATA "/node/"
#define CONV_CASE NODE_DIR "test_conv_with_strides_padding"

/* ---- thread pool -------------------------------------------------------------------- */

typedef struct {
    atomic_int *hits;
} hit_ctx;

static void hit(void *arg, int64_t b, int64_t e) {
    hit_ctx *c = arg;
    for (int64_t i = b; i < e; i++) atomic_fetch_add(&c->hits[i], 1);
}

typedef struct {
    cinfer__pool *pool;
    int64_t n;
    int ok;
} submit_arg;

static void *submitter(void *arg) {
    submit_arg *a = arg;
    a->ok = 1;
    for (int rep = 0; rep < 50; rep++) {
        atomic_int *hits = calloc((size_t)a->n, sizeof *hits);
        hit_ctx c = {hits};
        cinfer__parallel_for(a->pool, a->n, 7, hit, &c);
        for (int64_t i = 0; i < a->n; i++)
            if (atomic_load(&hits[i]) != 1) a->ok = 0;
        free(hits);
    }
    return NULL;
}

START_TEST(pool_visits_each_index_once_from_many_threads) {
    cinfer__pool *pool;
    cinfer__err err;
    ck_assert_int_eq(cinfer__pool_create(3, &pool, &err), CINFER_OK);
    pthread_t th[4];
    submit_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (submit_arg){pool, 1000 + 37 * i, 0};
        pthread_create(&th[i], NULL, submitter, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(args[i].ok, "submitter %d saw an index run != 1 times", i);
    }
    cinfer__pool_destroy(pool);
}
END_TEST

/* ---- helpers ------------------------------------------------------------------------ */

static void load_pb(const char *path, cinfer_tensor *t) {
    void *data;
    size_t size;
    cinfer__err err;
    ck_assert_msg(cinfer__read_file(path, &data, &size, &err) == CINFER_OK, "%s", err.msg);
    ck_assert_msg(cinfer__onnx_read_tensor(data, size, t, NULL, &err) == CINFER_OK, "%s",
                  err.msg);
    free(data);
}

static cinfer_runtime *new_rt(int threads) {
    cinfer_runtime_options o;
    cinfer_runtime_options_init(&o);
    o.device = CINFER_DEVICE_CPU;
    o.num_threads = threads;
    cinfer_runtime *rt;
    ck_assert_int_eq(cinfer_runtime_create(&o, &rt), CINFER_OK);
    return rt;
}

/* max |a-b| <= atol + rtol * max|b| (DESIGN.md's rule), ONNX-data tolerance. */
static void assert_close(const cinfer_tensor *got, const cinfer_tensor *ref) {
    ck_assert_int_eq(got->dtype, ref->dtype);
    ck_assert_int_eq(got->rank, ref->rank);
    for (int d = 0; d < ref->rank; d++) ck_assert_int_eq(got->dims[d], ref->dims[d]);
    const float *g = got->data, *r = ref->data;
    double max_ref = 0, max_d = 0;
    for (int64_t i = 0; i < cinfer_tensor_numel(ref); i++) {
        if (fabs(r[i]) > max_ref) max_ref = fabs(r[i]);
        if (fabs(g[i] - r[i]) > max_d) max_d = fabs(g[i] - r[i]);
    }
    ck_assert_msg(max_d <= 1e-5 + 1e-4 * max_ref, "max diff %g (max ref %g)", max_d, max_ref);
}

/* ---- API ---------------------------------------------------------------------------- */

START_TEST(api_describes_and_runs_a_model) {
    cinfer_runtime *rt = new_rt(2);
    cinfer_model *m;
    ck_assert_msg(cinfer_model_load(rt, CONV_CASE "/model.onnx", NULL, &m) == CINFER_OK, "%s",
                  cinfer_last_error());
    ck_assert_uint_eq(cinfer_model_input_count(m), 2);
    ck_assert_uint_eq(cinfer_model_output_count(m), 1);
    cinfer_value_info info;
    ck_assert_int_eq(cinfer_model_input_info(m, 0, &info), CINFER_OK);
    ck_assert_int_eq(info.dtype, CINFER_DTYPE_FLOAT);
    ck_assert_int_eq(info.rank, 4);
    ck_assert_int_eq(cinfer_model_input_info(m, 5, &info), CINFER_NOT_FOUND);

    cinfer_tensor in[2], ref;
    load_pb(CONV_CASE "/test_data_set_0/input_0.pb", &in[0]);
    load_pb(CONV_CASE "/test_data_set_0/input_1.pb", &in[1]);
    load_pb(CONV_CASE "/test_data_set_0/output_0.pb", &ref);

    cinfer_tensor owned = {0};
    ck_assert_msg(cinfer_model_run(m, 2, NULL, in, 1, NULL, &owned) == CINFER_OK, "%s",
                  cinfer_last_error());
    ck_assert(owned.flags & CINFER_TENSOR_RUNTIME_OWNED);
    assert_close(&owned, &ref);

    /* Caller-provided output, inputs by name in reverse order. */
    cinfer_tensor mine = ref;
    mine.data = calloc((size_t)cinfer_tensor_numel(&ref), sizeof(float));
    mine.flags = 0;
    cinfer_model_input_info(m, 0, &info);
    const char *n0 = info.name;
    cinfer_model_input_info(m, 1, &info);
    const char *names[2] = {info.name, n0};
    cinfer_tensor rev[2] = {in[1], in[0]};
    ck_assert_msg(cinfer_model_run(m, 2, names, rev, 1, NULL, &mine) == CINFER_OK, "%s",
                  cinfer_last_error());
    assert_close(&mine, &ref);

    /* A caller buffer of the wrong shape is refused, naming the output. */
    mine.dims[0] = 7;
    ck_assert_int_eq(cinfer_model_run(m, 2, NULL, in, 1, NULL, &mine), CINFER_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(cinfer_last_error(), "output"));
    free(mine.data);
    cinfer_tensor_release(&owned);
    ck_assert_ptr_null(owned.data);
    free(in[0].data);
    free(in[1].data);
    free(ref.data);
    cinfer_model_destroy(m);
    cinfer_runtime_destroy(rt);
}
END_TEST

START_TEST(api_rejects_bad_inputs_with_named_errors) {
    cinfer_runtime *rt = new_rt(1);
    cinfer_model *m;
    ck_assert_int_eq(cinfer_model_load(rt, CONV_CASE "/model.onnx", NULL, &m), CINFER_OK);
    cinfer_value_info info;
    cinfer_model_input_info(m, 0, &info);
    float buf[1024] = {1};
    cinfer_tensor in[2] = {{CINFER_DTYPE_FLOAT, 4, {1, 1, 7, 5}, buf, 0},
                           {CINFER_DTYPE_FLOAT, 4, {1, 1, 3, 3}, buf, 0}};
    cinfer_tensor out = {0};
    /* wrong shape */
    in[0].dims[2] = 6;
    ck_assert_int_eq(cinfer_model_run(m, 2, NULL, in, 1, NULL, &out), CINFER_INVALID_INPUT);
    ck_assert_ptr_nonnull(strstr(cinfer_last_error(), info.name));
    ck_assert_ptr_nonnull(strstr(cinfer_model_last_error(m), "shape"));
    in[0].dims[2] = 7;
    /* wrong dtype */
    in[1].dtype = CINFER_DTYPE_INT64;
    ck_assert_int_eq(cinfer_model_run(m, 2, NULL, in, 1, NULL, &out), CINFER_INVALID_INPUT);
    ck_assert_ptr_nonnull(strstr(cinfer_last_error(), "dtype"));
    in[1].dtype = CINFER_DTYPE_FLOAT;
    /* missing input, unknown name */
    ck_assert_int_eq(cinfer_model_run(m, 1, NULL, in, 1, NULL, &out), CINFER_INVALID_INPUT);
    const char *bad[2] = {"nope", info.name};
    ck_assert_int_eq(cinfer_model_run(m, 2, bad, in, 1, NULL, &out), CINFER_INVALID_INPUT);
    ck_assert_ptr_nonnull(strstr(cinfer_last_error(), "nope"));
    ck_assert_ptr_null(out.data);
    /* and the model still runs afterwards */
    ck_assert_int_eq(cinfer_model_run(m, 2, NULL, in, 1, NULL, &out), CINFER_OK);
    cinfer_tensor_release(&out);
    cinfer_model_destroy(m);

    ck_assert_int_eq(cinfer_model_load(rt, "/nonexistent/model.onnx", NULL, &m),
                     CINFER_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(cinfer_last_error(), "/nonexistent/model.onnx"));
    /* A model with a subgraph op (If) is rejected at load time naming the node. */
    ck_assert_int_eq(cinfer_model_load(rt, NODE_DIR "test_if/model.onnx", NULL, &m),
                     CINFER_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(cinfer_last_error(), "If"));
    cinfer_runtime_destroy(rt);
}
END_TEST

typedef struct {
    cinfer_model *m;
    cinfer_tensor *in, *ref;
    int ok;
} runner_arg;

static void *run_many(void *arg) {
    runner_arg *a = arg;
    a->ok = 1;
    for (int i = 0; i < 40; i++) {
        cinfer_tensor out = {0};
        if (cinfer_model_run(a->m, 2, NULL, a->in, 1, NULL, &out) != CINFER_OK) a->ok = 0;
        else if (memcmp(out.data, a->ref->data, (size_t)cinfer_tensor_numel(a->ref) * 4)) {
            /* compare against one single-threaded run (bitwise: same plan, same kernels) */
            a->ok = 0;
        }
        cinfer_tensor_release(&out);
    }
    return NULL;
}

START_TEST(concurrent_runs_match_a_single_run) {
    cinfer_runtime *rt = new_rt(2);
    cinfer_model *m;
    ck_assert_int_eq(cinfer_model_load(rt, CONV_CASE "/model.onnx", NULL, &m), CINFER_OK);
    cinfer_tensor in[2], ref, alone = {0};
    load_pb(CONV_CASE "/test_data_set_0/input_0.pb", &in[0]);
    load_pb(CONV_CASE "/test_data_set_0/input_1.pb", &in[1]);
    load_pb(CONV_CASE "/test_data_set_0/output_0.pb", &ref);
    ck_assert_int_eq(cinfer_model_run(m, 2, NULL, in, 1, NULL, &alone), CINFER_OK);
    assert_close(&alone, &ref);
    pthread_t th[4];
    runner_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (runner_arg){m, in, &alone, 0};
        pthread_create(&th[i], NULL, run_many, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(args[i].ok, "thread %d got a failure or a different result", i);
    }
    cinfer_tensor_release(&alone);
    free(in[0].data);
    free(in[1].data);
    free(ref.data);
    cinfer_model_destroy(m);
    cinfer_runtime_destroy(rt);
}
END_TEST

/* Tensors alive at the same step never share arena bytes. */
static void check_plan_invariants(const cinfer__plan *p) {
    for (int a = 0; a < p->n_values; a++) {
        const cinfer__plan_value *x = &p->vals[a];
        if (x->store != CINFER__STORE_ARENA || x->alias_of >= 0) continue;
        ck_assert_uint_le(x->offset + x->bytes, p->arena_bytes);
        for (int b = a + 1; b < p->n_values; b++) {
            const cinfer__plan_value *y = &p->vals[b];
            if (y->store != CINFER__STORE_ARENA || y->alias_of >= 0) continue;
            bool time = x->first <= y->last && y->first <= x->last;
            bool mem = x->offset < y->offset + y->bytes && y->offset < x->offset + x->bytes;
            ck_assert_msg(!(time && mem), "values %d and %d overlap", a, b);
        }
    }
    ck_assert_uint_ge(p->arena_bytes, p->peak_live_bytes);
    ck_assert_uint_le(p->arena_bytes, p->naive_bytes);
}

START_TEST(memory_plan_never_overlaps_live_tensors) {
    static const char *const models[] = {
        CINFER_TEST_DATA "/pytorch-converted/test_ConvTranspose2d/model.onnx",
        CINFER_TEST_DATA "/pytorch-operator/test_operator_maxpool/model.onnx",
        CONV_CASE "/model.onnx",
    };
    cinfer_runtime *rt = new_rt(1);
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
        cinfer_model *m;
        if (cinfer_model_load(rt, models[i], NULL, &m) != CINFER_OK) continue;
        for (cinfer__plan *p = m->plans; p; p = p->next) check_plan_invariants(p);
        cinfer_model_destroy(m);
    }
    cinfer_runtime_destroy(rt);
}
END_TEST

START_TEST(allocation_failures_are_reported_not_fatal) {
    cinfer_runtime *rt = new_rt(1);
    cinfer_tensor in[2];
    load_pb(CONV_CASE "/test_data_set_0/input_0.pb", &in[0]);
    load_pb(CONV_CASE "/test_data_set_0/input_1.pb", &in[1]);
    int failures = 0;
    for (long k = 1; k < 400; k++) {
        cinfer_model *m = NULL;
        cinfer_tensor out = {0};
        cinfer__alloc_fail_after(k);
        cinfer_status st = cinfer_model_load(rt, CONV_CASE "/model.onnx", NULL, &m);
        if (st == CINFER_OK) st = cinfer_model_run(m, 2, NULL, in, 1, NULL, &out);
        cinfer__alloc_fail_after(0);
        if (st != CINFER_OK) {
            failures++;
            ck_assert_msg(st == CINFER_OUT_OF_MEMORY || st == CINFER_INVALID_MODEL,
                          "k=%ld: %s: %s", k, cinfer_status_name(st), cinfer_last_error());
        }
        cinfer_tensor_release(&out);
        cinfer_model_destroy(m);
        if (st == CINFER_OK && k > 10) break; /* past the last allocation */
    }
    ck_assert_int_gt(failures, 5);
    free(in[0].data);
    free(in[1].data);
    cinfer_runtime_destroy(rt);
}
END_TEST

/* Reshape whose target shape is an input: every distinct shape value is its own plan; past
 * the cache's cap plans are transient, and every result is still right (Reshape keeps the
 * element order, so the output equals the input bytes). */
START_TEST(value_keyed_plans_are_capped_and_correct) {
    cinfer_runtime *rt = new_rt(1);
    cinfer_model *m;
    ck_assert_int_eq(cinfer_model_load(rt, NODE_DIR "test_reshape_reordered_all_dims/model.onnx",
                                       NULL, &m), CINFER_OK);
    float data[24];
    for (int i = 0; i < 24; i++) data[i] = (float)i * 0.5f - 3.0f;
    int runs = 0;
    for (int a = 1; a <= 24; a++)
        for (int b = 1; b <= 24; b++)
            for (int hole = 0; hole < 3; hole++) {
                if (24 % (a * b)) continue;
                int64_t dims[3] = {a, b, 24 / (a * b)}, shape[3];
                for (int k = 0; k < 3; k++) shape[k] = k == hole ? -1 : dims[(k + 3 - hole) % 3];
                cinfer_tensor in[2] = {{CINFER_DTYPE_FLOAT, 3, {2, 3, 4}, data, 0},
                                       {CINFER_DTYPE_INT64, 1, {3}, shape, 0}};
                cinfer_tensor out = {0};
                ck_assert_msg(cinfer_model_run(m, 2, NULL, in, 1, NULL, &out) == CINFER_OK,
                              "%s", cinfer_last_error());
                ck_assert_int_eq(cinfer_tensor_numel(&out), 24);
                for (int k = 0; k < 3; k++)
                    if (shape[k] >= 0) ck_assert_int_eq(out.dims[k], shape[k]);
                ck_assert(!memcmp(out.data, data, sizeof data));
                cinfer_tensor_release(&out);
                runs++;
            }
    ck_assert_int_gt(runs, CINFER__MAX_PLANS + 10);
    ck_assert_int_le(m->n_plans, CINFER__MAX_PLANS);
    cinfer_model_destroy(m);
    cinfer_runtime_destroy(rt);
}
END_TEST

int main(void) {
    Suite *s = suite_create("runtime");
    TCase *tc = tcase_create("runtime");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, pool_visits_each_index_once_from_many_threads);
    tcase_add_test(tc, api_describes_and_runs_a_model);
    tcase_add_test(tc, api_rejects_bad_inputs_with_named_errors);
    tcase_add_test(tc, concurrent_runs_match_a_single_run);
    tcase_add_test(tc, memory_plan_never_overlaps_live_tensors);
    tcase_add_test(tc, allocation_failures_are_reported_not_fatal);
    tcase_add_test(tc, value_keyed_plans_are_capped_and_correct);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
