/*
** Snapshot images and the memory creator that maps them (docs/SNAPSHOT.md).
**
** A snapshot image is the linear memory of a started guest (Python started, the
** chosen modules imported, the setup code run), held in a sealed memfd. Every
** instance restored from it gets that memory through eryx's memory creator, which
** wasmtime calls to make each instance's linear memory: the image is mapped
** MAP_PRIVATE, so its pages are shared by every instance in the process until one
** writes to a page (copy-on-write). The module instantiated over an image is
** "bare" (no data segments, no _initialize: wasm_image.h), compiled once per
** guest; a new image for a new configuration costs a capture, not a compile.
*/
#ifndef ERYX_SNAPMEM_H
#define ERYX_SNAPMEM_H
#include <stddef.h>
#include <stdint.h>
#include <wasmtime.h>
#include "../common/errbuf.h"

typedef struct eryx__snapimg eryx__snapimg;

/* Makes an image holding a copy of mem (len bytes, a multiple of 64 KiB; zero
** pages are left as holes). NULL with a message in err (may be NULL) when the
** memfd cannot be made (out of memory, or memfd_create refused). */
eryx__snapimg *eryx__snapimg_new(const uint8_t *mem, size_t len, eryx__errbuf *err);
/* The same in steps, for bytes that arrive in pieces (a cache file read in
** chunks): begin makes an empty image of len bytes (a multiple of 64 KiB); write
** copies n bytes at off (both multiples of 64 KiB, or n reaching the end), leaving
** zero chunks as holes, and returns 0 or -1; seal makes it read-only and usable
** (NULL on failure, img then freed); abandon frees an image that is not sealed.
** err may be NULL everywhere. */
eryx__snapimg *eryx__snapimg_begin(size_t len, eryx__errbuf *err);
int eryx__snapimg_write(eryx__snapimg *img, size_t off, const uint8_t *data, size_t n, eryx__errbuf *err);
eryx__snapimg *eryx__snapimg_seal(eryx__snapimg *img, eryx__errbuf *err);
void eryx__snapimg_abandon(eryx__snapimg *img); /* NULL allowed */
void eryx__snapimg_retain(eryx__snapimg *img);
void eryx__snapimg_release(eryx__snapimg *img); /* NULL allowed */
size_t eryx__snapimg_size(const eryx__snapimg *img);


/* The image's bytes (a read-only mapping, valid while img is). */
const uint8_t *eryx__snapimg_view(const eryx__snapimg *img);

/* Lists the 4 KiB pages of a live memory (base, size bytes) that an instance of
** img changed: in the image's range, pages the page map shows as written whose
** bytes differ from the image; past it, the non-zero pages. *pages is malloc'd
** (page numbers, ascending). Returns 0, or -1 (no memory, no page map). */
int eryx__snapmem_changed_pages(const uint8_t *base, size_t size, const eryx__snapimg *img, uint32_t **pages,
                                size_t *count);

/* A reset keeps private at most 2 x (the fewest pages any reset of the image
** found written) + this many written pages (a memory's hot set: snapmem.c's
** reset_to_image); the others go back to mapping the image. */
#define ERYX__SNAPMEM_KEEP_SLACK 32

/* How many 4 KiB pages of a live memory (base, size bytes, page-aligned) are
** private to it (written since mapped, or kept by a reset; swapped-out ones
** included): what it costs beyond the image's shared pages. -1 when the page map
** cannot be read. For the tests and eryx-bench. */
long eryx__snapmem_private_pages(const uint8_t *base, size_t size);

/* A memory the creator made from an image (opaque): what a sandbox parks while
** idle, so that the pages its resets kept private go back (snapmem.c, "idle
** memories give their copies back"). */
typedef struct eryx__snapmem_mem eryx__snapmem_mem;

/* The memory the calling thread's last creation made (or took from the pool), or
** NULL (not from an image, transient, or already taken); consumed. Call right
** after instantiating; valid until the instance's store is dropped. */
eryx__snapmem_mem *eryx__snapmem_last(void);

/* How long a parked memory waits before it is trimmed: a sandbox used again
** within it never pays for a trim (its next execute faults ~60 pages in again:
** ~0.5 ms here, docs/SNAPSHOT.md). */
#define ERYX__SNAPMEM_TRIM_DELAY_MS 10000

/* Marks m idle: after ERYX__SNAPMEM_TRIM_DELAY_MS, a thread gives back its private pages that
** hold the image's bytes. Until eryx__snapmem_unpark, its owner must not run guest
** code in it nor read or write it. Dropping its store unparks it. NULL allowed. */
void eryx__snapmem_park(eryx__snapmem_mem *m);

/* Marks m in use again (waits for a trim in progress to end). NULL allowed; an
** unparked memory stays as it is. */
void eryx__snapmem_unpark(eryx__snapmem_mem *m);

/* Marks m's pages as never to be touched again (an interrupt could not make them
** accessible again: src/common/guard.h): it is never parked (trimmed), and when
** its store drops it, it is unmapped, neither reset nor pooled. NULL allowed. */
void eryx__snapmem_discard(eryx__snapmem_mem *m);

/* For tests: the delay before a parked memory is trimmed (ms; the default until
** eryx__snapmem_shutdown, which restores it). */
void eryx__snapmem_set_trim_delay_ms(unsigned ms);

/* Installs eryx's memory creator on an engine configuration. */
void eryx__snapmem_install(wasm_config_t *config);

/* Arms the calling thread's next linear memory creation: it starts as img's
** contents (NULL: zeros, the default). The arming is used by one creation, or
** cleared by eryx__snapmem_arm(NULL). img must stay alive until then. */
void eryx__snapmem_arm(const eryx__snapimg *img);

/* A sandbox's memory cap, enforced by the memory creator rather than wasmtime's
** store limiter so that eryx learns of a refusal: a memory larger than max bytes
** (0: no cap) is not made (instantiation fails), a growth past it is refused
** (memory.grow returns -1 in the guest: Python raises MemoryError) and counted in
** refused, which its owner reads and clears (execute.c: an execution that ends in
** an exception after a refusal is reported as the memory limit). */
typedef struct eryx__memcap {
    uint64_t max;
    unsigned refused;
} eryx__memcap;

/* Arms the calling thread's next linear memory creation with a cap (NULL: none),
** which the memory keeps until its store drops it; cap must outlive that store.
** Used by one creation, or cleared by eryx__snapmem_arm_cap(NULL). */
void eryx__snapmem_arm_cap(eryx__memcap *cap);

/* As eryx__snapmem_arm, for an instance whose memory is not to be pooled when it
** is dropped (one-off work that writes much of it: a snapshot's capture): the
** memory is then unmapped instead. It may itself come from the pool. */
void eryx__snapmem_arm_transient(const eryx__snapimg *img);

/* Ends the trimming thread (joined; a later park starts it again) and closes the
** process's /proc/self/pagemap descriptor and pidfd (opened again on the next
** reset). The memories pooled per image are the image's: its last release
** (eryx__cache_shutdown drops the cache's) unmaps them. */
void eryx__snapmem_shutdown(void);

#endif
