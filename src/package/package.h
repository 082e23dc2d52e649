/*
** Packages: Python code the embedder adds to a sandbox's import path.
**
** A package is a wheel (.whl), an eryx package (.eryx: a zip of the package's
** files with a manifest, written by `eryx package`), or a source tree (a
** directory). Any
** is read once, checked, and turned into a read-only image the VFS serves: an
** in-memory zip of STORED members (src/vfs/vfs_zip.c), so that every sandbox of a
** builder shares one immutable copy and serving a file is a bounds-checked copy.
** The image is deterministic (members sorted, fixed timestamps), so its SHA-256 is
** a content key: a snapshot that imported the package names it.
**
** Wheels are installed the way pip would lay them out: `<name>.data/purelib` and
** `platlib` move to the top. A wheel for a platform other than `any` or wasm32-wasi
** (`wasi_*_wasm32`), or that carries extension files built for a host, is refused
** with the file and the cause: its code was built for another machine. Extension
** files that are WebAssembly side modules are kept in every kind of package, after
** checks that name the file: the interpreter tag in the file name
** (cpython-313-wasm32-wasi or abi3), a readable dylink.0 section, a readable link
** interface. Whether their imports resolve against the interpreter is checked when
** a sandbox is built (src/link/linkcheck.h). Source trees take their
** `src/` directory when they have one next to pyproject.toml, setup.py or
** setup.cfg; version-control and tool directories are left out, and so are
** bytecode other than __pycache__/NAME.cpython-313.pyc (this interpreter's) and
** host-built extension files (a WASI interpreter cannot load them); extension
** files that are WebAssembly side modules (wasm32-wasi builds) are kept.
**
** Threads: an eryx__package is owned by one builder; its image is reference
** counted and shared read-only (eryx__vfs_zip_ref). Packed wheels are also kept in
** a process-wide registry (eryx__package_registry, mutex-protected, 16 entries,
** keyed by the file's device, inode, size and mtime), so adding the same wheel
** to another builder is a lookup.
*/
#ifndef ERYX_PACKAGE_H
#define ERYX_PACKAGE_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "../cache/key.h"
#include "../common/errbuf.h"
#include "../link/dylink.h"
#include "../vfs/vfs.h"

/* Caps that keep a hostile or broken archive from costing unbounded memory. */
#define ERYX__PACKAGE_MAX_BYTES (UINT64_C(1) << 30) /* total uncompressed */
#define ERYX__PACKAGE_MAX_FILES 65000u              /* the image is a non-ZIP64 zip */

/* A side module the package carries (a wasm32-wasi extension module), read and
** checked when the package is opened: its member path in the image and its link
** interface, for the link check when a sandbox is built (src/link/linkcheck.h). */
typedef struct eryx__package_ext {
    char *member; /* "numpy/_core/_multiarray_umath.cpython-313-wasm32-wasi.so" */
    eryx__wasm_iface iface;
} eryx__package_ext;

/* The package's side modules, shared by its copies (reference counted). */
typedef struct eryx__package_exts {
    _Atomic unsigned refs;
    size_t n;
    eryx__package_ext *v;
} eryx__package_exts;

typedef struct eryx__package {
    char *source;                       /* the path given, for messages */
    char *name;                         /* normalized distribution or directory name ("jinja2") */
    const char *kind;                   /* "wheel", "eryx package" or "source tree" */
    char *version;                      /* an eryx package's manifest version, else NULL */
    char *guest_path;                   /* where it is mounted: /packages/<name> */
    char sha256[ERYX__KEY_HEX_LEN + 1]; /* of the image */
    uint32_t files;
    uint64_t bytes;
    eryx__vfs_zip *img;       /* one reference, owned */
    eryx__package_exts *exts; /* one reference, owned; NULL: no extension modules */
} eryx__package;

/* The file name an eryx package's manifest has, at the top of its archive. */
#define ERYX__PACKAGE_MANIFEST "eryx-package.json"

/* Reads the wheel, eryx package or source tree at path into *out (zeroed first). On failure
** returns ERYX_ERR_PACKAGE (or ERYX_ERR_NO_MEMORY) with a message naming the file
** and the cause, and *out holds nothing. */
eryx_status eryx__package_open(const char *path, eryx__package *out, eryx__errbuf *err);

/* Writes the source tree at tree as an eryx package file at out_path: its files
** (the rules of a source tree, side modules checked as eryx__package_open checks
** them) and a manifest naming it (name, version, the interpreter it is for), as a
** deterministic zip of STORED members. The file is written to a temporary name and
** renamed, so a reader never sees half of one. Returns ERYX_OK, or an error with a
** message naming the file and the cause. */
eryx_status eryx__package_write(const char *tree, const char *name, const char *version, const char *out_path,
                                eryx__errbuf *err);

/* Releases what *p holds (NULL fields allowed) and zeroes it. */
void eryx__package_clear(eryx__package *p);

/* Makes *dst a second handle on src's image (a new reference, copied strings).
** Returns 0, or -1 when out of memory (*dst then holds nothing). */
int eryx__package_copy(eryx__package *dst, const eryx__package *src);

/* PEP 503 normalization into out (cap bytes): lowercase, runs of '-', '_' and '.'
** become one '_' (a path component, unlike PEP 503's '-'). Returns 0, or -1 when
** the result would be empty, too long, or hold other than [a-z0-9_]. */
int eryx__package_normalize_name(const char *name, size_t len, char *out, size_t cap);

/* Frees the process's registry of packed wheels (the last few opened, kept for
** builders that add them again). Only when no builder is alive (eryx_shutdown,
** src/process/); later opens fill it again. */
void eryx__package_shutdown(void);

#endif
