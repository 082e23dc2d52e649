/*
** The eryx command: runs Python code in the sandbox.
**   eryx -c CODE [ARG...]      eryx run FILE [ARG...]      eryx FILE [ARG...]
**   eryx [-]  (code from stdin) eryx --version              eryx --help
** Exit status: the guest's (0, 1 for an uncaught exception, or its SystemExit
** code), 2 for a usage error, 3 when the sandbox itself failed (message on stderr).
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "eryx.h"

enum { EXIT_USAGE = 2, EXIT_SANDBOX = 3 };

static void usage(FILE *out) {
    fputs("usage: eryx [options] -c CODE [ARG...]\n"
          "       eryx [options] run FILE [ARG...]\n"
          "       eryx [options] FILE [ARG...]\n"
          "       eryx [options] [-]          read the code from stdin\n"
          "\n"
          "Runs Python 3.13 (CPython compiled to WebAssembly) inside eryx's sandbox.\n"
          "The guest sees its own stdlib image and the arguments given here; no host\n"
          "file outside the stdlib image is reachable from it.\n"
          "\n"
          "options:\n"
          "  -c CODE            run CODE (sys.argv[0] is '-c')\n"
          "  --guest-dir DIR    the guest built by guest/build.sh (python.wasm, lib/);\n"
          "                     default: $ERYX_GUEST_DIR, else the build's guest dir\n"
          "  --cache-dir DIR    where compiled modules are cached;\n"
          "                     default: ${XDG_CACHE_HOME:-$HOME/.cache}/eryx\n"
          "  --no-cache         do not read or write the compiled-module cache\n"
          "  --version          print eryx's version and exit\n"
          "  -h, --help         print this help and exit\n"
          "\n"
          "exit status: the Python program's own (0 on success, 1 after an uncaught\n"
          "exception, or the SystemExit code); 2 for a usage error; 3 when the sandbox\n"
          "itself could not run (the message on stderr says why and what to do).\n",
          out);
}

/* Reads a whole stream; NULL with errno set on failure. */
static char *slurp(FILE *f, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *bigger = realloc(buf, cap *= 2);
        if (!bigger) { free(buf); return NULL; }
        buf = bigger;
    }
    if (buf && ferror(f)) { free(buf); return NULL; }
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

int main(int argc, char **argv) {
    const char *code_arg = NULL, *file = NULL, *guest_dir = NULL, *cache_dir = NULL;
    int no_cache = 0, i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!strcmp(a, "--version")) { printf("eryx %s (Python 3.13, wasm32-wasi)\n", eryx_version()); return 0; }
        if (!strcmp(a, "--no-cache")) { no_cache = 1; continue; }
        if (!strcmp(a, "--guest-dir") || !strcmp(a, "--cache-dir") || !strcmp(a, "-c")) {
            if (i + 1 >= argc) { fprintf(stderr, "eryx: %s needs a value (see eryx --help)\n", a); return EXIT_USAGE; }
            const char *v = argv[++i];
            if (!strcmp(a, "--guest-dir")) guest_dir = v;
            else if (!strcmp(a, "--cache-dir")) cache_dir = v;
            else { code_arg = v; i++; break; }
            continue;
        }
        if (!strcmp(a, "run")) {
            if (i + 1 >= argc) { fprintf(stderr, "eryx: run needs a FILE (see eryx --help)\n"); return EXIT_USAGE; }
            file = argv[++i]; i++; break;
        }
        if (!strcmp(a, "-")) { i++; break; }
        if (a[0] == '-' && a[1]) { fprintf(stderr, "eryx: unknown option %s (see eryx --help)\n", a); return EXIT_USAGE; }
        file = a; i++; break;
    }

    /* sys.argv as CPython would set it; the remaining arguments follow. */
    int gargc = 1 + (argc - i);
    const char **gargv = calloc((size_t)gargc, sizeof *gargv);
    if (!gargv) { fprintf(stderr, "eryx: out of memory\n"); return EXIT_SANDBOX; }
    gargv[0] = code_arg ? "-c" : file ? file : "-";
    for (int k = i; k < argc; k++) gargv[1 + k - i] = argv[k];

    size_t len = 0;
    char *code = NULL;
    if (code_arg) {
        code = strdup(code_arg);
        len = strlen(code_arg);
    } else if (file) {
        code = read_path(file, &len);
        if (!code) { fprintf(stderr, "eryx: cannot read %s: %s\n", file, strerror(errno)); free(gargv); return EXIT_USAGE; }
    } else {
        code = slurp(stdin, &len);
    }
    if (!code) { fprintf(stderr, "eryx: cannot read the code: %s\n", strerror(errno)); free(gargv); return EXIT_SANDBOX; }

    int status = EXIT_SANDBOX;
    eryx_builder *b = eryx_builder_new();
    eryx_sandbox *s = NULL;
    if (!b) { fprintf(stderr, "eryx: out of memory\n"); goto out; }
    eryx_status st = eryx_builder_set_argv(b, gargc, gargv);
    if (st == ERYX_OK && guest_dir) st = eryx_builder_set_guest_dir(b, guest_dir);
    if (st == ERYX_OK && (cache_dir || no_cache)) st = eryx_builder_set_cache_dir(b, no_cache ? NULL : cache_dir);
    if (st == ERYX_OK) st = eryx_sandbox_new(b, &s);
    if (st != ERYX_OK) {
        fprintf(stderr, "eryx: %s: %s\n", eryx_status_message(st), eryx_builder_errmsg(b));
        goto out;
    }
    fflush(stdout);
    st = eryx_sandbox_run(s, code, len, &status);
    if (st != ERYX_OK) {
        fprintf(stderr, "eryx: %s: %s\n", eryx_status_message(st), eryx_sandbox_errmsg(s));
        status = EXIT_SANDBOX;
    }
out:
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    free(code);
    free(gargv);
    return status;
}
