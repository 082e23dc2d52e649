/*
** The connection layer's private header, shared by conn.c (a connection: its
** socket, buffers, TLS and secret filters, the stream ops the WASI host calls) and
** conn_abi.c (the guest's imports: resolve, connect, tls, info, error). Bounds:
** ERYX__NET_CHUNK bytes are taken from the guest or the socket at a time, and the
** next chunk only once the last one left, so each connection holds O(chunk); a
** read without secrets fills the guest's own buffer directly, of any size.
*/
#ifndef ERYX_NET_CONN_INT_H
#define ERYX_NET_CONN_INT_H
#include "net.h"
#include "../wasi/wasi.h"

#define ERYX__NET_CHUNK 16384
#define ERYX__NET_MAX_NAME 255   /* a DNS name's longest text */
#define ERYX__NET_MAX_PAIRS 1024 /* as many as the guest's socket module remembers */

enum conn_state { CONN_CONNECTING, CONN_OPEN, CONN_TLS_HANDSHAKE, CONN_TLS, CONN_FAILED };

typedef struct conn {
    eryx__net *net;
    struct conn *prev, *next;
    int sock;
    int state;      /* enum conn_state */
    uint16_t error; /* CONN_FAILED: why (a WASI errno) */
    eryx__ip peer;
    uint16_t port;
    char *name;               /* what the guest connected to ("to name"), or NULL: an address */
    eryx__tls *tls;           /* once net_tls started */
    int tls_want;             /* the last ERYX__TLS_WANT_* (which way the socket must move) */
    eryx__secret_stream *sec; /* the connection's secret filters, or NULL (no secrets) */
    char *tls_host;           /* the name TLS checked the certificate against, or NULL */
    bool tls_verified;
    eryx__bytes in, out;     /* guest-visible bytes not read yet; wire bytes not sent yet */
    size_t in_off, out_off;  /* how much of each is consumed */
    uint16_t rd_err, wr_err; /* sticky: the socket's failure each way */
    bool eof, shut_rd, shut_wr, shut_wr_done;
} conn;

typedef struct name_pair {
    char *name; /* normalized: lower case, no trailing dot */
    eryx__ip ip;
} name_pair;

struct eryx__net {
    eryx__net_config *cfg;
    struct eryx__wasi *wasi;
    eryx__net_wait_fn wait;
    void *wait_user;
    const eryx__secret_set *secrets;
    eryx__tls_ctx *tls_ctx; /* built on the first net_tls */
    conn *conns;
    size_t nconns;
    name_pair pairs[ERYX__NET_MAX_PAIRS]; /* a ring: the oldest goes first */
    size_t npairs, next_pair;
    eryx_net_stats stats;
    eryx__errbuf err; /* what net_error returns */
};

extern const eryx__wasi_stream_ops eryx__conn_ops;

uint64_t eryx__net_now_ns(void);
/* A host errno as the guest's WASI errno. */
uint16_t eryx__net_wasi_errno(int e);
/* Records a guest-visible failure: the message for net_error; returns -errno. */
int32_t eryx__net_fail(eryx__net *n, uint16_t wasi_errno, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* conn.c: opens a socket and starts connecting c to (peer, port); 0, or a WASI
** errno (c's socket closed). */
uint16_t eryx__conn_start(conn *c);
/* A new connection object (not yet linked or registered); NULL: no memory. */
conn *eryx__conn_new(eryx__net *n, const eryx__ip *ip, uint16_t port, const char *name);
/* Links c into n and gives it a guest fd: the fd or -errno (c freed on failure). */
int32_t eryx__conn_register(conn *c, bool nonblock);
void eryx__conn_free(conn *c);
/* Whether a connect in progress has ended (state updated). */
void eryx__conn_check_connect(conn *c);
/* net_tls on c: see net.h; opts parsed by the caller. nonblock: the fd's mode. */
int32_t eryx__conn_tls(conn *c, const eryx__tls_opts *opts, bool nonblock);
/* The host's name for c's peer (its name, or the canonical address). */
const char *eryx__conn_host(const conn *c, char buf[64]);

#endif
