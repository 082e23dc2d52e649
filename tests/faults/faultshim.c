/* tests/faults/faultshim.c: an LD_PRELOAD shim that makes chosen libc calls fail, for
** the fault scripts (tests/faults/, docs/RELIABILITY.md). It owns nothing of eryx: it
** sits between the process and libc and counts the calls it is told to watch.
**
** Environment (read once, at load):
**   ERYX_FAULT_FN     comma-separated calls to watch: mmap, memfd_create, ftruncate,
**                     write (write, pwrite, writev), fallocate, open (open/openat for
**                     writing or creating), mkdir, rename
**   ERYX_FAULT_N      fail the Nth watched call (1-based); 0 or unset: fail none
**   ERYX_FAULT_MODE   once (default: only the Nth) or from (the Nth and every later one:
**                     a disk that stays full)
**   ERYX_FAULT_ERRNO  the errno to fail with: ENOMEM (default), EMFILE, ENOSPC, EROFS,
**                     EDQUOT, EIO
**   ERYX_FAULT_PATH   only calls on paths (or fds open on files) under this prefix
**                     count (the path-less mmap and memfd_create always count); unset:
**                     every call, but write-like calls only on regular files, so the
**                     process's stdout and pipes keep working
**   ERYX_FAULT_COUNT  a file to which the number of watched calls is written at exit
**                     (so a sweep knows how far N goes)
**   ERYX_FAULT_LOG    set: print one line to stderr per failure injected
**   ERYX_FAULT_ARM    set: count nothing until the process calls eryx_faultshim_arm()
**                     (a Python test arms it after its own start, through ctypes, so
**                     CPython's start-up mappings are not what fails)
** Mapping calls (mmap with MAP_FIXED over a reservation) are watched like any other;
** glibc's malloc calls its own internal mmap, not this one, so the heap is untouched. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum {
    W_MMAP = 1,
    W_MEMFD = 2,
    W_FTRUNCATE = 4,
    W_WRITE = 8,
    W_FALLOCATE = 16,
    W_OPEN = 32,
    W_MKDIR = 64,
    W_RENAME = 128
};

static unsigned watch;
static long fail_n;
static int mode_from;
static int fail_errno = ENOMEM;
static const char *prefix;
static size_t prefix_len;
static int do_log;
static atomic_long calls;
static atomic_int ready;
static atomic_int armed = 1;

void eryx_faultshim_arm(void);
void eryx_faultshim_arm(void) { atomic_store(&armed, 1); }

/* At load (a constructor), not at the first call: the ASan runtime maps memory
** before the environment is readable, and a lazy start then saw no ERYX_FAULT_*. */
__attribute__((constructor)) static void shim_init(void) {
    const char *fn = getenv("ERYX_FAULT_FN");
    if (fn) {
        static const struct {
            const char *name;
            unsigned bit;
        } names[] = {{"mmap", W_MMAP},   {"memfd_create", W_MEMFD},  {"ftruncate", W_FTRUNCATE},
                     {"write", W_WRITE}, {"fallocate", W_FALLOCATE}, {"open", W_OPEN},
                     {"mkdir", W_MKDIR}, {"rename", W_RENAME}};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            const char *p = strstr(fn, names[i].name);
            size_t n = strlen(names[i].name);
            if (p && (p == fn || p[-1] == ',') && (p[n] == 0 || p[n] == ',')) watch |= names[i].bit;
        }
    }
    const char *n = getenv("ERYX_FAULT_N");
    fail_n = n ? atol(n) : 0;
    const char *m = getenv("ERYX_FAULT_MODE");
    mode_from = m && strcmp(m, "from") == 0;
    const char *e = getenv("ERYX_FAULT_ERRNO");
    if (e) {
        static const struct {
            const char *name;
            int value;
        } errs[] = {{"ENOMEM", ENOMEM}, {"EMFILE", EMFILE}, {"ENOSPC", ENOSPC},
                    {"EROFS", EROFS},   {"EDQUOT", EDQUOT}, {"EIO", EIO}};
        for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++)
            if (strcmp(e, errs[i].name) == 0) fail_errno = errs[i].value;
    }
    prefix = getenv("ERYX_FAULT_PATH");
    prefix_len = prefix ? strlen(prefix) : 0;
    do_log = getenv("ERYX_FAULT_LOG") != NULL;
    if (getenv("ERYX_FAULT_ARM")) atomic_store(&armed, 0);
    atomic_store(&ready, 1);
}

__attribute__((destructor)) static void shim_fini(void) {
    const char *path = getenv("ERYX_FAULT_COUNT");
    if (!path) return;
    FILE *f = fopen(path, "w");
    if (!f) return;
    fprintf(f, "%ld\n", atomic_load(&calls));
    fclose(f);
}

static void *next(const char *name) { return dlsym(RTLD_NEXT, name); }

static int path_matches(const char *path) {
    if (!path) return 0;
    if (!prefix) return 1;
    return strncmp(path, prefix, prefix_len) == 0;
}

/* An fd counts when it is open on a file under the prefix (or, without one, on a
** regular file: stdout and pipes are left alone). */
static int fd_matches(int fd) {
    if (!prefix) {
        struct stat st;
        return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    }
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0) return 0;
    target[n] = 0;
    return path_matches(target);
}

/* Counts a watched call; nonzero when this one must fail (errno is then set). */
static int should_fail(unsigned what, const char *name) {
    if (!atomic_load(&ready)) return 0; /* before the constructor: not counted */
    if (!(watch & what) || !atomic_load(&armed)) return 0;
    long k = atomic_fetch_add(&calls, 1) + 1;
    if (fail_n <= 0 || k < fail_n || (!mode_from && k != fail_n)) return 0;
    if (do_log) {
        char msg[96];
        int len = snprintf(msg, sizeof msg, "faultshim: %s call #%ld fails with errno %d\n", name, k, fail_errno);
        ssize_t (*w)(int, const void *, size_t) = next("write");
        if (w && len > 0) (void)w(2, msg, (size_t)len);
    }
    errno = fail_errno;
    return 1;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    static void *(*real)(void *, size_t, int, int, int, off_t);
    if (!real) real = next("mmap");
    if (should_fail(W_MMAP, "mmap")) return MAP_FAILED;
    return real(addr, len, prot, flags, fd, off);
}
void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    return mmap(addr, len, prot, flags, fd, off);
}

int memfd_create(const char *name, unsigned flags) {
    static int (*real)(const char *, unsigned);
    if (!real) real = next("memfd_create");
    if (should_fail(W_MEMFD, "memfd_create")) return -1;
    return real(name, flags);
}

int ftruncate(int fd, off_t len) {
    static int (*real)(int, off_t);
    if (!real) real = next("ftruncate");
    if ((watch & W_FTRUNCATE) && (!prefix || fd_matches(fd)) && should_fail(W_FTRUNCATE, "ftruncate")) return -1;
    return real(fd, len);
}
int ftruncate64(int fd, off_t len) { return ftruncate(fd, len); }

static int write_fails(int fd, const char *name) {
    return (watch & W_WRITE) && fd > 2 && fd_matches(fd) && should_fail(W_WRITE, name);
}
ssize_t write(int fd, const void *buf, size_t n) {
    static ssize_t (*real)(int, const void *, size_t);
    if (!real) real = next("write");
    if (write_fails(fd, "write")) return -1;
    return real(fd, buf, n);
}
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real) real = next("pwrite");
    if (write_fails(fd, "pwrite")) return -1;
    return real(fd, buf, n, off);
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) { return pwrite(fd, buf, n, off); }
ssize_t writev(int fd, const struct iovec *iov, int cnt) {
    static ssize_t (*real)(int, const struct iovec *, int);
    if (!real) real = next("writev");
    if (write_fails(fd, "writev")) return -1;
    return real(fd, iov, cnt);
}

int fallocate(int fd, int m, off_t off, off_t len) {
    static int (*real)(int, int, off_t, off_t);
    if (!real) real = next("fallocate");
    if ((watch & W_FALLOCATE) && fd_matches(fd) && should_fail(W_FALLOCATE, "fallocate")) return -1;
    return real(fd, m, off, len);
}
int posix_fallocate(int fd, off_t off, off_t len) {
    static int (*real)(int, off_t, off_t);
    if (!real) real = next("posix_fallocate");
    if ((watch & W_FALLOCATE) && fd_matches(fd) && should_fail(W_FALLOCATE, "posix_fallocate")) return errno;
    return real(fd, off, len);
}

static int open_fails(const char *path, int flags, const char *name) {
    return (watch & W_OPEN) && (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) && path_matches(path) &&
           should_fail(W_OPEN, name);
}
int open(const char *path, int flags, ...) {
    static int (*real)(const char *, int, ...);
    if (!real) real = next("open");
    va_list ap;
    va_start(ap, flags);
    mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
    va_end(ap);
    if (open_fails(path, flags, "open")) return -1;
    return real(path, flags, mode);
}
int open64(const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
    va_end(ap);
    return open(path, flags, mode);
}
int openat(int dirfd, const char *path, int flags, ...) {
    static int (*real)(int, const char *, int, ...);
    if (!real) real = next("openat");
    va_list ap;
    va_start(ap, flags);
    mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
    va_end(ap);
    /* A relative path under a directory fd: checked by the fd's own path when a
    ** prefix is set, so writes inside the cache dir through an fd count too. */
    int hit = (watch & W_OPEN) && (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) &&
              (path[0] == '/' || dirfd == AT_FDCWD ? path_matches(path) : (!prefix || fd_matches(dirfd)));
    if (hit && should_fail(W_OPEN, "openat")) return -1;
    return real(dirfd, path, flags, mode);
}
int openat64(int dirfd, const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
    va_end(ap);
    return openat(dirfd, path, flags, mode);
}

int mkdir(const char *path, mode_t mode) {
    static int (*real)(const char *, mode_t);
    if (!real) real = next("mkdir");
    if ((watch & W_MKDIR) && path_matches(path) && should_fail(W_MKDIR, "mkdir")) return -1;
    return real(path, mode);
}

int rename(const char *from, const char *to) {
    static int (*real)(const char *, const char *);
    if (!real) real = next("rename");
    if ((watch & W_RENAME) && path_matches(to) && should_fail(W_RENAME, "rename")) return -1;
    return real(from, to);
}
int renameat(int fd1, const char *from, int fd2, const char *to) {
    static int (*real)(int, const char *, int, const char *);
    if (!real) real = next("renameat");
    if ((watch & W_RENAME) && (to[0] != '/' || path_matches(to)) && should_fail(W_RENAME, "renameat")) return -1;
    return real(fd1, from, fd2, to);
}
int mkdirat(int dirfd, const char *path, mode_t mode) {
    static int (*real)(int, const char *, mode_t);
    if (!real) real = next("mkdirat");
    int hit = (watch & W_MKDIR) &&
              (path[0] == '/' || dirfd == AT_FDCWD ? path_matches(path) : (!prefix || fd_matches(dirfd)));
    if (hit && should_fail(W_MKDIR, "mkdirat")) return -1;
    return real(dirfd, path, mode);
}
