/* Internals of src/sandbox/ shared with eryx's own tools (eryx bench). */
#ifndef ERYX_SANDBOX_INTERNAL_H
#define ERYX_SANDBOX_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "eryx.h"

/* How long the sandbox's creation spent in each phase, in nanoseconds: [0] getting
** the module and setting up the VFS and WASI state, [1] instantiating the module,
** [2] starting Python (_initialize and eryx_init). */
void eryx__sandbox_phases(const eryx_sandbox *sandbox, uint64_t ns[3]);

/* True when Python's started state came from the guest's snapshot. */
bool eryx__sandbox_from_snapshot(const eryx_sandbox *sandbox);

/* Bytes of memory pages the guest's snapshot holds (0: no snapshot yet). */
size_t eryx__sandbox_snapshot_bytes(const eryx_sandbox *sandbox);

#endif
