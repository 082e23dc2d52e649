/*
** `eryx-bench [options] bench --run FILE [--engine standard|epoch]`: FILE's code
** run once in a fresh sandbox of the options' configuration on the engine kind given,
** its stdout and stderr copied to eryx-bench's. For bench/engine_levers.py, which
** times CPU-bound guest code under each engine setting in a process of its own (the
** code times itself and prints its figures); standard is the engine without checks
** in the code (interrupts revoke memory), epoch the one with epoch checks, which
** only builds with the library's benchmark hooks can choose.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../sandbox/sandbox_internal.h"
#include "bench.h"
#include "corpus.h"

/* Points b at the kind named; 0, or -1 (said on stderr) for a kind this build lacks. */
static int choose_engine(eryx_builder *b, const char *engine) {
    (void)b; /* without the hooks the builder keeps the standard engine */
    if (!engine || !strcmp(engine, "standard")) {
#if ERYX__BENCH_HOOKS
        eryx__builder_set_engine(b, ERYX__TOOLS_ENGINE_STANDARD);
#endif
        return 0;
    }
    if (!strcmp(engine, "epoch")) {
#if ERYX__BENCH_HOOKS
        eryx__builder_set_engine(b, ERYX__TOOLS_ENGINE_EPOCH);
        return 0;
#else
        fprintf(stderr, "eryx: bench --engine epoch needs the library's benchmark hooks "
                        "(cmake -DERYX_BENCH_HOOKS=ON)\n");
        return -1;
#endif
    }
    fprintf(stderr, "eryx: bench --engine takes standard or epoch, not %s\n", engine);
    return -1;
}

int eryx__bench_run_file(eryx_builder *b, const char *path, const char *engine) {
    if (choose_engine(b, engine) != 0) return 2;
    size_t len = 0;
    char *code = eryx__corpus_read(path, &len);
    if (!code) {
        fprintf(stderr, "eryx: bench --run: cannot read %s\n", path);
        return 2;
    }
    eryx_sandbox *s = NULL;
    eryx_result *r = NULL;
    int status = 3;
    eryx_status st = eryx_sandbox_new(b, &s);
    if (st != ERYX_OK) {
        fprintf(stderr, "eryx: bench --run: creating the sandbox: %s: %s\n", eryx_status_message(st),
                eryx_builder_errmsg(b));
        goto out;
    }
    st = eryx_sandbox_execute(s, code, len, &r);
    if (r) {
        size_t n = 0;
        const char *out = eryx_result_stdout(r, &n);
        if (out) fwrite(out, 1, n, stdout);
        const char *err = eryx_result_stderr(r, &n);
        if (err) fwrite(err, 1, n, stderr);
    }
    if (st == ERYX_OK) status = 0;
    else fprintf(stderr, "eryx: bench --run %s: %s: %s\n", path, eryx_status_message(st), eryx_sandbox_errmsg(s));
out:
    fflush(stdout);
    eryx_result_free(r);
    eryx_sandbox_free(s);
    free(code);
    return status;
}
