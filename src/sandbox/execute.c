/*
** Running code in a sandbox: the code copied into guest memory and run, the
** limits armed for the run (deadline, fuel, output cap, the epoch ticker), the
** result filled (output, exception, the result variable, peak memory), and the
** reset to the start state afterwards unless the sandbox keeps state. Results'
** accessors live here too.
*/
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../net/net.h"
#include "sandbox.h"
#include "sandbox_internal.h"

int eryx__buf_append(buf *b, const void *data, size_t len) {
    if (len > SIZE_MAX / 2 - b->len) return -1;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len + 1) cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p) return -1;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}


const char *eryx_result_stdout(const eryx_result *r, size_t *len) {
    if (len) *len = r ? r->out.len : 0;
    return r && r->out.data ? r->out.data : "";
}
const char *eryx_result_stderr(const eryx_result *r, size_t *len) {
    if (len) *len = r ? r->err.len : 0;
    return r && r->err.data ? r->err.data : "";
}
const char *eryx_result_exception_type(const eryx_result *r) { return r ? r->exc_type : NULL; }
const char *eryx_result_exception_message(const eryx_result *r) { return r ? r->exc_message : NULL; }
const char *eryx_result_traceback(const eryx_result *r) { return r ? r->traceback : NULL; }
const char *eryx_result_value(const eryx_result *r) { return r ? r->value : NULL; }
int eryx_result_truncated(const eryx_result *r, int stream) {
    return r && (stream == 1 || stream == 2) ? r->truncated[stream - 1] : 0;
}
uint64_t eryx_result_peak_memory(const eryx_result *r) { return r ? r->peak_memory : 0; }
uint64_t eryx_result_fuel_consumed(const eryx_result *r) { return r ? r->fuel_consumed : 0; }
uint32_t eryx_result_callback_invocations(const eryx_result *r) { return r ? r->callback_calls : 0; }
void eryx_result_net_stats(const eryx_result *r, eryx_net_stats *stats) {
    if (!stats) return;
    if (r) *stats = r->net;
    else memset(stats, 0, sizeof *stats);
}
const char *eryx_result_value_error(const eryx_result *r) { return r ? r->value_error : NULL; }
int eryx_result_exit_code(const eryx_result *r) { return r ? r->exit_code : 0; }
uint64_t eryx_result_duration_ns(const eryx_result *r) { return r ? r->duration_ns : 0; }

void eryx_result_free(eryx_result *r) {
    if (!r) return;
    eryx__result_clear(r);
    free(r);
}

void eryx__result_clear(eryx_result *r) {
    free(r->out.data);
    free(r->err.data);
    free(r->exc_type);
    free(r->exc_message);
    free(r->traceback);
    free(r->value);
    free(r->value_error);
    eryx__result_files_free(r);
}

/* Copies the code into guest memory and runs it (single: as one interactive
** statement, expression values printed); fills r. */
static eryx_status run_code(eryx_sandbox *s, const char *code, size_t len, bool single, eryx_result *r) {
    if (single) {
        int rc = 0;
        eryx_status st = eryx__instance_support_call(s, "execute_single", code, len, &rc);
        if (st != ERYX_OK || s->dead) return st;
        r->exit_code = rc;
        if (r->exc_type) return ERYX_ERR_PYTHON_EXCEPTION;
        return rc == 0 ? ERYX_OK : ERYX_ERR_EXIT;
    }
    wasmtime_val_t arg = {.kind = WASMTIME_I32, .of.i32 = (int32_t)len}, ptr;
    eryx_status st = eryx__instance_call(s, &s->fn_alloc, "allocating guest memory for the code", &arg, 1, &ptr, 1);
    if (st != ERYX_OK || s->dead) return st;
    uint32_t gptr = (uint32_t)ptr.of.i32;
    if (gptr == 0)
        return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "the guest has no memory left for %zu bytes of code", len);
    /* The pointer came from the guest: check it lies inside linear memory. */
    size_t msize = wasmtime_memory_data_size(s->cx, &s->host.memory);
    if ((size_t)gptr > msize || len > msize - gptr)
        return eryx__fail(&s->err, ERYX_ERR_GUEST_API, "the guest's allocator returned an out-of-bounds pointer");
    memcpy(wasmtime_memory_data(s->cx, &s->host.memory) + gptr, code, len);

    wasmtime_val_t args[2] = {{.kind = WASMTIME_I32, .of.i32 = (int32_t)gptr},
                              {.kind = WASMTIME_I32, .of.i32 = (int32_t)len}},
                   rc;
    st = eryx__instance_call(s, &s->fn_execute, "running Python code", args, 2, &rc, 1);
    if (st != ERYX_OK || s->dead) return st;
    r->exit_code = rc.of.i32;
    eryx_status free_st = eryx__instance_call(s, &s->fn_free, "freeing guest memory", args, 1, NULL, 0);
    if (free_st != ERYX_OK) return free_st;
    eryx_status done = r->exc_type ? ERYX_ERR_PYTHON_EXCEPTION : r->exit_code == 0 ? ERYX_OK : ERYX_ERR_EXIT;
    if (s->spec.result_name) {
        /* The variable is consumed by the run that sets it, failed or not: a
        ** session's later run never reports it again (the reference's semantics). */
        int missing = 0;
        st = eryx__instance_support_call(s, done == ERYX_OK ? "result" : "drop_result", s->spec.result_name,
                                         strlen(s->spec.result_name), &missing);
        /* A failed run whose guest cannot even drop it (out of memory) keeps its own status. */
        if (st != ERYX_OK && done != ERYX_OK && !s->dead) {
            eryx__errbuf_clear(&s->err);
            return done;
        }
        if (st != ERYX_OK) return st;
    }
    return done;
}

static bool drain_stop(void *user) {
    eryx_sandbox *s = user;
    return atomic_load(&s->cancel) || (s->deadline_ns && eryx__now_ns() >= s->deadline_ns);
}

/* The suspended call, if any: the status and message say so, and jr (a journaled
** run) takes it; else it is freed. */
static eryx_status suspension(eryx_sandbox *s, eryx_status st, eryx__cb_suspension *susp, eryx__journal_run *jr) {
    if (susp->name || st == ERYX_ERR_SUSPENDED)
        st = eryx__fail(&s->err, ERYX_ERR_SUSPENDED, "execution suspended: %.2000s (callback %.200s)",
                        susp->reason ? susp->reason : "", susp->name ? susp->name : "?");
    if (jr) jr->susp = *susp;
    else eryx__cb_suspension_clear(susp);
    return st;
}

/* A journaled session's halt: back to its state before the run (jr->rollback).
** When that fails the session is at its start state and the status says so. */
static eryx_status roll_back(eryx_sandbox *s, eryx_status st, eryx__journal_run *jr) {
    eryx__errbuf keep = s->err;
    eryx_status rs = eryx__rollback_restore(s, jr->rollback);
    if (rs == ERYX_OK) {
        s->err = keep;
        return st;
    }
    eryx__errbuf why = s->err;
    eryx__cb_suspension_clear(&jr->susp);        /* not resumable here: resume in another session */
    if (s->broken) return ERYX_ERR_SANDBOX_DEAD; /* its message says why */
    return eryx__fail(&s->err, rs,
                      "%.1000s; then the session could not be rolled back to its state before the run (%.1000s): it "
                      "is at its start state; resume with the journal in a new session",
                      keep.msg, why.msg);
}

static eryx_status execute(eryx_sandbox *s, const char *code, size_t len, bool single, eryx_result **result,
                           eryx__journal_run *jr) {
    if (result) *result = NULL;
    if (!s) return ERYX_ERR_INVALID_ARGUMENT;
    if (!code && len) return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT, "code is NULL with length %zu", len);
    if (len > INT32_MAX) return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT, "code is larger than 2 GiB");
    if (s->broken) return ERYX_ERR_SANDBOX_DEAD; /* the message of the failed reset stays */
    eryx__snapmem_unpark(s->mem);                /* in use from here; parked again below */
    eryx__errbuf_clear(&s->err);
    eryx_result *r = calloc(1, sizeof *r);
    if (!r) return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "no memory for a result");
    if (eryx__ticker_hold() != 0) {
        free(r);
        return eryx__fail(&s->err, ERYX_ERR_ENGINE, "cannot start the timer thread that enforces timeouts");
    }
    uint64_t t0 = eryx__now_ns();
    s->deadline_ns = s->spec.timeout_ns ? t0 + s->spec.timeout_ns : 0;
    atomic_store(&s->stop, STOP_NONE);
    s->memcap.refused = 0;
    s->cur = r;
    if (s->hub) {
        eryx__cb_hub_set_journal(s->hub, jr ? jr->journal : NULL);
        eryx__cb_hub_begin(s->hub);
    }
    eryx__net_begin(s->net);
    eryx__signals_assert(); /* a stop's fault must reach wasmtime's handler (src/engine/signals.c) */
    /* Armed: the epoch kinds' deadline (the next tick), or the ticker's watch. */
    bool epochs = eryx__engine_epochs(s->spec.engine);
    if (epochs) {
        wasmtime_context_set_epoch_deadline(s->cx, 1);
    } else {
        s->watch = (eryx__watch){.due = eryx__hooks_due, .user = s, .guard = &s->guard};
        eryx__ticker_watch(&s->watch);
    }
    bool metered = s->spec.engine == ERYX__ENGINE_FUEL;
    if (metered) wasmtime_context_set_fuel(s->cx, s->spec.fuel);
    if (s->secrets) eryx__secrets_begin(s);
    eryx_status st = run_code(s, code ? code : "", len, single, r);
    eryx__cb_suspension susp = {0};
    /* Calls still running when a callback suspended the run: their outcomes are
    ** waited for and journaled (a cancel or the execution's timeout ends the wait). */
    if (s->hub && (st == ERYX_ERR_SUSPENDED || eryx__cb_hub_suspended(s->hub)))
        eryx__cb_hub_drain(s->hub, drain_stop, s);
    if (s->hub) eryx__cb_hub_end(s->hub, &susp); /* late outcomes are dropped from here */
    st = suspension(s, st, &susp, jr);
    eryx__result_files_collect(s, r); /* before the reset below: the instance's VFS */
    /* Held output delivered, the result scrubbed; out of memory, what could not be
    ** scrubbed is dropped and the run says so. */
    if (s->secrets && !eryx__secrets_end(s, r) && st == ERYX_OK)
        st = eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "no memory to scrub the secrets from the output and result");
    if (epochs) wasmtime_context_set_epoch_deadline(s->cx, UINT64_C(1) << 62);
    else eryx__ticker_unwatch(&s->watch); /* no revocation from here on */
    atomic_store(&s->stop, STOP_NONE);    /* its status is decided: the reset below must run */
    uint64_t left = 0;
    if (metered && !wasmtime_context_get_fuel(s->cx, &left)) r->fuel_consumed = s->spec.fuel - left;
    s->cur = NULL;
    eryx__ticker_drop();
    atomic_store(&s->cancel, 0); /* consumed, whether or not it stopped this execution */
    r->peak_memory = wasmtime_memory_data_size(s->cx, &s->host.memory);
    if (s->hub) r->callback_calls = eryx__cb_hub_invocations(s->hub);
    eryx__net_get_stats(s->net, &r->net);
    /* An allocation that failed (CPython's PyErr_NoMemory: a MemoryError with no
    ** message) is the memory limit; so is any uncaught exception after the memory
    ** creator refused a growth during the execution (Python may turn the failed
    ** allocation into another exception: a SystemError deep in a recursion). A
    ** MemoryError the code raised itself, or the parser's "too complex" one, has a
    ** message and stays an exception when no growth was refused. */
    bool bare = r->exc_type && !strcmp(r->exc_type, "MemoryError");
    if (st == ERYX_ERR_PYTHON_EXCEPTION && (s->memcap.refused || (bare && (!r->exc_message || !*r->exc_message)))) {
        st = ERYX_ERR_MEMORY_LIMIT;
        uint64_t cap = s->spec.max_memory ? s->spec.max_memory : (uint64_t)4 << 30;
        bool other = r->exc_type && !bare; /* what Python made of the failed allocation */
        eryx__fail(&s->err, st,
                   "the guest hit its memory limit: an allocation failed with %llu MiB in use of %llu MiB "
                   "allowed%s%s%s",
                   (unsigned long long)(r->peak_memory >> 20), (unsigned long long)(cap >> 20),
                   other ? " (the code then ended with " : "", other ? r->exc_type : "", other ? ")" : "");
    }
    if (st == ERYX_ERR_PYTHON_EXCEPTION)
        eryx__fail(&s->err, st, "%s: %.2000s", r->exc_type, r->exc_message ? r->exc_message : "");
    else if (st == ERYX_ERR_EXIT) eryx__fail(&s->err, st, "the code exited with status %d", r->exit_code);
    /* The next execution starts from the sandbox's start state: always, unless the
    ** builder asked to keep state, and also then once the guest ended (exit, trap).
    ** A journaled session that halted goes back to its state before the run. */
    bool halted = st == ERYX_ERR_SUSPENDED || (s->dead && st != ERYX_OK && st != ERYX_ERR_EXIT);
    if (s->hub && (halted || !s->spec.keep_state || s->dead)) eryx__cb_hub_drop(s->hub);
    if (jr && jr->rollback && halted) {
        st = roll_back(s, st, jr);
    } else if (!s->spec.keep_state || s->dead) {
        eryx__errbuf keep = s->err;
        if (eryx__instance_fresh(s) != ERYX_OK) {
            if (st == ERYX_OK) st = ERYX_ERR_SANDBOX_DEAD;
        } else {
            s->err = keep;
        }
    }
    /* Idle until the next call: after a while, the pages the reset kept that the
    ** restore did not write go back (src/snapshot/snapmem.c). */
    eryx__snapmem_park(s->mem);
    r->duration_ns = eryx__now_ns() - t0;
    if (result) *result = r;
    else eryx_result_free(r);
    return st;
}

eryx_status eryx_sandbox_execute(eryx_sandbox *s, const char *code, size_t len, eryx_result **result) {
    return execute(s, code, len, false, result, NULL);
}

eryx_status eryx__sandbox_execute_single(eryx_sandbox *s, const char *code, size_t len, eryx_result **result) {
    return execute(s, code, len, true, result, NULL);
}

eryx_status eryx__sandbox_execute_journal(eryx_sandbox *s, const char *code, size_t len, eryx_result **result,
                                          eryx__journal_run *jr) {
    return execute(s, code, len, false, result, jr);
}

int eryx__sandbox_source_complete(eryx_sandbox *s, const char *code, size_t len) {
    if (!s || s->broken || !s->cx) return -1;
    eryx_result scratch = {0};
    int rc = -1;
    s->cur = &scratch;
    eryx_status st = eryx__instance_support_call(s, "complete", code, len, &rc);
    s->cur = NULL;
    eryx__result_clear(&scratch);
    if (s->dead) eryx__instance_fresh(s);
    return st == ERYX_OK ? rc : -1;
}
