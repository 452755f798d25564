/* The token issuer of the cross-process channel test, in C.
 *
 * Usage: issue_tokens ROOT_SEED_HEX CHANNEL TTL_SECONDS SUBJECT_SEED_HEX...
 * Prints the root's public key (64 hex), then for each subject the
 * subject's public key and a subscribe grant for CHANNEL signed by the root,
 * both in hex, separated by a space. Exit status 0, or 1 with a message on
 * stderr.
 */
#include "net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unhex32(const char *text, uint8_t out[32]) {
  if (strlen(text) != 64) return -1;
  for (int i = 0; i < 32; i++) {
    unsigned int byte;
    if (sscanf(text + 2 * i, "%2x", &byte) != 1) return -1;
    out[i] = (uint8_t)byte;
  }
  return 0;
}

static void print_hex(const uint8_t *bytes, size_t len) {
  for (size_t i = 0; i < len; i++) printf("%02x", bytes[i]);
}

static int fail(const char *what, int32_t code) {
  fprintf(stderr, "issue_tokens: %s (code %d)\n", what, (int)code);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s ROOT_SEED_HEX CHANNEL TTL_SECONDS SUBJECT_SEED_HEX...\n", argv[0]);
    return 2;
  }
  uint8_t seed[32];
  if (unhex32(argv[1], seed) != 0) return fail("the root seed is not 64 hex digits", 0);
  long ttl = strtol(argv[3], NULL, 10);
  if (ttl <= 0) return fail("the ttl is not a positive number of seconds", 0);

  net_identity_t *root = NULL;
  int32_t rc = net_identity_from_seed(seed, sizeof seed, &root);
  if (rc != NET_OK) return fail("net_identity_from_seed (root)", rc);
  uint8_t key[32];
  rc = net_identity_public_key(root, key);
  if (rc != NET_OK) {
    net_identity_free(root);
    return fail("net_identity_public_key (root)", rc);
  }
  print_hex(key, sizeof key);
  printf("\n");

  int status = 0;
  for (int i = 4; i < argc && status == 0; i++) {
    net_identity_t *subject = NULL;
    if (unhex32(argv[i], seed) != 0) {
      status = fail("a subject seed is not 64 hex digits", 0);
      break;
    }
    rc = net_identity_from_seed(seed, sizeof seed, &subject);
    if (rc != NET_OK) {
      status = fail("net_identity_from_seed (subject)", rc);
      break;
    }
    rc = net_identity_public_key(subject, key);
    net_identity_free(subject);
    if (rc != NET_OK) {
      status = fail("net_identity_public_key (subject)", rc);
      break;
    }
    char subject_hex[65];
    for (int b = 0; b < 32; b++) snprintf(subject_hex + 2 * b, 3, "%02x", key[b]);
    char request[512];
    int n = snprintf(request, sizeof request,
                     "{\"subject\": \"%s\", \"scope\": [\"subscribe\"], \"channel\": \"%s\", \"ttl_ms\": %ld}",
                     subject_hex, argv[2], ttl * 1000);
    if (n < 0 || (size_t)n >= sizeof request) {
      status = fail("the channel name is too long", 0);
      break;
    }
    uint8_t token[NET_TOKEN_LEN];
    rc = net_token_try_issue(root, request, (size_t)n, token);
    if (rc != NET_OK) {
      status = fail("net_token_try_issue", rc);
      break;
    }
    printf("%s ", subject_hex);
    print_hex(token, sizeof token);
    printf("\n");
  }
  net_identity_free(root);
  return status;
}
