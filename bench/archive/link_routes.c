/* bench/archive/link_routes.c: the two late-linking routes of docs/LATE-LINKING.md, timed
** with eryx's own engine settings, on the outputs of guest/numpy/build.sh:
**   (a) static: python-numpy.wasm (numpy's 13 modules linked in): one compile of the
**       whole interpreter per combination of extensions;
**   (b) dynamic: python-main.wasm (the interpreter as a main module) compiled once,
**       each side module side/<name>.so compiled once, and a "new combination" is
**       loading the side modules into an instance (src/link/loader.c).
** Settled: bench/archive/README.md. Built by CMake (target bench_link_routes); it
** uses eryx's internal engine and loader headers. After ./build.sh:
**   build/bench/archive/link_routes $(guest/numpy/build.sh | tail -1) [RUNS] */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wasmtime.h>
#include "../../src/engine/engine.h"
#include "../../src/link/loader.h"
#include "../bench_time.h"


static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    uint8_t *b = malloc(*len);
    if (fread(b, 1, *len, f) != *len) *len = 0;
    fclose(f);
    return b;
}

static wasmtime_module_t *compile(wasm_engine_t *engine, const char *path, double *ms, eryx__dylink *d) {
    size_t len = 0;
    uint8_t *bytes = slurp(path, &len);
    if (!bytes) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    eryx__errbuf err;
    if (d && eryx__dylink_read(bytes, len, d, &err) != 0) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        exit(1);
    }
    wasmtime_module_t *m = NULL;
    double t = now_ms();
    wasmtime_error_t *e = wasmtime_module_new(engine, bytes, len, &m);
    *ms = now_ms() - t;
    free(bytes);
    if (e) {
        wasm_byte_vec_t msg;
        wasmtime_error_message(e, &msg);
        fprintf(stderr, "compiling %s: %.*s\n", path, (int)msg.size, msg.data);
        exit(1);
    }
    return m;
}

/* No Python runs here, so WASI is a stub: the clock, random_get, args and environ
** say "success" (without writing: memory stays zero, so no arguments and no
** variables), everything else "bad file descriptor" (so
** that libc's scan of preopened directories ends at once). */
static wasm_trap_t *wasi_stub(void *env, wasmtime_caller_t *caller, const wasmtime_val_t *args, size_t nargs,
                              wasmtime_val_t *results, size_t nresults) {
    (void)caller, (void)args, (void)nargs;
    for (size_t i = 0; i < nresults; i++)
        results[i] = (wasmtime_val_t){.kind = WASMTIME_I32, .of.i32 = env ? 0 : 8 /* EBADF */};
    return NULL;
}

static void define_wasi(wasmtime_linker_t *linker, const wasmtime_module_t *m) {
    wasm_importtype_vec_t imports;
    wasmtime_module_imports(m, &imports);
    for (size_t i = 0; i < imports.size; i++) {
        const wasm_name_t *mod = wasm_importtype_module(imports.data[i]), *name = wasm_importtype_name(imports.data[i]);
        const wasm_externtype_t *t = wasm_importtype_type(imports.data[i]);
        if (wasm_externtype_kind(t) != WASM_EXTERN_FUNC) continue;
        static const char *const succeed[] = {
            "clock_time_get", "random_get", "environ_sizes_get", "environ_get", "args_sizes_get", "args_get", NULL};
        bool ok = false;
        for (int k = 0; succeed[k]; k++)
            ok |= name->size == strlen(succeed[k]) && !memcmp(name->data, succeed[k], name->size);
        wasmtime_error_t *e =
            wasmtime_linker_define_func(linker, mod->data, mod->size, name->data, name->size,
                                        wasm_externtype_as_functype_const(t), wasi_stub, ok ? (void *)1 : NULL, NULL);
        if (e) wasmtime_error_delete(e);
    }
    wasm_importtype_vec_delete(&imports);
}


int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: link_routes NUMPY_OUT_DIR [RUNS]\n");
        return 2;
    }
    const char *dir = argv[1];
    int runs = argc > 2 ? atoi(argv[2]) : 20;
    char path[4096];
    eryx__errbuf errbuf;
    eryx__errbuf eb;
    wasm_engine_t *engine = eryx__engine(ERYX__ENGINE_STANDARD, &eb);
    if (!engine) {
        fprintf(stderr, "%s\n", eb.msg);
        return 1;
    }
    double ms;
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(path, sizeof path, "%s/python-numpy.wasm", dir);
    wasmtime_module_t *a = compile(engine, path, &ms, NULL);
    printf("(a) compile python-numpy.wasm (interpreter + numpy, per combination): %.0f ms\n", ms);
    wasmtime_module_delete(a);
    snprintf(path, sizeof path, "%s/python-main.wasm", dir);
    wasmtime_module_t *main_mod = compile(engine, path, &ms, NULL);
    printf("(b) compile python-main.wasm (interpreter as main module, once): %.0f ms\n", ms);

    /* The side modules, compiled once each. */
    snprintf(path, sizeof path, "%s/side", dir);
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort), nside = 0;
    wasmtime_module_t *side[64];
    eryx__dylink dl[64];
    char *side_name[64];
    double total_compile = 0;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.' && nside < 64) {
            snprintf(path, sizeof path, "%s/side/%s", dir, names[i]->d_name);
            side[nside] = compile(engine, path, &ms, &dl[nside]);
            side_name[nside] = strdup(names[i]->d_name);
            total_compile += ms;
            nside++;
        }
        free(names[i]);
    }
    free(names);
    printf("(b) compile the %d side modules (once per extension): %.0f ms in all\n", nside, total_compile);

    /* A new combination under (b): a fresh instance of the main module, then every
    ** side module loaded into it (memory, table, imports, relocations, constructors). */
    wasmtime_linker_t *linker = wasmtime_linker_new(engine);
    define_wasi(linker, main_mod);
    wasmtime_error_t *e = NULL;
    double *load = calloc((size_t)runs, sizeof *load), *inst = calloc((size_t)runs, sizeof *inst);
    for (int r = 0; r < runs; r++) {
        wasmtime_store_t *store = wasmtime_store_new(engine, NULL, NULL);
        wasmtime_context_t *cx = wasmtime_store_context(store);
        wasmtime_context_set_epoch_deadline(cx, UINT64_C(1) << 62);
        wasmtime_instance_t mi;
        wasm_trap_t *trap = NULL;
        double t0 = now_ms();
        e = wasmtime_linker_instantiate(linker, cx, main_mod, &mi, &trap);
        wasmtime_extern_t init;
        if (!e && !trap && wasmtime_instance_export_get(cx, &mi, "_initialize", 11, &init))
            e = wasmtime_func_call(cx, &init.of.func, NULL, 0, NULL, 0, &trap);
        if (e || trap) {
            wasm_byte_vec_t msg = {0};
            if (e) wasmtime_error_message(e, &msg);
            else wasm_trap_message(trap, &msg);
            fprintf(stderr, "instantiating the main module failed: %.*s\n", (int)msg.size, msg.data);
            return 1;
        }
        double t1 = now_ms();
        eryx__dl_host h;
        if (eryx__dl_host_init(&h, cx, &mi, main_mod, &errbuf) != 0) {
            fprintf(stderr, "%s\n", errbuf.msg);
            return 1;
        }
        for (int i = 0; i < nside; i++) {
            const eryx__dl_module *m;
            if (eryx__dl_load(&h, side[i], &dl[i], NULL, side_name[i], &m, &errbuf) != 0) {
                fprintf(stderr, "%s\n", errbuf.msg);
                return 1;
            }
        }
        double t2 = now_ms();
        inst[r] = t1 - t0;
        load[r] = t2 - t1;
        eryx__dl_host_free(&h);
        wasmtime_store_delete(store);
    }
    qsort(load, (size_t)runs, sizeof *load, cmp_double);
    qsort(inst, (size_t)runs, sizeof *inst, cmp_double);
    printf("(b) instantiate the main module (no snapshot, _initialize): p50 %.3f ms, p99 %.3f ms (%d runs)\n",
           inst[runs / 2], inst[runs - 1 - runs / 100], runs);
    printf("(b) load all %d side modules into it (a new combination): p50 %.3f ms, p99 %.3f ms (%d runs)\n", nside,
           load[runs / 2], load[runs - 1 - runs / 100], runs);
    return 0;
}
