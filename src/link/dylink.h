/*
** Reading a side module's `dylink.0` section (WebAssembly tool-conventions,
** DynamicLinking.md): what a loader must reserve for the module before it can be
** instantiated against a main module's memory and table.
**
** A side module (`wasm-ld -shared --experimental-pic`) imports its memory, its
** table, its stack pointer, `__memory_base` and `__table_base`, and reaches other
** modules' symbols through `env.*` function imports and `GOT.mem.*` / `GOT.func.*`
** global imports. Its first section is the custom section `dylink.0`, whose
** subsections say how much memory and how many table slots it needs, with what
** alignment, and which other modules it needs.
**
** The module comes from a package, so it is not trusted: every length is checked
** and the sizes are capped (a side module that asks for more than
** ERYX__DYLINK_MAX_MEM bytes or ERYX__DYLINK_MAX_TABLE slots is refused).
*/
#ifndef ERYX_DYLINK_H
#define ERYX_DYLINK_H
#include <stddef.h>
#include <stdint.h>
#include "../common/errbuf.h"

#define ERYX__DYLINK_MAX_MEM (UINT32_C(1) << 30)   /* static data of one module */
#define ERYX__DYLINK_MAX_TABLE (UINT32_C(1) << 20) /* function-table slots */
#define ERYX__DYLINK_MAX_ALIGN 16u                 /* log2: 64 KiB */

typedef struct eryx__dylink {
    uint32_t mem_size;    /* bytes to reserve at __memory_base */
    uint32_t mem_align;   /* log2 of its alignment */
    uint32_t table_size;  /* table slots to reserve at __table_base */
    uint32_t table_align; /* log2 of their alignment */
    uint32_t n_needed;
    char **needed;          /* the module names of WASM_DYLINK_NEEDED, NUL-terminated copies */
    uint32_t n_tls_exports; /* thread-local exports (refused by the loader: no threads) */
} eryx__dylink;

/* Reads the dylink.0 section of the module (wasm, len) into *out. Returns ERYX_OK,
** or ERYX_ERR_PACKAGE with a one-line message in err (may be NULL): not a wasm module, no dylink.0 first section
** (a main module or a plain object file; the pre-2021 "dylink" section is named as
** such), a malformed or truncated subsection, or sizes over the caps. */
eryx_status eryx__dylink_read(const uint8_t *wasm, size_t len, eryx__dylink *out, eryx__errbuf *err);

/* Writes a copy of the module (wasm, len) without its data and data-count
** sections into a malloc'd *out of *out_len bytes: the "bare" side module a
** snapshot restore instantiates, so that instantiation writes nothing into the
** memory the snapshot restored (the module's data is there already, relocated).
** Every other section is copied unchanged; wasmtime validates the result (a module
** whose code uses memory.init or data.drop does not compile, and the caller keeps
** the full module). Returns ERYX_OK, or ERYX_ERR_PACKAGE with a message in err. */
eryx_status eryx__dylink_strip_data(const uint8_t *wasm, size_t len, uint8_t **out, size_t *out_len, eryx__errbuf *err);

/* Frees what eryx__dylink_read allocated and zeroes *d. */
void eryx__dylink_free(eryx__dylink *d);

/* ---- a module's link interface: what it imports and exports ---------------------------
** What a build-time check needs to know whether a side module links against an
** interpreter (src/link/linkcheck.h) without compiling it. Kinds are the binary
** format's (0 function, 1 table, 2 memory, 3 global, 4 tag). A function's
** signature is its value types as letters, parameters then '>' then results:
** i32 'i', i64 'I', f32 'f', f64 'F', v128 'v', funcref 'r', externref 'e'
** ("ii>i" takes two i32 and returns one). */
#define ERYX__WASM_MAX_SYMBOLS 1000000u /* imports or exports of one module */

typedef struct eryx__wasm_sym {
    char *module; /* imports: the import's module ("env", "GOT.mem"); NULL for exports */
    char *name;
    uint8_t kind;
    char *sig; /* functions: the signature; NULL otherwise */
} eryx__wasm_sym;

typedef struct eryx__wasm_iface {
    eryx__wasm_sym *imports; /* in the module's order */
    size_t n_imports;
    eryx__wasm_sym *exports; /* sorted by name (eryx__wasm_iface_export finds one) */
    size_t n_exports;
} eryx__wasm_iface;

/* Reads the type, import, function and export sections of the module (wasm, len)
** into *out (zeroed first). Returns ERYX_OK, or ERYX_ERR_PACKAGE with a one-line
** message in err naming the byte: not a wasm module, a malformed or truncated section, an index out of
** range, a value type this reader does not know, or over ERYX__WASM_MAX_SYMBOLS. */
eryx_status eryx__wasm_iface_read(const uint8_t *wasm, size_t len, eryx__wasm_iface *out, eryx__errbuf *err);

/* Sorts out->exports by name; for an interface filled by hand (the main module's,
** from the engine). */
void eryx__wasm_iface_sort(eryx__wasm_iface *out);

/* The export called name (len bytes) of the given kind, or NULL. */
const eryx__wasm_sym *eryx__wasm_iface_export(const eryx__wasm_iface *f, const char *name, size_t len, uint8_t kind);

/* Frees what the iface holds and zeroes it. */
void eryx__wasm_iface_free(eryx__wasm_iface *f);

#endif
