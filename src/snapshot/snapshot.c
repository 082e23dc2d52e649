/* Page-diff snapshots of guest memory; see snapshot.h. */
#include "snapshot.h"
#include <stdlib.h>
#include <string.h>

struct eryx__snapshot {
    char *config;
    size_t memory_size;
    size_t npages;
    uint32_t *index; /* page numbers, ascending */
    uint8_t *pages;  /* npages * ERYX__SNAPSHOT_PAGE bytes */
};

static int page_differs(const uint8_t *mem, const uint8_t *fresh, size_t fresh_size, size_t off) {
    static const uint8_t zero[ERYX__SNAPSHOT_PAGE];
    if (off + ERYX__SNAPSHOT_PAGE <= fresh_size) return memcmp(mem + off, fresh + off, ERYX__SNAPSHOT_PAGE) != 0;
    if (off >= fresh_size) return memcmp(mem + off, zero, ERYX__SNAPSHOT_PAGE) != 0;
    size_t head = fresh_size - off;
    return memcmp(mem + off, fresh + off, head) != 0 || memcmp(mem + off + head, zero, ERYX__SNAPSHOT_PAGE - head) != 0;
}

eryx__snapshot *eryx__snapshot_capture(const uint8_t *mem, size_t size, const uint8_t *fresh, size_t fresh_size,
                                       const char *config) {
    if (size % ERYX__SNAPSHOT_PAGE) return NULL; /* wasm memory is whole 64 KiB pages */
    eryx__snapshot *snap = calloc(1, sizeof *snap);
    size_t total = size / ERYX__SNAPSHOT_PAGE, n = 0;
    if (!snap || !(snap->config = strdup(config)) || !(snap->index = malloc(total * sizeof *snap->index))) goto fail;
    for (size_t p = 0; p < total; p++)
        if (page_differs(mem, fresh, fresh_size, p * ERYX__SNAPSHOT_PAGE)) snap->index[n++] = (uint32_t)p;
    if (n && !(snap->pages = malloc(n * ERYX__SNAPSHOT_PAGE))) goto fail;
    for (size_t i = 0; i < n; i++)
        memcpy(snap->pages + i * ERYX__SNAPSHOT_PAGE, mem + (size_t)snap->index[i] * ERYX__SNAPSHOT_PAGE,
               ERYX__SNAPSHOT_PAGE);
    snap->npages = n;
    snap->memory_size = size;
    return snap;
fail:
    eryx__snapshot_free(snap);
    return NULL;
}

void eryx__snapshot_free(eryx__snapshot *snap) {
    if (!snap) return;
    free(snap->config);
    free(snap->index);
    free(snap->pages);
    free(snap);
}

size_t eryx__snapshot_memory_size(const eryx__snapshot *snap) { return snap->memory_size; }
size_t eryx__snapshot_stored_bytes(const eryx__snapshot *snap) { return snap->npages * ERYX__SNAPSHOT_PAGE; }
const char *eryx__snapshot_config(const eryx__snapshot *snap) { return snap->config; }

int eryx__snapshot_apply(const eryx__snapshot *snap, uint8_t *mem, size_t size) {
    if (size < snap->memory_size) return -1;
    for (size_t i = 0; i < snap->npages; i++)
        memcpy(mem + (size_t)snap->index[i] * ERYX__SNAPSHOT_PAGE, snap->pages + i * ERYX__SNAPSHOT_PAGE,
               ERYX__SNAPSHOT_PAGE);
    return 0;
}
