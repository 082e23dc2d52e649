/* SHA-256 through OpenSSL's EVP interface: a well-kept, audited implementation
** with SHA-NI/AVX2 code paths, already on every Debian machine (libssl3). */
#include "key.h"
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct eryx__key_ctx {
    EVP_MD_CTX *md;
    int failed;
};

eryx__key_ctx *eryx__key_begin(void) {
    eryx__key_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return NULL;
    ctx->md = EVP_MD_CTX_new();
    if (!ctx->md || EVP_DigestInit_ex(ctx->md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx->md);
        free(ctx);
        return NULL;
    }
    return ctx;
}

void eryx__key_add(eryx__key_ctx *ctx, const void *data, size_t len) {
    uint8_t prefix[8];
    for (int i = 0; i < 8; i++) prefix[i] = (uint8_t)((uint64_t)len >> (8 * i));
    if (EVP_DigestUpdate(ctx->md, prefix, sizeof prefix) != 1 || (len && EVP_DigestUpdate(ctx->md, data, len) != 1))
        ctx->failed = 1;
}

void eryx__key_add_str(eryx__key_ctx *ctx, const char *s) { eryx__key_add(ctx, s, strlen(s)); }

static void to_hex(const unsigned char *d, unsigned n, char *hex) {
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[2 * n] = '\0';
}

int eryx__key_end(eryx__key_ctx *ctx, char hex[ERYX__KEY_HEX_LEN + 1]) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    int rc = (!ctx->failed && EVP_DigestFinal_ex(ctx->md, d, &n) == 1 && n == 32) ? 0 : -1;
    if (rc == 0) to_hex(d, n, hex);
    EVP_MD_CTX_free(ctx->md);
    free(ctx);
    return rc;
}

int eryx__sha256_hex(const void *data, size_t len, char hex[ERYX__KEY_HEX_LEN + 1]) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (EVP_Digest(data, len, d, &n, EVP_sha256(), NULL) != 1 || n != 32) return -1;
    to_hex(d, n, hex);
    return 0;
}
