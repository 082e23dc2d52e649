/*
** The TLS client (src/net/tls.c) against an OpenSSL server on a thread on
** 127.0.0.1 (and ::1 when the machine has it), with certificates made here
** (net_testcerts.c): verification (names, IP literals, roots given as PEM, PEM
** bundles, DER, per-connection cadata), SNI, ALPN, versions, data both ways in
** non-blocking mode, the two ends of a stream, a garbage server, the info JSON.
*/
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "../src/net/net.h"
#include "check.h"
#include "net_testcerts.h"
#include "net_tls_server.h"

#define WAIT_MS SERVER_WAIT_MS /* no step of a test waits longer (a hang fails, it does not block ctest) */

static testcerts tc;

/* A server with cert (NULL: tc.leaf, signed by the test CA). */
static bool start(server *s, srv_mode mode, X509 *cert, EVP_PKEY *key, int family) {
    return server_start(s, mode, cert ? cert : tc.leaf, cert ? key : tc.leaf_key, family);
}

/* ---- the client side ------------------------------------------------------------------- */

/* A connected non-blocking socket to the server; -1 on failure. */
static int dial(const server *s) {
    int fd = socket(s->family, SOCK_STREAM, 0);
    struct sockaddr_storage ss = {0};
    socklen_t sl;
    if (s->family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a->sin_port = htons((uint16_t)s->port);
        sl = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        a->sin6_port = htons((uint16_t)s->port);
        sl = sizeof *a;
    }
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Waits for what rc asks (WANT_READ/WANT_WRITE); false after WAIT_MS. */
static bool wait_for(int fd, int rc) {
    struct pollfd p = {.fd = fd, .events = rc == ERYX__TLS_WANT_READ ? POLLIN : POLLOUT};
    return poll(&p, 1, WAIT_MS) == 1;
}

#define HUNG 99 /* a step that waited past WAIT_MS */

static int handshake(eryx__tls *t, int fd, eryx__errbuf *err) {
    for (;;) {
        int rc = eryx__tls_handshake(t, err);
        if (rc != ERYX__TLS_WANT_READ && rc != ERYX__TLS_WANT_WRITE) return rc;
        if (!wait_for(fd, rc)) return HUNG;
    }
}

/* Reads until len bytes or the end; the count, or a negative ERYX__TLS_* / -HUNG. */
static ptrdiff_t read_all(eryx__tls *t, int fd, char *buf, size_t len, eryx__errbuf *err) {
    size_t got = 0;
    while (got < len) {
        ptrdiff_t n = eryx__tls_read(t, buf + got, len - got, err);
        if (n == 0) break;
        if (n > 0) {
            got += (size_t)n;
        } else if (n == ERYX__TLS_WANT_READ || n == ERYX__TLS_WANT_WRITE) {
            if (!wait_for(fd, (int)n)) return -HUNG;
        } else {
            return n;
        }
    }
    return (ptrdiff_t)got;
}

/* One client connection: server s, a ctx, opts; the handshake's result. The
** connection stays in *t / *fd for the caller (closed by finish()). */
typedef struct client {
    int fd;
    eryx__tls *t;
    eryx__errbuf err;
    int rc;
} client;

static void client_start(client *c, const server *s, eryx__tls_ctx *ctx, const eryx__tls_opts *o) {
    memset(c, 0, sizeof *c);
    c->fd = dial(s);
    c->t = c->fd >= 0 ? eryx__tls_new(ctx, c->fd, o, &c->err) : NULL;
    c->rc = c->t ? handshake(c->t, c->fd, &c->err) : -100;
}

static void client_finish(client *c) {
    if (c->t) eryx__tls_close_notify(c->t);
    eryx__tls_free(c->t);
    if (c->fd >= 0) close(c->fd);
}

/* One connection to a fresh SRV_HOLD server with cert; its handshake's result and message. */
static int try_handshake(eryx__tls_ctx *ctx, const eryx__tls_opts *o, X509 *cert, EVP_PKEY *key, char *msg,
                         size_t msg_cap) {
    server s;
    if (!start(&s, SRV_HOLD, cert, key, AF_INET)) return -200;
    client c;
    client_start(&c, &s, ctx, o);
    if (msg) snprintf(msg, msg_cap, "%s", c.err.msg);
    client_finish(&c);
    server_join(&s);
    return c.rc;
}

static eryx__tls_opts opts_for(const char *name) {
    return (eryx__tls_opts){.server_name = name, .verify = true, .check_hostname = true};
}

/* A context trusting the given PEM/DER blobs only (no system store). */
static eryx__tls_ctx *ctx_with(const void *root, size_t len) {
    eryx__errbuf err = {0};
    const void *roots[1] = {root};
    size_t lens[1] = {len};
    eryx__tls_ctx *ctx = eryx__tls_ctx_new(false, roots, lens, root ? 1 : 0, &err);
    CHECKF(ctx, "%s", err.msg);
    return ctx;
}

/* ---- the tests --------------------------------------------------------------------------- */

static void test_check_certs(void) {
    eryx__errbuf err = {0};
    size_t pem_len, der_len, pem2_len;
    char *pem = testcerts_pem(tc.ca, &pem_len), *pem2 = testcerts_pem(tc.ca2, &pem2_len);
    unsigned char *der = testcerts_der(tc.ca, &der_len);
    CHECKF(eryx__tls_check_certs(pem, pem_len, &err), "%s", err.msg);
    CHECKF(eryx__tls_check_certs(der, der_len, &err), "%s", err.msg);
    /* several PEM certificates, with text around them (as in certifi's bundle) */
    char *bundle = malloc(pem_len + pem2_len + 64);
    int blen = sprintf(bundle, "# a comment\n%s\n# another\n%s", pem, pem2);
    CHECKF(eryx__tls_check_certs(bundle, (size_t)blen, &err), "%s", err.msg);

    CHECK(!eryx__tls_check_certs("", 0, &err));
    CHECK(!eryx__tls_check_certs("hello, world", 12, &err));
    CHECK(strstr(err.msg, "no certificate found") != NULL);
    /* a PEM block cut in the middle, and a second one cut after a good first */
    CHECK(!eryx__tls_check_certs(pem, pem_len / 2, &err));
    CHECK(strstr(err.msg, "not parsable") != NULL);
    CHECK(!eryx__tls_check_certs(bundle, (size_t)blen - 100, &err));
    CHECK(strstr(err.msg, "PEM certificate 2") != NULL);
    /* a block with a damaged body */
    char *bad = strdup(pem);
    bad[pem_len / 2] = bad[pem_len / 2] == 'A' ? 'B' : 'A';
    bad[pem_len / 2 + 1] = '*';
    CHECK(!eryx__tls_check_certs(bad, pem_len, &err));
    /* DER: cut short, and with bytes after it */
    CHECK(!eryx__tls_check_certs(der, der_len - 1, &err));
    CHECK(strstr(err.msg, "DER certificate at byte 0") != NULL);
    unsigned char *der_more = malloc(der_len + 3);
    memcpy(der_more, der, der_len);
    memcpy(der_more + der_len, "\x30\x01\x00", 3);
    CHECK(!eryx__tls_check_certs(der_more, der_len + 3, &err));
    CHECKF(strstr(err.msg, "at byte") != NULL, "%s", err.msg);
    /* a private key is not a certificate */
    char *key = testcerts_key_pem(tc.leaf_key, NULL);
    CHECK(!eryx__tls_check_certs(key, strlen(key), &err));
    CHECK(strstr(err.msg, "no certificate found") != NULL);
    /* a bad root fails the context, naming which */
    const void *roots[2] = {pem, "junk"};
    size_t lens[2] = {pem_len, 4};
    CHECK(!eryx__tls_ctx_new(false, roots, lens, 2, &err));
    CHECKF(strstr(err.msg, "root certificate 2") != NULL, "%s", err.msg);
    free(key);
    free(der_more);
    free(bad);
    free(bundle);
    free(pem);
    free(pem2);
    free(der);
}

/* A verified handshake with the CA as an added root; SNI; the info JSON. */
static void test_verified(void) {
    size_t len;
    char *ca = testcerts_pem(tc.ca, &len);
    eryx__tls_ctx *ctx = ctx_with(ca, len);
    server s;
    CHECK(start(&s, SRV_HOLD, NULL, NULL, AF_INET));
    eryx__tls_opts o = opts_for("localhost");
    client c;
    client_start(&c, &s, ctx, &o);
    CHECKF(c.rc == ERYX__TLS_OK, "rc %d: %s", c.rc, c.err.msg);
    char *info = c.t ? eryx__tls_info_json(c.t) : NULL;
    client_finish(&c);
    server_join(&s);
    CHECK(s.handshake_ok);
    CHECK_STR_EQ(s.sni, "localhost");
    CHECK_STR_EQ(s.alpn, "");

    json_error_t jerr;
    json_t *j = info ? json_loads(info, 0, &jerr) : NULL;
    CHECKF(j, "%s", info ? info : "(no info)");
    if (j) {
        CHECK_STR_EQ(json_string_value(json_object_get(j, "version")), "TLSv1.3");
        json_t *cipher = json_object_get(j, "cipher");
        CHECK(json_array_size(cipher) == 3);
        CHECK(strstr(json_string_value(json_array_get(cipher, 0)), "TLS_") ==
              json_string_value(json_array_get(cipher, 0)));
        CHECK_STR_EQ(json_string_value(json_array_get(cipher, 1)), "TLSv1.3");
        CHECK(json_integer_value(json_array_get(cipher, 2)) >= 128);
        CHECK(json_is_null(json_object_get(j, "alpn")));
        CHECK(json_is_true(json_object_get(j, "verified")));
        char *subject = json_dumps(json_object_get(j, "subject"), JSON_COMPACT);
        CHECK_STR_EQ(subject, "[[[\"organizationName\",\"eryx tests\"]],[[\"commonName\",\"localhost\"]]]");
        char *issuer = json_dumps(json_object_get(j, "issuer"), JSON_COMPACT);
        CHECK_STR_EQ(issuer, "[[[\"organizationName\",\"eryx tests\"]],[[\"commonName\",\"eryx test CA\"]]]");
        char *san = json_dumps(json_object_get(j, "subjectAltName"), JSON_COMPACT);
        CHECK_STR_EQ(san,
                     "[[\"DNS\",\"localhost\"],[\"IP Address\",\"127.0.0.1\"],[\"IP Address\",\"0:0:0:0:0:0:0:1\"]]");
        free(subject);
        free(issuer);
        free(san);
        CHECK(json_integer_value(json_object_get(j, "cert_version")) == 3);
        /* "Jan  5 09:34:43 2027 GMT", as ASN1_TIME_print and Python's getpeercert() */
        const char *na = json_string_value(json_object_get(j, "notAfter"));
        CHECKF(na && strlen(na) == 24 && strcmp(na + 20, " GMT") == 0 && na[3] == ' ' && na[6] == ' ' && na[9] == ':',
               "%s", na ? na : "(null)");
        CHECK(json_string_value(json_object_get(j, "notBefore")) != NULL);
        /* the serial number: upper-case hex of the certificate's */
        const char *serial = json_string_value(json_object_get(j, "serialNumber"));
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(tc.leaf), NULL);
        char *hex = BN_bn2hex(bn);
        CHECKF(serial && hex && strcmp(serial + strspn(serial, "0"), hex + strspn(hex, "0")) == 0, "%s vs %s",
               serial ? serial : "(null)", hex ? hex : "(null)");
        OPENSSL_free(hex);
        BN_free(bn);
        /* cert_der: the leaf's DER in base64 */
        size_t der_len;
        unsigned char *der = testcerts_der(tc.leaf, &der_len);
        const char *b64 = json_string_value(json_object_get(j, "cert_der"));
        unsigned char *dec = malloc(b64 ? strlen(b64) : 1);
        int n = b64 ? EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)strlen(b64)) : -1;
        /* EVP_DecodeBlock counts the padding's zero bytes */
        CHECK(n >= (int)der_len && n <= (int)der_len + 2 && memcmp(dec, der, der_len) == 0);
        free(dec);
        free(der);
        json_decref(j);
    }
    free(info);
    eryx__tls_ctx_free(ctx);
    free(ca);
}

static void test_refusals(void) {
    size_t len;
    char *ca = testcerts_pem(tc.ca, &len), msg[4096];
    eryx__tls_ctx *ctx = ctx_with(ca, len);
    eryx__tls_opts o = opts_for("localhost");
    /* a certificate for another name */
    CHECK(try_handshake(ctx, &o, tc.other, tc.other_key, msg, sizeof msg) == ERYX__TLS_VERIFY);
    CHECK_STR_EQ(msg, "certificate verify failed: Hostname mismatch, certificate is not valid for 'localhost'");
    /* the same without check_hostname: the chain alone is checked */
    o.check_hostname = false;
    CHECKF(try_handshake(ctx, &o, tc.other, tc.other_key, msg, sizeof msg) == ERYX__TLS_OK, "%s", msg);
    /* self-signed, not trusted */
    o = opts_for("localhost");
    CHECK(try_handshake(ctx, &o, tc.self, tc.self_key, msg, sizeof msg) == ERYX__TLS_VERIFY);
    CHECK_STR_EQ(msg, "certificate verify failed: self-signed certificate (server 'localhost')");
    /* a root that did not sign the leaf */
    char *ca2 = testcerts_pem(tc.ca2, &len);
    eryx__tls_ctx *other = ctx_with(ca2, len);
    CHECK(try_handshake(other, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_VERIFY);
    CHECK_STR_EQ(msg, "certificate verify failed: unable to get local issuer certificate (server 'localhost')");
    /* no roots at all, verification off: accepted, and says it was not verified */
    eryx__tls_ctx *none = ctx_with(NULL, 0);
    CHECK(try_handshake(none, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_VERIFY);
    o.verify = false;
    CHECKF(try_handshake(none, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_OK, "%s", msg);
    CHECKF(try_handshake(none, &o, tc.self, tc.self_key, msg, sizeof msg) == ERYX__TLS_OK, "%s", msg);
    server s;
    CHECK(start(&s, SRV_HOLD, tc.other, tc.other_key, AF_INET));
    client c;
    client_start(&c, &s, none, &o);
    char *info = c.t ? eryx__tls_info_json(c.t) : NULL;
    CHECKF(info && strstr(info, "\"verified\":false") && strstr(info, "other.test"), "%s", info ? info : "(null)");
    free(info);
    client_finish(&c);
    server_join(&s);
    eryx__tls_ctx_free(none);
    eryx__tls_ctx_free(other);
    eryx__tls_ctx_free(ctx);
    free(ca2);
    free(ca);
}

static void test_ip_literals(void) {
    size_t len;
    char *ca = testcerts_pem(tc.ca, &len), msg[4096];
    eryx__tls_ctx *ctx = ctx_with(ca, len);
    eryx__tls_opts o = opts_for("127.0.0.1");
    server s;
    CHECK(start(&s, SRV_HOLD, NULL, NULL, AF_INET));
    client c;
    client_start(&c, &s, ctx, &o);
    CHECKF(c.rc == ERYX__TLS_OK, "rc %d: %s", c.rc, c.err.msg);
    client_finish(&c);
    server_join(&s);
    CHECK_STR_EQ(s.sni, ""); /* no SNI for an IP literal */
    o = opts_for("127.0.0.2");
    CHECK(try_handshake(ctx, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_VERIFY);
    CHECK_STR_EQ(msg, "certificate verify failed: IP address mismatch, certificate is not valid for '127.0.0.2'");
    /* a name's certificate does not cover an address it has no IP SAN for */
    o = opts_for("127.0.0.1");
    CHECK(try_handshake(ctx, &o, tc.other, tc.other_key, msg, sizeof msg) == ERYX__TLS_VERIFY);
    if (start(&s, SRV_HOLD, NULL, NULL, AF_INET6)) {
        o = opts_for("::1");
        client_start(&c, &s, ctx, &o);
        CHECKF(c.rc == ERYX__TLS_OK, "rc %d: %s", c.rc, c.err.msg);
        client_finish(&c);
        server_join(&s);
        CHECK_STR_EQ(s.sni, "");
    } else {
        printf("no ::1 here: the IPv6 case skipped\n");
    }
    eryx__tls_ctx_free(ctx);
    free(ca);
}

/* Names: wildcards as Python's ssl takes them, the subject's CN when there is no
** DNS SAN; the other kinds of SAN in the info JSON. */
static void test_names(void) {
    size_t ca_len;
    char *ca = testcerts_pem(tc.ca, &ca_len), msg[4096];
    eryx__tls_ctx *ctx = ctx_with(ca, ca_len);
    static const char *const sans[] = {"*.wild.test",          "b*.part.test", "email:a@b.test",
                                       "URI:https://x.test/p", "RID:1.2.3.4",  NULL};
    X509 *wild = testcerts_issue("wild", sans, NULL, tc.other_key, tc.ca, tc.ca_key, false);
    X509 *cn = testcerts_issue("cn.test", NULL, NULL, tc.other_key, tc.ca, tc.ca_key, false);
    CHECK(wild && cn);
    const struct {
        X509 **cert;
        const char *name;
        int rc;
    } cases[] = {
        {&wild, "a.wild.test", ERYX__TLS_OK},       {&wild, "A.WILD.TEST", ERYX__TLS_OK},
        {&wild, "x.a.wild.test", ERYX__TLS_VERIFY}, {&wild, "wild.test", ERYX__TLS_VERIFY},
        {&wild, "bar.part.test", ERYX__TLS_VERIFY}, {&cn, "cn.test", ERYX__TLS_OK},
        {&cn, "other.test", ERYX__TLS_VERIFY},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        eryx__tls_opts o = opts_for(cases[i].name);
        int rc = try_handshake(ctx, &o, *cases[i].cert, tc.other_key, msg, sizeof msg);
        CHECKF(rc == cases[i].rc, "%s: %d %s", cases[i].name, rc, msg);
    }
    /* the URIs getpeercert() gives too: added to wild, signed again */
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, tc.ca, wild, NULL, NULL, 0);
    X509_EXTENSION *aia = X509V3_EXT_conf_nid(NULL, &v3, NID_info_access,
                                              "OCSP;URI:http://ocsp.test/,caIssuers;URI:http://ca.test/ca.der");
    X509_EXTENSION *crl = X509V3_EXT_conf_nid(NULL, &v3, NID_crl_distribution_points, "URI:http://crl.test/ca.crl");
    CHECK(aia && crl && X509_add_ext(wild, aia, -1) && X509_add_ext(wild, crl, -1) &&
          X509_sign(wild, tc.ca_key, EVP_sha256()) > 0);
    X509_EXTENSION_free(aia);
    X509_EXTENSION_free(crl);
    server s;
    CHECK(start(&s, SRV_HOLD, wild, tc.other_key, AF_INET));
    eryx__tls_opts o = opts_for("a.wild.test");
    client c;
    client_start(&c, &s, ctx, &o);
    char *info = c.t ? eryx__tls_info_json(c.t) : NULL;
    client_finish(&c);
    server_join(&s);
    json_t *j = info ? json_loads(info, 0, NULL) : NULL;
    char *san = j ? json_dumps(json_object_get(j, "subjectAltName"), JSON_COMPACT) : NULL;
    CHECK_STR_EQ(san, "[[\"DNS\",\"*.wild.test\"],[\"DNS\",\"b*.part.test\"],[\"email\",\"a@b.test\"],"
                      "[\"URI\",\"https://x.test/p\"],[\"Registered ID\",\"1.2.3.4\"]]");
    free(san);
    char *uris = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    CHECKF(uris && strstr(uris, "\"OCSP\":[\"http://ocsp.test/\"],\"caIssuers\":[\"http://ca.test/ca.der\"],"
                                "\"crlDistributionPoints\":[\"http://crl.test/ca.crl\"]"),
           "%s", uris ? uris : "(null)");
    free(uris);
    json_decref(j);
    free(info);
    X509_free(wild);
    X509_free(cn);
    eryx__tls_ctx_free(ctx);
    free(ca);
}

/* Roots: PEM bundles, DER; cadata trusted for its connection only. */
static void test_roots(void) {
    size_t ca_len, ca2_len, der_len;
    char *ca = testcerts_pem(tc.ca, &ca_len), *ca2 = testcerts_pem(tc.ca2, &ca2_len), msg[4096];
    unsigned char *der = testcerts_der(tc.ca, &der_len);
    char *bundle = malloc(ca_len + ca2_len + 1);
    memcpy(bundle, ca2, ca2_len);
    memcpy(bundle + ca2_len, ca, ca_len + 1);
    eryx__tls_opts o = opts_for("localhost");
    eryx__tls_ctx *ctx = ctx_with(bundle, ca_len + ca2_len);
    CHECKF(try_handshake(ctx, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_OK, "%s", msg);
    eryx__tls_ctx_free(ctx);
    ctx = ctx_with(der, der_len);
    CHECKF(try_handshake(ctx, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_OK, "%s", msg);
    eryx__tls_ctx_free(ctx);
    /* the system's store as well as an added root */
    eryx__errbuf err = {0};
    const void *roots[1] = {ca};
    ctx = eryx__tls_ctx_new(true, roots, &ca_len, 1, &err);
    CHECKF(ctx, "%s", err.msg);
    if (ctx) CHECKF(try_handshake(ctx, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_OK, "%s", msg);

    /* cadata on a context with the system's store but not the test CA */
    eryx__tls_ctx_free(ctx);
    ctx = eryx__tls_ctx_new(true, NULL, NULL, 0, &err);
    CHECK(try_handshake(ctx, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_VERIFY);
    o.cadata = (const uint8_t *)bundle;
    o.cadata_len = ca_len + ca2_len;
    CHECKF(try_handshake(ctx, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_OK, "%s", msg);
    /* the next connection without it does not trust it */
    o.cadata = NULL;
    o.cadata_len = 0;
    CHECK(try_handshake(ctx, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_VERIFY);
    /* again (the cached store), as DER, and a cadata without the CA */
    o.cadata = (const uint8_t *)bundle;
    o.cadata_len = ca_len + ca2_len;
    CHECKF(try_handshake(ctx, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_OK, "%s", msg);
    o.cadata = der;
    o.cadata_len = der_len;
    CHECKF(try_handshake(ctx, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_OK, "%s", msg);
    o.cadata = (const uint8_t *)ca2;
    o.cadata_len = ca2_len;
    CHECK(try_handshake(ctx, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_VERIFY);
    /* more distinct cadata than the cache holds: each still works */
    for (int i = 0; i < 6; i++) {
        char *variant = malloc(ca_len + 32);
        int n = sprintf(variant, "# variant %d\n%s", i, ca);
        o.cadata = (const uint8_t *)variant;
        o.cadata_len = (size_t)n;
        CHECKF(try_handshake(ctx, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_OK, "%d: %s", i, msg);
        free(variant);
    }
    /* a cadata that does not parse fails the connection's creation, with a message */
    o.cadata = (const uint8_t *)"junk";
    o.cadata_len = 4;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(!eryx__tls_new(ctx, fd, &o, &err));
    CHECKF(strstr(err.msg, "cadata: no certificate found") != NULL, "%s", err.msg);
    close(fd);
    eryx__tls_ctx_free(ctx);
    free(bundle);
    free(der);
    free(ca2);
    free(ca);
}

/* The end of a stream: close_notify and a bare close both read 0. */
static void test_eof(void) {
    eryx__tls_ctx *ctx = ctx_with(NULL, 0);
    eryx__tls_opts o = opts_for("localhost");
    o.verify = false;
    for (int ragged = 0; ragged < 2; ragged++) {
        server s;
        CHECK(start(&s, ragged ? SRV_RAGGED : SRV_CLOSE, NULL, NULL, AF_INET));
        client c;
        client_start(&c, &s, ctx, &o);
        CHECK(c.rc == ERYX__TLS_OK);
        char buf[64];
        ptrdiff_t n = c.t ? read_all(c.t, c.fd, buf, sizeof buf, &c.err) : -1;
        CHECKF(n == 5 && memcmp(buf, "hello", 5) == 0, "ragged %d: %td %s", ragged, n, c.err.msg);
        CHECK(c.t && eryx__tls_read(c.t, buf, sizeof buf, &c.err) == 0); /* and stays at the end */
        client_finish(&c);
        server_join(&s);
    }
    eryx__tls_ctx_free(ctx);
}

/* 1 MiB each way through an echo server, writes and reads interleaved on poll. */
static void test_data(void) {
    size_t ca_len;
    char *ca = testcerts_pem(tc.ca, &ca_len);
    eryx__tls_ctx *ctx = ctx_with(ca, ca_len);
    eryx__tls_opts o = opts_for("localhost");
    server s;
    CHECK(start(&s, SRV_ECHO, NULL, NULL, AF_INET));
    client c;
    client_start(&c, &s, ctx, &o);
    CHECKF(c.rc == ERYX__TLS_OK, "%s", c.err.msg);
    enum { TOTAL = 1 << 20 };
    unsigned char *out = malloc(TOTAL), *in = malloc(TOTAL);
    for (size_t i = 0; i < TOTAL; i++) out[i] = (unsigned char)(i * 7 + (i >> 11));
    size_t sent = 0, got = 0;
    int write_wants = 0, read_wants = ERYX__TLS_WANT_READ, rounds = 0;
    bool failed = c.rc != ERYX__TLS_OK;
    while (!failed && got < TOTAL) {
        rounds++;
        if (sent < TOTAL) {
            /* chunks of odd sizes, retried with the same bytes after WANT_* */
            size_t chunk = TOTAL - sent < 70000 ? TOTAL - sent : 70000;
            ptrdiff_t n = eryx__tls_write(c.t, out + sent, chunk, &c.err);
            if (n > 0) sent += (size_t)n;
            else if (n == ERYX__TLS_WANT_READ || n == ERYX__TLS_WANT_WRITE) write_wants = (int)n;
            else failed = true;
        }
        ptrdiff_t n = eryx__tls_read(c.t, in + got, TOTAL - got, &c.err);
        if (n > 0) got += (size_t)n;
        else if (n == ERYX__TLS_WANT_READ || n == ERYX__TLS_WANT_WRITE) read_wants = (int)n;
        else failed = true;
        if (n > 0 || failed) continue;
        struct pollfd p = {.fd = c.fd, .events = 0};
        if (read_wants == ERYX__TLS_WANT_READ) p.events |= POLLIN;
        if (read_wants == ERYX__TLS_WANT_WRITE) p.events |= POLLOUT;
        if (sent < TOTAL) p.events |= write_wants == ERYX__TLS_WANT_READ ? POLLIN : POLLOUT;
        if (poll(&p, 1, WAIT_MS) != 1) failed = true;
    }
    CHECKF(!failed && got == TOTAL && memcmp(in, out, TOTAL) == 0, "sent %zu got %zu: %s", sent, got, c.err.msg);
    CHECK(eryx__tls_pending(c.t) == 0);
    /* our close_notify, the server's answer, then the end */
    eryx__tls_close_notify(c.t);
    char buf[16];
    CHECK(read_all(c.t, c.fd, (char *)buf, sizeof buf, &c.err) == 0);
    client_finish(&c);
    server_join(&s);
    CHECK(s.echoed == TOTAL);
    printf("1 MiB each way in %d rounds\n", rounds);
    free(out);
    free(in);
    eryx__tls_ctx_free(ctx);
    free(ca);
}

/* Bytes the server sends in a record that are decrypted but not yet read: pending. */
static void test_pending(void) {
    eryx__tls_ctx *ctx = ctx_with(NULL, 0);
    eryx__tls_opts o = opts_for("localhost");
    o.verify = false;
    server s;
    CHECK(start(&s, SRV_CLOSE, NULL, NULL, AF_INET));
    client c;
    client_start(&c, &s, ctx, &o);
    char buf[8];
    ptrdiff_t n = c.t ? read_all(c.t, c.fd, buf, 2, &c.err) : -1;
    CHECK(n == 2 && memcmp(buf, "he", 2) == 0);
    CHECK(c.t && eryx__tls_pending(c.t) == 3);
    CHECK(c.t && eryx__tls_read(c.t, buf, sizeof buf, &c.err) == 3);
    client_finish(&c);
    server_join(&s);
    eryx__tls_ctx_free(ctx);
}

static void test_alpn_versions(void) {
    size_t ca_len;
    char *ca = testcerts_pem(tc.ca, &ca_len), msg[4096];
    eryx__tls_ctx *ctx = ctx_with(ca, ca_len);
    eryx__tls_opts o = opts_for("localhost");
    static const uint8_t alpn[] = "\x02h2\x08http/1.1";
    o.alpn = alpn;
    o.alpn_len = sizeof alpn - 1;
    o.max_version = TLS1_2_VERSION;
    server s;
    CHECK(start(&s, SRV_HOLD, NULL, NULL, AF_INET));
    client c;
    client_start(&c, &s, ctx, &o);
    CHECKF(c.rc == ERYX__TLS_OK, "%s", c.err.msg);
    char *info = c.t ? eryx__tls_info_json(c.t) : NULL;
    client_finish(&c);
    server_join(&s);
    CHECK_STR_EQ(s.alpn, "http/1.1");
    CHECKF(info && strstr(info, "\"version\":\"TLSv1.2\"") && strstr(info, "\"alpn\":\"http/1.1\""), "%s",
           info ? info : "(null)");
    free(info);
    /* Python's TLSVersion.MINIMUM_SUPPORTED/MAXIMUM_SUPPORTED and TLSv1 as a minimum: defaults, raised */
    o = opts_for("localhost");
    o.min_version = -2;
    o.max_version = -1;
    CHECKF(try_handshake(ctx, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_OK, "%s", msg);
    o.min_version = 0x301;
    o.max_version = 0;
    CHECKF(try_handshake(ctx, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_OK, "%s", msg);
    /* refused at creation: a maximum below TLS 1.2, unknown versions, malformed ALPN */
    eryx__errbuf err = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    o.min_version = 0;
    o.max_version = 0x302;
    CHECK(!eryx__tls_new(ctx, fd, &o, &err));
    CHECKF(strstr(err.msg, "below TLS 1.2") != NULL, "%s", err.msg);
    o.max_version = 0x999;
    CHECK(!eryx__tls_new(ctx, fd, &o, &err));
    o.max_version = 0;
    static const uint8_t bad_alpn[] = "\x05h2";
    o.alpn = bad_alpn;
    o.alpn_len = sizeof bad_alpn - 1;
    CHECK(!eryx__tls_new(ctx, fd, &o, &err));
    CHECK_STR_EQ(err.msg, "TLS: malformed ALPN protocol list");
    o.alpn = NULL;
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    o.server_name = longname;
    CHECK(!eryx__tls_new(ctx, fd, &o, &err));
    close(fd);
    eryx__tls_ctx_free(ctx);
    free(ca);
}

/* A server that answers with something other than TLS: an error, at once. */
static void test_garbage(void) {
    eryx__tls_ctx *ctx = ctx_with(NULL, 0);
    eryx__tls_opts o = opts_for("localhost");
    server s;
    CHECK(start(&s, SRV_GARBAGE, NULL, NULL, AF_INET));
    client c;
    client_start(&c, &s, ctx, &o);
    CHECKF(c.rc == ERYX__TLS_ERROR, "rc %d", c.rc);
    CHECKF(strstr(c.err.msg, "TLS error during the handshake: ") == c.err.msg, "%s", c.err.msg);
    printf("garbage server: %s\n", c.err.msg);
    /* later calls fail the same way, and close_notify does nothing */
    char buf[4];
    CHECK(c.t && eryx__tls_read(c.t, buf, sizeof buf, &c.err) == ERYX__TLS_ERROR);
    CHECK(c.t && eryx__tls_write(c.t, "x", 1, &c.err) == ERYX__TLS_ERROR);
    client_finish(&c);
    server_join(&s);
    eryx__tls_ctx_free(ctx);
}

/* Writing to a peer that has gone: an error, not SIGPIPE (checked with SIGPIPE's
** default action, which would end this process). */
static void test_broken_pipe(void) {
    eryx__tls_ctx *ctx = ctx_with(NULL, 0);
    eryx__tls_opts o = opts_for("localhost");
    o.verify = false;
    server s;
    CHECK(start(&s, SRV_GONE, NULL, NULL, AF_INET));
    client c;
    client_start(&c, &s, ctx, &o);
    char buf[8];
    CHECK(c.t && read_all(c.t, c.fd, buf, sizeof buf, &c.err) == 5);
    server_join(&s); /* its socket is closed: our writes meet a reset */
    signal(SIGPIPE, SIG_DFL);
    ptrdiff_t n = 0;
    for (int i = 0; i < 100 && n >= 0; i++) {
        n = c.t ? eryx__tls_write(c.t, "data", 4, &c.err) : -1;
        if (n == ERYX__TLS_WANT_WRITE) n = 0;
        poll(NULL, 0, 1);
    }
    signal(SIGPIPE, SIG_IGN);
    CHECKF(n == ERYX__TLS_ERROR, "%td", n);
    CHECKF(strstr(c.err.msg, "Broken pipe") || strstr(c.err.msg, "Connection reset"), "%s", c.err.msg);
    client_finish(&c);
    eryx__tls_ctx_free(ctx);
}

/* The process's shared stores: contexts with other roots do not see each other's,
** and eryx__tls_shutdown leaves contexts alive working and new ones rebuilt. */
static void test_shared_stores(void) {
    size_t ca_len;
    char *ca = testcerts_pem(tc.ca, &ca_len), msg[4096];
    eryx__tls_opts o = opts_for("localhost");
    eryx__tls_ctx *a = ctx_with(ca, ca_len), *b = ctx_with(ca, ca_len), *none = ctx_with(NULL, 0);
    CHECKF(try_handshake(b, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_OK, "%s", msg);
    CHECK(try_handshake(none, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_VERIFY);
    /* cadata parsed for one context's roots is not another's */
    o.cadata = (const uint8_t *)ca;
    o.cadata_len = ca_len;
    CHECKF(try_handshake(none, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_OK, "%s", msg);
    o.cadata = NULL;
    o.cadata_len = 0;
    CHECK(try_handshake(none, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_VERIFY);
    eryx__tls_shutdown();
    CHECKF(try_handshake(a, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_OK, "%s", msg);
    eryx__tls_ctx *c = ctx_with(ca, ca_len);
    CHECKF(try_handshake(c, &o, NULL, NULL, msg, sizeof msg) == ERYX__TLS_OK, "%s", msg);
    eryx__tls_ctx_free(a);
    eryx__tls_ctx_free(b);
    eryx__tls_ctx_free(c);
    eryx__tls_ctx_free(none);
    free(ca);
}

/* testcerts_write_dir, which other tests use for their servers. */
static void test_write_dir(void) {
    char dir[] = "/tmp/eryx-tls-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK(testcerts_write_dir(dir));
    char path[64], buf[8192];
    snprintf(path, sizeof path, "%s/ca.pem", dir);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    eryx__errbuf err = {0};
    CHECKF(eryx__tls_check_certs(buf, n, &err), "%s", err.msg);
    static const char *const names[] = {"ca.pem", "leaf.pem", "leaf.key"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        CHECK(unlink(path) == 0);
    }
    CHECK(rmdir(dir) == 0);
}

int main(void) {
    /* The server side writes with OpenSSL's socket BIO (write(2)) to clients that
    ** may have gone; the client side, tls.c, must not need this (it sends with
    ** MSG_NOSIGNAL). */
    signal(SIGPIPE, SIG_IGN);
    if (!testcerts_make(&tc)) {
        fprintf(stderr, "cannot make the test certificates\n");
        return 1;
    }
    test_check_certs();
    test_verified();
    test_refusals();
    test_ip_literals();
    test_names();
    test_roots();
    test_eof();
    test_data();
    test_pending();
    test_alpn_versions();
    test_garbage();
    test_broken_pipe();
    test_shared_stores();
    test_write_dir();
    eryx__tls_shutdown();
    testcerts_free(&tc);
    return check_report("test_net_tls");
}
