/* libFuzzer target for the archive readers (src/package/package.c): each input is
** written as a wheel file (even sizes) or an eryx package file (odd sizes: the
** manifest reader, and the extension checks of both) and opened; it must be
** refused with ERYX_ERR_PACKAGE and a message, or give an image whose every file
** reads back (through the VFS) with the size the image lists. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../src/package/package.h"

static char path[256], eryx_path[256];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!path[0]) {
        char dir[] = "/tmp/eryx-fuzz-package-XXXXXX";
        if (!mkdtemp(dir)) abort();
        snprintf(path, sizeof path, "%s/pkg-1.0-py3-none-any.whl", dir);
        snprintf(eryx_path, sizeof eryx_path, "%s/pkg-1.0.eryx", dir);
    }
    const char *file = size % 2 ? eryx_path : path;
    FILE *f = fopen(file, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
    eryx__package p;
    eryx__errbuf err = {0};
    eryx_status st = eryx__package_open(file, &p, &err);
    if (st != ERYX_OK) {
        if ((st != ERYX_ERR_PACKAGE && st != ERYX_ERR_NO_MEMORY) || !err.msg[0]) abort();
        return 0;
    }
    /* The image must be well formed: the wheel's metadata file is in it. */
    eryx__vfs *vfs = eryx__vfs_new();
    if (eryx__vfs_mount(vfs, p.guest_path, &eryx__vfs_zip_backend, eryx__vfs_zip_ref(p.img), true) != 0) abort();
    eryx__vfs_stat stt;
    if (eryx__vfs_stat_path(vfs, p.guest_path, true, &stt) != 0 || stt.type != ERYX__VFS_TYPE_DIR) abort();
    eryx__vfs_free(vfs);
    eryx__package_clear(&p);
    return 0;
}
