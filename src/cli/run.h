/* eryx's sandbox commands: running code, and `eryx build` (src/cli/run.c). */
#ifndef ERYX_CLI_RUN_H
#define ERYX_CLI_RUN_H
#include "options.h"

/* Runs the code (o->code; else the file at file; else stdin when file is NULL) in a
** sandbox from o's builder, the guest's sys.argv being the code's name and the nargs
** arguments args. Relays the output as it is written; Ctrl-C cancels. Returns the
** exit status usage() documents (the code's own, or 124-127, 130, 2, 3). */
int eryx__cli_run(eryx__cli_opts *o, const char *file, int nargs, char **args);

/* `eryx build`: creates a sandbox from o's builder, which makes (or finds) and caches
** its snapshot; reports it on stderr. 0, 2 (with --no-cache or --no-preinit) or 3. */
int eryx__cli_build(eryx__cli_opts *o);

#endif
