/*
** One host regular file mounted as itself (a single-file volume).
**
** The mount point is the file: the backend's only path is "" (the mount's root);
** anything below it is ENOTDIR, and the file's siblings on the host are never
** looked at. The file is opened once, when the backend is made (a sandbox does
** that for each instance: at creation and at each reset), and every guest open
** works on a duplicate of that descriptor: nothing is resolved by name afterwards,
** so no symlink or ".." can lead elsewhere, and renaming or replacing the host path
** changes nothing this backend serves. The host path itself is the embedder's: a
** symlink there is followed at that opening, as a directory mount's path is.
**
** A writable mount writes through to the host file (O_TRUNC truncates it). The
** guest cannot remove or rename the mount point (the mount table answers EBUSY),
** so the host file is never unlinked by it. With a quota, the file's growth is
** counted by vfs_host.c's file operations, which this backend's files use; since
** the guest's opens share one host open file, O_APPEND is applied by hand there.
*/
#define _GNU_SOURCE
#include "vfs.h"
#include "vfs_internal.h"
#include "vfs_quota.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WRITE_FLAGS (ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT | ERYX__VFS_O_TRUNC | ERYX__VFS_O_APPEND)

typedef struct hostfile {
    int fd; /* O_RDONLY (read-only mount) or O_RDWR: the file, opened once */
    bool readonly;
    eryx__vfs_quota *quota; /* a reference, or NULL */
} hostfile;

static eryx__errno host_errno(int e) {
    switch (e) {
    case EMFILE: return ERYX__WASI_EMFILE;
    case ENFILE: return ERYX__WASI_ENFILE;
    case ENOMEM: return ERYX__WASI_ENOMEM;
    case ENOSPC: return ERYX__WASI_ENOSPC;
    case EFBIG: return ERYX__WASI_EFBIG;
    case EPERM: return ERYX__WASI_EPERM;
    case EACCES: return ERYX__WASI_EACCES;
    default: return ERYX__WASI_EIO;
    }
}

static uint64_t ts_ns(struct timespec ts) {
    return ts.tv_sec < 0 ? 0 : (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static eryx__errno hostfile_open(void *self, const char *path, uint32_t flags, eryx__vfs_file **out) {
    hostfile *h = self;
    *out = NULL;
    if (*path || (flags & ERYX__VFS_O_DIRECTORY)) return ERYX__WASI_ENOTDIR; /* below a file, or "f/" */
    if ((flags & ERYX__VFS_O_CREAT) && (flags & ERYX__VFS_O_EXCL)) return ERYX__WASI_EEXIST;
    if (h->readonly && (flags & WRITE_FLAGS)) return ERYX__WASI_EROFS;
    int fd = fcntl(h->fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return host_errno(errno);
    if (flags & ERYX__VFS_O_TRUNC) {
        struct stat st;
        uint64_t freed = fstat(fd, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
        int r;
        do r = ftruncate(fd, 0);
        while (r != 0 && errno == EINTR);
        if (r != 0) {
            int e = errno;
            close(fd);
            return host_errno(e);
        }
        eryx__quota_give(h->quota, freed, 0);
    }
    return eryx__vfs_host_file(fd, flags, true, h->quota, out);
}

static eryx__errno hostfile_stat(void *self, const char *path, bool follow_symlinks, eryx__vfs_stat *out) {
    (void)follow_symlinks; /* the mount point is the file itself, never a link */
    hostfile *h = self;
    struct stat st;
    if (*path) return ERYX__WASI_ENOTDIR;
    if (fstat(h->fd, &st) != 0) return host_errno(errno);
    *out = (eryx__vfs_stat){.dev = (uint64_t)st.st_dev,
                            .ino = (uint64_t)st.st_ino,
                            .type = ERYX__VFS_TYPE_REG,
                            .nlink = (uint64_t)st.st_nlink,
                            .size = st.st_size > 0 ? (uint64_t)st.st_size : 0,
                            .atim_ns = ts_ns(st.st_atim),
                            .mtim_ns = ts_ns(st.st_mtim),
                            .ctim_ns = ts_ns(st.st_ctim)};
    return 0;
}

/* Name operations: the mount table keeps the mount point itself from reaching
** them (EEXIST for mkdir, EBUSY otherwise), so every path here lies below a file.
** mkdir is present so that the mount counts as writable (eryx__vfs_writable). */
static eryx__errno hostfile_below(void *self, const char *path) {
    (void)self;
    return *path ? ERYX__WASI_ENOTDIR : ERYX__WASI_EBUSY;
}

static eryx__errno hostfile_rename(void *self, const char *from, const char *to) {
    eryx__errno e = hostfile_below(self, from);
    return e ? e : hostfile_below(self, to);
}

static eryx__errno hostfile_readlink(void *self, const char *path, char *buf, size_t cap, size_t *len) {
    (void)self, (void)buf, (void)cap;
    *len = 0;
    return *path ? ERYX__WASI_ENOTDIR : ERYX__WASI_EINVAL; /* a regular file, not a link */
}

static void hostfile_destroy(void *self) {
    hostfile *h = self;
    if (!h) return;
    close(h->fd);
    eryx__vfs_quota_release(h->quota);
    free(h);
}

void *eryx__vfs_hostfile_new(const char *host_file, bool readonly, eryx__vfs_quota *quota, eryx__errbuf *err) {
    eryx__errbuf_clear(err);
    /* Look first (O_PATH opens nothing): a FIFO or a device is never opened for real. */
    struct stat looked, opened;
    int pfd = open(host_file, O_PATH | O_CLOEXEC);
    if (pfd < 0 || fstat(pfd, &looked) != 0) {
        eryx__fail(err, ERYX_ERR_IO, "cannot open file %s: %s", host_file, strerror(errno));
        if (pfd >= 0) close(pfd);
        return NULL;
    }
    close(pfd);
    if (!S_ISREG(looked.st_mode)) {
        eryx__fail(err, ERYX_ERR_IO, "%s is neither a directory nor a regular file", host_file);
        return NULL;
    }
    /* O_NONBLOCK and O_NOCTTY: should a FIFO or a terminal be swapped in between the
    ** two opens, it neither blocks us nor becomes ours; the check below refuses it. */
    int fd = open(host_file, (readonly ? O_RDONLY : O_RDWR) | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        eryx__fail(err, ERYX_ERR_IO, "cannot open file %s for %s: %s", host_file,
                   readonly ? "reading" : "reading and writing", strerror(errno));
        return NULL;
    }
    if (fstat(fd, &opened) != 0 || opened.st_dev != looked.st_dev || opened.st_ino != looked.st_ino) {
        close(fd);
        eryx__fail(err, ERYX_ERR_IO, "%s changed while it was being mounted: try again", host_file);
        return NULL;
    }
    hostfile *h = calloc(1, sizeof *h);
    if (!h) {
        close(fd);
        eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory");
        return NULL;
    }
    h->fd = fd;
    h->readonly = readonly;
    h->quota = eryx__vfs_quota_ref(quota);
    return h;
}

const eryx__vfs_backend eryx__vfs_hostfile_backend = {.name = "hostfile",
                                                      .open = hostfile_open,
                                                      .stat = hostfile_stat,
                                                      .mkdir = hostfile_below,
                                                      .rmdir = hostfile_below,
                                                      .unlink = hostfile_below,
                                                      .rename = hostfile_rename,
                                                      .readlink = hostfile_readlink,
                                                      .destroy = hostfile_destroy};
