/*
** `eryx package DIR --name NAME --version VERSION -o OUT.eryx`: packs a source tree
** (Python files, data, wasm32-wasi extension modules) into one eryx package file,
** checked as --package checks it, for `--package OUT.eryx` on any machine.
*/
#include "package_cmd.h"
#include <stdio.h>
#include <string.h>
#include "../package/package.h"

int eryx__cli_package(int argc, char **argv) {
    const char *dir = NULL, *name = NULL, *version = NULL, *out = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = !strcmp(a, "--name")                         ? &name
                            : !strcmp(a, "--version")                    ? &version
                            : !strcmp(a, "-o") || !strcmp(a, "--output") ? &out
                                                                         : NULL;
        if (slot && i + 1 < argc) *slot = argv[++i];
        else if (!slot && a[0] != '-' && !dir) dir = a;
        else {
            fprintf(stderr,
                    "eryx: package: unexpected '%s' (usage: eryx package DIR --name NAME --version VERSION "
                    "-o OUT.eryx)\n",
                    a);
            return 2;
        }
    }
    if (!dir || !name || !version || !out) {
        fprintf(stderr, "eryx: package needs DIR, --name, --version and -o (usage: eryx package DIR --name NAME "
                        "--version VERSION -o OUT.eryx)\n");
        return 2;
    }
    eryx__errbuf err = {0};
    if (eryx__package_write(dir, name, version, out, &err) != ERYX_OK) {
        fprintf(stderr, "eryx: package: %s\n", err.msg);
        return 3;
    }
    eryx__package p;
    if (eryx__package_open(out, &p, &err) != ERYX_OK) { /* read back, as --package will */
        fprintf(stderr, "eryx: package: the written file does not read back: %s\n", err.msg);
        return 3;
    }
    printf("%s: eryx package %s %s, %u files, %llu bytes, %zu extension module(s), sha256 %s\n", out, p.name, p.version,
           p.files, (unsigned long long)p.bytes, p.exts ? p.exts->n : (size_t)0, p.sha256);
    eryx__package_clear(&p);
    return 0;
}
