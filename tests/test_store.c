/* Unit test: the disk tier of the artifact cache (src/cache/store*.c): entries,
** corruption, verify, LRU eviction and hostile keys. Each test works in its own
** mkdtemp dir under /tmp and removes it. The other store tests: test_store_procs.c
** (processes, threads), test_store_env.c (read-only, missing, full dirs). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "store_util.h"

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
        CHECK(info[0].in_use);                                       /* held by e */
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
        "magic",    "magic",    "shorter",  "shorter",  "magic",   "version", "length",
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
        CHECK(!exists(path));                /* removed */
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
    const char *keys[] = {"../x",       "../../../../../../tmp/eryx_evil", upper, k63, k65, slash, nl, "", NULL, "..",
                          "/etc/passwd"};
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
    test_hostile_keys();
    return check_report("test_store");
}
