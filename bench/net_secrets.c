/*
** What the secret filters cost a connection (docs/NETWORK-SECRETS.md, "Cost"): a
** 10 MiB body (text, one value or placeholder every 64 KiB) through the outbound
** substitution, the inbound masking and the output scrubber in 16 KiB pieces (a
** read's size), with 2 secrets and with none (a copy), in MB/s, the median of 9
** (or argv[1]) rounds.
**   build/bench/net_secrets [rounds]
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../src/net/net.h"
#include "bench_time.h"

#define BODY (10u << 20)
#define PIECE 16384u

enum { OUT, IN, SCRUB };

/* One pass of body through filter kind; returns MB/s. */
static double pass(const eryx__secret_set *set, int kind, const uint8_t *body) {
    eryx__secret_stream *st = eryx__secret_stream_new(set, "api.example.com");
    eryx__secret_scrubber *sc = eryx__secret_scrubber_new(set);
    eryx__bytes out = {0};
    eryx__errbuf err;
    double t0 = now_ms();
    for (size_t at = 0; at < BODY; at += PIECE) {
        out.len = 0; /* the caller hands each piece on */
        int rc = kind == OUT  ? eryx__secret_out(st, body + at, PIECE, &out, &err)
                 : kind == IN ? eryx__secret_in(st, body + at, PIECE, &out)
                              : eryx__secret_scrub(sc, body + at, PIECE, &out);
        if (rc) {
            fprintf(stderr, "filter failed: %d %s\n", rc, err.msg);
            exit(1);
        }
    }
    double ms = now_ms() - t0;
    eryx__bytes_free(&out);
    eryx__secret_stream_free(st);
    eryx__secret_scrubber_free(sc);
    return BODY / 1e6 / (ms / 1e3);
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 9;
    if (rounds < 1 || rounds > 99) rounds = 9;
    eryx__secrets *secrets = NULL;
    eryx__errbuf err;
    const char *hosts[] = {"api.example.com"};
    const char *value = "sk-live-0123456789abcdefghijklmnopqrstuv";
    if (eryx__secrets_add(&secrets, "API_KEY", value, strlen(value), hosts, 1, &err) ||
        eryx__secrets_add(&secrets, "PW", "hunter2pw", 9, hosts, 1, &err))
        return fprintf(stderr, "%s\n", err.msg), 1;
    eryx__secret_set *set = eryx__secret_set_new(secrets, &err);
    uint8_t *plain = malloc(BODY), *with_ph = malloc(BODY), *with_val = malloc(BODY);
    static const char text[] = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. ";
    for (size_t i = 0; i < BODY; i++) plain[i] = (uint8_t)text[i % (sizeof text - 1)];
    memcpy(with_ph, plain, BODY);
    memcpy(with_val, plain, BODY);
    const char *ph = eryx__secret_set_placeholder(set, 0);
    for (size_t at = 1000; at + 64 < BODY; at += 65536) {
        memcpy(with_ph + at, ph, strlen(ph));
        memcpy(with_val + at, value, strlen(value));
    }
    const char *names[] = {"outbound (placeholder -> value)", "inbound (value -> mask)", "output scrubber"};
    const uint8_t *bodies[] = {with_ph, with_val, with_ph};
    printf("%-34s %12s %12s\n", "filter, 10 MiB in 16 KiB pieces", "2 secrets", "none");
    for (int kind = OUT; kind <= SCRUB; kind++) {
        double a[99], b[99];
        for (int r = 0; r < rounds; r++) {
            a[r] = pass(set, kind, bodies[kind]);
            b[r] = pass(NULL, kind, bodies[kind]);
        }
        qsort(a, (size_t)rounds, sizeof *a, cmp_double);
        qsort(b, (size_t)rounds, sizeof *b, cmp_double);
        printf("%-34s %7.0f MB/s %7.0f MB/s\n", names[kind], a[rounds / 2], b[rounds / 2]);
    }
    eryx__secret_set_free(set);
    eryx__secrets_release(secrets);
    free(plain);
    free(with_ph);
    free(with_val);
    return 0;
}
