/* Unit test of src/link/symbols.c's symbol cache, with no engine: names found and
** not found, the same name with two extern kinds, growth past the first table, and
** names that all hash alike (a hostile side module's): still correct, each lookup
** bounded (past MAX_PROBES a name is simply not cached). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "../src/link/loader.h"

static eryx__dl_import import_named(const char *name, uint32_t hash) {
    return (eryx__dl_import){.cls = ERYX__DLI_FUNC, .module = "env", .name = name, .len = strlen(name), .hash = hash};
}

static uint32_t fnv(const char *s) { /* the cache's own spread is not part of its contract */
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h ? h : 1;
}

int main(void) {
    eryx__dl_host h;
    memset(&h, 0, sizeof h);
    char names[20000][16];
    for (int i = 0; i < 20000; i++) snprintf(names[i], sizeof names[i], "sym_%d", i);
    /* 20,000 names (past the first 4,096-slot table twice), each with its own extern. */
    for (int i = 0; i < 20000; i++) {
        eryx__dl_import im = import_named(names[i], fnv(names[i]));
        wasmtime_extern_t x = {.kind = WASMTIME_EXTERN_FUNC};
        x.of.func.store_id = (uint64_t)i + 1;
        CHECK(eryx__dl_sym_add(&h, &im, WASMTIME_EXTERN_FUNC, &x, (uint32_t)i * 16, i % 2 == 0) == 0);
    }
    CHECK(h.nsyms == 20000 && h.syms_cap >= 20000 * 4 / 3);
    int right = 0;
    for (int i = 0; i < 20000; i++) {
        eryx__dl_import im = import_named(names[i], fnv(names[i]));
        const eryx__dl_sym *e = eryx__dl_sym_find(&h, &im, WASMTIME_EXTERN_FUNC);
        right += e && e->ext.of.func.store_id == (uint64_t)i + 1 && e->base == (uint32_t)i * 16 &&
                 e->in_main == (i % 2 == 0);
    }
    CHECKF(right == 20000, "%d of 20000 names found with their extern", right);
    /* The same name as another kind, and a name never added: not found. */
    eryx__dl_import im = import_named(names[7], fnv(names[7]));
    CHECK(eryx__dl_sym_find(&h, &im, WASMTIME_EXTERN_GLOBAL) == NULL);
    eryx__dl_import missing = import_named("never_added", fnv("never_added"));
    CHECK(eryx__dl_sym_find(&h, &missing, WASMTIME_EXTERN_FUNC) == NULL);
    /* A hash shared with an added name, another name: not that name's entry. */
    eryx__dl_import clash = import_named("sym_7x", fnv(names[7]));
    CHECK(eryx__dl_sym_find(&h, &clash, WASMTIME_EXTERN_FUNC) == NULL);
    eryx__dl_syms_free(&h);
    CHECK(h.syms == NULL && h.nsyms == 0);

    /* 500 names with one hash: the first ones are cached, the rest not; no lookup
    ** returns another name's entry, and adding never fails. */
    int cached = 0, wrong = 0;
    for (int i = 0; i < 500; i++) {
        eryx__dl_import c = import_named(names[i], 12345);
        wasmtime_extern_t x = {.kind = WASMTIME_EXTERN_FUNC};
        x.of.func.store_id = (uint64_t)i + 1;
        CHECK(eryx__dl_sym_add(&h, &c, WASMTIME_EXTERN_FUNC, &x, 0, true) == 0);
    }
    for (int i = 0; i < 500; i++) {
        eryx__dl_import c = import_named(names[i], 12345);
        const eryx__dl_sym *e = eryx__dl_sym_find(&h, &c, WASMTIME_EXTERN_FUNC);
        if (e) cached++, wrong += e->ext.of.func.store_id != (uint64_t)i + 1;
    }
    CHECKF(cached > 0 && cached < 500 && wrong == 0, "colliding names: %d cached, %d wrong", cached, wrong);
    eryx__dl_syms_free(&h);
    return check_report("test_dl_symbols");
}
