/*
** `eryx [options] bench [--json] [--runs N] [--numpy PACKAGE] [--corpus DIR]` (eryx-bench): in-process
** measurements of the library itself (and, with --numpy, of numpy late-linked:
** caching.c). This file runs the parts in order and reports the figures.
** One run measures the builder's sandboxes with pre-initialization on (snapshot
** module) and off (Python started in every instance): creation, a trivial execute
** from the start state (the reset included) and with kept state, the private memory
** of idle sandboxes, executes per second on 1 and 2 threads, then the CPU-bound
** loop and the cache tiers, then the sandbox contract (docs/RUNTIME.md): how long
** after a 50 ms deadline, or a cancel from another thread, an execution returns, for
** a Python loop, a C loop, time.sleep and a read on a stdin fd, and what epoch checks
** and fuel metering cost on the CPU-bound loop (the three engine kinds, interleaved),
** and last the workload corpus (corpus.c): real snippets, each in a fresh sandbox.
** Every timed figure is a p50/p99 over many runs (N, 1000 by default, for the fast
** cases; N/20, at least 20, for the stops) or a median of rounds (the loops).
** Output: a table with the targets next to the figures, or one JSON object with
** stable snake_case keys whose names carry their units. A figure that needs the
** library's benchmark hooks (cmake -DERYX_BENCH_HOOKS=ON: the creation phases, the
** engine with epoch checks) is null in the JSON and "n/a" in the table without
** them, and "bench_hooks" says which build it was.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../sandbox/sandbox_internal.h"
#include "bench.h"

/* The targets of the pre-initialization work, printed next to the figures. */
#define TARGET_CREATE_P50_US 200.0
#define TARGET_EXECUTE_FRESH_P50_US 300.0
#define TARGET_PRIVATE_KIB 4096.0 /* 4 MB, read as 4 MiB */
#define TARGET_EXECUTES_PER_S 5000.0

enum { KEEP_EXECUTES_PER_RUN = 10, NOPREINIT_EXECUTE_DIVISOR = 10 };
#define SESSION_ROUNDS 20 /* session snapshots and restores timed */

static const char LOOP[] = ERYX__BENCH_LOOP;

/* a over b in percent; NaN when either was not measured (negative). */
static double pct_over(double a, double b) { return a >= 0 && b > 0 ? (a / b - 1.0) * 100.0 : NAN; }

/* ---- output -------------------------------------------------------------------------- */

static const char *verdict(int met) { return met ? "met" : "NOT met"; }

#define NEEDS_HOOKS "(needs cmake -DERYX_BENCH_HOOKS=ON)"

/* A figure of the library's benchmark hooks, in us: "n/a" when not measured (< 0). */
static void print_hook_us(const char *label, double v) {
    if (v < 0) printf("  %-44s %12s      %s\n", label, "n/a", NEEDS_HOOKS);
    else printf("  %-44s %12.1f us\n", label, v);
}

static void print_mode(const char *title, const eryx__bench_mode_result *m, const eryx__bench_mode_result *ref) {
    printf("%s\n", title);
    printf("  %-44s %12.1f us\n", "first sandbox of this configuration", m->first_create_us);
    printf("  %-44s %12.1f us   (p99 %.1f us, %zu runs)", "sandbox creation p50 (warm in-process)", m->create.p50,
           m->create.p99, m->create.n);
    if (ref) printf("   %.1fx pre-init on\n", m->create.p50 / ref->create.p50);
    else printf("   target <= %.0f us: %s\n", TARGET_CREATE_P50_US, verdict(m->create.p50 <= TARGET_CREATE_P50_US));
    print_hook_us("  of which: module + VFS set-up p50", m->phase[0].p50);
    print_hook_us("  of which: instantiate p50", m->phase[1].p50);
    print_hook_us(ref ? "  of which: Python start p50" : "  of which: restore call (argv, reseed) p50",
                  m->phase[2].p50);
    printf("  %-44s %12.1f    (page faults of the creating thread)\n", "  minor page faults per creation",
           m->faults_per_create);
    printf("  %-44s %12.1f us   (p99 %.1f us)\n", "sandbox free p50", m->free_.p50, m->free_.p99);
    printf("  %-44s %12.1f us   (p99 %.1f us, %zu runs)", "execute('pass'), fresh state p50", m->exec.p50, m->exec.p99,
           m->exec.n);
    if (ref) printf("   %.1fx pre-init on\n", m->exec.p50 / ref->exec.p50);
    else
        printf("   target <= %.0f us: %s\n", TARGET_EXECUTE_FRESH_P50_US,
               verdict(m->exec.p50 <= TARGET_EXECUTE_FRESH_P50_US));
    print_hook_us("  of which, the reset: set-up p50", m->reset_phase[0].p50);
    print_hook_us("  of which, the reset: instantiate p50", m->reset_phase[1].p50);
    print_hook_us(ref ? "  of which, the reset: Python start p50" : "  of which, the reset: restore p50",
                  m->reset_phase[2].p50);
    printf("  %-44s %12.1f\n", "  minor page faults per execute", m->faults_per_exec);
    if (m->private_kib >= 0) {
        printf("  %-44s %12.0f KiB  (Rss %.0f KiB)", "private memory per idle sandbox (50 kept)", m->private_kib,
               m->rss_kib);
        if (ref) printf("\n");
        else
            printf("  target <= 4 MB (%.0f KiB): %s\n", TARGET_PRIVATE_KIB,
                   verdict(m->private_kib <= TARGET_PRIVATE_KIB));
    } else {
        printf("  %-44s %12s\n", "private memory per idle sandbox", "(no /proc/self/smaps_rollup)");
    }
}

static void print_throughput_time(const char *label, const eryx__bench_throughput *tp) {
    if (tp->oncpu < 0) return;
    printf("  %-44s %5.1f%% on CPU, %.1f%% waiting for a CPU, %.1f%% blocked\n", label, tp->oncpu * 100,
           tp->runqueue * 100, tp->blocked * 100);
    printf("  %-44s %12.1f us   (user %.1f, system %.1f; %.1f TLB shootdowns, machine-wide)\n",
           "    CPU time per execute", tp->cpu_us_per_execute, tp->user_us_per_execute, tp->sys_us_per_execute,
           tp->tlb_per_execute);
}

/* JSON number, or null for a figure that could not be measured (< 0). */
static void json_num(const char *key, double v, int decimals) {
    if (v < 0) printf(", \"%s\": null", key);
    else printf(", \"%s\": %.*f", key, decimals, v);
}

/* JSON number that may be negative (a difference); null when NAN. */
static void json_signed(const char *key, double v, int decimals) {
    if (isnan(v)) printf(", \"%s\": null", key);
    else printf(", \"%s\": %.*f", key, decimals, v);
}

/* The figures of one mode; the mode's suffix ("" or "_nopreinit") goes before the
** unit: create_p50_us, create_nopreinit_p50_us. */
static void json_mode(const char *sfx, const eryx__bench_mode_result *m) {
    char k[96];
#define J(stem, tail, v, d)                               \
    do {                                                  \
        snprintf(k, sizeof k, "%s%s%s", stem, sfx, tail); \
        json_num(k, v, d);                                \
    } while (0)
    J("first_create", "_us", m->first_create_us, 1);
    J("create", "_p50_us", m->create.p50, 1);
    J("create", "_p99_us", m->create.p99, 1);
    J("create_setup", "_p50_us", m->phase[0].p50, 1);
    J("create_instantiate", "_p50_us", m->phase[1].p50, 1);
    J("create_python_start", "_p50_us", m->phase[2].p50, 1);
    J("create_minor_faults", "", m->faults_per_create, 1);
    J("free", "_p50_us", m->free_.p50, 1);
    J("free", "_p99_us", m->free_.p99, 1);
    J("execute_fresh", "_p50_us", m->exec.p50, 1);
    J("execute_fresh", "_p99_us", m->exec.p99, 1);
    J("execute_fresh_reset_setup", "_p50_us", m->reset_phase[0].p50, 1);
    J("execute_fresh_reset_instantiate", "_p50_us", m->reset_phase[1].p50, 1);
    J("execute_fresh_reset_python_start", "_p50_us", m->reset_phase[2].p50, 1);
    J("execute_fresh_minor_faults", "", m->faults_per_exec, 1);
    J("private_kib_per_idle_sandbox", "", m->private_kib, 1);
    J("rss_kib_per_idle_sandbox", "", m->rss_kib, 1);
#undef J
}

/* The workload corpus's figures (issue 16; corpus.c): null when there was no corpus. */
static void json_corpus(const eryx__bench_corpus_result *c) {
    printf(", \"corpus_snippets\": %zu, \"corpus_snippets_failed\": %zu, \"corpus_runs_per_snippet\": %zu", c->snippets,
           c->failed, c->found ? c->runs : 0);
    json_num("corpus_fresh_p50_us", c->p50, 1);
    json_num("corpus_fresh_p90_us", c->p90, 1);
    json_num("corpus_geomean_p50_us", c->geomean, 1);
    json_num("snippet10_fresh_p50_us", c->s10_p50, 1);
    json_num("snippet10_fresh_p90_us", c->s10_p90, 1);
    json_num("corpus_s", c->found ? c->seconds : -1, 1);
}

static void print_corpus(const eryx__bench_corpus_result *c, const char *dir) {
    if (!c->found) {
        printf("workload corpus: none (%s)\n", dir ? dir : "--corpus none");
        return;
    }
    printf(
        "workload corpus (%s: %zu snippets measured, %zu left out; %zu runs each, a fresh sandbox per run; %.1f s)\n",
        dir, c->snippets, c->failed, c->runs, c->seconds);
    printf("  %-44s %12.1f us   (p90 %.1f us, over all runs)\n", "create + execute + free p50", c->p50, c->p90);
    printf("  %-44s %12.1f us\n", "geometric mean of the snippets' p50s", c->geomean);
    printf("  %-44s %12.1f us   (p90 %.1f us)   target <= 2000 us: %s\n", "snippet 00 (issue 16's 10 lines) p50",
           c->s10_p50, c->s10_p90, c->s10_p50 < 0 ? "n/a" : verdict(c->s10_p50 <= 2000.0));
}

/* ---- the benchmark -------------------------------------------------------------------- */

int eryx__bench_run(eryx_builder *b, const char *guest_dir, int json, int runs, const char *numpy_pkg,
                    const char *corpus_dir) {
    if (runs <= 0) runs = ERYX__BENCH_DEFAULT_RUNS;
    if (runs < 2) runs = 2;
    uint64_t bench_t0 = eryx__bench_now_ns();
    eryx__bench_numpy_result np;
    memset(&np, 0, sizeof np);
    if (numpy_pkg && eryx__bench_numpy(guest_dir, numpy_pkg, runs, &np) != 0) {
        fprintf(stderr, "eryx bench: the numpy part failed (see above)\n");
        return 3;
    }
    size_t nopre_exec_runs = (size_t)runs / NOPREINIT_EXECUTE_DIVISOR;
    if (nopre_exec_runs < 2) nopre_exec_runs = 2;
    size_t keep_runs = (size_t)runs * KEEP_EXECUTES_PER_RUN;
    /* Throughput: ~2 s per thread count at the default run count, less with fewer runs. */
    uint64_t tp_ns = (uint64_t)runs * 2000000u;
    if (tp_ns > 2000000000u) tp_ns = 2000000000u;
    if (tp_ns < 250000000u) tp_ns = 250000000u;
    eryx__bench_mode_result pre, nopre;
    memset(&pre, 0, sizeof pre);
    memset(&nopre, 0, sizeof nopre);
    eryx_sandbox *s = NULL, *keep = NULL;
    uint64_t *t_keep = calloc(keep_runs, sizeof *t_keep);
    int rc = 3, orig_preinit = 1;
    double first_us = -1;
    if (!t_keep) goto out;

    /* The first sandbox in the process, from the builder as given: its pre-init
    ** setting (the CLI's --no-cache turns it off) is restored at the end; both modes
    ** are measured with its other settings. */
    {
        eryx_sandbox *probe = NULL;
        uint64_t p0 = eryx__bench_now_ns();
        eryx_status st = eryx_sandbox_new(b, &probe);
        first_us = (eryx__bench_now_ns() - p0) / 1e3;
        if (st != ERYX_OK) {
            eryx__bench_fail(b, "creating a sandbox", st);
            goto out;
        }
        orig_preinit = eryx__sandbox_preinit(probe);
        eryx_sandbox_free(probe);
    }

    /* Pre-initialization on. */
    eryx_builder_set_preinit(b, 1);
    if (eryx__bench_mode(b, runs, (size_t)runs, &pre, &s, orig_preinit ? first_us : -1) != 0) goto out;
    /* Idle sandboxes after an import-heavy execute (idle_memory.c). */
    eryx__bench_idle_imports imports;
    if (eryx__bench_idle_after_imports(b, &imports) != 0) goto out;
    /* The same without the reset: a sandbox that keeps its state. */
    eryx_builder_set_keep_state(b, 1);
    eryx_status st = eryx_sandbox_new(b, &keep);
    eryx_builder_set_keep_state(b, 0);
    if (st != ERYX_OK) {
        eryx__bench_fail(b, "creating a keep-state sandbox", st);
        goto out;
    }
    long f0 = eryx__bench_minor_faults();
    for (size_t i = 0; i < keep_runs; i++) {
        eryx_result *r = NULL;
        uint64_t t0 = eryx__bench_now_ns();
        st = eryx_sandbox_execute(keep, "pass", 4, &r);
        t_keep[i] = eryx__bench_now_ns() - t0;
        eryx_result_free(r);
        if (st != ERYX_OK) {
            fprintf(stderr, "eryx bench: execute (keep state): %s\n", eryx_sandbox_errmsg(keep));
            goto out;
        }
    }
    double keep_faults = (double)(eryx__bench_minor_faults() - f0) / (double)keep_runs;
    eryx__bench_stats exec_keep = eryx__bench_summarize(t_keep, keep_runs);
    /* Session snapshots of that session with some state in it: size, and the time to
    ** take and to restore one (SESSION_ROUNDS each). */
    eryx__bench_stats snap_t = {0}, restore_t = {0};
    size_t snap_bytes = 0;
    {
        static const char state[] = "data = {i: str(i) for i in range(20000)}\nf = lambda x: x + 1\n";
        st = eryx_sandbox_execute(keep, state, sizeof state - 1, NULL);
        void *blob = NULL;
        for (int i = 0; st == ERYX_OK && i < SESSION_ROUNDS; i++) {
            eryx_blob_free(blob);
            blob = NULL;
            uint64_t t0 = eryx__bench_now_ns();
            st = eryx_sandbox_snapshot(keep, &blob, &snap_bytes);
            t_keep[i] = eryx__bench_now_ns() - t0;
        }
        if (st == ERYX_OK) snap_t = eryx__bench_summarize(t_keep, SESSION_ROUNDS);
        for (int i = 0; st == ERYX_OK && i < SESSION_ROUNDS; i++) {
            uint64_t t0 = eryx__bench_now_ns();
            st = eryx_sandbox_restore(keep, blob, snap_bytes);
            t_keep[i] = eryx__bench_now_ns() - t0;
        }
        if (st == ERYX_OK) restore_t = eryx__bench_summarize(t_keep, SESSION_ROUNDS);
        eryx_blob_free(blob);
        if (st != ERYX_OK) {
            fprintf(stderr, "eryx bench: session snapshot: %s\n", eryx_sandbox_errmsg(keep));
            goto out;
        }
    }
    eryx_sandbox_free(keep);
    keep = NULL;
    double cb_exec_us = -1, cb_us = eryx__bench_callback_round_trip_us(&cb_exec_us);
    /* The first execute in a just-made instance, without the reset after it (keep
    ** state): the run part of a fresh execute, first touches of its pages included. */
    long first_faults = 0;
    for (int i = 0; i < runs; i++) {
        eryx_builder_set_keep_state(b, 1);
        st = eryx_sandbox_new(b, &keep);
        eryx_builder_set_keep_state(b, 0);
        if (st != ERYX_OK) {
            eryx__bench_fail(b, "creating a keep-state sandbox", st);
            goto out;
        }
        eryx_result *r = NULL;
        f0 = eryx__bench_minor_faults();
        uint64_t t0 = eryx__bench_now_ns();
        st = eryx_sandbox_execute(keep, "pass", 4, &r);
        t_keep[i] = eryx__bench_now_ns() - t0;
        first_faults += eryx__bench_minor_faults() - f0;
        eryx_result_free(r);
        if (st != ERYX_OK) {
            fprintf(stderr, "eryx bench: execute (first in an instance): %s\n", eryx_sandbox_errmsg(keep));
            goto out;
        }
        eryx_sandbox_free(keep);
        keep = NULL;
    }
    eryx__bench_stats exec_first = eryx__bench_summarize(t_keep, (size_t)runs);
    eryx__bench_throughput tp1 = eryx__bench_executes_per_s(b, 1, tp_ns), tp2 = eryx__bench_executes_per_s(b, 2, tp_ns);
    double eps1 = tp1.per_s, eps2 = tp2.per_s;
    if (eps1 < 0 || eps2 < 0) goto out;
    uint64_t t0 = eryx__bench_now_ns();
    st = eryx_sandbox_execute(s, LOOP, sizeof LOOP - 1, NULL);
    uint64_t loop = eryx__bench_now_ns() - t0;
    if (st != ERYX_OK) {
        fprintf(stderr, "eryx bench: loop: %s\n", eryx_sandbox_errmsg(s));
        goto out;
    }
    eryx_sandbox_free(s);
    s = NULL;

    /* Pre-initialization off. */
    eryx_builder_set_preinit(b, 0);
    int nrc = eryx__bench_mode(b, runs, nopre_exec_runs, &nopre, NULL, orig_preinit ? -1 : first_us);
    eryx_builder_set_preinit(b, orig_preinit);
    if (nrc != 0) goto out;

    eryx__bench_tiers t;
    memset(&t, 0, sizeof t);
    if (eryx__bench_time_tiers(guest_dir, &t) != 0) {
        fprintf(stderr, "eryx bench: timing the cache tiers failed (is /tmp writable?)\n");
        goto out;
    }
    eryx__bench_stats disk_module = eryx__bench_summarize(t.disk_module, 20),
                      mem_module = eryx__bench_summarize(t.mem_module, 200),
                      disk_create = eryx__bench_summarize(t.disk_create, 10);

    /* The sandbox contract: stops (timeout, cancel) and what epoch checks and fuel cost. */
    eryx__bench_contract ct;
    memset(&ct, 0, sizeof ct);
    if (eryx__bench_contract_run(b, runs, &ct) != 0) goto out;
    double epoch_pct = pct_over(ct.loop_med_ms[LOOP_EPOCH], ct.loop_med_ms[LOOP_NO_EPOCH]),
           fuel_pct = pct_over(ct.loop_med_ms[LOOP_FUEL], ct.loop_med_ms[LOOP_EPOCH]),
           fuel_ne_pct = pct_over(ct.loop_med_ms[LOOP_FUEL], ct.loop_med_ms[LOOP_NO_EPOCH]);
    /* Last: it adds the corpus's callbacks to b. */
    eryx__bench_corpus_result corpus;
    if (eryx__bench_corpus(b, corpus_dir, runs, &corpus) != 0) goto out;
    double bench_s = (eryx__bench_now_ns() - bench_t0) / 1e9;
    if (json) {
        printf("{\"eryx_version\": \"%s\", \"runs_create\": %d, \"runs_execute\": %d, \"runs_execute_keep\": %zu, "
               "\"runs_execute_nopreinit\": %zu, \"idle_sandboxes\": %d, \"throughput_s\": %.2f",
               eryx_version(), runs, runs, keep_runs, nopre_exec_runs, IDLE_SANDBOXES, tp_ns / 1e9);
        /* Keys older tools read: create_* and first_create_us are pre-init on;
        ** execute_p50_us is the default builder's execute (fresh state). */
        json_mode("", &pre);
        json_mode("_nopreinit", &nopre);
        eryx__bench_idle_imports_print(&imports, 1);
        json_num("execute_p50_us", pre.exec.p50, 1);
        json_num("execute_p99_us", pre.exec.p99, 1);
        json_num("execute_keep_p50_us", exec_keep.p50, 1);
        json_num("execute_keep_p99_us", exec_keep.p99, 1);
        json_num("callback_round_trip_us", cb_us, 1);
        json_num("execute_with_callbacks_p50_us", cb_exec_us, 1);
        json_num("session_snapshot_bytes", (double)snap_bytes, 0);
        json_num("session_snapshot_p50_us", snap_t.p50, 1);
        json_num("session_snapshot_p99_us", snap_t.p99, 1);
        json_num("session_restore_p50_us", restore_t.p50, 1);
        json_num("session_restore_p99_us", restore_t.p99, 1);
        json_num("execute_keep_minor_faults", keep_faults, 2);
        json_num("execute_first_p50_us", exec_first.p50, 1);
        json_num("execute_first_p99_us", exec_first.p99, 1);
        json_num("execute_first_minor_faults", (double)first_faults / runs, 1);
        json_num("executes_per_s_1thread", eps1, 0);
        json_num("executes_per_s_2threads", eps2, 0);
        json_num("executes_cpu_us_per_execute_1thread", tp1.cpu_us_per_execute, 1);
        json_num("executes_cpu_us_per_execute_2threads", tp2.cpu_us_per_execute, 1);
        json_num("executes_user_us_per_execute_1thread", tp1.user_us_per_execute, 1);
        json_num("executes_sys_us_per_execute_1thread", tp1.sys_us_per_execute, 1);
        json_num("executes_user_us_per_execute_2threads", tp2.user_us_per_execute, 1);
        json_num("executes_sys_us_per_execute_2threads", tp2.sys_us_per_execute, 1);
        json_num("executes_tlb_shootdowns_per_execute_1thread", tp1.tlb_per_execute, 2);
        json_num("executes_tlb_shootdowns_per_execute_2threads", tp2.tlb_per_execute, 2);
        json_num("executes_oncpu_pct_1thread", tp1.oncpu < 0 ? -1 : tp1.oncpu * 100, 1);
        json_num("executes_runqueue_pct_1thread", tp1.runqueue < 0 ? -1 : tp1.runqueue * 100, 1);
        json_num("executes_blocked_pct_1thread", tp1.blocked < 0 ? -1 : tp1.blocked * 100, 1);
        json_num("executes_oncpu_pct_2threads", tp2.oncpu < 0 ? -1 : tp2.oncpu * 100, 1);
        json_num("executes_runqueue_pct_2threads", tp2.runqueue < 0 ? -1 : tp2.runqueue * 100, 1);
        json_num("executes_blocked_pct_2threads", tp2.blocked < 0 ? -1 : tp2.blocked * 100, 1);
        json_num("cpu_loop_10m_ms", loop / 1e6, 1);
        json_num("module_cold_ms", t.cold_module_ms, 1);
        json_num("module_warm_disk_p50_us", disk_module.p50, 1);
        json_num("module_warm_disk_p99_us", disk_module.p99, 1);
        json_num("module_warm_memory_p50_us", mem_module.p50, 2);
        json_num("module_warm_memory_p99_us", mem_module.p99, 2);
        json_num("create_cold_ms", t.cold_create_ms, 1);
        json_num("create_warm_disk_p50_us", disk_create.p50, 1);
        json_num("create_warm_disk_p99_us", disk_create.p99, 1);
        json_num("target_create_p50_us", TARGET_CREATE_P50_US, 0);
        json_num("target_execute_fresh_p50_us", TARGET_EXECUTE_FRESH_P50_US, 0);
        json_num("target_private_kib_per_idle_sandbox", TARGET_PRIVATE_KIB, 0);
        json_num("target_executes_per_s", TARGET_EXECUTES_PER_S, 0);
        /* The sandbox contract (times in ms; percentages may be negative: noise). */
        printf(", \"contract_runs\": %zu, \"contract_timeout_ms\": %d, \"contract_cancel_after_ms\": %d", ct.runs,
               CONTRACT_TIMEOUT_MS, CONTRACT_CANCEL_AFTER_MS);
        char k2[64];
        for (int k = 0; k < INTR_CASES; k++) {
            snprintf(k2, sizeof k2, "interrupt_%s_p50_ms", eryx__bench_intr[k].key);
            json_num(k2, ct.intr[k].p50 / 1e3, 3);
            snprintf(k2, sizeof k2, "interrupt_%s_p99_ms", eryx__bench_intr[k].key);
            json_num(k2, ct.intr[k].p99 / 1e3, 3);
        }
        for (int k = 0; k < CANCEL_CASES; k++) {
            snprintf(k2, sizeof k2, "cancel_%s_p50_ms", eryx__bench_intr[eryx__bench_cancel_case[k]].key);
            json_num(k2, ct.cancel[k].p50 / 1e3, 3);
            snprintf(k2, sizeof k2, "cancel_%s_p99_ms", eryx__bench_intr[eryx__bench_cancel_case[k]].key);
            json_num(k2, ct.cancel[k].p99 / 1e3, 3);
        }
        json_num("target_stop_p99_ms", TARGET_STOP_P99_MS, 0);
        printf(", \"loop_rounds\": %d", LOOP_ROUNDS);
        for (int k = 0; k < LOOP_KINDS; k++) {
            snprintf(k2, sizeof k2, "loop_%s_ms", eryx__bench_loop_kind[k].key);
            json_num(k2, ct.loop_med_ms[k], 1);
        }
        for (int k = 0; k < LOOP_KINDS; k++) { /* each round, in round order; null: not measured */
            printf(", \"loop_%s_rounds_ms\": %s", eryx__bench_loop_kind[k].key, ct.loop_ms[k][0] < 0 ? "null" : "[");
            for (int r = 0; r < LOOP_ROUNDS && ct.loop_ms[k][0] >= 0; r++)
                printf("%s%.1f%s", r ? ", " : "", ct.loop_ms[k][r], r + 1 == LOOP_ROUNDS ? "]" : "");
        }
        json_signed("epoch_overhead_pct", epoch_pct, 1);
        json_signed("fuel_overhead_pct", fuel_pct, 1);
        json_signed("fuel_vs_no_epoch_pct", fuel_ne_pct, 1);
        printf(", \"loop_fuel_units\": %llu", (unsigned long long)ct.loop_fuel_units);
        json_num("target_fuel_overhead_pct", TARGET_FUEL_OVERHEAD_PCT, 0);
        printf(", \"fuel_opt_in\": true"); /* eryx_builder_set_fuel: off unless a budget is set */
        for (int k = 0; k < LOOP_KINDS; k++) {
            snprintf(k2, sizeof k2, "first_create_%s_ms", eryx__bench_loop_kind[k].key);
            json_num(k2, ct.first_create_ms[k], 2);
        }
        if (numpy_pkg) {
            json_num("numpy_first_empty_cache_ms", np.cold_ms, 1);
            json_num("numpy_new_config_p50_ms", np.fresh.p50 / 1e3, 1);
            json_num("numpy_new_config_p99_ms", np.fresh.p99 / 1e3, 1);
            json_num("numpy_new_config_noimport_p50_ms", np.fresh_noimport.p50 / 1e3, 1);
            json_num("numpy_new_config_noimport_p99_ms", np.fresh_noimport.p99 / 1e3, 1);
            json_num("numpy_warm_create_p50_us", np.warm.p50, 1);
            json_num("numpy_warm_create_p99_us", np.warm.p99, 1);
            json_num("numpy_warm_create_vs_plain", np.warm.p50 / pre.create.p50, 2);
            json_num("numpy_import_nopreinit_p50_ms", np.import_.p50 / 1e3, 1);
            json_num("numpy_import_nopreinit_p99_ms", np.import_.p99 / 1e3, 1);
        }
        json_corpus(&corpus);
        json_num("contract_s", ct.seconds, 1);
        json_num("bench_s", bench_s, 1);
        /* Whether the hooks' figures (the phases, EPOCH) were measured: null when not. */
        printf(", \"bench_hooks\": %s", ERYX__BENCH_HOOKS ? "true" : "false");
        printf(", \"preinit\": %s}\n", orig_preinit ? "true" : "false");
    } else {
        printf("eryx %s in-process benchmark (%d runs per fast case; the targets are for pre-init on)\n",
               eryx_version(), runs);
        print_mode("pre-initialization on (snapshot module, the default)", &pre, NULL);
        printf("  %-44s %12.1f us   (p99 %.1f us, %zu runs)   no reset: for contrast\n",
               "execute('pass'), keep_state p50", exec_keep.p50, exec_keep.p99, keep_runs);
        printf("  %-48s %10.1f us   (%d sequential awaits of an echo callback, less the loop)\n",
               "host callback round trip", cb_us, CALLBACK_CALLS);
        printf("  %-48s %10.1f us   (200 runs; a sandbox with one callback registered)\n",
               "execute('pass'), fresh state, with callbacks p50", cb_exec_us);
        printf("  %-48s %10zu bytes  (a 20,000-entry dict and a lambda; zstd)\n", "session snapshot size", snap_bytes);
        printf("  %-48s %10.1f us   (p99 %.1f us, %d runs)\n", "session snapshot p50", snap_t.p50, snap_t.p99,
               SESSION_ROUNDS);
        printf("  %-48s %10.1f us   (p99 %.1f us, %d runs)\n", "session restore p50", restore_t.p50, restore_t.p99,
               SESSION_ROUNDS);
        printf("  %-44s %12.1f us   (p99 %.1f us, %d runs; %.1f minor faults each)\n",
               "execute('pass'), first in a new instance p50", exec_first.p50, exec_first.p99, runs,
               (double)first_faults / runs);
        printf("  %-44s %12.0f /s   (%.1f s)\n", "executes/s, fresh 'pass', 1 thread", eps1, tp_ns / 1e9);
        printf("  %-44s %12.0f /s   (%.2fx 1 thread)   target >= %.0f/s: %s\n", "executes/s, fresh 'pass', 2 threads",
               eps2, eps2 / eps1, TARGET_EXECUTES_PER_S, verdict(eps2 >= TARGET_EXECUTES_PER_S));
        print_throughput_time("  where 1 thread's time went", &tp1);
        print_throughput_time("  where 2 threads' time went", &tp2);
        printf("  %-44s %12.1f ms\n", "10M-iteration loop (x = i * i)", loop / 1e6);
        eryx__bench_idle_imports_print(&imports, 0);
        print_mode("pre-initialization off (Python started in every instance)", &nopre, &pre);
        printf("cache tiers (private cache dir)\n");
        printf("  %-44s %12.1f ms\n", "module: cold (compile + store)", t.cold_module_ms);
        printf("  %-44s %12.1f us   (p99 %.1f us)\n", "module: warm from disk p50", disk_module.p50, disk_module.p99);
        printf("  %-44s %12.2f us   (p99 %.2f us)\n", "module: warm in-process p50", mem_module.p50, mem_module.p99);
        printf("  %-44s %12.1f ms\n", "sandbox: cold (empty cache)", t.cold_create_ms);
        printf("  %-44s %12.1f us   (p99 %.1f us)\n", "sandbox: warm from disk p50", disk_create.p50, disk_create.p99);
        if (numpy_pkg) {
            printf("numpy, late-linked (%s)\n", numpy_pkg);
            printf("  %-44s %12.1f ms   (private empty cache: interpreter and side modules compiled)\n",
                   "first numpy sandbox, empty cache", np.cold_ms);
            printf("  %-44s %12.1f ms   (p99 %.1f ms, %d new configurations)   target <= 100 ms: %s\n",
                   "new config, numpy pre-imported p50", np.fresh.p50 / 1e3, np.fresh.p99 / 1e3, NUMPY_NEW_RUNS,
                   verdict(np.fresh.p50 / 1e3 <= 100.0));
            printf("  %-44s %12.1f ms   (p99 %.1f ms; numpy importable, imported at run time)   target <= 100 ms: "
                   "%s\n",
                   "new config, numpy not pre-imported p50", np.fresh_noimport.p50 / 1e3, np.fresh_noimport.p99 / 1e3,
                   verdict(np.fresh_noimport.p50 / 1e3 <= 100.0));
            printf("  %-44s %12.1f us   (p99 %.1f us; %.2fx a plain sandbox)   target <= 1000 us: %s\n",
                   "warm sandbox, numpy pre-imported p50", np.warm.p50, np.warm.p99, np.warm.p50 / pre.create.p50,
                   verdict(np.warm.p50 <= 1000.0));
            printf("  %-44s %12.1f ms   (p99 %.1f ms, %d runs, fresh state each)\n",
                   "import numpy without pre-init p50", np.import_.p50 / 1e3, np.import_.p99 / 1e3, NUMPY_IMPORT_RUNS);
        }
        printf("sandbox contract (timeout %d ms, cancel %d ms in; %zu runs of each case; %.1f s;\n"
               "  a return includes the reset to a fresh instance)\n",
               CONTRACT_TIMEOUT_MS, CONTRACT_CANCEL_AFTER_MS, ct.runs, ct.seconds);
        for (int k = 0; k < INTR_CASES; k++) {
            char label[96];
            snprintf(label, sizeof label, "timeout: %s", eryx__bench_intr[k].label);
            printf("  %s\n  %-44s %12.2f ms   (p99 %.2f ms)   target p99 <= %.0f ms: %s\n", label,
                   "  deadline to return p50", ct.intr[k].p50 / 1e3, ct.intr[k].p99 / 1e3, TARGET_STOP_P99_MS,
                   verdict(ct.intr[k].p99 / 1e3 <= TARGET_STOP_P99_MS));
        }
        for (int k = 0; k < CANCEL_CASES; k++) {
            char label[96];
            snprintf(label, sizeof label, "cancel from another thread: %s",
                     eryx__bench_intr[eryx__bench_cancel_case[k]].label);
            printf("  %s\n  %-44s %12.2f ms   (p99 %.2f ms)   target p99 <= %.0f ms: %s\n", label,
                   "  cancel to return p50", ct.cancel[k].p50 / 1e3, ct.cancel[k].p99 / 1e3, TARGET_STOP_P99_MS,
                   verdict(ct.cancel[k].p99 / 1e3 <= TARGET_STOP_P99_MS));
        }
        printf("  10M-iteration loop by engine (median of %d interleaved rounds)\n", LOOP_ROUNDS);
        for (int k = 0; k < LOOP_KINDS; k++) {
            if (ct.loop_med_ms[k] < 0) {
                printf("  %-44s %12s      %s\n", eryx__bench_loop_kind[k].label, "n/a", NEEDS_HOOKS);
                continue;
            }
            printf("  %-44s %12.1f ms   (rounds", eryx__bench_loop_kind[k].label, ct.loop_med_ms[k]);
            for (int r = 0; r < LOOP_ROUNDS; r++) printf(" %.0f", ct.loop_ms[k][r]);
            printf(")\n");
        }
        if (isnan(epoch_pct)) printf("  %-44s %12s      %s\n", "epoch checks: EPOCH vs STANDARD", "n/a", NEEDS_HOOKS);
        else printf("  %-44s %+11.1f %%\n", "epoch checks: EPOCH vs STANDARD", epoch_pct);
        /* Without the hooks there is no EPOCH loop: fuel against STANDARD only. */
        if (isnan(fuel_pct))
            printf("  %-44s %+11.1f %%    (%llu units)\n", "fuel and epoch checks: FUEL vs STANDARD", fuel_ne_pct,
                   (unsigned long long)ct.loop_fuel_units);
        else
            printf("  %-44s %+11.1f %%    (%+.1f%% vs STANDARD; %llu units)\n", "fuel: FUEL vs EPOCH", fuel_pct,
                   fuel_ne_pct, (unsigned long long)ct.loop_fuel_units);
        printf("  %-44s %s\n", "rule: fuel opt-in if it costs over 5%",
               (isnan(fuel_pct) ? fuel_ne_pct : fuel_pct) > TARGET_FUEL_OVERHEAD_PCT
                   ? "over 5%: opt-in, as eryx has it (eryx_builder_set_fuel)"
                   : "within 5% (eryx has it opt-in all the same)");
        if (ct.first_create_ms[LOOP_EPOCH] < 0)
            printf("  %-44s %.1f / n/a / %.1f ms (a compile on a machine's first use)\n",
                   "warm-up: first sandbox STANDARD / EPOCH / FUEL", ct.first_create_ms[LOOP_NO_EPOCH],
                   ct.first_create_ms[LOOP_FUEL]);
        else
            printf("  %-44s %.1f / %.1f / %.1f ms (a compile on a machine's first use)\n",
                   "warm-up: first sandbox STANDARD / EPOCH / FUEL", ct.first_create_ms[LOOP_NO_EPOCH],
                   ct.first_create_ms[LOOP_EPOCH], ct.first_create_ms[LOOP_FUEL]);
        print_corpus(&corpus, corpus_dir);
        printf("(%.1f s)\n", bench_s);
    }
    rc = 0;
out:
    eryx_builder_set_preinit(b, orig_preinit);
    eryx_sandbox_free(s);
    eryx_sandbox_free(keep);
    free(t_keep);
    return rc;
}
