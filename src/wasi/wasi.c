/*
** WASI preview1 host over the VFS (see wasi.h).
**
** Every guest pointer is checked with mem_range() before a host pointer into guest
** memory is formed; output pointers are checked before any side effect (a read
** that consumed stdin, an open that made an fd), so a bad pointer never loses data
** or leaks a descriptor. Results are built in host buffers and copied out.
*/
#define _GNU_SOURCE /* getrandom */
#include "wasi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define PATH_MAX_LEN 4096
#define PATH_CAP (PATH_MAX_LEN + 1)
#define MAX_IOVS 1024
#define MAX_SUBSCRIPTIONS 4096
#define FIRST_GUEST_FD 4
#define ROOT_FD 3

#define RIGHT_FD_READ ((uint64_t)1 << 1)
#define RIGHT_FD_WRITE ((uint64_t)1 << 6)
#define RIGHT_FD_READDIR ((uint64_t)1 << 14)

#define FST_ALL (ERYX__WASI_FST_ATIM | ERYX__WASI_FST_ATIM_NOW | ERYX__WASI_FST_MTIM | ERYX__WASI_FST_MTIM_NOW)
#define OFLAGS_ALL (ERYX__WASI_O_CREAT | ERYX__WASI_O_DIRECTORY | ERYX__WASI_O_EXCL | ERYX__WASI_O_TRUNC)
#define FDFLAGS_ALL                                                                                \
    (ERYX__WASI_FDFLAG_APPEND | ERYX__WASI_FDFLAG_DSYNC | ERYX__WASI_FDFLAG_NONBLOCK | ERYX__WASI_FDFLAG_RSYNC | \
     ERYX__WASI_FDFLAG_SYNC)

enum fd_kind { FD_FREE = 0, FD_STDIN, FD_STDOUT, FD_STDERR, FD_ROOT, FD_FILE, FD_DIR };

typedef struct fd_entry {
    uint8_t kind;     /* enum fd_kind */
    uint8_t filetype; /* for FD_FILE: what fstat said at open */
    uint16_t fdflags; /* only APPEND is kept */
    eryx__vfs_file *file; /* FD_FILE, FD_DIR */
    char *path;          /* absolute normalized guest path (FD_ROOT, FD_FILE, FD_DIR) */
    uint64_t offset;     /* never above INT64_MAX */
} fd_entry;

/* argv or environ, laid out as the guest will see it. */
typedef struct strvec {
    uint32_t count;
    uint32_t buf_size;
    uint32_t *offsets;
    char *buf;
} strvec;

struct eryx__wasi {
    eryx__vfs *vfs;
    eryx__wasi_io io;
    strvec args, env;
    bool exited;
    int exit_code;
    fd_entry fds[ERYX__WASI_MAX_FDS];
};

/* ---- guest memory ------------------------------------------------------------- */

static bool mem_range(eryx__guest_mem m, uint32_t ptr, uint64_t len) {
    if (!m.base)
        return false;
    return (uint64_t)ptr <= (uint64_t)m.len && len <= (uint64_t)m.len - ptr;
}

/* Only after mem_range(m, ptr, ...) succeeded. */
static uint8_t *gptr(eryx__guest_mem m, uint32_t ptr) { return m.base + ptr; }

static void put_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get_u32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static bool store(eryx__guest_mem m, uint32_t ptr, const void *src, size_t len) {
    if (!mem_range(m, ptr, len))
        return false;
    if (len)
        memcpy(gptr(m, ptr), src, len);
    return true;
}
static bool store_u32(eryx__guest_mem m, uint32_t ptr, uint32_t v) {
    uint8_t b[4];
    put_u32(b, v);
    return store(m, ptr, b, sizeof b);
}
static bool store_u64(eryx__guest_mem m, uint32_t ptr, uint64_t v) {
    uint8_t b[8];
    put_u64(b, v);
    return store(m, ptr, b, sizeof b);
}

#define A32(i) ((uint32_t)args[i])
#define A64(i) (args[i])

/* ---- fds ---------------------------------------------------------------------- */

static fd_entry *fd_get(eryx__wasi *w, uint32_t fd) {
    if (fd >= ERYX__WASI_MAX_FDS || w->fds[fd].kind == FD_FREE)
        return NULL;
    return &w->fds[fd];
}

static bool is_stdio(const fd_entry *e) { return e->kind == FD_STDIN || e->kind == FD_STDOUT || e->kind == FD_STDERR; }
static bool is_dir(const fd_entry *e) { return e->kind == FD_ROOT || e->kind == FD_DIR; }

static void fd_release(fd_entry *e) {
    if (e->file && e->file->ops && e->file->ops->close)
        e->file->ops->close(e->file);
    free(e->path);
    memset(e, 0, sizeof *e);
}

static eryx__errno entry_stat(eryx__wasi *w, fd_entry *e, eryx__vfs_stat *st) {
    memset(st, 0, sizeof *st);
    if (e->file && e->file->ops->fstat)
        return e->file->ops->fstat(e->file, st);
    if (!w->vfs || !e->path)
        return ERYX__WASI_EBADF;
    return eryx__vfs_stat_path(w->vfs, e->path, true, st);
}

/* Resolves (dirfd, guest path) to an absolute normalized guest path in out. */
static eryx__errno guest_path(eryx__wasi *w, eryx__guest_mem m, uint32_t dirfd, uint32_t ptr, uint32_t len,
                             char out[PATH_CAP]) {
    fd_entry *e = fd_get(w, dirfd);
    if (!e)
        return ERYX__WASI_EBADF;
    if (!is_dir(e))
        return ERYX__WASI_ENOTDIR;
    if (len > PATH_MAX_LEN)
        return ERYX__WASI_ENAMETOOLONG;
    if (!mem_range(m, ptr, len))
        return ERYX__WASI_EFAULT;
    if (len == 0)
        return ERYX__WASI_ENOENT; /* POSIX: the empty path names nothing */
    if (!w->vfs)
        return ERYX__WASI_ENOENT;
    return eryx__vfs_join(e->path, (const char *)gptr(m, ptr), len, out, PATH_CAP);
}

/* ---- args and environ --------------------------------------------------------- */

static bool strvec_init(strvec *v, int n, const char *const *s) {
    memset(v, 0, sizeof *v);
    if (n <= 0)
        return true;
    if (!s || (uint64_t)n > UINT32_MAX / 4)
        return false;
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        if (!s[i])
            return false;
        total += strlen(s[i]) + 1;
        if (total > UINT32_MAX)
            return false;
    }
    v->offsets = malloc((size_t)n * sizeof *v->offsets);
    v->buf = malloc((size_t)total);
    if (!v->offsets || !v->buf) {
        free(v->offsets);
        free(v->buf);
        memset(v, 0, sizeof *v);
        return false;
    }
    uint32_t off = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(s[i]) + 1;
        v->offsets[i] = off;
        memcpy(v->buf + off, s[i], l);
        off += (uint32_t)l;
    }
    v->count = (uint32_t)n;
    v->buf_size = off;
    return true;
}

static void strvec_free(strvec *v) {
    free(v->offsets);
    free(v->buf);
    memset(v, 0, sizeof *v);
}

static int32_t strvec_sizes(const strvec *v, eryx__guest_mem m, uint32_t count_ptr, uint32_t size_ptr) {
    if (!mem_range(m, count_ptr, 4) || !mem_range(m, size_ptr, 4))
        return ERYX__WASI_EFAULT;
    store_u32(m, count_ptr, v->count);
    store_u32(m, size_ptr, v->buf_size);
    return 0;
}

/* WASI layout: an array of count u32 pointers, and the NUL-terminated strings. */
static int32_t strvec_get(const strvec *v, eryx__guest_mem m, uint32_t ptrs, uint32_t buf) {
    if (!mem_range(m, ptrs, (uint64_t)v->count * 4) || !mem_range(m, buf, v->buf_size))
        return ERYX__WASI_EFAULT;
    for (uint32_t i = 0; i < v->count; i++) {
        /* buf + offset < m.len <= 2^32: no wrap. */
        uint8_t b[4];
        put_u32(b, (uint32_t)((uint64_t)buf + v->offsets[i]));
        memcpy(gptr(m, ptrs + 4 * i), b, 4);
    }
    if (v->buf_size)
        memcpy(gptr(m, buf), v->buf, v->buf_size);
    return 0;
}

static int32_t wasi_args_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    return strvec_get(&w->args, m, A32(0), A32(1));
}
static int32_t wasi_args_sizes_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    return strvec_sizes(&w->args, m, A32(0), A32(1));
}
static int32_t wasi_environ_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    return strvec_get(&w->env, m, A32(0), A32(1));
}
static int32_t wasi_environ_sizes_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    return strvec_sizes(&w->env, m, A32(0), A32(1));
}

/* ---- clocks, random, process -------------------------------------------------- */

static eryx__errno host_clock(uint32_t id, clockid_t *out) {
    switch (id) {
    case ERYX__WASI_CLOCK_REALTIME: *out = CLOCK_REALTIME; return 0;
    case ERYX__WASI_CLOCK_MONOTONIC: *out = CLOCK_MONOTONIC; return 0;
    /* The host process runs many sandboxes: the calling thread's CPU time is the
    ** guest's own. */
    case ERYX__WASI_CLOCK_PROCESS_CPUTIME:
    case ERYX__WASI_CLOCK_THREAD_CPUTIME: *out = CLOCK_THREAD_CPUTIME_ID; return 0;
    default: return ERYX__WASI_EINVAL;
    }
}

static eryx__errno timespec_ns(const struct timespec *ts, uint64_t *ns) {
    if (ts->tv_sec < 0 || ts->tv_nsec < 0 || (uint64_t)ts->tv_sec > UINT64_MAX / 1000000000u - 1)
        return ERYX__WASI_EOVERFLOW;
    *ns = (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
    return 0;
}

static eryx__errno clock_now(uint32_t id, uint64_t *ns) {
    clockid_t c;
    eryx__errno err = host_clock(id, &c);
    if (err)
        return err;
    struct timespec ts;
    if (clock_gettime(c, &ts) != 0)
        return ERYX__WASI_EIO;
    return timespec_ns(&ts, ns);
}

static int32_t wasi_clock_res_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)w;
    clockid_t c;
    eryx__errno err = host_clock(A32(0), &c);
    if (err)
        return err;
    if (!mem_range(m, A32(1), 8))
        return ERYX__WASI_EFAULT;
    struct timespec ts;
    uint64_t ns;
    if (clock_getres(c, &ts) != 0)
        return ERYX__WASI_EIO;
    if ((err = timespec_ns(&ts, &ns)))
        return err;
    store_u64(m, A32(1), ns);
    return 0;
}

static int32_t wasi_clock_time_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)w; /* args[1], the precision, is a hint */
    uint64_t ns;
    eryx__errno err = clock_now(A32(0), &ns);
    if (err)
        return err;
    if (!store_u64(m, A32(2), ns))
        return ERYX__WASI_EFAULT;
    return 0;
}

static int32_t wasi_random_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)w;
    uint32_t buf = A32(0), len = A32(1);
    if (!mem_range(m, buf, len))
        return ERYX__WASI_EFAULT;
    size_t done = 0;
    while (done < len) {
        size_t chunk = len - done;
        if (chunk > (1u << 20))
            chunk = 1u << 20;
        ssize_t r = getrandom(gptr(m, buf) + done, chunk, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return ERYX__WASI_EIO;
        done += (size_t)r;
    }
    return 0;
}

static int32_t wasi_proc_exit(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)m;
    uint32_t v = A32(0);
    w->exited = true;
    /* The u32 status as the host's int, without relying on out-of-range conversion. */
    w->exit_code = v <= INT32_MAX ? (int)v : -(int)(~v) - 1;
    return ERYX__WASI_STOP;
}

static int32_t wasi_sched_yield(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)w, (void)m, (void)args;
    return 0;
}

/* The guest has no network. */
static int32_t wasi_sock_unsupported(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)w, (void)m, (void)args;
    return ERYX__WASI_ENOTSUP;
}

/* ---- reads and writes --------------------------------------------------------- */

typedef struct giov {
    uint32_t buf, len;
} giov;

/* Loads and checks an iovec array: every buffer must lie inside guest memory. */
static eryx__errno load_iovs(eryx__guest_mem m, uint32_t iovs, uint32_t n, giov *out) {
    if (n > MAX_IOVS)
        return ERYX__WASI_EINVAL;
    if (!mem_range(m, iovs, (uint64_t)n * ERYX__WASI_IOVEC_SIZE))
        return ERYX__WASI_EFAULT;
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = gptr(m, iovs + i * ERYX__WASI_IOVEC_SIZE);
        out[i].buf = get_u32(p);
        out[i].len = get_u32(p + 4);
        if (!mem_range(m, out[i].buf, out[i].len))
            return ERYX__WASI_EFAULT;
        total += out[i].len;
    }
    /* The count goes back as a u32 (overlapping buffers could sum past it). */
    if (total > UINT32_MAX)
        return ERYX__WASI_EINVAL;
    return 0;
}

static eryx__errno do_read(eryx__wasi *w, eryx__guest_mem m, uint32_t fd, uint32_t iovs, uint32_t n, bool positional,
                          uint64_t pos, uint32_t nread_ptr) {
    fd_entry *e = fd_get(w, fd);
    if (!e)
        return ERYX__WASI_EBADF;
    giov iov[MAX_IOVS];
    eryx__errno err = load_iovs(m, iovs, n, iov);
    if (err)
        return err;
    if (!mem_range(m, nread_ptr, 4))
        return ERYX__WASI_EFAULT;
    uint64_t done = 0;
    switch (e->kind) {
    case FD_STDIN:
        if (positional)
            return ERYX__WASI_ESPIPE;
        /* One host read at most: a second could block on an interactive stdin
        ** although data was already returned. */
        for (uint32_t i = 0; i < n && w->io.read_stdin; i++) {
            if (iov[i].len == 0)
                continue;
            ptrdiff_t r = w->io.read_stdin(w->io.user, gptr(m, iov[i].buf), iov[i].len);
            if (r < 0 || (uint64_t)r > iov[i].len)
                return ERYX__WASI_EIO;
            done = (uint64_t)r;
            break;
        }
        break;
    case FD_STDOUT:
    case FD_STDERR: return ERYX__WASI_EBADF;
    case FD_ROOT:
    case FD_DIR: return ERYX__WASI_EISDIR;
    default: {
        eryx__vfs_file *f = e->file;
        if (!(f->flags & ERYX__VFS_O_READ) || !f->ops->pread)
            return ERYX__WASI_EBADF;
        if (positional && pos > INT64_MAX)
            return ERYX__WASI_EINVAL;
        uint64_t off = positional ? pos : e->offset;
        for (uint32_t i = 0; i < n; i++) {
            if (iov[i].len == 0)
                continue;
            size_t got = 0;
            err = f->ops->pread(f, gptr(m, iov[i].buf), iov[i].len, off + done, &got);
            if (err) {
                if (done)
                    break; /* report the bytes already read */
                return err;
            }
            if (got > iov[i].len)
                return ERYX__WASI_EIO;
            done += got;
            if (got < iov[i].len)
                break;
        }
        if (!positional)
            e->offset = off + done;
    }
    }
    store_u32(m, nread_ptr, (uint32_t)done);
    return 0;
}

static eryx__errno do_write(eryx__wasi *w, eryx__guest_mem m, uint32_t fd, uint32_t iovs, uint32_t n, bool positional,
                           uint64_t pos, uint32_t nwritten_ptr) {
    fd_entry *e = fd_get(w, fd);
    if (!e)
        return ERYX__WASI_EBADF;
    giov iov[MAX_IOVS];
    eryx__errno err = load_iovs(m, iovs, n, iov);
    if (err)
        return err;
    if (!mem_range(m, nwritten_ptr, 4))
        return ERYX__WASI_EFAULT;
    uint64_t done = 0;
    switch (e->kind) {
    case FD_STDOUT:
    case FD_STDERR: {
        if (positional)
            return ERYX__WASI_ESPIPE;
        int hostfd = e->kind == FD_STDOUT ? 1 : 2;
        for (uint32_t i = 0; i < n; i++) {
            if (iov[i].len == 0)
                continue;
            if (w->io.write_output) {
                err = w->io.write_output(w->io.user, hostfd, gptr(m, iov[i].buf), iov[i].len);
                if (err) {
                    if (done)
                        break;
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
    default: {
        eryx__vfs_file *f = e->file;
        if (!(f->flags & ERYX__VFS_O_WRITE) || !f->ops->pwrite)
            return ERYX__WASI_EBADF;
        uint64_t off;
        if (positional) {
            off = pos;
        } else if (e->fdflags & ERYX__WASI_FDFLAG_APPEND) {
            /* APPEND is kept here, not in the backend, so fd_fdstat_set_flags can
            ** toggle it. */
            eryx__vfs_stat st;
            if ((err = entry_stat(w, e, &st)))
                return err;
            off = st.size;
        } else {
            off = e->offset;
        }
        uint64_t total = 0;
        for (uint32_t i = 0; i < n; i++)
            total += iov[i].len;
        if (off > INT64_MAX || total > INT64_MAX - off)
            return ERYX__WASI_EFBIG;
        for (uint32_t i = 0; i < n; i++) {
            if (iov[i].len == 0)
                continue;
            size_t put = 0;
            err = f->ops->pwrite(f, gptr(m, iov[i].buf), iov[i].len, off + done, &put);
            if (err) {
                if (done)
                    break;
                return err;
            }
            if (put > iov[i].len)
                return ERYX__WASI_EIO;
            done += put;
            if (put < iov[i].len)
                break;
        }
        if (!positional)
            e->offset = off + done;
    }
    }
    store_u32(m, nwritten_ptr, (uint32_t)done);
    return 0;
}

static int32_t wasi_fd_read(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    return do_read(w, m, A32(0), A32(1), A32(2), false, 0, A32(3));
}
static int32_t wasi_fd_pread(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    return do_read(w, m, A32(0), A32(1), A32(2), true, A64(3), A32(4));
}
static int32_t wasi_fd_write(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    return do_write(w, m, A32(0), A32(1), A32(2), false, 0, A32(3));
}
static int32_t wasi_fd_pwrite(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    return do_write(w, m, A32(0), A32(1), A32(2), true, A64(3), A32(4));
}

static int32_t wasi_fd_seek(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    fd_entry *e = fd_get(w, A32(0));
    uint64_t raw = A64(1);
    uint32_t whence = A32(2), out = A32(3);
    if (!e)
        return ERYX__WASI_EBADF;
    if (is_stdio(e))
        return ERYX__WASI_ESPIPE;
    if (whence > ERYX__WASI_WHENCE_END)
        return ERYX__WASI_EINVAL;
    if (!mem_range(m, out, 8))
        return ERYX__WASI_EFAULT;
    uint64_t base = 0;
    if (whence == ERYX__WASI_WHENCE_CUR) {
        base = e->offset;
    } else if (whence == ERYX__WASI_WHENCE_END) {
        eryx__vfs_stat st;
        eryx__errno err = entry_stat(w, e, &st);
        if (err)
            return err;
        base = st.size;
        if (base > INT64_MAX)
            return ERYX__WASI_EOVERFLOW;
    }
    /* raw is a two's-complement i64: split it into sign and magnitude. */
    uint64_t result;
    if (raw >> 63) {
        uint64_t mag = ~raw + 1;
        if (mag > base)
            return ERYX__WASI_EINVAL;
        result = base - mag;
    } else {
        if (raw > INT64_MAX - base)
            return ERYX__WASI_EOVERFLOW;
        result = base + raw;
    }
    e->offset = result;
    store_u64(m, out, result);
    return 0;
}

static int32_t wasi_fd_tell(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    fd_entry *e = fd_get(w, A32(0));
    if (!e)
        return ERYX__WASI_EBADF;
    if (is_stdio(e))
        return ERYX__WASI_ESPIPE;
    if (!store_u64(m, A32(1), e->offset))
        return ERYX__WASI_EFAULT;
    return 0;
}

/* ---- fd metadata -------------------------------------------------------------- */

static int32_t wasi_fd_close(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)m;
    fd_entry *e = fd_get(w, A32(0));
    if (!e)
        return ERYX__WASI_EBADF;
    if (e->kind == FD_ROOT)
        return ERYX__WASI_ENOTSUP; /* the guest's libc resolves every path through it */
    fd_release(e);
    return 0;
}

static int32_t wasi_fd_sync(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)m;
    fd_entry *e = fd_get(w, A32(0));
    if (!e)
        return ERYX__WASI_EBADF;
    if (e->kind == FD_FILE && e->file->ops->sync)
        return e->file->ops->sync(e->file);
    return 0;
}

static int32_t wasi_fd_advise(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)m;
    if (!fd_get(w, A32(0)))
        return ERYX__WASI_EBADF;
    if (A32(3) > 5) /* advice: normal .. noreuse */
        return ERYX__WASI_EINVAL;
    return 0; /* a hint only */
}

static uint8_t entry_filetype(const fd_entry *e) {
    if (is_stdio(e))
        return ERYX__WASI_FILETYPE_CHARACTER_DEVICE;
    if (is_dir(e))
        return ERYX__WASI_FILETYPE_DIRECTORY;
    return e->filetype;
}

static int32_t wasi_fd_fdstat_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    fd_entry *e = fd_get(w, A32(0));
    if (!e)
        return ERYX__WASI_EBADF;
    uint8_t b[ERYX__WASI_FDSTAT_SIZE] = {0};
    b[0] = entry_filetype(e);
    put_u16(b + 2, e->fdflags);
    /* Every right, stdio included: with FD_SEEK and FD_TELL present, wasi-libc's
    ** isatty() is false, so stdout is block-buffered (the host flushes). */
    put_u64(b + 8, ERYX__WASI_RIGHTS_ALL);
    put_u64(b + 16, ERYX__WASI_RIGHTS_ALL);
    if (!store(m, A32(1), b, sizeof b))
        return ERYX__WASI_EFAULT;
    return 0;
}

static int32_t wasi_fd_fdstat_set_flags(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)m;
    fd_entry *e = fd_get(w, A32(0));
    uint32_t flags = A32(1);
    if (!e)
        return ERYX__WASI_EBADF;
    if (flags & ~(uint32_t)ERYX__WASI_FDFLAG_APPEND)
        return ERYX__WASI_ENOTSUP;
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

static int32_t wasi_fd_filestat_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    fd_entry *e = fd_get(w, A32(0));
    uint32_t out = A32(1);
    if (!e)
        return ERYX__WASI_EBADF;
    if (!mem_range(m, out, ERYX__WASI_FILESTAT_SIZE))
        return ERYX__WASI_EFAULT;
    eryx__vfs_stat st;
    if (is_stdio(e)) {
        memset(&st, 0, sizeof st);
        st.type = ERYX__WASI_FILETYPE_CHARACTER_DEVICE;
        st.nlink = 1;
    } else {
        eryx__errno err = entry_stat(w, e, &st);
        if (err)
            return err;
    }
    store_filestat(m, out, &st);
    return 0;
}

static int32_t wasi_fd_filestat_set_size(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)m;
    fd_entry *e = fd_get(w, A32(0));
    uint64_t size = A64(1);
    if (!e)
        return ERYX__WASI_EBADF;
    if (is_dir(e))
        return ERYX__WASI_EISDIR;
    if (e->kind != FD_FILE)
        return ERYX__WASI_EINVAL;
    if (!(e->file->flags & ERYX__VFS_O_WRITE))
        return ERYX__WASI_EBADF;
    if (size > INT64_MAX)
        return ERYX__WASI_EINVAL;
    if (!e->file->ops->truncate)
        return ERYX__WASI_ENOTSUP;
    return e->file->ops->truncate(e->file, size);
}

static eryx__errno check_fstflags(uint32_t fst) {
    if (fst & ~(uint32_t)FST_ALL)
        return ERYX__WASI_EINVAL;
    if ((fst & ERYX__WASI_FST_ATIM) && (fst & ERYX__WASI_FST_ATIM_NOW))
        return ERYX__WASI_EINVAL;
    if ((fst & ERYX__WASI_FST_MTIM) && (fst & ERYX__WASI_FST_MTIM_NOW))
        return ERYX__WASI_EINVAL;
    return 0;
}

/* Setting times is accepted and ignored: the VFS has no settable times, and
** failing would break os.utime() callers (shutil.copystat, tarfile) for nothing. */
static int32_t wasi_fd_filestat_set_times(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)m;
    if (!fd_get(w, A32(0)))
        return ERYX__WASI_EBADF;
    return check_fstflags(A32(3));
}

static int32_t wasi_fd_prestat_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    fd_entry *e = fd_get(w, A32(0));
    /* Only fd 3 is a preopen: EBADF elsewhere ends the guest libc's scan. */
    if (!e || e->kind != FD_ROOT)
        return ERYX__WASI_EBADF;
    uint8_t b[ERYX__WASI_PRESTAT_SIZE] = {0};
    b[0] = ERYX__WASI_PREOPENTYPE_DIR;
    put_u32(b + 4, 1); /* strlen("/") */
    if (!store(m, A32(1), b, sizeof b))
        return ERYX__WASI_EFAULT;
    return 0;
}

static int32_t wasi_fd_prestat_dir_name(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    fd_entry *e = fd_get(w, A32(0));
    if (!e || e->kind != FD_ROOT)
        return ERYX__WASI_EBADF;
    if (A32(2) < 1)
        return ERYX__WASI_ENAMETOOLONG;
    if (!store(m, A32(1), "/", 1))
        return ERYX__WASI_EFAULT;
    return 0;
}

static int32_t wasi_fd_readdir(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    fd_entry *e = fd_get(w, A32(0));
    uint32_t buf = A32(1), buf_len = A32(2), used_ptr = A32(4);
    uint64_t cookie = A64(3);
    if (!e)
        return ERYX__WASI_EBADF;
    if (!is_dir(e))
        return ERYX__WASI_ENOTDIR;
    if (!mem_range(m, buf, buf_len) || !mem_range(m, used_ptr, 4))
        return ERYX__WASI_EFAULT;
    eryx__vfs_file *f = e->file;
    eryx__errno err = 0;
    if (!f) {
        /* fd 3 keeps no open file: "/" may be an implicit directory of the mount
        ** table, opened per call (readdir cookies are stateless). */
        if (!w->vfs)
            return ERYX__WASI_EBADF;
        if ((err = eryx__vfs_open(w->vfs, e->path, ERYX__VFS_O_READ | ERYX__VFS_O_DIRECTORY, &f)))
            return err;
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
            if ((err = f->ops->readdir(f, cookie, &d, &end)) || end)
                break;
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
            if (n)
                memcpy(gptr(m, (uint32_t)(buf + used)), d.name, n);
            used += n;
            cookie = d.next;
        }
    }
    if (f != e->file && f->ops->close)
        f->ops->close(f);
    if (err && used == 0)
        return err;
    store_u32(m, used_ptr, (uint32_t)used);
    return 0;
}

/* ---- paths -------------------------------------------------------------------- */

static int32_t wasi_path_open(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    uint32_t dirfd = A32(0), lookup = A32(1), ptr = A32(2), len = A32(3), oflags = A32(4);
    uint64_t rights = A64(5); /* args[6], rights_inheriting, is not used: fds report all rights */
    uint32_t fdflags = A32(7), fd_ptr = A32(8);
    if ((oflags & ~(uint32_t)OFLAGS_ALL) || (fdflags & ~(uint32_t)FDFLAGS_ALL))
        return ERYX__WASI_EINVAL;
    char path[PATH_CAP];
    eryx__errno err = guest_path(w, m, dirfd, ptr, len, path);
    if (err)
        return err;
    if (!mem_range(m, fd_ptr, 4))
        return ERYX__WASI_EFAULT;
    uint32_t fd = FIRST_GUEST_FD;
    while (fd < ERYX__WASI_MAX_FDS && w->fds[fd].kind != FD_FREE)
        fd++;
    if (fd == ERYX__WASI_MAX_FDS)
        return ERYX__WASI_EMFILE;

    /* wasi-libc asks for FD_WRITE exactly for O_WRONLY / O_RDWR (O_RDONLY leaves it
    ** out), so a read-only open of a read-only mount does not ask for writing. */
    bool want_write = (oflags & (ERYX__WASI_O_CREAT | ERYX__WASI_O_TRUNC)) || (fdflags & ERYX__WASI_FDFLAG_APPEND) ||
                      (rights & RIGHT_FD_WRITE);
    bool want_read = (rights & (RIGHT_FD_READ | RIGHT_FD_READDIR)) || !want_write;
    uint32_t flags = 0;
    if (want_read)
        flags |= ERYX__VFS_O_READ;
    if (want_write)
        flags |= ERYX__VFS_O_WRITE;
    if (oflags & ERYX__WASI_O_CREAT)
        flags |= ERYX__VFS_O_CREAT;
    if (oflags & ERYX__WASI_O_EXCL)
        flags |= ERYX__VFS_O_EXCL;
    if (oflags & ERYX__WASI_O_TRUNC)
        flags |= ERYX__VFS_O_TRUNC;
    if (oflags & ERYX__WASI_O_DIRECTORY)
        flags |= ERYX__VFS_O_DIRECTORY;
    if (!(lookup & ERYX__WASI_LOOKUP_SYMLINK_FOLLOW))
        flags |= ERYX__VFS_O_NOFOLLOW;
    /* APPEND stays in this layer (see do_write). */

    eryx__vfs_file *f = NULL;
    if ((err = eryx__vfs_open(w->vfs, path, flags, &f)))
        return err;
    if (!f || !f->ops)
        return ERYX__WASI_EIO;
    eryx__vfs_stat st;
    memset(&st, 0, sizeof st);
    if (f->ops->fstat)
        err = f->ops->fstat(f, &st);
    else
        err = eryx__vfs_stat_path(w->vfs, path, !(flags & ERYX__VFS_O_NOFOLLOW), &st);
    if (!err && (oflags & ERYX__WASI_O_DIRECTORY) && st.type != ERYX__VFS_TYPE_DIR)
        err = ERYX__WASI_ENOTDIR;
    if (!err && st.type == ERYX__VFS_TYPE_DIR && want_write)
        err = ERYX__WASI_EISDIR;
    char *copy = err ? NULL : strdup(path);
    if (!err && !copy)
        err = ERYX__WASI_ENOMEM;
    if (err) {
        if (f->ops->close)
            f->ops->close(f);
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

static int32_t wasi_path_create_directory(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    char path[PATH_CAP];
    eryx__errno err = guest_path(w, m, A32(0), A32(1), A32(2), path);
    return err ? err : eryx__vfs_mkdir(w->vfs, path);
}

static int32_t wasi_path_remove_directory(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    char path[PATH_CAP];
    eryx__errno err = guest_path(w, m, A32(0), A32(1), A32(2), path);
    return err ? err : eryx__vfs_rmdir(w->vfs, path);
}

static int32_t wasi_path_unlink_file(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    char path[PATH_CAP];
    eryx__errno err = guest_path(w, m, A32(0), A32(1), A32(2), path);
    return err ? err : eryx__vfs_unlink(w->vfs, path);
}

static int32_t wasi_path_rename(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    char from[PATH_CAP], to[PATH_CAP];
    eryx__errno err = guest_path(w, m, A32(0), A32(1), A32(2), from);
    if (!err)
        err = guest_path(w, m, A32(3), A32(4), A32(5), to);
    return err ? err : eryx__vfs_rename(w->vfs, from, to);
}

static int32_t wasi_path_filestat_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    uint32_t out = A32(4);
    char path[PATH_CAP];
    eryx__errno err = guest_path(w, m, A32(0), A32(2), A32(3), path);
    if (err)
        return err;
    if (!mem_range(m, out, ERYX__WASI_FILESTAT_SIZE))
        return ERYX__WASI_EFAULT;
    eryx__vfs_stat st;
    memset(&st, 0, sizeof st);
    if ((err = eryx__vfs_stat_path(w->vfs, path, A32(1) & ERYX__WASI_LOOKUP_SYMLINK_FOLLOW, &st)))
        return err;
    store_filestat(m, out, &st);
    return 0;
}

/* Accepted and ignored once the path exists (see fd_filestat_set_times). */
static int32_t wasi_path_filestat_set_times(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    char path[PATH_CAP];
    eryx__errno err = guest_path(w, m, A32(0), A32(2), A32(3), path);
    if (err)
        return err;
    if ((err = check_fstflags(A32(6))))
        return err;
    eryx__vfs_stat st;
    return eryx__vfs_stat_path(w->vfs, path, A32(1) & ERYX__WASI_LOOKUP_SYMLINK_FOLLOW, &st);
}

static int32_t wasi_path_readlink(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    uint32_t buf = A32(3), buf_len = A32(4), used_ptr = A32(5);
    char path[PATH_CAP];
    eryx__errno err = guest_path(w, m, A32(0), A32(1), A32(2), path);
    if (err)
        return err;
    if (!mem_range(m, buf, buf_len) || !mem_range(m, used_ptr, 4))
        return ERYX__WASI_EFAULT;
    char target[PATH_CAP];
    size_t n = 0;
    if ((err = eryx__vfs_readlink(w->vfs, path, target, sizeof target, &n)))
        return err;
    if (n > sizeof target)
        n = sizeof target;
    if (n > buf_len)
        n = buf_len; /* readlink truncates silently */
    if (n)
        memcpy(gptr(m, buf), target, n);
    store_u32(m, used_ptr, (uint32_t)n);
    return 0;
}

/* The guest may not create links (symlinks could point anywhere in the VFS and
** hard links would alias across the byte cap). */
static int32_t wasi_path_link(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)w, (void)m, (void)args;
    return ERYX__WASI_ENOTSUP;
}
static int32_t wasi_path_symlink(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)w, (void)m, (void)args;
    return ERYX__WASI_ENOTSUP;
}

/* ---- poll_oneoff -------------------------------------------------------------- */

static eryx__errno default_sleep(uint64_t ns) {
    struct timespec req = {.tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u)}, rem;
    while (nanosleep(&req, &rem) != 0) {
        if (errno != EINTR)
            return ERYX__WASI_EINVAL;
        req = rem;
    }
    return 0;
}

typedef struct clock_sub {
    bool is_clock;
    uint64_t rel_ns;
} clock_sub;

static void put_event(uint8_t *ev, uint64_t userdata, uint16_t error, uint8_t type) {
    memset(ev, 0, ERYX__WASI_EVENT_SIZE);
    put_u64(ev + 0, userdata);
    put_u16(ev + 8, error);
    ev[10] = type;
}

static int32_t wasi_poll_oneoff(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    uint32_t in = A32(0), out = A32(1), n = A32(2), nev_ptr = A32(3);
    if (n == 0 || n > MAX_SUBSCRIPTIONS)
        return ERYX__WASI_EINVAL;
    if (!mem_range(m, in, (uint64_t)n * ERYX__WASI_SUBSCRIPTION_SIZE) ||
        !mem_range(m, out, (uint64_t)n * ERYX__WASI_EVENT_SIZE) || !mem_range(m, nev_ptr, 4))
        return ERYX__WASI_EFAULT;
    /* Events are built on the host and copied out last: out may overlap in. */
    uint8_t *events = malloc((size_t)n * ERYX__WASI_EVENT_SIZE);
    clock_sub *clocks = calloc(n, sizeof *clocks);
    if (!events || !clocks) {
        free(events);
        free(clocks);
        return ERYX__WASI_ENOMEM;
    }
    uint32_t nev = 0;
    bool have_clock = false;
    uint64_t min_ns = UINT64_MAX;
    eryx__errno err = 0;
    for (uint32_t i = 0; i < n && !err; i++) {
        const uint8_t *s = gptr(m, in + i * ERYX__WASI_SUBSCRIPTION_SIZE);
        uint64_t userdata = get_u64(s);
        uint8_t tag = s[8];
        if (tag == ERYX__WASI_EVENTTYPE_CLOCK) {
            uint32_t id = get_u32(s + 16);
            uint64_t timeout = get_u64(s + 24);
            uint16_t cflags = get_u16(s + 40);
            uint64_t now = 0;
            eryx__errno cerr = clock_now(id, &now);
            if (cerr) {
                put_event(events + nev++ * ERYX__WASI_EVENT_SIZE, userdata, cerr, tag);
                continue;
            }
            uint64_t rel = timeout;
            if (cflags & ERYX__WASI_SUBCLOCK_ABSTIME)
                rel = timeout > now ? timeout - now : 0;
            clocks[i].is_clock = true;
            clocks[i].rel_ns = rel;
            have_clock = true;
            if (rel < min_ns)
                min_ns = rel;
        } else if (tag == ERYX__WASI_EVENTTYPE_FD_READ || tag == ERYX__WASI_EVENTTYPE_FD_WRITE) {
            fd_entry *e = fd_get(w, get_u32(s + 16));
            bool ok = e && (e->kind == FD_FILE || (tag == ERYX__WASI_EVENTTYPE_FD_READ && e->kind == FD_STDIN) ||
                            (tag == ERYX__WASI_EVENTTYPE_FD_WRITE && (e->kind == FD_STDOUT || e->kind == FD_STDERR)));
            /* Ready at once (nbytes 0): reads and writes never wait on the VFS, and
            ** stdin/stdout are the host's to pace. */
            put_event(events + nev++ * ERYX__WASI_EVENT_SIZE, userdata, ok ? 0 : ERYX__WASI_EBADF, tag);
        } else {
            err = ERYX__WASI_EINVAL;
        }
    }
    if (!err && nev == 0 && have_clock && min_ns > 0) {
        /* Nothing ready: wait for the earliest clock. */
        err = w->io.sleep_ns ? w->io.sleep_ns(w->io.user, min_ns) : default_sleep(min_ns);
    }
    if (!err && have_clock) {
        /* The clocks that have fired: the earliest after a sleep, the expired ones
        ** when an fd event was ready first. */
        uint64_t limit = nev == 0 ? min_ns : 0;
        for (uint32_t i = 0; i < n; i++) {
            if (!clocks[i].is_clock || clocks[i].rel_ns > limit)
                continue;
            const uint8_t *s = gptr(m, in + i * ERYX__WASI_SUBSCRIPTION_SIZE);
            put_event(events + nev++ * ERYX__WASI_EVENT_SIZE, get_u64(s), 0, ERYX__WASI_EVENTTYPE_CLOCK);
        }
    }
    if (!err) {
        memcpy(gptr(m, out), events, (size_t)nev * ERYX__WASI_EVENT_SIZE);
        store_u32(m, nev_ptr, nev);
    }
    free(events);
    free(clocks);
    return err;
}

/* ---- the table and lifecycle -------------------------------------------------- */

const eryx__wasi_import eryx__wasi_imports[] = {
    {"args_get", "ii", 1, wasi_args_get},
    {"args_sizes_get", "ii", 1, wasi_args_sizes_get},
    {"environ_get", "ii", 1, wasi_environ_get},
    {"environ_sizes_get", "ii", 1, wasi_environ_sizes_get},
    {"clock_res_get", "ii", 1, wasi_clock_res_get},
    {"clock_time_get", "iIi", 1, wasi_clock_time_get},
    {"fd_advise", "iIIi", 1, wasi_fd_advise},
    {"fd_close", "i", 1, wasi_fd_close},
    {"fd_datasync", "i", 1, wasi_fd_sync},
    {"fd_fdstat_get", "ii", 1, wasi_fd_fdstat_get},
    {"fd_fdstat_set_flags", "ii", 1, wasi_fd_fdstat_set_flags},
    {"fd_filestat_get", "ii", 1, wasi_fd_filestat_get},
    {"fd_filestat_set_size", "iI", 1, wasi_fd_filestat_set_size},
    {"fd_filestat_set_times", "iIIi", 1, wasi_fd_filestat_set_times},
    {"fd_pread", "iiiIi", 1, wasi_fd_pread},
    {"fd_prestat_get", "ii", 1, wasi_fd_prestat_get},
    {"fd_prestat_dir_name", "iii", 1, wasi_fd_prestat_dir_name},
    {"fd_pwrite", "iiiIi", 1, wasi_fd_pwrite},
    {"fd_read", "iiii", 1, wasi_fd_read},
    {"fd_readdir", "iiiIi", 1, wasi_fd_readdir},
    {"fd_seek", "iIii", 1, wasi_fd_seek},
    {"fd_sync", "i", 1, wasi_fd_sync},
    {"fd_tell", "ii", 1, wasi_fd_tell},
    {"fd_write", "iiii", 1, wasi_fd_write},
    {"path_create_directory", "iii", 1, wasi_path_create_directory},
    {"path_filestat_get", "iiiii", 1, wasi_path_filestat_get},
    {"path_filestat_set_times", "iiiiIIi", 1, wasi_path_filestat_set_times},
    {"path_link", "iiiiiii", 1, wasi_path_link},
    {"path_open", "iiiiiIIii", 1, wasi_path_open},
    {"path_readlink", "iiiiii", 1, wasi_path_readlink},
    {"path_remove_directory", "iii", 1, wasi_path_remove_directory},
    {"path_rename", "iiiiii", 1, wasi_path_rename},
    {"path_symlink", "iiiii", 1, wasi_path_symlink},
    {"path_unlink_file", "iii", 1, wasi_path_unlink_file},
    {"poll_oneoff", "iiii", 1, wasi_poll_oneoff},
    {"proc_exit", "i", 0, wasi_proc_exit},
    {"sched_yield", "", 1, wasi_sched_yield},
    {"random_get", "ii", 1, wasi_random_get},
    {"sock_accept", "iii", 1, wasi_sock_unsupported},
    {"sock_recv", "iiiiii", 1, wasi_sock_unsupported},
    {"sock_send", "iiiii", 1, wasi_sock_unsupported},
    {"sock_shutdown", "ii", 1, wasi_sock_unsupported},
};
const size_t eryx__wasi_import_count = sizeof eryx__wasi_imports / sizeof eryx__wasi_imports[0];

const eryx__wasi_import *eryx__wasi_find_import(const char *name) {
    if (!name)
        return NULL;
    for (size_t i = 0; i < eryx__wasi_import_count; i++)
        if (strcmp(eryx__wasi_imports[i].name, name) == 0)
            return &eryx__wasi_imports[i];
    return NULL;
}

eryx__wasi *eryx__wasi_new(const eryx__wasi_config *config) {
    if (!config)
        return NULL;
    eryx__wasi *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->vfs = config->vfs;
    w->io = config->io;
    char *root = strdup("/");
    if (!root || !strvec_init(&w->args, config->argc, config->argv) ||
        !strvec_init(&w->env, config->envc, config->env)) {
        free(root);
        strvec_free(&w->args);
        strvec_free(&w->env);
        free(w);
        return NULL;
    }
    w->fds[0].kind = FD_STDIN;
    w->fds[1].kind = FD_STDOUT;
    w->fds[2].kind = FD_STDERR;
    w->fds[ROOT_FD].kind = FD_ROOT;
    w->fds[ROOT_FD].path = root;
    return w;
}

size_t eryx__wasi_guest_fd_count(const eryx__wasi *w) {
    size_t n = 0;
    for (size_t i = FIRST_GUEST_FD; w && i < ERYX__WASI_MAX_FDS; i++)
        n += w->fds[i].kind != FD_FREE;
    return n;
}

void eryx__wasi_close_guest_fds(eryx__wasi *w) {
    if (!w)
        return;
    for (size_t i = FIRST_GUEST_FD; i < ERYX__WASI_MAX_FDS; i++)
        if (w->fds[i].kind != FD_FREE)
            fd_release(&w->fds[i]);
}

void eryx__wasi_free(eryx__wasi *w) {
    if (!w)
        return;
    for (size_t i = 0; i < ERYX__WASI_MAX_FDS; i++)
        if (w->fds[i].kind != FD_FREE)
            fd_release(&w->fds[i]);
    strvec_free(&w->args);
    strvec_free(&w->env);
    free(w);
}

bool eryx__wasi_exited(const eryx__wasi *w, int *code) {
    if (!w || !w->exited)
        return false;
    if (code)
        *code = w->exit_code;
    return true;
}
