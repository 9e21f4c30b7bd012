#include "log/log_export.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <numeric>
#include <string>
#include <string_view>
#include <system_error>

#include "common/error.h"

namespace smallpeer::log_detail {

namespace fs = std::filesystem;

namespace {

// Reads `size` bytes from the stream's start; simdjson needs the padding after them.
simdjson::padded_string read_padded(std::istream& in, uint64_t size) {
  simdjson::padded_string text(size);
  in.seekg(0);
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (static_cast<uint64_t>(in.gcount()) != size) return simdjson::padded_string(size_t{0});
  return text;
}

struct GzCloser {
  void operator()(gzFile file) const { gzclose(file); }
};

// Writes `lines` (each followed by '\n') to `out`; returns the compressed size.
uint64_t write_gzip(const fs::path& out, const std::vector<std::string_view>& lines) {
  std::error_code ec;
  const auto fail = [&](const std::string& why) {
    fs::remove(out, ec);
    return Error(ErrorCode::io, fmt::format("cannot write log export {}: {}", out.string(), why));
  };
  errno = 0;
  std::unique_ptr<gzFile_s, GzCloser> gz(gzopen(out.c_str(), "wb"));
  if (!gz) throw Error(ErrorCode::io, fmt::format("cannot write log export {}: {}", out.string(), errno_message()));
  std::string chunk;
  const auto write_chunk = [&] {
    if (chunk.empty()) return;
    if (gzwrite(gz.get(), chunk.data(), static_cast<unsigned>(chunk.size())) != static_cast<int>(chunk.size())) {
      int zerr = 0;
      const std::string why = gzerror(gz.get(), &zerr);
      gz.reset();
      throw fail(why);
    }
    chunk.clear();
  };
  for (const auto line : lines) {
    chunk.append(line);
    chunk.push_back('\n');
    if (chunk.size() >= size_t{256} * 1024) write_chunk();
  }
  write_chunk();
  errno = 0;
  if (gzclose(gz.release()) != Z_OK) throw fail(errno != 0 ? errno_message() : std::string("gzclose failed"));
  const auto size = fs::file_size(out, ec);
  if (ec) throw fail(ec.message());
  return size;
}

}  // namespace

LogExportResult export_gzip(std::vector<ExportSource> sources, const fs::path& out, const LogFilter& filter, bool merge_by_time) {
  // Everything is read into memory (at most max_files * max_file_bytes) so max_bytes can keep the newest.
  LogExportResult result;
  simdjson::dom::parser parser;
  std::vector<simdjson::padded_string> texts;
  texts.reserve(sources.size());
  std::vector<std::string_view> kept;
  std::vector<TimePoint> kept_ts;  // filled only when merging
  for (auto& source : sources) {
    auto text = read_padded(source.stream, source.size);
    if (text.size() != source.size) throw Error(ErrorCode::io, fmt::format("cannot read log file {}", source.path.string()));
    for (const auto line : split_lines(std::string_view(text.data(), text.size()))) {
      if (line.empty()) continue;
      const auto parsed = parse_line(parser, line);
      if (!parsed) {
        ++result.malformed_lines;
        continue;
      }
      if (!filter.keeps(parsed->level, parsed->ts)) continue;
      kept.push_back(line);
      if (merge_by_time) kept_ts.push_back(parsed->ts);
    }
    texts.push_back(std::move(text));  // moving keeps the buffer, so `kept` stays valid
  }

  if (merge_by_time) {
    // Each log is already oldest first; a stable sort interleaves them and keeps each one's order.
    std::vector<size_t> order(kept.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return kept_ts[a] < kept_ts[b]; });
    std::vector<std::string_view> merged;
    merged.reserve(kept.size());
    for (const size_t i : order) merged.push_back(kept[i]);
    kept = std::move(merged);
  }

  size_t first = 0;
  uint64_t bytes = 0;
  if (filter.max_bytes) {
    first = kept.size();
    while (first > 0 && bytes + kept[first - 1].size() + 1 <= *filter.max_bytes) bytes += kept[--first].size() + 1;
  } else {
    for (const auto line : kept) bytes += line.size() + 1;
  }
  result.truncated = first > 0;
  kept.erase(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(first));
  result.lines = kept.size();
  result.uncompressed_bytes = bytes;
  result.compressed_bytes = write_gzip(out, kept);
  return result;
}

}  // namespace smallpeer::log_detail
