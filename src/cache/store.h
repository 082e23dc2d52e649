/*
** The disk tier of eryx's artifact cache: a directory of content-addressed entries,
** bounded in size and count, with least-recently-used eviction, safe under
** concurrent processes and threads, and robust to damaged files.
**
** Layout under the cache dir:
**   modules/<key>.cwasm    an entry: the payload (a serialized wasmtime module),
**                          then a fixed 128-byte trailer (below). The payload stays
**                          at offset 0 so wasmtime can mmap the file as it is.
**   modules/<key>.cwasm.tmp.<pid>.<n>   an entry being written (never read)
**   locks/<key>.lock       flock'ed while one process builds that key
**
** Trailer (little-endian), the file's last 128 bytes:
**   0   magic "ERYXCWSM" (8 bytes)
**   8   u32 trailer format version (ERYX__STORE_FORMAT)
**   12  u32 reserved, 0
**   16  u64 payload length (file size - 128)
**   24  key: 64 lowercase hex digits
**   88  XXH3-128 of the payload (16 bytes: the high 64 bits then the low 64 bits,
**       each little-endian)
**   104 24 bytes of zero
**
** In use: a process that loaded an entry holds a shared flock on the entry file
** while it uses it; prune and clear skip entries they cannot lock exclusively
** (and on Linux an unlinked file stays valid for whoever has it mapped anyway).
** LRU: a hit sets the entry file's mtime to now; eviction removes the oldest.
**
** Nothing here prints or exits; every failure comes back with a message.
*/
#ifndef ERYX_CACHE_STORE_H
#define ERYX_CACHE_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../common/errbuf.h"

#define ERYX__STORE_FORMAT 1u
#define ERYX__STORE_TRAILER_SIZE 128u

typedef struct eryx__store eryx__store;

typedef struct eryx__store_limits {
    uint64_t max_bytes;   /* total bytes of entry files; 0 = no limit */
    uint64_t max_entries; /* 0 = no limit */
} eryx__store_limits;

/* Opens (creating with mode 0700 if missing, parents included) a store at dir.
** NULL with a message in err (may be NULL: no message) only when the directory
** cannot be created or read (the caller then runs without a disk cache and warns). A read-only directory opens
** and serves hits; put, lock_key, prune and clear then fail saying it is read-only. A store handle may be
** used by several threads at once. */
eryx__store *eryx__store_open(const char *dir, eryx__store_limits limits, eryx__errbuf *err);
void eryx__store_close(eryx__store *store); /* NULL allowed */
const char *eryx__store_dir(const eryx__store *store);

typedef enum {
    ERYX__STORE_HIT,     /* *entry is valid */
    ERYX__STORE_MISS,    /* no entry for the key */
    ERYX__STORE_CORRUPT, /* there was one, damaged (message says how): it was removed */
    ERYX__STORE_ERROR,   /* the entry could not be read (permissions, I/O): message */
} eryx__store_result;

typedef struct eryx__store_entry {
    char *path;           /* the entry file, for wasmtime_module_deserialize_file */
    uint64_t payload_len; /* bytes before the trailer */
    int lock_fd;          /* holds the shared "in use" lock; -1 if none */
} eryx__store_entry;

/* Looks a key (64 hex digits) up. On a hit the trailer (magic, version, length,
** key) and the payload's checksum have been verified, the entry's mtime is set to
** now, and *entry holds its path and a shared lock: release it with
** eryx__store_entry_release when the loaded module is dropped. A damaged entry
** (truncated, bad magic, foreign version, wrong key, bad checksum, wrong length)
** is removed and reported as CORRUPT; nothing is deserialized from it. CORRUPT
** and ERROR leave a message in err. */
eryx__store_result eryx__store_get(eryx__store *store, const char *key, eryx__store_entry *entry, eryx__errbuf *err);
void eryx__store_entry_release(eryx__store_entry *entry); /* frees path, closes the lock; safe to call twice */

/* The payload size of key's entry as its file's size says (not checked: the read
** checks it), or 0 when there is none. For a reader that sizes its buffer first. */
uint64_t eryx__store_payload_len(eryx__store *store, const char *key);

/* Receives a payload in order, in chunks (offsets multiples of 256 KiB), valid
** during the call; returns 0, or -1 to stop (the read is then an ERROR). */
typedef int (*eryx__store_sink)(void *user, uint64_t off, const uint8_t *data, size_t n);

/* eryx__store_get that also hands the payload to sink while its checksum is
** computed: one pass over the file, each chunk hashed and handed over from the
** same mapping. Whatever sink got must be discarded unless the result is a HIT. */
eryx__store_result eryx__store_read(eryx__store *store, const char *key, eryx__store_sink sink, void *user,
                                    eryx__store_entry *entry, eryx__errbuf *err);

/* Takes the exclusive build lock of a key, waiting for another builder (thread or
** process) to finish. ERYX_OK with *fd a descriptor for eryx__store_unlock, or a
** status (*fd = -1) with a message in err: ERYX_ERR_INVALID_ARGUMENT (no store, a
** bad key), ERYX_ERR_IO (read-only dir, open or flock failed); the caller then
** builds without the lock. A builder that dies releases it (flock), so no lock is
** ever stuck. */
eryx_status eryx__store_lock_key(eryx__store *store, const char *key, int *fd, eryx__errbuf *err);
void eryx__store_unlock(int fd);

/* Stores payload under key: writes payload + trailer to a temp file, fsyncs it,
** renames it into place, fsyncs the directory, then evicts least-recently-used
** entries (never ones in use) until the limits hold. Returns ERYX_OK, or
** ERYX_ERR_IO (disk full, permission denied, read-only dir, ...) or
** ERYX_ERR_INVALID_ARGUMENT (no store, a bad key) with a message in err, having
** left nothing behind: no temp file and no damage to other entries. */
eryx_status eryx__store_put(eryx__store *store, const char *key, const void *payload, size_t len, eryx__errbuf *err);
/* The same, with holes only where `sparse` (eryx__store_put: always). Compiled
** modules are stored dense: wasmtime maps the entry and reads it in place, and a
** hole read through a mapping on a full tmpfs faults with SIGBUS (the kernel cannot
** allocate the page). Start-state images are only read through the entry check,
** which hashes holes from zeros. */
eryx_status eryx__store_put_sparse(eryx__store *store, const char *key, const void *payload, size_t len, bool sparse,
                                   eryx__errbuf *err);

/* ---- maintenance (eryx cache list/stats/verify/prune/clear) -------------------- */
typedef struct eryx__store_info {
    char key[65];
    uint64_t size;       /* bytes of the entry file */
    int64_t last_used_s; /* mtime, seconds since the epoch */
    bool in_use;         /* another process holds it */
} eryx__store_info;

/* Lists entries, most recently used first. *out is malloc'd (caller frees). Temp
** files and foreign files are not listed. Returns ERYX_OK, or a status
** (ERYX_ERR_IO, ERYX_ERR_NO_MEMORY, ERYX_ERR_INVALID_ARGUMENT) with a message in
** err. The maintenance calls below return statuses the same way. */
eryx_status eryx__store_list(eryx__store *store, eryx__store_info **out, size_t *count, eryx__errbuf *err);

/* Verifies every entry as eryx__store_get would (without touching mtimes); each
** damaged one is removed and passed to report (may be NULL). *bad gets how many.
** Also removes temp files left by dead writers (older than a minute). */
eryx_status eryx__store_verify(eryx__store *store, void (*report)(void *user, const char *key, const char *problem),
                               void *user, size_t *checked, size_t *bad, eryx__errbuf *err);

/* Evicts least-recently-used entries not in use until the limits hold. */
eryx_status eryx__store_prune(eryx__store *store, eryx__store_limits limits, size_t *removed, uint64_t *freed_bytes,
                              eryx__errbuf *err);

/* Removes every entry not in use (and stale temp files). */
eryx_status eryx__store_clear(eryx__store *store, size_t *removed, uint64_t *freed_bytes, eryx__errbuf *err);

/* Test hook (fault injection): after `after_bytes` more bytes are written by
** eryx__store_put on this handle, writes fail with errno `err` (e.g. ENOSPC).
** err = 0 turns it off. */
void eryx__store_inject_write_fault(eryx__store *store, uint64_t after_bytes, int err);

#endif
