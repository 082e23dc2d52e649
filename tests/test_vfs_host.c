/* Unit tests of the VFS's host backend (src/vfs/vfs_host.c), including symlink
** escapes and a symlink-swap race. */
#include "vfs_test_helpers.h"

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
    void *h = eryx__vfs_host_new(HP("root"), false, NULL, &err);
    CHECK(h != NULL);
    if (!h) {
        fprintf(stderr, "host: %s\n", err.msg);
        return;
    }
    CHECK(eryx__vfs_host_new(HP("nonexistent"), false, NULL, &err) == NULL && err.msg[0]);
    CHECK(eryx__vfs_host_new(HP("root/file.txt"), false, NULL, &err) == NULL);

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
    check_trailing_slash(vfs, "/host/file.txt", "/host/sub", true);
    CHECK(access(HP("root/file.txt"), F_OK) == 0);

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
    h = eryx__vfs_host_new(HP("root"), true, NULL, &err);
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

/* Issue 17, item 5: a quota on a writable host directory bounds the bytes and the
** entries the guest adds (a sparse 1 TiB file was written into one). */
static void test_host_quota(void) {
    char base[] = "/tmp/eryx__vfs_quota_XXXXXX";
    if (!mkdtemp(base)) {
        CHECK(!"mkdtemp");
        return;
    }
    char p[256], buf[600];
    eryx__errbuf err;
    const eryx__vfs_backend *be = &eryx__vfs_host_backend;
    const uint32_t RW = ERYX__VFS_O_READ | ERYX__VFS_O_WRITE;
#define HP(rel) (snprintf(p, sizeof p, "%s/%s", base, rel), p)
    write_host_file(HP("old"), "0123456789"); /* there before: not the guest's */
    eryx__vfs_quota *q = eryx__vfs_quota_new(1000, 5);
    void *h = q ? eryx__vfs_host_new(base, false, q, &err) : NULL;
    CHECK(h != NULL);
    if (!h) return;
    uint64_t bytes = 0, files = 0;
    struct stat hs;
    eryx__vfs_file *f = NULL;
    size_t put = 0;
    memset(buf, 'q', sizeof buf);
    CHECK(be->open(h, "a", RW | ERYX__VFS_O_CREAT, &f) == 0);
    if (f) {
        eryx__vfs_quota_usage(q, &bytes, &files);
        CHECK(bytes == 0 && files == 1);
        CHECK(f->ops->pwrite(f, buf, 500, 0, &put) == 0 && put == 500);
        /* sparse growth counts its size: refused whole, nothing written */
        CHECK(f->ops->pwrite(f, "x", 1, (uint64_t)1 << 40, &put) == ERYX__WASI_EDQUOT && put == 0);
        CHECK(f->ops->truncate(f, (uint64_t)1 << 40) == ERYX__WASI_EDQUOT);
        CHECK(f->ops->pwrite(f, buf, 501, 500, &put) == ERYX__WASI_EDQUOT);
        CHECK(stat(HP("a"), &hs) == 0 && hs.st_size == 500);
        CHECK(f->ops->pwrite(f, buf, 500, 500, &put) == 0 && put == 500);
        CHECK(f->ops->pwrite(f, "x", 1, 1000, &put) == ERYX__WASI_EDQUOT);
        CHECK(f->ops->pwrite(f, "xy", 2, 10, &put) == 0); /* overwriting adds nothing */
        eryx__vfs_quota_usage(q, &bytes, &files);
        CHECK(bytes == 1000 && files == 1);
        CHECK(f->ops->truncate(f, 200) == 0); /* a shrink gives back */
        eryx__vfs_quota_usage(q, &bytes, NULL);
        CHECK(bytes == 200);
        CHECK(f->ops->truncate(f, 1000) == 0 && f->ops->truncate(f, 1001) == ERYX__WASI_EDQUOT);
        CHECK(f->ops->truncate(f, 200) == 0);
        f->ops->close(f);
        f = NULL;
    }
    /* content there before: rewriting it in place adds nothing; removing it gives
    ** back no more than the guest added (the count stays at 0 or above) */
    CHECK(be->open(h, "old", RW, &f) == 0);
    if (f) {
        CHECK(f->ops->pwrite(f, "abc", 3, 0, &put) == 0);
        f->ops->close(f);
        f = NULL;
    }
    eryx__vfs_quota_usage(q, &bytes, NULL);
    CHECK(bytes == 200);
    CHECK(be->open(h, "old", RW | ERYX__VFS_O_TRUNC, &f) == 0);
    if (f) f->ops->close(f);
    f = NULL;
    eryx__vfs_quota_usage(q, &bytes, &files);
    CHECK(bytes == 190 && files == 1);
    CHECK(be->unlink(h, "a") == 0);
    eryx__vfs_quota_usage(q, &bytes, &files);
    CHECK(bytes == 0 && files == 0);
    /* files: files and directories made, up to 5 */
    int made = 0;
    made += be->mkdir(h, "d1") == 0;
    made += be->mkdir(h, "d1/d2") == 0;
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "d1/f%d", i);
        if (be->open(h, name, RW | ERYX__VFS_O_CREAT, &f) == 0) {
            made++;
            f->ops->close(f);
        }
        f = NULL;
    }
    CHECK(made == 5);
    CHECK(be->mkdir(h, "d3") == ERYX__WASI_EDQUOT && access(HP("d3"), F_OK) != 0);
    CHECK(be->open(h, "g", RW | ERYX__VFS_O_CREAT, &f) == ERYX__WASI_EDQUOT && !f && access(HP("g"), F_OK) != 0);
    CHECK(be->open(h, "d1/f0", RW | ERYX__VFS_O_CREAT, &f) == 0); /* it exists: no new entry */
    if (f) {
        CHECK(f->ops->pwrite(f, buf, 100, 0, &put) == 0);
        f->ops->close(f);
    }
    f = NULL;
    CHECK(be->rename(h, "d1/f1", "d1/f0") == 0); /* replacing gives back the file and its bytes */
    eryx__vfs_quota_usage(q, &bytes, &files);
    CHECK(bytes == 0 && files == 4);
    CHECK(be->rmdir(h, "d1/d2") == 0);
    eryx__vfs_quota_usage(q, NULL, &files);
    CHECK(files == 3);
    /* one quota shared by two mounts (two sandboxes of a builder) */
    void *h2 = eryx__vfs_host_new(base, false, q, &err);
    CHECK(h2 != NULL);
    if (h2) {
        CHECK(be->open(h2, "s", RW | ERYX__VFS_O_CREAT, &f) == 0);
        if (f) {
            CHECK(f->ops->pwrite(f, buf, 600, 0, &put) == 0);
            f->ops->close(f);
        }
        f = NULL;
        CHECK(be->open(h, "t", RW | ERYX__VFS_O_CREAT, &f) == 0);
        if (f) {
            CHECK(f->ops->pwrite(f, buf, 401, 0, &put) == ERYX__WASI_EDQUOT);
            CHECK(f->ops->pwrite(f, buf, 400, 0, &put) == 0);
            f->ops->close(f);
        }
        f = NULL;
        be->destroy(h2);
    }
    be->destroy(h);
    eryx__vfs_quota_usage(q, &bytes, &files);
    CHECK(bytes == 1000 && files == 5);
    eryx__vfs_quota_release(q);
#undef HP
    snprintf(p, sizeof p, "rm -rf %s", base);
    CHECK(system(p) == 0);
}

int main(void) {
    test_host();
    test_host_quota();
    return check_report("test_vfs_host");
}
