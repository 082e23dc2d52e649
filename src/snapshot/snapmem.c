/* Snapshot images in sealed memfds, and the memory creator; see snapmem.h. */
#define _GNU_SOURCE /* memfd_create, F_ADD_SEALS */
#include "snapmem.h"
#include "../common/process_state.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define WASM_PAGE 65536u
#define CHUNK 65536u /* zero chunks of this size stay holes in the memfd */
#define HOST_PAGE 4096u
/* Memories kept per image for reuse (each holds the pages its instances wrote, as
** private copies of the image's bytes). */
#define POOL_MAX 32

/* One linear memory: a reservation of `reserved` bytes plus a guard region, all
** PROT_NONE except the first `size` bytes. The base never moves. */
typedef struct eryx__snapmem_mem {
    uint8_t *base;
    size_t size, reserved, guard;
    eryx__snapimg *img;             /* the image it started from (a reference), or NULL */
    struct eryx__snapmem_mem *next; /* in the image's pool */
    bool transient;                 /* unmapped when dropped, never pooled (eryx__snapmem_arm_transient) */
    bool lost;                      /* never touched again (eryx__snapmem_discard) */
    eryx__memcap *cap;              /* its store's cap (eryx__snapmem_arm_cap), or NULL */
    /* With an image: one bit per 4 KiB page of it. hot: the pages a reset keeps
    ** private (reset_to_image); learn: scratch for the next hot set. */
    uint64_t *hot, *learn;
    size_t nhot; /* pages in hot */
    /* prom: pages kept because heavy lives wrote them twice in a row (kept while
    ** each heavy reset finds them written); prev: the other pages the last heavy
    ** life wrote; prom2, prev2: scratch for the next ones. */
    uint64_t *prom, *prev, *prom2, *prev2;
    /* USE_PARKED: idle (eryx__snapmem_park), in the trimmer's queue since parked_ns;
    ** USE_TRIMMING: taken out of it by the trimmer. Only the owner parks a memory,
    ** so an owner that reads USE_OWNED needs no lock. */
    atomic_int use;
    uint64_t parked_ns;
    struct eryx__snapmem_mem *qprev, *qnext;
} linear;

struct eryx__snapimg {
    atomic_uint refs;
    int fd;
    size_t size;
    const uint8_t *view;  /* a read-only mapping of the image: the bytes a reset restores */
    pthread_mutex_t lock; /* guards pool */
    linear *pool;         /* memories reset to the image, ready for a new instance */
    unsigned npool;
    atomic_size_t least_written; /* the fewest written pages a reset of one of its memories found */
};

/* The message names errno; err may be NULL. */
static void set_err(eryx__errbuf *err, eryx_status status, const char *what) {
    if (err) eryx__fail(err, status, "%s: %s", what, strerror(errno));
}

static int chunk_is_zero(const uint8_t *p) { return p[0] == 0 && memcmp(p, p + 1, CHUNK - 1) == 0; }

eryx__snapimg *eryx__snapimg_begin(size_t len, eryx__errbuf *err) {
    if (len == 0 || len % WASM_PAGE) {
        errno = EINVAL;
        set_err(err, ERYX_ERR_INVALID_ARGUMENT, "a snapshot image must be whole 64 KiB pages");
        return NULL;
    }
    eryx__snapimg *img = calloc(1, sizeof *img);
    if (!img) {
        set_err(err, ERYX_ERR_NO_MEMORY, "no memory for a snapshot image");
        return NULL;
    }
    atomic_init(&img->refs, 1);
    atomic_init(&img->least_written, SIZE_MAX);
    img->size = len;
    img->fd = memfd_create("eryx-snapshot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (img->fd < 0) {
        set_err(err, ERYX_ERR_IO, "memfd_create for a snapshot image");
        free(img);
        return NULL;
    }
    if (ftruncate(img->fd, (off_t)len) != 0) {
        set_err(err, ERYX_ERR_IO, "sizing a snapshot image's memfd");
        eryx__snapimg_abandon(img);
        return NULL;
    }
    return img;
}

int eryx__snapimg_write(eryx__snapimg *img, size_t off, const uint8_t *data, size_t n, eryx__errbuf *err) {
    if (off % CHUNK || off > img->size || n > img->size - off || (n % CHUNK && off + n != img->size)) {
        errno = EINVAL;
        set_err(err, ERYX_ERR_INVALID_ARGUMENT, "a snapshot image write outside the image or not in 64 KiB chunks");
        return -1;
    }
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t len = n - at < CHUNK ? n - at : CHUNK;
        if (len == CHUNK && chunk_is_zero(data + at)) continue;
        for (size_t done = 0; done < len;) {
            ssize_t w = pwrite(img->fd, data + at + done, len - done, (off_t)(off + at + done));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                set_err(err, ERYX_ERR_IO, "writing a snapshot image to its memfd");
                return -1;
            }
            done += (size_t)w;
        }
    }
    return 0;
}

void eryx__snapimg_abandon(eryx__snapimg *img) {
    if (!img) return;
    close(img->fd);
    free(img);
}

eryx__snapimg *eryx__snapimg_seal(eryx__snapimg *img, eryx__errbuf *err) {
    /* Sealed: nobody (this process included) can change it any more, so every
    ** private mapping of it starts from the same bytes. */
    /* F_SEAL_WRITE fails with EBUSY while the kernel still holds a transient
    ** reference on a page just written (e.g. in another CPU's LRU batch after the
    ** thread moved); it clears within milliseconds, so retry for up to ~100 ms. */
    int sealed = -1;
    for (int attempt = 0; attempt < 100 && sealed != 0; attempt++) {
        sealed = fcntl(img->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
        if (sealed != 0 && errno != EBUSY) break;
        if (sealed != 0) nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
    void *view = sealed == 0 ? mmap(NULL, img->size, PROT_READ, MAP_SHARED, img->fd, 0) : MAP_FAILED;
    if (view == MAP_FAILED) { /* errno is fcntl's or mmap's: nanosleep leaves it alone on success */
        set_err(err, ERYX_ERR_IO, "sealing a snapshot image's memfd");
        eryx__snapimg_abandon(img);
        return NULL;
    }
    img->view = view;
    pthread_mutex_init(&img->lock, NULL);
    return img;
}

eryx__snapimg *eryx__snapimg_new(const uint8_t *mem, size_t len, eryx__errbuf *err) {
    eryx__snapimg *img = eryx__snapimg_begin(len, err);
    if (!img) return NULL;
    if (eryx__snapimg_write(img, 0, mem, len, err) != 0) {
        eryx__snapimg_abandon(img);
        return NULL;
    }
    return eryx__snapimg_seal(img, err);
}

void eryx__snapimg_retain(eryx__snapimg *img) { atomic_fetch_add(&img->refs, 1); }

static void linear_destroy(linear *m) {
    eryx__snapmem_unpark(m);
    munmap(m->base, m->reserved + m->guard);
    free(m->hot);
    free(m->learn);
    free(m->prom);
    free(m->prev);
    free(m->prom2);
    free(m->prev2);
    free(m);
}

void eryx__snapimg_release(eryx__snapimg *img) {
    if (!img || atomic_fetch_sub(&img->refs, 1) != 1) return;
    for (linear *m = img->pool, *next; m; m = next) {
        next = m->next;
        linear_destroy(m);
    }
    pthread_mutex_destroy(&img->lock);
    munmap((void *)img->view, img->size);
    close(img->fd);
    free(img);
}

size_t eryx__snapimg_size(const eryx__snapimg *img) { return img->size; }
const uint8_t *eryx__snapimg_view(const eryx__snapimg *img) { return img->view; }

/* ---- the memory creator ---------------------------------------------------------- */

static _Thread_local const eryx__snapimg *armed;
static _Thread_local linear *last_made; /* eryx__snapmem_last */
static _Thread_local bool armed_transient;
static _Thread_local eryx__memcap *armed_cap;

void eryx__snapmem_arm(const eryx__snapimg *img) { armed = img, armed_transient = false; }
void eryx__snapmem_arm_transient(const eryx__snapimg *img) { armed = img, armed_transient = true; }
void eryx__snapmem_arm_cap(eryx__memcap *cap) { armed_cap = cap; }

static uint8_t *lin_get(void *env, size_t *size, size_t *capacity) {
    linear *m = env;
    *size = m->size;
    *capacity = m->reserved;
    return m->base;
}

static wasmtime_error_t *lin_grow(void *env, size_t new_size) {
    linear *m = env;
    if (new_size <= m->size) return NULL;
    if (m->cap && m->cap->max && new_size > m->cap->max) {
        m->cap->refused++; /* wasmtime turns the error into memory.grow's -1 */
        return wasmtime_error_new("eryx: linear memory past the sandbox's memory limit");
    }
    if (new_size > m->reserved) return wasmtime_error_new("eryx: linear memory past its reservation");
    if (mprotect(m->base + m->size, new_size - m->size, PROT_READ | PROT_WRITE) != 0)
        return wasmtime_error_new("eryx: cannot grow linear memory (mprotect failed)");
    m->size = new_size;
    return NULL;
}

/*
** Resetting a memory to its image without changing any mapping in the common case
** (an munmap or an madvise costs a TLB shootdown on every CPU running one of the
** process's threads, and a page fault here costs far more than a 4 KiB
** copy): the kernel's page map (/proc/self/pagemap) says which pages of the image
** range are private copies, i.e. were written (or are swapped out). Pages still
** mapping the image's own pages hold its bytes. Memory the guest grew past the
** image is dropped. Returns 0, or -1 when the page map cannot be read (the memory
** is then unmapped instead: never reused unverified).
**
** Which written pages stay private (their bytes copied back) and which are given
** back (MADV_DONTNEED: the page maps the image's page cache again, shared, at the
** cost of a fault when next touched): a copied-back page stays resident in the
** memory, so an idle sandbox would hold every page any of its executions wrote,
** and every later reset would copy them all again (after one execute importing 10
** modules ~1,200 pages: 4.7 MiB per sandbox, and `pass` 3x slower, for good). So
** each memory keeps a *hot set*: the pages left private by its last light reset.
** A reset is light when at most light_bound() pages were written: twice the fewest
** any reset of the image found (a restore alone, or a restore and a small
** execute: ~40-100 pages) plus a margin. A light reset copies back all it finds
** and learns them as the hot set; a heavier one copies back only the hot pages and
** gives the others back, in runs of adjacent pages, unless the heavy life before
** it wrote them too: a repeated heavy execute (the same imports every time) keeps
** its pages ("promoted"), while each heavy reset finds them written (their bytes
** differ from the image's), instead of faulting them in again every time. So a run
** of small executes takes no page faults and no madvise, a one-off heavy execute
** leaves nothing behind, and what an idle memory still keeps, a thread gives back
** later (eryx__snapmem_park, below). docs/SNAPSHOT.md has the figures.
*/
#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)
#define PM_FILE (1ull << 61) /* a page-cache page: here, the image's own */

/* The process's page map, and a pidfd of the process for process_madvise (-1 if
** the kernel has none); both name the opener: opened again in a forked child. */
typedef struct {
    int pagemap, pidfd;
} proc_fds;

ERYX__PROCESS_STATE static struct {
    pthread_mutex_t lock;
    proc_fds fds;
    pid_t pid; /* at open time */
} eryx__pagemap = {PTHREAD_MUTEX_INITIALIZER, {-1, -1}, 0};

static void close_fds(void) {
    if (eryx__pagemap.fds.pagemap >= 0) close(eryx__pagemap.fds.pagemap);
    if (eryx__pagemap.fds.pidfd >= 0) close(eryx__pagemap.fds.pidfd);
    eryx__pagemap.fds = (proc_fds){-1, -1};
}

static proc_fds process_fds(void) {
    pthread_mutex_lock(&eryx__pagemap.lock);
    pid_t pid = getpid();
    if (eryx__pagemap.fds.pagemap >= 0 && eryx__pagemap.pid != pid) close_fds();
    if (eryx__pagemap.fds.pagemap < 0) {
        eryx__pagemap.fds.pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        eryx__pagemap.fds.pidfd = (int)syscall(SYS_pidfd_open, pid, 0); /* close-on-exec by default */
        eryx__pagemap.pid = pid;
    }
    proc_fds fds = eryx__pagemap.fds;
    pthread_mutex_unlock(&eryx__pagemap.lock);
    return fds;
}

static void trimmer_shutdown(void);

void eryx__snapmem_shutdown(void) {
    trimmer_shutdown();
    pthread_mutex_lock(&eryx__pagemap.lock);
    close_fds();
    pthread_mutex_unlock(&eryx__pagemap.lock);
}

/* light_bound(): 2 x the image's fewest written pages + KEEP_SLACK, at most
** KEEP_CAP (2 MiB: a start state whose restore writes more is not one to keep). */
#define KEEP_SLACK ERYX__SNAPMEM_KEEP_SLACK
#define KEEP_CAP 512
/* ...and at least KEEP_FLOOR (1 MiB): a restore and `pass` write ~120 pages with the
** default start state; a bound near that made lives after unusual ones (a session
** restore's) heavy, and their pages fault in again and again (24 faults per first
** execute in eryx bench). The trimmer gives back what idle memories keep. */
#define KEEP_FLOOR 256

static size_t light_bound(const eryx__snapimg *img) {
    size_t least = atomic_load_explicit(&img->least_written, memory_order_relaxed);
    size_t bound = least > (KEEP_CAP - KEEP_SLACK) / 2 ? KEEP_CAP : 2 * least + KEEP_SLACK;
    return bound < KEEP_FLOOR ? KEEP_FLOOR : bound;
}

#define BIT(map, i) (((map)[(i) / 64] >> ((i) % 64)) & 1)

/* Pages to give back, gathered into runs of adjacent pages, and the runs into
** batches for one process_madvise call each: one TLB flush (so one shootdown
** interrupt per other CPU) per batch instead of per run (Linux >= 6.16 batches
** them; ~3x faster than a madvise per run here). Older kernels refuse
** MADV_DONTNEED there: a madvise per run then. */
#define GIVEBACK_BATCH 128

typedef struct {
    uint8_t *base;
    size_t start, end; /* the pending run, page numbers; empty when start == end */
    struct iovec runs[GIVEBACK_BATCH];
    size_t nruns, bytes;
    int pidfd, failed;
} giveback;

static void giveback_send(giveback *g) {
    if (!g->nruns) return;
    if (g->pidfd < 0 || syscall(SYS_process_madvise, g->pidfd, g->runs, g->nruns, MADV_DONTNEED, 0) != (long)g->bytes)
        for (size_t i = 0; i < g->nruns; i++) /* again is harmless for the runs it did */
            if (madvise(g->runs[i].iov_base, g->runs[i].iov_len, MADV_DONTNEED) != 0) g->failed = 1;
    g->nruns = g->bytes = 0;
}

/* Adds the pending run to the batch. */
static void giveback_close(giveback *g) {
    if (g->end == g->start) return;
    if (g->nruns == GIVEBACK_BATCH) giveback_send(g);
    g->runs[g->nruns++] = (struct iovec){g->base + g->start * HOST_PAGE, (g->end - g->start) * HOST_PAGE};
    g->bytes += (g->end - g->start) * HOST_PAGE;
    g->start = g->end = 0;
}

/* Pages come in ascending order. */
static void giveback_page(giveback *g, size_t page) {
    if (g->end != page || g->end == g->start) {
        giveback_close(g);
        g->start = page;
    }
    g->end = page + 1;
}

static void giveback_finish(giveback *g) {
    giveback_close(g);
    giveback_send(g);
}

static int reset_to_image(linear *m) {
    const eryx__snapimg *img = m->img;
    proc_fds fds = process_fds();
    int fd = fds.pagemap;
    if (fd < 0) return -1;
    if (m->size > img->size) {
        if (madvise(m->base + img->size, m->size - img->size, MADV_DONTNEED) != 0 ||
            mprotect(m->base + img->size, m->size - img->size, PROT_NONE) != 0)
            return -1;
        m->size = img->size;
    }
    size_t npages = img->size / HOST_PAGE, words = (npages + 63) / 64;
    /* Written pages outside the hot set: copied back (and learned) if at most
    ** light_bound() pages were written in all, else given back. A hot set larger
    ** than the bound (learned before a smaller reset lowered it) counts as cold. */
    size_t bound = light_bound(img);
    /* Or the memory's own hot set and the margin (a reset of another memory that
    ** found few pages written must not make this one's usual life heavy). */
    if (m->nhot + KEEP_SLACK > bound) bound = m->nhot + KEEP_SLACK < KEEP_CAP ? m->nhot + KEEP_SLACK : KEEP_CAP;
    uint32_t cold[KEEP_CAP];
    size_t written = 0, ncold = 0;
    bool use_hot = m->nhot <= bound;
    bool heavy = false;
    giveback g = {.base = m->base, .pidfd = fds.pidfd};
    memset(m->learn, 0, words * sizeof *m->learn);
    memset(m->prom2, 0, words * sizeof *m->prom2);
    memset(m->prev2, 0, words * sizeof *m->prev2);
    uint64_t entries[512];
    for (size_t first = 0; first < npages; first += 512) {
        size_t n = npages - first < 512 ? npages - first : 512;
        off_t at = (off_t)(((uintptr_t)m->base / HOST_PAGE + first) * sizeof(uint64_t));
        if (pread(fd, entries, n * sizeof(uint64_t), at) != (ssize_t)(n * sizeof(uint64_t))) return -1;
        for (size_t i = 0; i < n; i++) {
            uint64_t e = entries[i];
            if (!(((e & PM_PRESENT) && !(e & PM_FILE)) || (e & PM_SWAPPED))) continue;
            size_t page = first + i, off = page * HOST_PAGE;
            written++;
            m->learn[page / 64] |= 1ull << (page % 64);
            if (use_hot && BIT(m->hot, page)) {
                memcpy(m->base + off, img->view + off, HOST_PAGE);
            } else if (BIT(m->prom, page)) { /* kept while written: its bytes say */
                if (memcmp(m->base + off, img->view + off, HOST_PAGE) != 0) {
                    memcpy(m->base + off, img->view + off, HOST_PAGE);
                    m->prom2[page / 64] |= 1ull << (page % 64);
                } else {
                    giveback_page(&g, page);
                }
            } else if (BIT(m->prev, page)) { /* written by this heavy life and the last: kept */
                memcpy(m->base + off, img->view + off, HOST_PAGE);
                m->prom2[page / 64] |= 1ull << (page % 64);
            } else if (!heavy && ncold < bound) {
                cold[ncold++] = (uint32_t)page;
            } else {
                if (!heavy) /* more than bound written: the cold pages listed so far go back first */
                    for (size_t k = 0; k < ncold; k++) giveback_page(&g, cold[k]);
                heavy = true;
                giveback_page(&g, page);
                m->prev2[page / 64] |= 1ull << (page % 64);
            }
        }
    }
    /* The image's fewest (racing resets may lose a lower figure: harmless). */
    if (written < atomic_load_explicit(&m->img->least_written, memory_order_relaxed))
        atomic_store_explicit(&m->img->least_written, written, memory_order_relaxed);
    if (written <= bound) { /* light: all copied back; they are the hot set now */
        for (size_t k = 0; k < ncold; k++)
            memcpy(m->base + (size_t)cold[k] * HOST_PAGE, img->view + (size_t)cold[k] * HOST_PAGE, HOST_PAGE);
        uint64_t *t = m->hot;
        m->hot = m->learn;
        m->learn = t;
        m->nhot = written;
        memset(m->prom, 0, words * sizeof *m->prom); /* all in hot now */
        memset(m->prev, 0, words * sizeof *m->prev);
        return 0;
    }
    for (size_t k = 0; k < ncold; k++) { /* heavy: the cold pages listed go back (written once so far) */
        if (!heavy) giveback_page(&g, cold[k]);
        m->prev2[cold[k] / 64] |= 1ull << (cold[k] % 64);
    }
    giveback_finish(&g);
    uint64_t *t = m->prom;
    m->prom = m->prom2, m->prom2 = t;
    t = m->prev;
    m->prev = m->prev2, m->prev2 = t;
    if (!use_hot) { /* all given back: nothing is hot */
        memset(m->hot, 0, words * sizeof *m->hot);
        m->nhot = 0;
    }
    return g.failed ? -1 : 0;
}

/* ---- idle memories give their copies back ------------------------------------------ */
/*
** A reset keeps a memory's hot set private so that back-to-back executes take no
** page faults; an idle sandbox then holds all of it (~100 pages for the default
** start state), more than a new sandbox does (what its restore wrote: ~60). So a
** sandbox parks its memory when it goes idle (eryx__snapmem_park, at the end of an
** execute) and unparks it before it runs guest code again, and one thread
** ("eryx-trim") gives back, in memories parked for TRIM_DELAY_MS, the private pages
** that hold the image's bytes (copied back by a reset and not written since): what
** is left is what the restore wrote, a new sandbox's level. Pooled memories are
** parked too (all their pages then go back). A sandbox that comes back during a
** trim waits for it (tens of microseconds); one used again within the delay never
** sees the trimmer. The thread sleeps while no memory is parked.
*/
#define TRIM_DELAY_MS ERYX__SNAPMEM_TRIM_DELAY_MS
enum { USE_OWNED, USE_PARKED, USE_TRIMMING };

ERYX__PROCESS_STATE static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake, done; /* wake: the queue or stopping changed; done: a trim ended */
    linear *head, *tail;       /* parked memories, in parking order */
    bool started, stopping;    /* started: the thread exists (joined by eryx__snapmem_shutdown) */
    bool waiting;              /* the thread waits with no deadline (the queue was empty) */
    pthread_t thread;
    uint64_t delay_ns;
} eryx__trim = {PTHREAD_MUTEX_INITIALIZER,
                PTHREAD_COND_INITIALIZER,
                PTHREAD_COND_INITIALIZER,
                NULL,
                NULL,
                false,
                false,
                false,
                (pthread_t)0,
                (uint64_t)TRIM_DELAY_MS * 1000000u};

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Under eryx__trim.lock. */
static void queue_unlink(linear *m) {
    if (m->qprev) m->qprev->qnext = m->qnext;
    else eryx__trim.head = m->qnext;
    if (m->qnext) m->qnext->qprev = m->qprev;
    else eryx__trim.tail = m->qprev;
    m->qprev = m->qnext = NULL;
}

/* Gives back the private pages of m's image range that hold the image's bytes. */
static void trim(linear *m) {
    const eryx__snapimg *img = m->img;
    proc_fds fds = process_fds();
    if (fds.pagemap < 0) return;
    giveback g = {.base = m->base, .pidfd = fds.pidfd};
    size_t npages = (m->size < img->size ? m->size : img->size) / HOST_PAGE;
    uint64_t entries[512];
    for (size_t first = 0; first < npages; first += 512) {
        size_t n = npages - first < 512 ? npages - first : 512;
        off_t at = (off_t)(((uintptr_t)m->base / HOST_PAGE + first) * sizeof(uint64_t));
        if (pread(fds.pagemap, entries, n * sizeof(uint64_t), at) != (ssize_t)(n * sizeof(uint64_t))) break;
        for (size_t i = 0; i < n; i++) {
            size_t off = (first + i) * HOST_PAGE;
            if ((entries[i] & PM_PRESENT) && !(entries[i] & PM_FILE) &&
                memcmp(m->base + off, img->view + off, HOST_PAGE) == 0)
                giveback_page(&g, first + i);
        }
    }
    giveback_finish(&g); /* a failure leaves pages private: nothing else */
}

static void *trimmer_main(void *arg) {
    (void)arg;
    prctl(PR_SET_NAME, "eryx-trim"); /* eryx's threads are named eryx-*: tests look for them */
    pthread_mutex_lock(&eryx__trim.lock);
    while (!eryx__trim.stopping) {
        linear *m = eryx__trim.head;
        if (!m) {
            eryx__trim.waiting = true;
            pthread_cond_wait(&eryx__trim.wake, &eryx__trim.lock);
            eryx__trim.waiting = false;
            continue;
        }
        uint64_t now = now_ns(), due = m->parked_ns + eryx__trim.delay_ns;
        if (now < due) { /* the condition variable's clock is CLOCK_REALTIME */
            struct timespec at;
            clock_gettime(CLOCK_REALTIME, &at);
            uint64_t ns = (uint64_t)at.tv_nsec + (due - now);
            at.tv_sec += (time_t)(ns / 1000000000u);
            at.tv_nsec = (long)(ns % 1000000000u);
            pthread_cond_timedwait(&eryx__trim.wake, &eryx__trim.lock, &at);
            continue;
        }
        queue_unlink(m);
        atomic_store(&m->use, USE_TRIMMING);
        pthread_mutex_unlock(&eryx__trim.lock);
        trim(m);
        pthread_mutex_lock(&eryx__trim.lock);
        atomic_store(&m->use, USE_OWNED); /* trimmed: the owner unparks it */
        pthread_cond_broadcast(&eryx__trim.done);
    }
    pthread_mutex_unlock(&eryx__trim.lock);
    return NULL;
}

eryx__snapmem_mem *eryx__snapmem_last(void) {
    linear *m = last_made;
    last_made = NULL;
    return m;
}

void eryx__snapmem_discard(eryx__snapmem_mem *m) {
    if (m) m->lost = m->transient = true;
}

void eryx__snapmem_park(eryx__snapmem_mem *m) {
    if (!m || m->lost) return;
    pthread_mutex_lock(&eryx__trim.lock);
    if (!eryx__trim.started && !eryx__trim.stopping)
        eryx__trim.started = pthread_create(&eryx__trim.thread, NULL, trimmer_main, NULL) == 0;
    if (eryx__trim.started && !eryx__trim.stopping && atomic_load(&m->use) == USE_OWNED) {
        atomic_store(&m->use, USE_PARKED);
        m->parked_ns = now_ns();
        m->qprev = eryx__trim.tail;
        if (eryx__trim.tail) eryx__trim.tail->qnext = m;
        else eryx__trim.head = m;
        eryx__trim.tail = m;
        /* A memory parked later is due later: a timed wait for the head needs no
        ** wake-up (that would be a context switch per execute). */
        if (eryx__trim.waiting) pthread_cond_signal(&eryx__trim.wake);
    }
    pthread_mutex_unlock(&eryx__trim.lock);
}

void eryx__snapmem_unpark(eryx__snapmem_mem *m) {
    if (!m || atomic_load(&m->use) == USE_OWNED) return; /* the common case: no lock */
    pthread_mutex_lock(&eryx__trim.lock);
    while (atomic_load(&m->use) == USE_TRIMMING) pthread_cond_wait(&eryx__trim.done, &eryx__trim.lock);
    if (atomic_load(&m->use) == USE_PARKED) queue_unlink(m);
    atomic_store(&m->use, USE_OWNED);
    pthread_mutex_unlock(&eryx__trim.lock);
}

void eryx__snapmem_set_trim_delay_ms(unsigned ms) {
    pthread_mutex_lock(&eryx__trim.lock);
    eryx__trim.delay_ns = (uint64_t)ms * 1000000u;
    pthread_cond_signal(&eryx__trim.wake);
    pthread_mutex_unlock(&eryx__trim.lock);
}

/* Ends the trimmer (joined); parked memories stay parked, trimmed by the next
** thread a park starts. */
static void trimmer_shutdown(void) {
    pthread_mutex_lock(&eryx__trim.lock);
    bool started = eryx__trim.started;
    eryx__trim.stopping = true;
    pthread_cond_broadcast(&eryx__trim.wake);
    pthread_mutex_unlock(&eryx__trim.lock);
    if (started) pthread_join(eryx__trim.thread, NULL);
    pthread_mutex_lock(&eryx__trim.lock);
    eryx__trim.started = eryx__trim.stopping = false;
    eryx__trim.delay_ns = (uint64_t)TRIM_DELAY_MS * 1000000u;
    pthread_mutex_unlock(&eryx__trim.lock);
}

/* A dropped instance's memory: reset and pooled for the next instance of the same
** image, or unmapped. */
static void lin_free(void *env) {
    linear *m = env;
    eryx__snapimg *img = m->img;
    eryx__snapmem_unpark(m); /* out of the trimmer's reach first */
    m->cap = NULL;           /* the store's, which is going */
    if (!img) {
        linear_destroy(m);
        return;
    }
    int pooled = 0;
    if (!m->transient && m->hot && reset_to_image(m) == 0) {
        /* A spare: its pages go back if nobody takes it. Parked before it is in the
        ** pool, where another thread may take (and unpark) it at once. */
        eryx__snapmem_park(m);
        pthread_mutex_lock(&img->lock);
        if (img->npool < POOL_MAX) {
            m->next = img->pool;
            img->pool = m;
            img->npool++;
            pooled = 1;
        }
        pthread_mutex_unlock(&img->lock);
    }
    if (!pooled) linear_destroy(m);
    eryx__snapimg_release(img); /* a pooled memory holds no reference: the image's last release frees the pool */
}

static wasmtime_error_t *new_memory(void *env, const wasm_memorytype_t *ty, size_t minimum, size_t maximum,
                                    size_t reserved, size_t guard, wasmtime_linear_memory_t *out) {
    (void)env, (void)ty, (void)maximum;
    eryx__snapimg *img = (eryx__snapimg *)armed;
    bool transient = armed_transient;
    eryx__memcap *cap = armed_cap;
    armed = NULL;
    armed_cap = NULL;
    last_made = NULL;
    /* The cap holds from the start: a memory larger than it is not made. */
    size_t first = img && img->size > minimum ? img->size : minimum;
    if (cap && cap->max && first > cap->max) {
        cap->refused++;
        return wasmtime_error_new("eryx: the memory's initial size is past the sandbox's memory limit");
    }
    if (img) { /* a memory reset to this image, if one is pooled */
        pthread_mutex_lock(&img->lock);
        linear *m = img->pool;
        if (m) {
            img->pool = m->next;
            img->npool--;
        }
        pthread_mutex_unlock(&img->lock);
        eryx__snapmem_unpark(m); /* NULL allowed */
        if (m && minimum > m->size && mprotect(m->base + m->size, minimum - m->size, PROT_READ | PROT_WRITE) != 0) {
            linear_destroy(m);
            m = NULL;
        }
        if (m) {
            if (minimum > m->size) m->size = minimum;
            m->next = NULL;
            m->img = img;
            m->transient = transient;
            m->cap = cap;
            eryx__snapimg_retain(img);
            last_made = transient ? NULL : m;
            *out = (wasmtime_linear_memory_t){m, lin_get, lin_grow, lin_free};
            return NULL;
        }
    }
    /* Always a 4 GiB reservation at least: a wasm32 memory then never moves. */
    if (reserved < ((size_t)4 << 30)) reserved = (size_t)4 << 30;
    size_t size = first;
    if (size > reserved) return wasmtime_error_new("eryx: the snapshot image is larger than a memory reservation");
    linear *m = calloc(1, sizeof *m);
    if (!m) return wasmtime_error_new("eryx: no memory for a linear memory");
    m->reserved = reserved;
    m->guard = guard;
    m->size = size;
    m->cap = cap;
    m->base = mmap(NULL, reserved + guard, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m->base == MAP_FAILED) {
        free(m);
        return wasmtime_error_new("eryx: cannot reserve address space for a linear memory");
    }
    /* No MADV_HUGEPAGE for the memory the guest grows into: tried, it made a numpy
    ** workload that grows memory ~20% faster at p50, but with Debian's THP defrag
    ** setting (madvise) one fault in 60 executes stalled 2.1 s in the kernel's
    ** direct compaction; a sandbox cannot take that (docs/BENCHMARKS.md). */
    int ok = 1;
    if (img) /* the image, copy-on-write; then zeros up to the minimum */
        ok = mmap(m->base, img->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, img->fd, 0) != MAP_FAILED &&
             (size == img->size || mprotect(m->base + img->size, size - img->size, PROT_READ | PROT_WRITE) == 0);
    else if (size) ok = mprotect(m->base, size, PROT_READ | PROT_WRITE) == 0;
    if (ok && img && !transient) { /* the hot set's bitmaps, for the resets (a transient memory has none) */
        size_t words = (img->size / HOST_PAGE + 63) / 64;
        uint64_t **maps[] = {&m->hot, &m->learn, &m->prom, &m->prev, &m->prom2, &m->prev2};
        for (size_t k = 0; k < sizeof maps / sizeof maps[0] && ok; k++) ok = (*maps[k] = calloc(words, 8)) != NULL;
    }
    if (!ok) {
        linear_destroy(m);
        return wasmtime_error_new("eryx: cannot map a linear memory");
    }
    if (img) {
        m->img = img;
        m->transient = transient;
        eryx__snapimg_retain(img);
        last_made = transient ? NULL : m;
    }
    *out = (wasmtime_linear_memory_t){m, lin_get, lin_grow, lin_free};
    return NULL;
}

void eryx__snapmem_install(wasm_config_t *config) {
    wasmtime_memory_creator_t creator = {NULL, new_memory, NULL};
    wasmtime_config_host_memory_creator_set(config, &creator); /* copied */
}

int eryx__snapmem_changed_pages(const uint8_t *base, size_t size, const eryx__snapimg *img, uint32_t **pages,
                                size_t *count) {
    *pages = NULL;
    *count = 0;
    size_t npages = size / HOST_PAGE, img_pages = img->size / HOST_PAGE, n = 0;
    uint32_t *list = malloc((npages ? npages : 1) * sizeof *list);
    int fd = process_fds().pagemap;
    if (!list || fd < 0) {
        free(list);
        return -1;
    }
    uint64_t entries[512];
    for (size_t first = 0; first < img_pages && first < npages; first += 512) {
        size_t k = img_pages - first < 512 ? img_pages - first : 512;
        off_t at = (off_t)(((uintptr_t)base / HOST_PAGE + first) * sizeof(uint64_t));
        if (pread(fd, entries, k * sizeof(uint64_t), at) != (ssize_t)(k * sizeof(uint64_t))) {
            free(list);
            return -1;
        }
        for (size_t i = 0; i < k; i++) {
            size_t off = (first + i) * HOST_PAGE;
            /* A private copy may still hold the image's bytes (a reset wrote them back). */
            if ((((entries[i] & PM_PRESENT) && !(entries[i] & PM_FILE)) || (entries[i] & PM_SWAPPED)) &&
                memcmp(base + off, img->view + off, HOST_PAGE) != 0)
                list[n++] = (uint32_t)(first + i);
        }
    }
    static const uint8_t zero[HOST_PAGE];
    for (size_t p = img_pages; p < npages; p++) /* grown past the image: its non-zero pages */
        if (memcmp(base + p * HOST_PAGE, zero, HOST_PAGE) != 0) list[n++] = (uint32_t)p;
    *pages = list;
    *count = n;
    return 0;
}

long eryx__snapmem_private_pages(const uint8_t *base, size_t size) {
    int fd = process_fds().pagemap;
    if (fd < 0) return -1;
    long count = 0;
    uint64_t entries[512];
    size_t npages = size / HOST_PAGE;
    for (size_t first = 0; first < npages; first += 512) {
        size_t n = npages - first < 512 ? npages - first : 512;
        off_t at = (off_t)(((uintptr_t)base / HOST_PAGE + first) * sizeof(uint64_t));
        if (pread(fd, entries, n * sizeof(uint64_t), at) != (ssize_t)(n * sizeof(uint64_t))) return -1;
        for (size_t i = 0; i < n; i++)
            count += ((entries[i] & PM_PRESENT) && !(entries[i] & PM_FILE)) || (entries[i] & PM_SWAPPED);
    }
    return count;
}
