/* Proves smallpeer.h (and smallpeer_diagnostics.h) are C99: compiled as C with -pedantic -Werror, it drives a few calls. */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include <smallpeer/smallpeer.h>
#include <smallpeer/smallpeer_diagnostics.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                                                          \
  do {                                                                                                       \
    if (!(cond)) {                                                                                           \
      fprintf(stderr, "%s:%d: check failed: %s (%s)\n", __FILE__, __LINE__, #cond, sp_last_error_message()); \
      failures++;                                                                                            \
    }                                                                                                        \
  } while (0)

int main(void) {
  char config[1024];
  sp_ditto_t* ditto = NULL;
  char* doc = NULL;
  bool enabled = true;
  char dir[] = "/tmp/smallpeer-c-test-XXXXXX";

  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return EXIT_FAILURE;
  }
  CHECK(sp_abi_version() == SP_ABI_VERSION);
  CHECK(strlen(sp_version()) > 0);
  sp_logger_set_console_enabled(false);

  snprintf(config, sizeof config, "{\"persistence_dir\": \"%s/peer\"}", dir);
  CHECK(sp_ditto_open(config, &ditto) == SP_OK);
  CHECK(sp_ditto_live_handles() >= 1);
  CHECK(sp_spi_get_enabled(ditto, &enabled) == SP_OK && !enabled);
  CHECK(sp_spi_set_enabled(ditto, true) == SP_OK);
  CHECK(sp_spi_get_document(ditto, &doc) == SP_OK && strstr(doc, "\"schema_version\":1") != NULL);
  sp_free(doc);
  CHECK(sp_spi_set_sync_scope(ditto, 7) == SP_ERR_INVALID_ARGUMENT);
  CHECK(strstr(sp_last_error_message(), "sync scope") != NULL);
  CHECK(sp_ditto_close(ditto) == SP_OK);
  CHECK(sp_spi_set_enabled(ditto, false) == SP_ERR_CLOSED);
  sp_ditto_free(ditto);
  sp_ditto_free(NULL);
  sp_free(NULL);

  if (failures == 0) printf("c_header_test: 1 passed, 0 failed\n");
  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
