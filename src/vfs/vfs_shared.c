/*
** Shared storage: one in-memory filesystem (vfs_mem.c) that several sandboxes
** mount at once, possibly from different threads, and that outlives them
** (eryx_storage_* in eryx.h). Every backend and file operation takes the
** storage's mutex and calls the in-memory backend, whose state is then never seen
** half-changed. The storage is reference-counted: by its creator and by each
** mount (a mount's `self` is a reference; destroy drops it).
*/
#include <pthread.h>
#include <stdlib.h>
#include "eryx.h"
#include "vfs.h"
#include "vfs_shared.h"

struct eryx_storage {
    pthread_mutex_t lock;
    size_t refs; /* under lock */
    void *mem;   /* the vfs_mem filesystem (one reference, ours) */
};

typedef struct sfile {
    eryx__vfs_file base;
    eryx_storage *st; /* a reference: a file may outlive its mount */
    eryx__vfs_file *inner;
} sfile;

eryx_storage *eryx_storage_new(uint64_t max_bytes) {
    eryx_storage *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (!(s->mem = eryx__vfs_mem_new(max_bytes, 0))) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->refs = 1;
    return s;
}

eryx_storage *eryx__storage_ref(eryx_storage *s) {
    pthread_mutex_lock(&s->lock);
    s->refs++;
    pthread_mutex_unlock(&s->lock);
    return s;
}

void eryx_storage_release(eryx_storage *s) {
    if (!s) return;
    pthread_mutex_lock(&s->lock);
    size_t left = --s->refs;
    pthread_mutex_unlock(&s->lock);
    if (left) return;
    eryx__vfs_mem_backend.destroy(s->mem);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

uint64_t eryx_storage_used(eryx_storage *s) {
    if (!s) return 0;
    pthread_mutex_lock(&s->lock);
    uint64_t used = eryx__vfs_mem_used(s->mem);
    pthread_mutex_unlock(&s->lock);
    return used;
}

/* ---- files: the inner file's operation under the lock ---- */
#define LOCKED(s, expr)                   \
    do {                                  \
        pthread_mutex_lock(&(s)->lock);   \
        e = (expr);                       \
        pthread_mutex_unlock(&(s)->lock); \
    } while (0)

static eryx__errno sf_pread(eryx__vfs_file *f, void *buf, size_t len, uint64_t offset, size_t *nread) {
    sfile *sf = (sfile *)f;
    eryx__errno e;
    if (!sf->inner->ops->pread) return ERYX__WASI_EISDIR;
    LOCKED(sf->st, sf->inner->ops->pread(sf->inner, buf, len, offset, nread));
    return e;
}
static eryx__errno sf_pwrite(eryx__vfs_file *f, const void *buf, size_t len, uint64_t offset, size_t *nwritten) {
    sfile *sf = (sfile *)f;
    eryx__errno e;
    if (!sf->inner->ops->pwrite) return ERYX__WASI_EISDIR;
    LOCKED(sf->st, sf->inner->ops->pwrite(sf->inner, buf, len, offset, nwritten));
    return e;
}
static eryx__errno sf_fstat(eryx__vfs_file *f, eryx__vfs_stat *out) {
    sfile *sf = (sfile *)f;
    eryx__errno e;
    LOCKED(sf->st, sf->inner->ops->fstat(sf->inner, out));
    return e;
}
static eryx__errno sf_truncate(eryx__vfs_file *f, uint64_t size) {
    sfile *sf = (sfile *)f;
    eryx__errno e;
    if (!sf->inner->ops->truncate) return ERYX__WASI_EISDIR;
    LOCKED(sf->st, sf->inner->ops->truncate(sf->inner, size));
    return e;
}
static eryx__errno sf_readdir(eryx__vfs_file *f, uint64_t cookie, eryx__vfs_dirent *out, bool *end) {
    sfile *sf = (sfile *)f;
    eryx__errno e;
    if (!sf->inner->ops->readdir) return ERYX__WASI_ENOTDIR;
    /* The entry's name points into the inner file, which only this file uses. */
    LOCKED(sf->st, sf->inner->ops->readdir(sf->inner, cookie, out, end));
    return e;
}
static eryx__errno sf_sync(eryx__vfs_file *f) {
    (void)f;
    return 0;
}
static void sf_close(eryx__vfs_file *f) {
    sfile *sf = (sfile *)f;
    pthread_mutex_lock(&sf->st->lock);
    sf->inner->ops->close(sf->inner);
    pthread_mutex_unlock(&sf->st->lock);
    eryx_storage_release(sf->st);
    free(sf);
}

static const eryx__vfs_file_ops shared_file_ops = {.pread = sf_pread,
                                                   .pwrite = sf_pwrite,
                                                   .fstat = sf_fstat,
                                                   .truncate = sf_truncate,
                                                   .readdir = sf_readdir,
                                                   .sync = sf_sync,
                                                   .close = sf_close};

/* ---- backend ---- */
static eryx__errno sh_open(void *self, const char *path, uint32_t flags, eryx__vfs_file **out) {
    eryx_storage *s = self;
    *out = NULL;
    sfile *sf = calloc(1, sizeof *sf);
    if (!sf) return ERYX__WASI_ENOMEM;
    eryx__errno e;
    LOCKED(s, eryx__vfs_mem_backend.open(s->mem, path, flags, &sf->inner));
    if (e) {
        free(sf);
        return e;
    }
    sf->base.ops = &shared_file_ops;
    sf->base.flags = sf->inner->flags;
    sf->st = eryx__storage_ref(s);
    *out = &sf->base;
    return 0;
}
static eryx__errno sh_stat(void *self, const char *path, bool follow, eryx__vfs_stat *out) {
    eryx_storage *s = self;
    eryx__errno e;
    LOCKED(s, eryx__vfs_mem_backend.stat(s->mem, path, follow, out));
    return e;
}
static eryx__errno sh_mkdir(void *self, const char *path) {
    eryx_storage *s = self;
    eryx__errno e;
    LOCKED(s, eryx__vfs_mem_backend.mkdir(s->mem, path));
    return e;
}
static eryx__errno sh_rmdir(void *self, const char *path) {
    eryx_storage *s = self;
    eryx__errno e;
    LOCKED(s, eryx__vfs_mem_backend.rmdir(s->mem, path));
    return e;
}
static eryx__errno sh_unlink(void *self, const char *path) {
    eryx_storage *s = self;
    eryx__errno e;
    LOCKED(s, eryx__vfs_mem_backend.unlink(s->mem, path));
    return e;
}
static eryx__errno sh_rename(void *self, const char *from, const char *to) {
    eryx_storage *s = self;
    eryx__errno e;
    LOCKED(s, eryx__vfs_mem_backend.rename(s->mem, from, to));
    return e;
}
static eryx__errno sh_readlink(void *self, const char *path, char *buf, size_t cap, size_t *len) {
    eryx_storage *s = self;
    eryx__errno e;
    LOCKED(s, eryx__vfs_mem_backend.readlink(s->mem, path, buf, cap, len));
    return e;
}
static void sh_destroy(void *self) { eryx_storage_release(self); }

const eryx__vfs_backend eryx__vfs_shared_backend = {.name = "storage",
                                                    .open = sh_open,
                                                    .stat = sh_stat,
                                                    .mkdir = sh_mkdir,
                                                    .rmdir = sh_rmdir,
                                                    .unlink = sh_unlink,
                                                    .rename = sh_rename,
                                                    .readlink = sh_readlink,
                                                    .destroy = sh_destroy};
