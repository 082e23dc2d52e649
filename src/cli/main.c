/*
** The eryx command: runs Python code in the sandbox.
**   eryx [options] -c CODE [ARG...]     eryx [options] run FILE [ARG...]
**   eryx [options] FILE [ARG...]        eryx [options] [-]   (code from stdin)
**   eryx [options] build                (pre-build the snapshot for the options)
** The guest's stdout and stderr are captured by the sandbox and relayed here as
** they are written; its stdin is this process's stdin only when the code does not
** come from stdin. See usage() for the exit statuses.
*/
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"
#include "cache_cmd.h"
#include "package_cmd.h"
#include "repl.h"
#include "eryx.h"

enum {
    EXIT_USAGE = 2,
    EXIT_SANDBOX = 3,
    EXIT_TIMEOUT = 124, /* as timeout(1) */
    EXIT_MEMORY = 125,
    EXIT_OUTPUT = 126,
    EXIT_FUEL = 127,
    EXIT_INTERRUPTED = 130 /* 128 + SIGINT, as a shell reports it */
};

static void usage(FILE *out) {
    fputs("usage: eryx [options] -c CODE [ARG...]\n"
          "       eryx [options] run FILE [ARG...]\n"
          "       eryx [options] FILE [ARG...]\n"
          "       eryx [options] [-]          read the code from stdin\n"
          "       eryx [options] build        make and cache the snapshot for the --import,\n"
          "                                   --setup and --env options (options may also\n"
          "                                   follow 'build'); later runs with them load it\n"
          "       eryx [options] cache list|stats|verify|clear\n"
          "       eryx [options] cache prune [--max-size N[K|M|G]] [--max-entries N]\n"
          "                                   inspect or trim the compiled-module cache\n"
          "       eryx package DIR --name NAME --version VERSION -o OUT.eryx\n"
          "                                   pack a source tree (with its wasm32-wasi\n"
          "                                   extension modules) into one eryx package\n"
          "       eryx [options] repl          an interactive session (line editing,\n"
          "                                   history in ~/.eryx_history; Ctrl-D quits)\n"
          "       eryx [options] bench [--json] [--runs N] [--numpy PACKAGE]\n"
          "                                   time sandbox creation, execute, limits,\n"
          "                                   callbacks, sessions and a CPU loop\n"
          "                                   in-process (p50/p99; N runs, default 1000);\n"
          "                                   with --numpy, numpy sandboxes too (cold,\n"
          "                                   new configuration, warm, import)\n"
          "\n"
          "Runs Python 3.13 (CPython compiled to WebAssembly) inside eryx's sandbox.\n"
          "The guest sees the stdlib, an in-memory /tmp and /data, /dev/null, the\n"
          "environment variables given with --env, the directories given with --mount\n"
          "and the packages given with --package; no other host file, variable or\n"
          "stream.\n"
          "\n"
          "options:\n"
          "  -c CODE                run CODE (sys.argv[0] is '-c')\n"
          "  --mount HOST:GUEST[:ro]\n"
          "                         show host directory HOST at guest path GUEST\n"
          "                         (read-write; ':ro' for read-only); repeatable\n"
          "  --env NAME=VALUE       set an environment variable in the guest; repeatable\n"
          "  --package PATH         make a wheel (*.whl: pure Python, or wasm32-wasi),\n"
          "                         an eryx package (*.eryx, from 'eryx package') or a\n"
          "                         source tree importable (read-only at /packages/NAME,\n"
          "                         on sys.path after the stdlib); its wasm32-wasi\n"
          "                         extension modules are checked against the\n"
          "                         interpreter, then linked at import; repeatable\n"
          "  --import MOD           import module MOD (json, xml.dom) before the snapshot:\n"
          "                         the code's own `import MOD` is then a lookup;\n"
          "                         repeatable, imported in the order given\n"
          "  --setup FILE           run the Python code in FILE in __main__ after the\n"
          "                         imports, before the snapshot: the code sees what it\n"
          "                         defined (it may not leave files open or write any)\n"
          "  --no-preinit           start Python from scratch in the sandbox (no\n"
          "                         snapshot; --import and --setup then run first)\n"
          "  --result               after a successful run, print the JSON of the code's\n"
          "                         variable `result` as one line on stdout\n"
          "  --timeout T            stop the code after T seconds of wall-clock time\n"
          "                         (T like 2, 0.5 or 250ms); sleeps and reads included\n"
          "  --max-memory N         cap the guest's memory at N bytes (N[K|M|G]; the\n"
          "                         interpreter itself needs about 20M); past it Python\n"
          "                         raises MemoryError and eryx stops with status 125\n"
          "  --max-output N         keep at most N bytes of stdout and of stderr\n"
          "                         (N[K|M|G]; default 16M); past it the code is stopped\n"
          "  --fuel N               stop the code after N units of fuel (about one per\n"
          "                         wasm instruction); metering slows the guest down\n"
          "  --guest-dir DIR        the guest (python.wasm, lib/python313.zip);\n"
          "                         default: $ERYX_GUEST_DIR, else the build's guest dir\n"
          "  --cache-dir DIR        where compiled modules are cached;\n"
          "                         default: ${XDG_CACHE_HOME:-$HOME/.cache}/eryx\n"
          "  --no-cache             do not read or write the compiled-module cache\n"
          "                         (and make no snapshot, as --no-preinit)\n"
          "  --cache-max-size N     bound the cache dir (bytes, or N[K|M|G]; default 1G);\n"
          "                         least recently used entries go first\n"
          "  --version              print eryx's version and exit\n"
          "  -h, --help             print this help and exit\n"
          "\n"
          "snapshot: the sandbox starts from a snapshot of Python already started, with\n"
          "the --import modules imported and the --setup code run. A snapshot is made\n"
          "(tens of ms plus the imports) on the first run of a configuration, then\n"
          "cached in the cache dir; the very first run on a machine also compiles the\n"
          "interpreter (seconds, once). The configuration is the guest, the --import\n"
          "list (in order), the --setup file's content, the --env variables and the\n"
          "--package contents; not the code, its arguments or the --mount options.\n"
          "'eryx build' pays the first run ahead.\n"
          "\n"
          "exit status:\n"
          "  0    success\n"
          "  1    the Python code raised an uncaught exception (traceback on stderr),\n"
          "       or --result's variable could not be encoded as JSON\n"
          "  N    the Python code called sys.exit(N) or os._exit(N)\n"
          "  2    usage error\n"
          "  3    the sandbox could not be created or crashed, an --import or the\n"
          "       --setup code failed, or a --package is unusable (the message says why)\n"
          "  124  --timeout expired          125  --max-memory reached\n"
          "  126  --max-output exceeded      127  --fuel used up\n"
          "  130  interrupted (Ctrl-C stops the code, then eryx exits)\n"
          "  (eryx cache verify exits 1 when it found and removed damaged entries)\n",
          out);
}

static char *slurp(FILE *f, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *bigger = realloc(buf, cap *= 2);
        if (!bigger) {
            free(buf);
            return NULL;
        }
        buf = bigger;
    }
    if (buf && ferror(f)) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static char *read_path(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = slurp(f, len);
    int saved = errno;
    fclose(f);
    errno = saved;
    return buf;
}

/* Ctrl-C (SIGINT) cancels the running execution; eryx_sandbox_cancel only sets
** an atomic flag, so it is safe in a signal handler. */
static eryx_sandbox *volatile running_sandbox;
static void on_sigint(int sig) {
    (void)sig;
    if (running_sandbox) eryx_sandbox_cancel(running_sandbox);
}

/* "2", "0.5", "1.5s" or "250ms" -> milliseconds; -1 when malformed. */
static long long parse_duration_ms(const char *v) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || x < 0) return -1;
    if (!strcmp(end, "ms")) return (long long)x;
    if (*end && strcmp(end, "s")) return -1;
    return x * 1000 > 1e15 ? -1 : (long long)(x * 1000);
}

static void print_warning(void *user, const char *message) {
    (void)user;
    fprintf(stderr, "eryx: warning: %s\n", message);
}

static const char *guest_dir_of(const char *explicit_dir) {
    const char *env = getenv("ERYX_GUEST_DIR");
    return explicit_dir ? explicit_dir : env && *env ? env : ERYX_DEFAULT_GUEST_DIR;
}

static const char *cache_dir_of(const char *explicit_dir, char *buf, size_t n) {
    if (explicit_dir) return explicit_dir;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) snprintf(buf, n, "%s/eryx", xdg);
    else snprintf(buf, n, "%s/.cache/eryx", home && *home ? home : ".");
    return buf;
}

/* user: the last byte written to stdout (so --result's line starts a line). */
static void relay_output(void *user, int stream, const char *data, size_t len) {
    fwrite(data, 1, len, stream == 1 ? stdout : stderr);
    if (stream == 1) {
        fflush(stdout);
        if (len) *(char *)user = data[len - 1];
    }
}

/* --mount HOST:GUEST[:ro] */
static int add_mount(eryx_builder *b, const char *spec) {
    char *copy = strdup(spec);
    if (!copy) return -1;
    unsigned flags = 0;
    size_t n = strlen(copy);
    if (n > 3 && !strcmp(copy + n - 3, ":ro")) {
        copy[n - 3] = '\0';
        flags = ERYX_MOUNT_READONLY;
    } else if (n > 3 && !strcmp(copy + n - 3, ":rw")) {
        copy[n - 3] = '\0';
    }
    char *colon = strrchr(copy, ':');
    if (!colon) {
        free(copy);
        fprintf(stderr, "eryx: --mount wants HOST:GUEST[:ro], got '%s'\n", spec);
        return -1;
    }
    *colon = '\0';
    eryx_status st = eryx_builder_add_mount(b, copy, colon + 1, flags);
    if (st != ERYX_OK) fprintf(stderr, "eryx: --mount %s: %s\n", spec, eryx_builder_errmsg(b));
    free(copy);
    return st == ERYX_OK ? 0 : -1;
}

static int add_env(eryx_builder *b, const char *spec) {
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec) {
        fprintf(stderr, "eryx: --env wants NAME=VALUE, got '%s'\n", spec);
        return -1;
    }
    char *name = strndup(spec, (size_t)(eq - spec));
    eryx_status st = name ? eryx_builder_set_env(b, name, eq + 1) : ERYX_ERR_NO_MEMORY;
    free(name);
    if (st != ERYX_OK) fprintf(stderr, "eryx: --env %s: %s\n", spec, eryx_builder_errmsg(b));
    return st == ERYX_OK ? 0 : -1;
}

/* Prints a pre-initialization failure (whose message has the traceback) and what to do. */
static void print_preinit_error(const char *message) {
    size_t n = strlen(message);
    fprintf(stderr, "eryx: %s%s", message, n && message[n - 1] == '\n' ? "" : "\n");
    fputs("eryx: fix the failing --import module or --setup code (see eryx --help)\n", stderr);
}

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* `eryx build`: creates a sandbox, which makes (or finds) and caches the snapshot image. */
static int build_snapshot(eryx_builder *b, const char *const *imports, int nimports, const char *setup_path,
                          const char *const *envs, int nenvs) {
    double t0 = seconds_now();
    eryx_sandbox *s = NULL;
    eryx_status st = eryx_sandbox_new(b, &s);
    double dt = seconds_now() - t0;
    eryx_sandbox_free(s);
    if (st == ERYX_ERR_PREINIT) {
        print_preinit_error(eryx_builder_errmsg(b));
        return EXIT_SANDBOX;
    }
    if (st != ERYX_OK) {
        fprintf(stderr, "eryx: %s: %s\n", eryx_status_message(st), eryx_builder_errmsg(b));
        return EXIT_SANDBOX;
    }
    fputs("eryx: snapshot ready (imports: ", stderr);
    for (int i = 0; i < nimports; i++) fprintf(stderr, "%s%s", i ? ", " : "", imports[i]);
    fprintf(stderr, "%s; setup: %s", nimports ? "" : "none", setup_path ? setup_path : "none");
    for (int i = 0; i < nenvs; i++) fprintf(stderr, "%s%.*s", i ? ", " : "; env: ", (int)strcspn(envs[i], "="), envs[i]);
    fprintf(stderr, ") in %.2f s\n", dt);
    return 0;
}

int main(int argc, char **argv) {
    const char *code_arg = NULL, *file = NULL, *setup_path = NULL;
    int i = 1, status = EXIT_USAGE, build = 0, want_result = 0, no_preinit = 0, no_cache = 0;
    int nimports = 0, nenvs = 0;
    char *code = NULL, *setup = NULL;
    size_t setup_len = 0;
    const char **gargv = NULL;
    /* Pointers into argv: the --import names and --env specs, for `build` and --no-preinit. */
    const char **imports = calloc((size_t)argc, sizeof *imports), **envs = calloc((size_t)argc, sizeof *envs);
    eryx_sandbox *s = NULL;
    eryx_result *r = NULL;
    const char *cache_dir = NULL, *guest_dir = NULL;
    eryx_builder *b = eryx_builder_new();
    if (!b || !imports || !envs) {
        fprintf(stderr, "eryx: out of memory\n");
        eryx_builder_free(b);
        free(imports);
        free(envs);
        return EXIT_SANDBOX;
    }
    eryx_builder_set_warning_handler(b, print_warning, NULL);
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            status = 0;
            goto out;
        }
        if (!strcmp(a, "--version")) {
            printf("eryx %s (Python 3.13, wasm32-wasi)\n", eryx_version());
            status = 0;
            goto out;
        }
        if (!strcmp(a, "--no-cache")) {
            /* One sandbox per process and nowhere to keep a snapshot: making one
            ** would cost a second compile (seconds) to save a Python start (ms). */
            eryx_builder_set_cache_dir(b, NULL);
            eryx_builder_set_preinit(b, 0);
            no_cache = 1;
            continue;
        }
        if (!strcmp(a, "--no-preinit")) {
            eryx_builder_set_preinit(b, 0);
            no_preinit = 1;
            continue;
        }
        if (!strcmp(a, "--result")) {
            want_result = 1;
            continue;
        }
        if (!strcmp(a, "--guest-dir") || !strcmp(a, "--cache-dir") || !strcmp(a, "-c") || !strcmp(a, "--mount") ||
            !strcmp(a, "--env") || !strcmp(a, "--cache-max-size") || !strcmp(a, "--import") ||
            !strcmp(a, "--setup") || !strcmp(a, "--timeout") || !strcmp(a, "--max-memory") ||
            !strcmp(a, "--max-output") || !strcmp(a, "--fuel") || !strcmp(a, "--package")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "eryx: %s needs a value (see eryx --help)\n", a);
                goto out;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "-c")) {
                if (build) {
                    fprintf(stderr, "eryx: build runs no code: drop -c, or drop build\n");
                    goto out;
                }
                code_arg = v;
                i++;
                break;
            }
            if (!strcmp(a, "--timeout")) {
                long long ms = parse_duration_ms(v);
                if (ms <= 0) {
                    fprintf(stderr, "eryx: --timeout wants a duration like 2, 0.5 or 250ms, got '%s'\n", v);
                    goto out;
                }
                eryx_builder_set_timeout_ms(b, (uint64_t)ms);
                continue;
            }
            if (!strcmp(a, "--max-memory") || !strcmp(a, "--max-output") || !strcmp(a, "--fuel")) {
                long long n = !strcmp(a, "--fuel") ? strtoll(v, NULL, 10) : eryx_cli_parse_size(v);
                eryx_status lst = n <= 0                      ? ERYX_ERR_INVALID_ARGUMENT
                                  : !strcmp(a, "--max-memory") ? eryx_builder_set_max_memory(b, (uint64_t)n)
                                  : !strcmp(a, "--max-output") ? eryx_builder_set_output_limit(b, (uint64_t)n)
                                                               : eryx_builder_set_fuel(b, (uint64_t)n);
                if (lst != ERYX_OK) {
                    fprintf(stderr, "eryx: %s wants a positive %s, got '%s'%s%s\n", a,
                            !strcmp(a, "--fuel") ? "number" : "size like 256M", v, n > 0 ? ": " : "",
                            n > 0 ? eryx_builder_errmsg(b) : "");
                    goto out;
                }
                continue;
            }
            if (!strcmp(a, "--cache-max-size")) {
                long long n = eryx_cli_parse_size(v);
                if (n <= 0) {
                    fprintf(stderr, "eryx: --cache-max-size wants a size like 512M, got '%s'\n", v);
                    goto out;
                }
                eryx_builder_set_cache_limits(b, (uint64_t)n, 0);
                continue;
            }
            if (!strcmp(a, "--package")) {
                if (eryx_builder_add_package(b, v) != ERYX_OK) {
                    fprintf(stderr, "eryx: --package: %s\n", eryx_builder_errmsg(b));
                    status = EXIT_SANDBOX;
                    goto out;
                }
                continue;
            }
            if (!strcmp(a, "--import")) {
                if (eryx_builder_add_preimport(b, v) != ERYX_OK) {
                    fprintf(stderr, "eryx: --import: %s\n", eryx_builder_errmsg(b));
                    goto out;
                }
                imports[nimports++] = v;
                continue;
            }
            if (!strcmp(a, "--setup")) {
                free(setup);
                if (!(setup = read_path(v, &setup_len))) {
                    fprintf(stderr, "eryx: --setup: cannot read %s: %s\n", v, strerror(errno));
                    goto out;
                }
                if (eryx_builder_set_setup_code(b, setup, setup_len) != ERYX_OK) {
                    fprintf(stderr, "eryx: --setup: %s\n", eryx_builder_errmsg(b));
                    goto out;
                }
                setup_path = v;
                continue;
            }
            if (!strcmp(a, "--cache-dir")) cache_dir = v;
            if (!strcmp(a, "--guest-dir")) guest_dir = v;
            if (!strcmp(a, "--env")) envs[nenvs++] = v;
            int bad = !strcmp(a, "--mount") ? add_mount(b, v)
                      : !strcmp(a, "--env") ? add_env(b, v)
                      : (!strcmp(a, "--guest-dir") ? eryx_builder_set_guest_dir(b, v)
                                                   : eryx_builder_set_cache_dir(b, v)) != ERYX_OK;
            if (bad) {
                if (strcmp(a, "--mount") && strcmp(a, "--env"))
                    fprintf(stderr, "eryx: %s: %s\n", a, eryx_builder_errmsg(b));
                goto out;
            }
            continue;
        }
        if (build && (a[0] != '-' || !a[1])) {
            fprintf(stderr, "eryx: build takes options only, not '%s' (see eryx --help)\n", a);
            goto out;
        }
        if (!strcmp(a, "build")) {
            build = 1;
            continue;
        }
        if (!strcmp(a, "package")) {
            status = eryx_cli_package(argc - i - 1, argv + i + 1);
            goto out;
        }
        if (!strcmp(a, "cache")) {
            char buf[4096];
            status = eryx_cli_cache(cache_dir_of(cache_dir, buf, sizeof buf), argc - i - 1, argv + i + 1);
            goto out;
        }
        if (!strcmp(a, "bench")) {
            int json = 0, runs = 0; /* 0: the benchmark's own default */
            const char *numpy_pkg = NULL;
            for (int k = i + 1; k < argc; k++) {
                if (!strcmp(argv[k], "--json")) json = 1;
                else if (!strcmp(argv[k], "--runs") && k + 1 < argc) runs = atoi(argv[++k]);
                else if (!strcmp(argv[k], "--numpy") && k + 1 < argc) numpy_pkg = argv[++k];
                else {
                    fprintf(stderr, "eryx: bench takes --json, --runs N and --numpy PACKAGE, not %s\n", argv[k]);
                    goto out;
                }
            }
            status = eryx_cli_bench(b, guest_dir_of(guest_dir), json, runs, numpy_pkg);
            goto out;
        }
        if (!strcmp(a, "repl")) {
            if (i + 1 < argc) {
                fprintf(stderr, "eryx: repl takes no arguments (options go before it; see eryx --help)\n");
                goto out;
            }
            status = eryx_cli_repl(b);
            goto out;
        }
        if (!strcmp(a, "run")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "eryx: run needs a FILE (see eryx --help)\n");
                goto out;
            }
            file = argv[++i];
            i++;
            break;
        }
        if (!strcmp(a, "-")) {
            i++;
            break;
        }
        if (a[0] == '-' && a[1]) {
            fprintf(stderr, "eryx: unknown option %s (see eryx --help)\n", a);
            goto out;
        }
        file = a;
        i++;
        break;
    }

    if (build) {
        if (no_cache || no_preinit) {
            fprintf(stderr, "eryx: build makes a snapshot to cache for later runs: drop %s\n",
                    no_cache ? "--no-cache" : "--no-preinit");
            goto out;
        }
        status = build_snapshot(b, imports, nimports, setup_path, envs, nenvs);
        goto out;
    }

    /* sys.argv as CPython would set it; the remaining arguments follow. */
    int gargc = 1 + (argc - i);
    gargv = calloc((size_t)gargc, sizeof *gargv);
    size_t len = 0;
    if (gargv) {
        gargv[0] = code_arg ? "-c" : file ? file : "-";
        for (int k = i; k < argc; k++) gargv[1 + k - i] = argv[k];
    }
    if (code_arg) {
        code = strdup(code_arg);
        len = strlen(code_arg);
    } else if (file) {
        code = read_path(file, &len);
        if (!code) {
            fprintf(stderr, "eryx: cannot read %s: %s\n", file, strerror(errno));
            goto out;
        }
    } else {
        code = slurp(stdin, &len);
    }
    status = EXIT_SANDBOX;
    if (!code || !gargv) {
        fprintf(stderr, "eryx: cannot read the code: %s\n", strerror(errno));
        goto out;
    }
    /* One execution per process: no reset to the start state after it. Without
    ** --result, no result variable to encode. */
    eryx_builder_set_keep_state(b, 1);
    if (!want_result) eryx_builder_set_result_name(b, NULL);
    eryx_status st = eryx_builder_set_argv(b, gargc, gargv);
    if (st == ERYX_OK) st = eryx_sandbox_new(b, &s);
    if (st == ERYX_ERR_PREINIT) {
        print_preinit_error(eryx_builder_errmsg(b));
        goto out;
    }
    if (st != ERYX_OK) {
        fprintf(stderr, "eryx: %s: %s\n", eryx_status_message(st), eryx_builder_errmsg(b));
        goto out;
    }
    /* The host's stdin as an fd: eryx waits on it itself, so --timeout and Ctrl-C
    ** interrupt a guest blocked reading it. */
    if (code_arg || file) eryx_sandbox_set_stdin_fd(s, 0);
    running_sandbox = s;
    signal(SIGINT, on_sigint);
    char last_out = '\n';
    eryx_sandbox_set_output(s, relay_output, &last_out);
    st = eryx_sandbox_execute(s, code, len, &r);
    signal(SIGINT, SIG_DFL);
    running_sandbox = NULL;
    fflush(stdout);
    switch (st) {
    case ERYX_OK:
    case ERYX_ERR_PYTHON_EXCEPTION:
    case ERYX_ERR_EXIT:
        status = eryx_result_exit_code(r);
        break;
    case ERYX_ERR_TIMEOUT:
    case ERYX_ERR_MEMORY_LIMIT:
    case ERYX_ERR_OUTPUT_LIMIT:
    case ERYX_ERR_FUEL_EXHAUSTED:
    case ERYX_ERR_CANCELLED:
        fprintf(stderr, "eryx: %s\n", eryx_sandbox_errmsg(s));
        status = st == ERYX_ERR_TIMEOUT        ? EXIT_TIMEOUT
                 : st == ERYX_ERR_MEMORY_LIMIT ? EXIT_MEMORY
                 : st == ERYX_ERR_OUTPUT_LIMIT ? EXIT_OUTPUT
                 : st == ERYX_ERR_FUEL_EXHAUSTED ? EXIT_FUEL
                                                 : EXIT_INTERRUPTED;
        break;
    default:
        fprintf(stderr, "eryx: %s: %s\n", eryx_status_message(st), eryx_sandbox_errmsg(s));
        status = EXIT_SANDBOX;
    }
    if (st == ERYX_OK && status == 0 && want_result) {
        const char *value = eryx_result_value(r), *why = eryx_result_value_error(r);
        if (value) {
            printf("%s%s\n", last_out == '\n' ? "" : "\n", value);
        } else if (why) {
            fprintf(stderr, "eryx: result: %s\n", why);
            status = 1;
        } else {
            fprintf(stderr, "eryx: result: the code set no variable named result, so nothing was printed\n");
        }
    }
out:
    eryx_result_free(r);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    free(code);
    free(setup);
    free(gargv);
    free(imports);
    free(envs);
    return status;
}
