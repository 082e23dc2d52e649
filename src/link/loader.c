/* Loading side modules into a main module's store; see loader.h. */
#include "loader.h"
#include "../common/process_state.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A wasmtime error or trap as text, freeing it: ERYX_ERR_ENGINE. */
static eryx_status fail_wasmtime(eryx__errbuf *err, const char *what, wasmtime_error_t *e, wasm_trap_t *trap) {
    wasm_byte_vec_t msg = {0};
    if (e) wasmtime_error_message(e, &msg);
    else if (trap) wasm_trap_message(trap, &msg);
    eryx__fail(err, ERYX_ERR_ENGINE, "%s: %.*s", what, (int)msg.size, msg.data ? msg.data : "");
    wasm_byte_vec_delete(&msg);
    if (e) wasmtime_error_delete(e);
    if (trap) wasm_trap_delete(trap);
    return ERYX_ERR_ENGINE;
}

/* A call into guest code from the loader, which otherwise works on the memory as
** host code: wasm code runs under the guard (it may be interrupted there). */
static wasmtime_error_t *guest_call(eryx__dl_host *h, const wasmtime_func_t *f, const wasmtime_val_t *args,
                                    size_t nargs, wasmtime_val_t *res, size_t nres, wasm_trap_t **trap) {
    eryx__guard_to_wasm(h->guard);
    wasmtime_error_t *e = wasmtime_func_call(h->cx, f, args, nargs, res, nres, trap);
    if (!eryx__guard_to_host(h->guard) && !e && !*trap)
        e = wasmtime_error_new("eryx: the guest's memory could not be made accessible again after an interrupt");
    return e;
}

static bool get_export(wasmtime_context_t *cx, const wasmtime_instance_t *inst, const char *name, size_t len,
                       wasmtime_extern_kind_t kind, wasmtime_extern_t *out) {
    return wasmtime_instance_export_get(cx, inst, name, len, out) && out->kind == kind;
}

/* ---- function identity: raw funcref -> table index ------------------------------ */

static size_t slot_find(const eryx__dl_host *h, void *raw, bool *found) {
    size_t lo = 0, hi = h->nslots;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->slots[mid].raw == raw) {
            *found = true;
            return mid;
        }
        if ((uintptr_t)h->slots[mid].raw < (uintptr_t)raw) lo = mid + 1;
        else hi = mid;
    }
    *found = false;
    return lo;
}

static int slot_add(eryx__dl_host *h, void *raw, uint32_t index) {
    bool found;
    size_t at = slot_find(h, raw, &found);
    if (found) return 0; /* the first (lowest) index of a function stays its address */
    if (h->nslots == h->slots_cap) {
        size_t cap = h->slots_cap ? h->slots_cap * 2 : 1024;
        eryx__dl_slot *s = realloc(h->slots, cap * sizeof *s);
        if (!s) return -1;
        h->slots = s, h->slots_cap = cap;
    }
    memmove(h->slots + at + 1, h->slots + at, (h->nslots - at) * sizeof *h->slots);
    h->slots[at] = (eryx__dl_slot){raw, index};
    h->nslots++;
    return 0;
}

eryx_status eryx__dl_func_index(eryx__dl_host *h, const wasmtime_func_t *f, uint32_t *index, eryx__errbuf *err) {
    void *raw = wasmtime_func_to_raw(h->cx, f);
    bool found;
    size_t at = slot_find(h, raw, &found);
    if (found) {
        *index = h->slots[at].index;
        return ERYX_OK;
    }
    wasmtime_val_t init = {.kind = WASMTIME_FUNCREF, .of.funcref = *f};
    uint64_t prev = 0;
    wasmtime_error_t *e = wasmtime_table_grow(h->cx, &h->table, 1, &init, &prev);
    if (e) return fail_wasmtime(err, "cannot grow the function table", e, NULL);
    if (prev >= UINT32_MAX) return eryx__fail(err, ERYX_ERR_ENGINE, "the function table is full");
    *index = (uint32_t)prev;
    return slot_add(h, raw, *index) == 0 ? ERYX_OK : eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory");
}

/* ---- the host ------------------------------------------------------------------------ */

void eryx__dl_host_free(eryx__dl_host *h) {
    if (!h) return;
    free(h->slots);
    for (size_t i = 0; i < h->nmods; i++) free(h->mods[i].name);
    free(h->mods);
    eryx__dl_syms_free(h);
    if (h->gt_const) wasm_globaltype_delete(h->gt_const);
    if (h->gt_var) wasm_globaltype_delete(h->gt_var);
    memset(h, 0, sizeof *h);
}

/* ---- the main module's table, once per module ------------------------------------
** Which of the main's function exports sit in its table, and where: the same in
** every instance of one module, so worked out once (a scan of the whole table) and
** kept in eryx__dl_main_maps (until eryx__dl_shutdown). Later instances of the module need
** no scan: a GOT.func entry for a main function is a name lookup. */
typedef struct main_map {
    const void *key;   /* the caller's name for the module */
    eryx__dl_named *v; /* sorted by name */
    size_t n;
} main_map;
#define MAIN_MAPS_MAX 16
ERYX__PROCESS_STATE static struct {
    pthread_mutex_t lock;
    main_map m[MAIN_MAPS_MAX];
    size_t n;
} eryx__dl_main_maps = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int named_cmp(const void *a, const void *b) {
    return strcmp(((const eryx__dl_named *)a)->name, ((const eryx__dl_named *)b)->name);
}

/* Fills h->slots from a scan of the table (raw funcref -> first index). */
static eryx_status scan_table(eryx__dl_host *h, eryx__errbuf *err) {
    uint64_t n = wasmtime_table_size(h->cx, &h->table);
    if (n > ERYX__DYLINK_MAX_TABLE * 4ull)
        return eryx__fail(err, ERYX_ERR_ENGINE, "the main module's table is too large");
    for (uint64_t i = 0; i < n; i++) {
        wasmtime_val_t v;
        if (!wasmtime_table_get(h->cx, &h->table, i, &v)) continue;
        if (v.kind == WASMTIME_FUNCREF && v.of.funcref.store_id != 0 &&
            slot_add(h, wasmtime_func_to_raw(h->cx, &v.of.funcref), (uint32_t)i) != 0)
            return eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory");
    }
    return ERYX_OK;
}

/* The map for key: registered, or built from this instance (its table scanned
** into h->slots, which then stay) and registered. NULL when out of memory or the
** registry is full (the caller then scans). */
static const main_map *main_map_for(eryx__dl_host *h, const void *key, eryx__errbuf *err) {
    pthread_mutex_lock(&eryx__dl_main_maps.lock);
    const main_map *found = NULL;
    for (size_t i = 0; i < eryx__dl_main_maps.n && !found; i++)
        if (eryx__dl_main_maps.m[i].key == key) found = &eryx__dl_main_maps.m[i];
    pthread_mutex_unlock(&eryx__dl_main_maps.lock);
    if (found) return found;
    if (scan_table(h, err) != 0) return NULL;
    main_map fresh = {.key = key};
    size_t cap = 0;
    char *name;
    size_t name_len;
    wasmtime_extern_t x;
    for (size_t i = 0; wasmtime_instance_export_nth(h->cx, &h->main, i, &name, &name_len, &x); i++) {
        if (x.kind != WASMTIME_EXTERN_FUNC) continue;
        bool in;
        size_t at = slot_find(h, wasmtime_func_to_raw(h->cx, &x.of.func), &in);
        if (!in) continue;
        if (fresh.n == cap) {
            cap = cap ? cap * 2 : 256;
            eryx__dl_named *v = realloc(fresh.v, cap * sizeof *v);
            if (!v) goto oom;
            fresh.v = v;
        }
        if (!(fresh.v[fresh.n].name = strndup(name, name_len))) goto oom;
        fresh.v[fresh.n++].index = h->slots[at].index;
    }
    qsort(fresh.v, fresh.n, sizeof *fresh.v, named_cmp);
    pthread_mutex_lock(&eryx__dl_main_maps.lock);
    for (size_t i = 0; i < eryx__dl_main_maps.n && !found; i++) /* another thread may have been first */
        if (eryx__dl_main_maps.m[i].key == key) found = &eryx__dl_main_maps.m[i];
    if (!found && eryx__dl_main_maps.n < MAIN_MAPS_MAX) {
        eryx__dl_main_maps.m[eryx__dl_main_maps.n] = fresh;
        found = &eryx__dl_main_maps.m[eryx__dl_main_maps.n++];
        fresh.v = NULL, fresh.n = 0;
    }
    pthread_mutex_unlock(&eryx__dl_main_maps.lock);
oom:
    for (size_t i = 0; i < fresh.n; i++) free(fresh.v[i].name);
    free(fresh.v);
    return found;
}

/* The main's own table index of its export `name`, or -1 if that function is
** not in its table (or no map is known). */
static int64_t main_index(const eryx__dl_host *h, const char *name, size_t len) {
    if (!h->main_map) return -1;
    const main_map *m = h->main_map;
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strncmp(m->v[mid].name, name, len);
        if (c == 0 && m->v[mid].name[len] != '\0') c = 1;
        if (c == 0) return m->v[mid].index;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

eryx_status eryx__dl_host_init(eryx__dl_host *h, wasmtime_context_t *cx, const wasmtime_instance_t *main,
                               const void *module_key, eryx__errbuf *err) {
    memset(h, 0, sizeof *h);
    h->cx = cx;
    h->main = *main;
    wasmtime_extern_t x;
    static const char hint[] = "the interpreter was not linked as a main module for extensions";
    if (!get_export(cx, main, "memory", 6, WASMTIME_EXTERN_MEMORY, &x))
        return eryx__fail(err, ERYX_ERR_ENGINE, "%s: it exports no memory", hint);
    h->memory = x.of.memory;
    if (!get_export(cx, main, "__indirect_function_table", 25, WASMTIME_EXTERN_TABLE, &x))
        return eryx__fail(err, ERYX_ERR_ENGINE, "%s: it exports no __indirect_function_table", hint);
    h->table = x.of.table;
    if (!get_export(cx, main, "__stack_pointer", 15, WASMTIME_EXTERN_GLOBAL, &x))
        return eryx__fail(err, ERYX_ERR_ENGINE, "%s: it exports no __stack_pointer", hint);
    h->stack_pointer = x.of.global;
    if (!get_export(cx, main, "aligned_alloc", 13, WASMTIME_EXTERN_FUNC, &x))
        return eryx__fail(err, ERYX_ERR_ENGINE, "%s: it exports no aligned_alloc", hint);
    h->aligned_alloc = x.of.func;
    /* With a known module, its map answers for the main's functions and h->slots
    ** holds only what this instance adds; else the whole table is scanned. */
    if (module_key) h->main_map = main_map_for(h, module_key, err);
    eryx_status st;
    if (!h->main_map && h->nslots == 0 && (st = scan_table(h, err)) != ERYX_OK) {
        eryx__dl_host_free(h);
        return st;
    }
    return ERYX_OK;
}

/* ---- loading ----------------------------------------------------------------------------- */

/* Where a symbol is defined: the main module first, then the modules loaded before
** (in load order), as a dynamic linker's global scope. *base is the defining
** module's memory base (0 for the main: its data addresses are absolute).
** Answers are kept in the host's symbol cache: the same names recur in every
** module (the C API), and a found symbol stays where it was found. */
static bool find_symbol(eryx__dl_host *h, const eryx__dl_import *im, wasmtime_extern_kind_t kind,
                        wasmtime_extern_t *out, uint32_t *base, bool *in_main) {
    const eryx__dl_sym *c = eryx__dl_sym_find(h, im, kind);
    if (c) {
        *out = c->ext, *base = c->base, *in_main = c->in_main;
        return true;
    }
    *base = 0;
    bool found = get_export(h->cx, &h->main, im->name, im->len, kind, out);
    *in_main = found;
    for (size_t i = 0; i < h->nmods && !found; i++) {
        if (get_export(h->cx, &h->mods[i].instance, im->name, im->len, kind, out)) {
            *base = h->mods[i].memory_base;
            found = true;
        }
    }
    if (found) (void)eryx__dl_sym_add(h, im, kind, out, *base, *in_main); /* out of memory: just not kept */
    return found;
}

static eryx_status new_i32_global(eryx__dl_host *h, bool mutable_, uint32_t value, wasmtime_global_t *out,
                                  eryx__errbuf *err) {
    wasm_globaltype_t **gt = mutable_ ? &h->gt_var : &h->gt_const;
    if (!*gt && !(*gt = wasm_globaltype_new(wasm_valtype_new(WASM_I32), mutable_ ? WASM_VAR : WASM_CONST)))
        return eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory");
    wasmtime_val_t v = {.kind = WASMTIME_I32, .of.i32 = (int32_t)value};
    wasmtime_error_t *e = wasmtime_global_new(h->cx, *gt, &v, out);
    return e ? fail_wasmtime(err, "cannot make a global", e, NULL) : ERYX_OK;
}

/* The i32 value of an exported global (a data symbol's address, relative to its
** module's memory base for a side module). */
static uint32_t global_u32(wasmtime_context_t *cx, const wasmtime_global_t *g) {
    wasmtime_val_t v;
    wasmtime_global_get(cx, g, &v);
    return v.kind == WASMTIME_I32 ? (uint32_t)v.of.i32 : 0;
}

static eryx_status reserve_memory(eryx__dl_host *h, const eryx__dylink *d, uint32_t *base, eryx__errbuf *err) {
    *base = 0;
    if (d->mem_size == 0) return ERYX_OK;
    uint32_t align = UINT32_C(1) << d->mem_align;
    if (align < 16) align = 16;
    uint64_t size = ((uint64_t)d->mem_size + align - 1) / align * align; /* aligned_alloc wants a multiple */
    wasmtime_val_t args[2] = {{.kind = WASMTIME_I32, .of.i32 = (int32_t)align},
                              {.kind = WASMTIME_I32, .of.i32 = (int32_t)size}},
                   res = {.kind = WASMTIME_I32, .of.i32 = 0};
    wasm_trap_t *trap = NULL;
    wasmtime_error_t *e = guest_call(h, &h->aligned_alloc, args, 2, &res, 1, &trap);
    if (e || trap) return fail_wasmtime(err, "aligned_alloc for the side module's data failed", e, trap);
    uint32_t ptr = (uint32_t)res.of.i32;
    size_t msize = wasmtime_memory_data_size(h->cx, &h->memory);
    /* The address came from the guest: check it before writing there. */
    if (ptr == 0 || ptr % align != 0 || ptr > msize || size > msize - ptr)
        return eryx__fail(err, ERYX_ERR_ENGINE,
                          "no memory for the side module's %u bytes of data (the guest's allocator gave %u)",
                          d->mem_size, ptr);
    memset(wasmtime_memory_data(h->cx, &h->memory) + ptr, 0, (size_t)size);
    *base = ptr;
    return ERYX_OK;
}

static eryx_status reserve_table(eryx__dl_host *h, const eryx__dylink *d, uint32_t *base, eryx__errbuf *err) {
    uint64_t cur = wasmtime_table_size(h->cx, &h->table);
    uint64_t align = UINT64_C(1) << d->table_align;
    uint64_t pad = (align - cur % align) % align;
    *base = (uint32_t)(cur + pad);
    if (cur + pad + d->table_size >= UINT32_MAX) return eryx__fail(err, ERYX_ERR_ENGINE, "the function table is full");
    if (pad + d->table_size == 0) return ERYX_OK;
    wasmtime_val_t null = {.kind = WASMTIME_FUNCREF};
    null.of.funcref.store_id = 0;
    uint64_t prev;
    wasmtime_error_t *e = wasmtime_table_grow(h->cx, &h->table, pad + d->table_size, &null, &prev);
    return e ? fail_wasmtime(err, "cannot grow the function table for the side module", e, NULL) : ERYX_OK;
}

static eryx_status call_if_exported(eryx__dl_host *h, const wasmtime_instance_t *inst, const char *fn, const char *name,
                                    eryx__errbuf *err) {
    wasmtime_extern_t x;
    if (!get_export(h->cx, inst, fn, strlen(fn), WASMTIME_EXTERN_FUNC, &x)) return ERYX_OK;
    wasm_trap_t *trap = NULL;
    wasmtime_error_t *e = guest_call(h, &x.of.func, NULL, 0, NULL, 0, &trap);
    if (e || trap) {
        char what[256];
        snprintf(what, sizeof what, "side module %s: %s failed", name, fn);
        return fail_wasmtime(err, what, e, trap);
    }
    return ERYX_OK;
}

/* A load, or with `at` a replay: the module's memory already holds its data (a
** snapshot taken after it was loaded), at at->memory_base, and its table slots must
** come out at at->table_base; no allocation, no relocations, no constructors. */
typedef struct replay_at {
    uint32_t memory_base, table_base;
    bool has_data; /* the module still has its data segments (else a stripped copy) */
} replay_at;

/* The symbol cache's kinds for GOT globals (beside wasmtime's extern kinds). */
#define GOT_MEM_KIND 200
#define GOT_FUNC_KIND 201
static uint8_t got_kind(eryx__dl_import_class cls) { return cls == ERYX__DLI_GOT_MEM ? GOT_MEM_KIND : GOT_FUNC_KIND; }

/* The extern for import i (im) of a module whose bases are memory_base and
** table_base; a GOT entry for the module's own symbol has its index queued in todo
** (filled after it is instantiated). */
static eryx_status resolve(eryx__dl_host *h, const eryx__dl_import *im, size_t i, uint32_t memory_base,
                           uint32_t table_base, const char *name, wasmtime_extern_t *ext, size_t *todo, size_t *ntodo,
                           eryx__errbuf *err) {
    wasmtime_extern_t found;
    uint32_t base = 0, value = 0;
    bool in_main;
    int64_t mi;
    const eryx__dl_sym *c;
    eryx_status rc = ERYX_OK;
    switch (im->cls) {
    case ERYX__DLI_MEMORY: *ext = (wasmtime_extern_t){.kind = WASMTIME_EXTERN_MEMORY, .of.memory = h->memory}; break;
    case ERYX__DLI_TABLE: *ext = (wasmtime_extern_t){.kind = WASMTIME_EXTERN_TABLE, .of.table = h->table}; break;
    case ERYX__DLI_STACK_POINTER:
        *ext = (wasmtime_extern_t){.kind = WASMTIME_EXTERN_GLOBAL, .of.global = h->stack_pointer};
        break;
    case ERYX__DLI_MEMORY_BASE:
    case ERYX__DLI_TABLE_BASE:
        ext->kind = WASMTIME_EXTERN_GLOBAL;
        rc =
            new_i32_global(h, false, im->cls == ERYX__DLI_MEMORY_BASE ? memory_base : table_base, &ext->of.global, err);
        break;
    case ERYX__DLI_FUNC:
        if (find_symbol(h, im, WASMTIME_EXTERN_FUNC, &found, &base, &in_main)) *ext = found;
        else
            rc = eryx__fail(err, ERYX_ERR_PACKAGE,
                            "side module %s: undefined symbol %s (a function neither the interpreter nor a loaded "
                            "module exports; was it built for another interpreter?)",
                            name, im->name);
        break;
    case ERYX__DLI_GOT_MEM:
    case ERYX__DLI_GOT_FUNC:
        ext->kind = WASMTIME_EXTERN_GLOBAL;
        /* One GOT global per symbol, shared by every module that imports it (as
        ** Emscripten's GOT): its value is the symbol's, whoever asks. */
        if ((c = eryx__dl_sym_find(h, im, got_kind(im->cls)))) {
            *ext = c->ext;
            break;
        }
        if (im->cls == ERYX__DLI_GOT_FUNC && find_symbol(h, im, WASMTIME_EXTERN_FUNC, &found, &base, &in_main))
            rc = in_main && (mi = main_index(h, im->name, im->len)) >= 0
                     ? (value = (uint32_t)mi, ERYX_OK) /* the main's own index: pointers compare equal */
                     : eryx__dl_func_index(h, &found.of.func, &value, err);
        else if (im->cls == ERYX__DLI_GOT_MEM && find_symbol(h, im, WASMTIME_EXTERN_GLOBAL, &found, &base, &in_main))
            value = base + global_u32(h->cx, &found.of.global);
        else todo[(*ntodo)++] = i; /* its own symbol: set after instantiation, shared then */
        if (rc == 0) rc = new_i32_global(h, true, value, &ext->of.global, err);
        if (rc == 0 && (*ntodo == 0 || todo[*ntodo - 1] != i)) /* its value is final: share it */
            (void)eryx__dl_sym_add(h, im, got_kind(im->cls), ext, 0, false);
        break;
    default:
        rc = eryx__fail(err, ERYX_ERR_PACKAGE, "side module %s imports %s.%s, which the loader does not provide", name,
                        im->module, im->name);
    }
    return rc;
}

static eryx_status load_impl(eryx__dl_host *h, const wasmtime_module_t *side, const eryx__dylink *d,
                             const eryx__dl_imports *given, const char *name, const replay_at *at,
                             const eryx__dl_module **out, eryx__errbuf *err) {
    *out = NULL;
    if (d->n_tls_exports)
        return eryx__fail(err, ERYX_ERR_PACKAGE,
                          "side module %s has thread-local data; this interpreter has no threads", name);
    if (h->nmods == h->mods_cap) {
        size_t cap = h->mods_cap ? h->mods_cap * 2 : 16;
        eryx__dl_module *m = realloc(h->mods, cap * sizeof *m);
        if (!m) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory");
        h->mods = m, h->mods_cap = cap;
    }
    uint32_t memory_base, table_base;
    eryx_status st;
    if (at) {
        size_t msize = wasmtime_memory_data_size(h->cx, &h->memory);
        memory_base = at->memory_base;
        if ((uint64_t)memory_base + d->mem_size > msize)
            return eryx__fail(err, ERYX_ERR_PACKAGE,
                              "side module %s: its recorded data (%u bytes at %u) lies outside the memory", name,
                              d->mem_size, memory_base);
    } else if ((st = reserve_memory(h, d, &memory_base, err)) != ERYX_OK) {
        return st;
    }
    if ((st = reserve_table(h, d, &table_base, err)) != ERYX_OK) return st;
    if (at && table_base != at->table_base)
        return eryx__fail(err, ERYX_ERR_PACKAGE,
                          "side module %s: its table slots came out at %u, not at %u as recorded", name, table_base,
                          at->table_base);

    eryx__dl_imports own = {0};
    const eryx__dl_imports *imp = given;
    if (!imp) {
        if ((st = eryx__dl_imports_read(side, &own, err)) != ERYX_OK) return st;
        imp = &own;
    }
    wasmtime_extern_t *ext = calloc(imp->n ? imp->n : 1, sizeof *ext);
    size_t *todo = calloc(imp->n ? imp->n : 1, sizeof *todo);
    size_t ntodo = 0;
    eryx_status rc = ext && todo ? ERYX_OK : eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; rc == 0 && i < imp->n; i++)
        rc = resolve(h, &imp->v[i], i, memory_base, table_base, name, &ext[i], todo, &ntodo, err);
    wasmtime_instance_t inst;
    /* A replay: instantiating writes the module's data segments (unrelocated, as
    ** built) over the relocated, constructed data the snapshot holds; keep that
    ** data and put it back. */
    uint8_t *saved = NULL;
    if (rc == 0 && at && at->has_data && d->mem_size) {
        if (!(saved = malloc(d->mem_size))) rc = eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory");
        else memcpy(saved, wasmtime_memory_data(h->cx, &h->memory) + memory_base, d->mem_size);
    }
    if (rc == 0) {
        wasm_trap_t *trap = NULL;
        wasmtime_error_t *e = wasmtime_instance_new(h->cx, side, ext, imp->n, &inst, &trap);
        if (e || trap) {
            char what[256];
            snprintf(what, sizeof what, "instantiating side module %s failed", name);
            rc = fail_wasmtime(err, what, e, trap);
        }
    }
    if (saved) {
        if (rc == 0) memcpy(wasmtime_memory_data(h->cx, &h->memory) + memory_base, saved, d->mem_size);
        free(saved);
    }
    /* Its own symbols' GOT entries: addresses relative to its memory base, and
    ** table indices for its functions. */
    for (size_t k = 0; rc == 0 && k < ntodo; k++) {
        const eryx__dl_import *im = &imp->v[todo[k]];
        bool func = im->cls == ERYX__DLI_GOT_FUNC;
        wasmtime_extern_t x;
        wasmtime_val_t v = {.kind = WASMTIME_I32};
        uint32_t value = 0;
        if (func && get_export(h->cx, &inst, im->name, im->len, WASMTIME_EXTERN_FUNC, &x))
            rc = eryx__dl_func_index(h, &x.of.func, &value, err);
        else if (!func && get_export(h->cx, &inst, im->name, im->len, WASMTIME_EXTERN_GLOBAL, &x))
            value = memory_base + global_u32(h->cx, &x.of.global);
        else
            rc = eryx__fail(err, ERYX_ERR_PACKAGE, "side module %s: undefined symbol %s (no module defines this %s)",
                            name, im->name, func ? "function" : "data symbol");
        v.of.i32 = (int32_t)value;
        if (rc == 0) {
            wasmtime_error_t *e = wasmtime_global_set(h->cx, &ext[todo[k]].of.global, &v);
            if (e) rc = fail_wasmtime(err, "cannot set a GOT entry", e, NULL);
        }
        if (rc == 0) /* final now: later modules importing it share it */
            (void)eryx__dl_sym_add(h, im, got_kind(im->cls), &ext[todo[k]], 0, false);
    }
    free(ext);
    free(todo);
    eryx__dl_imports_free(&own);
    if (rc != ERYX_OK) return rc;
    eryx__dl_module *m = &h->mods[h->nmods];
    *m =
        (eryx__dl_module){.name = strdup(name), .instance = inst, .memory_base = memory_base, .table_base = table_base};
    if (!m->name) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory");
    h->nmods++; /* visible to later modules' symbol lookups, also if its constructors fail */
    if (at) {   /* the memory holds the relocated, constructed data already */
        *out = m;
        return ERYX_OK;
    }
    if ((rc = call_if_exported(h, &inst, "__wasm_apply_data_relocs", name, err)) != ERYX_OK ||
        (rc = call_if_exported(h, &inst, "__wasm_call_ctors", name, err)) != ERYX_OK)
        return rc;
    *out = m;
    return ERYX_OK;
}

eryx_status eryx__dl_load(eryx__dl_host *h, const wasmtime_module_t *side, const eryx__dylink *d,
                          const eryx__dl_imports *imp, const char *name, const eryx__dl_module **out,
                          eryx__errbuf *err) {
    return load_impl(h, side, d, imp, name, NULL, out, err);
}

eryx_status eryx__dl_replay(eryx__dl_host *h, const wasmtime_module_t *side, bool has_data, const eryx__dylink *d,
                            const eryx__dl_imports *imp, const char *name, uint32_t memory_base, uint32_t table_base,
                            const eryx__dl_module **out, eryx__errbuf *err) {
    replay_at at = {memory_base, table_base, has_data};
    return load_impl(h, side, d, imp, name, &at, out, err);
}

void eryx__dl_shutdown(void) {
    pthread_mutex_lock(&eryx__dl_main_maps.lock);
    for (size_t i = 0; i < eryx__dl_main_maps.n; i++) {
        main_map *m = &eryx__dl_main_maps.m[i];
        for (size_t j = 0; j < m->n; j++) free(m->v[j].name);
        free(m->v);
        *m = (main_map){0};
    }
    eryx__dl_main_maps.n = 0;
    pthread_mutex_unlock(&eryx__dl_main_maps.lock);
}
