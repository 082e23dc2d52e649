/*
** Host callbacks (docs/RUNTIME.md, "Callbacks"): the embedder's C functions that
** Python in the sandbox awaits. Each call the guest starts runs on a thread of a
** process-wide pool (started on demand, reused), so several run at once
** (asyncio.gather); the guest waits for any to finish
** (eryx.cb_wait) and takes its outcome. A hub holds one sandbox's calls; the
** threads hold references to it, so a sandbox freed while a call runs leaves the
** call to finish and its result to be dropped.
*/
#ifndef ERYX_SANDBOX_CALLBACKS_H
#define ERYX_SANDBOX_CALLBACKS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "eryx.h"

/* One registered callback (a builder's list is copied into each sandbox). */
typedef struct eryx__cb_def {
    char *name, *description, *schema; /* schema: JSON text of the parameters */
    eryx_callback_fn fn;
    void *user;
} eryx__cb_def;

/* Errors cb_start returns to the guest. */
enum { ERYX__CB_UNKNOWN = -1, ERYX__CB_LIMIT = -2, ERYX__CB_TOO_LARGE = -3, ERYX__CB_NO_MEMORY = -4 };

typedef struct eryx__cb_hub eryx__cb_hub;

/* A hub over defs (copied), with per-execution limits: at most max_calls starts,
** each answered within timeout_ns (0: none), payloads of at most max_bytes. */
eryx__cb_hub *eryx__cb_hub_new(const eryx__cb_def *defs, size_t ndefs, uint32_t max_calls, uint64_t timeout_ns,
                               size_t max_bytes);
void eryx__cb_hub_release(eryx__cb_hub *hub); /* NULL allowed */

/* A new execution: the count restarts; calls still running are abandoned. */
void eryx__cb_hub_begin(eryx__cb_hub *hub);
/* The guest state the calls belong to is gone (a reset, a rollback): they are
** abandoned now, so they are not "in flight" for a session snapshot. */
void eryx__cb_hub_drop(eryx__cb_hub *hub);

/* Durable execution (journal.h): the journal (NULL: none) replays and records the
** calls of the execution about to begin; set by the executing thread, before
** eryx__cb_hub_begin. A call returning ERYX_CALLBACK_SUSPEND suspends the
** execution: eryx__cb_hub_suspended turns true (the sandbox's stop check reads
** it), no call starts any more. eryx__cb_hub_end, once the guest has returned,
** detaches the journal (later outcomes are dropped) and hands over the suspended
** call (name NULL: none; the strings are the caller's to free). */
struct eryx__journal;
typedef struct eryx__cb_suspension {
    char *name, *args, *reason;
} eryx__cb_suspension;
void eryx__cb_suspension_clear(eryx__cb_suspension *susp); /* frees the strings, zeroes it */
void eryx__cb_hub_set_journal(eryx__cb_hub *hub, struct eryx__journal *journal);
bool eryx__cb_hub_suspended(eryx__cb_hub *hub);
void eryx__cb_hub_end(eryx__cb_hub *hub, eryx__cb_suspension *susp);
/* After a suspension: waits for the calls still running (each until it answers or
** its timeout passes, or until stop(stop_user) is true), so their outcomes are
** journaled and a resume does not run them again. */
void eryx__cb_hub_drain(eryx__cb_hub *hub, bool (*stop)(void *), void *stop_user);
uint32_t eryx__cb_hub_invocations(eryx__cb_hub *hub);
size_t eryx__cb_hub_pending(eryx__cb_hub *hub); /* calls started and not yet taken */

/* The guest's four calls. stop(stop_user) is polled while waiting: true ends the
** wait (the execution is being stopped). */
int32_t eryx__cb_start(eryx__cb_hub *hub, const uint8_t *name, size_t name_len, const uint8_t *args, size_t args_len);
int32_t eryx__cb_wait(eryx__cb_hub *hub, int32_t timeout_ms, bool (*stop)(void *), void *stop_user);
int32_t eryx__cb_len(eryx__cb_hub *hub, int32_t id);
int32_t eryx__cb_take(eryx__cb_hub *hub, int32_t id, uint8_t *buf, size_t cap);

/* The guest's view of the callbacks: a JSON array of {"name", "description",
** "parameters"}; malloc'd, NULL when out of memory. */
char *eryx__cb_describe(const eryx__cb_def *defs, size_t ndefs);

/* Ends the process's callback threads (each finishes the call it runs, then is
** joined). Only when no hub is left (eryx_shutdown, src/process/); the next call
** starts threads again. */
void eryx__cb_shutdown(void);

/* Checks a callback's name (dotted Python identifiers) and parameters schema (a
** JSON object); NULL if fine, else what is wrong (static text). */
const char *eryx__cb_check(const char *name, const char *schema);

#endif
