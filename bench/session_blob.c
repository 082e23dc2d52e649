/* bench/session_blob.c: what a session snapshot and a restore cost (the state of
** `eryx bench`'s session rows: a 20,000-entry dict and a lambda), medians of 50
** each, and an HMAC-SHA-256 (OpenSSL) over a blob of that size alone: the share
** of the authentication (docs/RUNTIME.md, "Session blobs are authenticated").
** Public API only, so the same file builds against an older tree for an A/B.
** usage: build/bench/session_blob [ROUNDS]  (ROUNDS runs of 50, default 1; one
** line per run) */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include "bench_time.h"
#include "eryx.h"

#define N 50

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 1;
    eryx_builder *b = eryx_builder_new();
    eryx_sandbox *s = NULL;
    static const char state[] = "data = {i: str(i) for i in range(20000)}\nf = lambda x: x + 1\n";
    if (!b || eryx_builder_set_keep_state(b, 1) != ERYX_OK || eryx_sandbox_new(b, &s) != ERYX_OK ||
        eryx_sandbox_execute(s, state, sizeof state - 1, NULL) != ERYX_OK) {
        fprintf(stderr, "session_blob: %s\n", s ? eryx_sandbox_errmsg(s) : eryx_builder_errmsg(b));
        return 1;
    }
    for (int r = 0; r < rounds; r++) {
        double snap[N], restore[N], mac[N];
        void *blob = NULL;
        size_t len = 0;
        for (int i = 0; i < N; i++) {
            eryx_blob_free(blob);
            double t0 = now_ms();
            if (eryx_sandbox_snapshot(s, &blob, &len) != ERYX_OK) return 1;
            snap[i] = now_ms() - t0;
        }
        for (int i = 0; i < N; i++) {
            double t0 = now_ms();
            if (eryx_sandbox_restore(s, blob, len) != ERYX_OK) return 1;
            restore[i] = now_ms() - t0;
        }
        static const unsigned char key[32] = "bench/session_blob.c's key ....";
        unsigned char out[32];
        unsigned int n = 0;
        for (int i = 0; i < N; i++) {
            double t0 = now_ms();
            HMAC(EVP_sha256(), key, sizeof key, blob, len, out, &n);
            mac[i] = now_ms() - t0;
        }
        qsort(snap, N, sizeof *snap, cmp_double);
        qsort(restore, N, sizeof *restore, cmp_double);
        qsort(mac, N, sizeof *mac, cmp_double);
        printf("{\"blob_bytes\": %zu, \"snapshot_p50_us\": %.0f, \"restore_p50_us\": %.0f, \"hmac_p50_us\": %.0f}\n",
               len, snap[N / 2] * 1e3, restore[N / 2] * 1e3, mac[N / 2] * 1e3);
        eryx_blob_free(blob);
    }
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    return 0;
}
