/* Unit tests of the single-file host backend (src/vfs/vfs_hostfile.c) through the
** mount table: reads, write-through, read-only refusals, invisible siblings, the
** parent's listing, ".." and symlink escapes, the mount point pinned, quotas. */
#include "vfs_test_helpers.h"
#include <fcntl.h>

static char base[] = "/tmp/eryx__vfs_hostfile_XXXXXX";

static const char *hp(const char *rel, char *out, size_t cap) {
    snprintf(out, cap, "%s/%s", base, rel);
    return out;
}

static const char *host_cat(const char *rel, char *out, size_t cap) {
    char p[256];
    FILE *fp = fopen(hp(rel, p, sizeof p), "r");
    if (!fp) return "(absent)";
    size_t n = fread(out, 1, cap - 1, fp);
    out[n] = '\0';
    fclose(fp);
    return out;
}

/* Mounts host file rel at guest in a new vfs holding also a mem /mnt/other. */
static eryx__vfs *mount_one(const char *rel, const char *guest, bool readonly, eryx__vfs_quota *quota) {
    char p[256];
    eryx__errbuf err;
    void *h = eryx__vfs_hostfile_new(hp(rel, p, sizeof p), readonly, quota, &err);
    CHECKF(h != NULL, "%s", err.msg);
    eryx__vfs *vfs = eryx__vfs_new();
    CHECK(vfs != NULL);
    if (!h || !vfs) {
        if (h) eryx__vfs_hostfile_backend.destroy(h);
        eryx__vfs_free(vfs);
        return NULL;
    }
    CHECK(eryx__vfs_mount(vfs, guest, &eryx__vfs_hostfile_backend, h, readonly) == 0);
    CHECK(eryx__vfs_mount(vfs, "/tmp", &eryx__vfs_mem_backend, eryx__vfs_mem_new(0, 0), false) == 0);
    return vfs;
}

static void test_read_and_refusals(void) {
    char buf[256], p[512];
    eryx__vfs_stat st;
    eryx__vfs_file *f = NULL;
    size_t n;
    eryx__vfs *vfs = mount_one("dir/f.txt", "/mnt/f.txt", true, NULL);
    if (!vfs) return;
    CHECK_STR_EQ(vfs_cat(vfs, "/mnt/f.txt", buf, sizeof buf), "hello\n");
    CHECK(eryx__vfs_stat_path(vfs, "/mnt/f.txt", true, &st) == 0 && st.type == ERYX__VFS_TYPE_REG && st.size == 6);
    CHECK(eryx__vfs_stat_path(vfs, "/mnt/f.txt", false, &st) == 0 && st.type == ERYX__VFS_TYPE_REG);
    /* the parent lists the file alone, as a regular file */
    CHECK_STR_EQ(list_vfs(vfs, "/mnt", buf, sizeof buf), ".,..,f.txt");
    CHECK(eryx__vfs_open(vfs, "/mnt", ERYX__VFS_O_READ | ERYX__VFS_O_DIRECTORY, &f) == 0 && f);
    if (f) {
        eryx__vfs_dirent d;
        bool end = true;
        CHECK(f->ops->readdir(f, 2, &d, &end) == 0 && !end && d.type == ERYX__VFS_TYPE_REG);
        f->ops->close(f);
    }
    CHECK(eryx__vfs_stat_path(vfs, "/mnt", true, &st) == 0 && st.type == ERYX__VFS_TYPE_DIR);
    /* siblings: by name, by "..", below the file */
    static const char *const escapes[] = {"/mnt/sib.txt", "/mnt/f.txt/../sib.txt", "/mnt/../mnt/sib.txt",
                                          "/mnt/f.txt/../../etc/passwd"};
    for (size_t i = 0; i < sizeof escapes / sizeof *escapes; i++) {
        eryx__errno e;
        join("/", escapes[i], p, sizeof p, &e);
        CHECK(e == 0);
        CHECKF(eryx__vfs_open(vfs, p, ERYX__VFS_O_READ, &f) == ERYX__WASI_ENOENT, "%s", escapes[i]);
    }
    CHECK(eryx__vfs_open(vfs, "/mnt/f.txt/x", ERYX__VFS_O_READ, &f) == ERYX__WASI_ENOTDIR);
    CHECK(eryx__vfs_stat_path(vfs, "/mnt/f.txt/x", true, &st) == ERYX__WASI_ENOTDIR);
    check_trailing_slash(vfs, "/mnt/f.txt", "/tmp", false);
    /* read-only: every write refused, the host file untouched */
    CHECK(eryx__vfs_open(vfs, "/mnt/f.txt", ERYX__VFS_O_WRITE, &f) == ERYX__WASI_EROFS);
    CHECK(eryx__vfs_open(vfs, "/mnt/f.txt", ERYX__VFS_O_READ | ERYX__VFS_O_TRUNC, &f) == ERYX__WASI_EROFS);
    CHECK(eryx__vfs_open(vfs, "/mnt/f.txt", ERYX__VFS_O_APPEND | ERYX__VFS_O_WRITE, &f) == ERYX__WASI_EROFS);
    CHECK(eryx__vfs_open(vfs, "/mnt/new.txt", ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f) == ERYX__WASI_EROFS);
    CHECK(eryx__vfs_unlink(vfs, "/mnt/f.txt") == ERYX__WASI_EBUSY);
    CHECK(eryx__vfs_rename(vfs, "/mnt/f.txt", "/mnt/g.txt") == ERYX__WASI_EBUSY);
    CHECK(eryx__vfs_mkdir(vfs, "/mnt/f.txt") == ERYX__WASI_EEXIST);
    CHECK(eryx__vfs_writable(vfs, "/mnt/f.txt") == ERYX__WASI_EROFS);
    CHECK(eryx__vfs_readlink(vfs, "/mnt/f.txt", buf, sizeof buf, &n) == ERYX__WASI_EINVAL);
    CHECK(eryx__vfs_open(vfs, "/mnt/f.txt", ERYX__VFS_O_READ, &f) == 0 && f);
    if (f) {
        CHECK(f->ops->pwrite(f, "x", 1, 0, &n) != 0); /* opened for reading */
        f->ops->close(f);
    }
    CHECK_STR_EQ(host_cat("dir/f.txt", buf, sizeof buf), "hello\n");
    CHECK_STR_EQ(host_cat("dir/sib.txt", buf, sizeof buf), "secret\n");
    eryx__vfs_free(vfs);
}

static void test_write_through(void) {
    char buf[256], p[256];
    eryx__vfs_file *f = NULL;
    size_t n;
    eryx__vfs *vfs = mount_one("dir/w.txt", "/tmp/w.txt", false, NULL);
    if (!vfs) return;
    CHECK(eryx__vfs_writable(vfs, "/tmp/w.txt") == 0);
    CHECK(eryx__vfs_open(vfs, "/tmp/w.txt", ERYX__VFS_O_WRITE | ERYX__VFS_O_APPEND, &f) == 0 && f);
    if (f) {
        CHECK(write_at(f, "more\n", 0) == 0); /* APPEND: at the end whatever the offset */
        f->ops->close(f);
    }
    CHECK_STR_EQ(host_cat("dir/w.txt", buf, sizeof buf), "start\nmore\n");
    CHECK(eryx__vfs_open(vfs, "/tmp/w.txt", ERYX__VFS_O_WRITE | ERYX__VFS_O_TRUNC | ERYX__VFS_O_CREAT, &f) == 0);
    if (f) {
        CHECK(write_at(f, "new", 0) == 0);
        CHECK(f->ops->truncate(f, 2) == 0);
        f->ops->close(f);
    }
    CHECK_STR_EQ(host_cat("dir/w.txt", buf, sizeof buf), "ne");
    CHECK_STR_EQ(vfs_cat(vfs, "/tmp/w.txt", buf, sizeof buf), "ne");
    /* a read-only open of a writable mount does not write */
    CHECK(eryx__vfs_open(vfs, "/tmp/w.txt", ERYX__VFS_O_READ, &f) == 0 && f);
    if (f) {
        CHECK(f->ops->pwrite(f, "x", 1, 0, &n) == ERYX__WASI_EBADF);
        f->ops->close(f);
    }
    /* the parent is the mem /tmp: it lists its own entries and the file */
    CHECK(eryx__vfs_open(vfs, "/tmp/own", ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f) == 0 && f);
    if (f) f->ops->close(f);
    CHECK_STR_EQ(list_vfs(vfs, "/tmp", buf, sizeof buf), ".,..,own,w.txt");
    CHECK(eryx__vfs_open(vfs, "/tmp/w.txt", ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT | ERYX__VFS_O_EXCL, &f) ==
          ERYX__WASI_EEXIST);
    CHECK(eryx__vfs_open(vfs, "/tmp/w.txt", ERYX__VFS_O_READ | ERYX__VFS_O_DIRECTORY, &f) == ERYX__WASI_ENOTDIR);
    CHECK(eryx__vfs_open(vfs, "/tmp/w.txt/x", ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f) == ERYX__WASI_ENOTDIR);
    CHECK(eryx__vfs_mkdir(vfs, "/tmp/w.txt/d") == ERYX__WASI_ENOTDIR);
    /* the mount point stays: no unlink, no rename onto it or away from it */
    CHECK(eryx__vfs_unlink(vfs, "/tmp/w.txt") == ERYX__WASI_EBUSY);
    CHECK(eryx__vfs_rename(vfs, "/tmp/w.txt", "/tmp/moved") == ERYX__WASI_EBUSY);
    CHECK(eryx__vfs_rename(vfs, "/tmp/own", "/tmp/w.txt") == ERYX__WASI_EBUSY);
    CHECK_STR_EQ(host_cat("dir/w.txt", buf, sizeof buf), "ne");
    /* the host path replaced after mounting: the guest keeps the file it was given */
    CHECK(rename(hp("dir/w.txt", p, sizeof p), hp("dir/w.old", buf, sizeof buf)) == 0);
    write_host_file(hp("dir/w.txt", p, sizeof p), "impostor");
    CHECK_STR_EQ(vfs_cat(vfs, "/tmp/w.txt", buf, sizeof buf), "ne");
    eryx__vfs_free(vfs);
}

static void test_quota(void) {
    char buf[256];
    eryx__vfs_file *f = NULL;
    uint64_t bytes = 0, files = 0;
    write_host_file(hp("dir/q.txt", buf, sizeof buf), "0123456789");
    eryx__vfs_quota *q = eryx__vfs_quota_new(8, 0);
    CHECK(q != NULL);
    eryx__vfs *vfs = mount_one("dir/q.txt", "/mnt/q.txt", false, q);
    if (!vfs) {
        eryx__vfs_quota_release(q);
        return;
    }
    CHECK(eryx__vfs_open(vfs, "/mnt/q.txt", ERYX__VFS_O_WRITE | ERYX__VFS_O_APPEND, &f) == 0 && f);
    if (f) {
        CHECK(write_at(f, "abcde", 0) == 0); /* growth 5 of 8 */
        eryx__vfs_quota_usage(q, &bytes, &files);
        CHECK(bytes == 5 && files == 0);
        CHECK(write_at(f, "fghi", 0) == ERYX__WASI_EDQUOT); /* 9 > 8: refused whole */
        CHECK(f->ops->truncate(f, 100) == ERYX__WASI_EDQUOT);
        f->ops->close(f);
    }
    CHECK_STR_EQ(host_cat("dir/q.txt", buf, sizeof buf), "0123456789abcde");
    /* O_TRUNC gives back what the file held (never below 0) */
    CHECK(eryx__vfs_open(vfs, "/mnt/q.txt", ERYX__VFS_O_WRITE | ERYX__VFS_O_TRUNC, &f) == 0 && f);
    if (f) f->ops->close(f);
    eryx__vfs_quota_usage(q, &bytes, &files);
    CHECK(bytes == 0);
    CHECK_STR_EQ(host_cat("dir/q.txt", buf, sizeof buf), "");
    eryx__vfs_free(vfs);
    eryx__vfs_quota_release(q);
}

static void test_refused_sources(void) {
    char p[256], q[256];
    eryx__errbuf err;
    void *h;
    /* a directory, a FIFO, a missing file: no mount, a message */
    CHECK((h = eryx__vfs_hostfile_new(hp("dir", p, sizeof p), true, NULL, &err)) == NULL && strstr(err.msg, "regular"));
    CHECK(mkfifo(hp("dir/fifo", p, sizeof p), 0644) == 0);
    CHECK((h = eryx__vfs_hostfile_new(p, false, NULL, &err)) == NULL && strstr(err.msg, "regular"));
    CHECK((h = eryx__vfs_hostfile_new(hp("dir/missing", p, sizeof p), true, NULL, &err)) == NULL &&
          strstr(err.msg, "No such file"));
    /* a file the host user may read but not write: read-only yes, writable no */
    write_host_file(hp("dir/ro.txt", p, sizeof p), "ro");
    CHECK(chmod(p, 0444) == 0);
    h = eryx__vfs_hostfile_new(p, true, NULL, &err);
    CHECK(h != NULL);
    if (h) eryx__vfs_hostfile_backend.destroy(h);
    if (geteuid() != 0) { /* root writes anyway */
        CHECK((h = eryx__vfs_hostfile_new(p, false, NULL, &err)) == NULL && strstr(err.msg, "writing"));
    }
    /* a symlink in the host path is followed once, at mount time */
    CHECK(symlink("f.txt", hp("dir/link", q, sizeof q)) == 0);
    h = eryx__vfs_hostfile_new(q, true, NULL, &err);
    CHECK(h != NULL);
    if (h) {
        char buf[64];
        CHECK(unlink(q) == 0 && symlink("sib.txt", q) == 0); /* repointed: no effect */
        CHECK_STR_EQ(be_cat(&eryx__vfs_hostfile_backend, h, "", buf, sizeof buf), "hello\n");
        CHECK_STR_EQ(be_cat(&eryx__vfs_hostfile_backend, h, "sib.txt", buf, sizeof buf), "(error 54)"); /* ENOTDIR */
        eryx__vfs_hostfile_backend.destroy(h);
    }
}

int main(void) {
    char p[256];
    if (!mkdtemp(base)) {
        CHECK(!"mkdtemp");
        return check_report("test_vfs_hostfile");
    }
    CHECK(mkdir(hp("dir", p, sizeof p), 0755) == 0);
    write_host_file(hp("dir/f.txt", p, sizeof p), "hello\n");
    write_host_file(hp("dir/sib.txt", p, sizeof p), "secret\n");
    write_host_file(hp("dir/w.txt", p, sizeof p), "start\n");
    test_read_and_refusals();
    test_write_through();
    test_quota();
    test_refused_sources();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", base);
    CHECK(system(cmd) == 0);
    return check_report("test_vfs_hostfile");
}
