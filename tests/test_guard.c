/* Unit test of src/common/guard.c with a real engine (no epoch checks, eryx's memory
** creator) and a tiny module whose loop touches memory: a revocation stops the loop
** as a clean out-of-bounds trap and the guard gives the memory back intact; a
** revocation is refused while the guest is in a host call; access comes back after
** a growth made while revoked; a failing mprotect neither revokes nor loses memory
** on the way in, and marks the guard lost on the way out. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <wasmtime.h>
#include "check.h"
#include "../src/common/guard.h"
#include "../src/snapshot/snapmem.h"

/* (import "t" "host" (func)) (memory (export "memory") 1)
** (func (export "spin") (param i32) call 0 (loop (br_if 0 (i32.ne (i32.load (i32.const 0)) (local.get 0)))))
** (func (export "call_host") call 0) */
static const uint8_t module_bytes[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x60, 0x00, 0x00, 0x60, 0x01, 0x7f,
    0x00, 0x02, 0x0a, 0x01, 0x01, 0x74, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x00, 0x00, 0x03, 0x03, 0x02, 0x01,
    0x00, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x1d, 0x03, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02,
    0x00, 0x04, 0x73, 0x70, 0x69, 0x6e, 0x00, 0x01, 0x09, 0x63, 0x61, 0x6c, 0x6c, 0x5f, 0x68, 0x6f, 0x73,
    0x74, 0x00, 0x02, 0x0a, 0x18, 0x02, 0x11, 0x00, 0x10, 0x00, 0x03, 0x40, 0x41, 0x00, 0x28, 0x02, 0x00,
    0x20, 0x00, 0x47, 0x0d, 0x00, 0x0b, 0x0b, 0x04, 0x00, 0x10, 0x00, 0x0b};

typedef struct fixture {
    wasmtime_store_t *store;
    wasmtime_context_t *cx;
    wasmtime_memory_t mem;
    wasmtime_func_t spin;
    eryx__guard guard;
    atomic_int host_calls; /* calls of the import so far */
    atomic_int hold;       /* non-zero: the import waits until it is cleared */
    wasmtime_trap_code_t code;
    int trapped;
} fixture;

/* The import, as eryx's glue does it: out of wasm through the guard, back in on return. */
static wasm_trap_t *host_fn(void *env, wasmtime_caller_t *caller, const wasmtime_val_t *args, size_t nargs,
                            wasmtime_val_t *results, size_t nresults) {
    (void)caller, (void)args, (void)nargs, (void)results, (void)nresults;
    fixture *f = env;
    if (!eryx__guard_to_host(&f->guard)) return wasmtime_trap_new("lost", 4);
    atomic_fetch_add(&f->host_calls, 1);
    while (atomic_load(&f->hold)) sched_yield();
    eryx__guard_to_wasm(&f->guard);
    return NULL;
}

static size_t mem_size(void *user) {
    fixture *f = user;
    return wasmtime_memory_data_size(f->cx, &f->mem);
}

static void setup(fixture *f, wasm_engine_t *engine, wasmtime_module_t *mod) {
    memset(f, 0, sizeof *f);
    f->store = wasmtime_store_new(engine, NULL, NULL);
    f->cx = wasmtime_store_context(f->store);
    wasm_functype_t *ty = wasm_functype_new_0_0();
    wasmtime_extern_t imp = {.kind = WASMTIME_EXTERN_FUNC};
    wasmtime_func_new(f->cx, ty, host_fn, f, NULL, &imp.of.func);
    wasm_functype_delete(ty);
    wasmtime_instance_t inst;
    wasm_trap_t *trap = NULL;
    CHECK(!wasmtime_instance_new(f->cx, mod, &imp, 1, &inst, &trap) && !trap);
    wasmtime_extern_t ex;
    CHECK(wasmtime_instance_export_get(f->cx, &inst, "memory", 6, &ex) && ex.kind == WASMTIME_EXTERN_MEMORY);
    f->mem = ex.of.memory;
    CHECK(wasmtime_instance_export_get(f->cx, &inst, "spin", 4, &ex) && ex.kind == WASMTIME_EXTERN_FUNC);
    f->spin = ex.of.func;
    eryx__guard_arm(&f->guard, wasmtime_memory_data(f->cx, &f->mem), mem_size, f);
}

/* The store's thread: spin(7) under the guard until it traps. */
static void *run_spin(void *arg) {
    fixture *f = arg;
    wasmtime_val_t a = {.kind = WASMTIME_I32, .of.i32 = 7};
    wasm_trap_t *trap = NULL;
    eryx__guard_to_wasm(&f->guard);
    wasmtime_error_t *e = wasmtime_func_call(f->cx, &f->spin, &a, 1, NULL, 0, &trap);
    CHECK(eryx__guard_to_host(&f->guard));
    if (e) wasmtime_error_delete(e);
    if (trap) {
        f->trapped = wasmtime_trap_code(trap, &f->code);
        wasm_trap_delete(trap);
    }
    return NULL;
}

static int failing_protect(void *addr, size_t len, int prot) {
    (void)addr, (void)len, (void)prot;
    return -1;
}

int main(void) {
    wasm_config_t *config = wasm_config_new();
    eryx__snapmem_install(config);
    wasmtime_config_memory_init_cow_set(config, false);
    wasmtime_config_epoch_interruption_set(config, false);
    wasmtime_config_wasm_bulk_memory_set(config, false);
    wasm_engine_t *engine = wasm_engine_new_with_config(config);
    wasmtime_module_t *mod = NULL;
    CHECK(!wasmtime_module_new(engine, module_bytes, sizeof module_bytes, &mod) && mod);

    /* A spinning guest, held in its host call first: no revocation there. */
    fixture f;
    setup(&f, engine, mod);
    uint8_t *base = wasmtime_memory_data(f.cx, &f.mem);
    memcpy(base + 64, "intact", 6);
    atomic_store(&f.hold, 1);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, run_spin, &f) == 0);
    while (atomic_load(&f.host_calls) == 0) sched_yield();
    CHECK(!eryx__guard_revoke(&f.guard));
    CHECK(atomic_load(&f.guard.state) == ERYX__GUARD_HOST);
    atomic_store(&f.hold, 0);
    /* Then in its loop: revoked, it traps as an out-of-bounds access. */
    while (!eryx__guard_revoke(&f.guard)) sched_yield();
    pthread_join(t, NULL);
    CHECK(f.trapped && f.code == WASMTIME_TRAP_CODE_MEMORY_OUT_OF_BOUNDS);
    CHECK(atomic_load(&f.guard.revocations) == 1);
    CHECK(atomic_load(&f.guard.state) == ERYX__GUARD_HOST && !f.guard.lost);
    CHECK(memcmp(base + 64, "intact", 6) == 0); /* readable and unchanged */
    base[65536 - 1] = 1;                        /* and writable to its end */
    wasmtime_store_delete(f.store);

    /* Revoked, then grown (the guest's memory.grow runs in wasmtime while revoked):
    ** access comes back over the whole new size. */
    setup(&f, engine, mod);
    base = wasmtime_memory_data(f.cx, &f.mem);
    eryx__guard_to_wasm(&f.guard);
    CHECK(eryx__guard_revoke(&f.guard));
    uint64_t prev = 0;
    CHECK(!wasmtime_memory_grow(f.cx, &f.mem, 2, &prev) && prev == 1);
    CHECK(eryx__guard_to_host(&f.guard));
    base[0] = 1, base[3 * 65536 - 1] = 2;
    CHECK(base[0] == 1 && base[3 * 65536 - 1] == 2);

    /* A failing mprotect: the revocation does not happen (the guest runs on, the
    ** ticker tries again); restoring fails: the guard is lost, to_host says so. */
    f.guard.protect = failing_protect;
    eryx__guard_to_wasm(&f.guard);
    CHECK(!eryx__guard_revoke(&f.guard));
    CHECK(atomic_load(&f.guard.state) == ERYX__GUARD_WASM);
    CHECK(eryx__guard_to_host(&f.guard) && !f.guard.lost);
    f.guard.protect = mprotect;
    eryx__guard_to_wasm(&f.guard);
    CHECK(eryx__guard_revoke(&f.guard));
    f.guard.protect = failing_protect;
    CHECK(!eryx__guard_to_host(&f.guard) && f.guard.lost);
    CHECK(!eryx__guard_to_host(&f.guard));             /* stays lost */
    mprotect(base, 3 * 65536, PROT_READ | PROT_WRITE); /* so the memory creator can drop it */
    wasmtime_store_delete(f.store);

    /* An unarmed guard revokes nothing; a NULL guard is no guard. */
    eryx__guard none = {0};
    atomic_store(&none.state, ERYX__GUARD_WASM);
    CHECK(!eryx__guard_revoke(&none));
    CHECK(eryx__guard_to_host(NULL));

    wasmtime_module_delete(mod);
    wasm_engine_delete(engine);
    eryx__snapmem_shutdown();
    return check_report("test_guard");
}
