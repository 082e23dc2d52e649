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

/* Side modules loaded in this process, by engine and the SHA-256 of their bytes
** (each holds a reference on its module). Entries live as long as the process. */
typedef struct side_entry {
    char sha[ERYX__KEY_HEX_LEN + 1];
    eryx__engine_kind engine;
    eryx__guest *module;
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

typedef struct make_ctx {
    eryx__engine_kind engine;
    const uint8_t *bytes;
    size_t len;
    const char *path;
} make_ctx;

static eryx_status make_side(void *user, wasmtime_module_t **out, eryx__errbuf *err) {
    make_ctx *m = user;
    wasm_engine_t *engine = eryx__engine(m->engine, err);
    if (!engine) return ERYX_ERR_ENGINE;
    wasmtime_error_t *e = wasmtime_module_new(engine, m->bytes, m->len, out);
    return e ? eryx__fail_wasmtime(err, ERYX_ERR_ENGINE, "compiling the extension failed", e, NULL) : ERYX_OK;
}

static eryx__guest *registry_get(eryx__engine_kind engine, const char *sha) {
    eryx__guest *g = NULL;
    pthread_mutex_lock(&eryx__side_registry.lock);
    for (size_t i = 0; i < eryx__side_registry.n && !g; i++)
        if (eryx__side_registry.e[i].engine == engine && !strcmp(eryx__side_registry.e[i].sha, sha)) {
            g = eryx__side_registry.e[i].module;
            eryx__guest_retain(g);
        }
    pthread_mutex_unlock(&eryx__side_registry.lock);
    return g;
}

static void registry_put(eryx__engine_kind engine, const char *sha, eryx__guest *g) {
    pthread_mutex_lock(&eryx__side_registry.lock);
    bool have = false;
    for (size_t i = 0; i < eryx__side_registry.n; i++)
        have |= eryx__side_registry.e[i].engine == engine && !strcmp(eryx__side_registry.e[i].sha, sha);
    if (!have && eryx__side_registry.n < REGISTRY_MAX) {
        side_entry *e = &eryx__side_registry.e[eryx__side_registry.n++];
        memcpy(e->sha, sha, sizeof e->sha);
        e->engine = engine;
        e->module = g;
        eryx__guest_retain(g);
    }
    pthread_mutex_unlock(&eryx__side_registry.lock);
}

/* The compiled side module for bytes: this process's registry, else the artifact
** cache's disk tier, else compiled (and stored there). A new reference. */
static eryx__guest *compiled(const eryx__cache_config *cc, const char *path, const uint8_t *bytes, size_t len,
                             char *err, size_t cap) {
    char sha[ERYX__KEY_HEX_LEN + 1], id[128];
    if (eryx__sha256_hex(bytes, len, sha) != 0) {
        failf(err, cap, "cannot hash %s", path);
        return NULL;
    }
    eryx__guest *g = registry_get(cc->engine, sha);
    if (g) return g;
    snprintf(id, sizeof id, "eryx-side-module-1\x1e%s", sha);
    eryx__cache_config side = *cc;
    side.memory = NULL; /* the registry is the memory tier: side modules never evict a guest */
    side.unlinked = true;
    make_ctx m = {cc->engine, bytes, len, path};
    eryx__errbuf eb;
    if (eryx__module_acquire(id, make_side, &m, &side, &g, NULL, &eb) != ERYX_OK) {
        failf(err, cap, "%s: %s", path, eb.msg);
        return NULL;
    }
    registry_put(cc->engine, sha, g);
    return g;
}

void eryx__ext_free(eryx__dl_host *dl) {
    if (!dl) return;
    eryx__dl_host_free(dl);
    free(dl);
}

int32_t eryx__ext_open(eryx__dl_host **dl, const eryx__cache_config *cc, wasmtime_context_t *cx,
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
        eryx__dylink d;
        char why[256];
        if (eryx__dylink_read(bytes, len, &d, why, sizeof why) != 0) {
            free(bytes);
            return failf(err, cap, "%s is not a usable extension: %s", norm, why);
        }
        eryx__guest *g = compiled(cc, norm, bytes, len, err, cap);
        free(bytes);
        int rc = g ? eryx__dl_load(h, eryx__guest_module(g), &d, norm, &m, err, cap) : -1;
        eryx__dylink_free(&d);
        eryx__guest_release(g);
        if (rc != 0) return -1;
    }
    wasmtime_extern_t x;
    if (!wasmtime_instance_export_get(cx, &m->instance, init, strlen(init), &x) || x.kind != WASMTIME_EXTERN_FUNC)
        return failf(err, cap, "%s has no function %s: is it an extension module of that name?", norm, init);
    uint32_t index;
    if (eryx__dl_func_index(h, &x.of.func, &index, err, cap) != 0) return -1;
    return index > INT32_MAX ? failf(err, cap, "the function table is full") : (int32_t)index;
}
