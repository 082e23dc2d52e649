/*
** The wasmtime boundary. engine.c: the process's one engine and one linker (with
** eryx's imports), and compiling a module. guest.c: getting a guest module through
** the cache tiers (in-process memory, then disk or an embedder's backend, then
** compile), and the process-wide registry of what every sandbox shares.
*/
#ifndef ERYX_ENGINE_H
#define ERYX_ENGINE_H
#include <stdbool.h>
#include <wasmtime.h>
#include "../cache/memcache.h"
#include "../common/errbuf.h"

/* The engines a process may use: they differ in generated code. */
typedef enum eryx__engine_kind {
    ERYX__ENGINE_STANDARD = 0, /* epoch interruption (timeouts, cancel) */
    ERYX__ENGINE_FUEL = 1,     /* that plus fuel metering (eryx_builder_set_fuel) */
#ifdef ERYX_BENCH_HOOKS
    ERYX__ENGINE_NO_EPOCH = 2, /* neither: only for eryx-bench, to measure their cost */
    ERYX__ENGINE_KINDS = 3
#else
    ERYX__ENGINE_KINDS = 2 /* the build has no benchmark hooks (cmake -DERYX_BENCH_HOOKS) */
#endif
} eryx__engine_kind;

/* Returns the process-wide engine of a kind, creating it on the first call
** (thread-safe). NULL if wasmtime could not create it (message in err, which may be
** NULL). Never freed. */
wasm_engine_t *eryx__engine(eryx__engine_kind kind, eryx__errbuf *err);

/* The settings string that enters every compiled-module key: the engine version,
** each option that changes generated code, eryx's artifact format. */
const char *eryx__engine_settings(eryx__engine_kind kind);

/* The kind's linker with eryx's imports defined (created once). NULL + err. */
wasmtime_linker_t *eryx__linker(eryx__engine_kind kind, eryx__errbuf *err);

/* Reads the module file at path into *out (delete it with wasm_byte_vec_delete). */
eryx_status eryx__read_module(const char *path, wasm_byte_vec_t *out, eryx__errbuf *err);

/* Compiles the module at wasm_path for the kind's engine. */
eryx_status eryx__compile(eryx__engine_kind kind, const char *wasm_path, wasmtime_module_t **out,
                          eryx__errbuf *err);

/* The process's epoch ticker: one thread advancing the engine's epoch every
** ERYX__TICK_NS while anyone holds it (an execution, from start to end), idle
** otherwise. hold returns 0, or -1 if the thread cannot be started. */
#define ERYX__TICK_NS 2000000L
int eryx__ticker_hold(void);
void eryx__ticker_drop(void);

/* Copies wasmtime's message for error or trap (and deletes them) into err. */
eryx_status eryx__fail_wasmtime(eryx__errbuf *err, eryx_status status, const char *what,
                                wasmtime_error_t *error, wasm_trap_t *trap);

/* ---- guest.c ------------------------------------------------------------------ */

/* A loaded guest module, pre-linked and ready to instantiate; reference-counted,
** shared by the memory tier and the sandboxes using it. */
typedef struct eryx__guest eryx__guest;
wasmtime_instance_pre_t *eryx__guest_pre(const eryx__guest *g);
wasmtime_module_t *eryx__guest_module(const eryx__guest *g);
void eryx__guest_retain(eryx__guest *g);
void eryx__guest_release(eryx__guest *g); /* NULL allowed */


/* Where a guest may come from, as configured on a builder. */
typedef struct eryx__cache_config {
    eryx__engine_kind engine; /* which engine the module is for */
    eryx__memcache *memory; /* the in-process tier; NULL: none */
    const char *dir;        /* the disk tier; NULL: none */
    uint64_t max_bytes, max_entries; /* the disk tier's bounds (0: none) */
    const struct eryx_cache_backend *backend; /* an embedder's tier instead of dir */
    void *backend_user;
    void (*warn)(void *user, const char *message); /* non-fatal cache problems */
    void *warn_user;
    bool unlinked; /* a module with imports of its own (an extension side module,
                   ** src/link/loader.h): not pre-linked with eryx's imports */
} eryx__cache_config;

typedef enum { ERYX__LOADED_MEMORY, ERYX__LOADED_DISK, ERYX__LOADED_COMPILED } eryx__load_source;

/*
** Gets the guest module for (wasm_path, wasm_sha256): from the memory tier (no file
** I/O, no deserialization); else from the disk tier or backend (verified, then
** mapped); else compiled, then stored. Concurrent callers for one missing key, in
** this or other processes, compile it once (a per-key file lock, or a process
** mutex without a disk tier). Cache problems (unwritable dir, disk full, damaged
** entry) are warnings: the guest is still returned. *out is a new reference.
*/
eryx_status eryx__guest_acquire(const char *wasm_path, const char *wasm_sha256, const eryx__cache_config *cc,
                                eryx__guest **out, eryx__load_source *source, eryx__errbuf *err);

/* Makes a module that is not in any tier (compiles it). */
typedef eryx_status (*eryx__make_module_fn)(void *user, wasmtime_module_t **out, eryx__errbuf *err);

/*
** The same tiers for any module: id names its inputs (the key is SHA-256 of id and
** the engine settings); make builds it on a miss, under the key's lock. Used for
** snapshot modules (src/snapshot/), whose id holds the base module's hash and
** everything the snapshot ran.
*/
eryx_status eryx__module_acquire(const char *id, eryx__make_module_fn make, void *make_user,
                                 const eryx__cache_config *cc, eryx__guest **out, eryx__load_source *source,
                                 eryx__errbuf *err);

/* Makes a snapshot image that is not in any tier (captures it). */
struct eryx__snapimg;
typedef eryx_status (*eryx__make_image_fn)(void *user, struct eryx__snapimg **out, eryx__errbuf *err);

/*
** Gets the snapshot image for id (src/snapshot/snapmem.h) through the same tiers:
** the process's image cache, then the disk tier or backend (verified, then copied
** into a private image), else make() under the key's lock, then stored in both.
** *out is a new reference.
*/
eryx_status eryx__image_acquire(const char *id, eryx__make_image_fn make, void *make_user,
                                const eryx__cache_config *cc, struct eryx__snapimg **out, eryx__errbuf *err);

/* Waits until every snapshot image being written to a disk store behind the
** sandbox that made it (eryx__image_acquire) is written. eryx_builder_free calls
** it, so a process that frees its builders leaves complete cache entries. */
void eryx__image_writes_wait(void);

/* The process-wide default memory tier (created on first use; never freed). */
eryx__memcache *eryx__default_memcache(void);

/* The SHA-256 (hex) of the guest in guest_dir, read from python.wasm.sha256 once per
** process and remembered (a guest dir is an immutable build output). */
eryx_status eryx__guest_sha256(const char *guest_dir, char hex[65], eryx__errbuf *err);

/* The SHA-256 (hex) of guest_dir's stdlib image, from lib/python313.zip.sha256
** (written by the guest build), read once per process; "-" when the file is
** missing (an older guest dir). */
void eryx__stdlib_sha256(const char *guest_dir, char hex[65]);

/* The stdlib image at path, mapped and indexed once per process: a new reference
** the caller releases (eryx_vfs_zip_release). NULL with a message in err. */
struct eryx_vfs_zip *eryx__stdlib_image(const char *path, eryx__errbuf *err);

/* Empties the process-wide registry (default memory tier, stdlib images, guest
** hashes, disk-store handles). Only while no sandbox exists: for tests of the load
** path and leak-free shutdown. */
void eryx__registry_clear(void);

#endif
