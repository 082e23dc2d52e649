/* End-to-end test of eryx_shutdown under LeakSanitizer: a full cycle (a builder
** with a callback, a preimport, a timeout and a shared storage; a sandbox that
** awaits the callback and raises; a session snapshot restored into another
** sandbox), everything freed, eryx_shutdown; then the library used again (it
** re-initializes lazily) and shut down twice.
**
** Built with -fsanitize=leak (tests/CMakeLists.txt; ASan's leak check in the
** sanitizer build). LSan counts memory a global still points to as reachable, so
** a registry eryx_shutdown forgot would pass unnoticed. So the test runs with
** use_globals=0 and registers every writable segment of every loaded module as a
** root itself, except eryx's process-wide state (the section eryx_process_state,
** src/common/process_state.h): the rest of the process (libc, wasmtime's own
** statics) is scanned as usual, while memory only eryx's singletons still hold
** after eryx_shutdown is reported as leaked, with its allocation stack. No
** suppressions. File descriptors and threads are checked too: none may stay open
** or running (eryx's threads are named eryx-*).
** usage: test_shutdown [NUMPY_PACKAGE]  (with it, a cycle with numpy late-linked:
**        the side-module registries) */
#define _GNU_SOURCE /* dl_iterate_phdr */
#include <dirent.h>
#include <link.h>
#include <sanitizer/lsan_interface.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <zip.h>
#include "check.h"
#include "eryx.h"

const char *__lsan_default_options(void);
const char *__lsan_default_options(void) { return "use_globals=0"; }

extern char __start_eryx_process_state[], __stop_eryx_process_state[];

static void add_root(uintptr_t begin, uintptr_t end) {
    if (end > begin) __lsan_register_root_region((void *)begin, end - begin);
}

/* What LSan's use_globals would scan (writable PT_LOAD segments), minus eryx's
** section; the sanitizer runtime's own globals are its allocator, not roots. */
static int add_module_roots(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size, (void)data;
    if (info->dlpi_name && (strstr(info->dlpi_name, "liblsan") || strstr(info->dlpi_name, "libasan"))) return 0;
    uintptr_t sb = (uintptr_t)__start_eryx_process_state, se = (uintptr_t)__stop_eryx_process_state;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W)) continue;
        uintptr_t b = info->dlpi_addr + ph->p_vaddr, e = b + ph->p_memsz;
        if (sb >= b && se <= e) {
            add_root(b, sb);
            add_root(se, e);
        } else {
            add_root(b, e);
        }
    }
    return 0;
}

static int open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

/* How many of the process's threads are eryx's (named eryx-*). */
static int eryx_threads(void) {
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[300], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f && fgets(comm, sizeof comm, f) && !strncmp(comm, "eryx-", 5)) n++;
        if (f) fclose(f);
    }
    if (d) closedir(d);
    return n;
}

static int cb_answer(void *user, const char *args, size_t len, char **out, size_t *out_len) {
    (void)user, (void)args, (void)len, (void)out_len;
    *out = malloc(16);
    if (*out) strcpy(*out, "{\"v\": 42}");
    return 0;
}

static eryx_status run(eryx_sandbox *s, const char *code, const char *want_out) {
    eryx_result *r = NULL;
    eryx_status st = eryx_sandbox_execute(s, code, strlen(code), &r);
    const char *got = eryx_result_stdout(r, NULL);
    CHECK(got && !strcmp(got, want_out));
    if (!got || strcmp(got, want_out))
        fprintf(stderr, "run(%.60s): %s: %s\n%s", code, eryx_status_name(st), eryx_sandbox_errmsg(s),
                eryx_result_stderr(r, NULL));
    eryx_result_free(r);
    return st;
}

/* A pure-Python wheel (the package registry keeps wheels it packed). */
static char wheel[64];
static void make_wheel(void) {
    char dir[] = "/tmp/eryx-test-shutdown-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    snprintf(wheel, sizeof wheel, "%s/mini-1.0-py3-none-any.whl", dir);
    static const char *const files[][2] = {
        {"mini/__init__.py", "V = 7\n"},
        {"mini-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: mini\nVersion: 1.0\n"},
        {"mini-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
        {"mini-1.0.dist-info/RECORD", ""}};
    zip_t *z = zip_open(wheel, ZIP_CREATE | ZIP_TRUNCATE, NULL);
    CHECK(z != NULL);
    for (size_t i = 0; z && i < sizeof files / sizeof files[0]; i++) {
        zip_source_t *src = zip_source_buffer(z, files[i][1], strlen(files[i][1]), 0);
        CHECK(src && zip_file_add(z, files[i][0], src, ZIP_FL_OVERWRITE) >= 0);
    }
    CHECK(z && zip_close(z) == 0);
}

static void cycle(void) {
    eryx_storage *storage = eryx_storage_new(0);
    eryx_builder *b = eryx_builder_new();
    CHECK(storage && b);
    CHECK(eryx_builder_add_preimport(b, "json") == ERYX_OK);
    CHECK(eryx_builder_add_callback(b, "answer", "the answer", NULL, cb_answer, NULL) == ERYX_OK);
    CHECK(eryx_builder_set_timeout_ms(b, 20000) == ERYX_OK); /* the epoch ticker runs */
    CHECK(eryx_builder_add_storage(b, storage, "/shared") == ERYX_OK);
    eryx_status pst = eryx_builder_add_package(b, wheel);
    if (pst != ERYX_OK) fprintf(stderr, "eryx_builder_add_package: %s\n", eryx_builder_errmsg(b));
    CHECK(pst == ERYX_OK);
    eryx_sandbox *s = NULL;
    eryx_status st = eryx_sandbox_new(b, &s);
    if (st != ERYX_OK) fprintf(stderr, "eryx_sandbox_new: %s\n", eryx_builder_errmsg(b));
    CHECK(st == ERYX_OK);
    if (s) {
        const char *code = "import json, mini\nr = await answer()\nprint(json.dumps(r), mini.V)\n"
                           "open('/shared/f', 'w').write('x')";
        CHECK(run(s, code, "{\"v\": 42} 7\n") == ERYX_OK);
        CHECK(run(s, "raise ValueError('boom')", "") == ERYX_ERR_PYTHON_EXCEPTION);
    }
    eryx_sandbox_free(s);
    eryx_builder_free(b);

    /* A session: a snapshot restored into a second sandbox, through a cache of
    ** the embedder's. */
    eryx_cache *mc = eryx_cache_new(2);
    b = eryx_builder_new();
    CHECK(mc && b);
    CHECK(eryx_builder_set_memory_cache(b, mc) == ERYX_OK);
    CHECK(eryx_builder_set_keep_state(b, 1) == ERYX_OK);
    eryx_sandbox *s1 = NULL, *s2 = NULL;
    CHECK(eryx_sandbox_new(b, &s1) == ERYX_OK);
    CHECK(eryx_sandbox_new(b, &s2) == ERYX_OK);
    void *blob = NULL;
    size_t len = 0;
    if (s1 && s2) {
        CHECK(run(s1, "x = [41]", "") == ERYX_OK);
        CHECK(eryx_sandbox_snapshot(s1, &blob, &len) == ERYX_OK);
        CHECK(eryx_sandbox_restore(s2, blob, len) == ERYX_OK);
        CHECK(run(s2, "print(x[0] + 1)", "42\n") == ERYX_OK);
    }
    eryx_blob_free(blob);
    eryx_sandbox_free(s1);
    eryx_sandbox_free(s2);
    eryx_builder_free(b);
    eryx_cache_release(mc);
    eryx_storage_release(storage);
}

/* numpy late-linked into a preinitialized sandbox: side modules in the registry,
** the interpreter's exports for the link check, the main module's table map. */
static void numpy_cycle(const char *pkg) {
    eryx_builder *b = eryx_builder_new();
    CHECK(eryx_builder_add_package(b, pkg) == ERYX_OK);
    CHECK(eryx_builder_add_preimport(b, "numpy") == ERYX_OK);
    eryx_sandbox *s = NULL;
    eryx_status st = eryx_sandbox_new(b, &s);
    if (st != ERYX_OK) fprintf(stderr, "eryx_sandbox_new (numpy): %s\n", eryx_builder_errmsg(b));
    CHECK(st == ERYX_OK);
    if (s) CHECK(run(s, "import numpy as np\nprint(int(np.arange(4).sum()))", "6\n") == ERYX_OK);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
}

int main(int argc, char **argv) {
    make_wheel();
    int fds = open_fds();
    cycle();
    if (argc > 1) numpy_cycle(argv[1]);
    eryx_shutdown();
    CHECK(open_fds() == fds);
    CHECK(eryx_threads() == 0);
    cycle(); /* the library makes its state again */
    eryx_shutdown();
    eryx_shutdown(); /* nothing left: harmless */
    CHECK(open_fds() == fds);
    CHECK(eryx_threads() == 0);
    unlink(wheel);
    *strrchr(wheel, '/') = '\0';
    rmdir(wheel);
    dl_iterate_phdr(add_module_roots, NULL);
    return check_report("test_shutdown"); /* LSan's check runs at exit */
}
