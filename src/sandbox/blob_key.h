/*
** The keys and the MAC of eryx's authenticated blobs (session blobs,
** session_blob.h; exported start states, start_state.c): HMAC-SHA-256 with
** OpenSSL's libcrypto, the process's own random key, and the machine's key kept
** in a cache directory.
*/
#ifndef ERYX_BLOB_KEY_H
#define ERYX_BLOB_KEY_H
#include <stddef.h>
#include <stdint.h>

#define ERYX__BLOB_MAC 32u       /* HMAC-SHA-256 */
#define ERYX__BLOB_KEY_MIN 32u   /* bytes: RFC 2104 discourages keys shorter than the MAC */
#define ERYX__BLOB_KEY_BLOCK 64u /* SHA-256's block: longer keys are hashed to 32 bytes first */
#define ERYX__MACHINE_KEY_FILE "state.key"

/* An HMAC key as HMAC itself uses it: at most one block (a longer key is replaced
** by its SHA-256, as RFC 2104 says, so the MAC is the same). */
typedef struct eryx__blob_key {
    uint8_t bytes[ERYX__BLOB_KEY_BLOCK];
    size_t len;
} eryx__blob_key;

/* Makes k from len bytes (any length; the caller enforces the minimum). 0, or -1
** when hashing a long key failed. */
int eryx__blob_key_set(eryx__blob_key *k, const void *key, size_t len);

/* out = HMAC-SHA-256 of data under key. 0, or -1 when libcrypto failed. */
int eryx__blob_mac(const eryx__blob_key *key, const uint8_t *data, size_t len, uint8_t out[ERYX__BLOB_MAC]);

/* Whether mac equals the HMAC of data under key, compared in constant time
** (CRYPTO_memcmp). 1 yes, 0 no, -1 when libcrypto failed. */
int eryx__blob_mac_check(const eryx__blob_key *key, const uint8_t *data, size_t len, const uint8_t mac[ERYX__BLOB_MAC]);

/* The process's own key: 32 bytes from getrandom, made on first use
** (thread-safe) and kept for the process's life. 0, or -1 with errno. */
int eryx__blob_process_key(eryx__blob_key *out);

/* The machine's key: the 32 bytes of dir/state.key, made on first use (random,
** written 0600 under a temporary name opened O_EXCL, then published with link(),
** which never replaces a key another process made meanwhile) and read again on
** every use. The file must be a regular file of this user, 32 bytes, with no
** group or other permission. 0, or -1 with a reason in why (dir NULL, missing or
** unwritable, a bad file): the caller then falls back to the process's key. */
int eryx__blob_machine_key(const char *dir, eryx__blob_key *out, char *why, size_t why_len);

#endif
