/* Net bus quick start in C: emit, poll, subscribe, shut down.
 * Build: cc -Wall -Werror -Iinclude examples/c/quickstart.c target/release/libnet.a -lpthread -ldl -lm */
#include "net.h"

#include <stdio.h>
#include <string.h>

static int check(int rc, const char *what) {
    if (rc < 0) {
        fprintf(stderr, "%s failed: %s\n", what, net_last_error_message());
    }
    return rc;
}

int main(void) {
    if (net_abi_version() != NET_ABI_VERSION) {
        fprintf(stderr, "libnet ABI %u, header %u\n", net_abi_version(), NET_ABI_VERSION);
        return 1;
    }
    net_handle_t node = net_init("{\"num_shards\": 4}");
    if (node == NULL) {
        fprintf(stderr, "net_init: %s\n", net_last_error_message());
        return 1;
    }

    /* Ingest with receipt. */
    const char *event = "{\"token\": \"hello\"}";
    net_receipt_t receipt;
    if (check(net_ingest_raw_ex(node, event, strlen(event), &receipt), "ingest") < 0) return 1;
    printf("receipt: shard %u seq %llu\n", receipt.shard, (unsigned long long)receipt.seq);

    /* A batch of JSON events, validated. */
    const char *batch[] = {"{\"a\":1}", "{\"a\":2}", "{\"a\":3}"};
    size_t lens[] = {7, 7, 7};
    size_t accepted = 0;
    if (check(net_ingest_json_batch(node, batch, lens, 3, &accepted), "batch") < 0) return 1;
    printf("batch accepted %zu\n", accepted);

    /* Poll (structured, no JSON parsing). */
    net_poll_result_t result;
    if (check(net_poll_ex(node, 100, NULL, &result), "poll") < 0) return 1;
    for (size_t i = 0; i < result.count; i++) {
        printf("%.*s\n", (int)result.events[i].raw_len, result.events[i].raw);
    }
    net_free_poll_result(&result);

    /* Invalid JSON on the JSON path is a typed error, not a crash. */
    int rc = net_ingest_json(node, "{oops", 5, NULL);
    printf("invalid json -> %s\n", net_error_kind(rc));

    /* Stats as JSON. */
    char *stats = NULL;
    if (check(net_stats(node, &stats, NULL), "stats") < 0) return 1;
    printf("stats %s\n", stats);
    net_string_free(stats);

    /* A live subscription drains what is buffered, then ends after shutdown. */
    net_subscription_t *sub = NULL;
    if (check(net_subscribe(node, NULL, 0, NULL, 0, &sub), "subscribe") < 0) return 1;
    net_shutdown(node);
    size_t drained = 0;
    for (;;) {
        rc = net_subscription_next(sub, 64, 1000, &result);
        drained += result.count;
        net_free_poll_result(&result);
        if (rc != NET_OK) break;
    }
    printf("subscription drained %zu events, then %s\n", drained, net_error_kind(rc));
    net_subscription_free(sub);

    net_bus_free(node);
    net_runtime_shutdown();
    return 0;
}
