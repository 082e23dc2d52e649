/* Unit tests of the WASI host (src/wasi/wasi.c): every import is driven through
** eryx__wasi_find_import() with a plain buffer as guest memory, framed by canary
** bytes that must never change, and with hostile pointers and lengths. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/vfs/vfs.h"
#include "../src/wasi/wasi.h"
#include "check.h"

enum { MEM_LEN = 65536, CANARY = 4096, CANARY_BYTE = 0xA5 };

/* Fixed places in guest memory used by the tests. */
enum {
    IOVS = 0x100,  /* iovec arrays */
    OUT = 0x800,   /* result pointers (nread, fd, ...) */
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
        if (raw[i] != CANARY_BYTE || raw[CANARY + MEM_LEN + i] != CANARY_BYTE)
            return 0;
    return 1;
}

static void wr(uint32_t at, const void *p, size_t n) { memcpy(mem.base + at, p, n); }
static void wr32(uint32_t at, uint32_t v) {
    for (int i = 0; i < 4; i++)
        mem.base[at + i] = (uint8_t)(v >> (8 * i));
}
static void wr64(uint32_t at, uint64_t v) {
    for (int i = 0; i < 8; i++)
        mem.base[at + i] = (uint8_t)(v >> (8 * i));
}
static void wr16(uint32_t at, uint16_t v) {
    mem.base[at] = (uint8_t)v;
    mem.base[at + 1] = (uint8_t)(v >> 8);
}
static uint32_t rd32(uint32_t at) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | mem.base[at + i];
    return v;
}
static uint64_t rd64(uint32_t at) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | mem.base[at + i];
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
    if (!imp)
        return -1000;
    CHECK(strlen(imp->params) == n);
    uint64_t a[10] = {0};
    memcpy(a, args, n * sizeof *args);
    return imp->fn(w, mem, a);
}
#define ARGS(...) (const uint64_t[]){__VA_ARGS__}
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
    if (n > len)
        n = len;
    memcpy(buf, c->in + c->in_pos, n);
    c->in_pos += n;
    return (ptrdiff_t)n;
}

static uint16_t cap_write(void *user, int fd, const void *buf, size_t len) {
    io_capture *c = user;
    c->write_calls++;
    if (c->write_err)
        return c->write_err;
    c->last_fd = fd;
    if (len > sizeof c->out - c->out_len)
        len = sizeof c->out - c->out_len;
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
    if (((fake_file *)f)->dir)
        return ERYX__WASI_EISDIR;
    size_t size = sizeof fake_data - 1;
    size_t n = off >= size ? 0 : size - (size_t)off;
    if (n > len)
        n = len;
    if (n)
        memcpy(buf, fake_data + off, n);
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
    if (!((fake_file *)f)->dir)
        return ERYX__WASI_ENOTDIR;
    *end = cookie >= 4;
    if (*end)
        return 0;
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
    if (!dir && strcmp(path, "hello") != 0 && strcmp(path, "lnk") != 0)
        return ERYX__WASI_ENOENT;
    if (strcmp(path, "lnk") == 0 && (flags & ERYX__VFS_O_NOFOLLOW))
        return ERYX__WASI_ELOOP;
    if ((flags & ERYX__VFS_O_DIRECTORY) && !dir)
        return ERYX__WASI_ENOTDIR;
    if (flags & (ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT | ERYX__VFS_O_TRUNC))
        return ERYX__WASI_EROFS;
    fake_file *f = calloc(1, sizeof *f);
    if (!f)
        return ERYX__WASI_ENOMEM;
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
    if (strcmp(path, "") != 0 && strcmp(path, "hello") != 0 && strcmp(path, "lnk") != 0)
        return ERYX__WASI_ENOENT;
    fake_fill_stat(strcmp(path, "") == 0, st);
    return 0;
}

static eryx__errno fake_readlink(void *self, const char *path, char *buf, size_t cap, size_t *len) {
    (void)self;
    if (strcmp(path, "lnk") != 0)
        return ERYX__WASI_EINVAL;
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
    if (!vfs)
        return NULL;
    void *tmp = eryx__vfs_mem_new(1 << 20);
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
    if (r == 0)
        CHECK(rd32(OUT) == n);
    return r;
}

/* Reads up to cap bytes at the current offset into a NUL-terminated host string. */
static int32_t read_str(eryx__wasi *w, uint32_t fd, char *out, uint32_t cap) {
    put_iov(IOVS, 0, DATA, cap - 1);
    int32_t r = CALL(w, "fd_read", fd, IOVS, 1, OUT);
    uint32_t n = r == 0 ? rd32(OUT) : 0;
    if (n > cap - 1)
        n = cap - 1;
    memcpy(out, mem.base + DATA, n);
    out[n] = 0;
    return r;
}

static int32_t path_call(eryx__wasi *w, const char *name, uint32_t dirfd, const char *path) {
    uint32_t n = put_str(PATH, path);
    return CALL(w, name, dirfd, PATH, n);
}

/* ---- tests --------------------------------------------------------------------- */

static void test_table(void) {
    static const struct {
        const char *name, *params;
        int nresults;
    } want[] = {
        {"args_get", "ii", 1}, {"args_sizes_get", "ii", 1}, {"environ_get", "ii", 1},
        {"environ_sizes_get", "ii", 1}, {"clock_res_get", "ii", 1}, {"clock_time_get", "iIi", 1},
        {"fd_advise", "iIIi", 1}, {"fd_close", "i", 1}, {"fd_datasync", "i", 1}, {"fd_fdstat_get", "ii", 1},
        {"fd_fdstat_set_flags", "ii", 1}, {"fd_filestat_get", "ii", 1}, {"fd_filestat_set_size", "iI", 1},
        {"fd_filestat_set_times", "iIIi", 1}, {"fd_pread", "iiiIi", 1}, {"fd_prestat_get", "ii", 1},
        {"fd_prestat_dir_name", "iii", 1}, {"fd_pwrite", "iiiIi", 1}, {"fd_read", "iiii", 1},
        {"fd_readdir", "iiiIi", 1}, {"fd_seek", "iIii", 1}, {"fd_sync", "i", 1}, {"fd_tell", "ii", 1},
        {"fd_write", "iiii", 1}, {"path_create_directory", "iii", 1}, {"path_filestat_get", "iiiii", 1},
        {"path_filestat_set_times", "iiiiIIi", 1}, {"path_link", "iiiiiii", 1}, {"path_open", "iiiiiIIii", 1},
        {"path_readlink", "iiiiii", 1}, {"path_remove_directory", "iii", 1}, {"path_rename", "iiiiii", 1},
        {"path_symlink", "iiiii", 1}, {"path_unlink_file", "iii", 1}, {"poll_oneoff", "iiii", 1},
        {"proc_exit", "i", 0}, {"sched_yield", "", 1}, {"random_get", "ii", 1}, {"sock_accept", "iii", 1},
        {"sock_recv", "iiiiii", 1}, {"sock_send", "iiiii", 1}, {"sock_shutdown", "ii", 1},
    };
    size_t nwant = sizeof want / sizeof want[0];
    CHECK(eryx__wasi_import_count == nwant);
    for (size_t i = 0; i < nwant; i++) {
        const eryx__wasi_import *imp = eryx__wasi_find_import(want[i].name);
        CHECK(imp != NULL);
        if (!imp)
            continue;
        CHECK_STR_EQ(imp->params, want[i].params);
        CHECK(imp->nresults == want[i].nresults);
        CHECK(imp->fn != NULL);
    }
    CHECK(eryx__wasi_find_import("fd_renumber") == NULL);
    CHECK(eryx__wasi_find_import("") == NULL);
    CHECK(eryx__wasi_find_import(NULL) == NULL);
}

static void test_args_environ(void) {
    static const char *const argv[] = {"python", "-c", "print('hi')"};
    static const char *const env[] = {"A=1", "PYTHONHASHSEED=0"};
    eryx__wasi_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.argc = 3;
    cfg.argv = argv;
    cfg.envc = 2;
    cfg.env = env;
    eryx__wasi *w = eryx__wasi_new(&cfg);
    CHECK(w != NULL);
    if (!w)
        return;
    mem_reset();
    CHECK(CALL(w, "args_sizes_get", OUT, OUT2) == 0);
    CHECK(rd32(OUT) == 3);
    CHECK(rd32(OUT2) == 7 + 3 + 12);
    CHECK(CALL(w, "args_get", IOVS, DATA) == 0);
    CHECK(rd32(IOVS) == DATA);
    CHECK(rd32(IOVS + 4) == DATA + 7);
    CHECK(rd32(IOVS + 8) == DATA + 10);
    CHECK(memcmp(mem.base + DATA, "python\0-c\0print('hi')\0", 22) == 0);
    CHECK(mem.base[DATA + 22] == 0);
    CHECK(CALL(w, "environ_sizes_get", OUT, OUT2) == 0);
    CHECK(rd32(OUT) == 2);
    CHECK(rd32(OUT2) == 4 + 17);
    CHECK(CALL(w, "environ_get", IOVS, BIG) == 0);
    CHECK(rd32(IOVS) == BIG);
    CHECK(rd32(IOVS + 4) == BIG + 4);
    CHECK(strcmp((char *)mem.base + BIG, "A=1") == 0);
    CHECK(strcmp((char *)mem.base + BIG + 4, "PYTHONHASHSEED=0") == 0);

    /* Hostile pointers: EFAULT and no byte written anywhere. */
    mem_reset();
    uint32_t L = MEM_LEN;
    CHECK(CALL(w, "args_sizes_get", L - 2, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "args_sizes_get", OUT, L) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "args_sizes_get", 0xFFFFFFF0u, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "args_get", L - 8, DATA) == ERYX__WASI_EFAULT); /* 3 pointers need 12 bytes */
    CHECK(CALL(w, "args_get", IOVS, L - 21) == ERYX__WASI_EFAULT); /* 22 bytes of strings */
    CHECK(CALL(w, "args_get", IOVS, 0xFFFFFFFFu) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "environ_get", 0xFFFFFFFCu, DATA) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "environ_sizes_get", OUT, 0xFFFFFFFEu) == ERYX__WASI_EFAULT);
    for (size_t i = 0; i < MEM_LEN; i++)
        if (mem.base[i]) {
            CHECK(!"a failing call wrote guest memory");
            break;
        }
    CHECK(canaries_ok());
    /* The exact end of memory is fine. */
    CHECK(CALL(w, "args_get", L - 12, L - 22) == 0);
    CHECK(CALL(w, "args_sizes_get", L - 4, L - 8) == 0);
    CHECK(canaries_ok());
    eryx__wasi_free(w);

    /* No arguments at all: zero sizes, and a zero-sized get anywhere in range. */
    memset(&cfg, 0, sizeof cfg);
    w = eryx__wasi_new(&cfg);
    CHECK(w != NULL);
    CHECK(CALL(w, "args_sizes_get", OUT, OUT2) == 0);
    CHECK(rd32(OUT) == 0 && rd32(OUT2) == 0);
    CHECK(CALL(w, "environ_get", L, L) == 0);
    eryx__wasi_free(w);
    eryx__wasi_free(NULL);
}

static void test_stdio(void) {
    io_capture cap;
    memset(&cap, 0, sizeof cap);
    eryx__wasi *w = make_wasi(NULL, &cap);
    mem_reset();

    /* Several iovecs, an empty one among them. */
    put_str(DATA, "hel");
    put_str(DATA + 100, "lo\n");
    put_iov(IOVS, 0, DATA, 3);
    put_iov(IOVS, 1, DATA + 50, 0);
    put_iov(IOVS, 2, DATA + 100, 3);
    CHECK(CALL(w, "fd_write", 1, IOVS, 3, OUT) == 0);
    CHECK(rd32(OUT) == 6);
    CHECK(cap.out_len == 6 && memcmp(cap.out, "hello\n", 6) == 0);
    CHECK(cap.last_fd == 1);
    CHECK(CALL(w, "fd_write", 2, IOVS, 1, OUT) == 0);
    CHECK(cap.last_fd == 2 && rd32(OUT) == 3);
    CHECK(CALL(w, "fd_write", 1, IOVS, 0, OUT) == 0);
    CHECK(rd32(OUT) == 0);
    CHECK(CALL(w, "fd_write", 0, IOVS, 1, OUT) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_write", 3, IOVS, 1, OUT) == ERYX__WASI_EISDIR);
    CHECK(CALL(w, "fd_write", 9, IOVS, 1, OUT) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_write", 0xFFFFFFFFu, IOVS, 1, OUT) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_pwrite", 1, IOVS, 1, 0, OUT) == ERYX__WASI_ESPIPE);
    cap.write_err = ERYX__WASI_ENOSPC;
    CHECK(CALL(w, "fd_write", 1, IOVS, 1, OUT) == ERYX__WASI_ENOSPC);
    cap.write_err = 0;

    /* stdin: one host read per fd_read, EOF as 0. */
    cap.in = "abcdef";
    cap.in_len = 6;
    put_iov(IOVS, 0, DATA, 0);
    put_iov(IOVS, 1, DATA + 10, 4);
    put_iov(IOVS, 2, DATA + 20, 4);
    CHECK(CALL(w, "fd_read", 0, IOVS, 3, OUT) == 0);
    CHECK(rd32(OUT) == 4 && memcmp(mem.base + DATA + 10, "abcd", 4) == 0);
    CHECK(cap.read_calls == 1);
    CHECK(CALL(w, "fd_read", 0, IOVS, 3, OUT) == 0);
    CHECK(rd32(OUT) == 2 && memcmp(mem.base + DATA + 10, "ef", 2) == 0);
    CHECK(CALL(w, "fd_read", 0, IOVS, 3, OUT) == 0);
    CHECK(rd32(OUT) == 0);
    CHECK(CALL(w, "fd_read", 1, IOVS, 3, OUT) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_read", 2, IOVS, 3, OUT) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_read", 3, IOVS, 3, OUT) == ERYX__WASI_EISDIR);
    CHECK(CALL(w, "fd_pread", 0, IOVS, 3, 0, OUT) == ERYX__WASI_ESPIPE);

    /* Character devices that are not ttys: FD_SEEK and FD_TELL are reported, but
    ** seeking is ESPIPE. */
    for (uint32_t fd = 0; fd < 3; fd++) {
        CHECK(CALL(w, "fd_fdstat_get", fd, BIG) == 0);
        CHECK(mem.base[BIG] == ERYX__WASI_FILETYPE_CHARACTER_DEVICE);
        CHECK((rd64(BIG + 8) & (RIGHT_FD_SEEK | RIGHT_FD_TELL)) == (RIGHT_FD_SEEK | RIGHT_FD_TELL));
        CHECK(CALL(w, "fd_seek", fd, 0, ERYX__WASI_WHENCE_CUR, OUT) == ERYX__WASI_ESPIPE);
        CHECK(CALL(w, "fd_tell", fd, OUT) == ERYX__WASI_ESPIPE);
        CHECK(CALL(w, "fd_filestat_get", fd, BIG) == 0);
        CHECK(mem.base[BIG + 16] == ERYX__WASI_FILETYPE_CHARACTER_DEVICE);
        CHECK(CALL(w, "fd_sync", fd) == 0);
    }
    CHECK(CALL(w, "fd_fdstat_get", 3, BIG) == 0);
    CHECK(mem.base[BIG] == ERYX__WASI_FILETYPE_DIRECTORY);
    CHECK(rd64(BIG + 16) == ERYX__WASI_RIGHTS_ALL);
    CHECK(CALL(w, "fd_fdstat_get", 4, BIG) == ERYX__WASI_EBADF);

    /* Closing stdout makes it unusable; the root cannot be closed. */
    CHECK(CALL(w, "fd_close", 1) == 0);
    CHECK(CALL(w, "fd_write", 1, IOVS, 1, OUT) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_close", 1) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_close", 3) == ERYX__WASI_ENOTSUP);
    CHECK(CALL(w, "fd_fdstat_get", 3, BIG) == 0);
    CHECK(CALL(w, "fd_close", 4) == ERYX__WASI_EBADF);
    CHECK(canaries_ok());
    eryx__wasi_free(w);

    /* No hooks: stdin is empty and output vanishes (but counts as written). */
    w = make_wasi(NULL, NULL);
    put_iov(IOVS, 0, DATA, 5);
    CHECK(CALL(w, "fd_read", 0, IOVS, 1, OUT) == 0);
    CHECK(rd32(OUT) == 0);
    CHECK(CALL(w, "fd_write", 1, IOVS, 1, OUT) == 0);
    CHECK(rd32(OUT) == 5);
    eryx__wasi_free(w);
}

/* Every import that takes a pointer, given bad ones: EFAULT / EINVAL /
** ENAMETOOLONG, nothing written inside or outside memory, no hook called. */
static void test_hostile(void) {
    io_capture cap;
    memset(&cap, 0, sizeof cap);
    cap.in = "secret";
    cap.in_len = 6;
    eryx__vfs *vfs = make_vfs();
    eryx__wasi *w = make_wasi(vfs, &cap);
    mem_reset();
    const uint32_t L = MEM_LEN, HI = 0xFFFFFFF0u, MAX = 0xFFFFFFFFu;

    /* One valid file to aim fd-taking calls at (and its guest memory traces wiped). */
    uint32_t fd;
    CHECK(open_at(w, 3, "/tmp/h", ERYX__WASI_O_CREAT, RIGHTS_RDWR, 0, &fd) == 0);
    CHECK(write_str(w, fd, "0123456789") == 0);
    memset(mem.base, 0, MEM_LEN);
    CHECK(canaries_ok());
    uint32_t name_len = put_str(PATH, "/tmp/h");

    /* iovec arrays */
    put_iov(IOVS, 0, DATA, 4);
    CHECK(CALL(w, "fd_write", 1, L - 2, 1, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_write", 1, HI, 1, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_write", 1, MAX, 1, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_write", 1, IOVS, MAX, OUT) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "fd_write", 1, IOVS, 1025, OUT) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "fd_write", 1, L - 8 * 1024 + 8, 1024, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_write", 1, IOVS, 1, L - 2) == ERYX__WASI_EFAULT); /* nwritten */
    CHECK(CALL(w, "fd_write", 1, IOVS, 1, HI) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_read", 0, IOVS, 1, L - 3) == ERYX__WASI_EFAULT); /* nread */
    CHECK(CALL(w, "fd_read", fd, IOVS, 1, MAX) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_pread", fd, IOVS, 1, 0, L) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_pwrite", fd, IOVS, 1, 0, L - 1) == ERYX__WASI_EFAULT);
    /* iovec buffers: past the end, and wrapping around 2^32 */
    uint32_t bad_bufs[][2] = {{L - 2, 8}, {HI, 0x20}, {0x10, MAX}, {L, 1}, {L + 1, 0}, {MAX, 1}, {1, L}};
    for (size_t i = 0; i < sizeof bad_bufs / sizeof bad_bufs[0]; i++) {
        put_iov(IOVS, 0, DATA, 1);
        put_iov(IOVS, 1, bad_bufs[i][0], bad_bufs[i][1]);
        CHECK(CALL(w, "fd_write", 1, IOVS, 2, OUT) == ERYX__WASI_EFAULT);
        CHECK(CALL(w, "fd_write", fd, IOVS, 2, OUT) == ERYX__WASI_EFAULT);
        CHECK(CALL(w, "fd_pwrite", fd, IOVS, 2, 0, OUT) == ERYX__WASI_EFAULT);
        CHECK(CALL(w, "fd_read", 0, IOVS, 2, OUT) == ERYX__WASI_EFAULT);
        CHECK(CALL(w, "fd_read", fd, IOVS, 2, OUT) == ERYX__WASI_EFAULT);
        CHECK(CALL(w, "fd_pread", fd, IOVS, 2, 0, OUT) == ERYX__WASI_EFAULT);
    }
    memset(mem.base + IOVS, 0, 16);
    CHECK(cap.write_calls == 0 && cap.read_calls == 0);
    CHECK(cap.in_pos == 0);

    /* Fixed-size outputs */
    CHECK(CALL(w, "clock_time_get", ERYX__WASI_CLOCK_MONOTONIC, 0, L - 4) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "clock_time_get", ERYX__WASI_CLOCK_REALTIME, 0, HI + 9) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "clock_res_get", ERYX__WASI_CLOCK_MONOTONIC, L - 7) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "random_get", L - 2, 8) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "random_get", HI, 0x20) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "random_get", 0, MAX) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_fdstat_get", 1, L - 23) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_fdstat_get", fd, HI) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_filestat_get", fd, L - 63) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_filestat_get", 1, MAX) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_prestat_get", 3, L - 7) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_prestat_dir_name", 3, L, 1) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_prestat_dir_name", 3, MAX, 4) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_seek", fd, 3, ERYX__WASI_WHENCE_SET, L - 4) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_tell", fd, HI + 12) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_tell", fd, OUT) == 0 && rd64(OUT) == 10); /* the bad seek did not move it */
    wr64(OUT, 0);
    CHECK(CALL(w, "fd_readdir", 3, L - 10, 100, 0, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_readdir", 3, HI, 0x100, 0, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_readdir", 3, BIG, 100, 0, L - 2) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "args_sizes_get", OUT, MAX) == ERYX__WASI_EFAULT);

    /* Paths */
    CHECK(CALL(w, "path_open", 3, FOLLOW, L - 2, 8, 0, RIGHTS_RDONLY, RIGHTS_RDONLY, 0, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_open", 3, FOLLOW, HI, 0x20, 0, RIGHTS_RDONLY, RIGHTS_RDONLY, 0, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_open", 3, FOLLOW, PATH, MAX, 0, RIGHTS_RDONLY, RIGHTS_RDONLY, 0, OUT) ==
          ERYX__WASI_ENAMETOOLONG);
    CHECK(CALL(w, "path_open", 3, FOLLOW, PATH, 4097, 0, RIGHTS_RDONLY, RIGHTS_RDONLY, 0, OUT) ==
          ERYX__WASI_ENAMETOOLONG);
    CHECK(CALL(w, "path_open", 3, FOLLOW, PATH, name_len, 0, RIGHTS_RDONLY, RIGHTS_RDONLY, 0, L - 3) ==
          ERYX__WASI_EFAULT); /* fd pointer: checked before the open, so no fd leaks */
    CHECK(CALL(w, "path_open", 3, FOLLOW, PATH, name_len, 0, RIGHTS_RDONLY, RIGHTS_RDONLY, 0, MAX) ==
          ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_open", 3, FOLLOW, PATH, name_len, 0x10, RIGHTS_RDONLY, RIGHTS_RDONLY, 0, OUT) ==
          ERYX__WASI_EINVAL); /* unknown oflags */
    CHECK(CALL(w, "path_open", 3, FOLLOW, PATH, name_len, 0, RIGHTS_RDONLY, RIGHTS_RDONLY, 0x100, OUT) ==
          ERYX__WASI_EINVAL); /* unknown fdflags */
    CHECK(CALL(w, "path_create_directory", 3, L - 2, 8) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_create_directory", 3, HI, 0x20) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_create_directory", 3, PATH, 0x7FFFFFFF) == ERYX__WASI_ENAMETOOLONG);
    CHECK(CALL(w, "path_remove_directory", 3, MAX, 1) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_unlink_file", 3, L, 1) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_filestat_get", 3, FOLLOW, HI, 0x20, BIG) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_filestat_get", 3, FOLLOW, PATH, name_len, L - 60) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_filestat_set_times", 3, FOLLOW, L - 1, 2, 0, 0, 0) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_rename", 3, PATH, name_len, 3, HI, 0x20) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_rename", 3, L - 1, 5, 3, PATH, name_len) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_readlink", 3, HI, 0x20, BIG, 10, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_readlink", 3, PATH, name_len, L - 4, 10, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_readlink", 3, PATH, name_len, BIG, 10, L - 1) == ERYX__WASI_EFAULT);
    memset(mem.base + PATH, 0, name_len);

    /* poll_oneoff */
    CHECK(CALL(w, "poll_oneoff", BIG, BIG + 0x1000, 0, OUT) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "poll_oneoff", BIG, BIG + 0x1000, 5000, OUT) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "poll_oneoff", BIG, BIG + 0x1000, MAX, OUT) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "poll_oneoff", L - 40, BIG, 1, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "poll_oneoff", BIG, L - 31, 1, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "poll_oneoff", BIG, BIG + 0x1000, 1, L - 2) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "poll_oneoff", HI, BIG, 1, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "poll_oneoff", BIG, BIG + 0x1000, 4096, OUT) == ERYX__WASI_EFAULT); /* 4096*48 > 64 KiB */
    CHECK(cap.sleep_calls == 0);

    /* Nothing was written anywhere by any failed call. */
    for (size_t i = 0; i < MEM_LEN; i++)
        if (mem.base[i]) {
            fprintf(stderr, "guest byte %zu changed\n", i);
            CHECK(!"a failing call wrote guest memory");
            break;
        }
    CHECK(canaries_ok());

    /* Overlapping iovecs whose lengths sum past 2^32 (the count is a u32). */
    eryx__guest_mem saved = mem;
    mem.len = 8u << 20;
    mem.base = calloc(1, mem.len);
    CHECK(mem.base != NULL);
    if (mem.base) {
        for (uint32_t i = 0; i < 1024; i++)
            put_iov(IOVS, i, 0x10000, (4u << 20) + 1);
        CHECK(CALL(w, "fd_write", 1, IOVS, 1024, OUT) == ERYX__WASI_EINVAL);
        CHECK(CALL(w, "fd_read", fd, IOVS, 1024, OUT) == ERYX__WASI_EINVAL);
        CHECK(CALL(w, "fd_pwrite", fd, IOVS, 1024, 0, OUT) == ERYX__WASI_EINVAL);
        CHECK(cap.write_calls == 0);
        CHECK(CALL(w, "fd_write", 1, IOVS, 1023, OUT) == 0); /* just below: fine */
        CHECK(rd32(OUT) == 1023u * ((4u << 20) + 1));
        free(mem.base);
    }
    mem = saved;

    /* No guest memory at all (a call before the memory exists). */
    mem.base = NULL;
    mem.len = 0;
    CHECK(CALL(w, "fd_write", 1, 0, 0, 0) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "args_sizes_get", 0, 0) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "random_get", 0, 0) == ERYX__WASI_EFAULT);
    mem = saved;

    eryx__wasi_free(w);
    eryx__vfs_free(vfs);
}

static bool dir_has(const char *names, const char *name) {
    size_t n = strlen(name);
    for (const char *p = names; *p; p += strlen(p) + 1)
        if (strlen(p) == n && memcmp(p, name, n) == 0)
            return true;
    return false;
}

/* Lists a directory fd with fd_readdir (buffer size buf_len, re-reading from the
** last complete entry when truncated, as wasi-libc does). Names go to out as
** consecutive NUL-terminated strings; returns the entry count or -1. */
static int list_dir(eryx__wasi *w, uint32_t fd, uint32_t buf_len, char *out, size_t cap) {
    uint64_t cookie = 0;
    size_t pos = 0;
    int count = 0;
    for (int rounds = 0; rounds < 1000; rounds++) {
        if (CALL(w, "fd_readdir", fd, BIG, buf_len, cookie, OUT) != 0)
            return -1;
        uint32_t used = rd32(OUT);
        CHECK(used <= buf_len);
        uint32_t off = 0;
        bool complete = true;
        while (off < used) {
            if (used - off < ERYX__WASI_DIRENT_SIZE) {
                complete = false;
                break;
            }
            uint32_t namlen = rd32(BIG + off + 16);
            if (used - off - ERYX__WASI_DIRENT_SIZE < namlen) {
                complete = false;
                break;
            }
            if (pos + namlen + 2 > cap)
                return -1;
            memcpy(out + pos, mem.base + BIG + off + ERYX__WASI_DIRENT_SIZE, namlen);
            pos += namlen;
            out[pos++] = 0;
            count++;
            cookie = rd64(BIG + off);
            off += ERYX__WASI_DIRENT_SIZE + namlen;
        }
        if (!complete)
            CHECK(used == buf_len); /* a truncated entry fills the buffer */
        if (used < buf_len) {
            out[pos] = 0;
            return count;
        }
    }
    return -1;
}

static void test_files(void) {
    eryx__vfs *vfs = make_vfs();
    eryx__wasi *w = make_wasi(vfs, NULL);
    mem_reset();
    char buf[256];
    uint32_t fd, fd2, dfd;

    /* create, write (two iovecs), tell, seek, read */
    CHECK(open_at(w, 3, "/tmp/a.txt", ERYX__WASI_O_CREAT | ERYX__WASI_O_TRUNC, RIGHTS_RDWR, 0, &fd) == 0);
    CHECK(fd == 4);
    put_str(DATA, "hello ");
    put_str(DATA + 100, "world");
    put_iov(IOVS, 0, DATA, 6);
    put_iov(IOVS, 1, DATA + 100, 5);
    CHECK(CALL(w, "fd_write", fd, IOVS, 2, OUT) == 0);
    CHECK(rd32(OUT) == 11);
    CHECK(CALL(w, "fd_tell", fd, OUT) == 0 && rd64(OUT) == 11);
    CHECK(CALL(w, "fd_seek", fd, 6, ERYX__WASI_WHENCE_SET, OUT) == 0 && rd64(OUT) == 6);
    CHECK(read_str(w, fd, buf, sizeof buf) == 0);
    CHECK_STR_EQ(buf, "world");
    CHECK(read_str(w, fd, buf, sizeof buf) == 0);
    CHECK_STR_EQ(buf, ""); /* end of file */
    CHECK(CALL(w, "fd_seek", fd, (uint64_t)-5, ERYX__WASI_WHENCE_END, OUT) == 0 && rd64(OUT) == 6);
    CHECK(CALL(w, "fd_seek", fd, (uint64_t)-2, ERYX__WASI_WHENCE_CUR, OUT) == 0 && rd64(OUT) == 4);
    CHECK(CALL(w, "fd_seek", fd, (uint64_t)-5, ERYX__WASI_WHENCE_CUR, OUT) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "fd_seek", fd, (uint64_t)INT64_MIN, ERYX__WASI_WHENCE_SET, OUT) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "fd_seek", fd, (uint64_t)INT64_MAX, ERYX__WASI_WHENCE_END, OUT) == ERYX__WASI_EOVERFLOW);
    CHECK(CALL(w, "fd_seek", fd, 0, 3, OUT) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "fd_tell", fd, OUT) == 0 && rd64(OUT) == 4);
    /* reading across two iovecs */
    CHECK(CALL(w, "fd_seek", fd, 0, ERYX__WASI_WHENCE_SET, OUT) == 0);
    put_iov(IOVS, 0, DATA, 3);
    put_iov(IOVS, 1, DATA + 100, 100);
    CHECK(CALL(w, "fd_read", fd, IOVS, 2, OUT) == 0 && rd32(OUT) == 11);
    CHECK(memcmp(mem.base + DATA, "hel", 3) == 0 && memcmp(mem.base + DATA + 100, "lo world", 8) == 0);

    /* pread / pwrite leave the offset alone */
    CHECK(CALL(w, "fd_seek", fd, 2, ERYX__WASI_WHENCE_SET, OUT) == 0);
    put_str(DATA, "J");
    put_iov(IOVS, 0, DATA, 1);
    CHECK(CALL(w, "fd_pwrite", fd, IOVS, 1, 0, OUT) == 0 && rd32(OUT) == 1);
    put_iov(IOVS, 0, DATA, 5);
    CHECK(CALL(w, "fd_pread", fd, IOVS, 1, 6, OUT) == 0 && rd32(OUT) == 5);
    CHECK(memcmp(mem.base + DATA, "world", 5) == 0);
    CHECK(CALL(w, "fd_pread", fd, IOVS, 1, 100, OUT) == 0 && rd32(OUT) == 0);
    CHECK(CALL(w, "fd_pread", fd, IOVS, 1, (uint64_t)1 << 63, OUT) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "fd_pwrite", fd, IOVS, 1, (uint64_t)INT64_MAX, OUT) == ERYX__WASI_EFBIG);
    CHECK(CALL(w, "fd_tell", fd, OUT) == 0 && rd64(OUT) == 2);

    /* stat, truncate, times */
    CHECK(CALL(w, "fd_filestat_get", fd, BIG) == 0);
    CHECK(mem.base[BIG + 16] == ERYX__WASI_FILETYPE_REGULAR_FILE);
    CHECK(rd64(BIG + 32) == 11);
    CHECK(CALL(w, "fd_fdstat_get", fd, BIG) == 0);
    CHECK(mem.base[BIG] == ERYX__WASI_FILETYPE_REGULAR_FILE);
    CHECK(rd16(BIG + 2) == 0);
    CHECK(CALL(w, "fd_filestat_set_size", fd, 5) == 0);
    CHECK(CALL(w, "fd_filestat_set_size", fd, (uint64_t)-1) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "fd_filestat_set_size", 1, 0) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "fd_filestat_set_size", 3, 0) == ERYX__WASI_EISDIR);
    put_str(PATH, "/tmp/a.txt");
    CHECK(CALL(w, "path_filestat_get", 3, FOLLOW, PATH, 10, BIG) == 0);
    CHECK(rd64(BIG + 32) == 5);
    CHECK(mem.base[BIG + 16] == ERYX__WASI_FILETYPE_REGULAR_FILE);
    CHECK(CALL(w, "fd_pread", fd, IOVS, 1, 0, OUT) == 0 && rd32(OUT) == 5);
    CHECK(memcmp(mem.base + DATA, "Jello", 5) == 0);
    CHECK(CALL(w, "fd_filestat_set_times", fd, 1, 2, ERYX__WASI_FST_ATIM | ERYX__WASI_FST_MTIM_NOW) == 0);
    CHECK(CALL(w, "fd_filestat_set_times", fd, 1, 2, ERYX__WASI_FST_ATIM | ERYX__WASI_FST_ATIM_NOW) ==
          ERYX__WASI_EINVAL);
    CHECK(CALL(w, "fd_filestat_set_times", fd, 1, 2, 0x10) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "path_filestat_set_times", 3, FOLLOW, PATH, 10, 0, 0, ERYX__WASI_FST_MTIM_NOW) == 0);
    CHECK(CALL(w, "fd_sync", fd) == 0);
    CHECK(CALL(w, "fd_datasync", fd) == 0);
    CHECK(CALL(w, "fd_advise", fd, 0, 100, 1) == 0);
    CHECK(CALL(w, "fd_advise", fd, 0, 100, 9) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "fd_advise", 77, 0, 100, 0) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_readdir", fd, BIG, 100, 0, OUT) == ERYX__WASI_ENOTDIR);

    /* APPEND, set at open and toggled with fd_fdstat_set_flags */
    CHECK(open_at(w, 3, "/tmp/a.txt", 0, RIGHTS_WRONLY, ERYX__WASI_FDFLAG_APPEND, &fd2) == 0);
    CHECK(fd2 == 5);
    CHECK(CALL(w, "fd_fdstat_get", fd2, BIG) == 0 && rd16(BIG + 2) == ERYX__WASI_FDFLAG_APPEND);
    CHECK(write_str(w, fd2, "+1") == 0);
    CHECK(CALL(w, "fd_tell", fd2, OUT) == 0 && rd64(OUT) == 7);
    CHECK(CALL(w, "fd_seek", fd2, 0, ERYX__WASI_WHENCE_SET, OUT) == 0);
    CHECK(write_str(w, fd2, "+2") == 0); /* still at the end */
    CHECK(CALL(w, "fd_fdstat_set_flags", fd2, 0) == 0);
    CHECK(CALL(w, "fd_seek", fd2, 0, ERYX__WASI_WHENCE_SET, OUT) == 0);
    CHECK(write_str(w, fd2, "j") == 0); /* now at the offset */
    CHECK(CALL(w, "fd_fdstat_set_flags", fd2, ERYX__WASI_FDFLAG_NONBLOCK) == ERYX__WASI_ENOTSUP);
    CHECK(CALL(w, "fd_fdstat_set_flags", 99, 0) == ERYX__WASI_EBADF);
    CHECK(read_str(w, fd2, buf, sizeof buf) == ERYX__WASI_EBADF); /* write-only */
    CHECK(CALL(w, "fd_seek", fd, 0, ERYX__WASI_WHENCE_SET, OUT) == 0);
    CHECK(read_str(w, fd, buf, sizeof buf) == 0);
    CHECK(strlen(buf) == 9 && buf[0] == 'j' && strcmp(buf + 5, "+1+2") == 0);
    CHECK(CALL(w, "fd_close", fd2) == 0);
    CHECK(CALL(w, "fd_close", fd2) == ERYX__WASI_EBADF);

    /* read-only fd refuses writes */
    CHECK(open_at(w, 3, "/tmp/a.txt", 0, RIGHTS_RDONLY, 0, &fd2) == 0);
    CHECK(write_str(w, fd2, "x") == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_filestat_set_size", fd2, 0) == ERYX__WASI_EBADF);
    CHECK(read_str(w, fd2, buf, 4) == 0);
    CHECK_STR_EQ(buf, "jel");
    CHECK(CALL(w, "fd_close", fd2) == 0);

    /* open errors */
    CHECK(open_at(w, 3, "/tmp/a.txt", ERYX__WASI_O_CREAT | ERYX__WASI_O_EXCL, RIGHTS_RDWR, 0, &fd2) ==
          ERYX__WASI_EEXIST);
    CHECK(open_at(w, 3, "/tmp/none", 0, RIGHTS_RDONLY, 0, &fd2) == ERYX__WASI_ENOENT);
    CHECK(fd2 == 0xDEADBEEF); /* nothing stored on failure */
    CHECK(open_at(w, 3, "/tmp/a.txt", ERYX__WASI_O_DIRECTORY, RIGHTS_RDONLY, 0, &fd2) == ERYX__WASI_ENOTDIR);
    CHECK(open_at(w, fd, "x", 0, RIGHTS_RDONLY, 0, &fd2) == ERYX__WASI_ENOTDIR); /* a file as dirfd */
    CHECK(open_at(w, 1, "x", 0, RIGHTS_RDONLY, 0, &fd2) == ERYX__WASI_ENOTDIR);
    CHECK(open_at(w, 42, "x", 0, RIGHTS_RDONLY, 0, &fd2) == ERYX__WASI_EBADF);
    CHECK(open_at(w, 3, "", 0, RIGHTS_RDONLY, 0, &fd2) == ERYX__WASI_ENOENT);
    put_str(PATH, "/tmp/a.txt\0zz");
    CHECK(CALL(w, "path_open", 3, FOLLOW, PATH, 13, 0, RIGHTS_RDONLY, RIGHTS_RDONLY, 0, OUT) == ERYX__WASI_EINVAL);

    /* Nothing outside the mounts; ".." never leaves "/". */
    CHECK(open_at(w, 3, "/etc/passwd", 0, RIGHTS_RDONLY, 0, &fd2) == ERYX__WASI_ENOENT);
    CHECK(open_at(w, 3, "etc/passwd", 0, RIGHTS_RDONLY, 0, &fd2) == ERYX__WASI_ENOENT);
    CHECK(open_at(w, 3, "../../../etc/passwd", 0, RIGHTS_RDONLY, 0, &fd2) == ERYX__WASI_ENOENT);
    CHECK(open_at(w, 3, "/tmp/../../../etc/passwd", 0, RIGHTS_RDONLY, 0, &fd2) == ERYX__WASI_ENOENT);
    CHECK(open_at(w, 3, "../../tmp/./a.txt", 0, RIGHTS_RDONLY, 0, &fd2) == 0);
    CHECK(fd2 == 5);
    CHECK(CALL(w, "fd_close", fd2) == 0);

    /* directories: mkdir, open as dirfd, paths relative to it */
    CHECK(path_call(w, "path_create_directory", 3, "/tmp/d") == 0);
    CHECK(path_call(w, "path_create_directory", 3, "/tmp/d") == ERYX__WASI_EEXIST);
    CHECK(open_at(w, 3, "tmp", ERYX__WASI_O_DIRECTORY, RIGHTS_RDONLY, 0, &dfd) == 0);
    CHECK(CALL(w, "fd_fdstat_get", dfd, BIG) == 0 && mem.base[BIG] == ERYX__WASI_FILETYPE_DIRECTORY);
    CHECK(CALL(w, "fd_filestat_get", dfd, BIG) == 0 && mem.base[BIG + 16] == ERYX__WASI_FILETYPE_DIRECTORY);
    CHECK(open_at(w, dfd, "d/x", ERYX__WASI_O_CREAT, RIGHTS_RDWR, 0, &fd2) == 0);
    CHECK(write_str(w, fd2, "inner") == 0);
    CHECK(CALL(w, "fd_close", fd2) == 0);
    CHECK(open_at(w, dfd, "../tmp/d/../d/x", 0, RIGHTS_RDONLY, 0, &fd2) == 0);
    CHECK(read_str(w, fd2, buf, sizeof buf) == 0);
    CHECK_STR_EQ(buf, "inner");
    CHECK(CALL(w, "fd_close", fd2) == 0);
    CHECK(open_at(w, dfd, "../etc/passwd", 0, RIGHTS_RDONLY, 0, &fd2) == ERYX__WASI_ENOENT);
    CHECK(open_at(w, dfd, "../../../../etc/passwd", 0, RIGHTS_RDONLY, 0, &fd2) == ERYX__WASI_ENOENT);
    CHECK(read_str(w, dfd, buf, sizeof buf) == ERYX__WASI_EISDIR);
    CHECK(write_str(w, dfd, "x") == ERYX__WASI_EISDIR);
    CHECK(open_at(w, 3, "/tmp/d", 0, RIGHTS_RDWR, 0, &fd2) == ERYX__WASI_EISDIR);

    /* readdir, whole and with tiny buffers (truncated entries) */
    char names[1024];
    CHECK(list_dir(w, dfd, 4096, names, sizeof names) == 4);
    CHECK(dir_has(names, ".") && dir_has(names, "..") && dir_has(names, "a.txt") && dir_has(names, "d"));
    CHECK(list_dir(w, dfd, 30, names, sizeof names) == 4);
    CHECK(dir_has(names, "a.txt") && dir_has(names, "d"));
    CHECK(CALL(w, "fd_readdir", dfd, BIG, 10, 0, OUT) == 0 && rd32(OUT) == 10);
    CHECK(CALL(w, "fd_readdir", dfd, BIG, 0, 0, OUT) == 0 && rd32(OUT) == 0);
    CHECK(CALL(w, "fd_readdir", dfd, BIG, 4096, 1000, OUT) == 0 && rd32(OUT) == 0); /* past the end */
    CHECK(list_dir(w, 3, 4096, names, sizeof names) >= 2);                     /* the root */
    CHECK(dir_has(names, "tmp") && dir_has(names, "ro"));
    CHECK(CALL(w, "fd_readdir", 1, BIG, 100, 0, OUT) == ERYX__WASI_ENOTDIR);

    /* rename, unlink, rmdir */
    uint32_t n1 = put_str(PATH, "a.txt"), n2 = put_str(PATH2, "/tmp/d/b.txt");
    CHECK(CALL(w, "path_rename", dfd, PATH, n1, 3, PATH2, n2) == 0);
    CHECK(open_at(w, 3, "/tmp/a.txt", 0, RIGHTS_RDONLY, 0, &fd2) == ERYX__WASI_ENOENT);
    CHECK(open_at(w, 3, "/tmp/d/b.txt", 0, RIGHTS_RDONLY, 0, &fd2) == 0);
    CHECK(read_str(w, fd2, buf, 4) == 0);
    CHECK_STR_EQ(buf, "jel");
    CHECK(CALL(w, "fd_close", fd2) == 0);
    CHECK(CALL(w, "path_rename", dfd, PATH, n1, 1, PATH2, n2) == ERYX__WASI_ENOTDIR);
    n1 = put_str(PATH, "/tmp/d/x");
    n2 = put_str(PATH2, "/ro/x");
    CHECK(CALL(w, "path_rename", 3, PATH, n1, 3, PATH2, n2) != 0); /* across mounts (EXDEV or EROFS) */
    CHECK(path_call(w, "path_remove_directory", 3, "/tmp/d") == ERYX__WASI_ENOTEMPTY);
    CHECK(path_call(w, "path_unlink_file", 3, "/tmp/d/x") == 0);
    CHECK(path_call(w, "path_unlink_file", dfd, "d/b.txt") == 0);
    CHECK(path_call(w, "path_unlink_file", 3, "/tmp/d/x") == ERYX__WASI_ENOENT);
    CHECK(path_call(w, "path_remove_directory", dfd, "d") == 0);
    CHECK(path_call(w, "path_remove_directory", 3, "/tmp/d") == ERYX__WASI_ENOENT);
    CHECK(path_call(w, "path_create_directory", 3, "/etc") != 0);
    CHECK(path_call(w, "path_unlink_file", 3, "/etc/passwd") != 0);

    /* links are refused */
    n1 = put_str(PATH, "target");
    n2 = put_str(PATH2, "/tmp/l");
    CHECK(CALL(w, "path_symlink", PATH, n1, 3, PATH2, n2) == ERYX__WASI_ENOTSUP);
    CHECK(CALL(w, "path_link", 3, FOLLOW, PATH, n1, 3, PATH2, n2) == ERYX__WASI_ENOTSUP);

    CHECK(canaries_ok());
    eryx__wasi_free(w); /* closes fd and dfd */
    eryx__vfs_free(vfs);
}

static void test_readonly_mount(void) {
    eryx__vfs *vfs = make_vfs();
    eryx__wasi *w = make_wasi(vfs, NULL);
    mem_reset();
    char buf[64];
    uint32_t fd;
    /* wasi-libc's O_RDONLY rights leave FD_WRITE out: a plain read works. */
    CHECK(open_at(w, 3, "/ro/hello", 0, RIGHTS_RDONLY, 0, &fd) == 0);
    CHECK(read_str(w, fd, buf, sizeof buf) == 0);
    CHECK_STR_EQ(buf, "hi there\n");
    CHECK(write_str(w, fd, "x") == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_close", fd) == 0);
    CHECK(open_at(w, 3, "/ro/hello", 0, RIGHTS_RDWR, 0, &fd) == ERYX__WASI_EROFS);
    CHECK(open_at(w, 3, "/ro/new", ERYX__WASI_O_CREAT, RIGHTS_RDWR, 0, &fd) == ERYX__WASI_EROFS);
    CHECK(open_at(w, 3, "/ro/hello", ERYX__WASI_O_TRUNC, RIGHTS_RDONLY, 0, &fd) == ERYX__WASI_EROFS);
    CHECK(path_call(w, "path_create_directory", 3, "/ro/d") == ERYX__WASI_EROFS);
    CHECK(path_call(w, "path_unlink_file", 3, "/ro/hello") == ERYX__WASI_EROFS);

    /* symlinks: followed at open, not with lstat, readlink truncates */
    CHECK(open_at(w, 3, "/ro/lnk", 0, RIGHTS_RDONLY, 0, &fd) == 0);
    CHECK(CALL(w, "fd_close", fd) == 0);
    uint32_t n = put_str(PATH, "/ro/lnk");
    CHECK(CALL(w, "path_open", 3, 0, PATH, n, 0, RIGHTS_RDONLY, RIGHTS_RDONLY, 0, OUT) == ERYX__WASI_ELOOP);
    CHECK(CALL(w, "path_filestat_get", 3, 0, PATH, n, BIG) == 0);
    CHECK(mem.base[BIG + 16] == ERYX__WASI_FILETYPE_SYMBOLIC_LINK);
    CHECK(CALL(w, "path_filestat_get", 3, FOLLOW, PATH, n, BIG) == 0);
    CHECK(mem.base[BIG + 16] == ERYX__WASI_FILETYPE_REGULAR_FILE);
    CHECK(rd64(BIG + 32) == 9);
    CHECK(CALL(w, "path_readlink", 3, PATH, n, DATA, 100, OUT) == 0);
    CHECK(rd32(OUT) == 5 && memcmp(mem.base + DATA, "hello", 5) == 0);
    memset(mem.base + DATA, 0, 10);
    CHECK(CALL(w, "path_readlink", 3, PATH, n, DATA, 3, OUT) == 0);
    CHECK(rd32(OUT) == 3 && memcmp(mem.base + DATA, "hel\0", 4) == 0);
    n = put_str(PATH, "/ro/hello");
    CHECK(CALL(w, "path_readlink", 3, PATH, n, DATA, 100, OUT) == ERYX__WASI_EINVAL);

    /* a directory of the backend */
    CHECK(open_at(w, 3, "/ro", ERYX__WASI_O_DIRECTORY, RIGHTS_RDONLY, 0, &fd) == 0);
    char names[256];
    CHECK(list_dir(w, fd, 64, names, sizeof names) == 4);
    CHECK(dir_has(names, "hello") && dir_has(names, "lnk"));
    CHECK(CALL(w, "fd_readdir", fd, BIG, 4096, 0, OUT) == 0);
    CHECK(mem.base[BIG + 20] == ERYX__WASI_FILETYPE_DIRECTORY); /* "." */
    eryx__wasi_close_guest_fds(w);
    CHECK(CALL(w, "fd_close", fd) == ERYX__WASI_EBADF);
    CHECK(canaries_ok());
    eryx__wasi_free(w);
    eryx__vfs_free(vfs);
}

static void test_fd_exhaustion(void) {
    eryx__vfs *vfs = make_vfs();
    eryx__wasi *w = make_wasi(vfs, NULL);
    mem_reset();
    uint32_t fd;
    CHECK(open_at(w, 3, "/tmp/f", ERYX__WASI_O_CREAT, RIGHTS_RDWR, 0, &fd) == 0);
    CHECK(fd == 4);
    int opened = 1;
    int32_t r;
    while ((r = open_at(w, 3, "/tmp/f", 0, RIGHTS_RDONLY, 0, &fd)) == 0 && opened < 5000)
        opened++;
    CHECK(r == ERYX__WASI_EMFILE);
    CHECK(opened == ERYX__WASI_MAX_FDS - 4);
    /* The lowest free number is reused. */
    CHECK(CALL(w, "fd_close", 10) == 0);
    CHECK(CALL(w, "fd_close", 7) == 0);
    CHECK(open_at(w, 3, "/tmp/f", 0, RIGHTS_RDONLY, 0, &fd) == 0 && fd == 7);
    CHECK(open_at(w, 3, "/tmp/f", 0, RIGHTS_RDONLY, 0, &fd) == 0 && fd == 10);
    CHECK(open_at(w, 3, "/tmp/f", 0, RIGHTS_RDONLY, 0, &fd) == ERYX__WASI_EMFILE);
    CHECK(CALL(w, "fd_close", ERYX__WASI_MAX_FDS - 1) == 0);
    CHECK(CALL(w, "fd_close", ERYX__WASI_MAX_FDS) == ERYX__WASI_EBADF);
    eryx__wasi_close_guest_fds(w);
    CHECK(open_at(w, 3, "/tmp/f", 0, RIGHTS_RDONLY, 0, &fd) == 0 && fd == 4);
    CHECK(CALL(w, "fd_fdstat_get", 3, BIG) == 0); /* stdio and the root survive */
    CHECK(CALL(w, "fd_fdstat_get", 1, BIG) == 0);
    eryx__wasi_free(w);
    eryx__vfs_free(vfs);
}

static void test_proc_exit(void) {
    eryx__wasi *w = make_wasi(NULL, NULL);
    int code = -7;
    CHECK(!eryx__wasi_exited(w, &code));
    CHECK(code == -7);
    CHECK(CALL(w, "proc_exit", 3) == ERYX__WASI_STOP);
    CHECK(eryx__wasi_exited(w, &code));
    CHECK(code == 3);
    CHECK(eryx__wasi_exited(w, NULL));
    CHECK(CALL(w, "proc_exit", 0xFFFFFFFFu) == ERYX__WASI_STOP);
    CHECK(eryx__wasi_exited(w, &code) && code == -1);
    CHECK(!eryx__wasi_exited(NULL, &code));
    eryx__wasi_free(w);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void put_clock_sub(uint32_t at, uint64_t userdata, uint32_t id, uint64_t timeout, uint16_t flags) {
    memset(mem.base + at, 0, ERYX__WASI_SUBSCRIPTION_SIZE);
    wr64(at, userdata);
    mem.base[at + 8] = ERYX__WASI_EVENTTYPE_CLOCK;
    wr32(at + 16, id);
    wr64(at + 24, timeout);
    wr16(at + 40, flags);
}

static void put_fd_sub(uint32_t at, uint64_t userdata, uint8_t type, uint32_t fd) {
    memset(mem.base + at, 0, ERYX__WASI_SUBSCRIPTION_SIZE);
    wr64(at, userdata);
    mem.base[at + 8] = type;
    wr32(at + 16, fd);
}

static void test_poll(void) {
    enum { SUBS = BIG, EVS = BIG + 0x2000 };
    mem_reset();
    /* The default sleep really sleeps. */
    eryx__wasi *w = make_wasi(NULL, NULL);
    put_clock_sub(SUBS, 0x1122334455667788u, ERYX__WASI_CLOCK_MONOTONIC, 1000000, 0);
    uint64_t t0 = now_ns();
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 1, OUT) == 0);
    CHECK(now_ns() - t0 >= 1000000);
    CHECK(rd32(OUT) == 1);
    CHECK(rd64(EVS) == 0x1122334455667788u);
    CHECK(rd16(EVS + 8) == 0);
    CHECK(mem.base[EVS + 10] == ERYX__WASI_EVENTTYPE_CLOCK);
    /* absolute, already past: no wait */
    put_clock_sub(SUBS, 5, ERYX__WASI_CLOCK_REALTIME, 1, ERYX__WASI_SUBCLOCK_ABSTIME);
    t0 = now_ns();
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 1, OUT) == 0);
    CHECK(rd32(OUT) == 1 && rd64(EVS) == 5);
    CHECK(now_ns() - t0 < 500000000u);
    eryx__wasi_free(w);

    io_capture cap;
    memset(&cap, 0, sizeof cap);
    w = make_wasi(NULL, &cap);
    /* the sleep hook gets the shortest timeout; only that clock fires */
    put_clock_sub(SUBS, 1, ERYX__WASI_CLOCK_MONOTONIC, 5000000, 0);
    put_clock_sub(SUBS + 48, 2, ERYX__WASI_CLOCK_MONOTONIC, 2000000, 0);
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 2, OUT) == 0);
    CHECK(cap.sleep_calls == 1 && cap.slept_ns == 2000000);
    CHECK(rd32(OUT) == 1 && rd64(EVS) == 2);
    /* absolute monotonic deadline in the future */
    uint64_t mono;
    CHECK(CALL(w, "clock_time_get", ERYX__WASI_CLOCK_MONOTONIC, 0, OUT2) == 0);
    mono = rd64(OUT2);
    put_clock_sub(SUBS, 3, ERYX__WASI_CLOCK_MONOTONIC, mono + 3000000000u, ERYX__WASI_SUBCLOCK_ABSTIME);
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 1, OUT) == 0);
    CHECK(cap.sleep_calls == 2 && cap.slept_ns > 2000000000u && cap.slept_ns <= 3000000000u);
    /* a ready fd wins over a clock: no sleep */
    put_clock_sub(SUBS, 1, ERYX__WASI_CLOCK_MONOTONIC, 1000000000u, 0);
    put_fd_sub(SUBS + 48, 7, ERYX__WASI_EVENTTYPE_FD_READ, 0);
    put_fd_sub(SUBS + 96, 8, ERYX__WASI_EVENTTYPE_FD_WRITE, 1);
    put_fd_sub(SUBS + 144, 9, ERYX__WASI_EVENTTYPE_FD_WRITE, 77);
    put_fd_sub(SUBS + 192, 10, ERYX__WASI_EVENTTYPE_FD_READ, 1);
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 5, OUT) == 0);
    CHECK(cap.sleep_calls == 2);
    CHECK(rd32(OUT) == 4);
    CHECK(rd64(EVS) == 7 && rd16(EVS + 8) == 0 && mem.base[EVS + 10] == ERYX__WASI_EVENTTYPE_FD_READ);
    CHECK(rd64(EVS + 32) == 8 && rd16(EVS + 40) == 0 && mem.base[EVS + 42] == ERYX__WASI_EVENTTYPE_FD_WRITE);
    CHECK(rd64(EVS + 64) == 9 && rd16(EVS + 72) == ERYX__WASI_EBADF);
    CHECK(rd64(EVS + 96) == 10 && rd16(EVS + 104) == ERYX__WASI_EBADF);
    /* an unknown clock is an error event, not a wait */
    put_clock_sub(SUBS, 11, 99, 1000000000u, 0);
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 1, OUT) == 0);
    CHECK(rd32(OUT) == 1 && rd64(EVS) == 11 && rd16(EVS + 8) == ERYX__WASI_EINVAL);
    CHECK(cap.sleep_calls == 2);
    /* an unknown subscription type fails the call */
    put_fd_sub(SUBS, 12, 9, 0);
    wr32(OUT, 0xAAAA);
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 1, OUT) == ERYX__WASI_EINVAL);
    CHECK(rd32(OUT) == 0xAAAA);
    /* an interrupted sleep reports the hook's errno */
    cap.sleep_err = ERYX__WASI_EINTR;
    put_clock_sub(SUBS, 1, ERYX__WASI_CLOCK_MONOTONIC, 1000, 0);
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 1, OUT) == ERYX__WASI_EINTR);
    cap.sleep_err = 0;
    /* events written over the subscriptions (same buffer) */
    put_clock_sub(SUBS, 21, ERYX__WASI_CLOCK_MONOTONIC, 0, 0);
    put_clock_sub(SUBS + 48, 22, ERYX__WASI_CLOCK_MONOTONIC, 0, 0);
    CHECK(CALL(w, "poll_oneoff", SUBS, SUBS, 2, OUT) == 0);
    CHECK(rd32(OUT) == 2 && rd64(SUBS) == 21 && rd64(SUBS + 32) == 22);
    CHECK(canaries_ok());
    eryx__wasi_free(w);
}

static void test_clock_random_misc(void) {
    eryx__wasi *w = make_wasi(NULL, NULL);
    mem_reset();
    CHECK(CALL(w, "clock_time_get", ERYX__WASI_CLOCK_MONOTONIC, 1, OUT) == 0);
    uint64_t a = rd64(OUT);
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
    CHECK(CALL(w, "clock_time_get", ERYX__WASI_CLOCK_MONOTONIC, 1, OUT) == 0);
    CHECK(rd64(OUT) > a);
    CHECK(rd64(OUT) - a >= 2000000);
    CHECK(CALL(w, "clock_time_get", ERYX__WASI_CLOCK_REALTIME, 0, OUT) == 0);
    CHECK(rd64(OUT) > (uint64_t)1600000000 * 1000000000u);
    CHECK(CALL(w, "clock_time_get", ERYX__WASI_CLOCK_PROCESS_CPUTIME, 0, OUT) == 0);
    CHECK(CALL(w, "clock_time_get", ERYX__WASI_CLOCK_THREAD_CPUTIME, 0, OUT) == 0);
    CHECK(CALL(w, "clock_time_get", 4, 0, OUT) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "clock_time_get", 0xFFFFFFFFu, 0, OUT) == ERYX__WASI_EINVAL);
    for (uint32_t id = 0; id < 4; id++) {
        wr64(OUT, 0);
        CHECK(CALL(w, "clock_res_get", id, OUT) == 0);
        CHECK(rd64(OUT) > 0);
    }
    CHECK(CALL(w, "clock_res_get", 4, OUT) == ERYX__WASI_EINVAL);

    CHECK(CALL(w, "random_get", DATA, 64) == 0);
    CHECK(CALL(w, "random_get", DATA + 64, 64) == 0);
    CHECK(memcmp(mem.base + DATA, mem.base + DATA + 64, 64) != 0);
    static const uint8_t zero[64];
    CHECK(memcmp(mem.base + DATA, zero, 64) != 0);
    CHECK(CALL(w, "random_get", 0, MEM_LEN) == 0); /* all of memory */
    CHECK(CALL(w, "random_get", MEM_LEN, 0) == 0);
    CHECK(canaries_ok());
    mem_reset();

    CHECK(call(w, "sched_yield", 0, ARGS(0)) == 0);
    CHECK(CALL(w, "sock_accept", 3, 0, OUT) == ERYX__WASI_ENOTSUP);
    CHECK(CALL(w, "sock_recv", 3, IOVS, 1, 0, OUT, OUT2) == ERYX__WASI_ENOTSUP);
    CHECK(CALL(w, "sock_send", 3, IOVS, 1, 0, OUT) == ERYX__WASI_ENOTSUP);
    CHECK(CALL(w, "sock_shutdown", 3, 2) == ERYX__WASI_ENOTSUP);

    /* the preopen: fd 3 is "/", nothing else */
    CHECK(CALL(w, "fd_prestat_get", 3, OUT) == 0);
    CHECK(mem.base[OUT] == ERYX__WASI_PREOPENTYPE_DIR && rd32(OUT + 4) == 1);
    CHECK(CALL(w, "fd_prestat_dir_name", 3, DATA, 1) == 0);
    CHECK(mem.base[DATA] == '/' && mem.base[DATA + 1] == 0);
    CHECK(CALL(w, "fd_prestat_dir_name", 3, DATA, 0) == ERYX__WASI_ENAMETOOLONG);
    CHECK(CALL(w, "fd_prestat_get", 4, OUT) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_prestat_get", 0, OUT) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_prestat_get", 0xFFFFFFFFu, OUT) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_prestat_dir_name", 4, DATA, 1) == ERYX__WASI_EBADF);
    /* without a vfs every path is missing */
    CHECK(path_call(w, "path_create_directory", 3, "/tmp/x") == ERYX__WASI_ENOENT);
    CHECK(canaries_ok());
    eryx__wasi_free(w);
}

int main(void) {
    raw = malloc(CANARY + MEM_LEN + CANARY);
    if (!raw)
        return 1;
    mem.base = raw + CANARY;
    mem.len = MEM_LEN;
    mem_reset();
    test_table();
    test_args_environ();
    test_stdio();
    test_hostile();
    test_files();
    test_readonly_mount();
    test_fd_exhaustion();
    test_proc_exit();
    test_poll();
    test_clock_random_misc();
    free(raw);
    return check_report("test_wasi");
}
