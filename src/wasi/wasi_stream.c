/*
** Stream fds (wasi.h's eryx__wasi_stream_ops): their registration, blocking and
** non-blocking reads and writes, sock_shutdown, and the wait every blocking call
** makes. The stream itself (a connection in src/net/conn.c) never waits: it says
** which OS fd to wait on (ready()), and this file waits through the host's
** eryx__wasi_io.wait, so a sandbox's timeout or cancel ends any wait within a slice.
*/
#include <errno.h>
#include <time.h>
#include "wasi_int.h"

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int eryx__wasi_wait(eryx__wasi *w, struct pollfd *fds, size_t n, uint64_t timeout_ns) {
    if (w->io.wait) return w->io.wait(w->io.user, fds, n, timeout_ns);
    /* No host hook (unit tests): plain poll, in whole milliseconds rounded up. */
    int ms = timeout_ns == UINT64_MAX             ? -1
             : timeout_ns / 1000000u >= INT32_MAX ? INT32_MAX
                                                  : (int)((timeout_ns + 999999u) / 1000000u);
    for (;;) {
        int r = poll(fds, (nfds_t)n, ms);
        if (r >= 0) return r;
        if (errno != EINTR) return -ERYX__WASI_EIO;
    }
}

int32_t eryx__wasi_add_stream(eryx__wasi *w, const eryx__wasi_stream_ops *ops, void *stream, uint64_t timeout_ns,
                              bool nonblock) {
    if (!w || !ops || !stream) return -ERYX__WASI_EINVAL;
    for (uint32_t fd = FIRST_GUEST_FD; fd < ERYX__WASI_MAX_FDS; fd++) {
        fd_entry *e = &w->fds[fd];
        if (e->kind != FD_FREE) continue;
        memset(e, 0, sizeof *e);
        e->kind = FD_STREAM;
        e->filetype = ERYX__WASI_FILETYPE_SOCKET_STREAM;
        e->fdflags = nonblock ? ERYX__WASI_FDFLAG_NONBLOCK : 0;
        e->sops = ops;
        e->stream = stream;
        e->stream_timeout_ns = timeout_ns;
        return (int32_t)fd;
    }
    return -ERYX__WASI_EMFILE;
}

void *eryx__wasi_stream_get(eryx__wasi *w, uint32_t fd, const eryx__wasi_stream_ops *ops, bool *nonblock) {
    fd_entry *e = w ? fd_get(w, fd) : NULL;
    if (!e || e->kind != FD_STREAM || e->sops != ops) return NULL;
    if (nonblock) *nonblock = e->fdflags & ERYX__WASI_FDFLAG_NONBLOCK;
    return e->stream;
}

/* Waits for e's stream (for_write or to read) until deadline (0: none). 0 when
** worth trying again; ETIMEDOUT past the deadline; EINTR when stopped. */
static eryx__errno wait_stream(eryx__wasi *w, fd_entry *e, bool for_write, uint64_t deadline) {
    struct pollfd p = {.fd = -1};
    if (e->sops->ready(e->stream, for_write, &p)) return 0;
    uint64_t left = UINT64_MAX;
    if (deadline) {
        uint64_t now = mono_ns();
        if (now >= deadline) return ERYX__WASI_ETIMEDOUT;
        left = deadline - now;
    }
    p.revents = 0;
    int r = eryx__wasi_wait(w, &p, 1, left);
    if (r < 0) return (eryx__errno)-r;
    if (r == 0 && deadline && mono_ns() >= deadline) return ERYX__WASI_ETIMEDOUT;
    return 0;
}

static uint64_t deadline_of(const fd_entry *e) { return e->stream_timeout_ns ? mono_ns() + e->stream_timeout_ns : 0; }

static bool nonblocking(const fd_entry *e) { return e->fdflags & ERYX__WASI_FDFLAG_NONBLOCK; }

eryx__errno eryx__wasi_stream_read(eryx__wasi *w, fd_entry *e, uint8_t *p, size_t cap, bool more, size_t *done) {
    *done = 0;
    uint64_t deadline = 0;
    for (;;) {
        int64_t r = e->sops->read(e->stream, p, cap);
        if (r >= 0) {
            *done = (size_t)r > cap ? cap : (size_t)r;
            return 0;
        }
        /* more: bytes were already returned from an earlier iovec, so never wait. */
        if (r != -ERYX__WASI_EAGAIN || more || nonblocking(e)) return (eryx__errno)-r;
        if (!deadline) deadline = deadline_of(e);
        eryx__errno err = wait_stream(w, e, false, deadline);
        if (err) return err;
    }
}

eryx__errno eryx__wasi_stream_write(eryx__wasi *w, fd_entry *e, const uint8_t *p, size_t len, bool partial_ok,
                                    size_t *done) {
    *done = 0;
    uint64_t deadline = 0;
    while (*done < len) {
        int64_t r = e->sops->write(e->stream, p + *done, len - *done);
        if (r > 0) {
            *done += (size_t)r > len - *done ? len - *done : (size_t)r;
            if (nonblocking(e)) partial_ok = true;
            continue;
        }
        if (r == 0) r = -ERYX__WASI_EIO; /* a stream that takes nothing and says no error */
        /* A partial write stands when waiting is not wanted or a wait failed. */
        if (r != -ERYX__WASI_EAGAIN || nonblocking(e) || (partial_ok && *done)) return *done ? 0 : (eryx__errno)-r;
        if (!deadline) deadline = deadline_of(e);
        eryx__errno err = wait_stream(w, e, true, deadline);
        if (err) return *done ? 0 : err;
    }
    return 0;
}

eryx__errno eryx__wasi_stream_drain(eryx__wasi *w, fd_entry *e) {
    uint64_t deadline = deadline_of(e);
    for (;;) {
        int64_t r = e->sops->write(e->stream, NULL, 0);
        if (r != -ERYX__WASI_EAGAIN) return r < 0 ? (eryx__errno)-r : 0;
        if (nonblocking(e)) return 0;
        eryx__errno err = wait_stream(w, e, true, deadline);
        if (err) return err;
    }
}

int32_t eryx__wasi_sock_shutdown(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)m;
    fd_entry *e = fd_get(w, A32(0));
    uint32_t how = A32(1);
    if (!e) return ERYX__WASI_EBADF;
    if (e->kind != FD_STREAM) return ERYX__WASI_ENOTSOCK;
    if (how == 0 || how > 3) return ERYX__WASI_EINVAL;
    return e->sops->shutdown(e->stream, (int)how);
}
