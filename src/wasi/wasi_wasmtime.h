/*
** The glue between eryx's WASI host (wasi.h) and wasmtime: defines every import
** the guest needs on a linker. Host functions find their per-sandbox state through
** the store's data, which must point at an eryx__host.
*/
#ifndef ERYX_WASI_WASMTIME_H
#define ERYX_WASI_WASMTIME_H
#include <stdatomic.h>
#include <wasmtime.h>
#include "wasi.h"

typedef struct eryx__host {
    eryx_wasi *wasi;
    wasmtime_memory_t memory; /* the guest's exported memory, once instantiated */
    bool has_memory;
    /* eryx.report(kind, ptr, len): the guest hands over part of a result. data is
    ** valid only during the call. */
    void (*report)(void *user, int32_t kind, const uint8_t *data, size_t len);
    void *report_user;
    /* Non-zero once the execution must stop (timeout, cancel, output cap): every
    ** host call then traps at once, before and after doing its work, so a guest
    ** blocked in a host call (sleep, stdin) stops as soon as the call returns.
    ** NULL: never. */
    const atomic_int *stop;
    /* eryx.cb_*: host callbacks (src/sandbox/callbacks.c); NULL when none. Guest
    ** pointers are checked here before these see them. */
    int32_t (*cb_start)(void *user, const uint8_t *name, size_t name_len, const uint8_t *args, size_t args_len);
    int32_t (*cb_wait)(void *user, int32_t timeout_ms);
    int32_t (*cb_len)(void *user, int32_t id);
    int32_t (*cb_take)(void *user, int32_t id, uint8_t *buf, size_t cap);
    void *cb_user;
    /* eryx.dl_open: load an extension side module (src/link/loader.h). path and init
    ** are host copies; on failure a message goes into err (NUL-terminated). Returns
    ** the table index of the init function, or -1. NULL: extensions refused. */
    int32_t (*dl_open)(void *user, const char *path, const char *init, char *err, size_t err_cap);
    void *dl_user;
} eryx__host;

/* Defines "wasi_snapshot_preview1.*" (every entry of eryx_wasi_imports),
** "eryx.report", "eryx.cb_start/cb_wait/cb_len/cb_take" and "eryx.dl_open" on linker. NULL on success, else an error the caller deletes. */
wasmtime_error_t *eryx__define_imports(wasmtime_linker_t *linker);

#endif
