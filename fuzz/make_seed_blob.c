/* Writes a valid session blob (one page of a 64 KiB memory, all-zero artifact) to
** argv[1]: the seed of fuzz_session_blob. */
#include <stdio.h>
#include <stdlib.h>
#include "../src/sandbox/session_blob.h"

int main(int argc, char **argv) {
    static const uint8_t artifact[32];
    static uint8_t mem[65536];
    for (size_t i = 0; i < sizeof mem; i++) mem[i] = (uint8_t)(i * 7);
    uint32_t pages[2] = {3, 9};
    uint8_t *blob = NULL;
    size_t len = 0;
    if (argc != 2 || eryx__blob_encode(artifact, mem, sizeof mem, pages, 2, &blob, &len)) return 1;
    FILE *f = fopen(argv[1], "wb");
    if (!f || fwrite(blob, 1, len, f) != len) return 1;
    fclose(f);
    free(blob);
    return 0;
}
