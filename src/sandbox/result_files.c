/*
** The files an execution hands back (eryx_builder_collect_files): the regular files
** under the chosen guest directory, read from the instance's VFS after the code
** ends (whatever its status) and before the sandbox resets, each whole or not at
** all, within the byte cap and MAX_FILES; sorted by path. Symlinks are not
** followed; what does not fit is counted (eryx_result_files_left_out).
*/
#include <stdlib.h>
#include <string.h>
#include "../vfs/vfs.h"
#include "sandbox.h"

#define MAX_FILES 1000
#define MAX_DEPTH 32

struct eryx__result_file {
    char *path;
    uint8_t *data;
    size_t len;
};

typedef struct collector {
    eryx_result *r;
    eryx__vfs *vfs;
    uint64_t left; /* bytes still allowed */
    size_t cap;    /* of r->files */
} collector;

/* Reads the whole file (size bytes, from its stat) into a new buffer; NULL if it
** cannot be read or changed size. */
static uint8_t *read_whole(eryx__vfs *vfs, const char *path, uint64_t size) {
    eryx__vfs_file *f = NULL;
    if (eryx__vfs_open(vfs, path, ERYX__VFS_O_READ | ERYX__VFS_O_NOFOLLOW, &f) != 0) return NULL;
    uint8_t *data = malloc(size ? (size_t)size : 1);
    size_t got = 0;
    while (data && got < size) {
        size_t n = 0;
        if (f->ops->pread(f, data + got, (size_t)size - got, got, &n) != 0 || n == 0) break;
        got += n;
    }
    f->ops->close(f);
    if (data && got == size) return data;
    free(data);
    return NULL;
}

static void add_file(collector *c, const char *path, uint64_t size) {
    eryx_result *r = c->r;
    if (r->nfiles >= MAX_FILES || size > c->left || size > SIZE_MAX / 2) {
        r->files_left_out++;
        return;
    }
    if (r->nfiles == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        struct eryx__result_file *v = realloc(r->files, cap * sizeof *v);
        if (!v) {
            r->files_left_out++;
            return;
        }
        r->files = v;
        c->cap = cap;
    }
    struct eryx__result_file *e = &r->files[r->nfiles];
    e->path = strdup(path);
    e->data = e->path ? read_whole(c->vfs, path, size) : NULL;
    if (!e->data) {
        free(e->path);
        r->files_left_out++;
        return;
    }
    e->len = (size_t)size;
    c->left -= size;
    r->nfiles++;
}

static void walk(collector *c, const char *dir, int depth) {
    eryx__vfs_file *d = NULL;
    if (eryx__vfs_open(c->vfs, dir, ERYX__VFS_O_READ | ERYX__VFS_O_DIRECTORY, &d) != 0) return;
    uint64_t cookie = 0;
    for (;;) {
        eryx__vfs_dirent ent;
        bool end = false;
        if (d->ops->readdir(d, cookie, &ent, &end) != 0 || end) break;
        cookie = ent.next;
        if ((ent.name_len == 1 && ent.name[0] == '.') || (ent.name_len == 2 && !memcmp(ent.name, "..", 2))) continue;
        char path[4096];
        if (eryx__vfs_join(dir, ent.name, ent.name_len, path, sizeof path) != 0) {
            c->r->files_left_out++; /* a path too long to name */
            continue;
        }
        eryx__vfs_stat st;
        if (eryx__vfs_stat_path(c->vfs, path, false, &st) != 0) continue;
        if (st.type == ERYX__VFS_TYPE_DIR && depth < MAX_DEPTH) walk(c, path, depth + 1);
        else if (st.type == ERYX__VFS_TYPE_REG) add_file(c, path, st.size);
    }
    d->ops->close(d);
}

static int by_path(const void *a, const void *b) {
    return strcmp(((const struct eryx__result_file *)a)->path, ((const struct eryx__result_file *)b)->path);
}

void eryx__result_files_collect(eryx_sandbox *s, eryx_result *r) {
    if (!s->spec.collect_dir || !s->vfs) return;
    collector c = {.r = r, .vfs = s->vfs, .left = s->spec.collect_max};
    walk(&c, s->spec.collect_dir, 0);
    if (r->nfiles > 1) qsort(r->files, r->nfiles, sizeof *r->files, by_path);
}

void eryx__result_files_free(eryx_result *r) {
    for (size_t i = 0; i < r->nfiles; i++) {
        free(r->files[i].path);
        free(r->files[i].data);
    }
    free(r->files);
    r->files = NULL;
    r->nfiles = r->files_left_out = 0;
}

size_t eryx_result_file_count(const eryx_result *r) { return r ? r->nfiles : 0; }

const char *eryx_result_file_path(const eryx_result *r, size_t i) {
    return r && i < r->nfiles ? r->files[i].path : NULL;
}

const uint8_t *eryx_result_file_data(const eryx_result *r, size_t i, size_t *len) {
    if (len) *len = r && i < r->nfiles ? r->files[i].len : 0;
    return r && i < r->nfiles ? r->files[i].data : NULL;
}

size_t eryx_result_files_left_out(const eryx_result *r) { return r ? r->files_left_out : 0; }
