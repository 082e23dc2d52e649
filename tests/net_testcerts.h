/*
** Test certificates made with OpenSSL's API (EC P-256, valid from an hour ago for
** ten years): a test CA, leaves it signs, a self-signed leaf, as X509 objects, PEM
** or DER in memory, or PEM files in a directory. For tests only (servers on
** 127.0.0.1/::1 started by the tests); no network, no randomness beyond the keys.
*/
#ifndef ERYX_NET_TESTCERTS_H
#define ERYX_NET_TESTCERTS_H
#include <stdbool.h>
#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* A fresh EC P-256 key; NULL on failure. */
EVP_PKEY *testcerts_key(void);

/* A certificate for key with subject CN cn, signed by issuer/issuer_key (NULL:
** self-signed with key). dns and ips are NULL-terminated lists of subjectAltNames
** (either may be NULL; an entry of dns with a ':' is given as it is, in OpenSSL's
** syntax: "email:a@b.test", "URI:https://x/"). is_ca: a CA (basicConstraints CA:TRUE, keyCertSign), else a
** TLS server leaf (serverAuth). NULL on failure. */
X509 *testcerts_issue(const char *cn, const char *const *dns, const char *const *ips, EVP_PKEY *key, X509 *issuer,
                      EVP_PKEY *issuer_key, bool is_ca);

/* The set most tests want. */
typedef struct testcerts {
    EVP_PKEY *ca_key, *ca2_key, *leaf_key, *other_key, *self_key;
    X509 *ca;    /* "eryx test CA" */
    X509 *ca2;   /* "eryx other CA", which signed nothing here: an untrusted root */
    X509 *leaf;  /* by ca: CN localhost, DNS:localhost, IP:127.0.0.1, IP:::1 */
    X509 *other; /* by ca: CN other.test, DNS:other.test */
    X509 *self;  /* self-signed: CN localhost, DNS:localhost, IP:127.0.0.1 */
} testcerts;

bool testcerts_make(testcerts *tc); /* false (tc freed) on failure */
void testcerts_free(testcerts *tc);

/* PEM (NUL-terminated) or DER of a certificate, PEM of a private key: malloc'd,
** *len set (may be NULL for PEM); NULL on failure. */
char *testcerts_pem(X509 *x, size_t *len);
unsigned char *testcerts_der(X509 *x, size_t *len);
char *testcerts_key_pem(EVP_PKEY *key, size_t *len);

/* Writes dir/ca.pem (a fresh test CA), dir/leaf.pem (a leaf it signed for
** localhost, 127.0.0.1 and ::1) and dir/leaf.key (its key, unencrypted PEM).
** false on failure. */
bool testcerts_write_dir(const char *dir);

#endif
