/* Extension modules in a sandbox; see extensions.h. */
#include "extensions.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../cache/key.h"

#define MAX_SIDE_BYTES (UINT64_C(512) << 20)
#define REGISTRY_MAX 256

/* Compiled side modules of this process, by the SHA-256 of their bytes. Entries
** live as long as the process (a module is a few MB of code at most). */
typedef struct side_entry {
    char sha[ERYX__KEY_HEX_LEN + 1];
    wasm_engine_t *engine;
    wasmtime_module_t *module;
    eryx__dylink dylink;
} side_entry;
static struct {
    pthread_mutex_t lock;
    side_entry e[REGISTRY_MAX];
    size_t n;
} eryx__side_registry = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int32_t failf(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int32_t failf(char *err, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -1;
}

/* Reads a whole file of the VFS. */
static uint8_t *read_vfs(eryx_vfs *vfs, const char *path, size_t *len, char *err, size_t cap) {
    eryx_vfs_file *f = NULL;
    eryx_vfs_stat st;
    if (eryx_vfs_open(vfs, path, ERYX_VFS_O_READ, &f) != 0) {
        failf(err, cap, "cannot open %s in the sandbox", path);
        return NULL;
    }
    uint8_t *buf = NULL;
    if (f->ops->fstat(f, &st) != 0 || st.type != ERYX_VFS_TYPE_REG || st.size > MAX_SIDE_BYTES) {
        failf(err, cap, "%s is not a regular file of at most %llu bytes", path, (unsigned long long)MAX_SIDE_BYTES);
    } else if (!(buf = malloc(st.size ? (size_t)st.size : 1))) {
        failf(err, cap, "no memory to read %s", path);
    } else {
        size_t got = 0;
        while (got < st.size) {
            size_t n = 0;
            if (f->ops->pread(f, buf + got, (size_t)st.size - got, got, &n) != 0 || n == 0) break;
            got += n;
        }
        if (got != st.size) {
            failf(err, cap, "cannot read %s", path);
            free(buf);
            buf = NULL;
        }
        *len = got;
    }
    f->ops->close(f);
    return buf;
}

/* The compiled module for bytes (from the registry, or compiled and registered). */
static side_entry *compiled(wasm_engine_t *engine, const char *path, const uint8_t *bytes, size_t len, char *err,
                            size_t cap, side_entry *scratch) {
    char sha[ERYX__KEY_HEX_LEN + 1];
    if (eryx__sha256_hex(bytes, len, sha) != 0) {
        failf(err, cap, "cannot hash %s", path);
        return NULL;
    }
    pthread_mutex_lock(&eryx__side_registry.lock);
    for (size_t i = 0; i < eryx__side_registry.n; i++) {
        side_entry *e = &eryx__side_registry.e[i];
        if (e->engine == engine && !strcmp(e->sha, sha)) {
            pthread_mutex_unlock(&eryx__side_registry.lock);
            return e;
        }
    }
    pthread_mutex_unlock(&eryx__side_registry.lock);
    side_entry fresh = {.engine = engine};
    memcpy(fresh.sha, sha, sizeof sha);
    char why[256];
    if (eryx__dylink_read(bytes, len, &fresh.dylink, why, sizeof why) != 0) {
        failf(err, cap, "%s is not a usable extension: %s", path, why);
        return NULL;
    }
    wasmtime_error_t *e = wasmtime_module_new(engine, bytes, len, &fresh.module);
    if (e) {
        wasm_byte_vec_t msg = {0};
        wasmtime_error_message(e, &msg);
        failf(err, cap, "compiling %s failed: %.*s", path, (int)msg.size, msg.data ? msg.data : "");
        wasm_byte_vec_delete(&msg);
        wasmtime_error_delete(e);
        eryx__dylink_free(&fresh.dylink);
        return NULL;
    }
    pthread_mutex_lock(&eryx__side_registry.lock);
    side_entry *slot = NULL;
    for (size_t i = 0; i < eryx__side_registry.n && !slot; i++) /* another thread may have been first */
        if (eryx__side_registry.e[i].engine == engine && !strcmp(eryx__side_registry.e[i].sha, sha))
            slot = &eryx__side_registry.e[i];
    if (!slot && eryx__side_registry.n < REGISTRY_MAX) {
        slot = &eryx__side_registry.e[eryx__side_registry.n++];
        *slot = fresh;
        fresh.module = NULL;
    }
    pthread_mutex_unlock(&eryx__side_registry.lock);
    if (!fresh.module) return slot; /* registered */
    if (slot) {                     /* lost the race: use the registered one */
        wasmtime_module_delete(fresh.module);
        eryx__dylink_free(&fresh.dylink);
        return slot;
    }
    *scratch = fresh; /* the registry is full: the caller frees it after use */
    return scratch;
}

void eryx__ext_free(eryx__dl_host *dl) {
    if (!dl) return;
    eryx__dl_host_free(dl);
    free(dl);
}

int32_t eryx__ext_open(eryx__dl_host **dl, wasm_engine_t *engine, wasmtime_context_t *cx,
                       const wasmtime_instance_t *main, eryx_vfs *vfs, const char *path, const char *init, char *err,
                       size_t cap) {
    char norm[4096];
    if (eryx_vfs_join("/", path, strlen(path), norm, sizeof norm) != 0)
        return failf(err, cap, "%s is not a valid path", path);
    if (!*dl) {
        eryx__dl_host *h = calloc(1, sizeof *h);
        if (!h) return failf(err, cap, "out of memory");
        if (eryx__dl_host_init(h, cx, main, err, cap) != 0) {
            free(h);
            return -1;
        }
        *dl = h;
    }
    eryx__dl_host *h = *dl;
    const eryx__dl_module *m = NULL;
    for (size_t i = 0; i < h->nmods && !m; i++)
        if (!strcmp(h->mods[i].name, norm)) m = &h->mods[i];
    if (!m) {
        size_t len = 0;
        uint8_t *bytes = read_vfs(vfs, norm, &len, err, cap);
        if (!bytes) return -1;
        side_entry scratch = {0}, *e = compiled(engine, norm, bytes, len, err, cap, &scratch);
        free(bytes);
        if (!e) return -1;
        int rc = eryx__dl_load(h, e->module, &e->dylink, norm, &m, err, cap);
        if (e == &scratch) {
            wasmtime_module_delete(scratch.module);
            eryx__dylink_free(&scratch.dylink);
        }
        if (rc != 0) return -1;
    }
    wasmtime_extern_t x;
    if (!wasmtime_instance_export_get(cx, &m->instance, init, strlen(init), &x) || x.kind != WASMTIME_EXTERN_FUNC)
        return failf(err, cap, "%s has no function %s: is it an extension module of that name?", norm, init);
    uint32_t index;
    if (eryx__dl_func_index(h, &x.of.func, &index, err, cap) != 0) return -1;
    return index > INT32_MAX ? failf(err, cap, "the function table is full") : (int32_t)index;
}
