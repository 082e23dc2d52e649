/* Unit test of the network policy (src/net/addr.c, src/net/policy.c) and its C API
** setters (src/sandbox/network_api.c): every IPv4 spelling a resolver accepts and
** the near misses it must refuse, IPv6 with brackets, zones and embedded IPv4,
** canonical text, CIDRs, host names and globs; every default blocked range with a
** probe address, public addresses allowed; each rule (blocked hosts beat allowed
** ones, allowed hosts, internal hosts, allowed networks, allow_localhost, a cleared
** block list) with its message; the setters' errors; copy-on-write (a sandbox's
** config does not change under it). No network is touched. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "../src/net/net.h"
#include "../src/sandbox/sandbox.h"
#include "check.h"
#include "eryx.h"

/* parse(s) gives the canonical text want (NULL: s must not parse). */
static void ip_case(const char *s, size_t len, const char *want, int line) {
    eryx__ip ip;
    bool ok = eryx__ip_parse(s, len, &ip);
    char text[64] = "";
    if (ok) eryx__ip_format(&ip, text);
    if (!want) {
        CHECKF(!ok, "line %d: '%.*s' parsed as %s", line, (int)len, s, text);
        return;
    }
    CHECKF(ok && !strcmp(text, want), "line %d: '%.*s' gave %s, want %s", line, (int)len, s, ok ? text : "(refused)",
           want);
    /* The canonical text parses to the same address. */
    eryx__ip again;
    CHECKF(ok && eryx__ip_parse(text, strlen(text), &again) && again.family == ip.family &&
               !memcmp(again.b, ip.b, 16) && again.scope == ip.scope,
           "line %d: %s does not round-trip", line, text);
}
#define IP(s, want) ip_case(s, strlen(s), want, __LINE__)

static void test_ip_parse(void) {
    /* IPv4: every spelling of 127.0.0.1 a libc resolver accepts. */
    IP("127.0.0.1", "127.0.0.1");
    IP("2130706433", "127.0.0.1");
    IP("0177.0.0.1", "127.0.0.1");
    IP("0x7f.0.0.1", "127.0.0.1");
    IP("0X7F.0.0.01", "127.0.0.1");
    IP("0x7f000001", "127.0.0.1");
    IP("017700000001", "127.0.0.1");
    IP("127.1", "127.0.0.1");
    IP("127.0.1", "127.0.0.1");
    IP("0x7f.1", "127.0.0.1");
    IP("0x00000000007f.0.0.1", "127.0.0.1");
    IP("0", "0.0.0.0");
    IP("0127", "0.0.0.87");
    IP("255.255.255.255", "255.255.255.255");
    IP("4294967295", "255.255.255.255");
    IP("0xffffffff", "255.255.255.255");
    IP("1.16777215", "1.255.255.255");
    IP("1.2.65535", "1.2.255.255");
    IP("169.254.43518", "169.254.169.254");
    /* ...and the near misses, which a strict parser refuses. */
    IP("1.2.3.4.5", NULL);
    IP("256.0.0.1", NULL);
    IP("1.2.3.256", NULL);
    IP("1.16777216", NULL);
    IP("1.2.65536", NULL);
    IP("4294967296", NULL);
    IP("99999999999999999999999", NULL);
    IP("0x100000000", NULL);
    IP("1.2.3.4 x", NULL);
    IP("1.2.3.4 ", NULL);
    IP(" 1.2.3.4", NULL);
    IP("1.2.3.4\n", NULL);
    IP("0x", NULL);
    IP("0x.1", NULL);
    IP("", NULL);
    IP(".", NULL);
    IP("08.0.0.1", NULL);
    IP("0x1g", NULL);
    IP("1..2", NULL);
    IP("1.2.3.", NULL);
    IP(".1.2.3", NULL);
    IP("-1", NULL);
    IP("+1", NULL);
    IP("[1.2.3.4]", NULL);
    IP("1.2.3.4%eth0", NULL);
    IP("example.com", NULL);
    ip_case("1.2.3.4\0", 8, NULL, __LINE__); /* an embedded NUL */
    ip_case("::f\0junk", 8, NULL, __LINE__);
    ip_case("127.0.0.1xyz", 9, "127.0.0.1", __LINE__); /* only len bytes are read */
    ip_case("127.0.0.1", 0, NULL, __LINE__);

    /* IPv6: canonical text, brackets, zones, IPv4 inside. */
    IP("::1", "::1");
    IP("[::1]", "::1");
    IP("0:0:0:0:0:0:0:1", "::1");
    IP("::", "::");
    IP("FE80::1", "fe80::1");
    IP("2606:4700:0000::1111", "2606:4700::1111");
    IP("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1");
    IP("::ffff:127.0.0.1", "127.0.0.1");
    IP("::FFFF:7f00:1", "127.0.0.1");
    IP("[::ffff:169.254.169.254]", "169.254.169.254");
    IP("::127.0.0.1", "127.0.0.1");
    IP("::2", "0.0.0.2");
    IP("::ffff:0:127.0.0.1", "127.0.0.1");
    IP("64:ff9b::7f00:1", "64:ff9b::7f00:1");
    IP("64:ff9b::127.0.0.1", "64:ff9b::7f00:1");
    IP("fe80::1%2", "fe80::1%2");
    IP("[fe80::1%3]", "fe80::1%3");
    IP("::ffff:1.2.3.4%eth0", "1.2.3.4");
    IP("::ffff:1.2.3", NULL);
    IP("::ffff:1.2.3.4.5", NULL);
    IP("::ffff:0x7f.1", NULL);
    IP(":::1", NULL);
    IP("1:2:3:4:5:6:7:8:9", NULL);
    IP("12345::1", NULL);
    IP("[::1", NULL);
    IP("::1]", NULL);
    IP("[]", NULL);
    IP("[", NULL);
    IP("fe80::1%", NULL);
    IP("fe80::1%eth 0", NULL);
    IP("fe80::1%99999999999", NULL);
    IP("fe80::1%averyveryverylongname", NULL);
    IP("fe80::1%%2", NULL);
    /* An interface name keeps a nonzero scope, known or not. */
    eryx__ip ip;
    CHECK(eryx__ip_parse("fe80::1%eth0", 12, &ip) && ip.family == 6 && ip.scope != 0);
    CHECK(eryx__ip_parse("fe80::1%no-such-if9", 19, &ip) && ip.scope != 0);
    CHECK(eryx__ip_parse("fe80::1%lo", 10, &ip) && ip.scope != 0);
    CHECK(eryx__ip_parse("::1", 3, &ip) && ip.family == 6 && ip.scope == 0 && ip.b[15] == 1);
    CHECK(eryx__ip_parse("10.1.2.3", 8, &ip) && ip.family == 4 && ip.b[0] == 10 && ip.b[3] == 3);

    /* A resolver's raw answer is normalized by format and by the checks. */
    eryx__ip raw = {.family = 6, .b = {[10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1}};
    char text[64];
    CHECK(eryx__ip_format(&raw, text) == 9 && !strcmp(text, "127.0.0.1"));
    eryx__ip_normalize(&raw);
    CHECK(raw.family == 4 && raw.b[0] == 127 && raw.b[3] == 1);
    eryx__ip bad = {.family = 5};
    CHECK(eryx__ip_format(&bad, text) == 0 && text[0] == '\0');
}

static void cidr_case(const char *s, const char *want, int line) {
    eryx__cidr c;
    bool ok = eryx__cidr_parse(s, &c);
    char text[80] = "";
    if (ok) {
        size_t n = eryx__ip_format(&c.ip, text);
        snprintf(text + n, sizeof text - n, "/%u", c.prefix);
    }
    if (!want) CHECKF(!ok, "line %d: CIDR '%s' parsed as %s", line, s, text);
    else
        CHECKF(ok && !strcmp(text, want), "line %d: CIDR '%s' gave %s, want %s", line, s, ok ? text : "(refused)",
               want);
}
#define CIDR(s, want) cidr_case(s, want, __LINE__)

static bool contains(const char *cidr, const char *addr) {
    eryx__cidr c;
    eryx__ip ip;
    bool ok = eryx__cidr_parse(cidr, &c) && eryx__ip_parse(addr, strlen(addr), &ip);
    CHECKF(ok, "%s or %s does not parse", cidr, addr);
    return ok && eryx__cidr_contains(&c, &ip);
}

static void test_cidr(void) {
    CIDR("10.0.0.0/8", "10.0.0.0/8");
    CIDR("0.0.0.0/0", "0.0.0.0/0");
    CIDR("::/0", "::/0");
    CIDR("fd00::/8", "fd00::/8");
    CIDR("FE80::/10", "fe80::/10");
    CIDR("1.2.3.4", "1.2.3.4/32");
    CIDR("::1", "::1/128");
    CIDR("1.2.3.4/32", "1.2.3.4/32");
    CIDR("::ffff:10.0.0.0/104", "10.0.0.0/8");
    CIDR("0xa000000/8", "10.0.0.0/8");
    /* Bits set past the prefix are refused (a typo, never silently widened). */
    CIDR("10.0.0.1/8", NULL);
    CIDR("fd00::1/8", NULL);
    CIDR("10/8", NULL);
    CIDR("10.0.0.0/33", NULL);
    CIDR("::/129", NULL);
    CIDR("10.0.0.0/", NULL);
    CIDR("10.0.0.0/08", NULL);
    CIDR("10.0.0.0/-1", NULL);
    CIDR("10.0.0.0/+8", NULL);
    CIDR("10.0.0.0/8x", NULL);
    CIDR("10.0.0.0/8/8", NULL);
    CIDR("10.0.0.0/1000", NULL);
    CIDR("10.0.0.0 /8", NULL);
    CIDR(" 10.0.0.0/8", NULL);
    CIDR("/8", NULL);
    CIDR("junk", NULL);
    CIDR("", NULL);
    CIDR("fe80::%eth0/64", NULL);
    CIDR("fe80::%1/64", NULL);
    CIDR("::ffff:0:0/95", NULL);
    CIDR("[::1]/128", "::1/128");
    CHECK(!eryx__cidr_parse(NULL, &(eryx__cidr){0}));

    CHECK(contains("10.0.0.0/8", "10.1.2.3"));
    CHECK(!contains("10.0.0.0/8", "11.0.0.0"));
    CHECK(contains("172.16.0.0/12", "172.31.255.255"));
    CHECK(!contains("172.16.0.0/12", "172.32.0.0"));
    CHECK(!contains("172.16.0.0/12", "172.15.255.255"));
    CHECK(contains("100.64.0.0/10", "100.127.255.255"));
    CHECK(!contains("100.64.0.0/10", "100.128.0.0"));
    CHECK(contains("0.0.0.0/0", "203.0.113.9"));
    CHECK(contains("1.2.3.4", "1.2.3.4"));
    CHECK(!contains("1.2.3.4", "1.2.3.5"));
    CHECK(contains("fc00::/7", "fdff::1"));
    CHECK(!contains("fc00::/7", "fe00::1"));
    CHECK(contains("10.0.0.0/8", "::ffff:10.9.9.9")); /* the IPv4 inside */
    /* IPv4 and IPv6 never match each other. */
    CHECK(!contains("::/0", "1.2.3.4"));
    CHECK(!contains("0.0.0.0/0", "::1"));
    CHECK(!contains("0.0.0.0/0", "2606:4700::1111"));
}

static void test_host_names(void) {
    CHECK(eryx__host_match("*.example.com", "a.b.example.com"));
    CHECK(!eryx__host_match("*.example.com", "example.com"));
    CHECK(!eryx__host_match("*.example.com", "evil-example.com"));
    CHECK(eryx__host_match("EXAMPLE.com", "example.COM."));
    CHECK(eryx__host_match("example.com.", "example.com"));
    CHECK(!eryx__host_match("example.com", "example.com.."));
    CHECK(eryx__host_match("api.*.com", "api.x.y.com"));
    CHECK(eryx__host_match("a?c", "abc"));
    CHECK(!eryx__host_match("a?c", "ac"));
    CHECK(eryx__host_match("*", "anything.at.all"));
    CHECK(eryx__host_match("**a", "a"));
    CHECK(eryx__host_match("a*b*c", "aXbYc"));
    CHECK(!eryx__host_match("a*b*c", "aXbY"));
    CHECK(eryx__host_match("", ""));
    CHECK(!eryx__host_match("", "a"));
    CHECK(!eryx__host_match("example.com", "example.co"));
    CHECK(!eryx__host_match("example.co", "example.com"));
    CHECK(eryx__host_match("127.0.0.1", "127.0.0.1"));
    CHECK(eryx__host_match("2001:db8::*", "2001:db8::1"));
    /* A pattern made to backtrack: still quick, and right. */
    char host[260], pat[130];
    memset(host, 'a', 253), host[253] = '\0';
    for (int i = 0; i < 64; i++) pat[2 * i] = '*', pat[2 * i + 1] = 'a';
    pat[128] = 'b', pat[129] = '\0';
    CHECK(!eryx__host_match(pat, host));

    eryx__errbuf why;
    CHECK(eryx__host_name_check("a.b-c_d.example.com", 19, &why));
    CHECK(eryx__host_name_check("x.", 2, &why));
    CHECK(eryx__host_name_check("localhost", 9, &why));
    CHECK(!eryx__host_name_check("a b", 3, &why) && strstr(why.msg, "' '") && why.status == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(!eryx__host_name_check("a\x01", 2, &why) && strstr(why.msg, "0x01"));
    CHECK(!eryx__host_name_check("a\0b", 3, &why) && strstr(why.msg, "0x00"));
    CHECK(!eryx__host_name_check("caf\xc3\xa9", 5, &why) && strstr(why.msg, "0xc3"));
    CHECK(!eryx__host_name_check("a..b", 4, &why) && strstr(why.msg, "empty label"));
    CHECK(!eryx__host_name_check("a..", 3, &why) && strstr(why.msg, "empty label"));
    CHECK(!eryx__host_name_check(".a", 2, &why));
    CHECK(!eryx__host_name_check("", 0, &why) && strstr(why.msg, "empty"));
    CHECK(!eryx__host_name_check(".", 1, &why));
    CHECK(!eryx__host_name_check("a*b", 3, &why));
    CHECK(!eryx__host_name_check("::1", 3, &why));
    char name[300];
    memset(name, 'a', 64);
    CHECK(!eryx__host_name_check(name, 64, &why) && strstr(why.msg, "63"));
    CHECK(eryx__host_name_check(name, 63, &why));
    for (int i = 0; i < 300; i++) name[i] = i % 50 == 49 ? '.' : 'a';
    CHECK(eryx__host_name_check(name, 253, &why));
    CHECK(!eryx__host_name_check(name, 254, &why) && strstr(why.msg, "253"));
    CHECK(eryx__host_pattern_check("*.example.com", &why));
    CHECK(eryx__host_pattern_check("api-?.example.com", &why));
    CHECK(!eryx__host_pattern_check("a b.com", &why));
    CHECK(!eryx__host_pattern_check("", &why));
}

/* A check's verdict; on a refusal *msg holds the message. */
static bool addr_ok(const eryx__net_config *c, const char *name, const char *addr, eryx__errbuf *why) {
    eryx__ip ip;
    bool parsed = eryx__ip_parse(addr, strlen(addr), &ip);
    CHECKF(parsed, "probe %s does not parse", addr);
    eryx__errbuf_clear(why);
    bool ok = parsed && eryx__net_allow_addr(c, name, &ip, why);
    CHECKF(ok || strstr(why->msg, "network policy: "), "refusal of %s without a message: '%s'", addr, why->msg);
    return ok;
}

static void test_defaults(void) {
    eryx__net_config *c = eryx__net_config_new();
    CHECK(c != NULL);
    if (!c) return;
    CHECK(eryx__net_config_max_connections(c) == 10);
    CHECK(eryx__net_config_connect_timeout_ms(c) == 30000);
    CHECK(eryx__net_config_io_timeout_ms(c) == 60000);
    CHECK(eryx__net_config_system_roots(c));
    void *user = (void *)1;
    CHECK(eryx__net_config_resolver(c, &user) == NULL && user == NULL);
    CHECK(eryx__net_config_roots(c, NULL, NULL) == 0);

    /* Every default range, with an address inside it and the range named. */
    static const char *const probes[][2] = {
        {"169.254.169.254", "169.254.0.0/16"},
        {"100.64.0.1", "100.64.0.0/10"},
        {"10.1.2.3", "10.0.0.0/8"},
        {"172.31.255.255", "172.16.0.0/12"},
        {"192.168.1.1", "192.168.0.0/16"},
        {"127.0.0.1", "127.0.0.0/8"},
        {"2130706433", "127.0.0.0/8"},
        {"0.0.0.0", "0.0.0.0/8"},
        {"224.0.0.1", "224.0.0.0/4"},
        {"255.255.255.255", "240.0.0.0/4"},
        {"192.0.0.8", "192.0.0.0/24"},
        {"192.0.2.1", "192.0.2.0/24"},
        {"192.88.99.1", "192.88.99.0/24"},
        {"198.19.0.1", "198.18.0.0/15"},
        {"198.51.100.7", "198.51.100.0/24"},
        {"203.0.113.200", "203.0.113.0/24"},
        {"::", "::/128"},
        {"::1", "::1/128"},
        {"fe80::1%eth0", "fe80::/10"},
        {"fd00::1", "fc00::/7"},
        {"::ffff:127.0.0.1", "127.0.0.0/8"},
        {"::ffff:169.254.169.254", "169.254.0.0/16"},
        {"::169.254.169.254", "169.254.0.0/16"},
        {"64:ff9b::7f00:1", "64:ff9b::/96"},
        {"64:ff9b:1::1", "64:ff9b:1::/48"},
        {"100::1", "100::/64"},
        {"2001::1", "2001::/23"},
        {"2001:db8::1", "2001:db8::/32"},
        {"2002:7f00:1::1", "2002::/16"},
        {"fec0::1", "fec0::/10"},
        {"ff02::1", "ff00::/8"},
    };
    eryx__errbuf why;
    for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
        CHECKF(!addr_ok(c, NULL, probes[i][0], &why), "%s allowed by default", probes[i][0]);
        CHECKF(strstr(why.msg, probes[i][1]) != NULL, "%s: '%s' does not name %s", probes[i][0], why.msg, probes[i][1]);
    }
    static const char *const public[] = {"8.8.8.8",      "1.1.1.1",       "2606:4700::1111",
                                         "2a00:1450::1", "93.184.216.34", "::ffff:8.8.8.8",
                                         "172.32.0.1",   "100.128.0.1",   "2001:4860::8888"};
    for (size_t i = 0; i < sizeof public / sizeof *public; i++)
        CHECKF(addr_ok(c, NULL, public[i], &why), "%s refused: %s", public[i], why.msg);

    CHECK(!addr_ok(c, "metadata.example", "169.254.169.254", &why));
    CHECK_STR_EQ(why.msg,
                 "network policy: 169.254.169.254 (for 'metadata.example') is in blocked network 169.254.0.0/16");
    CHECK(!addr_ok(c, NULL, "0x7f.1", &why));
    CHECK_STR_EQ(why.msg, "network policy: 127.0.0.1 is in blocked network 127.0.0.0/8");

    /* Names: any valid one, by default; malformed ones refused with the reason. */
    CHECK(eryx__net_allow_name(c, "example.com", &why));
    CHECK(eryx__net_allow_name(c, "localhost", &why)); /* its addresses are what is checked */
    CHECK(eryx__net_allow_name(c, "8.8.8.8", &why));
    CHECK(!eryx__net_allow_name(c, "a b", &why) && strstr(why.msg, "network policy: host name") &&
          strstr(why.msg, "' '"));
    CHECK(!eryx__net_allow_name(c, "bad\x7f", &why) && strstr(why.msg, "0x7f"));
    CHECK(!eryx__net_allow_name(c, "", &why));
    CHECK(!eryx__net_allow_name(c, NULL, &why));
    eryx__net_config_release(c);
}

static void test_rules(void) {
    eryx__errbuf err, why;
    eryx__net_config *c = eryx__net_config_new();
    if (!c) return;
    CHECK(eryx__net_config_add_host(c, ERYX__NET_ALLOWED_HOSTS, "*.example.com", &err) == ERYX_OK);
    CHECK(eryx__net_config_add_host(c, ERYX__NET_ALLOWED_HOSTS, "0x08080808", &err) == ERYX_OK); /* kept as 8.8.8.8 */
    CHECK(eryx__net_config_add_host(c, ERYX__NET_BLOCKED_HOSTS, "bad.example.com", &err) == ERYX_OK);
    CHECK(eryx__net_allow_name(c, "api.example.com", &why));
    CHECK(eryx__net_allow_name(c, "API.Example.COM.", &why));
    CHECK(eryx__net_allow_name(c, "8.8.8.8", &why));
    CHECK(eryx__net_allow_name(c, "134744072", &why));
    CHECK(!eryx__net_allow_name(c, "example.org", &why));
    CHECK_STR_EQ(why.msg, "network policy: host 'example.org' is not in allowed_hosts");
    CHECK(!eryx__net_allow_name(c, "8.8.4.4", &why) && strstr(why.msg, "'8.8.4.4' is not in allowed_hosts"));
    CHECK(!eryx__net_allow_name(c, "localhost", &why)); /* not without allow_localhost */
    /* Blocked beats allowed. */
    CHECK(!eryx__net_allow_name(c, "bad.example.com", &why));
    CHECK_STR_EQ(why.msg, "network policy: host 'bad.example.com' matches blocked_hosts pattern 'bad.example.com'");
    CHECK(!eryx__net_allow_name(c, "BAD.example.com.", &why));
    /* An address given alone is checked as a name too. */
    CHECK(!addr_ok(c, NULL, "8.8.4.4", &why) && strstr(why.msg, "allowed_hosts"));
    CHECK(addr_ok(c, NULL, "8.8.8.8", &why));
    /* A name from allowed_hosts resolving into a blocked network is still refused. */
    CHECK(!addr_ok(c, "api.example.com", "10.0.0.5", &why) && strstr(why.msg, "10.0.0.0/8"));
    eryx__net_config_release(c);

    /* A blocked IP literal in any spelling. */
    c = eryx__net_config_new();
    CHECK(eryx__net_config_add_host(c, ERYX__NET_BLOCKED_HOSTS, "0177.0.0.1", &err) == ERYX_OK);
    CHECK(eryx__net_config_add_host(c, ERYX__NET_BLOCKED_HOSTS, "*.evil.test", &err) == ERYX_OK);
    CHECK(!eryx__net_allow_name(c, "2130706433", &why) && strstr(why.msg, "'127.0.0.1'"));
    CHECK(!eryx__net_allow_name(c, "::ffff:7f00:1", &why));
    CHECK(!eryx__net_allow_name(c, "a.evil.test", &why));
    CHECK(eryx__net_allow_name(c, "evil.test", &why));
    /* internal_hosts: those names (only) may resolve into blocked networks. */
    CHECK(eryx__net_config_add_host(c, ERYX__NET_INTERNAL_HOSTS, "*.cluster.local", &err) == ERYX_OK);
    CHECK(addr_ok(c, "db.cluster.local", "10.0.0.5", &why));
    CHECK(!addr_ok(c, "evil.com", "10.0.0.5", &why));
    CHECK_STR_EQ(why.msg, "network policy: 10.0.0.5 (for 'evil.com') is in blocked network 10.0.0.0/8");
    CHECK(!addr_ok(c, NULL, "10.0.0.5", &why));
    /* allowed_networks: exempt from the blocked ones. */
    CHECK(eryx__net_config_add_network(c, false, "10.1.0.0/16", &err) == ERYX_OK);
    CHECK(addr_ok(c, NULL, "10.1.2.3", &why));
    CHECK(addr_ok(c, "evil.com", "::ffff:10.1.2.3", &why));
    CHECK(!addr_ok(c, NULL, "10.2.0.1", &why));
    CHECK(!addr_ok(c, NULL, "127.0.0.1", &why)); /* its name is blocked, and so is the address */
    eryx__net_config_release(c);

    /* allow_localhost: the loopback addresses and names, nothing else. */
    c = eryx__net_config_new();
    eryx__net_config_allow_localhost(c);
    CHECK(addr_ok(c, NULL, "127.0.0.1", &why));
    CHECK(addr_ok(c, "localhost", "127.0.0.1", &why));
    CHECK(addr_ok(c, NULL, "127.5.6.7", &why));
    CHECK(addr_ok(c, NULL, "::1", &why));
    CHECK(addr_ok(c, NULL, "::ffff:127.0.0.1", &why));
    CHECK(!addr_ok(c, NULL, "0.0.0.0", &why));
    CHECK(!addr_ok(c, NULL, "::", &why));
    CHECK(!addr_ok(c, NULL, "169.254.169.254", &why));
    CHECK(!addr_ok(c, NULL, "192.168.1.1", &why));
    CHECK(eryx__net_config_add_host(c, ERYX__NET_ALLOWED_HOSTS, "api.example.com", &err) == ERYX_OK);
    CHECK(eryx__net_allow_name(c, "localhost", &why));
    CHECK(eryx__net_allow_name(c, "LOCALHOST.", &why));
    CHECK(eryx__net_allow_name(c, "app.localhost", &why));
    CHECK(eryx__net_allow_name(c, "127.0.0.1", &why));
    CHECK(eryx__net_allow_name(c, "[::1]", &why));
    CHECK(eryx__net_allow_name(c, "api.example.com", &why));
    CHECK(!eryx__net_allow_name(c, "localhost.example.com", &why));
    CHECK(!eryx__net_allow_name(c, "10.0.0.1", &why) && strstr(why.msg, "allowed_hosts"));
    CHECK(!eryx__net_allow_name(c, "other.com", &why));
    eryx__net_config_release(c);

    /* Permissive: the blocked networks cleared; adding one back works. */
    c = eryx__net_config_new();
    eryx__net_config_clear_blocked(c);
    eryx__net_config_allow_localhost(c);
    CHECK(addr_ok(c, NULL, "127.0.0.1", &why));
    CHECK(addr_ok(c, NULL, "169.254.169.254", &why));
    CHECK(addr_ok(c, NULL, "fd00::1", &why));
    CHECK(addr_ok(c, NULL, "0.0.0.0", &why));
    CHECK(eryx__net_config_add_network(c, true, "169.254.169.254", &err) == ERYX_OK);
    CHECK(!addr_ok(c, NULL, "169.254.169.254", &why) && strstr(why.msg, "169.254.169.254/32"));
    CHECK(addr_ok(c, NULL, "169.254.169.253", &why));
    eryx__net_config_release(c);

    /* Setter errors name the value; the config is unchanged. */
    c = eryx__net_config_new();
    CHECK(eryx__net_config_add_network(c, true, "10.0.0.0/33", &err) == ERYX_ERR_INVALID_ARGUMENT &&
          strstr(err.msg, "'10.0.0.0/33'") && strstr(err.msg, "blocked network"));
    CHECK(eryx__net_config_add_network(c, false, "junk", &err) == ERYX_ERR_INVALID_ARGUMENT &&
          strstr(err.msg, "'junk'") && strstr(err.msg, "allowed network"));
    CHECK(eryx__net_config_add_network(c, false, NULL, &err) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx__net_config_add_host(c, ERYX__NET_ALLOWED_HOSTS, "a b", &err) == ERYX_ERR_INVALID_ARGUMENT &&
          strstr(err.msg, "allowed_hosts"));
    CHECK(eryx__net_config_add_host(c, ERYX__NET_INTERNAL_HOSTS, "", &err) == ERYX_ERR_INVALID_ARGUMENT &&
          strstr(err.msg, "internal_hosts"));
    CHECK(eryx__net_config_add_host(c, ERYX__NET_BLOCKED_HOSTS, NULL, &err) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx__net_config_add_host(c, (eryx__net_host_list)7, "x", &err) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx__net_config_set_limits(c, 0, 1, 1, &err) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx__net_allow_name(c, "anything.example", &why)); /* no allowed_hosts were added */
    CHECK(eryx__net_config_set_limits(c, 3, 0, 5, &err) == ERYX_OK);
    CHECK(eryx__net_config_max_connections(c) == 3 && eryx__net_config_connect_timeout_ms(c) == 0 &&
          eryx__net_config_io_timeout_ms(c) == 5);
    eryx__net_config_release(c);
}

static int fake_resolver(void *user, const char *name, eryx_net_addr *addrs, size_t cap, size_t *count) {
    (void)user, (void)name, (void)addrs, (void)cap;
    *count = 0;
    return 0;
}

static void test_copy_on_write(void) {
    eryx__errbuf err, why;
    eryx__net_config *slot = eryx__net_config_new();
    CHECK(eryx__net_config_mutable(&slot) == slot); /* alone: changed in place */
    eryx__net_config *sandbox = eryx__net_config_ref(slot);
    eryx__net_config *m = eryx__net_config_mutable(&slot);
    CHECK(m && m == slot && m != sandbox);
    static const char root[] = "root bytes";
    CHECK(eryx__net_config_add_host(m, ERYX__NET_ALLOWED_HOSTS, "only.example", &err) == ERYX_OK);
    CHECK(eryx__net_config_add_root(m, root, sizeof root, &err) == ERYX_OK);
    eryx__net_config_set_resolver(m, fake_resolver, &why);
    eryx__net_config_set_system_roots(m, false);
    eryx__net_config_clear_blocked(m);
    /* The sandbox's config is as it was. */
    CHECK(eryx__net_allow_name(sandbox, "other.example", &why));
    CHECK(!addr_ok(sandbox, NULL, "10.0.0.1", &why));
    CHECK(eryx__net_config_roots(sandbox, NULL, NULL) == 0 && eryx__net_config_system_roots(sandbox));
    CHECK(eryx__net_config_resolver(sandbox, NULL) == NULL);
    CHECK(!eryx__net_allow_name(slot, "other.example", &why));
    const void *const *data;
    const size_t *lens;
    CHECK(eryx__net_config_roots(slot, &data, &lens) == 1 && lens[0] == sizeof root && !memcmp(data[0], root, lens[0]));
    void *user = NULL;
    CHECK(eryx__net_config_resolver(slot, &user) == fake_resolver && user == &why);
    /* A second copy carries everything over. */
    eryx__net_config *sandbox2 = eryx__net_config_ref(slot);
    m = eryx__net_config_mutable(&slot);
    CHECK(m && m != sandbox2);
    CHECK(eryx__net_config_roots(m, &data, &lens) == 1 && !memcmp(data[0], root, sizeof root));
    CHECK(!eryx__net_allow_name(m, "other.example", &why) && eryx__net_allow_name(m, "only.example", &why));
    CHECK(addr_ok(m, "only.example", "10.0.0.1", &why) && !eryx__net_config_system_roots(m));
    eryx__net_config_release(sandbox);
    eryx__net_config_release(sandbox2);
    eryx__net_config_release(slot);
    eryx__net_config_release(NULL);
    CHECK(eryx__net_config_ref(NULL) == NULL);
}

/* A self-signed certificate, as PEM (malloc'd) and DER. */
static char *make_cert(unsigned char **der, int *der_len) {
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"test root", -1, -1,
                               0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, key);
    X509_sign(x, key, EVP_sha256());
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, x);
    char *p;
    long n = BIO_get_mem_data(bio, &p);
    char *pem = calloc(1, (size_t)n + 1);
    memcpy(pem, p, (size_t)n);
    *der = NULL;
    *der_len = i2d_X509(x, der);
    BIO_free(bio);
    X509_free(x);
    EVP_PKEY_free(key);
    return pem;
}

static void test_api(void) {
    eryx_builder *b = eryx_builder_new();
    CHECK(b != NULL);
    if (!b) return;
    /* Network off: the setters refuse, saying so. */
    CHECK(eryx_builder_net_allow_host(b, "example.com") == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(eryx_builder_errmsg(b), "network is off") != NULL);
    CHECK(eryx_builder_net_allow_localhost(b) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_net_set_resolver(b, fake_resolver, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(b->spec.net == NULL);
    CHECK(eryx_builder_set_network(NULL, 1) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_net_allow_host(NULL, "x") == ERYX_ERR_INVALID_ARGUMENT);

    CHECK(eryx_builder_set_network(b, 1) == ERYX_OK && b->spec.net != NULL);
    eryx__net_config *first = b->spec.net;
    CHECK(eryx_builder_set_network(b, 1) == ERYX_OK && b->spec.net == first); /* on again: kept */
    CHECK(eryx_builder_net_block_network(b, "10.0.0.0/33") == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(eryx_builder_errmsg(b), "'10.0.0.0/33'") != NULL);
    CHECK(eryx_builder_net_allow_network(b, "10.0.0.1/8") == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(eryx_builder_errmsg(b), "'10.0.0.1/8'") != NULL);
    CHECK(eryx_builder_net_block_network(b, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_net_allow_host(b, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_net_allow_host(b, "") == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_net_block_host(b, "bad host") == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(eryx_builder_errmsg(b), "blocked_hosts") && strstr(eryx_builder_errmsg(b), "' '"));
    CHECK(eryx_builder_net_allow_internal_host(b, "a\tb") == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_net_set_limits(b, 0, 1, 1) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(eryx_builder_errmsg(b), "max_connections") != NULL);
    CHECK(eryx_builder_net_add_root_cert(b, NULL, 0) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_net_add_root_cert(b, "junk", 4) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(eryx_builder_errmsg(b), "eryx_builder_net_add_root_cert") != NULL);
    eryx__errbuf why;
    CHECK(eryx__net_config_roots(b->spec.net, NULL, NULL) == 0);
    CHECK(eryx__net_allow_name(b->spec.net, "any.example", &why)); /* the failures changed nothing */

    /* A sandbox's spec holds a reference; later setters copy, and it keeps its config. */
    run_spec copy;
    CHECK(eryx__spec_copy(&copy, &b->spec) == 0 && copy.net == b->spec.net);
    CHECK(eryx_builder_net_allow_host(b, "*.example.com") == ERYX_OK);
    CHECK(eryx_builder_net_block_host(b, "bad.example.com") == ERYX_OK);
    CHECK(eryx_builder_net_allow_internal_host(b, "*.cluster.local") == ERYX_OK);
    CHECK(eryx_builder_net_allow_network(b, "10.1.0.0/16") == ERYX_OK);
    CHECK(eryx_builder_net_block_network(b, "8.8.8.0/24") == ERYX_OK);
    CHECK(eryx_builder_net_set_limits(b, 2, 100, 200) == ERYX_OK);
    CHECK(eryx_builder_net_use_system_roots(b, 0) == ERYX_OK);
    CHECK(eryx_builder_net_set_resolver(b, fake_resolver, b) == ERYX_OK);
    unsigned char *der;
    int der_len;
    char *pem = make_cert(&der, &der_len);
    CHECK(eryx_builder_net_add_root_cert(b, pem, strlen(pem)) == ERYX_OK);
    CHECK(der_len > 0 && eryx_builder_net_add_root_cert(b, der, (size_t)der_len) == ERYX_OK);
    CHECK(eryx_builder_net_add_root_cert(b, der, (size_t)der_len - 1) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(copy.net != b->spec.net);
    CHECK(eryx__net_allow_name(copy.net, "other.example", &why));
    CHECK(eryx__net_config_max_connections(copy.net) == 10 && eryx__net_config_system_roots(copy.net));
    eryx__net_config *c = b->spec.net;
    CHECK(!eryx__net_allow_name(c, "other.example", &why));
    CHECK(!eryx__net_allow_name(c, "bad.example.com", &why));
    CHECK(addr_ok(c, "db.cluster.local", "10.9.9.9", &why));
    CHECK(addr_ok(c, "x.example.com", "10.1.0.1", &why));
    CHECK(!addr_ok(c, "x.example.com", "8.8.8.8", &why) && strstr(why.msg, "8.8.8.0/24"));
    CHECK(eryx__net_config_max_connections(c) == 2 && eryx__net_config_connect_timeout_ms(c) == 100 &&
          eryx__net_config_io_timeout_ms(c) == 200 && !eryx__net_config_system_roots(c));
    void *user = NULL;
    CHECK(eryx__net_config_resolver(c, &user) == fake_resolver && user == b);
    CHECK(eryx__net_config_roots(c, NULL, NULL) == 2);
    CHECK(eryx_builder_net_allow_localhost(b) == ERYX_OK && eryx_builder_net_clear_blocked_networks(b) == ERYX_OK);
    CHECK(addr_ok(b->spec.net, "x.example.com", "10.200.0.1", &why));
    CHECK(eryx_builder_net_set_resolver(b, NULL, b) == ERYX_OK);
    CHECK(eryx__net_config_resolver(b->spec.net, &user) == NULL && user == NULL);
    eryx__spec_free(&copy);
    /* Off drops the policy; on again starts from the defaults. */
    CHECK(eryx_builder_set_network(b, 0) == ERYX_OK && b->spec.net == NULL);
    CHECK(eryx_builder_set_network(b, 1) == ERYX_OK && b->spec.net);
    CHECK(!addr_ok(b->spec.net, NULL, "10.200.0.1", &why) && eryx__net_allow_name(b->spec.net, "other.example", &why));
    free(pem);
    OPENSSL_free(der);
    eryx_builder_free(b);
}

int main(void) {
    test_ip_parse();
    test_cidr();
    test_host_names();
    test_defaults();
    test_rules();
    test_copy_on_write();
    test_api();
    return check_report("test_net_policy");
}
