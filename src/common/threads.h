/*
** Joinable threads the library starts on demand (the callback pool's workers, the
** cache's write-behind threads): each owner keeps a list of them under its own lock,
** joins the ones that ended when it starts the next, and joins the rest at shutdown
** (src/process/), so no thread outlives eryx_shutdown.
*/
#ifndef ERYX_THREADS_H
#define ERYX_THREADS_H
#include <pthread.h>
#include <stdbool.h>

typedef struct eryx__thread {
    pthread_t id;
    bool ended; /* set by the thread, under its owner's lock, as it returns: join it */
    struct eryx__thread *next;
} eryx__thread;

/* Starts fn(arg) on a new thread for node (the caller's allocation, zeroed) and
** pushes node on *list. Call under the owner's lock. false (nothing pushed) when no
** thread can be started. */
bool eryx__thread_start(eryx__thread **list, eryx__thread *node, void *(*fn)(void *), void *arg);

/* Unlinks from *list the threads that ended (all: every one). Call under the
** owner's lock; join what it returns after letting the lock go. */
eryx__thread *eryx__threads_take(eryx__thread **list, bool all);

/* Joins (waiting for each to return) and frees the nodes of a list taken above. */
void eryx__threads_join(eryx__thread *taken);

#endif
