/*
** Packages: the package handle, the process's registry of packed wheels, opening a
** package and writing an eryx package file (package.h). Reading archives and
** trees and writing the image are in package_archive.c, package_tree.c and
** package_image.c (shared declarations: package_int.h).
*/
#define _XOPEN_SOURCE 700 /* realpath */
#include "package_int.h"
#include "../common/process_state.h"
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <stdatomic.h>

/* ---- packages ------------------------------------------------------------------------- */

void eryx__package_clear(eryx__package *p) {
    if (!p) return;
    free(p->source);
    free(p->name);
    free(p->guest_path);
    free(p->version);
    eryx__vfs_zip_release(p->img);
    eryx__package_exts_release(p->exts);
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
        rc = eryx__package_read_tree(path, name, sizeof name, &l, err);
    } else if (S_ISREG(st.st_mode) &&
               (eryx__package_has_suffix(path, ".whl") || eryx__package_has_suffix(path, ".eryx"))) {
        if (registry_get(path, &st, out) == 0) return ERYX_OK;
        if (eryx__package_has_suffix(path, ".whl")) {
            kind = "wheel";
            rc = eryx__package_read_wheel(path, name, sizeof name, &l, err);
        } else {
            kind = "eryx package";
            rc = eryx__package_read_archive(path, false, &l, err);
            if (rc == ERYX_OK) rc = eryx__package_read_manifest(path, &l, name, sizeof name, &version, err);
        }
    } else {
        return eryx__fail(err, ERYX_ERR_PACKAGE,
                          "%s is not a wheel (*.whl), an eryx package (*.eryx) or a directory; a package is one of "
                          "those",
                          path);
    }
    wbuf zip = {0};
    eryx__package_exts *exts = NULL;
    if (rc == ERYX_OK) rc = eryx__package_scan_extensions(path, &l, &exts, err);
    if (rc == ERYX_OK) rc = eryx__package_write_image(&l, path, &zip, err);
    uint32_t files = (uint32_t)l.n;
    uint64_t bytes = l.bytes;
    eryx__package_plist_free(&l);
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
    eryx_status rc = eryx__package_read_tree(tree, dirname_ignored, sizeof dirname_ignored, &l, err);
    eryx__package_exts *exts = NULL;
    if (rc == ERYX_OK) rc = eryx__package_scan_extensions(tree, &l, &exts, err);
    eryx__package_exts_release(exts); /* checked; the reader keeps its own */
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
        rc = eryx__package_plist_add(&l, mname, (unsigned char *)text, strlen(text), tree, err);
        text = NULL, mname = NULL; /* eryx__package_plist_add owns them either way */
    }
    free(text);
    free(mname);
    wbuf zip = {0};
    if (rc == ERYX_OK) rc = eryx__package_write_image(&l, tree, &zip, err);
    eryx__package_plist_free(&l);
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