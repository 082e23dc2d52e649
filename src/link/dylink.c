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

static bool name_is(const uint8_t *s, uint32_t n, const char *want) { return n == strlen(want) && !memcmp(s, want, n); }

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

static int dylink_read(const uint8_t *wasm, size_t len, eryx__dylink *out, eryx__errbuf *err) {
    memset(out, 0, sizeof *out);
    cursor c = {.p = wasm, .pos = 0, .end = len, .where = "module header", .err = err};
    if (err) eryx__errbuf_clear(err);
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

static int strip_data(const uint8_t *wasm, size_t len, uint8_t **out, size_t *out_len, eryx__errbuf *err) {
    *out = NULL;
    *out_len = 0;
    cursor c = {.p = wasm, .pos = 8, .end = len, .where = "module", .err = err};
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

/* The entry points: the parse steps above return 0 or -1 with the message in err;
** a side module comes from a package, so a module they refuse is ERYX_ERR_PACKAGE. */
eryx_status eryx__dylink_read(const uint8_t *wasm, size_t len, eryx__dylink *out, eryx__errbuf *err) {
    return dylink_read(wasm, len, out, err) ? ERYX_ERR_PACKAGE : ERYX_OK;
}

eryx_status eryx__dylink_strip_data(const uint8_t *wasm, size_t len, uint8_t **out, size_t *out_len,
                                    eryx__errbuf *err) {
    return strip_data(wasm, len, out, out_len, err) ? ERYX_ERR_PACKAGE : ERYX_OK;
}

/* ---- the link interface ------------------------------------------------------------- */

static void sym_free(eryx__wasm_sym *s) {
    free(s->module);
    free(s->name);
    free(s->sig);
}

void eryx__wasm_iface_free(eryx__wasm_iface *f) {
    if (!f) return;
    for (size_t i = 0; i < f->n_imports; i++) sym_free(&f->imports[i]);
    for (size_t i = 0; i < f->n_exports; i++) sym_free(&f->exports[i]);
    free(f->imports);
    free(f->exports);
    memset(f, 0, sizeof *f);
}

static int sym_cmp(const void *a, const void *b) {
    const eryx__wasm_sym *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->kind > y->kind) - (x->kind < y->kind);
}

void eryx__wasm_iface_sort(eryx__wasm_iface *f) {
    if (f->n_exports > 1) qsort(f->exports, f->n_exports, sizeof *f->exports, sym_cmp);
}

const eryx__wasm_sym *eryx__wasm_iface_export(const eryx__wasm_iface *f, const char *name, size_t len, uint8_t kind) {
    size_t lo = 0, hi = f->n_exports;
    while (lo < hi) { /* the first entry >= (name, kind) */
        size_t mid = lo + (hi - lo) / 2;
        const eryx__wasm_sym *m = &f->exports[mid];
        int c = strncmp(m->name, name, len);
        if (c == 0 && m->name[len] != '\0') c = 1;
        if (c == 0) c = (m->kind > kind) - (m->kind < kind);
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo < f->n_exports) {
        const eryx__wasm_sym *m = &f->exports[lo];
        if (m->kind == kind && !strncmp(m->name, name, len) && m->name[len] == '\0') return m;
    }
    return NULL;
}

static char *copy_name(cursor *c, const uint8_t *s, uint32_t n) {
    char *out = malloc((size_t)n + 1);
    if (!out) {
        fail(c, "out of memory");
        return NULL;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    if (strlen(out) != n) {
        free(out);
        fail(c, "%s: a name holds a NUL byte (at byte %zu)", c->where, c->pos);
        return NULL;
    }
    return out;
}

static int valtype_letter(cursor *c, char *out) {
    uint8_t b;
    if (read_byte(c, &b)) return -1;
    static const struct {
        uint8_t code;
        char letter;
    } map[] = {{0x7f, 'i'}, {0x7e, 'I'}, {0x7d, 'f'}, {0x7c, 'F'}, {0x7b, 'v'}, {0x70, 'r'}, {0x6f, 'e'}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].code == b) {
            *out = map[i].letter;
            return 0;
        }
    return fail(c, "%s: value type 0x%02x at byte %zu is not one this reader knows", c->where, b, c->pos - 1);
}

/* The type section: each function type as a signature string. */
static int read_types(cursor *c, char ***types, uint32_t *ntypes) {
    if (read_u32(c, ntypes)) return -1;
    if (*ntypes > ERYX__WASM_MAX_SYMBOLS || *ntypes > c->end - c->pos)
        return fail(c, "%s: %u types cannot fit", c->where, *ntypes);
    if (!(*types = calloc(*ntypes ? *ntypes : 1, sizeof **types))) return fail(c, "out of memory");
    for (uint32_t i = 0; i < *ntypes; i++) {
        uint8_t form;
        uint32_t np, nr;
        if (read_byte(c, &form)) return -1;
        if (form != 0x60) return fail(c, "%s: type %u is not a function type (0x%02x)", c->where, i, form);
        if (read_u32(c, &np) || np > c->end - c->pos) return np ? truncated(c) : -1;
        char *sig = malloc((size_t)np + 2);
        if (!sig) return fail(c, "out of memory");
        (*types)[i] = sig;
        for (uint32_t k = 0; k < np; k++)
            if (valtype_letter(c, &sig[k])) return -1;
        sig[np] = '>';
        if (read_u32(c, &nr)) return -1;
        if (nr > 1000 || nr > c->end - c->pos) return fail(c, "%s: type %u has %u results", c->where, i, nr);
        char *grown = realloc(sig, (size_t)np + nr + 2);
        if (!grown) return fail(c, "out of memory");
        (*types)[i] = sig = grown;
        for (uint32_t k = 0; k < nr; k++)
            if (valtype_letter(c, &sig[np + 1 + k])) return -1;
        sig[np + 1 + nr] = '\0';
    }
    return 0;
}

static int skip_limits(cursor *c) {
    uint8_t flags;
    if (read_byte(c, &flags)) return -1;
    if (flags & ~0x07u) return fail(c, "%s: limits flags 0x%02x at byte %zu", c->where, flags, c->pos - 1);
    if (skip_leb(c, 10)) return -1;
    return (flags & 1) ? skip_leb(c, 10) : 0;
}

static const char *type_sig(cursor *c, char **types, uint32_t ntypes, uint32_t index) {
    if (index >= ntypes) {
        fail(c, "%s: type index %u out of range (%u types) at byte %zu", c->where, index, ntypes, c->pos);
        return NULL;
    }
    return types[index];
}

static int read_imports(cursor *c, char **types, uint32_t ntypes, eryx__wasm_iface *out, uint32_t **func_types,
                        uint32_t *nfuncs) {
    uint32_t n;
    if (read_u32(c, &n)) return -1;
    if (n > ERYX__WASM_MAX_SYMBOLS || n > c->end - c->pos) return fail(c, "%s: %u imports cannot fit", c->where, n);
    if (!(out->imports = calloc(n ? n : 1, sizeof *out->imports))) return fail(c, "out of memory");
    if (!(*func_types = malloc((n ? n : 1) * sizeof **func_types))) return fail(c, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *m, *f;
        uint32_t ml, fl, index;
        uint8_t kind, b;
        if (read_name(c, &m, &ml) || read_name(c, &f, &fl) || read_byte(c, &kind)) return -1;
        eryx__wasm_sym *s = &out->imports[out->n_imports++];
        s->kind = kind;
        if (!(s->module = copy_name(c, m, ml)) || !(s->name = copy_name(c, f, fl))) return -1;
        switch (kind) {
        case 0:
            if (read_u32(c, &index)) return -1;
            const char *sig = type_sig(c, types, ntypes, index);
            if (!sig) return -1;
            if (!(s->sig = strdup(sig))) return fail(c, "out of memory");
            (*func_types)[(*nfuncs)++] = index;
            break;
        case 1:
            if (read_byte(c, &b) || skip_limits(c)) return -1;
            break;
        case 2:
            if (skip_limits(c)) return -1;
            break;
        case 3: {
            char t;
            if (valtype_letter(c, &t) || read_byte(c, &b)) return -1;
            break;
        }
        case 4:
            if (read_byte(c, &b) || read_u32(c, &index)) return -1;
            break;
        default: return fail(c, "%s: import kind 0x%02x at byte %zu", c->where, kind, c->pos - 1);
        }
    }
    return 0;
}

static int iface_read(const uint8_t *wasm, size_t len, eryx__wasm_iface *out, eryx__errbuf *err) {
    memset(out, 0, sizeof *out);
    cursor c = {.p = wasm, .pos = 8, .end = len, .where = "module", .err = err};
    if (err) eryx__errbuf_clear(err);
    if (!wasm || len < 8 || memcmp(wasm, "\0asm\1\0\0\0", 8) != 0)
        return fail(&c, "not a WebAssembly module (bad magic or version)");
    char **types = NULL;
    uint32_t ntypes = 0, nfuncs = 0, *func_types = NULL;
    int rc = 0;
    while (rc == 0 && c.pos < c.end) {
        uint8_t id;
        uint32_t size;
        c.where = "section header";
        if (read_byte(&c, &id) || read_u32(&c, &size)) {
            rc = -1;
            break;
        }
        if (size > c.end - c.pos) {
            rc = truncated(&c);
            break;
        }
        cursor sec = sub_cursor(&c, c.pos, c.pos + size, "section");
        c.pos += size;
        if (id == 1) {
            sec.where = "type section";
            rc = types ? fail(&sec, "two type sections") : read_types(&sec, &types, &ntypes);
        } else if (id == 2) {
            sec.where = "import section";
            rc = out->imports || func_types ? fail(&sec, "two import sections, or one after the function section")
                                            : read_imports(&sec, types, ntypes, out, &func_types, &nfuncs);
        } else if (id == 3) { /* function section: the type of each defined function */
            sec.where = "function section";
            uint32_t n;
            if ((rc = read_u32(&sec, &n)) != 0) break;
            if (n > ERYX__WASM_MAX_SYMBOLS || n > sec.end - sec.pos) {
                rc = fail(&sec, "%s: %u functions cannot fit", sec.where, n);
                break;
            }
            uint32_t *grown = realloc(func_types, ((size_t)nfuncs + n + 1) * sizeof *grown);
            if (!grown) {
                rc = fail(&sec, "out of memory");
                break;
            }
            func_types = grown;
            for (uint32_t i = 0; rc == 0 && i < n; i++) rc = read_u32(&sec, &func_types[nfuncs++]);
        } else if (id == 7) {
            sec.where = "export section";
            uint32_t n;
            if ((rc = read_u32(&sec, &n)) != 0) break;
            if (out->exports || n > ERYX__WASM_MAX_SYMBOLS || n > sec.end - sec.pos) {
                rc = fail(&sec, "%s: a second one, or %u exports cannot fit", sec.where, n);
                break;
            }
            if (!(out->exports = calloc(n ? n : 1, sizeof *out->exports))) {
                rc = fail(&sec, "out of memory");
                break;
            }
            for (uint32_t i = 0; rc == 0 && i < n; i++) {
                const uint8_t *s;
                uint32_t sl, index;
                uint8_t kind;
                if ((rc = read_name(&sec, &s, &sl)) || (rc = read_byte(&sec, &kind)) || (rc = read_u32(&sec, &index)))
                    break;
                eryx__wasm_sym *e = &out->exports[out->n_exports++];
                e->kind = kind;
                if (!(e->name = copy_name(&sec, s, sl))) rc = -1;
                else if (kind == 0) {
                    const char *sig = index < nfuncs ? type_sig(&sec, types, ntypes, func_types[index]) : NULL;
                    if (index >= nfuncs)
                        rc = fail(&sec, "%s: function index %u out of range (%u functions)", sec.where, index, nfuncs);
                    else if (!sig) rc = -1;
                    else if (!(e->sig = strdup(sig))) rc = fail(&sec, "out of memory");
                }
            }
        }
        if (rc == 0 && (id == 1 || id == 2 || id == 3 || id == 7)) rc = at_end(&sec);
    }
    for (uint32_t i = 0; types && i < ntypes; i++) free(types[i]);
    free(types);
    free(func_types);
    if (rc != 0) {
        eryx__wasm_iface_free(out);
        return -1;
    }
    eryx__wasm_iface_sort(out);
    return 0;
}

eryx_status eryx__wasm_iface_read(const uint8_t *wasm, size_t len, eryx__wasm_iface *out, eryx__errbuf *err) {
    return iface_read(wasm, len, out, err) ? ERYX_ERR_PACKAGE : ERYX_OK;
}
