/*
** The sandbox contract (docs/RUNTIME.md, "Limits: the sandbox contract"), measured:
** how long after a 50 ms deadline, or a cancel from another thread, an execution
** returns, for a Python loop, a C loop, time.sleep and a read on a stdin fd; and what
** epoch checks and fuel metering cost on the CPU-bound loop (the engine kinds,
** interleaved). The engine without epoch checks needs the library's benchmark hooks.
*/
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../sandbox/sandbox_internal.h"
#include "bench.h"

#define CONTRACT_SAFETY_TIMEOUT_MS 10000         /* only if a cancel failed to stop the guest */
#define LOOP_FUEL_BUDGET UINT64_C(1000000000000) /* 10^12: never reached by LOOP */
enum { CONTRACT_MIN_RUNS = 20, CONTRACT_RUNS_DIVISOR = 20 };

static const char LOOP[] = ERYX__BENCH_LOOP;

const eryx__bench_case eryx__bench_intr[INTR_CASES] = {
    {"loop", "pure-Python loop (while True: pass)", "while True: pass"},
    {"cloop", "C loop in the interpreter (sum(range(10**12)))", "sum(range(10**12))"},
    {"sleep", "time.sleep(100)", "import time\ntime.sleep(100)"},
    {"stdin", "read on a stdin fd (an open, empty pipe)", "import sys\nsys.stdin.buffer.read(1)"},
};
const int eryx__bench_cancel_case[CANCEL_CASES] = {INTR_LOOP, INTR_SLEEP};
const eryx__bench_case eryx__bench_loop_kind[LOOP_KINDS] = {
    {"no_epoch", "no epoch checks, no fuel (STANDARD, the default: interrupts revoke memory)", NULL},
    {"epoch", "epoch checks (EPOCH, the fallback: ERYX_INTERRUPT=epoch)", NULL},
    {"fuel", "epoch checks + fuel (FUEL, --fuel)", NULL},
};


/* Points b at an engine kind (LOOP_*): FUEL through the public call (with a budget
** LOOP never reaches), the others through the internal one (no budget). Without the
** library's benchmark hooks there is no choice: no fuel means the builder's default
** (STANDARD, unless ERYX_INTERRUPT=epoch). */
static void use_engine(eryx_builder *b, int kind) {
    if (kind == LOOP_FUEL) {
        eryx_builder_set_fuel(b, LOOP_FUEL_BUDGET);
    } else {
        eryx_builder_set_fuel(b, 0);
#if ERYX__BENCH_HOOKS
        eryx__builder_set_engine(b, kind == LOOP_EPOCH ? ERYX__TOOLS_ENGINE_EPOCH : ERYX__TOOLS_ENGINE_STANDARD);
#endif
    }
}

/* Whether this build measures the engine kind (EPOCH needs the hooks). */
static int measured(int kind) { return ERYX__BENCH_HOOKS || kind != LOOP_EPOCH; }

typedef struct canceller {
    eryx_sandbox *s;
    uint64_t at_ns, cancel_ns; /* when to cancel; when it was called (CLOCK_MONOTONIC) */
} canceller;

static void *canceller_main(void *arg) {
    canceller *c = arg;
    struct timespec ts = {(time_t)(c->at_ns / 1000000000u), (long)(c->at_ns % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
    }
    c->cancel_ns = eryx__bench_now_ns();
    eryx_sandbox_cancel(c->s);
    return NULL;
}

int eryx__bench_contract_run(eryx_builder *b, int runs, eryx__bench_contract *c) {
    uint64_t t_start = eryx__bench_now_ns();
    int rc = -1, fds[2] = {-1, -1};
    eryx_sandbox *s = NULL, *ls[LOOP_KINDS] = {0};
    size_t n = (size_t)runs / CONTRACT_RUNS_DIVISOR;
    if (n < CONTRACT_MIN_RUNS) n = CONTRACT_MIN_RUNS;
    c->runs = n;
    uint64_t *v[INTR_CASES + CANCEL_CASES] = {0};
    for (int k = 0; k < INTR_CASES + CANCEL_CASES; k++)
        if (!(v[k] = calloc(n, sizeof(uint64_t)))) {
            fprintf(stderr, "eryx bench: out of memory\n");
            goto out;
        }
    if (pipe(fds) != 0) {
        fprintf(stderr, "eryx bench: pipe: %s\n", strerror(errno));
        goto out;
    }
    eryx_status st;

    /* Timeouts: every case stopped at its 50 ms deadline. */
    use_engine(b, LOOP_NO_EPOCH);
    eryx_builder_set_timeout_ms(b, CONTRACT_TIMEOUT_MS);
    st = eryx_sandbox_new(b, &s);
    if (st != ERYX_OK) {
        rc = eryx__bench_fail(b, "creating a sandbox with a timeout", st);
        goto out;
    }
    eryx_sandbox_set_stdin_fd(s, fds[0]); /* the write end stays open: reads block */
    const uint64_t limit_ns = (uint64_t)CONTRACT_TIMEOUT_MS * 1000000u;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < INTR_CASES; k++) {
            uint64_t t0 = eryx__bench_now_ns();
            st = eryx_sandbox_execute(s, eryx__bench_intr[k].code, strlen(eryx__bench_intr[k].code), NULL);
            uint64_t el = eryx__bench_now_ns() - t0;
            if (st != ERYX_ERR_TIMEOUT) {
                fprintf(stderr, "eryx bench: %s with a timeout gave %s, not ERYX_ERR_TIMEOUT: %s\n",
                        eryx__bench_intr[k].label, eryx_status_name(st), eryx_sandbox_errmsg(s));
                goto out;
            }
            v[k][i] = el > limit_ns ? el - limit_ns : 0;
        }
    for (int k = 0; k < INTR_CASES; k++) c->intr[k] = eryx__bench_summarize(v[k], n);
    eryx_sandbox_free(s);
    s = NULL;

    /* Cancel: another thread calls eryx_sandbox_cancel 20 ms in. */
    eryx_builder_set_timeout_ms(b, CONTRACT_SAFETY_TIMEOUT_MS);
    st = eryx_sandbox_new(b, &s);
    if (st != ERYX_OK) {
        rc = eryx__bench_fail(b, "creating a sandbox to cancel", st);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < CANCEL_CASES; k++) {
            const char *code = eryx__bench_intr[eryx__bench_cancel_case[k]].code;
            pthread_t th;
            canceller cc = {.s = s, .at_ns = eryx__bench_now_ns() + (uint64_t)CONTRACT_CANCEL_AFTER_MS * 1000000u};
            if (pthread_create(&th, NULL, canceller_main, &cc) != 0) {
                fprintf(stderr, "eryx bench: cannot start a thread\n");
                goto out;
            }
            st = eryx_sandbox_execute(s, code, strlen(code), NULL);
            uint64_t t_end = eryx__bench_now_ns();
            pthread_join(th, NULL);
            if (st != ERYX_ERR_CANCELLED) {
                fprintf(stderr, "eryx bench: cancelling %s gave %s, not ERYX_ERR_CANCELLED: %s\n",
                        eryx__bench_intr[eryx__bench_cancel_case[k]].label, eryx_status_name(st),
                        eryx_sandbox_errmsg(s));
                goto out;
            }
            v[INTR_CASES + k][i] = t_end > cc.cancel_ns ? t_end - cc.cancel_ns : 0;
        }
    for (int k = 0; k < CANCEL_CASES; k++) c->cancel[k] = eryx__bench_summarize(v[INTR_CASES + k], n);
    eryx_sandbox_free(s);
    s = NULL;

    /* What epoch checks and fuel cost on LOOP. The first sandbox of a kind may
    ** compile the interpreter for its engine (once per machine, then cached) and,
    ** pre-initialized, build its snapshot: the warm-up, reported apart. */
    eryx_builder_set_timeout_ms(b, 0);
    for (int k = 0; k < LOOP_KINDS; k++) {
        if (!measured(k)) {
            c->first_create_ms[k] = c->loop_med_ms[k] = -1;
            for (int r = 0; r < LOOP_ROUNDS; r++) c->loop_ms[k][r] = -1;
            continue;
        }
        use_engine(b, k);
        uint64_t t0 = eryx__bench_now_ns();
        st = eryx_sandbox_new(b, &ls[k]);
        c->first_create_ms[k] = (eryx__bench_now_ns() - t0) / 1e6;
        if (st != ERYX_OK) {
            rc = eryx__bench_fail(b, "creating a sandbox for the engine comparison", st);
            goto out;
        }
        if ((st = eryx_sandbox_execute(ls[k], "pass", 4, NULL)) != ERYX_OK) {
            fprintf(stderr, "eryx bench: execute (%s): %s\n", eryx__bench_loop_kind[k].key, eryx_sandbox_errmsg(ls[k]));
            goto out;
        }
    }
    for (int r = 0; r < LOOP_ROUNDS; r++)
        for (int j = 0; j < LOOP_KINDS; j++) {
            int k = (j + r) % LOOP_KINDS; /* rotate the order: no kind always runs first */
            if (!measured(k)) continue;
            eryx_result *res = NULL;
            uint64_t t0 = eryx__bench_now_ns();
            st = eryx_sandbox_execute(ls[k], LOOP, sizeof LOOP - 1, &res);
            c->loop_ms[k][r] = (eryx__bench_now_ns() - t0) / 1e6;
            if (k == LOOP_FUEL && res) c->loop_fuel_units = eryx_result_fuel_consumed(res);
            eryx_result_free(res);
            if (st != ERYX_OK) {
                fprintf(stderr, "eryx bench: loop (%s): %s\n", eryx__bench_loop_kind[k].key,
                        eryx_sandbox_errmsg(ls[k]));
                goto out;
            }
        }
    for (int k = 0; k < LOOP_KINDS; k++) {
        if (!measured(k)) continue;
        double m[LOOP_ROUNDS];
        memcpy(m, c->loop_ms[k], sizeof m);
        for (int i = 1; i < LOOP_ROUNDS; i++) /* insertion sort: 3 values */
            for (int j = i; j > 0 && m[j - 1] > m[j]; j--) {
                double t = m[j];
                m[j] = m[j - 1];
                m[j - 1] = t;
            }
        c->loop_med_ms[k] = m[LOOP_ROUNDS / 2];
    }
    rc = 0;
out:
    use_engine(b, LOOP_NO_EPOCH);
    eryx_builder_set_timeout_ms(b, 0);
    eryx_sandbox_free(s);
    for (int k = 0; k < LOOP_KINDS; k++) eryx_sandbox_free(ls[k]);
    for (int k = 0; k < 2; k++)
        if (fds[k] >= 0) close(fds[k]);
    for (int k = 0; k < INTR_CASES + CANCEL_CASES; k++) free(v[k]);
    c->seconds = (eryx__bench_now_ns() - t_start) / 1e9;
    return rc;
}
