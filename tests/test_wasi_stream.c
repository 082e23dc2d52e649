/* Unit tests of the WASI host's stream fds (wasi_stream.c; what the network's
** connections are to the guest) with a fake stream over a socketpair: fd_read and
** fd_write blocking and NONBLOCK, the per-stream timeout, the wait hook (a stop
** ends a wait), a held-back write drained before a blocking fd_write returns,
** poll_oneoff mixing stream and clock subscriptions, sock_shutdown, fdstat, close,
** and hostile pointers; a plain buffer as guest memory (wasi_fixture.h). */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "wasi_fixture.h"

/* The fake: one end of a socketpair, plus a "held" byte count that must be
** flushed (write with len 0) before the stream says it holds nothing. */
typedef struct fake_stream {
    int fd;
    int closed, shut_how;
    size_t held;     /* bytes the stream pretends to hold back */
    int flush_calls; /* write(NULL, 0) calls */
} fake_stream;

static int64_t fs_read(void *s, void *buf, size_t len) {
    fake_stream *f = s;
    ssize_t r = recv(f->fd, buf, len, MSG_DONTWAIT);
    if (r >= 0) return r;
    return errno == EAGAIN ? -ERYX__WASI_EAGAIN : -ERYX__WASI_EIO;
}
static int64_t fs_write(void *s, const void *buf, size_t len) {
    fake_stream *f = s;
    if (len == 0) {
        f->flush_calls++;
        if (f->held) f->held--; /* one byte per flush: the drain must loop */
        return f->held ? -ERYX__WASI_EAGAIN : 0;
    }
    ssize_t r = send(f->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r >= 0) return r;
    return errno == EAGAIN ? -ERYX__WASI_EAGAIN : -ERYX__WASI_EPIPE;
}
static bool fs_ready(void *s, bool for_write, struct pollfd *p) {
    fake_stream *f = s;
    p->fd = f->fd;
    p->events = for_write ? POLLOUT : POLLIN;
    if (for_write && f->held) return false;
    struct pollfd q = *p;
    return poll(&q, 1, 0) > 0;
}
static uint16_t fs_shutdown(void *s, int how) {
    ((fake_stream *)s)->shut_how = how;
    return 0;
}
static void fs_close(void *s) { ((fake_stream *)s)->closed++; }
static const eryx__wasi_stream_ops fs_ops = {fs_read, fs_write, fs_ready, fs_shutdown, fs_close};

/* A wait hook that counts its calls and stops once told to. */
static int wait_calls, wait_stop;
static int test_wait(void *user, struct pollfd *fds, size_t n, uint64_t timeout_ns) {
    (void)user;
    wait_calls++;
    if (wait_stop) return -ERYX__WASI_EINTR;
    int ms = timeout_ns == UINT64_MAX ? -1 : (int)((timeout_ns + 999999) / 1000000);
    return poll(fds, (nfds_t)n, ms);
}

static eryx__wasi *make_stream_wasi(bool hook) {
    eryx__wasi_config cfg;
    memset(&cfg, 0, sizeof cfg);
    if (hook) cfg.io.wait = test_wait;
    eryx__wasi *w = eryx__wasi_new(&cfg);
    CHECK(w != NULL);
    return w;
}

static void put_fd_sub(uint32_t at, uint64_t userdata, uint8_t type, uint32_t fd) {
    memset(mem.base + at, 0, ERYX__WASI_SUBSCRIPTION_SIZE);
    wr64(at, userdata);
    mem.base[at + 8] = type;
    wr32(at + 16, fd);
}
static void put_clock_sub(uint32_t at, uint64_t userdata, uint64_t timeout) {
    memset(mem.base + at, 0, ERYX__WASI_SUBSCRIPTION_SIZE);
    wr64(at, userdata);
    mem.base[at + 8] = ERYX__WASI_EVENTTYPE_CLOCK;
    wr32(at + 16, ERYX__WASI_CLOCK_MONOTONIC);
    wr64(at + 24, timeout);
}

static void test_read_write(void) {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    mem_reset();
    eryx__wasi *w = make_stream_wasi(true);
    fake_stream f = {.fd = sv[0]};
    int32_t fd = eryx__wasi_add_stream(w, &fs_ops, &f, 50 * 1000000u, false);
    CHECK(fd == 4);
    CHECK(eryx__wasi_stream_get(w, (uint32_t)fd, &fs_ops, NULL) == &f);
    static const eryx__wasi_stream_ops other = {fs_read, fs_write, fs_ready, fs_shutdown, fs_close};
    CHECK(eryx__wasi_stream_get(w, (uint32_t)fd, &other, NULL) == NULL); /* another kind of stream */
    CHECK(eryx__wasi_stream_get(w, 3, &fs_ops, NULL) == NULL);
    CHECK(eryx__wasi_guest_fd_count(w) == 1);

    /* fdstat: a socket stream; seeking is not a thing */
    CHECK(CALL(w, "fd_fdstat_get", fd, OUT) == 0);
    CHECK(mem.base[OUT] == ERYX__WASI_FILETYPE_SOCKET_STREAM && rd16(OUT + 2) == 0);
    CHECK(CALL(w, "fd_seek", fd, 0, 0, OUT) == ERYX__WASI_ESPIPE);
    CHECK(CALL(w, "fd_tell", fd, OUT) == ERYX__WASI_ESPIPE);
    CHECK(CALL(w, "fd_pread", fd, IOVS, 1, 0, OUT) == ERYX__WASI_ESPIPE);
    CHECK(CALL(w, "fd_filestat_get", fd, OUT) == 0 && mem.base[OUT + 16] == ERYX__WASI_FILETYPE_SOCKET_STREAM);

    /* write: the bytes reach the other end */
    CHECK(write_str(w, (uint32_t)fd, "ping") == 0);
    char buf[64] = {0};
    CHECK(read(sv[1], buf, sizeof buf) == 4 && !memcmp(buf, "ping", 4));
    /* read: what the other end sent, across two iovecs; the second never waits */
    CHECK(write(sv[1], "pong!", 5) == 5);
    put_iov(IOVS, 0, DATA, 3);
    put_iov(IOVS, 1, DATA + 16, 16);
    CHECK(CALL(w, "fd_read", fd, IOVS, 2, OUT) == 0);
    CHECK(rd32(OUT) == 5 && !memcmp(mem.base + DATA, "pon", 3) && !memcmp(mem.base + DATA + 16, "g!", 2));
    /* a blocking read with nothing there: the wait hook, then the stream's timeout */
    wait_calls = 0;
    put_iov(IOVS, 0, DATA, 16);
    CHECK(CALL(w, "fd_read", fd, IOVS, 1, OUT) == ERYX__WASI_ETIMEDOUT);
    CHECK(wait_calls >= 1);
    /* a stop ends the wait at once */
    wait_stop = 1;
    CHECK(CALL(w, "fd_read", fd, IOVS, 1, OUT) == ERYX__WASI_EINTR);
    wait_stop = 0;
    /* NONBLOCK: EAGAIN instead of waiting; APPEND is not a stream's flag */
    CHECK(CALL(w, "fd_fdstat_set_flags", fd, ERYX__WASI_FDFLAG_APPEND) == ERYX__WASI_ENOTSUP);
    CHECK(CALL(w, "fd_fdstat_set_flags", fd, ERYX__WASI_FDFLAG_NONBLOCK) == 0);
    CHECK(CALL(w, "fd_fdstat_get", fd, OUT) == 0 && rd16(OUT + 2) == ERYX__WASI_FDFLAG_NONBLOCK);
    bool nb = false;
    CHECK(eryx__wasi_stream_get(w, (uint32_t)fd, &fs_ops, &nb) == &f && nb);
    wait_calls = 0;
    CHECK(CALL(w, "fd_read", fd, IOVS, 1, OUT) == ERYX__WASI_EAGAIN);
    CHECK(wait_calls == 0);
    /* the end of the stream reads as 0 bytes */
    CHECK(CALL(w, "fd_fdstat_set_flags", fd, 0) == 0);
    shutdown(sv[1], SHUT_WR);
    CHECK(CALL(w, "fd_read", fd, IOVS, 1, OUT) == 0 && rd32(OUT) == 0);

    /* held-back bytes: a blocking write returns once they are flushed */
    f.held = 3;
    f.flush_calls = 0;
    CHECK(write_str(w, (uint32_t)fd, "x") == 0);
    CHECK(f.held == 0 && f.flush_calls >= 3);
    /* a NONBLOCK write does not wait for them */
    CHECK(CALL(w, "fd_fdstat_set_flags", fd, ERYX__WASI_FDFLAG_NONBLOCK) == 0);
    f.held = 3;
    f.flush_calls = 0;
    CHECK(write_str(w, (uint32_t)fd, "y") == 0);
    CHECK(f.held == 3 && f.flush_calls == 0);
    f.held = 0;

    /* hostile: iovecs outside memory, before any byte moves */
    put_iov(IOVS, 0, MEM_LEN - 2, 16);
    CHECK(CALL(w, "fd_read", fd, IOVS, 1, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_write", fd, IOVS, 1, OUT) == ERYX__WASI_EFAULT);
    put_iov(IOVS, 0, DATA, 4);
    CHECK(CALL(w, "fd_read", fd, IOVS, 1, MEM_LEN) == ERYX__WASI_EFAULT);

    /* sock_shutdown: checked, passed on */
    CHECK(CALL(w, "sock_shutdown", fd, 0) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "sock_shutdown", fd, 4) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "sock_shutdown", fd, 3) == 0 && f.shut_how == 3);
    CHECK(CALL(w, "sock_shutdown", 99, 2) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "sock_shutdown", 1, 2) == ERYX__WASI_ENOTSOCK);

    /* close: the stream's close runs once; the fd is gone */
    CHECK(CALL(w, "fd_close", fd) == 0);
    CHECK(f.closed == 1);
    CHECK(CALL(w, "fd_read", fd, IOVS, 1, OUT) == ERYX__WASI_EBADF);
    CHECK(eryx__wasi_stream_get(w, (uint32_t)fd, &fs_ops, NULL) == NULL);
    /* a stream left open is closed with the state */
    fake_stream g = {.fd = sv[0]};
    CHECK(eryx__wasi_add_stream(w, &fs_ops, &g, 0, false) == 4);
    CHECK(canaries_ok());
    eryx__wasi_free(w);
    CHECK(g.closed == 1);
    close(sv[0]);
    close(sv[1]);
}

static void test_poll(void) {
    enum { SUBS = BIG, EVS = BIG + 0x2000 };
    int a[2], b[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, a) == 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, b) == 0);
    mem_reset();
    eryx__wasi *w = make_stream_wasi(true);
    fake_stream fa = {.fd = a[0]}, fb = {.fd = b[0]};
    int32_t fda = eryx__wasi_add_stream(w, &fs_ops, &fa, 0, false);
    int32_t fdb = eryx__wasi_add_stream(w, &fs_ops, &fb, 0, false);
    CHECK(fda == 4 && fdb == 5);

    /* nothing to read: the clock fires after waiting through the hook */
    put_fd_sub(SUBS, 1, ERYX__WASI_EVENTTYPE_FD_READ, (uint32_t)fda);
    put_fd_sub(SUBS + 48, 2, ERYX__WASI_EVENTTYPE_FD_READ, (uint32_t)fdb);
    put_clock_sub(SUBS + 96, 3, 5 * 1000000u);
    wait_calls = 0;
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 3, OUT) == 0);
    CHECK(rd32(OUT) == 1 && rd64(EVS) == 3 && mem.base[EVS + 10] == ERYX__WASI_EVENTTYPE_CLOCK);
    CHECK(wait_calls >= 1);
    /* b has bytes: only its event, no clock */
    CHECK(write(b[1], "z", 1) == 1);
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 3, OUT) == 0);
    CHECK(rd32(OUT) == 1 && rd64(EVS) == 2 && mem.base[EVS + 10] == ERYX__WASI_EVENTTYPE_FD_READ);
    CHECK(rd16(EVS + 8) == 0 && rd64(EVS + 16) >= 1);
    /* writable at once; a zero clock never waits */
    put_fd_sub(SUBS, 7, ERYX__WASI_EVENTTYPE_FD_WRITE, (uint32_t)fda);
    put_clock_sub(SUBS + 48, 8, 0);
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 2, OUT) == 0);
    CHECK(rd32(OUT) == 2 && rd64(EVS) == 7 && mem.base[EVS + 10] == ERYX__WASI_EVENTTYPE_FD_WRITE);
    /* a stream holding bytes back is not writable: only the clock */
    fa.held = 1;
    put_clock_sub(SUBS + 48, 8, 1000000u);
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 2, OUT) == 0);
    CHECK(rd32(OUT) == 1 && rd64(EVS) == 8);
    fa.held = 0;
    /* a wait from a byte sent later (no clock: waits as long as it takes) */
    char c;
    CHECK(read(b[0], &c, 1) == 1);
    put_fd_sub(SUBS, 9, ERYX__WASI_EVENTTYPE_FD_READ, (uint32_t)fda);
    CHECK(write(a[1], "q", 1) == 1);
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 1, OUT) == 0);
    CHECK(rd32(OUT) == 1 && rd64(EVS) == 9);
    /* a stop during the wait: EINTR, no events */
    CHECK(read(a[0], &c, 1) == 1);
    wait_stop = 1;
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 1, OUT) == ERYX__WASI_EINTR);
    wait_stop = 0;
    /* a closed fd among the subscriptions: EBADF in its event */
    put_fd_sub(SUBS, 10, ERYX__WASI_EVENTTYPE_FD_READ, 77);
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 1, OUT) == 0);
    CHECK(rd32(OUT) == 1 && rd16(EVS + 8) == ERYX__WASI_EBADF);
    CHECK(canaries_ok());
    eryx__wasi_free(w);
    CHECK(fa.closed == 1 && fb.closed == 1);
    close(a[0]), close(a[1]), close(b[0]), close(b[1]);
}

/* Without a wait hook the host polls itself; the fd table's limit holds. */
static void test_no_hook_and_limits(void) {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    mem_reset();
    eryx__wasi *w = make_stream_wasi(false);
    fake_stream f = {.fd = sv[0]};
    int32_t fd = eryx__wasi_add_stream(w, &fs_ops, &f, 10 * 1000000u, false);
    put_iov(IOVS, 0, DATA, 8);
    CHECK(CALL(w, "fd_read", fd, IOVS, 1, OUT) == ERYX__WASI_ETIMEDOUT);
    CHECK(eryx__wasi_add_stream(NULL, &fs_ops, &f, 0, false) == -ERYX__WASI_EINVAL);
    CHECK(eryx__wasi_add_stream(w, &fs_ops, NULL, 0, false) == -ERYX__WASI_EINVAL);
    /* fill the table: the next registration is refused and the stream not taken */
    static fake_stream many[ERYX__WASI_MAX_FDS];
    int32_t last = 0;
    for (int i = 0; i < ERYX__WASI_MAX_FDS; i++) {
        many[i].fd = -1;
        int32_t r = eryx__wasi_add_stream(w, &fs_ops, &many[i], 0, false);
        if (r < 0) {
            last = r;
            break;
        }
    }
    CHECK(last == -ERYX__WASI_EMFILE);
    eryx__wasi_free(w);
    int closed = 0;
    for (int i = 0; i < ERYX__WASI_MAX_FDS; i++) closed += many[i].closed;
    CHECK(closed == ERYX__WASI_MAX_FDS - 5 && f.closed == 1); /* fds 4..1023 less f's */
    close(sv[0]);
    close(sv[1]);
}

int main(void) {
    if (wasi_mem_open()) return 1;
    test_read_write();
    test_poll();
    test_no_hook_and_limits();
    wasi_mem_close();
    return check_report("test_wasi_stream");
}
