/*
** The mount table: lexical path normalization, deepest-mount lookup, read-only
** enforcement, and the implicit directories above mount points. A guest path's
** trailing '/' (it must name a directory) is kept by the normalizer as a mark and
** checked here, before and after the backend, so every backend keeps that rule.
**
** Every file handed out is wrapped (struct vfile) for two reasons: fstat must
** report the same device number as stat (each mount gets its own, because two mem
** mounts both number their inodes from 1 and Python's shutil compares
** (st_dev, st_ino)), and a directory with mount points below it must list them
** after the backend's own entries.
*/
#include "vfs.h"
#include "vfs_internal.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITE_FLAGS (ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT | ERYX__VFS_O_TRUNC | ERYX__VFS_O_APPEND)
#define MOUNT_PATH_CAP 4096
#define STRIP_CAP 4352 /* a guest path (at most 4096 bytes) without its trailing '/' */
#define IMPLICIT_DEV 0
/* Readdir cookies with this bit index the mount-point names listed after a
** backend's entries (backends count their cookies up from 0). */
#define EXTRA_COOKIE ((uint64_t)1 << 63)

typedef struct mount {
    char *path; /* normalized, absolute */
    size_t len;
    const eryx__vfs_backend *be;
    void *self;
    bool readonly;
    uint64_t dev;
} mount;

struct eryx__vfs {
    mount *mounts;
    size_t n, cap;
};

typedef struct vfile {
    eryx__vfs_file base;
    eryx__vfs_file_ops ops; /* mirrors inner's: NULL where inner's op is NULL */
    eryx__vfs_file *inner;  /* the backend's file; NULL for an implicit directory */
    uint64_t dev;
    uint64_t ino, parent_ino; /* implicit directories */
    char **extra;             /* names of child mount points not listed by the backend */
    uint64_t *extra_ino;
    uint8_t *extra_type; /* a directory, or a file mounted as itself (vfs_hostfile.c) */
    size_t nextra;
} vfile;

/* ---- paths ------------------------------------------------------------------- */

/* Appends the components of p[0..len) to out[0..*olen) (which holds "" for "/" or
** "/a/b"), resolving "." and ".." lexically. */
static eryx__errno push_components(const char *p, size_t len, char *out, size_t cap, size_t *olen) {
    size_t i = 0;
    while (i < len) {
        while (i < len && p[i] == '/') i++;
        size_t s = i;
        while (i < len && p[i] != '/') i++;
        size_t n = i - s;
        if (n == 0 || (n == 1 && p[s] == '.')) continue;
        if (n == 2 && p[s] == '.' && p[s + 1] == '.') {
            while (*olen > 0 && out[*olen - 1] != '/') (*olen)--;
            if (*olen > 0) (*olen)--; /* drop the '/' too; at "/" this stays "" */
            continue;
        }
        /* room for '/', the component and the final NUL */
        if (cap < 2 || n > cap - 2 || *olen > cap - 2 - n) return ERYX__WASI_ENAMETOOLONG;
        out[(*olen)++] = '/';
        memcpy(out + *olen, p + s, n);
        *olen += n;
    }
    return 0;
}

static eryx__errno join(const char *base, const char *path, size_t len, char *out, size_t cap, bool mark_dir) {
    if (!out || cap == 0) return ERYX__WASI_ENAMETOOLONG;
    out[0] = '\0';
    if (!path || len == 0 || memchr(path, '\0', len)) return ERYX__WASI_EINVAL;
    size_t olen = 0;
    eryx__errno e;
    if (path[0] != '/') {
        if (!base || base[0] != '/') return ERYX__WASI_EINVAL;
        e = push_components(base, strlen(base), out, cap, &olen);
        if (e) return e;
    }
    e = push_components(path, len, out, cap, &olen);
    if (e) return e;
    if (olen == 0) {
        if (cap < 2) return ERYX__WASI_ENAMETOOLONG;
        out[olen++] = '/';
    } else if (mark_dir) {
        /* The last component as written: "", "." or ".." must name a directory. */
        size_t n = 0;
        while (n < len && path[len - 1 - n] != '/') n++;
        const char *last = path + len - n;
        if (n == 0 || (n == 1 && last[0] == '.') || (n == 2 && last[0] == '.' && last[1] == '.')) {
            if (olen + 1 >= cap) return ERYX__WASI_ENAMETOOLONG;
            out[olen++] = '/';
        }
    }
    out[olen] = '\0';
    return 0;
}

eryx__errno eryx__vfs_join(const char *base, const char *path, size_t len, char *out, size_t cap) {
    return join(base, path, len, out, cap, false);
}

eryx__errno eryx__vfs_join_guest(const char *base, const char *path, size_t len, char *out, size_t cap) {
    return join(base, path, len, out, cap, true);
}

/* True for "/" and "/a/b": absolute, no empty, "." or ".." components; one
** trailing '/' ("/a/b/": it must be a directory) is allowed. */
static bool is_normalized(const char *p) {
    if (!p || p[0] != '/') return false;
    if (p[1] == '\0') return true;
    const char *c = p + 1;
    for (;;) {
        size_t n = strcspn(c, "/");
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) return false;
        if (c[n] == '\0' || c[n + 1] == '\0') return true;
        c += n + 1;
    }
}

/* An entry point's path: EINVAL unless normalized; then *path without its trailing
** '/' (copied to buf when it has one; ENAMETOOLONG when it does not fit) and
** whether it had one. */
static eryx__errno take_path(const char **path, char buf[STRIP_CAP], bool *dir_only) {
    if (!is_normalized(*path)) return ERYX__WASI_EINVAL;
    size_t n = strlen(*path);
    *dir_only = n > 1 && (*path)[n - 1] == '/';
    if (!*dir_only) return 0;
    if (n > STRIP_CAP) return ERYX__WASI_ENAMETOOLONG;
    memcpy(buf, *path, n - 1);
    buf[n - 1] = '\0';
    *path = buf;
    return 0;
}

static uint64_t path_ino(const char *p, size_t len) {
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)p[i]) * 0x100000001b3u;
    return h ? h : 1;
}

/* Length of the parent of a normalized path ("/a/b" -> 2, "/a" -> 1 meaning "/"). */
static size_t parent_len(const char *p) {
    const char *s = strrchr(p, '/');
    size_t n = (size_t)(s - p);
    return n ? n : 1;
}

/* ---- mount lookup ---------------------------------------------------------------- */

/* The deepest mount containing path, and path relative to it ("" for its root). */
static mount *find_mount(eryx__vfs *vfs, const char *path, const char **rel) {
    mount *best = NULL;
    for (size_t i = 0; i < vfs->n; i++) {
        mount *m = &vfs->mounts[i];
        bool under =
            m->len == 1 || (strncmp(path, m->path, m->len) == 0 && (path[m->len] == '\0' || path[m->len] == '/'));
        if (under && (!best || m->len > best->len)) best = m;
    }
    if (best) {
        const char *r = path + best->len;
        *rel = *r == '/' ? r + 1 : r;
    }
    return best;
}

/* True when plen bytes of path name "/" or a proper ancestor of a mount point. */
static bool is_implicit_n(const eryx__vfs *vfs, const char *path, size_t plen) {
    if (plen == 1) return true; /* the root always exists */
    for (size_t i = 0; i < vfs->n; i++) {
        const mount *m = &vfs->mounts[i];
        if (m->len > plen && memcmp(m->path, path, plen) == 0 && m->path[plen] == '/') return true;
    }
    return false;
}

static bool is_implicit(const eryx__vfs *vfs, const char *path) { return is_implicit_n(vfs, path, strlen(path)); }

/* A backend's "not there": an implicit directory at that path then shows through. */
static bool absent(eryx__errno e) { return e == ERYX__WASI_ENOENT || e == ERYX__WASI_ENOTDIR; }

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void free_names(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* The distinct next components of the mount points strictly below path, sorted. */
static eryx__errno child_mounts(const eryx__vfs *vfs, const char *path, char ***out, size_t *count) {
    size_t plen = strlen(path), start = plen == 1 ? 1 : plen + 1, n = 0;
    char **names = NULL;
    *out = NULL;
    *count = 0;
    if (vfs->n == 0) return 0;
    names = calloc(vfs->n, sizeof *names);
    if (!names) return ERYX__WASI_ENOMEM;
    for (size_t i = 0; i < vfs->n; i++) {
        const mount *m = &vfs->mounts[i];
        if (m->len <= plen || (plen > 1 && (memcmp(m->path, path, plen) != 0 || m->path[plen] != '/'))) continue;
        const char *comp = m->path + start;
        size_t clen = strcspn(comp, "/");
        bool dup = clen == 0;
        for (size_t k = 0; k < n && !dup; k++) dup = strlen(names[k]) == clen && memcmp(names[k], comp, clen) == 0;
        if (dup) continue;
        if (!(names[n] = malloc(clen + 1))) {
            free_names(names, n);
            return ERYX__WASI_ENOMEM;
        }
        memcpy(names[n], comp, clen);
        names[n++][clen] = '\0';
    }
    if (n == 0) {
        free(names);
        return 0;
    }
    qsort(names, n, sizeof *names, cmp_names);
    *out = names;
    *count = n;
    return 0;
}

/* ---- the vfs ----------------------------------------------------------------- */

eryx__vfs *eryx__vfs_new(void) { return calloc(1, sizeof(eryx__vfs)); }

void eryx__vfs_free(eryx__vfs *vfs) {
    if (!vfs) return;
    for (size_t i = 0; i < vfs->n; i++) {
        mount *m = &vfs->mounts[i];
        if (m->be->destroy) m->be->destroy(m->self);
        free(m->path);
    }
    free(vfs->mounts);
    free(vfs);
}

eryx__errno eryx__vfs_mount(eryx__vfs *vfs, const char *guest_path, const eryx__vfs_backend *backend, void *self,
                            bool readonly) {
    char norm[MOUNT_PATH_CAP] = "";
    eryx__errno e = 0;
    if (!vfs || !backend || !backend->open || !backend->stat || !guest_path || guest_path[0] != '/')
        e = ERYX__WASI_EINVAL;
    if (!e) e = eryx__vfs_join("/", guest_path, strlen(guest_path), norm, sizeof norm);
    for (size_t i = 0; !e && i < vfs->n; i++)
        if (strcmp(vfs->mounts[i].path, norm) == 0) e = ERYX__WASI_EEXIST;
    if (!e && vfs->n == vfs->cap) {
        size_t cap = vfs->cap ? vfs->cap * 2 : 4;
        mount *grown = realloc(vfs->mounts, cap * sizeof *grown);
        if (!grown) e = ERYX__WASI_ENOMEM;
        else {
            vfs->mounts = grown;
            vfs->cap = cap;
        }
    }
    size_t len = strlen(norm);
    char *copy = e ? NULL : malloc(len + 1);
    if (!e && !copy) e = ERYX__WASI_ENOMEM;
    if (e) {
        if (backend && backend->destroy) backend->destroy(self);
        return e;
    }
    memcpy(copy, norm, len + 1);
    vfs->mounts[vfs->n] = (mount){
        .path = copy, .len = len, .be = backend, .self = self, .readonly = readonly, .dev = (uint64_t)vfs->n + 1};
    vfs->n++;
    return 0;
}

/* ---- open files ---------------------------------------------------------------- */

static eryx__errno vf_pread(eryx__vfs_file *f, void *buf, size_t len, uint64_t offset, size_t *nread) {
    vfile *vf = (vfile *)f;
    return vf->inner->ops->pread(vf->inner, buf, len, offset, nread);
}

static eryx__errno vf_pwrite(eryx__vfs_file *f, const void *buf, size_t len, uint64_t offset, size_t *nwritten) {
    vfile *vf = (vfile *)f;
    return vf->inner->ops->pwrite(vf->inner, buf, len, offset, nwritten);
}

static eryx__errno vf_truncate(eryx__vfs_file *f, uint64_t size) {
    vfile *vf = (vfile *)f;
    return vf->inner->ops->truncate(vf->inner, size);
}

static eryx__errno vf_sync(eryx__vfs_file *f) {
    vfile *vf = (vfile *)f;
    return vf->inner->ops->sync(vf->inner);
}

static void implicit_stat(uint64_t ino, eryx__vfs_stat *out) {
    *out = (eryx__vfs_stat){.dev = IMPLICIT_DEV, .ino = ino, .type = ERYX__VFS_TYPE_DIR, .nlink = 2};
}

static eryx__errno vf_fstat(eryx__vfs_file *f, eryx__vfs_stat *out) {
    vfile *vf = (vfile *)f;
    if (!vf->inner) {
        implicit_stat(vf->ino, out);
        return 0;
    }
    eryx__errno e = vf->inner->ops->fstat(vf->inner, out);
    if (!e) out->dev = vf->dev;
    return e;
}

static eryx__errno vf_readdir(eryx__vfs_file *f, uint64_t cookie, eryx__vfs_dirent *out, bool *end) {
    vfile *vf = (vfile *)f;
    uint64_t k; /* index into extra */
    *end = false;
    if (!vf->inner) {
        if (cookie < 2) {
            *out = (eryx__vfs_dirent){.name = cookie ? ".." : ".",
                                      .name_len = cookie + 1,
                                      .type = ERYX__VFS_TYPE_DIR,
                                      .ino = cookie ? vf->parent_ino : vf->ino,
                                      .next = cookie + 1};
            return 0;
        }
        k = cookie - 2;
    } else if (cookie & EXTRA_COOKIE) {
        k = cookie & ~EXTRA_COOKIE;
    } else {
        eryx__errno e = vf->inner->ops->readdir(vf->inner, cookie, out, end);
        if (e || !*end || vf->nextra == 0) return e;
        *end = false;
        k = 0;
    }
    if (k >= vf->nextra) {
        *end = true;
        return 0;
    }
    *out = (eryx__vfs_dirent){.name = vf->extra[k],
                              .name_len = strlen(vf->extra[k]),
                              .type = vf->extra_type[k],
                              .ino = vf->extra_ino[k],
                              .next = vf->inner ? (EXTRA_COOKIE | (k + 1)) : k + 3};
    return 0;
}

static void vf_close(eryx__vfs_file *f) {
    vfile *vf = (vfile *)f;
    if (vf->inner) vf->inner->ops->close(vf->inner);
    free_names(vf->extra, vf->nextra);
    free(vf->extra_ino);
    free(vf->extra_type);
    free(vf);
}

/* Points vf's ops at the delegating functions, keeping NULL where inner has NULL. */
static void vf_wrap(vfile *vf) {
    const eryx__vfs_file_ops *in = vf->inner ? vf->inner->ops : NULL;
    vf->ops = (eryx__vfs_file_ops){
        .pread = in && in->pread ? vf_pread : NULL,
        .pwrite = in && in->pwrite ? vf_pwrite : NULL,
        .fstat = !in || in->fstat ? vf_fstat : NULL,
        .truncate = in && in->truncate ? vf_truncate : NULL,
        .readdir = !in || in->readdir ? vf_readdir : NULL,
        .sync = in && in->sync ? vf_sync : NULL,
        .close = vf_close,
    };
    vf->base.ops = &vf->ops;
}

/* Fills vf->extra with the child mount points of path (a directory), leaving out
** those the backend (mount m, path rel inside it; m NULL for none) lists itself. */
static eryx__errno add_extras(eryx__vfs *vfs, vfile *vf, const mount *m, const char *path, const char *rel) {
    char **names;
    size_t n, keep = 0;
    eryx__errno e = child_mounts(vfs, path, &names, &n);
    if (e || n == 0) return e;
    size_t plen = strlen(path), rlen = strlen(rel), longest = 0;
    for (size_t i = 0; i < n; i++)
        if (strlen(names[i]) > longest) longest = strlen(names[i]);
    char *buf = malloc(plen + rlen + longest + 2);
    vf->extra_ino = calloc(n, sizeof *vf->extra_ino);
    vf->extra_type = calloc(n, sizeof *vf->extra_type);
    if (!buf || !vf->extra_ino || !vf->extra_type) {
        free(buf);
        free_names(names, n);
        return ERYX__WASI_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        eryx__vfs_stat st;
        if (m) {
            /* rel + "/" + name inside the backend */
            size_t o = rlen;
            memcpy(buf, rel, rlen);
            if (rlen) buf[o++] = '/';
            strcpy(buf + o, names[i]);
            if (m->be->stat(m->self, buf, false, &st) == 0) {
                free(names[i]);
                continue;
            }
        }
        size_t o = plen;
        memcpy(buf, path, plen);
        if (plen > 1) buf[o++] = '/';
        strcpy(buf + o, names[i]);
        bool known = eryx__vfs_stat_path(vfs, buf, true, &st) == 0;
        vf->extra_ino[keep] = known ? st.ino : path_ino(buf, strlen(buf));
        vf->extra_type[keep] = known ? st.type : ERYX__VFS_TYPE_DIR;
        names[keep++] = names[i];
    }
    free(buf);
    vf->extra = names;
    vf->nextra = keep;
    return 0;
}

static eryx__errno open_implicit(eryx__vfs *vfs, vfile *vf, const char *path, uint32_t flags) {
    if ((flags & ERYX__VFS_O_CREAT) && (flags & ERYX__VFS_O_EXCL)) return ERYX__WASI_EEXIST;
    if (flags & WRITE_FLAGS) return ERYX__WASI_EISDIR;
    vf->dev = IMPLICIT_DEV;
    vf->ino = path_ino(path, strlen(path));
    vf->parent_ino = path_ino(path, parent_len(path));
    return add_extras(vfs, vf, NULL, path, "");
}

eryx__errno eryx__vfs_open(eryx__vfs *vfs, const char *path, uint32_t flags, eryx__vfs_file **out) {
    *out = NULL;
    char buf[STRIP_CAP];
    bool dir_only;
    eryx__errno pe = take_path(&path, buf, &dir_only);
    if (pe) return pe;
    if (dir_only) { /* as Linux: "x/" is never created, and a symlink there is followed */
        if (flags & ERYX__VFS_O_CREAT) return ERYX__WASI_EISDIR;
        flags = (flags | ERYX__VFS_O_DIRECTORY) & ~(uint32_t)ERYX__VFS_O_NOFOLLOW;
    }
    const char *rel = NULL;
    mount *m = find_mount(vfs, path, &rel);
    bool implicit = is_implicit(vfs, path);
    vfile *vf = calloc(1, sizeof *vf);
    if (!vf) return ERYX__WASI_ENOMEM;
    eryx__errno e;
    if (m) {
        vf->dev = m->dev;
        e = (m->readonly && (flags & WRITE_FLAGS)) ? ERYX__WASI_EROFS : m->be->open(m->self, rel, flags, &vf->inner);
        if (e) vf->inner = NULL;
        if (absent(e) && implicit) {
            e = open_implicit(vfs, vf, path, flags);
        } else if (!e && implicit) {
            eryx__vfs_stat st;
            if (vf->inner->ops->fstat && vf->inner->ops->fstat(vf->inner, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR)
                e = add_extras(vfs, vf, m, path, rel);
        }
    } else if (implicit) {
        e = open_implicit(vfs, vf, path, flags);
    } else {
        /* Nothing is mounted here; the parent is an implicit directory or absent. */
        e = (flags & ERYX__VFS_O_CREAT) && is_implicit_n(vfs, path, parent_len(path)) ? ERYX__WASI_EROFS
                                                                                      : ERYX__WASI_ENOENT;
    }
    if (e) {
        vf_close(&vf->base);
        return e;
    }
    vf->base.flags = vf->inner ? vf->inner->flags : flags;
    vf_wrap(vf);
    *out = &vf->base;
    return 0;
}

/* ---- path operations ------------------------------------------------------------ */

/* stat, for a path without a trailing '/'. */
static eryx__errno stat_plain(eryx__vfs *vfs, const char *path, bool follow_symlinks, eryx__vfs_stat *out) {
    const char *rel = NULL;
    mount *m = find_mount(vfs, path, &rel);
    if (m) {
        eryx__errno e = m->be->stat(m->self, rel, follow_symlinks, out);
        if (!e) {
            out->dev = m->dev;
            return 0;
        }
        if (!absent(e) || !is_implicit(vfs, path)) return e;
    } else if (!is_implicit(vfs, path)) {
        return ERYX__WASI_ENOENT;
    }
    implicit_stat(path_ino(path, strlen(path)), out);
    return 0;
}

eryx__errno eryx__vfs_stat_path(eryx__vfs *vfs, const char *path, bool follow_symlinks, eryx__vfs_stat *out) {
    char buf[STRIP_CAP];
    bool dir_only;
    eryx__errno pe = take_path(&path, buf, &dir_only);
    if (pe) return pe;
    eryx__errno e = stat_plain(vfs, path, follow_symlinks || dir_only, out);
    return !e && dir_only && out->type != ERYX__VFS_TYPE_DIR ? ERYX__WASI_ENOTDIR : e;
}

/* What an operation on a name with a trailing '/' ("x/") gives when x is not a
** directory (or a symlink to one): ENOTDIR, or x's own error. 0 for a directory. */
static eryx__errno need_dir(eryx__vfs *vfs, const char *path, bool follow) {
    eryx__vfs_stat st;
    eryx__errno e = stat_plain(vfs, path, follow, &st);
    return e ? e : st.type == ERYX__VFS_TYPE_DIR ? 0 : ERYX__WASI_ENOTDIR;
}

eryx__errno eryx__vfs_mkdir(eryx__vfs *vfs, const char *path) {
    char buf[STRIP_CAP];
    bool dir_only;
    eryx__errno pe = take_path(&path, buf, &dir_only);
    if (pe) return pe;
    const char *rel = NULL;
    mount *m = find_mount(vfs, path, &rel);
    bool implicit = is_implicit(vfs, path);
    if (m) {
        if (*rel == '\0') return ERYX__WASI_EEXIST; /* a mount point */
        if (m->readonly || !m->be->mkdir) return ERYX__WASI_EROFS;
        eryx__errno e = m->be->mkdir(m->self, rel);
        return absent(e) && implicit ? ERYX__WASI_EEXIST : e;
    }
    if (implicit) return ERYX__WASI_EEXIST;
    return is_implicit_n(vfs, path, parent_len(path)) ? ERYX__WASI_EROFS : ERYX__WASI_ENOENT;
}

/* Mount points and the directories above them cannot be removed or renamed. */
static eryx__errno pinned(const eryx__vfs *vfs, const mount *m, const char *path, const char *rel) {
    if (m && *rel == '\0') return ERYX__WASI_EBUSY;
    if (is_implicit(vfs, path)) return m ? ERYX__WASI_EBUSY : ERYX__WASI_EROFS;
    return 0;
}

static eryx__errno remove_path(eryx__vfs *vfs, const char *path, bool dir) {
    char buf[STRIP_CAP];
    bool dir_only;
    eryx__errno pe = take_path(&path, buf, &dir_only);
    if (pe) return pe;
    if (dir_only && !dir) { /* unlink("x/"): EISDIR for a directory, else ENOTDIR */
        eryx__errno e = need_dir(vfs, path, true);
        return e ? e : ERYX__WASI_EISDIR;
    }
    const char *rel = NULL;
    mount *m = find_mount(vfs, path, &rel);
    eryx__errno e = pinned(vfs, m, path, rel);
    if (e) return e;
    if (!m) return ERYX__WASI_ENOENT;
    eryx__errno (*op)(void *, const char *) = dir ? m->be->rmdir : m->be->unlink;
    if (m->readonly || !op) return ERYX__WASI_EROFS;
    return op(m->self, rel);
}

eryx__errno eryx__vfs_rmdir(eryx__vfs *vfs, const char *path) { return remove_path(vfs, path, true); }
eryx__errno eryx__vfs_unlink(eryx__vfs *vfs, const char *path) { return remove_path(vfs, path, false); }

eryx__errno eryx__vfs_rename(eryx__vfs *vfs, const char *from, const char *to) {
    char fbuf[STRIP_CAP], tbuf[STRIP_CAP];
    bool fdir, tdir;
    eryx__errno pe = take_path(&from, fbuf, &fdir);
    if (!pe) pe = take_path(&to, tbuf, &tdir);
    if (pe) return pe;
    if (fdir || tdir) { /* only a directory moves to or from "x/" */
        eryx__errno e = need_dir(vfs, from, false);
        if (e) return e;
    }
    const char *rf = NULL, *rt = NULL;
    mount *mf = find_mount(vfs, from, &rf), *mt = find_mount(vfs, to, &rt);
    eryx__errno e = pinned(vfs, mf, from, rf);
    if (!e) e = pinned(vfs, mt, to, rt);
    if (e) return e;
    if (!mf) return ERYX__WASI_ENOENT;
    if (mf != mt) return ERYX__WASI_EXDEV;
    if (mf->readonly || !mf->be->rename) return ERYX__WASI_EROFS;
    return mf->be->rename(mf->self, rf, rt);
}

eryx__errno eryx__vfs_readlink(eryx__vfs *vfs, const char *path, char *buf, size_t cap, size_t *len) {
    *len = 0;
    char pbuf[STRIP_CAP];
    bool dir_only;
    eryx__errno pe = take_path(&path, pbuf, &dir_only);
    if (pe) return pe;
    if (dir_only) { /* "link/" is the directory it points to: EINVAL, as for any directory */
        eryx__errno e = need_dir(vfs, path, true);
        return e ? e : ERYX__WASI_EINVAL;
    }
    const char *rel = NULL;
    mount *m = find_mount(vfs, path, &rel);
    bool implicit = is_implicit(vfs, path);
    if (m) {
        eryx__errno e;
        if (m->be->readlink) {
            e = m->be->readlink(m->self, rel, buf, cap, len);
        } else {
            eryx__vfs_stat st; /* no symlinks here: EINVAL for anything that exists */
            e = m->be->stat(m->self, rel, false, &st);
            if (!e) e = ERYX__WASI_EINVAL;
        }
        return absent(e) && implicit ? ERYX__WASI_EINVAL : e;
    }
    return implicit ? ERYX__WASI_EINVAL : ERYX__WASI_ENOENT;
}

eryx__errno eryx__vfs_writable(eryx__vfs *vfs, const char *path) {
    char buf[STRIP_CAP];
    bool dir_only;
    eryx__errno pe = take_path(&path, buf, &dir_only);
    if (pe) return pe;
    const char *rel = NULL;
    mount *m = find_mount(vfs, path, &rel);
    if (!m || m->readonly || !m->be->mkdir) return ERYX__WASI_EROFS;
    if (*rel && is_implicit(vfs, path)) { /* above a deeper mount point: the mount's own, or implicit */
        eryx__vfs_stat st;
        if (absent(m->be->stat(m->self, rel, false, &st))) return ERYX__WASI_EROFS;
    }
    return 0;
}

int eryx__vfs_name_cmp(const char *a, size_t alen, const char *b, size_t blen) {
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c) return c;
    return alen < blen ? -1 : alen > blen;
}
