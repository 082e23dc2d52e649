/* Sandbox pools (eryx_pool_*) under the review of issue 20: never more than
** max_size sandboxes alive, even while a release or an eviction is freeing one
** (eryx_sandbox_new and eryx_sandbox_free are wrapped at link time, -Wl,--wrap,
** to count the live ones and to make freeing slow); a session snapshot restored
** into a lease never reaches the next lease; sliced acquisitions
** (eryx_pool_acquire_slice: the timeout counted from the first slice, the wait
** counted once); a huge acquire timeout; a closed pool's waiters. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include "check.h"
#include "eryx.h"
#include "pool_util.h"

/* ---- live sandboxes, counted at link time ------------------------------------ */
eryx_status __real_eryx_sandbox_new(eryx_builder *b, eryx_sandbox **out);
void __real_eryx_sandbox_free(eryx_sandbox *s);
eryx_status __wrap_eryx_sandbox_new(eryx_builder *b, eryx_sandbox **out);
void __wrap_eryx_sandbox_free(eryx_sandbox *s);
static atomic_int live, max_live, slow_free_ms;

static void sleep_ms(unsigned ms) {
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

eryx_status __wrap_eryx_sandbox_new(eryx_builder *b, eryx_sandbox **out) {
    eryx_status st = __real_eryx_sandbox_new(b, out);
    if (st == ERYX_OK) {
        int n = atomic_fetch_add(&live, 1) + 1, m = atomic_load(&max_live);
        while (n > m && !atomic_compare_exchange_weak(&max_live, &m, n)) {
        }
    }
    return st;
}

void __wrap_eryx_sandbox_free(eryx_sandbox *s) {
    if (!s) return;
    int ms = atomic_load(&slow_free_ms);
    if (ms) sleep_ms((unsigned)ms); /* a slow free: its memory is still in use meanwhile */
    __real_eryx_sandbox_free(s);
    atomic_fetch_sub(&live, 1);
}

static eryx_status run(eryx_sandbox *s, const char *code, eryx_result **r) {
    eryx_result_free(*r);
    *r = NULL;
    return eryx_sandbox_execute(s, code, strlen(code), r);
}

typedef struct {
    eryx_pool *pool;
    eryx_builder *with; /* NULL: the pool's configuration */
    eryx_status st;
    eryx_sandbox *s;
} job;

static void *acquire_release(void *arg) {
    job *j = arg;
    j->st = j->with ? eryx_pool_acquire_with(j->pool, j->with, 0, &j->s) : eryx_pool_acquire(j->pool, &j->s);
    if (j->st == ERYX_OK) j->st = eryx_pool_release(j->pool, j->s);
    return NULL;
}

/* ---- capacity: a release or an eviction still freeing holds its place ---------- */
static void test_capacity(eryx_builder *b) {
    eryx_builder *other = eryx_builder_new();
    CHECK(eryx_builder_set_timeout_ms(other, 4000) == ERYX_OK);
    eryx_pool *p = new_pool(b, 2, 0, 60000, 0);
    CHECK(p != NULL);
    if (!p) return;
    atomic_store(&live, 0);
    atomic_store(&max_live, 0);
    atomic_store(&slow_free_ms, 150);
    /* 6 threads, half with their own builder (freed on release, slowly), on 2 places */
    job j[6];
    pthread_t t[6];
    for (int i = 0; i < 6; i++) {
        j[i] = (job){.pool = p, .with = i % 2 ? other : NULL, .st = ERYX_ERR_IO};
        pthread_create(&t[i], NULL, acquire_release, &j[i]);
    }
    for (int i = 0; i < 6; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 6; i++) CHECKF(j[i].st == ERYX_OK, "job %d: %s", i, eryx_status_name(j[i].st));
    CHECKF(atomic_load(&max_live) <= 2, "%d sandboxes alive at once in a pool of 2", atomic_load(&max_live));

    /* an eviction freeing idle sandboxes holds their places until they are gone */
    eryx_sandbox *s[2] = {0};
    CHECK(eryx_pool_acquire(p, &s[0]) == ERYX_OK && eryx_pool_acquire(p, &s[1]) == ERYX_OK);
    CHECK(eryx_pool_release(p, s[0]) == ERYX_OK && eryx_pool_release(p, s[1]) == ERYX_OK);
    atomic_store(&max_live, atomic_load(&live));
    job e[2] = {{.pool = p, .with = other, .st = ERYX_ERR_IO}, {.pool = p, .with = other, .st = ERYX_ERR_IO}};
    pthread_t et[2];
    size_t evicted = 0;
    atomic_store(&slow_free_ms, 150);
    CHECK(stats(p).idle == 2);
    for (int i = 0; i < 2; i++) pthread_create(&et[i], NULL, acquire_release, &e[i]);
    evicted = eryx_pool_evict_idle(p); /* idle_timeout 0, min_idle 0: both go, slowly */
    for (int i = 0; i < 2; i++) pthread_join(et[i], NULL);
    for (int i = 0; i < 2; i++) CHECK(e[i].st == ERYX_OK);
    CHECK(evicted <= 2);
    CHECKF(atomic_load(&max_live) <= 2, "%d sandboxes alive at once in a pool of 2", atomic_load(&max_live));
    atomic_store(&slow_free_ms, 0);
    eryx_pool_stats st = stats(p);
    CHECK(st.in_use == 0 && st.available == 2);
    eryx_pool_free(p);
    eryx_builder_free(other);
    CHECK(atomic_load(&live) == 0); /* everything the pool made is freed */
}

/* ---- a restored session snapshot never reaches the next lease ------------------ */
static void test_restore_reset(eryx_builder *b) {
    eryx_builder *kb = eryx_builder_new();
    CHECK(eryx_builder_set_timeout_ms(kb, 5000) == ERYX_OK && eryx_builder_set_keep_state(kb, 1) == ERYX_OK);
    eryx_sandbox *sess = NULL;
    eryx_result *r = NULL;
    void *blob = NULL;
    size_t len = 0;
    CHECK(eryx_sandbox_new(kb, &sess) == ERYX_OK);
    CHECK(run(sess, "planted = 'from the first lease'", &r) == ERYX_OK);
    CHECK(eryx_sandbox_snapshot(sess, &blob, &len) == ERYX_OK);
    eryx_sandbox_free(sess);
    eryx_builder_free(kb);
    eryx_pool *p = new_pool(b, 1, 1, 30000, 300000);
    CHECK(p != NULL);
    if (!p) return;
    eryx_sandbox *s = NULL, *s2 = NULL;
    CHECK(eryx_pool_acquire(p, &s) == ERYX_OK);
    CHECK(eryx_sandbox_restore(s, blob, len) == ERYX_OK); /* and released without running it */
    CHECK(eryx_pool_release(p, s) == ERYX_OK);
    CHECK(eryx_pool_acquire(p, &s2) == ERYX_OK && s2 == s);
    CHECK(run(s2, "print(globals().get('planted'))", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_stdout(r, NULL), "None\n");
    /* a restore the lessee ran is its own: still there during its lease */
    CHECK(eryx_sandbox_restore(s2, blob, len) == ERYX_OK);
    CHECK(run(s2, "print(planted)", &r) == ERYX_OK);
    CHECK_STR_EQ(eryx_result_stdout(r, NULL), "from the first lease\n");
    CHECK(eryx_pool_release(p, s2) == ERYX_OK);
    CHECK(stats(p).idle == 1);
    eryx_result_free(r);
    eryx_blob_free(blob);
    eryx_pool_free(p);
}

/* ---- sliced acquisitions ------------------------------------------------------ */
typedef struct {
    eryx_pool *pool;
    eryx_sandbox *s;
    unsigned delay_ms;
    int close;
} later;

static void *later_main(void *arg) {
    later *l = arg;
    sleep_ms(l->delay_ms);
    if (l->close) eryx_pool_close(l->pool);
    else eryx_pool_release(l->pool, l->s);
    return NULL;
}

static void test_slices(eryx_builder *b) {
    eryx_pool *p = new_pool(b, 1, 1, 300, 300000);
    CHECK(p != NULL);
    if (!p) return;
    eryx_sandbox *s = NULL, *got = (eryx_sandbox *)&s;
    CHECK(eryx_pool_acquire_slice(p, NULL, NULL, 10, &got) == ERYX_ERR_INVALID_ARGUMENT && got == NULL);
    eryx_pool_wait w = {0};
    CHECK(eryx_pool_acquire_slice(p, NULL, &w, 10, &s) == ERYX_OK && s); /* free: no wait */
    CHECK(stats(p).wait_count == 0);
    /* all leased: slices of 20 ms until the pool's 300 ms, counted from the first */
    memset(&w, 0, sizeof w);
    uint64_t t0 = now_ms();
    int slices = 0;
    eryx_status st;
    while ((st = eryx_pool_acquire_slice(p, NULL, &w, 20, &got)) == ERYX_ERR_POOL_EXHAUSTED) {
        CHECK(got == NULL);
        slices++;
    }
    uint64_t took = now_ms() - t0;
    CHECKF(st == ERYX_ERR_POOL_TIMEOUT, "%s", eryx_status_name(st));
    CHECK(strstr(eryx_pool_errmsg(p), "timed out after 300 ms") != NULL);
    CHECKF(took >= 300 && slices >= 3 && (uint64_t)slices <= took / 20 + 1, "%d slices in %llu ms", slices,
           (unsigned long long)took);
    CHECK(stats(p).wait_count == 0); /* a wait that timed out is no acquisition */

    /* released after 150 ms: the wait counts once, all of it */
    memset(&w, 0, sizeof w);
    later l = {.pool = p, .s = s, .delay_ms = 150};
    pthread_t t;
    pthread_create(&t, NULL, later_main, &l);
    slices = 0;
    while ((st = eryx_pool_acquire_slice(p, NULL, &w, 20, &got)) == ERYX_ERR_POOL_EXHAUSTED) slices++;
    pthread_join(t, NULL);
    CHECK(st == ERYX_OK && got == s && slices >= 2);
    eryx_pool_stats ps = stats(p);
    CHECKF(ps.wait_count == 1 && ps.total_wait_ms >= 140.0, "waits %llu, %.1f ms", (unsigned long long)ps.wait_count,
           ps.total_wait_ms);
    /* a lease of its own configuration, sliced too */
    eryx_builder *other = eryx_builder_new();
    memset(&w, 0, sizeof w);
    eryx_sandbox *own = NULL;
    CHECK(eryx_pool_acquire_slice(p, other, &w, 20, &own) == ERYX_ERR_POOL_EXHAUSTED);
    CHECK(eryx_pool_release(p, got) == ERYX_OK);
    CHECK(eryx_pool_acquire_slice(p, other, &w, 20, &own) == ERYX_OK && own);
    CHECK(eryx_pool_release(p, own) == ERYX_OK);
    CHECK(stats(p).idle == 0 && stats(p).wait_count == 2); /* the idle one made room; own freed */
    eryx_builder_free(other);
    eryx_pool_free(p);
}

/* ---- huge timeouts; close wakes a slow waiter ----------------------------------- */
static void test_huge_timeout(eryx_builder *b) {
    eryx_pool *p = new_pool(b, 1, 0, UINT64_MAX, UINT64_MAX);
    CHECK(p != NULL);
    if (!p) return;
    eryx_sandbox *s = NULL, *got = NULL;
    CHECK(eryx_pool_acquire(p, &s) == ERYX_OK);
    later l = {.pool = p, .delay_ms = 100, .close = 1};
    pthread_t t;
    pthread_create(&t, NULL, later_main, &l);
    uint64_t t0 = now_ms();
    CHECK(eryx_pool_acquire(p, &got) == ERYX_ERR_POOL_CLOSED && got == NULL); /* no overflow to "timed out" */
    CHECK(now_ms() - t0 < 20000);
    pthread_join(t, NULL);
    CHECK(eryx_pool_release(p, s) == ERYX_OK);
    CHECK(eryx_pool_evict_idle(p) == 0);
    eryx_pool_free(p);
    /* just below the saturation point */
    p = new_pool(b, 1, 0, UINT64_MAX / 1000000u - 1, 0);
    CHECK(p && eryx_pool_acquire(p, &s) == ERYX_OK);
    memset(&got, 0, sizeof got);
    eryx_pool_wait w = {0};
    CHECK(eryx_pool_acquire_slice(p, NULL, &w, 10, &got) == ERYX_ERR_POOL_EXHAUSTED);
    CHECK(eryx_pool_release(p, s) == ERYX_OK);
    eryx_pool_free(p);
}

int main(void) {
    eryx_builder *b = eryx_builder_new();
    CHECK(eryx_builder_set_timeout_ms(b, 5000) == ERYX_OK);
    test_restore_reset(b);
    test_slices(b);
    test_huge_timeout(b);
    test_capacity(b);
    eryx_builder_free(b);
    eryx_shutdown();
    return check_report("test_pool_races");
}
