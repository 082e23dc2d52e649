/* End-to-end test of the public C API with the real guest: argument checks, error
** messages, running code, exit statuses, and state kept between runs. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include "check.h"
#include "eryx.h"

/* Runs code with the process's fd 1 redirected to a file; returns what it printed. */
static char captured[65536];
static eryx_status run_capture(eryx_sandbox *s, const char *code, int *status) {
    char path[] = "/tmp/eryx-test-api-XXXXXX";
    int fd = mkstemp(path), saved = dup(1);
    fflush(stdout);
    dup2(fd, 1);
    eryx_status st = eryx_sandbox_run(s, code, strlen(code), status);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    ssize_t n = pread(fd, captured, sizeof captured - 1, 0);
    captured[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return st;
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
    CHECK(eryx_sandbox_new(b, NULL) == ERYX_ERR_INVALID_ARGUMENT);

    /* A missing guest is a clear error that says what to do. */
    eryx_sandbox *s = (eryx_sandbox *)1;
    CHECK(eryx_builder_set_guest_dir(b, "/nonexistent/eryx-guest") == ERYX_OK);
    CHECK(eryx_sandbox_new(b, &s) == ERYX_ERR_GUEST_NOT_FOUND);
    CHECK(s == NULL);
    CHECK(strstr(eryx_builder_errmsg(b), "/nonexistent/eryx-guest") != NULL);
    CHECK(strstr(eryx_builder_errmsg(b), "build.sh") != NULL);
    eryx_builder_free(b);

    /* The default guest (the build's) runs code. */
    b = eryx_builder_new();
    const char *argv[] = {"-c", "first", "second"};
    CHECK(eryx_builder_set_argv(b, 3, argv) == ERYX_OK);
    eryx_status st = eryx_sandbox_new(b, &s);
    CHECK(st == ERYX_OK);
    if (st != ERYX_OK) {
        fprintf(stderr, "eryx_sandbox_new: %s\n", eryx_builder_errmsg(b));
        return check_report("test_api");
    }
    eryx_builder_free(b); /* the sandbox does not need it */

    int status = -1;
    CHECK(run_capture(s, "x = 6 * 7", &status) == ERYX_OK && status == 0);
    CHECK(run_capture(s, "print(x, end='')", &status) == ERYX_OK && status == 0);
    CHECK_STR_EQ(captured, "42");
    CHECK(run_capture(s, "import sys; print(sys.argv, end='')", &status) == ERYX_OK && status == 0);
    CHECK_STR_EQ(captured, "['-c', 'first', 'second']");
    CHECK(run_capture(s, "raise ValueError('boom')", &status) == ERYX_OK && status == 1);
    CHECK(run_capture(s, "import sys; sys.exit(3)", &status) == ERYX_OK && status == 3);
    CHECK(run_capture(s, "print('still alive', end='')", &status) == ERYX_OK && status == 0);
    CHECK_STR_EQ(captured, "still alive");
    CHECK(eryx_sandbox_run(s, NULL, 5, &status) == ERYX_ERR_INVALID_ARGUMENT);
    /* os._exit ends the guest instance: reported as a status, then a clear error. */
    CHECK(run_capture(s, "import os; os._exit(4)", &status) == ERYX_OK && status == 4);
    CHECK(run_capture(s, "pass", &status) == ERYX_ERR_GUEST_API);
    CHECK(strstr(eryx_sandbox_errmsg(s), "exited") != NULL);
    eryx_sandbox_free(s);
    eryx_sandbox_free(NULL);
    eryx_builder_free(NULL);
    return check_report("test_api");
}
