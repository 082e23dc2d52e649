/* Unit tests of the WASI host's clocks, poll_oneoff (clock and fd subscriptions,
** through the sleep hook), random_get, and the small rest: prestat, the socket
** stubs, a host with no vfs; a plain buffer as guest memory (wasi_fixture.h). */
#include "wasi_fixture.h"

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void put_clock_sub(uint32_t at, uint64_t userdata, uint32_t id, uint64_t timeout, uint16_t flags) {
    memset(mem.base + at, 0, ERYX__WASI_SUBSCRIPTION_SIZE);
    wr64(at, userdata);
    mem.base[at + 8] = ERYX__WASI_EVENTTYPE_CLOCK;
    wr32(at + 16, id);
    wr64(at + 24, timeout);
    wr16(at + 40, flags);
}

static void put_fd_sub(uint32_t at, uint64_t userdata, uint8_t type, uint32_t fd) {
    memset(mem.base + at, 0, ERYX__WASI_SUBSCRIPTION_SIZE);
    wr64(at, userdata);
    mem.base[at + 8] = type;
    wr32(at + 16, fd);
}

static void test_poll(void) {
    enum { SUBS = BIG, EVS = BIG + 0x2000 };
    mem_reset();
    /* The default sleep really sleeps. */
    eryx__wasi *w = make_wasi(NULL, NULL);
    put_clock_sub(SUBS, 0x1122334455667788u, ERYX__WASI_CLOCK_MONOTONIC, 1000000, 0);
    uint64_t t0 = now_ns();
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 1, OUT) == 0);
    CHECK(now_ns() - t0 >= 1000000);
    CHECK(rd32(OUT) == 1);
    CHECK(rd64(EVS) == 0x1122334455667788u);
    CHECK(rd16(EVS + 8) == 0);
    CHECK(mem.base[EVS + 10] == ERYX__WASI_EVENTTYPE_CLOCK);
    /* absolute, already past: no wait */
    put_clock_sub(SUBS, 5, ERYX__WASI_CLOCK_REALTIME, 1, ERYX__WASI_SUBCLOCK_ABSTIME);
    t0 = now_ns();
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 1, OUT) == 0);
    CHECK(rd32(OUT) == 1 && rd64(EVS) == 5);
    CHECK(now_ns() - t0 < 500000000u);
    eryx__wasi_free(w);

    io_capture cap;
    memset(&cap, 0, sizeof cap);
    w = make_wasi(NULL, &cap);
    /* the sleep hook gets the shortest timeout; only that clock fires */
    put_clock_sub(SUBS, 1, ERYX__WASI_CLOCK_MONOTONIC, 5000000, 0);
    put_clock_sub(SUBS + 48, 2, ERYX__WASI_CLOCK_MONOTONIC, 2000000, 0);
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 2, OUT) == 0);
    CHECK(cap.sleep_calls == 1 && cap.slept_ns == 2000000);
    CHECK(rd32(OUT) == 1 && rd64(EVS) == 2);
    /* absolute monotonic deadline in the future */
    uint64_t mono;
    CHECK(CALL(w, "clock_time_get", ERYX__WASI_CLOCK_MONOTONIC, 0, OUT2) == 0);
    mono = rd64(OUT2);
    put_clock_sub(SUBS, 3, ERYX__WASI_CLOCK_MONOTONIC, mono + 3000000000u, ERYX__WASI_SUBCLOCK_ABSTIME);
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 1, OUT) == 0);
    CHECK(cap.sleep_calls == 2 && cap.slept_ns > 2000000000u && cap.slept_ns <= 3000000000u);
    /* a ready fd wins over a clock: no sleep */
    put_clock_sub(SUBS, 1, ERYX__WASI_CLOCK_MONOTONIC, 1000000000u, 0);
    put_fd_sub(SUBS + 48, 7, ERYX__WASI_EVENTTYPE_FD_READ, 0);
    put_fd_sub(SUBS + 96, 8, ERYX__WASI_EVENTTYPE_FD_WRITE, 1);
    put_fd_sub(SUBS + 144, 9, ERYX__WASI_EVENTTYPE_FD_WRITE, 77);
    put_fd_sub(SUBS + 192, 10, ERYX__WASI_EVENTTYPE_FD_READ, 1);
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 5, OUT) == 0);
    CHECK(cap.sleep_calls == 2);
    CHECK(rd32(OUT) == 4);
    CHECK(rd64(EVS) == 7 && rd16(EVS + 8) == 0 && mem.base[EVS + 10] == ERYX__WASI_EVENTTYPE_FD_READ);
    CHECK(rd64(EVS + 32) == 8 && rd16(EVS + 40) == 0 && mem.base[EVS + 42] == ERYX__WASI_EVENTTYPE_FD_WRITE);
    CHECK(rd64(EVS + 64) == 9 && rd16(EVS + 72) == ERYX__WASI_EBADF);
    CHECK(rd64(EVS + 96) == 10 && rd16(EVS + 104) == ERYX__WASI_EBADF);
    /* an unknown clock is an error event, not a wait */
    put_clock_sub(SUBS, 11, 99, 1000000000u, 0);
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 1, OUT) == 0);
    CHECK(rd32(OUT) == 1 && rd64(EVS) == 11 && rd16(EVS + 8) == ERYX__WASI_EINVAL);
    CHECK(cap.sleep_calls == 2);
    /* an unknown subscription type fails the call */
    put_fd_sub(SUBS, 12, 9, 0);
    wr32(OUT, 0xAAAA);
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 1, OUT) == ERYX__WASI_EINVAL);
    CHECK(rd32(OUT) == 0xAAAA);
    /* an interrupted sleep reports the hook's errno */
    cap.sleep_err = ERYX__WASI_EINTR;
    put_clock_sub(SUBS, 1, ERYX__WASI_CLOCK_MONOTONIC, 1000, 0);
    CHECK(CALL(w, "poll_oneoff", SUBS, EVS, 1, OUT) == ERYX__WASI_EINTR);
    cap.sleep_err = 0;
    /* events written over the subscriptions (same buffer) */
    put_clock_sub(SUBS, 21, ERYX__WASI_CLOCK_MONOTONIC, 0, 0);
    put_clock_sub(SUBS + 48, 22, ERYX__WASI_CLOCK_MONOTONIC, 0, 0);
    CHECK(CALL(w, "poll_oneoff", SUBS, SUBS, 2, OUT) == 0);
    CHECK(rd32(OUT) == 2 && rd64(SUBS) == 21 && rd64(SUBS + 32) == 22);
    CHECK(canaries_ok());
    eryx__wasi_free(w);
}

static void test_clock_random_misc(void) {
    eryx__wasi *w = make_wasi(NULL, NULL);
    mem_reset();
    CHECK(CALL(w, "clock_time_get", ERYX__WASI_CLOCK_MONOTONIC, 1, OUT) == 0);
    uint64_t a = rd64(OUT);
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
    CHECK(CALL(w, "clock_time_get", ERYX__WASI_CLOCK_MONOTONIC, 1, OUT) == 0);
    CHECK(rd64(OUT) > a);
    CHECK(rd64(OUT) - a >= 2000000);
    CHECK(CALL(w, "clock_time_get", ERYX__WASI_CLOCK_REALTIME, 0, OUT) == 0);
    CHECK(rd64(OUT) > (uint64_t)1600000000 * 1000000000u);
    CHECK(CALL(w, "clock_time_get", ERYX__WASI_CLOCK_PROCESS_CPUTIME, 0, OUT) == 0);
    CHECK(CALL(w, "clock_time_get", ERYX__WASI_CLOCK_THREAD_CPUTIME, 0, OUT) == 0);
    CHECK(CALL(w, "clock_time_get", 4, 0, OUT) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "clock_time_get", 0xFFFFFFFFu, 0, OUT) == ERYX__WASI_EINVAL);
    for (uint32_t id = 0; id < 4; id++) {
        wr64(OUT, 0);
        CHECK(CALL(w, "clock_res_get", id, OUT) == 0);
        CHECK(rd64(OUT) > 0);
    }
    CHECK(CALL(w, "clock_res_get", 4, OUT) == ERYX__WASI_EINVAL);

    CHECK(CALL(w, "random_get", DATA, 64) == 0);
    CHECK(CALL(w, "random_get", DATA + 64, 64) == 0);
    CHECK(memcmp(mem.base + DATA, mem.base + DATA + 64, 64) != 0);
    static const uint8_t zero[64];
    CHECK(memcmp(mem.base + DATA, zero, 64) != 0);
    CHECK(CALL(w, "random_get", 0, MEM_LEN) == 0); /* all of memory */
    CHECK(CALL(w, "random_get", MEM_LEN, 0) == 0);
    CHECK(canaries_ok());
    mem_reset();

    CHECK(call(w, "sched_yield", 0, ARGS(0)) == 0);
    CHECK(CALL(w, "sock_accept", 3, 0, OUT) == ERYX__WASI_ENOTSUP);
    CHECK(CALL(w, "sock_recv", 3, IOVS, 1, 0, OUT, OUT2) == ERYX__WASI_ENOTSUP);
    CHECK(CALL(w, "sock_send", 3, IOVS, 1, 0, OUT) == ERYX__WASI_ENOTSUP);
    CHECK(CALL(w, "sock_shutdown", 3, 2) == ERYX__WASI_ENOTSOCK); /* only stream fds are sockets */

    /* the preopen: fd 3 is "/", nothing else */
    CHECK(CALL(w, "fd_prestat_get", 3, OUT) == 0);
    CHECK(mem.base[OUT] == ERYX__WASI_PREOPENTYPE_DIR && rd32(OUT + 4) == 1);
    CHECK(CALL(w, "fd_prestat_dir_name", 3, DATA, 1) == 0);
    CHECK(mem.base[DATA] == '/' && mem.base[DATA + 1] == 0);
    CHECK(CALL(w, "fd_prestat_dir_name", 3, DATA, 0) == ERYX__WASI_ENAMETOOLONG);
    CHECK(CALL(w, "fd_prestat_get", 4, OUT) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_prestat_get", 0, OUT) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_prestat_get", 0xFFFFFFFFu, OUT) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_prestat_dir_name", 4, DATA, 1) == ERYX__WASI_EBADF);
    /* without a vfs every path is missing */
    CHECK(path_call(w, "path_create_directory", 3, "/tmp/x") == ERYX__WASI_ENOENT);
    CHECK(canaries_ok());
    eryx__wasi_free(w);
}

int main(void) {
    if (wasi_mem_open()) return 1;
    test_poll();
    test_clock_random_misc();
    wasi_mem_close();
    return check_report("test_wasi_clock");
}
