/*
** What the guest's cadata costs a TLS connection (docs/NETWORK-TLS.md, "Cost"):
** eryx__tls_new with a PEM bundle the context has not seen (parsed, a store built),
** with one it has (the cached store), and with none; and the context itself with
** the system's store, first and shared. Medians of 50 (or argv[2]) in ms.
**   build/bench/net_tls_cadata [bundle.pem [rounds]]
** (default bundle: /etc/ssl/certs/ca-certificates.crt; requests passes certifi's
** cacert.pem).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "../src/net/net.h"
#include "bench_time.h"

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/etc/ssl/certs/ca-certificates.crt";
    int rounds = argc > 2 ? atoi(argv[2]) : 50;
    if (rounds < 1) rounds = 1;
    FILE *f = fopen(path, "rb");
    if (!f) return perror(path), 1;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *bundle = malloc((size_t)size + 64);
    size_t len = fread(bundle + 32, 1, (size_t)size, f);
    fclose(f);
    double *t = malloc(sizeof *t * (size_t)rounds);
    eryx__errbuf err = {0};

    /* the first context parses the system's bundle; later ones share its store */
    double t0 = now_ms();
    eryx__tls_ctx *first = eryx__tls_ctx_new(true, NULL, NULL, 0, &err);
    double cold = now_ms() - t0;
    if (!first) return fprintf(stderr, "%s\n", err.msg), 1;
    for (int i = 0; i < rounds; i++) {
        t0 = now_ms();
        eryx__tls_ctx *c = eryx__tls_ctx_new(true, NULL, NULL, 0, &err);
        t[i] = now_ms() - t0;
        if (!c) return fprintf(stderr, "%s\n", err.msg), 1;
        eryx__tls_ctx_free(c);
    }
    printf("context with the system store: first %.3f ms, then %.3f ms\n", cold, median(t, rounds));
    eryx__tls_ctx_free(first);

    eryx__tls_ctx *ctx = eryx__tls_ctx_new(true, NULL, NULL, 0, &err);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    eryx__tls_opts o = {.server_name = "example.com", .verify = true, .check_hostname = true};
    const char *labels[3] = {"no cadata", "cadata, cached store", "cadata, not seen before"};
    for (int kind = 0; kind < 3; kind++) {
        for (int i = 0; i < rounds; i++) {
            /* a distinct bundle each time: a comment line of 31 bytes in front */
            char *start = bundle + 32;
            size_t n = len;
            if (kind == 2) {
                char line[40];
                snprintf(line, sizeof line, "# round %22d\n", i);
                memcpy(bundle, line, 32);
                start = bundle;
                n = len + 32;
            }
            o.cadata = kind ? (const uint8_t *)start : NULL;
            o.cadata_len = kind ? n : 0;
            t0 = now_ms();
            eryx__tls *tls = eryx__tls_new(ctx, fd, &o, &err);
            t[i] = now_ms() - t0;
            if (!tls) return fprintf(stderr, "%s\n", err.msg), 1;
            eryx__tls_free(tls);
        }
        printf("eryx__tls_new, %s (%zu bytes): %.3f ms\n", labels[kind], kind == 0 ? (size_t)0 : len,
               median(t, rounds));
    }
    /* a new context each time (a new sandbox) with the cadata another context parsed */
    for (int i = 0; i < rounds; i++) {
        eryx__tls_ctx *c = eryx__tls_ctx_new(true, NULL, NULL, 0, &err);
        o.cadata = (const uint8_t *)bundle + 32;
        o.cadata_len = len;
        t0 = now_ms();
        eryx__tls *tls = c ? eryx__tls_new(c, fd, &o, &err) : NULL;
        t[i] = now_ms() - t0;
        if (!tls) return fprintf(stderr, "%s\n", err.msg), 1;
        eryx__tls_free(tls);
        eryx__tls_ctx_free(c);
    }
    printf("eryx__tls_new, cadata another context parsed: %.3f ms\n", median(t, rounds));
    for (int i = 0; i < rounds; i++) {
        t0 = now_ms();
        bool ok = eryx__tls_check_certs(bundle + 32, len, &err);
        t[i] = now_ms() - t0;
        if (!ok) return fprintf(stderr, "%s\n", err.msg), 1;
    }
    printf("parsing the bundle alone (eryx__tls_check_certs): %.3f ms\n", median(t, rounds));
    close(fd);
    eryx__tls_ctx_free(ctx);
    free(t);
    free(bundle);
    return 0;
}
