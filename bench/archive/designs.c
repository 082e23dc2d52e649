/*
** bench/archive/designs.c: what one snapshot design costs through the public API, so two
** builds of eryx (design A, a snapshot module per configuration; design B, a bare
** module plus snapshot images) can be compared by linking this against each:
**   - a new configuration: the first sandbox with a setup code never seen before;
**   - sandbox creation, p50/p99 over N runs (warm in-process);
**   - a trivial execute including the reset to the start state, p50/p99.
** usage: designs [N]. Settled: bench/archive/README.md. Built by CMake (target
** bench_designs; bench_designs_<i> for other builds' liberyx.a); build and run both
** with bench/archive/designs.sh.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "eryx.h"

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}
static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    double *t = malloc((size_t)n * sizeof *t);
    eryx_builder *b = eryx_builder_new();
    char setup[128];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(setup, sizeof setup, "tag = %ld%09ld", (long)ts.tv_sec, ts.tv_nsec); /* a new configuration */
    eryx_builder_set_setup_code(b, setup, strlen(setup));
    eryx_sandbox *s = NULL;
    double t0 = now_us();
    if (eryx_sandbox_new(b, &s) != ERYX_OK) {
        fprintf(stderr, "designs: %s\n", eryx_builder_errmsg(b));
        return 1;
    }
    printf("new configuration (first sandbox): %.1f ms\n", (now_us() - t0) / 1e3);
    eryx_sandbox_free(s);
    for (int i = 0; i < n; i++) {
        t0 = now_us();
        eryx_sandbox_new(b, &s);
        t[i] = now_us() - t0;
        if (i < n - 1) eryx_sandbox_free(s);
    }
    qsort(t, (size_t)n, sizeof *t, cmp);
    printf("creation: p50 %.1f us, p99 %.1f us (%d runs)\n", t[n / 2], t[n * 99 / 100], n);
    for (int i = 0; i < n; i++) {
        eryx_result *r = NULL;
        t0 = now_us();
        eryx_sandbox_execute(s, "pass", 4, &r);
        t[i] = now_us() - t0;
        eryx_result_free(r);
    }
    qsort(t, (size_t)n, sizeof *t, cmp);
    printf("execute('pass') with reset: p50 %.1f us, p99 %.1f us (%d runs)\n", t[n / 2], t[n * 99 / 100], n);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    free(t);
    return 0;
}
