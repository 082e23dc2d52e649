/* net_guest_run SCRIPT CA_PEM [PACKAGE...]: runs one guest script of tests/net-guest/
** in a sandbox with the network on (localhost allowed, CA_PEM as an extra root, the
** PACKAGEs added), for tests/net-guest/run.py (e2e.net_guest). The script's config
** is the environment variable NET_TEST (every NET_TEST* variable is passed through). Prints the script's stdout
** and stderr, then its exception and the result's network counts; exits with
** the script's status (1 if the sandbox failed, 2 on bad usage).
** A script with a line "# --- restore ---" runs as a session in two parts: the
** part before in one sandbox, whose state is then snapshotted and restored into a
** second sandbox of the same builder, which runs the part after. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "eryx.h"

extern char **environ;

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n + 65536 > cap) {
            cap = (cap + 65536) * 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int fail(eryx_builder *b, const char *what, eryx_status st) {
    fprintf(stderr, "net_guest_run: %s: %s: %s\n", what, eryx_status_name(st), b ? eryx_builder_errmsg(b) : "");
    return 1;
}

/* Runs code in s, prints what it printed; returns its exit status (1: no result). */
static int run(eryx_sandbox *s, const char *code, size_t len) {
    eryx_result *r = NULL;
    eryx_status st = eryx_sandbox_execute(s, code, len, &r);
    if (!r) {
        fprintf(stderr, "net_guest_run: execute: %s: %s\n", eryx_status_name(st), eryx_sandbox_errmsg(s));
        return 1;
    }
    size_t n;
    const char *out = eryx_result_stdout(r, &n);
    fwrite(out, 1, n, stdout);
    out = eryx_result_stderr(r, &n);
    fwrite(out, 1, n, stderr);
    if (eryx_result_exception_type(r)) fprintf(stderr, "exception: %s\n", eryx_result_exception_type(r));
    int rc = eryx_result_exit_code(r);
    eryx_net_stats ns;
    eryx_result_net_stats(r, &ns);
    fprintf(stderr, "net stats: connections %llu, refused %llu\n", (unsigned long long)ns.connections,
            (unsigned long long)ns.refused);
    eryx_result_free(r);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: net_guest_run SCRIPT CA_PEM [PACKAGE...]\n");
        return 2;
    }
    size_t code_len, ca_len;
    char *code = slurp(argv[1], &code_len), *ca = slurp(argv[2], &ca_len);
    if (!code || !ca) {
        fprintf(stderr, "net_guest_run: cannot read %s or %s\n", argv[1], argv[2]);
        return 2;
    }
    eryx_builder *b = eryx_builder_new();
    if (!b) return 1;
    eryx_status st;
    if ((st = eryx_builder_set_network(b, 1)) || (st = eryx_builder_net_allow_localhost(b)) ||
        (st = eryx_builder_net_add_root_cert(b, ca, ca_len)) || (st = eryx_builder_set_timeout_ms(b, 240000)))
        return fail(b, "builder", st);
    for (char **e = environ; *e; e++) {
        const char *eq = strchr(*e, '=');
        if (strncmp(*e, "NET_TEST", 8) != 0 || !eq) continue;
        char name[64];
        size_t n = (size_t)(eq - *e);
        if (n >= sizeof name) continue;
        memcpy(name, *e, n);
        name[n] = '\0';
        if ((st = eryx_builder_set_env(b, name, eq + 1))) return fail(b, name, st);
    }
    for (int i = 3; i < argc; i++)
        if ((st = eryx_builder_add_package(b, argv[i]))) return fail(b, argv[i], st);
    const char *split = strstr(code, "\n# --- restore ---\n");
    if (split && (st = eryx_builder_set_keep_state(b, 1))) return fail(b, "keep_state", st);
    eryx_sandbox *s = NULL;
    if ((st = eryx_sandbox_new(b, &s))) return fail(b, "sandbox", st);
    int rc;
    if (!split) {
        rc = run(s, code, code_len);
    } else {
        size_t first = (size_t)(split - code) + 1;
        rc = run(s, code, first);
        void *blob = NULL;
        size_t blob_len = 0;
        eryx_sandbox *s2 = NULL;
        if (rc == 0 && (st = eryx_sandbox_snapshot(s, &blob, &blob_len))) rc = fail(b, "snapshot", st);
        if (rc == 0 && (st = eryx_sandbox_new(b, &s2))) rc = fail(b, "second sandbox", st);
        if (rc == 0 && (st = eryx_sandbox_restore(s2, blob, blob_len))) rc = fail(b, "restore", st);
        if (rc == 0) rc = run(s2, code + first, code_len - first);
        eryx_blob_free(blob);
        eryx_sandbox_free(s2);
    }
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    free(code);
    free(ca);
    return rc;
}
