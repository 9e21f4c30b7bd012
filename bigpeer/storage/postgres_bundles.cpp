#include "bigpeer/storage/postgres_bundles.h"

#include <fmt/format.h>

#include <mutex>

#include "bigpeer/storage/postgres.h"
#include "common/error.h"

namespace smallpeer::bigpeer {

namespace {

/// Chunks keyed by (request, offset); a bundle is complete when its request says ready.
class PostgresBundleStore final : public LogBundleStore {
 public:
  explicit PostgresBundleStore(const std::string& url) : connection_(url) {
    connection_.prepare("bundle_size", "SELECT coalesce(sum(length(data)), 0) FROM log_bundle_chunks WHERE request_id=$1");
    connection_.prepare("bundle_append",
                        "INSERT INTO log_bundle_chunks(request_id, offset_bytes, data) VALUES($1, $2, $3) "
                        "ON CONFLICT DO NOTHING");
    connection_.prepare("bundle_read", "SELECT data FROM log_bundle_chunks WHERE request_id=$1 ORDER BY offset_bytes");
    connection_.prepare("bundle_discard", "DELETE FROM log_bundle_chunks WHERE request_id=$1");
  }

  uint64_t size(const std::string& id) override {
    std::lock_guard lock(mutex_);
    return static_cast<uint64_t>(connection_.run("bundle_size", {{id}}, "reading a bundle's size").integer(0, 0));
  }
  void append(const std::string& id, uint64_t offset, std::string_view data) override {
    std::lock_guard lock(mutex_);
    connection_.run("bundle_append", {{id}, {std::to_string(offset)}, {std::string(data), true}}, "storing a bundle chunk");
  }
  std::string check(const std::string& id) override {
    const std::string bytes = read_all(id);
    size_t at = 0;
    return check_gzip([&](char* buffer, size_t capacity) {
      const size_t n = std::min(capacity, bytes.size() - at);
      std::copy_n(bytes.data() + at, n, buffer);
      at += n;
      return n;
    });
  }
  void complete(const std::string&) override {}  // the request's state (ready) says it is complete
  void discard(const std::string& id) override {
    std::lock_guard lock(mutex_);
    connection_.run("bundle_discard", {{id}}, "discarding a bundle");
  }
  std::string read(const std::string& id) override {
    std::string bytes = read_all(id);
    if (bytes.empty()) throw Error(ErrorCode::io, fmt::format("the bundle of log request {} is missing", id));
    return bytes;
  }

 private:
  std::string read_all(const std::string& id) {
    std::lock_guard lock(mutex_);
    const auto rows = connection_.run("bundle_read", {{id}}, "reading a bundle", true);
    std::string bytes;
    for (int row = 0; row < rows.rows(); ++row) bytes += rows.bytes(row, 0);
    return bytes;
  }

  std::mutex mutex_;  // guards connection_
  pg::Connection connection_;
};

}  // namespace

std::unique_ptr<LogBundleStore> make_postgres_bundle_store(const std::string& url) {
  return std::make_unique<PostgresBundleStore>(url);
}

}  // namespace smallpeer::bigpeer
