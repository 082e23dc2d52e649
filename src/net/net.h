/*
** The network subsystem: what a sandbox's guest may reach, how the host reaches it,
** and the secrets it may use without reading them (docs/NETWORK.md). Who owns what:
**   addr.c     IP literals in every spelling, CIDRs, host globs (pure; fuzzed)
**   policy.c   a builder's network config (eryx__net_config) and the checks
**   resolve.c  names to addresses: c-ares, or the embedder's resolver
**   conn.c     one sandbox's connections (eryx__net): connect, read, write, poll,
**              close, stats; the streams the WASI host sees as socket fds
**   tls.c      the TLS client over a connected socket (OpenSSL)
**   secrets.c  placeholders, outbound substitution, inbound and output scrubbing
** Layering: src/sandbox/ and src/host/ -> this -> src/common/. Nothing here knows
** wasmtime; conn.c reaches the guest only through the WASI host's stream fds.
*/
#ifndef ERYX_NET_H
#define ERYX_NET_H
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../common/errbuf.h"
#include "eryx.h"

/* A growable byte buffer (the filters below append to one). */
typedef struct eryx__bytes {
    uint8_t *p;
    size_t len, cap;
} eryx__bytes;

/* Appends len bytes; false when out of memory (b unchanged). */
static inline bool eryx__bytes_append(eryx__bytes *b, const void *data, size_t len) {
    if (len > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < len) {
            if (cap > SIZE_MAX / 2) return false;
            cap *= 2;
        }
        uint8_t *p = realloc(b->p, cap);
        if (!p) return false;
        b->p = p;
        b->cap = cap;
    }
    if (len) memcpy(b->p + b->len, data, len);
    b->len += len;
    return true;
}
static inline void eryx__bytes_free(eryx__bytes *b) {
    free(b->p);
    *b = (eryx__bytes){0};
}

/* ---- addresses, networks, host patterns (addr.c) -------------------------------- */

/* An IP address: family 4 (b[0..3]) or 6; scope is an IPv6 zone id (0: none). */
typedef struct eryx__ip {
    uint8_t family;
    uint8_t b[16];
    uint32_t scope;
} eryx__ip;

typedef struct eryx__cidr {
    eryx__ip ip; /* bits past prefix are zero */
    uint8_t prefix;
} eryx__cidr;

/* Formats a refusal into why (NULL: none) with ERYX_ERR_INVALID_ARGUMENT; false, so
** a check can `return eryx__net_refuse(why, ...)`. */
bool eryx__net_refuse(eryx__errbuf *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses an IP literal in every spelling a libc's resolver would accept as one
** (decimal "2130706433", octal "0177.0.0.1", hex "0x7f.1", short forms "127.1",
** IPv6 with an optional "%zone" and optional brackets); an IPv4-mapped or
** -compatible IPv6 address comes back as the IPv4 address it carries. len bytes
** of s (no NUL needed). False when s is not an IP literal. */
bool eryx__ip_parse(const char *s, size_t len, eryx__ip *out);
/* The canonical text of ip ("127.0.0.1", "::1"), NUL-terminated; its length. */
size_t eryx__ip_format(const eryx__ip *ip, char out[64]);
/* Parses "addr/prefix" (a bare address: a host route); false when malformed. */
bool eryx__cidr_parse(const char *s, eryx__cidr *out);
bool eryx__cidr_contains(const eryx__cidr *net, const eryx__ip *ip);
/* Case-insensitive glob: '*' matches any run (dots included), '?' one character;
** a trailing dot of host is ignored. */
bool eryx__host_match(const char *pattern, const char *host);
/* An IPv4-mapped (::ffff:a.b.c.d), -translated (::ffff:0:a.b.c.d) or -compatible
** (::a.b.c.d, but not :: or ::1) IPv6 address becomes the IPv4 address it carries
** (eryx__ip_parse does this; use it on a resolver's answers). */
void eryx__ip_normalize(eryx__ip *ip);
/* A host name: letters, digits, '-', '_', labels of 1..63, at most 253 characters
** (one trailing dot ignored). False with a message naming the offending byte. */
bool eryx__host_name_check(const char *name, size_t len, eryx__errbuf *why);
/* A host pattern: as a host name, plus '*', '?' and ':' (NUL-terminated). */
bool eryx__host_pattern_check(const char *pattern, eryx__errbuf *why);

/* ---- the builder's config (policy.c) -------------------------------------------- */

/* Reference-counted; the builder holds one and each sandbox takes another, so a
** setter on a shared config clones it first (eryx__net_config_mutable). */
typedef struct eryx__net_config eryx__net_config;

eryx__net_config *eryx__net_config_new(void); /* the defaults of eryx_builder_set_network; NULL: no memory */
eryx__net_config *eryx__net_config_ref(eryx__net_config *c);
void eryx__net_config_release(eryx__net_config *c); /* NULL allowed */

/* The config a setter may change: *slot itself when no one else holds it, else a
** copy that replaces it in *slot (the old reference released): a sandbox's config
** never changes under it. NULL when out of memory (*slot unchanged). */
eryx__net_config *eryx__net_config_mutable(eryx__net_config **slot);

/* The setters (of a mutable config): ERYX_OK, or a status with a message naming
** the bad value in err and c unchanged. A host pattern that is an IP literal is
** kept in its canonical text. */
typedef enum { ERYX__NET_ALLOWED_HOSTS, ERYX__NET_BLOCKED_HOSTS, ERYX__NET_INTERNAL_HOSTS } eryx__net_host_list;
eryx_status eryx__net_config_add_host(eryx__net_config *c, eryx__net_host_list list, const char *pattern,
                                      eryx__errbuf *err);
/* A CIDR into blocked_networks (blocked) or allowed_networks. */
eryx_status eryx__net_config_add_network(eryx__net_config *c, bool blocked, const char *cidr, eryx__errbuf *err);
void eryx__net_config_clear_blocked(eryx__net_config *c);
void eryx__net_config_allow_localhost(eryx__net_config *c);
eryx_status eryx__net_config_set_limits(eryx__net_config *c, uint32_t max_connections, uint64_t connect_timeout_ms,
                                        uint64_t io_timeout_ms, eryx__errbuf *err);
/* Copies len bytes of certificates (the caller checked them: eryx__tls_check_certs). */
eryx_status eryx__net_config_add_root(eryx__net_config *c, const void *data, size_t len, eryx__errbuf *err);
void eryx__net_config_set_system_roots(eryx__net_config *c, bool use);
void eryx__net_config_set_resolver(eryx__net_config *c, eryx_resolve_fn fn, void *user);

/* The checks, made on every connection. A name is what the guest asked for (an IP
** literal is checked by its canonical text, eryx__ip_format). Each returns true,
** or false with a message for the guest naming the host, the address and the rule
** ("network policy: host 'x' is not in allowed_hosts"). */
bool eryx__net_allow_name(const eryx__net_config *c, const char *name, eryx__errbuf *why);
/* ip was resolved for name (NULL: the guest gave ip itself, which is then also
** checked as a name by its canonical text). ip is normalized first. Refusals and
** malformed names set why->status to ERYX_ERR_INVALID_ARGUMENT. */
bool eryx__net_allow_addr(const eryx__net_config *c, const char *name, const eryx__ip *ip, eryx__errbuf *why);

/* What the connection layer reads of a config. */
uint32_t eryx__net_config_max_connections(const eryx__net_config *c);
uint64_t eryx__net_config_connect_timeout_ms(const eryx__net_config *c);           /* 0: none */
uint64_t eryx__net_config_io_timeout_ms(const eryx__net_config *c);                /* 0: none */
eryx_resolve_fn eryx__net_config_resolver(const eryx__net_config *c, void **user); /* NULL: c-ares */
bool eryx__net_config_system_roots(const eryx__net_config *c);
/* The added roots (DER or PEM, as given): their count; *data and *lens are the config's. */
size_t eryx__net_config_roots(const eryx__net_config *c, const void *const **data, const size_t **lens);

/* ---- TLS (tls.c) ------------------------------------------------------------------ */

/* True when data is one DER certificate or PEM text with at least one, each
** parsable; else false with a message. */
bool eryx__tls_check_certs(const void *data, size_t len, eryx__errbuf *err);

/* A client context: the roots a sandbox's connections trust (the system's store
** unless turned off, plus the config's). Built once per sandbox, shared by its
** connections. */
typedef struct eryx__tls_ctx eryx__tls_ctx;
eryx__tls_ctx *eryx__tls_ctx_new(bool system_roots, const void *const *roots, const size_t *root_lens, size_t nroots,
                                 eryx__errbuf *err);
void eryx__tls_ctx_free(eryx__tls_ctx *ctx); /* NULL allowed */

/* What the guest's ssl shim asks of one connection. */
typedef struct eryx__tls_opts {
    const char *server_name; /* SNI and the name checked (check_hostname); NULL: none */
    bool verify;             /* verify the chain (CERT_REQUIRED / CERT_OPTIONAL) */
    bool check_hostname;
    const uint8_t *cadata; /* extra roots from the guest (PEM or DER), trusted for this connection only */
    size_t cadata_len;
    const uint8_t *alpn; /* protocols in ALPN wire format (length-prefixed); NULL: none */
    size_t alpn_len;
    int min_version, max_version; /* TLS1_2_VERSION, TLS1_3_VERSION; 0: OpenSSL's defaults */
} eryx__tls_opts;

/* Results of the calls below. WANT_*: call again once the socket is readable or
** writable. ERROR: a protocol or I/O failure, VERIFY: the peer's certificate was
** refused; both with a message in err. */
enum {
    ERYX__TLS_OK = 0,
    ERYX__TLS_WANT_READ = -1,
    ERYX__TLS_WANT_WRITE = -2,
    ERYX__TLS_ERROR = -3,
    ERYX__TLS_VERIFY = -4
};

typedef struct eryx__tls eryx__tls;
/* A TLS client on fd (a connected, non-blocking socket the caller keeps owning). */
eryx__tls *eryx__tls_new(eryx__tls_ctx *ctx, int fd, const eryx__tls_opts *opts, eryx__errbuf *err);
/* One handshake step: ERYX__TLS_OK once done, else WANT_* or an error. */
int eryx__tls_handshake(eryx__tls *t, eryx__errbuf *err);
/* Reads up to len bytes: the count (> 0), 0 at the end of the stream (close_notify,
** or the peer closing the socket), or a negative ERYX__TLS_*. */
ptrdiff_t eryx__tls_read(eryx__tls *t, void *buf, size_t len, eryx__errbuf *err);
/* Writes up to len bytes: the count (> 0) or a negative ERYX__TLS_*. */
ptrdiff_t eryx__tls_write(eryx__tls *t, const void *buf, size_t len, eryx__errbuf *err);
/* Decrypted bytes buffered inside (readable without touching the socket). */
size_t eryx__tls_pending(const eryx__tls *t);
/* Sends close_notify (best effort, never blocks). */
void eryx__tls_close_notify(eryx__tls *t);
/* The session as a JSON object (malloc'd; NULL: no memory): "version", "cipher"
** [name, protocol, bits], "alpn" (or null), "verified", and the peer certificate
** "cert_der" (base64) with "subject", "issuer", "notBefore", "notAfter",
** "serialNumber", "subjectAltName" in the shape ssl.getpeercert() returns. */
char *eryx__tls_info_json(const eryx__tls *t);
void eryx__tls_free(eryx__tls *t); /* NULL allowed; does not close fd */
/* Frees the trust stores the process's contexts share (parsed CA bundles, kept
** for reuse); contexts alive keep theirs. For eryx_shutdown. */
void eryx__tls_shutdown(void);

/* ---- names to addresses (resolve.c) ----------------------------------------------- */

/* The most addresses one name resolves to (the rest are dropped). */
#define ERYX__NET_MAX_ADDRS 32

/* A wait on OS fds, as eryx__wasi_io.wait (src/wasi/wasi.h): the count ready, 0
** after timeout_ns (UINT64_MAX: none), or a negative WASI errno when the
** execution must stop. The sandbox's waits in slices. */
typedef int (*eryx__net_wait_fn)(void *user, struct pollfd *fds, size_t n, uint64_t timeout_ns);

/* Resolves name (a host name, not an IP literal) with the config's resolver, or
** c-ares (the hosts file, then DNS), waiting through wait at most timeout_ns (0:
** c-ares's own tries only). family 0 any, 4, 6. At most cap (<=
** ERYX__NET_MAX_ADDRS) addresses in out, their count in *count. 0, or a WASI
** errno with a message: ENOENT no such name, EAGAIN a temporary failure,
** ETIMEDOUT, EINTR (stopped), ENOMEM. */
int eryx__net_resolve_name(const eryx__net_config *c, const char *name, int family, eryx__ip *out, size_t cap,
                           size_t *count, eryx__net_wait_fn wait, void *wait_user, uint64_t timeout_ns,
                           eryx__errbuf *err);

/* ---- one guest instance's network (conn.c) ----------------------------------------- */

/* The connections, the (name, address) pairs net_resolve returned, the TLS
** context and the execution's stats of one guest instance: made with it and
** freed after its WASI state (which closes the connections' fds first). */
typedef struct eryx__net eryx__net;
struct eryx__wasi;
struct eryx__secret_set;

/* c is referenced; w borrowed (the connections' fds go there); wait is the
** sandbox's. NULL when out of memory. */
eryx__net *eryx__net_new(eryx__net_config *c, struct eryx__wasi *w, eryx__net_wait_fn wait, void *wait_user);
void eryx__net_free(eryx__net *n); /* NULL allowed; after eryx__wasi_free */
/* The instance's placeholders (borrowed, must outlive n; NULL: no secrets). */
void eryx__net_set_secrets(eryx__net *n, const struct eryx__secret_set *set);
/* Per execution: the stats start from zero, and are read at its end. */
void eryx__net_begin(eryx__net *n);
void eryx__net_get_stats(const eryx__net *n, eryx_net_stats *out);
/* How many connections are open. */
size_t eryx__net_open_count(const eryx__net *n);

/* The guest ABI's host side (src/host/host.h says what each import does): host
** pointers already checked against guest memory, valid during the call. Each
** returns what the import returns (negative: a WASI errno). */
int32_t eryx__net_abi_resolve(eryx__net *n, const uint8_t *name, size_t name_len, int32_t family, uint8_t *out,
                              size_t cap);
int32_t eryx__net_abi_connect(eryx__net *n, const uint8_t *name, size_t name_len, const uint8_t *addr, size_t addr_len,
                              int32_t port, int32_t flags);
int32_t eryx__net_abi_tls(eryx__net *n, int32_t fd, const uint8_t *opts, size_t opts_len);
int32_t eryx__net_abi_info(eryx__net *n, int32_t fd, uint8_t *out, size_t cap);
int32_t eryx__net_abi_error(eryx__net *n, uint8_t *out, size_t cap);

/* ---- secrets (secrets.c) ------------------------------------------------------------ */

/* A builder's secrets: names, values, allowed host patterns (docs/NETWORK-SECRETS.md).
** Reference-counted like the config: the builder holds one and each sandbox takes
** another; eryx__secrets_add on a shared one clones it first. */
typedef struct eryx__secrets eryx__secrets;
/* One sandbox's draw of placeholders for them (fresh random per sandbox, kept for
** the sandbox's life: every instance and execution of it sees the same ones). */
typedef struct eryx__secret_set eryx__secret_set;
/* One connection's filters, both directions. */
typedef struct eryx__secret_stream eryx__secret_stream;
/* One output stream's scrubber (stdout, stderr): placeholders and values -> "[REDACTED]". */
typedef struct eryx__secret_scrubber eryx__secret_scrubber;

#define ERYX__SECRET_PREFIX "ERYX_SECRET_" /* every placeholder starts with it, then base62 */
#define ERYX__SECRET_MIN_LEN 32            /* a placeholder's length: max(value's, this) */
#define ERYX__SECRET_MAX_VALUE 65536       /* bytes of one value */
#define ERYX__SECRET_MAX_COUNT 256         /* secrets per builder */
#define ERYX__SECRET_REDACTED "[REDACTED]"
/* Inbound, a tail of a read that spells the first this-many or more bytes of a
** value is held back until the next read completes or refutes it; a shorter one is
** delivered (and its continuation still masked): a server's message that happens to
** end like a value's first bytes cannot stall the guest for long. */
#define ERYX__SECRET_HOLD_MIN 4
/* The WASI errnos the filters return (wasi_abi.h's values; src/net stays below src/wasi). */
#define ERYX__SECRET_EACCES 2
#define ERYX__SECRET_ENOMEM 48

eryx__secrets *eryx__secrets_ref(eryx__secrets *s); /* NULL allowed (returns NULL) */
void eryx__secrets_release(eryx__secrets *s);       /* NULL allowed */
/* Adds (or replaces, by name) a secret in *s, creating the list when *s is NULL and
** cloning it when shared. name: a valid environment variable name
** ([A-Za-z_][A-Za-z0-9_]*); value: 1..ERYX__SECRET_MAX_VALUE bytes; hosts: n
** non-empty patterns (eryx__host_match; n 0: no host). ERYX_OK, or
** ERYX_ERR_INVALID_ARGUMENT / ERYX_ERR_NO_MEMORY with a message in err (*s unchanged). */
eryx_status eryx__secrets_add(eryx__secrets **s, const char *name, const char *value, size_t value_len,
                              const char *const *hosts, size_t n_hosts, eryx__errbuf *err);
size_t eryx__secrets_count(const eryx__secrets *s); /* 0 for NULL */

/* Draws placeholders for secrets (getrandom): "ERYX_SECRET_" + base62, of length
** max(len(value), 32), distinct. The set takes a reference to secrets. NULL with a
** message in err (no memory, no randomness). */
eryx__secret_set *eryx__secret_set_new(eryx__secrets *secrets, eryx__errbuf *err);
void eryx__secret_set_free(eryx__secret_set *set);          /* NULL allowed */
size_t eryx__secret_set_count(const eryx__secret_set *set); /* 0 for NULL */
const char *eryx__secret_set_name(const eryx__secret_set *set, size_t i);
const char *eryx__secret_set_placeholder(const eryx__secret_set *set, size_t i);
/* The guest's environment pairs "NAME=PLACEHOLDER", NUL-separated (no trailing NUL),
** and their total length. */
const char *eryx__secret_set_env(const eryx__secret_set *set, size_t *len);
/* The longest placeholder or value (0 for NULL): a scrubber's context. */
size_t eryx__secret_set_max_len(const eryx__secret_set *set);

/* A connection's filters. set (borrowed, must outlive the stream) may be NULL or
** empty: the filters then copy bytes through. host: the name the connection is to
** (net_connect's name, or the canonical text of the address the guest gave), copied.
** NULL: no memory. The filters below accept a NULL stream (copy through). */
eryx__secret_stream *eryx__secret_stream_new(const eryx__secret_set *set, const char *host);
void eryx__secret_stream_free(eryx__secret_stream *st); /* NULL allowed */
/* TLS started on the connection: host is the name the peer's certificate was checked
** against (NULL: no hostname check), tls_verified whether the chain was verified.
** From then on a secret goes out only when tls_verified, host is non-NULL, and both
** host and the connection's name match its patterns. 0 or ERYX__SECRET_ENOMEM. */
int eryx__secret_stream_set_peer(eryx__secret_stream *st, const char *host, bool tls_verified);

/* Outbound (guest -> network): appends to out the wire bytes of the guest's len
** bytes: each placeholder replaced by its secret's value. A tail that may begin a
** placeholder is held back (the caller reports the whole write as done) until the
** next write or eryx__secret_out_flush (call it before waiting to read, on shutdown
** and on close). Returns 0, ERYX__SECRET_ENOMEM, or ERYX__SECRET_EACCES when the
** bytes carry a placeholder of a secret this connection may not send (the whole
** write is refused: nothing of it is appended, the held tail stays as it was; err
** says which secret, which host and what is allowed). */
int eryx__secret_out(eryx__secret_stream *st, const void *in, size_t len, eryx__bytes *out, eryx__errbuf *err);
int eryx__secret_out_flush(eryx__secret_stream *st, eryx__bytes *out); /* 0 or ERYX__SECRET_ENOMEM */
size_t eryx__secret_out_held(const eryx__secret_stream *st);

/* Inbound (network -> guest): appends to out the guest-visible bytes of len bytes
** read: every occurrence of a value replaced by a mask of the same length (its
** placeholder when of the same length, else a run of a byte found in no value),
** across reads; a tail spelling the first ERYX__SECRET_HOLD_MIN or more bytes of a
** value is held back until the next read or eryx__secret_in_flush (at the end of the
** stream). The concatenated output never contains a value. 0 or ERYX__SECRET_ENOMEM. */
int eryx__secret_in(eryx__secret_stream *st, const void *in, size_t len, eryx__bytes *out);
int eryx__secret_in_flush(eryx__secret_stream *st, eryx__bytes *out);
size_t eryx__secret_in_held(const eryx__secret_stream *st);

/* Output scrubbing: every placeholder and value of set replaced by "[REDACTED]". A
** tail that may begin one is held back until the next call or the flush. set
** borrowed; NULL: no memory. */
eryx__secret_scrubber *eryx__secret_scrubber_new(const eryx__secret_set *set);
void eryx__secret_scrubber_free(eryx__secret_scrubber *sc); /* NULL allowed */
int eryx__secret_scrub(eryx__secret_scrubber *sc, const void *in, size_t len, eryx__bytes *out);
int eryx__secret_scrub_flush(eryx__secret_scrubber *sc, eryx__bytes *out);
/* One-shot scrub of len bytes: appends to out. 0 or ERYX__SECRET_ENOMEM. */
int eryx__secret_scrub_all(const eryx__secret_set *set, const void *in, size_t len, eryx__bytes *out);

#endif
