/* bench/package_add.c: time of eryx_builder_add_package for each path given, the
** first call in the process (read and pack) and the best of the next 20 (the
** registry of packed wheels; source trees are read every time). Built by CMake
** (target bench_package_add, bench/CMakeLists.txt); run after ./build.sh:
**   build/bench/package_add PACKAGE... */
#include <stdio.h>
#include <time.h>
#include "bench_time.h"
#include "eryx.h"


int main(int argc, char **argv) {
    for (int k = 1; k < argc; k++) {
        double first = 0, best = 1e9;
        for (int i = 0; i <= 20; i++) {
            eryx_builder *b = eryx_builder_new();
            double t = now_ms();
            if (eryx_builder_add_package(b, argv[k]) != ERYX_OK) {
                fprintf(stderr, "%s\n", eryx_builder_errmsg(b));
                return 1;
            }
            t = now_ms() - t;
            if (i == 0) first = t;
            else if (t < best) best = t;
            eryx_builder_free(b);
        }
        printf("%s: first %.3f ms, then best of 20 %.4f ms\n", argv[k], first, best);
    }
    return 0;
}
