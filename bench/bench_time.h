/* bench/bench_time.h: the clock and the sort the C benchmarks share (header only:
** each benchmark is one file, one target of bench/CMakeLists.txt; the archived
** ones in bench/archive/ include it as "../bench_time.h"). */
#ifndef ERYX_BENCH_TIME_H
#define ERYX_BENCH_TIME_H
#include <stdlib.h>
#include <time.h>

/* Monotonic time in milliseconds. */
static inline double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* qsort comparator for doubles, ascending. */
static inline int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
