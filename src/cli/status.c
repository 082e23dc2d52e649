/*
** The CLI's outcome channel (--status-json FILE, --status-fd N): one JSON object
** saying how the run ended, written by eryx itself after the guest has finished,
** to a descriptor the guest cannot reach. The exit status alone cannot say it: the
** guest's own sys.exit(124) and a real timeout both exit 124 (docs/RUNTIME.md,
** "Exit statuses"). Owns the object's fields and their names; not the exit status
** (run.c decides it and passes it in).
*/
#include "status.h"
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The outcome's name for a status: one word a script can switch on. */
static const char *outcome_of(eryx_status st) {
    switch (st) {
    case ERYX_OK: return "ok";
    case ERYX_ERR_PYTHON_EXCEPTION: return "exception";
    case ERYX_ERR_EXIT: return "exit";
    case ERYX_ERR_TIMEOUT: return "timeout";
    case ERYX_ERR_MEMORY_LIMIT: return "memory_limit";
    case ERYX_ERR_OUTPUT_LIMIT: return "output_limit";
    case ERYX_ERR_FUEL_EXHAUSTED: return "fuel_exhausted";
    case ERYX_ERR_CANCELLED: return "cancelled";
    case ERYX_ERR_TRAP: return "crashed";
    default: return "sandbox_error";
    }
}

/* A limit as given on the command line, or null (the default applies). */
static json_t *limit(uint64_t v) { return v ? json_integer((json_int_t)v) : json_null(); }

static json_t *string_or_null(const char *s) { return s ? json_string(s) : json_null(); }

/* Writes all of buf to fd; 0, or -1 with errno set. */
static int write_all(int fd, const char *buf, size_t len) {
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

void eryx__cli_status_write(eryx__cli_opts *o, const eryx__cli_status *w) {
    if (o->status_fd < 0) return;
    const eryx_result *r = w->result;
    /* The guest's own exit code only when it ended by itself. */
    bool ran = w->usage_error == NULL && r &&
               (w->st == ERYX_OK || w->st == ERYX_ERR_PYTHON_EXCEPTION || w->st == ERYX_ERR_EXIT);
    /* Failed before the code ran (no sandbox): the status says why. */
    const char *outcome = w->usage_error                    ? "usage_error"
                          : !r && w->st == ERYX_ERR_PREINIT ? "setup_failed"
                          : !r && w->st != ERYX_OK          ? "sandbox_error"
                                                            : outcome_of(w->st);
    const char *exc_type = r ? eryx_result_exception_type(r) : NULL;
    json_t *exc = exc_type ? json_pack("{s:s, s:o}", "type", exc_type, "message",
                                       string_or_null(eryx_result_exception_message(r)))
                           : json_null();
    json_t *obj = json_pack(
        "{s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:{s:b, s:b}, s:f, s:f, s:{s:o, s:o, s:o, s:o}}",
        "eryx_version", eryx_version(), "outcome", outcome, "exit_status", w->exit_status, "status",
        w->usage_error ? json_null() : json_string(eryx_status_name(w->st)), "guest_exit_code",
        ran ? json_integer(eryx_result_exit_code(r)) : json_null(), "exception", exc, "message",
        string_or_null(w->usage_error ? w->usage_error : w->message), "result_error", string_or_null(w->result_error),
        "peak_memory_bytes", (json_int_t)(r ? eryx_result_peak_memory(r) : 0), "fuel_consumed",
        (json_int_t)(r ? eryx_result_fuel_consumed(r) : 0), "output_truncated", "stdout",
        r && eryx_result_truncated(r, 1), "stderr", r && eryx_result_truncated(r, 2), "execute_ms",
        r ? (double)eryx_result_duration_ns(r) / 1e6 : 0.0, "total_ms", w->total_ms, "limits", "timeout_ms",
        limit(o->timeout_ms), "max_memory_bytes", limit(o->max_memory), "max_output_bytes", limit(o->max_output),
        "fuel", limit(o->fuel));
    /* The run's network activity (docs/NETWORK.md): zeros without --net. */
    eryx_net_stats ns = {0};
    if (r) eryx_result_net_stats(r, &ns);
    if (obj)
        json_object_set_new(obj, "net",
                            json_pack("{s:I, s:I, s:I, s:I}", "connections", (json_int_t)ns.connections, "refused",
                                      (json_int_t)ns.refused, "bytes_sent", (json_int_t)ns.bytes_sent, "bytes_received",
                                      (json_int_t)ns.bytes_received));
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9)) : NULL;
    size_t len = text ? strlen(text) : 0;
    /* A regular file holds this object alone, whatever was written to it since it
    ** was opened (by the guest, if it lies inside a writable --mount). */
    struct stat sb;
    if (fstat(o->status_fd, &sb) == 0 && S_ISREG(sb.st_mode) && ftruncate(o->status_fd, 0) == 0)
        lseek(o->status_fd, 0, SEEK_SET);
    if (!text || write_all(o->status_fd, text, len) != 0 || write_all(o->status_fd, "\n", 1) != 0)
        fprintf(stderr, "eryx: cannot write the status JSON: %s\n", text ? strerror(errno) : "out of memory");
    free(text);
    json_decref(obj);
    close(o->status_fd); /* a reader of a pipe gets its end */
    o->status_fd = -1;
}
