/* Unit test of the session blob format (src/sandbox/session_blob.c): a round trip
** under a key; refusals of a blob under another key, of every single-bit flip,
** of every truncation, of a byte appended, of a format-1 blob (with the message
** saying what to do), of a forged blob declaring 4 GiB (refused by the MAC, before
** anything is allocated); the MAC is HMAC-SHA-256 exactly, long keys included;
** eryx_builder_set_session_key's checks. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include "../src/sandbox/session_blob.h"
#include "check.h"
#include "eryx.h"

static uint8_t mem[4 * 65536];
static const uint8_t artifact[32] = {1, 2, 3};

static uint8_t *make(const eryx__blob_key *k, uint64_t memory_size, const uint32_t *pages, size_t n, size_t *len) {
    uint8_t *blob = NULL;
    const char *why = eryx__blob_encode(k, artifact, mem, memory_size, pages, n, &blob, len);
    CHECK(why == NULL && blob);
    return blob;
}

static const char *open_blob(const uint8_t *blob, size_t len, const eryx__blob_key *k) {
    eryx__blob d;
    return eryx__blob_open(blob, len, k, artifact, 65536, &d);
}

int main(void) {
    for (size_t i = 0; i < sizeof mem; i++) mem[i] = (uint8_t)(i * 13 + (i >> 12));
    eryx__blob_key k, other;
    uint8_t raw[32], raw2[32];
    for (int i = 0; i < 32; i++) raw[i] = (uint8_t)i, raw2[i] = (uint8_t)(i + 1);
    CHECK(eryx__blob_key_set(&k, raw, 32) == 0 && eryx__blob_key_set(&other, raw2, 32) == 0);

    /* Round trip: the pages come back where they were, nothing else is written. */
    uint32_t pages[3] = {1, 7, 60};
    size_t len = 0;
    uint8_t *blob = make(&k, sizeof mem, pages, 3, &len);
    eryx__blob d;
    CHECK(eryx__blob_open(blob, len, &k, artifact, 65536, &d) == NULL);
    CHECK(d.memory_size == sizeof mem && d.npages == 3);
    uint8_t *back = calloc(1, sizeof mem);
    uint32_t *got = NULL;
    CHECK(eryx__blob_unpack(&d, back, &got) == NULL && got);
    for (int i = 0; got && i < 3; i++) {
        CHECK(got[i] == pages[i]);
        CHECK(memcmp(back + pages[i] * 4096u, mem + pages[i] * 4096u, 4096) == 0);
    }
    CHECK(back[0] == 0 && back[2 * 4096] == 0);
    free(got);
    free(back);

    /* Another key; every single-bit flip; every truncation; a byte appended. */
    const char *why = open_blob(blob, len, &other);
    CHECK(why && strstr(why, "authentication"));
    int flips_refused = 0;
    for (size_t i = 0; i < len * 8; i++) {
        blob[i / 8] ^= (uint8_t)(1u << (i % 8));
        flips_refused += open_blob(blob, len, &k) != NULL;
        blob[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    CHECK(flips_refused == (int)(len * 8));
    fprintf(stderr, "%d single-bit flips of a %zu-byte blob: all refused\n", flips_refused, len);
    int cuts_refused = 0;
    for (size_t l = 0; l < len; l++) cuts_refused += open_blob(blob, l, &k) != NULL;
    CHECK(cuts_refused == (int)len);
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, blob, len);
    longer[len] = 0;
    CHECK(open_blob(longer, len + 1, &k) != NULL);
    free(longer);
    CHECK(open_blob(blob, len, &k) == NULL); /* the flips were undone */

    /* The MAC is HMAC-SHA-256 of everything before it; a key longer than a block
    ** is hashed first, as HMAC does, so the MAC is the same as with the key. */
    uint8_t want[32], long_key[100];
    unsigned int n = 0;
    for (int i = 0; i < 100; i++) long_key[i] = (uint8_t)(i * 7);
    HMAC(EVP_sha256(), raw, 32, blob, len - 32, want, &n);
    CHECK(n == 32 && memcmp(want, blob + len - 32, 32) == 0);
    eryx__blob_key lk;
    CHECK(eryx__blob_key_set(&lk, long_key, sizeof long_key) == 0 && lk.len == 32);
    size_t llen = 0;
    uint8_t *lblob = make(&lk, sizeof mem, pages, 3, &llen);
    HMAC(EVP_sha256(), long_key, sizeof long_key, lblob, llen - 32, want, &n);
    CHECK(memcmp(want, lblob + llen - 32, 32) == 0);
    free(lblob);

    /* Behind the MAC (blobs a key holder made wrong): a page list out of order, and
    ** a payload changed then signed again, are refused by the unpacking. */
    uint32_t unordered[2] = {7, 1};
    size_t ulen = 0;
    uint8_t *ublob = make(&k, sizeof mem, unordered, 2, &ulen);
    uint8_t *scratch = calloc(1, sizeof mem);
    CHECK(eryx__blob_open(ublob, ulen, &k, artifact, 65536, &d) == NULL);
    why = eryx__blob_unpack(&d, scratch, NULL);
    CHECK(why && strstr(why, "bad page list"));
    free(ublob);
    memcpy(scratch, blob, len);
    scratch[len / 2] ^= 0x40;
    HMAC(EVP_sha256(), raw, 32, scratch, len - 32, scratch + len - 32, &n);
    why = eryx__blob_open(scratch, len, &k, artifact, 65536, &d);
    if (!why) {
        uint8_t *into = calloc(1, sizeof mem);
        why = eryx__blob_unpack(&d, into, NULL);
        free(into);
    }
    CHECK(why && strstr(why, "damaged"));
    free(scratch);

    /* Format 1 (an older eryx's, unauthenticated): refused, saying what to do. */
    uint8_t v1[128] = "ERYXSESS\x01";
    why = open_blob(v1, sizeof v1, &k);
    CHECK(why && strstr(why, "format 1") && strstr(why, "again"));

    /* A forged blob: the structure right, the memory 4 GiB, every page listed, the
    ** MAC made with a guessed key. Refused by the MAC: the figures in its header
    ** are never believed, nothing is allocated. */
    uint32_t many[64];
    for (uint32_t i = 0; i < 64; i++) many[i] = i;
    size_t flen = 0;
    uint8_t *forged = NULL;
    CHECK(eryx__blob_encode(&other, artifact, mem, (uint64_t)4 << 30, many, 64, &forged, &flen) == NULL);
    CHECK(forged && flen < 4096);
    why = open_blob(forged, flen, &k);
    CHECK(why && strstr(why, "authentication"));
    free(forged);

    /* The builder's key: at least 32 bytes; NULL and 0 go back to the default. */
    eryx_builder *b = eryx_builder_new();
    CHECK(eryx_builder_set_session_key(b, raw, 31) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(eryx_builder_errmsg(b), "at least 32") != NULL);
    CHECK(eryx_builder_set_session_key(b, NULL, 32) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_set_session_key(b, raw, 32) == ERYX_OK);
    CHECK(eryx_builder_set_session_key(b, long_key, sizeof long_key) == ERYX_OK);
    CHECK(eryx_builder_set_session_key(b, NULL, 0) == ERYX_OK);
    CHECK(eryx_builder_set_session_key(NULL, raw, 32) == ERYX_ERR_INVALID_ARGUMENT);
    eryx_builder_free(b);
    free(blob);
    return check_report("test_session_blob");
}
