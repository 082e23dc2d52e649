/*
** WASI preview1's file calls (see wasi.h): reads and writes (fd_read/write/pread/
** pwrite/seek/tell), fd metadata (close, sync, fdstat, filestat, prestat, readdir)
** and paths (path_open and the rest), over the VFS. Output pointers are checked
** before any side effect (a read that consumed stdin, an open that made an fd), so
** a bad pointer never loses data or leaks a descriptor.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "wasi_int.h"

/* ---- reads and writes --------------------------------------------------------- */

typedef struct giov {
    uint32_t buf, len;
} giov;

/* Loads and checks an iovec array: every buffer must lie inside guest memory. */
static eryx__errno load_iovs(eryx__guest_mem m, uint32_t iovs, uint32_t n, giov *out) {
    if (n > MAX_IOVS) return ERYX__WASI_EINVAL;
    if (!mem_range(m, iovs, (uint64_t)n * ERYX__WASI_IOVEC_SIZE)) return ERYX__WASI_EFAULT;
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = gptr(m, iovs + i * ERYX__WASI_IOVEC_SIZE);
        out[i].buf = get_u32(p);
        out[i].len = get_u32(p + 4);
        if (!mem_range(m, out[i].buf, out[i].len)) return ERYX__WASI_EFAULT;
        total += out[i].len;
    }
    /* The count goes back as a u32 (overlapping buffers could sum past it). */
    if (total > UINT32_MAX) return ERYX__WASI_EINVAL;
    return 0;
}

static eryx__errno do_read(eryx__wasi *w, eryx__guest_mem m, uint32_t fd, uint32_t iovs, uint32_t n, bool positional,
                           uint64_t pos, uint32_t nread_ptr) {
    fd_entry *e = fd_get(w, fd);
    if (!e) return ERYX__WASI_EBADF;
    giov iov[MAX_IOVS];
    eryx__errno err = load_iovs(m, iovs, n, iov);
    if (err) return err;
    if (!mem_range(m, nread_ptr, 4)) return ERYX__WASI_EFAULT;
    uint64_t done = 0;
    switch (e->kind) {
    case FD_STDIN:
        if (positional) return ERYX__WASI_ESPIPE;
        /* One host read at most: a second could block on an interactive stdin
        ** although data was already returned. */
        for (uint32_t i = 0; i < n && w->io.read_stdin; i++) {
            if (iov[i].len == 0) continue;
            ptrdiff_t r = w->io.read_stdin(w->io.user, gptr(m, iov[i].buf), iov[i].len);
            if (r < 0 || (uint64_t)r > iov[i].len) return ERYX__WASI_EIO;
            done = (uint64_t)r;
            break;
        }
        break;
    case FD_STDOUT:
    case FD_STDERR: return ERYX__WASI_EBADF;
    case FD_ROOT:
    case FD_DIR: return ERYX__WASI_EISDIR;
    case FD_STREAM:
        if (positional) return ERYX__WASI_ESPIPE;
        /* Waits (unless NONBLOCK) only while nothing was read. */
        for (uint32_t i = 0; i < n; i++) {
            if (iov[i].len == 0) continue;
            size_t got = 0;
            err = eryx__wasi_stream_read(w, e, gptr(m, iov[i].buf), iov[i].len, done > 0, &got);
            if (err) {
                if (done) break;
                return err;
            }
            done += got;
            if (got < iov[i].len) break;
        }
        break;
    default: {
        eryx__vfs_file *f = e->file;
        if (!(f->flags & ERYX__VFS_O_READ) || !f->ops->pread) return ERYX__WASI_EBADF;
        if (positional && pos > INT64_MAX) return ERYX__WASI_EINVAL;
        uint64_t off = positional ? pos : e->offset;
        for (uint32_t i = 0; i < n; i++) {
            if (iov[i].len == 0) continue;
            size_t got = 0;
            err = f->ops->pread(f, gptr(m, iov[i].buf), iov[i].len, off + done, &got);
            if (err) {
                if (done) break; /* report the bytes already read */
                return err;
            }
            if (got > iov[i].len) return ERYX__WASI_EIO;
            done += got;
            if (got < iov[i].len) break;
        }
        if (!positional) e->offset = off + done;
    }
    }
    store_u32(m, nread_ptr, (uint32_t)done);
    return 0;
}

/* One piece of a file write through io.filter_file: the bytes just before off read
** back as context, the filter's answer written. *done gets the guest's byte count
** when all went out, *end where the written bytes end. */
static eryx__errno write_filtered(eryx__wasi *w, fd_entry *e, const uint8_t *data, size_t len, uint64_t off,
                                  bool append, uint64_t *done, uint64_t *end) {
    eryx__vfs_file *f = e->file;
    size_t prev_len = 0, keep = 0, out_len = 0;
    uint8_t *prev = NULL;
    void *out = NULL;
    size_t ctx = append ? 0 : off < w->io.file_context ? (size_t)off : w->io.file_context;
    if (ctx && (prev = malloc(ctx))) {
        /* A write-only fd reads back through a second, read-only open of its path
        ** (a host file the process may not read: no context). */
        eryx__vfs_file *rf = f;
        if (!(f->flags & ERYX__VFS_O_READ) &&
            (!w->vfs || !e->path || eryx__vfs_open(w->vfs, e->path, ERYX__VFS_O_READ, &rf)))
            rf = NULL;
        if (!rf || !rf->ops->pread || rf->ops->pread(rf, prev, ctx, off - ctx, &prev_len) != 0) prev_len = 0;
        if (rf && rf != f) rf->ops->close(rf);
    }
    int rc = w->io.filter_file(w->io.user, prev, prev_len, data, len, &out, &out_len, &keep);
    free(prev);
    if (rc != 0) return ERYX__WASI_ENOMEM;
    const uint8_t *buf = out ? out : data;
    size_t n = out ? out_len : len, put = 0;
    uint64_t at = out ? off - (prev_len - keep) : off;
    /* Shorter than what it replaces, at the end of the file: the end moves back (a
    ** placeholder's first part, written before, must not stay behind it). */
    eryx__vfs_stat st;
    bool shrink = out && n < (prev_len - keep) + len && f->ops->truncate && !eryx__wasi_entry_stat(w, e, &st) &&
                  st.size <= off + len;
    bool rewritten = out != NULL;
    eryx__errno err = n ? f->ops->pwrite(f, buf, n, at, &put) : 0;
    free(out);
    if (err) return err;
    if (put > n) return ERYX__WASI_EIO;
    /* A rewritten piece that went out in part has no count in the guest's bytes. */
    if (rewritten && put != n) return ERYX__WASI_EIO;
    if (shrink && (err = f->ops->truncate(f, at + n))) return err;
    *done = rewritten ? len : put;
    *end = at + put;
    return 0;
}

static eryx__errno do_write(eryx__wasi *w, eryx__guest_mem m, uint32_t fd, uint32_t iovs, uint32_t n, bool positional,
                            uint64_t pos, uint32_t nwritten_ptr) {
    fd_entry *e = fd_get(w, fd);
    if (!e) return ERYX__WASI_EBADF;
    giov iov[MAX_IOVS];
    eryx__errno err = load_iovs(m, iovs, n, iov);
    if (err) return err;
    if (!mem_range(m, nwritten_ptr, 4)) return ERYX__WASI_EFAULT;
    uint64_t done = 0;
    switch (e->kind) {
    case FD_STDOUT:
    case FD_STDERR: {
        if (positional) return ERYX__WASI_ESPIPE;
        int hostfd = e->kind == FD_STDOUT ? 1 : 2;
        for (uint32_t i = 0; i < n; i++) {
            if (iov[i].len == 0) continue;
            if (w->io.write_output) {
                err = w->io.write_output(w->io.user, hostfd, gptr(m, iov[i].buf), iov[i].len);
                if (err) {
                    if (done) break;
                    return err;
                }
            }
            done += iov[i].len;
        }
        break;
    }
    case FD_STDIN: return ERYX__WASI_EBADF;
    case FD_ROOT:
    case FD_DIR: return ERYX__WASI_EISDIR;
    case FD_STREAM:
        if (positional) return ERYX__WASI_ESPIPE;
        for (uint32_t i = 0; i < n; i++) {
            if (iov[i].len == 0) continue;
            size_t put = 0;
            err = eryx__wasi_stream_write(w, e, gptr(m, iov[i].buf), iov[i].len, done > 0, &put);
            if (err) {
                if (done) break;
                return err;
            }
            done += put;
            if (put < iov[i].len) break;
        }
        /* A blocking write returns once the stream holds nothing back (a close
        ** right after it loses nothing). */
        if (done && !(e->fdflags & ERYX__WASI_FDFLAG_NONBLOCK)) {
            err = eryx__wasi_stream_drain(w, e);
            if (err == ERYX__WASI_EINTR) return err;
        }
        break;
    default: {
        eryx__vfs_file *f = e->file;
        if (!(f->flags & ERYX__VFS_O_WRITE) || !f->ops->pwrite) return ERYX__WASI_EBADF;
        uint64_t off;
        if (positional) {
            off = pos;
        } else if (e->fdflags & ERYX__WASI_FDFLAG_APPEND) {
            /* APPEND is kept here, not in the backend, so fd_fdstat_set_flags can
            ** toggle it. */
            eryx__vfs_stat st;
            if ((err = eryx__wasi_entry_stat(w, e, &st))) return err;
            off = st.size;
        } else {
            off = e->offset;
        }
        uint64_t total = 0;
        for (uint32_t i = 0; i < n; i++) total += iov[i].len;
        if (off > INT64_MAX || total > INT64_MAX - off) return ERYX__WASI_EFBIG;
        if (w->io.filter_file) {
            uint64_t at = off;
            bool append = !positional && (e->fdflags & ERYX__WASI_FDFLAG_APPEND);
            for (uint32_t i = 0; i < n; i++) {
                if (iov[i].len == 0) continue;
                uint64_t put = 0;
                err = write_filtered(w, e, gptr(m, iov[i].buf), iov[i].len, at, append, &put, &at);
                if (err) {
                    if (done) break;
                    return err;
                }
                done += put;
                if (put < iov[i].len) break;
            }
            if (!positional) e->offset = at;
            break;
        }
        for (uint32_t i = 0; i < n; i++) {
            if (iov[i].len == 0) continue;
            size_t put = 0;
            err = f->ops->pwrite(f, gptr(m, iov[i].buf), iov[i].len, off + done, &put);
            if (err) {
                if (done) break;
                return err;
            }
            if (put > iov[i].len) return ERYX__WASI_EIO;
            done += put;
            if (put < iov[i].len) break;
        }
        if (!positional) e->offset = off + done;
    }
    }
    store_u32(m, nwritten_ptr, (uint32_t)done);
    return 0;
}

int32_t eryx__wasi_fd_read(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    return do_read(w, m, A32(0), A32(1), A32(2), false, 0, A32(3));
}
int32_t eryx__wasi_fd_pread(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    return do_read(w, m, A32(0), A32(1), A32(2), true, A64(3), A32(4));
}
int32_t eryx__wasi_fd_write(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    return do_write(w, m, A32(0), A32(1), A32(2), false, 0, A32(3));
}
int32_t eryx__wasi_fd_pwrite(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    return do_write(w, m, A32(0), A32(1), A32(2), true, A64(3), A32(4));
}

int32_t eryx__wasi_fd_seek(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    fd_entry *e = fd_get(w, A32(0));
    uint64_t raw = A64(1);
    uint32_t whence = A32(2), out = A32(3);
    if (!e) return ERYX__WASI_EBADF;
    if (is_stdio(e) || e->kind == FD_STREAM) return ERYX__WASI_ESPIPE;
    if (whence > ERYX__WASI_WHENCE_END) return ERYX__WASI_EINVAL;
    if (!mem_range(m, out, 8)) return ERYX__WASI_EFAULT;
    uint64_t base = 0;
    if (whence == ERYX__WASI_WHENCE_CUR) {
        base = e->offset;
    } else if (whence == ERYX__WASI_WHENCE_END) {
        eryx__vfs_stat st;
        eryx__errno err = eryx__wasi_entry_stat(w, e, &st);
        if (err) return err;
        base = st.size;
        if (base > INT64_MAX) return ERYX__WASI_EOVERFLOW;
    }
    /* raw is a two's-complement i64: split it into sign and magnitude. */
    uint64_t result;
    if (raw >> 63) {
        uint64_t mag = ~raw + 1;
        if (mag > base) return ERYX__WASI_EINVAL;
        result = base - mag;
    } else {
        if (raw > INT64_MAX - base) return ERYX__WASI_EOVERFLOW;
        result = base + raw;
    }
    e->offset = result;
    store_u64(m, out, result);
    return 0;
}

int32_t eryx__wasi_fd_tell(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    fd_entry *e = fd_get(w, A32(0));
    if (!e) return ERYX__WASI_EBADF;
    if (is_stdio(e) || e->kind == FD_STREAM) return ERYX__WASI_ESPIPE;
    if (!store_u64(m, A32(1), e->offset)) return ERYX__WASI_EFAULT;
    return 0;
}

/* ---- fd metadata -------------------------------------------------------------- */

int32_t eryx__wasi_fd_close(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)m;
    fd_entry *e = fd_get(w, A32(0));
    if (!e) return ERYX__WASI_EBADF;
    if (e->kind == FD_ROOT) return ERYX__WASI_ENOTSUP; /* the guest's libc resolves every path through it */
    if (w->stat_dirfd == A32(0)) w->stat_dirfd = 0;
    eryx__wasi_fd_release(e);
    return 0;
}

int32_t eryx__wasi_fd_sync(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)m;
    fd_entry *e = fd_get(w, A32(0));
    if (!e) return ERYX__WASI_EBADF;
    if (e->kind == FD_FILE && e->file->ops->sync) return e->file->ops->sync(e->file);
    return 0;
}

int32_t eryx__wasi_fd_advise(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)m;
    if (!fd_get(w, A32(0))) return ERYX__WASI_EBADF;
    if (A32(3) > 5) /* advice: normal .. noreuse */
        return ERYX__WASI_EINVAL;
    return 0; /* a hint only */
}

static uint8_t entry_filetype(const fd_entry *e) {
    if (is_stdio(e)) return ERYX__WASI_FILETYPE_CHARACTER_DEVICE;
    if (is_dir(e)) return ERYX__WASI_FILETYPE_DIRECTORY;
    return e->filetype;
}

int32_t eryx__wasi_fd_fdstat_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    fd_entry *e = fd_get(w, A32(0));
    if (!e) return ERYX__WASI_EBADF;
    uint8_t b[ERYX__WASI_FDSTAT_SIZE] = {0};
    b[0] = entry_filetype(e);
    put_u16(b + 2, e->fdflags);
    /* Every right, stdio included: with FD_SEEK and FD_TELL present, wasi-libc's
    ** isatty() is false, so stdout is block-buffered (the host flushes). The VFS
    ** enforces read-only mounts; the rights only tell it, without FD_WRITE: for a
    ** file or directory opened there, and for the directory fd whose last
    ** path_filestat_get found a path there (wasi-libc's access(W_OK) stats the
    ** path, then checks the fd's inheriting rights). FD_DATASYNC stays, so an
    ** O_WRONLY open still says so to path_open. */
    uint64_t base = ERYX__WASI_RIGHTS_ALL, inheriting = ERYX__WASI_RIGHTS_ALL;
    if ((e->kind == FD_FILE || e->kind == FD_DIR) && w->vfs && e->path && eryx__vfs_writable(w->vfs, e->path))
        base = inheriting = ERYX__WASI_RIGHTS_ALL & ~RIGHT_FD_WRITE;
    if (is_dir(e) && w->stat_dirfd == A32(0)) {
        inheriting = w->stat_readonly ? ERYX__WASI_RIGHTS_ALL & ~RIGHT_FD_WRITE : ERYX__WASI_RIGHTS_ALL;
        w->stat_dirfd = 0;
    }
    put_u64(b + 8, base);
    put_u64(b + 16, inheriting);
    if (!store(m, A32(1), b, sizeof b)) return ERYX__WASI_EFAULT;
    return 0;
}

int32_t eryx__wasi_fd_fdstat_set_flags(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)m;
    fd_entry *e = fd_get(w, A32(0));
    uint32_t flags = A32(1);
    if (!e) return ERYX__WASI_EBADF;
    if (e->kind == FD_STREAM) {
        /* A stream keeps only NONBLOCK (Python's setblocking). */
        if (flags & ~(uint32_t)ERYX__WASI_FDFLAG_NONBLOCK) return ERYX__WASI_ENOTSUP;
        e->fdflags = (uint16_t)flags;
        return 0;
    }
    if (flags & ~(uint32_t)ERYX__WASI_FDFLAG_APPEND) return ERYX__WASI_ENOTSUP;
    e->fdflags = (uint16_t)flags;
    return 0;
}

static bool store_filestat(eryx__guest_mem m, uint32_t ptr, const eryx__vfs_stat *st) {
    uint8_t b[ERYX__WASI_FILESTAT_SIZE] = {0};
    put_u64(b + 0, st->dev);
    put_u64(b + 8, st->ino);
    b[16] = st->type <= ERYX__WASI_FILETYPE_SYMBOLIC_LINK ? st->type : ERYX__WASI_FILETYPE_UNKNOWN;
    put_u64(b + 24, st->nlink);
    put_u64(b + 32, st->size);
    put_u64(b + 40, st->atim_ns);
    put_u64(b + 48, st->mtim_ns);
    put_u64(b + 56, st->ctim_ns);
    return store(m, ptr, b, sizeof b);
}

int32_t eryx__wasi_fd_filestat_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    fd_entry *e = fd_get(w, A32(0));
    uint32_t out = A32(1);
    if (!e) return ERYX__WASI_EBADF;
    if (!mem_range(m, out, ERYX__WASI_FILESTAT_SIZE)) return ERYX__WASI_EFAULT;
    eryx__vfs_stat st;
    if (is_stdio(e) || e->kind == FD_STREAM) {
        memset(&st, 0, sizeof st);
        st.type = e->kind == FD_STREAM ? ERYX__WASI_FILETYPE_SOCKET_STREAM : ERYX__WASI_FILETYPE_CHARACTER_DEVICE;
        st.nlink = 1;
    } else {
        eryx__errno err = eryx__wasi_entry_stat(w, e, &st);
        if (err) return err;
    }
    store_filestat(m, out, &st);
    return 0;
}

int32_t eryx__wasi_fd_filestat_set_size(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)m;
    fd_entry *e = fd_get(w, A32(0));
    uint64_t size = A64(1);
    if (!e) return ERYX__WASI_EBADF;
    if (is_dir(e)) return ERYX__WASI_EISDIR;
    if (e->kind != FD_FILE) return ERYX__WASI_EINVAL;
    if (!(e->file->flags & ERYX__VFS_O_WRITE)) return ERYX__WASI_EBADF;
    if (size > INT64_MAX) return ERYX__WASI_EINVAL;
    if (!e->file->ops->truncate) return ERYX__WASI_ENOTSUP;
    return e->file->ops->truncate(e->file, size);
}

static eryx__errno check_fstflags(uint32_t fst) {
    if (fst & ~(uint32_t)FST_ALL) return ERYX__WASI_EINVAL;
    if ((fst & ERYX__WASI_FST_ATIM) && (fst & ERYX__WASI_FST_ATIM_NOW)) return ERYX__WASI_EINVAL;
    if ((fst & ERYX__WASI_FST_MTIM) && (fst & ERYX__WASI_FST_MTIM_NOW)) return ERYX__WASI_EINVAL;
    return 0;
}

/* Setting times is accepted and ignored where files can be changed: the VFS has
** no settable times, and failing would break os.utime() callers (shutil.copystat,
** tarfile) for nothing. On a read-only mount it is EROFS, as a change would be
** (the guest's os.chmod asks this way too: guest/lib/_eryx_support.py). */
int32_t eryx__wasi_fd_filestat_set_times(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)m;
    fd_entry *e = fd_get(w, A32(0));
    if (!e) return ERYX__WASI_EBADF;
    eryx__errno err = check_fstflags(A32(3));
    if (err || is_stdio(e)) return err;
    return w->vfs && e->path ? eryx__vfs_writable(w->vfs, e->path) : ERYX__WASI_EROFS;
}

int32_t eryx__wasi_fd_prestat_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    fd_entry *e = fd_get(w, A32(0));
    /* Only fd 3 is a preopen: EBADF elsewhere ends the guest libc's scan. */
    if (!e || e->kind != FD_ROOT) return ERYX__WASI_EBADF;
    uint8_t b[ERYX__WASI_PRESTAT_SIZE] = {0};
    b[0] = ERYX__WASI_PREOPENTYPE_DIR;
    put_u32(b + 4, 1); /* strlen("/") */
    if (!store(m, A32(1), b, sizeof b)) return ERYX__WASI_EFAULT;
    return 0;
}

int32_t eryx__wasi_fd_prestat_dir_name(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    fd_entry *e = fd_get(w, A32(0));
    if (!e || e->kind != FD_ROOT) return ERYX__WASI_EBADF;
    if (A32(2) < 1) return ERYX__WASI_ENAMETOOLONG;
    if (!store(m, A32(1), "/", 1)) return ERYX__WASI_EFAULT;
    return 0;
}

int32_t eryx__wasi_fd_readdir(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    fd_entry *e = fd_get(w, A32(0));
    uint32_t buf = A32(1), buf_len = A32(2), used_ptr = A32(4);
    uint64_t cookie = A64(3);
    if (!e) return ERYX__WASI_EBADF;
    if (!is_dir(e)) return ERYX__WASI_ENOTDIR;
    if (!mem_range(m, buf, buf_len) || !mem_range(m, used_ptr, 4)) return ERYX__WASI_EFAULT;
    eryx__vfs_file *f = e->file;
    eryx__errno err = 0;
    if (!f) {
        /* fd 3 keeps no open file: "/" may be an implicit directory of the mount
        ** table, opened per call (readdir cookies are stateless). */
        if (!w->vfs) return ERYX__WASI_EBADF;
        if ((err = eryx__vfs_open(w->vfs, e->path, ERYX__VFS_O_READ | ERYX__VFS_O_DIRECTORY, &f))) return err;
    }
    uint64_t used = 0;
    if (!f->ops->readdir) {
        err = ERYX__WASI_ENOTDIR;
    } else {
        /* Each entry takes at least one byte (a 24-byte header, truncated at the
        ** end of the buffer), so this ends even if a backend never does. */
        while (used < buf_len) {
            eryx__vfs_dirent d;
            bool end = false;
            memset(&d, 0, sizeof d);
            if ((err = f->ops->readdir(f, cookie, &d, &end)) || end) break;
            if (d.name_len > UINT32_MAX || (d.name_len && !d.name)) {
                err = ERYX__WASI_EIO;
                break;
            }
            uint8_t h[ERYX__WASI_DIRENT_SIZE] = {0};
            put_u64(h + 0, d.next);
            put_u64(h + 8, d.ino);
            put_u32(h + 16, (uint32_t)d.name_len);
            h[20] = d.type <= ERYX__WASI_FILETYPE_SYMBOLIC_LINK ? d.type : ERYX__WASI_FILETYPE_UNKNOWN;
            /* A truncated entry fills the buffer: bufused == buf_len tells the
            ** guest to retry from this cookie with a bigger buffer. */
            uint64_t room = buf_len - used;
            size_t n = room < sizeof h ? (size_t)room : sizeof h;
            memcpy(gptr(m, (uint32_t)(buf + used)), h, n);
            used += n;
            room = buf_len - used;
            n = room < d.name_len ? (size_t)room : d.name_len;
            if (n) memcpy(gptr(m, (uint32_t)(buf + used)), d.name, n);
            used += n;
            cookie = d.next;
        }
    }
    if (f != e->file && f->ops->close) f->ops->close(f);
    if (err && used == 0) return err;
    store_u32(m, used_ptr, (uint32_t)used);
    return 0;
}

/* ---- paths -------------------------------------------------------------------- */

int32_t eryx__wasi_path_open(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    uint32_t dirfd = A32(0), lookup = A32(1), ptr = A32(2), len = A32(3), oflags = A32(4);
    uint64_t rights = A64(5); /* args[6], rights_inheriting, is not used: fds report all rights */
    uint32_t fdflags = A32(7), fd_ptr = A32(8);
    if ((oflags & ~(uint32_t)OFLAGS_ALL) || (fdflags & ~(uint32_t)FDFLAGS_ALL)) return ERYX__WASI_EINVAL;
    char path[PATH_CAP];
    eryx__errno err = eryx__wasi_guest_path(w, m, dirfd, ptr, len, path);
    if (err) return err;
    if (!mem_range(m, fd_ptr, 4)) return ERYX__WASI_EFAULT;
    uint32_t fd = FIRST_GUEST_FD;
    while (fd < ERYX__WASI_MAX_FDS && w->fds[fd].kind != FD_FREE) fd++;
    if (fd == ERYX__WASI_MAX_FDS) return ERYX__WASI_EMFILE;

    /* wasi-libc asks for FD_WRITE and FD_DATASYNC exactly for O_WRONLY / O_RDWR
    ** (O_RDONLY leaves both out), so a read-only open of a read-only mount does not
    ** ask for writing. Its rights are the directory's inheriting ones masked: when
    ** those lack FD_WRITE (fd_fdstat_get), FD_DATASYNC still says "write". */
    bool want_write = (oflags & (ERYX__WASI_O_CREAT | ERYX__WASI_O_TRUNC)) || (fdflags & ERYX__WASI_FDFLAG_APPEND) ||
                      (rights & (RIGHT_FD_WRITE | RIGHT_FD_DATASYNC));
    bool want_read = (rights & (RIGHT_FD_READ | RIGHT_FD_READDIR)) || !want_write;
    uint32_t flags = 0;
    if (want_read) flags |= ERYX__VFS_O_READ;
    if (want_write) flags |= ERYX__VFS_O_WRITE;
    if (oflags & ERYX__WASI_O_CREAT) flags |= ERYX__VFS_O_CREAT;
    if (oflags & ERYX__WASI_O_EXCL) flags |= ERYX__VFS_O_EXCL;
    if (oflags & ERYX__WASI_O_TRUNC) flags |= ERYX__VFS_O_TRUNC;
    if (oflags & ERYX__WASI_O_DIRECTORY) flags |= ERYX__VFS_O_DIRECTORY;
    if (!(lookup & ERYX__WASI_LOOKUP_SYMLINK_FOLLOW)) flags |= ERYX__VFS_O_NOFOLLOW;
    /* APPEND stays in this layer (see do_write). */

    eryx__vfs_file *f = NULL;
    if ((err = eryx__vfs_open(w->vfs, path, flags, &f))) return err;
    if (!f || !f->ops) return ERYX__WASI_EIO;
    eryx__vfs_stat st;
    memset(&st, 0, sizeof st);
    if (f->ops->fstat) err = f->ops->fstat(f, &st);
    else err = eryx__vfs_stat_path(w->vfs, path, !(flags & ERYX__VFS_O_NOFOLLOW), &st);
    if (!err && (oflags & ERYX__WASI_O_DIRECTORY) && st.type != ERYX__VFS_TYPE_DIR) err = ERYX__WASI_ENOTDIR;
    if (!err && st.type == ERYX__VFS_TYPE_DIR && want_write) err = ERYX__WASI_EISDIR;
    char *copy = err ? NULL : strdup(path);
    if (!err && !copy) err = ERYX__WASI_ENOMEM;
    if (err) {
        if (f->ops->close) f->ops->close(f);
        return err;
    }
    fd_entry *e = &w->fds[fd];
    e->kind = st.type == ERYX__VFS_TYPE_DIR ? FD_DIR : FD_FILE;
    e->filetype = st.type <= ERYX__WASI_FILETYPE_SYMBOLIC_LINK ? st.type : ERYX__WASI_FILETYPE_UNKNOWN;
    e->fdflags = (uint16_t)(fdflags & ERYX__WASI_FDFLAG_APPEND);
    e->file = f;
    e->path = copy;
    e->offset = 0;
    store_u32(m, fd_ptr, fd);
    return 0;
}

int32_t eryx__wasi_path_create_directory(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    char path[PATH_CAP];
    eryx__errno err = eryx__wasi_guest_path(w, m, A32(0), A32(1), A32(2), path);
    return err ? err : eryx__vfs_mkdir(w->vfs, path);
}

int32_t eryx__wasi_path_remove_directory(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    char path[PATH_CAP];
    eryx__errno err = eryx__wasi_guest_path(w, m, A32(0), A32(1), A32(2), path);
    return err ? err : eryx__vfs_rmdir(w->vfs, path);
}

int32_t eryx__wasi_path_unlink_file(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    char path[PATH_CAP];
    eryx__errno err = eryx__wasi_guest_path(w, m, A32(0), A32(1), A32(2), path);
    return err ? err : eryx__vfs_unlink(w->vfs, path);
}

int32_t eryx__wasi_path_rename(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    char from[PATH_CAP], to[PATH_CAP];
    eryx__errno err = eryx__wasi_guest_path(w, m, A32(0), A32(1), A32(2), from);
    if (!err) err = eryx__wasi_guest_path(w, m, A32(3), A32(4), A32(5), to);
    return err ? err : eryx__vfs_rename(w->vfs, from, to);
}

int32_t eryx__wasi_path_filestat_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    uint32_t out = A32(4);
    char path[PATH_CAP];
    eryx__errno err = eryx__wasi_guest_path(w, m, A32(0), A32(2), A32(3), path);
    if (err) return err;
    if (!mem_range(m, out, ERYX__WASI_FILESTAT_SIZE)) return ERYX__WASI_EFAULT;
    eryx__vfs_stat st;
    memset(&st, 0, sizeof st);
    if ((err = eryx__vfs_stat_path(w->vfs, path, A32(1) & ERYX__WASI_LOOKUP_SYMLINK_FOLLOW, &st))) return err;
    store_filestat(m, out, &st);
    w->stat_dirfd = A32(0); /* for an access() that asks fd_fdstat_get next */
    w->stat_readonly = eryx__vfs_writable(w->vfs, path) != 0;
    return 0;
}

/* Accepted and ignored once the path exists on a writable mount; EROFS on a
** read-only one (see fd_filestat_set_times). */
int32_t eryx__wasi_path_filestat_set_times(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    char path[PATH_CAP];
    eryx__errno err = eryx__wasi_guest_path(w, m, A32(0), A32(2), A32(3), path);
    if (err) return err;
    if ((err = check_fstflags(A32(6)))) return err;
    eryx__vfs_stat st;
    if ((err = eryx__vfs_stat_path(w->vfs, path, A32(1) & ERYX__WASI_LOOKUP_SYMLINK_FOLLOW, &st))) return err;
    return eryx__vfs_writable(w->vfs, path);
}

int32_t eryx__wasi_path_readlink(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    uint32_t buf = A32(3), buf_len = A32(4), used_ptr = A32(5);
    char path[PATH_CAP];
    eryx__errno err = eryx__wasi_guest_path(w, m, A32(0), A32(1), A32(2), path);
    if (err) return err;
    if (!mem_range(m, buf, buf_len) || !mem_range(m, used_ptr, 4)) return ERYX__WASI_EFAULT;
    char target[PATH_CAP];
    size_t n = 0;
    if ((err = eryx__vfs_readlink(w->vfs, path, target, sizeof target, &n))) return err;
    if (n > sizeof target) n = sizeof target;
    if (n > buf_len) n = buf_len; /* readlink truncates silently */
    if (n) memcpy(gptr(m, buf), target, n);
    store_u32(m, used_ptr, (uint32_t)n);
    return 0;
}

/* The guest may not create links (symlinks could point anywhere in the VFS and
** hard links would alias across the byte cap). */
int32_t eryx__wasi_path_link(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)w, (void)m, (void)args;
    return ERYX__WASI_ENOTSUP;
}
int32_t eryx__wasi_path_symlink(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)w, (void)m, (void)args;
    return ERYX__WASI_ENOTSUP;
}
