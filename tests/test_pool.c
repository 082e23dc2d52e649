/* End-to-end test of sandbox pools (eryx_pool_*) with the real guest: 8 threads
** hammering one pool (no sandbox leased twice at once, counters consistent), the
** acquire timeout and try_acquire, close waking waiters, eviction keeping
** min_idle, nothing of one lease reaching the next, leases with their own
** builder, keep-state sandboxes never reused, and bad arguments. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include "check.h"
#include "eryx.h"
#include "pool_util.h"

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms) {
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}

static eryx_status run(eryx_sandbox *s, const char *code, eryx_result **r) {
    eryx_result_free(*r);
    *r = NULL;
    return eryx_sandbox_execute(s, code, strlen(code), r);
}

/* ---- 8 threads on a pool of 3 ------------------------------------------------ */
#define HAMMER_THREADS 8
#define HAMMER_ROUNDS 12
#define HAMMER_MAX 3

static struct {
    eryx_pool *pool;
    pthread_mutex_t mu;
    eryx_sandbox *seen[64]; /* every sandbox ever leased, and whether it is leased now */
    int busy[64];
    size_t nseen;
    atomic_int double_lease, wrong_output, failures;
} hammer;

/* Marks s leased (returns 0 if it already was: a double lease). */
static int mark(eryx_sandbox *s, int on) {
    pthread_mutex_lock(&hammer.mu);
    size_t i = 0;
    while (i < hammer.nseen && hammer.seen[i] != s) i++;
    if (i == hammer.nseen && hammer.nseen < 64) hammer.seen[hammer.nseen++] = s;
    int ok = i < 64 && hammer.busy[i] != on;
    if (i < 64) hammer.busy[i] = on;
    pthread_mutex_unlock(&hammer.mu);
    return ok;
}

static void *hammer_main(void *arg) {
    long id = (long)arg;
    for (int round = 0; round < HAMMER_ROUNDS; round++) {
        eryx_sandbox *s = NULL;
        eryx_status st = eryx_pool_acquire(hammer.pool, &s);
        if (st != ERYX_OK || !s) {
            fprintf(stderr, "acquire: %s: %s\n", eryx_status_name(st), eryx_pool_errmsg(hammer.pool));
            atomic_fetch_add(&hammer.failures, 1);
            continue;
        }
        if (!mark(s, 1)) atomic_fetch_add(&hammer.double_lease, 1);
        char code[128], want[64];
        snprintf(code, sizeof code, "v = %ld * 1000 + %d\nprint(v)", id, round);
        snprintf(want, sizeof want, "%ld\n", id * 1000 + round);
        eryx_result *r = NULL;
        if (run(s, code, &r) != ERYX_OK || strcmp(eryx_result_stdout(r, NULL), want) != 0)
            atomic_fetch_add(&hammer.wrong_output, 1);
        eryx_result_free(r);
        if (!mark(s, 0)) atomic_fetch_add(&hammer.double_lease, 1);
        if (eryx_pool_release(hammer.pool, s) != ERYX_OK) atomic_fetch_add(&hammer.failures, 1);
    }
    return NULL;
}

static void test_hammer(eryx_builder *b) {
    hammer.pool = new_pool(b, HAMMER_MAX, 1, 60000, 300000);
    CHECK(hammer.pool != NULL);
    if (!hammer.pool) return;
    pthread_mutex_init(&hammer.mu, NULL);
    pthread_t t[HAMMER_THREADS];
    for (long i = 0; i < HAMMER_THREADS; i++) pthread_create(&t[i], NULL, hammer_main, (void *)i);
    for (int i = 0; i < HAMMER_THREADS; i++) pthread_join(t[i], NULL);
    CHECK(atomic_load(&hammer.double_lease) == 0);
    CHECK(atomic_load(&hammer.wrong_output) == 0);
    CHECK(atomic_load(&hammer.failures) == 0);
    eryx_pool_stats st = stats(hammer.pool);
    CHECKF(st.total_acquisitions == HAMMER_THREADS * HAMMER_ROUNDS, "%llu", (unsigned long long)st.total_acquisitions);
    CHECK(st.in_use == 0);
    CHECK(st.available == HAMMER_MAX);
    CHECK(st.total == st.idle);
    CHECK(st.idle >= 1 && st.idle <= HAMMER_MAX);
    CHECKF(st.total_creations == st.idle, "creations %llu idle %llu", (unsigned long long)st.total_creations,
           (unsigned long long)st.idle); /* nothing was freed: every sandbox made is idle */
    CHECKF(hammer.nseen <= HAMMER_MAX, "%zu distinct sandboxes", hammer.nseen);
    CHECK(st.wait_count <= st.total_acquisitions);
    CHECK(st.wait_count == 0 ? st.total_wait_ms == 0.0 : st.average_wait_ms * (double)st.wait_count > 0.0);
    eryx_pool_free(hammer.pool);
    pthread_mutex_destroy(&hammer.mu);
}

/* ---- timeouts and try_acquire ---------------------------------------------- */
typedef struct {
    eryx_pool *pool;
    eryx_sandbox *s;
    unsigned delay_ms;
    eryx_status st;
} delayed;

static void *release_later(void *arg) {
    delayed *d = arg;
    sleep_ms(d->delay_ms);
    d->st = eryx_pool_release(d->pool, d->s);
    return NULL;
}

static void test_timeouts(eryx_builder *b) {
    eryx_pool *p = new_pool(b, 1, 0, 100, 300000);
    CHECK(p != NULL);
    if (!p) return;
    CHECK(stats(p).total == 0); /* min_idle 0: nothing made yet */
    eryx_sandbox *s = NULL, *s2 = (eryx_sandbox *)&s;
    CHECK(eryx_pool_acquire(p, &s) == ERYX_OK && s);
    CHECK(eryx_pool_try_acquire(p, &s2) == ERYX_ERR_POOL_EXHAUSTED && s2 == NULL);
    CHECK(strstr(eryx_pool_errmsg(p), "leased") != NULL);
    uint64_t t0 = now_ms();
    s2 = (eryx_sandbox *)&s;
    CHECK(eryx_pool_acquire(p, &s2) == ERYX_ERR_POOL_TIMEOUT && s2 == NULL);
    CHECK(now_ms() - t0 >= 100); /* it did wait its timeout */
    CHECK(strstr(eryx_pool_errmsg(p), "timed out after 100 ms") != NULL);
    eryx_pool_stats st = stats(p);
    CHECK(st.wait_count == 0 && st.total_acquisitions == 1 && st.in_use == 1 && st.available == 0);

    /* a release wakes a waiter: it counts as a wait */
    eryx_pool_free(p);
    p = new_pool(b, 1, 0, 30000, 300000);
    CHECK(p && eryx_pool_acquire(p, &s) == ERYX_OK);
    delayed d = {.pool = p, .s = s, .delay_ms = 50, .st = ERYX_ERR_IO};
    pthread_t t;
    pthread_create(&t, NULL, release_later, &d);
    eryx_sandbox *got = NULL;
    CHECK(eryx_pool_acquire(p, &got) == ERYX_OK && got == s); /* the released one, reused */
    pthread_join(t, NULL);
    CHECK(d.st == ERYX_OK);
    st = stats(p);
    CHECK(st.wait_count == 1 && st.total_wait_ms > 0.0 && st.average_wait_ms == st.total_wait_ms);
    CHECK(st.total_acquisitions == 2 && st.total_creations == 1);
    CHECK(eryx_pool_release(p, got) == ERYX_OK);
    eryx_pool_free(p);
}

/* ---- close --------------------------------------------------------------- */
typedef struct {
    eryx_pool *pool;
    eryx_status st;
    eryx_sandbox *s;
} waiter;

static void *wait_acquire(void *arg) {
    waiter *w = arg;
    w->st = eryx_pool_acquire(w->pool, &w->s);
    return NULL;
}

static void test_close(eryx_builder *b) {
    eryx_pool *p = new_pool(b, 1, 1, 30000, 300000);
    CHECK(p != NULL);
    if (!p) return;
    eryx_sandbox *s = NULL;
    CHECK(eryx_pool_acquire(p, &s) == ERYX_OK);
    waiter w[2] = {{.pool = p, .st = ERYX_OK}, {.pool = p, .st = ERYX_OK}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, wait_acquire, &w[i]);
    sleep_ms(100);
    CHECK(!eryx_pool_is_closed(p));
    uint64_t t0 = now_ms();
    eryx_pool_close(p);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    CHECK(now_ms() - t0 < 20000); /* woken, not timed out (a generous bound: the machine may be loaded) */
    for (int i = 0; i < 2; i++) CHECK(w[i].st == ERYX_ERR_POOL_CLOSED && w[i].s == NULL);
    CHECK(eryx_pool_is_closed(p));
    eryx_sandbox *s2 = NULL;
    CHECK(eryx_pool_try_acquire(p, &s2) == ERYX_ERR_POOL_CLOSED);
    CHECK(eryx_pool_acquire(p, &s2) == ERYX_ERR_POOL_CLOSED);
    /* the lease out keeps working, and is freed on release */
    eryx_result *r = NULL;
    CHECK(run(s, "print('still')", &r) == ERYX_OK && !strcmp(eryx_result_stdout(r, NULL), "still\n"));
    eryx_result_free(r);
    CHECK(stats(p).total == 1 && stats(p).idle == 0);
    CHECK(eryx_pool_release(p, s) == ERYX_OK);
    eryx_pool_stats st = stats(p);
    CHECK(st.total == 0 && st.idle == 0 && st.in_use == 0);
    eryx_pool_close(p); /* again: harmless */
    eryx_pool_free(p);
}

/* ---- eviction ------------------------------------------------------------ */
static void test_evict(eryx_builder *b) {
    eryx_pool *p = new_pool(b, 4, 1, 30000, 0); /* idle_timeout 0: every idle one is past it */
    CHECK(p != NULL);
    if (!p) return;
    eryx_sandbox *s[3] = {0};
    for (int i = 0; i < 3; i++) CHECK(eryx_pool_acquire(p, &s[i]) == ERYX_OK);
    CHECK(stats(p).total_creations == 3);
    for (int i = 0; i < 3; i++) CHECK(eryx_pool_release(p, s[i]) == ERYX_OK);
    CHECK(stats(p).idle == 3);
    CHECK(eryx_pool_evict_idle(p) == 2); /* min_idle 1 stays */
    eryx_pool_stats st = stats(p);
    CHECK(st.idle == 1 && st.total == 1);
    CHECK(eryx_pool_evict_idle(p) == 0);
    /* the one kept is the most recently released (the warmest) */
    eryx_sandbox *again = NULL;
    CHECK(eryx_pool_acquire(p, &again) == ERYX_OK && again == s[2]);
    CHECK(eryx_pool_release(p, again) == ERYX_OK);
    eryx_pool_free(p);

    p = new_pool(b, 4, 0, 30000, 600000); /* nothing idle that long */
    CHECK(p && eryx_pool_acquire(p, &s[0]) == ERYX_OK && eryx_pool_release(p, s[0]) == ERYX_OK);
    CHECK(eryx_pool_evict_idle(p) == 0 && stats(p).idle == 1);
    eryx_pool_free(p);
    CHECK(eryx_pool_evict_idle(NULL) == 0);
}

/* ---- nothing leaks between leases --------------------------------------------- */
static atomic_int streamed;
static void count_output(void *user, int stream, const char *data, size_t len) {
    (void)user, (void)stream, (void)data;
    atomic_fetch_add(&streamed, (int)len);
}
static ptrdiff_t feed(void *user, void *buf, size_t len) {
    int *fed = user;
    if (*fed || len < 6) return 0;
    *fed = 1;
    memcpy(buf, "secret", 6);
    return 6;
}

static void test_isolation(eryx_builder *b) {
    eryx_pool *p = new_pool(b, 1, 1, 30000, 300000);
    CHECK(p != NULL);
    if (!p) return;
    eryx_sandbox *s = NULL;
    eryx_result *r = NULL;
    CHECK(eryx_pool_acquire(p, &s) == ERYX_OK);
    CHECK(run(s, "g = 5\nimport sys\nsys.modules['planted'] = 1\nopen('/tmp/left', 'w').write('x')", &r) == ERYX_OK);
    CHECK(eryx_sandbox_set_timeout_ms(s, 50) == ERYX_OK);
    CHECK(run(s, "while True: pass", &r) == ERYX_ERR_TIMEOUT); /* the lease's own timeout works */
    CHECK(eryx_sandbox_set_output(s, count_output, NULL) == ERYX_OK);
    int fed = 0;
    CHECK(eryx_sandbox_set_stdin(s, feed, &fed) == ERYX_OK);
    CHECK(run(s, "import sys\nprint(sys.stdin.read())", &r) == ERYX_OK);
    CHECK(!strcmp(eryx_result_stdout(r, NULL), "secret\n"));
    int seen = atomic_load(&streamed);
    CHECK(seen > 0);
    eryx_sandbox_cancel(s); /* a cancel after the lease's last execution */
    CHECK(eryx_pool_release(p, s) == ERYX_OK);

    eryx_sandbox *s2 = NULL;
    CHECK(eryx_pool_acquire(p, &s2) == ERYX_OK && s2 == s); /* the same sandbox, reused */
    CHECK(run(s2, "print(g)", &r) == ERYX_ERR_PYTHON_EXCEPTION);
    CHECK_STR_EQ(eryx_result_exception_type(r), "NameError");
    CHECK(run(s2, "import os, sys\nprint('planted' in sys.modules, os.path.exists('/tmp/left'))", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_stdout(r, NULL), "False False\n");
    CHECK(run(s2, "import time\ntime.sleep(0.3)\nprint('slept')", &r) == ERYX_OK); /* the 50 ms timeout is gone */
    CHECK(run(s2, "import sys\nprint(repr(sys.stdin.read()))", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_stdout(r, NULL), "''\n"); /* the stdin function is gone */
    CHECK(atomic_load(&streamed) == seen);             /* the output function is gone */
    eryx_result_free(r);
    CHECK(eryx_pool_release(p, s2) == ERYX_OK);
    eryx_pool_free(p);
}

/* ---- a lease with its own builder; keep-state builders ---------------------- */
static int answer(void *user, const char *args, size_t len, char **result, size_t *result_len) {
    (void)user, (void)args, (void)len;
    *result = strdup("42");
    *result_len = 0;
    return 0;
}

static void test_own_builder(eryx_builder *b) {
    eryx_pool *p = new_pool(b, 2, 2, 30000, 300000);
    CHECK(p != NULL);
    if (!p) return;
    eryx_builder *other = eryx_builder_new();
    CHECK(eryx_builder_add_callback(other, "answer", "the answer", NULL, answer, NULL) == ERYX_OK);
    eryx_sandbox *s = NULL, *w = NULL;
    eryx_result *r = NULL;
    CHECK(eryx_pool_acquire_with(p, other, 0, &s) == ERYX_OK && s);
    eryx_pool_stats st = stats(p);
    CHECKF(st.total == 2 && st.idle == 1 && st.in_use == 1, "total %llu idle %llu", (unsigned long long)st.total,
           (unsigned long long)st.idle); /* an idle one made room: idle + leased <= max_size */
    CHECK(st.total_creations == 3);
    CHECK(run(s, "print(await answer())", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_stdout(r, NULL), "42\n");
    CHECK(eryx_pool_acquire(p, &w) == ERYX_OK); /* a pooled lease: no callback */
    CHECK(run(w, "print(await answer())", &r) == ERYX_ERR_PYTHON_EXCEPTION);
    eryx_sandbox *x = NULL;
    CHECK(eryx_pool_try_acquire(p, &x) == ERYX_ERR_POOL_EXHAUSTED); /* own-builder leases count */
    CHECK(eryx_pool_acquire_with(p, other, 1, &x) == ERYX_ERR_POOL_EXHAUSTED && x == NULL);
    CHECK(eryx_pool_release(p, s) == ERYX_OK);
    st = stats(p);
    CHECK(st.idle == 0 && st.total == 1); /* freed, not pooled */
    eryx_result_free(r);
    r = NULL;
    eryx_sandbox *leased = NULL;
    CHECK(eryx_pool_acquire_with(p, other, 0, &leased) == ERYX_OK);
    CHECK(eryx_pool_release(p, leased) == ERYX_OK);
    eryx_builder_free(other);
    eryx_pool_free(p); /* w is still leased: freed here */

    eryx_builder *keep = eryx_builder_new();
    CHECK(eryx_builder_set_keep_state(keep, 1) == ERYX_OK);
    p = new_pool(keep, 2, 1, 30000, 300000);
    eryx_builder_free(keep); /* the pool has its own copy */
    CHECK(p != NULL);
    if (!p) return;
    CHECK(eryx_pool_acquire(p, &s) == ERYX_OK);
    CHECK(run(s, "k = 1", &r) == ERYX_OK && run(s, "print(k)", &r) == ERYX_OK); /* a session during its lease */
    CHECK(eryx_pool_release(p, s) == ERYX_OK);
    st = stats(p);
    CHECK(st.idle == 0 && st.total == 0); /* a session is never handed to the next lessee */
    CHECK(eryx_pool_acquire(p, &s) == ERYX_OK);
    CHECK(run(s, "print(k)", &r) == ERYX_ERR_PYTHON_EXCEPTION);
    CHECK(eryx_pool_release(p, s) == ERYX_OK);
    eryx_result_free(r);
    eryx_pool_free(p);
}

/* ---- bad arguments ------------------------------------------------------------- */
static void test_bad_args(eryx_builder *b) {
    eryx_pool *p = (eryx_pool *)&p;
    eryx_pool_options o;
    eryx_pool_options_init(&o);
    CHECK(o.max_size == 10 && o.min_idle == 1 && o.acquire_timeout_ms == 30000 && o.idle_timeout_ms == 300000);
    CHECK(eryx_pool_new(NULL, NULL, &p) == ERYX_ERR_INVALID_ARGUMENT && p == NULL);
    CHECK(eryx_pool_new(b, NULL, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    o.max_size = 0;
    CHECK(eryx_pool_new(b, &o, &p) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(eryx_pool_errmsg(NULL), "max_size") != NULL);
    o.max_size = 100000;
    CHECK(eryx_pool_new(b, &o, &p) == ERYX_ERR_INVALID_ARGUMENT);
    o.max_size = 2;
    o.min_idle = 3;
    CHECK(eryx_pool_new(b, &o, &p) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(eryx_pool_errmsg(NULL), "min_idle (3) cannot exceed max_size (2)") != NULL);
    eryx_builder *nowhere = eryx_builder_new();
    CHECK(eryx_builder_set_guest_dir(nowhere, "/nonexistent/guest") == ERYX_OK);
    o.min_idle = 1;
    CHECK(eryx_pool_new(nowhere, &o, &p) != ERYX_OK && p == NULL); /* the warm sandbox cannot be made */
    CHECK(strstr(eryx_pool_errmsg(NULL), "could not make a sandbox") != NULL);
    o.min_idle = 0;
    CHECK(eryx_pool_new(nowhere, &o, &p) == ERYX_OK); /* made lazily: the first acquire fails, cleanly */
    eryx_sandbox *s = (eryx_sandbox *)&s;
    CHECK(eryx_pool_acquire(p, &s) != ERYX_OK && s == NULL);
    CHECK(stats(p).in_use == 0 && stats(p).available == 2); /* the failed acquisition gave its permit back */
    eryx_pool_free(p);
    eryx_builder_free(nowhere);

    CHECK(eryx_pool_acquire(NULL, &s) == ERYX_ERR_INVALID_ARGUMENT && s == NULL);
    CHECK(eryx_pool_try_acquire(NULL, &s) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_pool_stats_get(NULL, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    p = new_pool(b, 1, 0, 30000, 300000);
    CHECK(p != NULL);
    if (!p) return;
    CHECK(eryx_pool_acquire(p, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_pool_acquire_with(p, NULL, 0, &s) == ERYX_ERR_INVALID_ARGUMENT && s == NULL);
    CHECK(eryx_pool_stats_get(p, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    /* a sandbox the pool never leased is refused and left alone */
    eryx_sandbox *mine = NULL;
    CHECK(eryx_sandbox_new(b, &mine) == ERYX_OK);
    CHECK(eryx_pool_release(p, mine) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(eryx_pool_errmsg(p), "not leased") != NULL);
    eryx_result *r = NULL;
    CHECK(run(mine, "print(1)", &r) == ERYX_OK); /* still the caller's, still usable */
    eryx_result_free(r);
    eryx_sandbox_free(mine);
    CHECK(eryx_pool_release(p, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_pool_acquire(p, &s) == ERYX_OK);
    CHECK(eryx_pool_release(p, s) == ERYX_OK);
    CHECK(eryx_pool_release(p, s) == ERYX_ERR_INVALID_ARGUMENT); /* twice */
    CHECK(stats(p).in_use == 0 && stats(p).idle == 1);
    eryx_pool_free(p);
    eryx_pool_free(NULL);
    eryx_pool_close(NULL);
    CHECK(eryx_pool_is_closed(NULL) == 1);
    CHECK_STR_EQ(eryx_status_name(ERYX_ERR_POOL_TIMEOUT), "ERYX_ERR_POOL_TIMEOUT");
    CHECK(strlen(eryx_status_message(ERYX_ERR_POOL_CLOSED)) > 5);
}

int main(void) {
    eryx_builder *b = eryx_builder_new();
    CHECK(eryx_builder_set_timeout_ms(b, 5000) == ERYX_OK);
    test_bad_args(b);
    test_isolation(b);
    test_timeouts(b);
    test_close(b);
    test_evict(b);
    test_own_builder(b);
    test_hammer(b);
    eryx_builder_free(b);
    eryx_shutdown();
    return check_report("test_pool");
}
