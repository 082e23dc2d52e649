/* Unit tests of the WASI host (src/wasi/wasi.c): the import table, args and
** environ, stdio through the host I/O hooks, and proc_exit. Every import is driven
** through eryx__wasi_find_import() with a plain buffer as guest memory (wasi_fixture.h).
** Files and paths: test_wasi_files.c; hostile pointers: test_wasi_hostile.c; clocks,
** poll and random: test_wasi_clock.c. */
#include "wasi_fixture.h"

static void test_table(void) {
    static const struct {
        const char *name, *params;
        int nresults;
    } want[] = {
        {"args_get", "ii", 1},
        {"args_sizes_get", "ii", 1},
        {"environ_get", "ii", 1},
        {"environ_sizes_get", "ii", 1},
        {"clock_res_get", "ii", 1},
        {"clock_time_get", "iIi", 1},
        {"fd_advise", "iIIi", 1},
        {"fd_close", "i", 1},
        {"fd_datasync", "i", 1},
        {"fd_fdstat_get", "ii", 1},
        {"fd_fdstat_set_flags", "ii", 1},
        {"fd_filestat_get", "ii", 1},
        {"fd_filestat_set_size", "iI", 1},
        {"fd_filestat_set_times", "iIIi", 1},
        {"fd_pread", "iiiIi", 1},
        {"fd_prestat_get", "ii", 1},
        {"fd_prestat_dir_name", "iii", 1},
        {"fd_pwrite", "iiiIi", 1},
        {"fd_read", "iiii", 1},
        {"fd_readdir", "iiiIi", 1},
        {"fd_seek", "iIii", 1},
        {"fd_sync", "i", 1},
        {"fd_tell", "ii", 1},
        {"fd_write", "iiii", 1},
        {"path_create_directory", "iii", 1},
        {"path_filestat_get", "iiiii", 1},
        {"path_filestat_set_times", "iiiiIIi", 1},
        {"path_link", "iiiiiii", 1},
        {"path_open", "iiiiiIIii", 1},
        {"path_readlink", "iiiiii", 1},
        {"path_remove_directory", "iii", 1},
        {"path_rename", "iiiiii", 1},
        {"path_symlink", "iiiii", 1},
        {"path_unlink_file", "iii", 1},
        {"poll_oneoff", "iiii", 1},
        {"proc_exit", "i", 0},
        {"sched_yield", "", 1},
        {"random_get", "ii", 1},
        {"sock_accept", "iii", 1},
        {"sock_recv", "iiiiii", 1},
        {"sock_send", "iiiii", 1},
        {"sock_shutdown", "ii", 1},
    };
    size_t nwant = sizeof want / sizeof want[0];
    CHECK(eryx__wasi_import_count == nwant);
    for (size_t i = 0; i < nwant; i++) {
        const eryx__wasi_import *imp = eryx__wasi_find_import(want[i].name);
        CHECK(imp != NULL);
        if (!imp) continue;
        CHECK_STR_EQ(imp->params, want[i].params);
        CHECK(imp->nresults == want[i].nresults);
        CHECK(imp->fn != NULL);
    }
    CHECK(eryx__wasi_find_import("fd_renumber") == NULL);
    CHECK(eryx__wasi_find_import("") == NULL);
    CHECK(eryx__wasi_find_import(NULL) == NULL);
}

static void test_args_environ(void) {
    static const char *const argv[] = {"python", "-c", "print('hi')"};
    static const char *const env[] = {"A=1", "PYTHONHASHSEED=0"};
    eryx__wasi_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.argc = 3;
    cfg.argv = argv;
    cfg.envc = 2;
    cfg.env = env;
    eryx__wasi *w = eryx__wasi_new(&cfg);
    CHECK(w != NULL);
    if (!w) return;
    mem_reset();
    CHECK(CALL(w, "args_sizes_get", OUT, OUT2) == 0);
    CHECK(rd32(OUT) == 3);
    CHECK(rd32(OUT2) == 7 + 3 + 12);
    CHECK(CALL(w, "args_get", IOVS, DATA) == 0);
    CHECK(rd32(IOVS) == DATA);
    CHECK(rd32(IOVS + 4) == DATA + 7);
    CHECK(rd32(IOVS + 8) == DATA + 10);
    CHECK(memcmp(mem.base + DATA, "python\0-c\0print('hi')\0", 22) == 0);
    CHECK(mem.base[DATA + 22] == 0);
    CHECK(CALL(w, "environ_sizes_get", OUT, OUT2) == 0);
    CHECK(rd32(OUT) == 2);
    CHECK(rd32(OUT2) == 4 + 17);
    CHECK(CALL(w, "environ_get", IOVS, BIG) == 0);
    CHECK(rd32(IOVS) == BIG);
    CHECK(rd32(IOVS + 4) == BIG + 4);
    CHECK(strcmp((char *)mem.base + BIG, "A=1") == 0);
    CHECK(strcmp((char *)mem.base + BIG + 4, "PYTHONHASHSEED=0") == 0);

    /* Hostile pointers: EFAULT and no byte written anywhere. */
    mem_reset();
    uint32_t L = MEM_LEN;
    CHECK(CALL(w, "args_sizes_get", L - 2, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "args_sizes_get", OUT, L) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "args_sizes_get", 0xFFFFFFF0u, OUT) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "args_get", L - 8, DATA) == ERYX__WASI_EFAULT);  /* 3 pointers need 12 bytes */
    CHECK(CALL(w, "args_get", IOVS, L - 21) == ERYX__WASI_EFAULT); /* 22 bytes of strings */
    CHECK(CALL(w, "args_get", IOVS, 0xFFFFFFFFu) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "environ_get", 0xFFFFFFFCu, DATA) == ERYX__WASI_EFAULT);
    CHECK(CALL(w, "environ_sizes_get", OUT, 0xFFFFFFFEu) == ERYX__WASI_EFAULT);
    for (size_t i = 0; i < MEM_LEN; i++)
        if (mem.base[i]) {
            CHECK(!"a failing call wrote guest memory");
            break;
        }
    CHECK(canaries_ok());
    /* The exact end of memory is fine. */
    CHECK(CALL(w, "args_get", L - 12, L - 22) == 0);
    CHECK(CALL(w, "args_sizes_get", L - 4, L - 8) == 0);
    CHECK(canaries_ok());
    eryx__wasi_free(w);

    /* No arguments at all: zero sizes, and a zero-sized get anywhere in range. */
    memset(&cfg, 0, sizeof cfg);
    w = eryx__wasi_new(&cfg);
    CHECK(w != NULL);
    CHECK(CALL(w, "args_sizes_get", OUT, OUT2) == 0);
    CHECK(rd32(OUT) == 0 && rd32(OUT2) == 0);
    CHECK(CALL(w, "environ_get", L, L) == 0);
    eryx__wasi_free(w);
    eryx__wasi_free(NULL);
}

static void test_stdio(void) {
    io_capture cap;
    memset(&cap, 0, sizeof cap);
    eryx__wasi *w = make_wasi(NULL, &cap);
    mem_reset();

    /* Several iovecs, an empty one among them. */
    put_str(DATA, "hel");
    put_str(DATA + 100, "lo\n");
    put_iov(IOVS, 0, DATA, 3);
    put_iov(IOVS, 1, DATA + 50, 0);
    put_iov(IOVS, 2, DATA + 100, 3);
    CHECK(CALL(w, "fd_write", 1, IOVS, 3, OUT) == 0);
    CHECK(rd32(OUT) == 6);
    CHECK(cap.out_len == 6 && memcmp(cap.out, "hello\n", 6) == 0);
    CHECK(cap.last_fd == 1);
    CHECK(CALL(w, "fd_write", 2, IOVS, 1, OUT) == 0);
    CHECK(cap.last_fd == 2 && rd32(OUT) == 3);
    CHECK(CALL(w, "fd_write", 1, IOVS, 0, OUT) == 0);
    CHECK(rd32(OUT) == 0);
    CHECK(CALL(w, "fd_write", 0, IOVS, 1, OUT) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_write", 3, IOVS, 1, OUT) == ERYX__WASI_EISDIR);
    CHECK(CALL(w, "fd_write", 9, IOVS, 1, OUT) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_write", 0xFFFFFFFFu, IOVS, 1, OUT) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_pwrite", 1, IOVS, 1, 0, OUT) == ERYX__WASI_ESPIPE);
    cap.write_err = ERYX__WASI_ENOSPC;
    CHECK(CALL(w, "fd_write", 1, IOVS, 1, OUT) == ERYX__WASI_ENOSPC);
    cap.write_err = 0;

    /* stdin: one host read per fd_read, EOF as 0. */
    cap.in = "abcdef";
    cap.in_len = 6;
    put_iov(IOVS, 0, DATA, 0);
    put_iov(IOVS, 1, DATA + 10, 4);
    put_iov(IOVS, 2, DATA + 20, 4);
    CHECK(CALL(w, "fd_read", 0, IOVS, 3, OUT) == 0);
    CHECK(rd32(OUT) == 4 && memcmp(mem.base + DATA + 10, "abcd", 4) == 0);
    CHECK(cap.read_calls == 1);
    CHECK(CALL(w, "fd_read", 0, IOVS, 3, OUT) == 0);
    CHECK(rd32(OUT) == 2 && memcmp(mem.base + DATA + 10, "ef", 2) == 0);
    CHECK(CALL(w, "fd_read", 0, IOVS, 3, OUT) == 0);
    CHECK(rd32(OUT) == 0);
    CHECK(CALL(w, "fd_read", 1, IOVS, 3, OUT) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_read", 2, IOVS, 3, OUT) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_read", 3, IOVS, 3, OUT) == ERYX__WASI_EISDIR);
    CHECK(CALL(w, "fd_pread", 0, IOVS, 3, 0, OUT) == ERYX__WASI_ESPIPE);

    /* Character devices that are not ttys: FD_SEEK and FD_TELL are reported, but
    ** seeking is ESPIPE. */
    for (uint32_t fd = 0; fd < 3; fd++) {
        CHECK(CALL(w, "fd_fdstat_get", fd, BIG) == 0);
        CHECK(mem.base[BIG] == ERYX__WASI_FILETYPE_CHARACTER_DEVICE);
        CHECK((rd64(BIG + 8) & (RIGHT_FD_SEEK | RIGHT_FD_TELL)) == (RIGHT_FD_SEEK | RIGHT_FD_TELL));
        CHECK(CALL(w, "fd_seek", fd, 0, ERYX__WASI_WHENCE_CUR, OUT) == ERYX__WASI_ESPIPE);
        CHECK(CALL(w, "fd_tell", fd, OUT) == ERYX__WASI_ESPIPE);
        CHECK(CALL(w, "fd_filestat_get", fd, BIG) == 0);
        CHECK(mem.base[BIG + 16] == ERYX__WASI_FILETYPE_CHARACTER_DEVICE);
        CHECK(CALL(w, "fd_sync", fd) == 0);
    }
    CHECK(CALL(w, "fd_fdstat_get", 3, BIG) == 0);
    CHECK(mem.base[BIG] == ERYX__WASI_FILETYPE_DIRECTORY);
    CHECK(rd64(BIG + 16) == ERYX__WASI_RIGHTS_ALL);
    CHECK(CALL(w, "fd_fdstat_get", 4, BIG) == ERYX__WASI_EBADF);

    /* Closing stdout makes it unusable; the root cannot be closed. */
    CHECK(CALL(w, "fd_close", 1) == 0);
    CHECK(CALL(w, "fd_write", 1, IOVS, 1, OUT) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_close", 1) == ERYX__WASI_EBADF);
    CHECK(CALL(w, "fd_close", 3) == ERYX__WASI_ENOTSUP);
    CHECK(CALL(w, "fd_fdstat_get", 3, BIG) == 0);
    CHECK(CALL(w, "fd_close", 4) == ERYX__WASI_EBADF);
    CHECK(canaries_ok());
    eryx__wasi_free(w);

    /* No hooks: stdin is empty and output vanishes (but counts as written). */
    w = make_wasi(NULL, NULL);
    put_iov(IOVS, 0, DATA, 5);
    CHECK(CALL(w, "fd_read", 0, IOVS, 1, OUT) == 0);
    CHECK(rd32(OUT) == 0);
    CHECK(CALL(w, "fd_write", 1, IOVS, 1, OUT) == 0);
    CHECK(rd32(OUT) == 5);
    eryx__wasi_free(w);
}

static void test_proc_exit(void) {
    eryx__wasi *w = make_wasi(NULL, NULL);
    int code = -7;
    CHECK(!eryx__wasi_exited(w, &code));
    CHECK(code == -7);
    CHECK(CALL(w, "proc_exit", 3) == ERYX__WASI_STOP);
    CHECK(eryx__wasi_exited(w, &code));
    CHECK(code == 3);
    CHECK(eryx__wasi_exited(w, NULL));
    CHECK(CALL(w, "proc_exit", 0xFFFFFFFFu) == ERYX__WASI_STOP);
    CHECK(eryx__wasi_exited(w, &code) && code == -1);
    CHECK(!eryx__wasi_exited(NULL, &code));
    eryx__wasi_free(w);
}

int main(void) {
    if (wasi_mem_open()) return 1;
    test_table();
    test_args_environ();
    test_stdio();
    test_proc_exit();
    wasi_mem_close();
    return check_report("test_wasi");
}
