/* Running guest code and comparing its stdout, for the end-to-end tests of
** packages (numpy, pandas): run() returns a copy of the execution's stdout (the
** status in *st; stderr is printed when it failed); EXPECT counts a check that
** fails unless the status is ERYX_OK and stdout is exactly want. */
#ifndef ERYX_TEST_EXPECT_UTIL_H
#define ERYX_TEST_EXPECT_UTIL_H
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "eryx.h"

static char *run(eryx_sandbox *s, const char *code, eryx_status *st) {
    eryx_result *r = NULL;
    *st = eryx_sandbox_execute(s, code, strlen(code), &r);
    char *out = strdup(eryx_result_stdout(r, NULL));
    if (*st != ERYX_OK) fprintf(stderr, "execute: %s\n%s\n", eryx_status_name(*st), eryx_result_stderr(r, NULL));
    eryx_result_free(r);
    return out;
}

static void expect_at(eryx_sandbox *s, const char *code, const char *want, const char *file, int line) {
    eryx_status st;
    char *out = run(s, code, &st);
    check_count++;
    if (st != ERYX_OK || strcmp(out, want) != 0) {
        check_failures++;
        fprintf(stderr, "%s:%d: got %s \"%s\", want \"%s\"\n", file, line, eryx_status_name(st), out, want);
    }
    free(out);
}
#define EXPECT(s, code, want) expect_at(s, code, want, __FILE__, __LINE__)

#endif
