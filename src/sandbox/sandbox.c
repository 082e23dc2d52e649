/*
** A sandbox handle: created from a builder (its spec copied, its module and start
** state acquired, a first instance made), freed, and its per-sandbox settings
** (stdin, output streaming, timeout, fuel) and eryx_sandbox_cancel. Running code is
** execute.c's; the instance is instance.c's.
*/
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "sandbox.h"
#include "sandbox_internal.h"

const char *eryx_sandbox_errmsg(const eryx_sandbox *s) { return s ? s->err.msg : "sandbox is NULL"; }

eryx_status eryx_sandbox_new(eryx_builder *b, eryx_sandbox **out) {
    if (!out) return ERYX_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    eryx__errbuf_clear(&b->err);
    if (!*b->spec.guest_dir)
        return eryx__fail(&b->err, ERYX_ERR_GUEST_NOT_FOUND,
                          "no guest directory: set ERYX_GUEST_DIR or call eryx_builder_set_guest_dir");
#ifdef ERYX_BENCH_HOOKS
    uint64_t t0 = eryx__now_ns();
#endif
    eryx_sandbox *s = calloc(1, sizeof *s);
    if (!s) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for a sandbox");
    eryx_status st = ERYX_OK;
    s->stdin_fd = -1;
    if (b->spec.ncbs) { /* described once: for the snapshot's key and the guest */
        s->cb_list = eryx__cb_describe(b->spec.cbs, b->spec.ncbs);
        s->hub =
            eryx__cb_hub_new(b->spec.cbs, b->spec.ncbs, b->spec.cb_max_calls, b->spec.cb_timeout_ns, (size_t)16 << 20);
        if (!s->hub || !s->cb_list) {
            st = eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for the sandbox's callbacks");
            goto fail;
        }
    }
    if ((st = eryx__start_state_module(b, s->cb_list, &s->guest, &s->img, s->artifact)) != ERYX_OK) goto fail;
    if (b->spec.npkgs && b->link_checked[0] == '\0') { /* not checked by a capture above: check now */
        char sha[ERYX__KEY_HEX_LEN + 1];
        if ((st = eryx__guest_sha256(b->spec.guest_dir, sha, &b->err)) != ERYX_OK ||
            (st = eryx__start_state_check_links(b, eryx__guest_module(s->guest), sha, &b->err)) != ERYX_OK)
            goto fail;
    }
    if (eryx__spec_copy(&s->spec, &b->spec) != 0 || (b->cache_dir && !(s->ext_cache_dir = strdup(b->cache_dir)))) {
        st = eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for a sandbox");
        goto fail;
    }
    s->ext_cache_max_bytes = b->cache_max_bytes;
    s->ext_cache_max_entries = b->cache_max_entries;
    if ((st = eryx__secrets_sandbox_new(s, &b->err)) != ERYX_OK) goto fail;
#ifdef ERYX_BENCH_HOOKS
    uint64_t t1 = eryx__now_ns();
#endif
    if ((st = eryx__instance_new(s)) != ERYX_OK) {
        eryx__fail(&b->err, st, "%s", s->err.msg);
        goto fail;
    }
#ifdef ERYX_BENCH_HOOKS
    s->phase_ns[0] += t1 - t0;
#endif
    eryx__snapmem_park(s->mem); /* idle until its first call */
    *out = s;
    return ERYX_OK;
fail:
    eryx_sandbox_free(s);
    return st;
}

void eryx_sandbox_free(eryx_sandbox *s) {
    if (!s) return;
    eryx__instance_free(s);
    eryx__secrets_sandbox_free(s);
    eryx__cb_hub_release(s->hub);
    free(s->cb_list);
    eryx__guest_release(s->guest);
    eryx__snapimg_release(s->img);
    eryx__spec_free(&s->spec);
    free(s->ext_cache_dir);
    free(s);
}

#ifdef ERYX_BENCH_HOOKS
void eryx__sandbox_phases(const eryx_sandbox *s, uint64_t ns[3]) { memcpy(ns, s->phase_ns, sizeof s->phase_ns); }
#endif
bool eryx__sandbox_preinit(const eryx_sandbox *s) { return s->img != NULL; }

eryx_status eryx_sandbox_set_stdin(eryx_sandbox *s, eryx_read_fn fn, void *user) {
    if (!s) return ERYX_ERR_INVALID_ARGUMENT;
    s->stdin_fd = -1;
    s->stdin_fn = fn;
    s->stdin_user = user;
    return ERYX_OK;
}

eryx_status eryx_sandbox_set_stdin_fd(eryx_sandbox *s, int fd) {
    if (!s) return ERYX_ERR_INVALID_ARGUMENT;
    s->stdin_fd = fd < 0 ? -1 : fd;
    return ERYX_OK;
}

void eryx_sandbox_cancel(eryx_sandbox *s) {
    if (s) atomic_store(&s->cancel, 1);
}

eryx_status eryx_sandbox_set_output(eryx_sandbox *s, eryx_output_fn fn, void *user) {
    if (!s) return ERYX_ERR_INVALID_ARGUMENT;
    s->out_fn = fn;
    s->out_user = user;
    return ERYX_OK;
}

eryx_status eryx_sandbox_set_timeout_ms(eryx_sandbox *s, uint64_t ms) {
    return s ? eryx__spec_set_timeout(&s->spec, &s->err, ms) : ERYX_ERR_INVALID_ARGUMENT;
}

eryx_status eryx_sandbox_set_fuel(eryx_sandbox *s, uint64_t units) {
    if (!s) return ERYX_ERR_INVALID_ARGUMENT;
    if (s->spec.engine != ERYX__ENGINE_FUEL)
        return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT,
                          "the sandbox was built without fuel metering (its code is not metered): give its builder "
                          "a budget (eryx_builder_set_fuel) to change it later");
    if (units > UINT64_MAX / 4) return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT, "fuel budget too large");
    s->spec.fuel = units ? units : UINT64_MAX / 4;
    return ERYX_OK;
}
