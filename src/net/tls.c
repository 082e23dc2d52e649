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
#include <time.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "../common/process_state.h"
#include "net.h"
#include "tls_info.h"

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
    unsigned char key[32]; /* the roots' key in the process's stores (below) */
    pthread_mutex_t lock;  /* the cadata cache: connections of a sandbox may share ctx across threads */
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

/* ---- trust stores shared by the process ------------------------------------------------ */

/* Parsing a CA bundle takes tens of ms (docs/NETWORK-TLS.md, "Cost"), so a store
** built from the same inputs (the system's store or not, the config's roots, a
** cadata) is shared by every context of the process: found by the SHA-256 of its
** inputs, kept at most SHARED_TTL_S seconds (so an updated system bundle is read
** again), at most SHARED_SLOTS stores holding SHARED_BYTES of input between them.
** Contexts hold their own references, so an eviction frees nothing in use. */
#define SHARED_SLOTS 8
#define SHARED_BYTES (16u << 20)
#define SHARED_TTL_S 600

typedef struct shared_store {
    unsigned char key[32];
    X509_STORE *store; /* NULL: a free slot */
    size_t bytes;      /* of input */
    uint64_t used;     /* the clock below at the last hit */
    time_t made;       /* CLOCK_MONOTONIC seconds */
} shared_store;

ERYX__PROCESS_STATE static struct {
    pthread_mutex_t lock;
    shared_store slots[SHARED_SLOTS];
    uint64_t clock;
} eryx__tls_stores = {.lock = PTHREAD_MUTEX_INITIALIZER};

static time_t mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static void shared_drop(shared_store *s) {
    X509_STORE_free(s->store);
    *s = (shared_store){0};
}

/* A reference to the store of key, or NULL. */
static X509_STORE *shared_get(const unsigned char key[32]) {
    X509_STORE *store = NULL;
    time_t now = mono_s();
    pthread_mutex_lock(&eryx__tls_stores.lock);
    for (size_t i = 0; i < SHARED_SLOTS; i++) {
        shared_store *s = &eryx__tls_stores.slots[i];
        if (!s->store || memcmp(s->key, key, 32) != 0) continue;
        if (now - s->made > SHARED_TTL_S) {
            shared_drop(s);
        } else if (X509_STORE_up_ref(s->store)) {
            s->used = ++eryx__tls_stores.clock;
            store = s->store;
        }
        break;
    }
    pthread_mutex_unlock(&eryx__tls_stores.lock);
    return store;
}

/* Keeps a reference to store as key's (evicting the least recently used), unless
** another thread built the same meanwhile or it is too big alone. */
static void shared_put(const unsigned char key[32], X509_STORE *store, size_t bytes) {
    if (bytes > SHARED_BYTES / 2) return;
    pthread_mutex_lock(&eryx__tls_stores.lock);
    for (;;) {
        size_t total = bytes, free_slot = SHARED_SLOTS, lru = SHARED_SLOTS;
        bool have = false;
        for (size_t i = 0; i < SHARED_SLOTS; i++) {
            shared_store *s = &eryx__tls_stores.slots[i];
            if (!s->store) {
                free_slot = i;
                continue;
            }
            have |= memcmp(s->key, key, 32) == 0;
            total += s->bytes;
            if (lru == SHARED_SLOTS || s->used < eryx__tls_stores.slots[lru].used) lru = i;
        }
        if (have) break;
        if (free_slot < SHARED_SLOTS && total <= SHARED_BYTES) {
            if (X509_STORE_up_ref(store)) {
                shared_store *s = &eryx__tls_stores.slots[free_slot];
                *s = (shared_store){.store = store, .bytes = bytes, .used = ++eryx__tls_stores.clock, .made = mono_s()};
                memcpy(s->key, key, 32);
            }
            break;
        }
        shared_drop(&eryx__tls_stores.slots[lru]);
    }
    pthread_mutex_unlock(&eryx__tls_stores.lock);
}

void eryx__tls_shutdown(void) {
    pthread_mutex_lock(&eryx__tls_stores.lock);
    for (size_t i = 0; i < SHARED_SLOTS; i++) shared_drop(&eryx__tls_stores.slots[i]);
    eryx__tls_stores.clock = 0;
    pthread_mutex_unlock(&eryx__tls_stores.lock);
}

/* Hashes a length-prefixed part of a key. */
static bool key_part(EVP_MD_CTX *md, const void *data, size_t len) {
    uint64_t n = len;
    return EVP_DigestUpdate(md, &n, sizeof n) && EVP_DigestUpdate(md, data, len);
}

/* The key of the roots of a context: whether the system's store, and each root. */
static bool roots_key(bool system_roots, const void *const *roots, const size_t *lens, size_t n,
                      unsigned char key[32]) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char sys = system_roots;
    bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) && key_part(md, "eryx tls roots 1", 16) &&
              key_part(md, &sys, 1);
    for (size_t i = 0; ok && i < n; i++) ok = key_part(md, roots[i], lens[i]);
    ok = ok && EVP_DigestFinal_ex(md, key, NULL);
    EVP_MD_CTX_free(md);
    return ok;
}

/* The key of a context's roots plus a cadata. */
static bool cadata_key(const unsigned char base[32], const void *data, size_t len, unsigned char key[32]) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) && key_part(md, "eryx tls cadata 1", 17) &&
              key_part(md, base, 32) && key_part(md, data, len) && EVP_DigestFinal_ex(md, key, NULL);
    EVP_MD_CTX_free(md);
    return ok;
}

/* A store of the system's roots (if asked) and the given ones; a new reference. */
static X509_STORE *roots_store(bool system_roots, const void *const *roots, const size_t *lens, size_t n,
                               eryx__errbuf *err) {
    X509_STORE *store = X509_STORE_new();
    if (!store) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory for a trust store"), NULL;
    /* The system's store: the bundle file (Debian: /etc/ssl/certs/ca-certificates.crt,
    ** read now) and the hashed directory (read on demand), or $SSL_CERT_FILE/_DIR. */
    if (system_roots && X509_STORE_set_default_paths(store) != 1) {
        eryx__fail(err, ERYX_ERR_IO, "cannot load the system's CA store (%s)", last_reason());
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        char what[48];
        snprintf(what, sizeof what, "root certificate %zu", i + 1);
        if (!add_certs(store, roots[i], lens[i], what, err)) goto fail;
    }
    ERR_clear_error();
    return store;
fail:
    ERR_clear_error();
    X509_STORE_free(store);
    return NULL;
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
    size_t bytes = system_roots ? 256 * 1024 : 0; /* about the system bundle's size */
    for (size_t i = 0; i < nroots; i++) bytes += root_lens[i];
    if (!roots_key(system_roots, roots, root_lens, nroots, c->key)) {
        eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory for a TLS context");
        goto fail;
    }
    X509_STORE *store = shared_get(c->key);
    if (!store) {
        if (!(store = roots_store(system_roots, roots, root_lens, nroots, err))) goto fail;
        shared_put(c->key, store, bytes);
    }
    SSL_CTX_set_cert_store(s, store); /* takes our reference */
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
    /* Another context's, or built (outside the lock: parsing a bundle takes ms). */
    unsigned char key[32];
    if (!cadata_key(c->key, data, len, key))
        return eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory for a trust store"), NULL;
    if (!(store = shared_get(key)) && (store = cadata_store(c, data, len, err))) shared_put(key, store, len);
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
        /* A name: its DNS SANs (the subject's CN only when there is none), a wildcard
        ** only as a whole left-most label, as Python's ssl; an address: its IP SANs. */
        SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
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
    else if (code && ERR_reason_error_string(code))
        eryx__fail(err, ERYX_ERR_IO, "TLS error during %s: %s", during, ERR_reason_error_string(code));
    else if (code) eryx__fail(err, ERYX_ERR_IO, "TLS error during %s: %s", during, last_reason());
    else if (saved) eryx__fail(err, ERYX_ERR_IO, "TLS error during %s: %s", during, strerror(saved));
    else if (e == SSL_ERROR_ZERO_RETURN)
        eryx__fail(err, ERYX_ERR_IO, "TLS error during %s: the peer has closed the connection", during);
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

char *eryx__tls_info_json(const eryx__tls *t) { return eryx__tls_session_json(t->ssl, t->verify); }
