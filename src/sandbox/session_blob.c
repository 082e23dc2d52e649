/* Session snapshot blobs; see session_blob.h. */
#include "../common/le.h"
#include "session_blob.h"
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <zstd.h>

#define MAGIC "ERYXSESS"
#define FORMAT 1u
#define HEADER 80u


static uint64_t checksum(const uint8_t *b, size_t payload_len) {
    return XXH3_64bits_withSeed(b + HEADER, payload_len, XXH3_64bits(b, 72));
}

uint32_t eryx__blob_page(const eryx__blob *b, uint64_t i) { return (uint32_t)eryx__get_le(b->raw + 4 * i, 4); }

const uint8_t *eryx__blob_page_bytes(const eryx__blob *b, uint64_t i) {
    return b->raw + 4 * b->npages + i * ERYX__BLOB_PAGE;
}

const char *eryx__blob_encode(const uint8_t artifact[32], const uint8_t *mem, uint64_t memory_size,
                              const uint32_t *pages, size_t n, uint8_t **out, size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    size_t raw_len = n * (4 + ERYX__BLOB_PAGE), bound = ZSTD_compressBound(raw_len);
    uint8_t *raw = malloc(raw_len ? raw_len : 1), *blob = raw ? malloc(HEADER + bound) : NULL;
    ZSTD_CCtx *cc = blob ? ZSTD_createCCtx() : NULL;
    if (!cc) {
        free(raw);
        free(blob);
        return "out of memory";
    }
    for (size_t i = 0; i < n; i++) {
        eryx__put_le(raw + 4 * i, pages[i], 4);
        memcpy(raw + 4 * n + i * ERYX__BLOB_PAGE, mem + (size_t)pages[i] * ERYX__BLOB_PAGE, ERYX__BLOB_PAGE);
    }
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 3);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    size_t z = ZSTD_compress2(cc, blob + HEADER, bound, raw, raw_len);
    ZSTD_freeCCtx(cc);
    free(raw);
    if (ZSTD_isError(z)) {
        free(blob);
        return "compression failed";
    }
    memcpy(blob, MAGIC, 8);
    eryx__put_le(blob + 8, FORMAT, 4);
    eryx__put_le(blob + 12, ERYX__BLOB_PAGE, 4);
    memcpy(blob + 16, artifact, 32);
    eryx__put_le(blob + 48, memory_size, 8);
    eryx__put_le(blob + 56, n, 8);
    eryx__put_le(blob + 64, z, 8);
    eryx__put_le(blob + 72, checksum(blob, z), 8);
    *out = blob;
    *out_len = HEADER + z;
    return NULL;
}

const char *eryx__blob_decode(const uint8_t *b, size_t len, const uint8_t artifact[32], uint64_t image_size,
                              eryx__blob *out) {
    memset(out, 0, sizeof *out);
    if (len < HEADER || memcmp(b, MAGIC, 8) != 0) return "not a session snapshot (bad magic or too short)";
    if (eryx__get_le(b + 8, 4) != FORMAT || eryx__get_le(b + 12, 4) != ERYX__BLOB_PAGE)
        return "a session snapshot of an unknown format";
    if (memcmp(b + 16, artifact, 32) != 0)
        return "the session snapshot was made from another artifact (another guest, engine, environment, imports "
               "or setup code): restore it into a sandbox built with the same configuration";
    uint64_t size = eryx__get_le(b + 48, 8), n = eryx__get_le(b + 56, 8), z = eryx__get_le(b + 64, 8);
    if (z != len - HEADER || eryx__get_le(b + 72, 8) != checksum(b, (size_t)z))
        return "a damaged session snapshot (checksum mismatch)";
    if (size % 65536 || size < image_size || size > ((uint64_t)4 << 30) || n > size / ERYX__BLOB_PAGE)
        return "a damaged session snapshot (inconsistent header)";
    size_t raw_len = (size_t)n * (4 + ERYX__BLOB_PAGE);
    if (ZSTD_getFrameContentSize(b + HEADER, (size_t)z) != raw_len)
        return "a damaged session snapshot (bad payload size)";
    uint8_t *raw = malloc(raw_len ? raw_len : 1);
    if (!raw) return "out of memory";
    size_t got = ZSTD_decompress(raw, raw_len, b + HEADER, (size_t)z);
    if (ZSTD_isError(got) || got != raw_len) {
        free(raw);
        return "a damaged session snapshot (its payload does not decompress)";
    }
    for (uint64_t i = 0; i < n; i++) {
        uint64_t p = eryx__get_le(raw + 4 * i, 4);
        if (p >= size / ERYX__BLOB_PAGE || (i && p <= eryx__get_le(raw + 4 * (i - 1), 4))) {
            free(raw);
            return "a damaged session snapshot (bad page list)";
        }
    }
    out->memory_size = size;
    out->npages = n;
    out->raw = raw;
    return NULL;
}
