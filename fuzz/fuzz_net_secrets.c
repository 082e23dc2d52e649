/*
** libFuzzer target for the secret filters (src/net/secrets.c): random secrets
** (values from a small alphabet, so they overlap each other and the placeholders'
** "ERYX_SECRET_" start) and a random stream with values, placeholders and value
** prefixes spliced in, fed in random chunks. Invariants:
**   inbound: the concatenated output has the input's length, holds no value, and
**     equals the input away from the values' occurrences;
**   outbound: the output equals a one-shot replacement of the bytes the filter
**     accepted, which hold no placeholder of a secret the host may not get;
**   scrubbing: the chunked output equals the one-shot scrub.
*/
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../src/net/net.h"

typedef struct input {
    const uint8_t *p;
    size_t n;
} input;

static uint8_t take(input *in) {
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}

static void die(const char *what) {
    fprintf(stderr, "fuzz_net_secrets: invariant broken: %s\n", what);
    abort();
}

static bool has(const uint8_t *hay, size_t n, const void *needle, size_t len) {
    return len <= n && memmem(hay, n, needle, len) != NULL;
}

/* The one-shot outbound replacement of s (placeholders are distinct, none inside another). */
static void replace_all(const eryx__secret_set *set, char **values, const uint8_t *s, size_t n, eryx__bytes *out) {
    size_t k = eryx__secret_set_count(set);
    for (size_t i = 0; i < n;) {
        size_t hit = k;
        for (size_t j = 0; j < k && hit == k; j++) {
            const char *ph = eryx__secret_set_placeholder(set, j);
            size_t len = strlen(ph);
            if (n - i >= len && !memcmp(s + i, ph, len)) hit = j;
        }
        if (hit < k) {
            eryx__bytes_append(out, values[hit], strlen(values[hit]));
            i += strlen(eryx__secret_set_placeholder(set, hit));
        } else {
            eryx__bytes_append(out, s + i, 1);
            i++;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    input in = {data, size};
    static const char alphabet[] = "abE*R_Y";
    size_t nsec = 1 + take(&in) % 4;
    char *values[4] = {0};
    bool allowed[4];
    eryx__secrets *secrets = NULL;
    eryx__errbuf err;
    for (size_t i = 0; i < nsec; i++) {
        uint8_t kind = take(&in);
        size_t len = 1 + take(&in) % 48;
        values[i] = malloc(len + 1);
        for (size_t k = 0; k < len; k++) {
            uint8_t c = take(&in);
            /* Mostly the small alphabet; kind's top bit: any byte but NUL. */
            values[i][k] = kind & 0x80 ? (char)(c ? c : 1) : alphabet[c % (sizeof alphabet - 1)];
        }
        values[i][len] = '\0';
        allowed[i] = kind & 1;
        const char *hosts[] = {"h.example"};
        char name[8];
        snprintf(name, sizeof name, "S%zu", i);
        if (eryx__secrets_add(&secrets, name, values[i], len, hosts, allowed[i], &err) != ERYX_OK) die("add refused");
    }
    eryx__secret_set *set = eryx__secret_set_new(secrets, &err);
    if (!set) die("no set");
    /* The stream: bytes, with 0xF0+i a value, 0xE0+i a placeholder, 0xD0+i a value's
    ** first bytes spliced in; the chunk sizes come from the front of the rest. */
    uint8_t cuts[16];
    size_t ncuts = take(&in) % 16;
    for (size_t i = 0; i < ncuts; i++) cuts[i] = take(&in);
    eryx__bytes stream = {0};
    while (in.n) {
        uint8_t c = take(&in), i = c & 0x0f;
        if (i < nsec && (c & 0xf0) == 0xf0) eryx__bytes_append(&stream, values[i], strlen(values[i]));
        else if (i < nsec && (c & 0xf0) == 0xe0)
            eryx__bytes_append(&stream, eryx__secret_set_placeholder(set, i),
                               strlen(eryx__secret_set_placeholder(set, i)));
        else if (i < nsec && (c & 0xf0) == 0xd0)
            eryx__bytes_append(&stream, values[i], 1 + take(&in) % strlen(values[i]));
        else eryx__bytes_append(&stream, &c, 1);
    }
    size_t maxv = 0;
    for (size_t i = 0; i < nsec; i++)
        if (strlen(values[i]) > maxv) maxv = strlen(values[i]);

    /* Inbound. */
    eryx__secret_stream *st = eryx__secret_stream_new(set, "h.example");
    eryx__bytes out = {0};
    size_t at = 0;
    for (size_t c = 0; at < stream.len; c++) {
        size_t len = ncuts ? 1 + (size_t)cuts[c % ncuts] % 64 : stream.len;
        if (len > stream.len - at) len = stream.len - at;
        if (eryx__secret_in(st, stream.p + at, len, &out) != 0) die("in: no memory");
        at += len;
    }
    if (eryx__secret_in_flush(st, &out) != 0 || eryx__secret_in_held(st) != 0) die("in_flush");
    if (out.len != stream.len) die("inbound changed the length");
    for (size_t i = 0; i < nsec; i++)
        if (has(out.p, out.len, values[i], strlen(values[i]))) die("a value came through inbound");
    /* Away from the values' occurrences (by the longest value), nothing changes. */
    uint8_t *near = calloc(stream.len + 1, 1);
    for (size_t i = 0; i < nsec; i++) {
        size_t L = strlen(values[i]);
        for (const uint8_t *m = stream.p;
             stream.len && (m = memmem(m, stream.len - (size_t)(m - stream.p), values[i], L)); m++) {
            size_t s = (size_t)(m - stream.p), lo = s > maxv ? s - maxv : 0, hi = s + L + maxv;
            for (size_t k = lo; k < hi && k < stream.len; k++) near[k] = 1;
        }
    }
    for (size_t k = 0; k < stream.len; k++)
        if (!near[k] && out.p[k] != stream.p[k]) die("inbound changed a byte far from any value");
    free(near);
    eryx__secret_stream_free(st);

    /* Outbound, toward a host some secrets may not reach. */
    st = eryx__secret_stream_new(set, "h.example");
    eryx__bytes wire = {0}, accepted = {0}, want = {0};
    at = 0;
    for (size_t c = 0; at < stream.len; c++) {
        size_t len = ncuts ? 1 + (size_t)cuts[c % ncuts] % 64 : stream.len;
        if (len > stream.len - at) len = stream.len - at;
        int rc = eryx__secret_out(st, stream.p + at, len, &wire, &err);
        if (rc == 0) eryx__bytes_append(&accepted, stream.p + at, len);
        else if (rc != ERYX__SECRET_EACCES) die("out: no memory");
        at += len;
    }
    if (eryx__secret_out_flush(st, &wire) != 0 || eryx__secret_out_held(st) != 0) die("out_flush");
    replace_all(set, values, accepted.p, accepted.len, &want);
    if (want.len != wire.len || (want.len && memcmp(want.p, wire.p, want.len)))
        die("outbound differs from the one-shot replacement");
    for (size_t i = 0; i < nsec; i++) {
        const char *ph = eryx__secret_set_placeholder(set, i);
        if (!allowed[i] && has(accepted.p, accepted.len, ph, strlen(ph))) die("a refused placeholder went out");
    }
    eryx__secret_stream_free(st);

    /* Scrubbing. */
    eryx__secret_scrubber *sc = eryx__secret_scrubber_new(set);
    eryx__bytes scrubbed = {0}, one = {0};
    at = 0;
    for (size_t c = 0; at < stream.len; c++) {
        size_t len = ncuts ? 1 + (size_t)cuts[c % ncuts] % 64 : stream.len;
        if (len > stream.len - at) len = stream.len - at;
        if (eryx__secret_scrub(sc, stream.p + at, len, &scrubbed) != 0) die("scrub: no memory");
        at += len;
    }
    if (eryx__secret_scrub_flush(sc, &scrubbed) != 0) die("scrub_flush");
    if (eryx__secret_scrub_all(set, stream.p, stream.len, &one) != 0) die("scrub_all");
    if (one.len != scrubbed.len || (one.len && memcmp(one.p, scrubbed.p, one.len)))
        die("chunked scrubbing differs from one-shot");
    eryx__secret_scrubber_free(sc);

    eryx__bytes_free(&out);
    eryx__bytes_free(&wire);
    eryx__bytes_free(&accepted);
    eryx__bytes_free(&want);
    eryx__bytes_free(&scrubbed);
    eryx__bytes_free(&one);
    eryx__bytes_free(&stream);
    eryx__secret_set_free(set);
    eryx__secrets_release(secrets);
    for (size_t i = 0; i < nsec; i++) free(values[i]);
    return 0;
}
