/* bench/archive/gc_freeze.c: what gc.freeze() at the snapshot buys (docs/GUEST.md). The
** same numpy workload, ending in a full collection, in sandboxes whose snapshot
** imported numpy two ways: with --import (eryx's preimport: GC off while
** importing, then gc.freeze()) and in the setup code (numpy's
** objects left in the collected generations). Each configuration is new (a unique
** line in its setup), so this also times the first sandbox of each. Settled:
** bench/archive/README.md. Built by CMake (target bench_gc_freeze); after ./build.sh:
**   build/bench/archive/gc_freeze build/numpy-2.2.6.eryx [ROUNDS] */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../bench_time.h"
#include "eryx.h"


enum { EXECUTES = 15 };
static const char WORK[] = "import numpy as np\nd = {i: [np.float64(i)] for i in range(20000)}\n"
                           "import gc\ngc.collect()\n";

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: gc_freeze NUMPY_PACKAGE [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    for (int round = 0; round < rounds; round++) {
        for (int frozen = 1; frozen >= 0; frozen--) {
            char setup[128];
            snprintf(setup, sizeof setup, "%sRUN_ID = '%ld-%ld-%d-%d'\n", frozen ? "" : "import numpy\n",
                     (long)time(NULL), (long)getpid(), round, frozen);
            eryx_builder *b = eryx_builder_new();
            eryx_sandbox *s = NULL;
            if (eryx_builder_add_package(b, argv[1]) != ERYX_OK ||
                (frozen && eryx_builder_add_preimport(b, "numpy") != ERYX_OK) ||
                eryx_builder_set_setup_code(b, setup, strlen(setup)) != ERYX_OK) {
                fprintf(stderr, "builder: %s\n", eryx_builder_errmsg(b));
                return 1;
            }
            double t = now_ms();
            if (eryx_sandbox_new(b, &s) != ERYX_OK) {
                fprintf(stderr, "sandbox: %s\n", eryx_builder_errmsg(b));
                return 1;
            }
            double first = now_ms() - t, w[EXECUTES];
            for (int i = 0; i < EXECUTES; i++) {
                eryx_result *r = NULL;
                t = now_ms();
                if (eryx_sandbox_execute(s, WORK, sizeof WORK - 1, &r) != ERYX_OK) {
                    fprintf(stderr, "execute: %s\n", eryx_result_stderr(r, NULL));
                    return 1;
                }
                w[i] = now_ms() - t;
                eryx_result_free(r);
            }
            qsort(w, EXECUTES, sizeof *w, cmp_double);
            printf("round %d, numpy %-28s first sandbox %7.1f ms, workload p50 %6.2f ms (%d executes)\n", round,
                   frozen ? "--import (GC off, frozen):" : "in the setup (not frozen):", first, w[EXECUTES / 2],
                   EXECUTES);
            eryx_sandbox_free(s);
            eryx_builder_free(b);
        }
    }
    return 0;
}
