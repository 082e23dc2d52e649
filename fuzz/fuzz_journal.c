/*
** libFuzzer target for durable execution's journals (src/sandbox/journal.c, what
** eryx_sandbox_execute_with_journal reads). Each input is parsed without a key:
** it must be refused with a message, or accepted; then every entry it holds (as
** jansson reads it) is looked up once in order, so the replay serves them all
** (a FIFO per name and arguments), and the new journal it writes must parse
** again with the same number of entries. With a fixed key the input must be
** refused (it cannot carry the right signature) unless it does carry one; the
** entries accepted are recorded into a signed journal, which must verify under
** that key and be refused under another.
*/
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "../src/sandbox/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[32] = "fuzz_journal's fixed key, 32 b.";
static const uint8_t other[32] = "fuzz_journal's other key, 32 b!";

/* Parses text; aborts on a refusal without a message. */
static eryx__journal *open_journal(const char *text, size_t len, const void *k) {
    eryx__journal *j = NULL;
    eryx__errbuf err = {0};
    eryx_status st = eryx__journal_new("code", 4, text, len, k, k ? sizeof key : 0, &j, &err);
    if (st != ERYX_OK && (!err.msg[0] || j)) abort();
    if (st == ERYX_OK && !j) abort();
    return j;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    eryx__journal *j = open_journal(text, size, NULL);
    eryx__journal *keyed = open_journal(text, size, key);
    eryx__journal_free(keyed);
    if (!j) return 0;
    json_error_t e;
    json_t *root = json_loadb(text, size, JSON_ALLOW_NUL, &e), *list = json_object_get(root, "entries");
    if (!root || !json_is_array(list)) abort(); /* accepted: a journal object */
    eryx__journal *signer = open_journal(NULL, 0, key);
    if (!signer) abort();
    size_t n = json_array_size(list), served = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *en = json_array_get(list, i), *args = json_object_get(en, "args_json");
        size_t clen = 0;
        char *canon = eryx__journal_canonical(json_string_value(args), json_string_length(args), &clen);
        bool ok = false;
        char *out = NULL;
        size_t out_len = 0;
        const char *name = json_string_value(json_object_get(en, "name"));
        if (!canon || !name) abort();
        int rc = eryx__journal_replay(j, name, canon, clen, &ok, &out, &out_len);
        if (rc == 1) {
            served++;
            if (!out || eryx__journal_record(signer, name, canon, clen, ok, out, out_len) != 0) abort();
        } else if (rc != 0 || out) {
            abort();
        }
        free(out);
        free(canon);
    }
    eryx_replay *r = eryx__journal_finish(j, NULL, NULL, NULL);
    eryx_replay *s = eryx__journal_finish(signer, NULL, NULL, NULL);
    if (!r || !s || served != n || eryx_replay_replayed(r) != n || eryx_replay_entries(r) != n) abort();
    size_t rl = 0, sl = 0;
    const char *rt = eryx_replay_journal(r, &rl), *st = eryx_replay_journal(s, &sl);
    eryx__journal *back = open_journal(rt, rl, NULL), *sback = open_journal(st, sl, key);
    eryx__journal *wrong = open_journal(st, sl, other), *unkeyed = open_journal(st, sl, NULL);
    if (!back || !sback || wrong || unkeyed) abort();
    eryx_replay *again = eryx__journal_finish(back, NULL, NULL, NULL);
    if (!again || eryx_replay_entries(again) != 0) abort(); /* nothing looked up: nothing recorded */
    eryx_replay_free(again);
    eryx__journal_free(back);
    eryx__journal_free(sback);
    eryx_replay_free(r);
    eryx_replay_free(s);
    eryx__journal_free(j);
    eryx__journal_free(signer);
    json_decref(root);
    return 0;
}
