/* Unit test: the disk tier of the artifact cache (src/cache/store*.c): entries in
** use, concurrent processes and threads, crashed builders. Each test works in its own
** mkdtemp dir under /tmp and removes it. Cross-process cases fork; a child reports
** through its exit status (its own CHECK failures, printed). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "store_util.h"

/* ---- entries in use ------------------------------------------------------------------ */

static void test_prune_clear_in_use(void) {
    char dir[256], a[65], b[65], c[65], pa[512], pb[512], pc[512];
    eryx__errbuf msg;
    make_tmpdir(dir);
    make_key(40, a);
    make_key(41, b);
    make_key(42, c);
    entry_path(dir, a, pa);
    entry_path(dir, b, pb);
    entry_path(dir, c, pc);
    eryx__store *s = open_store(dir, 0, 0);
    CHECK(s != NULL);
    if (!s) return;
    size_t n = 2000;
    unsigned char *p = make_payload(n, 6);
    CHECK(put(s, a, p, n) == 0);
    CHECK(put(s, b, p, n) == 0);
    CHECK(put(s, c, p, n) == 0);
    set_age(pa, 300);
    set_age(pb, 200);
    set_age(pc, 100);

    int release = -1;
    pid_t child = hold_in_child(pa, &release); /* another process uses a */
    eryx__store_info *info = NULL;
    size_t count = 0;
    CHECK(eryx__store_list(s, &info, &count, &msg) == 0 && count == 3);
    if (count == 3) CHECK(info[2].in_use && !info[0].in_use && !info[1].in_use);
    free(info);

    size_t removed = 99;
    uint64_t freed = 99;
    CHECK(eryx__store_prune(s, (eryx__store_limits){0, 0}, &removed, &freed, &msg) == 0);
    CHECK(removed == 0 && freed == 0); /* no limits: nothing to do */
    CHECK(eryx__store_prune(s, (eryx__store_limits){0, 1}, &removed, &freed, &msg) == 0);
    CHECK(removed == 2 && freed == 2 * (n + TRAILER)); /* b and c; a is in use */
    CHECK(exists(pa) && !exists(pb) && !exists(pc));

    CHECK(put(s, b, p, n) == 0);
    CHECK(put(s, c, p, 10) == 0);
    set_age(pb, 50); /* explicit: two puts may share a timestamp tick */
    set_age(pc, 10);
    CHECK(eryx__store_prune(s, (eryx__store_limits){n + TRAILER + 10 + TRAILER, 0}, &removed, &freed, &msg) == 0);
    CHECK(removed == 1 && freed == n + TRAILER); /* b (oldest of the unused), keeping a and c */
    CHECK(exists(pa) && !exists(pb) && exists(pc));

    CHECK(put(s, b, p, n) == 0);
    CHECK(eryx__store_clear(s, &removed, &freed, &msg) == 0);
    CHECK(removed == 2 && freed == n + TRAILER + 10 + TRAILER);
    CHECK(exists(pa) && !exists(pb) && !exists(pc));
    CHECK(get_status(s, a) == ERYX__STORE_HIT); /* a shared lock coexists with the child's */

    close(release);
    CHECK(child_ok(child));
    CHECK(eryx__store_clear(s, &removed, &freed, &msg) == 0);
    CHECK(removed == 1 && freed == n + TRAILER);
    CHECK(count_files(dir, "modules", NULL) == 0);
    CHECK(eryx__store_list(s, &info, &count, &msg) == 0 && count == 0);
    free(info);

    /* Held through an eryx__store_entry in this process: clear skips it too. */
    CHECK(put(s, a, p, n) == 0);
    eryx__store_entry e;
    CHECK(eryx__store_get(s, a, &e, &msg) == ERYX__STORE_HIT);
    CHECK(eryx__store_clear(s, &removed, &freed, &msg) == 0 && removed == 0 && exists(pa));
    eryx__store_entry_release(&e);
    CHECK(eryx__store_clear(s, &removed, &freed, &msg) == 0 && removed == 1 && !exists(pa));

    eryx__store_close(s);
    free(p);
    rm_rf(dir);
}

/* ---- concurrency ----------------------------------------------------------------------- */

static int child_build(const char *dir, const char *markers, const char *key, int go_fd) {
    char ch;
    if (read(go_fd, &ch, 1) < 0) return 10; /* wait for the start (EOF) */
    eryx__store *s = open_store(dir, 0, 0);
    if (!s) return 11;
    eryx__errbuf msg;
    int lock = -1;
    (void)eryx__store_lock_key(s, key, &lock, &msg);
    if (lock < 0) return 12;
    eryx__store_result r = get_status(s, key);
    if (r == ERYX__STORE_MISS) {
        char m[512];
        snprintf(m, sizeof m, "%s/built.%ld", markers, (long)getpid());
        int fd = open(m, O_CREAT | O_EXCL | O_WRONLY, 0600);
        if (fd < 0) return 13;
        close(fd);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        unsigned char *p = make_payload(50000, 7);
        int rc = eryx__store_put(s, key, p, 50000, &msg);
        free(p);
        if (rc != 0) return 14;
    } else if (r != ERYX__STORE_HIT) {
        return 15;
    }
    eryx__store_unlock(lock);
    eryx__store_entry e;
    if (eryx__store_get(s, key, &e, &msg) != ERYX__STORE_HIT || e.payload_len != 50000) return 16;
    eryx__store_entry_release(&e);
    eryx__store_close(s);
    return 0;
}

static void test_processes_build_once(void) {
    char dir[256], cache[300], markers[300], key[65];
    make_tmpdir(dir);
    snprintf(cache, sizeof cache, "%s/cache", dir);
    snprintf(markers, sizeof markers, "%s/markers", dir);
    CHECK(mkdir(markers, 0700) == 0);
    make_key(50, key);
    int go[2];
    CHECK(pipe(go) == 0);
    pid_t kids[4];
    fflush(NULL);
    for (int i = 0; i < 4; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            close(go[1]);
            _exit(child_build(cache, markers, key, go[0]));
        }
    }
    close(go[0]);
    close(go[1]); /* all start together */
    for (int i = 0; i < 4; i++) CHECK(kids[i] > 0 && child_ok(kids[i]));
    CHECK(count_files(dir, "markers", "built.") == 1);
    CHECK(count_files(cache, "modules", ".tmp.") == 0);
    rm_rf(dir);
}

typedef struct {
    eryx__store *s;
    char key[65];
    int rounds;
    size_t len;
    atomic_int *failures;
} thread_arg;

static void *thread_put(void *v) {
    thread_arg *a = v;
    unsigned char *p = make_payload(a->len, 8);
    eryx__errbuf msg;
    for (int i = 0; i < a->rounds; i++) {
        if (eryx__store_put(a->s, a->key, p, a->len, &msg) != 0) {
            fprintf(stderr, "thread put: %s\n", msg.msg);
            atomic_fetch_add(a->failures, 1);
        }
    }
    free(p);
    return NULL;
}

static void *thread_get(void *v) {
    thread_arg *a = v;
    eryx__errbuf msg;
    for (int i = 0; i < a->rounds; i++) {
        eryx__store_entry e;
        eryx__store_result r = eryx__store_get(a->s, a->key, &e, &msg);
        if (r == ERYX__STORE_HIT && e.payload_len != a->len) r = ERYX__STORE_ERROR;
        if (r != ERYX__STORE_HIT && r != ERYX__STORE_MISS) {
            fprintf(stderr, "thread get: %d %s\n", (int)r, msg.msg);
            atomic_fetch_add(a->failures, 1);
        }
        eryx__store_entry_release(&e);
    }
    return NULL;
}

static void test_threads(void) {
    char dir[256];
    make_tmpdir(dir);
    eryx__store *s = open_store(dir, 0, 0);
    CHECK(s != NULL);
    if (!s) return;
    atomic_int failures;
    atomic_init(&failures, 0);
    pthread_t t[4];
    thread_arg args[4];

    /* Different keys at once. */
    for (int i = 0; i < 4; i++) {
        args[i] = (thread_arg){s, "", 20, 20000 + (size_t)i, &failures};
        make_key(60 + i, args[i].key);
        CHECK(pthread_create(&t[i], NULL, thread_put, &args[i]) == 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    CHECK(atomic_load(&failures) == 0);
    for (int i = 0; i < 4; i++) CHECK(get_status(s, args[i].key) == ERYX__STORE_HIT);
    CHECK(count_files(dir, "modules", ".tmp.") == 0);

    /* One key: two writers, two readers; a reader never sees a half-written entry. */
    char key[65];
    make_key(70, key);
    for (int i = 0; i < 4; i++) {
        args[i] = (thread_arg){s, "", 30, 30000, &failures};
        memcpy(args[i].key, key, sizeof key);
        CHECK(pthread_create(&t[i], NULL, i < 2 ? thread_put : thread_get, &args[i]) == 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    CHECK(atomic_load(&failures) == 0);
    char path[512];
    entry_path(dir, key, path);
    eryx__store_entry e;
    eryx__errbuf msg;
    CHECK(eryx__store_get(s, key, &e, &msg) == ERYX__STORE_HIT && e.payload_len == 30000);
    eryx__store_entry_release(&e);
    unsigned char *p = make_payload(30000, 8);
    CHECK(file_has_payload(path, p, 30000));
    free(p);
    CHECK(count_files(dir, "modules", ".tmp.") == 0);

    /* Concurrent puts under a tight limit evict each other without damage. */
    eryx__store *small = open_store(dir, 0, 3);
    CHECK(small != NULL);
    if (small) {
        for (int i = 0; i < 4; i++) {
            args[i] = (thread_arg){small, "", 15, 1000, &failures};
            make_key(80 + i, args[i].key);
            CHECK(pthread_create(&t[i], NULL, thread_put, &args[i]) == 0);
        }
        for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
        CHECK(atomic_load(&failures) == 0);
        CHECK(count_files(dir, "modules", ".cwasm") <= 3);
        size_t checked = 0, bad = 0;
        CHECK(eryx__store_verify(small, NULL, NULL, &checked, &bad, &msg) == 0 && bad == 0);
        eryx__store_close(small);
    }
    eryx__store_close(s);
    rm_rf(dir);
}

typedef struct {
    eryx__store *s;
    const char *key;
    atomic_int got;
} lock_arg;

static void *thread_lock(void *v) {
    lock_arg *a = v;
    eryx__errbuf msg;
    int fd = -1;
    (void)eryx__store_lock_key(a->s, a->key, &fd, &msg);
    atomic_store(&a->got, fd >= 0 ? 1 : -1);
    eryx__store_unlock(fd);
    return NULL;
}

static void test_lock_between_threads(void) {
    char dir[256], key[65];
    eryx__errbuf msg;
    make_tmpdir(dir);
    make_key(90, key);
    eryx__store *s = open_store(dir, 0, 0);
    CHECK(s != NULL);
    if (!s) return;
    int fd = -1;
    (void)eryx__store_lock_key(s, key, &fd, &msg);
    CHECK(fd >= 0);
    lock_arg a = {s, key, 0};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_lock, &a) == 0);
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    CHECK(atomic_load(&a.got) == 0); /* still waiting */
    eryx__store_unlock(fd);
    pthread_join(t, NULL);
    CHECK(atomic_load(&a.got) == 1);
    eryx__store_unlock(-1);
    char lock_path[512];
    snprintf(lock_path, sizeof lock_path, "%s/locks/%s.lock", dir, key);
    CHECK(exists(lock_path)); /* lock files stay */
    eryx__store_close(s);
    rm_rf(dir);
}

/* ---- a builder that crashed ------------------------------------------------------------ */

static void test_crashed_builder(void) {
    char dir[256], key[65], stale[512], fresh[512], locked[512], junk[512], junk2[512];
    eryx__errbuf msg;
    make_tmpdir(dir);
    make_key(100, key);
    eryx__store *s = open_store(dir, 0, 0);
    CHECK(s != NULL);
    if (!s) return;
    snprintf(stale, sizeof stale, "%s/modules/%s.cwasm.tmp.99999.0", dir, key);
    snprintf(fresh, sizeof fresh, "%s/modules/%s.cwasm.tmp.99999.1", dir, key);
    snprintf(locked, sizeof locked, "%s/modules/%s.cwasm.tmp.99999.2", dir, key);
    snprintf(junk, sizeof junk, "%s/modules/notes.txt", dir);
    snprintf(junk2, sizeof junk2, "%s/modules/abc.cwasm.tmp.1.1", dir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        eryx__store *cs = open_store(dir, 0, 0);
        if (!cs) _exit(1);
        int fd = -1;
        (void)eryx__store_lock_key(cs, key, &fd, &msg);
        if (fd < 0) _exit(2);
        FILE *f = fopen(stale, "wb"); /* half an entry, never renamed */
        if (!f) _exit(3);
        fputs("partial", f);
        fclose(f);
        _exit(0); /* dies holding the lock */
    }
    CHECK(pid > 0 && child_ok(pid));
    set_age(stale, 120);
    FILE *f;
    const char *others[] = {fresh, locked, junk, junk2};
    for (int i = 0; i < 4; i++) {
        f = fopen(others[i], "wb");
        CHECK(f != NULL);
        if (f) fclose(f);
    }
    set_age(locked, 120);
    set_age(junk, 120);
    set_age(junk2, 120);
    int writer = open(locked, O_RDONLY); /* a slow writer that is still alive */
    CHECK(writer >= 0 && flock(writer, LOCK_EX) == 0);

    alarm(10); /* a stuck lock would hang here: the alarm kills the test instead */
    int fd = -1;
    (void)eryx__store_lock_key(s, key, &fd, &msg);
    alarm(0);
    CHECK(fd >= 0);
    eryx__store_unlock(fd);

    size_t checked = 9, bad = 9;
    CHECK(eryx__store_verify(s, NULL, NULL, &checked, &bad, &msg) == 0);
    CHECK(checked == 0 && bad == 0);
    CHECK(!exists(stale));
    CHECK(exists(fresh));  /* too young: its writer may be at work */
    CHECK(exists(locked)); /* its writer holds it */
    CHECK(exists(junk) && exists(junk2));
    close(writer);
    size_t removed = 0;
    uint64_t freed = 0;
    CHECK(eryx__store_clear(s, &removed, &freed, &msg) == 0);
    CHECK(removed == 0 && !exists(locked) && exists(fresh) && exists(junk) && exists(junk2));

    /* A later put cleans up after a crashed writer too. */
    f = fopen(stale, "wb");
    CHECK(f != NULL);
    if (f) fclose(f);
    set_age(stale, 120);
    unsigned char p[8] = {1};
    CHECK(put(s, key, p, sizeof p) == 0);
    CHECK(!exists(stale) && exists(fresh));
    eryx__store_close(s);
    rm_rf(dir);
}

int main(void) {
    test_prune_clear_in_use();
    test_processes_build_once();
    test_threads();
    test_lock_between_threads();
    test_crashed_builder();
    return check_report("test_store_procs");
}
