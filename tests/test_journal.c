/* Test of durable execution (include/eryx.h, "Durable execution"): the journal
** alone (src/sandbox/journal.c: canonical arguments, FIFO replay, malformed and
** oversized journals, the bounds of a recording, signatures), then with real
** Python: record, replay without calling the host, FIFO per arguments, the first
** miss making the rest live, a suspension in the middle of asyncio.gather and its
** resume, a session rolled back after a suspension and a timeout, signed,
** tampered and unsigned journals, malformed ones, a sandbox without callbacks. */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include "check.h"
#include "eryx.h"
#include "../src/sandbox/journal.h"

static atomic_int seq;        /* every live call of get takes the next number */
static atomic_int get_calls;  /* live calls of get */
static atomic_int susp_calls; /* live calls of susp */
static atomic_int slow_calls; /* live calls of slow */
static atomic_bool approved;  /* susp answers instead of suspending */

static char *sdup(const char *s) {
    char *c = malloc(strlen(s) + 1);
    strcpy(c, s);
    return c;
}

/* get: {"seq": the call's number, "args": its arguments}. */
static int cb_get(void *user, const char *args, size_t len, char **out, size_t *out_len) {
    (void)user, (void)len;
    atomic_fetch_add(&get_calls, 1);
    char *o = malloc(len + 64);
    *out_len = (size_t)sprintf(o, "{\"seq\": %d, \"args\": %s}", atomic_fetch_add(&seq, 1) + 1, args);
    *out = o;
    return 0;
}
static int cb_fail(void *user, const char *args, size_t len, char **out, size_t *out_len) {
    (void)user, (void)args, (void)len, (void)out_len;
    *out = sdup("no such record");
    return 1;
}
/* susp: suspends with a reason until approved, then answers "approved". */
static int cb_susp(void *user, const char *args, size_t len, char **out, size_t *out_len) {
    (void)user, (void)args, (void)len, (void)out_len;
    atomic_fetch_add(&susp_calls, 1);
    if (atomic_load(&approved)) {
        *out = sdup("\"approved\"");
        return 0;
    }
    *out = sdup("need approval");
    return ERYX_CALLBACK_SUSPEND;
}
static int cb_slow(void *user, const char *args, size_t len, char **out, size_t *out_len) {
    (void)user, (void)args, (void)len, (void)out_len;
    atomic_fetch_add(&slow_calls, 1);
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
    *out = sdup("\"slow\"");
    return 0;
}

static const uint8_t key[32] = "a journal key of 32 bytes, sure";
static const uint8_t other_key[32] = "another key, also of 32 bytes!!";

/* ---- the journal alone ------------------------------------------------------------ */

static eryx_status parse(const char *text, const void *k, eryx__journal **j, eryx__errbuf *err) {
    return eryx__journal_new("code", 4, text, text ? strlen(text) : 0, k, k ? sizeof key : 0, j, err);
}

/* Refused with ERYX_ERR_INVALID_ARGUMENT and a message containing want. */
static void refused(const char *text, const void *k, const char *want) {
    eryx__journal *j = NULL;
    eryx__errbuf err = {0};
    eryx_status st = parse(text, k, &j, &err);
    CHECKF(st == ERYX_ERR_INVALID_ARGUMENT && !j && strstr(err.msg, want), "%.60s: %s: %s", text, eryx_status_name(st),
           err.msg);
    eryx__journal_free(j);
}

static void unit_tests(void) {
    size_t n = 0;
    const char *messy = "{ \"b\": [1, {\"d\": 2, \"c\": 1}], \"a\": \"\\u00e9\" }";
    char *c = eryx__journal_canonical(messy, strlen(messy), &n);
    CHECK_STR_EQ(c, "{\"a\":\"\u00e9\",\"b\":[1,{\"c\":1,\"d\":2}]}");
    CHECK(n == strlen(c));
    free(c);
    c = eryx__journal_canonical("{\"big\": 123456789012345678901234567890}", 39, &n); /* jansson: too big */
    CHECK_STR_EQ(c, "{\"big\": 123456789012345678901234567890}");
    free(c);

    /* FIFO per name and arguments; the first miss ends the replay. */
    const char *text =
        "{\"code\": \"x\", \"entries\": ["
        "{\"index\": 0, \"name\": \"get\", \"args_json\": \"{\\\"x\\\": 1}\", \"result\": {\"Ok\": 10}},"
        "{\"index\": 1, \"name\": \"get\", \"args_json\": \"{\\\"x\\\":2}\", \"result\": {\"Err\": \"e\"}},"
        "{\"index\": 2, \"name\": \"get\", \"args_json\": \"{\\\"x\\\":1}\", \"result\": {\"Ok\": [11]}}],"
        "\"extra\": true}";
    eryx__journal *j = NULL;
    eryx__errbuf err = {0};
    CHECK(parse(text, NULL, &j, &err) == ERYX_OK);
    bool ok = false;
    char *out = NULL;
    size_t out_len = 0;
    CHECK(j && eryx__journal_replay(j, "get", "{\"x\":2}", 7, &ok, &out, &out_len) == 1 && !ok);
    CHECK_STR_EQ(out, "e");
    free(out);
    CHECK(eryx__journal_replay(j, "get", "{\"x\":1}", 7, &ok, &out, &out_len) == 1 && ok);
    CHECK_STR_EQ(out, "10");
    free(out);
    CHECK(eryx__journal_replay(j, "get", "{\"x\":1}", 7, &ok, &out, &out_len) == 1 && ok && out_len == 4);
    CHECK_STR_EQ(out, "[11]");
    free(out);
    CHECK(eryx__journal_replay(j, "get", "{\"x\":1}", 7, &ok, &out, &out_len) == 0); /* used up: a miss */
    CHECK(eryx__journal_replay(j, "get", "{\"x\":2}", 7, &ok, &out, &out_len) == 0); /* live from here on */
    CHECK(eryx__journal_record(j, "get", "{\"x\":2}", 7, true, "{\"v\": 1.5}", 10) == 0);
    CHECK(eryx__journal_record(j, "get", "{}", 2, false, "bad \xff byte", 10) == 0);
    eryx_replay *r = eryx__journal_finish(j, NULL, NULL, NULL);
    CHECK(r && eryx_replay_replayed(r) == 3 && eryx_replay_entries(r) == 5 && !eryx_replay_suspended_name(r));
    CHECK(r && strstr(eryx_replay_journal(r, NULL), "{\"index\":4,\"name\":\"get\",\"args_json\":\"{}\",\"result\":"
                                                    "{\"Err\":\"bad \xef\xbf\xbd byte\"}}") != NULL);
    eryx_replay_free(r);
    eryx__journal_free(j);

    /* Malformed journals: each refused with what is wrong. */
    refused("not json", NULL, "not valid JSON");
    refused("[]", NULL, "not a JSON object");
    refused("{}", NULL, "no \"code\"");
    refused("{\"code\": \"x\"}", NULL, "no \"entries\"");
    refused("{\"code\": \"x\", \"entries\": {}}", NULL, "no \"entries\"");
    refused("{\"code\": \"x\", \"entries\": [1]}", NULL, "entry 0 is not an object");
    refused("{\"code\": \"x\", \"entries\": [{\"name\": \"get\"}]}", NULL, "entry 0 has no integer \"index\"");
    refused("{\"code\": \"x\", \"entries\": [{\"index\": 0, \"name\": \"g\", \"args_json\": \"{}\", \"result\": "
            "{\"Ok\": 1, \"Err\": \"e\"}}]}",
            NULL, "is not {\"Ok\": value} or {\"Err\": message}");
    refused("{\"code\": \"x\", \"entries\": [{\"index\": 0, \"name\": \"g\", \"args_json\": \"{}\", \"result\": "
            "{\"Err\": 3}}]}",
            NULL, "\"Err\" that is not a string");
    refused("{\"code\": \"x\", \"code\": \"y\", \"entries\": []}", NULL, "not valid JSON"); /* duplicate keys */
    eryx__journal *none = NULL;
    CHECK(eryx__journal_new("c", 1, NULL, 0, key, 31, &none, &err) == ERYX_ERR_INVALID_ARGUMENT && !none &&
          strstr(err.msg, "at least 32 bytes"));

    /* Bounds: a text past ERYX_JOURNAL_MAX_BYTES, more entries than allowed. */
    size_t big = ERYX_JOURNAL_MAX_BYTES + 1;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    huge[big] = '\0';
    refused(huge, NULL, "more than the");
    free(huge);
    const char *one = "{\"index\":0,\"name\":\"g\",\"args_json\":\"{}\",\"result\":{\"Ok\":1}},";
    size_t many = ERYX_JOURNAL_MAX_ENTRIES + 1;
    char *list = malloc(many * strlen(one) + 64), *p = list;
    p += sprintf(p, "{\"code\":\"x\",\"entries\":[");
    for (size_t i = 0; i < many; i++) p += sprintf(p, "%s", one);
    strcpy(p - 1, "]}");
    refused(list, NULL, "more than the 100000 allowed");
    free(list);

    /* A recording stops at the entry bound, and at the byte bound. */
    CHECK(eryx__journal_new("c", 1, NULL, 0, NULL, 0, &j, &err) == ERYX_OK);
    size_t recorded = 0;
    while (j && eryx__journal_has_room(j) && eryx__journal_record(j, "g", "{}", 2, true, "1", 1) == 0) recorded++;
    CHECK(recorded == ERYX_JOURNAL_MAX_ENTRIES && !eryx__journal_has_room(j));
    CHECK(eryx__journal_record(j, "g", "{}", 2, true, "1", 1) == -1);
    eryx__journal_free(j);
    size_t chunk = (size_t)15 << 20;
    char *value = malloc(chunk + 3);
    value[0] = '"';
    memset(value + 1, 'v', chunk);
    strcpy(value + chunk + 1, "\"");
    CHECK(eryx__journal_new("c", 1, NULL, 0, NULL, 0, &j, &err) == ERYX_OK);
    recorded = 0;
    while (j && eryx__journal_record(j, "g", "{}", 2, true, value, chunk + 2) == 0) recorded++;
    CHECK(recorded == 4 && eryx__journal_has_room(j)); /* a fifth 15 MiB does not fit in 64 MiB; smaller ones do */
    r = eryx__journal_finish(j, NULL, NULL, NULL);
    CHECK(r && eryx_replay_journal(r, NULL) && strlen(eryx_replay_journal(r, NULL)) <= ERYX_JOURNAL_MAX_BYTES);
    /* What was recorded replays: a recorded journal always fits. */
    eryx__journal *again = NULL;
    CHECK(r && eryx__journal_new("c", 1, eryx_replay_journal(r, NULL), strlen(eryx_replay_journal(r, NULL)), NULL, 0,
                                 &again, &err) == ERYX_OK);
    eryx__journal_free(again);
    eryx_replay_free(r);
    eryx__journal_free(j);
    free(value);
}

/* ---- with Python ----------------------------------------------------------------------- */

typedef struct run {
    eryx_status st;
    char out[4096], msg[1024];
    eryx_replay *replay; /* the caller frees it */
} run;

static run jrun(eryx_sandbox *s, const char *code, const eryx_replay *from, const void *k) {
    run r = {0};
    eryx_result *res = NULL;
    size_t jl = 0;
    const char *jt = from ? eryx_replay_journal(from, &jl) : NULL;
    r.st = eryx_sandbox_execute_with_journal(s, code, strlen(code), jt, jl, k, k ? sizeof key : 0, &res, &r.replay);
    snprintf(r.out, sizeof r.out, "%s", eryx_result_stdout(res, NULL));
    snprintf(r.msg, sizeof r.msg, "%s", eryx_sandbox_errmsg(s));
    eryx_result_free(res);
    return r;
}

static const char *plain(eryx_sandbox *s, const char *code, eryx_status want) {
    static char out[4096];
    eryx_result *res = NULL;
    eryx_status st = eryx_sandbox_execute(s, code, strlen(code), &res);
    CHECKF(st == want, "%s: %s: %s", code, eryx_status_name(st), eryx_sandbox_errmsg(s));
    snprintf(out, sizeof out, "%s", eryx_result_stdout(res, NULL));
    eryx_result_free(res);
    return out;
}

/* The journal's entry i as a jansson object (NULL: none); free the root. */
static json_t *entry_of(const eryx_replay *r, size_t i, json_t **root) {
    json_error_t e;
    *root = json_loads(eryx_replay_journal(r, NULL), 0, &e);
    return json_array_get(json_object_get(*root, "entries"), i);
}

static eryx_builder *builder(int keep_state) {
    eryx_builder *b = eryx_builder_new();
    CHECK(eryx_builder_add_callback(b, "get", "", NULL, cb_get, NULL) == ERYX_OK);
    CHECK(eryx_builder_add_callback(b, "fail", "", NULL, cb_fail, NULL) == ERYX_OK);
    CHECK(eryx_builder_add_callback(b, "susp", "", NULL, cb_susp, NULL) == ERYX_OK);
    CHECK(eryx_builder_add_callback(b, "slow", "", NULL, cb_slow, NULL) == ERYX_OK);
    CHECK(eryx_builder_set_keep_state(b, keep_state) == ERYX_OK);
    return b;
}

static void record_and_replay(eryx_sandbox *s) {
    const char *code = "a = await get(x=1)\nb = await get(x=1)\nc = await get(y=2, x=3)\n"
                       "try:\n    await fail()\nexcept CallbackError as e:\n    print('err', e)\n"
                       "print(a['seq'], b['seq'], c['seq'], c['args'])";
    int before = atomic_load(&get_calls);
    run r1 = jrun(s, code, NULL, NULL);
    CHECKF(r1.st == ERYX_OK, "%s", r1.msg);
    CHECK(atomic_load(&get_calls) == before + 3);
    CHECK(eryx_replay_entries(r1.replay) == 4 && eryx_replay_replayed(r1.replay) == 0);
    json_t *root, *e = entry_of(r1.replay, 2, &root);
    CHECK_STR_EQ(json_string_value(json_object_get(root, "code")), code);
    CHECK_STR_EQ(json_string_value(json_object_get(e, "args_json")), "{\"x\":3,\"y\":2}");
    CHECK(json_integer_value(json_object_get(e, "index")) == 2);
    e = json_array_get(json_object_get(root, "entries"), 3);
    CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(e, "result"), "Err")),
                 "callback fail failed: no such record");
    json_decref(root);

    /* Replayed: the host is not called, the guest sees the same. */
    run r2 = jrun(s, code, r1.replay, NULL);
    CHECKF(r2.st == ERYX_OK, "%s", r2.msg);
    CHECK(atomic_load(&get_calls) == before + 3);
    CHECK(eryx_replay_replayed(r2.replay) == 4 && eryx_replay_entries(r2.replay) == 4);
    CHECK_STR_EQ(r2.out, r1.out);

    /* FIFO per arguments: x=3 first, then the two x=1 in order; a third x=1 is a miss. */
    int n1 = 0, n2 = 0, n3 = 0;
    sscanf(r1.out, "err callback fail failed: no such record\n%d %d %d", &n1, &n2, &n3);
    run r3 = jrun(s,
                  "c = await get(x=3, y=2)\na = await get(x=1)\nb = await get(x=1)\nd = await get(x=1)\n"
                  "print(c['seq'], a['seq'], b['seq'], d['seq'])",
                  r1.replay, NULL);
    char want[128];
    snprintf(want, sizeof want, "%d %d %d %d\n", n3, n1, n2, atomic_load(&seq));
    CHECK_STR_EQ(r3.out, want);
    CHECK(eryx_replay_replayed(r3.replay) == 3 && atomic_load(&get_calls) == before + 4);

    /* The first miss makes the rest live, even calls the journal holds. */
    run r4 = jrun(s, "a = await get(x=1)\nm = await get(x=9)\nb = await get(x=1)\nprint(a['seq'], b['seq'])", r1.replay,
                  NULL);
    snprintf(want, sizeof want, "%d %d\n", n1, atomic_load(&seq));
    CHECK_STR_EQ(r4.out, want);
    CHECK(eryx_replay_replayed(r4.replay) == 1 && eryx_replay_entries(r4.replay) == 3);
    CHECK(atomic_load(&get_calls) == before + 6);
    eryx_replay_free(r1.replay);
    eryx_replay_free(r2.replay);
    eryx_replay_free(r3.replay);
    eryx_replay_free(r4.replay);
}

static void suspend_in_gather(eryx_sandbox *s) {
    const char *code = "import asyncio\na = await get(x=1)\n"
                       "r = await asyncio.gather(get(x=2), slow(), susp(ticket=7), get(x=3))\n"
                       "print('after', a['seq'], r[2])";
    atomic_store(&approved, false);
    int before = atomic_load(&susp_calls);
    run r1 = jrun(s, code, NULL, NULL);
    CHECKF(r1.st == ERYX_ERR_SUSPENDED, "%s: %s", eryx_status_name(r1.st), r1.msg);
    CHECK(strstr(r1.msg, "need approval") && strstr(r1.msg, "susp"));
    CHECK(!strstr(r1.out, "after"));
    CHECK_STR_EQ(eryx_replay_suspended_name(r1.replay), "susp");
    CHECK_STR_EQ(eryx_replay_suspended_args(r1.replay), "{\"ticket\":7}");
    CHECK_STR_EQ(eryx_replay_suspended_reason(r1.replay), "need approval");
    /* The suspended call is not journaled; get(x=1), awaited before, is, and so is
    ** slow, started before susp and waited for. */
    CHECK(!strstr(eryx_replay_journal(r1.replay, NULL), "\"susp\""));
    CHECK(strstr(eryx_replay_journal(r1.replay, NULL), "\"name\":\"slow\""));
    json_t *root, *e = entry_of(r1.replay, 0, &root);
    CHECK_STR_EQ(json_string_value(json_object_get(e, "args_json")), "{\"x\":1}");
    json_decref(root);
    /* Resumed: what was journaled replays, the suspended call runs again. */
    atomic_store(&approved, true);
    int gets = atomic_load(&get_calls), slows = atomic_load(&slow_calls);
    run r2 = jrun(s, code, r1.replay, NULL);
    CHECKF(r2.st == ERYX_OK, "%s", r2.msg);
    CHECK(strstr(r2.out, "after") && strstr(r2.out, "approved"));
    CHECK(eryx_replay_replayed(r2.replay) >= 1 && !eryx_replay_suspended_name(r2.replay));
    CHECK(atomic_load(&susp_calls) == before + 2);
    /* Five calls: each replayed or live, never both. */
    int live = atomic_load(&get_calls) - gets + atomic_load(&slow_calls) - slows + 1;
    CHECKF(live + (int)eryx_replay_replayed(r2.replay) == 5, "live %d, replayed %u", live,
           eryx_replay_replayed(r2.replay));
    CHECK(eryx_replay_entries(r2.replay) == 5);
    CHECK(atomic_load(&slow_calls) == slows); /* journaled, so replayed: it ran once */
    eryx_replay_free(r1.replay);
    eryx_replay_free(r2.replay);

    /* Outside a journal, a suspension stops the execution just the same. */
    atomic_store(&approved, false);
    CHECK(!strstr(
        plain(s, "try:\n    await susp(ticket=1)\nexcept BaseException:\n    print('caught')", ERYX_ERR_SUSPENDED),
        "caught"));
    CHECK_STR_EQ(plain(s, "print('next')", ERYX_OK), "next\n");
}

static void session_rollback(void) {
    eryx_builder *b = builder(1);
    CHECK(eryx_builder_set_timeout_ms(b, 500) == ERYX_OK);
    eryx_sandbox *s = NULL;
    CHECK(eryx_sandbox_new(b, &s) == ERYX_OK);
    if (!s) {
        fprintf(stderr, "%s\n", eryx_builder_errmsg(b));
        eryx_builder_free(b);
        return;
    }
    plain(s, "x = 1", ERYX_OK);
    const char *code = "x = 2\ny = await get(x=5)\nz = await susp(ticket=1)\nprint(x, y['seq'], z)";
    atomic_store(&approved, false);
    run r1 = jrun(s, code, NULL, NULL);
    CHECKF(r1.st == ERYX_ERR_SUSPENDED, "%s: %s", eryx_status_name(r1.st), r1.msg);
    /* Resumed at once and suspended again (the call the first halt left is no
    ** obstacle to the snapshot): rolled back again. */
    run again = jrun(s, code, r1.replay, NULL);
    CHECKF(again.st == ERYX_ERR_SUSPENDED && eryx_replay_replayed(again.replay) == 1, "%s", again.msg);
    /* Back to its state before the runs: x as it was, y never set. */
    CHECK_STR_EQ(plain(s, "print(x, 'y' in globals())", ERYX_OK), "1 False\n");
    eryx_replay_free(again.replay);
    atomic_store(&approved, true);
    int gets = atomic_load(&get_calls);
    run r2 = jrun(s, code, r1.replay, NULL);
    CHECKF(r2.st == ERYX_OK, "%s", r2.msg);
    CHECK(atomic_load(&get_calls) == gets && eryx_replay_replayed(r2.replay) == 1);
    CHECK(strncmp(r2.out, "2 ", 2) == 0 && strstr(r2.out, " approved\n"));
    CHECK_STR_EQ(plain(s, "print(x, z)", ERYX_OK), "2 approved\n"); /* a run that ends keeps its state */
    /* A timeout rolls back too. */
    run r3 = jrun(s, "x = 3\nwhile True: pass", NULL, NULL);
    CHECKF(r3.st == ERYX_ERR_TIMEOUT, "%s: %s", eryx_status_name(r3.st), r3.msg);
    CHECK_STR_EQ(plain(s, "print(x, z)", ERYX_OK), "2 approved\n");
    /* A Python exception is not a halt: the session keeps what ran, as execute does. */
    run r4 = jrun(s, "x = 4\nraise ValueError('v')", NULL, NULL);
    CHECK(r4.st == ERYX_ERR_PYTHON_EXCEPTION);
    CHECK_STR_EQ(plain(s, "print(x)", ERYX_OK), "4\n");
    /* Without a journal, a halt resets the session (nothing to roll back to). */
    atomic_store(&approved, false);
    plain(s, "x = 5\nawait susp(ticket=2)", ERYX_ERR_SUSPENDED);
    CHECK_STR_EQ(plain(s, "print('x' in globals())", ERYX_OK), "False\n");
    eryx_replay_free(r1.replay);
    eryx_replay_free(r2.replay);
    eryx_replay_free(r3.replay);
    eryx_replay_free(r4.replay);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
}

static void signed_journals(eryx_sandbox *s) {
    const char *code = "print((await get(x=1))['seq'])";
    run r1 = jrun(s, code, NULL, key);
    CHECKF(r1.st == ERYX_OK, "%s", r1.msg);
    const char *text = eryx_replay_journal(r1.replay, NULL);
    CHECK(strstr(text, "\"signature\":\"hmac-sha256:") != NULL);
    int gets = atomic_load(&get_calls);
    run r2 = jrun(s, code, r1.replay, key);
    CHECKF(r2.st == ERYX_OK && eryx_replay_replayed(r2.replay) == 1, "%s", r2.msg);
    CHECK(atomic_load(&get_calls) == gets && !strcmp(r2.out, r1.out));
    CHECK(strstr(eryx_replay_journal(r2.replay, NULL), "\"signature\":\"hmac-sha256:") != NULL);
    /* Tampered: the recorded result changed. */
    char *bad = sdup(text), *seqp = strstr(bad, "\"seq\":");
    CHECK(seqp != NULL);
    if (seqp) seqp[6] = seqp[6] == '9' ? '8' : '9';
    eryx_result *res = NULL;
    eryx_replay *rp = NULL;
    eryx_status st =
        eryx_sandbox_execute_with_journal(s, code, strlen(code), bad, strlen(bad), key, sizeof key, &res, &rp);
    CHECK(st == ERYX_ERR_INVALID_ARGUMENT && !res && !rp && strstr(eryx_sandbox_errmsg(s), "does not verify"));
    /* Another key; no key for a signed journal; no signature with a key. */
    st = eryx_sandbox_execute_with_journal(s, code, strlen(code), text, strlen(text), other_key, sizeof other_key, &res,
                                           &rp);
    CHECK(st == ERYX_ERR_INVALID_ARGUMENT && strstr(eryx_sandbox_errmsg(s), "does not verify"));
    st = eryx_sandbox_execute_with_journal(s, code, strlen(code), text, strlen(text), NULL, 0, &res, &rp);
    CHECK(st == ERYX_ERR_INVALID_ARGUMENT && strstr(eryx_sandbox_errmsg(s), "is signed"));
    run r3 = jrun(s, code, NULL, NULL);
    const char *unsigned_text = eryx_replay_journal(r3.replay, NULL);
    st = eryx_sandbox_execute_with_journal(s, code, strlen(code), unsigned_text, strlen(unsigned_text), key, sizeof key,
                                           &res, &rp);
    CHECK(st == ERYX_ERR_INVALID_ARGUMENT && strstr(eryx_sandbox_errmsg(s), "not signed"));
    /* A member added to a signed journal breaks its signature too. */
    char *added = malloc(strlen(text) + 16);
    sprintf(added, "{\"x\":1,%s", text + 1);
    st = eryx_sandbox_execute_with_journal(s, code, strlen(code), added, strlen(added), key, sizeof key, &res, &rp);
    CHECK(st == ERYX_ERR_INVALID_ARGUMENT && strstr(eryx_sandbox_errmsg(s), "does not verify"));
    /* Malformed: refused, nothing ran, the sandbox still works. */
    gets = atomic_load(&get_calls);
    st = eryx_sandbox_execute_with_journal(s, code, strlen(code), "{\"code\": 1}", 11, NULL, 0, &res, &rp);
    CHECK(st == ERYX_ERR_INVALID_ARGUMENT && !res && !rp && strstr(eryx_sandbox_errmsg(s), "no \"code\" string"));
    CHECK(atomic_load(&get_calls) == gets);
    CHECK(strlen(plain(s, code, ERYX_OK)) > 1);
    free(added);
    free(bad);
    eryx_replay_free(r1.replay);
    eryx_replay_free(r2.replay);
    eryx_replay_free(r3.replay);
}

int main(void) {
    unit_tests();
    eryx_builder *b = builder(0);
    eryx_sandbox *s = NULL;
    CHECK(eryx_sandbox_new(b, &s) == ERYX_OK);
    if (!s) {
        fprintf(stderr, "%s\n", eryx_builder_errmsg(b));
        return check_report("test_journal");
    }
    record_and_replay(s);
    suspend_in_gather(s);
    signed_journals(s);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    session_rollback();

    /* A sandbox without callbacks: an empty journal. */
    b = eryx_builder_new();
    CHECK(eryx_sandbox_new(b, &s) == ERYX_OK);
    run r = jrun(s, "print(1)", NULL, NULL);
    CHECK(r.st == ERYX_OK && eryx_replay_entries(r.replay) == 0 && !strcmp(r.out, "1\n"));
    CHECK_STR_EQ(eryx_replay_journal(r.replay, NULL), "{\"code\":\"print(1)\",\"entries\":[]}");
    eryx_replay_free(r.replay);
    eryx_sandbox_free(s);
    eryx_builder_free(b);
    return check_report("test_journal");
}
