/*
** The options eryx and eryx-bench share (src/cli/options.c): one table gives each
** option's name, whether it takes a value, what it does to the builder and its help
** text; the parser and the help's "options:" section are both made from it. The
** commands (run, build, repl, cache, package, bench) are not options: each program
** handles the words the parser hands back.
*/
#ifndef ERYX_CLI_OPTIONS_H
#define ERYX_CLI_OPTIONS_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "eryx.h"

/* The exit statuses the CLI gives for its own failures (the rest: src/cli/run.c). */
enum { ERYX__CLI_EXIT_USAGE = 2, ERYX__CLI_EXIT_SANDBOX = 3 };

/* What the options set: the builder they configure, and what the commands read back. */
typedef struct eryx__cli_opts {
    eryx_builder *b;                                /* with eryx's warning handler (warnings go to stderr) */
    const char *code;                               /* -c CODE; NULL: not given */
    const char *setup_path, *cache_dir, *guest_dir; /* as given (pointers into argv); NULL: not given */
    const char **imports, **envs;                   /* the --import names and --env specs, in order (into argv) */
    int nimports, nenvs;
    char *setup; /* the --setup file's content (owned) */
    size_t setup_len;
    int build; /* the caller saw the word `build`: -c is then an error */
    int want_result, no_preinit, no_cache;
    /* The limits as given (0: not given), and where the outcome JSON goes
    ** (--status-json, --status-fd; -1: nowhere): src/cli/status.c. */
    uint64_t timeout_ms, max_memory, max_output, fuel;
    int status_fd;
    /* The network options (src/cli/net_opts.c): on once any was given, and the limits so far. */
    int net;
    uint32_t net_max_connections;
    uint64_t net_connect_ms, net_io_ms;
} eryx__cli_opts;

/* Makes o's builder and lists, for at most argc options. 0, or -1 when out of memory
** (said on stderr; o is then cleared: eryx__cli_opts_free is still safe). */
int eryx__cli_opts_init(eryx__cli_opts *o, int argc);
void eryx__cli_opts_free(eryx__cli_opts *o);

typedef enum eryx__cli_opt_result {
    ERYX__CLI_OPT_NONE,    /* argv[*i] is not an option of the table: a word for the caller */
    ERYX__CLI_OPT_TAKEN,   /* applied; *i is at its last argument (its value, if it has one) */
    ERYX__CLI_OPT_CODE,    /* -c CODE: o->code is set, *i is at CODE: what follows is the code's argv */
    ERYX__CLI_OPT_HELP,    /* -h, --help: the caller prints its usage and exits 0 */
    ERYX__CLI_OPT_VERSION, /* --version: the caller prints eryx__cli_print_version and exits 0 */
    ERYX__CLI_OPT_FAIL     /* reported on stderr; *status is the exit status (2, or 3 for --package) */
} eryx__cli_opt_result;

/* Parses the option at argv[*i] (1 <= *i < argc) into o, as eryx always has: in the
** order given, each applied when it is read. */
eryx__cli_opt_result eryx__cli_option(eryx__cli_opts *o, int argc, char **argv, int *i, int *status);

/* Parses the options from argv[*i] on (eryx__cli_option), until a word that is not
** one, which is left at argv[*i] (*i == argc: no word). Returns NONE then; CODE for
** -c (*i is past CODE: what follows is the code's argv); or FAIL when the program
** must exit with *status: an error was printed (2 or 3), or usage(stdout) or the
** version was (0). */
eryx__cli_opt_result eryx__cli_options(eryx__cli_opts *o, int argc, char **argv, int *i, void (*usage)(FILE *),
                                       int *status);

/* Prints the help's option lines (after its "options:" line), from the table. The
** options that concern running code (-c, --result) are left out when for_bench. */
void eryx__cli_print_options(FILE *out, int for_bench);

/* Prints "eryx VERSION (Python 3.13, wasm32-wasi)" on stdout. */
void eryx__cli_print_version(void);

/* The guest dir: --guest-dir, else $ERYX_GUEST_DIR, else the build's guest dir. */
const char *eryx__cli_guest_dir(const eryx__cli_opts *o);

/* The cache dir: --cache-dir, else ${XDG_CACHE_HOME:-$HOME/.cache}/eryx (made in buf). */
const char *eryx__cli_cache_dir(const eryx__cli_opts *o, char *buf, size_t n);

/* Parses a size: "1073741824", "512M", "2G", "100k" (powers of 1024); -1 when
** malformed. */
long long eryx__cli_parse_size(const char *s);

#endif
