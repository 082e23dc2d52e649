/*
** Durable execution's entry point (include/eryx.h, "Durable execution";
** docs/DURABLE.md): the journal parsed and checked before anything runs, a
** session's state taken to roll back to, the execution (execute.c; the hub in
** callbacks.c replays and records its calls), and the replay handed back. The
** journal itself is journal.c's.
*/
#include <stdlib.h>
#include "journal.h"
#include "sandbox.h"

eryx_status eryx_sandbox_execute_with_journal(eryx_sandbox *s, const char *code, size_t len, const char *journal,
                                              size_t journal_len, const void *key, size_t key_len, eryx_result **result,
                                              eryx_replay **replay) {
    if (result) *result = NULL;
    if (replay) *replay = NULL;
    if (!s) return ERYX_ERR_INVALID_ARGUMENT;
    eryx__errbuf_clear(&s->err);
    if (!code && len) return eryx__fail(&s->err, ERYX_ERR_INVALID_ARGUMENT, "code is NULL with length %zu", len);
    if (s->broken) return ERYX_ERR_SANDBOX_DEAD; /* the message of the failed reset stays */
    eryx__journal *j = NULL;
    eryx_status st = eryx__journal_new(code, len, journal, journal_len, key, key_len, &j, &s->err);
    if (st != ERYX_OK) return st;
    eryx__journal_run jr = {.journal = j};
    /* A session with callbacks (without, nothing suspends it and the reference
    ** takes no snapshot either): its state now, to roll back to if the run halts.
    ** When it cannot be taken the run is unprotected (as the header says). */
    if (s->spec.keep_state && s->hub && eryx_sandbox_snapshot(s, &jr.rollback, &jr.rollback_len) != ERYX_OK) {
        jr.rollback = NULL;
        eryx__errbuf_clear(&s->err);
    }
    st = eryx__sandbox_execute_journal(s, code, len, result, &jr);
    eryx_blob_free(jr.rollback);
    eryx_replay *r = eryx__journal_finish(j, jr.susp.name, jr.susp.args, jr.susp.reason);
    eryx__journal_free(j);
    if (!r) {
        if (result) {
            eryx_result_free(*result);
            *result = NULL;
        }
        return eryx__fail(&s->err, ERYX_ERR_NO_MEMORY, "no memory to write the journal (the code did run)");
    }
    if (replay) *replay = r;
    else eryx_replay_free(r);
    return st;
}
