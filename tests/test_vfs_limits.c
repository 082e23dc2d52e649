/* End-to-end tests of the filesystem limits of issue 17 with real Python through
** the C API: the in-memory filesystem's byte cap counts names, nodes and directory
** tables (empty entries with long names were free) and its entry cap bounds
** files and directories (item 1), with the host process's memory staying bounded;
** a writable host mount's quota bounds the bytes (a sparse 1 TiB file included)
** and the entries the guest adds, across executions (item 5). */
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "eryx.h"

#define MIB ((uint64_t)1 << 20)

static uint64_t rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%llu %llu", &size, &resident) != 2) resident = 0;
        fclose(f);
    }
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Runs code; its stdout (copied into out) and the status. */
static eryx_status run(eryx_sandbox *s, const char *code, char *out, size_t cap) {
    eryx_result *r = NULL;
    eryx_status st = eryx_sandbox_execute(s, code, strlen(code), &r);
    snprintf(out, cap, "%s", r ? eryx_result_stdout(r, NULL) : "");
    if (st != ERYX_OK) fprintf(stderr, "execute: %s: %s\n%s", eryx_status_name(st), eryx_sandbox_errmsg(s), out);
    eryx_result_free(r);
    return st;
}

static eryx_sandbox *new_sandbox(eryx_builder *b) {
    eryx_sandbox *s = NULL;
    if (eryx_sandbox_new(b, &s) != ERYX_OK) fprintf(stderr, "eryx_sandbox_new: %s\n", eryx_builder_errmsg(b));
    return s;
}

/* Makes entries until OSError; prints the errno's name and how many were made. */
#define LOOP(make)                                          \
    "import errno, os\n"                                    \
    "n = 0\n"                                               \
    "try:\n"                                                \
    "    for i in range(1_000_000):\n"                      \
    "        " make "\n"                                    \
    "        n += 1\n"                                      \
    "except OSError as e:\n"                                \
    "    print(errno.errorcode.get(e.errno, e.errno), n)\n" \
    "else:\n"                                               \
    "    print('no error', n)\n"

/* ---- item 1: the in-memory filesystem ------------------------------------------- */
static void test_memfs(void) {
    eryx_builder *b = eryx_builder_new();
    CHECK(eryx_builder_set_memfs_limit(b, 8 * MIB) == ERYX_OK);
    CHECK(eryx_builder_set_keep_state(b, 1) == ERYX_OK); /* the entries stay: the RSS is measured with them */
    eryx_sandbox *s = new_sandbox(b);
    CHECK(s != NULL);
    if (!s) goto out;
    char buf[256];
    static const char *const loops[] = {
        LOOP("os.mkdir('/tmp/' + str(i).zfill(255))"),           /* empty directories, 255-byte names */
        LOOP("open('/data/' + str(i).zfill(255), 'w').close()"), /* empty files */
    };
    CHECK(run(s, "pass", buf, sizeof buf) == ERYX_OK); /* the interpreter's pages are in */
    for (size_t i = 0; i < 2; i++) {
        uint64_t before = rss_bytes();
        CHECK(run(s, loops[i], buf, sizeof buf) == ERYX_OK);
        uint64_t grew = rss_bytes() - before;
        long n = -1;
        CHECK(strncmp(buf, "ENOSPC ", 7) == 0 && sscanf(buf + 7, "%ld", &n) == 1);
        CHECK(n > 1000 && (uint64_t)n * 255 < 8 * MIB); /* every name cost at least its bytes */
        CHECK(grew < 64 * MIB);
        buf[strcspn(buf, "\n")] = '\0';
        printf("test_vfs_limits: %s: %s (host RSS grew %.1f MiB under an 8 MiB cap)\n", i ? "files" : "dirs", buf,
               (double)grew / (double)MIB);
    }
    eryx_sandbox_free(s);

    /* the entry cap: files and directories together */
    CHECK(eryx_builder_set_memfs_max_entries(b, 1000) == ERYX_OK);
    CHECK(eryx_builder_set_keep_state(b, 0) == ERYX_OK);
    s = new_sandbox(b);
    CHECK(s != NULL);
    if (!s) goto out;
    CHECK(run(s, "import os\nos.mkdir('/tmp/d')\n" LOOP("open('/tmp/d/%d' % i, 'w').close()"), buf, sizeof buf) ==
          ERYX_OK);
    CHECK_STR_EQ(buf, "ENOSPC 999\n");
    CHECK(run(s, LOOP("os.mkdir('/data/%d' % i)"), buf, sizeof buf) == ERYX_OK); /* each filesystem has its own */
    CHECK_STR_EQ(buf, "ENOSPC 1000\n");
    CHECK(run(s, LOOP("os.mkdir('/tmp/%d' % i)"), buf, sizeof buf) == ERYX_OK); /* a fresh /tmp each execution */
    CHECK_STR_EQ(buf, "ENOSPC 1000\n");
    eryx_sandbox_free(s);
out:
    eryx_builder_free(b);
}

/* ---- item 5: a writable host mount's quota ---------------------------------------- */
static const char QUOTA_CODE[] = "import errno, os\n"
                                 "def t(fn):\n"
                                 "    try:\n"
                                 "        fn()\n"
                                 "        return 'ok'\n"
                                 "    except OSError as e:\n"
                                 "        return errno.errorcode.get(e.errno, e.errno)\n"
                                 "def sparse():\n"
                                 "    with open('/mnt/q/sparse', 'wb') as f:\n"
                                 "        f.seek(1 << 40)\n"
                                 "        f.write(b'x')\n"
                                 "def trunc():\n"
                                 "    with open('/mnt/q/sparse', 'r+b') as f:\n"
                                 "        f.truncate(1 << 40)\n"
                                 "def write(name, n):\n"
                                 "    with open('/mnt/q/' + name, 'wb') as f:\n"
                                 "        f.write(b'y' * n)\n"
                                 "print(t(sparse), t(trunc), t(lambda: write('a', 600_000)))\n";

static void test_quota(void) {
    char dir[] = "/tmp/eryx_vfs_limits_XXXXXX", p[128];
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    eryx_builder *b = eryx_builder_new();
    CHECK(eryx_builder_add_mount(b, dir, "/mnt/q", 0) == ERYX_OK);
    CHECK(eryx_builder_add_mount(b, "/tmp", "/mnt/ro", ERYX_MOUNT_READONLY) == ERYX_OK);
    CHECK(eryx_builder_set_mount_quota(b, "/mnt/nothing", 1, 1) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_set_mount_quota(b, "/mnt/ro", 1, 1) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_set_mount_quota(NULL, "/mnt/q", 1, 1) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_set_mount_quota(b, "/mnt/q/", MIB, 10) == ERYX_OK); /* the path is normalized */
    eryx_sandbox *s = new_sandbox(b);
    CHECK(s != NULL);
    char buf[256];
    if (!s) goto out;
    CHECK(run(s, QUOTA_CODE, buf, sizeof buf) == ERYX_OK);
    CHECK_STR_EQ(buf, "EDQUOT EDQUOT ok\n");
    /* the next execution (a fresh instance) and another sandbox share the count */
    CHECK(run(s,
              "import errno\ntry:\n    open('/mnt/q/b', 'wb').write(b'z' * 600_000)\n    print('ok')\n"
              "except OSError as e:\n    print(errno.errorcode[e.errno])\n",
              buf, sizeof buf) == ERYX_OK);
    CHECK_STR_EQ(buf, "EDQUOT\n");
    eryx_sandbox *s2 = new_sandbox(b);
    CHECK(s2 != NULL);
    if (s2) {
        CHECK(run(s2,
                  "import errno, os\nn = 0\ntry:\n    for i in range(100):\n        os.mkdir('/mnt/q/d%d' % i)\n"
                  "        n += 1\nexcept OSError as e:\n    print(errno.errorcode[e.errno], n)\n",
                  buf, sizeof buf) == ERYX_OK);
        CHECK_STR_EQ(buf, "EDQUOT 7\n"); /* 10 files: sparse, a, b made before */
        /* removing gives back: then it fits */
        CHECK(run(s2,
                  "import os\nos.remove('/mnt/q/a')\nopen('/mnt/q/c', 'wb').write(b'z' * 600_000)\n"
                  "print(sorted(os.listdir('/mnt/q'))[:4])\n",
                  buf, sizeof buf) == ERYX_OK);
        CHECK_STR_EQ(buf, "['b', 'c', 'd0', 'd1']\n");
        eryx_sandbox_free(s2);
    }
    struct stat st;
    snprintf(p, sizeof p, "%s/sparse", dir);
    CHECK(stat(p, &st) == 0 && st.st_size == 0); /* nothing of the 1 TiB was written */
    eryx_sandbox_free(s);
out:
    eryx_builder_free(b);
    snprintf(p, sizeof p, "rm -rf %s", dir);
    CHECK(system(p) == 0);
}

int main(void) {
    test_memfs();
    test_quota();
    return check_report("test_vfs_limits");
}
