/* Exported start states are authenticated (eryx_builder_export_snapshot /
** _import_snapshot): forged, re-keyed, damaged, old-format and over-limit blobs
** are refused; a blob of another process on this machine (the machine's key in
** the cache directory) is accepted. Run with "export FILE" it is that other
** process. */
#define _GNU_SOURCE
#define XXH_INLINE_ALL
#include <fcntl.h>
#include <limits.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>
#include "../src/sandbox/blob_key.h"
#include "check.h"
#include "eryx.h"

static const char KEY1[] = "0123456789abcdef0123456789abcdef", KEY2[] = "fedcba9876543210fedcba9876543210";

static eryx_builder *builder(const char *key) {
    eryx_builder *b = eryx_builder_new();
    eryx_builder_add_preimport(b, "json");
    if (key) eryx_builder_set_session_key(b, key, 32);
    return b;
}

static const char *msg(eryx_builder *b) { return eryx_builder_errmsg(b) ? eryx_builder_errmsg(b) : ""; }

static void put_le(uint8_t *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* What someone without the key can make from a real blob: the image changed (one
** byte), recompressed, in a well-formed blob of the old layout (XXH3 recomputed)
** or the new one (a MAC under key). *out is malloc'd. */
static size_t forge(const uint8_t *blob, size_t len, int v1, const char *key, uint8_t **out) {
    int v2 = memcmp(blob, "ERYXSTA2", 8) == 0;
    size_t hdr = v2 ? 20 : 28, idlen = 0, end = v2 ? len - 32 : len;
    for (int i = 0; i < 4; i++) idlen |= (size_t)blob[(v2 ? 8 : 16) + i] << (8 * i);
    unsigned long long size = ZSTD_getFrameContentSize(blob + hdr + idlen, end - hdr - idlen);
    uint8_t *img = malloc(size);
    CHECK(ZSTD_decompress(img, size, blob + hdr + idlen, end - hdr - idlen) == size);
    img[size / 2] ^= 0x5a;
    size_t bound = ZSTD_compressBound(size), nh = v1 ? 28 : 20;
    uint8_t *f = malloc(nh + idlen + bound + 32);
    size_t z = ZSTD_compress(f + nh + idlen, bound, img, size, 1);
    memcpy(f + nh, blob + hdr, idlen);
    memcpy(f, v1 ? "ERYXSTA1" : "ERYXSTA2", 8);
    put_le(f + (v1 ? 16 : 8), idlen, 4);
    put_le(f + (v1 ? 20 : 12), size, 8);
    size_t n = nh + idlen + z;
    if (v1) put_le(f + 8, XXH3_64bits(f + 16, n - 16), 8);
    else {
        unsigned int ml = 0;
        HMAC(EVP_sha256(), key, 32, f, n, f + n, &ml);
        n += 32;
    }
    free(img);
    *out = f;
    return n;
}

static void test_forged_and_other_key(const uint8_t *blob, size_t len) {
    eryx_builder *b = builder(KEY1);
    uint8_t *f = NULL;
    size_t n = forge(blob, len, 1, NULL, &f);
    CHECK(eryx_builder_import_snapshot(b, f, n) == ERYX_ERR_INVALID_ARGUMENT); /* XXH3 recomputed: not enough */
    CHECK(strstr(msg(b), "older eryx") != NULL);
    free(f);
    n = forge(blob, len, 0, KEY2, &f); /* a well-formed blob under another key */
    CHECK(eryx_builder_import_snapshot(b, f, n) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(msg(b), "failed authentication") != NULL);
    free(f);
    n = forge(blob, len, 0, KEY1, &f); /* the control: under the right key it installs */
    CHECK(eryx_builder_import_snapshot(b, f, n) == ERYX_OK);
    free(f);
    eryx_builder_free(b);
    eryx_builder *other = builder(KEY2); /* the real blob, another key */
    CHECK(eryx_builder_import_snapshot(other, blob, len) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(msg(other), "failed authentication") != NULL);
    eryx_builder_free(other);
    eryx_builder *dflt = builder(NULL); /* the machine's key is not KEY1 */
    CHECK(eryx_builder_import_snapshot(dflt, blob, len) == ERYX_ERR_INVALID_ARGUMENT);
    eryx_builder_free(dflt);
}

static void test_flipped_bits(const uint8_t *blob, size_t len) {
    eryx_builder *b = builder(KEY1);
    uint8_t *c = malloc(len);
    size_t at[] = {8, 12, 15, 20, 30, len / 2, len - 33, len - 32, len - 1};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        memcpy(c, blob, len);
        c[at[i]] ^= 0x10;
        CHECK(eryx_builder_import_snapshot(b, c, len) == ERYX_ERR_INVALID_ARGUMENT);
        CHECK(strstr(msg(b), "damaged or forged") != NULL);
    }
    CHECK(eryx_builder_import_snapshot(b, blob, len - 1) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_import_snapshot(b, blob, 40) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_import_snapshot(b, blob, len) == ERYX_OK);
    free(c);
    eryx_builder_free(b);
}

static long vm_hwm_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}

static void test_over_limit(const uint8_t *blob, size_t len) {
    uint64_t size = 0;
    for (int i = 0; i < 8; i++) size |= (uint64_t)blob[12 + i] << (8 * i);
    eryx_builder *b = builder(KEY1);
    eryx_builder_set_max_memory(b, 1 << 20);
    int fd = open("/proc/self/clear_refs", O_WRONLY); /* "5": resets VmHWM to the current RSS */
    CHECK(fd >= 0 && write(fd, "5", 1) == 1);
    if (fd >= 0) close(fd);
    long before = vm_hwm_kb();
    CHECK(eryx_builder_import_snapshot(b, blob, len) == ERYX_ERR_MEMORY_LIMIT);
    long grew = vm_hwm_kb() - before;
    char want[64];
    snprintf(want, sizeof want, "%llu bytes", (unsigned long long)size);
    CHECK(strstr(msg(b), want) != NULL && strstr(msg(b), "1048576 bytes") != NULL);
    CHECK(size > (8u << 20) && grew >= 0 && grew < 4096); /* KiB: the image was never allocated */
    fprintf(stderr, "over-limit import: image %llu bytes, VmHWM grew %ld KiB\n", (unsigned long long)size, grew);
    eryx_builder_free(b);
}

/* The machine's key: made once, 0600, 32 bytes, the same on every use; a file
** others may read, or no directory, is not used. */
static void test_machine_key(void) {
    char dir[] = "/tmp/eryx-statekey-XXXXXX", path[PATH_MAX];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/" ERYX__MACHINE_KEY_FILE, dir);
    eryx__blob_key a, b;
    char why[256];
    CHECK(eryx__blob_machine_key(dir, &a, why, sizeof why) == 0);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == 32);
    CHECK(eryx__blob_machine_key(dir, &b, why, sizeof why) == 0);
    CHECK(a.len == 32 && b.len == 32 && memcmp(a.bytes, b.bytes, 32) == 0);
    chmod(path, 0644);
    CHECK(eryx__blob_machine_key(dir, &b, why, sizeof why) == -1 && strstr(why, "private") != NULL);
    unlink(path);
    CHECK(eryx__blob_machine_key(NULL, &b, why, sizeof why) == -1);
    char missing[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/no/such", dir);
    CHECK(eryx__blob_machine_key(missing, &b, why, sizeof why) == -1);
    rmdir(dir);
}

/* Another process (this program re-run) exports with the default key; this one
** imports it. */
static void test_other_process(const char *self) {
    char path[] = "/tmp/eryx-state-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    pid_t pid = fork();
    if (pid == 0) {
        execl(self, self, "export", path, (char *)NULL);
        _exit(127);
    }
    int ws = 0;
    CHECK(waitpid(pid, &ws, 0) == pid && WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    FILE *f = fopen(path, "rb");
    static uint8_t buf[64 << 20];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    unlink(path);
    CHECK(n > 1000 && memcmp(buf, "ERYXSTA2", 8) == 0);
    eryx_builder *b = builder(NULL);
    CHECK(eryx_builder_import_snapshot(b, buf, n) == ERYX_OK);
    eryx_sandbox *s = NULL;
    CHECK(eryx_sandbox_new(b, &s) == ERYX_OK);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
}

static int export_to(const char *path) {
    eryx_builder *b = builder(NULL);
    void *blob = NULL;
    size_t len = 0;
    int rc = eryx_builder_export_snapshot(b, &blob, &len) == ERYX_OK ? 0 : 1;
    FILE *f = fopen(path, "wb");
    if (!rc && (!f || fwrite(blob, 1, len, f) != len)) rc = 1;
    if (f) fclose(f);
    if (rc) fprintf(stderr, "export: %s\n", msg(b));
    eryx_blob_free(blob);
    eryx_builder_free(b);
    return rc;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "export") == 0) return export_to(argv[2]);
    eryx_builder *b = builder(KEY1);
    void *blob = NULL;
    size_t len = 0;
    CHECK(eryx_builder_export_snapshot(b, &blob, &len) == ERYX_OK);
    CHECK(blob && len > 1000);
    eryx_builder_free(b);
    if (blob) {
        test_forged_and_other_key(blob, len);
        test_flipped_bits(blob, len);
        test_over_limit(blob, len);
    }
    eryx_blob_free(blob);
    test_machine_key();
    test_other_process("/proc/self/exe");
    return check_report("test_state_blob");
}
