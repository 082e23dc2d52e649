/*
** What the guest's host calls do for one sandbox: stdin, output (and its cap),
** sleep, the epoch check (timeouts, cancel), reports of results, host callbacks and
** extension loading. These run inside guest calls, on the executing thread; they
** check guest-independent state only (src/wasi/ and the import glue have already
** bounds-checked every guest pointer). They must not free the instance.
*/
#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../net/net.h"
#include "sandbox.h"

/* Whether the running execution must stop now; records the reason once. */
static bool must_stop(eryx_sandbox *s) {
    if (atomic_load_explicit(&s->stop, memory_order_relaxed)) return true;
    int reason = STOP_NONE;
    if (atomic_load_explicit(&s->cancel, memory_order_relaxed)) reason = STOP_CANCEL;
    else if (s->hub && eryx__cb_hub_suspended(s->hub)) reason = STOP_SUSPEND;
    else if (s->deadline_ns && eryx__now_ns() >= s->deadline_ns) reason = STOP_TIMEOUT;
    if (reason == STOP_NONE) return false;
    int none = STOP_NONE;
    atomic_compare_exchange_strong(&s->stop, &none, reason);
    return true;
}

bool eryx__hooks_due(void *user) {
    eryx_sandbox *s = user;
    return s->cur && must_stop(s);
}

/* Sleeps ns in slices, so a timeout or a cancel ends the wait within a slice. */
static uint16_t hook_sleep(void *user, uint64_t ns) {
    eryx_sandbox *s = user;
    uint64_t end = eryx__now_ns() + ns;
    for (;;) {
        if (s->cur && must_stop(s)) return ERYX__WASI_EINTR;
        uint64_t now = eryx__now_ns();
        if (now >= end) return 0;
        uint64_t left = end - now < (uint64_t)WAIT_SLICE_NS ? end - now : (uint64_t)WAIT_SLICE_NS;
        struct timespec ts = {0, (long)left};
        nanosleep(&ts, NULL);
    }
}

/* Waits on OS fds (network connections, the resolver's sockets) in slices, so a
** timeout or a cancel ends the wait within a slice. */
int eryx__hooks_wait(void *user, struct pollfd *fds, size_t n, uint64_t timeout_ns) {
    eryx_sandbox *s = user;
    uint64_t start = eryx__now_ns();
    uint64_t end = timeout_ns > UINT64_MAX - start ? UINT64_MAX : start + timeout_ns;
    for (;;) {
        if (s->cur && must_stop(s)) return -ERYX__WASI_EINTR;
        uint64_t now = eryx__now_ns();
        if (now >= end) return 0;
        uint64_t left = end - now < (uint64_t)WAIT_SLICE_NS ? end - now : (uint64_t)WAIT_SLICE_NS;
        struct timespec ts = {0, (long)left};
        int r = ppoll(fds, (nfds_t)n, &ts, NULL);
        if (r > 0) return r;
        if (r < 0 && errno != EINTR) return -ERYX__WASI_EIO;
    }
}

static ptrdiff_t hook_read_stdin(void *user, void *dst, size_t len) {
    eryx_sandbox *s = user;
    if (s->stdin_fd < 0) return s->stdin_fn ? s->stdin_fn(s->stdin_user, dst, len) : 0;
    /* An fd: wait in slices (interruptible), then read what is there. */
    for (;;) {
        if (s->cur && must_stop(s)) return -1;
        struct pollfd p = {.fd = s->stdin_fd, .events = POLLIN};
        int n = poll(&p, 1, (int)(WAIT_SLICE_NS / 1000000L));
        if (n < 0 && errno != EINTR) return -1;
        if (n > 0) {
            ssize_t r = read(s->stdin_fd, dst, len);
            if (r >= 0 || (errno != EINTR && errno != EAGAIN)) return r;
        }
    }
}

/* Output outside an execution (while Python starts) is kept in a scratch result so
** a failed start can show what Python printed. Past the stream's cap, the kept
** output ends with a marker and the execution stops (ERYX_ERR_OUTPUT_LIMIT). */
uint16_t eryx__hooks_output(eryx_sandbox *s, int fd, const void *data, size_t len) {
    if (!s->cur) return 0;
    buf *b = fd == 1 ? &s->cur->out : &s->cur->err;
    uint64_t cap = s->spec.output_limit;
    size_t keep = len;
    bool over = cap && (b->len > cap || len > cap - b->len);
    if (over) keep = b->len < cap ? (size_t)(cap - b->len) : 0;
    if (eryx__buf_append(b, data, keep) != 0) return ERYX__WASI_ENOSPC;
    if (s->out_fn && keep) s->out_fn(s->out_user, fd, data, keep);
    if (over) {
        s->cur->truncated[fd == 1 ? 0 : 1] = true;
        eryx__buf_append(b, TRUNCATION_MARKER, sizeof TRUNCATION_MARKER - 1);
        int none = STOP_NONE;
        atomic_compare_exchange_strong(&s->stop, &none, STOP_OUTPUT);
        return ERYX__WASI_ENOSPC;
    }
    return 0;
}

/* The guest's output: scrubbed of secrets first when the builder says so. */
static uint16_t hook_write_output(void *user, int fd, const void *data, size_t len) {
    eryx_sandbox *s = user;
    if (!s->cur) return 0;
    void *scrubbed = NULL;
    if (s->scrub_out[fd == 1 ? 0 : 1] && eryx__secrets_output(s, fd, data, len, &scrubbed, &len) != 0)
        return ERYX__WASI_ENOMEM;
    uint16_t rc = eryx__hooks_output(s, fd, scrubbed ? scrubbed : data, len);
    free(scrubbed);
    return rc;
}

/* ---- host callbacks: the guest's calls, to the sandbox's hub ---- */
/* After each: a suspension (a callback's ERYX_CALLBACK_SUSPEND) stops the guest as
** the call returns, before it can see the suspended call's outcome. */
static int32_t hook_cb_start(void *user, const uint8_t *name, size_t nlen, const uint8_t *args, size_t alen) {
    eryx_sandbox *s = user;
    int32_t id = eryx__cb_start(s->hub, name, nlen, args, alen);
    eryx__hooks_due(s);
    return id;
}
static int32_t hook_cb_wait(void *user, int32_t timeout_ms) {
    eryx_sandbox *s = user;
    int32_t id = eryx__cb_wait(s->hub, timeout_ms, eryx__hooks_due, s);
    eryx__hooks_due(s);
    return id;
}
static int32_t hook_cb_len(void *user, int32_t id) {
    eryx_sandbox *s = user;
    return eryx__cb_len(s->hub, id);
}
/* Where compiled extension modules are cached: the disk tier only (the embedder's
** backend and warning handler belong to the builder, which may be gone by now). */
static eryx__cache_config ext_cache_config(const eryx_sandbox *s) {
    return (eryx__cache_config){.engine = s->spec.engine,
                                .dir = s->ext_cache_dir,
                                .max_bytes = s->ext_cache_max_bytes,
                                .max_entries = s->ext_cache_max_entries};
}

/* Loads again, where they were, the extension modules the guest's log in the
** instance's memory names and the instance has not loaded yet (a restored
** snapshot's, a restored session's). ERYX_OK, or a status with a message in err. */
eryx_status eryx__hooks_replay_extensions(eryx_sandbox *s, eryx__errbuf *err) {
    eryx__cache_config cc = ext_cache_config(s);
    return eryx__ext_replay(&s->dl, &cc, s->cx, &s->instance, eryx__guest_module(s->guest), s->vfs, err);
}

/* eryx.dl_open: an extension module's side module, loaded into this instance. */
static eryx_status hook_dl_open(void *user, const char *path, const char *init, int32_t *index, eryx__errbuf *err) {
    eryx_sandbox *s = user;
    eryx__cache_config cc = ext_cache_config(s);
    return eryx__ext_open(&s->dl, &cc, s->cx, &s->instance, eryx__guest_module(s->guest), s->vfs, path, init, index,
                          err);
}

static int32_t hook_cb_take(void *user, int32_t id, uint8_t *out, size_t cap) {
    eryx_sandbox *s = user;
    return eryx__cb_take(s->hub, id, out, cap);
}

/* The store's epoch deadline was reached (the process ticker advances the epoch
** every ERYX__TICK_NS during executions): stop the guest, or let it run one more
** tick. */
wasmtime_error_t *eryx__hooks_on_epoch(wasmtime_context_t *cx, void *user, uint64_t *delta,
                                       wasmtime_update_deadline_kind_t *kind) {
    (void)cx;
    eryx_sandbox *s = user;
    if (s->cur && must_stop(s)) return wasmtime_error_new("eryx: the execution was stopped");
    *delta = 1;
    *kind = WASMTIME_UPDATE_DEADLINE_CONTINUE;
    return NULL;
}

static void hook_report(void *user, int32_t kind, const uint8_t *data, size_t len) {
    eryx_sandbox *s = user;
    if (!s->cur) return;
    char **field = kind == ERYX__REPORT_EXC_TYPE       ? &s->cur->exc_type
                   : kind == ERYX__REPORT_EXC_MESSAGE  ? &s->cur->exc_message
                   : kind == ERYX__REPORT_TRACEBACK    ? &s->cur->traceback
                   : kind == ERYX__REPORT_RESULT       ? &s->cur->value
                   : kind == ERYX__REPORT_RESULT_ERROR ? &s->cur->value_error
                                                       : NULL;
    if (!field) return;
    char *copy = malloc(len + 1);
    if (!copy) return; /* the stderr text still carries the error */
    memcpy(copy, data, len);
    copy[len] = '\0';
    free(*field);
    *field = copy;
}

eryx__wasi_io eryx__hooks_io(eryx_sandbox *s) {
    eryx__wasi_io io = {.read_stdin = hook_read_stdin,
                        .write_output = hook_write_output,
                        .sleep_ns = hook_sleep,
                        .wait = eryx__hooks_wait,
                        .user = s};
    if (s->secrets && (s->spec.scrub & ERYX_SCRUB_FILES)) {
        io.filter_file = eryx__secrets_filter_file;
        io.file_context = eryx__secret_set_max_len(s->secrets) - 1;
    }
    return io;
}

void eryx__hooks_host(eryx_sandbox *s) {
    s->host.wasi = s->wasi;
    s->host.report = hook_report;
    s->host.report_user = s;
    s->host.stop = &s->stop;
    s->host.dl_open = hook_dl_open;
    s->host.dl_user = s;
    s->host.net = s->net;
    if (s->hub) {
        s->host.cb_start = hook_cb_start;
        s->host.cb_wait = hook_cb_wait;
        s->host.cb_len = hook_cb_len;
        s->host.cb_take = hook_cb_take;
        s->host.cb_user = s;
    }
}
