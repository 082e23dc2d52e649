/*
** The session snapshot format (eryx_sandbox_snapshot / _restore), apart from any
** sandbox so it can be tested and fuzzed alone. Little-endian:
**   0  "ERYXSESS"   8  u32 format (1)   12  u32 page size (4096)
**   16 artifact: 32 bytes naming the image, bare module and engine
**   48 u64 memory size   56 u64 page count n   64 u64 payload length
**   72 u64 XXH3-64 of the payload, seeded with the XXH3-64 of bytes 0-71
**   80 payload: one zstd frame (with its checksum) of n u32 page numbers, strictly
**      ascending, then the n 4 KiB pages.
*/
#ifndef ERYX_SESSION_BLOB_H
#define ERYX_SESSION_BLOB_H
#include <stddef.h>
#include <stdint.h>

#define ERYX__BLOB_PAGE 4096u

/* Encodes the pages (page numbers pages[0..n), ascending, read from mem) of a
** memory of memory_size bytes. *out is malloc'd. NULL on success, else what failed. */
const char *eryx__blob_encode(const uint8_t artifact[32], const uint8_t *mem, uint64_t memory_size,
                              const uint32_t *pages, size_t n, uint8_t **out, size_t *out_len);

typedef struct eryx__blob {
    uint64_t memory_size; /* a multiple of 64 KiB, >= the image's size, <= 4 GiB */
    uint64_t npages;
    uint8_t *raw; /* malloc'd: npages u32 page numbers, then the pages */
} eryx__blob;

/* Checks and decodes a blob made for `artifact` whose image is image_size bytes;
** every page number is then inside memory_size and strictly ascending. NULL with
** *out filled (free out->raw), else a one-line reason (static text). Never reads
** outside (blob, len) whatever it holds. */
const char *eryx__blob_decode(const uint8_t *blob, size_t len, const uint8_t artifact[32], uint64_t image_size,
                              eryx__blob *out);

/* Page number i of a decoded blob, and its bytes. */
uint32_t eryx__blob_page(const eryx__blob *b, uint64_t i);
const uint8_t *eryx__blob_page_bytes(const eryx__blob *b, uint64_t i);

#endif
