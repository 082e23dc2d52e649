/* Helpers shared by the VFS unit tests (test_vfs.c, test_vfs_zip.c, test_vfs_mem.c,
** test_vfs_host.c): joining paths, listing and reading through the VFS or a
** backend, writing host files. Static inline: each program uses some of them. */
#ifndef ERYX_TEST_VFS_HELPERS_H
#define ERYX_TEST_VFS_HELPERS_H
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../src/vfs/vfs.h"
#include "check.h"


static inline const char *join(const char *base, const char *path, char *out, size_t cap, eryx__errno *e) {
    *e = eryx__vfs_join(base, path, strlen(path), out, cap);
    return *e ? "(error)" : out;
}

/* "name,name,..." of every readdir entry of an open directory; "(error N)" on failure. */
static inline const char *list_file(eryx__vfs_file *f, char *out, size_t cap) {
    size_t o = 0;
    out[0] = '\0';
    if (!f->ops->readdir) return "(no readdir)";
    uint64_t cookie = 0;
    for (int guard = 0; guard < 100000; guard++) {
        eryx__vfs_dirent d;
        bool end = true;
        eryx__errno e = f->ops->readdir(f, cookie, &d, &end);
        if (e) {
            snprintf(out, cap, "(error %u)", e);
            return out;
        }
        if (end) break;
        if (o + d.name_len + 2 >= cap) return "(too long)";
        if (o) out[o++] = ',';
        memcpy(out + o, d.name, d.name_len);
        o += d.name_len;
        out[o] = '\0';
        cookie = d.next;
    }
    return out;
}

static inline const char *list_vfs(eryx__vfs *vfs, const char *path, char *out, size_t cap) {
    eryx__vfs_file *f = NULL;
    eryx__errno e = eryx__vfs_open(vfs, path, ERYX__VFS_O_READ | ERYX__VFS_O_DIRECTORY, &f);
    if (e) {
        snprintf(out, cap, "(open error %u)", e);
        return out;
    }
    list_file(f, out, cap);
    f->ops->close(f);
    return out;
}

/* Reads the whole file into out (NUL-terminated); returns the length or -1. */
static inline long read_file(eryx__vfs_file *f, char *out, size_t cap) {
    size_t total = 0;
    while (total + 1 < cap) {
        size_t n = 0;
        if (!f->ops->pread || f->ops->pread(f, out + total, cap - 1 - total, total, &n)) return -1;
        if (n == 0) break;
        total += n;
    }
    out[total] = '\0';
    return (long)total;
}

static inline eryx__errno write_at(eryx__vfs_file *f, const char *s, uint64_t off) {
    size_t n = 0;
    eryx__errno e = f->ops->pwrite(f, s, strlen(s), off, &n);
    return e ? e : (n == strlen(s) ? 0 : ERYX__WASI_EIO);
}

/* Opens through a backend, reads it all, closes: the content or "(error N)". */
static inline const char *be_cat(const eryx__vfs_backend *be, void *self, const char *path, char *out, size_t cap) {
    eryx__vfs_file *f = NULL;
    eryx__errno e = be->open(self, path, ERYX__VFS_O_READ, &f);
    if (e) {
        snprintf(out, cap, "(error %u)", e);
        return out;
    }
    if (read_file(f, out, cap) < 0) snprintf(out, cap, "(read error)");
    f->ops->close(f);
    return out;
}

static inline const char *vfs_cat(eryx__vfs *vfs, const char *path, char *out, size_t cap) {
    eryx__vfs_file *f = NULL;
    eryx__errno e = eryx__vfs_open(vfs, path, ERYX__VFS_O_READ, &f);
    if (e) {
        snprintf(out, cap, "(error %u)", e);
        return out;
    }
    if (read_file(f, out, cap) < 0) snprintf(out, cap, "(read error)");
    f->ops->close(f);
    return out;
}

static inline void write_host_file(const char *path, const char *text) {
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL);
    if (!fp) return;
    fputs(text, fp);
    fclose(fp);
}

#endif
