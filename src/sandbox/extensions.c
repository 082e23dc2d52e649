/* Extension modules in a sandbox; see extensions.h. */
#include "extensions.h"
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../cache/key.h"
#include "../common/counters.h"
#include "../common/process_state.h"
#include "../host/host.h"
#include "../link/linkcheck.h"

#define MAX_SIDE_BYTES (UINT64_C(512) << 20)
#define REGISTRY_MAX 256

/* Side modules loaded in this process, by engine and the SHA-256 of their bytes:
** the compiled module (a reference) and its dylink.0. Entries live until
** eryx__ext_shutdown and never move, so callers keep pointers to them. */
typedef struct side_entry {
    char sha[ERYX__KEY_HEX_LEN + 1];
    eryx__engine_kind engine;
    eryx__guest *module;
    eryx__guest *bare; /* without data sections, for restores; NULL: use module */
    eryx__dylink dylink;
    eryx__dl_imports imports; /* the same for both modules: only data sections differ */
} side_entry;
ERYX__PROCESS_STATE static struct {
    pthread_mutex_t lock;
    side_entry e[REGISTRY_MAX];
    size_t n;
} eryx__side_registry = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The log of loads in guest memory (the shim's eryx_ext_log: 40,964 bytes); the
** host owns the layout: a u32 count, then records. */
#define LOG_BYTES 40964u
typedef struct ext_record {
    uint32_t memory_base, table_base, init_index;
    char sha[ERYX__KEY_HEX_LEN];
    char path[240];
    char init[64];
} ext_record;
#define LOG_MAX ((LOG_BYTES - 4u) / (uint32_t)sizeof(ext_record))

/* Reads a whole file of the VFS. */
static uint8_t *read_vfs(eryx__vfs *vfs, const char *path, size_t *len, eryx__errbuf *err) {
    eryx__vfs_file *f = NULL;
    eryx__vfs_stat st;
    if (eryx__vfs_open(vfs, path, ERYX__VFS_O_READ, &f) != 0) {
        eryx__fail(err, ERYX_ERR_IO, "cannot open %s in the sandbox", path);
        return NULL;
    }
    uint8_t *buf = NULL;
    if (f->ops->fstat(f, &st) != 0 || st.type != ERYX__VFS_TYPE_REG || st.size > MAX_SIDE_BYTES) {
        eryx__fail(err, ERYX_ERR_IO, "%s is not a regular file of at most %llu bytes", path,
                   (unsigned long long)MAX_SIDE_BYTES);
    } else if (!(buf = malloc(st.size ? (size_t)st.size : 1))) {
        eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory to read %s", path);
    } else {
        size_t got = 0;
        while (got < st.size) {
            size_t n = 0;
            if (f->ops->pread(f, buf + got, (size_t)st.size - got, got, &n) != 0 || n == 0) break;
            got += n;
        }
        if (got != st.size) {
            eryx__fail(err, ERYX_ERR_IO, "cannot read %s", path);
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
    if (e) return eryx__fail_wasmtime(err, ERYX_ERR_ENGINE, "compiling the extension failed", e, NULL);
    eryx__count(ERYX__COUNT_MODULE_COMPILED);
    return ERYX_OK;
}

static const side_entry *registry_get(eryx__engine_kind engine, const char *sha) {
    const side_entry *found = NULL;
    pthread_mutex_lock(&eryx__side_registry.lock);
    for (size_t i = 0; i < eryx__side_registry.n && !found; i++)
        if (eryx__side_registry.e[i].engine == engine && !strcmp(eryx__side_registry.e[i].sha, sha))
            found = &eryx__side_registry.e[i];
    pthread_mutex_unlock(&eryx__side_registry.lock);
    return found;
}

/* The registry's entry for bytes (whose SHA-256 is sha): compiled through the
** artifact cache (disk tier, else compiled and stored) on its first use here. */
static const side_entry *compiled(const eryx__cache_config *cc, const char *path, const char *sha, const uint8_t *bytes,
                                  size_t len, eryx__errbuf *err) {
    const side_entry *found = registry_get(cc->engine, sha);
    if (found) return found;
    side_entry fresh = {.engine = cc->engine};
    memcpy(fresh.sha, sha, sizeof fresh.sha);
    char id[128];
    eryx__errbuf why;
    if (eryx__dylink_read(bytes, len, &fresh.dylink, &why) != ERYX_OK) {
        eryx__fail(err, ERYX_ERR_PACKAGE, "%s is not a usable extension: %s", path, why.msg);
        return NULL;
    }
    snprintf(id, sizeof id, "eryx-side-module-1\x1e%s", sha);
    eryx__cache_config side = *cc;
    side.memory = NULL; /* the registry is the memory tier: side modules never evict a guest */
    side.unlinked = true;
    make_ctx m = {cc->engine, bytes, len, path};
    eryx__errbuf eb;
    if (eryx__module_acquire(id, make_side, &m, &side, &fresh.module, NULL, &eb) != ERYX_OK) {
        eryx__dylink_free(&fresh.dylink);
        eryx__fail(err, ERYX_ERR_ENGINE, "%s: %s", path, eb.msg);
        return NULL;
    }
    /* The copy restores instantiate: no data sections, so nothing is written over
    ** the snapshot's pages. Optional: without it a restore saves and puts back. */
    uint8_t *stripped = NULL;
    size_t stripped_len = 0;
    if (eryx__dylink_strip_data(bytes, len, &stripped, &stripped_len, &why) == ERYX_OK) {
        snprintf(id, sizeof id, "eryx-side-module-bare-1\x1e%s", sha);
        make_ctx mb = {cc->engine, stripped, stripped_len, path};
        if (eryx__module_acquire(id, make_side, &mb, &side, &fresh.bare, NULL, &eb) != ERYX_OK) fresh.bare = NULL;
        free(stripped);
    }
    if (eryx__dl_imports_read(eryx__guest_module(fresh.module), &fresh.imports, err) != ERYX_OK) {
        eryx__guest_release(fresh.module);
        eryx__guest_release(fresh.bare);
        eryx__dylink_free(&fresh.dylink);
        return NULL;
    }
    pthread_mutex_lock(&eryx__side_registry.lock);
    for (size_t i = 0; i < eryx__side_registry.n && !found; i++) /* another thread may have been first */
        if (eryx__side_registry.e[i].engine == cc->engine && !strcmp(eryx__side_registry.e[i].sha, sha))
            found = &eryx__side_registry.e[i];
    if (!found && eryx__side_registry.n < REGISTRY_MAX) {
        eryx__side_registry.e[eryx__side_registry.n] = fresh;
        found = &eryx__side_registry.e[eryx__side_registry.n++];
        fresh.module = NULL;
    }
    pthread_mutex_unlock(&eryx__side_registry.lock);
    if (fresh.module) { /* lost a race, or the registry is full */
        eryx__guest_release(fresh.module);
        eryx__guest_release(fresh.bare);
        eryx__dylink_free(&fresh.dylink);
        eryx__dl_imports_free(&fresh.imports);
        if (!found) eryx__fail(err, ERYX_ERR_ENGINE, "more than %d extension modules in one process", REGISTRY_MAX);
    }
    return found;
}

/* Reads and hashes the side module at norm, then gets its entry. */
static const side_entry *entry_for_file(const eryx__cache_config *cc, eryx__vfs *vfs, const char *norm,
                                        const char *want_sha, eryx__errbuf *err) {
    size_t len = 0;
    uint8_t *bytes = read_vfs(vfs, norm, &len, err);
    if (!bytes) return NULL;
    char sha[ERYX__KEY_HEX_LEN + 1];
    const side_entry *e = NULL;
    if (eryx__sha256_hex(bytes, len, sha) != 0) eryx__fail(err, ERYX_ERR_NO_MEMORY, "cannot hash %s", norm);
    else if (want_sha && strcmp(sha, want_sha) != 0)
        eryx__fail(err, ERYX_ERR_PACKAGE, "%s changed since the snapshot was made", norm);
    else e = compiled(cc, norm, sha, bytes, len, err);
    free(bytes);
    return e;
}

/* The guest's log of loads: its address, checked to lie in memory; 0 if the
** guest has none (built before the log existed). */
static uint32_t log_address(eryx__dl_host *h) {
    wasmtime_extern_t x;
    if (!wasmtime_instance_export_get(h->cx, &h->main, "eryx_ext_log", 12, &x) || x.kind != WASMTIME_EXTERN_GLOBAL)
        return 0;
    wasmtime_val_t v;
    wasmtime_global_get(h->cx, &x.of.global, &v);
    uint32_t addr = v.kind == WASMTIME_I32 ? (uint32_t)v.of.i32 : 0;
    size_t msize = wasmtime_memory_data_size(h->cx, &h->memory);
    return addr && (uint64_t)addr + LOG_BYTES <= msize ? addr : 0;
}

static eryx_status host_for(eryx__dl_host **dl, wasmtime_context_t *cx, const wasmtime_instance_t *main,
                            const void *key, eryx__errbuf *err) {
    if (*dl) return ERYX_OK;
    eryx__dl_host *h = calloc(1, sizeof *h);
    if (!h) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory");
    eryx_status st = eryx__dl_host_init(h, cx, main, key, err);
    if (st != ERYX_OK) {
        free(h);
        return st;
    }
    h->guard = ((eryx__host *)wasmtime_context_get_data(cx))->guard; /* the store's data: src/host/host.h */
    *dl = h;
    return ERYX_OK;
}

/* The table index of m's function init in *index (-1 on failure). */
static eryx_status init_index(eryx__dl_host *h, const eryx__dl_module *m, const char *init, int32_t *index,
                              eryx__errbuf *err) {
    *index = -1;
    wasmtime_extern_t x;
    if (!wasmtime_instance_export_get(h->cx, &m->instance, init, strlen(init), &x) || x.kind != WASMTIME_EXTERN_FUNC)
        return eryx__fail(err, ERYX_ERR_PACKAGE, "%s has no function %s: is it an extension module of that name?",
                          m->name, init);
    uint32_t i;
    eryx_status st = eryx__dl_func_index(h, &x.of.func, &i, err);
    if (st != ERYX_OK) return st;
    if (i > INT32_MAX) return eryx__fail(err, ERYX_ERR_ENGINE, "the function table is full");
    *index = (int32_t)i;
    return ERYX_OK;
}

void eryx__ext_free(eryx__dl_host *dl) {
    if (!dl) return;
    eryx__dl_host_free(dl);
    free(dl);
}

eryx_status eryx__ext_open(eryx__dl_host **dl, const eryx__cache_config *cc, wasmtime_context_t *cx,
                           const wasmtime_instance_t *main, const void *key, eryx__vfs *vfs, const char *path,
                           const char *init, int32_t *index, eryx__errbuf *err) {
    *index = -1;
    char norm[4096];
    if (eryx__vfs_join("/", path, strlen(path), norm, sizeof norm) != 0)
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "%s is not a valid path", path);
    /* Compiled code only from what the embedder gave (packages, read-only mounts),
    ** never from a file the guest could have written: the guest brings no wasm of
    ** its own (which could loop without touching memory, where the standard
    ** engine's interrupt cannot reach it: src/common/guard.h). */
    if (eryx__vfs_writable(vfs, norm) == 0)
        return eryx__fail(err, ERYX_ERR_PACKAGE,
                          "%s is on a writable mount: extension modules load only from packages and read-only "
                          "mounts",
                          norm);
    eryx_status st = host_for(dl, cx, main, key, err);
    if (st != ERYX_OK) return st;
    eryx__dl_host *h = *dl;
    const eryx__dl_module *m = NULL;
    for (size_t i = 0; i < h->nmods && !m; i++)
        if (!strcmp(h->mods[i].name, norm)) m = &h->mods[i];
    if (m) return init_index(h, m, init, index, err);
    const side_entry *e = entry_for_file(cc, vfs, norm, NULL, err);
    if (!e) return ERYX_ERR_PACKAGE;
    if ((st = eryx__dl_load(h, eryx__guest_module(e->module), &e->dylink, &e->imports, norm, &m, err)) != ERYX_OK)
        return st;
    st = init_index(h, m, init, index, err);
    /* The record a restore replays: where it went, and which bytes. */
    uint32_t log = st == ERYX_OK ? log_address(h) : 0;
    if (log && strlen(norm) < sizeof((ext_record *)0)->path && strlen(init) < sizeof((ext_record *)0)->init) {
        uint8_t *mem = wasmtime_memory_data(cx, &h->memory);
        uint32_t n;
        memcpy(&n, mem + log, 4);
        if (n < LOG_MAX) {
            ext_record r = {.memory_base = m->memory_base, .table_base = m->table_base, .init_index = (uint32_t)*index};
            memcpy(r.sha, e->sha, sizeof r.sha);
            memcpy(r.path, norm, strlen(norm) + 1); /* both lengths checked above */
            memcpy(r.init, init, strlen(init) + 1);
            memcpy(mem + log + 4 + n * sizeof r, &r, sizeof r);
            n++;
            memcpy(mem + log, &n, 4);
        }
    }
    return st;
}

int eryx__ext_logged(eryx__dl_host *dl) {
    if (!dl || !dl->nmods) return 1;
    uint32_t log = log_address(dl), n = 0;
    if (log) memcpy(&n, wasmtime_memory_data(dl->cx, &dl->memory) + log, 4);
    return log && n == dl->nmods;
}

eryx_status eryx__ext_replay(eryx__dl_host **dl, const eryx__cache_config *cc, wasmtime_context_t *cx,
                             const wasmtime_instance_t *main, const void *key, eryx__vfs *vfs, eryx__errbuf *err) {
    wasmtime_extern_t x;
    if (!wasmtime_instance_export_get(cx, main, "eryx_ext_log", 12, &x) || x.kind != WASMTIME_EXTERN_GLOBAL)
        return ERYX_OK; /* an older guest */
    /* Most snapshots loaded nothing: look at the count before setting anything up. */
    wasmtime_extern_t mx;
    if (!wasmtime_instance_export_get(cx, main, "memory", 6, &mx) || mx.kind != WASMTIME_EXTERN_MEMORY) return ERYX_OK;
    wasmtime_val_t v;
    wasmtime_global_get(cx, &x.of.global, &v);
    uint32_t log = (uint32_t)v.of.i32, n = 0;
    if (v.kind != WASMTIME_I32 || !log || (uint64_t)log + LOG_BYTES > wasmtime_memory_data_size(cx, &mx.of.memory))
        return eryx__fail(err, ERYX_ERR_ENGINE, "the guest's log of extension modules lies outside its memory");
    memcpy(&n, wasmtime_memory_data(cx, &mx.of.memory) + log, 4);
    if (n == 0) return ERYX_OK;
    if (n > LOG_MAX)
        return eryx__fail(err, ERYX_ERR_ENGINE, "the guest's log of extension modules is damaged (%u records)", n);
    eryx_status st = host_for(dl, cx, main, key, err);
    if (st != ERYX_OK) return st;
    eryx__dl_host *h = *dl;
    for (uint32_t i = 0; i < n; i++) {
        ext_record r; /* copied out: guest memory, checked field by field */
        memcpy(&r, wasmtime_memory_data(cx, &h->memory) + log + 4 + i * sizeof r, sizeof r);
        char sha[ERYX__KEY_HEX_LEN + 1];
        memcpy(sha, r.sha, sizeof r.sha);
        sha[ERYX__KEY_HEX_LEN] = '\0';
        if (!memchr(r.path, '\0', sizeof r.path) || !memchr(r.init, '\0', sizeof r.init) ||
            strspn(sha, "0123456789abcdef") != ERYX__KEY_HEX_LEN)
            return eryx__fail(err, ERYX_ERR_ENGINE, "the guest's log of extension modules is damaged (record %u)", i);
        if (i < h->nmods) { /* loaded already (a session restored over its start state): the same, in place */
            const eryx__dl_module *m = &h->mods[i];
            if (strcmp(m->name, r.path) != 0 || m->memory_base != r.memory_base || m->table_base != r.table_base)
                return eryx__fail(err, ERYX_ERR_ENGINE,
                                  "the guest's log of extension modules does not begin with the %zu loaded "
                                  "already (record %u is %s)",
                                  h->nmods, i, r.path);
            continue;
        }
        const side_entry *e = registry_get(cc->engine, sha);
        if (!e) e = entry_for_file(cc, vfs, r.path, sha, err);
        if (!e) return ERYX_ERR_PACKAGE;
        const eryx__dl_module *m;
        const eryx__guest *g = e->bare ? e->bare : e->module;
        if ((st = eryx__dl_replay(h, eryx__guest_module(g), e->bare == NULL, &e->dylink, &e->imports, r.path,
                                  r.memory_base, r.table_base, &m, err)) != ERYX_OK)
            return st;
        int32_t index;
        if ((st = init_index(h, m, r.init, &index, err)) != ERYX_OK) return st;
        if ((uint32_t)index != r.init_index)
            return eryx__fail(err, ERYX_ERR_ENGINE,
                              "%s: its init function came out at table index %d, not %u as in the snapshot", r.path,
                              index, r.init_index);
    }
    return ERYX_OK;
}

/* ---- the build-time link check ---------------------------------------------------------
** The interpreter's exports as the link check wants them (names, kinds, function
** signatures), read from its compiled module once per process per interpreter. */
#define MAIN_IFACES_MAX 8
ERYX__PROCESS_STATE static struct {
    pthread_mutex_t lock;
    struct {
        char sha[ERYX__KEY_HEX_LEN + 1];
        eryx__wasm_iface iface;
    } e[MAIN_IFACES_MAX];
    size_t n;
} eryx__main_ifaces = {.lock = PTHREAD_MUTEX_INITIALIZER};

static char valtype_letter(const wasm_valtype_t *t) {
    switch (wasm_valtype_kind(t)) {
    case WASM_I32: return 'i';
    case WASM_I64: return 'I';
    case WASM_F32: return 'f';
    case WASM_F64: return 'F';
    case WASM_FUNCREF: return 'r';
    case WASM_EXTERNREF: return 'e';
    default: return 'v';
    }
}

/* *out from the module's export types; 0, or -1 when out of memory. */
static int iface_from_module(const wasmtime_module_t *m, eryx__wasm_iface *out) {
    memset(out, 0, sizeof *out);
    wasm_exporttype_vec_t ex;
    wasmtime_module_exports(m, &ex);
    int rc = 0;
    if (!(out->exports = calloc(ex.size ? ex.size : 1, sizeof *out->exports))) rc = -1;
    for (size_t i = 0; rc == 0 && i < ex.size; i++) {
        const wasm_name_t *name = wasm_exporttype_name(ex.data[i]);
        const wasm_externtype_t *t = wasm_exporttype_type(ex.data[i]);
        eryx__wasm_sym *s = &out->exports[out->n_exports++];
        static const uint8_t kinds[] = {
            [WASM_EXTERN_FUNC] = 0, [WASM_EXTERN_GLOBAL] = 3, [WASM_EXTERN_TABLE] = 1, [WASM_EXTERN_MEMORY] = 2};
        wasm_externkind_t k = wasm_externtype_kind(t);
        s->kind = k < sizeof kinds ? kinds[k] : 255;
        if (!(s->name = strndup(name->data, name->size))) rc = -1;
        if (rc == 0 && k == WASM_EXTERN_FUNC) {
            const wasm_functype_t *ft = wasm_externtype_as_functype_const(t);
            const wasm_valtype_vec_t *p = wasm_functype_params(ft), *r = wasm_functype_results(ft);
            if (!(s->sig = malloc(p->size + r->size + 2))) rc = -1;
            else {
                size_t n = 0;
                for (size_t j = 0; j < p->size; j++) s->sig[n++] = valtype_letter(p->data[j]);
                s->sig[n++] = '>';
                for (size_t j = 0; j < r->size; j++) s->sig[n++] = valtype_letter(r->data[j]);
                s->sig[n] = '\0';
            }
        }
    }
    wasm_exporttype_vec_delete(&ex);
    if (rc != 0) eryx__wasm_iface_free(out);
    else eryx__wasm_iface_sort(out);
    return rc;
}

eryx_status eryx__ext_check_packages(const wasmtime_module_t *main, const char *guest_sha, const eryx__package *pkgs,
                                     size_t n, eryx__errbuf *err) {
    size_t nsides = 0;
    for (size_t i = 0; i < n; i++) nsides += pkgs[i].exts ? pkgs[i].exts->n : 0;
    if (nsides == 0) return ERYX_OK;
    /* The registry's entries are never freed (before eryx__ext_shutdown) or moved
    ** once made, so the iface may be used after the lock is let go. */
    pthread_mutex_lock(&eryx__main_ifaces.lock);
    const eryx__wasm_iface *mi = NULL;
    for (size_t i = 0; i < eryx__main_ifaces.n && !mi; i++)
        if (!strcmp(eryx__main_ifaces.e[i].sha, guest_sha)) mi = &eryx__main_ifaces.e[i].iface;
    eryx__wasm_iface local = {0};
    if (!mi) {
        if (iface_from_module(main, &local) != 0) {
            pthread_mutex_unlock(&eryx__main_ifaces.lock);
            return eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory");
        }
        if (eryx__main_ifaces.n < MAIN_IFACES_MAX) {
            size_t at = eryx__main_ifaces.n++;
            snprintf(eryx__main_ifaces.e[at].sha, sizeof eryx__main_ifaces.e[at].sha, "%s", guest_sha);
            eryx__main_ifaces.e[at].iface = local;
            memset(&local, 0, sizeof local);
            mi = &eryx__main_ifaces.e[at].iface;
        } else {
            mi = &local; /* full: this check uses its own copy */
        }
    }
    pthread_mutex_unlock(&eryx__main_ifaces.lock);
    eryx__link_side *sides = calloc(nsides, sizeof *sides);
    char **paths = calloc(nsides, sizeof *paths);
    eryx_status rc = sides && paths ? ERYX_OK : eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory");
    size_t k = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        for (size_t j = 0; rc == 0 && pkgs[i].exts && j < pkgs[i].exts->n; j++) {
            size_t len = strlen(pkgs[i].source) + strlen(pkgs[i].exts->v[j].member) + 16;
            if (!(paths[k] = malloc(len))) rc = eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory");
            else {
                snprintf(paths[k], len, "%s: extension %s", pkgs[i].source, pkgs[i].exts->v[j].member);
                sides[k] = (eryx__link_side){paths[k], &pkgs[i].exts->v[j].iface};
                k++;
            }
        }
    if (rc == ERYX_OK) rc = eryx__link_check(mi, sides, k, err);
    for (size_t i = 0; paths && i < k; i++) free(paths[i]);
    free(paths);
    free(sides);
    eryx__wasm_iface_free(&local);
    return rc;
}

void eryx__ext_shutdown(void) {
    pthread_mutex_lock(&eryx__side_registry.lock);
    for (size_t i = 0; i < eryx__side_registry.n; i++) {
        side_entry *e = &eryx__side_registry.e[i];
        eryx__guest_release(e->module);
        eryx__guest_release(e->bare);
        eryx__dylink_free(&e->dylink);
        eryx__dl_imports_free(&e->imports);
        memset(e, 0, sizeof *e);
    }
    eryx__side_registry.n = 0;
    pthread_mutex_unlock(&eryx__side_registry.lock);
    pthread_mutex_lock(&eryx__main_ifaces.lock);
    for (size_t i = 0; i < eryx__main_ifaces.n; i++) eryx__wasm_iface_free(&eryx__main_ifaces.e[i].iface);
    memset(eryx__main_ifaces.e, 0, sizeof eryx__main_ifaces.e);
    eryx__main_ifaces.n = 0;
    pthread_mutex_unlock(&eryx__main_ifaces.lock);
}
