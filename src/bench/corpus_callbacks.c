/*
** The corpus's plumbing shared by eryx-bench (corpus.c) and the e2e.corpus test
** (tests/corpus_run.c): listing and reading snippets, and the host callbacks of the
** callback snippets, which answer exactly as bench/corpus/callbacks.py does (the
** expected outputs were made with that file, natively).
*/
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "corpus.h"

int eryx__corpus_uses_callbacks(const char *name) { return strstr(name, "_cb_") != NULL; }

/* Hands back a JSON value as the callback's malloc'd result (consumes v). */
static int answer(json_t *v, char **out, size_t *out_len) {
    *out = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    if (!*out) return 1;
    *out_len = strlen(*out);
    return 0;
}

static int fail(const char *msg, char **out) {
    *out = strdup(msg);
    return 1;
}

/* get_user(user_id) -> {"id", "name", "score": user_id * 37 % 101, "active": user_id % 3 != 0} */
static int cb_get_user(void *user, const char *args, size_t len, char **out, size_t *out_len) {
    (void)user;
    json_t *a = json_loadb(args, len, 0, NULL);
    json_t *id = json_object_get(a, "user_id");
    if (!json_is_integer(id)) {
        json_decref(a);
        return fail("get_user: user_id must be an integer", out);
    }
    json_int_t n = json_integer_value(id);
    json_decref(a);
    char name[40];
    snprintf(name, sizeof name, "user%lld", (long long)n);
    /* Python's % takes the divisor's sign: the same for a negative id. */
    json_int_t score = ((n * 37) % 101 + 101) % 101;
    return answer(json_pack("{sI ss sI sb}", "id", n, "name", name, "score", score, "active", n % 3 != 0), out,
                  out_len);
}

/* get_config(key) -> the setting, or null when there is none. */
static int cb_get_config(void *user, const char *args, size_t len, char **out, size_t *out_len) {
    (void)user;
    json_t *a = json_loadb(args, len, 0, NULL);
    const char *key = json_string_value(json_object_get(a, "key"));
    if (!key) {
        json_decref(a);
        return fail("get_config: key must be a string", out);
    }
    json_t *v = !strcmp(key, "threshold")  ? json_integer(50)
                : !strcmp(key, "currency") ? json_string("EUR")
                : !strcmp(key, "batch")    ? json_integer(4)
                                           : json_null();
    json_decref(a);
    return answer(v, out, out_len);
}

eryx_status eryx__corpus_add_callbacks(eryx_builder *b) {
    eryx_status st = eryx_builder_add_callback(
        b, "get_user", "A user record by id.",
        "{\"type\": \"object\", \"properties\": {\"user_id\": {\"type\": \"integer\"}}, \"required\": [\"user_id\"]}",
        cb_get_user, NULL);
    if (st != ERYX_OK) return st;
    return eryx_builder_add_callback(
        b, "get_config", "A setting by name (null when there is none).",
        "{\"type\": \"object\", \"properties\": {\"key\": {\"type\": \"string\"}}, \"required\": [\"key\"]}",
        cb_get_config, NULL);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int is_snippet(const char *n) {
    size_t len = strlen(n);
    return len > 6 && n[0] >= '0' && n[0] <= '9' && n[1] >= '0' && n[1] <= '9' && n[2] == '_' &&
           !strcmp(n + len - 3, ".py");
}

int eryx__corpus_list(const char *dir, char ***names, size_t *n) {
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return -1;
    size_t cap = 0;
    int rc = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!is_snippet(e->d_name)) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(*names, cap * sizeof *grown);
            if (!grown) {
                rc = -1;
                break;
            }
            *names = grown;
        }
        if (!((*names)[*n] = strdup(e->d_name))) {
            rc = -1;
            break;
        }
        (*n)++;
    }
    closedir(d);
    if (rc != 0) {
        eryx__corpus_free_names(*names, *n);
        *names = NULL;
        *n = 0;
        return -1;
    }
    if (*n) qsort(*names, *n, sizeof **names, cmp_str);
    return 0;
}

void eryx__corpus_free_names(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

char *eryx__corpus_read(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (cap - n < 4096) {
            char *g = realloc(buf, cap ? cap * 2 : 8192);
            if (!g) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = g;
            cap = cap ? cap * 2 : 8192;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}
