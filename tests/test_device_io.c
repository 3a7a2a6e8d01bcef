/* Device-resident I/O on a CPU runtime and the model option's size tolerance: the
 * cinfer_device_* calls fail with CINFER_DEVICE, a CINFER_TENSOR_DEVICE input or output is
 * refused with a message naming the tensor, and a caller built before `cuda_graphs` existed
 * still loads (the CUDA side runs through the mock module, tests/cuda_mock/test_graphs_io.py). */
#include <check.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cinfer/cinfer.h"
#include "runtime/runtime.h"

#define RELU CINFER_TEST_DATA "/node/test_relu/model.onnx"

static cinfer_runtime *cpu_runtime(void) {
    cinfer_runtime_options o;
    cinfer_runtime_options_init(&o);
    o.device = CINFER_DEVICE_CPU;
    o.num_threads = 1;
    cinfer_runtime *rt = NULL;
    ck_assert_int_eq(cinfer_runtime_create(&o, &rt), CINFER_OK);
    return rt;
}

START_TEST(device_memory_calls_fail_on_the_cpu) {
    cinfer_runtime *rt = cpu_runtime();
    void *p = (void *)1;
    ck_assert_int_eq(cinfer_device_alloc(rt, 64, &p), CINFER_DEVICE);
    ck_assert_ptr_null(p);
    ck_assert_ptr_nonnull(strstr(cinfer_last_error(), "runs on the CPU"));
    float host[4] = {1, 2, 3, 4};
    ck_assert_int_eq(cinfer_device_copy_to_device(rt, host, host, sizeof host), CINFER_DEVICE);
    ck_assert_int_eq(cinfer_device_copy_to_host(rt, host, host, sizeof host), CINFER_DEVICE);
    ck_assert_int_eq(cinfer_device_alloc(NULL, 64, &p), CINFER_INVALID_ARGUMENT);
    cinfer_device_free(rt, NULL);
    cinfer_runtime_destroy(rt);
}
END_TEST

/* test_relu: x float[3x4x5] -> y. */
START_TEST(device_flagged_tensors_are_refused_on_the_cpu) {
    cinfer_runtime *rt = cpu_runtime();
    cinfer_model *m = NULL;
    ck_assert_msg(cinfer_model_load(rt, RELU, NULL, &m) == CINFER_OK, "%s", cinfer_last_error());
    static float x[60], y[60];
    for (int i = 0; i < 60; i++) x[i] = (float)(i % 7) - 3.0f;
    cinfer_tensor in = {.dtype = CINFER_DTYPE_FLOAT, .rank = 3, .dims = {3, 4, 5}, .data = x};
    cinfer_tensor out = in;
    out.data = y;
    in.flags = CINFER_TENSOR_DEVICE;
    ck_assert_int_eq(cinfer_model_run(m, 1, NULL, &in, 1, NULL, &out), CINFER_INVALID_INPUT);
    ck_assert_ptr_nonnull(strstr(cinfer_last_error(), "input 'x'"));
    in.flags = 0;
    out.flags = CINFER_TENSOR_DEVICE;
    ck_assert_int_eq(cinfer_model_run(m, 1, NULL, &in, 1, NULL, &out), CINFER_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(cinfer_last_error(), "output 'y'"));
    out.flags = 0;
    ck_assert_int_eq(cinfer_model_run(m, 1, NULL, &in, 1, NULL, &out), CINFER_OK);
    for (int i = 0; i < 60; i++) ck_assert_float_eq(y[i], x[i] > 0 ? x[i] : 0.0f);
    cinfer_model_destroy(m);
    cinfer_runtime_destroy(rt);
}
END_TEST

/* A caller compiled against the struct before `cuda_graphs`: its struct_size stops there. */
START_TEST(model_options_before_cuda_graphs_still_load) {
    cinfer_runtime *rt = cpu_runtime();
    cinfer_model_options o;
    cinfer_model_options_init(&o);
    ck_assert_int_eq(o.cuda_graphs, 1);
    o.struct_size = (uint32_t)offsetof(cinfer_model_options, cuda_graphs);
    o.cuda_graphs = 12345; /* past the caller's struct: must not be read */
    cinfer_model *m = NULL;
    ck_assert_msg(cinfer_model_load(rt, RELU, &o, &m) == CINFER_OK, "%s", cinfer_last_error());
    ck_assert(m->cuda_graphs); /* the default, not the byte past the caller's struct */
    cinfer_model_destroy(m);
    o.struct_size = sizeof o;
    o.cuda_graphs = 0;
    ck_assert_int_eq(cinfer_model_load(rt, RELU, &o, &m), CINFER_OK);
    ck_assert(!m->cuda_graphs);
    cinfer_model_destroy(m);
    cinfer_runtime_destroy(rt);
}
END_TEST

int main(void) {
    unsetenv("CINFER_CUDA_GRAPHS"); /* both would turn graphs off whatever the options say */
    unsetenv("CINFER_CUDA_SYNC");
    Suite *s = suite_create("device_io");
    TCase *tc = tcase_create("cpu");
    tcase_add_test(tc, device_memory_calls_fail_on_the_cpu);
    tcase_add_test(tc, device_flagged_tensors_are_refused_on_the_cpu);
    tcase_add_test(tc, model_options_before_cuda_graphs_still_load);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
