/*
** The build-time link check: do a package's side modules link against this
** interpreter? Run when a sandbox is built (before any import), from the modules'
** link interfaces (dylink.h) and the main module's exports, without compiling or
** instantiating anything. It answers with the loader's own rules (loader.c):
** `env` functions come from the interpreter, or else from another side module,
** with the same signature; `GOT.func` / `GOT.mem` entries name a function / a data
** symbol some module exports (the side module itself included); the memory, the
** table, the stack pointer, `__memory_base` and `__table_base` are the loader's.
** An extension built against another interpreter build fails here with the
** symbol it needs, instead of at its import.
*/
#ifndef ERYX_LINKCHECK_H
#define ERYX_LINKCHECK_H
#include <stddef.h>
#include "dylink.h"

typedef struct eryx__link_side {
    const char *path; /* for messages: where the module comes from */
    const eryx__wasm_iface *iface;
} eryx__link_side;

/* Checks every import of the n side modules against the main module's exports
** (main, sorted) and the side modules' own exports. Returns ERYX_OK, or
** ERYX_ERR_PACKAGE with a message in err (may be NULL) naming the first module and
** symbol that would not link, and why. */
eryx_status eryx__link_check(const eryx__wasm_iface *main, const eryx__link_side *sides, size_t n, eryx__errbuf *err);

#endif
