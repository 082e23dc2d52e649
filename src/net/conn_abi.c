/*
** One guest instance's network (eryx__net, conn_int.h) and the host side of the
** guest's network imports (src/host/host.h: net_resolve, net_connect, net_tls,
** net_info, net_error): names checked, resolved once and remembered, each address
** checked by the policy before the connection to it starts, and the stats.
** Everything the guest can make the host keep is bounded: connections by the
** config's max_connections, remembered (name, address) pairs by
** ERYX__NET_MAX_PAIRS, names by ERYX__NET_MAX_NAME, TLS options by OPTS_MAX.
*/
#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <sys/socket.h>
#include "conn_int.h"
#include "../wasi/wasi_abi.h"

#define OPTS_MAX (1u << 20) /* a net_tls options object, CA data included */
#define ALPN_MAX 65535      /* the ALPN extension's own bound */
#define VERIFY_FAILED (-1000)

eryx__net *eryx__net_new(eryx__net_config *c, struct eryx__wasi *w, eryx__net_wait_fn wait, void *wait_user) {
    eryx__net *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->cfg = eryx__net_config_ref(c);
    n->wasi = w;
    n->wait = wait;
    n->wait_user = wait_user;
    return n;
}

void eryx__net_free(eryx__net *n) {
    if (!n) return;
    /* The WASI state closed every connection's fd before (they unlink themselves);
    ** any left would be a bug upstream: freed all the same. */
    while (n->conns) {
        conn *c = n->conns;
        n->conns = c->next;
        eryx__conn_free(c);
    }
    for (size_t i = 0; i < n->npairs; i++) free(n->pairs[i].name);
    eryx__tls_ctx_free(n->tls_ctx);
    eryx__net_config_release(n->cfg);
    free(n);
}

void eryx__net_set_secrets(eryx__net *n, const struct eryx__secret_set *set) {
    if (n) n->secrets = set;
}
void eryx__net_begin(eryx__net *n) {
    if (n) memset(&n->stats, 0, sizeof n->stats);
}
void eryx__net_get_stats(const eryx__net *n, eryx_net_stats *out) {
    if (n) *out = n->stats;
    else memset(out, 0, sizeof *out);
}
size_t eryx__net_open_count(const eryx__net *n) { return n ? n->nconns : 0; }

/* ---- names ----------------------------------------------------------------------------- */

/* The guest's name as a C string, normalized for comparisons (lower case, no
** trailing dot); false (with a message) when it cannot be a host name. */
static bool take_name(eryx__net *n, const uint8_t *p, size_t len, char out[ERYX__NET_MAX_NAME + 1]) {
    if (len == 0 || len > ERYX__NET_MAX_NAME) {
        eryx__net_fail(n, ERYX__WASI_EINVAL, "network: a host name must be 1 to %d bytes", ERYX__NET_MAX_NAME);
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        /* Printable ASCII without spaces (an IDN arrives in its ASCII form). */
        if (p[i] <= ' ' || p[i] >= 0x7f) {
            eryx__net_fail(n, ERYX__WASI_EINVAL, "network: a host name holds a byte that no host name has (0x%02x)",
                           p[i]);
            return false;
        }
        out[i] = (char)tolower(p[i]);
    }
    if (len > 1 && out[len - 1] == '.') len--;
    out[len] = '\0';
    return true;
}

static bool ip_eq(const eryx__ip *a, const eryx__ip *b) {
    return a->family == b->family && a->scope == b->scope && !memcmp(a->b, b->b, a->family == 4 ? 4 : 16);
}

static void remember(eryx__net *n, const char *name, const eryx__ip *ip) {
    for (size_t i = 0; i < n->npairs; i++)
        if (ip_eq(&n->pairs[i].ip, ip) && !strcmp(n->pairs[i].name, name)) return;
    char *copy = strdup(name);
    if (!copy) return; /* the pair is then unknown: a later connect by it is refused, never wrongly allowed */
    name_pair *slot = &n->pairs[n->next_pair];
    if (n->npairs == ERYX__NET_MAX_PAIRS) free(slot->name);
    else n->npairs++;
    slot->name = copy;
    slot->ip = *ip;
    n->next_pair = (n->next_pair + 1) % ERYX__NET_MAX_PAIRS;
}

static bool remembered(const eryx__net *n, const char *name, const eryx__ip *ip) {
    for (size_t i = 0; i < n->npairs; i++)
        if (ip_eq(&n->pairs[i].ip, ip) && !strcmp(n->pairs[i].name, name)) return true;
    return false;
}

static int32_t refuse(eryx__net *n, const eryx__errbuf *why) {
    n->stats.refused++;
    return eryx__net_fail(n, ERYX__WASI_EACCES, "%s", why->msg);
}

/* The addresses of name that the policy allows (family 0/4/6), in order; refused
** ones are dropped. 0 (with *count > 0), or -errno with a message. */
static int32_t allowed_addrs(eryx__net *n, const char *name, int family, eryx__ip *out, size_t *count) {
    eryx__errbuf why;
    *count = 0;
    eryx__ip lit;
    if (eryx__ip_parse(name, strlen(name), &lit)) {
        /* A literal stands for itself: checked by its canonical text. */
        char text[64];
        eryx__ip_format(&lit, text);
        if ((family == 4 && lit.family != 4) || (family == 6 && lit.family != 6))
            return eryx__net_fail(n, ERYX__WASI_EAFNOSUPPORT, "network: %s is not an IPv%d address", text, family);
        if (!eryx__net_allow_name(n->cfg, text, &why) || !eryx__net_allow_addr(n->cfg, NULL, &lit, &why))
            return refuse(n, &why);
        out[(*count)++] = lit;
        return 0;
    }
    if (!eryx__net_allow_name(n->cfg, name, &why)) return refuse(n, &why);
    eryx__ip got[ERYX__NET_MAX_ADDRS];
    size_t ngot = 0;
    int e = eryx__net_resolve_name(n->cfg, name, family, got, ERYX__NET_MAX_ADDRS, &ngot, n->wait, n->wait_user,
                                   eryx__net_config_connect_timeout_ms(n->cfg) * 1000000u, &why);
    if (e) return eryx__net_fail(n, (uint16_t)e, "%s", why.msg);
    for (size_t i = 0; i < ngot; i++)
        if (eryx__net_allow_addr(n->cfg, name, &got[i], &why)) out[(*count)++] = got[i];
    if (*count == 0) return refuse(n, &why); /* every address refused: the last reason */
    return 0;
}

/* Copies text into the guest's buffer (at most cap) and returns its full length. */
static int32_t give(const char *text, size_t len, uint8_t *out, size_t cap) {
    if (len > INT32_MAX) return -ERYX__WASI_EOVERFLOW;
    memcpy(out, text, len < cap ? len : cap);
    return (int32_t)len;
}

int32_t eryx__net_abi_resolve(eryx__net *n, const uint8_t *name, size_t name_len, int32_t family, uint8_t *out,
                              size_t cap) {
    char host[ERYX__NET_MAX_NAME + 1];
    if (family != 0 && family != 4 && family != 6)
        return eryx__net_fail(n, ERYX__WASI_EINVAL, "network: family must be 0, 4 or 6");
    if (!take_name(n, name, name_len, host)) return -ERYX__WASI_EINVAL;
    eryx__ip addrs[ERYX__NET_MAX_ADDRS];
    size_t count = 0;
    int32_t r = allowed_addrs(n, host, family, addrs, &count);
    if (r < 0) return r;
    char text[ERYX__NET_MAX_ADDRS * 65];
    size_t len = 0;
    for (size_t i = 0; i < count; i++) {
        remember(n, host, &addrs[i]);
        len += eryx__ip_format(&addrs[i], text + len);
        text[len++] = '\n';
    }
    return give(text, len, out, cap);
}

/* Connects to each address in turn until one answers (blocking), or starts the
** first (non-blocking); the fd or -errno. */
static int32_t connect_addrs(eryx__net *n, const char *name, const eryx__ip *addrs, size_t count, uint16_t port,
                             bool nonblock) {
    uint64_t ms = eryx__net_config_connect_timeout_ms(n->cfg);
    uint64_t deadline = ms ? eryx__net_now_ns() + ms * 1000000u : 0;
    int32_t last = -ERYX__WASI_EHOSTUNREACH;
    for (size_t i = 0; i < count; i++) {
        char text[64];
        eryx__ip_format(&addrs[i], text);
        conn *c = eryx__conn_new(n, &addrs[i], port, name);
        if (!c) return eryx__net_fail(n, ERYX__WASI_ENOMEM, "network: no memory for a connection");
        uint16_t e = eryx__conn_start(c);
        while (!e && c->state == CONN_CONNECTING && !nonblock) {
            struct pollfd p = {.fd = c->sock, .events = POLLOUT};
            uint64_t left = UINT64_MAX;
            if (deadline) {
                uint64_t now = eryx__net_now_ns();
                if (now >= deadline) {
                    eryx__conn_free(c);
                    return eryx__net_fail(n, ERYX__WASI_ETIMEDOUT,
                                          "network: connecting to %s (%s) port %u timed out after %llu ms",
                                          name ? name : text, text, port, (unsigned long long)ms);
                }
                left = deadline - now;
            }
            int w = n->wait(n->wait_user, &p, 1, left);
            if (w < 0) {
                eryx__conn_free(c);
                return eryx__net_fail(n, (uint16_t)-w, "network: connecting to %s was interrupted", text);
            }
            eryx__conn_check_connect(c);
            if (c->state == CONN_FAILED) e = c->error;
        }
        if (!e) return eryx__conn_register(c, nonblock);
        eryx__conn_free(c);
        last = eryx__net_fail(n, e, "network: connecting to %s (%s) port %u failed (WASI errno %u)", name ? name : text,
                              text, port, e);
    }
    return last;
}

int32_t eryx__net_abi_connect(eryx__net *n, const uint8_t *name, size_t name_len, const uint8_t *addr, size_t addr_len,
                              int32_t port, int32_t flags) {
    if (port <= 0 || port > 65535) return eryx__net_fail(n, ERYX__WASI_EINVAL, "network: port %d is not valid", port);
    if (flags & ~7 || (flags & 6) == 6) return eryx__net_fail(n, ERYX__WASI_EINVAL, "network: bad connect flags");
    uint32_t max = eryx__net_config_max_connections(n->cfg);
    if (n->nconns >= max)
        return eryx__net_fail(n, ERYX__WASI_EMFILE,
                              "network: at most %u connections may be open at once in this sandbox "
                              "(eryx_builder_net_set_limits' max_connections)",
                              max);
    int family = flags & 2 ? 4 : flags & 4 ? 6 : 0;
    char host[ERYX__NET_MAX_NAME + 1];
    bool has_name = name_len > 0;
    if (has_name && !take_name(n, name, name_len, host)) return -ERYX__WASI_EINVAL;
    eryx__ip addrs[ERYX__NET_MAX_ADDRS];
    size_t count = 0;
    if (addr_len) {
        eryx__ip ip;
        if (addr_len > 64 || !eryx__ip_parse((const char *)addr, addr_len, &ip))
            return eryx__net_fail(n, ERYX__WASI_EINVAL, "network: the address is not an IP address");
        char text[64];
        eryx__ip_format(&ip, text);
        if ((family == 4 && ip.family != 4) || (family == 6 && ip.family != 6))
            return eryx__net_fail(n, ERYX__WASI_EAFNOSUPPORT, "network: %s is not an IPv%d address", text, family);
        eryx__errbuf why;
        eryx__ip lit = {0};
        if (has_name && !eryx__ip_parse(host, strlen(host), &lit)) {
            /* "To name": name must have resolved to ip here, and both pass. */
            if (!remembered(n, host, &ip)) {
                n->stats.refused++;
                return eryx__net_fail(n, ERYX__WASI_EACCES,
                                      "network: %s is not an address '%s' resolved to in this sandbox", text, host);
            }
            if (!eryx__net_allow_name(n->cfg, host, &why) || !eryx__net_allow_addr(n->cfg, host, &ip, &why))
                return refuse(n, &why);
        } else {
            if (has_name && !ip_eq(&lit, &ip)) {
                n->stats.refused++;
                return eryx__net_fail(n, ERYX__WASI_EACCES, "network: the name %s and the address %s differ", host,
                                      text);
            }
            has_name = false;
            if (!eryx__net_allow_name(n->cfg, text, &why) || !eryx__net_allow_addr(n->cfg, NULL, &ip, &why))
                return refuse(n, &why);
        }
        addrs[count++] = ip;
    } else if (has_name) {
        int32_t r = allowed_addrs(n, host, family, addrs, &count);
        if (r < 0) return r;
        eryx__ip lit;
        if (eryx__ip_parse(host, strlen(host), &lit)) has_name = false; /* a literal: "to an address" */
    } else {
        return eryx__net_fail(n, ERYX__WASI_EINVAL, "network: net_connect needs a name or an address");
    }
    return connect_addrs(n, has_name ? host : NULL, addrs, count, (uint16_t)port, flags & 1);
}

/* ---- TLS, info, error ------------------------------------------------------------------- */

/* Fills o from the guest's JSON options (strings point into root). */
static bool parse_tls_opts(json_t *root, eryx__tls_opts *o, uint8_t *alpn, size_t *alpn_len) {
    memset(o, 0, sizeof *o);
    if (!json_is_object(root)) return false;
    json_t *v = json_object_get(root, "server_name");
    if (v && json_is_string(v)) o->server_name = json_string_value(v);
    else if (v && !json_is_null(v)) return false;
    o->verify = json_is_true(json_object_get(root, "verify"));
    o->check_hostname = json_is_true(json_object_get(root, "check_hostname"));
    v = json_object_get(root, "cadata");
    if (v && json_is_string(v)) {
        o->cadata = (const uint8_t *)json_string_value(v);
        o->cadata_len = json_string_length(v);
    } else if (v && !json_is_null(v)) {
        return false;
    }
    v = json_object_get(root, "alpn");
    *alpn_len = 0;
    if (v && json_is_array(v)) {
        size_t i;
        json_t *p;
        json_array_foreach(v, i, p) {
            size_t l = json_is_string(p) ? json_string_length(p) : 0;
            if (l == 0 || l > 255 || *alpn_len + 1 + l > ALPN_MAX) return false;
            alpn[(*alpn_len)++] = (uint8_t)l;
            memcpy(alpn + *alpn_len, json_string_value(p), l);
            *alpn_len += l;
        }
        o->alpn = *alpn_len ? alpn : NULL;
        o->alpn_len = *alpn_len;
    } else if (v && !json_is_null(v)) {
        return false;
    }
    /* ssl.TLSVersion's values are the protocol's (0x0303 TLS 1.2, 0x0304 TLS 1.3);
    ** MINIMUM_SUPPORTED and MAXIMUM_SUPPORTED (negative) mean the defaults. */
    json_int_t lo = json_integer_value(json_object_get(root, "min_version"));
    json_int_t hi = json_integer_value(json_object_get(root, "max_version"));
    o->min_version = lo > 0 && lo <= 0xffff ? (int)lo : 0;
    o->max_version = hi > 0 && hi <= 0xffff ? (int)hi : 0;
    return true;
}

int32_t eryx__net_abi_tls(eryx__net *n, int32_t fd, const uint8_t *opts, size_t opts_len) {
    bool nonblock = false;
    conn *c = fd < 0 ? NULL : eryx__wasi_stream_get(n->wasi, (uint32_t)fd, &eryx__conn_ops, &nonblock);
    if (!c) return eryx__net_fail(n, ERYX__WASI_EBADF, "network: fd %d is not a connection", fd);
    eryx__conn_check_connect(c); /* a non-blocking connect may have ended since */
    if (c->state == CONN_CONNECTING)
        return eryx__net_fail(n, ERYX__WASI_ENOTCONN,
                              "network: fd %d is still connecting: TLS starts once it polls writable", fd);
    if (c->tls || c->state != CONN_OPEN) return eryx__conn_tls(c, NULL, nonblock);
    if (opts_len > OPTS_MAX) return eryx__net_fail(n, ERYX__WASI_EINVAL, "network: the TLS options are too large");
    json_error_t jerr;
    json_t *root = json_loadb((const char *)opts, opts_len, JSON_REJECT_DUPLICATES, &jerr);
    uint8_t *alpn = malloc(ALPN_MAX);
    eryx__tls_opts o;
    size_t alpn_len = 0;
    int32_t r;
    if (!alpn) r = eryx__net_fail(n, ERYX__WASI_ENOMEM, "network: no memory for the TLS options");
    else if (!root || !parse_tls_opts(root, &o, alpn, &alpn_len))
        r = eryx__net_fail(n, ERYX__WASI_EINVAL, "network: the TLS options are not valid");
    else r = eryx__conn_tls(c, &o, nonblock);
    free(alpn);
    json_decref(root);
    return r;
}

static json_t *addr_json(const struct sockaddr_storage *ss) {
    char text[INET6_ADDRSTRLEN] = "";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sa = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &sa->sin_addr, text, sizeof text);
        port = ntohs(sa->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sa = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &sa->sin6_addr, text, sizeof text);
        port = ntohs(sa->sin6_port);
    } else {
        return json_null();
    }
    return json_pack("[si]", text, port);
}

int32_t eryx__net_abi_info(eryx__net *n, int32_t fd, uint8_t *out, size_t cap) {
    conn *c = fd < 0 ? NULL : eryx__wasi_stream_get(n->wasi, (uint32_t)fd, &eryx__conn_ops, NULL);
    if (!c) return eryx__net_fail(n, ERYX__WASI_EBADF, "network: fd %d is not a connection", fd);
    eryx__conn_check_connect(c);
    char peer[64];
    eryx__ip_format(&c->peer, peer);
    struct sockaddr_storage local;
    socklen_t sl = sizeof local;
    memset(&local, 0, sizeof local);
    if (getsockname(c->sock, (struct sockaddr *)&local, &sl) != 0) local.ss_family = AF_UNSPEC;
    int error = c->state == CONN_CONNECTING ? ERYX__WASI_EINPROGRESS : c->state == CONN_FAILED ? c->error : 0;
    json_t *tls = json_null();
    if (c->tls && c->state == CONN_TLS) {
        char *t = eryx__tls_info_json(c->tls);
        json_error_t jerr;
        json_t *parsed = t ? json_loads(t, 0, &jerr) : NULL;
        free(t);
        if (parsed) {
            json_decref(tls);
            tls = parsed;
        }
    }
    json_t *o = json_pack("{s:[si],s:o,s:s?,s:i,s:o}", "peer", peer, (int)c->port, "local", addr_json(&local), "name",
                          c->name, "error", error, "tls", tls);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) return eryx__net_fail(n, ERYX__WASI_ENOMEM, "network: no memory for net_info");
    int32_t r = give(text, strlen(text), out, cap);
    free(text);
    return r;
}

int32_t eryx__net_abi_error(eryx__net *n, uint8_t *out, size_t cap) {
    return give(n->err.msg, strlen(n->err.msg), out, cap);
}
