/*
** Getting a guest module or a snapshot image through the cache tiers, and the
** process-wide registry of what sandboxes share (see tiers.h). Tiers, fastest first:
**   1. memory: an eryx_cache of loaded, pre-linked modules (no I/O at all);
**   2. disk: src/cache/store.c, entries verified then mmap-loaded by wasmtime;
**      or an embedder's eryx_cache_backend (bytes, deserialized with a copy);
**   3. compile with Cranelift, then store in 2 and 1.
*/
#define _GNU_SOURCE /* PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include "tiers.h"
#include "../common/process_state.h"
#include "../common/threads.h"
#include "../snapshot/snapmem.h"
#include "../vfs/vfs.h"
#include "eryx.h"
#include "key.h"
#include "store.h"

struct eryx__guest {
    atomic_uint_fast32_t refs;
    wasmtime_module_t *module;
    wasmtime_instance_pre_t *pre;
    eryx__store_entry entry; /* the disk entry it was mapped from, held "in use" */
};

wasmtime_instance_pre_t *eryx__guest_pre(const eryx__guest *g) { return g->pre; }
wasmtime_module_t *eryx__guest_module(const eryx__guest *g) { return g->module; }
void eryx__guest_retain(eryx__guest *g) { atomic_fetch_add(&g->refs, 1); }

void eryx__guest_release(eryx__guest *g) {
    if (!g || atomic_fetch_sub(&g->refs, 1) != 1) return;
    if (g->pre) wasmtime_instance_pre_delete(g->pre);
    if (g->module) wasmtime_module_delete(g->module);
    eryx__store_entry_release(&g->entry);
    free(g);
}

static void vt_retain(void *v) { eryx__guest_retain(v); }
static void vt_release(void *v) { eryx__guest_release(v); }
static const eryx__memcache_vt guest_vt = {vt_retain, vt_release};

/* ---- the registry --------------------------------------------------------------- */
typedef struct named {
    char *name;
    void *value;   /* eryx__store* (NULL: could not open), eryx__vfs_zip*, or char[65] */
    char *problem; /* why a store could not be opened */
    struct named *next;
} named;

ERYX__PROCESS_STATE static struct {
    pthread_mutex_t lock; /* guards the lists and the default memory tier */
    /* Single flight without a disk tier. Recursive: building a snapshot module
    ** acquires the base module while holding it. */
    pthread_mutex_t build_lock;
    eryx__memcache *memory;
    eryx__memcache *snapshots; /* snapshot images (snapmem.h), by key */
    named *stores, *images, *hashes;
} eryx__registry = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP, NULL, NULL, NULL, NULL, NULL};

static void img_retain(void *v) { eryx__snapimg_retain(v); }
static void img_release(void *v) { eryx__snapimg_release(v); }
static const eryx__memcache_vt snapimg_vt = {img_retain, img_release};

/* Snapshot images kept in process memory (each holds its non-zero pages in a
** memfd, ~10 MiB for a started Python), least recently used out first. */
#define SNAPSHOT_MEMORY_ENTRIES 8

static eryx__memcache *snapshot_memcache(void) {
    pthread_mutex_lock(&eryx__registry.lock);
    if (!eryx__registry.snapshots) eryx__registry.snapshots = eryx__memcache_new(SNAPSHOT_MEMORY_ENTRIES, &snapimg_vt);
    eryx__memcache *mc = eryx__registry.snapshots;
    pthread_mutex_unlock(&eryx__registry.lock);
    return mc;
}

eryx__memcache *eryx__default_memcache(void) {
    pthread_mutex_lock(&eryx__registry.lock);
    if (!eryx__registry.memory) eryx__registry.memory = eryx__memcache_new(16, &guest_vt);
    eryx__memcache *mc = eryx__registry.memory;
    pthread_mutex_unlock(&eryx__registry.lock);
    return mc;
}

eryx_cache *eryx_cache_new(uint64_t max_entries) { return eryx__memcache_new(max_entries, &guest_vt); }
void eryx_cache_release(eryx_cache *cache) { eryx__memcache_release(cache); }

static named *find(named *list, const char *name) {
    for (; list; list = list->next)
        if (!strcmp(list->name, name)) return list;
    return NULL;
}

static named *add(named **list, const char *name, void *value) {
    named *n = calloc(1, sizeof *n);
    if (!n || !(n->name = strdup(name))) {
        free(n);
        return NULL;
    }
    n->value = value;
    n->next = *list;
    *list = n;
    return n;
}

static void join_writers(bool all);

void eryx__cache_shutdown(void) {
    eryx__image_writes_wait(); /* they use the stores closed below */
    join_writers(true);
    pthread_mutex_lock(&eryx__registry.lock);
    eryx__memcache *mc = eryx__registry.memory, *snaps = eryx__registry.snapshots;
    named *lists[3] = {eryx__registry.stores, eryx__registry.images, eryx__registry.hashes};
    eryx__registry.memory = NULL;
    eryx__registry.snapshots = NULL;
    eryx__registry.stores = eryx__registry.images = eryx__registry.hashes = NULL;
    pthread_mutex_unlock(&eryx__registry.lock);
    eryx__memcache_release(mc);
    eryx__memcache_release(snaps);
    for (int i = 0; i < 3; i++) {
        for (named *n = lists[i], *next; n; n = next) {
            next = n->next;
            if (i == 0) eryx__store_close(n->value);
            else if (i == 1) eryx__vfs_zip_release(n->value);
            else free(n->value);
            free(n->problem);
            free(n->name);
            free(n);
        }
    }
}

eryx_status eryx__guest_sha256(const char *guest_dir, char hex[65], eryx__errbuf *err) {
    pthread_mutex_lock(&eryx__registry.lock);
    named *n = find(eryx__registry.hashes, guest_dir);
    if (n) memcpy(hex, n->value, 65);
    pthread_mutex_unlock(&eryx__registry.lock);
    if (n) return ERYX_OK;

    char path[4200];
    snprintf(path, sizeof path, "%s/python.wasm.sha256", guest_dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return eryx__fail(err, ERYX_ERR_GUEST_NOT_FOUND,
                          "cannot open %s: %s (the guest directory is incomplete: rebuild it with ./build.sh)", path,
                          strerror(errno));
    int got = fscanf(f, "%64[0-9a-f]", hex);
    fclose(f);
    if (got != 1 || strlen(hex) != 64)
        return eryx__fail(err, ERYX_ERR_GUEST_NOT_FOUND, "%s does not hold a SHA-256 (rebuild the guest)", path);
    char *copy = malloc(65);
    if (copy) {
        memcpy(copy, hex, 65);
        pthread_mutex_lock(&eryx__registry.lock);
        if (find(eryx__registry.hashes, guest_dir) || !add(&eryx__registry.hashes, guest_dir, copy)) free(copy);
        pthread_mutex_unlock(&eryx__registry.lock);
    }
    return ERYX_OK;
}

void eryx__stdlib_sha256(const char *guest_dir, char hex[65]) {
    char name[4200];
    snprintf(name, sizeof name, "zip:%s", guest_dir);
    pthread_mutex_lock(&eryx__registry.lock);
    named *n = find(eryx__registry.hashes, name);
    if (n) memcpy(hex, n->value, 65);
    pthread_mutex_unlock(&eryx__registry.lock);
    if (n) return;
    char path[4200];
    snprintf(path, sizeof path, "%s/lib/python313.zip.sha256", guest_dir);
    FILE *f = fopen(path, "r");
    if (!f || fscanf(f, "%64[0-9a-f]", hex) != 1 || strlen(hex) != 64) strcpy(hex, "-");
    if (f) fclose(f);
    char *copy = malloc(65);
    if (!copy) return;
    memcpy(copy, hex, 65);
    pthread_mutex_lock(&eryx__registry.lock);
    if (find(eryx__registry.hashes, name) || !add(&eryx__registry.hashes, name, copy)) free(copy);
    pthread_mutex_unlock(&eryx__registry.lock);
}

eryx__vfs_zip *eryx__stdlib_image(const char *path, eryx__errbuf *err) {
    eryx__vfs_zip *img = NULL;
    pthread_mutex_lock(&eryx__registry.lock);
    named *n = find(eryx__registry.images, path);
    if (n) img = eryx__vfs_zip_ref(n->value);
    pthread_mutex_unlock(&eryx__registry.lock);
    if (img) return img;

    eryx__errbuf eb;
    eryx__vfs_zip *fresh = eryx__vfs_zip_open(path, &eb);
    if (!fresh) {
        eryx__fail(err, ERYX_ERR_GUEST_NOT_FOUND,
                   "the stdlib image %s is unusable: %s (rebuild the guest with ./build.sh)", path, eb.msg);
        return NULL;
    }
    pthread_mutex_lock(&eryx__registry.lock);
    n = find(eryx__registry.images, path); /* another thread may have been first */
    if (n) {
        img = eryx__vfs_zip_ref(n->value);
        eryx__vfs_zip_release(fresh);
    } else if (add(&eryx__registry.images, path, fresh)) {
        img = eryx__vfs_zip_ref(fresh);
    } else {
        img = fresh; /* not registered: the caller gets the only reference */
    }
    pthread_mutex_unlock(&eryx__registry.lock);
    return img;
}

/* ---- acquiring a guest ------------------------------------------------------------ */
static void warn(const eryx__cache_config *cc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(const eryx__cache_config *cc, const char *fmt, ...) {
    if (!cc->warn) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cc->warn(cc->warn_user, msg);
}

/* The disk store for cc->dir, opened once per process. NULL (after a warning) when
** it cannot be used. */
static eryx__store *store_for(const eryx__cache_config *cc) {
    char name[4300];
    snprintf(name, sizeof name, "%s|%llu|%llu", cc->dir, (unsigned long long)cc->max_bytes,
             (unsigned long long)cc->max_entries);
    pthread_mutex_lock(&eryx__registry.lock);
    named *n = find(eryx__registry.stores, name);
    if (!n) {
        eryx__errbuf eb;
        eryx__store_limits lim = {cc->max_bytes, cc->max_entries};
        eryx__store *st = eryx__store_open(cc->dir, lim, &eb);
        n = add(&eryx__registry.stores, name, st);
        if (n && !st) n->problem = strdup(eb.msg);
        if (!n) eryx__store_close(st);
    }
    eryx__store *st = n ? n->value : NULL;
    char *problem = n && n->problem ? strdup(n->problem) : NULL;
    pthread_mutex_unlock(&eryx__registry.lock);
    if (!st)
        warn(cc, "the cache directory %s cannot be used (%s); compiling in memory instead", cc->dir,
             problem ? problem : "out of memory");
    free(problem);
    return st;
}

static eryx_status make_key(const char *id, eryx__engine_kind kind, char key[65], eryx__errbuf *err) {
    eryx__key_ctx *kc = eryx__key_begin();
    if (!kc) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "cannot start a SHA-256 context");
    eryx__key_add_str(kc, id);
    eryx__key_add_str(kc, eryx__engine_settings(kind));
    if (eryx__key_end(kc, key) != 0) return eryx__fail(err, ERYX_ERR_ENGINE, "SHA-256 failed");
    return ERYX_OK;
}

/* Tier 2: a verified disk entry, mapped by wasmtime. */
static wasmtime_module_t *load_from_store(const eryx__cache_config *cc, eryx__store *store, const char *key,
                                          eryx__store_entry *entry) {
    eryx__errbuf eb;
    eryx__store_result r = eryx__store_get(store, key, entry, &eb);
    if (r == ERYX__STORE_CORRUPT) warn(cc, "removed a damaged cache entry (%s); rebuilding it", eb.msg);
    if (r == ERYX__STORE_ERROR) warn(cc, "cannot read a cache entry (%s); rebuilding it", eb.msg);
    if (r != ERYX__STORE_HIT) return NULL;
    wasmtime_module_t *m = NULL;
    wasmtime_error_t *e = wasmtime_module_deserialize_file(eryx__engine(cc->engine, NULL), entry->path, &m);
    if (e) {
        wasm_byte_vec_t text = {0, NULL};
        wasmtime_error_message(e, &text);
        warn(cc, "the engine refused cache entry %s (%.*s); rebuilding it", entry->path, (int)text.size,
             text.data ? text.data : "");
        wasm_byte_vec_delete(&text);
        wasmtime_error_delete(e);
        eryx__store_entry_release(entry);
        return NULL;
    }
    return m;
}

/* Tier 2 through an embedder's backend: bytes it stored for us earlier. */
static wasmtime_module_t *load_from_backend(const eryx__cache_config *cc, const char *key) {
    void *data = NULL;
    size_t len = 0;
    int found = cc->backend->get(cc->backend_user, key, &data, &len);
    if (found < 0) warn(cc, "the cache backend failed to look up %s; compiling", key);
    if (found != 1) return NULL;
    wasmtime_module_t *m = NULL;
    wasmtime_error_t *e = wasmtime_module_deserialize(eryx__engine(cc->engine, NULL), data, len, &m);
    if (cc->backend->free) cc->backend->free(cc->backend_user, data, len);
    if (e) {
        wasmtime_error_delete(e);
        warn(cc, "the cache backend returned bytes the engine refused for %s; compiling", key);
        return NULL;
    }
    return m;
}

static void store_compiled(const eryx__cache_config *cc, eryx__store *store, const char *key,
                           const wasmtime_module_t *m) {
    wasm_byte_vec_t bytes;
    wasmtime_error_t *e = wasmtime_module_serialize((wasmtime_module_t *)m, &bytes);
    if (e) {
        wasmtime_error_delete(e);
        warn(cc, "cannot serialize the compiled module; it is not cached");
        return;
    }
    eryx__errbuf eb;
    if (store && eryx__store_put_sparse(store, key, bytes.data, bytes.size, false, &eb) != ERYX_OK)
        warn(cc, "cannot write the compiled module to the cache (%s); the next process compiles again", eb.msg);
    if (cc->backend && cc->backend->put(cc->backend_user, key, bytes.data, bytes.size) != 0)
        warn(cc, "the cache backend failed to store %s", key);
    wasm_byte_vec_delete(&bytes);
}

typedef struct compile_job {
    eryx__engine_kind kind;
    const char *path;
} compile_job;

static eryx_status compile_file(void *user, wasmtime_module_t **out, eryx__errbuf *err) {
    const compile_job *job = user;
    return eryx__compile(job->kind, job->path, out, err);
}

eryx_status eryx__guest_acquire(const char *wasm_path, const char *wasm_sha256, const eryx__cache_config *cc,
                                eryx__guest **out, eryx__load_source *source, eryx__errbuf *err) {
    compile_job job = {cc->engine, wasm_path};
    return eryx__module_acquire(wasm_sha256, compile_file, &job, cc, out, source, err);
}

eryx_status eryx__module_acquire(const char *id, eryx__make_module_fn make, void *make_user,
                                 const eryx__cache_config *cc, eryx__guest **out, eryx__load_source *source,
                                 eryx__errbuf *err) {
    *out = NULL;
    /* An engine that could not be created (a bad ERYX_PROFILE) fails here, with its
    ** message, before anything hands wasmtime a NULL engine. */
    if (!eryx__engine(cc->engine, err)) return ERYX_ERR_ENGINE;
    char key[65];
    eryx_status st = make_key(id, cc->engine, key, err);
    if (st != ERYX_OK) return st;
    if (cc->memory && (*out = eryx__memcache_get(cc->memory, key))) {
        if (source) *source = ERYX__LOADED_MEMORY;
        return ERYX_OK;
    }

    eryx__store *store = cc->dir && !cc->backend ? store_for(cc) : NULL;
    eryx__guest *g = calloc(1, sizeof *g);
    if (!g) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for a guest module");
    atomic_init(&g->refs, 1);
    g->entry.lock_fd = -1;
    if (source) *source = ERYX__LOADED_DISK;
    /* The common case first, without any lock: the entry is on disk. */
    if (store) g->module = load_from_store(cc, store, key, &g->entry);
    else if (cc->backend) g->module = load_from_backend(cc, key);
    /* A miss: one builder per key; other threads and processes wait, then find it. */
    eryx__errbuf eb;
    int lock_fd = -1;
    bool locked = false;
    if (!g->module) {
        if (store && eryx__store_lock_key(store, key, &lock_fd, &eb) != ERYX_OK)
            warn(cc, "cannot lock the cache entry (%s); building without the lock", eb.msg);
        if (lock_fd < 0) {
            pthread_mutex_lock(&eryx__registry.build_lock);
            locked = true;
        }
        eryx__guest *other = cc->memory ? eryx__memcache_get(cc->memory, key) : NULL;
        if (other) {
            if (source) *source = ERYX__LOADED_MEMORY;
            eryx__guest_release(g);
            *out = other;
            goto unlock;
        }
        if (store) g->module = load_from_store(cc, store, key, &g->entry);
    }
    if (!g->module) {
        if (source) *source = ERYX__LOADED_COMPILED;
        /* Never a silent multi-second stall: say what is happening and why. */
        if (cc->make_says) {
            /* make() says it itself if it ends up compiling */
        } else if (store) {
            warn(cc, "compiling a module for this machine (seconds; once: it is then loaded from the cache in %s)",
                 eryx__store_dir(store));
        } else {
            warn(cc, "compiling a module for this machine (seconds; %s)",
                 cc->backend ? "once: it is then loaded from the cache backend"
                             : "again in every process: no cache directory is in use");
        }
        if ((st = make(make_user, &g->module, err)) != ERYX_OK) goto fail;
        store_compiled(cc, store, key, g->module);
    }
    wasmtime_linker_t *linker = cc->unlinked ? NULL : eryx__linker(cc->engine, err);
    if (!linker && !cc->unlinked) {
        st = ERYX_ERR_ENGINE;
        goto fail;
    }
    wasmtime_error_t *we = linker ? wasmtime_linker_instantiate_pre(linker, g->module, &g->pre) : NULL;
    if (we) {
        st = eryx__fail_wasmtime(
            err, ERYX_ERR_GUEST_API,
            "the guest module needs imports eryx does not provide (was it built by guest/build.sh?)", we, NULL);
        goto fail;
    }
    if (cc->memory) eryx__memcache_put(cc->memory, key, g); /* a failure only costs the next sandbox a load */
    *out = g;
    goto unlock;
fail:
    eryx__guest_release(g);
unlock:
    if (lock_fd >= 0) eryx__store_unlock(lock_fd);
    else if (locked) pthread_mutex_unlock(&eryx__registry.build_lock);
    return st;
}

/* ---- acquiring a snapshot image --------------------------------------------------- */

/* Tier 2 for an image: the payload copied into a new image as it is read and
** checked (one pass over the file; a private copy: nothing another process does to
** the cache file can change a running sandbox's memory). */
static int image_sink(void *user, uint64_t off, const uint8_t *data, size_t n) {
    return eryx__snapimg_write(user, (size_t)off, data, n, NULL);
}

static eryx__snapimg *image_from_store(const eryx__cache_config *cc, eryx__store *store, const char *key) {
    eryx__store_entry entry = {.lock_fd = -1};
    eryx__errbuf eb = {0};
    eryx__store_result r = ERYX__STORE_MISS;
    eryx__snapimg *img = NULL;
    /* The image's size is the payload's: the trailer's length, checked by the read. */
    uint64_t len = eryx__store_payload_len(store, key);
    if (len && len <= SIZE_MAX && !(img = eryx__snapimg_begin((size_t)len, &eb)))
        warn(cc, "cannot load the snapshot image for %s (%s); rebuilding it", key, eb.msg);
    if (img) r = eryx__store_read(store, key, image_sink, img, &entry, &eb);
    if (r == ERYX__STORE_CORRUPT) warn(cc, "removed a damaged cache entry (%s); rebuilding it", eb.msg);
    if (r == ERYX__STORE_ERROR) warn(cc, "cannot read a cache entry (%s); rebuilding it", eb.msg);
    if (r == ERYX__STORE_HIT && entry.payload_len != len) r = ERYX__STORE_MISS; /* replaced meanwhile */
    eryx__store_entry_release(&entry);
    if (r != ERYX__STORE_HIT) {
        eryx__snapimg_abandon(img);
        return NULL;
    }
    if (!(img = eryx__snapimg_seal(img, &eb)))
        warn(cc, "cannot load the snapshot image for %s (%s); rebuilding it", key, eb.msg);
    return img;
}

static eryx__snapimg *image_from_backend(const eryx__cache_config *cc, const char *key) {
    void *data = NULL;
    size_t len = 0;
    int found = cc->backend->get(cc->backend_user, key, &data, &len);
    if (found < 0) warn(cc, "the cache backend failed to look up %s; rebuilding", key);
    if (found != 1) return NULL;
    eryx__errbuf eb;
    eryx__snapimg *img = eryx__snapimg_new(data, len, &eb);
    if (cc->backend->free) cc->backend->free(cc->backend_user, data, len);
    if (!img) warn(cc, "the cache backend returned an unusable snapshot image for %s (%s); rebuilding", key, eb.msg);
    return img;
}

static void image_store(const eryx__cache_config *cc, eryx__store *store, const char *key, const eryx__snapimg *img) {
    const uint8_t *bytes = eryx__snapimg_view(img);
    eryx__errbuf eb;
    size_t len = eryx__snapimg_size(img);
    if (store && eryx__store_put(store, key, bytes, len, &eb) != ERYX_OK)
        warn(cc, "cannot write the snapshot image to the cache (%s); the next process makes it again", eb.msg);
    if (cc->backend && cc->backend->put(cc->backend_user, key, bytes, len) != 0)
        warn(cc, "the cache backend failed to store %s", key);
}

/* ---- write-behind of new snapshot images ---------------------------------------------
** A new image is in the memory tier before it goes to disk, and the sandbox that
** asked for it does not need the disk copy: it is written by a thread of its own
** (~40-80 ms for a 20 MB image with numpy imported, docs/BENCHMARKS.md). The thread
** holds the key's file lock until the entry is in place, so another process waits
** for it rather than building it again. eryx_builder_free and the registry wait
** for pending writes (eryx__image_writes_wait); a process that exits without
** freeing its builders may lose a write: its temp file is swept later and the
** next process builds the image again. The threads are joinable: those that ended
** are joined when the next one starts, the rest by eryx__cache_shutdown. */
typedef eryx__thread writer; /* ended: its write is done */
ERYX__PROCESS_STATE static struct {
    pthread_mutex_t lock;
    pthread_cond_t done;
    unsigned pending;
    writer *threads; /* started and not yet joined */
} eryx__image_writes = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, NULL};

typedef struct image_write {
    eryx__cache_config cc; /* for warnings: the builder's handler (builders wait for us) */
    eryx__store *store;
    char key[65];
    eryx__snapimg *img; /* a reference of ours */
    int lock_fd;
    writer *self;
} image_write;

static void image_write_end(writer *self) {
    pthread_mutex_lock(&eryx__image_writes.lock);
    self->ended = true;
    if (--eryx__image_writes.pending == 0) pthread_cond_broadcast(&eryx__image_writes.done);
    pthread_mutex_unlock(&eryx__image_writes.lock);
}

static void *image_write_run(void *arg) {
    image_write *w = arg;
    prctl(PR_SET_NAME, "eryx-cache-write");
    image_store(&w->cc, w->store, w->key, w->img);
    if (w->lock_fd >= 0) eryx__store_unlock(w->lock_fd);
    eryx__snapimg_release(w->img);
    writer *self = w->self;
    free(w);
    image_write_end(self);
    return NULL;
}

/* Joins the writer threads that ended (all: every one, waiting for them). */
static void join_writers(bool all) {
    pthread_mutex_lock(&eryx__image_writes.lock);
    writer *taken = eryx__threads_take(&eryx__image_writes.threads, all);
    pthread_mutex_unlock(&eryx__image_writes.lock);
    eryx__threads_join(taken);
}

/* Starts the write of img under key on a thread; false (nothing started, the
** caller writes it itself) when a thread cannot be had. Takes *lock_fd on success. */
static bool image_write_behind(const eryx__cache_config *cc, eryx__store *store, const char *key, eryx__snapimg *img,
                               int *lock_fd) {
    image_write *w = calloc(1, sizeof *w);
    writer *self = calloc(1, sizeof *self);
    if (!w || !self) {
        free(w);
        free(self);
        return false;
    }
    join_writers(false);
    w->self = self;
    w->cc = *cc;
    w->cc.backend = NULL; /* only the disk store is written behind */
    w->store = store;
    memcpy(w->key, key, sizeof w->key);
    w->img = img;
    w->lock_fd = *lock_fd;
    eryx__snapimg_retain(img);
    /* Counted and listed under the lock it ends under, so it cannot end first, and
    ** a wait or a shutdown finds it. */
    pthread_mutex_lock(&eryx__image_writes.lock);
    bool ok = eryx__thread_start(&eryx__image_writes.threads, self, image_write_run, w);
    if (ok) eryx__image_writes.pending++;
    pthread_mutex_unlock(&eryx__image_writes.lock);
    if (!ok) {
        eryx__snapimg_release(img);
        free(w);
        free(self);
        return false;
    }
    *lock_fd = -1;
    return true;
}

void eryx__image_writes_wait(void) {
    pthread_mutex_lock(&eryx__image_writes.lock);
    while (eryx__image_writes.pending) pthread_cond_wait(&eryx__image_writes.done, &eryx__image_writes.lock);
    pthread_mutex_unlock(&eryx__image_writes.lock);
}

static int image_key(const char *id, char key[65]) {
    eryx__key_ctx *kc = eryx__key_begin();
    if (!kc) return -1;
    eryx__key_add_str(kc, "eryx-snapshot-image");
    eryx__key_add_str(kc, id);
    return eryx__key_end(kc, key);
}

/* The image for key from the process's image cache, else from the disk tier or the
** backend (then kept in the image cache); NULL if no tier has it. */
static eryx__snapimg *image_find(const eryx__cache_config *cc, const char *key, eryx__memcache *mc,
                                 eryx__store *store) {
    eryx__snapimg *img = mc ? eryx__memcache_get(mc, key) : NULL;
    if (img) return img;
    img = store ? image_from_store(cc, store, key) : cc->backend ? image_from_backend(cc, key) : NULL;
    if (img && mc) eryx__memcache_put(mc, key, img);
    return img;
}

eryx__snapimg *eryx__image_lookup(const char *id, const eryx__cache_config *cc) {
    char key[65];
    if (image_key(id, key) != 0) return NULL;
    return image_find(cc, key, snapshot_memcache(), cc->dir && !cc->backend ? store_for(cc) : NULL);
}

eryx_status eryx__image_acquire(const char *id, eryx__make_image_fn make, void *make_user, const eryx__cache_config *cc,
                                eryx__snapimg **out, eryx__errbuf *err) {
    *out = NULL;
    char key[65];
    if (image_key(id, key) != 0) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "cannot make the image's key");
    eryx__memcache *mc = snapshot_memcache();
    eryx__store *store = cc->dir && !cc->backend ? store_for(cc) : NULL;
    if ((*out = image_find(cc, key, mc, store))) return ERYX_OK;
    eryx__snapimg *img = NULL;
    eryx_status st = ERYX_OK;
    eryx__errbuf eb;
    int lock_fd = -1;
    bool locked = false;
    /* One builder per key, as for modules. */
    if (store && eryx__store_lock_key(store, key, &lock_fd, &eb) != ERYX_OK)
        warn(cc, "cannot lock the cache entry (%s); building without the lock", eb.msg);
    if (lock_fd < 0) {
        pthread_mutex_lock(&eryx__registry.build_lock);
        locked = true;
    }
    if (mc && (img = eryx__memcache_get(mc, key))) goto unlock;
    if (store && (img = image_from_store(cc, store, key))) goto cache;
    if ((st = make(make_user, &img, err)) != ERYX_OK) goto unlock;
    /* Behind only with a memory tier to serve this process meanwhile, and the
    ** key's file lock to hand over (else the build lock would be held). */
    if (!(mc && store && !cc->backend && lock_fd >= 0 && image_write_behind(cc, store, key, img, &lock_fd)))
        image_store(cc, store, key, img);
cache:
    if (mc) eryx__memcache_put(mc, key, img);
unlock:
    if (lock_fd >= 0) eryx__store_unlock(lock_fd);
    else if (locked) pthread_mutex_unlock(&eryx__registry.build_lock);
    *out = img;
    return st;
}
