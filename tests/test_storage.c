/* Shared storage (eryx_storage_*, eryx_builder_add_storage), exported start states
** (eryx_builder_export_snapshot / _import_snapshot) and the session setters
** (eryx_sandbox_set_timeout_ms / _set_fuel), through the C API. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "eryx.h"

static char *run(eryx_sandbox *s, const char *code, eryx_status *st) {
    eryx_result *r = NULL;
    *st = eryx_sandbox_execute(s, code, strlen(code), &r);
    char *out = strdup(eryx_result_stdout(r, NULL));
    eryx_result_free(r);
    return out;
}

static void test_storage(void) {
    eryx_storage *st = eryx_storage_new(0);
    CHECK(st != NULL);
    eryx_builder *a = eryx_builder_new(), *b = eryx_builder_new();
    eryx_builder_set_keep_state(a, 1);
    CHECK(eryx_builder_add_storage(a, st, "/data") == ERYX_OK);
    CHECK(eryx_builder_add_storage(b, st, "/shared") == ERYX_OK);
    CHECK(eryx_builder_add_storage(b, st, "/usr/local/lib/x") == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_add_storage(b, NULL, "/y") == ERYX_ERR_INVALID_ARGUMENT);
    eryx_sandbox *sa = NULL, *sb = NULL;
    CHECK(eryx_sandbox_new(a, &sa) == ERYX_OK);
    CHECK(eryx_sandbox_new(b, &sb) == ERYX_OK);
    eryx_builder_free(a);
    eryx_builder_free(b);
    eryx_storage_release(st); /* the sandboxes keep it alive */
    eryx_status s;
    free(run(sa, "open('/data/n.txt', 'w').write('hello')", &s));
    CHECK(s == ERYX_OK);
    char *out = run(sb, "print(open('/shared/n.txt').read())", &s);
    CHECK_STR_EQ(out, "hello\n");
    free(out);
    CHECK(eryx_sandbox_reset(sa) == ERYX_OK);
    out = run(sa, "import os; print(os.listdir('/data'))", &s);
    CHECK_STR_EQ(out, "['n.txt']\n");
    free(out);
    /* the timeout of a live sandbox */
    CHECK(eryx_sandbox_set_timeout_ms(sa, 100) == ERYX_OK);
    free(run(sa, "while True: pass", &s));
    CHECK(s == ERYX_ERR_TIMEOUT);
    CHECK(eryx_sandbox_set_fuel(sa, 10) == ERYX_ERR_INVALID_ARGUMENT); /* not metered */
    eryx_sandbox_free(sa);
    eryx_sandbox_free(sb);
}

static void test_export_import(void) {
    eryx_builder *b = eryx_builder_new();
    eryx_builder_add_preimport(b, "json");
    void *blob = NULL;
    size_t len = 0;
    CHECK(eryx_builder_export_snapshot(b, &blob, &len) == ERYX_OK);
    CHECK(blob && len > 1000);
    CHECK(eryx_builder_import_snapshot(b, blob, len) == ERYX_OK);
    eryx_builder *other = eryx_builder_new();
    eryx_builder_add_preimport(other, "decimal");
    CHECK(eryx_builder_import_snapshot(other, blob, len) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(eryx_builder_errmsg(other), "another configuration") != NULL);
    ((unsigned char *)blob)[len - 10] ^= 0xff;
    CHECK(eryx_builder_import_snapshot(b, blob, len) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(eryx_builder_errmsg(b), "damaged") != NULL);
    CHECK(eryx_builder_import_snapshot(b, "nope", 4) == ERYX_ERR_INVALID_ARGUMENT);
    eryx_blob_free(blob);
    eryx_builder_set_preinit(other, 0);
    CHECK(eryx_builder_export_snapshot(other, &blob, &len) == ERYX_ERR_INVALID_ARGUMENT);
    eryx_builder_free(other);
    eryx_builder_free(b);
}

int main(void) {
    test_storage();
    test_export_import();
    return check_report("test_storage");
}
