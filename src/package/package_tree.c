/*
** Packages: source trees (a directory) read into a file list (package.h). Owns:
** which directory is the package (src/ next to pyproject.toml, setup.py or
** setup.cfg), which files are left out, symbolic links that lead outside. Must not
** build the image or keep packages (package_image.c, package.c).
*/
#define _XOPEN_SOURCE 700 /* realpath */
#include "package_int.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- source trees ------------------------------------------------------------------- */

static bool skipped_dir(const char *name) {
    static const char *const skip[] = {".git",  ".hg",         ".svn",          ".tox",  ".nox",
                                       ".venv", ".mypy_cache", ".pytest_cache", ".eggs", NULL};
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
            if (in_cache ? !eryx__package_has_suffix(e->d_name, ".cpython-313.pyc")
                         : eryx__package_has_suffix(e->d_name, ".pyc"))
                continue;
            if (!eryx__package_member_path_ok(rpath, &is_dir)) {
                st = eryx__fail(err, ERYX_ERR_PACKAGE, "%s: the file name is not usable in a package", hpath);
                break;
            }
            unsigned char *data = NULL;
            size_t len = 0;
            st = read_file(dirfd(d), e->d_name, hpath, &data, &len, err);
            /* An extension built for the host is left out; one built for
            ** wasm32-wasi (a side module, docs/LATE-LINKING.md) is kept. */
            if (st == ERYX_OK && eryx__package_is_native_extension(e->d_name) &&
                (len < 4 || memcmp(data, "\0asm", 4) != 0)) {
                free(data);
                continue;
            }
            if (st == ERYX_OK) {
                char *name = strdup(rpath);
                if (!name) {
                    free(data);
                    st = eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory to read %s", host);
                } else {
                    st = eryx__package_plist_add(l, name, data, len, root, err);
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

eryx_status eryx__package_read_tree(const char *path, char *name, size_t name_cap, plist *l, eryx__errbuf *err) {
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
        else st = walk_tree(root, root, "", 0, l, err);
    }
    free(root);
    return st;
}
