/*
** libFuzzer target for session snapshot blobs (src/sandbox/session_blob.c): any
** input is refused with a message or decodes to pages that lie inside the memory
** and ascend; a decoded blob re-encodes to one that decodes to the same pages.
** The artifact is all zero, so inputs built from the seed reach the payload.
*/
#include <stdlib.h>
#include <string.h>
#include "../src/sandbox/session_blob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint8_t artifact[32];
    eryx__blob d;
    const char *why = eryx__blob_decode(data, size, artifact, 65536, &d);
    if (why) {
        if (!*why) abort(); /* a refusal always says why */
        return 0;
    }
    if (d.memory_size % 65536 || d.npages > d.memory_size / ERYX__BLOB_PAGE) abort();
    uint8_t *mem = calloc(1, d.memory_size);
    uint32_t *pages = malloc((d.npages ? d.npages : 1) * sizeof *pages);
    if (!mem || !pages) abort();
    for (uint64_t i = 0; i < d.npages; i++) {
        pages[i] = eryx__blob_page(&d, i);
        if ((uint64_t)pages[i] * ERYX__BLOB_PAGE >= d.memory_size || (i && pages[i] <= pages[i - 1])) abort();
        memcpy(mem + (size_t)pages[i] * ERYX__BLOB_PAGE, eryx__blob_page_bytes(&d, i), ERYX__BLOB_PAGE);
    }
    uint8_t *again = NULL;
    size_t again_len = 0;
    if (eryx__blob_encode(artifact, mem, d.memory_size, pages, d.npages, &again, &again_len)) abort();
    eryx__blob e;
    if (eryx__blob_decode(again, again_len, artifact, 65536, &e) || e.npages != d.npages ||
        memcmp(e.raw, d.raw, d.npages * (4 + ERYX__BLOB_PAGE)) != 0)
        abort();
    free(e.raw);
    free(again);
    free(pages);
    free(mem);
    free(d.raw);
    return 0;
}
