/* Unit test of src/engine: a module is compiled once, then served from the process
** registry, then from the disk cache; a damaged cache file is replaced; an
** unwritable cache dir still gives a working module. Needs the real guest. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../src/engine/engine.h"
#include "check.h"

static char wasm[4096], sha[65];

static eryx__load_source load(const char *cache, int *ok) {
    wasmtime_module_t *m = NULL;
    eryx__load_source src = ERYX__LOADED_COMPILED;
    eryx__errbuf err = {{0}};
    eryx_status st = eryx__module_load(wasm, sha, cache, &m, &src, &err);
    *ok = st == ERYX_OK && m != NULL;
    if (!*ok) fprintf(stderr, "load failed: %s\n", err.msg);
    if (m) wasmtime_module_delete(m);
    return src;
}

static off_t only_cwasm_size(const char *dir, char *path_out, size_t n) {
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "ls %s/modules/*.cwasm 2>/dev/null | head -1", dir);
    FILE *p = popen(cmd, "r");
    if (!p || !fgets(path_out, (int)n, p)) { if (p) pclose(p); return -1; }
    pclose(p);
    path_out[strcspn(path_out, "\n")] = 0;
    struct stat st;
    return stat(path_out, &st) == 0 ? st.st_size : -1;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: test_engine GUEST_DIR\n"); return 2; }
    snprintf(wasm, sizeof wasm, "%s/python.wasm", argv[1]);
    char shapath[4096];
    snprintf(shapath, sizeof shapath, "%s/python.wasm.sha256", argv[1]);
    FILE *f = fopen(shapath, "r");
    CHECK(f && fscanf(f, "%64s", sha) == 1);
    if (f) fclose(f);

    char dir[] = "/tmp/eryx-test-engine-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    int ok;
    CHECK(load(dir, &ok) == ERYX__LOADED_COMPILED && ok);
    CHECK(load(dir, &ok) == ERYX__LOADED_REGISTRY && ok);
    char cwasm[4400];
    off_t size = only_cwasm_size(dir, cwasm, sizeof cwasm);
    CHECK(size > 1000000);

    eryx__registry_clear();
    CHECK(load(dir, &ok) == ERYX__LOADED_DISK && ok);

    /* A truncated cache file is detected, replaced, and never crashes the host. */
    eryx__registry_clear();
    CHECK(truncate(cwasm, 100) == 0);
    CHECK(load(dir, &ok) == ERYX__LOADED_COMPILED && ok);
    CHECK(only_cwasm_size(dir, cwasm, sizeof cwasm) == size);

    /* A cache dir that cannot be created: still works, compiles in memory. */
    eryx__registry_clear();
    CHECK(load("/proc/eryx-no-such-dir", &ok) == ERYX__LOADED_COMPILED && ok);

    /* A wrong path is a clear error naming the file. */
    eryx__registry_clear();
    wasmtime_module_t *m = NULL;
    eryx__errbuf err = {{0}};
    snprintf(wasm, sizeof wasm, "%s/no-such.wasm", argv[1]);
    CHECK(eryx__module_load(wasm, "0000", NULL, &m, NULL, &err) == ERYX_ERR_GUEST_NOT_FOUND);
    CHECK(m == NULL && strstr(err.msg, "no-such.wasm") != NULL);

    eryx__registry_clear();
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_report("test_engine");
}
