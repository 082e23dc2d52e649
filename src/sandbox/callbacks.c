/* Host callbacks: one thread per call, a hub per sandbox; see callbacks.h. JSON is
** parsed and built with jansson (Debian's libjansson: small, maintained, exact
** about UTF-8 and escaping). */
#include "callbacks.h"
#include "journal.h"
#include "../common/process_state.h"
#include "../common/threads.h"
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>

#define WAIT_SLICE_NS 2000000L /* a wait wakes this often to check for a stop */

enum { JOB_RUNNING, JOB_DONE, JOB_ERROR };

typedef struct job {
    int32_t id;
    int state;      /* JOB_* */
    bool announced; /* returned by cb_wait: the guest takes it next */
    bool abandoned; /* its execution ended, or it timed out: the result is dropped */
    int refs;       /* under the hub's lock: one for the hub's list, one for the thread */
    char *out;      /* the JSON result or the error message */
    size_t out_len;
    uint64_t deadline; /* CLOCK_MONOTONIC ns; 0: none */
    const eryx__cb_def *def;
    char *args;
    size_t args_len;
    char *canon; /* the arguments in canonical form, when journaled; else NULL */
    size_t canon_len;
    struct eryx__cb_hub *hub;
    struct job *next;
    struct job *queued; /* in the pool's queue */
} job;

/* The process's callback threads: started on demand, reused while busy, each
** ending after POOL_IDLE_S seconds without work. Reuse is what makes a round trip
** cheap (a condition variable, not a thread start). Threads are joinable: one that
** ended is joined when the next one starts, the rest by eryx__cb_shutdown. */
#define POOL_IDLE_S 10
typedef eryx__thread worker; /* ended: it returned (or is about to) */
ERYX__PROCESS_STATE static struct {
    pthread_mutex_t lock;
    pthread_cond_t work;
    job *head, *tail;
    unsigned idle;
    unsigned queued; /* jobs in the queue no thread has taken yet */
    worker *workers; /* every thread started and not yet joined */
    bool stopping;   /* eryx__cb_shutdown: idle threads end now */
} eryx__cb_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, NULL, false};

struct eryx__cb_hub {
    atomic_uint refs; /* the sandbox's, plus one per running call */
    pthread_mutex_t lock;
    pthread_cond_t done; /* a call finished */
    eryx__cb_def *defs;
    size_t ndefs;
    uint32_t max_calls, calls;
    uint64_t timeout_ns;
    size_t max_bytes;
    int32_t next_id;
    job *jobs;        /* of the current execution, not yet taken */
    bool closing;     /* the owner released the hub: no call starts any more */
    unsigned running; /* calls inside the embedder's function now */
    /* Durable execution (journal.c): the execution's journal (NULL: none), and the
    ** call that suspended it. ended: between eryx__cb_hub_end and the next begin,
    ** when late outcomes are neither journaled nor suspend anything. */
    eryx__journal *journal;
    bool ended;
    atomic_bool suspended;
    char *susp_name, *susp_args, *susp_reason;
};

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static char *dup_bytes(const void *p, size_t n) {
    char *c = malloc(n + 1);
    if (!c) return NULL;
    memcpy(c, p, n);
    c[n] = '\0';
    return c;
}

static void free_defs(eryx__cb_def *defs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(defs[i].name);
        free(defs[i].description);
        free(defs[i].schema);
    }
    free(defs);
}

const char *eryx__cb_check(const char *name, const char *schema) {
    if (!name || !*name) return "a callback needs a name";
    for (const char *p = name; *p; p++) {
        bool start = p == name || p[-1] == '.';
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                  (!start && *p >= '0' && *p <= '9') || (!start && *p == '.' && p[1] && p[1] != '.');
        if (!ok) return "a callback name is Python identifiers joined by dots (like get_time or http.get)";
    }
    if (!schema) return NULL;
    json_error_t e;
    json_t *j = json_loads(schema, 0, &e);
    bool object = j && json_is_object(j);
    json_t *props = object ? json_object_get(j, "properties") : NULL;
    bool props_ok = !props || json_is_object(props);
    json_decref(j);
    if (!object) return "the parameters schema is not a JSON object";
    if (!props_ok) return "the parameters schema's \"properties\" is not an object";
    return NULL;
}

eryx__cb_hub *eryx__cb_hub_new(const eryx__cb_def *defs, size_t ndefs, uint32_t max_calls, uint64_t timeout_ns,
                               size_t max_bytes) {
    eryx__cb_hub *hub = calloc(1, sizeof *hub);
    if (!hub) return NULL;
    atomic_init(&hub->refs, 1);
    pthread_mutex_init(&hub->lock, NULL);
    pthread_cond_init(&hub->done, NULL);
    hub->max_calls = max_calls;
    hub->timeout_ns = timeout_ns;
    hub->max_bytes = max_bytes;
    hub->defs = calloc(ndefs ? ndefs : 1, sizeof *hub->defs);
    if (!hub->defs) goto fail;
    for (size_t i = 0; i < ndefs; i++, hub->ndefs++) {
        eryx__cb_def *d = &hub->defs[i];
        *d = (eryx__cb_def){.fn = defs[i].fn, .user = defs[i].user};
        d->name = strdup(defs[i].name);
        d->description = strdup(defs[i].description ? defs[i].description : "");
        d->schema = strdup(defs[i].schema ? defs[i].schema : "{}");
        if (!d->name || !d->description || !d->schema) {
            hub->ndefs++;
            goto fail;
        }
    }
    return hub;
fail:
    eryx__cb_hub_release(hub);
    return NULL;
}

static void job_free(job *j) {
    free(j->out);
    free(j->args);
    free(j->canon);
    free(j);
}

/* Drops one reference (the list's or the thread's), under the hub's lock. */
static void job_unref(job *j) {
    if (--j->refs == 0) job_free(j);
}

/* Drops a reference: the owner's (eryx__cb_hub_release) or a call thread's. */
static void hub_unref(eryx__cb_hub *hub) {
    if (atomic_fetch_sub(&hub->refs, 1) != 1) return;
    for (job *j = hub->jobs, *next; j; j = next) { /* every thread has ended */
        next = j->next;
        job_unref(j);
    }
    free_defs(hub->defs, hub->ndefs);
    free(hub->susp_name);
    free(hub->susp_args);
    free(hub->susp_reason);
    pthread_mutex_destroy(&hub->lock);
    pthread_cond_destroy(&hub->done);
    free(hub);
}

void eryx__cb_hub_release(eryx__cb_hub *hub) {
    if (!hub) return;
    pthread_mutex_lock(&hub->lock);
    for (job *j = hub->jobs; j; j = j->next) j->abandoned = true; /* late results are dropped */
    hub->closing = true;
    while (hub->running) pthread_cond_wait(&hub->done, &hub->lock);
    pthread_mutex_unlock(&hub->lock);
    hub_unref(hub);
}

/* Drops the jobs of the execution that ended: finished ones now, running ones
** when their thread ends (it sees `abandoned`). */
static void drop_jobs(eryx__cb_hub *hub) {
    for (job *j = hub->jobs, *next; j; j = next) {
        next = j->next;
        j->abandoned = true;
        job_unref(j); /* a running call's thread holds the other reference */
    }
    hub->jobs = NULL;
}

void eryx__cb_hub_drop(eryx__cb_hub *hub) {
    pthread_mutex_lock(&hub->lock);
    drop_jobs(hub);
    pthread_mutex_unlock(&hub->lock);
}

void eryx__cb_hub_begin(eryx__cb_hub *hub) {
    pthread_mutex_lock(&hub->lock);
    drop_jobs(hub);
    hub->calls = 0;
    hub->ended = false;
    atomic_store(&hub->suspended, false);
    pthread_mutex_unlock(&hub->lock);
}

void eryx__cb_hub_set_journal(eryx__cb_hub *hub, eryx__journal *journal) {
    pthread_mutex_lock(&hub->lock);
    hub->journal = journal;
    pthread_mutex_unlock(&hub->lock);
}

bool eryx__cb_hub_suspended(eryx__cb_hub *hub) { return atomic_load_explicit(&hub->suspended, memory_order_relaxed); }

void eryx__cb_hub_end(eryx__cb_hub *hub, eryx__cb_suspension *susp) {
    pthread_mutex_lock(&hub->lock);
    hub->ended = true;
    hub->journal = NULL;
    *susp = (eryx__cb_suspension){hub->susp_name, hub->susp_args, hub->susp_reason};
    hub->susp_name = hub->susp_args = hub->susp_reason = NULL;
    atomic_store(&hub->suspended, false); /* what follows (the reset, support calls) must run */
    pthread_mutex_unlock(&hub->lock);
}

/* A call returned ERYX_CALLBACK_SUSPEND (under the hub's lock): the first one of
** the execution is the suspension; its arguments are kept in canonical form. */
static void suspend(eryx__cb_hub *hub, job *j, const char *reason, size_t reason_len) {
    if (hub->ended || atomic_load(&hub->suspended)) return;
    size_t n = 0;
    char *args = j->canon ? dup_bytes(j->canon, j->canon_len) : eryx__journal_canonical(j->args, j->args_len, &n);
    hub->susp_name = strdup(j->def->name);
    hub->susp_args = args;
    hub->susp_reason = dup_bytes(reason ? reason : "", reason ? reason_len : 0);
    /* Out of memory, the execution still stops; the replay says suspended with less. */
    atomic_store(&hub->suspended, true);
}

uint32_t eryx__cb_hub_invocations(eryx__cb_hub *hub) {
    pthread_mutex_lock(&hub->lock);
    uint32_t n = hub->calls;
    pthread_mutex_unlock(&hub->lock);
    return n;
}

size_t eryx__cb_hub_pending(eryx__cb_hub *hub) {
    pthread_mutex_lock(&hub->lock);
    size_t n = 0;
    for (job *j = hub->jobs; j; j = j->next) n++;
    pthread_mutex_unlock(&hub->lock);
    return n;
}

static void set_error(job *j, const char *fmt, const char *a) {
    char msg[512];
    snprintf(msg, sizeof msg, fmt, j->def->name, a);
    free(j->out);
    j->out = strdup(msg);
    j->out_len = j->out ? strlen(j->out) : 0;
    j->state = JOB_ERROR;
}

/* Runs one call: the embedder's function, then checks what it returned. */
static void run_job(job *j) {
    eryx__cb_hub *hub = j->hub;
    char *out = NULL;
    size_t out_len = 0;
    /* Once the sandbox is freed no call starts (its user data may be gone), and
    ** eryx__cb_hub_release waits for the calls already inside the function. */
    pthread_mutex_lock(&hub->lock);
    bool skip = hub->closing;
    if (!skip) hub->running++;
    pthread_mutex_unlock(&hub->lock);
    int rc = skip ? 1 : j->def->fn(j->def->user, j->args, j->args_len, &out, &out_len);
    if (out && !out_len) out_len = strlen(out);
    pthread_mutex_lock(&hub->lock);
    if (!skip && --hub->running == 0 && hub->closing) pthread_cond_broadcast(&hub->done);
    if (!j->abandoned && j->state == JOB_RUNNING && rc == ERYX_CALLBACK_SUSPEND && !skip) {
        suspend(hub, j, out, out_len);
        set_error(j, "callback %s suspended the execution%s", "");
        pthread_cond_broadcast(&hub->done);
    } else if (!j->abandoned && j->state == JOB_RUNNING) {
        json_error_t e;
        json_t *v = rc == 0 && out ? json_loadb(out, out_len, JSON_DECODE_ANY, &e) : NULL;
        if (rc != 0) {
            set_error(j, "callback %s failed: %s", out ? out : "(no message)");
        } else if (!v) {
            set_error(j, "callback %s returned invalid JSON: %s", out ? e.text : "nothing");
        } else if (out_len > hub->max_bytes) {
            set_error(j, "callback %s returned %s more than the payload limit", "a result");
        } else {
            j->out = out;
            j->out_len = out_len;
            out = NULL;
            j->state = JOB_DONE;
        }
        json_decref(v);
        /* What the guest gets is journaled, unless it does not fit: the guest then
        ** gets that error instead (the host did run the call). */
        if (hub->journal && !hub->ended && !skip &&
            eryx__journal_record(hub->journal, j->def->name, j->canon, j->canon_len, j->state == JOB_DONE, j->out,
                                 j->out_len) != 0)
            set_error(j, "callback %s ran, but %s", "its outcome does not fit in the journal, so it was not recorded");
        pthread_cond_broadcast(&hub->done);
    }
    job_unref(j);
    pthread_mutex_unlock(&hub->lock);
    free(out);
    hub_unref(hub);
}

static void *worker_main(void *arg) {
    worker *self = arg;
    prctl(PR_SET_NAME, "eryx-callback");
    pthread_mutex_lock(&eryx__cb_pool.lock);
    for (;;) {
        while (!eryx__cb_pool.head) {
            int rc = ETIMEDOUT;
            if (!eryx__cb_pool.stopping) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += POOL_IDLE_S;
                eryx__cb_pool.idle++;
                rc = pthread_cond_timedwait(&eryx__cb_pool.work, &eryx__cb_pool.lock, &ts);
                eryx__cb_pool.idle--;
            }
            if (rc != 0 && !eryx__cb_pool.head) {
                self->ended = true;
                pthread_mutex_unlock(&eryx__cb_pool.lock);
                return NULL;
            }
        }
        job *j = eryx__cb_pool.head;
        eryx__cb_pool.head = j->queued;
        if (!eryx__cb_pool.head) eryx__cb_pool.tail = NULL;
        eryx__cb_pool.queued--;
        pthread_mutex_unlock(&eryx__cb_pool.lock);
        run_job(j);
        pthread_mutex_lock(&eryx__cb_pool.lock);
    }
}

/* Hands a call to an idle pool thread, or to a new one. -1 if none can start. */
static int dispatch(job *j) {
    pthread_mutex_lock(&eryx__cb_pool.lock);
    int rc = 0;
    worker *ended = NULL;
    /* An idle thread is taken only once it wakes: calls made back to back (asyncio.gather)
    ** must not count the same idle thread twice, or they would run one after another. */
    if (eryx__cb_pool.idle <= eryx__cb_pool.queued) {
        ended = eryx__threads_take(&eryx__cb_pool.workers, false);
        worker *w = calloc(1, sizeof *w);
        rc = w && eryx__thread_start(&eryx__cb_pool.workers, w, worker_main, w) ? 0 : -1;
        if (rc != 0) free(w);
    }
    if (rc == 0) {
        j->queued = NULL;
        if (eryx__cb_pool.tail) eryx__cb_pool.tail->queued = j;
        else eryx__cb_pool.head = j;
        eryx__cb_pool.tail = j;
        eryx__cb_pool.queued++;
        pthread_cond_signal(&eryx__cb_pool.work);
    }
    pthread_mutex_unlock(&eryx__cb_pool.lock);
    eryx__threads_join(ended);
    return rc;
}

void eryx__cb_shutdown(void) {
    pthread_mutex_lock(&eryx__cb_pool.lock);
    eryx__cb_pool.stopping = true; /* threads finish the queue (empty: no hub is left), then end */
    pthread_cond_broadcast(&eryx__cb_pool.work);
    worker *all = eryx__threads_take(&eryx__cb_pool.workers, true);
    pthread_mutex_unlock(&eryx__cb_pool.lock);
    eryx__threads_join(all);
    pthread_mutex_lock(&eryx__cb_pool.lock);
    eryx__cb_pool.stopping = false;
    pthread_mutex_unlock(&eryx__cb_pool.lock);
}

int32_t eryx__cb_start(eryx__cb_hub *hub, const uint8_t *name, size_t name_len, const uint8_t *args, size_t args_len) {
    const eryx__cb_def *def = NULL;
    for (size_t i = 0; i < hub->ndefs && !def; i++)
        if (strlen(hub->defs[i].name) == name_len && !memcmp(hub->defs[i].name, name, name_len)) def = &hub->defs[i];
    if (!def) return ERYX__CB_UNKNOWN;
    if (args_len > hub->max_bytes) return ERYX__CB_TOO_LARGE;
    job *j = calloc(1, sizeof *j);
    if (!j || !(j->args = dup_bytes(args, args_len))) {
        free(j);
        return ERYX__CB_NO_MEMORY;
    }
    j->args_len = args_len;
    j->refs = 2;
    j->def = def;
    j->hub = hub;
    /* Only the executing thread (this one) sets the journal: read without the lock.
    ** The canonical form is made outside it (up to the payload limit of parsing). */
    if (hub->journal && !(j->canon = eryx__journal_canonical(j->args, args_len, &j->canon_len))) {
        job_free(j);
        return ERYX__CB_NO_MEMORY;
    }
    pthread_mutex_lock(&hub->lock);
    /* Over the limit, or the execution is suspended (the guest stops on return). */
    if ((hub->max_calls && hub->calls >= hub->max_calls) || atomic_load(&hub->suspended)) {
        pthread_mutex_unlock(&hub->lock);
        job_free(j);
        return ERYX__CB_LIMIT;
    }
    hub->calls++;
    j->id = hub->next_id++ & 0x3fffffff;
    j->deadline = hub->timeout_ns ? now_ns() + hub->timeout_ns : 0;
    j->next = hub->jobs;
    hub->jobs = j;
    bool ok = false;
    char *out = NULL;
    size_t out_len = 0;
    if (hub->journal &&
        eryx__journal_replay(hub->journal, def->name, j->canon, j->canon_len, &ok, &out, &out_len) == 1) {
        j->refs--; /* no thread: the outcome is the journal's */
        /* The journal's Ok and Err alike are bounded as a live call's outcome. */
        if (out_len > hub->max_bytes) {
            free(out);
            set_error(j, "callback %s returned %s more than the payload limit", ok ? "a result" : "an error");
        } else {
            j->out = out;
            j->out_len = out_len;
            j->state = ok ? JOB_DONE : JOB_ERROR;
        }
    } else if (hub->journal && !eryx__journal_has_room(hub->journal)) {
        j->refs--;
        set_error(j, "callback %s was not called: %s", "the journal is full (ERYX_JOURNAL_MAX_BYTES, _MAX_ENTRIES)");
    } else {
        atomic_fetch_add(&hub->refs, 1);
        if (dispatch(j) != 0) {
            atomic_fetch_sub(&hub->refs, 1);
            j->refs--; /* no thread */
            set_error(j, "callback %s could not start: %s", "no thread available");
        }
    }
    int32_t id = j->id;
    pthread_mutex_unlock(&hub->lock);
    return id;
}

/* Waits on the hub's condition (its lock held) until woken, or until the slice or
** end passes, whichever is first. */
static void wait_slice(eryx__cb_hub *hub, uint64_t now, uint64_t end) {
    uint64_t wake = now + WAIT_SLICE_NS < end ? now + WAIT_SLICE_NS : end;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* pthread_cond_timedwait's default clock */
    uint64_t rel = wake - now, abs_ns = (uint64_t)ts.tv_nsec + rel;
    ts.tv_sec += (time_t)(abs_ns / 1000000000u);
    ts.tv_nsec = (long)(abs_ns % 1000000000u);
    pthread_cond_timedwait(&hub->done, &hub->lock, &ts);
}

void eryx__cb_hub_drain(eryx__cb_hub *hub, bool (*stop)(void *), void *stop_user) {
    pthread_mutex_lock(&hub->lock);
    for (;;) {
        uint64_t now = now_ns();
        bool busy = false;
        for (job *j = hub->jobs; j && !busy; j = j->next)
            busy = j->state == JOB_RUNNING && !j->abandoned && (!j->deadline || now < j->deadline);
        if (!busy || (stop && stop(stop_user))) break;
        wait_slice(hub, now, UINT64_MAX);
    }
    pthread_mutex_unlock(&hub->lock);
}

int32_t eryx__cb_wait(eryx__cb_hub *hub, int32_t timeout_ms, bool (*stop)(void *), void *stop_user) {
    uint64_t end = timeout_ms < 0 ? UINT64_MAX : now_ns() + (uint64_t)timeout_ms * 1000000u;
    pthread_mutex_lock(&hub->lock);
    for (;;) {
        uint64_t now = now_ns();
        for (job *j = hub->jobs; j; j = j->next) {
            if (j->announced) continue;
            if (j->state == JOB_RUNNING && j->deadline && now >= j->deadline) {
                char ms[32];
                snprintf(ms, sizeof ms, "%llu ms", (unsigned long long)(hub->timeout_ns / 1000000u));
                set_error(j, "callback %s did not answer within %s", ms);
                j->abandoned = true; /* its late result is dropped */
            }
            if (j->state != JOB_RUNNING) {
                j->announced = true;
                int32_t id = j->id;
                pthread_mutex_unlock(&hub->lock);
                return id;
            }
        }
        if (now >= end || (stop && stop(stop_user))) break;
        wait_slice(hub, now, end);
    }
    pthread_mutex_unlock(&hub->lock);
    return -1;
}

static job *find_announced(eryx__cb_hub *hub, int32_t id, job ***link) {
    for (job **p = &hub->jobs; *p; p = &(*p)->next)
        if ((*p)->id == id && (*p)->announced) {
            if (link) *link = p;
            return *p;
        }
    return NULL;
}

int32_t eryx__cb_len(eryx__cb_hub *hub, int32_t id) {
    pthread_mutex_lock(&hub->lock);
    job *j = find_announced(hub, id, NULL);
    int32_t n = j ? (int32_t)j->out_len : -1;
    pthread_mutex_unlock(&hub->lock);
    return n;
}

int32_t eryx__cb_take(eryx__cb_hub *hub, int32_t id, uint8_t *buf, size_t cap) {
    pthread_mutex_lock(&hub->lock);
    job **link = NULL;
    job *j = find_announced(hub, id, &link);
    int32_t kind = -1;
    if (j) {
        kind = j->state == JOB_DONE ? 0 : 1;
        if (j->out) memcpy(buf, j->out, j->out_len < cap ? j->out_len : cap);
        *link = j->next;
        job_unref(j);
    }
    pthread_mutex_unlock(&hub->lock);
    return kind;
}

char *eryx__cb_describe(const eryx__cb_def *defs, size_t ndefs) {
    json_t *list = json_array();
    for (size_t i = 0; list && i < ndefs; i++) {
        json_error_t e;
        json_t *schema = json_loads(defs[i].schema ? defs[i].schema : "{}", 0, &e);
        json_t *item =
            json_pack("{s:s, s:s, s:o}", "name", defs[i].name, "description",
                      defs[i].description ? defs[i].description : "", "parameters", schema ? schema : json_object());
        if (!item || json_array_append_new(list, item) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    char *text = list ? json_dumps(list, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(list);
    return text;
}

void eryx__cb_suspension_clear(eryx__cb_suspension *susp) {
    free(susp->name);
    free(susp->args);
    free(susp->reason);
    *susp = (eryx__cb_suspension){0};
}
