/*
** Extension modules in a sandbox: the host side of the guest's eryx.dl_open.
** A side module (a wasm32-wasi extension, docs/LATE-LINKING.md) is read from the
** sandbox's VFS (a package image), compiled once per machine (the artifact cache's
** disk tier, keyed by the module's SHA-256 and the engine) and loaded once per
** process (a registry, eryx__side_registry), loaded into the instance's store by
** src/link/loader.c, and its init function's table index returned to the guest.
*/
#ifndef ERYX_EXTENSIONS_H
#define ERYX_EXTENSIONS_H
#include <stddef.h>
#include <stdint.h>
#include <wasmtime.h>
#include "../cache/tiers.h"
#include "../link/loader.h"
#include "../package/package.h"
#include "../vfs/vfs.h"

/* Loads the extension at guest path `path` into the instance `main` of cx's store
** (once per instance: *dl, made on first use, remembers what is loaded) and puts
** the table index of its exported function `init` in *index. Returns ERYX_OK, or a
** status (*index = -1) with a message in err: ERYX_ERR_PACKAGE (not a usable side
** module, an undefined symbol, no such init function), ERYX_ERR_IO (cannot read
** it), ERYX_ERR_ENGINE, ERYX_ERR_NO_MEMORY, ERYX_ERR_INVALID_ARGUMENT (a bad path).
** cc names the engine and the disk tier (its memory tier is not used: the
** registry is). key names main's module (eryx__dl_host_init). */
eryx_status eryx__ext_open(eryx__dl_host **dl, const eryx__cache_config *cc, wasmtime_context_t *cx,
                           const wasmtime_instance_t *main, const void *key, eryx__vfs *vfs, const char *path,
                           const char *init, int32_t *index, eryx__errbuf *err);

/* 1 if every module loaded into dl is in the guest's log (so a snapshot of the
** instance can be restored: eryx__ext_replay), else 0; 1 for none loaded. */
int eryx__ext_logged(eryx__dl_host *dl);

/* In an instance restored from a snapshot: loads again, in order and at the same
** places, the extension modules the guest's log names (none: nothing to do).
** Records for modules *dl holds already must name them, in order: a session's
** memory copied over a restored start state replays only what the session added.
** Returns ERYX_OK, or a status with a message in err (a module missing or
** changed, or a different layout than recorded). */
eryx_status eryx__ext_replay(eryx__dl_host **dl, const eryx__cache_config *cc, wasmtime_context_t *cx,
                             const wasmtime_instance_t *main, const void *key, eryx__vfs *vfs, eryx__errbuf *err);

/* The build-time link check (src/link/linkcheck.h) of the n packages' extension
** modules against the interpreter module main (whose SHA-256 is guest_sha: its
** exports are read once per process and kept in eryx__main_ifaces). Returns
** ERYX_OK, or ERYX_ERR_PACKAGE with a message in err naming the package, the module
** and the symbol (ERYX_ERR_NO_MEMORY: out of memory). */
eryx_status eryx__ext_check_packages(const wasmtime_module_t *main, const char *guest_sha,
                                     const struct eryx__package *pkgs, size_t n, eryx__errbuf *err);

/* Frees what eryx__ext_open made for an instance (NULL allowed). */
void eryx__ext_free(eryx__dl_host *dl);

/* Frees the process's side-module registry (eryx__side_registry: the compiled
** modules and their dylink.0) and the interpreters' export lists
** (eryx__main_ifaces). Only when no sandbox is alive (eryx_shutdown,
** src/process/); the next use fills them again. */
void eryx__ext_shutdown(void);

#endif
