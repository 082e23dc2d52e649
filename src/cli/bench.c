/*
** `eryx bench [--json] [--runs N]`: in-process measurements of the library itself.
** Sandbox creation and a trivial execute are timed over many runs (p50/p99), the
** CPU-bound loop of the benchmarks once per run. Output: a table, or one JSON object
** with stable snake_case keys whose names carry their units.
*/
#include "bench.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../engine/engine.h"
#include "../sandbox/sandbox_internal.h"
#include "eryx.h"

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

static const char LOOP[] = "for i in range(10_000_000): x = i * i";

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

int eryx_cli_bench(eryx_builder *b, const char *guest_dir, int json, int runs) {
    if (runs < 2) runs = 2;
    uint64_t *create = calloc((size_t)runs, sizeof *create), *exec = calloc((size_t)runs * 10, sizeof *exec);
    uint64_t *phase[3] = {calloc((size_t)runs, sizeof(uint64_t)), calloc((size_t)runs, sizeof(uint64_t)),
                          calloc((size_t)runs, sizeof(uint64_t))};
    eryx_sandbox *s = NULL;
    int rc = 3;
    if (!create || !exec || !phase[0] || !phase[1] || !phase[2]) goto out;
    /* The first creation in a process loads the compiled module; reported apart. */
    uint64_t t0 = now_ns();
    eryx_status st = eryx_sandbox_new(b, &s);
    uint64_t first_create = now_ns() - t0;
    if (st != ERYX_OK) {
        fprintf(stderr, "eryx bench: %s: %s\n", eryx_status_message(st), eryx_builder_errmsg(b));
        goto out;
    }
    eryx_sandbox_free(s);
    s = NULL;
    for (int i = 0; i < runs; i++) {
        t0 = now_ns();
        st = eryx_sandbox_new(b, &s);
        create[i] = now_ns() - t0;
        if (st != ERYX_OK) {
            fprintf(stderr, "eryx bench: %s\n", eryx_builder_errmsg(b));
            goto out;
        }
        uint64_t ns[3];
        eryx__sandbox_phases(s, ns);
        for (int k = 0; k < 3; k++) phase[k][i] = ns[k];
        if (i < runs - 1) {
            eryx_sandbox_free(s);
            s = NULL;
        }
    }
    size_t nexec = (size_t)runs * 10;
    for (size_t i = 0; i < nexec; i++) {
        eryx_result *r = NULL;
        t0 = now_ns();
        st = eryx_sandbox_execute(s, "pass", 4, &r);
        exec[i] = now_ns() - t0;
        eryx_result_free(r);
        if (st != ERYX_OK) {
            fprintf(stderr, "eryx bench: execute: %s\n", eryx_sandbox_errmsg(s));
            goto out;
        }
    }
    t0 = now_ns();
    st = eryx_sandbox_execute(s, LOOP, sizeof LOOP - 1, NULL);
    uint64_t loop = now_ns() - t0;
    if (st != ERYX_OK) {
        fprintf(stderr, "eryx bench: loop: %s\n", eryx_sandbox_errmsg(s));
        goto out;
    }
    tiers t;
    memset(&t, 0, sizeof t);
    if (time_tiers(guest_dir, &t) != 0) {
        fprintf(stderr, "eryx bench: timing the cache tiers failed (is /tmp writable?)\n");
        goto out;
    }
    qsort(t.disk_module, 20, sizeof(uint64_t), cmp_u64);
    qsort(t.mem_module, 200, sizeof(uint64_t), cmp_u64);
    qsort(t.disk_create, 10, sizeof(uint64_t), cmp_u64);
    qsort(create, (size_t)runs, sizeof *create, cmp_u64);
    for (int k = 0; k < 3; k++) qsort(phase[k], (size_t)runs, sizeof(uint64_t), cmp_u64);
    double ph[3];
    for (int k = 0; k < 3; k++) ph[k] = pct(phase[k], (size_t)runs, 50) / 1e3;
    qsort(exec, nexec, sizeof *exec, cmp_u64);
    if (json) {
        printf("{\"eryx_version\": \"%s\", \"runs_create\": %d, \"runs_execute\": %zu, "
               "\"first_create_us\": %.1f, \"create_p50_us\": %.1f, \"create_p99_us\": %.1f, "
               "\"execute_p50_us\": %.1f, \"execute_p99_us\": %.1f, \"cpu_loop_10m_ms\": %.1f, "
               "\"module_cold_ms\": %.1f, \"module_warm_disk_p50_us\": %.1f, \"module_warm_disk_p99_us\": %.1f, "
               "\"module_warm_memory_p50_us\": %.2f, \"module_warm_memory_p99_us\": %.2f, "
               "\"create_cold_ms\": %.1f, \"create_warm_disk_p50_us\": %.1f, \"create_warm_disk_p99_us\": %.1f, "
               "\"create_setup_p50_us\": %.1f, \"create_instantiate_p50_us\": %.1f, \"create_python_start_p50_us\": %.1f, "
               "\"preinit\": %s}\n",
               eryx_version(), runs, nexec, first_create / 1e3, pct(create, (size_t)runs, 50) / 1e3,
               pct(create, (size_t)runs, 99) / 1e3, pct(exec, nexec, 50) / 1e3, pct(exec, nexec, 99) / 1e3,
               loop / 1e6, t.cold_module_ms, pct(t.disk_module, 20, 50) / 1e3, pct(t.disk_module, 20, 99) / 1e3,
               pct(t.mem_module, 200, 50) / 1e3, pct(t.mem_module, 200, 99) / 1e3, t.cold_create_ms,
               pct(t.disk_create, 10, 50) / 1e3, pct(t.disk_create, 10, 99) / 1e3, ph[0], ph[1], ph[2], eryx__sandbox_preinit(s) ? "true" : "false");
    } else {
        printf("eryx %s in-process benchmark\n", eryx_version());
        printf("  %-40s %12.1f us\n", "first sandbox in the process", first_create / 1e3);
        printf("  %-40s %12.1f us   (p99 %.1f us, %d runs)\n", "sandbox creation p50 (warm in-process)", pct(create, (size_t)runs, 50) / 1e3,
               pct(create, (size_t)runs, 99) / 1e3, runs);
        printf("  %-40s %12.1f us\n", "  of which: module + VFS set-up p50", ph[0]);
        printf("  %-40s %12.1f us\n", "  of which: instantiate p50", ph[1]);
        printf("  %-40s %12.1f us\n", "  of which: Python start / reseed p50", ph[2]);
        printf("  %-40s %12.1f us   (p99 %.1f us, %zu runs)\n", "execute('pass') p50", pct(exec, nexec, 50) / 1e3,
               pct(exec, nexec, 99) / 1e3, nexec);
        printf("  %-40s %12.1f ms\n", "10M-iteration loop (x = i * i)", loop / 1e6);
        printf("cache tiers (private cache dir)\n");
        printf("  %-40s %12.1f ms\n", "module: cold (compile + store)", t.cold_module_ms);
        printf("  %-40s %12.1f us   (p99 %.1f us)\n", "module: warm from disk p50", pct(t.disk_module, 20, 50) / 1e3,
               pct(t.disk_module, 20, 99) / 1e3);
        printf("  %-40s %12.2f us   (p99 %.2f us)\n", "module: warm in-process p50", pct(t.mem_module, 200, 50) / 1e3,
               pct(t.mem_module, 200, 99) / 1e3);
        printf("  %-40s %12.1f ms\n", "sandbox: cold (empty cache)", t.cold_create_ms);
        printf("  %-40s %12.1f us   (p99 %.1f us)\n", "sandbox: warm from disk p50", pct(t.disk_create, 10, 50) / 1e3,
               pct(t.disk_create, 10, 99) / 1e3);
    }
    rc = 0;
out:
    eryx_sandbox_free(s);
    free(create);
    free(exec);
    for (int k = 0; k < 3; k++) free(phase[k]);
    return rc;
}
