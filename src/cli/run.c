/*
** Running code in the sandbox (eryx -c CODE, eryx run FILE, eryx FILE, code from
** stdin) and `eryx build`, with the builder the options configured (options.c).
** The guest's stdout and stderr are captured by the sandbox and relayed here as
** they are written; its stdin is this process's stdin only when the code does not
** come from stdin. Maps the execution's outcome to the exit status.
*/
#include "run.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "files.h"
#include "status.h"

enum {
    EXIT_TIMEOUT = 124, /* as timeout(1) */
    EXIT_MEMORY = 125,
    EXIT_OUTPUT = 126,
    EXIT_FUEL = 127,
    EXIT_INTERRUPTED = 130 /* 128 + SIGINT, as a shell reports it */
};

/* Ctrl-C (SIGINT) cancels the running execution; eryx_sandbox_cancel only sets
** an atomic flag, so it is safe in a signal handler. */
static eryx_sandbox *volatile running_sandbox;
static void on_sigint(int sig) {
    (void)sig;
    if (running_sandbox) eryx_sandbox_cancel(running_sandbox);
}

/* user: the last byte written to stdout (so --result's line starts a line). */
static void relay_output(void *user, int stream, const char *data, size_t len) {
    fwrite(data, 1, len, stream == 1 ? stdout : stderr);
    if (stream == 1) {
        fflush(stdout);
        if (len) *(char *)user = data[len - 1];
    }
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

int eryx__cli_build(eryx__cli_opts *o) {
    if (o->no_cache || o->no_preinit) {
        fprintf(stderr, "eryx: build makes a snapshot to cache for later runs: drop %s\n",
                o->no_cache ? "--no-cache" : "--no-preinit");
        return ERYX__CLI_EXIT_USAGE;
    }
    eryx_builder *b = o->b;
    double t0 = seconds_now();
    eryx_sandbox *s = NULL;
    eryx_status st = eryx_sandbox_new(b, &s);
    double dt = seconds_now() - t0;
    eryx_sandbox_free(s);
    eryx__cli_status_write(o, &(eryx__cli_status){.st = st,
                                                  .exit_status = st == ERYX_OK ? 0 : ERYX__CLI_EXIT_SANDBOX,
                                                  .message = st == ERYX_OK ? NULL : eryx_builder_errmsg(b),
                                                  .total_ms = dt * 1000});
    if (st == ERYX_ERR_PREINIT) {
        print_preinit_error(eryx_builder_errmsg(b));
        return ERYX__CLI_EXIT_SANDBOX;
    }
    if (st != ERYX_OK) {
        fprintf(stderr, "eryx: %s: %s\n", eryx_status_message(st), eryx_builder_errmsg(b));
        return ERYX__CLI_EXIT_SANDBOX;
    }
    fputs("eryx: snapshot ready (imports: ", stderr);
    for (int i = 0; i < o->nimports; i++) fprintf(stderr, "%s%s", i ? ", " : "", o->imports[i]);
    fprintf(stderr, "%s; setup: %s", o->nimports ? "" : "none", o->setup_path ? o->setup_path : "none");
    for (int i = 0; i < o->nenvs; i++)
        fprintf(stderr, "%s%.*s", i ? ", " : "; env: ", (int)strcspn(o->envs[i], "="), o->envs[i]);
    fprintf(stderr, ") in %.2f s\n", dt);
    return 0;
}

/* The execution's outcome as the exit status; prints why it stopped, if it was stopped. */
static int exit_status_of(eryx_status st, eryx_sandbox *s, eryx_result *r) {
    switch (st) {
    case ERYX_OK:
    case ERYX_ERR_PYTHON_EXCEPTION:
    case ERYX_ERR_EXIT: return eryx_result_exit_code(r);
    case ERYX_ERR_TIMEOUT:
    case ERYX_ERR_MEMORY_LIMIT:
    case ERYX_ERR_OUTPUT_LIMIT:
    case ERYX_ERR_FUEL_EXHAUSTED:
    case ERYX_ERR_CANCELLED:
        fprintf(stderr, "eryx: %s\n", eryx_sandbox_errmsg(s));
        return st == ERYX_ERR_TIMEOUT          ? EXIT_TIMEOUT
               : st == ERYX_ERR_MEMORY_LIMIT   ? EXIT_MEMORY
               : st == ERYX_ERR_OUTPUT_LIMIT   ? EXIT_OUTPUT
               : st == ERYX_ERR_FUEL_EXHAUSTED ? EXIT_FUEL
                                               : EXIT_INTERRUPTED;
    default:
        fprintf(stderr, "eryx: %s: %s\n", eryx_status_message(st), eryx_sandbox_errmsg(s));
        return ERYX__CLI_EXIT_SANDBOX;
    }
}

int eryx__cli_run(eryx__cli_opts *o, const char *file, int nargs, char **args) {
    eryx_builder *b = o->b;
    const char *code_arg = o->code;
    char *code = NULL;
    eryx_sandbox *s = NULL;
    eryx_result *r = NULL;
    int status = ERYX__CLI_EXIT_USAGE;
    double t0 = seconds_now();
    eryx__cli_status out = {.st = ERYX_ERR_INVALID_ARGUMENT}; /* how it ended, for --status-json */
    char why[512];
    /* sys.argv as CPython would set it; the remaining arguments follow. */
    int gargc = 1 + nargs;
    const char **gargv = calloc((size_t)gargc, sizeof *gargv);
    size_t len = 0;
    if (gargv) {
        gargv[0] = code_arg ? "-c" : file ? file : "-";
        for (int k = 0; k < nargs; k++) gargv[1 + k] = args[k];
    }
    if (code_arg) {
        code = strdup(code_arg);
        len = strlen(code_arg);
    } else if (file) {
        code = eryx__cli_read_file(file, &len);
        if (!code) {
            snprintf(why, sizeof why, "cannot read %s: %s", file, strerror(errno));
            fprintf(stderr, "eryx: %s\n", why);
            out.usage_error = why;
            goto out;
        }
    } else {
        code = eryx__cli_slurp(stdin, &len);
    }
    status = ERYX__CLI_EXIT_SANDBOX;
    if (!code || !gargv) {
        snprintf(why, sizeof why, "cannot read the code: %s", strerror(errno));
        fprintf(stderr, "eryx: %s\n", why);
        out.st = ERYX_ERR_IO, out.message = why;
        goto out;
    }
    /* One execution per process: no reset to the start state after it. Without
    ** --result, no result variable to encode. */
    eryx_builder_set_keep_state(b, 1);
    if (!o->want_result) eryx_builder_set_result_name(b, NULL);
    eryx_status st = eryx_builder_set_argv(b, gargc, gargv);
    if (st == ERYX_OK) st = eryx_sandbox_new(b, &s);
    out.st = st;
    if (st != ERYX_OK) out.message = eryx_builder_errmsg(b);
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
    status = exit_status_of(st, s, r);
    out.st = st, out.result = r;
    if (st != ERYX_OK) out.message = eryx_sandbox_errmsg(s);
    if (st == ERYX_OK && status == 0 && o->want_result) {
        const char *value = eryx_result_value(r), *value_error = eryx_result_value_error(r);
        if (value) {
            printf("%s%s\n", last_out == '\n' ? "" : "\n", value);
        } else if (value_error) {
            fprintf(stderr, "eryx: result: %s\n", value_error);
            out.result_error = value_error;
            status = 1;
        } else {
            fprintf(stderr, "eryx: result: the code set no variable named result, so nothing was printed\n");
        }
    }
out:
    fflush(stdout);
    out.exit_status = status;
    out.total_ms = (seconds_now() - t0) * 1000;
    eryx__cli_status_write(o, &out);
    eryx_result_free(r);
    eryx_sandbox_free(s);
    free(code);
    free(gargv);
    return status;
}
