/* `eryx cache ...`: cache-directory maintenance (src/cli/cache_cmd.c). */
#ifndef ERYX_CLI_CACHE_CMD_H
#define ERYX_CLI_CACHE_CMD_H

/* Runs `eryx cache ARGV...` on the cache directory dir; returns the exit status
** (0; 1 when verify found damaged entries; 2 usage; 3 the directory failed). */
int eryx_cli_cache(const char *dir, int argc, char **argv);

/* Parses a size: "1073741824", "512M", "2G", "100k" (powers of 1024); -1 when
** malformed. */
long long eryx_cli_parse_size(const char *s);

#endif
