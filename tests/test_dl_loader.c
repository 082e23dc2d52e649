/* Unit test of src/link/loader.c with tiny modules built by clang (tests/dl/):
** a main module and a PIC side module loaded into its store. side_entry adds a
** distinct power of ten for each part of the link that works (imports, GOT.mem,
** function-pointer identity with the main, the table, data relocations,
** constructors, zeroed .bss), so the expected sum checks them all at once.
** Usage: test_dl_loader MAIN.wasm SIDE.wasm SIDE_BAD.wasm */
#include <stdlib.h>
#include <wasmtime.h>
#include "check.h"
#include "../src/link/loader.h"

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    uint8_t *b = malloc(*len ? *len : 1);
    if (fread(b, 1, *len, f) != *len) *len = 0;
    fclose(f);
    return b;
}

static wasmtime_module_t *compile(wasm_engine_t *engine, const char *path, eryx__dylink *d) {
    size_t len = 0;
    uint8_t *bytes = slurp(path, &len);
    if (!bytes) {
        fprintf(stderr, "cannot read %s\n", path);
        return NULL;
    }
    eryx__errbuf err;
    if (d && eryx__dylink_read(bytes, len, d, &err) != 0) fprintf(stderr, "%s: %s\n", path, err.msg);
    wasmtime_module_t *m = NULL;
    wasmtime_error_t *e = wasmtime_module_new(engine, bytes, len, &m);
    if (e) {
        fprintf(stderr, "compile %s failed\n", path);
        wasmtime_error_delete(e);
    }
    free(bytes);
    return m;
}

static int32_t call_i32(wasmtime_context_t *cx, const wasmtime_instance_t *inst, const char *fn, int32_t arg) {
    wasmtime_extern_t x;
    if (!wasmtime_instance_export_get(cx, inst, fn, strlen(fn), &x) || x.kind != WASMTIME_EXTERN_FUNC) return -1;
    wasmtime_val_t a = {.kind = WASMTIME_I32, .of.i32 = arg}, r = {.kind = WASMTIME_I32, .of.i32 = -1};
    wasm_trap_t *trap = NULL;
    wasmtime_error_t *e = wasmtime_func_call(cx, &x.of.func, &a, 1, &r, 1, &trap);
    if (e) wasmtime_error_delete(e);
    if (trap) wasm_trap_delete(trap);
    return e || trap ? -1 : r.of.i32;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: test_dl_loader MAIN.wasm SIDE.wasm SIDE_BAD.wasm\n");
        return 2;
    }
    wasm_engine_t *engine = wasm_engine_new();
    eryx__dylink d, dbad, dmain;
    wasmtime_module_t *main_mod = compile(engine, argv[1], NULL), *side = compile(engine, argv[2], &d),
                      *bad = compile(engine, argv[3], &dbad);
    CHECK(main_mod && side && bad);
    if (!main_mod || !side || !bad) return check_report("test_dl_loader");
    /* The main module is not a side module: its dylink.0 is missing. */
    size_t mlen = 0;
    uint8_t *mbytes = slurp(argv[1], &mlen);
    eryx__errbuf err;
    CHECK(eryx__dylink_read(mbytes, mlen, &dmain, &err) == ERYX_ERR_PACKAGE && strstr(err.msg, "not a side module"));
    free(mbytes);
    CHECK(d.mem_size > 0); /* numbers, ptr_to_own_data, ctor_ran, zeroed */

    wasmtime_store_t *store = wasmtime_store_new(engine, NULL, NULL);
    wasmtime_context_t *cx = wasmtime_store_context(store);
    wasmtime_linker_t *linker = wasmtime_linker_new(engine);
    wasmtime_error_t *e = wasmtime_linker_define_unknown_imports_as_traps(linker, main_mod);
    wasmtime_instance_t main_inst;
    wasm_trap_t *trap = NULL;
    if (!e) e = wasmtime_linker_instantiate(linker, cx, main_mod, &main_inst, &trap);
    CHECK(!e && !trap);
    if (e || trap) return check_report("test_dl_loader");
    wasmtime_extern_t init;
    if (wasmtime_instance_export_get(cx, &main_inst, "_initialize", 11, &init))
        CHECK(wasmtime_func_call(cx, &init.of.func, NULL, 0, NULL, 0, &trap) == NULL && !trap);

    eryx__dl_host h;
    CHECK(eryx__dl_host_init(&h, cx, &main_inst, NULL, &err) == 0); /* a scan of the table */
    CHECK(h.nslots > 0); /* `twice` is in the main's table: main_ptr_twice takes its address */
    const eryx__dl_module *m = NULL;
    int rc = eryx__dl_load(&h, side, &d, NULL, "side.wasm", &m, &err);
    if (rc) fprintf(stderr, "load: %s\n", err.msg);
    CHECK(rc == 0 && m);
    if (m) {
        CHECK(m->memory_base != 0 && m->memory_base % 16 == 0);
        /* 7 + counter(5), + identity, table call, relocation, constructor, zeroed .bss */
        CHECK(call_i32(cx, &m->instance, "side_entry", 7) == 11111012);
        CHECK(call_i32(cx, &m->instance, "side_entry", 7) == 11111013); /* it incremented the main's counter */
        /* The main sees the side module's write: its counter is now 7. */
        wasmtime_extern_t g;
        CHECK(wasmtime_instance_export_get(cx, &main_inst, "counter", 7, &g) && g.kind == WASMTIME_EXTERN_GLOBAL);
        wasmtime_val_t addr;
        wasmtime_global_get(cx, &g.of.global, &addr);
        int32_t counter;
        memcpy(&counter, wasmtime_memory_data(cx, &h.memory) + addr.of.i32, 4);
        CHECK(counter == 7);
        /* A function added to the table once keeps its index. */
        wasmtime_extern_t f;
        uint32_t i1 = 0, i2 = 1;
        CHECK(wasmtime_instance_export_get(cx, &m->instance, "side_entry", 10, &f));
        CHECK(eryx__dl_func_index(&h, &f.of.func, &i1, &err) == 0);
        CHECK(eryx__dl_func_index(&h, &f.of.func, &i2, &err) == 0);
        CHECK(i1 == i2);
    }
    /* An undefined symbol fails the load and is named. */
    err.msg[0] = '\0';
    CHECK(eryx__dl_load(&h, bad, &dbad, NULL, "side_bad.wasm", &m, &err) == ERYX_ERR_PACKAGE);
    CHECK(strstr(err.msg, "undefined symbol no_such_function") != NULL);
    CHECK(strstr(err.msg, "side_bad.wasm") != NULL);
    /* Thread-local data is refused before anything is reserved. */
    eryx__dylink tls = d;
    tls.n_tls_exports = 1;
    CHECK(eryx__dl_load(&h, side, &tls, NULL, "tls.wasm", &m, &err) == ERYX_ERR_PACKAGE &&
          strstr(err.msg, "thread-local"));
    eryx__dl_host_free(&h);
    /* With a module key: the first instance's scan becomes a map by name, which
    ** later instances use without scanning; the checks come out the same. */
    for (int round = 0; round < 2; round++) {
        wasmtime_store_t *st2 = wasmtime_store_new(engine, NULL, NULL);
        wasmtime_context_t *cx2 = wasmtime_store_context(st2);
        wasmtime_instance_t mi2;
        trap = NULL;
        e = wasmtime_linker_instantiate(linker, cx2, main_mod, &mi2, &trap);
        CHECK(!e && !trap);
        if (!e && !trap && wasmtime_instance_export_get(cx2, &mi2, "_initialize", 11, &init))
            CHECK(wasmtime_func_call(cx2, &init.of.func, NULL, 0, NULL, 0, &trap) == NULL && !trap);
        eryx__dl_host h2;
        CHECK(eryx__dl_host_init(&h2, cx2, &mi2, main_mod, &err) == 0);
        CHECK(h2.main_map != NULL);
        CHECK(round == 0 || h2.nslots == 0); /* the second instance did not scan */
        const eryx__dl_module *m2 = NULL;
        CHECK(eryx__dl_load(&h2, side, &d, NULL, "side.wasm", &m2, &err) == 0 && m2);
        if (m2) CHECK(call_i32(cx2, &m2->instance, "side_entry", 7) == 11111012);
        eryx__dl_host_free(&h2);
        wasmtime_store_delete(st2);
    }
    eryx__dylink_free(&d);
    eryx__dylink_free(&dbad);
    wasmtime_linker_delete(linker);
    wasmtime_store_delete(store);
    wasmtime_module_delete(main_mod);
    wasmtime_module_delete(side);
    wasmtime_module_delete(bad);
    wasm_engine_delete(engine);
    return check_report("test_dl_loader");
}
