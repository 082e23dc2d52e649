/* `eryx package`: writes an eryx package file (src/cli/package_cmd.c). */
#ifndef ERYX_CLI_PACKAGE_CMD_H
#define ERYX_CLI_PACKAGE_CMD_H

/* Runs `eryx package DIR --name NAME --version VERSION -o OUT.eryx`; returns the
** exit status (0; 2 usage; 3 the package could not be made: the message says why). */
int eryx__cli_package(int argc, char **argv);

#endif
