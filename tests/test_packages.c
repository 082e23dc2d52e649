/* End-to-end test of packages with real projects from PyPI (tests/packages/fetch.sh
** pins and fetches them): jinja2 (a wheel) with markupsafe's pure-Python fallback
** (its source tree), attrs, certifi (a data file read through importlib.resources),
** importlib.metadata, pre-imported packages in the snapshot, read-only mounts,
** isolation between builders, a changed source tree making a new snapshot, a
** platform wheel refused at build time, and the CLI's --package.
** Usage: test_packages PACKAGES_DIR ERYX_CLI */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "eryx.h"

static const char *dir, *cli;
static char tmp[] = "/tmp/eryx-test-packages-XXXXXX";

static char *pkg(const char *name) {
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}
#define JINJA2 pkg("jinja2-3.1.4-py3-none-any.whl")
#define MARKUPSAFE pkg("markupsafe-3.0.2")
#define ATTRS pkg("attrs-24.2.0-py3-none-any.whl")
#define CERTIFI pkg("certifi-2024.8.30-py3-none-any.whl")
#define PLATFORM_WHEEL pkg("MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")

/* The default cache dir: the interpreter compiled there is reused. */
static eryx_builder *builder(void) { return eryx_builder_new(); }

/* Runs code in a new sandbox of b; returns its stdout (malloc'd) or NULL, and the
** status in *st. */
static char *run(eryx_builder *b, const char *code, eryx_status *st) {
    eryx_sandbox *s = NULL;
    *st = eryx_sandbox_new(b, &s);
    if (*st != ERYX_OK) {
        fprintf(stderr, "eryx_sandbox_new: %s\n", eryx_builder_errmsg(b));
        return NULL;
    }
    eryx_result *r = NULL;
    *st = eryx_sandbox_execute(s, code, strlen(code), &r);
    char *out = strdup(eryx_result_stdout(r, NULL));
    if (*st != ERYX_OK) fprintf(stderr, "execute: %s\n%s\n", eryx_status_name(*st), eryx_result_stderr(r, NULL));
    eryx_result_free(r);
    eryx_sandbox_free(s);
    return out;
}

static void expect(eryx_builder *b, const char *code, eryx_status want_st, const char *want_out, int line) {
    eryx_status st;
    char *out = run(b, code, &st);
    check_count++;
    if (st != want_st || (want_out && (!out || strcmp(out, want_out) != 0))) {
        check_failures++;
        fprintf(stderr, "%s:%d: got %s, stdout \"%s\"; want %s, \"%s\"\n", __FILE__, line, eryx_status_name(st),
                out ? out : "(null)", eryx_status_name(want_st), want_out ? want_out : "(any)");
    }
    free(out);
}
#define EXPECT(b, code, st, out) expect(b, code, st, out, __LINE__)

static void test_jinja2_with_markupsafe_source_tree(void) {
    eryx_builder *b = builder();
    CHECK(eryx_builder_add_package(b, JINJA2) == ERYX_OK);
    CHECK(eryx_builder_add_package(b, MARKUPSAFE) == ERYX_OK);
    EXPECT(b,
           "import jinja2, markupsafe\n"
           "t = jinja2.Environment(autoescape=True).from_string('{% for x in xs %}<{{ x }}>{% endfor %}')\n"
           "print(t.render(xs=['a&b', '<i>']))\n"
           "print(markupsafe.__file__)\n"
           "import markupsafe._native\n" /* the pure-Python fallback; _speedups is C */
           "print(markupsafe.escape is markupsafe._native._escape_inner or 'native fallback')\n",
           ERYX_OK, "<a&amp;b><&lt;i&gt;>\n/packages/markupsafe_3_0_2/markupsafe/__init__.py\nnative fallback\n");
    EXPECT(b, "import importlib.metadata as m; print(m.version('jinja2'), m.version('markupsafe'))", ERYX_OK,
           "3.1.4 3.0.2\n");
    EXPECT(b, "import sys; print(sys.path[-2:], sys.path[0].startswith('/usr/local/lib'))", ERYX_OK,
           "['/packages/jinja2', '/packages/markupsafe_3_0_2'] True\n");
    /* Read-only: the image is shared by every sandbox. */
    EXPECT(b,
           "try:\n    open('/packages/jinja2/new.py', 'w')\nexcept OSError as e: print(e.errno == 69 or e)\n"
           "import os\ntry:\n    os.remove('/packages/jinja2/jinja2/__init__.py')\nexcept OSError as e: "
           "print('refused')\n",
           ERYX_OK, "True\nrefused\n");
    eryx_builder_free(b);
}

static void test_attrs_and_certifi(void) {
    eryx_builder *b = builder();
    CHECK(eryx_builder_add_package(b, ATTRS) == ERYX_OK);
    CHECK(eryx_builder_add_package(b, CERTIFI) == ERYX_OK);
    EXPECT(b,
           "import attrs\n@attrs.frozen\nclass P:\n    x: int\n    y: int = attrs.field(default=2)\n"
           "p = P(1)\nprint(p, attrs.asdict(p), attrs.__version__)\n"
           "try:\n    p.x = 3\nexcept attrs.exceptions.FrozenInstanceError: print('frozen')\n",
           ERYX_OK, "P(x=1, y=2) {'x': 1, 'y': 2} 24.2.0\nfrozen\n");
    EXPECT(b,
           "import certifi, importlib.resources as r\n"
           "pem = r.files('certifi').joinpath('cacert.pem').read_text()\n"
           "print(certifi.where(), pem.count('BEGIN CERTIFICATE') > 100, open(certifi.where()).read() == pem)\n",
           ERYX_OK, "/packages/certifi/certifi/cacert.pem True True\n");
    eryx_builder_free(b);
    /* A builder without the packages cannot import them. */
    b = builder();
    EXPECT(b, "try:\n    import attrs\nexcept ModuleNotFoundError: print('absent')\n", ERYX_OK, "absent\n");
    eryx_builder_free(b);
}

static void test_preimport(void) {
    eryx_builder *b = builder();
    CHECK(eryx_builder_add_package(b, JINJA2) == ERYX_OK);
    CHECK(eryx_builder_add_package(b, MARKUPSAFE) == ERYX_OK);
    CHECK(eryx_builder_add_preimport(b, "jinja2") == ERYX_OK);
    /* In the snapshot: already in sys.modules before the code imports it. */
    EXPECT(b, "import sys; print('jinja2' in sys.modules, 'markupsafe' in sys.modules)", ERYX_OK, "True True\n");
    EXPECT(b, "import jinja2; print(jinja2.Template('{{ 6*7 }}').render())", ERYX_OK, "42\n");
    eryx_builder_free(b);
    /* Another package set is another snapshot: attrs only, jinja2 not importable. */
    b = builder();
    CHECK(eryx_builder_add_package(b, ATTRS) == ERYX_OK);
    CHECK(eryx_builder_add_preimport(b, "attrs") == ERYX_OK);
    EXPECT(b,
           "import sys; print('attrs' in sys.modules, 'jinja2' in sys.modules)\n"
           "try:\n    import jinja2\nexcept ImportError: print('no jinja2')\n",
           ERYX_OK, "True False\nno jinja2\n");
    eryx_builder_free(b);
    /* Importing a package that was not added fails pre-initialization clearly. */
    b = builder();
    CHECK(eryx_builder_add_preimport(b, "jinja2") == ERYX_OK);
    eryx_sandbox *s = NULL;
    CHECK(eryx_sandbox_new(b, &s) == ERYX_ERR_PREINIT);
    CHECK(strstr(eryx_builder_errmsg(b), "No module named 'jinja2'") != NULL);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
}

/* A source tree's contents are part of the snapshot key: change a file, and the
** next builder's pre-imported module is the new one. */
static void test_changed_tree_new_snapshot(void) {
    char tree[600], file[700];
    snprintf(tree, sizeof tree, "%s/mytree", tmp);
    snprintf(file, sizeof file, "%s/mymod.py", tree);
    mkdir(tree, 0755);
    for (int version = 1; version <= 2; version++) {
        FILE *f = fopen(file, "w");
        fprintf(f, "VERSION = %d\n", version);
        fclose(f);
        eryx_builder *b = builder();
        CHECK(eryx_builder_add_package(b, tree) == ERYX_OK);
        CHECK(eryx_builder_add_preimport(b, "mymod") == ERYX_OK);
        char want[32];
        snprintf(want, sizeof want, "%d\n", version);
        EXPECT(b, "import sys; print(sys.modules['mymod'].VERSION)", ERYX_OK, want);
        eryx_builder_free(b);
    }
}

static void test_refusals(void) {
    eryx_builder *b = builder();
    CHECK(eryx_builder_add_package(b, PLATFORM_WHEEL) == ERYX_ERR_PACKAGE);
    CHECK(strstr(eryx_builder_errmsg(b), "MarkupSafe-3.0.2-cp313-cp313-manylinux") != NULL);
    CHECK(strstr(eryx_builder_errmsg(b), "another machine") != NULL);
    CHECK(eryx_builder_add_package(b, JINJA2) == ERYX_OK);
    CHECK(eryx_builder_add_package(b, JINJA2) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(eryx_builder_errmsg(b), "both named 'jinja2'") != NULL);
    CHECK(eryx_builder_add_package(b, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_add_package(NULL, JINJA2) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_add_mount(b, "/tmp", "/packages/x", 0) == ERYX_ERR_INVALID_ARGUMENT);
    /* The refused packages left the builder usable, with jinja2 only. */
    EXPECT(b, "import importlib.metadata as m, sys; print(m.version('jinja2'), sys.path[-1])", ERYX_OK,
           "3.1.4 /packages/jinja2\n");
    eryx_builder_free(b);
}

/* Runs the CLI through sh; returns its exit status and its stdout+stderr in out. */
static int sh(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sh(char *out, size_t cap, const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, cap - 1, p) : 0;
    out[n] = '\0';
    int st = p ? pclose(p) : -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli(void) {
    char out[8192];
    int rc = sh(out, sizeof out,
                "'%s' --package '%s' --package '%s' --import jinja2 -c "
                "'import jinja2; print(jinja2.Template(\"{{ x|upper }}\").render(x=\"ok\"))' 2>&1",
                cli, JINJA2, MARKUPSAFE);
    CHECK(rc == 0);
    CHECK_STR_EQ(out, "OK\n");
    rc = sh(out, sizeof out, "'%s' --package '%s' --import jinja2 build 2>&1", cli, JINJA2);
    CHECK(rc == 3); /* jinja2 needs markupsafe: the import fails, and says so */
    CHECK(strstr(out, "No module named 'markupsafe'") != NULL);
    rc = sh(out, sizeof out, "'%s' --package '%s' -c pass 2>&1", cli, PLATFORM_WHEEL);
    CHECK(rc == 3);
    CHECK(strstr(out, "eryx: --package: ") == out && strstr(out, "manylinux") && strstr(out, "pure-Python wheel"));
    rc = sh(out, sizeof out, "'%s' --package /nonexistent/x.whl -c pass 2>&1", cli);
    CHECK(rc == 3);
    CHECK(strstr(out, "/nonexistent/x.whl: No such file or directory") != NULL);
    rc = sh(out, sizeof out, "'%s' --package 2>&1", cli);
    CHECK(rc == 2);
    CHECK(strstr(out, "--package needs a value") != NULL);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: test_packages PACKAGES_DIR ERYX_CLI\n");
        return 2;
    }
    dir = argv[1];
    cli = argv[2];
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    test_jinja2_with_markupsafe_source_tree();
    test_attrs_and_certifi();
    test_preimport();
    test_changed_tree_new_snapshot();
    test_refusals();
    test_cli();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return check_report("test_packages");
}
