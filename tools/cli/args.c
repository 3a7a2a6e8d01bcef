/* Option parsing shared by run, inspect and bench, runtime/model creation, and input tensors. */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "core/alloc.h"
#include "core/npy.h"
#include "core/tensor.h"
#include "onnx/onnx_import.h"

/* ---- Number and shape parsing ----------------------------------------------------------- */

static int parse_i64(const char *s, int64_t min, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < min) return -1;
    *out = v;
    return 0;
}

static int parse_f64(const char *s, double min, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !(v > min)) return -1;
    *out = v;
    return 0;
}

/* "1x3x224x224" or "1,3,224,224"; "" is a scalar. */
static int parse_dims(const char *s, cli_shape_arg *sh) {
    sh->rank = 0;
    while (*s) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (end == s || errno || v < 0 || sh->rank == CINFER_MAX_RANK) return -1;
        sh->dims[sh->rank++] = v;
        s = end;
        if (*s == 'x' || *s == 'X' || *s == ',') {
            s++;
            if (!*s) return -1;
        } else if (*s) {
            return -1;
        }
    }
    return 0;
}

#define MAX_LEVELS 256

static int push_level(double *v, int *n, double x) {
    if (*n == MAX_LEVELS) return -1;
    v[(*n)++] = x;
    return 0;
}

/* Load levels: "A,B,C", or "A[:B[:STEP]]" from A to B inclusive, by STEP when given and by
 * doubling otherwise (perf_analyzer's --concurrency-range steps by 1). Concurrency levels
 * are integers. */
static int parse_levels(const char *s, bool integer, double *v, int *n) {
    *n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    char *save = NULL;
    double part[3];
    int n_part = 0;
    bool list = strchr(buf, ',') != NULL;
    for (char *tok = strtok_r(buf, list ? "," : ":", &save); tok;
         tok = strtok_r(NULL, list ? "," : ":", &save)) {
        double x;
        int64_t i;
        if (integer ? parse_i64(tok, 1, &i) : parse_f64(tok, 0.0, &x)) return -1;
        if (integer) x = (double)i;
        if (list) {
            if (push_level(v, n, x)) return -1;
        } else {
            if (n_part == 3) return -1;
            part[n_part++] = x;
        }
    }
    if (list) return *n ? 0 : -1;
    if (n_part == 0) return -1;
    double a = part[0], b = n_part > 1 ? part[1] : a;
    if (b < a) return -1;
    if (n_part == 3) {
        for (double x = a; x <= b * (1 + 1e-12); x += part[2])
            if (push_level(v, n, x)) return -1;
        return 0;
    }
    for (double x = a; x < b; x *= 2)
        if (push_level(v, n, x)) return -1;
    return push_level(v, n, b);
}

static int parse_int_list(const char *s, int *v, int *n) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    char *save = NULL;
    *n = 0;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int64_t x;
        if (*n == 16 || parse_i64(tok, 0, &x) || x > 65536) return -1;
        v[(*n)++] = (int)x;
    }
    return *n ? 0 : -1;
}

/* ---- Option table -------------------------------------------------------------------- */

typedef enum opt_id {
    O_INPUT, O_SHAPE, O_DIM, O_OUTDIR, O_DEVICE, O_THREADS, O_SEED,
    O_BATCH, O_WARMUP, O_ITERS, O_DURATION, O_JSON, O_VERBOSE, O_HELP,
    O_CONCURRENCY, O_RATE, O_ARRIVAL, O_MAXBATCH, O_DELAY, O_INSTANCES, O_INTERVAL,
    O_STABILITY, O_TRIALS, O_CSV, O_NO_FUSION, O_NO_GRAPHS, O_IO, O_PRECISION, O_FP32_OPS,
    O_NO_NHWC
} opt_id;

static const struct {
    const char *sname, *lname;
    opt_id id;
    unsigned mask; /* 0: every command */
    int has_value;
} opt_table[] = {
    {"-i", "--input", O_INPUT, OPT_INPUT, 1},
    {NULL, "--shape", O_SHAPE, OPT_SHAPE, 1},
    {NULL, "--dim", O_DIM, OPT_SHAPE, 1},
    {"-o", "--output-dir", O_OUTDIR, OPT_OUTDIR, 1},
    {NULL, "--device", O_DEVICE, OPT_DEVICE, 1},
    {NULL, "--threads", O_THREADS, OPT_DEVICE, 1},
    {NULL, "--seed", O_SEED, OPT_SEED, 1},
    {NULL, "--batch", O_BATCH, OPT_BENCH, 1},
    {NULL, "--warmup", O_WARMUP, OPT_BENCH, 1},
    {NULL, "--iterations", O_ITERS, OPT_BENCH, 1},
    {NULL, "--duration", O_DURATION, OPT_BENCH, 1},
    {NULL, "--json", O_JSON, OPT_BENCH, 0},
    {NULL, "--concurrency", O_CONCURRENCY, OPT_LOAD, 1},
    {NULL, "--request-rate", O_RATE, OPT_LOAD, 1},
    {NULL, "--arrival", O_ARRIVAL, OPT_LOAD, 1},
    {NULL, "--max-batch-size", O_MAXBATCH, OPT_LOAD, 1},
    {NULL, "--max-queue-delay-us", O_DELAY, OPT_LOAD, 1},
    {NULL, "--instances", O_INSTANCES, OPT_LOAD, 1},
    {NULL, "--measurement-interval", O_INTERVAL, OPT_LOAD, 1},
    {NULL, "--stability-percentage", O_STABILITY, OPT_LOAD, 1},
    {NULL, "--max-trials", O_TRIALS, OPT_LOAD, 1},
    {NULL, "--csv", O_CSV, OPT_LOAD, 1},
    {NULL, "--no-fusion", O_NO_FUSION, 0, 0},
    {NULL, "--no-cuda-graphs", O_NO_GRAPHS, 0, 0},
    {NULL, "--io", O_IO, OPT_BENCH | OPT_OUTDIR, 1},
    {NULL, "--precision", O_PRECISION, 0, 1},
    {NULL, "--fp32-ops", O_FP32_OPS, 0, 1},
    {NULL, "--no-nhwc", O_NO_NHWC, 0, 0},
    {"-v", "--verbose", O_VERBOSE, 0, 0},
    {"-h", "--help", O_HELP, 0, 0},
};
#define N_OPTS (int)(sizeof opt_table / sizeof opt_table[0])

/* The load generator's options (bench). */
static int set_load_opt(cli_opts *o, opt_id id, const char *opt, const char *v) {
    int64_t n;
    switch (id) {
    case O_CONCURRENCY:
    case O_RATE:
        if (o->n_levels)
            return cli_usage_error(o->cmd, "give one of --concurrency and --request-rate, once");
        o->closed_loop = id == O_CONCURRENCY;
        if (parse_levels(v, o->closed_loop, o->levels, &o->n_levels))
            return cli_usage_error(o->cmd, "%s '%s': expected A, A:B, A:B:STEP or A,B,... with "
                                   "values > 0%s (at most %d levels)", opt, v,
                                   o->closed_loop ? ", whole numbers" : "", MAX_LEVELS);
        return 0;
    case O_ARRIVAL:
        if (!strcmp(v, "constant")) o->arrival = CLI_ARRIVAL_CONSTANT;
        else if (!strcmp(v, "poisson")) o->arrival = CLI_ARRIVAL_POISSON;
        else return cli_usage_error(o->cmd, "%s '%s': expected constant or poisson", opt, v);
        break;
    case O_MAXBATCH:
        if (parse_int_list(v, o->max_batch, &o->n_max_batch))
            return cli_usage_error(o->cmd, "%s '%s': expected N or N,M,... (0 to 65536, at most "
                                   "16 values)", opt, v);
        break;
    case O_DELAY:
        if (parse_i64(v, 0, &o->max_queue_delay_us))
            return cli_usage_error(o->cmd, "%s '%s': expected microseconds >= 0", opt, v);
        break;
    case O_INSTANCES:
        if (parse_i64(v, 1, &n) || n > 64)
            return cli_usage_error(o->cmd, "%s '%s': expected 1 to 64", opt, v);
        o->instances = (int)n;
        break;
    case O_INTERVAL:
        if (parse_f64(v, 0.0, &o->interval_ms) || o->interval_ms > 3600e3)
            return cli_usage_error(o->cmd, "%s '%s': expected milliseconds > 0", opt, v);
        break;
    case O_STABILITY:
        if (parse_f64(v, 0.0, &o->stability_pct) || o->stability_pct > 1000)
            return cli_usage_error(o->cmd, "%s '%s': expected a percentage > 0", opt, v);
        break;
    case O_TRIALS:
        if (parse_i64(v, 3, &n) || n > 10000)
            return cli_usage_error(o->cmd, "%s '%s': expected N >= 3", opt, v);
        o->max_trials = (int)n;
        break;
    case O_CSV: o->csv = v; break;
    default: return -1;
    }
    o->load_flag_given = true;
    return 0;
}

static int find_opt(const char *name) {
    for (int k = 0; k < N_OPTS; k++)
        if ((opt_table[k].sname && !strcmp(name, opt_table[k].sname)) ||
            !strcmp(name, opt_table[k].lname))
            return k;
    return -1;
}

/* Splits "NAME=REST" at the first or the last '=': -i splits at the first (file names may
 * contain '='), --shape and --dim at the last (values never do). */
static char *split_eq(char *s, int last) {
    char *eq = last ? strrchr(s, '=') : strchr(s, '=');
    if (!eq) return NULL;
    *eq = '\0';
    return eq + 1;
}

static int set_value_opt(cli_opts *o, opt_id id, const char *opt, char *v) {
    int64_t n;
    switch (id) {
    case O_INPUT: {
        char *path = split_eq(v, 0);
        o->files[o->n_files++] = (cli_file_arg){path ? v : NULL, path ? path : v};
        if (path && !*v) return cli_usage_error(o->cmd, "%s: empty input name", opt);
        return 0;
    }
    case O_SHAPE: {
        cli_shape_arg *sh = &o->shapes[o->n_shapes++];
        char *dims = split_eq(v, 1);
        sh->name = v;
        if (!dims || parse_dims(dims, sh))
            return cli_usage_error(o->cmd, "%s '%s%s%s': expected NAME=D0xD1x... (up to %d "
                                   "non-negative dims)", opt, v, dims ? "=" : "",
                                   dims ? dims : "", CINFER_MAX_RANK);
        return 0;
    }
    case O_DIM: {
        cli_dim_arg *d = &o->dims[o->n_dims++];
        char *val = split_eq(v, 1);
        d->symbol = v;
        if (!val || !*v || parse_i64(val, 0, &d->value))
            return cli_usage_error(o->cmd, "%s '%s': expected SYMBOL=VALUE with VALUE >= 0", opt,
                                   v);
        return 0;
    }
    case O_OUTDIR: o->out_dir = v; return 0;
    case O_PRECISION:
        if (!strcmp(v, "fp32")) o->precision = CINFER_PRECISION_FP32;
        else if (!strcmp(v, "tf32")) o->precision = CINFER_PRECISION_TF32;
        else if (!strcmp(v, "fp16")) o->precision = CINFER_PRECISION_FP16;
        else if (!strcmp(v, "bf16")) o->precision = CINFER_PRECISION_BF16;
        else if (!strcmp(v, "stored")) o->precision = CINFER_PRECISION_STORED;
        else return cli_usage_error(o->cmd, "%s '%s': expected fp32, tf32, fp16, bf16 or stored",
                                    opt, v);
        return 0;
    case O_FP32_OPS:
        if (!*v || *v == ',' || strstr(v, ",,"))
            return cli_usage_error(o->cmd, "%s '%s': expected OP[,OP...] (op types)", opt, v);
        o->fp32_ops = v;
        return 0;
    case O_IO:
        if (strcmp(v, "host") && strcmp(v, "device"))
            return cli_usage_error(o->cmd, "%s '%s': expected host or device", opt, v);
        o->device_io = !strcmp(v, "device");
        return 0;
    case O_DEVICE:
        if (!strcmp(v, "auto")) o->device = CINFER_DEVICE_AUTO;
        else if (!strcmp(v, "cpu")) o->device = CINFER_DEVICE_CPU;
        else if (!strcmp(v, "cuda") || !strcmp(v, "gpu")) o->device = CINFER_DEVICE_CUDA;
        else return cli_usage_error(o->cmd, "%s '%s': expected auto, cpu or cuda", opt, v);
        return 0;
    case O_THREADS:
        if (parse_i64(v, 0, &n) || n > 4096)
            return cli_usage_error(o->cmd, "%s '%s': expected a count >= 0", opt, v);
        o->threads = (int)n;
        return 0;
    default: break;
    }
    return -1; /* not handled here */
}

static int set_value_opt2(cli_opts *o, opt_id id, const char *opt, const char *v) {
    int64_t n;
    switch (id) {
    case O_SEED:
        if (parse_i64(v, 0, &n)) return cli_usage_error(o->cmd, "%s '%s': expected N >= 0", opt, v);
        o->seed = (uint64_t)n;
        o->seed_given = true;
        return 0;
    case O_BATCH:
        if (parse_i64(v, 1, &o->batch))
            return cli_usage_error(o->cmd, "%s '%s': expected N >= 1", opt, v);
        return 0;
    case O_WARMUP:
        if (parse_i64(v, 0, &n) || n > 1000000)
            return cli_usage_error(o->cmd, "%s '%s': expected N >= 0", opt, v);
        o->warmup = (int)n;
        return 0;
    case O_ITERS:
        if (parse_i64(v, 1, &o->iterations))
            return cli_usage_error(o->cmd, "%s '%s': expected N >= 1", opt, v);
        return 0;
    case O_DURATION:
        if (parse_f64(v, 0.0, &o->duration) || o->duration > 86400.0)
            return cli_usage_error(o->cmd, "%s '%s': expected seconds > 0", opt, v);
        o->duration_given = true;
        return 0;
    default: {
        int rc = set_load_opt(o, id, opt, v);
        return rc >= 0 ? rc : cli_usage_error(o->cmd, "internal: unhandled option %s", opt);
    }
    }
}

/* Handles argv[*i], an option; advances *i past its value. */
static int parse_option(int argc, char **argv, int *i, unsigned allowed, cli_opts *o) {
    char *arg = argv[*i], *val = NULL;
    char name[64];
    snprintf(name, sizeof name, "%s", arg);
    if (!strncmp(arg, "--", 2) && strchr(arg, '=')) { /* --opt=value */
        size_t n = (size_t)(strchr(arg, '=') - arg);
        if (n < sizeof name) name[n] = '\0';
        val = strchr(arg, '=') + 1;
    }
    int k = find_opt(name);
    if (k < 0) return cli_usage_error(o->cmd, "unknown option '%s' for '%s'", name, o->cmd);
    if (opt_table[k].mask && !(opt_table[k].mask & allowed))
        return cli_usage_error(o->cmd, "option '%s' is not valid for '%s'", name, o->cmd);
    if (!opt_table[k].has_value) {
        if (val) return cli_usage_error(o->cmd, "option '%s' takes no value", name);
        if (opt_table[k].id == O_JSON) o->json = true;
        else if (opt_table[k].id == O_VERBOSE) o->verbose = true;
        else if (opt_table[k].id == O_NO_FUSION) o->no_fusion = true;
        else if (opt_table[k].id == O_NO_GRAPHS) o->no_cuda_graphs = true;
        else if (opt_table[k].id == O_NO_NHWC) o->no_nhwc = true;
        else o->help = true;
        return 0;
    }
    if (!val) {
        if (*i + 1 >= argc) return cli_usage_error(o->cmd, "option '%s' needs a value", name);
        val = argv[++*i];
    }
    int rc = set_value_opt(o, opt_table[k].id, name, val);
    return rc >= 0 ? rc : set_value_opt2(o, opt_table[k].id, name, val);
}

static int check_opts(cli_opts *o) {
    if (!o->model) return cli_usage_error(o->cmd, "'%s' needs a MODEL file", o->cmd);
    if (o->iterations && o->duration_given)
        return cli_usage_error(o->cmd, "give --iterations or --duration, not both");
    if (o->device_io && o->n_levels)
        return cli_usage_error(o->cmd, "--io device times cinfer_model_run only, not the "
                               "scheduler's load generator (--concurrency, --request-rate)");
    if (o->load_flag_given && !o->n_levels)
        return cli_usage_error(o->cmd, "the batcher, window and --csv options need "
                               "--concurrency or --request-rate");
    if (o->n_levels && (o->iterations || o->duration_given))
        return cli_usage_error(o->cmd, "--iterations and --duration are for the single-request "
                               "mode; with --concurrency or --request-rate use "
                               "--measurement-interval and --max-trials");
    return 0;
}

int cli_parse(int argc, char **argv, int first, unsigned allowed, cli_opts *o) {
    memset(o, 0, sizeof *o);
    o->cmd = argv[first - 1];
    o->device = CINFER_DEVICE_AUTO;
    o->precision = CINFER_PRECISION_STORED;
    o->warmup = 5;
    o->duration = 5.0;
    o->interval_ms = 1000.0;
    o->stability_pct = 10.0;
    o->max_trials = 10;
    o->files = cinfer__calloc((size_t)argc, sizeof *o->files);
    o->shapes = cinfer__calloc((size_t)argc, sizeof *o->shapes);
    o->dims = cinfer__calloc((size_t)argc, sizeof *o->dims);
    o->levels = cinfer__calloc(MAX_LEVELS, sizeof *o->levels);
    o->max_batch = cinfer__calloc(16, sizeof *o->max_batch);
    if (!o->files || !o->shapes || !o->dims || !o->levels || !o->max_batch)
        return cli_fail(CINFER_OUT_OF_MEMORY, "out of memory");
    bool only_positional = false;
    for (int i = first; i < argc; i++) {
        char *arg = argv[i];
        if (!only_positional && !strcmp(arg, "--")) {
            only_positional = true;
        } else if (!only_positional && arg[0] == '-' && arg[1]) {
            int rc = parse_option(argc, argv, &i, allowed, o);
            if (rc) return rc;
        } else if (!o->model) {
            o->model = arg;
        } else {
            return cli_usage_error(o->cmd, "unexpected argument '%s'", arg);
        }
    }
    if (o->help) {
        cli_print_usage(o->cmd, 0);
        return -1;
    }
    return check_opts(o);
}

void cli_opts_free(cli_opts *o) {
    cinfer__free(o->files);
    cinfer__free(o->shapes);
    cinfer__free(o->dims);
    cinfer__free(o->levels);
    cinfer__free(o->max_batch);
    o->files = NULL;
    o->shapes = NULL;
    o->dims = NULL;
    o->levels = NULL;
    o->max_batch = NULL;
}

/* ---- Runtime and model ----------------------------------------------------------------- */

int cli_load(const cli_opts *o, cinfer_runtime **rt, cinfer_model **model) {
    cinfer_runtime_options ro;
    cinfer_runtime_options_init(&ro);
    ro.device = o->device;
    ro.num_threads = o->threads;
    ro.log_fn = cli_log;
    ro.log_level = o->verbose ? CINFER_LOG_INFO : CINFER_LOG_WARN;
    *rt = NULL;
    *model = NULL;
    cinfer_status s = cinfer_runtime_create(&ro, rt);
    if (s != CINFER_OK) return cli_fail_api(s);
    cinfer_model_options mo;
    cinfer_model_options_init(&mo);
    mo.fuse = !o->no_fusion;
    mo.cuda_graphs = !o->no_cuda_graphs;
    mo.precision = o->precision;
    mo.fp32_ops = o->fp32_ops;
    mo.channels_last = !o->no_nhwc;
    s = cinfer_model_load(*rt, o->model, &mo, model);
    if (s != CINFER_OK) {
        int rc = cli_fail_api(s);
        cinfer_runtime_destroy(*rt);
        *rt = NULL;
        return rc;
    }
    return 0;
}

/* ---- Input tensors ----------------------------------------------------------------------- */

/* splitmix64: tiny, seedable and plenty for test inputs; one stream over the inputs in
 * declared order, so a seed reproduces every input. */
static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) * 0x1.0p-53; }

static bool has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcasecmp(s + n - m, suffix);
}

/* Loads a .npy or TensorProto .pb file: by extension, else by sniffing the .npy magic. */
static cinfer_status load_tensor_file(const char *path, cinfer_tensor *t, cinfer__err *err) {
    void *buf;
    size_t size;
    CINFER_TRY(cinfer__read_file(path, &buf, &size, err));
    bool npy = has_suffix(path, ".npy") ||
               (!has_suffix(path, ".pb") && size >= 6 && !memcmp(buf, "\x93NUMPY", 6));
    cinfer_status s = npy ? cinfer__npy_parse(buf, size, t, err)
                          : cinfer__onnx_read_tensor(buf, size, t, NULL, err);
    cinfer__free(buf);
    if (s != CINFER_OK) cinfer__err_prefix(err, "%s", path);
    return s;
}

static int find_input(const cinfer_value_info *info, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(info[i].name, name)) return (int)i;
    return -1;
}

static int no_such_input(const char *opt, const char *name, const cinfer_value_info *info,
                         size_t n) {
    char list[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s'%s'", i ? ", " : "",
                                 info[i].name);
    return cli_fail(CINFER_INVALID_ARGUMENT, "%s: the model has no input named '%s' (inputs: %s)",
                    opt, name, n ? list : "none");
}

/* Loads every -i file into in->t[] (named, or the next free input in declared order). */
static int load_files(const cli_opts *o, const cinfer_value_info *info, cli_inputs *in) {
    size_t next = 0;
    for (int k = 0; k < o->n_files; k++) {
        const cli_file_arg *f = &o->files[k];
        int idx;
        if (f->name) {
            idx = find_input(info, in->n, f->name);
            if (idx < 0) return no_such_input("-i", f->name, info, in->n);
        } else {
            while (next < in->n && in->t[next].data) next++;
            if (next == in->n)
                return cli_fail(CINFER_INVALID_ARGUMENT, "-i %s: the model has only %zu inputs",
                                f->path, in->n);
            idx = (int)next;
        }
        if (in->t[idx].data)
            return cli_fail(CINFER_INVALID_ARGUMENT, "-i: input '%s' is given twice",
                            info[idx].name);
        cinfer__err err;
        cinfer_status s = load_tensor_file(f->path, &in->t[idx], &err);
        if (s != CINFER_OK) return cli_fail(s, "input '%s': %s", info[idx].name, err.msg);
    }
    return 0;
}

/* --shape names an existing input not read from a file; --dim names a symbol of an input. */
static int check_shape_args(const cli_opts *o, const cinfer_value_info *info, cli_inputs *in) {
    for (int k = 0; k < o->n_shapes; k++) {
        int idx = find_input(info, in->n, o->shapes[k].name);
        if (idx < 0) return no_such_input("--shape", o->shapes[k].name, info, in->n);
        if (in->t[idx].data)
            return cli_fail(CINFER_INVALID_ARGUMENT,
                            "--shape %s: the input is read from a file, which sets its shape",
                            o->shapes[k].name);
    }
    for (int k = 0; k < o->n_dims; k++) {
        bool found = false;
        for (size_t i = 0; i < in->n && !found; i++)
            for (int d = 0; d < info[i].rank && !found; d++)
                found = info[i].dim_names[d] && !strcmp(info[i].dim_names[d], o->dims[k].symbol);
        if (!found)
            return cli_fail(CINFER_INVALID_ARGUMENT,
                            "--dim %s: no model input has a dimension named '%s'",
                            o->dims[k].symbol, o->dims[k].symbol);
    }
    return 0;
}

static const cli_shape_arg *find_shape(const cli_opts *o, const char *name) {
    for (int k = o->n_shapes - 1; k >= 0; k--)
        if (!strcmp(o->shapes[k].name, name)) return &o->shapes[k];
    return NULL;
}

static const cli_dim_arg *find_dim(const cli_opts *o, const char *symbol) {
    for (int k = o->n_dims - 1; k >= 0; k--)
        if (symbol && !strcmp(o->dims[k].symbol, symbol)) return &o->dims[k];
    return NULL;
}

/* The shape of a random input: --shape, else declared dims with --dim, --batch (first dim)
 * and 1 for the remaining symbolic ones. */
/* Appends symbol `name` to the guessed list (once; "..." when full). */
static void note_guess(char *list, size_t cap, const char *name) {
    size_t len = strlen(list), n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ',' || !p[n])) return;
    if (len + n + 6 >= cap) {
        if (!strstr(list, "...")) snprintf(list + len, cap - len, "%s...", len ? ", " : "");
        return;
    }
    snprintf(list + len, cap - len, "%s%s", len ? ", " : "", name);
}

static int random_shape(const cli_opts *o, const cinfer_value_info *vi, cinfer_tensor *t,
                        cli_inputs *in) {
    const cli_shape_arg *sh = find_shape(o, vi->name);
    if (sh) {
        if (vi->rank >= 0 && sh->rank != vi->rank)
            return cli_fail(CINFER_INVALID_ARGUMENT, "--shape %s: %d dims given, the input has %d",
                            vi->name, sh->rank, vi->rank);
        for (int d = 0; d < sh->rank; d++)
            if (vi->rank >= 0 && vi->dims[d] >= 0 && vi->dims[d] != sh->dims[d])
                return cli_fail(CINFER_INVALID_ARGUMENT,
                                "--shape %s: dimension %d is %lld in the model, not %lld",
                                vi->name, d, (long long)vi->dims[d], (long long)sh->dims[d]);
        t->rank = sh->rank;
        memcpy(t->dims, sh->dims, sizeof t->dims);
        return 0;
    }
    if (vi->rank < 0)
        return cli_fail(CINFER_INVALID_ARGUMENT,
                        "input '%s' has no declared shape: give --shape %s=D0xD1x... or -i",
                        vi->name, vi->name);
    t->rank = vi->rank;
    for (int d = 0; d < vi->rank; d++) {
        const cli_dim_arg *da = find_dim(o, vi->dim_names[d]);
        t->dims[d] = vi->dims[d] >= 0 ? vi->dims[d]
                     : da             ? da->value
                     : d == 0 && o->batch ? o->batch
                                          : 1;
        if (vi->dims[d] < 0 && !da && !(d == 0 && o->batch) && d > 0 && vi->dim_names[d])
            note_guess(in->guessed, sizeof in->guessed, vi->dim_names[d]);
    }
    return 0;
}

/* What an integer input's name says it holds: an attention mask (1 = keep, 0 = padding; BERT
 * turns it into -10000 * (1 - mask), which ids in [0, 100) would overflow in float16) or
 * token-type / segment ids (0 or 1: BERT has two), else ids or indices in [0, 100). */
typedef enum { INT_IDS, INT_MASK, INT_BINARY } int_kind;

static bool name_has(const char *name, const char *part) {
    size_t n = strlen(part);
    for (const char *s = name; *s; s++) {
        size_t i = 0;
        while (i < n && s[i] && tolower((unsigned char)s[i]) == part[i]) i++;
        if (i == n) return true;
    }
    return false;
}

static int_kind int_kind_of(const char *name) {
    if (name_has(name, "mask")) return INT_MASK;
    if (name_has(name, "token_type") || name_has(name, "segment")) return INT_BINARY;
    return INT_IDS;
}

/* Integer value k of element i (of n, rows of `row` elements) for its kind: a mask keeps a
 * random prefix of each row (at least one element; the first row whole), as padded batches
 * do. */
static int64_t int_value(int_kind kind, int64_t i, int64_t row, uint64_t *rng, int64_t *keep) {
    if (kind == INT_BINARY) return (int64_t)(rng_next(rng) & 1);
    if (kind == INT_IDS) return (int64_t)(rng_next(rng) % 100);
    if (row < 1) return 1;
    if (i % row == 0) *keep = i == 0 ? row : 1 + (int64_t)(rng_next(rng) % (uint64_t)row);
    return i % row < *keep ? 1 : 0;
}

/* Floats uniform in [-1, 1); integers as their name says (int_kind_of: masks 1/0, token types
 * 0/1, else uniform in [0, 100) so that they are valid token ids or indices for most models);
 * bools 0/1. */
static void fill_random(cinfer_tensor *t, int64_t n, int_kind kind, uint64_t *rng) {
    int64_t row = t->rank ? t->dims[t->rank - 1] : 1, keep = 0;
    for (int64_t i = 0; i < n; i++) {
        double u = rng_unit(rng) * 2.0 - 1.0;
        int64_t k = int_value(kind, i, row, rng, &keep);
        switch (t->dtype) {
        case CINFER_DTYPE_FLOAT: ((float *)t->data)[i] = (float)u; break;
        case CINFER_DTYPE_DOUBLE: ((double *)t->data)[i] = u; break;
        case CINFER_DTYPE_FLOAT16:
            ((uint16_t *)t->data)[i] = cinfer__float_to_half((float)u);
            break;
        case CINFER_DTYPE_BFLOAT16:
            ((uint16_t *)t->data)[i] = cinfer__float_to_bf16((float)u);
            break;
        case CINFER_DTYPE_INT64: ((int64_t *)t->data)[i] = k; break;
        case CINFER_DTYPE_UINT64: ((uint64_t *)t->data)[i] = (uint64_t)k; break;
        case CINFER_DTYPE_INT32: ((int32_t *)t->data)[i] = (int32_t)k; break;
        case CINFER_DTYPE_UINT32: ((uint32_t *)t->data)[i] = (uint32_t)k; break;
        case CINFER_DTYPE_INT16: ((int16_t *)t->data)[i] = (int16_t)k; break;
        case CINFER_DTYPE_UINT16: ((uint16_t *)t->data)[i] = (uint16_t)k; break;
        case CINFER_DTYPE_INT8: ((int8_t *)t->data)[i] = (int8_t)k; break;
        case CINFER_DTYPE_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)k; break;
        case CINFER_DTYPE_BOOL: ((uint8_t *)t->data)[i] = (uint8_t)(k & 1); break;
        default: break;
        }
    }
}

static int make_random(const cli_opts *o, const cinfer_value_info *vi, uint64_t seed,
                       uint64_t *rng, bool quiet, cinfer_tensor *t, cli_inputs *in) {
    size_t esize = cinfer_dtype_size(vi->dtype);
    if (!esize)
        return cli_fail(CINFER_UNSUPPORTED,
                        "input '%s': cannot make random %s data: give -i %s=FILE", vi->name, cinfer_dtype_name(vi->dtype), vi->name);
    t->dtype = vi->dtype;
    int rc = random_shape(o, vi, t, in);
    if (rc) return rc;
    int64_t n = 1;
    for (int d = 0; d < t->rank; d++) {
        if (t->dims[d] && n > (INT64_MAX / 16) / t->dims[d] / (int64_t)esize)
            return cli_fail(CINFER_INVALID_ARGUMENT, "input '%s': the shape is too large",
                            vi->name);
        n *= t->dims[d];
    }
    t->data = cinfer__aligned_alloc((size_t)n * esize);
    if (!t->data)
        return cli_fail(CINFER_OUT_OF_MEMORY, "input '%s': out of memory for %lld bytes", vi->name,
                        (long long)n * (long long)esize);
    int_kind kind = int_kind_of(vi->name);
    fill_random(t, n, kind, rng);
    if (!quiet) {
        char shape[160];
        bool is_int = cinfer__dtype_is_int(t->dtype);
        const char *what = kind == INT_MASK     ? ", 1s then 0s in each row as for an attention mask"
                           : kind == INT_BINARY ? ", values 0 or 1 as for token types"
                                                : ", values in [0, 100) as for token ids / indices";
        fprintf(stderr, "cinfer: input '%s' random (seed %llu): %s %s%s\n", vi->name,
                (unsigned long long)seed, cinfer_dtype_name(t->dtype),
                cinfer__shape_str(t->rank, t->dims, shape, sizeof shape), is_int ? what : "");
    }
    return 0;
}

/* Rows per run for throughput: the leading dim of the first input whose first dim is
 * symbolic (the batch), else of the first input, else 1. */
static int64_t batch_rows(const cinfer_value_info *info, const cli_inputs *in) {
    for (size_t i = 0; i < in->n; i++)
        if (info[i].rank > 0 && info[i].dims[0] < 0 && in->t[i].rank > 0) return in->t[i].dims[0];
    if (in->n && in->t[0].rank > 0) return in->t[0].dims[0];
    return 1;
}

static uint64_t clock_seed(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
    return rng_next(&s) % 1000000000ull; /* short enough to retype */
}

int cli_make_inputs(const cli_opts *o, cinfer_model *model, bool quiet, cli_inputs *in) {
    memset(in, 0, sizeof *in);
    in->n = cinfer_model_input_count(model);
    in->t = cinfer__calloc(in->n, sizeof *in->t);
    in->names = cinfer__calloc(in->n, sizeof *in->names);
    cinfer_value_info *info = cinfer__calloc(in->n, sizeof *info);
    int rc = 0;
    if (!in->t || !in->names || !info) {
        rc = cli_fail(CINFER_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < in->n; i++) {
        cinfer_status s = cinfer_model_input_info(model, i, &info[i]);
        if (s != CINFER_OK) {
            rc = cli_fail_api(s);
            goto done;
        }
        in->names[i] = info[i].name;
    }
    if ((rc = load_files(o, info, in)) || (rc = check_shape_args(o, info, in))) goto done;
    uint64_t seed = o->seed_given ? o->seed : clock_seed(), rng = seed;
    bool batch_used = false;
    for (size_t i = 0; i < in->n && !rc; i++) {
        if (in->t[i].data) continue;
        batch_used |= info[i].rank > 0 && info[i].dims[0] < 0 && !find_shape(o, info[i].name);
        rc = make_random(o, &info[i], seed, &rng, quiet, &in->t[i], in);
    }
    if (!rc && o->batch && !batch_used)
        fprintf(stderr, "cinfer: warning: --batch %lld has no effect: no random input has a "
                        "symbolic first dimension\n", (long long)o->batch);
    in->batch = batch_rows(info, in);
done:
    cinfer__free(info);
    return rc;
}

int cli_fail_run(cinfer_status s, const cli_inputs *in) {
    int rc = cli_fail_api(s);
    if (in->guessed[0] && (s == CINFER_INVALID_INPUT || s == CINFER_INVALID_ARGUMENT))
        fprintf(stderr, "cinfer: hint: random inputs set the symbolic dims %s to 1 (the batch "
                        "dim aside); give real sizes with --dim NAME=VALUE or --shape\n",
                in->guessed);
    return rc;
}

void cli_inputs_free(cli_inputs *in) {
    for (size_t i = 0; in->t && i < in->n; i++) cinfer__tensor_free_data(&in->t[i]);
    cinfer__free(in->t);
    cinfer__free((void *)in->names);
    memset(in, 0, sizeof *in);
}
