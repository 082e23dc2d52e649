/*
** Snapshots of a started guest: the linear-memory pages that differ from a freshly
** instantiated instance, taken right after Python started. A new sandbox with the
** same configuration instantiates the module and writes those pages instead of
** running Python's start (milliseconds of work) again. The module's only mutable
** global is __stack_pointer, which is back at its initial value between calls, so
** memory is the whole guest state; the host state (WASI fds) must be the fresh one,
** which the caller checks (no guest fd open) before capturing.
*/
#ifndef ERYX_SNAPSHOT_H
#define ERYX_SNAPSHOT_H
#include <stddef.h>
#include <stdint.h>

#define ERYX__SNAPSHOT_PAGE 4096u

typedef struct eryx__snapshot eryx__snapshot;

/* Captures the pages of mem (size bytes) that differ from fresh (fresh_size bytes;
** bytes past fresh_size count as zero). config names what the snapshot is valid
** for (copied). NULL when out of memory. */
eryx__snapshot *eryx__snapshot_capture(const uint8_t *mem, size_t size, const uint8_t *fresh, size_t fresh_size,
                                       const char *config);
void eryx__snapshot_free(eryx__snapshot *snap); /* NULL allowed */

size_t eryx__snapshot_memory_size(const eryx__snapshot *snap); /* the memory size it needs */
size_t eryx__snapshot_stored_bytes(const eryx__snapshot *snap); /* bytes of pages kept */
const char *eryx__snapshot_config(const eryx__snapshot *snap);

/* Writes the snapshot's pages into mem, which must hold at least
** eryx__snapshot_memory_size bytes (returns -1 and writes nothing otherwise). */
int eryx__snapshot_apply(const eryx__snapshot *snap, uint8_t *mem, size_t size);

#endif
