/* A program that sees only the installed SmallPeer C package: it opens a small peer, turns Small
 * Peer Info on with the BigPeerOnly scope, syncs to the Big Peer given on the command line, prints
 * its peer key, and keeps running until its report is acknowledged or it is stopped.
 * Usage: consumer PERSISTENCE_DIR APP_ID APP_TOKEN SYNC_URL SECONDS */
#include <smallpeer/smallpeer.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int fail(const char* what) {
  fprintf(stderr, "consumer: %s: %s\n", what, sp_last_error_message());
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: consumer PERSISTENCE_DIR APP_ID APP_TOKEN SYNC_URL SECONDS\n");
    return 2;
  }
  if (sp_abi_version() != SP_ABI_VERSION) {
    fprintf(stderr, "consumer: library ABI %d, header ABI %d\n", (int)sp_abi_version(), SP_ABI_VERSION);
    return 1;
  }
  char config[4096];
  snprintf(config, sizeof config,
           "{\"persistence_dir\":\"%s\",\"identity\":{\"type\":\"online_playground\",\"app_id\":\"%s\",\"token\":\"%s\"},"
           "\"device_name\":\"package-consumer\",\"sdk_language\":\"C\"}",
           argv[1], argv[2], argv[3]);
  sp_ditto_t* ditto = NULL;
  if (sp_ditto_open(config, &ditto) != SP_OK) return fail("open");
  char transport[1024];
  snprintf(transport, sizeof transport, "{\"big_peer\":{\"urls\":[\"%s\"]}}", argv[4]);
  if (sp_sync_set_transport_config(ditto, transport) != SP_OK) return fail("transport config");
  if (sp_spi_set_sync_scope(ditto, SP_SYNC_SCOPE_BIG_PEER_ONLY) != SP_OK) return fail("sync scope");
  if (sp_spi_set_enabled(ditto, true) != SP_OK) return fail("enable Small Peer Info");
  if (sp_sync_start(ditto) != SP_OK) return fail("start sync");
  char* key = NULL;
  if (sp_ditto_peer_key(ditto, &key) != SP_OK) return fail("peer key");
  printf("peer_key %s\n", key);
  fflush(stdout);
  sp_free(key);
  sleep((unsigned)atoi(argv[5]));
  sp_ditto_free(ditto);
  return 0;
}
