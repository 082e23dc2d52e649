/* `eryx cache ...`: cache-directory maintenance (src/cli/cache_cmd.c). */
#ifndef ERYX_CLI_CACHE_CMD_H
#define ERYX_CLI_CACHE_CMD_H

/* Runs `eryx cache ARGV...` on the cache directory dir; returns the exit status
** (0; 1 when verify found damaged entries; 2 usage; 3 the directory failed). */
int eryx__cli_cache(const char *dir, int argc, char **argv);

#endif
