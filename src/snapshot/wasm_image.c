/* Snapshot images: a module rewritten so that its memory starts as a snapshot;
** see wasm_image.h.
**
** Why: wasmtime maps a module's data segments copy-on-write when they form a
** dense image, so an instance of the rewritten module starts with Python already
** initialized for the cost of an mmap. This file only rewrites the sections that
** carry the memory's size and contents (memory, data, data count) and the
** _initialize export; everything else is copied byte for byte, and wasmtime
** validates the result when it compiles it.
**
** It works in two passes over the sections: scan() checks every section it has to
** understand and records where the new data section goes, then emit() writes the
** copy. Every length and LEB128 read from the module is checked against the bytes
** that are left, since the module may come from anywhere (fuzz/fuzz_wasm_image.c). */
#include "wasm_image.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMAGE_PAGE 4096u /* the zero-page scan's granularity (the host page) */
#define MERGE_GAP 16u    /* runs of non-zero pages closer than this many zero pages merge */
#define MAX_PAGES 65536u /* a 32-bit memory holds at most 4 GiB */

enum {
    SEC_CUSTOM = 0,
    SEC_TYPE,
    SEC_IMPORT,
    SEC_FUNC,
    SEC_TABLE,
    SEC_MEMORY,
    SEC_GLOBAL,
    SEC_EXPORT,
    SEC_START,
    SEC_ELEM,
    SEC_CODE,
    SEC_DATA,
    SEC_DATACOUNT,
    SEC_TAG,
    SEC_LAST = SEC_TAG
};

static const char *const section_names[] = {
    "custom section", "type section",   "import section",     "function section", "table section",
    "memory section", "global section", "export section",     "start section",    "element section",
    "code section",   "data section",   "data count section", "tag section"};

#include "wasm_reader.h"


/* A value type: one byte, or (ref null? <heap type>) with a signed 33-bit heap type. */
static int skip_valtype(cursor *c) {
    uint8_t t;
    if (read_byte(c, &t)) return -1;
    return (t == 0x63 || t == 0x64) ? skip_leb(c, 5) : 0;
}

/* Limits of a table: flags, min and, with flag bit 0, max (64-bit with bit 2). */
static int skip_table_limits(cursor *c) {
    uint8_t flags;
    if (read_byte(c, &flags)) return -1;
    if (flags > 0x07) return fail(c, "%s: unknown limits flags 0x%02x at byte %zu", c->where, flags, c->pos - 1);
    unsigned max_bytes = (flags & 0x04) ? 10 : 5;
    if (skip_leb(c, max_bytes)) return -1;
    return (flags & 0x01) ? skip_leb(c, max_bytes) : 0;
}

/* A constant expression up to its end (0x0b): the instructions a data segment
** offset may use (with extended-const). */
static int skip_const_expr(cursor *c) {
    for (;;) {
        uint8_t op;
        if (read_byte(c, &op)) return -1;
        switch (op) {
        case 0x0b: return 0; /* end */
        case 0x41:
            if (skip_leb(c, 5)) return -1;
            break; /* i32.const */
        case 0x42:
            if (skip_leb(c, 10)) return -1;
            break; /* i64.const */
        case 0x23:
            if (skip_leb(c, 5)) return -1;
            break; /* global.get */
        case 0x6a:
        case 0x6b:
        case 0x6c: /* i32.add, sub, mul */
        case 0x7c:
        case 0x7d:
        case 0x7e: break; /* i64.add, sub, mul */
        default:
            return fail(c, "%s: unsupported instruction 0x%02x in an offset at byte %zu", c->where, op, c->pos - 1);
        }
    }
}

/* ---- the sections the rewrite has to understand --------------------------------- */

/* Imports: only checked, since an imported memory cannot carry a snapshot. */
static int check_imports(cursor *c) {
    uint32_t n;
    if (read_u32(c, &n)) return -1;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *name;
        uint32_t len;
        uint8_t kind, b;
        if (read_name(c, &name, &len) || read_name(c, &name, &len) || read_byte(c, &kind)) return -1;
        switch (kind) {
        case 0:
            if (skip_leb(c, 5)) return -1;
            break; /* func: type index */
        case 1:
            if (skip_valtype(c) || skip_table_limits(c)) return -1;
            break; /* table */
        case 2: return fail(c, "the module imports its memory; a snapshot needs a defined memory");
        case 3:
            if (skip_valtype(c) || read_byte(c, &b)) return -1;
            break; /* global: type, mut */
        case 4:
            if (read_byte(c, &b) || skip_leb(c, 5)) return -1;
            break; /* tag: attribute, type */
        default: return fail(c, "import section: unknown import kind 0x%02x at byte %zu", kind, c->pos - 1);
        }
    }
    return at_end(c);
}

typedef struct memory_limits {
    uint32_t min, max;
    int has_max;
} memory_limits;

static int read_memory(cursor *c, memory_limits *m) {
    uint32_t n;
    uint8_t flags;
    if (read_u32(c, &n)) return -1;
    if (n != 1) return fail(c, "the module defines %u memories; a snapshot needs exactly one", n);
    if (read_byte(c, &flags)) return -1;
    if (flags > 0x01)
        return fail(c, "memory limits flags 0x%02x (shared, 64-bit or custom page size) are not supported", flags);
    m->has_max = flags & 0x01;
    m->max = 0;
    if (read_u32(c, &m->min) || (m->has_max && read_u32(c, &m->max))) return -1;
    return at_end(c);
}

/* Old data segments: only checked (the snapshot replaces them). A passive segment
** would be copied in by code (memory.init) that the snapshot already ran. */
static int check_data(cursor *c) {
    uint32_t n;
    if (read_u32(c, &n)) return -1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t flags, memidx, len;
        if (read_u32(c, &flags)) return -1;
        if (flags == 1) return fail(c, "passive data segments (bulk memory) are not supported");
        if (flags != 0 && flags != 2) return fail(c, "data segment %u has unknown flags %u", i, flags);
        if (flags == 2) {
            if (read_u32(c, &memidx)) return -1;
            if (memidx != 0) return fail(c, "data segment %u is for memory %u; the module has one memory", i, memidx);
        }
        if (skip_const_expr(c) || read_u32(c, &len) || skip_bytes(c, len)) return -1;
    }
    return at_end(c);
}

static int is_initialize(const uint8_t *name, uint32_t len) {
    return len == 11 && memcmp(name, "_initialize", 11) == 0;
}

/* Exports: each entry is name, kind, index. Counts those kept (all but
** _initialize) into *kept; with entries != NULL also calls copy for each kept
** entry's bytes. Split this way so scan() checks and emit() copies with one parser. */
typedef struct wbuf wbuf;
static void put(wbuf *w, const void *src, size_t n);

static int filter_exports(cursor *c, uint32_t *kept, wbuf *w) {
    uint32_t n;
    if (read_u32(c, &n)) return -1;
    *kept = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t start = c->pos;
        const uint8_t *name;
        uint32_t len;
        uint8_t kind;
        if (read_name(c, &name, &len) || read_byte(c, &kind) || skip_leb(c, 5)) return -1;
        if (is_initialize(name, len)) continue;
        ++*kept;
        if (w) put(w, c->p + start, c->pos - start);
    }
    return at_end(c);
}

/* ---- the section list ------------------------------------------------------------- */

typedef struct section {
    uint8_t id;
    size_t start, body, end; /* the id byte, the contents, one past the contents */
} section;

static int next_section(cursor *c, section *s) {
    uint32_t size;
    s->start = c->pos;
    c->where = "section header";
    if (read_byte(c, &s->id) || read_u32(c, &size)) return -1;
    if (s->id > SEC_LAST) return fail(c, "unknown section id %u at byte %zu", s->id, s->start);
    c->where = section_names[s->id];
    s->body = c->pos;
    if (skip_bytes(c, size)) return -1;
    s->end = c->pos;
    return 0;
}

/* What scan() learned about the module. */
typedef struct module_info {
    uint32_t seen; /* bit per non-custom section id */
    memory_limits memory;
    size_t data_goes_after; /* end of the last non-custom section: where a missing data section goes */
} module_info;

static int scan_section(cursor *sec, uint8_t id, module_info *info) {
    const uint8_t *name;
    uint32_t len, count;
    switch (id) {
    case SEC_CUSTOM: return read_name(sec, &name, &len);
    case SEC_IMPORT: return check_imports(sec);
    case SEC_MEMORY: return read_memory(sec, &info->memory);
    case SEC_EXPORT: return filter_exports(sec, &count, NULL);
    case SEC_START: return fail(sec, "the module has a start function; it would run again over the snapshot");
    case SEC_DATA: return check_data(sec);
    case SEC_DATACOUNT: return read_u32(sec, &count) || at_end(sec) ? -1 : 0;
    default: return 0;
    }
}

static int scan(cursor *c, uint32_t pages, int bare, module_info *info) {
    memset(info, 0, sizeof *info);
    while (c->pos < c->end) {
        section s;
        if (next_section(c, &s)) return -1;
        if (s.id != SEC_CUSTOM) {
            if (info->seen & (1u << s.id)) return fail(c, "the module has two %ss", section_names[s.id]);
            info->seen |= 1u << s.id;
            info->data_goes_after = s.end;
        }
        cursor sec = sub_cursor(c, s.body, s.end, section_names[s.id]);
        if (scan_section(&sec, s.id, info)) return -1;
    }
    if (!(info->seen & (1u << SEC_MEMORY))) return fail(c, "the module defines no memory; a snapshot needs one");
    const memory_limits *m = &info->memory;
    if (bare) return 0; /* the memory keeps its limits */
    if (m->min > pages)
        return fail(c, "the snapshot (%u pages) is smaller than the module's minimum memory (%u pages)", pages, m->min);
    if (m->has_max && m->max < pages)
        return fail(c, "the module's maximum memory (%u pages) is below the snapshot's size (%u pages)", m->max, pages);
    return 0;
}

/* ---- the new data segments ---------------------------------------------------------- */

typedef struct segment {
    size_t start, end; /* byte offsets in mem */
} segment;

static int page_is_zero(const uint8_t *p) { return p[0] == 0 && memcmp(p, p + 1, IMAGE_PAGE - 1) == 0; }

/* Fills seg (room for pages / (MERGE_GAP + 1) + 1) with the runs of non-zero pages,
** merging runs less than MERGE_GAP zero pages apart; returns how many. If the
** runs cover at most half of their span, they become a single run: wasmtime only
** builds its copy-on-write image when the data is dense. */
static size_t plan_segments(const uint8_t *mem, size_t mem_len, segment *seg) {
    size_t n = 0, total = 0;
    for (size_t off = 0; off < mem_len; off += IMAGE_PAGE) {
        if (page_is_zero(mem + off)) continue;
        if (n && off - seg[n - 1].end < MERGE_GAP * IMAGE_PAGE) {
            seg[n - 1].end = off + IMAGE_PAGE;
        } else {
            seg[n].start = off;
            seg[n++].end = off + IMAGE_PAGE;
        }
    }
    for (size_t i = 0; i < n; i++) total += seg[i].end - seg[i].start;
    if (n > 1 && total * 2 <= seg[n - 1].end - seg[0].start) {
        seg[0].end = seg[n - 1].end;
        n = 1;
    }
    return n;
}

/* ---- writing ---------------------------------------------------------------------- */

/* The output: grows with realloc; after a failure the puts do nothing and failed
** says why. */
struct wbuf {
    uint8_t *p;
    size_t len, cap;
    const char *failed;
};

static int reserve(wbuf *w, size_t n) {
    if (w->failed) return -1;
    if (n <= w->cap - w->len) return 0;
    size_t cap = w->cap ? w->cap : 256;
    while (cap - w->len < n) {
        if (cap > SIZE_MAX / 2) {
            w->failed = "out of memory";
            return -1;
        }
        cap *= 2;
    }
    uint8_t *p = realloc(w->p, cap);
    if (!p) {
        w->failed = "out of memory";
        return -1;
    }
    w->p = p;
    w->cap = cap;
    return 0;
}

static void put(wbuf *w, const void *src, size_t n) {
    if (n == 0 || reserve(w, n)) return;
    memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void put_byte(wbuf *w, uint8_t b) { put(w, &b, 1); }

static void put_uleb(wbuf *w, uint64_t v) {
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) b[n] |= 0x80;
        n++;
    } while (v);
    put(w, b, n);
}

static void put_sleb(wbuf *w, int64_t v) {
    uint8_t b[10];
    size_t n = 0;
    for (;;) {
        uint8_t low = (uint8_t)((uint64_t)v & 0x7f);
        v = v < 0 ? ~(~v >> 7) : v >> 7; /* an arithmetic shift, spelled portably */
        int done = (v == 0 && !(low & 0x40)) || (v == -1 && (low & 0x40));
        b[n++] = done ? low : (uint8_t)(low | 0x80);
        if (done) break;
    }
    put(w, b, n);
}

/* A section is written as its id, a 5-byte (padded) size and its contents; the
** size is filled in by end_section, once known. */
static size_t begin_section(wbuf *w, uint8_t id) {
    put_byte(w, id);
    size_t at = w->len;
    put(w, "\x80\x80\x80\x80\x00", 5);
    return at;
}

static void end_section(wbuf *w, size_t at) {
    if (w->failed) return;
    size_t size = w->len - at - 5;
    if (size > UINT32_MAX) {
        w->failed = "the new data section would be over 4 GiB";
        return;
    }
    for (int i = 0; i < 5; i++) w->p[at + i] = (uint8_t)(((size >> (7 * i)) & 0x7f) | (i < 4 ? 0x80 : 0));
}

static void put_memory_section(wbuf *w, const memory_limits *m, uint32_t pages) {
    size_t at = begin_section(w, SEC_MEMORY);
    put_uleb(w, 1);
    put_byte(w, m->has_max ? 0x01 : 0x00);
    put_uleb(w, pages);
    if (m->has_max) put_uleb(w, m->max);
    end_section(w, at);
}

static void put_data_section(wbuf *w, const uint8_t *mem, const segment *seg, size_t n) {
    size_t at = begin_section(w, SEC_DATA);
    put_uleb(w, n);
    for (size_t i = 0; i < n; i++) {
        uint64_t off = seg[i].start; /* below 4 GiB; i32.const holds it as a signed int32 */
        put_byte(w, 0x00);           /* active, memory 0 */
        put_byte(w, 0x41);           /* i32.const */
        put_sleb(w, off >= 0x80000000u ? (int64_t)off - 0x100000000 : (int64_t)off);
        put_byte(w, 0x0b); /* end */
        put_uleb(w, seg[i].end - seg[i].start);
        put(w, mem + seg[i].start, seg[i].end - seg[i].start);
    }
    end_section(w, at);
}

/* The second pass: copies the module with the memory, export, data count and data
** sections rewritten. Only fails for lack of memory (scan() checked the rest). */
static int emit(cursor *c, const module_info *info, uint32_t pages, const uint8_t *mem, const segment *seg, size_t nseg,
                wbuf *w) {
    int has_data = (info->seen >> SEC_DATA) & 1;
    put(w, c->p, 8); /* magic and version */
    c->pos = 8;
    while (c->pos < c->end) {
        section s;
        if (next_section(c, &s)) return -1;
        cursor sec = sub_cursor(c, s.body, s.end, section_names[s.id]);
        size_t at;
        uint32_t kept;
        switch (s.id) {
        case SEC_MEMORY: put_memory_section(w, &info->memory, pages); break;
        case SEC_EXPORT:
            at = begin_section(w, SEC_EXPORT);
            if (filter_exports(&sec, &kept, NULL)) return -1;
            put_uleb(w, kept);
            sec.pos = s.body;
            if (filter_exports(&sec, &kept, w)) return -1;
            end_section(w, at);
            break;
        case SEC_DATACOUNT:
            at = begin_section(w, SEC_DATACOUNT);
            put_uleb(w, nseg);
            end_section(w, at);
            break;
        case SEC_DATA:
            if (nseg) put_data_section(w, mem, seg, nseg);
            break;
        default: put(w, c->p + s.start, s.end - s.start); break;
        }
        if (!has_data && nseg && s.id != SEC_CUSTOM && s.end == info->data_goes_after)
            put_data_section(w, mem, seg, nseg);
    }
    return w->failed ? fail(c, "%s", w->failed) : 0;
}

/* ---- the entry point ------------------------------------------------------------- */

static int image_build(const uint8_t *wasm, size_t wasm_len, const uint8_t *mem, size_t mem_len, uint8_t **out,
                       size_t *out_len, eryx__errbuf *err) {
    static const uint8_t header[8] = {0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00};
    cursor c = {wasm, 0, wasm_len, "module header", err};
    if (err) eryx__errbuf_clear(err);
    if (!out || !out_len || (!wasm && wasm_len) || (!mem && mem_len)) return fail(&c, "invalid arguments");
    int bare = !mem; /* no memory: strip the data segments, keep the limits */
    *out = NULL;
    *out_len = 0;
    if (mem_len % ERYX__WASM_PAGE)
        return fail(&c, "the memory snapshot is %zu bytes, not a whole number of 64 KiB pages", mem_len);
    if (mem_len / ERYX__WASM_PAGE > MAX_PAGES)
        return fail(&c, "the memory snapshot is %zu bytes, over the 4 GiB of a 32-bit memory", mem_len);
    uint32_t pages = (uint32_t)(mem_len / ERYX__WASM_PAGE);
    if (wasm_len < 4 || memcmp(wasm, header, 4) != 0) return fail(&c, "not a wasm module (bad magic)");
    if (wasm_len < 8) return truncated(&c);
    if (memcmp(wasm + 4, header + 4, 4) != 0)
        return fail(&c, "unsupported wasm binary version %02x %02x %02x %02x (only 1, a core module)", wasm[4], wasm[5],
                    wasm[6], wasm[7]);

    module_info info;
    c.pos = 8;
    if (scan(&c, pages, bare, &info)) return -1;
    if (bare) pages = info.memory.min;

    segment *seg = malloc((mem_len / IMAGE_PAGE / (MERGE_GAP + 1) + 1) * sizeof *seg);
    if (!seg) return fail(&c, "out of memory");
    size_t nseg = plan_segments(mem, mem_len, seg), data_bytes = 0;
    for (size_t i = 0; i < nseg; i++) data_bytes += seg[i].end - seg[i].start;

    wbuf w = {0};
    reserve(&w, wasm_len + data_bytes + 32 * (nseg + 4)); /* the whole output, in one allocation */
    int rc = emit(&c, &info, pages, mem, seg, nseg, &w);
    free(seg);
    if (rc) {
        free(w.p);
        return -1;
    }
    *out = w.p;
    *out_len = w.len;
    return 0;
}

/* The parse steps return 0 or -1; a module or memory that cannot be made into an
** image is the engine input's problem: ERYX_ERR_ENGINE. */
eryx_status eryx__wasm_image_build(const uint8_t *wasm, size_t wasm_len, const uint8_t *mem, size_t mem_len,
                                   uint8_t **out, size_t *out_len, eryx__errbuf *err) {
    return image_build(wasm, wasm_len, mem, mem_len, out, out_len, err) ? ERYX_ERR_ENGINE : ERYX_OK;
}
