/*
** Keep-state sessions (eryx_builder_set_keep_state): reset to the start state,
** clear the user's names, and the session snapshot: the pages that differ from
** the start state, as a blob (session_blob.c) that restores into a sandbox of the
** same start state. The instance itself is instance.c's.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "session_blob.h"
#include "sandbox.h"

eryx_status eryx_sandbox_reset(eryx_sandbox *s) {
    if (!s) return ERYX_ERR_INVALID_ARGUMENT;
    eryx__errbuf_clear(&s->err);
    if (s->broken) return ERYX_ERR_SANDBOX_DEAD;
    return eryx__instance_fresh(s);
}

eryx_status eryx_sandbox_clear(eryx_sandbox *s) {
    if (!s) return ERYX_ERR_INVALID_ARGUMENT;
    eryx__errbuf_clear(&s->err);
    if (s->broken) return ERYX_ERR_SANDBOX_DEAD;
    eryx_result scratch = {0};
    int rc = 0;
    s->cur = &scratch;
    eryx_status st = eryx__instance_support_call(s, "clear", "", 0, &rc);
    s->cur = NULL;
    eryx__result_clear(&scratch);
    if (st == ERYX_OK && rc != 0) st = eryx__fail(&s->err, ERYX_ERR_GUEST_API, "the guest failed to clear (%d)", rc);
    if (s->dead) { /* a clear that crashed the guest: start afresh */
        eryx__errbuf keep = s->err;
        if (eryx__instance_fresh(s) == ERYX_OK) s->err = keep;
    }
    return st;
}

static void artifact_bytes(const char hex[65], uint8_t out[32]) {
    for (int i = 0; i < 32; i++) {
        unsigned v = 0;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

eryx_status eryx_sandbox_snapshot(eryx_sandbox *s, void **blob, size_t *len) {
    if (!s || !blob || !len) return ERYX_ERR_INVALID_ARGUMENT;
    *blob = NULL;
    *len = 0;
    eryx__errbuf_clear(&s->err);
    if (s->broken) return ERYX_ERR_SANDBOX_DEAD;
    eryx__snapmem_unpark(s->mem); /* it reads the memory */
    if (!s->img)
        return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT,
                          "a session snapshot is the difference from a pre-initialized start state: build the "
                          "sandbox with pre-initialization on");
    size_t fds = eryx__wasi_guest_fd_count(s->wasi);
    if (fds)
        return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT,
                          "the guest has %zu file(s) open; a session snapshot holds memory only: close them first",
                          fds);
    /* Extension modules: the guest's log (in memory, so in the blob) names them; a
    ** restore loads them again at the same places. One the log could not hold
    ** cannot be restored. */
    if (!eryx__ext_logged(s->dl))
        return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT,
                          "the session loaded more native extension modules than the guest can record (the first: "
                          "%s); a session snapshot could not restore them",
                          s->dl->mods[0].name);
    if (s->hub && eryx__cb_hub_pending(s->hub))
        return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT,
                          "a host callback is still in flight; a snapshot cannot carry it: await it first");
    const uint8_t *base = wasmtime_memory_data(s->cx, &s->host.memory);
    size_t size = wasmtime_memory_data_size(s->cx, &s->host.memory), n = 0;
    uint32_t *pages = NULL;
    if (eryx__snapmem_changed_pages(base, size, s->img, &pages, &n) != 0)
        return eryx__fail(&s->err, ERYX_ERR_IO, "cannot read the process's page map to find the changed pages");
    uint8_t artifact[32], *out = NULL;
    artifact_bytes(s->artifact, artifact);
    const char *why = eryx__blob_encode(artifact, base, size, pages, n, &out, len);
    free(pages);
    if (why) return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "cannot make a %zu-page session snapshot: %s", n, why);
    *blob = out;
    return ERYX_OK;
}

eryx_status eryx_sandbox_restore(eryx_sandbox *s, const void *blob, size_t len) {
    if (!s || (!blob && len)) return ERYX_ERR_INVALID_ARGUMENT;
    eryx__errbuf_clear(&s->err);
    if (s->broken) return ERYX_ERR_SANDBOX_DEAD;
    if (!s->img)
        return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT,
                          "session snapshots restore into pre-initialized sandboxes only");
    uint8_t artifact[32];
    artifact_bytes(s->artifact, artifact);
    eryx__blob d;
    const char *why = eryx__blob_decode(blob, len, artifact, eryx__snapimg_size(s->img), &d);
    if (why) return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT, "%s", why);
    uint64_t size = d.memory_size, n = d.npages;
    if (s->spec.max_memory && size > s->spec.max_memory) {
        free(d.raw);
        return eryx__fail(&s->err, ERYX_ERR_MEMORY_LIMIT, "the session snapshot needs %llu MiB, over the limit",
                          (unsigned long long)(size >> 20));
    }
    /* From the start state: a fresh instance, grown to the snapshot's size, then
    ** the pages that differ. */
    eryx_status st = eryx__instance_fresh(s);
    size_t have = st == ERYX_OK ? wasmtime_memory_data_size(s->cx, &s->host.memory) : 0;
    if (st == ERYX_OK && size > have) {
        uint64_t prev;
        wasmtime_error_t *e = wasmtime_memory_grow(s->cx, &s->host.memory, (size - have) / 65536, &prev);
        if (e)
            st = eryx__fail_wasmtime(&s->err, ERYX_ERR_MEMORY_LIMIT, "growing memory for the session failed", e, NULL);
    }
    if (st == ERYX_OK) {
        uint8_t *mem = wasmtime_memory_data(s->cx, &s->host.memory);
        for (uint64_t i = 0; i < n; i++)
            memcpy(mem + (size_t)eryx__blob_page(&d, i) * ERYX__BLOB_PAGE, eryx__blob_page_bytes(&d, i),
                   ERYX__BLOB_PAGE);
        /* The extension modules the session loaded (its memory holds their data
        ** and the guest's log of them): loaded again where they were. */
        eryx__errbuf msg;
        if (eryx__hooks_replay_extensions(s, &msg) != ERYX_OK)
            st = eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT,
                            "the session snapshot's extension modules cannot be loaded again: %s (was it made with "
                            "the same packages?)",
                            msg.msg);
    }
    free(d.raw);
    if (st != ERYX_OK && !s->broken) eryx__instance_fresh(s); /* never leave a half-restored session */
    return st;
}

void eryx_blob_free(void *blob) { free(blob); }
