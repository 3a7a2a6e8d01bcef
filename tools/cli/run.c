/* `cinfer run`: one run on given or random inputs; prints a summary of each output and saves
 * it as DIR/NAME.npy. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "cli.h"
#include "core/alloc.h"
#include "core/npy.h"
#include "core/tensor.h"

#define SHOW_VALUES 6

/* mkdir -p: creates dir and its missing parents. */
static int make_dirs(const char *dir) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return cli_fail(CINFER_INVALID_ARGUMENT, "-o: directory name too long");
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p) continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return cli_fail(CINFER_IO, "-o %s: cannot create directory %s: %s", dir, path,
                            strerror(errno));
        *p = c;
        if (!c) break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return cli_fail(CINFER_IO, "-o %s: not a directory", dir);
    return 0;
}

/* The file name for an output: characters outside [A-Za-z0-9._-] become '_'. */
static void file_stem(const char *name, char *buf, size_t len) {
    size_t n = 0;
    for (; name[n] && n + 1 < len; n++) {
        char c = name[n];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        buf[n] = ok ? c : '_';
    }
    buf[n] = '\0';
    if (n == 0) snprintf(buf, len, "_");
}

static void print_value(const cinfer_tensor *t, int64_t i) {
    if (cinfer__dtype_is_float(t->dtype))
        printf("%.6g", cinfer__get_f64(t, i));
    else if (t->dtype == CINFER_DTYPE_UINT64)
        printf("%llu", (unsigned long long)((const uint64_t *)t->data)[i]);
    else if (t->dtype == CINFER_DTYPE_BOOL)
        printf("%s", cinfer__get_i64(t, i) ? "true" : "false");
    else
        printf("%lld", (long long)cinfer__get_i64(t, i));
}

/* Prints "output 'y': float [2x3]" and a line with min, max, mean and the first values. */
static void print_summary(const char *name, const cinfer_tensor *t) {
    char shape[160];
    int64_t n = cinfer_tensor_numel(t), finite = 0, nans = 0;
    printf("output '%s': %s %s\n", name, cinfer_dtype_name(t->dtype),
           cinfer__shape_str(t->rank, t->dims, shape, sizeof shape));
    if (n == 0 || !cinfer_dtype_size(t->dtype)) {
        printf("  (empty)\n");
        return;
    }
    double mn = INFINITY, mx = -INFINITY, sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double v = cinfer__get_f64(t, i);
        if (isnan(v)) {
            nans++;
            continue;
        }
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        sum += v;
        finite += isfinite(v) ? 1 : 0;
    }
    printf("  min %.6g  max %.6g  mean %.6g", mn, mx, n > nans ? sum / (double)(n - nans) : NAN);
    if (nans) printf("  NaN %lld", (long long)nans);
    if (finite + nans < n) printf("  Inf %lld", (long long)(n - finite - nans));
    printf("\n  values:");
    for (int64_t i = 0; i < n && i < SHOW_VALUES; i++) {
        putchar(' ');
        print_value(t, i);
    }
    printf("%s\n", n > SHOW_VALUES ? " ..." : "");
}

/* Saves output k as DIR/STEM.npy, making the stem unique among the outputs saved before. */
static int save_output(const char *dir, const char *name, size_t k, char (*stems)[256],
                       const cinfer_tensor *t) {
    file_stem(name, stems[k], sizeof stems[k]);
    for (size_t j = 0; j < k; j++) {
        if (strcmp(stems[j], stems[k])) continue;
        size_t len = strlen(stems[k]);
        snprintf(stems[k] + (len > 200 ? 200 : len), 56, "_%zu", k);
        break;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.npy", dir, stems[k]);
    cinfer__err err;
    cinfer_status s = cinfer__npy_save(path, t, &err);
    if (s != CINFER_OK) return cli_fail(s, "output '%s': %s", name, err.msg);
    printf("  saved %s\n", path);
    return 0;
}

/* --io device: the inputs uploaded to device memory; a first run learns the output shapes
 * (host outputs), a second writes device outputs, which are downloaded over the first run's
 * host buffers (poisoned with NaN bytes first, so a missing write shows). */
static int run_device_io(cinfer_runtime *rt, cinfer_model *m, const cli_inputs *in,
                         cinfer_tensor *outs, size_t n_out) {
    cinfer_tensor *di = cinfer__calloc(in->n + 1, sizeof *di);
    cinfer_tensor *dout = cinfer__calloc(n_out + 1, sizeof *dout);
    int rc = di && dout ? 0 : cli_fail(CINFER_OUT_OF_MEMORY, "out of memory");
    if (!rc) rc = cli_device_tensors(rt, in->t, in->n, true, di);
    cinfer_status s = CINFER_OK;
    if (!rc && (s = cinfer_model_run(m, in->n, in->names, di, n_out, NULL, outs)))
        rc = cli_fail_run(s, in);
    if (!rc) rc = cli_device_tensors(rt, outs, n_out, false, dout);
    if (!rc && (s = cinfer_model_run(m, in->n, in->names, di, n_out, NULL, dout)))
        rc = cli_fail_api(s);
    for (size_t k = 0; !rc && k < n_out; k++)
        if (outs[k].data)
            memset(outs[k].data, 0xFF, (size_t)cinfer_tensor_numel(&outs[k]) *
                                           cinfer_dtype_size(outs[k].dtype));
    if (!rc) rc = cli_device_download(rt, dout, n_out, outs);
    if (di) cli_device_free(rt, di, in->n);
    if (dout) cli_device_free(rt, dout, n_out);
    cinfer__free(di);
    cinfer__free(dout);
    return rc;
}

static int run_and_report(const cli_opts *o, cinfer_runtime *rt, cinfer_model *m,
                          const cli_inputs *in) {
    size_t n_out = cinfer_model_output_count(m);
    cinfer_tensor *outs = cinfer__calloc(n_out, sizeof *outs);
    char (*stems)[256] = cinfer__calloc(n_out, sizeof *stems);
    int rc = 0;
    if (!outs || !stems) {
        rc = cli_fail(CINFER_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    cinfer_status s = CINFER_OK;
    if (o->device_io) {
        if ((rc = run_device_io(rt, m, in, outs, n_out))) goto done;
    } else if ((s = cinfer_model_run(m, in->n, in->names, in->t, n_out, NULL, outs))) {
        rc = cli_fail_run(s, in);
        goto done;
    }
    for (size_t k = 0; k < n_out && !rc; k++) {
        cinfer_value_info vi;
        s = cinfer_model_output_info(m, k, &vi);
        if (s != CINFER_OK) {
            rc = cli_fail_api(s);
            break;
        }
        print_summary(vi.name, &outs[k]);
        if (o->out_dir) rc = save_output(o->out_dir, vi.name, k, stems, &outs[k]);
    }
done:
    for (size_t k = 0; outs && k < n_out; k++) cinfer_tensor_release(&outs[k]);
    cinfer__free(outs);
    cinfer__free(stems);
    return rc;
}

int cli_cmd_run(int argc, char **argv) {
    cli_opts o;
    cinfer_runtime *rt = NULL;
    cinfer_model *m = NULL;
    cli_inputs in = {0};
    unsigned allowed = OPT_INPUT | OPT_SHAPE | OPT_OUTDIR | OPT_DEVICE | OPT_SEED;
    int rc = cli_parse(argc, argv, 2, allowed, &o);
    if (rc) goto done;
    if ((rc = cli_load(&o, &rt, &m))) goto done;
    if ((rc = cli_make_inputs(&o, m, false, &in))) goto done;
    if (o.out_dir && (rc = make_dirs(o.out_dir))) goto done;
    rc = run_and_report(&o, rt, m, &in);
    fflush(stdout);
done:
    cli_inputs_free(&in);
    cinfer_model_destroy(m);
    cinfer_runtime_destroy(rt);
    cli_opts_free(&o);
    return rc < 0 ? 0 : rc;
}
