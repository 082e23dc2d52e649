/* Session snapshot blobs; see session_blob.h. The MAC is blob_key.c's (OpenSSL's
** HMAC-SHA-256); nothing here holds state or knows about sandboxes. */
#include "../common/le.h"
#include "session_blob.h"
#include <stdlib.h>
#include <string.h>
#include <zstd.h>


const char eryx__blob_no_memory[] = "out of memory";
#define MAGIC "ERYXSESS"
#define FORMAT 2u
#define HEADER 72u
#define WINDOW_LOG 21 /* zstd's window: 2 MiB, the most a decoder allocates for it */
#define MAX_MEMORY ((uint64_t)4 << 30)

const char *eryx__blob_encode(const eryx__blob_key *key, const uint8_t artifact[32], const uint8_t *mem,
                              uint64_t memory_size, const uint32_t *pages, size_t n, uint8_t **out, size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    size_t raw_len = n * (4 + ERYX__BLOB_PAGE), bound = ZSTD_compressBound(raw_len);
    uint8_t *raw = malloc(raw_len ? raw_len : 1), *blob = raw ? malloc(HEADER + bound + ERYX__BLOB_MAC) : NULL;
    ZSTD_CCtx *cc = blob ? ZSTD_createCCtx() : NULL;
    if (!cc) {
        free(raw);
        free(blob);
        return eryx__blob_no_memory;
    }
    for (size_t i = 0; i < n; i++) {
        eryx__put_le(raw + 4 * i, pages[i], 4);
        memcpy(raw + 4 * n + i * ERYX__BLOB_PAGE, mem + (size_t)pages[i] * ERYX__BLOB_PAGE, ERYX__BLOB_PAGE);
    }
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 3);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, WINDOW_LOG);
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
    if (eryx__blob_mac(key, blob, HEADER + z, blob + HEADER + z) != 0) {
        free(blob);
        return "the MAC could not be computed";
    }
    *out = blob;
    *out_len = HEADER + z + ERYX__BLOB_MAC;
    return NULL;
}

const char *eryx__blob_open(const uint8_t *b, size_t len, const eryx__blob_key *key, const uint8_t artifact[32],
                            uint64_t image_size, eryx__blob *out) {
    memset(out, 0, sizeof *out);
    if (len < 12 || memcmp(b, MAGIC, 8) != 0) return "not a session snapshot (bad magic or too short)";
    uint64_t format = eryx__get_le(b + 8, 4);
    if (format == 1)
        return "a session snapshot of format 1, made by an older eryx without authentication: it cannot be "
               "trusted, so it is refused; take the snapshot again with this version";
    if (format != FORMAT) return "a session snapshot of an unknown format (made by a newer eryx?)";
    if (len < HEADER + ERYX__BLOB_MAC) return "not a session snapshot (too short)";
    /* Authenticate everything before believing any of it. */
    size_t body = len - ERYX__BLOB_MAC;
    int ok = eryx__blob_mac_check(key, b, body, b + body);
    if (ok < 0) return "the session snapshot's MAC could not be computed";
    if (!ok)
        return "the session snapshot failed authentication: it was made with another key (in another process "
               "without a shared key: eryx_builder_set_session_key), or it is damaged or forged";
    if (eryx__get_le(b + 12, 4) != ERYX__BLOB_PAGE) return "a session snapshot of an unknown page size";
    if (memcmp(b + 16, artifact, 32) != 0)
        return "the session snapshot was made from another artifact (another guest, engine, environment, imports "
               "or setup code): restore it into a sandbox built with the same configuration";
    uint64_t size = eryx__get_le(b + 48, 8), n = eryx__get_le(b + 56, 8), z = eryx__get_le(b + 64, 8);
    if (z != body - HEADER || size % 65536 || size < image_size || size > MAX_MEMORY || n > size / ERYX__BLOB_PAGE)
        return "a damaged session snapshot (inconsistent header)";
    if (ZSTD_getFrameContentSize(b + HEADER, (size_t)z) != n * (4 + ERYX__BLOB_PAGE))
        return "a damaged session snapshot (bad payload size)";
    out->memory_size = size;
    out->npages = n;
    out->payload = b + HEADER;
    out->payload_len = (size_t)z;
    return NULL;
}

/* Fills dst[0..len) from the stream; 0, or -1 when it ends or fails first. *ended
** says whether the frame is complete (its checksum checked). */
static int pull(ZSTD_DCtx *dc, ZSTD_inBuffer *in, uint8_t *dst, size_t len, int *ended) {
    ZSTD_outBuffer o = {dst, len, 0};
    while (o.pos < o.size) {
        size_t before = in->pos, got = o.pos;
        size_t r = ZSTD_decompressStream(dc, &o, in);
        if (ZSTD_isError(r) || (r == 0 && o.pos < o.size) || (in->pos == before && o.pos == got)) return -1;
        *ended = r == 0;
    }
    return 0;
}

const char *eryx__blob_unpack(const eryx__blob *b, uint8_t *mem, uint32_t **pages) {
    if (pages) *pages = NULL;
    uint64_t n = b->npages;
    uint8_t *list = malloc(n ? 4 * n : 1);
    uint32_t *nums = pages ? malloc((n ? n : 1) * sizeof *nums) : NULL;
    ZSTD_DCtx *dc = list && (nums || !pages) ? ZSTD_createDCtx() : NULL;
    const char *why = NULL;
    if (!dc) {
        why = eryx__blob_no_memory;
        goto done;
    }
    ZSTD_DCtx_setParameter(dc, ZSTD_d_windowLogMax, WINDOW_LOG);
    ZSTD_inBuffer in = {b->payload, b->payload_len, 0};
    int ended = 0;
    if (pull(dc, &in, list, 4 * n, &ended) != 0) {
        why = "a damaged session snapshot (its payload does not decompress)";
        goto done;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint64_t p = eryx__get_le(list + 4 * i, 4);
        if (p >= b->memory_size / ERYX__BLOB_PAGE || (i && p <= eryx__get_le(list + 4 * (i - 1), 4))) {
            why = "a damaged session snapshot (bad page list)";
            goto done;
        }
        if (nums) nums[i] = (uint32_t)p;
    }
    /* Runs of consecutive pages are one pull each: fewer calls into zstd. */
    for (uint64_t i = 0, j; i < n; i = j) {
        uint64_t first = eryx__get_le(list + 4 * i, 4);
        for (j = i + 1; j < n && eryx__get_le(list + 4 * j, 4) == first + (j - i); j++);
        if (pull(dc, &in, mem + first * ERYX__BLOB_PAGE, (size_t)(j - i) * ERYX__BLOB_PAGE, &ended) != 0) {
            why = "a damaged session snapshot (its payload does not decompress)";
            goto done;
        }
    }
    /* The frame must end here, its checksum checked, with nothing after it. */
    if (!ended) {
        uint8_t extra;
        ZSTD_outBuffer o = {&extra, 1, 0};
        size_t r = ZSTD_decompressStream(dc, &o, &in);
        ended = !ZSTD_isError(r) && r == 0 && o.pos == 0;
    }
    if (!ended || in.pos != in.size) why = "a damaged session snapshot (its payload does not end where it should)";
done:
    ZSTD_freeDCtx(dc);
    free(list);
    if (why || !pages) free(nums);
    else *pages = nums;
    return why;
}
