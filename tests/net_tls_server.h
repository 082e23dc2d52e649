/*
** A TLS test server on a thread (OpenSSL, blocking) on 127.0.0.1 or ::1, ephemeral
** port, one connection, behaving as its mode says; it records what it saw (SNI,
** ALPN). For tests only; every wait is bounded by SERVER_WAIT_MS. The process
** should ignore SIGPIPE (the server writes with OpenSSL's socket BIO).
*/
#ifndef ERYX_NET_TLS_SERVER_H
#define ERYX_NET_TLS_SERVER_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <openssl/ssl.h>

#define SERVER_WAIT_MS 10000

typedef enum {
    SRV_HOLD,    /* handshake, then read until the client goes */
    SRV_ECHO,    /* handshake, echo until the client's close_notify, answer it */
    SRV_CLOSE,   /* handshake, send "hello", close_notify */
    SRV_RAGGED,  /* handshake, send "hello", close the socket without close_notify */
    SRV_GARBAGE, /* no TLS: answer the ClientHello with an HTTP error */
    SRV_GONE,    /* handshake, send "hello", close_notify, close the socket at once */
} srv_mode;

typedef struct server {
    srv_mode mode;
    X509 *cert;
    EVP_PKEY *key;
    int family;
    int lfd, port;
    pthread_t thread;
    /* what the server saw */
    bool handshake_ok;
    char sni[256], alpn[64];
    size_t echoed;
} server;

/* Starts s serving cert/key (the leaf's chain is the leaf alone) with mode; family
** AF_INET or AF_INET6 (0: AF_INET). false when the family has no loopback here. */
bool server_start(server *s, srv_mode mode, X509 *cert, EVP_PKEY *key, int family);
/* Waits for the server to end (it ends when its client goes) and closes its socket. */
void server_join(server *s);

#endif
