/* Shipping the compiled module (eryx_builder_export_module / _import_module):
** a blob installs into a cold cache (no compile, counted as shipped), then is not
** needed; forged, re-keyed, truncated and other-module blobs are refused before
** anything is loaded; a blob the engine refuses is compiled here instead, with a
** warning; a sandbox runs from a shipped module; eryx_process_counters_get counts. */
#define _GNU_SOURCE
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "eryx.h"

static const char KEY1[] = "0123456789abcdef0123456789abcdef", KEY2[] = "fedcba9876543210fedcba9876543210";
static int warnings_compiling;

static void on_warning(void *user, const char *m) {
    (void)user;
    if (strstr(m, "does not load on this machine")) warnings_compiling++;
}

/* A builder on cache directory dir (NULL: the machine's) with no memory tier, so
** every lookup goes to that directory. */
static eryx_builder *builder(const char *key, const char *dir) {
    eryx_builder *b = eryx_builder_new();
    if (key) eryx_builder_set_session_key(b, key, 32);
    if (dir) eryx_builder_set_cache_dir(b, dir);
    eryx_builder_set_memory_cache(b, NULL);
    eryx_builder_set_warning_handler(b, on_warning, NULL);
    return b;
}

static const char *msg(eryx_builder *b) { return eryx_builder_errmsg(b) ? eryx_builder_errmsg(b) : ""; }

static uint64_t get_le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* blob with its MAC recomputed under key (what the key's holder can make). */
static void resign(uint8_t *blob, size_t len, const char *key) {
    unsigned int ml = 0;
    HMAC(EVP_sha256(), key, 32, blob, len - 32, blob + len - 32, &ml);
}

static char *fresh_dir(void) {
    char *d = strdup("/tmp/eryx-ship-XXXXXX");
    CHECK(d && mkdtemp(d));
    return d;
}

static void rm_rf(const char *d) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    CHECK(system(cmd) == 0);
}

static int runs(eryx_builder *b) {
    eryx_sandbox *s = NULL;
    eryx_result *r = NULL;
    int ok = eryx_sandbox_new(b, &s) == ERYX_OK && eryx_sandbox_execute(s, "print(6*7)", 10, &r) == ERYX_OK;
    size_t n = 0;
    const char *out = ok ? eryx_result_stdout(r, &n) : NULL;
    ok = ok && out && n == 3 && memcmp(out, "42\n", 3) == 0;
    eryx_result_free(r);
    eryx_sandbox_free(s);
    return ok;
}

static void test_refused(const uint8_t *blob, size_t len) {
    char *dir = fresh_dir();
    eryx_builder *b = builder(KEY1, dir);
    eryx_module_import how = ERYX_MODULE_INSTALLED;
    uint8_t *f = malloc(len);
    memcpy(f, blob, len);
    f[len / 2] ^= 0x40; /* one bit of the code: the MAC catches it */
    CHECK(eryx_builder_import_module(b, f, len, &how) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(msg(b), "failed authentication") != NULL);
    CHECK(how == ERYX_MODULE_PRESENT);
    memcpy(f, blob, len);
    resign(f, len, KEY2); /* well-formed under another key */
    CHECK(eryx_builder_import_module(b, f, len, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(msg(b), "failed authentication") != NULL);
    CHECK(eryx_builder_import_module(b, blob, len - 1, NULL) == ERYX_ERR_INVALID_ARGUMENT); /* truncated */
    CHECK(eryx_builder_import_module(b, blob, 10, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(msg(b), "ERYXMOD1") != NULL);
    CHECK(eryx_builder_import_module(b, NULL, 0, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_import_module(b, "ERYXSTA2xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 52, NULL) ==
          ERYX_ERR_INVALID_ARGUMENT);
    /* Signed with the right key but naming another module (another guest build). */
    memcpy(f, blob, len);
    f[12] ^= 0x01; /* the id's first byte */
    resign(f, len, KEY1);
    CHECK(eryx_builder_import_module(b, f, len, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(msg(b), "another guest build or engine") != NULL);
    /* Signed, right id, lengths that disagree with the blob. */
    memcpy(f, blob, len);
    uint64_t idlen = get_le(f + 8, 4);
    f[12 + idlen] ^= 0x01;
    resign(f, len, KEY1);
    CHECK(eryx_builder_import_module(b, f, len, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(msg(b), "inconsistent") != NULL);
    memcpy(f, blob, len);
    f[8] = 0xff, f[9] = 0xff, f[10] = 0xff, f[11] = 0x7f; /* id length past the end */
    resign(f, len, KEY1);
    CHECK(eryx_builder_import_module(b, f, len, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    free(f);
    /* Nothing of the refused blobs reached the cache directory. */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s/modules' 2>/dev/null)\"", dir);
    CHECK(system(cmd) == 0);
    eryx_builder_free(b);
    rm_rf(dir);
    free(dir);
}

/* Signed by the key's holder, right id, but code wasmtime refuses (as code compiled
** for CPU features this machine lacks is): compiled here instead, with a warning. */
static void test_engine_refuses(const uint8_t *blob, size_t len) {
    char *dir = fresh_dir();
    eryx_builder *b = builder(KEY1, dir);
    uint8_t *f = malloc(len);
    memcpy(f, blob, len);
    uint64_t idlen = get_le(f + 8, 4);
    memset(f + 20 + idlen, 0x5a, 64); /* the ELF header of the serialized module */
    resign(f, len, KEY1);
    eryx_process_counters c0, c1;
    eryx_process_counters_get(&c0);
    eryx_module_import how = ERYX_MODULE_PRESENT;
    warnings_compiling = 0;
    CHECKF(eryx_builder_import_module(b, f, len, &how) == ERYX_OK, "%s", msg(b));
    CHECK(how == ERYX_MODULE_COMPILED);
    CHECK(warnings_compiling == 1);
    eryx_process_counters_get(&c1);
    CHECK(c1.modules_compiled == c0.modules_compiled + 1);
    CHECK(c1.modules_shipped == c0.modules_shipped);
    CHECK(runs(b));
    free(f);
    eryx_builder_free(b);
    rm_rf(dir);
    free(dir);
}

int main(void) {
    eryx_process_counters c0, c1;
    eryx_process_counters_get(NULL); /* harmless */
    eryx_builder *b = builder(KEY1, NULL);
    void *blob = NULL;
    size_t len = 0;
    CHECKF(eryx_builder_export_module(b, &blob, &len) == ERYX_OK, "%s", msg(b));
    CHECK(blob && len > 1000000 && memcmp(blob, "ERYXMOD1", 8) == 0);
    void *state = NULL; /* what a cluster ships with it: the start state (eryx.ray) */
    size_t state_len = 0;
    CHECKF(eryx_builder_export_snapshot(b, &state, &state_len) == ERYX_OK, "%s", msg(b));
    eryx_builder_free(b);
    if (!blob) return check_report("test_module_ship");
    /* A cold cache: installed, not compiled; then the cache has it. */
    char *dir = fresh_dir();
    b = builder(KEY1, dir);
    eryx_process_counters_get(&c0);
    eryx_module_import how = ERYX_MODULE_PRESENT;
    CHECKF(eryx_builder_import_module(b, blob, len, &how) == ERYX_OK, "%s", msg(b));
    CHECK(how == ERYX_MODULE_INSTALLED);
    eryx_process_counters_get(&c1);
    CHECK(c1.modules_shipped == c0.modules_shipped + 1);
    CHECK(c1.modules_compiled == c0.modules_compiled);
    CHECK(eryx_builder_import_module(b, blob, len, &how) == ERYX_OK && how == ERYX_MODULE_PRESENT);
    CHECKF(eryx_builder_import_snapshot(b, state, state_len) == ERYX_OK, "%s", msg(b));
    CHECK(runs(b)); /* a sandbox starts from the shipped start state, in the shipped module */
    eryx_process_counters_get(&c1);
    CHECK(c1.modules_compiled == c0.modules_compiled);   /* nothing compiled on the cold cache */
    CHECK(c1.start_states_made == c0.start_states_made); /* nor any pre-initialization run */
    eryx_builder_free(b);
    /* Another process with that cache directory finds it there. */
    eryx_builder *b2 = builder(KEY1, dir);
    CHECK(eryx_builder_import_module(b2, blob, len, &how) == ERYX_OK && how == ERYX_MODULE_PRESENT);
    eryx_builder_free(b2);
    rm_rf(dir);
    free(dir);
    /* Pre-initialization off: nothing to ship. */
    b = builder(KEY1, NULL);
    eryx_builder_set_preinit(b, 0);
    void *none = NULL;
    size_t nlen = 0;
    CHECK(eryx_builder_export_module(b, &none, &nlen) == ERYX_ERR_INVALID_ARGUMENT && !none);
    CHECK(eryx_builder_import_module(b, blob, len, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(msg(b), "pre-initialization off") != NULL);
    CHECK(eryx_builder_export_module(NULL, &none, &nlen) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_import_module(NULL, blob, len, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    eryx_builder_free(b);
    test_refused(blob, len);
    test_engine_refuses(blob, len);
    eryx_blob_free(blob);
    eryx_blob_free(state);
    return check_report("test_module_ship");
}
