/*
** The guest ABI: every import eryx gives python.wasm beyond WASI preview1, what
** the guest passes through them, and the per-store state their host side works
** on. The guest's side is guest/shim/eryx_shim.c (the import declarations) and
** guest/lib/_eryx_support.py (REPORT_*, and _REFUSED for cb_start's refusals);
** tests/guest_abi.py (ctest unit.guest_abi) fails if either disagrees with this
** file (or with ERYX__CB_*). Adding an import: a row in ERYX__HOST_IMPORTS, its
** BODY(name) in host.c, its declaration in the shim.
**
** Layering (no cycles): src/sandbox/ -> src/host/ (this) -> src/wasi/
** wasi_wasmtime.h (WASI glue) -> src/wasi/wasi.h. The store's data is an
** eryx__host, which only this layer and its owner (the sandbox) know; the WASI
** glue gets what it needs (eryx__wasi, memory, stop flag) through an accessor
** that host.c passes when it defines the imports, so WASI never depends on eryx's
** own imports, and the bounds and stop checks are written once, in the glue.
**
** Guest pointers: every (ptr, len) is checked against the memory's current size
** before the host touches it ((uint64_t)ptr + len > size: the call traps with
** "eryx: eryx.<name> passed memory outside the guest"); the view of memory is
** fetched again after anything that may run guest code. The hooks below see only
** checked host pointers, valid during the call.
*/
#ifndef ERYX_HOST_H
#define ERYX_HOST_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wasmtime.h>
#include "../common/errbuf.h"
#include "../common/guard.h"
#include "../wasi/wasi.h"

/* The import module of every import below. */
#define ERYX__HOST_MODULE "eryx"

/*
** The imports: X(name, params, results), one char per parameter ('i' = i32; the
** guest is wasm32, so pointers and sizes are i32), results 0 or 1 (an i32).
**
** report(kind, ptr, len)
**     Hands the host one piece of the execution's outcome: len bytes at ptr
**     (UTF-8), kind an ERYX__REPORT_*. A later report of the same kind replaces
**     the earlier one; unknown kinds are ignored.
** cb_start(name, name_len, args, args_len) -> id
**     Starts host callback `name` with args (JSON): its call id (>= 0), or a
**     negative refusal (ERYX__CB_* in src/sandbox/callbacks.h; ERYX__CB_UNKNOWN
**     also when the sandbox has no callbacks).
** cb_wait(timeout_ms) -> id
**     Waits for any started call to finish: its id, or -1 once timeout_ms passed
**     or the execution is being stopped (negative: no timeout; 0: just looks).
** cb_len(id) -> len
**     The byte length of finished call id's outcome, or -1 (no such call).
** cb_take(id, buf, cap) -> kind
**     Copies up to cap bytes of the outcome into buf and forgets the call: 0 a
**     JSON result, 1 an error message (UTF-8), -1 no such call.
** dl_open(path, path_len, init, init_len, err, err_cap) -> index
**     Loads the extension side module at path (a file in the guest's VFS) into
**     this instance (docs/LATE-LINKING.md): the function-table index of its
**     function named init, or -1 with a NUL-terminated message in err (at most
**     err_cap bytes). path < 4096 and init < 256 bytes. The names are copied out
**     before loading runs guest code (allocation may move memory); err is written
**     after, through a fresh view.
**
** The network (src/net/, docs/NETWORK.md). Each returns a negative WASI errno on
** failure, -ENOTCAPABLE (-76) when the sandbox has no network; after any failure
** net_error gives a message naming the host and the rule. Lengths: the full
** length, of which at most out_cap bytes are copied (call again with more room).
** net_resolve(name, name_len, family, out, out_cap) -> len
**     The addresses name (a host name or an IP literal in any spelling) resolves
**     to that the policy allows, canonical text one per line, into out. family 0
**     any, 4, 6. The host remembers each (name, address) pair it returned.
**     -EACCES (name or every address refused), -ENOENT (no such name), -EAGAIN
**     (temporary failure), -ETIMEDOUT.
** net_connect(name, name_len, addr, addr_len, port, flags) -> fd
**     A TCP connection as a new stream fd. addr (an IP literal) given: there, and
**     name, if also given, must be a name net_resolve returned addr for (the
**     connection is then "to name"); name alone: resolved, each allowed address
**     tried in order. flags: 1 non-blocking (the fd polls writable once the
**     connect ends; net_info's "error" says how), 2 IPv4 only, 4 IPv6 only.
**     -EMFILE past the sandbox's max_connections, -ETIMEDOUT past its connect
**     timeout.
** net_tls(fd, opts, opts_len) -> state
**     Starts TLS on fd (first call: opts is a JSON object with server_name,
**     verify, check_hostname, cadata, alpn, min_version, max_version) or continues
**     its handshake: 0 done, 1 want read, 2 want write (non-blocking fds; a
**     blocking fd finishes inside), -1000 certificate verification failed, else
**     -errno (-EPROTO: a TLS protocol error).
** net_info(fd, out, out_cap) -> len
**     JSON {"peer": [ip, port], "local": [ip, port], "name": str|null, "error":
**     errno (0 connected, EINPROGRESS still connecting), "tls": null|{...}}.
** net_error(out, out_cap) -> len
**     The instance's last network failure message (UTF-8).
*/
#define ERYX__HOST_IMPORTS(X)   \
    X(report, "iii", 0)         \
    X(cb_start, "iiii", 1)      \
    X(cb_wait, "i", 1)          \
    X(cb_len, "i", 1)           \
    X(cb_take, "iii", 1)        \
    X(dl_open, "iiiiii", 1)     \
    X(net_resolve, "iiiii", 1)  \
    X(net_connect, "iiiiii", 1) \
    X(net_tls, "iii", 1)        \
    X(net_info, "iii", 1)       \
    X(net_error, "ii", 1)

/* What eryx.report's kind means (the guest's names: REPORT_* in _eryx_support.py). */
enum {
    ERYX__REPORT_EXC_TYPE = 1,     /* an uncaught exception's type name */
    ERYX__REPORT_EXC_MESSAGE = 2,  /* its message */
    ERYX__REPORT_TRACEBACK = 3,    /* its formatted traceback */
    ERYX__REPORT_RESULT = 4,       /* the result variable, JSON-encoded */
    ERYX__REPORT_RESULT_ERROR = 5, /* why the result variable could not be encoded */
};

/*
** One store's state: the store's data (wasmtime_store_new) points at it, and its
** owner (the sandbox) fills it in before instantiating. Every import finds it
** there; the hooks are the owner's, NULL when it offers none.
*/
typedef struct eryx__host {
    eryx__wasi *wasi;
    wasmtime_memory_t memory; /* the guest's exported memory, once instantiated */
    bool has_memory;
    /* eryx.report: data is valid only during the call. NULL: reports dropped. */
    void (*report)(void *user, int32_t kind, const uint8_t *data, size_t len);
    void *report_user;
    /* Non-zero once the execution must stop (timeout, cancel, output cap): every
    ** host call then traps at once, before and after doing its work, so a guest
    ** blocked in a host call (sleep, stdin) stops as soon as the call returns.
    ** NULL: never. */
    const atomic_int *stop;
    /* The memory's interrupt guard (src/common/guard.h), NULL: none (an engine with
    ** epoch checks). Every import leaves wasm code through it on entry and goes
    ** back through it on a normal return, so it never runs on revoked memory. */
    eryx__guard *guard;
    /* eryx.cb_*: host callbacks (src/sandbox/callbacks.c); NULL when none (every
    ** cb_* call then returns -1). */
    int32_t (*cb_start)(void *user, const uint8_t *name, size_t name_len, const uint8_t *args, size_t args_len);
    int32_t (*cb_wait)(void *user, int32_t timeout_ms);
    int32_t (*cb_len)(void *user, int32_t id);
    int32_t (*cb_take)(void *user, int32_t id, uint8_t *buf, size_t cap);
    void *cb_user;
    /* eryx.dl_open: load an extension side module (src/link/loader.h). path and init
    ** are host copies. ERYX_OK with the table index of the init function in
    ** *index, or a status with a message in err (host.c copies it into the guest's
    ** buffer, the ABI's (err, err_cap), truncated to fit). NULL: extensions refused. */
    eryx_status (*dl_open)(void *user, const char *path, const char *init, int32_t *index, eryx__errbuf *err);
    void *dl_user;
    /* eryx.net_*: the instance's network (src/net/net.h); NULL: networking off
    ** (every net_* call returns -ENOTCAPABLE). */
    struct eryx__net *net;
} eryx__host;

/* Defines every import the guest needs on linker: WASI preview1 (wasi_wasmtime.h)
** and ERYX__HOST_IMPORTS. Stores instantiated through it must have an eryx__host
** as their data. NULL on success, else an error the caller deletes. */
wasmtime_error_t *eryx__define_imports(wasmtime_linker_t *linker);

#endif
