/* Shared declarations of the cinfer command-line program: subcommands, errors, statistics. */
#ifndef CINFER_CLI_H
#define CINFER_CLI_H

#include <stddef.h>

#include "cinfer/cinfer.h"

/* Exit codes (docs/cli.md). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,        /* anything else: device, out of memory, internal */
    CLI_EXIT_USAGE = 2,       /* bad usage, bad model or input file */
    CLI_EXIT_UNSUPPORTED = 3  /* the model needs something cinfer does not support */
};

/* The exit code for a failed status. */
int cli_exit_code(cinfer_status s);
/* Prints "cinfer: error: <msg>" to stderr and returns the exit code for s. The message is
 * also recorded as the thread's cinfer_last_error(). */
int cli_fail(cinfer_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "cinfer: error: <cinfer_last_error()>" (or the status message when empty) and returns
 * the exit code for s: for failures of public API calls. */
int cli_fail_api(cinfer_status s);
/* Prints a usage error and a pointer to help; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_print_usage(const char *cmd, int to_stderr);

int cli_cmd_run(int argc, char **argv);
int cli_cmd_inspect(int argc, char **argv);
int cli_cmd_bench(int argc, char **argv);

/* Summary statistics of latencies (stats.c). p in [0, 100]; linear interpolation between the
 * closest ranks of the sorted samples, as numpy.percentile does. */
typedef struct cli_stats {
    double min, max, mean, p50, p90, p99;
} cli_stats;
/* Sorts `v` in place and fills *out; n must be > 0. */
void cli_stats_compute(double *v, size_t n, cli_stats *out);
double cli_percentile_sorted(const double *v, size_t n, double p);

/* "1.23 MiB" style sizes and "1.2 G" style counts into buf. Return buf. */
char *cli_fmt_bytes(double bytes, char *buf, size_t len);
char *cli_fmt_count(double n, char *buf, size_t len);

const char *cli_device_name(cinfer_device d);
/* The runtime's log callback: "cinfer: [warn] message" on stderr. */
void cli_log(cinfer_log_level level, const char *message, void *user);

#endif
