/*
** The TLS client (net.h) over OpenSSL 3 (docs/NETWORK-TLS.md): the roots a sandbox
** trusts (a context per sandbox, plus a small cache of stores for the guest's own
** cadata), one SSL per connection over the caller's non-blocking socket, and the
** session and peer certificate as JSON in the shape Python's ssl module gives.
*/
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "net.h"

/* What a hostile server can make the host hold (the rest is bounded by OpenSSL:
** records of at most 16 KiB plus overhead, one session kept, no renegotiation): its
** certificate chain (the Certificate message) at most 100 KiB, OpenSSL's default
** made explicit; real chains are under 10 KiB. */
#define MAX_CERT_LIST (100 * 1024)
/* What the guest can make the host parse and keep: cadata of at most 4 MiB
** (certifi's bundle is ~290 KB), and at most 4 parsed cadata stores per sandbox
** holding at most 8 MiB of cadata between them (least recently used goes first). */
#define MAX_CADATA (4u << 20)
#define CADATA_SLOTS 4
#define CADATA_CACHE_BYTES (8u << 20)
/* The guest's names: SNI allows 255 bytes; longer is refused. */
#define MAX_NAME 255

/* A store for one distinct cadata: the context's roots plus the cadata's. */
typedef struct cadata_slot {
    uint8_t *data; /* a copy: the key, compared byte for byte (no hash collisions) */
    size_t len;
    X509_STORE *store;
    uint64_t used; /* the cache's clock at the last hit */
} cadata_slot;

struct eryx__tls_ctx {
    SSL_CTX *ssl;
    BIO_METHOD *bio; /* the socket BIO (below): per context, so no process-wide state */
    bool system_roots;
    pthread_mutex_t lock; /* the cadata cache: connections of a sandbox may share ctx across threads */
    cadata_slot slots[CADATA_SLOTS];
    uint64_t clock;
};

struct eryx__tls {
    SSL *ssl;
    char *name; /* server_name (NULL: none), for messages */
    bool verify, failed, eof;
    size_t wpending; /* a write OpenSSL holds after WANT_WRITE: the retry passes at least this many bytes */
};

/* ---- certificates ------------------------------------------------------------------ */

/* PEM never asks for a passphrase (OpenSSL's default callback reads the terminal). */
static int no_passphrase(char *buf, int size, int rw, void *u) {
    (void)buf, (void)size, (void)rw, (void)u;
    return 0;
}

static const char *last_reason(void) {
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "unknown error";
}

/* Parses data: DER certificates back to back (data starts with an ASN.1 SEQUENCE),
** or PEM text with at least one CERTIFICATE block (other text and blocks are
** skipped, as OpenSSL's and Python's loaders do). NULL with a message naming what. */
static STACK_OF(X509) * load_certs(const void *data, size_t len, const char *what, eryx__errbuf *err) {
    if (!data || !len) return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "%s: empty", what), NULL;
    if (len > INT_MAX) return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "%s: %zu bytes is too long", what, len), NULL;
    STACK_OF(X509) *certs = sk_X509_new_null();
    if (!certs) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "%s: out of memory", what), NULL;
    ERR_clear_error();
    const unsigned char *p = data, *end = p + len;
    if (*p == 0x30) {
        while (p < end) {
            size_t at = (size_t)(p - (const unsigned char *)data);
            X509 *x = d2i_X509(NULL, &p, (long)(end - p));
            if (!x || !sk_X509_push(certs, x)) {
                X509_free(x);
                eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "%s: the DER certificate at byte %zu is not parsable (%s)",
                           what, at, last_reason());
                goto fail;
            }
        }
    } else {
        BIO *bio = BIO_new_mem_buf(data, (int)len);
        if (!bio) {
            eryx__fail(err, ERYX_ERR_NO_MEMORY, "%s: out of memory", what);
            goto fail;
        }
        X509 *x;
        while ((x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)))
            if (!sk_X509_push(certs, x)) {
                X509_free(x);
                break;
            }
        unsigned long e = ERR_peek_last_error();
        BIO_free(bio);
        bool at_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
        if (!at_end || sk_X509_num(certs) == 0) {
            if (at_end)
                eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT,
                           "%s: no certificate found (expected one DER certificate or PEM text with "
                           "-----BEGIN CERTIFICATE-----)",
                           what);
            else
                eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "%s: PEM certificate %d is not parsable (%s)", what,
                           sk_X509_num(certs) + 1, last_reason());
            goto fail;
        }
    }
    ERR_clear_error();
    return certs;
fail:
    ERR_clear_error();
    sk_X509_pop_free(certs, X509_free);
    return NULL;
}

bool eryx__tls_check_certs(const void *data, size_t len, eryx__errbuf *err) {
    STACK_OF(X509) *certs = load_certs(data, len, "root certificate", err);
    sk_X509_pop_free(certs, X509_free);
    return certs != NULL;
}

static bool add_certs(X509_STORE *store, const void *data, size_t len, const char *what, eryx__errbuf *err) {
    STACK_OF(X509) *certs = load_certs(data, len, what, err);
    if (!certs) return false;
    bool ok = true;
    for (int i = 0; ok && i < sk_X509_num(certs); i++) ok = X509_STORE_add_cert(store, sk_X509_value(certs, i)) == 1;
    sk_X509_pop_free(certs, X509_free);
    ERR_clear_error();
    if (!ok) eryx__fail(err, ERYX_ERR_NO_MEMORY, "%s: out of memory adding it to the trust store", what);
    return ok;
}

/* ---- the socket BIO ------------------------------------------------------------------- */

/* OpenSSL's socket BIO writes with write(2), which raises SIGPIPE on a closed peer;
** a library may not, so this one sends with MSG_NOSIGNAL. The fd is the BIO's data. */
static int bio_write(BIO *b, const char *buf, int len) {
    int fd = (int)(intptr_t)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n;
    do n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_write(b);
    return (int)n;
}

static int bio_read(BIO *b, char *buf, int len) {
    int fd = (int)(intptr_t)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n;
    do n = recv(fd, buf, (size_t)len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_read(b);
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)b, (void)num, (void)ptr;
    return cmd == BIO_CTRL_FLUSH; /* unbuffered: nothing to flush; nothing else is supported */
}

static int bio_create(BIO *b) {
    BIO_set_init(b, 1);
    return 1;
}

/* ---- contexts ------------------------------------------------------------------------ */

eryx__tls_ctx *eryx__tls_ctx_new(bool system_roots, const void *const *roots, const size_t *root_lens, size_t nroots,
                                 eryx__errbuf *err) {
    eryx__tls_ctx *c = calloc(1, sizeof *c);
    if (!c) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory for a TLS context"), NULL;
    pthread_mutex_init(&c->lock, NULL);
    c->system_roots = system_roots;
    ERR_clear_error();
    c->ssl = SSL_CTX_new(TLS_client_method());
    c->bio = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "eryx socket");
    if (!c->ssl || !c->bio || !BIO_meth_set_write(c->bio, bio_write) || !BIO_meth_set_read(c->bio, bio_read) ||
        !BIO_meth_set_ctrl(c->bio, bio_ctrl) || !BIO_meth_set_create(c->bio, bio_create)) {
        eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory for a TLS context");
        goto fail;
    }
    SSL_CTX *s = c->ssl;
    SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION);
    /* No renegotiation (a server-forced handshake mid-stream buys the guest nothing);
    ** a peer closing the socket without close_notify reads as the end of the stream
    ** (eryx__tls_read), as Python's suppress_ragged_eofs does by default. */
    SSL_CTX_set_options(s, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* Writes return as each record goes out; a retry after WANT_WRITE may come from
    ** another buffer (the caller's copy) holding the same bytes, as in Python's ssl. */
    SSL_CTX_set_mode(s, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_max_cert_list(s, MAX_CERT_LIST);
    /* An added root may be an intermediate and is then a trust anchor itself, as
    ** with Python 3.13's create_default_context (VERIFY_X509_PARTIAL_CHAIN). */
    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(s), X509_V_FLAG_PARTIAL_CHAIN);
    /* The system's store: the bundle file (Debian: /etc/ssl/certs/ca-certificates.crt,
    ** read now) and the hashed directory (read on demand), or $SSL_CERT_FILE/_DIR. */
    if (system_roots && SSL_CTX_set_default_verify_paths(s) != 1) {
        eryx__fail(err, ERYX_ERR_IO, "cannot load the system's CA store (%s)", last_reason());
        goto fail;
    }
    X509_STORE *store = SSL_CTX_get_cert_store(s);
    for (size_t i = 0; i < nroots; i++) {
        char what[48];
        snprintf(what, sizeof what, "root certificate %zu", i + 1);
        if (!add_certs(store, roots[i], root_lens[i], what, err)) goto fail;
    }
    ERR_clear_error();
    return c;
fail:
    ERR_clear_error();
    eryx__tls_ctx_free(c);
    return NULL;
}

void eryx__tls_ctx_free(eryx__tls_ctx *ctx) {
    if (!ctx) return;
    for (size_t i = 0; i < CADATA_SLOTS; i++) {
        free(ctx->slots[i].data);
        X509_STORE_free(ctx->slots[i].store);
    }
    SSL_CTX_free(ctx->ssl);
    BIO_meth_free(ctx->bio);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
}

/* A new store with the context's roots and cadata's: the context's certificates
** are shared (referenced, not parsed again), its hashed directory looked up anew. */
static X509_STORE *cadata_store(eryx__tls_ctx *c, const void *data, size_t len, eryx__errbuf *err) {
    X509_STORE *store = X509_STORE_new();
    if (!store) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory for a trust store"), NULL;
    X509_STORE *base = SSL_CTX_get_cert_store(c->ssl);
    bool ok = X509_STORE_lock(base);
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(base);
    for (int i = 0; ok && i < sk_X509_OBJECT_num(objs); i++) {
        X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
        if (x) ok = X509_STORE_add_cert(store, x) == 1;
    }
    X509_STORE_unlock(base);
    if (ok && c->system_roots) {
        X509_LOOKUP *dir = X509_STORE_add_lookup(store, X509_LOOKUP_hash_dir());
        ok = dir && X509_LOOKUP_add_dir(dir, NULL, X509_FILETYPE_DEFAULT) == 1;
    }
    if (!ok) {
        eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory for a trust store");
    } else if (add_certs(store, data, len, "cadata", err)) {
        ERR_clear_error();
        return store;
    }
    ERR_clear_error();
    X509_STORE_free(store);
    return NULL;
}

/* The store for cadata, from the cache or built (and cached); a reference. */
static X509_STORE *cadata_lookup(eryx__tls_ctx *c, const uint8_t *data, size_t len, eryx__errbuf *err) {
    if (len > MAX_CADATA)
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "cadata: %zu bytes is more than the limit of %u", len,
                          MAX_CADATA),
               NULL;
    X509_STORE *store = NULL;
    pthread_mutex_lock(&c->lock);
    c->clock++;
    for (size_t i = 0; i < CADATA_SLOTS && !store; i++) {
        cadata_slot *s = &c->slots[i];
        if (s->store && s->len == len && memcmp(s->data, data, len) == 0) {
            s->used = c->clock;
            if (X509_STORE_up_ref(s->store)) store = s->store;
        }
    }
    pthread_mutex_unlock(&c->lock);
    if (store) return store;
    /* Built outside the lock (parsing a bundle takes milliseconds). */
    store = cadata_store(c, data, len, err);
    uint8_t *copy = store ? malloc(len) : NULL;
    if (!copy) return store; /* works uncached when the copy cannot be made */
    memcpy(copy, data, len);
    pthread_mutex_lock(&c->lock);
    /* Evict the least recently used until a slot is free and the bytes fit. */
    for (;;) {
        size_t bytes = len, free_slot = CADATA_SLOTS, lru = CADATA_SLOTS;
        for (size_t i = 0; i < CADATA_SLOTS; i++) {
            cadata_slot *s = &c->slots[i];
            if (!s->store) {
                free_slot = i;
                continue;
            }
            bytes += s->len;
            if (lru == CADATA_SLOTS || s->used < c->slots[lru].used) lru = i;
        }
        if (free_slot < CADATA_SLOTS && bytes <= CADATA_CACHE_BYTES) {
            if (X509_STORE_up_ref(store)) {
                c->slots[free_slot] = (cadata_slot){.data = copy, .len = len, .store = store, .used = c->clock};
                copy = NULL;
            }
            break;
        }
        if (lru == CADATA_SLOTS) break; /* alone it is over the cache's bytes: uncached */
        free(c->slots[lru].data);
        X509_STORE_free(c->slots[lru].store);
        c->slots[lru] = (cadata_slot){0};
    }
    pthread_mutex_unlock(&c->lock);
    free(copy);
    return store;
}

/* ---- connections ----------------------------------------------------------------------- */

static bool is_ip_literal(const char *name) {
    unsigned char buf[16];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* The guest's version bounds (Python's ssl.TLSVersion values): 0, -2 (MINIMUM_SUPPORTED)
** and -1 (MAXIMUM_SUPPORTED) leave OpenSSL's defaults; below TLS 1.2 a minimum is
** raised to it, a maximum refused. */
static bool set_versions(SSL *ssl, int min, int max, eryx__errbuf *err) {
    if (min == -2 || min == -1) min = 0;
    if (max == -2 || max == -1) max = 0;
    if ((min && (min < SSL3_VERSION || min > TLS1_3_VERSION)) || (max && (max < SSL3_VERSION || max > TLS1_3_VERSION)))
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "TLS: unknown protocol version (min 0x%x, max 0x%x)",
                          (unsigned)min, (unsigned)max),
               false;
    if (max && max < TLS1_2_VERSION)
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT,
                          "TLS: a maximum version below TLS 1.2 is not supported (the host requires TLS 1.2 or 1.3)"),
               false;
    if (min && min < TLS1_2_VERSION) min = TLS1_2_VERSION;
    if (min && max && min > max)
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "TLS: minimum version 0x%x is above maximum 0x%x",
                          (unsigned)min, (unsigned)max),
               false;
    return (!min || SSL_set_min_proto_version(ssl, min)) && (!max || SSL_set_max_proto_version(ssl, max));
}

static bool alpn_valid(const uint8_t *p, size_t len) {
    if (!len || len > 65535) return false;
    for (size_t i = 0; i < len; i += 1 + (size_t)p[i])
        if (!p[i] || p[i] > len - i - 1) return false;
    return true;
}

eryx__tls *eryx__tls_new(eryx__tls_ctx *ctx, int fd, const eryx__tls_opts *opts, eryx__errbuf *err) {
    eryx__tls *t = calloc(1, sizeof *t);
    if (!t) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory for a TLS connection"), NULL;
    t->verify = opts->verify;
    const char *name = opts->server_name && *opts->server_name ? opts->server_name : NULL;
    if (name && strlen(name) > MAX_NAME) {
        eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "TLS: server_name is longer than %d bytes", MAX_NAME);
        goto fail;
    }
    if (name && !(t->name = strdup(name))) goto oom;
    ERR_clear_error();
    if (!(t->ssl = SSL_new(ctx->ssl))) goto oom;
    BIO *bio = BIO_new(ctx->bio);
    if (!bio) goto oom;
    BIO_set_data(bio, (void *)(intptr_t)fd);
    SSL_set_bio(t->ssl, bio, bio);
    SSL_set_connect_state(t->ssl);
    if (!set_versions(t->ssl, opts->min_version, opts->max_version, err)) goto fail;
    bool ip = name && is_ip_literal(name);
    /* SNI carries names only (RFC 6066 forbids IP literals). */
    if (name && !ip && !SSL_set_tlsext_host_name(t->ssl, name)) {
        eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "TLS: '%s' cannot be sent as a server name (%s)", name,
                   last_reason());
        goto fail;
    }
    if (opts->verify && opts->check_hostname && name) {
        bool ok =
            ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), name) == 1 : SSL_set1_host(t->ssl, name) == 1;
        if (!ok) {
            eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "TLS: cannot check the certificate against '%s'", name);
            goto fail;
        }
    }
    SSL_set_verify(t->ssl, opts->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (opts->verify && opts->cadata && opts->cadata_len) {
        X509_STORE *store = cadata_lookup(ctx, opts->cadata, opts->cadata_len, err);
        if (!store) goto fail;
        int ok = SSL_set1_verify_cert_store(t->ssl, store);
        X509_STORE_free(store);
        if (!ok) goto oom;
    }
    if (opts->alpn && opts->alpn_len) {
        if (!alpn_valid(opts->alpn, opts->alpn_len)) {
            eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "TLS: malformed ALPN protocol list");
            goto fail;
        }
        if (SSL_set_alpn_protos(t->ssl, opts->alpn, (unsigned)opts->alpn_len) != 0) goto oom; /* 0 is success */
    }
    ERR_clear_error();
    return t;
oom:
    eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory for a TLS connection");
fail:
    ERR_clear_error();
    eryx__tls_free(t);
    return NULL;
}

void eryx__tls_free(eryx__tls *t) {
    if (!t) return;
    SSL_free(t->ssl);
    free(t->name);
    free(t);
}

/* The message of a refused certificate, in the words of Python's ssl. */
static int verify_failed(eryx__tls *t, eryx__errbuf *err) {
    long v = SSL_get_verify_result(t->ssl);
    const char *name = t->name ? t->name : "";
    if (v == X509_V_ERR_HOSTNAME_MISMATCH)
        eryx__fail(err, ERYX_ERR_IO, "certificate verify failed: Hostname mismatch, certificate is not valid for '%s'",
                   name);
    else if (v == X509_V_ERR_IP_ADDRESS_MISMATCH)
        eryx__fail(err, ERYX_ERR_IO,
                   "certificate verify failed: IP address mismatch, certificate is not valid for '%s'", name);
    else if (t->name)
        eryx__fail(err, ERYX_ERR_IO, "certificate verify failed: %s (server '%s')", X509_verify_cert_error_string(v),
                   name);
    else eryx__fail(err, ERYX_ERR_IO, "certificate verify failed: %s", X509_verify_cert_error_string(v));
    return ERYX__TLS_VERIFY;
}

/* Maps an SSL call's failure (r its return) to ERYX__TLS_*; during is what was being done. */
static int failure(eryx__tls *t, int r, const char *during, eryx__errbuf *err) {
    int saved = errno;
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ) return ERYX__TLS_WANT_READ;
    if (e == SSL_ERROR_WANT_WRITE) return ERYX__TLS_WANT_WRITE;
    t->failed = true;
    int rc = ERYX__TLS_ERROR;
    unsigned long code = ERR_peek_error(); /* the first: the cause */
    bool refused = ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_CERTIFICATE_VERIFY_FAILED;
    if (e == SSL_ERROR_SSL && (refused || (t->verify && SSL_get_verify_result(t->ssl) != X509_V_OK)))
        rc = verify_failed(t, err);
    else if (e == SSL_ERROR_SSL && code) eryx__fail(err, ERYX_ERR_IO, "TLS error during %s: %s", during, last_reason());
    else if ((e == SSL_ERROR_SYSCALL && saved) || code)
        eryx__fail(err, ERYX_ERR_IO, "TLS error during %s: %s", during, code ? last_reason() : strerror(saved));
    else
        eryx__fail(err, ERYX_ERR_IO,
                   "TLS error during %s: the peer closed the connection (EOF in violation of protocol)", during);
    ERR_clear_error();
    return rc;
}

static int already_failed(eryx__errbuf *err) {
    eryx__fail(err, ERYX_ERR_IO, "TLS: the connection failed earlier");
    return ERYX__TLS_ERROR;
}

int eryx__tls_handshake(eryx__tls *t, eryx__errbuf *err) {
    if (t->failed) return already_failed(err);
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(t->ssl);
    if (r == 1) return ERYX__TLS_OK;
    /* A close before the handshake ended (read as close_notify by
    ** SSL_OP_IGNORE_UNEXPECTED_EOF) is an error here. */
    if (SSL_get_error(t->ssl, r) == SSL_ERROR_ZERO_RETURN) {
        t->failed = true;
        ERR_clear_error();
        eryx__fail(err, ERYX_ERR_IO, "TLS error during the handshake: the server closed the connection");
        return ERYX__TLS_ERROR;
    }
    return failure(t, r, "the handshake", err);
}

ptrdiff_t eryx__tls_read(eryx__tls *t, void *buf, size_t len, eryx__errbuf *err) {
    if (t->failed) return already_failed(err);
    if (t->eof || !len) return 0;
    ERR_clear_error();
    errno = 0;
    size_t n = 0;
    if (SSL_read_ex(t->ssl, buf, len > INT_MAX ? INT_MAX : len, &n)) return (ptrdiff_t)n;
    int e = SSL_get_error(t->ssl, 0);
    /* The end: close_notify, or the socket closed without it (a ragged EOF). */
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && !errno && !ERR_peek_error())) {
        t->eof = true;
        ERR_clear_error();
        return 0;
    }
    return failure(t, 0, "a read", err);
}

ptrdiff_t eryx__tls_write(eryx__tls *t, const void *buf, size_t len, eryx__errbuf *err) {
    if (t->failed) return already_failed(err);
    if (!len) return 0;
    if (len > INT_MAX) len = INT_MAX;
    if (len < t->wpending) {
        eryx__fail(err, ERYX_ERR_IO, "TLS: a write retried after WANT_WRITE must pass the same bytes again");
        return ERYX__TLS_ERROR;
    }
    ERR_clear_error();
    errno = 0;
    size_t n = 0;
    if (SSL_write_ex(t->ssl, buf, len, &n)) {
        t->wpending = 0;
        return (ptrdiff_t)n;
    }
    int rc = failure(t, 0, "a write", err);
    /* OpenSSL keeps the record it built (at most one, of up to 16 KiB) for the retry. */
    if (rc == ERYX__TLS_WANT_READ || rc == ERYX__TLS_WANT_WRITE) {
        size_t held = len < SSL3_RT_MAX_PLAIN_LENGTH ? len : SSL3_RT_MAX_PLAIN_LENGTH;
        if (held > t->wpending) t->wpending = held;
    }
    return rc;
}

size_t eryx__tls_pending(const eryx__tls *t) {
    int n = SSL_pending(t->ssl);
    return n > 0 ? (size_t)n : 0;
}

void eryx__tls_close_notify(eryx__tls *t) {
    /* OpenSSL forbids SSL_shutdown after a fatal error; before the handshake there is no session. */
    if (t->failed || !SSL_is_init_finished(t->ssl)) return;
    ERR_clear_error();
    SSL_shutdown(t->ssl);
    ERR_clear_error();
}

/* ---- the session as JSON (Python's ssl.SSLSocket.version/cipher/getpeercert) ---------- */

/* A JSON string of len bytes; text that is not UTF-8 (a malformed certificate) has
** its non-ASCII bytes replaced by '?', so the guest still gets a string. */
static json_t *jstr(const void *p, size_t len) {
    json_t *s = json_stringn((const char *)p, len);
    if (s) return s;
    char *copy = malloc(len + 1);
    if (!copy) return NULL;
    for (size_t i = 0; i < len; i++) copy[i] = ((const unsigned char *)p)[i] < 0x80 ? ((const char *)p)[i] : '?';
    s = json_stringn(copy, len);
    free(copy);
    return s;
}

/* Appends v (NULL: out of memory) to a; false when that failed. */
static bool push(json_t *a, json_t *v) { return v && json_array_append_new(a, v) == 0; }

static json_t *pair(const char *key, json_t *value) {
    json_t *p = json_array();
    if (p && push(p, json_string(key)) && push(p, value)) return p;
    json_decref(p);
    return NULL;
}

/* (( (name, value), ...), ...): one tuple per RDN, each of (long name, UTF-8 value). */
static json_t *name_json(const X509_NAME *n) {
    json_t *out = json_array(), *rdn = NULL;
    int set = -1;
    for (int i = 0; out && i < X509_NAME_entry_count(n); i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(n, i);
        if (X509_NAME_ENTRY_set(e) != set || !rdn) {
            set = X509_NAME_ENTRY_set(e);
            if (!push(out, rdn = json_array())) goto oom;
        }
        char key[128];
        if (OBJ_obj2txt(key, sizeof key, X509_NAME_ENTRY_get_object(e), 0) < 0) key[0] = '\0';
        unsigned char *utf8 = NULL;
        int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
        json_t *v = len >= 0 ? jstr(utf8, (size_t)len) : json_string("<invalid>");
        OPENSSL_free(utf8);
        if (!push(rdn, pair(key, v))) goto oom;
    }
    return out;
oom:
    json_decref(out);
    return NULL;
}

/* What a memory BIO holds as a JSON string (the printers below write into one). */
static json_t *bio_json(BIO *b, int ok) {
    char *p = NULL;
    long len = BIO_get_mem_data(b, &p);
    json_t *v = ok > 0 && len >= 0 ? jstr(p, (size_t)len) : NULL;
    BIO_free(b);
    return v;
}

static json_t *time_json(const ASN1_TIME *t) {
    BIO *b = BIO_new(BIO_s_mem());
    return b ? bio_json(b, ASN1_TIME_print(b, t)) : NULL; /* "Jan  5 09:34:43 2027 GMT" */
}

static json_t *serial_json(const ASN1_INTEGER *s) {
    BIO *b = BIO_new(BIO_s_mem());
    return b ? bio_json(b, i2a_ASN1_INTEGER(b, s)) : NULL; /* upper-case hex */
}

static json_t *ip_json(const ASN1_OCTET_STRING *ip) {
    const unsigned char *p = ASN1_STRING_get0_data(ip);
    char buf[64];
    if (ASN1_STRING_length(ip) == 4) snprintf(buf, sizeof buf, "%d.%d.%d.%d", p[0], p[1], p[2], p[3]);
    else if (ASN1_STRING_length(ip) == 16) /* Python's spelling: eight groups, no "::" */
        snprintf(buf, sizeof buf, "%X:%X:%X:%X:%X:%X:%X:%X", p[0] << 8 | p[1], p[2] << 8 | p[3], p[4] << 8 | p[5],
                 p[6] << 8 | p[7], p[8] << 8 | p[9], p[10] << 8 | p[11], p[12] << 8 | p[13], p[14] << 8 | p[15]);
    else snprintf(buf, sizeof buf, "<invalid>");
    return json_string(buf);
}

static json_t *ia5_json(const ASN1_IA5STRING *s) {
    return jstr(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
}

/* [["DNS", "x"], ["IP Address", "127.0.0.1"], ...]: getpeercert()'s subjectAltName. */
static json_t *san_json(X509 *x) {
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    json_t *out = json_array();
    for (int i = 0; out && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        json_t *p = NULL;
        char buf[256];
        switch (g->type) {
        case GEN_DNS: p = pair("DNS", ia5_json(g->d.dNSName)); break;
        case GEN_EMAIL: p = pair("email", ia5_json(g->d.rfc822Name)); break;
        case GEN_URI: p = pair("URI", ia5_json(g->d.uniformResourceIdentifier)); break;
        case GEN_IPADD: p = pair("IP Address", ip_json(g->d.iPAddress)); break;
        case GEN_DIRNAME: p = pair("DirName", name_json(g->d.directoryName)); break;
        case GEN_RID:
            if (OBJ_obj2txt(buf, sizeof buf, g->d.registeredID, 0) < 0) buf[0] = '\0';
            p = pair("Registered ID", json_string(buf));
            break;
        case GEN_OTHERNAME: p = pair("othername", json_string("<unsupported>")); break;
        case GEN_X400: p = pair("X400Name", json_string("<unsupported>")); break;
        default: p = pair("EdiPartyName", json_string("<unsupported>")); break;
        }
        if (!push(out, p)) {
            json_decref(out);
            out = NULL;
        }
    }
    GENERAL_NAMES_free(names);
    return out;
}

static json_t *base64_json(const unsigned char *p, int len) {
    char *b64 = malloc(((size_t)len + 2) / 3 * 4 + 1);
    if (!b64) return NULL;
    int n = EVP_EncodeBlock((unsigned char *)b64, p, len);
    json_t *v = n >= 0 ? json_stringn(b64, (size_t)n) : NULL;
    free(b64);
    return v;
}

/* Sets key to v (NULL: out of memory); false when that failed. */
static bool put(json_t *o, const char *key, json_t *v) { return v && json_object_set_new(o, key, v) == 0; }

static bool cert_json(json_t *o, X509 *x) {
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    bool ok = len > 0 && put(o, "cert_der", base64_json(der, len));
    OPENSSL_free(der);
    return ok && put(o, "subject", name_json(X509_get_subject_name(x))) &&
           put(o, "issuer", name_json(X509_get_issuer_name(x))) &&
           put(o, "cert_version", json_integer(X509_get_version(x) + 1)) &&
           put(o, "serialNumber", serial_json(X509_get0_serialNumber(x))) &&
           put(o, "notBefore", time_json(X509_get0_notBefore(x))) &&
           put(o, "notAfter", time_json(X509_get0_notAfter(x))) && put(o, "subjectAltName", san_json(x));
}

char *eryx__tls_info_json(const eryx__tls *t) {
    json_t *o = json_object(), *cipher = json_array();
    const SSL_CIPHER *c = SSL_get_current_cipher(t->ssl);
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(t->ssl, &alpn, &alpn_len);
    X509 *peer = SSL_get1_peer_certificate(t->ssl);
    bool done = SSL_is_init_finished(t->ssl);
    bool ok = o && put(o, "version", done ? json_string(SSL_get_version(t->ssl)) : json_null()) &&
              put(o, "alpn", alpn_len ? jstr(alpn, alpn_len) : json_null()) &&
              put(o, "verified", json_boolean(done && t->verify && SSL_get_verify_result(t->ssl) == X509_V_OK));
    if (ok && c && cipher) {
        ok = push(cipher, json_string(SSL_CIPHER_get_name(c))) &&
             push(cipher, json_string(SSL_CIPHER_get_version(c))) &&
             push(cipher, json_integer(SSL_CIPHER_get_bits(c, NULL))) && put(o, "cipher", cipher);
        cipher = NULL;
    } else if (ok) {
        ok = put(o, "cipher", json_null());
    }
    json_decref(cipher);
    ok = ok && (peer ? cert_json(o, peer) : put(o, "cert_der", json_null()));
    X509_free(peer);
    char *text = ok ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    ERR_clear_error();
    return text;
}
