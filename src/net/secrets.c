/*
** Secrets (net.h; docs/NETWORK-SECRETS.md): a builder's list (name, value, allowed
** hosts), a sandbox's draw of random placeholders for it, and the byte filters:
** outbound substitution (placeholder -> value, only toward allowed hosts),
** inbound masking (value -> same-length mask) and output scrubbing (both ->
** "[REDACTED]"). The filters are pure functions over byte streams fed in arbitrary
** chunks (fuzz/fuzz_net_secrets.c checks them against one-shot versions).
*/
#define _GNU_SOURCE /* memmem, getrandom */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/random.h>
#include "net.h"

typedef struct secret {
    char *name;
    uint8_t *value;
    size_t value_len;
    char **hosts;
    size_t nhosts;
} secret;

struct eryx__secrets {
    atomic_uint refs;
    size_t n;
    secret *v;
};

/* A pattern the scanners look for; id indexes the set's secrets (values: + n). */
typedef struct rpat {
    const uint8_t *p;
    size_t len, id;
} rpat;

/* Patterns and the bytes they start with: the scanners jump between those with
** memchr when there are few (every placeholder starts with 'E'). */
typedef struct pats {
    rpat *v;
    size_t n;
    uint64_t first[4];
    uint8_t firsts[4];
    int nfirsts; /* -1: more than 4, a byte-by-byte scan */
} pats;

struct eryx__secret_set {
    eryx__secrets *secrets; /* a reference */
    size_t n;
    char **ph; /* placeholders, NUL-terminated */
    size_t *ph_len;
    uint32_t **fail; /* each value's KMP failure table (the held-tail check) */
    uint8_t safe;    /* a byte in no value: the mask that can never spell one */
    size_t max_value;
    char *env;
    size_t env_len;
    pats out, scrub; /* placeholders; placeholders then values */
};

/* One direction in: raw is the context (the last max_value - 1 raw bytes already
** delivered: nctx of them) then the pending raw bytes; pend is the pending bytes
** masked (same length: masks keep lengths); octx the last max_value - 1 bytes
** delivered (for the second pass, which catches a value spelled across a mask). */
typedef struct in_filter {
    eryx__bytes raw, pend, octx;
    size_t nctx;
    /* Bytes delivered so far, and up to where a placeholder mask (and a value spelled
    ** across it) may reach: the second pass runs only on output before that. */
    uint64_t total, reach;
} in_filter;

struct eryx__secret_stream {
    const eryx__secret_set *set;
    char *host, *tls_host;
    bool tls, tls_verified;
    eryx__bytes out_held;
    in_filter in;
};

struct eryx__secret_scrubber {
    const eryx__secret_set *set;
    eryx__bytes held;
};

/* ---- the builder's list ---- */

static void secret_clear(secret *s) {
    free(s->name);
    if (s->value) memset(s->value, 0, s->value_len);
    free(s->value);
    for (size_t i = 0; i < s->nhosts; i++) free(s->hosts[i]);
    free(s->hosts);
    memset(s, 0, sizeof *s);
}

static bool secret_copy(secret *d, const secret *s) {
    *d = (secret){.value_len = s->value_len};
    d->name = strdup(s->name);
    d->value = malloc(s->value_len);
    d->hosts = calloc(s->nhosts ? s->nhosts : 1, sizeof *d->hosts);
    if (!d->name || !d->value || !d->hosts) {
        secret_clear(d);
        return false;
    }
    memcpy(d->value, s->value, s->value_len);
    for (; d->nhosts < s->nhosts; d->nhosts++) {
        if (!(d->hosts[d->nhosts] = strdup(s->hosts[d->nhosts]))) {
            secret_clear(d);
            return false;
        }
    }
    return true;
}

eryx__secrets *eryx__secrets_ref(eryx__secrets *s) {
    if (s) atomic_fetch_add(&s->refs, 1);
    return s;
}

void eryx__secrets_release(eryx__secrets *s) {
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1) return;
    for (size_t i = 0; i < s->n; i++) secret_clear(&s->v[i]);
    free(s->v);
    free(s);
}

size_t eryx__secrets_count(const eryx__secrets *s) { return s ? s->n : 0; }

static bool env_name_ok(const char *name) {
    if (!((*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z') || *name == '_')) return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return strlen(name) <= 256;
}

eryx_status eryx__secrets_add(eryx__secrets **sp, const char *name, const char *value, size_t value_len,
                              const char *const *hosts, size_t n_hosts, eryx__errbuf *err) {
    if (!name || !env_name_ok(name))
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT,
                          "secret name '%.100s' is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*, "
                          "at most 256 characters)",
                          name ? name : "(null)");
    if (!value || value_len == 0)
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "secret '%s': the value is empty", name);
    if (memchr(value, 0, value_len))
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "secret '%s': the value contains a NUL byte", name);
    if (value_len > ERYX__SECRET_MAX_VALUE)
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "secret '%s': the value is %zu bytes (at most %d)", name,
                          value_len, ERYX__SECRET_MAX_VALUE);
    if (n_hosts && !hosts)
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "secret '%s': allowed_hosts is NULL", name);
    for (size_t i = 0; i < n_hosts; i++)
        if (!hosts[i] || !*hosts[i])
            return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "secret '%s': allowed host pattern %zu is empty", name,
                              i);
    eryx__secrets *old = *sp;
    size_t at = old ? old->n : 0;
    for (size_t i = 0; old && i < old->n; i++)
        if (!strcmp(old->v[i].name, name)) at = i;
    if (at == (old ? old->n : 0) && at >= ERYX__SECRET_MAX_COUNT)
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "too many secrets (at most %d)", ERYX__SECRET_MAX_COUNT);
    /* Always a new list (copy on write): a sandbox may hold the old one. */
    eryx__secrets *s = calloc(1, sizeof *s);
    size_t n = old ? old->n : 0;
    if (s) s->v = calloc(n + 1, sizeof *s->v);
    bool ok = s && s->v;
    if (s) atomic_init(&s->refs, 1);
    for (size_t i = 0; ok && i < n; i++, s->n++) ok = i == at || secret_copy(&s->v[i], &old->v[i]);
    if (ok) {
        secret add = {.name = (char *)name,
                      .value = (uint8_t *)value,
                      .value_len = value_len,
                      .hosts = (char **)hosts,
                      .nhosts = n_hosts};
        ok = secret_copy(&s->v[at], &add);
        if (ok && at == n) s->n++;
    }
    if (!ok) {
        if (s && s->v) s->n = n + 1; /* secret_clear of zeroed entries is harmless */
        eryx__secrets_release(s);
        return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for secret '%s'", name);
    }
    eryx__secrets_release(old);
    *sp = s;
    return ERYX_OK;
}

/* ---- a sandbox's placeholders ---- */

static void bit_set(uint64_t m[4], uint8_t b) { m[b >> 6] |= UINT64_C(1) << (b & 63); }
static bool bit_has(const uint64_t m[4], uint8_t b) { return m[b >> 6] >> (b & 63) & 1; }

/* Fills ps's first-byte set and, when 4 or fewer, their list. */
static void pats_index(pats *ps) {
    ps->nfirsts = 0;
    for (size_t i = 0; i < ps->n; i++) {
        uint8_t b = ps->v[i].p[0];
        if (bit_has(ps->first, b)) continue;
        bit_set(ps->first, b);
        if (ps->nfirsts >= 0 && ps->nfirsts < 4) ps->firsts[ps->nfirsts++] = b;
        else ps->nfirsts = -1;
    }
}

static bool contains(const void *hay, size_t hlen, const void *needle, size_t nlen) {
    return nlen <= hlen && memmem(hay, hlen, needle, nlen) != NULL;
}

/* A random placeholder of len bytes into out; false when getrandom fails. */
static bool draw(char *out, size_t len) {
    static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    size_t pre = sizeof ERYX__SECRET_PREFIX - 1, i = pre;
    memcpy(out, ERYX__SECRET_PREFIX, pre);
    uint8_t r[64];
    while (i < len) {
        ssize_t got = getrandom(r, sizeof r, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;
        for (ssize_t k = 0; k < got && i < len; k++)
            if (r[k] < 248) out[i++] = b62[r[k] % 62]; /* 248 = 4 * 62: no bias */
    }
    out[len] = '\0';
    return true;
}

eryx__secret_set *eryx__secret_set_new(eryx__secrets *secrets, eryx__errbuf *err) {
    eryx__secret_set *set = calloc(1, sizeof *set);
    if (!set) goto oom;
    set->secrets = eryx__secrets_ref(secrets);
    size_t n = set->n = eryx__secrets_count(secrets);
    set->ph = calloc(n + 1, sizeof *set->ph);
    set->ph_len = calloc(n + 1, sizeof *set->ph_len);
    set->fail = calloc(n + 1, sizeof *set->fail);
    set->out.v = calloc(n + 1, sizeof *set->out.v);
    set->scrub.v = calloc(2 * n + 1, sizeof *set->scrub.v);
    if (!set->ph || !set->ph_len || !set->fail || !set->out.v || !set->scrub.v) goto oom;
    set->out.n = n;
    set->scrub.n = 2 * n;
    uint64_t in_values[4] = {0};
    for (size_t i = 0; i < n; i++) {
        const secret *s = &secrets->v[i];
        for (size_t k = 0; k < s->value_len; k++) bit_set(in_values, s->value[k]);
        if (s->value_len > set->max_value) set->max_value = s->value_len;
        size_t len = s->value_len > ERYX__SECRET_MIN_LEN ? s->value_len : ERYX__SECRET_MIN_LEN;
        if (!(set->ph[i] = malloc(len + 1)) || !(set->fail[i] = malloc(s->value_len * sizeof(uint32_t)))) goto oom;
        set->ph_len[i] = len;
        /* Distinct, neither inside another; one that holds a value is drawn again
        ** (a few tries: a value of one or two characters may be in most draws). */
        for (int tries = 0;; tries++) {
            if (!draw(set->ph[i], len)) {
                eryx__fail(err, ERYX_ERR_IO, "cannot get random bytes for the secrets' placeholders (getrandom: %s)",
                           strerror(errno));
                eryx__secret_set_free(set);
                return NULL;
            }
            bool clash = false;
            for (size_t k = 0; k < i && !clash; k++)
                clash = contains(set->ph[i], len, set->ph[k], set->ph_len[k]) ||
                        contains(set->ph[k], set->ph_len[k], set->ph[i], len);
            for (size_t k = 0; k < n && !clash && tries < 64; k++)
                clash = contains(set->ph[i], len, secrets->v[k].value, secrets->v[k].value_len);
            if (!clash) break;
        }
        /* KMP failure: fail[k] = the longest proper border of value[0..k]. */
        uint32_t *f = set->fail[i];
        f[0] = 0;
        for (size_t k = 1, b = 0; k < s->value_len; k++) {
            while (b && s->value[k] != s->value[b]) b = f[b - 1];
            if (s->value[k] == s->value[b]) b++;
            f[k] = (uint32_t)b;
        }
        set->out.v[i] = (rpat){(const uint8_t *)set->ph[i], len, i};
        set->scrub.v[i] = set->out.v[i];
        set->scrub.v[n + i] = (rpat){s->value, s->value_len, n + i};
    }
    pats_index(&set->out);
    pats_index(&set->scrub);
    /* The mask that can never spell a value: '*' unless a value holds it; NUL last
    ** (values hold none). */
    static const char candidates[] = "*#~^?!%.-+=@$&|";
    set->safe = 0;
    for (const char *c = candidates; *c; c++)
        if (!bit_has(in_values, (uint8_t)*c)) {
            set->safe = (uint8_t)*c;
            break;
        }
    for (size_t i = 0; i < n; i++) set->env_len += strlen(secrets->v[i].name) + 1 + set->ph_len[i] + 1;
    if (!(set->env = malloc(set->env_len + 1))) goto oom;
    char *p = set->env;
    for (size_t i = 0; i < n; i++) p += sprintf(p, "%s=%s", secrets->v[i].name, set->ph[i]) + 1;
    if (set->env_len) set->env_len--; /* no trailing NUL */
    return set;
oom:
    eryx__secret_set_free(set);
    eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for the secrets' placeholders");
    return NULL;
}

void eryx__secret_set_free(eryx__secret_set *set) {
    if (!set) return;
    for (size_t i = 0; i < set->n; i++) {
        if (set->ph) free(set->ph[i]);
        if (set->fail) free(set->fail[i]);
    }
    free(set->ph);
    free(set->ph_len);
    free(set->fail);
    free(set->out.v);
    free(set->scrub.v);
    free(set->env);
    eryx__secrets_release(set->secrets);
    free(set);
}

size_t eryx__secret_set_count(const eryx__secret_set *set) { return set ? set->n : 0; }
const char *eryx__secret_set_name(const eryx__secret_set *set, size_t i) { return set->secrets->v[i].name; }
const char *eryx__secret_set_placeholder(const eryx__secret_set *set, size_t i) { return set->ph[i]; }
size_t eryx__secret_set_max_len(const eryx__secret_set *set) {
    size_t m = 0;
    for (size_t i = 0; set && i < 2 * set->n; i++)
        if (set->scrub.v[i].len > m) m = set->scrub.v[i].len;
    return m;
}
const char *eryx__secret_set_env(const eryx__secret_set *set, size_t *len) {
    *len = set ? set->env_len : 0;
    return set && set->env ? set->env : "";
}

/* ---- the length-changing scanner (outbound, scrubbing) ---- */

/* A scan of buf for a pattern set: where each of its first bytes next occurs. */
typedef struct scan {
    const pats *ps;
    const uint8_t *buf;
    size_t len, next[4];
    bool known[4];
} scan;

/* The first position at or after i holding a byte some pattern starts with (len: none). */
static size_t candidate(scan *sc, size_t i) {
    const pats *ps = sc->ps;
    if (ps->nfirsts < 0) {
        while (i < sc->len && !bit_has(ps->first, sc->buf[i])) i++;
        return i;
    }
    size_t best = sc->len;
    for (int k = 0; k < ps->nfirsts; k++) {
        if (!sc->known[k] || (sc->next[k] < i && sc->next[k] != sc->len)) {
            const uint8_t *m = i < sc->len ? memchr(sc->buf + i, ps->firsts[k], sc->len - i) : NULL;
            sc->next[k] = m ? (size_t)(m - sc->buf) : sc->len;
            sc->known[k] = true;
        }
        if (sc->next[k] < best) best = sc->next[k];
    }
    return best;
}

/* The next place at or after i where a pattern starts: returns it with *id the
** longest pattern matching there, or, unless final, with *partial set when the
** rest of buf is a proper prefix of a pattern (it may still become one). len when
** none. */
static size_t find_next(scan *sc, size_t i, bool final, size_t *id, bool *partial) {
    const rpat *pv = sc->ps->v;
    const uint8_t *buf = sc->buf;
    size_t np = sc->ps->n, len = sc->len;
    *partial = false;
    for (; (i = candidate(sc, i)) < len; i++) {
        size_t best = SIZE_MAX, best_len = 0, rem = len - i;
        bool part = false;
        for (size_t k = 0; k < np; k++) {
            size_t plen = pv[k].len;
            if (rem >= plen) {
                if (plen > best_len && !memcmp(buf + i, pv[k].p, plen)) best = k, best_len = plen;
            } else if (!final && !memcmp(buf + i, pv[k].p, rem)) {
                part = true;
            }
        }
        if (part) {
            *partial = true;
            return i;
        }
        if (best != SIZE_MAX) {
            *id = best;
            return i;
        }
    }
    return len;
}

/* Drops the first n bytes of b. */
static void drop_front(eryx__bytes *b, size_t n) {
    if (n && b->len > n) memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

/* ---- connections ---- */

eryx__secret_stream *eryx__secret_stream_new(const eryx__secret_set *set, const char *host) {
    eryx__secret_stream *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->set = set;
    if (!(st->host = strdup(host ? host : ""))) {
        free(st);
        return NULL;
    }
    return st;
}

void eryx__secret_stream_free(eryx__secret_stream *st) {
    if (!st) return;
    free(st->host);
    free(st->tls_host);
    eryx__bytes_free(&st->out_held);
    eryx__bytes_free(&st->in.raw);
    eryx__bytes_free(&st->in.pend);
    eryx__bytes_free(&st->in.octx);
    free(st);
}

int eryx__secret_stream_set_peer(eryx__secret_stream *st, const char *host, bool tls_verified) {
    if (!st) return 0;
    char *copy = host ? strdup(host) : NULL;
    if (host && !copy) return ERYX__SECRET_ENOMEM;
    free(st->tls_host);
    st->tls_host = copy;
    st->tls = true;
    st->tls_verified = tls_verified;
    return 0;
}

static bool host_allowed(const secret *s, const char *host) {
    for (size_t i = 0; i < s->nhosts; i++)
        if (eryx__host_match(s->hosts[i], host)) return true;
    return false;
}

/* Whether secret i may go out on st; else a message in err. */
static bool may_send(const eryx__secret_stream *st, size_t i, eryx__errbuf *err) {
    const secret *s = &st->set->secrets->v[i];
    if (st->tls && (!st->tls_verified || !st->tls_host)) {
        eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT,
                   "secret '%s' may not be sent to host '%.300s' over TLS without certificate verification and "
                   "hostname check",
                   s->name, st->host);
        return false;
    }
    const char *bad = !host_allowed(s, st->host)                  ? st->host
                      : st->tls && !host_allowed(s, st->tls_host) ? st->tls_host
                                                                  : NULL;
    if (!bad) return true;
    char allowed[1024] = "none";
    size_t used = 0;
    for (size_t k = 0; k < s->nhosts && used < sizeof allowed - 1; k++) {
        int w = snprintf(allowed + used, sizeof allowed - used, "%s%s", k ? ", " : "", s->hosts[k]);
        if (w < 0) break;
        used += (size_t)w;
    }
    eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "secret '%s' may not be sent to host '%.300s' (allowed: %s)", s->name,
               bad, allowed);
    return false;
}

/* Runs buf (held + new) through the substitution; keeps a partial tail unless final. */
static int out_run(eryx__secret_stream *st, const uint8_t *buf, size_t len, bool final, eryx__bytes *out,
                   size_t *consumed, eryx__errbuf *err) {
    const eryx__secret_set *set = st->set;
    size_t i = 0, start = out->len;
    scan sc = {.ps = &set->out, .buf = buf, .len = len};
    for (;;) {
        size_t id = 0;
        bool partial;
        size_t at = find_next(&sc, i, final, &id, &partial);
        if (!eryx__bytes_append(out, buf + i, at - i)) goto oom;
        if (at == len || partial) {
            *consumed = at;
            return 0;
        }
        if (!may_send(st, id, err)) {
            out->len = start;
            return ERYX__SECRET_EACCES;
        }
        const secret *s = &set->secrets->v[id];
        if (!eryx__bytes_append(out, s->value, s->value_len)) goto oom;
        i = at + set->ph_len[id];
    }
oom:
    out->len = start;
    eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for the outgoing bytes");
    return ERYX__SECRET_ENOMEM;
}

static int out_filter(eryx__secret_stream *st, const void *in, size_t len, bool final, eryx__bytes *out,
                      eryx__errbuf *err) {
    if (!st || !st->set || !st->set->n) return eryx__bytes_append(out, in, len) ? 0 : ERYX__SECRET_ENOMEM;
    eryx__bytes *h = &st->out_held;
    size_t held = h->len;
    if (!eryx__bytes_append(h, in, len)) return ERYX__SECRET_ENOMEM;
    size_t used = 0;
    int rc = out_run(st, h->p, h->len, final, out, &used, err);
    if (rc) {
        h->len = held; /* refused: nothing of this write happened */
        return rc;
    }
    drop_front(h, used);
    return 0;
}

int eryx__secret_out(eryx__secret_stream *st, const void *in, size_t len, eryx__bytes *out, eryx__errbuf *err) {
    return out_filter(st, in, len, false, out, err);
}

int eryx__secret_out_flush(eryx__secret_stream *st, eryx__bytes *out) {
    eryx__errbuf err;
    return out_filter(st, "", 0, true, out, &err);
}

size_t eryx__secret_out_held(const eryx__secret_stream *st) { return st ? st->out_held.len : 0; }

/* ---- inbound masking ---- */

/* Returns where the last placeholder mask written ends (0: none). Masks in win[lo..) (the rest of each match lies before lo, already delivered)
** every occurrence of a value that ends at or after from; with a mask from the
** placeholders unless safe_only. */
static size_t mask_values(const eryx__secret_set *set, const uint8_t *hay, size_t hay_len, uint8_t *dst, size_t lo,
                          size_t from, bool safe_only) {
    size_t ph_end = 0; /* where the last placeholder mask ends in hay (0: none) */
    for (size_t v = 0; v < set->n; v++) {
        const secret *s = &set->secrets->v[v];
        size_t L = s->value_len;
        const uint8_t *mask = !safe_only && set->ph_len[v] == L ? (const uint8_t *)set->ph[v] : NULL;
        size_t at = from >= L - 1 ? from - (L - 1) : 0;
        while (at + L <= hay_len) {
            const uint8_t *m = memmem(hay + at, hay_len - at, s->value, L);
            if (!m) break;
            size_t pos = (size_t)(m - hay);
            for (size_t j = pos > lo ? pos : lo; j < pos + L; j++) dst[j - lo] = mask ? mask[j - pos] : set->safe;
            if (mask && pos + L > ph_end) ph_end = pos + L;
            at = pos + 1;
        }
    }
    return ph_end;
}

/* The longest tail of raw (at most each value's length - 1) that is a value's first bytes. */
static size_t value_tail(const eryx__secret_set *set, const uint8_t *raw, size_t len) {
    size_t best = 0;
    for (size_t v = 0; v < set->n; v++) {
        const secret *s = &set->secrets->v[v];
        size_t L = s->value_len, k = len < L - 1 ? len : L - 1, b = 0;
        if (k <= best) continue;
        const uint32_t *f = set->fail[v];
        for (const uint8_t *p = raw + len - k; p < raw + len; p++) { /* KMP: never a full match in L - 1 bytes */
            while (b && *p != s->value[b]) b = f[b - 1];
            if (*p == s->value[b]) b++;
        }
        if (b > best) best = b;
    }
    return best;
}

/* Keeps the last keep bytes of b. */
static void keep_tail(eryx__bytes *b, size_t keep) {
    if (b->len > keep) drop_front(b, b->len - keep);
}

static int in_filter_run(eryx__secret_stream *st, const void *in, size_t len, bool final, eryx__bytes *out) {
    if (!st || !st->set || !st->set->n) return eryx__bytes_append(out, in, len) ? 0 : ERYX__SECRET_ENOMEM;
    const eryx__secret_set *set = st->set;
    in_filter *f = &st->in;
    size_t old = f->raw.len, old_pend = f->pend.len, out_start = out->len, octx_len = f->octx.len;
    if (!eryx__bytes_append(&f->raw, in, len)) return ERYX__SECRET_ENOMEM;
    if (!eryx__bytes_append(&f->pend, in, len)) goto oom;
    /* Pass 1: each value that ends in the new bytes, masked (its delivered part stays). */
    size_t ph_end = mask_values(set, f->raw.p, f->raw.len, f->pend.p, f->nctx, old, false);
    uint64_t base = f->total - f->nctx; /* raw[0]'s place in the stream */
    if (ph_end && base + ph_end + set->max_value > f->reach) f->reach = base + ph_end + set->max_value;
    size_t hold = 0;
    if (!final) {
        size_t tail = value_tail(set, f->raw.p, f->raw.len);
        if (tail >= ERYX__SECRET_HOLD_MIN) hold = tail < f->pend.len ? tail : f->pend.len;
    }
    size_t emit = f->pend.len - hold;
    /* Pass 2, on what the guest will have seen: a value spelled across a mask (a
    ** placeholder's characters next to the stream's) gets the safe byte, which no
    ** value holds, so no new one can appear. */
    size_t ctx = f->octx.len;
    if (f->total < f->reach) {
        if (!eryx__bytes_append(&f->octx, f->pend.p, emit)) goto oom;
        mask_values(set, f->octx.p, f->octx.len, f->octx.p + ctx, ctx, ctx, true);
        if (!eryx__bytes_append(out, f->octx.p + ctx, emit)) goto oom;
    } else { /* no placeholder mask near: the output context is all it needs */
        size_t tail = emit < set->max_value - 1 ? emit : set->max_value - 1;
        if (!eryx__bytes_append(out, f->pend.p, emit) || !eryx__bytes_append(&f->octx, f->pend.p + emit - tail, tail))
            goto oom;
    }
    keep_tail(&f->octx, set->max_value - 1);
    f->total += emit;
    /* The raw context: the last max_value - 1 delivered bytes, then what is held. */
    size_t delivered = f->nctx + emit, keep = delivered < set->max_value - 1 ? delivered : set->max_value - 1;
    drop_front(&f->raw, delivered - keep);
    f->nctx = keep;
    drop_front(&f->pend, emit);
    return 0;
oom:
    /* Undo: as if this read had not happened (only the tails grew). */
    f->raw.len = old;
    f->pend.len = old_pend;
    f->octx.len = octx_len;
    out->len = out_start;
    return ERYX__SECRET_ENOMEM;
}

int eryx__secret_in(eryx__secret_stream *st, const void *in, size_t len, eryx__bytes *out) {
    return in_filter_run(st, in, len, false, out);
}

int eryx__secret_in_flush(eryx__secret_stream *st, eryx__bytes *out) { return in_filter_run(st, "", 0, true, out); }

size_t eryx__secret_in_held(const eryx__secret_stream *st) { return st ? st->in.pend.len : 0; }

/* ---- output scrubbing ---- */

eryx__secret_scrubber *eryx__secret_scrubber_new(const eryx__secret_set *set) {
    eryx__secret_scrubber *sc = calloc(1, sizeof *sc);
    if (sc) sc->set = set;
    return sc;
}

void eryx__secret_scrubber_free(eryx__secret_scrubber *sc) {
    if (!sc) return;
    eryx__bytes_free(&sc->held);
    free(sc);
}

static int scrub_run(const eryx__secret_set *set, const uint8_t *buf, size_t len, bool final, eryx__bytes *out,
                     size_t *consumed) {
    size_t i = 0, start = out->len;
    scan sc = {.ps = &set->scrub, .buf = buf, .len = len};
    for (;;) {
        size_t id = 0;
        bool partial;
        size_t at = find_next(&sc, i, final, &id, &partial);
        if (!eryx__bytes_append(out, buf + i, at - i)) break;
        if (at == len || partial) {
            *consumed = at;
            return 0;
        }
        if (!eryx__bytes_append(out, ERYX__SECRET_REDACTED, sizeof ERYX__SECRET_REDACTED - 1)) break;
        i = at + set->scrub.v[id].len;
    }
    out->len = start;
    return ERYX__SECRET_ENOMEM;
}

static int scrub_filter(eryx__secret_scrubber *sc, const void *in, size_t len, bool final, eryx__bytes *out) {
    if (!sc->set || !sc->set->n) return eryx__bytes_append(out, in, len) ? 0 : ERYX__SECRET_ENOMEM;
    size_t held = sc->held.len, used = 0;
    if (!eryx__bytes_append(&sc->held, in, len)) return ERYX__SECRET_ENOMEM;
    int rc = scrub_run(sc->set, sc->held.p, sc->held.len, final, out, &used);
    if (rc) {
        sc->held.len = held;
        return rc;
    }
    drop_front(&sc->held, used);
    return 0;
}

int eryx__secret_scrub(eryx__secret_scrubber *sc, const void *in, size_t len, eryx__bytes *out) {
    return scrub_filter(sc, in, len, false, out);
}

int eryx__secret_scrub_flush(eryx__secret_scrubber *sc, eryx__bytes *out) { return scrub_filter(sc, "", 0, true, out); }

int eryx__secret_scrub_all(const eryx__secret_set *set, const void *in, size_t len, eryx__bytes *out) {
    if (!set || !set->n) return eryx__bytes_append(out, in, len) ? 0 : ERYX__SECRET_ENOMEM;
    size_t used = 0;
    return scrub_run(set, in, len, true, out, &used);
}
