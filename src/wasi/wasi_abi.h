/*
** WASI preview1 (wasi_snapshot_preview1) constants and memory layouts, as the
** guest sees them (wasm32, little-endian). Numbers from the WASI preview1 spec
** (witx). Layouts are given as byte offsets: the host reads and writes guest
** memory only through bounds-checked accessors (wasi.c), never through structs.
*/
#ifndef ERYX_WASI_ABI_H
#define ERYX_WASI_ABI_H

/* errno */
#define ERYX__WASI_ESUCCESS 0
#define ERYX__WASI_E2BIG 1
#define ERYX__WASI_EACCES 2
#define ERYX__WASI_EADDRINUSE 3
#define ERYX__WASI_EADDRNOTAVAIL 4
#define ERYX__WASI_EAFNOSUPPORT 5
#define ERYX__WASI_EAGAIN 6
#define ERYX__WASI_EALREADY 7
#define ERYX__WASI_EBADF 8
#define ERYX__WASI_EBUSY 10
#define ERYX__WASI_ECANCELED 11
#define ERYX__WASI_ECONNABORTED 13
#define ERYX__WASI_ECONNREFUSED 14
#define ERYX__WASI_ECONNRESET 15
#define ERYX__WASI_EDQUOT 19
#define ERYX__WASI_EEXIST 20
#define ERYX__WASI_EFAULT 21
#define ERYX__WASI_EFBIG 22
#define ERYX__WASI_EHOSTUNREACH 23
#define ERYX__WASI_EILSEQ 25
#define ERYX__WASI_EINPROGRESS 26
#define ERYX__WASI_EINTR 27
#define ERYX__WASI_EINVAL 28
#define ERYX__WASI_EIO 29
#define ERYX__WASI_EISCONN 30
#define ERYX__WASI_EISDIR 31
#define ERYX__WASI_ELOOP 32
#define ERYX__WASI_EMFILE 33
#define ERYX__WASI_EMLINK 34
#define ERYX__WASI_ENAMETOOLONG 37
#define ERYX__WASI_ENETDOWN 38
#define ERYX__WASI_ENETRESET 39
#define ERYX__WASI_ENETUNREACH 40
#define ERYX__WASI_ENFILE 41
#define ERYX__WASI_ENOENT 44
#define ERYX__WASI_ENOMEM 48
#define ERYX__WASI_ENOSPC 51
#define ERYX__WASI_ENOSYS 52
#define ERYX__WASI_ENOTCONN 53
#define ERYX__WASI_ENOTDIR 54
#define ERYX__WASI_ENOTEMPTY 55
#define ERYX__WASI_ENOTSOCK 57
#define ERYX__WASI_ENOTSUP 58
#define ERYX__WASI_ENOTTY 59
#define ERYX__WASI_EOVERFLOW 61
#define ERYX__WASI_EPERM 63
#define ERYX__WASI_EPIPE 64
#define ERYX__WASI_EPROTO 65
#define ERYX__WASI_ERANGE 68
#define ERYX__WASI_EROFS 69
#define ERYX__WASI_ESPIPE 70
#define ERYX__WASI_ETIMEDOUT 73
#define ERYX__WASI_EXDEV 75
#define ERYX__WASI_ENOTCAPABLE 76

/* filetype (u8) */
#define ERYX__WASI_FILETYPE_UNKNOWN 0
#define ERYX__WASI_FILETYPE_BLOCK_DEVICE 1
#define ERYX__WASI_FILETYPE_CHARACTER_DEVICE 2
#define ERYX__WASI_FILETYPE_DIRECTORY 3
#define ERYX__WASI_FILETYPE_REGULAR_FILE 4
#define ERYX__WASI_FILETYPE_SOCKET_DGRAM 5
#define ERYX__WASI_FILETYPE_SOCKET_STREAM 6
#define ERYX__WASI_FILETYPE_SYMBOLIC_LINK 7

/* oflags (u16) */
#define ERYX__WASI_O_CREAT 1
#define ERYX__WASI_O_DIRECTORY 2
#define ERYX__WASI_O_EXCL 4
#define ERYX__WASI_O_TRUNC 8

/* fdflags (u16) */
#define ERYX__WASI_FDFLAG_APPEND 1
#define ERYX__WASI_FDFLAG_DSYNC 2
#define ERYX__WASI_FDFLAG_NONBLOCK 4
#define ERYX__WASI_FDFLAG_RSYNC 8
#define ERYX__WASI_FDFLAG_SYNC 16

/* lookupflags (u32) */
#define ERYX__WASI_LOOKUP_SYMLINK_FOLLOW 1

/* whence (u8) */
#define ERYX__WASI_WHENCE_SET 0
#define ERYX__WASI_WHENCE_CUR 1
#define ERYX__WASI_WHENCE_END 2

/* clockid (u32) */
#define ERYX__WASI_CLOCK_REALTIME 0
#define ERYX__WASI_CLOCK_MONOTONIC 1
#define ERYX__WASI_CLOCK_PROCESS_CPUTIME 2
#define ERYX__WASI_CLOCK_THREAD_CPUTIME 3

/* eventtype (u8), subclockflags (u16), eventrwflags (u16) */
#define ERYX__WASI_EVENTTYPE_CLOCK 0
#define ERYX__WASI_EVENTTYPE_FD_READ 1
#define ERYX__WASI_EVENTTYPE_FD_WRITE 2
#define ERYX__WASI_SUBCLOCK_ABSTIME 1
#define ERYX__WASI_EVENT_FD_READWRITE_HANGUP 1

/* fstflags (u16) */
#define ERYX__WASI_FST_ATIM 1
#define ERYX__WASI_FST_ATIM_NOW 2
#define ERYX__WASI_FST_MTIM 4
#define ERYX__WASI_FST_MTIM_NOW 8

/* preopentype (u8) */
#define ERYX__WASI_PREOPENTYPE_DIR 0

/* rights (u64): all 29 defined bits. eryx enforces access in the VFS (read-only
** mounts), so fds report every right, but FD_WRITE where a read-only mount is
** concerned (eryx__wasi_fd_fdstat_get). */
#define ERYX__WASI_RIGHTS_ALL ((uint64_t)0x1FFFFFFF)

/* Layouts: sizes and field offsets in guest memory. */
#define ERYX__WASI_IOVEC_SIZE 8   /* buf u32 @0, buf_len u32 @4 */
#define ERYX__WASI_FDSTAT_SIZE 24 /* filetype u8 @0, flags u16 @2, rights_base u64 @8, rights_inheriting u64 @16 */
#define ERYX__WASI_FILESTAT_SIZE \
    64 /* dev @0, ino @8, filetype u8 @16, nlink @24, size @32, atim @40, mtim @48, ctim @56 */
#define ERYX__WASI_DIRENT_SIZE 24 /* d_next u64 @0, d_ino u64 @8, d_namlen u32 @16, d_type u8 @20; name follows */
#define ERYX__WASI_PRESTAT_SIZE 8 /* tag u8 @0, dir name_len u32 @4 */
#define ERYX__WASI_SUBSCRIPTION_SIZE \
    48                           /* userdata u64 @0, tag u8 @8; clock: id u32 @16, timeout u64 @24,
                                          precision u64 @32, flags u16 @40; fd_read/fd_write: fd u32 @16 */
#define ERYX__WASI_EVENT_SIZE 32 /* userdata u64 @0, error u16 @8, type u8 @10, nbytes u64 @16, flags u16 @24 */

#endif
