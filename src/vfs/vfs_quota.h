/* The quota counters' two moves, for the host backend (vfs_quota.c; the quota
** itself is declared in vfs.h). A NULL quota takes and gives nothing. */
#ifndef ERYX_VFS_QUOTA_H
#define ERYX_VFS_QUOTA_H
#include "vfs.h"

/* Reserves bytes and files: both or neither; EDQUOT when a limit would pass. */
eryx__errno eryx__quota_take(eryx__vfs_quota *quota, uint64_t bytes, uint64_t files);
/* Gives back (each counter stays at 0 or above). */
void eryx__quota_give(eryx__vfs_quota *quota, uint64_t bytes, uint64_t files);

#endif
