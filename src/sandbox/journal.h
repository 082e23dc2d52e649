/*
** The callback journal of durable execution (include/eryx.h, "Durable
** execution"; docs/DURABLE.md): a journal text parsed, checked and, when a key is
** given, authenticated (HMAC-SHA-256); the replay of its entries (a FIFO per
** callback name and canonical arguments, until the first miss); the record of
** the run's calls; the new journal's text. No sandbox state: the hub
** (callbacks.c) calls it under its lock, so a journal needs no lock of its own,
** and the fuzz target (fuzz/fuzz_journal.c) drives it alone.
*/
#ifndef ERYX_SANDBOX_JOURNAL_H
#define ERYX_SANDBOX_JOURNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../common/errbuf.h"
#include "eryx.h"

typedef struct eryx__journal eryx__journal;

/* A journal for a run of code (its "code" in the new journal) that replays text
** (NULL with len 0: nothing to replay). key (key_len >= ERYX_JOURNAL_KEY_MIN
** bytes, or NULL with 0) authenticates text and signs the new journal.
** ERYX_ERR_INVALID_ARGUMENT with a message for a journal that is malformed, too
** large, unsigned or wrongly signed; ERYX_ERR_NO_MEMORY. */
eryx_status eryx__journal_new(const char *code, size_t code_len, const char *text, size_t len, const void *key,
                              size_t key_len, eryx__journal **out, eryx__errbuf *err);
void eryx__journal_free(eryx__journal *j); /* NULL allowed */

/* A call's arguments (JSON text from the guest) in canonical form: parsed and
** dumped compact with sorted keys, so equal objects compare equal as text;
** arguments jansson cannot parse (an integer past 64 bits) stay as they came.
** malloc'd and NUL-terminated (*out_len bytes), NULL when out of memory. */
char *eryx__journal_canonical(const char *args, size_t len, size_t *out_len);

/* Looks up a call (canon: eryx__journal_canonical's) while the replay lasts.
** 1: replayed (recorded in the new journal too); *ok says a result (JSON text) or
** an error (its message) and *out (malloc'd, *out_len bytes) holds it. 0: a miss,
** and every later call is live; also when the entry would not fit in the new
** journal. -1: out of memory (a miss too). */
int eryx__journal_replay(eryx__journal *j, const char *name, const char *canon, size_t canon_len, bool *ok, char **out,
                         size_t *out_len);

/* Whether a live call can still be recorded (entries and bytes under the bounds). */
bool eryx__journal_has_room(const eryx__journal *j);

/* Records a live call's outcome: ok with out a JSON text (already checked), or an
** error message (any bytes; invalid UTF-8 is replaced). 0; -1 when it does not fit
** (the bounds) or memory ran out: not recorded. */
int eryx__journal_record(eryx__journal *j, const char *name, const char *canon, size_t canon_len, bool ok,
                         const char *out, size_t out_len);

/* The replay handed to the embedder: the new journal's text (signed when the
** journal has a key), the counts, and the suspended call's name, arguments and
** reason (name NULL: none; the strings are taken, not copied). NULL when out of
** memory (the strings are freed then). */
eryx_replay *eryx__journal_finish(eryx__journal *j, char *susp_name, char *susp_args, char *susp_reason);

#endif
