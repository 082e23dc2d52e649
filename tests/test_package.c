/* Unit test of src/package: wheels (written here with libzip) and source trees
** become images whose files read back exactly; every refusal (platform wheels,
** native extensions, unsafe paths, damaged or oversized archives, missing
** metadata, duplicates, escaping symlinks) fails with ERYX_ERR_PACKAGE and a
** message naming the file and the cause. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include "check.h"
#include "../src/package/package.h"

static char tmp[] = "/tmp/eryx-test-package-XXXXXX";

typedef struct member {
    const char *name, *data; /* data NULL: a directory entry */
    bool stored;
    size_t len; /* 0: strlen(data) */
} member;

/* Writes a wheel at tmp/<file> from members; returns its path (static buffer). */
static const char *wheel(const char *file, const member *m) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, file);
    unlink(path);
    int err = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!z) return NULL;
    for (; m->name; m++) {
        if (!m->data) {
            zip_dir_add(z, m->name, ZIP_FL_ENC_UTF_8);
            continue;
        }
        zip_source_t *src = zip_source_buffer(z, m->data, m->len ? m->len : strlen(m->data), 0);
        zip_int64_t i = zip_file_add(z, m->name, src, ZIP_FL_ENC_UTF_8);
        if (i >= 0 && m->stored) zip_set_file_compression(z, (zip_uint64_t)i, ZIP_CM_STORE, 0);
    }
    return zip_close(z) == 0 ? path : NULL;
}

static const member good[] = {
    {"pkg/", NULL, false, 0},
    {"pkg/__init__.py", "VALUE = 42\n", false, 0},
    {"pkg/data.txt", "some data", false, 0},
    {"pkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n", false, 0},
    {"pkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n", false, 0},
    {"pkg-1.0.data/purelib/extra_mod.py", "X = 1\n", false, 0},
    {NULL, NULL, false, 0},
};

/* Reads a whole file of the package through a VFS mount. */
static char *read_back(const eryx__package *p, const char *rel) {
    eryx__vfs *vfs = eryx__vfs_new();
    char path[512];
    snprintf(path, sizeof path, "%s/%s", p->guest_path, rel);
    eryx__vfs_mount(vfs, p->guest_path, &eryx__vfs_zip_backend, eryx__vfs_zip_ref(p->img), true);
    eryx__vfs_file *f = NULL;
    char *out = NULL;
    if (eryx__vfs_open(vfs, path, ERYX__VFS_O_READ, &f) == 0) {
        out = calloc(1, 4096);
        size_t n = 0;
        f->ops->pread(f, out, 4095, 0, &n);
        f->ops->close(f);
    }
    eryx__vfs_free(vfs);
    return out;
}

/* Opens path expecting a refusal whose message holds both needles. */
static void expect_refused(const char *path, const char *needle1, const char *needle2, int line) {
    eryx__package p;
    eryx__errbuf err = {0};
    eryx_status st = path ? eryx__package_open(path, &p, &err) : ERYX_ERR_IO;
    if (getenv("ERYX_TEST_VERBOSE")) fprintf(stderr, "line %d: %s\n", line, err.msg);
    check_count++;
    if (st != ERYX_ERR_PACKAGE || !strstr(err.msg, needle1) || (needle2 && !strstr(err.msg, needle2))) {
        check_failures++;
        fprintf(stderr, "%s:%d: expected ERYX_ERR_PACKAGE with '%s'/'%s', got %d: %s\n", __FILE__, line, needle1,
                needle2 ? needle2 : "", (int)st, err.msg);
    }
    if (st == ERYX_OK) eryx__package_clear(&p);
}
#define REFUSED(path, n1, n2) expect_refused(path, n1, n2, __LINE__)

static void test_good_wheel(void) {
    const char *path = wheel("pkg-1.0-py3-none-any.whl", good);
    CHECK(path != NULL);
    eryx__package p, q;
    eryx__errbuf err = {0};
    CHECK(eryx__package_open(path, &p, &err) == ERYX_OK);
    CHECK_STR_EQ(p.name, "pkg");
    CHECK_STR_EQ(p.kind, "wheel");
    CHECK_STR_EQ(p.guest_path, "/packages/pkg");
    CHECK(p.files == 5); /* the directory entry is implied, not a file */
    char *s = read_back(&p, "pkg/__init__.py");
    CHECK_STR_EQ(s, "VALUE = 42\n");
    free(s);
    s = read_back(&p, "extra_mod.py"); /* .data/purelib installs at the top */
    CHECK_STR_EQ(s, "X = 1\n");
    free(s);
    s = read_back(&p, "pkg-1.0.data/purelib/extra_mod.py");
    CHECK(s == NULL);
    /* Same contents, same image hash, also under another file name. */
    const char *again = wheel("Pkg-1.0-1-py2.py3-none-any.whl", good);
    CHECK(eryx__package_open(again, &q, &err) == ERYX_OK);
    CHECK_STR_EQ(p.sha256, q.sha256);
    CHECK_STR_EQ(q.name, "pkg");
    eryx__package_clear(&q);
    /* The registry: the same file again is the same image, not a second read. */
    eryx__package r1, r2;
    CHECK(eryx__package_open(again, &r1, &err) == ERYX_OK);
    CHECK(eryx__package_open(again, &r2, &err) == ERYX_OK);
    CHECK(r1.img != NULL && r1.img == r2.img);
    eryx__package_clear(&r1);
    eryx__package_clear(&r2);
    /* A copy shares the image and outlives the original. */
    CHECK(eryx__package_copy(&q, &p) == 0);
    eryx__package_clear(&p);
    s = read_back(&q, "pkg/data.txt");
    CHECK_STR_EQ(s, "some data");
    free(s);
    member changed[7];
    memcpy(changed, good, sizeof changed);
    changed[1].data = "VALUE = 43\n";
    eryx__package r;
    CHECK(eryx__package_open(wheel("pkg-1.0-py3-none-any.whl", changed), &r, &err) == ERYX_OK);
    CHECK(strcmp(r.sha256, q.sha256) != 0);
    CHECK(r.img != q.img); /* rewritten in place: a new identity, read again */
    eryx__package_clear(&r);
    eryx__package_clear(&q);
}

static void test_refused_wheels(void) {
    REFUSED(wheel("pkg-1.0-cp313-cp313-manylinux_2_17_x86_64.whl", good), "manylinux_2_17_x86_64", "another machine");
    REFUSED(wheel("pkg-1.0-py2-none-any.whl", good), "not Python 3", "pkg-1.0-py2-none-any.whl");
    REFUSED(wheel("pkg-py3-none-any.whl", good), "not a wheel file name", NULL);
    REFUSED(wheel("p!g-1.0-py3-none-any.whl", good), "not a valid package name", NULL);
    const member so[] = {{"pkg/__init__.py", "", false, 0},
                         {"pkg/_speedups.cpython-313-x86_64-linux-gnu.so",
                          "\x7f"
                          "ELF",
                          false, 0},
                         {"pkg-1.0.dist-info/WHEEL", "Tag: py3-none-any\n", false, 0},
                         {NULL, NULL, false, 0}};
    REFUSED(wheel("pkg-1.0-py3-none-any.whl", so), "pkg/_speedups.cpython-313-x86_64-linux-gnu.so", "cannot load it");
    const member nometa[] = {{"pkg/__init__.py", "", false, 0}, {NULL, NULL, false, 0}};
    REFUSED(wheel("pkg-1.0-py3-none-any.whl", nometa), "no *.dist-info/WHEEL", NULL);
    const member dotdot[] = {
        {"../evil.py", "x", false, 0}, {"pkg-1.0.dist-info/WHEEL", "", false, 0}, {NULL, NULL, false, 0}};
    REFUSED(wheel("pkg-1.0-py3-none-any.whl", dotdot), "unsafe or invalid path", "../evil.py");
    const member abs[] = {
        {"/etc/evil.py", "x", false, 0}, {"pkg-1.0.dist-info/WHEEL", "", false, 0}, {NULL, NULL, false, 0}};
    REFUSED(wheel("pkg-1.0-py3-none-any.whl", abs), "unsafe or invalid path", NULL);
    const member twice[] = {{"extra.py", "a", false, 0},
                            {"pkg-1.0.data/purelib/extra.py", "b", false, 0},
                            {"pkg-1.0.dist-info/WHEEL", "", false, 0},
                            {NULL, NULL, false, 0}};
    REFUSED(wheel("pkg-1.0-py3-none-any.whl", twice), "holds extra.py twice", NULL);
    const member filedir[] = {{"a", "file", false, 0},
                              {"a/b.py", "", false, 0},
                              {"pkg-1.0.dist-info/WHEEL", "", false, 0},
                              {NULL, NULL, false, 0}};
    REFUSED(wheel("pkg-1.0-py3-none-any.whl", filedir), "both as a file and as a directory", NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/notes.txt", tmp);
    FILE *f = fopen(path, "w");
    fputs("hello", f);
    fclose(f);
    REFUSED(path, "is not a wheel (*.whl), an eryx package (*.eryx) or a directory", "notes.txt");
    snprintf(path, sizeof path, "%s/missing-1.0-py3-none-any.whl", tmp);
    REFUSED(path, "missing-1.0-py3-none-any.whl", "No such file");
}

/* Reads a whole host file. */
static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*len);
    if (fread(b, 1, *len, f) != *len) *len = 0;
    fclose(f);
    return b;
}
static void spill(const char *path, const unsigned char *b, size_t len) {
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, len, f);
    fclose(f);
}

static void test_damaged_wheels(void) {
    const member stored[] = {{"pkg/__init__.py", "PAYLOAD-PAYLOAD-PAYLOAD", true, 0},
                             {"pkg-1.0.dist-info/WHEEL", "Tag: py3-none-any\n", false, 0},
                             {NULL, NULL, false, 0}};
    const char *path = wheel("pkg-1.0-py3-none-any.whl", stored);
    size_t len = 0;
    unsigned char *b = slurp(path, &len);
    CHECK(b && len > 100);
    /* A flipped byte in a member's data: its CRC no longer matches. */
    unsigned char *hit = memmem(b, len, "PAYLOAD-PAYLOAD", 15);
    CHECK(hit != NULL);
    if (hit) {
        hit[3] ^= 0x20;
        spill(path, b, len);
        REFUSED(path, "damaged", "pkg/__init__.py");
        hit[3] ^= 0x20;
    }
    /* Truncated at several points: never opens, never crashes. */
    for (size_t cut = 0; cut < len; cut += len / 7 + 1) {
        spill(path, b, cut);
        REFUSED(path, "pkg-1.0-py3-none-any.whl", NULL);
    }
    /* A member that claims 2 GiB uncompressed (a zip bomb) is refused before any
    ** allocation of that size: patch the size fields of both headers. */
    for (size_t i = 0; i + 4 <= len; i++) {
        bool lfh = !memcmp(b + i, "PK\3\4", 4), cdh = !memcmp(b + i, "PK\1\2", 4);
        size_t off = lfh ? i + 22 : cdh ? i + 24 : 0;
        if (off && off + 4 <= len) memcpy(b + off, "\0\0\0\x80", 4);
    }
    spill(path, b, len);
    REFUSED(path, "pkg-1.0-py3-none-any.whl", NULL);
    free(b);
}

static void put_file(const char *rel, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, rel);
    for (char *p = strchr(path + strlen(tmp) + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_source_trees(void) {
    put_file("proj/pyproject.toml", "[project]\nname = 'mypkg'\n");
    put_file("proj/src/mypkg/__init__.py", "A = 1\n");
    put_file("proj/src/mypkg/sub/mod.py", "B = 2\n");
    put_file("proj/src/mypkg/__pycache__/mod.cpython-313.pyc", "bytecode");
    put_file("proj/src/mypkg/__pycache__/mod.cpython-311.pyc", "another interpreter's");
    put_file("proj/src/mypkg/stray.pyc", "legacy sourceless");
    put_file("proj/src/mypkg/_native.cpython-311-x86_64-linux-gnu.so", "ELF");
    put_file("proj/src/.git/config", "x");
    put_file("proj/tests/test_x.py", "outside src/");
    char path[512], target[512];
    snprintf(path, sizeof path, "%s/proj/src/mypkg/alias.py", tmp);
    snprintf(target, sizeof target, "%s/proj/src/mypkg/__init__.py", tmp);
    CHECK(symlink(target, path) == 0);
    snprintf(path, sizeof path, "%s/proj", tmp);
    eryx__package p;
    eryx__errbuf err = {0};
    CHECK(eryx__package_open(path, &p, &err) == ERYX_OK);
    if (!p.img) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK_STR_EQ(p.kind, "source tree");
    CHECK_STR_EQ(p.name, "proj");
    CHECK(p.files == 4); /* __init__.py, alias.py (a symlink inside), sub/mod.py, the 3.13 .pyc */
    char *s = read_back(&p, "mypkg/sub/mod.py");
    CHECK_STR_EQ(s, "B = 2\n");
    free(s);
    s = read_back(&p, "mypkg/alias.py");
    CHECK_STR_EQ(s, "A = 1\n");
    free(s);
    s = read_back(&p, "mypkg/__pycache__/mod.cpython-313.pyc");
    CHECK_STR_EQ(s, "bytecode");
    free(s);
    CHECK(read_back(&p, "mypkg/__pycache__/mod.cpython-311.pyc") == NULL);
    CHECK(read_back(&p, "mypkg/stray.pyc") == NULL);
    CHECK(read_back(&p, "tests/test_x.py") == NULL);
    eryx__package_clear(&p);

    /* Without project metadata the whole directory is the package root. */
    put_file("plain-dir.v2/plainmod.py", "C = 3\n");
    snprintf(path, sizeof path, "%s/plain-dir.v2", tmp);
    CHECK(eryx__package_open(path, &p, &err) == ERYX_OK);
    CHECK_STR_EQ(p.name, "plain_dir_v2");
    s = p.img ? read_back(&p, "plainmod.py") : NULL;
    CHECK_STR_EQ(s, "C = 3\n");
    free(s);
    eryx__package_clear(&p);

    /* A symlink out of the tree would leak a host file into the guest. */
    put_file("leaky/mod.py", "");
    snprintf(path, sizeof path, "%s/leaky/passwd", tmp);
    CHECK(symlink("/etc/passwd", path) == 0);
    snprintf(path, sizeof path, "%s/leaky", tmp);
    REFUSED(path, "leads out of the package's directory", "passwd");

    snprintf(path, sizeof path, "%s/empty", tmp);
    mkdir(path, 0755);
    REFUSED(path, "holds no files", NULL);
}

static void test_names(void) {
    char out[64];
    CHECK(eryx__package_normalize_name("Jinja2", 6, out, sizeof out) == 0);
    CHECK_STR_EQ(out, "jinja2");
    CHECK(eryx__package_normalize_name("zope.interface", 14, out, sizeof out) == 0);
    CHECK_STR_EQ(out, "zope_interface");
    CHECK(eryx__package_normalize_name("a-_.b", 5, out, sizeof out) == 0);
    CHECK_STR_EQ(out, "a_b");
    CHECK(eryx__package_normalize_name("---", 3, out, sizeof out) == -1);
    CHECK(eryx__package_normalize_name("a/b", 3, out, sizeof out) == -1);
    CHECK(eryx__package_normalize_name("abcdef", 6, out, 4) == -1);
}

/* A minimal side module: dylink.0 (no memory, no table), one type ()->(), and
** an import env.PyFoo of it. */
static const char side_so[] = "\0asm\1\0\0\0"
                              "\0\x0f\x08"
                              "dylink.0"
                              "\1\4\0\0\0\0"
                              "\1\4\1\x60\0\0"
                              "\2\x0d\1\3"
                              "env"
                              "\5"
                              "PyFoo"
                              "\0\0";
/* A wasm module that is not a side module (no dylink.0 first). */
static const char plain_wasm[] = "\0asm\1\0\0\0\1\4\1\x60\0\0";

static void test_extension_modules(void) {
    eryx__package p;
    eryx__errbuf err = {0};
    const member wasi[] = {{"pkg/__init__.py", "", false, 0},
                           {"pkg/_mod.cpython-313-wasm32-wasi.so", side_so, false, sizeof side_so - 1},
                           {"pkg-1.0.dist-info/WHEEL", "Tag: cp313-cp313-wasi_0_0_0_wasm32\n", false, 0},
                           {NULL, NULL, false, 0}};
    const char *path = wheel("pkg-1.0-cp313-cp313-wasi_0_0_0_wasm32.whl", wasi);
    CHECK(path && eryx__package_open(path, &p, &err) == ERYX_OK);
    CHECK(p.exts != NULL && p.exts->n == 1);
    if (p.exts && p.exts->n == 1) {
        CHECK_STR_EQ(p.exts->v[0].member, "pkg/_mod.cpython-313-wasm32-wasi.so");
        CHECK(p.exts->v[0].iface.n_imports == 1);
        CHECK_STR_EQ(p.exts->v[0].iface.imports[0].name, "PyFoo");
        CHECK_STR_EQ(p.exts->v[0].iface.imports[0].sig, ">");
    }
    eryx__package q;
    CHECK(eryx__package_copy(&q, &p) == 0 && q.exts == p.exts); /* shared, counted */
    eryx__package_clear(&p);
    CHECK(q.exts && q.exts->n == 1);
    eryx__package_clear(&q);
    /* A pure wheel may carry one too (the bytes decide, not the tag). */
    CHECK(eryx__package_open(wheel("pkg-1.0-py3-none-any.whl", wasi), &p, &err) == ERYX_OK && p.exts);
    eryx__package_clear(&p);
    REFUSED(wheel("pkg-1.0-cp312-cp312-wasi_0_0_0_wasm32.whl", wasi), "cp312", "CPython 3.13");
    const member tagged[] = {{"pkg/_mod.cpython-312-wasm32-wasi.so", side_so, false, sizeof side_so - 1},
                             {"pkg-1.0.dist-info/WHEEL", "", false, 0},
                             {NULL, NULL, false, 0}};
    REFUSED(wheel("pkg-1.0-cp313-cp313-wasi_0_0_0_wasm32.whl", tagged), "pkg/_mod.cpython-312-wasm32-wasi.so",
            "tagged 'cpython-312-wasm32-wasi', for another interpreter build");
    const member plain[] = {{"pkg/_mod.cpython-313-wasm32-wasi.so", plain_wasm, false, sizeof plain_wasm - 1},
                            {"pkg-1.0.dist-info/WHEEL", "", false, 0},
                            {NULL, NULL, false, 0}};
    REFUSED(wheel("pkg-1.0-cp313-cp313-wasi_0_0_0_wasm32.whl", plain), "pkg/_mod.cpython-313-wasm32-wasi.so",
            "not a side module");
    const member cut[] = {{"pkg/_mod.cpython-313-wasm32-wasi.so", side_so, false, sizeof side_so - 4},
                          {"pkg-1.0.dist-info/WHEEL", "", false, 0},
                          {NULL, NULL, false, 0}};
    REFUSED(wheel("pkg-1.0-cp313-cp313-wasi_0_0_0_wasm32.whl", cut), "pkg/_mod.cpython-313-wasm32-wasi.so", "damaged");

    /* An eryx package: written from a tree, read back with its manifest. */
    char dir[256], file[600], cmd[1200];
    snprintf(dir, sizeof dir, "%s/extpkg", tmp);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/ext'", dir);
    CHECK(system(cmd) == 0);
    snprintf(file, sizeof file, "%s/ext/__init__.py", dir);
    spill(file, (const unsigned char *)"from ext._mod import *\n", 23);
    snprintf(file, sizeof file, "%s/ext/_mod.cpython-313-wasm32-wasi.so", dir);
    spill(file, (const unsigned char *)side_so, sizeof side_so - 1);
    snprintf(file, sizeof file, "%s/ext-1.0.eryx", tmp);
    CHECK(eryx__package_write(dir, "Ext", "1.0", file, &err) == ERYX_OK);
    CHECK(eryx__package_open(file, &p, &err) == ERYX_OK);
    CHECK_STR_EQ(p.name, "ext");
    CHECK_STR_EQ(p.guest_path, "/packages/ext");
    CHECK_STR_EQ(p.kind, "eryx package");
    CHECK(p.version && !strcmp(p.version, "1.0"));
    CHECK(p.exts && p.exts->n == 1);
    char *init = read_back(&p, "ext/__init__.py");
    CHECK(init && !strcmp(init, "from ext._mod import *\n"));
    free(init);
    eryx__package_clear(&p);
    /* Deterministic: the same tree makes the same bytes. */
    size_t l1 = 0, l2 = 0;
    unsigned char *a = slurp(file, &l1);
    snprintf(cmd, sizeof cmd, "%s/again.eryx", tmp);
    CHECK(eryx__package_write(dir, "Ext", "1.0", cmd, &err) == ERYX_OK);
    unsigned char *b = slurp(cmd, &l2);
    CHECK(a && b && l1 == l2 && !memcmp(a, b, l1));
    /* Damaged: cut short, or without a manifest. */
    spill(cmd, a, l1 / 2);
    REFUSED(cmd, "again.eryx", "not a readable eryx package");
    free(a);
    free(b);
    REFUSED(wheel("nomanifest.eryx", good), "nomanifest.eryx", "no eryx-package.json");
    const member other_py[] = {{"eryx-package.json",
                                "{\"format\": 1, \"name\": \"x\", \"version\": \"1\", \"python\": \"cp312\", "
                                "\"platform\": \"wasm32-wasi\"}",
                                false, 0},
                               {"x/__init__.py", "", false, 0},
                               {NULL, NULL, false, 0}};
    REFUSED(wheel("x.eryx", other_py), "x.eryx", "built for cp312 on wasm32-wasi");
    const member bad_json[] = {{"eryx-package.json", "{\"format\": 1,", false, 0}, {NULL, NULL, false, 0}};
    REFUSED(wheel("y.eryx", bad_json), "y.eryx", "damaged");
    /* A tree that is not a directory, or a manifest already there. */
    CHECK(eryx__package_write(file, "ext", "1.0", cmd, &err) == ERYX_ERR_PACKAGE && strstr(err.msg, "not a directory"));
    snprintf(file, sizeof file, "%s/eryx-package.json", dir);
    spill(file, (const unsigned char *)"{}", 2);
    CHECK(eryx__package_write(dir, "ext", "1.0", cmd, &err) == ERYX_ERR_PACKAGE &&
          strstr(err.msg, "already holds a file named eryx-package.json"));
}

int main(void) {
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    test_good_wheel();
    test_refused_wheels();
    test_damaged_wheels();
    test_source_trees();
    test_names();
    test_extension_modules();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return check_report("test_package");
}
