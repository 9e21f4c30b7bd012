#include <fmt/format.h>
#include <zlib.h>

#include <array>
#include <fstream>
#include <iterator>

#include "bigpeer/storage/bundles.h"
#include "common/error.h"

namespace smallpeer::bigpeer {

std::string check_gzip(const std::function<size_t(char* buffer, size_t capacity)>& read) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return "zlib failed to start";
  std::array<char, size_t{64} * 1024> input{};
  std::array<unsigned char, size_t{64} * 1024> output{};
  // True between gzip members: after one ended and before the next one's first byte. Concatenated
  // members are valid gzip too, and a member may end exactly where a read ends.
  bool between_members = false;
  for (;;) {
    z.next_in = reinterpret_cast<Bytef*>(input.data());
    z.avail_in = static_cast<uInt>(read(input.data(), input.size()));
    if (z.avail_in == 0) break;
    if (between_members) {
      inflateReset(&z);
      between_members = false;
    }
    while (z.avail_in > 0) {
      z.next_out = output.data();
      z.avail_out = output.size();
      const int rc = inflate(&z, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        between_members = true;
        if (z.avail_in > 0) {
          inflateReset(&z);
          between_members = false;
        }
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        std::string reason = fmt::format("the bundle is not valid gzip ({})", z.msg ? z.msg : "corrupt data");
        inflateEnd(&z);
        return reason;
      }
    }
  }
  inflateEnd(&z);
  return between_members ? "" : "the bundle is not valid gzip (truncated)";
}

std::string check_gzip_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "the bundle cannot be read";
  return check_gzip([&](char* buffer, size_t capacity) {
    in.read(buffer, static_cast<std::streamsize>(capacity));
    return static_cast<size_t>(in.gcount());
  });
}

namespace {
/// Bundles as files: <id>.jsonl.gz.part while uploading, renamed to <id>.jsonl.gz when complete.
class FileBundleStore final : public LogBundleStore {
 public:
  explicit FileBundleStore(std::filesystem::path dir) : dir_(std::move(dir)) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) throw Error(ErrorCode::io, fmt::format("cannot create {}: {}", dir_.string(), ec.message()));
  }
  uint64_t size(const std::string& id) override {
    std::error_code ec;
    const auto size = std::filesystem::file_size(part(id), ec);
    return ec ? 0 : size;
  }
  void append(const std::string& id, uint64_t, std::string_view data) override {
    std::ofstream out(part(id), std::ios::binary | std::ios::app);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.flush();
    if (!out) throw Error(ErrorCode::io, fmt::format("the Big Peer cannot write {}", part(id).string()));
  }
  std::string check(const std::string& id) override { return check_gzip_file(part(id)); }
  void complete(const std::string& id) override {
    std::error_code ec;
    std::filesystem::rename(part(id), final_path(id), ec);
    if (ec) throw Error(ErrorCode::io, fmt::format("the Big Peer cannot store the bundle: {}", ec.message()));
  }
  void discard(const std::string& id) override {
    std::error_code ec;
    std::filesystem::remove(part(id), ec);
  }
  std::string read(const std::string& id) override {
    std::ifstream in(final_path(id), std::ios::binary);
    if (!in) throw Error(ErrorCode::io, fmt::format("the bundle of log request {} is missing", id));
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

 private:
  [[nodiscard]] std::filesystem::path part(const std::string& id) const { return dir_ / (id + ".jsonl.gz.part"); }
  [[nodiscard]] std::filesystem::path final_path(const std::string& id) const { return dir_ / (id + ".jsonl.gz"); }
  std::filesystem::path dir_;
};
}  // namespace

std::unique_ptr<LogBundleStore> make_file_bundle_store(std::filesystem::path dir) {
  return std::make_unique<FileBundleStore>(std::move(dir));
}

}  // namespace smallpeer::bigpeer
