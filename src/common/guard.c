/* The interrupt guard of a store's linear memory; see guard.h. */
#include "guard.h"
#include <sched.h>
#include <sys/mman.h>

void eryx__guard_arm(eryx__guard *g, uint8_t *base, size_t (*size)(void *user), void *user) {
    atomic_store(&g->state, ERYX__GUARD_HOST);
    g->base = base;
    g->size = size;
    g->user = user;
    if (!g->protect) g->protect = mprotect;
    g->lost = false;
}

bool eryx__guard_revoke(eryx__guard *g) {
    int expect = ERYX__GUARD_WASM;
    if (!g->base || !atomic_compare_exchange_strong(&g->state, &expect, ERYX__GUARD_REVOKING)) return false;
    /* Pages past the memory's size are PROT_NONE already; so are the reservation's. */
    if (g->protect(g->base, ERYX__GUARD_SPAN, PROT_NONE) != 0) {
        /* Nothing changed (or the kernel undid it): the guest runs on, and the
        ** caller tries again on its next tick. */
        atomic_store(&g->state, ERYX__GUARD_WASM);
        return false;
    }
    atomic_fetch_add(&g->revocations, 1);
    atomic_store(&g->state, ERYX__GUARD_REVOKED);
    return true;
}

/* The slow way back to host code: the thread left wasm code while a revocation was
** in progress or done (or it was in host code already: nested, or after a trap a
** host call raised). */
bool eryx__guard_reclaim(eryx__guard *g) {
    int st;
    /* A revoker holds REVOKING for one mprotect: spin it out, yielding the CPU. */
    while ((st = atomic_load(&g->state)) == ERYX__GUARD_REVOKING) sched_yield();
    if (st != ERYX__GUARD_REVOKED) { /* HOST already, or WASM: no revoker can be running now */
        atomic_store(&g->state, ERYX__GUARD_HOST);
        return !g->lost;
    }
    /* The first size() bytes were readable and writable (snapmem.c's layout); a
    ** memory.grow while revoked made its new pages so again, which this repeats. */
    size_t size = g->size ? g->size(g->user) : 0;
    if (size && g->protect(g->base, size, PROT_READ | PROT_WRITE) != 0) g->lost = true;
    atomic_store(&g->state, ERYX__GUARD_HOST);
    return !g->lost;
}
