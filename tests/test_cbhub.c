/* Unit test of src/sandbox/callbacks.c without a guest: calls finish, fail, time
** out and are refused as documented; a call still running when its execution ends
** or its hub is released finishes on its thread without touching freed memory (run
** under ASan by ./build.sh asan); names and schemas are checked; the description is
** valid JSON. */
#include <stdlib.h>
#include <time.h>
#include "check.h"
#include "../src/sandbox/callbacks.h"

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int cb_ok(void *user, const char *args, size_t len, char **out, size_t *out_len) {
    (void)user;
    *out = malloc(len + 1);
    memcpy(*out, args, len + 1);
    *out_len = len;
    return 0;
}
static int cb_fail(void *user, const char *args, size_t len, char **out, size_t *out_len) {
    (void)user, (void)args, (void)len, (void)out_len;
    *out = malloc(8);
    strcpy(*out, "nope");
    return 1;
}
static int cb_slow(void *user, const char *args, size_t len, char **out, size_t *out_len) {
    (void)args, (void)len, (void)out_len;
    sleep_ms(*(int *)user);
    *out = malloc(8);
    strcpy(*out, "1");
    return 0;
}

static bool never(void *u) {
    (void)u;
    return false;
}

/* Waits for the call and takes it: kind 0 result, 1 error; the bytes into buf. */
static int take(eryx__cb_hub *hub, int32_t id, char *buf, size_t cap) {
    int32_t got = eryx__cb_wait(hub, 5000, never, NULL);
    CHECK(got == id);
    int32_t n = eryx__cb_len(hub, id);
    CHECK(n >= 0 && (size_t)n < cap);
    memset(buf, 0, cap);
    return eryx__cb_take(hub, id, (uint8_t *)buf, cap - 1);
}

int main(void) {
    CHECK(eryx__cb_check("get_time", "{}") == NULL);
    CHECK(eryx__cb_check("http.get", NULL) == NULL);
    CHECK(eryx__cb_check("", NULL) != NULL);
    CHECK(eryx__cb_check("9x", NULL) != NULL);
    CHECK(eryx__cb_check("a.", NULL) != NULL);
    CHECK(eryx__cb_check(".a", NULL) != NULL);
    CHECK(eryx__cb_check("a-b", NULL) != NULL);
    CHECK(eryx__cb_check("ok", "[]") != NULL);
    CHECK(eryx__cb_check("ok", "{\"properties\": 3}") != NULL);

    int slow_ms = 300, quick_ms = 20;
    eryx__cb_def defs[] = {
        {"echo", "returns its arguments", "{\"properties\": {\"a\": {}}}", cb_ok, NULL},
        {"fail", "", "{}", cb_fail, NULL},
        {"slow", "", "{}", cb_slow, &slow_ms},
        {"quick", "", "{}", cb_slow, &quick_ms},
    };
    char *desc = eryx__cb_describe(defs, 4);
    CHECK(desc && strstr(desc, "\"name\":\"echo\"") && strstr(desc, "\"parameters\":{\"properties\":{\"a\":{}}}"));
    free(desc);

    eryx__cb_hub *hub = eryx__cb_hub_new(defs, 4, 5, 100 * 1000000ull, 64);
    CHECK(hub != NULL);
    char buf[256];
    eryx__cb_hub_begin(hub);
    int32_t id = eryx__cb_start(hub, (const uint8_t *)"echo", 4, (const uint8_t *)"{\"a\":1}", 7);
    CHECK(id >= 0 && take(hub, id, buf, sizeof buf) == 0);
    CHECK_STR_EQ(buf, "{\"a\":1}");
    id = eryx__cb_start(hub, (const uint8_t *)"fail", 4, (const uint8_t *)"{}", 2);
    CHECK(take(hub, id, buf, sizeof buf) == 1 && strstr(buf, "callback fail failed: nope"));
    CHECK(eryx__cb_start(hub, (const uint8_t *)"none", 4, (const uint8_t *)"{}", 2) == ERYX__CB_UNKNOWN);
    char big[100];
    memset(big, ' ', sizeof big);
    CHECK(eryx__cb_start(hub, (const uint8_t *)"echo", 4, (const uint8_t *)big, sizeof big) == ERYX__CB_TOO_LARGE);
    /* A call past its 100 ms timeout: an error now, its late result dropped. */
    id = eryx__cb_start(hub, (const uint8_t *)"slow", 4, (const uint8_t *)"{}", 2);
    CHECK(take(hub, id, buf, sizeof buf) == 1 && strstr(buf, "did not answer within 100 ms"));
    CHECK(eryx__cb_wait(hub, 0, never, NULL) == -1);
    /* Started 3 of 5: two more, then refused. */
    CHECK(eryx__cb_hub_invocations(hub) == 3);
    int32_t a = eryx__cb_start(hub, (const uint8_t *)"quick", 5, (const uint8_t *)"{}", 2);
    int32_t b = eryx__cb_start(hub, (const uint8_t *)"quick", 5, (const uint8_t *)"{}", 2);
    CHECK(a >= 0 && b >= 0 && a != b);
    CHECK(eryx__cb_start(hub, (const uint8_t *)"quick", 5, (const uint8_t *)"{}", 2) == ERYX__CB_LIMIT);
    CHECK(eryx__cb_hub_pending(hub) == 2);
    /* Both run at once: both done within ~one call's time. */
    int32_t first = eryx__cb_wait(hub, 5000, never, NULL), second = eryx__cb_wait(hub, 5000, never, NULL);
    CHECK((first == a && second == b) || (first == b && second == a));
    CHECK(eryx__cb_take(hub, a, (uint8_t *)buf, 1) == 0 && eryx__cb_take(hub, b, (uint8_t *)buf, 1) == 0);
    CHECK(eryx__cb_take(hub, a, (uint8_t *)buf, 1) == -1); /* taken already */

    /* A new execution abandons running calls; releasing the hub with calls in
    ** flight is safe: their threads finish and drop everything. */
    eryx__cb_start(hub, (const uint8_t *)"slow", 4, (const uint8_t *)"{}", 2);
    eryx__cb_hub_begin(hub);
    CHECK(eryx__cb_hub_pending(hub) == 0 && eryx__cb_hub_invocations(hub) == 0);
    eryx__cb_start(hub, (const uint8_t *)"slow", 4, (const uint8_t *)"{}", 2);
    eryx__cb_start(hub, (const uint8_t *)"quick", 5, (const uint8_t *)"{}", 2);
    eryx__cb_hub_release(hub);
    sleep_ms(500); /* let the threads end before the leak check at exit */
    return check_report("test_cbhub");
}
