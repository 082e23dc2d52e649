/*
** Packages: Python code the embedder adds to a sandbox's import path.
**
** A package is a pure-Python wheel (.whl) or a source tree (a directory). Either
** is read once, checked, and turned into a read-only image the VFS serves: an
** in-memory zip of STORED members (src/vfs/vfs_zip.c), so that every sandbox of a
** builder shares one immutable copy and serving a file is a bounds-checked copy.
** The image is deterministic (members sorted, fixed timestamps), so its SHA-256 is
** a content key: a snapshot that imported the package names it.
**
** Wheels are installed the way pip would lay them out: `<name>.data/purelib` and
** `platlib` move to the top. A wheel whose tags are not pure Python (platform other
** than `any`), or that carries native extension files, is refused with the file
** and the cause: its code was built for another machine. Source trees take their
** `src/` directory when they have one next to pyproject.toml, setup.py or
** setup.cfg; version-control and tool directories are left out, and so are
** bytecode other than __pycache__/NAME.cpython-313.pyc (this interpreter's) and
** host-built extension files (a WASI interpreter cannot load them); extension
** files that are WebAssembly side modules (wasm32-wasi builds) are kept.
**
** Threads: an eryx__package is owned by one builder; its image is reference
** counted and shared read-only (eryx_vfs_zip_ref). Packed wheels are also kept in
** a process-wide registry (eryx__package_registry, mutex-protected, 16 entries,
** keyed by the file's device, inode, size and mtime), so adding the same wheel
** to another builder is a lookup.
*/
#ifndef ERYX_PACKAGE_H
#define ERYX_PACKAGE_H
#include <stddef.h>
#include <stdint.h>
#include "../cache/key.h"
#include "../common/errbuf.h"
#include "../vfs/vfs.h"

/* Caps that keep a hostile or broken archive from costing unbounded memory. */
#define ERYX__PACKAGE_MAX_BYTES (UINT64_C(1) << 30) /* total uncompressed */
#define ERYX__PACKAGE_MAX_FILES 65000u             /* the image is a non-ZIP64 zip */

typedef struct eryx__package {
    char *source;     /* the path given, for messages */
    char *name;       /* normalized distribution or directory name ("jinja2") */
    const char *kind; /* "wheel" or "source tree" */
    char *guest_path; /* where it is mounted: /packages/<name> */
    char sha256[ERYX__KEY_HEX_LEN + 1]; /* of the image */
    uint32_t files;
    uint64_t bytes;
    eryx_vfs_zip *img; /* one reference, owned */
} eryx__package;

/* Reads the wheel or source tree at path into *out (zeroed first). On failure
** returns ERYX_ERR_PACKAGE (or ERYX_ERR_NO_MEMORY) with a message naming the file
** and the cause, and *out holds nothing. */
eryx_status eryx__package_open(const char *path, eryx__package *out, eryx__errbuf *err);

/* Releases what *p holds (NULL fields allowed) and zeroes it. */
void eryx__package_clear(eryx__package *p);

/* Makes *dst a second handle on src's image (a new reference, copied strings).
** Returns 0, or -1 when out of memory (*dst then holds nothing). */
int eryx__package_copy(eryx__package *dst, const eryx__package *src);

/* PEP 503 normalization into out (cap bytes): lowercase, runs of '-', '_' and '.'
** become one '_' (a path component, unlike PEP 503's '-'). Returns 0, or -1 when
** the result would be empty, too long, or hold other than [a-z0-9_]. */
int eryx__package_normalize_name(const char *name, size_t len, char *out, size_t cap);

#endif
