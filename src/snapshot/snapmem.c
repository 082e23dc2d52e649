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
#include <unistd.h>

#define WASM_PAGE 65536u
#define CHUNK 65536u /* zero chunks of this size stay holes in the memfd */
#define HOST_PAGE 4096u
/* Memories kept per image for reuse (each holds the pages its instances wrote, as
** private copies of the image's bytes). */
#define POOL_MAX 32

/* One linear memory: a reservation of `reserved` bytes plus a guard region, all
** PROT_NONE except the first `size` bytes. The base never moves. */
typedef struct linear {
    uint8_t *base;
    size_t size, reserved, guard;
    eryx__snapimg *img;  /* the image it started from (a reference), or NULL */
    struct linear *next; /* in the image's pool */
    bool transient;      /* unmapped when dropped, never pooled (eryx__snapmem_arm_transient) */
} linear;

struct eryx__snapimg {
    atomic_uint refs;
    int fd;
    size_t size;
    const uint8_t *view;  /* a read-only mapping of the image: the bytes a reset restores */
    pthread_mutex_t lock; /* guards pool */
    linear *pool;         /* memories reset to the image, ready for a new instance */
    unsigned npool;
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
    munmap(m->base, m->reserved + m->guard);
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
static _Thread_local bool armed_transient;

void eryx__snapmem_arm(const eryx__snapimg *img) { armed = img, armed_transient = false; }
void eryx__snapmem_arm_transient(const eryx__snapimg *img) { armed = img, armed_transient = true; }

static uint8_t *lin_get(void *env, size_t *size, size_t *capacity) {
    linear *m = env;
    *size = m->size;
    *capacity = m->reserved;
    return m->base;
}

static wasmtime_error_t *lin_grow(void *env, size_t new_size) {
    linear *m = env;
    if (new_size <= m->size) return NULL;
    if (new_size > m->reserved) return wasmtime_error_new("eryx: linear memory past its reservation");
    if (mprotect(m->base + m->size, new_size - m->size, PROT_READ | PROT_WRITE) != 0)
        return wasmtime_error_new("eryx: cannot grow linear memory (mprotect failed)");
    m->size = new_size;
    return NULL;
}

/*
** Resetting a memory to its image without changing any mapping (an munmap or an
** madvise costs a TLB shootdown on every CPU running one of the process's threads,
** and a fresh mapping costs a page fault per page touched again): the kernel's
** page map (/proc/self/pagemap) says which pages of the image range are private
** copies, i.e. were written (or are swapped out); only those are copied back from
** the image. Pages still mapping the image's own pages hold its bytes. Memory the
** guest grew past the image is dropped. Returns 0, or -1 when the page map cannot
** be read or more than RESET_MAX_PAGES were written (the memory is then unmapped
** instead: never reused unverified, nor reused at a cost on every reset).
*/
#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)
#define PM_FILE (1ull << 61) /* a page-cache page: here, the image's own */

ERYX__PROCESS_STATE static struct {
    pthread_mutex_t lock;
    int fd;
    pid_t pid; /* /proc/self at open time: reopened in a forked child */
} eryx__pagemap = {PTHREAD_MUTEX_INITIALIZER, -1, 0};

static int pagemap_fd(void) {
    pthread_mutex_lock(&eryx__pagemap.lock);
    pid_t pid = getpid();
    if (eryx__pagemap.fd >= 0 && eryx__pagemap.pid != pid) {
        close(eryx__pagemap.fd);
        eryx__pagemap.fd = -1;
    }
    if (eryx__pagemap.fd < 0) {
        eryx__pagemap.fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        eryx__pagemap.pid = pid;
    }
    int fd = eryx__pagemap.fd;
    pthread_mutex_unlock(&eryx__pagemap.lock);
    return fd;
}

void eryx__snapmem_shutdown(void) {
    pthread_mutex_lock(&eryx__pagemap.lock);
    if (eryx__pagemap.fd >= 0) close(eryx__pagemap.fd);
    eryx__pagemap.fd = -1;
    pthread_mutex_unlock(&eryx__pagemap.lock);
}

/* Past this many written pages a memory is not kept: every later reset copies
** them all again (a written page stays a private copy after its bytes are put
** back). Below it, copying back is cheaper than faulting the pages in again in a
** new mapping (bench/archive/gc_freeze.c's workload, which writes several MiB, ran ~35%
** slower with the bound at 4 MiB). Memories that one-off work wrote all over (a
** snapshot's capture) are transient instead: never pooled. */
#define RESET_MAX_PAGES 16384 /* 64 MiB: a safety net; below it copying back beats faulting in again */

static int reset_to_image(linear *m) {
    const eryx__snapimg *img = m->img;
    int fd = pagemap_fd();
    if (fd < 0) return -1;
    size_t copied = 0;
    if (m->size > img->size) {
        if (madvise(m->base + img->size, m->size - img->size, MADV_DONTNEED) != 0 ||
            mprotect(m->base + img->size, m->size - img->size, PROT_NONE) != 0)
            return -1;
        m->size = img->size;
    }
    uint64_t entries[512];
    size_t npages = img->size / HOST_PAGE;
    for (size_t first = 0; first < npages; first += 512) {
        size_t n = npages - first < 512 ? npages - first : 512;
        off_t at = (off_t)(((uintptr_t)m->base / HOST_PAGE + first) * sizeof(uint64_t));
        if (pread(fd, entries, n * sizeof(uint64_t), at) != (ssize_t)(n * sizeof(uint64_t))) return -1;
        for (size_t i = 0; i < n; i++) {
            uint64_t e = entries[i];
            if (((e & PM_PRESENT) && !(e & PM_FILE)) || (e & PM_SWAPPED)) {
                if (++copied > RESET_MAX_PAGES) return -1; /* unmapped by the caller instead */
                size_t off = (first + i) * HOST_PAGE;
                memcpy(m->base + off, img->view + off, HOST_PAGE);
            }
        }
    }
    return 0;
}

/* A dropped instance's memory: reset and pooled for the next instance of the same
** image, or unmapped. */
static void lin_free(void *env) {
    linear *m = env;
    eryx__snapimg *img = m->img;
    if (!img) {
        linear_destroy(m);
        return;
    }
    int pooled = 0;
    if (!m->transient && reset_to_image(m) == 0) {
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
    armed = NULL;
    if (img) { /* a memory reset to this image, if one is pooled */
        pthread_mutex_lock(&img->lock);
        linear *m = img->pool;
        if (m) {
            img->pool = m->next;
            img->npool--;
        }
        pthread_mutex_unlock(&img->lock);
        if (m && minimum > m->size && mprotect(m->base + m->size, minimum - m->size, PROT_READ | PROT_WRITE) != 0) {
            linear_destroy(m);
            m = NULL;
        }
        if (m) {
            if (minimum > m->size) m->size = minimum;
            m->next = NULL;
            m->img = img;
            m->transient = transient;
            eryx__snapimg_retain(img);
            *out = (wasmtime_linear_memory_t){m, lin_get, lin_grow, lin_free};
            return NULL;
        }
    }
    /* Always a 4 GiB reservation at least: a wasm32 memory then never moves. */
    if (reserved < ((size_t)4 << 30)) reserved = (size_t)4 << 30;
    size_t size = img && img->size > minimum ? img->size : minimum;
    if (size > reserved) return wasmtime_error_new("eryx: the snapshot image is larger than a memory reservation");
    linear *m = calloc(1, sizeof *m);
    if (!m) return wasmtime_error_new("eryx: no memory for a linear memory");
    m->reserved = reserved;
    m->guard = guard;
    m->size = size;
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
    if (!ok) {
        linear_destroy(m);
        return wasmtime_error_new("eryx: cannot map a linear memory");
    }
    if (img) {
        m->img = img;
        m->transient = transient;
        eryx__snapimg_retain(img);
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
    int fd = pagemap_fd();
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
