/* Defines the WASI preview1 imports on a wasmtime linker; see wasi_wasmtime.h. */
#include "wasi_wasmtime.h"
#include <stdlib.h>
#include <string.h>

eryx__guest_mem eryx__caller_mem(wasmtime_caller_t *caller, wasmtime_context_t *cx, const wasmtime_memory_t *memory) {
    eryx__guest_mem mem = {NULL, 0};
    wasmtime_memory_t m;
    if (memory) {
        m = *memory;
    } else { /* a call before eryx recorded the memory (during instantiation) */
        wasmtime_extern_t ext;
        if (!wasmtime_caller_export_get(caller, "memory", 6, &ext) || ext.kind != WASMTIME_EXTERN_MEMORY) return mem;
        m = ext.of.memory;
    }
    /* Fetched on every call: memory.grow may move or enlarge it. */
    mem.base = wasmtime_memory_data(cx, &m);
    mem.len = wasmtime_memory_data_size(cx, &m);
    return mem;
}

wasm_trap_t *eryx__stop_trap(void) { return ERYX__TRAP("eryx: the execution was stopped"); }
wasm_trap_t *eryx__lost_trap(void) {
    return ERYX__TRAP("eryx: the guest's memory could not be made accessible again after an interrupt");
}

/* One defined import's env: which import, and how to find its store's state.
** Owned by the linker (freed by its finalizer). */
typedef struct binding {
    const eryx__wasi_import *imp;
    eryx__wasi_store_fn store_of;
} binding;

static wasm_trap_t *wasi_call(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *av, size_t n) {
    const binding *b = env;
    const eryx__wasi_import *imp = b->imp;
    wasmtime_context_t *cx = wasmtime_caller_context(caller);
    eryx__wasi_store st = b->store_of(wasmtime_context_get_data(cx));
    if (!eryx__guard_to_host(st.guard)) return eryx__lost_trap();
    uint64_t args[16] = {0};
    size_t np = strlen(imp->params);
    if (np > 16 || n < np) return wasmtime_trap_new("eryx: bad import signature", 26);
    if (eryx__stopped(st.stop)) return eryx__stop_trap();
    for (size_t i = 0; i < np; i++)
        args[i] = imp->params[i] == 'I' ? (uint64_t)av[i].i64 : (uint64_t)(uint32_t)av[i].i32;
    int32_t r = imp->fn(st.wasi, eryx__caller_mem(caller, cx, st.memory), args);
    if (r == ERYX__WASI_STOP) return ERYX__TRAP("eryx: the guest called proc_exit");
    if (eryx__stopped(st.stop)) return eryx__stop_trap();
    if (imp->nresults) av[0].i32 = r;
    eryx__guard_to_wasm(st.guard);
    return NULL;
}

wasm_functype_t *eryx__functype(const char *params, int nresults) {
    size_t np = strlen(params);
    wasm_valtype_vec_t p, r;
    wasm_valtype_vec_new_uninitialized(&p, np);
    for (size_t i = 0; i < np; i++) p.data[i] = wasm_valtype_new(params[i] == 'I' ? WASM_I64 : WASM_I32);
    if (nresults) {
        wasm_valtype_vec_new_uninitialized(&r, 1);
        r.data[0] = wasm_valtype_new(WASM_I32);
    } else {
        wasm_valtype_vec_new_empty(&r);
    }
    return wasm_functype_new(&p, &r); /* takes both vectors */
}

wasmtime_error_t *eryx__wasi_define_imports(wasmtime_linker_t *linker, eryx__wasi_store_fn store_of) {
    static const char module[] = "wasi_snapshot_preview1";
    for (size_t i = 0; i < eryx__wasi_import_count; i++) {
        const eryx__wasi_import *imp = &eryx__wasi_imports[i];
        binding *b = malloc(sizeof *b);
        if (!b) return wasmtime_error_new("eryx: no memory for the WASI imports");
        *b = (binding){imp, store_of};
        wasm_functype_t *ty = eryx__functype(imp->params, imp->nresults);
        wasmtime_error_t *e = wasmtime_linker_define_func_unchecked(linker, module, sizeof module - 1, imp->name,
                                                                    strlen(imp->name), ty, wasi_call, b, free);
        wasm_functype_delete(ty);
        if (e) return e;
    }
    return NULL;
}
