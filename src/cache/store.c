/* The disk tier of the artifact cache (contract and layout: store.h).
**
** Every file operation goes through descriptors of the modules/ and locks/
** directories opened once by eryx__store_open (openat, renameat, ...), so names
** are short and fixed-format, and a key is checked before any name is built from
** it. Cross-process coordination uses flock only: LOCK_SH on an entry = in use,
** LOCK_EX on an entry = being evicted/removed, LOCK_EX on a temp file = its writer
** is alive, LOCK_EX on locks/<key>.lock = that key is being built. */
/* XSI on top of the global POSIX level: realpath. */
#define _XOPEN_SOURCE 700
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define KEY_LEN 64
#define ENTRY_SUFFIX ".cwasm"
#define TEMP_INFIX ".cwasm.tmp."
#define NAME_MAX_LEN 128      /* longest name we build: "<key>.cwasm.tmp.<pid>.<n>" */
#define STALE_TEMP_SECONDS 60 /* a temp file this old with no live writer is garbage */
#define HASH_CHUNK (256u * 1024u)
#define WRITE_CHUNK (1u << 30) /* write() returns partial counts above ~2 GiB anyway */
#define GET_RETRIES 8 /* get re-opens when the entry was replaced under it */

static const char trailer_magic[8] = {'E', 'R', 'Y', 'X', 'C', 'W', 'S', 'M'};

struct eryx__store {
    char *dir;         /* canonical path of the cache dir */
    char *modules;     /* dir + "/modules", prefix of the entry paths handed out */
    int modules_fd;    /* -1 when modules/ is missing in a read-only dir (all misses) */
    int locks_fd;      /* -1 likewise */
    bool writable;     /* false: gets only; put and lock_key fail fast */
    eryx__store_limits limits;
    atomic_uint_least64_t temp_counter; /* temp names unique among this handle's threads */
    atomic_int fault_err;               /* test hook: errno to fail writes with, 0 = off */
    atomic_uint_least64_t fault_left;   /* bytes still allowed before that failure */
};

/* ---- small helpers ------------------------------------------------------------ */

/* Like eryx__fail without a status; err may be NULL (the caller wants no message). */
__attribute__((format(printf, 2, 3))) static void set_msg(eryx__errbuf *err, const char *fmt, ...) {
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

static void clear_msg(eryx__errbuf *err) {
    if (err) eryx__errbuf_clear(err);
}

/* strerror is not guaranteed thread-safe; the XSI strerror_r is (no _GNU_SOURCE here). */
typedef struct {
    char s[128];
} errstr;

static errstr err_text(int err) {
    errstr e;
    if (strerror_r(err, e.s, sizeof e.s) != 0) snprintf(e.s, sizeof e.s, "error %d", err);
    return e;
}

/* A hint for the failures a user can act on. */
static const char *err_hint(int err) {
    switch (err) {
    case ENOSPC:
    case EDQUOT: return "disk full: free space or run `eryx cache prune`";
    case EACCES:
    case EPERM: return "check the permissions of the cache dir or choose another one";
    case EROFS: return "the cache dir is on a read-only file system: choose another one";
    case EMFILE:
    case ENFILE: return "too many open files: raise the descriptor limit";
    case ENOMEM: return "out of memory";
    default: return "check the cache dir or choose another one";
    }
}

static bool is_hex_lower(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

static bool key_valid(const char *key) {
    if (!key) return false;
    for (int i = 0; i < KEY_LEN; i++)
        if (!is_hex_lower(key[i])) return false; /* also stops at a short key's NUL */
    return key[KEY_LEN] == '\0';
}

static bool check_key(const char *key, eryx__errbuf *err) {
    if (key_valid(key)) return true;
    set_msg(err, "invalid cache key %s%.80s%s: expected 64 lowercase hex digits", key ? "\"" : "",
            key ? key : "(null)", key ? "\"" : "");
    return false;
}

/* "<key>.cwasm" exactly; fills key (65 bytes) when it is. */
static bool parse_entry_name(const char *name, char *key) {
    for (int i = 0; i < KEY_LEN; i++)
        if (!is_hex_lower(name[i])) return false;
    if (strcmp(name + KEY_LEN, ENTRY_SUFFIX) != 0) return false;
    if (key) {
        memcpy(key, name, KEY_LEN);
        key[KEY_LEN] = '\0';
    }
    return true;
}

static bool is_temp_name(const char *name) {
    for (int i = 0; i < KEY_LEN; i++)
        if (!is_hex_lower(name[i])) return false;
    return strncmp(name + KEY_LEN, TEMP_INFIX, strlen(TEMP_INFIX)) == 0;
}

static void entry_name(const char *key, char name[NAME_MAX_LEN]) {
    snprintf(name, NAME_MAX_LEN, "%s" ENTRY_SUFFIX, key);
}

static void put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_le32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint64_t get_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* The hash is stored as two little-endian u64s, high half first (store.h). */
static void put_hash(uint8_t *p, XXH128_hash_t h) {
    put_le64(p, h.high64);
    put_le64(p + 8, h.low64);
}

static void build_trailer(uint8_t t[ERYX__STORE_TRAILER_SIZE], const char *key, uint64_t len, XXH128_hash_t h) {
    memset(t, 0, ERYX__STORE_TRAILER_SIZE);
    memcpy(t, trailer_magic, sizeof trailer_magic);
    put_le32(t + 8, ERYX__STORE_FORMAT);
    put_le32(t + 12, 0);
    put_le64(t + 16, len);
    memcpy(t + 24, key, KEY_LEN);
    put_hash(t + 88, h);
}

static int flock_retry(int fd, int op) {
    int rc;
    do rc = flock(fd, op);
    while (rc != 0 && errno == EINTR);
    return rc;
}

static bool same_file(const struct stat *a, const struct stat *b) {
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Removes name only if it still is the file described by st: a writer may have
** renamed a fresh good entry over the damaged one since it was checked. */
static int unlink_if_same(int dirfd, const char *name, const struct stat *st) {
    struct stat now;
    if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? 0 : -1;
    if (!same_file(&now, st)) return 0;
    return unlinkat(dirfd, name, 0);
}

static int64_t now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

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
        s->writable = s->modules_fd >= 0 && s->locks_fd >= 0 && dir_writable(s->modules_fd) &&
                      dir_writable(s->locks_fd);
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

/* ---- checking an entry ------------------------------------------------------ */

enum { CHECK_OK = 0, CHECK_BAD = 1, CHECK_ERR = -1 };

static ssize_t pread_full(int fd, void *buf, size_t n, off_t off) {
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, off + (off_t)done);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (r == 0) break;
        done += (size_t)r;
    }
    return (ssize_t)done;
}

/* Checks the open entry fd of size bytes against key: the trailer first (cheap
** rejections), then the payload's checksum, read in chunks (no mmap: a file
** truncated by someone else while mapped would SIGBUS us). CHECK_BAD fills why;
** CHECK_ERR (I/O, memory) fills why and leaves the entry alone. */
static int check_entry(int fd, uint64_t size, const char *key, eryx__errbuf *why) {
    if (size < ERYX__STORE_TRAILER_SIZE) {
        set_msg(why, "%llu bytes, shorter than the %u-byte trailer", (unsigned long long)size,
                ERYX__STORE_TRAILER_SIZE);
        return CHECK_BAD;
    }
    uint64_t payload = size - ERYX__STORE_TRAILER_SIZE; /* < 2^63: size came from an off_t */
    uint8_t t[ERYX__STORE_TRAILER_SIZE];
    ssize_t got = pread_full(fd, t, sizeof t, (off_t)payload);
    if (got < 0) {
        errstr es = err_text(errno);
        set_msg(why, "cannot read the trailer: %s", es.s);
        return CHECK_ERR;
    }
    if ((size_t)got != sizeof t) {
        set_msg(why, "file shrank while being read");
        return CHECK_BAD;
    }
    if (memcmp(t, trailer_magic, sizeof trailer_magic) != 0) {
        set_msg(why, "bad magic (not a trailer, or truncated)");
        return CHECK_BAD;
    }
    uint32_t version = get_le32(t + 8);
    if (version != ERYX__STORE_FORMAT) {
        set_msg(why, "format version %u, expected %u", (unsigned)version, ERYX__STORE_FORMAT);
        return CHECK_BAD;
    }
    if (get_le32(t + 12) != 0) {
        set_msg(why, "nonzero reserved field");
        return CHECK_BAD;
    }
    uint64_t len = get_le64(t + 16);
    if (len != payload) {
        set_msg(why, "length field says %llu bytes, the file holds %llu", (unsigned long long)len,
                (unsigned long long)payload);
        return CHECK_BAD;
    }
    for (int i = 0; i < KEY_LEN; i++) {
        if (!is_hex_lower((char)t[24 + i])) {
            set_msg(why, "the trailer's key is not 64 lowercase hex digits");
            return CHECK_BAD;
        }
    }
    if (memcmp(t + 24, key, KEY_LEN) != 0) {
        set_msg(why, "the trailer is for key %.64s", (const char *)(t + 24));
        return CHECK_BAD;
    }
    for (size_t i = 104; i < ERYX__STORE_TRAILER_SIZE; i++) {
        if (t[i] != 0) {
            set_msg(why, "nonzero padding in the trailer");
            return CHECK_BAD;
        }
    }

    XXH3_state_t *st = XXH3_createState();
    uint8_t *buf = malloc(HASH_CHUNK);
    if (!st || !buf || XXH3_128bits_reset(st) != XXH_OK) {
        XXH3_freeState(st);
        free(buf);
        set_msg(why, "out of memory");
        return CHECK_ERR;
    }
    int rc = CHECK_OK;
    for (uint64_t off = 0; off < payload;) {
        size_t n = payload - off < HASH_CHUNK ? (size_t)(payload - off) : HASH_CHUNK;
        got = pread_full(fd, buf, n, (off_t)off);
        if (got < 0) {
            errstr es = err_text(errno);
            set_msg(why, "cannot read the payload: %s", es.s);
            rc = CHECK_ERR;
            break;
        }
        if ((size_t)got != n) {
            set_msg(why, "file shrank while being read");
            rc = CHECK_BAD;
            break;
        }
        (void)XXH3_128bits_update(st, buf, n);
        off += n;
    }
    if (rc == CHECK_OK) {
        uint8_t want[16];
        put_hash(want, XXH3_128bits_digest(st));
        if (memcmp(want, t + 88, sizeof want) != 0) {
            set_msg(why, "checksum mismatch (payload damaged)");
            rc = CHECK_BAD;
        }
    }
    XXH3_freeState(st);
    free(buf);
    return rc;
}

/* ---- get --------------------------------------------------------------------- */

static eryx__store_result report_corrupt(eryx__store *s, const char *key, const char *name, const struct stat *st,
                                         const char *why, eryx__errbuf *err) {
    if (unlink_if_same(s->modules_fd, name, st) != 0) {
        errstr es = err_text(errno);
        set_msg(err, "cache entry %s/%s is damaged (%s) and could not be removed: %s", s->modules, name,
                why, es.s);
    } else {
        set_msg(err, "cache entry %s was damaged (%s); removed it", key, why);
    }
    return ERYX__STORE_CORRUPT;
}

eryx__store_result eryx__store_get(eryx__store *store, const char *key, eryx__store_entry *entry, eryx__errbuf *err) {
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
    if (!check_key(key, err)) return ERYX__STORE_ERROR;
    if (store->modules_fd < 0) return ERYX__STORE_MISS;
    char name[NAME_MAX_LEN];
    entry_name(key, name);

    for (int attempt = 0; attempt < GET_RETRIES; attempt++) {
        int fd = openat(store->modules_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0) {
            int e = errno;
            if (e == ENOENT) return ERYX__STORE_MISS;
            struct stat lst;
            if (e == ELOOP && fstatat(store->modules_fd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISLNK(lst.st_mode))
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
        int rc = check_entry(fd, (uint64_t)st.st_size, key, &why);
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
    if (!check_key(key, err)) return ERYX_ERR_INVALID_ARGUMENT;
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

static int write_all(eryx__store *s, int fd, const void *data, size_t n) {
    const char *p = data;
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

typedef struct {
    char key[KEY_LEN + 1];
    uint64_t size;
    struct timespec mtime;
} scan_rec;

static eryx_status evict(eryx__store *s, eryx__store_limits lim, const char *keep, size_t *removed, uint64_t *freed,
                 eryx__errbuf *err);
static uint64_t remove_stale_temps(eryx__store *s);

eryx_status eryx__store_put(eryx__store *store, const char *key, const void *payload, size_t len, eryx__errbuf *err) {
    clear_msg(err);
    if (!store) {
        set_msg(err, "eryx__store_put: no store");
        return ERYX_ERR_INVALID_ARGUMENT;
    }
    if (!check_key(key, err)) return ERYX_ERR_INVALID_ARGUMENT;
    if (!payload && len) {
        set_msg(err, "eryx__store_put: no payload");
        return ERYX_ERR_INVALID_ARGUMENT;
    }
    if (!store->writable) {
        set_msg(err, "cache dir %s is read-only: not storing %s (choose a writable cache dir)",
                store->dir, key);
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
    build_trailer(t, key, (uint64_t)len, XXH3_128bits(len ? payload : "", len));
    const char *step = "write";
    int e = 0;
    if (write_all(store, fd, payload, len) != 0 || write_all(store, fd, t, sizeof t) != 0) {
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
        set_msg(err, "cannot store cache entry %s in %s (%s failed): %s (%s)", key, store->modules, step,
                es.s, err_hint(e));
        return ERYX_ERR_IO;
    }
    /* Makes the rename durable. A failure is not reported: the entry is in place
    ** and correct, and one lost in a power cut is only rebuilt. */
    (void)fsync(store->modules_fd);

    /* Best effort: the entry is stored either way; `eryx cache prune` reports errors.
    ** A crashed writer's temp file would otherwise stay until someone runs verify. */
    if (store->limits.max_bytes || store->limits.max_entries) {
        (void)evict(store, store->limits, name, NULL, NULL, NULL);
    }
    (void)remove_stale_temps(store);
    return ERYX_OK;
}

void eryx__store_inject_write_fault(eryx__store *store, uint64_t after_bytes, int err) {
    if (!store) return;
    atomic_store(&store->fault_left, after_bytes);
    atomic_store(&store->fault_err, err);
}

/* ---- scanning, eviction, maintenance ------------------------------------------ */

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
        if (!parse_entry_name(de->d_name, key)) continue;
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
    } else if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 && same_file(&st, &now) &&
               S_ISREG(st.st_mode)) {
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

static eryx_status evict(eryx__store *s, eryx__store_limits lim, const char *keep, size_t *removed, uint64_t *freed,
                 eryx__errbuf *err) {
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
    return evict(store, limits, NULL, removed, freed_bytes, err);
}

/* Removes temp files of dead writers: older than a minute and not locked by a
** live writer. Returns bytes freed. */
static uint64_t remove_stale_temps(eryx__store *s) {
    DIR *d = open_modules(s);
    if (!d) return ERYX_OK;
    uint64_t freed = 0;
    int64_t now = now_seconds();
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!is_temp_name(de->d_name)) continue;
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
            set_msg(err, "cannot remove cache entry %s/%s: %s (%s)", store->modules, name, es.s,
                    err_hint(e));
            rc = ERYX_ERR_IO;
        } else if (r == 1) {
            nrem++;
            nfreed += size;
        }
    }
    free(v);
    (void)remove_stale_temps(store); /* not counted: removed/freed are about entries */
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
            set_msg(err, "cannot open cache entry %s/%s: %s (%s)", store->modules, name, es.s,
                    err_hint(e));
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
        int r = check_entry(fd, (uint64_t)st.st_size, v[i].key, &why);
        if (r == CHECK_ERR) {
            set_msg(err, "cannot verify cache entry %s/%s: %s", store->modules, name, why.msg);
            rc = ERYX_ERR_IO;
        } else {
            nchecked++;
            if (r == CHECK_BAD) {
                nbad++;
                if (unlink_if_same(store->modules_fd, name, &st) != 0) {
                    int e = errno;
                    errstr es = err_text(e);
                    size_t wl = strlen(why.msg);
                    snprintf(why.msg + wl, sizeof why.msg - wl, "; could not remove it: %s", es.s);
                    rc = ERYX_ERR_IO;
                    set_msg(err, "cannot remove damaged cache entry %s/%s: %s", store->modules, name,
                            es.s);
                }
                if (report) report(user, v[i].key, why.msg);
            }
        }
        close(fd);
    }
    free(v);
    if (store->writable) (void)remove_stale_temps(store);
    if (checked) *checked = nchecked;
    if (bad) *bad = nbad;
    return rc;
}
