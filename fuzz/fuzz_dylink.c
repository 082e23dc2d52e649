/* libFuzzer target for src/link/dylink.c: the dylink.0 reader and the data-section
** stripper get any bytes; each returns 0 with sane results or -1 with a message,
** never reads outside the input (ASan), and a stripped module is never longer. */
#include <stdint.h>
#include <stdlib.h>
#include "../src/link/dylink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eryx__dylink d;
    char err[256] = "";
    if (eryx__dylink_read(data, size, &d, err, sizeof err) == 0) {
        if (d.mem_size > ERYX__DYLINK_MAX_MEM || d.table_size > ERYX__DYLINK_MAX_TABLE) abort();
        for (uint32_t i = 0; i < d.n_needed; i++)
            if (!d.needed[i]) abort();
        eryx__dylink_free(&d);
    } else if (!err[0]) {
        abort();
    }
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (eryx__dylink_strip_data(data, size, &out, &out_len, err, sizeof err) == 0 && (!out || out_len > size)) abort();
    free(out);
    return 0;
}
