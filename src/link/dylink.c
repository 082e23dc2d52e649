/* Reading a side module's dylink.0 section; see dylink.h. */
#include "dylink.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "../snapshot/wasm_reader.h"

enum { MEM_INFO = 1, NEEDED = 2, EXPORT_INFO = 3, IMPORT_INFO = 4, RUNTIME_PATH = 5 };
#define SYMBOL_TLS 0x100u /* WASM_SYMBOL_TLS in the symbol flags */
#define MAX_NEEDED 4096u

void eryx__dylink_free(eryx__dylink *d) {
    if (!d) return;
    for (uint32_t i = 0; i < d->n_needed; i++) free(d->needed[i]);
    free(d->needed);
    memset(d, 0, sizeof *d);
}

static bool name_is(const uint8_t *s, uint32_t n, const char *want) {
    return n == strlen(want) && !memcmp(s, want, n);
}

static int read_mem_info(cursor *c, eryx__dylink *d) {
    if (read_u32(c, &d->mem_size) || read_u32(c, &d->mem_align) || read_u32(c, &d->table_size) ||
        read_u32(c, &d->table_align))
        return -1;
    if (d->mem_size > ERYX__DYLINK_MAX_MEM || d->table_size > ERYX__DYLINK_MAX_TABLE)
        return fail(c, "the side module asks for %u bytes of memory and %u table slots; at most %u and %u are allowed",
                    d->mem_size, d->table_size, ERYX__DYLINK_MAX_MEM, ERYX__DYLINK_MAX_TABLE);
    if (d->mem_align > ERYX__DYLINK_MAX_ALIGN || d->table_align > ERYX__DYLINK_MAX_ALIGN)
        return fail(c, "the side module asks for an alignment of 2^%u bytes / 2^%u slots; at most 2^%u is allowed",
                    d->mem_align, d->table_align, ERYX__DYLINK_MAX_ALIGN);
    return 0;
}

static int read_needed(cursor *c, eryx__dylink *d) {
    uint32_t n;
    if (read_u32(c, &n)) return -1;
    if (n > MAX_NEEDED || n > c->end - c->pos) return fail(c, "%s: %u needed modules cannot fit", c->where, n);
    char **v = realloc(d->needed, ((size_t)d->n_needed + n) * sizeof *v + 1);
    if (!v) return fail(c, "out of memory");
    d->needed = v;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s;
        uint32_t len;
        if (read_name(c, &s, &len)) return -1;
        char *copy = malloc((size_t)len + 1);
        if (!copy) return fail(c, "out of memory");
        memcpy(copy, s, len);
        copy[len] = '\0';
        if (strlen(copy) != len) {
            free(copy);
            return fail(c, "%s: a needed module's name holds a NUL byte", c->where);
        }
        d->needed[d->n_needed++] = copy;
    }
    return 0;
}

/* EXPORT_INFO: (name, flags)*; only the TLS flag matters to the loader. */
static int read_export_info(cursor *c, eryx__dylink *d) {
    uint32_t n;
    if (read_u32(c, &n)) return -1;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s;
        uint32_t len, flags;
        if (read_name(c, &s, &len) || read_u32(c, &flags)) return -1;
        if (flags & SYMBOL_TLS) d->n_tls_exports++;
    }
    return 0;
}

int eryx__dylink_read(const uint8_t *wasm, size_t len, eryx__dylink *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    cursor c = {.p = wasm, .pos = 0, .end = len, .where = "module header", .err = err, .err_len = err_len};
    if (err && err_len) err[0] = '\0';
    if (!wasm || len < 8 || memcmp(wasm, "\0asm", 4) != 0 || memcmp(wasm + 4, "\1\0\0\0", 4) != 0)
        return fail(&c, "not a WebAssembly module (bad magic or version)");
    c.pos = 8;
    uint8_t id;
    uint32_t size, nlen;
    const uint8_t *name;
    c.where = "first section";
    if (read_byte(&c, &id) || read_u32(&c, &size)) return -1;
    if (size > c.end - c.pos) return truncated(&c);
    cursor sec = sub_cursor(&c, c.pos, c.pos + size, "dylink.0 section");
    if (id != 0 || read_name(&sec, &name, &nlen))
        return fail(&c, "not a side module: its first section is not dylink.0 (build it with -fPIC and "
                        "wasm-ld -shared)");
    if (name_is(name, nlen, "dylink"))
        return fail(&c, "the side module has the old \"dylink\" section: rebuild it with a toolchain from 2021 or "
                        "later (dylink.0)");
    if (!name_is(name, nlen, "dylink.0"))
        return fail(&c, "not a side module: its first section is not dylink.0 (build it with -fPIC and "
                        "wasm-ld -shared)");
    bool seen[6] = {false};
    while (sec.pos < sec.end) {
        uint8_t type;
        uint32_t sub_len;
        if (read_byte(&sec, &type) || read_u32(&sec, &sub_len)) goto bad;
        if (sub_len > sec.end - sec.pos) {
            truncated(&sec);
            goto bad;
        }
        cursor sub = sub_cursor(&sec, sec.pos, sec.pos + sub_len, "dylink.0 subsection");
        if (type >= MEM_INFO && type <= RUNTIME_PATH) {
            if (seen[type]) {
                fail(&sub, "dylink.0: subsection %u appears twice", type);
                goto bad;
            }
            seen[type] = true;
        }
        int rc = 0;
        switch (type) {
        case MEM_INFO: rc = read_mem_info(&sub, out); break;
        case NEEDED: rc = read_needed(&sub, out); break;
        case EXPORT_INFO: rc = read_export_info(&sub, out); break;
        default: sub.pos = sub.end; break; /* IMPORT_INFO, RUNTIME_PATH, later kinds: not needed */
        }
        if (rc || at_end(&sub)) goto bad;
        sec.pos = sub.end;
    }
    return 0;
bad:
    eryx__dylink_free(out);
    return -1;
}

int eryx__dylink_strip_data(const uint8_t *wasm, size_t len, uint8_t **out, size_t *out_len, char *err,
                            size_t err_len) {
    *out = NULL;
    *out_len = 0;
    cursor c = {.p = wasm, .pos = 8, .end = len, .where = "module", .err = err, .err_len = err_len};
    if (!wasm || len < 8 || memcmp(wasm, "\0asm\1\0\0\0", 8) != 0)
        return fail(&c, "not a WebAssembly module (bad magic or version)");
    uint8_t *copy = malloc(len);
    if (!copy) return fail(&c, "out of memory");
    memcpy(copy, wasm, 8);
    size_t n = 8;
    while (c.pos < c.end) {
        size_t start = c.pos;
        uint8_t id;
        uint32_t size;
        if (read_byte(&c, &id) || read_u32(&c, &size) || skip_bytes(&c, size)) {
            free(copy);
            return -1;
        }
        if (id == 11 || id == 12) continue; /* data, data count */
        memcpy(copy + n, wasm + start, c.pos - start);
        n += c.pos - start;
    }
    *out = copy;
    *out_len = n;
    return 0;
}
