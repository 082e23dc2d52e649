/*
** The module blob's layout (eryx_builder_export_module, module_ship.c), apart from
** the engine so the fuzzer drives it with plain bytes: "ERYXMOD1" | u32 id length |
** id | u64 payload length | payload | HMAC-SHA-256 of all before it.
*/
#ifndef ERYX_SANDBOX_MODULE_BLOB_H
#define ERYX_SANDBOX_MODULE_BLOB_H
#include <stddef.h>
#include <stdint.h>
#include "blob_key.h"

#define ERYX__MODULE_MAGIC "ERYXMOD1"

typedef struct eryx__module_blob {
    const uint8_t *id; /* inside the blob */
    size_t id_len;
    const uint8_t *payload; /* inside the blob: wasmtime's serialized module */
    size_t payload_len;
} eryx__module_blob;

/* Writes the blob of (id, payload) signed under key into malloc'd *out; 0, or -1
** (no memory, or the MAC failed). */
int eryx__module_blob_make(const eryx__blob_key *key, const char *id, const uint8_t *payload, size_t payload_len,
                           uint8_t **out, size_t *out_len);

/* Checks the MAC (constant time) under key, then the header. NULL with *out filled,
** or why the blob was refused (a static sentence starting with a lowercase letter;
** "" never). *out points into blob. */
const char *eryx__module_blob_open(const uint8_t *blob, size_t len, const eryx__blob_key *key, eryx__module_blob *out);
#endif
