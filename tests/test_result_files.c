/* End-to-end tests of files handed back after an execution
** (eryx_builder_collect_files) with real Python: text and binary files in nested
** directories, sorted by path, exact bytes; handed back after an exception and a
** timeout too; the byte cap (a file that does not fit is left out whole and
** counted), the 1,000-file cap, a directory that does
** not exist, a relative directory refused; every execution starts without the
** previous one's files; a session keeps them (state kept) and hands them back. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "eryx.h"

static eryx_sandbox *make(const char *dir, uint64_t max_bytes, int keep_state, uint64_t timeout_ms) {
    eryx_builder *b = eryx_builder_new();
    CHECK(b != NULL);
    if (!b) return NULL;
    CHECK(eryx_builder_collect_files(b, dir, max_bytes) == ERYX_OK);
    if (keep_state) CHECK(eryx_builder_set_keep_state(b, 1) == ERYX_OK);
    if (timeout_ms) CHECK(eryx_builder_set_timeout_ms(b, timeout_ms) == ERYX_OK);
    eryx_sandbox *s = NULL;
    eryx_status st = eryx_sandbox_new(b, &s);
    if (st != ERYX_OK) fprintf(stderr, "eryx_sandbox_new: %s\n", eryx_builder_errmsg(b));
    CHECK(st == ERYX_OK);
    eryx_builder_free(b);
    return s;
}

/* Runs NUL-terminated code. */
static eryx_status run(eryx_sandbox *s, const char *code, eryx_result **r) {
    return eryx_sandbox_execute(s, code, strlen(code), r);
}

/* The result's file i has this path and these bytes. */
static int file_is(const eryx_result *r, size_t i, const char *path, const void *data, size_t len) {
    size_t got = 0;
    const uint8_t *d = eryx_result_file_data(r, i, &got);
    const char *p = eryx_result_file_path(r, i);
    return p && !strcmp(p, path) && d && got == len && !memcmp(d, data, len);
}

static void test_files_back(void) {
    eryx_sandbox *s = make("/data", 0, 0, 0);
    if (!s) return;
    eryx_result *r = NULL;
    CHECK(run(s,
              "import os\nos.makedirs('/data/plots/deep', exist_ok=True)\n"
              "open('/data/report.csv', 'w').write('a,b\\n1,2\\n')\n"
              "open('/data/plots/deep/fig.png', 'wb').write(bytes(range(256)) * 4)\n"
              "open('/data/empty', 'wb').close()\n"
              "open('/tmp/elsewhere.txt', 'w').write('not collected')\n"
              "print('ok')\n",
              &r) == ERYX_OK);
    uint8_t png[1024];
    for (int i = 0; i < 1024; i++) png[i] = (uint8_t)(i % 256);
    CHECK(eryx_result_file_count(r) == 3);
    CHECK(file_is(r, 0, "/data/empty", "", 0));
    CHECK(file_is(r, 1, "/data/plots/deep/fig.png", png, sizeof png));
    CHECK(file_is(r, 2, "/data/report.csv", "a,b\n1,2\n", 8));
    CHECK(eryx_result_files_left_out(r) == 0);
    CHECK(eryx_result_file_path(r, 3) == NULL && eryx_result_file_data(r, 3, NULL) == NULL);
    eryx_result_free(r);
    r = NULL;
    /* The next execution starts afresh: /data is empty again. */
    CHECK(run(s, "pass", &r) == ERYX_OK);
    CHECK(eryx_result_file_count(r) == 0);
    eryx_result_free(r);
    r = NULL;
    /* After an exception: what was written before it. */
    CHECK(run(s, "open('/data/partial.txt', 'w').write('so far')\nraise ValueError('late')", &r) ==
          ERYX_ERR_PYTHON_EXCEPTION);
    CHECK(eryx_result_file_count(r) == 1 && file_is(r, 0, "/data/partial.txt", "so far", 6));
    eryx_result_free(r);
    eryx_sandbox_free(s);
}

static void test_after_timeout(void) {
    eryx_sandbox *s = make("/data", 0, 0, 300);
    if (!s) return;
    eryx_result *r = NULL;
    CHECK(run(s, "open('/data/progress.txt', 'w').write('step 1')\nwhile True: pass", &r) == ERYX_ERR_TIMEOUT);
    CHECK(eryx_result_file_count(r) == 1 && file_is(r, 0, "/data/progress.txt", "step 1", 6));
    eryx_result_free(r);
    eryx_sandbox_free(s);
}

static void test_caps(void) {
    /* 100 KiB allowed: the 64 KiB files fit one at a time; each is whole or absent. */
    eryx_sandbox *s = make("/tmp/out", 100 << 10, 0, 0);
    if (!s) return;
    eryx_result *r = NULL;
    CHECK(run(s,
              "import os\nos.makedirs('/tmp/out')\n"
              "for n in 'abc': open(f'/tmp/out/{n}.bin', 'wb').write(n.encode() * 65536)\n",
              &r) == ERYX_OK);
    CHECK(eryx_result_file_count(r) == 1 && eryx_result_files_left_out(r) == 2);
    size_t len = 0;
    const uint8_t *d = eryx_result_file_data(r, 0, &len);
    CHECK(len == 65536 && d && d[0] == d[65535]);
    eryx_result_free(r);
    r = NULL;
    /* 1,000 files at most. */
    CHECK(run(s,
              "import os\nos.makedirs('/tmp/out')\n"
              "for i in range(1005): open(f'/tmp/out/{i:04}', 'w').write('x')\n",
              &r) == ERYX_OK);
    CHECK(eryx_result_file_count(r) == 1000 && eryx_result_files_left_out(r) == 5);
    eryx_result_free(r);
    r = NULL;
    /* No such directory: nothing, and no error. */
    CHECK(run(s, "print('no files')", &r) == ERYX_OK);
    CHECK(eryx_result_file_count(r) == 0 && eryx_result_files_left_out(r) == 0);
    eryx_result_free(r);
    eryx_sandbox_free(s);
}

static void test_session_and_refusals(void) {
    eryx_sandbox *s = make("/data", 0, 1, 0);
    if (s) {
        eryx_result *r = NULL;
        CHECK(run(s, "open('/data/one', 'w').write('1')", &r) == ERYX_OK);
        CHECK(eryx_result_file_count(r) == 1);
        eryx_result_free(r);
        r = NULL;
        CHECK(run(s, "open('/data/two', 'w').write('2')", &r) == ERYX_OK);
        CHECK(eryx_result_file_count(r) == 2 && file_is(r, 0, "/data/one", "1", 1) &&
              file_is(r, 1, "/data/two", "2", 1));
        eryx_result_free(r);
        eryx_sandbox_free(s);
    }
    eryx_builder *b = eryx_builder_new();
    CHECK(eryx_builder_collect_files(b, "data", 0) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(eryx_builder_errmsg(b), "absolute directory") != NULL);
    CHECK(eryx_builder_collect_files(b, "/data", 0) == ERYX_OK);
    CHECK(eryx_builder_collect_files(b, NULL, 0) == ERYX_OK); /* off again */
    CHECK(eryx_builder_collect_files(NULL, "/data", 0) == ERYX_ERR_INVALID_ARGUMENT);
    eryx_builder_free(b);
    CHECK(eryx_result_file_count(NULL) == 0 && eryx_result_file_path(NULL, 0) == NULL);
}

int main(void) {
    test_files_back();
    test_after_timeout();
    test_caps();
    test_session_and_refusals();
    return check_report("test_result_files");
}
