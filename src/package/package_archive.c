/*
** Packages: names, wheels, eryx package archives and their manifests, and the
** extension modules (side modules) any package carries (package.h). Owns: name
** normalization, wheel tags, reading a zip archive into a file list, checking
** side modules. Must not build the image or keep packages (package_image.c,
** package.c).
**
** Reading a wheel uses libzip (Debian's libzip-dev): it parses the archive,
** inflates, and checks every member's CRC, so eryx carries no deflate code of its
** own.
*/
#include "package_int.h"
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <stdatomic.h>
#include <zip.h>

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

bool eryx__package_has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* A native extension built for a host: CPython's suffixes on Linux, macOS and
** Windows. */
bool eryx__package_is_native_extension(const char *name) {
    return eryx__package_has_suffix(name, ".so") || eryx__package_has_suffix(name, ".pyd") ||
           eryx__package_has_suffix(name, ".dylib") || eryx__package_has_suffix(name, ".dll");
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
    if (!eryx__package_member_path_ok(name, &is_dir)) return NULL;
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
eryx_status eryx__package_read_archive(const char *path, bool wheel, plist *l, eryx__errbuf *err) {
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
        else if (eryx__package_member_path_ok(zs.name, &is_dir))
            skip = is_dir, target = is_dir ? NULL : strdup(zs.name);
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
            st =
                eryx__fail(err, ERYX_ERR_PACKAGE, "%s holds more than %llu bytes uncompressed, more than a package may",
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
        if (st == ERYX_OK && eryx__package_is_native_extension(target) && !is_wasm(data, zs.size))
            st = eryx__fail(err, ERYX_ERR_PACKAGE,
                            "%s holds the native extension %s, built for another machine; eryx runs wasm32-wasi "
                            "and cannot load it",
                            path, target);
        if (st == ERYX_OK) st = eryx__package_plist_add(l, target, data, zs.size, path, err);
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
eryx_status eryx__package_read_manifest(const char *path, const plist *l, char *name, size_t name_cap, char **version,
                                        eryx__errbuf *err) {
    const pfile *m = NULL;
    for (size_t i = 0; i < l->n && !m; i++)
        if (!strcmp(l->v[i].name, ERYX__PACKAGE_MANIFEST)) m = &l->v[i];
    if (!m)
        return eryx__fail(err, ERYX_ERR_PACKAGE,
                          "%s is not an eryx package: it has no %s (make one with `eryx package`)", path,
                          ERYX__PACKAGE_MANIFEST);
    json_error_t je;
    json_t *j = json_loadb((const char *)m->data, m->len, 0, &je);
    const char *n = NULL, *v = NULL, *py = NULL, *plat = NULL;
    json_int_t format = 0;
    eryx_status st = ERYX_OK;
    if (!j || json_unpack_ex(j, &je, 0, "{s:I, s:s, s:s, s:s, s:s}", "format", &format, "name", &n, "version", &v,
                             "python", &py, "platform", &plat) != 0)
        st = eryx__fail(err, ERYX_ERR_PACKAGE, "%s: its %s is damaged: %s", path, ERYX__PACKAGE_MANIFEST, je.text);
    else if (format != 1)
        st = eryx__fail(err, ERYX_ERR_PACKAGE,
                        "%s: its %s has format %lld; this eryx reads format 1 (a newer eryx "
                        "made it)",
                        path, ERYX__PACKAGE_MANIFEST, (long long)format);
    else if (strcmp(py, "cp313") != 0 || strcmp(plat, "wasm32-wasi") != 0)
        st = eryx__fail(err, ERYX_ERR_PACKAGE,
                        "%s is built for %s on %s; this interpreter is CPython 3.13 on wasm32-wasi (cp313): rebuild "
                        "the package for it",
                        path, py, plat);
    else if (eryx__package_normalize_name(n, strlen(n), name, name_cap) != 0)
        st = eryx__fail(err, ERYX_ERR_PACKAGE, "%s: its manifest's name '%.100s' is not a valid package name", path, n);
    else if (!(*version = strdup(v))) st = eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory to read %s", path);
    json_decref(j);
    return st;
}

eryx_status eryx__package_read_wheel(const char *path, char *dist, size_t dist_cap, plist *l, eryx__errbuf *err) {
    eryx_status st = check_wheel_name(path, dist, dist_cap, err);
    return st != ERYX_OK ? st : eryx__package_read_archive(path, true, l, err);
}

/* ---- extension modules ---------------------------------------------------------------- */

void eryx__package_exts_release(eryx__package_exts *x) {
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
    if (!eryx__package_has_suffix(base, ".so"))
        return eryx__fail(err, ERYX_ERR_PACKAGE,
                          "%s: %s is a WebAssembly module named as a %s file; name it "
                          "NAME.cpython-313-wasm32-wasi.so",
                          path, member, strrchr(base, '.'));
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
eryx_status eryx__package_scan_extensions(const char *path, const plist *l, eryx__package_exts **out,
                                          eryx__errbuf *err) {
    *out = NULL;
    eryx__package_exts *x = NULL;
    eryx_status st = ERYX_OK;
    for (size_t i = 0; st == ERYX_OK && i < l->n; i++) {
        const pfile *f = &l->v[i];
        if (!eryx__package_is_native_extension(f->name) || !is_wasm(f->data, f->len)) continue;
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
            st =
                eryx__fail(err, ERYX_ERR_PACKAGE, "%s: the extension module %s is damaged: %s", path, f->name, msg.msg);
            break;
        }
        if (!(e->member = strdup(f->name))) {
            eryx__wasm_iface_free(&e->iface);
            st = eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory to read %s", path);
            break;
        }
        x->n++;
    }
    if (st != ERYX_OK) eryx__package_exts_release(x);
    else *out = x;
    return st;
}
