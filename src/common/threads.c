/* Lists of joinable threads; see threads.h. Holds no state of its own. */
#include "threads.h"
#include <stdlib.h>

bool eryx__thread_start(eryx__thread **list, eryx__thread *node, void *(*fn)(void *), void *arg) {
    if (pthread_create(&node->id, NULL, fn, arg) != 0) return false;
    node->next = *list;
    *list = node;
    return true;
}

eryx__thread *eryx__threads_take(eryx__thread **list, bool all) {
    eryx__thread *taken = NULL;
    for (eryx__thread **p = list; *p;) {
        eryx__thread *cur = *p;
        if (all || cur->ended) {
            *p = cur->next;
            cur->next = taken;
            taken = cur;
        } else {
            p = &cur->next;
        }
    }
    return taken;
}

void eryx__threads_join(eryx__thread *taken) {
    while (taken) {
        eryx__thread *next = taken->next;
        pthread_join(taken->id, NULL);
        free(taken);
        taken = next;
    }
}
