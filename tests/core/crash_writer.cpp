// Writes documents until killed, printing each committed _id on its own line; store_test kills it
// with SIGKILL and checks that every printed id survived.
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <string>

#include "clock/clock.h"
#include "clock/hlc.h"
#include "store/store.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <database file>\n", argv[0]);
    return 2;
  }
  try {
    auto hlc = std::make_shared<smallpeer::HybridLogicalClock>(std::make_shared<smallpeer::SystemClock>());
    auto store = smallpeer::Store::open(argv[1], std::move(hlc), "crash-writer");
    const std::string payload(512, 'x');
    for (uint64_t n = 0;; ++n) {
      const auto doc = store->upsert("crash", fmt::format(R"({{"n":{},"payload":"{}"}})", n, payload));
      // Printed only after upsert returned, i.e. after the commit: these are the acknowledged writes.
      // When the reader is gone the write raises SIGPIPE, so an orphan never writes forever.
      if (std::fprintf(stdout, "%s\n", doc.id.c_str()) < 0 || std::fflush(stdout) != 0) return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crash_writer: %s\n", e.what());
    return 1;
  }
}
