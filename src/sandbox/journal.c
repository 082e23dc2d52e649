/* The callback journal: parse, authenticate, replay, record, write; see
** journal.h. The format (docs/DURABLE.md) is the reference's: {"code": the code
** run, "entries": [{"index", "name", "args_json", "result": {"Ok": value} or
** {"Err": message}}]}, plus "signature" when a key signs it. JSON is jansson's. */
#include "journal.h"
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "blob_key.h"

#define SIG_PREFIX "hmac-sha256:"
#define SIG_ROOM (sizeof ",\"signature\":\"\"" - 1 + sizeof SIG_PREFIX - 1 + 2 * ERYX__BLOB_MAC)
/* What the MAC covers comes after this, so a journal's MAC can mean nothing else. */
#define MAC_DOMAIN "eryx journal v1\n"
#define PARSE_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)
#define CANON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)

typedef struct entry {
    const char *name; /* in the parsed journal */
    char *args;       /* canonical */
    size_t args_len;
    json_t *result; /* {"Ok": v} or {"Err": s}, in the parsed journal */
    int32_t next;   /* the next entry of the same name and arguments; -1: none */
} entry;

/* One name and arguments: its entries in journal order, the next to replay first. */
typedef struct slot {
    uint64_t hash;
    int32_t first; /* -1: an empty slot */
    int32_t head;  /* the next to replay; -1: used up */
    int32_t tail;
} slot;

struct eryx__journal {
    eryx__blob_key key;
    bool keyed;
    json_t *in; /* the journal replayed (NULL: none) */
    entry *entries;
    size_t nentries;
    slot *slots;
    size_t nslots; /* a power of two, or 0 */
    bool replaying;
    uint32_t replayed;
    json_t *out, *out_entries; /* the new journal */
    size_t out_bytes;          /* its compact text's size, the signature's included */
};

struct eryx_replay {
    char *journal;
    size_t journal_len;
    uint32_t replayed, entries;
    char *name, *args, *reason; /* the suspended call; name NULL: none */
};

/* ---- text ---------------------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0 (RFC 3629: no
** overlong forms, no surrogates, nothing past U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (!len || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || (c == 0xf0 && s[1] < 0x90) ||
        (c == 0xf4 && s[1] > 0x8f))
        return 0;
    return len;
}

/* A JSON string of n bytes: as they are when valid UTF-8, else with each invalid
** byte replaced by U+FFFD (an embedder's error message may be any bytes). */
static json_t *string_lossy(const char *s, size_t n) {
    json_t *v = json_stringn(s, n);
    if (v || !s) return v;
    if (n > (SIZE_MAX - 1) / 3) return NULL;
    char *fixed = malloc(n * 3 + 1), *p = fixed;
    if (!fixed) return NULL;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq((const unsigned char *)s + i, n - i);
        if (k) {
            memcpy(p, s + i, k);
            p += k;
            i += k;
        } else {
            memcpy(p, "\xef\xbf\xbd", 3);
            p += 3;
            i++;
        }
    }
    v = json_stringn(fixed, (size_t)(p - fixed));
    free(fixed);
    return v;
}

static char *dup_bytes(const char *s, size_t n) {
    char *c = malloc(n + 1);
    if (!c) return NULL;
    if (n) memcpy(c, s, n);
    c[n] = '\0';
    return c;
}

char *eryx__journal_canonical(const char *args, size_t len, size_t *out_len) {
    json_error_t e;
    json_t *v = json_loadb(args, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    char *text = NULL;
    if (v) {
        size_t n = json_dumpb(v, NULL, 0, CANON_FLAGS);
        text = n ? malloc(n + 1) : NULL;
        if (text && json_dumpb(v, text, n, CANON_FLAGS) == n) {
            text[n] = '\0';
            *out_len = n;
        } else {
            free(text);
            text = NULL;
        }
        json_decref(v);
    }
    if (!text && (text = dup_bytes(args, len))) *out_len = len;
    return text;
}

static uint64_t key_hash(const char *name, const char *args, size_t len) {
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
    for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 0x100000001b3u;
    h = (h ^ 0xffu) * 0x100000001b3u; /* between the name and the arguments (names hold no 0xff) */
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)args[i]) * 0x100000001b3u;
    return h;
}

/* The slot of a name and arguments: its own, or the empty one where it goes. */
static slot *find_slot(const eryx__journal *j, const char *name, const char *args, size_t len) {
    uint64_t h = key_hash(name, args, len);
    for (size_t i = (size_t)h & (j->nslots - 1);; i = (i + 1) & (j->nslots - 1)) {
        slot *s = &j->slots[i];
        if (s->first < 0) return s;
        const entry *e = &j->entries[s->first];
        if (s->hash == h && e->args_len == len && !strcmp(e->name, name) && !memcmp(e->args, args, len)) return s;
    }
}

/* ---- the MAC ------------------------------------------------------------------- */

/* HMAC-SHA-256 under j's key of the domain, then obj (minus "signature") as
** canonical text. 0, or -1 when out of memory. */
static int journal_mac(const eryx__journal *j, json_t *obj, uint8_t mac[ERYX__BLOB_MAC]) {
    json_t *body = json_object();
    const char *k;
    json_t *v;
    int rc = -1;
    if (!body) return -1;
    json_object_foreach(obj, k, v) {
        if (strcmp(k, "signature") != 0 && json_object_set(body, k, v) != 0) goto done;
    }
    size_t d = sizeof MAC_DOMAIN - 1, n = json_dumpb(body, NULL, 0, CANON_FLAGS);
    uint8_t *buf = n ? malloc(d + n) : NULL;
    if (buf && json_dumpb(body, (char *)buf + d, n, CANON_FLAGS) == n) {
        memcpy(buf, MAC_DOMAIN, d);
        rc = eryx__blob_mac(&j->key, buf, d + n, mac);
    }
    free(buf);
done:
    json_decref(body);
    return rc;
}

static eryx_status check_signature(const eryx__journal *j, json_t *root, eryx__errbuf *err) {
    json_t *sig = json_object_get(root, "signature");
    if (!j->keyed) {
        if (sig)
            return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT,
                              "the journal is signed: pass the key it was signed with to replay it");
        return ERYX_OK;
    }
    const char *s = json_string_value(sig);
    size_t plen = sizeof SIG_PREFIX - 1;
    if (!sig)
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT,
                          "the journal is not signed, and a key was given: only journals signed with that key "
                          "are replayed (record it again with the key)");
    uint8_t got[ERYX__BLOB_MAC], want[ERYX__BLOB_MAC];
    if (!s || json_string_length(sig) != plen + 2 * ERYX__BLOB_MAC || strncmp(s, SIG_PREFIX, plen) != 0)
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT,
                          "the journal's \"signature\" is not \"" SIG_PREFIX "\" and 64 hex digits");
    for (size_t i = 0; i < ERYX__BLOB_MAC; i++) {
        unsigned v = 0;
        for (size_t k = 0; k < 2; k++) {
            char c = s[plen + 2 * i + k];
            int x = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (x < 0)
                return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT,
                                  "the journal's \"signature\" is not \"" SIG_PREFIX "\" and 64 hex digits");
            v = v * 16 + (unsigned)x;
        }
        got[i] = (uint8_t)v;
    }
    if (journal_mac(j, root, want) != 0) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory to check the journal");
    if (CRYPTO_memcmp(got, want, sizeof got) != 0)
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT,
                          "the journal's signature does not verify: it was changed, or signed with another key");
    return ERYX_OK;
}

/* ---- parsing ------------------------------------------------------------------- */

/* Checks the replayed journal's shape and indexes its entries by name and
** arguments. The signature was checked before anything in it is believed. */
static eryx_status index_entries(eryx__journal *j, eryx__errbuf *err) {
    json_t *code = json_object_get(j->in, "code"), *list = json_object_get(j->in, "entries");
    if (!json_is_string(code))
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "the journal has no \"code\" string: is it a journal?");
    if (!json_is_array(list))
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "the journal has no \"entries\" list: is it a journal?");
    size_t n = json_array_size(list);
    if (n > ERYX_JOURNAL_MAX_ENTRIES)
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "the journal has %zu entries, more than the %u allowed", n,
                          (unsigned)ERYX_JOURNAL_MAX_ENTRIES);
    if (!n) return ERYX_OK;
    j->entries = calloc(n, sizeof *j->entries);
    for (j->nslots = 2; j->nslots < 2 * n;) j->nslots *= 2;
    j->slots = malloc(j->nslots * sizeof *j->slots);
    if (!j->entries || !j->slots)
        return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for a journal of %zu entries", n);
    for (size_t i = 0; i < j->nslots; i++) j->slots[i] = (slot){.first = -1, .head = -1, .tail = -1};
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(list, i), *result = json_object_get(e, "result");
        json_t *name = json_object_get(e, "name"), *args = json_object_get(e, "args_json");
        json_t *ok = json_object_get(result, "Ok"), *fail = json_object_get(result, "Err");
        const char *why = !json_is_object(e)                              ? "is not an object"
                          : !json_is_integer(json_object_get(e, "index")) ? "has no integer \"index\""
                          : !json_is_string(name)                         ? "has no \"name\" string"
                          : !json_is_string(args)                         ? "has no \"args_json\" string"
                          : !json_is_object(result)                       ? "has no \"result\" object"
                          : (ok != NULL) == (fail != NULL) || json_object_size(result) != 1
                              ? "has a \"result\" that is not {\"Ok\": value} or {\"Err\": message}"
                          : fail && !json_is_string(fail) ? "has an \"Err\" that is not a string"
                                                          : NULL;
        if (why) return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "the journal's entry %zu %s", i, why);
        entry *en = &j->entries[i];
        en->name = json_string_value(name);
        en->result = result;
        en->next = -1;
        en->args = eryx__journal_canonical(json_string_value(args), json_string_length(args), &en->args_len);
        j->nentries = i + 1; /* freed from here on */
        if (!en->args) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for the journal's entry %zu", i);
        slot *s = find_slot(j, en->name, en->args, en->args_len);
        if (s->first < 0) {
            s->hash = key_hash(en->name, en->args, en->args_len);
            s->first = s->head = (int32_t)i;
        } else j->entries[s->tail].next = (int32_t)i;
        s->tail = (int32_t)i;
    }
    return ERYX_OK;
}

/* The compact size of v: a journal's bytes are counted as the text it becomes. */
static size_t text_size(const json_t *v) { return json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY); }

eryx_status eryx__journal_new(const char *code, size_t code_len, const char *text, size_t len, const void *key,
                              size_t key_len, eryx__journal **out, eryx__errbuf *err) {
    *out = NULL;
    if ((!text && len) || (!key && key_len) || (!code && code_len))
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "the journal, the key or the code is NULL with a length");
    if (key && key_len < ERYX_JOURNAL_KEY_MIN)
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT,
                          "a journal key must be at least %u bytes (got %zu): use 32 random bytes",
                          (unsigned)ERYX_JOURNAL_KEY_MIN, key_len);
    if (len > ERYX_JOURNAL_MAX_BYTES)
        return eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "the journal is %zu bytes, more than the %zu allowed", len,
                          (size_t)ERYX_JOURNAL_MAX_BYTES);
    eryx__journal *j = calloc(1, sizeof *j);
    if (!j) return eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for a journal");
    eryx_status st = ERYX_OK;
    if (key && (eryx__blob_key_set(&j->key, key, key_len) != 0)) {
        st = eryx__fail(err, ERYX_ERR_NO_MEMORY, "cannot hash the journal key");
        goto fail;
    }
    j->keyed = key != NULL;
    if (text) {
        json_error_t e;
        j->in = json_loadb(text, len, PARSE_FLAGS, &e);
        if (!j->in) {
            st = eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "the journal is not valid JSON: %s (line %d, column %d)",
                            e.text, e.line, e.column);
            goto fail;
        }
        if (!json_is_object(j->in)) {
            st = eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT, "the journal is not a JSON object: is it a journal?");
            goto fail;
        }
        if ((st = check_signature(j, j->in, err)) != ERYX_OK || (st = index_entries(j, err)) != ERYX_OK) goto fail;
    }
    j->replaying = j->nentries > 0;
    j->out = json_object();
    j->out_entries = json_array();
    if (!j->out || !j->out_entries || json_object_set_new(j->out, "code", string_lossy(code ? code : "", code_len)) ||
        json_object_set(j->out, "entries", j->out_entries)) {
        st = eryx__fail(err, ERYX_ERR_NO_MEMORY, "no memory for a journal");
        goto fail;
    }
    j->out_bytes = text_size(j->out) + (j->keyed ? SIG_ROOM : 0);
    if (j->out_bytes > ERYX_JOURNAL_MAX_BYTES) {
        st = eryx__fail(err, ERYX_ERR_INVALID_ARGUMENT,
                        "the code is too large for a journal (%zu bytes of JSON; a journal holds at most %zu)",
                        j->out_bytes, (size_t)ERYX_JOURNAL_MAX_BYTES);
        goto fail;
    }
    *out = j;
    return ERYX_OK;
fail:
    eryx__journal_free(j);
    return st;
}

void eryx__journal_free(eryx__journal *j) {
    if (!j) return;
    for (size_t i = 0; i < j->nentries; i++) free(j->entries[i].args);
    free(j->entries);
    free(j->slots);
    json_decref(j->in);
    json_decref(j->out_entries);
    json_decref(j->out);
    free(j);
}

/* ---- replay and record ----------------------------------------------------------- */

/* Appends {"index", "name", "args_json", "result"} (result taken) when it fits. */
static int append(eryx__journal *j, const char *name, const char *canon, size_t canon_len, json_t *result) {
    json_t *e = json_object(), *index = json_integer((json_int_t)json_array_size(j->out_entries));
    json_t *name_v = json_string(name), *args = string_lossy(canon, canon_len);
    bool bad = !e || !index || !name_v || !args || !result || json_object_set(e, "index", index) ||
               json_object_set(e, "name", name_v) || json_object_set(e, "args_json", args) ||
               json_object_set(e, "result", result);
    json_decref(index);
    json_decref(name_v);
    json_decref(args);
    json_decref(result);
    if (bad) {
        json_decref(e);
        return -1;
    }
    size_t size = text_size(e) + 1; /* and a comma */
    int rc = -1;
    if (json_array_size(j->out_entries) < ERYX_JOURNAL_MAX_ENTRIES && size <= ERYX_JOURNAL_MAX_BYTES - j->out_bytes &&
        json_array_append(j->out_entries, e) == 0) {
        j->out_bytes += size;
        rc = 0;
    }
    json_decref(e);
    return rc;
}

int eryx__journal_replay(eryx__journal *j, const char *name, const char *canon, size_t canon_len, bool *ok, char **out,
                         size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    if (!j->replaying) return 0;
    slot *s = find_slot(j, name, canon, canon_len);
    entry *e = s->head >= 0 ? &j->entries[s->head] : NULL;
    json_t *value = e ? json_object_get(e->result, "Ok") : NULL, *msg = e ? json_object_get(e->result, "Err") : NULL;
    char *text = value ? json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY)
                 : msg ? dup_bytes(json_string_value(msg), json_string_length(msg))
                       : NULL;
    if (!text || append(j, name, canon, canon_len, json_incref(e->result)) != 0) {
        j->replaying = false; /* the first miss: the rest runs live */
        free(text);
        return e && !text ? -1 : 0;
    }
    s->head = e->next;
    j->replayed++;
    *ok = value != NULL;
    *out = text;
    *out_len = value ? strlen(text) : json_string_length(msg);
    return 1;
}

bool eryx__journal_has_room(const eryx__journal *j) {
    return json_array_size(j->out_entries) < ERYX_JOURNAL_MAX_ENTRIES && j->out_bytes < ERYX_JOURNAL_MAX_BYTES;
}

int eryx__journal_record(eryx__journal *j, const char *name, const char *canon, size_t canon_len, bool ok,
                         const char *out, size_t out_len) {
    json_t *v;
    if (ok) {
        json_error_t e;
        v = json_loadb(out, out_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    } else {
        v = string_lossy(out ? out : "", out ? out_len : 0);
    }
    json_t *result = json_object();
    if (!result || json_object_set_new(result, ok ? "Ok" : "Err", v)) {
        json_decref(result);
        return -1;
    }
    return append(j, name, canon, canon_len, result);
}

/* ---- the new journal ---------------------------------------------------------------- */

eryx_replay *eryx__journal_finish(eryx__journal *j, char *susp_name, char *susp_args, char *susp_reason) {
    eryx_replay *r = calloc(1, sizeof *r);
    uint8_t mac[ERYX__BLOB_MAC];
    char sig[sizeof SIG_PREFIX + 2 * ERYX__BLOB_MAC];
    if (r && j->keyed) {
        if (journal_mac(j, j->out, mac) != 0) goto fail;
        int n = snprintf(sig, sizeof sig, "%s", SIG_PREFIX);
        for (size_t i = 0; i < sizeof mac; i++) n += snprintf(sig + n, sizeof sig - (size_t)n, "%02x", mac[i]);
        if (json_object_set_new(j->out, "signature", json_string(sig)) != 0) goto fail;
    }
    if (!r || !(r->journal = json_dumps(j->out, JSON_COMPACT))) goto fail;
    r->journal_len = strlen(r->journal);
    r->replayed = j->replayed;
    r->entries = (uint32_t)json_array_size(j->out_entries);
    r->name = susp_name;
    r->args = susp_args;
    r->reason = susp_reason;
    return r;
fail:
    free(r);
    free(susp_name);
    free(susp_args);
    free(susp_reason);
    return NULL;
}

/* ---- the public accessors ------------------------------------------------------------- */

const char *eryx_replay_journal(const eryx_replay *r, size_t *len) {
    if (len) *len = r ? r->journal_len : 0;
    return r ? r->journal : NULL;
}
uint32_t eryx_replay_replayed(const eryx_replay *r) { return r ? r->replayed : 0; }
uint32_t eryx_replay_entries(const eryx_replay *r) { return r ? r->entries : 0; }
const char *eryx_replay_suspended_name(const eryx_replay *r) { return r ? r->name : NULL; }
/* Out of memory when the call suspended, its arguments or reason may be missing: "". */
const char *eryx_replay_suspended_args(const eryx_replay *r) { return r && r->name ? (r->args ? r->args : "") : NULL; }
const char *eryx_replay_suspended_reason(const eryx_replay *r) {
    return r && r->name ? (r->reason ? r->reason : "") : NULL;
}

void eryx_replay_free(eryx_replay *r) {
    if (!r) return;
    free(r->journal);
    free(r->name);
    free(r->args);
    free(r->reason);
    free(r);
}
