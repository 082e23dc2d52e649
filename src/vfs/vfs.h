/*
** The virtual filesystem: everything the guest can see as files.
**
** A mount table maps absolute guest paths to backends. A backend is a struct of
** function pointers (in the spirit of SQLite's sqlite3_vfs) plus an opaque `self`;
** an open file is a struct whose first member points at its file operations.
** Three backends ship: a read-only zip image served from an mmap (the stdlib), an
** in-memory read-write filesystem with byte and entry caps (/tmp, /data), and
** opt-in host directories (read-only or read-write, with optional quotas) whose
** resolution cannot escape them, or single host files mounted as themselves.
**
** Errors are WASI preview1 errno values (src/wasi/wasi_abi.h), so the WASI layer
** passes them through unchanged. Nothing here prints, exits or touches the host
** filesystem outside a mounted host directory.
**
** Paths given to a backend are mount-relative and normalized: no leading '/', no
** "." or ".." components, no empty components; "" is the mount's root. The mount
** table does that normalization (lexically: "/a/../b" is "/b"; ".." at "/" stays at
** "/"), so a backend never sees "..". A host-directory backend must still stop
** symlinks from leaving its directory (it uses openat2 with RESOLVE_BENEATH). A
** trailing '/' ("f/": a directory is meant) never reaches a backend either: the
** mount table checks it (eryx__vfs_join_guest).
**
** Threads: a vfs and its backends belong to one sandbox and are used by one thread
** at a time, except that a zip image may be shared read-only by many vfs.
*/
#ifndef ERYX_VFS_H
#define ERYX_VFS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../common/errbuf.h"
#include "../wasi/wasi_abi.h"

typedef uint16_t eryx__errno; /* a WASI errno: ERYX__WASI_E* from wasi_abi.h, 0 = success */

/* Flags of eryx__vfs_open / backend open. */
enum {
    ERYX__VFS_O_READ = 1 << 0,
    ERYX__VFS_O_WRITE = 1 << 1,
    ERYX__VFS_O_CREAT = 1 << 2,
    ERYX__VFS_O_EXCL = 1 << 3,
    ERYX__VFS_O_TRUNC = 1 << 4,
    ERYX__VFS_O_DIRECTORY = 1 << 5, /* fail with ENOTDIR unless it is a directory */
    ERYX__VFS_O_APPEND = 1 << 6,
    ERYX__VFS_O_NOFOLLOW = 1 << 7, /* do not follow a symlink in the last component */
};

/* File types use WASI's filetype numbers. */
enum {
    ERYX__VFS_TYPE_UNKNOWN = ERYX__WASI_FILETYPE_UNKNOWN,
    ERYX__VFS_TYPE_DIR = ERYX__WASI_FILETYPE_DIRECTORY,
    ERYX__VFS_TYPE_REG = ERYX__WASI_FILETYPE_REGULAR_FILE,
    ERYX__VFS_TYPE_SYMLINK = ERYX__WASI_FILETYPE_SYMBOLIC_LINK,
    ERYX__VFS_TYPE_CHARDEV = ERYX__WASI_FILETYPE_CHARACTER_DEVICE,
};

typedef struct eryx__vfs_stat {
    uint64_t dev, ino;
    uint8_t type; /* ERYX__VFS_TYPE_* */
    uint64_t nlink, size;
    uint64_t atim_ns, mtim_ns, ctim_ns;
} eryx__vfs_stat;

typedef struct eryx__vfs_dirent {
    const char *name; /* valid until the next readdir call on the same file, or its close */
    size_t name_len;
    uint8_t type; /* ERYX__VFS_TYPE_* */
    uint64_t ino;
    uint64_t next; /* cookie of the entry after this one */
} eryx__vfs_dirent;

typedef struct eryx__vfs_file eryx__vfs_file;

/* Operations on an open file or directory. Unsupported ones may be NULL (the
** callers then return ENOTSUP / EISDIR / EBADF as fits). */
typedef struct eryx__vfs_file_ops {
    /* Reads up to len bytes at offset; *nread = 0 at end of file. */
    eryx__errno (*pread)(eryx__vfs_file *f, void *buf, size_t len, uint64_t offset, size_t *nread);
    /* Writes len bytes at offset, or at the end of the file, whatever offset says,
    ** if it was opened with APPEND. ENOSPC when a byte cap is hit. */
    eryx__errno (*pwrite)(eryx__vfs_file *f, const void *buf, size_t len, uint64_t offset, size_t *nwritten);
    eryx__errno (*fstat)(eryx__vfs_file *f, eryx__vfs_stat *out);
    eryx__errno (*truncate)(eryx__vfs_file *f, uint64_t size);
    /* Entry number `cookie` (0 = first; "." and ".." are included first for
    ** directories); *end = true and no entry when cookie is past the last. */
    eryx__errno (*readdir)(eryx__vfs_file *f, uint64_t cookie, eryx__vfs_dirent *out, bool *end);
    eryx__errno (*sync)(eryx__vfs_file *f);
    void (*close)(eryx__vfs_file *f); /* frees f */
} eryx__vfs_file_ops;

/* Every backend's file struct starts with this. */
struct eryx__vfs_file {
    const eryx__vfs_file_ops *ops;
    uint32_t flags; /* the ERYX__VFS_O_* it was opened with */
};

/* A backend: `self` is passed back to every call. Write operations may be NULL
** for a read-only backend (callers return EROFS). */
typedef struct eryx__vfs_backend {
    const char *name; /* "zip", "mem", "host": for messages */
    eryx__errno (*open)(void *self, const char *path, uint32_t flags, eryx__vfs_file **out);
    eryx__errno (*stat)(void *self, const char *path, bool follow_symlinks, eryx__vfs_stat *out);
    eryx__errno (*mkdir)(void *self, const char *path);
    eryx__errno (*rmdir)(void *self, const char *path);
    eryx__errno (*unlink)(void *self, const char *path);
    eryx__errno (*rename)(void *self, const char *from, const char *to);
    eryx__errno (*readlink)(void *self, const char *path, char *buf, size_t cap, size_t *len);
    void (*destroy)(void *self); /* called by eryx__vfs_free for each mount */
} eryx__vfs_backend;

typedef struct eryx__vfs eryx__vfs;

eryx__vfs *eryx__vfs_new(void);      /* NULL when out of memory */
void eryx__vfs_free(eryx__vfs *vfs); /* destroys every backend mounted; NULL allowed */

/* Mounts a backend at an absolute guest path ("/tmp", "/usr/local/lib"; "/" is
** allowed). The vfs takes ownership of self (destroy is called at free, also when
** the mount fails). A read-only mount refuses every write with EROFS before the
** backend is called. EEXIST if the path is already a mount point; EINVAL for a
** relative path. Directories above mount points ("/", "/usr") exist implicitly:
** they stat as directories and list their child mount-point components. */
eryx__errno eryx__vfs_mount(eryx__vfs *vfs, const char *guest_path, const eryx__vfs_backend *backend, void *self,
                            bool readonly);

/* Joins `base` (an absolute, normalized guest path, e.g. a directory fd's path) and
** `path` (len bytes, not NUL-terminated, may be absolute or relative, may hold "."
** and ".."), normalizes lexically, and writes the absolute result to out.
** ENAMETOOLONG if it does not fit in cap; EINVAL for an empty path or a NUL byte
** in it; ENOENT... never (normalization does not look at the filesystem). */
eryx__errno eryx__vfs_join(const char *base, const char *path, size_t len, char *out, size_t cap);

/* Like eryx__vfs_join, for the guest's paths: when the last component as written
** is empty, "." or ".." ("f/", "d/."), so that it must name a directory (POSIX),
** out keeps one trailing '/' ("/tmp/f/"). The operations below take that form and
** answer ENOTDIR when it names anything else (a symlink in it is followed), in
** every backend; "/" is never marked. */
eryx__errno eryx__vfs_join_guest(const char *base, const char *path, size_t len, char *out, size_t cap);

/* Operations on absolute, normalized guest paths (as made by eryx__vfs_join). Each
** finds the deepest mount containing the path and calls its backend; ENOENT when
** no mount contains it and it is not an implicit directory. rename across two
** mounts is EXDEV. Write operations on a read-only mount are EROFS. */
eryx__errno eryx__vfs_open(eryx__vfs *vfs, const char *path, uint32_t flags, eryx__vfs_file **out);
eryx__errno eryx__vfs_stat_path(eryx__vfs *vfs, const char *path, bool follow_symlinks, eryx__vfs_stat *out);
eryx__errno eryx__vfs_mkdir(eryx__vfs *vfs, const char *path);
eryx__errno eryx__vfs_rmdir(eryx__vfs *vfs, const char *path);
eryx__errno eryx__vfs_unlink(eryx__vfs *vfs, const char *path);
eryx__errno eryx__vfs_rename(eryx__vfs *vfs, const char *from, const char *to);
eryx__errno eryx__vfs_readlink(eryx__vfs *vfs, const char *path, char *buf, size_t cap, size_t *len);
/* 0 when what path names could be changed (its mount takes writes), EROFS when it
** lies on a read-only mount, on a backend without writes, or is an implicit
** directory. Looks at the mount only: whether path exists is the caller's to ask. */
eryx__errno eryx__vfs_writable(eryx__vfs *vfs, const char *path);

/* ---- backends ----------------------------------------------------------------- */

/* A read-only zip image (the stdlib). Opened once (mmap of the file, central
** directory parsed and indexed with every offset and length bounds-checked) and
** shared (also packages: src/package): eryx__vfs_zip_backend(img) gives a backend whose `self` is a reference to
** img (destroy drops the reference). Only STORED members are served (the stdlib
** image is written that way); a DEFLATED member opens with EIO. Directories are
** implied by member paths. A malformed file fails to open: NULL with a message in
** err. */
typedef struct eryx__vfs_zip eryx__vfs_zip;
eryx__vfs_zip *eryx__vfs_zip_open(const char *host_path, eryx__errbuf *err);
eryx__vfs_zip *eryx__vfs_zip_from_memory(const void *data, size_t len,
                                         eryx__errbuf *err); /* for tests and fuzzing; data must outlive the image */
/* Like eryx__vfs_zip_from_memory, but the image owns data (malloc'd): it is freed
** with the last reference, or at once when the image cannot be opened. */
eryx__vfs_zip *eryx__vfs_zip_adopt(void *data, size_t len, eryx__errbuf *err);
void eryx__vfs_zip_release(eryx__vfs_zip *img); /* drops the caller's reference */
extern const eryx__vfs_backend eryx__vfs_zip_backend;
void *eryx__vfs_zip_ref(eryx__vfs_zip *img); /* a new reference, to pass as `self` when mounting */

/* An in-memory read-write filesystem: files and directories, no symlinks, with a
** cap on the bytes it allocates (file buffers with their spare capacity, nodes,
** names, directory tables: everything but open files) and one on its entries
** (files and directories); past either an operation fails whole with ENOSPC.
** 0 = no cap. */
extern const eryx__vfs_backend eryx__vfs_mem_backend;
void *eryx__vfs_mem_new(uint64_t max_bytes, uint64_t max_entries); /* NULL when out of memory */
uint64_t eryx__vfs_mem_used(void *self);                           /* bytes of file contents held */
uint64_t eryx__vfs_mem_charged(void *self);                        /* bytes charged against the cap */
uint64_t eryx__vfs_mem_entries(void *self);                        /* files and directories held */

/* /dev/null: mounted at that path, it is the mount point itself, a character
** device that reads as empty and discards writes; self is unused (NULL). */
extern const eryx__vfs_backend eryx__vfs_null_backend;

/* A host directory, read-only or read-write. Every path is resolved by the kernel
** beneath the directory (openat2 RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): "..",
** absolute symlinks and symlinks pointing outside fail with EPERM/ENOTCAPABLE, also
** when a symlink is swapped in during the call. NULL (message in err) when the
** directory cannot be opened or openat2 is unavailable (Linux < 5.6). */
extern const eryx__vfs_backend eryx__vfs_host_backend;
typedef struct eryx__vfs_quota eryx__vfs_quota;
/* quota: NULL for none, else the backend takes its own reference. */
void *eryx__vfs_host_new(const char *host_dir, bool readonly, eryx__vfs_quota *quota, eryx__errbuf *err);

/* One host regular file, mounted as itself: the mount point is the file, nothing
** lies below it (ENOTDIR) and its host siblings stay invisible. The file is opened
** once, here (a symlink in host_file is followed now, never later); every guest
** open shares that open file, so nothing is resolved by name afterwards. A
** writable mount writes through to the host file; the guest cannot unlink or
** rename it (the mount table: EBUSY). quota as for eryx__vfs_host_new (the file's
** growth counts). NULL (message in err) when host_file is not a regular file or
** cannot be opened for reading (and writing, unless readonly). */
extern const eryx__vfs_backend eryx__vfs_hostfile_backend;
void *eryx__vfs_hostfile_new(const char *host_file, bool readonly, eryx__vfs_quota *quota, eryx__errbuf *err);

/* A quota on what the guest adds through host mounts (eryx_builder_set_mount_quota):
** bytes, as the growth of regular files' sizes (a sparse file counts its size:
** writing at 1 TiB adds 1 TiB), and files, as the entries made (files and
** directories). Shrinking, truncating, removing or replacing a file gives back
** what it held, never below 0: the directory grows by at most the quota, and
** removing content that was there before earns no room past it. A write,
** truncate, create or mkdir past a limit fails whole with EDQUOT.
** Reference-counted and thread-safe (atomics): one quota may be shared by the
** mounts of several sandboxes at once. 0 = no limit (usage is still counted). */
eryx__vfs_quota *eryx__vfs_quota_new(uint64_t max_bytes, uint64_t max_files); /* NULL when out of memory */
eryx__vfs_quota *eryx__vfs_quota_ref(eryx__vfs_quota *quota);                 /* returns quota */
void eryx__vfs_quota_release(eryx__vfs_quota *quota);                         /* NULL allowed */
void eryx__vfs_quota_usage(eryx__vfs_quota *quota, uint64_t *bytes, uint64_t *files);

#endif
