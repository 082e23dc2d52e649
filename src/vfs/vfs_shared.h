/* Shared storage (eryx_storage in eryx.h) as a VFS backend: see vfs_shared.c. */
#ifndef ERYX_VFS_SHARED_H
#define ERYX_VFS_SHARED_H
#include "eryx.h"
#include "vfs.h"

/* The backend: mount it with `self` = eryx__storage_ref(storage) (destroy drops it). */
extern const eryx__vfs_backend eryx__vfs_shared_backend;

/* Takes a new reference to a storage and returns it. */
eryx_storage *eryx__storage_ref(eryx_storage *storage);

#endif
