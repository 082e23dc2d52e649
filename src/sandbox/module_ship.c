/*
** Shipping a compiled module between machines (eryx_builder_export_module /
** eryx_builder_import_module, eryx.h): the bare module a builder's sandboxes
** instantiate, serialized by wasmtime, so a node with a cold cache loads it in
** milliseconds instead of compiling it for seconds.
**
** wasmtime's deserialization trusts its input (it is native code), so the blob is
** authenticated like an exported start state: "ERYXMOD1" | u32 id length | id |
** u64 payload length | payload | HMAC-SHA-256 of all before it, under the key of
** eryx__builder_state_key. The MAC is checked before anything else is believed;
** then the id (the bare module's id and the engine's settings string) must be the
** importing builder's. wasmtime itself refuses a module compiled for CPU features
** this machine lacks, or by another wasmtime: the import then compiles instead.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../common/counters.h"
#include "../common/le.h"
#include "blob_key.h"
#include "sandbox.h"

#define MAGIC "ERYXMOD1"
#define MAX_PAYLOAD ((uint64_t)2 << 30) /* far above the interpreter's ~30 MB */

eryx_status eryx_builder_export_module(eryx_builder *b, void **blob, size_t *len) {
    if (!b || !blob || !len) return ERYX_ERR_INVALID_ARGUMENT;
    *blob = NULL;
    *len = 0;
    char id[256], why[4200];
    eryx__guest *g = NULL;
    eryx__blob_key key;
    eryx_status st = eryx__builder_bare_module(b, NULL, NULL, id, &g);
    if (st == ERYX_OK) st = eryx__builder_state_key(b, &key, why, sizeof why);
    if (st != ERYX_OK) {
        eryx__guest_release(g);
        return st;
    }
    wasm_byte_vec_t bytes;
    wasmtime_error_t *e = wasmtime_module_serialize(eryx__guest_module(g), &bytes);
    eryx__guest_release(g);
    if (e) return eryx__fail_wasmtime(&b->err, ERYX_ERR_ENGINE, "serializing the compiled module failed", e, NULL);
    size_t idlen = strlen(id), head = 8 + 4 + idlen + 8, body = head + bytes.size;
    uint8_t *out = malloc(body + ERYX__BLOB_MAC);
    if (!out) {
        wasm_byte_vec_delete(&bytes);
        memset(&key, 0, sizeof key);
        return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for a %zu-byte module blob", body);
    }
    memcpy(out, MAGIC, 8);
    eryx__put_le(out + 8, idlen, 4);
    memcpy(out + 12, id, idlen);
    eryx__put_le(out + 12 + idlen, bytes.size, 8);
    memcpy(out + head, bytes.data, bytes.size);
    wasm_byte_vec_delete(&bytes);
    int rc = eryx__blob_mac(&key, out, body, out + body);
    memset(&key, 0, sizeof key);
    if (rc != 0) {
        free(out);
        return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "computing the module blob's MAC failed");
    }
    *blob = out;
    *len = body + ERYX__BLOB_MAC;
    return ERYX_OK;
}

typedef struct ship_job {
    eryx_builder *b;
    const uint8_t *payload;
    size_t len;
    eryx_module_import how;
} ship_job;

/* On the cache's miss for the bare module: the shipped bytes, else a compile. */
static eryx_status make_shipped(void *user, wasmtime_module_t **out, eryx__errbuf *err) {
    ship_job *job = user;
    wasm_engine_t *engine = eryx__engine(job->b->spec.engine, err);
    if (!engine) return ERYX_ERR_ENGINE;
    wasmtime_error_t *e = wasmtime_module_deserialize(engine, job->payload, job->len, out);
    if (!e) {
        job->how = ERYX_MODULE_INSTALLED;
        eryx__count(ERYX__COUNT_MODULE_SHIPPED);
        return ERYX_OK;
    }
    wasm_message_t m;
    wasmtime_error_message(e, &m);
    if (job->b->warn) {
        char msg[600];
        snprintf(msg, sizeof msg,
                 "the shipped module does not load on this machine (%.*s); compiling it here (seconds, once)",
                 (int)(m.size > 400 ? 400 : m.size), m.data);
        job->b->warn(job->b->warn_user, msg);
    }
    wasm_byte_vec_delete(&m);
    wasmtime_error_delete(e);
    job->how = ERYX_MODULE_COMPILED;
    return eryx__builder_compile_bare(job->b, out, err);
}

eryx_status eryx_builder_import_module(eryx_builder *b, const void *blob, size_t len, eryx_module_import *how) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    if (how) *how = ERYX_MODULE_PRESENT;
    const uint8_t *p = blob;
    if (!p || len < 8 + 4 + 8 + ERYX__BLOB_MAC || memcmp(p, MAGIC, 8) != 0)
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT,
                          "not an eryx module blob (it lacks the %s header): make it with eryx_builder_export_module",
                          MAGIC);
    eryx__blob_key key;
    char why[4200];
    eryx_status st = eryx__builder_state_key(b, &key, why, sizeof why);
    if (st != ERYX_OK) return st;
    size_t body = len - ERYX__BLOB_MAC;
    int ok = eryx__blob_mac_check(&key, p, body, p + body);
    memset(&key, 0, sizeof key);
    if (ok < 0) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "computing the module blob's MAC failed");
    if (!ok)
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT,
                          "the module blob failed authentication: it was made with another key (set the same "
                          "session key on both sides: eryx_builder_set_session_key), or it is damaged or forged");
    uint64_t idlen = eryx__get_le(p + 8, 4);
    if (idlen > body - 20) return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "the module blob's header is inconsistent");
    uint64_t plen = eryx__get_le(p + 12 + idlen, 8);
    if (plen == 0 || plen > MAX_PAYLOAD || plen != body - 20 - idlen)
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "the module blob's header is inconsistent");
    ship_job job = {.b = b, .payload = p + 20 + idlen, .len = (size_t)plen, .how = ERYX_MODULE_PRESENT};
    char id[256];
    if ((st = eryx__builder_bare_module(b, NULL, NULL, id, NULL)) != ERYX_OK) return st;
    if (strlen(id) != idlen || memcmp(id, p + 12, idlen) != 0)
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT,
                          "the module blob was made for another guest build or engine configuration (another "
                          "eryx, wasmtime, compiler setting or python.wasm): it would not be used; compile here");
    eryx__guest *g = NULL;
    if ((st = eryx__builder_bare_module(b, make_shipped, &job, id, &g)) != ERYX_OK) return st;
    eryx__guest_release(g);
    if (how) *how = job.how; /* PRESENT when a tier had it: make_shipped was not called */
    return ERYX_OK;
}
