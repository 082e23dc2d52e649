/* bench/bench_run.h: what the C benchmarks of packages share (numpy_sandbox.c,
** pandas_sandbox.c): stop on a failed call with its message, time one execute
** (stopping on a failure), time sandbox creations, print a percentile line.
** Header only, as bench_time.h. */
#ifndef ERYX_BENCH_RUN_H
#define ERYX_BENCH_RUN_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench_time.h"
#include "eryx.h"

/* Sorts v and prints its p50 and p99 after what, padded to width. */
static inline void report(const char *what, int width, double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    printf("%-*s p50 %9.3f ms  p99 %9.3f ms  (%d runs)\n", width, what, v[n / 2], v[n - 1 - n / 100], n);
}

static inline void must(eryx_status st, eryx_builder *b, const char *what) {
    if (st != ERYX_OK) {
        fprintf(stderr, "%s: %s: %s\n", what, eryx_status_name(st), b ? eryx_builder_errmsg(b) : "");
        exit(1);
    }
}

/* One execute of code in s, in milliseconds; exits on a failure. */
static inline double run(eryx_sandbox *s, const char *code) {
    eryx_result *r = NULL;
    double t = now_ms();
    eryx_status st = eryx_sandbox_execute(s, code, strlen(code), &r);
    t = now_ms() - t;
    if (st != ERYX_OK) {
        fprintf(stderr, "execute: %s\n%s\n", eryx_status_name(st), eryx_result_stderr(r, NULL));
        exit(1);
    }
    eryx_result_free(r);
    return t;
}

/* runs creations of a sandbox of b (each freed after), one time per v[i], in ms. */
static inline void time_creations(eryx_builder *b, double *v, int runs) {
    for (int i = 0; i < runs; i++) {
        eryx_sandbox *s = NULL;
        double t = now_ms();
        must(eryx_sandbox_new(b, &s), b, "sandbox");
        v[i] = now_ms() - t;
        eryx_sandbox_free(s);
    }
}

#endif
