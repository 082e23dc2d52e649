/*
** The process's work counters (counters.h). Monotonic: eryx_shutdown frees
** memory, and these hold none, so they are never reset.
*/
#include <stdatomic.h>
#include "counters.h"
#include "process_state.h"
#include "eryx.h"

ERYX__PROCESS_STATE static atomic_uint_fast64_t eryx__counters[ERYX__COUNT_N];

void eryx__count(eryx__counter which) { atomic_fetch_add_explicit(&eryx__counters[which], 1, memory_order_relaxed); }

void eryx_process_counters_get(eryx_process_counters *out) {
    if (!out) return;
    out->modules_compiled = atomic_load(&eryx__counters[ERYX__COUNT_MODULE_COMPILED]);
    out->modules_shipped = atomic_load(&eryx__counters[ERYX__COUNT_MODULE_SHIPPED]);
    out->start_states_made = atomic_load(&eryx__counters[ERYX__COUNT_STATE_MADE]);
}
