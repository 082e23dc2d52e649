/*
** What an idle sandbox holds after an import-heavy execute (issue 16: idle
** sandboxes give their memory back): IDLE_SANDBOXES sandboxes, each of whose last
** execute imported ten stdlib modules, and the private memory the process gained
** per sandbox, at once and idle past the trim delay (10 s); the import execute's own time; and `pass` in a sandbox afterwards
** (a reset that kept everything the imports wrote made every later execute copy it
** back). src/snapshot/snapmem.c's reset_to_image decides what a memory keeps.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include "../sandbox/sandbox_internal.h"
#include "bench.h"

/* Ten modules that no start state is likely to pre-import, the default one
** included (decimal and fractions are not here: statistics imports them; nor csv,
** pprint, difflib or gettext, which it has or may have): ~1,200 pages written. */
const char eryx__bench_import_code[] =
    "import mailbox, xml.etree.ElementTree, email.message, html.parser, configparser, "
    "ipaddress, tomllib, plistlib, wave, shlex";

#define PASS_AFTER_RUNS 200
#define REPEAT_RUNS 20 /* import executes in one sandbox (its hot set learned) */

int eryx__bench_idle_after_imports(eryx_builder *b, eryx__bench_idle_imports *r) {
    const size_t len = strlen(eryx__bench_import_code);
    eryx_sandbox *idle[IDLE_SANDBOXES] = {0};
    uint64_t t_first[IDLE_SANDBOXES], t_repeat[REPEAT_RUNS], t_pass[PASS_AFTER_RUNS];
    int rc = -1;
    *r = (eryx__bench_idle_imports){-1, -1, -1, -1, -1, -1, -1, -1};
    long p0 = 0, r0 = 0, p1 = 0, r1 = 0, pages = 0;
#ifdef __GLIBC__
    malloc_trim(0); /* free heap pages would hide the sandboxes' own allocations */
#endif
    int have = eryx__bench_read_smaps(&p0, &r0) == 0;
    for (int i = 0; i < IDLE_SANDBOXES; i++) {
        eryx_status st = eryx_sandbox_new(b, &idle[i]);
        if (st != ERYX_OK) {
            eryx__bench_fail(b, "creating an idle sandbox", st);
            goto out;
        }
        uint64_t t0 = eryx__bench_now_ns();
        st = eryx_sandbox_execute(idle[i], eryx__bench_import_code, len, NULL);
        t_first[i] = eryx__bench_now_ns() - t0;
        if (st != ERYX_OK) {
            fprintf(stderr, "eryx bench: the import execute: %s\n", eryx_sandbox_errmsg(idle[i]));
            goto out;
        }
        long n = eryx__sandbox_private_pages(idle[i]);
        pages = n < 0 || pages < 0 ? -1 : pages + n;
    }
    have = have && eryx__bench_read_smaps(&p1, &r1) == 0;
    r->private_at_once_kib = have ? (double)(p1 - p0) / IDLE_SANDBOXES : -1;
    r->memory_at_once_kib = pages < 0 ? -1 : (double)pages * 4 / IDLE_SANDBOXES;
    /* Idle: past the trim delay from the last sandbox's last execute. */
    unsigned ms = eryx__tools_trim_delay_ms() + 500;
    nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000}, NULL);
    have = have && eryx__bench_read_smaps(&p1, &r1) == 0;
    r->private_kib = have ? (double)(p1 - p0) / IDLE_SANDBOXES : -1;
    r->rss_kib = have ? (double)(r1 - r0) / IDLE_SANDBOXES : -1;
    long idle_pages = 0;
    for (int i = 0; i < IDLE_SANDBOXES && idle_pages >= 0; i++) {
        long n = eryx__sandbox_private_pages(idle[i]);
        idle_pages = n < 0 ? -1 : idle_pages + n;
    }
    r->memory_kib = idle_pages < 0 ? -1 : (double)idle_pages * 4 / IDLE_SANDBOXES;
    r->first_p50_us = eryx__bench_summarize(t_first, IDLE_SANDBOXES).p50;
    /* The same sandbox again and again (what a caller that always imports pays). */
    for (int i = 0; i < REPEAT_RUNS; i++) {
        uint64_t t0 = eryx__bench_now_ns();
        eryx_status st = eryx_sandbox_execute(idle[0], eryx__bench_import_code, len, NULL);
        t_repeat[i] = eryx__bench_now_ns() - t0;
        if (st != ERYX_OK) goto out;
    }
    r->repeat_p50_us = eryx__bench_summarize(t_repeat, REPEAT_RUNS).p50;
    for (int i = 0; i < PASS_AFTER_RUNS; i++) {
        uint64_t t0 = eryx__bench_now_ns();
        eryx_status st = eryx_sandbox_execute(idle[1], "pass", 4, NULL);
        t_pass[i] = eryx__bench_now_ns() - t0;
        if (st != ERYX_OK) goto out;
    }
    r->pass_after_p50_us = eryx__bench_summarize(t_pass, PASS_AFTER_RUNS).p50;
    rc = 0;
out:
    for (int i = 0; i < IDLE_SANDBOXES; i++) eryx_sandbox_free(idle[i]);
    return rc;
}

/* One JSON member (", "key": v"), null when not measured. */
static void member(const char *key, double v, int decimals) {
    if (v < 0) printf(", \"%s\": null", key);
    else printf(", \"%s\": %.*f", key, decimals, v);
}

void eryx__bench_idle_imports_print(const eryx__bench_idle_imports *r, int json) {
    if (json) {
        member("private_kib_per_idle_sandbox_after_imports", r->private_kib, 1);
        member("rss_kib_per_idle_sandbox_after_imports", r->rss_kib, 1);
        member("guest_private_kib_per_idle_sandbox_after_imports", r->memory_kib, 1);
        member("private_kib_per_idle_sandbox_after_imports_at_once", r->private_at_once_kib, 1);
        member("guest_private_kib_per_idle_sandbox_after_imports_at_once", r->memory_at_once_kib, 1);
        member("execute_imports_first_p50_us", r->first_p50_us, 1);
        member("execute_imports_repeat_p50_us", r->repeat_p50_us, 1);
        member("execute_pass_after_imports_p50_us", r->pass_after_p50_us, 1);
        return;
    }
    printf("after an execute that imported 10 modules (%s)\n", eryx__bench_import_code + 7);
    printf("  %-44s %12.0f KiB  (of it, guest memory %.0f KiB)\n", "private memory per sandbox at once (50 kept)",
           r->private_at_once_kib, r->memory_at_once_kib);
    printf("  %-44s %12.0f KiB  (Rss %.0f KiB; of it, guest memory %.0f KiB)\n",
           "private memory per sandbox, idle (50 kept)", r->private_kib, r->rss_kib, r->memory_kib);
    printf("  %-44s %12.1f us   (first in a new sandbox, %d sandboxes)\n", "that execute p50", r->first_p50_us,
           IDLE_SANDBOXES);
    printf("  %-44s %12.1f us   (%d runs in one sandbox)\n", "that execute again p50", r->repeat_p50_us, REPEAT_RUNS);
    printf("  %-44s %12.1f us   (%d runs in a sandbox after it)\n", "execute('pass') after it p50",
           r->pass_after_p50_us, PASS_AFTER_RUNS);
}
