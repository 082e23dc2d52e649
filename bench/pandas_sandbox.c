/* bench/pandas_sandbox.c: issue 23's pandas figures for the C API, in one process,
** with eryx's defaults (disk cache in ~/.cache/eryx):
**   - a warm sandbox with pandas pre-imported: creation (p50, p99), an execute;
**   - a new configuration extending pandas' (pandas + one stdlib module, a setup
**     line unique to this run): factory, first sandbox, its first execute, when
**     the `--import pandas` configuration's start state exists (a prefix layer);
**   - a new configuration that imports pandas itself (another module first: no
**     prefix layer matches; Python's own layers exist), the same steps;
**   - a new configuration of a new family (an environment variable unique to this
**     run: Python's own layers are made for it too), the same steps;
**   - `import pandas` without pre-init, and a groupby/merge on 10^5 rows.
** Built by CMake (target bench_pandas_sandbox, bench/CMakeLists.txt); run after
** ./build.sh:
**   build/bench/pandas_sandbox build/numpy-2.2.6.eryx build/pandas-3.1.1.eryx [RUNS] */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bench_run.h"
#include "eryx.h"

static const char *np_pkg, *pd_pkg;

/* also: a module imported after pandas ("^name": before it, so that no prefix layer
** matches and pandas is imported in the capture). */
static eryx_builder *pandas_builder(const char *also, const char *setup, const char *env) {
    eryx_builder *b = eryx_builder_new();
    must(eryx_builder_add_package(b, np_pkg), b, "add_package numpy");
    must(eryx_builder_add_package(b, pd_pkg), b, "add_package pandas");
    if (also && *also == '^') must(eryx_builder_add_preimport(b, also + 1), b, "preimport");
    must(eryx_builder_add_preimport(b, "pandas"), b, "preimport");
    if (also && *also != '^') must(eryx_builder_add_preimport(b, also), b, "preimport");
    if (setup) must(eryx_builder_set_setup_code(b, setup, strlen(setup)), b, "setup");
    if (env) must(eryx_builder_set_env(b, "ERYX_BENCH_RUN", env), b, "env");
    return b;
}

static const char snippet[] = "import pandas as pd\n"
                              "df = pd.DataFrame({'k': [i % 7 for i in range(1000)], 'v': range(1000)})\n"
                              "x = df.groupby('k').v.sum().iloc[0]";

/* A new configuration: builder, first sandbox, its first execute; whole and parts. */
static void new_configuration(const char *what, const char *also, const char *env) {
    char setup[64], line[128];
    snprintf(setup, sizeof setup, "RUN_ID = %ld\n", (long)time(NULL) ^ (long)getpid() ^ (long)(size_t)what);
    double t0 = now_ms();
    eryx_builder *b = pandas_builder(also, setup, env);
    eryx_sandbox *s = NULL;
    must(eryx_sandbox_new(b, &s), b, "first sandbox");
    double t1 = now_ms();
    run(s, snippet);
    double t2 = now_ms();
    snprintf(line, sizeof line, "new configuration: %s", what);
    printf("%-62s %9.3f ms (sandbox %.3f, execute %.3f)\n", line, t2 - t0, t1 - t0, t2 - t1);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: pandas_sandbox NUMPY_PACKAGE PANDAS_PACKAGE [RUNS]\n");
        return 2;
    }
    np_pkg = argv[1], pd_pkg = argv[2];
    int runs = argc > 3 ? atoi(argv[3]) : 100;
    double *v = calloc((size_t)runs, sizeof *v);
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* The pandas configuration itself (made now if this machine has not yet). */
    eryx_builder *b = pandas_builder(NULL, NULL, NULL);
    eryx_sandbox *s = NULL;
    double t = now_ms();
    must(eryx_sandbox_new(b, &s), b, "first sandbox");
    printf("%-62s %9.3f ms\n", "first sandbox of --import pandas (made or loaded)", now_ms() - t);
    eryx_sandbox_free(s);
    time_creations(b, v, runs); /* warm: the snapshot is in memory */
    report("warm sandbox with pandas pre-imported: creation", 62, v, runs);
    must(eryx_sandbox_new(b, &s), b, "sandbox");
    for (int i = 0; i < runs; i++) v[i] = run(s, snippet);
    report("  execute(groupby on 1,000 rows), fresh state each run", 62, v, runs);
    eryx_sandbox_free(s);

    new_configuration("pandas + textwrap (from pandas' layer)", "textwrap", NULL);
    new_configuration("pandas + calendar (from pandas' layer)", "calendar", NULL);
    new_configuration("pandas + setup code only (from pandas' layer)", NULL, NULL);
    new_configuration("getopt, then pandas (no prefix: pandas imported)", "^getopt", NULL);
    char env[64];
    snprintf(env, sizeof env, "%ld", (long)time(NULL) ^ (long)getpid());
    new_configuration("pandas, new environment (Python's layers made too)", NULL, env);

    /* Without pre-init of pandas: the code's import loads and initializes it. */
    eryx_builder *nb = eryx_builder_new();
    must(eryx_builder_add_package(nb, np_pkg), nb, "add_package");
    must(eryx_builder_add_package(nb, pd_pkg), nb, "add_package");
    must(eryx_sandbox_new(nb, &s), nb, "sandbox");
    int n = runs < 10 ? runs : 10;
    for (int i = 0; i < n; i++) v[i] = run(s, "import pandas");
    report("import pandas without pre-init (fresh state each run)", 62, v, n);
    eryx_sandbox_free(s);
    eryx_builder_free(nb);

    /* groupby + merge on 10^5 rows, timed inside the guest (bench/pandas.sh's workload). */
    static const char work[] = "import time, numpy as np, pandas as pd\n"
                               "n = 100000; rng = np.random.default_rng(0)\n"
                               "df = pd.DataFrame({'k': rng.integers(0, 1000, n), 'v': rng.random(n)})\n"
                               "other = pd.DataFrame({'k': np.arange(1000), 'w': np.arange(1000.0)})\n"
                               "t = time.perf_counter()\n"
                               "for _ in range(5):\n"
                               "    g = df.groupby('k').v.agg(['sum', 'mean']); m = df.merge(other, on='k')\n"
                               "print((time.perf_counter() - t) / 5 * 1000)";
    must(eryx_sandbox_new(b, &s), b, "sandbox");
    double best = 1e9;
    for (int i = 0; i < 5; i++) {
        eryx_result *r = NULL;
        if (eryx_sandbox_execute(s, work, strlen(work), &r) != ERYX_OK) {
            fprintf(stderr, "%s\n", eryx_result_stderr(r, NULL));
            return 1;
        }
        double ms = atof(eryx_result_stdout(r, NULL));
        if (ms < best) best = ms;
        eryx_result_free(r);
    }
    printf("%-62s best of 5 %9.3f ms\n", "workload: groupby(sum, mean) + merge, 10^5 rows, per iteration", best);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    free(v);
    return 0;
}
