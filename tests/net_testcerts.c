/* Test certificates (net_testcerts.h): made with OpenSSL's X509 API. */
#include "net_testcerts.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

EVP_PKEY *testcerts_key(void) { return EVP_EC_gen("P-256"); }

static bool add_ext(X509 *x, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    bool ok = ext && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

X509 *testcerts_issue(const char *cn, const char *const *dns, const char *const *ips, EVP_PKEY *key, X509 *issuer,
                      EVP_PKEY *issuer_key, bool is_ca) {
    X509 *x = X509_new();
    if (!x) return NULL;
    unsigned char serial[16];
    ASN1_INTEGER *sn = NULL;
    BIGNUM *bn = NULL;
    bool ok = RAND_bytes(serial, sizeof serial) == 1;
    serial[0] &= 0x7f; /* positive */
    ok = ok && (bn = BN_bin2bn(serial, sizeof serial, NULL)) && (sn = BN_to_ASN1_INTEGER(bn, NULL)) &&
         X509_set_version(x, 2) && X509_set_serialNumber(x, sn) && X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
         X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 86400) && X509_set_pubkey(x, key);
    BN_free(bn);
    ASN1_INTEGER_free(sn);
    X509_NAME *name = X509_get_subject_name(x);
    ok = ok && X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"eryx tests", -1, -1, 0) &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509 *signer = issuer ? issuer : x;
    ok = ok && X509_set_issuer_name(x, X509_get_subject_name(signer));
    ok = ok && add_ext(x, signer, NID_subject_key_identifier, "hash") &&
         (!issuer || add_ext(x, signer, NID_authority_key_identifier, "keyid:always"));
    if (is_ca)
        ok = ok && add_ext(x, signer, NID_basic_constraints, "critical,CA:TRUE") &&
             add_ext(x, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    else
        ok = ok && add_ext(x, signer, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(x, signer, NID_key_usage, "critical,digitalSignature") &&
             add_ext(x, signer, NID_ext_key_usage, "serverAuth");
    char san[1024] = "";
    for (size_t i = 0; dns && dns[i]; i++)
        snprintf(san + strlen(san), sizeof san - strlen(san), "%s%s%s", *san ? "," : "",
                 strchr(dns[i], ':') ? "" : "DNS:", dns[i]);
    for (size_t i = 0; ips && ips[i]; i++)
        snprintf(san + strlen(san), sizeof san - strlen(san), "%sIP:%s", *san ? "," : "", ips[i]);
    if (*san) ok = ok && add_ext(x, signer, NID_subject_alt_name, san);
    ok = ok && X509_sign(x, issuer ? issuer_key : key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

void testcerts_free(testcerts *tc) {
    EVP_PKEY_free(tc->ca_key);
    EVP_PKEY_free(tc->ca2_key);
    EVP_PKEY_free(tc->leaf_key);
    EVP_PKEY_free(tc->other_key);
    EVP_PKEY_free(tc->self_key);
    X509_free(tc->ca);
    X509_free(tc->ca2);
    X509_free(tc->leaf);
    X509_free(tc->other);
    X509_free(tc->self);
    memset(tc, 0, sizeof *tc);
}

bool testcerts_make(testcerts *tc) {
    memset(tc, 0, sizeof *tc);
    static const char *const local_dns[] = {"localhost", NULL}, *const local_ips[] = {"127.0.0.1", "::1", NULL};
    static const char *const other_dns[] = {"other.test", NULL}, *const self_ips[] = {"127.0.0.1", NULL};
    bool ok =
        (tc->ca_key = testcerts_key()) && (tc->ca2_key = testcerts_key()) && (tc->leaf_key = testcerts_key()) &&
        (tc->other_key = testcerts_key()) && (tc->self_key = testcerts_key()) &&
        (tc->ca = testcerts_issue("eryx test CA", NULL, NULL, tc->ca_key, NULL, NULL, true)) &&
        (tc->ca2 = testcerts_issue("eryx other CA", NULL, NULL, tc->ca2_key, NULL, NULL, true)) &&
        (tc->leaf = testcerts_issue("localhost", local_dns, local_ips, tc->leaf_key, tc->ca, tc->ca_key, false)) &&
        (tc->other = testcerts_issue("other.test", other_dns, NULL, tc->other_key, tc->ca, tc->ca_key, false)) &&
        (tc->self = testcerts_issue("localhost", local_dns, self_ips, tc->self_key, NULL, NULL, false));
    if (!ok) testcerts_free(tc);
    return ok;
}

/* The bytes a memory BIO holds, malloc'd with a NUL after them. */
static char *bio_take(BIO *b, bool ok, size_t *len) {
    char *p = NULL, *out = NULL;
    long n = b ? BIO_get_mem_data(b, &p) : -1;
    if (ok && n >= 0 && (out = malloc((size_t)n + 1))) {
        memcpy(out, p, (size_t)n);
        out[n] = '\0';
        if (len) *len = (size_t)n;
    }
    BIO_free(b);
    return out;
}

char *testcerts_pem(X509 *x, size_t *len) {
    BIO *b = BIO_new(BIO_s_mem());
    return bio_take(b, b && PEM_write_bio_X509(b, x), len);
}

char *testcerts_key_pem(EVP_PKEY *key, size_t *len) {
    BIO *b = BIO_new(BIO_s_mem());
    return bio_take(b, b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL), len);
}

unsigned char *testcerts_der(X509 *x, size_t *len) {
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    if (n <= 0) return NULL;
    unsigned char *out = malloc((size_t)n);
    if (out) memcpy(out, der, (size_t)n);
    OPENSSL_free(der);
    *len = (size_t)n;
    return out;
}

static bool write_file(const char *dir, const char *name, const char *text) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = text ? fopen(path, "w") : NULL;
    bool ok = f && fputs(text, f) >= 0;
    if (f && fclose(f) != 0) ok = false;
    return ok;
}

bool testcerts_write_dir(const char *dir) {
    testcerts tc;
    if (!testcerts_make(&tc)) return false;
    char *ca = testcerts_pem(tc.ca, NULL), *leaf = testcerts_pem(tc.leaf, NULL);
    char *key = testcerts_key_pem(tc.leaf_key, NULL);
    bool ok = write_file(dir, "ca.pem", ca) && write_file(dir, "leaf.pem", leaf) && write_file(dir, "leaf.key", key);
    free(ca);
    free(leaf);
    free(key);
    testcerts_free(&tc);
    return ok;
}
