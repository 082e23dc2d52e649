/* Unit test: the disk tier of the artifact cache (src/cache/store.c). Each test
** works in its own mkdtemp dir under /tmp and removes it. Cross-process cases fork;
** a child reports through its exit status (its own CHECK failures, printed). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "../src/cache/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "../src/cache/key.h"
#include "check.h"

#define TRAILER ERYX__STORE_TRAILER_SIZE

/* ---- helpers ------------------------------------------------------------------- */

static void make_key(int i, char hex[65]) {
    char s[32];
    snprintf(s, sizeof s, "test-key-%d", i);
    if (eryx__sha256_hex(s, strlen(s), hex) != 0) abort();
}

static unsigned char *make_payload(size_t n, unsigned seed) {
    unsigned char *p = malloc(n ? n : 1);
    if (!p) abort();
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
    return p;
}

static void make_tmpdir(char out[256]) {
    snprintf(out, 256, "/tmp/eryx_store_test_XXXXXX");
    if (!mkdtemp(out)) abort();
    char *real = realpath(out, NULL); /* the store hands out canonical paths */
    if (!real) abort();
    snprintf(out, 256, "%s", real);
    free(real);
}

static void rm_rf(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        (void)chmod(path, 0700); /* undo a read-only test */
        DIR *d = opendir(path);
        if (d) {
            struct dirent *de;
            while ((de = readdir(d)) != NULL) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
                char sub[1024];
                snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
                rm_rf(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void entry_path(const char *dir, const char *key, char out[512]) {
    snprintf(out, 512, "%s/modules/%s.cwasm", dir, key);
}

static bool exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

static int64_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* Files in dir/sub whose name contains part (NULL: all). */
static int count_files(const char *dir, const char *sub, const char *part) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, sub);
    DIR *d = opendir(p);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (!part || strstr(de->d_name, part)) n++;
    }
    closedir(d);
    return n;
}

static void set_age(const char *path, int seconds_ago) {
    struct timespec ts[2];
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= seconds_ago;
    ts[1] = ts[0];
    if (utimensat(AT_FDCWD, path, ts, 0) != 0) {
        check_failures++;
        fprintf(stderr, "set_age %s: %s\n", path, strerror(errno));
    }
}

static eryx__store *open_store(const char *dir, uint64_t max_bytes, uint64_t max_entries) {
    eryx__errbuf err;
    eryx__store_limits lim = {max_bytes, max_entries};
    eryx__store *s = eryx__store_open(dir, lim, &err);
    if (!s) fprintf(stderr, "open %s: %s\n", dir, err.msg);
    return s;
}

static int put(eryx__store *s, const char *key, const unsigned char *p, size_t n) {
    eryx__errbuf msg;
    int rc = eryx__store_put(s, key, p, n, &msg);
    if (rc != 0) fprintf(stderr, "put: %s\n", msg.msg);
    return rc;
}

static eryx__store_result get_status(eryx__store *s, const char *key) {
    eryx__errbuf msg;
    eryx__store_entry e;
    eryx__store_result r = eryx__store_get(s, key, &e, &msg);
    eryx__store_entry_release(&e);
    return r;
}

/* The entry at path holds exactly payload, at offset 0. */
static bool file_has_payload(const char *path, const unsigned char *p, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    unsigned char *buf = malloc(n + 1);
    size_t got = fread(buf, 1, n, f);
    bool ok = got == n && memcmp(buf, p, n) == 0;
    free(buf);
    fclose(f);
    return ok;
}

static void patch(const char *path, off_t off, const void *bytes, size_t n) {
    int fd = open(path, O_WRONLY);
    if (fd < 0 || pwrite(fd, bytes, n, off) != (ssize_t)n) abort();
    close(fd);
}

static void flip(const char *path, off_t off) {
    int fd = open(path, O_RDWR);
    unsigned char b;
    if (fd < 0 || pread(fd, &b, 1, off) != 1) abort();
    b ^= 0x40;
    if (pwrite(fd, &b, 1, off) != 1) abort();
    close(fd);
}

static void copy_file(const char *from, const char *to) {
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    if (!a || !b) abort();
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, n, b);
    fclose(a);
    fclose(b);
}

static uint64_t le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* ---- basic: miss, put, hit, list ------------------------------------------------------ */

static void test_basic(void) {
    char dir[256], key1[65], key2[65], path[512];
    eryx__errbuf msg;
    make_tmpdir(dir);
    make_key(1, key1);
    make_key(2, key2);
    eryx__store *s = open_store(dir, 0, 0);
    CHECK(s != NULL);
    if (!s) return;
    CHECK_STR_EQ(eryx__store_dir(s), dir);

    eryx__store_entry e;
    CHECK(eryx__store_get(s, key1, &e, &msg) == ERYX__STORE_MISS);
    CHECK(e.path == NULL && e.lock_fd == -1);
    eryx__store_entry_release(&e);

    size_t n1 = 300000, n2 = 5000;
    unsigned char *p1 = make_payload(n1, 1), *p2 = make_payload(n2, 2);
    CHECK(put(s, key1, p1, n1) == 0);
    entry_path(dir, key1, path);
    CHECK(file_size(path) == (int64_t)(n1 + TRAILER));
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

    CHECK(eryx__store_get(s, key1, &e, &msg) == ERYX__STORE_HIT);
    CHECK_STR_EQ(e.path, path);
    CHECK(e.payload_len == n1);
    CHECK(e.lock_fd >= 0);
    CHECK(file_has_payload(e.path, p1, n1));
    eryx__store_entry_release(&e);
    CHECK(e.path == NULL && e.lock_fd == -1);
    eryx__store_entry_release(&e); /* twice is fine */
    eryx__store_entry_release(NULL);

    /* The trailer, field by field, as store.h documents it. */
    {
        unsigned char t[TRAILER];
        int fd = open(path, O_RDONLY);
        CHECK(fd >= 0 && pread(fd, t, TRAILER, (off_t)n1) == (ssize_t)TRAILER);
        close(fd);
        CHECK(memcmp(t, "ERYXCWSM", 8) == 0);
        CHECK(t[8] == ERYX__STORE_FORMAT && t[9] == 0 && t[10] == 0 && t[11] == 0);
        CHECK(le64(t + 16) == n1);
        CHECK(memcmp(t + 24, key1, 64) == 0);
        XXH128_hash_t h = XXH3_128bits(p1, n1);
        CHECK(le64(t + 88) == h.high64 && le64(t + 96) == h.low64);
        unsigned char zero[24] = {0};
        CHECK(memcmp(t + 104, zero, 24) == 0);
    }

    CHECK(put(s, key2, p2, n2) == 0);
    CHECK(get_status(s, key2) == ERYX__STORE_HIT);
    CHECK(count_files(dir, "modules", ".tmp.") == 0);

    /* list: most recently used first; key1 older, then a get makes it newest. */
    char path2[512];
    entry_path(dir, key2, path2);
    set_age(path, 100);
    set_age(path2, 50);
    eryx__store_info *info = NULL;
    size_t count = 0;
    CHECK(eryx__store_list(s, &info, &count, &msg) == 0);
    CHECK(count == 2);
    if (count == 2) {
        CHECK_STR_EQ(info[0].key, key2);
        CHECK_STR_EQ(info[1].key, key1);
    }
    free(info);
    CHECK(eryx__store_get(s, key1, &e, &msg) == ERYX__STORE_HIT);
    CHECK(eryx__store_list(s, &info, &count, &msg) == 0);
    CHECK(count == 2);
    if (count == 2) {
        CHECK_STR_EQ(info[0].key, key1);
        CHECK_STR_EQ(info[1].key, key2);
        CHECK(info[0].size + info[1].size == n1 + n2 + 2 * TRAILER); /* stats */
        CHECK(info[0].in_use);   /* held by e */
        CHECK(!info[1].in_use);
        CHECK(info[0].last_used_s > info[1].last_used_s);
        CHECK(info[0].last_used_s >= (int64_t)time(NULL) - 5);
    }
    free(info);
    eryx__store_entry_release(&e);

    /* An empty payload is a valid entry too. */
    char key3[65];
    make_key(3, key3);
    CHECK(put(s, key3, NULL, 0) == 0);
    CHECK(eryx__store_get(s, key3, &e, &msg) == ERYX__STORE_HIT);
    CHECK(e.payload_len == 0);
    eryx__store_entry_release(&e);

    /* Put over an existing entry (same key): still one valid entry. */
    CHECK(put(s, key1, p1, n1) == 0);
    CHECK(get_status(s, key1) == ERYX__STORE_HIT);
    CHECK(count_files(dir, "modules", NULL) == 3);

    /* A fresh handle on the same dir sees the entries. */
    eryx__store *s2 = open_store(dir, 0, 0);
    CHECK(s2 && get_status(s2, key2) == ERYX__STORE_HIT);
    eryx__store_close(s2);

    /* A relative dir: handed-out paths are absolute anyway. */
    char cwd[512];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(dir) == 0);
    eryx__store *s3 = open_store("rel/cache", 0, 0);
    CHECK(s3 != NULL);
    if (s3) {
        CHECK(eryx__store_dir(s3)[0] == '/');
        CHECK(put(s3, key1, p1, 10) == 0);
        CHECK(eryx__store_get(s3, key1, &e, &msg) == ERYX__STORE_HIT);
        CHECK(e.path && e.path[0] == '/');
        eryx__store_entry_release(&e);
    }
    CHECK(chdir(cwd) == 0);
    eryx__store_close(s3);

    eryx__store_close(s);
    eryx__store_close(NULL);
    free(p1);
    free(p2);
    rm_rf(dir);
}

/* ---- corruption ----------------------------------------------------------------------- */

enum corruption {
    TRUNC_1,
    TRUNC_PAYLOAD,
    SHORTER_THAN_TRAILER,
    ZERO_LENGTH,
    BAD_MAGIC,
    FOREIGN_VERSION,
    LENGTH_FIELD,
    PAYLOAD_BYTE,
    CHECKSUM_BYTE,
    CHECKSUM_LAST_BYTE,
    RESERVED_FIELD,
    PADDING_BYTE,
    NON_HEX_KEY,
    N_CORRUPTIONS
};

static void test_corruption(void) {
    static const char *const expect[N_CORRUPTIONS] = {
        "magic",   "magic", "shorter", "shorter",  "magic",    "version",  "length",
        "checksum", "checksum", "checksum", "reserved", "padding", "hex",
    };
    char dir[256], key[65], other[65], path[512];
    eryx__errbuf msg;
    make_tmpdir(dir);
    make_key(10, key);
    make_key(11, other);
    eryx__store *s = open_store(dir, 0, 0);
    CHECK(s != NULL);
    if (!s) return;
    size_t n = 40000;
    unsigned char *p = make_payload(n, 3);
    entry_path(dir, key, path);
    off_t tr = (off_t)n; /* trailer offset */
    for (int c = 0; c < N_CORRUPTIONS; c++) {
        CHECK(put(s, key, p, n) == 0);
        switch (c) {
        case TRUNC_1: CHECK(truncate(path, (off_t)(n + TRAILER - 1)) == 0); break;
        case TRUNC_PAYLOAD: CHECK(truncate(path, (off_t)(n / 2)) == 0); break;
        case SHORTER_THAN_TRAILER: CHECK(truncate(path, 100) == 0); break;
        case ZERO_LENGTH: CHECK(truncate(path, 0) == 0); break;
        case BAD_MAGIC: flip(path, tr + 3); break;
        case FOREIGN_VERSION: patch(path, tr + 8, "\x02\0\0\0", 4); break;
        case LENGTH_FIELD: {
            unsigned char l[8];
            uint64_t v = n + 1;
            for (int i = 0; i < 8; i++) l[i] = (unsigned char)(v >> (8 * i));
            patch(path, tr + 16, l, 8);
            break;
        }
        case PAYLOAD_BYTE: flip(path, 12345); break;
        case CHECKSUM_BYTE: flip(path, tr + 88); break;
        case CHECKSUM_LAST_BYTE: flip(path, tr + 103); break;
        case RESERVED_FIELD: patch(path, tr + 12, "\x01", 1); break;
        case PADDING_BYTE: patch(path, tr + 127, "\x01", 1); break;
        case NON_HEX_KEY: patch(path, tr + 24, "G", 1); break;
        default: break;
        }
        eryx__store_entry e;
        msg.msg[0] = '\0';
        eryx__store_result r = eryx__store_get(s, key, &e, &msg);
        CHECK(r == ERYX__STORE_CORRUPT);
        CHECK(e.path == NULL && e.lock_fd == -1);
        if (!strstr(msg.msg, expect[c]))
            fprintf(stderr, "corruption %d: message \"%s\" lacks \"%s\"\n", c, msg.msg, expect[c]);
        CHECK(strstr(msg.msg, expect[c]) != NULL);
        CHECK(strstr(msg.msg, key) != NULL); /* says which entry */
        CHECK(!exists(path));            /* removed */
        eryx__store_entry_release(&e);
        CHECK(get_status(s, key) == ERYX__STORE_MISS);
        CHECK(put(s, key, p, n) == 0); /* and it can be stored again */
        CHECK(get_status(s, key) == ERYX__STORE_HIT);
        CHECK(unlink(path) == 0);
    }

    /* A valid entry copied to another key's name: its trailer names the first key. */
    char opath[512];
    entry_path(dir, other, opath);
    CHECK(put(s, key, p, n) == 0);
    copy_file(path, opath);
    eryx__store_entry e;
    CHECK(eryx__store_get(s, other, &e, &msg) == ERYX__STORE_CORRUPT);
    CHECK(strstr(msg.msg, "trailer is for key") != NULL);
    CHECK(!exists(opath));
    CHECK(get_status(s, key) == ERYX__STORE_HIT); /* the original is untouched */
    CHECK(put(s, other, p, n) == 0);
    CHECK(get_status(s, other) == ERYX__STORE_HIT);

    /* A symlink planted under an entry's name is not followed, just removed. */
    char target[512];
    snprintf(target, sizeof target, "%s/target", dir);
    copy_file(path, target);
    CHECK(unlink(opath) == 0);
    CHECK(symlink(target, opath) == 0);
    CHECK(eryx__store_get(s, other, &e, &msg) == ERYX__STORE_CORRUPT);
    CHECK(!exists(opath) && exists(target));

    /* A directory under an entry's name: an error (not removable), not a crash. */
    CHECK(mkdir(opath, 0700) == 0);
    CHECK(eryx__store_get(s, other, &e, &msg) == ERYX__STORE_ERROR);
    CHECK(strstr(msg.msg, "not a regular file") != NULL);
    CHECK(rmdir(opath) == 0);

    /* verify: checks all entries, removes and reports the bad ones, skips others. */
    char k3[65], p3[512], junk[512];
    make_key(12, k3);
    entry_path(dir, k3, p3);
    CHECK(put(s, other, p, n) == 0);
    CHECK(put(s, k3, p, 100) == 0);
    flip(p3, 5);
    snprintf(junk, sizeof junk, "%s/modules/README", dir);
    copy_file(path, junk);
    size_t checked = 0, bad = 0;
    CHECK(eryx__store_verify(s, NULL, NULL, &checked, &bad, &msg) == 0);
    CHECK(checked == 3 && bad == 1);
    CHECK(!exists(p3) && exists(path) && exists(opath) && exists(junk));
    CHECK(eryx__store_verify(s, NULL, NULL, &checked, &bad, &msg) == 0);
    CHECK(checked == 2 && bad == 0);

    eryx__store_close(s);
    free(p);
    rm_rf(dir);
}

static int reported;
static char reported_key[65];
static void on_bad(void *user, const char *key, const char *problem) {
    (void)problem;
    *(int *)user += 1;
    reported++;
    snprintf(reported_key, sizeof reported_key, "%s", key);
}

static void test_verify_report(void) {
    char dir[256], key[65], path[512];
    eryx__errbuf msg;
    make_tmpdir(dir);
    make_key(20, key);
    eryx__store *s = open_store(dir, 0, 0);
    CHECK(s != NULL);
    if (!s) return;
    unsigned char *p = make_payload(1000, 4);
    CHECK(put(s, key, p, 1000) == 0);
    entry_path(dir, key, path);
    CHECK(truncate(path, 500) == 0);
    int calls = 0;
    size_t checked = 0, bad = 0;
    CHECK(eryx__store_verify(s, on_bad, &calls, &checked, &bad, &msg) == 0);
    CHECK(calls == 1 && reported == 1 && checked == 1 && bad == 1);
    CHECK_STR_EQ(reported_key, key);
    CHECK(!exists(path));
    eryx__store_close(s);
    free(p);
    rm_rf(dir);
}

/* ---- LRU eviction ---------------------------------------------------------------------- */

static void test_lru(bool by_bytes) {
    char dir[256], a[65], b[65], c[65], pa[512], pb[512], pc[512];
    make_tmpdir(dir);
    make_key(30, a);
    make_key(31, b);
    make_key(32, c);
    entry_path(dir, a, pa);
    entry_path(dir, b, pb);
    entry_path(dir, c, pc);
    size_t n = 10000;
    uint64_t esize = n + TRAILER;
    eryx__store *s = by_bytes ? open_store(dir, 2 * esize + esize / 2, 0) : open_store(dir, 0, 2);
    CHECK(s != NULL);
    if (!s) return;
    unsigned char *p = make_payload(n, 5);
    CHECK(put(s, a, p, n) == 0);
    set_age(pa, 300);
    CHECK(put(s, b, p, n) == 0);
    set_age(pb, 200);
    CHECK(get_status(s, a) == ERYX__STORE_HIT); /* a becomes the most recent */
    CHECK(put(s, c, p, n) == 0);
    CHECK(exists(pa) && !exists(pb) && exists(pc));
    CHECK(get_status(s, b) == ERYX__STORE_MISS);

    /* In use (held by an entry of ours): skipped even as the oldest. */
    eryx__store_entry e;
    eryx__errbuf msg;
    CHECK(eryx__store_get(s, a, &e, &msg) == ERYX__STORE_HIT);
    set_age(pa, 1000);
    set_age(pc, 500);
    CHECK(put(s, b, p, n) == 0); /* 3 entries: a (oldest, in use) stays, c goes */
    CHECK(exists(pa) && exists(pb) && !exists(pc));
    CHECK(file_has_payload(e.path, p, n));
    eryx__store_entry_release(&e);

    /* A single entry over max_bytes is kept: never evict the entry just written. */
    eryx__store *tiny = open_store(dir, 10, 0);
    CHECK(tiny != NULL);
    if (tiny) {
        CHECK(put(tiny, c, p, n) == 0);
        CHECK(exists(pc) && !exists(pa) && !exists(pb));
        CHECK(get_status(tiny, c) == ERYX__STORE_HIT);
        eryx__store_close(tiny);
    }
    eryx__store_close(s);
    free(p);
    rm_rf(dir);
}

/* A child that holds LOCK_SH on path until the parent closes its pipe. */
static pid_t hold_in_child(const char *path, int *release_fd) {
    int ready[2], release[2];
    if (pipe(ready) != 0 || pipe(release) != 0) abort();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        close(release[1]);
        int fd = open(path, O_RDONLY);
        if (fd < 0 || flock(fd, LOCK_SH) != 0) _exit(2);
        if (write(ready[1], "x", 1) != 1) _exit(3);
        char ch;
        while (read(release[0], &ch, 1) > 0) {
        }
        _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    char ch;
    if (read(ready[0], &ch, 1) != 1) abort();
    close(ready[0]);
    *release_fd = release[1];
    return pid;
}

static bool child_ok(pid_t pid) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return false;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "child %d: status %#x\n", (int)pid, (unsigned)status);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_prune_clear_in_use(void) {
    char dir[256], a[65], b[65], c[65], pa[512], pb[512], pc[512];
    eryx__errbuf msg;
    make_tmpdir(dir);
    make_key(40, a);
    make_key(41, b);
    make_key(42, c);
    entry_path(dir, a, pa);
    entry_path(dir, b, pb);
    entry_path(dir, c, pc);
    eryx__store *s = open_store(dir, 0, 0);
    CHECK(s != NULL);
    if (!s) return;
    size_t n = 2000;
    unsigned char *p = make_payload(n, 6);
    CHECK(put(s, a, p, n) == 0);
    CHECK(put(s, b, p, n) == 0);
    CHECK(put(s, c, p, n) == 0);
    set_age(pa, 300);
    set_age(pb, 200);
    set_age(pc, 100);

    int release = -1;
    pid_t child = hold_in_child(pa, &release); /* another process uses a */
    eryx__store_info *info = NULL;
    size_t count = 0;
    CHECK(eryx__store_list(s, &info, &count, &msg) == 0 && count == 3);
    if (count == 3) CHECK(info[2].in_use && !info[0].in_use && !info[1].in_use);
    free(info);

    size_t removed = 99;
    uint64_t freed = 99;
    CHECK(eryx__store_prune(s, (eryx__store_limits){0, 0}, &removed, &freed, &msg) == 0);
    CHECK(removed == 0 && freed == 0); /* no limits: nothing to do */
    CHECK(eryx__store_prune(s, (eryx__store_limits){0, 1}, &removed, &freed, &msg) == 0);
    CHECK(removed == 2 && freed == 2 * (n + TRAILER)); /* b and c; a is in use */
    CHECK(exists(pa) && !exists(pb) && !exists(pc));

    CHECK(put(s, b, p, n) == 0);
    CHECK(put(s, c, p, 10) == 0);
    set_age(pb, 50); /* explicit: two puts may share a timestamp tick */
    set_age(pc, 10);
    CHECK(eryx__store_prune(s, (eryx__store_limits){n + TRAILER + 10 + TRAILER, 0}, &removed, &freed,
                            &msg) == 0);
    CHECK(removed == 1 && freed == n + TRAILER); /* b (oldest of the unused), keeping a and c */
    CHECK(exists(pa) && !exists(pb) && exists(pc));

    CHECK(put(s, b, p, n) == 0);
    CHECK(eryx__store_clear(s, &removed, &freed, &msg) == 0);
    CHECK(removed == 2 && freed == n + TRAILER + 10 + TRAILER);
    CHECK(exists(pa) && !exists(pb) && !exists(pc));
    CHECK(get_status(s, a) == ERYX__STORE_HIT); /* a shared lock coexists with the child's */

    close(release);
    CHECK(child_ok(child));
    CHECK(eryx__store_clear(s, &removed, &freed, &msg) == 0);
    CHECK(removed == 1 && freed == n + TRAILER);
    CHECK(count_files(dir, "modules", NULL) == 0);
    CHECK(eryx__store_list(s, &info, &count, &msg) == 0 && count == 0);
    free(info);

    /* Held through an eryx__store_entry in this process: clear skips it too. */
    CHECK(put(s, a, p, n) == 0);
    eryx__store_entry e;
    CHECK(eryx__store_get(s, a, &e, &msg) == ERYX__STORE_HIT);
    CHECK(eryx__store_clear(s, &removed, &freed, &msg) == 0 && removed == 0 && exists(pa));
    eryx__store_entry_release(&e);
    CHECK(eryx__store_clear(s, &removed, &freed, &msg) == 0 && removed == 1 && !exists(pa));

    eryx__store_close(s);
    free(p);
    rm_rf(dir);
}

/* ---- concurrency ----------------------------------------------------------------------- */

static int child_build(const char *dir, const char *markers, const char *key, int go_fd) {
    char ch;
    if (read(go_fd, &ch, 1) < 0) return 10; /* wait for the start (EOF) */
    eryx__store *s = open_store(dir, 0, 0);
    if (!s) return 11;
    eryx__errbuf msg;
    int lock = -1;
    (void)eryx__store_lock_key(s, key, &lock, &msg);
    if (lock < 0) return 12;
    eryx__store_result r = get_status(s, key);
    if (r == ERYX__STORE_MISS) {
        char m[512];
        snprintf(m, sizeof m, "%s/built.%ld", markers, (long)getpid());
        int fd = open(m, O_CREAT | O_EXCL | O_WRONLY, 0600);
        if (fd < 0) return 13;
        close(fd);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        unsigned char *p = make_payload(50000, 7);
        int rc = eryx__store_put(s, key, p, 50000, &msg);
        free(p);
        if (rc != 0) return 14;
    } else if (r != ERYX__STORE_HIT) {
        return 15;
    }
    eryx__store_unlock(lock);
    eryx__store_entry e;
    if (eryx__store_get(s, key, &e, &msg) != ERYX__STORE_HIT || e.payload_len != 50000) return 16;
    eryx__store_entry_release(&e);
    eryx__store_close(s);
    return 0;
}

static void test_processes_build_once(void) {
    char dir[256], cache[300], markers[300], key[65];
    make_tmpdir(dir);
    snprintf(cache, sizeof cache, "%s/cache", dir);
    snprintf(markers, sizeof markers, "%s/markers", dir);
    CHECK(mkdir(markers, 0700) == 0);
    make_key(50, key);
    int go[2];
    CHECK(pipe(go) == 0);
    pid_t kids[4];
    fflush(NULL);
    for (int i = 0; i < 4; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            close(go[1]);
            _exit(child_build(cache, markers, key, go[0]));
        }
    }
    close(go[0]);
    close(go[1]); /* all start together */
    for (int i = 0; i < 4; i++) CHECK(kids[i] > 0 && child_ok(kids[i]));
    CHECK(count_files(dir, "markers", "built.") == 1);
    CHECK(count_files(cache, "modules", ".tmp.") == 0);
    rm_rf(dir);
}

typedef struct {
    eryx__store *s;
    char key[65];
    int rounds;
    size_t len;
    atomic_int *failures;
} thread_arg;

static void *thread_put(void *v) {
    thread_arg *a = v;
    unsigned char *p = make_payload(a->len, 8);
    eryx__errbuf msg;
    for (int i = 0; i < a->rounds; i++) {
        if (eryx__store_put(a->s, a->key, p, a->len, &msg) != 0) {
            fprintf(stderr, "thread put: %s\n", msg.msg);
            atomic_fetch_add(a->failures, 1);
        }
    }
    free(p);
    return NULL;
}

static void *thread_get(void *v) {
    thread_arg *a = v;
    eryx__errbuf msg;
    for (int i = 0; i < a->rounds; i++) {
        eryx__store_entry e;
        eryx__store_result r = eryx__store_get(a->s, a->key, &e, &msg);
        if (r == ERYX__STORE_HIT && e.payload_len != a->len) r = ERYX__STORE_ERROR;
        if (r != ERYX__STORE_HIT && r != ERYX__STORE_MISS) {
            fprintf(stderr, "thread get: %d %s\n", (int)r, msg.msg);
            atomic_fetch_add(a->failures, 1);
        }
        eryx__store_entry_release(&e);
    }
    return NULL;
}

static void test_threads(void) {
    char dir[256];
    make_tmpdir(dir);
    eryx__store *s = open_store(dir, 0, 0);
    CHECK(s != NULL);
    if (!s) return;
    atomic_int failures;
    atomic_init(&failures, 0);
    pthread_t t[4];
    thread_arg args[4];

    /* Different keys at once. */
    for (int i = 0; i < 4; i++) {
        args[i] = (thread_arg){s, "", 20, 20000 + (size_t)i, &failures};
        make_key(60 + i, args[i].key);
        CHECK(pthread_create(&t[i], NULL, thread_put, &args[i]) == 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    CHECK(atomic_load(&failures) == 0);
    for (int i = 0; i < 4; i++) CHECK(get_status(s, args[i].key) == ERYX__STORE_HIT);
    CHECK(count_files(dir, "modules", ".tmp.") == 0);

    /* One key: two writers, two readers; a reader never sees a half-written entry. */
    char key[65];
    make_key(70, key);
    for (int i = 0; i < 4; i++) {
        args[i] = (thread_arg){s, "", 30, 30000, &failures};
        memcpy(args[i].key, key, sizeof key);
        CHECK(pthread_create(&t[i], NULL, i < 2 ? thread_put : thread_get, &args[i]) == 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    CHECK(atomic_load(&failures) == 0);
    char path[512];
    entry_path(dir, key, path);
    eryx__store_entry e;
    eryx__errbuf msg;
    CHECK(eryx__store_get(s, key, &e, &msg) == ERYX__STORE_HIT && e.payload_len == 30000);
    eryx__store_entry_release(&e);
    unsigned char *p = make_payload(30000, 8);
    CHECK(file_has_payload(path, p, 30000));
    free(p);
    CHECK(count_files(dir, "modules", ".tmp.") == 0);

    /* Concurrent puts under a tight limit evict each other without damage. */
    eryx__store *small = open_store(dir, 0, 3);
    CHECK(small != NULL);
    if (small) {
        for (int i = 0; i < 4; i++) {
            args[i] = (thread_arg){small, "", 15, 1000, &failures};
            make_key(80 + i, args[i].key);
            CHECK(pthread_create(&t[i], NULL, thread_put, &args[i]) == 0);
        }
        for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
        CHECK(atomic_load(&failures) == 0);
        CHECK(count_files(dir, "modules", ".cwasm") <= 3);
        size_t checked = 0, bad = 0;
        CHECK(eryx__store_verify(small, NULL, NULL, &checked, &bad, &msg) == 0 && bad == 0);
        eryx__store_close(small);
    }
    eryx__store_close(s);
    rm_rf(dir);
}

typedef struct {
    eryx__store *s;
    const char *key;
    atomic_int got;
} lock_arg;

static void *thread_lock(void *v) {
    lock_arg *a = v;
    eryx__errbuf msg;
    int fd = -1;
    (void)eryx__store_lock_key(a->s, a->key, &fd, &msg);
    atomic_store(&a->got, fd >= 0 ? 1 : -1);
    eryx__store_unlock(fd);
    return NULL;
}

static void test_lock_between_threads(void) {
    char dir[256], key[65];
    eryx__errbuf msg;
    make_tmpdir(dir);
    make_key(90, key);
    eryx__store *s = open_store(dir, 0, 0);
    CHECK(s != NULL);
    if (!s) return;
    int fd = -1;
    (void)eryx__store_lock_key(s, key, &fd, &msg);
    CHECK(fd >= 0);
    lock_arg a = {s, key, 0};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_lock, &a) == 0);
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    CHECK(atomic_load(&a.got) == 0); /* still waiting */
    eryx__store_unlock(fd);
    pthread_join(t, NULL);
    CHECK(atomic_load(&a.got) == 1);
    eryx__store_unlock(-1);
    char lock_path[512];
    snprintf(lock_path, sizeof lock_path, "%s/locks/%s.lock", dir, key);
    CHECK(exists(lock_path)); /* lock files stay */
    eryx__store_close(s);
    rm_rf(dir);
}

/* ---- a builder that crashed ------------------------------------------------------------ */

static void test_crashed_builder(void) {
    char dir[256], key[65], stale[512], fresh[512], locked[512], junk[512], junk2[512];
    eryx__errbuf msg;
    make_tmpdir(dir);
    make_key(100, key);
    eryx__store *s = open_store(dir, 0, 0);
    CHECK(s != NULL);
    if (!s) return;
    snprintf(stale, sizeof stale, "%s/modules/%s.cwasm.tmp.99999.0", dir, key);
    snprintf(fresh, sizeof fresh, "%s/modules/%s.cwasm.tmp.99999.1", dir, key);
    snprintf(locked, sizeof locked, "%s/modules/%s.cwasm.tmp.99999.2", dir, key);
    snprintf(junk, sizeof junk, "%s/modules/notes.txt", dir);
    snprintf(junk2, sizeof junk2, "%s/modules/abc.cwasm.tmp.1.1", dir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        eryx__store *cs = open_store(dir, 0, 0);
        if (!cs) _exit(1);
        int fd = -1;
        (void)eryx__store_lock_key(cs, key, &fd, &msg);
        if (fd < 0) _exit(2);
        FILE *f = fopen(stale, "wb"); /* half an entry, never renamed */
        if (!f) _exit(3);
        fputs("partial", f);
        fclose(f);
        _exit(0); /* dies holding the lock */
    }
    CHECK(pid > 0 && child_ok(pid));
    set_age(stale, 120);
    FILE *f;
    const char *others[] = {fresh, locked, junk, junk2};
    for (int i = 0; i < 4; i++) {
        f = fopen(others[i], "wb");
        CHECK(f != NULL);
        if (f) fclose(f);
    }
    set_age(locked, 120);
    set_age(junk, 120);
    set_age(junk2, 120);
    int writer = open(locked, O_RDONLY); /* a slow writer that is still alive */
    CHECK(writer >= 0 && flock(writer, LOCK_EX) == 0);

    alarm(10); /* a stuck lock would hang here: the alarm kills the test instead */
    int fd = -1;
    (void)eryx__store_lock_key(s, key, &fd, &msg);
    alarm(0);
    CHECK(fd >= 0);
    eryx__store_unlock(fd);

    size_t checked = 9, bad = 9;
    CHECK(eryx__store_verify(s, NULL, NULL, &checked, &bad, &msg) == 0);
    CHECK(checked == 0 && bad == 0);
    CHECK(!exists(stale));
    CHECK(exists(fresh));  /* too young: its writer may be at work */
    CHECK(exists(locked)); /* its writer holds it */
    CHECK(exists(junk) && exists(junk2));
    close(writer);
    size_t removed = 0;
    uint64_t freed = 0;
    CHECK(eryx__store_clear(s, &removed, &freed, &msg) == 0);
    CHECK(removed == 0 && !exists(locked) && exists(fresh) && exists(junk) && exists(junk2));

    /* A later put cleans up after a crashed writer too. */
    f = fopen(stale, "wb");
    CHECK(f != NULL);
    if (f) fclose(f);
    set_age(stale, 120);
    unsigned char p[8] = {1};
    CHECK(put(s, key, p, sizeof p) == 0);
    CHECK(!exists(stale) && exists(fresh));
    eryx__store_close(s);
    rm_rf(dir);
}

/* ---- read-only, missing and impossible dirs ------------------------------------------- */

static void chmod_tree(const char *path, mode_t dmode, mode_t fmode, bool chown_dirs) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *de;
            while ((de = readdir(d)) != NULL) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
                char sub[1024];
                snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
                chmod_tree(sub, dmode, fmode, chown_dirs);
            }
            closedir(d);
        }
        if (chown_dirs && chown(path, 65534, 65534) != 0) abort();
        if (chmod(path, dmode) != 0) abort();
    } else if (S_ISREG(st.st_mode)) {
        if (chmod(path, fmode) != 0) abort();
    }
}

/* In the child: as root, first become nobody, for whom the bits do apply. */
static int read_only_child(const char *cache, const char *empty, const char *key, const char *missing) {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) return 20;
    eryx__errbuf msg;
    eryx__store *s = open_store(cache, 0, 0);
    CHECK(s != NULL); /* a read-only dir is still usable for hits */
    if (!s) return 21;
    eryx__store_entry e;
    CHECK(eryx__store_get(s, key, &e, &msg) == ERYX__STORE_HIT); /* the touch fails, ignored */
    CHECK(e.payload_len == 1234 && e.lock_fd >= 0);
    eryx__store_entry_release(&e);
    CHECK(eryx__store_get(s, missing, &e, &msg) == ERYX__STORE_MISS);
    unsigned char p[10] = {0};
    CHECK(eryx__store_put(s, missing, p, sizeof p, &msg) == ERYX_ERR_IO);
    CHECK(strstr(msg.msg, "read-only") != NULL);
    int no_fd;
    CHECK(eryx__store_lock_key(s, key, &no_fd, &msg) == ERYX_ERR_IO && no_fd == -1);
    CHECK(strstr(msg.msg, "read-only") != NULL);
    eryx__store_info *info = NULL;
    size_t count = 0;
    CHECK(eryx__store_list(s, &info, &count, &msg) == 0 && count == 1);
    free(info);
    size_t checked = 0, bad = 0;
    CHECK(eryx__store_verify(s, NULL, NULL, &checked, &bad, &msg) == 0 && checked == 1 && bad == 0);
    size_t removed = 0;
    uint64_t freed = 0;
    CHECK(eryx__store_clear(s, &removed, &freed, &msg) == ERYX_ERR_IO && strstr(msg.msg, "read-only"));
    eryx__store_close(s);

    /* Read-only and empty (no modules/ in it): opens, everything misses. */
    s = open_store(empty, 0, 0);
    CHECK(s != NULL);
    if (s) {
        CHECK(eryx__store_get(s, key, &e, &msg) == ERYX__STORE_MISS);
        CHECK(eryx__store_list(s, &info, &count, &msg) == 0 && count == 0);
        free(info);
        eryx__store_close(s);
    }

    /* Not readable at all: refused. */
    eryx__errbuf err;
    char unreadable[512];
    snprintf(unreadable, sizeof unreadable, "%s/../noaccess", cache);
    s = eryx__store_open(unreadable, (eryx__store_limits){0, 0}, &err);
    CHECK(s == NULL && err.msg[0] != '\0');
    eryx__store_close(s);
    return check_failures ? 1 : 0;
}

static void test_read_only(void) {
    char dir[256], cache[300], empty[300], noaccess[300], key[65], missing[65];
    make_tmpdir(dir);
    CHECK(chmod(dir, 0755) == 0); /* nobody must reach the subdirs */
    snprintf(cache, sizeof cache, "%s/cache", dir);
    snprintf(empty, sizeof empty, "%s/empty", dir);
    snprintf(noaccess, sizeof noaccess, "%s/noaccess", dir);
    make_key(110, key);
    make_key(111, missing);
    eryx__store *s = open_store(cache, 0, 0);
    CHECK(s != NULL);
    if (!s) return;
    unsigned char *p = make_payload(1234, 9);
    CHECK(put(s, key, p, 1234) == 0);
    eryx__store_close(s);
    free(p);
    CHECK(mkdir(empty, 0700) == 0 && mkdir(noaccess, 0700) == 0);

    bool root = geteuid() == 0;
    if (root)
        printf("test_store: running as root: the read-only case runs in a child as uid 65534\n");
    /* Dirs 0500; files readable but (as root, owned by root) not touchable by nobody. */
    chmod_tree(cache, 0500, 0444, root);
    chmod_tree(empty, 0500, 0444, root);
    CHECK(chmod(noaccess, 0) == 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) _exit(read_only_child(cache, empty, key, missing));
    CHECK(pid > 0 && child_ok(pid));
    rm_rf(dir);
}

static void test_open_paths(void) {
    char dir[256], deep[400], file[300], under[400];
    eryx__errbuf err;
    make_tmpdir(dir);
    snprintf(deep, sizeof deep, "%s/a/b/c", dir);
    eryx__store *s = eryx__store_open(deep, (eryx__store_limits){0, 0}, &err);
    CHECK(s != NULL);
    struct stat st;
    CHECK(stat(deep, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 077) == 0);
    char sub[500];
    snprintf(sub, sizeof sub, "%s/modules", deep);
    CHECK(stat(sub, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 077) == 0);
    snprintf(sub, sizeof sub, "%s/locks", deep);
    CHECK(stat(sub, &st) == 0 && S_ISDIR(st.st_mode));
    eryx__store_close(s);

    snprintf(file, sizeof file, "%s/file", dir);
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (f) fclose(f);
    snprintf(under, sizeof under, "%s/sub", file);
    err.msg[0] = '\0';
    s = eryx__store_open(under, (eryx__store_limits){0, 0}, &err);
    CHECK(s == NULL);
    CHECK(strstr(err.msg, under) != NULL && strstr(err.msg, "Not a directory") != NULL);
    err.msg[0] = '\0';
    s = eryx__store_open(file, (eryx__store_limits){0, 0}, &err); /* a file, not a dir */
    CHECK(s == NULL && err.msg[0] != '\0');
    err.msg[0] = '\0';
    s = eryx__store_open(NULL, (eryx__store_limits){0, 0}, &err);
    CHECK(s == NULL && err.msg[0] != '\0');
    s = eryx__store_open("", (eryx__store_limits){0, 0}, &err);
    CHECK(s == NULL);
    s = eryx__store_open(under, (eryx__store_limits){0, 0}, NULL); /* no message buffer: fine */
    CHECK(s == NULL);
    rm_rf(dir);
}

/* ---- disk full --------------------------------------------------------------------------- */

static void test_disk_full(void) {
    char dir[256], k1[65], k2[65], p2[512];
    eryx__errbuf msg;
    make_tmpdir(dir);
    make_key(120, k1);
    make_key(121, k2);
    eryx__store *s = open_store(dir, 0, 0);
    CHECK(s != NULL);
    if (!s) return;
    size_t n = 100000;
    unsigned char *p = make_payload(n, 10);
    CHECK(put(s, k1, p, n) == 0);
    entry_path(dir, k2, p2);

    eryx__store_inject_write_fault(s, 1000, ENOSPC);
    CHECK(eryx__store_put(s, k2, p, n, &msg) == ERYX_ERR_IO);
    CHECK(strstr(msg.msg, "No space left") != NULL && strstr(msg.msg, "disk full") != NULL);
    CHECK(strstr(msg.msg, "eryx cache prune") != NULL);
    CHECK(count_files(dir, "modules", ".tmp.") == 0);
    CHECK(!exists(p2));
    CHECK(get_status(s, k1) == ERYX__STORE_HIT);
    CHECK(get_status(s, k2) == ERYX__STORE_MISS);

    /* In the trailer, and right away. */
    eryx__store_inject_write_fault(s, n + 50, ENOSPC);
    CHECK(eryx__store_put(s, k2, p, n, &msg) == ERYX_ERR_IO && !exists(p2));
    eryx__store_inject_write_fault(s, 0, EIO);
    CHECK(eryx__store_put(s, k2, p, n, &msg) == ERYX_ERR_IO);
    CHECK(strstr(msg.msg, "Input/output error") != NULL);
    CHECK(count_files(dir, "modules", ".tmp.") == 0);

    eryx__store_inject_write_fault(s, 0, 0); /* off */
    CHECK(put(s, k2, p, n) == 0);
    CHECK(get_status(s, k2) == ERYX__STORE_HIT && get_status(s, k1) == ERYX__STORE_HIT);

    /* Per handle: another handle on the same dir is unaffected. */
    eryx__store *other = open_store(dir, 0, 0);
    eryx__store_inject_write_fault(s, 0, ENOSPC);
    CHECK(other && put(other, k1, p, n) == 0);
    eryx__store_close(other);
    eryx__store_close(s);
    free(p);
    rm_rf(dir);
}

/* ---- hostile keys ------------------------------------------------------------------------ */

static void test_hostile_keys(void) {
    char dir[256], good[65], upper[65], k63[64], k65[66], slash[65], nl[65];
    eryx__errbuf msg;
    make_tmpdir(dir);
    char cache[300];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    eryx__store *s = open_store(cache, 0, 0);
    CHECK(s != NULL);
    if (!s) return;
    make_key(130, good);
    memcpy(upper, good, sizeof upper);
    for (int i = 0; i < 64; i++)
        if (upper[i] >= 'a' && upper[i] <= 'f') upper[i] = (char)(upper[i] - 'a' + 'A');
    memcpy(k63, good, 63);
    k63[63] = '\0';
    memcpy(k65, good, 64);
    k65[64] = 'a';
    k65[65] = '\0';
    memcpy(slash, good, sizeof slash);
    slash[10] = '/';
    memcpy(nl, good, sizeof nl);
    nl[63] = '\n';
    const char *keys[] = {"../x", "../../../../../../tmp/eryx_evil", upper, k63, k65, slash, nl, "", NULL,
                          "..",   "/etc/passwd"};
    unsigned char p[16] = {0};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        eryx__store_entry e;
        msg.msg[0] = '\0';
        CHECK(eryx__store_get(s, keys[i], &e, &msg) == ERYX__STORE_ERROR);
        CHECK(strstr(msg.msg, "invalid cache key") != NULL);
        CHECK(e.path == NULL && e.lock_fd == -1);
        msg.msg[0] = '\0';
        CHECK(eryx__store_put(s, keys[i], p, sizeof p, &msg) == ERYX_ERR_INVALID_ARGUMENT);
        CHECK(strstr(msg.msg, "invalid cache key") != NULL);
        int no_fd;
        CHECK(eryx__store_lock_key(s, keys[i], &no_fd, &msg) == ERYX_ERR_INVALID_ARGUMENT && no_fd == -1);
    }
    CHECK(count_files(cache, "modules", NULL) == 0);
    CHECK(count_files(cache, "locks", NULL) == 0);
    CHECK(count_files(dir, ".", NULL) == 1); /* just cache/ */
    CHECK(!exists("/tmp/eryx_evil.cwasm") && !exists("/tmp/eryx_evil"));
    /* Bad arguments beyond the key. */
    CHECK(eryx__store_put(s, good, NULL, 5, &msg) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx__store_get(s, good, NULL, &msg) == ERYX__STORE_ERROR);
    eryx__store_close(s);
    rm_rf(dir);
}

int main(void) {
    test_basic();
    test_corruption();
    test_verify_report();
    test_lru(false);
    test_lru(true);
    test_prune_clear_in_use();
    test_processes_build_once();
    test_threads();
    test_lock_between_threads();
    test_crashed_builder();
    test_read_only();
    test_open_paths();
    test_disk_full();
    test_hostile_keys();
    return check_report("test_store");
}
