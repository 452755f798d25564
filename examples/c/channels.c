/* Channels in C: a publisher registers a token-gated channel and trusts a root; a
 * subscriber presents the root's grant and receives what is published; a revocation
 * stops delivery on the next publish.
 * Build: gcc -Iinclude examples/c/channels.c target/release/libnet.a -lpthread -ldl -lm */
#include "net.h"

#include <stdio.h>
#include <string.h>

static int fail(const char *what, int rc) {
    fprintf(stderr, "%s: %s (%d)\n", what, net_last_error_message(), rc);
    return 1;
}

int main(void) {
    const char *config = "{\"network_key\":\"0707070707070707070707070707070707070707070707070707070707070707\","
                         "\"bind\":\"127.0.0.1:0\"}";
    net_mesh_t *publisher = NULL, *subscriber = NULL;
    uint8_t pub_key[NET_PUBLIC_KEY_LEN], sub_key[NET_PUBLIC_KEY_LEN];
    uint64_t pub_id = 0, peer = 0;
    char *addr = NULL;
    int rc;
    if ((rc = net_mesh_bind(config, strlen(config), &publisher)) != NET_OK) return fail("bind", rc);
    if ((rc = net_mesh_bind(config, strlen(config), &subscriber)) != NET_OK) return fail("bind", rc);
    if ((rc = net_mesh_identity(publisher, pub_key, &pub_id)) != NET_OK || (rc = net_mesh_identity(subscriber, sub_key, NULL)) != NET_OK)
        return fail("identity", rc);
    if ((rc = net_mesh_local_addr(publisher, &addr, NULL)) != NET_OK) return fail("addr", rc);
    if ((rc = net_mesh_connect(subscriber, addr, pub_key, sizeof pub_key, &peer)) != NET_OK) return fail("connect", rc);
    net_string_free(addr);

    /* The publisher's channel wants a token; it trusts one root. */
    const char *channel = "{\"name\":\"alerts/fire\",\"require_token\":true}";
    if ((rc = net_mesh_register_channel(publisher, channel, strlen(channel))) != NET_OK) return fail("register", rc);
    uint8_t seed[32], root_key[32];
    memset(seed, 42, sizeof seed);
    net_identity_t *root = NULL;
    net_token_cache_t *cache = NULL;
    if ((rc = net_identity_from_seed(seed, sizeof seed, &root)) != NET_OK || (rc = net_identity_public_key(root, root_key)) != NET_OK)
        return fail("root", rc);
    if ((rc = net_mesh_token_cache(publisher, &cache)) != NET_OK || (rc = net_token_cache_trust(cache, root_key, 32)) != NET_OK)
        return fail("trust", rc);

    /* Without a token: refused with the reason. */
    net_channel_subscription_t *sub = NULL;
    rc = net_mesh_subscribe(subscriber, pub_id, "alerts/fire", 11, NULL, 0, 5000, &sub);
    printf("without a token: %s\n", net_error_kind(rc));

    /* With the root's grant: admitted. */
    char request[256], hex[65];
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", sub_key[i]);
    snprintf(request, sizeof request, "{\"subject\":\"%s\",\"scope\":[\"subscribe\"],\"channel\":\"alerts/fire\",\"ttl_ms\":600000}", hex);
    uint8_t grant[NET_TOKEN_LEN], grant_id[NET_TOKEN_ID_LEN];
    if ((rc = net_token_issue(root, request, strlen(request), grant)) != NET_OK) return fail("issue", rc);
    if ((rc = net_mesh_subscribe(subscriber, pub_id, "alerts/fire", 11, grant, sizeof grant, 5000, &sub)) != NET_OK)
        return fail("subscribe", rc);
    const char *texts[] = {"smoke", "heat", "flame"};
    char *report = NULL;
    for (int i = 0; i < 3; i++) {
        if ((rc = net_mesh_publish(publisher, "alerts/fire", 11, (const uint8_t *)texts[i], strlen(texts[i]), &report, NULL)) != NET_OK)
            return fail("publish", rc);
        net_string_free(report);
    }
    for (int i = 0; i < 3; i++) {
        net_channel_message_t m;
        if ((rc = net_channel_subscription_next(sub, 5000, &m)) != NET_OK) return fail("next", rc);
        printf("%.*s on %s\n", (int)m.payload_len, (const char *)m.payload, m.channel);
        net_channel_message_free(&m);
    }

    /* Revoked: the next publish skips the subscriber and drops it. */
    if ((rc = net_token_id(grant, sizeof grant, grant_id)) != NET_OK || (rc = net_token_cache_revoke(cache, grant_id, sizeof grant_id)) != NET_OK)
        return fail("revoke", rc);
    if ((rc = net_mesh_publish(publisher, "alerts/fire", 11, (const uint8_t *)"after", 5, &report, NULL)) != NET_OK) return fail("publish", rc);
    printf("after revoking: %s\n", report);
    int ok = strstr(report, "\"delivered\":0") != NULL;
    net_string_free(report);
    net_channel_subscription_free(sub);
    net_token_cache_free(cache);
    net_identity_free(root);
    net_mesh_free(subscriber);
    net_mesh_free(publisher);
    net_runtime_shutdown();
    return ok ? 0 : 1;
}
