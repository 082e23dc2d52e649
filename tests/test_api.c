/* End-to-end test of the public C API with the real guest: argument checks, error
** messages, captured output, exceptions, exit statuses, fresh state per run,
** pre-initialization (imports, setup code, reseeding, errors), the result variable,
** environment, stdin and output callbacks, mounts, and sandboxes in threads. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "eryx.h"
#include "../src/sandbox/sandbox_internal.h"

static eryx_status run(eryx_sandbox *s, const char *code, eryx_result **r) {
    eryx_result_free(*r);
    *r = NULL;
    return eryx_sandbox_execute(s, code, strlen(code), r);
}

static eryx_sandbox *new_sandbox(eryx_builder *b) {
    eryx_sandbox *s = NULL;
    eryx_status st = eryx_sandbox_new(b, &s);
    if (st != ERYX_OK) fprintf(stderr, "eryx_sandbox_new: %s: %s\n", eryx_status_name(st), eryx_builder_errmsg(b));
    return s;
}

typedef struct {
    const char *data;
    size_t pos, len;
} stdin_src;
static ptrdiff_t read_src(void *user, void *buf, size_t len) {
    stdin_src *src = user;
    size_t n = src->len - src->pos < len ? src->len - src->pos : len;
    memcpy(buf, src->data + src->pos, n);
    src->pos += n;
    return (ptrdiff_t)n;
}

static char streamed[256];
static void collect(void *user, int stream, const char *data, size_t len) {
    (void)user;
    size_t used = strlen(streamed);
    if (stream == 1 && used + len < sizeof streamed) memcpy(streamed + used, data, len);
}

/* Each thread: its own sandbox, its own state, run at the same time as the others. */
static void *thread_main(void *arg) {
    long id = (long)arg;
    eryx_builder *b = eryx_builder_new();
    eryx_sandbox *s = new_sandbox(b);
    eryx_builder_free(b);
    long ok = 0;
    if (s) {
        char code[256], want[64];
        snprintf(code, sizeof code, "x = %ld\nfor i in range(20000): x = (x * 31 + i) %% 1000003\nprint(x)", id);
        long x = id;
        for (long i = 0; i < 20000; i++) x = (x * 31 + i) % 1000003;
        snprintf(want, sizeof want, "%ld\n", x);
        eryx_result *r = NULL;
        ok = run(s, code, &r) == ERYX_OK && !strcmp(eryx_result_stdout(r, NULL), want);
        eryx_result_free(r);
        eryx_sandbox_free(s);
    }
    return (void *)ok;
}

/* A custom persistent cache tier: one slot in memory. */
typedef struct {
    char key[65];
    void *data;
    size_t len;
    int gets, hits, puts;
} slot_backend;
static int slot_get(void *user, const char *key, void **data, size_t *len) {
    slot_backend *sb = user;
    sb->gets++;
    if (!sb->data || strcmp(sb->key, key)) return 0;
    sb->hits++;
    *data = malloc(sb->len);
    memcpy(*data, sb->data, sb->len);
    *len = sb->len;
    return 1;
}
static void slot_free(void *user, void *data, size_t len) {
    (void)user;
    (void)len;
    free(data);
}
static int slot_put(void *user, const char *key, const void *data, size_t len) {
    slot_backend *sb = user;
    sb->puts++;
    free(sb->data);
    sb->data = malloc(len);
    memcpy(sb->data, data, len);
    sb->len = len;
    snprintf(sb->key, sizeof sb->key, "%s", key);
    return 0;
}

static int warning_count;
static void count_warning(void *user, const char *msg) {
    (void)user;
    (void)msg;
    warning_count++;
}

/* Pre-initialization: imports and setup code run once; every run starts from
** their state, with its own random seed; failures are reported with the traceback. */
static void test_preinit(void) {
    eryx_result *r = NULL;
    eryx_builder *b = eryx_builder_new();
    const char *snap_argv[] = {"-c", "snap"};
    CHECK(eryx_builder_set_argv(b, 2, snap_argv) == ERYX_OK);
    CHECK(eryx_builder_set_env(b, "WHO", "snapshot") == ERYX_OK);
    CHECK(eryx_builder_add_preimport(b, "random") == ERYX_OK);
    CHECK(eryx_builder_add_preimport(b, "json") == ERYX_OK);
    CHECK(eryx_builder_add_preimport(b, "bad name!") == ERYX_ERR_INVALID_ARGUMENT);
    const char *setup = "greeting = 'hi'\ncounter = [0]\n";
    CHECK(eryx_builder_set_setup_code(b, setup, strlen(setup)) == ERYX_OK);
    eryx_sandbox *sbx[2] = {new_sandbox(b), new_sandbox(b)};
    CHECK(sbx[0] && sbx[1]);
    if (!sbx[0] || !sbx[1]) goto out;
    CHECK(eryx__sandbox_preinit(sbx[0]));
    /* Setup state in every run; run state in none after it. */
    for (int i = 0; i < 3; i++) {
        CHECK(run(sbx[0], "counter[0] += 1\nprint(greeting, counter[0], 'json' in __import__('sys').modules)", &r) ==
              ERYX_OK);
        CHECK_STR_EQ(eryx_result_stdout(r, NULL), "hi 1 True\n");
    }
    CHECK(run(sbx[0], "secret = 41\nimport colorsys", &r) == ERYX_OK); /* not in the start state */
    CHECK(run(sbx[0], "import sys; print('secret' in globals(), 'colorsys' in sys.modules)", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_stdout(r, NULL), "False False\n");
    CHECK(run(sbx[0], "open('/tmp/x', 'w').write('y'); print(open('/tmp/x').read())", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_stdout(r, NULL), "y\n");
    CHECK(run(sbx[0], "import os; print(os.path.exists('/tmp/x'))", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_stdout(r, NULL), "False\n");
    CHECK(run(sbx[1], "import os, sys; print(sys.argv, os.environ['WHO'])", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_stdout(r, NULL), "['-c', 'snap'] snapshot\n");
    /* random was imported (and seeded) before the snapshot: every sandbox and every
    ** run reseeds it from the host's CSPRNG, so no two draws repeat. */
    char draw[4][64];
    for (int i = 0; i < 4; i++) {
        CHECK(run(sbx[i % 2], "import random; print(random.getrandbits(64))", &r) == ERYX_OK);
        snprintf(draw[i], sizeof draw[i], "%s", eryx_result_stdout(r, NULL));
        for (int j = 0; j < i; j++) CHECK(strcmp(draw[i], draw[j]) != 0);
    }
    /* The result variable, JSON-encoded; values JSON cannot hold are refused. */
    CHECK(run(sbx[0], "result = {'a': [1, 2.5, None, 'é']}", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_value(r), "{\"a\": [1, 2.5, null, \"é\"]}");
    CHECK(eryx_result_value_error(r) == NULL);
    CHECK(run(sbx[0], "result = float('nan')", &r) == ERYX_OK);
    CHECK(eryx_result_value(r) == NULL);
    CHECK(eryx_result_value_error(r) && strstr(eryx_result_value_error(r), "ValueError"));
    CHECK(run(sbx[0], "result = {1, 2}", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_value_error(r), "result is not JSON-serializable: set (TypeError)");
    CHECK(run(sbx[0], "x = 1", &r) == ERYX_OK);
    CHECK(eryx_result_value(r) == NULL && eryx_result_value_error(r) == NULL);
out:
    eryx_sandbox_free(sbx[0]);
    eryx_sandbox_free(sbx[1]);

    /* keep_state: a session-like sandbox sees its earlier runs. */
    CHECK(eryx_builder_set_keep_state(b, 1) == ERYX_OK);
    CHECK(eryx_builder_set_result_name(b, "answer") == ERYX_OK);
    CHECK(eryx_builder_set_result_name(b, "1x") == ERYX_ERR_INVALID_ARGUMENT);
    eryx_sandbox *s = new_sandbox(b);
    CHECK(s && run(s, "counter[0] += 1", &r) == ERYX_OK);
    CHECK(s && run(s, "counter[0] += 1\nanswer = counter[0]", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_value(r), "2");
    /* The run that sets the variable consumes it, failed or not: later runs never see it. */
    CHECK(s && run(s, "pass", &r) == ERYX_OK);
    CHECK(eryx_result_value(r) == NULL && eryx_result_value_error(r) == NULL);
    CHECK(s && run(s, "answer = 3\nraise ValueError('x')", &r) == ERYX_ERR_PYTHON_EXCEPTION);
    CHECK(eryx_result_value(r) == NULL);
    CHECK(s && run(s, "import sys\nanswer = 4\nsys.exit(3)", &r) == ERYX_ERR_EXIT);
    CHECK(eryx_result_value(r) == NULL);
    CHECK(s && run(s, "print('answer' in globals(), counter[0])", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_stdout(r, NULL), "False 2\n");
    eryx_sandbox_free(s);
    eryx_builder_free(b);

    /* Pre-initialization off: Python starts in each instance; same behaviour. */
    b = eryx_builder_new();
    CHECK(eryx_builder_set_preinit(b, 0) == ERYX_OK);
    s = new_sandbox(b);
    CHECK(s && !eryx__sandbox_preinit(s));
    CHECK(s && run(s, "y = 2", &r) == ERYX_OK);
    CHECK(s && run(s, "print('y' in globals())", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_stdout(r, NULL), "False\n");
    eryx_sandbox_free(s);
    eryx_builder_free(b);

    /* Failures name the cause and carry the traceback; nothing is cached for them. */
    static const struct {
        const char *import, *setup, *expect;
    } bad[] = {
        {"no_such_module_xyz", NULL, "ModuleNotFoundError: No module named 'no_such_module_xyz'"},
        {NULL, "1 / 0", "ZeroDivisionError"},
        {NULL, "import sys; sys.exit(2)", "setup code exited with status 2"},
        {NULL, "open('/tmp/f', 'w').write('x')", "wrote files to /tmp or /data"},
        {NULL, "f = open('/usr/local/lib/python3.13/os.pyc', 'rb')", "left 1 file(s) open"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b = eryx_builder_new();
        if (bad[i].import) CHECK(eryx_builder_add_preimport(b, bad[i].import) == ERYX_OK);
        if (bad[i].setup) CHECK(eryx_builder_set_setup_code(b, bad[i].setup, strlen(bad[i].setup)) == ERYX_OK);
        s = NULL;
        CHECK(eryx_sandbox_new(b, &s) == ERYX_ERR_PREINIT && s == NULL);
        if (!strstr(eryx_builder_errmsg(b), bad[i].expect))
            fprintf(stderr, "case %zu: message was: %s\n", i, eryx_builder_errmsg(b));
        CHECK(strstr(eryx_builder_errmsg(b), bad[i].expect) != NULL);
        eryx_builder_free(b);
    }
    eryx_result_free(r);
}

int main(void) {
    /* Argument checks and messages. */
    CHECK(eryx_builder_set_guest_dir(NULL, "x") == ERYX_ERR_INVALID_ARGUMENT);
    eryx_builder *b = eryx_builder_new();
    CHECK(b != NULL);
    CHECK_STR_EQ(eryx_builder_errmsg(b), "");
    CHECK(eryx_builder_set_guest_dir(b, "") == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(eryx_builder_errmsg(b), "empty") != NULL);
    CHECK(eryx_builder_set_cache_dir(b, "") == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_set_argv(b, 2, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    const char *bad_argv[] = {"a", NULL};
    CHECK(eryx_builder_set_argv(b, 2, bad_argv) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_set_env(b, "A=B", "c") == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_set_env(b, "", "c") == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_add_mount(b, "/tmp", "relative", 0) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_add_mount(b, "/tmp", "/", 0) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_add_mount(b, "/tmp", "/usr/local/lib/python3.13/x", 0) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(eryx_builder_errmsg(b), "stdlib") != NULL);
    CHECK(eryx_builder_add_mount(b, "/tmp", "/mnt/x", 99) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_sandbox_new(b, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_sandbox_execute(NULL, "", 0, NULL) == ERYX_ERR_INVALID_ARGUMENT);

    /* A missing guest is a clear error that says what to do. */
    eryx_sandbox *s = (eryx_sandbox *)1;
    CHECK(eryx_builder_set_guest_dir(b, "/nonexistent/eryx-guest") == ERYX_OK);
    CHECK(eryx_sandbox_new(b, &s) == ERYX_ERR_GUEST_NOT_FOUND);
    CHECK(s == NULL);
    CHECK(strstr(eryx_builder_errmsg(b), "/nonexistent/eryx-guest") != NULL);
    CHECK(strstr(eryx_builder_errmsg(b), "build.sh") != NULL);
    eryx_builder_free(b);

    /* A mount of a missing host directory fails at creation, naming it. */
    b = eryx_builder_new();
    CHECK(eryx_builder_add_mount(b, "/nonexistent/eryx-dir", "/mnt/x", 0) == ERYX_OK);
    CHECK(eryx_sandbox_new(b, &s) == ERYX_ERR_MOUNT);
    CHECK(strstr(eryx_builder_errmsg(b), "/nonexistent/eryx-dir") != NULL);
    eryx_builder_free(b);

    /* The default guest runs code, with the argv and environment given. */
    b = eryx_builder_new();
    const char *argv[] = {"-c", "first", "second"};
    CHECK(eryx_builder_set_argv(b, 3, argv) == ERYX_OK);
    CHECK(eryx_builder_set_env(b, "GREETING", "hello") == ERYX_OK);
    CHECK(eryx_builder_set_env(b, "GREETING", "bonjour") == ERYX_OK); /* replaces */
    char dir[] = "/tmp/eryx-test-api-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/in.txt", dir);
    FILE *f = fopen(path, "w");
    CHECK(f && fputs("from the host", f) >= 0);
    if (f) fclose(f);
    CHECK(eryx_builder_add_mount(b, dir, "/mnt/ro", ERYX_MOUNT_READONLY) == ERYX_OK);
    CHECK(eryx_builder_add_mount(b, dir, "/mnt/rw", 0) == ERYX_OK);
    s = new_sandbox(b);
    CHECK(s != NULL);
    eryx_builder_free(b); /* the sandbox does not need it */
    if (!s) return check_report("test_api");

    eryx_result *r = NULL;
    CHECK(run(s, "x = 6 * 7", &r) == ERYX_OK);
    CHECK(run(s, "print('x' in globals())", &r) == ERYX_OK); /* each run starts afresh */
    CHECK_STR_EQ(eryx_result_stdout(r, NULL), "False\n");
    CHECK(run(s, "x = 6 * 7\nprint(x)", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_stdout(r, NULL), "42\n");
    CHECK(eryx_result_exception_type(r) == NULL && eryx_result_exit_code(r) == 0);
    CHECK(eryx_result_duration_ns(r) > 0);
    CHECK(run(s, "import sys, os; print(sys.argv, dict(os.environ))", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_stdout(r, NULL), "['-c', 'first', 'second'] {'GREETING': 'bonjour'}\n");

    /* Exceptions: type, message and traceback, stderr captured. */
    CHECK(run(s, "def f():\n    raise ValueError('boom')\nf()", &r) == ERYX_ERR_PYTHON_EXCEPTION);
    CHECK_STR_EQ(eryx_result_exception_type(r), "ValueError");
    CHECK_STR_EQ(eryx_result_exception_message(r), "boom");
    CHECK(eryx_result_traceback(r) && strstr(eryx_result_traceback(r), "line 2, in f"));
    CHECK(eryx_result_traceback(r) && !strstr(eryx_result_traceback(r), "_eryx_support")); /* user frames only */
    CHECK(strstr(eryx_result_stderr(r, NULL), "ValueError: boom") != NULL);
    CHECK(eryx_result_exit_code(r) == 1);
    CHECK(strstr(eryx_sandbox_errmsg(s), "ValueError: boom") != NULL);
    CHECK(run(s, "import json\njson.loads('{')", &r) == ERYX_ERR_PYTHON_EXCEPTION);
    CHECK_STR_EQ(eryx_result_exception_type(r), "json.decoder.JSONDecodeError");
    CHECK(run(s, "def (", &r) == ERYX_ERR_PYTHON_EXCEPTION);
    CHECK_STR_EQ(eryx_result_exception_type(r), "SyntaxError");

    /* Exit statuses; the sandbox goes on after SystemExit. */
    CHECK(run(s, "import sys; sys.exit(3)", &r) == ERYX_ERR_EXIT);
    CHECK(eryx_result_exit_code(r) == 3 && eryx_result_exception_type(r) == NULL);
    CHECK(run(s, "import sys; sys.exit(0)", &r) == ERYX_OK);
    CHECK(run(s, "print('still alive')", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_stdout(r, NULL), "still alive\n");

    /* stdin from a callback; output streamed to a callback as well as captured. */
    stdin_src src = {"line one\nline two\n", 0, 18};
    CHECK(eryx_sandbox_set_stdin(s, read_src, &src) == ERYX_OK);
    CHECK(eryx_sandbox_set_output(s, collect, NULL) == ERYX_OK);
    CHECK(run(s, "import sys; print(sys.stdin.readline().strip().upper())", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_stdout(r, NULL), "LINE ONE\n");
    CHECK_STR_EQ(streamed, "LINE ONE\n");
    eryx_sandbox_set_output(s, NULL, NULL);

    /* Files: in-memory /tmp; read-only and read-write host mounts. */
    CHECK(run(s, "open('/tmp/a.txt', 'w').write('x' * 1000); print(len(open('/tmp/a.txt').read()))", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_stdout(r, NULL), "1000\n");
    CHECK(run(s, "print(open('/mnt/ro/in.txt').read())", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_stdout(r, NULL), "from the host\n");
    CHECK(run(s, "open('/mnt/ro/new.txt', 'w')", &r) == ERYX_ERR_PYTHON_EXCEPTION);
    CHECK_STR_EQ(eryx_result_exception_type(r), "OSError");
    CHECK(run(s, "open('/mnt/rw/out.txt', 'w').write('from the guest')", &r) == ERYX_OK);
    snprintf(path, sizeof path, "%s/out.txt", dir);
    char back[64] = "";
    f = fopen(path, "r");
    CHECK(f && fgets(back, sizeof back, f));
    if (f) fclose(f);
    CHECK_STR_EQ(back, "from the guest");
    unlink(path);

    /* os._exit ends the guest: reported, then the sandbox starts afresh. */
    CHECK(run(s, "import os; os._exit(4)", &r) == ERYX_ERR_EXIT);
    CHECK(eryx_result_exit_code(r) == 4);
    CHECK(run(s, "print('again')", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_stdout(r, NULL), "again\n");
    /* A fresh start that cannot be made (the mounted directory is gone) leaves
    ** the sandbox unusable, and says why. */
    snprintf(path, sizeof path, "%s/in.txt", dir);
    unlink(path);
    rmdir(dir);
    CHECK(run(s, "print('gone')", &r) == ERYX_ERR_SANDBOX_DEAD);
    CHECK(strstr(eryx_sandbox_errmsg(s), "could not be reset") && strstr(eryx_sandbox_errmsg(s), dir));
    CHECK(run(s, "pass", &r) == ERYX_ERR_SANDBOX_DEAD);
    CHECK(strstr(eryx_sandbox_errmsg(s), "create a new sandbox") != NULL);
    eryx_result_free(r);
    r = NULL;
    eryx_sandbox_free(s);

    /* Cache tiers through the API: an embedder's backend fills on the first
    ** sandbox and serves the second; a shared memory tier serves a third builder. */
    slot_backend sb = {0};
    eryx_cache_backend be = {slot_get, slot_free, slot_put};
    eryx_cache *mem = eryx_cache_new(2);
    CHECK(mem != NULL);
    b = eryx_builder_new();
    CHECK(eryx_builder_set_cache_backend(b, &(eryx_cache_backend){NULL, NULL, NULL}, NULL) ==
          ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_set_cache_backend(b, &be, &sb) == ERYX_OK);
    CHECK(eryx_builder_set_preinit(b, 0) == ERYX_OK); /* one module: the base */
    CHECK(eryx_builder_set_memory_cache(b, NULL) == ERYX_OK);
    CHECK(eryx_builder_set_warning_handler(b, count_warning, NULL) == ERYX_OK);
    s = new_sandbox(b);
    CHECK(s && run(s, "print('one')", &r) == ERYX_OK);
    eryx_sandbox_free(s);
    CHECK(sb.puts == 1 && sb.hits == 0);
    s = new_sandbox(b);
    CHECK(s && run(s, "print('two')", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_stdout(r, NULL), "two\n");
    eryx_sandbox_free(s);
    CHECK(sb.puts == 1 && sb.hits == 1);
    CHECK(eryx_builder_set_memory_cache(b, mem) == ERYX_OK);
    s = new_sandbox(b); /* fills the shared memory tier */
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    b = eryx_builder_new();
    CHECK(eryx_builder_set_cache_backend(b, &be, &sb) == ERYX_OK);
    CHECK(eryx_builder_set_preinit(b, 0) == ERYX_OK);
    CHECK(eryx_builder_set_memory_cache(b, mem) == ERYX_OK);
    int gets_before = sb.gets;
    s = new_sandbox(b);
    CHECK(s != NULL && sb.gets == gets_before); /* from memory: the backend was not asked */
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    eryx_cache_release(mem);
    CHECK(warning_count == 1); /* the backend's first miss compiled, and said so; nothing else */
    free(sb.data);

    test_preinit();

    /* Several sandboxes at once, one per thread. */
    enum { NTHREADS = 4 };
    pthread_t th[NTHREADS];
    for (long t = 0; t < NTHREADS; t++) CHECK(pthread_create(&th[t], NULL, thread_main, (void *)t) == 0);
    for (long t = 0; t < NTHREADS; t++) {
        void *ok = NULL;
        pthread_join(th[t], &ok);
        CHECK(ok == (void *)1);
    }
    eryx_result_free(r);
    eryx_sandbox_free(NULL);
    eryx_builder_free(NULL);
    eryx_result_free(NULL);
    return check_report("test_api");
}
