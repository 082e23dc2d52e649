/* Writes a valid session blob (two pages of a 64 KiB memory, all-zero artifact)
** without its MAC to argv[1]: the seed of fuzz_session_blob, which appends the MAC
** under its fixed key itself. */
#include <stdio.h>
#include <stdlib.h>
#include "../src/sandbox/session_blob.h"

int main(int argc, char **argv) {
    static const uint8_t artifact[32];
    static const uint8_t raw_key[32] = "fuzz_session_blob's fixed key!!";
    static uint8_t mem[65536];
    for (size_t i = 0; i < sizeof mem; i++) mem[i] = (uint8_t)(i * 7);
    uint32_t pages[2] = {3, 9};
    uint8_t *blob = NULL;
    size_t len = 0;
    eryx__blob_key key;
    if (argc != 2 || eryx__blob_key_set(&key, raw_key, sizeof raw_key) != 0 ||
        eryx__blob_encode(&key, artifact, mem, sizeof mem, pages, 2, &blob, &len))
        return 1;
    FILE *f = fopen(argv[1], "wb");
    if (!f || fwrite(blob, 1, len - ERYX__BLOB_MAC, f) != len - ERYX__BLOB_MAC) return 1;
    fclose(f);
    free(blob);
    return 0;
}
