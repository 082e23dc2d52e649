/* corpus_run FILE: runs one snippet of the workload corpus (bench/corpus/) in a fresh
** sandbox of the default builder with the corpus's host callbacks registered
** (src/bench/corpus_callbacks.c), writing its stdout and stderr as the CLI would.
** For the NN_cb_* snippets in the e2e.corpus test (tests/corpus.sh): the CLI has no
** way to register host callbacks. Exit status: 0, 1 on an exception, 3 otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include "../src/bench/corpus.h"
#include "eryx.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: corpus_run SNIPPET.py\n");
        return 2;
    }
    size_t len = 0;
    char *code = eryx__corpus_read(argv[1], &len);
    if (!code) {
        fprintf(stderr, "corpus_run: cannot read %s\n", argv[1]);
        return 3;
    }
    eryx_builder *b = eryx_builder_new();
    eryx_sandbox *s = NULL;
    eryx_result *r = NULL;
    eryx_status st = b ? eryx__corpus_add_callbacks(b) : ERYX_ERR_NO_MEMORY;
    if (st == ERYX_OK) st = eryx_sandbox_new(b, &s);
    if (st == ERYX_OK) st = eryx_sandbox_execute(s, code, len, &r);
    if (r) {
        size_t n = 0;
        const char *out = eryx_result_stdout(r, &n);
        fwrite(out, 1, n, stdout);
        out = eryx_result_stderr(r, &n);
        fwrite(out, 1, n, stderr);
    }
    if (st != ERYX_OK)
        fprintf(stderr, "corpus_run: %s: %s\n", eryx_status_name(st),
                s   ? eryx_sandbox_errmsg(s)
                : b ? eryx_builder_errmsg(b)
                    : "out of memory");
    eryx_result_free(r);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    free(code);
    return st == ERYX_OK ? 0 : st == ERYX_ERR_PYTHON_EXCEPTION ? 1 : 3;
}
