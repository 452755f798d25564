/* Two mesh nodes talking in C: connect, a reliable stream, a reply.
 * Build: gcc -Iinclude examples/c/mesh.c target/release/libnet.a -lpthread -ldl -lm */
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

/* Every node of a mesh shares the network key (64 hex digits). */
static const char *CONFIG =
    "{\"network_key\": \"0707070707070707070707070707070707070707070707070707070707070707\","
    " \"bind\": \"127.0.0.1:0\"}";

int main(void) {
    net_mesh_t *alice = NULL, *bob = NULL;
    TRY(net_mesh_bind(CONFIG, strlen(CONFIG), &alice));
    TRY(net_mesh_bind(CONFIG, strlen(CONFIG), &bob));

    /* Alice needs Bob's address and public key; the handshake proves both sides. */
    char *bob_addr = NULL;
    uint8_t bob_key[NET_PUBLIC_KEY_LEN];
    uint64_t bob_id = 0, alice_id = 0;
    TRY(net_mesh_local_addr(bob, &bob_addr, NULL));
    TRY(net_mesh_identity(bob, bob_key, NULL));
    TRY(net_mesh_identity(alice, NULL, &alice_id));
    TRY(net_mesh_connect(alice, bob_addr, bob_key, sizeof bob_key, &bob_id));
    printf("alice connected to %016" PRIx64 " at %s\n", bob_id, bob_addr);
    net_string_free(bob_addr);

    /* A reliable stream: in order, exactly once, at most 64 messages in flight. */
    TRY(net_mesh_open_stream(alice, bob_id, 1, NET_STREAM_RELIABLE, 64));
    for (int i = 0; i < 3; i++) {
        char text[32];
        int n = snprintf(text, sizeof text, "hello #%d", i);
        TRY(net_mesh_send_blocking(alice, bob_id, 1, (const uint8_t *)text, (size_t)n, 1000));
    }
    for (int i = 0; i < 3; i++) {
        net_mesh_message_t m;
        int rc = net_mesh_recv(bob, 5000, &m);
        TRY(rc);
        if (rc == NET_TIMED_OUT) { fprintf(stderr, "no message\n"); return 1; }
        printf("bob got \"%.*s\" on stream %" PRIu64 "\n", (int)m.len, (const char *)m.payload, m.stream_id);
        net_bytes_free(m.payload, m.len);
    }

    /* Bob answers on stream 2, fire-and-forget (streams never opened are). */
    TRY(net_mesh_send(bob, alice_id, 2, (const uint8_t *)"hi alice", 8));
    net_mesh_message_t answer;
    TRY(net_mesh_recv(alice, 5000, &answer));
    printf("alice got \"%.*s\"\n", (int)answer.len, (const char *)answer.payload);
    int ok = answer.len == 8 && memcmp(answer.payload, "hi alice", 8) == 0;
    net_bytes_free(answer.payload, answer.len);

    char *stats = NULL;
    TRY(net_mesh_stream_stats(alice, bob_id, 1, &stats, NULL));
    printf("stream 1: %s\n", stats);
    net_string_free(stats);

    net_mesh_free(alice);
    net_mesh_free(bob);
    net_runtime_shutdown();
    return ok ? 0 : 1;
}
