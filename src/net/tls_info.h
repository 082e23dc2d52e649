/*
** The JSON of a TLS session and its peer certificate (tls_info.c), for tls.c's
** eryx__tls_info_json: in the shape of Python's ssl.SSLSocket.version(), cipher(),
** selected_alpn_protocol() and getpeercert().
*/
#ifndef ERYX_NET_TLS_INFO_H
#define ERYX_NET_TLS_INFO_H
#include <stdbool.h>
#include <openssl/ssl.h>

/* The session of ssl as JSON (net.h, eryx__tls_info_json); verify: whether the
** connection asked for verification. malloc'd; NULL: out of memory. */
char *eryx__tls_session_json(SSL *ssl, bool verify);

#endif
