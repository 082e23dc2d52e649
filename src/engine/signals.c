/*
** Keeping wasmtime's signal handlers first; see engine.h (eryx__signals_*).
**
** wasmtime turns a fault in wasm code (an out-of-bounds access, a revoked memory,
** `unreachable`) into a trap with the handlers it installs when the first engine is
** made, chaining to the handler that was there before. A handler installed later
** by someone else (Python's faulthandler.enable(), a runtime loaded afterwards) runs
** first instead, and treats the guest's fault as the process's crash: it kills the
** process. Every timeout of the standard engine is such a fault (src/common/guard.h).
** So before guest code runs, eryx checks each signal's handler and, if another took
** its place, puts its own in front: a fault on a thread that is inside a guest call
** goes to wasmtime's handler (which chains to its own predecessor when the fault is
** not in wasm code), any other to the newcomer, which thus keeps its meaning for the
** rest of the process.
*/
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "../common/process_state.h"
#include "engine.h"

static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE};
#define NSIGS (sizeof sigs / sizeof sigs[0])

/* Per signal: wasmtime's action (recorded after the first engine), and the
** newcomers' that eryx's front handler passes other faults to: each kept in its
** own slot, never overwritten (a handler may be reading one while a later one is
** installed), the latest published by index (-1: none). Past MAX_SAVED newcomers a
** signal is left to the last one. No heap: handlers stay installed after
** eryx_shutdown (as wasmtime's do), so this state does too. */
#define MAX_SAVED 16
ERYX__PROCESS_STATE static struct sigaction wasmtime_act[NSIGS];
ERYX__PROCESS_STATE static bool recorded;
ERYX__PROCESS_STATE static struct sigaction saved[NSIGS][MAX_SAVED];
ERYX__PROCESS_STATE static int nsaved[NSIGS];
ERYX__PROCESS_STATE static atomic_int next_idx[NSIGS] = {-1, -1, -1, -1};
ERYX__PROCESS_STATE static atomic_int busy[NSIGS]; /* front() is passing a fault to the newcomer */
ERYX__PROCESS_STATE static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The threads inside a guest call (eryx__signals_enter/leave): a lock-free open-
** addressed table of thread ids (0: free), read by the signal handler (no TLS: a
** dlopen'ed library's thread-locals need __tls_get_addr, which may allocate, and
** initial-exec space is not there for it in Python's process). Past SLOTS threads
** in guest calls at once, a thread's faults are not known to be the guest's. */
#define SLOTS 4096u
ERYX__PROCESS_STATE static _Atomic(unsigned long) slots[SLOTS];

static unsigned home(unsigned long id) { return (unsigned)((id >> 6) * 2654435761u) % SLOTS; }

int eryx__signals_enter(void) {
    unsigned long me = (unsigned long)pthread_self();
    for (unsigned k = 0, i = home(me); k < SLOTS; k++, i = (i + 1) % SLOTS) {
        unsigned long free_ = 0;
        if (atomic_compare_exchange_strong(&slots[i], &free_, me)) return (int)i;
    }
    return -1;
}

void eryx__signals_leave(int slot) {
    if (slot >= 0) atomic_store(&slots[slot], 0);
}

static bool in_guest(void) {
    unsigned long me = (unsigned long)pthread_self();
    for (unsigned k = 0, i = home(me); k < SLOTS; k++, i = (i + 1) % SLOTS)
        if (atomic_load(&slots[i]) == me) return true;
    return false;
}

static int index_of(int sig) {
    for (size_t i = 0; i < NSIGS; i++)
        if (sigs[i] == sig) return (int)i;
    return -1;
}

static void call(const struct sigaction *a, int sig, siginfo_t *info, void *uc) {
    if (a->sa_flags & SA_SIGINFO) {
        a->sa_sigaction(sig, info, uc);
    } else if (a->sa_handler == SIG_DFL) {
        /* The default action: let the faulting instruction run again into it. */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(sig, &dfl, NULL);
    } else if (a->sa_handler != SIG_IGN) {
        a->sa_handler(sig);
    }
}

static void front(int sig, siginfo_t *info, void *uc) {
    int i = index_of(sig);
    if (i < 0) return;
    int n = atomic_load(&next_idx[i]);
    const struct sigaction *next = n >= 0 ? &saved[i][n] : NULL;
    if (!next || in_guest()) { /* wasmtime's may not return (it unwinds to the trap) */
        call(&wasmtime_act[i], sig, info, uc);
        return;
    }
    /* A newcomer installed over front chains back to it: wasmtime's ends the chain. */
    if (atomic_exchange(&busy[i], 1)) {
        call(&wasmtime_act[i], sig, info, uc);
        return;
    }
    call(next, sig, info, uc);
    atomic_store(&busy[i], 0);
}

void eryx__signals_record(void) {
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < NSIGS && !recorded; i++) sigaction(sigs[i], NULL, &wasmtime_act[i]);
    recorded = true;
    pthread_mutex_unlock(&lock);
}

int eryx__signals_assert(void) {
    if (!recorded) return 0;
    int moved = 0;
    for (size_t i = 0; i < NSIGS; i++) {
        struct sigaction cur;
        if (sigaction(sigs[i], NULL, &cur) != 0) continue;
        bool ours = (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == front;
        bool theirs = (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == wasmtime_act[i].sa_sigaction;
        if (ours || theirs) continue; /* wasmtime's, or eryx's in front of it: first already */
        pthread_mutex_lock(&lock);
        if (nsaved[i] < MAX_SAVED && sigaction(sigs[i], NULL, &saved[i][nsaved[i]]) == 0) {
            atomic_store(&next_idx[i], nsaved[i]++);
            struct sigaction f = wasmtime_act[i];
            f.sa_sigaction = front;
            f.sa_flags |= SA_SIGINFO;
            if (sigaction(sigs[i], &f, NULL) == 0) moved++;
        }
        pthread_mutex_unlock(&lock);
    }
    return moved;
}
