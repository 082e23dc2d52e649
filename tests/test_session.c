/* End-to-end test of sessions (include/eryx.h: keep_state, eryx_sandbox_reset,
** _clear, _snapshot, _restore, eryx_builder_set_session_key) with real Python:
** state that pickle cannot carry survives a snapshot/restore round trip, into
** another sandbox and, with a shared session key, into another process; a blob
** from another process without the key, from another key, from another
** artifact, with a bit flipped, or forged (the right structure, 1 GiB of memory,
** a MAC under a guessed key) is refused, the forged one without allocating; a
** blob larger than the restoring sandbox's memory limit is refused before
** anything is allocated; memory stays flat over 1,000 session executes.
** usage: test_session                     (the test)
**        test_session --restore F [KEY]   (restores blob file F, KEY 64 hex digits;
**        exits 0 when restored and checked, 2 when refused as unauthenticated) */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE */
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../src/sandbox/session_blob.h"
#include "check.h"
#include "eryx.h"

static const uint8_t KEY[32] = "a shared key, 32 bytes long: ok";
static const uint8_t KEY2[32] = "another key, also 32 bytes long";

static const char *run(eryx_sandbox *s, const char *code, eryx_status want) {
    static char out[4096];
    eryx_result *r = NULL;
    eryx_status st = eryx_sandbox_execute(s, code, strlen(code), &r);
    if (st != want) fprintf(stderr, "run(%.60s): %s: %s\n", code, eryx_status_name(st), eryx_sandbox_errmsg(s));
    CHECK(st == want);
    snprintf(out, sizeof out, "%s", eryx_result_stdout(r, NULL));
    eryx_result_free(r);
    return out;
}

static eryx_builder *session_builder(const char *setup) {
    eryx_builder *b = eryx_builder_new();
    CHECK(eryx_builder_set_keep_state(b, 1) == ERYX_OK);
    CHECK(eryx_builder_set_setup_code(b, setup, strlen(setup)) == ERYX_OK);
    return b;
}

static const char SETUP[] = "import io\nbase = 'setup'\n";
/* State pickle cannot carry: a lambda, a generator half-way through, an open
** in-memory file, a class defined in the session, a closure. */
static const char STATE[] = "f = lambda x: x * 3\n"
                            "def gen():\n    for i in range(10):\n        yield i\n"
                            "g = gen(); next(g); next(g)\n"
                            "buf = io.StringIO(); buf.write('hello ')\n"
                            "class Point:\n    def __init__(self, x): self.x = x\n"
                            "pt = Point(7)\n"
                            "def counter():\n    n = 0\n    def inc():\n        nonlocal n; n += 1; return n\n"
                            "    return inc\n"
                            "inc = counter(); inc()\n"
                            "big = list(range(200000))\n";
static const char CHECK_STATE[] =
    "buf.write('world')\n"
    "print(f(5), next(g), buf.getvalue(), pt.x, type(pt).__name__, inc(), len(big), base)";
static const char WANT_STATE[] = "15 2 hello world 7 Point 2 200000 setup\n";

static int restore_mode(const char *path, const char *key_hex) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return 1;
    static char data[64 << 20];
    size_t len = fread(data, 1, sizeof data, fp);
    fclose(fp);
    eryx_builder *b = session_builder(SETUP);
    if (key_hex) {
        uint8_t key[32];
        for (int i = 0; i < 32; i++) {
            unsigned v = 0;
            sscanf(key_hex + 2 * i, "%2x", &v);
            key[i] = (uint8_t)v;
        }
        CHECK(eryx_builder_set_session_key(b, key, sizeof key) == ERYX_OK);
    }
    eryx_sandbox *s = NULL;
    CHECK(eryx_sandbox_new(b, &s) == ERYX_OK);
    eryx_status st = eryx_sandbox_restore(s, data, len);
    if (st != ERYX_OK) fprintf(stderr, "restore: %s\n", eryx_sandbox_errmsg(s));
    if (st == ERYX_ERR_INVALID_ARGUMENT && strstr(eryx_sandbox_errmsg(s), "authentication")) {
        eryx_sandbox_free(s);
        eryx_builder_free(b);
        return check_report("test_session --restore") ? 1 : 2;
    }
    CHECK(st == ERYX_OK);
    CHECK_STR_EQ(run(s, CHECK_STATE, ERYX_OK), WANT_STATE);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    return check_report("test_session --restore") ? 1 : 0;
}

/* Restores blob in another process (test_session --restore); its exit status. */
static int restore_elsewhere(const void *blob, size_t len, const uint8_t *key) {
    char path[] = "/tmp/eryx-session-XXXXXX", hex[65] = "";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, blob, len) == (ssize_t)len);
    close(fd);
    for (int i = 0; key && i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", key[i]);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "test_session", "--restore", path, key ? hex : (char *)NULL, (char *)NULL);
        _exit(127);
    }
    int ws = 0;
    waitpid(pid, &ws, 0);
    unlink(path);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

/* The process's peak resident memory since the last reset_peak(), in MiB. */
static void reset_peak(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    CHECK(f && fputs("5", f) >= 0);
    if (f) fclose(f);
}
static long peak_mib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld", &kib) == 1) break;
    if (f) fclose(f);
    return kib / 1024;
}

/* Anonymous memory (heap, private page copies), KiB: not Private_Clean, which moves
** when another process maps or unmaps the same cache files. */
static long private_kib(void) {
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    long total = 0, v;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Anonymous: %ld", &v) == 1) total = v;
    if (f) fclose(f);
    return total;
}

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "--restore")) return restore_mode(argv[2], argc > 3 ? argv[3] : NULL);
    eryx_builder *b = session_builder(SETUP);
    eryx_sandbox *s = NULL, *t = NULL;
    CHECK(eryx_sandbox_new(b, &s) == ERYX_OK && eryx_sandbox_new(b, &t) == ERYX_OK);
    if (!s || !t) return check_report("test_session");

    /* A session keeps state; reset goes back to the start; clear drops the user's names only. */
    run(s, "x = 41", ERYX_OK);
    CHECK_STR_EQ(run(s, "x += 1; print(x)", ERYX_OK), "42\n");
    CHECK(eryx_sandbox_clear(s) == ERYX_OK);
    CHECK_STR_EQ(run(s, "print('x' in globals(), base, 'io' in globals())", ERYX_OK), "False setup True\n");
    run(s, "y = 1; import colorsys", ERYX_OK); /* not in the start state */
    CHECK(eryx_sandbox_reset(s) == ERYX_OK);
    CHECK_STR_EQ(run(s, "import sys; print('y' in globals(), 'colorsys' in sys.modules)", ERYX_OK), "False False\n");

    /* Snapshot, go on, restore: back to the snapshot's state. */
    run(s, STATE, ERYX_OK);
    void *blob = NULL;
    size_t len = 0;
    CHECK(eryx_sandbox_snapshot(s, &blob, &len) == ERYX_OK && blob && len > 80);
    fprintf(stderr, "session snapshot: %zu bytes (a 200,000-int list and friends)\n", len);
    CHECK_STR_EQ(run(s, CHECK_STATE, ERYX_OK), WANT_STATE);
    CHECK_STR_EQ(run(s, "print(next(g), inc())", ERYX_OK), "3 3\n");
    CHECK(eryx_sandbox_restore(s, blob, len) == ERYX_OK);
    CHECK_STR_EQ(run(s, CHECK_STATE, ERYX_OK), WANT_STATE);
    /* Into another sandbox of the same configuration. */
    CHECK(eryx_sandbox_restore(t, blob, len) == ERYX_OK);
    CHECK_STR_EQ(run(t, CHECK_STATE, ERYX_OK), WANT_STATE);
    /* Not into another process: the default key is the process's own. */
    CHECK(restore_elsewhere(blob, len, NULL) == 2);
    CHECK(restore_elsewhere(blob, len, KEY) == 2);
    /* With an explicit key: into another sandbox and another process with that key,
    ** refused by sandboxes with another key or the default one. */
    eryx_builder *bk = session_builder(SETUP), *bk2 = session_builder(SETUP);
    CHECK(eryx_builder_set_session_key(bk, KEY, sizeof KEY) == ERYX_OK);
    CHECK(eryx_builder_set_session_key(bk2, KEY2, sizeof KEY2) == ERYX_OK);
    eryx_sandbox *k1 = NULL, *k2 = NULL, *k3 = NULL;
    CHECK(eryx_sandbox_new(bk, &k1) == ERYX_OK && eryx_sandbox_new(bk, &k2) == ERYX_OK);
    CHECK(eryx_sandbox_new(bk2, &k3) == ERYX_OK);
    run(k1, STATE, ERYX_OK);
    void *kblob = NULL;
    size_t klen = 0;
    CHECK(eryx_sandbox_snapshot(k1, &kblob, &klen) == ERYX_OK);
    CHECK(eryx_sandbox_restore(k2, kblob, klen) == ERYX_OK);
    CHECK_STR_EQ(run(k2, CHECK_STATE, ERYX_OK), WANT_STATE);
    CHECK(restore_elsewhere(kblob, klen, KEY) == 0);
    CHECK(restore_elsewhere(kblob, klen, KEY2) == 2);
    CHECK(restore_elsewhere(kblob, klen, NULL) == 2);
    CHECK(eryx_sandbox_restore(k3, kblob, klen) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(eryx_sandbox_errmsg(k3), "authentication") != NULL);
    CHECK(eryx_sandbox_restore(t, kblob, klen) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_sandbox_restore(k2, blob, len) == ERYX_ERR_INVALID_ARGUMENT);
    eryx_blob_free(kblob);
    eryx_sandbox_free(k1);
    eryx_sandbox_free(k2);
    eryx_sandbox_free(k3);
    eryx_builder_free(bk);
    eryx_builder_free(bk2);

    /* Refused: damaged blobs (the sandbox keeps its state), a blob of another
    ** artifact, open files, no pre-initialization. */
    uint8_t *bad = malloc(len);
    memcpy(bad, blob, len);
    bad[len - 5] ^= 0xff;
    run(t, "marker = 'kept'", ERYX_OK);
    CHECK(eryx_sandbox_restore(t, bad, len) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(eryx_sandbox_errmsg(t), "damaged") != NULL);
    CHECK(eryx_sandbox_restore(t, bad, 40) == ERYX_ERR_INVALID_ARGUMENT);
    memcpy(bad, blob, len);
    bad[50] ^= 1; /* the memory size */
    CHECK(eryx_sandbox_restore(t, bad, len) == ERYX_ERR_INVALID_ARGUMENT);
    /* A bit flipped anywhere: each header byte, the MAC, across the payload. */
    int flips = 0, refused = 0;
    for (size_t i = 0; i < len; i += i < 72 || i >= len - 32 ? 1 : len / 199) {
        memcpy(bad, blob, len);
        bad[i] ^= (uint8_t)(1u << (i % 8));
        flips++;
        refused += eryx_sandbox_restore(t, bad, len) == ERYX_ERR_INVALID_ARGUMENT;
    }
    CHECK(flips > 250 && refused == flips);
    fprintf(stderr, "%d restores of a blob with one bit flipped: %d refused\n", flips, refused);
    CHECK_STR_EQ(run(t, "print(marker)", ERYX_OK), "kept\n");
    free(bad);

    /* A forged blob: the structure right (this artifact, a zstd payload, lengths that
    ** agree), 1 GiB of memory with every page listed, a MAC under a guessed key.
    ** Refused by the MAC before any of it is believed: nothing is allocated. */
    {
        size_t gib = (size_t)1 << 30, n = gib / ERYX__BLOB_PAGE;
        uint8_t *zero = mmap(NULL, gib, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        uint32_t *all = malloc(n * sizeof *all);
        CHECK(zero != MAP_FAILED && all);
        for (size_t i = 0; i < n; i++) all[i] = (uint32_t)i;
        eryx__blob_key guess;
        CHECK(eryx__blob_key_set(&guess, KEY2, sizeof KEY2) == 0);
        uint8_t *forged = NULL;
        size_t flen = 0;
        CHECK(eryx__blob_encode(&guess, (const uint8_t *)blob + 16, zero, gib, all, n, &forged, &flen) == NULL);
        free(all);
        munmap(zero, gib);
        fprintf(stderr, "forged blob: %zu bytes declaring %zu pages of a 1 GiB memory\n", flen, n);
        reset_peak();
        long before = peak_mib();
        CHECK(eryx_sandbox_restore(t, forged, flen) == ERYX_ERR_INVALID_ARGUMENT);
        CHECK(strstr(eryx_sandbox_errmsg(t), "authentication") != NULL);
        long grew = peak_mib() - before;
        fprintf(stderr, "forged blob: %s; peak resident memory grew by %ld MiB\n", eryx_sandbox_errmsg(t), grew);
        CHECK(grew < 64);
        CHECK_STR_EQ(run(t, "print(marker)", ERYX_OK), "kept\n");
        free(forged);
    }

    /* A blob of a session larger than the restoring sandbox's memory limit: refused
    ** with ERYX_ERR_MEMORY_LIMIT before anything is allocated or the state changed. */
    {
        eryx_builder *bl = session_builder(SETUP);
        CHECK(eryx_builder_set_max_memory(bl, (uint64_t)128 << 20) == ERYX_OK);
        eryx_sandbox *lim = NULL;
        CHECK(eryx_sandbox_new(bl, &lim) == ERYX_OK);
        run(lim, "marker = 'kept'", ERYX_OK);
        run(s, "huge = b'x' * (300 << 20)", ERYX_OK);
        void *hblob = NULL;
        size_t hlen = 0;
        CHECK(eryx_sandbox_snapshot(s, &hblob, &hlen) == ERYX_OK);
        run(s, "del huge", ERYX_OK);
        reset_peak();
        long before = peak_mib();
        CHECK(lim && eryx_sandbox_restore(lim, hblob, hlen) == ERYX_ERR_MEMORY_LIMIT);
        long grew = peak_mib() - before;
        fprintf(stderr, "a %zu-byte blob of a 300 MiB session into a 128 MiB sandbox: %s; peak grew by %ld MiB\n", hlen,
                eryx_sandbox_errmsg(lim), grew);
        CHECK(strstr(eryx_sandbox_errmsg(lim), "limit of 134217728 bytes") != NULL);
        CHECK(grew < 64);
        CHECK_STR_EQ(run(lim, "print(marker)", ERYX_OK), "kept\n");
        eryx_blob_free(hblob);
        eryx_sandbox_free(lim);
        eryx_builder_free(bl);
    }
    eryx_builder *other = session_builder("base = 'another setup'\n");
    eryx_sandbox *o = NULL;
    CHECK(eryx_sandbox_new(other, &o) == ERYX_OK);
    CHECK(o && eryx_sandbox_restore(o, blob, len) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(o && strstr(eryx_sandbox_errmsg(o), "another artifact") != NULL);
    eryx_sandbox_free(o);
    eryx_builder_free(other);
    run(s, "fh = open('/tmp/f', 'w')", ERYX_OK);
    void *blob2 = NULL;
    size_t len2 = 0;
    CHECK(eryx_sandbox_snapshot(s, &blob2, &len2) == ERYX_ERR_INVALID_ARGUMENT && blob2 == NULL);
    CHECK(strstr(eryx_sandbox_errmsg(s), "open") != NULL);
    run(s, "fh.close()", ERYX_OK);
    eryx_blob_free(blob);

    /* 1,000 session executes: memory stays flat. */
    CHECK(eryx_sandbox_reset(s) == ERYX_OK);
    run(s, "total = 0", ERYX_OK);
    long before = 0;
    for (int i = 0; i < 1000; i++) {
        if (i == 100) before = private_kib();
        eryx_result *r = NULL;
        CHECK(eryx_sandbox_execute(s, "total += 1; tmp = [0] * 1000", 28, &r) == ERYX_OK);
        eryx_result_free(r);
    }
    long after = private_kib();
    fprintf(stderr, "anonymous memory over 900 session executes: %ld -> %ld KiB\n", before, after);
    CHECK(after - before < 2048);
    CHECK_STR_EQ(run(s, "print(total)", ERYX_OK), "1000\n");

    eryx_sandbox_free(s);
    eryx_sandbox_free(t);
    eryx_builder_free(b);
    return check_report("test_session");
}
