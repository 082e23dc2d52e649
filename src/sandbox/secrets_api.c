/*
** The builder's secrets and output scrubbing (include/eryx.h, "Network and
** secrets"): the list lives in src/net/secrets.c (eryx__secrets, shared with the
** builder's sandboxes by reference); each sandbox draws its own placeholders
** (eryx_sandbox.secrets) and the guest sees them in os.environ (instance.c).
*/
#include <string.h>
#include "../net/net.h"
#include "sandbox.h"

eryx_status eryx_builder_add_secret(eryx_builder *b, const char *name, const char *value,
                                    const char *const *allowed_hosts, size_t n_hosts) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    return eryx__secrets_add(&b->spec.secrets, name, value, value ? strlen(value) : 0, allowed_hosts, n_hosts, &b->err);
}

eryx_status eryx_builder_set_scrub(eryx_builder *b, unsigned flags) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    const unsigned all = ERYX_SCRUB_STDOUT | ERYX_SCRUB_STDERR | ERYX_SCRUB_FILES | ERYX_SCRUB_RESULT;
    if (flags & ~all)
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "unknown scrub flags 0x%x (known: ERYX_SCRUB_*, 0x%x)",
                          flags & ~all, all);
    b->spec.scrub = flags;
    return ERYX_OK;
}

/* ---- one sandbox's secrets ---- */

eryx_status eryx__secrets_sandbox_new(eryx_sandbox *s, eryx__errbuf *err) {
    if (!eryx__secrets_count(s->spec.secrets)) return ERYX_OK;
    if (!(s->secrets = eryx__secret_set_new(s->spec.secrets, err))) return err->status;
    for (int i = 0; i < 2; i++) {
        if (!(s->spec.scrub & (i ? ERYX_SCRUB_STDERR : ERYX_SCRUB_STDOUT))) continue;
        if (!(s->scrub_out[i] = eryx__secret_scrubber_new(s->secrets)))
            return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for the output scrubbers");
    }
    return ERYX_OK;
}

void eryx__secrets_sandbox_free(eryx_sandbox *s) {
    for (int i = 0; i < 2; i++) {
        eryx__secret_scrubber_free(s->scrub_out[i]);
        s->scrub_out[i] = NULL;
    }
    eryx__secret_set_free(s->secrets);
    s->secrets = NULL;
}

eryx_status eryx__secrets_env(eryx_sandbox *s) {
    size_t len;
    const char *env = eryx__secret_set_env(s->secrets, &len);
    eryx_result scratch = {0}, *cur = s->cur;
    int rc = 0;
    s->cur = &scratch;
    eryx_status st = eryx__instance_support_call(s, "set_env", env, len, &rc);
    s->cur = cur;
    if (st == ERYX_OK && rc != 0)
        st = eryx__fail(&s->err, ERYX_ERR_GUEST_INIT, "setting the secrets' placeholders in os.environ failed: %.600s",
                        scratch.err.data ? scratch.err.data : "");
    eryx__result_clear(&scratch);
    return st;
}

int eryx__secrets_output(eryx_sandbox *s, int fd, const void *data, size_t len, void **out, size_t *out_len) {
    eryx__bytes b = {0};
    if (eryx__secret_scrub(s->scrub_out[fd == 1 ? 0 : 1], data, len, &b) != 0) return -1;
    *out = b.p;
    *out_len = b.len;
    return 0;
}

void eryx__secrets_begin(eryx_sandbox *s) {
    eryx__bytes drop = {0};
    for (int i = 0; i < 2; i++)
        if (s->scrub_out[i]) eryx__secret_scrub_flush(s->scrub_out[i], &drop); /* a start's output, not this run's */
    eryx__bytes_free(&drop);
}

/* Replaces *field (NUL-terminated) by its scrubbed copy. Out of memory, the field is
** dropped (NULL) rather than kept unscrubbed; false then. */
static bool scrub_field(const eryx__secret_set *set, char **field) {
    if (!*field) return true;
    eryx__bytes b = {0};
    bool ok = eryx__secret_scrub_all(set, *field, strlen(*field), &b) == 0 && eryx__bytes_append(&b, "", 1);
    if (!ok) eryx__bytes_free(&b);
    free(*field);
    *field = (char *)b.p;
    return ok;
}

bool eryx__secrets_end(eryx_sandbox *s, eryx_result *r) {
    bool ok = true;
    for (int i = 0; i < 2; i++) {
        eryx__bytes b = {0};
        if (s->scrub_out[i] && eryx__secret_scrub_flush(s->scrub_out[i], &b) != 0) ok = false;
        else if (b.len) eryx__hooks_output(s, i + 1, b.p, b.len);
        eryx__bytes_free(&b);
    }
    if (s->spec.scrub & ERYX_SCRUB_RESULT) {
        ok &= scrub_field(s->secrets, &r->value);
        ok &= scrub_field(s->secrets, &r->value_error);
    }
    if (s->spec.scrub & ERYX_SCRUB_STDERR) { /* the exception's text is stderr's too */
        ok &= scrub_field(s->secrets, &r->exc_message);
        ok &= scrub_field(s->secrets, &r->traceback);
    }
    return ok;
}

int eryx__secrets_filter_file(void *user, const void *prev, size_t prev_len, const void *data, size_t len, void **out,
                              size_t *out_len, size_t *keep) {
    eryx_sandbox *s = user;
    *out = NULL;
    eryx__bytes all = {0}, b = {0};
    if (!eryx__bytes_append(&all, prev, prev_len) || !eryx__bytes_append(&all, data, len) ||
        eryx__secret_scrub_all(s->secrets, all.p, all.len, &b) != 0) {
        eryx__bytes_free(&all);
        return -1;
    }
    if (b.len == all.len && (!b.len || !memcmp(b.p, all.p, b.len))) { /* nothing to scrub */
        eryx__bytes_free(&all);
        eryx__bytes_free(&b);
        return 0;
    }
    /* Rewrite from the first byte that changed (a placeholder begun by an earlier write). */
    size_t same = 0;
    while (same < prev_len && same < b.len && b.p[same] == all.p[same]) same++;
    eryx__bytes_free(&all);
    *keep = same;
    *out_len = b.len - same;
    memmove(b.p, b.p + same, *out_len);
    *out = b.p;
    return 0;
}
