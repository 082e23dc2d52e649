/* Running guest code and comparing its stdout, for the end-to-end tests of
** packages (numpy, pandas, matplotlib): run() returns a copy of the execution's
** stdout (the status in *st; stderr is printed when it failed); EXPECT counts a
** check that fails unless the status is ERYX_OK and stdout is exactly want;
** pkg_builder() is a builder with two packages and a 1 GiB memory cap, pkg_sandbox()
** a sandbox of it (NULL, with the builder's message printed, when it fails);
** EXPECT_PREIMPORTED checks code in two sandboxes restored from b's snapshot with
** module pre-imported (its side modules loaded again in each). */
#ifndef ERYX_TEST_EXPECT_UTIL_H
#define ERYX_TEST_EXPECT_UTIL_H
#include <stdio.h>
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

static inline eryx_builder *pkg_builder(const char *pkg1, const char *pkg2) {
    eryx_builder *b = eryx_builder_new();
    CHECK(eryx_builder_add_package(b, pkg1) == ERYX_OK);
    CHECK(eryx_builder_add_package(b, pkg2) == ERYX_OK);
    eryx_builder_set_max_memory(b, 1024u << 20);
    return b;
}

static inline eryx_sandbox *pkg_sandbox(eryx_builder *b) {
    eryx_sandbox *s = NULL;
    if (eryx_sandbox_new(b, &s) != ERYX_OK) fprintf(stderr, "eryx_sandbox_new: %s\n", eryx_builder_errmsg(b));
    return s;
}

static inline void expect_preimported_at(eryx_builder *b, const char *module, const char *code, const char *want,
                                         const char *file, int line) {
    CHECK(eryx_builder_add_preimport(b, module) == ERYX_OK);
    for (int i = 0; i < 2; i++) {
        eryx_sandbox *s = pkg_sandbox(b);
        CHECK(s != NULL);
        if (!s) break;
        expect_at(s, code, want, file, line);
        eryx_sandbox_free(s);
    }
    eryx_builder_free(b);
}
#define EXPECT_PREIMPORTED(b, module, code, want) expect_preimported_at(b, module, code, want, __FILE__, __LINE__)

#endif
