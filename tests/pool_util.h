/* Helpers the pool tests share (tests/test_pool.c, tests/test_pool_races.c): a
** pool with given sizes and timeouts, and its stats read with a check. Include
** after check.h and eryx.h. */
#ifndef ERYX_TESTS_POOL_UTIL_H
#define ERYX_TESTS_POOL_UTIL_H
#include <stdio.h>
#include <string.h>

static inline eryx_pool *new_pool(eryx_builder *b, uint32_t max_size, uint32_t min_idle, uint64_t acquire_ms,
                                  uint64_t idle_ms) {
    eryx_pool_options o;
    eryx_pool_options_init(&o);
    o.max_size = max_size;
    o.min_idle = min_idle;
    o.acquire_timeout_ms = acquire_ms;
    o.idle_timeout_ms = idle_ms;
    eryx_pool *p = NULL;
    eryx_status st = eryx_pool_new(b, &o, &p);
    if (st != ERYX_OK) fprintf(stderr, "eryx_pool_new: %s: %s\n", eryx_status_name(st), eryx_pool_errmsg(NULL));
    return p;
}

static inline eryx_pool_stats stats(eryx_pool *p) {
    eryx_pool_stats st;
    memset(&st, 0xff, sizeof st);
    CHECK(eryx_pool_stats_get(p, &st) == ERYX_OK);
    return st;
}

#endif
