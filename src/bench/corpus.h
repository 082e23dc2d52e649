/*
** The workload corpus (bench/corpus/, issue 16) as eryx-bench and the e2e.corpus
** test see it: which snippets there are, which need host callbacks, and those
** callbacks (corpus_callbacks.c, the C twin of bench/corpus/callbacks.py: the same
** answers for the same arguments). The timed part is corpus.c (eryx-bench only).
*/
#ifndef ERYX_BENCH_CORPUS_H
#define ERYX_BENCH_CORPUS_H
#include <stddef.h>
#include "eryx.h"

/* Whether a snippet (its file name) awaits the host callbacks: NN_cb_*.py. */
int eryx__corpus_uses_callbacks(const char *name);

/* Registers the corpus's host callbacks on b: get_user(user_id) and get_config(key).
** ERYX_OK, or the first failing registration's status. */
eryx_status eryx__corpus_add_callbacks(eryx_builder *b);

/* The snippets of dir (NN_*.py, two digits first), sorted by name, as a malloc'd array
** of malloc'd names in *names (*n of them). 0, or -1 when dir cannot be read or is
** out of memory. Free with eryx__corpus_free_names. */
int eryx__corpus_list(const char *dir, char ***names, size_t *n);
void eryx__corpus_free_names(char **names, size_t n);

/* A whole file, NUL-terminated, in a malloc'd buffer (*len bytes); NULL on failure. */
char *eryx__corpus_read(const char *path, size_t *len);

#endif
