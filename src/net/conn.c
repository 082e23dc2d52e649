/*
** One connection (conn_int.h): a non-blocking, close-on-exec TCP socket connected
** to the address the policy checked, its state (connecting, open, TLS handshake,
** TLS, failed), its TLS session, its secret filters, and its two bounded buffers;
** and the stream ops the WASI host calls for the connection's fd (never waiting:
** ready() names what to wait for, and the WASI host waits, sliced and stoppable).
** Reads go socket/TLS -> secrets (inbound mask) -> the guest; writes go the guest
** -> secrets (placeholder substitution) -> TLS/socket. Bytes the filters hold back
** are flushed before any wait to read and on shutdown and close.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "conn_int.h"
#include "../wasi/wasi_abi.h"

uint64_t eryx__net_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint16_t eryx__net_wasi_errno(int e) {
    switch (e) {
    case ECONNREFUSED: return ERYX__WASI_ECONNREFUSED;
    case ECONNRESET: return ERYX__WASI_ECONNRESET;
    case ECONNABORTED: return ERYX__WASI_ECONNABORTED;
    case ETIMEDOUT: return ERYX__WASI_ETIMEDOUT;
    case EHOSTUNREACH: return ERYX__WASI_EHOSTUNREACH;
    case ENETUNREACH: return ERYX__WASI_ENETUNREACH;
    case ENETDOWN: return ERYX__WASI_ENETDOWN;
    case ENETRESET: return ERYX__WASI_ENETRESET;
    case EPIPE: return ERYX__WASI_EPIPE;
    case EADDRNOTAVAIL: return ERYX__WASI_EADDRNOTAVAIL;
    case EADDRINUSE: return ERYX__WASI_EADDRINUSE;
    case EAFNOSUPPORT: return ERYX__WASI_EAFNOSUPPORT;
    case ENOTCONN: return ERYX__WASI_ENOTCONN;
    case EAGAIN: return ERYX__WASI_EAGAIN;
    case EINPROGRESS: return ERYX__WASI_EINPROGRESS;
    case ENOMEM:
    case ENOBUFS: return ERYX__WASI_ENOMEM;
    case EMFILE:
    case ENFILE: return ERYX__WASI_ENFILE; /* the host's table, not the guest's limit */
    case EACCES:
    case EPERM: return ERYX__WASI_EACCES;
    default: return ERYX__WASI_EIO;
    }
}

int32_t eryx__net_fail(eryx__net *n, uint16_t wasi_errno, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->err.msg, sizeof n->err.msg, fmt, ap);
    va_end(ap);
    return -(int32_t)wasi_errno;
}

const char *eryx__conn_host(const conn *c, char buf[64]) {
    if (c->name) return c->name;
    eryx__ip_format(&c->peer, buf);
    return buf;
}

/* ---- secret filters (secrets.c; a NULL stream copies bytes through) ------------- */

static uint16_t sec_out(conn *c, const uint8_t *p, size_t len, eryx__bytes *out) {
    eryx__errbuf err;
    int e = eryx__secret_out(c->sec, p, len, out, &err);
    if (e == ERYX__SECRET_EACCES) {
        eryx__net_fail(c->net, ERYX__WASI_EACCES, "%s", err.msg);
        return ERYX__WASI_EACCES;
    }
    return e ? ERYX__WASI_ENOMEM : 0;
}
static uint16_t sec_out_flush(conn *c, eryx__bytes *out) {
    return eryx__secret_out_flush(c->sec, out) ? ERYX__WASI_ENOMEM : 0;
}
static bool sec_in(conn *c, const uint8_t *p, size_t len, eryx__bytes *out) {
    return eryx__secret_in(c->sec, p, len, out) == 0;
}
static bool sec_in_flush(conn *c, eryx__bytes *out) { return eryx__secret_in_flush(c->sec, out) == 0; }

/* ---- lifecycle --------------------------------------------------------------------- */

conn *eryx__conn_new(eryx__net *n, const eryx__ip *ip, uint16_t port, const char *name) {
    conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->net = n;
    c->sock = -1;
    c->peer = *ip;
    c->port = port;
    if (name && !(c->name = strdup(name))) {
        free(c);
        return NULL;
    }
    if (n->secrets) {
        /* Secrets follow the connection's host: its name, or the address's text. */
        char text[64];
        if (!(c->sec = eryx__secret_stream_new(n->secrets, eryx__conn_host(c, text)))) {
            free(c->name);
            free(c);
            return NULL;
        }
    }
    return c;
}

void eryx__conn_free(conn *c) {
    if (!c) return;
    eryx__tls_free(c->tls);
    if (c->sock >= 0) close(c->sock);
    eryx__secret_stream_free(c->sec);
    free(c->tls_host);
    eryx__bytes_free(&c->in);
    eryx__bytes_free(&c->out);
    free(c->name);
    free(c);
}

uint16_t eryx__conn_start(conn *c) {
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    if (c->peer.family == 4) {
        struct sockaddr_in *sa = (struct sockaddr_in *)&ss;
        sa->sin_family = AF_INET;
        sa->sin_port = htons(c->port);
        memcpy(&sa->sin_addr, c->peer.b, 4);
        sl = sizeof *sa;
    } else {
        struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&ss;
        sa->sin6_family = AF_INET6;
        sa->sin6_port = htons(c->port);
        memcpy(&sa->sin6_addr, c->peer.b, 16);
        sa->sin6_scope_id = c->peer.scope;
        sl = sizeof *sa;
    }
    if (c->sock >= 0) close(c->sock);
    c->sock = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->sock < 0) return eryx__net_wasi_errno(errno);
    int one = 1;
    setsockopt(c->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* request/response traffic */
    int r;
    do r = connect(c->sock, (struct sockaddr *)&ss, sl);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
        c->state = CONN_OPEN;
        return 0;
    }
    if (errno == EINPROGRESS) {
        c->state = CONN_CONNECTING;
        return 0;
    }
    uint16_t e = eryx__net_wasi_errno(errno);
    close(c->sock);
    c->sock = -1;
    return e;
}

void eryx__conn_check_connect(conn *c) {
    if (c->state != CONN_CONNECTING) return;
    struct pollfd p = {.fd = c->sock, .events = POLLOUT};
    if (poll(&p, 1, 0) <= 0) return;
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(c->sock, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) soerr = errno;
    if (soerr == 0) {
        c->state = CONN_OPEN;
        return;
    }
    c->state = CONN_FAILED;
    c->error = eryx__net_wasi_errno(soerr);
    char host[64];
    eryx__net_fail(c->net, c->error, "network: connecting to %s port %u failed: %s", eryx__conn_host(c, host), c->port,
                   strerror(soerr));
}

/* ---- the wire: the socket, or TLS over it ------------------------------------------ */

/* Sends what c->out holds; 0 when it is all gone or the socket is full, else the
** WASI errno that ended the connection's writing (kept in wr_err). */
static uint16_t flush_out(conn *c) {
    while (c->out_off < c->out.len && !c->wr_err) {
        const uint8_t *p = c->out.p + c->out_off;
        size_t len = c->out.len - c->out_off;
        ptrdiff_t r;
        if (c->tls) {
            eryx__errbuf err;
            r = eryx__tls_write(c->tls, p, len, &err);
            if (r == ERYX__TLS_WANT_READ || r == ERYX__TLS_WANT_WRITE) {
                c->tls_want = (int)r;
                return 0;
            }
            if (r < 0) {
                c->wr_err = ERYX__WASI_EPROTO;
                eryx__net_fail(c->net, c->wr_err, "network: TLS write failed: %s", err.msg);
                break;
            }
        } else {
            r = send(c->sock, p, len, MSG_NOSIGNAL);
            if (r < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
                c->wr_err = eryx__net_wasi_errno(errno);
                eryx__net_fail(c->net, c->wr_err, "network: sending failed: %s", strerror(errno));
                break;
            }
        }
        c->out_off += (size_t)r;
        c->net->stats.bytes_sent += (uint64_t)r;
    }
    if (c->out_off >= c->out.len) {
        c->out.len = c->out_off = 0;
        if (c->shut_wr && !c->shut_wr_done && !c->wr_err) {
            /* A half-close asked for while bytes were still held: now. */
            if (c->tls) eryx__tls_close_notify(c->tls);
            shutdown(c->sock, SHUT_WR);
            c->shut_wr_done = true;
        }
    }
    return c->wr_err;
}

/* Flushes everything held back, the filters' partial placeholders included (the
** guest is about to wait for an answer to what it sent). */
static void flush_all(conn *c) {
    if (c->state != CONN_OPEN && c->state != CONN_TLS) return;
    if (!c->wr_err) {
        uint16_t e = sec_out_flush(c, &c->out);
        if (e) c->wr_err = e;
    }
    flush_out(c);
}

/* Reads at most cap bytes from the wire (socket or TLS) into dst: the count, 0 at
** the end of the stream, or -1 when nothing is there yet (tls_want set) or on an
** error (rd_err set). */
static ptrdiff_t wire_read(conn *c, uint8_t *dst, size_t cap) {
    for (;;) {
        if (c->tls) {
            eryx__errbuf err;
            ptrdiff_t r = eryx__tls_read(c->tls, dst, cap, &err);
            if (r == ERYX__TLS_WANT_READ || r == ERYX__TLS_WANT_WRITE) {
                c->tls_want = (int)r;
                return -1;
            }
            if (r < 0) {
                c->rd_err = ERYX__WASI_EPROTO;
                eryx__net_fail(c->net, c->rd_err, "network: TLS read failed: %s", err.msg);
                return -1;
            }
            return r;
        }
        ptrdiff_t r = recv(c->sock, dst, cap, 0);
        if (r >= 0) return r;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            c->rd_err = eryx__net_wasi_errno(errno);
            eryx__net_fail(c->net, c->rd_err, "network: receiving failed: %s", strerror(errno));
        }
        return -1;
    }
}

/* Reads one chunk from the wire into c->in (through the inbound filter) when c->in
** is empty; sets eof or rd_err at the end. */
static void fill_in(conn *c) {
    if (c->in_off < c->in.len || c->eof || c->rd_err || c->shut_rd) return;
    c->in.len = c->in_off = 0;
    uint8_t buf[ERYX__NET_CHUNK];
    ptrdiff_t r = wire_read(c, buf, sizeof buf);
    if (r < 0) return;
    if (r == 0) {
        c->eof = true;
        if (!sec_in_flush(c, &c->in)) c->rd_err = ERYX__WASI_ENOMEM;
        return;
    }
    c->net->stats.bytes_received += (uint64_t)r;
    if (!sec_in(c, buf, (size_t)r, &c->in)) c->rd_err = ERYX__WASI_ENOMEM;
}

/* One handshake step: 0 done, EAGAIN (tls_want says which way), or an errno
** (-1000's case is the caller's: ERYX__TLS_VERIFY comes back as EACCES here). */
static int tls_step(conn *c, eryx__errbuf *err) {
    int r = eryx__tls_handshake(c->tls, err);
    if (r == ERYX__TLS_OK) {
        c->state = CONN_TLS;
        c->tls_want = 0;
        if (eryx__secret_stream_set_peer(c->sec, c->tls_host, c->tls_verified) != 0) {
            c->state = CONN_FAILED;
            c->error = ERYX__WASI_ENOMEM;
            return ERYX__WASI_ENOMEM;
        }
        return 0;
    }
    if (r == ERYX__TLS_WANT_READ || r == ERYX__TLS_WANT_WRITE) {
        c->tls_want = r;
        return ERYX__WASI_EAGAIN;
    }
    c->state = CONN_FAILED;
    c->error = r == ERYX__TLS_VERIFY ? ERYX__WASI_EACCES : ERYX__WASI_EPROTO;
    return r == ERYX__TLS_VERIFY ? -1 : ERYX__WASI_EPROTO;
}

/* Where c stands before a read or write: 0 usable, else the errno to return. */
static uint16_t usable(conn *c) {
    eryx__conn_check_connect(c);
    switch (c->state) {
    case CONN_CONNECTING: return ERYX__WASI_EAGAIN;
    case CONN_FAILED: return c->error ? c->error : ERYX__WASI_EIO;
    case CONN_TLS_HANDSHAKE: {
        eryx__errbuf err;
        int r = tls_step(c, &err);
        return r == 0 ? 0 : r < 0 ? ERYX__WASI_EACCES : (uint16_t)r;
    }
    default: return 0;
    }
}

/* ---- the stream ops ------------------------------------------------------------------ */

static int64_t op_read(void *stream, void *buf, size_t len) {
    conn *c = stream;
    uint16_t e = usable(c);
    if (e) return -(int64_t)e;
    flush_all(c);
    if (!c->sec && c->in_off >= c->in.len && !c->eof && !c->rd_err && !c->shut_rd && len > 0) {
        /* No secrets: nothing must see the bytes first, so they go straight into the
        ** guest's buffer (its own memory: no host buffer, no copy, any size). */
        ptrdiff_t r = wire_read(c, buf, len);
        if (r > 0) c->net->stats.bytes_received += (uint64_t)r;
        if (r == 0) c->eof = true;
        if (r >= 0) return (int64_t)r;
        return c->rd_err ? -(int64_t)c->rd_err : -ERYX__WASI_EAGAIN;
    }
    fill_in(c);
    if (c->in_off < c->in.len) {
        size_t n = c->in.len - c->in_off;
        if (n > len) n = len;
        memcpy(buf, c->in.p + c->in_off, n);
        c->in_off += n;
        return (int64_t)n;
    }
    if (c->rd_err) return -(int64_t)c->rd_err;
    if (c->eof || c->shut_rd) return 0;
    return -ERYX__WASI_EAGAIN;
}

static int64_t op_write(void *stream, const void *buf, size_t len) {
    conn *c = stream;
    uint16_t e = usable(c);
    if (e) return -(int64_t)e;
    if (c->shut_wr) return -ERYX__WASI_EPIPE;
    if (flush_out(c)) return -(int64_t)c->wr_err;
    if (c->out_off < c->out.len) return -ERYX__WASI_EAGAIN; /* the last chunk is still going */
    if (len == 0) return 0;
    size_t take = len < ERYX__NET_CHUNK ? len : ERYX__NET_CHUNK;
    c->out.len = c->out_off = 0;
    if ((e = sec_out(c, buf, take, &c->out))) {
        if (e == ERYX__WASI_EACCES) c->net->stats.refused++;
        return -(int64_t)e;
    }
    flush_out(c); /* a failure shows on the next call; these bytes were taken */
    return (int64_t)take;
}

/* The socket's events for the way TLS (or the socket) must move next. */
static short wire_events(const conn *c, short plain) {
    if (c->tls && c->tls_want == ERYX__TLS_WANT_READ) return POLLIN;
    if (c->tls && c->tls_want == ERYX__TLS_WANT_WRITE) return POLLOUT;
    return plain;
}

static bool op_ready(void *stream, bool for_write, struct pollfd *p) {
    conn *c = stream;
    eryx__conn_check_connect(c);
    p->fd = c->sock;
    p->revents = 0;
    switch (c->state) {
    case CONN_FAILED: return true;
    case CONN_CONNECTING: p->events = POLLOUT; return false;
    case CONN_TLS_HANDSHAKE: {
        /* The guest drives the handshake (net_tls); until it ends, the socket's own
        ** readiness is what a select of the fd means. */
        p->events = for_write ? POLLOUT : POLLIN;
        struct pollfd q = *p;
        return poll(&q, 1, 0) > 0;
    }
    default: break;
    }
    if (for_write) {
        if (c->shut_wr || c->wr_err) return true;
        flush_out(c);
        if (c->out_off >= c->out.len) return true;
        p->events = wire_events(c, POLLOUT);
        return false;
    }
    flush_all(c);
    fill_in(c);
    if (c->in_off < c->in.len || c->eof || c->rd_err || c->shut_rd) return true;
    p->events = wire_events(c, (short)(POLLIN | (c->out_off < c->out.len ? POLLOUT : 0)));
    return false;
}

static uint16_t op_shutdown(void *stream, int how) {
    conn *c = stream;
    eryx__conn_check_connect(c);
    if (c->state == CONN_CONNECTING || c->state == CONN_FAILED) return ERYX__WASI_ENOTCONN;
    if (how & 2 && !c->shut_wr) {
        flush_all(c);
        c->shut_wr = true;
        flush_out(c); /* shuts the sending side down once nothing is held */
    }
    if (how & 1 && !c->shut_rd) {
        c->shut_rd = true;
        shutdown(c->sock, SHUT_RD);
    }
    return 0;
}

static void op_close(void *stream) {
    conn *c = stream;
    eryx__net *n = c->net;
    flush_all(c); /* best effort: a blocking write already waited for its bytes */
    if (c->tls && c->state == CONN_TLS) eryx__tls_close_notify(c->tls);
    if (c->prev) c->prev->next = c->next;
    else n->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    n->nconns--;
    eryx__conn_free(c);
}

const eryx__wasi_stream_ops eryx__conn_ops = {
    .read = op_read, .write = op_write, .ready = op_ready, .shutdown = op_shutdown, .close = op_close};

int32_t eryx__conn_register(conn *c, bool nonblock) {
    eryx__net *n = c->net;
    uint64_t io_ms = eryx__net_config_io_timeout_ms(n->cfg);
    int32_t fd = eryx__wasi_add_stream(n->wasi, &eryx__conn_ops, c, io_ms * 1000000u, nonblock);
    if (fd < 0) {
        eryx__conn_free(c);
        return eryx__net_fail(n, (uint16_t)-fd, "network: the guest has too many open files");
    }
    c->next = n->conns;
    if (n->conns) n->conns->prev = c;
    n->conns = c;
    n->nconns++;
    n->stats.connections++;
    return fd;
}

/* ---- TLS ----------------------------------------------------------------------------- */

int32_t eryx__conn_tls(conn *c, const eryx__tls_opts *opts, bool nonblock) {
    eryx__net *n = c->net;
    eryx__errbuf err;
    eryx__conn_check_connect(c);
    if (c->state == CONN_TLS) return 0;
    if (c->state == CONN_FAILED && c->tls)
        return eryx__net_fail(n, ERYX__WASI_EPROTO, "network: the TLS handshake already failed on this connection");
    if (c->state == CONN_OPEN) {
        if (!opts) return eryx__net_fail(n, ERYX__WASI_EINVAL, "network: net_tls needs its options the first time");
        if (c->in_off < c->in.len)
            return eryx__net_fail(n, ERYX__WASI_EPROTO, "network: bytes were received before TLS started");
        flush_all(c);
        if (!n->tls_ctx) {
            const void *const *roots = NULL;
            const size_t *lens = NULL;
            size_t nroots = eryx__net_config_roots(n->cfg, &roots, &lens);
            n->tls_ctx = eryx__tls_ctx_new(eryx__net_config_system_roots(n->cfg), roots, lens, nroots, &err);
            if (!n->tls_ctx) return eryx__net_fail(n, ERYX__WASI_EIO, "network: TLS is not available: %s", err.msg);
        }
        /* The name the certificate is checked against, for the secret filters. */
        free(c->tls_host); /* a start that failed before may have left one */
        c->tls_host = NULL;
        if (opts->check_hostname && opts->server_name && !(c->tls_host = strdup(opts->server_name)))
            return eryx__net_fail(n, ERYX__WASI_ENOMEM, "network: no memory for TLS");
        c->tls_verified = opts->verify;
        if (!(c->tls = eryx__tls_new(n->tls_ctx, c->sock, opts, &err))) {
            free(c->tls_host);
            c->tls_host = NULL;
            return eryx__net_fail(n, ERYX__WASI_EPROTO, "network: TLS could not start: %s", err.msg);
        }
        c->state = CONN_TLS_HANDSHAKE;
    }
    if (c->state != CONN_TLS_HANDSHAKE)
        return eryx__net_fail(n, ERYX__WASI_ENOTCONN, "network: the connection is not established");
    uint64_t io_ms = eryx__net_config_io_timeout_ms(n->cfg);
    uint64_t deadline = io_ms ? eryx__net_now_ns() + io_ms * 1000000u : 0;
    for (;;) {
        /* Held plaintext from before cannot exist (checked above); what the
        ** handshake writes goes through OpenSSL itself. */
        int r = tls_step(c, &err);
        char host[64];
        if (r == 0) return 0;
        if (r < 0) {
            eryx__net_fail(n, ERYX__WASI_EACCES, "network: the certificate of %s was refused: %s",
                           eryx__conn_host(c, host), err.msg);
            return -1000;
        }
        if (r != ERYX__WASI_EAGAIN)
            return eryx__net_fail(n, (uint16_t)r, "network: the TLS handshake with %s failed: %s",
                                  eryx__conn_host(c, host), err.msg);
        if (nonblock) return c->tls_want == ERYX__TLS_WANT_WRITE ? 2 : 1;
        struct pollfd p = {.fd = c->sock, .events = c->tls_want == ERYX__TLS_WANT_WRITE ? POLLOUT : POLLIN};
        uint64_t left = UINT64_MAX;
        if (deadline) {
            uint64_t now = eryx__net_now_ns();
            if (now >= deadline)
                return eryx__net_fail(n, ERYX__WASI_ETIMEDOUT, "network: the TLS handshake with %s timed out",
                                      eryx__conn_host(c, host));
            left = deadline - now;
        }
        int w = n->wait(n->wait_user, &p, 1, left);
        if (w < 0) return eryx__net_fail(n, (uint16_t)-w, "network: the TLS handshake was interrupted");
    }
}
