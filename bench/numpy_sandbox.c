/* bench/numpy_sandbox.c: the numpy figures of issue 8, in one process, with eryx's
** defaults (disk cache in ~/.cache/eryx): a sandbox with numpy pre-imported
** (creation, fresh execute), the first sandbox of a new configuration when numpy's
** compiled side modules are cached (a new snapshot with numpy imported), and
** `import numpy` without pre-init. Built by CMake (target bench_numpy_sandbox,
** bench/CMakeLists.txt); run after ./build.sh:
**   build/bench/numpy_sandbox build/numpy-2.2.6.eryx [RUNS]
** (or the package dir, $(guest/numpy/build.sh | tail -1)/package). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bench_run.h"
#include "eryx.h"

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: numpy_sandbox NUMPY_PACKAGE [RUNS]\n");
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 200;
    double *v = calloc((size_t)runs, sizeof *v);
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* A new configuration (a setup line unique to this run) with numpy imported:
    ** the side modules come compiled from the cache; the snapshot is new. */
    char setup[64];
    snprintf(setup, sizeof setup, "RUN_ID = %ld\n", (long)time(NULL) ^ (long)getpid());
    eryx_builder *b = eryx_builder_new();
    must(eryx_builder_add_package(b, argv[1]), b, "add_package");
    must(eryx_builder_add_preimport(b, "numpy"), b, "preimport");
    must(eryx_builder_set_setup_code(b, setup, strlen(setup)), b, "setup");
    eryx_sandbox *s = NULL;
    double t = now_ms();
    must(eryx_sandbox_new(b, &s), b, "first sandbox");
    printf("%-58s %9.3f ms\n", "first numpy sandbox of a new configuration (cached .so)", now_ms() - t);
    eryx_sandbox_free(s);

    time_creations(b, v, runs); /* warm: the snapshot is in memory */
    report("warm sandbox with numpy pre-imported: creation", 58, v, runs);
    must(eryx_sandbox_new(b, &s), b, "sandbox");
    for (int i = 0; i < runs; i++) v[i] = run(s, "import numpy as np\nx = np.arange(10).sum()");
    report("  execute('import numpy; np.arange(10).sum()'), fresh state", 58, v, runs);
    eryx_sandbox_free(s);
    eryx_builder_free(b);

    /* Without pre-init of numpy: the code's import loads and initializes it. */
    b = eryx_builder_new();
    must(eryx_builder_add_package(b, argv[1]), b, "add_package");
    must(eryx_sandbox_new(b, &s), b, "sandbox");
    int n = runs < 20 ? runs : 20;
    for (int i = 0; i < n; i++) v[i] = run(s, "import numpy");
    report("import numpy without pre-init (fresh state each run)", 58, v, n);

    /* Workloads, timed inside the guest (as bench/numpy_native.sh times native numpy). */
    const char *work[][2] = {
        {"matmul 300x300 float64", "import numpy as np, time\na = np.random.default_rng(0).random((300, 300))\n"
                                   "t = time.perf_counter(); b = a @ a; print((time.perf_counter() - t) * 1e3)"},
        {"sort 10^6 float64", "import numpy as np, time\na = np.random.default_rng(0).random(1_000_000)\n"
                              "t = time.perf_counter(); np.sort(a); print((time.perf_counter() - t) * 1e3)"},
        {"elementwise 10^6 (a*b+c)", "import numpy as np, time\nr = np.random.default_rng(0)\n"
                                     "a, b, c = r.random(10**6), r.random(10**6), r.random(10**6)\n"
                                     "t = time.perf_counter(); d = a * b + c; print((time.perf_counter() - t) * 1e3)"},
    };
    for (size_t w = 0; w < sizeof work / sizeof work[0]; w++) {
        double best = 1e9;
        for (int i = 0; i < 5; i++) {
            eryx_result *r = NULL;
            if (eryx_sandbox_execute(s, work[w][1], strlen(work[w][1]), &r) != ERYX_OK) {
                fprintf(stderr, "%s\n", eryx_result_stderr(r, NULL));
                return 1;
            }
            double ms = atof(eryx_result_stdout(r, NULL));
            if (ms < best) best = ms;
            eryx_result_free(r);
        }
        printf("workload in the sandbox: %-33s best of 5 %9.3f ms\n", work[w][0], best);
    }
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    free(v);
    return 0;
}
