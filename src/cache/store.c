/* The disk tier of the artifact cache (contract and layout: store.h).
**
** Every file operation goes through descriptors of the modules/ and locks/
** directories opened once by eryx__store_open (openat, renameat, ...), so names
** are short and fixed-format, and a key is checked before any name is built from
** it. Cross-process coordination uses flock only: LOCK_SH on an entry = in use,
** LOCK_EX on an entry = being evicted/removed, LOCK_EX on a temp file = its writer
** is alive, LOCK_EX on locks/<key>.lock = that key is being built. */
/* This file owns the handle's lifecycle and the hot path: open/close, get (with its
** removal of a damaged entry), the per-key build lock, and put. The entry
** format lives in store_entry.c, listing and maintenance in store_admin.c. It must
** not print or exit. */
/* XSI on top of the global POSIX level: realpath. */
#define _XOPEN_SOURCE 700
#include "store_int.h"

/* ---- open / close ----------------------------------------------------------- */

/* mkdir -p with mode 0700 for the parts that do not exist yet. */
static eryx_status mkdir_p(const char *dir, eryx__errbuf *err) {
    size_t n = strlen(dir);
    char *p = malloc(n + 1);
    if (!p) {
        set_msg(err, "cannot create cache dir %s: out of memory", dir);
        return ERYX_ERR_NO_MEMORY;
    }
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        if (p[i - 1] == '/') continue; /* "//" */
        char saved = p[i];
        p[i] = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            int e = errno;
            struct stat st;
            /* mkdir may say EACCES/EROFS for a directory that already exists. */
            if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
                errstr es = err_text(e);
                set_msg(err, "cannot create cache dir %s: %s: %s (%s)", dir, p, es.s, err_hint(e));
                free(p);
                return ERYX_ERR_IO;
            }
        }
        p[i] = saved;
    }
    free(p);
    return ERYX_OK;
}

/* Opens (creating it when the store is writable) a subdirectory; -1 with errno. */
static int open_subdir(int dirfd, const char *name, bool create) {
    if (create && mkdirat(dirfd, name, 0700) != 0 && errno != EEXIST) return -1;
    return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

static bool dir_writable(int fd) {
    /* AT_EACCESS: the effective ids are what the kernel checks on writes. */
    return faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) == 0;
}

eryx__store *eryx__store_open(const char *dir, eryx__store_limits limits, eryx__errbuf *err) {
    clear_msg(err);
    if (!dir || !dir[0]) {
        set_msg(err, "no cache dir given");
        return NULL;
    }
    if (mkdir_p(dir, err) != 0) return NULL;
    eryx__store *s = calloc(1, sizeof *s);
    if (!s) {
        set_msg(err, "cannot open cache dir %s: out of memory", dir);
        return NULL;
    }
    s->modules_fd = s->locks_fd = -1;
    s->limits = limits;
    atomic_init(&s->temp_counter, 0);
    atomic_init(&s->fault_err, 0);
    atomic_init(&s->fault_left, 0);
    int dfd = -1;
    /* Canonical, so entry paths stay valid if the process changes directory. */
    s->dir = realpath(dir, NULL);
    if (!s->dir) {
        int e = errno;
        errstr es = err_text(e);
        set_msg(err, "cannot open cache dir %s: %s (%s)", dir, es.s, err_hint(e));
        goto fail;
    }
    dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || faccessat(dfd, ".", R_OK | X_OK, AT_EACCESS) != 0) {
        int e = errno;
        errstr es = err_text(e);
        set_msg(err, "cannot read cache dir %s: %s (%s)", s->dir, es.s, err_hint(e));
        goto fail;
    }
    s->writable = dir_writable(dfd);
    /* A read-only dir still serves hits; a missing modules/ in it means all misses. */
    s->modules_fd = open_subdir(dfd, "modules", s->writable);
    if (s->modules_fd < 0 && (s->writable || errno != ENOENT)) {
        int e = errno;
        errstr es = err_text(e);
        set_msg(err, "cannot open %s/modules: %s (%s)", s->dir, es.s, err_hint(e));
        goto fail;
    }
    s->locks_fd = open_subdir(dfd, "locks", s->writable);
    if (s->locks_fd < 0 && (s->writable || errno != ENOENT)) {
        int e = errno;
        errstr es = err_text(e);
        set_msg(err, "cannot open %s/locks: %s (%s)", s->dir, es.s, err_hint(e));
        goto fail;
    }
    if (s->writable)
        s->writable =
            s->modules_fd >= 0 && s->locks_fd >= 0 && dir_writable(s->modules_fd) && dir_writable(s->locks_fd);
    size_t n = strlen(s->dir);
    s->modules = malloc(n + sizeof "/modules");
    if (!s->modules) {
        set_msg(err, "cannot open cache dir %s: out of memory", s->dir);
        goto fail;
    }
    memcpy(s->modules, s->dir, n);
    memcpy(s->modules + n, "/modules", sizeof "/modules");
    close(dfd);
    return s;
fail:
    if (dfd >= 0) close(dfd);
    eryx__store_close(s);
    return NULL;
}

void eryx__store_close(eryx__store *store) {
    if (!store) return;
    if (store->modules_fd >= 0) close(store->modules_fd);
    if (store->locks_fd >= 0) close(store->locks_fd);
    free(store->dir);
    free(store->modules);
    free(store);
}

const char *eryx__store_dir(const eryx__store *store) { return store ? store->dir : NULL; }

/* ---- get --------------------------------------------------------------------- */

static eryx__store_result report_corrupt(eryx__store *s, const char *key, const char *name, const struct stat *st,
                                         const char *why, eryx__errbuf *err) {
    if (eryx__store_unlink_if_same(s->modules_fd, name, st) != 0) {
        errstr es = err_text(errno);
        set_msg(err, "cache entry %s/%s is damaged (%s) and could not be removed: %s", s->modules, name, why, es.s);
    } else {
        set_msg(err, "cache entry %s was damaged (%s); removed it", key, why);
    }
    return ERYX__STORE_CORRUPT;
}

static eryx__store_result get(eryx__store *store, const char *key, eryx__store_sink sink, void *user,
                              eryx__store_entry *entry, eryx__errbuf *err) {
    clear_msg(err);
    if (entry) {
        entry->path = NULL;
        entry->payload_len = 0;
        entry->lock_fd = -1;
    }
    if (!store || !entry) {
        set_msg(err, "eryx__store_get: no store or no entry");
        return ERYX__STORE_ERROR;
    }
    if (!eryx__store_check_key(key, err)) return ERYX__STORE_ERROR;
    if (store->modules_fd < 0) return ERYX__STORE_MISS;
    char name[NAME_MAX_LEN];
    entry_name(key, name);

    for (int attempt = 0; attempt < GET_RETRIES; attempt++) {
        int fd = openat(store->modules_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0) {
            int e = errno;
            if (e == ENOENT) return ERYX__STORE_MISS;
            struct stat lst;
            if (e == ELOOP && fstatat(store->modules_fd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lst.st_mode))
                return report_corrupt(store, key, name, &lst, "a symbolic link, not a file", err);
            errstr es = err_text(e);
            set_msg(err, "cannot open cache entry %s/%s: %s (%s)", store->modules, name, es.s, err_hint(e));
            return ERYX__STORE_ERROR;
        }
        /* The shared lock marks the entry in use; an evictor holds LOCK_EX only
        ** while it unlinks, so this waits briefly at most. */
        if (flock_retry(fd, LOCK_SH) != 0) {
            int e = errno;
            close(fd);
            errstr es = err_text(e);
            set_msg(err, "cannot lock cache entry %s/%s: %s", store->modules, name, es.s);
            return ERYX__STORE_ERROR;
        }
        struct stat st, now;
        if (fstat(fd, &st) != 0) {
            int e = errno;
            close(fd);
            errstr es = err_text(e);
            set_msg(err, "cannot stat cache entry %s/%s: %s", store->modules, name, es.s);
            return ERYX__STORE_ERROR;
        }
        /* Removed or replaced between open and lock: look again. */
        if (fstatat(store->modules_fd, name, &now, AT_SYMLINK_NOFOLLOW) != 0 || !same_file(&st, &now)) {
            close(fd);
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            close(fd);
            set_msg(err, "cache entry %s/%s is not a regular file: remove it", store->modules, name);
            return ERYX__STORE_ERROR;
        }
        eryx__errbuf why;
        int rc = eryx__store_check_entry(fd, (uint64_t)st.st_size, key, sink, user, &why);
        if (rc == CHECK_ERR) {
            close(fd);
            set_msg(err, "cannot verify cache entry %s/%s: %s", store->modules, name, why.msg);
            return ERYX__STORE_ERROR;
        }
        if (rc == CHECK_BAD) {
            eryx__store_result r = report_corrupt(store, key, name, &st, why.msg, err);
            close(fd);
            return r;
        }
        /* LRU bookkeeping only: a read-only dir or someone else's file must still
        ** serve the hit, so a failed touch is not an error. */
        (void)futimens(fd, NULL);
        size_t plen = strlen(store->modules);
        char *path = malloc(plen + 1 + strlen(name) + 1);
        if (!path) {
            close(fd);
            set_msg(err, "cache entry %s: out of memory", key);
            return ERYX__STORE_ERROR;
        }
        memcpy(path, store->modules, plen);
        path[plen] = '/';
        memcpy(path + plen + 1, name, strlen(name) + 1);
        entry->path = path;
        entry->payload_len = (uint64_t)st.st_size - ERYX__STORE_TRAILER_SIZE;
        entry->lock_fd = fd;
        return ERYX__STORE_HIT;
    }
    /* Replaced GET_RETRIES times in a row: somebody is churning it; build instead. */
    return ERYX__STORE_MISS;
}

eryx__store_result eryx__store_get(eryx__store *store, const char *key, eryx__store_entry *entry, eryx__errbuf *err) {
    return get(store, key, NULL, NULL, entry, err);
}

uint64_t eryx__store_payload_len(eryx__store *store, const char *key) {
    char name[NAME_MAX_LEN];
    struct stat st;
    if (!store || store->modules_fd < 0 || !eryx__store_check_key(key, NULL)) return 0;
    entry_name(key, name);
    if (fstatat(store->modules_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size <= ERYX__STORE_TRAILER_SIZE)
        return 0;
    return (uint64_t)st.st_size - ERYX__STORE_TRAILER_SIZE;
}

eryx__store_result eryx__store_read(eryx__store *store, const char *key, eryx__store_sink sink, void *user,
                                    eryx__store_entry *entry, eryx__errbuf *err) {
    return get(store, key, sink, user, entry, err);
}

void eryx__store_entry_release(eryx__store_entry *entry) {
    if (!entry) return;
    free(entry->path);
    entry->path = NULL;
    if (entry->lock_fd >= 0) close(entry->lock_fd);
    entry->lock_fd = -1;
    entry->payload_len = 0;
}

/* ---- build lock ---------------------------------------------------------------- */

eryx_status eryx__store_lock_key(eryx__store *store, const char *key, int *out_fd, eryx__errbuf *err) {
    clear_msg(err);
    *out_fd = -1;
    if (!store) {
        set_msg(err, "eryx__store_lock_key: no store");
        return ERYX_ERR_INVALID_ARGUMENT;
    }
    if (!eryx__store_check_key(key, err)) return ERYX_ERR_INVALID_ARGUMENT;
    if (!store->writable) {
        set_msg(err, "cache dir %s is read-only: building %s without the build lock", store->dir, key);
        return ERYX_ERR_IO;
    }
    char name[NAME_MAX_LEN];
    snprintf(name, sizeof name, "%s.lock", key);
    /* Never deleted: unlinking a lock file lets a second locker lock a new inode. */
    int fd = openat(store->locks_fd, name, O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        errstr es = err_text(e);
        set_msg(err, "cannot open build lock %s/locks/%s: %s (%s)", store->dir, name, es.s, err_hint(e));
        return ERYX_ERR_IO;
    }
    if (flock_retry(fd, LOCK_EX) != 0) {
        int e = errno;
        close(fd);
        errstr es = err_text(e);
        set_msg(err, "cannot take build lock %s/locks/%s: %s", store->dir, name, es.s);
        return ERYX_ERR_IO;
    }
    *out_fd = fd;
    return ERYX_OK;
}

void eryx__store_unlock(int fd) {
    if (fd < 0) return;
    /* Explicitly: a forked child sharing the descriptor would otherwise keep it. */
    (void)flock(fd, LOCK_UN);
    close(fd);
}

/* ---- put ------------------------------------------------------------------------- */

/* How many of n bytes may be written before the injected fault; 0 = fail now. */
static size_t fault_allow(eryx__store *s, size_t n, int *err) {
    *err = atomic_load(&s->fault_err);
    if (*err == 0) return n;
    uint_least64_t left = atomic_load(&s->fault_left);
    for (;;) {
        if (left == 0) return 0;
        uint_least64_t take = left < n ? left : n;
        if (atomic_compare_exchange_weak(&s->fault_left, &left, left - take)) return (size_t)take;
    }
}

/* Writes n bytes at fd's offset. */
static int write_run(eryx__store *s, int fd, const char *p, size_t n) {
    while (n > 0) {
        int ferr;
        size_t chunk = fault_allow(s, n < WRITE_CHUNK ? n : WRITE_CHUNK, &ferr);
        if (chunk == 0) {
            errno = ferr;
            return -1;
        }
        ssize_t w = write(fd, p, chunk);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (w == 0) { /* no progress and no error: treat as a full disk */
            errno = ENOSPC;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

#define HOLE_CHUNK 65536u

static bool zero_chunk(const char *p, size_t n) { return n == HOLE_CHUNK && !p[0] && !memcmp(p, p + 1, n - 1); }

/* Writes n bytes at fd's offset; whole 64 KiB chunks of zeros become holes (a
** start state is mostly zero pages: its entry then takes a third of the disk and
** of the write). What follows a final hole (the trailer) extends the file. */
static int write_all(eryx__store *s, int fd, const void *data, size_t n, bool sparse) {
    const char *p = data;
    while (n > 0) {
        size_t run = sparse ? 0 : n, step;
        while (run < n && !zero_chunk(p + run, step = n - run < HOLE_CHUNK ? n - run : HOLE_CHUNK)) run += step;
        if (run && write_run(s, fd, p, run) != 0) return -1;
        p += run, n -= run;
        if (n > 0) { /* a zero chunk */
            if (lseek(fd, HOLE_CHUNK, SEEK_CUR) < 0) return -1;
            p += HOLE_CHUNK, n -= HOLE_CHUNK;
        }
    }
    return 0;
}

eryx_status eryx__store_put(eryx__store *store, const char *key, const void *payload, size_t len, eryx__errbuf *err) {
    return eryx__store_put_sparse(store, key, payload, len, true, err);
}

eryx_status eryx__store_put_sparse(eryx__store *store, const char *key, const void *payload, size_t len, bool sparse,
                                   eryx__errbuf *err) {
    clear_msg(err);
    if (!store) {
        set_msg(err, "eryx__store_put: no store");
        return ERYX_ERR_INVALID_ARGUMENT;
    }
    if (!eryx__store_check_key(key, err)) return ERYX_ERR_INVALID_ARGUMENT;
    if (!payload && len) {
        set_msg(err, "eryx__store_put: no payload");
        return ERYX_ERR_INVALID_ARGUMENT;
    }
    if (!store->writable) {
        set_msg(err, "cache dir %s is read-only: not storing %s (choose a writable cache dir)", store->dir, key);
        return ERYX_ERR_IO;
    }
    char name[NAME_MAX_LEN], tmp[NAME_MAX_LEN];
    entry_name(key, name);
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 4; tries++) {
        unsigned long long n = (unsigned long long)atomic_fetch_add(&store->temp_counter, 1);
        snprintf(tmp, sizeof tmp, "%s" TEMP_INFIX "%ld.%llu", key, (long)getpid(), n);
        fd = openat(store->modules_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 && errno != EEXIST) break; /* EEXIST: a dead process with our pid left one */
    }
    if (fd < 0) {
        int e = errno;
        errstr es = err_text(e);
        set_msg(err, "cannot create a temp file in %s: %s (%s)", store->modules, es.s, err_hint(e));
        return ERYX_ERR_IO;
    }
    /* Tells verify/clear this writer is alive however long it takes. */
    (void)flock(fd, LOCK_EX | LOCK_NB);

    uint8_t t[ERYX__STORE_TRAILER_SIZE];
    eryx__store_build_trailer(t, key, (uint64_t)len, XXH3_128bits(len ? payload : "", len));
    const char *step = "write";
    int e = 0;
    if (write_all(store, fd, payload, len, sparse) != 0 || write_all(store, fd, t, sizeof t, sparse) != 0) {
        e = errno;
    } else if (fsync(fd) != 0) {
        e = errno;
        step = "fsync";
    }
    int c = close(fd);
    if (!e && c != 0) {
        e = errno;
        step = "close";
    }
    if (!e && renameat(store->modules_fd, tmp, store->modules_fd, name) != 0) {
        e = errno;
        step = "rename";
    }
    if (e) {
        (void)unlinkat(store->modules_fd, tmp, 0);
        errstr es = err_text(e);
        set_msg(err, "cannot store cache entry %s in %s (%s failed): %s (%s)", key, store->modules, step, es.s,
                err_hint(e));
        return ERYX_ERR_IO;
    }
    /* Makes the rename durable. A failure is not reported: the entry is in place
    ** and correct, and one lost in a power cut is only rebuilt. */
    (void)fsync(store->modules_fd);

    /* Best effort: the entry is stored either way; `eryx cache prune` reports errors.
    ** A crashed writer's temp file would otherwise stay until someone runs verify. */
    if (store->limits.max_bytes || store->limits.max_entries) {
        (void)eryx__store_evict(store, store->limits, name, NULL, NULL, NULL);
    }
    (void)eryx__store_remove_stale_temps(store);
    return ERYX_OK;
}

void eryx__store_inject_write_fault(eryx__store *store, uint64_t after_bytes, int err) {
    if (!store) return;
    atomic_store(&store->fault_left, after_bytes);
    atomic_store(&store->fault_err, err);
}
