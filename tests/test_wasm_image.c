/* Unit tests of the snapshot image rewriter (src/snapshot/wasm_image.c): modules
** built by hand here are rewritten with a memory snapshot and then loaded by
** wasmtime, whose memory must equal the snapshot byte for byte; the segments
** written are read back to check their merging; and refused modules (imported,
** shared or 64-bit memory, passive data, a start function, every truncation,
** hostile lengths) must give a message, never a crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasmtime.h>

#include "../src/snapshot/wasm_image.h"
#include "check.h"

#define PAGE ERYX__WASM_PAGE

/* ---- building modules by hand ---------------------------------------------------- */

typedef struct mod {
    uint8_t b[1024];
    size_t n;
    size_t ends[32]; /* where each section ends */
    size_t nsec;
} mod;

static void mod_begin(mod *m) {
    static const uint8_t header[] = {0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00};
    memcpy(m->b, header, sizeof header);
    m->n = sizeof header;
    m->nsec = 0;
}

static void mod_section(mod *m, uint8_t id, const uint8_t *payload, size_t len) {
    m->b[m->n++] = id;
    m->b[m->n++] = (uint8_t)len; /* the test's sections are all under 128 bytes */
    memcpy(m->b + m->n, payload, len);
    m->n += len;
    m->ends[m->nsec++] = m->n;
}

#define SECTION(m, id, ...)                        \
    do {                                           \
        static const uint8_t p_[] = {__VA_ARGS__}; \
        mod_section((m), (id), p_, sizeof p_);     \
    } while (0)

#define TYPE_SEC(m) SECTION(m, 1, 0x01, 0x60, 0x00, 0x00) /* one type: () -> () */
#define FUNC_SEC(m) SECTION(m, 3, 0x01, 0x00)             /* one function of type 0 */
#define MEMORY_SEC(m) SECTION(m, 5, 0x01, 0x00, 0x01)     /* one memory, min 1 page */
#define EXPORT_SEC(m)                                                                                                 \
    SECTION(m, 7, 0x02, 0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00, 0x0b, '_', 'i', 'n', 'i', 't', 'i', 'a', 'l', \
            'i', 'z', 'e', 0x00, 0x00)
#define CODE_SEC(m) SECTION(m, 10, 0x01, 0x02, 0x00, 0x0b) /* an empty body */
/* One active segment: "abc" at 16. */
#define DATA_SEC(m) SECTION(m, 11, 0x01, 0x00, 0x41, 0x10, 0x0b, 0x03, 'a', 'b', 'c')
/* A "name" section naming function 0 "init". */
#define NAME_SEC(m) SECTION(m, 0, 0x04, 'n', 'a', 'm', 'e', 0x01, 0x07, 0x01, 0x00, 0x04, 'i', 'n', 'i', 't')

/* The test module: type, function, memory, exports "memory" and "_initialize",
** code, data, custom "name". */
static void base_module(mod *m) {
    mod_begin(m);
    TYPE_SEC(m);
    FUNC_SEC(m);
    MEMORY_SEC(m);
    EXPORT_SEC(m);
    CODE_SEC(m);
    DATA_SEC(m);
    NAME_SEC(m);
}

/* ---- reading the output back ------------------------------------------------------ */

static uint64_t uleb(const uint8_t *p, size_t *pos) {
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        uint8_t b = p[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
}

static int64_t sleb(const uint8_t *p, size_t *pos) {
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
        b = p[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40)) v |= ~(uint64_t)0 << shift;
    return (int64_t)v;
}

/* The ids of the sections of a (trusted) module, in order; returns how many. */
static size_t section_ids(const uint8_t *w, size_t n, uint8_t *ids, size_t cap) {
    size_t pos = 8, k = 0;
    while (pos < n && k < cap) {
        ids[k++] = w[pos++];
        pos += uleb(w, &pos);
    }
    return k;
}

/* The contents of the first section with this id (NULL if none). */
static const uint8_t *find_section(const uint8_t *w, size_t n, uint8_t id, size_t *len) {
    size_t pos = 8;
    while (pos < n) {
        uint8_t sid = w[pos++];
        size_t size = uleb(w, &pos);
        if (sid == id) {
            *len = size;
            return w + pos;
        }
        pos += size;
    }
    return NULL;
}

typedef struct seg {
    uint32_t offset, len;
} seg;

/* The segments of the data section the rewriter wrote (flag 0, i32.const offset). */
static size_t read_segments(const uint8_t *w, size_t n, seg *segs, size_t cap) {
    size_t len, pos = 0;
    const uint8_t *d = find_section(w, n, 11, &len);
    if (!d) return 0;
    size_t count = uleb(d, &pos);
    for (size_t i = 0; i < count && i < cap; i++) {
        CHECK(d[pos++] == 0x00);
        CHECK(d[pos++] == 0x41);
        segs[i].offset = (uint32_t)(int32_t)sleb(d, &pos);
        CHECK(d[pos++] == 0x0b);
        segs[i].len = (uint32_t)uleb(d, &pos);
        pos += segs[i].len;
    }
    CHECK(pos == len);
    return count;
}

/* ---- loading with wasmtime ----------------------------------------------------------- */

static wasm_engine_t *engine;

static void print_error(const char *what, wasmtime_error_t *e, wasm_trap_t *trap) {
    wasm_byte_vec_t msg = {0};
    if (e) wasmtime_error_message(e, &msg);
    if (trap) wasm_trap_message(trap, &msg);
    fprintf(stderr, "%s: %.*s\n", what, (int)msg.size, msg.data ? msg.data : "");
    wasm_byte_vec_delete(&msg);
    if (e) wasmtime_error_delete(e);
    if (trap) wasm_trap_delete(trap);
}

/* Instantiates the module (no imports) and compares its exported "memory" with
** want (want_len bytes; NULL: all zero). Returns 0 when equal; *has_initialize
** tells whether the instance exports _initialize. */
static int load_and_compare(const uint8_t *w, size_t n, const uint8_t *want, size_t want_len, int *has_initialize) {
    wasmtime_module_t *module = NULL;
    wasmtime_error_t *e = wasmtime_module_new(engine, w, n, &module);
    if (e) {
        print_error("wasmtime_module_new", e, NULL);
        return -1;
    }
    wasmtime_store_t *store = wasmtime_store_new(engine, NULL, NULL);
    wasmtime_context_t *ctx = wasmtime_store_context(store);
    wasmtime_instance_t inst;
    wasm_trap_t *trap = NULL;
    int rc = -1;
    e = wasmtime_instance_new(ctx, module, NULL, 0, &inst, &trap);
    if (e || trap) {
        print_error("wasmtime_instance_new", e, trap);
        goto done;
    }
    wasmtime_extern_t ext;
    if (!wasmtime_instance_export_get(ctx, &inst, "memory", 6, &ext) || ext.kind != WASMTIME_EXTERN_MEMORY) {
        fprintf(stderr, "no memory export\n");
        goto done;
    }
    uint64_t pages = wasmtime_memory_size(ctx, &ext.of.memory);
    const uint8_t *data = wasmtime_memory_data(ctx, &ext.of.memory);
    size_t size = wasmtime_memory_data_size(ctx, &ext.of.memory);
    if (pages * PAGE != want_len || size != want_len) {
        fprintf(stderr, "memory is %llu pages (%zu bytes), want %zu bytes\n", (unsigned long long)pages, size,
                want_len);
        goto done;
    }
    if (want) {
        rc = memcmp(data, want, want_len) == 0 ? 0 : -1;
    } else {
        rc = data[0] == 0 && memcmp(data, data + 1, want_len - 1) == 0 ? 0 : -1;
    }
    if (rc) fprintf(stderr, "memory contents differ\n");
    wasmtime_extern_t init;
    *has_initialize = wasmtime_instance_export_get(ctx, &inst, "_initialize", 11, &init);
    if (*has_initialize) wasmtime_extern_delete(&init);
    wasmtime_extern_delete(&ext);
done:
    wasmtime_store_delete(store);
    wasmtime_module_delete(module);
    return rc;
}

/* Rewrites (w, n) with mem, loads the result and compares its memory with mem. */
static void roundtrip(const uint8_t *w, size_t n, const uint8_t *mem, size_t mem_len) {
    uint8_t *out = NULL;
    size_t out_len = 0;
    eryx__errbuf err;
    int rc = eryx__wasm_image_build(w, n, mem, mem_len, &out, &out_len, &err);
    CHECK(rc == 0);
    if (rc) {
        fprintf(stderr, "  error: %s\n", err.msg);
        return;
    }
    int has_init = 1;
    CHECK(load_and_compare(out, out_len, mem, mem_len, &has_init) == 0);
    CHECK(!has_init);
    free(out);
}

/* Expects the rewrite to fail with a message containing want. */
static void expect_error(const uint8_t *w, size_t n, size_t mem_pages, const char *want) {
    uint8_t *mem = calloc(mem_pages ? mem_pages : 1, PAGE);
    uint8_t *out = (uint8_t *)"untouched";
    size_t out_len = 7;
    eryx__errbuf err;
    if (mem_pages) mem[100] = 1;
    int rc = eryx__wasm_image_build(w, n, mem, mem_pages * PAGE, &out, &out_len, &err);
    CHECK(rc == ERYX_ERR_ENGINE);
    CHECK(out == NULL && out_len == 0);
    CHECK(strstr(err.msg, want) != NULL);
    if (!strstr(err.msg, want)) fprintf(stderr, "  got \"%s\", want \"%s\"\n", err.msg, want);
    if (rc == 0) free(out);
    free(mem);
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_roundtrip(void) {
    mod m;
    base_module(&m);
    size_t mem_len = 2 * PAGE;
    uint8_t *mem = calloc(1, mem_len);
    mem[5] = 0x11;
    mem[70000] = 0x22;
    mem[mem_len - 1] = 0x33;
    uint8_t *out = NULL;
    size_t out_len = 0;
    eryx__errbuf err;
    CHECK(eryx__wasm_image_build(m.b, m.n, mem, mem_len, &out, &out_len, &err) == 0);
    int has_init = 1;
    CHECK(load_and_compare(out, out_len, mem, mem_len, &has_init) == 0);
    CHECK(!has_init);

    /* Sections in the same order; "name" kept byte for byte; "memory" still exported. */
    uint8_t ids[32];
    size_t nids = section_ids(out, out_len, ids, 32);
    CHECK(nids == 7 && memcmp(ids, "\x01\x03\x05\x07\x0a\x0b\x00", 7) == 0);
    size_t len;
    const uint8_t *name = find_section(out, out_len, 0, &len);
    CHECK(name && len == 14 && memcmp(name, "\x04name\x01\x07\x01\x00\x04init", 14) == 0);
    const uint8_t *exp = find_section(out, out_len, 7, &len);
    CHECK(exp && len == 10 && memcmp(exp, "\x01\x06memory\x02\x00", 10) == 0);
    const uint8_t *memsec = find_section(out, out_len, 5, &len);
    CHECK(memsec && len == 3 && memcmp(memsec, "\x01\x00\x02", 3) == 0);
    /* Runs [0, 4K) and [68K, 128K) cover half of their span, so they became one. */
    seg s[8];
    CHECK(read_segments(out, out_len, s, 8) == 1 && s[0].offset == 0 && s[0].len == mem_len);
    free(out);

    /* The same through a NULL error buffer. */
    CHECK(eryx__wasm_image_build(m.b, m.n, mem, mem_len, &out, &out_len, NULL) == 0);
    free(out);
    free(mem);
}

static void test_all_zero(void) {
    mod m;
    base_module(&m);
    size_t mem_len = 3 * PAGE;
    uint8_t *mem = calloc(1, mem_len);
    uint8_t *out = NULL;
    size_t out_len = 0;
    eryx__errbuf err;
    CHECK(eryx__wasm_image_build(m.b, m.n, mem, mem_len, &out, &out_len, &err) == 0);
    int has_init = 1;
    CHECK(load_and_compare(out, out_len, NULL, mem_len, &has_init) == 0); /* "abc" is gone too */
    CHECK(!has_init);
    size_t len;
    CHECK(find_section(out, out_len, 11, &len) == NULL);
    free(out);
    free(mem);
}

/* A data count section is rewritten; a data section is added (after the code,
** before the trailing custom section) when the module had none; flag 2 segments
** and a maximum are accepted. */
static void test_section_variants(void) {
    size_t mem_len = 3 * PAGE; /* 4K pages 0-19 and 40-47 non-zero: two dense segments */
    uint8_t *mem = calloc(1, mem_len);
    memset(mem, 0x5a, 20 * 4096);
    memset(mem + 40 * 4096, 0xa5, 8 * 4096);

    mod m;
    mod_begin(&m);
    TYPE_SEC(&m);
    FUNC_SEC(&m);
    MEMORY_SEC(&m);
    EXPORT_SEC(&m);
    SECTION(&m, 12, 0x01); /* data count: 1 */
    CODE_SEC(&m);
    DATA_SEC(&m);
    NAME_SEC(&m);
    roundtrip(m.b, m.n, mem, mem_len);
    uint8_t *out = NULL;
    size_t out_len = 0, len;
    CHECK(eryx__wasm_image_build(m.b, m.n, mem, mem_len, &out, &out_len, NULL) == 0);
    seg s[8];
    size_t nseg = read_segments(out, out_len, s, 8);
    CHECK(nseg == 2 && s[0].offset == 0 && s[0].len == 20 * 4096 && s[1].offset == 40 * 4096 && s[1].len == 8 * 4096);
    const uint8_t *dc = find_section(out, out_len, 12, &len);
    CHECK(dc && len == 1 && dc[0] == nseg);
    free(out);

    mod_begin(&m); /* no data section */
    TYPE_SEC(&m);
    FUNC_SEC(&m);
    MEMORY_SEC(&m);
    EXPORT_SEC(&m);
    CODE_SEC(&m);
    NAME_SEC(&m);
    roundtrip(m.b, m.n, mem, mem_len);
    CHECK(eryx__wasm_image_build(m.b, m.n, mem, mem_len, &out, &out_len, NULL) == 0);
    uint8_t ids[32];
    size_t nids = section_ids(out, out_len, ids, 32);
    CHECK(nids == 7 && memcmp(ids, "\x01\x03\x05\x07\x0a\x0b\x00", 7) == 0);
    free(out);

    mod_begin(&m); /* a flag-2 segment, a maximum of 3 pages, other imports */
    TYPE_SEC(&m);
    SECTION(&m, 2, 0x03, 0x03, 'e', 'n', 'v', 0x01, 'f', 0x00, 0x00, /* func */
            0x03, 'e', 'n', 'v', 0x01, 'g', 0x03, 0x7f, 0x00,        /* global i32 */
            0x03, 'e', 'n', 'v', 0x01, 't', 0x01, 0x70, 0x00, 0x01); /* table funcref min 1 */
    FUNC_SEC(&m);
    SECTION(&m, 5, 0x01, 0x01, 0x01, 0x03);
    EXPORT_SEC(&m);
    CODE_SEC(&m);
    SECTION(&m, 11, 0x01, 0x02, 0x00, 0x41, 0x10, 0x0b, 0x03, 'a', 'b', 'c');
    CHECK(eryx__wasm_image_build(m.b, m.n, mem, mem_len, &out, &out_len, NULL) == 0);
    wasmtime_error_t *e = wasmtime_module_validate(engine, out, out_len);
    CHECK(e == NULL);
    if (e) print_error("validate", e, NULL);
    const uint8_t *memsec = find_section(out, out_len, 5, &len);
    CHECK(memsec && len == 4 && memcmp(memsec, "\x01\x01\x03\x03", 4) == 0);
    free(out);
    free(mem);
}

static void test_errors(void) {
    mod m;

    mod_begin(&m);
    TYPE_SEC(&m);
    SECTION(&m, 2, 0x02, 0x03, 'e', 'n', 'v', 0x01, 'f', 0x00, 0x00, /* func */
            0x03, 'e', 'n', 'v', 0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00, 0x01);
    FUNC_SEC(&m);
    CODE_SEC(&m);
    expect_error(m.b, m.n, 1, "the module imports its memory");

    mod_begin(&m);
    TYPE_SEC(&m);
    FUNC_SEC(&m);
    MEMORY_SEC(&m);
    CODE_SEC(&m);
    SECTION(&m, 11, 0x01, 0x01, 0x03, 'a', 'b', 'c');
    expect_error(m.b, m.n, 1, "passive data segments (bulk memory) are not supported");

    mod_begin(&m);
    TYPE_SEC(&m);
    FUNC_SEC(&m);
    MEMORY_SEC(&m);
    EXPORT_SEC(&m);
    SECTION(&m, 8, 0x00);
    CODE_SEC(&m);
    expect_error(m.b, m.n, 1, "start function");

    mod_begin(&m);
    SECTION(&m, 5, 0x01, 0x01, 0x01, 0x02); /* max 2 pages */
    expect_error(m.b, m.n, 3, "maximum memory (2 pages) is below the snapshot's size (3 pages)");
    mod_begin(&m);
    SECTION(&m, 5, 0x01, 0x00, 0x02); /* min 2 pages */
    expect_error(m.b, m.n, 1, "smaller than the module's minimum");
    mod_begin(&m);
    SECTION(&m, 5, 0x01, 0x03, 0x01, 0x02);
    expect_error(m.b, m.n, 1, "flags 0x03");
    mod_begin(&m);
    SECTION(&m, 5, 0x01, 0x04, 0x01);
    expect_error(m.b, m.n, 1, "flags 0x04");
    mod_begin(&m);
    SECTION(&m, 5, 0x02, 0x00, 0x01, 0x00, 0x01);
    expect_error(m.b, m.n, 1, "defines 2 memories");
    mod_begin(&m);
    SECTION(&m, 5, 0x01, 0x00, 0x01, 0x00);
    expect_error(m.b, m.n, 1, "1 bytes left over");
    mod_begin(&m);
    MEMORY_SEC(&m);
    MEMORY_SEC(&m);
    expect_error(m.b, m.n, 1, "two memory sections");
    mod_begin(&m);
    TYPE_SEC(&m);
    expect_error(m.b, m.n, 1, "defines no memory");
    mod_begin(&m);
    MEMORY_SEC(&m);
    SECTION(&m, 14, 0x00);
    expect_error(m.b, m.n, 1, "unknown section id 14");
    mod_begin(&m);
    MEMORY_SEC(&m);
    SECTION(&m, 11, 0x01, 0x00, 0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x0b, 0x00); /* 6-byte LEB */
    expect_error(m.b, m.n, 1, "LEB128 integer longer than 5 bytes");
    mod_begin(&m);
    MEMORY_SEC(&m);
    SECTION(&m, 11, 0x01, 0x00, 0x41, 0x00, 0x0b, 0xff, 0xff, 0xff, 0xff, 0x0f); /* 4 GiB of data */
    expect_error(m.b, m.n, 1, "truncated data section");
    mod_begin(&m);
    MEMORY_SEC(&m);
    SECTION(&m, 11, 0x01, 0x00, 0x41, 0x00, 0x0b, 0xff, 0xff, 0xff, 0xff, 0x1f); /* over 32 bits */
    expect_error(m.b, m.n, 1, "integer over 32 bits");
    mod_begin(&m);
    MEMORY_SEC(&m);
    SECTION(&m, 11, 0x01, 0x02, 0x01, 0x41, 0x00, 0x0b, 0x00);
    expect_error(m.b, m.n, 1, "for memory 1");
    mod_begin(&m);
    MEMORY_SEC(&m);
    SECTION(&m, 11, 0x01, 0x00, 0xfd, 0x0b, 0x00);
    expect_error(m.b, m.n, 1, "unsupported instruction 0xfd");
    mod_begin(&m);
    MEMORY_SEC(&m);
    SECTION(&m, 0, 0x09, 'x'); /* a custom section whose name runs past it */
    expect_error(m.b, m.n, 1, "truncated custom section");

    base_module(&m);
    m.b[1] = 'b';
    expect_error(m.b, m.n, 1, "bad magic");
    base_module(&m);
    m.b[4] = 0x0d; /* a component */
    expect_error(m.b, m.n, 1, "version 0d 00 00 00");

    base_module(&m); /* a snapshot of a partial page */
    uint8_t mem[100] = {1}, *out = NULL;
    size_t out_len;
    eryx__errbuf err;
    CHECK(eryx__wasm_image_build(m.b, m.n, mem, sizeof mem, &out, &out_len, &err) == ERYX_ERR_ENGINE);
    CHECK(strstr(err.msg, "not a whole number of 64 KiB pages") != NULL);
    CHECK(eryx__wasm_image_build(NULL, 10, mem, 0, &out, &out_len, &err) == ERYX_ERR_ENGINE);
    CHECK(eryx__wasm_image_build(m.b, m.n, mem, 0, NULL, &out_len, &err) == ERYX_ERR_ENGINE);
    CHECK(eryx__wasm_image_build(m.b, m.n, mem, sizeof mem, &out, &out_len, NULL) == ERYX_ERR_ENGINE); /* no message */
}

/* Every prefix of the module (in an exact-size heap block, so ASan sees any read
** past it) is refused with a message, except a prefix that ends exactly between
** two sections after the memory section: that is a well-formed shorter module as
** far as sections go (wasmtime then rejects a missing code section itself). */
static void test_truncated(void) {
    mod m;
    mod_begin(&m);
    TYPE_SEC(&m);
    FUNC_SEC(&m);
    MEMORY_SEC(&m);
    EXPORT_SEC(&m);
    SECTION(&m, 12, 0x01);
    CODE_SEC(&m);
    DATA_SEC(&m);
    NAME_SEC(&m);
    uint8_t *mem = calloc(1, PAGE);
    mem[7] = 7;
    size_t memory_end = m.ends[2], accepted = 0;
    for (size_t len = 0; len < m.n; len++) {
        uint8_t *prefix = malloc(len ? len : 1);
        memcpy(prefix, m.b, len);
        uint8_t *out = NULL;
        size_t out_len = 0;
        eryx__errbuf err;
        int rc = eryx__wasm_image_build(prefix, len, mem, PAGE, &out, &out_len, &err);
        int boundary = 0;
        for (size_t i = 0; i < m.nsec; i++) boundary |= m.ends[i] == len && len >= memory_end;
        if (rc == 0) {
            accepted++;
            CHECK(boundary);
            if (!boundary) fprintf(stderr, "  prefix of %zu bytes accepted\n", len);
            free(out);
        } else {
            CHECK(rc == ERYX_ERR_ENGINE && err.msg[0] != '\0' && out == NULL);
            if (boundary) fprintf(stderr, "  boundary prefix of %zu bytes refused: %s\n", len, err.msg);
        }
        free(prefix);
    }
    CHECK(accepted == 5); /* after memory, export, data count, code and data */
    free(mem);
}

/* A non-zero page at each end of a 64-page memory: the segments would cover a tiny
** part of their span, so they become one dense segment. */
static void test_sparse_becomes_one(void) {
    mod m;
    base_module(&m);
    size_t mem_len = 64 * PAGE;
    uint8_t *mem = calloc(1, mem_len);
    mem[0] = 1;
    mem[mem_len - 1] = 2;
    uint8_t *out = NULL;
    size_t out_len = 0;
    CHECK(eryx__wasm_image_build(m.b, m.n, mem, mem_len, &out, &out_len, NULL) == 0);
    seg s[8];
    CHECK(read_segments(out, out_len, s, 8) == 1 && s[0].offset == 0 && s[0].len == mem_len);
    free(out);
    roundtrip(m.b, m.n, mem, mem_len);
    free(mem);
}

/* In a mostly non-zero memory (4K pages 0-19, 23-39, 60-63 non-zero), runs 3 zero
** pages apart merge, runs 20 zero pages apart stay two dense segments. */
static void test_close_runs_merge(void) {
    mod m;
    base_module(&m);
    size_t mem_len = 4 * PAGE;
    uint8_t *mem = calloc(1, mem_len);
    memset(mem, 0x77, 20 * 4096);
    mem[23 * 4096 + 4095] = 1; /* page 23 non-zero by its last byte */
    memset(mem + 24 * 4096, 0x88, 16 * 4096);
    memset(mem + 60 * 4096, 0x99, 4 * 4096);
    uint8_t *out = NULL;
    size_t out_len = 0;
    CHECK(eryx__wasm_image_build(m.b, m.n, mem, mem_len, &out, &out_len, NULL) == 0);
    seg s[8];
    CHECK(read_segments(out, out_len, s, 8) == 2);
    CHECK(s[0].offset == 0 && s[0].len == 40 * 4096);
    CHECK(s[1].offset == 60 * 4096 && s[1].len == 4 * 4096);
    free(out);
    roundtrip(m.b, m.n, mem, mem_len);
    free(mem);
}

/* A segment at 2 GiB or above: its i32.const offset is a negative signed LEB128. The
** snapshot is mostly untouched calloc'd memory, so it costs address space only. */
static void test_high_offset(void) {
    mod m;
    base_module(&m);
    size_t mem_len = 32769 * (size_t)PAGE, at = 32768 * (size_t)PAGE + 8192;
    uint8_t *mem = calloc(1, mem_len);
    if (!mem) {
        fprintf(stderr, "test_high_offset: skipped (no 2 GiB of address space)\n");
        return;
    }
    mem[at] = 0x42;
    uint8_t *out = NULL;
    size_t out_len = 0;
    CHECK(eryx__wasm_image_build(m.b, m.n, mem, mem_len, &out, &out_len, NULL) == 0);
    seg s[2];
    CHECK(read_segments(out, out_len, s, 2) == 1 && s[0].offset == at && s[0].len == 4096);
    size_t len, pos = 3; /* count, flags, i32.const, then the offset */
    const uint8_t *d = find_section(out, out_len, 11, &len);
    CHECK(d && d[2] == 0x41 && sleb(d, &pos) == (int64_t)at - 0x100000000);
    free(out);
    free(mem);
}

int main(void) {
    engine = wasm_engine_new();
    test_roundtrip();
    test_all_zero();
    test_section_variants();
    test_errors();
    test_truncated();
    test_sparse_becomes_one();
    test_close_runs_merge();
    test_high_offset();
    wasm_engine_delete(engine);
    return check_report("test_wasm_image");
}
