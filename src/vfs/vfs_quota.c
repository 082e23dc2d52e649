/*
** Quotas on what the guest adds through host mounts (vfs.h, eryx__vfs_quota): two
** counters, bytes and files, each reserved before the change it pays for and given
** back after a change that frees. Atomics, no lock: one quota may be shared by the
** mounts of many sandboxes in many threads. Counting is conservative (a race
** between two writers of one file can count its growth twice, never zero times).
*/
#include <stdatomic.h>
#include <stdlib.h>
#include "vfs.h"
#include "vfs_quota.h"

struct eryx__vfs_quota {
    atomic_size_t refs;
    uint64_t max_bytes, max_files; /* 0: no limit */
    _Atomic uint64_t bytes, files;
};

eryx__vfs_quota *eryx__vfs_quota_new(uint64_t max_bytes, uint64_t max_files) {
    eryx__vfs_quota *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    atomic_init(&q->refs, 1);
    q->max_bytes = max_bytes;
    q->max_files = max_files;
    atomic_init(&q->bytes, 0);
    atomic_init(&q->files, 0);
    return q;
}

eryx__vfs_quota *eryx__vfs_quota_ref(eryx__vfs_quota *q) {
    if (q) atomic_fetch_add(&q->refs, 1);
    return q;
}

void eryx__vfs_quota_release(eryx__vfs_quota *q) {
    if (q && atomic_fetch_sub(&q->refs, 1) == 1) free(q);
}

void eryx__vfs_quota_usage(eryx__vfs_quota *q, uint64_t *bytes, uint64_t *files) {
    if (bytes) *bytes = q ? atomic_load(&q->bytes) : 0;
    if (files) *files = q ? atomic_load(&q->files) : 0;
}

static bool take(_Atomic uint64_t *used, uint64_t max, uint64_t n) {
    uint64_t cur = atomic_load(used);
    do {
        if (max && (n > max || cur > max - n)) return false;
        if (!max && n > UINT64_MAX - cur) n = UINT64_MAX - cur; /* only counted: saturate */
    } while (!atomic_compare_exchange_weak(used, &cur, cur + n));
    return true;
}

static void give(_Atomic uint64_t *used, uint64_t n) {
    uint64_t cur = atomic_load(used);
    while (!atomic_compare_exchange_weak(used, &cur, cur > n ? cur - n : 0)) {
    }
}

eryx__errno eryx__quota_take(eryx__vfs_quota *q, uint64_t bytes, uint64_t files) {
    if (!q) return 0;
    if (bytes && !take(&q->bytes, q->max_bytes, bytes)) return ERYX__WASI_EDQUOT;
    if (files && !take(&q->files, q->max_files, files)) {
        if (bytes) give(&q->bytes, bytes);
        return ERYX__WASI_EDQUOT;
    }
    return 0;
}

void eryx__quota_give(eryx__vfs_quota *q, uint64_t bytes, uint64_t files) {
    if (!q) return;
    if (bytes) give(&q->bytes, bytes);
    if (files) give(&q->files, files);
}
