/* End-to-end tests of the guest's network connections (src/net/conn.c, the WASI
** stream fds, the eryx.net_* imports): real Python in the real sandbox over the raw
** ABI (`import _eryx, os, select`), against servers this test starts on 127.0.0.1
** (nothing leaves the machine; names come from a resolver hook, never from DNS).
** Networking off; an echo round trip; loopback refused by default in every IP
** spelling; allow_localhost; DNS rebinding through the resolver hook; the (name,
** address) pairing; max_connections; the connect and I/O timeouts; a cancel and
** the sandbox timeout during a blocked read; non-blocking connects with select;
** TLS (and a verification failure); secrets through a connection; the stats. */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "eryx.h"
#include "net_testcerts.h"


/* ---- servers on loopback ------------------------------------------------------------ */

enum { MODE_ECHO, MODE_SILENT, MODE_TLS_ECHO };

typedef struct server {
    int mode;
    int lfd, port;
    int stop[2]; /* a pipe: written to stop the thread */
    pthread_t thread;
    SSL_CTX *tls; /* MODE_TLS_ECHO */
} server;

/* A listening socket on addr (port 0: any); its port in *port. */
static int listen_on(const char *addr, int backlog, int *port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, addr, &sa.sin_addr);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, backlog) != 0) {
        close(fd);
        return -1;
    }
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* One TLS client, served on its own thread until it closes. */
static void *tls_conn_main(void *arg) {
    SSL *ssl = arg;
    if (SSL_accept(ssl) == 1) {
        char buf[4096];
        int n;
        while ((n = SSL_read(ssl, buf, sizeof buf)) > 0)
            if (SSL_write(ssl, buf, n) != n) break;
        SSL_shutdown(ssl);
    }
    int fd = SSL_get_fd(ssl);
    SSL_free(ssl);
    close(fd);
    return NULL;
}

/* Echo and silent: every client in one poll loop (up to 32 at once). */
static void *server_main(void *arg) {
    server *s = arg;
    struct pollfd p[34];
    int n = 2;
    p[0] = (struct pollfd){.fd = s->stop[0], .events = POLLIN};
    p[1] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
    for (;;) {
        if (poll(p, (nfds_t)n, -1) < 0) continue;
        if (p[0].revents) break;
        if (p[1].revents & POLLIN) {
            int c = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0 && s->mode == MODE_TLS_ECHO) {
                SSL *ssl = SSL_new(s->tls);
                SSL_set_fd(ssl, c);
                pthread_t t;
                pthread_create(&t, NULL, tls_conn_main, ssl);
                pthread_detach(t);
            } else if (c >= 0 && n < 34) {
                p[n++] = (struct pollfd){.fd = c, .events = POLLIN};
            } else if (c >= 0) {
                close(c);
            }
        }
        for (int i = 2; i < n; i++) {
            if (!p[i].revents) continue;
            char buf[65536];
            ssize_t r = read(p[i].fd, buf, sizeof buf);
            if (r <= 0) {
                close(p[i].fd);
                p[i--] = p[--n];
                continue;
            }
            if (s->mode == MODE_ECHO) {
                for (ssize_t off = 0; off < r;) {
                    ssize_t w = write(p[i].fd, buf + off, (size_t)(r - off));
                    if (w <= 0) break;
                    off += w;
                }
            }
        }
    }
    for (int i = 2; i < n; i++) close(p[i].fd);
    return NULL;
}

static bool server_start(server *s, int mode, const char *addr, SSL_CTX *tls) {
    memset(s, 0, sizeof *s);
    s->mode = mode;
    s->tls = tls;
    s->lfd = listen_on(addr, 64, &s->port);
    if (s->lfd < 0 || pipe(s->stop) != 0) return false;
    return pthread_create(&s->thread, NULL, server_main, s) == 0;
}

static void server_stop(server *s) {
    if (write(s->stop[1], "x", 1) != 1) return;
    pthread_join(s->thread, NULL);
    close(s->stop[0]);
    close(s->stop[1]);
    close(s->lfd);
    if (s->tls) SSL_CTX_free(s->tls);
}

/* ---- sandboxes ------------------------------------------------------------------------ */

/* The resolver hook: test names only, no DNS. "rebind.test" answers 127.0.0.2
** first and 127.0.0.1 after (a rebinding attack); "pair.test" 127.0.0.2. */
static int rebind_calls;
static int test_resolver(void *user, const char *name, eryx_net_addr *addrs, size_t cap, size_t *count) {
    (void)user;
    *count = 0;
    const char *ip = NULL;
    if (!strcmp(name, "rebind.test")) ip = rebind_calls++ == 0 ? "127.0.0.2" : "127.0.0.1";
    else if (!strcmp(name, "pair.test") || !strcmp(name, "echo.test")) ip = "127.0.0.2";
    else if (!strcmp(name, "fail.test")) return 1;
    else if (!strcmp(name, "mapped.test")) ip = "::ffff:127.0.0.1";
    else if (!strcmp(name, "mapped2.test")) ip = "::ffff:127.0.0.2";
    if (ip && strchr(ip, ':') && cap >= 1) {
        addrs[0].family = 6;
        inet_pton(AF_INET6, ip, addrs[0].addr);
        *count = 1;
        return 0;
    }
    if (!ip || cap < 1) return 0;
    addrs[0].family = 4;
    inet_pton(AF_INET, ip, addrs[0].addr);
    *count = 1;
    return 0;
}

typedef struct opts {
    bool network, localhost, resolver;
    const char *allow_network;
    uint32_t max_conns;
    uint64_t connect_ms, io_ms, timeout_ms;
    const char *root_pem;
    const char *secret_host; /* a secret named TOKEN allowed for this host */
} opts;

static eryx_sandbox *make(const opts *o) {
    eryx_builder *b = eryx_builder_new();
    if (o->network) CHECK(eryx_builder_set_network(b, 1) == ERYX_OK);
    if (o->localhost) CHECK(eryx_builder_net_allow_localhost(b) == ERYX_OK);
    if (o->allow_network) CHECK(eryx_builder_net_allow_network(b, o->allow_network) == ERYX_OK);
    if (o->resolver) CHECK(eryx_builder_net_set_resolver(b, test_resolver, NULL) == ERYX_OK);
    if (o->max_conns || o->connect_ms || o->io_ms)
        CHECK(eryx_builder_net_set_limits(b, o->max_conns ? o->max_conns : 10, o->connect_ms ? o->connect_ms : 30000,
                                          o->io_ms) == ERYX_OK);
    if (o->timeout_ms) CHECK(eryx_builder_set_timeout_ms(b, o->timeout_ms) == ERYX_OK);
    if (o->root_pem) {
        CHECK(eryx_builder_net_add_root_cert(b, o->root_pem, strlen(o->root_pem)) == ERYX_OK);
        CHECK(eryx_builder_net_use_system_roots(b, 0) == ERYX_OK);
    }
    if (o->secret_host) {
        const char *hosts[] = {o->secret_host};
        CHECK(eryx_builder_add_secret(b, "TOKEN", "s3cr3t-value-xyz", hosts, 1) == ERYX_OK);
    }
    eryx_sandbox *s = NULL;
    CHECK(eryx_sandbox_new(b, &s) == ERYX_OK);
    if (!s) fprintf(stderr, "sandbox: %s\n", eryx_builder_errmsg(b));
    eryx_builder_free(b);
    return s;
}

/* The guest's helpers, prepended to each case's code. */
static const char prelude[] = "import _eryx, os, select, json, errno\n"
                              "def conn(port, addr=b'127.0.0.1', name=b'', flags=0):\n"
                              "    return _eryx.net_connect(name, addr, port, flags)\n"
                              "def rt(fd, data):\n"
                              "    os.write(fd, data)\n"
                              "    got = b''\n"
                              "    while len(got) < len(data):\n"
                              "        chunk = os.read(fd, 65536)\n"
                              "        if not chunk: break\n"
                              "        got += chunk\n"
                              "    return got\n";

/* Runs prelude + code with {PORT} etc. already formatted; stdout in out (static). */
static eryx_status run(eryx_sandbox *s, const char *code, eryx_result **r) {
    size_t len = strlen(prelude) + strlen(code);
    char *all = malloc(len + 1);
    strcpy(all, prelude);
    strcat(all, code);
    *r = NULL;
    eryx_status st = eryx_sandbox_execute(s, all, len, r);
    free(all);
    return st;
}

/* Runs code and checks it printed exactly want (and succeeded). */
#define EXPECT(s, code, want)                                                               \
    do {                                                                                    \
        eryx_result *r_ = NULL;                                                             \
        eryx_status st_ = run((s), (code), &r_);                                            \
        const char *out_ = eryx_result_stdout(r_, NULL);                                    \
        CHECK(st_ == ERYX_OK);                                                              \
        CHECK_STR_EQ(out_, (want));                                                         \
        if (st_ != ERYX_OK)                                                                 \
            fprintf(stderr, "  status %d: %s\n  stderr: %s\n", st_, eryx_sandbox_errmsg(s), \
                    eryx_result_stderr(r_, NULL));                                          \
        last_stats(r_);                                                                     \
        eryx_result_free(r_);                                                               \
    } while (0)

static eryx_net_stats stats;
static void last_stats(const eryx_result *r) { eryx_result_net_stats(r, &stats); }

static char code[8192];
#define FMT(...) (snprintf(code, sizeof code, __VA_ARGS__), code)

/* ---- the cases ------------------------------------------------------------------------ */

static void test_off(int port) {
    eryx_sandbox *s = make(&(opts){0});
    if (!s) return;
    EXPECT(s,
           FMT("print(conn(%d), _eryx.net_resolve(b'localhost', 0)[0], _eryx.net_tls(4, b'{}'),\n"
               "      _eryx.net_info(4)[0], 'off' in _eryx.net_error())\n",
               port),
           "-76 -76 -76 -76 True\n");
    CHECK(stats.connections == 0 && stats.refused == 0);
    eryx_sandbox_free(s);
}

static void test_echo_and_localhost(int port) {
    eryx_sandbox *s = make(&(opts){.network = true, .localhost = true});
    if (!s) return;
    EXPECT(s,
           FMT("fd = conn(%d)\n"
               "print(fd >= 4, rt(fd, b'hello'))\n"
               "rc, info = _eryx.net_info(fd)\n"
               "info = json.loads(info)\n"
               "print(rc > 0, info['peer'], info['local'][0], info['name'], info['error'], info['tls'])\n"
               "os.close(fd)\n"
               "fd = conn(%d, addr=b'', name=b'localhost')\n"
               "print(rt(fd, b'x' * 100000) == b'x' * 100000, json.loads(_eryx.net_info(fd)[1])['name'])\n"
               "os.close(fd)\n"
               "rc, addrs = _eryx.net_resolve(b'LocalHost.', 4)\n"
               "print(rc, addrs)\n"
               "print(_eryx.net_info(fd)[0], _eryx.net_info(99)[0])\n",
               port, port),
           FMT("True b'hello'\n"
               "True ['127.0.0.1', %d] 127.0.0.1 None 0 None\n"
               "True localhost\n"
               "10 b'127.0.0.1\\n'\n"
               "-8 -8\n",
               port));
    CHECK(stats.connections == 2 && stats.refused == 0);
    CHECK(stats.bytes_sent == 100005 && stats.bytes_received == 100005);
    /* the next execution starts from zero */
    EXPECT(s, "print(1)\n", "1\n");
    CHECK(stats.connections == 0 && stats.bytes_sent == 0);
    eryx_sandbox_free(s);
}

static void test_refused(int port) {
    eryx_sandbox *s = make(&(opts){.network = true});
    if (!s) return;
    /* Every spelling of 127.0.0.1 (and the names that mean it), as an address
    ** and as a name: EACCES with a message, counted. */
    EXPECT(s,
           FMT("spellings = [b'127.0.0.1', b'2130706433', b'0x7f000001', b'0177.0.0.1', b'0x7f.0.0.1', b'127.1',\n"
               "             b'127.0.1', b'::ffff:127.0.0.1', b'[::ffff:127.0.0.1]', b'::ffff:7f00:1', b'::1',\n"
               "             b'0:0:0:0:0:0:0:1', b'127.000.000.001', b'localhost', b'LOCALHOST.']\n"
               "bad = []\n"
               "for sp in spellings:\n"
               "    for how in ('addr', 'name'):\n"
               "        if how == 'addr' and sp.startswith(b'l') or how == 'addr' and sp.startswith(b'L'): continue\n"
               "        fd = conn(%d, addr=sp) if how == 'addr' else conn(%d, addr=b'', name=sp)\n"
               "        if fd != -errno.EACCES: bad.append((sp, how, fd))\n"
               "print(bad)\n"
               "fd = conn(%d)\n"
               "msg = _eryx.net_error()\n"
               "print(fd, '127.0.0.1' in msg, msg.startswith('network'))\n"
               "print(_eryx.net_resolve(b'localhost', 0)[0], _eryx.net_resolve(b'2130706433', 0)[0])\n",
               port, port, port),
           "[]\n-2 True True\n-2 -2\n");
    CHECK(stats.refused >= 28 && stats.connections == 0);
    /* bad arguments */
    EXPECT(s,
           FMT("print(conn(0), conn(70000), conn(%d, flags=8), conn(%d, addr=b'not an ip'),\n"
               "      conn(%d, addr=b'', name=b''), conn(%d, addr=b'', name=b'a b'), conn(%d, addr=b'', name=b'x' * "
               "300),\n"
               "      _eryx.net_resolve(b'localhost', 5)[0], conn(%d, flags=4))\n",
               port, port, port, port, port, port),
           "-28 -28 -28 -28 -28 -28 -28 -28 -5\n");
    eryx_sandbox_free(s);
}

static void test_resolver_hook(int port2) {
    /* 127.0.0.2 is allowed as a network; the rest of 127/8 stays blocked. */
    rebind_calls = 0;
    eryx_sandbox *s = make(&(opts){.network = true, .resolver = true, .allow_network = "127.0.0.2/32"});
    if (!s) return;
    EXPECT(s,
           FMT("fd = conn(%d, addr=b'', name=b'rebind.test')\n"
               "print(fd >= 4, rt(fd, b'one'))\n"
               "fd2 = conn(%d, addr=b'', name=b'rebind.test')\n"
               "print(fd2, '127.0.0.1' in _eryx.net_error())\n"
               "print(_eryx.net_resolve(b'pair.test', 0))\n"
               "ok = conn(%d, addr=b'127.0.0.2', name=b'pair.test')\n"
               "print(ok >= 4, json.loads(_eryx.net_info(ok)[1])['name'])\n"
               "print(conn(%d, addr=b'127.0.0.3', name=b'pair.test'), conn(%d, addr=b'127.0.0.2', name=b'echo.test'))\n"
               "print(conn(%d, addr=b'127.0.0.2') >= 4)\n"
               "print(_eryx.net_resolve(b'nosuch.test', 0)[0], _eryx.net_resolve(b'fail.test', 0)[0])\n"
               "print(_eryx.net_resolve(b'pair.test', 6)[0])\n",
               port2, port2, port2, port2, port2, port2),
           "True b'one'\n-2 True\n(10, b'127.0.0.2\\n')\nTrue pair.test\n-2 -2\nTrue\n-44 -6\n-44\n");
    CHECK(stats.refused == 3 && stats.connections == 3);
    eryx_sandbox_free(s);
}

/* An IPv4-mapped answer is checked and dialled as the IPv4 address it carries. */
static void test_mapped_answers(int port2) {
    eryx_sandbox *s = make(&(opts){.network = true, .resolver = true, .allow_network = "127.0.0.2/32"});
    if (!s) return;
    EXPECT(s,
           FMT("print(_eryx.net_resolve(b'mapped.test', 0)[0], '127.0.0.1' in _eryx.net_error())\n"
               "print(_eryx.net_resolve(b'mapped2.test', 0))\n"
               "fd = conn(%d, addr=b'', name=b'mapped2.test')\n"
               "print(fd >= 4, json.loads(_eryx.net_info(fd)[1])['peer'][0], rt(fd, b'm'))\n",
               port2),
           "-2 True\n(10, b'127.0.0.2\\n')\nTrue 127.0.0.2 b'm'\n");
    eryx_sandbox_free(s);
}

static void test_max_connections(int port) {
    eryx_sandbox *s = make(&(opts){.network = true, .localhost = true, .max_conns = 2});
    if (!s) return;
    EXPECT(s,
           FMT("a, b = conn(%d), conn(%d)\n"
               "c = conn(%d)\n"
               "print(a >= 4, b >= 4, c, 'at most 2 connections' in _eryx.net_error())\n"
               "os.close(a)\n"
               "c = conn(%d)\n"
               "print(c >= 4, rt(c, b'again'))\n",
               port, port, port, port),
           "True True -33 True\nTrue b'again'\n");
    CHECK(stats.connections == 3);
    /* the connections left open went with the instance: all there is again */
    EXPECT(s, FMT("fds = [conn(%d), conn(%d)]\nprint(min(fds) >= 4)\n", port, port), "True\n");
    eryx_sandbox_free(s);
}

/* A listener whose accept queue is full: Linux drops further SYNs, so a connect
** to it hangs (no packet leaves the machine). The filler sockets go in fill. */
static int full_listener(int *port, int fill[8], int *nfill) {
    int lfd = listen_on("127.0.0.1", 0, port);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    *nfill = 0;
    for (int i = 0; i < 8; i++) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        connect(c, (struct sockaddr *)&sa, sizeof sa);
        fill[(*nfill)++] = c;
        struct pollfd p = {.fd = c, .events = POLLOUT};
        if (poll(&p, 1, 200) == 0) break; /* this one hangs: the queue is full */
    }
    return lfd;
}

static void test_timeouts(int silent_port) {
    int fill[8], nfill = 0, port = 0;
    int lfd = full_listener(&port, fill, &nfill);
    CHECK(lfd >= 0);
    eryx_sandbox *s = make(&(opts){.network = true, .localhost = true, .connect_ms = 300, .io_ms = 300});
    if (s) {
        EXPECT(s,
               FMT("print(conn(%d), 'timed out' in _eryx.net_error())\n"
                   "fd = conn(%d)\n"
                   "try:\n"
                   "    os.read(fd, 10)\n"
                   "except TimeoutError as e:\n"
                   "    print('TimeoutError', e.errno == errno.ETIMEDOUT)\n"
                   "print(rt(fd, b'') == b'')\n",
                   port, silent_port),
               "-73 True\nTimeoutError True\nTrue\n");
        eryx_sandbox_free(s);
    }
    for (int i = 0; i < nfill; i++) close(fill[i]);
    close(lfd);
}

typedef struct canceller {
    eryx_sandbox *s;
    int delay_ms;
} canceller;
static void *cancel_main(void *arg) {
    canceller *c = arg;
    struct timespec ts = {0, (long)c->delay_ms * 1000000L};
    nanosleep(&ts, NULL);
    eryx_sandbox_cancel(c->s);
    return NULL;
}

static void test_cancel_and_timeout(int silent_port) {
    char blocked[256];
    snprintf(blocked, sizeof blocked, "fd = conn(%d)\nprint('connected', flush=True)\nos.read(fd, 10)\nprint('no')\n",
             silent_port);
    /* a cancel from another thread ends a read that waits with no I/O timeout */
    eryx_sandbox *s = make(&(opts){.network = true, .localhost = true});
    if (s) {
        canceller c = {s, 300};
        pthread_t t;
        pthread_create(&t, NULL, cancel_main, &c);
        eryx_result *r = NULL;
        CHECK(run(s, blocked, &r) == ERYX_ERR_CANCELLED);
        CHECK_STR_EQ(eryx_result_stdout(r, NULL), "connected\n");
        eryx_result_free(r);
        pthread_join(t, NULL);
        EXPECT(s, "print('usable')\n", "usable\n");
        eryx_sandbox_free(s);
    }
    /* the sandbox's timeout ends it too; and a blocked connect */
    s = make(&(opts){.network = true, .localhost = true, .timeout_ms = 300});
    if (s) {
        eryx_result *r = NULL;
        CHECK(run(s, blocked, &r) == ERYX_ERR_TIMEOUT);
        eryx_result_free(r);
        int fill[8], nfill = 0, port = 0;
        int lfd = full_listener(&port, fill, &nfill);
        CHECK(run(s, FMT("conn(%d)\n", port), &r) == ERYX_ERR_TIMEOUT);
        eryx_result_free(r);
        for (int i = 0; i < nfill; i++) close(fill[i]);
        close(lfd);
        EXPECT(s, "print('usable')\n", "usable\n");
        eryx_sandbox_free(s);
    }
}

static void test_nonblocking_select(int port, int closed_port) {
    eryx_sandbox *s = make(&(opts){.network = true, .localhost = true});
    if (!s) return;
    EXPECT(s,
           FMT("fds = [conn(%d, flags=1) for _ in range(3)]\n"
               "print([f >= 4 for f in fds])\n"
               "pending = set(fds)\n"
               "while pending:\n"
               "    _, w, _ = select.select([], list(pending), [], 5)\n"
               "    if not w: break\n"
               "    pending -= set(w)\n"
               "print(len(pending), [json.loads(_eryx.net_info(f)[1])['error'] for f in fds])\n"
               "for i, f in enumerate(fds): os.write(f, b'm%%d' %% i)\n"
               "got = {}\n"
               "while len(got) < 3:\n"
               "    r, _, _ = select.select(fds, [], [], 5)\n"
               "    if not r: break\n"
               "    for f in r: got[f] = os.read(f, 100)\n"
               "print(sorted(got.values()))\n"
               "try:\n"
               "    os.read(fds[0], 10)\n"
               "except BlockingIOError:\n"
               "    print('EAGAIN')\n"
               "print(select.select(fds, [], [], 0)[0])\n"
               "os.set_blocking(fds[1], True)\n"
               "print(rt(fds[1], b'blocking again'))\n"
               "bad = conn(%d, flags=1)\n"
               "if bad >= 0:\n"
               "    select.select([], [bad], [], 5)\n"
               "    bad = -json.loads(_eryx.net_info(bad)[1])['error']\n"
               "print(bad, conn(%d))\n",
               port, closed_port, closed_port),
           "[True, True, True]\n0 [0, 0, 0]\n[b'm0', b'm1', b'm2']\nEAGAIN\n[]\nb'blocking again'\n-14 -14\n");
    eryx_sandbox_free(s);
}

static server tls_good, tls_bad;

static void test_tls(const char *ca_pem) {
    eryx_sandbox *s = make(&(opts){.network = true, .localhost = true, .root_pem = ca_pem});
    if (!s) return;
    EXPECT(
        s,
        FMT("opts = json.dumps({'server_name': 'localhost', 'verify': True, 'check_hostname': True,\n"
            "                   'cadata': None, 'alpn': ['http/1.1'], 'min_version': 0, 'max_version': 0}).encode()\n"
            "fd = conn(%d)\n"
            "print(_eryx.net_tls(fd, opts), rt(fd, b'secure'), _eryx.net_tls(fd, b''))\n"
            "tls = json.loads(_eryx.net_info(fd)[1])['tls']\n"
            "print(tls['version'].startswith('TLSv1.'), tls['verified'])\n"
            "os.close(fd)\n"
            "fd = conn(%d, flags=1)\n"
            "select.select([], [fd], [], 5)\n"
            "while True:\n"
            "    r = _eryx.net_tls(fd, opts)\n"
            "    if r == 1: select.select([fd], [], [], 5)\n"
            "    elif r == 2: select.select([], [fd], [], 5)\n"
            "    else: break\n"
            "os.set_blocking(fd, True)\n"
            "print(r, rt(fd, b'nb'))\n"
            "fd = conn(%d)\n"
            "print(_eryx.net_tls(fd, opts), 'certificate' in _eryx.net_error())\n"
            "fd = conn(%d)\n"
            "print(_eryx.net_tls(fd, b'{not json'), _eryx.net_tls(99, opts))\n",
            tls_good.port, tls_good.port, tls_bad.port, tls_good.port),
        "0 b'secure' 0\nTrue True\n0 b'nb'\n-1000 True\n-28 -8\n");
    eryx_sandbox_free(s);
}

static void test_secrets(int port, int port2) {
    eryx_sandbox *s = make(&(opts){.network = true,
                                   .localhost = true,
                                   .allow_network = "127.0.0.2/32",
                                   .secret_host = "127.0.0.1",
                                   .timeout_ms = 20000}); /* a held tail never flushed would hang the read */
    if (!s) return;
    EXPECT(s,
           FMT("tok = os.environ['TOKEN'].encode()\n"
               "fd = conn(%d)\n"
               "os.write(fd, b'Bearer ' + tok + b'\\n')\n"
               "got = b''\n"
               "while not got.endswith(b'\\n'): got += os.read(fd, 100)\n"
               "print(got.startswith(b'Bearer '), b's3cr3t' in got, len(got))\n"
               "os.write(fd, b'ERYX_SE')  # may begin a placeholder: held, then flushed before the read waits\n"
               "print(os.read(fd, 100))\n"
               "fd = conn(%d, addr=b'127.0.0.2')\n"
               "try:\n"
               "    os.write(fd, b'x' + tok)\n"
               "except PermissionError:\n"
               "    print('refused', 'TOKEN' in _eryx.net_error())\n",
               port, port2),
           "True False 24\nb'ERYX_SE'\nrefused True\n");
    CHECK(stats.refused == 1 && stats.bytes_sent == 31);
    eryx_sandbox_free(s);
}

int main(void) {
    testcerts tc;
    if (!testcerts_make(&tc)) {
        fprintf(stderr, "cannot make test certificates\n");
        return 1;
    }
    server echo, echo2, silent;
    CHECK(server_start(&echo, MODE_ECHO, "127.0.0.1", NULL));
    CHECK(server_start(&echo2, MODE_ECHO, "127.0.0.2", NULL));
    CHECK(server_start(&silent, MODE_SILENT, "127.0.0.1", NULL));
    SSL_CTX *good = SSL_CTX_new(TLS_server_method()), *bad = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(good, tc.leaf);
    SSL_CTX_use_PrivateKey(good, tc.leaf_key);
    SSL_CTX_use_certificate(bad, tc.self);
    SSL_CTX_use_PrivateKey(bad, tc.self_key);
    CHECK(server_start(&tls_good, MODE_TLS_ECHO, "127.0.0.1", good));
    CHECK(server_start(&tls_bad, MODE_TLS_ECHO, "127.0.0.1", bad));
    int closed_port = 0;
    close(listen_on("127.0.0.1", 1, &closed_port)); /* nothing listens there now */
    char *ca_pem = testcerts_pem(tc.ca, NULL);

    test_off(echo.port);
    test_echo_and_localhost(echo.port);
    test_refused(echo.port);
    test_resolver_hook(echo2.port);
    test_mapped_answers(echo2.port);
    test_max_connections(echo.port);
    test_timeouts(silent.port);
    test_cancel_and_timeout(silent.port);
    test_nonblocking_select(echo.port, closed_port);
    test_tls(ca_pem);
    test_secrets(echo.port, echo2.port);

    free(ca_pem);
    server_stop(&echo);
    server_stop(&echo2);
    server_stop(&silent);
    server_stop(&tls_good);
    server_stop(&tls_bad);
    testcerts_free(&tc);
    return check_report("test_net_conn");
}
