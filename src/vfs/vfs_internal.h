/* Helpers shared by the VFS backends (not part of the VFS interface). */
#ifndef ERYX_VFS_INTERNAL_H
#define ERYX_VFS_INTERNAL_H
#include <stddef.h>

/* Formats a backend's constructor error into err (ignored when err is NULL). */
void eryx__vfs_set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Orders two byte strings (not NUL-terminated) as memcmp would, shorter first on a
** common prefix: the order of directory entries in the backends' sorted indexes. */
int eryx__vfs_name_cmp(const char *a, size_t alen, const char *b, size_t blen);

#endif
