/*
** Packages: the file list an image is made from, and the image itself, a zip of
** STORED members written by us (package.h, package_int.h). Owns: checking member
** paths, the caps on files and bytes, the deterministic zip bytes. Must not read
** archives or directories (package_archive.c, package_tree.c).
**
** Writing the image is ours and small: STORED members only, which is what
** src/vfs/vfs_zip.c serves without copying.
*/
#include "package_int.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- the list of files an image will hold ------------------------------------- */

void eryx__package_plist_free(plist *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].data);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Checks an archive member's path: relative, no "." / ".." / empty components, no
** backslash or control characters. A trailing '/' (a directory entry) is allowed
** and reported through *is_dir. */
bool eryx__package_member_path_ok(const char *name, bool *is_dir) {
    size_t len = strlen(name);
    *is_dir = len > 0 && name[len - 1] == '/';
    if (*is_dir) len--;
    if (len == 0 || len > 4096 || name[0] == '/') return false;
    const char *p = name, *end = name + len;
    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        size_t n = slash ? (size_t)(slash - p) : (size_t)(end - p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) return false;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)p[i] < 0x20 || p[i] == '\\' || p[i] == 0x7f) return false;
        p += n + 1;
    }
    return true;
}

static int pfile_cmp(const void *a, const void *b) {
    return strcmp(((const pfile *)a)->name, ((const pfile *)b)->name);
}

/* Adds a file (takes ownership of name and data, also on failure). */
eryx_status eryx__package_plist_add(plist *l, char *name, unsigned char *data, size_t len, const char *src,
                                    eryx__errbuf *err) {
    eryx_status st = ERYX_OK;
    if (l->n >= ERYX__PACKAGE_MAX_FILES)
        st = eryx__fail(err, ERYX_ERR_PACKAGE, "%s holds more than %u files, more than a package may", src,
                        ERYX__PACKAGE_MAX_FILES);
    else if (len > ERYX__PACKAGE_MAX_BYTES - l->bytes)
        st = eryx__fail(err, ERYX_ERR_PACKAGE, "%s holds more than %llu bytes, more than a package may", src,
                        (unsigned long long)ERYX__PACKAGE_MAX_BYTES);
    else if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        pfile *v = realloc(l->v, cap * sizeof *v);
        if (!v) st = eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory to read %s", src);
        else l->v = v, l->cap = cap;
    }
    if (st != ERYX_OK) {
        free(name);
        free(data);
        return st;
    }
    l->v[l->n++] = (pfile){name, data, len};
    l->bytes += len;
    return ERYX_OK;
}

/* ---- the image: a zip of STORED members ---------------------------------------- */

static void put(wbuf *b, const void *data, size_t n) {
    if (b->oom) return;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n) cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}
static void put16(wbuf *b, uint16_t v) { put(b, (unsigned char[]){v & 0xff, v >> 8}, 2); }
static void put32(wbuf *b, uint32_t v) {
    put(b, (unsigned char[]){v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24}, 4);
}

/* Writes the sorted files as a zip. Fixed timestamps (1980-01-01) and order make
** the bytes a function of the contents alone. Duplicate paths, and a path that is
** both a file and a directory, are refused. */
eryx_status eryx__package_write_image(plist *l, const char *src, wbuf *zip, eryx__errbuf *err) {
    if (l->n == 0) return eryx__fail(err, ERYX_ERR_PACKAGE, "%s holds no files", src);
    qsort(l->v, l->n, sizeof *l->v, pfile_cmp);
    for (size_t i = 1; i < l->n; i++) {
        const char *a = l->v[i - 1].name, *b = l->v[i].name;
        size_t al = strlen(a);
        if (!strcmp(a, b)) return eryx__fail(err, ERYX_ERR_PACKAGE, "%s holds %s twice", src, a);
        if (!strncmp(a, b, al) && b[al] == '/')
            return eryx__fail(err, ERYX_ERR_PACKAGE, "%s holds %s both as a file and as a directory", src, a);
    }
    uint32_t *offs = malloc(l->n * sizeof *offs), *crcs = malloc(l->n * sizeof *crcs);
    if (!offs || !crcs) {
        free(offs);
        free(crcs);
        return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory to pack %s", src);
    }
    const uint16_t dos_date = (0 << 9) | (1 << 5) | 1; /* 1980-01-01 */
    for (size_t i = 0; i < l->n; i++) {
        const pfile *f = &l->v[i];
        uint16_t nlen = (uint16_t)strlen(f->name);
        offs[i] = (uint32_t)zip->len;
        crcs[i] = (uint32_t)crc32_z(crc32_z(0, Z_NULL, 0), f->data, f->len);
        put32(zip, 0x04034b50u), put16(zip, 20), put16(zip, 0x0800 /* UTF-8 names */), put16(zip, 0);
        put16(zip, 0), put16(zip, dos_date), put32(zip, crcs[i]), put32(zip, (uint32_t)f->len);
        put32(zip, (uint32_t)f->len), put16(zip, nlen), put16(zip, 0);
        put(zip, f->name, nlen);
        put(zip, f->data, f->len);
    }
    size_t cd_off = zip->len;
    for (size_t i = 0; i < l->n; i++) {
        const pfile *f = &l->v[i];
        uint16_t nlen = (uint16_t)strlen(f->name);
        put32(zip, 0x02014b50u), put16(zip, 0x0314 /* Unix, 2.0 */), put16(zip, 20), put16(zip, 0x0800);
        put16(zip, 0), put16(zip, 0), put16(zip, dos_date), put32(zip, crcs[i]), put32(zip, (uint32_t)f->len);
        put32(zip, (uint32_t)f->len), put16(zip, nlen), put16(zip, 0), put16(zip, 0), put16(zip, 0);
        put16(zip, 0), put32(zip, 0100444u << 16), put32(zip, offs[i]);
        put(zip, f->name, nlen);
    }
    size_t cd_len = zip->len - cd_off;
    put32(zip, 0x06054b50u), put16(zip, 0), put16(zip, 0), put16(zip, (uint16_t)l->n), put16(zip, (uint16_t)l->n);
    put32(zip, (uint32_t)cd_len), put32(zip, (uint32_t)cd_off), put16(zip, 0);
    free(offs);
    free(crcs);
    if (zip->oom) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory to pack %s", src);
    /* 1 GiB of contents plus headers stays far below the 4 GiB a non-ZIP64 zip holds. */
    return ERYX_OK;
}
