/* libFuzzer target for src/link/dylink.c and src/link/linkcheck.c: the dylink.0
** reader, the data-section stripper and the link-interface reader get any bytes;
** each returns 0 with sane results or -1 with a message, never reads outside the
** input (ASan), and a stripped module is never longer. An interface that reads is
** then link-checked against itself as the main module (every path of the check). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../src/link/dylink.h"
#include "../src/link/linkcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eryx__dylink d;
    eryx__errbuf err;
    if (eryx__dylink_read(data, size, &d, &err) == 0) {
        if (d.mem_size > ERYX__DYLINK_MAX_MEM || d.table_size > ERYX__DYLINK_MAX_TABLE) abort();
        for (uint32_t i = 0; i < d.n_needed; i++)
            if (!d.needed[i]) abort();
        eryx__dylink_free(&d);
    } else if (!err.msg[0]) {
        abort();
    }
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (eryx__dylink_strip_data(data, size, &out, &out_len, &err) == 0 && (!out || out_len > size)) abort();
    free(out);
    eryx__wasm_iface f;
    err.msg[0] = '\0';
    if (eryx__wasm_iface_read(data, size, &f, &err) == 0) {
        for (size_t i = 0; i < f.n_imports; i++)
            if (!f.imports[i].module || !f.imports[i].name || (f.imports[i].kind == 0) != (f.imports[i].sig != NULL))
                abort();
        for (size_t i = 1; i < f.n_exports; i++)
            if (strcmp(f.exports[i - 1].name, f.exports[i].name) > 0) abort(); /* sorted */
        eryx__link_side side = {"fuzz", &f};
        eryx__errbuf msg;
        if (eryx__link_check(&f, &side, 1, &msg) != 0 && !msg.msg[0]) abort();
        eryx__wasm_iface_free(&f);
    } else if (!err.msg[0]) {
        abort();
    }
    return 0;
}
