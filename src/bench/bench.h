/*
** The parts of eryx-bench (src/bench/), the in-process benchmark of the library that
** `eryx [options] bench` runs: bench_main.c (its command line, the options shared
** with eryx), bench.c (the run, in order, and its report), sandboxes.c (one
** configuration's creation, executes, memory, threads, callbacks), caching.c (the
** cache tiers; numpy late-linked), contract.c (timeouts, cancel, what epoch checks
** and fuel cost), corpus.c (the workload corpus, bench/corpus/; corpus.h). Not part of the eryx binary; the library's internals it uses are
** in src/sandbox/sandbox_internal.h only.
*/
#ifndef ERYX_BENCH_H
#define ERYX_BENCH_H
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>
#include "eryx.h"

/* Timed runs of each fast case (creation, fresh execute) when --runs is not given. */
#define ERYX__BENCH_DEFAULT_RUNS 1000

/* Whether this build has the library's benchmark hooks (cmake -DERYX_BENCH_HOOKS=ON):
** the creation phase timers and the engine without epoch checks. Without them their
** figures are reported as not measured (null in the JSON, "n/a" in the table). */
#ifdef ERYX_BENCH_HOOKS
#define ERYX__BENCH_HOOKS 1
#else
#define ERYX__BENCH_HOOKS 0
#endif

/* ---- the workload corpus (corpus.c) ------------------------------------------------- */

#define ERYX__BENCH_CORPUS_MAX_RUNS 20 /* timed runs per snippet: runs/50, 3 to this */

typedef struct eryx__bench_corpus_result {
    int found;                        /* the directory had snippets */
    size_t snippets, failed, runs;    /* measured; left out (failed or wrong output); per snippet */
    double p50, p90, geomean;         /* us, over all runs; geometric mean of per-snippet p50s; < 0: none */
    double s10_p50, s10_p90, seconds; /* snippet 00 (issue 16's 10-line snippet), us; the part's time */
} eryx__bench_corpus_result;

/* Runs every snippet of dir (bench/corpus/) in a fresh sandbox of b (made, executed,
** freed: all timed), runs/50 times each (3 to ERYX__BENCH_CORPUS_MAX_RUNS), after an
** untimed run whose stdout must match expected/NAME.out; then adds the corpus's
** callbacks to b for the NN_cb_* snippets. No snippets in dir: c->found 0, figures
** < 0. 0, or -1 (reported). */
int eryx__bench_corpus(eryx_builder *b, const char *dir, int runs, eryx__bench_corpus_result *c);

/* Runs the benchmark with sandboxes from b (whose guest is in guest_dir); prints a table or one JSON line.
** Measures b's configuration with pre-initialization on and off (b's own setting is restored before
** returning) and with keep_state on (b must have it off, as eryx_builder_new makes it). runs: the
** number of timed runs of each fast case; <= 0 means ERYX__BENCH_DEFAULT_RUNS. The sandbox-contract
** part runs each interrupt and cancel case runs/20 times (at least 20) and leaves b with no timeout, no
** fuel budget and the standard engine. numpy_pkg (NULL: none) adds the numpy figures of issue 8, measured
** first, with private cache dirs (the cold case compiles the interpreter and numpy's side modules again).
** corpus_dir (NULL or a missing directory: the corpus figures are null) adds the workload corpus's
** figures, measured last (it adds the corpus's callbacks to b). Returns the process exit status (0, or
** 3 when a sandbox failed). */
int eryx__bench_run(eryx_builder *b, const char *guest_dir, int json, int runs, const char *numpy_pkg,
                    const char *corpus_dir);

/* --run FILE (run_file.c): FILE's code once in a fresh sandbox of b on the engine kind
** named ("standard", NULL, or "epoch", which needs the hooks), its stdout and stderr
** copied; for bench/engine_levers.py. Returns the exit status: 0, 2 (usage: an unknown
** kind, an unreadable file), 3 (the sandbox or the code failed). */
int eryx__bench_run_file(eryx_builder *b, const char *path, const char *engine);

/* ---- sampling (sandboxes.c) ---------------------------------------------------------- */

static inline uint64_t eryx__bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Minor page faults of the calling thread so far. */
static inline long eryx__bench_minor_faults(void) {
    struct rusage ru;
    return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_minflt : 0;
}

/* p50 and p99 of n samples (ns; sorted in place), in microseconds. */
typedef struct eryx__bench_stats {
    double p50, p99;
    size_t n;
} eryx__bench_stats;
eryx__bench_stats eryx__bench_summarize(uint64_t *v, size_t n);

/* Prints "eryx bench: WHAT: STATUS: the builder's message"; returns -1. */
int eryx__bench_fail(eryx_builder *b, const char *what, eryx_status st);

/* The CPU-bound loop (the CPU figure, and each engine kind's in contract.c). */
#define ERYX__BENCH_LOOP "for i in range(10_000_000): x = i * i"

/* ---- one configuration's sandboxes (sandboxes.c) ----------------------------------- */

enum { IDLE_SANDBOXES = 50 };
#define CALLBACK_CALLS 1000 /* host callback round trips timed, in one execution */

typedef struct eryx__bench_mode_result {
    double first_create_us;
    eryx__bench_stats create, free_, phase[3]; /* phase: p50 < 0 without the hooks */
    eryx__bench_stats exec, reset_phase[3];    /* execute('pass') from the start state; the phases of its reset */
    double faults_per_create, faults_per_exec;
    double private_kib, rss_kib; /* per idle sandbox; < 0: /proc/self/smaps_rollup unreadable */
} eryx__bench_mode_result;

/* Times `runs` creations (and frees) of b's sandboxes, then `exec_runs` executes of
** 'pass' in one of them (each followed by its reset), then the memory of
** IDLE_SANDBOXES idle sandboxes. The sandbox used for the executes is handed back in
** *out (when out is not NULL) for the CPU loop. first_us >= 0: the configuration's
** first creation was already timed (the process's first sandbox). 0, or -1 (reported). */
int eryx__bench_mode(eryx_builder *b, int runs, size_t exec_runs, eryx__bench_mode_result *m, eryx_sandbox **out,
                     double first_us);

/* Private (Private_Clean + Private_Dirty) and Rss of the process, KiB; -1 when
** /proc/self/smaps_rollup cannot be read. */
int eryx__bench_read_smaps(long *private_kib, long *rss_kib);

/* ---- idle sandboxes after an import-heavy execute (idle_memory.c) -------------------- */

extern const char eryx__bench_import_code[]; /* imports ten stdlib modules */

/* Per idle sandbox whose last execute ran eryx__bench_import_code: the private
** memory and Rss the process gained (KiB) and its guest memory's private pages (KiB,
** eryx__sandbox_private_pages), idle (0.5 s past the trim delay) and at once
** after the executes; that execute's p50 in a new sandbox (first_p50_us) and again
** in one sandbox (repeat_p50_us); `pass` p50 in a sandbox after it. -1: not measured. */
typedef struct eryx__bench_idle_imports {
    double private_kib, rss_kib, memory_kib, private_at_once_kib, memory_at_once_kib;
    double first_p50_us, repeat_p50_us, pass_after_p50_us;
} eryx__bench_idle_imports;

/* Measures it with b's sandboxes (pre-initialized as b says). 0, or -1 (reported). */
int eryx__bench_idle_after_imports(eryx_builder *b, eryx__bench_idle_imports *r);
/* Its figures: JSON members (each ", \"key\": value") or text lines. */
void eryx__bench_idle_imports_print(const eryx__bench_idle_imports *r, int json);

/* Host callback round trip: CALLBACK_CALLS sequential `await echo(i=...)` in one
** execution, less the same loop without the call; microseconds per call (-1: failed).
** *fresh_execute_us: a fresh execute's p50 in that sandbox. */
double eryx__bench_callback_round_trip_us(double *fresh_execute_us);

/* What a throughput run gave: executes per second (-1: failed), and where the
** threads' wall time went (shares of the sum of their wall times; -1 unknown):
** on a CPU, waiting for one (runnable, other work running), blocked (neither:
** sleeping on a lock or in the kernel); CPU time per execute. */
typedef struct eryx__bench_throughput {
    double per_s, oncpu, runqueue, blocked, cpu_us_per_execute;
    double user_us_per_execute, sys_us_per_execute, tlb_per_execute; /* tlb: machine-wide; -1 unknown */
} eryx__bench_throughput;

/* Fresh-state 'pass' executes per second, nthreads (1 or 2) threads each with its
** own sandbox (made here, one thread at a time), for duration_ns. */
eryx__bench_throughput eryx__bench_executes_per_s(eryx_builder *b, int nthreads, uint64_t duration_ns);

/* ---- caching (caching.c) ----------------------------------------------------------- */

/* Cache tiers, timed with a private cache dir and private memory tiers so nothing
** of the user's cache is used: cold (compile), warm from disk (a fresh memory tier,
** as in a new process), warm in-process. Module acquisition alone and whole
** sandbox creation (which also starts Python) are both reported. */
typedef struct eryx__bench_tiers {
    double cold_create_ms, cold_module_ms;
    uint64_t disk_module[20], mem_module[200], disk_create[10];
} eryx__bench_tiers;
int eryx__bench_time_tiers(const char *guest_dir, eryx__bench_tiers *t);

enum { NUMPY_NEW_RUNS = 10, NUMPY_IMPORT_RUNS = 20 };
typedef struct eryx__bench_numpy_result {
    double cold_ms;
    eryx__bench_stats fresh, fresh_noimport, warm, import_;
} eryx__bench_numpy_result;

/* The numpy figures (--numpy PACKAGE): see caching.c. 0, or -1 (reported). */
int eryx__bench_numpy(const char *guest_dir, const char *pkg, int runs, eryx__bench_numpy_result *r);

/* ---- the sandbox contract (contract.c) --------------------------------------------- */

/* docs/RUNTIME.md, "Limits: the sandbox contract": a timeout or a cancel stops the
** guest wherever it is; fuel costs too much to be on by default. */
#define CONTRACT_TIMEOUT_MS 50
#define CONTRACT_CANCEL_AFTER_MS 20
#define TARGET_STOP_P99_MS 20.0      /* deadline or cancel to return, p99 */
#define TARGET_FUEL_OVERHEAD_PCT 5.0 /* above it, fuel must be opt-in (it is) */

enum { LOOP_ROUNDS = 3 };
enum { INTR_LOOP, INTR_CLOOP, INTR_SLEEP, INTR_STDIN, INTR_CASES };
enum { CANCEL_LOOP, CANCEL_SLEEP, CANCEL_CASES };
enum { LOOP_NO_EPOCH, LOOP_EPOCH, LOOP_FUEL, LOOP_KINDS };

/* The interrupt cases: key (in the JSON), label, code. */
typedef struct eryx__bench_case {
    const char *key, *label, *code;
} eryx__bench_case;
extern const eryx__bench_case eryx__bench_intr[INTR_CASES];
extern const int eryx__bench_cancel_case[CANCEL_CASES];          /* which interrupt cases are cancelled */
extern const eryx__bench_case eryx__bench_loop_kind[LOOP_KINDS]; /* code: unused */

typedef struct eryx__bench_contract {
    size_t runs;                                                      /* of each interrupt and each cancel case */
    eryx__bench_stats intr[INTR_CASES];                               /* return - deadline (us) */
    eryx__bench_stats cancel[CANCEL_CASES];                           /* return - eryx_sandbox_cancel (us) */
    double first_create_ms[LOOP_KINDS];                               /* the warm-up: first sandbox of the kind here */
    double loop_ms[LOOP_KINDS][LOOP_ROUNDS], loop_med_ms[LOOP_KINDS]; /* NO_EPOCH: -1 without the hooks */
    uint64_t loop_fuel_units;                                         /* what LOOP consumed (the last metered round) */
    double seconds;
} eryx__bench_contract;

/* The interrupt cases (timeout 50 ms) and the cancel cases (20 ms in), the runs of
** the cases interleaved; then LOOP in a sandbox of each engine kind, LOOP_ROUNDS
** rounds interleaved (the order rotating), after a warm-up creation of each kind
** (without the hooks, no NO_EPOCH kind). Leaves b with no timeout, no fuel and the
** standard engine. 0, or -1 (reported). */
int eryx__bench_contract_run(eryx_builder *b, int runs, eryx__bench_contract *c);

#endif
