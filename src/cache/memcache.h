/*
** The in-process tier of the artifact cache: a thread-safe map from a 64-hex key to
** a reference-counted value (a loaded guest module), bounded by entry count with
** least-recently-used eviction. Publicly it is `eryx_cache` (eryx.h): embedders
** share one between builders, or use the process-wide default.
*/
#ifndef ERYX_CACHE_MEMCACHE_H
#define ERYX_CACHE_MEMCACHE_H
#include <stddef.h>
#include <stdint.h>

typedef struct eryx_cache eryx__memcache;

/* How the cache keeps its values alive: retain adds a reference, release drops one. */
typedef struct eryx__memcache_vt {
    void (*retain)(void *value);
    void (*release)(void *value);
} eryx__memcache_vt;

/* A new cache holding one reference for its creator; max_entries 0 = no limit.
** NULL when out of memory. vt must outlive the cache. */
eryx__memcache *eryx__memcache_new(uint64_t max_entries, const eryx__memcache_vt *vt);
void eryx__memcache_retain(eryx__memcache *mc);
void eryx__memcache_release(eryx__memcache *mc); /* the last reference releases every value */

/* The value for key with a reference the caller releases, or NULL. A hit makes
** the entry the most recently used. */
void *eryx__memcache_get(eryx__memcache *mc, const char *key);

/* Stores value under key (the cache takes its own reference), replacing an older
** value, then evicts the least recently used entries beyond max_entries. Returns 0,
** or -1 when out of memory (the value is then simply not cached). */
int eryx__memcache_put(eryx__memcache *mc, const char *key, void *value);

/* Drops every entry. */
void eryx__memcache_clear(eryx__memcache *mc);

#endif
