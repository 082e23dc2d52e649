/* A bounds-checked reader of WebAssembly binaries, shared by the module rewriter
** (wasm_image.c) and the dylink.0 reader (src/link/dylink.c). The input is never
** trusted: every read checks what is left, and a failure leaves a one-line message
** naming the byte in the cursor's errbuf. Internal: static functions, one copy per
** including file; they return 0 or -1 (a parse step), and the entry points that
** use them turn -1 into an eryx_status. */
#ifndef ERYX_WASM_READER_H
#define ERYX_WASM_READER_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "../common/errbuf.h"

/* ---- reading ------------------------------------------------------------------- */

/* A read position in the module: pos and end are offsets into the whole module, so
** messages can name the byte. */
typedef struct cursor {
    const uint8_t *p;
    size_t pos, end;
    const char *where; /* what is being read, for messages: "import section" */
    eryx__errbuf *err; /* where a failure's message goes; NULL: none */
} cursor;

static inline int fail(cursor *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int fail(cursor *c, const char *fmt, ...) {
    if (c->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A cursor over [pos, end) of the same module, reporting errors the same way. */
static inline cursor sub_cursor(const cursor *c, size_t pos, size_t end, const char *where) {
    cursor s = *c;
    s.pos = pos;
    s.end = end;
    s.where = where;
    return s;
}

static inline int truncated(cursor *c) { return fail(c, "truncated %s: it ends at byte %zu", c->where, c->end); }

/* The readers set their output (to 0 on failure) and return 0, or -1 with a message. */
static inline int read_byte(cursor *c, uint8_t *b) {
    *b = 0;
    if (c->pos >= c->end) return truncated(c);
    *b = c->p[c->pos++];
    return 0;
}

static inline int skip_bytes(cursor *c, uint64_t n) {
    if (n > c->end - c->pos) return truncated(c);
    c->pos += (size_t)n;
    return 0;
}

/* An LEB128 integer of at most max_bytes bytes; its low 64 bits (unsigned) in *v. */
static inline int read_leb(cursor *c, unsigned max_bytes, uint64_t *v) {
    uint64_t x = 0;
    *v = 0;
    for (unsigned i = 0; i < max_bytes; i++) {
        uint8_t b;
        if (read_byte(c, &b)) return -1;
        if (7 * i < 64) x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return fail(c, "%s: LEB128 integer longer than %u bytes at byte %zu", c->where, max_bytes, c->pos - max_bytes);
}

static inline int read_u32(cursor *c, uint32_t *v) {
    uint64_t x;
    *v = 0;
    if (read_leb(c, 5, &x)) return -1;
    if (x > UINT32_MAX) return fail(c, "%s: integer over 32 bits at byte %zu", c->where, c->pos);
    *v = (uint32_t)x;
    return 0;
}

static inline int skip_leb(cursor *c, unsigned max_bytes) {
    uint64_t ignored;
    return read_leb(c, max_bytes, &ignored);
}

/* A name (u32 length + bytes): *s points into the module. */
static inline int read_name(cursor *c, const uint8_t **s, uint32_t *len) {
    *s = NULL;
    if (read_u32(c, len)) return -1;
    *s = c->p + c->pos;
    return skip_bytes(c, *len);
}

static inline int at_end(cursor *c) {
    if (c->pos == c->end) return 0;
    return fail(c, "%s: %zu bytes left over after its contents at byte %zu", c->where, c->end - c->pos, c->pos);
}

#endif
