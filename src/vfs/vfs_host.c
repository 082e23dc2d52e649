/*
** A host directory, read-only or read-write.
**
** The directory is opened once (O_PATH) and every path is resolved beneath it by
** the kernel: openat2 with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS refuses "..",
** absolute symlinks and symlinks leading out, atomically with the lookup, so a
** symlink swapped in mid-call cannot escape either. Operations on a name (stat
** without following, mkdir, unlink, rmdir, rename, readlink) open the parent that
** way and then act on the last component with the *at call, which never follows
** a symlink in it. Files other than regular files and directories are refused:
** opening a FIFO or a device can block or have side effects.
**
** With a quota (vfs_quota.c) every growth of a file's size is reserved before the
** write or truncate that makes it (an fstat first: the growth is from the size to
** the end of the write, holes included), every new file or directory before it is
** made, and what a shrink, truncate, unlink, rmdir or replacing rename frees is
** given back after it. Without one nothing is looked at.
*/
#define _GNU_SOURCE
#include "vfs.h"
#include "vfs_internal.h"
#include "vfs_quota.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define HOST_RESOLVE (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
#define HOST_RETRIES 16 /* openat2 says EAGAIN when a rename raced a ".." lookup */

typedef struct host {
    int dirfd; /* O_PATH | O_DIRECTORY */
    bool readonly;
    eryx__vfs_quota *quota; /* a reference, or NULL */
} host;

typedef struct hfile {
    eryx__vfs_file base;
    eryx__vfs_quota *quota; /* a reference (the file may outlive the backend), or NULL */
    int fd;
    bool append_by_hand; /* fd is shared (vfs_hostfile.c): APPEND writes at the size fstat gives */
    DIR *dir;            /* on a dup of fd, opened at the first readdir */
    uint64_t pos;        /* index of the entry dir will return next ("." and ".." skipped) */
    char name[NAME_MAX + 1];
} hfile;

static eryx__errno map_errno(int e) {
    static const struct {
        int host;
        eryx__errno wasi;
    } table[] = {
        {EPERM, ERYX__WASI_EPERM},     {ENOENT, ERYX__WASI_ENOENT},       {EIO, ERYX__WASI_EIO},
        {EBADF, ERYX__WASI_EBADF},     {EAGAIN, ERYX__WASI_EAGAIN},       {ENOMEM, ERYX__WASI_ENOMEM},
        {EACCES, ERYX__WASI_EACCES},   {EBUSY, ERYX__WASI_EBUSY},         {EEXIST, ERYX__WASI_EEXIST},
        {EXDEV, ERYX__WASI_EXDEV},     {ENOTDIR, ERYX__WASI_ENOTDIR},     {EISDIR, ERYX__WASI_EISDIR},
        {EINVAL, ERYX__WASI_EINVAL},   {ENFILE, ERYX__WASI_ENFILE},       {EMFILE, ERYX__WASI_EMFILE},
        {EFBIG, ERYX__WASI_EFBIG},     {ENOSPC, ERYX__WASI_ENOSPC},       {ESPIPE, ERYX__WASI_ESPIPE},
        {EROFS, ERYX__WASI_EROFS},     {EMLINK, ERYX__WASI_EMLINK},       {ENAMETOOLONG, ERYX__WASI_ENAMETOOLONG},
        {ELOOP, ERYX__WASI_ELOOP},     {ENOTEMPTY, ERYX__WASI_ENOTEMPTY}, {EOVERFLOW, ERYX__WASI_EOVERFLOW},
        {EINTR, ERYX__WASI_EINTR},     {ENOSYS, ERYX__WASI_ENOSYS},       {EDQUOT, ERYX__WASI_ENOSPC},
        {ENOTSUP, ERYX__WASI_ENOTSUP}, {ETXTBSY, ERYX__WASI_EBUSY},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].host == e) return table[i].wasi;
    return ERYX__WASI_EIO;
}

/* An openat2 failure: EXDEV there means the path tried to leave the directory. */
static eryx__errno map_resolve_errno(int e) { return e == EXDEV ? ERYX__WASI_ENOTCAPABLE : map_errno(e); }

static uint8_t mode_type(mode_t m) {
    if (S_ISREG(m)) return ERYX__VFS_TYPE_REG;
    if (S_ISDIR(m)) return ERYX__VFS_TYPE_DIR;
    if (S_ISLNK(m)) return ERYX__VFS_TYPE_SYMLINK;
    if (S_ISCHR(m)) return ERYX__WASI_FILETYPE_CHARACTER_DEVICE;
    if (S_ISBLK(m)) return ERYX__WASI_FILETYPE_BLOCK_DEVICE;
    if (S_ISSOCK(m)) return ERYX__WASI_FILETYPE_SOCKET_STREAM;
    return ERYX__VFS_TYPE_UNKNOWN;
}

static uint64_t ts_ns(struct timespec ts) {
    if (ts.tv_sec < 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fill_stat(const struct stat *st, eryx__vfs_stat *out) {
    *out = (eryx__vfs_stat){.dev = (uint64_t)st->st_dev,
                            .ino = (uint64_t)st->st_ino,
                            .type = mode_type(st->st_mode),
                            .nlink = (uint64_t)st->st_nlink,
                            .size = st->st_size > 0 ? (uint64_t)st->st_size : 0,
                            .atim_ns = ts_ns(st->st_atim),
                            .mtim_ns = ts_ns(st->st_mtim),
                            .ctim_ns = ts_ns(st->st_ctim)};
}

/* Opens path beneath the directory; a file descriptor, or -errno. */
static int beneath(const host *h, const char *path, uint64_t oflags, uint64_t mode) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = oflags | O_CLOEXEC;
    how.mode = (oflags & O_CREAT) ? mode : 0;
    how.resolve = HOST_RESOLVE;
    if (path[0] == '/') return -EXDEV; /* the kernel says so too; be explicit */
    for (int tries = 0;; tries++) {
        long fd = syscall(SYS_openat2, h->dirfd, *path ? path : ".", &how, sizeof how);
        if (fd >= 0) return (int)fd;
        if ((errno != EAGAIN && errno != EINTR) || tries == HOST_RETRIES) return -errno;
    }
}

/* Opens the directory holding path's last component (O_PATH) and points *last at
** that component. The root itself ("") has no parent: EBUSY, callers decide. */
static eryx__errno open_parent(const host *h, const char *path, int *pfd, const char **last) {
    char parent[PATH_MAX];
    const char *slash = strrchr(path, '/');
    *pfd = -1;
    if (*path == '\0') return ERYX__WASI_EBUSY;
    if (slash) {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof parent) return ERYX__WASI_ENAMETOOLONG;
        memcpy(parent, path, n);
        parent[n] = '\0';
        *last = slash + 1;
    } else {
        strcpy(parent, ".");
        *last = path;
    }
    /* Normalized paths never end in these; a caller bypassing the mount table might. */
    if (**last == '\0' || strcmp(*last, ".") == 0 || strcmp(*last, "..") == 0 || strchr(*last, '/'))
        return ERYX__WASI_EINVAL;
    int fd = beneath(h, parent, O_PATH | O_DIRECTORY, 0);
    if (fd < 0) return map_resolve_errno(-fd);
    *pfd = fd;
    return 0;
}

/* ---- files ------------------------------------------------------------------ */

static eryx__errno hf_pread(eryx__vfs_file *f, void *buf, size_t len, uint64_t offset, size_t *nread) {
    hfile *hf = (hfile *)f;
    *nread = 0;
    if (!(f->flags & ERYX__VFS_O_READ)) return ERYX__WASI_EBADF;
    if (offset > INT64_MAX) return ERYX__WASI_EINVAL;
    if (len > SSIZE_MAX) len = SSIZE_MAX;
    ssize_t r;
    do r = pread(hf->fd, buf, len, (off_t)offset);
    while (r < 0 && errno == EINTR);
    if (r < 0) return map_errno(errno);
    *nread = (size_t)r;
    return 0;
}

static eryx__errno hf_pwrite(eryx__vfs_file *f, const void *buf, size_t len, uint64_t offset, size_t *nwritten) {
    hfile *hf = (hfile *)f;
    *nwritten = 0;
    if (!(f->flags & ERYX__VFS_O_WRITE)) return ERYX__WASI_EBADF;
    if (len > SSIZE_MAX) len = SSIZE_MAX;
    if (offset > INT64_MAX || len > INT64_MAX - offset) return ERYX__WASI_EFBIG;
    uint64_t size = 0, at = offset, grow = 0;
    bool by_hand = hf->append_by_hand && (f->flags & ERYX__VFS_O_APPEND);
    if (hf->quota || by_hand) {
        struct stat st;
        if (fstat(hf->fd, &st) != 0) return map_errno(errno);
        size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
        if (f->flags & ERYX__VFS_O_APPEND) at = size;
        if (by_hand) offset = at;
        if (offset > INT64_MAX || len > INT64_MAX - offset) return ERYX__WASI_EFBIG;
        grow = at + len > size ? at + len - size : 0;
        eryx__errno e = eryx__quota_take(hf->quota, grow, 0);
        if (e) return e;
    }
    ssize_t r;
    /* With O_APPEND, Linux pwrite appends whatever the offset. */
    do r = pwrite(hf->fd, buf, len, (off_t)offset);
    while (r < 0 && errno == EINTR);
    int err = errno;
    uint64_t grew = r > 0 && at + (uint64_t)r > size ? at + (uint64_t)r - size : 0;
    if (grow > grew) eryx__quota_give(hf->quota, grow - grew, 0); /* a failed or short write */
    if (r < 0) return map_errno(err);
    *nwritten = (size_t)r;
    return 0;
}

static eryx__errno hf_fstat(eryx__vfs_file *f, eryx__vfs_stat *out) {
    struct stat st;
    if (fstat(((hfile *)f)->fd, &st) != 0) return map_errno(errno);
    fill_stat(&st, out);
    return 0;
}

static eryx__errno hf_truncate(eryx__vfs_file *f, uint64_t size) {
    if (!(f->flags & ERYX__VFS_O_WRITE)) return ERYX__WASI_EBADF;
    if (size > INT64_MAX) return ERYX__WASI_EFBIG;
    hfile *hf = (hfile *)f;
    uint64_t old = 0;
    if (hf->quota) {
        struct stat st;
        if (fstat(hf->fd, &st) != 0) return map_errno(errno);
        old = st.st_size > 0 ? (uint64_t)st.st_size : 0;
        eryx__errno e = eryx__quota_take(hf->quota, size > old ? size - old : 0, 0);
        if (e) return e;
    }
    int r;
    do r = ftruncate(hf->fd, (off_t)size);
    while (r != 0 && errno == EINTR);
    int err = errno;
    if (r != 0) eryx__quota_give(hf->quota, size > old ? size - old : 0, 0);
    else if (size < old) eryx__quota_give(hf->quota, old - size, 0);
    return r == 0 ? 0 : map_errno(err);
}

static eryx__errno hf_sync(eryx__vfs_file *f) { return fsync(((hfile *)f)->fd) == 0 ? 0 : map_errno(errno); }

static uint8_t dirent_type(DIR *dir, const struct dirent *de) {
    switch (de->d_type) {
    case DT_REG: return ERYX__VFS_TYPE_REG;
    case DT_DIR: return ERYX__VFS_TYPE_DIR;
    case DT_LNK: return ERYX__VFS_TYPE_SYMLINK;
    case DT_CHR: return ERYX__WASI_FILETYPE_CHARACTER_DEVICE;
    case DT_BLK: return ERYX__WASI_FILETYPE_BLOCK_DEVICE;
    case DT_SOCK: return ERYX__WASI_FILETYPE_SOCKET_STREAM;
    case DT_UNKNOWN: {
        struct stat st;
        return fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? mode_type(st.st_mode)
                                                                              : ERYX__VFS_TYPE_UNKNOWN;
    }
    default: return ERYX__VFS_TYPE_UNKNOWN;
    }
}

/* Cookies count entries: 0 ".", 1 "..", then the directory's own entries in the
** order the host returns them. Sequential reads cost one readdir each; any other
** cookie rewinds and skips. */
static eryx__errno hf_readdir(eryx__vfs_file *f, uint64_t cookie, eryx__vfs_dirent *out, bool *end) {
    hfile *hf = (hfile *)f;
    *end = false;
    if (cookie < 2) {
        struct stat st;
        uint64_t ino = 0; /* ".." may be outside the directory: its number is not shown */
        if (cookie == 0) {
            if (fstat(hf->fd, &st) != 0) return map_errno(errno);
            ino = (uint64_t)st.st_ino;
        }
        *out = (eryx__vfs_dirent){.name = cookie ? ".." : ".",
                                  .name_len = (size_t)cookie + 1,
                                  .type = ERYX__VFS_TYPE_DIR,
                                  .ino = ino,
                                  .next = cookie + 1};
        return 0;
    }
    if (!hf->dir) {
        int fd = fcntl(hf->fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) return map_errno(errno);
        hf->dir = fdopendir(fd);
        if (!hf->dir) {
            int e = errno;
            close(fd);
            return map_errno(e);
        }
        hf->pos = 0;
    }
    uint64_t want = cookie - 2;
    if (want < hf->pos) {
        rewinddir(hf->dir);
        hf->pos = 0;
    }
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(hf->dir);
        if (!de) {
            if (errno) return map_errno(errno);
            *end = true;
            return 0;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        if (hf->pos++ < want) continue;
        size_t len = strnlen(de->d_name, NAME_MAX);
        memcpy(hf->name, de->d_name, len);
        hf->name[len] = '\0';
        *out = (eryx__vfs_dirent){.name = hf->name,
                                  .name_len = len,
                                  .type = dirent_type(hf->dir, de),
                                  .ino = (uint64_t)de->d_ino,
                                  .next = cookie + 1};
        return 0;
    }
}

static void hf_close(eryx__vfs_file *f) {
    hfile *hf = (hfile *)f;
    if (hf->dir) closedir(hf->dir);
    close(hf->fd);
    eryx__vfs_quota_release(hf->quota);
    free(hf);
}

static const eryx__vfs_file_ops host_file_ops = {.pread = hf_pread,
                                                 .pwrite = hf_pwrite,
                                                 .fstat = hf_fstat,
                                                 .truncate = hf_truncate,
                                                 .sync = hf_sync,
                                                 .close = hf_close};
static const eryx__vfs_file_ops host_dir_ops = {
    .fstat = hf_fstat, .readdir = hf_readdir, .sync = hf_sync, .close = hf_close};

/* Wraps fd (taken, closed on failure) as an open file with ops. */
static eryx__errno new_hfile(int fd, uint32_t flags, const eryx__vfs_file_ops *ops, eryx__vfs_quota *quota,
                             hfile **out) {
    *out = calloc(1, sizeof **out);
    if (!*out) {
        close(fd);
        return ERYX__WASI_ENOMEM;
    }
    (*out)->quota = eryx__vfs_quota_ref(quota);
    (*out)->base.ops = ops;
    (*out)->base.flags = flags;
    (*out)->fd = fd;
    return 0;
}

eryx__errno eryx__vfs_host_file(int fd, uint32_t flags, bool append_by_hand, eryx__vfs_quota *quota,
                                eryx__vfs_file **out) {
    hfile *hf;
    eryx__errno e = new_hfile(fd, flags, &host_file_ops, quota, &hf);
    *out = e ? NULL : &hf->base;
    if (!e) hf->append_by_hand = append_by_hand;
    return e;
}

/* ---- backend ------------------------------------------------------------------ */

#define HOST_WRITE_FLAGS (ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT | ERYX__VFS_O_TRUNC | ERYX__VFS_O_APPEND)

static eryx__errno host_open(void *self, const char *path, uint32_t flags, eryx__vfs_file **out) {
    host *h = self;
    *out = NULL;
    if (h->readonly && (flags & HOST_WRITE_FLAGS)) return ERYX__WASI_EROFS;
    uint64_t nofollow = (flags & ERYX__VFS_O_NOFOLLOW) ? O_NOFOLLOW : 0;
    struct stat st;

    /* Look first (O_PATH opens nothing): a FIFO or device is never opened for real. */
    int fd = beneath(h, path, O_PATH | nofollow, 0);
    bool creating = fd == -ENOENT && (flags & ERYX__VFS_O_CREAT);
    if (fd >= 0) {
        int r = fstat(fd, &st);
        close(fd);
        if (r != 0) return map_errno(errno);
        if (S_ISLNK(st.st_mode)) return ERYX__WASI_ELOOP; /* O_NOFOLLOW on a symlink */
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return ERYX__WASI_EACCES;
    } else if (!(fd == -ENOENT && (flags & ERYX__VFS_O_CREAT))) {
        return map_resolve_errno(-fd);
    }

    uint64_t o = O_NOCTTY | O_NONBLOCK | nofollow; /* O_NONBLOCK: a FIFO swapped in must not block us */
    if ((flags & ERYX__VFS_O_READ) && (flags & ERYX__VFS_O_WRITE)) o |= O_RDWR;
    else if (flags & ERYX__VFS_O_WRITE) o |= O_WRONLY;
    else o |= O_RDONLY;
    if (flags & ERYX__VFS_O_CREAT) o |= O_CREAT;
    if (flags & ERYX__VFS_O_EXCL) o |= O_EXCL;
    if (flags & ERYX__VFS_O_TRUNC) o |= O_TRUNC;
    if (flags & ERYX__VFS_O_DIRECTORY) o |= O_DIRECTORY;
    if (flags & ERYX__VFS_O_APPEND) o |= O_APPEND;
    /* What O_TRUNC frees (st is the file looked at above), or the entry made. */
    uint64_t freed =
        !creating && (flags & ERYX__VFS_O_TRUNC) && S_ISREG(st.st_mode) && st.st_size > 0 ? (uint64_t)st.st_size : 0;
    if (creating) {
        eryx__errno e = eryx__quota_take(h->quota, 0, 1);
        if (e) return e;
    }
    fd = beneath(h, path, o, 0666);
    if (fd < 0) {
        if (creating) eryx__quota_give(h->quota, 0, 1);
        return map_resolve_errno(-fd);
    }
    eryx__quota_give(h->quota, freed, 0);
    if (fstat(fd, &st) != 0 || (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))) {
        close(fd);
        return ERYX__WASI_EACCES;
    }
    hfile *hf;
    eryx__errno e = new_hfile(fd, flags, S_ISDIR(st.st_mode) ? &host_dir_ops : &host_file_ops, h->quota, &hf);
    if (!e) *out = &hf->base;
    return e;
}

static eryx__errno host_stat(void *self, const char *path, bool follow_symlinks, eryx__vfs_stat *out) {
    host *h = self;
    struct stat st;
    if (follow_symlinks || *path == '\0') {
        int fd = beneath(h, path, O_PATH, 0);
        if (fd < 0) return map_resolve_errno(-fd);
        int r = fstat(fd, &st);
        int e = errno;
        close(fd);
        if (r != 0) return map_errno(e);
    } else {
        int pfd;
        const char *last;
        eryx__errno e = open_parent(h, path, &pfd, &last);
        if (e) return e;
        int r = fstatat(pfd, last, &st, AT_SYMLINK_NOFOLLOW);
        int err = errno;
        close(pfd);
        if (r != 0) return map_errno(err);
    }
    fill_stat(&st, out);
    return 0;
}

/* Runs one of the name operations below on path's parent and last component. */
enum name_op { OP_MKDIR, OP_RMDIR, OP_UNLINK };

static eryx__errno host_name_op(host *h, const char *path, enum name_op op) {
    if (h->readonly) return ERYX__WASI_EROFS;
    int pfd;
    const char *last;
    eryx__errno e = open_parent(h, path, &pfd, &last);
    if (e == ERYX__WASI_EBUSY && op == OP_MKDIR) return ERYX__WASI_EEXIST; /* the root exists */
    if (e) return e;
    uint64_t freed = 0; /* what the removal gives back to the quota */
    if (op == OP_MKDIR && (e = eryx__quota_take(h->quota, 0, 1))) {
        close(pfd);
        return e;
    }
    if (op == OP_UNLINK && h->quota) {
        struct stat st;
        if (fstatat(pfd, last, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1)
            freed = st.st_size > 0 ? (uint64_t)st.st_size : 0;
    }
    int r = op == OP_MKDIR ? mkdirat(pfd, last, 0777) : unlinkat(pfd, last, op == OP_RMDIR ? AT_REMOVEDIR : 0);
    int err = errno;
    close(pfd);
    if (op == OP_MKDIR ? r != 0 : r == 0) eryx__quota_give(h->quota, freed, 1);
    return r == 0 ? 0 : map_errno(err);
}

static eryx__errno host_mkdir(void *self, const char *path) { return host_name_op(self, path, OP_MKDIR); }
static eryx__errno host_rmdir(void *self, const char *path) { return host_name_op(self, path, OP_RMDIR); }
static eryx__errno host_unlink(void *self, const char *path) { return host_name_op(self, path, OP_UNLINK); }

static eryx__errno host_rename(void *self, const char *from, const char *to) {
    host *h = self;
    if (h->readonly) return ERYX__WASI_EROFS;
    int fpfd, tpfd;
    const char *flast, *tlast;
    eryx__errno e = open_parent(h, from, &fpfd, &flast);
    if (e) return e;
    e = open_parent(h, to, &tpfd, &tlast);
    if (e) {
        close(fpfd);
        return e;
    }
    /* A target replaced is removed: what it held goes back to the quota. */
    struct stat fs, ts;
    bool replaces = h->quota && fstatat(tpfd, tlast, &ts, AT_SYMLINK_NOFOLLOW) == 0 &&
                    fstatat(fpfd, flast, &fs, AT_SYMLINK_NOFOLLOW) == 0 &&
                    (fs.st_ino != ts.st_ino || fs.st_dev != ts.st_dev);
    int r = renameat(fpfd, flast, tpfd, tlast);
    int err = errno;
    close(fpfd);
    close(tpfd);
    if (r == 0 && replaces)
        eryx__quota_give(h->quota, S_ISREG(ts.st_mode) && ts.st_nlink == 1 && ts.st_size > 0 ? (uint64_t)ts.st_size : 0,
                         1);
    return r == 0 ? 0 : map_errno(err); /* EXDEV here is a real cross-device rename */
}

static eryx__errno host_readlink(void *self, const char *path, char *buf, size_t cap, size_t *len) {
    host *h = self;
    int pfd;
    const char *last;
    *len = 0;
    eryx__errno e = open_parent(h, path, &pfd, &last);
    if (e == ERYX__WASI_EBUSY) return ERYX__WASI_EINVAL; /* the root is a directory */
    if (e) return e;
    ssize_t r = readlinkat(pfd, last, buf, cap);
    int err = errno;
    close(pfd);
    if (r < 0) return map_errno(err);
    *len = (size_t)r; /* truncated to cap, as readlink(2) */
    return 0;
}

static void host_destroy(void *self) {
    host *h = self;
    if (!h) return;
    close(h->dirfd);
    eryx__vfs_quota_release(h->quota);
    free(h);
}


void *eryx__vfs_host_new(const char *host_dir, bool readonly, eryx__vfs_quota *quota, eryx__errbuf *err) {
    eryx__errbuf_clear(err);
    int dfd = open(host_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        eryx__fail(err, ERYX_ERR_IO, "cannot open directory %s: %s", host_dir, strerror(errno));
        return NULL;
    }
    host *h = calloc(1, sizeof *h);
    if (!h) {
        close(dfd);
        eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory");
        return NULL;
    }
    h->dirfd = dfd;
    h->readonly = readonly;
    h->quota = eryx__vfs_quota_ref(quota);
    int probe = beneath(h, "", O_PATH | O_DIRECTORY, 0);
    if (probe < 0) {
        eryx__fail(err, ERYX_ERR_IO, "openat2 is unavailable (%s): Linux 5.6 or later is needed for host directories",
                   strerror(-probe));
        host_destroy(h);
        return NULL;
    }
    close(probe);
    return h;
}

const eryx__vfs_backend eryx__vfs_host_backend = {.name = "host",
                                                  .open = host_open,
                                                  .stat = host_stat,
                                                  .mkdir = host_mkdir,
                                                  .rmdir = host_rmdir,
                                                  .unlink = host_unlink,
                                                  .rename = host_rename,
                                                  .readlink = host_readlink,
                                                  .destroy = host_destroy};
