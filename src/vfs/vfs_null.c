/*
** /dev/null: a backend whose only node is its mount point, a character device that
** reads as empty and takes every write (os.devnull is "/dev/null" on WASI; logging
** setups, pytest and numpy's tests open it). No state: one static instance.
*/
#include <stdlib.h>
#include "vfs.h"

static eryx__errno null_pread(eryx__vfs_file *f, void *buf, size_t len, uint64_t offset, size_t *nread) {
    (void)f, (void)buf, (void)len, (void)offset;
    *nread = 0;
    return 0;
}

static eryx__errno null_pwrite(eryx__vfs_file *f, const void *buf, size_t len, uint64_t offset, size_t *nwritten) {
    (void)f, (void)buf, (void)offset;
    *nwritten = len;
    return 0;
}

static void null_fill(eryx__vfs_stat *out) {
    *out = (eryx__vfs_stat){.dev = 0, .ino = 1, .type = ERYX__VFS_TYPE_CHARDEV, .nlink = 1};
}

static eryx__errno null_fstat(eryx__vfs_file *f, eryx__vfs_stat *out) {
    (void)f;
    null_fill(out);
    return 0;
}

static eryx__errno null_truncate(eryx__vfs_file *f, uint64_t size) {
    (void)f, (void)size;
    return 0;
}

static eryx__errno null_sync(eryx__vfs_file *f) {
    (void)f;
    return 0;
}

static void null_close(eryx__vfs_file *f) { free(f); }

static const eryx__vfs_file_ops null_ops = {null_pread, null_pwrite, null_fstat, null_truncate,
                                            NULL,       null_sync,   null_close};

static eryx__errno null_open(void *self, const char *path, uint32_t flags, eryx__vfs_file **out) {
    (void)self;
    if (*path) return ERYX__WASI_ENOTDIR; /* /dev/null/x */
    if (flags & ERYX__VFS_O_DIRECTORY) return ERYX__WASI_ENOTDIR;
    eryx__vfs_file *f = calloc(1, sizeof *f);
    if (!f) return ERYX__WASI_ENOMEM;
    f->ops = &null_ops;
    f->flags = flags;
    *out = f;
    return 0;
}

static eryx__errno null_stat(void *self, const char *path, bool follow_symlinks, eryx__vfs_stat *out) {
    (void)self, (void)follow_symlinks;
    if (*path) return ERYX__WASI_ENOTDIR;
    null_fill(out);
    return 0;
}

static void null_destroy(void *self) { (void)self; }

const eryx__vfs_backend eryx__vfs_null_backend = {"null", null_open, null_stat, NULL,        NULL,
                                                  NULL,   NULL,      NULL,      null_destroy};
