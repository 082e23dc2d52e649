/*
** End-to-end tests of the default start state (eryx_builder_set_default_imports),
** with real Python in the real sandbox:
**   1. a default builder starts with every module of eryx_default_imports() in
**      sys.modules; one with the default off starts with Python just started;
**   2. no state of a pre-imported module reaches the next execution: json's
**      functions, random's state and functions, re's compile cache, sys.modules,
**      os.environ, a module attribute added;
**   3. randomness differs per execution and per sandbox (random, secrets, uuid4,
**      os.urandom), while the string hash seed is the snapshot's (documented in
**      docs/SNAPSHOT.md: fixed per snapshot, drawn when it was made), and
**      logging's start time is the sandbox's;
**   4. a builder's own preimports are captured on top of the default state, and
**      a module it adds is visible only in its own sandboxes;
**   5. a configuration that extends another's imports (or only adds setup code)
**      starts its capture from that one's start state, when it exists.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "eryx.h"

static eryx_sandbox *new_sandbox(eryx_builder *b, const char *what) {
    eryx_sandbox *s = NULL;
    eryx_status st = eryx_sandbox_new(b, &s);
    CHECKF(st == ERYX_OK && s, "%s: eryx_sandbox_new gave %s: %s", what, eryx_status_name(st), eryx_builder_errmsg(b));
    return s;
}

/* Runs code; returns its stdout (malloc'd, "" on failure, which is a failed check). */
static char *output_of(eryx_sandbox *s, const char *code, const char *what) {
    eryx_result *r = NULL;
    eryx_status st = s ? eryx_sandbox_execute(s, code, strlen(code), &r) : ERYX_ERR_INVALID_ARGUMENT;
    const char *out = eryx_result_stdout(r, NULL);
    CHECKF(st == ERYX_OK, "%s: %s gave %s: %s; stderr: %.800s", what, code, eryx_status_name(st),
           s ? eryx_sandbox_errmsg(s) : "no sandbox", eryx_result_stderr(r, NULL));
    char *copy = strdup(st == ERYX_OK && out ? out : "");
    eryx_result_free(r);
    return copy;
}

static void expect_out(eryx_sandbox *s, const char *code, const char *want, const char *what) {
    char *out = output_of(s, code, what);
    CHECKF(!strcmp(out, want), "%s: %s printed \"%s\", want \"%s\"", what, code, out, want);
    free(out);
}

/* 1. Which modules the start state holds. */
static void test_modules(void) {
    const char *list = eryx_default_imports();
    CHECK(list && strchr(list, '\n') && strstr(list, "json\n"));
    eryx_builder *b = eryx_builder_new();
    eryx_sandbox *s = new_sandbox(b, "default builder");
    /* Every listed module is in sys.modules before the code imports anything. */
    char code[8192];
    snprintf(code, sizeof code,
             "import sys\nwant = %c%c%c%s%c%c%c.split()\nprint([m for m in want if m not in sys.modules])", '"', '"',
             '"', list, '"', '"', '"');
    expect_out(s, code, "[]\n", "default start state");
    eryx_sandbox_free(s);
    CHECK(eryx_builder_set_default_imports(b, 0) == ERYX_OK);
    s = new_sandbox(b, "default imports off");
    expect_out(s, "import sys\nprint('json' in sys.modules, 'statistics' in sys.modules)", "False False\n",
               "default imports off");
    expect_out(s, "import json\nprint(json.dumps([1]))", "[1]\n", "default imports off, import at run time");
    eryx_sandbox_free(s);
    CHECK(eryx_builder_set_default_imports(NULL, 1) == ERYX_ERR_INVALID_ARGUMENT);
    eryx_builder_free(b);
}

/* 2. Mutations of pre-imported modules, each seen to take effect, then gone. */
static const char probe[] =
    "import sys, os, json, random, re\n"
    "print(json.dumps({'a': 1}), random.random.__name__, random.Random.__name__,\n"
    "      any('eryx-probe' in str(k) for k in list(re._cache) + list(getattr(re, '_cache2', {}))),\n"
    "      'eryx_fake' in sys.modules, 'json' in sys.modules, os.environ.get('EXTRA'), hasattr(json, 'extra'))";
static const char probe_want[] = "{\"a\": 1} random Random False False True None False\n";

static void test_no_carry_over(void) {
    eryx_builder *b = eryx_builder_new();
    eryx_sandbox *s = new_sandbox(b, "carry-over");
    expect_out(s, probe, probe_want, "start state");
    static const struct {
        const char *code, *want;
    } mutations[] = {
        {"import json\njson.dumps = lambda o: 'forged'\nprint(json.dumps(1))", "forged\n"},
        {"import json\njson.extra = 1\nprint(json.extra)", "1\n"},
        {"import random\nrandom.random = lambda: 0.5\nrandom.Random = None\nprint(random.random())", "0.5\n"},
        {"import re\nre.compile('eryx-probe-[0-9]+')\nprint(any('eryx-probe' in str(k) for k in list(re._cache) + "
         "list(getattr(re, '_cache2', {}))))",
         "True\n"},
        {"import sys, types\nsys.modules['eryx_fake'] = types.ModuleType('eryx_fake')\nimport eryx_fake\nprint('ok')",
         "ok\n"},
        {"import sys\ndel sys.modules['json']\nprint('json' in sys.modules)", "False\n"},
        {"import os\nos.environ['EXTRA'] = 'yes'\nprint(os.environ['EXTRA'])", "yes\n"},
    };
    for (size_t i = 0; i < sizeof mutations / sizeof mutations[0]; i++) {
        char what[160];
        snprintf(what, sizeof what, "mutation %zu made", i);
        expect_out(s, mutations[i].code, mutations[i].want, what);
        snprintf(what, sizeof what, "after mutation %zu (%.50s...)", i, mutations[i].code);
        expect_out(s, probe, probe_want, what);
    }
    eryx_sandbox_free(s);
    eryx_builder_free(b);
}

/* 3. Four executions in two sandboxes draw four different values of each source. */
static void test_randomness(void) {
    eryx_builder *b = eryx_builder_new();
    eryx_sandbox *s[2] = {new_sandbox(b, "randomness 0"), new_sandbox(b, "randomness 1")};
    static const char draw[] = "import random, secrets, uuid, os\n"
                               "print(random.random(), random.getrandbits(64), secrets.token_hex(16), uuid.uuid4(),\n"
                               "      os.urandom(16).hex(), hash('eryx'))";
    char *outs[4] = {0};
    for (int i = 0; i < 4; i++) outs[i] = output_of(s[i % 2], draw, "a draw");
    /* Columns 0-4 differ pairwise; column 5 (the string hash) is the snapshot's. */
    for (int col = 0; col < 6; col++) {
        char *vals[4];
        for (int i = 0; i < 4; i++) {
            char *p = outs[i];
            for (int c = 0; c < col && p; c++) p = strchr(p, ' '), p = p ? p + 1 : NULL;
            size_t n = p ? strcspn(p, " \n") : 0;
            vals[i] = p ? strndup(p, n) : strdup("");
        }
        for (int i = 0; i < 4; i++)
            for (int j = i + 1; j < 4; j++) {
                if (col < 5)
                    CHECKF(*vals[i] && strcmp(vals[i], vals[j]), "value %d repeats across executions: %s", col,
                           vals[i]);
                else
                    CHECKF(*vals[i] && !strcmp(vals[i], vals[j]), "the string hash changed within a snapshot: %s %s",
                           vals[i], vals[j]);
            }
        for (int i = 0; i < 4; i++) free(vals[i]);
    }
    for (int i = 0; i < 4; i++) free(outs[i]);
    eryx_sandbox_free(s[0]);
    eryx_sandbox_free(s[1]);
    eryx_builder_free(b);
}

/* 3b. Clocks kept by pre-imported modules count from the sandbox's start: logging's
** relativeCreated would otherwise count from the capture (seconds to days ago). */
static void test_clocks(void) {
    eryx_builder *b = eryx_builder_new();
    eryx_sandbox *s = new_sandbox(b, "clocks"); /* the start state exists from here on */
    eryx_sandbox_free(s);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long t0 = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    s = new_sandbox(b, "clocks");
    char code[256];
    snprintf(code, sizeof code,
             "import logging, sys\nr = logging.LogRecord('n', 20, 'p', 1, 'm', None, None)\n"
             "print('logging' in sys.modules, logging._startTime >= %lld, 0 <= r.relativeCreated < 60000)",
             t0);
    expect_out(s, code, "True True True\n", "logging's start time");
    eryx_sandbox_free(s);
    eryx_builder_free(b);
}

/* 4. A builder's own preimport, on top of the default state, stays its own. */
static void test_layered(void) {
    eryx_builder *plain = eryx_builder_new(), *more = eryx_builder_new();
    CHECK(eryx_builder_add_preimport(more, "colorsys") == ERYX_OK);
    eryx_sandbox *a = new_sandbox(plain, "default"), *c = new_sandbox(more, "default + colorsys");
    static const char code[] = "import sys\nprint('colorsys' in sys.modules, 'json' in sys.modules)";
    for (int round = 0; round < 2; round++) {
        expect_out(a, code, "False True\n", "default builder");
        expect_out(c, code, "True True\n", "builder with a preimport");
    }
    eryx_sandbox_free(a);
    eryx_sandbox_free(c);
    eryx_builder_free(plain);
    eryx_builder_free(more);
}

/* 5. Prefix layers. stamp draws a random number when it is imported: a start state
** captured from another's has that one's number; one imported afresh, its own. */
static char *stamp_of(const char *pkg, const char *cache, const char *const *imports, const char *setup,
                      const char *extra_code, const char *what) {
    eryx_builder *b = eryx_builder_new();
    CHECK(eryx_builder_set_cache_dir(b, cache) == ERYX_OK);
    CHECK(eryx_builder_add_package(b, pkg) == ERYX_OK);
    for (; *imports; imports++) CHECK(eryx_builder_add_preimport(b, *imports) == ERYX_OK);
    if (setup) CHECK(eryx_builder_set_setup_code(b, setup, strlen(setup)) == ERYX_OK);
    eryx_sandbox *s = new_sandbox(b, what);
    char code[512];
    snprintf(code, sizeof code, "import sys, stamp\nprint(stamp.VALUE, len(sys.path) == len(set(sys.path))%s)",
             extra_code);
    char *out = output_of(s, code, what);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    return out;
}

static void test_prefix_layers(void) {
    char pkg[] = "/tmp/eryx-test-prefix-pkg-XXXXXX", cache[] = "/tmp/eryx-test-prefix-cache-XXXXXX", file[128];
    CHECK(mkdtemp(pkg) && mkdtemp(cache));
    snprintf(file, sizeof file, "%s/stamp.py", pkg);
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("import random\nVALUE = random.random()\n", f);
    fclose(f);
    char *a = stamp_of(pkg, cache, (const char *const[]){"stamp", NULL}, NULL, "", "stamp");
    char *b = stamp_of(pkg, cache, (const char *const[]){"stamp", "colorsys", NULL}, "X = 7",
                       ", 'colorsys' in sys.modules, X", "stamp + colorsys + setup");
    char *c = stamp_of(pkg, cache, (const char *const[]){"stamp", NULL}, "Y = 8", ", Y", "stamp + setup");
    char *d = stamp_of(pkg, cache, (const char *const[]){"colorsys", "stamp", NULL}, NULL, "", "colorsys + stamp");
    char want[256];
    size_t n = strcspn(a, " ");
    CHECKF(n > 2 && !strcmp(a + n, " True\n"), "stamp printed %s", a);
    snprintf(want, sizeof want, "%.*s True True 7\n", (int)n, a);
    CHECKF(!strcmp(b, want), "stamp + colorsys started from stamp's state: printed %s, want %s", b, want);
    snprintf(want, sizeof want, "%.*s True 8\n", (int)n, a);
    CHECKF(!strcmp(c, want), "stamp + setup started from stamp's state: printed %s, want %s", c, want);
    CHECKF(strncmp(d, a, n) != 0 && strstr(d, " True\n"), "colorsys + stamp (not a prefix) printed %s after %s", d, a);
    free(a), free(b), free(c), free(d);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", pkg, cache);
    CHECK(system(cmd) == 0);
}

int main(void) {
    test_modules();
    test_no_carry_over();
    test_randomness();
    test_clocks();
    test_layered();
    test_prefix_layers();
    return check_report("test_start_state");
}
