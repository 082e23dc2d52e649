/* End-to-end test of host callbacks (eryx_builder_add_callback) with real Python:
** every JSON type and unicode both ways, positional arguments in schema order,
** dotted names, errors, limits (invocations, per-call timeout, payload size),
** asyncio.gather running calls at once, asyncio timers, top-level await. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "eryx.h"

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static char *sdup(const char *s) {
    char *c = malloc(strlen(s) + 1);
    strcpy(c, s);
    return c;
}

/* echo: returns its arguments object as it came. */
static int cb_echo(void *user, const char *args, size_t len, char **out, size_t *out_len) {
    (void)user;
    *out = malloc(len + 1);
    memcpy(*out, args, len + 1);
    *out_len = len;
    return 0;
}
static int cb_time(void *user, const char *args, size_t len, char **out, size_t *out_len) {
    (void)user, (void)args, (void)len, (void)out_len;
    *out = sdup("1700000000.5");
    return 0;
}
static int cb_fail(void *user, const char *args, size_t len, char **out, size_t *out_len) {
    (void)user, (void)args, (void)len, (void)out_len;
    *out = sdup("the record does not exist");
    return 1;
}
static int cb_bad_json(void *user, const char *args, size_t len, char **out, size_t *out_len) {
    (void)user, (void)args, (void)len, (void)out_len;
    *out = sdup("{not json");
    return 0;
}
/* slow: sleeps the given milliseconds (the "ms" argument), returns "done". */
static int cb_slow(void *user, const char *args, size_t len, char **out, size_t *out_len) {
    (void)user, (void)len, (void)out_len;
    const char *p = strstr(args, "\"ms\":");
    int ms = p ? atoi(p + 5) : 100;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    *out = sdup("\"done\"");
    return 0;
}
static int cb_big(void *user, const char *args, size_t len, char **out, size_t *out_len) {
    (void)user, (void)args, (void)len;
    size_t n = (size_t)17 << 20;
    *out = malloc(n + 3);
    (*out)[0] = '"';
    memset(*out + 1, 'x', n);
    (*out)[n + 1] = '"';
    (*out)[n + 2] = '\0';
    *out_len = n + 2;
    return 0;
}

static const char *run(eryx_sandbox *s, const char *code, eryx_status want, eryx_result **keep) {
    static char out[8192];
    eryx_result *r = NULL;
    eryx_status st = eryx_sandbox_execute(s, code, strlen(code), &r);
    if (st != want)
        fprintf(stderr, "run(%.70s): %s: %s\n%s", code, eryx_status_name(st), eryx_sandbox_errmsg(s),
                eryx_result_stderr(r, NULL));
    CHECK(st == want);
    snprintf(out, sizeof out, "%s", eryx_result_stdout(r, NULL));
    if (keep) *keep = r;
    else eryx_result_free(r);
    return out;
}

int main(void) {
    eryx_builder *b = eryx_builder_new();
    const char *echo_schema = "{\"type\": \"object\", \"properties\": {\"message\": {\"type\": \"string\"}, \"count\": "
                              "{\"type\": \"integer\"}}}";
    CHECK(eryx_builder_add_callback(b, "echo", "returns its arguments", echo_schema, cb_echo, NULL) == ERYX_OK);
    CHECK(eryx_builder_add_callback(b, "get_time", "seconds since the epoch", NULL, cb_time, NULL) == ERYX_OK);
    CHECK(eryx_builder_add_callback(b, "db.lookup", "a record", "{}", cb_fail, NULL) == ERYX_OK);
    CHECK(eryx_builder_add_callback(b, "http.get", "echoes too", "{\"properties\": {\"url\": {}}}", cb_echo, NULL) ==
          ERYX_OK);
    CHECK(eryx_builder_add_callback(b, "broken", "bad JSON", NULL, cb_bad_json, NULL) == ERYX_OK);
    CHECK(eryx_builder_add_callback(b, "slow", "sleeps", "{\"properties\": {\"ms\": {}}}", cb_slow, NULL) == ERYX_OK);
    CHECK(eryx_builder_add_callback(b, "big", "17 MiB", NULL, cb_big, NULL) == ERYX_OK);
    /* Refused registrations. */
    CHECK(eryx_builder_add_callback(b, "echo", "", NULL, cb_echo, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_add_callback(b, "1bad", "", NULL, cb_echo, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_add_callback(b, "a..b", "", NULL, cb_echo, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_add_callback(b, "ok", "", "[1]", cb_echo, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_add_callback(b, "ok", "", "{", cb_echo, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_add_callback(b, "ok", "", NULL, NULL, NULL) == ERYX_ERR_INVALID_ARGUMENT);
    CHECK(eryx_builder_set_callback_limits(b, 50, 1000) == ERYX_OK);
    eryx_sandbox *s = NULL;
    CHECK(eryx_sandbox_new(b, &s) == ERYX_OK);
    if (!s) {
        fprintf(stderr, "%s\n", eryx_builder_errmsg(b));
        return check_report("test_callbacks");
    }
    eryx_result *r = NULL;

    /* Every JSON type and unicode, there and back; positional args in schema order. */
    CHECK_STR_EQ(run(s, "print(await echo('h\\u00e9llo \\U0001F40D', 3))", ERYX_OK, NULL),
                 "{'message': 'h\u00e9llo \U0001F40D', 'count': 3}\n");
    CHECK_STR_EQ(run(s, "v = await echo(message=[1, 2.5, None, True, {'k': 'v'}], count=-7)\nprint(v)", ERYX_OK, &r),
                 "{'message': [1, 2.5, None, True, {'k': 'v'}], 'count': -7}\n");
    CHECK(eryx_result_callback_invocations(r) == 1);
    eryx_result_free(r);
    CHECK_STR_EQ(run(s, "t = await get_time(); print(type(t).__name__, t)", ERYX_OK, NULL), "float 1700000000.5\n");
    CHECK_STR_EQ(run(s, "print(await http.get('https://example.org'))", ERYX_OK, NULL),
                 "{'url': 'https://example.org'}\n");
    CHECK_STR_EQ(run(s, "print([c['name'] for c in list_callbacks()])", ERYX_OK, NULL),
                 "['echo', 'get_time', 'db.lookup', 'http.get', 'broken', 'slow', 'big']\n");
    CHECK_STR_EQ(run(s, "print(list_callbacks()[0]['parameters']['properties']['count'])", ERYX_OK, NULL),
                 "{'type': 'integer'}\n");

    /* Errors raise CallbackError with the host's message; Python can catch them. */
    CHECK_STR_EQ(
        run(s, "try:\n    await db.lookup()\nexcept CallbackError as e:\n    print('caught', e)", ERYX_OK, NULL),
        "caught callback db.lookup failed: the record does not exist\n");
    run(s, "await db.lookup()", ERYX_ERR_PYTHON_EXCEPTION, &r);
    CHECK(eryx_result_exception_type(r) && strstr(eryx_result_exception_type(r), "CallbackError"));
    eryx_result_free(r);
    CHECK(strstr(run(s, "try:\n    await broken()\nexcept CallbackError as e:\n    print(e)", ERYX_OK, NULL),
                 "invalid JSON") != NULL);
    CHECK(strstr(run(s, "try:\n    await big()\nexcept CallbackError as e:\n    print(e)", ERYX_OK, NULL),
                 "payload limit") != NULL);
    CHECK(strstr(run(s, "try:\n    await echo(message='x' * (17 << 20))\nexcept CallbackError as e:\n    print(e)",
                     ERYX_OK, NULL),
                 "payload limit") != NULL);
    CHECK(strstr(run(s, "try:\n    await echo(1, 2, 3)\nexcept TypeError as e:\n    print(e)", ERYX_OK, NULL),
                 "positional") != NULL);

    /* Limits: the 51st call in one execution is refused; a slow call times out. */
    CHECK(strstr(run(s,
                     "n = 0\ntry:\n    for i in range(60):\n        await get_time(); n += 1\n"
                     "except CallbackError as e:\n    print(n, e)",
                     ERYX_OK, &r),
                 "50 callback get_time: the callback invocation limit is reached") != NULL);
    CHECK(eryx_result_callback_invocations(r) == 50); /* the refused one is not counted */
    eryx_result_free(r);
    double t0 = now_ms();
    CHECK(strstr(run(s, "try:\n    await slow(ms=3000)\nexcept CallbackError as e:\n    print(e)", ERYX_OK, NULL),
                 "did not answer within 1000 ms") != NULL);
    double took = now_ms() - t0;
    CHECK(took >= 1000 && took < 2000);

    /* gather: three 300 ms calls at once take about 300 ms, not 900. */
    t0 = now_ms();
    CHECK_STR_EQ(
        run(s, "import asyncio\nprint(await asyncio.gather(slow(ms=300), slow(ms=300), slow(ms=300)))", ERYX_OK, NULL),
        "['done', 'done', 'done']\n");
    took = now_ms() - t0;
    fprintf(stderr, "gather of three 300 ms callbacks: %.0f ms\n", took);
    CHECK(took >= 300 && took < 700);

    /* asyncio timers: sleep, wait_for, timeout; asyncio.run in the code itself. */
    CHECK_STR_EQ(run(s,
                     "import asyncio, time\nt = time.monotonic()\nawait asyncio.sleep(0.05)\n"
                     "print(time.monotonic() - t >= 0.05)",
                     ERYX_OK, NULL),
                 "True\n");
    CHECK_STR_EQ(run(s,
                     "import asyncio\ntry:\n    await asyncio.wait_for(slow(ms=500), 0.1)\n"
                     "except TimeoutError:\n    print('timed out')",
                     ERYX_OK, NULL),
                 "timed out\n");
    CHECK_STR_EQ(run(s,
                     "import asyncio\ntry:\n    async with asyncio.timeout(0.05):\n        await asyncio.sleep(1)\n"
                     "except TimeoutError:\n    print('timeout')",
                     ERYX_OK, NULL),
                 "timeout\n");
    CHECK_STR_EQ(run(s,
                     "import asyncio\nasync def main():\n    return await echo(message='m')\n"
                     "print(asyncio.run(main()))",
                     ERYX_OK, NULL),
                 "{'message': 'm'}\n");
    /* The execution's timeout stops a guest waiting on a callback. */
    eryx_sandbox_free(s);
    CHECK(eryx_builder_set_timeout_ms(b, 200) == ERYX_OK);
    CHECK(eryx_sandbox_new(b, &s) == ERYX_OK);
    t0 = now_ms();
    run(s, "await slow(ms=5000)", ERYX_ERR_TIMEOUT, NULL);
    took = now_ms() - t0;
    CHECK(took < 400);
    CHECK_STR_EQ(run(s, "print(await echo(message='after'))", ERYX_OK, NULL), "{'message': 'after'}\n");

    eryx_sandbox_free(s);
    eryx_builder_free(b);
    return check_report("test_callbacks");
}
