/*
** libFuzzer target for session snapshot blobs (src/sandbox/session_blob.c). Each
** input is tried twice under a fixed key: as it is (it must be refused, since
** its MAC cannot match, unless it carries the right one), and with the right
** HMAC-SHA-256 appended, as a blob made by a key holder would be, so the parser
** behind the MAC is fuzzed too. Opened blobs declaring at most 16 MiB of memory
** (the limit a sandbox would impose) are unpacked into that memory: the pages lie
** inside it and ascend, and re-encode to a blob that opens and unpacks the same.
** The artifact is all zero, so inputs built from the seed reach the payload.
*/
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include "../src/sandbox/session_blob.h"

#define LIMIT (16u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *blob, size_t len, const eryx__blob_key *key) {
    static const uint8_t artifact[32];
    eryx__blob d;
    const char *why = eryx__blob_open(blob, len, key, artifact, 65536, &d);
    if (why) {
        if (!*why) abort(); /* a refusal always says why */
        return;
    }
    if (d.memory_size % 65536 || d.npages > d.memory_size / ERYX__BLOB_PAGE) abort();
    if (d.memory_size > LIMIT) return; /* refused by the sandbox's memory limit */
    uint8_t *mem = calloc(1, d.memory_size);
    uint32_t *pages = NULL;
    if (!mem) abort();
    if ((why = eryx__blob_unpack(&d, mem, &pages))) {
        if (!*why || pages) abort();
        free(mem);
        return;
    }
    for (uint64_t i = 0; i < d.npages; i++)
        if ((uint64_t)pages[i] * ERYX__BLOB_PAGE >= d.memory_size || (i && pages[i] <= pages[i - 1])) abort();
    uint8_t *again = NULL, *mem2 = calloc(1, d.memory_size);
    uint32_t *pages2 = NULL;
    size_t again_len = 0;
    eryx__blob e;
    if (!mem2 || eryx__blob_encode(key, artifact, mem, d.memory_size, pages, d.npages, &again, &again_len) ||
        eryx__blob_open(again, again_len, key, artifact, 65536, &e) || e.npages != d.npages ||
        eryx__blob_unpack(&e, mem2, &pages2) || (d.npages && memcmp(pages, pages2, d.npages * sizeof *pages) != 0) ||
        memcmp(mem, mem2, d.memory_size) != 0)
        abort();
    free(pages2);
    free(mem2);
    free(again);
    free(pages);
    free(mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint8_t raw_key[32] = "fuzz_session_blob's fixed key!!";
    eryx__blob_key key;
    if (eryx__blob_key_set(&key, raw_key, sizeof raw_key) != 0) abort();
    check(data, size, &key);
    uint8_t *signed_blob = malloc(size + ERYX__BLOB_MAC);
    unsigned int n = 0;
    if (!signed_blob) abort();
    memcpy(signed_blob, data, size);
    if (!HMAC(EVP_sha256(), key.bytes, (int)key.len, data, size, signed_blob + size, &n) || n != ERYX__BLOB_MAC)
        abort();
    check(signed_blob, size + ERYX__BLOB_MAC, &key);
    free(signed_blob);
    return 0;
}
