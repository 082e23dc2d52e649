/*
** Packages: wheels and source trees read into read-only zip images (package.h).
**
** Reading a wheel uses libzip (Debian's libzip-dev): it parses the archive,
** inflates, and checks every member's CRC, so eryx carries no deflate code of its
** own. Writing the image is ours and small: STORED members only, which is what
** src/vfs/vfs_zip.c serves without copying.
*/
#define _XOPEN_SOURCE 700 /* realpath */
#include "package.h"
#include "../common/process_state.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <stdatomic.h>
#include <zip.h>
#include <zlib.h>

/* ---- the list of files an image will hold ------------------------------------- */

typedef struct pfile {
    char *name; /* image path: relative, '/'-separated, normalized */
    unsigned char *data;
    size_t len;
} pfile;

typedef struct plist {
    pfile *v;
    size_t n, cap;
    uint64_t bytes;
} plist;

static void plist_free(plist *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].data);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Checks an archive member's path: relative, no "." / ".." / empty components, no
** backslash or control characters. A trailing '/' (a directory entry) is allowed
** and reported through *is_dir. */
static bool member_path_ok(const char *name, bool *is_dir) {
    size_t len = strlen(name);
    *is_dir = len > 0 && name[len - 1] == '/';
    if (*is_dir) len--;
    if (len == 0 || len > 4096 || name[0] == '/') return false;
    const char *p = name, *end = name + len;
    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        size_t n = slash ? (size_t)(slash - p) : (size_t)(end - p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) return false;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)p[i] < 0x20 || p[i] == '\\' || p[i] == 0x7f) return false;
        p += n + 1;
    }
    return true;
}

static int pfile_cmp(const void *a, const void *b) { return strcmp(((const pfile *)a)->name, ((const pfile *)b)->name); }

/* Adds a file (takes ownership of name and data, also on failure). */
static eryx_status plist_add(plist *l, char *name, unsigned char *data, size_t len, const char *src,
                             eryx__errbuf *err) {
    eryx_status st = ERYX_OK;
    if (l->n >= ERYX__PACKAGE_MAX_FILES)
        st = eryx__fail(err, ERYX_ERR_PACKAGE, "%s holds more than %u files, more than a package may", src,
                        ERYX__PACKAGE_MAX_FILES);
    else if (len > ERYX__PACKAGE_MAX_BYTES - l->bytes)
        st = eryx__fail(err, ERYX_ERR_PACKAGE, "%s holds more than %llu bytes, more than a package may", src,
                        (unsigned long long)ERYX__PACKAGE_MAX_BYTES);
    else if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        pfile *v = realloc(l->v, cap * sizeof *v);
        if (!v) st = eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory to read %s", src);
        else l->v = v, l->cap = cap;
    }
    if (st != ERYX_OK) {
        free(name);
        free(data);
        return st;
    }
    l->v[l->n++] = (pfile){name, data, len};
    l->bytes += len;
    return ERYX_OK;
}

/* ---- the image: a zip of STORED members ---------------------------------------- */

typedef struct wbuf {
    unsigned char *p;
    size_t len, cap;
    bool oom;
} wbuf;

static void put(wbuf *b, const void *data, size_t n) {
    if (b->oom) return;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n) cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}
static void put16(wbuf *b, uint16_t v) { put(b, (unsigned char[]){v & 0xff, v >> 8}, 2); }
static void put32(wbuf *b, uint32_t v) {
    put(b, (unsigned char[]){v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24}, 4);
}

/* Writes the sorted files as a zip. Fixed timestamps (1980-01-01) and order make
** the bytes a function of the contents alone. Duplicate paths, and a path that is
** both a file and a directory, are refused. */
static eryx_status write_image(plist *l, const char *src, wbuf *zip, eryx__errbuf *err) {
    if (l->n == 0) return eryx__fail(err, ERYX_ERR_PACKAGE, "%s holds no files", src);
    qsort(l->v, l->n, sizeof *l->v, pfile_cmp);
    for (size_t i = 1; i < l->n; i++) {
        const char *a = l->v[i - 1].name, *b = l->v[i].name;
        size_t al = strlen(a);
        if (!strcmp(a, b)) return eryx__fail(err, ERYX_ERR_PACKAGE, "%s holds %s twice", src, a);
        if (!strncmp(a, b, al) && b[al] == '/')
            return eryx__fail(err, ERYX_ERR_PACKAGE, "%s holds %s both as a file and as a directory", src, a);
    }
    uint32_t *offs = malloc(l->n * sizeof *offs), *crcs = malloc(l->n * sizeof *crcs);
    if (!offs || !crcs) {
        free(offs);
        free(crcs);
        return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory to pack %s", src);
    }
    const uint16_t dos_date = (0 << 9) | (1 << 5) | 1; /* 1980-01-01 */
    for (size_t i = 0; i < l->n; i++) {
        const pfile *f = &l->v[i];
        uint16_t nlen = (uint16_t)strlen(f->name);
        offs[i] = (uint32_t)zip->len;
        crcs[i] = (uint32_t)crc32_z(crc32_z(0, Z_NULL, 0), f->data, f->len);
        put32(zip, 0x04034b50u), put16(zip, 20), put16(zip, 0x0800 /* UTF-8 names */), put16(zip, 0);
        put16(zip, 0), put16(zip, dos_date), put32(zip, crcs[i]), put32(zip, (uint32_t)f->len);
        put32(zip, (uint32_t)f->len), put16(zip, nlen), put16(zip, 0);
        put(zip, f->name, nlen);
        put(zip, f->data, f->len);
    }
    size_t cd_off = zip->len;
    for (size_t i = 0; i < l->n; i++) {
        const pfile *f = &l->v[i];
        uint16_t nlen = (uint16_t)strlen(f->name);
        put32(zip, 0x02014b50u), put16(zip, 0x0314 /* Unix, 2.0 */), put16(zip, 20), put16(zip, 0x0800);
        put16(zip, 0), put16(zip, 0), put16(zip, dos_date), put32(zip, crcs[i]), put32(zip, (uint32_t)f->len);
        put32(zip, (uint32_t)f->len), put16(zip, nlen), put16(zip, 0), put16(zip, 0), put16(zip, 0);
        put16(zip, 0), put32(zip, 0100444u << 16), put32(zip, offs[i]);
        put(zip, f->name, nlen);
    }
    size_t cd_len = zip->len - cd_off;
    put32(zip, 0x06054b50u), put16(zip, 0), put16(zip, 0), put16(zip, (uint16_t)l->n), put16(zip, (uint16_t)l->n);
    put32(zip, (uint32_t)cd_len), put32(zip, (uint32_t)cd_off), put16(zip, 0);
    free(offs);
    free(crcs);
    if (zip->oom) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory to pack %s", src);
    /* 1 GiB of contents plus headers stays far below the 4 GiB a non-ZIP64 zip holds. */
    return ERYX_OK;
}

/* ---- names ----------------------------------------------------------------------- */

int eryx__package_normalize_name(const char *name, size_t len, char *out, size_t cap) {
    size_t n = 0;
    bool sep = false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c == '-' || c == '_' || c == '.') {
            sep = n > 0;
            continue;
        }
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return -1;
        if (n + (sep ? 2 : 1) >= cap) return -1;
        if (sep) out[n++] = '_';
        out[n++] = c;
        sep = false;
    }
    if (n == 0) return -1;
    out[n] = '\0';
    return 0;
}

static bool has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* A native extension built for a host: CPython's suffixes on Linux, macOS and
** Windows. */
static bool is_native_extension(const char *name) {
    return has_suffix(name, ".so") || has_suffix(name, ".pyd") || has_suffix(name, ".dylib") ||
           has_suffix(name, ".dll");
}

/* ---- wheels ------------------------------------------------------------------------ */

/* True if one of the '.'-separated tags in set (len bytes) satisfies ok(). */
static bool any_tag(const char *set, size_t len, bool (*ok)(const char *tag, size_t n)) {
    const char *p = set, *end = set + len;
    while (p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);
        if (ok(p, n)) return true;
        p += n + 1;
    }
    return false;
}
static bool tag_any(const char *t, size_t n) { return n == 3 && !memcmp(t, "any", 3); }
static bool tag_py3(const char *t, size_t n) {
    return (n >= 3 && !memcmp(t, "py3", 3)) || (n >= 3 && !memcmp(t, "cp3", 3)) || (n == 2 && !memcmp(t, "py", 2));
}
/* wasm32-wasi platform tags: CPython's sysconfig.get_platform() there is
** "wasi-0.0.0-wasm32", tagged wasi_0_0_0_wasm32 (any WASI version accepted). */
static bool tag_wasi(const char *t, size_t n) {
    return n > 12 && !memcmp(t, "wasi_", 5) && !memcmp(t + n - 7, "_wasm32", 7);
}
static bool tag_cp313(const char *t, size_t n) { return n == 5 && !memcmp(t, "cp313", 5); }
static bool tag_abi3(const char *t, size_t n) { return n == 4 && !memcmp(t, "abi3", 4); }

/* Splits "<dist>-<version>[-<build>]-<python>-<abi>-<platform>.whl" (PEP 427) and
** checks that the tags describe pure Python 3 code. */
static eryx_status check_wheel_name(const char *path, char *dist, size_t dist_cap, eryx__errbuf *err) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base) - 4; /* without ".whl" */
    const char *part[7];
    size_t plen[7], n = 0;
    for (const char *p = base; p < base + len && n < 7;) {
        const char *dash = memchr(p, '-', (size_t)(base + len - p));
        part[n] = p;
        plen[n] = dash ? (size_t)(dash - p) : (size_t)(base + len - p);
        p += plen[n++] + 1;
    }
    if (n < 5 || n > 6)
        return eryx__fail(err, ERYX_ERR_PACKAGE,
                          "%s: not a wheel file name (expected <name>-<version>-<python>-<abi>-<platform>.whl)", path);
    if (eryx__package_normalize_name(part[0], plen[0], dist, dist_cap) != 0)
        return eryx__fail(err, ERYX_ERR_PACKAGE, "%s: the distribution name '%.*s' is not a valid package name", path,
                          (int)plen[0], part[0]);
    size_t py = n - 3, abi = n - 2, plat = n - 1;
    bool wasi = any_tag(part[plat], plen[plat], tag_wasi);
    if (!wasi && !any_tag(part[plat], plen[plat], tag_any))
        return eryx__fail(err, ERYX_ERR_PACKAGE,
                          "%s is built for platform '%.*s': it holds native code for another machine. eryx runs "
                          "wasm32-wasi; use a pure-Python wheel (*-none-any.whl), a wasm32-wasi wheel "
                          "(*-wasi_0_0_0_wasm32.whl) or the project's source tree",
                          path, (int)plen[plat], part[plat]);
    if (wasi && !any_tag(part[py], plen[py], tag_cp313) && !any_tag(part[abi], plen[abi], tag_abi3))
        return eryx__fail(err, ERYX_ERR_PACKAGE,
                          "%s is built for Python '%.*s' (ABI '%.*s'); this interpreter is CPython 3.13 (cp313): "
                          "use the project's cp313 or abi3 wasm32-wasi wheel",
                          path, (int)plen[py], part[py], (int)plen[abi], part[abi]);
    if (!any_tag(part[py], plen[py], tag_py3))
        return eryx__fail(err, ERYX_ERR_PACKAGE, "%s is built for Python '%.*s', not Python 3", path, (int)plen[py],
                          part[py]);
    return ERYX_OK;
}

/* Where a wheel member goes in the image (malloc'd), or NULL for a directory
** entry (*skip). `<dist>.data/purelib|platlib/x` installs as `x`. */
static char *wheel_target(const char *name, bool *skip) {
    bool is_dir = false;
    *skip = false;
    if (!member_path_ok(name, &is_dir)) return NULL;
    if (is_dir) {
        *skip = true;
        return NULL;
    }
    const char *slash = strchr(name, '/');
    if (slash && slash - name > 5 && !memcmp(slash - 5, ".data", 5)) {
        const char *sub = slash + 1;
        if (!strncmp(sub, "purelib/", 8) && sub[8]) return strdup(sub + 8);
        if (!strncmp(sub, "platlib/", 8) && sub[8]) return strdup(sub + 8);
    }
    return strdup(name);
}

static bool is_wasm(const unsigned char *data, size_t len) { return len >= 4 && !memcmp(data, "\0asm", 4); }

/* Reads the archive at path (a wheel, or else an eryx package) into l. */
static eryx_status read_archive(const char *path, bool wheel, plist *l, eryx__errbuf *err) {
    eryx_status st = ERYX_OK;
    const char *what = wheel ? "wheel" : "eryx package";
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    if (!z) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        st = eryx__fail(err, ERYX_ERR_PACKAGE, "%s is not a readable %s (a zip archive): %s", path, what,
                        zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return st;
    }
    bool has_wheel_meta = false;
    zip_int64_t n = zip_get_num_entries(z, 0);
    for (zip_int64_t i = 0; st == ERYX_OK && i < n; i++) {
        zip_stat_t zs;
        if (zip_stat_index(z, (zip_uint64_t)i, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_NAME) ||
            !(zs.valid & ZIP_STAT_SIZE)) {
            st = eryx__fail(err, ERYX_ERR_PACKAGE, "%s: member %lld is unreadable: %s", path, (long long)i,
                            zip_strerror(z));
            break;
        }
        bool skip = false, is_dir = false;
        char *target = NULL;
        if (wheel) target = wheel_target(zs.name, &skip);
        else if (member_path_ok(zs.name, &is_dir)) skip = is_dir, target = is_dir ? NULL : strdup(zs.name);
        if (skip) continue;
        if (!target) {
            st = eryx__fail(err, errno == ENOMEM ? ERYX_ERR_NO_MEMORY : ERYX_ERR_PACKAGE,
                            "%s: member '%.200s' has an unsafe or invalid path", path, zs.name);
            break;
        }
        const char *slash = strchr(target, '/');
        if (slash && slash - target > 10 && !memcmp(slash - 10, ".dist-info", 10) && !strcmp(slash, "/WHEEL"))
            has_wheel_meta = true;
        if (zs.size > ERYX__PACKAGE_MAX_BYTES - l->bytes) {
            st = eryx__fail(err, ERYX_ERR_PACKAGE, "%s holds more than %llu bytes uncompressed, more than a package may",
                            path, (unsigned long long)ERYX__PACKAGE_MAX_BYTES);
            free(target);
            break;
        }
        unsigned char *data = malloc(zs.size ? zs.size : 1), extra;
        zip_file_t *f = data ? zip_fopen_index(z, (zip_uint64_t)i, 0) : NULL;
        zip_int64_t got = f ? zip_fread(f, data, zs.size) : -1;
        /* libzip checks the CRC when the member is read to its end: read once more. */
        zip_int64_t more = got == (zip_int64_t)zs.size ? zip_fread(f, &extra, 1) : -1;
        if (!data) {
            st = eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory to read %s", path);
        } else if (got != (zip_int64_t)zs.size || more != 0) {
            st = eryx__fail(err, ERYX_ERR_PACKAGE, "%s: member %s is damaged: %s", path, zs.name,
                            f ? zip_file_strerror(f) : zip_strerror(z));
        }
        if (f) zip_fclose(f);
        /* Extension modules must be WebAssembly side modules; host builds cannot load. */
        if (st == ERYX_OK && is_native_extension(target) && !is_wasm(data, zs.size))
            st = eryx__fail(err, ERYX_ERR_PACKAGE,
                            "%s holds the native extension %s, built for another machine; eryx runs wasm32-wasi "
                            "and cannot load it",
                            path, target);
        if (st == ERYX_OK) st = plist_add(l, target, data, zs.size, path, err);
        else {
            free(target);
            free(data);
        }
    }
    zip_discard(z);
    if (st == ERYX_OK && wheel && !has_wheel_meta)
        st = eryx__fail(err, ERYX_ERR_PACKAGE, "%s is not a wheel: it has no *.dist-info/WHEEL file", path);
    return st;
}

/* An eryx package's manifest (ERYX__PACKAGE_MANIFEST in l): its name (normalized
** into name) and version, and the interpreter it was made for. */
static eryx_status read_manifest(const char *path, const plist *l, char *name, size_t name_cap, char **version,
                                 eryx__errbuf *err) {
    const pfile *m = NULL;
    for (size_t i = 0; i < l->n && !m; i++)
        if (!strcmp(l->v[i].name, ERYX__PACKAGE_MANIFEST)) m = &l->v[i];
    if (!m)
        return eryx__fail(err, ERYX_ERR_PACKAGE, "%s is not an eryx package: it has no %s (make one with `eryx package`)",
                          path, ERYX__PACKAGE_MANIFEST);
    json_error_t je;
    json_t *j = json_loadb((const char *)m->data, m->len, 0, &je);
    const char *n = NULL, *v = NULL, *py = NULL, *plat = NULL;
    json_int_t format = 0;
    eryx_status st = ERYX_OK;
    if (!j || json_unpack_ex(j, &je, 0, "{s:I, s:s, s:s, s:s, s:s}", "format", &format, "name", &n, "version", &v,
                             "python", &py, "platform", &plat) != 0)
        st = eryx__fail(err, ERYX_ERR_PACKAGE, "%s: its %s is damaged: %s", path, ERYX__PACKAGE_MANIFEST, je.text);
    else if (format != 1)
        st = eryx__fail(err, ERYX_ERR_PACKAGE, "%s: its %s has format %lld; this eryx reads format 1 (a newer eryx "
                        "made it)", path, ERYX__PACKAGE_MANIFEST, (long long)format);
    else if (strcmp(py, "cp313") != 0 || strcmp(plat, "wasm32-wasi") != 0)
        st = eryx__fail(err, ERYX_ERR_PACKAGE,
                        "%s is built for %s on %s; this interpreter is CPython 3.13 on wasm32-wasi (cp313): rebuild "
                        "the package for it", path, py, plat);
    else if (eryx__package_normalize_name(n, strlen(n), name, name_cap) != 0)
        st = eryx__fail(err, ERYX_ERR_PACKAGE, "%s: its manifest's name '%.100s' is not a valid package name", path, n);
    else if (!(*version = strdup(v)))
        st = eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory to read %s", path);
    json_decref(j);
    return st;
}

static eryx_status read_wheel(const char *path, char *dist, size_t dist_cap, plist *l, eryx__errbuf *err) {
    eryx_status st = check_wheel_name(path, dist, dist_cap, err);
    return st != ERYX_OK ? st : read_archive(path, true, l, err);
}

/* ---- extension modules ---------------------------------------------------------------- */

static void exts_release(eryx__package_exts *x) {
    if (!x || atomic_fetch_sub(&x->refs, 1) != 1) return;
    for (size_t i = 0; i < x->n; i++) {
        free(x->v[i].member);
        eryx__wasm_iface_free(&x->v[i].iface);
    }
    free(x->v);
    free(x);
}

/* The interpreter tag in an extension file name ("mod.cpython-313-wasm32-wasi.so":
** the part between the module name and ".so", empty for "mod.so"), checked against
** the suffixes this interpreter imports (importlib.machinery.EXTENSION_SUFFIXES). */
static eryx_status check_ext_tag(const char *path, const char *member, eryx__errbuf *err) {
    const char *base = strrchr(member, '/');
    base = base ? base + 1 : member;
    const char *dot = strchr(base, '.');
    size_t tag_len = dot ? strlen(dot) - 3 : 0; /* ".tag" before ".so" */
    if (!has_suffix(base, ".so"))
        return eryx__fail(err, ERYX_ERR_PACKAGE, "%s: %s is a WebAssembly module named as a %s file; name it "
                          "NAME.cpython-313-wasm32-wasi.so", path, member, strrchr(base, '.'));
    if (tag_len <= 1) return ERYX_OK; /* mod.so */
    const char *tag = dot + 1;
    tag_len--;
    if ((tag_len == 23 && !memcmp(tag, "cpython-313-wasm32-wasi", 23)) || (tag_len == 4 && !memcmp(tag, "abi3", 4)))
        return ERYX_OK;
    return eryx__fail(err, ERYX_ERR_PACKAGE,
                      "%s: the extension module %s is tagged '%.*s', for another interpreter build; this interpreter "
                      "loads cpython-313-wasm32-wasi (or abi3) extensions: rebuild it for CPython 3.13 on wasm32-wasi",
                      path, member, (int)tag_len, tag);
}

/* Checks each side module in l and keeps its link interface in *out (NULL: none). */
static eryx_status scan_extensions(const char *path, const plist *l, eryx__package_exts **out, eryx__errbuf *err) {
    *out = NULL;
    eryx__package_exts *x = NULL;
    eryx_status st = ERYX_OK;
    for (size_t i = 0; st == ERYX_OK && i < l->n; i++) {
        const pfile *f = &l->v[i];
        if (!is_native_extension(f->name) || !is_wasm(f->data, f->len)) continue;
        if ((st = check_ext_tag(path, f->name, err)) != ERYX_OK) break;
        eryx__errbuf msg;
        eryx__dylink d;
        if (eryx__dylink_read(f->data, f->len, &d, &msg) != ERYX_OK) {
            st = eryx__fail(err, ERYX_ERR_PACKAGE, "%s: the extension module %s cannot be loaded: %s", path, f->name,
                            msg.msg);
            break;
        }
        eryx__dylink_free(&d);
        if (!x && (!(x = calloc(1, sizeof *x)) || (atomic_init(&x->refs, 1), false))) {
            st = eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory to read %s", path);
            break;
        }
        eryx__package_ext *grown = realloc(x->v, (x->n + 1) * sizeof *grown);
        if (!grown) {
            st = eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory to read %s", path);
            break;
        }
        x->v = grown;
        eryx__package_ext *e = &x->v[x->n];
        memset(e, 0, sizeof *e);
        if (eryx__wasm_iface_read(f->data, f->len, &e->iface, &msg) != ERYX_OK) {
            st = eryx__fail(err, ERYX_ERR_PACKAGE, "%s: the extension module %s is damaged: %s", path, f->name, msg.msg);
            break;
        }
        if (!(e->member = strdup(f->name))) {
            eryx__wasm_iface_free(&e->iface);
            st = eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory to read %s", path);
            break;
        }
        x->n++;
    }
    if (st != ERYX_OK) exts_release(x);
    else *out = x;
    return st;
}

/* ---- source trees ------------------------------------------------------------------- */

static bool skipped_dir(const char *name) {
    static const char *const skip[] = {".git",        ".hg",           ".svn",  ".tox", ".nox", ".venv",
                                       ".mypy_cache", ".pytest_cache", ".eggs", NULL};
    for (int i = 0; skip[i]; i++)
        if (!strcmp(name, skip[i])) return true;
    return false;
}

static eryx_status read_file(int dirfd, const char *name, const char *shown, unsigned char **data, size_t *len,
                             eryx__errbuf *err) {
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        return eryx__fail(err, ERYX_ERR_PACKAGE, "cannot read %s: %s", shown, strerror(e));
    }
    if ((uint64_t)st.st_size > ERYX__PACKAGE_MAX_BYTES) {
        close(fd);
        return eryx__fail(err, ERYX_ERR_PACKAGE, "%s is larger than a package may be", shown);
    }
    size_t n = (size_t)st.st_size, got = 0;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) {
        close(fd);
        return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory to read %s", shown);
    }
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;
            close(fd);
            free(buf);
            return eryx__fail(err, ERYX_ERR_PACKAGE, "cannot read %s: %s", shown,
                              r < 0 ? strerror(e) : "it shrank while being read");
        }
        got += (size_t)r;
    }
    close(fd);
    *data = buf;
    *len = n;
    return ERYX_OK;
}

/* Adds the regular files under dir (host path host, image prefix rel) to l.
** Symbolic links are followed only when they resolve inside root. */
static eryx_status walk_tree(const char *root, const char *host, const char *rel, int depth, plist *l,
                             eryx__errbuf *err) {
    if (depth > 64) return eryx__fail(err, ERYX_ERR_PACKAGE, "%s: directories nest deeper than 64 levels", host);
    DIR *d = opendir(host);
    if (!d) return eryx__fail(err, ERYX_ERR_PACKAGE, "cannot list %s: %s", host, strerror(errno));
    eryx_status st = ERYX_OK;
    struct dirent *e;
    char hpath[PATH_MAX], rpath[PATH_MAX];
    while (st == ERYX_OK && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        int hn = snprintf(hpath, sizeof hpath, "%s/%s", host, e->d_name);
        int rn = snprintf(rpath, sizeof rpath, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        if (hn < 0 || (size_t)hn >= sizeof hpath || rn < 0 || (size_t)rn >= sizeof rpath) {
            st = eryx__fail(err, ERYX_ERR_PACKAGE, "%s/%s: path too long", host, e->d_name);
            break;
        }
        struct stat lst, fst;
        if (lstat(hpath, &lst) != 0 || stat(hpath, &fst) != 0) {
            st = eryx__fail(err, ERYX_ERR_PACKAGE, "cannot read %s: %s", hpath, strerror(errno));
            break;
        }
        if (S_ISLNK(lst.st_mode)) {
            char *real = realpath(hpath, NULL);
            size_t rl = strlen(root);
            bool inside = real && !strncmp(real, root, rl) && real[rl] == '/';
            free(real);
            if (!inside) {
                st = eryx__fail(err, ERYX_ERR_PACKAGE,
                                "%s is a symbolic link that leads out of the package's directory %s; a package holds "
                                "only its own files",
                                hpath, root);
                break;
            }
        }
        bool is_dir;
        if (S_ISDIR(fst.st_mode)) {
            if (!skipped_dir(e->d_name)) st = walk_tree(root, hpath, rpath, depth + 1, l, err);
        } else if (S_ISREG(fst.st_mode)) {
            /* Bytecode only where this interpreter looks for it, in its own tag:
            ** __pycache__/NAME.cpython-313.pyc (CPython checks it against the
            ** source, or not at all when compiled with unchecked hashes). */
            const char *base = strrchr(rel, '/');
            base = base ? base + 1 : rel;
            bool in_cache = !strcmp(base, "__pycache__");
            if (in_cache ? !has_suffix(e->d_name, ".cpython-313.pyc") : has_suffix(e->d_name, ".pyc")) continue;
            if (!member_path_ok(rpath, &is_dir)) {
                st = eryx__fail(err, ERYX_ERR_PACKAGE, "%s: the file name is not usable in a package", hpath);
                break;
            }
            unsigned char *data = NULL;
            size_t len = 0;
            st = read_file(dirfd(d), e->d_name, hpath, &data, &len, err);
            /* An extension built for the host is left out; one built for
            ** wasm32-wasi (a side module, docs/LATE-LINKING.md) is kept. */
            if (st == ERYX_OK && is_native_extension(e->d_name) && (len < 4 || memcmp(data, "\0asm", 4) != 0)) {
                free(data);
                continue;
            }
            if (st == ERYX_OK) {
                char *name = strdup(rpath);
                if (!name) {
                    free(data);
                    st = eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory to read %s", host);
                } else {
                    st = plist_add(l, name, data, len, root, err);
                }
            }
        } /* sockets, fifos and devices are not package files */
    }
    closedir(d);
    return st;
}

static bool exists_in(const char *dir, const char *name, bool want_dir) {
    char p[PATH_MAX];
    struct stat st;
    if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, name) >= sizeof p || stat(p, &st) != 0) return false;
    return want_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
}

static eryx_status read_tree(const char *path, char *name, size_t name_cap, plist *l, eryx__errbuf *err) {
    char *root = realpath(path, NULL);
    if (!root) return eryx__fail(err, ERYX_ERR_PACKAGE, "cannot resolve %s: %s", path, strerror(errno));
    const char *base = strrchr(root, '/');
    base = base && base[1] ? base + 1 : root;
    eryx_status st = ERYX_OK;
    if (eryx__package_normalize_name(base, strlen(base), name, name_cap) != 0) {
        st = eryx__fail(err, ERYX_ERR_PACKAGE,
                        "%s: the directory name '%s' cannot name a package (use letters, digits, '-', '_', '.')", path,
                        base);
    } else {
        bool project = exists_in(root, "pyproject.toml", false) || exists_in(root, "setup.py", false) ||
                       exists_in(root, "setup.cfg", false);
        char src[PATH_MAX];
        if (project && exists_in(root, "src", true) && (size_t)snprintf(src, sizeof src, "%s/src", root) < sizeof src)
            st = walk_tree(root, src, "", 0, l, err);
        else
            st = walk_tree(root, root, "", 0, l, err);
    }
    free(root);
    return st;
}

/* ---- packages ------------------------------------------------------------------------- */

void eryx__package_clear(eryx__package *p) {
    if (!p) return;
    free(p->source);
    free(p->name);
    free(p->guest_path);
    free(p->version);
    eryx__vfs_zip_release(p->img);
    exts_release(p->exts);
    memset(p, 0, sizeof *p);
}

int eryx__package_copy(eryx__package *dst, const eryx__package *src) {
    *dst = *src;
    dst->source = strdup(src->source);
    dst->name = strdup(src->name);
    dst->guest_path = strdup(src->guest_path);
    dst->version = src->version ? strdup(src->version) : NULL;
    dst->img = NULL;
    dst->exts = NULL;
    if (!dst->source || !dst->name || !dst->guest_path || (src->version && !dst->version)) {
        eryx__package_clear(dst);
        return -1;
    }
    dst->img = eryx__vfs_zip_ref(src->img);
    if ((dst->exts = src->exts)) atomic_fetch_add(&dst->exts->refs, 1);
    return 0;
}

/* ---- the registry of packed wheels ---------------------------------------------------
** Builders of one process often add the same wheel (a server making a builder per
** request; a factory per configuration). Packing jinja2's wheel costs ~2 ms, so
** the packed images of the last REGISTRY_SIZE wheels are kept, keyed by the file's
** identity (device, inode, size, modification time in ns) and path. A rewritten
** file has a new identity and is read again. Source trees are always read again:
** a file inside can change without the directory's own stat changing. */
#define REGISTRY_SIZE 16
typedef struct reg_entry {
    struct stat st;
    eryx__package pkg; /* pkg.source is the registered path */
    uint64_t last_use;
} reg_entry;
ERYX__PROCESS_STATE static struct {
    pthread_mutex_t lock;
    reg_entry e[REGISTRY_SIZE];
    size_t n;
    uint64_t clock;
} eryx__package_registry = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool same_file(const struct stat *a, const struct stat *b) {
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Copies a registered wheel into *out (0), or returns -1 on a miss. */
static int registry_get(const char *path, const struct stat *st, eryx__package *out) {
    int rc = -1;
    pthread_mutex_lock(&eryx__package_registry.lock);
    for (size_t i = 0; i < eryx__package_registry.n; i++) {
        reg_entry *e = &eryx__package_registry.e[i];
        if (same_file(&e->st, st) && !strcmp(e->pkg.source, path)) {
            e->last_use = ++eryx__package_registry.clock;
            rc = eryx__package_copy(out, &e->pkg);
            break;
        }
    }
    pthread_mutex_unlock(&eryx__package_registry.lock);
    return rc;
}

/* Registers a copy of pkg, replacing the least recently used entry when full. */
static void registry_put(const struct stat *st, const eryx__package *pkg) {
    pthread_mutex_lock(&eryx__package_registry.lock);
    size_t slot = eryx__package_registry.n;
    if (slot == REGISTRY_SIZE) {
        slot = 0;
        for (size_t i = 1; i < REGISTRY_SIZE; i++)
            if (eryx__package_registry.e[i].last_use < eryx__package_registry.e[slot].last_use) slot = i;
        eryx__package_clear(&eryx__package_registry.e[slot].pkg);
    } else {
        eryx__package_registry.n++;
    }
    reg_entry *e = &eryx__package_registry.e[slot];
    e->st = *st;
    e->last_use = ++eryx__package_registry.clock;
    if (eryx__package_copy(&e->pkg, pkg) != 0) { /* out of memory: drop the slot */
        *e = eryx__package_registry.e[--eryx__package_registry.n];
        memset(&eryx__package_registry.e[eryx__package_registry.n], 0, sizeof *e);
    }
    pthread_mutex_unlock(&eryx__package_registry.lock);
}

void eryx__package_shutdown(void) {
    pthread_mutex_lock(&eryx__package_registry.lock);
    for (size_t i = 0; i < eryx__package_registry.n; i++) eryx__package_clear(&eryx__package_registry.e[i].pkg);
    memset(eryx__package_registry.e, 0, sizeof eryx__package_registry.e);
    eryx__package_registry.n = 0;
    eryx__package_registry.clock = 0;
    pthread_mutex_unlock(&eryx__package_registry.lock);
}

eryx_status eryx__package_open(const char *path, eryx__package *out, eryx__errbuf *err) {
    memset(out, 0, sizeof *out);
    if (!path || !*path) return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "a package needs a path");
    struct stat st;
    if (stat(path, &st) != 0)
        return eryx__fail(err, ERYX_ERR_PACKAGE, "cannot use the package %s: %s", path, strerror(errno));
    char name[128];
    plist l = {0};
    eryx_status rc;
    const char *kind;
    char *version = NULL;
    if (S_ISDIR(st.st_mode)) {
        kind = "source tree";
        rc = read_tree(path, name, sizeof name, &l, err);
    } else if (S_ISREG(st.st_mode) && (has_suffix(path, ".whl") || has_suffix(path, ".eryx"))) {
        if (registry_get(path, &st, out) == 0) return ERYX_OK;
        if (has_suffix(path, ".whl")) {
            kind = "wheel";
            rc = read_wheel(path, name, sizeof name, &l, err);
        } else {
            kind = "eryx package";
            rc = read_archive(path, false, &l, err);
            if (rc == ERYX_OK) rc = read_manifest(path, &l, name, sizeof name, &version, err);
        }
    } else {
        return eryx__fail(err, ERYX_ERR_PACKAGE,
                          "%s is not a wheel (*.whl), an eryx package (*.eryx) or a directory; a package is one of "
                          "those",
                          path);
    }
    wbuf zip = {0};
    eryx__package_exts *exts = NULL;
    if (rc == ERYX_OK) rc = scan_extensions(path, &l, &exts, err);
    if (rc == ERYX_OK) rc = write_image(&l, path, &zip, err);
    uint32_t files = (uint32_t)l.n;
    uint64_t bytes = l.bytes;
    plist_free(&l);
    eryx__errbuf msg;
    if (rc == ERYX_OK && eryx__sha256_hex(zip.p, zip.len, out->sha256) != 0)
        rc = eryx__fail(err, ERYX_ERR_NO_MEMORY, "cannot hash the package %s", path);
    if (rc == ERYX_OK && !(out->img = eryx__vfs_zip_adopt(zip.p, zip.len, &msg))) {
        rc = eryx__fail(err, ERYX_ERR_PACKAGE, "%s: the packed image is unusable: %s", path, msg.msg);
        zip.p = NULL; /* adopt frees it on failure too */
    }
    out->exts = exts;
    out->version = version;
    if (rc != ERYX_OK) {
        free(zip.p);
        eryx__package_clear(out);
        return rc;
    }
    out->kind = kind;
    out->files = files;
    out->bytes = bytes;
    out->source = strdup(path);
    out->name = strdup(name);
    size_t gl = strlen("/packages/") + strlen(name) + 1;
    if ((out->guest_path = malloc(gl))) snprintf(out->guest_path, gl, "/packages/%s", name);
    if (!out->source || !out->name || !out->guest_path) {
        eryx__package_clear(out);
        return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for the package %s", path);
    }
    if (kind[0] != 's') registry_put(&st, out); /* archives: a file identity to key on */
    return ERYX_OK;
}

/* ---- writing an eryx package ----------------------------------------------------------- */

eryx_status eryx__package_write(const char *tree, const char *name, const char *version, const char *out_path,
                                eryx__errbuf *err) {
    struct stat st;
    if (!tree || !name || !version || !out_path || !*version)
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "an eryx package needs a source tree, a name and a version");
    if (stat(tree, &st) != 0 || !S_ISDIR(st.st_mode))
        return eryx__fail(err, ERYX_ERR_PACKAGE, "%s is not a directory: an eryx package is made from a source tree",
                          tree);
    char norm[128], dirname_ignored[128];
    if (eryx__package_normalize_name(name, strlen(name), norm, sizeof norm) != 0)
        return eryx__fail(err, ERYX_ERR_PACKAGE, "'%s' cannot name a package (use letters, digits, '-', '_', '.')",
                          name);
    plist l = {0};
    eryx_status rc = read_tree(tree, dirname_ignored, sizeof dirname_ignored, &l, err);
    eryx__package_exts *exts = NULL;
    if (rc == ERYX_OK) rc = scan_extensions(tree, &l, &exts, err);
    exts_release(exts); /* checked; the reader keeps its own */
    for (size_t i = 0; rc == ERYX_OK && i < l.n; i++)
        if (!strcmp(l.v[i].name, ERYX__PACKAGE_MANIFEST))
            rc = eryx__fail(err, ERYX_ERR_PACKAGE, "%s already holds a file named %s, which is the manifest's", tree,
                            ERYX__PACKAGE_MANIFEST);
    /* The manifest: sorted keys, so the file is a function of the inputs. */
    json_t *j = rc == ERYX_OK ? json_pack("{s:i, s:s, s:s, s:s, s:s}", "format", 1, "name", norm, "version", version,
                                          "python", "cp313", "platform", "wasm32-wasi")
                              : NULL;
    char *text = j ? json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2)) : NULL;
    json_decref(j);
    char *mname = text ? strdup(ERYX__PACKAGE_MANIFEST) : NULL;
    if (rc == ERYX_OK && !mname) rc = eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for the manifest");
    if (rc == ERYX_OK) {
        rc = plist_add(&l, mname, (unsigned char *)text, strlen(text), tree, err);
        text = NULL, mname = NULL; /* plist_add owns them either way */
    }
    free(text);
    free(mname);
    wbuf zip = {0};
    if (rc == ERYX_OK) rc = write_image(&l, tree, &zip, err);
    plist_free(&l);
    if (rc != ERYX_OK) {
        free(zip.p);
        return rc;
    }
    /* Written next to its final name, then renamed: a reader sees all or nothing. */
    size_t tl = strlen(out_path) + 32;
    char *tmp = malloc(tl);
    if (!tmp) {
        free(zip.p);
        return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory to write %s", out_path);
    }
    snprintf(tmp, tl, "%s.tmp.%ld", out_path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fwrite(zip.p, 1, zip.len, f) == zip.len;
    int e = errno;
    if (f && fclose(f) != 0 && ok) ok = false, e = errno;
    if (ok && rename(tmp, out_path) != 0) ok = false, e = errno;
    if (!ok) {
        unlink(tmp);
        rc = eryx__fail(err, ERYX_ERR_IO, "cannot write %s: %s (check the directory exists and has space)", out_path,
                        strerror(e));
    }
    free(tmp);
    free(zip.p);
    return rc;
}
