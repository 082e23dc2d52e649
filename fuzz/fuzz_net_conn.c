/*
** libFuzzer target for the host side of the guest's network imports
** (src/net/conn_abi.c, src/net/conn.c): names, addresses, flags, TLS options and
** buffer sizes as the guest passes them. Each input runs up to 32 calls on a fresh
** instance network (eryx__net over a WASI state) whose policy allows only
** 127.0.0.1 and the names the resolver hook maps there, so every connection goes to
** this process's own listener on 127.0.0.1 (the port is always the listener's:
** nothing else is ever reached). Results must be a length or a negative WASI errno
** (or -1000 from net_tls); output buffers are exact-size heap blocks, so ASan sees
** any write past the guest's cap. Waits are bounded by 1 ms (the connect and I/O
** timeouts), so a TLS handshake against the silent listener ends at once.
**
** Input: per call one byte picks the call (low 3 bits) and its small arguments
** (the high bits), one byte a payload length, then the payload.
*/
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include "../src/net/net.h"
#include "../src/wasi/wasi.h"

static eryx__net_config *config;
static int listener = -1, port;

static int fz_resolver(void *user, const char *name, eryx_net_addr *addrs, size_t cap, size_t *count) {
    (void)user;
    *count = 0;
    if (name[0] == 'x') return 1;            /* a failing resolver */
    if (name[0] == 'n' || cap < 2) return 0; /* no such name */
    addrs[0] = (eryx_net_addr){.family = 4, .addr = {127, 0, 0, 1}};
    addrs[1] = (eryx_net_addr){.family = 4, .addr = {10, 0, 0, 1}}; /* blocked: dropped */
    *count = 2;
    return 0;
}

static int fz_wait(void *user, struct pollfd *fds, size_t n, uint64_t timeout_ns) {
    (void)user;
    return poll(fds, (nfds_t)n, timeout_ns > 1000000u ? 1 : 0);
}

static void setup(void) {
    eryx__errbuf err;
    config = eryx__net_config_new();
    if (!config) abort();
    eryx__net_config_allow_localhost(config);
    if (eryx__net_config_add_host(config, ERYX__NET_ALLOWED_HOSTS, "127.0.0.1", &err) ||
        eryx__net_config_add_host(config, ERYX__NET_ALLOWED_HOSTS, "*.test", &err) ||
        eryx__net_config_set_limits(config, 4, 1, 1, &err))
        abort();
    eryx__net_config_set_resolver(config, fz_resolver, NULL);
    listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (bind(listener, (struct sockaddr *)&sa, sl) || listen(listener, 256) ||
        getsockname(listener, (struct sockaddr *)&sa, &sl))
        abort();
    port = ntohs(sa.sin_port);
}

/* Accepts and closes what the last input connected (so the queue never fills). */
static void drain_listener(void) {
    int c;
    while ((c = accept(listener, NULL, NULL)) >= 0) close(c);
}

static void check_rc(int32_t r, bool tls) {
    if (r < 0 && r != -1000 * tls && r < -ERYX__WASI_ENOTCAPABLE) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!config) setup();
    drain_listener();
    eryx__wasi_config wc = {0};
    eryx__wasi *w = eryx__wasi_new(&wc);
    eryx__net *n = w ? eryx__net_new(config, w, fz_wait, NULL) : NULL;
    if (!n) {
        eryx__wasi_free(w);
        return 0;
    }
    for (int calls = 0; calls < 32 && size >= 2; calls++) {
        uint8_t op = data[0], len = data[1];
        data += 2, size -= 2;
        if (len > size) len = (uint8_t)size;
        const uint8_t *p = data;
        data += len, size -= len;
        size_t cap = (size_t)(op >> 3) * 9; /* 0 .. 279: short and long enough */
        uint8_t *out = malloc(cap ? cap : 1);
        if (!out) break;
        int32_t fd = 4 + (op >> 3) % 4, r;
        switch (op & 7) {
        case 0: r = eryx__net_abi_resolve(n, p, len, (op >> 3) % 8, out, cap); break;
        case 1: r = eryx__net_abi_connect(n, p, len, NULL, 0, port, (op >> 3) % 8); break;
        case 2: r = eryx__net_abi_connect(n, p, len / 2, p + len / 2, len - len / 2, port, (op >> 3) % 4); break;
        case 3: r = eryx__net_abi_connect(n, NULL, 0, p, len, port, (op >> 3) & 1); break;
        case 4: r = eryx__net_abi_tls(n, fd, p, len); break;
        case 5: r = eryx__net_abi_info(n, fd, out, cap); break;
        case 6: r = eryx__net_abi_error(n, out, cap); break;
        default: {
            uint64_t a[1] = {(uint64_t)fd};
            r = -eryx__wasi_find_import("fd_close")->fn(w, (eryx__guest_mem){0}, a);
        }
        }
        check_rc(r, (op & 7) == 4);
        free(out);
    }
    eryx__wasi_free(w); /* closes the connections */
    if (eryx__net_open_count(n) != 0) abort();
    eryx__net_free(n);
    return 0;
}
