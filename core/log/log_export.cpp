#include "log/log_export.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <optional>
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

// One source's lines, consumed from the newest: lines[0, left) are still to look at, and `head`
// is the newest of them that passes the filter once peek() found it. The file is read at the first
// peek, so an export capped by max_bytes reads only the files its newest lines come from.
struct NewestFirst {
  ExportSource* source = nullptr;
  simdjson::padded_string text;  // the file's bytes, once read; `lines` point into it
  std::vector<std::string_view> lines;
  size_t left = 0;
  std::optional<ParsedLine> head;

  // Finds the newest line left that is well formed and passes `filter`; false when none is left.
  bool peek(simdjson::dom::parser& parser, const LogFilter& filter, LogExportResult& result) {
    if (source != nullptr) read();
    while (!head && left > 0) {
      const auto line = lines[left - 1];
      if (line.empty()) {
        --left;
        continue;
      }
      auto parsed = parse_line(parser, line);
      if (!parsed) {
        ++result.malformed_lines;
      } else if (filter.keeps(parsed->level, parsed->ts)) {
        head = parsed;
        break;
      }
      --left;
    }
    return head.has_value();
  }
  std::string_view take() {
    head.reset();
    return lines[--left];
  }

 private:
  void read() {
    text = read_padded(source->stream, source->size);
    if (text.size() != source->size) throw Error(ErrorCode::io, fmt::format("cannot read log file {}", source->path.string()));
    lines = split_lines(std::string_view(text.data(), text.size()));
    left = lines.size();
    source = nullptr;
  }
};

}  // namespace

LogExportResult export_gzip(std::vector<ExportSource> sources, const fs::path& out, const LogFilter& filter, bool merge_by_time) {
  // Lines are taken newest first, so an export capped by max_bytes parses only the lines it keeps
  // and the next one, and reads only the files they are in (each whole, at most max_file_bytes).
  LogExportResult result;
  simdjson::dom::parser parser;
  std::vector<NewestFirst> logs(sources.size());
  for (size_t i = 0; i < sources.size(); ++i) logs[i].source = &sources[i];

  // Without merging, the sources follow each other (the last one is the newest); merging, each
  // log is already oldest first, so the newest line left is the newest of the logs' heads (on
  // equal times the later log's, as a stable sort of all lines by time would order them).
  std::vector<std::string_view> kept;  // newest first
  uint64_t bytes = 0;
  for (;;) {
    NewestFirst* next = nullptr;
    for (auto it = logs.rbegin(); it != logs.rend(); ++it) {
      if (!it->peek(parser, filter, result)) continue;
      if (!merge_by_time) {
        next = &*it;
        break;
      }
      if (next == nullptr || next->head->ts < it->head->ts) next = &*it;
    }
    if (next == nullptr) break;
    const auto size = next->lines[next->left - 1].size() + 1;
    if (filter.max_bytes && bytes + size > *filter.max_bytes) {
      result.truncated = true;
      break;
    }
    bytes += size;
    kept.push_back(next->take());
  }
  std::reverse(kept.begin(), kept.end());
  result.lines = kept.size();
  result.uncompressed_bytes = bytes;
  result.compressed_bytes = write_gzip(out, kept);
  return result;
}

}  // namespace smallpeer::log_detail
