/* net_guest_run SCRIPT CA_PEM [PACKAGE...]: runs one guest script of tests/net-guest/
** in a sandbox with the network on (localhost allowed, CA_PEM as an extra root, the
** PACKAGEs added), for tests/net-guest/run.py (e2e.net_guest). The script's config
** is the environment variable NET_TEST (every NET_TEST* variable is passed through). Prints the script's stdout
** and stderr, then its exception and the result's network counts; exits with
** the script's status (1 if the sandbox failed, 2 on bad usage). */
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
    eryx_sandbox *s = NULL;
    if ((st = eryx_sandbox_new(b, &s))) return fail(b, "sandbox", st);
    eryx_result *r = NULL;
    st = eryx_sandbox_execute(s, code, code_len, &r);
    int rc = 1;
    if (r) {
        size_t n;
        const char *out = eryx_result_stdout(r, &n);
        fwrite(out, 1, n, stdout);
        out = eryx_result_stderr(r, &n);
        fwrite(out, 1, n, stderr);
        if (eryx_result_exception_type(r)) fprintf(stderr, "exception: %s\n", eryx_result_exception_type(r));
        rc = eryx_result_exit_code(r);
        eryx_net_stats ns;
        eryx_result_net_stats(r, &ns);
        fprintf(stderr, "net stats: connections %llu, refused %llu\n", (unsigned long long)ns.connections,
                (unsigned long long)ns.refused);
        eryx_result_free(r);
    } else {
        fprintf(stderr, "net_guest_run: execute: %s: %s\n", eryx_status_name(st), eryx_sandbox_errmsg(s));
    }
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    free(code);
    free(ca);
    return rc;
}
