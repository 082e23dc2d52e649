/*
** eryx-bench: the benchmark `eryx [options] bench ...` runs (eryx execs it, from its
** own directory, with the same arguments). Its own program so that no benchmark code
** is in the eryx binary. Parses eryx's options (src/cli/options.c, the same table)
** up to the word `bench`, which may be left out when it is run directly, then the
** benchmark's own arguments; the benchmark itself is bench.c.
**   eryx-bench [options] [bench] [--json] [--runs N] [--numpy PACKAGE] [--corpus DIR]
**   eryx-bench [options] [bench] --run FILE [--engine standard|epoch]
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../cli/options.h"
#include "bench.h"

static void usage(FILE *out) {
    fputs("usage: eryx [options] bench [--json] [--runs N] [--numpy PACKAGE] [--corpus DIR]\n"
          "       eryx-bench [options] [bench] [--json] [--runs N] [--numpy PACKAGE] [--corpus DIR]\n"
          "       eryx [options] bench --run FILE [--engine standard|epoch]\n"
          "\n"
          "Times, in-process, the sandboxes of the configuration the options give:\n"
          "creation, execute, limits, callbacks, sessions and a CPU loop (p50/p99;\n"
          "N runs of each fast case, default 1000), the cache tiers, and the sandbox\n"
          "contract (how fast a timeout or a cancel stops the guest, what epoch checks\n"
          "and fuel cost); with --numpy, numpy sandboxes too (cold, new configuration,\n"
          "warm, import); then the workload corpus (--corpus DIR, default the source\n"
          "tree's bench/corpus; none: skipped), each snippet in a fresh sandbox.\n"
          "--json prints one JSON object (keys carry their units).\n"
          "The creation phases and the engine with epoch checks need the library's\n"
          "benchmark hooks (cmake -DERYX_BENCH_HOOKS=ON); without them their figures\n"
          "are null in the JSON (\"bench_hooks\": false) and n/a in the table.\n"
          "--run FILE runs FILE once in a fresh sandbox on the engine kind given\n"
          "(epoch: with epoch checks; needs the hooks) and copies its output, for\n"
          "bench/engine_levers.py, which times guest code under engine settings.\n"
          "\n"
          "options (as eryx's):\n",
          out);
    eryx__cli_print_options(out, 1);
    fputs("\n"
          "exit status: 0 done; 2 usage error; 3 a sandbox or a measurement failed\n",
          out);
}

int main(int argc, char **argv) {
    eryx__cli_opts o;
    if (eryx__cli_opts_init(&o, argc) != 0) return ERYX__CLI_EXIT_SANDBOX;
    int i = 1, status = ERYX__CLI_EXIT_USAGE;
    eryx__cli_opt_result r = eryx__cli_options(&o, argc, argv, &i, usage, &status);
    if (r == ERYX__CLI_OPT_CODE) fprintf(stderr, "eryx: bench runs no code: drop -c (see eryx-bench --help)\n");
    if (r != ERYX__CLI_OPT_NONE) goto out;
    /* The word bench, or the benchmark's own arguments. */
    if (i < argc && !strcmp(argv[i], "bench")) i++;
    int json = 0, runs = 0; /* 0: the benchmark's own default */
    const char *numpy_pkg = NULL, *corpus_dir = ERYX_DEFAULT_CORPUS_DIR, *run_file = NULL, *engine = NULL;
    for (int k = i; k < argc; k++) {
        if (!strcmp(argv[k], "--json")) json = 1;
        else if (!strcmp(argv[k], "--runs") && k + 1 < argc) runs = atoi(argv[++k]);
        else if (!strcmp(argv[k], "--numpy") && k + 1 < argc) numpy_pkg = argv[++k];
        else if (!strcmp(argv[k], "--corpus") && k + 1 < argc) corpus_dir = argv[++k];
        else if (!strcmp(argv[k], "--run") && k + 1 < argc) run_file = argv[++k];
        else if (!strcmp(argv[k], "--engine") && k + 1 < argc) engine = argv[++k];
        else {
            fprintf(stderr,
                    "eryx: bench takes --json, --runs N, --numpy PACKAGE, --corpus DIR, --run FILE and --engine KIND, "
                    "not %s\n",
                    argv[k]);
            goto out;
        }
    }
    if (engine && !run_file) {
        fprintf(stderr, "eryx: bench --engine goes with --run FILE\n");
        goto out;
    }
    if (run_file) {
        status = eryx__bench_run_file(o.b, run_file, engine);
        goto out;
    }
    if (!strcmp(corpus_dir, "none")) corpus_dir = NULL;
    status = eryx__bench_run(o.b, eryx__cli_guest_dir(&o), json, runs, numpy_pkg, corpus_dir);
out:
    eryx__cli_opts_free(&o);
    return status;
}
