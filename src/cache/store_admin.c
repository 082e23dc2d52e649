/* The disk store's administration (layout: store.h): scanning modules/, LRU eviction
** (also run by put), prune, clear, list and verify, and the removal of dead writers'
** temp files. An entry is removed only under its exclusive flock, so nothing a loader
** holds goes. Must not print or exit: every failure comes back with a message. */
/* XSI on top of the global POSIX level: strerror_r in err_text (store_int.h). */
#define _XOPEN_SOURCE 700
#include "store_int.h"

static int64_t now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

/* ---- scanning, eviction, maintenance ------------------------------------------ */

typedef struct {
    char key[KEY_LEN + 1];
    uint64_t size;
    struct timespec mtime;
} scan_rec;

/* Opens a fresh description of modules/ for readdir: a dup would share the read
** position with other threads. NULL with errno (ENOENT when there is none). */
static DIR *open_modules(eryx__store *s) {
    if (s->modules_fd < 0) {
        errno = ENOENT;
        return NULL;
    }
    int fd = openat(s->modules_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return NULL;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return d;
}

/* Collects the entries (regular files named <key>.cwasm). */
static eryx_status scan_entries(eryx__store *s, scan_rec **out, size_t *count, eryx__errbuf *err) {
    *out = NULL;
    *count = 0;
    DIR *d = open_modules(s);
    if (!d) {
        if (errno == ENOENT) return ERYX_OK;
        int e = errno;
        errstr es = err_text(e);
        set_msg(err, "cannot list %s: %s", s->modules ? s->modules : s->dir, es.s);
        return ERYX_ERR_IO;
    }
    scan_rec *v = NULL;
    size_t n = 0, cap = 0;
    eryx_status rc = ERYX_OK;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno) {
                errstr es = err_text(errno);
                set_msg(err, "cannot list %s: %s", s->modules, es.s);
                rc = ERYX_ERR_IO;
            }
            break;
        }
        char key[KEY_LEN + 1];
        if (!eryx__store_parse_entry_name(de->d_name, key)) continue;
        struct stat st;
        if (fstatat(s->modules_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            scan_rec *nv = realloc(v, ncap * sizeof *nv);
            if (!nv) {
                set_msg(err, "cannot list %s: out of memory", s->modules);
                rc = ERYX_ERR_NO_MEMORY;
                break;
            }
            v = nv;
            cap = ncap;
        }
        memcpy(v[n].key, key, sizeof key);
        v[n].size = (uint64_t)st.st_size;
        v[n].mtime = st.st_mtim;
        n++;
    }
    closedir(d);
    if (rc != ERYX_OK) {
        free(v);
        return rc;
    }
    *out = v;
    *count = n;
    return ERYX_OK;
}

static int cmp_mtime(const scan_rec *a, const scan_rec *b) {
    if (a->mtime.tv_sec != b->mtime.tv_sec) return a->mtime.tv_sec < b->mtime.tv_sec ? -1 : 1;
    if (a->mtime.tv_nsec != b->mtime.tv_nsec) return a->mtime.tv_nsec < b->mtime.tv_nsec ? -1 : 1;
    return strcmp(a->key, b->key);
}
static int cmp_oldest_first(const void *a, const void *b) { return cmp_mtime(a, b); }
static int cmp_newest_first(const void *a, const void *b) { return cmp_mtime(b, a); }

/* Removes an entry file unless someone holds it. 1 removed (*size set), 0 in use or
** gone or replaced, -1 error (errno). The exclusive lock is held across the unlink
** so no loader can take its shared lock on the file in between. */
static int remove_unused(int dirfd, const char *name, uint64_t *size) {
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) return errno == ENOENT ? 0 : -1;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK || e == EINTR) return 0; /* in use */
        errno = e;
        return -1;
    }
    struct stat st, now;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = -1;
    } else if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 && same_file(&st, &now) && S_ISREG(st.st_mode)) {
        /* A file renamed over it since the open is fresh: left alone above. */
        if (unlinkat(dirfd, name, 0) == 0) {
            *size = (uint64_t)st.st_size;
            rc = 1;
        } else if (errno != ENOENT) {
            rc = -1;
        }
    }
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

eryx_status eryx__store_evict(eryx__store *s, eryx__store_limits lim, const char *keep, size_t *removed,
                              uint64_t *freed, eryx__errbuf *err) {
    size_t nrem = 0;
    uint64_t nfreed = 0;
    if (removed) *removed = 0;
    if (freed) *freed = 0;
    if (!lim.max_bytes && !lim.max_entries) return ERYX_OK;
    scan_rec *v;
    size_t n;
    eryx_status scanned = scan_entries(s, &v, &n, err);
    if (scanned != ERYX_OK) return scanned;
    if (n > 1) qsort(v, n, sizeof *v, cmp_oldest_first);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) total += v[i].size;
    size_t count = n;
    eryx_status rc = ERYX_OK;
    for (size_t i = 0; i < n; i++) {
        bool over = (lim.max_bytes && total > lim.max_bytes) || (lim.max_entries && count > lim.max_entries);
        if (!over) break;
        char name[NAME_MAX_LEN];
        entry_name(v[i].key, name);
        if (keep && strcmp(name, keep) == 0) continue;
        uint64_t size = 0;
        int r = remove_unused(s->modules_fd, name, &size);
        if (r < 0) {
            int e = errno;
            errstr es = err_text(e);
            set_msg(err, "cannot remove cache entry %s/%s: %s (%s)", s->modules, name, es.s, err_hint(e));
            rc = ERYX_ERR_IO; /* keep going: other entries may still go */
            continue;
        }
        if (r == 0) continue; /* in use or already gone */
        /* Accounted by the size listed: that is what the totals were made of. */
        total -= v[i].size;
        count--;
        nrem++;
        nfreed += size;
    }
    free(v);
    if (removed) *removed = nrem;
    if (freed) *freed = nfreed;
    return rc;
}

eryx_status eryx__store_prune(eryx__store *store, eryx__store_limits limits, size_t *removed, uint64_t *freed_bytes,
                              eryx__errbuf *err) {
    clear_msg(err);
    if (removed) *removed = 0;
    if (freed_bytes) *freed_bytes = 0;
    if (!store) {
        set_msg(err, "eryx__store_prune: no store");
        return ERYX_ERR_INVALID_ARGUMENT;
    }
    if (!store->writable && (limits.max_bytes || limits.max_entries)) {
        set_msg(err, "cache dir %s is read-only: cannot prune it", store->dir);
        return ERYX_ERR_IO;
    }
    return eryx__store_evict(store, limits, NULL, removed, freed_bytes, err);
}

/* Removes temp files of dead writers: older than a minute and not locked by a
** live writer. Returns bytes freed. */
uint64_t eryx__store_remove_stale_temps(eryx__store *s) {
    DIR *d = open_modules(s);
    if (!d) return ERYX_OK;
    uint64_t freed = 0;
    int64_t now = now_seconds();
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!eryx__store_is_temp_name(de->d_name)) continue;
        struct stat st;
        if (fstatat(s->modules_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
        if (now - (int64_t)st.st_mtim.tv_sec < STALE_TEMP_SECONDS) continue;
        uint64_t size = 0;
        if (remove_unused(s->modules_fd, de->d_name, &size) == 1) freed += size;
    }
    closedir(d);
    return freed;
}

eryx_status eryx__store_clear(eryx__store *store, size_t *removed, uint64_t *freed_bytes, eryx__errbuf *err) {
    clear_msg(err);
    if (removed) *removed = 0;
    if (freed_bytes) *freed_bytes = 0;
    if (!store) {
        set_msg(err, "eryx__store_clear: no store");
        return ERYX_ERR_INVALID_ARGUMENT;
    }
    if (!store->writable) {
        set_msg(err, "cache dir %s is read-only: cannot clear it", store->dir);
        return ERYX_ERR_IO;
    }
    scan_rec *v;
    size_t n;
    eryx_status scanned = scan_entries(store, &v, &n, err);
    if (scanned != ERYX_OK) return scanned;
    size_t nrem = 0;
    uint64_t nfreed = 0;
    eryx_status rc = ERYX_OK;
    for (size_t i = 0; i < n; i++) {
        char name[NAME_MAX_LEN];
        entry_name(v[i].key, name);
        uint64_t size = 0;
        int r = remove_unused(store->modules_fd, name, &size);
        if (r < 0) {
            int e = errno;
            errstr es = err_text(e);
            set_msg(err, "cannot remove cache entry %s/%s: %s (%s)", store->modules, name, es.s, err_hint(e));
            rc = ERYX_ERR_IO;
        } else if (r == 1) {
            nrem++;
            nfreed += size;
        }
    }
    free(v);
    (void)eryx__store_remove_stale_temps(store); /* not counted: removed/freed are about entries */
    if (removed) *removed = nrem;
    if (freed_bytes) *freed_bytes = nfreed;
    return rc;
}

eryx_status eryx__store_list(eryx__store *store, eryx__store_info **out, size_t *count, eryx__errbuf *err) {
    clear_msg(err);
    if (out) *out = NULL;
    if (count) *count = 0;
    if (!store || !out || !count) {
        set_msg(err, "eryx__store_list: no store or no output");
        return ERYX_ERR_INVALID_ARGUMENT;
    }
    scan_rec *v;
    size_t n;
    eryx_status scanned = scan_entries(store, &v, &n, err);
    if (scanned != ERYX_OK) return scanned;
    if (n > 1) qsort(v, n, sizeof *v, cmp_newest_first);
    eryx__store_info *info = calloc(n ? n : 1, sizeof *info);
    if (!info) {
        free(v);
        set_msg(err, "cannot list %s: out of memory", store->modules);
        return ERYX_ERR_NO_MEMORY;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(info[i].key, v[i].key, sizeof info[i].key);
        info[i].size = v[i].size;
        info[i].last_used_s = (int64_t)v[i].mtime.tv_sec;
        /* In use = someone holds the shared lock, so an exclusive try fails. */
        char name[NAME_MAX_LEN];
        entry_name(v[i].key, name);
        int fd = openat(store->modules_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd >= 0) {
            if (flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) info[i].in_use = true;
            close(fd);
        }
    }
    free(v);
    *out = info;
    *count = n;
    return ERYX_OK;
}

eryx_status eryx__store_verify(eryx__store *store, void (*report)(void *user, const char *key, const char *problem),
                               void *user, size_t *checked, size_t *bad, eryx__errbuf *err) {
    clear_msg(err);
    if (checked) *checked = 0;
    if (bad) *bad = 0;
    if (!store) {
        set_msg(err, "eryx__store_verify: no store");
        return ERYX_ERR_INVALID_ARGUMENT;
    }
    scan_rec *v;
    size_t n;
    eryx_status scanned = scan_entries(store, &v, &n, err);
    if (scanned != ERYX_OK) return scanned;
    size_t nchecked = 0, nbad = 0;
    eryx_status rc = ERYX_OK;
    for (size_t i = 0; i < n; i++) {
        char name[NAME_MAX_LEN];
        entry_name(v[i].key, name);
        int fd = openat(store->modules_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0) {
            if (errno == ENOENT) continue; /* evicted since the scan */
            int e = errno;
            errstr es = err_text(e);
            set_msg(err, "cannot open cache entry %s/%s: %s (%s)", store->modules, name, es.s, err_hint(e));
            rc = ERYX_ERR_IO;
            continue;
        }
        struct stat st, now;
        /* Shared, like a loader: waits out an evictor, then skips what it removed. */
        if (flock_retry(fd, LOCK_SH) != 0 || fstat(fd, &st) != 0) {
            int e = errno;
            close(fd);
            errstr es = err_text(e);
            set_msg(err, "cannot check cache entry %s/%s: %s", store->modules, name, es.s);
            rc = ERYX_ERR_IO;
            continue;
        }
        if (fstatat(store->modules_fd, name, &now, AT_SYMLINK_NOFOLLOW) != 0 || !same_file(&st, &now) ||
            !S_ISREG(st.st_mode)) {
            close(fd);
            continue;
        }
        eryx__errbuf why;
        int r = eryx__store_check_entry(fd, (uint64_t)st.st_size, v[i].key, NULL, NULL, &why);
        if (r == CHECK_ERR) {
            set_msg(err, "cannot verify cache entry %s/%s: %s", store->modules, name, why.msg);
            rc = ERYX_ERR_IO;
        } else {
            nchecked++;
            if (r == CHECK_BAD) {
                nbad++;
                if (eryx__store_unlink_if_same(store->modules_fd, name, &st) != 0) {
                    int e = errno;
                    errstr es = err_text(e);
                    size_t wl = strlen(why.msg);
                    snprintf(why.msg + wl, sizeof why.msg - wl, "; could not remove it: %s", es.s);
                    rc = ERYX_ERR_IO;
                    set_msg(err, "cannot remove damaged cache entry %s/%s: %s", store->modules, name, es.s);
                }
                if (report) report(user, v[i].key, why.msg);
            }
        }
        close(fd);
    }
    free(v);
    if (store->writable) (void)eryx__store_remove_stale_temps(store);
    if (checked) *checked = nchecked;
    if (bad) *bad = nbad;
    return rc;
}
