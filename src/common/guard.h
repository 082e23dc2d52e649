/*
** Interrupting guest code with no check in it (docs/RUNTIME.md, "Interrupts"):
** another thread revokes all access to the guest's linear memory, the guest's
** next load or store faults, and wasmtime turns a fault at a wasm memory access
** into a trap. A store's guard keeps that away from host code, which reads and
** writes the same memory outside wasm code (where a fault would be a crash):
**
**   HOST      the store's thread runs host code (the idle state)
**   WASM      it runs wasm code: the only state a revocation starts from
**   REVOKING  a revoker is changing the protection (the thread waits it out)
**   REVOKED   access is revoked; the first host code to run takes it back
**
** Every way into wasm code (a guest call, a host call's return) goes through
** eryx__guard_to_wasm, every way out (a host call's entry, a guest call's return
** or trap) through eryx__guard_to_host, which restores access when it was
** revoked. So host code never runs on a revoked memory, and a revocation only
** ever happens while wasm code runs.
**
** What the guest can reach must fault: the memory's whole 4 GiB wasm32 range
** (eryx's memory creator reserves at least that, src/snapshot/snapmem.c). Wasm
** code that touches no memory is not stopped: eryx runs only CPython and side
** modules from read-only mounts (CPython's eval loop reads its bytecode from
** memory on every instruction), and the engine refuses bulk-memory instructions,
** whose host-side copies would fault outside wasm code (src/engine/engine.c).
*/
#ifndef ERYX_GUARD_H
#define ERYX_GUARD_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { ERYX__GUARD_HOST = 0, ERYX__GUARD_WASM = 1, ERYX__GUARD_REVOKING = 2, ERYX__GUARD_REVOKED = 3 };

/* The bytes a revocation covers from the memory's base. */
#define ERYX__GUARD_SPAN ((size_t)4 << 30)

typedef struct eryx__guard {
    atomic_int state;
    uint8_t *base; /* the linear memory (it never moves); NULL: not armed, nothing is revoked */
    /* The memory's accessible bytes now (called on the store's thread only). */
    size_t (*size)(void *user);
    void *user;
    /* mprotect, or a test's stand-in. */
    int (*protect)(void *addr, size_t len, int prot);
    atomic_uint revocations; /* how many took effect (for tests and statistics) */
    bool lost;               /* access could not be restored: the memory must never be touched again */
} eryx__guard;

/* Arms g for a memory at base (NULL disarms): size reports its accessible bytes.
** On the store's thread, in state HOST. */
void eryx__guard_arm(eryx__guard *g, uint8_t *base, size_t (*size)(void *user), void *user);

/* The store's thread enters wasm code. g may be NULL (no guard: nothing done). */
static inline void eryx__guard_to_wasm(eryx__guard *g) {
    if (g) atomic_store_explicit(&g->state, ERYX__GUARD_WASM, memory_order_seq_cst);
}

bool eryx__guard_reclaim(eryx__guard *g);

/* The store's thread is back in host code: access is restored if it was revoked
** (waiting out a revocation in progress). false only when it could not be (g->lost
** is then set): the caller must not touch the memory and must end the instance. */
static inline bool eryx__guard_to_host(eryx__guard *g) {
    if (!g) return true;
    int expect = ERYX__GUARD_WASM;
    if (atomic_compare_exchange_strong(&g->state, &expect, ERYX__GUARD_HOST)) return true;
    return eryx__guard_reclaim(g);
}

/* From any thread: revokes access if the store's thread is in wasm code now;
** true if it did. The caller keeps g alive for the call (src/engine/'s watch list
** holds its lock). Refused (false) while the thread runs host code: it checks its
** stop flag when it returns to wasm code, and the next revoke catches it there. */
bool eryx__guard_revoke(eryx__guard *g);

#endif
