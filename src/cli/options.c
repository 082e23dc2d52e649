/*
** The options of eryx and eryx-bench: one table (name, value, what it does, help
** text) from which both the parser and the help's "options:" section are made, and
** the small parsers their values need (sizes, durations, HOST:GUEST, NAME=VALUE).
** Owns the option-to-builder mapping and its messages; not the commands (main.c,
** run.c, bench_main.c) nor the rest of the help text (each program's usage()).
*/
#include "options.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "files.h"
#include "net_opts.h"

/* ---- value parsers -------------------------------------------------------------- */

long long eryx__cli_parse_size(const char *s) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0) return -1;
    double mult = 1;
    switch (*end) {
    case 'k':
    case 'K':
        mult = 1024.0;
        end++;
        break;
    case 'm':
    case 'M':
        mult = 1024.0 * 1024;
        end++;
        break;
    case 'g':
    case 'G':
        mult = 1024.0 * 1024 * 1024;
        end++;
        break;
    default: break;
    }
    if (*end == 'B' || *end == 'b') end++;
    return *end ? -1 : (long long)(v * mult);
}

/* --timeout's value, "250ms", "2s", "1.5m" (a number and its unit), in milliseconds;
** "0" alone is no timeout. -2 for a bare number: this CLI read one as seconds, and
** python -m eryx reads one as milliseconds (pyeryx's unit), so a bare number is
** refused here rather than read in either unit (docs/CLI.md). -1 when malformed. */
static long long parse_timeout_ms(const char *v) {
    size_t n = strspn(v, "0123456789."), dots = 0;
    for (size_t i = 0; i < n; i++) dots += v[i] == '.';
    if (n == dots || n > 32 || dots > 1) return -1; /* no digit ("-1", "inf"), or "1.2.3" */
    char num[33];
    memcpy(num, v, n);
    num[n] = 0;
    double x = strtod(num, NULL), mult;
    const char *unit = v + n;
    if (!*unit) return x == 0 ? 0 : -2;
    if (!strcmp(unit, "ms")) mult = 1;
    else if (!strcmp(unit, "s")) mult = 1000;
    else if (!strcmp(unit, "m")) mult = 60000;
    else return -1;
    double ms = x * mult;
    if (ms >= 1e12 || (ms > 0 && ms < 1)) return -1; /* past 31 years, or under a millisecond */
    return (long long)(ms + 0.5);
}

/* ---- what each option does ------------------------------------------------------- */
/* Each returns TAKEN, or FAIL with the message printed and *status set (it starts
** at 2, a usage error). name is the option as the table spells it. */
typedef eryx__cli_opt_result (*apply_fn)(eryx__cli_opts *o, const char *name, const char *v, int *status);

static eryx__cli_opt_result opt_help(eryx__cli_opts *o, const char *name, const char *v, int *status) {
    (void)o, (void)name, (void)v, (void)status;
    return ERYX__CLI_OPT_HELP;
}

static eryx__cli_opt_result opt_version(eryx__cli_opts *o, const char *name, const char *v, int *status) {
    (void)o, (void)name, (void)v, (void)status;
    return ERYX__CLI_OPT_VERSION;
}

static eryx__cli_opt_result opt_no_cache(eryx__cli_opts *o, const char *name, const char *v, int *status) {
    (void)name, (void)v, (void)status;
    /* One sandbox per process and nowhere to keep a snapshot: making one
    ** would cost a second compile (seconds) to save a Python start (ms). */
    eryx_builder_set_cache_dir(o->b, NULL);
    eryx_builder_set_preinit(o->b, 0);
    o->no_cache = 1;
    return ERYX__CLI_OPT_TAKEN;
}

static eryx__cli_opt_result opt_no_preinit(eryx__cli_opts *o, const char *name, const char *v, int *status) {
    (void)name, (void)v, (void)status;
    eryx_builder_set_preinit(o->b, 0);
    o->no_preinit = 1;
    return ERYX__CLI_OPT_TAKEN;
}

static eryx__cli_opt_result opt_result(eryx__cli_opts *o, const char *name, const char *v, int *status) {
    (void)name, (void)v, (void)status;
    o->want_result = 1;
    return ERYX__CLI_OPT_TAKEN;
}

static eryx__cli_opt_result opt_code(eryx__cli_opts *o, const char *name, const char *v, int *status) {
    (void)name, (void)status;
    if (o->build) {
        fprintf(stderr, "eryx: build runs no code: drop -c, or drop build\n");
        return ERYX__CLI_OPT_FAIL;
    }
    o->code = v;
    return ERYX__CLI_OPT_CODE;
}

static eryx__cli_opt_result opt_timeout(eryx__cli_opts *o, const char *name, const char *v, int *status) {
    (void)name, (void)status;
    long long ms = parse_timeout_ms(v);
    if (ms == -2) {
        fprintf(stderr,
                "eryx: --timeout %s needs a unit: %ss or %sms (a bare number is milliseconds in python -m eryx, "
                "and was seconds here before)\n",
                v, v, v);
        return ERYX__CLI_OPT_FAIL;
    }
    if (ms < 0) {
        fprintf(stderr, "eryx: --timeout wants a duration with its unit, like 500ms, 2s or 1.5m (0: none), got '%s'\n",
                v);
        return ERYX__CLI_OPT_FAIL;
    }
    eryx_builder_set_timeout_ms(o->b, (uint64_t)ms);
    o->timeout_ms = (uint64_t)ms;
    return ERYX__CLI_OPT_TAKEN;
}

/* --max-memory, --max-output (sizes) and --fuel (a number). */
static eryx__cli_opt_result opt_limit(eryx__cli_opts *o, const char *a, const char *v, int *status) {
    (void)status;
    int fuel = !strcmp(a, "--fuel");
    long long n = fuel ? strtoll(v, NULL, 10) : eryx__cli_parse_size(v);
    eryx_status st = n <= 0                       ? ERYX_ERR_INVALID_ARGUMENT
                     : !strcmp(a, "--max-memory") ? eryx_builder_set_max_memory(o->b, (uint64_t)n)
                     : !strcmp(a, "--max-output") ? eryx_builder_set_output_limit(o->b, (uint64_t)n)
                                                  : eryx_builder_set_fuel(o->b, (uint64_t)n);
    if (st != ERYX_OK) {
        fprintf(stderr, "eryx: %s wants a positive %s, got '%s'%s%s\n", a, fuel ? "number" : "size like 256M", v,
                n > 0 ? ": " : "", n > 0 ? eryx_builder_errmsg(o->b) : "");
        return ERYX__CLI_OPT_FAIL;
    }
    *(fuel ? &o->fuel : !strcmp(a, "--max-memory") ? &o->max_memory : &o->max_output) = (uint64_t)n;
    return ERYX__CLI_OPT_TAKEN;
}

static eryx__cli_opt_result opt_cache_max_size(eryx__cli_opts *o, const char *name, const char *v, int *status) {
    (void)name, (void)status;
    long long n = eryx__cli_parse_size(v);
    if (n <= 0) {
        fprintf(stderr, "eryx: --cache-max-size wants a size like 512M, got '%s'\n", v);
        return ERYX__CLI_OPT_FAIL;
    }
    eryx_builder_set_cache_limits(o->b, (uint64_t)n, 0);
    return ERYX__CLI_OPT_TAKEN;
}

static eryx__cli_opt_result opt_package(eryx__cli_opts *o, const char *name, const char *v, int *status) {
    (void)name;
    if (eryx_builder_add_package(o->b, v) != ERYX_OK) {
        fprintf(stderr, "eryx: --package: %s\n", eryx_builder_errmsg(o->b));
        *status = ERYX__CLI_EXIT_SANDBOX; /* the package is unusable, not the command line */
        return ERYX__CLI_OPT_FAIL;
    }
    return ERYX__CLI_OPT_TAKEN;
}

static eryx__cli_opt_result opt_import(eryx__cli_opts *o, const char *name, const char *v, int *status) {
    (void)name, (void)status;
    if (eryx_builder_add_preimport(o->b, v) != ERYX_OK) {
        fprintf(stderr, "eryx: --import: %s\n", eryx_builder_errmsg(o->b));
        return ERYX__CLI_OPT_FAIL;
    }
    o->imports[o->nimports++] = v;
    return ERYX__CLI_OPT_TAKEN;
}

static eryx__cli_opt_result opt_imports(eryx__cli_opts *o, const char *name, const char *v, int *status) {
    (void)name, (void)status;
    if (strcmp(v, "default") && strcmp(v, "none")) {
        fprintf(stderr, "eryx: --imports: '%s' is neither 'default' nor 'none'\n", v);
        return ERYX__CLI_OPT_FAIL;
    }
    eryx_builder_set_default_imports(o->b, !strcmp(v, "default"));
    return ERYX__CLI_OPT_TAKEN;
}

static eryx__cli_opt_result opt_setup(eryx__cli_opts *o, const char *name, const char *v, int *status) {
    (void)name, (void)status;
    free(o->setup);
    if (!(o->setup = eryx__cli_read_file(v, &o->setup_len))) {
        fprintf(stderr, "eryx: --setup: cannot read %s: %s\n", v, strerror(errno));
        return ERYX__CLI_OPT_FAIL;
    }
    if (eryx_builder_set_setup_code(o->b, o->setup, o->setup_len) != ERYX_OK) {
        fprintf(stderr, "eryx: --setup: %s\n", eryx_builder_errmsg(o->b));
        return ERYX__CLI_OPT_FAIL;
    }
    o->setup_path = v;
    return ERYX__CLI_OPT_TAKEN;
}

/* --guest-dir and --cache-dir. */
static eryx__cli_opt_result opt_dir(eryx__cli_opts *o, const char *a, const char *v, int *status) {
    (void)status;
    int guest = !strcmp(a, "--guest-dir");
    *(guest ? &o->guest_dir : &o->cache_dir) = v;
    if ((guest ? eryx_builder_set_guest_dir(o->b, v) : eryx_builder_set_cache_dir(o->b, v)) != ERYX_OK) {
        fprintf(stderr, "eryx: %s: %s\n", a, eryx_builder_errmsg(o->b));
        return ERYX__CLI_OPT_FAIL;
    }
    return ERYX__CLI_OPT_TAKEN;
}

/* The options after ":rw," in --mount: quota=SIZE and files=N (bounds of what the
** guest may add: eryx_builder_set_mount_quota). 0 when malformed or unknown. */
static int mount_options(char *opts, long long *bytes, long long *files) {
    for (char *save = NULL, *t = strtok_r(opts, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *end = NULL;
        if (!strncmp(t, "quota=", 6)) {
            if ((*bytes = eryx__cli_parse_size(t + 6)) <= 0) return 0;
        } else if (!strncmp(t, "files=", 6)) {
            errno = 0;
            *files = strtoll(t + 6, &end, 10);
            if (errno || end == t + 6 || *end || *files <= 0) return 0;
        } else {
            return 0;
        }
    }
    return 1;
}

/* --mount HOST:GUEST[:ro|:rw[,quota=SIZE][,files=N]] */
static eryx__cli_opt_result opt_mount(eryx__cli_opts *o, const char *name, const char *spec, int *status) {
    (void)name, (void)status;
    char *copy = strdup(spec);
    if (!copy) return ERYX__CLI_OPT_FAIL;
    unsigned flags = 0;
    long long bytes = 0, files = 0;
    char *colon = strrchr(copy, ':');
    const char *mode = colon ? colon + 1 : "";
    size_t ml = strcspn(mode, ",");
    int ok = 1;
    if (ml == 2 && (!strncmp(mode, "ro", 2) || !strncmp(mode, "rw", 2))) {
        if (mode[1] == 'o') flags = ERYX_MOUNT_READONLY;
        if (mode[2] == ',') ok = mount_options(colon + 4, &bytes, &files);
        *colon = '\0';
        colon = strrchr(copy, ':');
    }
    if (!ok || !colon || ((bytes || files) && flags)) {
        free(copy);
        fprintf(stderr, "eryx: --mount wants HOST:GUEST[:ro], or HOST:GUEST:rw[,quota=SIZE][,files=N], got '%s'\n",
                spec);
        return ERYX__CLI_OPT_FAIL;
    }
    *colon = '\0';
    eryx_status st = eryx_builder_add_mount(o->b, copy, colon + 1, flags);
    if (st == ERYX_OK && (bytes || files))
        st = eryx_builder_set_mount_quota(o->b, colon + 1, (uint64_t)bytes, (uint64_t)files);
    if (st != ERYX_OK) fprintf(stderr, "eryx: --mount %s: %s\n", spec, eryx_builder_errmsg(o->b));
    free(copy);
    return st == ERYX_OK ? ERYX__CLI_OPT_TAKEN : ERYX__CLI_OPT_FAIL;
}

/* --env NAME=VALUE */
static eryx__cli_opt_result opt_env(eryx__cli_opts *o, const char *name_, const char *spec, int *status) {
    (void)name_, (void)status;
    o->envs[o->nenvs++] = spec;
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec) {
        fprintf(stderr, "eryx: --env wants NAME=VALUE, got '%s'\n", spec);
        return ERYX__CLI_OPT_FAIL;
    }
    char *name = strndup(spec, (size_t)(eq - spec));
    eryx_status st = name ? eryx_builder_set_env(o->b, name, eq + 1) : ERYX_ERR_NO_MEMORY;
    free(name);
    if (st != ERYX_OK) fprintf(stderr, "eryx: --env %s: %s\n", spec, eryx_builder_errmsg(o->b));
    return st == ERYX_OK ? ERYX__CLI_OPT_TAKEN : ERYX__CLI_OPT_FAIL;
}

/* --status-json FILE (created or truncated now, before any guest code runs, so a
** guest cannot swap it through a --mount) and --status-fd N (inherited, N >= 3: 0-2
** carry the guest's own streams). The last one given wins. */
static eryx__cli_opt_result opt_status(eryx__cli_opts *o, const char *a, const char *v, int *status) {
    (void)status;
    int fd = -1;
    if (!strcmp(a, "--status-json")) {
        if (!strcmp(v, "-")) { /* stdout is the guest's, which can print anything */
            fprintf(stderr, "eryx: --status-json wants a file, not '-' (stdout carries the guest's output): use "
                            "--status-fd N, as in --status-fd 3 3>&1\n");
            return ERYX__CLI_OPT_FAIL;
        }
        fd = open(v, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            fprintf(stderr, "eryx: --status-json: cannot create %s: %s\n", v, strerror(errno));
            return ERYX__CLI_OPT_FAIL;
        }
    } else {
        char *end;
        long n = strtol(v, &end, 10);
        int fl = *v && !*end && n >= 3 && n <= INT_MAX ? fcntl((int)n, F_GETFL) : -1;
        if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY) {
            fprintf(stderr,
                    "eryx: --status-fd wants an open, writable descriptor >= 3 (as in 3>status.json), got '%s'\n", v);
            return ERYX__CLI_OPT_FAIL;
        }
        fd = (int)n;
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    if (o->status_fd >= 0) close(o->status_fd);
    o->status_fd = fd;
    return ERYX__CLI_OPT_TAKEN;
}

/* ---- the table --------------------------------------------------------------------- */

enum { RUNS_CODE = 1 }; /* about running code: not in eryx-bench's help */

typedef struct option {
    const char *name, *alias; /* alias: another spelling ("-h"), shown first */
    const char *value;        /* the value's name in the help; NULL: takes none */
    apply_fn apply;
    unsigned flags;
    const char *help; /* lines, '\n' between them */
} option;

/* In the help's order. */
static const option OPTIONS[] = {
    {"-c", NULL, "CODE", opt_code, RUNS_CODE, "run CODE (sys.argv[0] is '-c')"},
    {"--mount", NULL, "HOST:GUEST[:ro|:rw[,quota=N][,files=N]]", opt_mount, 0,
     "show host directory HOST at guest path GUEST\n"
     "(read-write; ':ro' for read-only); repeatable;\n"
     "quota= bounds the bytes the code may add to it\n"
     "(N[K|M|G]; holes count: a sparse file counts its\n"
     "size), files= the files and directories it may\n"
     "make; past either the guest gets EDQUOT"},
    {"--env", NULL, "NAME=VALUE", opt_env, 0, "set an environment variable in the guest; repeatable"},
    {"--package", NULL, "PATH", opt_package, 0,
     "make a wheel (*.whl: pure Python, or wasm32-wasi),\n"
     "an eryx package (*.eryx, from 'eryx package') or a\n"
     "source tree importable (read-only at /packages/NAME,\n"
     "on sys.path after the stdlib); its wasm32-wasi\n"
     "extension modules are checked against the\n"
     "interpreter, then linked at import; repeatable"},
    {"--import", NULL, "MOD", opt_import, 0,
     "import module MOD (json, xml.dom) before the snapshot:\n"
     "the code's own `import MOD` is then a lookup;\n"
     "repeatable, imported in the order given"},
    {"--imports", NULL, "default|none", opt_imports, 0,
     "start from the default start state, with the stdlib\n"
     "modules most programs use already imported (default;\n"
     "docs/START-STATE.md lists them), or from Python just\n"
     "started (none); --import adds to either"},
    {"--setup", NULL, "FILE", opt_setup, 0,
     "run the Python code in FILE in __main__ after the\n"
     "imports, before the snapshot: the code sees what it\n"
     "defined (it may not leave files open or write any)"},
    {"--no-preinit", NULL, NULL, opt_no_preinit, 0,
     "start Python from scratch in the sandbox (no\n"
     "snapshot; --import and --setup then run first)"},
    {"--result", NULL, NULL, opt_result, RUNS_CODE,
     "after a successful run, print the JSON of the code's\n"
     "variable `result` as one line on stdout"},
    {"--timeout", NULL, "T", opt_timeout, 0,
     "stop the code after T of wall-clock time (T with its\n"
     "unit: 500ms, 2s, 1.5m; a bare number is refused, 0 is\n"
     "none); sleeps and reads included"},
    {"--max-memory", NULL, "N", opt_limit, 0,
     "cap the guest's memory at N bytes (N[K|M|G]; the\n"
     "interpreter itself needs about 20M); past it Python\n"
     "raises MemoryError and eryx stops with status 125"},
    {"--max-output", NULL, "N", opt_limit, 0,
     "keep at most N bytes of stdout and of stderr\n"
     "(N[K|M|G]; default 16M); past it the code is stopped"},
    {"--fuel", NULL, "N", opt_limit, 0,
     "stop the code after N units of fuel (about one per\n"
     "wasm instruction); metering slows the guest down"},
    {"--status-json", NULL, "FILE", opt_status, RUNS_CODE,
     "write how the run ended to FILE as one JSON object\n"
     "(outcome, the code's own exit code, exception, limit\n"
     "hit, timings): unlike the exit status, the guest\n"
     "cannot fake it (see 'exit status' below)"},
    {"--status-fd", NULL, "N", opt_status, RUNS_CODE, "the same JSON to the inherited descriptor N (N >= 3)"},
    {"--net", NULL, NULL, eryx__cli_opt_net, 0,
     "let the code open TCP connections (off by default):\n"
     "any public host; loopback, private, link-local and\n"
     "other non-public ranges blocked; every --allow-*,\n"
     "--block-*, --root-cert, --secret, --net-* implies it"},
    {"--allow-host", NULL, "PATTERN", eryx__cli_opt_net_list, 0,
     "reach only hosts matching PATTERN (a glob: '*' any\n"
     "run, as in *.example.com; IP literals as 1.2.3.4);\n"
     "repeatable"},
    {"--block-host", NULL, "PATTERN", eryx__cli_opt_net_list, 0, "never reach hosts matching PATTERN; repeatable"},
    {"--allow-network", NULL, "CIDR", eryx__cli_opt_net_list, 0,
     "exempt CIDR (10.0.0.0/8, fd00::/8) from the blocked\n"
     "ranges; repeatable"},
    {"--block-network", NULL, "CIDR", eryx__cli_opt_net_list, 0,
     "block CIDR too (added to the default non-public\n"
     "ranges, which stay blocked); repeatable"},
    {"--allow-localhost", NULL, NULL, eryx__cli_opt_net, 0, "let the code reach 127.0.0.0/8, ::1 and 'localhost'"},
    {"--root-cert", NULL, "FILE", eryx__cli_opt_root_cert, 0,
     "trust the root certificate(s) in FILE (PEM or DER)\n"
     "for TLS, beside the system's; repeatable"},
    {"--secret", NULL, "NAME=ENVVAR[@HOST,...]", eryx__cli_opt_secret, 0,
     "the code sees $NAME as a placeholder; the host sends\n"
     "the value of this process's $ENVVAR in its place,\n"
     "only to the HOST patterns (none: no host; toward any\n"
     "other the send fails), and scrubs it from what the\n"
     "code reads; repeatable"},
    {"--scrub", NULL, "WHAT", eryx__cli_opt_scrub, 0,
     "what is scrubbed of secrets (placeholders and values\n"
     "become [REDACTED]): a comma list of stdout, stderr,\n"
     "files, result, or all or none; default\n"
     "stdout,stderr,files"},
    {"--net-max-connections", NULL, "N", eryx__cli_opt_net_limit, 0, "connections open at once (default 10)"},
    {"--net-connect-timeout", NULL, "T", eryx__cli_opt_net_limit, 0,
     "connect timeout (T like 5, 0.5 or 250ms; 0: none;\n"
     "default 30): past it the code gets TimeoutError"},
    {"--net-io-timeout", NULL, "T", eryx__cli_opt_net_limit, 0, "read/write timeout (as above; default 60)"},
    {"--guest-dir", NULL, "DIR", opt_dir, 0,
     "the guest (python.wasm, lib/python313.zip);\n"
     "default: $ERYX_GUEST_DIR, else the build's guest dir"},
    {"--cache-dir", NULL, "DIR", opt_dir, 0,
     "where compiled modules are cached;\n"
     "default: ${XDG_CACHE_HOME:-$HOME/.cache}/eryx"},
    {"--no-cache", NULL, NULL, opt_no_cache, 0,
     "do not read or write the compiled-module cache\n"
     "(and make no snapshot, as --no-preinit)"},
    {"--cache-max-size", NULL, "N", opt_cache_max_size, 0,
     "bound the cache dir (bytes, or N[K|M|G]; default 1G);\n"
     "least recently used entries go first"},
    {"--version", NULL, NULL, opt_version, 0, "print eryx's version and exit"},
    {"--help", "-h", NULL, opt_help, 0, "print this help and exit"},
};
#define NOPTIONS (sizeof OPTIONS / sizeof OPTIONS[0])

eryx__cli_opt_result eryx__cli_option(eryx__cli_opts *o, int argc, char **argv, int *i, int *status) {
    const char *a = argv[*i];
    for (size_t k = 0; k < NOPTIONS; k++) {
        const option *op = &OPTIONS[k];
        if (strcmp(a, op->name) && (!op->alias || strcmp(a, op->alias))) continue;
        const char *v = NULL;
        if (op->value) {
            if (*i + 1 >= argc) {
                fprintf(stderr, "eryx: %s needs a value (see eryx --help)\n", a);
                *status = ERYX__CLI_EXIT_USAGE;
                return ERYX__CLI_OPT_FAIL;
            }
            v = argv[++*i];
        }
        *status = ERYX__CLI_EXIT_USAGE;
        return op->apply(o, op->name, v, status);
    }
    return ERYX__CLI_OPT_NONE;
}

eryx__cli_opt_result eryx__cli_options(eryx__cli_opts *o, int argc, char **argv, int *i, void (*usage)(FILE *),
                                       int *status) {
    for (; *i < argc; ++*i) {
        eryx__cli_opt_result r = eryx__cli_option(o, argc, argv, i, status);
        if (r == ERYX__CLI_OPT_TAKEN) continue;
        if (r == ERYX__CLI_OPT_CODE) ++*i;
        if (r == ERYX__CLI_OPT_HELP || r == ERYX__CLI_OPT_VERSION) {
            if (r == ERYX__CLI_OPT_HELP) usage(stdout);
            else eryx__cli_print_version();
            *status = 0;
            r = ERYX__CLI_OPT_FAIL;
        }
        return r;
    }
    return ERYX__CLI_OPT_NONE;
}

/* "  NAME VALUE" padded to the help column (25), else alone on its line. */
enum { HELP_COLUMN = 25 };

void eryx__cli_print_options(FILE *out, int for_bench) {
    for (size_t k = 0; k < NOPTIONS; k++) {
        const option *op = &OPTIONS[k];
        if (for_bench && (op->flags & RUNS_CODE)) continue;
        char head[64];
        snprintf(head, sizeof head, "%s%s%s%s%s", op->alias ? op->alias : "", op->alias ? ", " : "", op->name,
                 op->value ? " " : "", op->value ? op->value : "");
        int first_on_own_line = (int)strlen(head) > HELP_COLUMN - 3;
        if (first_on_own_line) fprintf(out, "  %s\n", head);
        else fprintf(out, "  %-*s ", HELP_COLUMN - 3, head);
        for (const char *line = op->help; *line;) {
            size_t n = strcspn(line, "\n");
            if (line != op->help || first_on_own_line) fprintf(out, "%*s", HELP_COLUMN, "");
            fprintf(out, "%.*s\n", (int)n, line);
            line += n + (line[n] == '\n');
        }
    }
}

void eryx__cli_print_version(void) { printf("eryx %s (Python 3.13, wasm32-wasi)\n", eryx_version()); }

/* ---- the options' state ------------------------------------------------------------ */

static void print_warning(void *user, const char *message) {
    (void)user;
    fprintf(stderr, "eryx: warning: %s\n", message);
}

int eryx__cli_opts_init(eryx__cli_opts *o, int argc) {
    memset(o, 0, sizeof *o);
    o->status_fd = -1;
    o->b = eryx_builder_new();
    /* Pointers into argv: the --import names and --env specs, for `build` and --no-preinit. */
    o->imports = calloc((size_t)argc, sizeof *o->imports);
    o->envs = calloc((size_t)argc, sizeof *o->envs);
    if (!o->b || !o->imports || !o->envs) {
        fprintf(stderr, "eryx: out of memory\n");
        eryx__cli_opts_free(o);
        return -1;
    }
    eryx_builder_set_warning_handler(o->b, print_warning, NULL);
    return 0;
}

void eryx__cli_opts_free(eryx__cli_opts *o) {
    if (o->status_fd >= 0) close(o->status_fd);
    eryx_builder_free(o->b);
    free(o->setup);
    free(o->imports);
    free(o->envs);
    memset(o, 0, sizeof *o);
    o->status_fd = -1;
}

const char *eryx__cli_guest_dir(const eryx__cli_opts *o) {
    const char *env = getenv("ERYX_GUEST_DIR");
    return o->guest_dir ? o->guest_dir : env && *env ? env : ERYX_DEFAULT_GUEST_DIR;
}

const char *eryx__cli_cache_dir(const eryx__cli_opts *o, char *buf, size_t n) {
    if (o->cache_dir) return o->cache_dir;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) snprintf(buf, n, "%s/eryx", xdg);
    else snprintf(buf, n, "%s/.cache/eryx", home && *home ? home : ".");
    return buf;
}
