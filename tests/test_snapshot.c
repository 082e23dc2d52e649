/*
** End-to-end tests of pre-initialization (src/snapshot/, src/sandbox/), with real
** Python in the real sandbox:
**   1. snapshot pages are shared: 20 idle sandboxes cost little private memory each
**      (and, for contrast, what they cost without pre-initialization);
**   2. 10,000 fresh executions in one sandbox keep the process's memory flat (Rss
**      and anonymous memory: see the note there on Private_Clean);
**   3. every execution starts from the start state, which holds the setup code's state;
**   4. a damaged snapshot entry on disk (a flipped byte, a truncation) is reported,
**      removed and rebuilt;
**   5. an entry of another module stored under the snapshot's name is refused;
**   6. imports and setup code are part of the snapshot's identity;
**   7. sandboxes in two threads at once.
** Memory is read from /proc/self/smaps_rollup. Under AddressSanitizer (shadow memory,
** quarantine) the numeric memory bounds are skipped, saying so; all else runs.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "eryx.h"
#include "../src/sandbox/sandbox_internal.h"

/* AddressSanitizer: this file is compiled without it even in an ERYX_SANITIZE build
** (CMakeLists.txt gives the flags to the library's objects and to the link only),
** so look for the runtime linked in as well as for the compiler's macro. */
#if defined(__SANITIZE_ADDRESS__)
#define ASAN_COMPILED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_COMPILED 1
#endif
#endif
#ifndef ASAN_COMPILED
#define ASAN_COMPILED 0
#endif
extern void __asan_init(void) __attribute__((weak));
static int under_asan(void) { return ASAN_COMPILED || __asan_init != NULL; }

static eryx_status run(eryx_sandbox *s, const char *code, eryx_result **r) {
    eryx_result_free(*r);
    *r = NULL;
    return eryx_sandbox_execute(s, code, strlen(code), r);
}

/* Runs code and checks it succeeds with exactly `want` on stdout; 1 when it did. */
static int expect_out(eryx_sandbox *s, const char *code, const char *want, const char *what) {
    eryx_result *r = NULL;
    eryx_status st = s ? run(s, code, &r) : ERYX_ERR_INVALID_ARGUMENT;
    const char *out = eryx_result_stdout(r, NULL);
    int ok = st == ERYX_OK && !strcmp(out, want);
    CHECKF(ok, "%s: running %s gave %s (%s), stdout \"%s\", want \"%s\"; stderr: %.800s", what, code,
           eryx_status_name(st), s ? eryx_sandbox_errmsg(s) : "no sandbox", out, want, eryx_result_stderr(r, NULL));
    eryx_result_free(r);
    return ok;
}

static eryx_sandbox *new_sandbox(eryx_builder *b, const char *what) {
    eryx_sandbox *s = NULL;
    eryx_status st = eryx_sandbox_new(b, &s);
    CHECKF(st == ERYX_OK && s, "%s: eryx_sandbox_new gave %s: %s", what, eryx_status_name(st), eryx_builder_errmsg(b));
    return s;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- process memory (kB, from /proc/self/smaps_rollup) --------------------------- */
typedef struct {
    long rss, private_clean, private_dirty, shared_clean, shared_dirty, anonymous;
} mem_kb;

static long mem_private(const mem_kb *m) { return m->private_clean + m->private_dirty; }

static int read_mem(mem_kb *m) {
    memset(m, 0, sizeof *m);
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f) return -1;
    char line[256];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        static const struct {
            const char *name;
            size_t off;
        } fields[] = {
            {"Rss:", offsetof(mem_kb, rss)},
            {"Private_Clean:", offsetof(mem_kb, private_clean)},
            {"Private_Dirty:", offsetof(mem_kb, private_dirty)},
            {"Shared_Clean:", offsetof(mem_kb, shared_clean)},
            {"Shared_Dirty:", offsetof(mem_kb, shared_dirty)},
            {"Anonymous:", offsetof(mem_kb, anonymous)},
        };
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            size_t n = strlen(fields[i].name);
            if (!strncmp(line, fields[i].name, n)) {
                *(long *)((char *)m + fields[i].off) = strtol(line + n, NULL, 10);
                found++;
            }
        }
    }
    fclose(f);
    return found == 6 ? 0 : -1;
}

/* ---- warnings -------------------------------------------------------------------- */
typedef struct {
    int count;
    char text[8192]; /* every message, one per line (truncated when long) */
} warnings;

static void collect_warning(void *user, const char *msg) {
    warnings *w = user;
    w->count++;
    size_t used = strlen(w->text);
    snprintf(w->text + used, sizeof w->text - used, "%s\n", msg);
}

/* ---- 1. pages shared ---------------------------------------------------------------- */
enum { NSANDBOXES = 20 };

static void test_pages_shared(int preinit) {
    const char *mode = preinit ? "pre-initialized" : "not pre-initialized";
    eryx_builder *b = eryx_builder_new();
    CHECK(b && eryx_builder_set_preinit(b, preinit) == ERYX_OK);
    /* One sandbox first, executed once: the module is loaded and mapped, the
    ** engine, stdlib image and allocators are warm before the measurement. */
    eryx_sandbox *warm = new_sandbox(b, mode);
    expect_out(warm, "print(sum(range(10)))", "45\n", mode);
    mem_kb before, after;
    CHECKF(read_mem(&before) == 0, "cannot read /proc/self/smaps_rollup: %s", strerror(errno));
    eryx_sandbox *s[NSANDBOXES] = {0};
    double t0 = now_s();
    for (int i = 0; i < NSANDBOXES; i++) s[i] = new_sandbox(b, mode);
    double t1 = now_s();
    CHECKF(read_mem(&after) == 0, "cannot read /proc/self/smaps_rollup: %s", strerror(errno));
    long priv = mem_private(&after) - mem_private(&before);
    long per = priv / NSANDBOXES;
    fprintf(stderr,
            "%s: private memory per idle sandbox: %ld KiB (%d sandboxes: private %+ld KiB, Anonymous %+ld KiB, "
            "Rss %+ld KiB, Shared_Clean %+ld KiB, Shared_Dirty %+ld KiB; created in %.0f us each)\n",
            mode, per, NSANDBOXES, priv, after.anonymous - before.anonymous, after.rss - before.rss,
            after.shared_clean - before.shared_clean, after.shared_dirty - before.shared_dirty,
            (t1 - t0) * 1e6 / NSANDBOXES);
    if (preinit) {
        CHECK(warm && eryx__sandbox_preinit(warm));
        if (under_asan())
            fprintf(stderr,
                    "AddressSanitizer build: the private-memory bound (< 4096 KiB per sandbox) is not checked\n");
        else
            CHECKF(per < 4096,
                   "each idle pre-initialized sandbox added %ld KiB of private memory (Private_Clean + "
                   "Private_Dirty over %d sandboxes: %+ld KiB); the target is < 4096 KiB: the snapshot's pages "
                   "are not shared copy-on-write",
                   per, NSANDBOXES, priv);
    }
    /* They all still work (each in its own start state). */
    for (int i = 0; i < NSANDBOXES; i++) {
        char code[64], want[32];
        snprintf(code, sizeof code, "print(%d * 3)", i);
        snprintf(want, sizeof want, "%d\n", i * 3);
        if (s[i]) expect_out(s[i], code, want, mode);
        eryx_sandbox_free(s[i]);
    }
    eryx_sandbox_free(warm);
    eryx_builder_free(b);
}

/* ---- 2. many fresh executions, flat memory ------------------------------------------ */
static void test_many_executes(void) {
    enum { FIRST = 1000, TOTAL = 10000 };
    eryx_builder *b = eryx_builder_new();
    eryx_sandbox *s = new_sandbox(b, "many executes");
    eryx_builder_free(b);
    if (!s) return;
    const char *code = "x = [i for i in range(100)]";
    int failed = 0;
    eryx_status first_bad = ERYX_OK;
    mem_kb m1 = {0}, m2 = {0};
    double t0 = now_s(), t1 = 0;
    for (int i = 0; i < TOTAL; i++) {
        eryx_status st = eryx_sandbox_execute(s, code, strlen(code), NULL);
        if (st != ERYX_OK && !failed++) {
            first_bad = st;
            fprintf(stderr, "execute %d: %s: %s\n", i, eryx_status_name(st), eryx_sandbox_errmsg(s));
        }
        if (i + 1 == FIRST) {
            t1 = now_s();
            CHECK(read_mem(&m1) == 0);
        }
    }
    double t2 = now_s();
    CHECK(read_mem(&m2) == 0);
    CHECKF(failed == 0, "%d of %d executions failed (first: %s)", failed, TOTAL, eryx_status_name(first_bad));
    /* What is bounded: Anonymous (the heap, guest pages copied on write: where a
    ** leak would show) and Rss (every resident page of the process, so a leaked
    ** mapping shows whether or not its pages are shared). Private_Clean +
    ** Private_Dirty is printed but not bounded: a clean page of a .cwasm in the
    ** shared cache dir counts as private or shared depending on whether *another
    ** process* maps it at that moment (the sum moved by 7 MiB with Rss unchanged
    ** while other eryx processes ran), and pages of a memfd memory image move
    ** between Private_Dirty and Private_Clean (10 MiB, Rss unchanged, no disk cache). */
    long growth = mem_private(&m2) - mem_private(&m1), anon = m2.anonymous - m1.anonymous, rss = m2.rss - m1.rss;
    fprintf(stderr,
            "fresh execute: %.0f us each (first %d: %.0f us; all %d: %.1f s); from execution %d to %d: Rss %ld -> %ld "
            "KiB (%+ld KiB), Anonymous %ld -> %ld KiB (%+ld KiB), private memory %ld -> %ld KiB (%+ld KiB: "
            "Private_Dirty %+ld, Private_Clean %+ld)\n",
            (t2 - t0) * 1e6 / TOTAL, FIRST, (t1 - t0) * 1e6 / FIRST, TOTAL, t2 - t0, FIRST, TOTAL, m1.rss, m2.rss, rss,
            m1.anonymous, m2.anonymous, anon, mem_private(&m1), mem_private(&m2), growth,
            m2.private_dirty - m1.private_dirty, m2.private_clean - m1.private_clean);
    if (under_asan()) {
        fprintf(stderr, "AddressSanitizer build: the memory-growth bounds (< 2048 KiB) are not checked\n");
    } else {
        CHECKF(rss < 2048,
               "Rss grew by %ld KiB between execution %d (%ld KiB) and execution %d (%ld KiB); the bound is 2048 KiB: "
               "something leaks per execution (~%ld bytes each)",
               rss, FIRST, m1.rss, TOTAL, m2.rss, rss * 1024 / (TOTAL - FIRST));
        CHECKF(anon < 2048,
               "anonymous memory grew by %ld KiB between execution %d (%ld KiB) and execution %d (%ld KiB); the bound "
               "is 2048 KiB: something leaks per execution (~%ld bytes each)",
               anon, FIRST, m1.anonymous, TOTAL, m2.anonymous, anon * 1024 / (TOTAL - FIRST));
    }
    expect_out(s, "print('still fresh', 'x' in globals())", "still fresh False\n", "after 10,000 executes");
    eryx_sandbox_free(s);
}

/* ---- 3. fresh state; setup state in every run ----------------------------------------- */
#define SETUP_COMMON "import json\nsetup_var = 'from setup'\nsetup_list = [1, 2]\n"
static const char setup_one[] = SETUP_COMMON "who = 'one'\n";
static const char setup_two[] = SETUP_COMMON "who = 'two'\n";

/* Prints what every mutation below would change if it leaked into the next run. */
static const char probe[] =
    "import sys, os\n" /* json: the setup code's import, a global of __main__ */
    "print('run_var' in globals(), 'colorsys' in sys.modules, 'json' in sys.modules, json.dumps([1]),\n"
    "      os.path.exists('/tmp/f.txt'), os.environ.get('EXTRA'), len('abc'), setup_var, setup_list, who,\n"
    "      '/evil' in sys.path)";
static const char probe_want[] = "False False True [1] False None 3 from setup [1, 2] one False\n";

static void test_fresh_state(void) {
    /* The probe's module must not be in the start state to begin with. */
    CHECKF(!strstr(eryx_default_imports(), "colorsys\n"), "%s", "colorsys is pre-imported: pick another probe module");
    eryx_builder *b = eryx_builder_new();
    CHECK(eryx_builder_set_setup_code(b, setup_one, strlen(setup_one)) == ERYX_OK);
    eryx_sandbox *s = new_sandbox(b, "fresh state");
    if (!s) {
        eryx_builder_free(b);
        return;
    }
    CHECK(eryx__sandbox_preinit(s));
    expect_out(s, probe, probe_want, "start state");
    /* Each mutation is made (and seen to take effect) in one run, then the probe
    ** must see the start state again. */
    static const struct {
        const char *code, *want;
    } mutations[] = {
        {"run_var = 1\nprint(run_var)", "1\n"},
        {"import sys, colorsys\nprint('colorsys' in sys.modules)", "True\n"},
        {"import json\njson.dumps = None\nprint(json.dumps)", "None\n"},
        {"import json\ndel json.dumps\nprint(hasattr(json, 'dumps'))", "False\n"},
        {"import sys\ndel sys.modules['json']\nprint('json' in sys.modules)", "False\n"},
        {"open('/tmp/f.txt', 'w').write('x')\nprint(open('/tmp/f.txt').read())", "x\n"},
        {"import os\nos.environ['EXTRA'] = 'yes'\nprint(os.environ['EXTRA'])", "yes\n"},
        {"import builtins\nbuiltins.len = lambda x: 0\nprint(len('abc'))", "0\n"},
        {"import sys\nsys.path.insert(0, '/evil')\nprint(sys.path[0])", "/evil\n"},
        {"del setup_var\nprint('setup_var' in globals())", "False\n"},
        {"setup_var = 'rebound'\nprint(setup_var)", "rebound\n"},
        {"setup_list.append(3)\nprint(setup_list)", "[1, 2, 3]\n"},
        {"del setup_list[:]\nwho = 'changed'\nprint(setup_list, who)", "[] changed\n"},
    };
    for (size_t i = 0; i < sizeof mutations / sizeof mutations[0]; i++) {
        char what[200];
        snprintf(what, sizeof what, "mutation %zu made", i);
        expect_out(s, mutations[i].code, mutations[i].want, what);
        snprintf(what, sizeof what, "state after mutation %zu (%.60s...)", i, mutations[i].code);
        expect_out(s, probe, probe_want, what);
    }
    /* An exception or an exit in a run leaves no trace either. */
    eryx_result *r = NULL;
    CHECK(run(s, "run_var = 2\nraise ValueError('x')", &r) == ERYX_ERR_PYTHON_EXCEPTION);
    expect_out(s, probe, probe_want, "state after an exception");
    CHECK(run(s, "run_var = 3\nimport os\nos._exit(5)", &r) == ERYX_ERR_EXIT);
    expect_out(s, probe, probe_want, "state after os._exit");
    eryx_result_free(r);
    eryx_sandbox_free(s);

    /* Contrast (and a check that the probe sees leaks): keep_state carries them. */
    CHECK(eryx_builder_set_keep_state(b, 1) == ERYX_OK);
    s = new_sandbox(b, "keep state");
    expect_out(s, "run_var = 1\nsetup_var = 'rebound'", "", "keep state");
    expect_out(s, "print('run_var' in globals(), setup_var)", "True rebound\n", "keep state");
    eryx_sandbox_free(s);
    eryx_builder_free(b);
}

/* ---- 6. imports and setup code are part of the snapshot's identity ------------------ */
static void test_key_inputs(void) {
    eryx_builder *b[3] = {eryx_builder_new(), eryx_builder_new(), eryx_builder_new()};
    CHECK(eryx_builder_set_setup_code(b[0], setup_one, strlen(setup_one)) == ERYX_OK);
    CHECK(eryx_builder_set_setup_code(b[1], setup_two, strlen(setup_two)) == ERYX_OK);
    CHECK(eryx_builder_set_setup_code(b[2], setup_one, strlen(setup_one)) == ERYX_OK);
    CHECK(eryx_builder_add_preimport(b[2], "colorsys") == ERYX_OK);
    eryx_sandbox *s[3];
    for (int i = 0; i < 3; i++) s[i] = new_sandbox(b[i], "setup/import key");
    static const char *const want[3] = {"one False\n", "two False\n", "one True\n"};
    /* Interleaved, twice: each sandbox keeps seeing its own configuration. */
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 3; i++)
            expect_out(s[i], "import sys\nprint(who, 'colorsys' in sys.modules)", want[i], "setup/import key");
    for (int i = 0; i < 3; i++) {
        eryx_sandbox_free(s[i]);
        eryx_builder_free(b[i]);
    }
}

/* ---- 4, 5. damaged and foreign snapshot entries ---------------------------------------- */
/* The .cwasm entry names in dir/modules (up to 8), sorted by nothing. */
static int list_entries(const char *dir, char names[][128], int max) {
    char path[512];
    snprintf(path, sizeof path, "%s/modules", dir);
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len > 6 && !strcmp(de->d_name + len - 6, ".cwasm") && len < 128 && n < max)
            memcpy(names[n++], de->d_name, len + 1);
    }
    closedir(d);
    return n;
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Whether the entry at path has a well-formed trailer for its own key (file name). */
static int entry_trailer_ok(const char *path, const char *key) {
    long size = file_size(path);
    if (size < 128) return 0;
    int fd = open(path, O_RDONLY);
    unsigned char t[128];
    int ok = fd >= 0 && pread(fd, t, sizeof t, size - 128) == (ssize_t)sizeof t && !memcmp(t, "ERYXCWSM", 8) &&
             !memcmp(t + 24, key, 64);
    if (ok) {
        uint64_t len = 0;
        for (int i = 7; i >= 0; i--) len = len << 8 | t[16 + i];
        ok = len == (uint64_t)size - 128;
    }
    if (fd >= 0) close(fd);
    return ok;
}

static int flip_middle_byte(const char *path) {
    long size = file_size(path);
    int fd = open(path, O_RDWR);
    unsigned char c;
    int ok = fd >= 0 && size > 256 && pread(fd, &c, 1, size / 2) == 1;
    c ^= 0x40;
    ok = ok && pwrite(fd, &c, 1, size / 2) == 1;
    if (fd >= 0) close(fd);
    return ok ? 0 : -1;
}

static int truncate_half(const char *path) {
    long size = file_size(path);
    return size > 0 ? truncate(path, size / 2) : -1;
}

/* Copies src over dst (a new file renamed into place, as a store would). */
static int copy_over(const char *src, const char *dst) {
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.testcopy", dst);
    FILE *in = fopen(src, "rb"), *out = fopen(tmp, "wb");
    int ok = in && out;
    char buf[65536];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0) ok = fwrite(buf, 1, n, out) == n;
    if (in) fclose(in);
    if (out && fclose(out) != 0) ok = 0;
    ok = ok && rename(tmp, dst) == 0;
    if (!ok) unlink(tmp);
    return ok ? 0 : -1;
}

typedef struct {
    const char *dir;
    eryx_builder *b;
    eryx_cache *mem;
    warnings w;
    char snap_key[65], snap_path[700], base_path[700];
} cache_case;

/* A new memory tier, so the next sandbox consults the disk tier. The old one
** (and every module in it) is gone once no sandbox uses it. */
static void fresh_memory_tier(cache_case *c) {
    eryx_cache_release(c->mem);
    c->mem = eryx_cache_new(4);
    CHECK(c->mem && eryx_builder_set_memory_cache(c->b, c->mem) == ERYX_OK);
}

/* After damage was done to the snapshot entry: a sandbox is still made (from a
** rebuilt snapshot), runs Python, a warning names the entry, and the entry on disk
** is whole again and serves the next load without a warning. */
static void expect_recovery(cache_case *c, const char *damage) {
    fresh_memory_tier(c);
    memset(&c->w, 0, sizeof c->w);
    double t0 = now_s();
    eryx_sandbox *s = new_sandbox(c->b, damage);
    double t1 = now_s();
    CHECKF(s && eryx__sandbox_preinit(s), "%s: the sandbox is not pre-initialized", damage);
    expect_out(s, "import sys\nprint(sum(range(10)), sys.argv)", "45 ['-c']\n", damage);
    eryx_sandbox_free(s);
    CHECKF(c->w.count >= 1 && strstr(c->w.text, c->snap_key) && strstr(c->w.text, "damaged"),
           "%s: want a warning naming the damaged entry %s; got %d warning(s): %s", damage, c->snap_key, c->w.count,
           c->w.text);
    fprintf(stderr, "%s: rebuilt in %.1f s; warning: %s", damage, t1 - t0, c->w.text);
    CHECKF(entry_trailer_ok(c->snap_path, c->snap_key), "%s: the rebuilt entry %s is missing or malformed (%ld bytes)",
           damage, c->snap_path, file_size(c->snap_path));
    /* The rebuilt entry loads cleanly. */
    fresh_memory_tier(c);
    memset(&c->w, 0, sizeof c->w);
    s = new_sandbox(c->b, damage);
    expect_out(s, "print('reloaded')", "reloaded\n", damage);
    eryx_sandbox_free(s);
    CHECKF(c->w.count == 0, "%s: loading the rebuilt entry gave %d warning(s): %s", damage, c->w.count, c->w.text);
}

static void rm_tree(const char *path) {
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            char child[1024];
            snprintf(child, sizeof child, "%s/%s", path, de->d_name);
            struct stat st;
            if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) rm_tree(child);
            else unlink(child);
        }
        closedir(d);
    }
    rmdir(path);
}

/* Seeding the private cache dir from the default one, to save two compiles (~4 s
** each, more on a busy machine): a probe builder with an embedder's backend learns
** the module's key (eryx asks the backend for it) and is served the default dir's
** entry (the payload before the 128-byte trailer), so nothing compiles; then that
** entry file is copied into the private dir, where the store verifies it like any
** other. Without a default entry the probe compiles and nothing is seeded. */
typedef struct {
    char key[65];
    char default_dir[512];
    int served;
} seed_probe;

static int seed_get(void *user, const char *key, void **data, size_t *len) {
    seed_probe *p = user;
    /* The first key asked for is the builder's module; a snapshot that has to be
    ** built asks for the base module next, which is not the one to seed. */
    if (!p->key[0]) snprintf(p->key, sizeof p->key, "%s", key);
    if (strcmp(p->key, key)) return 0;
    char path[700];
    snprintf(path, sizeof path, "%s/modules/%s.cwasm", p->default_dir, key);
    long size = file_size(path);
    FILE *f = size > 128 ? fopen(path, "rb") : NULL;
    if (!f) return 0;
    *len = (size_t)size - 128;
    *data = malloc(*len);
    int ok = *data && fread(*data, 1, *len, f) == *len;
    fclose(f);
    if (!ok) {
        free(*data);
        return 0;
    }
    p->served = 1;
    return 1;
}
static void seed_free(void *user, void *data, size_t len) {
    (void)user;
    (void)len;
    free(data);
}
static int seed_put(void *user, const char *key, const void *data, size_t len) {
    (void)user;
    (void)key;
    (void)data;
    (void)len;
    return 0;
}

/* Learns the key of the module a builder with this pre-initialization setting
** uses (key, 64 hex digits) and copies its default-dir entry into dir; 1 if copied. */
static int seed_entry(const char *dir, int preinit, char key[65]) {
    seed_probe p = {0};
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) snprintf(p.default_dir, sizeof p.default_dir, "%s/eryx", xdg);
    else if (home && *home) snprintf(p.default_dir, sizeof p.default_dir, "%s/.cache/eryx", home);
    eryx_builder *b = eryx_builder_new();
    eryx_cache_backend be = {seed_get, seed_free, seed_put};
    CHECK(eryx_builder_set_preinit(b, preinit) == ERYX_OK && eryx_builder_set_memory_cache(b, NULL) == ERYX_OK &&
          eryx_builder_set_cache_backend(b, &be, &p) == ERYX_OK);
    eryx_sandbox *s = new_sandbox(b, "seeding probe");
    expect_out(s, "print('probe')", "probe\n", "seeding probe");
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    snprintf(key, 65, "%s", p.key);
    if (!p.served || strlen(p.key) != 64) return 0;
    char src[700], dst[700];
    snprintf(src, sizeof src, "%s/modules/%s.cwasm", p.default_dir, p.key);
    snprintf(dst, sizeof dst, "%s/modules/%s.cwasm", dir, p.key);
    return copy_over(src, dst) == 0;
}

static void test_damaged_entries(void) {
    char dir[] = "/tmp/eryx-test-snapshot-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECKF(0, "mkdtemp %s: %s", dir, strerror(errno));
        return;
    }
    cache_case c = {.dir = dir, .b = eryx_builder_new()};
    CHECK(eryx_builder_set_cache_dir(c.b, dir) == ERYX_OK);
    CHECK(eryx_builder_set_warning_handler(c.b, collect_warning, &c.w) == ERYX_OK);
    fresh_memory_tier(&c);

    /* The two entries: the base module's and the snapshot's (whose keys the probe
    ** learns), seeded from the default dir when it has them, else compiled here. */
    char modules[512], base_key[65], snap_key[65];
    snprintf(modules, sizeof modules, "%s/modules", dir);
    CHECKF(mkdir(modules, 0700) == 0, "mkdir %s: %s", modules, strerror(errno));
    int seeded = seed_entry(dir, 0, base_key);
    seeded += seed_entry(dir, 1, snap_key);
    CHECKF(strlen(base_key) == 64 && strlen(snap_key) == 64 && strcmp(base_key, snap_key),
           "the probe learned keys \"%s\" (base) and \"%s\" (snapshot)", base_key, snap_key);
    snprintf(c.base_path, sizeof c.base_path, "%s/%s.cwasm", modules, base_key);
    snprintf(c.snap_path, sizeof c.snap_path, "%s/%s.cwasm", modules, snap_key);
    snprintf(c.snap_key, sizeof c.snap_key, "%s", snap_key);

    CHECK(eryx_builder_set_preinit(c.b, 0) == ERYX_OK);
    double t0 = now_s();
    eryx_sandbox *s = new_sandbox(c.b, "private cache, base");
    expect_out(s, "print(6 * 7)", "42\n", "private cache, base");
    eryx_sandbox_free(s);
    CHECK(eryx_builder_set_preinit(c.b, 1) == ERYX_OK);
    double t1 = now_s();
    s = new_sandbox(c.b, "private cache, snapshot");
    double t2 = now_s();
    CHECK(s && eryx__sandbox_preinit(s));
    expect_out(s, "print(6 * 7)", "42\n", "private cache, snapshot");
    eryx_sandbox_free(s);
    char names[8][128];
    int n = list_entries(dir, names, 8);
    CHECKF(n == 2, "%s holds %d .cwasm entries, want 2 (base %s, snapshot %s)", modules, n, base_key, snap_key);
    CHECKF(c.w.count == 0, "filling the private cache gave %d warning(s): %s", c.w.count, c.w.text);
    CHECKF(entry_trailer_ok(c.snap_path, snap_key) && entry_trailer_ok(c.base_path, base_key),
           "the entries %s and %s are missing or malformed", c.base_path, c.snap_path);
    fprintf(stderr,
            "private cache (%d of 2 entries seeded from the default dir): base entry %ld bytes (ready in %.1f s), "
            "snapshot entry %ld bytes (ready in %.1f s)\n",
            seeded, file_size(c.base_path), t1 - t0, file_size(c.snap_path), t2 - t1);
    if (n != 2) goto out;

    /* 4. Damage: one flipped byte in the middle, then a truncation to half. The
    ** damage is done in place, as a disk would, so first every module mapped from
    ** the entry is dropped (the memory tier holds the last one loaded): a file
    ** truncated under a live mapping kills its mapper with SIGBUS (wasmtime maps
    ** entries; dropping a module reads its unwind tables from the mapping). */
    fresh_memory_tier(&c);
    CHECKF(flip_middle_byte(c.snap_path) == 0, "cannot flip a byte of %s: %s", c.snap_path, strerror(errno));
    expect_recovery(&c, "snapshot entry with a flipped byte");
    fresh_memory_tier(&c);
    CHECKF(truncate_half(c.snap_path) == 0, "cannot truncate %s: %s", c.snap_path, strerror(errno));
    expect_recovery(&c, "snapshot entry truncated to half");

    /* 5. Another module's entry (the base module, whole and valid for its own
    ** key) under the snapshot's name: refused (its trailer names another key). */
    CHECKF(copy_over(c.base_path, c.snap_path) == 0, "cannot copy %s over %s: %s", c.base_path, c.snap_path,
           strerror(errno));
    expect_recovery(&c, "base module's entry under the snapshot's name");
    /* The base entry itself was never touched. */
    CHECK(entry_trailer_ok(c.base_path, base_key));
out:
    eryx_builder_free(c.b);
    eryx_cache_release(c.mem);
    rm_tree(dir);
    struct stat st;
    CHECKF(stat(dir, &st) != 0, "the private cache dir %s was not removed", dir);
}

/* ---- 7. threads ---------------------------------------------------------------------- */
enum { THREAD_RUNS = 500 };

static void *thread_main(void *arg) {
    long id = (long)arg, ok = 0;
    eryx_builder *b = eryx_builder_new();
    eryx_sandbox *s = NULL;
    if (b && eryx_sandbox_new(b, &s) != ERYX_OK)
        fprintf(stderr, "thread %ld: eryx_sandbox_new: %s\n", id, eryx_builder_errmsg(b));
    eryx_builder_free(b);
    for (long k = 0; s && k < THREAD_RUNS; k++) {
        long seed = id * 100000 + k;
        char code[256], want[64];
        snprintf(
            code, sizeof code,
            "x = %ld\nfor i in range(200): x = (x * 31 + i) %% 1000003\nassert 'y' not in globals()\ny = 1\nprint(x)",
            seed);
        long x = seed;
        for (long i = 0; i < 200; i++) x = (x * 31 + i) % 1000003;
        snprintf(want, sizeof want, "%ld\n", x);
        eryx_result *r = NULL;
        eryx_status st = eryx_sandbox_execute(s, code, strlen(code), &r);
        if (st == ERYX_OK && !strcmp(eryx_result_stdout(r, NULL), want)) ok++;
        else if (ok == k)
            fprintf(stderr, "thread %ld run %ld: %s, stdout \"%s\", want \"%s\": %s\n", id, k, eryx_status_name(st),
                    eryx_result_stdout(r, NULL), want, eryx_sandbox_errmsg(s));
        eryx_result_free(r);
    }
    eryx_sandbox_free(s);
    return (void *)ok;
}

/* What is in dir/modules, as "name inode" lines: equal before and after a step
** means the step wrote nothing there (a compile always writes its entry, through a
** rename: a new inode; a hit only touches the entry's times, for the LRU order). */
static void entries_print(const char *dir, char *out, size_t cap) {
    char names[16][128], path[768];
    int n = list_entries(dir, names, 16);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%.300s/modules/%.127s", dir, names[i]);
        if (stat(path, &st) != 0) continue;
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s %llu\n", names[i], (unsigned long long)st.st_ino);
    }
}

/* eryx_builder_set_start_state_cache(b, 0): the builder's start state stays in
** memory, and the compiled modules still come from the cache directory (nothing
** compiled again, nothing written); with it on, the start state is written. */
static void test_state_cache_off(void) {
    char dir[] = "/tmp/eryx-test-statecache-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECKF(0, "mkdtemp %s: %s", dir, strerror(errno));
        return;
    }
    /* A: fills the directory with what a sandbox needs that this process does not
    ** hold already (at least the bare module; images the process made earlier are
    ** served from its image cache). */
    eryx_cache *mem = eryx_cache_new(8);
    eryx_builder *b = eryx_builder_new();
    CHECK(mem && b && eryx_builder_set_cache_dir(b, dir) == ERYX_OK &&
          eryx_builder_set_memory_cache(b, mem) == ERYX_OK);
    eryx_sandbox *s = new_sandbox(b, "state cache: filling the dir");
    expect_out(s, "print(6 * 7)", "42\n", "state cache: filling the dir");
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    eryx_cache_release(mem);
    static char before[4096], after[4096];
    entries_print(dir, before, sizeof before);
    int n0 = list_entries(dir, (char(*)[128])after, 16);
    CHECKF(n0 >= 1, "%s/modules holds %d entries after a first sandbox, want at least the bare module", dir, n0);

    /* B: a new configuration with its state in memory, a new memory tier (so the
    ** modules must come from the directory): writes nothing. */
    mem = eryx_cache_new(8);
    b = eryx_builder_new();
    CHECK(mem && b && eryx_builder_set_cache_dir(b, dir) == ERYX_OK &&
          eryx_builder_set_memory_cache(b, mem) == ERYX_OK);
    CHECK(eryx_builder_add_preimport(b, "json") == ERYX_OK);
    CHECK(eryx_builder_set_start_state_cache(b, 0) == ERYX_OK);
    CHECK(eryx_builder_set_start_state_cache(NULL, 0) == ERYX_ERR_INVALID_ARGUMENT);
    s = new_sandbox(b, "state cache off");
    CHECK(s && eryx__sandbox_preinit(s));
    expect_out(s, "import sys\nprint('json' in sys.modules)", "True\n", "state cache off");
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    eryx_cache_release(mem);
    entries_print(dir, after, sizeof after);
    CHECKF(!strcmp(before, after),
           "a builder with its start state in memory wrote to %s/modules:\nbefore:\n%safter:\n%s", dir, before, after);

    /* C, the control: another new configuration with the state cache on writes
    ** exactly its state. */
    mem = eryx_cache_new(8);
    b = eryx_builder_new();
    CHECK(mem && b && eryx_builder_set_cache_dir(b, dir) == ERYX_OK &&
          eryx_builder_set_memory_cache(b, mem) == ERYX_OK);
    CHECK(eryx_builder_add_preimport(b, "decimal") == ERYX_OK);
    s = new_sandbox(b, "state cache on");
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    eryx_cache_release(mem);
    int n1 = list_entries(dir, (char(*)[128])after, 16);
    CHECKF(n1 == n0 + 1, "a builder with the state cache on left %d entries in %s/modules, want %d", n1, dir, n0 + 1);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

static void test_threads(void) {
    enum { NTHREADS = 2 };
    pthread_t th[NTHREADS];
    double t0 = now_s();
    for (long t = 0; t < NTHREADS; t++) CHECK(pthread_create(&th[t], NULL, thread_main, (void *)t) == 0);
    long total = 0;
    for (long t = 0; t < NTHREADS; t++) {
        void *ok = NULL;
        pthread_join(th[t], &ok);
        CHECKF((long)ok == THREAD_RUNS, "thread %ld: %ld of %d fresh executions gave the right output", t, (long)ok,
               THREAD_RUNS);
        total += (long)ok;
    }
    double t1 = now_s();
    fprintf(stderr, "threads: %d threads x %d fresh executes: %.0f executes/s overall (%.1f s)\n", NTHREADS,
            THREAD_RUNS, (double)total / (t1 - t0), t1 - t0);
}

int main(void) {
    double t0 = now_s();
    test_pages_shared(1);
    test_pages_shared(0);
    test_many_executes();
    test_fresh_state();
    test_key_inputs();
    test_damaged_entries();
    test_state_cache_off();
    test_threads();
    fprintf(stderr, "test_snapshot: %.1f s\n", now_s() - t0);
    return check_report("test_snapshot");
}
