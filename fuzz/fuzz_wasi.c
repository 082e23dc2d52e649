/*
** libFuzzer target for the WASI host (src/wasi/wasi.c) over a real VFS with an
** in-memory /tmp. Each input builds fresh state and runs a short sequence of
** import calls whose arguments the input chooses.
**
** Input layout:
**   u16 n (little-endian), then n bytes copied to the start of guest memory
**   (at most MEM_LEN - DICT_LEN), then the call stream: per call one byte picks
**   the import, then each parameter takes a mode byte and its value bytes.
** Guest memory is a malloc of exactly MEM_LEN bytes, so ASan reports any access
** outside it. Its last DICT_LEN bytes hold paths padded with '/' (any length up to
** the slot is still a valid path), so path calls often reach the VFS.
**
** The next free fd (6) is a stream fd (wasi_stream.c) over a small in-memory fake.
** Build and run: see fuzz/README.md.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/vfs/vfs.h"
#include "../src/wasi/wasi.h"

enum { MEM_LEN = 4096, SLOT = 16, NSLOTS = 8, DICT_LEN = SLOT * NSLOTS, MAX_CALLS = 64 };

static const char *const dict[NSLOTS] = {"/tmp/a", "/tmp/d", "/tmp/d/b", "/tmp", "/", "../..", "/etc/passwd", "d/../a"};

typedef struct input {
    const uint8_t *p;
    size_t n;
} input;

static uint8_t take(input *in) {
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}

static uint64_t take_n(input *in, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)take(in) << (8 * i);
    return v;
}

/* A parameter value: mostly values that matter for guest pointers, lengths and
** fds, sometimes raw bits. */
static uint64_t arg(input *in, bool wide) {
    uint8_t mode = take(in);
    switch (mode % 10) {
    case 0: return take(in);                                        /* small: fds, flags, short lengths */
    case 1: return take_n(in, 2) % (MEM_LEN + 1);                   /* anywhere in memory */
    case 2: return MEM_LEN - (take(in) % 64);                       /* near the end */
    case 3: return (uint32_t)(0xFFFFFFFFu - take(in));              /* wraps around 2^32 */
    case 4: return MEM_LEN - DICT_LEN + SLOT * (take(in) % NSLOTS); /* a dict path */
    case 5: return 1 + take(in) % SLOT;                             /* a dict path length */
    case 6: return 3 + take(in) % 5;                                /* fds 3..7 */
    case 7: return wide ? (uint64_t)-(int64_t)(take(in) % 64) : (uint32_t)-(int32_t)(take(in) % 64);
    case 8: return wide ? take_n(in, 8) : take_n(in, 4);
    default: return ((uint64_t)1 << (take(in) % (wide ? 64 : 32))) + (mode & 1 ? 0 : (uint64_t)-1);
    }
}

static ptrdiff_t fz_read(void *user, void *buf, size_t len) {
    (void)user;
    size_t n = len < 5 ? len : 5;
    memcpy(buf, "input", n);
    return (ptrdiff_t)n;
}
static uint16_t fz_write(void *user, int fd, const void *buf, size_t len) {
    (void)user, (void)fd;
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < len; i++) /* touch every byte: ASan checks the range */
        sink ^= ((const uint8_t *)buf)[i];
    (void)sink;
    return len > 3000 ? ERYX__WASI_ENOSPC : 0;
}
static uint16_t fz_sleep(void *user, uint64_t ns) {
    (void)user, (void)ns;
    return 0; /* never really sleep */
}

/* A stream (wasi_stream.c) over a 64-byte buffer: writes fill it (EAGAIN
** when full), reads drain it (the end of the stream when empty); waits time out
** at once (a 1 ns timeout, and a wait hook that returns at once). */
typedef struct fz_stream {
    uint8_t buf[64];
    size_t len;
    int closed;
} fz_stream;
static int64_t fs_read(void *s, void *buf, size_t len) {
    fz_stream *f = s;
    size_t n = len < f->len ? len : f->len;
    memcpy(buf, f->buf, n);
    memmove(f->buf, f->buf + n, f->len - n);
    f->len -= n;
    return (int64_t)n;
}
static int64_t fs_write(void *s, const void *buf, size_t len) {
    fz_stream *f = s;
    if (len == 0) return 0;
    size_t n = len < sizeof f->buf - f->len ? len : sizeof f->buf - f->len;
    if (n == 0) return -ERYX__WASI_EAGAIN;
    memcpy(f->buf + f->len, buf, n);
    f->len += n;
    return (int64_t)n;
}
static bool fs_ready(void *s, bool for_write, struct pollfd *p) {
    fz_stream *f = s;
    p->fd = -1;
    p->events = POLLIN;
    return !for_write || f->len < sizeof f->buf;
}
static uint16_t fs_shutdown(void *s, int how) {
    (void)s;
    return how == 3 ? ERYX__WASI_ENOTCONN : 0;
}
static void fs_close(void *s) { ((fz_stream *)s)->closed++; }
static const eryx__wasi_stream_ops fz_stream_ops = {fs_read, fs_write, fs_ready, fs_shutdown, fs_close};
static int fz_wait(void *user, struct pollfd *fds, size_t n, uint64_t timeout_ns) {
    (void)user, (void)fds, (void)n, (void)timeout_ns;
    return 0;
}

static void setup_open(eryx__wasi *w, eryx__guest_mem mem, const char *path, uint32_t oflags) {
    size_t n = strlen(path);
    memcpy(mem.base, path, n);
    uint64_t a[9] = {3, 1, 0, n, oflags, ERYX__WASI_RIGHTS_ALL, ERYX__WASI_RIGHTS_ALL, 0, 64};
    eryx__wasi_find_import("path_open")->fn(w, mem, a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eryx__vfs *vfs = eryx__vfs_new();
    if (!vfs) return 0;
    void *tmp = eryx__vfs_mem_new(256 * 1024, 0);
    if (!tmp || eryx__vfs_mount(vfs, "/tmp", &eryx__vfs_mem_backend, tmp, false) != 0) {
        eryx__vfs_free(vfs);
        return 0;
    }
    static const char *const argv[] = {"python", "-c", "pass"};
    static const char *const env[] = {"HOME=/tmp", "X=1"};
    eryx__wasi_config cfg = {.argc = 3, .argv = argv, .envc = 2, .env = env, .vfs = vfs};
    cfg.io.read_stdin = fz_read;
    cfg.io.write_output = fz_write;
    cfg.io.sleep_ns = fz_sleep;
    cfg.io.wait = fz_wait;
    fz_stream stream = {.len = 0};
    bool streamed = false;
    eryx__wasi *w = eryx__wasi_new(&cfg);
    eryx__guest_mem mem = {malloc(MEM_LEN), MEM_LEN};
    if (!w || !mem.base) goto out;
    memset(mem.base, 0, MEM_LEN);

    /* Known state: fd 4 = /tmp/a (a file with bytes), fd 5 = /tmp/d (a directory),
    ** the next free fd (6) a stream. */
    setup_open(w, mem, "/tmp/a", ERYX__WASI_O_CREAT);
    memcpy(mem.base, "0123456789", 10);
    uint64_t wa[4] = {4, 100, 1, 108};
    memcpy(mem.base + 100, (const uint8_t[]){0, 0, 0, 0, 10, 0, 0, 0}, 8);
    eryx__wasi_find_import("fd_write")->fn(w, mem, wa);
    memset(mem.base, 0, 200);
    memcpy(mem.base, "/tmp/d", 6);
    uint64_t md[3] = {3, 0, 6};
    eryx__wasi_find_import("path_create_directory")->fn(w, mem, md);
    setup_open(w, mem, "/tmp/d", ERYX__WASI_O_DIRECTORY);
    if (eryx__wasi_add_stream(w, &fz_stream_ops, &stream, 1, false) < 4) abort(); /* the lowest free fd */
    streamed = true;
    memset(mem.base, 0, MEM_LEN);

    input in = {data, size};
    size_t fill = (size_t)take_n(&in, 2);
    if (fill > MEM_LEN - DICT_LEN) fill = MEM_LEN - DICT_LEN;
    if (fill > in.n) fill = in.n;
    memcpy(mem.base, in.p, fill);
    in.p += fill;
    in.n -= fill;
    for (int i = 0; i < NSLOTS; i++) {
        uint8_t *slot = mem.base + MEM_LEN - DICT_LEN + SLOT * i;
        memset(slot, '/', SLOT);
        memcpy(slot, dict[i], strlen(dict[i]));
    }

    for (int calls = 0; calls < MAX_CALLS && in.n; calls++) {
        const eryx__wasi_import *imp = &eryx__wasi_imports[take(&in) % eryx__wasi_import_count];
        uint64_t a[10] = {0};
        for (size_t k = 0; imp->params[k] && k < 10; k++) a[k] = arg(&in, imp->params[k] == 'I');
        int32_t r = imp->fn(w, mem, a);
        /* Every result is a WASI errno, or STOP from proc_exit. */
        if (r == ERYX__WASI_STOP ? strcmp(imp->name, "proc_exit") != 0 : (r < 0 || r > ERYX__WASI_ENOTCAPABLE)) abort();
    }
out:
    free(mem.base);
    eryx__wasi_free(w);
    if (streamed && stream.closed != 1) abort(); /* closed once: by the guest, or with the state */
    eryx__vfs_free(vfs);
    return 0;
}
