/*
** The eryx command: runs Python code in the sandbox.
**   eryx [options] -c CODE [ARG...]     eryx [options] run FILE [ARG...]
**   eryx [options] FILE [ARG...]        eryx [options] [-]   (code from stdin)
**   eryx [options] build                (pre-build the snapshot for the options)
**   eryx [options] repl | cache ... | bench ...      eryx package ...
** This file owns the help text and the dispatch: the options are parsed by the
** table in options.c, in order, until a word names a command or the code; each
** command lives in its own file (run.c: running code and build; repl.c, cache_cmd.c,
** package_cmd.c). `eryx bench` runs the separate eryx-bench program (bench_main.c)
** found next to this one. See usage() for the exit statuses.
*/
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cache_cmd.h"
#include "options.h"
#include "package_cmd.h"
#include "repl.h"
#include "run.h"
#include "eryx.h"

static void usage(FILE *out) {
    fputs("usage: eryx [options] -c CODE [ARG...]\n"
          "       eryx [options] run FILE [ARG...]\n"
          "       eryx [options] FILE [ARG...]\n"
          "       eryx [options] [-]          read the code from stdin\n"
          "       eryx [options] build        make and cache the snapshot for the --import,\n"
          "                                   --setup and --env options (options may also\n"
          "                                   follow 'build'); later runs with them load it\n"
          "       eryx [options] cache list|stats|verify|clear\n"
          "       eryx [options] cache prune [--max-size N[K|M|G]] [--max-entries N]\n"
          "                                   inspect or trim the compiled-module cache\n"
          "       eryx package DIR --name NAME --version VERSION -o OUT.eryx\n"
          "                                   pack a source tree (with its wasm32-wasi\n"
          "                                   extension modules) into one eryx package\n"
          "       eryx [options] repl          an interactive session (line editing,\n"
          "                                   history in ~/.eryx_history; Ctrl-D quits)\n"
          "       eryx [options] bench [--json] [--runs N] [--numpy PACKAGE] [--corpus DIR]\n"
          "                                   time sandbox creation, execute, limits,\n"
          "                                   callbacks, sessions and a CPU loop\n"
          "                                   in-process (p50/p99; N runs, default 1000);\n"
          "                                   with --numpy, numpy sandboxes too (cold,\n"
          "                                   new configuration, warm, import); the\n"
          "                                   workload corpus (DIR: bench/corpus)\n"
          "\n"
          "Runs Python 3.13 (CPython compiled to WebAssembly) inside eryx's sandbox.\n"
          "The guest sees the stdlib, an in-memory /tmp and /data, /dev/null, the\n"
          "environment variables given with --env, the directories given with --mount\n"
          "and the packages given with --package; no other host file, variable or\n"
          "stream.\n"
          "\n"
          "options:\n",
          out);
    eryx__cli_print_options(out, 0);
    fputs("\n"
          "snapshot: the sandbox starts from a snapshot of Python already started, with\n"
          "the --import modules imported and the --setup code run. A snapshot is made\n"
          "(tens of ms plus the imports) on the first run of a configuration, then\n"
          "cached in the cache dir; the very first run on a machine also compiles the\n"
          "interpreter (seconds, once). The configuration is the guest, the --import\n"
          "list (in order), the --setup file's content, the --env variables and the\n"
          "--package contents; not the code, its arguments or the --mount options.\n"
          "'eryx build' pays the first run ahead.\n"
          "\n"
          "exit status:\n"
          "  0    success\n"
          "  1    the Python code raised an uncaught exception (traceback on stderr),\n"
          "       or --result's variable could not be encoded as JSON\n"
          "  N    the Python code called sys.exit(N) or os._exit(N)\n"
          "  2    usage error\n"
          "  3    the sandbox could not be created or crashed, an --import or the\n"
          "       --setup code failed, or a --package is unusable (the message says why)\n"
          "  124  --timeout expired          125  --max-memory reached\n"
          "  126  --max-output exceeded      127  --fuel used up\n"
          "  130  interrupted (Ctrl-C stops the code, then eryx exits)\n"
          "  (eryx cache verify exits 1 when it found and removed damaged entries)\n"
          "  The code's own sys.exit(N) passes through unchanged, so it can exit with\n"
          "  any of these (sys.exit(124) looks like a timeout): --status-json FILE or\n"
          "  --status-fd N says which it was (\"outcome\": \"exit\" or \"timeout\", ...;\n"
          "  docs/RUNTIME.md, \"Exit statuses and the outcome channel\").\n",
          out);
}

/* `eryx [options] bench ...`: the benchmark is its own program (src/cli/bench_main.c),
** built as eryx-bench next to eryx, so none of its code is in this one. It gets the
** same arguments and parses the same options. Returns only when it cannot be run. */
static int exec_bench(char **argv) {
    char self[PATH_MAX], path[PATH_MAX + 16];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "eryx: bench: cannot find eryx's own directory (/proc/self/exe): %s\n", strerror(errno));
        return ERYX__CLI_EXIT_SANDBOX;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    snprintf(path, sizeof path, "%s/eryx-bench", slash ? self : ".");
    fflush(NULL);
    argv[0] = path;
    execv(path, argv);
    fprintf(stderr, "eryx: bench: cannot run %s: %s (eryx bench is the eryx-bench program, built next to eryx)\n", path,
            strerror(errno));
    return ERYX__CLI_EXIT_SANDBOX;
}

int main(int argc, char **argv) {
    eryx__cli_opts o;
    if (eryx__cli_opts_init(&o, argc) != 0) return ERYX__CLI_EXIT_SANDBOX;
    int i = 1, status = ERYX__CLI_EXIT_USAGE;
    const char *file = NULL;
    for (; i < argc; i++) {
        eryx__cli_opt_result r = eryx__cli_options(&o, argc, argv, &i, usage, &status);
        if (r == ERYX__CLI_OPT_FAIL) goto out;
        if (r == ERYX__CLI_OPT_CODE || i >= argc) break;
        /* A word: a command, the code's file or "-" (stdin), or an unknown option. */
        const char *a = argv[i];
        if (o.build && (a[0] != '-' || !a[1])) {
            fprintf(stderr, "eryx: build takes options only, not '%s' (see eryx --help)\n", a);
            goto out;
        }
        if (!strcmp(a, "build")) {
            o.build = 1;
            continue;
        }
        if (!strcmp(a, "package")) {
            status = eryx__cli_package(argc - i - 1, argv + i + 1);
            goto out;
        }
        if (!strcmp(a, "cache")) {
            char buf[4096];
            status = eryx__cli_cache(eryx__cli_cache_dir(&o, buf, sizeof buf), argc - i - 1, argv + i + 1);
            goto out;
        }
        if (!strcmp(a, "bench")) {
            status = exec_bench(argv);
            goto out;
        }
        if (!strcmp(a, "repl")) {
            if (i + 1 < argc) {
                fprintf(stderr, "eryx: repl takes no arguments (options go before it; see eryx --help)\n");
                goto out;
            }
            status = eryx__cli_repl(o.b);
            goto out;
        }
        if (!strcmp(a, "run")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "eryx: run needs a FILE (see eryx --help)\n");
                goto out;
            }
            file = argv[++i];
            i++;
            break;
        }
        if (!strcmp(a, "-")) {
            i++;
            break;
        }
        if (a[0] == '-' && a[1]) {
            fprintf(stderr, "eryx: unknown option %s (see eryx --help)\n", a);
            goto out;
        }
        file = a;
        i++;
        break;
    }
    status = o.build ? eryx__cli_build(&o) : eryx__cli_run(&o, file, argc - i, argv + i);
out:
    eryx__cli_opts_free(&o);
    return status;
}
