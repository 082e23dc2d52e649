/*
** Loading side modules into a running main module: dynamic linking as in the
** WebAssembly tool-conventions (DynamicLinking.md), done by the host.
**
** The main module (the interpreter) exports its memory, its growable function
** table (`__indirect_function_table`), its stack pointer (`__stack_pointer`),
** `aligned_alloc` and the symbols side modules may use: functions as function
** exports, data as i32 globals holding their addresses. A side module (built with
** -fPIC and `wasm-ld -shared --experimental-pic`; its sizes in dylink.0) is then
** loaded into the same store by:
**   1. reserving its static data with the main's `aligned_alloc` (zeroed here:
**      `.bss` is not in its data segments) and its table slots by growing the
**      table: `__memory_base` and `__table_base`;
**   2. resolving its imports: `env.memory`, `env.__indirect_function_table`,
**      `env.__stack_pointer`, the two bases, `env.<function>` from the main's
**      exports (then from modules loaded before), and `GOT.mem.<sym>` /
**      `GOT.func.<sym>` as mutable globals holding an address or a table index;
**      a GOT entry for one of the module's own symbols is filled after it is
**      instantiated;
**   3. running its `__wasm_apply_data_relocs` and `__wasm_call_ctors`.
** Function pointers keep their identity across modules: the table index a side
** module gets for a main function is the one the main itself uses (its table is
** scanned once), and a function added to the table is added once. So
** `tp_getattro == PyObject_GenericGetAttr` holds whoever set the slot.
**
** Guest-controlled values (the address aligned_alloc returns, sizes from the
** module) are checked against the memory's size before the host writes to it.
*/
#ifndef ERYX_LOADER_H
#define ERYX_LOADER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wasmtime.h>
#include "../common/guard.h"
#include "dylink.h"

typedef struct eryx__dl_slot {
    void *raw;      /* wasmtime_func_to_raw: one value per function */
    uint32_t index; /* its table index */
} eryx__dl_slot;

typedef struct eryx__dl_named {
    char *name;
    uint32_t index;
} eryx__dl_named;

/* What the loader does with an import (its module and field names, its kind). */
typedef enum {
    ERYX__DLI_MEMORY,        /* env.memory: the main's */
    ERYX__DLI_TABLE,         /* env.__indirect_function_table: the main's */
    ERYX__DLI_STACK_POINTER, /* env.__stack_pointer: the main's */
    ERYX__DLI_MEMORY_BASE,   /* env.__memory_base, env.__table_base: the module's bases */
    ERYX__DLI_TABLE_BASE,
    ERYX__DLI_FUNC,     /* env.<function>: the main's export, else a loaded module's */
    ERYX__DLI_GOT_MEM,  /* GOT.mem.<symbol>: a data address */
    ERYX__DLI_GOT_FUNC, /* GOT.func.<symbol>: a table index */
    ERYX__DLI_UNSUPPORTED
} eryx__dl_import_class;

typedef struct eryx__dl_import {
    eryx__dl_import_class cls;
    const char *module, *name; /* NUL-terminated, in the owner's names block */
    size_t len;                /* of name */
    uint32_t hash;             /* of name, for the symbol cache */
} eryx__dl_import;

/* A side module's imports in order, read once (eryx__dl_imports_read, symbols.c)
** and kept with the compiled module: every instance of it has the same. */
typedef struct eryx__dl_imports {
    eryx__dl_import *v;
    size_t n;
    char *names;
} eryx__dl_imports;

/* One symbol a store has resolved: where (the extern; the defining module's
** memory base, 0 for the main), for one name and extern kind. */
typedef struct eryx__dl_sym {
    uint32_t hash; /* 0: a free slot */
    uint8_t kind;  /* wasmtime_extern_kind_t */
    bool in_main;
    uint32_t len, name_off; /* the name, in the host's sym_names */
    uint32_t base;
    wasmtime_extern_t ext;
} eryx__dl_sym;

typedef struct eryx__dl_module {
    char *name;
    wasmtime_instance_t instance;
    uint32_t memory_base, table_base;
} eryx__dl_module;

/* One main instance and the side modules loaded into it (one store). */
typedef struct eryx__dl_host {
    wasmtime_context_t *cx;
    wasmtime_instance_t main;
    wasmtime_memory_t memory;
    wasmtime_table_t table;
    wasmtime_global_t stack_pointer;
    wasmtime_func_t aligned_alloc;
    const struct main_map *main_map; /* the main's functions in its table, by name; NULL: scanned into slots */
    eryx__dl_slot *slots;            /* sorted by raw */
    size_t nslots, slots_cap;
    eryx__dl_module *mods;
    size_t nmods, mods_cap;
    /* The symbol cache (symbols.c): open addressing, a power of two; only found
    ** symbols (a later module may define what is missing now). */
    eryx__dl_sym *syms;
    size_t syms_cap, nsyms;
    char *sym_names;
    size_t sym_names_len, sym_names_cap;
    wasm_globaltype_t *gt_const, *gt_var; /* i32, for the bases and the GOT entries */
    /* The memory's interrupt guard (NULL: none): calls into the side modules' code
    ** (their allocation, constructors) go through it, the rest of loading is host
    ** code on the memory (src/common/guard.h). Set by the owner after init. */
    eryx__guard *guard;
} eryx__dl_host;

/* Prepares h for main (an instance in cx's store): finds the exports above and
** learns which of the main's functions sit in its table. module_key names the
** main's module (any pointer that is the same for all its instances, e.g. the
** wasmtime_module_t): the first instance's table is scanned and the answer kept
** for the process (eryx__dl_main_maps), so later instances skip the scan; NULL
** scans every time. Returns ERYX_OK, or ERYX_ERR_ENGINE with a message in err
** naming the missing export (the interpreter was not linked as a main module), or
** ERYX_ERR_NO_MEMORY. */
eryx_status eryx__dl_host_init(eryx__dl_host *h, wasmtime_context_t *cx, const wasmtime_instance_t *main,
                               const void *module_key, eryx__errbuf *err);

/* Frees h's bookkeeping (the instances belong to the store). */
void eryx__dl_host_free(eryx__dl_host *h);

/* Loads the compiled side module `side` (its dylink.0 read into d, its imports
** into imp: NULL reads them now; name for messages) into h's store and runs its relocations and constructors. On success
** *out (owned by h) describes it. Returns ERYX_OK, or a status with a message in
** err: ERYX_ERR_PACKAGE for the module's own faults (an undefined symbol, with its
** name; an import of an unsupported kind; thread-local data), ERYX_ERR_ENGINE (no
** memory for it in the guest, a trap while it initialized), ERYX_ERR_NO_MEMORY. A failed load may leave its
** memory reserved; the instance is then unusable and should be dropped. */
eryx_status eryx__dl_load(eryx__dl_host *h, const wasmtime_module_t *side, const eryx__dylink *d,
                          const eryx__dl_imports *imp, const char *name, const eryx__dl_module **out,
                          eryx__errbuf *err);

/* Loads side again into a new instance whose memory was restored from a snapshot
** taken after the original load: its data is already at memory_base (relocated,
** constructed), so only its instance, imports and table slots are made. Replaying
** the loads of a snapshot in their original order (with the same eryx__dl_func_index
** calls between them) gives the same table slots; table_base is checked. side is
** best the module without its data sections (eryx__dylink_strip_data: has_data
** false); with them (has_data true), the data instantiation writes over the
** snapshot's is saved first and put back. Returns ERYX_OK, or a status with a
** message in err as eryx__dl_load (ERYX_ERR_PACKAGE also when the recorded bases
** do not fit). */
eryx_status eryx__dl_replay(eryx__dl_host *h, const wasmtime_module_t *side, bool has_data, const eryx__dylink *d,
                            const eryx__dl_imports *imp, const char *name, uint32_t memory_base, uint32_t table_base,
                            const eryx__dl_module **out, eryx__errbuf *err);

/* The table index of function f (an export of any loaded module or the main),
** adding it to the table the first time. Returns ERYX_OK, or ERYX_ERR_ENGINE (the
** table cannot grow) or ERYX_ERR_NO_MEMORY with a message in err. */
eryx_status eryx__dl_func_index(eryx__dl_host *h, const wasmtime_func_t *f, uint32_t *index, eryx__errbuf *err);

/* Reads side's imports into out (owned by the caller: eryx__dl_imports_free).
** ERYX_ERR_NO_MEMORY with a message in err. */
eryx_status eryx__dl_imports_read(const wasmtime_module_t *side, eryx__dl_imports *out, eryx__errbuf *err);
void eryx__dl_imports_free(eryx__dl_imports *imp); /* NULL allowed */

/* The symbol cache of h (symbols.c): the entry for im's name with that extern
** kind, or NULL; adding one (-1 when out of memory: nothing is cached); freeing. */
const eryx__dl_sym *eryx__dl_sym_find(const eryx__dl_host *h, const eryx__dl_import *im, uint8_t kind);
int eryx__dl_sym_add(eryx__dl_host *h, const eryx__dl_import *im, uint8_t kind, const wasmtime_extern_t *ext,
                     uint32_t base, bool in_main);
void eryx__dl_syms_free(eryx__dl_host *h);

/* Frees the process's main-module maps (eryx__dl_main_maps, keyed by the caller's
** module pointers: stale once those modules are freed). Only when no host is in
** use (eryx_shutdown, src/process/); the next load builds them again. */
void eryx__dl_shutdown(void);

#endif
