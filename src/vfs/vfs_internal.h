/* Helpers shared by the VFS backends (not part of the VFS interface). */
#ifndef ERYX_VFS_INTERNAL_H
#define ERYX_VFS_INTERNAL_H
#include "vfs.h"
#include <stddef.h>

/* Orders two byte strings (not NUL-terminated) as memcmp would, shorter first on a
** common prefix: the order of directory entries in the backends' sorted indexes. */
int eryx__vfs_name_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* A host regular file's descriptor as an open vfs file, with the host backend's
** file operations (vfs_host.c): the file takes fd (closed also on failure) and a
** reference to quota (NULL for none), whose bytes count the file's growth.
** append_by_hand: fd has no O_APPEND (vfs_hostfile.c shares one open file between
** the guest's opens), so a file opened with ERYX__VFS_O_APPEND writes at the size
** fstat gives. ENOMEM when out of memory. */
eryx__errno eryx__vfs_host_file(int fd, uint32_t flags, bool append_by_hand, eryx__vfs_quota *quota,
                                eryx__vfs_file **out);

#endif
