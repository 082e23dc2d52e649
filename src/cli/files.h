/* Reading a whole file or stream, for the CLI's code and --setup (src/cli/files.c). */
#ifndef ERYX_CLI_FILES_H
#define ERYX_CLI_FILES_H
#include <stddef.h>
#include <stdio.h>

/* Reads f to its end into a malloc'd buffer (*len bytes); NULL on a read error or
** when out of memory. */
char *eryx__cli_slurp(FILE *f, size_t *len);

/* Reads the file at path (as eryx__cli_slurp); NULL with errno set when it cannot. */
char *eryx__cli_read_file(const char *path, size_t *len);

#endif
