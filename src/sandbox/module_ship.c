/*
** Shipping a compiled module between machines (eryx_builder_export_module /
** eryx_builder_import_module, eryx.h): the bare module a builder's sandboxes
** instantiate, serialized by wasmtime, so a node with a cold cache loads it in
** milliseconds instead of compiling it for seconds.
**
** wasmtime's deserialization trusts its input (it is native code), so the blob is
** authenticated like an exported start state (module_blob.h), under the key of
** eryx__builder_state_key. The MAC is checked before anything else is believed;
** then the id (the bare module's id and the engine's settings string) must be the
** importing builder's. wasmtime itself refuses a module compiled for CPU features
** this machine lacks, or by another wasmtime: the import then compiles instead.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../common/counters.h"
#include "module_blob.h"
#include "sandbox.h"


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
    uint8_t *out = NULL;
    size_t size = bytes.size;
    int rc = eryx__module_blob_make(&key, id, (const uint8_t *)bytes.data, size, &out, len);
    memset(&key, 0, sizeof key);
    wasm_byte_vec_delete(&bytes);
    if (rc != 0) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for a %zu-byte module blob", size);
    *blob = out;
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
    eryx__blob_key key;
    char why[4200];
    eryx_status st = eryx__builder_state_key(b, &key, why, sizeof why);
    if (st != ERYX_OK) return st;
    eryx__module_blob m;
    const char *refused = eryx__module_blob_open(blob, len, &key, &m);
    memset(&key, 0, sizeof key);
    if (refused) return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "%s", refused);
    ship_job job = {.b = b, .payload = m.payload, .len = m.payload_len, .how = ERYX_MODULE_PRESENT};
    char id[256];
    if ((st = eryx__builder_bare_module(b, NULL, NULL, id, NULL)) != ERYX_OK) return st;
    if (strlen(id) != m.id_len || memcmp(id, m.id, m.id_len) != 0)
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT,
                          "the module blob was made for another guest build or engine configuration (another "
                          "eryx, wasmtime, compiler setting or python.wasm): it would not be used; compile here");
    eryx__guest *g = NULL;
    if ((st = eryx__builder_bare_module(b, make_shipped, &job, id, &g)) != ERYX_OK) return st;
    eryx__guest_release(g);
    if (how) *how = job.how; /* PRESENT when a tier had it: make_shipped was not called */
    return ERYX_OK;
}
