/*
** Exported start states (eryx_builder_export_snapshot / _import_snapshot): a
** builder's snapshot image as one self-contained blob, so a pre-initialized
** configuration can be saved to a file and installed in another process without
** running Python's start, the imports and the setup code again.
**
** Layout (little-endian): "ERYXSTA1" | u64 XXH3 of everything after it | u32 id
** length | u64 image size | id bytes | zstd frame of the image. The id is the
** configuration's snapshot id (src/sandbox/sandbox.c, snapshot_id): a blob only
** installs into a builder whose id is the same.
*/
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <zstd.h>
#include "../common/le.h"
#include "../common/errbuf.h"
#include "../snapshot/snapmem.h"
#include "eryx.h"
#include "sandbox_internal.h"

#define MAGIC "ERYXSTA1"
#define HEADER 28u


eryx_status eryx_builder_export_snapshot(eryx_builder *b, void **blob, size_t *len) {
    if (!b || !blob || !len) return ERYX_ERR_INVALID_ARGUMENT;
    *blob = NULL;
    *len = 0;
    char *id = NULL;
    eryx__snapimg *img = NULL;
    eryx_status st = eryx__builder_start_state(b, &id, &img);
    if (st != ERYX_OK) return st;
    size_t idlen = strlen(id), size = eryx__snapimg_size(img), bound = ZSTD_compressBound(size);
    uint8_t *out = malloc(HEADER + idlen + bound);
    if (!out) {
        st = eryx__fail(eryx__builder_err(b), ERYX_ERR_NO_MEMORY, "no memory for a %zu-byte start state", size);
        goto done;
    }
    memcpy(out, MAGIC, 8);
    eryx__put_le(out + 16, idlen, 4);
    eryx__put_le(out + 20, size, 8);
    memcpy(out + HEADER, id, idlen);
    size_t z = ZSTD_compress(out + HEADER + idlen, bound, eryx__snapimg_view(img), size, 3);
    if (ZSTD_isError(z)) {
        st = eryx__fail(eryx__builder_err(b), ERYX_ERR_NO_MEMORY, "compressing the start state failed: %s",
                        ZSTD_getErrorName(z));
        free(out);
        goto done;
    }
    size_t total = HEADER + idlen + z;
    eryx__put_le(out + 8, XXH3_64bits(out + 16, total - 16), 8);
    uint8_t *shrunk = realloc(out, total);
    *blob = shrunk ? shrunk : out;
    *len = total;
done:
    free(id);
    eryx__snapimg_release(img);
    return st;
}

eryx_status eryx_builder_import_snapshot(eryx_builder *b, const void *blob, size_t len) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    eryx__errbuf *err = eryx__builder_err(b);
    const uint8_t *p = blob;
    if (!p || len < HEADER || memcmp(p, MAGIC, 8) != 0)
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "not an eryx start state (it lacks the %s header)", MAGIC);
    if (XXH3_64bits(p + 16, len - 16) != eryx__get_le(p + 8, 8))
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "the start state is damaged (its checksum does not match)");
    uint64_t idlen = eryx__get_le(p + 16, 4), size = eryx__get_le(p + 20, 8);
    if (idlen > len - HEADER || size == 0 || size % 65536 || size > ((uint64_t)4 << 30))
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "the start state's header is inconsistent");
    char *id = NULL;
    eryx_status st = eryx__builder_start_state(b, &id, NULL);
    if (st != ERYX_OK) return st;
    if (strlen(id) != idlen || memcmp(id, p + HEADER, idlen) != 0) {
        free(id);
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT,
                          "the start state was made for another configuration (another guest build or stdlib "
                          "image, or other environment, imports, setup code, packages or callbacks): make it "
                          "again with this one");
    }
    const uint8_t *z = p + HEADER + idlen;
    size_t zlen = len - HEADER - (size_t)idlen;
    unsigned long long claimed = ZSTD_getFrameContentSize(z, zlen);
    uint8_t *mem = claimed == size ? malloc((size_t)size) : NULL;
    if (claimed != size) st = eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "the start state's image is damaged");
    else if (!mem) st = eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for a %llu-byte start state", claimed);
    if (st == ERYX_OK) {
        size_t got = ZSTD_decompress(mem, (size_t)size, z, zlen);
        if (ZSTD_isError(got) || got != size)
            st = eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "the start state's image is damaged");
    }
    eryx__snapimg *img = NULL;
    char msg[256] = "";
    if (st == ERYX_OK && !(img = eryx__snapimg_new(mem, (size_t)size, msg, sizeof msg)))
        st = eryx__fail(err, ERYX_ERR_NO_MEMORY, "cannot keep the start state: %s", msg);
    free(mem);
    if (st == ERYX_OK) st = eryx__builder_install_state(b, id, img);
    eryx__snapimg_release(img);
    free(id);
    return st;
}
