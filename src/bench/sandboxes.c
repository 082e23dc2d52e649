/*
** One configuration's sandboxes, measured: creation (and its phases, with the
** library's benchmark hooks), free, a trivial execute from the start state (its
** reset included), the memory of idle sandboxes, executes per second on 1 and 2
** threads (and where their time went), the host callback round trip; and the
** sampling the other parts share (percentiles, the builder's failures).
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include "../sandbox/sandbox_internal.h"
#include "bench.h"

/* ---- sampling -------------------------------------------------------------------- */

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

eryx__bench_stats eryx__bench_summarize(uint64_t *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_u64);
    return (eryx__bench_stats){pct(v, n, 50) / 1e3, pct(v, n, 99) / 1e3, n};
}

int eryx__bench_read_smaps(long *private_kib, long *rss_kib) {
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

int eryx__bench_fail(eryx_builder *b, const char *what, eryx_status st) {
    fprintf(stderr, "eryx bench: %s: %s: %s\n", what, eryx_status_message(st), eryx_builder_errmsg(b));
    return -1;
}

/* The benchmark's host callback: returns its arguments. */
static int bench_echo(void *user, const char *args, size_t len, char **out, size_t *out_len) {
    (void)user;
    *out = malloc(len + 1);
    if (!*out) return 1;
    memcpy(*out, args, len + 1);
    *out_len = len;
    return 0;
}

double eryx__bench_callback_round_trip_us(double *fresh_execute_us) {
    eryx_builder *cb = eryx_builder_new();
    eryx_sandbox *s = NULL;
    double us = -1;
    if (cb && eryx_builder_add_callback(cb, "echo", "returns its arguments", NULL, bench_echo, NULL) == ERYX_OK &&
        eryx_builder_set_callback_limits(cb, CALLBACK_CALLS + 10, 0) == ERYX_OK &&
        eryx_sandbox_new(cb, &s) == ERYX_OK) {
        static const char with[] = "for i in range(1000):\n    await echo(i=i)\n";
        static const char without[] = "async def nop(i):\n    return i\nfor i in range(1000):\n    await nop(i)\n";
        eryx_sandbox_execute(s, with, sizeof with - 1, NULL); /* warm-up */
        uint64_t t0 = eryx__bench_now_ns();
        eryx_status a = eryx_sandbox_execute(s, with, sizeof with - 1, NULL);
        uint64_t t1 = eryx__bench_now_ns();
        eryx_status c = eryx_sandbox_execute(s, without, sizeof without - 1, NULL);
        uint64_t t2 = eryx__bench_now_ns();
        if (a == ERYX_OK && c == ERYX_OK) us = ((double)(t1 - t0) - (double)(t2 - t1)) / 1e3 / CALLBACK_CALLS;
        /* A fresh execute in a sandbox with callbacks: they are installed in the
        ** snapshot, so this should cost what it costs without them. */
        uint64_t t[200];
        for (int i = 0; i < 200; i++) {
            uint64_t e0 = eryx__bench_now_ns();
            eryx_sandbox_execute(s, "pass", 4, NULL);
            t[i] = eryx__bench_now_ns() - e0;
        }
        qsort(t, 200, sizeof t[0], cmp_u64);
        *fresh_execute_us = t[100] / 1e3;
    }
    eryx_sandbox_free(s);
    eryx_builder_free(cb);
    return us;
}

/* ---- one mode (pre-initialization on or off) -------------------------------------- */

/* Records the sandbox's last creation phases (eryx__sandbox_phases) as sample i; a
** build without the library's benchmark hooks has none. */
static void record_phases(const eryx_sandbox *s, uint64_t *ph[3], size_t i) {
#if ERYX__BENCH_HOOKS
    uint64_t ns[3];
    eryx__sandbox_phases(s, ns);
    for (int k = 0; k < 3; k++) ph[k][i] = ns[k];
#else
    (void)s, (void)ph, (void)i;
#endif
}

/* The phases' figures; p50 -1 (not measured) without the hooks. */
static eryx__bench_stats phase_stats(uint64_t *v, size_t n) {
    return ERYX__BENCH_HOOKS ? eryx__bench_summarize(v, n) : (eryx__bench_stats){-1, -1, 0};
}

int eryx__bench_mode(eryx_builder *b, int runs, size_t exec_runs, eryx__bench_mode_result *m, eryx_sandbox **out,
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
        t0 = eryx__bench_now_ns();
        st = eryx_sandbox_new(b, &s);
        m->first_create_us = (eryx__bench_now_ns() - t0) / 1e3;
        if (st != ERYX_OK) {
            rc = eryx__bench_fail(b, "creating the first sandbox", st);
            goto out;
        }
        eryx_sandbox_free(s);
        s = NULL;
    }
    long faults = 0;
    for (int i = 0; i < runs; i++) {
        long f0 = eryx__bench_minor_faults();
        t0 = eryx__bench_now_ns();
        st = eryx_sandbox_new(b, &s);
        t_create[i] = eryx__bench_now_ns() - t0;
        faults += eryx__bench_minor_faults() - f0;
        if (st != ERYX_OK) {
            rc = eryx__bench_fail(b, "creating a sandbox", st);
            goto out;
        }
        record_phases(s, ph, (size_t)i);
        t0 = eryx__bench_now_ns();
        eryx_sandbox_free(s);
        t_free[i] = eryx__bench_now_ns() - t0;
        s = NULL;
    }
    m->faults_per_create = (double)faults / runs;
    m->create = eryx__bench_summarize(t_create, (size_t)runs);
    m->free_ = eryx__bench_summarize(t_free, (size_t)runs);
    for (int k = 0; k < 3; k++) m->phase[k] = phase_stats(ph[k], (size_t)runs);

    if ((st = eryx_sandbox_new(b, &s)) != ERYX_OK) {
        rc = eryx__bench_fail(b, "creating a sandbox", st);
        goto out;
    }
    faults = 0; /* t_create and ph[] now hold the executes' samples */
    for (size_t i = 0; i < exec_runs; i++) {
        eryx_result *r = NULL;
        long f0 = eryx__bench_minor_faults();
        t0 = eryx__bench_now_ns();
        st = eryx_sandbox_execute(s, "pass", 4, &r);
        t_create[i] = eryx__bench_now_ns() - t0;
        faults += eryx__bench_minor_faults() - f0;
        eryx_result_free(r);
        if (st != ERYX_OK) {
            fprintf(stderr, "eryx bench: execute: %s\n", eryx_sandbox_errmsg(s));
            goto out;
        }
        record_phases(s, ph, i); /* the reset made a new instance: its phases */
    }
    m->faults_per_exec = (double)faults / (double)exec_runs;
    m->exec = eryx__bench_summarize(t_create, exec_runs);
    for (int k = 0; k < 3; k++) m->reset_phase[k] = phase_stats(ph[k], exec_runs);

    /* Idle sandboxes: created and kept; what the process gained, per sandbox. */
    long p0 = 0, r0 = 0, p1 = 0, r1 = 0;
#ifdef __GLIBC__
    malloc_trim(0); /* free heap pages would hide the sandboxes' own allocations */
#endif
    int have = eryx__bench_read_smaps(&p0, &r0) == 0;
    for (int i = 0; i < IDLE_SANDBOXES; i++) {
        if ((st = eryx_sandbox_new(b, &idle[i])) != ERYX_OK) {
            rc = eryx__bench_fail(b, "creating an idle sandbox", st);
            goto out;
        }
    }
    have = have && eryx__bench_read_smaps(&p1, &r1) == 0;
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
    w->t_start = eryx__bench_now_ns();
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
        t = eryx__bench_now_ns();
    }
    w->t_end = eryx__bench_now_ns();
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

eryx__bench_throughput eryx__bench_executes_per_s(eryx_builder *b, int nthreads, uint64_t duration_ns) {
    worker w[2] = {{0}};
    pthread_t th[2];
    pthread_barrier_t start;
    eryx__bench_throughput tp = {-1, -1, -1, -1, -1, -1, -1, -1};
    long long tlb0 = -1, tlb1 = -1;
    int started = 0;
    if (nthreads < 1 || nthreads > 2 || pthread_barrier_init(&start, NULL, (unsigned)nthreads) != 0) return tp;
    for (int i = 0; i < nthreads; i++) {
        w[i] = (worker){.start = &start, .duration_ns = duration_ns};
        snprintf(w[i].name, sizeof w[i].name, "bench-%dt-%d", nthreads, i);
        eryx_status st = eryx_sandbox_new(b, &w[i].s);
        if (st != ERYX_OK) {
            eryx__bench_fail(b, "creating a sandbox for a thread", st);
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
