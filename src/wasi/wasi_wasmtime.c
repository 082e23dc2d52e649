/* Defines eryx's imports on a wasmtime linker; see wasi_wasmtime.h. */
#include "wasi_wasmtime.h"
#include <stdio.h>
#include <string.h>

static eryx_guest_mem guest_mem(eryx__host *h, wasmtime_caller_t *caller, wasmtime_context_t *cx) {
    eryx_guest_mem mem = {NULL, 0};
    wasmtime_memory_t m;
    if (h->has_memory) {
        m = h->memory;
    } else { /* a call before eryx recorded the memory (during instantiation) */
        wasmtime_extern_t ext;
        if (!wasmtime_caller_export_get(caller, "memory", 6, &ext) || ext.kind != WASMTIME_EXTERN_MEMORY)
            return mem;
        m = ext.of.memory;
    }
    /* Fetched on every call: memory.grow may move or enlarge it. */
    mem.base = wasmtime_memory_data(cx, &m);
    mem.len = wasmtime_memory_data_size(cx, &m);
    return mem;
}

static bool stopped(const eryx__host *h) {
    return h->stop && atomic_load_explicit(h->stop, memory_order_relaxed) != 0;
}

static wasm_trap_t *stop_trap(void) {
    static const char msg[] = "eryx: the execution was stopped";
    return wasmtime_trap_new(msg, sizeof msg - 1);
}

static wasm_trap_t *wasi_call(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *av, size_t n) {
    const eryx_wasi_import *imp = env;
    wasmtime_context_t *cx = wasmtime_caller_context(caller);
    eryx__host *h = wasmtime_context_get_data(cx);
    uint64_t args[16] = {0};
    size_t np = strlen(imp->params);
    if (np > 16 || n < np) return wasmtime_trap_new("eryx: bad import signature", 26);
    if (stopped(h)) return stop_trap();
    for (size_t i = 0; i < np; i++)
        args[i] = imp->params[i] == 'I' ? (uint64_t)av[i].i64 : (uint64_t)(uint32_t)av[i].i32;
    int32_t r = imp->fn(h->wasi, guest_mem(h, caller, cx), args);
    if (r == ERYX_WASI_STOP) {
        static const char msg[] = "eryx: the guest called proc_exit";
        return wasmtime_trap_new(msg, sizeof msg - 1);
    }
    if (stopped(h)) return stop_trap();
    if (imp->nresults) av[0].i32 = r;
    return NULL;
}

/* eryx.report(kind: i32, ptr: i32, len: i32) */
static wasm_trap_t *report_call(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *av, size_t n) {
    (void)env;
    if (n < 3) return NULL;
    wasmtime_context_t *cx = wasmtime_caller_context(caller);
    eryx__host *h = wasmtime_context_get_data(cx);
    if (stopped(h)) return stop_trap();
    eryx_guest_mem mem = guest_mem(h, caller, cx);
    uint32_t ptr = (uint32_t)av[1].i32, len = (uint32_t)av[2].i32;
    if ((uint64_t)ptr + len > mem.len) {
        static const char msg[] = "eryx: eryx.report passed memory outside the guest";
        return wasmtime_trap_new(msg, sizeof msg - 1);
    }
    if (h->report) h->report(h->report_user, av[0].i32, mem.base + ptr, len);
    return NULL;
}

/* eryx.cb_*(...): host callbacks. Returns -1 (unknown) when the sandbox has none. */
static wasm_trap_t *cb_call(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *av, size_t n) {
    const char *op = env;
    wasmtime_context_t *cx = wasmtime_caller_context(caller);
    eryx__host *h = wasmtime_context_get_data(cx);
    if (stopped(h)) return stop_trap();
    eryx_guest_mem mem = guest_mem(h, caller, cx);
    int32_t r = -1;
    if (!strcmp(op, "cb_start") && n >= 4) {
        uint32_t np = (uint32_t)av[0].i32, nl = (uint32_t)av[1].i32, ap = (uint32_t)av[2].i32, al = (uint32_t)av[3].i32;
        if ((uint64_t)np + nl > mem.len || (uint64_t)ap + al > mem.len) {
            static const char msg[] = "eryx: eryx.cb_start passed memory outside the guest";
            return wasmtime_trap_new(msg, sizeof msg - 1);
        }
        if (h->cb_start) r = h->cb_start(h->cb_user, mem.base + np, nl, mem.base + ap, al);
    } else if (!strcmp(op, "cb_wait") && n >= 1) {
        if (h->cb_wait) r = h->cb_wait(h->cb_user, av[0].i32);
    } else if (!strcmp(op, "cb_len") && n >= 1) {
        if (h->cb_len) r = h->cb_len(h->cb_user, av[0].i32);
    } else if (!strcmp(op, "cb_take") && n >= 3) {
        uint32_t bp = (uint32_t)av[1].i32, bl = (uint32_t)av[2].i32;
        if ((uint64_t)bp + bl > mem.len) {
            static const char msg[] = "eryx: eryx.cb_take passed memory outside the guest";
            return wasmtime_trap_new(msg, sizeof msg - 1);
        }
        if (h->cb_take) r = h->cb_take(h->cb_user, av[0].i32, mem.base + bp, bl);
    }
    if (stopped(h)) return stop_trap();
    av[0].i32 = r;
    return NULL;
}

/* eryx.dl_open(path, path_len, init, init_len, err, err_cap) -> table index or -1.
** The names are copied out before the host runs guest code (loading allocates in
** the guest, and its memory may grow and move); the message is copied back after,
** through a fresh view of the memory. */
static wasm_trap_t *dl_call(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *av, size_t n) {
    (void)env;
    wasmtime_context_t *cx = wasmtime_caller_context(caller);
    eryx__host *h = wasmtime_context_get_data(cx);
    if (stopped(h)) return stop_trap();
    if (n < 6) return NULL;
    eryx_guest_mem mem = guest_mem(h, caller, cx);
    uint32_t pp = (uint32_t)av[0].i32, pl = (uint32_t)av[1].i32, ip = (uint32_t)av[2].i32, il = (uint32_t)av[3].i32,
             ep = (uint32_t)av[4].i32, el = (uint32_t)av[5].i32;
    if ((uint64_t)pp + pl > mem.len || (uint64_t)ip + il > mem.len || (uint64_t)ep + el > mem.len) {
        static const char msg[] = "eryx: eryx.dl_open passed memory outside the guest";
        return wasmtime_trap_new(msg, sizeof msg - 1);
    }
    char path[4096], init[256], err[1024] = "extensions are not available in this sandbox";
    int32_t r = -1;
    if (pl >= sizeof path || il >= sizeof init) {
        snprintf(err, sizeof err, "the path or the init function's name is too long");
    } else if (h->dl_open) {
        memcpy(path, mem.base + pp, pl);
        path[pl] = '\0';
        memcpy(init, mem.base + ip, il);
        init[il] = '\0';
        r = h->dl_open(h->dl_user, path, init, err, sizeof err);
    }
    if (stopped(h)) return stop_trap();
    if (r < 0 && el > 0) {
        mem = guest_mem(h, caller, cx);
        size_t len = strnlen(err, sizeof err - 1);
        if (len > el - 1) len = el - 1;
        if ((uint64_t)ep + el <= mem.len) {
            memcpy(mem.base + ep, err, len);
            mem.base[ep + len] = '\0';
        }
    }
    av[0].i32 = r;
    return NULL;
}

static wasm_functype_t *functype(const char *params, int nresults) {
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

static wasmtime_error_t *define(wasmtime_linker_t *linker, const char *module, const char *name,
                                const char *params, int nresults, wasmtime_func_unchecked_callback_t cb,
                                const void *env) {
    wasm_functype_t *ty = functype(params, nresults);
    wasmtime_error_t *e = wasmtime_linker_define_func_unchecked(linker, module, strlen(module), name, strlen(name),
                                                                 ty, cb, (void *)env, NULL);
    wasm_functype_delete(ty);
    return e;
}

wasmtime_error_t *eryx__define_imports(wasmtime_linker_t *linker) {
    for (size_t i = 0; i < eryx_wasi_import_count; i++) {
        const eryx_wasi_import *imp = &eryx_wasi_imports[i];
        wasmtime_error_t *e =
            define(linker, "wasi_snapshot_preview1", imp->name, imp->params, imp->nresults, wasi_call, imp);
        if (e) return e;
    }
    static const struct {
        const char *name, *params;
    } cb_imports[] = {{"cb_start", "iiii"}, {"cb_wait", "i"}, {"cb_len", "i"}, {"cb_take", "iii"}};
    for (size_t i = 0; i < sizeof cb_imports / sizeof cb_imports[0]; i++) {
        wasmtime_error_t *e = define(linker, "eryx", cb_imports[i].name, cb_imports[i].params, 1, cb_call,
                                     cb_imports[i].name);
        if (e) return e;
    }
    wasmtime_error_t *e = define(linker, "eryx", "dl_open", "iiiiii", 1, dl_call, NULL);
    if (e) return e;
    return define(linker, "eryx", "report", "iii", 0, report_call, NULL);
}
