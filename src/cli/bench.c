/*
** `eryx bench [--json] [--runs N]`: in-process measurements of the library itself.
** Sandbox creation and a trivial execute are timed over many runs (p50/p99), the
** CPU-bound loop of the benchmarks once per run. Output: a table, or one JSON object
** with stable snake_case keys whose names carry their units.
*/
#include "bench.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "eryx.h"

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted samples. */
static uint64_t pct(const uint64_t *sorted, size_t n, double p) {
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return sorted[rank - 1];
}

static const char LOOP[] = "for i in range(10_000_000): x = i * i";

int eryx_cli_bench(eryx_builder *b, int json, int runs) {
    if (runs < 2) runs = 2;
    uint64_t *create = calloc((size_t)runs, sizeof *create), *exec = calloc((size_t)runs * 10, sizeof *exec);
    eryx_sandbox *s = NULL;
    int rc = 3;
    if (!create || !exec) goto out;
    /* The first creation in a process loads the compiled module; reported apart. */
    uint64_t t0 = now_ns();
    eryx_status st = eryx_sandbox_new(b, &s);
    uint64_t first_create = now_ns() - t0;
    if (st != ERYX_OK) {
        fprintf(stderr, "eryx bench: %s: %s\n", eryx_status_message(st), eryx_builder_errmsg(b));
        goto out;
    }
    eryx_sandbox_free(s);
    s = NULL;
    for (int i = 0; i < runs; i++) {
        t0 = now_ns();
        st = eryx_sandbox_new(b, &s);
        create[i] = now_ns() - t0;
        if (st != ERYX_OK) {
            fprintf(stderr, "eryx bench: %s\n", eryx_builder_errmsg(b));
            goto out;
        }
        if (i < runs - 1) {
            eryx_sandbox_free(s);
            s = NULL;
        }
    }
    size_t nexec = (size_t)runs * 10;
    for (size_t i = 0; i < nexec; i++) {
        eryx_result *r = NULL;
        t0 = now_ns();
        st = eryx_sandbox_execute(s, "pass", 4, &r);
        exec[i] = now_ns() - t0;
        eryx_result_free(r);
        if (st != ERYX_OK) {
            fprintf(stderr, "eryx bench: execute: %s\n", eryx_sandbox_errmsg(s));
            goto out;
        }
    }
    t0 = now_ns();
    st = eryx_sandbox_execute(s, LOOP, sizeof LOOP - 1, NULL);
    uint64_t loop = now_ns() - t0;
    if (st != ERYX_OK) {
        fprintf(stderr, "eryx bench: loop: %s\n", eryx_sandbox_errmsg(s));
        goto out;
    }
    qsort(create, (size_t)runs, sizeof *create, cmp_u64);
    qsort(exec, nexec, sizeof *exec, cmp_u64);
    if (json) {
        printf("{\"eryx_version\": \"%s\", \"runs_create\": %d, \"runs_execute\": %zu, "
               "\"first_create_us\": %.1f, \"create_p50_us\": %.1f, \"create_p99_us\": %.1f, "
               "\"execute_p50_us\": %.1f, \"execute_p99_us\": %.1f, \"cpu_loop_10m_ms\": %.1f}\n",
               eryx_version(), runs, nexec, first_create / 1e3, pct(create, (size_t)runs, 50) / 1e3,
               pct(create, (size_t)runs, 99) / 1e3, pct(exec, nexec, 50) / 1e3, pct(exec, nexec, 99) / 1e3,
               loop / 1e6);
    } else {
        printf("eryx %s in-process benchmark\n", eryx_version());
        printf("  %-40s %12.1f us\n", "first sandbox in the process", first_create / 1e3);
        printf("  %-40s %12.1f us   (p99 %.1f us, %d runs)\n", "sandbox creation p50", pct(create, (size_t)runs, 50) / 1e3,
               pct(create, (size_t)runs, 99) / 1e3, runs);
        printf("  %-40s %12.1f us   (p99 %.1f us, %zu runs)\n", "execute('pass') p50", pct(exec, nexec, 50) / 1e3,
               pct(exec, nexec, 99) / 1e3, nexec);
        printf("  %-40s %12.1f ms\n", "10M-iteration loop (x = i * i)", loop / 1e6);
    }
    rc = 0;
out:
    eryx_sandbox_free(s);
    free(create);
    free(exec);
    return rc;
}
