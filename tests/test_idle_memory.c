/*
** End-to-end test of what an idle sandbox holds (src/snapshot/snapmem.c): after an
** execute that imported ten modules (~1,200 pages written), the sandbox's memory
** keeps no more private pages than after `pass` (the reset gives the others back),
** and once parked past the trim delay, fewer (the pages a reset copied back and the
** restore did not write go back too); the sandbox then runs on with a fresh state.
** Counted in the kernel's page map (eryx__sandbox_private_pages), not timed.
*/
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "check.h"
#include "eryx.h"
#include "../src/sandbox/sandbox_internal.h"
#include "../src/snapshot/snapmem.h"

static const char imports[] = "import mailbox, xml.etree.ElementTree, email.message, html.parser, configparser, "
                              "ipaddress, tomllib, plistlib, wave, shlex";

static int execute(eryx_sandbox *s, const char *code) {
    eryx_status st = eryx_sandbox_execute(s, code, strlen(code), NULL);
    if (st != ERYX_OK) fprintf(stderr, "execute %.40s: %s: %s\n", code, eryx_status_name(st), eryx_sandbox_errmsg(s));
    return st == ERYX_OK;
}

int main(void) {
    eryx_builder *b = eryx_builder_new();
    eryx_sandbox *s = NULL;
    CHECK(b && eryx_sandbox_new(b, &s) == ERYX_OK);
    if (!s) return check_report("test_idle_memory");
    CHECK(eryx__sandbox_preinit(s));
    for (int i = 0; i < 3; i++) CHECK(execute(s, "pass"));
    long after_pass = eryx__sandbox_private_pages(s);
    CHECK(execute(s, imports));
    long after_imports = eryx__sandbox_private_pages(s);
    fprintf(stderr, "private pages of the sandbox's memory: %ld after pass, %ld after importing ten modules\n",
            after_pass, after_imports);
    CHECK(after_pass > 0);
    /* Before the reset gave pages back: ~800 more after the imports. */
    CHECK(after_imports >= 0 && after_imports <= after_pass + 16);
    eryx__snapmem_set_trim_delay_ms(0); /* parked at the execute's end: trimmed at once */
    CHECK(execute(s, "import mailbox\nleft_behind = 1"));
    long trimmed = -1;
    for (int tries = 0; tries < 300; tries++) { /* within ~ms; up to 3 s on a loaded machine */
        trimmed = eryx__sandbox_private_pages(s);
        if (trimmed >= 0 && trimmed < after_pass) break;
        nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
    }
    fprintf(stderr, "after the trim: %ld\n", trimmed);
    CHECK(trimmed >= 0 && trimmed < after_pass);
    eryx_result *r = NULL;
    static const char probe[] =
        "import sys\nprint('mailbox' in sys.modules or 'left_behind' in globals(), sum(range(10)))";
    CHECK(eryx_sandbox_execute(s, probe, strlen(probe), &r) == ERYX_OK && r);
    if (r) CHECK_STR_EQ(eryx_result_stdout(r, NULL), "False 45\n");
    eryx_result_free(r);
    eryx__snapmem_set_trim_delay_ms(ERYX__SNAPMEM_TRIM_DELAY_MS);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    return check_report("test_idle_memory");
}
