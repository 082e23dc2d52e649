/* Unit test: the disk tier of the artifact cache (src/cache/store*.c): read-only,
** missing and impossible dirs, a full disk. Each test works in its own mkdtemp dir
** under /tmp and removes it. The read-only case runs in a forked child that reports
** through its exit status (its own CHECK failures, printed). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "store_util.h"

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
    if (root) printf("test_store_env: running as root: the read-only case runs in a child as uid 65534\n");
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

int main(void) {
    test_read_only();
    test_open_paths();
    test_disk_full();
    return check_report("test_store_env");
}
