/*
** WASI preview1 host over the VFS (see wasi.h): the import table, the state's
** lifecycle and the fd table, args and environment, clocks, random, process, and
** poll_oneoff. The file calls are wasi_fs.c's; the state and guest-memory access
** are in wasi_int.h.
**
** Every guest pointer is checked with mem_range() before a host pointer into guest
** memory is formed; output pointers are checked before any side effect. Results
** are built in host buffers and copied out.
*/
#define _GNU_SOURCE /* getrandom */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include "wasi_int.h"

/* ---- fds ---------------------------------------------------------------------- */

void eryx__wasi_fd_release(fd_entry *e) {
    if (e->kind == FD_STREAM && e->sops) e->sops->close(e->stream);
    if (e->file && e->file->ops && e->file->ops->close) e->file->ops->close(e->file);
    free(e->path);
    memset(e, 0, sizeof *e);
}

eryx__errno eryx__wasi_entry_stat(eryx__wasi *w, fd_entry *e, eryx__vfs_stat *st) {
    memset(st, 0, sizeof *st);
    if (e->file && e->file->ops->fstat) return e->file->ops->fstat(e->file, st);
    if (!w->vfs || !e->path) return ERYX__WASI_EBADF;
    return eryx__vfs_stat_path(w->vfs, e->path, true, st);
}

eryx__errno eryx__wasi_guest_path(eryx__wasi *w, eryx__guest_mem m, uint32_t dirfd, uint32_t ptr, uint32_t len,
                                  char out[PATH_CAP]) {
    fd_entry *e = fd_get(w, dirfd);
    if (!e) return ERYX__WASI_EBADF;
    if (!is_dir(e)) return ERYX__WASI_ENOTDIR;
    if (len > PATH_MAX_LEN) return ERYX__WASI_ENAMETOOLONG;
    if (!mem_range(m, ptr, len)) return ERYX__WASI_EFAULT;
    if (len == 0) return ERYX__WASI_ENOENT; /* POSIX: the empty path names nothing */
    if (!w->vfs) return ERYX__WASI_ENOENT;
    return eryx__vfs_join_guest(e->path, (const char *)gptr(m, ptr), len, out, PATH_CAP);
}

/* ---- args and environ --------------------------------------------------------- */

static bool strvec_init(strvec *v, int n, const char *const *s) {
    memset(v, 0, sizeof *v);
    if (n <= 0) return true;
    if (!s || (uint64_t)n > UINT32_MAX / 4) return false;
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        if (!s[i]) return false;
        total += strlen(s[i]) + 1;
        if (total > UINT32_MAX) return false;
    }
    v->offsets = malloc((size_t)n * sizeof *v->offsets);
    v->buf = malloc((size_t)total);
    if (!v->offsets || !v->buf) {
        free(v->offsets);
        free(v->buf);
        memset(v, 0, sizeof *v);
        return false;
    }
    uint32_t off = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(s[i]) + 1;
        v->offsets[i] = off;
        memcpy(v->buf + off, s[i], l);
        off += (uint32_t)l;
    }
    v->count = (uint32_t)n;
    v->buf_size = off;
    return true;
}

static void strvec_free(strvec *v) {
    free(v->offsets);
    free(v->buf);
    memset(v, 0, sizeof *v);
}

static int32_t strvec_sizes(const strvec *v, eryx__guest_mem m, uint32_t count_ptr, uint32_t size_ptr) {
    if (!mem_range(m, count_ptr, 4) || !mem_range(m, size_ptr, 4)) return ERYX__WASI_EFAULT;
    store_u32(m, count_ptr, v->count);
    store_u32(m, size_ptr, v->buf_size);
    return 0;
}

/* WASI layout: an array of count u32 pointers, and the NUL-terminated strings. */
static int32_t strvec_get(const strvec *v, eryx__guest_mem m, uint32_t ptrs, uint32_t buf) {
    if (!mem_range(m, ptrs, (uint64_t)v->count * 4) || !mem_range(m, buf, v->buf_size)) return ERYX__WASI_EFAULT;
    for (uint32_t i = 0; i < v->count; i++) {
        /* buf + offset < m.len <= 2^32: no wrap. */
        uint8_t b[4];
        put_u32(b, (uint32_t)((uint64_t)buf + v->offsets[i]));
        memcpy(gptr(m, ptrs + 4 * i), b, 4);
    }
    if (v->buf_size) memcpy(gptr(m, buf), v->buf, v->buf_size);
    return 0;
}

static int32_t wasi_args_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    return strvec_get(&w->args, m, A32(0), A32(1));
}
static int32_t wasi_args_sizes_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    return strvec_sizes(&w->args, m, A32(0), A32(1));
}
static int32_t wasi_environ_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    return strvec_get(&w->env, m, A32(0), A32(1));
}
static int32_t wasi_environ_sizes_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    return strvec_sizes(&w->env, m, A32(0), A32(1));
}

/* ---- clocks, random, process -------------------------------------------------- */

static eryx__errno host_clock(uint32_t id, clockid_t *out) {
    switch (id) {
    case ERYX__WASI_CLOCK_REALTIME: *out = CLOCK_REALTIME; return 0;
    case ERYX__WASI_CLOCK_MONOTONIC: *out = CLOCK_MONOTONIC; return 0;
    /* The host process runs many sandboxes: the calling thread's CPU time is the
    ** guest's own. */
    case ERYX__WASI_CLOCK_PROCESS_CPUTIME:
    case ERYX__WASI_CLOCK_THREAD_CPUTIME: *out = CLOCK_THREAD_CPUTIME_ID; return 0;
    default: return ERYX__WASI_EINVAL;
    }
}

static eryx__errno timespec_ns(const struct timespec *ts, uint64_t *ns) {
    if (ts->tv_sec < 0 || ts->tv_nsec < 0 || (uint64_t)ts->tv_sec > UINT64_MAX / 1000000000u - 1)
        return ERYX__WASI_EOVERFLOW;
    *ns = (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
    return 0;
}

static eryx__errno clock_now(uint32_t id, uint64_t *ns) {
    clockid_t c;
    eryx__errno err = host_clock(id, &c);
    if (err) return err;
    struct timespec ts;
    if (clock_gettime(c, &ts) != 0) return ERYX__WASI_EIO;
    return timespec_ns(&ts, ns);
}

static int32_t wasi_clock_res_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)w;
    clockid_t c;
    eryx__errno err = host_clock(A32(0), &c);
    if (err) return err;
    if (!mem_range(m, A32(1), 8)) return ERYX__WASI_EFAULT;
    struct timespec ts;
    uint64_t ns;
    if (clock_getres(c, &ts) != 0) return ERYX__WASI_EIO;
    if ((err = timespec_ns(&ts, &ns))) return err;
    store_u64(m, A32(1), ns);
    return 0;
}

static int32_t wasi_clock_time_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)w; /* args[1], the precision, is a hint */
    uint64_t ns;
    eryx__errno err = clock_now(A32(0), &ns);
    if (err) return err;
    if (!store_u64(m, A32(2), ns)) return ERYX__WASI_EFAULT;
    return 0;
}

static int32_t wasi_random_get(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)w;
    uint32_t buf = A32(0), len = A32(1);
    if (!mem_range(m, buf, len)) return ERYX__WASI_EFAULT;
    size_t done = 0;
    while (done < len) {
        size_t chunk = len - done;
        if (chunk > (1u << 20)) chunk = 1u << 20;
        ssize_t r = getrandom(gptr(m, buf) + done, chunk, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return ERYX__WASI_EIO;
        done += (size_t)r;
    }
    return 0;
}

static int32_t wasi_proc_exit(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)m;
    uint32_t v = A32(0);
    w->exited = true;
    /* The u32 status as the host's int, without relying on out-of-range conversion. */
    w->exit_code = v <= INT32_MAX ? (int)v : -(int)(~v) - 1;
    return ERYX__WASI_STOP;
}

static int32_t wasi_sched_yield(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)w, (void)m, (void)args;
    return 0;
}

/* The guest has no sockets of its own (connections come from eryx.net_connect). */
static int32_t wasi_sock_unsupported(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    (void)w, (void)m, (void)args;
    return ERYX__WASI_ENOTSUP;
}


/* ---- poll_oneoff -------------------------------------------------------------- */

static eryx__errno default_sleep(uint64_t ns) {
    struct timespec req = {.tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u)}, rem;
    while (nanosleep(&req, &rem) != 0) {
        if (errno != EINTR) return ERYX__WASI_EINVAL;
        req = rem;
    }
    return 0;
}

/* One subscription as poll_oneoff sees it: a clock (and when it fires), or a
** stream fd asked again after each wait. */
typedef struct clock_sub {
    bool is_clock, stream;
    uint64_t rel_ns;
} clock_sub;

static void put_event(uint8_t *ev, uint64_t userdata, uint16_t error, uint8_t type) {
    memset(ev, 0, ERYX__WASI_EVENT_SIZE);
    put_u64(ev + 0, userdata);
    put_u16(ev + 8, error);
    ev[10] = type;
}

/* One pass over the stream subscriptions: an event for each that is ready now,
** else its OS fd into pfds (*npfd of them). */
static void poll_streams(eryx__wasi *w, eryx__guest_mem m, uint32_t in, uint32_t n, const clock_sub *subs,
                         uint8_t *events, uint32_t *nev, struct pollfd *pfds, uint32_t *npfd) {
    *npfd = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!subs[i].stream) continue;
        const uint8_t *s = gptr(m, in + i * ERYX__WASI_SUBSCRIPTION_SIZE);
        fd_entry *e = fd_get(w, get_u32(s + 16));
        struct pollfd p = {.fd = -1};
        if (!e || e->kind != FD_STREAM) continue; /* closed meanwhile: cannot happen in one call */
        if (e->sops->ready(e->stream, s[8] == ERYX__WASI_EVENTTYPE_FD_WRITE, &p)) {
            uint8_t *ev = events + (*nev)++ * ERYX__WASI_EVENT_SIZE;
            put_event(ev, get_u64(s), 0, s[8]);
            put_u64(ev + 16, 1); /* nbytes: at least one (the guest's libc only tests readiness) */
            continue;
        }
        p.revents = 0;
        pfds[(*npfd)++] = p;
    }
}

static int32_t wasi_poll_oneoff(eryx__wasi *w, eryx__guest_mem m, const uint64_t *args) {
    uint32_t in = A32(0), out = A32(1), n = A32(2), nev_ptr = A32(3);
    if (n == 0 || n > MAX_SUBSCRIPTIONS) return ERYX__WASI_EINVAL;
    if (!mem_range(m, in, (uint64_t)n * ERYX__WASI_SUBSCRIPTION_SIZE) ||
        !mem_range(m, out, (uint64_t)n * ERYX__WASI_EVENT_SIZE) || !mem_range(m, nev_ptr, 4))
        return ERYX__WASI_EFAULT;
    /* Events are built on the host and copied out last: out may overlap in. */
    uint8_t *events = malloc((size_t)n * ERYX__WASI_EVENT_SIZE);
    clock_sub *clocks = calloc(n, sizeof *clocks);
    struct pollfd *pfds = malloc((size_t)n * sizeof *pfds);
    if (!events || !clocks || !pfds) {
        free(events);
        free(clocks);
        free(pfds);
        return ERYX__WASI_ENOMEM;
    }
    uint32_t nev = 0, nstreams = 0;
    bool have_clock = false;
    uint64_t min_ns = UINT64_MAX;
    eryx__errno err = 0;
    for (uint32_t i = 0; i < n && !err; i++) {
        const uint8_t *s = gptr(m, in + i * ERYX__WASI_SUBSCRIPTION_SIZE);
        uint64_t userdata = get_u64(s);
        uint8_t tag = s[8];
        if (tag == ERYX__WASI_EVENTTYPE_CLOCK) {
            uint32_t id = get_u32(s + 16);
            uint64_t timeout = get_u64(s + 24);
            uint16_t cflags = get_u16(s + 40);
            uint64_t now = 0;
            eryx__errno cerr = clock_now(id, &now);
            if (cerr) {
                put_event(events + nev++ * ERYX__WASI_EVENT_SIZE, userdata, cerr, tag);
                continue;
            }
            uint64_t rel = timeout;
            if (cflags & ERYX__WASI_SUBCLOCK_ABSTIME) rel = timeout > now ? timeout - now : 0;
            clocks[i].is_clock = true;
            clocks[i].rel_ns = rel;
            have_clock = true;
            if (rel < min_ns) min_ns = rel;
        } else if (tag == ERYX__WASI_EVENTTYPE_FD_READ || tag == ERYX__WASI_EVENTTYPE_FD_WRITE) {
            fd_entry *e = fd_get(w, get_u32(s + 16));
            if (e && e->kind == FD_STREAM) {
                clocks[i].stream = true; /* asked below */
                nstreams++;
                continue;
            }
            bool ok = e && (e->kind == FD_FILE || (tag == ERYX__WASI_EVENTTYPE_FD_READ && e->kind == FD_STDIN) ||
                            (tag == ERYX__WASI_EVENTTYPE_FD_WRITE && (e->kind == FD_STDOUT || e->kind == FD_STDERR)));
            /* Ready at once (nbytes 0): reads and writes never wait on the VFS, and
            ** stdin/stdout are the host's to pace. */
            put_event(events + nev++ * ERYX__WASI_EVENT_SIZE, userdata, ok ? 0 : ERYX__WASI_EBADF, tag);
        } else {
            err = ERYX__WASI_EINVAL;
        }
    }
    if (!err && nstreams) {
        /* Streams: wait on their OS fds (and the earliest clock) until one is
        ** ready; a wake-up that leaves none ready (half a TLS record) waits again. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t start = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        for (;;) {
            uint32_t npfd = 0;
            poll_streams(w, m, in, n, clocks, events, &nev, pfds, &npfd);
            if (nev > 0) break;
            uint64_t left = UINT64_MAX;
            if (have_clock) {
                clock_gettime(CLOCK_MONOTONIC, &ts);
                uint64_t spent = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec - start;
                if (spent >= min_ns) break; /* the clocks fire below */
                left = min_ns - spent;
            }
            int r = eryx__wasi_wait(w, pfds, npfd, left);
            if (r < 0) {
                err = (eryx__errno)-r;
                break;
            }
        }
    } else if (!err && nev == 0 && have_clock && min_ns > 0) {
        /* Nothing ready: wait for the earliest clock. */
        err = w->io.sleep_ns ? w->io.sleep_ns(w->io.user, min_ns) : default_sleep(min_ns);
    }
    if (!err && have_clock) {
        /* The clocks that have fired: the earliest after a sleep, the expired ones
        ** when an fd event was ready first. */
        uint64_t limit = nev == 0 ? min_ns : 0;
        for (uint32_t i = 0; i < n; i++) {
            if (!clocks[i].is_clock || clocks[i].rel_ns > limit) continue;
            const uint8_t *s = gptr(m, in + i * ERYX__WASI_SUBSCRIPTION_SIZE);
            put_event(events + nev++ * ERYX__WASI_EVENT_SIZE, get_u64(s), 0, ERYX__WASI_EVENTTYPE_CLOCK);
        }
    }
    if (!err) {
        memcpy(gptr(m, out), events, (size_t)nev * ERYX__WASI_EVENT_SIZE);
        store_u32(m, nev_ptr, nev);
    }
    free(events);
    free(clocks);
    free(pfds);
    return err;
}


/* ---- the table and lifecycle -------------------------------------------------- */

const eryx__wasi_import eryx__wasi_imports[] = {
    {"args_get", "ii", 1, wasi_args_get},
    {"args_sizes_get", "ii", 1, wasi_args_sizes_get},
    {"environ_get", "ii", 1, wasi_environ_get},
    {"environ_sizes_get", "ii", 1, wasi_environ_sizes_get},
    {"clock_res_get", "ii", 1, wasi_clock_res_get},
    {"clock_time_get", "iIi", 1, wasi_clock_time_get},
    {"fd_advise", "iIIi", 1, eryx__wasi_fd_advise},
    {"fd_close", "i", 1, eryx__wasi_fd_close},
    {"fd_datasync", "i", 1, eryx__wasi_fd_sync},
    {"fd_fdstat_get", "ii", 1, eryx__wasi_fd_fdstat_get},
    {"fd_fdstat_set_flags", "ii", 1, eryx__wasi_fd_fdstat_set_flags},
    {"fd_filestat_get", "ii", 1, eryx__wasi_fd_filestat_get},
    {"fd_filestat_set_size", "iI", 1, eryx__wasi_fd_filestat_set_size},
    {"fd_filestat_set_times", "iIIi", 1, eryx__wasi_fd_filestat_set_times},
    {"fd_pread", "iiiIi", 1, eryx__wasi_fd_pread},
    {"fd_prestat_get", "ii", 1, eryx__wasi_fd_prestat_get},
    {"fd_prestat_dir_name", "iii", 1, eryx__wasi_fd_prestat_dir_name},
    {"fd_pwrite", "iiiIi", 1, eryx__wasi_fd_pwrite},
    {"fd_read", "iiii", 1, eryx__wasi_fd_read},
    {"fd_readdir", "iiiIi", 1, eryx__wasi_fd_readdir},
    {"fd_seek", "iIii", 1, eryx__wasi_fd_seek},
    {"fd_sync", "i", 1, eryx__wasi_fd_sync},
    {"fd_tell", "ii", 1, eryx__wasi_fd_tell},
    {"fd_write", "iiii", 1, eryx__wasi_fd_write},
    {"path_create_directory", "iii", 1, eryx__wasi_path_create_directory},
    {"path_filestat_get", "iiiii", 1, eryx__wasi_path_filestat_get},
    {"path_filestat_set_times", "iiiiIIi", 1, eryx__wasi_path_filestat_set_times},
    {"path_link", "iiiiiii", 1, eryx__wasi_path_link},
    {"path_open", "iiiiiIIii", 1, eryx__wasi_path_open},
    {"path_readlink", "iiiiii", 1, eryx__wasi_path_readlink},
    {"path_remove_directory", "iii", 1, eryx__wasi_path_remove_directory},
    {"path_rename", "iiiiii", 1, eryx__wasi_path_rename},
    {"path_symlink", "iiiii", 1, eryx__wasi_path_symlink},
    {"path_unlink_file", "iii", 1, eryx__wasi_path_unlink_file},
    {"poll_oneoff", "iiii", 1, wasi_poll_oneoff},
    {"proc_exit", "i", 0, wasi_proc_exit},
    {"sched_yield", "", 1, wasi_sched_yield},
    {"random_get", "ii", 1, wasi_random_get},
    {"sock_accept", "iii", 1, wasi_sock_unsupported},
    {"sock_recv", "iiiiii", 1, wasi_sock_unsupported},
    {"sock_send", "iiiii", 1, wasi_sock_unsupported},
    {"sock_shutdown", "ii", 1, eryx__wasi_sock_shutdown},
};
const size_t eryx__wasi_import_count = sizeof eryx__wasi_imports / sizeof eryx__wasi_imports[0];

const eryx__wasi_import *eryx__wasi_find_import(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < eryx__wasi_import_count; i++)
        if (strcmp(eryx__wasi_imports[i].name, name) == 0) return &eryx__wasi_imports[i];
    return NULL;
}

eryx__wasi *eryx__wasi_new(const eryx__wasi_config *config) {
    if (!config) return NULL;
    eryx__wasi *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->vfs = config->vfs;
    w->io = config->io;
    char *root = strdup("/");
    if (!root || !strvec_init(&w->args, config->argc, config->argv) ||
        !strvec_init(&w->env, config->envc, config->env)) {
        free(root);
        strvec_free(&w->args);
        strvec_free(&w->env);
        free(w);
        return NULL;
    }
    w->fds[0].kind = FD_STDIN;
    w->fds[1].kind = FD_STDOUT;
    w->fds[2].kind = FD_STDERR;
    w->fds[ROOT_FD].kind = FD_ROOT;
    w->fds[ROOT_FD].path = root;
    return w;
}

size_t eryx__wasi_guest_fd_count(const eryx__wasi *w) {
    size_t n = 0;
    for (size_t i = FIRST_GUEST_FD; w && i < ERYX__WASI_MAX_FDS; i++) n += w->fds[i].kind != FD_FREE;
    return n;
}

void eryx__wasi_close_guest_fds(eryx__wasi *w) {
    if (!w) return;
    for (size_t i = FIRST_GUEST_FD; i < ERYX__WASI_MAX_FDS; i++)
        if (w->fds[i].kind != FD_FREE) eryx__wasi_fd_release(&w->fds[i]);
    w->stat_dirfd = 0;
}

void eryx__wasi_free(eryx__wasi *w) {
    if (!w) return;
    for (size_t i = 0; i < ERYX__WASI_MAX_FDS; i++)
        if (w->fds[i].kind != FD_FREE) eryx__wasi_fd_release(&w->fds[i]);
    strvec_free(&w->args);
    strvec_free(&w->env);
    free(w);
}

bool eryx__wasi_exited(const eryx__wasi *w, int *code) {
    if (!w || !w->exited) return false;
    if (code) *code = w->exit_code;
    return true;
}
