/*
** Private to src/package/: what its files share. package.c owns the package
** handle, the registry of packed wheels, eryx__package_open and _write;
** package_image.c the file list and the zip image; package_archive.c names,
** wheels, eryx package archives and extension modules; package_tree.c source
** trees. Nothing outside src/package/ includes this header (use package.h).
*/
#ifndef ERYX_PACKAGE_INT_H
#define ERYX_PACKAGE_INT_H
#include "package.h"
#include <stdbool.h>

/* ---- the list of files an image will hold (package_image.c) ------------------- */

typedef struct pfile {
    char *name; /* image path: relative, '/'-separated, normalized */
    unsigned char *data;
    size_t len;
} pfile;

typedef struct plist {
    pfile *v;
    size_t n, cap;
    uint64_t bytes;
} plist;

typedef struct wbuf {
    unsigned char *p;
    size_t len, cap;
    bool oom;
} wbuf;

void eryx__package_plist_free(plist *l);
/* Checks an archive member's path: relative, no "." / ".." / empty components, no
** backslash or control characters. A trailing '/' (a directory entry) is allowed
** and reported through *is_dir. */
bool eryx__package_member_path_ok(const char *name, bool *is_dir);
/* Adds a file (takes ownership of name and data, also on failure). */
eryx_status eryx__package_plist_add(plist *l, char *name, unsigned char *data, size_t len, const char *src,
                                    eryx__errbuf *err);
/* Writes the sorted files as a deterministic zip of STORED members into *zip. */
eryx_status eryx__package_write_image(plist *l, const char *src, wbuf *zip, eryx__errbuf *err);

/* ---- names, archives, extension modules (package_archive.c) --------------------- */

bool eryx__package_has_suffix(const char *s, const char *suffix);
/* A native extension built for a host: CPython's suffixes on Linux, macOS and Windows. */
bool eryx__package_is_native_extension(const char *name);
/* Reads the archive at path (a wheel, or else an eryx package) into l. */
eryx_status eryx__package_read_archive(const char *path, bool wheel, plist *l, eryx__errbuf *err);
/* An eryx package's manifest (ERYX__PACKAGE_MANIFEST in l): its name (normalized
** into name) and version, and the interpreter it was made for. */
eryx_status eryx__package_read_manifest(const char *path, const plist *l, char *name, size_t name_cap, char **version,
                                        eryx__errbuf *err);
/* Checks the wheel's file name (its tags), then reads it into l. */
eryx_status eryx__package_read_wheel(const char *path, char *dist, size_t dist_cap, plist *l, eryx__errbuf *err);
/* Drops one reference (NULL allowed). */
void eryx__package_exts_release(eryx__package_exts *x);
/* Checks each side module in l and keeps its link interface in *out (NULL: none). */
eryx_status eryx__package_scan_extensions(const char *path, const plist *l, eryx__package_exts **out,
                                          eryx__errbuf *err);

/* ---- source trees (package_tree.c) -------------------------------------------- */

/* Reads the source tree at path into l; its directory name, normalized, into name. */
eryx_status eryx__package_read_tree(const char *path, char *name, size_t name_cap, plist *l, eryx__errbuf *err);

#endif
