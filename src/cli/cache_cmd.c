/*
** `eryx cache list|stats|verify|prune [--max-size N] [--max-entries N]|clear`:
** maintenance of the cache directory (src/cache/store.h).
*/
#include "cache_cmd.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../cache/store.h"
#include "options.h"

static void human(uint64_t bytes, char *out, size_t n) {
    if (bytes >= (1u << 30)) snprintf(out, n, "%.1f GiB", bytes / 1073741824.0);
    else if (bytes >= (1u << 20)) snprintf(out, n, "%.1f MiB", bytes / 1048576.0);
    else snprintf(out, n, "%llu B", (unsigned long long)bytes);
}

static void report_bad(void *user, const char *key, const char *problem) {
    (void)user;
    printf("removed %s: %s\n", key, problem);
}

int eryx__cli_cache(const char *dir, int argc, char **argv) {
    if (argc < 1) {
        fprintf(stderr, "eryx: cache needs a command: list, stats, verify, prune or clear (see eryx --help)\n");
        return 2;
    }
    const char *cmd = argv[0];
    eryx__store_limits lim = {0, 0};
    for (int i = 1; i < argc; i++) {
        long long v = -1;
        if ((!strcmp(argv[i], "--max-size") || !strcmp(argv[i], "--max-entries")) && i + 1 < argc &&
            !strcmp(cmd, "prune"))
            v = eryx__cli_parse_size(argv[i + 1]);
        if (v < 0) {
            if (i + 1 < argc && !strcmp(cmd, "prune"))
                fprintf(stderr, "eryx: cache prune: %s wants a number like 512M, got '%s'\n", argv[i], argv[i + 1]);
            else fprintf(stderr, "eryx: cache %s: unexpected argument '%s' (see eryx --help)\n", cmd, argv[i]);
            return 2;
        }
        if (!strcmp(argv[i], "--max-size")) lim.max_bytes = (uint64_t)v;
        else lim.max_entries = (uint64_t)v;
        i++;
    }
    if (strcmp(cmd, "list") && strcmp(cmd, "stats") && strcmp(cmd, "verify") && strcmp(cmd, "prune") &&
        strcmp(cmd, "clear")) {
        fprintf(stderr, "eryx: unknown cache command '%s': use list, stats, verify, prune or clear\n", cmd);
        return 2;
    }
    if (!strcmp(cmd, "prune") && !lim.max_bytes && !lim.max_entries) {
        fprintf(stderr, "eryx: cache prune needs --max-size N and/or --max-entries N\n");
        return 2;
    }
    eryx__errbuf eb;
    eryx__store *st = eryx__store_open(dir, (eryx__store_limits){0, 0}, &eb);
    if (!st) {
        fprintf(stderr, "eryx: cannot open the cache directory %s: %s\n", dir, eb.msg);
        return 3;
    }
    int rc = 0;
    char a[32], b[32];
    if (!strcmp(cmd, "list") || !strcmp(cmd, "stats")) {
        eryx__store_info *info = NULL;
        size_t n = 0;
        if (eryx__store_list(st, &info, &n, &eb) != 0) {
            fprintf(stderr, "eryx: cannot list %s: %s\n", dir, eb.msg);
            rc = 3;
        } else if (!strcmp(cmd, "list")) {
            printf("%-64s %12s  %-19s %s\n", "key", "size", "last used (UTC)", "");
            for (size_t i = 0; i < n; i++) {
                time_t t = (time_t)info[i].last_used_s;
                struct tm tm;
                char when[32] = "?";
                if (gmtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
                human(info[i].size, a, sizeof a);
                printf("%-64s %12s  %-19s %s\n", info[i].key, a, when, info[i].in_use ? "in use" : "");
            }
        } else {
            uint64_t total = 0;
            size_t in_use = 0;
            for (size_t i = 0; i < n; i++) {
                total += info[i].size;
                in_use += info[i].in_use;
            }
            human(total, a, sizeof a);
            printf("directory: %s\nentries:   %zu (%zu in use)\nsize:      %s (%llu bytes)\n", eryx__store_dir(st), n,
                   in_use, a, (unsigned long long)total);
        }
        free(info);
    } else if (!strcmp(cmd, "verify")) {
        size_t checked = 0, bad = 0;
        if (eryx__store_verify(st, report_bad, NULL, &checked, &bad, &eb) != 0) {
            fprintf(stderr, "eryx: cannot verify %s: %s\n", dir, eb.msg);
            rc = 3;
        } else {
            printf("verified %zu entries: %zu damaged (removed; they are rebuilt when next needed)\n", checked, bad);
            rc = bad ? 1 : 0;
        }
    } else {
        size_t removed = 0;
        uint64_t freed = 0;
        eryx_status r = !strcmp(cmd, "prune") ? eryx__store_prune(st, lim, &removed, &freed, &eb)
                                              : eryx__store_clear(st, &removed, &freed, &eb);
        if (r != ERYX_OK) {
            fprintf(stderr, "eryx: cache %s failed: %s\n", cmd, eb.msg);
            rc = 3;
        } else {
            human(freed, b, sizeof b);
            printf("removed %zu entries, freed %s\n", removed, b);
        }
    }
    eryx__store_close(st);
    return rc;
}
