/*
** What eryx's own tools need beyond eryx.h that is not a sandbox's (declared in
** sandbox_internal.h): the guest module through the cache tiers alone, which
** eryx-bench times, and the private pages of a sandbox's memory, which the tests
** and eryx-bench count. Nothing in the library calls it; being its own object file, it
** is linked only into the programs that do. Must not hold state.
*/
#include <stdio.h>
#include "../engine/engine.h"
#include "../cache/tiers.h"
#include "../snapshot/snapmem.h"
#include "sandbox.h"
#include "sandbox_internal.h"

#ifdef ERYX_BENCH_HOOKS
_Static_assert(ERYX__TOOLS_ENGINE_STANDARD == (int)ERYX__ENGINE_STANDARD &&
                   ERYX__TOOLS_ENGINE_EPOCH == (int)ERYX__ENGINE_EPOCH,
               "sandbox_internal.h's engine kinds must be engine.h's");
#endif

eryx_status eryx__tools_guest_sha256(const char *guest_dir, char hex[65]) {
    eryx__errbuf err;
    eryx__errbuf_clear(&err);
    return eryx__guest_sha256(guest_dir, hex, &err);
}

eryx_status eryx__tools_guest_load(const char *wasm_path, const char *sha256, eryx_cache *memory, const char *cache_dir,
                                   uint64_t max_bytes) {
    eryx__errbuf err;
    eryx__errbuf_clear(&err);
    eryx__cache_config cc = {
        .engine = eryx__engine_default(), .memory = memory, .dir = cache_dir, .max_bytes = max_bytes};
    eryx__guest *g = NULL;
    eryx_status st = eryx__guest_acquire(wasm_path, sha256, &cc, &g, NULL, &err);
    eryx__guest_release(g);
    return st;
}

long eryx__sandbox_private_pages(const eryx_sandbox *s) {
    if (!s || !s->cx || !s->host.has_memory) return -1;
    wasmtime_memory_t mem = s->host.memory;
    return eryx__snapmem_private_pages(wasmtime_memory_data(s->cx, &mem), wasmtime_memory_data_size(s->cx, &mem));
}

unsigned eryx__tools_trim_delay_ms(void) { return ERYX__SNAPMEM_TRIM_DELAY_MS; }
