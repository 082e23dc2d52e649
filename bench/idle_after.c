/*
** bench/idle_after.c: what an idle sandbox's memory rules cost one sandbox's
** executes (src/snapshot/snapmem.c; docs/SNAPSHOT.md, "What a reset keeps"):
**   idle_after imports N   p50 of N executes importing ten modules, one after another
**   idle_after pass N      p50 of N fresh `pass` executes
**   idle_after idle N [MS] p50 of N `pass` executes, each after MS ms idle (1200)
** in one sandbox of the default builder, after 5 warm-up `pass`. Link it against
** two builds (this program uses only eryx.h) and alternate them to compare. The
** ten modules are eryx bench's (src/bench/idle_memory.c).
*/
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "eryx.h"

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    static const char imports[] = "import mailbox, xml.etree.ElementTree, email.message, html.parser, configparser, "
                                  "ipaddress, tomllib, plistlib, wave, shlex";
    int n = argc > 2 ? atoi(argv[2]) : 0;
    long idle_ms = argc > 3 ? atol(argv[3]) : 1200;
    if (argc < 3 || n < 1 || (strcmp(argv[1], "imports") && strcmp(argv[1], "pass") && strcmp(argv[1], "idle"))) {
        fprintf(stderr, "usage: idle_after imports|pass|idle N [IDLE_MS]\n");
        return 2;
    }
    eryx_builder *b = eryx_builder_new();
    eryx_sandbox *s = NULL;
    if (!b || eryx_sandbox_new(b, &s) != ERYX_OK) {
        fprintf(stderr, "idle_after: %s\n", b ? eryx_builder_errmsg(b) : "no memory");
        return 1;
    }
    for (int i = 0; i < 5; i++) eryx_sandbox_execute(s, "pass", 4, NULL);
    const char *code = strcmp(argv[1], "imports") ? "pass" : imports;
    double *t = malloc((size_t)n * sizeof *t);
    for (int i = 0; t && i < n; i++) {
        if (!strcmp(argv[1], "idle"))
            nanosleep(&(struct timespec){.tv_sec = idle_ms / 1000, .tv_nsec = (idle_ms % 1000) * 1000000}, NULL);
        double t0 = now_us();
        if (eryx_sandbox_execute(s, code, strlen(code), NULL) != ERYX_OK) {
            fprintf(stderr, "idle_after: %s\n", eryx_sandbox_errmsg(s));
            return 1;
        }
        t[i] = now_us() - t0;
    }
    if (!t) return 1;
    qsort(t, (size_t)n, sizeof *t, cmp);
    printf("%s: p50 %.1f us (min %.1f us, %d runs)\n", argv[1], t[n / 2], t[0], n);
    free(t);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    return 0;
}
