/* Test of the engine's cache tiers with the real guest: a module is compiled once,
** then served from the memory tier (no I/O), then from disk in a "new process"
** (a fresh memory tier); a damaged entry is reported, replaced and never loaded;
** an unusable cache dir still gives a working module, with a warning; concurrent
** processes compile a missing module once. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../src/cache/tiers.h"
#include "../src/engine/engine.h"
#include "check.h"

static char wasm[4096], sha[65];
static char warnings[4096];

static void collect(void *user, const char *msg) {
    (void)user;
    strncat(warnings, msg, sizeof warnings - strlen(warnings) - 2);
    strcat(warnings, "\n");
}

static eryx__load_source acquire(eryx__memcache *mc, const char *dir, int *ok) {
    eryx__guest *g = NULL;
    eryx__load_source src = ERYX__LOADED_COMPILED;
    eryx__errbuf err = {0};
    eryx__cache_config cc = {.memory = mc, .dir = dir, .warn = collect};
    eryx_status st = eryx__guest_acquire(wasm, sha, &cc, &g, &src, &err);
    *ok = st == ERYX_OK && g != NULL && eryx__guest_pre(g) != NULL;
    if (!*ok) fprintf(stderr, "acquire failed: %s\n", err.msg);
    eryx__guest_release(g);
    return src;
}

static off_t only_entry(const char *dir, char *path_out, size_t n) {
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "ls %s/modules/*.cwasm 2>/dev/null | head -1", dir);
    FILE *p = popen(cmd, "r");
    if (!p || !fgets(path_out, (int)n, p)) {
        if (p) pclose(p);
        return -1;
    }
    pclose(p);
    path_out[strcspn(path_out, "\n")] = 0;
    struct stat st;
    return stat(path_out, &st) == 0 ? st.st_size : -1;
}

int main(int argc, char **argv) {
    if (argc != 2 && !(argc == 4 && !strcmp(argv[2], "--child"))) {
        fprintf(stderr, "usage: test_engine GUEST_DIR [--child CACHE_DIR]\n");
        return 2;
    }
    snprintf(wasm, sizeof wasm, "%s/python.wasm", argv[1]);
    eryx__errbuf err = {0};
    CHECK(eryx__guest_sha256(argv[1], sha, &err) == ERYX_OK);
    if (argc == 4) { /* a child process of the concurrency test: 0 loaded, 1 compiled */
        int child_ok;
        eryx__load_source src = acquire(NULL, argv[3], &child_ok);
        return !child_ok ? 99 : src == ERYX__LOADED_COMPILED ? 1 : 0;
    }

    char dir[] = "/tmp/eryx-test-engine-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    int ok;
    eryx__memcache *mc = eryx_cache_new(4);
    CHECK(acquire(mc, dir, &ok) == ERYX__LOADED_COMPILED && ok);
    CHECK(acquire(mc, dir, &ok) == ERYX__LOADED_MEMORY && ok);
    char entry[4400];
    off_t size = only_entry(dir, entry, sizeof entry);
    CHECK(size > 1000000);
    /* The compile said so (once: the memory hit above added nothing). */
    CHECK(strstr(warnings, "compiling") && strstr(warnings, dir) &&
          !strstr(strstr(warnings, "compiling") + 1, "compiling"));
    warnings[0] = '\0';

    /* A new process: empty memory tier, warm disk. */
    eryx__memcache *mc2 = eryx_cache_new(4);
    CHECK(acquire(mc2, dir, &ok) == ERYX__LOADED_DISK && ok);
    CHECK(acquire(mc2, dir, &ok) == ERYX__LOADED_MEMORY && ok);
    CHECK(warnings[0] == '\0'); /* loads are silent */
    eryx_cache_release(mc2);

    /* A damaged entry: detected before loading, reported, replaced. */
    int fd = open(entry, O_WRONLY);
    CHECK(fd >= 0 && pwrite(fd, "XXXX", 4, 4096) == 4);
    close(fd);
    CHECK(acquire(NULL, dir, &ok) == ERYX__LOADED_COMPILED && ok);
    CHECK(strstr(warnings, "damaged") != NULL);
    CHECK(only_entry(dir, entry, sizeof entry) == size);
    CHECK(acquire(NULL, dir, &ok) == ERYX__LOADED_DISK && ok);
    warnings[0] = '\0';
    CHECK(truncate(entry, size / 2) == 0);
    CHECK(acquire(NULL, dir, &ok) == ERYX__LOADED_COMPILED && ok);
    CHECK(strstr(warnings, "damaged") != NULL);

    /* An unusable cache dir: works, compiling in memory, with a warning. */
    warnings[0] = '\0';
    CHECK(acquire(NULL, "/proc/eryx-no-such-dir", &ok) == ERYX__LOADED_COMPILED && ok);
    CHECK(strstr(warnings, "/proc/eryx-no-such-dir") != NULL);

    /* Several processes asking for a missing module compile it once: the others
    ** wait for the lock and load it from disk. */
    char dir2[] = "/tmp/eryx-test-engine2-XXXXXX";
    CHECK(mkdtemp(dir2) != NULL);
    enum { NPROC = 3 };
    pid_t pids[NPROC];
    for (int i = 0; i < NPROC; i++) {
        pids[i] = fork();
        if (pids[i] == 0) { /* exec: wasmtime's threads do not survive a fork */
            execl("/proc/self/exe", argv[0], argv[1], "--child", dir2, (char *)NULL);
            _exit(98);
        }
    }
    int compiled = 0, failed = 0;
    for (int i = 0; i < NPROC; i++) {
        int ws = 0;
        waitpid(pids[i], &ws, 0);
        if (!WIFEXITED(ws) || WEXITSTATUS(ws) > 1) failed++;
        else compiled += WEXITSTATUS(ws);
    }
    CHECK(failed == 0);
    CHECK(compiled == 1);

    /* A wrong path is a clear error naming the file. */
    eryx__guest *g = NULL;
    eryx__cache_config none = {0};
    snprintf(wasm, sizeof wasm, "%s/no-such.wasm", argv[1]);
    CHECK(eryx__guest_acquire(wasm, "0000", &none, &g, NULL, &err) == ERYX_ERR_GUEST_NOT_FOUND);
    CHECK(g == NULL && strstr(err.msg, "no-such.wasm") != NULL);

    eryx_cache_release(mc);
    eryx__cache_shutdown();
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir, dir2);
    CHECK(system(cmd) == 0);
    return check_report("test_engine");
}
