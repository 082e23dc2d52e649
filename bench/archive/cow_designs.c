/*
** bench/archive/cow_designs.c: measures the two copy-on-write designs for restoring a
** snapshot (docs/SNAPSHOT.md), on a synthetic 20 MiB memory of which half the
** pages are non-zero, without Python, so only the mechanism is timed:
**   A. a module whose data segments are the snapshot: wasmtime builds its
**      copy-on-write image at compile time and maps it at instantiation;
**   B. a module without data segments plus a snapshot file that a custom memory
**      creator maps (MAP_PRIVATE) as the instance's memory.
** For each: the cost to make a snapshot for a new configuration (A: compile; B:
** write the file) and instantiate + touch 64 pages + drop, p50/p99 over N runs.
** Settled: bench/archive/README.md. Built by CMake (target bench_cow_designs; it
** links only wasmtime); run with bench/archive/cow_designs.sh [RUNS].
*/
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <wasmtime.h>

#define PAGES 320 /* 20 MiB */
#define MEM ((size_t)PAGES << 16)

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}
static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static void die(const char *what, wasmtime_error_t *e) {
    wasm_byte_vec_t m = {0, NULL};
    if (e) wasmtime_error_message(e, &m);
    fprintf(stderr, "cow_designs: %s: %.*s\n", what, (int)m.size, m.data ? m.data : "");
    exit(1);
}

/* wasm: (memory (export "memory") PAGES) (func (export "touch") ...) + optional data */
static void put_leb(unsigned char **p, size_t v) {
    do {
        unsigned char b = v & 0x7f;
        v >>= 7;
        *(*p)++ = b | (v ? 0x80 : 0);
    } while (v);
}
static unsigned char *module_bytes(const unsigned char *mem, size_t *len) {
    size_t cap = (mem ? MEM : 0) + 4096;
    unsigned char *w = malloc(cap), *p = w;
    static const unsigned char head[] = {0, 'a', 's', 'm', 1, 0, 0, 0};
    memcpy(p, head, 8), p += 8;
    *p++ = 5, *p++ = 4, *p++ = 1, *p++ = 0, *p++ = 0xc0, *p++ = 0x02; /* memory: 1 entry, min 320 */
    static const unsigned char exp[] = {7, 10, 1, 6, 'm', 'e', 'm', 'o', 'r', 'y', 2, 0};
    memcpy(p, exp, sizeof exp), p += sizeof exp;
    if (mem) { /* one active segment per run of non-zero 64 KiB chunks */
        unsigned char *sec = p;
        *p++ = 11;
        unsigned char *size_at = p;
        p += 5;
        unsigned char *body = p;
        size_t nseg = 0;
        for (size_t c = 0; c < PAGES; c++)
            if (mem[c << 16]) nseg++;
        put_leb(&p, nseg);
        for (size_t c = 0; c < PAGES; c++) {
            if (!mem[c << 16]) continue;
            *p++ = 0, *p++ = 0x41;
            size_t off = c << 16; /* i32.const, signed LEB */
            do {
                unsigned char b = off & 0x7f;
                off >>= 7;
                int more = off || (b & 0x40);
                *p++ = b | (more ? 0x80 : 0);
            } while (p[-1] & 0x80);
            *p++ = 0x0b;
            put_leb(&p, 1 << 16);
            memcpy(p, mem + (c << 16), 1 << 16), p += 1 << 16;
        }
        size_t n = (size_t)(p - body);
        for (int i = 0; i < 5; i++) size_at[i] = (unsigned char)(((n >> (7 * i)) & 0x7f) | (i < 4 ? 0x80 : 0));
        (void)sec;
    }
    *len = (size_t)(p - w);
    return w;
}

/* Design B's memory creator: the snapshot file mapped privately at the start of a
** reservation of reserved + guard bytes. */
static int snap_fd = -1;
typedef struct {
    unsigned char *base;
    size_t size, reserved, guard;
} lm;
static uint8_t *lm_get(void *env, size_t *size, size_t *cap) {
    lm *m = env;
    *size = m->size, *cap = m->reserved;
    return m->base;
}
static wasmtime_error_t *lm_grow(void *env, size_t new_size) {
    lm *m = env;
    if (new_size > m->reserved || mprotect(m->base, new_size, PROT_READ | PROT_WRITE))
        return wasmtime_error_new("grow");
    m->size = new_size;
    return NULL;
}
static void lm_free(void *env) {
    lm *m = env;
    munmap(m->base, m->reserved + m->guard);
    free(m);
}
static wasmtime_error_t *new_memory(void *env, const wasm_memorytype_t *ty, size_t minimum, size_t maximum,
                                    size_t reserved, size_t guard, wasmtime_linear_memory_t *out) {
    (void)env, (void)ty, (void)maximum;
    if (reserved < minimum) reserved = (size_t)4 << 30;
    lm *m = calloc(1, sizeof *m);
    m->reserved = reserved;
    m->guard = guard;
    m->base = mmap(NULL, reserved + guard, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m->base == MAP_FAILED) return wasmtime_error_new("mmap");
    if (mmap(m->base, MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, snap_fd, 0) == MAP_FAILED)
        return wasmtime_error_new("mmap snapshot");
    m->size = minimum;
    *out = (wasmtime_linear_memory_t){m, lm_get, lm_grow, lm_free};
    return NULL;
}

static void time_instances(const char *name, wasm_engine_t *engine, wasmtime_module_t *mod, int runs,
                           const unsigned char *expect) {
    double *t = malloc(runs * sizeof *t);
    for (int i = 0; i < runs; i++) {
        double t0 = now_us();
        wasmtime_store_t *st = wasmtime_store_new(engine, NULL, NULL);
        wasmtime_context_t *cx = wasmtime_store_context(st);
        wasmtime_instance_t inst;
        wasm_trap_t *trap = NULL;
        wasmtime_error_t *e = wasmtime_instance_new(cx, mod, NULL, 0, &inst, &trap);
        if (e || trap) die("instantiate", e);
        wasmtime_extern_t ex;
        wasmtime_instance_export_get(cx, &inst, "memory", 6, &ex);
        uint8_t *m = wasmtime_memory_data(cx, &ex.of.memory);
        if (i == 0 && memcmp(m, expect, MEM)) die("memory differs from the snapshot", NULL);
        for (int k = 0; k < 64; k++) m[(size_t)k * 77 * 4096 % MEM] ^= 1; /* write 64 scattered pages */
        wasmtime_store_delete(st);
        t[i] = now_us() - t0;
    }
    qsort(t, runs, sizeof *t, cmp);
    printf("| %s | %.1f | %.1f |\n", name, t[runs / 2], t[runs * 99 / 100]);
    free(t);
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 1000;
    unsigned char *mem = calloc(1, MEM);
    for (size_t c = 0; c < PAGES; c += 2) memset(mem + (c << 16), (int)(c % 251) + 1, 1 << 16);

    wasm_engine_t *ea = wasm_engine_new();
    size_t la, lb;
    unsigned char *wa = module_bytes(mem, &la), *wb = module_bytes(NULL, &lb);
    wasmtime_module_t *ma, *mb;
    double t0 = now_us();
    wasmtime_error_t *e = wasmtime_module_new(ea, wa, la, &ma);
    if (e) die("compile A", e);
    double compile_a = now_us() - t0;

    wasm_config_t *cfg = wasm_config_new();
    wasmtime_memory_creator_t mc = {NULL, new_memory, NULL};
    wasmtime_config_host_memory_creator_set(cfg, &mc);
    wasm_engine_t *eb = wasm_engine_new_with_config(cfg);
    if ((e = wasmtime_module_new(eb, wb, lb, &mb))) die("compile B", e);
    char path[] = "/tmp/eryx-cow-XXXXXX";
    t0 = now_us();
    snap_fd = mkstemp(path);
    for (size_t c = 0; c < PAGES; c++) /* a sparse file: zero chunks stay holes */
        if (mem[c << 16] && pwrite(snap_fd, mem + (c << 16), 1 << 16, (off_t)(c << 16)) != 1 << 16) die("write", NULL);
    if (ftruncate(snap_fd, (off_t)MEM) || fsync(snap_fd)) die("ftruncate", NULL);
    double write_b = now_us() - t0;
    unlink(path);

    printf("| design | new configuration (us) | |\n|---|---|---|\n");
    printf("| A: snapshot as data segments (compile) | %.0f | |\n", compile_a);
    printf("| B: snapshot file for a memory creator (write + fsync) | %.0f | |\n\n", write_b);
    printf("| design | instantiate + write 64 pages + drop p50 (us) | p99 (us) |\n|---|---|---|\n");
    time_instances("A: wasmtime copy-on-write image", ea, ma, runs, mem);
    time_instances("B: custom memory creator, file mapped MAP_PRIVATE", eb, mb, runs, mem);
    wasmtime_module_delete(ma);
    wasmtime_module_delete(mb);
    wasm_engine_delete(ea);
    wasm_engine_delete(eb);
    close(snap_fd);
    free(wa);
    free(wb);
    free(mem);
    return 0;
}
