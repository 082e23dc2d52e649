/*
** `eryx repl`: an interactive Python session in the sandbox. On a terminal, lines
** are read with libedit (line editing, history in ~/.eryx_history); otherwise they
** are read plainly, without prompts, so a script can be piped in. A statement is
** run once the guest's own compiler (codeop) says it is complete, as one
** interactive statement: an expression's value is printed. Output is shown as the
** guest writes it. Ctrl-C stops the running statement (the session then restarts
** from its start state: eryx stops a guest by ending its instance); Ctrl-D quits.
*/
#include "repl.h"
#include <editline/readline.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../sandbox/sandbox_internal.h"

static eryx_sandbox *volatile repl_sandbox;

static void on_sigint(int sig) {
    (void)sig;
    if (repl_sandbox) eryx_sandbox_cancel(repl_sandbox);
}

static void show_output(void *user, int stream, const char *data, size_t len) {
    (void)user;
    FILE *f = stream == 1 ? stdout : stderr;
    fwrite(data, 1, len, f);
    fflush(f);
}

/* One line without its newline (malloc'd), or NULL at the end of input. */
static char *read_line(int interactive, const char *prompt) {
    if (interactive) return readline(prompt);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    if (n && line[n - 1] == '\n') line[n - 1] = '\0';
    return line;
}

static int append(char **buf, size_t *len, const char *line) {
    size_t n = strlen(line);
    char *grown = realloc(*buf, *len + n + 2);
    if (!grown) return -1;
    memcpy(grown + *len, line, n);
    grown[*len + n] = '\n';
    grown[*len + n + 1] = '\0';
    *buf = grown;
    *len += n + 1;
    return 0;
}

int eryx__cli_repl(eryx_builder *b) {
    int interactive = isatty(0);
    if (interactive) { /* first: initializing the terminal discards what was typed before */
        rl_initialize();
        rl_parse_and_bind("bind ^D ed-end-of-file"); /* Ctrl-D quits, as in Python's REPL */
    }
    eryx_builder_set_keep_state(b, 1);
    eryx_builder_set_result_name(b, NULL);
    eryx_sandbox *s = NULL;
    eryx_status st = eryx_sandbox_new(b, &s);
    if (st != ERYX_OK) {
        fprintf(stderr, "eryx: %s: %s\n", eryx_status_message(st), eryx_builder_errmsg(b));
        return 3;
    }
    eryx_sandbox_set_output(s, show_output, NULL);
    char history[4096] = "";
    const char *home = getenv("HOME");
    if (interactive) {
        if (home && *home) snprintf(history, sizeof history, "%s/.eryx_history", home);
        if (*history) read_history(history);
        printf("Python 3.13 in the eryx sandbox (eryx %s). Ctrl-D quits.\n", eryx_version());
    }
    repl_sandbox = s;
    signal(SIGINT, on_sigint);
    char *buf = NULL, *line;
    size_t len = 0;
    int status = 0;
    while ((line = read_line(interactive, len ? "... " : ">>> ")) != NULL) {
        if (!len && !*line) {
            free(line);
            continue;
        }
        if (interactive && *line) add_history(line);
        int bad = append(&buf, &len, line);
        free(line);
        if (bad) {
            fprintf(stderr, "eryx: out of memory\n");
            status = 3;
            break;
        }
        int complete = eryx__sandbox_source_complete(s, buf, len);
        if (complete == 1) continue; /* more lines to come */
        eryx_result *r = NULL;
        st = eryx__sandbox_execute_single(s, buf, len, &r);
        eryx_result_free(r);
        if (st != ERYX_OK && st != ERYX_ERR_PYTHON_EXCEPTION && st != ERYX_ERR_EXIT)
            fprintf(stderr, "eryx: %s\n", eryx_sandbox_errmsg(s));
        if (st == ERYX_ERR_SANDBOX_DEAD) {
            status = 3;
            break;
        }
        free(buf);
        buf = NULL;
        len = 0;
    }
    signal(SIGINT, SIG_DFL);
    repl_sandbox = NULL;
    if (interactive) {
        putchar('\n');
        if (*history) write_history(history);
    }
    free(buf);
    eryx_sandbox_free(s);
    return status;
}
