/* Helpers shared by the VFS backends (not part of the VFS interface). */
#ifndef ERYX_VFS_INTERNAL_H
#define ERYX_VFS_INTERNAL_H
#include <stddef.h>

/* Formats a backend's constructor error into err (ignored when err is NULL). */
void eryx__vfs_set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
