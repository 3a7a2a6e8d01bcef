/* Latency statistics for `cinfer bench` (percentiles as numpy.percentile computes them) and
 * human-readable sizes. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double cli_percentile_sorted(const double *v, size_t n, double p) {
    if (n == 0) return 0.0;
    if (p <= 0.0) return v[0];
    if (p >= 100.0) return v[n - 1];
    /* Linear interpolation between the closest ranks: rank = p/100 * (n-1). */
    double rank = p / 100.0 * (double)(n - 1);
    size_t lo = (size_t)rank;
    double frac = rank - (double)lo;
    if (lo + 1 >= n) return v[n - 1];
    return v[lo] + (v[lo + 1] - v[lo]) * frac;
}

void cli_stats_compute(double *v, size_t n, cli_stats *out) {
    qsort(v, n, sizeof *v, cmp_double);
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += v[i];
    out->min = n ? v[0] : 0.0;
    out->max = n ? v[n - 1] : 0.0;
    out->mean = n ? sum / (double)n : 0.0;
    out->p50 = cli_percentile_sorted(v, n, 50.0);
    out->p90 = cli_percentile_sorted(v, n, 90.0);
    out->p99 = cli_percentile_sorted(v, n, 99.0);
}

char *cli_fmt_bytes(double bytes, char *buf, size_t len) {
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < 4) {
        bytes /= 1024.0;
        u++;
    }
    snprintf(buf, len, u ? "%.2f %s" : "%.0f %s", bytes, units[u]);
    return buf;
}

char *cli_fmt_count(double n, char *buf, size_t len) {
    static const char *units[] = {"", "K", "M", "G", "T", "P"};
    int u = 0;
    while (n >= 1000.0 && u < 5) {
        n /= 1000.0;
        u++;
    }
    snprintf(buf, len, u ? "%.2f %s" : "%.0f%s", n, units[u]);
    return buf;
}
