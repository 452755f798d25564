/* Permission tokens in C: a root grant, a delegation that narrows it, a
 * chain checked by a token cache, and a revocation.
 * Build: cc -Wall -Werror -Iinclude examples/c/tokens.c target/release/libnet.a -lpthread -ldl -lm */
#include "net.h"

#include <stdio.h>
#include <string.h>

static void hex(const unsigned char *bytes, size_t len, char *out) {
    for (size_t i = 0; i < len; i++) snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

static net_identity_t *identity(unsigned char fill, unsigned char public_key[32]) {
    unsigned char seed[32];
    memset(seed, fill, sizeof seed);
    net_identity_t *id = NULL;
    if (net_identity_from_seed(seed, sizeof seed, &id) != NET_OK || net_identity_public_key(id, public_key) != NET_OK) {
        fprintf(stderr, "identity: %s\n", net_last_error_message());
        return NULL;
    }
    return id;
}

int main(void) {
    if (net_abi_version() != NET_ABI_VERSION) return 1;
    unsigned char root_pk[32], gateway_pk[32], sensor_pk[32];
    net_identity_t *root = identity(1, root_pk), *gateway = identity(2, gateway_pk), *sensor = identity(3, sensor_pk);
    if (!root || !gateway || !sensor) return 1;
    char key[65], request[512];
    unsigned char grant[NET_TOKEN_LEN], narrow[NET_TOKEN_LEN], id[NET_TOKEN_ID_LEN];

    /* The root lets the gateway subscribe below sensors/ and pass that on once. */
    hex(gateway_pk, 32, key);
    snprintf(request, sizeof request,
             "{\"subject\":\"%s\",\"scope\":[\"subscribe\",\"delegate\"],\"channel\":\"sensors/**\",\"ttl_ms\":3600000,\"depth\":1}", key);
    if (net_token_issue(root, request, strlen(request), grant) != NET_OK) {
        fprintf(stderr, "issue: %s\n", net_last_error_message());
        return 1;
    }
    /* The gateway lets one sensor reader subscribe to the lidar channels only. */
    hex(sensor_pk, 32, key);
    snprintf(request, sizeof request,
             "{\"subject\":\"%s\",\"scope\":[\"subscribe\"],\"channel\":\"sensors/lidar/*\",\"ttl_ms\":600000}", key);
    if (net_token_delegate(gateway, grant, sizeof grant, request, strlen(request), narrow) != NET_OK) {
        fprintf(stderr, "delegate: %s\n", net_last_error_message());
        return 1;
    }
    char id_hex[2 * NET_TOKEN_ID_LEN + 1];
    if (net_token_id(narrow, sizeof narrow, id) != NET_OK) return 1;
    hex(id, sizeof id, id_hex);
    printf("token: %d bytes, id %s\n", NET_TOKEN_LEN, id_hex);
    /* Widening is refused. */
    snprintf(request, sizeof request,
             "{\"subject\":\"%s\",\"scope\":[\"publish\"],\"channel\":\"sensors/lidar/*\",\"ttl_ms\":600000}", key);
    unsigned char wider[NET_TOKEN_LEN];
    int rc = net_token_delegate(gateway, grant, sizeof grant, request, strlen(request), wider);
    printf("publish from a subscribe grant: %s\n", net_error_kind(rc));

    /* A node that trusts the root checks the chain, then revokes it. */
    net_token_cache_t *cache = NULL;
    if (net_token_cache_new(&cache) != NET_OK || net_token_cache_trust(cache, root_pk, 32) != NET_OK) return 1;
    unsigned char chain[2 * NET_TOKEN_LEN];
    memcpy(chain, grant, NET_TOKEN_LEN);
    memcpy(chain + NET_TOKEN_LEN, narrow, NET_TOKEN_LEN);
    const char *front = "sensors/lidar/front", *temp = "sensors/temp";
    if (net_token_cache_install(cache, chain, sizeof chain, sensor_pk, 32, NET_TOKEN_SCOPE_SUBSCRIBE, front, strlen(front), -1, NULL) != NET_OK) {
        fprintf(stderr, "install: %s\n", net_last_error_message());
        return 1;
    }
    rc = net_token_cache_check(cache, sensor_pk, 32, NET_TOKEN_SCOPE_SUBSCRIBE, front, strlen(front), -1, NULL);
    printf("lidar/front allowed: %s\n", rc == NET_OK ? "true" : "false");
    rc = net_token_cache_check(cache, sensor_pk, 32, NET_TOKEN_SCOPE_SUBSCRIBE, temp, strlen(temp), -1, NULL);
    printf("temp allowed: %s\n", rc == NET_OK ? "true" : "false");
    if (net_token_id(grant, sizeof grant, id) != NET_OK || net_token_cache_revoke(cache, id, sizeof id) != NET_OK) return 1;
    rc = net_token_cache_check(cache, sensor_pk, 32, NET_TOKEN_SCOPE_SUBSCRIBE, front, strlen(front), -1, NULL);
    printf("after revoking the root grant: %s\n", rc == NET_OK ? "true" : "false");

    net_token_cache_free(cache);
    net_identity_free(root);
    net_identity_free(gateway);
    net_identity_free(sensor);
    net_runtime_shutdown();
    return 0;
}
