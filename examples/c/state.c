/* Local state in C: a RedEX log with a live tail, then NetDB tasks with
 * read-your-writes, a query and a snapshot restored into a second database.
 * Build: gcc -Iinclude examples/c/state.c target/release/libnet.a -lpthread -ldl -lm */
#include "net.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define TRY(call)                                                                  \
    do {                                                                           \
        int rc_ = (call);                                                          \
        if (rc_ < 0) {                                                             \
            fprintf(stderr, "%s failed: %s\n", #call, net_last_error_message());   \
            return 1;                                                              \
        }                                                                          \
    } while (0)

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

/* Entries come packed: seq u64 | timestamp_ns u64 | len u32 | payload, back to back. */
static void print_entries(const char *label, const uint8_t *buf, size_t len) {
    for (size_t at = 0; at + NET_REDEX_ENTRY_HEADER_LEN <= len;) {
        uint32_t n = le32(buf + at + 16);
        printf("%s #%" PRIu64 ": %.*s\n", label, le64(buf + at), (int)n, (const char *)buf + at + NET_REDEX_ENTRY_HEADER_LEN);
        at += NET_REDEX_ENTRY_HEADER_LEN + n;
    }
}

int main(void) {
    /* A raw log: append, read back, tail from a sequence. */
    net_redex_t *rx = NULL;
    net_log_t *log = NULL;
    TRY(net_redex_open(NULL, 0, &rx));
    TRY(net_redex_open_log(rx, "orders", NULL, 0, &log));
    uint64_t seq = 0;
    TRY(net_log_append(log, (const uint8_t *)"order 1", 7, &seq));
    const size_t lens[2] = {7, 7};
    TRY(net_log_append_packed(log, (const uint8_t *)"order 2order 3", 14, lens, 2, &seq));
    uint8_t *buf = NULL;
    size_t len = 0;
    TRY(net_log_read_range(log, 0, UINT64_MAX, &buf, &len));
    print_entries("log", buf, len);
    net_bytes_free(buf, len);
    net_tail_t *tail = NULL;
    TRY(net_log_tail(log, 2, &tail));
    TRY(net_tail_next(tail, 10, 1000, &buf, &len));
    print_entries("tail", buf, len);
    net_bytes_free(buf, len);
    net_tail_free(tail);
    net_log_free(log);
    net_redex_free(rx);

    /* NetDB: writes return a sequence; waiting on it gives read-your-writes. */
    net_netdb_t *db = NULL;
    TRY(net_netdb_open(NULL, 0, &db));
    const char *a = "{\"id\":1,\"title\":\"write plan\",\"ts\":1}";
    const char *b = "{\"id\":2,\"title\":\"ship it\",\"ts\":2}";
    TRY(net_netdb_write(db, "tasks", "create", a, strlen(a), &seq));
    TRY(net_netdb_write(db, "tasks", "create", b, strlen(b), &seq));
    TRY(net_netdb_write(db, "tasks", "complete", "{\"id\":1}", 8, &seq));
    TRY(net_netdb_wait(db, "tasks", seq, 5000));
    char *json = NULL;
    const char *filter = "{\"status\":\"pending\"}";
    TRY(net_netdb_read(db, "tasks", "find_many", filter, strlen(filter), &json, NULL));
    printf("pending: %s\n", json);
    net_string_free(json);

    /* A snapshot is bytes; any language restores it. */
    uint8_t *snap = NULL;
    size_t snap_len = 0;
    TRY(net_netdb_snapshot(db, &snap, &snap_len));
    net_netdb_t *copy = NULL;
    TRY(net_netdb_restore(NULL, 0, snap, snap_len, &copy));
    TRY(net_netdb_read(copy, "tasks", "count_where", "{}", 2, &json, NULL));
    printf("restored %s tasks from %zu bytes\n", json, snap_len);
    net_string_free(json);
    net_bytes_free(snap, snap_len);
    net_netdb_free(copy);
    net_netdb_free(db);
    net_runtime_shutdown();
    return 0;
}
