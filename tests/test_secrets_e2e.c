/*
** End-to-end test of secrets with real Python (include/eryx.h: eryx_builder_add_secret,
** eryx_builder_set_scrub): os.environ[NAME] holds a placeholder, fresh per sandbox,
** stable across one sandbox's executions and sessions, with and without
** pre-initialization, never in the start state; stdout, stderr (the streaming
** callback too), files and, when asked, the result are scrubbed of placeholders and
** values; scrub flags off leave them. (The network path is tested with the
** connections: the filters themselves in test_net_secrets.c.)
*/
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "eryx.h"

#define VALUE "sk-test-VALUE-0123456789abcdefghijklmn" /* 38 bytes */
#define PW "hunter2pw"
#define ALL_SCRUB (ERYX_SCRUB_STDOUT | ERYX_SCRUB_STDERR | ERYX_SCRUB_FILES | ERYX_SCRUB_RESULT)

static eryx_builder *builder(int preinit, int keep, int scrub) {
    eryx_builder *b = eryx_builder_new();
    const char *hosts[] = {"api.example.com"};
    CHECK(eryx_builder_set_preinit(b, preinit) == ERYX_OK);
    CHECK(eryx_builder_set_keep_state(b, keep) == ERYX_OK);
    CHECK(eryx_builder_add_secret(b, "API_KEY", VALUE, hosts, 1) == ERYX_OK);
    CHECK(eryx_builder_add_secret(b, "PW", PW, NULL, 0) == ERYX_OK);
    /* What the setup code sees of API_KEY goes into the start state: nothing. */
    const char *setup = "import os\nat_setup = os.environ.get('API_KEY')\n";
    CHECK(eryx_builder_set_setup_code(b, setup, strlen(setup)) == ERYX_OK);
    if (scrub >= 0) CHECK(eryx_builder_set_scrub(b, (unsigned)scrub) == ERYX_OK);
    return b;
}

typedef struct run_out {
    char out[16384], err[4096], value[4096], exc[4096], streamed[16384];
    size_t streamed_len;
} run_out;

static void on_output(void *user, int stream, const char *data, size_t len) {
    run_out *o = user;
    if (stream == 1 && o->streamed_len + len < sizeof o->streamed) {
        memcpy(o->streamed + o->streamed_len, data, len);
        o->streamed_len += len;
        o->streamed[o->streamed_len] = '\0';
    }
}

static run_out *run(eryx_sandbox *s, const char *code) {
    static run_out o;
    memset(&o, 0, sizeof o);
    eryx_result *r = NULL;
    CHECK(eryx_sandbox_set_output(s, on_output, &o) == ERYX_OK);
    eryx_status st = eryx_sandbox_execute(s, code, strlen(code), &r);
    if (st != ERYX_OK && st != ERYX_ERR_PYTHON_EXCEPTION)
        fprintf(stderr, "run(%.60s): %s: %s\n", code, eryx_status_name(st), eryx_sandbox_errmsg(s));
    CHECK(st == ERYX_OK || st == ERYX_ERR_PYTHON_EXCEPTION);
    snprintf(o.out, sizeof o.out, "%s", eryx_result_stdout(r, NULL));
    snprintf(o.err, sizeof o.err, "%s", eryx_result_stderr(r, NULL));
    const char *v = eryx_result_value(r), *e = eryx_result_exception_message(r);
    snprintf(o.value, sizeof o.value, "%s", v ? v : "");
    snprintf(o.exc, sizeof o.exc, "%s", e ? e : "");
    eryx_result_free(r);
    eryx_sandbox_set_output(s, NULL, NULL);
    return &o;
}

/* The sandbox's placeholder of API_KEY, as the guest sees it ("" if none). */
static void placeholder(eryx_sandbox *s, char out[128]) {
    run_out *o = run(s, "import os\nresult = os.environ['API_KEY']\n");
    size_t n = strlen(o->value);
    snprintf(out, 128, "%.*s", n >= 2 ? (int)n - 2 : 0, o->value + 1); /* the JSON string's quotes off */
}

static void test_placeholders(int preinit) {
    eryx_builder *b = builder(preinit, 0, -1);
    eryx_sandbox *s1 = NULL, *s2 = NULL;
    CHECK(eryx_sandbox_new(b, &s1) == ERYX_OK && eryx_sandbox_new(b, &s2) == ERYX_OK);
    if (!s1 || !s2) return;
    char p1[128], p1b[128], p2[128];
    placeholder(s1, p1);
    placeholder(s1, p1b);
    placeholder(s2, p2);
    CHECKF(!strncmp(p1, "ERYX_SECRET_", 12) && strlen(p1) == strlen(VALUE), "preinit %d: '%s'", preinit, p1);
    CHECK_STR_EQ(p1, p1b);      /* stable across a sandbox's executions (each a fresh instance) */
    CHECK(strcmp(p1, p2) != 0); /* fresh per sandbox */
    run_out *o = run(s1, "import os\nresult = [at_setup, len(os.environ['PW']), os.environ['PW'][:12]]\n");
    CHECK_STR_EQ(o->value, "[null, 32, \"ERYX_SECRET_\"]"); /* the start state holds none */
    /* Scrubbed by default: stdout, stderr, the streaming callback, files; not the result. */
    o = run(s1, "import os, sys\np = os.environ['API_KEY']\n"
                "print('key', p, 'value', '" VALUE "', 'pw', '" PW "')\n"
                "sys.stderr.write('err ' + p + '\\n')\n"
                "sys.stdout.write(p[:15]); sys.stdout.write(p[15:] + '|')\n" /* split across two writes */
                "f = open('/tmp/a', 'w'); f.write('x' * 8190 + p); f.flush(); f.write(p[:20]); f.flush()\n"
                "f.write(p[20:] + '\\n'); f.close()\n"
                "result = open('/tmp/a').read()[8180:]\n"
                "sys.stdout.write(p[:5])\n"); /* held at the end, then delivered as is */
    char want[512];
    snprintf(want, sizeof want, "key [REDACTED] value [REDACTED] pw [REDACTED]\n[REDACTED]|%.5s", p1);
    CHECK_STR_EQ(o->out, want);
    CHECK_STR_EQ(o->streamed, want);
    CHECK_STR_EQ(o->err, "err [REDACTED]\n");
    CHECK_STR_EQ(o->value, "\"xxxxxxxxxx[REDACTED][REDACTED]\\n\"");
    /* The result is the placeholder unless asked; an exception's text follows stderr. */
    o = run(s1, "import os\nresult = os.environ['API_KEY']\nraise ValueError(result)\n");
    CHECK(strstr(o->exc, "[REDACTED]") && !strstr(o->exc, "ERYX_SECRET_"));
    eryx_sandbox_free(s1);
    eryx_sandbox_free(s2);
    eryx_builder_free(b);
}

static void test_flags(void) {
    /* Off: the placeholder comes out as is (and the real value never was in the guest). */
    eryx_builder *b = builder(1, 0, 0);
    eryx_sandbox *s = NULL;
    CHECK(eryx_sandbox_new(b, &s) == ERYX_OK);
    if (!s) return;
    char p[128];
    placeholder(s, p);
    run_out *o = run(s, "import os, sys\np = os.environ['API_KEY']\nprint(p)\nsys.stderr.write(p)\n"
                        "open('/tmp/b', 'w').write(p)\nresult = open('/tmp/b').read()\n");
    char want[160];
    snprintf(want, sizeof want, "%s\n", p);
    CHECK_STR_EQ(o->out, want);
    CHECK_STR_EQ(o->err, p);
    snprintf(want, sizeof want, "\"%s\"", p);
    CHECK_STR_EQ(o->value, want);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    /* The result when asked. */
    b = builder(1, 0, ALL_SCRUB);
    CHECK(eryx_sandbox_new(b, &s) == ERYX_OK);
    if (!s) return;
    o = run(s, "import os\nresult = {'k': os.environ['API_KEY'], 'v': '" VALUE "'}\n");
    CHECK_STR_EQ(o->value, "{\"k\": \"[REDACTED]\", \"v\": \"[REDACTED]\"}");
    eryx_sandbox_free(s);
    /* Only stdout: stderr keeps it. */
    CHECK(eryx_builder_set_scrub(b, ERYX_SCRUB_STDOUT) == ERYX_OK);
    CHECK(eryx_sandbox_new(b, &s) == ERYX_OK);
    if (!s) return;
    o = run(s, "import os, sys\nprint(os.environ['API_KEY'])\nsys.stderr.write(os.environ['API_KEY'])\n");
    CHECK_STR_EQ(o->out, "[REDACTED]\n");
    CHECK(!strncmp(o->err, "ERYX_SECRET_", 12));
    eryx_sandbox_free(s);
    eryx_builder_free(b);
}

static void test_sessions(void) {
    eryx_builder *b = builder(1, 1, -1);
    eryx_sandbox *s1 = NULL, *s2 = NULL;
    CHECK(eryx_sandbox_new(b, &s1) == ERYX_OK && eryx_sandbox_new(b, &s2) == ERYX_OK);
    if (!s1 || !s2) return;
    char p1[128], p1b[128], p2[128], after[128];
    placeholder(s1, p1);
    run(s1, "import os\nkept = os.environ['API_KEY']\n");
    placeholder(s1, p1b);
    CHECK_STR_EQ(p1, p1b);
    CHECK(eryx_sandbox_reset(s1) == ERYX_OK);
    placeholder(s1, p1b);
    CHECK_STR_EQ(p1, p1b); /* a reset is a fresh instance of the same sandbox */
    run(s1, "import os\nkept = os.environ['API_KEY']\n");
    placeholder(s2, p2);
    /* A session restored into another sandbox: that sandbox's placeholder again. */
    void *blob = NULL;
    size_t len = 0;
    CHECK(eryx_sandbox_snapshot(s1, &blob, &len) == ERYX_OK);
    CHECK(eryx_sandbox_restore(s2, blob, len) == ERYX_OK);
    eryx_blob_free(blob);
    placeholder(s2, after);
    CHECK_STR_EQ(after, p2);
    run_out *o = run(s2, "result = kept\n");
    char want[160];
    snprintf(want, sizeof want, "\"%s\"", p1);
    CHECK_STR_EQ(o->value, want); /* the session's own variable came along */
    eryx_sandbox_free(s1);
    eryx_sandbox_free(s2);
    eryx_builder_free(b);
}

static void test_api_errors(void) {
    eryx_builder *b = eryx_builder_new();
    const char *empty[] = {""};
    CHECK(eryx_builder_add_secret(b, "BAD-NAME", "v", NULL, 0) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(eryx_builder_errmsg(b), "BAD-NAME") != NULL);
    CHECK(eryx_builder_add_secret(b, "X", "", NULL, 0) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_add_secret(b, "X", NULL, NULL, 0) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_add_secret(b, "X", "v", empty, 1) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_add_secret(NULL, "X", "v", NULL, 0) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_set_scrub(b, 16) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_set_scrub(b, ALL_SCRUB) == ERYX_OK);
    eryx_builder_free(b);
}

int main(void) {
    test_api_errors();
    test_placeholders(1);
    test_placeholders(0);
    test_flags();
    test_sessions();
    return check_report("test_secrets_e2e");
}
