/*
** Process-wide counters of expensive work (eryx_process_counters_get, eryx.h):
** plain atomics, bumped where the work is done, read by embedders that want to
** prove a cache or a shipped artifact spared it.
*/
#ifndef ERYX_COMMON_COUNTERS_H
#define ERYX_COMMON_COUNTERS_H

typedef enum {
    ERYX__COUNT_MODULE_COMPILED, /* a Cranelift compile of any module */
    ERYX__COUNT_MODULE_SHIPPED,  /* a module installed from a shipped blob */
    ERYX__COUNT_STATE_MADE,      /* a start state (one layer) captured */
    ERYX__COUNT_N
} eryx__counter;

void eryx__count(eryx__counter which);

#endif
