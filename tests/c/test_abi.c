/* C ABI tests: NULLs, stale handles, double free, bad input, large input,
 * subscriptions, and a thread closing a subscription another thread waits on.
 * Prints "N passed, N failed" and exits non-zero on any failure. */
#include "net.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (cond) {                                                              \
            passed++;                                                            \
        } else {                                                                 \
            failed++;                                                            \
            fprintf(stderr, "%s:%d: CHECK(%s) failed (last error: %s)\n",        \
                    __FILE__, __LINE__, #cond,                                   \
                    net_last_error_message() ? net_last_error_message() : "-"); \
        }                                                                        \
    } while (0)

static int kind_is(int rc, const char *kind) {
    const char *k = net_error_kind(rc);
    return k != NULL && strcmp(k, kind) == 0;
}

static void *closer(void *arg) {
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    CHECK(net_subscription_close((net_subscription_t *)arg) == NET_OK);
    return NULL;
}

static const char *MESH_CONFIG =
    "{\"network_key\": \"0707070707070707070707070707070707070707070707070707070707070707\","
    " \"bind\": \"127.0.0.1:0\", \"handshake_timeout_ms\": 1500, \"handshake_retry_ms\": 100}";

typedef struct {
    net_mesh_t *mesh;
    uint64_t peer;
    uint64_t stream;
    int count;
    int failures;
} mesh_sender;

/* Sends `count` numbered messages on one reliable stream. */
static void *mesh_send_numbers(void *arg) {
    mesh_sender *s = arg;
    for (int i = 0; i < s->count; i++) {
        uint32_t n = (uint32_t)i;
        if (net_mesh_send_blocking(s->mesh, s->peer, s->stream, (const uint8_t *)&n, 4, 10000) != NET_OK) s->failures++;
    }
    return NULL;
}

static void *mesh_closer(void *arg) {
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    CHECK(net_mesh_shutdown((net_mesh_t *)arg) == NET_OK);
    return NULL;
}


/* ---- Handlers: closures the engine calls ---- */

typedef struct {
    atomic_int calls;
    atomic_int drops;
    atomic_int in_call;
    atomic_int out_of_order;
    atomic_ullong next_seq;
    net_bus_t *bus;             /* emit into it from inside (re-entry) */
    net_mesh_t *mesh;           /* reply on it from inside */
    net_handler_t *self;        /* close from inside at call `close_at` */
    int close_at;
    int fail_odd;
    int sleep_ms;
} handler_state;

/* A handler test_handlers leaves open for net_runtime_shutdown to close. */
static handler_state *left_open_state;

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits up to 10 s for *value to reach want. */
static int wait_for(atomic_int *value, int want) {
    for (int i = 0; i < 10000 && atomic_load(value) < want; i++) sleep_ms(1);
    return atomic_load(value) >= want;
}

static void count_drop(void *context) { atomic_fetch_add(&((handler_state *)context)->drops, 1); }

static int on_event(const net_event_t *event, void *context) {
    handler_state *st = context;
    atomic_fetch_add(&st->in_call, 1);
    int n = atomic_fetch_add(&st->calls, 1) + 1;
    if (event->seq != atomic_load(&st->next_seq)) atomic_fetch_add(&st->out_of_order, 1);
    atomic_store(&st->next_seq, event->seq + 1);
    if (st->bus != NULL && event->raw_len == 4 && memcmp(event->raw, "ping", 4) == 0) {
        if (net_ingest_raw(st->bus, "pong", 4) != NET_OK) atomic_fetch_add(&st->out_of_order, 1000);
    }
    if (st->sleep_ms > 0) sleep_ms(st->sleep_ms);
    if (st->self != NULL && n == st->close_at) {
        if (net_handler_close(st->self) != NET_OK) atomic_fetch_add(&st->out_of_order, 1000);
    }
    atomic_fetch_sub(&st->in_call, 1);
    return st->fail_odd && (n % 2 == 1) ? 7 : 0;
}

static int on_message(const net_mesh_message_t *message, void *context) {
    handler_state *st = context;
    atomic_fetch_add(&st->calls, 1);
    uint8_t reply[64] = "re:";
    size_t len = message->len < 60 ? message->len : 60;
    memcpy(reply + 3, message->payload, len);
    return net_mesh_send(st->mesh, message->from, message->stream_id, reply, len + 3) == NET_OK ? 0 : 1;
}

static int on_channel_message(const net_channel_message_t *message, void *context) {
    handler_state *st = context;
    int n = atomic_fetch_add(&st->calls, 1);
    /* Payloads are the decimal numbers 0, 1, ... in order. */
    char want[16];
    int len = snprintf(want, sizeof want, "%d", n);
    if (message->publisher != 0 || strcmp(message->channel, "push/c") != 0 || message->payload_len != (size_t)len
        || memcmp(message->payload, want, (size_t)len) != 0)
        atomic_fetch_add(&st->out_of_order, 1);
    return 0;
}

static net_event_closure_t event_closure(handler_state *st) {
    net_event_closure_t c = {st, on_event, count_drop};
    return c;
}

static void test_handlers(void) {
    net_handler_t *h = NULL;
    net_handler_stats_t stats;
    net_bus_t *bus = NULL;
    CHECK(net_bus_new("{\"num_shards\": 1}", 17, &bus) == NET_OK);

    /* Bad input: drop still runs exactly once, nothing registered. */
    handler_state bad = {0};
    net_event_closure_t no_call = {&bad, NULL, count_drop};
    CHECK(net_bus_on_event(bus, NULL, 0, NULL, 0, no_call, &h) == NET_ERR_NULL_POINTER && h == NULL);
    CHECK(net_bus_on_event(bus, NULL, 0, NULL, 0, event_closure(&bad), NULL) == NET_ERR_NULL_POINTER);
    CHECK(net_bus_on_event(NULL, NULL, 0, NULL, 0, event_closure(&bad), &h) == NET_ERR_NULL_POINTER);
    CHECK(net_bus_on_event(bus, NULL, 0, "{nope", 5, event_closure(&bad), &h) < 0);
    CHECK(atomic_load(&bad.drops) == 4 && atomic_load(&bad.calls) == 0);
    CHECK(net_handler_close(NULL) == NET_ERR_NULL_POINTER);
    CHECK(net_handler_stats(NULL, &stats) == NET_ERR_NULL_POINTER);
    net_handler_free(NULL);

    /* Every event once, in order; a handler emits into its own bus. */
    handler_state st = {0};
    st.bus = bus;
    for (int i = 0; i < 10; i++) CHECK(net_ingest_raw(bus, "x", 1) == NET_OK);
    CHECK(net_bus_on_event(bus, NULL, 0, NULL, 0, event_closure(&st), &h) == NET_OK && h != NULL);
    for (int i = 0; i < 989; i++) CHECK(net_ingest_raw(bus, "y", 1) == NET_OK);
    CHECK(net_ingest_raw(bus, "ping", 4) == NET_OK);
    CHECK(wait_for(&st.calls, 1001)); /* 1000 emitted + the pong */
    CHECK(atomic_load(&st.out_of_order) == 0);
    CHECK(net_handler_stats(h, &stats) == NET_OK && stats.delivered == 1001 && stats.failed == 0 && !stats.closed);
    CHECK(net_handler_stats(h, NULL) == NET_ERR_NULL_POINTER);
    CHECK(net_handler_close(h) == NET_OK && net_handler_close(h) == NET_OK);
    CHECK(atomic_load(&st.drops) == 1);
    CHECK(net_handler_stats(h, &stats) == NET_OK && stats.closed);
    net_handler_free(h);
    net_handler_free(h);
    CHECK(net_handler_close(h) == NET_ERR_INVALID_HANDLE);
    CHECK(atomic_load(&st.drops) == 1);

    /* Failures are counted; the handler keeps being called. */
    handler_state failing = {0};
    failing.fail_odd = 1;
    atomic_store(&failing.next_seq, 1001);
    CHECK(net_bus_on_event(bus, NULL, 0, NULL, 0, event_closure(&failing), &h) == NET_OK);
    for (int i = 0; i < 10; i++) CHECK(net_ingest_raw(bus, "z", 1) == NET_OK);
    CHECK(wait_for(&failing.calls, 10));
    CHECK(net_handler_stats(h, &stats) == NET_OK && stats.delivered == 5 && stats.failed == 5);
    net_handler_free(h);
    CHECK(atomic_load(&failing.drops) == 1);

    /* Close from inside at the third event: no fourth call. */
    handler_state closing = {0};
    closing.close_at = 3;
    closing.sleep_ms = 5;
    atomic_store(&closing.next_seq, 1011);
    CHECK(net_bus_on_event(bus, NULL, 0, NULL, 0, event_closure(&closing), &closing.self) == NET_OK);
    for (int i = 0; i < 10; i++) CHECK(net_ingest_raw(bus, "c", 1) == NET_OK);
    CHECK(wait_for(&closing.drops, 1));
    sleep_ms(20);
    CHECK(atomic_load(&closing.calls) == 3 && atomic_load(&closing.drops) == 1);
    net_handler_free(closing.self);

    /* Close from outside waits for the call in progress. */
    handler_state slow = {0};
    slow.sleep_ms = 100;
    atomic_store(&slow.next_seq, 1014);
    CHECK(net_bus_on_event(bus, NULL, 0, NULL, 0, event_closure(&slow), &h) == NET_OK);
    CHECK(wait_for(&slow.in_call, 1));
    CHECK(net_handler_close(h) == NET_OK);
    CHECK(atomic_load(&slow.in_call) == 0 && atomic_load(&slow.calls) == 1 && atomic_load(&slow.drops) == 1);
    net_handler_free(h);

    /* Mesh: a handler that replies from inside; the node's end ends it. */
    net_mesh_t *a = NULL, *b = NULL;
    char *addr = NULL;
    uint8_t key[32];
    uint64_t a_id = 0, b_id = 0, peer = 0;
    CHECK(net_mesh_bind(MESH_CONFIG, strlen(MESH_CONFIG), &a) == NET_OK);
    CHECK(net_mesh_bind(MESH_CONFIG, strlen(MESH_CONFIG), &b) == NET_OK);
    CHECK(net_mesh_local_addr(b, &addr, NULL) == NET_OK && net_mesh_identity(b, key, &b_id) == NET_OK);
    CHECK(net_mesh_identity(a, NULL, &a_id) == NET_OK);
    handler_state replier = {0};
    replier.mesh = b;
    net_message_closure_t mc = {&replier, on_message, count_drop};
    net_handler_t *mh = NULL;
    CHECK(net_mesh_on_message(b, mc, &mh) == NET_OK);
    CHECK(net_mesh_connect(a, addr, key, 32, &peer) == NET_OK && peer == b_id);
    net_string_free(addr);
    CHECK(net_mesh_open_stream(a, b_id, 5, NET_STREAM_RELIABLE, 0) == NET_OK);
    for (int i = 0; i < 10; i++) {
        uint8_t n = (uint8_t)i;
        CHECK(net_mesh_send_blocking(a, b_id, 5, &n, 1, 5000) == NET_OK);
    }
    int replies = 0, seen[10] = {0};
    net_mesh_message_t m;
    while (replies < 10 && net_mesh_recv(a, 5000, &m) == NET_OK) {
        if (m.len == 4 && memcmp(m.payload, "re:", 3) == 0 && m.payload[3] < 10) seen[m.payload[3]]++;
        replies++;
        net_bytes_free(m.payload, m.len);
    }
    int all = 1;
    for (int i = 0; i < 10; i++) all = all && seen[i] == 1;
    CHECK(replies == 10 && all);
    CHECK(net_mesh_shutdown(b) == NET_OK);
    for (int i = 0; i < 5000 && atomic_load(&replier.drops) == 0; i++) sleep_ms(1);
    CHECK(net_handler_stats(mh, &stats) == NET_OK && stats.closed && stats.delivered == 10);
    CHECK(atomic_load(&replier.drops) == 1);
    net_handler_free(mh);
    net_mesh_free(a);
    net_mesh_free(b);

    /* A handler left open is closed by net_runtime_shutdown (main checks). */
    static handler_state left_open;
    atomic_store(&left_open.next_seq, 1015);
    CHECK(net_bus_on_event(bus, NULL, 0, NULL, 0, event_closure(&left_open), &h) == NET_OK);
    left_open_state = &left_open;
    CHECK(net_ingest_raw(bus, "o", 1) == NET_OK);
    CHECK(wait_for(&left_open.calls, 1));
    /* `bus` too is left for net_runtime_shutdown. */
}

/* The mesh: two nodes, streams, backpressure, bad input, shutdown. */
static void test_mesh(void) {
    net_mesh_t *a = NULL, *b = NULL, *c = NULL;
    CHECK(net_mesh_bind(NULL, 0, &a) == NET_ERR_INVALID_MESH_CONFIG && a == NULL);
    CHECK(net_mesh_bind("{\"network_key\": \"07\"}", 19, &a) == NET_ERR_INVALID_MESH_CONFIG);
    CHECK(net_mesh_bind(MESH_CONFIG, strlen(MESH_CONFIG), NULL) == NET_ERR_NULL_POINTER);
    CHECK(net_mesh_bind("\xff", 1, &a) == NET_ERR_INVALID_UTF8);
    CHECK(net_mesh_bind(MESH_CONFIG, strlen(MESH_CONFIG), &a) == NET_OK);
    CHECK(net_mesh_bind(MESH_CONFIG, strlen(MESH_CONFIG), &b) == NET_OK);

    char *addr = NULL;
    uint8_t key[NET_PUBLIC_KEY_LEN];
    uint64_t a_id = 0, b_id = 0, peer = 0;
    CHECK(net_mesh_local_addr(b, &addr, NULL) == NET_OK && strncmp(addr, "127.0.0.1:", 10) == 0);
    CHECK(net_mesh_identity(b, key, &b_id) == NET_OK);
    CHECK(net_mesh_identity(a, NULL, &a_id) == NET_OK);
    CHECK(net_mesh_identity(a, NULL, NULL) == NET_ERR_NULL_POINTER);
    CHECK(net_mesh_connect(a, addr, key, 31, &peer) == NET_ERR_INVALID_KEY);
    CHECK(net_mesh_connect(a, "nowhere", key, 32, &peer) == NET_ERR_INVALID_MESH_ARGUMENT);
    /* A node cannot connect to itself: refused at once, not after a handshake timeout. */
    {
        char *a_addr = NULL;
        uint8_t a_key[32];
        CHECK(net_mesh_local_addr(a, &a_addr, NULL) == NET_OK && net_mesh_identity(a, a_key, NULL) == NET_OK);
        CHECK(net_mesh_connect(a, a_addr, a_key, 32, &peer) == NET_ERR_INVALID_MESH_ARGUMENT);
        CHECK(strstr(net_last_error_message(), "itself") != NULL);
        net_string_free(a_addr);
    }
    CHECK(net_mesh_connect(a, NULL, key, 32, &peer) == NET_ERR_NULL_POINTER);
    /* Cancellable: a token cancelled before the call fails it at once; NULL is "not cancellable". */
    {
        net_cancel_t *token = NULL;
        CHECK(net_cancel_new(&token) == NET_OK && net_cancel_cancel(token) == NET_OK);
        CHECK(net_mesh_connect_cancellable(a, addr, key, 32, token, &peer) == NET_ERR_CANCELLED);
        CHECK(net_mesh_connect_routed_cancellable(a, key, 31, token, &peer) == NET_ERR_INVALID_KEY);
        net_cancel_free(token);
    }
    CHECK(net_mesh_connect(a, addr, key, 32, &peer) == NET_OK && peer == b_id);

    /* Fire-and-forget and reliable, empty and full-size payloads. */
    CHECK(net_mesh_send(a, b_id, 1, NULL, 0) == NET_OK);
    net_mesh_message_t m;
    CHECK(net_mesh_recv(b, 5000, &m) == NET_OK && m.from == a_id && m.stream_id == 1 && m.len == 0 && m.payload == NULL);
    CHECK(net_mesh_open_stream(a, b_id, 2, 7, 0) == NET_ERR_INVALID_MESH_CONFIG);
    CHECK(net_mesh_open_stream(a, 12345, 2, NET_STREAM_RELIABLE, 0) == NET_ERR_UNKNOWN_PEER);
    CHECK(net_mesh_open_stream(a, b_id, 2, NET_STREAM_RELIABLE, 0) == NET_OK);
    CHECK(net_mesh_open_stream(a, b_id, 2, NET_STREAM_FIRE_AND_FORGET, 0) == NET_ERR_INVALID_MESH_CONFIG);
    static uint8_t big[65424];
    memset(big, 0xAB, sizeof big);
    CHECK(net_mesh_send(a, b_id, 2, big, sizeof big) == NET_ERR_MESSAGE_TOO_LARGE);
    CHECK(net_mesh_send_blocking(a, b_id, 2, big, sizeof big - 1, 5000) == NET_OK);
    CHECK(net_mesh_recv(b, 5000, &m) == NET_OK && m.len == sizeof big - 1 && m.payload[100] == 0xAB);
    net_bytes_free(m.payload, m.len);
    CHECK(net_mesh_recv(b, 10, &m) == NET_TIMED_OUT && m.payload == NULL);
    CHECK(net_mesh_recv(b, 10, NULL) == NET_ERR_NULL_POINTER);
    char *json = NULL;
    CHECK(net_mesh_peers(b, &json, NULL) == NET_OK && strstr(json, "\"confirmed\":true") != NULL);
    CHECK(strstr(json, "\"cipher\":\"aes-256-gcm\"") != NULL || strstr(json, "\"cipher\":\"chacha20-poly1305\"") != NULL);
    net_string_free(json);
    CHECK(net_mesh_stats(b, &json, NULL) == NET_OK && strstr(json, "\"handshakes_completed\":1") != NULL);
    net_string_free(json);
    /* A cancellable connect with no token runs to the end: a fresh session replaces the old. */
    peer = 0;
    CHECK(net_mesh_connect_cancellable(a, addr, key, 32, NULL, &peer) == NET_OK && peer == b_id);
    CHECK(net_mesh_stream_stats(a, b_id, 99, &json, NULL) == NET_DONE && json == NULL);

    /* Four threads on four reliable streams; each stream arrives in order. */
    pthread_t threads[4];
    mesh_sender senders[4];
    for (int t = 0; t < 4; t++) {
        senders[t] = (mesh_sender){a, b_id, (uint64_t)(10 + t), 200, 0};
        CHECK(net_mesh_open_stream(a, b_id, senders[t].stream, NET_STREAM_RELIABLE, 32) == NET_OK);
        pthread_create(&threads[t], NULL, mesh_send_numbers, &senders[t]);
    }
    uint32_t next[4] = {0, 0, 0, 0};
    int in_order = 1;
    for (int i = 0; i < 800; i++) {
        if (net_mesh_recv(b, 10000, &m) != NET_OK) { in_order = 0; break; }
        uint32_t n;
        memcpy(&n, m.payload, 4);
        if (m.stream_id < 10 || m.stream_id > 13 || n != next[m.stream_id - 10]) in_order = 0;
        else next[m.stream_id - 10]++;
        net_bytes_free(m.payload, m.len);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        CHECK(senders[t].failures == 0);
    }
    CHECK(in_order && next[0] == 200 && next[3] == 200);

    /* Backpressure: with the peer gone nothing is acknowledged. */
    CHECK(net_mesh_open_stream(a, b_id, 3, NET_STREAM_RELIABLE, 2) == NET_OK);
    net_mesh_free(b);
    CHECK(net_mesh_send(a, b_id, 3, (const uint8_t *)"1", 1) == NET_OK);
    CHECK(net_mesh_send(a, b_id, 3, (const uint8_t *)"2", 1) == NET_OK);
    CHECK(net_mesh_send(a, b_id, 3, (const uint8_t *)"3", 1) == NET_ERR_STREAM_BACKPRESSURE);
    CHECK(strncmp(net_last_error_message(), "mesh:backpressure: ", 19) == 0);
    CHECK(net_mesh_send_with_retry(a, b_id, 3, (const uint8_t *)"3", 1, 2) == NET_ERR_STREAM_BACKPRESSURE);
    CHECK(net_mesh_send_blocking(a, b_id, 3, (const uint8_t *)"3", 1, 20) == NET_ERR_MESH_TIMEOUT);
    CHECK(net_mesh_stream_stats(a, b_id, 3, &json, NULL) == NET_OK && strstr(json, "\"in_flight\":2") != NULL);
    net_string_free(json);

    /* Another network key: the handshake fails. */
    const char *other = "{\"network_key\": \"0909090909090909090909090909090909090909090909090909090909090909\","
                        " \"bind\": \"127.0.0.1:0\"}";
    CHECK(net_mesh_bind(other, strlen(other), &c) == NET_OK);
    char *c_addr = NULL;
    CHECK(net_mesh_local_addr(c, &c_addr, NULL) == NET_OK && net_mesh_identity(c, key, NULL) == NET_OK);
    CHECK(net_mesh_connect(a, c_addr, key, 32, &peer) == NET_ERR_HANDSHAKE_FAILED);
    net_string_free(c_addr);
    net_string_free(addr);

    /* Relaying: F reaches G only through E, which never holds the F-G keys. */
    const char *fast = "{\"network_key\": \"0707070707070707070707070707070707070707070707070707070707070707\","
                       " \"bind\": \"127.0.0.1:0\", \"beacon_interval_ms\": 30}";
    net_mesh_t *relay = NULL, *f = NULL, *g = NULL;
    CHECK(net_mesh_bind(fast, strlen(fast), &relay) == NET_OK);
    CHECK(net_mesh_bind(fast, strlen(fast), &f) == NET_OK);
    CHECK(net_mesh_bind(fast, strlen(fast), &g) == NET_OK);
    char *relay_addr = NULL;
    uint8_t relay_key[32], g_key[32];
    uint64_t relay_id = 0, g_id = 0, f_id = 0, routed_id = 0;
    CHECK(net_mesh_local_addr(relay, &relay_addr, NULL) == NET_OK && net_mesh_identity(relay, relay_key, &relay_id) == NET_OK);
    CHECK(net_mesh_identity(g, g_key, &g_id) == NET_OK && net_mesh_identity(f, NULL, &f_id) == NET_OK);
    CHECK(net_mesh_connect_routed(f, g_key, 32, &routed_id) == NET_ERR_UNKNOWN_PEER);
    CHECK(net_mesh_connect(f, relay_addr, relay_key, 32, &peer) == NET_OK);
    CHECK(net_mesh_connect(g, relay_addr, relay_key, 32, &peer) == NET_OK);
    net_string_free(relay_addr);
    char want_f[40], want_g[40];
    snprintf(want_f, sizeof want_f, "\"dest\":\"%llu\"", (unsigned long long)g_id);
    snprintf(want_g, sizeof want_g, "\"dest\":\"%llu\"", (unsigned long long)f_id);
    int routes_ready = 0;
    for (int i = 0; i < 300 && !routes_ready; i++) {
        char *rf = NULL, *rg = NULL;
        if (net_mesh_routes(f, &rf, NULL) == NET_OK && net_mesh_routes(g, &rg, NULL) == NET_OK)
            routes_ready = strstr(rf, want_f) != NULL && strstr(rg, want_g) != NULL;
        net_string_free(rf);
        net_string_free(rg);
        if (!routes_ready) { struct timespec ts = {0, 10 * 1000 * 1000}; nanosleep(&ts, NULL); }
    }
    CHECK(routes_ready);
    CHECK(net_mesh_connect_routed(f, g_key, 32, &routed_id) == NET_OK && routed_id == g_id);
    CHECK(net_mesh_connect_routed(f, g_key, 31, &routed_id) == NET_ERR_INVALID_KEY);
    CHECK(net_mesh_send(f, g_id, 1, (const uint8_t *)"via E", 5) == NET_OK);
    CHECK(net_mesh_recv(g, 5000, &m) == NET_OK && m.from == f_id && m.len == 5 && memcmp(m.payload, "via E", 5) == 0);
    net_bytes_free(m.payload, m.len);
    CHECK(net_mesh_stats(relay, &json, NULL) == NET_OK && strstr(json, "\"packets_forwarded\":0") == NULL);
    net_string_free(json);
    CHECK(net_mesh_peers(g, &json, NULL) == NET_OK && strstr(json, "\"routed\":true") != NULL && strstr(json, "\"health\":\"alive\"") != NULL);
    net_string_free(json);
    CHECK(net_mesh_routes(NULL, &json, NULL) == NET_ERR_NULL_POINTER);
    net_mesh_free(f);
    net_mesh_free(g);
    net_mesh_free(relay);

    /* An allowlist with nobody on it: dialing is refused before any packet. */
    const char *strict = "{\"network_key\": \"0707070707070707070707070707070707070707070707070707070707070707\","
                         " \"bind\": \"127.0.0.1:0\", \"trust\": {\"policy\": \"allowlist\", \"allow\": []}}";
    net_mesh_t *d = NULL;
    CHECK(net_mesh_bind(strict, strlen(strict), &d) == NET_OK);
    CHECK(net_mesh_local_addr(a, &c_addr, NULL) == NET_OK && net_mesh_identity(a, key, NULL) == NET_OK);
    CHECK(net_mesh_connect(d, c_addr, key, 32, &peer) == NET_ERR_UNTRUSTED_PEER);
    CHECK(strncmp(net_last_error_message(), "mesh:untrusted_peer: ", 21) == 0);
    net_string_free(c_addr);
    CHECK(net_mesh_stats(d, &json, NULL) == NET_OK && strstr(json, "\"trust_rejected\":1") != NULL);
    net_string_free(json);
    CHECK(net_mesh_known_peers(d, &json, NULL) == NET_OK && strcmp(json, "[]") == 0);
    net_string_free(json);
    CHECK(net_mesh_known_peers(d, NULL, NULL) == NET_ERR_NULL_POINTER);
    const char *bad_policy = "{\"network_key\": \"0707070707070707070707070707070707070707070707070707070707070707\","
                             " \"trust\": {\"policy\": \"sometimes\"}}";
    net_mesh_t *e = NULL;
    CHECK(net_mesh_bind(bad_policy, strlen(bad_policy), &e) == NET_ERR_INVALID_MESH_CONFIG && e == NULL);
    net_mesh_free(d);

    /* A blocked sender wakes with mesh:shutdown when another thread shuts down. */
    pthread_t closer_thread;
    pthread_create(&closer_thread, NULL, mesh_closer, a);
    CHECK(net_mesh_send_blocking(a, b_id, 3, (const uint8_t *)"3", 1, -1) == NET_ERR_MESH_SHUTDOWN);
    pthread_join(closer_thread, NULL);
    CHECK(net_mesh_recv(a, 10, &m) == NET_ERR_MESH_SHUTDOWN);
    CHECK(net_mesh_send(a, b_id, 1, (const uint8_t *)"x", 1) == NET_ERR_MESH_SHUTDOWN);
    CHECK(net_mesh_shutdown(a) == NET_OK);
    net_mesh_free(a);
    net_mesh_free(a); /* double free is ignored */
    CHECK(net_mesh_send(a, b_id, 1, (const uint8_t *)"x", 1) == NET_ERR_INVALID_HANDLE);
    CHECK(net_mesh_recv(NULL, 0, &m) == NET_ERR_NULL_POINTER);
    net_mesh_free(NULL);
    net_mesh_free(c);
}

/* Polls `bus` until `want` events arrived (10 s at most); copies them, in
 * order, NUL-terminated, into `out` (each at most 63 bytes). Returns the count. */
static size_t poll_events(net_bus_t *bus, size_t want, char out[][64]) {
    size_t got = 0;
    char cursor[512] = "";
    for (int round = 0; round < 5000 && got < want; round++) {
        net_poll_result_t r;
        if (net_poll_ex(bus, 100, cursor[0] ? cursor : NULL, &r) != NET_OK) break;
        for (size_t i = 0; i < r.count && got < want; i++, got++) {
            size_t n = r.events[i].raw_len < 63 ? r.events[i].raw_len : 63;
            memcpy(out[got], r.events[i].raw, n);
            out[got][n] = 0;
        }
        snprintf(cursor, sizeof cursor, "%s", r.next_cursor);
        int empty = r.count == 0;
        net_free_poll_result(&r);
        if (empty) {
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return got;
}

/* Whether the link's stats JSON comes to contain `text` within 10 s. */
static int link_stats_reach(net_bus_link_t *link, const char *text) {
    for (int round = 0; round < 2000; round++) {
        char *json = NULL;
        if (net_bus_link_stats(link, &json, NULL) != NET_OK) return 0;
        int found = strstr(json, text) != NULL;
        net_string_free(json);
        if (found) return 1;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

typedef struct {
    net_bus_t *bus;
    int first, count, failures;
} bus_producer;

static void *emit_numbers(void *arg) {
    bus_producer *p = arg;
    char text[32];
    for (int i = p->first; i < p->first + p->count; i++) {
        int n = snprintf(text, sizeof text, "%d", i);
        if (net_ingest_raw(p->bus, text, (size_t)n) != NET_OK) p->failures++;
    }
    return NULL;
}

/* The bus over the mesh: events emitted on A's bus are polled on B's. */
static void *canceller(void *arg) {
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
    if (net_cancel_cancel((net_cancel_t *)arg) != NET_OK) fprintf(stderr, "cancel failed\n");
    return NULL;
}

/* Cancel tokens: a wait with no timeout ends when another thread cancels,
 * nothing is taken, the token stays cancelled, NULL means not cancellable. */
static void test_cancel(void) {
    net_bus_t *bus = NULL;
    net_subscription_t *sub = NULL;
    net_cancel_t *token = NULL;
    net_poll_result_t result;
    CHECK(net_bus_new("", 0, &bus) == NET_OK);
    CHECK(net_subscribe(bus, NULL, 0, NULL, 0, &sub) == NET_OK);
    CHECK(net_cancel_new(&token) == NET_OK);
    pthread_t t;
    pthread_create(&t, NULL, canceller, token);
    int rc = net_subscription_next_cancellable(sub, 16, -1, token, &result);
    CHECK(rc == NET_ERR_CANCELLED && kind_is(rc, "call:cancelled"));
    CHECK(result.count == 0);
    net_free_poll_result(&result);
    pthread_join(t, NULL);
    CHECK(net_ingest_raw(bus, "x", 1) == NET_OK);
    CHECK(net_subscription_next_cancellable(sub, 16, -1, token, &result) == NET_ERR_CANCELLED);
    net_free_poll_result(&result);
    /* Not taken: a call without a token gets it. */
    CHECK(net_subscription_next_cancellable(sub, 16, 5000, NULL, &result) == NET_OK && result.count == 1);
    net_free_poll_result(&result);
    CHECK(net_cancel_cancel(token) == NET_OK); /* idempotent */
    net_cancel_free(token);
    CHECK(net_cancel_cancel(token) == NET_ERR_INVALID_HANDLE);
    CHECK(net_cancel_cancel(NULL) == NET_ERR_NULL_POINTER);
    CHECK(net_subscription_next_cancellable(sub, 16, 0, token, &result) == NET_ERR_INVALID_HANDLE);
    net_free_poll_result(&result);
    net_cancel_free(NULL);
    net_subscription_free(sub);
    net_bus_free(bus);

    /* Mesh recv. */
    const char *config = "{\"network_key\":\"0707070707070707070707070707070707070707070707070707070707070707\",\"bind\":\"127.0.0.1:0\"}";
    net_mesh_t *mesh = NULL;
    net_mesh_message_t message;
    CHECK(net_mesh_bind(config, strlen(config), &mesh) == NET_OK);
    CHECK(net_cancel_new(&token) == NET_OK);
    pthread_create(&t, NULL, canceller, token);
    CHECK(net_mesh_recv_cancellable(mesh, -1, token, &message) == NET_ERR_CANCELLED);
    pthread_join(t, NULL);
    CHECK(net_mesh_recv_cancellable(mesh, 10, NULL, &message) == NET_TIMED_OUT);
    net_cancel_free(token);

    /* A blocking send on a full window (the peer is gone, nothing is acked). */
    net_mesh_t *peer_node = NULL;
    char *addr = NULL;
    unsigned char key[32];
    uint64_t peer_id = 0, peer = 0;
    CHECK(net_mesh_bind(config, strlen(config), &peer_node) == NET_OK);
    CHECK(net_mesh_local_addr(peer_node, &addr, NULL) == NET_OK && net_mesh_identity(peer_node, key, &peer_id) == NET_OK);
    CHECK(net_mesh_connect(mesh, addr, key, 32, &peer) == NET_OK);
    net_string_free(addr);
    net_mesh_free(peer_node);
    CHECK(net_mesh_open_stream(mesh, peer, 5, NET_STREAM_RELIABLE, 1) == NET_OK);
    CHECK(net_mesh_send(mesh, peer, 5, (const uint8_t *)"a", 1) == NET_OK);
    CHECK(net_cancel_new(&token) == NET_OK);
    pthread_create(&t, NULL, canceller, token);
    CHECK(net_mesh_send_blocking_cancellable(mesh, peer, 5, (const uint8_t *)"b", 1, -1, token) == NET_ERR_CANCELLED);
    pthread_join(t, NULL);
    net_cancel_free(token);

    /* NetDB: a wait for a write that never comes, and a watch with no change. */
    net_netdb_t *db = NULL;
    net_watch_t *watch = NULL;
    char *json = NULL;
    CHECK(net_netdb_open("", 0, &db) == NET_OK);
    CHECK(net_cancel_new(&token) == NET_OK);
    pthread_create(&t, NULL, canceller, token);
    CHECK(net_netdb_wait_cancellable(db, "tasks", 1000, -1, token) == NET_ERR_CANCELLED);
    pthread_join(t, NULL);
    net_cancel_free(token);
    CHECK(net_netdb_watch(db, "tasks", "{}", 2, &watch) == NET_OK);
    CHECK(net_watch_next_cancellable(watch, 5000, NULL, &json, NULL) == NET_OK && json != NULL);
    net_string_free(json);
    json = NULL;
    CHECK(net_cancel_new(&token) == NET_OK);
    pthread_create(&t, NULL, canceller, token);
    CHECK(net_watch_next_cancellable(watch, -1, token, &json, NULL) == NET_ERR_CANCELLED && json == NULL);
    net_watch_free(watch);
    net_netdb_free(db);
    pthread_join(t, NULL);
    /* A token cancelled before the call (the watch's): refused at once, nothing sent. */
    CHECK(net_mesh_send_blocking_cancellable(mesh, peer, 5, (const uint8_t *)"c", 1, -1, token) == NET_ERR_CANCELLED);
    net_cancel_free(token);
    /* A stream handle's stats: zero, fire-and-forget, when the node has none. */
    char *stream_json = NULL;
    CHECK(net_mesh_stream_stats(mesh, peer, 999, &stream_json, NULL) == NET_DONE && stream_json == NULL);
    CHECK(net_mesh_opened_stream_stats(mesh, peer, 999, &stream_json, NULL) == NET_OK && stream_json != NULL);
    CHECK(stream_json != NULL && strstr(stream_json, "\"reliability\":\"fire_and_forget\"") != NULL
          && strstr(stream_json, "\"sent\":0") != NULL);
    net_string_free(stream_json);
    CHECK(net_mesh_opened_stream_stats(mesh, peer, 999, NULL, NULL) == NET_ERR_NULL_POINTER);
    net_mesh_free(mesh);
}

static void test_bus_link(void) {
    net_mesh_t *a = NULL, *b = NULL;
    net_bus_t *outbox = NULL, *inbox = NULL;
    CHECK(net_mesh_bind(MESH_CONFIG, strlen(MESH_CONFIG), &a) == NET_OK);
    CHECK(net_mesh_bind(MESH_CONFIG, strlen(MESH_CONFIG), &b) == NET_OK);
    CHECK(net_bus_new("", 0, &outbox) == NET_OK && net_bus_new("", 0, &inbox) == NET_OK);
    char *addr = NULL;
    uint8_t key[NET_PUBLIC_KEY_LEN];
    uint64_t a_id = 0, b_id = 0, peer = 0;
    CHECK(net_mesh_local_addr(b, &addr, NULL) == NET_OK && net_mesh_identity(b, key, &b_id) == NET_OK);
    CHECK(net_mesh_identity(a, NULL, &a_id) == NET_OK);
    CHECK(net_mesh_connect(a, addr, key, 32, &peer) == NET_OK && peer == b_id);
    net_string_free(addr);

    /* Bad input: every argument. */
    const char *send = "{\"direction\":\"send\"}", *recv = "{\"direction\":\"receive\"}";
    net_bus_link_t *sending = NULL, *receiving = NULL, *other = NULL;
    CHECK(net_bus_link_open(NULL, a, b_id, send, strlen(send), &sending) == NET_ERR_NULL_POINTER);
    CHECK(net_bus_link_open(outbox, NULL, b_id, send, strlen(send), &sending) == NET_ERR_NULL_POINTER);
    CHECK(net_bus_link_open(outbox, a, b_id, NULL, 0, &sending) == NET_ERR_INVALID_MESH_CONFIG);
    CHECK(net_bus_link_open(outbox, a, b_id, send, strlen(send), NULL) == NET_ERR_NULL_POINTER);
    CHECK(net_bus_link_open(outbox, a, b_id, "\xff", 1, &sending) == NET_ERR_INVALID_UTF8);
    const char *sideways = "{\"direction\":\"sideways\"}";
    CHECK(net_bus_link_open(outbox, a, b_id, sideways, strlen(sideways), &sending) == NET_ERR_INVALID_MESH_CONFIG);
    CHECK(net_bus_link_open(outbox, a, 12345, send, strlen(send), &sending) == NET_ERR_UNKNOWN_PEER && sending == NULL);

    /* Four producer threads; each one's events stay in its order. */
    CHECK(net_bus_link_open(inbox, b, a_id, recv, strlen(recv), &receiving) == NET_OK);
    CHECK(net_bus_link_open(inbox, b, a_id, recv, strlen(recv), &other) == NET_ERR_INVALID_MESH_CONFIG);
    CHECK(net_bus_link_open(outbox, a, b_id, send, strlen(send), &sending) == NET_OK);
    pthread_t threads[4];
    bus_producer producers[4];
    for (int t = 0; t < 4; t++) {
        producers[t] = (bus_producer){outbox, t * 1000, 250, 0};
        pthread_create(&threads[t], NULL, emit_numbers, &producers[t]);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        CHECK(producers[t].failures == 0);
    }
    static char got[1000][64];
    CHECK(poll_events(inbox, 1000, got) == 1000);
    int last[4] = {-1, -1, -1, -1}, ordered = 1;
    for (int i = 0; i < 1000; i++) {
        int n = atoi(got[i]), t = n / 1000;
        if (t < 0 || t > 3 || n <= last[t]) ordered = 0; else last[t] = n;
    }
    CHECK(ordered && last[0] == 249 && last[3] == 3249);
    char *json = NULL;
    CHECK(link_stats_reach(sending, "\"events\":1000,"));
    CHECK(net_bus_link_stats(sending, &json, NULL) == NET_OK && strstr(json, "\"events\":1000,") != NULL
          && strstr(json, "\"direction\":\"send\"") != NULL && strstr(json, "\"running\":true") != NULL);
    net_string_free(json);
    char id_text[40];
    snprintf(id_text, sizeof id_text, "\"peer\":\"%llu\"", (unsigned long long)a_id);
    CHECK(net_bus_link_stats(receiving, &json, NULL) == NET_OK && strstr(json, id_text) != NULL
          && strstr(json, "\"events\":1000,") != NULL && strstr(json, "\"malformed\":0") != NULL);
    net_string_free(json);
    CHECK(net_bus_link_stats(receiving, NULL, NULL) == NET_ERR_NULL_POINTER);

    /* Close twice, stale handles, a node shutting down under a link. */
    CHECK(net_bus_link_close(sending) == NET_OK && net_bus_link_close(sending) == NET_OK);
    CHECK(net_bus_link_stats(sending, &json, NULL) == NET_OK && strstr(json, "\"running\":false") != NULL);
    net_string_free(json);
    net_bus_link_free(sending);
    net_bus_link_free(sending);
    net_bus_link_free(NULL);
    CHECK(net_bus_link_close(sending) == NET_ERR_INVALID_HANDLE);
    CHECK(net_mesh_shutdown(b) == NET_OK);
    CHECK(link_stats_reach(receiving, "\"running\":false"));
    CHECK(net_bus_link_stats(receiving, &json, NULL) == NET_OK && strstr(json, "\"error\":\"mesh:shutdown") != NULL);
    net_string_free(json);
    CHECK(net_shutdown(outbox) == NET_OK);
    CHECK(net_bus_link_open(outbox, a, b_id, send, strlen(send), &sending) == NET_ERR_SHUTDOWN);
    /* `receiving` stays open: net_runtime_shutdown must close it. */
    net_bus_free(outbox);
    net_mesh_free(a);
    net_mesh_free(b);
}

/* A token cache shared by threads that install, check and revoke. */
typedef struct {
    net_token_cache_t *cache;
    net_identity_t *root;
    int index;
} token_worker;

static void *token_thread(void *arg) {
    token_worker *w = arg;
    unsigned char seed[32], subject[32], token[NET_TOKEN_LEN], id[NET_TOKEN_ID_LEN];
    memset(seed, 0x60 + w->index, sizeof seed);
    net_identity_t *who = NULL;
    CHECK(net_identity_from_seed(seed, 32, &who) == NET_OK && net_identity_public_key(who, subject) == NET_OK);
    char hex[65], request[256];
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", subject[i]);
    snprintf(request, sizeof request, "{\"subject\":\"%s\",\"scope\":[\"publish\"],\"channel\":\"t/*\",\"ttl_ms\":60000}", hex);
    int wrong = 0; /* one check per thread, not per round */
    for (int round = 0; round < 100; round++) {
        wrong += net_token_issue(w->root, request, strlen(request), token) != NET_OK;
        wrong += net_token_cache_install(w->cache, token, NET_TOKEN_LEN, subject, 32, NET_TOKEN_SCOPE_PUBLISH, "t/x", 3, -1, id) != NET_OK;
        wrong += net_token_cache_check(w->cache, subject, 32, NET_TOKEN_SCOPE_PUBLISH, "t/x", 3, -1, NULL) != NET_OK;
        wrong += net_token_cache_revoke(w->cache, id, NET_TOKEN_ID_LEN) != NET_OK;
        wrong += net_token_cache_check(w->cache, subject, 32, NET_TOKEN_SCOPE_PUBLISH, "t/x", 3, -1, NULL) != NET_ERR_TOKEN_DENIED;
    }
    CHECK(wrong == 0);
    net_identity_free(who);
    return NULL;
}

/* Tokens and channel names: NULLs, bad bytes, stale handles, errors by kind, threads. */
static void test_tokens(void) {
    unsigned char seed[32] = {9}, root_pk[32], subject_pk[32], token[NET_TOKEN_LEN], child[NET_TOKEN_LEN], id[NET_TOKEN_ID_LEN];
    net_identity_t *root = NULL, *subject = NULL;
    CHECK(net_identity_from_seed(seed, 32, &root) == NET_OK && net_identity_public_key(root, root_pk) == NET_OK);
    seed[0] = 10;
    CHECK(net_identity_from_seed(seed, 32, &subject) == NET_OK && net_identity_public_key(subject, subject_pk) == NET_OK);
    char hex[65], request[512];
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", subject_pk[i]);
    snprintf(request, sizeof request,
             "{\"subject\":\"%s\",\"scope\":[\"subscribe\",\"delegate\"],\"channel\":\"a/**\",\"ttl_ms\":60000,\"depth\":1}", hex);
    CHECK(net_token_issue(NULL, request, strlen(request), token) == NET_ERR_NULL_POINTER);
    CHECK(net_token_issue(root, NULL, 5, token) == NET_ERR_NULL_POINTER);
    CHECK(net_token_issue(root, request, strlen(request), NULL) == NET_ERR_NULL_POINTER);
    CHECK(net_token_issue(root, "{", 1, token) == NET_ERR_INVALID_TOKEN_ARGUMENT);
    {
        char unknown[512];
        snprintf(unknown, sizeof unknown, "{\"subject\":\"%s\",\"scope\":3,\"channel\":\"a\",\"ttl_ms\":1,\"colour\":1}", hex);
        CHECK(net_token_issue(root, unknown, strlen(unknown), token) == NET_ERR_INVALID_TOKEN_ARGUMENT);
        snprintf(unknown, sizeof unknown, "{\"subject\":\"%s\",\"scope\":16,\"channel\":\"a\",\"ttl_ms\":1}", hex);
        CHECK(net_token_issue(root, unknown, strlen(unknown), token) == NET_ERR_INVALID_TOKEN_ARGUMENT);
        snprintf(unknown, sizeof unknown, "{\"subject\":\"zz\",\"scope\":3,\"channel\":\"a\",\"ttl_ms\":1}");
        CHECK(net_token_issue(root, unknown, strlen(unknown), token) == NET_ERR_INVALID_TOKEN_ARGUMENT);
    }
    CHECK(net_token_issue(root, "\xff", 1, token) == NET_ERR_INVALID_UTF8);
    CHECK(net_token_issue(root, request, strlen(request), token) == NET_OK);
    CHECK(net_token_verify(token, NET_TOKEN_LEN, -1) == NET_OK);
    CHECK(net_token_verify(token, NET_TOKEN_LEN, 0) == NET_ERR_TOKEN_NOT_YET_VALID);
    CHECK(net_token_verify(token, NET_TOKEN_LEN - 1, -1) == NET_ERR_TOKEN_MALFORMED);
    CHECK(net_token_verify(NULL, 0, -1) == NET_ERR_TOKEN_MALFORMED);
    CHECK(net_token_verify(NULL, NET_TOKEN_LEN, -1) == NET_ERR_NULL_POINTER);
    CHECK(net_token_id(token, NET_TOKEN_LEN, NULL) == NET_ERR_NULL_POINTER);
    CHECK(net_token_id(token, NET_TOKEN_LEN, id) == NET_OK);
    bool covers = false;
    CHECK(net_token_covers(token, NET_TOKEN_LEN, "a/b/c", 5, &covers) == NET_OK && covers);
    CHECK(net_token_covers(token, NET_TOKEN_LEN, "b", 1, &covers) == NET_OK && !covers);
    CHECK(net_token_covers(token, NET_TOKEN_LEN, "a//b", 4, &covers) == NET_ERR_INVALID_CHANNEL_NAME);
    CHECK(net_token_covers(token, NET_TOKEN_LEN, "a", 1, NULL) == NET_ERR_NULL_POINTER);
    char *json = NULL;
    CHECK(net_token_json(token, NET_TOKEN_LEN, &json, NULL) == NET_OK && strstr(json, "\"delegate\"") != NULL);
    net_string_free(json);
    unsigned char tampered[NET_TOKEN_LEN];
    memcpy(tampered, token, NET_TOKEN_LEN);
    tampered[100] ^= 1;
    CHECK(net_token_verify(tampered, NET_TOKEN_LEN, -1) == NET_ERR_TOKEN_BAD_SIGNATURE);
    /* Delegation: the subject narrows it to one channel for the root itself. */
    char back[512];
    char root_hex[65];
    for (int i = 0; i < 32; i++) snprintf(root_hex + 2 * i, 3, "%02x", root_pk[i]);
    snprintf(back, sizeof back, "{\"subject\":\"%s\",\"scope\":[\"subscribe\"],\"channel\":\"a/b\",\"ttl_ms\":60000}", root_hex);
    CHECK(net_token_delegate(root, token, NET_TOKEN_LEN, back, strlen(back), child) == NET_ERR_TOKEN_BROKEN_CHAIN);
    CHECK(net_token_delegate(subject, token, 10, back, strlen(back), child) == NET_ERR_TOKEN_MALFORMED);
    CHECK(net_token_delegate(subject, token, NET_TOKEN_LEN, back, strlen(back), child) == NET_OK);
    /* The cache: trust, install the chain, check, revoke, sweep, stale handle. */
    net_token_cache_t *cache = NULL;
    CHECK(net_token_cache_new(NULL) == NET_ERR_NULL_POINTER);
    CHECK(net_token_cache_new(&cache) == NET_OK);
    unsigned char chain[2 * NET_TOKEN_LEN];
    memcpy(chain, token, NET_TOKEN_LEN);
    memcpy(chain + NET_TOKEN_LEN, child, NET_TOKEN_LEN);
    CHECK(net_token_cache_install(cache, chain, sizeof chain, root_pk, 32, NET_TOKEN_SCOPE_SUBSCRIBE, "a/b", 3, -1, id) == NET_ERR_TOKEN_UNTRUSTED);
    CHECK(net_token_cache_trust(cache, root_pk, 31) == NET_ERR_INVALID_KEY);
    CHECK(net_token_cache_trust(cache, root_pk, 32) == NET_OK);
    CHECK(net_token_cache_install(cache, chain, sizeof chain - 1, root_pk, 32, NET_TOKEN_SCOPE_SUBSCRIBE, "a/b", 3, -1, id) == NET_ERR_TOKEN_MALFORMED);
    CHECK(net_token_cache_install(cache, chain, sizeof chain, root_pk, 32, 0x10, "a/b", 3, -1, id) == NET_ERR_INVALID_TOKEN_ARGUMENT);
    CHECK(net_token_cache_install(cache, chain, sizeof chain, root_pk, 32, NET_TOKEN_SCOPE_PUBLISH, "a/b", 3, -1, id) == NET_ERR_TOKEN_DENIED);
    CHECK(net_token_cache_verify(cache, chain, sizeof chain, root_pk, 32, NET_TOKEN_SCOPE_SUBSCRIBE, "a/b", 3, -1, NULL) == NET_OK);
    size_t held = 99;
    CHECK(net_token_cache_len(cache, &held) == NET_OK && held == 0);
    CHECK(net_token_cache_install(cache, chain, sizeof chain, root_pk, 32, NET_TOKEN_SCOPE_SUBSCRIBE, "a/b", 3, -1, id) == NET_OK);
    CHECK(net_token_cache_len(cache, &held) == NET_OK && held == 1);
    CHECK(net_token_cache_check(cache, root_pk, 32, NET_TOKEN_SCOPE_SUBSCRIBE, "a/b", 3, -1, NULL) == NET_OK);
    CHECK(net_token_cache_check(cache, root_pk, 32, NET_TOKEN_SCOPE_SUBSCRIBE, "a/c", 3, -1, NULL) == NET_ERR_TOKEN_DENIED);
    bool revoked = true;
    CHECK(net_token_cache_is_revoked(cache, id, NET_TOKEN_ID_LEN, &revoked) == NET_OK && !revoked);
    CHECK(net_token_cache_revoke(cache, id, 3) == NET_ERR_INVALID_TOKEN_ARGUMENT);
    CHECK(net_token_cache_revoke(cache, id, NET_TOKEN_ID_LEN) == NET_OK);
    CHECK(net_token_cache_is_revoked(cache, id, NET_TOKEN_ID_LEN, &revoked) == NET_OK && revoked);
    CHECK(net_token_cache_check(cache, root_pk, 32, NET_TOKEN_SCOPE_SUBSCRIBE, "a/b", 3, -1, NULL) == NET_ERR_TOKEN_DENIED);
    size_t dropped = 9;
    CHECK(net_token_cache_sweep(cache, -1, &dropped) == NET_OK && dropped == 0);
    /* Eight threads on one cache. */
    pthread_t threads[8];
    token_worker workers[8];
    for (int i = 0; i < 8; i++) {
        workers[i] = (token_worker){cache, root, i};
        pthread_create(&threads[i], NULL, token_thread, &workers[i]);
    }
    for (int i = 0; i < 8; i++) pthread_join(threads[i], NULL);
    CHECK(net_token_cache_len(cache, &held) == NET_OK && held == 0);
    net_token_cache_free(cache);
    net_token_cache_free(cache);
    CHECK(net_token_cache_len(cache, &held) == NET_ERR_INVALID_HANDLE);
    CHECK(net_token_cache_trust((net_token_cache_t *)(uintptr_t)0x1234, root_pk, 32) == NET_ERR_INVALID_HANDLE);
    /* Channel names. */
    uint64_t hash = 0;
    bool matches = false;
    CHECK(net_channel_check_name("sensors/lidar", 13) == NET_OK);
    CHECK(net_channel_check_name("sensors//lidar", 14) == NET_ERR_INVALID_CHANNEL_NAME);
    CHECK(strcmp(net_error_kind(NET_ERR_INVALID_CHANNEL_NAME), "channel:invalid_name") == 0);
    CHECK(net_channel_hash("a", 1, &hash) == NET_OK && hash != 0);
    CHECK(net_channel_hash("", 0, &hash) == NET_ERR_INVALID_CHANNEL_NAME);
    CHECK(net_channel_hash("a", 1, NULL) == NET_ERR_NULL_POINTER);
    CHECK(net_channel_matches("a/*", 3, "a/b", 3, &matches) == NET_OK && matches);
    CHECK(net_channel_matches("a/*/b", 5, "a/b", 3, &matches) == NET_ERR_INVALID_CHANNEL_NAME);
    net_identity_free(root);
    net_identity_free(subject);
}

static void *capability_worker(void *arg) {
    int *wrong = arg;
    const char *set = "{\"tags\":[\"gpu\"],\"hardware\":{\"memory_gb\":64}}";
    const char *pred = "{\"and\":[{\"exists\":\"gpu\"},{\"numeric_at_least\":{\"key\":\"hardware.memory_gb\",\"value\":32}}]}";
    for (int round = 0; round < 200; round++) {
        bool m = false;
        char *out = NULL;
        *wrong += net_predicate_evaluate(pred, strlen(pred), set, strlen(set), &m) != NET_OK || !m;
        *wrong += net_capability_normalize(set, strlen(set), &out, NULL) != NET_OK;
        net_string_free(out);
        *wrong += net_capability_normalize("{\"tags\":[\"a b\"]}", 16, &out, NULL) != NET_ERR_INVALID_CAPABILITY_TAG;
    }
    return NULL;
}

#define J(text) text, strlen(text)
/* Capabilities and subnets: NULLs, bad UTF-8, bad JSON by kind, no output on failure, threads. */
static void test_capabilities(void) {
    char *out = (char *)0x1;
    size_t len = 0;
    bool m = true;
    uint32_t v = 7;
    CHECK(net_capability_normalize(NULL, 3, &out, &len) == NET_ERR_NULL_POINTER);
    CHECK(net_capability_normalize(J("{}"), NULL, &len) == NET_ERR_NULL_POINTER);
    CHECK(net_capability_normalize(J("\xff"), &out, &len) == NET_ERR_INVALID_UTF8);
    CHECK(net_capability_normalize(J("["), &out, &len) == NET_ERR_INVALID_CAPABILITY_SET);
    CHECK(net_capability_normalize(J("{\"tags\":[\"\"]}"), &out, &len) == NET_ERR_INVALID_CAPABILITY_TAG);
    CHECK(net_capability_normalize(J("{\"tags\":[\"b\",\"a\"]}"), &out, &len) == NET_OK);
    CHECK(len == strlen(out) && strcmp(out, "{\"metadata\":{},\"tags\":[\"a\",\"b\"]}") == 0);
    net_string_free(out);
    CHECK(net_capability_validate(J("{\"tags\":[\"hardware.memory_gb=x\"]}"), &out, NULL) == NET_OK);
    CHECK(strstr(out, "\"valid\":false") != NULL && strstr(out, "not_a_number") != NULL);
    net_string_free(out);
    CHECK(net_capability_diff(J("{}"), J("{\"tags\":[\"a\"]}"), &out, NULL) == NET_OK);
    CHECK(strstr(out, "\"added\":[\"a\"]") != NULL);
    net_string_free(out);
    CHECK(net_capability_apply(J("{}"), J("{\"removed\":[\"a\"]}"), &out, NULL) == NET_ERR_INVALID_CAPABILITY_DIFF);
    CHECK(net_capability_apply(J("{}"), NULL, 1, &out, NULL) == NET_ERR_NULL_POINTER);
    CHECK(net_predicate_normalize(J("{\"exist\":\"a\"}"), &out, NULL) == NET_ERR_INVALID_PREDICATE);
    CHECK(net_predicate_evaluate(J("{\"exists\":\"a\"}"), J("{\"tags\":[\"a\"]}"), NULL) == NET_ERR_NULL_POINTER);
    CHECK(net_predicate_evaluate(J("{\"exists\":\"a\"}"), J("{\"tags\":[\"b\"]}"), &m) == NET_OK && !m);
    CHECK(net_predicate_evaluate(J("{\"exists\":\"a\"}"), J("{\"tags\":1}"), &m) == NET_ERR_INVALID_CAPABILITY_SET);
    CHECK(net_subnet_parse(J("3.7"), &v) == NET_OK && v == 0x03070000u);
    CHECK(net_subnet_parse(J("0.7"), &v) == NET_ERR_INVALID_SUBNET);
    CHECK(net_subnet_parse(J("3.7"), NULL) == NET_ERR_NULL_POINTER);
    CHECK(net_subnet_from_levels(NULL, 0, &v) == NET_OK && v == 0);
    CHECK(net_subnet_from_levels(NULL, 2, &v) == NET_ERR_NULL_POINTER);
    CHECK(net_subnet_format(0x00070000u, &out, NULL) == NET_ERR_INVALID_SUBNET);
    CHECK(net_subnet_format(0x03070000u, &out, &len) == NET_OK && strcmp(out, "3.7.0.0") == 0 && len == 7);
    net_string_free(out);
    CHECK(net_subnet_visible(J("subnet_local"), 0x03070000u, 0x03070100u, &m) == NET_OK && !m);
    CHECK(net_subnet_visible(J("parent_visible"), 0x03070000u, 0x03070100u, &m) == NET_OK && m);
    CHECK(net_subnet_visible(J("public"), 0, 0, &m) == NET_ERR_INVALID_SUBNET_POLICY);
    CHECK(net_subnet_visible(J("global"), 0x00000001u, 0, &m) == NET_ERR_INVALID_SUBNET);
    CHECK(net_subnet_assign(J("{\"rules\":[]}"), J("{}"), &v) == NET_OK && v == 0);
    CHECK(net_subnet_assign(J("{\"rules\":1}"), J("{}"), &v) == NET_ERR_INVALID_SUBNET_POLICY);

    pthread_t threads[4];
    int wrong[4] = {0};
    for (int i = 0; i < 4; i++) pthread_create(&threads[i], NULL, capability_worker, &wrong[i]);
    for (int i = 0; i < 4; i++) pthread_join(threads[i], NULL);
    CHECK(wrong[0] + wrong[1] + wrong[2] + wrong[3] == 0);
}

#undef J

/* Capability announcements between three nodes in a line over UDP: found two hops away,
 * inspected, counted; bad input by kind. */
static void test_mesh_capabilities(void) {
    const char *config =
        "{\"network_key\":\"0707070707070707070707070707070707070707070707070707070707070707\","
        "\"bind\":\"127.0.0.1:0\",\"capabilities\":{\"subnet\":\"3.7\",\"min_announce_interval_ms\":50,"
        "\"subnet_policy\":{\"rules\":[{\"prefix\":\"region:\",\"level\":0,\"values\":{\"eu\":4}}]}}}";
    net_mesh_t *n[3] = {NULL, NULL, NULL};
    uint64_t ids[3] = {0};
    for (int i = 0; i < 3; i++) {
        CHECK(net_mesh_bind(config, strlen(config), &n[i]) == NET_OK);
        CHECK(net_mesh_identity(n[i], NULL, &ids[i]) == NET_OK);
    }
    for (int i = 0; i < 2; i++) {
        char *addr = NULL;
        uint8_t key[NET_PUBLIC_KEY_LEN];
        uint64_t peer = 0;
        CHECK(net_mesh_local_addr(n[i + 1], &addr, NULL) == NET_OK && net_mesh_identity(n[i + 1], key, NULL) == NET_OK);
        CHECK(net_mesh_connect(n[i], addr, key, 32, &peer) == NET_OK && peer == ids[i + 1]);
        net_string_free(addr);
    }
    const char *set = "{\"tags\":[\"region:eu\"],\"hardware\":{\"gpu\":{\"vram_gb\":24}}}";
    const char *want = "{\"numeric_at_least\":{\"key\":\"hardware.gpu.vram_gb\",\"value\":16}}";
    CHECK(net_mesh_announce_capabilities(n[2], set, strlen(set)) == NET_OK);
    CHECK(net_mesh_announce_capabilities(n[2], "{\"tags\":[\"a b\"]}", 16) == NET_ERR_INVALID_CAPABILITY_TAG);
    CHECK(net_mesh_announce_capabilities(NULL, set, strlen(set)) == NET_ERR_NULL_POINTER);
    uint64_t *found = NULL;
    size_t count = 0;
    for (int waited = 0; waited < 1000; waited++) {
        CHECK(net_mesh_find_nodes(n[0], want, strlen(want), NULL, 0, &found, &count) == NET_OK);
        if (count == 1) break;
        net_node_ids_free(found, count);
        found = NULL;
        sleep_ms(10);
    }
    CHECK(count == 1 && found != NULL && found[0] == ids[2]);
    net_node_ids_free(found, count);
    CHECK(net_mesh_find_nodes(n[0], want, strlen(want), "global", 6, &found, &count) == NET_OK && count == 1);
    net_node_ids_free(found, count);
    CHECK(net_mesh_find_nodes(n[0], want, strlen(want), "planet", 6, &found, &count) == NET_ERR_INVALID_PREDICATE);
    CHECK(net_mesh_find_nodes(n[0], "{}", 2, NULL, 0, &found, &count) == NET_ERR_INVALID_PREDICATE);
    CHECK(net_mesh_find_nodes(n[0], want, strlen(want), NULL, 0, NULL, &count) == NET_ERR_NULL_POINTER);
    CHECK(net_mesh_find_nodes(n[0], "{\"exists\":\"tpu\"}", 16, NULL, 0, &found, &count) == NET_OK && count == 0 && found == NULL);
    char *json = NULL;
    CHECK(net_mesh_capabilities_of(n[0], ids[2], &json, NULL) == NET_OK && strstr(json, "hardware.gpu.vram_gb=24") != NULL);
    net_string_free(json);
    CHECK(net_mesh_capabilities_of(n[0], 12345, &json, NULL) == NET_DONE && json == NULL);
    uint32_t subnet = 0;
    CHECK(net_mesh_subnet_of(n[0], ids[2], &subnet) == NET_OK && subnet == 0x04000000u);
    CHECK(net_mesh_subnet_of(n[0], ids[0], &subnet) == NET_OK && subnet == 0x03070000u);
    CHECK(net_mesh_subnet_of(n[0], 12345, &subnet) == NET_DONE);
    CHECK(net_mesh_capability_stats(n[1], &json, NULL) == NET_OK && strstr(json, "\"forwarded\":1") != NULL);
    net_string_free(json);
    for (int i = 0; i < 3; i++) net_mesh_free(n[i]);
}

/* Channels between two nodes over UDP: a token-gated channel, subscribe, publish, receive,
 * revoke on the next publish; refusals and bad input by kind. */
static void test_mesh_channels(void) {
    const char *config = "{\"network_key\":\"0707070707070707070707070707070707070707070707070707070707070707\","
                         "\"bind\":\"127.0.0.1:0\"}";
    net_mesh_t *p = NULL, *s = NULL;
    uint64_t p_id = 0, s_id = 0, peer = 0;
    uint8_t p_key[NET_PUBLIC_KEY_LEN], s_key[NET_PUBLIC_KEY_LEN];
    char *addr = NULL;
    CHECK(net_mesh_bind(config, strlen(config), &p) == NET_OK && net_mesh_bind(config, strlen(config), &s) == NET_OK);
    CHECK(net_mesh_identity(p, p_key, &p_id) == NET_OK && net_mesh_identity(s, s_key, &s_id) == NET_OK);
    CHECK(net_mesh_local_addr(p, &addr, NULL) == NET_OK && net_mesh_connect(s, addr, p_key, 32, &peer) == NET_OK);
    net_string_free(addr);
    const char *channel = "{\"name\":\"alerts/fire\",\"require_token\":true,\"priority\":6}";
    CHECK(net_mesh_register_channel(p, channel, strlen(channel)) == NET_OK);
    CHECK(net_mesh_register_channel(p, channel, strlen(channel)) == NET_ERR_INVALID_CHANNEL_CONFIG);
    CHECK(net_mesh_register_channel(p, "{\"name\":\"a b\"}", 14) == NET_ERR_INVALID_CHANNEL_NAME);
    CHECK(net_mesh_register_channel(p, "{\"nam\":\"a\"}", 11) == NET_ERR_INVALID_CHANNEL_CONFIG);
    CHECK(net_mesh_register_channel(p, "{\"name\":\"a\",\"priority\":8}", 25) == NET_ERR_INVALID_CHANNEL_CONFIG);
    /* The root the publisher trusts grants s subscribe below alerts/ at any depth. */
    uint8_t seed[32];
    memset(seed, 42, sizeof seed);
    net_identity_t *root = NULL;
    uint8_t root_key[32], token[NET_TOKEN_LEN], token_id[NET_TOKEN_ID_LEN];
    CHECK(net_identity_from_seed(seed, 32, &root) == NET_OK && net_identity_public_key(root, root_key) == NET_OK);
    net_token_cache_t *cache = NULL;
    CHECK(net_mesh_token_cache(p, &cache) == NET_OK && net_token_cache_trust(cache, root_key, 32) == NET_OK);
    char request[256], hex[65];
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", s_key[i]);
    snprintf(request, sizeof request, "{\"subject\":\"%s\",\"scope\":[\"subscribe\"],\"channel\":\"alerts/**\",\"ttl_ms\":600000}", hex);
    CHECK(net_token_issue(root, request, strlen(request), token) == NET_OK && net_token_id(token, NET_TOKEN_LEN, token_id) == NET_OK);
    net_channel_subscription_t *sub = NULL;
    CHECK(net_mesh_subscribe(s, p_id, "alerts/fire", 11, NULL, 0, 5000, &sub) == NET_ERR_CHANNEL_UNAUTHORIZED && sub == NULL);
    CHECK(net_mesh_subscribe(s, p_id, "alerts/none", 11, NULL, 0, 5000, &sub) == NET_ERR_UNKNOWN_CHANNEL);
    CHECK(net_mesh_subscribe(s, p_id, "alerts/fire", 11, token, NET_TOKEN_LEN - 1, 5000, &sub) == NET_ERR_TOKEN_MALFORMED);
    CHECK(net_mesh_subscribe(s, p_id, "bad name", 8, NULL, 0, 5000, &sub) == NET_ERR_INVALID_CHANNEL_NAME);
    CHECK(net_mesh_subscribe(s, p_id, "alerts/fire", 11, token, NET_TOKEN_LEN, 5000, NULL) == NET_ERR_NULL_POINTER);
    CHECK(net_mesh_subscribe(s, p_id, "alerts/fire", 11, token, NET_TOKEN_LEN, 5000, &sub) == NET_OK);
    char *json = NULL;
    CHECK(net_channel_subscription_accepted(sub, &json, NULL) == NET_OK && strcmp(json, "[\"alerts/fire\"]") == 0);
    net_string_free(json);
    uint64_t *ids = NULL;
    size_t count = 0;
    CHECK(net_mesh_channel_subscribers(p, "alerts/fire", 11, &ids, &count) == NET_OK && count == 1 && ids[0] == s_id);
    net_node_ids_free(ids, count);
    CHECK(net_mesh_publish(p, "alerts/fire", 11, (const uint8_t *)"smoke", 5, &json, NULL) == NET_OK);
    CHECK(strstr(json, "\"delivered\":1") != NULL);
    net_string_free(json);
    net_channel_message_t m;
    CHECK(net_channel_subscription_next(sub, 5000, &m) == NET_OK);
    CHECK(m.publisher == p_id && strcmp(m.channel, "alerts/fire") == 0 && m.payload_len == 5 && memcmp(m.payload, "smoke", 5) == 0);
    net_channel_message_free(&m);
    net_channel_message_free(&m); /* idempotent */
    CHECK(net_channel_subscription_next(sub, 50, &m) == NET_TIMED_OUT && m.payload == NULL);
    CHECK(net_channel_subscription_next(sub, 50, NULL) == NET_ERR_NULL_POINTER);
    /* Revoked: skipped on the next publish, and evicted. */
    CHECK(net_token_cache_revoke(cache, token_id, NET_TOKEN_ID_LEN) == NET_OK);
    CHECK(net_mesh_publish(p, "alerts/fire", 11, (const uint8_t *)"again", 5, &json, NULL) == NET_OK);
    CHECK(strstr(json, "\"delivered\":0") != NULL && strstr(json, "\"revoked\"") != NULL);
    net_string_free(json);
    CHECK(net_mesh_publish(p, "alerts/none", 11, (const uint8_t *)"x", 1, &json, NULL) == NET_ERR_UNKNOWN_CHANNEL);
    CHECK(net_mesh_channel_stats(p, &json, NULL) == NET_OK && strstr(json, "\"evicted_revoked\":1") != NULL);
    net_string_free(json);
    CHECK(net_mesh_unregister_channel(p, "alerts/fire", 11) == NET_OK);
    CHECK(net_mesh_unregister_channel(p, "alerts/fire", 11) == NET_DONE);
    net_channel_subscription_free(sub);
    net_channel_subscription_free(sub); /* freed handles are ignored */
    CHECK(net_channel_subscription_next(sub, 0, &m) == NET_ERR_INVALID_HANDLE);
    net_token_cache_free(cache);
    net_identity_free(root);
    net_mesh_free(s);
    net_mesh_free(p);
}

static void test_bus_channels(void) {
    net_bus_t *bus = NULL;
    CHECK(net_bus_new("{}", 2, &bus) == NET_OK);
    net_channel_subscription_t *temps = NULL, *all = NULL, *bad = NULL;
    CHECK(net_bus_channel_subscribe(bus, "sensors/temp", 12, &temps) == NET_OK);
    CHECK(net_bus_channel_subscribe(bus, "sensors/**", 10, &all) == NET_OK);
    CHECK(net_bus_channel_subscribe(bus, "a//b", 4, &bad) == NET_ERR_INVALID_CHANNEL_NAME && bad == NULL);
    CHECK(net_bus_channel_subscribe(bus, "a", 1, NULL) == NET_ERR_NULL_POINTER);
    size_t delivered = 99;
    CHECK(net_bus_channel_publish(bus, "sensors/temp", 12, (const uint8_t *)"{\"c\":21}", 8, &delivered) == NET_OK);
    CHECK(delivered == 2);
    CHECK(net_bus_channel_publish(bus, "sensors/hum", 11, (const uint8_t *)"55", 2, NULL) == NET_OK);
    CHECK(net_bus_channel_publish(bus, "", 0, (const uint8_t *)"x", 1, &delivered) == NET_ERR_INVALID_CHANNEL_NAME);
    net_channel_message_t m;
    CHECK(net_channel_subscription_next(temps, 1000, &m) == NET_OK);
    CHECK(m.publisher == 0 && strcmp(m.channel, "sensors/temp") == 0 && m.payload_len == 8);
    net_channel_message_free(&m);
    CHECK(net_channel_subscription_next(temps, 10, &m) == NET_TIMED_OUT);
    CHECK(net_channel_subscription_next(all, 1000, &m) == NET_OK && strcmp(m.channel, "sensors/temp") == 0);
    net_channel_message_free(&m);
    CHECK(net_channel_subscription_next(all, 1000, &m) == NET_OK && strcmp(m.channel, "sensors/hum") == 0);
    net_channel_message_free(&m);
    char *json = NULL;
    CHECK(net_bus_channel_stats(bus, &json, NULL) == NET_OK);
    CHECK(json != NULL && strstr(json, "\"published\":2") != NULL && strstr(json, "\"delivered\":3") != NULL);
    net_string_free(json);
    /* A push handler on a subscription: every message, in order; freeing
     * the subscription ends it (what was queued first), drop runs once. */
    net_channel_subscription_t *pushed = NULL;
    CHECK(net_bus_channel_subscribe(bus, "push/c", 6, &pushed) == NET_OK);
    handler_state chst = {0};
    net_channel_message_closure_t cc = {&chst, on_channel_message, count_drop};
    net_handler_t *ch = NULL;
    CHECK(net_channel_subscription_on_message(pushed, cc, &ch) == NET_OK);
    for (int i = 0; i < 200; i++) {
        char text[16];
        int len = snprintf(text, sizeof text, "%d", i);
        CHECK(net_bus_channel_publish(bus, "push/c", 6, (const uint8_t *)text, (size_t)len, NULL) == NET_OK);
    }
    net_channel_subscription_free(pushed);
    for (int i = 0; i < 5000 && atomic_load(&chst.drops) == 0; i++) sleep_ms(1);
    net_handler_stats_t hs;
    CHECK(net_handler_stats(ch, &hs) == NET_OK && hs.closed && hs.delivered == 200 && hs.failed == 0);
    CHECK(atomic_load(&chst.calls) == 200 && atomic_load(&chst.out_of_order) == 0 && atomic_load(&chst.drops) == 1);
    net_handler_free(ch);
    net_channel_message_closure_t no_call = {&chst, NULL, count_drop};
    CHECK(net_channel_subscription_on_message(pushed, no_call, &ch) == NET_ERR_NULL_POINTER);
    CHECK(atomic_load(&chst.drops) == 2); /* dropped at once when registering fails */
    CHECK(net_channel_subscription_on_message(pushed, cc, &ch) == NET_ERR_INVALID_HANDLE);
    /* Shutdown ends the subscriptions and refuses publishing. */
    CHECK(net_shutdown(bus) == NET_OK);
    CHECK(net_channel_subscription_next(temps, 1000, &m) == NET_ERR_SHUTDOWN);
    CHECK(net_bus_channel_publish(bus, "sensors/temp", 12, (const uint8_t *)"1", 1, NULL) == NET_ERR_SHUTDOWN);
    net_channel_subscription_free(temps);
    net_channel_subscription_free(all);
    net_bus_free(bus);
}

int main(void) {
    CHECK(net_abi_version() == NET_ABI_VERSION);

    /* NULL everywhere. */
    net_receipt_t receipt;
    net_poll_result_t result;
    CHECK(net_ingest_raw(NULL, "x", 1) == NET_ERR_NULL_POINTER);
    CHECK(strncmp(net_last_error_message(), "ffi:null_pointer: ", 18) == 0);
    /* The detail is the message without its kind; the kind is the code's. */
    CHECK(net_last_error_detail() != NULL);
    CHECK(strcmp(net_last_error_message() + 18, net_last_error_detail()) == 0);
    CHECK(strcmp(net_error_kind(NET_ERR_NULL_POINTER), "ffi:null_pointer") == 0);
    CHECK(net_poll_ex(NULL, 10, NULL, &result) == NET_ERR_NULL_POINTER);
    net_free_poll_result(&result);
    net_free_poll_result(NULL);
    net_bus_free(NULL);
    net_subscription_free(NULL);
    net_string_free(NULL);
    CHECK(net_shutdown(NULL) == NET_ERR_NULL_POINTER);
    CHECK(net_bus_new(NULL, 0, NULL) == NET_ERR_NULL_POINTER);

    /* Bad configs. */
    CHECK(net_init("{\"num_shards\": 0}") == NULL);
    CHECK(strncmp(net_last_error_message(), "bus:invalid_config", 18) == 0);
    CHECK(net_init("{\"bogus\": 1}") == NULL);
    CHECK(net_init("not json") == NULL);
    net_bus_t *bus = NULL;
    CHECK(net_bus_new("\xff", 1, &bus) == NET_ERR_INVALID_UTF8);

    const char *cfg = "{\"num_shards\":2,\"max_event_size\":1024,\"backpressure\":\"fail\",\"ring_buffer_capacity\":4}";
    CHECK(net_bus_new(cfg, strlen(cfg), &bus) == NET_OK);

    /* Data with NUL bytes on the raw path; NULL data with length 0 is an empty event. */
    CHECK(net_ingest_raw_ex(bus, "a\0b", 3, &receipt) == NET_OK);
    CHECK(net_ingest_raw(bus, NULL, 0) == NET_OK);
    CHECK(net_ingest_raw(bus, NULL, 5) == NET_ERR_NULL_POINTER);

    /* Oversize, invalid JSON, backpressure. */
    char *big = calloc(1, 4096);
    CHECK(net_ingest_raw(bus, big, 4096) == NET_ERR_EVENT_TOO_LARGE);
    CHECK(kind_is(NET_ERR_EVENT_TOO_LARGE, "bus:event_too_large"));
    CHECK(net_ingest_json(bus, "{bad", 4, NULL) == NET_ERR_INVALID_JSON);
    CHECK(net_ingest_json(bus, "\xff", 1, NULL) == NET_ERR_INVALID_JSON);
    CHECK(net_ingest_raw(bus, "1", 1) == NET_OK);
    CHECK(net_ingest_raw(bus, "2", 1) == NET_OK);
    CHECK(net_ingest_raw(bus, "3", 1) == NET_ERR_BACKPRESSURE);
    const char *evs[] = {"1", "2"};
    size_t lens[] = {1, 1};
    size_t n = 99;
    CHECK(net_ingest_raw_batch(bus, evs, lens, 2, &n) == NET_ERR_BACKPRESSURE);
    CHECK(net_ingest_raw_packed(bus, (const uint8_t *)"12", 3, lens, 2, &n) == NET_ERR_INVALID_ARGUMENT);

    /* Garbage cursor and filter; poll limit 0. */
    CHECK(net_poll_ex(bus, 10, "garbage", &result) == NET_ERR_INVALID_CURSOR);
    net_free_poll_result(&result);
    CHECK(net_poll_filtered(bus, 10, NULL, 0, "{\"xor\":1}", 9, &result) == NET_ERR_INVALID_FILTER);
    net_free_poll_result(&result);
    CHECK(net_poll_ex(bus, 0, NULL, &result) == NET_ERR_INVALID_ARGUMENT);
    net_free_poll_result(&result);

    /* Poll, then acknowledge with the cursor; double free of a result is harmless. */
    CHECK(net_poll_ex(bus, 100, NULL, &result) == NET_OK);
    CHECK(result.count == 4);
    char cursor[256];
    snprintf(cursor, sizeof cursor, "%s", result.next_cursor);
    net_free_poll_result(&result);
    net_free_poll_result(&result);
    CHECK(net_poll_ex(bus, 100, cursor, &result) == NET_OK);
    CHECK(result.count == 0);
    net_free_poll_result(&result);

    /* A subscription closed from another thread wakes its waiter with NET_DONE. */
    net_subscription_t *sub = NULL;
    CHECK(net_subscribe(bus, NULL, 0, NULL, 0, &sub) == NET_OK);
    pthread_t t;
    pthread_create(&t, NULL, closer, sub);
    CHECK(net_subscription_next(sub, 10, -1, &result) == NET_DONE);
    net_free_poll_result(&result);
    pthread_join(t, NULL);
    net_subscription_free(sub);
    net_subscription_free(sub); /* double free: ignored */

    /* A consumer that delivered only part of a batch gives the rest back. */
    {
        net_bus_t *gb = NULL;
        CHECK(net_bus_new("{\"num_shards\":1}", 16, &gb) == NET_OK);
        for (int i = 0; i < 10; i++) {
            char e[4];
            snprintf(e, sizeof e, "e%d", i);
            CHECK(net_ingest_raw(gb, e, strlen(e)) == NET_OK);
        }
        net_subscription_t *gs = NULL;
        CHECK(net_subscribe(gb, NULL, 0, NULL, 0, &gs) == NET_OK);
        CHECK(net_subscription_unread(gs, 0) == NET_OK);
        CHECK(net_subscription_unread(gs, 1) == NET_ERR_INVALID_ARGUMENT); /* no batch yet */
        CHECK(net_subscription_next(gs, 100, 1000, &result) == NET_OK && result.count == 10);
        net_free_poll_result(&result);
        CHECK(net_subscription_unread(gs, 11) == NET_ERR_INVALID_ARGUMENT);
        CHECK(net_subscription_unread(gs, 9) == NET_OK);
        CHECK(net_subscription_unread(gs, 2) == NET_ERR_INVALID_ARGUMENT); /* only e0 is left of the batch */
        char *stats = NULL;
        CHECK(net_stats(gb, &stats, NULL) == NET_OK && strstr(stats, "\"buffered\":9") != NULL);
        net_string_free(stats);
        CHECK(net_poll_ex(gb, 100, NULL, &result) == NET_OK && result.count == 9);
        CHECK(result.count == 9 && result.events[0].raw_len == 2 && memcmp(result.events[0].raw, "e1", 2) == 0);
        net_free_poll_result(&result);
        CHECK(net_subscription_next(gs, 100, 1000, &result) == NET_OK && result.count == 9);
        net_free_poll_result(&result);
        CHECK(net_subscription_unread(NULL, 1) == NET_ERR_NULL_POINTER);
        net_subscription_free(gs);
        CHECK(net_subscription_unread(gs, 0) == NET_ERR_INVALID_HANDLE);
        net_bus_free(gb);
    }
    /* Positive statuses have names too. */
    CHECK(strcmp(net_error_kind(NET_TIMED_OUT), "timed_out") == 0 && strcmp(net_error_kind(NET_DONE), "done") == 0);
    CHECK(net_subscription_next(sub, 10, 0, &result) == NET_ERR_INVALID_HANDLE);
    net_free_poll_result(&result);

    /* Shutdown: idempotent, then every call fails with bus:shutdown; stats still answer. */
    CHECK(net_shutdown(bus) == NET_OK);
    CHECK(net_shutdown(bus) == NET_OK);
    CHECK(net_ingest_raw(bus, "x", 1) == NET_ERR_SHUTDOWN);
    CHECK(net_poll_ex(bus, 1, NULL, &result) == NET_ERR_SHUTDOWN);
    net_free_poll_result(&result);
    CHECK(net_flush(bus) == NET_ERR_SHUTDOWN);
    char *json = NULL;
    CHECK(net_health(bus, &json, NULL) == NET_OK);
    CHECK(strstr(json, "\"shutdown\"") != NULL);
    net_string_free(json);

    /* Use after free: an error, never a crash. */
    net_bus_free(bus);
    net_bus_free(bus);
    CHECK(net_ingest_raw(bus, "x", 1) == NET_ERR_INVALID_HANDLE);
    CHECK(net_shutdown(bus) == NET_ERR_INVALID_HANDLE);
    CHECK(net_ingest_raw((net_bus_t *)(uintptr_t)0x1234, "x", 1) == NET_ERR_INVALID_HANDLE);

    /* Large input: a 1 MiB event (the default limit) and a 10 000-event batch. */
    bus = net_init(NULL);
    CHECK(bus != NULL);
    char *mib = malloc(1 << 20);
    memset(mib, 'x', 1 << 20);
    CHECK(net_ingest_raw(bus, mib, 1 << 20) == NET_OK);
    CHECK(net_ingest_raw(bus, mib, (1 << 20) + 1) == NET_ERR_EVENT_TOO_LARGE);
    size_t *many_lens = malloc(10000 * sizeof(size_t));
    for (int i = 0; i < 10000; i++) many_lens[i] = 64;
    CHECK(net_ingest_raw_packed(bus, (const uint8_t *)mib, 640000, many_lens, 10000, &n) == NET_OK);
    CHECK(n == 10000);
    free(many_lens);
    free(mib);
    free(big);

    /* Identity handles: NULL, wrong seed length, use after free, double free. */
    unsigned char seed[32] = {7}, pk[32], sig[64];
    net_identity_t *id = NULL;
    uint64_t node_id = 0;
    CHECK(net_identity_from_seed(seed, 31, &id) == NET_ERR_INVALID_SEED);
    CHECK(net_identity_from_seed(NULL, 32, &id) == NET_ERR_NULL_POINTER);
    CHECK(net_identity_from_seed(seed, 32, &id) == NET_OK);
    CHECK(net_identity_public_key(id, pk) == NET_OK);
    CHECK(net_identity_public_key(id, NULL) == NET_ERR_NULL_POINTER);
    CHECK(net_identity_node_id(id, &node_id) == NET_OK && node_id != 0);
    CHECK(net_identity_sign(id, (const uint8_t *)"m", 1, sig) == NET_OK);
    CHECK(net_verify(pk, 32, (const uint8_t *)"m", 1, sig, 64) == NET_OK);
    sig[0] ^= 1;
    CHECK(net_verify(pk, 32, (const uint8_t *)"m", 1, sig, 64) == NET_ERR_BAD_SIGNATURE);
    net_identity_free(id);
    net_identity_free(id);
    CHECK(net_identity_public_key(id, pk) == NET_ERR_INVALID_HANDLE);
    CHECK(net_identity_node_id(NULL, &node_id) == NET_ERR_NULL_POINTER);
    unsigned char junk[10] = {0};
    char *hjson = NULL;
    CHECK(net_wire_header_decode(junk, sizeof junk, &hjson, NULL) == NET_ERR_MALFORMED);
    CHECK(net_wire_header_decode(NULL, 0, &hjson, NULL) == NET_ERR_MALFORMED);
    CHECK(net_wire_header_encode("{}", 2, junk) == NET_ERR_INVALID_ARGUMENT);

    /* NetDB: NULLs, bad options, snapshot round trip, use after free. */
    net_netdb_t *db = NULL;
    CHECK(net_netdb_open("{\"bogus\":1}", 11, &db) == NET_ERR_INVALID_DB_ARGUMENT);
    CHECK(net_netdb_open(NULL, 0, NULL) == NET_ERR_NULL_POINTER);
    CHECK(net_netdb_open(NULL, 0, &db) == NET_OK);
    uint64_t seq = 0;
    const char *task = "{\"id\":1,\"title\":\"plan\",\"ts\":5}";
    CHECK(net_netdb_write(db, "tasks", "create", task, strlen(task), &seq) == NET_OK);
    CHECK(net_netdb_wait(db, "tasks", seq, 5000) == NET_OK);
    CHECK(net_netdb_write(db, "tasks", "explode", "{}", 2, &seq) == NET_ERR_INVALID_DB_ARGUMENT);
    /* Each write names the fields it needs: no silent id 0 or empty title. */
    CHECK(net_netdb_write(db, "tasks", "create", "{\"id\":7}", 8, &seq) == NET_ERR_INVALID_DB_ARGUMENT);
    CHECK(net_netdb_write(db, "tasks", "create", "{\"id\":7,\"title\":null}", 21, &seq) == NET_ERR_INVALID_DB_ARGUMENT);
    CHECK(net_netdb_write(db, "tasks", "create", "{\"title\":\"t\"}", 13, &seq) == NET_ERR_INVALID_DB_ARGUMENT);
    CHECK(net_netdb_write(db, "tasks", "create", "{\"id\":-1,\"title\":\"t\"}", 22, &seq) == NET_ERR_INVALID_DB_ARGUMENT);
    CHECK(net_netdb_write(db, "tasks", "create", "{\"id\":1,\"title\":\"t\",\"colour\":1}", 32, &seq) == NET_ERR_INVALID_DB_ARGUMENT);
    char *found = NULL;
    CHECK(net_netdb_read(db, "tasks", "find_unique", "{\"id\":1}", 8, &found, NULL) == NET_OK);
    CHECK(found != NULL && strstr(found, "\"plan\"") != NULL);
    net_string_free(found);
    uint8_t *snap = NULL;
    size_t snap_len = 0;
    CHECK(net_netdb_snapshot(db, &snap, &snap_len) == NET_OK && snap_len > 0);
    net_netdb_t *copy = NULL;
    CHECK(net_netdb_restore(NULL, 0, snap, snap_len, &copy) == NET_OK);
    CHECK(net_netdb_restore(NULL, 0, (const uint8_t *)"junk", 4, &db) == NET_ERR_INVALID_SNAPSHOT);
    net_bytes_free(snap, snap_len);
    CHECK(net_netdb_read(copy, "tasks", "count_where", "{}", 2, &found, NULL) == NET_OK && strcmp(found, "1") == 0);
    net_string_free(found);
    CHECK(net_netdb_close(copy) == NET_OK);
    CHECK(net_netdb_write(copy, "tasks", "create", task, strlen(task), &seq) == NET_ERR_LOG_CLOSED);
    net_netdb_free(copy);
    net_netdb_free(copy);
    CHECK(net_netdb_read(copy, "tasks", "count_where", "{}", 2, &found, NULL) == NET_ERR_INVALID_HANDLE);
    /* Watch: current result, then a change; closing the database ends it. */
    net_watch_t *watch = NULL;
    CHECK(net_netdb_watch(db, "tasks", "{\"status\":\"completed\"}", 22, &watch) == NET_OK);
    char *wjson = NULL;
    CHECK(net_watch_next(watch, 5000, &wjson, NULL) == NET_OK && wjson != NULL && strcmp(wjson, "[]") == 0);
    net_string_free(wjson);
    CHECK(net_netdb_write(db, "tasks", "complete", "{\"id\":1}", 8, &seq) == NET_OK);
    CHECK(net_watch_next(watch, 5000, &wjson, NULL) == NET_OK && wjson != NULL && strstr(wjson, "\"completed\"") != NULL);
    net_string_free(wjson);
    CHECK(net_watch_next(watch, 50, &wjson, NULL) == NET_OK && wjson == NULL);
    CHECK(net_netdb_watch(db, "nope", "{}", 2, &watch) == NET_ERR_INVALID_DB_ARGUMENT);
    CHECK(net_netdb_close(db) == NET_OK);
    CHECK(net_watch_next(watch, 5000, &wjson, NULL) == NET_DONE);
    net_watch_free(watch);
    net_watch_free(watch);
    CHECK(net_watch_next(watch, 0, &wjson, NULL) == NET_ERR_INVALID_HANDLE);
    net_netdb_free(db);
    net_bytes_free(NULL, 0);

    /* RedEX: persistent log, appends, batches, reads, tail, reopen, bad input. */
    char dir[] = "/tmp/net-abi-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char rx_opts[128];
    snprintf(rx_opts, sizeof rx_opts, "{\"dir\":\"%s\"}", dir);
    net_redex_t *rx = NULL;
    CHECK(net_redex_open("{\"dir\":1}", 8, &rx) == NET_ERR_INVALID_LOG_CONFIG);
    CHECK(net_redex_open(rx_opts, strlen(rx_opts), &rx) == NET_OK);
    net_log_t *log = NULL;
    CHECK(net_redex_open_log(rx, "../escape", NULL, 0, &log) == NET_ERR_INVALID_LOG_ARGUMENT);
    CHECK(net_redex_open_log(rx, NULL, NULL, 0, &log) == NET_ERR_NULL_POINTER);
    CHECK(net_redex_open_log(rx, "orders", "{\"fsync\":{\"every_n\":0}}", 23, &log) == NET_ERR_INVALID_LOG_CONFIG);
    /* interval_ms 0 would fsync in a busy loop: refused. */
    CHECK(net_redex_open_log(rx, "orders", "{\"fsync\":{\"interval_ms\":0}}", 27, &log) == NET_ERR_INVALID_LOG_CONFIG);
    CHECK(net_redex_open_log(rx, "orders", "{\"max_payload\":16}", 18, &log) == NET_OK);
    uint64_t rseq = 99;
    CHECK(net_log_append(log, (const uint8_t *)"first", 5, &rseq) == NET_OK && rseq == 0);
    CHECK(net_log_append(log, (const uint8_t *)"12345678", 8, &rseq) == NET_OK && rseq == 1);
    CHECK(net_log_append(log, (const uint8_t *)"this is far too long", 20, &rseq) == NET_ERR_PAYLOAD_TOO_LARGE);
    const size_t blens[3] = {1, 2, 3};
    CHECK(net_log_append_packed(log, (const uint8_t *)"abbccc", 6, blens, 3, &rseq) == NET_OK && rseq == 2);
    CHECK(net_log_append_packed(log, (const uint8_t *)"abbcc", 5, blens, 3, &rseq) == NET_ERR_INVALID_LOG_ARGUMENT);
    CHECK(net_log_append_packed(log, NULL, 0, NULL, 0, &rseq) == NET_DONE);
    uint64_t next_seq = 0;
    size_t log_len = 0;
    CHECK(net_log_info(log, &next_seq, &log_len) == NET_OK && next_seq == 5 && log_len == 5);
    uint8_t *packed = NULL;
    size_t packed_len = 0;
    CHECK(net_log_read_range(log, 1, 3, &packed, &packed_len) == NET_OK);
    CHECK(packed_len == 2 * NET_REDEX_ENTRY_HEADER_LEN + 8 + 1);
    CHECK(packed != NULL && packed[0] == 1 && memcmp(packed + 20, "12345678", 8) == 0 && packed[28] == 2);
    net_bytes_free(packed, packed_len);
    net_tail_t *tail = NULL;
    CHECK(net_log_tail(log, 3, &tail) == NET_OK);
    CHECK(net_tail_next(tail, 10, 5000, &packed, &packed_len) == NET_OK && packed_len == 2 * 20 + 2 + 3);
    net_bytes_free(packed, packed_len);
    CHECK(net_tail_next(tail, 10, 20, &packed, &packed_len) == NET_OK && packed == NULL && packed_len == 0);
    {
        /* A tail waiting with no timeout ends when another thread cancels. */
        net_cancel_t *token = NULL;
        pthread_t t;
        CHECK(net_cancel_new(&token) == NET_OK);
        pthread_create(&t, NULL, canceller, token);
        CHECK(net_tail_next_cancellable(tail, 10, -1, token, &packed, &packed_len) == NET_ERR_CANCELLED);
        CHECK(packed == NULL && packed_len == 0);
        pthread_join(t, NULL);
        net_cancel_free(token);
    }
    CHECK(net_log_sync(log) == NET_OK);
    CHECK(net_log_close(log) == NET_OK);
    CHECK(net_log_append(log, (const uint8_t *)"late", 4, &rseq) == NET_ERR_LOG_CLOSED);
    CHECK(net_tail_next(tail, 10, 5000, &packed, &packed_len) == NET_DONE);
    net_tail_free(tail);
    CHECK(net_tail_next(tail, 10, 0, &packed, &packed_len) == NET_ERR_INVALID_HANDLE);
    net_log_free(log);
    net_redex_free(rx);
    CHECK(net_log_info(log, NULL, NULL) == NET_ERR_INVALID_HANDLE);
    /* Reopen: everything replays. */
    CHECK(net_redex_open(rx_opts, strlen(rx_opts), &rx) == NET_OK);
    CHECK(net_redex_open_log(rx, "orders", NULL, 0, &log) == NET_OK);
    /* One writer per log: a second manager on the same directory is refused
     * at once (the directory's lock file is held), until the first closes. */
    {
        net_redex_t *rx2 = NULL;
        net_log_t *log2 = NULL;
        CHECK(net_redex_open(rx_opts, strlen(rx_opts), &rx2) == NET_OK);
        CHECK(net_redex_open_log(rx2, "orders", NULL, 0, &log2) == NET_ERR_LOG_LOCKED && log2 == NULL);
        CHECK(strncmp(net_last_error_message(), "redex:locked: ", 14) == 0);
        CHECK(strcmp(net_error_kind(NET_ERR_LOG_LOCKED), "redex:locked") == 0);
        CHECK(net_redex_open_log(rx2, "other", NULL, 0, &log2) == NET_OK);
        net_log_free(log2);
        net_redex_free(rx2);
    }
    char *rec = NULL;
    CHECK(net_log_recovery(log, &rec, NULL) == NET_OK && strstr(rec, "\"entries\":5") != NULL);
    net_string_free(rec);
    CHECK(net_log_read_range(log, 0, UINT64_MAX, &packed, &packed_len) == NET_OK && memcmp(packed + 20, "first", 5) == 0);
    net_bytes_free(packed, packed_len);
    CHECK(net_redex_close(rx) == NET_OK);
    net_log_free(log);
    net_redex_free(rx);
    /* Codecs. */
    uint8_t rbytes[20];
    net_redex_record_t record;
    CHECK(net_redex_record_inline(42, (const uint8_t *)"abcdefgh", 8, rbytes) == NET_OK);
    CHECK(net_redex_record_decode(rbytes, 20, &record) == NET_OK && record.seq == 42 && record.is_inline
          && memcmp(record.inline_payload, "abcdefgh", 8) == 0);
    CHECK(net_redex_record_inline(1, (const uint8_t *)"short", 5, rbytes) == NET_ERR_INVALID_LOG_ARGUMENT);
    CHECK(net_redex_record_decode(rbytes, 19, &record) == NET_ERR_MALFORMED);
    CHECK(net_redex_record_heap(7, 100, (const uint8_t *)"x", 1, NULL) == NET_ERR_NULL_POINTER);
    uint8_t *frame = NULL;
    size_t frame_len = 0;
    net_event_meta_t meta;
    CHECK(net_cortex_frame(0x81, 7, 9, (const uint8_t *)"hi", 2, &frame, &frame_len) == NET_OK && frame_len == 22);
    CHECK(net_cortex_unframe(frame, frame_len, &meta) == NET_OK && meta.dispatch == 0x81 && meta.origin_hash == 7 && meta.seq_or_ts == 9);
    frame[21] ^= 1;
    CHECK(net_cortex_unframe(frame, frame_len, &meta) == NET_ERR_DECODE);
    net_bytes_free(frame, frame_len);
    char rm[160];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    CHECK(system(rm) == 0);

    test_mesh();
    test_bus_link();
    test_cancel();
    test_handlers();
    test_tokens();
    test_capabilities();
    test_mesh_capabilities();
    test_mesh_channels();
    test_bus_channels();

    char *kinds = NULL;
    CHECK(net_error_kinds_json(&kinds, NULL) == NET_OK);
    CHECK(strstr(kinds, "bus:backpressure") != NULL);
    net_string_free(kinds);

    net_runtime_shutdown();
    CHECK(net_ingest_raw(bus, "x", 1) == NET_ERR_INVALID_HANDLE);
    CHECK(left_open_state != NULL && atomic_load(&left_open_state->drops) == 1);

    printf("c: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
