/*
** bench/interrupt_mprotect.c: can a guest be interrupted without epoch checks?
** (docs/CPU-PROFILE.md, "Interrupting without epoch checks"). Only wasmtime, no
** eryx: a module whose one function loops forever incrementing a word of its
** linear memory, compiled with and without epoch interruption. Measured:
**   1. the loop's speed with and without the checks (iterations per second), and
**   2. without them, whether revoking the memory's access from another thread
**      (mprotect PROT_NONE) stops the loop as a clean trap (not a crash of the
**      process), which trap code wasmtime reports, and how long after the
**      mprotect the call returns (p50/p99 over N runs).
** An experiment for the next lever: host calls, memory growth and eryx's memory
** creator are not part of it. Built by CMake (target bench_interrupt_mprotect,
** only wasmtime); run build/bench/interrupt_mprotect [RUNS].
*/
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <wasmtime.h>
#include "bench_time.h"

/* (module (memory (export "m") 1)
**   (func (export "run") (loop (i32.store (i32.const 0)
**     (i32.add (i32.load (i32.const 0)) (i32.const 1))) (br 0)))) */
static const unsigned char MODULE[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,                              /* magic, version */
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00,                                          /* type: () -> () */
    0x03, 0x02, 0x01, 0x00,                                                      /* function: type 0 */
    0x05, 0x03, 0x01, 0x00, 0x01,                                                /* memory: min 1 page */
    0x07, 0x0b, 0x02, 0x01, 'm',  0x02, 0x00, 0x03, 'r',  'u',  'n', 0x00, 0x00, /* exports */
    0x0a, 0x16, 0x01, 0x14, 0x00,                                                /* code: 1 body, 20 bytes, no locals */
    0x03, 0x40,                                                                  /* loop */
    0x41, 0x00, 0x41, 0x00, 0x28, 0x02, 0x00, 0x41, 0x01, 0x6a,                  /* i32.const 0; load; +1 */
    0x36, 0x02, 0x00,                                                            /* i32.store */
    0x0c, 0x00, 0x0b, 0x0b,                                                      /* br 0; end; end */
};

static void die(const char *what, wasmtime_error_t *e) {
    wasm_byte_vec_t m = {0, NULL};
    if (e) wasmtime_error_message(e, &m);
    fprintf(stderr, "interrupt_mprotect: %s: %.*s\n", what, (int)m.size, m.data ? m.data : "");
    exit(1);
}

typedef struct run {
    wasm_engine_t *engine;
    wasmtime_module_t *module;
    wasmtime_store_t *store;
    wasmtime_context_t *cx;
    wasmtime_func_t run;
    uint8_t *mem;
    size_t mem_size;
} run;

static void setup(run *r, bool epoch) {
    wasm_config_t *c = wasm_config_new();
    wasmtime_config_epoch_interruption_set(c, epoch);
    r->engine = wasm_engine_new_with_config(c);
    wasmtime_error_t *e = wasmtime_module_new(r->engine, MODULE, sizeof MODULE, &r->module);
    if (e) die("compile", e);
    r->store = wasmtime_store_new(r->engine, NULL, NULL);
    r->cx = wasmtime_store_context(r->store);
    if (epoch) wasmtime_context_set_epoch_deadline(r->cx, 1);
    wasmtime_instance_t inst;
    wasm_trap_t *trap = NULL;
    e = wasmtime_instance_new(r->cx, r->module, NULL, 0, &inst, &trap);
    if (e || trap) die("instantiate", e);
    wasmtime_extern_t ex;
    if (!wasmtime_instance_export_get(r->cx, &inst, "run", 3, &ex)) die("no export run", NULL);
    r->run = ex.of.func;
    if (!wasmtime_instance_export_get(r->cx, &inst, "m", 1, &ex)) die("no export m", NULL);
    r->mem = wasmtime_memory_data(r->cx, &ex.of.memory);
    r->mem_size = wasmtime_memory_data_size(r->cx, &ex.of.memory);
}
static void teardown(run *r) {
    wasmtime_store_delete(r->store);
    wasmtime_module_delete(r->module);
    wasm_engine_delete(r->engine);
}

typedef struct stopper {
    run *r;
    bool epoch;
    double delay_s, stopped_at;
} stopper;

static void *stop_later(void *arg) {
    stopper *s = arg;
    usleep((useconds_t)(s->delay_s * 1e6));
    s->stopped_at = now_ms() / 1e3;
    if (s->epoch) wasmtime_engine_increment_epoch(s->r->engine);
    else if (mprotect(s->r->mem, s->r->mem_size, PROT_NONE) != 0) perror("mprotect");
    return NULL;
}

/* One call of run() stopped after delay_s; returns the trap code (or -1) and sets
** the iterations done and the seconds from the stop to the call's return. */
static int one(bool epoch, double delay_s, uint32_t *iters, double *latency_s) {
    run r;
    setup(&r, epoch);
    stopper s = {&r, epoch, delay_s, 0};
    pthread_t t;
    pthread_create(&t, NULL, stop_later, &s);
    wasm_trap_t *trap = NULL;
    wasmtime_error_t *e = wasmtime_func_call(r.cx, &r.run, NULL, 0, NULL, 0, &trap);
    double back = now_ms() / 1e3;
    pthread_join(t, NULL);
    int code = -1;
    wasmtime_trap_code_t tc;
    if (trap && wasmtime_trap_code(trap, &tc)) code = tc;
    if (trap) wasm_trap_delete(trap);
    if (e) wasmtime_error_delete(e);
    if (!epoch) mprotect(r.mem, r.mem_size, PROT_READ | PROT_WRITE); /* to read the counter */
    memcpy(iters, r.mem, sizeof *iters);
    *latency_s = back - s.stopped_at;
    teardown(&r);
    return code;
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 50;
    if (runs < 1) runs = 1;
    for (int epoch = 1; epoch >= 0; epoch--) {
        double *lat = calloc((size_t)runs, sizeof *lat), rate_sum = 0;
        int traps = 0, code = -1;
        for (int i = 0; i < runs; i++) {
            uint32_t iters;
            int c = one(epoch, 0.05, &iters, &lat[i]);
            traps += c >= 0;
            code = c;
            rate_sum += iters / 0.05;
        }
        qsort(lat, (size_t)runs, sizeof *lat, cmp_double);
        printf("%-22s runs %d, trapped %d (last trap code %d: %s), loop %.0f M iterations/s, "
               "stop-to-return p50 %.1f us p99 %.1f us\n",
               epoch ? "epoch checks" : "mprotect, no checks", runs, traps, code,
               code == WASMTIME_TRAP_CODE_INTERRUPT              ? "interrupt"
               : code == WASMTIME_TRAP_CODE_MEMORY_OUT_OF_BOUNDS ? "memory out of bounds"
                                                                 : "other",
               rate_sum / runs / 1e6, lat[runs / 2] * 1e6, lat[(runs * 99) / 100] * 1e6);
        free(lat);
    }
    return 0;
}
