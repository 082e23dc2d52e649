/*
** The wasmtime boundary (engine.c): the process's engines and linkers (with eryx's
** imports), compiling a module, and the epoch ticker. Getting a module through the
** cache tiers is src/cache/tiers.h, a layer above this one.
*/
#ifndef ERYX_ENGINE_H
#define ERYX_ENGINE_H
#include <stdbool.h>
#include <wasmtime.h>
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
** NULL). Kept until eryx__engine_shutdown. */
wasm_engine_t *eryx__engine(eryx__engine_kind kind, eryx__errbuf *err);

/* The settings string that enters every compiled-module key: the engine version,
** each option that changes generated code, eryx's artifact format. */
const char *eryx__engine_settings(eryx__engine_kind kind);

/* The kind's linker with eryx's imports defined (created once). NULL + err. */
wasmtime_linker_t *eryx__linker(eryx__engine_kind kind, eryx__errbuf *err);

/* Reads the module file at path into *out (delete it with wasm_byte_vec_delete). */
eryx_status eryx__read_module(const char *path, wasm_byte_vec_t *out, eryx__errbuf *err);

/* Compiles the module at wasm_path for the kind's engine. */
eryx_status eryx__compile(eryx__engine_kind kind, const char *wasm_path, wasmtime_module_t **out, eryx__errbuf *err);

/* The process's epoch ticker: one thread advancing the engine's epoch every
** ERYX__TICK_NS while anyone holds it (an execution, from start to end), idle
** otherwise. hold returns 0, or -1 if the thread cannot be started. */
#define ERYX__TICK_NS 2000000L
int eryx__ticker_hold(void);
void eryx__ticker_drop(void);

/* Ends the ticker's thread (joined) and deletes every engine and linker; the next
** eryx__engine or eryx__ticker_hold makes them again. Only when nothing made with
** an engine is alive (modules, stores) and no execution runs: eryx_shutdown
** (src/process/) calls it last. */
void eryx__engine_shutdown(void);

/* Copies wasmtime's message for error or trap (and deletes them) into err. */
eryx_status eryx__fail_wasmtime(eryx__errbuf *err, eryx_status status, const char *what, wasmtime_error_t *error,
                                wasm_trap_t *trap);

#endif
