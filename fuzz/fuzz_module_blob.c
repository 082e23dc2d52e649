/*
** libFuzzer target for module blobs (src/sandbox/module_blob.c, what
** eryx_builder_import_module opens before anything reaches wasmtime). Each input
** is tried as it is (refused: its MAC cannot match) and with the right HMAC
** appended, as a key holder's blob would be, so the header checks behind the MAC
** are fuzzed too. An opened blob's id and payload must lie inside it and fill it,
** and making a blob of them again must give the same bytes.
*/
#include <stdlib.h>
#include <string.h>
#include "../src/sandbox/module_blob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *blob, size_t len, const eryx__blob_key *key) {
    eryx__module_blob m;
    const char *why = eryx__module_blob_open(blob, len, key, &m);
    if (why) {
        if (!*why || m.id || m.payload) abort(); /* a refusal says why and gives nothing */
        return;
    }
    if (m.id != blob + 12 || m.id_len == 0 || m.payload != m.id + m.id_len + 8 ||
        m.payload + m.payload_len + ERYX__BLOB_MAC != blob + len)
        abort();
    if (memchr(m.id, 0, m.id_len)) return; /* made from a C string: no NUL inside */
    char *id = malloc(m.id_len + 1);
    if (!id) abort();
    memcpy(id, m.id, m.id_len);
    id[m.id_len] = 0;
    uint8_t *again = NULL;
    size_t again_len = 0;
    if (eryx__module_blob_make(key, id, m.payload, m.payload_len, &again, &again_len) != 0) abort();
    if (again_len != len || memcmp(again, blob, len) != 0) abort();
    free(again);
    free(id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static eryx__blob_key key;
    static int ready;
    if (!ready) {
        if (eryx__blob_key_set(&key, "0123456789abcdef0123456789abcdef", 32) != 0) abort();
        ready = 1;
    }
    check(data, size, &key);
    uint8_t *signed_blob = malloc(size + ERYX__BLOB_MAC);
    if (!signed_blob) abort();
    memcpy(signed_blob, data, size);
    if (eryx__blob_mac(&key, signed_blob, size, signed_blob + size) != 0) abort();
    check(signed_blob, size + ERYX__BLOB_MAC, &key);
    free(signed_blob);
    return 0;
}
