/*
** libFuzzer target for the network policy's parsers of guest-controlled text
** (src/net/addr.c, and the checks of src/net/policy.c). Each input is tried as:
**   an IP literal: when it parses, its canonical text parses to the same address,
**   it held no space, control or non-ASCII byte, and glibc agrees (an IPv4 literal
**   means the same address to inet_aton; IPv6 text is accepted by inet_pton);
**   a CIDR: when it parses, the prefix is in range, the network contains its own
**   address, and "address/prefix" parses back to the same network;
**   a glob and a host (split at the first '\n'): matching never crashes, a text
**   matches itself, and "*" matches anything;
**   a name and an address for the default policy's checks (never crash; refusals
**   carry a message).
*/
#define _DEFAULT_SOURCE /* inet_aton: the reference the IPv4 parser is checked against */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include "../src/net/net.h"

static eryx__net_config *config;

static bool same_ip(const eryx__ip *a, const eryx__ip *b) {
    return a->family == b->family && !memcmp(a->b, b->b, 16) && a->scope == b->scope;
}

static void check_ip(const char *s, size_t n) {
    eryx__ip ip;
    if (!eryx__ip_parse(s, n, &ip)) return;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) abort();
    char text[64];
    size_t len = eryx__ip_format(&ip, text);
    if (len == 0 || len >= 64 || strlen(text) != len) abort();
    eryx__ip again;
    if (!eryx__ip_parse(text, len, &again) || !same_ip(&ip, &again)) abort();
    char z[160];
    memcpy(z, s, n);
    z[n] = '\0';
    if (!memchr(s, ':', n)) { /* IPv4: glibc's own reading of it */
        struct in_addr a;
        if (!inet_aton(z, &a) || memcmp(&a, ip.b, 4)) abort();
    } else if (s[0] != '[' && !memchr(s, '%', n)) {
        uint8_t b[16];
        if (inet_pton(AF_INET6, z, b) != 1) abort();
    }
}

static void check_cidr(const char *z) {
    eryx__cidr c;
    if (!eryx__cidr_parse(z, &c)) return;
    if (c.prefix > (c.ip.family == 4 ? 32 : 128) || c.ip.scope) abort();
    if (!eryx__cidr_contains(&c, &c.ip)) abort();
    char text[80];
    size_t len = eryx__ip_format(&c.ip, text);
    snprintf(text + len, sizeof text - len, "/%u", c.prefix);
    eryx__cidr again;
    if (!eryx__cidr_parse(text, &again) || again.prefix != c.prefix || !same_ip(&again.ip, &c.ip)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 150) return 0; /* past any host name or address: nothing new to find */
    if (!config && !(config = eryx__net_config_new())) abort();
    char z[160];
    memcpy(z, data, size);
    z[size] = '\0';
    check_ip(z, size);
    check_cidr(z);

    const char *nl = memchr(z, '\n', size);
    char pattern[160];
    size_t plen = nl ? (size_t)(nl - z) : size;
    memcpy(pattern, z, plen);
    pattern[plen] = '\0';
    const char *host = nl ? nl + 1 : z;
    eryx__host_match(pattern, host);
    if (!eryx__host_match(host, host) || !eryx__host_match("*", host)) abort();

    eryx__errbuf why;
    why.msg[0] = '\0';
    if (!eryx__net_allow_name(config, z, &why) && strncmp(why.msg, "network policy: ", 16)) abort();
    eryx__host_name_check(z, size, &why);
    eryx__host_pattern_check(z, &why);
    eryx__ip ip;
    if (eryx__ip_parse(z, size, &ip)) {
        why.msg[0] = '\0';
        if (!eryx__net_allow_addr(config, nl ? pattern : NULL, &ip, &why) && strncmp(why.msg, "network policy: ", 16))
            abort();
    }
    return 0;
}
