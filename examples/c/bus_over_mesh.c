/* The bus over the mesh in C: events emitted on Alice's bus are polled on Bob's.
 * Build: gcc -Iinclude examples/c/bus_over_mesh.c target/release/libnet.a -lpthread -ldl -lm */
#include "net.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define TRY(call)                                                                  \
    do {                                                                           \
        int rc_ = (call);                                                          \
        if (rc_ < 0) {                                                             \
            fprintf(stderr, "%s failed: %s\n", #call, net_last_error_message());   \
            return 1;                                                              \
        }                                                                          \
    } while (0)

static const char *CONFIG =
    "{\"network_key\": \"0707070707070707070707070707070707070707070707070707070707070707\","
    " \"bind\": \"127.0.0.1:0\"}";

int main(void) {
    net_mesh_t *alice = NULL, *bob = NULL;
    TRY(net_mesh_bind(CONFIG, strlen(CONFIG), &alice));
    TRY(net_mesh_bind(CONFIG, strlen(CONFIG), &bob));
    char *bob_addr = NULL;
    uint8_t bob_key[NET_PUBLIC_KEY_LEN];
    uint64_t bob_id = 0, alice_id = 0;
    TRY(net_mesh_local_addr(bob, &bob_addr, NULL));
    TRY(net_mesh_identity(bob, bob_key, NULL));
    TRY(net_mesh_identity(alice, NULL, &alice_id));
    TRY(net_mesh_connect(alice, bob_addr, bob_key, sizeof bob_key, &bob_id));
    net_string_free(bob_addr);

    /* One bus on each node. Alice's link consumes her bus and sends its events
     * to Bob; Bob's link emits them into his bus. */
    net_bus_t *outbox = NULL, *inbox = NULL;
    TRY(net_bus_new("", 0, &outbox));
    TRY(net_bus_new("", 0, &inbox));
    const char *receive = "{\"direction\": \"receive\"}", *send = "{\"direction\": \"send\"}";
    net_bus_link_t *receiving = NULL, *sending = NULL;
    TRY(net_bus_link_open(inbox, bob, alice_id, receive, strlen(receive), &receiving));
    TRY(net_bus_link_open(outbox, alice, bob_id, send, strlen(send), &sending));

    const char *orders[] = {"{\"order\": 0, \"item\": \"apples\"}", "{\"order\": 1, \"item\": \"pears\"}",
                            "{\"order\": 2, \"item\": \"plums\"}"};
    for (int i = 0; i < 3; i++) TRY(net_ingest_json(outbox, orders[i], strlen(orders[i]), NULL));

    /* Bob polls his own bus; the cursor acknowledges what he has read. */
    int arrived = 0;
    char cursor[512] = "";
    for (int round = 0; round < 2000 && arrived < 3; round++) {
        net_poll_result_t page;
        TRY(net_poll_ex(inbox, 10, cursor[0] ? cursor : NULL, &page));
        for (size_t i = 0; i < page.count; i++, arrived++)
            printf("bob got %.*s\n", (int)page.events[i].raw_len, page.events[i].raw);
        snprintf(cursor, sizeof cursor, "%s", page.next_cursor);
        net_free_poll_result(&page);
        struct timespec pause = {0, 5 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }

    /* Closing waits for the link's thread, so the counters are final. */
    TRY(net_bus_link_close(sending));
    TRY(net_bus_link_close(receiving));
    char *stats = NULL;
    TRY(net_bus_link_stats(receiving, &stats, NULL));
    printf("bob's link: %s\n", stats);
    net_string_free(stats);

    net_bus_link_free(sending);
    net_bus_link_free(receiving);
    net_bus_free(outbox);
    net_bus_free(inbox);
    net_mesh_free(alice);
    net_mesh_free(bob);
    net_runtime_shutdown(); /* frees the library's handle tables */
    printf("bus over mesh: %d events arrived\n", arrived);
    return arrived == 3 ? 0 : 1;
}
