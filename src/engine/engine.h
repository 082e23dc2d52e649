/*
** The wasmtime boundary: one engine per process, and compiled guest modules that
** are compiled once per machine (serialized to the cache dir, mmap-loaded later)
** and once per process (kept in a registry and shared by every sandbox).
*/
#ifndef ERYX_ENGINE_H
#define ERYX_ENGINE_H
#include <stdbool.h>
#include <wasmtime.h>
#include "../common/errbuf.h"

/* Returns the process-wide engine, creating it on the first call (thread-safe).
** NULL if wasmtime could not create it (message in err). Never freed. */
wasm_engine_t *eryx__engine(eryx__errbuf *err);

/* The settings string that enters every compiled-module key: the engine version
** and each option that changes generated code. */
const char *eryx__engine_settings(void);

/* How a module load was satisfied (for tests and benchmarks). */
typedef enum { ERYX__LOADED_REGISTRY, ERYX__LOADED_DISK, ERYX__LOADED_COMPILED } eryx__load_source;

/*
** Loads the guest module at wasm_path whose content hash is wasm_sha256 (hex):
** from the process registry if present; else from cache_dir/modules/<key>.cwasm
** (mmap); else by compiling it, then writing the .cwasm atomically (temp file,
** fsync, rename). cache_dir may be NULL (no disk cache). A .cwasm that wasmtime
** rejects is replaced. On success *out is a new reference the caller deletes.
*/
eryx_status eryx__module_load(const char *wasm_path, const char *wasm_sha256, const char *cache_dir,
                              wasmtime_module_t **out, eryx__load_source *source, eryx__errbuf *err);

/*
** Like eryx__module_load, but returns the module pre-linked with eryx's imports
** (the process's one linker, created on first use), ready for
** wasmtime_instance_pre_instantiate. *out is borrowed from the registry: valid
** until eryx__registry_clear.
*/
eryx_status eryx__instance_pre(const char *wasm_path, const char *wasm_sha256, const char *cache_dir,
                               wasmtime_instance_pre_t **out, eryx__errbuf *err);

/* The stdlib image at path, mapped and indexed once per process (again if the file
** changes): a new reference the caller releases (eryx_vfs_zip_release). NULL with a
** message in err when it is missing or malformed. */
struct eryx_vfs_zip *eryx__stdlib_image(const char *path, eryx__errbuf *err);

/* Empties the process registry (modules, linker, stdlib images). Only while no
** sandbox exists: for tests of the load path, and for leak-free shutdown. */
void eryx__registry_clear(void);

/* Copies wasmtime's message for error (and deletes it) into err; returns status. */
eryx_status eryx__fail_wasmtime(eryx__errbuf *err, eryx_status status, const char *what,
                                wasmtime_error_t *error, wasm_trap_t *trap);

#endif
