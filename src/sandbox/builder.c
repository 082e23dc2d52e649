/*
** Builders: a configuration (run_spec: guest, argv, environment, mounts, packages,
** limits, callbacks, imports and setup code) and where its artifacts are cached.
** A builder only records: nothing here touches the engine, the guest or the cache
** (pre-initialization is start_state.c; sandboxes copy the spec in sandbox.c).
*/
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../net/net.h"
#include "../vfs/vfs.h"
#include "../vfs/vfs_shared.h"
#include "sandbox.h"
#include "sandbox_internal.h"

void eryx__strv_free(char **v, int n) {
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

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
    b->spec.memfs_entries = DEFAULT_MEMFS_ENTRIES;
    b->spec.result_name = strdup("result");
    b->spec.output_limit = DEFAULT_OUTPUT_LIMIT;
    b->spec.engine = eryx__engine_default(); /* how timeouts stop the guest (ERYX_INTERRUPT) */
    b->spec.cb_max_calls = 1000;
    b->spec.cb_timeout_ns = (uint64_t)30 * 1000000000u;
    b->spec.scrub = ERYX_SCRUB_STDOUT | ERYX_SCRUB_STDERR | ERYX_SCRUB_FILES; /* pyeryx 0.11's defaults */
    b->preinit = true;
    b->common_imports = true;
    b->state_on_disk = true;
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

void eryx__spec_free(run_spec *spec) {
    free(spec->guest_dir);
    eryx__strv_free(spec->argv, spec->argc);
    eryx__strv_free(spec->env, spec->envc);
    free(spec->result_name);
    free(spec->imports);
    free(spec->setup);
    free(spec->collect_dir);
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
        eryx__vfs_quota_release(m->quota);
        free(m);
    }
    for (size_t i = 0; i < spec->npkgs; i++) eryx__package_clear(&spec->pkgs[i]);
    free(spec->pkgs);
    eryx__net_config_release(spec->net);
    eryx__secrets_release(spec->secrets);
    memset(spec, 0, sizeof *spec);
}

char **eryx__strv_copy(char **v, int n) {
    char **copy = calloc((size_t)n + 1, sizeof *copy);
    for (int i = 0; copy && i < n; i++) {
        if (!(copy[i] = strdup(v[i]))) {
            eryx__strv_free(copy, i);
            return NULL;
        }
    }
    return copy;
}

/* Deep copy; -1 when out of memory (dst is then empty). */
int eryx__spec_copy(run_spec *dst, const run_spec *src) {
    *dst = (run_spec){.argc = src->argc,
                      .envc = src->envc,
                      .memfs_limit = src->memfs_limit,
                      .memfs_entries = src->memfs_entries,
                      .keep_state = src->keep_state,
                      .timeout_ns = src->timeout_ns,
                      .max_memory = src->max_memory,
                      .output_limit = src->output_limit,
                      .fuel = src->fuel,
                      .engine = src->engine,
                      .setup_len = src->setup_len,
                      .cb_max_calls = src->cb_max_calls,
                      .cb_timeout_ns = src->cb_timeout_ns,
                      .session_key = src->session_key,
                      .secrets = eryx__secrets_ref(src->secrets),
                      .scrub = src->scrub};
    dst->guest_dir = strdup(src->guest_dir);
    dst->argv = eryx__strv_copy(src->argv, src->argc);
    dst->env = eryx__strv_copy(src->env, src->envc);
    dst->result_name = src->result_name ? strdup(src->result_name) : NULL;
    dst->imports = src->imports ? strdup(src->imports) : NULL;
    dst->collect_dir = src->collect_dir ? strdup(src->collect_dir) : NULL;
    dst->collect_max = src->collect_max;
    if (src->setup && (dst->setup = malloc(src->setup_len + 1))) memcpy(dst->setup, src->setup, src->setup_len + 1);
    dst->net = eryx__net_config_ref(src->net); /* shared: setters copy it first (eryx__net_config_mutable) */
    bool ok = dst->guest_dir && dst->argv && dst->env && (dst->result_name || !src->result_name) &&
              (dst->collect_dir || !src->collect_dir) && (dst->imports || !src->imports) && (dst->setup || !src->setup);
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
        if (c) c->quota = eryx__vfs_quota_ref(m->quota);
        tail = c ? &c->next : tail;
    }
    if (ok && src->npkgs && !(dst->pkgs = calloc(src->npkgs, sizeof *dst->pkgs))) ok = false;
    for (size_t i = 0; ok && i < src->npkgs; i++, dst->npkgs++)
        ok = eryx__package_copy(&dst->pkgs[i], &src->pkgs[i]) == 0;
    if (!ok) {
        if (!dst->argv) dst->argc = 0;
        if (!dst->env) dst->envc = 0;
        eryx__spec_free(dst);
        return -1;
    }
    return 0;
}

void eryx_builder_free(eryx_builder *b) {
    if (!b) return;
    eryx__image_writes_wait(); /* snapshot images it made, still being written to disk */
    eryx__spec_free(&b->spec);
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
            eryx__strv_free(copy, i);
            return eryx__fail(&b->err, argv[i] ? ERYX_ERR_NO_MEMORY : ERYX_ERR_INVALID_ARGUMENT, "argv[%d] is %s", i,
                              argv[i] ? "too large to copy" : "NULL");
        }
    }
    eryx__strv_free(b->spec.argv, b->spec.argc);
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
    if (eryx__vfs_join("/", guest_path, strlen(guest_path), norm, sizeof norm) != 0)
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

eryx_status eryx_builder_set_mount_quota(eryx_builder *b, const char *guest_path, uint64_t max_bytes,
                                         uint64_t max_files) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    char norm[PATH_MAX];
    if (!guest_path || guest_path[0] != '/' ||
        eryx__vfs_join("/", guest_path, strlen(guest_path), norm, sizeof norm) != 0)
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "a mount quota needs the mount's absolute guest path");
    mount_spec *m = b->spec.mounts;
    while (m && strcmp(m->guest, norm)) m = m->next;
    if (!m || m->storage)
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "no host directory is mounted at %s (add it first)",
                          norm);
    if (m->flags & ERYX_MOUNT_READONLY)
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "%s is mounted read-only: a quota has nothing to bound",
                          norm);
    eryx__vfs_quota *q = eryx__vfs_quota_new(max_bytes, max_files);
    if (!q) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for a mount quota");
    eryx__vfs_quota_release(m->quota);
    m->quota = q;
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

eryx_status eryx_builder_set_memfs_max_entries(eryx_builder *b, uint64_t max_entries) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    b->spec.memfs_entries = max_entries;
    return ERYX_OK;
}

eryx_status eryx_builder_set_preinit(eryx_builder *b, int enabled) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    b->preinit = enabled != 0;
    return ERYX_OK;
}

eryx_status eryx_builder_set_start_state_cache(eryx_builder *b, int on_disk) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    b->state_on_disk = on_disk != 0;
    return ERYX_OK;
}

eryx_status eryx_builder_set_default_imports(eryx_builder *b, int enabled) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    b->common_imports = enabled != 0;
    return ERYX_OK;
}

const char *eryx_default_imports(void) { return eryx__common_imports; }

eryx_status eryx_builder_add_preimport(eryx_builder *b, const char *module) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    if (!module || !*module ||
        strspn(module, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") != strlen(module))
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
eryx_status eryx__spec_set_timeout(run_spec *spec, eryx__errbuf *err, uint64_t ms) {
    if (ms > UINT64_MAX / 1000000u) return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "timeout too large");
    spec->timeout_ns = ms * 1000000u;
    return ERYX_OK;
}

eryx_status eryx_builder_set_timeout_ms(eryx_builder *b, uint64_t ms) {
    return b ? eryx__spec_set_timeout(&b->spec, &b->err, ms) : ERYX_ERR_INVALID_ARGUMENT;
}

eryx_status eryx_builder_set_max_memory(eryx_builder *b, uint64_t bytes) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    if (bytes > ((uint64_t)4 << 30))
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "a wasm32 guest cannot use more than 4 GiB");
    b->spec.max_memory = bytes;
    return ERYX_OK;
}

eryx_status eryx_builder_collect_files(eryx_builder *b, const char *guest_dir, uint64_t max_bytes) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    char norm[4096];
    if (guest_dir && (guest_dir[0] != '/' || eryx__vfs_join("/", guest_dir, strlen(guest_dir), norm, sizeof norm) != 0))
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT,
                          "collect_files wants an absolute directory in the sandbox (like /data), not \"%.200s\"",
                          guest_dir);
    char *dir = guest_dir ? strdup(norm) : NULL;
    if (guest_dir && !dir) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "out of memory");
    free(b->spec.collect_dir);
    b->spec.collect_dir = dir;
    b->spec.collect_max = max_bytes ? max_bytes : DEFAULT_COLLECT_MAX;
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
    else if (b->spec.engine == ERYX__ENGINE_FUEL) b->spec.engine = eryx__engine_default();
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
    if (name &&
        (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(name) ||
         (*name >= '0' && *name <= '9')))
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT, "'%s' is not a Python variable name", name);
    char *copy = name ? strdup(name) : NULL;
    if (name && !copy) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for the result name");
    free(b->spec.result_name);
    b->spec.result_name = copy;
    return ERYX_OK;
}

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

eryx__errbuf *eryx__builder_err(eryx_builder *b) { return &b->err; }
