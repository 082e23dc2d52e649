/*
** eryx-bench's corpus figures (issue 16, "Benchmarks on real workloads"): every
** snippet of bench/corpus/ run in a fresh sandbox of the builder's configuration,
** the sandbox made, the snippet executed and the sandbox freed inside the timed
** region (what bench/corpus.py times through the Python module). Each snippet runs
** once untimed first and its stdout is checked against expected/NAME.out; one that
** fails or differs is left out (counted in corpus_snippets_failed). The callback
** snippets (NN_cb_*.py) run after the others, with the corpus's callbacks added to
** the builder (so this part comes last). Snippet 00 is issue 16's "10-line snippet".
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"
#include "corpus.h"

/* The p-th percentile (0-100) of n sorted samples, nearest rank (as sandboxes.c's), in us. */
static double nearest_rank_us(const uint64_t *sorted, size_t n, double p) {
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return sorted[rank - 1] / 1e3;
}

/* The expected output, trailing newlines aside (the Python API trims them). */
static int same_output(const char *got, size_t got_len, const char *want, size_t want_len) {
    while (got_len && got[got_len - 1] == '\n') got_len--;
    while (want_len && want[want_len - 1] == '\n') want_len--;
    return got_len == want_len && !memcmp(got, want, got_len);
}

/* One fresh sandbox: create, execute, free. Elapsed ns in *ns; the stdout checked
** when want is not NULL. 0, or -1 (reported on stderr). */
static int fresh_run(eryx_builder *b, const char *name, const char *code, size_t len, const char *want, size_t want_len,
                     uint64_t *ns) {
    eryx_sandbox *s = NULL;
    eryx_result *r = NULL;
    uint64_t t0 = eryx__bench_now_ns();
    eryx_status st = eryx_sandbox_new(b, &s);
    if (st == ERYX_OK) st = eryx_sandbox_execute(s, code, len, &r);
    int differs = 0;
    if (st == ERYX_OK && want) {
        size_t n = 0;
        const char *out = eryx_result_stdout(r, &n);
        differs = !same_output(out, n, want, want_len);
    }
    if (st != ERYX_OK)
        fprintf(stderr, "eryx bench: corpus %s: %s: %s\n%s", name, eryx_status_name(st),
                s ? eryx_sandbox_errmsg(s) : eryx_builder_errmsg(b), r ? eryx_result_stderr(r, NULL) : "");
    else if (differs) fprintf(stderr, "eryx bench: corpus %s: stdout differs from expected/\n", name);
    eryx_result_free(r);
    eryx_sandbox_free(s);
    *ns = eryx__bench_now_ns() - t0;
    return st == ERYX_OK && !differs ? 0 : -1;
}

/* Times the snippets of one kind (with callbacks or without) into all[] (*nall so
** far) and their p50s into p50s[] (*np); the snippet 00 stats into c. */
static void run_kind(eryx_builder *b, const char *dir, char **names, size_t n, int callbacks, size_t runs,
                     uint64_t *all, size_t *nall, double *p50s, size_t *np, eryx__bench_corpus_result *c) {
    uint64_t *t = malloc(runs * sizeof *t);
    char path[4096];
    for (size_t i = 0; t && i < n; i++) {
        if (eryx__corpus_uses_callbacks(names[i]) != callbacks) continue;
        size_t len = 0, want_len = 0;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        char *code = eryx__corpus_read(path, &len);
        snprintf(path, sizeof path, "%s/expected/%.*s.out", dir, (int)(strlen(names[i]) - 3), names[i]);
        char *want = eryx__corpus_read(path, &want_len);
        int ok = code && want;
        if (!ok) fprintf(stderr, "eryx bench: corpus %s: cannot read it or its expected output\n", names[i]);
        uint64_t ns;
        if (ok) ok = fresh_run(b, names[i], code, len, want, want_len, &ns) == 0; /* the check, untimed */
        for (size_t k = 0; ok && k < runs; k++) ok = fresh_run(b, names[i], code, len, NULL, 0, &t[k]) == 0;
        free(code);
        free(want);
        if (!ok) {
            c->failed++;
            continue;
        }
        memcpy(all + *nall, t, runs * sizeof *t);
        *nall += runs;
        eryx__bench_stats st = eryx__bench_summarize(t, runs); /* sorts t */
        p50s[(*np)++] = st.p50;
        c->snippets++;
        if (!strncmp(names[i], "00_", 3)) {
            c->s10_p50 = st.p50;
            c->s10_p90 = nearest_rank_us(t, runs, 90);
        }
    }
    free(t);
}

int eryx__bench_corpus(eryx_builder *b, const char *dir, int runs, eryx__bench_corpus_result *c) {
    memset(c, 0, sizeof *c);
    c->p50 = c->p90 = c->geomean = c->s10_p50 = c->s10_p90 = -1;
    c->runs = (size_t)(runs / 50);
    if (c->runs < 3) c->runs = 3;
    if (c->runs > ERYX__BENCH_CORPUS_MAX_RUNS) c->runs = ERYX__BENCH_CORPUS_MAX_RUNS;
    char **names = NULL;
    size_t n = 0;
    if (!dir || eryx__corpus_list(dir, &names, &n) != 0 || n == 0) {
        eryx__corpus_free_names(names, n);
        return 0; /* no corpus: the figures stay null */
    }
    c->found = 1;
    uint64_t t0 = eryx__bench_now_ns();
    uint64_t *all = malloc(n * c->runs * sizeof *all);
    double *p50s = malloc(n * sizeof *p50s);
    size_t nall = 0, np = 0;
    int rc = -1;
    if (!all || !p50s) {
        fprintf(stderr, "eryx bench: corpus: out of memory\n");
        goto out;
    }
    run_kind(b, dir, names, n, 0, c->runs, all, &nall, p50s, &np, c);
    eryx_status st = eryx__corpus_add_callbacks(b);
    if (st != ERYX_OK) {
        eryx__bench_fail(b, "adding the corpus's callbacks", st);
        goto out;
    }
    run_kind(b, dir, names, n, 1, c->runs, all, &nall, p50s, &np, c);
    if (nall) {
        eryx__bench_stats s = eryx__bench_summarize(all, nall); /* sorts all */
        c->p50 = s.p50;
        c->p90 = nearest_rank_us(all, nall, 90);
        double logsum = 0;
        for (size_t i = 0; i < np; i++) logsum += log(p50s[i]);
        c->geomean = exp(logsum / (double)np);
    }
    rc = 0;
out:
    c->seconds = (eryx__bench_now_ns() - t0) / 1e9;
    free(all);
    free(p50s);
    eryx__corpus_free_names(names, n);
    return rc;
}
