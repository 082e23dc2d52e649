/*
** The artifact cache's tiers for compiled modules and snapshot images (tiers.c),
** fastest first: the in-process memory tier (memcache.h), the disk store
** (store.h) or an embedder's eryx_cache_backend, then making the artifact
** (compiling a module, capturing an image) under the key's lock. Also the
** process's cache registry: the default memory tier, the snapshot-image tier,
** the open disk stores, the stdlib images and the guest hashes.
**
** Layering: this is the one part of src/cache/ above the engine. It may use
** src/engine/ (wasmtime modules, the linker), src/snapshot/snapmem.h (images),
** src/vfs/ (the stdlib zip image) and the rest of src/cache/; key.c, store.c and
** memcache.c depend on none of those (CMakeLists.txt: eryx_cache vs
** eryx_cache_tiers). Nothing below the sandbox layer may include this header.
*/
#ifndef ERYX_CACHE_TIERS_H
#define ERYX_CACHE_TIERS_H
#include <stdbool.h>
#include <stdint.h>
#include <wasmtime.h>
#include "../common/errbuf.h"
#include "../engine/engine.h"
#include "memcache.h"

/* A loaded guest module, pre-linked and ready to instantiate; reference-counted,
** shared by the memory tier and the sandboxes using it. */
typedef struct eryx__guest eryx__guest;
wasmtime_instance_pre_t *eryx__guest_pre(const eryx__guest *g);
wasmtime_module_t *eryx__guest_module(const eryx__guest *g);
void eryx__guest_retain(eryx__guest *g);
void eryx__guest_release(eryx__guest *g); /* NULL allowed */


/* Where a guest may come from, as configured on a builder. */
typedef struct eryx__cache_config {
    eryx__engine_kind engine;                 /* which engine the module is for */
    eryx__memcache *memory;                   /* the in-process tier; NULL: none */
    const char *dir;                          /* the disk tier; NULL: none */
    uint64_t max_bytes, max_entries;          /* the disk tier's bounds (0: none) */
    const struct eryx_cache_backend *backend; /* an embedder's tier instead of dir */
    void *backend_user;
    void (*warn)(void *user, const char *message); /* non-fatal cache problems */
    void *warn_user;
    bool make_says; /* make() is not a compile (a shipped module): it warns itself if it compiles */
    bool unlinked;  /* a module with imports of its own (an extension side module,
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
eryx_status eryx__image_acquire(const char *id, eryx__make_image_fn make, void *make_user, const eryx__cache_config *cc,
                                struct eryx__snapimg **out, eryx__errbuf *err);

/* The snapshot image for id if a tier has it (the process's image cache, then the
** disk tier or backend, verified), else NULL: nothing is made, nothing locked. A
** new reference. For layers a capture may start from when they exist. */
struct eryx__snapimg *eryx__image_lookup(const char *id, const eryx__cache_config *cc);

/* Waits until every snapshot image being written to a disk store behind the
** sandbox that made it (eryx__image_acquire) is written. eryx_builder_free calls
** it, so a process that frees its builders leaves complete cache entries. */
void eryx__image_writes_wait(void);

/* The process-wide default memory tier (created on first use; freed by
** eryx__cache_shutdown, made again on the next use). */
eryx__memcache *eryx__default_memcache(void);

/* The SHA-256 (hex) of the guest in guest_dir, read from python.wasm.sha256 once per
** process and remembered (a guest dir is an immutable build output). */
eryx_status eryx__guest_sha256(const char *guest_dir, char hex[65], eryx__errbuf *err);

/* The SHA-256 (hex) of guest_dir's stdlib image, from lib/python313.zip.sha256
** (written by the guest build), read once per process; "-" when the file is
** missing (an older guest dir). */
void eryx__stdlib_sha256(const char *guest_dir, char hex[65]);

/* The stdlib image at path, mapped and indexed once per process: a new reference
** the caller releases (eryx__vfs_zip_release). NULL with a message in err. */
struct eryx__vfs_zip *eryx__stdlib_image(const char *path, eryx__errbuf *err);

/* Frees the process's cache registry: waits for the snapshot images being written
** behind, then drops the default memory tier, the snapshot-image tier (and so the
** memories pooled per image), the stdlib images, the guest hashes and the disk-store
** handles. Only while no builder or sandbox exists (eryx_shutdown, src/process/;
** tests of the load path). The next use makes them again. */
void eryx__cache_shutdown(void);

#endif
