/* Golden fixture runner for C: walks every JSON file in tests/cross_lang/bus, errors, identity and wire through
 * the C ABI (net.h) and writes build/parity/c.tsv. See tests/cross_lang/README.md.
 * Usage: fixtures <repo root>. JSON parsing uses cJSON (Debian: libcjson-dev). */
#include "net.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

static char errbuf[1024];

#define FAIL(...) do { snprintf(errbuf, sizeof errbuf, __VA_ARGS__); return -1; } while (0)

/* The fixture's handler (on_event): records each event, returns non-zero
 * (the C way to fail) on fail_on, emits emit_on.text from inside, closes its
 * own handler from inside after close_after calls. */
#define MAX_SEEN 256
typedef struct {
    pthread_mutex_t mu;
    char *seen[MAX_SEEN];
    size_t lens[MAX_SEEN];
    int count;
    const cJSON *fail_on;
    const char *when, *text;
    int close_after;
    net_bus_t *bus;
    net_handler_t *self;
    atomic_int registered;
} fixture_handler;

typedef struct {
    net_bus_t *bus;
    net_subscription_t *sub;
    char *cursor;
    net_handler_t *handler;
    fixture_handler *state;
} case_state;

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int fixture_on_event(const net_event_t *event, void *context) {
    fixture_handler *h = context;
    pthread_mutex_lock(&h->mu);
    int n = h->count;
    if (n < MAX_SEEN) {
        h->seen[n] = malloc(event->raw_len + 1);
        memcpy(h->seen[n], event->raw, event->raw_len);
        h->lens[n] = event->raw_len;
        h->count = n + 1;
    }
    pthread_mutex_unlock(&h->mu);
    if (h->when && strlen(h->when) == event->raw_len && memcmp(h->when, event->raw, event->raw_len) == 0)
        if (net_ingest_raw(h->bus, h->text, strlen(h->text)) != NET_OK) return 2;
    if (h->close_after > 0 && n + 1 == h->close_after) {
        for (int i = 0; i < 5000 && !atomic_load(&h->registered); i++) sleep_ms(1);
        if (net_handler_close(h->self) != NET_OK) return 3;
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, h->fail_on) {
        if (strlen(f->valuestring) == event->raw_len && memcmp(f->valuestring, event->raw, event->raw_len) == 0) return 1;
    }
    return 0;
}

static void fixture_handler_free(fixture_handler *h) {
    if (!h) return;
    for (int i = 0; i < h->count; i++) free(h->seen[i]);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); fclose(f); return NULL; }
    buf[n] = 0;
    fclose(f);
    return buf;
}

static size_t unhex(const char *h, unsigned char *out) {
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (unsigned char)v;
    }
    return n;
}

/* Bytes of an item given as text or hex; caller frees *out. */
static size_t item_bytes(const cJSON *text, const cJSON *hex, char **out) {
    if (cJSON_IsString(text)) {
        *out = strdup(text->valuestring);
        return strlen(text->valuestring);
    }
    *out = malloc(strlen(hex->valuestring) / 2 + 1);
    return unhex(hex->valuestring, (unsigned char *)*out);
}

static int event_matches(const char *raw, size_t len, const cJSON *want) {
    const cJSON *j = cJSON_GetObjectItem(want, "json");
    const cJSON *t = cJSON_GetObjectItem(want, "text");
    const cJSON *h = cJSON_GetObjectItem(want, "hex");
    if (j) {
        cJSON *got = cJSON_ParseWithLength(raw, len);
        int ok = got && cJSON_Compare(got, j, 1);
        cJSON_Delete(got);
        return ok;
    }
    if (t) return strlen(t->valuestring) == len && memcmp(t->valuestring, raw, len) == 0;
    unsigned char buf[4096];
    size_t n = unhex(h->valuestring, buf);
    return n == len && memcmp(buf, raw, len) == 0;
}

/* Compares events (pointer/length arrays) with expect.events in order. */
static int check_events(const char **raws, const size_t *lens, size_t n, const cJSON *expect) {
    const cJSON *events = cJSON_GetObjectItem(expect, "events");
    if (!events) return 0;
    if ((size_t)cJSON_GetArraySize(events) != n)
        FAIL("expected %d events, got %zu", cJSON_GetArraySize(events), n);
    for (size_t i = 0; i < n; i++)
        if (!event_matches(raws[i], lens[i], cJSON_GetArrayItem(events, (int)i)))
            FAIL("event %zu: got \"%.*s\"", i, (int)lens[i], raws[i]);
    return 0;
}

static int check_subset(const char *json, const cJSON *expect) {
    cJSON *actual = cJSON_Parse(json);
    const cJSON *want;
    int rc = 0;
    cJSON_ArrayForEach(want, expect) {
        const cJSON *got = cJSON_GetObjectItem(actual, want->string);
        if (!got || !cJSON_Compare(got, want, 1)) {
            snprintf(errbuf, sizeof errbuf, "%s: mismatch in %s", want->string, json);
            rc = -1;
            break;
        }
    }
    cJSON_Delete(actual);
    return rc;
}

static const char *cursor_arg(case_state *cs, const cJSON *step) {
    const cJSON *text = cJSON_GetObjectItem(step, "cursor_text");
    if (cJSON_IsString(text)) return text->valuestring;
    const cJSON *c = cJSON_GetObjectItem(step, "cursor");
    if (cJSON_IsString(c) && strcmp(c->valuestring, "previous") == 0) return cs->cursor;
    return NULL;
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs one step: returns the status code of the operation; fills *ok_check with
 * the result comparison (0 ok, -1 mismatch, message in errbuf). */
static int run_step(case_state *cs, const cJSON *step, int *ok_check) {
    const char *op = cJSON_GetObjectItem(step, "op")->valuestring;
    const cJSON *expect = cJSON_GetObjectItem(step, "expect");
    net_receipt_t receipt = {0, 0};
    int rc = NET_OK;
    *ok_check = 0;
    char *buf = NULL;
    if (strcmp(op, "emit") == 0 || strcmp(op, "emit_str") == 0 || strcmp(op, "emit_raw") == 0) {
        size_t len;
        if (strcmp(op, "emit") == 0) {
            buf = cJSON_PrintUnformatted(cJSON_GetObjectItem(step, "value"));
            rc = net_ingest_json(cs->bus, buf, strlen(buf), &receipt);
            cJSON_free(buf);
        } else if (strcmp(op, "emit_str") == 0) {
            const char *j = cJSON_GetObjectItem(step, "json")->valuestring;
            rc = net_ingest_json(cs->bus, j, strlen(j), &receipt);
        } else {
            len = item_bytes(cJSON_GetObjectItem(step, "text"), cJSON_GetObjectItem(step, "hex"), &buf);
            rc = net_ingest_raw_ex(cs->bus, buf, len, &receipt);
            free(buf);
        }
        if (rc == NET_OK && expect) {
            const cJSON *seq = cJSON_GetObjectItem(expect, "seq");
            const cJSON *shard = cJSON_GetObjectItem(expect, "shard");
            if ((seq && (unsigned long long)seq->valuedouble != receipt.seq) ||
                (shard && (unsigned)shard->valuedouble != receipt.shard)) {
                snprintf(errbuf, sizeof errbuf, "receipt %u/%llu", receipt.shard, (unsigned long long)receipt.seq);
                *ok_check = -1;
            }
        }
        return rc;
    }
    if (strncmp(op, "emit_", 5) == 0) { /* the three batch forms */
        const cJSON *list = cJSON_GetObjectItem(step, "values");
        int typed = list != NULL, json = 0;
        if (!list) { list = cJSON_GetObjectItem(step, "jsons"); json = list != NULL; }
        if (!list) list = cJSON_GetObjectItem(step, "texts");
        int hexes = 0;
        if (!list) { list = cJSON_GetObjectItem(step, "hexes"); hexes = 1; }
        int n = cJSON_GetArraySize(list);
        char **items = calloc((size_t)n + 1, sizeof(char *));
        size_t *lens = calloc((size_t)n + 1, sizeof(size_t));
        for (int i = 0; i < n; i++) {
            const cJSON *it = cJSON_GetArrayItem(list, i);
            if (typed) { items[i] = cJSON_PrintUnformatted(it); lens[i] = strlen(items[i]); }
            else if (hexes) lens[i] = item_bytes(NULL, it, &items[i]);
            else { items[i] = strdup(it->valuestring); lens[i] = strlen(items[i]); }
        }
        size_t count = 0;
        rc = (typed || json)
            ? net_ingest_json_batch(cs->bus, (const char *const *)items, lens, (size_t)n, &count)
            : net_ingest_raw_batch(cs->bus, (const char *const *)items, lens, (size_t)n, &count);
        for (int i = 0; i < n; i++) free(items[i]);
        free(items);
        free(lens);
        const cJSON *want = expect ? cJSON_GetObjectItem(expect, "count") : NULL;
        if (rc == NET_OK && want && (size_t)want->valuedouble != count) {
            snprintf(errbuf, sizeof errbuf, "count %zu", count);
            *ok_check = -1;
        }
        return rc;
    }
    if (strcmp(op, "poll") == 0) {
        const char *cursor = cursor_arg(cs, step);
        const cJSON *filter = cJSON_GetObjectItem(step, "filter");
        char *ftext = filter ? cJSON_PrintUnformatted(filter) : NULL;
        net_poll_result_t r;
        rc = net_poll_filtered(cs->bus, (size_t)cJSON_GetObjectItem(step, "limit")->valuedouble,
                               cursor, cursor ? strlen(cursor) : 0, ftext, ftext ? strlen(ftext) : 0, &r);
        cJSON_free(ftext);
        if (rc == NET_OK) {
            free(cs->cursor);
            cs->cursor = strdup(r.next_cursor);
            if (expect) {
                const char **raws = calloc(r.count + 1, sizeof(char *));
                size_t *lens = calloc(r.count + 1, sizeof(size_t));
                for (size_t i = 0; i < r.count; i++) { raws[i] = r.events[i].raw; lens[i] = r.events[i].raw_len; }
                *ok_check = check_events(raws, lens, r.count, expect);
                const cJSON *c = cJSON_GetObjectItem(expect, "count");
                const cJSON *m = cJSON_GetObjectItem(expect, "has_more");
                if (!*ok_check && c && (size_t)c->valuedouble != r.count) { snprintf(errbuf, sizeof errbuf, "count %zu", r.count); *ok_check = -1; }
                if (!*ok_check && m && cJSON_IsTrue(m) != r.has_more) { snprintf(errbuf, sizeof errbuf, "has_more %d", r.has_more); *ok_check = -1; }
                free(raws);
                free(lens);
            }
        }
        net_free_poll_result(&r);
        return rc;
    }
    if (strcmp(op, "subscribe") == 0) {
        const char *cursor = cursor_arg(cs, step);
        const cJSON *filter = cJSON_GetObjectItem(step, "filter");
        char *ftext = filter ? cJSON_PrintUnformatted(filter) : NULL;
        net_subscription_free(cs->sub);
        cs->sub = NULL;
        rc = net_subscribe(cs->bus, cursor, cursor ? strlen(cursor) : 0, ftext, ftext ? strlen(ftext) : 0, &cs->sub);
        cJSON_free(ftext);
        return rc;
    }
    if (strcmp(op, "next") == 0) {
        long long deadline = now_ms() + (long long)cJSON_GetObjectItem(step, "timeout_ms")->valuedouble;
        const cJSON *events = cJSON_GetObjectItem(expect, "events");
        int want = events ? cJSON_GetArraySize(events) : -1;
        const char *raws[256];
        size_t lens[256];
        char *owned[256];
        size_t got = 0;
        int done = 0;
        for (;;) {
            long long left = deadline - now_ms();
            if (left < 0 || (want >= 0 && want > 0 && got >= (size_t)want)) break;
            net_poll_result_t r;
            size_t max = want > 0 ? (size_t)want - got : 256 - got;
            rc = net_subscription_next(cs->sub, max, left, &r);
            for (size_t i = 0; i < r.count && got < 256; i++, got++) {
                owned[got] = malloc(r.events[i].raw_len + 1);
                memcpy(owned[got], r.events[i].raw, r.events[i].raw_len);
                raws[got] = owned[got];
                lens[got] = r.events[i].raw_len;
            }
            net_free_poll_result(&r);
            if (rc == NET_DONE) { done = 1; rc = NET_OK; break; }
            if (rc != NET_OK) break;
        }
        if (rc == NET_OK) {
            if (cJSON_IsTrue(cJSON_GetObjectItem(expect, "done")) && !done) {
                snprintf(errbuf, sizeof errbuf, "stream did not end");
                *ok_check = -1;
            } else {
                *ok_check = check_events(raws, lens, got, expect);
            }
        }
        for (size_t i = 0; i < got; i++) free(owned[i]);
        return rc;
    }
    if (strcmp(op, "leave") == 0) {
        /* C has no iterator: take a batch, deliver `take`, give the rest back. */
        size_t take = (size_t)cJSON_GetObjectItem(step, "take")->valuedouble;
        net_poll_result_t r;
        rc = net_subscription_next(cs->sub, 256, 2000, &r);
        if (rc == NET_OK) {
            size_t kept = r.count < take ? r.count : take;
            const char *raws[256];
            size_t lens[256];
            for (size_t i = 0; i < kept; i++) { raws[i] = r.events[i].raw; lens[i] = r.events[i].raw_len; }
            *ok_check = check_events(raws, lens, kept, expect);
            rc = net_subscription_unread(cs->sub, r.count - kept);
        }
        net_free_poll_result(&r);
        return rc;
    }
    if (strcmp(op, "on_event") == 0) {
        fixture_handler *h = calloc(1, sizeof *h);
        pthread_mutex_init(&h->mu, NULL);
        h->fail_on = cJSON_GetObjectItem(step, "fail_on");
        const cJSON *emit_on = cJSON_GetObjectItem(step, "emit_on");
        if (emit_on) {
            h->when = cJSON_GetObjectItem(emit_on, "when")->valuestring;
            h->text = cJSON_GetObjectItem(emit_on, "text")->valuestring;
        }
        const cJSON *close_after = cJSON_GetObjectItem(step, "close_after");
        h->close_after = close_after ? (int)close_after->valuedouble : 0;
        h->bus = cs->bus;
        const char *cursor = cursor_arg(cs, step);
        const cJSON *filter = cJSON_GetObjectItem(step, "filter");
        const cJSON *filter_text = cJSON_GetObjectItem(step, "filter_text");
        char *ftext = filter ? cJSON_PrintUnformatted(filter) : NULL;
        const char *f = filter_text ? filter_text->valuestring : ftext;
        net_event_closure_t closure = {h, fixture_on_event, NULL};
        rc = net_bus_on_event(cs->bus, cursor, cursor ? strlen(cursor) : 0, f, f ? strlen(f) : 0, closure, &h->self);
        cJSON_free(ftext);
        if (rc != NET_OK) { fixture_handler_free(h); return rc; }
        atomic_store(&h->registered, 1);
        cs->handler = h->self;
        cs->state = h;
        return rc;
    }
    if (strcmp(op, "handler_wait") == 0) {
        fixture_handler *h = cs->state;
        const cJSON *events = cJSON_GetObjectItem(expect, "events");
        int want = events ? cJSON_GetArraySize(events) : 0;
        int want_closed = cJSON_IsTrue(cJSON_GetObjectItem(expect, "closed"));
        net_handler_stats_t st = {0, 0, false};
        for (int i = 0; i < 5000; i++) {
            pthread_mutex_lock(&h->mu);
            int n = h->count;
            pthread_mutex_unlock(&h->mu);
            rc = net_handler_stats(cs->handler, &st);
            if (rc != NET_OK) return rc;
            if (n >= want && (!want_closed || st.closed)) break;
            sleep_ms(1);
        }
        pthread_mutex_lock(&h->mu);
        *ok_check = check_events((const char **)h->seen, h->lens, (size_t)h->count, expect);
        pthread_mutex_unlock(&h->mu);
        char json[160];
        snprintf(json, sizeof json, "{\"delivered\":%llu,\"failed\":%llu,\"closed\":%s}",
                 (unsigned long long)st.delivered, (unsigned long long)st.failed, st.closed ? "true" : "false");
        if (*ok_check == 0) {
            cJSON *rest = cJSON_Duplicate(expect, 1);
            cJSON_DeleteItemFromObject(rest, "events");
            *ok_check = check_subset(json, rest);
            cJSON_Delete(rest);
        }
        return NET_OK;
    }
    if (strcmp(op, "handler_close") == 0) return net_handler_close(cs->handler);
    if (strcmp(op, "flush") == 0) return net_flush(cs->bus);
    if (strcmp(op, "shutdown") == 0) return net_shutdown(cs->bus);
    if (strcmp(op, "stats") == 0 || strcmp(op, "health") == 0) {
        char *json = NULL;
        rc = strcmp(op, "stats") == 0 ? net_stats(cs->bus, &json, NULL) : net_health(cs->bus, &json, NULL);
        if (rc == NET_OK && expect) *ok_check = check_subset(json, expect);
        net_string_free(json);
        return rc;
    }
    snprintf(errbuf, sizeof errbuf, "unknown op %s", op);
    *ok_check = -1;
    return NET_OK;
}

/* A copy of `v` with every number as its decimal string: NetDB results carry
 * 64-bit fields as decimal strings, fixtures write small ones as numbers, and
 * both compare by value this way. Free with cJSON_Delete. */
static cJSON *norm(const cJSON *v) {
    if (cJSON_IsNumber(v)) {
        char buf[32];
        snprintf(buf, sizeof buf, "%.0f", v->valuedouble);
        return cJSON_CreateString(buf);
    }
    if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
        cJSON *out = cJSON_IsArray(v) ? cJSON_CreateArray() : cJSON_CreateObject();
        const cJSON *item;
        cJSON_ArrayForEach(item, v) {
            if (cJSON_IsArray(v)) cJSON_AddItemToArray(out, norm(item));
            else cJSON_AddItemToObject(out, item->string, norm(item));
        }
        return out;
    }
    return cJSON_Duplicate(v, 1);
}

/* Whether `got` equals `want` once both are normalized (see norm). */
static int same_value(const cJSON *got, const cJSON *want) {
    cJSON *a = norm(got), *b = norm(want);
    int same = cJSON_Compare(a, b, 1);
    cJSON_Delete(a);
    cJSON_Delete(b);
    return same;
}

/* cortex/snapshot.json: restore another language's snapshot, then query. */
static void check_snapshots(const cJSON *doc, int *pass, int *fail, const char *file) {
    const cJSON *snap;
    cJSON_ArrayForEach(snap, cJSON_GetObjectItem(doc, "snapshots")) {
        const char *hex = cJSON_GetObjectItem(snap, "hex")->valuestring;
        unsigned char *bytes = malloc(strlen(hex) / 2 + 1);
        size_t n = unhex(hex, bytes);
        net_netdb_t *db = NULL;
        int rc = net_netdb_restore(NULL, 0, bytes, n, &db);
        free(bytes);
        if (rc != NET_OK) { (*fail)++; fprintf(stderr, "%s: restore: %s\n", file, net_last_error_message()); continue; }
        const cJSON *q;
        cJSON_ArrayForEach(q, cJSON_GetObjectItem(snap, "queries")) {
            const char *op = cJSON_GetObjectItem(q, "op")->valuestring;
            const cJSON *filter = cJSON_GetObjectItem(q, "filter");
            cJSON *args = filter ? cJSON_Duplicate(filter, 1) : cJSON_CreateObject();
            if (!filter) cJSON_AddItemToObject(args, "id", cJSON_Duplicate(cJSON_GetObjectItem(q, "id"), 1));
            char *text = cJSON_PrintUnformatted(args);
            cJSON_Delete(args);
            char *json = NULL;
            int ok = net_netdb_read(db, cJSON_GetObjectItem(q, "model")->valuestring, op, text, strlen(text), &json, NULL) == NET_OK;
            cJSON *got = ok ? cJSON_Parse(json) : NULL;
            const cJSON *want = cJSON_GetObjectItem(q, "expect")->child;
            if (ok && strcmp(op, "find_many") == 0) {
                cJSON *ids = cJSON_CreateArray();
                const cJSON *row;
                cJSON_ArrayForEach(row, got) cJSON_AddItemToArray(ids, cJSON_Duplicate(cJSON_GetObjectItem(row, "id"), 1));
                cJSON_Delete(got);
                got = ids;
            }
            ok = ok && same_value(got, want);
            if (ok) (*pass)++; else { (*fail)++; fprintf(stderr, "%s: %s gave %s\n", file, op, json ? json : net_last_error_message()); }
            cJSON_Delete(got);
            net_string_free(json);
            cJSON_free(text);
        }
        net_netdb_free(db);
    }
}

static int is_write(const char *op) {
    const char *writes[] = {"create", "rename", "complete", "delete", "store", "retag", "pin", "unpin"};
    for (size_t i = 0; i < sizeof writes / sizeof *writes; i++)
        if (strcmp(op, writes[i]) == 0) return 1;
    return 0;
}

/* cortex/tasks.json, cortex/memories.json: writes wait for their token, queries compare. */
static int run_model_case(const cJSON *c) {
    const char *model = cJSON_GetObjectItem(c, "model")->valuestring;
    net_netdb_t *db = NULL;
    if (net_netdb_open(NULL, 0, &db) != NET_OK) FAIL("open: %s", net_last_error_message());
    int result = 0, i = 0;
    const cJSON *step;
    cJSON_ArrayForEach(step, cJSON_GetObjectItem(c, "steps")) {
        const char *op = cJSON_GetObjectItem(step, "op")->valuestring;
        cJSON *args = cJSON_Duplicate(step, 1);
        cJSON_DeleteItemFromObject(args, "op");
        cJSON_DeleteItemFromObject(args, "expect");
        const cJSON *filter = cJSON_GetObjectItem(step, "filter");
        char *text = cJSON_PrintUnformatted(filter ? filter : args);
        cJSON_Delete(args);
        if (is_write(op)) {
            uint64_t seq = 0;
            int rc = net_netdb_write(db, model, op, text, strlen(text), &seq);
            if (rc == NET_OK) rc = net_netdb_wait(db, model, seq, 5000);
            if (rc != NET_OK) { snprintf(errbuf, sizeof errbuf, "step %d (%s): %s", i, op, net_last_error_message()); result = -1; }
        } else {
            char *json = NULL;
            if (net_netdb_read(db, model, op, text, strlen(text), &json, NULL) != NET_OK) {
                snprintf(errbuf, sizeof errbuf, "step %d (%s): %s", i, op, net_last_error_message());
                result = -1;
            } else {
                cJSON *got = cJSON_Parse(json);
                const cJSON *expect = cJSON_GetObjectItem(step, "expect");
                const cJSON *want = expect->child;
                int ok;
                if (strcmp(op, "find_many") == 0) {
                    cJSON *ids = cJSON_CreateArray();
                    const cJSON *row;
                    cJSON_ArrayForEach(row, got) cJSON_AddItemToArray(ids, cJSON_Duplicate(cJSON_GetObjectItem(row, "id"), 1));
                    ok = same_value(ids, want);
                    cJSON_Delete(ids);
                } else {
                    ok = same_value(got, want);
                }
                if (!ok) { snprintf(errbuf, sizeof errbuf, "step %d (%s): got %s", i, op, json); result = -1; }
                cJSON_Delete(got);
            }
            net_string_free(json);
        }
        cJSON_free(text);
        if (result) break;
        i++;
    }
    net_netdb_free(db);
    return result;
}

static int run_case(const cJSON *c) {
    if (cJSON_GetObjectItem(c, "model")) return run_model_case(c);
    const cJSON *config = cJSON_GetObjectItem(c, "config");
    const cJSON *config_text = cJSON_GetObjectItem(c, "config_text");
    char *text = config ? cJSON_PrintUnformatted(config) : strdup(config_text ? config_text->valuestring : "");
    case_state cs = {NULL, NULL, NULL, NULL, NULL};
    int rc = net_bus_new(text, strlen(text), &cs.bus);
    if (config) cJSON_free(text); else free(text);
    const cJSON *open_error = cJSON_GetObjectItem(c, "open_error");
    if (open_error) {
        net_bus_free(cs.bus);
        if (rc == NET_OK) FAIL("open: expected %s, got success", open_error->valuestring);
        if (strcmp(net_error_kind(rc), open_error->valuestring) != 0) FAIL("open: expected %s, got %s", open_error->valuestring, net_error_kind(rc));
        return 0;
    }
    if (rc != NET_OK) FAIL("open: %s", net_last_error_message());
    int result = 0, i = 0;
    const cJSON *step;
    cJSON_ArrayForEach(step, cJSON_GetObjectItem(c, "steps")) {
        int check = 0;
        rc = run_step(&cs, step, &check);
        const cJSON *err = cJSON_GetObjectItem(step, "error");
        const char *op = cJSON_GetObjectItem(step, "op")->valuestring;
        char prefix[64];
        snprintf(prefix, sizeof prefix, "step %d (%s): ", i, op);
        if (err && rc == NET_OK) { snprintf(errbuf, sizeof errbuf, "%sexpected %s, got success", prefix, err->valuestring); result = -1; }
        else if (err && strcmp(net_error_kind(rc), err->valuestring) != 0) { snprintf(errbuf, sizeof errbuf, "%sexpected %s, got %s", prefix, err->valuestring, net_error_kind(rc)); result = -1; }
        else if (!err && rc < 0) { snprintf(errbuf, sizeof errbuf, "%sunexpected %s", prefix, net_last_error_message()); result = -1; }
        else if (!err && check != 0) { char tmp[sizeof errbuf + sizeof prefix]; snprintf(tmp, sizeof tmp, "%s%s", prefix, errbuf); snprintf(errbuf, sizeof errbuf, "%.1000s", tmp); result = -1; }
        if (result) break;
        i++;
    }
    net_subscription_free(cs.sub);
    net_handler_free(cs.handler);
    fixture_handler_free(cs.state);
    net_bus_free(cs.bus);
    free(cs.cursor);
    return result;
}

static int check_kinds(const cJSON *doc) {
    char *json = NULL;
    if (net_error_kinds_json(&json, NULL) != NET_OK) FAIL("net_error_kinds_json failed");
    cJSON *table = cJSON_Parse(json);
    net_string_free(json);
    int same = cJSON_Compare(table, cJSON_GetObjectItem(doc, "kinds"), 1);
    cJSON_Delete(table);
    if (!same) FAIL("kinds.json differs from the library's table");
    const cJSON *k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItem(doc, "kinds")) {
        int code = (int)cJSON_GetObjectItem(k, "code")->valuedouble;
        const char *kind = net_error_kind(code);
        if (!kind || strcmp(kind, cJSON_GetObjectItem(k, "kind")->valuestring) != 0) FAIL("code %d has no kind", code);
    }
    return 0;
}

/* identity/vectors.json: one case per vector and per error entry. */
static void check_identity(const cJSON *doc, int *pass, int *fail, const char *file) {
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(doc, "vectors")) {
        unsigned char seed[64], pk[32], msg[256], sig[64], want[64];
        size_t seed_len = unhex(cJSON_GetObjectItem(v, "seed")->valuestring, seed);
        size_t msg_len = unhex(cJSON_GetObjectItem(v, "message")->valuestring, msg);
        net_identity_t *id = NULL;
        uint64_t node_id = 0;
        uint32_t origin = 0;
        char node_text[32];
        int ok = net_identity_from_seed(seed, seed_len, &id) == NET_OK
            && net_identity_public_key(id, pk) == NET_OK
            && net_identity_sign(id, msg, msg_len, sig) == NET_OK
            && net_public_key_ids(pk, 32, &node_id, &origin) == NET_OK;
        snprintf(node_text, sizeof node_text, "%llu", (unsigned long long)node_id);
        ok = ok && unhex(cJSON_GetObjectItem(v, "public_key")->valuestring, want) == 32 && memcmp(pk, want, 32) == 0;
        ok = ok && strcmp(node_text, cJSON_GetObjectItem(v, "node_id")->valuestring) == 0;
        ok = ok && (double)origin == cJSON_GetObjectItem(v, "origin_hash")->valuedouble;
        ok = ok && unhex(cJSON_GetObjectItem(v, "signature")->valuestring, want) == 64 && memcmp(sig, want, 64) == 0;
        ok = ok && net_verify(pk, 32, msg, msg_len, sig, 64) == NET_OK;
        net_identity_free(id);
        if (ok) (*pass)++; else { (*fail)++; fprintf(stderr, "%s: vector %s failed\n", file, cJSON_GetObjectItem(v, "seed")->valuestring); }
    }
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(doc, "errors")) {
        const char *op = cJSON_GetObjectItem(v, "op")->valuestring;
        unsigned char a[128], b[128], c[128];
        int rc;
        if (strcmp(op, "from_seed") == 0) {
            net_identity_t *id = NULL;
            rc = net_identity_from_seed(a, unhex(cJSON_GetObjectItem(v, "seed")->valuestring, a), &id);
            net_identity_free(id);
        } else if (strcmp(op, "ids") == 0) {
            rc = net_public_key_ids(a, unhex(cJSON_GetObjectItem(v, "public_key")->valuestring, a), NULL, NULL);
        } else {
            size_t al = unhex(cJSON_GetObjectItem(v, "public_key")->valuestring, a);
            size_t bl = unhex(cJSON_GetObjectItem(v, "message")->valuestring, b);
            size_t cl = unhex(cJSON_GetObjectItem(v, "signature")->valuestring, c);
            rc = net_verify(a, al, b, bl, c, cl);
        }
        const char *kind = net_error_kind(rc);
        if (kind && strcmp(kind, cJSON_GetObjectItem(v, "error")->valuestring) == 0) (*pass)++;
        else { (*fail)++; fprintf(stderr, "%s: %s gave %s\n", file, op, kind ? kind : "?"); }
    }
}

/* wire/headers.json: encode, decode, and malformed inputs with their reasons. */
static void check_wire(const cJSON *doc, int *pass, int *fail, const char *file) {
    const char *lists[] = {"headers", "routing_headers"};
    for (int l = 0; l < 2; l++) {
        const cJSON *h;
        cJSON_ArrayForEach(h, cJSON_GetObjectItem(doc, lists[l])) {
            unsigned char out[64], want[64];
            size_t n = unhex(cJSON_GetObjectItem(h, "hex")->valuestring, want);
            char *fields = cJSON_PrintUnformatted(cJSON_GetObjectItem(h, "fields"));
            int rc = l == 0 ? net_wire_header_encode(fields, strlen(fields), out)
                            : net_wire_routing_encode(fields, strlen(fields), out);
            cJSON_free(fields);
            char *json = NULL;
            int ok = rc == NET_OK && memcmp(out, want, n) == 0
                && (l == 0 ? net_wire_header_decode(want, n, &json, NULL) : net_wire_routing_decode(want, n, &json, NULL)) == NET_OK;
            cJSON *back = json ? cJSON_Parse(json) : NULL;
            ok = ok && cJSON_Compare(back, cJSON_GetObjectItem(h, "fields"), 1);
            cJSON_Delete(back);
            net_string_free(json);
            if (ok) (*pass)++; else { (*fail)++; fprintf(stderr, "%s: %s entry failed (%s)\n", file, lists[l], net_last_error_message()); }
        }
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(doc, "malformed")) {
        unsigned char bytes[256];
        size_t n = unhex(cJSON_GetObjectItem(m, "hex")->valuestring, bytes);
        char *json = NULL;
        int rc = strcmp(cJSON_GetObjectItem(m, "decoder")->valuestring, "header") == 0
            ? net_wire_header_decode(bytes, n, &json, NULL) : net_wire_routing_decode(bytes, n, &json, NULL);
        net_string_free(json);
        const char *kind = net_error_kind(rc);
        int ok = kind && strcmp(kind, cJSON_GetObjectItem(m, "error")->valuestring) == 0
            && strstr(net_last_error_message(), cJSON_GetObjectItem(m, "reason")->valuestring) != NULL;
        if (ok) (*pass)++; else { (*fail)++; fprintf(stderr, "%s: malformed %s not rejected as expected\n", file, cJSON_GetObjectItem(m, "reason")->valuestring); }
    }
}

static void tally(int ok, int *pass, int *fail, const char *file, const char *what) {
    if (ok) (*pass)++;
    else { (*fail)++; fprintf(stderr, "%s: %s failed (%s)\n", file, what, net_last_error_message()); }
}

static int kind_matches(int rc, const cJSON *want) {
    const char *kind = net_error_kind(rc);
    return rc < 0 && kind && strcmp(kind, want->valuestring) == 0;
}

/* mesh/config.json: each config binds on loopback or fails with its kind. */
static void check_mesh_configs(const cJSON *doc, int *pass, int *fail, const char *file) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "configs")) {
        char *config = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "config"));
        net_mesh_t *mesh = NULL;
        int rc = net_mesh_bind(config, strlen(config), &mesh);
        free(config);
        const cJSON *want = cJSON_GetObjectItem(c, "error");
        int ok;
        if (want) {
            ok = kind_matches(rc, want) && mesh == NULL;
        } else {
            unsigned char pk[32], expect[32];
            uint64_t node_id = 0;
            char node_text[32];
            ok = rc == NET_OK && net_mesh_identity(mesh, pk, &node_id) == NET_OK;
            snprintf(node_text, sizeof node_text, "%llu", (unsigned long long)node_id);
            const cJSON *wpk = cJSON_GetObjectItem(c, "public_key"), *wid = cJSON_GetObjectItem(c, "node_id");
            if (ok && wpk) ok = unhex(wpk->valuestring, expect) == 32 && memcmp(pk, expect, 32) == 0;
            if (ok && wid) ok = strcmp(node_text, wid->valuestring) == 0;
        }
        net_mesh_free(mesh);
        tally(ok, pass, fail, file, cJSON_GetObjectItem(c, "name")->valuestring);
    }
}

/* 1 if the JSON object `text` has exactly the keys listed in `names`. */
static int same_keys(const char *text, const cJSON *names) {
    cJSON *obj = cJSON_Parse(text);
    int ok = obj != NULL && cJSON_GetArraySize(obj) == cJSON_GetArraySize(names);
    const cJSON *n;
    cJSON_ArrayForEach(n, names) ok = ok && cJSON_GetObjectItem(obj, n->valuestring) != NULL;
    cJSON_Delete(obj);
    return ok;
}

/* mesh/records.json: the counters' JSON keys, the message struct's fields
 * (by name: the compiler checks them), and the stream defaults. */
static void check_shared_records(const cJSON *doc, int *pass, int *fail, const char *file) {
    const char *config = "{\"network_key\":\"0707070707070707070707070707070707070707070707070707070707070707\",\"bind\":\"127.0.0.1:0\"}";
    const cJSON *records = cJSON_GetObjectItem(doc, "records");
    const cJSON *defaults = cJSON_GetObjectItem(doc, "stream_defaults");
    net_mesh_t *a = NULL, *b = NULL;
    char *addr = NULL, *stats = NULL, *plain = NULL, *reliable = NULL;
    unsigned char key[32];
    uint64_t a_id = 0, b_id = 0, peer = 0;
    int up = net_mesh_bind(config, strlen(config), &a) == NET_OK && net_mesh_bind(config, strlen(config), &b) == NET_OK
             && net_mesh_local_addr(b, &addr, NULL) == NET_OK && net_mesh_identity(b, key, &b_id) == NET_OK
             && net_mesh_identity(a, NULL, &a_id) == NET_OK && net_mesh_connect(a, addr, key, 32, &peer) == NET_OK
             && net_mesh_open_stream(a, peer, 9, NET_STREAM_FIRE_AND_FORGET, 0) == NET_OK
             && net_mesh_open_stream(a, peer, 10, NET_STREAM_RELIABLE, 0) == NET_OK
             && net_mesh_stats(a, &stats, NULL) == NET_OK && net_mesh_stream_stats(a, peer, 9, &plain, NULL) == NET_OK
             && net_mesh_stream_stats(a, peer, 10, &reliable, NULL) == NET_OK;
    /* The message struct has from, stream_id and payload (a compile-time check). */
    struct net_mesh_message_t message = {0};
    int names = up && same_keys(stats, cJSON_GetObjectItem(records, "mesh_stats"))
                && same_keys(plain, cJSON_GetObjectItem(records, "stream_stats"))
                && cJSON_GetArraySize(cJSON_GetObjectItem(records, "message")) == 3
                && sizeof message.from + sizeof message.stream_id + sizeof message.payload > 0;
    tally(names, pass, fail, file, "record fields");
    int ok = up;
    if (ok) {
        cJSON *p = cJSON_Parse(plain), *r = cJSON_Parse(reliable);
        ok = p && r
             && strcmp(cJSON_GetObjectItem(p, "reliability")->valuestring,
                       cJSON_GetObjectItem(defaults, "reliability")->valuestring) == 0
             && cJSON_GetObjectItem(r, "window")->valuedouble == cJSON_GetObjectItem(defaults, "reliable_window")->valuedouble;
        cJSON_Delete(p);
        cJSON_Delete(r);
    }
    ok = ok && net_mesh_send(a, peer, 9, (const uint8_t *)"x", 1) == NET_OK
         && net_mesh_recv(b, 10000, &message) == NET_OK && message.from == a_id && message.stream_id == 9;
    net_bytes_free(message.payload, message.len);
    tally(ok, pass, fail, file, "stream defaults");
    net_string_free(addr);
    net_string_free(stats);
    net_string_free(plain);
    net_string_free(reliable);
    net_mesh_free(a);
    net_mesh_free(b);
}

/* mesh/bus_link.json: link options on A for peer B, then events carried
 * from a bus on A to a bus on B. */
static void check_bus_links(const cJSON *doc, int *pass, int *fail, const char *file) {
    const char *config = "{\"network_key\":\"0707070707070707070707070707070707070707070707070707070707070707\",\"bind\":\"127.0.0.1:0\"}";
    net_mesh_t *a = NULL, *b = NULL;
    char *addr = NULL;
    unsigned char key[32];
    uint64_t a_id = 0, b_id = 0, peer = 0;
    if (net_mesh_bind(config, strlen(config), &a) != NET_OK || net_mesh_bind(config, strlen(config), &b) != NET_OK
        || net_mesh_local_addr(b, &addr, NULL) != NET_OK || net_mesh_identity(b, key, &b_id) != NET_OK
        || net_mesh_identity(a, NULL, &a_id) != NET_OK || net_mesh_connect(a, addr, key, 32, &peer) != NET_OK) {
        tally(0, pass, fail, file, "two connected nodes");
        net_string_free(addr);
        net_mesh_free(a);
        net_mesh_free(b);
        return;
    }
    net_string_free(addr);
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "options")) {
        net_bus_t *bus = NULL;
        net_bus_link_t *link = NULL;
        char *options = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "options"));
        int ok = net_bus_new("", 0, &bus) == NET_OK;
        int rc = ok ? net_bus_link_open(bus, a, b_id, options, strlen(options), &link) : NET_ERR_NULL_POINTER;
        const cJSON *want = cJSON_GetObjectItem(c, "error");
        ok = ok && (want ? kind_matches(rc, want) && link == NULL : rc == NET_OK);
        free(options);
        net_bus_link_free(link);
        net_bus_free(bus);
        tally(ok, pass, fail, file, cJSON_GetObjectItem(c, "name")->valuestring);
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "transfers")) {
        net_bus_t *outbox = NULL, *inbox = NULL;
        net_bus_link_t *sending = NULL, *receiving = NULL;
        cJSON *opts = cJSON_Duplicate(cJSON_GetObjectItem(c, "options"), 1);
        cJSON_AddStringToObject(opts, "direction", "receive");
        char *recv_opts = cJSON_PrintUnformatted(opts);
        cJSON_ReplaceItemInObject(opts, "direction", cJSON_CreateString("send"));
        char *send_opts = cJSON_PrintUnformatted(opts);
        cJSON_Delete(opts);
        const cJSON *events = cJSON_GetObjectItem(c, "events");
        int want = cJSON_GetArraySize(events), got = 0;
        int ok = net_bus_new("", 0, &outbox) == NET_OK && net_bus_new("", 0, &inbox) == NET_OK
                 && net_bus_link_open(inbox, b, a_id, recv_opts, strlen(recv_opts), &receiving) == NET_OK
                 && net_bus_link_open(outbox, a, b_id, send_opts, strlen(send_opts), &sending) == NET_OK;
        const cJSON *e;
        cJSON_ArrayForEach(e, events) {
            if (ok) ok = net_ingest_raw(outbox, e->valuestring, strlen(e->valuestring)) == NET_OK;
        }
        char cursor[512] = "";
        long long deadline = now_ms() + 10000;
        while (ok && got < want && now_ms() < deadline) {
            net_poll_result_t r;
            if (net_poll_ex(inbox, 100, cursor[0] ? cursor : NULL, &r) != NET_OK) { ok = 0; break; }
            for (size_t i = 0; i < r.count && ok; i++, got++) {
                const cJSON *expect = cJSON_GetArrayItem(events, got);
                ok = expect && strlen(expect->valuestring) == r.events[i].raw_len
                     && memcmp(expect->valuestring, r.events[i].raw, r.events[i].raw_len) == 0;
            }
            snprintf(cursor, sizeof cursor, "%s", r.next_cursor);
            net_free_poll_result(&r);
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        ok = ok && got == want;
        free(recv_opts);
        free(send_opts);
        net_bus_link_free(sending);
        net_bus_link_free(receiving);
        net_bus_free(outbox);
        net_bus_free(inbox);
        tally(ok, pass, fail, file, cJSON_GetObjectItem(c, "name")->valuestring);
    }
    net_mesh_free(a);
    net_mesh_free(b);
}

/* redex/records.json: heap and inline index records, malformed records. */
/* redex/open.json: two managers on one directory, one writer per log. */
static void check_opens(const cJSON *doc, int *pass, int *fail, const char *file) {
    const cJSON *c;
    int n = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "opens")) {
        char dir[256], opts[320];
        snprintf(dir, sizeof dir, "/tmp/net-c-fixture-open-%d-%d", (int)getpid(), n++);
        snprintf(opts, sizeof opts, "{\"dir\":\"%s\"}", dir);
        const char *first = cJSON_GetObjectItem(c, "first")->valuestring;
        const char *second = cJSON_GetObjectItem(c, "second")->valuestring;
        const cJSON *err = cJSON_GetObjectItem(c, "error");
        net_redex_t *a = NULL, *b = NULL;
        net_log_t *la = NULL, *lb = NULL;
        int ok = net_redex_open(opts, strlen(opts), &a) == NET_OK && net_redex_open(opts, strlen(opts), &b) == NET_OK
                 && net_redex_open_log(a, first, NULL, 0, &la) == NET_OK;
        if (ok) {
            int rc = net_redex_open_log(b, second, NULL, 0, &lb);
            ok = err ? (rc < 0 && strcmp(net_error_kind(rc), err->valuestring) == 0) : rc == NET_OK;
        }
        net_log_free(lb);
        lb = NULL;
        net_log_free(la);
        if (ok) ok = net_redex_close(a) == NET_OK && net_redex_close(b) == NET_OK;
        if (ok) ok = net_redex_open_log(b, second, NULL, 0, &lb) == NET_OK;
        net_log_free(lb);
        net_redex_free(a);
        net_redex_free(b);
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0) ok = 0;
        if (ok) (*pass)++; else { (*fail)++; fprintf(stderr, "%s: %s: %s\n", file, cJSON_GetObjectItem(c, "name")->valuestring, net_last_error_message()); }
    }
}

static void check_records(const cJSON *doc, int *pass, int *fail, const char *file) {
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItem(doc, "heap")) {
        unsigned char payload[64], want[20], out[20];
        size_t pn = unhex(cJSON_GetObjectItem(h, "payload_hex")->valuestring, payload);
        unhex(cJSON_GetObjectItem(h, "hex")->valuestring, want);
        uint64_t seq = strtoull(cJSON_GetObjectItem(h, "seq")->valuestring, NULL, 10);
        uint32_t offset = (uint32_t)cJSON_GetObjectItem(h, "offset")->valuedouble;
        net_redex_record_t r;
        int ok = net_redex_record_heap(seq, offset, payload, pn, out) == NET_OK && memcmp(out, want, 20) == 0
            && net_redex_record_decode(want, 20, &r) == NET_OK && r.seq == seq && r.offset == offset
            && r.len == pn && !r.is_inline
            && r.flags_checksum == (uint32_t)cJSON_GetObjectItem(h, "flags_checksum")->valuedouble;
        tally(ok, pass, fail, file, "heap record");
    }
    cJSON_ArrayForEach(h, cJSON_GetObjectItem(doc, "inline")) {
        unsigned char payload[8], want[20], out[20];
        unhex(cJSON_GetObjectItem(h, "payload_hex")->valuestring, payload);
        unhex(cJSON_GetObjectItem(h, "hex")->valuestring, want);
        uint64_t seq = strtoull(cJSON_GetObjectItem(h, "seq")->valuestring, NULL, 10);
        net_redex_record_t r;
        int ok = net_redex_record_inline(seq, payload, 8, out) == NET_OK && memcmp(out, want, 20) == 0
            && net_redex_record_decode(want, 20, &r) == NET_OK && r.seq == seq && r.is_inline
            && memcmp(r.inline_payload, payload, 8) == 0;
        tally(ok, pass, fail, file, "inline record");
    }
    cJSON_ArrayForEach(h, cJSON_GetObjectItem(doc, "malformed")) {
        unsigned char bytes[64];
        size_t n = unhex(cJSON_GetObjectItem(h, "hex")->valuestring, bytes);
        net_redex_record_t r;
        tally(kind_matches(net_redex_record_decode(bytes, n, &r), cJSON_GetObjectItem(h, "error")), pass, fail, file, "malformed record");
    }
}

/* cortex/meta.json: event-meta framing and malformed frames. */
static void check_frames(const cJSON *doc, int *pass, int *fail, const char *file) {
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(doc, "frames")) {
        unsigned char payload[256], want[300];
        size_t pn = unhex(cJSON_GetObjectItem(f, "payload_hex")->valuestring, payload);
        size_t wn = unhex(cJSON_GetObjectItem(f, "hex")->valuestring, want);
        uint8_t dispatch = (uint8_t)cJSON_GetObjectItem(f, "dispatch")->valuedouble;
        uint32_t origin = (uint32_t)cJSON_GetObjectItem(f, "origin_hash")->valuedouble;
        uint64_t seq = strtoull(cJSON_GetObjectItem(f, "seq_or_ts")->valuestring, NULL, 10);
        uint8_t *framed = NULL;
        size_t framed_len = 0;
        net_event_meta_t m;
        int ok = net_cortex_frame(dispatch, origin, seq, payload, pn, &framed, &framed_len) == NET_OK
            && framed_len == wn && memcmp(framed, want, wn) == 0
            && net_cortex_unframe(want, wn, &m) == NET_OK && m.dispatch == dispatch && m.origin_hash == origin
            && m.seq_or_ts == seq;
        net_bytes_free(framed, framed_len);
        tally(ok, pass, fail, file, "frame");
    }
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(doc, "malformed")) {
        unsigned char bytes[300];
        size_t n = unhex(cJSON_GetObjectItem(f, "hex")->valuestring, bytes);
        net_event_meta_t m;
        tally(kind_matches(net_cortex_unframe(bytes, n, &m), cJSON_GetObjectItem(f, "error")), pass, fail, file, "malformed frame");
    }
}

/* token/tokens.json: the fixture's identity by name. */
static net_identity_t *fixture_identity(const cJSON *doc, const cJSON *name) {
    unsigned char seed[32];
    net_identity_t *id = NULL;
    const cJSON *hex = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "identities"), name->valuestring);
    if (!hex || unhex(hex->valuestring, seed) != 32 || net_identity_from_seed(seed, 32, &id) != NET_OK) return NULL;
    return id;
}

static uint8_t scope_bits(const cJSON *names) {
    const char *known[] = {"publish", "subscribe", "admin", "delegate"};
    uint8_t bits = 0;
    const cJSON *n;
    cJSON_ArrayForEach(n, names) {
        for (int i = 0; i < 4; i++) if (strcmp(n->valuestring, known[i]) == 0) bits |= (uint8_t)(1u << i);
    }
    return bits;
}

/* One token case: 0 when it gives what the fixture says (a result or an error kind). */
static int run_token_case(const cJSON *doc, const cJSON *c) {
    const char *op = cJSON_GetObjectItem(c, "op")->valuestring;
    const cJSON *want_error = cJSON_GetObjectItem(c, "error");
    unsigned char token[NET_TOKEN_LEN], id[NET_TOKEN_ID_LEN], want[NET_TOKEN_LEN * 4];
    char id_hex[2 * NET_TOKEN_ID_LEN + 1];
    int rc = NET_OK;
    if (strcmp(op, "issue") == 0 || strcmp(op, "delegate") == 0) {
        char *request = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "request"));
        int is_issue = strcmp(op, "issue") == 0;
        net_identity_t *who = fixture_identity(doc, cJSON_GetObjectItem(c, is_issue ? "issuer" : "delegator"));
        if (is_issue) {
            const cJSON *strict = cJSON_GetObjectItem(c, "strict");
            rc = cJSON_IsTrue(strict) ? net_token_try_issue(who, request, strlen(request), token)
                                      : net_token_issue(who, request, strlen(request), token);
        } else {
            size_t n = unhex(cJSON_GetObjectItem(c, "parent")->valuestring, want);
            rc = net_token_delegate(who, want, n, request, strlen(request), token);
        }
        net_identity_free(who);
        cJSON_free(request);
        if (want_error) { if (!kind_matches(rc, want_error)) FAIL("gave %d, expected %s", rc, want_error->valuestring); return 0; }
        if (rc != NET_OK) FAIL("failed: %s", net_last_error_message());
        if (unhex(cJSON_GetObjectItem(c, "token")->valuestring, want) != NET_TOKEN_LEN || memcmp(want, token, NET_TOKEN_LEN) != 0)
            FAIL("other token bytes");
        if (net_token_id(token, NET_TOKEN_LEN, id) != NET_OK) FAIL("no id");
        for (int i = 0; i < NET_TOKEN_ID_LEN; i++) snprintf(id_hex + 2 * i, 3, "%02x", id[i]);
        if (strcmp(id_hex, cJSON_GetObjectItem(c, "id")->valuestring) != 0) FAIL("id %s", id_hex);
        return 0;
    }
    if (strcmp(op, "verify") == 0) {
        size_t n = unhex(cJSON_GetObjectItem(c, "token")->valuestring, want);
        rc = net_token_verify(want, n, (int64_t)cJSON_GetObjectItem(c, "now")->valuedouble);
    } else if (strcmp(op, "chain") == 0) {
        net_token_cache_t *cache = NULL;
        if (net_token_cache_new(&cache) != NET_OK) FAIL("no cache");
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItem(c, "trust")) {
            unsigned char pk[32];
            net_identity_t *who = fixture_identity(doc, item);
            if (net_identity_public_key(who, pk) != NET_OK || net_token_cache_trust(cache, pk, 32) != NET_OK) rc = -1000;
            net_identity_free(who);
        }
        cJSON_ArrayForEach(item, cJSON_GetObjectItem(c, "revoked")) {
            unsigned char rid[32];
            if (unhex(item->valuestring, rid) != 32 || net_token_cache_revoke(cache, rid, 32) != NET_OK) rc = -1000;
        }
        size_t len = 0;
        cJSON_ArrayForEach(item, cJSON_GetObjectItem(c, "chain")) len += unhex(item->valuestring, want + len);
        unsigned char subject[32];
        net_identity_t *who = fixture_identity(doc, cJSON_GetObjectItem(c, "subject"));
        if (net_identity_public_key(who, subject) != NET_OK) rc = -1000;
        net_identity_free(who);
        const char *channel = cJSON_GetObjectItem(c, "channel")->valuestring;
        uint8_t scope = scope_bits(cJSON_GetObjectItem(c, "scope"));
        int64_t now = (int64_t)cJSON_GetObjectItem(c, "now")->valuedouble;
        if (rc == NET_OK) rc = net_token_cache_install(cache, want, len, subject, 32, scope, channel, strlen(channel), now, id);
        if (rc == NET_OK) rc = net_token_cache_check(cache, subject, 32, scope, channel, strlen(channel), now, NULL);
        net_token_cache_free(cache);
        if (rc == NET_OK && !want_error) {
            for (int i = 0; i < NET_TOKEN_ID_LEN; i++) snprintf(id_hex + 2 * i, 3, "%02x", id[i]);
            if (strcmp(id_hex, cJSON_GetObjectItem(c, "id")->valuestring) != 0) FAIL("leaf id %s", id_hex);
        }
    } else if (strcmp(op, "covers") == 0) {
        size_t n = unhex(cJSON_GetObjectItem(c, "token")->valuestring, want);
        const char *channel = cJSON_GetObjectItem(c, "channel")->valuestring;
        bool covers = false;
        rc = net_token_covers(want, n, channel, strlen(channel), &covers);
        if (rc == NET_OK && covers != cJSON_IsTrue(cJSON_GetObjectItem(c, "covers"))) FAIL("covers %d", covers);
    } else if (strcmp(op, "inspect") == 0) {
        size_t n = unhex(cJSON_GetObjectItem(c, "token")->valuestring, want);
        char *json = NULL;
        rc = net_token_json(want, n, &json, NULL);
        cJSON *got = json ? cJSON_Parse(json) : NULL;
        int same = cJSON_Compare(got, cJSON_GetObjectItem(c, "json"), 1);
        cJSON_Delete(got);
        net_string_free(json);
        if (rc == NET_OK && !same) FAIL("other fields");
    } else {
        FAIL("unknown op %s", op);
    }
    if (want_error) { if (!kind_matches(rc, want_error)) FAIL("gave %d, expected %s", rc, want_error->valuestring); return 0; }
    if (rc != NET_OK) FAIL("failed: %s", net_last_error_message());
    return 0;
}

static void check_tokens(const cJSON *doc, int *pass, int *fail, const char *file) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "tokens")) {
        if (run_token_case(doc, c) == 0) (*pass)++;
        else { (*fail)++; fprintf(stderr, "%s / %s: %s\n", file, cJSON_GetObjectItem(c, "name")->valuestring, errbuf); }
    }
}

/* channel/names.json: names and their hashes, patterns matching names. */
static void check_channel_names(const cJSON *doc, int *pass, int *fail, const char *file) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "names")) {
        const char *channel = cJSON_GetObjectItem(c, "channel")->valuestring;
        const cJSON *want_error = cJSON_GetObjectItem(c, "error");
        int rc, ok;
        if (strcmp(cJSON_GetObjectItem(c, "op")->valuestring, "name") == 0) {
            uint64_t hash = 0;
            char text[32];
            rc = net_channel_hash(channel, strlen(channel), &hash);
            snprintf(text, sizeof text, "%llu", (unsigned long long)hash);
            ok = want_error ? kind_matches(rc, want_error) && net_channel_check_name(channel, strlen(channel)) == rc
                            : rc == NET_OK && net_channel_check_name(channel, strlen(channel)) == NET_OK
                                  && strcmp(text, cJSON_GetObjectItem(c, "hash")->valuestring) == 0;
        } else {
            const char *pattern = cJSON_GetObjectItem(c, "pattern")->valuestring;
            bool matches = false;
            rc = net_channel_matches(pattern, strlen(pattern), channel, strlen(channel), &matches);
            ok = want_error ? kind_matches(rc, want_error)
                            : rc == NET_OK && matches == cJSON_IsTrue(cJSON_GetObjectItem(c, "matches"));
        }
        tally(ok, pass, fail, file, cJSON_GetObjectItem(c, "name")->valuestring);
    }
}

/* A received channel message as the fixture spells it. */
static cJSON *message_json(const net_channel_message_t *m, int as_hex) {
    cJSON *o = cJSON_CreateObject();
    char publisher[32];
    snprintf(publisher, sizeof publisher, "%llu", (unsigned long long)m->publisher);
    cJSON_AddStringToObject(o, "channel", m->channel);
    cJSON_AddStringToObject(o, "publisher", publisher);
    char *text = malloc(m->payload_len * 2 + 1);
    if (as_hex) {
        for (size_t i = 0; i < m->payload_len; i++) sprintf(text + 2 * i, "%02x", m->payload[i]);
        text[m->payload_len * 2] = 0;
        cJSON_AddStringToObject(o, "hex", text);
    } else {
        memcpy(text, m->payload, m->payload_len);
        text[m->payload_len] = 0;
        cJSON_AddStringToObject(o, "text", text);
    }
    free(text);
    return o;
}

/* channel/local.json: one case of a node's local channels. */
static int run_local_case(const cJSON *c) {
    enum { MAX_SUBS = 16 };
    struct { const char *id; net_channel_subscription_t *sub; } subs[MAX_SUBS];
    int nsubs = 0;
    const cJSON *config = cJSON_GetObjectItem(c, "config");
    char *config_text = config ? cJSON_PrintUnformatted(config) : NULL;
    net_bus_t *bus = NULL;
    int rc = net_bus_new(config_text ? config_text : "{}", config_text ? strlen(config_text) : 2, &bus);
    free(config_text);
    if (rc != NET_OK) { snprintf(errbuf, sizeof errbuf, "net_bus_new: %d", rc); return -1; }
    int result = 0, i = 0;
    const cJSON *step;
    cJSON_ArrayForEach(step, cJSON_GetObjectItem(c, "steps")) {
        const char *op = cJSON_GetObjectItem(step, "op")->valuestring;
        const cJSON *id = cJSON_GetObjectItem(step, "id");
        const cJSON *expect = cJSON_GetObjectItem(step, "expect");
        const cJSON *want_error = cJSON_GetObjectItem(step, "error");
        net_channel_subscription_t **slot = NULL;
        for (int k = 0; id && k < nsubs; k++)
            if (strcmp(subs[k].id, id->valuestring) == 0) slot = &subs[k].sub;
        cJSON *got = NULL;
        if (strcmp(op, "subscribe") == 0) {
            const char *pattern = cJSON_GetObjectItem(step, "pattern")->valuestring;
            net_channel_subscription_t *sub = NULL;
            rc = net_bus_channel_subscribe(bus, pattern, strlen(pattern), &sub);
            if (rc == NET_OK && nsubs < MAX_SUBS) { subs[nsubs].id = id->valuestring; subs[nsubs].sub = sub; nsubs++; }
        } else if (strcmp(op, "publish") == 0) {
            const char *channel = cJSON_GetObjectItem(step, "channel")->valuestring;
            const cJSON *hex = cJSON_GetObjectItem(step, "hex");
            uint8_t buf[256];
            size_t len = 0;
            if (hex) {
                for (const char *h = hex->valuestring; h[0] && h[1] && len < sizeof buf; h += 2) {
                    unsigned int b; sscanf(h, "%2x", &b); buf[len++] = (uint8_t)b;
                }
            } else {
                const char *text = cJSON_GetObjectItem(step, "text")->valuestring;
                len = strlen(text);
                memcpy(buf, text, len < sizeof buf ? len : sizeof buf);
            }
            size_t delivered = 0;
            rc = net_bus_channel_publish(bus, channel, strlen(channel), buf, len, &delivered);
            got = cJSON_CreateObject();
            cJSON_AddNumberToObject(got, "delivered", (double)delivered);
        } else if (strcmp(op, "next") == 0) {
            net_channel_message_t m;
            rc = slot ? net_channel_subscription_next(*slot, 20, &m) : NET_ERR_INVALID_HANDLE;
            if (rc == NET_TIMED_OUT) { rc = NET_OK; got = cJSON_CreateNull(); }
            else if (rc == NET_OK) {
                got = message_json(&m, expect && cJSON_GetObjectItem(expect, "hex") != NULL);
                net_channel_message_free(&m);
            }
        } else if (strcmp(op, "close") == 0) {
            if (slot) { net_channel_subscription_free(*slot); *slot = NULL; }
            rc = NET_OK;
        } else if (strcmp(op, "stats") == 0) {
            char *json = NULL;
            rc = net_bus_channel_stats(bus, &json, NULL);
            if (rc == NET_OK) { got = cJSON_Parse(json); net_string_free(json); }
        } else if (strcmp(op, "shutdown") == 0) {
            rc = net_shutdown(bus);
        } else {
            rc = NET_ERR_INVALID_ARGUMENT;
        }
        int ok = want_error ? kind_matches(rc, want_error)
                            : rc == NET_OK && (!expect || (got && cJSON_Compare(got, expect, true)));
        if (!ok && result == 0) {
            char *text = got ? cJSON_PrintUnformatted(got) : NULL;
            snprintf(errbuf, sizeof errbuf, "step %d (%s): rc %d, got %s", i, op, rc, text ? text : "-");
            free(text);
            result = -1;
        }
        cJSON_Delete(got);
        i++;
    }
    for (int k = 0; k < nsubs; k++) net_channel_subscription_free(subs[k].sub);
    (void)net_shutdown(bus);
    net_bus_free(bus);
    return result;
}

/* The fixture's Reading type, checked the C way (cJSON): an object with a
 * string sensor_id, a number celsius and an optional string note. Returns the
 * decoded value without unknown fields, or NULL. */
static cJSON *reading_of(const uint8_t *payload, size_t len) {
    char *text = malloc(len + 1);
    memcpy(text, payload, len);
    text[len] = 0;
    cJSON *doc = cJSON_ParseWithOpts(text, NULL, true);
    free(text);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "sensor_id");
    const cJSON *celsius = cJSON_GetObjectItemCaseSensitive(doc, "celsius");
    const cJSON *note = cJSON_GetObjectItemCaseSensitive(doc, "note");
    cJSON *out = NULL;
    if (cJSON_IsObject(doc) && cJSON_IsString(id) && cJSON_IsNumber(celsius) && (!note || cJSON_IsString(note))) {
        out = cJSON_CreateObject();
        cJSON_AddStringToObject(out, "sensor_id", id->valuestring);
        cJSON_AddNumberToObject(out, "celsius", celsius->valuedouble);
        if (note) cJSON_AddStringToObject(out, "note", note->valuestring);
    }
    cJSON_Delete(doc);
    return out;
}

/* channel/typed.json: payloads over a local channel, checked as Readings. */
static void check_typed_channels(const cJSON *doc, int *pass, int *fail, const char *file) {
    net_bus_t *bus = NULL;
    net_channel_subscription_t *sub = NULL;
    if (net_bus_new("{}", 2, &bus) != NET_OK || net_bus_channel_subscribe(bus, "fixtures/typed", 14, &sub) != NET_OK) {
        (*fail)++;
        fprintf(stderr, "%s: no bus\n", file);
        return;
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "typed")) {
        const char *payload = cJSON_GetObjectItem(c, "payload")->valuestring;
        const cJSON *want = cJSON_GetObjectItem(c, "value");
        net_channel_message_t m;
        int ok = net_bus_channel_publish(bus, "fixtures/typed", 14, (const uint8_t *)payload, strlen(payload), NULL) == NET_OK
                 && net_channel_subscription_next(sub, 1000, &m) == NET_OK;
        if (ok) {
            cJSON *got = reading_of(m.payload, m.payload_len);
            net_channel_message_free(&m);
            ok = want ? got != NULL && cJSON_Compare(got, want, true) : got == NULL;
            cJSON_Delete(got);
        }
        if (!ok) snprintf(errbuf, sizeof errbuf, "payload %s", payload);
        tally(ok, pass, fail, file, cJSON_GetObjectItem(c, "name")->valuestring);
    }
    net_channel_subscription_free(sub);
    (void)net_shutdown(bus);
    net_bus_free(bus);
}

static int json_equals(char *got, const cJSON *want);

/* channel/configs.json: configs with their defaults filled in. */
static void check_channel_configs(const cJSON *doc, int *pass, int *fail, const char *file) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "channel_configs")) {
        char *text = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "config"));
        char *out = NULL;
        int rc = net_channel_config_normalize(text, strlen(text), &out, NULL);
        const cJSON *want_error = cJSON_GetObjectItem(c, "error");
        int ok;
        if (want_error) {
            ok = kind_matches(rc, want_error);
            if (!ok) snprintf(errbuf, sizeof errbuf, "rc %d", rc);
            net_string_free(out);
        } else {
            ok = rc == NET_OK && json_equals(out, cJSON_GetObjectItem(c, "normalized"));
            if (rc != NET_OK) snprintf(errbuf, sizeof errbuf, "rc %d", rc);
        }
        free(text);
        tally(ok, pass, fail, file, cJSON_GetObjectItem(c, "name")->valuestring);
    }
}

/* channel/local.json */
static void check_local_channels(const cJSON *doc, int *pass, int *fail, const char *file) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "local")) {
        int ok = run_local_case(c) == 0;
        if (!ok) fprintf(stderr, "%s: %s\n", cJSON_GetObjectItem(c, "name")->valuestring, errbuf);
        tally(ok, pass, fail, file, cJSON_GetObjectItem(c, "name")->valuestring);
    }
}

/* Compares engine JSON `got` (freed here) with the fixture's `want`. */
static int json_equals(char *got, const cJSON *want) {
    cJSON *g = got ? cJSON_Parse(got) : NULL;
    int ok = g != NULL && cJSON_Compare(g, want, true);
    if (!ok) snprintf(errbuf, sizeof errbuf, "got %.900s", got ? got : "(null)");
    cJSON_Delete(g);
    net_string_free(got);
    return ok;
}

/* validate: the report's issues as [code, key] pairs. */
static cJSON *issue_pairs(const cJSON *issues) {
    cJSON *out = cJSON_CreateArray();
    const cJSON *i;
    cJSON_ArrayForEach(i, issues) {
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateString(cJSON_GetObjectItem(i, "code")->valuestring));
        cJSON_AddItemToArray(pair, cJSON_CreateString(cJSON_GetObjectItem(i, "key")->valuestring));
        cJSON_AddItemToArray(out, pair);
    }
    return out;
}

/* capability/capability.json: sets, views, predicates, validation, diffs. */
static int run_capability_case(const cJSON *c) {
    const char *op = cJSON_GetObjectItem(c, "op")->valuestring;
    const cJSON *want_error = cJSON_GetObjectItem(c, "error");
    char *set = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "set"));
    char *out = NULL;
    int rc, ok = 0;
    if (strcmp(op, "normalize") == 0 || strcmp(op, "views") == 0) {
        rc = (op[0] == 'n' ? net_capability_normalize : net_capability_views)(set, strlen(set), &out, NULL);
        ok = want_error ? kind_matches(rc, want_error) : rc == NET_OK && json_equals(out, cJSON_GetObjectItem(c, "result"));
        if (want_error || rc != NET_OK) net_string_free(out);
    } else if (strcmp(op, "evaluate") == 0) {
        char *pred = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "predicate"));
        bool matches = false;
        rc = net_predicate_evaluate(pred, strlen(pred), set, strlen(set), &matches);
        ok = want_error ? kind_matches(rc, want_error) : rc == NET_OK && matches == cJSON_IsTrue(cJSON_GetObjectItem(c, "matches"));
        free(pred);
    } else if (strcmp(op, "predicate") == 0) {
        char *pred = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "predicate"));
        rc = net_predicate_normalize(pred, strlen(pred), &out, NULL);
        ok = want_error ? kind_matches(rc, want_error) : rc == NET_OK && json_equals(out, cJSON_GetObjectItem(c, "result"));
        if (want_error || rc != NET_OK) net_string_free(out);
        free(pred);
    } else if (strcmp(op, "validate") == 0) {
        rc = net_capability_validate(set, strlen(set), &out, NULL);
        if (want_error) ok = kind_matches(rc, want_error);
        else if (rc == NET_OK) {
            cJSON *report = cJSON_Parse(out);
            cJSON *errors = issue_pairs(cJSON_GetObjectItem(report, "errors"));
            cJSON *warnings = issue_pairs(cJSON_GetObjectItem(report, "warnings"));
            ok = cJSON_IsTrue(cJSON_GetObjectItem(report, "valid")) == cJSON_IsTrue(cJSON_GetObjectItem(c, "valid"))
                && cJSON_Compare(errors, cJSON_GetObjectItem(c, "errors"), true)
                && cJSON_Compare(warnings, cJSON_GetObjectItem(c, "warnings"), true);
            if (!ok) snprintf(errbuf, sizeof errbuf, "got %.900s", out);
            cJSON_Delete(errors);
            cJSON_Delete(warnings);
            cJSON_Delete(report);
        }
        net_string_free(out);
    } else if (strcmp(op, "diff") == 0 || strcmp(op, "apply") == 0) {
        int diff = strcmp(op, "diff") == 0;
        char *a = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, diff ? "before" : "set"));
        char *b = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, diff ? "after" : "diff"));
        rc = (diff ? net_capability_diff : net_capability_apply)(a, strlen(a), b, strlen(b), &out, NULL);
        ok = want_error ? kind_matches(rc, want_error) : rc == NET_OK && json_equals(out, cJSON_GetObjectItem(c, "result"));
        if (want_error || rc != NET_OK) net_string_free(out);
        free(a);
        free(b);
    } else {
        snprintf(errbuf, sizeof errbuf, "unknown op %s", op);
    }
    free(set);
    if (!ok && errbuf[0] == 0) snprintf(errbuf, sizeof errbuf, "rc %d: %s", rc, net_last_error_message());
    return ok ? 0 : -1;
}

static void check_capability(const cJSON *doc, int *pass, int *fail, const char *file) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "capability")) {
        errbuf[0] = 0;
        if (run_capability_case(c) == 0) (*pass)++;
        else { (*fail)++; fprintf(stderr, "%s / %s: %s\n", file, cJSON_GetObjectItem(c, "name")->valuestring, errbuf); }
    }
}

/* subnet/subnets.json: subnet texts, levels, visibility, policies. */
static int run_subnet_case(const cJSON *c) {
    const char *op = cJSON_GetObjectItem(c, "op")->valuestring;
    const cJSON *want_error = cJSON_GetObjectItem(c, "error");
    uint32_t value = 0;
    int rc;
    if (strcmp(op, "visible") == 0) {
        const char *vis = cJSON_GetObjectItem(c, "visibility")->valuestring;
        const char *pub = cJSON_GetObjectItem(c, "publisher")->valuestring;
        const char *peer = cJSON_GetObjectItem(c, "peer")->valuestring;
        uint32_t a = 0, b = 0;
        bool allowed = false;
        rc = net_subnet_parse(pub, strlen(pub), &a);
        if (rc == NET_OK) rc = net_subnet_parse(peer, strlen(peer), &b);
        if (rc == NET_OK) rc = net_subnet_visible(vis, strlen(vis), a, b, &allowed);
        if (want_error) return kind_matches(rc, want_error) ? 0 : -1;
        return rc == NET_OK && allowed == cJSON_IsTrue(cJSON_GetObjectItem(c, "allowed")) ? 0 : -1;
    }
    if (strcmp(op, "parse") == 0) {
        const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
        rc = net_subnet_parse(text, strlen(text), &value);
    } else if (strcmp(op, "levels") == 0) {
        uint8_t levels[8];
        size_t n = 0;
        const cJSON *l;
        cJSON_ArrayForEach(l, cJSON_GetObjectItem(c, "levels")) if (n < sizeof levels) levels[n++] = (uint8_t)l->valuedouble;
        rc = net_subnet_from_levels(levels, n, &value);
    } else if (strcmp(op, "value") == 0) {
        value = (uint32_t)cJSON_GetObjectItem(c, "value")->valuedouble;
        char *text = NULL;
        rc = net_subnet_format(value, &text, NULL);
        net_string_free(text);
    } else {
        char *policy = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "policy"));
        char *set = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "set"));
        rc = net_subnet_assign(policy, strlen(policy), set, strlen(set), &value);
        free(policy);
        free(set);
    }
    if (want_error) return kind_matches(rc, want_error) ? 0 : -1;
    if (rc != NET_OK) { snprintf(errbuf, sizeof errbuf, "%s", net_last_error_message()); return -1; }
    const cJSON *want_value = cJSON_GetObjectItem(c, "value");
    if (want_value && strcmp(op, "value") != 0 && (uint32_t)want_value->valuedouble != value) {
        snprintf(errbuf, sizeof errbuf, "value %u", value);
        return -1;
    }
    char *text = NULL;
    rc = net_subnet_format(value, &text, NULL);
    int ok = rc == NET_OK && strcmp(text, cJSON_GetObjectItem(c, "result")->valuestring) == 0;
    if (!ok) snprintf(errbuf, sizeof errbuf, "got %s", text ? text : "(error)");
    net_string_free(text);
    return ok ? 0 : -1;
}

static void check_subnets(const cJSON *doc, int *pass, int *fail, const char *file) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "subnet")) {
        errbuf[0] = 0;
        if (run_subnet_case(c) == 0) (*pass)++;
        else { (*fail)++; fprintf(stderr, "%s / %s: %s\n", file, cJSON_GetObjectItem(c, "name")->valuestring, errbuf); }
    }
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    const char *root = argc > 1 ? argv[1] : ".";
    const char *areas[] = {"bus", "capability", "channel", "cortex", "errors", "identity", "mesh", "redex", "subnet", "token", "wire"};
    const int area_count = (int)(sizeof areas / sizeof areas[0]);
    char path[8192];
    snprintf(path, sizeof path, "%s/build/parity/c.tsv", root);
    FILE *out = fopen(path, "w");
    if (!out) { fprintf(stderr, "cannot write %s (create build/parity first)\n", path); return 2; }
    int total_pass = 0, total_fail = 0;
    for (int a = 0; a < area_count; a++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/tests/cross_lang/%s", root, areas[a]);
        DIR *d = opendir(dir);
        if (!d) { fprintf(stderr, "missing %s\n", dir); return 2; }
        char *names[256];
        int nn = 0;
        struct dirent *e;
        while ((e = readdir(d)) && nn < 256) {
            if (strlen(e->d_name) > 5 && strcmp(e->d_name + strlen(e->d_name) - 5, ".json") == 0) names[nn++] = strdup(e->d_name);
        }
        closedir(d);
        qsort(names, (size_t)nn, sizeof(char *), cmp_str);
        for (int f = 0; f < nn; f++) {
            snprintf(path, sizeof path, "%s/%s", dir, names[f]);
            char *text = read_file(path);
            cJSON *doc = text ? cJSON_Parse(text) : NULL;
            free(text);
            int pass = 0, fail = 0;
            if (!doc || (int)cJSON_GetObjectItem(doc, "abi_version")->valuedouble != NET_ABI_VERSION) {
                fprintf(stderr, "%s: unreadable or wrong abi_version\n", path);
                fail++;
            } else {
                char rel[512];
                snprintf(rel, sizeof rel, "%s/%s", areas[a], names[f]);
                if (cJSON_GetObjectItem(doc, "vectors")) check_identity(doc, &pass, &fail, rel);
                if (cJSON_GetObjectItem(doc, "headers")) check_wire(doc, &pass, &fail, rel);
                if (cJSON_GetObjectItem(doc, "configs")) check_mesh_configs(doc, &pass, &fail, rel);
                if (cJSON_GetObjectItem(doc, "transfers")) check_bus_links(doc, &pass, &fail, rel);
                if (cJSON_GetObjectItem(doc, "records")) check_shared_records(doc, &pass, &fail, rel);
                if (cJSON_GetObjectItem(doc, "snapshots")) check_snapshots(doc, &pass, &fail, rel);
                if (cJSON_GetObjectItem(doc, "opens")) check_opens(doc, &pass, &fail, rel);
                if (cJSON_GetObjectItem(doc, "inline")) check_records(doc, &pass, &fail, rel);
                if (cJSON_GetObjectItem(doc, "frames")) check_frames(doc, &pass, &fail, rel);
                if (cJSON_GetObjectItem(doc, "tokens")) check_tokens(doc, &pass, &fail, rel);
                if (cJSON_GetObjectItem(doc, "names")) check_channel_names(doc, &pass, &fail, rel);
                if (cJSON_GetObjectItem(doc, "channel_configs")) check_channel_configs(doc, &pass, &fail, rel);
                if (cJSON_GetObjectItem(doc, "local")) check_local_channels(doc, &pass, &fail, rel);
                if (cJSON_GetObjectItem(doc, "typed")) check_typed_channels(doc, &pass, &fail, rel);
                if (cJSON_GetObjectItem(doc, "capability")) check_capability(doc, &pass, &fail, rel);
                if (cJSON_GetObjectItem(doc, "subnet")) check_subnets(doc, &pass, &fail, rel);
                if (cJSON_GetObjectItem(doc, "kinds")) {
                    if (check_kinds(doc) == 0) pass++; else { fail++; fprintf(stderr, "%s/%s: %s\n", areas[a], names[f], errbuf); }
                }
                const cJSON *c;
                cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
                    if (run_case(c) == 0) pass++;
                    else { fail++; fprintf(stderr, "%s/%s / %s: %s\n", areas[a], names[f], cJSON_GetObjectItem(c, "name")->valuestring, errbuf); }
                }
            }
            cJSON_Delete(doc);
            fprintf(out, "%s/%s\t%d\t%d\n", areas[a], names[f], pass, fail);
            total_pass += pass;
            total_fail += fail;
            free(names[f]);
        }
    }
    fclose(out);
    net_runtime_shutdown();
    printf("c fixtures: %d passed, %d failed\n", total_pass, total_fail);
    return total_fail == 0 ? 0 : 1;
}
