/* End-to-end test of late-linked extensions with numpy 2.2.6 for wasm32-wasi (the
** package guest/numpy/build.sh makes): `import numpy` through CPython's import
** machinery, its 13 side modules loaded by src/link/loader.c; arithmetic,
** broadcasting, dtypes, linalg, fft, random reproducible across sandboxes,
** strings, datetimes, a MemoryError under the sandbox's cap; several imports in
** one sandbox (fresh state each time), a session keeping numpy, numpy pre-imported
** into the snapshot (its side modules loaded again in every restored instance);
** a session snapshot of it restored in another sandbox; the build-time errors (a
** damaged extension, one tagged for another interpreter, a missing symbol); and
** numpy as one .eryx package file.
** Usage: test_numpy NUMPY_PACKAGE_DIR */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "expect_util.h"
#include "eryx.h"
#include "../src/package/package.h" /* eryx__package_write, as `eryx package` */

static const char *pkg;


static eryx_sandbox *sandbox(eryx_builder *b) {
    eryx_sandbox *s = NULL;
    eryx_status st = eryx_sandbox_new(b, &s);
    if (st != ERYX_OK) fprintf(stderr, "eryx_sandbox_new: %s\n", eryx_builder_errmsg(b));
    return s;
}

static void test_numpy_in_fresh_sandboxes(void) {
    eryx_builder *b = eryx_builder_new();
    CHECK(eryx_builder_add_package(b, pkg) == ERYX_OK);
    eryx_builder_set_max_memory(b, 512u << 20);
    eryx_sandbox *s = sandbox(b);
    CHECK(s != NULL);
    if (!s) return;
    EXPECT(s, "import numpy as np\nprint(np.__version__, np.arange(12).reshape(3, 4).sum(axis=0).tolist())",
           "2.2.6 [12, 15, 18, 21]\n");
    /* Each execute starts afresh: numpy is imported (and its modules loaded) again. */
    EXPECT(s,
           "import sys\nprint('numpy' in sys.modules)\nimport numpy as np\n"
           "a = np.ones((3, 1)) * np.arange(4)\nprint(a.shape, a.dtype, a[2].tolist())",
           "False\n(3, 4) float64 [0.0, 1.0, 2.0, 3.0]\n");
    EXPECT(s,
           "import numpy as np\n"
           "print([np.dtype(t).itemsize for t in ('int8', 'int64', 'float16', 'complex128', 'bool')])\n"
           "print(np.array([1, 2], dtype=np.uint8) - np.array([2, 1], dtype=np.uint8))\n"
           "print(np.array([0.1, 0.2]).astype(np.float32).dtype, (np.array([3]) / 2).tolist())",
           "[1, 8, 2, 16, 1]\n[255   1]\nfloat32 [1.5]\n");
    EXPECT(s,
           "import numpy as np\nA = np.array([[3.0, 1.0], [1.0, 2.0]])\n"
           "print(np.linalg.solve(A, np.array([9.0, 8.0])).round(6).tolist())\n"
           "print((np.linalg.inv(A) @ A).round(6).tolist())\n"
           "print(sorted(np.linalg.eigvals(np.array([[2.0, 0], [0, 5.0]])).tolist()))",
           "[2.0, 3.0]\n[[1.0, 0.0], [0.0, 1.0]]\n[2.0, 5.0]\n");
    EXPECT(s,
           "import numpy as np\nprint(np.fft.fft([1, 0, 0, 0]).real.tolist(), "
           "np.fft.ifft(np.fft.fft([1.0, 2.0, 3.0])).real.round(6).tolist())",
           "[1.0, 1.0, 1.0, 1.0] [1.0, 2.0, 3.0]\n");
    EXPECT(
        s,
        "import numpy as np\nprint(np.array(['ab', 'c']).astype('U3').tolist(), np.char.upper(['x', 'yz']).tolist())\n"
        "d = np.datetime64('2026-11-27') + np.arange(3) * np.timedelta64(1, 'W')\nprint(d.astype(str).tolist())",
        "['ab', 'c'] ['X', 'YZ']\n['2026-11-27', '2026-12-04', '2026-12-11']\n");
    /* A MemoryError under the sandbox's 512 MiB cap, and the sandbox goes on. */
    EXPECT(s,
           "import numpy as np\ntry:\n    np.zeros((100 << 20,), dtype=np.float64)  # 800 MiB\nexcept MemoryError:\n"
           "    print('MemoryError')\nprint(np.zeros(3).tolist())",
           "MemoryError\n[0.0, 0.0, 0.0]\n");
    /* Reproducible random numbers: the same seed in another sandbox, the same draws. */
    const char *draw = "import numpy as np\nprint(np.random.default_rng(1234).integers(0, 1000, 5).tolist(), "
                       "round(float(np.random.default_rng(1234).standard_normal()), 12))";
    eryx_status st1, st2;
    char *d1 = run(s, draw, &st1);
    eryx_sandbox *s2 = sandbox(b);
    char *d2 = s2 ? run(s2, draw, &st2) : NULL;
    CHECK(st1 == ERYX_OK && d2 && st2 == ERYX_OK && strlen(d1) > 10 && !strcmp(d1, d2));
    /* The legacy API (mtrand) too. */
    EXPECT(s,
           "import numpy as np\nnp.random.seed(7)\nx = np.random.randint(0, 10**6, 3).tolist()\n"
           "np.random.seed(7)\nprint(x == np.random.randint(0, 10**6, 3).tolist())",
           "True\n");
    free(d1);
    free(d2);
    eryx_sandbox_free(s2);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
}

/* A second import of numpy after its modules left sys.modules: the extension
** modules are not initialized again (numpy refuses that), the same module objects
** come back, as from CPython's extension cache. */
static void test_reimport(void) {
    eryx_builder *b = eryx_builder_new();
    eryx_builder_add_package(b, pkg);
    eryx_sandbox *s = sandbox(b);
    if (s) {
        EXPECT(s,
               "import sys, warnings, numpy\nm1 = sys.modules['numpy._core._multiarray_umath']\n"
               "for k in [k for k in sys.modules if k == 'numpy' or k.startswith('numpy.')]: del sys.modules[k]\n"
               "warnings.simplefilter('ignore')\nimport numpy\n"
               "print(sys.modules['numpy._core._multiarray_umath'] is m1, numpy.__version__)",
               "True 2.2.6\n");
        /* Methods numpy registers with a calling convention their C functions do not
        ** have trapped the sandbox (guest/numpy/patches/0002-method-signatures.patch). */
        EXPECT(s,
               "import numpy as np, pickle\nm = np._core._multiarray_umath\n"
               "c = m._get_castingimpl(type(np.dtype('d')), type(np.dtype('f')))\n"
               "print(type(c).__name__, c._supports_unaligned)\n"
               "try:\n    pickle.dumps(m._get_sfloat_dtype()(1.0))\nexcept pickle.PicklingError:\n    print('refused')",
               "_BoundArrayMethod True\nrefused\n");
        eryx_sandbox_free(s);
    }
    eryx_builder_free(b);
}

static void test_session_keeps_numpy(void) {
    eryx_builder *b = eryx_builder_new();
    eryx_builder_add_package(b, pkg);
    eryx_builder_set_keep_state(b, 1);
    eryx_sandbox *s = sandbox(b);
    if (!s) return;
    EXPECT(s, "import numpy as np\nm = np.eye(2) * 3", "");
    EXPECT(s, "print((m @ np.ones(2)).tolist())", "[3.0, 3.0]\n");
    /* A session snapshot carries numpy's state: restored in another sandbox (and
    ** in this one, over a session that loaded more), its side modules are loaded
    ** again where they were and its arrays are there. */
    EXPECT(s, "import numpy.fft\nf = np.fft.fft(np.ones(4)).real.tolist()", "");
    void *blob = NULL;
    size_t len = 0;
    CHECK(eryx_sandbox_snapshot(s, &blob, &len) == ERYX_OK && blob && len > 0);
    eryx_sandbox *t = sandbox(b);
    CHECK(t != NULL);
    if (t && blob) {
        CHECK(eryx_sandbox_restore(t, blob, len) == ERYX_OK);
        EXPECT(t, "print((m @ np.ones(2)).tolist(), f, np.linalg.inv(m).tolist())",
               "[3.0, 3.0] [4.0, 0.0, 0.0, 0.0] [[0.3333333333333333, 0.0], [0.0, 0.3333333333333333]]\n");
        EXPECT(t,
               "print(np.random.default_rng(1).integers(0, 10, 3).tolist() == "
               "np.random.default_rng(1).integers(0, 10, 3).tolist())",
               "True\n");
    }
    EXPECT(s, "m = m * 2", "");
    if (blob) {
        CHECK(eryx_sandbox_restore(s, blob, len) == ERYX_OK);
        EXPECT(s, "print(m.tolist())", "[[3.0, 0.0], [0.0, 3.0]]\n");
    }
    /* A damaged blob is refused; the sandbox is left as it was, and works. */
    if (blob && len > 64) {
        unsigned char *bad = malloc(len);
        memcpy(bad, blob, len);
        bad[len / 2] ^= 0xff;
        CHECK(eryx_sandbox_restore(s, bad, len) != ERYX_OK);
        free(bad);
        EXPECT(s, "import numpy as np\nprint(np.arange(3).sum())", "3\n");
    }
    eryx_blob_free(blob);
    eryx_sandbox_free(t);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
}

/* numpy imported while the snapshot is made: restored instances load its side
** modules again where they were, and the code finds numpy already imported. */
static void test_preimported_numpy(void) {
    eryx_builder *b = eryx_builder_new();
    eryx_builder_add_package(b, pkg);
    CHECK(eryx_builder_add_preimport(b, "numpy") == ERYX_OK);
    eryx_sandbox *s = sandbox(b);
    CHECK(s != NULL);
    if (!s) {
        eryx_builder_free(b);
        return;
    }
    EXPECT(
        s,
        "import sys\nprint('numpy' in sys.modules)\nimport numpy as np\nprint((np.arange(6).reshape(2, 3) ** 2).sum())",
        "True\n55\n");
    /* Every execute starts from the snapshot again: the same modules, reloaded. */
    for (int i = 0; i < 3; i++)
        EXPECT(s,
               "import numpy as np\nprint(np.linalg.det(np.array([[1.0, 2.0], [3.0, 4.0]])).round(6), "
               "np.fft.rfft([1.0, 1.0]).real.tolist(), np.random.default_rng(5).integers(0, 9, 2).tolist() == "
               "np.random.default_rng(5).integers(0, 9, 2).tolist())",
               "-2.0 [2.0, 0.0] True\n");
    eryx_sandbox *s2 = sandbox(b);
    CHECK(s2 != NULL);
    if (s2) EXPECT(s2, "import numpy as np\nprint(np.__version__, np.ones(3).dtype)", "2.2.6 float64\n");
    eryx_sandbox_free(s2);
    eryx_sandbox_free(s);
    /* A session over the pre-imported start state that loads more (numpy.random's
    ** modules): its snapshot restores the start's modules, then the session's. */
    eryx_builder_set_keep_state(b, 1);
    s = sandbox(b);
    s2 = sandbox(b);
    if (s && s2) {
        EXPECT(s, "import numpy as np\ng = np.random.default_rng(7)\nfirst = g.integers(0, 100, 4).tolist()", "");
        void *blob = NULL;
        size_t len = 0;
        CHECK(eryx_sandbox_snapshot(s, &blob, &len) == ERYX_OK);
        EXPECT(s, "print(g.integers(0, 100, 4).tolist() != first)", "True\n");
        if (blob) {
            CHECK(eryx_sandbox_restore(s2, blob, len) == ERYX_OK);
            EXPECT(s2,
                   "print(g.integers(0, 100, 4).tolist() == np.random.default_rng(7).integers(0, 100, 8)"
                   ".tolist()[4:])",
                   "True\n");
        }
        eryx_blob_free(blob);
    }
    eryx_sandbox_free(s2);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
}

/* Expects st == ERYX_ERR_PACKAGE and the builder's message to hold both needles. */
static void expect_package_error(eryx_status st, eryx_builder *b, const char *n1, const char *n2, int line) {
    check_count++;
    const char *msg = eryx_builder_errmsg(b);
    if (getenv("ERYX_TEST_VERBOSE")) fprintf(stderr, "line %d: %s\n", line, msg);
    if (st != ERYX_ERR_PACKAGE || !strstr(msg, n1) || !strstr(msg, n2)) {
        check_failures++;
        fprintf(stderr, "%s:%d: want ERYX_ERR_PACKAGE with '%s' and '%s', got %s: %s\n", __FILE__, line, n1, n2,
                eryx_status_name(st), msg);
    }
}
#define PACKAGE_ERROR(st, b, n1, n2) expect_package_error(st, b, n1, n2, __LINE__)

/* Replaces every occurrence of from by to (same length) in the file; the count. */
static int patch_file(const char *path, const char *from, const char *to) {
    FILE *f = fopen(path, "r+b");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    size_t n = (size_t)ftell(f), k = strlen(from), hits = 0;
    rewind(f);
    char *buf = malloc(n);
    if (!buf || fread(buf, 1, n, f) != n) n = 0;
    for (char *p = buf; n && (p = memmem(p, n - (size_t)(p - buf), from, k)); p += k, hits++) memcpy(p, to, k);
    rewind(f);
    if (n && fwrite(buf, 1, n, f) != n) hits = 0;
    fclose(f);
    free(buf);
    return (int)hits;
}

/* Build-time errors, each naming the file and the cause: a damaged extension, an
** extension tagged for another interpreter, one that needs a symbol this
** interpreter does not export (a copy of numpy with one import renamed). */
static void test_refusals(void) {
    eryx_builder *b;
    eryx_sandbox *s = NULL;
    char dir[] = "/tmp/eryx-test-numpy-XXXXXX", path[512], cmd[1200];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/brokenext.cpython-313-wasm32-wasi.so", dir);
    FILE *f = fopen(path, "wb");
    fwrite("\0asm\1\0\0\0garbage", 1, 15, f);
    fclose(f);
    b = eryx_builder_new();
    PACKAGE_ERROR(eryx_builder_add_package(b, dir), b, "brokenext.cpython-313-wasm32-wasi.so", "cannot be loaded");
    eryx_builder_free(b);
    unlink(path);

    /* numpy's tree, copied, with _umath_linalg's PyErr_SetString import renamed. */
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s/numpy_copy'", pkg, dir);
    CHECK(system(cmd) == 0);
    const char *ext = "numpy/linalg/_umath_linalg.cpython-313-wasm32-wasi.so";
    snprintf(path, sizeof path, "%s/numpy_copy/%s", dir, ext);
    CHECK(patch_file(path, "PyErr_SetString", "PyErr_SetStrinX") > 0);
    snprintf(cmd, sizeof cmd, "%s/numpy_copy", dir);
    for (int preimport = 0; preimport < 2; preimport++) {
        b = eryx_builder_new();
        CHECK(eryx_builder_add_package(b, cmd) == ERYX_OK); /* its modules read; the link is checked at build */
        if (preimport) CHECK(eryx_builder_add_preimport(b, "numpy") == ERYX_OK);
        PACKAGE_ERROR(eryx_sandbox_new(b, &s), b, ext, "needs the function PyErr_SetStrinX");
        CHECK(s == NULL);
        CHECK(strstr(eryx_builder_errmsg(b), "another interpreter build") != NULL);
        eryx_builder_free(b);
    }
    /* The same module tagged for CPython 3.12. */
    char renamed[600];
    snprintf(renamed, sizeof renamed, "%s/numpy_copy/numpy/linalg/_umath_linalg.cpython-312-wasm32-wasi.so", dir);
    CHECK(rename(path, renamed) == 0);
    b = eryx_builder_new();
    PACKAGE_ERROR(eryx_builder_add_package(b, cmd), b, "_umath_linalg.cpython-312-wasm32-wasi.so",
                  "for another interpreter build");
    eryx_builder_free(b);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* Compiled code only from what the embedder gave: a side module copied by the
** guest to /tmp (writable) is refused with a message that says why, and the
** sandbox goes on (the standard engine cannot interrupt code the guest brings:
** docs/RUNTIME.md, "Interrupts"). */
static void test_guest_written_extension_refused(void) {
    eryx_builder *b = eryx_builder_new();
    CHECK(eryx_builder_add_package(b, pkg) == ERYX_OK);
    eryx_sandbox *s = sandbox(b);
    CHECK(s != NULL);
    if (s) {
        EXPECT(s,
               "import shutil, sys\nimport numpy.fft._pocketfft_umath as m\n"
               "shutil.copy(m.__file__, '/tmp/pfu.cpython-313-wasm32-wasi.so')\nsys.path.insert(0, '/tmp')\n"
               "try:\n    import pfu\n    print('loaded')\nexcept ImportError as e:\n"
               "    print('writable mount: extension modules load only from packages' in str(e))\n",
               "True\n");
        EXPECT(s, "import numpy as np\nprint(int(np.arange(4).sum()))", "6\n");
        eryx_sandbox_free(s);
    }
    eryx_builder_free(b);
}

/* numpy as one eryx package file (what `eryx package` writes): mounted at
** /packages/numpy, imported, pre-imported. */
static void test_eryx_package_file(void) {
    char dir[] = "/tmp/eryx-test-numpy-XXXXXX", file[256], cmd[600];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(file, sizeof file, "%s/numpy-2.2.6.eryx", dir);
    eryx__errbuf err = {0};
    CHECK(eryx__package_write(pkg, "numpy", "2.2.6", file, &err) == ERYX_OK);
    eryx_builder *b = eryx_builder_new();
    CHECK(eryx_builder_add_package(b, file) == ERYX_OK);
    CHECK(eryx_builder_add_preimport(b, "numpy") == ERYX_OK);
    eryx_sandbox *s = sandbox(b);
    CHECK(s != NULL);
    if (s) {
        EXPECT(s, "import numpy as np\nprint(np.__file__, round(np.linalg.det(np.eye(3) * 2)))",
               "/packages/numpy/numpy/__init__.py 8\n");
        eryx_sandbox_free(s);
    }
    eryx_builder_free(b);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_numpy NUMPY_PACKAGE_DIR\n");
        return 2;
    }
    pkg = argv[1];
    test_numpy_in_fresh_sandboxes();
    test_session_keeps_numpy();
    test_reimport();
    test_preimported_numpy();
    test_refusals();
    test_guest_written_extension_refused();
    test_eryx_package_file();
    return check_report("test_numpy");
}
