/* libFuzzer target for the snapshot image rewriter (src/snapshot/wasm_image.c):
** each input is the wasm module, rewritten with a fixed 1-page memory that has a
** few non-zero bytes. Any input must be refused with a message or rewritten
** without a read outside it; a rewritten module must start with the wasm header
** and rewriting it again must give the same bytes (the rewrite is idempotent).
** Build and run: see fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/snapshot/wasm_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t mem[ERYX__WASM_PAGE];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!mem[5]) {
        mem[5] = 0x11;
        mem[4096 + 7] = 0x22;
        mem[sizeof mem - 1] = 0x33;
    }
    uint8_t *out = NULL, *again = NULL;
    size_t out_len = 0, again_len = 0;
    eryx__errbuf err;
    if (eryx__wasm_image_build(data, size, mem, sizeof mem, &out, &out_len, &err) != ERYX_OK) {
        if (!err.msg[0] || out || out_len) __builtin_trap(); /* a refusal always says why */
        return 0;
    }
    if (!out || out_len < 8 || memcmp(out, data, 8) != 0) __builtin_trap();
    if (eryx__wasm_image_build(out, out_len, mem, sizeof mem, &again, &again_len, &err) != ERYX_OK) __builtin_trap();
    if (again_len != out_len || memcmp(again, out, out_len) != 0) __builtin_trap();
    free(again);
    free(out);
    return 0;
}
