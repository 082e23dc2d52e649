/* Unit tests of the virtual filesystem (src/vfs): path normalization, the mount
** table and implicit directories, and the zip (hand-built, hostile and the real
** stdlib image), mem and host backends, including symlink escapes and a
** symlink-swap race against the host backend. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../src/vfs/vfs.h"
#include "check.h"

#ifndef ERYX_TEST_STDLIB_ZIP
#define ERYX_TEST_STDLIB_ZIP "/root/.cache/eryx/guest/635a7200a8c3f766/python313.zip"
#endif

/* ---- helpers ------------------------------------------------------------------ */

static const char *join(const char *base, const char *path, char *out, size_t cap, eryx__errno *e) {
    *e = eryx__vfs_join(base, path, strlen(path), out, cap);
    return *e ? "(error)" : out;
}

/* "name,name,..." of every readdir entry of an open directory; "(error N)" on failure. */
static const char *list_file(eryx__vfs_file *f, char *out, size_t cap) {
    size_t o = 0;
    out[0] = '\0';
    if (!f->ops->readdir) return "(no readdir)";
    uint64_t cookie = 0;
    for (int guard = 0; guard < 100000; guard++) {
        eryx__vfs_dirent d;
        bool end = true;
        eryx__errno e = f->ops->readdir(f, cookie, &d, &end);
        if (e) {
            snprintf(out, cap, "(error %u)", e);
            return out;
        }
        if (end) break;
        if (o + d.name_len + 2 >= cap) return "(too long)";
        if (o) out[o++] = ',';
        memcpy(out + o, d.name, d.name_len);
        o += d.name_len;
        out[o] = '\0';
        cookie = d.next;
    }
    return out;
}

static const char *list_vfs(eryx__vfs *vfs, const char *path, char *out, size_t cap) {
    eryx__vfs_file *f = NULL;
    eryx__errno e = eryx__vfs_open(vfs, path, ERYX__VFS_O_READ | ERYX__VFS_O_DIRECTORY, &f);
    if (e) {
        snprintf(out, cap, "(open error %u)", e);
        return out;
    }
    list_file(f, out, cap);
    f->ops->close(f);
    return out;
}

/* Reads the whole file into out (NUL-terminated); returns the length or -1. */
static long read_file(eryx__vfs_file *f, char *out, size_t cap) {
    size_t total = 0;
    while (total + 1 < cap) {
        size_t n = 0;
        if (!f->ops->pread || f->ops->pread(f, out + total, cap - 1 - total, total, &n)) return -1;
        if (n == 0) break;
        total += n;
    }
    out[total] = '\0';
    return (long)total;
}

static eryx__errno write_at(eryx__vfs_file *f, const char *s, uint64_t off) {
    size_t n = 0;
    eryx__errno e = f->ops->pwrite(f, s, strlen(s), off, &n);
    return e ? e : (n == strlen(s) ? 0 : ERYX__WASI_EIO);
}

/* Opens through a backend, reads it all, closes: the content or "(error N)". */
static const char *be_cat(const eryx__vfs_backend *be, void *self, const char *path, char *out, size_t cap) {
    eryx__vfs_file *f = NULL;
    eryx__errno e = be->open(self, path, ERYX__VFS_O_READ, &f);
    if (e) {
        snprintf(out, cap, "(error %u)", e);
        return out;
    }
    if (read_file(f, out, cap) < 0) snprintf(out, cap, "(read error)");
    f->ops->close(f);
    return out;
}

static const char *vfs_cat(eryx__vfs *vfs, const char *path, char *out, size_t cap) {
    eryx__vfs_file *f = NULL;
    eryx__errno e = eryx__vfs_open(vfs, path, ERYX__VFS_O_READ, &f);
    if (e) {
        snprintf(out, cap, "(error %u)", e);
        return out;
    }
    if (read_file(f, out, cap) < 0) snprintf(out, cap, "(read error)");
    f->ops->close(f);
    return out;
}

static void write_host_file(const char *path, const char *text) {
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL);
    if (!fp) return;
    fputs(text, fp);
    fclose(fp);
}

/* ---- join --------------------------------------------------------------------- */

static void test_join(void) {
    char out[64];
    eryx__errno e;
    CHECK_STR_EQ(join("/", "a/b", out, sizeof out, &e), "/a/b");
    CHECK_STR_EQ(join("/x/y", "a", out, sizeof out, &e), "/x/y/a");
    CHECK_STR_EQ(join("/x/y", "/a", out, sizeof out, &e), "/a");
    CHECK_STR_EQ(join("/x/y", "..", out, sizeof out, &e), "/x");
    CHECK_STR_EQ(join("/x/y", "../..", out, sizeof out, &e), "/");
    CHECK_STR_EQ(join("/x/y", "../../../../etc/passwd", out, sizeof out, &e), "/etc/passwd");
    CHECK_STR_EQ(join("/", "..", out, sizeof out, &e), "/");
    CHECK_STR_EQ(join("/", "/..", out, sizeof out, &e), "/");
    CHECK_STR_EQ(join("/a", ".", out, sizeof out, &e), "/a");
    CHECK_STR_EQ(join("/a", "./b/./c/.", out, sizeof out, &e), "/a/b/c");
    CHECK_STR_EQ(join("/a", "b//c///", out, sizeof out, &e), "/a/b/c");
    CHECK_STR_EQ(join("/", "//a//b", out, sizeof out, &e), "/a/b");
    CHECK_STR_EQ(join("/a/b", "c/../../d", out, sizeof out, &e), "/a/d");
    CHECK_STR_EQ(join("/", "...", out, sizeof out, &e), "/...");
    CHECK_STR_EQ(join("/", "..a/.b", out, sizeof out, &e), "/..a/.b");
    CHECK_STR_EQ(join("/", "/", out, sizeof out, &e), "/");
    CHECK_STR_EQ(join("/base//x/", "y", out, sizeof out, &e), "/base/x/y"); /* base is normalized too */

    /* empty path, NUL inside, relative base */
    CHECK(eryx__vfs_join("/", "", 0, out, sizeof out) == ERYX__WASI_EINVAL);
    CHECK(eryx__vfs_join("/", "a\0b", 3, out, sizeof out) == ERYX__WASI_EINVAL);
    CHECK(eryx__vfs_join("rel", "a", 1, out, sizeof out) == ERYX__WASI_EINVAL);
    CHECK(eryx__vfs_join(NULL, "/a", 2, out, sizeof out) == 0);
    /* len counts: bytes after len are ignored */
    CHECK(eryx__vfs_join("/", "abcdef", 3, out, sizeof out) == 0);
    CHECK_STR_EQ(out, "/abc");

    /* too long: exact fit, one over, and tiny buffers */
    char small[8];
    CHECK_STR_EQ(join("/", "abcdef", small, sizeof small, &e), "/abcdef"); /* 7 + NUL */
    CHECK(eryx__vfs_join("/", "abcdefg", 7, small, sizeof small) == ERYX__WASI_ENAMETOOLONG);
    CHECK(eryx__vfs_join("/", "a/b/c/", 6, small, sizeof small) == 0);
    CHECK(eryx__vfs_join("/", "a/b/c/d", 7, small, sizeof small) == ERYX__WASI_ENAMETOOLONG);
    CHECK(eryx__vfs_join("/", "a/b/c/d/..", 10, small, sizeof small) == ERYX__WASI_ENAMETOOLONG); /* on the way */
    CHECK(eryx__vfs_join("/abcdef", "g", 1, small, sizeof small) == ERYX__WASI_ENAMETOOLONG);
    CHECK(eryx__vfs_join("/", "..", 2, small, 2) == 0);
    CHECK_STR_EQ(small, "/");
    CHECK(eryx__vfs_join("/", "..", 2, small, 1) == ERYX__WASI_ENAMETOOLONG);
    CHECK(eryx__vfs_join("/", "a", 1, small, 2) == ERYX__WASI_ENAMETOOLONG);
    CHECK(eryx__vfs_join("/", "a", 1, small, 0) == ERYX__WASI_ENAMETOOLONG);
    /* a huge path */
    size_t big = 100000;
    char *p = malloc(big);
    char *o = malloc(big + 2);
    CHECK(p && o);
    if (p && o) {
        memset(p, 'x', big);
        CHECK(eryx__vfs_join("/", p, big, o, 4096) == ERYX__WASI_ENAMETOOLONG);
        CHECK(eryx__vfs_join("/", p, big, o, big + 2) == 0);
        for (size_t i = 1; i < big; i += 2) p[i] = '/';
        CHECK(eryx__vfs_join("/", p, big, o, big + 2) == 0);
        memset(p, '.', big); /* one long "...." component */
        CHECK(eryx__vfs_join("/", p, big, o, big + 2) == 0 && strlen(o) == big + 1);
        for (size_t i = 0; i + 2 < big; i += 3) memcpy(p + i, "../", 3);
        CHECK(eryx__vfs_join("/a", p, big - big % 3, o, 16) == 0);
        CHECK_STR_EQ(o, "/");
    }
    free(p);
    free(o);
}

/* ---- mount table ---------------------------------------------------------------- */

static void test_mounts(void) {
    char buf[512];
    eryx__vfs_stat st;
    eryx__vfs_file *f = NULL;
    eryx__vfs *vfs = eryx__vfs_new();
    CHECK(vfs != NULL);
    if (!vfs) return;
    void *tmp = eryx__vfs_mem_new(1 << 20), *lib = eryx__vfs_mem_new(0), *data = eryx__vfs_mem_new(0);
    CHECK(eryx__vfs_mount(vfs, "/tmp", &eryx__vfs_mem_backend, tmp, false) == 0);
    CHECK(eryx__vfs_mount(vfs, "/usr/local/lib", &eryx__vfs_mem_backend, lib, false) == 0);
    CHECK(eryx__vfs_mount(vfs, "/data/", &eryx__vfs_mem_backend, data, true) == 0); /* normalized to /data */
    /* mount failures destroy the backend (ASan would report a leak otherwise) */
    CHECK(eryx__vfs_mount(vfs, "/tmp", &eryx__vfs_mem_backend, eryx__vfs_mem_new(0), false) == ERYX__WASI_EEXIST);
    CHECK(eryx__vfs_mount(vfs, "/x/../tmp", &eryx__vfs_mem_backend, eryx__vfs_mem_new(0), false) == ERYX__WASI_EEXIST);
    CHECK(eryx__vfs_mount(vfs, "rel", &eryx__vfs_mem_backend, eryx__vfs_mem_new(0), false) == ERYX__WASI_EINVAL);

    /* implicit directories */
    CHECK(eryx__vfs_stat_path(vfs, "/", true, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR);
    CHECK(eryx__vfs_stat_path(vfs, "/usr", true, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR);
    CHECK(eryx__vfs_stat_path(vfs, "/usr/local", false, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR);
    CHECK(eryx__vfs_stat_path(vfs, "/usr/local/lib", true, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR);
    CHECK(eryx__vfs_stat_path(vfs, "/usr/lib", true, &st) == ERYX__WASI_ENOENT);
    CHECK(eryx__vfs_stat_path(vfs, "/us", true, &st) == ERYX__WASI_ENOENT);
    CHECK(eryx__vfs_stat_path(vfs, "/etc/passwd", true, &st) == ERYX__WASI_ENOENT);
    CHECK_STR_EQ(list_vfs(vfs, "/", buf, sizeof buf), ".,..,data,tmp,usr");
    CHECK_STR_EQ(list_vfs(vfs, "/usr", buf, sizeof buf), ".,..,local");
    CHECK_STR_EQ(list_vfs(vfs, "/usr/local", buf, sizeof buf), ".,..,lib");
    CHECK_STR_EQ(list_vfs(vfs, "/usr/local/lib", buf, sizeof buf), ".,..");
    CHECK(eryx__vfs_open(vfs, "/usr", ERYX__VFS_O_READ | ERYX__VFS_O_DIRECTORY, &f) == 0);
    if (f) {
        CHECK(f->ops->pread == NULL && f->ops->pwrite == NULL && f->ops->readdir != NULL);
        CHECK(f->ops->fstat(f, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR);
        eryx__vfs_stat st2;
        CHECK(eryx__vfs_stat_path(vfs, "/usr", true, &st2) == 0 && st2.ino == st.ino && st2.dev == st.dev);
        f->ops->close(f);
        f = NULL;
    }
    /* writing in the implicit tree */
    CHECK(eryx__vfs_open(vfs, "/usr", ERYX__VFS_O_READ | ERYX__VFS_O_WRITE, &f) == ERYX__WASI_EISDIR && !f);
    CHECK(eryx__vfs_open(vfs, "/usr/new", ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f) == ERYX__WASI_EROFS && !f);
    CHECK(eryx__vfs_open(vfs, "/new", ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f) == ERYX__WASI_EROFS && !f);
    CHECK(eryx__vfs_open(vfs, "/no/new", ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f) == ERYX__WASI_ENOENT && !f);
    CHECK(eryx__vfs_open(vfs, "/usr", ERYX__VFS_O_CREAT | ERYX__VFS_O_EXCL, &f) == ERYX__WASI_EEXIST && !f);
    CHECK(eryx__vfs_mkdir(vfs, "/newdir") == ERYX__WASI_EROFS);
    CHECK(eryx__vfs_mkdir(vfs, "/usr") == ERYX__WASI_EEXIST);
    CHECK(eryx__vfs_mkdir(vfs, "/tmp") == ERYX__WASI_EEXIST);
    CHECK(eryx__vfs_rmdir(vfs, "/usr") == ERYX__WASI_EROFS);
    CHECK(eryx__vfs_rmdir(vfs, "/") == ERYX__WASI_EROFS);
    CHECK(eryx__vfs_unlink(vfs, "/usr/local") == ERYX__WASI_EROFS);
    CHECK(eryx__vfs_rmdir(vfs, "/tmp") == ERYX__WASI_EBUSY);
    CHECK(eryx__vfs_rename(vfs, "/tmp", "/tmp2") == ERYX__WASI_EBUSY);
    CHECK(eryx__vfs_rename(vfs, "/usr", "/tmp/usr") == ERYX__WASI_EROFS);
    CHECK(eryx__vfs_unlink(vfs, "/nothing") == ERYX__WASI_ENOENT);
    size_t n = 0;
    CHECK(eryx__vfs_readlink(vfs, "/usr", buf, sizeof buf, &n) == ERYX__WASI_EINVAL);
    CHECK(eryx__vfs_readlink(vfs, "/nothing", buf, sizeof buf, &n) == ERYX__WASI_ENOENT);

    /* not normalized: refused, never passed to a backend */
    CHECK(eryx__vfs_stat_path(vfs, "tmp", true, &st) == ERYX__WASI_EINVAL);
    CHECK(eryx__vfs_stat_path(vfs, "/tmp/../etc", true, &st) == ERYX__WASI_EINVAL);
    CHECK(eryx__vfs_stat_path(vfs, "/tmp/", true, &st) == ERYX__WASI_EINVAL);
    CHECK(eryx__vfs_stat_path(vfs, "//tmp", true, &st) == ERYX__WASI_EINVAL);
    CHECK(eryx__vfs_open(vfs, "/tmp/./x", ERYX__VFS_O_READ, &f) == ERYX__WASI_EINVAL);

    /* files in mounts; each mount has its own device number, the same in stat and fstat */
    CHECK(eryx__vfs_open(vfs, "/tmp/a", ERYX__VFS_O_READ | ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f) == 0);
    if (f) {
        CHECK(write_at(f, "in tmp", 0) == 0);
        eryx__vfs_stat fs;
        CHECK(f->ops->fstat(f, &fs) == 0);
        CHECK(eryx__vfs_stat_path(vfs, "/tmp/a", true, &st) == 0 && st.dev == fs.dev && st.ino == fs.ino);
        CHECK(st.size == 6 && st.type == ERYX__VFS_TYPE_REG);
        f->ops->close(f);
        f = NULL;
    }
    CHECK(eryx__vfs_open(vfs, "/usr/local/lib/b", ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f) == 0);
    if (f) f->ops->close(f);
    f = NULL;
    eryx__vfs_stat sa, sb;
    CHECK(eryx__vfs_stat_path(vfs, "/tmp/a", true, &sa) == 0);
    CHECK(eryx__vfs_stat_path(vfs, "/usr/local/lib/b", true, &sb) == 0);
    CHECK(sa.ino == sb.ino && sa.dev != sb.dev); /* same inode number, told apart by dev */
    CHECK_STR_EQ(vfs_cat(vfs, "/tmp/a", buf, sizeof buf), "in tmp");
    CHECK_STR_EQ(list_vfs(vfs, "/tmp", buf, sizeof buf), ".,..,a");
    CHECK(eryx__vfs_mkdir(vfs, "/tmp/d") == 0);
    CHECK(eryx__vfs_rename(vfs, "/tmp/a", "/tmp/d/a") == 0);
    CHECK_STR_EQ(vfs_cat(vfs, "/tmp/d/a", buf, sizeof buf), "in tmp");

    /* EXDEV across mounts, and out of the mounts */
    CHECK(eryx__vfs_rename(vfs, "/tmp/d/a", "/usr/local/lib/a") == ERYX__WASI_EXDEV);
    CHECK(eryx__vfs_rename(vfs, "/tmp/d/a", "/a") == ERYX__WASI_EXDEV);
    CHECK(eryx__vfs_rename(vfs, "/nothing", "/tmp/x") == ERYX__WASI_ENOENT);

    /* the read-only mount: every write is EROFS before the backend sees it */
    CHECK(eryx__vfs_open(vfs, "/data/x", ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f) == ERYX__WASI_EROFS && !f);
    CHECK(eryx__vfs_open(vfs, "/data/x", ERYX__VFS_O_READ | ERYX__VFS_O_CREAT, &f) == ERYX__WASI_EROFS && !f);
    CHECK(eryx__vfs_open(vfs, "/data/x", ERYX__VFS_O_READ | ERYX__VFS_O_TRUNC, &f) == ERYX__WASI_EROFS && !f);
    CHECK(eryx__vfs_open(vfs, "/data/x", ERYX__VFS_O_WRITE, &f) == ERYX__WASI_EROFS && !f);
    CHECK(eryx__vfs_mkdir(vfs, "/data/d") == ERYX__WASI_EROFS);
    CHECK(eryx__vfs_rmdir(vfs, "/data/d") == ERYX__WASI_EROFS);
    CHECK(eryx__vfs_unlink(vfs, "/data/x") == ERYX__WASI_EROFS);
    CHECK(eryx__vfs_rename(vfs, "/data/x", "/data/y") == ERYX__WASI_EROFS);
    CHECK(eryx__vfs_open(vfs, "/data", ERYX__VFS_O_READ | ERYX__VFS_O_DIRECTORY, &f) == 0);
    if (f) f->ops->close(f);
    f = NULL;
    CHECK(eryx__vfs_mem_used(data) == 0);
    CHECK(eryx__vfs_stat_path(vfs, "/data/x", true, &st) == ERYX__WASI_ENOENT);
    eryx__vfs_free(vfs);
    eryx__vfs_free(NULL);

    /* a mount at "/" handles every path not under a deeper mount; the directories
    ** above the deeper mount exist even when the root backend lacks them */
    vfs = eryx__vfs_new();
    void *root = eryx__vfs_mem_new(0);
    CHECK(eryx__vfs_mount(vfs, "/", &eryx__vfs_mem_backend, root, false) == 0);
    CHECK(eryx__vfs_mount(vfs, "/srv/x", &eryx__vfs_mem_backend, eryx__vfs_mem_new(0), false) == 0);
    CHECK(eryx__vfs_mount(vfs, "/zeta", &eryx__vfs_mem_backend, eryx__vfs_mem_new(0), false) == 0);
    CHECK(eryx__vfs_open(vfs, "/file", ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f) == 0);
    if (f) f->ops->close(f);
    f = NULL;
    CHECK(eryx__vfs_mkdir(vfs, "/adir") == 0);
    CHECK(eryx__vfs_mkdir(vfs, "/zeta") == ERYX__WASI_EEXIST);
    CHECK(eryx__vfs_stat_path(vfs, "/srv", true, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR);
    CHECK_STR_EQ(list_vfs(vfs, "/", buf, sizeof buf), ".,..,adir,file,srv,zeta");
    CHECK_STR_EQ(list_vfs(vfs, "/srv", buf, sizeof buf), ".,..,x");
    CHECK(eryx__vfs_mkdir(vfs, "/srv") == 0); /* now also a real directory of the root mount */
    CHECK_STR_EQ(list_vfs(vfs, "/", buf, sizeof buf), ".,..,adir,file,srv,zeta");
    CHECK_STR_EQ(list_vfs(vfs, "/srv", buf, sizeof buf), ".,..,x");
    CHECK(eryx__vfs_rename(vfs, "/file", "/adir/file") == 0);
    CHECK(eryx__vfs_rename(vfs, "/adir/file", "/srv/x/file") == ERYX__WASI_EXDEV);
    CHECK(eryx__vfs_rmdir(vfs, "/srv") == ERYX__WASI_EBUSY);
    /* a file still open after eryx__vfs_free stays usable */
    CHECK(eryx__vfs_open(vfs, "/adir/file", ERYX__VFS_O_READ | ERYX__VFS_O_WRITE, &f) == 0);
    eryx__vfs_free(vfs);
    if (f) {
        CHECK(write_at(f, "still here", 0) == 0);
        CHECK(read_file(f, buf, sizeof buf) == 10);
        f->ops->close(f);
    }

    /* a mount inside another: the outer directory lists it after its own entries,
    ** and readdir resumes from any cookie it handed out */
    vfs = eryx__vfs_new();
    CHECK(eryx__vfs_mount(vfs, "/tmp", &eryx__vfs_mem_backend, eryx__vfs_mem_new(0), false) == 0);
    CHECK(eryx__vfs_mount(vfs, "/tmp/cache/x", &eryx__vfs_mem_backend, eryx__vfs_mem_new(0), false) == 0);
    CHECK(eryx__vfs_mkdir(vfs, "/tmp/b") == 0);
    CHECK(eryx__vfs_open(vfs, "/tmp/d", ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f) == 0);
    if (f) f->ops->close(f);
    f = NULL;
    CHECK_STR_EQ(list_vfs(vfs, "/tmp", buf, sizeof buf), ".,..,b,d,cache");
    CHECK_STR_EQ(list_vfs(vfs, "/tmp/cache", buf, sizeof buf), ".,..,x");
    CHECK(eryx__vfs_open(vfs, "/tmp", ERYX__VFS_O_READ, &f) == 0);
    if (f) {
        eryx__vfs_dirent d;
        bool end = true;
        uint64_t cookies[8], c = 0;
        int k = 0;
        while (k < 8 && f->ops->readdir(f, c, &d, &end) == 0 && !end) cookies[k++] = c = d.next;
        CHECK(k == 5);
        CHECK(f->ops->readdir(f, cookies[3], &d, &end) == 0 && !end && d.name_len == 5 && d.type == ERYX__VFS_TYPE_DIR);
        CHECK(f->ops->readdir(f, cookies[4], &d, &end) == 0 && end);
        CHECK(f->ops->readdir(f, cookies[1], &d, &end) == 0 && !end && d.name_len == 1 && d.name[0] == 'b');
        f->ops->close(f);
        f = NULL;
    }
    /* a file in the outer mount where the implicit directory is: the mount still shows */
    CHECK(eryx__vfs_open(vfs, "/tmp/cache", ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f) == 0);
    if (f) f->ops->close(f);
    f = NULL;
    CHECK(eryx__vfs_stat_path(vfs, "/tmp/cache/x", true, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR);
    CHECK(eryx__vfs_open(vfs, "/tmp/cache/x/y", ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f) == 0);
    if (f) f->ops->close(f);
    f = NULL;
    eryx__vfs_free(vfs);

    /* an empty vfs: only "/" exists */
    vfs = eryx__vfs_new();
    CHECK(eryx__vfs_stat_path(vfs, "/", true, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR);
    CHECK_STR_EQ(list_vfs(vfs, "/", buf, sizeof buf), ".,..");
    CHECK(eryx__vfs_stat_path(vfs, "/a", true, &st) == ERYX__WASI_ENOENT);
    eryx__vfs_free(vfs);
}

/* ---- zip: a hand-built archive ---------------------------------------------------- */

typedef struct zmember {
    const char *name;
    const char *data;
    uint16_t method;
} zmember;

typedef struct zlayout {
    size_t size, cd_off, eocd;
    size_t cdh[16], lfh[16]; /* offsets of each member's central and local headers */
} zlayout;

#define DOS_TIME ((3u << 11) | (4u << 5) | 3u)                 /* 03:04:06 */
#define DOS_DATE (((2024u - 1980u) << 9) | (1u << 5) | 2u)     /* 2024-01-02 */
#define DOS_EPOCH_NS (1704164646ull * 1000000000ull)

static void put16(unsigned char *p, unsigned v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Writes a zip of the members into buf (big enough) and describes where things are. */
static void build_zip(const zmember *ms, size_t n, unsigned char *buf, zlayout *L) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t nlen = strlen(ms[i].name), dlen = ms[i].data ? strlen(ms[i].data) : 0;
        unsigned char *h = buf + o;
        L->lfh[i] = o;
        memset(h, 0, 30);
        put32(h, 0x04034b50);
        put16(h + 4, 20);
        put16(h + 8, ms[i].method);
        put16(h + 10, DOS_TIME);
        put16(h + 12, DOS_DATE);
        put32(h + 18, (uint32_t)dlen);
        put32(h + 22, (uint32_t)dlen);
        put16(h + 26, (unsigned)nlen);
        memcpy(h + 30, ms[i].name, nlen);
        memcpy(h + 30 + nlen, ms[i].data ? ms[i].data : "", dlen);
        o += 30 + nlen + dlen;
    }
    L->cd_off = o;
    for (size_t i = 0; i < n; i++) {
        size_t nlen = strlen(ms[i].name), dlen = ms[i].data ? strlen(ms[i].data) : 0;
        unsigned char *h = buf + o;
        L->cdh[i] = o;
        memset(h, 0, 46);
        put32(h, 0x02014b50);
        put16(h + 4, 20);
        put16(h + 6, 20);
        put16(h + 10, ms[i].method);
        put16(h + 12, DOS_TIME);
        put16(h + 14, DOS_DATE);
        put32(h + 20, (uint32_t)dlen);
        put32(h + 24, (uint32_t)dlen);
        put16(h + 28, (unsigned)nlen);
        put32(h + 42, (uint32_t)L->lfh[i]);
        memcpy(h + 46, ms[i].name, nlen);
        o += 46 + nlen;
    }
    unsigned char *e = buf + o;
    L->eocd = o;
    memset(e, 0, 22);
    put32(e, 0x06054b50);
    put16(e + 8, (unsigned)n);
    put16(e + 10, (unsigned)n);
    put32(e + 12, (uint32_t)(o - L->cd_off));
    put32(e + 16, (uint32_t)L->cd_off);
    L->size = o + 22;
}

static const zmember sample[] = {
    {"a.txt", "hello", 0},
    {"dir/sub/c.txt", "deep", 0},
    {"dir/b.txt", "world!", 0},
    {"empty/", NULL, 0},
    {"z.bin", "squashed", 8},
    {"dir/b-x", "", 0},
};
#define NSAMPLE (sizeof sample / sizeof sample[0])

/* Walks every path an image could serve: stat, open, read and list; must not crash. */
static void zip_walk(eryx__vfs_zip *img, const char *dir, int depth) {
    eryx__vfs_file *f = NULL;
    const eryx__vfs_backend *be = &eryx__vfs_zip_backend;
    if (depth > 8 || be->open(img, dir, ERYX__VFS_O_READ | ERYX__VFS_O_DIRECTORY, &f)) return;
    for (uint64_t cookie = 0;;) {
        eryx__vfs_dirent d;
        bool end = true;
        if (f->ops->readdir(f, cookie, &d, &end) || end) break;
        cookie = d.next;
        if (d.name_len == 0 || (d.name[0] == '.' && (d.name_len == 1 || (d.name_len == 2 && d.name[1] == '.'))))
            continue;
        char path[1024];
        if (strlen(dir) + d.name_len + 2 > sizeof path) continue;
        snprintf(path, sizeof path, "%s%s%.*s", dir, *dir ? "/" : "", (int)d.name_len, d.name);
        eryx__vfs_stat st;
        CHECK(be->stat(img, path, true, &st) == 0);
        if (d.type == ERYX__VFS_TYPE_DIR) {
            zip_walk(img, path, depth + 1);
        } else {
            eryx__vfs_file *m = NULL;
            if (be->open(img, path, ERYX__VFS_O_READ, &m) == 0) {
                char buf[4096];
                size_t got = 0;
                CHECK(m->ops->pread(m, buf, sizeof buf, 0, &got) == 0 && got <= st.size);
                CHECK(m->ops->pread(m, buf, sizeof buf, UINT64_MAX, &got) == 0 && got == 0);
                m->ops->close(m);
            }
        }
    }
    f->ops->close(f);
}

typedef struct ref_arg {
    eryx__vfs_zip *img;
    atomic_int ok;
} ref_arg;

static void *ref_thread(void *p) {
    ref_arg *a = p;
    for (int i = 0; i < 2000; i++) {
        void *self = eryx__vfs_zip_ref(a->img);
        eryx__vfs_file *f = NULL;
        char buf[16];
        if (eryx__vfs_zip_backend.open(self, "a.txt", ERYX__VFS_O_READ, &f) == 0) {
            if (read_file(f, buf, sizeof buf) == 5 && memcmp(buf, "hello", 5) == 0) atomic_fetch_add(&a->ok, 1);
            f->ops->close(f);
        }
        eryx__vfs_zip_backend.destroy(self);
    }
    return NULL;
}

static void test_zip_good(void) {
    static unsigned char z[4096];
    zlayout L;
    char buf[256];
    eryx__errbuf err;
    build_zip(sample, NSAMPLE, z, &L);
    eryx__vfs_zip *img = eryx__vfs_zip_from_memory(z, L.size, &err);
    CHECK(img != NULL);
    if (!img) {
        fprintf(stderr, "zip: %s\n", err.msg);
        return;
    }
    const eryx__vfs_backend *be = &eryx__vfs_zip_backend;
    eryx__vfs_stat st;
    CHECK(be->stat(img, "", true, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR);
    CHECK(be->stat(img, "a.txt", true, &st) == 0 && st.type == ERYX__VFS_TYPE_REG && st.size == 5);
    CHECK(st.mtim_ns == DOS_EPOCH_NS && st.ino != 0);
    uint64_t ino = st.ino;
    CHECK(be->stat(img, "a.txt", false, &st) == 0 && st.ino == ino); /* stable */
    CHECK(be->stat(img, "dir", true, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR);
    CHECK(be->stat(img, "dir/sub", true, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR);
    CHECK(be->stat(img, "empty", true, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR);
    CHECK(be->stat(img, "dir/sub/c.txt", true, &st) == 0 && st.size == 4);
    CHECK(be->stat(img, "dir/b-x", true, &st) == 0 && st.size == 0);
    CHECK(be->stat(img, "nope", true, &st) == ERYX__WASI_ENOENT);
    CHECK(be->stat(img, "di", true, &st) == ERYX__WASI_ENOENT);
    CHECK(be->stat(img, "a.txt/x", true, &st) == ERYX__WASI_ENOTDIR);
    CHECK(be->stat(img, "dir/nope/x", true, &st) == ERYX__WASI_ENOENT);
    CHECK_STR_EQ(be_cat(be, img, "a.txt", buf, sizeof buf), "hello");
    CHECK_STR_EQ(be_cat(be, img, "dir/sub/c.txt", buf, sizeof buf), "deep");
    CHECK_STR_EQ(be_cat(be, img, "dir/b-x", buf, sizeof buf), "");
    CHECK_STR_EQ(be_cat(be, img, "z.bin", buf, sizeof buf), "(error 29)"); /* DEFLATED: EIO */
    CHECK(be->stat(img, "z.bin", true, &st) == 0 && st.size == 8);

    eryx__vfs_file *f = NULL;
    CHECK(be->open(img, "", ERYX__VFS_O_READ | ERYX__VFS_O_DIRECTORY, &f) == 0);
    if (f) {
        CHECK_STR_EQ(list_file(f, buf, sizeof buf), ".,..,a.txt,dir,empty,z.bin");
        eryx__vfs_dirent d;
        bool end = false;
        CHECK(f->ops->readdir(f, 3, &d, &end) == 0 && !end && d.name_len == 3 && memcmp(d.name, "dir", 3) == 0);
        CHECK(d.type == ERYX__VFS_TYPE_DIR && d.next == 4);
        CHECK(f->ops->readdir(f, 6, &d, &end) == 0 && end);
        CHECK(f->ops->readdir(f, UINT64_MAX, &d, &end) == 0 && end);
        f->ops->close(f);
        f = NULL;
    }
    CHECK(be->open(img, "dir", ERYX__VFS_O_READ, &f) == 0);
    if (f) {
        CHECK_STR_EQ(list_file(f, buf, sizeof buf), ".,..,b-x,b.txt,sub");
        f->ops->close(f);
        f = NULL;
    }
    CHECK(be->open(img, "empty", ERYX__VFS_O_READ, &f) == 0);
    if (f) {
        CHECK_STR_EQ(list_file(f, buf, sizeof buf), ".,..");
        f->ops->close(f);
        f = NULL;
    }
    CHECK(be->open(img, "a.txt", ERYX__VFS_O_READ, &f) == 0);
    if (f) {
        size_t got = 0;
        CHECK(f->ops->pread(f, buf, 3, 2, &got) == 0 && got == 3 && memcmp(buf, "llo", 3) == 0);
        CHECK(f->ops->pread(f, buf, 100, 4, &got) == 0 && got == 1 && buf[0] == 'o');
        CHECK(f->ops->pread(f, buf, 100, 5, &got) == 0 && got == 0);
        CHECK(f->ops->pread(f, buf, SIZE_MAX, 0, &got) == 0 && got == 5);
        CHECK(f->ops->pwrite == NULL && f->ops->readdir == NULL);
        f->ops->close(f);
        f = NULL;
    }
    CHECK(be->open(img, "a.txt", ERYX__VFS_O_READ | ERYX__VFS_O_WRITE, &f) == ERYX__WASI_EROFS && !f);
    CHECK(be->open(img, "new", ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f) == ERYX__WASI_ENOENT && !f);
    CHECK(be->open(img, "a.txt", ERYX__VFS_O_READ | ERYX__VFS_O_DIRECTORY, &f) == ERYX__WASI_ENOTDIR && !f);
    CHECK(be->open(img, "dir", ERYX__VFS_O_WRITE, &f) == ERYX__WASI_EISDIR && !f);
    size_t n = 1;
    CHECK(be->readlink(img, "a.txt", buf, sizeof buf, &n) == ERYX__WASI_EINVAL && n == 0);
    CHECK(be->mkdir == NULL && be->unlink == NULL && be->rename == NULL && be->rmdir == NULL);

    /* mounted: writes refused even on a read-write mount; an open file outlives the vfs */
    eryx__vfs *vfs = eryx__vfs_new();
    CHECK(eryx__vfs_mount(vfs, "/usr/lib/python", be, eryx__vfs_zip_ref(img), false) == 0);
    CHECK_STR_EQ(vfs_cat(vfs, "/usr/lib/python/dir/b.txt", buf, sizeof buf), "world!");
    CHECK_STR_EQ(list_vfs(vfs, "/usr/lib/python/dir/sub", buf, sizeof buf), ".,..,c.txt");
    CHECK(eryx__vfs_mkdir(vfs, "/usr/lib/python/x") == ERYX__WASI_EROFS);
    CHECK(eryx__vfs_unlink(vfs, "/usr/lib/python/a.txt") == ERYX__WASI_EROFS);
    CHECK(eryx__vfs_open(vfs, "/usr/lib/python/a.txt", ERYX__VFS_O_READ | ERYX__VFS_O_WRITE, &f) == ERYX__WASI_EROFS);
    CHECK(eryx__vfs_open(vfs, "/usr/lib/python/a.txt", ERYX__VFS_O_READ, &f) == 0);
    eryx__vfs_free(vfs);

    /* the reference count under threads */
    ref_arg arg = {.img = img};
    atomic_init(&arg.ok, 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, ref_thread, &arg) == 0);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    CHECK(atomic_load(&arg.ok) == 4 * 2000);
    eryx__vfs_zip_release(img);
    if (f) { /* the last reference: the file's own */
        CHECK(read_file(f, buf, sizeof buf) == 5);
        f->ops->close(f);
    }
    eryx__vfs_zip_release(NULL);

    /* the same bytes from a file (the mmap path), with a comment after the EOCD */
    char dir[] = "/tmp/eryx__vfs_zip_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/t.zip", dir);
    put16(z + L.eocd + 20, 5);
    memcpy(z + L.size, "howdy", 5);
    FILE *fp = fopen(path, "wb");
    CHECK(fp && fwrite(z, 1, L.size + 5, fp) == L.size + 5);
    if (fp) fclose(fp);
    img = eryx__vfs_zip_open(path, &err);
    CHECK(img != NULL);
    if (img) {
        CHECK_STR_EQ(be_cat(be, img, "dir/b.txt", buf, sizeof buf), "world!");
        eryx__vfs_zip_release(img);
    }
    snprintf(path, sizeof path, "%s/missing.zip", dir);
    CHECK(eryx__vfs_zip_open(path, &err) == NULL && strstr(err.msg, "missing.zip") != NULL);
    CHECK(eryx__vfs_zip_open(dir, &err) == NULL); /* a directory */
    snprintf(path, sizeof path, "%s/empty.zip", dir);
    fp = fopen(path, "wb");
    if (fp) fclose(fp);
    CHECK(eryx__vfs_zip_open(path, &err) == NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);

    /* an empty archive: just the EOCD */
    unsigned char eocd[22] = {0x50, 0x4b, 0x05, 0x06};
    img = eryx__vfs_zip_from_memory(eocd, sizeof eocd, &err);
    CHECK(img != NULL);
    if (img) {
        CHECK(be->open(img, "", ERYX__VFS_O_READ, &f) == 0);
        if (f) {
            CHECK_STR_EQ(list_file(f, buf, sizeof buf), ".,..");
            f->ops->close(f);
        }
        eryx__vfs_zip_release(img);
    }
}

/* A hostile variant of the sample must be refused with a message, or (if it is
** still a valid archive) served without reading outside the buffer. */
static bool zip_rejects(const unsigned char *z, size_t size, const char *want_in_err) {
    eryx__errbuf err;
    /* a private copy of exactly `size` bytes, so ASan sees any read past the end */
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy) return false;
    memcpy(copy, z, size);
    eryx__vfs_zip *img = eryx__vfs_zip_from_memory(copy, size, &err);
    bool refused = img == NULL && err.msg[0] != '\0' && (!want_in_err || strstr(err.msg, want_in_err));
    if (img == NULL && want_in_err && !strstr(err.msg, want_in_err))
        fprintf(stderr, "  zip error \"%s\" lacks \"%s\"\n", err.msg, want_in_err);
    if (img) {
        zip_walk(img, "", 0);
        eryx__vfs_zip_release(img);
    }
    free(copy);
    return refused;
}

static void test_zip_hostile(void) {
    static unsigned char good[4096], z[4096];
    zlayout L;
    build_zip(sample, NSAMPLE, good, &L);
#define RESET() memcpy(z, good, L.size)

    /* every truncation */
    int truncated_ok = 0;
    for (size_t len = 0; len < L.size; len++) truncated_ok += zip_rejects(good, len, NULL);
    CHECK(truncated_ok == (int)L.size);
    CHECK(zip_rejects(good, 10, "end of central directory"));

    RESET(); /* EOCD: central directory past the end */
    put32(z + L.eocd + 16, 0xFFFFFF00u);
    CHECK(zip_rejects(z, L.size, "outside"));
    RESET();
    put32(z + L.eocd + 12, (uint32_t)L.size); /* its size too large */
    CHECK(zip_rejects(z, L.size, "outside"));
    RESET(); /* more entries than the central directory holds */
    put16(z + L.eocd + 8, 60);
    put16(z + L.eocd + 10, 60);
    CHECK(zip_rejects(z, L.size, "central directory entry"));
    RESET(); /* a central directory entry whose name runs past the end */
    put16(z + L.cdh[NSAMPLE - 1] + 28, 0xFFFF);
    CHECK(zip_rejects(z, L.size, "past the central directory"));
    RESET(); /* an extra field past the end */
    put16(z + L.cdh[0] + 30, 0xFFF0);
    CHECK(zip_rejects(z, L.size, "past the central directory"));
    RESET(); /* a bad central signature */
    z[L.cdh[1]] ^= 1;
    CHECK(zip_rejects(z, L.size, "signature"));
    RESET(); /* local header offset past the end */
    put32(z + L.cdh[0] + 42, (uint32_t)L.size + 100);
    CHECK(zip_rejects(z, L.size, "local header"));
    RESET(); /* local header offset just inside, header running over */
    put32(z + L.cdh[0] + 42, (uint32_t)L.cd_off - 10);
    CHECK(zip_rejects(z, L.size, "local header"));
    RESET(); /* local header with a bad signature */
    z[L.lfh[2]] ^= 1;
    CHECK(zip_rejects(z, L.size, "local header"));
    RESET(); /* local name length sending the data past the end */
    put16(z + L.lfh[0] + 26, 0xFFFF);
    CHECK(zip_rejects(z, L.size, "data"));
    RESET(); /* data length past the end */
    put32(z + L.cdh[0] + 20, 0x7FFFFFFFu);
    put32(z + L.cdh[0] + 24, 0x7FFFFFFFu);
    CHECK(zip_rejects(z, L.size, "data"));
    RESET(); /* ZIP64 markers */
    put32(z + L.cdh[0] + 24, 0xFFFFFFFFu);
    CHECK(zip_rejects(z, L.size, "ZIP64"));
    RESET();
    put16(z + L.eocd + 8, 0xFFFF);
    put16(z + L.eocd + 10, 0xFFFF);
    CHECK(zip_rejects(z, L.size, "ZIP64"));
    RESET();
    put32(z + L.eocd + 16, 0xFFFFFFFFu);
    CHECK(zip_rejects(z, L.size, "ZIP64"));
    RESET(); /* multi-disk */
    put16(z + L.eocd + 4, 1);
    CHECK(zip_rejects(z, L.size, "multi-disk"));
    RESET();
    put16(z + L.eocd + 8, 2);
    CHECK(zip_rejects(z, L.size, "multi-disk"));
    RESET();
    put16(z + L.cdh[3] + 34, 3);
    CHECK(zip_rejects(z, L.size, "multi-disk"));
    RESET(); /* EOCD comment length past the end: not an EOCD at all */
    put16(z + L.eocd + 20, 1);
    CHECK(zip_rejects(z, L.size, "end of central directory"));

    /* unsafe or clashing names (same length as "a.txt", patched in the central directory) */
    static const char *const bad_names[] = {"../ab", "/abcd", "a//bc", "./abc", "ab/..", "a\0bcd", "a.txt"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        RESET();
        memcpy(z + L.cdh[0] + 46, bad_names[i], 5);
        if (i == 6) memcpy(z + L.cdh[1] + 46, "a.txt/sub/c.t", 13); /* "dir/sub/c.txt" -> a file is a dir */
        CHECK(zip_rejects(z, L.size, i == 6 ? "both a file and a directory" : "name"));
    }
    { /* a name longer than any guest path */
        static char longname[5000];
        static unsigned char big[12000];
        memset(longname, 'n', 4097);
        zmember one = {longname, "x", 0};
        zlayout LL;
        build_zip(&one, 1, big, &LL);
        CHECK(zip_rejects(big, LL.size, "longer"));
        longname[4096] = '\0';
        build_zip(&one, 1, big, &LL);
        CHECK(!zip_rejects(big, LL.size, NULL));
    }
    RESET(); /* a duplicate member */
    memcpy(z + L.cdh[4] + 46, "a.txt", 5);
    CHECK(zip_rejects(z, L.size, "duplicate"));

    /* every single-byte change in every position: refused or served, never a bad read */
    for (size_t i = 0; i < L.size; i++) {
        static const unsigned char vals[] = {0x00, 0xFF, 0x7F, 0x80, 0x01, '/'};
        for (size_t v = 0; v < sizeof vals; v++) {
            RESET();
            z[i] = vals[v];
            (void)zip_rejects(z, L.size, NULL);
        }
    }
    RESET();
    CHECK(!zip_rejects(z, L.size, NULL)); /* the untouched archive is fine */
#undef RESET
}

/* The real stdlib image, when it has been built. */
static void test_zip_stdlib(void) {
    if (access(ERYX_TEST_STDLIB_ZIP, R_OK) != 0) {
        printf("test_vfs: %s not found, skipping the stdlib image checks\n", ERYX_TEST_STDLIB_ZIP);
        return;
    }
    char buf[16384];
    eryx__errbuf err;
    eryx__vfs_zip *img = eryx__vfs_zip_open(ERYX_TEST_STDLIB_ZIP, &err);
    CHECK(img != NULL);
    if (!img) {
        fprintf(stderr, "stdlib zip: %s\n", err.msg);
        return;
    }
    const eryx__vfs_backend *be = &eryx__vfs_zip_backend;
    eryx__vfs_stat st;
    CHECK(be->stat(img, "encodings/__init__.pyc", true, &st) == 0 && st.type == ERYX__VFS_TYPE_REG && st.size > 16);
    CHECK(be->stat(img, "encodings", true, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR);
    eryx__vfs_file *f = NULL;
    CHECK(be->open(img, "encodings/__init__.pyc", ERYX__VFS_O_READ, &f) == 0);
    if (f) {
        unsigned char magic[4];
        size_t got = 0;
        CHECK(f->ops->pread(f, magic, 4, 0, &got) == 0 && got == 4);
        CHECK(memcmp(magic, "\xf3\x0d\x0d\x0a", 4) == 0);
        f->ops->close(f);
        f = NULL;
    }
    eryx__vfs *vfs = eryx__vfs_new();
    CHECK(eryx__vfs_mount(vfs, "/usr/local/lib/python3.13", be, eryx__vfs_zip_ref(img), true) == 0);
    list_vfs(vfs, "/usr/local/lib/python3.13/encodings", buf, sizeof buf);
    CHECK(strncmp(buf, ".,..,", 5) == 0);
    CHECK(strstr(buf, ",__init__.pyc,") != NULL && strstr(buf, ",utf_8.pyc") != NULL);
    CHECK(eryx__vfs_stat_path(vfs, "/usr/local/lib/python3.13/os.pyc", true, &st) == 0 && st.size > 1000);
    CHECK(eryx__vfs_stat_path(vfs, "/usr/local/lib/python3.13/json/decoder.pyc", true, &st) == 0);
    eryx__vfs_free(vfs);
    zip_walk(img, "", 0); /* every member is STORED and readable */
    eryx__vfs_zip_release(img);
}

/* ---- mem ------------------------------------------------------------------------ */

static void test_mem(void) {
    const eryx__vfs_backend *be = &eryx__vfs_mem_backend;
    void *fs = eryx__vfs_mem_new(100);
    CHECK(fs != NULL);
    if (!fs) return;
    char buf[256];
    eryx__vfs_stat st;
    eryx__vfs_file *f = NULL, *g = NULL;
    const uint32_t RW = ERYX__VFS_O_READ | ERYX__VFS_O_WRITE;

    /* create, write, read */
    CHECK(be->open(fs, "f", ERYX__VFS_O_READ, &f) == ERYX__WASI_ENOENT && !f);
    CHECK(be->open(fs, "f", RW | ERYX__VFS_O_CREAT, &f) == 0);
    if (!f) return;
    CHECK(write_at(f, "hello", 0) == 0);
    CHECK(read_file(f, buf, sizeof buf) == 5);
    CHECK_STR_EQ(buf, "hello");
    CHECK(write_at(f, "J", 0) == 0);
    CHECK(write_at(f, "!", 7) == 0); /* sparse: zero-filled gap */
    size_t got = 0;
    CHECK(f->ops->pread(f, buf, sizeof buf, 0, &got) == 0 && got == 8 && memcmp(buf, "Jello\0\0!", 8) == 0);
    CHECK(eryx__vfs_mem_used(fs) == 8);
    CHECK(f->ops->fstat(f, &st) == 0 && st.size == 8 && st.type == ERYX__VFS_TYPE_REG && st.nlink == 1);
    CHECK(st.mtim_ns > 1600000000ull * 1000000000ull);
    f->ops->close(f);
    f = NULL;
    CHECK(be->open(fs, "f", RW | ERYX__VFS_O_CREAT | ERYX__VFS_O_EXCL, &f) == ERYX__WASI_EEXIST && !f);
    CHECK(be->open(fs, "f", ERYX__VFS_O_READ | ERYX__VFS_O_DIRECTORY, &f) == ERYX__WASI_ENOTDIR && !f);
    CHECK(be->open(fs, "f/x", RW | ERYX__VFS_O_CREAT, &f) == ERYX__WASI_ENOTDIR && !f);
    CHECK(be->open(fs, "nodir/x", RW | ERYX__VFS_O_CREAT, &f) == ERYX__WASI_ENOENT && !f);
    CHECK(be->open(fs, "newdir", ERYX__VFS_O_CREAT | ERYX__VFS_O_DIRECTORY, &f) == ERYX__WASI_EINVAL && !f);
    CHECK(be->open(fs, "../x", ERYX__VFS_O_READ, &f) == ERYX__WASI_EINVAL && !f); /* never normalized like that */
    CHECK(be->open(fs, "a//b", ERYX__VFS_O_READ, &f) == ERYX__WASI_EINVAL && !f);

    /* read-only and write-only handles */
    CHECK(be->open(fs, "f", ERYX__VFS_O_READ, &f) == 0);
    if (f) {
        CHECK(write_at(f, "x", 0) == ERYX__WASI_EBADF);
        CHECK(f->ops->truncate(f, 0) == ERYX__WASI_EBADF);
        f->ops->close(f);
        f = NULL;
    }
    CHECK(be->open(fs, "f", ERYX__VFS_O_WRITE, &f) == 0);
    if (f) {
        CHECK(f->ops->pread(f, buf, 1, 0, &got) == ERYX__WASI_EBADF);
        f->ops->close(f);
        f = NULL;
    }

    /* append */
    CHECK(be->open(fs, "f", ERYX__VFS_O_WRITE | ERYX__VFS_O_APPEND, &f) == 0);
    if (f) {
        CHECK(write_at(f, "ab", 0) == 0);
        CHECK(write_at(f, "c", 3) == 0);
        f->ops->close(f);
        f = NULL;
    }
    CHECK(be->stat(fs, "f", true, &st) == 0 && st.size == 11);

    /* truncate: shrink, grow with zeros; O_TRUNC */
    CHECK(be->open(fs, "f", RW, &f) == 0);
    if (f) {
        CHECK(f->ops->truncate(f, 3) == 0);
        CHECK(f->ops->truncate(f, 6) == 0);
        CHECK(f->ops->pread(f, buf, sizeof buf, 0, &got) == 0 && got == 6 && memcmp(buf, "Jel\0\0\0", 6) == 0);
        CHECK(eryx__vfs_mem_used(fs) == 6);
        f->ops->close(f);
        f = NULL;
    }
    CHECK(be->open(fs, "f", RW | ERYX__VFS_O_TRUNC, &f) == 0);
    if (f) {
        CHECK(f->ops->fstat(f, &st) == 0 && st.size == 0);
        CHECK(write_at(f, "0123456789", 0) == 0);
        f->ops->close(f);
        f = NULL;
    }

    /* the cap (100 bytes): a write or truncate past it fails whole */
    CHECK(eryx__vfs_mem_used(fs) == 10);
    CHECK(be->open(fs, "big", RW | ERYX__VFS_O_CREAT, &f) == 0);
    if (f) {
        char blob[200];
        memset(blob, 'b', sizeof blob);
        size_t put = 0;
        CHECK(f->ops->pwrite(f, blob, 90, 0, &put) == 0 && put == 90);
        CHECK(eryx__vfs_mem_used(fs) == 100);
        CHECK(f->ops->pwrite(f, "X", 1, 90, &put) == ERYX__WASI_ENOSPC && put == 0);
        CHECK(f->ops->pwrite(f, blob, 91, 0, &put) == ERYX__WASI_ENOSPC);
        CHECK(f->ops->truncate(f, 91) == ERYX__WASI_ENOSPC);
        CHECK(f->ops->fstat(f, &st) == 0 && st.size == 90);
        CHECK(f->ops->pwrite(f, "XY", 2, 10, &put) == 0 && put == 2); /* overwriting is fine */
        CHECK(f->ops->pread(f, buf, sizeof buf, 0, &got) == 0 && got == 90 && buf[9] == 'b' && buf[10] == 'X');
        CHECK(eryx__vfs_mem_used(fs) == 100);
        /* huge offsets */
        CHECK(f->ops->pwrite(f, "X", 1, UINT64_MAX, &put) == ERYX__WASI_EFBIG);
        CHECK(f->ops->pwrite(f, "X", 1, (uint64_t)INT64_MAX, &put) == ERYX__WASI_EFBIG);
        CHECK(f->ops->pwrite(f, "X", 1, (uint64_t)1 << 40, &put) == ERYX__WASI_ENOSPC);
        CHECK(f->ops->pwrite(f, blob, SIZE_MAX, 1, &put) == ERYX__WASI_EFBIG);
        CHECK(f->ops->truncate(f, UINT64_MAX) == ERYX__WASI_EFBIG);
        CHECK(f->ops->pread(f, buf, sizeof buf, UINT64_MAX, &got) == 0 && got == 0);
        CHECK(f->ops->pwrite(f, "", 0, UINT64_MAX - 1, &put) == ERYX__WASI_EFBIG);
        CHECK(f->ops->fstat(f, &st) == 0 && st.size == 90);
        CHECK(f->ops->truncate(f, 0) == 0);
        f->ops->close(f);
        f = NULL;
    }
    CHECK(eryx__vfs_mem_used(fs) == 10);
    CHECK(be->unlink(fs, "big") == 0);

    /* directories, readdir in sorted order, rmdir, unlink */
    CHECK(be->mkdir(fs, "d") == 0);
    CHECK(be->mkdir(fs, "d") == ERYX__WASI_EEXIST);
    CHECK(be->mkdir(fs, "") == ERYX__WASI_EEXIST);
    CHECK(be->mkdir(fs, "f/x") == ERYX__WASI_ENOTDIR);
    CHECK(be->mkdir(fs, "d/sub") == 0);
    CHECK(be->mkdir(fs, "d/a") == 0);
    CHECK(be->open(fs, "d/zz", RW | ERYX__VFS_O_CREAT, &f) == 0);
    if (f) f->ops->close(f);
    f = NULL;
    CHECK(be->open(fs, "d", ERYX__VFS_O_READ | ERYX__VFS_O_DIRECTORY, &f) == 0);
    if (f) {
        CHECK_STR_EQ(list_file(f, buf, sizeof buf), ".,..,a,sub,zz");
        eryx__vfs_dirent d;
        bool end;
        CHECK(f->ops->readdir(f, 4, &d, &end) == 0 && !end && d.type == ERYX__VFS_TYPE_REG && d.next == 5);
        CHECK(f->ops->pread == NULL && f->ops->pwrite == NULL);
        f->ops->close(f);
        f = NULL;
    }
    CHECK(be->open(fs, "d", RW, &f) == ERYX__WASI_EISDIR && !f);
    CHECK(be->open(fs, "", ERYX__VFS_O_READ, &f) == 0);
    if (f) {
        CHECK_STR_EQ(list_file(f, buf, sizeof buf), ".,..,d,f");
        f->ops->close(f);
        f = NULL;
    }
    CHECK(be->rmdir(fs, "d") == ERYX__WASI_ENOTEMPTY);
    CHECK(be->rmdir(fs, "f") == ERYX__WASI_ENOTDIR);
    CHECK(be->rmdir(fs, "") == ERYX__WASI_EBUSY);
    CHECK(be->unlink(fs, "d") == ERYX__WASI_EISDIR);
    CHECK(be->unlink(fs, "nope") == ERYX__WASI_ENOENT);
    CHECK(be->rmdir(fs, "d/a") == 0);
    CHECK(be->stat(fs, "d/a", true, &st) == ERYX__WASI_ENOENT);
    size_t n = 1;
    CHECK(be->readlink(fs, "f", buf, sizeof buf, &n) == ERYX__WASI_EINVAL && n == 0);
    CHECK(be->readlink(fs, "nope", buf, sizeof buf, &n) == ERYX__WASI_ENOENT);

    /* rename: files, over a file, directories, and the refusals */
    CHECK(be->open(fs, "g", RW | ERYX__VFS_O_CREAT, &f) == 0);
    if (f) {
        CHECK(write_at(f, "gee", 0) == 0);
        f->ops->close(f);
        f = NULL;
    }
    CHECK(be->rename(fs, "g", "d/g2") == 0);
    CHECK_STR_EQ(be_cat(be, fs, "d/g2", buf, sizeof buf), "gee");
    CHECK(be->stat(fs, "g", true, &st) == ERYX__WASI_ENOENT);
    CHECK(be->rename(fs, "d/g2", "f") == 0); /* replaces f: its 10 bytes are freed */
    CHECK_STR_EQ(be_cat(be, fs, "f", buf, sizeof buf), "gee");
    CHECK(eryx__vfs_mem_used(fs) == 3);
    CHECK(be->rename(fs, "f", "f") == 0);
    CHECK(be->rename(fs, "f", "d") == ERYX__WASI_EISDIR);
    CHECK(be->rename(fs, "d", "f") == ERYX__WASI_ENOTDIR);
    CHECK(be->rename(fs, "d", "d/sub/inside") == ERYX__WASI_EINVAL);
    CHECK(be->rename(fs, "d", "d/x") == ERYX__WASI_EINVAL);
    CHECK(be->rename(fs, "nope", "x") == ERYX__WASI_ENOENT);
    CHECK(be->rename(fs, "f", "nodir/x") == ERYX__WASI_ENOENT);
    CHECK(be->rename(fs, "", "x") == ERYX__WASI_EBUSY);
    CHECK(be->mkdir(fs, "e") == 0);
    CHECK(be->mkdir(fs, "e/full") == 0);
    CHECK(be->rename(fs, "d", "e") == ERYX__WASI_ENOTEMPTY);
    CHECK(be->rename(fs, "e/full", "d/sub") == 0); /* an empty directory target is replaced */
    CHECK(be->rename(fs, "d", "e/d") == 0);
    CHECK(be->stat(fs, "e/d/zz", true, &st) == 0);
    CHECK(be->stat(fs, "e/d/sub", true, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR);
    CHECK(be->open(fs, "e", ERYX__VFS_O_READ, &f) == 0);
    if (f) {
        CHECK_STR_EQ(list_file(f, buf, sizeof buf), ".,..,d");
        f->ops->close(f);
        f = NULL;
    }
    CHECK(be->rename(fs, "e/d/zz", "e/d/aa") == 0); /* within one directory, order kept */
    CHECK(be->open(fs, "e/d", ERYX__VFS_O_READ, &f) == 0);
    if (f) {
        CHECK_STR_EQ(list_file(f, buf, sizeof buf), ".,..,aa,sub");
        f->ops->close(f);
        f = NULL;
    }

    /* unlink while open: still readable and writable until closed */
    CHECK(be->open(fs, "f", RW, &f) == 0);
    CHECK(be->open(fs, "f", ERYX__VFS_O_READ, &g) == 0);
    CHECK(be->unlink(fs, "f") == 0);
    CHECK(be->stat(fs, "f", true, &st) == ERYX__WASI_ENOENT);
    if (f && g) {
        CHECK(write_at(f, "after", 3) == 0);
        CHECK(read_file(g, buf, sizeof buf) == 8);
        CHECK_STR_EQ(buf, "geeafter");
        CHECK(f->ops->fstat(f, &st) == 0 && st.nlink == 0);
        CHECK(eryx__vfs_mem_used(fs) == 8);
        f->ops->close(f);
        CHECK(read_file(g, buf, sizeof buf) == 8);
        g->ops->close(g);
    }
    f = g = NULL;
    CHECK(eryx__vfs_mem_used(fs) == 0);
    /* a file replaced by rename while open */
    CHECK(be->open(fs, "r1", RW | ERYX__VFS_O_CREAT, &f) == 0);
    CHECK(be->open(fs, "r2", RW | ERYX__VFS_O_CREAT, &g) == 0);
    if (f && g) {
        CHECK(write_at(f, "one", 0) == 0);
        CHECK(write_at(g, "two", 0) == 0);
        CHECK(be->rename(fs, "r1", "r2") == 0);
        CHECK(read_file(g, buf, sizeof buf) == 3 && strcmp(buf, "two") == 0);
        g->ops->close(g);
        CHECK_STR_EQ(be_cat(be, fs, "r2", buf, sizeof buf), "one");
        f->ops->close(f);
    }
    f = g = NULL;
    /* a removed directory still open lists just "." and ".." */
    CHECK(be->mkdir(fs, "gone") == 0);
    CHECK(be->open(fs, "gone", ERYX__VFS_O_READ, &f) == 0);
    CHECK(be->rmdir(fs, "gone") == 0);
    if (f) {
        CHECK_STR_EQ(list_file(f, buf, sizeof buf), ".,..");
        f->ops->close(f);
        f = NULL;
    }

    /* a deep tree (made deeper by rename than any path) is freed without recursion */
    CHECK(be->mkdir(fs, "deep") == 0);
    int deep_ok = 0;
    for (int i = 0; i < 20000; i++)
        deep_ok += be->mkdir(fs, "t") == 0 && be->rename(fs, "deep", "t/deep") == 0 && be->rename(fs, "t", "deep") == 0;
    CHECK(deep_ok == 20000);
    CHECK(be->stat(fs, "deep/deep/deep", true, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR);
    /* the filesystem outlives destroy while a file is open */
    CHECK(be->open(fs, "last", RW | ERYX__VFS_O_CREAT, &f) == 0);
    be->destroy(fs);
    if (f) {
        CHECK(write_at(f, "bye", 0) == 0);
        CHECK(read_file(f, buf, sizeof buf) == 3);
        f->ops->close(f);
    }

    /* no cap */
    fs = eryx__vfs_mem_new(0);
    CHECK(be->open(fs, "x", RW | ERYX__VFS_O_CREAT, &f) == 0);
    if (f) {
        size_t put;
        CHECK(f->ops->pwrite(f, "X", 1, (uint64_t)INT64_MAX, &put) == ERYX__WASI_EFBIG);
        CHECK(f->ops->truncate(f, 1 << 20) == 0);
        CHECK(eryx__vfs_mem_used(fs) == 1 << 20);
        f->ops->close(f);
    }
    be->destroy(fs);
}

/* ---- host ---------------------------------------------------------------------- */

static bool refused(eryx__errno e) { return e == ERYX__WASI_ENOTCAPABLE || e == ERYX__WASI_EPERM; }

typedef struct race_arg {
    char base[128];
    atomic_int stop;
} race_arg;

/* Swaps root/race between a real directory and a symlink to the outside. */
static void *race_thread(void *p) {
    race_arg *a = p;
    char dir[192], real[192], out[192];
    snprintf(dir, sizeof dir, "%s/root/race", a->base);
    snprintf(real, sizeof real, "%s/root/race_real", a->base);
    snprintf(out, sizeof out, "%s/outside", a->base);
    while (!atomic_load(&a->stop)) {
        if (rename(dir, real) != 0) break;
        if (symlink(out, dir) != 0) break;
        unlink(dir);
        if (rename(real, dir) != 0) break;
    }
    return NULL;
}

static void test_host(void) {
    char base[] = "/tmp/eryx__vfs_host_XXXXXX";
    if (!mkdtemp(base)) {
        CHECK(!"mkdtemp");
        return;
    }
    char p[256], q[256], buf[256];
    eryx__errbuf err;
#define HP(rel) (snprintf(p, sizeof p, "%s/%s", base, rel), p)
    CHECK(mkdir(HP("root"), 0755) == 0);
    CHECK(mkdir(HP("root/sub"), 0755) == 0);
    CHECK(mkdir(HP("root/race"), 0755) == 0);
    CHECK(mkdir(HP("outside"), 0755) == 0);
    write_host_file(HP("root/file.txt"), "data");
    write_host_file(HP("root/sub/inner.txt"), "inner");
    write_host_file(HP("root/race/secret"), "inside");
    write_host_file(HP("outside/secret"), "OUTSIDE");
    CHECK(symlink("/etc/passwd", HP("root/abs_link")) == 0);
    CHECK(symlink("../../etc", HP("root/rel_escape")) == 0);
    CHECK(symlink("../outside/secret", HP("root/out_link")) == 0);
    CHECK(symlink("../outside/newfile", HP("root/dangle")) == 0);
    CHECK(symlink("file.txt", HP("root/sibling_link")) == 0);
    CHECK(symlink("../file.txt", HP("root/sub/up_link")) == 0);
    CHECK(symlink("sub", HP("root/dir_link")) == 0);
    CHECK(mkfifo(HP("root/fifo"), 0644) == 0);

    const eryx__vfs_backend *be = &eryx__vfs_host_backend;
    void *h = eryx__vfs_host_new(HP("root"), false, &err);
    CHECK(h != NULL);
    if (!h) {
        fprintf(stderr, "host: %s\n", err.msg);
        return;
    }
    CHECK(eryx__vfs_host_new(HP("nonexistent"), false, &err) == NULL && err.msg[0]);
    CHECK(eryx__vfs_host_new(HP("root/file.txt"), false, &err) == NULL);

    eryx__vfs_stat st;
    eryx__vfs_file *f = NULL;
    const uint32_t RW = ERYX__VFS_O_READ | ERYX__VFS_O_WRITE;
    /* inside: works */
    CHECK_STR_EQ(be_cat(be, h, "file.txt", buf, sizeof buf), "data");
    CHECK_STR_EQ(be_cat(be, h, "sub/inner.txt", buf, sizeof buf), "inner");
    CHECK_STR_EQ(be_cat(be, h, "sibling_link", buf, sizeof buf), "data");
    CHECK_STR_EQ(be_cat(be, h, "sub/up_link", buf, sizeof buf), "data");
    CHECK_STR_EQ(be_cat(be, h, "dir_link/inner.txt", buf, sizeof buf), "inner");
    CHECK(be->stat(h, "", true, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR);
    CHECK(be->stat(h, "file.txt", true, &st) == 0 && st.type == ERYX__VFS_TYPE_REG && st.size == 4);
    CHECK(be->stat(h, "sibling_link", true, &st) == 0 && st.type == ERYX__VFS_TYPE_REG);
    CHECK(be->stat(h, "sibling_link", false, &st) == 0 && st.type == ERYX__VFS_TYPE_SYMLINK);
    CHECK(be->stat(h, "nope", true, &st) == ERYX__WASI_ENOENT);
    CHECK(be->stat(h, "file.txt/x", false, &st) == ERYX__WASI_ENOTDIR);
    size_t n = 0;
    CHECK(be->readlink(h, "sibling_link", buf, sizeof buf, &n) == 0 && n == 8 && memcmp(buf, "file.txt", 8) == 0);
    CHECK(be->readlink(h, "sibling_link", buf, 4, &n) == 0 && n == 4);
    CHECK(be->readlink(h, "file.txt", buf, sizeof buf, &n) == ERYX__WASI_EINVAL);
    CHECK(be->readlink(h, "", buf, sizeof buf, &n) == ERYX__WASI_EINVAL);
    CHECK(be->open(h, "sibling_link", ERYX__VFS_O_READ | ERYX__VFS_O_NOFOLLOW, &f) == ERYX__WASI_ELOOP && !f);
    CHECK(be->open(h, "file.txt", ERYX__VFS_O_READ | ERYX__VFS_O_DIRECTORY, &f) == ERYX__WASI_ENOTDIR && !f);
    CHECK(be->open(h, "sub", RW, &f) == ERYX__WASI_EISDIR && !f);
    /* a FIFO is refused without blocking */
    CHECK(be->open(h, "fifo", ERYX__VFS_O_READ, &f) == ERYX__WASI_EACCES && !f);
    CHECK(be->open(h, "fifo", ERYX__VFS_O_WRITE, &f) == ERYX__WASI_EACCES && !f);

    /* outside: refused */
    CHECK(refused(be->open(h, "abs_link", ERYX__VFS_O_READ, &f)) && !f);
    CHECK(refused(be->open(h, "rel_escape/passwd", ERYX__VFS_O_READ, &f)) && !f);
    CHECK(refused(be->open(h, "out_link", ERYX__VFS_O_READ, &f)) && !f);
    CHECK(refused(be->open(h, "out_link", RW | ERYX__VFS_O_TRUNC, &f)) && !f);
    CHECK(refused(be->open(h, "dangle", RW | ERYX__VFS_O_CREAT, &f)) && !f);
    CHECK(access(HP("outside/newfile"), F_OK) != 0);
    CHECK(refused(be->open(h, "sub/../../outside/secret", ERYX__VFS_O_READ, &f)) && !f);
    CHECK(refused(be->open(h, "..", ERYX__VFS_O_READ, &f)) && !f);
    CHECK(refused(be->open(h, "sub/../../x", RW | ERYX__VFS_O_CREAT, &f)) && !f);
    CHECK(refused(be->open(h, "/etc/passwd", ERYX__VFS_O_READ, &f)) && !f);
    CHECK(refused(be->stat(h, "abs_link", true, &st)));
    CHECK(refused(be->stat(h, "rel_escape", true, &st)));
    CHECK(refused(be->stat(h, "out_link", true, &st)));
    CHECK(refused(be->stat(h, "sub/../../outside/secret", false, &st)));
    CHECK(refused(be->stat(h, "rel_escape/passwd", false, &st)));
    CHECK(be->stat(h, "abs_link", false, &st) == 0 && st.type == ERYX__VFS_TYPE_SYMLINK); /* the link itself */
    CHECK(be->readlink(h, "rel_escape", buf, sizeof buf, &n) == 0 && n == 9);
    CHECK(refused(be->readlink(h, "rel_escape/x", buf, sizeof buf, &n)));
    CHECK(refused(be->mkdir(h, "sub/../../evil")));
    CHECK(refused(be->mkdir(h, "rel_escape/evil")));
    CHECK(access(HP("evil"), F_OK) != 0);
    CHECK(refused(be->unlink(h, "out_link/../secret")));
    CHECK(refused(be->unlink(h, "sub/../../outside/secret")));
    CHECK(refused(be->rmdir(h, "sub/../../outside")));
    CHECK(be->rmdir(h, "sub/..") == ERYX__WASI_EINVAL);
    CHECK(refused(be->rename(h, "file.txt", "sub/../../stolen")));
    CHECK(refused(be->rename(h, "sub/../../outside/secret", "stolen")));
    CHECK(access(HP("outside/secret"), F_OK) == 0 && access(HP("stolen"), F_OK) != 0);
    CHECK(be->mkdir(h, "") == ERYX__WASI_EEXIST);
    CHECK(be->rmdir(h, "") == ERYX__WASI_EBUSY);

    /* writes inside */
    CHECK(be->open(h, "new.txt", RW | ERYX__VFS_O_CREAT | ERYX__VFS_O_EXCL, &f) == 0);
    if (f) {
        CHECK(write_at(f, "fresh", 0) == 0);
        CHECK(write_at(f, "!", 10) == 0);
        CHECK(f->ops->fstat(f, &st) == 0 && st.size == 11);
        CHECK(f->ops->truncate(f, 5) == 0);
        CHECK(read_file(f, buf, sizeof buf) == 5 && strcmp(buf, "fresh") == 0);
        size_t put = 0;
        CHECK(f->ops->pwrite(f, "x", 1, UINT64_MAX, &put) == ERYX__WASI_EFBIG);
        CHECK(f->ops->pread(f, buf, 1, UINT64_MAX, &put) == ERYX__WASI_EINVAL);
        CHECK(f->ops->sync(f) == 0);
        f->ops->close(f);
        f = NULL;
    }
    CHECK(be->open(h, "new.txt", RW | ERYX__VFS_O_CREAT | ERYX__VFS_O_EXCL, &f) == ERYX__WASI_EEXIST && !f);
    CHECK(be->open(h, "new.txt", ERYX__VFS_O_WRITE | ERYX__VFS_O_APPEND, &f) == 0);
    if (f) {
        CHECK(write_at(f, "++", 0) == 0);
        f->ops->close(f);
        f = NULL;
    }
    CHECK_STR_EQ(be_cat(be, h, "new.txt", buf, sizeof buf), "fresh++");
    CHECK(be->mkdir(h, "newdir") == 0);
    CHECK(be->mkdir(h, "newdir") == ERYX__WASI_EEXIST);
    CHECK(be->rename(h, "new.txt", "newdir/moved.txt") == 0);
    CHECK_STR_EQ(be_cat(be, h, "newdir/moved.txt", buf, sizeof buf), "fresh++");
    CHECK(be->rmdir(h, "newdir") == ERYX__WASI_ENOTEMPTY);
    CHECK(be->unlink(h, "newdir") == ERYX__WASI_EISDIR);
    CHECK(be->unlink(h, "newdir/moved.txt") == 0);
    CHECK(be->rmdir(h, "newdir") == 0);
    CHECK(be->unlink(h, "out_link") == 0); /* removes the link, not its target */
    CHECK(access(HP("outside/secret"), F_OK) == 0);
    CHECK(be->rename(h, "abs_link", "abs_link2") == 0); /* moves the link, not /etc/passwd */
    CHECK(be->stat(h, "abs_link2", false, &st) == 0 && st.type == ERYX__VFS_TYPE_SYMLINK);

    /* readdir: "." and ".." first, then every entry once */
    CHECK(be->open(h, "sub", ERYX__VFS_O_READ | ERYX__VFS_O_DIRECTORY, &f) == 0);
    if (f) {
        list_file(f, buf, sizeof buf); /* host order */
        CHECK(strcmp(buf, ".,..,inner.txt,up_link") == 0 || strcmp(buf, ".,..,up_link,inner.txt") == 0);
        eryx__vfs_dirent d;
        bool end;
        CHECK(f->ops->readdir(f, 2, &d, &end) == 0 && !end); /* a rewind */
        CHECK(f->ops->readdir(f, 4, &d, &end) == 0 && end);
        CHECK(f->ops->readdir(f, 0, &d, &end) == 0 && !end && d.name_len == 1 && d.ino != 0);
        f->ops->close(f);
        f = NULL;
    }
    CHECK(be->open(h, "", ERYX__VFS_O_READ, &f) == 0);
    if (f) {
        list_file(f, buf, sizeof buf);
        CHECK(strncmp(buf, ".,..,", 5) == 0 && strstr(buf, "file.txt") && strstr(buf, "abs_link2"));
        f->ops->close(f);
        f = NULL;
    }

    /* through the vfs: ".." is normalized away before the backend sees it */
    eryx__vfs *vfs = eryx__vfs_new();
    CHECK(eryx__vfs_mount(vfs, "/host", be, h, false) == 0);
    CHECK_STR_EQ(vfs_cat(vfs, "/host/file.txt", buf, sizeof buf), "data");
    eryx__errno e;
    join("/host", "../../etc/passwd", q, sizeof q, &e);
    CHECK(e == 0 && eryx__vfs_stat_path(vfs, q, true, &st) == ERYX__WASI_ENOENT);
    CHECK(refused(eryx__vfs_stat_path(vfs, "/host/rel_escape", true, &st)));

    /* the race: no successful open may be of the file outside */
    struct stat in_st;
    CHECK(stat(HP("root/race/secret"), &in_st) == 0);
    race_arg ra;
    snprintf(ra.base, sizeof ra.base, "%s", base);
    atomic_init(&ra.stop, 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, race_thread, &ra) == 0);
    int opened = 0, escaped = 0, tries = 0, blocked = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 200000; i++) {
        eryx__vfs_file *rf = NULL;
        tries++;
        eryx__errno re = be->open(h, "race/secret", ERYX__VFS_O_READ, &rf);
        blocked += refused(re);
        if (re == 0) {
            eryx__vfs_stat rs;
            opened++;
            if (rf->ops->fstat(rf, &rs) != 0 || rs.ino != (uint64_t)in_st.st_ino) escaped++;
            rf->ops->close(rf);
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec >= 2) break;
    }
    atomic_store(&ra.stop, 1);
    pthread_join(t, NULL);
    CHECK(escaped == 0);
    CHECK(opened > 0);
    printf("test_vfs: symlink race: %d opens, %d inside, %d refused, 0 outside\n", tries, opened, blocked);
    eryx__vfs_free(vfs); /* destroys h */

    /* read-only */
    h = eryx__vfs_host_new(HP("root"), true, &err);
    CHECK(h != NULL);
    if (h) {
        CHECK_STR_EQ(be_cat(be, h, "file.txt", buf, sizeof buf), "data");
        CHECK(be->open(h, "file.txt", RW, &f) == ERYX__WASI_EROFS && !f);
        CHECK(be->open(h, "x", ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f) == ERYX__WASI_EROFS && !f);
        CHECK(be->open(h, "file.txt", ERYX__VFS_O_READ | ERYX__VFS_O_TRUNC, &f) == ERYX__WASI_EROFS && !f);
        CHECK(be->mkdir(h, "x") == ERYX__WASI_EROFS);
        CHECK(be->unlink(h, "file.txt") == ERYX__WASI_EROFS);
        CHECK(be->rmdir(h, "sub") == ERYX__WASI_EROFS);
        CHECK(be->rename(h, "file.txt", "y") == ERYX__WASI_EROFS);
        CHECK(be->open(h, "file.txt", ERYX__VFS_O_READ, &f) == 0);
        if (f) {
            CHECK(write_at(f, "x", 0) == ERYX__WASI_EBADF);
            CHECK(f->ops->truncate(f, 0) == ERYX__WASI_EBADF);
            f->ops->close(f);
        }
        f = NULL;
        vfs = eryx__vfs_new();
        CHECK(eryx__vfs_mount(vfs, "/ro", be, h, true) == 0);
        CHECK(eryx__vfs_unlink(vfs, "/ro/file.txt") == ERYX__WASI_EROFS);
        eryx__vfs_free(vfs);
    }
    CHECK(access(HP("root/file.txt"), F_OK) == 0);
#undef HP
    snprintf(q, sizeof q, "rm -rf %s", base);
    CHECK(system(q) == 0);
}

/* /dev/null mounted in a vfs: the mount point is the device. */
static void test_null(void) {
    eryx__vfs *vfs = eryx__vfs_new();
    CHECK(vfs && eryx__vfs_mount(vfs, "/dev/null", &eryx__vfs_null_backend, NULL, false) == 0);
    if (!vfs) return;
    eryx__vfs_file *f = NULL;
    eryx__vfs_stat st;
    char buf[8] = "zzzz";
    size_t n = 99;
    CHECK(eryx__vfs_open(vfs, "/dev/null", ERYX__VFS_O_READ | ERYX__VFS_O_WRITE, &f) == 0 && f);
    if (f) {
        CHECK(f->ops->pwrite(f, "hello", 5, 0, &n) == 0 && n == 5);
        CHECK(f->ops->pread(f, buf, sizeof buf, 0, &n) == 0 && n == 0 && buf[0] == 'z');
        CHECK(f->ops->fstat(f, &st) == 0 && st.type == ERYX__VFS_TYPE_CHARDEV && st.size == 0);
        f->ops->close(f);
    }
    CHECK(eryx__vfs_stat_path(vfs, "/dev/null", true, &st) == 0 && st.type == ERYX__VFS_TYPE_CHARDEV);
    CHECK(eryx__vfs_stat_path(vfs, "/dev", true, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR); /* implicit */
    f = NULL;
    CHECK(eryx__vfs_open(vfs, "/dev/null/x", ERYX__VFS_O_READ, &f) == ERYX__WASI_ENOTDIR && !f);
    CHECK(eryx__vfs_open(vfs, "/dev/null", ERYX__VFS_O_READ | ERYX__VFS_O_DIRECTORY, &f) == ERYX__WASI_ENOTDIR);
    CHECK(eryx__vfs_unlink(vfs, "/dev/null") != 0);
    CHECK(eryx__vfs_mkdir(vfs, "/dev/null/d") != 0);
    eryx__vfs_free(vfs);
}

int main(void) {
    test_null();
    test_join();
    test_mounts();
    test_zip_good();
    test_zip_hostile();
    test_zip_stdlib();
    test_mem();
    test_host();
    return check_report("test_vfs");
}
