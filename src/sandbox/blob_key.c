/* Blob keys and MACs; see blob_key.h. Holds the process's key (the only state). */
#define _GNU_SOURCE /* getrandom */
#include "blob_key.h"
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../common/process_state.h"

int eryx__blob_key_set(eryx__blob_key *k, const void *key, size_t len) {
    memset(k, 0, sizeof *k);
    if (len <= ERYX__BLOB_KEY_BLOCK) {
        if (len) memcpy(k->bytes, key, len);
        k->len = len;
        return 0;
    }
    unsigned int n = 0;
    if (!EVP_Digest(key, len, k->bytes, &n, EVP_sha256(), NULL)) return -1;
    k->len = n;
    return 0;
}

int eryx__blob_mac(const eryx__blob_key *key, const uint8_t *data, size_t len, uint8_t out[ERYX__BLOB_MAC]) {
    unsigned int n = 0;
    return HMAC(EVP_sha256(), key->bytes, (int)key->len, data, len, out, &n) && n == ERYX__BLOB_MAC ? 0 : -1;
}

int eryx__blob_mac_check(const eryx__blob_key *key, const uint8_t *data, size_t len,
                         const uint8_t mac[ERYX__BLOB_MAC]) {
    uint8_t want[ERYX__BLOB_MAC];
    if (eryx__blob_mac(key, data, len, want) != 0) return -1;
    return CRYPTO_memcmp(want, mac, ERYX__BLOB_MAC) == 0;
}

static int random_bytes(uint8_t *k, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(k + got, n - got, 0);
        if (r < 0 && errno != EINTR) return -1;
        if (r > 0) got += (size_t)r;
    }
    return 0;
}

/* The process's key. Holds no memory; eryx_shutdown keeps it (blobs made before
** stay valid). A fork's child inherits it. */
ERYX__PROCESS_STATE static struct {
    pthread_mutex_t lock;
    atomic_bool ready;
    eryx__blob_key key;
} eryx__process_key = {.lock = PTHREAD_MUTEX_INITIALIZER};

int eryx__blob_process_key(eryx__blob_key *out) {
    if (!atomic_load_explicit(&eryx__process_key.ready, memory_order_acquire)) {
        pthread_mutex_lock(&eryx__process_key.lock);
        if (!atomic_load_explicit(&eryx__process_key.ready, memory_order_relaxed)) {
            uint8_t k[32];
            if (random_bytes(k, sizeof k) == 0 && eryx__blob_key_set(&eryx__process_key.key, k, sizeof k) == 0)
                atomic_store_explicit(&eryx__process_key.ready, true, memory_order_release);
        }
        pthread_mutex_unlock(&eryx__process_key.lock);
        if (!atomic_load_explicit(&eryx__process_key.ready, memory_order_acquire)) return -1;
    }
    *out = eryx__process_key.key;
    return 0;
}

/* Reads the key file at dirfd/name: 0, -1 with errno (ENOENT: none yet), or -2 (a
** file that is not a private 32-byte key of this user: never trusted). */
static int read_key(int dirfd, uint8_t k[32]) {
    int fd = openat(dirfd, ERYX__MACHINE_KEY_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    int rc = -2;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() && !(st.st_mode & 077) &&
        st.st_size == 32 && pread(fd, k, 32, 0) == 32)
        rc = 0;
    close(fd);
    return rc;
}

/* Makes the key file: a random key in a temporary file (O_EXCL, 0600), synced,
** then linked to its name (never replacing one). 0, or -1 with errno (EEXIST:
** another process made it first). */
static int make_key(int dirfd) {
    uint8_t k[32];
    char tmp[64];
    if (random_bytes(k, sizeof k) != 0) return -1;
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", ERYX__MACHINE_KEY_FILE, (long)getpid());
    unlinkat(dirfd, tmp, 0); /* a crashed earlier attempt of a process with this pid */
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    int ok = write(fd, k, sizeof k) == (ssize_t)sizeof k && fsync(fd) == 0;
    int e = errno;
    close(fd);
    if (ok && linkat(dirfd, tmp, dirfd, ERYX__MACHINE_KEY_FILE, 0) != 0) ok = 0, e = errno;
    unlinkat(dirfd, tmp, 0);
    errno = e;
    return ok ? 0 : -1;
}

int eryx__blob_machine_key(const char *dir, eryx__blob_key *out, char *why, size_t why_len) {
    if (!dir) {
        snprintf(why, why_len, "the builder has no cache directory");
        return -1;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST && errno != EACCES && errno != EROFS) {
        snprintf(why, why_len, "cannot make %s: %s", dir, strerror(errno));
        return -1;
    }
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        snprintf(why, why_len, "cannot open %s: %s", dir, strerror(errno));
        return -1;
    }
    uint8_t k[32];
    int rc = read_key(dirfd, k);
    if (rc == -1 && errno == ENOENT) {
        if (make_key(dirfd) != 0 && errno != EEXIST) {
            snprintf(why, why_len, "cannot write %s/%s: %s", dir, ERYX__MACHINE_KEY_FILE, strerror(errno));
            close(dirfd);
            return -1;
        }
        rc = read_key(dirfd, k); /* ours, or the one another process linked first */
    }
    close(dirfd);
    if (rc != 0) {
        snprintf(why, why_len, "%s/%s is %s", dir, ERYX__MACHINE_KEY_FILE,
                 rc == -2 ? "not a private 32-byte key file of this user" : "unreadable");
        return -1;
    }
    rc = eryx__blob_key_set(out, k, sizeof k);
    memset(k, 0, sizeof k);
    if (rc != 0) snprintf(why, why_len, "libcrypto failed");
    return rc;
}
