/* Reduced precision on the GPU: the GEMM models of make_precision_models.py (K = 768) at tf32,
 * fp16 and bf16 against the CPU's fp32 run within DESIGN.md's "CUDA fp16/bf16 op vs CPU fp32"
 * tolerance (|d| <= 1e-3 + 1e-2 * max|ref|; tf32 held to the same), and far enough from it to
 * show the reduced path ran. A Conv runs TF32 in tf32 plans and on 16-bit activations in fp16
 * and bf16 plans; --fp32-ops keeps a GEMM in fp32. Each model runs three times (eager, then
 * captured, then replayed): the replays must equal the eager run bit for bit. The placement
 * report must show each step's precision. Eight small CNNs at fp16 and bf16 store as many
 * values channels last as the rule gives (convnet five, convnet_scalar four, convnet_z3
 * none, convnet_bcast five, convnet_concat three, convnet_up two, convnet_resize two,
 * convnet_same two) and meet the same tolerance, as convnet does with
 * channels_last = 0. Without a device: "skipped: no CUDA device", exit 77. Seed:
 * CINFER_TEST_SEED (printed on failure). */
#include <math.h>

#include "model_test.h"
#include "runtime/inspect.h"
#include "runtime/runtime.h"

#define LOW_RTOL 1e-2 /* DESIGN.md: CUDA fp16/bf16 op vs CPU fp32 */
#define LOW_ATOL 1e-3
#define FP32_RTOL 1e-5 /* DESIGN.md: CUDA fp32 op vs CPU */
#define FP32_ATOL 1e-6
#define MAX_IO 8
#define RUNS 3

static int channels_last = 1; /* cinfer_model_options.channels_last of the next loads */

static cinfer_model *load(cinfer_runtime *rt, const char *name, cinfer_precision p,
                          const char *fp32_ops) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.onnx", model_dir, name);
    cinfer_model_options o;
    cinfer_model_options_init(&o);
    o.precision = p;
    o.fp32_ops = fp32_ops;
    o.channels_last = channels_last;
    cinfer_model *m = NULL;
    if (cinfer_model_load(rt, path, &o, &m) != CINFER_OK) {
        CHECK(0, "loading %s at %s: %s", path, cinfer_precision_name(p), cinfer_last_error());
        return NULL;
    }
    return m;
}

/* The step named `node` must be on the GPU and compute in `want`. */
static void check_step(cinfer_model *m, const inputs *in, const char *node,
                       cinfer_precision want) {
    cinfer__model_report r;
    cinfer_status st = cinfer__model_report_make(m, in->n, in->t, &r);
    CHECK(st == CINFER_OK && r.cuda, "placement report: %s", cinfer_last_error());
    if (st != CINFER_OK) return;
    bool seen = false;
    for (int s = 0; s < r.n_steps; s++) {
        if (strcmp(r.place[s].name, node)) continue;
        seen = true;
        CHECK(r.place[s].gpu && r.place[s].precision == want,
              "step %s: on %s in %s, want the GPU in %s", node, r.place[s].gpu ? "gpu" : "cpu",
              cinfer_precision_name(r.place[s].precision), cinfer_precision_name(want));
    }
    CHECK(seen, "no step named %s", node);
    cinfer__model_report_free(&r);
}

/* `model` at precision p stores `want` values NHWC (channels_last as set). */
static void check_nhwc_count(cinfer_runtime *gpu, const char *model, cinfer_precision p,
                             int want) {
    cinfer_model *m = load(gpu, model, p, NULL);
    if (!m) return;
    inputs in;
    make_inputs(m, 1, seed, &in);
    cinfer__model_report r;
    cinfer_status st = cinfer__model_report_make(m, in.n, in.t, &r);
    CHECK(st == CINFER_OK && r.cuda, "%s placement report: %s", model, cinfer_last_error());
    if (st == CINFER_OK) {
        CHECK(r.n_nhwc_values == want, "%s at %s, channels_last %d: %d values NHWC, want %d",
              model, cinfer_precision_name(p), channels_last, r.n_nhwc_values, want);
        cinfer__model_report_free(&r);
    }
    free_inputs(&in);
    cinfer_model_destroy(m);
}

typedef struct expect {
    const char *output;
    bool fp32;        /* held to the fp32 tolerance (an op left in fp32) */
    bool may_be_fp32; /* reduced precision allowed, not required (see conv_low) */
} expect;

/* max|got - ref| and the tolerance's max|ref|; NaN in got counts as infinitely far. */
static double max_diff(const cinfer_tensor *got, const cinfer_tensor *ref, double *maxref) {
    int64_t n = cinfer_tensor_numel(ref);
    const float *g = got->data, *r = ref->data;
    double d = 0;
    *maxref = 0;
    for (int64_t i = 0; i < n; i++) {
        *maxref = fmax(*maxref, fabs(r[i]));
        double e = fabs((double)g[i] - r[i]);
        d = isnan(e) ? INFINITY : fmax(d, e);
    }
    return d;
}

static void compare(const char *model, cinfer_precision p, const expect *e,
                    const cinfer_tensor *got, const cinfer_tensor *ref) {
    const char *pn = cinfer_precision_name(p);
    CHECK(got->dtype == CINFER_DTYPE_FLOAT && cinfer_tensor_numel(got) == cinfer_tensor_numel(ref),
          "%s/%s at %s: output dtype %d or size differs", model, e->output, pn, (int)got->dtype);
    if (got->dtype != CINFER_DTYPE_FLOAT) return;
    double maxref, d = max_diff(got, ref, &maxref);
    double tol = e->fp32 ? FP32_ATOL + FP32_RTOL * maxref : LOW_ATOL + LOW_RTOL * maxref;
    CHECK(d <= tol, "%s/%s at %s: max |cuda - cpu| %.4g > %.4g (max|ref| %.4g)", model,
          e->output, pn, d, tol, maxref);
    /* 10 or fewer mantissa bits over K = 768 products leave errors far above fp32's: a
     * result within the fp32 tolerance means the step did not run in reduced precision. Not
     * for TF32: CUBLAS_COMPUTE_32F_FAST_TF32 allows tensor cores but lets cuBLASLt pick a
     * plain fp32 kernel (small shapes may get one); fp16/bf16 operands are rounded by our own
     * cast kernel before the GEMM, so there the error is there whatever kernel runs. */
    if (!e->fp32 && !e->may_be_fp32 && p != CINFER_PRECISION_TF32)
        CHECK(d > FP32_ATOL + FP32_RTOL * maxref, "%s/%s at %s: max |cuda - cpu| %.4g is "
              "within the fp32 tolerance: not run in %s?", model, e->output, pn, d, pn);
}

static void release_all(size_t n, cinfer_tensor *t) {
    for (size_t i = 0; i < n; i++) cinfer_tensor_release(&t[i]);
}

static int find_output(cinfer_model *m, const char *name) {
    for (size_t o = 0; o < cinfer_model_output_count(m); o++) {
        cinfer_value_info vi;
        cinfer_model_output_info(m, o, &vi);
        if (!strcmp(vi.name, name)) return (int)o;
    }
    return -1;
}

/* Runs `model` RUNS times on the GPU at precision p and once on the CPU; compares. */
static void check_model(cinfer_runtime *gpu, cinfer_runtime *cpu, const char *model,
                        cinfer_precision p, const char *fp32_ops, const expect *ex, int n_ex) {
    cinfer_model *mg = load(gpu, model, p, fp32_ops), *mc = load(cpu, model, 0, NULL);
    if (!mg || !mc) goto done;
    inputs in;
    make_inputs(mc, 1, seed, &in);
    size_t n_out = cinfer_model_output_count(mc);
    cinfer_tensor og[RUNS][MAX_IO], oc[MAX_IO];
    memset(og, 0, sizeof og);
    memset(oc, 0, sizeof oc);
    int ok_runs = 0;
    for (; ok_runs < RUNS; ok_runs++) {
        cinfer_status st = cinfer_model_run(mg, in.n, NULL, in.t, n_out, NULL, og[ok_runs]);
        CHECK(st == CINFER_OK, "%s at %s, run %d: %s", model, cinfer_precision_name(p),
              ok_runs, cinfer_model_last_error(mg));
        if (st != CINFER_OK) break;
    }
    cinfer_status sc = cinfer_model_run(mc, in.n, NULL, in.t, n_out, NULL, oc);
    CHECK(sc == CINFER_OK, "%s on the cpu: %s", model, cinfer_model_last_error(mc));
    for (int i = 0; sc == CINFER_OK && ok_runs == RUNS && i < n_ex; i++) {
        int o = find_output(mc, ex[i].output);
        CHECK(o >= 0, "%s: no output %s", model, ex[i].output);
        if (o < 0) continue;
        compare(model, p, &ex[i], &og[0][o], &oc[o]);
        size_t bytes = (size_t)cinfer_tensor_numel(&oc[o]) * sizeof(float);
        for (int r = 1; r < RUNS; r++)
            CHECK(!memcmp(og[r][o].data, og[0][o].data, bytes),
                  "%s/%s at %s: run %d (graph) differs from the eager run", model,
                  ex[i].output, cinfer_precision_name(p), r);
    }
    for (int r = 0; r < ok_runs; r++) release_all(n_out, og[r]);
    if (sc == CINFER_OK) release_all(n_out, oc);
    free_inputs(&in);
done:
    cinfer_model_destroy(mg);
    cinfer_model_destroy(mc);
}

static void check_steps(cinfer_runtime *gpu) {
    cinfer_model *m = load(gpu, "gemms", CINFER_PRECISION_FP16, "Gemm");
    if (m) {
        inputs in;
        make_inputs(m, 1, seed, &in);
        check_step(m, &in, "matmul_weight", CINFER_PRECISION_FP16);
        check_step(m, &in, "fused", CINFER_PRECISION_FP16);
        check_step(m, &in, "gemm_bias", CINFER_PRECISION_FP32);
        free_inputs(&in);
        cinfer_model_destroy(m);
    }
    m = load(gpu, "conv", CINFER_PRECISION_BF16, NULL);
    if (m) {
        inputs in;
        make_inputs(m, 1, seed, &in);
        check_step(m, &in, "conv", CINFER_PRECISION_BF16); /* half activations */
        free_inputs(&in);
        cinfer_model_destroy(m);
    }
}

int main(void) {
    if (!have_device()) {
        printf("skipped: no CUDA device\n");
        return 77;
    }
    model_test_setup();
    if (make_models("make_precision_models.py", "cuda-precision") != 0) return 1;
    cinfer_runtime *gpu = runtime(CINFER_DEVICE_CUDA), *cpu = runtime(CINFER_DEVICE_CPU);
    if (!gpu || !cpu) return 1;
    static const expect low[] = {{"y1", false}, {"y2", false}, {"y3", false}, {"y4", false},
                                 {"y5", false}};
    static const cinfer_precision precs[] = {CINFER_PRECISION_TF32, CINFER_PRECISION_FP16,
                                             CINFER_PRECISION_BF16};
    for (int i = 0; i < 3; i++) check_model(gpu, cpu, "gemms", precs[i], NULL, low, 5);
    /* fp32_ops: the Gemms stay fp32, the MatMuls do not */
    static const expect mixed[] = {{"y1", false}, {"y2", false}, {"y3", true}, {"y4", true}};
    check_model(gpu, cpu, "gemms", CINFER_PRECISION_FP16, "Gemm", mixed, 4);
    /* TF32 math only allows tensor cores: cuDNN's heuristic may still rank an FMA algorithm
     * first, so the Conv is held to the TF32 tolerance without requiring that it was used. */
    static const expect conv_low[] = {{"y", false, true}}, conv_half[] = {{"y", false}};
    check_model(gpu, cpu, "conv", CINFER_PRECISION_TF32, NULL, conv_low, 1);
    /* fp16: half activations (16-bit X, W and Y), so the error is there whatever algorithm. */
    check_model(gpu, cpu, "conv", CINFER_PRECISION_FP16, NULL, conv_half, 1);
    check_steps(gpu);
    /* Channels last: the CNNs in both 16-bit types, then convnet kept NCHW. y1 pools a channel,
     * which can bring its error down to fp32's; y2 shows the reduced path. NHWC values:
     * - convnet: c1's output (ReLU fused), MaxPool's, c3's (FusedConv's Z), the FusedConv's
     *   and BatchNormalization's, every 4-D value between the first conv and the outputs;
     * - convnet_scalar: a's output and Mul(0.5, a)'s (a pointwise op with a scalar first input
     *   is EITHER), b's, which GlobalMaxPool reads channels last, and the gated
     *   Mul(r, [N, C, 1, 1])'s (a per-channel broadcast is EITHER, on NHWC-ordered dims);
     * - convnet_z3: none, as its FusedConv's residual is [C, H, W] and would meet an NHWC Y's
     *   wrong elements (the CPU comparison catches it if that rule breaks);
     * - convnet_bcast: a's output, Mul([N, C, 1, 1], a)'s (the per-channel operand first),
     *   Add(m, [C, 1, 1])'s, c's and Where([W] bool, c, 0)'s: broadcasts of every form the
     *   broadcasting ops take channels last;
     * - convnet_concat: both convolutions' outputs and their Concat's (channels last it
     *   concatenates NHWC-ordered views along the last axis);
     * - convnet_up: the first convolution's output and the ConvTranspose's (cuDNN backward
     *   data on NHWC descriptors with a KRSC filter);
     * - convnet_resize: the first convolution's output and the nearest Resize's (16-bit values
     *   moved on NHWC-ordered views);
     * - convnet_same: the outputs of the two convolutions with asymmetric pads (auto_pad
     *   SAME_UPPER at stride 2, then pads 1/1 and 0/2), each run on a zero-bordered NHWC copy
     *   of its input. */
    static const expect cnn[] = {{"y1", false, true}, {"y2", false}}, z3[] = {{"y", false}};
    static const struct {
        const char *model;
        int nhwc;
        const expect *ex;
        int n_ex;
    } cnns[] = {{"convnet", 5, cnn, 2},       {"convnet_scalar", 4, cnn, 2},
                {"convnet_z3", 0, z3, 1},     {"convnet_bcast", 5, z3, 1},
                {"convnet_concat", 3, z3, 1}, {"convnet_up", 2, z3, 1},
                {"convnet_resize", 2, z3, 1}, {"convnet_same", 2, z3, 1}};
    for (int i = 1; i < 3; i++)
        for (size_t k = 0; k < sizeof cnns / sizeof cnns[0]; k++) {
            check_nhwc_count(gpu, cnns[k].model, precs[i], cnns[k].nhwc);
            check_model(gpu, cpu, cnns[k].model, precs[i], NULL, cnns[k].ex, cnns[k].n_ex);
        }
    channels_last = 0;
    check_nhwc_count(gpu, "convnet", CINFER_PRECISION_FP16, 0);
    check_model(gpu, cpu, "convnet", CINFER_PRECISION_FP16, NULL, cnn, 2);
    channels_last = 1;
    cinfer_runtime_destroy(gpu);
    cinfer_runtime_destroy(cpu);
    return model_test_finish();
}
