/*
** The session snapshot format (eryx_sandbox_snapshot / _restore), apart from any
** sandbox so it can be tested and fuzzed alone. Little-endian:
**   0  "ERYXSESS"   8  u32 format (2)   12  u32 page size (4096)
**   16 artifact: 32 bytes naming the image, bare module and engine
**   48 u64 memory size   56 u64 page count n   64 u64 payload length z
**   72 payload: one zstd frame (with its checksum) of n u32 page numbers, strictly
**      ascending, then the n 4 KiB pages
**   72+z  HMAC-SHA-256 (32 bytes) of every byte before it, keyed with the
**      sandbox's session key
** Nothing past the magic and the format is read before the MAC is checked (in
** constant time), so a blob from a process without the key, or a changed byte
** anywhere, is refused before any length in it is believed. Format 1 (an XXH3
** checksum in place of the MAC, no authentication) is refused with a message.
*/
#ifndef ERYX_SESSION_BLOB_H
#define ERYX_SESSION_BLOB_H
#include <stddef.h>
#include <stdint.h>
#include "blob_key.h"

#define ERYX__BLOB_PAGE 4096u

/* Encodes the pages (page numbers pages[0..n), ascending, read from mem) of a
** memory of memory_size bytes, authenticated with key. *out is malloc'd. NULL on
** success, else what failed. */
const char *eryx__blob_encode(const eryx__blob_key *key, const uint8_t artifact[32], const uint8_t *mem,
                              uint64_t memory_size, const uint32_t *pages, size_t n, uint8_t **out, size_t *out_len);

/* An opened blob: the header's figures, believed only after the MAC matched. */
typedef struct eryx__blob {
    uint64_t memory_size; /* a multiple of 64 KiB, >= the image's size, <= 4 GiB */
    uint64_t npages;      /* <= memory_size / 4096 */
    const uint8_t *payload;
    size_t payload_len;
} eryx__blob;

/* Checks a blob made for `artifact` whose image is image_size bytes: its MAC
** under key first, then the header. Allocates nothing and reads only (blob, len).
** NULL with *out filled, else a one-line reason (static text). */
const char *eryx__blob_open(const uint8_t *blob, size_t len, const eryx__blob_key *key, const uint8_t artifact[32],
                            uint64_t image_size, eryx__blob *out);

/* Decompresses an opened blob's pages straight into mem (at least b->memory_size
** bytes), each at its page number. Allocates only the page list (4 bytes a page,
** at most memory_size / 1024) and zstd's window (bounded: 2 MiB). When pages is
** not NULL, *pages gets the malloc'd list (b->npages entries). NULL on success,
** else a reason; mem may then be partly written. */
const char *eryx__blob_unpack(const eryx__blob *b, uint8_t *mem, uint32_t **pages);

/* The reason encode and unpack give when an allocation fails (compare the pointer). */
extern const char eryx__blob_no_memory[];

#endif
