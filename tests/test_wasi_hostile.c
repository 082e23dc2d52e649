/* Unit tests of the WASI host (src/wasi/wasi.c, wasi_fs.c) against hostile guest
** pointers and lengths: every import that takes a pointer, given bad ones, fails
** cleanly without writing inside or outside guest memory (wasi_fixture.h's canaries). */
#include "wasi_fixture.h"


/* Every import that takes a pointer, given bad ones: EFAULT / EINVAL /
** ENAMETOOLONG, nothing written inside or outside memory, no hook called. */
static void test_hostile(void) {
    io_capture cap;
    memset(&cap, 0, sizeof cap);
    cap.in = "secret";
    cap.in_len = 6;
    eryx__vfs *vfs = make_vfs();
    eryx__wasi *w = make_wasi(vfs, &cap);
    mem_reset();
    const uint32_t L = MEM_LEN, HI = 0xFFFFFFF0u, MAX = 0xFFFFFFFFu;

    /* One valid file to aim fd-taking calls at (and its guest memory traces wiped). */
    uint32_t fd;
    CHECK(open_at(w, 3, "/tmp/h", ERYX__WASI_O_CREAT, RIGHTS_RDWR, 0, &fd) == 0);
    CHECK(write_str(w, fd, "0123456789") == 0);
    memset(mem.base, 0, MEM_LEN);
    CHECK(canaries_ok());
    uint32_t name_len = put_str(PATH, "/tmp/h");

    /* iovec arrays */
    put_iov(IOVS, 0, DATA, 4);
    CHECK(CALL(w, "fd_write", 1, L - 2, 1, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_write", 1, HI, 1, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_write", 1, MAX, 1, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_write", 1, IOVS, MAX, OUT) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "fd_write", 1, IOVS, 1025, OUT) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "fd_write", 1, L - 8 * 1024 + 8, 1024, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_write", 1, IOVS, 1, L - 2) == ERYX__WASI_EFAULT); /* nwritten */
    CHECK(CALL(w, "fd_write", 1, IOVS, 1, HI) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_read", 0, IOVS, 1, L - 3) == ERYX__WASI_EFAULT); /* nread */
    CHECK(CALL(w, "fd_read", fd, IOVS, 1, MAX) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_pread", fd, IOVS, 1, 0, L) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_pwrite", fd, IOVS, 1, 0, L - 1) == ERYX__WASI_EFAULT);
    /* iovec buffers: past the end, and wrapping around 2^32 */
    uint32_t bad_bufs[][2] = {{L - 2, 8}, {HI, 0x20}, {0x10, MAX}, {L, 1}, {L + 1, 0}, {MAX, 1}, {1, L}};
    for (size_t i = 0; i < sizeof bad_bufs / sizeof bad_bufs[0]; i++) {
        put_iov(IOVS, 0, DATA, 1);
        put_iov(IOVS, 1, bad_bufs[i][0], bad_bufs[i][1]);
        CHECK(CALL(w, "fd_write", 1, IOVS, 2, OUT) == ERYX__WASI_EFAULT);
        CHECK(CALL(w, "fd_write", fd, IOVS, 2, OUT) == ERYX__WASI_EFAULT);
        CHECK(CALL(w, "fd_pwrite", fd, IOVS, 2, 0, OUT) == ERYX__WASI_EFAULT);
        CHECK(CALL(w, "fd_read", 0, IOVS, 2, OUT) == ERYX__WASI_EFAULT);
        CHECK(CALL(w, "fd_read", fd, IOVS, 2, OUT) == ERYX__WASI_EFAULT);
        CHECK(CALL(w, "fd_pread", fd, IOVS, 2, 0, OUT) == ERYX__WASI_EFAULT);
    }
    memset(mem.base + IOVS, 0, 16);
    CHECK(cap.write_calls == 0 && cap.read_calls == 0);
    CHECK(cap.in_pos == 0);

    /* Fixed-size outputs */
    CHECK(CALL(w, "clock_time_get", ERYX__WASI_CLOCK_MONOTONIC, 0, L - 4) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "clock_time_get", ERYX__WASI_CLOCK_REALTIME, 0, HI + 9) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "clock_res_get", ERYX__WASI_CLOCK_MONOTONIC, L - 7) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "random_get", L - 2, 8) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "random_get", HI, 0x20) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "random_get", 0, MAX) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_fdstat_get", 1, L - 23) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_fdstat_get", fd, HI) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_filestat_get", fd, L - 63) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_filestat_get", 1, MAX) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_prestat_get", 3, L - 7) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_prestat_dir_name", 3, L, 1) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_prestat_dir_name", 3, MAX, 4) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_seek", fd, 3, ERYX__WASI_WHENCE_SET, L - 4) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_tell", fd, HI + 12) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_tell", fd, OUT) == 0 && rd64(OUT) == 10); /* the bad seek did not move it */
    wr64(OUT, 0);
    CHECK(CALL(w, "fd_readdir", 3, L - 10, 100, 0, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_readdir", 3, HI, 0x100, 0, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "fd_readdir", 3, BIG, 100, 0, L - 2) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "args_sizes_get", OUT, MAX) == ERYX__WASI_EFAULT);

    /* Paths */
    CHECK(CALL(w, "path_open", 3, FOLLOW, L - 2, 8, 0, RIGHTS_RDONLY, RIGHTS_RDONLY, 0, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_open", 3, FOLLOW, HI, 0x20, 0, RIGHTS_RDONLY, RIGHTS_RDONLY, 0, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_open", 3, FOLLOW, PATH, MAX, 0, RIGHTS_RDONLY, RIGHTS_RDONLY, 0, OUT) ==
          ERYX__WASI_ENAMETOOLONG);
    CHECK(CALL(w, "path_open", 3, FOLLOW, PATH, 4097, 0, RIGHTS_RDONLY, RIGHTS_RDONLY, 0, OUT) ==
          ERYX__WASI_ENAMETOOLONG);
    CHECK(CALL(w, "path_open", 3, FOLLOW, PATH, name_len, 0, RIGHTS_RDONLY, RIGHTS_RDONLY, 0, L - 3) ==
          ERYX__WASI_EFAULT); /* fd pointer: checked before the open, so no fd leaks */
    CHECK(CALL(w, "path_open", 3, FOLLOW, PATH, name_len, 0, RIGHTS_RDONLY, RIGHTS_RDONLY, 0, MAX) ==
          ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_open", 3, FOLLOW, PATH, name_len, 0x10, RIGHTS_RDONLY, RIGHTS_RDONLY, 0, OUT) ==
          ERYX__WASI_EINVAL); /* unknown oflags */
    CHECK(CALL(w, "path_open", 3, FOLLOW, PATH, name_len, 0, RIGHTS_RDONLY, RIGHTS_RDONLY, 0x100, OUT) ==
          ERYX__WASI_EINVAL); /* unknown fdflags */
    CHECK(CALL(w, "path_create_directory", 3, L - 2, 8) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_create_directory", 3, HI, 0x20) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_create_directory", 3, PATH, 0x7FFFFFFF) == ERYX__WASI_ENAMETOOLONG);
    CHECK(CALL(w, "path_remove_directory", 3, MAX, 1) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_unlink_file", 3, L, 1) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_filestat_get", 3, FOLLOW, HI, 0x20, BIG) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_filestat_get", 3, FOLLOW, PATH, name_len, L - 60) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_filestat_set_times", 3, FOLLOW, L - 1, 2, 0, 0, 0) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_rename", 3, PATH, name_len, 3, HI, 0x20) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_rename", 3, L - 1, 5, 3, PATH, name_len) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_readlink", 3, HI, 0x20, BIG, 10, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_readlink", 3, PATH, name_len, L - 4, 10, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "path_readlink", 3, PATH, name_len, BIG, 10, L - 1) == ERYX__WASI_EFAULT);
    memset(mem.base + PATH, 0, name_len);

    /* poll_oneoff */
    CHECK(CALL(w, "poll_oneoff", BIG, BIG + 0x1000, 0, OUT) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "poll_oneoff", BIG, BIG + 0x1000, 5000, OUT) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "poll_oneoff", BIG, BIG + 0x1000, MAX, OUT) == ERYX__WASI_EINVAL);
    CHECK(CALL(w, "poll_oneoff", L - 40, BIG, 1, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "poll_oneoff", BIG, L - 31, 1, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "poll_oneoff", BIG, BIG + 0x1000, 1, L - 2) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "poll_oneoff", HI, BIG, 1, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "poll_oneoff", BIG, BIG + 0x1000, 4096, OUT) == ERYX__WASI_EFAULT); /* 4096*48 > 64 KiB */
    CHECK(cap.sleep_calls == 0);

    /* Nothing was written anywhere by any failed call. */
    for (size_t i = 0; i < MEM_LEN; i++)
        if (mem.base[i]) {
            fprintf(stderr, "guest byte %zu changed\n", i);
            CHECK(!"a failing call wrote guest memory");
            break;
        }
    CHECK(canaries_ok());

    /* Overlapping iovecs whose lengths sum past 2^32 (the count is a u32). */
    eryx__guest_mem saved = mem;
    mem.len = 8u << 20;
    mem.base = calloc(1, mem.len);
    CHECK(mem.base != NULL);
    if (mem.base) {
        for (uint32_t i = 0; i < 1024; i++) put_iov(IOVS, i, 0x10000, (4u << 20) + 1);
        CHECK(CALL(w, "fd_write", 1, IOVS, 1024, OUT) == ERYX__WASI_EINVAL);
        CHECK(CALL(w, "fd_read", fd, IOVS, 1024, OUT) == ERYX__WASI_EINVAL);
        CHECK(CALL(w, "fd_pwrite", fd, IOVS, 1024, 0, OUT) == ERYX__WASI_EINVAL);
        CHECK(cap.write_calls == 0);
        CHECK(CALL(w, "fd_write", 1, IOVS, 1023, OUT) == 0); /* just below: fine */
        CHECK(rd32(OUT) == 1023u * ((4u << 20) + 1));
        free(mem.base);
    }
    mem = saved;

    /* No guest memory at all (a call before the memory exists). */
    mem.base = NULL;
    mem.len = 0;
    CHECK(CALL(w, "fd_write", 1, 0, 0, 0) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "args_sizes_get", 0, 0) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "random_get", 0, 0) == ERYX__WASI_EFAULT);
    mem = saved;

    eryx__wasi_free(w);
    eryx__vfs_free(vfs);
}

int main(void) {
    if (wasi_mem_open()) return 1;
    test_hostile();
    wasi_mem_close();
    return check_report("test_wasi_hostile");
}
