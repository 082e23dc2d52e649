/*
** Pre-initialization: a configuration's start state. Its snapshot id (what the
** state depends on), the capture (Python started, the imports and setup code run,
** in a throwaway instance, then its memory kept as a snapshot image), the layers
** (plain, then the default imports, then the builder's own), the bare module instances of an image run, and
** the export and import of a start state as one blob. Getting images and modules
** through the cache tiers is src/cache/tiers.c's.
*/
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zstd.h>
#include "../cache/key.h"
#include "../common/counters.h"
#include "../common/le.h"
#include "../common/process_state.h"
#include "../snapshot/wasm_image.h"
#include "../vfs/vfs.h"
#include "blob_key.h"
#include "sandbox.h"
#include "sandbox_internal.h"

/* The layers of start states: Python just started (the guest's plain state for an
** environment), then the default start state's modules imported (common), then a
** builder's own imports, setup code, packages and callbacks (full). Each is
** captured from the one below it, so a new configuration pays only its own part. */
typedef enum { LEVEL_PLAIN, LEVEL_COMMON, LEVEL_FULL } level;

/* What a snapshot depends on besides the base module and the engine: the stdlib
** image it imported from (its path and identity), the environment Python read
** while starting, the imports and the setup code. One string. Not argv: one
** snapshot serves every argv (each restore sets sys.argv). A full id with nothing
** of the builder's own equals its common id: the builder then uses that image.
** imports (its first imports_len bytes: whole lines) and with_setup say which of
** the builder's own it holds: a prefix layer (below) is its packages with the
** first of its imports only. */
static char *layer_id_of(const eryx_builder *b, const char *base_sha, const char *cbs, level lv, const char *imports,
                         size_t imports_len, bool with_setup) {
    char path[PATH_MAX], setup_sha[65] = "-", zip_id[128] = "missing", zip_sha[65];
    struct stat st;
    snprintf(path, sizeof path, "%s/lib/python313.zip", b->spec.guest_dir);
    if (stat(path, &st) == 0)
        snprintf(zip_id, sizeof zip_id, "%llu:%llu:%lld.%09ld", (unsigned long long)st.st_ino,
                 (unsigned long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    if (lv == LEVEL_FULL && with_setup && b->spec.setup &&
        eryx__sha256_hex(b->spec.setup, b->spec.setup_len, setup_sha) != 0)
        return NULL;
    eryx__stdlib_sha256(b->spec.guest_dir, zip_sha);
    size_t n = 384 + strlen(base_sha) + strlen(b->spec.guest_dir) + strlen(eryx__common_imports);
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
    *p = '\0';                       /* the separator above overwrote the last terminator */
    if (lv == LEVEL_PLAIN) return c; /* the guest's plain snapshot for this environment (capture_from_base) */
    /* '+' is never in a module list, so this cannot be read as one. */
    if (lv == LEVEL_COMMON || b->common_imports) p += sprintf(p, "+common\x1f%s\x1e", eryx__common_imports);
    if (lv == LEVEL_COMMON) return c;
    p += sprintf(p, "%.*s", (int)imports_len, imports ? imports : "");
    if (cbs) p += sprintf(p, "\x1e%s", cbs);   /* installed in the snapshot: a restore need not */
    for (size_t i = 0; i < b->spec.npkgs; i++) /* content hashes: a changed package is a new snapshot */
        p += sprintf(p, "\x1e%s=%s", b->spec.pkgs[i].guest_path, b->spec.pkgs[i].sha256);
    return c;
}

static char *snapshot_id_of(const eryx_builder *b, const char *base_sha, const char *cbs, level lv) {
    const char *imports = b->spec.imports;
    return layer_id_of(b, base_sha, cbs, lv, imports, imports ? strlen(imports) : 0, true);
}

static char *snapshot_id(const eryx_builder *b, const char *base_sha, const char *cbs) {
    return snapshot_id_of(b, base_sha, cbs, LEVEL_FULL);
}

typedef struct snapshot_job {
    eryx_builder *b;
    eryx__guest *base;
    const char *wasm_path, *wasm_sha;
    const char *cbs; /* the callbacks' description (eryx__cb_describe), NULL: none */
    const eryx__cache_config *cc;
    const eryx__cache_config *icc; /* where snapshot images are kept (state_cache_config) */
    level level;                   /* the layer to capture (a full job whose builder adds nothing is common) */
    eryx__snapimg *from;           /* NULL, or the layer below to start the capture from (not a fresh start) */
    eryx__guest *bare;             /* with `from`: the module instances of it run */
    const char *rest;              /* `from` is a prefix layer (the builder's packages on sys.path already): the
                      ** imports it has not run; NULL: it is not */
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
eryx_status eryx__start_state_run_setup(eryx_sandbox *s, const char *imports, const char *setup, size_t setup_len,
                                        bool warm, eryx_result *scratch, eryx__errbuf *err) {
    int rc = 0;
    eryx_status st =
        eryx__instance_support_call(s, "preimport", imports ? imports : "", imports ? strlen(imports) : 0, &rc);
    if (st != ERYX_OK || rc != 0)
        return st == ERYX_OK ? preinit_failed(err, "an import raised", scratch) : eryx__fail(err, st, "%s", s->err.msg);
    if (!setup && !warm) return ERYX_OK;
    if (!setup) setup = "pass", setup_len = 4;
    wasmtime_val_t size = {.kind = WASMTIME_I32, .of.i32 = (int32_t)setup_len}, ptr,
                   res = {.kind = WASMTIME_I32, .of.i32 = 0};
    st = eryx__instance_call(s, &s->fn_alloc, "allocating guest memory", &size, 1, &ptr, 1);
    uint32_t gptr = (uint32_t)ptr.of.i32;
    size_t msize = st == ERYX_OK && !s->dead ? wasmtime_memory_data_size(s->cx, &s->host.memory) : 0;
    if (st == ERYX_OK && (gptr == 0 || gptr > msize || setup_len > msize - gptr)) st = ERYX_ERR_GUEST_API;
    if (st == ERYX_OK) {
        memcpy(wasmtime_memory_data(s->cx, &s->host.memory) + gptr, setup, setup_len);
        wasmtime_val_t args[2] = {{.kind = WASMTIME_I32, .of.i32 = (int32_t)gptr},
                                  {.kind = WASMTIME_I32, .of.i32 = (int32_t)setup_len}};
        st = eryx__instance_call(s, &s->fn_execute, "running the setup code", args, 2, &res, 1);
        if (st == ERYX_OK && !s->dead)
            st = eryx__instance_call(s, &s->fn_free, "freeing guest memory", args, 1, NULL, 0);
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
** symbol, before anything imports it.
** The answer depends only on the interpreter and the packages' contents, so a
** passed check is remembered for the process by their hashes (LINKS_PASSED_MAX
** combinations): a new builder with the same packages (the Python module makes
** one per sandbox) does not check ~30,000 imports again. */
#define LINKS_PASSED_MAX 64
ERYX__PROCESS_STATE static struct {
    pthread_mutex_t lock;
    char key[LINKS_PASSED_MAX][65];
    size_t n, next;
} eryx__links_passed = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int links_key(const eryx_builder *b, const char *sha, char key[65]) {
    eryx__key_ctx *kc = eryx__key_begin();
    if (!kc) return -1;
    eryx__key_add_str(kc, "eryx-links-passed-1");
    eryx__key_add_str(kc, sha);
    for (size_t i = 0; i < b->spec.npkgs; i++) eryx__key_add_str(kc, b->spec.pkgs[i].sha256);
    return eryx__key_end(kc, key);
}

eryx_status eryx__start_state_check_links(eryx_builder *b, const wasmtime_module_t *m, const char *sha,
                                          eryx__errbuf *err) {
    if (!strcmp(b->link_checked, sha)) return ERYX_OK;
    char key[65];
    bool keyed = links_key(b, sha, key) == 0, passed = false;
    pthread_mutex_lock(&eryx__links_passed.lock);
    for (size_t i = 0; keyed && i < eryx__links_passed.n && !passed; i++)
        passed = !strcmp(eryx__links_passed.key[i], key);
    pthread_mutex_unlock(&eryx__links_passed.lock);
    if (!passed && eryx__ext_check_packages(m, sha, b->spec.pkgs, b->spec.npkgs, err) != ERYX_OK)
        return ERYX_ERR_PACKAGE;
    if (!passed && keyed) { /* a ring: the oldest combination goes first */
        pthread_mutex_lock(&eryx__links_passed.lock);
        memcpy(eryx__links_passed.key[eryx__links_passed.next], key, 65);
        eryx__links_passed.next = (eryx__links_passed.next + 1) % LINKS_PASSED_MAX;
        if (eryx__links_passed.n < LINKS_PASSED_MAX) eryx__links_passed.n++;
        pthread_mutex_unlock(&eryx__links_passed.lock);
    }
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
    /* From the layer below when there is one (its Python already started: ~10 ms
    ** saved, and the default imports done), else from a fresh start of the base module. */
    eryx_sandbox t = {.guest = job->from ? job->bare : job->base,
                      .img = job->from,
                      .transient = true,
                      .stdin_fd = -1,
                      .ext_cache_dir = b->cache_dir,
                      .ext_cache_max_bytes = b->cache_max_bytes,
                      .ext_cache_max_entries = b->cache_max_entries};
    eryx_result scratch = {0};
    eryx_status st;
    if (eryx__spec_copy(&t.spec, &b->spec) != 0) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for a snapshot");
    /* The instance starts bare; the imports and setup are run below, once. */
    free(t.spec.imports);
    free(t.spec.setup);
    t.spec.imports = t.spec.setup = NULL;
    bool own = job->level == LEVEL_FULL; /* the builder's own imports, setup, packages, callbacks */
    if (!own)                            /* nor packages: the layers below serve every package set */
        for (size_t i = 0; i < t.spec.npkgs; i++) eryx__package_clear(&t.spec.pkgs[i]);
    if (!own) t.spec.npkgs = 0;
    /* The snapshot is made with sys.argv == ['-c'] whatever the builder's argv. */
    eryx__strv_free(t.spec.argv, t.spec.argc);
    t.spec.argc = 1;
    if (!(t.spec.argv = eryx__strv_copy((char *[]){"-c"}, 1))) {
        t.spec.argc = 0;
        eryx__spec_free(&t.spec);
        return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for a snapshot");
    }
    if (own && (st = eryx__start_state_check_links(b, eryx__guest_module(t.guest), job->wasm_sha, err)) != ERYX_OK)
        goto done;
    if ((st = eryx__instance_new(&t)) != ERYX_OK) {
        eryx__fail(err, st, "%s", t.err.msg);
        goto done;
    }
    t.cur = &scratch;
    if (job->from && !job->rest && t.spec.npkgs &&
        (st = eryx__instance_add_package_paths(&t, &scratch)) != ERYX_OK) { /* a fresh start adds them */
        eryx__fail(err, st, "%s", t.err.msg);
        goto done;
    }
    const char *imports = own                          ? (job->rest ? job->rest : b->spec.imports)
                          : job->level == LEVEL_COMMON ? eryx__common_imports
                                                       : NULL;
    if ((st = eryx__start_state_run_setup(&t, imports, own ? b->spec.setup : NULL, own ? b->spec.setup_len : 0, true,
                                          &scratch, err)) != ERYX_OK)
        goto done;
    if (job->cbs && own) { /* the callbacks' functions (and asyncio) are then in the snapshot */
        int rc = 0;
        st = eryx__instance_support_call(&t, "set_callbacks", job->cbs, strlen(job->cbs), &rc);
        if (st != ERYX_OK || rc != 0) {
            st = eryx__fail(err, st != ERYX_OK ? st : ERYX_ERR_PREINIT, "installing the callbacks failed: %.600s",
                            scratch.err.data ? scratch.err.data : t.err.msg);
            goto done;
        }
    }
    size_t fds = eryx__wasi_guest_fd_count(t.wasi);
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
    else if ((t.memfs[0] && eryx__vfs_mem_used(t.memfs[0])) || (t.memfs[1] && eryx__vfs_mem_used(t.memfs[1])))
        st = eryx__fail(err, ERYX_ERR_PREINIT,
                        "the setup code wrote files to /tmp or /data; a snapshot carries no files: write them at run "
                        "time, or keep the data in a variable");
    if (st != ERYX_OK) goto done;
    eryx__errbuf msg;
    if (!(*out = eryx__snapimg_new(wasmtime_memory_data(t.cx, &t.host.memory),
                                   wasmtime_memory_data_size(t.cx, &t.host.memory), &msg)))
        st = eryx__fail(err, msg.status, "cannot keep the snapshot image: %s", msg.msg);
    else eryx__count(ERYX__COUNT_STATE_MADE);
done:
    t.cur = NULL;
    eryx__result_clear(&scratch);
    eryx__instance_free(&t);
    eryx__spec_free(&t.spec);
    return st;
}

/* On a snapshot-image miss: gets the base module (through its own cache tiers),
** then captures the image in an instance of it. */
static eryx_status make_bare_module(void *user, wasmtime_module_t **out, eryx__errbuf *err);

/* The id of the bare module of the guest whose SHA-256 is sha. */
static void bare_id_of(const char *sha, char id[128]) { snprintf(id, 128, "eryx-bare-1\x1e%s", sha); }

/*
** A prefix layer: the builder's packages and environment with the first k of its
** imports (and no setup code, no callbacks), which another builder's start state
** is when its imports are those k. A new configuration that extends one made
** before (`pandas` then `pandas` + `textwrap`, or the same imports with other setup
** code) starts its capture there and pays only what it adds. Only looked up,
** never made: the longest one a tier has (all the imports first, when the builder
** has setup code or callbacks), at most PREFIX_PROBES of them. *found says one was.
*/
#define PREFIX_PROBES 16
static eryx_status capture_from_prefix(snapshot_job *job, eryx__snapimg **out, bool *found, eryx__errbuf *err) {
    *found = false;
    const eryx_builder *b = job->b;
    const char *imp = b->spec.imports;
    if (!imp || !*imp) return ERYX_OK;
    size_t cut = strlen(imp);
    if (!b->spec.setup && !job->cbs) cut--; /* the whole list is this builder's own id: start below it */
    eryx__snapimg *img = NULL;
    for (int probes = 0; !img && probes < PREFIX_PROBES; probes++) {
        while (cut > 0 && imp[cut - 1] != '\n') cut--; /* the end of a line: a whole number of imports */
        if (cut == 0) break;
        char *id = layer_id_of(b, job->wasm_sha, NULL, LEVEL_FULL, imp, cut, false);
        if (!id) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for a snapshot key");
        img = eryx__image_lookup(id, job->icc);
        free(id);
        if (!img) cut--;
    }
    if (!img) return ERYX_OK;
    char bare_id[128];
    bare_id_of(job->wasm_sha, bare_id);
    eryx__guest *bare = NULL;
    eryx_status st = eryx__module_acquire(bare_id, make_bare_module, job, job->cc, &bare, NULL, err);
    if (st == ERYX_OK) {
        snapshot_job fj = *job;
        fj.from = img, fj.bare = bare, fj.rest = imp + cut;
        st = capture_snapshot(&fj, out, err);
    }
    eryx__guest_release(bare);
    eryx__snapimg_release(img);
    *found = true;
    return st;
}

static eryx_status capture_from_base(void *user, eryx__snapimg **out, eryx__errbuf *err) {
    snapshot_job *job = user;
    if (job->from) return capture_snapshot(job, out, err);
    if (job->level == LEVEL_FULL) {
        bool found;
        eryx_status st = capture_from_prefix(job, out, &found, err);
        if (found || st != ERYX_OK) return st;
    }
    if (job->level != LEVEL_PLAIN) {
        /* Layered: start from the layer below for this environment (made once and
        ** cached like any snapshot) instead of starting Python again and importing
        ** what it already imported. */
        level below = job->level == LEVEL_FULL && job->b->common_imports ? LEVEL_COMMON : LEVEL_PLAIN;
        char bare_id[128];
        bare_id_of(job->wasm_sha, bare_id);
        char *below_id = snapshot_id_of(job->b, job->wasm_sha, NULL, below);
        if (!below_id) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for the snapshot key");
        snapshot_job pj = *job;
        pj.level = below, pj.cbs = NULL;
        /* The layers below are the machine's, like the compiled interpreter: they
        ** hold nothing of this builder, so they come from (and go to) the disk
        ** cache even when the builder keeps its own start state off it. */
        pj.icc = job->cc;
        eryx__snapimg *base = NULL;
        eryx__guest *bare = NULL;
        eryx_status st = eryx__image_acquire(below_id, capture_from_base, &pj, pj.icc, &base, err);
        free(below_id);
        if (st == ERYX_OK) st = eryx__module_acquire(bare_id, make_bare_module, job, job->cc, &bare, NULL, err);
        if (st == ERYX_OK) {
            snapshot_job fj = *job;
            fj.from = base, fj.bare = bare;
            st = capture_snapshot(&fj, out, err);
        }
        eryx__guest_release(bare);
        eryx__snapimg_release(base);
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
    eryx__errbuf msg;
    eryx_status st = eryx__read_module(job->wasm_path, &wasm, err);
    if (st != ERYX_OK) return st;
    if (eryx__wasm_image_build((const uint8_t *)wasm.data, wasm.size, NULL, 0, &bare, &bare_len, &msg) != ERYX_OK) {
        st =
            eryx__fail(err, ERYX_ERR_GUEST_API, "cannot make the snapshot module from %s: %s", job->wasm_path, msg.msg);
    } else {
        wasmtime_error_t *e = wasmtime_module_new(eryx__engine(job->cc->engine, NULL), bare, bare_len, out);
        if (e) st = eryx__fail_wasmtime(err, ERYX_ERR_ENGINE, "compiling the snapshot module failed", e, NULL);
        else eryx__count(ERYX__COUNT_MODULE_COMPILED);
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

/* Where the builder's own start state is kept: the same tiers, less the disk and
** the backend when eryx_builder_set_start_state_cache turned them off (the image
** is then made under the process's lock and kept in memory only). */
static eryx__cache_config state_cache_config(const eryx_builder *b) {
    eryx__cache_config cc = builder_cache_config(b);
    if (!b->state_on_disk) cc.dir = NULL, cc.backend = NULL, cc.backend_user = NULL;
    return cc;
}

/* Gets the module the sandbox instantiates: the snapshot module for this builder's
** pre-initialization (made and cached on first use), or the base module. */
eryx_status eryx__start_state_module(eryx_builder *b, const char *cbs, eryx__guest **out, eryx__snapimg **img,
                                     char artifact[65]) {
    char path[PATH_MAX], sha[65];
    eryx_status st = eryx__guest_sha256(b->spec.guest_dir, sha, &b->err);
    if (st != ERYX_OK) return st;
    snprintf(path, sizeof path, "%s/python.wasm", b->spec.guest_dir);
    eryx__cache_config cc = builder_cache_config(b);
    if (!b->preinit) return eryx__guest_acquire(path, sha, &cc, out, NULL, &b->err);
    char *id = snapshot_id(b, sha, cbs);
    if (!id) return eryx__fail(&b->err, ERYX_ERR_NO_MEMORY, "no memory for the snapshot key");
    eryx__cache_config scc = state_cache_config(b);
    const run_spec *spec = &b->spec;
    snapshot_job job = {.b = b, .wasm_path = path, .wasm_sha = sha, .cbs = cbs, .cc = &cc, .icc = &scc};
    job.level = spec->imports || spec->setup || spec->npkgs || cbs ? LEVEL_FULL
                : b->common_imports                                ? LEVEL_COMMON
                                                                   : LEVEL_PLAIN;
    st = eryx__image_acquire(id, capture_from_base, &job, &scc, img, &b->err);
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
    if (st == ERYX_OK && img && (st = eryx__start_state_module(b, cbs, &g, img, artifact)) == ERYX_OK)
        eryx__guest_release(g);
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
    eryx__cache_config cc = state_cache_config(b);
    eryx__snapimg *got = NULL;
    eryx_status st = eryx__image_acquire(id, give_image, img, &cc, &got, &b->err);
    eryx__snapimg_release(got);
    return st;
}


/* ---- export and import: the start state as one blob ------------------------------ */
/*
** Exported start states (eryx_builder_export_snapshot / _import_snapshot): a
** builder's snapshot image as one self-contained blob, so a pre-initialized
** configuration can be saved to a file and installed in another process without
** running Python's start, the imports and the setup code again.
**
** Layout (little-endian): "ERYXSTA2" | u32 id length | u64 image size | id bytes |
** zstd frame of the image | HMAC-SHA-256 (32 bytes) of every byte before it. The
** id is the configuration's snapshot id (snapshot_id, above): a blob only
** installs into a builder whose id is the same. The MAC is checked (in constant
** time) before anything past the magic is believed: an imported image becomes the
** start state of every later sandbox of the configuration, in every cache tier,
** so only blobs made under the same key are. "ERYXSTA1" (an XXH3 checksum, no
** authentication) is refused with a message.
*/
#define MAGIC "ERYXSTA2"
#define MAGIC_V1 "ERYXSTA1"
#define HEADER 20u

/* The key b's start states are made and checked with: the builder's session key,
** else the machine's (its cache directory's state.key), else the process's own.
** why says why the machine's was not used ("" when it was). */
eryx_status eryx__builder_state_key(eryx_builder *b, eryx__blob_key *out, char *why, size_t why_len) {
    why[0] = 0;
    if (b->spec.session_key.len) {
        *out = b->spec.session_key;
        return ERYX_OK;
    }
    if (eryx__blob_machine_key(b->cache_dir, out, why, why_len) == 0) return ERYX_OK;
    if (eryx__blob_process_key(out) == 0) return ERYX_OK;
    return eryx__fail(eryx__builder_err(b), ERYX_ERR_IO, "no key for the start state (%s; getrandom: %s)", why,
                      strerror(errno));
}

eryx_status eryx_builder_export_snapshot(eryx_builder *b, void **blob, size_t *len) {
    if (!b || !blob || !len) return ERYX_ERR_INVALID_ARGUMENT;
    *blob = NULL;
    *len = 0;
    char *id = NULL, why[PATH_MAX + 128];
    eryx__snapimg *img = NULL;
    eryx__blob_key key;
    eryx_status st = eryx__builder_start_state(b, &id, &img);
    if (st == ERYX_OK) st = eryx__builder_state_key(b, &key, why, sizeof why);
    if (st != ERYX_OK) goto done;
    size_t idlen = strlen(id), size = eryx__snapimg_size(img), bound = ZSTD_compressBound(size);
    uint8_t *out = malloc(HEADER + idlen + bound + ERYX__BLOB_MAC);
    if (!out) {
        st = eryx__fail(eryx__builder_err(b), ERYX_ERR_NO_MEMORY, "no memory for a %zu-byte start state", size);
        goto done;
    }
    memcpy(out, MAGIC, 8);
    eryx__put_le(out + 8, idlen, 4);
    eryx__put_le(out + 12, size, 8);
    memcpy(out + HEADER, id, idlen);
    size_t z = ZSTD_compress(out + HEADER + idlen, bound, eryx__snapimg_view(img), size, 3);
    if (ZSTD_isError(z)) {
        st = eryx__fail(eryx__builder_err(b), ERYX_ERR_NO_MEMORY, "compressing the start state failed: %s",
                        ZSTD_getErrorName(z));
        free(out);
        goto done;
    }
    size_t body = HEADER + idlen + z;
    if (eryx__blob_mac(&key, out, body, out + body) != 0) {
        st = eryx__fail(eryx__builder_err(b), ERYX_ERR_NO_MEMORY, "computing the start state's MAC failed");
        free(out);
        goto done;
    }
    uint8_t *shrunk = realloc(out, body + ERYX__BLOB_MAC);
    *blob = shrunk ? shrunk : out;
    *len = body + ERYX__BLOB_MAC;
done:
    memset(&key, 0, sizeof key);
    free(id);
    eryx__snapimg_release(img);
    return st;
}

eryx_status eryx_builder_import_snapshot(eryx_builder *b, const void *blob, size_t len) {
    if (!b) return ERYX_ERR_INVALID_ARGUMENT;
    eryx__errbuf *err = eryx__builder_err(b);
    const uint8_t *p = blob;
    if (p && len >= 8 && memcmp(p, MAGIC_V1, 8) == 0)
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT,
                          "the start state was exported by an older eryx (format %s, not authenticated): it is "
                          "not trusted, so it is refused; export it again with this version",
                          MAGIC_V1);
    if (!p || len < HEADER + ERYX__BLOB_MAC || memcmp(p, MAGIC, 8) != 0)
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "not an eryx start state (it lacks the %s header)", MAGIC);
    /* Authenticate everything before believing any of it. */
    eryx__blob_key key;
    char why[PATH_MAX + 128];
    eryx_status st = eryx__builder_state_key(b, &key, why, sizeof why);
    if (st != ERYX_OK) return st;
    size_t body = len - ERYX__BLOB_MAC;
    int ok = eryx__blob_mac_check(&key, p, body, p + body);
    memset(&key, 0, sizeof key);
    if (ok < 0) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "computing the start state's MAC failed");
    if (!ok)
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT,
                          "the start state failed authentication: it was made with another key (on another "
                          "machine or with another cache directory, without a shared key: "
                          "eryx_builder_set_session_key), or it is damaged or forged%s%s%s",
                          why[0] ? " (this process uses its own key: " : "", why, why[0] ? ")" : "");
    uint64_t idlen = eryx__get_le(p + 8, 4), size = eryx__get_le(p + 12, 8);
    if (idlen > body - HEADER || size == 0 || size % 65536 || size > ((uint64_t)4 << 30))
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "the start state's header is inconsistent");
    if (b->spec.max_memory && size > b->spec.max_memory)
        return eryx__fail(err, ERYX_ERR_MEMORY_LIMIT,
                          "the start state's memory is %llu bytes, more than the builder's memory limit of %llu "
                          "bytes (eryx_builder_set_max_memory)",
                          (unsigned long long)size, (unsigned long long)b->spec.max_memory);
    char *id = NULL;
    st = eryx__builder_start_state(b, &id, NULL);
    if (st != ERYX_OK) return st;
    if (strlen(id) != idlen || memcmp(id, p + HEADER, idlen) != 0) {
        free(id);
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT,
                          "the start state was made for another configuration (another guest build or stdlib "
                          "image, or other environment, imports, setup code, packages or callbacks): make it "
                          "again with this one");
    }
    const uint8_t *z = p + HEADER + idlen;
    size_t zlen = body - HEADER - (size_t)idlen;
    unsigned long long claimed = ZSTD_getFrameContentSize(z, zlen);
    uint8_t *mem = claimed == size ? malloc((size_t)size) : NULL;
    if (claimed != size) st = eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "the start state's image is damaged");
    else if (!mem) st = eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for a %llu-byte start state", claimed);
    if (st == ERYX_OK) {
        size_t got = ZSTD_decompress(mem, (size_t)size, z, zlen);
        if (ZSTD_isError(got) || got != size)
            st = eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "the start state's image is damaged");
    }
    eryx__snapimg *img = NULL;
    eryx__errbuf msg;
    if (st == ERYX_OK && !(img = eryx__snapimg_new(mem, (size_t)size, &msg)))
        st = eryx__fail(err, msg.status, "cannot keep the start state: %s", msg.msg);
    free(mem);
    if (st == ERYX_OK) st = eryx__builder_install_state(b, id, img);
    eryx__snapimg_release(img);
    free(id);
    return st;
}


/* ---- the bare module, for shipping it (src/sandbox/module_ship.c) -------------- */

eryx_status eryx__builder_bare_module(eryx_builder *b, eryx__make_module_fn make, void *make_user, char id[256],
                                      eryx__guest **out) {
    char path[PATH_MAX], sha[65], bare_id[128];
    if (out) *out = NULL;
    if (!b->preinit)
        return eryx__fail(&b->err, ERYX_ERR_INVALID_ARGUMENT,
                          "the builder has pre-initialization off: its sandboxes start from the guest module, which "
                          "is not shipped (only the module start states run in)");
    eryx_status st = eryx__guest_sha256(b->spec.guest_dir, sha, &b->err);
    if (st != ERYX_OK) return st;
    snprintf(path, sizeof path, "%s/python.wasm", b->spec.guest_dir);
    bare_id_of(sha, bare_id);
    eryx__cache_config cc = builder_cache_config(b);
    /* The identity a shipped copy must match: the module's id and the engine's settings. */
    if ((size_t)snprintf(id, 256, "%s\x1e%s", bare_id, eryx__engine_settings(cc.engine)) >= 256)
        return eryx__fail(&b->err, ERYX_ERR_ENGINE, "the engine's settings string is too long");
    if (!out) return ERYX_OK; /* the id alone */
    snapshot_job job = {.b = b, .wasm_path = path, .cc = &cc};
    if (!make) make = make_bare_module, make_user = &job;
    else cc.make_says = true;
    return eryx__module_acquire(bare_id, make, make_user, &cc, out, NULL, &b->err);
}

eryx_status eryx__builder_compile_bare(eryx_builder *b, wasmtime_module_t **out, eryx__errbuf *err) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/python.wasm", b->spec.guest_dir);
    eryx__cache_config cc = builder_cache_config(b);
    snapshot_job job = {.b = b, .wasm_path = path, .cc = &cc};
    return make_bare_module(&job, out, err);
}
