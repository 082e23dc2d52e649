/* The process's wasmtime engines and linkers, compiling a module, and the epoch
** ticker; see engine.h. */
#include "engine.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include "../common/counters.h"
#include "../common/process_state.h"
#include "../snapshot/snapmem.h"
#include "../host/host.h"

/* Native wasm stack: large enough that deep Python recursion ends in RecursionError
** (CPython's own limits) rather than a stack-overflow trap. */
#define ERYX__MAX_WASM_STACK (2u << 20)
/* Bump when the layout of what eryx writes to the cache changes. */
#define ERYX__ARTIFACT_FORMAT "eryx-cwasm-4" /* 3: memory creator, no wasmtime CoW image; 4: wasmtime with `gc` */

/* ---- the process's engines and linkers ------------------------------------ */
/* One engine (and linker) per kind, each created on first use and kept until
** eryx__engine_shutdown (the next use then creates it again). Kinds differ in
** generated code, so each has its own settings string and thus its own compiled
** modules in the cache. */
typedef struct engine_state {
    pthread_mutex_t lock; /* guards creation and linker */
    atomic_bool created;  /* creation was tried: engine or engine_error is set */
    _Atomic(wasm_engine_t *) engine;
    char engine_error[ERYX__ERRMSG_MAX];
    char settings[320]; /* written with the engine, under lock (ERYX_ENGINE_FLAGS: up to 160 of it) */
    wasmtime_linker_t *linker;
} engine_state;

#define ENGINE_STATE_INIT {PTHREAD_MUTEX_INITIALIZER, false, NULL, "", "", NULL}
ERYX__PROCESS_STATE static engine_state eryx__engines[ERYX__ENGINE_KINDS] = {ENGINE_STATE_INIT, ENGINE_STATE_INIT,
                                                                             ENGINE_STATE_INIT};

/* ERYX_INTERRUPT, read once: 0 memory (or unset), 1 epoch, -1 anything else. */
static pthread_once_t interrupt_once = PTHREAD_ONCE_INIT;
static int interrupt_choice;
static void read_interrupt(void) {
    const char *v = getenv("ERYX_INTERRUPT");
    interrupt_choice = !v || !*v || !strcmp(v, "memory") ? 0 : !strcmp(v, "epoch") ? 1 : -1;
}
eryx__engine_kind eryx__engine_default(void) {
    pthread_once(&interrupt_once, read_interrupt);
    return interrupt_choice == 1 ? ERYX__ENGINE_EPOCH : ERYX__ENGINE_STANDARD;
}

static void create_engine(eryx__engine_kind kind);

/* The kind's state, its engine created (or its creation failed) first. The common
** path is one acquire load, as pthread_once's is. */
static engine_state *state_of(eryx__engine_kind kind) {
    if ((unsigned)kind >= ERYX__ENGINE_KINDS) kind = ERYX__ENGINE_STANDARD;
    engine_state *es = &eryx__engines[kind];
    if (!atomic_load_explicit(&es->created, memory_order_acquire)) {
        pthread_mutex_lock(&es->lock);
        if (!atomic_load_explicit(&es->created, memory_order_relaxed)) {
            create_engine(kind);
            atomic_store_explicit(&es->created, true, memory_order_release);
        }
        pthread_mutex_unlock(&es->lock);
    }
    return es;
}

const char *eryx__engine_settings(eryx__engine_kind kind) { return state_of(kind)->settings; }

/* Cranelift's optimization level: "speed" unless ERYX_CRANELIFT_OPT names another
** (none, speed_and_size). A developer knob for bench/archive/opt-levels.sh; read once. */
static wasmtime_opt_level_t opt_level(const char **name) {
    const char *env = getenv("ERYX_CRANELIFT_OPT");
    if (env && !strcmp(env, "none")) {
        *name = "none";
        return WASMTIME_OPT_LEVEL_NONE;
    }
    if (env && !strcmp(env, "speed_and_size")) {
        *name = "speed_and_size";
        return WASMTIME_OPT_LEVEL_SPEED_AND_SIZE;
    }
    *name = "speed";
    return WASMTIME_OPT_LEVEL_SPEED;
}

/* ERYX_ENGINE_FLAGS: a developer knob for bench/engine_levers.py, which measures what
** each engine setting does to CPU-bound guest code (docs/CPU-PROFILE.md, "Engine
** settings"): comma-separated NAME=VALUE, each a wasmtime setting or a Cranelift flag
** that changes generated code. Only the names below, with checked values: wasmtime's C
** API aborts the process on a flag or value its compiler refuses. Unset or empty: no
** call at all (the default). The value enters the settings string, so the module key. */
enum { FLAG_BOOL, FLAG_NUM, FLAG_REGALLOC };
static const char *const flag_values[] = {"true|false", "0-8", "backtracking|single_pass"}; /* by type */
static const struct engine_flag {
    const char *name;
    int type;
    bool cranelift; /* a Cranelift flag (wasmtime_config_cranelift_flag_set), else wasmtime's own */
} engine_flags[] = {
    {"signals_based_traps", FLAG_BOOL, false},
    {"memory_may_move", FLAG_BOOL, false},
    {"regalloc_algorithm", FLAG_REGALLOC, false},
    {"enable_table_access_spectre_mitigation", FLAG_BOOL, true},
    {"enable_heap_access_spectre_mitigation", FLAG_BOOL, true},
    {"log2_min_function_alignment", FLAG_NUM, true},
    {"enable_alias_analysis", FLAG_BOOL, true},
};
#define ENGINE_FLAGS_MAX 160 /* of the variable's value: the settings string has room for it */

/* Applies ERYX_ENGINE_FLAGS to config; *applied is the value (NULL: unset). false and
** *error (static text, or err_buf) for a bad one, before any setting is made. */
static bool engine_flags_apply(wasm_config_t *config, const char **applied, char *err_buf, size_t err_size) {
    const char *env = getenv("ERYX_ENGINE_FLAGS");
    *applied = NULL;
    if (!env || !*env) return true;
    if (strlen(env) > ENGINE_FLAGS_MAX) {
        snprintf(err_buf, err_size, "ERYX_ENGINE_FLAGS is longer than %d characters", ENGINE_FLAGS_MAX);
        return false;
    }
    bool signals = true, spectre_on = false;
    for (int pass = 0; pass < 2; pass++) { /* 0: check every entry; 1: apply them */
        char copy[ENGINE_FLAGS_MAX + 1];
        snprintf(copy, sizeof copy, "%s", env);
        char *save = NULL;
        for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
            char *value = strchr(item, '=');
            if (value) *value++ = '\0';
            const struct engine_flag *f = NULL;
            for (size_t k = 0; k < sizeof engine_flags / sizeof engine_flags[0]; k++)
                if (!strcmp(item, engine_flags[k].name)) f = &engine_flags[k];
            bool is_true = value && !strcmp(value, "true"), ok = false;
            if (f && value && f->type == FLAG_BOOL) ok = is_true || !strcmp(value, "false");
            else if (f && value && f->type == FLAG_NUM) ok = strlen(value) == 1 && value[0] >= '0' && value[0] <= '8';
            else if (f && value) ok = !strcmp(value, "backtracking") || !strcmp(value, "single_pass");
            if (!ok) {
                /* the accepted names and values, from the table */
                size_t n = (size_t)snprintf(err_buf, err_size,
                                            "ERYX_ENGINE_FLAGS: %s%s%s is not NAME=VALUE with a known name and value (",
                                            item, value ? "=" : "", value ? value : "");
                for (size_t k = 0; k < sizeof engine_flags / sizeof engine_flags[0] && n < err_size; k++)
                    n += (size_t)snprintf(err_buf + n, err_size - n, "%s%s=%s", k ? ", " : "", engine_flags[k].name,
                                          flag_values[engine_flags[k].type]);
                if (n < err_size) snprintf(err_buf + n, err_size - n, ")");
                return false;
            }
            if (pass == 0) {
                if (!strcmp(f->name, "signals_based_traps")) signals = is_true;
                if (strstr(f->name, "spectre") && is_true) spectre_on = true;
                continue;
            }
            if (f->cranelift) wasmtime_config_cranelift_flag_set(config, f->name, value);
            else if (!strcmp(f->name, "signals_based_traps")) wasmtime_config_signals_based_traps_set(config, is_true);
            else if (!strcmp(f->name, "memory_may_move")) wasmtime_config_memory_may_move_set(config, is_true);
            else
                wasmtime_config_cranelift_regalloc_algorithm_set(config, strcmp(value, "single_pass")
                                                                             ? WASMTIME_REGALLOC_BACKTRACKING
                                                                             : WASMTIME_REGALLOC_SINGLE_PASS);
        }
        if (pass == 0 && !signals && spectre_on) { /* wasmtime refuses the pair (and would abort) */
            snprintf(err_buf, err_size,
                     "ERYX_ENGINE_FLAGS: signals_based_traps=false needs the spectre mitigations "
                     "left unset or false");
            return false;
        }
    }
    *applied = env;
    return true;
}

/* ERYX_PROFILE: tell `perf` where the compiled guest code is (docs/CPU-PROFILE.md).
** "perfmap" appends each function's address, size and wasm name to /tmp/perf-PID.map
** whenever a module is loaded, compiled or deserialized; "jitdump" writes a jitdump
** file, only in wasmtime builds with its `profiling` feature (eryx's has none).
** Registration only: the generated code is the same, so the setting stays out of
** the module key. A developer knob read when an engine is created; unset (or
** empty, or "none") is the default. Returns false and sets *error for another value. */
static bool profiling_strategy(wasmtime_profiling_strategy_t *out, const char **error) {
    const char *env = getenv("ERYX_PROFILE");
    *out = WASMTIME_PROFILING_STRATEGY_NONE;
    *error = NULL;
    if (!env || !*env || !strcmp(env, "none")) return true;
    if (!strcmp(env, "perfmap")) {
        /* wasmtime opens the map itself and aborts the process if it cannot: fail
        ** here with a message instead. */
        char path[64];
        snprintf(path, sizeof path, "/tmp/perf-%ld.map", (long)getpid());
        FILE *f = fopen(path, "a");
        if (!f) {
            *error = "ERYX_PROFILE=perfmap: cannot open /tmp/perf-PID.map for appending";
            return false;
        }
        fclose(f);
        *out = WASMTIME_PROFILING_STRATEGY_PERFMAP;
        return true;
    }
#ifdef WASMTIME_FEATURE_PROFILING
    if (!strcmp(env, "jitdump")) {
        *out = WASMTIME_PROFILING_STRATEGY_JITDUMP;
        return true;
    }
    *error = "ERYX_PROFILE must be perfmap, jitdump or none";
#else
    *error = !strcmp(env, "jitdump") ? "ERYX_PROFILE=jitdump needs wasmtime built with its `profiling` feature "
                                       "(engine/wasmtime/Cargo.toml); use ERYX_PROFILE=perfmap"
                                     : "ERYX_PROFILE must be perfmap or none";
#endif
    return false;
}

static void create_engine(eryx__engine_kind kind) {
    engine_state *es = &eryx__engines[kind];
    wasm_config_t *config = wasm_config_new();
    if (!config) {
        snprintf(es->engine_error, ERYX__ERRMSG_MAX, "wasm_config_new failed (out of memory?)");
        atomic_store(&es->engine, NULL);
        return;
    }
    bool fuel = kind == ERYX__ENGINE_FUEL, epoch = eryx__engine_epochs(kind);
    pthread_once(&interrupt_once, read_interrupt);
    if (kind == ERYX__ENGINE_STANDARD && interrupt_choice < 0) {
        snprintf(es->engine_error, ERYX__ERRMSG_MAX, "ERYX_INTERRUPT must be memory (the default) or epoch");
        wasm_config_delete(config);
        atomic_store(&es->engine, NULL);
        return;
    }
    wasmtime_config_strategy_set(config, WASMTIME_STRATEGY_CRANELIFT);
    const char *opt_name, *flags;
    wasmtime_config_cranelift_opt_level_set(config, opt_level(&opt_name));
    if (!engine_flags_apply(config, &flags, es->engine_error, ERYX__ERRMSG_MAX)) {
        wasm_config_delete(config);
        atomic_store(&es->engine, NULL);
        return;
    }
    /* Every setting that changes generated code; it enters each module's key. */
    snprintf(es->settings, sizeof es->settings,
             "wasmtime=48.0.8;compiler=cranelift;opt=%s;max_wasm_stack=%u;fuel=%d;epoch=%d;bulk=%d;%s%s%s", opt_name,
             ERYX__MAX_WASM_STACK, fuel, epoch, epoch, ERYX__ARTIFACT_FORMAT, flags ? ";flags=" : "",
             flags ? flags : "");
    wasmtime_config_max_wasm_stack_set(config, ERYX__MAX_WASM_STACK);
    wasmtime_config_parallel_compilation_set(config, true);
    /* Every linear memory comes from eryx's memory creator (src/snapshot/snapmem.c):
    ** a restored instance's memory is its snapshot image mapped copy-on-write.
    ** (wasmtime's own copy-on-write image is off with a memory creator: a module's
    ** data segments are then copied, which only the base module has.) */
    eryx__snapmem_install(config);
    wasmtime_config_memory_init_cow_set(config, false);
    /* The EPOCH and FUEL kinds' generated code checks the engine's epoch at loop
    ** heads and function entries, so a timeout or a cancel can stop any loop (each
    ** store sets a deadline: src/sandbox/instance.c). The STANDARD kind's has no
    ** check (18% of the guest's CPU time: docs/CPU-PROFILE.md); its stores are
    ** stopped by revoking their memory (src/common/guard.h), which must then never
    ** fault outside wasm code: bulk-memory instructions (memory.copy, .fill, .init)
    ** run as host-side copies in wasmtime, so that kind refuses them (eryx's
    ** guest and side modules, built by clang 19 for wasm32-wasi, have none). */
    wasmtime_config_epoch_interruption_set(config, epoch);
    wasmtime_config_wasm_bulk_memory_set(config, epoch);
    /* Fuel metering: an instruction budget; opt-in (ERYX__ENGINE_FUEL) because it
    ** slows guest code far more than 5% (docs/RUNTIME.md). */
    wasmtime_config_consume_fuel_set(config, fuel);
    /* wasmtime is built with its `gc` feature only so that the C API can pass
    ** funcref values (the side-module loader, src/link/loader.c, reads and sets
    ** function-table slots); the GC proposal stays off for guest modules. */
    wasmtime_config_wasm_gc_set(config, false);
    wasmtime_profiling_strategy_t profiler;
    const char *profiler_error;
    if (!profiling_strategy(&profiler, &profiler_error)) {
        wasm_config_delete(config);
        snprintf(es->engine_error, ERYX__ERRMSG_MAX, "%s", profiler_error);
        atomic_store(&es->engine, NULL);
        return;
    }
    if (profiler != WASMTIME_PROFILING_STRATEGY_NONE) wasmtime_config_profiler_set(config, profiler);
    wasm_engine_t *engine = wasm_engine_new_with_config(config); /* takes config */
    if (!engine) {
        char settings[sizeof es->settings];
        memcpy(settings, es->settings, sizeof settings);
        snprintf(es->engine_error, ERYX__ERRMSG_MAX, "wasmtime could not create an engine with eryx's settings (%s)",
                 settings);
    } else {
        es->engine_error[0] = '\0';
        eryx__signals_record(); /* wasmtime installed its handlers with the first engine */
    }
    atomic_store(&es->engine, engine);
}

wasm_engine_t *eryx__engine(eryx__engine_kind kind, eryx__errbuf *err) {
    engine_state *es = state_of(kind);
    wasm_engine_t *engine = atomic_load(&es->engine);
    if (!engine && err) eryx__fail(err, ERYX_ERR_ENGINE, "%s", es->engine_error);
    return engine;
}

wasmtime_linker_t *eryx__linker(eryx__engine_kind kind, eryx__errbuf *err) {
    wasm_engine_t *engine = eryx__engine(kind, err);
    if (!engine) return NULL;
    engine_state *es = state_of(kind);
    pthread_mutex_lock(&es->lock);
    if (!es->linker) {
        wasmtime_linker_t *linker = wasmtime_linker_new(engine);
        wasmtime_error_t *we = linker ? eryx__define_imports(linker) : NULL;
        if (!linker || we) {
            eryx__fail_wasmtime(err, ERYX_ERR_ENGINE, "defining eryx's imports failed", we, NULL);
            if (linker) wasmtime_linker_delete(linker);
        } else {
            es->linker = linker;
        }
    }
    wasmtime_linker_t *linker = es->linker;
    pthread_mutex_unlock(&es->lock);
    return linker;
}

eryx_status eryx__fail_wasmtime(eryx__errbuf *err, eryx_status status, const char *what, wasmtime_error_t *error,
                                wasm_trap_t *trap) {
    wasm_byte_vec_t msg = {0, NULL};
    if (error) wasmtime_error_message(error, &msg);
    else if (trap) wasm_trap_message(trap, &msg);
    eryx__fail(err, status, "%s: %.*s", what, (int)msg.size, msg.data ? msg.data : "");
    wasm_byte_vec_delete(&msg);
    if (error) wasmtime_error_delete(error);
    if (trap) wasm_trap_delete(trap);
    return status;
}

eryx_status eryx__read_module(const char *path, wasm_byte_vec_t *out, eryx__errbuf *err) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return eryx__fail(err, ERYX_ERR_GUEST_NOT_FOUND,
                          "cannot open guest module %s: %s (build it with ./build.sh or set ERYX_GUEST_DIR)", path,
                          strerror(errno));
    eryx_status st = ERYX_OK;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size <= 0 || fseek(f, 0, SEEK_SET) != 0) {
        st = eryx__fail(err, ERYX_ERR_IO, "cannot read guest module %s: empty or unreadable", path);
    } else {
        wasm_byte_vec_new_uninitialized(out, (size_t)size);
        if (!out->data) st = eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for %ld bytes of %s", size, path);
        else if (fread(out->data, 1, (size_t)size, f) != (size_t)size) {
            wasm_byte_vec_delete(out);
            st = eryx__fail(err, ERYX_ERR_IO, "short read of guest module %s", path);
        }
    }
    fclose(f);
    return st;
}

eryx_status eryx__compile(eryx__engine_kind kind, const char *wasm_path, wasmtime_module_t **out, eryx__errbuf *err) {
    wasm_engine_t *engine = eryx__engine(kind, err);
    if (!engine) return ERYX_ERR_ENGINE;
    wasm_byte_vec_t wasm;
    eryx_status st = eryx__read_module(wasm_path, &wasm, err);
    if (st != ERYX_OK) return st;
    wasmtime_error_t *e = wasmtime_module_new(engine, (const uint8_t *)wasm.data, wasm.size, out);
    wasm_byte_vec_delete(&wasm);
    if (e) return eryx__fail_wasmtime(err, ERYX_ERR_ENGINE, "compiling the guest module failed", e, NULL);
    eryx__count(ERYX__COUNT_MODULE_COMPILED);
    return ERYX_OK;
}

/* ---- the ticker ------------------------------------------------------------------ */
/* One thread for the whole process, awake every ERYX__TICK_NS while at least one
** execution holds it and asleep on a condition variable otherwise. Each tick it
** advances the engines' epochs (code of the EPOCH and FUEL kinds checks them at
** loop heads and function entries; each store's deadline callback then decides
** whether to stop), and asks each watched execution (the STANDARD kind's) whether
** it must stop, revoking its memory if so. A watch that is due stays due, so a
** revocation refused while its guest was in host code is tried again next tick. */
ERYX__PROCESS_STATE static struct {
    pthread_mutex_t lock; /* also held while the watches are visited */
    pthread_cond_t wake;
    unsigned holders;
    bool started;  /* the thread exists (joinable: eryx__engine_shutdown joins it) */
    bool stopping; /* eryx__engine_shutdown asks it to end */
    pthread_t thread;
    eryx__watch *watches;
} eryx__ticker = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false, false, (pthread_t)0, NULL};

static void *ticker_main(void *arg) {
    (void)arg;
    prctl(PR_SET_NAME, "eryx-ticker"); /* eryx's threads are named eryx-*: tests look for them */
    const struct timespec tick = {0, ERYX__TICK_NS};
    for (;;) {
        pthread_mutex_lock(&eryx__ticker.lock);
        while (eryx__ticker.holders == 0 && !eryx__ticker.stopping)
            pthread_cond_wait(&eryx__ticker.wake, &eryx__ticker.lock);
        bool stop = eryx__ticker.stopping;
        pthread_mutex_unlock(&eryx__ticker.lock);
        if (stop) return NULL;
        nanosleep(&tick, NULL);
        for (int k = 0; k < ERYX__ENGINE_KINDS; k++) {
            wasm_engine_t *engine = atomic_load(&eryx__engines[k].engine); /* NULL until created */
            if (engine && eryx__engine_epochs((eryx__engine_kind)k)) wasmtime_engine_increment_epoch(engine);
        }
        pthread_mutex_lock(&eryx__ticker.lock);
        for (eryx__watch *w = eryx__ticker.watches; w; w = w->next)
            if (w->due(w->user)) eryx__guard_revoke(w->guard);
        pthread_mutex_unlock(&eryx__ticker.lock);
    }
}

void eryx__ticker_watch(eryx__watch *w) {
    pthread_mutex_lock(&eryx__ticker.lock);
    w->prev = NULL;
    w->next = eryx__ticker.watches;
    if (w->next) w->next->prev = w;
    eryx__ticker.watches = w;
    pthread_mutex_unlock(&eryx__ticker.lock);
}

void eryx__ticker_unwatch(eryx__watch *w) {
    pthread_mutex_lock(&eryx__ticker.lock);
    if (w->prev) w->prev->next = w->next;
    else if (eryx__ticker.watches == w) eryx__ticker.watches = w->next;
    if (w->next) w->next->prev = w->prev;
    w->prev = w->next = NULL;
    pthread_mutex_unlock(&eryx__ticker.lock);
}

int eryx__ticker_hold(void) {
    pthread_mutex_lock(&eryx__ticker.lock);
    int rc = 0;
    if (!eryx__ticker.started) {
        rc = pthread_create(&eryx__ticker.thread, NULL, ticker_main, NULL) == 0 ? 0 : -1;
        eryx__ticker.started = rc == 0;
    }
    if (rc == 0 && eryx__ticker.holders++ == 0) pthread_cond_signal(&eryx__ticker.wake);
    pthread_mutex_unlock(&eryx__ticker.lock);
    return rc;
}

void eryx__ticker_drop(void) {
    pthread_mutex_lock(&eryx__ticker.lock);
    if (eryx__ticker.holders) eryx__ticker.holders--;
    pthread_mutex_unlock(&eryx__ticker.lock);
}

/* ---- shutdown ------------------------------------------------------------------- */
void eryx__engine_shutdown(void) {
    /* The ticker first: it reads the engines deleted below. */
    pthread_mutex_lock(&eryx__ticker.lock);
    bool started = eryx__ticker.started;
    eryx__ticker.stopping = true;
    pthread_cond_broadcast(&eryx__ticker.wake);
    pthread_mutex_unlock(&eryx__ticker.lock);
    if (started) pthread_join(eryx__ticker.thread, NULL);
    pthread_mutex_lock(&eryx__ticker.lock);
    eryx__ticker.started = eryx__ticker.stopping = false;
    eryx__ticker.holders = 0;
    eryx__ticker.watches = NULL; /* none: no execution runs (see engine.h) */
    pthread_mutex_unlock(&eryx__ticker.lock);

    for (int k = 0; k < ERYX__ENGINE_KINDS; k++) {
        engine_state *es = &eryx__engines[k];
        pthread_mutex_lock(&es->lock);
        if (es->linker) wasmtime_linker_delete(es->linker);
        es->linker = NULL;
        wasm_engine_t *engine = atomic_exchange(&es->engine, NULL);
        if (engine) wasm_engine_delete(engine);
        es->engine_error[0] = '\0';
        atomic_store_explicit(&es->created, false, memory_order_release);
        pthread_mutex_unlock(&es->lock);
    }
}
