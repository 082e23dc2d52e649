/* The host memory a replayed journal takes while it is parsed and indexed
** (docs/DURABLE.md, "Bounds"): journals just under ERYX_JOURNAL_MAX_BYTES shaped
** to cost the most per byte, each parsed alone (src/sandbox/journal.c), and the
** growth of the process's peak RSS printed. Run: build/bench/journal_memory */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../src/sandbox/journal.h"

static long peak_mib(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024;
}

/* The journal of a shape: 0, one result of small ints; 1, arguments of floats that
** grow when made canonical; 2, 100,000 entries of small-int results. */
static size_t make(int shape, char *t, size_t cap) {
    size_t n = 0;
    if (shape == 0) {
        n += (size_t)sprintf(t, "{\"code\":\"c\",\"entries\":[{\"index\":0,\"name\":\"g\",\"args_json\":\"{}\","
                                "\"result\":{\"Ok\":[");
        while (n < cap - 32) t[n++] = '0', t[n++] = ',';
        n += (size_t)sprintf(t + n, "0]}}]}");
    } else if (shape == 1) {
        n += (size_t)sprintf(t, "{\"code\":\"c\",\"entries\":[{\"index\":0,\"name\":\"g\",\"args_json\":\"[");
        while (n < cap - 32) memcpy(t + n, "1e-7,", 5), n += 5;
        n += (size_t)sprintf(t + n, "0]\",\"result\":{\"Ok\":0}}]}");
    } else {
        n += (size_t)sprintf(t, "{\"code\":\"c\",\"entries\":[");
        size_t per = (cap - 64) / ERYX_JOURNAL_MAX_ENTRIES;
        for (unsigned i = 0; i < ERYX_JOURNAL_MAX_ENTRIES; i++) {
            size_t start = n;
            n += (size_t)sprintf(t + n, "%s{\"index\":%u,\"name\":\"g\",\"args_json\":\"{}\",\"result\":{\"Ok\":[",
                                 i ? "," : "", i);
            while (n < start + per - 8) t[n++] = '0', t[n++] = ',';
            n += (size_t)sprintf(t + n, "0]}}");
        }
        n += (size_t)sprintf(t + n, "]}");
    }
    return n;
}

int main(void) {
    static const char *what[] = {"one result of 33M small ints", "arguments of 13M floats (1e-7)",
                                 "100,000 entries of small-int results"};
    for (int shape = 0; shape < 3; shape++) {
        pid_t pid = fork(); /* each shape in its own process: its own peak */
        if (pid == 0) {
            size_t cap = ERYX_JOURNAL_MAX_BYTES - 64;
            char *t = malloc(cap + 64);
            if (!t) return 1;
            size_t n = make(shape, t, cap);
            long before = peak_mib();
            eryx__journal *j = NULL;
            eryx__errbuf err = {0};
            eryx_status st = eryx__journal_new("c", 1, t, n, NULL, 0, &j, &err);
            printf("%-40s %5.1f MiB of text: %s, peak RSS +%ld MiB\n", what[shape], n / 1048576.0,
                   st == ERYX_OK ? "accepted" : err.msg, peak_mib() - before);
            eryx__journal_free(j);
            free(t);
            return 0;
        }
        int status = 0;
        waitpid(pid, &status, 0);
    }
    return 0;
}
