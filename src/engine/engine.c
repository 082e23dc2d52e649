#include "engine.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../cache/key.h"
#include "../vfs/vfs.h"
#include "../wasi/wasi_wasmtime.h"

/* Native wasm stack: large enough that deep Python recursion ends in RecursionError
** (CPython's own limits) rather than a stack-overflow trap. */
#define ERYX__MAX_WASM_STACK (2u << 20)
/* Bump when the layout of what eryx writes to the cache changes. */
#define ERYX__ARTIFACT_FORMAT "eryx-cwasm-1"

/* ---- process-wide registry: the engine and compiled modules ------------------ */
typedef struct registry_entry {
    char key[ERYX__KEY_HEX_LEN + 1];
    wasmtime_module_t *module;
    wasmtime_instance_pre_t *pre; /* module + the linker's imports, ready to instantiate */
    struct registry_entry *next;
} registry_entry;

typedef struct image_entry {
    char *path;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    eryx_vfs_zip *image;
    struct image_entry *next;
} image_entry;

static struct {
    pthread_once_t once;
    pthread_mutex_t lock; /* guards modules, linker and images */
    wasm_engine_t *engine;
    char engine_error[ERYX__ERRMSG_MAX];
    char settings[256]; /* written once, with the engine */
    registry_entry *modules;
    wasmtime_linker_t *linker;
    image_entry *images;
} eryx__registry = {PTHREAD_ONCE_INIT, PTHREAD_MUTEX_INITIALIZER, NULL, "", "", NULL, NULL, NULL};

static void create_engine(void);

const char *eryx__engine_settings(void) {
    pthread_once(&eryx__registry.once, create_engine);
    return eryx__registry.settings;
}

/* Cranelift's optimization level: "speed" unless ERYX_CRANELIFT_OPT names another
** (none, speed_and_size). A developer knob for bench/opt-levels.sh; read once. */
static wasmtime_opt_level_t opt_level(const char **name) {
    const char *env = getenv("ERYX_CRANELIFT_OPT");
    if (env && !strcmp(env, "none")) {
        *name = "none";
        return WASMTIME_OPT_LEVEL_NONE;
    }
    if (env && !strcmp(env, "speed_and_size")) {
        *name = "speed_and_size";
        return WASMTIME_OPT_LEVEL_SPEED_AND_SIZE;
    }
    *name = "speed";
    return WASMTIME_OPT_LEVEL_SPEED;
}

static void create_engine(void) {
    wasm_config_t *config = wasm_config_new();
    if (!config) {
        snprintf(eryx__registry.engine_error, ERYX__ERRMSG_MAX, "wasm_config_new failed (out of memory?)");
        return;
    }
    wasmtime_config_strategy_set(config, WASMTIME_STRATEGY_CRANELIFT);
    const char *opt_name;
    wasmtime_config_cranelift_opt_level_set(config, opt_level(&opt_name));
    /* Every setting that changes generated code; it enters each module's key. */
    snprintf(eryx__registry.settings, sizeof eryx__registry.settings,
             "wasmtime=48.0.8;compiler=cranelift;opt=%s;max_wasm_stack=%u;fuel=0;epoch=0;%s", opt_name,
             ERYX__MAX_WASM_STACK, ERYX__ARTIFACT_FORMAT);
    wasmtime_config_max_wasm_stack_set(config, ERYX__MAX_WASM_STACK);
    wasmtime_config_parallel_compilation_set(config, true);
    wasmtime_config_memory_init_cow_set(config, true);
    eryx__registry.engine = wasm_engine_new_with_config(config); /* takes config */
    if (!eryx__registry.engine)
        snprintf(eryx__registry.engine_error, ERYX__ERRMSG_MAX,
                 "wasmtime could not create an engine with eryx's settings (%s)", eryx__engine_settings());
}

wasm_engine_t *eryx__engine(eryx__errbuf *err) {
    pthread_once(&eryx__registry.once, create_engine);
    if (!eryx__registry.engine && err)
        eryx__fail(err, ERYX_ERR_ENGINE, "%s", eryx__registry.engine_error);
    return eryx__registry.engine;
}

void eryx__registry_clear(void) {
    pthread_mutex_lock(&eryx__registry.lock);
    registry_entry *e = eryx__registry.modules;
    image_entry *img = eryx__registry.images;
    wasmtime_linker_t *linker = eryx__registry.linker;
    eryx__registry.modules = NULL;
    eryx__registry.images = NULL;
    eryx__registry.linker = NULL;
    pthread_mutex_unlock(&eryx__registry.lock);
    while (e) {
        registry_entry *next = e->next;
        if (e->pre) wasmtime_instance_pre_delete(e->pre);
        wasmtime_module_delete(e->module);
        free(e);
        e = next;
    }
    while (img) {
        image_entry *next = img->next;
        eryx_vfs_zip_release(img->image);
        free(img->path);
        free(img);
        img = next;
    }
    if (linker) wasmtime_linker_delete(linker);
}

eryx_status eryx__fail_wasmtime(eryx__errbuf *err, eryx_status status, const char *what,
                                wasmtime_error_t *error, wasm_trap_t *trap) {
    wasm_byte_vec_t msg = {0, NULL};
    if (error) wasmtime_error_message(error, &msg);
    else if (trap) wasm_trap_message(trap, &msg);
    eryx__fail(err, status, "%s: %.*s", what, (int)msg.size, msg.data ? msg.data : "");
    wasm_byte_vec_delete(&msg);
    if (error) wasmtime_error_delete(error);
    if (trap) wasm_trap_delete(trap);
    return status;
}

/* ---- disk cache (a first version; src/cache grows into the full store) ------- */
static int mkdirs(const char *path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return (mkdir(buf, 0700) == 0 || errno == EEXIST) ? 0 : -1;
}

static int write_all(int fd, const uint8_t *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes data to path atomically. A failure leaves no partial file and only costs
** the next process a compile, so it is not an error for the caller. */
static int store_atomically(const char *path, const uint8_t *data, size_t len) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    int ok = write_all(fd, data, len) == 0 && fsync(fd) == 0;
    ok = (close(fd) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static eryx_status read_file(const char *path, wasm_byte_vec_t *out, eryx__errbuf *err) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return eryx__fail(err, ERYX_ERR_GUEST_NOT_FOUND,
                          "cannot open guest module %s: %s (build it with ./build.sh or set ERYX_GUEST_DIR)",
                          path, strerror(errno));
    eryx_status st = ERYX_OK;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size <= 0 || fseek(f, 0, SEEK_SET) != 0) {
        st = eryx__fail(err, ERYX_ERR_IO, "cannot read guest module %s: empty or unreadable", path);
    } else {
        wasm_byte_vec_new_uninitialized(out, (size_t)size);
        if (!out->data) st = eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for %ld bytes of %s", size, path);
        else if (fread(out->data, 1, (size_t)size, f) != (size_t)size) {
            wasm_byte_vec_delete(out);
            st = eryx__fail(err, ERYX_ERR_IO, "short read of guest module %s", path);
        }
    }
    fclose(f);
    return st;
}

static eryx_status compile_module(wasm_engine_t *engine, const char *wasm_path, wasmtime_module_t **out,
                                  eryx__errbuf *err) {
    wasm_byte_vec_t wasm;
    eryx_status st = read_file(wasm_path, &wasm, err);
    if (st != ERYX_OK) return st;
    wasmtime_error_t *e = wasmtime_module_new(engine, (const uint8_t *)wasm.data, wasm.size, out);
    wasm_byte_vec_delete(&wasm);
    if (e) return eryx__fail_wasmtime(err, ERYX_ERR_ENGINE, "compiling the guest module failed", e, NULL);
    return ERYX_OK;
}

/* Finds or creates the registry entry for a module; call with the lock held. */
static eryx_status load_entry(const char *wasm_path, const char *wasm_sha256, const char *cache_dir,
                              registry_entry **entry_out, eryx__load_source *source, eryx__errbuf *err) {
    wasmtime_module_t *mod = NULL, **out = &mod;
    *entry_out = NULL;
    wasm_engine_t *engine = eryx__engine(err);
    if (!engine) return ERYX_ERR_ENGINE;

    char key[ERYX__KEY_HEX_LEN + 1];
    eryx__key_ctx *kc = eryx__key_begin();
    if (!kc) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "cannot start a SHA-256 context");
    eryx__key_add_str(kc, wasm_sha256);
    eryx__key_add_str(kc, eryx__engine_settings());
    if (eryx__key_end(kc, key) != 0) return eryx__fail(err, ERYX_ERR_ENGINE, "SHA-256 failed");

    eryx_status st = ERYX_OK;
    for (registry_entry *e = eryx__registry.modules; e; e = e->next) {
        if (strcmp(e->key, key) == 0) {
            *entry_out = e;
            if (source) *source = ERYX__LOADED_REGISTRY;
            return ERYX_OK;
        }
    }

    char path[4200] = "";
    if (cache_dir) {
        snprintf(path, sizeof path, "%s/modules/%s.cwasm", cache_dir, key);
        if (access(path, R_OK) == 0) {
            wasmtime_error_t *e = wasmtime_module_deserialize_file(engine, path, out);
            if (!e) {
                if (source) *source = ERYX__LOADED_DISK;
            } else {
                /* Incompatible or damaged: drop it and compile afresh below. */
                wasmtime_error_delete(e);
                unlink(path);
                *out = NULL;
            }
        }
    }
    if (!*out) {
        st = compile_module(engine, wasm_path, out, err);
        if (st != ERYX_OK) return st;
        if (source) *source = ERYX__LOADED_COMPILED;
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/modules", cache_dir ? cache_dir : "");
        if (cache_dir && mkdirs(dir) == 0) {
            /* A failure here only costs the next process a compile. */
            wasm_byte_vec_t bytes;
            wasmtime_error_t *e = wasmtime_module_serialize(*out, &bytes);
            if (e) {
                wasmtime_error_delete(e);
            } else {
                (void)store_atomically(path, (const uint8_t *)bytes.data, bytes.size);
                wasm_byte_vec_delete(&bytes);
            }
        }
    }
    registry_entry *entry = calloc(1, sizeof *entry);
    if (!entry) {
        wasmtime_module_delete(mod);
        return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for a module registry entry");
    }
    memcpy(entry->key, key, sizeof key);
    entry->module = mod;
    entry->next = eryx__registry.modules;
    eryx__registry.modules = entry;
    *entry_out = entry;
    return ERYX_OK;
}

eryx_status eryx__module_load(const char *wasm_path, const char *wasm_sha256, const char *cache_dir,
                              wasmtime_module_t **out, eryx__load_source *source, eryx__errbuf *err) {
    *out = NULL;
    registry_entry *e;
    /* Hold the lock across the load so two threads never compile the same module. */
    pthread_mutex_lock(&eryx__registry.lock);
    eryx_status st = load_entry(wasm_path, wasm_sha256, cache_dir, &e, source, err);
    if (st == ERYX_OK) *out = wasmtime_module_clone(e->module);
    pthread_mutex_unlock(&eryx__registry.lock);
    return st;
}

eryx_status eryx__instance_pre(const char *wasm_path, const char *wasm_sha256, const char *cache_dir,
                               wasmtime_instance_pre_t **out, eryx__errbuf *err) {
    *out = NULL;
    registry_entry *e;
    pthread_mutex_lock(&eryx__registry.lock);
    eryx_status st = load_entry(wasm_path, wasm_sha256, cache_dir, &e, NULL, err);
    if (st == ERYX_OK && !eryx__registry.linker) {
        wasmtime_linker_t *linker = wasmtime_linker_new(eryx__registry.engine);
        wasmtime_error_t *we = linker ? eryx__define_imports(linker) : NULL;
        if (!linker || we) {
            st = eryx__fail_wasmtime(err, ERYX_ERR_ENGINE, "defining eryx's imports failed", we, NULL);
            if (linker) wasmtime_linker_delete(linker);
        } else {
            eryx__registry.linker = linker;
        }
    }
    if (st == ERYX_OK && !e->pre) {
        wasmtime_error_t *we = wasmtime_linker_instantiate_pre(eryx__registry.linker, e->module, &e->pre);
        if (we)
            st = eryx__fail_wasmtime(err, ERYX_ERR_GUEST_API,
                                     "the guest module needs imports eryx does not provide "
                                     "(was it built by guest/build.sh?)", we, NULL);
    }
    if (st == ERYX_OK) *out = e->pre;
    pthread_mutex_unlock(&eryx__registry.lock);
    return st;
}

eryx_vfs_zip *eryx__stdlib_image(const char *path, eryx__errbuf *err) {
    struct stat sb;
    if (stat(path, &sb) != 0) {
        eryx__fail(err, ERYX_ERR_GUEST_NOT_FOUND, "cannot open the stdlib image %s: %s (rebuild the guest with ./build.sh)",
                   path, strerror(errno));
        return NULL;
    }
    eryx_vfs_zip *img = NULL;
    pthread_mutex_lock(&eryx__registry.lock);
    for (image_entry *e = eryx__registry.images; e; e = e->next) {
        /* Same file, unchanged since it was mapped. */
        if (!strcmp(e->path, path) && e->dev == sb.st_dev && e->ino == sb.st_ino && e->size == sb.st_size &&
            e->mtime.tv_sec == sb.st_mtim.tv_sec && e->mtime.tv_nsec == sb.st_mtim.tv_nsec) {
            img = eryx_vfs_zip_ref(e->image);
            break;
        }
    }
    if (!img) {
        char msg[512] = "";
        eryx_vfs_zip *fresh = eryx_vfs_zip_open(path, msg, sizeof msg);
        image_entry *e = fresh ? calloc(1, sizeof *e) : NULL;
        if (!fresh) {
            eryx__fail(err, ERYX_ERR_GUEST_NOT_FOUND, "the stdlib image %s is unusable: %s (rebuild the guest)", path, msg);
        } else if (!e || !(e->path = strdup(path))) {
            free(e);
            eryx_vfs_zip_release(fresh);
            eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory to register the stdlib image");
        } else {
            e->dev = sb.st_dev;
            e->ino = sb.st_ino;
            e->size = sb.st_size;
            e->mtime = sb.st_mtim;
            e->image = fresh;
            e->next = eryx__registry.images;
            eryx__registry.images = e;
            img = eryx_vfs_zip_ref(fresh);
        }
    }
    pthread_mutex_unlock(&eryx__registry.lock);
    return img;
}
