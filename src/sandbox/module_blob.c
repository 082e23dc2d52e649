/*
** The module blob (module_blob.h): made and opened. The MAC is checked before any
** length in the blob is believed; every length is then checked against the blob.
*/
#include <stdlib.h>
#include <string.h>
#include "../common/le.h"
#include "module_blob.h"

#define HEAD_FIXED 20u                  /* magic, id length, payload length */
#define MAX_ID 4096u                    /* an id and the engine settings: ~200 bytes */
#define MAX_PAYLOAD ((uint64_t)2 << 30) /* far above the interpreter's ~20-30 MB */

int eryx__module_blob_make(const eryx__blob_key *key, const char *id, const uint8_t *payload, size_t payload_len,
                           uint8_t **out, size_t *out_len) {
    size_t idlen = strlen(id), body = HEAD_FIXED + idlen + payload_len;
    *out = NULL;
    *out_len = 0;
    uint8_t *b = malloc(body + ERYX__BLOB_MAC);
    if (!b) return -1;
    memcpy(b, ERYX__MODULE_MAGIC, 8);
    eryx__put_le(b + 8, idlen, 4);
    memcpy(b + 12, id, idlen);
    eryx__put_le(b + 12 + idlen, payload_len, 8);
    memcpy(b + HEAD_FIXED + idlen, payload, payload_len);
    if (eryx__blob_mac(key, b, body, b + body) != 0) {
        free(b);
        return -1;
    }
    *out = b;
    *out_len = body + ERYX__BLOB_MAC;
    return 0;
}

const char *eryx__module_blob_open(const uint8_t *blob, size_t len, const eryx__blob_key *key, eryx__module_blob *out) {
    memset(out, 0, sizeof *out);
    if (!blob || len < HEAD_FIXED + ERYX__BLOB_MAC || memcmp(blob, ERYX__MODULE_MAGIC, 8) != 0)
        return "not an eryx module blob (it lacks the " ERYX__MODULE_MAGIC
               " header): make it with eryx_builder_export_module";
    size_t body = len - ERYX__BLOB_MAC;
    int ok = eryx__blob_mac_check(key, blob, body, blob + body);
    if (ok < 0) return "computing the module blob's MAC failed (no memory)";
    if (!ok)
        return "the module blob failed authentication: it was made with another key (set the same session key "
               "on both sides: eryx_builder_set_session_key), or it is damaged or forged";
    uint64_t idlen = eryx__get_le(blob + 8, 4);
    if (idlen == 0 || idlen > MAX_ID || idlen > body - HEAD_FIXED) return "the module blob's header is inconsistent";
    uint64_t plen = eryx__get_le(blob + 12 + idlen, 8);
    if (plen == 0 || plen > MAX_PAYLOAD || plen != body - HEAD_FIXED - idlen)
        return "the module blob's header is inconsistent";
    out->id = blob + 12;
    out->id_len = (size_t)idlen;
    out->payload = blob + HEAD_FIXED + idlen;
    out->payload_len = (size_t)plen;
    return NULL;
}
