/*
** Builders, sandboxes and results. A sandbox is one wasmtime store holding one
** instance of the guest, with eryx's own WASI host (src/wasi/) over a private VFS
** (src/vfs/): the stdlib image (shared, read-only) at /usr/local/lib/python3.13,
** in-memory /tmp and /data, and the host directories the builder granted. Nothing
** else of the host (files, streams, environment) reaches the guest.
*/
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wasmtime.h>
#include "../common/errbuf.h"
#include "../engine/engine.h"
#include "../cache/key.h"
#include "../package/package.h"
#include "../snapshot/snapmem.h"
#include "callbacks.h"
#include "extensions.h"
#include "session_blob.h"
#include "../snapshot/wasm_image.h"
#include "../vfs/vfs.h"
#include "../vfs/vfs_shared.h"
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
#define DEFAULT_OUTPUT_LIMIT ((uint64_t)16 << 20) /* per stream */
#define TRUNCATION_MARKER "\n[eryx: output truncated: the stream reached its byte limit]\n"
/* Host waits (sleep, stdin) wake this often to check for a timeout or a cancel. */
#define WAIT_SLICE_NS 2000000L

/* Why an execution must stop (eryx_sandbox.stop). */
enum { STOP_NONE = 0, STOP_TIMEOUT, STOP_CANCEL, STOP_OUTPUT };

/* What the guest reports through eryx.report (see guest/lib/_eryx_support.py). */
enum { REPORT_EXC_TYPE = 1, REPORT_EXC_MESSAGE = 2, REPORT_TRACEBACK = 3, REPORT_RESULT = 4, REPORT_RESULT_ERROR = 5 };

typedef struct mount_spec {
    char *host, *guest;
    unsigned flags;
    eryx_storage *storage; /* a reference: a shared storage mounted instead of host (eryx_builder_add_storage) */
    struct mount_spec *next;
} mount_spec;

/* What every instance of a sandbox is made from: a sandbox keeps its own copy, so
** it can make a fresh instance after each execution. */
typedef struct run_spec {
    char *guest_dir;
    int argc;
    char **argv;
    int envc;
    char **env; /* "NAME=VALUE" */
    mount_spec *mounts; /* in the order added */
    eryx__package *pkgs; /* mounted read-only at their guest_path, on sys.path in this order */
    size_t npkgs;
    uint64_t memfs_limit;
    char *result_name; /* NULL: no result variable */
    bool keep_state;
    uint64_t timeout_ns;   /* per execution; 0: none */
    uint64_t max_memory;   /* guest linear memory cap in bytes; 0: wasm's own 4 GiB */
    uint64_t output_limit; /* bytes kept per stream; 0: none */
    uint64_t fuel;         /* instruction budget per execution; 0: not metered */
    eryx__engine_kind engine;
    eryx__cb_def *cbs; /* host callbacks */
    size_t ncbs;
    uint32_t cb_max_calls;  /* per execution; 0: none */
    uint64_t cb_timeout_ns; /* per call; 0: none */
    char *imports;    /* modules to import before the snapshot, one per line; NULL: none */
    char *setup;      /* setup code run after them; NULL: none */
    size_t setup_len;
} run_spec;

struct eryx_builder {
    run_spec spec;
    char *cache_dir; /* NULL: no disk cache */
    bool preinit;
    eryx_cache *memory; /* a reference; NULL: none */
    uint64_t cache_max_bytes, cache_max_entries;
    eryx_cache_backend backend;
    bool has_backend;
    void *backend_user;
    eryx_warning_fn warn;
    void *warn_user;
    /* The interpreter (SHA-256) the packages' extension modules were last found
    ** to link against; "" until checked, and again after a package is added. */
    char link_checked[ERYX__KEY_HEX_LEN + 1];
    eryx__errbuf err;
};

typedef struct buf {
    char *data;
    size_t len, cap;
} buf;

struct eryx_result {
    buf out, err;
    char *exc_type, *exc_message, *traceback, *value, *value_error;
    bool truncated[2]; /* stdout, stderr */
    uint64_t peak_memory, fuel_consumed;
    uint32_t callback_calls;
    int exit_code;
    uint64_t duration_ns;
};

struct eryx_sandbox {
    run_spec spec;      /* a private copy of the builder's */
    eryx__guest *guest; /* a reference: keeps the module (and its cache entry) alive */
    char artifact[65];  /* SHA-256 naming image + bare module + engine: session blobs carry it */
    eryx__cb_hub *hub;  /* host callbacks' calls; NULL: no callbacks */
    char *cb_list;      /* the guest's description of them (JSON) */
    bool transient;     /* a capture's instance: its memory is not pooled (eryx__snapmem_arm_transient) */
    eryx__snapimg *img; /* pre-initialized: the snapshot image each instance starts from;
                        ** guest is then the bare module. NULL: Python starts in each */
    void *memfs[2];     /* /tmp and /data when in memory (owned by vfs), else NULL */
    wasmtime_store_t *store;
    wasmtime_context_t *cx;
    wasmtime_instance_t instance;
    eryx__host host; /* the store's data */
    eryx__dl_host *dl; /* extension modules loaded into this instance; NULL: none yet */
    char *ext_cache_dir; /* the builder's disk tier, for compiled extensions; NULL: none */
    uint64_t ext_cache_max_bytes, ext_cache_max_entries;
    eryx_vfs *vfs;
    eryx_wasi *wasi;
    wasmtime_func_t fn_alloc, fn_free, fn_execute, fn_call;
    int dead;   /* the guest exited or trapped: the instance cannot run again */
    int broken; /* a fresh instance could not be made: the sandbox is unusable */
#ifdef ERYX_BENCH_HOOKS
    uint64_t phase_ns[3]; /* creation: module + VFS set-up, instantiation, Python start */
#endif
    eryx_read_fn stdin_fn;
    void *stdin_user;
    eryx_output_fn out_fn;
    void *out_user;
    eryx_result *cur; /* the result being filled by the running execution */
    atomic_int stop;   /* STOP_*: set when the running execution must end */
    atomic_int cancel; /* eryx_sandbox_cancel was called (consumed by an execution) */
    uint64_t deadline_ns; /* CLOCK_MONOTONIC; 0: none */
    int stdin_fd;         /* >= 0: the guest's stdin is this fd (eryx_sandbox_set_stdin_fd) */
    eryx__errbuf err;
};

/* ---- small helpers --------------------------------------------------------------- */
static int buf_append(buf *b, const void *data, size_t len) {
    if (len > SIZE_MAX / 2 - b->len) return -1;
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
    b->spec.guest_dir = strdup(env && *env ? env : ERYX_DEFAULT_GUEST_DIR);
    b->cache_dir = default_cache_dir();
    b->spec.memfs_limit = DEFAULT_MEMFS_LIMIT;
    b->spec.result_name = strdup("result");
    b->spec.output_limit = DEFAULT_OUTPUT_LIMIT;
    b->spec.cb_max_calls = 1000;
    b->spec.cb_timeout_ns = (uint64_t)30 * 1000000000u;
    b->preinit = true;
    b->cache_max_bytes = DEFAULT_CACHE_MAX_BYTES;
    b->memory = eryx__default_memcache();
    eryx__memcache_retain(b->memory);
    static const char *const default_argv[] = {"-c"};
    if (!b->spec.guest_dir || !b->spec.result_name || eryx_builder_set_argv(b, 1, default_argv) != ERYX_OK) {
        eryx_builder_free(b);
        return NULL;
    }
    return b;
}

static void spec_free(run_spec *spec) {
    free(spec->guest_dir);
    free_strv(spec->argv, spec->argc);
    free_strv(spec->env, spec->envc);
    free(spec->result_name);
    free(spec->imports);
    free(spec->setup);
    for (size_t i = 0; i < spec->ncbs; i++) {
        free(spec->cbs[i].name);
        free(spec->cbs[i].description);
        free(spec->cbs[i].schema);
    }
    free(spec->cbs);
    for (mount_spec *m = spec->mounts, *next; m; m = next) {
        next = m->next;
        free(m->host);
        free(m->guest);
        eryx_storage_release(m->storage);
        free(m);
    }
    for (size_t i = 0; i < spec->npkgs; i++) eryx__package_clear(&spec->pkgs[i]);
    free(spec->pkgs);
    memset(spec, 0, sizeof *spec);
}

static char **copy_strv(char **v, int n) {
    char **copy = calloc((size_t)n + 1, sizeof *copy);
    for (int i = 0; copy && i < n; i++) {
        if (!(copy[i] = strdup(v[i]))) {
            free_strv(copy, i);
            return NULL;
        }
    }
    return copy;
}

/* Deep copy; -1 when out of memory (dst is then empty). */
static int spec_copy(run_spec *dst, const run_spec *src) {
    *dst = (run_spec){.argc = src->argc, .envc = src->envc, .memfs_limit = src->memfs_limit,
                      .keep_state = src->keep_state, .timeout_ns = src->timeout_ns, .max_memory = src->max_memory,
                      .output_limit = src->output_limit, .fuel = src->fuel, .engine = src->engine,
                      .setup_len = src->setup_len, .cb_max_calls = src->cb_max_calls,
                      .cb_timeout_ns = src->cb_timeout_ns};
    dst->guest_dir = strdup(src->guest_dir);
    dst->argv = copy_strv(src->argv, src->argc);
    dst->env = copy_strv(src->env, src->envc);
    dst->result_name = src->result_name ? strdup(src->result_name) : NULL;
    dst->imports = src->imports ? strdup(src->imports) : NULL;
    if (src->setup && (dst->setup = malloc(src->setup_len + 1))) memcpy(dst->setup, src->setup, src->setup_len + 1);
    bool ok = dst->guest_dir && dst->argv && dst->env && (dst->result_name || !src->result_name) &&
              (dst->imports || !src->imports) && (dst->setup || !src->setup);
    if (ok && src->ncbs && !(dst->cbs = calloc(src->ncbs, sizeof *dst->cbs))) ok = false;
    for (size_t i = 0; ok && i < src->ncbs; i++, dst->ncbs++) {
        eryx__cb_def *d = &dst->cbs[i];
        *d = (eryx__cb_def){.fn = src->cbs[i].fn, .user = src->cbs[i].user};
        d->name = strdup(src->cbs[i].name);
        d->description = strdup(src->cbs[i].description);
        d->schema = strdup(src->cbs[i].schema);
        ok = d->name && d->description && d->schema;
        if (!ok) dst->ncbs++;
    }
    mount_spec **tail = &dst->mounts;
    for (const mount_spec *m = src->mounts; ok && m; m = m->next) {
        mount_spec *c = calloc(1, sizeof *c);
        if (c) *tail = c;
        ok = c && (c->host = strdup(m->host)) && (c->guest = strdup(m->guest));
        if (c) c->flags = m->flags;
        if (c && m->storage) c->storage = eryx__storage_ref(m->storage);
        tail = c ? &c->next : tail;
    }
    if (ok && src->npkgs && !(dst->pkgs = calloc(src->npkgs, sizeof *dst->pkgs))) ok = false;
    for (size_t i = 0; ok && i < src->npkgs; i++, dst->npkgs++) ok = eryx__package_copy(&dst->pkgs[i], &src->pkgs[i]) == 0;
    if (!ok) {
        if (!dst->argv) dst->argc = 0;
        if (!dst->env) dst->envc = 0;
        spec_free(dst);
        return -1;
    }
    return 0;
}

void eryx_builder_free(eryx_builder *b) {
    if (!b) return;
    eryx__image_writes_wait(); /* snapshot images it made, still being written to disk */
    spec_free(&b->spec);
    free(b->cache_dir);
    eryx_cache_release(b->memory);
    free(b);
}

const char *eryx_builder_errmsg(const eryx_builder *b) { return b ? b->err.msg : "builder is NULL"; }

eryx_status eryx_builder_set_guest_dir(eryx_builder *b, const char *dir) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    if (!dir || !*dir) return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "guest dir is NULL or empty");
    char *copy = strdup(dir);
    if (!copy) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory to copy the guest dir");
    free(b->spec.guest_dir);
    b->spec.guest_dir = copy;
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
    free_strv(b->spec.argv, b->spec.argc);
    b->spec.argv = copy;
    b->spec.argc = argc;
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
    for (int i = 0; i < b->spec.envc; i++) {
        if (!strncmp(b->spec.env[i], kv, nlen + 1)) {
            free(b->spec.env[i]);
            b->spec.env[i] = kv;
            return ERYX_OK;
        }
    }
    char **grown = realloc(b->spec.env, (size_t)(b->spec.envc + 1) * sizeof *grown);
    if (!grown) {
        free(kv);
        return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for an environment variable");
    }
    grown[b->spec.envc++] = kv;
    b->spec.env = grown;
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
    if (!strcmp(norm, "/packages") || !strncmp(norm, "/packages/", 10))
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT,
                          "cannot mount at %s: /packages holds the builder's packages (choose a path like /mnt/data)",
                          norm);
    for (mount_spec *m = b->spec.mounts; m; m = m->next)
        if (!strcmp(m->guest, norm))
            return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "%s is already mounted", norm);
    mount_spec *m = calloc(1, sizeof *m);
    if (!m || !(m->host = strdup(host_dir)) || !(m->guest = strdup(norm))) {
        if (m) free(m->host);
        free(m);
        return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for a mount");
    }
    m->flags = flags;
    mount_spec **tail = &b->spec.mounts;
    while (*tail) tail = &(*tail)->next;
    *tail = m;
    return ERYX_OK;
}

eryx_status eryx_builder_add_package(eryx_builder *b, const char *path) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    eryx__package p;
    eryx_status st = eryx__package_open(path, &p, &b->err);
    if (st != ERYX_OK) return st;
    for (size_t i = 0; i < b->spec.npkgs; i++) {
        if (!strcmp(b->spec.pkgs[i].name, p.name)) {
            st = eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT,
                            "%s and %s are both named '%s'; a builder takes one package of each name", p.source,
                            b->spec.pkgs[i].source, p.name);
            eryx__package_clear(&p);
            return st;
        }
    }
    eryx__package *grown = realloc(b->spec.pkgs, (b->spec.npkgs + 1) * sizeof *grown);
    if (!grown) {
        eryx__package_clear(&p);
        return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for a package");
    }
    grown[b->spec.npkgs++] = p;
    b->spec.pkgs = grown;
    b->link_checked[0] = '\0';
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
    b->spec.memfs_limit = max_bytes;
    return ERYX_OK;
}

eryx_status eryx_builder_set_preinit(eryx_builder *b, int enabled) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    b->preinit = enabled != 0;
    return ERYX_OK;
}

eryx_status eryx_builder_add_preimport(eryx_builder *b, const char *module) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    if (!module || !*module || strspn(module, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") !=
                                   strlen(module))
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "'%s' is not a module name (like json or xml.dom)",
                          module ? module : "(null)");
    size_t have = b->spec.imports ? strlen(b->spec.imports) : 0, n = strlen(module);
    char *grown = realloc(b->spec.imports, have + n + 2);
    if (!grown) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for a module name");
    memcpy(grown + have, module, n);
    memcpy(grown + have + n, "\n", 2);
    b->spec.imports = grown;
    return ERYX_OK;
}

eryx_status eryx_builder_set_setup_code(eryx_builder *b, const char *code, size_t len) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    if (!code && len) return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "setup code is NULL with length %zu", len);
    char *copy = NULL;
    if (code && !(copy = malloc(len + 1))) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for setup code");
    if (copy) {
        memcpy(copy, code, len);
        copy[len] = '\0';
    }
    free(b->spec.setup);
    b->spec.setup = copy;
    b->spec.setup_len = copy ? len : 0;
    return ERYX_OK;
}

eryx_status eryx_builder_set_keep_state(eryx_builder *b, int keep) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    b->spec.keep_state = keep != 0;
    return ERYX_OK;
}

/* A timeout in ms as the spec's ns; ERYX_ERR_INVALID_ARGUMENT when it overflows. */
static eryx_status set_timeout(run_spec *spec, eryx__errbuf *err, uint64_t ms) {
    if (ms > UINT64_MAX / 1000000u) return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "timeout too large");
    spec->timeout_ns = ms * 1000000u;
    return ERYX_OK;
}

eryx_status eryx_builder_set_timeout_ms(eryx_builder *b, uint64_t ms) {
    return b ? set_timeout(&b->spec, &b->err, ms) : ERYX_ERR_INVALID_ARGUMENT;
}

eryx_status eryx_builder_set_max_memory(eryx_builder *b, uint64_t bytes) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    if (bytes > ((uint64_t)4 << 30))
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "a wasm32 guest cannot use more than 4 GiB");
    b->spec.max_memory = bytes;
    return ERYX_OK;
}

eryx_status eryx_builder_set_output_limit(eryx_builder *b, uint64_t bytes) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    b->spec.output_limit = bytes;
    return ERYX_OK;
}

eryx_status eryx_builder_set_fuel(eryx_builder *b, uint64_t units) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    if (units > UINT64_MAX / 4) return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "fuel budget too large");
    b->spec.fuel = units;
    if (units) b->spec.engine = ERYX__ENGINE_FUEL;
    else if (b->spec.engine == ERYX__ENGINE_FUEL) b->spec.engine = ERYX__ENGINE_STANDARD;
    return ERYX_OK;
}

#ifdef ERYX_BENCH_HOOKS
void eryx__builder_set_engine(eryx_builder *b, int kind) { b->spec.engine = (eryx__engine_kind)kind; }
#endif

eryx_status eryx_builder_add_callback(eryx_builder *b, const char *name, const char *description,
                                      const char *parameters_schema, eryx_callback_fn fn, void *user) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    const char *why = fn ? eryx__cb_check(name, parameters_schema) : "the callback function is NULL";
    if (why) return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "callback %s: %s", name ? name : "(null)", why);
    for (size_t i = 0; i < b->spec.ncbs; i++)
        if (!strcmp(b->spec.cbs[i].name, name))
            return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "a callback named %s is already registered", name);
    eryx__cb_def *grown = realloc(b->spec.cbs, (b->spec.ncbs + 1) * sizeof *grown);
    if (!grown) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for a callback");
    b->spec.cbs = grown;
    eryx__cb_def *d = &grown[b->spec.ncbs];
    *d = (eryx__cb_def){.fn = fn, .user = user};
    d->name = strdup(name);
    d->description = strdup(description ? description : "");
    d->schema = strdup(parameters_schema ? parameters_schema : "{}");
    if (!d->name || !d->description || !d->schema) {
        free(d->name);
        free(d->description);
        free(d->schema);
        return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for a callback");
    }
    b->spec.ncbs++;
    return ERYX_OK;
}

eryx_status eryx_builder_set_callback_limits(eryx_builder *b, uint32_t max_invocations, uint64_t call_timeout_ms) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    if (call_timeout_ms > UINT64_MAX / 1000000u)
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "callback timeout too large");
    b->spec.cb_max_calls = max_invocations;
    b->spec.cb_timeout_ns = call_timeout_ms * 1000000u;
    return ERYX_OK;
}

eryx_status eryx_builder_set_result_name(eryx_builder *b, const char *name) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    if (name && (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
                               strlen(name) || (*name >= '0' && *name <= '9')))
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "'%s' is not a Python variable name", name);
    char *copy = name ? strdup(name) : NULL;
    if (name && !copy) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for the result name");
    free(b->spec.result_name);
    b->spec.result_name = copy;
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
const char *eryx_result_value(const eryx_result *r) { return r ? r->value : NULL; }
int eryx_result_truncated(const eryx_result *r, int stream) {
    return r && (stream == 1 || stream == 2) ? r->truncated[stream - 1] : 0;
}
uint64_t eryx_result_peak_memory(const eryx_result *r) { return r ? r->peak_memory : 0; }
uint64_t eryx_result_fuel_consumed(const eryx_result *r) { return r ? r->fuel_consumed : 0; }
uint32_t eryx_result_callback_invocations(const eryx_result *r) { return r ? r->callback_calls : 0; }
const char *eryx_result_value_error(const eryx_result *r) { return r ? r->value_error : NULL; }
int eryx_result_exit_code(const eryx_result *r) { return r ? r->exit_code : 0; }
uint64_t eryx_result_duration_ns(const eryx_result *r) { return r ? r->duration_ns : 0; }

void eryx_result_free(eryx_result *r) {
    if (!r) return;
    free(r->out.data);
    free(r->err.data);
    free(r->exc_type);
    free(r->exc_message);
    free(r->traceback);
    free(r->value);
    free(r->value_error);
    free(r);
}

/* ---- host hooks (called from inside guest calls) --------------------------------- */
/* Whether the running execution must stop now; records the reason once. */
static bool must_stop(eryx_sandbox *s) {
    if (atomic_load_explicit(&s->stop, memory_order_relaxed)) return true;
    int reason = STOP_NONE;
    if (atomic_load_explicit(&s->cancel, memory_order_relaxed)) reason = STOP_CANCEL;
    else if (s->deadline_ns && now_ns() >= s->deadline_ns) reason = STOP_TIMEOUT;
    if (reason == STOP_NONE) return false;
    int none = STOP_NONE;
    atomic_compare_exchange_strong(&s->stop, &none, reason);
    return true;
}

/* Sleeps ns in slices, so a timeout or a cancel ends the wait within a slice. */
static uint16_t hook_sleep(void *user, uint64_t ns) {
    eryx_sandbox *s = user;
    uint64_t end = now_ns() + ns;
    for (;;) {
        if (s->cur && must_stop(s)) return ERYX_WASI_EINTR;
        uint64_t now = now_ns();
        if (now >= end) return 0;
        uint64_t left = end - now < (uint64_t)WAIT_SLICE_NS ? end - now : (uint64_t)WAIT_SLICE_NS;
        struct timespec ts = {0, (long)left};
        nanosleep(&ts, NULL);
    }
}

static ptrdiff_t hook_read_stdin(void *user, void *dst, size_t len) {
    eryx_sandbox *s = user;
    if (s->stdin_fd < 0) return s->stdin_fn ? s->stdin_fn(s->stdin_user, dst, len) : 0;
    /* An fd: wait in slices (interruptible), then read what is there. */
    for (;;) {
        if (s->cur && must_stop(s)) return -1;
        struct pollfd p = {.fd = s->stdin_fd, .events = POLLIN};
        int n = poll(&p, 1, (int)(WAIT_SLICE_NS / 1000000L));
        if (n < 0 && errno != EINTR) return -1;
        if (n > 0) {
            ssize_t r = read(s->stdin_fd, dst, len);
            if (r >= 0 || (errno != EINTR && errno != EAGAIN)) return r;
        }
    }
}

/* Output outside an execution (while Python starts) is kept in a scratch result so
** a failed start can show what Python printed. Past the stream's cap, the kept
** output ends with a marker and the execution stops (ERYX_ERR_OUTPUT_LIMIT). */
static uint16_t hook_write_output(void *user, int fd, const void *data, size_t len) {
    eryx_sandbox *s = user;
    if (!s->cur) return 0;
    buf *b = fd == 1 ? &s->cur->out : &s->cur->err;
    uint64_t cap = s->spec.output_limit;
    size_t keep = len;
    bool over = cap && (b->len > cap || len > cap - b->len);
    if (over) keep = b->len < cap ? (size_t)(cap - b->len) : 0;
    if (buf_append(b, data, keep) != 0) return ERYX_WASI_ENOSPC;
    if (s->out_fn && keep) s->out_fn(s->out_user, fd, data, keep);
    if (over) {
        s->cur->truncated[fd == 1 ? 0 : 1] = true;
        buf_append(b, TRUNCATION_MARKER, sizeof TRUNCATION_MARKER - 1);
        int none = STOP_NONE;
        atomic_compare_exchange_strong(&s->stop, &none, STOP_OUTPUT);
        return ERYX_WASI_ENOSPC;
    }
    return 0;
}

/* ---- host callbacks: the guest's calls, to the sandbox's hub ---- */
static bool stop_requested(void *user) {
    eryx_sandbox *s = user;
    return s->cur && must_stop(s);
}
static int32_t hook_cb_start(void *user, const uint8_t *name, size_t nlen, const uint8_t *args, size_t alen) {
    eryx_sandbox *s = user;
    return eryx__cb_start(s->hub, name, nlen, args, alen);
}
static int32_t hook_cb_wait(void *user, int32_t timeout_ms) {
    eryx_sandbox *s = user;
    return eryx__cb_wait(s->hub, timeout_ms, stop_requested, s);
}
static int32_t hook_cb_len(void *user, int32_t id) {
    eryx_sandbox *s = user;
    return eryx__cb_len(s->hub, id);
}
/* Where compiled extension modules are cached: the disk tier only (the embedder's
** backend and warning handler belong to the builder, which may be gone by now). */
static eryx__cache_config ext_cache_config(const eryx_sandbox *s) {
    return (eryx__cache_config){.engine = s->spec.engine,
                                .dir = s->ext_cache_dir,
                                .max_bytes = s->ext_cache_max_bytes,
                                .max_entries = s->ext_cache_max_entries};
}

/* Loads again, where they were, the extension modules the guest's log in the
** instance's memory names and the instance has not loaded yet (a restored
** snapshot's, a restored session's). 0, or -1 with a message in msg. */
static int replay_extensions(eryx_sandbox *s, char *msg, size_t cap) {
    eryx__cache_config cc = ext_cache_config(s);
    return eryx__ext_replay(&s->dl, &cc, s->cx, &s->instance, eryx__guest_module(s->guest), s->vfs, msg, cap);
}

/* eryx.dl_open: an extension module's side module, loaded into this instance. */
static int32_t hook_dl_open(void *user, const char *path, const char *init, char *err, size_t err_cap) {
    eryx_sandbox *s = user;
    eryx__cache_config cc = ext_cache_config(s);
    return eryx__ext_open(&s->dl, &cc, s->cx, &s->instance, eryx__guest_module(s->guest), s->vfs, path, init, err,
                          err_cap);
}

static int32_t hook_cb_take(void *user, int32_t id, uint8_t *out, size_t cap) {
    eryx_sandbox *s = user;
    return eryx__cb_take(s->hub, id, out, cap);
}

/* The store's epoch deadline was reached (the process ticker advances the epoch
** every ERYX__TICK_NS during executions): stop the guest, or let it run one more
** tick. */
static wasmtime_error_t *on_epoch(wasmtime_context_t *cx, void *user, uint64_t *delta,
                                  wasmtime_update_deadline_kind_t *kind) {
    (void)cx;
    eryx_sandbox *s = user;
    if (s->cur && must_stop(s)) return wasmtime_error_new("eryx: the execution was stopped");
    *delta = 1;
    *kind = WASMTIME_UPDATE_DEADLINE_CONTINUE;
    return NULL;
}

static void hook_report(void *user, int32_t kind, const uint8_t *data, size_t len) {
    eryx_sandbox *s = user;
    if (!s->cur) return;
    char **field = kind == REPORT_EXC_TYPE      ? &s->cur->exc_type
                   : kind == REPORT_EXC_MESSAGE ? &s->cur->exc_message
                   : kind == REPORT_TRACEBACK   ? &s->cur->traceback
                   : kind == REPORT_RESULT      ? &s->cur->value
                   : kind == REPORT_RESULT_ERROR ? &s->cur->value_error
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

static const char *const trap_names[] = {
    "stack overflow", "out-of-bounds memory access", "misaligned memory access", "out-of-bounds table access",
    "indirect call to null", "indirect call signature mismatch", "integer overflow", "integer division by zero",
    "invalid conversion to integer", "unreachable code reached", "interrupt", "out of fuel",
};

/* The status and message for a guest call that trapped: a stop eryx asked for
** (timeout, cancel, output cap), the memory cap, or a crash with its kind. */
static eryx_status trap_status(eryx_sandbox *s, const char *what, wasmtime_error_t *e, wasm_trap_t *trap) {
    int reason = atomic_load(&s->stop);
    if (reason != STOP_NONE) {
        if (e) wasmtime_error_delete(e);
        if (trap) wasm_trap_delete(trap);
        if (reason == STOP_TIMEOUT)
            return eryx__fail(&s->err, ERYX_ERR_TIMEOUT,
                              "the execution ran past its %llu ms timeout and was stopped; the next one starts afresh",
                              (unsigned long long)(s->spec.timeout_ns / 1000000u));
        if (reason == STOP_CANCEL)
            return eryx__fail(&s->err, ERYX_ERR_CANCELLED,
                              "the execution was cancelled (eryx_sandbox_cancel); the next one starts afresh");
        return eryx__fail(&s->err, ERYX_ERR_OUTPUT_LIMIT,
                          "the guest wrote more than %llu bytes to stdout or stderr and was stopped (raise the cap "
                          "with eryx_builder_set_output_limit)",
                          (unsigned long long)s->spec.output_limit);
    }
    wasmtime_trap_code_t code = 0;
    bool has_code = trap && wasmtime_trap_code(trap, &code);
    if (has_code && code == WASMTIME_TRAP_CODE_OUT_OF_FUEL) {
        if (e) wasmtime_error_delete(e);
        wasm_trap_delete(trap);
        return eryx__fail(&s->err, ERYX_ERR_FUEL_EXHAUSTED,
                          "the execution used up its budget of %llu fuel units and was stopped (raise it with "
                          "eryx_builder_set_fuel)",
                          (unsigned long long)s->spec.fuel);
    }
    size_t msize = wasmtime_memory_data_size(s->cx, &s->host.memory);
    if (s->spec.max_memory && msize + (4u << 20) > s->spec.max_memory && !(has_code && code == 0))
        return eryx__fail_wasmtime(&s->err, ERYX_ERR_MEMORY_LIMIT,
                                   "the guest crashed at its memory limit (MemoryError could not be raised)", e, trap);
    char what_kind[256];
    snprintf(what_kind, sizeof what_kind, "%s: the guest crashed (%s)", what,
             has_code && code < sizeof trap_names / sizeof trap_names[0] ? trap_names[code] : "engine error");
    return eryx__fail_wasmtime(&s->err, ERYX_ERR_TRAP, what_kind, e, trap);
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
    return trap_status(s, what, e, trap);
}

static eryx_status mount_all(eryx_sandbox *s) {
    const run_spec *spec = &s->spec;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/lib/python313.zip", spec->guest_dir);
    eryx_vfs_zip *img = eryx__stdlib_image(path, &s->err);
    if (!img) return ERYX_ERR_GUEST_NOT_FOUND;
    eryx_errno e = eryx_vfs_mount(s->vfs, STDLIB_GUEST_PATH, &eryx_vfs_zip_backend, img, true);
    if (e) return eryx__fail(&s->err, ERYX_ERR_MOUNT, "cannot mount the stdlib image (WASI errno %u)", e);

    for (mount_spec *m = spec->mounts; m; m = m->next) {
        char msg[512] = "";
        if (m->storage) { /* a shared storage (vfs_shared.c) */
            e = eryx_vfs_mount(s->vfs, m->guest, &eryx__vfs_shared_backend, eryx__storage_ref(m->storage), false);
            if (e) return eryx__fail(&s->err, ERYX_ERR_MOUNT, "cannot mount a storage at %s (WASI errno %u)", m->guest, e);
            continue;
        }
        void *host = eryx_vfs_host_new(m->host, m->flags & ERYX_MOUNT_READONLY, msg, sizeof msg);
        if (!host) return eryx__fail(&s->err, ERYX_ERR_MOUNT, "cannot mount %s at %s: %s", m->host, m->guest, msg);
        e = eryx_vfs_mount(s->vfs, m->guest, &eryx_vfs_host_backend, host, m->flags & ERYX_MOUNT_READONLY);
        if (e) return eryx__fail(&s->err, ERYX_ERR_MOUNT, "cannot mount %s at %s (WASI errno %u)", m->host, m->guest, e);
    }
    for (size_t i = 0; i < spec->npkgs; i++) {
        const eryx__package *p = &spec->pkgs[i];
        e = eryx_vfs_mount(s->vfs, p->guest_path, &eryx_vfs_zip_backend, eryx_vfs_zip_ref(p->img), true);
        if (e)
            return eryx__fail(&s->err, ERYX_ERR_MOUNT, "cannot mount the package %s at %s (WASI errno %u)", p->source,
                              p->guest_path, e);
    }
    /* /dev/null (os.devnull), unless the embedder mounted something at that path
    ** (a mount at /dev or / stays: the deeper mount point wins). */
    int dev_taken = 0;
    for (mount_spec *m = spec->mounts; m; m = m->next) dev_taken |= !strcmp(m->guest, "/dev/null");
    if (!dev_taken && (e = eryx_vfs_mount(s->vfs, "/dev/null", &eryx_vfs_null_backend, NULL, false)) != 0)
        return eryx__fail(&s->err, ERYX_ERR_MOUNT, "cannot mount /dev/null (WASI errno %u)", e);
    static const char *const memfs_paths[] = {"/tmp", "/data"};
    for (size_t i = 0; i < 2; i++) {
        int taken = 0;
        s->memfs[i] = NULL;
        for (mount_spec *m = spec->mounts; m; m = m->next) taken |= !strcmp(m->guest, memfs_paths[i]);
        if (taken) continue;
        void *mem = eryx_vfs_mem_new(spec->memfs_limit);
        if (!mem) return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "no memory for %s", memfs_paths[i]);
        e = eryx_vfs_mount(s->vfs, memfs_paths[i], &eryx_vfs_mem_backend, mem, false);
        if (e) return eryx__fail(&s->err, ERYX_ERR_MOUNT, "cannot mount %s (WASI errno %u)", memfs_paths[i], e);
        s->memfs[i] = mem;
    }
    return ERYX_OK;
}

static void free_result_fields(eryx_result *r) {
    free(r->out.data);
    free(r->err.data);
    free(r->exc_type);
    free(r->exc_message);
    free(r->traceback);
    free(r->value);
    free(r->value_error);
}

/* Calls _eryx_support.<name>(arg) in the guest (the shim's eryx_call); *rc gets its
** int result. */
static eryx_status support_call(eryx_sandbox *s, const char *name, const char *arg, size_t arg_len, int *rc) {
    size_t name_len = strlen(name);
    if (arg_len > INT32_MAX - name_len - 1)
        return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT, "argument too large for the guest");
    wasmtime_val_t size = {.kind = WASMTIME_I32, .of.i32 = (int32_t)(name_len + arg_len + 1)}, ptr;
    eryx_status st = call(s, &s->fn_alloc, "allocating guest memory", &size, 1, &ptr, 1);
    if (st != ERYX_OK || s->dead) return st != ERYX_OK ? st : ERYX_ERR_SANDBOX_DEAD;
    uint32_t gptr = (uint32_t)ptr.of.i32;
    size_t msize = wasmtime_memory_data_size(s->cx, &s->host.memory);
    /* The pointer came from the guest: check it lies inside linear memory. */
    if (gptr == 0 || (size_t)gptr > msize || name_len + arg_len + 1 > msize - gptr)
        return eryx__fail(&s->err, ERYX_ERR_GUEST_API, "the guest's allocator returned no usable memory");
    uint8_t *mem = wasmtime_memory_data(s->cx, &s->host.memory);
    memcpy(mem + gptr, name, name_len);
    if (arg_len) memcpy(mem + gptr + name_len + 1, arg, arg_len);
    wasmtime_val_t args[4] = {{.kind = WASMTIME_I32, .of.i32 = (int32_t)gptr},
                              {.kind = WASMTIME_I32, .of.i32 = (int32_t)name_len},
                              {.kind = WASMTIME_I32, .of.i32 = (int32_t)(gptr + name_len + 1)},
                              {.kind = WASMTIME_I32, .of.i32 = (int32_t)arg_len}},
                   res;
    st = call(s, &s->fn_call, name, args, 4, &res, 1);
    if (st != ERYX_OK || s->dead) return st != ERYX_OK ? st : ERYX_ERR_SANDBOX_DEAD;
    *rc = res.of.i32;
    return call(s, &s->fn_free, "freeing guest memory", args, 1, NULL, 0);
}

/* Puts the packages' mount points on sys.path, after the stdlib (as site-packages
** would be): a package cannot shadow a standard module. */
static eryx_status add_package_paths(eryx_sandbox *s, eryx_result *scratch) {
    size_t n = 0;
    for (size_t i = 0; i < s->spec.npkgs; i++) n += strlen(s->spec.pkgs[i].guest_path) + 1;
    char *paths = malloc(n), *p = paths;
    if (!paths) return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "no memory for the package paths");
    for (size_t i = 0; i < s->spec.npkgs; i++) p = stpcpy(p, s->spec.pkgs[i].guest_path) + 1;
    int rc = 0;
    eryx_status st = support_call(s, "add_paths", paths, n - 1, &rc);
    free(paths);
    if (st == ERYX_OK && rc != 0)
        st = eryx__fail(&s->err, ERYX_ERR_GUEST_INIT, "putting the packages on sys.path failed: %.600s",
                        scratch->err.data ? scratch->err.data : "");
    return st;
}

/* Starts Python in a fresh instance of the base module: _initialize (C constructors)
** then eryx_init. What the guest prints meanwhile goes into a scratch result, shown
** in the error if the start fails. */
static eryx_status start_python(eryx_sandbox *s) {
    wasmtime_func_t fn_initialize, fn_init;
    eryx_status st;
    if ((st = get_func(s, "_initialize", &fn_initialize)) || (st = get_func(s, "eryx_init", &fn_init))) return st;
    eryx_result scratch = {0};
    s->cur = &scratch;
    wasmtime_val_t rc = {.kind = WASMTIME_I32, .of.i32 = 0};
    st = call(s, &fn_initialize, "guest _initialize", NULL, 0, NULL, 0);
    if (st == ERYX_OK && !s->dead) st = call(s, &fn_init, "starting Python in the guest", NULL, 0, &rc, 1);
    s->cur = NULL;
    if (st != ERYX_ERR_TRAP && (st != ERYX_OK || s->dead || rc.of.i32 != 0))
        st = eryx__fail(&s->err, ERYX_ERR_GUEST_INIT,
                        "Python failed to start in the guest; check that %s/lib holds the stdlib image built with "
                        "this python.wasm. Python said: %.600s",
                        s->spec.guest_dir, scratch.err.data ? scratch.err.data : "(nothing)");
    if (st == ERYX_OK && s->spec.npkgs) st = add_package_paths(s, &scratch);
    free_result_fields(&scratch);
    return st;
}

static eryx_status run_imports_and_setup(eryx_sandbox *s, const char *imports, const char *setup, size_t setup_len,
                                         bool warm, eryx_result *scratch, eryx__errbuf *err);

static void instance_free(eryx_sandbox *s) {
    eryx__ext_free(s->dl);
    s->dl = NULL;
    if (s->store) wasmtime_store_delete(s->store);
    eryx_wasi_free(s->wasi);
    eryx_vfs_free(s->vfs);
    s->store = NULL;
    s->cx = NULL;
    s->wasi = NULL;
    s->vfs = NULL;
    s->dead = 0;
    memset(&s->host, 0, sizeof s->host);
}

/*
** Makes the sandbox's instance: a fresh VFS (the stdlib image, empty /tmp and
** /data, the granted host directories) and WASI state, a store, and the module
** instantiated. A snapshot module starts with Python already started, so only its
** random generators are reseeded; the base module starts Python now. Records the
** time of each phase (ERYX_BENCH_HOOKS builds). The error is in s->err.
*/
static eryx_status instance_new(eryx_sandbox *s) {
#ifdef ERYX_BENCH_HOOKS
    uint64_t t0 = now_ns();
#endif
    eryx_status st;
    if (!(s->vfs = eryx_vfs_new())) return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "no memory for a sandbox's VFS");
    if ((st = mount_all(s)) != ERYX_OK) return st;
    eryx_wasi_config wc = {
        .argc = s->spec.argc,
        .argv = (const char *const *)s->spec.argv,
        .envc = s->spec.envc,
        .env = (const char *const *)s->spec.env,
        .io = {.read_stdin = hook_read_stdin, .write_output = hook_write_output, .sleep_ns = hook_sleep, .user = s},
        .vfs = s->vfs,
    };
    if (!(s->wasi = eryx_wasi_new(&wc)))
        return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "no memory for the sandbox's WASI state");
    s->host.wasi = s->wasi;
    s->host.report = hook_report;
    s->host.report_user = s;
    s->host.stop = &s->stop;
    s->host.dl_open = hook_dl_open;
    s->host.dl_user = s;
    if (s->hub) {
        s->host.cb_start = hook_cb_start;
        s->host.cb_wait = hook_cb_wait;
        s->host.cb_len = hook_cb_len;
        s->host.cb_take = hook_cb_take;
        s->host.cb_user = s;
    }
    if (!(s->store = wasmtime_store_new(eryx__engine(s->spec.engine, NULL), &s->host, NULL)))
        return eryx__fail(&s->err, ERYX_ERR_ENGINE, "wasmtime_store_new failed");
    s->cx = wasmtime_store_context(s->store);
    /* Epoch interruption is on in the engine: without a deadline the first check
    ** would trap. Executions set a near one (the next tick). */
    wasmtime_context_set_epoch_deadline(s->cx, UINT64_C(1) << 62);
    wasmtime_store_epoch_deadline_callback(s->store, on_epoch, s, NULL);
    if (s->spec.max_memory) wasmtime_store_limiter(s->store, (int64_t)s->spec.max_memory, -1, -1, -1, -1);
    /* Outside executions (start, restore) the metered engine runs unbudgeted. */
    if (s->spec.engine == ERYX__ENGINE_FUEL) wasmtime_context_set_fuel(s->cx, UINT64_MAX / 2);
    wasm_trap_t *trap = NULL;
#ifdef ERYX_BENCH_HOOKS
    uint64_t t1 = now_ns();
#endif
    /* The memory creator maps it as this instance's memory. */
    if (s->transient) eryx__snapmem_arm_transient(s->img);
    else eryx__snapmem_arm(s->img);
    wasmtime_error_t *e = wasmtime_instance_pre_instantiate(eryx__guest_pre(s->guest), s->cx, &s->instance, &trap);
    eryx__snapmem_arm(NULL);
#ifdef ERYX_BENCH_HOOKS
    uint64_t t2 = now_ns();
#endif
    if ((e || trap) && s->spec.max_memory)
        return eryx__fail_wasmtime(&s->err, ERYX_ERR_MEMORY_LIMIT,
                                   "instantiating the guest failed; is the memory limit below what the started "
                                   "interpreter needs (about 20 MiB, more with imports)?",
                                   e, trap);
    if (e || trap) return eryx__fail_wasmtime(&s->err, ERYX_ERR_ENGINE, "instantiating the guest failed", e, trap);
    wasmtime_extern_t mem;
    if (!wasmtime_instance_export_get(s->cx, &s->instance, "memory", 6, &mem) || mem.kind != WASMTIME_EXTERN_MEMORY)
        return eryx__fail(&s->err, ERYX_ERR_GUEST_API, "the guest module exports no memory");
    s->host.memory = mem.of.memory;
    s->host.has_memory = true;
    if ((st = get_func(s, "eryx_alloc", &s->fn_alloc)) || (st = get_func(s, "eryx_free", &s->fn_free)) ||
        (st = get_func(s, "eryx_execute", &s->fn_execute)) || (st = get_func(s, "eryx_call", &s->fn_call)))
        return st;
    wasmtime_extern_t init;
    if (s->img && wasmtime_instance_export_get(s->cx, &s->instance, "_initialize", 11, &init))
        return eryx__fail(&s->err, ERYX_ERR_ENGINE,
                          "the cached snapshot module is not a snapshot (it still exports _initialize): remove the "
                          "cache entry (eryx cache verify) or use another cache dir");
    if (s->img) {
        /* Extension modules the snapshot imported: loaded again where they were. */
        char msg[1024] = "";
        if (replay_extensions(s, msg, sizeof msg) != 0)
            return eryx__fail(&s->err, ERYX_ERR_GUEST_INIT,
                              "restoring the snapshot's extension modules failed: %s", msg);
    }
    if (!s->img && (st = start_python(s)) == ERYX_OK && (s->spec.imports || s->spec.setup)) {
        /* Without a snapshot, every instance runs the imports and setup itself. */
        eryx_result scratch = {0};
        s->cur = &scratch;
        st = run_imports_and_setup(s, s->spec.imports, s->spec.setup, s->spec.setup_len, false, &scratch, &s->err);
        s->cur = NULL;
        free_result_fields(&scratch);
    }
    if (st == ERYX_OK) {
        /* sys.argv (a snapshot serves every argv), fresh random seeds, and the
        ** names eryx_sandbox_clear keeps. */
        size_t n = 0;
        for (int i = 0; i < s->spec.argc; i++) n += strlen(s->spec.argv[i]) + 1;
        char *args = malloc(n + 1), *p = args;
        if (!args) return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "no memory for argv");
        for (int i = 0; i < s->spec.argc; i++) p = stpcpy(p, s->spec.argv[i]) + 1;
        int rc = 0;
        eryx_result scratch = {0};
        s->cur = &scratch;
        st = support_call(s, "restore", args, n ? n - 1 : 0, &rc);
        s->cur = NULL;
        free(args);
        if (st == ERYX_OK && rc != 0)
            st = eryx__fail(&s->err, ERYX_ERR_GUEST_INIT, "restoring the guest failed (status %d): %.600s", rc,
                            scratch.err.data ? scratch.err.data : "");
        /* The host callbacks, as async functions in __main__. */
        if (st == ERYX_OK && s->cb_list && !s->img) {
            s->cur = &scratch;
            st = support_call(s, "set_callbacks", s->cb_list, strlen(s->cb_list), &rc);
            s->cur = NULL;
            if (st == ERYX_OK && rc != 0)
                st = eryx__fail(&s->err, ERYX_ERR_GUEST_INIT, "installing the callbacks failed: %.600s",
                                scratch.err.data ? scratch.err.data : "");
        }
        free_result_fields(&scratch);
    }
#ifdef ERYX_BENCH_HOOKS
    s->phase_ns[0] = t1 - t0;
    s->phase_ns[1] = t2 - t1;
    s->phase_ns[2] = now_ns() - t2;
#endif
    return st;
}

/* ---- pre-initialization: the snapshot module ----------------------------------- */

/* What a snapshot depends on besides the base module and the engine: the stdlib
** image it imported from (its path and identity), the environment Python read
** while starting, the imports and the setup code. One string. Not argv: one
** snapshot serves every argv (each restore sets sys.argv). */
static char *snapshot_id_of(const eryx_builder *b, const char *base_sha, const char *cbs, bool plain) {
    char path[PATH_MAX], setup_sha[65] = "-", zip_id[128] = "missing", zip_sha[65];
    struct stat st;
    snprintf(path, sizeof path, "%s/lib/python313.zip", b->spec.guest_dir);
    if (stat(path, &st) == 0)
        snprintf(zip_id, sizeof zip_id, "%llu:%llu:%lld.%09ld", (unsigned long long)st.st_ino,
                 (unsigned long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    if (!plain && b->spec.setup && eryx__sha256_hex(b->spec.setup, b->spec.setup_len, setup_sha) != 0) return NULL;
    eryx__stdlib_sha256(b->spec.guest_dir, zip_sha);
    size_t n = 384 + strlen(base_sha) + strlen(b->spec.guest_dir);
    for (int i = 0; i < b->spec.envc; i++) n += strlen(b->spec.env[i]) + 1;
    if (b->spec.imports) n += strlen(b->spec.imports);
    n += cbs ? strlen(cbs) + 1 : 0;
    for (size_t i = 0; i < b->spec.npkgs; i++) n += strlen(b->spec.pkgs[i].guest_path) + 2 + ERYX__KEY_HEX_LEN;
    char *c = malloc(n), *p = c;
    if (!c) return NULL;
    p += sprintf(p, "eryx-snapshot-5\x1e%s\x1e%s\x1e%s %s\x1e%s\x1e", base_sha, b->spec.guest_dir, zip_sha, zip_id,
                 setup_sha);
    for (int i = 0; i < b->spec.envc; i++) p += sprintf(p, "%s\x1f", b->spec.env[i]);
    *p++ = '\x1e';
    *p = '\0'; /* the separator above overwrote the last terminator */
    if (plain) return c; /* the guest's plain snapshot for this environment (capture_from_base) */
    p += sprintf(p, "%s", b->spec.imports ? b->spec.imports : "");
    if (cbs) p += sprintf(p, "\x1e%s", cbs); /* installed in the snapshot: a restore need not */
    for (size_t i = 0; i < b->spec.npkgs; i++) /* content hashes: a changed package is a new snapshot */
        p += sprintf(p, "\x1e%s=%s", b->spec.pkgs[i].guest_path, b->spec.pkgs[i].sha256);
    return c;
}

static char *snapshot_id(const eryx_builder *b, const char *base_sha, const char *cbs) {
    return snapshot_id_of(b, base_sha, cbs, false);
}

typedef struct snapshot_job {
    eryx_builder *b;
    eryx__guest *base;
    const char *wasm_path, *wasm_sha;
    const char *cbs; /* the callbacks' description (eryx__cb_describe), NULL: none */
    const eryx__cache_config *cc;
    bool plain;          /* capture the plain snapshot: Python started, nothing imported or set up */
    eryx__snapimg *from; /* NULL, or the plain snapshot to start the capture from (not a fresh start) */
    eryx__guest *bare;   /* with `from`: the module instances of it run */
} snapshot_job;

/* Fails the snapshot with what the guest reported (the traceback, or its stderr). */
static eryx_status preinit_failed(eryx__errbuf *err, const char *what, const eryx_result *r) {
    const char *text = r->traceback ? r->traceback : r->err.data ? r->err.data : "(the guest said nothing)";
    return eryx__fail(err, ERYX_ERR_PREINIT, "pre-initialization failed: %s:\n%.3000s", what, text);
}

/*
** Runs the imports (one module per line; NULL: none) and the setup code (NULL: none,
** or "pass" when warm: the first execution in an interpreter pays a one-time
** ~4 ms, which a snapshot then carries paid) in s's started interpreter. preimport
** always runs: it imports _eryx_support itself. What the guest reports goes into
** scratch; a failure is ERYX_ERR_PREINIT with the traceback.
*/
static eryx_status run_imports_and_setup(eryx_sandbox *s, const char *imports, const char *setup, size_t setup_len,
                                         bool warm, eryx_result *scratch, eryx__errbuf *err) {
    int rc = 0;
    eryx_status st = support_call(s, "preimport", imports ? imports : "", imports ? strlen(imports) : 0, &rc);
    if (st != ERYX_OK || rc != 0)
        return st == ERYX_OK ? preinit_failed(err, "an import raised", scratch) : eryx__fail(err, st, "%s", s->err.msg);
    if (!setup && !warm) return ERYX_OK;
    if (!setup) setup = "pass", setup_len = 4;
    wasmtime_val_t size = {.kind = WASMTIME_I32, .of.i32 = (int32_t)setup_len}, ptr,
                   res = {.kind = WASMTIME_I32, .of.i32 = 0};
    st = call(s, &s->fn_alloc, "allocating guest memory", &size, 1, &ptr, 1);
    uint32_t gptr = (uint32_t)ptr.of.i32;
    size_t msize = st == ERYX_OK && !s->dead ? wasmtime_memory_data_size(s->cx, &s->host.memory) : 0;
    if (st == ERYX_OK && (gptr == 0 || gptr > msize || setup_len > msize - gptr)) st = ERYX_ERR_GUEST_API;
    if (st == ERYX_OK) {
        memcpy(wasmtime_memory_data(s->cx, &s->host.memory) + gptr, setup, setup_len);
        wasmtime_val_t args[2] = {{.kind = WASMTIME_I32, .of.i32 = (int32_t)gptr},
                                  {.kind = WASMTIME_I32, .of.i32 = (int32_t)setup_len}};
        st = call(s, &s->fn_execute, "running the setup code", args, 2, &res, 1);
        if (st == ERYX_OK && !s->dead) st = call(s, &s->fn_free, "freeing guest memory", args, 1, NULL, 0);
    }
    if (st == ERYX_OK && !s->dead && res.of.i32 != 0 && !scratch->exc_type)
        return eryx__fail(err, ERYX_ERR_PREINIT, "pre-initialization failed: the setup code exited with status %d",
                          res.of.i32);
    if (st != ERYX_OK || s->dead || res.of.i32 != 0)
        return preinit_failed(err, s->dead ? "the setup code ended the guest" : "the setup code raised", scratch);
    return ERYX_OK;
}

/* The build-time link check of the builder's extension modules against the
** interpreter module m (SHA-256 sha), once per builder and interpreter: an
** extension built for another interpreter fails here, naming the file and the
** symbol, before anything imports it. */
static eryx_status check_links(eryx_builder *b, const wasmtime_module_t *m, const char *sha, eryx__errbuf *err) {
    if (!strcmp(b->link_checked, sha)) return ERYX_OK;
    char msg[1024];
    if (eryx__ext_check_packages(m, sha, b->spec.pkgs, b->spec.npkgs, msg, sizeof msg) != 0)
        return eryx__fail(err, ERYX_ERR_PACKAGE, "%s", msg);
    snprintf(b->link_checked, sizeof b->link_checked, "%s", sha);
    return ERYX_OK;
}

/*
** Runs Python's start, the imports and the setup code in an instance of the base
** module, then builds the snapshot module: the base module whose memory starts as
** that instance's memory (src/snapshot/wasm_image.c), compiled. The module's only
** mutable global, the stack pointer, is back at its initial value between calls,
** so memory is the whole guest state; host state that a snapshot cannot carry
** (open files, files in /tmp or /data) is refused with an error.
*/
static eryx_status capture_snapshot(void *user, eryx__snapimg **out, eryx__errbuf *err) {
    snapshot_job *job = user;
    eryx_builder *b = job->b;
    /* The builder's cache dir (borrowed): extensions the imports load are compiled
    ** through it. */
    /* From the plain snapshot when there is one (its Python already started: ~10 ms
    ** saved), else from a fresh start of the base module. */
    eryx_sandbox t = {.guest = job->from ? job->bare : job->base, .img = job->from, .transient = true, .stdin_fd = -1,
                      .ext_cache_dir = b->cache_dir, .ext_cache_max_bytes = b->cache_max_bytes,
                      .ext_cache_max_entries = b->cache_max_entries};
    eryx_result scratch = {0};
    eryx_status st;
    if (spec_copy(&t.spec, &b->spec) != 0) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for a snapshot");
    /* The instance starts bare; the imports and setup are run below, once. */
    free(t.spec.imports);
    free(t.spec.setup);
    t.spec.imports = t.spec.setup = NULL;
    if (job->plain) /* nor packages: the plain snapshot serves every package set */
        for (size_t i = 0; i < t.spec.npkgs; i++) eryx__package_clear(&t.spec.pkgs[i]);
    if (job->plain) t.spec.npkgs = 0;
    /* The snapshot is made with sys.argv == ['-c'] whatever the builder's argv. */
    free_strv(t.spec.argv, t.spec.argc);
    t.spec.argc = 1;
    if (!(t.spec.argv = copy_strv((char *[]){"-c"}, 1))) {
        t.spec.argc = 0;
        spec_free(&t.spec);
        return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for a snapshot");
    }
    if (!job->plain && (st = check_links(b, eryx__guest_module(t.guest), job->wasm_sha, err)) != ERYX_OK) goto done;
    if ((st = instance_new(&t)) != ERYX_OK) {
        eryx__fail(err, st, "%s", t.err.msg);
        goto done;
    }
    t.cur = &scratch;
    if (job->from && t.spec.npkgs && (st = add_package_paths(&t, &scratch)) != ERYX_OK) { /* a fresh start adds them */
        eryx__fail(err, st, "%s", t.err.msg);
        goto done;
    }
    if ((st = run_imports_and_setup(&t, job->plain ? NULL : b->spec.imports, job->plain ? NULL : b->spec.setup,
                                    job->plain ? 0 : b->spec.setup_len, true, &scratch, err)) != ERYX_OK)
        goto done;
    if (job->cbs && !job->plain) { /* the callbacks' functions (and asyncio) are then in the snapshot */
        int rc = 0;
        st = support_call(&t, "set_callbacks", job->cbs, strlen(job->cbs), &rc);
        if (st != ERYX_OK || rc != 0) {
            st = eryx__fail(err, st != ERYX_OK ? st : ERYX_ERR_PREINIT, "installing the callbacks failed: %.600s",
                            scratch.err.data ? scratch.err.data : t.err.msg);
            goto done;
        }
    }
    size_t fds = eryx_wasi_guest_fd_count(t.wasi);
    if (!eryx__ext_logged(t.dl))
        st = eryx__fail(err, ERYX_ERR_PREINIT,
                        "pre-initialization loaded more native extension modules than the guest can record for a "
                        "snapshot (the first: %s): import some of them in the code, or use --no-preinit",
                        t.dl->mods[0].name);
    else if (fds)
        st = eryx__fail(err, ERYX_ERR_PREINIT,
                        "pre-initialization left %zu file(s) open; a snapshot cannot carry open files: close them "
                        "in the setup code",
                        fds);
    else if ((t.memfs[0] && eryx_vfs_mem_used(t.memfs[0])) || (t.memfs[1] && eryx_vfs_mem_used(t.memfs[1])))
        st = eryx__fail(err, ERYX_ERR_PREINIT,
                        "the setup code wrote files to /tmp or /data; a snapshot carries no files: write them at run "
                        "time, or keep the data in a variable");
    if (st != ERYX_OK) goto done;
    char msg[256] = "";
    if (!(*out = eryx__snapimg_new(wasmtime_memory_data(t.cx, &t.host.memory),
                                   wasmtime_memory_data_size(t.cx, &t.host.memory), msg, sizeof msg)))
        st = eryx__fail(err, ERYX_ERR_NO_MEMORY, "cannot keep the snapshot image: %s", msg);
done:
    t.cur = NULL;
    free_result_fields(&scratch);
    instance_free(&t);
    spec_free(&t.spec);
    return st;
}

/* On a snapshot-image miss: gets the base module (through its own cache tiers),
** then captures the image in an instance of it. */
static eryx_status make_bare_module(void *user, wasmtime_module_t **out, eryx__errbuf *err);

/* The id of the bare module of the guest whose SHA-256 is sha. */
static void bare_id_of(const char *sha, char id[128]) { snprintf(id, 128, "eryx-bare-1\x1e%s", sha); }

static eryx_status capture_from_base(void *user, eryx__snapimg **out, eryx__errbuf *err) {
    snapshot_job *job = user;
    if (job->from) return capture_snapshot(job, out, err);
    const run_spec *spec = &job->b->spec;
    if (!job->plain && (spec->imports || spec->setup || spec->npkgs || job->cbs)) {
        /* Layered: start from the guest's plain snapshot for this environment (the
        ** one a builder with no imports, setup, packages or callbacks uses, made
        ** once and cached like any snapshot) instead of starting Python again. */
        char bare_id[128];
        bare_id_of(job->wasm_sha, bare_id);
        char *plain_id = snapshot_id_of(job->b, job->wasm_sha, NULL, true);
        if (!plain_id) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for the snapshot key");
        snapshot_job pj = *job;
        pj.plain = true, pj.cbs = NULL;
        eryx__snapimg *plain = NULL;
        eryx__guest *bare = NULL;
        eryx_status st = eryx__image_acquire(plain_id, capture_from_base, &pj, job->cc, &plain, err);
        free(plain_id);
        if (st == ERYX_OK) st = eryx__module_acquire(bare_id, make_bare_module, job, job->cc, &bare, NULL, err);
        if (st == ERYX_OK) {
            snapshot_job fj = *job;
            fj.from = plain, fj.bare = bare;
            st = capture_snapshot(&fj, out, err);
        }
        eryx__guest_release(bare);
        eryx__snapimg_release(plain);
        return st;
    }
    eryx_status st = eryx__guest_acquire(job->wasm_path, job->wasm_sha, job->cc, &job->base, NULL, err);
    if (st != ERYX_OK) return st;
    st = capture_snapshot(job, out, err);
    eryx__guest_release(job->base);
    job->base = NULL;
    return st;
}

/* The bare module (no data segments, no _initialize) that instances restored from
** snapshot images instantiate: one compile per guest, whatever the imports. */
static eryx_status make_bare_module(void *user, wasmtime_module_t **out, eryx__errbuf *err) {
    snapshot_job *job = user;
    wasm_byte_vec_t wasm;
    uint8_t *bare = NULL;
    size_t bare_len = 0;
    char msg[256] = "";
    eryx_status st = eryx__read_module(job->wasm_path, &wasm, err);
    if (st != ERYX_OK) return st;
    if (eryx__wasm_image_build((const uint8_t *)wasm.data, wasm.size, NULL, 0, &bare, &bare_len, msg, sizeof msg) !=
        0) {
        st = eryx__fail(err, ERYX_ERR_GUEST_API, "cannot make the snapshot module from %s: %s", job->wasm_path, msg);
    } else {
        wasmtime_error_t *e = wasmtime_module_new(eryx__engine(job->cc->engine, NULL), bare, bare_len, out);
        if (e) st = eryx__fail_wasmtime(err, ERYX_ERR_ENGINE, "compiling the snapshot module failed", e, NULL);
    }
    wasm_byte_vec_delete(&wasm);
    free(bare);
    return st;
}

/* The builder's cache tiers, as the engine's acquire functions take them. */
static eryx__cache_config builder_cache_config(const eryx_builder *b) {
    return (eryx__cache_config){
        .engine = b->spec.engine,
        .memory = b->memory,
        .dir = b->cache_dir,
        .max_bytes = b->cache_max_bytes,
        .max_entries = b->cache_max_entries,
        .backend = b->has_backend ? &b->backend : NULL,
        .backend_user = b->backend_user,
        .warn = b->warn,
        .warn_user = b->warn_user,
    };
}

/* Gets the module the sandbox instantiates: the snapshot module for this builder's
** pre-initialization (made and cached on first use), or the base module. */
static eryx_status acquire_module(eryx_builder *b, const char *cbs, eryx__guest **out, eryx__snapimg **img,
                                  char artifact[65]) {
    char path[PATH_MAX], sha[65];
    eryx_status st = eryx__guest_sha256(b->spec.guest_dir, sha, &b->err);
    if (st != ERYX_OK) return st;
    snprintf(path, sizeof path, "%s/python.wasm", b->spec.guest_dir);
    eryx__cache_config cc = builder_cache_config(b);
    if (!b->preinit) return eryx__guest_acquire(path, sha, &cc, out, NULL, &b->err);
    char *id = snapshot_id(b, sha, cbs);
    if (!id) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for the snapshot key");
    snapshot_job job = {.b = b, .wasm_path = path, .wasm_sha = sha, .cbs = cbs, .cc = &cc};
    st = eryx__image_acquire(id, capture_from_base, &job, &cc, img, &b->err);
    if (st != ERYX_OK) {
        free(id);
        return st;
    }
    char bare_id[128];
    bare_id_of(sha, bare_id);
    eryx__key_ctx *kc = eryx__key_begin();
    if (!kc) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for a key");
    eryx__key_add_str(kc, id);
    eryx__key_add_str(kc, bare_id);
    eryx__key_add_str(kc, eryx__engine_settings(cc.engine));
    free(id);
    if (eryx__key_end(kc, artifact) != 0) return eryx__fail(&b->err, ERYX_ERR_ENGINE, "SHA-256 failed");
    return eryx__module_acquire(bare_id, make_bare_module, &job, &cc, out, NULL, &b->err);
}

eryx_status eryx_sandbox_new(eryx_builder *b, eryx_sandbox **out) {
    if (!out) return ERYX_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    eryx__errbuf_clear(&b->err);
    if (!*b->spec.guest_dir)
        return eryx__fail(&b->err, ERYX_ERR_GUEST_NOT_FOUND,
                          "no guest directory: set ERYX_GUEST_DIR or call eryx_builder_set_guest_dir");
#ifdef ERYX_BENCH_HOOKS
    uint64_t t0 = now_ns();
#endif
    eryx_sandbox *s = calloc(1, sizeof *s);
    if (!s) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for a sandbox");
    eryx_status st = ERYX_OK;
    s->stdin_fd = -1;
    if (b->spec.ncbs) { /* described once: for the snapshot's key and the guest */
        s->cb_list = eryx__cb_describe(b->spec.cbs, b->spec.ncbs);
        s->hub = eryx__cb_hub_new(b->spec.cbs, b->spec.ncbs, b->spec.cb_max_calls, b->spec.cb_timeout_ns,
                                  (size_t)16 << 20);
        if (!s->hub || !s->cb_list) {
            st = eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for the sandbox's callbacks");
            goto fail;
        }
    }
    if ((st = acquire_module(b, s->cb_list, &s->guest, &s->img, s->artifact)) != ERYX_OK) goto fail;
    if (b->spec.npkgs && b->link_checked[0] == '\0') { /* not checked by a capture above: check now */
        char sha[ERYX__KEY_HEX_LEN + 1];
        if ((st = eryx__guest_sha256(b->spec.guest_dir, sha, &b->err)) != ERYX_OK ||
            (st = check_links(b, eryx__guest_module(s->guest), sha, &b->err)) != ERYX_OK)
            goto fail;
    }
    if (spec_copy(&s->spec, &b->spec) != 0 || (b->cache_dir && !(s->ext_cache_dir = strdup(b->cache_dir)))) {
        st = eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for a sandbox");
        goto fail;
    }
    s->ext_cache_max_bytes = b->cache_max_bytes;
    s->ext_cache_max_entries = b->cache_max_entries;
#ifdef ERYX_BENCH_HOOKS
    uint64_t t1 = now_ns();
#endif
    if ((st = instance_new(s)) != ERYX_OK) {
        eryx__fail(&b->err, st, "%s", s->err.msg);
        goto fail;
    }
#ifdef ERYX_BENCH_HOOKS
    s->phase_ns[0] += t1 - t0;
#endif
    *out = s;
    return ERYX_OK;
fail:
    eryx_sandbox_free(s);
    return st;
}

void eryx_sandbox_free(eryx_sandbox *s) {
    if (!s) return;
    instance_free(s);
    eryx__cb_hub_release(s->hub);
    free(s->cb_list);
    eryx__guest_release(s->guest);
    eryx__snapimg_release(s->img);
    spec_free(&s->spec);
    free(s->ext_cache_dir);
    free(s);
}

#ifdef ERYX_BENCH_HOOKS
void eryx__sandbox_phases(const eryx_sandbox *s, uint64_t ns[3]) { memcpy(ns, s->phase_ns, sizeof s->phase_ns); }
#endif
bool eryx__sandbox_preinit(const eryx_sandbox *s) { return s->img != NULL; }

eryx_status eryx_sandbox_set_stdin(eryx_sandbox *s, eryx_read_fn fn, void *user) {
    if (!s) return ERYX_ERR_INVALID_ARGUMENT;
    s->stdin_fd = -1;
    s->stdin_fn = fn;
    s->stdin_user = user;
    return ERYX_OK;
}

eryx_status eryx_sandbox_set_stdin_fd(eryx_sandbox *s, int fd) {
    if (!s) return ERYX_ERR_INVALID_ARGUMENT;
    s->stdin_fd = fd < 0 ? -1 : fd;
    return ERYX_OK;
}

void eryx_sandbox_cancel(eryx_sandbox *s) {
    if (s) atomic_store(&s->cancel, 1);
}

eryx_status eryx_sandbox_set_output(eryx_sandbox *s, eryx_output_fn fn, void *user) {
    if (!s) return ERYX_ERR_INVALID_ARGUMENT;
    s->out_fn = fn;
    s->out_user = user;
    return ERYX_OK;
}

/* Replaces the instance by a fresh one from the start state. If that fails the
** sandbox is unusable from then on (ERYX_ERR_SANDBOX_DEAD, and s->err says why). */
static eryx_status fresh_instance(eryx_sandbox *s) {
    instance_free(s);
    if (instance_new(s) == ERYX_OK) return ERYX_OK;
    s->broken = 1;
    char why[ERYX__ERRMSG_MAX / 2];
    snprintf(why, sizeof why, "%.1900s", s->err.msg);
    return eryx__fail(&s->err, ERYX_ERR_SANDBOX_DEAD,
                      "the sandbox could not be reset to its start state (%s); create a new sandbox", why);
}

/* Copies the code into guest memory and runs it (single: as one interactive
** statement, expression values printed); fills r. */
static eryx_status run_code(eryx_sandbox *s, const char *code, size_t len, bool single, eryx_result *r) {
    if (single) {
        int rc = 0;
        eryx_status st = support_call(s, "execute_single", code, len, &rc);
        if (st != ERYX_OK || s->dead) return st;
        r->exit_code = rc;
        if (r->exc_type) return ERYX_ERR_PYTHON_EXCEPTION;
        return rc == 0 ? ERYX_OK : ERYX_ERR_EXIT;
    }
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
    if (r->exit_code == 0 && s->spec.result_name) {
        int missing = 0;
        st = support_call(s, "result", s->spec.result_name, strlen(s->spec.result_name), &missing);
        if (st != ERYX_OK) return st;
    }
    return r->exit_code == 0 ? ERYX_OK : ERYX_ERR_EXIT;
}

static eryx_status execute(eryx_sandbox *s, const char *code, size_t len, bool single, eryx_result **result) {
    if (result) *result = NULL;
    if (!s) return ERYX_ERR_INVALID_ARGUMENT;
    if (!code && len) return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT, "code is NULL with length %zu", len);
    if (len > INT32_MAX) return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT, "code is larger than 2 GiB");
    if (s->broken) return ERYX_ERR_SANDBOX_DEAD; /* the message of the failed reset stays */
    eryx__errbuf_clear(&s->err);
    eryx_result *r = calloc(1, sizeof *r);
    if (!r) return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "no memory for a result");
    if (eryx__ticker_hold() != 0) {
        free(r);
        return eryx__fail(&s->err, ERYX_ERR_ENGINE, "cannot start the timer thread that enforces timeouts");
    }
    uint64_t t0 = now_ns();
    s->deadline_ns = s->spec.timeout_ns ? t0 + s->spec.timeout_ns : 0;
    atomic_store(&s->stop, STOP_NONE);
    s->cur = r;
    if (s->hub) eryx__cb_hub_begin(s->hub);
    wasmtime_context_set_epoch_deadline(s->cx, 1);
    bool metered = s->spec.engine == ERYX__ENGINE_FUEL;
    if (metered) wasmtime_context_set_fuel(s->cx, s->spec.fuel);
    eryx_status st = run_code(s, code ? code : "", len, single, r);
    wasmtime_context_set_epoch_deadline(s->cx, UINT64_C(1) << 62);
    atomic_store(&s->stop, STOP_NONE); /* its status is decided: the reset below must run */
    uint64_t left = 0;
    if (metered && !wasmtime_context_get_fuel(s->cx, &left)) r->fuel_consumed = s->spec.fuel - left;
    s->cur = NULL;
    eryx__ticker_drop();
    atomic_store(&s->cancel, 0); /* consumed, whether or not it stopped this execution */
    r->peak_memory = wasmtime_memory_data_size(s->cx, &s->host.memory);
    if (s->hub) r->callback_calls = eryx__cb_hub_invocations(s->hub);
    /* An allocation that failed (CPython's PyErr_NoMemory: a MemoryError with no
    ** message) is the memory limit; a MemoryError the code raised itself, or the
    ** parser's "too complex" one, has a message and stays an exception. */
    if (st == ERYX_ERR_PYTHON_EXCEPTION && r->exc_type && !strcmp(r->exc_type, "MemoryError") &&
        (!r->exc_message || !*r->exc_message)) {
        st = ERYX_ERR_MEMORY_LIMIT;
        uint64_t cap = s->spec.max_memory ? s->spec.max_memory : (uint64_t)4 << 30;
        eryx__fail(&s->err, st,
                   "the guest hit its memory limit: an allocation failed with %llu MiB in use of %llu MiB allowed",
                   (unsigned long long)(r->peak_memory >> 20), (unsigned long long)(cap >> 20));
    }
    if (st == ERYX_ERR_PYTHON_EXCEPTION)
        eryx__fail(&s->err, st, "%s: %.2000s", r->exc_type, r->exc_message ? r->exc_message : "");
    else if (st == ERYX_ERR_EXIT)
        eryx__fail(&s->err, st, "the code exited with status %d", r->exit_code);
    /* The next execution starts from the sandbox's start state: always, unless the
    ** builder asked to keep state, and also then once the guest ended (exit, trap). */
    if (!s->spec.keep_state || s->dead) {
        eryx__errbuf keep = s->err;
        if (fresh_instance(s) != ERYX_OK) {
            if (st == ERYX_OK) st = ERYX_ERR_SANDBOX_DEAD;
        } else {
            s->err = keep;
        }
    }
    r->duration_ns = now_ns() - t0;
    if (result) *result = r;
    else eryx_result_free(r);
    return st;
}

/* ---- sessions: reset, clear, snapshot, restore ---------------------------------- */

eryx_status eryx_sandbox_reset(eryx_sandbox *s) {
    if (!s) return ERYX_ERR_INVALID_ARGUMENT;
    eryx__errbuf_clear(&s->err);
    if (s->broken) return ERYX_ERR_SANDBOX_DEAD;
    return fresh_instance(s);
}

eryx_status eryx_sandbox_clear(eryx_sandbox *s) {
    if (!s) return ERYX_ERR_INVALID_ARGUMENT;
    eryx__errbuf_clear(&s->err);
    if (s->broken) return ERYX_ERR_SANDBOX_DEAD;
    eryx_result scratch = {0};
    int rc = 0;
    s->cur = &scratch;
    eryx_status st = support_call(s, "clear", "", 0, &rc);
    s->cur = NULL;
    free_result_fields(&scratch);
    if (st == ERYX_OK && rc != 0) st = eryx__fail(&s->err, ERYX_ERR_GUEST_API, "the guest failed to clear (%d)", rc);
    if (s->dead) { /* a clear that crashed the guest: start afresh */
        eryx__errbuf keep = s->err;
        if (fresh_instance(s) == ERYX_OK) s->err = keep;
    }
    return st;
}

static void artifact_bytes(const char hex[65], uint8_t out[32]) {
    for (int i = 0; i < 32; i++) {
        unsigned v = 0;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

eryx_status eryx_sandbox_snapshot(eryx_sandbox *s, void **blob, size_t *len) {
    if (!s || !blob || !len) return ERYX_ERR_INVALID_ARGUMENT;
    *blob = NULL;
    *len = 0;
    eryx__errbuf_clear(&s->err);
    if (s->broken) return ERYX_ERR_SANDBOX_DEAD;
    if (!s->img)
        return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT,
                          "a session snapshot is the difference from a pre-initialized start state: build the "
                          "sandbox with pre-initialization on");
    size_t fds = eryx_wasi_guest_fd_count(s->wasi);
    if (fds)
        return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT,
                          "the guest has %zu file(s) open; a session snapshot holds memory only: close them first", fds);
    /* Extension modules: the guest's log (in memory, so in the blob) names them; a
    ** restore loads them again at the same places. One the log could not hold
    ** cannot be restored. */
    if (!eryx__ext_logged(s->dl))
        return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT,
                          "the session loaded more native extension modules than the guest can record (the first: "
                          "%s); a session snapshot could not restore them",
                          s->dl->mods[0].name);
    if (s->hub && eryx__cb_hub_pending(s->hub))
        return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT,
                          "a host callback is still in flight; a snapshot cannot carry it: await it first");
    const uint8_t *base = wasmtime_memory_data(s->cx, &s->host.memory);
    size_t size = wasmtime_memory_data_size(s->cx, &s->host.memory), n = 0;
    uint32_t *pages = NULL;
    if (eryx__snapmem_changed_pages(base, size, s->img, &pages, &n) != 0)
        return eryx__fail(&s->err, ERYX_ERR_IO, "cannot read the process's page map to find the changed pages");
    uint8_t artifact[32], *out = NULL;
    artifact_bytes(s->artifact, artifact);
    const char *why = eryx__blob_encode(artifact, base, size, pages, n, &out, len);
    free(pages);
    if (why) return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "cannot make a %zu-page session snapshot: %s", n, why);
    *blob = out;
    return ERYX_OK;
}

eryx_status eryx_sandbox_restore(eryx_sandbox *s, const void *blob, size_t len) {
    if (!s || (!blob && len)) return ERYX_ERR_INVALID_ARGUMENT;
    eryx__errbuf_clear(&s->err);
    if (s->broken) return ERYX_ERR_SANDBOX_DEAD;
    if (!s->img)
        return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT,
                          "session snapshots restore into pre-initialized sandboxes only");
    uint8_t artifact[32];
    artifact_bytes(s->artifact, artifact);
    eryx__blob d;
    const char *why = eryx__blob_decode(blob, len, artifact, eryx__snapimg_size(s->img), &d);
    if (why) return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT, "%s", why);
    uint64_t size = d.memory_size, n = d.npages;
    if (s->spec.max_memory && size > s->spec.max_memory) {
        free(d.raw);
        return eryx__fail(&s->err, ERYX_ERR_MEMORY_LIMIT, "the session snapshot needs %llu MiB, over the limit",
                          (unsigned long long)(size >> 20));
    }
    /* From the start state: a fresh instance, grown to the snapshot's size, then
    ** the pages that differ. */
    eryx_status st = fresh_instance(s);
    size_t have = st == ERYX_OK ? wasmtime_memory_data_size(s->cx, &s->host.memory) : 0;
    if (st == ERYX_OK && size > have) {
        uint64_t prev;
        wasmtime_error_t *e = wasmtime_memory_grow(s->cx, &s->host.memory, (size - have) / 65536, &prev);
        if (e) st = eryx__fail_wasmtime(&s->err, ERYX_ERR_MEMORY_LIMIT, "growing memory for the session failed", e, NULL);
    }
    if (st == ERYX_OK) {
        uint8_t *mem = wasmtime_memory_data(s->cx, &s->host.memory);
        for (uint64_t i = 0; i < n; i++)
            memcpy(mem + (size_t)eryx__blob_page(&d, i) * ERYX__BLOB_PAGE, eryx__blob_page_bytes(&d, i),
                   ERYX__BLOB_PAGE);
        /* The extension modules the session loaded (its memory holds their data
        ** and the guest's log of them): loaded again where they were. */
        char msg[1024] = "";
        if (replay_extensions(s, msg, sizeof msg) != 0)
            st = eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT,
                            "the session snapshot's extension modules cannot be loaded again: %s (was it made with "
                            "the same packages?)", msg);
    }
    free(d.raw);
    if (st != ERYX_OK && !s->broken) fresh_instance(s); /* never leave a half-restored session */
    return st;
}

void eryx_blob_free(void *blob) { free(blob); }

eryx_status eryx_sandbox_execute(eryx_sandbox *s, const char *code, size_t len, eryx_result **result) {
    return execute(s, code, len, false, result);
}

eryx_status eryx__sandbox_execute_single(eryx_sandbox *s, const char *code, size_t len, eryx_result **result) {
    return execute(s, code, len, true, result);
}

int eryx__sandbox_source_complete(eryx_sandbox *s, const char *code, size_t len) {
    if (!s || s->broken || !s->cx) return -1;
    eryx_result scratch = {0};
    int rc = -1;
    s->cur = &scratch;
    eryx_status st = support_call(s, "complete", code, len, &rc);
    s->cur = NULL;
    free_result_fields(&scratch);
    if (s->dead) fresh_instance(s);
    return st == ERYX_OK ? rc : -1;
}

/* ---- shared storage and exported start states (eryx.h; blobs: factory.c) ------------- */

eryx_status eryx_builder_add_storage(eryx_builder *b, eryx_storage *storage, const char *guest_path) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    if (!storage) return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "the storage is NULL");
    eryx_status st = eryx_builder_add_mount(b, "(shared storage)", guest_path, 0);
    if (st != ERYX_OK) return st;
    mount_spec *m = b->spec.mounts;
    while (m->next) m = m->next;
    m->storage = eryx__storage_ref(storage);
    return ERYX_OK;
}

/* The builder's pre-initialization: its snapshot id (malloc'd) and, when img is not
** NULL, its start state (made now on a miss; a new reference). */
eryx_status eryx__builder_start_state(eryx_builder *b, char **id, eryx__snapimg **img) {
    *id = NULL;
    if (img) *img = NULL;
    if (!b->preinit)
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT,
                          "the builder has pre-initialization off: it has no start state to export or import");
    char sha[65], artifact[65];
    eryx_status st = eryx__guest_sha256(b->spec.guest_dir, sha, &b->err);
    if (st != ERYX_OK) return st;
    char *cbs = b->spec.ncbs ? eryx__cb_describe(b->spec.cbs, b->spec.ncbs) : NULL;
    if (b->spec.ncbs && !cbs) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for the callbacks");
    if (!(*id = snapshot_id(b, sha, cbs))) st = eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for the key");
    eryx__guest *g = NULL;
    if (st == ERYX_OK && img && (st = acquire_module(b, cbs, &g, img, artifact)) == ERYX_OK) eryx__guest_release(g);
    free(cbs);
    if (st != ERYX_OK) {
        free(*id);
        *id = NULL;
    }
    return st;
}

static eryx_status give_image(void *user, eryx__snapimg **out, eryx__errbuf *err) {
    (void)err;
    eryx__snapimg_retain(user);
    *out = user;
    return ERYX_OK;
}

/* Puts img into the builder's cache tiers as the start state of snapshot id. */
eryx_status eryx__builder_install_state(eryx_builder *b, const char *id, eryx__snapimg *img) {
    eryx__cache_config cc = builder_cache_config(b);
    eryx__snapimg *got = NULL;
    eryx_status st = eryx__image_acquire(id, give_image, img, &cc, &got, &b->err);
    eryx__snapimg_release(got);
    return st;
}

eryx__errbuf *eryx__builder_err(eryx_builder *b) { return &b->err; }

eryx_status eryx_sandbox_set_timeout_ms(eryx_sandbox *s, uint64_t ms) {
    return s ? set_timeout(&s->spec, &s->err, ms) : ERYX_ERR_INVALID_ARGUMENT;
}

eryx_status eryx_sandbox_set_fuel(eryx_sandbox *s, uint64_t units) {
    if (!s) return ERYX_ERR_INVALID_ARGUMENT;
    if (s->spec.engine != ERYX__ENGINE_FUEL)
        return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT,
                          "the sandbox was built without fuel metering (its code is not metered): give its builder "
                          "a budget (eryx_builder_set_fuel) to change it later");
    if (units > UINT64_MAX / 4) return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT, "fuel budget too large");
    s->spec.fuel = units ? units : UINT64_MAX / 4;
    return ERYX_OK;
}
