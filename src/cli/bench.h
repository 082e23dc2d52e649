/* `eryx bench`: in-process benchmark of the library (src/cli/bench.c). */
#ifndef ERYX_CLI_BENCH_H
#define ERYX_CLI_BENCH_H
#include "eryx.h"

/* Timed runs of each fast case (creation, fresh execute) when --runs is not given. */
#define ERYX_CLI_BENCH_DEFAULT_RUNS 1000

/* Runs the benchmark with sandboxes from b (whose guest is in guest_dir); prints a table or one JSON line.
** Measures b's configuration with pre-initialization on and off (b's own setting is restored before
** returning) and with keep_state on (b must have it off, as eryx_builder_new makes it). runs: the
** number of timed runs of each fast case; <= 0 means ERYX_CLI_BENCH_DEFAULT_RUNS. The sandbox-contract
** part runs each interrupt and cancel case runs/20 times (at least 20) and leaves b with no timeout, no
** fuel budget and the standard engine. numpy_pkg (NULL: none) adds the numpy figures of issue 8, measured
** first, with private cache dirs (the cold case compiles the interpreter and numpy's side modules again).
** Returns the process exit status (0, or 3 when a sandbox failed). */
int eryx_cli_bench(eryx_builder *b, const char *guest_dir, int json, int runs, const char *numpy_pkg);

#endif
