/* The TLS test server (net_tls_server.h). */
#include "net_tls_server.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned inlen, void *arg) {
    (void)ssl, (void)arg;
    static const unsigned char mine[] = "\x08http/1.1";
    unsigned char *o = NULL;
    if (SSL_select_next_proto(&o, outlen, mine, sizeof mine - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = o;
    return SSL_TLSEXT_ERR_OK;
}

static void drain(int fd) {
    char buf[4096];
    while (recv(fd, buf, sizeof buf, 0) > 0) {
    }
}

static void *server_main(void *arg) {
    server *s = arg;
    struct pollfd p = {.fd = s->lfd, .events = POLLIN};
    if (poll(&p, 1, SERVER_WAIT_MS) != 1) return NULL;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0) return NULL;
    struct timeval tv = {.tv_sec = SERVER_WAIT_MS / 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (s->mode == SRV_GARBAGE) {
        char buf[4096];
        (void)recv(fd, buf, sizeof buf, 0);
        static const char reply[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        (void)send(fd, reply, sizeof reply - 1, MSG_NOSIGNAL);
        shutdown(fd, SHUT_WR);
        drain(fd);
        close(fd);
        return NULL;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(ctx, s->cert);
    SSL_CTX_use_PrivateKey(ctx, s->key);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
        s->handshake_ok = true;
        const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        snprintf(s->sni, sizeof s->sni, "%s", sni ? sni : "");
        const unsigned char *a = NULL;
        unsigned alen = 0;
        SSL_get0_alpn_selected(ssl, &a, &alen);
        snprintf(s->alpn, sizeof s->alpn, "%.*s", (int)alen, a ? (const char *)a : "");
        char buf[16384];
        int n;
        switch (s->mode) {
        case SRV_ECHO:
            while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) {
                if (SSL_write(ssl, buf, n) != n) break;
                s->echoed += (size_t)n;
            }
            if (SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN) SSL_shutdown(ssl);
            break;
        case SRV_CLOSE:
        case SRV_GONE:
            SSL_write(ssl, "hello", 5);
            SSL_shutdown(ssl);
            break;
        case SRV_RAGGED: SSL_write(ssl, "hello", 5); break;
        default:
            while (SSL_read(ssl, buf, sizeof buf) > 0) {
            }
            break;
        }
    }
    if (s->mode != SRV_GONE) {
        shutdown(fd, SHUT_WR);
        drain(fd);
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    return NULL;
}

bool server_start(server *s, srv_mode mode, X509 *cert, EVP_PKEY *key, int family) {
    memset(s, 0, sizeof *s);
    s->mode = mode;
    s->cert = cert;
    s->key = key;
    s->family = family ? family : AF_INET;
    s->lfd = socket(s->family, SOCK_STREAM, 0);
    struct sockaddr_storage ss = {0};
    socklen_t sl;
    if (s->family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        sl = sizeof *a;
    }
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&ss, sl) != 0 || listen(s->lfd, 4) != 0 ||
        getsockname(s->lfd, (struct sockaddr *)&ss, &sl) != 0) {
        if (s->lfd >= 0) close(s->lfd);
        return false;
    }
    s->port =
        ntohs(s->family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
    pthread_create(&s->thread, NULL, server_main, s);
    return true;
}

void server_join(server *s) {
    pthread_join(s->thread, NULL);
    close(s->lfd);
}
