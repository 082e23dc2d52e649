/* The CLI's outcome channel, --status-json FILE / --status-fd N (src/cli/status.c). */
#ifndef ERYX_CLI_STATUS_H
#define ERYX_CLI_STATUS_H
#include <stdbool.h>
#include "options.h"

/* How a run ended, as run.c knows it. */
typedef struct eryx__cli_status {
    eryx_status st;            /* the library's status (sandbox creation's, or the execution's) */
    int exit_status;           /* what eryx exits with */
    const eryx_result *result; /* the execution's, or NULL when the code did not run */
    const char *message;       /* eryx's explanation of a stop or a failure, or NULL */
    const char *usage_error;   /* set instead when the run failed before the sandbox (unreadable FILE) */
    const char *result_error;  /* why --result printed nothing, or NULL */
    double total_ms;           /* sandbox creation plus execution */
} eryx__cli_status;

/* Writes w as one JSON object and a newline to o->status_fd, then closes it (and
** sets it to -1); nothing when o->status_fd < 0. A write failure is said on stderr
** and changes no exit status. */
void eryx__cli_status_write(eryx__cli_opts *o, const eryx__cli_status *w);

#endif
