/*
** Builders, sandboxes and results. A sandbox is one wasmtime store holding one
** instance of the guest, with eryx's own WASI host (src/wasi/) over a private VFS
** (src/vfs/): the stdlib image (shared, read-only) at /usr/local/lib/python3.13,
** in-memory /tmp and /data, and the host directories the builder granted. Nothing
** else of the host (files, streams, environment) reaches the guest.
*/
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wasmtime.h>
#include "../common/errbuf.h"
#include "../engine/engine.h"
#include "../snapshot/snapshot.h"
#include "../vfs/vfs.h"
#include "../wasi/wasi.h"
#include "../wasi/wasi_wasmtime.h"
#include "eryx.h"
#include "sandbox_internal.h"

#ifndef ERYX_DEFAULT_GUEST_DIR
#define ERYX_DEFAULT_GUEST_DIR ""
#endif

#define STDLIB_GUEST_PATH "/usr/local/lib/python3.13"
#define DEFAULT_MEMFS_LIMIT (64u << 20)
#define DEFAULT_CACHE_MAX_BYTES ((uint64_t)1 << 30)
/* Until output caps are configurable (the sandbox-contract issue), each captured
** stream stops growing here and the guest's write fails with ENOSPC. */
#define OUTPUT_HARD_LIMIT ((size_t)256 << 20)

/* What the guest reports through eryx.report (see guest/lib/_eryx_support.py). */
enum { REPORT_EXC_TYPE = 1, REPORT_EXC_MESSAGE = 2, REPORT_TRACEBACK = 3 };

typedef struct mount_spec {
    char *host, *guest;
    unsigned flags;
    struct mount_spec *next;
} mount_spec;

struct eryx_builder {
    char *guest_dir;
    char *cache_dir; /* NULL: no disk cache */
    int argc;
    char **argv;
    int envc;
    char **env; /* "NAME=VALUE" */
    mount_spec *mounts; /* in the order added */
    uint64_t memfs_limit;
    eryx_cache *memory; /* a reference; NULL: none */
    uint64_t cache_max_bytes, cache_max_entries;
    eryx_cache_backend backend;
    bool has_backend;
    void *backend_user;
    eryx_warning_fn warn;
    void *warn_user;
    eryx__errbuf err;
};

typedef struct buf {
    char *data;
    size_t len, cap;
} buf;

struct eryx_result {
    buf out, err;
    char *exc_type, *exc_message, *traceback;
    int exit_code;
    uint64_t duration_ns;
};

struct eryx_sandbox {
    eryx__guest *guest; /* a reference: keeps the module (and its cache entry) alive */
    wasmtime_store_t *store;
    wasmtime_context_t *cx;
    wasmtime_instance_t instance;
    eryx__host host; /* the store's data */
    eryx_vfs *vfs;
    eryx_wasi *wasi;
    wasmtime_func_t fn_alloc, fn_free, fn_execute;
    int dead; /* the guest exited or trapped: the instance cannot run again */
    uint64_t phase_ns[3]; /* creation: module + VFS set-up, instantiation, Python start */
    bool from_snapshot;   /* Python's start was restored, not run */
    eryx_read_fn stdin_fn;
    void *stdin_user;
    eryx_output_fn out_fn;
    void *out_user;
    eryx_result *cur; /* the result being filled by the running execution */
    eryx__errbuf err;
};

/* ---- small helpers --------------------------------------------------------------- */
static int buf_append(buf *b, const void *data, size_t len) {
    if (len > OUTPUT_HARD_LIMIT - b->len) return -1;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len + 1) cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p) return -1;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void free_strv(char **v, int n) {
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* ---- builder ------------------------------------------------------------------ */
static char *default_cache_dir(void) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char path[PATH_MAX];
    if (xdg && *xdg) snprintf(path, sizeof path, "%s/eryx", xdg);
    else if (home && *home) snprintf(path, sizeof path, "%s/.cache/eryx", home);
    else return NULL;
    return strdup(path);
}

eryx_builder *eryx_builder_new(void) {
    eryx_builder *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    const char *env = getenv("ERYX_GUEST_DIR");
    b->guest_dir = strdup(env && *env ? env : ERYX_DEFAULT_GUEST_DIR);
    b->cache_dir = default_cache_dir();
    b->memfs_limit = DEFAULT_MEMFS_LIMIT;
    b->cache_max_bytes = DEFAULT_CACHE_MAX_BYTES;
    b->memory = eryx__default_memcache();
    eryx__memcache_retain(b->memory);
    static const char *const default_argv[] = {"-c"};
    if (!b->guest_dir || eryx_builder_set_argv(b, 1, default_argv) != ERYX_OK) {
        eryx_builder_free(b);
        return NULL;
    }
    return b;
}

void eryx_builder_free(eryx_builder *b) {
    if (!b) return;
    free(b->guest_dir);
    free(b->cache_dir);
    free_strv(b->argv, b->argc);
    free_strv(b->env, b->envc);
    eryx_cache_release(b->memory);
    for (mount_spec *m = b->mounts, *next; m; m = next) {
        next = m->next;
        free(m->host);
        free(m->guest);
        free(m);
    }
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
    char *copy = dir ? strdup(dir) : NULL;
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
            free_strv(copy, i);
            return eryx__fail(&b->err, argv[i] ? ERYX_ERR_NO_MEMORY : ERYX_ERR_INVALID_ARGUMENT, "argv[%d] is %s", i,
                              argv[i] ? "too large to copy" : "NULL");
        }
    }
    free_strv(b->argv, b->argc);
    b->argv = copy;
    b->argc = argc;
    return ERYX_OK;
}

eryx_status eryx_builder_set_env(eryx_builder *b, const char *name, const char *value) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    if (!name || !*name || strchr(name, '=') || !value)
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT,
                          "environment variable name must be non-empty without '=', and value non-NULL");
    size_t nlen = strlen(name), vlen = strlen(value);
    char *kv = malloc(nlen + vlen + 2);
    if (!kv) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for an environment variable");
    memcpy(kv, name, nlen);
    kv[nlen] = '=';
    memcpy(kv + nlen + 1, value, vlen + 1);
    for (int i = 0; i < b->envc; i++) {
        if (!strncmp(b->env[i], kv, nlen + 1)) {
            free(b->env[i]);
            b->env[i] = kv;
            return ERYX_OK;
        }
    }
    char **grown = realloc(b->env, (size_t)(b->envc + 1) * sizeof *grown);
    if (!grown) {
        free(kv);
        return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for an environment variable");
    }
    grown[b->envc++] = kv;
    b->env = grown;
    return ERYX_OK;
}

eryx_status eryx_builder_add_mount(eryx_builder *b, const char *host_dir, const char *guest_path, unsigned flags) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    if (!host_dir || !*host_dir || !guest_path || guest_path[0] != '/')
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT,
                          "a mount needs a host directory and an absolute guest path");
    if (flags & ~ERYX_MOUNT_READONLY)
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "unknown mount flags 0x%x", flags);
    char norm[PATH_MAX];
    if (eryx_vfs_join("/", guest_path, strlen(guest_path), norm, sizeof norm) != 0)
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "guest path %s is not a valid path", guest_path);
    if (!strcmp(norm, "/") || !strcmp(norm, "/usr") || !strcmp(norm, "/usr/local") ||
        !strncmp(norm, "/usr/local/lib", 14))
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT,
                          "cannot mount at %s: it would hide the stdlib (choose a path like /mnt/data)", norm);
    for (mount_spec *m = b->mounts; m; m = m->next)
        if (!strcmp(m->guest, norm))
            return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "%s is already mounted", norm);
    mount_spec *m = calloc(1, sizeof *m);
    if (!m || !(m->host = strdup(host_dir)) || !(m->guest = strdup(norm))) {
        if (m) free(m->host);
        free(m);
        return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for a mount");
    }
    m->flags = flags;
    mount_spec **tail = &b->mounts;
    while (*tail) tail = &(*tail)->next;
    *tail = m;
    return ERYX_OK;
}

eryx_status eryx_builder_set_memory_cache(eryx_builder *b, eryx_cache *cache) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    eryx__memcache_retain(cache);
    eryx_cache_release(b->memory);
    b->memory = cache;
    return ERYX_OK;
}

eryx_status eryx_builder_set_cache_limits(eryx_builder *b, uint64_t max_bytes, uint64_t max_entries) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    b->cache_max_bytes = max_bytes;
    b->cache_max_entries = max_entries;
    return ERYX_OK;
}

eryx_status eryx_builder_set_cache_backend(eryx_builder *b, const eryx_cache_backend *backend, void *user) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    if (backend && (!backend->get || !backend->put))
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "a cache backend needs get and put");
    b->has_backend = backend != NULL;
    if (backend) b->backend = *backend;
    b->backend_user = user;
    return ERYX_OK;
}

eryx_status eryx_builder_set_warning_handler(eryx_builder *b, eryx_warning_fn fn, void *user) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    b->warn = fn;
    b->warn_user = user;
    return ERYX_OK;
}

eryx_status eryx_builder_set_memfs_limit(eryx_builder *b, uint64_t max_bytes) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    b->memfs_limit = max_bytes;
    return ERYX_OK;
}

/* ---- results ------------------------------------------------------------------- */
const char *eryx_result_stdout(const eryx_result *r, size_t *len) {
    if (len) *len = r ? r->out.len : 0;
    return r && r->out.data ? r->out.data : "";
}
const char *eryx_result_stderr(const eryx_result *r, size_t *len) {
    if (len) *len = r ? r->err.len : 0;
    return r && r->err.data ? r->err.data : "";
}
const char *eryx_result_exception_type(const eryx_result *r) { return r ? r->exc_type : NULL; }
const char *eryx_result_exception_message(const eryx_result *r) { return r ? r->exc_message : NULL; }
const char *eryx_result_traceback(const eryx_result *r) { return r ? r->traceback : NULL; }
int eryx_result_exit_code(const eryx_result *r) { return r ? r->exit_code : 0; }
uint64_t eryx_result_duration_ns(const eryx_result *r) { return r ? r->duration_ns : 0; }

void eryx_result_free(eryx_result *r) {
    if (!r) return;
    free(r->out.data);
    free(r->err.data);
    free(r->exc_type);
    free(r->exc_message);
    free(r->traceback);
    free(r);
}

/* ---- host hooks (called from inside guest calls) --------------------------------- */
static ptrdiff_t hook_read_stdin(void *user, void *dst, size_t len) {
    eryx_sandbox *s = user;
    return s->stdin_fn ? s->stdin_fn(s->stdin_user, dst, len) : 0;
}

/* Output outside an execution (while Python starts) is kept in a scratch result so
** a failed start can show what Python printed. */
static uint16_t hook_write_output(void *user, int fd, const void *data, size_t len) {
    eryx_sandbox *s = user;
    if (!s->cur) return 0;
    if (buf_append(fd == 1 ? &s->cur->out : &s->cur->err, data, len) != 0) return ERYX_WASI_ENOSPC;
    if (s->out_fn) s->out_fn(s->out_user, fd, data, len);
    return 0;
}

static void hook_report(void *user, int32_t kind, const uint8_t *data, size_t len) {
    eryx_sandbox *s = user;
    if (!s->cur) return;
    char **field = kind == REPORT_EXC_TYPE      ? &s->cur->exc_type
                   : kind == REPORT_EXC_MESSAGE ? &s->cur->exc_message
                   : kind == REPORT_TRACEBACK   ? &s->cur->traceback
                                                : NULL;
    if (!field) return;
    char *copy = malloc(len + 1);
    if (!copy) return; /* the stderr text still carries the error */
    memcpy(copy, data, len);
    copy[len] = '\0';
    free(*field);
    *field = copy;
}

/* ---- sandbox ------------------------------------------------------------------ */
const char *eryx_sandbox_errmsg(const eryx_sandbox *s) { return s ? s->err.msg : "sandbox is NULL"; }

static eryx_status get_func(eryx_sandbox *s, const char *name, wasmtime_func_t *out) {
    wasmtime_extern_t ext;
    if (!wasmtime_instance_export_get(s->cx, &s->instance, name, strlen(name), &ext) ||
        ext.kind != WASMTIME_EXTERN_FUNC)
        return eryx__fail(&s->err, ERYX_ERR_GUEST_API,
                          "the guest module does not export %s(): it was not built by guest/build.sh", name);
    *out = ext.of.func;
    return ERYX_OK;
}

/* Calls a guest function. A proc_exit or a trap ends the instance for good. */
static eryx_status call(eryx_sandbox *s, const wasmtime_func_t *f, const char *what, const wasmtime_val_t *args,
                        size_t nargs, wasmtime_val_t *results, size_t nresults) {
    wasm_trap_t *trap = NULL;
    wasmtime_error_t *e = wasmtime_func_call(s->cx, f, args, nargs, results, nresults, &trap);
    if (!e && !trap) return ERYX_OK;
    s->dead = 1;
    int code;
    if (eryx_wasi_exited(s->wasi, &code)) {
        if (e) wasmtime_error_delete(e);
        if (trap) wasm_trap_delete(trap);
        if (s->cur) s->cur->exit_code = code;
        return code == 0 ? ERYX_OK : ERYX_ERR_EXIT;
    }
    return eryx__fail_wasmtime(&s->err, ERYX_ERR_TRAP, what, e, trap);
}

static eryx_status mount_all(eryx_builder *b, eryx_sandbox *s) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/lib/python313.zip", b->guest_dir);
    eryx_vfs_zip *img = eryx__stdlib_image(path, &b->err);
    if (!img) return ERYX_ERR_GUEST_NOT_FOUND;
    eryx_errno e = eryx_vfs_mount(s->vfs, STDLIB_GUEST_PATH, &eryx_vfs_zip_backend, img, true);
    if (e) return eryx__fail(&b->err, ERYX_ERR_MOUNT, "cannot mount the stdlib image (WASI errno %u)", e);

    for (mount_spec *m = b->mounts; m; m = m->next) {
        char msg[512] = "";
        void *host = eryx_vfs_host_new(m->host, m->flags & ERYX_MOUNT_READONLY, msg, sizeof msg);
        if (!host) return eryx__fail(&b->err, ERYX_ERR_MOUNT, "cannot mount %s at %s: %s", m->host, m->guest, msg);
        e = eryx_vfs_mount(s->vfs, m->guest, &eryx_vfs_host_backend, host, m->flags & ERYX_MOUNT_READONLY);
        if (e) return eryx__fail(&b->err, ERYX_ERR_MOUNT, "cannot mount %s at %s (WASI errno %u)", m->host, m->guest, e);
    }
    static const char *const memfs_paths[] = {"/tmp", "/data"};
    for (size_t i = 0; i < 2; i++) {
        int taken = 0;
        for (mount_spec *m = b->mounts; m; m = m->next) taken |= !strcmp(m->guest, memfs_paths[i]);
        if (taken) continue;
        void *mem = eryx_vfs_mem_new(b->memfs_limit);
        if (!mem) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for %s", memfs_paths[i]);
        e = eryx_vfs_mount(s->vfs, memfs_paths[i], &eryx_vfs_mem_backend, mem, false);
        if (e) return eryx__fail(&b->err, ERYX_ERR_MOUNT, "cannot mount %s (WASI errno %u)", memfs_paths[i], e);
    }
    return ERYX_OK;
}

/* Starts Python: _initialize (C constructors) then eryx_init. What the guest prints
** meanwhile goes into a scratch result, shown in the error if the start fails. */
static eryx_status get_entry_points(eryx_builder *b, eryx_sandbox *s) {
    eryx_status st;
    if ((st = get_func(s, "eryx_alloc", &s->fn_alloc)) || (st = get_func(s, "eryx_free", &s->fn_free)) ||
        (st = get_func(s, "eryx_execute", &s->fn_execute)))
        return eryx__fail(&b->err, st, "%s", s->err.msg);
    return ERYX_OK;
}

static eryx_status start_python(eryx_builder *b, eryx_sandbox *s) {
    wasmtime_func_t fn_initialize, fn_init;
    eryx_status st;
    if ((st = get_func(s, "_initialize", &fn_initialize)) || (st = get_func(s, "eryx_init", &fn_init)))
        return eryx__fail(&b->err, st, "%s", s->err.msg);
    eryx_result scratch = {0};
    s->cur = &scratch;
    wasmtime_val_t rc = {.kind = WASMTIME_I32, .of.i32 = 0};
    st = call(s, &fn_initialize, "guest _initialize", NULL, 0, NULL, 0);
    if (st == ERYX_OK && !s->dead) st = call(s, &fn_init, "starting Python in the guest", NULL, 0, &rc, 1);
    s->cur = NULL;
    if (st == ERYX_ERR_TRAP)
        eryx__fail(&b->err, st, "%s", s->err.msg);
    else if (st != ERYX_OK || s->dead || rc.of.i32 != 0)
        st = eryx__fail(&b->err, ERYX_ERR_GUEST_INIT,
                        "Python failed to start in the guest; check that %s/lib holds the stdlib image built with "
                        "this python.wasm. Python said: %.600s",
                        b->guest_dir, scratch.err.data ? scratch.err.data : "(nothing)");
    free(scratch.out.data);
    free(scratch.err.data);
    free(scratch.exc_type);
    free(scratch.exc_message);
    free(scratch.traceback);
    return st;
}

/* What a snapshot depends on besides the module: the stdlib it imported from (the
** guest dir) and the argv and environment Python read while starting. One string;
** \x1f separates items, \x1e the lists. */
static char *start_config(const eryx_builder *b) {
    size_t n = 3 + strlen(b->guest_dir);
    for (int i = 0; i < b->argc; i++) n += strlen(b->argv[i]) + 1;
    for (int i = 0; i < b->envc; i++) n += strlen(b->env[i]) + 1;
    char *c = malloc(n), *p = c;
    if (!c) return NULL;
    p += sprintf(p, "%s\x1e", b->guest_dir);
    for (int i = 0; i < b->argc; i++) p += sprintf(p, "%s\x1f", b->argv[i]);
    *p++ = '\x1e';
    for (int i = 0; i < b->envc; i++) p += sprintf(p, "%s\x1f", b->env[i]);
    *p = '\0';
    return c;
}

/* Restores Python's started state from the guest's snapshot instead of running it. */
static eryx_status restore_snapshot(eryx_builder *b, eryx_sandbox *s, const eryx__snapshot *snap) {
    size_t need = eryx__snapshot_memory_size(snap), have = wasmtime_memory_data_size(s->cx, &s->host.memory);
    if (need > have) {
        uint64_t prev;
        wasmtime_error_t *e = wasmtime_memory_grow(s->cx, &s->host.memory, (need - have) / 65536, &prev);
        if (e) return eryx__fail_wasmtime(&b->err, ERYX_ERR_ENGINE, "growing memory for the snapshot failed", e, NULL);
    }
    if (eryx__snapshot_apply(snap, wasmtime_memory_data(s->cx, &s->host.memory),
                             wasmtime_memory_data_size(s->cx, &s->host.memory)) != 0)
        return eryx__fail(&b->err, ERYX_ERR_ENGINE, "the snapshot does not fit the guest's memory");
    s->from_snapshot = true;
    return ERYX_OK;
}

/* After a from-scratch start, records the started memory for later sandboxes: the
** pages that differ from a fresh instance (made in a scratch store). Skipped when
** the guest holds host state a snapshot cannot carry (open files). Best effort. */
static void capture_snapshot(eryx_sandbox *s, const char *config) {
    if (eryx_wasi_guest_fd_count(s->wasi) != 0) return;
    eryx__host scratch_host = {0};
    wasmtime_store_t *store = wasmtime_store_new(eryx__engine(NULL), &scratch_host, NULL);
    if (!store) return;
    wasmtime_context_t *cx = wasmtime_store_context(store);
    wasmtime_instance_t inst;
    wasm_trap_t *trap = NULL;
    wasmtime_extern_t mem;
    wasmtime_error_t *e = wasmtime_instance_pre_instantiate(eryx__guest_pre(s->guest), cx, &inst, &trap);
    if (e) wasmtime_error_delete(e);
    if (trap) wasm_trap_delete(trap);
    if (!e && !trap && wasmtime_instance_export_get(cx, &inst, "memory", 6, &mem) &&
        mem.kind == WASMTIME_EXTERN_MEMORY) {
        eryx__snapshot *snap = eryx__snapshot_capture(
            wasmtime_memory_data(s->cx, &s->host.memory), wasmtime_memory_data_size(s->cx, &s->host.memory),
            wasmtime_memory_data(cx, &mem.of.memory), wasmtime_memory_data_size(cx, &mem.of.memory), config);
        if (snap) eryx__guest_offer_snapshot(s->guest, snap);
    }
    wasmtime_store_delete(store);
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
    uint64_t t0 = now_ns();
    eryx_status st = eryx__guest_sha256(b->guest_dir, sha, &b->err);
    if (st != ERYX_OK) return st;
    snprintf(path, sizeof path, "%s/python.wasm", b->guest_dir);
    eryx__cache_config cc = {
        .memory = b->memory,
        .dir = b->cache_dir,
        .max_bytes = b->cache_max_bytes,
        .max_entries = b->cache_max_entries,
        .backend = b->has_backend ? &b->backend : NULL,
        .backend_user = b->backend_user,
        .warn = b->warn,
        .warn_user = b->warn_user,
    };
    eryx__guest *guest = NULL;
    st = eryx__guest_acquire(path, sha, &cc, &guest, NULL, &b->err);
    if (st != ERYX_OK) return st;

    eryx_sandbox *s = calloc(1, sizeof *s);
    if (s) s->guest = guest;
    else eryx__guest_release(guest);
    if (!s || !(s->vfs = eryx_vfs_new())) {
        st = eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for a sandbox");
        goto fail;
    }
    if ((st = mount_all(b, s)) != ERYX_OK) goto fail;
    eryx_wasi_config wc = {
        .argc = b->argc,
        .argv = (const char *const *)b->argv,
        .envc = b->envc,
        .env = (const char *const *)b->env,
        .io = {.read_stdin = hook_read_stdin, .write_output = hook_write_output, .user = s},
        .vfs = s->vfs,
    };
    if (!(s->wasi = eryx_wasi_new(&wc))) {
        st = eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for the sandbox's WASI state");
        goto fail;
    }
    s->host.wasi = s->wasi;
    s->host.report = hook_report;
    s->host.report_user = s;
    s->store = wasmtime_store_new(eryx__engine(NULL), &s->host, NULL);
    if (!s->store) {
        st = eryx__fail(&b->err, ERYX_ERR_ENGINE, "wasmtime_store_new failed");
        goto fail;
    }
    s->cx = wasmtime_store_context(s->store);
    wasm_trap_t *trap = NULL;
    uint64_t t1 = now_ns();
    wasmtime_error_t *e = wasmtime_instance_pre_instantiate(eryx__guest_pre(s->guest), s->cx, &s->instance, &trap);
    uint64_t t2 = now_ns();
    if (e || trap) {
        st = eryx__fail_wasmtime(&b->err, ERYX_ERR_ENGINE, "instantiating the guest failed", e, trap);
        goto fail;
    }
    wasmtime_extern_t mem;
    if (!wasmtime_instance_export_get(s->cx, &s->instance, "memory", 6, &mem) || mem.kind != WASMTIME_EXTERN_MEMORY) {
        st = eryx__fail(&b->err, ERYX_ERR_GUEST_API, "the guest module exports no memory");
        goto fail;
    }
    s->host.memory = mem.of.memory;
    s->host.has_memory = true;
    if ((st = get_entry_points(b, s)) != ERYX_OK) goto fail;
    char *config = start_config(b);
    const eryx__snapshot *snap = eryx__guest_snapshot(s->guest);
    if (config && snap && !strcmp(eryx__snapshot_config(snap), config)) {
        st = restore_snapshot(b, s, snap);
    } else if ((st = start_python(b, s)) == ERYX_OK && config && !snap && eryx__guest_count_start(s->guest) >= 1) {
        capture_snapshot(s, config); /* from the second start on: one-sandbox processes never pay it */
    }
    free(config);
    if (st != ERYX_OK) goto fail;
    s->phase_ns[0] = t1 - t0;
    s->phase_ns[1] = t2 - t1;
    s->phase_ns[2] = now_ns() - t2;
    *out = s;
    return ERYX_OK;
fail:
    eryx_sandbox_free(s);
    return st;
}

void eryx_sandbox_free(eryx_sandbox *s) {
    if (!s) return;
    if (s->store) wasmtime_store_delete(s->store);
    eryx_wasi_free(s->wasi);
    eryx_vfs_free(s->vfs);
    eryx__guest_release(s->guest);
    free(s);
}

void eryx__sandbox_phases(const eryx_sandbox *s, uint64_t ns[3]) { memcpy(ns, s->phase_ns, sizeof s->phase_ns); }
bool eryx__sandbox_from_snapshot(const eryx_sandbox *s) { return s->from_snapshot; }
size_t eryx__sandbox_snapshot_bytes(const eryx_sandbox *s) {
    const eryx__snapshot *snap = eryx__guest_snapshot(s->guest);
    return snap ? eryx__snapshot_stored_bytes(snap) : 0;
}

eryx_status eryx_sandbox_set_stdin(eryx_sandbox *s, eryx_read_fn fn, void *user) {
    if (!s) return ERYX_ERR_INVALID_ARGUMENT;
    s->stdin_fn = fn;
    s->stdin_user = user;
    return ERYX_OK;
}

eryx_status eryx_sandbox_set_output(eryx_sandbox *s, eryx_output_fn fn, void *user) {
    if (!s) return ERYX_ERR_INVALID_ARGUMENT;
    s->out_fn = fn;
    s->out_user = user;
    return ERYX_OK;
}

/* Copies the code into guest memory and runs it; fills r. */
static eryx_status run_code(eryx_sandbox *s, const char *code, size_t len, eryx_result *r) {
    wasmtime_val_t arg = {.kind = WASMTIME_I32, .of.i32 = (int32_t)len}, ptr;
    eryx_status st = call(s, &s->fn_alloc, "allocating guest memory for the code", &arg, 1, &ptr, 1);
    if (st != ERYX_OK || s->dead) return st;
    uint32_t gptr = (uint32_t)ptr.of.i32;
    if (gptr == 0)
        return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "the guest has no memory left for %zu bytes of code", len);
    /* The pointer came from the guest: check it lies inside linear memory. */
    size_t msize = wasmtime_memory_data_size(s->cx, &s->host.memory);
    if ((size_t)gptr > msize || len > msize - gptr)
        return eryx__fail(&s->err, ERYX_ERR_GUEST_API, "the guest's allocator returned an out-of-bounds pointer");
    memcpy(wasmtime_memory_data(s->cx, &s->host.memory) + gptr, code, len);

    wasmtime_val_t args[2] = {{.kind = WASMTIME_I32, .of.i32 = (int32_t)gptr},
                              {.kind = WASMTIME_I32, .of.i32 = (int32_t)len}},
                   rc;
    st = call(s, &s->fn_execute, "running Python code", args, 2, &rc, 1);
    if (st != ERYX_OK || s->dead) return st;
    r->exit_code = rc.of.i32;
    eryx_status free_st = call(s, &s->fn_free, "freeing guest memory", args, 1, NULL, 0);
    if (free_st != ERYX_OK) return free_st;
    if (r->exc_type) return ERYX_ERR_PYTHON_EXCEPTION;
    return r->exit_code == 0 ? ERYX_OK : ERYX_ERR_EXIT;
}

eryx_status eryx_sandbox_execute(eryx_sandbox *s, const char *code, size_t len, eryx_result **result) {
    if (result) *result = NULL;
    if (!s) return ERYX_ERR_INVALID_ARGUMENT;
    eryx__errbuf_clear(&s->err);
    if (!code && len) return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT, "code is NULL with length %zu", len);
    if (len > INT32_MAX) return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT, "code is larger than 2 GiB");
    if (s->dead)
        return eryx__fail(&s->err, ERYX_ERR_SANDBOX_DEAD,
                          "the guest already ended (it exited or crashed); create a new sandbox");
    eryx_result *r = calloc(1, sizeof *r);
    if (!r) return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "no memory for a result");
    uint64_t t0 = now_ns();
    s->cur = r;
    eryx_status st = run_code(s, code ? code : "", len, r);
    s->cur = NULL;
    r->duration_ns = now_ns() - t0;
    if (st == ERYX_ERR_PYTHON_EXCEPTION)
        eryx__fail(&s->err, st, "%s: %s", r->exc_type, r->exc_message ? r->exc_message : "");
    else if (st == ERYX_ERR_EXIT)
        eryx__fail(&s->err, st, "the code exited with status %d", r->exit_code);
    if (result) *result = r;
    else eryx_result_free(r);
    return st;
}
