/*
** eryx's own imports (ERYX__HOST_IMPORTS in host.h) and the one place that defines
** every import on a linker. One wasmtime callback serves them all: it checks the
** stop flag before and after, and turns a bad guest pointer into a trap; each
** import's body checks its pointers and hands checked host pointers to the
** owner's hook in eryx__host. It never interprets what the guest sent (that is
** the hook's job).
*/
#include "host.h"
#include <stdio.h>
#include <string.h>
#include "../net/net.h"
#include "../wasi/wasi_wasmtime.h"

/* The longest dl_open message copied to the guest (its buffer is 1 KiB). */
#define DL_ERR_MAX 1023

/* One call, as an import's body sees it. */
typedef struct host_call {
    eryx__host *h;
    wasmtime_caller_t *caller;
    wasmtime_context_t *cx;
    bool fault; /* set by the body (see out_of_bounds): the call traps */
} host_call;

/* The caller's memory, fetched anew: stale once guest code ran again. */
static eryx__guest_mem mem_of(const host_call *c) {
    return eryx__caller_mem(c->caller, c->cx, c->h->has_memory ? &c->h->memory : NULL);
}

/* True when [ptr, ptr + len) lies inside the guest's memory (overflow-safe). */
static bool in_guest(eryx__guest_mem mem, uint32_t ptr, uint32_t len) { return (uint64_t)ptr + len <= mem.len; }

/* A body's answer to a guest pointer outside its memory. */
static int32_t out_of_bounds(host_call *c) {
    c->fault = true;
    return -1;
}

#define BODY(name) static int32_t body_##name(host_call *c, const wasmtime_val_raw_t *av)
#define U32(i) ((uint32_t)av[i].i32)

BODY(report) {
    eryx__host *h = c->h;
    eryx__guest_mem mem = mem_of(c);
    if (!in_guest(mem, U32(1), U32(2))) return out_of_bounds(c);
    if (h->report) h->report(h->report_user, av[0].i32, mem.base + U32(1), U32(2));
    return 0;
}

/* The callback imports return -1 (unknown) when the sandbox has no callbacks. */
BODY(cb_start) {
    eryx__host *h = c->h;
    eryx__guest_mem mem = mem_of(c);
    if (!in_guest(mem, U32(0), U32(1)) || !in_guest(mem, U32(2), U32(3))) return out_of_bounds(c);
    return h->cb_start ? h->cb_start(h->cb_user, mem.base + U32(0), U32(1), mem.base + U32(2), U32(3)) : -1;
}

BODY(cb_wait) { return c->h->cb_wait ? c->h->cb_wait(c->h->cb_user, av[0].i32) : -1; }

BODY(cb_len) { return c->h->cb_len ? c->h->cb_len(c->h->cb_user, av[0].i32) : -1; }

BODY(cb_take) {
    eryx__host *h = c->h;
    eryx__guest_mem mem = mem_of(c);
    if (!in_guest(mem, U32(1), U32(2))) return out_of_bounds(c);
    return h->cb_take ? h->cb_take(h->cb_user, av[0].i32, mem.base + U32(1), U32(2)) : -1;
}

/* The names are copied out before the host runs guest code (loading allocates in
** the guest, and its memory may grow and move); the message is copied back after,
** through a fresh view of the memory. */
BODY(dl_open) {
    eryx__host *h = c->h;
    eryx__guest_mem mem = mem_of(c);
    uint32_t pp = U32(0), pl = U32(1), ip = U32(2), il = U32(3), ep = U32(4), el = U32(5);
    if (!in_guest(mem, pp, pl) || !in_guest(mem, ip, il) || !in_guest(mem, ep, el)) return out_of_bounds(c);
    char path[4096], init[256];
    eryx__errbuf err; /* what the guest reads when the hook leaves no message */
    eryx__fail(&err, ERYX_ERR_INVALID_ARGUMENT, "extensions are not available in this sandbox");
    int32_t r = -1;
    if (pl >= sizeof path || il >= sizeof init) {
        eryx__fail(&err, ERYX_ERR_INVALID_ARGUMENT, "the path or the init function's name is too long");
    } else if (h->dl_open) {
        memcpy(path, mem.base + pp, pl);
        path[pl] = '\0';
        memcpy(init, mem.base + ip, il);
        init[il] = '\0';
        if (h->dl_open(h->dl_user, path, init, &r, &err) != ERYX_OK) r = -1;
    }
    if (eryx__stopped(h->stop)) return r; /* the call traps: no message */
    if (r < 0 && el > 0) {
        mem = mem_of(c);
        /* At most DL_ERR_MAX bytes, as ever: the guest's buffer is 1 KiB. */
        size_t len = strnlen(err.msg, DL_ERR_MAX);
        if (len > el - 1) len = el - 1;
        if (in_guest(mem, ep, el)) {
            memcpy(mem.base + ep, err.msg, len);
            mem.base[ep + len] = '\0';
        }
    }
    return r;
}

/* The network imports: -ENOTCAPABLE without a network; the bodies in src/net/
** get checked host pointers (no guest code runs during them: the view holds). */
#define NO_NET (-(int32_t)ERYX__WASI_ENOTCAPABLE)

BODY(net_resolve) {
    eryx__guest_mem mem = mem_of(c);
    if (!in_guest(mem, U32(0), U32(1)) || !in_guest(mem, U32(3), U32(4))) return out_of_bounds(c);
    if (!c->h->net) return NO_NET;
    return eryx__net_abi_resolve(c->h->net, mem.base + U32(0), U32(1), av[2].i32, mem.base + U32(3), U32(4));
}

BODY(net_connect) {
    eryx__guest_mem mem = mem_of(c);
    if (!in_guest(mem, U32(0), U32(1)) || !in_guest(mem, U32(2), U32(3))) return out_of_bounds(c);
    if (!c->h->net) return NO_NET;
    return eryx__net_abi_connect(c->h->net, mem.base + U32(0), U32(1), mem.base + U32(2), U32(3), av[4].i32, av[5].i32);
}

BODY(net_tls) {
    eryx__guest_mem mem = mem_of(c);
    if (!in_guest(mem, U32(1), U32(2))) return out_of_bounds(c);
    if (!c->h->net) return NO_NET;
    return eryx__net_abi_tls(c->h->net, av[0].i32, mem.base + U32(1), U32(2));
}

BODY(net_info) {
    eryx__guest_mem mem = mem_of(c);
    if (!in_guest(mem, U32(1), U32(2))) return out_of_bounds(c);
    if (!c->h->net) return NO_NET;
    return eryx__net_abi_info(c->h->net, av[0].i32, mem.base + U32(1), U32(2));
}

BODY(net_error) {
    static const char off[] = "network: networking is off in this sandbox (eryx_builder_set_network)";
    eryx__guest_mem mem = mem_of(c);
    if (!in_guest(mem, U32(0), U32(1))) return out_of_bounds(c);
    if (c->h->net) return eryx__net_abi_error(c->h->net, mem.base + U32(0), U32(1));
    size_t len = sizeof off - 1;
    memcpy(mem.base + U32(0), off, len < U32(1) ? len : U32(1));
    return (int32_t)len;
}

/* The table of eryx's imports, made from the ABI's list: adding an import adds a
** row there and its BODY here. */
typedef struct host_import {
    const char *name, *params;
    size_t nparams;
    int nresults;
    int32_t (*body)(host_call *c, const wasmtime_val_raw_t *av);
} host_import;
static const host_import host_imports[] = {
#define ROW(name, params, nresults) {#name, params, sizeof params - 1, nresults, body_##name},
    ERYX__HOST_IMPORTS(ROW)
#undef ROW
};

/* The wasmtime callback of every import in host_imports (env: its row). */
static wasm_trap_t *host_call_cb(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *av, size_t n) {
    const host_import *imp = env;
    host_call c = {.caller = caller, .cx = wasmtime_caller_context(caller)};
    c.h = wasmtime_context_get_data(c.cx);
    if (!eryx__guard_to_host(c.h->guard)) return eryx__lost_trap();
    if (n < imp->nparams) return ERYX__TRAP("eryx: bad import signature");
    if (eryx__stopped(c.h->stop)) return eryx__stop_trap();
    int32_t r = imp->body(&c, av);
    if (c.fault) {
        char msg[128];
        int len = snprintf(msg, sizeof msg, "eryx: eryx.%s passed memory outside the guest", imp->name);
        return wasmtime_trap_new(msg, (size_t)len);
    }
    if (eryx__stopped(c.h->stop)) return eryx__stop_trap();
    if (imp->nresults) av[0].i32 = r;
    eryx__guard_to_wasm(c.h->guard);
    return NULL;
}

/* How the WASI glue finds its state in the store's data. */
static eryx__wasi_store wasi_store_of(void *data) {
    eryx__host *h = data;
    return (eryx__wasi_store){h->wasi, h->has_memory ? &h->memory : NULL, h->stop, h->guard};
}

wasmtime_error_t *eryx__define_imports(wasmtime_linker_t *linker) {
    wasmtime_error_t *e = eryx__wasi_define_imports(linker, wasi_store_of);
    for (size_t i = 0; !e && i < sizeof host_imports / sizeof host_imports[0]; i++) {
        const host_import *imp = &host_imports[i];
        wasm_functype_t *ty = eryx__functype(imp->params, imp->nresults);
        e = wasmtime_linker_define_func_unchecked(linker, ERYX__HOST_MODULE, sizeof ERYX__HOST_MODULE - 1, imp->name,
                                                  strlen(imp->name), ty, host_call_cb, (void *)imp, NULL);
        wasm_functype_delete(ty);
    }
    return e;
}
