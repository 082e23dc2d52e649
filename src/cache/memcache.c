/* The in-process cache tier; see memcache.h. A small doubly linked LRU list under a
** mutex: the number of distinct guest configurations in a process is small, and a
** lookup is a few string compares next to a sandbox's creation. */
#include "memcache.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct node {
    char key[65];
    void *value;
    struct node *prev, *next; /* head = most recently used */
} node;

struct eryx_cache {
    atomic_uint_fast64_t refs;
    pthread_mutex_t lock;
    const eryx__memcache_vt *vt;
    uint64_t max_entries;
    node *head, *tail;
    uint64_t entries;
};

eryx__memcache *eryx__memcache_new(uint64_t max_entries, const eryx__memcache_vt *vt) {
    eryx__memcache *mc = calloc(1, sizeof *mc);
    if (!mc) return NULL;
    atomic_init(&mc->refs, 1);
    pthread_mutex_init(&mc->lock, NULL);
    mc->vt = vt;
    mc->max_entries = max_entries;
    return mc;
}

void eryx__memcache_retain(eryx__memcache *mc) {
    if (mc) atomic_fetch_add(&mc->refs, 1);
}

void eryx__memcache_release(eryx__memcache *mc) {
    if (!mc || atomic_fetch_sub(&mc->refs, 1) != 1) return;
    eryx__memcache_clear(mc);
    pthread_mutex_destroy(&mc->lock);
    free(mc);
}

static void unlink_node(eryx__memcache *mc, node *n) {
    if (n->prev) n->prev->next = n->next;
    else mc->head = n->next;
    if (n->next) n->next->prev = n->prev;
    else mc->tail = n->prev;
    n->prev = n->next = NULL;
}

static void push_front(eryx__memcache *mc, node *n) {
    n->next = mc->head;
    if (mc->head) mc->head->prev = n;
    mc->head = n;
    if (!mc->tail) mc->tail = n;
}

void *eryx__memcache_get(eryx__memcache *mc, const char *key) {
    void *value = NULL;
    pthread_mutex_lock(&mc->lock);
    for (node *n = mc->head; n; n = n->next) {
        if (!strcmp(n->key, key)) {
            unlink_node(mc, n);
            push_front(mc, n);
            value = n->value;
            mc->vt->retain(value);
            break;
        }
    }
    pthread_mutex_unlock(&mc->lock);
    return value;
}

int eryx__memcache_put(eryx__memcache *mc, const char *key, void *value) {
    if (strlen(key) >= sizeof((node *)0)->key) return -1;
    node *fresh = calloc(1, sizeof *fresh);
    if (!fresh) return -1;
    strcpy(fresh->key, key);
    fresh->value = value;
    mc->vt->retain(value);
    node *dropped = NULL; /* released outside the lock: a release may be slow */
    pthread_mutex_lock(&mc->lock);
    for (node *n = mc->head; n; n = n->next) {
        if (!strcmp(n->key, key)) {
            unlink_node(mc, n);
            n->next = dropped;
            dropped = n;
            mc->entries--;
            break;
        }
    }
    push_front(mc, fresh);
    mc->entries++;
    while (mc->max_entries && mc->entries > mc->max_entries) {
        node *old = mc->tail;
        unlink_node(mc, old);
        old->next = dropped;
        dropped = old;
        mc->entries--;
    }
    pthread_mutex_unlock(&mc->lock);
    while (dropped) {
        node *next = dropped->next;
        mc->vt->release(dropped->value);
        free(dropped);
        dropped = next;
    }
    return 0;
}

void eryx__memcache_clear(eryx__memcache *mc) {
    pthread_mutex_lock(&mc->lock);
    node *n = mc->head;
    mc->head = mc->tail = NULL;
    mc->entries = 0;
    pthread_mutex_unlock(&mc->lock);
    while (n) {
        node *next = n->next;
        mc->vt->release(n->value);
        free(n);
        n = next;
    }
}
