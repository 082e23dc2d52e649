/* End-to-end test of late-linked extensions with numpy 2.2.6 for wasm32-wasi (the
** package guest/numpy/build.sh makes): `import numpy` through CPython's import
** machinery, its 13 side modules loaded by src/link/loader.c; arithmetic,
** broadcasting, dtypes, linalg, fft, random reproducible across sandboxes,
** strings, datetimes, a MemoryError under the sandbox's cap; several imports in
** one sandbox (fresh state each time), a session keeping numpy, numpy pre-imported
** into the snapshot (its side modules loaded again in every restored instance);
** and the refusals: a session snapshot holding it, and a damaged extension file
** (an ImportError naming it).
** Usage: test_numpy NUMPY_PACKAGE_DIR */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "eryx.h"

static const char *pkg;

static char *run(eryx_sandbox *s, const char *code, eryx_status *st) {
    eryx_result *r = NULL;
    *st = eryx_sandbox_execute(s, code, strlen(code), &r);
    char *out = strdup(eryx_result_stdout(r, NULL));
    if (*st != ERYX_OK && *st != ERYX_ERR_PYTHON_EXCEPTION)
        fprintf(stderr, "execute: %s\n%s\n", eryx_status_name(*st), eryx_result_stderr(r, NULL));
    if (*st == ERYX_ERR_PYTHON_EXCEPTION) fprintf(stderr, "%s\n", eryx_result_stderr(r, NULL));
    eryx_result_free(r);
    return out;
}

static void expect(eryx_sandbox *s, const char *code, const char *want, int line) {
    eryx_status st;
    char *out = run(s, code, &st);
    check_count++;
    if (st != ERYX_OK || strcmp(out, want) != 0) {
        check_failures++;
        fprintf(stderr, "%s:%d: got %s \"%s\", want \"%s\"\n", __FILE__, line, eryx_status_name(st), out, want);
    }
    free(out);
}
#define EXPECT(s, code, want) expect(s, code, want, __LINE__)

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
    EXPECT(s,
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
    EXPECT(s, "import numpy as np\nnp.random.seed(7)\nx = np.random.randint(0, 10**6, 3).tolist()\n"
              "np.random.seed(7)\nprint(x == np.random.randint(0, 10**6, 3).tolist())",
           "True\n");
    free(d1);
    free(d2);
    eryx_sandbox_free(s2);
    eryx_sandbox_free(s);
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
    /* A session snapshot cannot carry the loaded extension modules yet: refused. */
    void *blob = NULL;
    size_t len = 0;
    CHECK(eryx_sandbox_snapshot(s, &blob, &len) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(eryx_sandbox_errmsg(s), "native extension") != NULL);
    free(blob);
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
    EXPECT(s, "import sys\nprint('numpy' in sys.modules)\nimport numpy as np\nprint((np.arange(6).reshape(2, 3) ** 2).sum())",
           "True\n55\n");
    /* Every execute starts from the snapshot again: the same modules, reloaded. */
    for (int i = 0; i < 3; i++)
        EXPECT(s, "import numpy as np\nprint(np.linalg.det(np.array([[1.0, 2.0], [3.0, 4.0]])).round(6), "
                  "np.fft.rfft([1.0, 1.0]).real.tolist(), np.random.default_rng(5).integers(0, 9, 2).tolist() == "
                  "np.random.default_rng(5).integers(0, 9, 2).tolist())",
               "-2.0 [2.0, 0.0] True\n");
    eryx_sandbox *s2 = sandbox(b);
    CHECK(s2 != NULL);
    if (s2) EXPECT(s2, "import numpy as np\nprint(np.__version__, np.ones(3).dtype)", "2.2.6 float64\n");
    eryx_sandbox_free(s2);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
}

static void test_refusals(void) {
    eryx_builder *b;
    eryx_sandbox *s;
    /* A damaged extension file (wasm magic, then garbage): an ImportError that
    ** names the file and the cause. */
    char dir[] = "/tmp/eryx-test-numpy-XXXXXX", path[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/brokenext.cpython-313-wasm32-wasi.so", dir);
    FILE *f = fopen(path, "wb");
    fwrite("\0asm\1\0\0\0garbage", 1, 15, f);
    fclose(f);
    b = eryx_builder_new();
    CHECK(eryx_builder_add_package(b, dir) == ERYX_OK);
    s = sandbox(b);
    if (s) {
        EXPECT(s, "try:\n    import brokenext\nexcept ImportError as e:\n    print(e.name, 'brokenext.cpython' in str(e), "
                  "'is not a usable extension' in str(e))",
               "brokenext True True\n");
        eryx_sandbox_free(s);
    }
    eryx_builder_free(b);
    unlink(path);
    rmdir(dir);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_numpy NUMPY_PACKAGE_DIR\n");
        return 2;
    }
    pkg = argv[1];
    test_numpy_in_fresh_sandboxes();
    test_session_keeps_numpy();
    test_preimported_numpy();
    test_refusals();
    return check_report("test_numpy");
}
