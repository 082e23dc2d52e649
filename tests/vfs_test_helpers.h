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

/* Issue 17, item 6a: a path written with a trailing '/' ("FILE/", "FILE/.") names a
** directory, so for a regular file open, stat and readlink give ENOTDIR (POSIX);
** "DIR/" is the directory. file and dir are normalized paths in vfs; writable: the
** mount takes writes, and unlink, rename and create on "FILE/" are checked too. */
static inline void check_trailing_slash(eryx__vfs *vfs, const char *file, const char *dir, bool writable) {
    char raw[512], p[512];
    eryx__vfs_stat st;
    eryx__vfs_file *f = NULL;
    size_t n = 0;
    static const char *const forms[] = {"%s/", "%s/.", "%s//", "%s/./"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        snprintf(raw, sizeof raw, forms[i], file);
        CHECK(eryx__vfs_join_guest("/", raw, strlen(raw), p, sizeof p) == 0);
        CHECK(p[strlen(p) - 1] == '/');
        CHECK(eryx__vfs_open(vfs, p, ERYX__VFS_O_READ, &f) == ERYX__WASI_ENOTDIR && !f);
        CHECK(eryx__vfs_stat_path(vfs, p, true, &st) == ERYX__WASI_ENOTDIR);
        CHECK(eryx__vfs_stat_path(vfs, p, false, &st) == ERYX__WASI_ENOTDIR);
        CHECK(eryx__vfs_readlink(vfs, p, raw, sizeof raw, &n) == ERYX__WASI_ENOTDIR);
        if (writable) {
            CHECK(eryx__vfs_open(vfs, p, ERYX__VFS_O_WRITE, &f) == ERYX__WASI_ENOTDIR && !f);
            CHECK(eryx__vfs_open(vfs, p, ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f) == ERYX__WASI_EISDIR && !f);
            CHECK(eryx__vfs_unlink(vfs, p) == ERYX__WASI_ENOTDIR);
            CHECK(eryx__vfs_rmdir(vfs, p) == ERYX__WASI_ENOTDIR);
            CHECK(eryx__vfs_rename(vfs, p, file) == ERYX__WASI_ENOTDIR);
            CHECK(eryx__vfs_rename(vfs, file, p) == ERYX__WASI_ENOTDIR);
        }
    }
    /* without the slash it is the file, untouched */
    CHECK(eryx__vfs_join_guest("/", file, strlen(file), p, sizeof p) == 0 && strcmp(p, file) == 0);
    CHECK(eryx__vfs_stat_path(vfs, p, true, &st) == 0 && st.type == ERYX__VFS_TYPE_REG);
    CHECK(eryx__vfs_open(vfs, p, ERYX__VFS_O_READ, &f) == 0 && f);
    if (f) f->ops->close(f);
    f = NULL;
    /* "DIR/" and "DIR/." are the directory */
    snprintf(raw, sizeof raw, "%s/", dir);
    CHECK(eryx__vfs_join_guest("/", raw, strlen(raw), p, sizeof p) == 0);
    CHECK(eryx__vfs_stat_path(vfs, p, false, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR);
    CHECK(eryx__vfs_open(vfs, p, ERYX__VFS_O_READ, &f) == 0 && f);
    if (f) {
        CHECK(f->ops->fstat(f, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR);
        f->ops->close(f);
    }
    CHECK(eryx__vfs_readlink(vfs, p, raw, sizeof raw, &n) == ERYX__WASI_EINVAL);
    /* "NOTHING/" does not exist */
    snprintf(raw, sizeof raw, "%s/nothing-here/", dir);
    CHECK(eryx__vfs_join_guest("/", raw, strlen(raw), p, sizeof p) == 0);
    CHECK(eryx__vfs_stat_path(vfs, p, true, &st) == ERYX__WASI_ENOENT);
    f = NULL;
    CHECK(eryx__vfs_open(vfs, p, ERYX__VFS_O_READ, &f) == ERYX__WASI_ENOENT && !f);
}

#endif
