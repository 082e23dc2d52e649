/* The shared fixture of the WASI host unit tests (test_wasi*.c): a plain buffer as
** guest memory framed by canary bytes that must never change, helpers to read and
** write it, a call-by-name wrapper over eryx__wasi_find_import(), capturing host I/O
** hooks, a tiny read-only vfs backend, and vfs/wasi constructors. Included by exactly
** one .c per test program: everything here is static, and a program may use only part. */
#ifndef ERYX_TEST_WASI_FIXTURE_H
#define ERYX_TEST_WASI_FIXTURE_H
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/vfs/vfs.h"
#include "../src/wasi/wasi.h"
#include "check.h"

/* Each program uses only some of the helpers below. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-const-variable"

enum { MEM_LEN = 65536, CANARY = 4096, CANARY_BYTE = 0xA5 };

/* Fixed places in guest memory used by the tests. */
enum {
    IOVS = 0x100, /* iovec arrays */
    OUT = 0x800,  /* result pointers (nread, fd, ...) */
    OUT2 = 0x810,
    DATA = 0x1000, /* read/write buffers */
    PATH = 0x3000, /* guest paths */
    PATH2 = 0x3800,
    BIG = 0x4000, /* larger buffers (readdir, poll) */
};

#define RIGHT_FD_DATASYNC ((uint64_t)1 << 0)
#define RIGHT_FD_READ ((uint64_t)1 << 1)
#define RIGHT_FD_SEEK ((uint64_t)1 << 2)
#define RIGHT_FD_TELL ((uint64_t)1 << 5)
#define RIGHT_FD_WRITE ((uint64_t)1 << 6)
#define RIGHT_FD_ALLOCATE ((uint64_t)1 << 8)
#define RIGHT_FD_READDIR ((uint64_t)1 << 14)
#define RIGHT_FD_FILESTAT_SET_SIZE ((uint64_t)1 << 22)
/* What wasi-libc asks for with O_RDONLY, O_WRONLY and O_RDWR. */
#define RIGHTS_WRITE_BITS (RIGHT_FD_DATASYNC | RIGHT_FD_WRITE | RIGHT_FD_ALLOCATE | RIGHT_FD_FILESTAT_SET_SIZE)
#define RIGHTS_RDONLY (ERYX__WASI_RIGHTS_ALL & ~RIGHTS_WRITE_BITS)
#define RIGHTS_WRONLY (ERYX__WASI_RIGHTS_ALL & ~(RIGHT_FD_READ | RIGHT_FD_READDIR))
#define RIGHTS_RDWR ERYX__WASI_RIGHTS_ALL
#define FOLLOW ERYX__WASI_LOOKUP_SYMLINK_FOLLOW

static uint8_t *raw;
static eryx__guest_mem mem;

static void mem_reset(void) {
    memset(raw, CANARY_BYTE, CANARY);
    memset(raw + CANARY, 0, MEM_LEN);
    memset(raw + CANARY + MEM_LEN, CANARY_BYTE, CANARY);
}

static int canaries_ok(void) {
    for (size_t i = 0; i < CANARY; i++)
        if (raw[i] != CANARY_BYTE || raw[CANARY + MEM_LEN + i] != CANARY_BYTE) return 0;
    return 1;
}

static void wr(uint32_t at, const void *p, size_t n) { memcpy(mem.base + at, p, n); }
static void wr32(uint32_t at, uint32_t v) {
    for (int i = 0; i < 4; i++) mem.base[at + i] = (uint8_t)(v >> (8 * i));
}
static void wr64(uint32_t at, uint64_t v) {
    for (int i = 0; i < 8; i++) mem.base[at + i] = (uint8_t)(v >> (8 * i));
}
static void wr16(uint32_t at, uint16_t v) {
    mem.base[at] = (uint8_t)v;
    mem.base[at + 1] = (uint8_t)(v >> 8);
}
static uint32_t rd32(uint32_t at) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | mem.base[at + i];
    return v;
}
static uint64_t rd64(uint32_t at) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | mem.base[at + i];
    return v;
}
static uint16_t rd16(uint32_t at) { return (uint16_t)(mem.base[at] | (mem.base[at + 1] << 8)); }
static uint32_t put_str(uint32_t at, const char *s) {
    size_t n = strlen(s);
    wr(at, s, n);
    return (uint32_t)n;
}
static void put_iov(uint32_t iovs, uint32_t i, uint32_t buf, uint32_t len) {
    wr32(iovs + 8 * i, buf);
    wr32(iovs + 8 * i + 4, len);
}

/* Calls an import by name; the argument count must match its signature. */
static int32_t call(eryx__wasi *w, const char *name, size_t n, const uint64_t *args) {
    const eryx__wasi_import *imp = eryx__wasi_find_import(name);
    CHECK(imp != NULL);
    if (!imp) return -1000;
    CHECK(strlen(imp->params) == n);
    uint64_t a[10] = {0};
    memcpy(a, args, n * sizeof *args);
    return imp->fn(w, mem, a);
}
#define ARGS(...) \
    (const uint64_t[]) { __VA_ARGS__ }
#define CALL(w, name, ...) call(w, name, sizeof(ARGS(__VA_ARGS__)) / sizeof(uint64_t), ARGS(__VA_ARGS__))

/* ---- host I/O hooks ---------------------------------------------------------- */

typedef struct io_capture {
    char out[8192];
    size_t out_len;
    int last_fd;
    int write_calls;
    uint16_t write_err; /* returned by write_output when set */
    const char *in;     /* stdin contents */
    size_t in_len, in_pos;
    int read_calls;
    uint64_t slept_ns;
    int sleep_calls;
    uint16_t sleep_err;
} io_capture;

static ptrdiff_t cap_read(void *user, void *buf, size_t len) {
    io_capture *c = user;
    c->read_calls++;
    size_t n = c->in_len - c->in_pos;
    if (n > len) n = len;
    memcpy(buf, c->in + c->in_pos, n);
    c->in_pos += n;
    return (ptrdiff_t)n;
}

static uint16_t cap_write(void *user, int fd, const void *buf, size_t len) {
    io_capture *c = user;
    c->write_calls++;
    if (c->write_err) return c->write_err;
    c->last_fd = fd;
    if (len > sizeof c->out - c->out_len) len = sizeof c->out - c->out_len;
    memcpy(c->out + c->out_len, buf, len);
    c->out_len += len;
    return 0;
}

static uint16_t cap_sleep(void *user, uint64_t ns) {
    io_capture *c = user;
    c->sleep_calls++;
    c->slept_ns = ns;
    return c->sleep_err;
}

/* ---- a tiny read-only backend: "hello" (a file), "lnk" (a symlink to it) ----- */

typedef struct fake_file {
    eryx__vfs_file base;
    bool dir;
} fake_file;

static const char fake_data[] = "hi there\n";

static eryx__errno fake_pread(eryx__vfs_file *f, void *buf, size_t len, uint64_t off, size_t *nread) {
    if (((fake_file *)f)->dir) return ERYX__WASI_EISDIR;
    size_t size = sizeof fake_data - 1;
    size_t n = off >= size ? 0 : size - (size_t)off;
    if (n > len) n = len;
    if (n) memcpy(buf, fake_data + off, n);
    *nread = n;
    return 0;
}

static void fake_fill_stat(bool dir, eryx__vfs_stat *st) {
    memset(st, 0, sizeof *st);
    st->type = dir ? ERYX__VFS_TYPE_DIR : ERYX__VFS_TYPE_REG;
    st->size = dir ? 0 : sizeof fake_data - 1;
    st->nlink = 1;
    st->ino = dir ? 1 : 2;
}

static eryx__errno fake_fstat(eryx__vfs_file *f, eryx__vfs_stat *st) {
    fake_fill_stat(((fake_file *)f)->dir, st);
    return 0;
}

static eryx__errno fake_readdir(eryx__vfs_file *f, uint64_t cookie, eryx__vfs_dirent *d, bool *end) {
    static const char *const names[] = {".", "..", "hello", "lnk"};
    static const uint8_t types[] = {ERYX__VFS_TYPE_DIR, ERYX__VFS_TYPE_DIR, ERYX__VFS_TYPE_REG, ERYX__VFS_TYPE_SYMLINK};
    if (!((fake_file *)f)->dir) return ERYX__WASI_ENOTDIR;
    *end = cookie >= 4;
    if (*end) return 0;
    d->name = names[cookie];
    d->name_len = strlen(names[cookie]);
    d->type = types[cookie];
    d->ino = cookie + 1;
    d->next = cookie + 1;
    return 0;
}

static void fake_close(eryx__vfs_file *f) { free(f); }

static const eryx__vfs_file_ops fake_ops = {
    .pread = fake_pread, .fstat = fake_fstat, .readdir = fake_readdir, .close = fake_close};

static eryx__errno fake_open(void *self, const char *path, uint32_t flags, eryx__vfs_file **out) {
    (void)self;
    bool dir = strcmp(path, "") == 0;
    if (!dir && strcmp(path, "hello") != 0 && strcmp(path, "lnk") != 0) return ERYX__WASI_ENOENT;
    if (strcmp(path, "lnk") == 0 && (flags & ERYX__VFS_O_NOFOLLOW)) return ERYX__WASI_ELOOP;
    if ((flags & ERYX__VFS_O_DIRECTORY) && !dir) return ERYX__WASI_ENOTDIR;
    if (flags & (ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT | ERYX__VFS_O_TRUNC)) return ERYX__WASI_EROFS;
    fake_file *f = calloc(1, sizeof *f);
    if (!f) return ERYX__WASI_ENOMEM;
    f->base.ops = &fake_ops;
    f->base.flags = flags;
    f->dir = dir;
    *out = &f->base;
    return 0;
}

static eryx__errno fake_stat(void *self, const char *path, bool follow, eryx__vfs_stat *st) {
    (void)self;
    if (strcmp(path, "lnk") == 0 && !follow) {
        fake_fill_stat(false, st);
        st->type = ERYX__VFS_TYPE_SYMLINK;
        return 0;
    }
    if (strcmp(path, "") != 0 && strcmp(path, "hello") != 0 && strcmp(path, "lnk") != 0) return ERYX__WASI_ENOENT;
    fake_fill_stat(strcmp(path, "") == 0, st);
    return 0;
}

static eryx__errno fake_readlink(void *self, const char *path, char *buf, size_t cap, size_t *len) {
    (void)self;
    if (strcmp(path, "lnk") != 0) return ERYX__WASI_EINVAL;
    size_t n = cap < 5 ? cap : 5;
    memcpy(buf, "hello", n);
    *len = n;
    return 0;
}

static void fake_destroy(void *self) { free(self); }

static const eryx__vfs_backend fake_backend = {
    .name = "fake", .open = fake_open, .stat = fake_stat, .readlink = fake_readlink, .destroy = fake_destroy};

/* ---- fixtures ------------------------------------------------------------------ */

/* A vfs with an in-memory /tmp (1 MiB cap) and the fake backend read-only at /ro. */
static eryx__vfs *make_vfs(void) {
    eryx__vfs *vfs = eryx__vfs_new();
    CHECK(vfs != NULL);
    if (!vfs) return NULL;
    void *tmp = eryx__vfs_mem_new(1 << 20, 0);
    CHECK(tmp != NULL);
    CHECK(eryx__vfs_mount(vfs, "/tmp", &eryx__vfs_mem_backend, tmp, false) == 0);
    CHECK(eryx__vfs_mount(vfs, "/ro", &fake_backend, malloc(1), true) == 0);
    return vfs;
}

static eryx__wasi *make_wasi(eryx__vfs *vfs, io_capture *cap) {
    eryx__wasi_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.vfs = vfs;
    if (cap) {
        cfg.io.read_stdin = cap_read;
        cfg.io.write_output = cap_write;
        cfg.io.sleep_ns = cap_sleep;
        cfg.io.user = cap;
    }
    eryx__wasi *w = eryx__wasi_new(&cfg);
    CHECK(w != NULL);
    return w;
}

static int32_t open_at(eryx__wasi *w, uint32_t dirfd, const char *path, uint32_t oflags, uint64_t rights,
                       uint32_t fdflags, uint32_t *fd) {
    uint32_t n = put_str(PATH, path);
    wr32(OUT, 0xDEADBEEF);
    int32_t r = CALL(w, "path_open", dirfd, FOLLOW, PATH, n, oflags, rights, rights, fdflags, OUT);
    *fd = rd32(OUT);
    return r;
}

static int32_t write_str(eryx__wasi *w, uint32_t fd, const char *s) {
    uint32_t n = put_str(DATA, s);
    put_iov(IOVS, 0, DATA, n);
    int32_t r = CALL(w, "fd_write", fd, IOVS, 1, OUT);
    if (r == 0) CHECK(rd32(OUT) == n);
    return r;
}

/* Reads up to cap bytes at the current offset into a NUL-terminated host string. */
static int32_t read_str(eryx__wasi *w, uint32_t fd, char *out, uint32_t cap) {
    put_iov(IOVS, 0, DATA, cap - 1);
    int32_t r = CALL(w, "fd_read", fd, IOVS, 1, OUT);
    uint32_t n = r == 0 ? rd32(OUT) : 0;
    if (n > cap - 1) n = cap - 1;
    memcpy(out, mem.base + DATA, n);
    out[n] = 0;
    return r;
}

static int32_t path_call(eryx__wasi *w, const char *name, uint32_t dirfd, const char *path) {
    uint32_t n = put_str(PATH, path);
    return CALL(w, name, dirfd, PATH, n);
}

/* Allocates the guest memory with its canaries (call first in main); 0 on success. */
static int wasi_mem_open(void) {
    raw = malloc(CANARY + MEM_LEN + CANARY);
    if (!raw) return 1;
    mem.base = raw + CANARY;
    mem.len = MEM_LEN;
    mem_reset();
    return 0;
}

static void wasi_mem_close(void) { free(raw); }

#pragma GCC diagnostic pop
#endif
