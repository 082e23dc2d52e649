/*
** eryx's WASI preview1 host: every wasi_snapshot_preview1 import python.wasm uses,
** implemented over the VFS (src/vfs/) and host I/O hooks, never over the host's
** files or streams directly.
**
** The implementation (wasi.c) works on a plain view of guest memory
** (eryx__guest_mem), so unit tests drive it with an ordinary buffer, hostile
** pointers and lengths included. Every guest pointer and length is checked against
** mem.len before use (overflow-safe); a bad one gives the guest EFAULT and never
** touches host memory. The wasmtime glue (wasi_wasmtime.c) defines the imports on
** a linker and hands each call the store's eryx__wasi and the caller's memory.
**
** File descriptors: 0 stdin, 1 stdout, 2 stderr, 3 the preopened directory "/"
** (the whole VFS; the guest's libc resolves every absolute path against it), 4 and
** up for files the guest opens (lowest free number first, at most
** ERYX__WASI_MAX_FDS open).
*/
#ifndef ERYX_WASI_H
#define ERYX_WASI_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../vfs/vfs.h"
#include "wasi_abi.h"

#define ERYX__WASI_MAX_FDS 1024

typedef struct eryx__guest_mem {
    uint8_t *base;
    size_t len;
} eryx__guest_mem;

/* Host hooks for the streams. Any may be NULL: stdin then reads as empty (EOF),
** output is discarded, sleep uses nanosleep. */
typedef struct eryx__wasi_io {
    /* Reads up to len bytes of stdin into buf: returns the count (0 = end of
    ** input) or -1 on error (the guest gets EIO). */
    ptrdiff_t (*read_stdin)(void *user, void *buf, size_t len);
    /* Delivers len bytes the guest wrote to fd 1 or 2. Returns 0, or a WASI errno
    ** for the guest (for example ERYX__WASI_ENOSPC when an output cap is reached). */
    uint16_t (*write_output)(void *user, int fd, const void *buf, size_t len);
    /* Sleeps ns nanoseconds (poll_oneoff with a clock); returns 0, or a WASI errno
    ** (ERYX__WASI_EINTR when interrupted). */
    uint16_t (*sleep_ns)(void *user, uint64_t ns);
    void *user;
    /* Filters bytes the guest writes to a file (NULL: none; the embedder's secret
    ** scrubbing). prev: the file_context bytes (fewer at its start) the file holds
    ** just before the write, so a pattern split across writes is seen whole. Leaves
    ** *out NULL when nothing changes; else *out (malloc'd, the caller frees it)
    ** replaces prev[*keep..] and data, written where prev[*keep] was. The guest is
    ** told all of data was written. Returns 0, or -1 when out of memory. */
    int (*filter_file)(void *user, const void *prev, size_t prev_len, const void *data, size_t len, void **out,
                       size_t *out_len, size_t *keep);
    size_t file_context;
} eryx__wasi_io;

typedef struct eryx__wasi_config {
    int argc;
    const char *const *argv; /* copied */
    int envc;
    const char *const *env; /* "KEY=VALUE" strings, copied; the guest sees only these */
    eryx__wasi_io io;
    eryx__vfs *vfs; /* borrowed: must outlive the eryx__wasi */
} eryx__wasi_config;

typedef struct eryx__wasi eryx__wasi;

eryx__wasi *eryx__wasi_new(const eryx__wasi_config *config); /* NULL when out of memory */
void eryx__wasi_free(eryx__wasi *w);                         /* closes every open fd; NULL allowed */

/* True once the guest called proc_exit; *code gets its status. */
bool eryx__wasi_exited(const eryx__wasi *w, int *code);

/* How many fds above 3 the guest has open (files and directories). */
size_t eryx__wasi_guest_fd_count(const eryx__wasi *w);

/* Closes every fd above 3 (files the guest left open). */
void eryx__wasi_close_guest_fds(eryx__wasi *w);

/* One import: its name in "wasi_snapshot_preview1", its wasm signature, and the
** implementation. params: one char per parameter, 'i' = i32, 'I' = i64. Every
** import returns one i32 (a WASI errno) except proc_exit, which returns nothing. */
typedef int32_t (*eryx__wasi_fn)(eryx__wasi *w, eryx__guest_mem mem, const uint64_t *args);
typedef struct eryx__wasi_import {
    const char *name;
    const char *params;
    int nresults;
    eryx__wasi_fn fn;
} eryx__wasi_import;

/* fn's return value when the guest must stop (proc_exit): the glue turns it into
** a trap; eryx__wasi_exited() then reports the status. */
#define ERYX__WASI_STOP (-1)

extern const eryx__wasi_import eryx__wasi_imports[];
extern const size_t eryx__wasi_import_count;

/* Looks an import up by name (NULL if eryx does not provide it). */
const eryx__wasi_import *eryx__wasi_find_import(const char *name);

#endif
