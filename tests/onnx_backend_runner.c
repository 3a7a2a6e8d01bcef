/* Runs test cases in the layout of ONNX's backend test data (model.onnx plus
 * test_data_set_N/{input,output}_M.pb) and compares cinfer's outputs with the stored ones.
 *
 * usage: onnx_backend_runner [--tol onnx|op] [--expect LIST] [--write-passing LIST]
 *                            [--skip LIST] [--threads N] [--device cpu|cuda] [--in-process]
 *                            [-q] CASE_DIR...
 * --device cuda runs the cases on the CUDA backend (against the same references); without a
 * usable GPU it prints "skipped: no CUDA device" and exits 77.
 * --skip names cases whose stored reference is known to be wrong, each with the reason after
 * a '#'; they are reported as skipped, never as passed.
 * Each case runs in a child process (a crash or a hang is reported, not fatal), or with
 * --in-process all in this one on one runtime (a CUDA context per case costs seconds). Prints one
 * line per case and a summary; exits 1 on any failure or crash, or when a case listed in
 * --expect did not pass. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cinfer/cinfer.h"
#include "core/tensor.h"
#include "onnx/onnx_import.h"

#define MAX_IO 64
enum { RES_PASS = 0, RES_FAIL = 1, RES_UNSUPPORTED = 3 };

static double g_rtol = 1e-3, g_atol = 1e-7;
/* --precision: the models' precision option (CUDA runtimes); with fp16/bf16 a case's own
 * tolerance.txt can only loosen the reduced-precision one, never tighten it. */
static cinfer_precision g_precision = CINFER_PRECISION_FP32;
static bool g_elementwise = true; /* ONNX's runner: |d| <= atol + rtol*|ref| per element */
static int g_threads = 2;

static bool load_pb(const char *path, cinfer_tensor *t, char *why, size_t len) {
    void *data;
    size_t size;
    cinfer__err err;
    if (cinfer__read_file(path, &data, &size, &err) != CINFER_OK ||
        cinfer__onnx_read_tensor(data, size, t, NULL, &err) != CINFER_OK) {
        snprintf(why, len, "%s", err.msg);
        if (data) free(data);
        return false;
    }
    free(data);
    return true;
}

/* Compares got with ref under the active rule; writes the reason on failure. */
static bool compare(const cinfer_tensor *got, const cinfer_tensor *ref, double rtol, double atol,
                    char *why, size_t len) {
    char a[128], b[128];
    if (got->dtype != ref->dtype || !cinfer__same_shape(got, ref)) {
        snprintf(why, len, "got %s %s, expected %s %s", cinfer_dtype_name(got->dtype),
                 cinfer__shape_str(got->rank, got->dims, a, sizeof a),
                 cinfer_dtype_name(ref->dtype),
                 cinfer__shape_str(ref->rank, ref->dims, b, sizeof b));
        return false;
    }
    int64_t n = cinfer_tensor_numel(ref);
    if (!cinfer__dtype_is_float(ref->dtype)) {
        size_t es = cinfer_dtype_size(ref->dtype);
        for (int64_t i = 0; i < n; i++)
            if (memcmp((char *)got->data + i * es, (char *)ref->data + i * es, es)) {
                snprintf(why, len, "element %lld: got %lld, expected %lld", (long long)i,
                         (long long)cinfer__get_i64(got, i), (long long)cinfer__get_i64(ref, i));
                return false;
            }
        return true;
    }
    double max_ref = 0, worst = 0;
    int64_t worst_i = -1;
    for (int64_t i = 0; i < n; i++) {
        double r = cinfer__get_f64(ref, i);
        if (isfinite(r) && fabs(r) > max_ref) max_ref = fabs(r);
    }
    for (int64_t i = 0; i < n; i++) {
        double r = cinfer__get_f64(ref, i), gv = cinfer__get_f64(got, i);
        if (isnan(r) || isnan(gv) || isinf(r) || isinf(gv)) {
            if ((isnan(r) && isnan(gv)) || r == gv) continue;
            snprintf(why, len, "element %lld: got %g, expected %g", (long long)i, gv, r);
            return false;
        }
        double d = fabs(gv - r), allowed = atol + rtol * (g_elementwise ? fabs(r) : max_ref);
        if (d > allowed && d - allowed > worst) {
            worst = d - allowed;
            worst_i = i;
        }
    }
    if (worst_i >= 0) {
        snprintf(why, len, "element %lld: got %.9g, expected %.9g (rtol %g, atol %g%s)",
                 (long long)worst_i, cinfer__get_f64(got, worst_i),
                 cinfer__get_f64(ref, worst_i), rtol, atol,
                 g_elementwise ? "" : ", relative to max|ref|");
        return false;
    }
    return true;
}

static int count_files(const char *dir, const char *prefix) {
    int n = 0;
    char path[4096];
    for (;; n++) {
        snprintf(path, sizeof path, "%s/%s_%d.pb", dir, prefix, n);
        if (access(path, R_OK)) return n;
    }
}

static int run_data_set(cinfer_model *m, const char *set, double rtol, double atol, char *why,
                        size_t len) {
    int n_in = count_files(set, "input"), n_out = count_files(set, "output");
    cinfer_tensor in[MAX_IO] = {0}, ref[MAX_IO] = {0}, got[MAX_IO] = {0};
    char path[4096];
    int res = RES_FAIL;
    if (n_in > MAX_IO || n_out > MAX_IO) {
        snprintf(why, len, "too many inputs/outputs");
        return RES_FAIL;
    }
    for (int i = 0; i < n_in; i++) {
        snprintf(path, sizeof path, "%s/input_%d.pb", set, i);
        if (!load_pb(path, &in[i], why, len)) goto done;
    }
    for (int i = 0; i < n_out; i++) {
        snprintf(path, sizeof path, "%s/output_%d.pb", set, i);
        if (!load_pb(path, &ref[i], why, len)) goto done;
    }
    cinfer_status st = cinfer_model_run(m, (size_t)n_in, NULL, in, (size_t)n_out, NULL, got);
    if (st != CINFER_OK) {
        snprintf(why, len, "%s", cinfer_last_error());
        res = st == CINFER_UNSUPPORTED ? RES_UNSUPPORTED : RES_FAIL;
        goto done;
    }
    res = RES_PASS;
    for (int i = 0; i < n_out && res == RES_PASS; i++) {
        char w[1024];
        if (!compare(&got[i], &ref[i], rtol, atol, w, sizeof w)) {
            cinfer_value_info info;
            cinfer_model_output_info(m, (size_t)i, &info);
            snprintf(why, len, "output %d '%s': %s", i, info.name, w);
            res = RES_FAIL;
        }
    }
done:
    for (int i = 0; i < MAX_IO; i++) {
        free(in[i].data);
        free(ref[i].data);
        cinfer_tensor_release(&got[i]);
    }
    return res;
}

/* Runs one case directory in the current (child) process; returns a RES_ code. */
static cinfer_device g_device = CINFER_DEVICE_CPU;

/* Whether a CUDA runtime can be created here (else the run is reported as skipped). Asked in a
 * child process: CUDA initialized before fork() is unusable in every forked case after it
 * ("initialization error"). */
static bool cuda_usable(void) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        cinfer_runtime_options ro;
        cinfer_runtime_options_init(&ro);
        ro.device = CINFER_DEVICE_CUDA;
        cinfer_runtime *rt;
        if (cinfer_runtime_create(&ro, &rt) != CINFER_OK) {
            printf("skipped: no CUDA device (%s)\n", cinfer_last_error());
            fflush(stdout);
            _exit(1);
        }
        cinfer_runtime_destroy(rt);
        _exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* --in-process: every case runs in this process on one runtime (no fork per case), for CUDA,
 * where a context per forked case costs seconds; a crash then ends the whole run. */
static cinfer_runtime *g_shared_rt;

static int run_case(const char *dir, char *why, size_t len) {
    double rtol = g_rtol, atol = g_atol;
    char path[4096];
    snprintf(path, sizeof path, "%s/tolerance.txt", dir);
    FILE *tf = fopen(path, "r");
    if (tf) {
        if (fscanf(tf, "%lf %lf", &rtol, &atol) != 2) rtol = g_rtol, atol = g_atol;
        fclose(tf);
        if (g_precision == CINFER_PRECISION_FP16 || g_precision == CINFER_PRECISION_BF16) {
            rtol = rtol > g_rtol ? rtol : g_rtol;
            atol = atol > g_atol ? atol : g_atol;
        }
    }
    cinfer_runtime_options ro;
    cinfer_runtime_options_init(&ro);
    ro.device = g_device;
    ro.num_threads = g_threads;
    cinfer_runtime *rt = g_shared_rt;
    if (!rt && cinfer_runtime_create(&ro, &rt) != CINFER_OK) {
        snprintf(why, len, "%s", cinfer_last_error());
        return RES_FAIL;
    }
    cinfer_model *m;
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    cinfer_model_options mo;
    cinfer_model_options_init(&mo);
    mo.precision = g_precision;
    cinfer_status st = cinfer_model_load(rt, path, &mo, &m);
    if (st != CINFER_OK) {
        snprintf(why, len, "%s", cinfer_last_error());
        if (rt != g_shared_rt) cinfer_runtime_destroy(rt);
        return st == CINFER_UNSUPPORTED ? RES_UNSUPPORTED : RES_FAIL;
    }
    int res = RES_PASS, n_sets = 0;
    for (int k = 0; res == RES_PASS; k++) {
        snprintf(path, sizeof path, "%s/test_data_set_%d", dir, k);
        if (access(path, R_OK)) break;
        n_sets++;
        res = run_data_set(m, path, rtol, atol, why, len);
    }
    if (!n_sets) {
        snprintf(why, len, "no test_data_set_0");
        res = RES_FAIL;
    }
    cinfer_model_destroy(m);
    if (rt != g_shared_rt) cinfer_runtime_destroy(rt);
    return res;
}

/* A case's not16.txt ("fp16 bf16 # why", tests/ops/opcase.py) names the 16-bit precisions at
 * which its float64 reference cannot be met by any engine (outputs beyond float16's range,
 * inputs whose 16-bit rounding alone moves the result past the tolerance). True, with the
 * reason in why, when this run's precision is one of them. */
static bool not_at_precision(const char *dir, char *why, size_t len) {
    const char *fmt = g_precision == CINFER_PRECISION_FP16   ? "fp16"
                      : g_precision == CINFER_PRECISION_BF16 ? "bf16"
                                                             : NULL;
    if (!fmt) return false;
    char path[4096], line[1024];
    snprintf(path, sizeof path, "%s/not16.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    bool hit = false;
    if (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *hash = strchr(line, '#');
        const char *reason = hash ? hash + 1 : "";
        while (*reason == ' ') reason++;
        if (hash) *hash = 0;
        for (char *tok = strtok(line, " \t"); tok && !hit; tok = strtok(NULL, " \t"))
            hit = !strcmp(tok, fmt);
        if (hit) snprintf(why, len, "%s", reason);
    }
    fclose(f);
    return hit;
}

/* The case's directory name, without any trailing slash (static buffer). */
static const char *base_name(const char *dir) {
    static char buf[1024];
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    const char *s = dir + n;
    while (s > dir && s[-1] != '/') s--;
    snprintf(buf, sizeof buf, "%.*s", (int)(dir + n - s), s);
    return buf;
}

typedef struct list {
    char **names;
    int n;
} list;

static void list_load(const char *path, list *l) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot read %s: %s\n", path, strerror(errno));
        exit(2);
    }
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n#")] = 0;
        size_t n = strlen(line);
        while (n && line[n - 1] == ' ') line[--n] = 0;
        if (!n) continue;
        l->names = realloc(l->names, (size_t)(l->n + 1) * sizeof *l->names);
        l->names[l->n++] = strdup(line);
    }
    fclose(f);
}

int main(int argc, char **argv) {
    const char *expect = NULL, *write_passing = NULL, *skip = NULL;
    bool quiet = false, in_process = false;
    int first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        const char *a = argv[first];
        if (!strcmp(a, "--tol") && first + 1 < argc) {
            const char *t = argv[++first];
            if (!strcmp(t, "op")) g_rtol = 1e-5, g_atol = 1e-6, g_elementwise = false;
            else if (!strcmp(t, "model")) g_rtol = 1e-4, g_atol = 1e-5, g_elementwise = false;
            /* DESIGN.md "CUDA fp16/bf16 op vs CPU fp32" */
            else if (!strcmp(t, "op16")) g_rtol = 1e-2, g_atol = 1e-3, g_elementwise = false;
        } else if (!strcmp(a, "--precision") && first + 1 < argc) {
            const char *p = argv[++first];
            g_precision = !strcmp(p, "fp16")   ? CINFER_PRECISION_FP16
                          : !strcmp(p, "bf16") ? CINFER_PRECISION_BF16
                          : !strcmp(p, "tf32") ? CINFER_PRECISION_TF32
                                               : CINFER_PRECISION_FP32;
        } else if (!strcmp(a, "--expect") && first + 1 < argc) expect = argv[++first];
        else if (!strcmp(a, "--write-passing") && first + 1 < argc) write_passing = argv[++first];
        else if (!strcmp(a, "--skip") && first + 1 < argc) skip = argv[++first];
        else if (!strcmp(a, "--threads") && first + 1 < argc) g_threads = atoi(argv[++first]);
        else if (!strcmp(a, "--device") && first + 1 < argc)
            g_device = !strcmp(argv[++first], "cuda") ? CINFER_DEVICE_CUDA : CINFER_DEVICE_CPU;
        else if (!strcmp(a, "-q")) quiet = true;
        else if (!strcmp(a, "--in-process")) in_process = true;
        else {
            fprintf(stderr, "usage: %s [--tol onnx|op|model|op16] [--expect LIST] "
                            "[--write-passing LIST] [--threads N] [--device cpu|cuda] "
                            "[--precision fp32|tf32|fp16|bf16] [--in-process] [-q] "
                            "CASE_DIR...\n", argv[0]);
            return 2;
        }
    }
    if (g_device == CINFER_DEVICE_CUDA && !cuda_usable()) return 77;
    if (in_process) {
        cinfer_runtime_options ro;
        cinfer_runtime_options_init(&ro);
        ro.device = g_device;
        ro.num_threads = g_threads;
        if (cinfer_runtime_create(&ro, &g_shared_rt) != CINFER_OK) {
            printf("cannot create the runtime: %s\n", cinfer_last_error());
            return 1;
        }
    }
    list expected = {0}, skipped = {0};
    if (expect) list_load(expect, &expected);
    if (skip) list_load(skip, &skipped);
    bool *passed = calloc((size_t)argc, sizeof(bool));
    int n_pass = 0, n_fail = 0, n_unsup = 0, n_skip = 0;
    FILE *wp = write_passing ? fopen(write_passing, "w") : NULL;
    for (int i = first; i < argc; i++) {
        bool skip_it = false;
        for (int e = 0; e < skipped.n && !skip_it; e++)
            skip_it = !strcmp(base_name(argv[i]), skipped.names[e]);
        if (skip_it) {
            n_skip++;
            printf("SKIPPED %s: its stored reference is known to be wrong (see %s)\n",
                   base_name(argv[i]), skip);
            continue;
        }
        char why[2048] = "";
        if (not_at_precision(argv[i], why, sizeof why)) {
            n_skip++;
            printf("SKIPPED %s: its reference cannot be met at %s: %s\n", base_name(argv[i]),
                   g_precision == CINFER_PRECISION_FP16 ? "fp16" : "bf16", why);
            continue;
        }
        int res = RES_FAIL, sig = 0;
        if (g_shared_rt) {
            res = run_case(argv[i], why, sizeof why);
        } else {
            int fds[2];
            if (pipe(fds)) return 2;
            fflush(stdout);
            pid_t pid = fork();
            if (pid == 0) {
                close(fds[0]);
                alarm(120);
                int r = run_case(argv[i], why, sizeof why);
                if (write(fds[1], why, strlen(why)) < 0) r = RES_FAIL;
                _exit(r);
            }
            close(fds[1]);
            ssize_t got = read(fds[0], why, sizeof why - 1);
            why[got > 0 ? got : 0] = 0;
            close(fds[0]);
            int status = 0;
            waitpid(pid, &status, 0);
            if (WIFEXITED(status)) res = WEXITSTATUS(status);
            else if (WIFSIGNALED(status)) sig = WTERMSIG(status);
        }
        const char *name = base_name(argv[i]);
        if (!sig && res == RES_PASS) {
            n_pass++;
            passed[i] = true;
            if (wp) fprintf(wp, "%s\n", name);
            if (!quiet) printf("PASS %s\n", name);
        } else if (!sig && res == RES_UNSUPPORTED) {
            n_unsup++;
            printf("UNSUPPORTED %s: %s\n", name, why);
        } else if (sig) {
            n_fail++;
            printf("CRASH %s: signal %d%s\n", name, sig, sig == SIGALRM ? " (timed out)" : "");
        } else {
            n_fail++;
            printf("FAIL %s: %s\n", name, why);
        }
        fflush(stdout);
    }
    if (wp) fclose(wp);
    int n_missing = 0;
    for (int e = 0; e < expected.n; e++) {
        bool ok = false;
        for (int i = first; i < argc && !ok; i++)
            ok = passed[i] && !strcmp(base_name(argv[i]), expected.names[e]);
        if (!ok) {
            printf("REGRESSION %s: listed in %s but did not pass\n", expected.names[e], expect);
            n_missing++;
        }
    }
    printf("onnx backend cases: %d passed, %d failed, %d unsupported, %d skipped", n_pass,
           n_fail, n_unsup, n_skip);
    if (expect) printf(", %d expected passes missing", n_missing);
    printf("\n");
    free(passed);
    for (int e = 0; e < expected.n; e++) free(expected.names[e]);
    free(expected.names);
    for (int e = 0; e < skipped.n; e++) free(skipped.names[e]);
    free(skipped.names);
    if (g_shared_rt) cinfer_runtime_destroy(g_shared_rt);
    return n_fail || n_missing ? 1 : 0;
}
