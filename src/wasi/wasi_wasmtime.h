/*
** The glue between eryx's WASI host (wasi.h) and wasmtime: defines the
** wasi_snapshot_preview1 imports on a linker, and owns the two things every host
** import needs on each call (src/host/ uses them too): a view of the caller's
** memory and the stop check. Only WASI preview1 lives here; eryx's own imports
** and the store's data (eryx__host) are src/host/host.h's, which sits above this
** file: the glue never sees eryx__host, it asks the definer's accessor for the
** little it needs (eryx__wasi_store).
*/
#ifndef ERYX_WASI_WASMTIME_H
#define ERYX_WASI_WASMTIME_H
#include <stdatomic.h>
#include <wasmtime.h>
#include "../common/guard.h"
#include "wasi.h"

/* What the WASI imports need from a store, found anew on each call. */
typedef struct eryx__wasi_store {
    eryx__wasi *wasi;
    /* The guest's exported memory; NULL before it is recorded (a call during
    ** instantiation): the caller's "memory" export is used then. */
    const wasmtime_memory_t *memory;
    const atomic_int *stop; /* non-zero: the call traps (see eryx__host.stop); NULL: never */
    eryx__guard *guard;     /* the memory's interrupt guard (NULL: none): left on entry, entered on return */
} eryx__wasi_store;

/* Finds the WASI state in a store's data (wasmtime_context_get_data). Called on
** every WASI call: it must be cheap and must not fail. */
typedef eryx__wasi_store (*eryx__wasi_store_fn)(void *store_data);

/* Defines "wasi_snapshot_preview1.*" (every entry of eryx__wasi_imports) on linker;
** each call finds its state through store_of. NULL on success, else an error the
** caller deletes. */
wasmtime_error_t *eryx__wasi_define_imports(wasmtime_linker_t *linker, eryx__wasi_store_fn store_of);

/* The caller's memory as a plain view: memory if known, else the caller's
** "memory" export ({NULL, 0} if none). Fetched on every call, because memory.grow
** may move or enlarge it: a view is stale once the guest (or the host on its
** behalf) runs again. */
eryx__guest_mem eryx__caller_mem(wasmtime_caller_t *caller, wasmtime_context_t *cx, const wasmtime_memory_t *memory);

/* True once the execution must stop: host calls check it before and after their
** work and then return eryx__stop_trap(). */
static inline bool eryx__stopped(const atomic_int *stop) {
    return stop && atomic_load_explicit(stop, memory_order_relaxed) != 0;
}
wasm_trap_t *eryx__stop_trap(void);
/* The trap of a call whose guard could not give the memory back (guard.h). */
wasm_trap_t *eryx__lost_trap(void);

/* A function type from a signature: params one char per parameter ('i' = i32,
** 'I' = i64), nresults 0 or 1 (an i32). The caller deletes it. */
wasm_functype_t *eryx__functype(const char *params, int nresults);

/* A trap with a static message (a string literal). */
#define ERYX__TRAP(msg) wasmtime_trap_new(msg, sizeof msg - 1)

#endif
