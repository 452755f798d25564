/* Capabilities in C: describe a node, ask questions of it, validate it, derive
 * its subnet, and find it over the mesh by what it can do. JSON in, JSON out.
 * Build: gcc -Iinclude examples/c/capabilities.c target/release/libnet.a -lpthread -ldl -lm */
#include "net.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int fail(const char *what, int rc) {
    fprintf(stderr, "%s: %s (%d)\n", what, net_last_error_message(), rc);
    return 1;
}

int main(void) {
    /* A GPU node: typed hardware becomes tags, beside free-form ones. */
    const char *set = "{\"tags\":[\"software.model=llama3-70b\",\"region:eu\"],"
                      "\"hardware\":{\"cpu_cores\":16,\"memory_gb\":64,\"gpu\":{\"vendor\":\"nvidia\",\"vram_gb\":24}}}";
    char *canonical = NULL, *report = NULL;
    int rc = net_capability_normalize(set, strlen(set), &canonical, NULL);
    if (rc != NET_OK) return fail("normalize", rc);
    printf("set: %s\n", canonical);
    rc = net_capability_validate(canonical, strlen(canonical), &report, NULL);
    if (rc != NET_OK) return fail("validate", rc);
    printf("report: %s\n", report);
    net_string_free(report);

    /* A question, evaluated in the engine (the same JSON in every language). */
    const char *wants = "{\"and\":[{\"exists\":\"hardware.gpu\"},"
                        "{\"numeric_at_least\":{\"key\":\"hardware.gpu.vram_gb\",\"value\":16}},"
                        "{\"equals\":{\"key\":\"software.model\",\"value\":\"llama3-70b\"}}]}";
    bool matches = false;
    rc = net_predicate_evaluate(wants, strlen(wants), canonical, strlen(canonical), &matches);
    if (rc != NET_OK) return fail("evaluate", rc);
    printf("matches: %s\n", matches ? "true" : "false");

    /* Subnets: the policy every node shares turns tags into a subnet. */
    const char *policy = "{\"rules\":[{\"prefix\":\"region:\",\"level\":0,\"values\":{\"eu\":4}}]}";
    uint32_t subnet = 0;
    char *text = NULL;
    rc = net_subnet_assign(policy, strlen(policy), canonical, strlen(canonical), &subnet);
    if (rc != NET_OK || (rc = net_subnet_format(subnet, &text, NULL)) != NET_OK) return fail("subnet", rc);
    printf("subnet: %s\n", text);
    net_string_free(text);

    /* Over the mesh: b announces, a finds it by what it can do. */
    const char *config = "{\"network_key\":\"0707070707070707070707070707070707070707070707070707070707070707\","
                         "\"bind\":\"127.0.0.1:0\"}";
    net_mesh_t *a = NULL, *b = NULL;
    char *addr = NULL;
    uint8_t key[NET_PUBLIC_KEY_LEN];
    uint64_t b_id = 0, peer = 0, *found = NULL;
    size_t count = 0;
    if ((rc = net_mesh_bind(config, strlen(config), &a)) != NET_OK) return fail("bind a", rc);
    if ((rc = net_mesh_bind(config, strlen(config), &b)) != NET_OK) return fail("bind b", rc);
    if ((rc = net_mesh_local_addr(b, &addr, NULL)) != NET_OK || (rc = net_mesh_identity(b, key, &b_id)) != NET_OK)
        return fail("b", rc);
    if ((rc = net_mesh_connect(a, addr, key, sizeof key, &peer)) != NET_OK) return fail("connect", rc);
    net_string_free(addr);
    if ((rc = net_mesh_announce_capabilities(b, canonical, strlen(canonical))) != NET_OK) return fail("announce", rc);
    for (int tries = 0; tries < 500 && count == 0; tries++) {
        if ((rc = net_mesh_find_nodes(a, wants, strlen(wants), NULL, 0, &found, &count)) != NET_OK) return fail("find", rc);
        if (count == 0) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    int ok = count == 1 && found[0] == b_id;
    printf("a finds b: %s\n", ok ? "true" : "false");
    net_node_ids_free(found, count);
    net_string_free(canonical);
    net_mesh_free(a);
    net_mesh_free(b);
    net_runtime_shutdown();
    return ok ? 0 : 1;
}
