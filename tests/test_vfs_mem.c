/* Unit tests of the VFS's memory backend (src/vfs/vfs_mem.c). */
#include "vfs_test_helpers.h"

/* ---- mem ------------------------------------------------------------------------ */

static void test_mem(void) {
    const eryx__vfs_backend *be = &eryx__vfs_mem_backend;
    void *fs = eryx__vfs_mem_new(0, 0);
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

    /* the cap (1 KiB, of which the root and the file's node take some): a write or
    ** truncate past it fails whole */
    CHECK(eryx__vfs_mem_used(fs) == 10);
    void *small = eryx__vfs_mem_new(1024, 0);
    CHECK(small && be->open(small, "big", RW | ERYX__VFS_O_CREAT, &f) == 0);
    if (f) {
        char blob[1024];
        memset(blob, 'b', sizeof blob);
        size_t put = 0, most = 0;
        while (most < sizeof blob && f->ops->pwrite(f, blob, most + 1, 0, &put) == 0) most++;
        CHECK(most > 500 && most < 1024);
        CHECK(eryx__vfs_mem_used(small) == most && eryx__vfs_mem_charged(small) <= 1024);
        CHECK(f->ops->pwrite(f, "X", 1, most, &put) == ERYX__WASI_ENOSPC && put == 0);
        CHECK(f->ops->pwrite(f, blob, most + 1, 0, &put) == ERYX__WASI_ENOSPC);
        CHECK(f->ops->truncate(f, most + 1) == ERYX__WASI_ENOSPC);
        CHECK(f->ops->fstat(f, &st) == 0 && st.size == most);
        CHECK(f->ops->pwrite(f, "XY", 2, 10, &put) == 0 && put == 2); /* overwriting is fine */
        CHECK(f->ops->pread(f, buf, 16, 0, &got) == 0 && got == 16 && buf[9] == 'b' && buf[10] == 'X');
        CHECK(eryx__vfs_mem_used(small) == most);
        /* huge offsets */
        CHECK(f->ops->pwrite(f, "X", 1, UINT64_MAX, &put) == ERYX__WASI_EFBIG);
        CHECK(f->ops->pwrite(f, "X", 1, (uint64_t)INT64_MAX, &put) == ERYX__WASI_EFBIG);
        CHECK(f->ops->pwrite(f, "X", 1, (uint64_t)1 << 40, &put) == ERYX__WASI_ENOSPC);
        CHECK(f->ops->pwrite(f, blob, SIZE_MAX, 1, &put) == ERYX__WASI_EFBIG);
        CHECK(f->ops->truncate(f, UINT64_MAX) == ERYX__WASI_EFBIG);
        CHECK(f->ops->pread(f, buf, sizeof buf, UINT64_MAX, &got) == 0 && got == 0);
        CHECK(f->ops->pwrite(f, "", 0, UINT64_MAX - 1, &put) == ERYX__WASI_EFBIG);
        CHECK(f->ops->fstat(f, &st) == 0 && st.size == most);
        CHECK(f->ops->truncate(f, 0) == 0);
        CHECK(eryx__vfs_mem_used(small) == 0);
        f->ops->close(f);
        f = NULL;
    }
    if (small) be->destroy(small);
    CHECK(be->open(fs, "big", RW | ERYX__VFS_O_CREAT, &f) == 0);
    if (f) f->ops->close(f);
    f = NULL;
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
    fs = eryx__vfs_mem_new(0, 0);
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

/* Issue 17, item 1: names, nodes and directory tables count against the byte cap
** (they were free: millions of empty directories with long names grew the host
** without bound), and the entry cap bounds files and directories. */
static void test_mem_accounting(void) {
    const eryx__vfs_backend *be = &eryx__vfs_mem_backend;
    const uint64_t CAP = 256 * 1024;
    void *fs = eryx__vfs_mem_new(CAP, 0);
    CHECK(fs != NULL);
    if (!fs) return;
    uint64_t base = eryx__vfs_mem_charged(fs);
    CHECK(base > 0 && base < 1024); /* the root */
    char name[300];
    eryx__errno e = 0;
    int made = 0;
    for (int i = 0; i < 1000000 && !e; i++) { /* empty directories with 255-byte names */
        snprintf(name, sizeof name, "%0255d", i);
        if (!(e = be->mkdir(fs, name))) made++;
    }
    CHECK(e == ERYX__WASI_ENOSPC);
    CHECK(made > 100 && (uint64_t)made * 255 < CAP); /* each name cost at least its bytes */
    CHECK(eryx__vfs_mem_charged(fs) <= CAP && eryx__vfs_mem_used(fs) == 0);
    CHECK(eryx__vfs_mem_entries(fs) == (uint64_t)made);
    eryx__vfs_stat st;
    CHECK(be->stat(fs, name, true, &st) == ERYX__WASI_ENOENT); /* the failed one left nothing */
    eryx__vfs_file *f = NULL;
    CHECK(be->open(fs, "x", ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f) == ERYX__WASI_ENOSPC && !f);
    snprintf(name, sizeof name, "%0255d", 0);
    CHECK(be->rename(fs, name, "short") == 0); /* a shorter name fits */
    /* removing them gives the bytes back (the root's table shrinks, not to nothing) */
    int removed = be->rmdir(fs, "short") == 0;
    for (int i = 1; i < made; i++) {
        snprintf(name, sizeof name, "%0255d", i);
        removed += be->rmdir(fs, name) == 0;
    }
    CHECK(removed == made && eryx__vfs_mem_entries(fs) == 0);
    CHECK(eryx__vfs_mem_charged(fs) <= base + 256);
    /* empty files with long names in a subdirectory, the same */
    CHECK(be->mkdir(fs, "d") == 0);
    e = 0;
    made = 0;
    for (int i = 0; i < 1000000 && !e; i++) {
        snprintf(name, sizeof name, "d/%0255d", i);
        f = NULL;
        if (!(e = be->open(fs, name, ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f))) {
            made++;
            f->ops->close(f);
        }
    }
    CHECK(e == ERYX__WASI_ENOSPC && made > 100 && (uint64_t)made * 255 < CAP);
    CHECK(eryx__vfs_mem_charged(fs) <= CAP);
    be->destroy(fs);

    /* the entry cap: files and directories together; the root is not one */
    fs = eryx__vfs_mem_new(0, 10);
    CHECK(fs != NULL);
    if (!fs) return;
    int ok = 0;
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "e%d", i);
        f = NULL;
        if (i % 2) ok += be->mkdir(fs, name) == 0;
        else if (be->open(fs, name, ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f) == 0) {
            ok++;
            f->ops->close(f);
        }
    }
    CHECK(ok == 10 && eryx__vfs_mem_entries(fs) == 10);
    f = NULL;
    CHECK(be->mkdir(fs, "more") == ERYX__WASI_ENOSPC);
    CHECK(be->mkdir(fs, "e1/more") == ERYX__WASI_ENOSPC);
    CHECK(be->open(fs, "more", ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f) == ERYX__WASI_ENOSPC && !f);
    CHECK(be->stat(fs, "more", true, &st) == ERYX__WASI_ENOENT);
    CHECK(be->rename(fs, "e0", "e1/moved") == 0);                              /* a rename makes no entry */
    CHECK(be->open(fs, "e2", ERYX__VFS_O_WRITE | ERYX__VFS_O_CREAT, &f) == 0); /* opening one that exists */
    if (f) f->ops->close(f);
    CHECK(be->unlink(fs, "e2") == 0 && be->mkdir(fs, "more") == 0);
    CHECK(eryx__vfs_mem_entries(fs) == 10);
    be->destroy(fs);
}

int main(void) {
    test_mem();
    test_mem_accounting();
    return check_report("test_vfs_mem");
}
