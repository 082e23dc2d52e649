/*
** The CLI's network and secret options: what each does to the builder and its
** messages (docs/NETWORK.md, "The CLI"). Any of them turns networking on with the
** library's default policy (as --net does) before applying itself, so
** `--allow-host api.example.com` alone is enough. --block-network adds to the
** default blocked ranges (it never replaces them: an option can only narrow what
** the guest reaches, except the --allow-* ones, whose names say so).
*/
#include "net_opts.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "files.h"

/* The library's defaults (eryx_builder_set_network), changed one at a time by the
** --net-* limit options. */
enum { DEFAULT_MAX_CONNECTIONS = 10, DEFAULT_CONNECT_MS = 30000, DEFAULT_IO_MS = 60000 };

static int net_on(eryx__cli_opts *o, const char *name) {
    if (o->net) return 1;
    if (eryx_builder_set_network(o->b, 1) != ERYX_OK) {
        fprintf(stderr, "eryx: %s: %s\n", name, eryx_builder_errmsg(o->b));
        return 0;
    }
    o->net = 1;
    o->net_max_connections = DEFAULT_MAX_CONNECTIONS;
    o->net_connect_ms = DEFAULT_CONNECT_MS;
    o->net_io_ms = DEFAULT_IO_MS;
    return 1;
}

static eryx__cli_opt_result applied(eryx__cli_opts *o, eryx_status st, const char *name, const char *v) {
    if (st == ERYX_OK) return ERYX__CLI_OPT_TAKEN;
    fprintf(stderr, "eryx: %s%s%s: %s\n", name, v ? " " : "", v ? v : "", eryx_builder_errmsg(o->b));
    return ERYX__CLI_OPT_FAIL;
}

/* --net and --allow-localhost (no value). */
eryx__cli_opt_result eryx__cli_opt_net(eryx__cli_opts *o, const char *name, const char *v, int *status) {
    (void)v, (void)status;
    if (!net_on(o, name)) return ERYX__CLI_OPT_FAIL;
    if (!strcmp(name, "--net")) return ERYX__CLI_OPT_TAKEN;
    return applied(o, eryx_builder_net_allow_localhost(o->b), name, NULL);
}

/* --allow-host, --block-host (patterns), --allow-network, --block-network (CIDRs). */
eryx__cli_opt_result eryx__cli_opt_net_list(eryx__cli_opts *o, const char *name, const char *v, int *status) {
    (void)status;
    if (!net_on(o, name)) return ERYX__CLI_OPT_FAIL;
    eryx_status st = !strcmp(name, "--allow-host")      ? eryx_builder_net_allow_host(o->b, v)
                     : !strcmp(name, "--block-host")    ? eryx_builder_net_block_host(o->b, v)
                     : !strcmp(name, "--allow-network") ? eryx_builder_net_allow_network(o->b, v)
                                                        : eryx_builder_net_block_network(o->b, v);
    return applied(o, st, name, v);
}

/* "2", "0.5", "1.5s" or "250ms" -> milliseconds; -1 when malformed. */
static long long duration_ms(const char *v) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || x < 0) return -1;
    if (!strcmp(end, "ms")) return x > 1e15 ? -1 : (long long)x;
    if (*end && strcmp(end, "s")) return -1;
    return x * 1000 > 1e15 ? -1 : (long long)(x * 1000);
}

/* --net-max-connections N, --net-connect-timeout T, --net-io-timeout T (0: none). */
eryx__cli_opt_result eryx__cli_opt_net_limit(eryx__cli_opts *o, const char *name, const char *v, int *status) {
    (void)status;
    if (!net_on(o, name)) return ERYX__CLI_OPT_FAIL;
    if (!strcmp(name, "--net-max-connections")) {
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno || end == v || *end || n < 1 || n > 1000000) {
            fprintf(stderr, "eryx: %s wants a number of connections >= 1, got '%s'\n", name, v);
            return ERYX__CLI_OPT_FAIL;
        }
        o->net_max_connections = (uint32_t)n;
    } else {
        long long ms = duration_ms(v);
        if (ms < 0) {
            fprintf(stderr, "eryx: %s wants a duration like 5, 0.5 or 250ms (0: none), got '%s'\n", name, v);
            return ERYX__CLI_OPT_FAIL;
        }
        *(!strcmp(name, "--net-connect-timeout") ? &o->net_connect_ms : &o->net_io_ms) = (uint64_t)ms;
    }
    return applied(o, eryx_builder_net_set_limits(o->b, o->net_max_connections, o->net_connect_ms, o->net_io_ms), name,
                   v);
}

/* --root-cert FILE: PEM (one or more certificates) or DER. */
eryx__cli_opt_result eryx__cli_opt_root_cert(eryx__cli_opts *o, const char *name, const char *v, int *status) {
    (void)status;
    if (!net_on(o, name)) return ERYX__CLI_OPT_FAIL;
    size_t len = 0;
    char *data = eryx__cli_read_file(v, &len);
    if (!data) {
        fprintf(stderr, "eryx: %s: cannot read %s: %s\n", name, v, strerror(errno));
        return ERYX__CLI_OPT_FAIL;
    }
    eryx__cli_opt_result r = applied(o, eryx_builder_net_add_root_cert(o->b, data, len), name, v);
    free(data);
    return r;
}

/* --secret NAME=ENVVAR[@host,...]: the value comes from the host's environment
** variable ENVVAR (never from the command line, which other users can read in ps). */
eryx__cli_opt_result eryx__cli_opt_secret(eryx__cli_opts *o, const char *name, const char *v, int *status) {
    (void)status;
    const char *eq = strchr(v, '=');
    const char *at = eq ? strchr(eq + 1, '@') : NULL;
    size_t var_len = eq ? (at ? (size_t)(at - eq - 1) : strlen(eq + 1)) : 0;
    if (!eq || eq == v || !var_len) {
        fprintf(stderr, "eryx: %s wants NAME=ENVVAR[@HOST,...] (the value is read from $ENVVAR), got '%s'\n", name, v);
        return ERYX__CLI_OPT_FAIL;
    }
    char *sname = strndup(v, (size_t)(eq - v)), *var = strndup(eq + 1, var_len);
    char *hosts = at ? strdup(at + 1) : NULL;
    const char **list = calloc(strlen(v) + 1, sizeof *list);
    eryx__cli_opt_result r = ERYX__CLI_OPT_FAIL;
    if (!sname || !var || (at && !hosts) || !list) {
        fprintf(stderr, "eryx: out of memory\n");
        goto out;
    }
    const char *value = getenv(var);
    if (!value || !*value) {
        fprintf(stderr, "eryx: %s %s: the environment variable %s is %s\n", name, v, var, value ? "empty" : "not set");
        goto out;
    }
    size_t n = 0;
    for (char *save = NULL, *t = hosts ? strtok_r(hosts, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
        list[n++] = t;
    if (!net_on(o, name)) goto out;
    /* The message may not echo the value: applied() prints only the spec. */
    r = applied(o, eryx_builder_add_secret(o->b, sname, value, list, n), name, v);
out:
    free(sname), free(var), free(hosts), free(list);
    return r;
}

/* --scrub WHAT: a comma list of stdout, stderr, files, result; or all, or none. */
eryx__cli_opt_result eryx__cli_opt_scrub(eryx__cli_opts *o, const char *name, const char *v, int *status) {
    (void)status;
    static const struct {
        const char *word;
        unsigned flags;
    } words[] = {{"stdout", ERYX_SCRUB_STDOUT},
                 {"stderr", ERYX_SCRUB_STDERR},
                 {"files", ERYX_SCRUB_FILES},
                 {"result", ERYX_SCRUB_RESULT},
                 {"none", 0},
                 {"all", ERYX_SCRUB_STDOUT | ERYX_SCRUB_STDERR | ERYX_SCRUB_FILES | ERYX_SCRUB_RESULT}};
    unsigned flags = 0;
    for (const char *p = v; *p;) {
        size_t n = strcspn(p, ","), k = 0;
        while (k < sizeof words / sizeof words[0] && (strlen(words[k].word) != n || strncmp(p, words[k].word, n))) k++;
        if (k == sizeof words / sizeof words[0]) {
            fprintf(stderr, "eryx: %s wants a comma list of stdout, stderr, files, result (or all, none), got '%s'\n",
                    name, v);
            return ERYX__CLI_OPT_FAIL;
        }
        flags |= words[k].flags;
        p += n + (p[n] == ',');
    }
    return applied(o, eryx_builder_set_scrub(o->b, flags), name, v);
}
