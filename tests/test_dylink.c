/* Unit test of src/link/dylink.c: dylink.0 sections written byte by byte, read
** back; and every malformed input refused with a message, never read past. Also
** the link interface reader and the build-time link check (src/link/linkcheck.c). */
#include <stdbool.h>
#include <stdlib.h>
#include "check.h"
#include "../src/link/dylink.h"
#include "../src/link/linkcheck.h"

typedef struct bytes {
    uint8_t b[512];
    size_t n;
} bytes;

static void put(bytes *o, const void *p, size_t n) {
    memcpy(o->b + o->n, p, n);
    o->n += n;
}
static void leb(bytes *o, uint32_t v) {
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        if (v) byte |= 0x80;
        put(o, &byte, 1);
    } while (v);
}
static void str(bytes *o, const char *s) {
    leb(o, (uint32_t)strlen(s));
    put(o, s, strlen(s));
}

/* A module: header, then a custom section `name` holding `payload`, then a type
** section (so something follows). */
static bytes module(const char *name, const bytes *payload) {
    bytes m = {.n = 0}, sec = {.n = 0};
    put(&m, "\0asm\1\0\0\0", 8);
    str(&sec, name);
    put(&sec, payload->b, payload->n);
    put(&m, "\0", 1);
    leb(&m, (uint32_t)sec.n);
    put(&m, sec.b, sec.n);
    put(&m, "\1\1\0", 3); /* an empty type section */
    return m;
}

static void sub(bytes *p, uint8_t type, const bytes *body) {
    put(p, &type, 1);
    leb(p, (uint32_t)body->n);
    put(p, body->b, body->n);
}

static bytes mem_info(uint32_t ms, uint32_t ma, uint32_t ts, uint32_t ta) {
    bytes b = {.n = 0};
    leb(&b, ms), leb(&b, ma), leb(&b, ts), leb(&b, ta);
    return b;
}

static eryx_status read(const bytes *m, eryx__dylink *d, eryx__errbuf *err) {
    return eryx__dylink_read(m->b, m->n, d, err);
}

static void refused(const bytes *m, const char *needle, int line) {
    eryx__dylink d;
    eryx__errbuf err;
    int rc = read(m, &d, &err);
    check_count++;
    if (rc != ERYX_ERR_PACKAGE || !strstr(err.msg, needle)) {
        check_failures++;
        fprintf(stderr, "%s:%d: expected a refusal with '%s', got %d: %s\n", __FILE__, line, needle, rc, err.msg);
    }
}
#define REFUSED(m, needle) refused(m, needle, __LINE__)

static void section(bytes *m, uint8_t id, const bytes *body) {
    put(m, &id, 1);
    leb(m, (uint32_t)body->n);
    put(m, body->b, body->n);
}

/* A side module with types (i32,i32)->i32 and ()->(); imports env.memory,
** env.PyFoo (type 0), GOT.mem.Py_None and GOT.func.own_fn; defines own_fn (type 1)
** and exports it and a global `own_data`. */
static bytes side_module(void) {
    bytes m = {.n = 0}, b = {.n = 0}, p = {.n = 0};
    put(&m, "\0asm\1\0\0\0", 8);
    b = mem_info(16, 2, 0, 0);
    sub(&p, 1, &b);
    b = (bytes){.n = 0};
    str(&b, "dylink.0");
    put(&b, p.b, p.n);
    section(&m, 0, &b);
    b = (bytes){.n = 0};
    put(&b, "\2\x60\2\x7f\x7f\1\x7f\x60\0\0", 10);
    section(&m, 1, &b);
    b = (bytes){.n = 0};
    leb(&b, 4);
    str(&b, "env"), str(&b, "memory"), put(&b, "\2\0\1", 3);
    str(&b, "env"), str(&b, "PyFoo"), put(&b, "\0\0", 2);
    str(&b, "GOT.mem"), str(&b, "Py_None"), put(&b, "\3\x7f\1", 3);
    str(&b, "GOT.func"), str(&b, "own_fn"), put(&b, "\3\x7f\1", 3);
    section(&m, 2, &b);
    b = (bytes){.n = 0};
    put(&b, "\1\1", 2); /* one function, type 1 */
    section(&m, 3, &b);
    b = (bytes){.n = 0};
    leb(&b, 2), str(&b, "own_fn"), put(&b, "\0\1", 2), str(&b, "own_data"), put(&b, "\3\0", 2);
    section(&m, 7, &b);
    return m;
}

static void test_iface_and_link_check(void) {
    eryx__errbuf err;
    bytes m = side_module();
    eryx__wasm_iface side;
    CHECK(eryx__wasm_iface_read(m.b, m.n, &side, &err) == 0);
    if (err.msg[0]) fprintf(stderr, "iface_read: %s\n", err.msg);
    CHECK(side.n_imports == 4 && side.n_exports == 2);
    if (side.n_imports == 4 && side.n_exports == 2) {
        CHECK_STR_EQ(side.imports[1].module, "env");
        CHECK_STR_EQ(side.imports[1].name, "PyFoo");
        CHECK_STR_EQ(side.imports[1].sig, "ii>i");
        CHECK(side.imports[2].kind == 3 && side.imports[2].sig == NULL);
        CHECK(eryx__wasm_iface_export(&side, "own_fn", 6, 0) != NULL);
        CHECK_STR_EQ(eryx__wasm_iface_export(&side, "own_fn", 6, 0)->sig, ">");
        CHECK(eryx__wasm_iface_export(&side, "own_data", 8, 3) != NULL);
        CHECK(eryx__wasm_iface_export(&side, "own_data", 8, 0) == NULL); /* a global, not a function */
    }
    /* Every cut inside a section is refused with a message, never read past (a
    ** cut between sections is a shorter, valid module). */
    bool boundary[512] = {false};
    for (size_t at = 8; at < m.n;) {
        boundary[at] = true;
        size_t size = 0, shift = 0, i = at + 1;
        do size |= (size_t)(m.b[i] & 0x7f) << shift, shift += 7;
        while (m.b[i++] & 0x80);
        at = i + size;
    }
    for (size_t cut = 9; cut < m.n; cut++) {
        if (boundary[cut]) continue;
        eryx__wasm_iface f;
        err.msg[0] = '\0';
        int rc = eryx__wasm_iface_read(m.b, cut, &f, &err);
        check_count++;
        if (rc == 0) eryx__wasm_iface_free(&f);
        if (rc != ERYX_ERR_PACKAGE || !err.msg[0]) {
            check_failures++;
            fprintf(stderr, "%s:%d: a module cut at %zu read as %d (%s)\n", __FILE__, __LINE__, cut, rc, err.msg);
        }
    }
    /* A type index out of range. */
    bytes bad = m;
    for (size_t i = 0; i + 7 < bad.n; i++)
        if (!memcmp(bad.b + i, "PyFoo\0\0", 7)) bad.b[i + 6] = 9;
    eryx__wasm_iface f;
    CHECK(eryx__wasm_iface_read(bad.b, bad.n, &f, &err) == ERYX_ERR_PACKAGE && strstr(err.msg, "type index 9"));

    /* The interpreter: exports PyFoo (maybe with another signature), Py_None. */
    eryx__wasm_sym mexp[2] = {{NULL, "PyFoo", 0, "ii>i"}, {NULL, "Py_None", 3, NULL}};
    eryx__wasm_iface main_if = {.exports = mexp, .n_exports = 2};
    eryx__wasm_iface_sort(&main_if);
    eryx__link_side sides[1] = {{"pkg: ext.so", &side}};
    CHECK(eryx__link_check(&main_if, sides, 1, &err) == 0);
    mexp[0].name = "PyFoo"; /* sorted: find it again */
    for (size_t i = 0; i < 2; i++)
        if (!strcmp(mexp[i].name, "PyFoo")) mexp[i].sig = "i>i";
    CHECK(eryx__link_check(&main_if, sides, 1, &err) == ERYX_ERR_PACKAGE && strstr(err.msg, "pkg: ext.so") &&
          strstr(err.msg, "(i32, i32) -> (i32)") && strstr(err.msg, "(i32) -> (i32)") &&
          strstr(err.msg, "another interpreter"));
    for (size_t i = 0; i < 2; i++)
        if (!strcmp(mexp[i].name, "PyFoo")) mexp[i].name = "PyBar";
    eryx__wasm_iface_sort(&main_if);
    CHECK(eryx__link_check(&main_if, sides, 1, &err) == ERYX_ERR_PACKAGE && strstr(err.msg, "the function PyFoo") &&
          strstr(err.msg, "neither the interpreter"));
    eryx__wasm_iface none = {0};
    for (size_t i = 0; i < 2; i++)
        if (!strcmp(mexp[i].name, "PyBar")) mexp[i].name = "PyFoo", mexp[i].sig = "ii>i";
    eryx__wasm_iface_sort(&main_if);
    eryx__wasm_sym only_foo[1] = {{NULL, "PyFoo", 0, "ii>i"}};
    eryx__wasm_iface foo_only = {.exports = only_foo, .n_exports = 1};
    CHECK(eryx__link_check(&foo_only, sides, 1, &err) == ERYX_ERR_PACKAGE && strstr(err.msg, "data symbol Py_None"));
    /* A function another side module defines satisfies the import. */
    eryx__wasm_sym defs[2] = {{NULL, "PyFoo", 0, "ii>i"}, {NULL, "Py_None", 3, NULL}};
    eryx__wasm_iface other = {.exports = defs, .n_exports = 2};
    eryx__wasm_iface_sort(&other);
    eryx__link_side two[2] = {{"pkg: ext.so", &side}, {"pkg: other.so", &other}};
    CHECK(eryx__link_check(&none, two, 2, &err) == 0);
    eryx__wasm_iface_free(&side);
}

int main(void) {
    test_iface_and_link_check();
    eryx__dylink d;
    eryx__errbuf err;
    /* A full section: mem info, two needed modules, export info with a TLS symbol,
    ** an import info and an unknown future subsection (skipped). */
    bytes p = {.n = 0}, b;
    b = mem_info(70000, 4, 123, 0);
    sub(&p, 1, &b);
    b = (bytes){.n = 0};
    leb(&b, 2), str(&b, "libfoo.so"), str(&b, "libbar.so");
    sub(&p, 2, &b);
    b = (bytes){.n = 0};
    leb(&b, 2), str(&b, "x"), leb(&b, 0), str(&b, "tls_var"), leb(&b, 0x100);
    sub(&p, 3, &b);
    b = (bytes){.n = 0};
    leb(&b, 1), str(&b, "env"), str(&b, "y"), leb(&b, 0);
    sub(&p, 4, &b);
    b = (bytes){.n = 3, .b = {1, 2, 3}};
    sub(&p, 42, &b);
    bytes m = module("dylink.0", &p);
    CHECK(read(&m, &d, &err) == 0);
    CHECK(d.mem_size == 70000 && d.mem_align == 4 && d.table_size == 123 && d.table_align == 0);
    CHECK(d.n_needed == 2);
    if (d.n_needed == 2) {
        CHECK_STR_EQ(d.needed[0], "libfoo.so");
        CHECK_STR_EQ(d.needed[1], "libbar.so");
    }
    CHECK(d.n_tls_exports == 1);
    eryx__dylink_free(&d);
    CHECK(d.needed == NULL && d.n_needed == 0);

    /* An empty dylink.0 section: no memory, no table. */
    bytes empty = {.n = 0};
    m = module("dylink.0", &empty);
    CHECK(read(&m, &d, &err) == 0 && d.mem_size == 0 && d.table_size == 0);
    eryx__dylink_free(&d);

    /* Every prefix of the full module that cuts the section is refused. */
    m = module("dylink.0", &p);
    for (size_t cut = 0; cut < m.n - 3; cut++) {
        bytes t = m;
        t.n = cut;
        eryx__dylink td;
        check_count++;
        if (eryx__dylink_read(t.b, t.n, &td, &err) != ERYX_ERR_PACKAGE || !err.msg[0]) {
            check_failures++;
            fprintf(stderr, "prefix of %zu bytes accepted\n", cut);
        }
    }

    bytes short_magic = {.n = 0};
    put(&short_magic, "\0asm", 4);
    REFUSED(&short_magic, "not a WebAssembly module");
    m = module("name", &empty);
    REFUSED(&m, "not a side module");
    m = module("dylink", &empty);
    REFUSED(&m, "old \"dylink\" section");
    bytes notcustom = {.n = 0};
    put(&notcustom, "\0asm\1\0\0\0\1\1\0", 11);
    REFUSED(&notcustom, "not a side module");
    /* Caps. */
    p = (bytes){.n = 0};
    b = mem_info(ERYX__DYLINK_MAX_MEM + 1, 0, 0, 0);
    sub(&p, 1, &b);
    m = module("dylink.0", &p);
    REFUSED(&m, "at most");
    p = (bytes){.n = 0};
    b = mem_info(16, 31, 0, 0);
    sub(&p, 1, &b);
    m = module("dylink.0", &p);
    REFUSED(&m, "alignment");
    /* A subsection twice; bytes left over inside one; a length past the section. */
    p = (bytes){.n = 0};
    b = mem_info(1, 0, 0, 0);
    sub(&p, 1, &b);
    sub(&p, 1, &b);
    m = module("dylink.0", &p);
    REFUSED(&m, "appears twice");
    p = (bytes){.n = 0};
    b = mem_info(1, 0, 0, 0);
    put(&b, "\0", 1);
    sub(&p, 1, &b);
    m = module("dylink.0", &p);
    REFUSED(&m, "left over");
    p = (bytes){.n = 0};
    put(&p, "\1\x7f", 2);
    m = module("dylink.0", &p);
    REFUSED(&m, "truncated");
    /* A needed count that cannot fit, a name with a NUL. */
    p = (bytes){.n = 0};
    b = (bytes){.n = 0};
    leb(&b, 1000000);
    sub(&p, 2, &b);
    m = module("dylink.0", &p);
    REFUSED(&m, "cannot fit");
    p = (bytes){.n = 0};
    b = (bytes){.n = 0};
    leb(&b, 1), leb(&b, 3), put(&b, "a\0b", 3);
    sub(&p, 2, &b);
    m = module("dylink.0", &p);
    REFUSED(&m, "NUL");
    /* Stripping data: sections 11 (data) and 12 (data count) go, the rest stays. */
    bytes full = module("dylink.0", &empty);   /* header, dylink.0, type section */
    put(&full, "\x0c\x01\x01", 3);             /* data count: 1 */
    put(&full, "\x0b\x04\x01\x01\x01\x7f", 6); /* a data section (contents not parsed) */
    put(&full, "\x00\x03\x02hi", 5);           /* a custom section after it */
    uint8_t *bare = NULL;
    size_t bare_len = 0;
    CHECK(eryx__dylink_strip_data(full.b, full.n, &bare, &bare_len, &err) == 0);
    CHECK(bare_len == full.n - 9);
    if (bare) {
        CHECK(memcmp(bare, full.b, full.n - 14) == 0);                /* everything before them */
        CHECK(memcmp(bare + bare_len - 5, "\x00\x03\x02hi", 5) == 0); /* and after */
        eryx__dylink bd;
        CHECK(eryx__dylink_read(bare, bare_len, &bd, &err) == 0); /* still a side module */
        eryx__dylink_free(&bd);
    }
    free(bare);
    /* Cut inside a section (the dylink.0 header, the data section, the last
    ** section): refused. A cut on a section boundary would be a valid module. */
    size_t cuts[] = {9, full.n - 7, full.n - 2};
    for (size_t k = 0; k < 3; k++) {
        size_t cut = cuts[k];
        check_count++;
        if (eryx__dylink_strip_data(full.b, cut, &bare, &bare_len, &err) != ERYX_ERR_PACKAGE || bare) {
            check_failures++;
            fprintf(stderr, "strip accepted a module cut at %zu\n", cut);
            free(bare);
        }
    }
    return check_report("test_dylink");
}
