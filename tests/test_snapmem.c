/* Unit test of src/snapshot/snapmem.c with a real engine and a tiny module: every
** instance armed with an image starts with exactly the image's bytes, whatever
** earlier instances wrote or grew (memories are reset and reused), and unarmed
** instances start with zeros; a reset keeps private only its hot set (the pages of
** the last light reset) and gives every other written page back, and a parked
** memory gives back the private pages holding the image's bytes (both checked in
** the kernel's page map). */
#define _GNU_SOURCE /* pread's off_t in the page map */
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
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

/* The private pages (written copies, not the image's page-cache pages) among
** npages pages at p, from /proc/self/pagemap: private[i] is 1 or 0; -1 if unreadable. */
static int private_map(const uint8_t *p, size_t npages, uint8_t *private) {
    int fd = open("/proc/self/pagemap", O_RDONLY);
    if (fd < 0) return -1;
    int rc = 0;
    for (size_t i = 0; i < npages && rc == 0; i++) {
        uint64_t e = 0;
        if (pread(fd, &e, sizeof e, (off_t)(((uintptr_t)p / 4096 + i) * sizeof e)) != (ssize_t)sizeof e) rc = -1;
        private[i] = ((e >> 63) & 1 && !((e >> 61) & 1)) || ((e >> 62) & 1);
    }
    close(fd);
    return rc;
}

#define HOT_PAGES 512 /* the images of test_hot_set and test_trim, in 4 KiB pages */

/* Checks that exactly the pages in want[] (HOT_PAGES flags) are private at p. */
static void expect_private(const uint8_t *p, const uint8_t *want, const char *when) {
    uint8_t got[HOT_PAGES];
    CHECK(private_map(p, HOT_PAGES, got) == 0);
    size_t extra = 0, missing = 0;
    for (size_t i = 0; i < HOT_PAGES; i++) extra += got[i] && !want[i], missing += want[i] && !got[i];
    CHECKF(extra == 0 && missing == 0, "%s: %zu written pages beyond the kept set are private, %zu kept ones are not",
           when, extra, missing);
}

/* What a reset keeps, life after life of one memory (the pages each life writes,
** and those its reset must leave private). A light life (few pages written: 14 or
** 16, against a bound of at least 256) keeps all it wrote, its hot set; after a
** heavy one (~400 pages more) only the hot pages stay, unless the
** life before was heavy and wrote the same pages too (a repeated heavy execute:
** kept, then, while written). Bytes exact throughout. */
static void test_hot_set(wasm_engine_t *engine, wasmtime_module_t *mod) {
    const size_t size = (size_t)HOT_PAGES * 4096;
    uint8_t *want = malloc(size), hot[HOT_PAGES] = {0}, heavy[HOT_PAGES] = {0}, more[HOT_PAGES] = {0};
    for (size_t i = 0; i < size; i++) want[i] = (uint8_t)(i * 13 + i / 4096 + 1);
    eryx__errbuf err;
    eryx__snapimg *img = eryx__snapimg_new(want, size, &err);
    CHECK(img != NULL);
    for (size_t i = 0; i < HOT_PAGES; i++) {
        hot[i] = more[i] = i % 37 == 3; /* 14 pages */
        heavy[i] = hot[i] || (i % 5 && i != 10 && i != 11);
    }
    more[10] = more[11] = 1;
    static const struct {
        const char *writes, *what; /* H: hot pages, C: ~400 more, N: pages 10 and 11 */
        int keep;                  /* 0: hot, 1: hot and C, 2: hot and N */
    } lives[] = {
        {"H", "a light life (a new memory's first)", 0}, {"HC", "a heavy life", 0},
        {"HC", "a heavy life after the same one", 1},    {"HC", "a third heavy life", 1},
        {"H", "a light life after heavy ones", 0},       {"HN", "a light life with two more pages", 2},
    };
    const size_t n = sizeof lives / sizeof lives[0];
    wasmtime_memory_t mem;
    uint8_t *first = NULL;
    for (size_t life = 0; life <= n; life++) {
        wasmtime_store_t *store = instance(engine, mod, img, &mem);
        uint8_t *p = wasmtime_memory_data(wasmtime_store_context(store), &mem);
        if (!first) first = p;
        CHECKF(p == first, "life %zu got another memory: the reset memory was not reused", life);
        CHECKF(memcmp(p, want, size) == 0, "life %zu did not start with the image's bytes", life);
        if (life > 0) {
            int k = lives[life - 1].keep;
            expect_private(p, k == 0 ? hot : k == 1 ? heavy : more, lives[life - 1].what);
        }
        for (size_t i = 0; life < n && i < HOT_PAGES; i++) {
            const char *w = lives[life].writes;
            if (strchr(w, 'H') && hot[i]) p[i * 4096 + 100] ^= 0x33;
            if (strchr(w, 'C') && heavy[i] && !hot[i]) p[i * 4096 + 7] ^= 0x44;
            if (strchr(w, 'N') && more[i] && !hot[i]) p[i * 4096 + 4095] ^= 1;
        }
        wasmtime_store_delete(store);
    }
    eryx__snapimg_release(img);
    free(want);
}

/* A parked memory: after the trim delay, its private pages that hold the image's
** bytes go back and the written ones stay; unparked, it runs on with its bytes
** intact, and dropping its store while parked is safe. */
static void test_trim(wasm_engine_t *engine, wasmtime_module_t *mod) {
    const size_t size = (size_t)HOT_PAGES * 4096;
    uint8_t *want = malloc(size), keep[HOT_PAGES] = {0};
    for (size_t i = 0; i < size; i++) want[i] = (uint8_t)(i * 31 + i / 4096 + 3);
    eryx__errbuf err;
    eryx__snapimg *img = eryx__snapimg_new(want, size, &err);
    CHECK(img != NULL);
    eryx__snapmem_set_trim_delay_ms(0);
    wasmtime_memory_t mem;
    wasmtime_store_t *store = instance(engine, mod, img, &mem);
    eryx__snapmem_mem *m = eryx__snapmem_last();
    CHECK(m != NULL && eryx__snapmem_last() == NULL); /* consumed */
    uint8_t *p = wasmtime_memory_data(wasmtime_store_context(store), &mem);
    for (size_t i = 0; i < HOT_PAGES; i += 3) p[i * 4096 + 9] ^= 0x10; /* written, then put back */
    for (size_t i = 0; i < HOT_PAGES; i += 3) p[i * 4096 + 9] ^= 0x10;
    for (size_t i = 1; i < HOT_PAGES; i += 10) p[i * 4096 + 9] ^= 0x20, keep[i] = 1; /* written */
    eryx__snapmem_park(m);
    uint8_t got[HOT_PAGES];
    size_t private = 0;
    for (int tries = 0; tries < 200; tries++) { /* the trimmer runs within ~ms; up to 2 s */
        CHECK(private_map(p, HOT_PAGES, got) == 0);
        private = 0;
        for (size_t i = 0; i < HOT_PAGES; i++) private += got[i];
        if (private == (HOT_PAGES + 8) / 10) break;
        nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
    }
    eryx__snapmem_unpark(m);
    expect_private(p, keep, "after a trim");
    int intact = 1;
    for (size_t i = 0; i < size; i++)
        intact &= p[i] == (uint8_t)(want[i] ^ (keep[i / 4096] && i % 4096 == 9 ? 0x20 : 0));
    CHECKF(intact, "a trim changed the memory's bytes (%zu private pages)", private);
    p[5 * 4096] ^= 1; /* in use again */
    eryx__snapmem_park(m);
    wasmtime_store_delete(store); /* parked: the drop unparks it */
    store = instance(engine, mod, img, &mem);
    p = wasmtime_memory_data(wasmtime_store_context(store), &mem);
    CHECK(memcmp(p, want, size) == 0);
    wasmtime_store_delete(store);
    eryx__snapmem_set_trim_delay_ms(ERYX__SNAPMEM_TRIM_DELAY_MS);
    eryx__snapimg_release(img);
    free(want);
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
    CHECK(err.status == ERYX_ERR_INVALID_ARGUMENT);                   /* the kind travels with the message */
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
        if (round % 5 == 4) /* a heavy one: more pages written than a reset keeps */
            for (int k = 0; k < 100; k++) p[(size_t)rand() % SIZE] ^= 0xa5;
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
    test_hot_set(engine, mod);
    test_trim(engine, mod);
    wasmtime_module_delete(mod);
    wasm_engine_delete(engine);
    free(want);
    return check_report("test_snapmem");
}
