/* Helpers shared by the VFS backends (not part of the VFS interface). */
#ifndef ERYX_VFS_INTERNAL_H
#define ERYX_VFS_INTERNAL_H
#include <stddef.h>

/* Orders two byte strings (not NUL-terminated) as memcmp would, shorter first on a
** common prefix: the order of directory entries in the backends' sorted indexes. */
int eryx__vfs_name_cmp(const char *a, size_t alen, const char *b, size_t blen);

#endif
