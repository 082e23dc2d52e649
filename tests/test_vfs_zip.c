/* Unit tests of the VFS's zip backend (src/vfs/vfs_zip.c): a hand-built archive,
** hostile archives, and the real stdlib image. */
#include "vfs_test_helpers.h"

#ifndef ERYX_TEST_STDLIB_ZIP
#define ERYX_TEST_STDLIB_ZIP "/root/.cache/eryx/guest/635a7200a8c3f766/python313.zip"
#endif

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

#define DOS_TIME ((3u << 11) | (4u << 5) | 3u)             /* 03:04:06 */
#define DOS_DATE (((2024u - 1980u) << 9) | (1u << 5) | 2u) /* 2024-01-02 */
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
    {"a.txt", "hello", 0}, {"dir/sub/c.txt", "deep", 0}, {"dir/b.txt", "world!", 0},
    {"empty/", NULL, 0},   {"z.bin", "squashed", 8},     {"dir/b-x", "", 0},
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
    check_trailing_slash(vfs, "/usr/lib/python/dir/b.txt", "/usr/lib/python/dir", false);
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

int main(void) {
    test_zip_good();
    test_zip_hostile();
    test_zip_stdlib();
    return check_report("test_vfs_zip");
}
