/*
** The session and the peer's certificate as JSON (tls_info.h): what Python's ssl
** module would say of them, in the same names and spellings, so the guest's ssl
** shim hands them on as they are.
*/
#include "tls_info.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

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

/* URIs of an extension, as getpeercert()'s "OCSP", "caIssuers" (of the authority
** information access, method nid) and "crlDistributionPoints"; added to o only when
** there are some. */
static bool uris_json(json_t *o, const char *key, X509 *x, int ext, int method) {
    json_t *list = json_array();
    bool ok = list != NULL;
    if (ext == NID_info_access) {
        AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
        for (int i = 0; ok && i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
            const ACCESS_DESCRIPTION *d = sk_ACCESS_DESCRIPTION_value(aia, i);
            if (OBJ_obj2nid(d->method) == method && d->location->type == GEN_URI)
                ok = push(list, ia5_json(d->location->d.uniformResourceIdentifier));
        }
        AUTHORITY_INFO_ACCESS_free(aia);
    } else {
        CRL_DIST_POINTS *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
        for (int i = 0; ok && i < sk_DIST_POINT_num(dps); i++) {
            const DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
            if (!dp->distpoint || dp->distpoint->type != 0) continue; /* a full name */
            const GENERAL_NAMES *names = dp->distpoint->name.fullname;
            for (int k = 0; ok && k < sk_GENERAL_NAME_num(names); k++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, k);
                if (g->type == GEN_URI) ok = push(list, ia5_json(g->d.uniformResourceIdentifier));
            }
        }
        CRL_DIST_POINTS_free(dps);
    }
    if (ok && json_array_size(list)) return json_object_set_new(o, key, list) == 0;
    json_decref(list);
    return ok;
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
           put(o, "notAfter", time_json(X509_get0_notAfter(x))) && put(o, "subjectAltName", san_json(x)) &&
           uris_json(o, "OCSP", x, NID_info_access, NID_ad_OCSP) &&
           uris_json(o, "caIssuers", x, NID_info_access, NID_ad_ca_issuers) &&
           uris_json(o, "crlDistributionPoints", x, NID_crl_distribution_points, 0);
}

char *eryx__tls_session_json(SSL *ssl, bool verify) {
    json_t *o = json_object(), *cipher = json_array();
    const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    X509 *peer = SSL_get1_peer_certificate(ssl);
    bool done = SSL_is_init_finished(ssl);
    bool ok = o && put(o, "version", done ? json_string(SSL_get_version(ssl)) : json_null()) &&
              put(o, "alpn", alpn_len ? jstr(alpn, alpn_len) : json_null()) &&
              put(o, "verified", json_boolean(done && verify && SSL_get_verify_result(ssl) == X509_V_OK));
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
