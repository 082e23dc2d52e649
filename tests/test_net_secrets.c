/*
** Unit tests of src/net/secrets.c: the builder's list (validation, copy on write),
** placeholders, outbound substitution and refusal, inbound masking across every
** split of the stream, hold-back and release, and the output scrubber.
*/
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../src/net/net.h"
#include "check.h"

#define VAL_A "sk-live-0123456789abcdefghijklmnopqrstuv" /* 40 bytes: its placeholder is its mask */
#define VAL_B "hunter2pw"                                /* 9 bytes: masked with '*' */

static eryx__secrets *make_secrets(void) {
    eryx__secrets *s = NULL;
    eryx__errbuf err;
    const char *ha[] = {"api.example.com"}, *hb[] = {"*.example.org", "example.net"};
    CHECK(eryx__secrets_add(&s, "API_KEY", VAL_A, strlen(VAL_A), ha, 1, &err) == ERYX_OK);
    CHECK(eryx__secrets_add(&s, "PASSWORD", VAL_B, strlen(VAL_B), hb, 2, &err) == ERYX_OK);
    return s;
}

static bool has(const eryx__bytes *b, const char *s) {
    return b->len >= strlen(s) && memmem(b->p, b->len, s, strlen(s)) != NULL;
}

static void test_list(void) {
    eryx__secrets *s = NULL;
    eryx__errbuf err;
    const char *h[] = {"a.com"}, *empty[] = {""};
    CHECK(eryx__secrets_add(&s, "1X", "v", 1, h, 1, &err) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.msg, "environment variable name") != NULL);
    CHECK(eryx__secrets_add(&s, "A-B", "v", 1, h, 1, &err) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx__secrets_add(&s, "", "v", 1, h, 1, &err) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx__secrets_add(&s, "A", "", 0, h, 1, &err) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.msg, "empty") != NULL);
    CHECK(eryx__secrets_add(&s, "A", "a\0b", 3, h, 1, &err) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.msg, "NUL") != NULL);
    CHECK(eryx__secrets_add(&s, "A", "v", 1, empty, 1, &err) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx__secrets_add(&s, "A", "v", 1, NULL, 1, &err) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(s == NULL); /* nothing made by a refused add */
    CHECK(eryx__secrets_add(&s, "_a1", "v", 1, NULL, 0, &err) == ERYX_OK);
    CHECK(eryx__secrets_count(s) == 1);
    /* Shared: an add makes a new list, the holder keeps the old one. */
    eryx__secrets *held = eryx__secrets_ref(s);
    CHECK(eryx__secrets_add(&s, "B", "w", 1, h, 1, &err) == ERYX_OK);
    CHECK(eryx__secrets_count(s) == 2 && eryx__secrets_count(held) == 1);
    CHECK(eryx__secrets_add(&s, "B", "ww", 2, h, 1, &err) == ERYX_OK); /* replaced by name */
    CHECK(eryx__secrets_count(s) == 2);
    eryx__secrets_release(held);
    eryx__secrets_release(s);
}

static void test_placeholders(void) {
    eryx__secrets *s = make_secrets();
    eryx__errbuf err;
    eryx__secret_set *a = eryx__secret_set_new(s, &err), *b = eryx__secret_set_new(s, &err);
    CHECK(a && b && eryx__secret_set_count(a) == 2);
    if (!a || !b) return;
    const char *pa = eryx__secret_set_placeholder(a, 0), *pb = eryx__secret_set_placeholder(a, 1);
    CHECK(strlen(pa) == strlen(VAL_A) && strlen(pb) == ERYX__SECRET_MIN_LEN);
    CHECK(!strncmp(pa, ERYX__SECRET_PREFIX, 12) && !strncmp(pb, ERYX__SECRET_PREFIX, 12));
    CHECK(strcmp(pa, pb) != 0);
    CHECK(strcmp(pa, eryx__secret_set_placeholder(b, 0)) != 0); /* fresh per draw */
    for (const char *p = pa + 12; *p; p++)
        CHECK((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'));
    size_t len;
    const char *env = eryx__secret_set_env(a, &len);
    char want[256];
    int n = snprintf(want, sizeof want, "API_KEY=%s%cPASSWORD=%s", pa, 0, pb);
    CHECK(len == (size_t)n && !memcmp(env, want, len));
    CHECK_STR_EQ(eryx__secret_set_name(a, 1), "PASSWORD");
    eryx__secret_set_free(a);
    eryx__secret_set_free(b);
    eryx__secrets_release(s);
}

/* text with {A} and {B} standing for the placeholders (ph) or values (!ph). */
static void expand(char *out, size_t cap, const char *fmt, const eryx__secret_set *set, int kind) {
    /* kind 0: placeholders, 1: values, 2: inbound masks, 3: "[REDACTED]" */
    size_t o = 0;
    for (const char *p = fmt; *p && o < cap - 1;) {
        if (p[0] == '{' && (p[1] == 'A' || p[1] == 'B') && p[2] == '}') {
            size_t i = p[1] == 'A' ? 0 : 1;
            const char *val = i ? VAL_B : VAL_A, *ph = eryx__secret_set_placeholder(set, i);
            char mask[64];
            memset(mask, '*', strlen(val));
            mask[strlen(val)] = '\0';
            const char *r = kind == 0   ? ph
                            : kind == 1 ? val
                            : kind == 2 ? (strlen(ph) == strlen(val) ? ph : mask)
                                        : ERYX__SECRET_REDACTED;
            o += (size_t)snprintf(out + o, cap - o, "%s", r);
            p += 3;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

static const char *REQUEST = "POST /x HTTP/1.1\r\nAuthorization: Bearer {A}\r\nContent-Length: 20\r\n\r\n"
                             "user=me&pw={B}&k={A}{B}";

static void test_outbound(void) {
    eryx__secrets *s = make_secrets();
    eryx__errbuf err;
    eryx__secret_set *set = eryx__secret_set_new(s, &err);
    char in[1024], want[1024];
    expand(in, sizeof in, REQUEST, set, 0);
    expand(want, sizeof want, REQUEST, set, 1);
    size_t n = strlen(in);
    /* B is allowed for *.example.org; A for api.example.com: one host takes both here
    ** only when the patterns allow it, so use two requests. */
    const char *only_a = "GET / HTTP/1.1\r\nAuthorization: Bearer {A}\r\nX: {A}{A}\r\n\r\n";
    char in_a[512], want_a[512];
    expand(in_a, sizeof in_a, only_a, set, 0);
    expand(want_a, sizeof want_a, only_a, set, 1);
    size_t na = strlen(in_a);
    for (size_t cut = 0; cut <= na; cut++) {
        eryx__secret_stream *st = eryx__secret_stream_new(set, "API.example.com.");
        eryx__bytes out = {0};
        CHECK(eryx__secret_out(st, in_a, cut, &out, &err) == 0);
        CHECK(eryx__secret_out(st, in_a + cut, na - cut, &out, &err) == 0);
        CHECK(eryx__secret_out_held(st) == 0); /* the request ends with "\r\n\r\n" */
        CHECK(eryx__secret_out_flush(st, &out) == 0);
        CHECKF(out.len == strlen(want_a) && !memcmp(out.p, want_a, out.len), "cut %zu", cut);
        eryx__bytes_free(&out);
        eryx__secret_stream_free(st);
    }
    /* Three pieces, toward a host that may get neither: the write carrying a
    ** placeholder is refused whole, and nothing of it is sent. */
    for (size_t c1 = 0; c1 <= n; c1 += 7) {
        for (size_t c2 = c1; c2 <= n; c2 += 5) {
            eryx__secret_stream *st = eryx__secret_stream_new(set, "evil.com");
            eryx__bytes out = {0};
            size_t cuts[4] = {0, c1, c2, n};
            bool refused = false;
            for (int k = 0; k < 3 && !refused; k++) {
                size_t before = out.len, held = eryx__secret_out_held(st);
                int rc = eryx__secret_out(st, in + cuts[k], cuts[k + 1] - cuts[k], &out, &err);
                if (rc) {
                    CHECK(rc == ERYX__SECRET_EACCES);
                    CHECK(out.len == before && eryx__secret_out_held(st) == held);
                    refused = true;
                }
            }
            CHECK(refused);
            CHECK(!has(&out, VAL_A) && !has(&out, VAL_B));
            eryx__bytes_free(&out);
            eryx__secret_stream_free(st);
        }
    }
    /* The message names the secret, the host and what is allowed. */
    eryx__secret_stream *st = eryx__secret_stream_new(set, "evil.com");
    eryx__bytes out = {0};
    CHECK(eryx__secret_out(st, in_a, na, &out, &err) == ERYX__SECRET_EACCES && out.len == 0);
    CHECK_STR_EQ(err.msg, "secret 'API_KEY' may not be sent to host 'evil.com' (allowed: api.example.com)");
    CHECK(eryx__secret_out(st, "plain", 5, &out, &err) == 0 && out.len == 5); /* the connection goes on */
    /* A held partial placeholder: reported written, released by the flush as is. */
    const char *pa = eryx__secret_set_placeholder(set, 0);
    CHECK(eryx__secret_out(st, pa, 20, &out, &err) == 0 && out.len == 5 && eryx__secret_out_held(st) == 20);
    CHECK(eryx__secret_out_flush(st, &out) == 0 && out.len == 25 && !memcmp(out.p + 5, pa, 20));
    /* Refused with a held part: the held part stays held. */
    CHECK(eryx__secret_out(st, pa, 30, &out, &err) == 0 && eryx__secret_out_held(st) == 30);
    CHECK(eryx__secret_out(st, pa + 30, strlen(pa) - 30, &out, &err) == ERYX__SECRET_EACCES);
    CHECK(eryx__secret_out_held(st) == 30 && out.len == 25);
    eryx__bytes_free(&out);
    eryx__secret_stream_free(st);
    /* B toward a host of its second pattern, with A refused on the same connection. */
    st = eryx__secret_stream_new(set, "example.net");
    char in_b[128], want_b[128];
    expand(in_b, sizeof in_b, "pw={B}&again={B}", set, 0);
    expand(want_b, sizeof want_b, "pw={B}&again={B}", set, 1);
    CHECK(eryx__secret_out(st, in_b, strlen(in_b), &out, &err) == 0 && eryx__secret_out_flush(st, &out) == 0);
    CHECK(out.len == strlen(want_b) && !memcmp(out.p, want_b, out.len));
    CHECK(eryx__secret_out(st, in_a, na, &out, &err) == ERYX__SECRET_EACCES);
    CHECK(strstr(err.msg, "'API_KEY'") && strstr(err.msg, "'example.net'"));
    eryx__bytes_free(&out);
    eryx__secret_stream_free(st);
    eryx__secret_set_free(set);
    eryx__secrets_release(s);
}

static void test_tls(void) {
    eryx__secrets *s = make_secrets();
    eryx__errbuf err;
    eryx__secret_set *set = eryx__secret_set_new(s, &err);
    const char *pa = eryx__secret_set_placeholder(set, 0);
    eryx__bytes out = {0};
    struct {
        const char *tls_host;
        bool verified;
        int rc;
    } cases[] = {{"api.example.com", true, 0},
                 {"api.example.com", false, ERYX__SECRET_EACCES},
                 {NULL, true, ERYX__SECRET_EACCES}, /* no hostname check */
                 {"other.com", true, ERYX__SECRET_EACCES}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        eryx__secret_stream *st = eryx__secret_stream_new(set, "api.example.com");
        CHECK(eryx__secret_stream_set_peer(st, cases[i].tls_host, cases[i].verified) == 0);
        out.len = 0;
        CHECKF(eryx__secret_out(st, pa, strlen(pa), &out, &err) == cases[i].rc, "case %zu: %s", i, err.msg);
        if (cases[i].rc == 0) CHECK(out.len == strlen(VAL_A) && !memcmp(out.p, VAL_A, out.len));
        if (i == 1) CHECK(strstr(err.msg, "without certificate verification") != NULL);
        eryx__secret_stream_free(st);
    }
    /* A NULL stream copies through. */
    out.len = 0;
    CHECK(eryx__secret_out(NULL, pa, strlen(pa), &out, &err) == 0 && out.len == strlen(pa));
    eryx__bytes_free(&out);
    eryx__secret_set_free(set);
    eryx__secrets_release(s);
}

/* Feeds in to a fresh stream in pieces at cuts[0..ncuts), then flushes. */
static void inbound(const eryx__secret_set *set, const char *in, size_t n, const size_t *cuts, int ncuts,
                    eryx__bytes *out) {
    eryx__secret_stream *st = eryx__secret_stream_new(set, "api.example.com");
    size_t at = 0;
    for (int k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : n;
        CHECK(eryx__secret_in(st, in + at, end - at, out) == 0);
        at = end;
    }
    CHECK(eryx__secret_in_flush(st, out) == 0);
    CHECK(eryx__secret_in_held(st) == 0);
    eryx__secret_stream_free(st);
}

static void test_inbound(void) {
    eryx__secrets *s = make_secrets();
    eryx__errbuf err;
    eryx__secret_set *set = eryx__secret_set_new(s, &err);
    const char *echo = "{\"headers\": {\"Authorization\": \"Bearer {A}\"}, \"form\": {\"pw\": \"{B}\"}, "
                       "\"x\": \"{A}{B}{B}{A}\"}";
    char in[1024], want[1024];
    expand(in, sizeof in, echo, set, 1);
    expand(want, sizeof want, echo, set, 2);
    size_t n = strlen(in);
    CHECK(strlen(want) == n); /* masks keep lengths */
    for (size_t c1 = 0; c1 <= n; c1++) {
        eryx__bytes out = {0};
        inbound(set, in, n, &c1, 1, &out);
        /* Equal to the one-shot masking, except where the cut fell 1..3 bytes into a
        ** value: those bytes went out as they were (and the rest was masked). */
        size_t differ = 0;
        for (size_t i = 0; i < n && out.len == n; i++)
            if (out.p[i] != (uint8_t)want[i]) differ += out.p[i] == (uint8_t)in[i] ? 1 : 100;
        CHECKF(out.len == n && differ < ERYX__SECRET_HOLD_MIN && !has(&out, VAL_A) && !has(&out, VAL_B), "cut %zu", c1);
        eryx__bytes_free(&out);
    }
    for (size_t c1 = 0; c1 <= n; c1 += 3)
        for (size_t c2 = c1; c2 <= n; c2 += 4) {
            eryx__bytes out = {0};
            size_t cuts[2] = {c1, c2};
            inbound(set, in, n, cuts, 2, &out);
            /* A value whose first 1..3 bytes ended a read is delivered in part and the
            ** rest masked: never the whole value, and the length is kept. */
            CHECKF(out.len == n && !has(&out, VAL_A) && !has(&out, VAL_B), "cuts %zu %zu", c1, c2);
            eryx__bytes_free(&out);
        }
    /* Hold-back: 10 bytes of A's start are held, then completed. */
    eryx__secret_stream *st = eryx__secret_stream_new(set, "h");
    eryx__bytes out = {0};
    CHECK(eryx__secret_in(st, "xxx" VAL_A, 13, &out) == 0 && out.len == 3 && eryx__secret_in_held(st) == 10);
    CHECK(eryx__secret_in(st, VAL_A + 10, strlen(VAL_A) - 10, &out) == 0 && eryx__secret_in_held(st) == 0);
    CHECK(out.len == 3 + strlen(VAL_A) && !memcmp(out.p + 3, eryx__secret_set_placeholder(set, 0), strlen(VAL_A)));
    /* Refuted: released with the next read. */
    out.len = 0;
    CHECK(eryx__secret_in(st, VAL_A, 6, &out) == 0 && out.len == 0 && eryx__secret_in_held(st) == 6);
    CHECK(eryx__secret_in(st, "!", 1, &out) == 0 && out.len == 7 && !memcmp(out.p, VAL_A, 6));
    /* Fewer than ERYX__SECRET_HOLD_MIN bytes: delivered at once, the rest still masked. */
    out.len = 0;
    CHECK(eryx__secret_in(st, "ab" VAL_B, 5, &out) == 0 && out.len == 5 && eryx__secret_in_held(st) == 0);
    CHECK(eryx__secret_in(st, VAL_B + 3, strlen(VAL_B) - 3, &out) == 0);
    CHECK(out.len == 2 + strlen(VAL_B) && !memcmp(out.p, "abhun******", out.len));
    /* The end of the stream releases a held start. */
    out.len = 0;
    CHECK(eryx__secret_in(st, VAL_A, 12, &out) == 0 && out.len == 0);
    CHECK(eryx__secret_in_flush(st, &out) == 0 && out.len == 12 && !memcmp(out.p, VAL_A, 12));
    eryx__bytes_free(&out);
    eryx__secret_stream_free(st);
    eryx__secret_set_free(set);
    eryx__secrets_release(s);
}

/* A value spelled across a placeholder mask: the second pass masks it. */
static void test_mask_across(void) {
    eryx__secrets *s = NULL;
    eryx__errbuf err;
    char val[33];
    memset(val, 'x', 31);
    strcpy(val + 31, "E"); /* ends as every placeholder starts */
    CHECK(eryx__secrets_add(&s, "C", val, 32, NULL, 0, &err) == ERYX_OK);
    CHECK(eryx__secrets_add(&s, "D", "x*", 2, NULL, 0, &err) == ERYX_OK); /* '*' taken: another safe byte */
    eryx__secret_set *set = eryx__secret_set_new(s, &err);
    char in[128];
    memset(in, 'x', 31);
    memcpy(in + 31, val, 32);
    for (size_t cut = 0; cut <= 63; cut++) {
        eryx__bytes out = {0};
        inbound(set, in, 63, &cut, 1, &out);
        CHECKF(out.len == 63 && !has(&out, val) && !has(&out, "x*"), "cut %zu", cut);
        eryx__bytes_free(&out);
    }
    eryx__secret_set_free(set);
    eryx__secrets_release(s);
}

static void test_scrub(void) {
    eryx__secrets *s = make_secrets();
    eryx__errbuf err;
    eryx__secret_set *set = eryx__secret_set_new(s, &err);
    const char *text = "key={A} pw={B}\n{A}{A}x{B}";
    char ph[512], val[512], want_ph[512], mixed[1024];
    expand(ph, sizeof ph, text, set, 0);
    expand(val, sizeof val, text, set, 1);
    expand(want_ph, sizeof want_ph, text, set, 3);
    snprintf(mixed, sizeof mixed, "%s|%s", ph, val);
    char want[1024];
    snprintf(want, sizeof want, "%s|%s", want_ph, want_ph);
    size_t n = strlen(mixed);
    for (size_t cut = 0; cut <= n; cut++) {
        eryx__secret_scrubber *sc = eryx__secret_scrubber_new(set);
        eryx__bytes out = {0};
        CHECK(eryx__secret_scrub(sc, mixed, cut, &out) == 0);
        CHECK(eryx__secret_scrub(sc, mixed + cut, n - cut, &out) == 0);
        CHECK(eryx__secret_scrub_flush(sc, &out) == 0);
        CHECKF(out.len == strlen(want) && !memcmp(out.p, want, out.len), "cut %zu", cut);
        eryx__bytes_free(&out);
        eryx__secret_scrubber_free(sc);
    }
    eryx__bytes out = {0};
    CHECK(eryx__secret_scrub_all(set, mixed, n, &out) == 0 && out.len == strlen(want) && !memcmp(out.p, want, out.len));
    /* A partial placeholder at the end is held, then flushed as is. */
    eryx__secret_scrubber *sc = eryx__secret_scrubber_new(set);
    out.len = 0;
    CHECK(eryx__secret_scrub(sc, "ok ERYX_SEC", 11, &out) == 0 && out.len == 3);
    CHECK(eryx__secret_scrub_flush(sc, &out) == 0 && out.len == 11 && !memcmp(out.p, "ok ERYX_SEC", 11));
    eryx__secret_scrubber_free(sc);
    /* No secrets: copied through. */
    out.len = 0;
    CHECK(eryx__secret_scrub_all(NULL, "abc", 3, &out) == 0 && out.len == 3);
    eryx__bytes_free(&out);
    eryx__secret_set_free(set);
    eryx__secrets_release(s);
}

int main(void) {
    test_list();
    test_placeholders();
    test_outbound();
    test_tls();
    test_inbound();
    test_mask_across();
    test_scrub();
    return check_report("test_net_secrets");
}
