/* Local channels in C: publish on a name, and every matching subscription on
 * the node gets a copy (the bus itself hands each event to one consumer).
 * C has no typed channels: messages are bytes, here JSON text.
 * Build: gcc -std=c11 -Iinclude examples/c/local_channels.c target/release/libnet.a -lpthread -ldl -lm */
#include "net.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* A push handler: the engine calls this for each message (borrowed). */
static int on_message(const net_channel_message_t *m, void *context) {
    int *seen = context;
    printf("pushed %s: %.*s\n", m->channel, (int)m->payload_len, (const char *)m->payload);
    (*seen)++;
    return 0;
}

static int check(int32_t rc, const char *what) {
    if (rc != NET_OK) fprintf(stderr, "%s: %s\n", what, net_last_error_message());
    return rc == NET_OK;
}

int main(void) {
    net_bus_t *bus = NULL;
    if (!check(net_bus_new("{\"num_shards\": 4}", 17, &bus), "net_bus_new")) return 1;
    net_channel_subscription_t *temps = NULL, *everything = NULL;
    int ok = check(net_bus_channel_subscribe(bus, "sensors/temperature", 19, &temps), "subscribe")
             && check(net_bus_channel_subscribe(bus, "sensors/**", 10, &everything), "subscribe");

    const char *reading = "{\"sensor_id\":\"A1\",\"celsius\":22.5}";
    size_t delivered = 0;
    ok = ok && check(net_bus_channel_publish(bus, "sensors/temperature", 19, (const uint8_t *)reading,
                                             strlen(reading), &delivered), "publish");
    printf("published to %zu subscriptions\n", delivered);

    net_channel_subscription_t *subs[2] = {temps, everything};
    for (int i = 0; ok && i < 2; i++) {
        net_channel_message_t m;
        int32_t rc = net_channel_subscription_next(subs[i], 1000, &m);
        if (rc == NET_OK) {
            printf("%s: %.*s\n", m.channel, (int)m.payload_len, (const char *)m.payload);
            net_channel_message_free(&m);
        } else {
            ok = check(rc, "next");
        }
    }
    /* A bad name is refused with its kind. */
    if (net_bus_channel_publish(bus, "a//b", 4, (const uint8_t *)"x", 1, NULL) == NET_ERR_INVALID_CHANNEL_NAME)
        printf("a bad name: %s\n", net_error_kind(NET_ERR_INVALID_CHANNEL_NAME));

    char *stats = NULL;
    if (ok && check(net_bus_channel_stats(bus, &stats, NULL), "stats")) {
        printf("stats: %s\n", stats);
        net_string_free(stats);
    }
    /* Or pushed: a {context, call, drop} closure on a subscription. */
    net_channel_subscription_t *pushed = NULL;
    net_handler_t *handler = NULL;
    int seen = 0;
    net_channel_message_closure_t closure = {&seen, on_message, NULL};
    ok = ok && check(net_bus_channel_subscribe(bus, "alerts/*", 8, &pushed), "subscribe")
         && check(net_channel_subscription_on_message(pushed, closure, &handler), "on_message")
         && check(net_bus_channel_publish(bus, "alerts/fire", 11, (const uint8_t *)"smoke", 5, NULL), "publish");
    for (int i = 0; ok && i < 500 && seen == 0; i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    net_handler_close(handler); /* waits for a call in progress */
    net_handler_free(handler);
    net_channel_subscription_free(pushed);
    net_channel_subscription_free(temps);
    net_channel_subscription_free(everything);
    (void)net_shutdown(bus);
    net_bus_free(bus);
    net_runtime_shutdown(); /* releases the engine's tables: leak checkers stay quiet */
    return ok ? 0 : 1;
}
