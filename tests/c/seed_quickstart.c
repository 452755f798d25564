/* The seed README's C quick start, verbatim inside main(): it must compile and run. */
#include "net.h"
#include <stdio.h>
#include <string.h>

int main(void) {
net_handle_t node = net_init("{\"num_shards\": 4}");
// Ingest with receipt
const char* event = "{\"token\": \"hello\"}";
net_receipt_t receipt;
net_ingest_raw_ex(node, event, strlen(event), &receipt);
// Poll (structured, no JSON parsing)
net_poll_result_t result;
net_poll_ex(node, 100, NULL, &result);
for (size_t i = 0; i < result.count; i++) {
    printf("%.*s\n", (int)result.events[i].raw_len, result.events[i].raw);
}
net_free_poll_result(&result);
net_shutdown(node);
    return 0;
}
