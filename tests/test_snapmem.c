/* Unit test of src/snapshot/snapmem.c with a real engine and a tiny module: every
** instance armed with an image starts with exactly the image's bytes, whatever
** earlier instances wrote or grew (memories are reset and reused), and unarmed
** instances start with zeros. */
#include <stdlib.h>
#include <wasmtime.h>
#include "check.h"
#include "../src/snapshot/snapmem.h"

#define PAGES 8
#define SIZE ((size_t)PAGES << 16)

/* (module (memory (export "memory") 4)) */
static const uint8_t module_bytes[] = {0x00, 'a',  's',  'm',  0x01, 0x00, 0x00, 0x00, 0x05, 0x03, 0x01, 0x00, 0x04,
                                       0x07, 0x0a, 0x01, 0x06, 'm',  'e',  'm',  'o',  'r',  'y',  0x02, 0x00};

static wasmtime_store_t *instance(wasm_engine_t *engine, wasmtime_module_t *mod, const eryx__snapimg *img,
                                  wasmtime_memory_t *mem) {
    wasmtime_store_t *store = wasmtime_store_new(engine, NULL, NULL);
    wasmtime_context_t *cx = wasmtime_store_context(store);
    wasmtime_instance_t inst;
    wasm_trap_t *trap = NULL;
    eryx__snapmem_arm(img);
    wasmtime_error_t *e = wasmtime_instance_new(cx, mod, NULL, 0, &inst, &trap);
    eryx__snapmem_arm(NULL);
    CHECK(!e && !trap);
    wasmtime_extern_t ex;
    CHECK(wasmtime_instance_export_get(cx, &inst, "memory", 6, &ex) && ex.kind == WASMTIME_EXTERN_MEMORY);
    *mem = ex.of.memory;
    return store;
}

int main(void) {
    wasm_config_t *config = wasm_config_new();
    eryx__snapmem_install(config);
    wasmtime_config_memory_init_cow_set(config, false);
    wasm_engine_t *engine = wasm_engine_new_with_config(config);
    wasmtime_module_t *mod = NULL;
    CHECK(wasmtime_module_new(engine, module_bytes, sizeof module_bytes, &mod) == NULL);

    /* An image: a pattern on most pages, some zero chunks (holes in the memfd). */
    uint8_t *want = calloc(1, SIZE);
    for (size_t i = 0; i < SIZE; i++) want[i] = (i / 65536) % 3 == 1 ? 0 : (uint8_t)(i * 7 + i / 4096);
    eryx__errbuf err;
    CHECK(eryx__snapimg_new(want, 1000, &err) == NULL && err.msg[0]); /* not whole pages */
    eryx__snapimg *img = eryx__snapimg_new(want, SIZE, &err);
    CHECK(img != NULL && eryx__snapimg_size(img) == SIZE);
    const uint8_t *view = eryx__snapimg_view(img);
    CHECK(view && memcmp(view, want, SIZE) == 0);

    srand(7);
    for (int round = 0; round < 200; round++) {
        wasmtime_memory_t mem;
        wasmtime_store_t *store = instance(engine, mod, img, &mem);
        wasmtime_context_t *cx = wasmtime_store_context(store);
        CHECK(wasmtime_memory_data_size(cx, &mem) == SIZE); /* the image's size, above the module's 4 pages */
        uint8_t *p = wasmtime_memory_data(cx, &mem);
        if (memcmp(p, want, SIZE) != 0) {
            CHECK(!"an instance did not start with the image's bytes");
            break;
        }
        /* Write random pages (the first and last included), sometimes grow. */
        for (int k = 0; k < 40; k++) p[(size_t)rand() % SIZE] ^= 0x5a;
        p[0] ^= 1;
        p[SIZE - 1] ^= 1;
        if (round % 3 == 0) {
            uint64_t prev = 0;
            CHECK(wasmtime_memory_grow(cx, &mem, 2, &prev) == NULL && prev == PAGES);
            uint8_t *q = wasmtime_memory_data(cx, &mem);
            CHECK(q[SIZE] == 0 && q[SIZE + 65536 * 2 - 1] == 0); /* grown memory starts zeroed */
            memset(q + SIZE, 0xee, 65536 * 2);
        }
        wasmtime_store_delete(store); /* the memory goes back to the image's pool, reset */
    }

    /* Unarmed: a plain zeroed memory of the module's size. */
    wasmtime_memory_t mem;
    wasmtime_store_t *store = instance(engine, mod, NULL, &mem);
    wasmtime_context_t *cx = wasmtime_store_context(store);
    CHECK(wasmtime_memory_data_size(cx, &mem) == 4 * 65536);
    uint8_t *p = wasmtime_memory_data(cx, &mem);
    size_t nonzero = 0;
    for (size_t i = 0; i < 4 * 65536; i++) nonzero += p[i] != 0;
    CHECK(nonzero == 0);
    wasmtime_store_delete(store);

    /* Two live instances of one image do not see each other's writes. */
    wasmtime_memory_t m1, m2;
    wasmtime_store_t *s1 = instance(engine, mod, img, &m1), *s2 = instance(engine, mod, img, &m2);
    uint8_t *p1 = wasmtime_memory_data(wasmtime_store_context(s1), &m1);
    uint8_t *p2 = wasmtime_memory_data(wasmtime_store_context(s2), &m2);
    CHECK(p1 != p2);
    p1[12345] ^= 0xff;
    CHECK(p2[12345] == want[12345]);
    wasmtime_store_delete(s1);
    wasmtime_store_delete(s2);

    eryx__snapimg_release(img); /* frees the pooled memories */
    wasmtime_module_delete(mod);
    wasm_engine_delete(engine);
    free(want);
    return check_report("test_snapmem");
}
