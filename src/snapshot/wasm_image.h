/*
** Snapshot images: a copy of the guest module whose linear memory *starts* as a
** snapshot of a started guest (as Wizer does). The snapshot becomes the module's
** data segments, so wasmtime builds its copy-on-write memory image from it and a
** new instance maps the started state instead of copying pages into a fresh
** memory. The module's _initialize export is dropped: the snapshot already ran it.
*/
#ifndef ERYX_WASM_IMAGE_H
#define ERYX_WASM_IMAGE_H
#include <stddef.h>
#include <stdint.h>
#include "../common/errbuf.h"

#define ERYX__WASM_PAGE 65536u /* a wasm memory page */

/* Builds a copy of the wasm module (wasm, wasm_len) whose linear memory starts as
** mem (mem_len bytes, a multiple of 65536). The module must define exactly one
** plain memory (not imported, shared or 64-bit), have no start function and no
** passive data segments. Its memory minimum becomes mem_len / 65536 pages (the
** maximum is kept), its data segments are replaced by the non-zero parts of mem
** and its export _initialize is removed; every other section is copied unchanged.
** Returns ERYX_OK with a malloc'd *out of *out_len bytes (the caller frees it), or
** ERYX_ERR_ENGINE with a one-line message in err (may be NULL). The input is not
** trusted: any byte string gets either a result or a message.
** With mem NULL and mem_len 0, the module comes out "bare": no data segments and
** no _initialize, its memory limits unchanged; its instances get their memory
** from a snapshot image (snapmem.h) instead. */
eryx_status eryx__wasm_image_build(const uint8_t *wasm, size_t wasm_len, const uint8_t *mem, size_t mem_len,
                                   uint8_t **out, size_t *out_len, eryx__errbuf *err);

#endif
