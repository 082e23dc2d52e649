/*
** `eryx bench [--json] [--runs N] [--numpy PACKAGE]`: in-process measurements of the
** library itself (and, with --numpy, of numpy late-linked: see bench_numpy).
** One run measures the builder's sandboxes with pre-initialization on (snapshot
** module) and off (Python started in every instance): creation, a trivial execute
** from the start state (the reset included) and with kept state, the private memory
** of idle sandboxes, executes per second on 1 and 2 threads, then the CPU-bound
** loop and the cache tiers, then the sandbox contract (docs/RUNTIME.md): how long
** after a 50 ms deadline, or a cancel from another thread, an execution returns, for
** a Python loop, a C loop, time.sleep and a read on a stdin fd, and what epoch checks
** and fuel metering cost on the CPU-bound loop (the three engine kinds, interleaved).
** Every timed figure is a p50/p99 over many runs (N, 1000 by default, for the fast
** cases; N/20, at least 20, for the stops) or a median of rounds (the loops).
** Output: a table with the targets next to the figures, or one JSON object with
** stable snake_case keys whose names carry their units.
*/
#define _GNU_SOURCE /* RUSAGE_THREAD, malloc_trim */
#include "bench.h"
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include "../engine/engine.h"
#include "../cache/tiers.h"
#include "../sandbox/sandbox_internal.h"
#include "eryx.h"

/* The targets of the pre-initialization work, printed next to the figures. */
#define TARGET_CREATE_P50_US 200.0
#define TARGET_EXECUTE_FRESH_P50_US 300.0
#define TARGET_PRIVATE_KIB 4096.0 /* 4 MB, read as 4 MiB */
#define TARGET_EXECUTES_PER_S 5000.0

enum { IDLE_SANDBOXES = 50, KEEP_EXECUTES_PER_RUN = 10, NOPREINIT_EXECUTE_DIVISOR = 10 };

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted samples. */
static uint64_t pct(const uint64_t *sorted, size_t n, double p) {
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return sorted[rank - 1];
}

/* p50 and p99 of n samples (ns; sorted in place), in microseconds. */
typedef struct stats {
    double p50, p99;
    size_t n;
} stats;

static stats summarize(uint64_t *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_u64);
    return (stats){pct(v, n, 50) / 1e3, pct(v, n, 99) / 1e3, n};
}

/* Minor page faults of the calling thread so far. */
static long minor_faults(void) {
    struct rusage ru;
    return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_minflt : 0;
}

/* Private (Private_Clean + Private_Dirty) and Rss of the process, KiB. */
static int read_smaps(long *private_kib, long *rss_kib) {
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f) return -1;
    char line[256];
    long clean = -1, dirty = -1, rss = -1, v;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "Private_Clean: %ld kB", &v) == 1) clean = v;
        else if (sscanf(line, "Private_Dirty: %ld kB", &v) == 1) dirty = v;
        else if (sscanf(line, "Rss: %ld kB", &v) == 1) rss = v;
    }
    fclose(f);
    if (clean < 0 || dirty < 0 || rss < 0) return -1;
    *private_kib = clean + dirty;
    *rss_kib = rss;
    return 0;
}

#define SESSION_ROUNDS 20 /* session snapshots and restores timed */
#define CALLBACK_CALLS 1000 /* host callback round trips timed, in one execution */

/* The benchmark's host callback: returns its arguments. */
static int bench_echo(void *user, const char *args, size_t len, char **out, size_t *out_len) {
    (void)user;
    *out = malloc(len + 1);
    if (!*out) return 1;
    memcpy(*out, args, len + 1);
    *out_len = len;
    return 0;
}

/* Host callback round trip: CALLBACK_CALLS sequential `await echo(i=...)` in one
** execution, less the same loop without the call; microseconds per call. */
static double callback_round_trip_us(double *fresh_execute_us) {
    eryx_builder *cb = eryx_builder_new();
    eryx_sandbox *s = NULL;
    double us = -1;
    if (cb && eryx_builder_add_callback(cb, "echo", "returns its arguments", NULL, bench_echo, NULL) == ERYX_OK &&
        eryx_builder_set_callback_limits(cb, CALLBACK_CALLS + 10, 0) == ERYX_OK && eryx_sandbox_new(cb, &s) == ERYX_OK) {
        static const char with[] = "for i in range(1000):\n    await echo(i=i)\n";
        static const char without[] = "async def nop(i):\n    return i\nfor i in range(1000):\n    await nop(i)\n";
        eryx_sandbox_execute(s, with, sizeof with - 1, NULL); /* warm-up */
        uint64_t t0 = now_ns();
        eryx_status a = eryx_sandbox_execute(s, with, sizeof with - 1, NULL);
        uint64_t t1 = now_ns();
        eryx_status c = eryx_sandbox_execute(s, without, sizeof without - 1, NULL);
        uint64_t t2 = now_ns();
        if (a == ERYX_OK && c == ERYX_OK) us = ((double)(t1 - t0) - (double)(t2 - t1)) / 1e3 / CALLBACK_CALLS;
        /* A fresh execute in a sandbox with callbacks: they are installed in the
        ** snapshot, so this should cost what it costs without them. */
        uint64_t t[200];
        for (int i = 0; i < 200; i++) {
            uint64_t e0 = now_ns();
            eryx_sandbox_execute(s, "pass", 4, NULL);
            t[i] = now_ns() - e0;
        }
        qsort(t, 200, sizeof t[0], cmp_u64);
        *fresh_execute_us = t[100] / 1e3;
    }
    eryx_sandbox_free(s);
    eryx_builder_free(cb);
    return us;
}

static const char LOOP[] = "for i in range(10_000_000): x = i * i";

/* ---- one mode (pre-initialization on or off) -------------------------------------- */

typedef struct mode_result {
    double first_create_us;
    stats create, free_, phase[3];
    stats exec, reset_phase[3]; /* execute('pass') from the start state; the phases of its reset */
    double faults_per_create, faults_per_exec;
    double private_kib, rss_kib; /* per idle sandbox; < 0: /proc/self/smaps_rollup unreadable */
} mode_result;

static int fail_builder(eryx_builder *b, const char *what, eryx_status st) {
    fprintf(stderr, "eryx bench: %s: %s: %s\n", what, eryx_status_message(st), eryx_builder_errmsg(b));
    return -1;
}

/* Times `runs` creations (and frees) of b's sandboxes, then `exec_runs` executes of
** 'pass' in one of them (each followed by its reset), then the memory of
** IDLE_SANDBOXES idle sandboxes. The sandbox used for the executes is handed back in
** *out (when out is not NULL) for the CPU loop. first_us >= 0: the configuration's
** first creation was already timed (the process's first sandbox). */
static int bench_mode(eryx_builder *b, int runs, size_t exec_runs, mode_result *m, eryx_sandbox **out,
                      double first_us) {
    int rc = -1;
    eryx_sandbox *s = NULL, *idle[IDLE_SANDBOXES] = {0};
    size_t n = (size_t)runs > exec_runs ? (size_t)runs : exec_runs;
    uint64_t *t_create = calloc(n, sizeof(uint64_t)), *t_free = calloc(n, sizeof(uint64_t)),
             *ph[3] = {calloc(n, sizeof(uint64_t)), calloc(n, sizeof(uint64_t)), calloc(n, sizeof(uint64_t))};
    if (!t_create || !t_free || !ph[0] || !ph[1] || !ph[2]) {
        fprintf(stderr, "eryx bench: out of memory\n");
        goto out;
    }
    /* The first creation of a configuration gets its module (and, pre-initialized,
    ** may build the snapshot module); reported apart. */
    uint64_t t0;
    eryx_status st;
    m->first_create_us = first_us;
    if (first_us < 0) {
        t0 = now_ns();
        st = eryx_sandbox_new(b, &s);
        m->first_create_us = (now_ns() - t0) / 1e3;
        if (st != ERYX_OK) {
            rc = fail_builder(b, "creating the first sandbox", st);
            goto out;
        }
        eryx_sandbox_free(s);
        s = NULL;
    }
    long faults = 0;
    for (int i = 0; i < runs; i++) {
        long f0 = minor_faults();
        t0 = now_ns();
        st = eryx_sandbox_new(b, &s);
        t_create[i] = now_ns() - t0;
        faults += minor_faults() - f0;
        if (st != ERYX_OK) {
            rc = fail_builder(b, "creating a sandbox", st);
            goto out;
        }
        uint64_t ns[3];
        eryx__sandbox_phases(s, ns);
        for (int k = 0; k < 3; k++) ph[k][i] = ns[k];
        t0 = now_ns();
        eryx_sandbox_free(s);
        t_free[i] = now_ns() - t0;
        s = NULL;
    }
    m->faults_per_create = (double)faults / runs;
    m->create = summarize(t_create, (size_t)runs);
    m->free_ = summarize(t_free, (size_t)runs);
    for (int k = 0; k < 3; k++) m->phase[k] = summarize(ph[k], (size_t)runs);

    if ((st = eryx_sandbox_new(b, &s)) != ERYX_OK) {
        rc = fail_builder(b, "creating a sandbox", st);
        goto out;
    }
    faults = 0; /* t_create and ph[] now hold the executes' samples */
    for (size_t i = 0; i < exec_runs; i++) {
        eryx_result *r = NULL;
        long f0 = minor_faults();
        t0 = now_ns();
        st = eryx_sandbox_execute(s, "pass", 4, &r);
        t_create[i] = now_ns() - t0;
        faults += minor_faults() - f0;
        eryx_result_free(r);
        if (st != ERYX_OK) {
            fprintf(stderr, "eryx bench: execute: %s\n", eryx_sandbox_errmsg(s));
            goto out;
        }
        uint64_t ns[3]; /* the reset made a new instance: its phases */
        eryx__sandbox_phases(s, ns);
        for (int k = 0; k < 3; k++) ph[k][i] = ns[k];
    }
    m->faults_per_exec = (double)faults / (double)exec_runs;
    m->exec = summarize(t_create, exec_runs);
    for (int k = 0; k < 3; k++) m->reset_phase[k] = summarize(ph[k], exec_runs);

    /* Idle sandboxes: created and kept; what the process gained, per sandbox. */
    long p0 = 0, r0 = 0, p1 = 0, r1 = 0;
#ifdef __GLIBC__
    malloc_trim(0); /* free heap pages would hide the sandboxes' own allocations */
#endif
    int have = read_smaps(&p0, &r0) == 0;
    for (int i = 0; i < IDLE_SANDBOXES; i++) {
        if ((st = eryx_sandbox_new(b, &idle[i])) != ERYX_OK) {
            rc = fail_builder(b, "creating an idle sandbox", st);
            goto out;
        }
    }
    have = have && read_smaps(&p1, &r1) == 0;
    m->private_kib = have ? (double)(p1 - p0) / IDLE_SANDBOXES : -1;
    m->rss_kib = have ? (double)(r1 - r0) / IDLE_SANDBOXES : -1;
    rc = 0;
out:
    for (int i = 0; i < IDLE_SANDBOXES; i++) eryx_sandbox_free(idle[i]);
    if (rc == 0 && out) *out = s;
    else eryx_sandbox_free(s);
    free(t_create);
    free(t_free);
    for (int k = 0; k < 3; k++) free(ph[k]);
    return rc;
}

/* ---- executes per second on several threads ---------------------------------------- */

/* On-CPU and runqueue-wait time of the calling thread so far (ns; the kernel's
** schedstat); 0 when unavailable. */
static int read_schedstat(uint64_t *run_ns, uint64_t *wait_ns) {
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    unsigned long long run = 0, wait = 0;
    int ok = f && fscanf(f, "%llu %llu", &run, &wait) == 2;
    if (f) fclose(f);
    *run_ns = ok ? run : 0;
    *wait_ns = ok ? wait : 0;
    return ok;
}

/* User and system CPU time of the calling thread so far (ns). */
static void thread_times(uint64_t *user_ns, uint64_t *sys_ns) {
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    getrusage(RUSAGE_THREAD, &ru);
    *user_ns = (uint64_t)ru.ru_utime.tv_sec * 1000000000u + (uint64_t)ru.ru_utime.tv_usec * 1000u;
    *sys_ns = (uint64_t)ru.ru_stime.tv_sec * 1000000000u + (uint64_t)ru.ru_stime.tv_usec * 1000u;
}

/* TLB shootdown interrupts received so far, all CPUs (the machine's, not only this
** process's); -1 when /proc/interrupts has no TLB line (not x86). */
static long long tlb_shootdowns(void) {
    FILE *f = fopen("/proc/interrupts", "r");
    if (!f) return -1;
    char line[4096];
    long long total = -1;
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ') p++;
        if (strncmp(p, "TLB:", 4) != 0) continue;
        p += 4;
        total = 0;
        for (;;) {
            char *end;
            long long v = strtoll(p, &end, 10);
            if (end == p) break;
            total += v;
            p = end;
        }
        break;
    }
    fclose(f);
    return total;
}

typedef struct worker {
    eryx_sandbox *s;
    pthread_barrier_t *start;
    uint64_t duration_ns, count, t_start, t_end, run_ns, wait_ns, user_ns, sys_ns;
    int failed, sched_ok;
    char name[16]; /* the thread's name, for profilers: bench-1t-0, bench-2t-1 */
} worker;

static void *worker_main(void *arg) {
    worker *w = arg;
    uint64_t run0, wait0, run1, wait1;
    pthread_barrier_wait(w->start);
    uint64_t user0, sys0, user1, sys1;
    pthread_setname_np(pthread_self(), w->name);
    int ok = read_schedstat(&run0, &wait0);
    thread_times(&user0, &sys0);
    w->t_start = now_ns();
    uint64_t t = w->t_start;
    while (t - w->t_start < w->duration_ns) {
        eryx_result *r = NULL;
        eryx_status st = eryx_sandbox_execute(w->s, "pass", 4, &r);
        eryx_result_free(r);
        if (st != ERYX_OK) {
            w->failed = 1;
            break;
        }
        w->count++;
        t = now_ns();
    }
    w->t_end = now_ns();
    thread_times(&user1, &sys1);
    w->user_ns = user1 - user0;
    w->sys_ns = sys1 - sys0;
    w->sched_ok = ok && read_schedstat(&run1, &wait1);
    if (w->sched_ok) {
        w->run_ns = run1 - run0;
        w->wait_ns = wait1 - wait0;
    }
    return NULL;
}

/* What a throughput run gave: executes per second (-1: failed), and where the
** threads' wall time went (shares of the sum of their wall times; -1 unknown):
** on a CPU, waiting for one (runnable, other work running), blocked (neither:
** sleeping on a lock or in the kernel); CPU time per execute. */
typedef struct throughput {
    double per_s, oncpu, runqueue, blocked, cpu_us_per_execute;
    double user_us_per_execute, sys_us_per_execute, tlb_per_execute; /* tlb: machine-wide; -1 unknown */
} throughput;

/* Fresh-state 'pass' executes per second, nthreads threads each with its own
** sandbox (made here, one thread at a time), for duration_ns. */
static throughput executes_per_s(eryx_builder *b, int nthreads, uint64_t duration_ns) {
    worker w[2] = {{0}};
    pthread_t th[2];
    pthread_barrier_t start;
    throughput tp = {-1, -1, -1, -1, -1, -1, -1, -1};
    long long tlb0 = -1, tlb1 = -1;
    int started = 0;
    if (nthreads < 1 || nthreads > 2 || pthread_barrier_init(&start, NULL, (unsigned)nthreads) != 0) return tp;
    for (int i = 0; i < nthreads; i++) {
        w[i] = (worker){.start = &start, .duration_ns = duration_ns};
        snprintf(w[i].name, sizeof w[i].name, "bench-%dt-%d", nthreads, i);
        eryx_status st = eryx_sandbox_new(b, &w[i].s);
        if (st != ERYX_OK) {
            fail_builder(b, "creating a sandbox for a thread", st);
            goto out;
        }
    }
    tlb0 = tlb_shootdowns();
    for (; started < nthreads; started++)
        if (pthread_create(&th[started], NULL, worker_main, &w[started]) != 0) break;
    if (started < nthreads) {
        /* The barrier would never open for the threads already waiting. */
        fprintf(stderr, "eryx bench: cannot start a thread\n");
        if (started == 0) goto out;
        abort();
    }
    uint64_t first = UINT64_MAX, last = 0, total = 0, wall = 0, run = 0, wait = 0, user = 0, sys = 0;
    int failed = 0, sched_ok = 1;
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        failed |= w[i].failed;
        sched_ok &= w[i].sched_ok;
        total += w[i].count;
        wall += w[i].t_end - w[i].t_start;
        run += w[i].run_ns;
        wait += w[i].wait_ns;
        user += w[i].user_ns;
        sys += w[i].sys_ns;
        if (w[i].t_start < first) first = w[i].t_start;
        if (w[i].t_end > last) last = w[i].t_end;
    }
    if (failed) {
        fprintf(stderr, "eryx bench: an execute failed on a thread\n");
    } else if (last > first && total) {
        tlb1 = tlb_shootdowns();
        tp.per_s = (double)total / ((last - first) / 1e9);
        tp.user_us_per_execute = (double)user / (double)total / 1e3;
        tp.sys_us_per_execute = (double)sys / (double)total / 1e3;
        if (tlb0 >= 0 && tlb1 >= tlb0) tp.tlb_per_execute = (double)(tlb1 - tlb0) / (double)total;
        if (sched_ok && wall) {
            tp.oncpu = (double)run / (double)wall;
            tp.runqueue = (double)wait / (double)wall;
            tp.blocked = 1.0 - tp.oncpu - tp.runqueue;
            if (tp.blocked < 0) tp.blocked = 0;
            tp.cpu_us_per_execute = (double)run / (double)total / 1e3;
        }
    }
out:
    for (int i = 0; i < nthreads; i++) eryx_sandbox_free(w[i].s);
    pthread_barrier_destroy(&start);
    return tp;
}

/* ---- cache tiers -------------------------------------------------------------------- */

/* Cache tiers, timed with a private cache dir and private memory tiers so nothing
** of the user's cache is used: cold (compile), warm from disk (a fresh memory tier,
** as in a new process), warm in-process. Module acquisition alone and whole
** sandbox creation (which also starts Python) are both reported. */
typedef struct tiers {
    double cold_create_ms, cold_module_ms;
    uint64_t disk_module[20], mem_module[200], disk_create[10];
} tiers;

static int time_tiers(const char *guest_dir, tiers *t) {
    char dir[] = "/tmp/eryx-bench-XXXXXX", wasm[4200], sha[65], cmd[200];
    if (!mkdtemp(dir)) return -1;
    eryx__errbuf err = {{0}};
    snprintf(wasm, sizeof wasm, "%s/python.wasm", guest_dir);
    int rc = -1;
    if (eryx__guest_sha256(guest_dir, sha, &err) != ERYX_OK) goto out;
    eryx__cache_config cc = {.dir = dir, .max_bytes = 1ull << 30};
    eryx__guest *g = NULL;
    uint64_t t0 = now_ns();
    if (eryx__guest_acquire(wasm, sha, &cc, &g, NULL, &err) != ERYX_OK) goto out;
    t->cold_module_ms = (now_ns() - t0) / 1e6;
    eryx__guest_release(g);
    for (size_t i = 0; i < 20; i++) {
        t0 = now_ns();
        if (eryx__guest_acquire(wasm, sha, &cc, &g, NULL, &err) != ERYX_OK) goto out;
        t->disk_module[i] = now_ns() - t0;
        eryx__guest_release(g);
    }
    cc.memory = eryx_cache_new(4);
    for (size_t i = 0; i < 200; i++) {
        t0 = now_ns();
        if (eryx__guest_acquire(wasm, sha, &cc, &g, NULL, &err) != ERYX_OK) break;
        t->mem_module[i] = now_ns() - t0;
        eryx__guest_release(g);
    }
    eryx_cache_release(cc.memory);
    /* Whole sandboxes: cold (a second private dir), then warm from disk. */
    eryx_builder *b = eryx_builder_new();
    eryx_sandbox *s = NULL;
    char dir2[] = "/tmp/eryx-bench2-XXXXXX";
    if (!b || !mkdtemp(dir2)) goto out_b;
    eryx_builder_set_guest_dir(b, guest_dir);
    eryx_builder_set_cache_dir(b, dir2);
    eryx_builder_set_memory_cache(b, NULL);
    t0 = now_ns();
    if (eryx_sandbox_new(b, &s) != ERYX_OK) goto out_b;
    t->cold_create_ms = (now_ns() - t0) / 1e6;
    eryx_sandbox_free(s);
    for (size_t i = 0; i < 10; i++) {
        t0 = now_ns();
        if (eryx_sandbox_new(b, &s) != ERYX_OK) goto out_b;
        t->disk_create[i] = now_ns() - t0;
        eryx_sandbox_free(s);
    }
    rc = 0;
out_b:
    eryx_builder_free(b);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir2);
    if (system(cmd) != 0) rc = -1;
out:
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) rc = -1;
    return rc;
}

/* ---- numpy, late-linked (issue 8) ------------------------------------------------------
** With --numpy PACKAGE (numpy's eryx package or tree): the first numpy sandbox with
** an empty cache (private dir and memory tier: the interpreter and numpy's side
** modules compiled, the snapshot made), then new configurations whose side modules
** are cached (a setup line unique to each: a new snapshot every time; numpy
** pre-imported, and not), warm sandboxes with numpy pre-imported, and `import
** numpy` in a sandbox without it. The new configurations go to a private cache dir,
** removed after, so the user's cache does not fill with them. Runs first, before
** anything else loads numpy into the process (the cold case must compile). */
enum { NUMPY_NEW_RUNS = 10, NUMPY_IMPORT_RUNS = 20 };
typedef struct numpy_result {
    double cold_ms;
    stats fresh, fresh_noimport, warm, import_;
} numpy_result;

static eryx_builder *numpy_builder(const char *guest_dir, const char *dir, const char *pkg, int preimport,
                                   long setup_id) {
    eryx_builder *b = eryx_builder_new();
    char setup[64];
    snprintf(setup, sizeof setup, "RUN_ID = %ld\n", setup_id);
    if (!b || eryx_builder_set_guest_dir(b, guest_dir) != ERYX_OK || eryx_builder_set_cache_dir(b, dir) != ERYX_OK ||
        eryx_builder_add_package(b, pkg) != ERYX_OK || (preimport && eryx_builder_add_preimport(b, "numpy")) ||
        (setup_id && eryx_builder_set_setup_code(b, setup, strlen(setup)) != ERYX_OK)) {
        fprintf(stderr, "eryx bench: numpy builder: %s\n", b ? eryx_builder_errmsg(b) : "out of memory");
        eryx_builder_free(b);
        return NULL;
    }
    return b;
}

/* Makes a sandbox from b; its time in ns, or 0 on failure (reported). */
static uint64_t numpy_create(eryx_builder *b, eryx_sandbox **out) {
    uint64_t t0 = now_ns();
    eryx_status st = eryx_sandbox_new(b, out);
    uint64_t t = now_ns() - t0;
    if (st != ERYX_OK) return fail_builder(b, "creating a numpy sandbox", st), 0;
    return t ? t : 1;
}

static int bench_numpy(const char *guest_dir, const char *pkg, int runs, numpy_result *r) {
    char cold[] = "/tmp/eryx-bench-numpy-XXXXXX", fresh[] = "/tmp/eryx-bench-numpy2-XXXXXX", cmd[200];
    if (!mkdtemp(cold) || !mkdtemp(fresh)) return -1;
    int rc = -1;
    eryx_sandbox *s = NULL;
    uint64_t *v = calloc((size_t)runs > NUMPY_IMPORT_RUNS ? (size_t)runs : NUMPY_IMPORT_RUNS, sizeof *v);
    long id = (long)time(NULL) ^ ((long)getpid() << 20);
    eryx_builder *b = v ? numpy_builder(guest_dir, cold, pkg, 1, 0) : NULL;
    if (!b) goto out;
    eryx_builder_set_memory_cache(b, NULL);
    uint64_t t = numpy_create(b, &s);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    if (!t) goto out;
    r->cold_ms = t / 1e6;
    /* The fresh dir gets the compiled side modules (and their data-less copies for
    ** restores) once, untimed: the new configurations below have them cached. */
    if (!(b = numpy_builder(guest_dir, fresh, pkg, 1, ++id))) goto out;
    t = numpy_create(b, &s);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    if (!t) goto out;
    for (int imp = 1; imp >= 0; imp--) {
        for (int i = 0; i < NUMPY_NEW_RUNS; i++) {
            if (!(b = numpy_builder(guest_dir, fresh, pkg, imp, ++id))) goto out;
            v[i] = numpy_create(b, &s);
            eryx_sandbox_free(s);
            eryx_builder_free(b);
            if (!v[i]) goto out;
        }
        *(imp ? &r->fresh : &r->fresh_noimport) = summarize(v, NUMPY_NEW_RUNS);
    }
    if (!(b = numpy_builder(guest_dir, fresh, pkg, 1, 0))) goto out;
    for (int i = 0; i < runs; i++) {
        if (!(v[i] = numpy_create(b, &s))) break;
        eryx_sandbox_free(s);
    }
    eryx_builder_free(b);
    if (!v[runs - 1]) goto out;
    r->warm = summarize(v, (size_t)runs);
    if (!(b = numpy_builder(guest_dir, fresh, pkg, 0, 0)) || !numpy_create(b, &s)) goto out_b;
    for (int i = 0; i < NUMPY_IMPORT_RUNS; i++) {
        uint64_t t0 = now_ns();
        eryx_status st = eryx_sandbox_execute(s, "import numpy", 12, NULL);
        v[i] = now_ns() - t0;
        if (st != ERYX_OK) {
            fprintf(stderr, "eryx bench: import numpy: %s\n", eryx_sandbox_errmsg(s));
            goto out_b;
        }
    }
    r->import_ = summarize(v, NUMPY_IMPORT_RUNS);
    rc = 0;
out_b:
    eryx_sandbox_free(s);
    eryx_builder_free(b);
out:
    free(v);
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", cold, fresh);
    if (system(cmd) != 0) rc = -1;
    return rc;
}

/* ---- the sandbox contract: interrupts, cancel, metering --------------------------- */

/* docs/RUNTIME.md, "Limits: the sandbox contract": a timeout or a cancel stops the
** guest wherever it is; fuel costs too much to be on by default. */
#define CONTRACT_TIMEOUT_MS 50
#define CONTRACT_CANCEL_AFTER_MS 20
#define CONTRACT_SAFETY_TIMEOUT_MS 10000 /* only if a cancel failed to stop the guest */
#define TARGET_STOP_P99_MS 20.0          /* deadline or cancel to return, p99 */
#define TARGET_FUEL_OVERHEAD_PCT 5.0     /* above it, fuel must be opt-in (it is) */
#define LOOP_FUEL_BUDGET UINT64_C(1000000000000) /* 10^12: never reached by LOOP */

enum { CONTRACT_MIN_RUNS = 20, CONTRACT_RUNS_DIVISOR = 20, LOOP_ROUNDS = 3 };
enum { INTR_LOOP, INTR_CLOOP, INTR_SLEEP, INTR_STDIN, INTR_CASES };
enum { CANCEL_LOOP, CANCEL_SLEEP, CANCEL_CASES };
enum { LOOP_NO_EPOCH, LOOP_EPOCH, LOOP_FUEL, LOOP_KINDS };

static const struct {
    const char *key, *label, *code;
} INTR[INTR_CASES] = {
    {"loop", "pure-Python loop (while True: pass)", "while True: pass"},
    {"cloop", "C loop in the interpreter (sum(range(10**12)))", "sum(range(10**12))"},
    {"sleep", "time.sleep(100)", "import time\ntime.sleep(100)"},
    {"stdin", "read on a stdin fd (an open, empty pipe)", "import sys\nsys.stdin.buffer.read(1)"},
};
static const int CANCEL_CASE[CANCEL_CASES] = {INTR_LOOP, INTR_SLEEP};
static const struct {
    const char *key, *label;
    int kind;
} LOOP_KIND[LOOP_KINDS] = {
    {"no_epoch", "no epoch checks, no fuel (NO_EPOCH)", ERYX__ENGINE_NO_EPOCH},
    {"epoch", "epoch checks (STANDARD, the default)", ERYX__ENGINE_STANDARD},
    {"fuel", "epoch checks + fuel (FUEL, --fuel)", ERYX__ENGINE_FUEL},
};

typedef struct contract {
    size_t runs;                    /* of each interrupt and each cancel case */
    stats intr[INTR_CASES];         /* return - deadline (us) */
    stats cancel[CANCEL_CASES];     /* return - eryx_sandbox_cancel (us) */
    double first_create_ms[LOOP_KINDS]; /* the warm-up: first sandbox of the kind here */
    double loop_ms[LOOP_KINDS][LOOP_ROUNDS], loop_med_ms[LOOP_KINDS];
    uint64_t loop_fuel_units;       /* what LOOP consumed (the last metered round) */
    double seconds;
} contract;

/* Points b at an engine kind: FUEL through the public call (with a budget LOOP never
** reaches), the others through the internal one (no budget). */
static void use_engine(eryx_builder *b, int kind) {
    if (kind == ERYX__ENGINE_FUEL) {
        eryx_builder_set_fuel(b, LOOP_FUEL_BUDGET);
    } else {
        eryx_builder_set_fuel(b, 0);
        eryx__builder_set_engine(b, kind);
    }
}

typedef struct canceller {
    eryx_sandbox *s;
    uint64_t at_ns, cancel_ns; /* when to cancel; when it was called (CLOCK_MONOTONIC) */
} canceller;

static void *canceller_main(void *arg) {
    canceller *c = arg;
    struct timespec ts = {(time_t)(c->at_ns / 1000000000u), (long)(c->at_ns % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
    }
    c->cancel_ns = now_ns();
    eryx_sandbox_cancel(c->s);
    return NULL;
}

/* The interrupt cases (timeout 50 ms) and the cancel cases (20 ms in), the runs of
** the cases interleaved; then LOOP in a sandbox of each engine kind, LOOP_ROUNDS
** rounds interleaved (the order rotating), after a warm-up creation of each kind.
** Leaves b with no timeout, no fuel and the standard engine. */
static int bench_contract(eryx_builder *b, int runs, contract *c) {
    uint64_t t_start = now_ns();
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
    use_engine(b, ERYX__ENGINE_STANDARD);
    eryx_builder_set_timeout_ms(b, CONTRACT_TIMEOUT_MS);
    st = eryx_sandbox_new(b, &s);
    if (st != ERYX_OK) {
        rc = fail_builder(b, "creating a sandbox with a timeout", st);
        goto out;
    }
    eryx_sandbox_set_stdin_fd(s, fds[0]); /* the write end stays open: reads block */
    const uint64_t limit_ns = (uint64_t)CONTRACT_TIMEOUT_MS * 1000000u;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < INTR_CASES; k++) {
            uint64_t t0 = now_ns();
            st = eryx_sandbox_execute(s, INTR[k].code, strlen(INTR[k].code), NULL);
            uint64_t el = now_ns() - t0;
            if (st != ERYX_ERR_TIMEOUT) {
                fprintf(stderr, "eryx bench: %s with a timeout gave %s, not ERYX_ERR_TIMEOUT: %s\n", INTR[k].label,
                        eryx_status_name(st), eryx_sandbox_errmsg(s));
                goto out;
            }
            v[k][i] = el > limit_ns ? el - limit_ns : 0;
        }
    for (int k = 0; k < INTR_CASES; k++) c->intr[k] = summarize(v[k], n);
    eryx_sandbox_free(s);
    s = NULL;

    /* Cancel: another thread calls eryx_sandbox_cancel 20 ms in. */
    eryx_builder_set_timeout_ms(b, CONTRACT_SAFETY_TIMEOUT_MS);
    st = eryx_sandbox_new(b, &s);
    if (st != ERYX_OK) {
        rc = fail_builder(b, "creating a sandbox to cancel", st);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < CANCEL_CASES; k++) {
            const char *code = INTR[CANCEL_CASE[k]].code;
            pthread_t th;
            canceller cc = {.s = s, .at_ns = now_ns() + (uint64_t)CONTRACT_CANCEL_AFTER_MS * 1000000u};
            if (pthread_create(&th, NULL, canceller_main, &cc) != 0) {
                fprintf(stderr, "eryx bench: cannot start a thread\n");
                goto out;
            }
            st = eryx_sandbox_execute(s, code, strlen(code), NULL);
            uint64_t t_end = now_ns();
            pthread_join(th, NULL);
            if (st != ERYX_ERR_CANCELLED) {
                fprintf(stderr, "eryx bench: cancelling %s gave %s, not ERYX_ERR_CANCELLED: %s\n",
                        INTR[CANCEL_CASE[k]].label, eryx_status_name(st), eryx_sandbox_errmsg(s));
                goto out;
            }
            v[INTR_CASES + k][i] = t_end > cc.cancel_ns ? t_end - cc.cancel_ns : 0;
        }
    for (int k = 0; k < CANCEL_CASES; k++) c->cancel[k] = summarize(v[INTR_CASES + k], n);
    eryx_sandbox_free(s);
    s = NULL;

    /* What epoch checks and fuel cost on LOOP. The first sandbox of a kind may
    ** compile the interpreter for its engine (once per machine, then cached) and,
    ** pre-initialized, build its snapshot: the warm-up, reported apart. */
    eryx_builder_set_timeout_ms(b, 0);
    for (int k = 0; k < LOOP_KINDS; k++) {
        use_engine(b, LOOP_KIND[k].kind);
        uint64_t t0 = now_ns();
        st = eryx_sandbox_new(b, &ls[k]);
        c->first_create_ms[k] = (now_ns() - t0) / 1e6;
        if (st != ERYX_OK) {
            rc = fail_builder(b, "creating a sandbox for the engine comparison", st);
            goto out;
        }
        if ((st = eryx_sandbox_execute(ls[k], "pass", 4, NULL)) != ERYX_OK) {
            fprintf(stderr, "eryx bench: execute (%s): %s\n", LOOP_KIND[k].key, eryx_sandbox_errmsg(ls[k]));
            goto out;
        }
    }
    for (int r = 0; r < LOOP_ROUNDS; r++)
        for (int j = 0; j < LOOP_KINDS; j++) {
            int k = (j + r) % LOOP_KINDS; /* rotate the order: no kind always runs first */
            eryx_result *res = NULL;
            uint64_t t0 = now_ns();
            st = eryx_sandbox_execute(ls[k], LOOP, sizeof LOOP - 1, &res);
            c->loop_ms[k][r] = (now_ns() - t0) / 1e6;
            if (k == LOOP_FUEL && res) c->loop_fuel_units = eryx_result_fuel_consumed(res);
            eryx_result_free(res);
            if (st != ERYX_OK) {
                fprintf(stderr, "eryx bench: loop (%s): %s\n", LOOP_KIND[k].key, eryx_sandbox_errmsg(ls[k]));
                goto out;
            }
        }
    for (int k = 0; k < LOOP_KINDS; k++) {
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
    use_engine(b, ERYX__ENGINE_STANDARD);
    eryx_builder_set_timeout_ms(b, 0);
    eryx_sandbox_free(s);
    for (int k = 0; k < LOOP_KINDS; k++) eryx_sandbox_free(ls[k]);
    for (int k = 0; k < 2; k++)
        if (fds[k] >= 0) close(fds[k]);
    for (int k = 0; k < INTR_CASES + CANCEL_CASES; k++) free(v[k]);
    c->seconds = (now_ns() - t_start) / 1e9;
    return rc;
}

/* (a / b - 1) in percent; NAN when b is not positive. */
static double pct_over(double a, double b) { return b > 0 ? (a / b - 1.0) * 100.0 : NAN; }

/* ---- output -------------------------------------------------------------------------- */

static const char *verdict(int met) { return met ? "met" : "NOT met"; }

static void print_mode(const char *title, const mode_result *m, const mode_result *ref) {
    printf("%s\n", title);
    printf("  %-44s %12.1f us\n", "first sandbox of this configuration", m->first_create_us);
    printf("  %-44s %12.1f us   (p99 %.1f us, %zu runs)", "sandbox creation p50 (warm in-process)", m->create.p50,
           m->create.p99, m->create.n);
    if (ref) printf("   %.1fx pre-init on\n", m->create.p50 / ref->create.p50);
    else printf("   target <= %.0f us: %s\n", TARGET_CREATE_P50_US, verdict(m->create.p50 <= TARGET_CREATE_P50_US));
    printf("  %-44s %12.1f us\n", "  of which: module + VFS set-up p50", m->phase[0].p50);
    printf("  %-44s %12.1f us\n", "  of which: instantiate p50", m->phase[1].p50);
    printf("  %-44s %12.1f us\n", ref ? "  of which: Python start p50" : "  of which: restore call (argv, reseed) p50",
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
    printf("  %-44s %12.1f us\n", "  of which, the reset: set-up p50", m->reset_phase[0].p50);
    printf("  %-44s %12.1f us\n", "  of which, the reset: instantiate p50", m->reset_phase[1].p50);
    printf("  %-44s %12.1f us\n", ref ? "  of which, the reset: Python start p50" : "  of which, the reset: restore p50",
           m->reset_phase[2].p50);
    printf("  %-44s %12.1f\n", "  minor page faults per execute", m->faults_per_exec);
    if (m->private_kib >= 0) {
        printf("  %-44s %12.0f KiB  (Rss %.0f KiB)", "private memory per idle sandbox (50 kept)", m->private_kib,
               m->rss_kib);
        if (ref) printf("\n");
        else
            printf("  target <= 4 MB (%.0f KiB): %s\n", TARGET_PRIVATE_KIB, verdict(m->private_kib <= TARGET_PRIVATE_KIB));
    } else {
        printf("  %-44s %12s\n", "private memory per idle sandbox", "(no /proc/self/smaps_rollup)");
    }
}

static void print_throughput_time(const char *label, const throughput *tp) {
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
static void json_mode(const char *sfx, const mode_result *m) {
    char k[96];
#define J(stem, tail, v, d)                                  \
    do {                                                     \
        snprintf(k, sizeof k, "%s%s%s", stem, sfx, tail);    \
        json_num(k, v, d);                                   \
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

/* ---- the benchmark -------------------------------------------------------------------- */

int eryx_cli_bench(eryx_builder *b, const char *guest_dir, int json, int runs, const char *numpy_pkg) {
    if (runs <= 0) runs = ERYX_CLI_BENCH_DEFAULT_RUNS;
    if (runs < 2) runs = 2;
    uint64_t bench_t0 = now_ns();
    numpy_result np;
    memset(&np, 0, sizeof np);
    if (numpy_pkg && bench_numpy(guest_dir, numpy_pkg, runs, &np) != 0) {
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
    mode_result pre, nopre;
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
        uint64_t p0 = now_ns();
        eryx_status st = eryx_sandbox_new(b, &probe);
        first_us = (now_ns() - p0) / 1e3;
        if (st != ERYX_OK) {
            fail_builder(b, "creating a sandbox", st);
            goto out;
        }
        orig_preinit = eryx__sandbox_preinit(probe);
        eryx_sandbox_free(probe);
    }

    /* Pre-initialization on. */
    eryx_builder_set_preinit(b, 1);
    if (bench_mode(b, runs, (size_t)runs, &pre, &s, orig_preinit ? first_us : -1) != 0) goto out;
    /* The same without the reset: a sandbox that keeps its state. */
    eryx_builder_set_keep_state(b, 1);
    eryx_status st = eryx_sandbox_new(b, &keep);
    eryx_builder_set_keep_state(b, 0);
    if (st != ERYX_OK) {
        fail_builder(b, "creating a keep-state sandbox", st);
        goto out;
    }
    long f0 = minor_faults();
    for (size_t i = 0; i < keep_runs; i++) {
        eryx_result *r = NULL;
        uint64_t t0 = now_ns();
        st = eryx_sandbox_execute(keep, "pass", 4, &r);
        t_keep[i] = now_ns() - t0;
        eryx_result_free(r);
        if (st != ERYX_OK) {
            fprintf(stderr, "eryx bench: execute (keep state): %s\n", eryx_sandbox_errmsg(keep));
            goto out;
        }
    }
    double keep_faults = (double)(minor_faults() - f0) / (double)keep_runs;
    stats exec_keep = summarize(t_keep, keep_runs);
    /* Session snapshots of that session with some state in it: size, and the time to
    ** take and to restore one (SESSION_ROUNDS each). */
    stats snap_t = {0}, restore_t = {0};
    size_t snap_bytes = 0;
    {
        static const char state[] = "data = {i: str(i) for i in range(20000)}\nf = lambda x: x + 1\n";
        st = eryx_sandbox_execute(keep, state, sizeof state - 1, NULL);
        void *blob = NULL;
        for (int i = 0; st == ERYX_OK && i < SESSION_ROUNDS; i++) {
            eryx_blob_free(blob);
            blob = NULL;
            uint64_t t0 = now_ns();
            st = eryx_sandbox_snapshot(keep, &blob, &snap_bytes);
            t_keep[i] = now_ns() - t0;
        }
        if (st == ERYX_OK) snap_t = summarize(t_keep, SESSION_ROUNDS);
        for (int i = 0; st == ERYX_OK && i < SESSION_ROUNDS; i++) {
            uint64_t t0 = now_ns();
            st = eryx_sandbox_restore(keep, blob, snap_bytes);
            t_keep[i] = now_ns() - t0;
        }
        if (st == ERYX_OK) restore_t = summarize(t_keep, SESSION_ROUNDS);
        eryx_blob_free(blob);
        if (st != ERYX_OK) {
            fprintf(stderr, "eryx bench: session snapshot: %s\n", eryx_sandbox_errmsg(keep));
            goto out;
        }
    }
    eryx_sandbox_free(keep);
    keep = NULL;
    double cb_exec_us = -1, cb_us = callback_round_trip_us(&cb_exec_us);
    /* The first execute in a just-made instance, without the reset after it (keep
    ** state): the run part of a fresh execute, first touches of its pages included. */
    long first_faults = 0;
    for (int i = 0; i < runs; i++) {
        eryx_builder_set_keep_state(b, 1);
        st = eryx_sandbox_new(b, &keep);
        eryx_builder_set_keep_state(b, 0);
        if (st != ERYX_OK) {
            fail_builder(b, "creating a keep-state sandbox", st);
            goto out;
        }
        eryx_result *r = NULL;
        f0 = minor_faults();
        uint64_t t0 = now_ns();
        st = eryx_sandbox_execute(keep, "pass", 4, &r);
        t_keep[i] = now_ns() - t0;
        first_faults += minor_faults() - f0;
        eryx_result_free(r);
        if (st != ERYX_OK) {
            fprintf(stderr, "eryx bench: execute (first in an instance): %s\n", eryx_sandbox_errmsg(keep));
            goto out;
        }
        eryx_sandbox_free(keep);
        keep = NULL;
    }
    stats exec_first = summarize(t_keep, (size_t)runs);
    throughput tp1 = executes_per_s(b, 1, tp_ns), tp2 = executes_per_s(b, 2, tp_ns);
    double eps1 = tp1.per_s, eps2 = tp2.per_s;
    if (eps1 < 0 || eps2 < 0) goto out;
    uint64_t t0 = now_ns();
    st = eryx_sandbox_execute(s, LOOP, sizeof LOOP - 1, NULL);
    uint64_t loop = now_ns() - t0;
    if (st != ERYX_OK) {
        fprintf(stderr, "eryx bench: loop: %s\n", eryx_sandbox_errmsg(s));
        goto out;
    }
    eryx_sandbox_free(s);
    s = NULL;

    /* Pre-initialization off. */
    eryx_builder_set_preinit(b, 0);
    int nrc = bench_mode(b, runs, nopre_exec_runs, &nopre, NULL, orig_preinit ? -1 : first_us);
    eryx_builder_set_preinit(b, orig_preinit);
    if (nrc != 0) goto out;

    tiers t;
    memset(&t, 0, sizeof t);
    if (time_tiers(guest_dir, &t) != 0) {
        fprintf(stderr, "eryx bench: timing the cache tiers failed (is /tmp writable?)\n");
        goto out;
    }
    stats disk_module = summarize(t.disk_module, 20), mem_module = summarize(t.mem_module, 200),
          disk_create = summarize(t.disk_create, 10);

    /* The sandbox contract: stops (timeout, cancel) and what epoch checks and fuel cost. */
    contract ct;
    memset(&ct, 0, sizeof ct);
    if (bench_contract(b, runs, &ct) != 0) goto out;
    double epoch_pct = pct_over(ct.loop_med_ms[LOOP_EPOCH], ct.loop_med_ms[LOOP_NO_EPOCH]),
           fuel_pct = pct_over(ct.loop_med_ms[LOOP_FUEL], ct.loop_med_ms[LOOP_EPOCH]),
           fuel_ne_pct = pct_over(ct.loop_med_ms[LOOP_FUEL], ct.loop_med_ms[LOOP_NO_EPOCH]);
    double bench_s = (now_ns() - bench_t0) / 1e9;
    if (json) {
        printf("{\"eryx_version\": \"%s\", \"runs_create\": %d, \"runs_execute\": %d, \"runs_execute_keep\": %zu, "
               "\"runs_execute_nopreinit\": %zu, \"idle_sandboxes\": %d, \"throughput_s\": %.2f",
               eryx_version(), runs, runs, keep_runs, nopre_exec_runs, IDLE_SANDBOXES, tp_ns / 1e9);
        /* Keys older tools read: create_* and first_create_us are pre-init on;
        ** execute_p50_us is the default builder's execute (fresh state). */
        json_mode("", &pre);
        json_mode("_nopreinit", &nopre);
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
            snprintf(k2, sizeof k2, "interrupt_%s_p50_ms", INTR[k].key);
            json_num(k2, ct.intr[k].p50 / 1e3, 3);
            snprintf(k2, sizeof k2, "interrupt_%s_p99_ms", INTR[k].key);
            json_num(k2, ct.intr[k].p99 / 1e3, 3);
        }
        for (int k = 0; k < CANCEL_CASES; k++) {
            snprintf(k2, sizeof k2, "cancel_%s_p50_ms", INTR[CANCEL_CASE[k]].key);
            json_num(k2, ct.cancel[k].p50 / 1e3, 3);
            snprintf(k2, sizeof k2, "cancel_%s_p99_ms", INTR[CANCEL_CASE[k]].key);
            json_num(k2, ct.cancel[k].p99 / 1e3, 3);
        }
        json_num("target_stop_p99_ms", TARGET_STOP_P99_MS, 0);
        printf(", \"loop_rounds\": %d", LOOP_ROUNDS);
        for (int k = 0; k < LOOP_KINDS; k++) {
            snprintf(k2, sizeof k2, "loop_%s_ms", LOOP_KIND[k].key);
            json_num(k2, ct.loop_med_ms[k], 1);
        }
        for (int k = 0; k < LOOP_KINDS; k++) { /* each round, in round order */
            printf(", \"loop_%s_rounds_ms\": [", LOOP_KIND[k].key);
            for (int r = 0; r < LOOP_ROUNDS; r++) printf("%s%.1f", r ? ", " : "", ct.loop_ms[k][r]);
            printf("]");
        }
        json_signed("epoch_overhead_pct", epoch_pct, 1);
        json_signed("fuel_overhead_pct", fuel_pct, 1);
        json_signed("fuel_vs_no_epoch_pct", fuel_ne_pct, 1);
        printf(", \"loop_fuel_units\": %llu", (unsigned long long)ct.loop_fuel_units);
        json_num("target_fuel_overhead_pct", TARGET_FUEL_OVERHEAD_PCT, 0);
        printf(", \"fuel_opt_in\": true"); /* eryx_builder_set_fuel: off unless a budget is set */
        for (int k = 0; k < LOOP_KINDS; k++) {
            snprintf(k2, sizeof k2, "first_create_%s_ms", LOOP_KIND[k].key);
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
        json_num("contract_s", ct.seconds, 1);
        json_num("bench_s", bench_s, 1);
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
        printf("  %-44s %12.0f /s   (%.2fx 1 thread)   target >= %.0f/s: %s\n",
               "executes/s, fresh 'pass', 2 threads", eps2, eps2 / eps1, TARGET_EXECUTES_PER_S,
               verdict(eps2 >= TARGET_EXECUTES_PER_S));
        print_throughput_time("  where 1 thread's time went", &tp1);
        print_throughput_time("  where 2 threads' time went", &tp2);
        printf("  %-44s %12.1f ms\n", "10M-iteration loop (x = i * i)", loop / 1e6);
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
                   "%s\n", "new config, numpy not pre-imported p50", np.fresh_noimport.p50 / 1e3,
                   np.fresh_noimport.p99 / 1e3, verdict(np.fresh_noimport.p50 / 1e3 <= 100.0));
            printf("  %-44s %12.1f us   (p99 %.1f us; %.2fx a plain sandbox)   target <= 1000 us: %s\n",
                   "warm sandbox, numpy pre-imported p50", np.warm.p50, np.warm.p99, np.warm.p50 / pre.create.p50,
                   verdict(np.warm.p50 <= 1000.0));
            printf("  %-44s %12.1f ms   (p99 %.1f ms, %d runs, fresh state each)\n",
                   "import numpy without pre-init p50", np.import_.p50 / 1e3, np.import_.p99 / 1e3,
                   NUMPY_IMPORT_RUNS);
        }
        printf("sandbox contract (timeout %d ms, cancel %d ms in; %zu runs of each case; %.1f s;\n"
               "  a return includes the reset to a fresh instance)\n",
               CONTRACT_TIMEOUT_MS, CONTRACT_CANCEL_AFTER_MS, ct.runs, ct.seconds);
        for (int k = 0; k < INTR_CASES; k++) {
            char label[96];
            snprintf(label, sizeof label, "timeout: %s", INTR[k].label);
            printf("  %s\n  %-44s %12.2f ms   (p99 %.2f ms)   target p99 <= %.0f ms: %s\n", label,
                   "  deadline to return p50", ct.intr[k].p50 / 1e3, ct.intr[k].p99 / 1e3, TARGET_STOP_P99_MS,
                   verdict(ct.intr[k].p99 / 1e3 <= TARGET_STOP_P99_MS));
        }
        for (int k = 0; k < CANCEL_CASES; k++) {
            char label[96];
            snprintf(label, sizeof label, "cancel from another thread: %s", INTR[CANCEL_CASE[k]].label);
            printf("  %s\n  %-44s %12.2f ms   (p99 %.2f ms)   target p99 <= %.0f ms: %s\n", label,
                   "  cancel to return p50", ct.cancel[k].p50 / 1e3, ct.cancel[k].p99 / 1e3, TARGET_STOP_P99_MS,
                   verdict(ct.cancel[k].p99 / 1e3 <= TARGET_STOP_P99_MS));
        }
        printf("  10M-iteration loop by engine (median of %d interleaved rounds)\n", LOOP_ROUNDS);
        for (int k = 0; k < LOOP_KINDS; k++) {
            printf("  %-44s %12.1f ms   (rounds", LOOP_KIND[k].label, ct.loop_med_ms[k]);
            for (int r = 0; r < LOOP_ROUNDS; r++) printf(" %.0f", ct.loop_ms[k][r]);
            printf(")\n");
        }
        printf("  %-44s %+11.1f %%\n", "epoch checks: STANDARD vs NO_EPOCH", epoch_pct);
        printf("  %-44s %+11.1f %%    (%+.1f%% vs NO_EPOCH; %llu units)\n", "fuel: FUEL vs STANDARD", fuel_pct,
               fuel_ne_pct, (unsigned long long)ct.loop_fuel_units);
        printf("  %-44s %s\n", "rule: fuel opt-in if it costs over 5%",
               fuel_pct > TARGET_FUEL_OVERHEAD_PCT ? "over 5%: opt-in, as eryx has it (eryx_builder_set_fuel)"
                                                   : "within 5% (eryx has it opt-in all the same)");
        printf("  %-44s %.1f / %.1f / %.1f ms (a compile on a machine's first use)\n",
               "warm-up: first sandbox NO_EPOCH / STD / FUEL", ct.first_create_ms[LOOP_NO_EPOCH],
               ct.first_create_ms[LOOP_EPOCH], ct.first_create_ms[LOOP_FUEL]);
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
