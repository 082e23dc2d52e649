/*
** Names to addresses (net.h): the embedder's resolver (eryx_resolve_fn), or
** c-ares reading the hosts file first, then the DNS servers of the system's
** resolv.conf. At most ERYX__NET_MAX_ADDRS addresses, within a time bound.
**
** Why c-ares and not getaddrinfo(3) on a thread: a lookup here runs while the
** guest waits in a host call, and the sandbox's timeout or eryx_sandbox_cancel
** must end that wait within a few ms. getaddrinfo cannot be cancelled: a lookup
** stuck on an unanswering DNS server would leave its thread blocked for the
** resolver's whole retry schedule (and a thread per lookup, or a pool that a
** guest could fill with stuck lookups). c-ares runs on the calling thread over
** non-blocking sockets that this file polls in slices through the sandbox's wait
** (the same one sleep and socket reads use), so a stop ends the lookup at once and
** ares_destroy leaves nothing behind.
*/
#include <arpa/inet.h>
#include <sys/select.h> /* ares.h uses fd_set */
#include <sys/time.h>
#include <ares.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include "net.h"
#include "../wasi/wasi_abi.h"

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_init_status = ARES_ENOTINITIALIZED;
static void ares_init_once(void) { ares_init_status = ares_library_init(ARES_LIB_INIT_ALL); }

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef struct lookup {
    bool done;
    int status;
    int family; /* 0, 4, 6 */
    eryx__ip *out;
    size_t cap, count;
} lookup;

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *res) {
    (void)timeouts;
    lookup *l = arg;
    l->done = true;
    l->status = status;
    for (struct ares_addrinfo_node *n = res ? res->nodes : NULL; n && l->count < l->cap; n = n->ai_next) {
        eryx__ip ip = {0};
        if (n->ai_family == AF_INET && n->ai_addr && (l->family == 0 || l->family == 4)) {
            const struct sockaddr_in *sa = (const struct sockaddr_in *)(const void *)n->ai_addr;
            ip.family = 4;
            memcpy(ip.b, &sa->sin_addr, 4);
        } else if (n->ai_family == AF_INET6 && n->ai_addr && (l->family == 0 || l->family == 6)) {
            const struct sockaddr_in6 *sa = (const struct sockaddr_in6 *)(const void *)n->ai_addr;
            ip.family = 6;
            memcpy(ip.b, &sa->sin6_addr, 16);
            ip.scope = sa->sin6_scope_id;
        } else {
            continue;
        }
        /* What the policy checks is what is dialled: ::ffff:a.b.c.d becomes a.b.c.d here. */
        eryx__ip_normalize(&ip);
        bool dup = false;
        for (size_t i = 0; i < l->count && !dup; i++)
            dup = l->out[i].family == ip.family && !memcmp(l->out[i].b, ip.b, 16) && l->out[i].scope == ip.scope;
        if (!dup) l->out[l->count++] = ip;
    }
    if (res) ares_freeaddrinfo(res);
}

static int ares_errno(int status, const char *name, eryx__errbuf *err) {
    switch (status) {
    case ARES_SUCCESS: return 0;
    case ARES_ENOTFOUND:
    case ARES_ENODATA:
    case ARES_ENONAME:
        eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "network: the name '%s' does not exist", name);
        return ERYX__WASI_ENOENT;
    case ARES_ETIMEOUT:
        eryx__fail(err, ERYX_ERR_TIMEOUT, "network: resolving '%s' timed out", name);
        return ERYX__WASI_ETIMEDOUT;
    case ARES_ENOMEM:
        eryx__fail(err, ERYX_ERR_NO_MEMORY, "network: no memory to resolve '%s'", name);
        return ERYX__WASI_ENOMEM;
    default:
        eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "network: resolving '%s' failed for now: %s", name,
                   ares_strerror(status));
        return ERYX__WASI_EAGAIN;
    }
}

/* c-ares on this thread, its sockets polled through wait until done or deadline. */
static int resolve_ares(const char *name, int family, eryx__ip *out, size_t cap, size_t *count, eryx__net_wait_fn wait,
                        void *wait_user, uint64_t timeout_ns, eryx__errbuf *err) {
    pthread_once(&ares_once, ares_init_once);
    if (ares_init_status != ARES_SUCCESS) return ares_errno(ares_init_status, name, err);
    struct ares_options o = {0};
    o.lookups = (char *)"fb"; /* the hosts file, then DNS */
    o.timeout = 2000;         /* ms per try (ARES_OPT_TIMEOUTMS) */
    o.tries = 2;
    ares_channel ch;
    int st = ares_init_options(&ch, &o, ARES_OPT_LOOKUPS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
    if (st != ARES_SUCCESS) return ares_errno(st, name, err);
    lookup l = {.family = family, .out = out, .cap = cap};
    struct ares_addrinfo_hints hints = {.ai_family = family == 4   ? AF_INET
                                                     : family == 6 ? AF_INET6
                                                                   : AF_UNSPEC,
                                        .ai_socktype = SOCK_STREAM};
    ares_getaddrinfo(ch, name, NULL, &hints, on_addrinfo, &l);
    uint64_t deadline = timeout_ns ? mono_ns() + timeout_ns : 0;
    int rc = 0;
    while (!l.done) {
        ares_socket_t socks[ARES_GETSOCK_MAXNUM];
        /* The bits by hand, unsigned: c-ares's ARES_GETSOCK_WRITABLE shifts a signed 1
        ** by up to 31 places (undefined behaviour, caught by UBSan). */
        unsigned bits = (unsigned)ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
        struct pollfd p[ARES_GETSOCK_MAXNUM];
        size_t np = 0;
        for (unsigned i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
            short ev =
                (short)(((bits >> i) & 1u ? POLLIN : 0) | ((bits >> (i + ARES_GETSOCK_MAXNUM)) & 1u ? POLLOUT : 0));
            if (ev) p[np++] = (struct pollfd){.fd = socks[i], .events = ev};
        }
        struct timeval tv, *tvp = ares_timeout(ch, NULL, &tv);
        uint64_t left = tvp ? (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u : UINT64_MAX;
        if (deadline) {
            uint64_t now = mono_ns();
            if (now >= deadline) {
                rc = ERYX__WASI_ETIMEDOUT;
                eryx__fail(err, ERYX_ERR_TIMEOUT, "network: resolving '%s' timed out", name);
                break;
            }
            if (deadline - now < left) left = deadline - now;
        }
        int r = wait(wait_user, p, np, left);
        if (r < 0) {
            rc = -r;
            eryx__fail(err, ERYX_ERR_CANCELLED, "network: resolving '%s' was interrupted", name);
            break;
        }
        if (r == 0) ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD); /* its timeouts */
        for (size_t i = 0; i < np; i++)
            if (p[i].revents)
                ares_process_fd(ch, p[i].revents & (POLLIN | POLLERR | POLLHUP) ? p[i].fd : ARES_SOCKET_BAD,
                                p[i].revents & (POLLOUT | POLLERR) ? p[i].fd : ARES_SOCKET_BAD);
    }
    /* Ends a lookup still running (its callback runs with ARES_EDESTRUCTION). */
    ares_destroy(ch);
    if (rc) return rc;
    if (l.status == ARES_SUCCESS && l.count == 0) l.status = ARES_ENODATA;
    if ((rc = ares_errno(l.status, name, err))) return rc;
    *count = l.count;
    return 0;
}

/* The embedder's resolver: its answers checked (families, count). */
static int resolve_embedder(eryx_resolve_fn fn, void *user, const char *name, int family, eryx__ip *out, size_t cap,
                            size_t *count, eryx__errbuf *err) {
    eryx_net_addr got[ERYX__NET_MAX_ADDRS];
    size_t n = 0;
    memset(got, 0, sizeof got);
    if (fn(user, name, got, ERYX__NET_MAX_ADDRS, &n) != 0) {
        eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "network: the resolver failed for '%s'", name);
        return ERYX__WASI_EAGAIN;
    }
    if (n > ERYX__NET_MAX_ADDRS) n = ERYX__NET_MAX_ADDRS;
    *count = 0;
    for (size_t i = 0; i < n && *count < cap; i++) {
        eryx__ip ip = {0};
        if (got[i].family == 4 && (family == 0 || family == 4)) {
            ip.family = 4;
            memcpy(ip.b, got[i].addr, 4);
        } else if (got[i].family == 6 && (family == 0 || family == 6)) {
            ip.family = 6;
            memcpy(ip.b, got[i].addr, 16);
        } else {
            continue;
        }
        eryx__ip_normalize(&ip);
        out[(*count)++] = ip;
    }
    if (*count == 0) {
        eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "network: the name '%s' does not exist", name);
        return ERYX__WASI_ENOENT;
    }
    return 0;
}

int eryx__net_resolve_name(const eryx__net_config *c, const char *name, int family, eryx__ip *out, size_t cap,
                           size_t *count, eryx__net_wait_fn wait, void *wait_user, uint64_t timeout_ns,
                           eryx__errbuf *err) {
    *count = 0;
    if (cap > ERYX__NET_MAX_ADDRS) cap = ERYX__NET_MAX_ADDRS;
    void *user = NULL;
    eryx_resolve_fn fn = eryx__net_config_resolver(c, &user);
    if (fn) return resolve_embedder(fn, user, name, family, out, cap, count, err);
    return resolve_ares(name, family, out, cap, count, wait, wait_user, timeout_ns, err);
}
