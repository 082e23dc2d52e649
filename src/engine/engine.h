/*
** The wasmtime boundary (engine.c): the process's engines and linkers (with eryx's
** imports), compiling a module, and the ticker (epochs, interrupts). Getting a module through the
** cache tiers is src/cache/tiers.h, a layer above this one.
*/
#ifndef ERYX_ENGINE_H
#define ERYX_ENGINE_H
#include <stdbool.h>
#include <wasmtime.h>
#include "../common/errbuf.h"
#include "../common/guard.h"

/* The engines a process may use: they differ in generated code and in how a
** timeout or a cancel stops the guest (docs/RUNTIME.md, "Interrupts"). */
typedef enum eryx__engine_kind {
    /* No check in the generated code: the ticker revokes the memory's access
    ** (src/common/guard.h); bulk-memory instructions are refused. The default. */
    ERYX__ENGINE_STANDARD = 0,
    ERYX__ENGINE_FUEL = 1,  /* epoch checks plus fuel metering (eryx_builder_set_fuel) */
    ERYX__ENGINE_EPOCH = 2, /* epoch checks at loop heads and calls: the fallback (ERYX_INTERRUPT=epoch) */
    ERYX__ENGINE_KINDS = 3
} eryx__engine_kind;

/* The kind a builder starts with: STANDARD, or EPOCH when the environment says
** ERYX_INTERRUPT=epoch (read once per process; "memory" or unset: STANDARD; any
** other value: STANDARD, whose engine then fails to be made with a message naming
** the variable). */
eryx__engine_kind eryx__engine_default(void);

/* Whether stores of the kind are stopped by epoch deadlines (else by their guard). */
static inline bool eryx__engine_epochs(eryx__engine_kind kind) { return kind != ERYX__ENGINE_STANDARD; }

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

/* The process's ticker: one thread that, every ERYX__TICK_NS while anyone holds
** it (an execution, from start to end), advances the engines' epochs and asks each
** watched execution whether it must stop, revoking its guard's memory if so; idle
** otherwise. hold returns 0, or -1 if the thread cannot be started. */
#define ERYX__TICK_NS 2000000L
int eryx__ticker_hold(void);
void eryx__ticker_drop(void);

/* An execution the ticker watches (the caller's, zeroed but for its fields). */
typedef struct eryx__watch {
    bool (*due)(void *user); /* on the ticker's thread: must the execution stop now? */
    void *user;
    eryx__guard *guard; /* revoked while due() says so */
    struct eryx__watch *prev, *next;
} eryx__watch;
/* Starts and ends a watch (while holding the ticker). Once unwatch returns, the
** ticker neither calls due nor touches the guard. */
void eryx__ticker_watch(eryx__watch *w);
void eryx__ticker_unwatch(eryx__watch *w);

/* wasmtime's signal handlers stay first (signals.c): record notes them after the
** first engine is made; assert, before guest code runs (any thread), puts eryx's
** front handler before any handler installed since (Python's faulthandler, ...),
** returning how many signals it took back (0 in the common case: four sigaction
** queries). enter/leave bracket guest calls on the calling thread: faults there go
** to wasmtime, the rest to the newcomer; enter's value is leave's argument. */
void eryx__signals_record(void);
int eryx__signals_assert(void);
int eryx__signals_enter(void);
void eryx__signals_leave(int slot);

/* Ends the ticker's thread (joined) and deletes every engine and linker; the next
** eryx__engine or eryx__ticker_hold makes them again. Only when nothing made with
** an engine is alive (modules, stores) and no execution runs: eryx_shutdown
** (src/process/) calls it last. */
void eryx__engine_shutdown(void);

/* Copies wasmtime's message for error or trap (and deletes them) into err. */
eryx_status eryx__fail_wasmtime(eryx__errbuf *err, eryx_status status, const char *what, wasmtime_error_t *error,
                                wasm_trap_t *trap);

#endif
