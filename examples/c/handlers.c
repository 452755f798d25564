/* Handlers in C: the engine calls your closure ({context, call, drop}) for
 * each bus event and each mesh message (push), instead of you waiting for them
 * (pull). Calls come on the engine's callback threads, one at a time per handler.
 * Build: gcc -Iinclude examples/c/handlers.c target/release/libnet.a -lpthread -ldl -lm */
#include "net.h"

#include <inttypes.h>
#include <stdatomic.h>
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

typedef struct {
    char texts[3][8];
    atomic_int count;
} seen_t;

/* Called for each event; the event is borrowed for the call. 0 = handled. */
static int on_event(const net_event_t *event, void *context) {
    seen_t *seen = context;
    int i = atomic_load(&seen->count);
    if (i < 3 && event->raw_len < sizeof seen->texts[i]) {
        memcpy(seen->texts[i], event->raw, event->raw_len);
        seen->texts[i][event->raw_len] = 0;
    }
    atomic_fetch_add(&seen->count, 1);
    return 0;
}

/* Answers each message from inside the handler (calling back into Net). */
static int echo(const net_mesh_message_t *m, void *context) {
    net_mesh_t *bob = context;
    uint8_t reply[64] = "re: ";
    size_t n = m->len < 60 ? m->len : 60;
    memcpy(reply + 4, m->payload, n);
    return net_mesh_send(bob, m->from, m->stream_id, reply, n + 4) == NET_OK ? 0 : 1;
}

static const char *CONFIG =
    "{\"network_key\": \"0707070707070707070707070707070707070707070707070707070707070707\","
    " \"bind\": \"127.0.0.1:0\"}";

int main(void) {
    net_bus_t *bus = NULL;
    TRY(net_bus_new("{\"num_shards\": 1}", 17, &bus));
    seen_t seen = {{{0}}, 0};
    net_event_closure_t closure = {&seen, on_event, NULL}; /* drop: nothing to free */
    net_handler_t *handler = NULL;
    TRY(net_bus_on_event(bus, NULL, 0, NULL, 0, closure, &handler));
    TRY(net_ingest_raw(bus, "a", 1));
    TRY(net_ingest_raw(bus, "b", 1));
    TRY(net_ingest_raw(bus, "c", 1));
    struct timespec ms = {0, 1000000};
    for (int i = 0; i < 5000 && atomic_load(&seen.count) < 3; i++) nanosleep(&ms, NULL);
    net_handler_free(handler); /* closes it: no call runs after this returns */
    printf("handler got %s, %s, %s\n", seen.texts[0], seen.texts[1], seen.texts[2]);

    net_mesh_t *alice = NULL, *bob = NULL;
    TRY(net_mesh_bind(CONFIG, strlen(CONFIG), &alice));
    TRY(net_mesh_bind(CONFIG, strlen(CONFIG), &bob));
    char *bob_addr = NULL;
    uint8_t bob_key[NET_PUBLIC_KEY_LEN];
    uint64_t bob_id = 0;
    TRY(net_mesh_local_addr(bob, &bob_addr, NULL));
    TRY(net_mesh_identity(bob, bob_key, NULL));
    TRY(net_mesh_connect(alice, bob_addr, bob_key, sizeof bob_key, &bob_id));
    net_string_free(bob_addr);
    net_message_closure_t echo_closure = {bob, echo, NULL};
    net_handler_t *echoer = NULL;
    TRY(net_mesh_on_message(bob, echo_closure, &echoer));
    TRY(net_mesh_open_stream(alice, bob_id, 1, NET_STREAM_RELIABLE, 0));
    TRY(net_mesh_send_blocking(alice, bob_id, 1, (const uint8_t *)"hello", 5, 5000));
    net_mesh_message_t answer;
    int rc = net_mesh_recv(alice, 5000, &answer);
    TRY(rc);
    if (rc == NET_TIMED_OUT) { fprintf(stderr, "no answer\n"); return 1; }
    printf("alice got \"%.*s\"\n", (int)answer.len, (const char *)answer.payload);
    int ok = answer.len == 9 && memcmp(answer.payload, "re: hello", 9) == 0;
    net_bytes_free(answer.payload, answer.len);
    net_handler_free(echoer);
    net_mesh_free(alice);
    net_mesh_free(bob);
    net_bus_free(bus);
    net_runtime_shutdown();
    return ok && atomic_load(&seen.count) == 3 ? 0 : 1;
}
