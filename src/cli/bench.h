/* `eryx bench`: in-process benchmark of the library (src/cli/bench.c). */
#ifndef ERYX_CLI_BENCH_H
#define ERYX_CLI_BENCH_H
#include "eryx.h"

/* Runs the benchmark with sandboxes from b (whose guest is in guest_dir); prints a table or one JSON line.
** Returns the process exit status (0, or 3 when a sandbox failed). */
int eryx_cli_bench(eryx_builder *b, const char *guest_dir, int json, int runs);

#endif
