/*
** An in-memory read-write filesystem: a tree of directories and regular files.
**
** Nodes are freed when they are neither linked in the tree nor open, so a file
** unlinked while open stays usable until its last close. The filesystem itself
** is reference-counted by its open files, so destroy (at unmount) does not pull
** memory from under a file the caller still holds.
**
** The byte cap counts every allocation the filesystem makes and keeps: nodes,
** names, directory tables and file buffers with their spare capacity, each as the
** chunk malloc really takes (charge()). The entry cap counts files and directories
** (not the root). An operation that would pass either fails whole with ENOSPC and
** changes nothing; the guest cannot make host memory grow past the caps with empty
** files or long names. Open files (one small struct each) are not counted: the
** WASI fd table bounds them.
**
** Directory trees can be made arbitrarily deep by renames, so nothing here
** recurses over the tree.
*/
#include "vfs.h"
#include "vfs_internal.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MEM_DEV 0x6d656du /* "mem"; the mount table overrides it */
#define MEM_NAME_MAX 255
#define MEM_FILE_MAX ((uint64_t)INT64_MAX < (uint64_t)SIZE_MAX ? (uint64_t)INT64_MAX : (uint64_t)SIZE_MAX)
#define MEM_SLACK_MAX ((size_t)16 << 20) /* most spare capacity kept when a file grows */

typedef struct mnode mnode;

typedef struct ment {
    char *name; /* NUL-terminated */
    size_t len;
    mnode *node;
} ment;

struct mnode {
    uint8_t type;
    bool linked;    /* reachable from the root */
    uint32_t opens; /* open files referring to it */
    uint64_t ino;
    uint64_t atim, mtim, ctim;
    mnode *parent;       /* the containing directory; NULL for the root and once unlinked */
    unsigned char *data; /* regular files */
    uint64_t size;
    size_t cap;
    ment *ents; /* directories: sorted by name */
    size_t n, ecap;
};

typedef struct memfs {
    mnode *root;
    uint64_t max, used;        /* byte cap (0: none) and the bytes charged against it */
    uint64_t max_nodes, nodes; /* entry cap (0: none) and the files and directories held */
    uint64_t data;             /* bytes of file contents (eryx__vfs_mem_used) */
    uint64_t next_ino;
    size_t refs; /* the backend's own reference plus one per open file */
} memfs;

typedef struct mfile {
    eryx__vfs_file base;
    memfs *fs;
    mnode *node;
    char name[MEM_NAME_MAX + 1]; /* the last readdir name */
} mfile;

static uint64_t now_ns(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* What malloc(n) takes from the heap: glibc's chunk (an 8-byte header, rounded to
** 16, 32 at least). Charging that, not n, keeps many small names honest. */
static uint64_t chunk(uint64_t n) {
    if (n == 0) return 0;
    uint64_t c = (n + 8 + 15) & ~(uint64_t)15;
    return c < 32 ? 32 : c;
}

/* True if `add` more bytes fit under the cap. */
static bool fits(const memfs *fs, uint64_t add) { return !fs->max || (add <= fs->max && fs->used <= fs->max - add); }

#define NODE_COST chunk(sizeof(mnode))

static mnode *node_new(memfs *fs, uint8_t type, mnode *parent) {
    mnode *nd = calloc(1, sizeof *nd);
    if (!nd) return NULL;
    fs->used += NODE_COST;
    if (parent) fs->nodes++; /* the root is not an entry */
    nd->type = type;
    nd->linked = true;
    nd->ino = fs->next_ino++;
    nd->atim = nd->mtim = nd->ctim = now_ns();
    nd->parent = parent;
    return nd;
}

static void node_free(memfs *fs, mnode *nd) {
    fs->data -= nd->size;
    fs->used -= NODE_COST + chunk(nd->cap) + chunk((uint64_t)nd->ecap * sizeof(ment));
    if (nd != fs->root) fs->nodes--;
    for (size_t i = 0; i < nd->n; i++) { /* only at teardown is n > 0 */
        fs->used -= chunk(nd->ents[i].len + 1);
        free(nd->ents[i].name);
    }
    free(nd->ents);
    free(nd->data);
    free(nd);
}

/* Frees the tree without recursion: descend into the last child, free on the way up. */
static void tree_free(memfs *fs, mnode *root) {
    mnode *nd = root;
    while (nd) {
        if (nd->n > 0) {
            ment *e = &nd->ents[--nd->n];
            mnode *child = e->node;
            fs->used -= chunk(e->len + 1);
            free(e->name);
            child->parent = nd;
            nd = child;
            continue;
        }
        mnode *up = nd == root ? NULL : nd->parent;
        node_free(fs, nd);
        nd = up;
    }
}

static void fs_unref(memfs *fs) {
    if (--fs->refs > 0) return;
    tree_free(fs, fs->root);
    free(fs);
}

/* Frees nd if nothing refers to it any more. */
static void node_maybe_free(memfs *fs, mnode *nd) {
    if (!nd->linked && nd->opens == 0) node_free(fs, nd);
}

/* ---- directories ------------------------------------------------------------------ */


/* Binary search: true and *at = its index if found, else *at = where it would go. */
static bool dir_find(const mnode *dir, const char *name, size_t len, size_t *at) {
    size_t lo = 0, hi = dir->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = eryx__vfs_name_cmp(name, len, dir->ents[mid].name, dir->ents[mid].len);
        if (c == 0) {
            *at = mid;
            return true;
        }
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    *at = lo;
    return false;
}

/* The table capacity room for one more entry needs (dir->ecap if it has room). */
static size_t dir_next_cap(const mnode *dir) { return dir->n < dir->ecap ? dir->ecap : dir->ecap ? dir->ecap * 2 : 8; }

/* Bytes a new entry named len bytes costs in dir: its node, its name, the table's growth. */
static uint64_t entry_cost(const mnode *dir, size_t len) {
    return NODE_COST + chunk((uint64_t)len + 1) + chunk((uint64_t)dir_next_cap(dir) * sizeof(ment)) -
           chunk((uint64_t)dir->ecap * sizeof(ment));
}

/* Makes room for one more entry; ENOSPC past the cap, ENOMEM if malloc fails. */
static eryx__errno dir_reserve(memfs *fs, mnode *dir) {
    size_t cap = dir_next_cap(dir);
    if (cap == dir->ecap) return 0;
    if (cap > SIZE_MAX / sizeof(ment)) return ERYX__WASI_ENOSPC;
    uint64_t grow = chunk((uint64_t)cap * sizeof(ment)) - chunk((uint64_t)dir->ecap * sizeof(ment));
    if (!fits(fs, grow)) return ERYX__WASI_ENOSPC;
    ment *g = realloc(dir->ents, cap * sizeof *g);
    if (!g) return ERYX__WASI_ENOMEM;
    dir->ents = g;
    dir->ecap = cap;
    fs->used += grow;
    return 0;
}

/* A copy of a new entry's name, charged; NULL when malloc fails. */
static char *name_new(memfs *fs, const char *name, size_t len) {
    char *s = malloc(len + 1);
    if (!s) return NULL;
    memcpy(s, name, len);
    s[len] = '\0';
    fs->used += chunk((uint64_t)len + 1);
    return s;
}

static void name_free(memfs *fs, char *name, size_t len) {
    fs->used -= chunk((uint64_t)len + 1);
    free(name);
}

/* Whether one more entry named len bytes fits both caps. */
static eryx__errno entry_fits(const memfs *fs, const mnode *dir, size_t len) {
    if (fs->max_nodes && fs->nodes >= fs->max_nodes) return ERYX__WASI_ENOSPC;
    return fits(fs, entry_cost(dir, len)) ? 0 : ERYX__WASI_ENOSPC;
}

/* Inserts at index `at` (from dir_find); room must have been reserved. */
static void dir_insert(mnode *dir, size_t at, char *name, size_t len, mnode *nd) {
    memmove(&dir->ents[at + 1], &dir->ents[at], (dir->n - at) * sizeof(ment));
    dir->ents[at] = (ment){.name = name, .len = len, .node = nd};
    dir->n++;
    nd->parent = dir;
    dir->mtim = dir->ctim = now_ns();
}

/* Removes entry `at` (its name is freed; the node is the caller's). A table a
** quarter full is halved, so emptied directories give their memory back. */
static void dir_remove(memfs *fs, mnode *dir, size_t at) {
    name_free(fs, dir->ents[at].name, dir->ents[at].len);
    memmove(&dir->ents[at], &dir->ents[at + 1], (dir->n - at - 1) * sizeof(ment));
    dir->n--;
    dir->mtim = dir->ctim = now_ns();
    if (dir->ecap > 8 && dir->n < dir->ecap / 4) {
        size_t cap = dir->ecap / 2;
        ment *g = realloc(dir->ents, cap * sizeof *g);
        if (g) {
            fs->used -= chunk((uint64_t)dir->ecap * sizeof(ment)) - chunk((uint64_t)cap * sizeof(ment));
            dir->ents = g;
            dir->ecap = cap;
        }
    }
}

/* Components ".", ".." and "" are refused: the mount table normalizes paths, so
** these only come from a caller bypassing it. */
static eryx__errno check_path(const char *c) {
    for (;;) {
        size_t n = strcspn(c, "/");
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) return ERYX__WASI_EINVAL;
        if (n > MEM_NAME_MAX) return ERYX__WASI_ENAMETOOLONG;
        if (c[n] == '\0') return 0;
        c += n + 1;
    }
}

/* Walks all but the last component of path. *dir = NULL and *name = "" for the
** root itself (path ""). */
static eryx__errno walk_parent(memfs *fs, const char *path, mnode **dir, const char **name, size_t *len) {
    *dir = NULL;
    *name = path;
    *len = 0;
    if (*path == '\0') return 0;
    eryx__errno e = check_path(path);
    if (e) return e;
    mnode *cur = fs->root;
    const char *c = path;
    for (;;) {
        size_t n = strcspn(c, "/");
        if (c[n] == '\0') {
            *dir = cur;
            *name = c;
            *len = n;
            return 0;
        }
        size_t at;
        if (!dir_find(cur, c, n, &at)) return ERYX__WASI_ENOENT;
        cur = cur->ents[at].node;
        if (cur->type != ERYX__VFS_TYPE_DIR) return ERYX__WASI_ENOTDIR;
        c += n + 1;
    }
}

/* The node at path, and (unless it is the root) its directory and index there. */
static eryx__errno lookup(memfs *fs, const char *path, mnode **out, mnode **dir, size_t *at) {
    const char *name;
    size_t len;
    eryx__errno e = walk_parent(fs, path, dir, &name, &len);
    if (e) return e;
    if (!*dir) {
        *out = fs->root;
        return 0;
    }
    if (!dir_find(*dir, name, len, at)) return ERYX__WASI_ENOENT;
    *out = (*dir)->ents[*at].node;
    return 0;
}

/* ---- file contents -------------------------------------------------------------- */

/* Sets a regular file's size: zero-fills growth, honours the cap (the buffer's
** spare capacity included: it shrinks to what the cap leaves), changes nothing on
** failure. */
static eryx__errno set_size(memfs *fs, mnode *nd, uint64_t size) {
    if (size > MEM_FILE_MAX) return ERYX__WASI_EFBIG;
    if (size > nd->size) {
        uint64_t grow = size - nd->size;
        if (size > nd->cap) {
            uint64_t old = chunk(nd->cap);
            size_t need = (size_t)size, slack = need / 2 < MEM_SLACK_MAX ? need / 2 : MEM_SLACK_MAX;
            size_t cap = slack <= MEM_FILE_MAX - need ? need + slack : need;
            if (!fits(fs, chunk(need) - old)) return ERYX__WASI_ENOSPC;
            if (fs->max) { /* chunk(c) <= c + 24: keep the slack within the room left */
                uint64_t room = fs->max - fs->used + old;
                if ((uint64_t)cap + 24 > room) cap = room > (uint64_t)need + 24 ? (size_t)(room - 24) : need;
            }
            unsigned char *g = realloc(nd->data, cap);
            if (!g) return ERYX__WASI_ENOSPC;
            nd->data = g;
            nd->cap = cap;
            fs->used += chunk(cap) - old;
        }
        memset(nd->data + nd->size, 0, (size_t)grow);
        fs->data += grow;
    } else {
        fs->data -= nd->size - size;
        if (size < nd->cap / 4) { /* give memory back after a large shrink */
            unsigned char *g = size ? realloc(nd->data, (size_t)size) : NULL;
            if (!size) free(nd->data);
            if (g || !size) {
                fs->used -= chunk(nd->cap) - chunk(size);
                nd->data = g;
                nd->cap = (size_t)size;
            }
        }
    }
    nd->size = size;
    nd->mtim = nd->ctim = now_ns();
    return 0;
}

static eryx__errno mf_pread(eryx__vfs_file *f, void *buf, size_t len, uint64_t offset, size_t *nread) {
    mfile *mf = (mfile *)f;
    mnode *nd = mf->node;
    *nread = 0;
    if (!(f->flags & ERYX__VFS_O_READ)) return ERYX__WASI_EBADF;
    if (offset >= nd->size) return 0;
    uint64_t avail = nd->size - offset;
    size_t n = len < avail ? len : (size_t)avail;
    if (n) memcpy(buf, nd->data + offset, n);
    *nread = n;
    return 0;
}

static eryx__errno mf_pwrite(eryx__vfs_file *f, const void *buf, size_t len, uint64_t offset, size_t *nwritten) {
    mfile *mf = (mfile *)f;
    mnode *nd = mf->node;
    *nwritten = 0;
    if (!(f->flags & ERYX__VFS_O_WRITE)) return ERYX__WASI_EBADF;
    if (f->flags & ERYX__VFS_O_APPEND) offset = nd->size;
    if (offset > MEM_FILE_MAX || len > MEM_FILE_MAX - offset) return ERYX__WASI_EFBIG;
    if (len == 0) return 0;
    if (offset + len > nd->size) {
        eryx__errno e = set_size(mf->fs, nd, offset + len);
        if (e) return e;
    }
    memcpy(nd->data + offset, buf, len);
    nd->mtim = nd->ctim = now_ns();
    *nwritten = len;
    return 0;
}

static void fill_stat(const mnode *nd, eryx__vfs_stat *out) {
    *out = (eryx__vfs_stat){.dev = MEM_DEV,
                            .ino = nd->ino,
                            .type = nd->type,
                            .nlink = nd->linked ? (nd->type == ERYX__VFS_TYPE_DIR ? 2 : 1) : 0,
                            .size = nd->size,
                            .atim_ns = nd->atim,
                            .mtim_ns = nd->mtim,
                            .ctim_ns = nd->ctim};
}

static eryx__errno mf_fstat(eryx__vfs_file *f, eryx__vfs_stat *out) {
    fill_stat(((mfile *)f)->node, out);
    return 0;
}

static eryx__errno mf_truncate(eryx__vfs_file *f, uint64_t size) {
    mfile *mf = (mfile *)f;
    if (!(f->flags & ERYX__VFS_O_WRITE)) return ERYX__WASI_EBADF;
    return set_size(mf->fs, mf->node, size);
}

static eryx__errno mf_readdir(eryx__vfs_file *f, uint64_t cookie, eryx__vfs_dirent *out, bool *end) {
    mfile *mf = (mfile *)f;
    const mnode *nd = mf->node;
    *end = false;
    if (cookie < 2) {
        const mnode *up = cookie && nd->parent ? nd->parent : nd;
        *out = (eryx__vfs_dirent){.name = cookie ? ".." : ".",
                                  .name_len = (size_t)cookie + 1,
                                  .type = ERYX__VFS_TYPE_DIR,
                                  .ino = up->ino,
                                  .next = cookie + 1};
        return 0;
    }
    if (cookie - 2 >= nd->n) {
        *end = true;
        return 0;
    }
    const ment *e = &nd->ents[cookie - 2];
    memcpy(mf->name, e->name, e->len + 1); /* the entry may go before the caller is done with the name */
    *out = (eryx__vfs_dirent){
        .name = mf->name, .name_len = e->len, .type = e->node->type, .ino = e->node->ino, .next = cookie + 1};
    return 0;
}

static eryx__errno mf_sync(eryx__vfs_file *f) {
    (void)f;
    return 0;
}

static void mf_close(eryx__vfs_file *f) {
    mfile *mf = (mfile *)f;
    memfs *fs = mf->fs;
    mf->node->opens--;
    node_maybe_free(fs, mf->node);
    free(mf);
    fs_unref(fs);
}

static const eryx__vfs_file_ops mem_file_ops = {.pread = mf_pread,
                                                .pwrite = mf_pwrite,
                                                .fstat = mf_fstat,
                                                .truncate = mf_truncate,
                                                .sync = mf_sync,
                                                .close = mf_close};
static const eryx__vfs_file_ops mem_dir_ops = {
    .fstat = mf_fstat, .readdir = mf_readdir, .sync = mf_sync, .close = mf_close};

/* ---- backend ------------------------------------------------------------------ */

static eryx__errno mem_open(void *self, const char *path, uint32_t flags, eryx__vfs_file **out) {
    memfs *fs = self;
    mnode *dir, *nd = NULL;
    const char *name;
    size_t len, at = 0;
    *out = NULL;
    eryx__errno e = walk_parent(fs, path, &dir, &name, &len);
    if (e) return e;
    if (!dir) nd = fs->root;
    else if (dir_find(dir, name, len, &at)) nd = dir->ents[at].node;
    mfile *mf = calloc(1, sizeof *mf);
    if (!mf) return ERYX__WASI_ENOMEM;
    if (nd) {
        if ((flags & ERYX__VFS_O_CREAT) && (flags & ERYX__VFS_O_EXCL)) e = ERYX__WASI_EEXIST;
        else if (nd->type == ERYX__VFS_TYPE_DIR &&
                 (flags & (ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT | ERYX__VFS_O_TRUNC | ERYX__VFS_O_APPEND)))
            e = ERYX__WASI_EISDIR;
        else if (nd->type != ERYX__VFS_TYPE_DIR && (flags & ERYX__VFS_O_DIRECTORY)) e = ERYX__WASI_ENOTDIR;
        else if (nd->type == ERYX__VFS_TYPE_REG && (flags & ERYX__VFS_O_TRUNC)) e = set_size(fs, nd, 0);
    } else if (!(flags & ERYX__VFS_O_CREAT)) {
        e = ERYX__WASI_ENOENT;
    } else if (flags & ERYX__VFS_O_DIRECTORY) {
        e = ERYX__WASI_EINVAL; /* as Linux: O_CREAT | O_DIRECTORY does not make directories */
    } else if (!(e = entry_fits(fs, dir, len)) && !(e = dir_reserve(fs, dir))) {
        char *copy = name_new(fs, name, len);
        nd = copy ? node_new(fs, ERYX__VFS_TYPE_REG, dir) : NULL;
        if (nd) dir_insert(dir, at, copy, len, nd);
        else {
            if (copy) name_free(fs, copy, len);
            e = ERYX__WASI_ENOMEM;
        }
    }
    if (e) {
        free(mf);
        return e;
    }
    nd->opens++;
    fs->refs++;
    mf->base.ops = nd->type == ERYX__VFS_TYPE_DIR ? &mem_dir_ops : &mem_file_ops;
    mf->base.flags = flags;
    mf->fs = fs;
    mf->node = nd;
    *out = &mf->base;
    return 0;
}

static eryx__errno mem_stat(void *self, const char *path, bool follow_symlinks, eryx__vfs_stat *out) {
    (void)follow_symlinks; /* no symlinks */
    mnode *nd, *dir;
    size_t at;
    eryx__errno e = lookup(self, path, &nd, &dir, &at);
    if (!e) fill_stat(nd, out);
    return e;
}

static eryx__errno mem_mkdir(void *self, const char *path) {
    memfs *fs = self;
    mnode *dir;
    const char *name;
    size_t len, at;
    eryx__errno e = walk_parent(fs, path, &dir, &name, &len);
    if (e) return e;
    if (!dir || dir_find(dir, name, len, &at)) return ERYX__WASI_EEXIST;
    if ((e = entry_fits(fs, dir, len)) || (e = dir_reserve(fs, dir))) return e;
    char *copy = name_new(fs, name, len);
    mnode *nd = copy ? node_new(fs, ERYX__VFS_TYPE_DIR, dir) : NULL;
    if (!nd) {
        if (copy) name_free(fs, copy, len);
        return ERYX__WASI_ENOMEM;
    }
    dir_insert(dir, at, copy, len, nd);
    return 0;
}

/* Takes nd (at dir->ents[at]) out of the tree. */
static void unlink_node(memfs *fs, mnode *dir, size_t at) {
    mnode *nd = dir->ents[at].node;
    dir_remove(fs, dir, at);
    nd->linked = false;
    nd->parent = NULL;
    nd->ctim = now_ns();
    node_maybe_free(fs, nd);
}

static eryx__errno mem_rmdir(void *self, const char *path) {
    memfs *fs = self;
    mnode *nd, *dir;
    size_t at;
    eryx__errno e = lookup(fs, path, &nd, &dir, &at);
    if (e) return e;
    if (!dir) return ERYX__WASI_EBUSY; /* the root */
    if (nd->type != ERYX__VFS_TYPE_DIR) return ERYX__WASI_ENOTDIR;
    if (nd->n) return ERYX__WASI_ENOTEMPTY;
    unlink_node(fs, dir, at);
    return 0;
}

static eryx__errno mem_unlink(void *self, const char *path) {
    memfs *fs = self;
    mnode *nd, *dir;
    size_t at;
    eryx__errno e = lookup(fs, path, &nd, &dir, &at);
    if (e) return e;
    if (nd->type == ERYX__VFS_TYPE_DIR) return ERYX__WASI_EISDIR;
    unlink_node(fs, dir, at);
    return 0;
}

static eryx__errno mem_rename(void *self, const char *from, const char *to) {
    memfs *fs = self;
    mnode *src, *sdir, *tdir;
    const char *tname;
    size_t sat, tat, tlen;
    eryx__errno e = lookup(fs, from, &src, &sdir, &sat);
    if (e) return e;
    e = walk_parent(fs, to, &tdir, &tname, &tlen);
    if (e) return e;
    if (!sdir || !tdir) return ERYX__WASI_EBUSY; /* the root */
    mnode *dst = dir_find(tdir, tname, tlen, &tat) ? tdir->ents[tat].node : NULL;
    if (dst == src) return 0;
    if (src->type == ERYX__VFS_TYPE_DIR) {
        for (const mnode *p = tdir; p; p = p->parent) /* not into itself or below */
            if (p == src) return ERYX__WASI_EINVAL;
        if (dst && dst->type != ERYX__VFS_TYPE_DIR) return ERYX__WASI_ENOTDIR;
        if (dst && dst->n) return ERYX__WASI_ENOTEMPTY;
    } else if (dst && dst->type == ERYX__VFS_TYPE_DIR) {
        return ERYX__WASI_EISDIR;
    }
    /* Allocate first so that nothing changes on failure. */
    uint64_t grow =
        chunk((uint64_t)tlen + 1) +
        (dst ? 0 : chunk((uint64_t)dir_next_cap(tdir) * sizeof(ment)) - chunk((uint64_t)tdir->ecap * sizeof(ment)));
    if (!fits(fs, grow)) return ERYX__WASI_ENOSPC;
    if (!dst && (e = dir_reserve(fs, tdir))) return e;
    char *copy = name_new(fs, tname, tlen);
    if (!copy) return ERYX__WASI_ENOMEM;
    if (dst) { /* replace in place: the slot keeps its sorted position */
        name_free(fs, tdir->ents[tat].name, tdir->ents[tat].len);
        tdir->ents[tat].name = copy;
        tdir->ents[tat].node = src;
        dst->linked = false;
        dst->parent = NULL;
        node_maybe_free(fs, dst);
        dir_remove(fs, sdir, sat); /* sat still indexes the source: the slot at tat was rewritten, not moved */
        src->parent = tdir;
        tdir->mtim = tdir->ctim = now_ns();
    } else {
        dir_remove(fs, sdir, sat);
        if (sdir == tdir && sat < tat) tat--;
        dir_insert(tdir, tat, copy, tlen, src);
    }
    src->ctim = now_ns();
    return 0;
}

static eryx__errno mem_readlink(void *self, const char *path, char *buf, size_t cap, size_t *len) {
    (void)buf;
    (void)cap;
    mnode *nd, *dir;
    size_t at;
    *len = 0;
    eryx__errno e = lookup(self, path, &nd, &dir, &at);
    return e ? e : ERYX__WASI_EINVAL; /* no symlinks */
}

static void mem_destroy(void *self) { fs_unref(self); }

void *eryx__vfs_mem_new(uint64_t max_bytes, uint64_t max_entries) {
    memfs *fs = calloc(1, sizeof *fs);
    if (!fs) return NULL;
    fs->max = max_bytes;
    fs->max_nodes = max_entries;
    fs->next_ino = 1;
    fs->refs = 1;
    fs->root = node_new(fs, ERYX__VFS_TYPE_DIR, NULL);
    if (!fs->root) {
        free(fs);
        return NULL;
    }
    return fs;
}

uint64_t eryx__vfs_mem_used(void *self) { return ((memfs *)self)->data; }
uint64_t eryx__vfs_mem_charged(void *self) { return ((memfs *)self)->used; }
uint64_t eryx__vfs_mem_entries(void *self) { return ((memfs *)self)->nodes; }

const eryx__vfs_backend eryx__vfs_mem_backend = {.name = "mem",
                                                 .open = mem_open,
                                                 .stat = mem_stat,
                                                 .mkdir = mem_mkdir,
                                                 .rmdir = mem_rmdir,
                                                 .unlink = mem_unlink,
                                                 .rename = mem_rename,
                                                 .readlink = mem_readlink,
                                                 .destroy = mem_destroy};
