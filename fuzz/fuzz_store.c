/* libFuzzer target for the cache store's entry checks (src/cache/store.c): any
** file under an entry's name must come back as HIT with a consistent length, as
** CORRUPT having been removed, or as MISS; never ERROR, never a crash, never a
** read outside the file. The first input byte picks helpers that repair parts of
** the trailer (which a fuzzer cannot find by itself, such as the checksum), so
** the deeper checks and the hit path are reached too; bit 3 runs verify instead
** of get. Build and run: see fuzz/README.md. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "../src/cache/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char key[] = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
/* The harness's own state: one temp dir and one store for the whole run. */
static eryx__store *store;
static char dir[64] = "/tmp/eryx_fuzz_store_XXXXXX";
static char path[256];

static void cleanup(void) {
    eryx__store_close(store);
    char p[512];
    snprintf(p, sizeof p, "%s/modules", dir);
    unlink(path);
    rmdir(p);
    snprintf(p, sizeof p, "%s/locks", dir);
    rmdir(p);
    rmdir(dir);
}

static void init(void) {
    if (store) return;
    eryx__errbuf err;
    if (!mkdtemp(dir)) __builtin_trap();
    store = eryx__store_open(dir, (eryx__store_limits){0, 0}, &err);
    if (!store) __builtin_trap();
    snprintf(path, sizeof path, "%s/modules/%s.cwasm", eryx__store_dir(store), key);
    atexit(cleanup);
}

static void put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    init();
    uint8_t mode = size ? data[0] : 0;
    if (size) {
        data++;
        size--;
    }
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    if (size >= ERYX__STORE_TRAILER_SIZE) {
        uint8_t *t = buf + size - ERYX__STORE_TRAILER_SIZE;
        uint64_t payload = size - ERYX__STORE_TRAILER_SIZE;
        if (mode & 1) { /* magic and version */
            memcpy(t, "ERYXCWSM", 8);
            memcpy(t + 8, "\x01\0\0\0", 4);
        }
        if (mode & 2) { /* length and key */
            put_le64(t + 16, payload);
            memcpy(t + 24, key, 64);
        }
        if (mode & 4) { /* checksum */
            XXH128_hash_t h = XXH3_128bits(buf, payload);
            put_le64(t + 88, h.high64);
            put_le64(t + 96, h.low64);
        }
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) __builtin_trap();
    for (size_t off = 0; off < size;) {
        ssize_t w = write(fd, buf + off, size - off);
        if (w <= 0) __builtin_trap();
        off += (size_t)w;
    }
    close(fd);
    free(buf);

    eryx__errbuf msg;
    struct stat st;
    if (mode & 8) {
        size_t checked = 0, bad = 0;
        if (eryx__store_verify(store, NULL, NULL, &checked, &bad, &msg) != 0) __builtin_trap();
        if (checked != 1 || bad > 1) __builtin_trap();
        if (bad && stat(path, &st) == 0) __builtin_trap(); /* a bad entry is removed */
        return 0;
    }
    eryx__store_entry e;
    eryx__store_result r = eryx__store_get(store, key, &e, &msg);
    switch (r) {
    case ERYX__STORE_HIT:
        if (size < ERYX__STORE_TRAILER_SIZE || e.payload_len != size - ERYX__STORE_TRAILER_SIZE) __builtin_trap();
        if (!e.path || strcmp(e.path, path) != 0 || e.lock_fd < 0) __builtin_trap();
        if (stat(path, &st) != 0 || (uint64_t)st.st_size != size) __builtin_trap();
        break;
    case ERYX__STORE_CORRUPT:
        if (!msg.msg[0] || stat(path, &st) == 0) __builtin_trap(); /* says why; removed */
        if (e.path || e.lock_fd != -1) __builtin_trap();
        break;
    case ERYX__STORE_MISS: break;
    default: __builtin_trap();
    }
    eryx__store_entry_release(&e);
    return 0;
}
