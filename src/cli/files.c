/* Reading a whole file or stream into memory: the code eryx runs and --setup's file. */
#include "files.h"
#include <errno.h>
#include <stdlib.h>

char *eryx__cli_slurp(FILE *f, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *bigger = realloc(buf, cap *= 2);
        if (!bigger) {
            free(buf);
            return NULL;
        }
        buf = bigger;
    }
    if (buf && ferror(f)) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

char *eryx__cli_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = eryx__cli_slurp(f, len);
    int saved = errno;
    fclose(f);
    errno = saved;
    return buf;
}
