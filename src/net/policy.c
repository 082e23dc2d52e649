/*
** A builder's network config (net.h): host patterns, blocked and allowed networks,
** limits, roots, the resolver; and the checks made on every connection. The rules
** (docs/NETWORK.md) follow pyeryx 0.11's NetConfig, except that allowed_hosts
** always restricts (the reference's allow_host left every host allowed):
**   1. a name (an IP literal: its canonical text) matching blocked_hosts is refused;
**   2. with allowed_hosts, a name must match one ("localhost", "*.localhost" and the
**      loopback addresses count as matching once allow_localhost is set);
**   3. every address is refused if in a blocked network, unless it is in an allowed
**      network, is loopback with allow_localhost, or its name matches internal_hosts.
** A config is shared by reference between the builder and its sandboxes and never
** changes once shared (eryx__net_config_mutable copies it first).
*/
#include <stdatomic.h>
#include <stdio.h>
#include "net.h"

typedef struct strlist {
    char **v;
    size_t n;
} strlist;

typedef struct cidrlist {
    eryx__cidr *v;
    size_t n;
} cidrlist;

struct eryx__net_config {
    atomic_size_t refs;
    strlist hosts[3]; /* by eryx__net_host_list */
    cidrlist blocked, allowed;
    bool allow_localhost, system_roots;
    uint32_t max_connections;
    uint64_t connect_timeout_ms, io_timeout_ms;
    eryx_resolve_fn resolver;
    void *resolver_user;
    void **roots; /* as given: DER or PEM */
    size_t *root_lens, nroots;
};

static const char *const host_list_name[3] = {"allowed_hosts", "blocked_hosts", "internal_hosts"};

/* The defaults of eryx_builder_net_block_network (include/eryx.h): every non-public range. */
static const char *const default_blocked[] = {
    "0.0.0.0/8",      "10.0.0.0/8",   "100.64.0.0/10",  "127.0.0.0/8",    "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24",   "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",  "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4",  "240.0.0.0/4",    "::/128",         "::1/128",        "64:ff9b::/96",
    "64:ff9b:1::/48", "100::/64",     "2001::/23",      "2001:db8::/32",  "2002::/16",      "fc00::/7",
    "fe80::/10",      "fec0::/10",    "ff00::/8"};

static bool strlist_push(strlist *l, const char *s) {
    char *copy = strdup(s);
    char **v = copy ? realloc(l->v, (l->n + 1) * sizeof *v) : NULL;
    if (!v) {
        free(copy);
        return false;
    }
    v[l->n++] = copy;
    l->v = v;
    return true;
}

static bool cidrlist_push(cidrlist *l, const eryx__cidr *c) {
    eryx__cidr *v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v) return false;
    v[l->n++] = *c;
    l->v = v;
    return true;
}

static bool root_push(eryx__net_config *c, const void *data, size_t len) {
    void *copy = malloc(len);
    void **roots = copy ? realloc(c->roots, (c->nroots + 1) * sizeof *roots) : NULL;
    if (roots) c->roots = roots;
    size_t *lens = roots ? realloc(c->root_lens, (c->nroots + 1) * sizeof *lens) : NULL;
    if (!lens) {
        free(copy);
        return false;
    }
    c->root_lens = lens;
    memcpy(copy, data, len);
    roots[c->nroots] = copy;
    lens[c->nroots++] = len;
    return true;
}

static void config_free(eryx__net_config *c) {
    for (int i = 0; i < 3; i++) {
        for (size_t j = 0; j < c->hosts[i].n; j++) free(c->hosts[i].v[j]);
        free(c->hosts[i].v);
    }
    free(c->blocked.v);
    free(c->allowed.v);
    for (size_t i = 0; i < c->nroots; i++) free(c->roots[i]);
    free(c->roots);
    free(c->root_lens);
    free(c);
}

eryx__net_config *eryx__net_config_new(void) {
    eryx__net_config *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    atomic_init(&c->refs, 1);
    c->system_roots = true;
    c->max_connections = 10;
    c->connect_timeout_ms = 30000;
    c->io_timeout_ms = 60000;
    for (size_t i = 0; i < sizeof default_blocked / sizeof *default_blocked; i++) {
        eryx__cidr net;
        bool ok = eryx__cidr_parse(default_blocked[i], &net);
        if (!ok || !cidrlist_push(&c->blocked, &net)) { /* parsing a constant cannot fail: tests check it */
            config_free(c);
            return NULL;
        }
    }
    return c;
}

eryx__net_config *eryx__net_config_ref(eryx__net_config *c) {
    if (c) atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

void eryx__net_config_release(eryx__net_config *c) {
    if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) config_free(c);
}

static eryx__net_config *config_clone(const eryx__net_config *src) {
    eryx__net_config *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    atomic_init(&c->refs, 1);
    c->allow_localhost = src->allow_localhost;
    c->system_roots = src->system_roots;
    c->max_connections = src->max_connections;
    c->connect_timeout_ms = src->connect_timeout_ms;
    c->io_timeout_ms = src->io_timeout_ms;
    c->resolver = src->resolver;
    c->resolver_user = src->resolver_user;
    bool ok = true;
    for (int i = 0; i < 3; i++)
        for (size_t j = 0; ok && j < src->hosts[i].n; j++) ok = strlist_push(&c->hosts[i], src->hosts[i].v[j]);
    for (size_t j = 0; ok && j < src->blocked.n; j++) ok = cidrlist_push(&c->blocked, &src->blocked.v[j]);
    for (size_t j = 0; ok && j < src->allowed.n; j++) ok = cidrlist_push(&c->allowed, &src->allowed.v[j]);
    for (size_t j = 0; ok && j < src->nroots; j++) ok = root_push(c, src->roots[j], src->root_lens[j]);
    if (!ok) {
        config_free(c);
        return NULL;
    }
    return c;
}

eryx__net_config *eryx__net_config_mutable(eryx__net_config **slot) {
    eryx__net_config *c = *slot;
    /* One reference: the slot's holder (the builder) is the only one who can share it. */
    if (atomic_load_explicit(&c->refs, memory_order_acquire) == 1) return c;
    eryx__net_config *copy = config_clone(c);
    if (!copy) return NULL;
    eryx__net_config_release(c);
    return *slot = copy;
}

/* ---- setters ---- */

eryx_status eryx__net_config_add_host(eryx__net_config *c, eryx__net_host_list list, const char *pattern,
                                      eryx__errbuf *err) {
    if ((unsigned)list > 2) return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "no such host list %d", (int)list);
    const char *what = host_list_name[list];
    if (!pattern) return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "%s pattern is NULL", what);
    /* An IP literal in any spelling is kept as its canonical text, the form names are matched in. */
    eryx__ip ip;
    char canon[64];
    if (eryx__ip_parse(pattern, strlen(pattern), &ip)) {
        eryx__ip_format(&ip, canon);
        pattern = canon;
    } else {
        eryx__errbuf why;
        if (!eryx__host_pattern_check(pattern, &why))
            return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "invalid %s pattern: %s", what, why.msg);
    }
    if (!strlist_push(&c->hosts[list], pattern))
        return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for a %s pattern", what);
    return ERYX_OK;
}

eryx_status eryx__net_config_add_network(eryx__net_config *c, bool blocked, const char *cidr, eryx__errbuf *err) {
    const char *what = blocked ? "blocked network" : "allowed network";
    if (!cidr) return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "%s is NULL", what);
    eryx__cidr net;
    if (!eryx__cidr_parse(cidr, &net))
        return eryx__fail(
            err, ERYX_ERR_INVALID_ARGUMENT,
            "%s '%.200s' is not a valid CIDR (an IP address, optionally '/' and a prefix length in range, "
            "with no bits set past the prefix)",
            what, cidr);
    if (!cidrlist_push(blocked ? &c->blocked : &c->allowed, &net))
        return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for a %s", what);
    return ERYX_OK;
}

void eryx__net_config_clear_blocked(eryx__net_config *c) {
    free(c->blocked.v);
    c->blocked = (cidrlist){0};
}

void eryx__net_config_allow_localhost(eryx__net_config *c) { c->allow_localhost = true; }

eryx_status eryx__net_config_set_limits(eryx__net_config *c, uint32_t max_connections, uint64_t connect_timeout_ms,
                                        uint64_t io_timeout_ms, eryx__errbuf *err) {
    if (max_connections < 1) return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "max_connections must be at least 1");
    c->max_connections = max_connections;
    c->connect_timeout_ms = connect_timeout_ms;
    c->io_timeout_ms = io_timeout_ms;
    return ERYX_OK;
}

eryx_status eryx__net_config_add_root(eryx__net_config *c, const void *data, size_t len, eryx__errbuf *err) {
    if (!data || !len) return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "root certificate is NULL or empty");
    if (!root_push(c, data, len)) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for a root certificate");
    return ERYX_OK;
}

void eryx__net_config_set_system_roots(eryx__net_config *c, bool use) { c->system_roots = use; }

void eryx__net_config_set_resolver(eryx__net_config *c, eryx_resolve_fn fn, void *user) {
    c->resolver = fn;
    c->resolver_user = fn ? user : NULL;
}

/* ---- accessors ---- */

uint32_t eryx__net_config_max_connections(const eryx__net_config *c) { return c->max_connections; }
uint64_t eryx__net_config_connect_timeout_ms(const eryx__net_config *c) { return c->connect_timeout_ms; }
uint64_t eryx__net_config_io_timeout_ms(const eryx__net_config *c) { return c->io_timeout_ms; }
bool eryx__net_config_system_roots(const eryx__net_config *c) { return c->system_roots; }

eryx_resolve_fn eryx__net_config_resolver(const eryx__net_config *c, void **user) {
    if (user) *user = c->resolver_user;
    return c->resolver;
}

size_t eryx__net_config_roots(const eryx__net_config *c, const void *const **data, const size_t **lens) {
    if (data) *data = (const void *const *)c->roots;
    if (lens) *lens = c->root_lens;
    return c->nroots;
}

/* ---- the checks ---- */

static const char *match_any(const strlist *l, const char *host) {
    for (size_t i = 0; i < l->n; i++)
        if (eryx__host_match(l->v[i], host)) return l->v[i];
    return NULL;
}

static bool is_loopback(const eryx__ip *ip) {
    static const uint8_t v6_loopback[16] = {[15] = 1};
    if (ip->family == 4) return ip->b[0] == 127;
    return ip->family == 6 && !memcmp(ip->b, v6_loopback, 16);
}

bool eryx__net_allow_name(const eryx__net_config *c, const char *name, eryx__errbuf *why) {
    if (!name) return eryx__net_refuse(why, "network policy: no host name");
    char canon[64];
    const char *key = name;
    eryx__ip ip;
    bool literal = eryx__ip_parse(name, strlen(name), &ip);
    if (literal) {
        eryx__ip_format(&ip, canon);
        key = canon;
    } else {
        eryx__errbuf bad;
        if (!eryx__host_name_check(name, strlen(name), &bad))
            return eryx__net_refuse(why, "network policy: %s", bad.msg);
    }
    const char *p = match_any(&c->hosts[ERYX__NET_BLOCKED_HOSTS], key);
    if (p) return eryx__net_refuse(why, "network policy: host '%s' matches blocked_hosts pattern '%s'", key, p);
    const strlist *allowed = &c->hosts[ERYX__NET_ALLOWED_HOSTS];
    if (!allowed->n || match_any(allowed, key)) return true;
    if (c->allow_localhost &&
        (literal ? is_loopback(&ip) : eryx__host_match("localhost", key) || eryx__host_match("*.localhost", key)))
        return true;
    return eryx__net_refuse(why, "network policy: host '%s' is not in allowed_hosts", key);
}

bool eryx__net_allow_addr(const eryx__net_config *c, const char *name, const eryx__ip *ip, eryx__errbuf *why) {
    eryx__ip n = *ip;
    eryx__ip_normalize(&n);
    char text[64];
    if ((n.family != 4 && n.family != 6) || !eryx__ip_format(&n, text))
        return eryx__net_refuse(why, "network policy: an address of unknown family %d", n.family);
    if (!name && !eryx__net_allow_name(c, text, why)) return false;
    const eryx__cidr *hit = NULL;
    for (size_t i = 0; !hit && i < c->blocked.n; i++)
        if (eryx__cidr_contains(&c->blocked.v[i], &n)) hit = &c->blocked.v[i];
    if (!hit) return true;
    if (c->allow_localhost && is_loopback(&n)) return true;
    for (size_t i = 0; i < c->allowed.n; i++)
        if (eryx__cidr_contains(&c->allowed.v[i], &n)) return true;
    if (match_any(&c->hosts[ERYX__NET_INTERNAL_HOSTS], name ? name : text)) return true;
    char net[64];
    eryx__ip_format(&hit->ip, net);
    if (name)
        return eryx__net_refuse(why, "network policy: %s (for '%s') is in blocked network %s/%u", text, name, net,
                                hit->prefix);
    return eryx__net_refuse(why, "network policy: %s is in blocked network %s/%u", text, net, hit->prefix);
}
