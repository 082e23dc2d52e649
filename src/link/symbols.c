/*
** What a side module imports, read once per module (eryx__dl_imports), and the
** symbols one store has resolved, kept per host (the symbol cache): see loader.h.
**
** Why: restoring a sandbox whose start state holds pandas instantiates its 55
** side modules again, ~33,000 imports. Reading them through wasmtime's import
** types each time (a boxed type and two names per import, made and freed), and
** looking each up by name in the main's exports though most name the same few
** hundred functions, was most of that restore (docs/LATE-LINKING.md, "Replays").
*/
#include <stdlib.h>
#include <string.h>
#include "loader.h"

#define NAME_IS(n, s) ((n)->size == sizeof(s) - 1 && !memcmp((n)->data, s, sizeof(s) - 1))

/* FNV-1a: names are short; any spread will do. Never 0 (0 marks a free slot). */
static uint32_t name_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h ? h : 1;
}

static eryx__dl_import_class classify(const wasm_name_t *mod, const wasm_name_t *field, wasm_externkind_t kind) {
    if (NAME_IS(mod, "env")) {
        if (kind == WASM_EXTERN_MEMORY && NAME_IS(field, "memory")) return ERYX__DLI_MEMORY;
        if (kind == WASM_EXTERN_TABLE && NAME_IS(field, "__indirect_function_table")) return ERYX__DLI_TABLE;
        if (kind == WASM_EXTERN_GLOBAL && NAME_IS(field, "__stack_pointer")) return ERYX__DLI_STACK_POINTER;
        if (kind == WASM_EXTERN_GLOBAL && NAME_IS(field, "__memory_base")) return ERYX__DLI_MEMORY_BASE;
        if (kind == WASM_EXTERN_GLOBAL && NAME_IS(field, "__table_base")) return ERYX__DLI_TABLE_BASE;
        if (kind == WASM_EXTERN_FUNC) return ERYX__DLI_FUNC;
    }
    if (NAME_IS(mod, "GOT.mem") && kind == WASM_EXTERN_GLOBAL) return ERYX__DLI_GOT_MEM;
    if (NAME_IS(mod, "GOT.func") && kind == WASM_EXTERN_GLOBAL) return ERYX__DLI_GOT_FUNC;
    return ERYX__DLI_UNSUPPORTED;
}

eryx_status eryx__dl_imports_read(const wasmtime_module_t *side, eryx__dl_imports *out, eryx__errbuf *err) {
    memset(out, 0, sizeof *out);
    wasm_importtype_vec_t imports;
    wasmtime_module_imports(side, &imports);
    size_t bytes = 0;
    for (size_t i = 0; i < imports.size; i++) /* "module\0field\0" each */
        bytes += wasm_importtype_module(imports.data[i])->size + wasm_importtype_name(imports.data[i])->size + 2;
    out->v = calloc(imports.size ? imports.size : 1, sizeof *out->v);
    out->names = malloc(bytes ? bytes : 1);
    if (!out->v || !out->names) {
        wasm_importtype_vec_delete(&imports);
        eryx__dl_imports_free(out);
        return eryx__fail(err, ERYX_ERR_NO_MEMORY, "out of memory");
    }
    char *p = out->names;
    for (size_t i = 0; i < imports.size; i++) {
        const wasm_name_t *mod = wasm_importtype_module(imports.data[i]),
                          *field = wasm_importtype_name(imports.data[i]);
        eryx__dl_import *im = &out->v[i];
        im->cls = classify(mod, field, wasm_externtype_kind(wasm_importtype_type(imports.data[i])));
        im->module = p;
        memcpy(p, mod->data, mod->size);
        p += mod->size;
        *p++ = '\0';
        im->name = p;
        im->len = field->size;
        memcpy(p, field->data, field->size);
        p += field->size;
        *p++ = '\0';
        im->hash = name_hash(im->name, im->len);
    }
    out->n = imports.size;
    wasm_importtype_vec_delete(&imports);
    return ERYX_OK;
}

void eryx__dl_imports_free(eryx__dl_imports *imp) {
    if (!imp) return;
    free(imp->v);
    free(imp->names);
    memset(imp, 0, sizeof *imp);
}

/* ---- the symbol cache: (name, kind) -> where this store found it --------------
** A package's names are not chosen by the guest, but a damaged or hostile side
** module could still pick colliding ones: a lookup or insertion that probes more
** than MAX_PROBES slots gives up (the name is then looked up in wasmtime, as if it
** were not cached), so no name costs more than that. */
#define MAX_PROBES 64

static bool key_is(const eryx__dl_host *h, const eryx__dl_sym *e, const eryx__dl_import *im, uint8_t kind) {
    return e->hash == im->hash && e->kind == kind && e->len == im->len &&
           !memcmp(h->sym_names + e->name_off, im->name, im->len);
}

const eryx__dl_sym *eryx__dl_sym_find(const eryx__dl_host *h, const eryx__dl_import *im, uint8_t kind) {
    if (!h->syms_cap) return NULL;
    size_t i = im->hash & (h->syms_cap - 1);
    for (int probes = 0; probes < MAX_PROBES; probes++, i = (i + 1) & (h->syms_cap - 1)) {
        const eryx__dl_sym *e = &h->syms[i];
        if (!e->hash) return NULL;
        if (key_is(h, e, im, kind)) return e;
    }
    return NULL;
}

static int grow(eryx__dl_host *h) {
    size_t cap = h->syms_cap ? h->syms_cap * 2 : 4096;
    eryx__dl_sym *v = calloc(cap, sizeof *v);
    if (!v) return -1;
    for (size_t i = 0; i < h->syms_cap; i++) {
        if (!h->syms[i].hash) continue;
        size_t j = h->syms[i].hash & (cap - 1);
        while (v[j].hash) j = (j + 1) & (cap - 1);
        v[j] = h->syms[i];
    }
    free(h->syms);
    h->syms = v, h->syms_cap = cap;
    return 0;
}

int eryx__dl_sym_add(eryx__dl_host *h, const eryx__dl_import *im, uint8_t kind, const wasmtime_extern_t *ext,
                     uint32_t base, bool in_main) {
    if ((h->nsyms + 1) * 4 > h->syms_cap * 3 && grow(h) != 0) return -1; /* load <= 3/4 */
    if (h->sym_names_len + im->len > h->sym_names_cap) {
        size_t cap = h->sym_names_cap ? h->sym_names_cap * 2 : 65536;
        while (cap < h->sym_names_len + im->len) cap *= 2;
        char *n = realloc(h->sym_names, cap);
        if (!n) return -1;
        h->sym_names = n, h->sym_names_cap = cap;
    }
    size_t i = im->hash & (h->syms_cap - 1);
    for (int probes = 0; h->syms[i].hash; probes++, i = (i + 1) & (h->syms_cap - 1))
        if (probes == MAX_PROBES) return 0; /* a crowded chain: not kept (still correct) */
    memcpy(h->sym_names + h->sym_names_len, im->name, im->len);
    h->syms[i] = (eryx__dl_sym){.hash = im->hash,
                                .kind = kind,
                                .in_main = in_main,
                                .len = (uint32_t)im->len,
                                .name_off = (uint32_t)h->sym_names_len,
                                .base = base,
                                .ext = *ext};
    h->sym_names_len += im->len;
    h->nsyms++;
    return 0;
}

void eryx__dl_syms_free(eryx__dl_host *h) {
    free(h->syms);
    free(h->sym_names);
    h->syms = NULL, h->sym_names = NULL;
    h->syms_cap = h->nsyms = h->sym_names_len = h->sym_names_cap = 0;
}
