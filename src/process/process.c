/*
** The process-wide state of liberyx, in one list, and eryx_shutdown (eryx.h),
** which frees it. This file is the top layer: it calls each subsystem's own
** teardown and is called by nothing inside the library. It must hold no state of
** its own beyond the lock that serializes eryx_shutdown.
**
** Every process-wide mutable object, where it lives, what guards it (each is
** defined with ERYX__PROCESS_STATE, src/common/process_state.h, so
** `grep -rn ERYX__PROCESS_STATE src` finds them all and the leak test can check the
** whole section after eryx_shutdown; a new one must be added here too):
**
**   object                      file                        lock
**   engines + linkers (3 kinds) src/engine/engine.c          eryx__engines[k].lock
**                               (eryx__engines)               (creation: acquire flag)
**   ticker thread, its watches  src/engine/engine.c          eryx__ticker.lock
**   front signal handler: the   src/engine/signals.c         its lock (atomics for
**     saved actions, the table                                 the handler); kept
**     of threads in guest calls                                after shutdown: the
**                                                             handlers stay installed
**   cache registry: default     src/cache/tiers.c            eryx__registry.lock
**     memory tier, snapshot-    (eryx__registry)             (+ build_lock: single
**     image tier, disk stores,                                 flight without a disk
**     stdlib images, hashes                                    tier)
**   snapshot images written     src/cache/tiers.c            eryx__image_writes.lock
**     behind (their threads)    (eryx__image_writes)
**   side-module registry        src/sandbox/extensions.c     eryx__side_registry.lock
**   interpreters' export lists  src/sandbox/extensions.c     eryx__main_ifaces.lock
**   callback thread pool        src/sandbox/callbacks.c      eryx__cb_pool.lock
**   /proc/self/pagemap fd,      src/snapshot/snapmem.c       eryx__pagemap.lock
**     the process's pidfd
**   memory trimmer thread and   src/snapshot/snapmem.c       eryx__trim.lock
**     its queue of parked       (eryx__trim)
**     memories
**   main-module table maps      src/link/loader.c            eryx__dl_main_maps.lock
**   packed-wheel registry       src/package/package.c        eryx__package_registry.lock
**   TLS trust stores (parsed   src/net/tls.c                eryx__tls_stores.lock
**     CA bundles shared by
**     contexts)
**   the session key (32 random  src/sandbox/blob_key.c       eryx__process_key.lock
**     bytes; no memory, kept                                   (made: acquire flag)
**     by eryx_shutdown so blobs
**     made before stay valid)
**   work counters (atomics; no  src/common/counters.c        (atomic; never reset:
**     memory)                                                  eryx_process_counters_get)
**   the shutdown lock           src/process/process.c        (itself)
**
** Each is made on first use and is thread-safe. The memories pooled per snapshot
** image (snapmem.c) belong to their image, freed with it; the memory creator's
** arming is thread-local and holds nothing. Handles (eryx_cache, eryx_storage,
** builders, sandboxes) are the embedder's, not process state.
**
** Teardown order (each step may still need what the later ones free):
**   1. callback threads (eryx__cb_shutdown): they touch no other state;
**   2. side modules and export lists (eryx__ext_shutdown): release compiled
**      modules of the engines;
**   3. main-module maps (eryx__dl_shutdown): keyed by modules freed in 4;
**   4. cache registry (eryx__cache_shutdown): waits for images written behind,
**      then drops the memory tiers (modules, images and their pooled memories),
**      the disk-store handles, the stdlib images and the hashes;
**   5. packed wheels (eryx__package_shutdown); TLS trust stores (eryx__tls_shutdown);
**   6. the memory trimmer (joined; its queue is empty once 4 freed every image's
**      pooled memories and the embedder its sandboxes), the pagemap fd and pidfd
**      (eryx__snapmem_shutdown);
**   7. the ticker (joined), then linkers and engines (eryx__engine_shutdown):
**      last, since every module and store above was made with an engine.
** Every step leaves its subsystem ready to make its state again on the next use.
*/
#include <pthread.h>
#include "../cache/tiers.h"
#include "../common/process_state.h"
#include "../engine/engine.h"
#include "../link/loader.h"
#include "../net/net.h"
#include "../package/package.h"
#include "../sandbox/callbacks.h"
#include "../sandbox/extensions.h"
#include "../snapshot/snapmem.h"
#include "eryx.h"

ERYX__PROCESS_STATE static pthread_mutex_t eryx__shutdown_lock = PTHREAD_MUTEX_INITIALIZER;

void eryx_shutdown(void) {
    pthread_mutex_lock(&eryx__shutdown_lock);
    eryx__cb_shutdown();
    eryx__ext_shutdown();
    eryx__dl_shutdown();
    eryx__cache_shutdown();
    eryx__package_shutdown();
    eryx__tls_shutdown();
    eryx__snapmem_shutdown();
    eryx__engine_shutdown();
    pthread_mutex_unlock(&eryx__shutdown_lock);
}
