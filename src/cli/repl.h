/* `eryx repl`: an interactive session (src/cli/repl.c). */
#ifndef ERYX_CLI_REPL_H
#define ERYX_CLI_REPL_H
#include "eryx.h"

/* Runs the session with sandboxes from b (made to keep state) until the end of
** input; returns the process exit status (0, or 3 if the sandbox failed). */
int eryx__cli_repl(eryx_builder *b);

#endif
