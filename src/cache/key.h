/* Content keys: SHA-256 (OpenSSL's libcrypto) over the inputs of an artifact. */
#ifndef ERYX_CACHE_KEY_H
#define ERYX_CACHE_KEY_H
#include <stddef.h>

#define ERYX__KEY_HEX_LEN 64

typedef struct eryx__key_ctx eryx__key_ctx;

/* Starts a key; NULL when out of memory. */
eryx__key_ctx *eryx__key_begin(void);
/* Adds a length-prefixed field, so ("ab","c") and ("a","bc") give different keys. */
void eryx__key_add(eryx__key_ctx *ctx, const void *data, size_t len);
void eryx__key_add_str(eryx__key_ctx *ctx, const char *s);
/* Writes 64 lowercase hex digits and a NUL to hex, and frees ctx. Returns 0 on success. */
int eryx__key_end(eryx__key_ctx *ctx, char hex[ERYX__KEY_HEX_LEN + 1]);
/* One-shot SHA-256 of a buffer, as hex. Returns 0 on success. */
int eryx__sha256_hex(const void *data, size_t len, char hex[ERYX__KEY_HEX_LEN + 1]);

#endif
