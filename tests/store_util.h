/* Shared by the disk store's test programs (test_store.c: format, corruption, LRU,
** keys; test_store_procs.c: processes and threads; test_store_env.c: read-only,
** missing and full dirs): includes, temp dirs, entry files, and forked children.
** A test program defines _XOPEN_SOURCE 700 (realpath) before including this; each
** program uses only some of these helpers, hence the unused attributes. */
#ifndef ERYX_TEST_STORE_UTIL_H
#define ERYX_TEST_STORE_UTIL_H
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

__attribute__((unused)) static void make_key(int i, char hex[65]) {
    char s[32];
    snprintf(s, sizeof s, "test-key-%d", i);
    if (eryx__sha256_hex(s, strlen(s), hex) != 0) abort();
}

__attribute__((unused)) static unsigned char *make_payload(size_t n, unsigned seed) {
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

__attribute__((unused)) static void make_tmpdir(char out[256]) {
    snprintf(out, 256, "/tmp/eryx_store_test_XXXXXX");
    if (!mkdtemp(out)) abort();
    char *real = realpath(out, NULL); /* the store hands out canonical paths */
    if (!real) abort();
    snprintf(out, 256, "%s", real);
    free(real);
}

__attribute__((unused)) static void rm_rf(const char *path) {
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

__attribute__((unused)) static void entry_path(const char *dir, const char *key, char out[512]) {
    snprintf(out, 512, "%s/modules/%s.cwasm", dir, key);
}

__attribute__((unused)) static bool exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

__attribute__((unused)) static int64_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* Files in dir/sub whose name contains part (NULL: all). */
__attribute__((unused)) static int count_files(const char *dir, const char *sub, const char *part) {
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

__attribute__((unused)) static void set_age(const char *path, int seconds_ago) {
    struct timespec ts[2];
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= seconds_ago;
    ts[1] = ts[0];
    if (utimensat(AT_FDCWD, path, ts, 0) != 0) {
        check_failures++;
        fprintf(stderr, "set_age %s: %s\n", path, strerror(errno));
    }
}

__attribute__((unused)) static eryx__store *open_store(const char *dir, uint64_t max_bytes, uint64_t max_entries) {
    eryx__errbuf err;
    eryx__store_limits lim = {max_bytes, max_entries};
    eryx__store *s = eryx__store_open(dir, lim, &err);
    if (!s) fprintf(stderr, "open %s: %s\n", dir, err.msg);
    return s;
}

__attribute__((unused)) static int put(eryx__store *s, const char *key, const unsigned char *p, size_t n) {
    eryx__errbuf msg;
    int rc = eryx__store_put(s, key, p, n, &msg);
    if (rc != 0) fprintf(stderr, "put: %s\n", msg.msg);
    return rc;
}

__attribute__((unused)) static eryx__store_result get_status(eryx__store *s, const char *key) {
    eryx__errbuf msg;
    eryx__store_entry e;
    eryx__store_result r = eryx__store_get(s, key, &e, &msg);
    eryx__store_entry_release(&e);
    return r;
}

/* The entry at path holds exactly payload, at offset 0. */
__attribute__((unused)) static bool file_has_payload(const char *path, const unsigned char *p, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    unsigned char *buf = malloc(n + 1);
    size_t got = fread(buf, 1, n, f);
    bool ok = got == n && memcmp(buf, p, n) == 0;
    free(buf);
    fclose(f);
    return ok;
}

__attribute__((unused)) static void patch(const char *path, off_t off, const void *bytes, size_t n) {
    int fd = open(path, O_WRONLY);
    if (fd < 0 || pwrite(fd, bytes, n, off) != (ssize_t)n) abort();
    close(fd);
}

__attribute__((unused)) static void flip(const char *path, off_t off) {
    int fd = open(path, O_RDWR);
    unsigned char b;
    if (fd < 0 || pread(fd, &b, 1, off) != 1) abort();
    b ^= 0x40;
    if (pwrite(fd, &b, 1, off) != 1) abort();
    close(fd);
}

__attribute__((unused)) static void copy_file(const char *from, const char *to) {
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    if (!a || !b) abort();
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, n, b);
    fclose(a);
    fclose(b);
}

__attribute__((unused)) static uint64_t le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* ---- children ---------------------------------------------------------------------- */

/* A child that holds LOCK_SH on path until the parent closes its pipe. */
__attribute__((unused)) static pid_t hold_in_child(const char *path, int *release_fd) {
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

__attribute__((unused)) static bool child_ok(pid_t pid) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return false;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "child %d: status %#x\n", (int)pid, (unsigned)status);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
#endif
