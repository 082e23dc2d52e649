/*
** The figures of caching: the compiled-module cache tiers (the guest module alone,
** and whole sandboxes) from private cache dirs, and numpy late-linked (--numpy):
** its first sandbox with an empty cache, new configurations, warm sandboxes, and
** `import numpy` without pre-initialization. Leaves the user's cache untouched.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../sandbox/sandbox_internal.h"
#include "bench.h"

/* ---- cache tiers -------------------------------------------------------------------- */

int eryx__bench_time_tiers(const char *guest_dir, eryx__bench_tiers *t) {
    char dir[] = "/tmp/eryx-bench-XXXXXX", wasm[4200], sha[65], cmd[200];
    if (!mkdtemp(dir)) return -1;
    snprintf(wasm, sizeof wasm, "%s/python.wasm", guest_dir);
    int rc = -1;
    if (eryx__tools_guest_sha256(guest_dir, sha) != ERYX_OK) goto out;
    const uint64_t max_bytes = 1ull << 30;
    uint64_t t0 = eryx__bench_now_ns();
    if (eryx__tools_guest_load(wasm, sha, NULL, dir, max_bytes) != ERYX_OK) goto out;
    t->cold_module_ms = (eryx__bench_now_ns() - t0) / 1e6;
    for (size_t i = 0; i < 20; i++) {
        t0 = eryx__bench_now_ns();
        if (eryx__tools_guest_load(wasm, sha, NULL, dir, max_bytes) != ERYX_OK) goto out;
        t->disk_module[i] = eryx__bench_now_ns() - t0;
    }
    eryx_cache *memory = eryx_cache_new(4);
    for (size_t i = 0; i < 200; i++) {
        t0 = eryx__bench_now_ns();
        if (eryx__tools_guest_load(wasm, sha, memory, dir, max_bytes) != ERYX_OK) break;
        t->mem_module[i] = eryx__bench_now_ns() - t0;
    }
    eryx_cache_release(memory);
    /* Whole sandboxes: cold (a second private dir), then warm from disk. */
    eryx_builder *b = eryx_builder_new();
    eryx_sandbox *s = NULL;
    char dir2[] = "/tmp/eryx-bench2-XXXXXX";
    if (!b || !mkdtemp(dir2)) goto out_b;
    eryx_builder_set_guest_dir(b, guest_dir);
    eryx_builder_set_cache_dir(b, dir2);
    eryx_builder_set_memory_cache(b, NULL);
    t0 = eryx__bench_now_ns();
    if (eryx_sandbox_new(b, &s) != ERYX_OK) goto out_b;
    t->cold_create_ms = (eryx__bench_now_ns() - t0) / 1e6;
    eryx_sandbox_free(s);
    for (size_t i = 0; i < 10; i++) {
        t0 = eryx__bench_now_ns();
        if (eryx_sandbox_new(b, &s) != ERYX_OK) goto out_b;
        t->disk_create[i] = eryx__bench_now_ns() - t0;
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
    uint64_t t0 = eryx__bench_now_ns();
    eryx_status st = eryx_sandbox_new(b, out);
    uint64_t t = eryx__bench_now_ns() - t0;
    if (st != ERYX_OK) return eryx__bench_fail(b, "creating a numpy sandbox", st), 0;
    return t ? t : 1;
}

int eryx__bench_numpy(const char *guest_dir, const char *pkg, int runs, eryx__bench_numpy_result *r) {
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
        *(imp ? &r->fresh : &r->fresh_noimport) = eryx__bench_summarize(v, NUMPY_NEW_RUNS);
    }
    if (!(b = numpy_builder(guest_dir, fresh, pkg, 1, 0))) goto out;
    for (int i = 0; i < runs; i++) {
        if (!(v[i] = numpy_create(b, &s))) break;
        eryx_sandbox_free(s);
    }
    eryx_builder_free(b);
    if (!v[runs - 1]) goto out;
    r->warm = eryx__bench_summarize(v, (size_t)runs);
    if (!(b = numpy_builder(guest_dir, fresh, pkg, 0, 0)) || !numpy_create(b, &s)) goto out_b;
    for (int i = 0; i < NUMPY_IMPORT_RUNS; i++) {
        uint64_t t0 = eryx__bench_now_ns();
        eryx_status st = eryx_sandbox_execute(s, "import numpy", 12, NULL);
        v[i] = eryx__bench_now_ns() - t0;
        if (st != ERYX_OK) {
            fprintf(stderr, "eryx bench: import numpy: %s\n", eryx_sandbox_errmsg(s));
            goto out_b;
        }
    }
    r->import_ = eryx__bench_summarize(v, NUMPY_IMPORT_RUNS);
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
