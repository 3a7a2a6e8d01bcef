/* Unit tests of the Conv+BatchNormalization folding pass (src/ir/fold_conv_bn.c): graphs built
 * with the IR API, folded weights checked against a double-precision computation here. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "ir/passes.h"

#define M_OUT 4 /* output channels of every test Conv */

static uint32_t rng_state;

/* Uniform in [lo, hi), from a fixed-seed LCG so failures reproduce. */
static float urand(float lo, float hi) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(rng_state >> 8) / 16777216.0f;
}

static int add_const(cinfer__graph *g, const char *name, int rank, const int64_t *dims,
                     float lo, float hi) {
    cinfer_tensor *t = cinfer__calloc(1, sizeof *t);
    ck_assert_ptr_nonnull(t);
    t->dtype = CINFER_DTYPE_FLOAT;
    t->rank = rank;
    memcpy(t->dims, dims, (size_t)rank * sizeof dims[0]);
    int64_t n = cinfer__numel(rank, dims);
    float *d = cinfer__aligned_alloc((size_t)n * sizeof(float));
    ck_assert_ptr_nonnull(d);
    for (int64_t i = 0; i < n; i++) d[i] = urand(lo, hi);
    t->data = d;
    int v = cinfer__graph_value(g, name);
    ck_assert_int_ge(v, 0);
    cinfer__value_set_constant(&g->values[v], t);
    return v;
}

static int add_input(cinfer__graph *g, const char *name) {
    int v = cinfer__graph_value(g, name);
    ck_assert_int_ge(v, 0);
    g->values[v].is_input = true;
    g->values[v].dtype = CINFER_DTYPE_FLOAT;
    return v;
}

static void set_output(cinfer__graph *g, int v) {
    g->outputs = cinfer__realloc(g->outputs, (size_t)(g->n_outputs + 1) * sizeof(int));
    ck_assert_ptr_nonnull(g->outputs);
    g->outputs[g->n_outputs++] = v;
    g->values[v].is_output = true;
}

/* Conv(x, W[, B]) -> value `y`; W is [M_OUT, 3, 3, 2]. Returns the node index. */
static int add_conv(cinfer__graph *g, const char *name, int x, int w, int b, const char *y) {
    int in[3] = {x, w, b}, out = cinfer__graph_value(g, y);
    int n = cinfer__graph_add_node(g, name, "Conv", "", b >= 0 ? 3 : 2, in, 1, &out);
    ck_assert_int_ge(n, 0);
    return n;
}

typedef struct bn_vals {
    int scale, bias, mean, var;
} bn_vals;

static bn_vals add_bn_consts(cinfer__graph *g, const char *prefix) {
    int64_t d = M_OUT;
    char nm[64];
    bn_vals b;
    snprintf(nm, sizeof nm, "%s_scale", prefix);
    b.scale = add_const(g, nm, 1, &d, -2.0f, 2.0f);
    snprintf(nm, sizeof nm, "%s_bias", prefix);
    b.bias = add_const(g, nm, 1, &d, -1.0f, 1.0f);
    snprintf(nm, sizeof nm, "%s_mean", prefix);
    b.mean = add_const(g, nm, 1, &d, -1.0f, 1.0f);
    snprintf(nm, sizeof nm, "%s_var", prefix);
    b.var = add_const(g, nm, 1, &d, 0.05f, 3.0f);
    return b;
}

static int add_bn(cinfer__graph *g, const char *name, int x, bn_vals c, const char *y,
                  float eps) {
    int in[5] = {x, c.scale, c.bias, c.mean, c.var}, out = cinfer__graph_value(g, y);
    int n = cinfer__graph_add_node(g, name, "BatchNormalization", "", 5, in, 1, &out);
    ck_assert_int_ge(n, 0);
    cinfer__attr a = {0};
    a.name = cinfer__strdup("epsilon");
    a.type = CINFER_ATTR_FLOAT;
    a.f = eps;
    ck_assert_int_eq(cinfer__node_add_attr(&g->nodes[n], &a, NULL), CINFER_OK);
    return n;
}

static const float *cdata(const cinfer__graph *g, int v) {
    ck_assert_ptr_nonnull(g->values[v].constant);
    return g->values[v].constant->data;
}

/* Checks the folded Conv `ci` against W, B (-1: none) and the BN constants, in double. */
static void check_folded(const cinfer__graph *g, int ci, int w, int b, bn_vals c, double eps) {
    const cinfer__node *n = &g->nodes[ci];
    ck_assert_int_eq(n->n_in, 3);
    const cinfer_tensor *w2 = g->values[n->in[1]].constant, *b2 = g->values[n->in[2]].constant;
    ck_assert_ptr_nonnull(w2);
    ck_assert_ptr_nonnull(b2);
    ck_assert_int_eq(w2->rank, 4);
    ck_assert_int_eq(b2->rank, 1);
    ck_assert_int_eq(b2->dims[0], M_OUT);
    int64_t per = cinfer_tensor_numel(w2) / M_OUT;
    const float *wf = w2->data, *bf = b2->data, *w0 = cdata(g, w);
    const float *sc = cdata(g, c.scale), *bi = cdata(g, c.bias), *mu = cdata(g, c.mean),
                *va = cdata(g, c.var);
    for (int m = 0; m < M_OUT; m++) {
        double s = sc[m] / sqrt((double)va[m] + eps);
        for (int64_t j = 0; j < per; j++) {
            double want = w0[m * per + j] * s;
            ck_assert_msg(fabs(wf[m * per + j] - want) <= 1e-6 * fabs(want) + 1e-12,
                          "W'[%d,%lld] = %.9g, want %.9g", m, (long long)j, wf[m * per + j],
                          want);
        }
        double b0 = b >= 0 ? cdata(g, b)[m] : 0.0;
        double want = (b0 - mu[m]) * s + bi[m];
        ck_assert_msg(fabs(bf[m] - want) <= 1e-6 * fabs(want) + 1e-7, "B'[%d] = %.9g, want %.9g",
                      m, bf[m], want);
    }
}

static const int64_t w_dims[4] = {M_OUT, 3, 3, 2};
static const int64_t b_dims[1] = {M_OUT};

START_TEST(test_fold_with_bias) {
    rng_state = 12345;
    cinfer__graph *g = NULL;
    ck_assert_int_eq(cinfer__graph_create(&g, NULL), CINFER_OK);
    int x = add_input(g, "x");
    int w = add_const(g, "W", 4, w_dims, -1.0f, 1.0f), b = add_const(g, "B", 1, b_dims, -1, 1);
    int ci = add_conv(g, "conv", x, w, b, "t");
    bn_vals c = add_bn_consts(g, "bn");
    int bi = add_bn(g, "bn", cinfer__graph_find(g, "t"), c, "y", 1e-3f);
    set_output(g, cinfer__graph_find(g, "y"));
    int n = -1;
    ck_assert_int_eq(cinfer__pass_fold_conv_bn(g, &n, NULL), CINFER_OK);
    ck_assert_int_eq(n, 1);
    ck_assert(g->nodes[bi].dead);
    ck_assert(!g->nodes[ci].dead);
    ck_assert_int_eq(g->nodes[ci].out[0], cinfer__graph_find(g, "y"));
    ck_assert_int_eq(g->nodes[ci].in[0], x);
    check_folded(g, ci, w, b, c, (double)1e-3f);
    ck_assert_int_eq(cinfer__graph_sort(g, NULL), CINFER_OK);
    cinfer__graph_destroy(g);
}
END_TEST

START_TEST(test_fold_without_bias_shared_weights) {
    /* Two Convs share W; each is followed by its own BN: each gets its own folded copy and
     * the original W is left untouched. */
    rng_state = 777;
    cinfer__graph *g = NULL;
    ck_assert_int_eq(cinfer__graph_create(&g, NULL), CINFER_OK);
    int x = add_input(g, "x");
    int w = add_const(g, "W", 4, w_dims, -1.0f, 1.0f);
    float w_first = cdata(g, w)[0];
    int c1 = add_conv(g, "conv1", x, w, -1, "t1"), c2 = add_conv(g, "conv2", x, w, -1, "t2");
    bn_vals k1 = add_bn_consts(g, "bn1"), k2 = add_bn_consts(g, "bn2");
    add_bn(g, "bn1", cinfer__graph_find(g, "t1"), k1, "y1", 1e-5f);
    add_bn(g, "bn2", cinfer__graph_find(g, "t2"), k2, "y2", 1e-5f);
    set_output(g, cinfer__graph_find(g, "y1"));
    set_output(g, cinfer__graph_find(g, "y2"));
    int n = -1;
    ck_assert_int_eq(cinfer__pass_fold_conv_bn(g, &n, NULL), CINFER_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_int_ne(g->nodes[c1].in[1], g->nodes[c2].in[1]);
    ck_assert(cdata(g, w)[0] == w_first);
    check_folded(g, c1, w, -1, k1, (double)1e-5f);
    check_folded(g, c2, w, -1, k2, (double)1e-5f);
    cinfer__graph_destroy(g);
}
END_TEST

START_TEST(test_fold_chain) {
    /* Conv -> BN -> BN folds twice: the second BN sees the Conv as its producer. */
    rng_state = 99;
    cinfer__graph *g = NULL;
    ck_assert_int_eq(cinfer__graph_create(&g, NULL), CINFER_OK);
    int x = add_input(g, "x");
    int w = add_const(g, "W", 4, w_dims, -1.0f, 1.0f);
    int ci = add_conv(g, "conv", x, w, -1, "t");
    bn_vals k1 = add_bn_consts(g, "bn1"), k2 = add_bn_consts(g, "bn2");
    add_bn(g, "bn1", cinfer__graph_find(g, "t"), k1, "u", 1e-5f);
    add_bn(g, "bn2", cinfer__graph_find(g, "u"), k2, "y", 1e-5f);
    set_output(g, cinfer__graph_find(g, "y"));
    int n = -1;
    ck_assert_int_eq(cinfer__pass_fold_conv_bn(g, &n, NULL), CINFER_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(g->nodes[ci].out[0], cinfer__graph_find(g, "y"));
    ck_assert_int_eq(cinfer__graph_live_nodes(g), 1);
    cinfer__graph_destroy(g);
}
END_TEST

/* Cases that must not fold. */
enum { NF_SHARED_OUT, NF_GRAPH_OUT, NF_INPUT_MEAN, NF_TRAINING, NF_COUNT };

START_TEST(test_no_fold) {
    rng_state = 4242 + (uint32_t)_i;
    cinfer__graph *g = NULL;
    ck_assert_int_eq(cinfer__graph_create(&g, NULL), CINFER_OK);
    int x = add_input(g, "x");
    int w = add_const(g, "W", 4, w_dims, -1.0f, 1.0f);
    add_conv(g, "conv", x, w, -1, "t");
    int t = cinfer__graph_find(g, "t");
    bn_vals c = add_bn_consts(g, "bn");
    if (_i == NF_INPUT_MEAN) c.mean = add_input(g, "mean_fed");
    int bi = add_bn(g, "bn", t, c, "y", 1e-5f);
    set_output(g, cinfer__graph_find(g, "y"));
    if (_i == NF_SHARED_OUT) {
        int r = cinfer__graph_value(g, "r");
        ck_assert_int_ge(cinfer__graph_add_node(g, "relu", "Relu", "", 1, &t, 1, &r), 0);
        set_output(g, r);
    }
    if (_i == NF_GRAPH_OUT) set_output(g, t);
    if (_i == NF_TRAINING) {
        cinfer__attr a = {0};
        a.name = cinfer__strdup("training_mode");
        a.type = CINFER_ATTR_INT;
        a.i = 1;
        ck_assert_int_eq(cinfer__node_add_attr(&g->nodes[bi], &a, NULL), CINFER_OK);
    }
    int n = -1;
    ck_assert_int_eq(cinfer__pass_fold_conv_bn(g, &n, NULL), CINFER_OK);
    ck_assert_int_eq(n, 0);
    ck_assert(!g->nodes[bi].dead);
    ck_assert_int_eq(g->nodes[0].out[0], t);
    cinfer__graph_destroy(g);
}
END_TEST

START_TEST(test_alloc_failures) {
    /* Every allocation the pass makes may fail: it reports OUT_OF_MEMORY or completes. */
    for (long k = 1; k < 40; k++) {
        rng_state = 5;
        cinfer__graph *g = NULL;
        ck_assert_int_eq(cinfer__graph_create(&g, NULL), CINFER_OK);
        int x = add_input(g, "x");
        int w = add_const(g, "W", 4, w_dims, -1.0f, 1.0f);
        int ci = add_conv(g, "conv", x, w, -1, "t");
        bn_vals c = add_bn_consts(g, "bn");
        add_bn(g, "bn", cinfer__graph_find(g, "t"), c, "y", 1e-5f);
        set_output(g, cinfer__graph_find(g, "y"));
        int n = -1;
        cinfer__err err = {{0}};
        cinfer__alloc_fail_after(k);
        cinfer_status st = cinfer__pass_fold_conv_bn(g, &n, &err);
        cinfer__alloc_fail_after(0);
        ck_assert(st == CINFER_OK || st == CINFER_OUT_OF_MEMORY);
        if (st == CINFER_OK && n == 1) check_folded(g, ci, w, -1, c, (double)1e-5f);
        cinfer__graph_destroy(g);
    }
}
END_TEST

static Suite *fold_suite(void) {
    Suite *s = suite_create("fold_conv_bn");
    TCase *tc = tcase_create("fold");
    tcase_add_test(tc, test_fold_with_bias);
    tcase_add_test(tc, test_fold_without_bias_shared_weights);
    tcase_add_test(tc, test_fold_chain);
    tcase_add_loop_test(tc, test_no_fold, 0, NF_COUNT);
    tcase_add_test(tc, test_alloc_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(fold_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
