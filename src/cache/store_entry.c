/* The disk store's names and entry format (layout: store.h): key checks, entry and
** temp file names, the little-endian trailer, and the check of an entry file against
** its key (trailer, then the payload's XXH3-128). Used by store.c and store_admin.c;
** it holds no state, takes no locks and must not print or exit. */
/* XSI on top of the global POSIX level: strerror_r in err_text (store_int.h). */
#define _XOPEN_SOURCE 700
#include "store_int.h"
#include <stdbool.h>
#ifndef SEEK_DATA
#define SEEK_DATA 3 /* Linux's value; hidden by the XSI level this file needs for strerror_r */
#endif
#ifndef SEEK_HOLE
#define SEEK_HOLE 4 /* the same */
#endif

/* ---- names and the trailer ------------------------------------------------------- */

static const char trailer_magic[8] = {'E', 'R', 'Y', 'X', 'C', 'W', 'S', 'M'};

static bool key_valid(const char *key) {
    if (!key) return false;
    for (int i = 0; i < KEY_LEN; i++)
        if (!is_hex_lower(key[i])) return false; /* also stops at a short key's NUL */
    return key[KEY_LEN] == '\0';
}

bool eryx__store_check_key(const char *key, eryx__errbuf *err) {
    if (key_valid(key)) return true;
    set_msg(err, "invalid cache key %s%.80s%s: expected 64 lowercase hex digits", key ? "\"" : "", key ? key : "(null)",
            key ? "\"" : "");
    return false;
}

/* "<key>.cwasm" exactly; fills key (65 bytes) when it is. */
bool eryx__store_parse_entry_name(const char *name, char *key) {
    for (int i = 0; i < KEY_LEN; i++)
        if (!is_hex_lower(name[i])) return false;
    if (strcmp(name + KEY_LEN, ENTRY_SUFFIX) != 0) return false;
    if (key) {
        memcpy(key, name, KEY_LEN);
        key[KEY_LEN] = '\0';
    }
    return true;
}

bool eryx__store_is_temp_name(const char *name) {
    for (int i = 0; i < KEY_LEN; i++)
        if (!is_hex_lower(name[i])) return false;
    return strncmp(name + KEY_LEN, TEMP_INFIX, strlen(TEMP_INFIX)) == 0;
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

void eryx__store_build_trailer(uint8_t t[ERYX__STORE_TRAILER_SIZE], const char *key, uint64_t len, XXH128_hash_t h) {
    memset(t, 0, ERYX__STORE_TRAILER_SIZE);
    memcpy(t, trailer_magic, sizeof trailer_magic);
    put_le32(t + 8, ERYX__STORE_FORMAT);
    put_le32(t + 12, 0);
    put_le64(t + 16, len);
    memcpy(t + 24, key, KEY_LEN);
    put_hash(t + 88, h);
}

/* Removes name only if it still is the file described by st: a writer may have
** renamed a fresh good entry over the damaged one since it was checked. */
int eryx__store_unlink_if_same(int dirfd, const char *name, const struct stat *st) {
    struct stat now;
    if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? 0 : -1;
    if (!same_file(&now, st)) return 0;
    return unlinkat(dirfd, name, 0);
}

/* ---- checking an entry ------------------------------------------------------ */

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
** rejections), then the payload's checksum, over a mapping of the file in chunks
** (read into a buffer when it cannot be mapped), each chunk also handed to sink
** when there is one (one pass for a reader that keeps the bytes). CHECK_BAD fills
** why; CHECK_ERR (I/O, memory) fills why and leaves the entry alone. */
int eryx__store_check_entry(int fd, uint64_t size, const char *key, eryx__store_sink sink, void *user,
                            eryx__errbuf *why) {
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
    if (!st || XXH3_128bits_reset(st) != XXH_OK) {
        XXH3_freeState(st);
        set_msg(why, "out of memory");
        return CHECK_ERR;
    }
    /* Mapped, not read: a read copies every byte out of the page cache, which
    ** was most of a new process's first sandbox (a 20 MB start state and an 18 MB
    ** module per process). A file truncated by another process while mapped would
    ** SIGBUS us; eryx never truncates an entry (it replaces them by rename, and
    ** the shared lock keeps evictors away), and the module's own load maps the
    ** file as well, so only a foreign writer could, as it could corrupt any file
    ** we use. Reading stays the fallback when the mapping is refused. */
    const uint8_t *map = payload ? mmap(NULL, (size_t)payload, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    if (map == MAP_FAILED) map = NULL;
    uint8_t *buf = malloc(HASH_CHUNK); /* also for mapped chunks at a hole's edge */
    int rc = CHECK_OK;
    if (payload && !buf) {
        set_msg(why, "out of memory");
        rc = CHECK_ERR;
    }
    /* The holes of a sparse entry (store.c writes zero runs as 64 KiB-aligned holes)
    ** are hashed from zeros, never touched through the mapping: that would make the
    ** kernel allocate and clear a page for each, and on a full tmpfs it cannot, so
    ** the read faulted with SIGBUS. Chunks stop at each hole's edges for that, kept
    ** on 64 KiB boundaries (the image sink takes whole 64 KiB chunks); a chunk with
    ** part of a shorter hole in it (a copy made by cp --sparse) is read with pread,
    ** which serves a hole without allocating. */
    enum { ALIGN = 65536 };
    static const uint8_t zeros[HASH_CHUNK];
    off_t seg_end = 0;                  /* [off, seg_end) is all hole or all data */
    off_t data_from = 0, hole_from = 0; /* a data segment's true edges */
    bool seg_hole = false;
    for (uint64_t off = 0; rc == CHECK_OK && off < payload;) {
        size_t n = payload - off < HASH_CHUNK ? (size_t)(payload - off) : HASH_CHUNK;
        const uint8_t *chunk = map ? map + off : buf;
        if (map && (off_t)off >= seg_end) {
            off_t d = lseek(fd, (off_t)off, SEEK_DATA); /* unsupported (EINVAL): all data */
            seg_hole = false;
            seg_end = hole_from = (off_t)payload;
            data_from = (off_t)off;
            if (d < 0 && errno == ENXIO) { /* a hole to the end */
                seg_hole = true;
            } else if (d > (off_t)off && d / ALIGN * ALIGN > (off_t)off) {
                seg_hole = true;
                seg_end = d / ALIGN * ALIGN;
            } else if (d >= (off_t)off) { /* data from d (a hole before it too short to skip) */
                off_t h = lseek(fd, d, SEEK_HOLE);
                data_from = d;
                if (h > d) seg_end = (h + ALIGN - 1) / ALIGN * ALIGN, hole_from = h;
            }
        }
        if (map && (off_t)(off + n) > seg_end) n = (size_t)(seg_end - (off_t)off);
        if (map && seg_hole) chunk = zeros;
        bool edge = map && !seg_hole && ((off_t)off < data_from || (off_t)(off + n) > hole_from);
        if (!map || edge) {
            chunk = buf;
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
        }
        (void)XXH3_128bits_update(st, chunk, n);
        if (sink && sink(user, off, chunk, n) != 0) {
            set_msg(why, "the payload's reader failed");
            rc = CHECK_ERR;
            break;
        }
        off += n;
    }
    if (map) munmap((void *)map, (size_t)payload);
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
