/* Unit tests of the virtual filesystem (src/vfs): path normalization, the mount
** table and implicit directories, and /dev/null mounted in a vfs. The backends
** have their own programs: test_vfs_zip.c, test_vfs_mem.c, test_vfs_host.c. */
#include "vfs_test_helpers.h"

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
    void *tmp = eryx__vfs_mem_new(1 << 20, 0), *lib = eryx__vfs_mem_new(0, 0), *data = eryx__vfs_mem_new(0, 0);
    CHECK(eryx__vfs_mount(vfs, "/tmp", &eryx__vfs_mem_backend, tmp, false) == 0);
    CHECK(eryx__vfs_mount(vfs, "/usr/local/lib", &eryx__vfs_mem_backend, lib, false) == 0);
    CHECK(eryx__vfs_mount(vfs, "/data/", &eryx__vfs_mem_backend, data, true) == 0); /* normalized to /data */
    /* mount failures destroy the backend (ASan would report a leak otherwise) */
    CHECK(eryx__vfs_mount(vfs, "/tmp", &eryx__vfs_mem_backend, eryx__vfs_mem_new(0, 0), false) == ERYX__WASI_EEXIST);
    CHECK(eryx__vfs_mount(vfs, "/x/../tmp", &eryx__vfs_mem_backend, eryx__vfs_mem_new(0, 0), false) ==
          ERYX__WASI_EEXIST);
    CHECK(eryx__vfs_mount(vfs, "rel", &eryx__vfs_mem_backend, eryx__vfs_mem_new(0, 0), false) == ERYX__WASI_EINVAL);

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
    CHECK(eryx__vfs_stat_path(vfs, "/tmp//", true, &st) == ERYX__WASI_EINVAL);
    CHECK(eryx__vfs_stat_path(vfs, "/tmp/", true, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR); /* "a directory" */
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
    check_trailing_slash(vfs, "/tmp/d/a", "/tmp/d", true);
    check_trailing_slash(vfs, "/usr/local/lib/b", "/usr/local", false); /* "/usr/local" is implicit */
    CHECK(eryx__vfs_mkdir(vfs, "/tmp/d2/") == 0 && eryx__vfs_rename(vfs, "/tmp/d2/", "/tmp/d3/") == 0);
    CHECK(eryx__vfs_rmdir(vfs, "/tmp/d3/") == 0);

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
    void *root = eryx__vfs_mem_new(0, 0);
    CHECK(eryx__vfs_mount(vfs, "/", &eryx__vfs_mem_backend, root, false) == 0);
    CHECK(eryx__vfs_mount(vfs, "/srv/x", &eryx__vfs_mem_backend, eryx__vfs_mem_new(0, 0), false) == 0);
    CHECK(eryx__vfs_mount(vfs, "/zeta", &eryx__vfs_mem_backend, eryx__vfs_mem_new(0, 0), false) == 0);
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
    CHECK(eryx__vfs_mount(vfs, "/tmp", &eryx__vfs_mem_backend, eryx__vfs_mem_new(0, 0), false) == 0);
    CHECK(eryx__vfs_mount(vfs, "/tmp/cache/x", &eryx__vfs_mem_backend, eryx__vfs_mem_new(0, 0), false) == 0);
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
    return check_report("test_vfs");
}
