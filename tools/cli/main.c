/* The cinfer program: dispatches subcommands, prints usage, maps statuses to exit codes. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/error.h"

static const char usage_main[] =
    "usage: cinfer <command> [options]\n"
    "\n"
    "commands:\n"
    "  run MODEL      run a model once on given or random inputs, print and save the outputs\n"
    "  inspect MODEL  print inputs, outputs, ops, parameters, FLOPs and the memory plan\n"
    "  bench MODEL    measure throughput and latency percentiles\n"
    "  help [CMD]     print this help, or a command's\n"
    "  --version      print the version\n"
    "\n"
    "exit codes: 0 ok, 1 failure (device, memory, internal), 2 bad usage or bad model/input\n"
    "file, 3 the model needs something cinfer does not support.\n"
    "See docs/cli.md.\n";

static const char usage_inputs[] =
    "  -i NAME=FILE       input NAME from a .npy or ONNX TensorProto .pb file (-i FILE: the\n"
    "                     next input in declared order); other inputs get seeded random data\n"
    "  --shape NAME=AxBxC the whole shape of random input NAME ('--shape NAME=' for a scalar)\n"
    "  --dim SYMBOL=N     the value of symbolic dimension SYMBOL (others are 1)\n";

static const char usage_runtime[] =
    "  --device D         auto (default: a GPU if usable, else the CPU), cpu or cuda\n"
    "  --threads N        CPU threads (default: all cores)\n"
    "  --no-fusion        keep the graph op by op (no fused MatMul+bias+GELU, Add+LayerNorm..)\n"
    "  --no-cuda-graphs   CUDA: one launch per GPU step instead of replaying captured graphs\n"
    "  --precision P      CUDA: fp32, tf32 (GEMMs, convs), fp16 or bf16 (activations in 16\n"
    "                     bits between the ops that have 16-bit kernels, fp32 math inside),\n"
    "                     or stored (default: fp16 or bf16 for a model stored in it, else\n"
    "                     fp32); the CPU computes in fp32 whatever P\n"
    "  --fp32-ops OP,...  CUDA: op types kept in fp32 whatever --precision\n"
    "  --no-nhwc          CUDA fp16/bf16: keep 4-D activations NCHW (default: channels last\n"
    "                     between convolutions)\n"
    "  -v, --verbose      also print the runtime's info messages\n";

void cli_print_usage(const char *cmd, int to_stderr) {
    FILE *f = to_stderr ? stderr : stdout;
    if (!cmd) {
        fputs(usage_main, f);
    } else if (!strcmp(cmd, "run")) {
        fprintf(f, "usage: cinfer run MODEL [options]\n\n%s"
                   "  -o DIR             write each output to DIR/NAME.npy\n"
                   "  --io host|device   device: inputs and outputs in GPU memory (CUDA only)\n"
                   "  --seed N           seed of the random inputs (default: from the clock)\n%s",
                usage_inputs, usage_runtime);
    } else if (!strcmp(cmd, "inspect")) {
        fprintf(f, "usage: cinfer inspect MODEL [--shapes] [options]\n\n"
                   "  --shapes             also print every intermediate value's symbolic shape\n"
                   "%s%s", usage_inputs, usage_runtime);
    } else if (!strcmp(cmd, "bench")) {
        fprintf(f, "usage: cinfer bench MODEL [options]\n\n%s"
                   "  --batch N          leading dimension of inputs whose first dim is symbolic\n"
                   "  --warmup N         untimed runs first (default 5)\n"
                   "  --iterations N     timed runs (default: as many as fit --duration)\n"
                   "  --duration S       seconds of timed runs (default 5)\n"
                   "  --json             print one JSON object on stdout (the rest to stderr)\n"
                   "  --io host|device   device: inputs uploaded once, outputs left on the GPU\n"
                   "  --seed N           seed of the random inputs\n"
                   "load generator (requests through the scheduler; see docs/scheduler.md):\n"
                   "  --concurrency A[:B[:STEP]]  closed loop at each concurrency level\n"
                   "  --request-rate R[,R...]     open loop; --arrival constant|poisson\n"
                   "  --max-batch-size N[,N...]   --max-queue-delay-us US  --instances N\n"
                   "  --measurement-interval MS   --stability-percentage P  --max-trials N\n"
                   "  --csv FILE                  perf_analyzer's columns, one row per level\n%s",
                usage_inputs, usage_runtime);
    } else {
        fputs(usage_main, f);
    }
}

int cli_exit_code(cinfer_status s) {
    switch (s) {
    case CINFER_OK: return CLI_EXIT_OK;
    case CINFER_INVALID_ARGUMENT: case CINFER_INVALID_MODEL: case CINFER_NOT_FOUND:
    case CINFER_IO: case CINFER_INVALID_INPUT: return CLI_EXIT_USAGE;
    case CINFER_UNSUPPORTED: return CLI_EXIT_UNSUPPORTED;
    default: return CLI_EXIT_FAIL;
    }
}

int cli_fail(cinfer_status s, const char *fmt, ...) {
    char msg[CINFER__ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cinfer__set_last_error(msg);
    fprintf(stderr, "cinfer: error: %s\n", cinfer_last_error());
    return cli_exit_code(s);
}

int cli_fail_api(cinfer_status s) {
    const char *msg = cinfer_last_error();
    fprintf(stderr, "cinfer: error: %s\n", msg[0] ? msg : cinfer_status_message(s));
    return cli_exit_code(s);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    char msg[CINFER__ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cinfer__set_last_error(msg);
    fprintf(stderr, "cinfer: error: %s\n", msg);
    fprintf(stderr, "Try 'cinfer help%s%s'.\n", cmd ? " " : "", cmd ? cmd : "");
    return CLI_EXIT_USAGE;
}

void cli_log(cinfer_log_level level, const char *message, void *user) {
    static const char *names[] = {"error", "warn", "info", "debug"};
    const char *name = (unsigned)level < 4 ? names[level] : "log";
    fprintf(stderr, "cinfer: [%s] %s\n", name, message);
}

const char *cli_device_name(cinfer_device d) {
    return d == CINFER_DEVICE_CUDA ? "cuda" : d == CINFER_DEVICE_CPU ? "cpu" : "auto";
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "cinfer: error: no command given\n");
        cli_print_usage(NULL, 1);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("cinfer %s\n", cinfer_version());
        return CLI_EXIT_OK;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        const char *topic = argc > 2 ? argv[2] : NULL;
        if (topic && strcmp(topic, "run") && strcmp(topic, "inspect") && strcmp(topic, "bench"))
            return cli_usage_error(NULL, "no help for unknown command '%s'", topic);
        cli_print_usage(topic, 0);
        return CLI_EXIT_OK;
    }
    if (!strcmp(cmd, "run")) return cli_cmd_run(argc, argv);
    if (!strcmp(cmd, "inspect")) return cli_cmd_inspect(argc, argv);
    if (!strcmp(cmd, "bench")) return cli_cmd_bench(argc, argv);
    return cli_usage_error(NULL, "unknown command '%s'", cmd);
}
