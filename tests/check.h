/* A minimal assertion helper: each test program counts its failed checks, prints
** each with its line, and exits non-zero if any failed (ctest reads the exit). */
#ifndef ERYX_TEST_CHECK_H
#define ERYX_TEST_CHECK_H
#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        check_count++;                                                               \
        if (!(cond)) {                                                               \
            check_failures++;                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                                                             \
    do {                                                                                                               \
        const char *a_ = (a), *b_ = (b);                                                                               \
        check_count++;                                                                                                 \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                                       \
            check_failures++;                                                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s\n  got:  \"%s\"\n  want: \"%s\"\n", __FILE__, __LINE__, #a, \
                    #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                                       \
        }                                                                                                              \
    } while (0)

/* A check whose failure says what was measured (printf-style details). */
#define CHECKF(cond, ...)                                                            \
    do {                                                                             \
        check_count++;                                                               \
        if (!(cond)) {                                                               \
            check_failures++;                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                            \
            fputc('\n', stderr);                                                     \
        }                                                                            \
    } while (0)

static inline int check_report(const char *name) {
    printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
    return check_failures ? 1 : 0;
}
#endif
