/*
** Builders and sandboxes. Stage one of the runtime: the guest runs under wasmtime's
** built-in WASI with the host's stdio, and sees one read-only directory, the
** stdlib image's, at /usr/local/lib. src/wasi/ replaces this with eryx's own host.
*/
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <wasi.h>
#include <wasmtime.h>
#include "../common/errbuf.h"
#include "../engine/engine.h"
#include "eryx.h"

#ifndef ERYX_DEFAULT_GUEST_DIR
#define ERYX_DEFAULT_GUEST_DIR ""
#endif

struct eryx_builder {
    char *guest_dir;
    char *cache_dir; /* NULL: no disk cache */
    int argc;
    char **argv;
    eryx__errbuf err;
};

struct eryx_sandbox {
    wasmtime_store_t *store;
    wasmtime_context_t *cx;
    wasmtime_instance_t instance;
    wasmtime_memory_t memory;
    wasmtime_func_t fn_alloc, fn_free, fn_execute;
    int exited; /* the guest called proc_exit: the instance is finished */
    int exit_code;
    eryx__errbuf err;
};

/* ---- builder ------------------------------------------------------------------ */
static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static char *default_cache_dir(void) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char buf[PATH_MAX];
    if (xdg && *xdg) snprintf(buf, sizeof buf, "%s/eryx", xdg);
    else if (home && *home) snprintf(buf, sizeof buf, "%s/.cache/eryx", home);
    else return NULL;
    return strdup(buf);
}

eryx_builder *eryx_builder_new(void) {
    eryx_builder *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    const char *env = getenv("ERYX_GUEST_DIR");
    b->guest_dir = strdup(env && *env ? env : ERYX_DEFAULT_GUEST_DIR);
    b->cache_dir = default_cache_dir();
    static const char *const default_argv[] = {"-c"};
    if (!b->guest_dir || eryx_builder_set_argv(b, 1, default_argv) != ERYX_OK) {
        eryx_builder_free(b);
        return NULL;
    }
    return b;
}

static void free_argv(eryx_builder *b) {
    for (int i = 0; i < b->argc; i++) free(b->argv[i]);
    free(b->argv);
    b->argv = NULL;
    b->argc = 0;
}

void eryx_builder_free(eryx_builder *b) {
    if (!b) return;
    free(b->guest_dir);
    free(b->cache_dir);
    free_argv(b);
    free(b);
}

const char *eryx_builder_errmsg(const eryx_builder *b) { return b ? b->err.msg : "builder is NULL"; }

eryx_status eryx_builder_set_guest_dir(eryx_builder *b, const char *dir) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    if (!dir || !*dir) return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "guest dir is NULL or empty");
    char *copy = strdup(dir);
    if (!copy) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory to copy the guest dir");
    free(b->guest_dir);
    b->guest_dir = copy;
    return ERYX_OK;
}

eryx_status eryx_builder_set_cache_dir(eryx_builder *b, const char *dir) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    if (dir && !*dir) return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "cache dir is empty (pass NULL for none)");
    char *copy = dup_or_null(dir);
    if (dir && !copy) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory to copy the cache dir");
    free(b->cache_dir);
    b->cache_dir = copy;
    return ERYX_OK;
}

eryx_status eryx_builder_set_argv(eryx_builder *b, int argc, const char *const *argv) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    if (argc < 0 || (argc > 0 && !argv))
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "argv is NULL with argc %d", argc);
    char **copy = calloc((size_t)argc + 1, sizeof *copy);
    if (!copy) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for argv");
    for (int i = 0; i < argc; i++) {
        if (!argv[i] || !(copy[i] = strdup(argv[i]))) {
            for (int j = 0; j < i; j++) free(copy[j]);
            free(copy);
            return eryx__fail(&b->err, argv[i] ? ERYX_ERR_NO_MEMORY : ERYX_ERR_INVALID_ARGUMENT,
                              "argv[%d] is %s", i, argv[i] ? "too large to copy" : "NULL");
        }
    }
    free_argv(b);
    b->argv = copy;
    b->argc = argc;
    return ERYX_OK;
}

/* ---- sandbox ------------------------------------------------------------------ */
const char *eryx_sandbox_errmsg(const eryx_sandbox *s) { return s ? s->err.msg : "sandbox is NULL"; }

static eryx_status read_sha256(const char *path, char hex[65], eryx__errbuf *err) {
    FILE *f = fopen(path, "r");
    if (!f)
        return eryx__fail(err, ERYX_ERR_GUEST_NOT_FOUND,
                          "cannot open %s: %s (the guest directory is incomplete: rebuild it with ./build.sh)",
                          path, strerror(errno));
    int n = fscanf(f, "%64[0-9a-f]", hex);
    fclose(f);
    if (n != 1 || strlen(hex) != 64)
        return eryx__fail(err, ERYX_ERR_GUEST_NOT_FOUND, "%s does not hold a SHA-256 (rebuild the guest)", path);
    return ERYX_OK;
}

static eryx_status get_func(eryx_sandbox *s, const char *name, wasmtime_func_t *out) {
    wasmtime_extern_t ext;
    if (!wasmtime_instance_export_get(s->cx, &s->instance, name, strlen(name), &ext) ||
        ext.kind != WASMTIME_EXTERN_FUNC)
        return eryx__fail(&s->err, ERYX_ERR_GUEST_API,
                          "the guest module does not export %s(): it was not built by guest/build.sh", name);
    *out = ext.of.func;
    return ERYX_OK;
}

/* Calls f; a proc_exit from the guest ends the instance and is reported as such. */
static eryx_status call(eryx_sandbox *s, const wasmtime_func_t *f, const char *what, const wasmtime_val_t *args,
                        size_t nargs, wasmtime_val_t *results, size_t nresults) {
    wasm_trap_t *trap = NULL;
    wasmtime_error_t *e = wasmtime_func_call(s->cx, f, args, nargs, results, nresults, &trap);
    if (e) {
        int code;
        if (wasmtime_error_exit_status(e, &code)) {
            wasmtime_error_delete(e);
            s->exited = 1;
            s->exit_code = code;
            return ERYX_OK;
        }
        return eryx__fail_wasmtime(&s->err, ERYX_ERR_TRAP, what, e, NULL);
    }
    if (trap) return eryx__fail_wasmtime(&s->err, ERYX_ERR_TRAP, what, NULL, trap);
    return ERYX_OK;
}

static eryx_status setup_wasi(eryx_builder *b, eryx_sandbox *s) {
    wasi_config_t *wasi = wasi_config_new();
    if (!wasi) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "wasi_config_new failed");
    wasi_config_set_argv(wasi, (size_t)b->argc, (const char **)b->argv);
    wasi_config_inherit_stdin(wasi);
    wasi_config_inherit_stdout(wasi);
    wasi_config_inherit_stderr(wasi);
    char lib[PATH_MAX];
    snprintf(lib, sizeof lib, "%s/lib", b->guest_dir);
    struct stat st;
    if (stat(lib, &st) != 0 || !S_ISDIR(st.st_mode)) {
        wasi_config_delete(wasi);
        return eryx__fail(&b->err, ERYX_ERR_GUEST_NOT_FOUND,
                          "the stdlib image directory %s is missing (rebuild the guest with ./build.sh)", lib);
    }
    if (!wasi_config_preopen_dir(wasi, lib, "/usr/local/lib", false)) {
        wasi_config_delete(wasi);
        return eryx__fail(&b->err, ERYX_ERR_IO, "cannot open %s for the guest", lib);
    }
    wasmtime_error_t *e = wasmtime_context_set_wasi(s->cx, wasi); /* takes wasi */
    if (e) return eryx__fail_wasmtime(&b->err, ERYX_ERR_ENGINE, "configuring WASI failed", e, NULL);
    return ERYX_OK;
}

eryx_status eryx_sandbox_new(eryx_builder *b, eryx_sandbox **out) {
    if (!out) return ERYX_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    eryx__errbuf_clear(&b->err);
    if (!*b->guest_dir)
        return eryx__fail(&b->err, ERYX_ERR_GUEST_NOT_FOUND,
                          "no guest directory: set ERYX_GUEST_DIR or call eryx_builder_set_guest_dir");

    char path[PATH_MAX], sha[65];
    snprintf(path, sizeof path, "%s/python.wasm.sha256", b->guest_dir);
    eryx_status st = read_sha256(path, sha, &b->err);
    if (st != ERYX_OK) return st;
    snprintf(path, sizeof path, "%s/python.wasm", b->guest_dir);
    wasmtime_module_t *module = NULL;
    st = eryx__module_load(path, sha, b->cache_dir, &module, NULL, &b->err);
    if (st != ERYX_OK) return st;

    eryx_sandbox *s = calloc(1, sizeof *s);
    wasmtime_linker_t *linker = NULL;
    if (!s) {
        st = eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for a sandbox");
        goto fail;
    }
    s->store = wasmtime_store_new(eryx__engine(NULL), NULL, NULL);
    if (!s->store) {
        st = eryx__fail(&b->err, ERYX_ERR_ENGINE, "wasmtime_store_new failed");
        goto fail;
    }
    s->cx = wasmtime_store_context(s->store);
    if ((st = setup_wasi(b, s)) != ERYX_OK) goto fail;

    linker = wasmtime_linker_new(eryx__engine(NULL));
    wasmtime_error_t *e = linker ? wasmtime_linker_define_wasi(linker) : NULL;
    if (!linker || e) {
        st = eryx__fail_wasmtime(&b->err, ERYX_ERR_ENGINE, "defining WASI imports failed", e, NULL);
        goto fail;
    }
    wasm_trap_t *trap = NULL;
    e = wasmtime_linker_instantiate(linker, s->cx, module, &s->instance, &trap);
    if (e || trap) {
        st = eryx__fail_wasmtime(&b->err, ERYX_ERR_ENGINE, "instantiating the guest failed", e, trap);
        goto fail;
    }
    wasmtime_extern_t mem;
    if (!wasmtime_instance_export_get(s->cx, &s->instance, "memory", 6, &mem) || mem.kind != WASMTIME_EXTERN_MEMORY) {
        st = eryx__fail(&b->err, ERYX_ERR_GUEST_API, "the guest module exports no memory");
        goto fail;
    }
    s->memory = mem.of.memory;
    wasmtime_func_t fn_initialize, fn_init;
    if ((st = get_func(s, "_initialize", &fn_initialize)) != ERYX_OK || (st = get_func(s, "eryx_init", &fn_init)) ||
        (st = get_func(s, "eryx_alloc", &s->fn_alloc)) || (st = get_func(s, "eryx_free", &s->fn_free)) ||
        (st = get_func(s, "eryx_execute", &s->fn_execute))) {
        eryx__fail(&b->err, st, "%s", s->err.msg);
        goto fail;
    }
    wasmtime_val_t rc;
    if ((st = call(s, &fn_initialize, "guest _initialize", NULL, 0, NULL, 0)) != ERYX_OK ||
        (st = call(s, &fn_init, "starting Python in the guest", NULL, 0, &rc, 1)) != ERYX_OK) {
        eryx__fail(&b->err, st, "%s", s->err.msg);
        goto fail;
    }
    if (s->exited || rc.of.i32 != 0) {
        st = eryx__fail(&b->err, ERYX_ERR_GUEST_INIT,
                        "Python failed to start in the guest (its message is on stderr); check that %s/lib "
                        "holds the stdlib image built with this python.wasm",
                        b->guest_dir);
        goto fail;
    }
    wasmtime_linker_delete(linker);
    wasmtime_module_delete(module);
    *out = s;
    return ERYX_OK;
fail:
    if (linker) wasmtime_linker_delete(linker);
    wasmtime_module_delete(module);
    eryx_sandbox_free(s);
    return st;
}

void eryx_sandbox_free(eryx_sandbox *s) {
    if (!s) return;
    if (s->store) wasmtime_store_delete(s->store);
    free(s);
}

eryx_status eryx_sandbox_run(eryx_sandbox *s, const char *code, size_t len, int *exit_status) {
    if (!s || !exit_status || (!code && len)) return ERYX_ERR_INVALID_ARGUMENT;
    eryx__errbuf_clear(&s->err);
    if (s->exited)
        return eryx__fail(&s->err, ERYX_ERR_GUEST_API,
                          "the guest already exited (status %d); create a new sandbox", s->exit_code);
    if (len > INT32_MAX) return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT, "code is larger than 2 GiB");

    wasmtime_val_t arg = {.kind = WASMTIME_I32, .of.i32 = (int32_t)len}, ptr;
    eryx_status st = call(s, &s->fn_alloc, "allocating guest memory", &arg, 1, &ptr, 1);
    if (st != ERYX_OK) return st;
    uint32_t gptr = (uint32_t)ptr.of.i32;
    if (s->exited || gptr == 0)
        return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "the guest has no memory for %zu bytes of code", len);
    /* The guest returned the pointer: check it lies inside linear memory. */
    size_t msize = wasmtime_memory_data_size(s->cx, &s->memory);
    if ((size_t)gptr > msize || len > msize - gptr)
        return eryx__fail(&s->err, ERYX_ERR_GUEST_API, "the guest's allocator returned an out-of-bounds pointer");
    memcpy(wasmtime_memory_data(s->cx, &s->memory) + gptr, code, len);

    wasmtime_val_t args[2] = {{.kind = WASMTIME_I32, .of.i32 = (int32_t)gptr},
                              {.kind = WASMTIME_I32, .of.i32 = (int32_t)len}},
                   rc;
    st = call(s, &s->fn_execute, "running Python code", args, 2, &rc, 1);
    if (st != ERYX_OK) return st;
    if (s->exited) {
        *exit_status = s->exit_code;
        return ERYX_OK;
    }
    *exit_status = rc.of.i32;
    return call(s, &s->fn_free, "freeing guest memory", args, 1, NULL, 0);
}
