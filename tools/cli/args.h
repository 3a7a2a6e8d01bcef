/* Command-line options shared by the cinfer subcommands, and building the input tensors. */
#ifndef CINFER_CLI_ARGS_H
#define CINFER_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cinfer/cinfer.h"

/* Which options a subcommand accepts (bit mask). */
enum {
    OPT_INPUT = 1 << 0,  /* -i NAME=FILE */
    OPT_SHAPE = 1 << 1,  /* --shape NAME=D0xD1, --dim SYMBOL=VALUE */
    OPT_OUTDIR = 1 << 2, /* -o DIR */
    OPT_DEVICE = 1 << 3, /* --device, --threads */
    OPT_SEED = 1 << 4,   /* --seed */
    OPT_BENCH = 1 << 5,  /* --batch --warmup --iterations --duration --json */
    OPT_LOAD = 1 << 6    /* bench's load generator: --concurrency --request-rate ... --csv */
};

/* Arrival process of the open loop (--arrival). */
typedef enum cli_arrival { CLI_ARRIVAL_CONSTANT = 0, CLI_ARRIVAL_POISSON = 1 } cli_arrival;

typedef struct cli_file_arg {
    const char *name; /* NULL: the next input not given by name, in declared order */
    const char *path;
} cli_file_arg;

typedef struct cli_shape_arg {
    const char *name;
    int rank;
    int64_t dims[CINFER_MAX_RANK];
} cli_shape_arg;

typedef struct cli_dim_arg {
    const char *symbol;
    int64_t value;
    bool used;
} cli_dim_arg;

typedef struct cli_opts {
    const char *cmd;   /* "run", "inspect", "bench" */
    const char *model;
    cli_file_arg *files;
    int n_files;
    cli_shape_arg *shapes;
    int n_shapes;
    cli_dim_arg *dims;
    int n_dims;
    const char *out_dir;
    cinfer_device device;
    int threads;
    uint64_t seed;
    bool seed_given;
    bool verbose;
    bool help;
    /* bench */
    int64_t batch;      /* 0: not given */
    int warmup;
    int64_t iterations; /* 0: run for `duration` seconds */
    double duration;
    bool duration_given;
    bool json;
    bool no_fusion;       /* --no-fusion: load without the fusion passes */
    bool no_cuda_graphs;  /* --no-cuda-graphs: one launch per GPU step */
    bool no_nhwc;         /* --no-nhwc: 4-D activations stay NCHW at fp16/bf16 */
    bool device_io;       /* --io device (run, bench): inputs and outputs in device memory */
    cinfer_precision precision; /* --precision: what GPU steps may compute in */
    const char *fp32_ops; /* --fp32-ops: op types kept in fp32, comma-separated */
    /* bench's load generator (bench.c): closed loop at concurrency levels or open loop at
     * request rates, through a scheduler configured by the batcher flags */
    double *levels;      /* --concurrency or --request-rate levels, in order */
    int n_levels;
    bool closed_loop;    /* --concurrency (else --request-rate when n_levels > 0) */
    cli_arrival arrival;
    int *max_batch;      /* --max-batch-size list: one scheduler per value */
    int n_max_batch;
    int64_t max_queue_delay_us;
    int instances;       /* 0: the scheduler's default */
    double interval_ms;  /* --measurement-interval: one window */
    double stability_pct;
    int max_trials;      /* windows per level at most */
    const char *csv;
    bool load_flag_given; /* a batcher or window flag, which needs a load mode */
} cli_opts;

/* Parses argv[first..argc) for subcommand opts->cmd, accepting the options in `allowed`.
 * Returns 0, or the exit code (2) after printing the error. Strings point into argv. */
int cli_parse(int argc, char **argv, int first, unsigned allowed, cli_opts *opts);
void cli_opts_free(cli_opts *opts);

/* Creates the runtime (device, threads, stderr logger) and loads opts->model. Returns 0 or the
 * exit code after printing the error; on failure nothing is left to release. */
int cli_load(const cli_opts *opts, cinfer_runtime **rt, cinfer_model **model);

/* The model's inputs, in declared order, ready for cinfer_model_run. */
typedef struct cli_inputs {
    size_t n;
    cinfer_tensor *t;   /* data owned (aligned alloc) */
    const char **names; /* the model's input names (owned by the model) */
    int64_t batch;      /* rows per run: --batch, else the first input's leading dim, else 1 */
    char guessed[256];  /* symbolic dims set to 1 for want of --dim/--shape ("w, h"), for
                           cli_fail_run's hint */
} cli_inputs;

/* Builds every input: loaded from -i files, else random of the declared shape with --shape,
 * --dim, --batch (bench) and 1 for the remaining symbolic dims. `quiet` suppresses the
 * "random (seed N)" notes. Returns 0 or the exit code after printing the error. */
int cli_make_inputs(const cli_opts *opts, cinfer_model *model, bool quiet, cli_inputs *in);
/* cli_fail_api(s) for a failed run or plan of `in`; when some symbolic dim was guessed as 1
 * (a shape too small for a pooling window, say), also a hint naming it and --dim. */
int cli_fail_run(cinfer_status s, const cli_inputs *in);
void cli_inputs_free(cli_inputs *in);

/* --io device (devio.c): `dev` gets n tensors shaped like `host` whose data is fresh device
 * memory flagged CINFER_TENSOR_DEVICE (empty tensors stay host, data NULL); with `upload` the
 * host bytes are copied in. Returns 0 or the exit code after printing the error (then nothing
 * is left allocated). Free with cli_device_free. */
int cli_device_tensors(cinfer_runtime *rt, const cinfer_tensor *host, size_t n, bool upload,
                       cinfer_tensor *dev);
/* Copies each device tensor's bytes into the same-shaped host tensor's buffer. */
int cli_device_download(cinfer_runtime *rt, const cinfer_tensor *dev, size_t n,
                        cinfer_tensor *host);
void cli_device_free(cinfer_runtime *rt, cinfer_tensor *dev, size_t n);

#endif
