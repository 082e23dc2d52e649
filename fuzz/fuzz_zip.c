/* libFuzzer target for the zip image parser (src/vfs/vfs_zip.c): any input must
** either be refused with a message or be served without reading outside it. Every
** member is stat'ed, opened and read to its end, every directory listed, also
** through a mount table. Build and run: see fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../src/vfs/vfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(eryx__vfs_zip *img, const char *dir, int depth) {
    const eryx__vfs_backend *be = &eryx__vfs_zip_backend;
    eryx__vfs_file *f = NULL;
    if (depth > 64 || be->open(img, dir, ERYX__VFS_O_READ | ERYX__VFS_O_DIRECTORY, &f)) return;
    eryx__vfs_stat dst;
    if (f->ops->fstat(f, &dst) || dst.type != ERYX__VFS_TYPE_DIR) __builtin_trap();
    uint64_t cookie = 0;
    for (;;) {
        eryx__vfs_dirent d;
        bool end = true;
        if (f->ops->readdir(f, cookie, &d, &end) || end) break;
        if (d.next <= cookie) __builtin_trap(); /* cookies must advance */
        cookie = d.next;
        if (d.name_len == 0) __builtin_trap();
        if (memchr(d.name, '/', d.name_len)) __builtin_trap();
        if (d.name[0] == '.' && (d.name_len == 1 || (d.name_len == 2 && d.name[1] == '.'))) continue;
        char path[4096];
        size_t dl = strlen(dir);
        if (dl + d.name_len + 2 > sizeof path) continue;
        snprintf(path, sizeof path, "%s%s%.*s", dir, dl ? "/" : "", (int)d.name_len, d.name);
        eryx__vfs_stat st;
        if (be->stat(img, path, true, &st) || st.type != d.type || st.ino != d.ino) __builtin_trap();
        if (d.type == ERYX__VFS_TYPE_DIR) {
            walk(img, path, depth + 1);
            continue;
        }
        eryx__vfs_file *m = NULL;
        if (be->open(img, path, ERYX__VFS_O_READ, &m)) continue; /* EIO: not STORED */
        unsigned char buf[1024];
        uint64_t total = 0;
        size_t got;
        while (m->ops->pread(m, buf, sizeof buf, total, &got) == 0 && got > 0) total += got;
        if (total != st.size) __builtin_trap();
        if (m->ops->pread(m, buf, sizeof buf, UINT64_MAX - 1, &got) || got) __builtin_trap();
        m->ops->close(m);
    }
    f->ops->close(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eryx__errbuf err;
    eryx__vfs_zip *img = eryx__vfs_zip_from_memory(data, size, &err);
    if (!img) {
        if (!err.msg[0]) __builtin_trap(); /* a refusal always says why */
        return 0;
    }
    walk(img, "", 0);
    eryx__vfs *vfs = eryx__vfs_new();
    if (vfs && eryx__vfs_mount(vfs, "/z/lib", &eryx__vfs_zip_backend, eryx__vfs_zip_ref(img), true) == 0) {
        eryx__vfs_file *f = NULL;
        if (eryx__vfs_open(vfs, "/z/lib", ERYX__VFS_O_READ | ERYX__VFS_O_DIRECTORY, &f) == 0) {
            eryx__vfs_dirent d;
            bool end = false;
            for (uint64_t c = 0; c < 64 && !end && f->ops->readdir(f, c, &d, &end) == 0; c = d.next) {
                char path[512];
                if (end || d.name_len > 200) continue;
                snprintf(path, sizeof path, "/z/lib/%.*s", (int)d.name_len, d.name);
                eryx__vfs_stat st;
                char norm[600];
                if (eryx__vfs_join("/", path, strlen(path), norm, sizeof norm) == 0)
                    (void)eryx__vfs_stat_path(vfs, norm, true, &st);
            }
            f->ops->close(f);
        }
    }
    eryx__vfs_free(vfs);
    eryx__vfs_zip_release(img);
    return 0;
}
