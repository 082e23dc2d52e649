/* The disk store's private header, shared by store.c (open/close, get, the build
** lock, put), store_entry.c (key and file names, the trailer, the entry check) and
** store_admin.c (scanning, eviction, prune, clear, list, verify): the handle, the
** name and format constants, and the small helpers all three use. Not for use
** outside src/cache/store*.c: everyone else goes through store.h. */
#ifndef ERYX_CACHE_STORE_INT_H
#define ERYX_CACHE_STORE_INT_H
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
#include <sys/mman.h>
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
#define GET_RETRIES 8          /* get re-opens when the entry was replaced under it */

struct eryx__store {
    char *dir;      /* canonical path of the cache dir */
    char *modules;  /* dir + "/modules", prefix of the entry paths handed out */
    int modules_fd; /* -1 when modules/ is missing in a read-only dir (all misses) */
    int locks_fd;   /* -1 likewise */
    bool writable;  /* false: gets only; put and lock_key fail fast */
    eryx__store_limits limits;
    atomic_uint_least64_t temp_counter; /* temp names unique among this handle's threads */
    atomic_int fault_err;               /* test hook: errno to fail writes with, 0 = off */
    atomic_uint_least64_t fault_left;   /* bytes still allowed before that failure */
};

/* ---- small helpers ------------------------------------------------------------ */

/* Like eryx__fail without a status; err may be NULL (the caller wants no message). */
__attribute__((format(printf, 2, 3))) static inline void set_msg(eryx__errbuf *err, const char *fmt, ...) {
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

static inline void clear_msg(eryx__errbuf *err) {
    if (err) eryx__errbuf_clear(err);
}

/* strerror is not guaranteed thread-safe; the XSI strerror_r is (no _GNU_SOURCE here). */
typedef struct {
    char s[128];
} errstr;

static inline errstr err_text(int err) {
    errstr e;
    if (strerror_r(err, e.s, sizeof e.s) != 0) snprintf(e.s, sizeof e.s, "error %d", err);
    return e;
}

/* A hint for the failures a user can act on. */
static inline const char *err_hint(int err) {
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

static inline bool is_hex_lower(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

static inline void entry_name(const char *key, char name[NAME_MAX_LEN]) {
    snprintf(name, NAME_MAX_LEN, "%s" ENTRY_SUFFIX, key);
}

static inline int flock_retry(int fd, int op) {
    int rc;
    do rc = flock(fd, op);
    while (rc != 0 && errno == EINTR);
    return rc;
}

static inline bool same_file(const struct stat *a, const struct stat *b) {
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* ---- store_entry.c: names and the entry format ------------------------------------ */

enum { CHECK_OK = 0, CHECK_BAD = 1, CHECK_ERR = -1 };

/* The key is 64 lowercase hex digits; false fills err (may be NULL). */
bool eryx__store_check_key(const char *key, eryx__errbuf *err);
/* "<key>.cwasm" exactly; fills key (65 bytes, may be NULL) when it is. */
bool eryx__store_parse_entry_name(const char *name, char *key);
/* "<key>.cwasm.tmp.<anything>": a put's temp file. */
bool eryx__store_is_temp_name(const char *name);
/* The trailer of a payload of len bytes with hash h, stored under key. */
void eryx__store_build_trailer(uint8_t t[ERYX__STORE_TRAILER_SIZE], const char *key, uint64_t len, XXH128_hash_t h);
/* unlinkat name in dirfd only if it still is st's file; 0 (also when gone) or -1 with errno. */
int eryx__store_unlink_if_same(int dirfd, const char *name, const struct stat *st);
/* CHECK_OK, CHECK_BAD or CHECK_ERR for the open entry fd of size bytes (store_entry.c). */
int eryx__store_check_entry(int fd, uint64_t size, const char *key, eryx__store_sink sink, void *user,
                            eryx__errbuf *why);

/* ---- store_admin.c: eviction and temp cleanup, also run by put ---------------------- */

/* Removes unused entries, oldest first, until lim holds, never keep (a name, may be NULL). */
eryx_status eryx__store_evict(eryx__store *s, eryx__store_limits lim, const char *keep, size_t *removed,
                              uint64_t *freed, eryx__errbuf *err);
/* Removes dead writers' temp files; returns the bytes freed. */
uint64_t eryx__store_remove_stale_temps(eryx__store *s);
#endif
