/*
** Keep-state sessions (eryx_builder_set_keep_state): reset to the start state,
** clear the user's names, and the session snapshot: the pages that differ from
** the start state, as a blob (session_blob.c) that restores into a sandbox of the
** same start state. Blobs are authenticated with the builder's session key or,
** by default, the process's own random key (blob_key.c). Also the rollback copy
** of a journaled run: the same pages, copied as they are and kept in memory. The
** instance itself is instance.c's.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "session_blob.h"
#include "sandbox.h"

/* The key s's blobs are made and checked with. */
static eryx_status session_key(eryx_sandbox *s, eryx__blob_key *out) {
    if (s->spec.session_key.len) {
        *out = s->spec.session_key;
        return ERYX_OK;
    }
    if (eryx__blob_process_key(out) != 0)
        return eryx__fail(&s->err, ERYX_ERR_IO, "cannot get random bytes for the session key (getrandom: %s)",
                          strerror(errno));
    return ERYX_OK;
}

eryx_status eryx_builder_set_session_key(eryx_builder *b, const void *key, size_t len) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    eryx__errbuf_clear(&b->err);
    if (!key && !len) {
        memset(&b->spec.session_key, 0, sizeof b->spec.session_key);
        return ERYX_OK;
    }
    if (!key || len < ERYX__BLOB_KEY_MIN)
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT,
                          "a session key must be at least %u bytes (got %zu): use 32 random bytes", ERYX__BLOB_KEY_MIN,
                          key ? len : 0);
    if (eryx__blob_key_set(&b->spec.session_key, key, len) != 0)
        return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "cannot hash the session key");
    return ERYX_OK;
}

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

/* What a snapshot of s needs (pre-initialized, no open file, its extension
** modules logged, no call in flight): ERYX_OK, or the status and message. */
static eryx_status snapshot_check(eryx_sandbox *s) {
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
    return ERYX_OK;
}

/* What a snapshot or a rollback copy holds: the guest memory (base, size) and the
** pages that differ from the start state (malloc'd list of n page numbers). */
static eryx_status changed_pages(eryx_sandbox *s, const uint8_t **base, size_t *size, uint32_t **pages, size_t *n) {
    *pages = NULL;
    *n = 0;
    eryx_status st = snapshot_check(s);
    if (st != ERYX_OK) return st;
    *base = wasmtime_memory_data(s->cx, &s->host.memory);
    *size = wasmtime_memory_data_size(s->cx, &s->host.memory);
    if (eryx__snapmem_changed_pages(*base, *size, s->img, pages, n) != 0)
        return eryx__fail(&s->err, ERYX_ERR_IO, "cannot read the process's page map to find the changed pages");
    return ERYX_OK;
}

eryx_status eryx_sandbox_snapshot(eryx_sandbox *s, void **blob, size_t *len) {
    if (!s || !blob || !len) return ERYX_ERR_INVALID_ARGUMENT;
    *blob = NULL;
    *len = 0;
    eryx__errbuf_clear(&s->err);
    const uint8_t *base;
    size_t size, n;
    uint32_t *pages;
    eryx_status st = changed_pages(s, &base, &size, &pages, &n);
    if (st != ERYX_OK) return st;
    eryx__blob_key key;
    if (session_key(s, &key) != ERYX_OK) {
        free(pages);
        return ERYX_ERR_IO;
    }
    uint8_t artifact[32], *out = NULL;
    artifact_bytes(s->artifact, artifact);
    const char *why = eryx__blob_encode(&key, artifact, base, size, pages, n, &out, len);
    free(pages);
    if (why) return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "cannot make a %zu-page session snapshot: %s", n, why);
    *blob = out;
    return ERYX_OK;
}

/* Writes a snapshot's changed pages into the guest memory mem; NULL or why not. */
typedef const char *(*fill_fn)(void *ctx, uint8_t *mem);

/* From the start state: a fresh instance, grown to size bytes, then the pages
** that differ written by fill, the extension modules loaded again, this sandbox's
** placeholders set. Never leaves a half-restored session: on failure it is at its
** start state (or broken, when even that failed). */
static eryx_status restore_into(eryx_sandbox *s, uint64_t size, fill_fn fill, void *ctx) {
    /* Refused before anything is allocated or the sandbox touched. */
    if (s->spec.max_memory && size > s->spec.max_memory)
        return eryx__fail(&s->err, ERYX_ERR_MEMORY_LIMIT,
                          "the session snapshot needs a memory of %llu bytes (%llu MiB), over this sandbox's limit of "
                          "%llu bytes (eryx_builder_set_max_memory): restore it into a sandbox with a limit at least "
                          "that large",
                          (unsigned long long)size, (unsigned long long)(size >> 20),
                          (unsigned long long)s->spec.max_memory);
    eryx_status st = eryx__instance_fresh(s);
    size_t have = st == ERYX_OK ? wasmtime_memory_data_size(s->cx, &s->host.memory) : 0;
    if (st == ERYX_OK && size > have) {
        uint64_t prev;
        wasmtime_error_t *e = wasmtime_memory_grow(s->cx, &s->host.memory, (size - have) / 65536, &prev);
        if (e)
            st = eryx__fail_wasmtime(&s->err, ERYX_ERR_MEMORY_LIMIT, "growing memory for the session failed", e, NULL);
    }
    const char *why;
    if (st == ERYX_OK && (why = fill(ctx, wasmtime_memory_data(s->cx, &s->host.memory))))
        st = eryx__fail(&s->err, why == eryx__blob_no_memory ? ERYX_ERR_NO_MEMORY : ERYX_ERR_INVALID_ARGUMENT,
                        "cannot restore the session snapshot: %s", why);
    if (st == ERYX_OK) {
        /* The extension modules the session loaded (its memory holds their data
        ** and the guest's log of them): loaded again where they were. */
        eryx__errbuf msg;
        if (eryx__hooks_replay_extensions(s, &msg) != ERYX_OK)
            st = eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT,
                            "the session snapshot's extension modules cannot be loaded again: %s (was it made with "
                            "the same packages?)",
                            msg.msg);
    }
    /* This sandbox's placeholders, not the blob's. */
    if (st == ERYX_OK && s->secrets) st = eryx__secrets_env(s);
    if (st != ERYX_OK && !s->broken) { /* never leave a half-restored session */
        eryx__errbuf keep = s->err;
        if (eryx__instance_fresh(s) == ERYX_OK) s->err = keep;
    }
    return st;
}

static const char *fill_blob(void *ctx, uint8_t *mem) { return eryx__blob_unpack(ctx, mem, NULL); }

eryx_status eryx_sandbox_restore(eryx_sandbox *s, const void *blob, size_t len) {
    if (!s || (!blob && len)) return ERYX_ERR_INVALID_ARGUMENT;
    eryx__errbuf_clear(&s->err);
    if (s->broken) return ERYX_ERR_SANDBOX_DEAD;
    if (!s->img)
        return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT,
                          "session snapshots restore into pre-initialized sandboxes only");
    eryx__blob_key key;
    if (session_key(s, &key) != ERYX_OK) return ERYX_ERR_IO;
    uint8_t artifact[32];
    artifact_bytes(s->artifact, artifact);
    eryx__blob d;
    const char *why = eryx__blob_open(blob, len, &key, artifact, eryx__snapimg_size(s->img), &d);
    if (why) return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT, "%s", why);
    eryx_status st = restore_into(s, d.memory_size, fill_blob, &d);
    if (st == ERYX_OK) s->restored = true;
    return st;
}

/* ---- the rollback copy of a journaled run (sandbox.h) ------------------------------ */

/* The changed pages as they are, in this process's memory only: no compression, no
** MAC (it never leaves the process and nobody but this sandbox hands it back). */
struct eryx__rollback {
    uint64_t size; /* the guest memory's */
    size_t n;
    uint32_t *pages;
    uint8_t *data; /* n pages of ERYX__BLOB_PAGE bytes */
};

eryx_status eryx__rollback_take(eryx_sandbox *s, eryx__rollback **out) {
    *out = NULL;
    const uint8_t *base;
    size_t size, n;
    uint32_t *pages;
    eryx_status st = changed_pages(s, &base, &size, &pages, &n);
    if (st != ERYX_OK) return st;
    eryx__rollback *rb = calloc(1, sizeof *rb);
    uint8_t *data = rb && n <= SIZE_MAX / ERYX__BLOB_PAGE ? malloc(n ? n * ERYX__BLOB_PAGE : 1) : NULL;
    if (!data) {
        free(rb);
        free(pages);
        return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "no memory to copy %zu changed pages of the session", n);
    }
    for (size_t i = 0; i < n; i++)
        memcpy(data + i * ERYX__BLOB_PAGE, base + (size_t)pages[i] * ERYX__BLOB_PAGE, ERYX__BLOB_PAGE);
    *rb = (eryx__rollback){.size = size, .n = n, .pages = pages, .data = data};
    *out = rb;
    return ERYX_OK;
}

static const char *fill_rollback(void *ctx, uint8_t *mem) {
    const eryx__rollback *rb = ctx;
    for (size_t i = 0; i < rb->n; i++)
        memcpy(mem + (size_t)rb->pages[i] * ERYX__BLOB_PAGE, rb->data + i * ERYX__BLOB_PAGE, ERYX__BLOB_PAGE);
    return NULL;
}

eryx_status eryx__rollback_restore(eryx_sandbox *s, const eryx__rollback *rb) {
    eryx__errbuf_clear(&s->err);
    if (s->broken) return ERYX_ERR_SANDBOX_DEAD;
    bool was = s->restored; /* the state before the run: a blob's, or not, as it was */
    eryx_status st = restore_into(s, rb->size, fill_rollback, (void *)rb);
    if (st == ERYX_OK) s->restored = was;
    return st;
}

void eryx__rollback_free(eryx__rollback *rb) {
    if (!rb) return;
    free(rb->pages);
    free(rb->data);
    free(rb);
}

void eryx_blob_free(void *blob) { free(blob); }
