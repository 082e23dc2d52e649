/*
** A read-only zip image served from memory (an mmap of the stdlib zip).
**
** The whole central directory is parsed and checked at open, so that serving a
** file later is a bounds-checked memcpy and the image can be shared, immutable,
** by sandboxes in many threads (only the reference count changes, atomically).
** Every offset and length read from the file is checked against the file size
** with arithmetic that cannot overflow (all in uint64_t, sizes < 2^32 each).
**
** The index holds every member plus the directories its path implies, sorted by
** path (binary search); each directory's children are a sorted run in `children`.
*/
#include "vfs.h"
#include "vfs_internal.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ZIP_ROOT UINT32_MAX /* parent index of top-level entries */
#define ZIP_DEV 0x7a6970u   /* "zip"; the mount table overrides it */
#define EOCD_SIZE 22u
#define EOCD_SEARCH (EOCD_SIZE + 0xFFFFu) /* the record plus the longest comment */
#define CDH_SIZE 46u
#define LFH_SIZE 30u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64_LOC 0x07064b50u
#define SIG_CDH 0x02014b50u
#define SIG_LFH 0x04034b50u
/* Bounds on the index, so that a crafted image cannot make opening it slow or
** huge: no guest path is longer than this, and the stdlib holds ~600 entries. */
#define ZIP_NAME_MAX 4096u
#define ZIP_ENTRIES_MAX (1u << 20)

typedef struct zent {
    const char *name; /* full path, pointing into the image, not NUL-terminated */
    uint32_t name_len;
    uint32_t base;   /* offset of the last component in name */
    uint32_t parent; /* index of the parent directory, or ZIP_ROOT */
    uint8_t type;
    bool explicit_entry; /* a member of the archive, not only implied by one */
    bool servable;       /* STORED, not encrypted, sizes agree */
    uint64_t size, data_off, mtim_ns;
    uint32_t child_start, child_count; /* directories: their run in children[] */
} zent;

struct eryx__vfs_zip {
    atomic_size_t refs;
    const unsigned char *data;
    size_t size;
    bool mapped; /* data is our mmap (else the caller's memory) */
    bool heap;   /* data is malloc'd memory the image owns (eryx__vfs_zip_adopt) */
    zent *ents;
    uint32_t n;
    uint32_t *children;
    uint32_t root_start, root_count;
};

typedef struct zfile {
    eryx__vfs_file base;
    eryx__vfs_zip *img; /* a reference, so the file outlives an unmounted image */
    uint32_t idx;       /* entry index, or ZIP_ROOT */
} zfile;

static uint16_t rd16(const unsigned char *p) { return (uint16_t)(p[0] | (unsigned)p[1] << 8); }
static uint32_t rd32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* off + len fits in [0, limit]. */
static bool fits(uint64_t off, uint64_t len, uint64_t limit) { return off <= limit && len <= limit - off; }


static int cmp_zent(const void *pa, const void *pb) {
    const zent *a = pa, *b = pb;
    return eryx__vfs_name_cmp(a->name, a->name_len, b->name, b->name_len);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* A DOS date and time (local time by convention; taken as UTC) in ns since the epoch, 0 if invalid. */
static uint64_t dos_time_ns(uint16_t date, uint16_t time) {
    unsigned day = date & 31, mon = (date >> 5) & 15, year = 1980 + (date >> 9);
    unsigned sec = (time & 31) * 2, min = (time >> 5) & 63, hour = time >> 11;
    if (day < 1 || mon < 1 || mon > 12 || hour > 23 || min > 59 || sec > 59) return 0;
    int64_t s = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
    return (uint64_t)s * 1000000000u;
}

/* A member name must be a normalized relative path ("a/b.py", or "a/" for a directory). */
static bool name_ok(const char *name, size_t len) {
    if (len == 0 || memchr(name, '\0', len)) return false;
    size_t i = 0;
    while (i < len) {
        size_t s = i;
        while (i < len && name[i] != '/') i++;
        size_t n = i - s;
        if (n == 0 || (n == 1 && name[s] == '.') || (n == 2 && name[s] == '.' && name[s + 1] == '.')) return false;
        i++; /* skip the '/' (or step past the end) */
    }
    return true;
}

static bool find_index(const eryx__vfs_zip *img, const char *path, size_t len, uint32_t *idx) {
    size_t lo = 0, hi = img->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = eryx__vfs_name_cmp(path, len, img->ents[mid].name, img->ents[mid].name_len);
        if (c == 0) {
            *idx = (uint32_t)mid;
            return true;
        }
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return false;
}

static void img_free(eryx__vfs_zip *img) {
    if (img->mapped) munmap((void *)img->data, img->size);
    if (img->heap) free((void *)img->data);
    free(img->ents);
    free(img->children);
    free(img);
}

/* Locates the End Of Central Directory record: the last signature in the final
** 64 KiB + 22 bytes whose comment ends within the file. */
static bool find_eocd(const unsigned char *d, size_t size, size_t *at) {
    if (size < EOCD_SIZE) return false;
    size_t lo = size > EOCD_SEARCH ? size - EOCD_SEARCH : 0;
    for (size_t i = size - EOCD_SIZE;; i--) {
        if (rd32(d + i) == SIG_EOCD && rd16(d + i + 20) <= size - i - EOCD_SIZE) {
            *at = i;
            return true;
        }
        if (i == lo) return false;
    }
}

/* Appends an entry, growing the array. */
static bool push_ent(zent **ents, size_t *n, size_t *cap, zent e) {
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        if (c > SIZE_MAX / sizeof **ents) return false;
        zent *g = realloc(*ents, c * sizeof *g);
        if (!g) return false;
        *ents = g;
        *cap = c;
    }
    (*ents)[(*n)++] = e;
    return true;
}

/* Reads the central directory into img->ents: members and the directories their
** paths imply, sorted, duplicates merged. */
static eryx_status read_members(eryx__vfs_zip *img, eryx__errbuf *err) {
    const unsigned char *d = img->data;
    size_t size = img->size, eocd;
    if (!find_eocd(d, size, &eocd)) {
        return eryx__fail(err, ERYX_ERR_IO, "not a zip archive (no end of central directory record)");
    }
    const unsigned char *e = d + eocd;
    uint16_t disk = rd16(e + 4), cd_disk = rd16(e + 6), n_disk = rd16(e + 8), n_total = rd16(e + 10);
    uint32_t cd_size = rd32(e + 12), cd_off = rd32(e + 16);
    if (n_total == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu ||
        (eocd >= 20 && rd32(d + eocd - 20) == SIG_EOCD64_LOC)) {
        return eryx__fail(err, ERYX_ERR_IO, "ZIP64 archives are not supported");
    }
    if (disk != 0 || cd_disk != 0 || n_disk != n_total) {
        return eryx__fail(err, ERYX_ERR_IO, "multi-disk (split) zip archives are not supported");
    }
    if (!fits(cd_off, cd_size, eocd)) {
        return eryx__fail(err, ERYX_ERR_IO, "central directory (offset %u, size %u) is outside the file", cd_off,
                          cd_size);
    }

    zent *ents = NULL;
    size_t n = 0, cap = 0;
    uint64_t pos = cd_off, end = (uint64_t)cd_off + cd_size;
    for (unsigned i = 0; i < n_total; i++) {
        if (!fits(pos, CDH_SIZE, end) || rd32(d + pos) != SIG_CDH) {
            eryx__fail(err, ERYX_ERR_IO, "central directory entry %u is truncated or has a bad signature", i);
            goto fail;
        }
        const unsigned char *h = d + pos;
        uint16_t gflags = rd16(h + 8), method = rd16(h + 10), mtime = rd16(h + 12), mdate = rd16(h + 14);
        uint32_t csize = rd32(h + 20), usize = rd32(h + 24);
        uint16_t nlen = rd16(h + 28), xlen = rd16(h + 30), clen = rd16(h + 32), dstart = rd16(h + 34);
        uint32_t lho = rd32(h + 42);
        uint64_t total = (uint64_t)CDH_SIZE + nlen + xlen + clen;
        if (!fits(pos, total, end)) {
            eryx__fail(err, ERYX_ERR_IO, "central directory entry %u runs past the central directory", i);
            goto fail;
        }
        if (csize == 0xFFFFFFFFu || usize == 0xFFFFFFFFu || lho == 0xFFFFFFFFu) {
            eryx__fail(err, ERYX_ERR_IO, "ZIP64 archives are not supported");
            goto fail;
        }
        if (dstart != 0) {
            eryx__fail(err, ERYX_ERR_IO, "multi-disk (split) zip archives are not supported");
            goto fail;
        }
        const char *name = (const char *)h + CDH_SIZE;
        if (nlen > ZIP_NAME_MAX) {
            eryx__fail(err, ERYX_ERR_IO, "member %u: name longer than %u bytes", i, ZIP_NAME_MAX);
            goto fail;
        }
        if (!name_ok(name, nlen)) {
            eryx__fail(err, ERYX_ERR_IO, "member %u has an unsafe or empty name", i);
            goto fail;
        }
        /* The member's data must lie between its local header and the central directory. */
        if (!fits(lho, LFH_SIZE, cd_off) || rd32(d + lho) != SIG_LFH) {
            eryx__fail(err, ERYX_ERR_IO, "member %u: local header (offset %u) is outside the file or bad", i, lho);
            goto fail;
        }
        uint64_t data_off = (uint64_t)lho + LFH_SIZE + rd16(d + lho + 26) + rd16(d + lho + 28);
        if (!fits(data_off, csize, cd_off)) {
            eryx__fail(err, ERYX_ERR_IO, "member %u: data (offset %llu, %u bytes) is outside the file", i,
                       (unsigned long long)data_off, csize);
            goto fail;
        }
        bool is_dir = name[nlen - 1] == '/';
        uint32_t len = is_dir ? nlen - 1u : nlen;
        zent z = {.name = name,
                  .name_len = len,
                  .type = is_dir ? ERYX__VFS_TYPE_DIR : ERYX__VFS_TYPE_REG,
                  .explicit_entry = true,
                  .servable = !is_dir && method == 0 && !(gflags & 1) && csize == usize,
                  .size = is_dir ? 0 : usize,
                  .data_off = data_off,
                  .mtim_ns = dos_time_ns(mdate, mtime)};
        if (!push_ent(&ents, &n, &cap, z)) goto oom;
        for (uint32_t k = 0; k < len; k++) { /* each '/' implies a directory */
            if (name[k] != '/') continue;
            zent dir = {.name = name, .name_len = k, .type = ERYX__VFS_TYPE_DIR};
            if (!push_ent(&ents, &n, &cap, dir)) goto oom;
        }
        if (n > ZIP_ENTRIES_MAX) {
            eryx__fail(err, ERYX_ERR_IO, "more than %u files and directories", ZIP_ENTRIES_MAX);
            goto fail;
        }
        pos += total;
    }

    /* Sort, then merge runs of the same path: directories merge, anything else conflicts. */
    if (n) qsort(ents, n, sizeof *ents, cmp_zent);
    size_t out = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i, files = 0, keep = i;
        for (; j < n && cmp_zent(&ents[i], &ents[j]) == 0; j++) {
            if (ents[j].type == ERYX__VFS_TYPE_REG) files++, keep = j;
            else if (ents[j].explicit_entry && ents[keep].type != ERYX__VFS_TYPE_REG) keep = j;
        }
        if (files > 1 || (files == 1 && j - i > 1)) {
            eryx__fail(err, ERYX_ERR_IO, "duplicate member or a member that is both a file and a directory: %.*s",
                       (int)(ents[i].name_len > 200 ? 200 : ents[i].name_len), ents[i].name);
            goto fail;
        }
        ents[out++] = ents[keep];
        i = j;
    }
    img->ents = ents;
    img->n = (uint32_t)out;
    return ERYX_OK;
oom:
    free(ents);
    return eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory");
fail:
    free(ents);
    return ERYX_ERR_IO;
}

/* Links each entry to its parent directory and groups children by parent. */
static eryx_status link_tree(eryx__vfs_zip *img, eryx__errbuf *err) {
    uint32_t n = img->n;
    uint32_t *fill = calloc((size_t)n + 1, sizeof *fill); /* [n] is the root */
    img->children = malloc(((size_t)n ? n : 1) * sizeof *img->children);
    if (!fill || !img->children) {
        free(fill);
        return eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory");
    }
    for (uint32_t i = 0; i < n; i++) {
        zent *z = &img->ents[i];
        const char *slash = NULL;
        for (uint32_t k = z->name_len; k > 0; k--)
            if (z->name[k - 1] == '/') {
                slash = z->name + k - 1;
                break;
            }
        z->parent = ZIP_ROOT;
        z->base = 0;
        if (slash) {
            uint32_t plen = (uint32_t)(slash - z->name), p;
            /* Implied directories were added for every '/', so the parent is present. */
            if (!find_index(img, z->name, plen, &p) || img->ents[p].type != ERYX__VFS_TYPE_DIR) {
                free(fill);
                return eryx__fail(err, ERYX_ERR_IO, "internal error: missing parent directory");
            }
            z->parent = p;
            z->base = plen + 1;
        }
        fill[z->parent == ZIP_ROOT ? n : z->parent]++;
    }
    /* Prefix sums give each directory's run; entries are in path order, which
    ** within one parent is name order. */
    uint32_t start = 0;
    for (uint32_t i = 0; i <= n; i++) {
        uint32_t c = fill[i];
        if (i == n) {
            img->root_start = start;
            img->root_count = c;
        } else {
            img->ents[i].child_start = start;
            img->ents[i].child_count = c;
        }
        fill[i] = start;
        start += c;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t p = img->ents[i].parent == ZIP_ROOT ? n : img->ents[i].parent;
        img->children[fill[p]++] = i;
    }
    free(fill);
    return ERYX_OK;
}

eryx__vfs_zip *eryx__vfs_zip_from_memory(const void *data, size_t len, eryx__errbuf *err) {
    eryx__errbuf_clear(err);
    if (!data && len) {
        eryx__fail(err, ERYX_ERR_IO, "no data");
        return NULL;
    }
    eryx__vfs_zip *img = calloc(1, sizeof *img);
    if (!img) {
        eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory");
        return NULL;
    }
    atomic_init(&img->refs, 1);
    img->data = data;
    img->size = len;
    if (read_members(img, err) != ERYX_OK || link_tree(img, err) != ERYX_OK) {
        img_free(img);
        return NULL;
    }
    return img;
}

eryx__vfs_zip *eryx__vfs_zip_adopt(void *data, size_t len, eryx__errbuf *err) {
    eryx__vfs_zip *img = eryx__vfs_zip_from_memory(data, len, err);
    if (img) img->heap = true;
    else free(data);
    return img;
}

eryx__vfs_zip *eryx__vfs_zip_open(const char *host_path, eryx__errbuf *err) {
    int fd = open(host_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        eryx__fail(err, ERYX_ERR_IO, "cannot open %s: %s", host_path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX) {
        eryx__fail(err, ERYX_ERR_IO, "%s is not a non-empty regular file", host_path);
        close(fd);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd); /* the mapping keeps the file */
    if (map == MAP_FAILED) {
        eryx__fail(err, ERYX_ERR_IO, "cannot map %s: %s", host_path, strerror(errno));
        return NULL;
    }
    eryx__errbuf why;
    eryx__vfs_zip *img = eryx__vfs_zip_from_memory(map, size, &why);
    if (!img) {
        eryx__fail(err, ERYX_ERR_IO, "%s: %s", host_path, why.msg);
        munmap(map, size);
        return NULL;
    }
    img->mapped = true;
    return img;
}

void *eryx__vfs_zip_ref(eryx__vfs_zip *img) {
    atomic_fetch_add_explicit(&img->refs, 1, memory_order_relaxed);
    return img;
}

void eryx__vfs_zip_release(eryx__vfs_zip *img) {
    if (!img) return;
    /* acq_rel: the last releaser sees every other thread's use as finished */
    if (atomic_fetch_sub_explicit(&img->refs, 1, memory_order_acq_rel) == 1) img_free(img);
}

/* ---- files --------------------------------------------------------------------- */

static void fill_stat(const eryx__vfs_zip *img, uint32_t idx, eryx__vfs_stat *out) {
    if (idx == ZIP_ROOT) {
        *out = (eryx__vfs_stat){.dev = ZIP_DEV, .ino = 1, .type = ERYX__VFS_TYPE_DIR, .nlink = 2};
        return;
    }
    const zent *z = &img->ents[idx];
    *out = (eryx__vfs_stat){.dev = ZIP_DEV,
                            .ino = (uint64_t)idx + 2,
                            .type = z->type,
                            .nlink = z->type == ERYX__VFS_TYPE_DIR ? 2 : 1,
                            .size = z->size,
                            .atim_ns = z->mtim_ns,
                            .mtim_ns = z->mtim_ns,
                            .ctim_ns = z->mtim_ns};
}

static eryx__errno zf_pread(eryx__vfs_file *f, void *buf, size_t len, uint64_t offset, size_t *nread) {
    zfile *zf = (zfile *)f;
    const zent *z = &zf->img->ents[zf->idx];
    *nread = 0;
    if (offset >= z->size) return 0;
    uint64_t avail = z->size - offset;
    size_t n = len < avail ? len : (size_t)avail;
    memcpy(buf, zf->img->data + z->data_off + offset, n); /* data_off + size checked at open */
    *nread = n;
    return 0;
}

static eryx__errno zf_fstat(eryx__vfs_file *f, eryx__vfs_stat *out) {
    zfile *zf = (zfile *)f;
    fill_stat(zf->img, zf->idx, out);
    return 0;
}

static eryx__errno zf_readdir(eryx__vfs_file *f, uint64_t cookie, eryx__vfs_dirent *out, bool *end) {
    zfile *zf = (zfile *)f;
    const eryx__vfs_zip *img = zf->img;
    bool root = zf->idx == ZIP_ROOT;
    uint32_t start = root ? img->root_start : img->ents[zf->idx].child_start;
    uint32_t count = root ? img->root_count : img->ents[zf->idx].child_count;
    *end = false;
    if (cookie < 2) {
        uint32_t up = root ? ZIP_ROOT : img->ents[zf->idx].parent;
        uint32_t self = cookie ? up : zf->idx;
        *out = (eryx__vfs_dirent){.name = cookie ? ".." : ".",
                                  .name_len = (size_t)cookie + 1,
                                  .type = ERYX__VFS_TYPE_DIR,
                                  .ino = self == ZIP_ROOT ? 1 : (uint64_t)self + 2,
                                  .next = cookie + 1};
        return 0;
    }
    if (cookie - 2 >= count) {
        *end = true;
        return 0;
    }
    uint32_t i = img->children[start + (uint32_t)(cookie - 2)];
    const zent *z = &img->ents[i];
    *out = (eryx__vfs_dirent){.name = z->name + z->base,
                              .name_len = z->name_len - z->base,
                              .type = z->type,
                              .ino = (uint64_t)i + 2,
                              .next = cookie + 1};
    return 0;
}

static eryx__errno zf_sync(eryx__vfs_file *f) {
    (void)f;
    return 0;
}

static void zf_close(eryx__vfs_file *f) {
    zfile *zf = (zfile *)f;
    eryx__vfs_zip_release(zf->img);
    free(zf);
}

static const eryx__vfs_file_ops zip_file_ops = {
    .pread = zf_pread, .fstat = zf_fstat, .sync = zf_sync, .close = zf_close};
static const eryx__vfs_file_ops zip_dir_ops = {
    .fstat = zf_fstat, .readdir = zf_readdir, .sync = zf_sync, .close = zf_close};

/* The entry at path: ENOTDIR when a leading component is a file. */
static eryx__errno lookup(const eryx__vfs_zip *img, const char *path, uint32_t *idx) {
    size_t len = strlen(path);
    if (len == 0) {
        *idx = ZIP_ROOT;
        return 0;
    }
    if (find_index(img, path, len, idx)) return 0;
    for (size_t k = len; k > 0; k--) {
        uint32_t p;
        if (path[k - 1] == '/' && find_index(img, path, k - 1, &p))
            return img->ents[p].type == ERYX__VFS_TYPE_DIR ? ERYX__WASI_ENOENT : ERYX__WASI_ENOTDIR;
    }
    return ERYX__WASI_ENOENT;
}

static eryx__errno zip_open(void *self, const char *path, uint32_t flags, eryx__vfs_file **out) {
    eryx__vfs_zip *img = self;
    uint32_t idx;
    *out = NULL;
    eryx__errno e = lookup(img, path, &idx);
    if (e) return e;
    bool dir = idx == ZIP_ROOT || img->ents[idx].type == ERYX__VFS_TYPE_DIR;
    if ((flags & ERYX__VFS_O_CREAT) && (flags & ERYX__VFS_O_EXCL)) return ERYX__WASI_EEXIST;
    if (flags & (ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT | ERYX__VFS_O_TRUNC | ERYX__VFS_O_APPEND))
        return dir ? ERYX__WASI_EISDIR : ERYX__WASI_EROFS;
    if (!dir && (flags & ERYX__VFS_O_DIRECTORY)) return ERYX__WASI_ENOTDIR;
    if (!dir && !img->ents[idx].servable) return ERYX__WASI_EIO; /* compressed or encrypted */
    zfile *zf = calloc(1, sizeof *zf);
    if (!zf) return ERYX__WASI_ENOMEM;
    zf->base.ops = dir ? &zip_dir_ops : &zip_file_ops;
    zf->base.flags = flags;
    zf->img = eryx__vfs_zip_ref(img);
    zf->idx = idx;
    *out = &zf->base;
    return 0;
}

static eryx__errno zip_stat(void *self, const char *path, bool follow_symlinks, eryx__vfs_stat *out) {
    (void)follow_symlinks; /* no symlinks in the image */
    uint32_t idx;
    eryx__errno e = lookup(self, path, &idx);
    if (!e) fill_stat(self, idx, out);
    return e;
}

static eryx__errno zip_readlink(void *self, const char *path, char *buf, size_t cap, size_t *len) {
    (void)buf;
    (void)cap;
    uint32_t idx;
    *len = 0;
    eryx__errno e = lookup(self, path, &idx);
    return e ? e : ERYX__WASI_EINVAL;
}

static void zip_destroy(void *self) { eryx__vfs_zip_release(self); }

const eryx__vfs_backend eryx__vfs_zip_backend = {
    .name = "zip", .open = zip_open, .stat = zip_stat, .readlink = zip_readlink, .destroy = zip_destroy};
