/*
** The WASI host's private header, shared by wasi.c (the table, the state's
** lifecycle, args, environment, clocks, random, poll_oneoff) and wasi_fs.c (reads,
** writes, fd metadata, paths): the state, the fd table, and guest-memory access.
** Every guest pointer goes through mem_range() before a host pointer into guest
** memory is formed (gptr() only after it).
*/
#ifndef ERYX_WASI_INT_H
#define ERYX_WASI_INT_H
#include "wasi.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PATH_MAX_LEN 4096
#define PATH_CAP (PATH_MAX_LEN + 1)
#define MAX_IOVS 1024
#define MAX_SUBSCRIPTIONS 4096
#define FIRST_GUEST_FD 4
#define ROOT_FD 3

#define RIGHT_FD_DATASYNC ((uint64_t)1 << 0)
#define RIGHT_FD_READ ((uint64_t)1 << 1)
#define RIGHT_FD_WRITE ((uint64_t)1 << 6)
#define RIGHT_FD_READDIR ((uint64_t)1 << 14)

#define FST_ALL (ERYX__WASI_FST_ATIM | ERYX__WASI_FST_ATIM_NOW | ERYX__WASI_FST_MTIM | ERYX__WASI_FST_MTIM_NOW)
#define OFLAGS_ALL (ERYX__WASI_O_CREAT | ERYX__WASI_O_DIRECTORY | ERYX__WASI_O_EXCL | ERYX__WASI_O_TRUNC)
#define FDFLAGS_ALL                                                                                              \
    (ERYX__WASI_FDFLAG_APPEND | ERYX__WASI_FDFLAG_DSYNC | ERYX__WASI_FDFLAG_NONBLOCK | ERYX__WASI_FDFLAG_RSYNC | \
     ERYX__WASI_FDFLAG_SYNC)

enum fd_kind { FD_FREE = 0, FD_STDIN, FD_STDOUT, FD_STDERR, FD_ROOT, FD_FILE, FD_DIR, FD_STREAM };

typedef struct fd_entry {
    uint8_t kind;                      /* enum fd_kind */
    uint8_t filetype;                  /* for FD_FILE: what fstat said at open */
    uint16_t fdflags;                  /* only APPEND is kept (and NONBLOCK for FD_STREAM) */
    eryx__vfs_file *file;              /* FD_FILE, FD_DIR */
    const eryx__wasi_stream_ops *sops; /* FD_STREAM: its ops, stream and wait bound */
    void *stream;
    uint64_t stream_timeout_ns;
    char *path;      /* absolute normalized guest path (FD_ROOT, FD_FILE, FD_DIR) */
    uint64_t offset; /* never above INT64_MAX */
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
    /* What the last path_filestat_get through a directory fd found: wasi-libc's
    ** access() asks it, then fd_fdstat_get of the same fd, whose inheriting rights
    ** then answer for that path (one preopen serves every mount). 0: none. */
    uint32_t stat_dirfd;
    bool stat_readonly;
};


/* ---- guest memory ------------------------------------------------------------- */

static inline bool mem_range(eryx__guest_mem m, uint32_t ptr, uint64_t len) {
    if (!m.base) return false;
    return (uint64_t)ptr <= (uint64_t)m.len && len <= (uint64_t)m.len - ptr;
}

/* Only after mem_range(m, ptr, ...) succeeded. */
static inline uint8_t *gptr(eryx__guest_mem m, uint32_t ptr) { return m.base + ptr; }

static inline void put_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t get_u32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static inline uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static inline bool store(eryx__guest_mem m, uint32_t ptr, const void *src, size_t len) {
    if (!mem_range(m, ptr, len)) return false;
    if (len) memcpy(gptr(m, ptr), src, len);
    return true;
}
static inline bool store_u32(eryx__guest_mem m, uint32_t ptr, uint32_t v) {
    uint8_t b[4];
    put_u32(b, v);
    return store(m, ptr, b, sizeof b);
}
static inline bool store_u64(eryx__guest_mem m, uint32_t ptr, uint64_t v) {
    uint8_t b[8];
    put_u64(b, v);
    return store(m, ptr, b, sizeof b);
}

#define A32(i) ((uint32_t)args[i])
#define A64(i) (args[i])


/* ---- fds (wasi.c) --------------------------------------------------------------- */
static inline fd_entry *fd_get(eryx__wasi *w, uint32_t fd) {
    if (fd >= ERYX__WASI_MAX_FDS || w->fds[fd].kind == FD_FREE) return NULL;
    return &w->fds[fd];
}

static inline bool is_stdio(const fd_entry *e) {
    return e->kind == FD_STDIN || e->kind == FD_STDOUT || e->kind == FD_STDERR;
}
static inline bool is_dir(const fd_entry *e) { return e->kind == FD_ROOT || e->kind == FD_DIR; }

/* Closes e's file and frees its path; e is FD_FREE after. */
void eryx__wasi_fd_release(fd_entry *e);
/* What e is (its file's fstat, else its path's stat). */
eryx__errno eryx__wasi_entry_stat(eryx__wasi *w, fd_entry *e, eryx__vfs_stat *st);
/* Resolves (dirfd, guest path) to an absolute normalized guest path in out. */
eryx__errno eryx__wasi_guest_path(eryx__wasi *w, eryx__guest_mem m, uint32_t dirfd, uint32_t ptr, uint32_t len,
                                  char out[PATH_CAP]);

/* ---- stream fds (wasi_stream.c) ----------------------------------------------- */
/* fd_read / fd_write on a stream fd: up to cap bytes into or from host buffer p
** (a checked view of guest memory); *done gets the count. Blocking unless the fd
** is NONBLOCK, each wait bounded by its timeout. */
eryx__errno eryx__wasi_stream_read(eryx__wasi *w, fd_entry *e, uint8_t *p, size_t cap, bool more, size_t *done);
eryx__errno eryx__wasi_stream_write(eryx__wasi *w, fd_entry *e, const uint8_t *p, size_t len, bool partial_ok,
                                    size_t *done);
/* After a blocking write's last iovec: waits until the stream holds nothing back. */
eryx__errno eryx__wasi_stream_drain(eryx__wasi *w, fd_entry *e);
/* io.wait, or poll(2) without one. */
int eryx__wasi_wait(eryx__wasi *w, struct pollfd *fds, size_t n, uint64_t timeout_ns);
int32_t eryx__wasi_sock_shutdown(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);

/* ---- the imports wasi_fs.c defines (the table is wasi.c's) ------------------------ */
int32_t eryx__wasi_fd_read(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_fd_pread(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_fd_write(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_fd_pwrite(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_fd_seek(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_fd_tell(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_fd_close(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_fd_sync(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_fd_advise(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_fd_fdstat_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_fd_fdstat_set_flags(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_fd_filestat_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_fd_filestat_set_size(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_fd_filestat_set_times(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_fd_prestat_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_fd_prestat_dir_name(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_fd_readdir(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_path_open(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_path_create_directory(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_path_remove_directory(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_path_unlink_file(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_path_rename(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_path_filestat_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_path_filestat_set_times(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_path_readlink(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_path_link(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);
int32_t eryx__wasi_path_symlink(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args);

#endif
