/*
** IP literals, CIDRs, host names and host patterns (net.h). Pure functions over
** bytes: the policy's parsers of guest-controlled text, fuzzed by
** fuzz/fuzz_net_addr.c.
** IPv4 literals are parsed here, not with inet_aton: glibc's accepts anything after
** a space ("1.2.3.4 x"), and a checker must agree exactly with what it connects to.
*/
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include "net.h"

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static int hex_value(char c) {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

/* One part of an inet_aton-style IPv4 literal: "0x1f" (hex, at least one digit),
** "017" (octal), "17" (decimal). Values past 32 bits are refused. */
static bool v4_part(const char *s, size_t len, uint32_t *out) {
    unsigned base = 10;
    size_t i = 0;
    if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) base = 16, i = 2;
    else if (len >= 2 && s[0] == '0') base = 8, i = 1;
    if (i == len) return false; /* "" or "0x" */
    uint64_t v = 0;
    for (; i < len; i++) {
        int d = hex_value(s[i]);
        if (d < 0 || (unsigned)d >= base) return false;
        v = v * base + (unsigned)d;
        if (v > UINT32_MAX) return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* "a", "a.b", "a.b.c" or "a.b.c.d": the last part fills the bytes left. */
static bool parse_v4(const char *s, size_t len, uint8_t b[4]) {
    uint32_t parts[4];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.') continue;
        if (n == 4 || !v4_part(s + start, i - start, &parts[n])) return false;
        n++;
        start = i + 1;
    }
    for (size_t i = 0; i + 1 < n; i++)
        if (parts[i] > 255) return false;
    uint32_t last = parts[n - 1];
    if (n > 1 && last >> (8 * (5 - n))) return false; /* a.b: b < 2^24, a.b.c: c < 2^16, a.b.c.d: d < 2^8 */
    uint32_t v = last;
    for (size_t i = 0; i + 1 < n; i++) v |= parts[i] << (24 - 8 * i);
    b[0] = (uint8_t)(v >> 24), b[1] = (uint8_t)(v >> 16), b[2] = (uint8_t)(v >> 8), b[3] = (uint8_t)v;
    return true;
}

void eryx__ip_normalize(eryx__ip *ip) {
    if (ip->family != 6) return;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t translated[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0};
    static const uint8_t zero[12] = {0};
    const uint8_t *b = ip->b;
    bool v4 = !memcmp(b, mapped, 12) || !memcmp(b, translated, 12);
    /* IPv4-compatible ::a.b.c.d, but "::" and "::1" are IPv6's own. */
    if (!memcmp(b, zero, 12) && (b[12] | b[13] | b[14] || b[15] > 1)) v4 = true;
    if (!v4) return;
    uint8_t a[4];
    memcpy(a, b + 12, 4);
    *ip = (eryx__ip){.family = 4};
    memcpy(ip->b, a, 4);
}

/* The zone of "addr%zone": a number, or an interface name (its index; an unknown
** one keeps a nonzero scope, UINT32_MAX, so the address never counts as unscoped). */
static bool parse_zone(const char *z, size_t len, uint32_t *scope) {
    if (len == 0 || len >= IF_NAMESIZE) return false;
    bool numeric = true;
    for (size_t i = 0; i < len; i++) {
        char c = z[i];
        if (!is_digit(c)) numeric = false;
        if (!(is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'z') || c == '-' || c == '_' || c == '.')) return false;
    }
    if (numeric) {
        uint64_t v = 0;
        for (size_t i = 0; i < len; i++)
            if ((v = v * 10 + (unsigned)(z[i] - '0')) > UINT32_MAX) return false;
        *scope = (uint32_t)v;
        return true;
    }
    char name[IF_NAMESIZE];
    memcpy(name, z, len);
    name[len] = '\0';
    unsigned idx = if_nametoindex(name);
    *scope = idx ? idx : UINT32_MAX;
    return true;
}

bool eryx__ip_parse(const char *s, size_t len, eryx__ip *out) {
    if (!s || len == 0 || len > 128) return false;
    *out = (eryx__ip){0};
    bool bracketed = s[0] == '[';
    if (bracketed) {
        if (len < 2 || s[len - 1] != ']') return false;
        s++, len -= 2;
    }
    if (!memchr(s, ':', len)) {
        if (bracketed || !parse_v4(s, len, out->b)) return false;
        out->family = 4;
        return true;
    }
    const char *pct = memchr(s, '%', len);
    size_t alen = pct ? (size_t)(pct - s) : len;
    char text[64];
    if (alen >= sizeof text || memchr(s, '\0', alen)) return false; /* inet_pton would stop at a NUL */
    memcpy(text, s, alen);
    text[alen] = '\0';
    if (inet_pton(AF_INET6, text, out->b) != 1) return false;
    out->family = 6;
    if (pct && !parse_zone(pct + 1, len - alen - 1, &out->scope)) return false;
    eryx__ip_normalize(out);
    return true;
}

size_t eryx__ip_format(const eryx__ip *ip, char out[64]) {
    eryx__ip n = *ip;
    eryx__ip_normalize(&n);
    if (n.family == 4) return (size_t)snprintf(out, 64, "%u.%u.%u.%u", n.b[0], n.b[1], n.b[2], n.b[3]);
    if (n.family != 6 || !inet_ntop(AF_INET6, n.b, out, 64)) {
        out[0] = '\0';
        return 0;
    }
    size_t len = strlen(out);
    if (n.scope) len += (size_t)snprintf(out + len, 64 - len, "%%%u", (unsigned)n.scope);
    return len;
}

/* Strict: no zone, a decimal prefix without leading zeros in range, no bits set
** past the prefix (a typo such as "10.0.0.1/8" is refused, not silently widened). An
** IPv4-mapped network ("::ffff:10.0.0.0/104") is the IPv4 network it carries. */
bool eryx__cidr_parse(const char *s, eryx__cidr *out) {
    if (!s) return false;
    size_t len = strnlen(s, 130);
    if (len == 0 || len > 128) return false;
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    eryx__ip ip;
    if (!eryx__ip_parse(s, alen, &ip) || ip.scope || memchr(s, '%', alen)) return false;
    bool v6_text = memchr(s, ':', alen) != NULL;
    unsigned max = v6_text ? 128 : 32, prefix = max;
    if (slash) {
        const char *p = slash + 1;
        size_t plen = len - alen - 1;
        if (plen == 0 || plen > 3 || (plen > 1 && p[0] == '0')) return false;
        prefix = 0;
        for (size_t i = 0; i < plen; i++) {
            if (!is_digit(p[i])) return false;
            prefix = prefix * 10 + (unsigned)(p[i] - '0');
        }
        if (prefix > max) return false;
    }
    if (v6_text && ip.family == 4) {
        if (prefix < 96) return false;
        prefix -= 96;
    }
    unsigned bytes = ip.family == 4 ? 4 : 16;
    for (unsigned i = 0; i < bytes; i++) {
        unsigned keep = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * i : 0;
        uint8_t mask = (uint8_t)(0xff00u >> keep);
        if (ip.b[i] & ~mask & 0xff) return false;
    }
    *out = (eryx__cidr){.ip = ip, .prefix = (uint8_t)prefix};
    return true;
}

bool eryx__cidr_contains(const eryx__cidr *net, const eryx__ip *ip) {
    eryx__ip n = *ip;
    eryx__ip_normalize(&n);
    if (n.family != net->ip.family) return false;
    unsigned full = net->prefix / 8, rest = net->prefix % 8;
    if (memcmp(n.b, net->ip.b, full)) return false;
    if (!rest) return true;
    uint8_t mask = (uint8_t)(0xff00u >> rest);
    return (n.b[full] & mask) == net->ip.b[full];
}

bool eryx__host_match(const char *pattern, const char *host) {
    size_t plen = strlen(pattern), hlen = strlen(host);
    if (plen && pattern[plen - 1] == '.') plen--;
    if (hlen && host[hlen - 1] == '.') hlen--;
    /* Greedy with one backtrack point (the last '*'): linear enough, no recursion. */
    size_t p = 0, h = 0, star = SIZE_MAX, star_h = 0;
    while (h < hlen) {
        if (p < plen && pattern[p] == '*') {
            star = p++;
            star_h = h;
        } else if (p < plen && (pattern[p] == '?' || lower(pattern[p]) == lower(host[h]))) {
            p++, h++;
        } else if (star != SIZE_MAX) {
            p = star + 1;
            h = ++star_h;
        } else {
            return false;
        }
    }
    while (p < plen && pattern[p] == '*') p++;
    return p == plen;
}

bool eryx__net_refuse(eryx__errbuf *why, const char *fmt, ...) {
    if (!why) return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why->msg, sizeof why->msg, fmt, ap);
    va_end(ap);
    why->status = ERYX_ERR_INVALID_ARGUMENT;
    return false;
}

/* Letters, digits, '-', '_' (seen in real DNS names) and '.'; labels of 1..63;
** at most 253 characters, not counting one trailing dot. With wildcards, '*', '?'
** and ':' too (a pattern, which may be an IPv6 glob such as "2001:db8::*"). */
static bool name_check(const char *what, const char *name, size_t len, bool wildcards, eryx__errbuf *why) {
    if (len && name[len - 1] == '.') len--;
    if (len == 0) return eryx__net_refuse(why, "%s is empty", what);
    if (len > 253) return eryx__net_refuse(why, "%s is %zu characters long (at most 253)", what, len);
    /* Messages quote only the valid prefix: the rest may be any bytes. */
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '.') {
            if (label == 0) return eryx__net_refuse(why, "%s '%.*s' has an empty label", what, (int)i + 1, name);
            label = 0;
        } else if (is_digit((char)c) || (lower((char)c) >= 'a' && lower((char)c) <= 'z') || c == '-' || c == '_' ||
                   (wildcards && (c == '*' || c == '?' || c == ':'))) {
            if (++label > 63)
                return eryx__net_refuse(why, "%s '%.*s...' has a label over 63 characters", what, (int)i, name);
        } else if (c < 0x20 || c >= 0x7f) {
            return eryx__net_refuse(why, "%s '%.*s...' has the byte 0x%02x at offset %zu", what, (int)i, name, c, i);
        } else {
            return eryx__net_refuse(why, "%s '%.*s...' has '%c' at offset %zu (not allowed in a host name)", what,
                                    (int)i, name, c, i);
        }
    }
    if (label == 0) return eryx__net_refuse(why, "%s '%.*s' has an empty label", what, (int)len, name);
    return true;
}

bool eryx__host_name_check(const char *name, size_t len, eryx__errbuf *why) {
    return name_check("host name", name, len, false, why);
}

bool eryx__host_pattern_check(const char *pattern, eryx__errbuf *why) {
    return name_check("host pattern", pattern, strlen(pattern), true, why);
}
