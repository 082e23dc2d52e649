/*
** Sandbox pools (eryx_pool_*, docs/POOLS.md): a copy of the caller's builder, the
** idle sandboxes, the leases out, capacity and waiting (one mutex, one condition
** variable), what a release resets, eviction, close, and the pool's counters.
** Sandboxes are made and freed outside the pool's mutex, so a slow creation never
** blocks other threads' releases.
*/
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../sandbox/sandbox.h"
#include "eryx.h"

#define POOL_MAX_SIZE 65536u

typedef struct idle_slot {
    eryx_sandbox *s;
    uint64_t since_ns; /* when it was released (CLOCK_MONOTONIC) */
} idle_slot;

typedef struct lease_slot {
    eryx_sandbox *s;
    bool own; /* from eryx_pool_acquire_with: freed on release */
} lease_slot;

struct eryx_pool {
    pthread_mutex_t mu;      /* everything below but the builder */
    pthread_cond_t cv;       /* signalled when a permit comes back or the pool closes */
    pthread_mutex_t make_mu; /* the builder: one eryx_sandbox_new at a time */
    eryx_builder *builder;   /* the pool's own copy */
    eryx_pool_options opts;
    idle_slot *idle; /* [0] the oldest; at most max_size */
    size_t nidle;
    lease_slot *leased; /* at most max_size */
    size_t nleased;
    size_t in_use; /* permits taken: leases out, and acquisitions making their sandbox */
    /* Sandboxes out of the lists being freed outside mu (a release, an eviction):
    ** they hold capacity until they are gone, so idle + in_use + freeing sandboxes,
    ** never more than max_size, are ever alive at once. */
    size_t freeing;
    bool closed;
    uint64_t acquisitions, creations, waits, wait_ns;
};

/* Pools are shared between threads: a failure's message is the failing thread's. */
static _Thread_local eryx__errbuf pool_err;

const char *eryx_pool_errmsg(const eryx_pool *pool) {
    (void)pool;
    return pool_err.msg;
}

void eryx_pool_options_init(eryx_pool_options *o) {
    if (o)
        *o = (eryx_pool_options){.max_size = 10, .min_idle = 1, .acquire_timeout_ms = 30000, .idle_timeout_ms = 300000};
}

/* A deep copy of a builder. Its owning fields: the spec, the cache dir and the
** memory tier's reference (sandbox.h names this function by struct eryx_builder). */
static eryx_builder *builder_copy(const eryx_builder *b) {
    eryx_builder *c = malloc(sizeof *c);
    if (!c) return NULL;
    *c = *b;
    c->cache_dir = NULL;
    if (eryx__spec_copy(&c->spec, &b->spec) != 0) {
        free(c);
        return NULL;
    }
    if (b->cache_dir && !(c->cache_dir = strdup(b->cache_dir))) {
        eryx__spec_free(&c->spec);
        free(c);
        return NULL;
    }
    if (c->memory) eryx__memcache_retain(c->memory);
    eryx__errbuf_clear(&c->err);
    return c;
}

/* Makes a sandbox from the pool's builder; its message goes to pool_err. */
static eryx_status make_sandbox(eryx_pool *p, eryx_sandbox **out) {
    pthread_mutex_lock(&p->make_mu);
    eryx_status st = eryx_sandbox_new(p->builder, out);
    if (st != ERYX_OK)
        eryx__fail(&pool_err, st, "the pool could not make a sandbox: %s", eryx_builder_errmsg(p->builder));
    pthread_mutex_unlock(&p->make_mu);
    return st;
}

static void free_all(eryx_sandbox **v, size_t n) {
    for (size_t i = 0; i < n; i++) eryx_sandbox_free(v[i]);
}

eryx_status eryx_pool_new(const eryx_builder *builder, const eryx_pool_options *opts, eryx_pool **out) {
    eryx__errbuf_clear(&pool_err);
    if (!out) return eryx__fail(&pool_err, ERYX_ERR_INVALID_ARGUMENT, "eryx_pool_new: out is NULL");
    *out = NULL;
    if (!builder) return eryx__fail(&pool_err, ERYX_ERR_INVALID_ARGUMENT, "eryx_pool_new: builder is NULL");
    eryx_pool_options o;
    eryx_pool_options_init(&o);
    if (opts) o = *opts;
    if (o.max_size == 0 || o.max_size > POOL_MAX_SIZE)
        return eryx__fail(&pool_err, ERYX_ERR_INVALID_ARGUMENT, "max_size must be 1 to %u, not %u", POOL_MAX_SIZE,
                          o.max_size);
    if (o.min_idle > o.max_size)
        return eryx__fail(&pool_err, ERYX_ERR_INVALID_ARGUMENT, "min_idle (%u) cannot exceed max_size (%u)", o.min_idle,
                          o.max_size);
    eryx_pool *p = calloc(1, sizeof *p);
    if (!p) return eryx__fail(&pool_err, ERYX_ERR_NO_MEMORY, "no memory for a pool");
    p->opts = o;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* a wall-clock jump never stretches a wait */
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->make_mu, NULL);
    p->idle = calloc(o.max_size, sizeof *p->idle);
    p->leased = calloc(o.max_size, sizeof *p->leased);
    p->builder = builder_copy(builder);
    if (!p->idle || !p->leased || !p->builder) {
        eryx_pool_free(p);
        return eryx__fail(&pool_err, ERYX_ERR_NO_MEMORY, "no memory for a pool");
    }
    uint64_t now = eryx__now_ns();
    for (uint32_t i = 0; i < o.min_idle; i++) {
        eryx_status st = make_sandbox(p, &p->idle[p->nidle].s);
        if (st != ERYX_OK) {
            char msg[ERYX__ERRMSG_MAX];
            memcpy(msg, pool_err.msg, sizeof msg);
            eryx_pool_free(p);
            return eryx__fail(&pool_err, st, "%s", msg);
        }
        p->idle[p->nidle++].since_ns = now;
        p->creations++;
    }
    *out = p;
    return ERYX_OK;
}

/* a + b ms after t (ns), saturating. */
static uint64_t after_ms(uint64_t t, uint64_t ms) {
    return ms > (UINT64_MAX - t) / 1000000u ? UINT64_MAX : t + ms * 1000000u;
}

static bool full(const eryx_pool *p) { return p->in_use + p->freeing >= p->opts.max_size; }

/* Waits (p->mu held) for a permit and takes it. w NULL: no waiting; else the
** wait, which began at w->start_ns (set here when 0), ends at the pool's acquire
** timeout, and this call waits at most slice_ms of it (ERYX_ERR_POOL_EXHAUSTED
** when the slice ends first: the caller calls again). */
static eryx_status take_permit(eryx_pool *p, eryx_pool_wait *w, uint64_t slice_ms) {
    if (p->closed) return eryx__fail(&pool_err, ERYX_ERR_POOL_CLOSED, "the pool is closed");
    if (!full(p)) {
        p->in_use++;
        if (w && w->waited) {
            p->waits++;
            p->wait_ns += eryx__now_ns() - w->start_ns;
        }
        return ERYX_OK;
    }
    if (!w)
        return eryx__fail(&pool_err, ERYX_ERR_POOL_EXHAUSTED, "all %u sandboxes of the pool are leased: release one",
                          p->opts.max_size);
    uint64_t now = eryx__now_ns(), limit = p->opts.acquire_timeout_ms;
    if (!w->start_ns) w->start_ns = now;
    w->waited = 1;
    uint64_t deadline = after_ms(w->start_ns, limit), until = after_ms(now, slice_ms);
    if (until > deadline) until = deadline;
    /* tv_sec holds any uint64_t of ns / 1e9 (time_t is 64-bit on every target). */
    struct timespec ts = {.tv_sec = (time_t)(until / 1000000000u), .tv_nsec = (long)(until % 1000000000u)};
    while (!p->closed && full(p)) {
        now = eryx__now_ns();
        if (now >= deadline)
            return eryx__fail(&pool_err, ERYX_ERR_POOL_TIMEOUT,
                              "acquire timed out after %llu ms: all %u sandboxes stayed leased (release leases "
                              "sooner, or raise max_size or acquire_timeout_ms)",
                              (unsigned long long)limit, p->opts.max_size);
        if (now >= until)
            return eryx__fail(&pool_err, ERYX_ERR_POOL_EXHAUSTED,
                              "no sandbox became free in this slice of the wait: call again");
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    if (p->closed) return eryx__fail(&pool_err, ERYX_ERR_POOL_CLOSED, "the pool was closed while waiting");
    p->in_use++;
    p->waits++;
    p->wait_ns += eryx__now_ns() - w->start_ns;
    return ERYX_OK;
}

/* Gives back a permit whose acquisition failed (p->mu held). */
static void drop_permit(eryx_pool *p) {
    p->in_use--;
    pthread_cond_signal(&p->cv);
}

/* Records a lease (p->mu held; there is room: a permit was taken for it). */
static void add_lease(eryx_pool *p, eryx_sandbox *s, bool own) {
    p->leased[p->nleased++] = (lease_slot){.s = s, .own = own};
    p->acquisitions++;
}

static eryx_status acquire(eryx_pool *p, eryx_builder *other, eryx_pool_wait *w, uint64_t slice_ms,
                           eryx_sandbox **out) {
    eryx__errbuf_clear(&pool_err);
    if (!out) return eryx__fail(&pool_err, ERYX_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    if (!p) return eryx__fail(&pool_err, ERYX_ERR_INVALID_ARGUMENT, "pool is NULL");
    pthread_mutex_lock(&p->mu);
    eryx_status st = take_permit(p, w, slice_ms);
    if (st != ERYX_OK) {
        pthread_mutex_unlock(&p->mu);
        return st;
    }
    eryx_sandbox *s = NULL, *evicted = NULL;
    if (!other && p->nidle) {
        s = p->idle[--p->nidle].s; /* the most recently used: its memory is the warmest */
        add_lease(p, s, false);
        pthread_mutex_unlock(&p->mu);
        *out = s;
        return ERYX_OK;
    }
    /* Keep idle + leased + freeing <= max_size: the evicted sandbox is freed below,
    ** before this lease's is made. */
    if (other && p->nidle && p->nidle + p->in_use + p->freeing > p->opts.max_size) {
        evicted = p->idle[0].s;
        memmove(p->idle, p->idle + 1, --p->nidle * sizeof *p->idle);
    }
    pthread_mutex_unlock(&p->mu);
    eryx_sandbox_free(evicted);
    if (other) {
        st = eryx_sandbox_new(other, &s);
        if (st != ERYX_OK)
            eryx__fail(&pool_err, st, "the lease's sandbox could not be made: %s", eryx_builder_errmsg(other));
    } else {
        st = make_sandbox(p, &s);
    }
    pthread_mutex_lock(&p->mu);
    if (st != ERYX_OK) {
        drop_permit(p);
    } else {
        p->creations++;
        add_lease(p, s, other != NULL);
    }
    pthread_mutex_unlock(&p->mu);
    *out = s;
    return st;
}

eryx_status eryx_pool_acquire(eryx_pool *p, eryx_sandbox **out) {
    eryx_pool_wait w = {0};
    return acquire(p, NULL, &w, UINT64_MAX, out);
}

eryx_status eryx_pool_try_acquire(eryx_pool *p, eryx_sandbox **out) { return acquire(p, NULL, NULL, 0, out); }

eryx_status eryx_pool_acquire_with(eryx_pool *p, eryx_builder *builder, int nowait, eryx_sandbox **out) {
    if (!builder) {
        if (out) *out = NULL;
        return eryx__fail(&pool_err, ERYX_ERR_INVALID_ARGUMENT, "eryx_pool_acquire_with: builder is NULL");
    }
    eryx_pool_wait w = {0};
    return acquire(p, builder, nowait ? NULL : &w, UINT64_MAX, out);
}

eryx_status eryx_pool_acquire_slice(eryx_pool *p, eryx_builder *builder, eryx_pool_wait *wait, uint64_t slice_ms,
                                    eryx_sandbox **out) {
    if (!wait) {
        if (out) *out = NULL;
        return eryx__fail(&pool_err, ERYX_ERR_INVALID_ARGUMENT, "eryx_pool_acquire_slice: wait is NULL");
    }
    return acquire(p, builder, wait, slice_ms, out);
}

/* Puts back what a lessee may have changed, so nothing of its lease reaches the
** next; false when the sandbox must not be reused (it keeps state, or cannot run). */
static bool reset_for_reuse(eryx_pool *p, eryx_sandbox *s) {
    if (s->broken || s->spec.keep_state) return false;
    /* A session snapshot restored after the lease's last execution is the state
    ** the next execution would start from: back to the start state. */
    if (s->restored && eryx__instance_fresh(s) != ERYX_OK) return false;
    s->out_fn = NULL;
    s->out_user = NULL;
    s->stdin_fn = NULL;
    s->stdin_user = NULL;
    s->stdin_fd = -1;
    s->spec.timeout_ns = p->builder->spec.timeout_ns;
    s->spec.fuel = p->builder->spec.fuel;
    atomic_store(&s->cancel, 0); /* a cancel made after the lease's last execution */
    eryx__errbuf_clear(&s->err);
    return true;
}

eryx_status eryx_pool_release(eryx_pool *p, eryx_sandbox *s) {
    eryx__errbuf_clear(&pool_err);
    if (!p || !s) return eryx__fail(&pool_err, ERYX_ERR_INVALID_ARGUMENT, "eryx_pool_release: pool or sandbox is NULL");
    pthread_mutex_lock(&p->mu);
    size_t i = 0;
    while (i < p->nleased && p->leased[i].s != s) i++;
    if (i == p->nleased) {
        pthread_mutex_unlock(&p->mu);
        return eryx__fail(&pool_err, ERYX_ERR_INVALID_ARGUMENT,
                          "eryx_pool_release: this sandbox is not leased from this pool (released twice?)");
    }
    bool own = p->leased[i].own;
    p->leased[i] = p->leased[--p->nleased];
    bool keep = !own && !p->closed;
    if (keep && s->restored) { /* reset outside mu: it makes a fresh instance */
        p->in_use--;
        p->freeing++;
        pthread_mutex_unlock(&p->mu);
        keep = reset_for_reuse(p, s);
        pthread_mutex_lock(&p->mu);
        p->freeing--;
        p->in_use++;
        keep = keep && !p->closed;
    } else if (keep) {
        keep = reset_for_reuse(p, s);
    }
    if (keep) {
        p->idle[p->nidle++] = (idle_slot){.s = s, .since_ns = eryx__now_ns()};
        drop_permit(p);
        pthread_mutex_unlock(&p->mu);
        return ERYX_OK;
    }
    /* Its permit turns into a freeing slot, given back once it is gone. */
    p->in_use--;
    p->freeing++;
    pthread_mutex_unlock(&p->mu);
    eryx_sandbox_free(s);
    pthread_mutex_lock(&p->mu);
    p->freeing--;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return ERYX_OK;
}

eryx_status eryx_pool_stats_get(eryx_pool *p, eryx_pool_stats *st) {
    eryx__errbuf_clear(&pool_err);
    if (!p || !st) return eryx__fail(&pool_err, ERYX_ERR_INVALID_ARGUMENT, "eryx_pool_stats_get: NULL argument");
    pthread_mutex_lock(&p->mu);
    *st = (eryx_pool_stats){.total = p->nidle + p->in_use,
                            .idle = p->nidle,
                            .available = p->opts.max_size - p->in_use - p->freeing,
                            .in_use = p->in_use,
                            .total_acquisitions = p->acquisitions,
                            .total_creations = p->creations,
                            .wait_count = p->waits,
                            .total_wait_ms = (double)p->wait_ns / 1e6};
    st->average_wait_ms = p->waits ? st->total_wait_ms / (double)p->waits : 0.0;
    pthread_mutex_unlock(&p->mu);
    return ERYX_OK;
}

size_t eryx_pool_evict_idle(eryx_pool *p) {
    if (!p) return 0;
    pthread_mutex_lock(&p->mu);
    uint64_t now = eryx__now_ns(), limit = p->opts.idle_timeout_ms;
    size_t n = 0; /* idle[0..n) go: the oldest, past the timeout, above min_idle */
    while (n < p->nidle && p->nidle - n > p->opts.min_idle && (now - p->idle[n].since_ns) / 1000000u >= limit) n++;
    eryx_sandbox **gone = n ? malloc(n * sizeof *gone) : NULL;
    if (!gone) n = 0; /* out of memory: evict nothing this time */
    for (size_t i = 0; i < n; i++) gone[i] = p->idle[i].s;
    memmove(p->idle, p->idle + n, (p->nidle - n) * sizeof *p->idle);
    p->nidle -= n;
    p->freeing += n;
    pthread_mutex_unlock(&p->mu);
    free_all(gone, n);
    free(gone);
    if (n) {
        pthread_mutex_lock(&p->mu);
        p->freeing -= n;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    return n;
}

void eryx_pool_close(eryx_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->closed = true;
    size_t n = p->nidle;
    eryx_sandbox **gone = n ? malloc(n * sizeof *gone) : NULL;
    if (gone) {
        for (size_t i = 0; i < n; i++) gone[i] = p->idle[i].s;
        p->nidle = 0;
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (gone) {
        free_all(gone, n);
        free(gone);
    } /* else out of memory: eryx_pool_free frees them */
}

int eryx_pool_is_closed(eryx_pool *p) {
    if (!p) return 1;
    pthread_mutex_lock(&p->mu);
    int closed = p->closed;
    pthread_mutex_unlock(&p->mu);
    return closed;
}

void eryx_pool_free(eryx_pool *p) {
    if (!p) return;
    if (p->idle && p->leased) eryx_pool_close(p);
    for (size_t i = 0; p->idle && i < p->nidle; i++) eryx_sandbox_free(p->idle[i].s);
    for (size_t i = 0; p->leased && i < p->nleased; i++) eryx_sandbox_free(p->leased[i].s);
    free(p->idle);
    free(p->leased);
    eryx_builder_free(p->builder);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->make_mu);
    free(p);
}
