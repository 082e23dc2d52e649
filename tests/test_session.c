/* End-to-end test of sessions (include/eryx.h: keep_state, eryx_sandbox_reset,
** _clear, _snapshot, _restore) with real Python: state that pickle cannot carry
** survives a snapshot/restore round trip, into another sandbox and into another
** process; blobs from another artifact or damaged are refused; memory stays flat
** over 1,000 session executes.
** usage: test_session              (the test)
**        test_session --restore F   (restores blob file F, checks it, exits 0/1) */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "eryx.h"

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

static int restore_mode(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return 1;
    static char data[64 << 20];
    size_t len = fread(data, 1, sizeof data, fp);
    fclose(fp);
    eryx_builder *b = session_builder(SETUP);
    eryx_sandbox *s = NULL;
    CHECK(eryx_sandbox_new(b, &s) == ERYX_OK);
    eryx_status st = eryx_sandbox_restore(s, data, len);
    if (st != ERYX_OK) fprintf(stderr, "restore: %s\n", eryx_sandbox_errmsg(s));
    CHECK(st == ERYX_OK);
    CHECK_STR_EQ(run(s, CHECK_STATE, ERYX_OK), WANT_STATE);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    return check_report("test_session --restore") ? 1 : 0;
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
    if (argc == 3 && !strcmp(argv[1], "--restore")) return restore_mode(argv[2]);
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
    /* Into another process. */
    char path[] = "/tmp/eryx-session-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, blob, len) == (ssize_t)len);
    close(fd);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "test_session", "--restore", path, (char *)NULL);
        _exit(127);
    }
    int ws = 0;
    waitpid(pid, &ws, 0);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    unlink(path);

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
    CHECK_STR_EQ(run(t, "print(marker)", ERYX_OK), "kept\n");
    free(bad);
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
